/*
 * tls_client.c: the upstream side of TLS. Contexts come from the
 * proxy_ssl_* directives; sessions are kept per worker, per peer and name,
 * so a new connection to the same upstream resumes instead of paying a full
 * handshake (proxy_ssl_session_reuse, on by default as in nginx).
 */
#include "core/fc_core.h"
#include "event/io.h"
#include "event/tls_client.h"

#include <arpa/inet.h>
#include <openssl/x509v3.h>

#define TLS_CLIENT_SESSIONS 32

/* A worker's saved sessions for one context: a small LRU table. */
typedef struct {
    char key[192];
    SSL_SESSION *sess;
    unsigned long used;
} tls_saved_t;

typedef struct {
    tls_saved_t slot[TLS_CLIENT_SESSIONS];
    unsigned long clock;
} tls_sessions_t;

static int tls_sessions_index = -1;
static int tls_key_index = -1; /* SSL ex_data: the connection's session key */

static int tls_session_new(SSL *ssl, SSL_SESSION *sess);

void
fc_tls_client_conf_init(fc_tls_client_conf_t *conf)
{
    memset(conf, 0, sizeof(*conf));
    conf->ctx = FC_UNSET_PTR;
    conf->server_name = FC_UNSET;
    conf->verify = FC_UNSET;
    conf->verify_depth = FC_UNSET;
    conf->session_reuse = FC_UNSET;
}

/* A level that sets nothing of its own shares the outer level's context. */
static int
tls_client_inherits(const fc_tls_client_conf_t *c)
{
    return c->protocols == 0 && c->ciphers.data == NULL && c->verify == FC_UNSET &&
           c->verify_depth == FC_UNSET && c->trusted_certificate.data == NULL &&
           c->crl.data == NULL && c->certificate.data == NULL && c->certificate_key.data == NULL &&
           c->password_file.data == NULL;
}

/* An IP address is neither sent as SNI nor verified as a host name. */
static int
tls_is_ip(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int
tls_client_build(fc_conf_t *cf, fc_tls_client_conf_t *conf)
{
    conf->ctx = fc_tls_ctx_create(cf, 0, conf->protocols);
    if (conf->ctx == NULL ||
        fc_tls_ctx_ciphers(cf, conf->ctx, &conf->ciphers, 0) != FC_OK)
        return FC_ERROR;
    if (conf->certificate.data) {
        if (conf->certificate_key.data == NULL) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                              "no \"proxy_ssl_certificate_key\" is defined for certificate \"%s\"",
                              conf->certificate.data);
            return FC_ERROR;
        }
        fc_array_t *pw = NULL;
        if (conf->password_file.data &&
            (pw = fc_tls_read_passwords(cf, &conf->password_file)) == NULL)
            return FC_ERROR;
        if (fc_tls_ctx_certificate(cf, conf->ctx, &conf->certificate, &conf->certificate_key,
                                   pw) != FC_OK)
            return FC_ERROR;
    }
    if (conf->verify) {
        if (conf->trusted_certificate.data == NULL) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                              "no proxy_ssl_trusted_certificate for proxy_ssl_verify");
            return FC_ERROR;
        }
        if (fc_tls_ctx_trusted(cf, conf->ctx, &conf->trusted_certificate,
                               (int) conf->verify_depth, 0) != FC_OK)
            return FC_ERROR;
        if (conf->crl.data && fc_tls_ctx_crl(cf, conf->ctx, &conf->crl) != FC_OK)
            return FC_ERROR;
    }
    /* Verification is judged after the handshake (tls_client_done), as nginx logs it. */
    SSL_CTX_set_verify(conf->ctx, SSL_VERIFY_NONE, NULL);
    /* New sessions (TLS 1.3: tickets after the handshake) reach tls_session_new. */
    SSL_CTX_set_session_cache_mode(conf->ctx,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(conf->ctx, tls_session_new);
    return FC_OK;
}

char *
fc_tls_client_conf_merge(fc_conf_t *cf, fc_tls_client_conf_t *conf,
                         const fc_tls_client_conf_t *prev, int enabled)
{
    int inherits = tls_client_inherits(conf);
    if (conf->protocols == 0)
        conf->protocols = prev->protocols ? prev->protocols : FC_TLS_DEFAULT_PROTOCOLS;
    fc_conf_merge_str(conf->ciphers, prev->ciphers, "DEFAULT");
    fc_conf_merge_value(conf->server_name, prev->server_name, 0);
    fc_conf_merge_value(conf->verify, prev->verify, 0);
    fc_conf_merge_value(conf->verify_depth, prev->verify_depth, 1);
    fc_conf_merge_str(conf->trusted_certificate, prev->trusted_certificate, NULL);
    fc_conf_merge_str(conf->crl, prev->crl, NULL);
    fc_conf_merge_str(conf->certificate, prev->certificate, NULL);
    fc_conf_merge_str(conf->certificate_key, prev->certificate_key, NULL);
    fc_conf_merge_str(conf->password_file, prev->password_file, NULL);
    fc_conf_merge_value(conf->session_reuse, prev->session_reuse, 1);
    if (conf->ctx != FC_UNSET_PTR)
        return FC_CONF_OK;
    if (inherits && prev->ctx != FC_UNSET_PTR && prev->ctx != NULL) {
        conf->ctx = prev->ctx;
        return FC_CONF_OK;
    }
    conf->ctx = NULL;
    if (!enabled)
        return FC_CONF_OK;
    return tls_client_build(cf, conf) == FC_OK ? FC_CONF_OK : FC_CONF_ERROR;
}

/* ---- sessions --------------------------------------------------------------------- */

static tls_sessions_t *
tls_sessions(SSL_CTX *ctx, int create)
{
    if (tls_sessions_index < 0)
        tls_sessions_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    tls_sessions_t *t = SSL_CTX_get_ex_data(ctx, tls_sessions_index);
    if (t == NULL && create) {
        /* Per worker: the context was built before fork, the table after it. */
        t = calloc(1, sizeof(*t));
        if (t && SSL_CTX_set_ex_data(ctx, tls_sessions_index, t) != 1) {
            free(t);
            t = NULL;
        }
    }
    return t;
}

static void
tls_session_key(char *key, size_t size, const fc_str_t *name, const fc_str_t *peer)
{
    snprintf(key, size, "%.*s|%.*s", (int) peer->len, peer->data, name ? (int) name->len : 0,
             name ? (const char *) name->data : "");
}

static tls_saved_t *
tls_session_find(tls_sessions_t *t, const char *key)
{
    for (size_t i = 0; i < TLS_CLIENT_SESSIONS; i++) {
        if (t->slot[i].sess && strcmp(t->slot[i].key, key) == 0)
            return &t->slot[i];
    }
    return NULL;
}

static void
tls_session_save(SSL_CTX *ctx, const char *key, SSL_SESSION *sess)
{
    tls_sessions_t *t = tls_sessions(ctx, 1);
    if (t == NULL) {
        SSL_SESSION_free(sess);
        return;
    }
    tls_saved_t *s = tls_session_find(t, key);
    if (s == NULL) {
        s = &t->slot[0];
        for (size_t i = 1; i < TLS_CLIENT_SESSIONS; i++) {
            if (t->slot[i].sess == NULL || t->slot[i].used < s->used)
                s = &t->slot[i];
            if (s->sess == NULL)
                break;
        }
        snprintf(s->key, sizeof(s->key), "%s", key);
    }
    SSL_SESSION_free(s->sess);
    s->sess = sess;
    s->used = ++t->clock;
}

/* OpenSSL hands over a new session (we keep its reference): save it for the peer. */
static int
tls_session_new(SSL *ssl, SSL_SESSION *sess)
{
    const char *key = tls_key_index >= 0 ? SSL_get_ex_data(ssl, tls_key_index) : NULL;
    if (key == NULL)
        return 0;
    tls_session_save(SSL_get_SSL_CTX(ssl), key, sess);
    return 1;
}

static int
tls_client_start(fc_connection_t *c, const fc_tls_client_conf_t *conf, const fc_str_t *name,
                 const fc_str_t *peer)
{
    if (fc_tls_conn_create(c, conf->ctx, 0) != FC_OK)
        return FC_ERROR;
    SSL *ssl = c->tls->ssl;
    char host[256];
    int have_name = name && name->len > 0 && name->len < sizeof(host);
    if (have_name) {
        memcpy(host, name->data, name->len);
        host[name->len] = '\0';
    }
    /* nginx sends no IP address literal as SNI (RFC 6066). */
    if (conf->server_name && have_name && !tls_is_ip(host) &&
        SSL_set_tlsext_host_name(ssl, host) != 1) {
        fc_tls_log_error(c, FC_LOG_ERR, "SSL_set_tlsext_host_name() failed");
        return FC_ERROR;
    }
    if (!conf->session_reuse)
        return FC_OK;
    char *key = fc_pnalloc(c->pool, 192);
    if (key == NULL)
        return FC_ERROR;
    tls_session_key(key, 192, name, peer);
    if (tls_key_index < 0)
        tls_key_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    SSL_set_ex_data(ssl, tls_key_index, key);
    tls_sessions_t *t = tls_sessions(conf->ctx, 0);
    tls_saved_t *s = t ? tls_session_find(t, key) : NULL;
    if (s && SSL_set_session(ssl, s->sess) == 1)
        s->used = ++t->clock;
    return FC_OK;
}

static int
tls_client_done(fc_connection_t *c, const fc_tls_client_conf_t *conf, const fc_str_t *name)
{
    SSL *ssl = c->tls->ssl;
    if (!conf->verify)
        return FC_OK;
    long rc = SSL_get_verify_result(ssl);
    if (rc != X509_V_OK) {
        fc_log_error(FC_LOG_ERR, c->log, 0, "upstream SSL certificate verify error: (%ld:%s)", rc,
                     X509_verify_cert_error_string(rc));
        return FC_ERROR;
    }
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (cert == NULL) {
        fc_log_error(FC_LOG_ERR, c->log, 0, "upstream sent no SSL certificate");
        return FC_ERROR;
    }
    /* The name is checked apart from the chain, as nginx does, to say which name failed. */
    char host[256];
    int ok = 0;
    if (name->len > 0 && name->len < sizeof(host)) {
        memcpy(host, name->data, name->len);
        host[name->len] = '\0';
        ok = tls_is_ip(host) ? X509_check_ip_asc(cert, host, 0) == 1
                             : X509_check_host(cert, host, name->len, 0, NULL) == 1;
    }
    X509_free(cert);
    if (!ok) {
        fc_log_error(FC_LOG_ERR, c->log, 0, "upstream SSL certificate does not match \"%.*s\"",
                     (int) name->len, name->data);
        return FC_ERROR;
    }
    return FC_OK;
}

int
fc_tls_client_handshake(fc_connection_t *c, const fc_tls_client_conf_t *conf, const fc_str_t *name,
                        const fc_str_t *peer)
{
    if (c->tls == NULL && tls_client_start(c, conf, name, peer) != FC_OK)
        return FC_ERROR;
    int rc = fc_tls_handshake(c);
    if (rc == FC_AGAIN)
        return FC_AGAIN;
    if (rc != FC_OK || tls_client_done(c, conf, name) != FC_OK) {
        fc_tls_conn_abort(c);
        return FC_ERROR;
    }
    c->read->ready = 1; /* nothing can wait yet, but be safe: reads find out */
    return FC_OK;
}

void
fc_tls_client_name_trim(fc_str_t *name)
{
    if (name->len && name->data[0] == '[') {
        unsigned char *rb = memchr(name->data, ']', name->len);
        if (rb) {
            name->data++; /* [v6]: the address without brackets */
            name->len = (size_t) (rb - name->data);
        }
        return;
    }
    unsigned char *colon = memchr(name->data, ':', name->len);
    if (colon)
        name->len = (size_t) (colon - name->data);
}
