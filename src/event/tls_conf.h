/*
 * tls_conf.h: the ssl_* directives of a TLS server (http{} and stream{}
 * share them: same names, arguments, defaults and merge), and what they
 * build: one SSL_CTX per server{} that has a certificate.
 */
#ifndef FC_TLS_CONF_H
#define FC_TLS_CONF_H

#include "event/tls.h"
#include "event/tls_session.h"

/* ssl_verify_client */
enum { FC_TLS_VERIFY_OFF = 0, FC_TLS_VERIFY_ON, FC_TLS_VERIFY_OPTIONAL, FC_TLS_VERIFY_OPTIONAL_NO_CA };

typedef struct fc_tls_srv_conf_s {
    SSL_CTX *ctx;               /* built by fc_tls_srv_conf_merge; NULL: no certificate */
    fc_array_t *certificates;   /* fc_str_t */
    fc_array_t *certificate_keys;
    fc_str_t password_file;
    fc_array_t *passwords;      /* read from password_file */
    unsigned protocols;         /* FC_TLS_* bits; 0 unset */
    fc_str_t ciphers;
    int prefer_server_ciphers;
    fc_str_t ecdh_curve;
    fc_str_t dhparam;
    fc_tls_session_cache_conf_t session_cache;
    fc_msec_t session_timeout;
    int session_tickets;
    fc_array_t *session_ticket_keys; /* fc_tls_ticket_key_t, read by the setter */
    fc_msec_t handshake_timeout;
    fc_str_t client_certificate;
    fc_str_t trusted_certificate;
    fc_str_t crl;               /* ssl_crl */
    int verify;                 /* FC_TLS_VERIFY_* */
    int64_t verify_depth;
    int reject_handshake;       /* ssl_reject_handshake */
    size_t buffer_size;         /* ssl_buffer_size: the largest record sent (16k) */
    fc_array_t *conf_commands;  /* ssl_conf_command: fc_str_t name, value pairs */
    /* Where ssl_certificate was set: errors found while merging are reported there. */
    const char *cert_file;
    unsigned cert_line;
} fc_tls_srv_conf_t;

/* The server has a context (a certificate, or ssl_reject_handshake). */
static inline int
fc_tls_srv_has_ctx(const fc_tls_srv_conf_t *conf)
{
    return conf->ctx != NULL;
}

/*
 * ssl_verify_client after a handshake: FC_TLS_CERT_OK, FC_TLS_NO_CERT when
 * `on` and the client sent none, FC_TLS_CERT_ERROR when
 * verification failed (an unknown CA passes with optional_no_ca). Logged at
 * info, as nginx.
 */
enum { FC_TLS_CERT_OK = 0, FC_TLS_NO_CERT, FC_TLS_CERT_ERROR };
int fc_tls_srv_verify_client(fc_connection_t *c, const fc_tls_srv_conf_t *conf);

/* Sets every field to "unset" (create_srv_conf). */
void fc_tls_srv_conf_init(fc_tls_srv_conf_t *conf);
/*
 * Merges conf with the enclosing level's prev (merge_srv_conf) and, when the
 * server has a certificate, builds its SSL_CTX. alpn: the ALPN protocols the
 * layer speaks in wire format, most preferred first ("\x08http/1.1..."),
 * NULL for none. FC_CONF_OK or FC_CONF_ERROR (logged).
 */
char *fc_tls_srv_conf_merge(fc_conf_t *cf, fc_tls_srv_conf_t *conf, const fc_tls_srv_conf_t *prev,
                            const char *alpn);

/* Directive handlers whose conf is a fc_tls_srv_conf_t at the command's offset. */
/* ssl_certificate: appended, and where it was written remembered. */
char *fc_tls_conf_set_certificate(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
char *fc_tls_conf_set_certificate_key(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
char *fc_tls_conf_set_protocols(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
char *fc_tls_conf_set_session_cache(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
/* ssl_verify_client's values (enum slot table). */
extern const fc_conf_enum_t fc_tls_verify_values[];
char *fc_tls_conf_unsupported(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
/* ssl_stapling: as nginx when it cannot staple, a warning and no staple. */
char *fc_tls_conf_stapling(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
/* ssl_conf_command NAME VALUE: handed to OpenSSL's SSL_CONF_cmd when the context is built. */
char *fc_tls_conf_command(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

/*
 * The command rows of the ssl_* server directives for contexts CTX, with
 * the fc_tls_srv_conf_t at offset BASE of the module's srv conf; TAG (the
 * module) owns the shared session cache zones it declares.
 */
/* clang-format off */
#define FC_TLS_SRV_COMMANDS(CTX, BASE, TAG)                                                   \
    {"ssl_certificate", (CTX) | FC_CONF_TAKE1, fc_tls_conf_set_certificate,                   \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, certificates), NULL},           \
    {"ssl_certificate_key", (CTX) | FC_CONF_TAKE1, fc_tls_conf_set_certificate_key,           \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, certificate_keys), NULL},       \
    {"ssl_password_file", (CTX) | FC_CONF_TAKE1, fc_conf_set_str_slot,                        \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, password_file), NULL},          \
    {"ssl_protocols", (CTX) | FC_CONF_1MORE, fc_tls_conf_set_protocols,                       \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, protocols), NULL},              \
    {"ssl_ciphers", (CTX) | FC_CONF_TAKE1, fc_conf_set_str_slot,                              \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, ciphers), NULL},                \
    {"ssl_prefer_server_ciphers", (CTX) | FC_CONF_FLAG, fc_conf_set_flag_slot,                \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, prefer_server_ciphers), NULL},  \
    {"ssl_ecdh_curve", (CTX) | FC_CONF_TAKE1, fc_conf_set_str_slot,                           \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, ecdh_curve), NULL},             \
    {"ssl_dhparam", (CTX) | FC_CONF_TAKE1, fc_conf_set_str_slot,                              \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, dhparam), NULL},                \
    {"ssl_session_cache", (CTX) | FC_CONF_TAKE12, fc_tls_conf_set_session_cache,              \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, session_cache), (TAG)},         \
    {"ssl_session_timeout", (CTX) | FC_CONF_TAKE1, fc_conf_set_sec_slot,                      \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, session_timeout), NULL},        \
    {"ssl_session_tickets", (CTX) | FC_CONF_FLAG, fc_conf_set_flag_slot,                      \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, session_tickets), NULL},        \
    {"ssl_session_ticket_key", (CTX) | FC_CONF_TAKE1, fc_tls_session_ticket_key_slot,         \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, session_ticket_keys), NULL},    \
    {"ssl_handshake_timeout", (CTX) | FC_CONF_TAKE1, fc_conf_set_msec_slot,                   \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, handshake_timeout), NULL},      \
    {"ssl_client_certificate", (CTX) | FC_CONF_TAKE1, fc_conf_set_str_slot,                   \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, client_certificate), NULL},     \
    {"ssl_trusted_certificate", (CTX) | FC_CONF_TAKE1, fc_conf_set_str_slot,                  \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, trusted_certificate), NULL},    \
    {"ssl_crl", (CTX) | FC_CONF_TAKE1, fc_conf_set_str_slot,                                  \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, crl), NULL},                    \
    {"ssl_verify_client", (CTX) | FC_CONF_TAKE1, fc_conf_set_enum_slot,                       \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, verify), fc_tls_verify_values}, \
    {"ssl_verify_depth", (CTX) | FC_CONF_TAKE1, fc_conf_set_num_slot,                         \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, verify_depth), NULL},           \
    {"ssl_reject_handshake", (CTX) | FC_CONF_FLAG, fc_conf_set_flag_slot,                     \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, reject_handshake), NULL},       \
    {"ssl_buffer_size", (CTX) | FC_CONF_TAKE1, fc_conf_set_size_slot,                         \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, buffer_size), NULL},            \
    {"ssl_conf_command", (CTX) | FC_CONF_TAKE2, fc_tls_conf_command,                          \
     FC_CONF_SRV_OFFSET, (BASE) + offsetof(fc_tls_srv_conf_t, conf_commands), NULL},          \
    {"ssl_stapling", (CTX) | FC_CONF_FLAG, fc_tls_conf_stapling,                              \
     FC_CONF_SRV_OFFSET, 0, NULL},                                                            \
    {"ssl_stapling_verify", (CTX) | FC_CONF_FLAG, fc_tls_conf_stapling,                       \
     FC_CONF_SRV_OFFSET, 0, NULL},                                                            \
    {"ssl_early_data", (CTX) | FC_CONF_FLAG, fc_tls_conf_unsupported,                         \
     FC_CONF_SRV_OFFSET, 0, NULL}
/* clang-format on */

#endif
