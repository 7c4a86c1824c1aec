/*
 * upstream.h: the balancer library shared by the stream and http layers.
 *
 * An upstream *group* is built at config time from `server` lines and one
 * balancing method directive, then compiled by fc_upstream_group_init() into
 * peer sets (primary and backup). At run time each upstream connection owns a
 * *pick*: it asks for a peer with fc_upstream_pick_next(), reports the outcome
 * with fc_upstream_pick_done(), and repeats while tries remain.
 *
 * Pure logic: no sockets, no timers, no global state. "now" is passed in by
 * the caller (monotonic milliseconds). Peers are plain structs owned by the
 * group's pool; each worker process works on its own copy after fork, so the
 * counters (fails, conns, weights) are per worker, as in nginx without a zone.
 *
 * Semantics follow nginx's ngx_http_upstream_module / ngx_stream_upstream_module.
 */
#ifndef FC_UPSTREAM_H
#define FC_UPSTREAM_H

#include "core/fc_core.h"
#include "core/inet.h"

#define FC_UPSTREAM_FAIL_TIMEOUT 10000 /* default fail_timeout, ms */
#define FC_UPSTREAM_HASH_TRIES 20      /* rehash attempts before round robin */
#define FC_UPSTREAM_KETAMA_POINTS 160  /* ring points per unit of weight */

typedef enum {
    FC_UPSTREAM_RR = 0, /* smooth weighted round robin (no directive) */
    FC_UPSTREAM_LEAST_CONN,
    FC_UPSTREAM_HASH,    /* hash KEY [consistent] */
    FC_UPSTREAM_IP_HASH, /* ip_hash */
    FC_UPSTREAM_RANDOM   /* random [two [least_conn]] */
} fc_upstream_method_e;

/* Outcome reported to fc_upstream_pick_done(). */
typedef enum {
    FC_UPSTREAM_PEER_OK = 0, /* the peer served the connection */
    FC_UPSTREAM_PEER_FAILED, /* connect error, timeout, invalid reply: counts as a failure */
    FC_UPSTREAM_PEER_NEXT    /* moving on without blaming the peer (e.g. http_404) */
} fc_upstream_state_e;

typedef struct fc_upstream_group_s fc_upstream_group_t;

/* One `server` line: an address (possibly several after resolving) and parameters. */
typedef struct {
    fc_str_t name;    /* the address as written ("backend:8080"); pool memory */
    fc_addr_t *addrs; /* every address the name resolved to */
    size_t naddrs;
    int weight;             /* default 1 */
    unsigned max_fails;     /* default 1; 0 disables accounting */
    unsigned max_conns;     /* default 0: unlimited */
    fc_msec_t fail_timeout; /* default 10s */
    unsigned backup : 1;
    unsigned down : 1;
} fc_upstream_server_t;

/* One address of one server, with its per-worker balancing state. */
typedef struct {
    fc_addr_t addr;         /* where to connect; addr.name is printable */
    const fc_str_t *server; /* the server name as written (consistent hash, logs) */
    int weight;
    int effective_weight;   /* lowered by failures, recovers by one per selection */
    int64_t current_weight; /* smooth round robin accumulator */
    unsigned max_fails;
    unsigned fails;
    unsigned max_conns;
    unsigned conns; /* connections currently picked and not done */
    fc_msec_t fail_timeout;
    fc_msec_t checked;  /* start of the current failure window */
    fc_msec_t accessed; /* time of the last failure */
    unsigned down : 1;
} fc_upstream_peer_t;

/* A compiled set of peers: the primary set or the backup set of a group. */
typedef struct {
    fc_upstream_peer_t *peer;
    size_t number;
    int64_t total_weight;
    int64_t *ranges;     /* random: cumulative weights, one per peer */
    unsigned single : 1; /* the only peer of the group (no backup): no failure accounting */
    unsigned backup : 1;
} fc_upstream_peers_t;

/* A point of the consistent hash ring. */
typedef struct {
    uint32_t hash;
    const fc_str_t *server;
} fc_upstream_point_t;

struct fc_upstream_group_s {
    fc_str_t name; /* "backend", or the address text of an implicit group */
    fc_str_t file; /* where the upstream block starts (for errors) */
    unsigned line;
    fc_pool_t *pool;    /* the cycle pool everything of the group lives in */
    fc_array_t servers; /* of fc_upstream_server_t, in config order */
    fc_upstream_method_e method;
    fc_str_t hash_key;       /* the `hash` KEY as written; the layer compiles and evaluates it */
    unsigned consistent : 1; /* hash ... consistent */
    unsigned two : 1;        /* random two [least_conn] */
    unsigned implicit : 1;   /* created from a bare proxy_pass ADDR */
    unsigned method_set : 1;
    unsigned initialized : 1;
    fc_upstream_peers_t primary;
    fc_upstream_peers_t backup;  /* number == 0 when there are no backup servers */
    fc_upstream_point_t *points; /* consistent hash ring, sorted */
    size_t npoints;
    uint64_t rng; /* random: per-worker PRNG state, see fc_upstream_group_seed() */
};

/*
 * Per-connection pick state. Fields are read-only for the caller except
 * `tries`, which the layer may lower (proxy_next_upstream_tries) and `log`.
 */
typedef struct {
    fc_upstream_group_t *group;
    fc_upstream_peers_t *peers; /* the set being tried: primary, then backup */
    fc_upstream_peer_t *peer;   /* the peer of the last FC_OK pick */
    fc_log_t *log;              /* optional: "upstream server temporarily disabled" */
    uint64_t *tried;            /* bitmap over peers->peer; tried_inline up to 64 peers */
    uint64_t tried_inline;
    size_t tried_words;
    unsigned tries;         /* picks left; starts at primary + backup peers */
    fc_str_t key;           /* hash key (not copied: must outlive the pick) */
    uint32_t hash;          /* hash/ip_hash accumulator or ring position */
    unsigned attempts;      /* rehash / random attempts so far */
    unsigned char addr[16]; /* ip_hash: client address bytes */
    unsigned addrlen;
    unsigned active : 1; /* a peer was picked and not yet done */
} fc_upstream_pick_t;

/* ---- configuration ------------------------------------------------------ */

/*
 * Creates an empty group named `name` defined at file:line (both copied into
 * pool). The group and all it builds live in `pool`. NULL on failure.
 */
fc_upstream_group_t *fc_upstream_group_create(fc_pool_t *pool, const fc_str_t *name,
                                              const fc_str_t *file, unsigned line);

/*
 * Parses the arguments of a `server` line (args[0] is the address, the rest
 * are parameters), resolves the address (blocking: config time only) and
 * appends the server. default_port is used when the address has none (80 for
 * http, 0 for stream, where a port is required). On FC_ERROR *err is a
 * one-line reason in pool memory, e.g. `invalid parameter "wieght=2"`.
 */
int fc_upstream_server_parse(fc_upstream_group_t *g, const fc_str_t *args, size_t nargs,
                             in_port_t default_port, const char **err);

/*
 * Appends a server for an already resolved url with default parameters
 * (weight=1 max_fails=1 fail_timeout=10s) and returns it for the caller to
 * adjust; NULL on allocation failure. The addresses are copied.
 */
fc_upstream_server_t *fc_upstream_server_add(fc_upstream_group_t *g, const fc_url_t *u);

/*
 * Sets the balancing method (least_conn, ip_hash; hash and random go through
 * their parsers below). Returns FC_OK, or FC_DECLINED when it replaced an
 * earlier method: the caller warns "load balancing method redefined".
 */
int fc_upstream_method_set(fc_upstream_group_t *g, fc_upstream_method_e method);

/*
 * `hash KEY [consistent]`: args are the directive's arguments (1 or 2). The
 * key text is stored in g->hash_key, opaque to the library. Returns FC_OK,
 * FC_DECLINED (method redefined, still applied) or FC_ERROR with *err.
 */
int fc_upstream_hash_parse(fc_upstream_group_t *g, const fc_str_t *args, size_t nargs,
                           const char **err);

/* `random [two [least_conn]]`: args are the directive's arguments (0 to 2). As above. */
int fc_upstream_random_parse(fc_upstream_group_t *g, const fc_str_t *args, size_t nargs,
                             const char **err);

/*
 * Validates a group at the end of its block: FC_ERROR with *err set to
 * "no servers are inside upstream", `balancing method does not support
 * "backup"` or `no servers in upstream "NAME"` (only backup servers).
 */
int fc_upstream_group_check(const fc_upstream_group_t *g, const char **err);

/*
 * Checks the group, then compiles its peer sets (and the hash ring or the
 * random ranges). Call once, after the whole config is read (the method
 * directive may follow the servers); a second call does nothing. FC_ERROR
 * with *err on failure.
 */
int fc_upstream_group_init(fc_upstream_group_t *g, const char **err);

/*
 * Builds and initialises the implicit group of `proxy_pass ADDR`: one peer
 * per resolved address with default parameters, round robin, named after the
 * url text. Lives in pool; NULL on failure.
 */
fc_upstream_group_t *fc_upstream_group_implicit(fc_pool_t *pool, const fc_url_t *u);

/*
 * Seeds the group's PRNG (random method). Each worker should seed with
 * something of its own (pid, time) in init_worker; tests seed a constant.
 */
void fc_upstream_group_seed(fc_upstream_group_t *g, uint64_t seed);

/* ---- run time ----------------------------------------------------------- */

/*
 * Starts a pick over an initialised group. key is the evaluated hash key for
 * `hash` (may be NULL otherwise; not copied). The tried bitmap comes from
 * pool when the group has more than 64 peers in a set. FC_OK or FC_ERROR.
 */
int fc_upstream_pick_init(fc_upstream_pick_t *pick, fc_upstream_group_t *g, fc_pool_t *pool,
                          const fc_str_t *key);

/*
 * ip_hash: records the client address (first three octets of IPv4, the whole
 * IPv6 address, the IPv4 part of a v4-mapped address; all unix clients hash
 * alike). Call after fc_upstream_pick_init().
 */
void fc_upstream_pick_client(fc_upstream_pick_t *pick, const struct sockaddr *sa);

/*
 * Chooses the next peer. FC_OK: pick->peer is set and counted as one
 * connection (max_conns) until fc_upstream_pick_done(). FC_BUSY: no tries
 * left or no live peer ("no live upstreams"). The previous pick must be done.
 */
int fc_upstream_pick_next(fc_upstream_pick_t *pick, fc_msec_t now);

/*
 * Reports how the current peer did and releases its connection slot. A
 * failure counts against the peer; returns FC_DECLINED when the peer has now
 * reached max_fails and is disabled for fail_timeout (logged at warn as
 * "upstream server temporarily disabled" if pick->log is set), else FC_OK.
 */
int fc_upstream_pick_done(fc_upstream_pick_t *pick, fc_msec_t now, fc_upstream_state_e state);

/* 1 if the peer may be chosen now: not down, not failed out, below max_conns. */
int fc_upstream_peer_usable(const fc_upstream_peer_t *peer, fc_msec_t now);

#endif
