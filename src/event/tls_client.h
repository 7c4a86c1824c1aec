/*
 * tls_client.h: TLS to upstreams (proxy_ssl_* in http{} and stream{}). The
 * directives, their defaults and merge are shared by both layers; each
 * layer compiles proxy_ssl_name with its own variables and drives the
 * handshake from its connect path with fc_tls_client_handshake.
 */
#ifndef FC_TLS_CLIENT_H
#define FC_TLS_CLIENT_H

#include "event/tls.h"
#include "event/tls_conf.h"

typedef struct fc_tls_client_conf_s {
    SSL_CTX *ctx;                 /* built by fc_tls_client_conf_merge when TLS is used */
    unsigned protocols;           /* 0 unset */
    fc_str_t ciphers;
    int server_name;              /* proxy_ssl_server_name, off */
    int verify;                   /* proxy_ssl_verify, off */
    int64_t verify_depth;         /* 1 */
    fc_str_t trusted_certificate;
    fc_str_t crl; /* proxy_ssl_crl */
    fc_str_t certificate;
    fc_str_t certificate_key;
    fc_str_t password_file;
    int session_reuse;            /* on */
} fc_tls_client_conf_t;

/* Sets every field to "unset" (create conf). */
void fc_tls_client_conf_init(fc_tls_client_conf_t *conf);
/*
 * Merges with the outer level; when `enabled` (an https:// upstream, or
 * stream's proxy_ssl on) builds the context (a level that inherits every
 * setting shares its parent's). FC_CONF_OK or FC_CONF_ERROR (logged).
 */
char *fc_tls_client_conf_merge(fc_conf_t *cf, fc_tls_client_conf_t *conf,
                               const fc_tls_client_conf_t *prev, int enabled);

/*
 * One step of the handshake to a connected upstream: the first call
 * attaches TLS with the name to send as SNI (server_name on) and to verify
 * against (verify on) and a saved session of this peer and name to resume
 * (session_reuse). FC_AGAIN: wait for an event and call again (name and
 * peer must stay the same); FC_OK: handshaked and verified; FC_ERROR:
 * failed (logged: a TLS error, "upstream SSL certificate verify error",
 * "... does not match NAME"). Sessions are saved as OpenSSL delivers them
 * (TLS 1.3 tickets come later).
 */
int fc_tls_client_handshake(fc_connection_t *c, const fc_tls_client_conf_t *conf,
                            const fc_str_t *name, const fc_str_t *peer);

/*
 * proxy_ssl_name's value (by default proxy_pass's host) without a port,
 * as nginx cuts it off; "[v6]:port" becomes "v6".
 */
void fc_tls_client_name_trim(fc_str_t *name);

/* Command rows of the proxy_ssl_* directives: contexts CTX, conf CONFOFF, struct at BASE. */
#define FC_TLS_CLIENT_COMMANDS(CTX, CONFOFF, BASE)                                                 \
    {"proxy_ssl_protocols",                                                                        \
     (CTX) | FC_CONF_1MORE,                                                                        \
     fc_tls_conf_set_protocols,                                                                    \
     (CONFOFF),                                                                                    \
     (BASE) + offsetof(fc_tls_client_conf_t, protocols),                                           \
     NULL},                                                                                        \
        {"proxy_ssl_ciphers",                                                                      \
         (CTX) | FC_CONF_TAKE1,                                                                    \
         fc_conf_set_str_slot,                                                                     \
         (CONFOFF),                                                                                \
         (BASE) + offsetof(fc_tls_client_conf_t, ciphers),                                         \
         NULL},                                                                                    \
        {"proxy_ssl_server_name",                                                                  \
         (CTX) | FC_CONF_FLAG,                                                                     \
         fc_conf_set_flag_slot,                                                                    \
         (CONFOFF),                                                                                \
         (BASE) + offsetof(fc_tls_client_conf_t, server_name),                                     \
         NULL},                                                                                    \
        {"proxy_ssl_verify",                                                                       \
         (CTX) | FC_CONF_FLAG,                                                                     \
         fc_conf_set_flag_slot,                                                                    \
         (CONFOFF),                                                                                \
         (BASE) + offsetof(fc_tls_client_conf_t, verify),                                          \
         NULL},                                                                                    \
        {"proxy_ssl_verify_depth",                                                                 \
         (CTX) | FC_CONF_TAKE1,                                                                    \
         fc_conf_set_num_slot,                                                                     \
         (CONFOFF),                                                                                \
         (BASE) + offsetof(fc_tls_client_conf_t, verify_depth),                                    \
         NULL},                                                                                    \
        {"proxy_ssl_trusted_certificate",                                                          \
         (CTX) | FC_CONF_TAKE1,                                                                    \
         fc_conf_set_str_slot,                                                                     \
         (CONFOFF),                                                                                \
         (BASE) + offsetof(fc_tls_client_conf_t, trusted_certificate),                             \
         NULL},                                                                                    \
        {"proxy_ssl_crl",                                                                          \
         (CTX) | FC_CONF_TAKE1,                                                                    \
         fc_conf_set_str_slot,                                                                     \
         (CONFOFF),                                                                                \
         (BASE) + offsetof(fc_tls_client_conf_t, crl),                                             \
         NULL},                                                                                    \
        {"proxy_ssl_certificate",                                                                  \
         (CTX) | FC_CONF_TAKE1,                                                                    \
         fc_conf_set_str_slot,                                                                     \
         (CONFOFF),                                                                                \
         (BASE) + offsetof(fc_tls_client_conf_t, certificate),                                     \
         NULL},                                                                                    \
        {"proxy_ssl_certificate_key",                                                              \
         (CTX) | FC_CONF_TAKE1,                                                                    \
         fc_conf_set_str_slot,                                                                     \
         (CONFOFF),                                                                                \
         (BASE) + offsetof(fc_tls_client_conf_t, certificate_key),                                 \
         NULL},                                                                                    \
        {"proxy_ssl_password_file",                                                                \
         (CTX) | FC_CONF_TAKE1,                                                                    \
         fc_conf_set_str_slot,                                                                     \
         (CONFOFF),                                                                                \
         (BASE) + offsetof(fc_tls_client_conf_t, password_file),                                   \
         NULL},                                                                                    \
    {                                                                                              \
        "proxy_ssl_session_reuse", (CTX) | FC_CONF_FLAG, fc_conf_set_flag_slot, (CONFOFF),         \
            (BASE) + offsetof(fc_tls_client_conf_t, session_reuse), NULL                           \
    }

#endif
