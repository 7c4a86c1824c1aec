/*
 * tls_session.h: TLS session resumption, shared by the http and stream
 * layers: the session cache (ssl_session_cache, ssl_session_timeout) and
 * session tickets (ssl_session_tickets, ssl_session_ticket_key), with
 * nginx's syntax, defaults and semantics.
 *
 * A `shared:NAME:SIZE` cache lives in a shared-memory zone (core/shm.h):
 * every worker stores and finds sessions there, and a reload that keeps the
 * zone keeps the sessions. Tickets need nothing shared: the SSL_CTX (with
 * OpenSSL's random ticket keys, or the keys of ssl_session_ticket_key) is
 * built in the master before workers fork. See docs/internals/shm.md.
 */
#ifndef FC_TLS_SESSION_H
#define FC_TLS_SESSION_H

#include <openssl/ssl.h>

#include "core/fc_core.h"
#include "core/conf.h"
#include "core/shm.h"

/* fc_tls_session_cache_conf_t.builtin: a size (builtin:N) or one of these. */
#define FC_TLS_SCACHE_OFF (-2)        /* "off": no resumption through a cache */
#define FC_TLS_SCACHE_NONE (-3)       /* "none" (default): sessions "reusable", none stored */
#define FC_TLS_SCACHE_NO_BUILTIN (-4) /* only shared: was given */
#define FC_TLS_SCACHE_BUILTIN (-5)    /* "builtin": OpenSSL's cache, its default size */

/* The smallest shared cache: 8 pages, as nginx ("session cache ... is too small"). */
#define FC_TLS_SESSION_CACHE_MIN (8 * FC_SHM_PAGE_SIZE)
/* Sessions whose DER form is larger (client certificates) are not shared, as nginx. */
#define FC_TLS_SESSION_MAX_SIZE 4096

/* ssl_session_cache as parsed; fc_tls_session_cache_conf_init() makes it unset. */
typedef struct {
    int builtin;             /* FC_UNSET, a FC_TLS_SCACHE_* value or a builtin size */
    fc_shm_zone_t *shm_zone; /* shared:NAME:SIZE, or NULL */
} fc_tls_session_cache_conf_t;

/* One ssl_session_ticket_key file: 48 bytes (AES-128) or 80 bytes (AES-256). */
typedef struct {
    size_t size;
    unsigned char name[16];
    unsigned char aes_key[32];
    unsigned char hmac_key[32];
} fc_tls_ticket_key_t;

/* Marks conf unset (create_srv_conf). */
void fc_tls_session_cache_conf_init(fc_tls_session_cache_conf_t *conf);
/* nginx's merge: builtin from the outer level else "none"; the zone from the outer level. */
void fc_tls_session_cache_conf_merge(fc_tls_session_cache_conf_t *conf,
                                     const fc_tls_session_cache_conf_t *prev);

/*
 * Parses `ssl_session_cache off | none | [builtin[:size]] [shared:name:size]`:
 * args are the directive's arguments without its name (nargs >= 1). A shared
 * cache declares its zone (fc_shm_zone_add with `tag`, the calling module:
 * one zone cannot serve http and stream) of at least 8 pages. Errors are
 * logged at cf's position with nginx's wording ("invalid session cache",
 * "session cache ... is too small"); returns FC_CONF_OK or FC_CONF_ERROR.
 */
char *fc_tls_session_cache_parse(fc_conf_t *cf, const fc_str_t *args, size_t nargs,
                                 fc_tls_session_cache_conf_t *out, void *tag);

/*
 * Applies a merged cache conf and ssl_session_timeout (ms; nginx's default
 * is 5m) to a server context: the session lifetime (tickets too), a session
 * id context derived from the context's certificates and client CA names
 * (so every worker and every reload with the same certificates agree, and a
 * session never resumes under other ones), the cache mode, and for a shared
 * cache the callbacks that keep sessions in the zone. Call it after the
 * certificates and trusted CAs are loaded. FC_OK, or FC_ERROR logged at cf.
 */
int fc_tls_session_cache_set(fc_conf_t *cf, SSL_CTX *ctx, const fc_tls_session_cache_conf_t *conf,
                             fc_msec_t timeout);

/*
 * Directive setter for `ssl_session_ticket_key FILE` (several allowed): the
 * file (relative to the config's folder) is read and checked at once, so a
 * missing or wrongly sized one is reported at its own line ("\"F\" must be
 * 48 or 80 bytes"). The conf field at cmd->offset is an `fc_array_t *` of
 * fc_tls_ticket_key_t, FC_UNSET_PTR or NULL until the first key; merge it
 * with fc_conf_merge_ptr(conf, prev, NULL). Keys are wiped with the pool.
 */
char *fc_tls_session_ticket_key_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

/*
 * Applies ssl_session_tickets (enable) and the keys read by the setter
 * (NULL or empty: OpenSSL's own random keys, shared by all workers since the
 * context is built before fork, but new at every reload). With keys, the
 * first encrypts new tickets, every one decrypts (a ticket under an older
 * key is accepted and renewed). FC_OK or FC_ERROR logged at cf.
 */
int fc_tls_session_tickets_set(fc_conf_t *cf, SSL_CTX *ctx, int enable, const fc_array_t *keys);

#endif
