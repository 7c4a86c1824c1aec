/*
 * tls_vars.c: the $ssl_* variables of a TLS connection, one implementation
 * for http and stream (each layer's getter passes its connection and pool).
 * Values follow nginx: $ssl_session_reused is "r" or ".", $ssl_client_verify
 * is SUCCESS, FAILED:reason or NONE, DNs are in RFC 2253 form.
 */
#include "core/fc_core.h"
#include "core/var.h"
#include "core/var_common.h"
#include "event/tls.h"

#include <openssl/x509.h>

int
fc_tls_var_copy(fc_pool_t *pool, fc_var_value_t *v, const char *s, size_t len)
{
    unsigned char *p = fc_pnalloc(pool, len + 1);
    if (p == NULL)
        return FC_ERROR;
    memcpy(p, s, len);
    p[len] = '\0';
    fc_var_set_str(v, p, len);
    return FC_OK;
}

static int
tls_var_verify(fc_pool_t *pool, fc_var_value_t *v, SSL *ssl)
{
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (cert == NULL) {
        fc_var_set_str(v, (const unsigned char *) "NONE", 4);
        return FC_OK;
    }
    X509_free(cert);
    long rc = SSL_get_verify_result(ssl);
    if (rc == X509_V_OK) {
        fc_var_set_str(v, (const unsigned char *) "SUCCESS", 7);
        return FC_OK;
    }
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "FAILED:%s", X509_verify_cert_error_string(rc));
    return fc_tls_var_copy(pool, v, buf, (size_t) fc_min(n, (int) sizeof(buf) - 1));
}

static int
tls_var_session_id(fc_pool_t *pool, fc_var_value_t *v, SSL *ssl)
{
    SSL_SESSION *sess = SSL_get0_session(ssl);
    unsigned int len = 0;
    const unsigned char *id = sess ? SSL_SESSION_get_id(sess, &len) : NULL;
    char hex[2 * SSL_MAX_SSL_SESSION_ID_LENGTH + 1];
    for (unsigned i = 0; i < len && i < SSL_MAX_SSL_SESSION_ID_LENGTH; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    return fc_tls_var_copy(pool, v, hex, 2 * (size_t) fc_min(len, SSL_MAX_SSL_SESSION_ID_LENGTH));
}

/* $ssl_curves: the groups the client offered, "X25519:prime256v1:0x1234", as nginx writes them. */
static int
tls_var_curves(fc_pool_t *pool, fc_var_value_t *v, SSL *ssl)
{
    int n = SSL_get1_curves(ssl, NULL);
    if (n <= 0)
        return fc_tls_var_copy(pool, v, "", 0);
    int *nids = fc_palloc(pool, (size_t) n * sizeof(int)); /* aligned: an int array */
    char *buf = fc_pnalloc(pool, (size_t) n * 32 + 1);
    if (nids == NULL || buf == NULL)
        return FC_ERROR;
    SSL_get1_curves(ssl, nids);
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        const char *name = (nids[i] & TLSEXT_nid_unknown) ? NULL : OBJ_nid2sn(nids[i]);
        int w = name ? snprintf(buf + len, 32, "%s%.24s", i ? ":" : "", name)
                     : snprintf(buf + len, 32, "%s0x%04x", i ? ":" : "", nids[i] & 0xffff);
        len += w > 0 ? (size_t) fc_min(w, 31) : 0;
    }
    fc_var_set_str(v, (const unsigned char *) buf, len);
    return FC_OK;
}

/* $ssl_ciphers: the client's offer, "NAME:NAME:0x1234" (unknown ones in hex), as nginx. */
static int
tls_var_ciphers(fc_pool_t *pool, fc_var_value_t *v, SSL *ssl)
{
    const unsigned char *raw;
    size_t n = SSL_get0_raw_cipherlist(ssl, &raw) / 2;
    char *buf = fc_pnalloc(pool, n * 64 + 1);
    if (buf == NULL)
        return FC_ERROR;
    size_t len = 0;
    for (size_t i = 0; i < n; i++, raw += 2) {
        const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, raw);
        int w = cipher
                    ? snprintf(buf + len, 64, "%s%.60s", i ? ":" : "", SSL_CIPHER_get_name(cipher))
                    : snprintf(buf + len, 64, "%s0x%02x%02x", i ? ":" : "", raw[0], raw[1]);
        len += w > 0 ? (size_t) fc_min(w, 63) : 0;
    }
    buf[len] = '\0';
    fc_var_set_str(v, (const unsigned char *) buf, len);
    return FC_OK;
}

static int
tls_var_value(SSL *ssl, fc_pool_t *pool, fc_var_value_t *v, uintptr_t which)
{
    if (which >= FC_TLS_VAR_CLIENT_CERT_FIRST)
        return fc_tls_cert_var_value(ssl, pool, v, which);
    const char *s = NULL;
    switch (which) {
    case FC_TLS_VAR_PROTOCOL:
        s = SSL_get_version(ssl);
        break;
    case FC_TLS_VAR_CIPHER:
        s = SSL_get_cipher_name(ssl);
        break;
    case FC_TLS_VAR_SERVER_NAME:
        s = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
        break;
    case FC_TLS_VAR_SESSION_REUSED:
        s = SSL_session_reused(ssl) ? "r" : ".";
        break;
    case FC_TLS_VAR_ALPN_PROTOCOL: {
        const unsigned char *p;
        unsigned len;
        SSL_get0_alpn_selected(ssl, &p, &len);
        return fc_tls_var_copy(pool, v, len ? (const char *) p : "", len);
    }
    case FC_TLS_VAR_CURVE: {
        int nid = SSL_get_negotiated_group(ssl);
        s = nid > 0 ? OBJ_nid2sn(nid) : NULL;
        break;
    }
    case FC_TLS_VAR_SESSION_ID:
        return tls_var_session_id(pool, v, ssl);
    case FC_TLS_VAR_CURVES:
        return tls_var_curves(pool, v, ssl);
    case FC_TLS_VAR_CIPHERS:
        return tls_var_ciphers(pool, v, ssl);
    case FC_TLS_VAR_EARLY_DATA:
        break; /* "1" only for a request in 0-RTT data, which is never accepted */
    case FC_TLS_VAR_CLIENT_VERIFY:
        return tls_var_verify(pool, v, ssl);
    case FC_TLS_VAR_CLIENT_S_DN:
    case FC_TLS_VAR_CLIENT_I_DN:
        return fc_tls_cert_var_value(ssl, pool, v, which);
    default:
        break;
    }
    if (s == NULL) {
        fc_var_set_str(v, (const unsigned char *) "", 0);
        return FC_OK;
    }
    fc_var_set_str(v, (const unsigned char *) s, strlen(s));
    return FC_OK;
}

int
fc_tls_var_value(fc_connection_t *c, fc_pool_t *pool, fc_var_value_t *v, uintptr_t which)
{
    if (c->tls == NULL || c->tls->ssl == NULL) {
        fc_var_set_not_found(v);
        return FC_OK;
    }
    if (tls_var_value(c->tls->ssl, pool, v, which) != FC_OK)
        return FC_ERROR;
    if (v->len == 0)
        fc_var_set_not_found(v); /* as nginx: no SNI, no certificate, ... log as "-" */
    return FC_OK;
}

/* Names and ids, for the layers' variable tables. */
static const struct {
    const char *name;
    uintptr_t which;
} tls_var_names[] = {{"ssl_protocol", FC_TLS_VAR_PROTOCOL},
                     {"ssl_cipher", FC_TLS_VAR_CIPHER},
                     {"ssl_server_name", FC_TLS_VAR_SERVER_NAME},
                     {"ssl_session_reused", FC_TLS_VAR_SESSION_REUSED},
                     {"ssl_session_id", FC_TLS_VAR_SESSION_ID},
                     {"ssl_alpn_protocol", FC_TLS_VAR_ALPN_PROTOCOL},
                     {"ssl_curve", FC_TLS_VAR_CURVE},
                     {"ssl_curves", FC_TLS_VAR_CURVES},
                     {"ssl_client_verify", FC_TLS_VAR_CLIENT_VERIFY},
                     {"ssl_client_s_dn", FC_TLS_VAR_CLIENT_S_DN},
                     {"ssl_client_i_dn", FC_TLS_VAR_CLIENT_I_DN},
                     {"ssl_ciphers", FC_TLS_VAR_CIPHERS},
                     {"ssl_early_data", FC_TLS_VAR_EARLY_DATA},
                     {"ssl_client_serial", FC_TLS_VAR_CLIENT_SERIAL},
                     {"ssl_client_fingerprint", FC_TLS_VAR_CLIENT_FINGERPRINT},
                     {"ssl_client_raw_cert", FC_TLS_VAR_CLIENT_RAW_CERT},
                     {"ssl_client_cert", FC_TLS_VAR_CLIENT_CERT},
                     {"ssl_client_escaped_cert", FC_TLS_VAR_CLIENT_ESCAPED_CERT},
                     {"ssl_client_v_start", FC_TLS_VAR_CLIENT_V_START},
                     {"ssl_client_v_end", FC_TLS_VAR_CLIENT_V_END},
                     {"ssl_client_v_remain", FC_TLS_VAR_CLIENT_V_REMAIN},
                     {"ssl_client_s_dn_legacy", FC_TLS_VAR_CLIENT_S_DN_LEGACY},
                     {"ssl_client_i_dn_legacy", FC_TLS_VAR_CLIENT_I_DN_LEGACY}};

int
fc_tls_vars_define(fc_var_registry_t *reg, fc_var_get_pt get)
{
    for (size_t i = 0; i < fc_nelems(tls_var_names); i++) {
        fc_str_t name = {strlen(tls_var_names[i].name), (unsigned char *) tls_var_names[i].name};
        fc_var_t *v = fc_var_define(reg, &name, 0);
        if (v == NULL)
            return FC_ERROR;
        v->get = get;
        v->data = tls_var_names[i].which;
    }
    return FC_OK;
}
