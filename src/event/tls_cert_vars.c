/*
 * tls_cert_vars.c: the $ssl_client_* variables that read the client's
 * certificate itself, in nginx's formats: the serial (uppercase hex), the
 * SHA-1 fingerprint (lowercase hex), the RFC 2253 DNs, the PEM text raw,
 * tab-continued ($ssl_client_cert) or URI-escaped, the validity dates as
 * OpenSSL prints them, the days left, and the "/CN=..." legacy DNs. Without a certificate
 * each is empty, which the caller turns into "not found".
 */
#include "core/fc_core.h"
#include "core/var.h"
#include "event/tls.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* What a memory BIO holds, copied into the pool. */
static int
cert_bio_value(BIO *bio, fc_pool_t *pool, fc_var_value_t *v)
{
    char *data;
    long len = BIO_get_mem_data(bio, &data);
    return fc_tls_var_copy(pool, v, data, len > 0 ? (size_t) len : 0);
}

static int
cert_fingerprint(X509 *cert, fc_pool_t *pool, fc_var_value_t *v)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!X509_digest(cert, EVP_sha1(), md, &n))
        return FC_ERROR;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    static const char digits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 0xf];
    }
    return fc_tls_var_copy(pool, v, hex, 2 * (size_t) n);
}

/* nginx's deprecated $ssl_client_cert: the PEM without its last newline, a tab after each other. */
static int
cert_tabbed(const fc_var_value_t *pem, fc_pool_t *pool, fc_var_value_t *v)
{
    size_t len = pem->len ? pem->len - 1 : 0, n = 0;
    unsigned char *p = fc_pnalloc(pool, 2 * len + 1);
    if (p == NULL)
        return FC_ERROR;
    for (size_t i = 0; i < len; i++) {
        p[n++] = pem->data[i];
        if (pem->data[i] == '\n')
            p[n++] = '\t';
    }
    p[n] = '\0';
    fc_var_set_str(v, p, n);
    return FC_OK;
}

/* $ssl_client_escaped_cert: every byte but ALPHA DIGIT - . _ ~ as %XX, as nginx's URI component. */
static int
cert_escaped(const fc_var_value_t *pem, fc_pool_t *pool, fc_var_value_t *v)
{
    static const char digits[] = "0123456789ABCDEF";
    unsigned char *p = fc_pnalloc(pool, 3 * pem->len + 1);
    if (p == NULL)
        return FC_ERROR;
    size_t n = 0;
    for (size_t i = 0; i < pem->len; i++) {
        unsigned char ch = pem->data[i];
        if ((ch >= '0' && ch <= '9') || (fc_tolower(ch) >= 'a' && fc_tolower(ch) <= 'z') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            p[n++] = ch;
        } else {
            p[n++] = '%';
            p[n++] = (unsigned char) digits[ch >> 4];
            p[n++] = (unsigned char) digits[ch & 0xf];
        }
    }
    p[n] = '\0';
    fc_var_set_str(v, p, n);
    return FC_OK;
}

/* Whole days until notAfter; "0" from its last day on, as nginx. */
static int
cert_days_left(X509 *cert, fc_pool_t *pool, fc_var_value_t *v)
{
    int days = 0, secs = 0;
    if (!ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)))
        return FC_ERROR;
    char buf[16];
    int n = snprintf(buf, sizeof(buf), "%d", days > 0 ? days : 0);
    return fc_tls_var_copy(pool, v, buf, (size_t) n);
}

static int
cert_legacy_dn(X509 *cert, fc_pool_t *pool, fc_var_value_t *v, int issuer)
{
    char *dn = X509_NAME_oneline(issuer ? X509_get_issuer_name(cert) : X509_get_subject_name(cert),
                                 NULL, 0);
    if (dn == NULL)
        return FC_ERROR;
    int rc = fc_tls_var_copy(pool, v, dn, strlen(dn));
    OPENSSL_free(dn);
    return rc;
}

/* The values OpenSSL prints into a BIO: serial, DNs, PEM, validity dates. */
static int
cert_printed(X509 *cert, fc_pool_t *pool, fc_var_value_t *v, uintptr_t which)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        return FC_ERROR;
    int ok;
    switch (which) {
    case FC_TLS_VAR_CLIENT_SERIAL:
        ok = i2a_ASN1_INTEGER(bio, X509_get_serialNumber(cert)) >= 0;
        break;
    case FC_TLS_VAR_CLIENT_V_START:
        ok = ASN1_TIME_print(bio, X509_get0_notBefore(cert));
        break;
    case FC_TLS_VAR_CLIENT_V_END:
        ok = ASN1_TIME_print(bio, X509_get0_notAfter(cert));
        break;
    case FC_TLS_VAR_CLIENT_S_DN: /* RFC 2253, as nginx since 1.11.6 */
        ok = X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0;
        break;
    case FC_TLS_VAR_CLIENT_I_DN:
        ok = X509_NAME_print_ex(bio, X509_get_issuer_name(cert), 0, XN_FLAG_RFC2253) >= 0;
        break;
    default: /* the PEM forms */
        ok = PEM_write_bio_X509(bio, cert);
        break;
    }
    int rc = ok ? cert_bio_value(bio, pool, v) : FC_ERROR;
    BIO_free(bio);
    if (rc != FC_OK || which == FC_TLS_VAR_CLIENT_RAW_CERT)
        return rc;
    fc_var_value_t pem = *v;
    if (which == FC_TLS_VAR_CLIENT_CERT)
        return cert_tabbed(&pem, pool, v);
    if (which == FC_TLS_VAR_CLIENT_ESCAPED_CERT)
        return cert_escaped(&pem, pool, v);
    return FC_OK;
}

int
fc_tls_cert_var_value(SSL *ssl, fc_pool_t *pool, fc_var_value_t *v, uintptr_t which)
{
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (cert == NULL) {
        fc_var_set_str(v, (const unsigned char *) "", 0);
        return FC_OK;
    }
    int rc;
    switch (which) {
    case FC_TLS_VAR_CLIENT_FINGERPRINT:
        rc = cert_fingerprint(cert, pool, v);
        break;
    case FC_TLS_VAR_CLIENT_V_REMAIN:
        rc = cert_days_left(cert, pool, v);
        break;
    case FC_TLS_VAR_CLIENT_S_DN_LEGACY:
    case FC_TLS_VAR_CLIENT_I_DN_LEGACY:
        rc = cert_legacy_dn(cert, pool, v, which == FC_TLS_VAR_CLIENT_I_DN_LEGACY);
        break;
    default:
        rc = cert_printed(cert, pool, v, which);
        break;
    }
    X509_free(cert);
    return rc;
}
