/*
 * tls.c: OpenSSL contexts built from the config. Everything here runs in the
 * master while a config is parsed; errors carry the directive's file:line
 * and OpenSSL's own reason, so `-t` says which certificate is wrong and why.
 */
#include "core/fc_core.h"
#include "core/cycle.h"
#include "event/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>

size_t
fc_tls_error_reasons(char *buf, size_t size)
{
    size_t n = 0;
    unsigned long e;
    buf[0] = '\0';
    while ((e = ERR_get_error()) != 0) {
        if (n + 2 >= size)
            continue; /* keep draining the queue */
        const char *r = ERR_SYSTEM_ERROR(e) ? strerror((int) ERR_GET_REASON(e))
                                            : ERR_reason_error_string(e);
        int k = snprintf(buf + n, size - n, "%s%s", n ? ":" : "", r ? r : "unknown error");
        n = k < 0 ? n : fc_min(n + (size_t) k, size - 1);
    }
    return n;
}

void
fc_tls_conf_error(fc_conf_t *cf, const char *what, const char *arg)
{
    char reason[512];
    const char *q = arg ? "\"" : "", *sp = arg ? " " : "";
    if (fc_tls_error_reasons(reason, sizeof(reason)))
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s%s%s%s%s failed (SSL: %s)", what, sp, q,
                          arg ? arg : "", q, reason);
    else
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s%s%s%s%s failed", what, sp, q, arg ? arg : "", q);
}

static void
tls_ctx_free(void *data)
{
    SSL_CTX_free(data);
}

int
fc_tls_init(fc_log_t *log)
{
    if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) == 0) {
        fc_log_error(FC_LOG_EMERG, log, 0, "OPENSSL_init_ssl() failed");
        return FC_ERROR;
    }
    /* The index that lets callbacks find the connection of an SSL. */
    if (fc_tls_conn_index() < 0) {
        fc_log_error(FC_LOG_EMERG, log, 0, "SSL_get_ex_new_index() failed");
        return FC_ERROR;
    }
    return FC_OK;
}

static int
tls_min_max(unsigned protocols, int *min, int *max)
{
    static const struct {
        unsigned bit;
        int version;
    } order[] = {{FC_TLS_SSLv3, SSL3_VERSION},
                 {FC_TLS_TLSv1, TLS1_VERSION},
                 {FC_TLS_TLSv1_1, TLS1_1_VERSION},
                 {FC_TLS_TLSv1_2, TLS1_2_VERSION},
                 {FC_TLS_TLSv1_3, TLS1_3_VERSION}};
    *min = *max = 0;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        if (protocols & order[i].bit) {
            if (*min == 0)
                *min = order[i].version;
            *max = order[i].version;
        }
    }
    return *min ? FC_OK : FC_ERROR;
}

/* Versions between the lowest and highest enabled that are not enabled are switched off. */
static void
tls_disable_gaps(SSL_CTX *ctx, unsigned protocols)
{
    if (!(protocols & FC_TLS_TLSv1))
        SSL_CTX_set_options(ctx, SSL_OP_NO_TLSv1);
    if (!(protocols & FC_TLS_TLSv1_1))
        SSL_CTX_set_options(ctx, SSL_OP_NO_TLSv1_1);
    if (!(protocols & FC_TLS_TLSv1_2))
        SSL_CTX_set_options(ctx, SSL_OP_NO_TLSv1_2);
    if (!(protocols & FC_TLS_TLSv1_3))
        SSL_CTX_set_options(ctx, SSL_OP_NO_TLSv1_3);
}

SSL_CTX *
fc_tls_ctx_create(fc_conf_t *cf, int server, unsigned protocols)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    fc_pool_cleanup_t *cln = ctx ? fc_pool_cleanup_add(cf->pool, 0) : NULL;
    if (cln == NULL) {
        SSL_CTX_free(ctx);
        fc_tls_conf_error(cf, "SSL_CTX_new()", server ? "server" : "client");
        return NULL;
    }
    cln->handler = tls_ctx_free;
    cln->data = ctx;
    int min, max;
    if (tls_min_max(protocols, &min, &max) == FC_OK) {
        /* Old versions need security level 0 in OpenSSL 3, as nginx does for them. */
        if (min < TLS1_2_VERSION)
            SSL_CTX_set_security_level(ctx, 0);
        SSL_CTX_set_min_proto_version(ctx, min);
        SSL_CTX_set_max_proto_version(ctx, max);
        tls_disable_gaps(ctx, protocols);
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
                                 SSL_OP_SINGLE_DH_USE | SSL_OP_SINGLE_ECDH_USE |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* Writes may stop part-way (non-blocking sockets) and resume from a buffer that moved. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
    /* As nginx: one recv takes all that is there, not a record header and then its body. */
    SSL_CTX_set_read_ahead(ctx, 1);
    return ctx;
}

/* A relative path: the config's folder as nginx, else the prefix (-p) when the file is there. */
static int
tls_path(fc_conf_t *cf, const fc_str_t *in, fc_str_t *out)
{
    *out = *in;
    if (in->len && in->data[0] == '/')
        return fc_conf_full_name(cf->pool, &cf->cycle->prefix, out);
    fc_str_t alt = *in;
    if (fc_conf_full_name(cf->pool, &cf->cycle->conf_prefix, out) != FC_OK ||
        fc_conf_full_name(cf->pool, &cf->cycle->prefix, &alt) != FC_OK)
        return FC_ERROR;
    struct stat st;
    if (stat((const char *) out->data, &st) != 0 && stat((const char *) alt.data, &st) == 0)
        *out = alt;
    return FC_OK;
}

typedef struct {
    fc_array_t *passwords;
    size_t tried;
} tls_pw_state_t;

static int
tls_password_cb(char *buf, int size, int rwflag, void *data)
{
    (void) rwflag;
    tls_pw_state_t *st = data;
    if (st->passwords == NULL || st->tried >= st->passwords->nelts)
        return 0;
    fc_str_t *pw = (fc_str_t *) st->passwords->elts + st->tried;
    if (pw->len > (size_t) size)
        return 0;
    memcpy(buf, pw->data, pw->len);
    return (int) pw->len;
}

/* The private key from PEM, trying each password of ssl_password_file in turn. */
static EVP_PKEY *
tls_load_key(const char *path, fc_array_t *passwords)
{
    size_t tries = passwords && passwords->nelts ? passwords->nelts : 1;
    for (size_t i = 0; i < tries; i++) {
        BIO *bio = BIO_new_file(path, "r");
        if (bio == NULL)
            return NULL;
        tls_pw_state_t st = {passwords, i};
        EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, tls_password_cb, &st);
        BIO_free(bio);
        if (pkey)
            return pkey;
        if (i + 1 < tries)
            ERR_clear_error();
    }
    return NULL;
}

int
fc_tls_ctx_certificate(fc_conf_t *cf, SSL_CTX *ctx, const fc_str_t *cert, const fc_str_t *key,
                       fc_array_t *passwords)
{
    fc_str_t cpath, kpath;
    if (tls_path(cf, cert, &cpath) != FC_OK || tls_path(cf, key, &kpath) != FC_OK)
        return FC_ERROR;
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(ctx, (const char *) cpath.data) != 1) {
        fc_tls_conf_error(cf, "cannot load certificate", (const char *) cpath.data);
        return FC_ERROR;
    }
    EVP_PKEY *pkey = tls_load_key((const char *) kpath.data, passwords);
    if (pkey == NULL) {
        fc_tls_conf_error(cf, "cannot load certificate key", (const char *) kpath.data);
        return FC_ERROR;
    }
    int ok = SSL_CTX_use_PrivateKey(ctx, pkey);
    EVP_PKEY_free(pkey);
    if (ok != 1) {
        fc_tls_conf_error(cf, "SSL_CTX_use_PrivateKey", (const char *) kpath.data);
        return FC_ERROR;
    }
    return FC_OK;
}

fc_array_t *
fc_tls_read_passwords(fc_conf_t *cf, const fc_str_t *file)
{
    fc_str_t path;
    if (tls_path(cf, file, &path) != FC_OK)
        return NULL;
    FILE *f = fopen((const char *) path.data, "r");
    if (f == NULL) {
        fc_conf_log_error(FC_LOG_EMERG, cf, errno, "cannot open \"%s\"", path.data);
        return NULL;
    }
    fc_array_t *a = fc_array_create(cf->pool, 4, sizeof(fc_str_t));
    char line[1024];
    while (a && fgets(line, sizeof(line), f)) {
        size_t n = strcspn(line, "\r\n");
        fc_str_t *pw = fc_array_push(a);
        if (pw == NULL || (pw->data = fc_pnalloc(cf->pool, n + 1)) == NULL) {
            a = NULL;
            break;
        }
        memcpy(pw->data, line, n);
        pw->data[n] = '\0';
        pw->len = n;
    }
    fclose(f);
    if (a && a->nelts == 0) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "no passphrase in \"%s\"", path.data);
        return NULL;
    }
    return a;
}

int
fc_tls_ctx_ciphers(fc_conf_t *cf, SSL_CTX *ctx, const fc_str_t *ciphers, int prefer_server)
{
    ERR_clear_error();
    if (SSL_CTX_set_cipher_list(ctx, (const char *) ciphers->data) != 1) {
        fc_tls_conf_error(cf, "SSL_CTX_set_cipher_list", (const char *) ciphers->data);
        return FC_ERROR;
    }
    if (prefer_server)
        SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    return FC_OK;
}

int
fc_tls_ctx_curves(fc_conf_t *cf, SSL_CTX *ctx, const fc_str_t *curves)
{
    if (fc_str_eq_c(curves, "auto"))
        return FC_OK; /* OpenSSL 3 negotiates among its defaults */
    ERR_clear_error();
    if (SSL_CTX_set1_groups_list(ctx, (const char *) curves->data) != 1) {
        fc_tls_conf_error(cf, "SSL_CTX_set1_curves_list", (const char *) curves->data);
        return FC_ERROR;
    }
    return FC_OK;
}

int
fc_tls_ctx_dhparam(fc_conf_t *cf, SSL_CTX *ctx, const fc_str_t *file)
{
    fc_str_t path;
    if (tls_path(cf, file, &path) != FC_OK)
        return FC_ERROR;
    ERR_clear_error();
    BIO *bio = BIO_new_file((const char *) path.data, "r");
    EVP_PKEY *dh = bio ? PEM_read_bio_Parameters(bio, NULL) : NULL;
    BIO_free(bio);
    if (dh == NULL) {
        fc_tls_conf_error(cf, "PEM_read_bio_Parameters", (const char *) path.data);
        return FC_ERROR;
    }
    if (SSL_CTX_set0_tmp_dh_pkey(ctx, dh) != 1) {
        EVP_PKEY_free(dh);
        fc_tls_conf_error(cf, "SSL_CTX_set0_tmp_dh_pkey", (const char *) path.data);
        return FC_ERROR;
    }
    return FC_OK;
}

int
fc_tls_ctx_crl(fc_conf_t *cf, SSL_CTX *ctx, const fc_str_t *file)
{
    fc_str_t path;
    if (tls_path(cf, file, &path) != FC_OK)
        return FC_ERROR;
    ERR_clear_error();
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    X509_LOOKUP *lookup = store ? X509_STORE_add_lookup(store, X509_LOOKUP_file()) : NULL;
    if (lookup == NULL ||
        X509_LOOKUP_load_file(lookup, (const char *) path.data, X509_FILETYPE_PEM) == 0) {
        fc_tls_conf_error(cf, "X509_LOOKUP_load_file", (const char *) path.data);
        return FC_ERROR;
    }
    /* as nginx: every certificate of the chain is checked, so each CA needs its CRL */
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    ERR_clear_error();
    return FC_OK;
}

int
fc_tls_ctx_trusted(fc_conf_t *cf, SSL_CTX *ctx, const fc_str_t *file, int depth, int send_names)
{
    fc_str_t path;
    if (tls_path(cf, file, &path) != FC_OK)
        return FC_ERROR;
    ERR_clear_error();
    SSL_CTX_set_verify_depth(ctx, depth);
    if (SSL_CTX_load_verify_locations(ctx, (const char *) path.data, NULL) != 1) {
        fc_tls_conf_error(cf, "SSL_CTX_load_verify_locations", (const char *) path.data);
        return FC_ERROR;
    }
    if (send_names) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file((const char *) path.data);
        if (names == NULL) {
            fc_tls_conf_error(cf, "SSL_load_client_CA_file", (const char *) path.data);
            return FC_ERROR;
        }
        SSL_CTX_set_client_CA_list(ctx, names);
    }
    ERR_clear_error();
    return FC_OK;
}
