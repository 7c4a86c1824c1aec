/*
 * tls.h: TLS as a property of a connection. A connection with c->tls set
 * reads and writes through OpenSSL; every reader and writer in the layers
 * goes through fc_conn_recv / fc_conn_send / fc_conn_sendv (event/io.h), so
 * it works unchanged over plain or TLS transport. Handshakes are
 * non-blocking: fc_tls_handshake returns FC_AGAIN and is called again from
 * the connection's read or write event.
 *
 * Contexts (SSL_CTX) are built in the master while the config is parsed and
 * belong to the cycle (freed by a pool cleanup), so a reload serves new
 * certificates to new connections while old workers keep theirs.
 */
#ifndef FC_TLS_H
#define FC_TLS_H

#include <openssl/ssl.h>

#include "core/fc_core.h"
#include "core/conf.h"
#include "event/conn.h"

/* ssl_protocols bits. */
#define FC_TLS_SSLv3 0x02u
#define FC_TLS_TLSv1 0x04u
#define FC_TLS_TLSv1_1 0x08u
#define FC_TLS_TLSv1_2 0x10u
#define FC_TLS_TLSv1_3 0x20u
#define FC_TLS_DEFAULT_PROTOCOLS (FC_TLS_TLSv1_2 | FC_TLS_TLSv1_3)

/* The per-connection TLS state (c->tls). */
struct fc_tls_conn_s {
    SSL *ssl;
    unsigned char *out;  /* sendv coalescing buffer (16 KB, connection pool) */
    size_t out_len;      /* bytes in `out` that SSL_write has not taken yet */
    unsigned handshaked : 1;
    unsigned no_send_shutdown : 1;  /* the peer vanished: skip close_notify */
    unsigned shutdown_sent : 1;     /* close_notify was tried already */
    unsigned drained : 1;           /* the socket's last read returned less than asked */
};

/* One configured certificate chain and key (ssl_certificate / _key pairs). */
typedef struct {
    fc_str_t cert;
    fc_str_t key;
} fc_tls_cert_t;

/*
 * Creates a server (server=1) or client context with nginx's defaults and
 * options; the context is freed with cf->pool. NULL (logged at cf's
 * position) on failure.
 */
SSL_CTX *fc_tls_ctx_create(fc_conf_t *cf, int server, unsigned protocols);
/*
 * Loads a certificate chain and its key into ctx (several calls: RSA and
 * ECDSA side by side). passwords: fc_str_t array from ssl_password_file
 * (NULL: none). Errors name the file and OpenSSL's reason at cf's position.
 */
int fc_tls_ctx_certificate(fc_conf_t *cf, SSL_CTX *ctx, const fc_str_t *cert, const fc_str_t *key,
                           fc_array_t *passwords);
/* Reads ssl_password_file: one password per line; NULL and logged on error. */
fc_array_t *fc_tls_read_passwords(fc_conf_t *cf, const fc_str_t *file);
/* ssl_ciphers (TLS 1.2 list; TLS 1.3 suites stay OpenSSL's), ssl_prefer_server_ciphers. */
int fc_tls_ctx_ciphers(fc_conf_t *cf, SSL_CTX *ctx, const fc_str_t *ciphers, int prefer_server);
/* ssl_ecdh_curve ("auto" or a colon list). */
int fc_tls_ctx_curves(fc_conf_t *cf, SSL_CTX *ctx, const fc_str_t *curves);
/* ssl_dhparam file. */
int fc_tls_ctx_dhparam(fc_conf_t *cf, SSL_CTX *ctx, const fc_str_t *file);
/*
 * Trusted CAs for verifying peers (ssl_client_certificate,
 * proxy_ssl_trusted_certificate); also sends their names to clients when
 * `send_names` is set (server side). depth: ssl_verify_depth.
 */
int fc_tls_ctx_trusted(fc_conf_t *cf, SSL_CTX *ctx, const fc_str_t *file, int depth,
                       int send_names);
/* ssl_crl / proxy_ssl_crl: revocation lists (PEM) checked for the whole chain. */
int fc_tls_ctx_crl(fc_conf_t *cf, SSL_CTX *ctx, const fc_str_t *file);

/*
 * Attaches a new SSL object to c (c->tls), in server or client mode.
 * FC_ERROR (logged) on failure.
 */
int fc_tls_conn_create(fc_connection_t *c, SSL_CTX *ctx, int server);
/*
 * Drives the handshake. FC_OK when done, FC_AGAIN when it waits for the
 * socket (the caller's read/write event fires again), FC_ERROR (logged at
 * info level for client-side causes, as nginx) when it failed.
 */
int fc_tls_handshake(fc_connection_t *c);
/*
 * Sends close_notify without waiting (best effort) and frees the SSL object;
 * called by the connection close path for any c->tls.
 */
void fc_tls_conn_close(fc_connection_t *c);
/* Frees the SSL object without a close_notify (the peer is gone or misbehaved). */
void fc_tls_conn_abort(fc_connection_t *c);

/*
 * OpenSSL's error queue as "reason:reason" in buf (NUL-terminated, cut to
 * size), emptying the queue. Returns the length: 0 when the queue was empty.
 */
size_t fc_tls_error_reasons(char *buf, size_t size);
/* Logs `WHAT "ARG" failed (SSL: reasons)` at cf's position; arg NULL: no quoted part. */
void fc_tls_conf_error(fc_conf_t *cf, const char *what, const char *arg);

/* Data index of the fc_connection_t on an SSL (callbacks find their connection). */
int fc_tls_conn_index(void);
/* The connection an SSL belongs to. */
fc_connection_t *fc_tls_ssl_conn(const SSL *ssl);

/* ---- variables (tls_vars.c) ---- */

enum {
    FC_TLS_VAR_PROTOCOL = 1,
    FC_TLS_VAR_CIPHER,
    FC_TLS_VAR_SERVER_NAME,
    FC_TLS_VAR_SESSION_REUSED,
    FC_TLS_VAR_SESSION_ID,
    FC_TLS_VAR_ALPN_PROTOCOL,
    FC_TLS_VAR_CURVE,
    FC_TLS_VAR_CLIENT_VERIFY,
    FC_TLS_VAR_CLIENT_S_DN,
    FC_TLS_VAR_CLIENT_I_DN,
    FC_TLS_VAR_CURVES,
    FC_TLS_VAR_CIPHERS,
    FC_TLS_VAR_EARLY_DATA,
    /* the client certificate's (tls_cert_vars.c) */
    FC_TLS_VAR_CLIENT_CERT_FIRST,
    FC_TLS_VAR_CLIENT_SERIAL = FC_TLS_VAR_CLIENT_CERT_FIRST,
    FC_TLS_VAR_CLIENT_FINGERPRINT,
    FC_TLS_VAR_CLIENT_RAW_CERT,
    FC_TLS_VAR_CLIENT_CERT,
    FC_TLS_VAR_CLIENT_ESCAPED_CERT,
    FC_TLS_VAR_CLIENT_V_START,
    FC_TLS_VAR_CLIENT_V_END,
    FC_TLS_VAR_CLIENT_V_REMAIN,
    FC_TLS_VAR_CLIENT_S_DN_LEGACY,
    FC_TLS_VAR_CLIENT_I_DN_LEGACY
};

/*
 * Fills v with variable `which` of c; as nginx, an empty value (no SNI, no
 * client certificate, ...) and a plain connection are not found. pool: for
 * copies.
 */
struct fc_var_value_s;
int fc_tls_var_value(fc_connection_t *c, fc_pool_t *pool, struct fc_var_value_s *v,
                     uintptr_t which);
/* Sets v to a pool copy of len bytes at s. */
int fc_tls_var_copy(fc_pool_t *pool, struct fc_var_value_s *v, const char *s, size_t len);
/*
 * A client certificate variable (which >= FC_TLS_VAR_CLIENT_CERT_FIRST, or
 * a client DN); "" without a certificate.
 */
int fc_tls_cert_var_value(SSL *ssl, fc_pool_t *pool, struct fc_var_value_s *v, uintptr_t which);
/* Defines every $ssl_* variable in a layer's registry with the layer's getter. */
struct fc_var_registry_s;
int fc_tls_vars_define(struct fc_var_registry_s *reg,
                       int (*get)(void *r, struct fc_var_value_s *v, uintptr_t which));

/* Process-wide OpenSSL set-up, once in main(). */
int fc_tls_init(fc_log_t *log);

#endif
