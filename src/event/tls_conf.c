/*
 * tls_conf.c: the ssl_* server directives shared by http{} and stream{}:
 * nginx's defaults and merge, and the SSL_CTX each server with a
 * certificate gets (built in the master, inherited by workers at fork, so
 * every worker shares the context's ticket keys and settings).
 */
#include "core/fc_core.h"
#include "core/cycle.h"
#include "event/tls_conf.h"

#include <openssl/err.h>
#include <openssl/x509.h>

const fc_conf_enum_t fc_tls_verify_values[] = {{"off", FC_TLS_VERIFY_OFF},
                                               {"on", FC_TLS_VERIFY_ON},
                                               {"optional", FC_TLS_VERIFY_OPTIONAL},
                                               {"optional_no_ca", FC_TLS_VERIFY_OPTIONAL_NO_CA},
                                               {NULL, 0}};

void
fc_tls_srv_conf_init(fc_tls_srv_conf_t *conf)
{
    memset(conf, 0, sizeof(*conf));
    conf->certificates = FC_UNSET_PTR;
    conf->certificate_keys = FC_UNSET_PTR;
    conf->prefer_server_ciphers = FC_UNSET;
    fc_tls_session_cache_conf_init(&conf->session_cache);
    conf->session_timeout = FC_UNSET_MSEC;
    conf->session_tickets = FC_UNSET;
    conf->session_ticket_keys = FC_UNSET_PTR;
    conf->handshake_timeout = FC_UNSET_MSEC;
    conf->verify = FC_UNSET;
    conf->verify_depth = FC_UNSET;
    conf->reject_handshake = FC_UNSET;
    conf->buffer_size = FC_UNSET_SIZE;
}

char *
fc_tls_conf_set_protocols(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    static const fc_conf_enum_t names[] = {
        {"SSLv2", 0},          {"SSLv3", FC_TLS_SSLv3},     {"TLSv1", FC_TLS_TLSv1},
        {"TLSv1.1", FC_TLS_TLSv1_1}, {"TLSv1.2", FC_TLS_TLSv1_2}, {"TLSv1.3", FC_TLS_TLSv1_3},
        {NULL, 0}};
    unsigned *bits = (unsigned *) ((char *) conf + cmd->offset);
    if (*bits)
        return "is duplicate";
    fc_str_t *args = fc_conf_args(cf);
    for (size_t i = 1; i < fc_conf_nargs(cf); i++) {
        const fc_conf_enum_t *e = names;
        while (e->name && !fc_str_eq_c(&args[i], e->name))
            e++;
        if (e->name == NULL) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid value \"%.*s\"", (int) args[i].len,
                              args[i].data);
            return FC_CONF_ERROR;
        }
        *bits |= e->value;
    }
    if (*bits == 0) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "no TLS protocol left to enable (SSLv2 is gone)");
        return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

/*
 * nginx 1.15.9+ loads a certificate named with variables at each handshake;
 * fulcrum loads them at start (a server per name, chosen by SNI), and says so.
 */
static int
tls_conf_no_variables(fc_conf_t *cf, const fc_command_t *cmd)
{
    const fc_str_t *v = &fc_conf_args(cf)[1];
    if (memchr(v->data, '$', v->len) == NULL)
        return FC_OK;
    fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                      "variables in \"%s\" are not supported: give each name a server with its "
                      "own certificate (SNI chooses it)",
                      cmd->name);
    return FC_ERROR;
}

char *
fc_tls_conf_set_certificate_key(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    if (tls_conf_no_variables(cf, cmd) != FC_OK)
        return FC_CONF_ERROR;
    return fc_conf_set_str_array_slot(cf, cmd, conf);
}

char *
fc_tls_conf_set_certificate(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    if (tls_conf_no_variables(cf, cmd) != FC_OK)
        return FC_CONF_ERROR;
    char *rv = fc_conf_set_str_array_slot(cf, cmd, conf);
    if (rv != FC_CONF_OK)
        return rv;
    /* cmd->offset is the certificates field: the struct starts that far before it. */
    fc_tls_srv_conf_t *sc = (fc_tls_srv_conf_t *) ((char *) conf + cmd->offset -
                                                   offsetof(fc_tls_srv_conf_t, certificates));
    sc->cert_file = cf->dir_file;
    sc->cert_line = cf->dir_line;
    return FC_CONF_OK;
}

char *
fc_tls_conf_set_session_cache(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_tls_session_cache_conf_t *sc = (fc_tls_session_cache_conf_t *) ((char *) conf + cmd->offset);
    if (sc->builtin != FC_UNSET)
        return "is duplicate";
    return fc_tls_session_cache_parse(cf, fc_conf_args(cf) + 1, fc_conf_nargs(cf) - 1, sc,
                                      (void *) cmd->post);
}

char *
fc_tls_conf_unsupported(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) conf;
    if (fc_str_eq_c(&fc_conf_args(cf)[1], "off"))
        return FC_CONF_OK; /* what nginx does by default anyway */
    fc_conf_log_error(FC_LOG_EMERG, cf, 0, "\"%s on\" is not supported", cmd->name);
    return FC_CONF_ERROR;
}

char *
fc_tls_conf_stapling(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) conf;
    if (strcmp(cmd->name, "ssl_stapling") == 0 && fc_str_eq_c(&fc_conf_args(cf)[1], "on"))
        fc_conf_log_error(FC_LOG_WARN, cf, 0,
                          "\"ssl_stapling\" ignored, OCSP stapling is not implemented");
    return FC_CONF_OK;
}

char *
fc_tls_conf_command(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_array_t **a = (fc_array_t **) ((char *) conf + cmd->offset);
    if (*a == NULL && (*a = fc_array_create(cf->pool, 4, sizeof(fc_str_t))) == NULL)
        return FC_CONF_ERROR;
    for (size_t i = 1; i <= 2; i++) {
        fc_str_t *s = fc_array_push(*a);
        if (s == NULL)
            return FC_CONF_ERROR;
        *s = fc_conf_args(cf)[i];
    }
    return FC_CONF_OK;
}

/* ssl_buffer_size and ssl_conf_command on a built context. */
static int
tls_ctx_tune(fc_conf_t *cf, fc_tls_srv_conf_t *conf)
{
    /* nginx sends records of ssl_buffer_size at most; OpenSSL's bound is the same idea. */
    size_t frag = fc_max(fc_min(conf->buffer_size, (size_t) 16384), (size_t) 512);
    SSL_CTX_set_max_send_fragment(conf->ctx, frag);
    if (conf->conf_commands == NULL)
        return FC_OK;
    SSL_CONF_CTX *cctx = SSL_CONF_CTX_new();
    if (cctx == NULL)
        return FC_ERROR;
    SSL_CONF_CTX_set_flags(cctx, SSL_CONF_FLAG_FILE | SSL_CONF_FLAG_SERVER |
                                     SSL_CONF_FLAG_CERTIFICATE | SSL_CONF_FLAG_SHOW_ERRORS);
    SSL_CONF_CTX_set_ssl_ctx(cctx, conf->ctx);
    const fc_str_t *c = conf->conf_commands->elts;
    int rc = FC_OK;
    for (size_t i = 0; i + 1 < conf->conf_commands->nelts; i += 2) {
        char *name = fc_str_cstr(cf->pool, &c[i]), *value = fc_str_cstr(cf->pool, &c[i + 1]);
        if (name == NULL || value == NULL || SSL_CONF_cmd(cctx, name, value) <= 0) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "SSL_CONF_cmd(\"%s\", \"%s\") failed",
                              name ? name : "?", value ? value : "?");
            rc = FC_ERROR;
            break;
        }
    }
    if (rc == FC_OK && SSL_CONF_CTX_finish(cctx) != 1) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "SSL_CONF_finish() failed");
        rc = FC_ERROR;
    }
    SSL_CONF_CTX_free(cctx);
    ERR_clear_error();
    return rc;
}

/* ---- merge ------------------------------------------------------------------------- */

static void
tls_merge_values(fc_tls_srv_conf_t *conf, const fc_tls_srv_conf_t *prev)
{
    fc_conf_merge_ptr(conf->certificates, prev->certificates, NULL);
    fc_conf_merge_ptr(conf->certificate_keys, prev->certificate_keys, NULL);
    fc_conf_merge_str(conf->password_file, prev->password_file, NULL);
    if (conf->protocols == 0)
        conf->protocols = prev->protocols ? prev->protocols : FC_TLS_DEFAULT_PROTOCOLS;
    fc_conf_merge_str(conf->ciphers, prev->ciphers, "HIGH:!aNULL:!MD5");
    fc_conf_merge_value(conf->prefer_server_ciphers, prev->prefer_server_ciphers, 0);
    fc_conf_merge_str(conf->ecdh_curve, prev->ecdh_curve, "auto");
    fc_conf_merge_str(conf->dhparam, prev->dhparam, NULL);
    fc_tls_session_cache_conf_merge(&conf->session_cache, &prev->session_cache);
    fc_conf_merge_msec(conf->session_timeout, prev->session_timeout, 300000);
    fc_conf_merge_value(conf->session_tickets, prev->session_tickets, 1);
    fc_conf_merge_ptr(conf->session_ticket_keys, prev->session_ticket_keys, NULL);
    fc_conf_merge_msec(conf->handshake_timeout, prev->handshake_timeout, 60000);
    fc_conf_merge_str(conf->client_certificate, prev->client_certificate, NULL);
    fc_conf_merge_str(conf->trusted_certificate, prev->trusted_certificate, NULL);
    fc_conf_merge_str(conf->crl, prev->crl, NULL);
    fc_conf_merge_value(conf->verify, prev->verify, FC_TLS_VERIFY_OFF);
    fc_conf_merge_value(conf->verify_depth, prev->verify_depth, 1);
    fc_conf_merge_value(conf->reject_handshake, prev->reject_handshake, 0);
    fc_conf_merge_size(conf->buffer_size, prev->buffer_size, 16384);
    if (conf->conf_commands == NULL)
        conf->conf_commands = prev->conf_commands;
}

/* The client side of a handshake is verified by the layer (http: 400 pages), never by OpenSSL. */
static int
tls_verify_accept(int ok, X509_STORE_CTX *store)
{
    (void) ok;
    (void) store;
    return 1;
}

/* The protocols a layer offers, in ALPN wire format (length byte + name, ...). */
typedef struct {
    unsigned len;
    unsigned char wire[];
} tls_alpn_t;

static int
tls_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                unsigned int inlen, void *arg)
{
    (void) ssl;
    const tls_alpn_t *alpn = arg;
    unsigned char *sel;
    /* the server's order wins, as nginx (SSL_select_next_proto) */
    if (SSL_select_next_proto(&sel, outlen, alpn->wire, alpn->len, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL; /* no protocol in common: as nginx, refuse */
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static int
tls_set_alpn(fc_conf_t *cf, SSL_CTX *ctx, const char *wire)
{
    size_t n = strlen(wire);
    tls_alpn_t *alpn = fc_palloc(cf->pool, sizeof(*alpn) + n);
    if (alpn == NULL)
        return FC_ERROR;
    alpn->len = (unsigned) n;
    memcpy(alpn->wire, wire, n);
    SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_select, alpn);
    return FC_OK;
}

static int
tls_load_certificates(fc_conf_t *cf, fc_tls_srv_conf_t *conf)
{
    fc_str_t *certs = conf->certificates->elts;
    fc_str_t *keys = conf->certificate_keys ? conf->certificate_keys->elts : NULL;
    size_t nkeys = conf->certificate_keys ? conf->certificate_keys->nelts : 0;
    if (nkeys < conf->certificates->nelts) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                          "no \"ssl_certificate_key\" is defined for certificate \"%.*s\"",
                          (int) certs[nkeys].len, certs[nkeys].data);
        return FC_ERROR;
    }
    if (conf->password_file.data &&
        (conf->passwords = fc_tls_read_passwords(cf, &conf->password_file)) == NULL)
        return FC_ERROR;
    /* A file that cannot be used is reported at the ssl_certificate line. */
    const char *file = cf->dir_file;
    unsigned line = cf->dir_line;
    if (conf->cert_file) {
        cf->dir_file = conf->cert_file;
        cf->dir_line = conf->cert_line;
    }
    int rc = FC_OK;
    for (size_t i = 0; rc == FC_OK && i < conf->certificates->nelts; i++)
        rc = fc_tls_ctx_certificate(cf, conf->ctx, &certs[i], &keys[i], conf->passwords);
    cf->dir_file = file;
    cf->dir_line = line;
    return rc;
}

static int
tls_set_verify(fc_conf_t *cf, fc_tls_srv_conf_t *conf)
{
    if (conf->verify != FC_TLS_VERIFY_OFF) {
        if (conf->verify != FC_TLS_VERIFY_OPTIONAL_NO_CA && conf->client_certificate.data == NULL &&
            conf->trusted_certificate.data == NULL) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                              "no ssl_client_certificate for ssl_verify_client");
            return FC_ERROR;
        }
        SSL_CTX_set_verify(conf->ctx, SSL_VERIFY_PEER, tls_verify_accept);
        SSL_CTX_set_verify_depth(conf->ctx, (int) conf->verify_depth);
    }
    /* As nginx: the client CA file is read only when client certificates are verified. */
    if (conf->verify != FC_TLS_VERIFY_OFF && conf->client_certificate.data &&
        fc_tls_ctx_trusted(cf, conf->ctx, &conf->client_certificate, (int) conf->verify_depth, 1) !=
            FC_OK)
        return FC_ERROR;
    if (conf->trusted_certificate.data &&
        fc_tls_ctx_trusted(cf, conf->ctx, &conf->trusted_certificate, (int) conf->verify_depth, 0) !=
            FC_OK)
        return FC_ERROR;
    if (conf->crl.data && fc_tls_ctx_crl(cf, conf->ctx, &conf->crl) != FC_OK)
        return FC_ERROR;
    return FC_OK;
}

/*
 * The default SNI callback: acknowledging the name makes OpenSSL keep it in
 * the session, so $ssl_server_name is still there when a session resumes.
 * ssl_reject_handshake refuses. http replaces it with its server lookup.
 */
static int
tls_servername_ack(SSL *ssl, int *alert, void *arg)
{
    const fc_tls_srv_conf_t *conf = arg;
    (void) ssl;
    if (conf->reject_handshake) {
        *alert = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    return SSL_TLSEXT_ERR_OK;
}

/* Builds the context of a server with a certificate (or ssl_reject_handshake). */
static int
tls_build_ctx(fc_conf_t *cf, fc_tls_srv_conf_t *conf, const char *alpn)
{
    conf->ctx = fc_tls_ctx_create(cf, 1, conf->protocols);
    if (conf->ctx == NULL)
        return FC_ERROR;
    if (conf->certificates && tls_load_certificates(cf, conf) != FC_OK)
        return FC_ERROR;
    if (fc_tls_ctx_ciphers(cf, conf->ctx, &conf->ciphers, conf->prefer_server_ciphers) != FC_OK ||
        fc_tls_ctx_curves(cf, conf->ctx, &conf->ecdh_curve) != FC_OK)
        return FC_ERROR;
    if (conf->dhparam.data && fc_tls_ctx_dhparam(cf, conf->ctx, &conf->dhparam) != FC_OK)
        return FC_ERROR;
    if (tls_set_verify(cf, conf) != FC_OK)
        return FC_ERROR;
    if (fc_tls_session_cache_set(cf, conf->ctx, &conf->session_cache, conf->session_timeout) !=
            FC_OK ||
        fc_tls_session_tickets_set(cf, conf->ctx, conf->session_tickets,
                                   conf->session_ticket_keys) != FC_OK)
        return FC_ERROR;
    if (alpn && tls_set_alpn(cf, conf->ctx, alpn) != FC_OK)
        return FC_ERROR;
    if (tls_ctx_tune(cf, conf) != FC_OK)
        return FC_ERROR;
    SSL_CTX_set_tlsext_servername_callback(conf->ctx, tls_servername_ack);
    SSL_CTX_set_tlsext_servername_arg(conf->ctx, conf);
    return FC_OK;
}

char *
fc_tls_srv_conf_merge(fc_conf_t *cf, fc_tls_srv_conf_t *conf, const fc_tls_srv_conf_t *prev,
                      const char *alpn)
{
    tls_merge_values(conf, prev);
    if (conf->certificates == NULL && !conf->reject_handshake)
        return FC_CONF_OK; /* no TLS here; a `listen ... ssl` on it is checked by the layer */
    if (conf->certificates == NULL && conf->certificate_keys) {
        fc_str_t *k = conf->certificate_keys->elts;
        fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                          "no \"ssl_certificate\" is defined for key \"%.*s\"", (int) k[0].len,
                          k[0].data);
        return FC_CONF_ERROR;
    }
    return tls_build_ctx(cf, conf, alpn) == FC_OK ? FC_CONF_OK : FC_CONF_ERROR;
}

/* A verify error that optional_no_ca lets pass: the CA is unknown, nothing else is wrong. */
static int
tls_verify_error_is_ca(long err)
{
    return err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
           err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
           err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
           err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
           err == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
}

int
fc_tls_srv_verify_client(fc_connection_t *c, const fc_tls_srv_conf_t *conf)
{
    if (conf->verify == FC_TLS_VERIFY_OFF || c->tls == NULL)
        return FC_TLS_CERT_OK;
    SSL *ssl = c->tls->ssl;
    long vr = SSL_get_verify_result(ssl);
    X509 *cert = SSL_get1_peer_certificate(ssl);
    int rc = FC_TLS_CERT_OK;
    if (cert && vr != X509_V_OK &&
        (conf->verify != FC_TLS_VERIFY_OPTIONAL_NO_CA || !tls_verify_error_is_ca(vr))) {
        fc_log_error(FC_LOG_INFO, c->log, 0, "client SSL certificate verify error: (%ld:%s)", vr,
                     X509_verify_cert_error_string(vr));
        rc = FC_TLS_CERT_ERROR;
    } else if (cert == NULL && conf->verify == FC_TLS_VERIFY_ON) {
        fc_log_error(FC_LOG_INFO, c->log, 0, "client sent no required SSL certificate");
        rc = FC_TLS_NO_CERT;
    }
    X509_free(cert);
    return rc;
}
