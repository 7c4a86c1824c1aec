/*
 * upstream.h (http): what the http layer adds to the shared balancer
 * library (src/upstream/): upstream{} groups of the http{} block with their
 * per-worker keep-alive pools, the generic upstream engine, and the Upgrade
 * tunnel.
 *
 *   upstream_conf.c   upstream{} in http, server/keepalive directives, the
 *                     per-worker keep-alive connection cache
 *   upstream.c (+)    the engine: pick a peer, connect, send the request,
 *                     read and parse the response head through the
 *                     protocol callbacks, stream the body, retry, pool
 *   tunnel.c          after 101: relay both directions until one side ends
 */
#ifndef FC_HTTP_UPSTREAM_H
#define FC_HTTP_UPSTREAM_H

#include "upstream/bind.h"
#include "http/http.h"

/* ---- upstream groups of http{} ------------------------------------------------ */

typedef struct fc_http_keepalive_cache_s fc_http_keepalive_cache_t;

typedef struct {
    fc_upstream_group_t *group;
    fc_cv_t hash_key;          /* compiled `hash` key */
    const char *ref_file;      /* first use, for "host not found in upstream" */
    unsigned ref_line;
    unsigned defined : 1;
    /* `keepalive N` and friends (nginx's ngx_http_upstream_keepalive_module). */
    size_t keepalive;              /* idle connections cached per worker; 0: no pool */
    fc_msec_t keepalive_timeout;   /* 60s */
    int64_t keepalive_requests;    /* 1000 */
    fc_msec_t keepalive_time;      /* 1h */
    fc_http_keepalive_cache_t *cache; /* per worker, created lazily at run time */
} fc_http_upstream_srv_t;

/*
 * The upstream named `name` of the http{} block: defined by an upstream{}
 * block (define=1; a second definition is an error: NULL) or referenced by
 * proxy_pass (define=0; it must be defined by the end of the block). With
 * define=0 and a name that has a port or is an address, the caller should
 * use fc_http_upstream_implicit() instead.
 */
fc_http_upstream_srv_t *fc_http_upstream_add(fc_conf_t *cf, const fc_str_t *name, int define);
/* An implicit group for `proxy_pass http://ADDR` (resolved at config time). NULL on error. */
fc_http_upstream_srv_t *fc_http_upstream_implicit(fc_conf_t *cf, const fc_url_t *u);
/* The upstream named `name` at run time (proxy_pass with variables); NULL if none. */
fc_http_upstream_srv_t *fc_http_upstream_find(fc_http_request_t *r, const fc_str_t *name);
/* upstream{} and keepalive directives; its request ctx slot holds the tunnel's state. */
extern fc_module_t fc_http_upstream_module;

/*
 * Keep-alive pool. get: an idle cached connection to `peer` of `us` (removed
 * from the cache, its handlers reset to nothing; the caller installs its own),
 * or NULL. put: offers a connection whose response was completely read and
 * that may be reused; the cache takes ownership (closes it if full - the
 * least recently used one goes - or when the upstream closes it, or after
 * keepalive_timeout). requests: how many requests it served (keepalive_requests).
 */
fc_connection_t *fc_http_keepalive_get(fc_http_upstream_srv_t *us, fc_worker_t *w,
                                       const fc_addr_t *peer, unsigned long *requests);
void fc_http_keepalive_put(fc_http_upstream_srv_t *us, fc_worker_t *w, const fc_addr_t *peer,
                           fc_connection_t *c, unsigned long requests, fc_msec_t created);

/* ---- tunnel ---------------------------------------------------------------------- */

/*
 * After a 101 response was sent to the client: relays bytes both ways
 * between the client connection and `peer` (src/stream/relay.c) until both
 * directions ended or `timeout` (proxy_read_timeout) passed without traffic.
 * client_pre: bytes the client sent after its request (already read);
 * upstream_pre: bytes the upstream sent after its 101 head. The tunnel owns
 * `peer` and finalizes r when it ends.
 */
void fc_http_tunnel_start(fc_http_request_t *r, fc_connection_t *peer, fc_str_t client_pre,
                          fc_str_t upstream_pre, fc_msec_t timeout, size_t buffer_size);

/* ---- the engine --------------------------------------------------------------- */

/* proxy_next_upstream conditions. */
#define FC_HTTP_UPSTREAM_FT_ERROR 0x0002
#define FC_HTTP_UPSTREAM_FT_TIMEOUT 0x0004
#define FC_HTTP_UPSTREAM_FT_INVALID_HEADER 0x0008
#define FC_HTTP_UPSTREAM_FT_HTTP_500 0x0010
#define FC_HTTP_UPSTREAM_FT_HTTP_502 0x0020
#define FC_HTTP_UPSTREAM_FT_HTTP_503 0x0040
#define FC_HTTP_UPSTREAM_FT_HTTP_504 0x0080
#define FC_HTTP_UPSTREAM_FT_HTTP_403 0x0100
#define FC_HTTP_UPSTREAM_FT_HTTP_404 0x0200
#define FC_HTTP_UPSTREAM_FT_HTTP_429 0x0400
#define FC_HTTP_UPSTREAM_FT_NON_IDEMPOTENT 0x1000
#define FC_HTTP_UPSTREAM_FT_OFF 0x80000000

/* process_header's verdict on an invalid head (costs a try: invalid_header). */
#define FC_HTTP_UPSTREAM_INVALID_HEADER 40

typedef struct fc_http_upstream_s fc_http_upstream_t;

/* One attempt, for $upstream_addr, $upstream_status, $upstream_*_time ("a, b"). */
typedef struct {
    fc_str_t peer;             /* address text, or the group name when none was live */
    unsigned status;           /* 0: no response yet; a failed try gets 502 or 504, as nginx */
    fc_msec_t connect_time;    /* -1: did not connect */
    fc_msec_t header_time;     /* -1: no header */
    fc_msec_t response_time;
    uint64_t bytes_sent;
    uint64_t bytes_received;
    uint64_t head_length; /* of bytes_received, the response head's ($upstream_response_length) */
    unsigned boundary : 1;     /* first try of a later upstream (internal redirect): " : " */
} fc_http_upstream_state_t;

/* A response header name the engine drops (proxy_hide_header and the defaults). */
typedef struct {
    fc_str_t name; /* lowercase */
    uint32_t hash; /* fc_http_header_hash() */
} fc_http_upstream_hide_t;

/*
 * The engine's settings: a protocol module (proxy) embeds this in its
 * location conf, fills it from its directives (proxy_*) and hands it to
 * fc_http_upstream_create(). Times in ms; sizes in bytes.
 */
/* proxy_ignore_headers: upstream fields whose meaning is not acted on. */
#define FC_HTTP_UPSTREAM_IGN_X_ACCEL_EXPIRES 0x01u
#define FC_HTTP_UPSTREAM_IGN_EXPIRES 0x02u
#define FC_HTTP_UPSTREAM_IGN_CACHE_CONTROL 0x04u
#define FC_HTTP_UPSTREAM_IGN_SET_COOKIE 0x08u
#define FC_HTTP_UPSTREAM_IGN_VARY 0x10u
#define FC_HTTP_UPSTREAM_IGN_X_ACCEL_REDIRECT 0x20u
#define FC_HTTP_UPSTREAM_IGN_X_ACCEL_BUFFERING 0x40u
#define FC_HTTP_UPSTREAM_IGN_OTHER 0x80u /* X-Accel-Limit-Rate, -Charset: nothing acts on them */

typedef struct {
    fc_msec_t connect_timeout;      /* 60s */
    fc_msec_t send_timeout;         /* 60s */
    fc_msec_t read_timeout;         /* 60s: between two reads, and for the tunnel */
    fc_msec_t next_upstream_timeout; /* 0: unlimited */
    size_t buffer_size;             /* the response head, and the body with buffering off */
    size_t bufs_num;                /* proxy_buffers: read-ahead while the client is slow */
    size_t bufs_size;
    size_t busy_buffers_size;       /* at most this much is handed to the client at once */
    size_t busy_buffers_size_conf;  /* as written; unset: 2 x max(buffer_size, bufs_size) */
    unsigned ignore_headers;        /* proxy_ignore_headers: FC_HTTP_UPSTREAM_IGN_*; 0: inherit */
    fc_upstream_bind_conf_t bind;   /* proxy_bind */
    unsigned next_upstream;         /* FC_HTTP_UPSTREAM_FT_* */
    int64_t next_upstream_tries;    /* 0: unlimited */
    int buffering;
    int request_buffering;
    int ignore_client_abort;
    int intercept_errors;
    int socket_keepalive;
    fc_array_t *hide_headers;       /* fc_http_upstream_hide_t; NULL: none */
    const struct fc_tls_client_conf_s *ssl; /* TLS settings for u->ssl trips (tls_client.h) */
} fc_http_upstream_conf_t;

/* The upstream's response head, as process_header parsed it. */
typedef struct {
    unsigned status_n;          /* 100..599 */
    fc_str_t status_line;       /* "404 Not Found": code and reason as received */
    unsigned http_version;      /* 1000, 1001 */
    fc_array_t headers;         /* fc_http_field_t, values in the head buffer */
    int64_t content_length_n;   /* -1: none */
    unsigned framing;           /* FC_HTTP_BODY_*: NONE is "until close" */
    unsigned x_accel_redirect;  /* 1 + the index of that field in headers; 0: none */
    unsigned x_accel_buffering; /* the same for X-Accel-Buffering */
    unsigned connection_close : 1; /* the upstream will close (or is HTTP/1.0 without keep-alive) */
} fc_http_upstream_headers_in_t;

/*
 * Protocol callbacks (the proxy module's). Each returns FC_OK or FC_ERROR
 * unless said otherwise.
 *   create_request   fill u->request_bufs (head, then the body links)
 *   reinit_request   reset the protocol's parser state before another try
 *   process_header   parse u->buffer[start, last): FC_AGAIN (need more),
 *                    FC_OK (u->headers_in is set, u->buffer->pos is the first
 *                    body byte), FC_HTTP_UPSTREAM_INVALID_HEADER, FC_ERROR
 *   input_filter_init  set up body decoding from u->headers_in (u->length)
 *   input_filter     decode the new raw bytes b[raw, last) in place so that
 *                    b[pos, last) is body data (b[pos, raw) already was):
 *                    FC_OK (more to come), FC_DONE (the body ended; u->extra
 *                    counts bytes past it), FC_ERROR (invalid framing, logged)
 *   body_output      no request buffering: frame new client body links `in`
 *                    (last: the body ended) into *out, to be sent as is
 *   rewrite_redirect proxy_redirect on a Location (prefix 0) or Refresh
 *                    (prefix: offset of the URL) field; FC_DECLINED: no rule
 *   rewrite_cookie   proxy_cookie_domain / _path on a Set-Cookie field (may be NULL)
 */
typedef struct {
    int (*create_request)(fc_http_upstream_t *u);
    int (*reinit_request)(fc_http_upstream_t *u);
    int (*process_header)(fc_http_upstream_t *u);
    int (*input_filter_init)(fc_http_upstream_t *u);
    int (*input_filter)(fc_http_upstream_t *u, fc_buf_t *b, unsigned char *raw);
    int (*body_output)(fc_http_upstream_t *u, fc_chain_t *in, int last, fc_chain_t **out);
    int (*rewrite_redirect)(fc_http_upstream_t *u, fc_http_field_t *h, size_t prefix);
    int (*rewrite_cookie)(fc_http_upstream_t *u, fc_http_field_t *h);
} fc_http_upstream_ops_t;

typedef struct fc_http_upstream_body_s fc_http_upstream_body_t; /* engine-private */

/*
 * One request's trip upstream (r->upstream). Created by the protocol's
 * content handler, lives in the request pool. Fields above "engine" are the
 * protocol module's to set before fc_http_upstream_start(); the rest are read
 * only outside the engine.
 */
struct fc_http_upstream_s {
    fc_http_request_t *r;
    const fc_http_upstream_conf_t *conf;
    const fc_http_upstream_ops_t *ops;
    void *data;                     /* the protocol's request state */
    fc_http_upstream_srv_t *upstream; /* the group's record, NULL for a run-time address */
    fc_upstream_group_t *group;     /* the group to pick from (required) */
    fc_str_t schema;                /* "http://", for the log context */
    fc_str_t uri;                   /* the URI sent, for the log context */
    fc_str_t hash_key;              /* evaluated `hash` key (the engine fills it if empty) */
    fc_str_t ssl_name;              /* u->ssl: the name for SNI and verification */
    fc_chain_t *request_bufs;       /* what create_request built */
    unsigned upgrade_allowed : 1;   /* the request asked for Upgrade: 101 starts a tunnel */
    unsigned no_body_expected : 1;  /* HEAD: whatever the head says, no body follows */
    unsigned discard_request_body : 1; /* the client body is not sent: read and drop it */
    unsigned ssl : 1;               /* TLS to the upstream (https://): conf->ssl applies */
    /* Set by the response cache before create_request (nginx's cache request headers): */
    unsigned cache_request : 1;     /* the response may be cached: the client's Range and
                                       conditional fields are not passed */
    unsigned cache_head_as_get : 1; /* proxy_cache_convert_head: a HEAD goes as GET */
    fc_str_t cache_if_modified_since; /* revalidation: sent as If-Modified-Since (or empty) */
    fc_str_t cache_if_none_match;     /* revalidation: sent as If-None-Match (or empty) */
    void *cache;                    /* the cache's request state; NULL: no cache involved */
    unsigned cache_store : 1;       /* the cache is storing this response: read the whole body */
    unsigned background : 1;        /* the trip only feeds the cache: the client got its answer
                                       (a stale entry: proxy_cache_background_update), or left */
    unsigned client_gone : 1;       /* the client closed: its connection ends with the trip */

    /* ---- engine ---- */
    fc_upstream_pick_t pick;
    fc_connection_t *peer;          /* the upstream connection of the current try */
    fc_buf_t *buffer;               /* the response head (proxy_buffer_size) */
    fc_http_upstream_headers_in_t headers_in;
    int64_t length;                 /* body bytes still expected; -1 unknown */
    size_t extra;                   /* bytes the upstream sent past the body */
    fc_array_t *states;             /* fc_http_upstream_state_t, one per try */
    fc_http_upstream_state_t *state;
    fc_http_upstream_body_t *body;  /* response body relay state */
    fc_chain_t *send_cl;            /* the request: next link to send ... */
    size_t send_off;                /* ... and bytes of it already sent */
    fc_chain_t *nb_tail;            /* no request buffering: last link queued */
    fc_msec_t start_msec;           /* first try, for proxy_next_upstream_timeout */
    fc_msec_t try_msec;             /* this try */
    unsigned long peer_requests;    /* requests the connection served before (keep-alive) */
    unsigned tries_started;         /* tries begun on any peer */
    int sync_rc;                    /* status to return from the content handler */
    unsigned state_machine;         /* FC_UP_* (upstream_engine.h) */
    unsigned cached : 1;            /* the connection came from the keep-alive pool */
    unsigned skip_cache : 1;        /* the next connect bypasses the pool (a stale one failed) */
    unsigned new_group : 1;         /* the next state opens a new group in $upstream_* */
    unsigned request_sent : 1;      /* sending started on this try */
    unsigned request_body_sent : 1; /* the whole request reached the socket */
    unsigned response_received : 1; /* a byte of the response arrived on this try */
    unsigned body_done : 1;         /* the upstream's body was read completely */
    unsigned keepalive : 1;         /* the connection may be pooled after the response */
    unsigned in_handler : 1;        /* inside the content handler: finalize by returning */
    unsigned nb_started : 1;        /* no buffering: body bytes went out (no retry) */
    unsigned nb_done : 1;           /* the client body is complete and its end framed */
    unsigned buffering : 1;         /* proxy_buffering, or this response's X-Accel-Buffering */
    unsigned mid_unit : 1;          /* the input filter stopped inside a chunk's data */
    unsigned finished : 1;
};

/*
 * The response cache's hooks into the engine (one set per http{} block,
 * registered by the cache module; the engine calls them only for a request
 * whose u->cache the start hook set).
 *   start    before the request is built: FC_DECLINED goes upstream,
 *            FC_DONE means the cache answered (it finalized u) or will
 *            resume with fc_http_upstream_proceed() (a lock wait)
 *   header   the head arrived, nothing sent yet: FC_DECLINED goes on,
 *            FC_DONE means the cache answered instead (a 304 that
 *            revalidated its entry); called before proxy_next_upstream
 *   store    headers_out is filled, before the header filters: the cache
 *            decides whether to store and begins its entry
 *   body     decoded body bytes in order (a memory buffer's [pos, last))
 *   finish   the trip ends; complete: every body byte went through body
 *   error    the trip failed for `ft` with nothing sent to the client:
 *            1 if the cache answered with a stale entry (use_stale)
 */
typedef struct {
    int (*start)(fc_http_upstream_t *u);
    int (*header)(fc_http_upstream_t *u);
    int (*store)(fc_http_upstream_t *u);
    int (*body)(fc_http_upstream_t *u, const fc_buf_t *b);
    void (*finish)(fc_http_upstream_t *u, int complete);
    int (*error)(fc_http_upstream_t *u, unsigned ft);
} fc_http_upstream_cache_ops_t;

/* Registers the cache's hooks for the http{} block being parsed (postconfiguration). */
void fc_http_upstream_cache_register(fc_conf_t *cf, const fc_http_upstream_cache_ops_t *ops);
/* After the cache's start hook returned FC_DONE and decided to go upstream: the trip goes on. */
void fc_http_upstream_proceed(fc_http_upstream_t *u);
/* Ends the trip: releases the peer and finalizes r with rc (or returns it from the handler). */
void fc_http_upstream_finalize(fc_http_upstream_t *u, int rc);
/* Ends the trip (connection closed, cache entry let go) and leaves the request to the caller. */
void fc_http_upstream_detach(fc_http_upstream_t *u);
/* Gives the connection back to the keep-alive pool (keep) or closes it; the pick is done. */
void fc_http_upstream_release_peer(fc_http_upstream_t *u, int keep);

/*
 * Creates r's upstream (r->upstream) with the protocol's settings and
 * callbacks; the caller then sets group/upstream/schema. NULL on error.
 */
fc_http_upstream_t *fc_http_upstream_create(fc_http_request_t *r,
                                            const fc_http_upstream_conf_t *conf,
                                            const fc_http_upstream_ops_t *ops, void *data);
/*
 * Starts the trip: reads (or streams, proxy_request_buffering off) the client
 * body, picks a peer, connects, sends, relays the response. Returns what the
 * content handler returns: FC_DONE (the engine finalizes r later) or a status.
 */
int fc_http_upstream_start(fc_http_upstream_t *u);
/*
 * The failure conditions proxy_next_upstream and proxy_cache_use_stale share
 * (each table adds its own words: non_idempotent, updating, off).
 */
#define FC_HTTP_UPSTREAM_FT_CONDITIONS                                                             \
    {"error", FC_HTTP_UPSTREAM_FT_ERROR}, {"timeout", FC_HTTP_UPSTREAM_FT_TIMEOUT},                \
        {"invalid_header", FC_HTTP_UPSTREAM_FT_INVALID_HEADER},                                    \
        {"http_500", FC_HTTP_UPSTREAM_FT_HTTP_500}, {"http_502", FC_HTTP_UPSTREAM_FT_HTTP_502},    \
        {"http_503", FC_HTTP_UPSTREAM_FT_HTTP_503}, {"http_504", FC_HTTP_UPSTREAM_FT_HTTP_504},    \
        {"http_403", FC_HTTP_UPSTREAM_FT_HTTP_403}, {"http_404", FC_HTTP_UPSTREAM_FT_HTTP_404},    \
        {"http_429", FC_HTTP_UPSTREAM_FT_HTTP_429}

/* proxy_next_upstream values ("error", "timeout", ... "off"): a table for the bitmask setter. */
extern const fc_conf_enum_t fc_http_upstream_next_masks[];
/* Defines $upstream_addr, $upstream_status, ... (http_upstream's preconfiguration). */
int fc_http_upstream_variables_add(fc_var_registry_t *reg);

#endif
