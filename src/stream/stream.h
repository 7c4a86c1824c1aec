/*
 * stream.h: the L4 layer. A stream{} block holds upstream groups and
 * servers; each accepted TCP connection or UDP client becomes a session
 * that runs the phases POST_ACCEPT, PREACCESS, ACCESS, SSL, PREREAD,
 * CONTENT, then LOG when it ends. The content handler (proxy, return) is
 * chosen per server.
 */
#ifndef FC_STREAM_H
#define FC_STREAM_H

#include "core/fc_core.h"
#include "core/cycle.h"
#include "core/var.h"
#include "core/worker.h"
#include "upstream/upstream.h"

typedef struct fc_stream_session_s fc_stream_session_t;

enum {
    FC_STREAM_POST_ACCEPT_PHASE = 0,
    FC_STREAM_PREACCESS_PHASE,
    FC_STREAM_ACCESS_PHASE,
    FC_STREAM_SSL_PHASE,
    FC_STREAM_PREREAD_PHASE,
    FC_STREAM_CONTENT_PHASE,
    FC_STREAM_LOG_PHASE,
    FC_STREAM_NPHASES
};

/*
 * A phase handler returns FC_DECLINED (next handler), FC_OK (next phase),
 * FC_AGAIN (it will resume the session itself), or FC_DONE / an HTTP-like
 * status code (200, 403, 500, 502 ...) to finish the session with.
 */
typedef int (*fc_stream_phase_pt)(fc_stream_session_t *s);
typedef void (*fc_stream_content_pt)(fc_stream_session_t *s);

typedef struct {
    fc_array_t servers; /* fc_stream_core_srv_conf_t * */
    fc_array_t listens; /* fc_stream_listen_t */
    fc_array_t phases[FC_STREAM_NPHASES]; /* fc_stream_phase_pt */
    fc_var_registry_t vars;
    fc_array_t upstreams; /* fc_upstream_group_t * */
} fc_stream_core_main_conf_t;

typedef struct {
    fc_conf_ctx_t *ctx; /* this server's confs */
    const char *file;
    unsigned line;
    fc_stream_content_pt handler;
    fc_msec_t preread_timeout;
    size_t preread_buffer_size;
    int tcp_nodelay;
    fc_log_t *error_log; /* error_log at stream/server level; NULL: the main one */
    fc_msec_t proxy_protocol_timeout;
    unsigned listen:1; /* has at least one listen */
} fc_stream_core_srv_conf_t;

typedef struct {
    fc_url_t url;
    fc_addr_t addr;
    int type;
    int backlog;
    int rcvbuf;
    int sndbuf;
    unsigned reuseport:1;
    unsigned ssl:1;
    fc_stream_core_srv_conf_t *server;
    const char *file;
    unsigned line;
} fc_stream_listen_t;

/* What one upstream attempt did: the $upstream_* variables list one entry per attempt. */
typedef struct {
    fc_msec_t connect_time;    /* -1: never connected */
    fc_msec_t first_byte_time; /* -1: no byte came back */
    fc_msec_t session_time;
    uint64_t bytes_sent;
    uint64_t bytes_received;
    fc_str_t peer; /* this attempt's peer (the group's name when none was live) */
} fc_stream_upstream_state_t;

struct fc_stream_session_s {
    fc_connection_t *connection;
    void **main_conf;
    void **srv_conf;
    void **ctx;               /* per stream module: its session state */
    fc_var_value_t *variables;
    fc_captures_t captures; /* the last regex match (map), for $1..$9 */
    fc_array_t *named_captures; /* that regex's named groups (fc_var_t), or NULL */
    fc_msec_t start_msec;
    int status;
    size_t phase;   /* running phase */
    size_t handler; /* next handler within the phase */
    /* Filled in by the content handler, read by variables and the log. */
    fc_str_t upstream_addr;          /* "a, b" after a retry */
    fc_array_t *upstream_states;     /* fc_stream_upstream_state_t, one per attempt */
    fc_stream_upstream_state_t *upstream_state; /* the current attempt */
    void (*cleanup)(fc_stream_session_t *s); /* content handler's teardown */
    unsigned finalized:1;
};

#define fc_stream_get_module_main_conf(s, module) ((s)->main_conf[(module).ctx_index])
#define fc_stream_get_module_srv_conf(s, module) ((s)->srv_conf[(module).ctx_index])
#define fc_stream_get_module_ctx(s, module) ((s)->ctx[(module).ctx_index])
#define fc_stream_set_module_ctx(s, c, module) ((s)->ctx[(module).ctx_index] = (c))

/* Conf access while parsing (cf->ctx is the stream layer's fc_conf_ctx_t). */
#define fc_stream_conf_get_main(cf, module)                                                        \
    (((fc_conf_ctx_t *) (cf)->ctx)->main_conf[(module).ctx_index])
#define fc_stream_conf_get_srv(cf, module)                                                         \
    (((fc_conf_ctx_t *) (cf)->ctx)->srv_conf[(module).ctx_index])

extern fc_module_t fc_stream_module;
extern fc_module_t fc_stream_core_module;

/* The connection handler for stream listening sockets. */
void fc_stream_init_connection(fc_connection_t *c);
/* Runs phases from where the session stands (a handler returning FC_AGAIN resumes here). */
void fc_stream_core_run_phases(fc_stream_session_t *s);
/* Ends a session: runs LOG handlers, the content cleanup, closes the client connection. */
void fc_stream_finalize_session(fc_stream_session_t *s, int status);

/* Appends a phase handler (from a module's postconfiguration). */
int fc_stream_add_phase_handler(fc_conf_t *cf, size_t phase, fc_stream_phase_pt h);

/* Defines the builtin stream variables in the registry. */
int fc_stream_variables_add(fc_var_registry_t *reg);
/* The main conf of the stream core (from a session or a conf). */
fc_stream_core_main_conf_t *fc_stream_core_main(fc_stream_session_t *s);
/* Evaluates a complex value for a session. */
int fc_stream_cv_eval(fc_stream_session_t *s, const fc_cv_t *cv, fc_str_t *out);

/* The stream{} block's contexts of a cycle, NULL if it has none. */
fc_conf_ctx_t *fc_stream_cycle_ctx(fc_cycle_t *cycle);

/* An upstream group of the stream{} block and what the layer compiled for it. */
typedef struct {
    fc_upstream_group_t *group;
    fc_cv_t hash_key; /* compiled `hash` key */
    const char *ref_file; /* first use, for "host not found in upstream" */
    unsigned ref_line;
    unsigned defined:1;
} fc_stream_upstream_t;

/*
 * The upstream named `name`: defined by an upstream{} block (define=1, a
 * second definition is an error: NULL) or referenced by proxy_pass
 * (define=0; it must be defined somewhere in the block by its end).
 */
fc_stream_upstream_t *fc_stream_upstream_add(fc_conf_t *cf, const fc_str_t *name, int define);
/* The upstream named `name` (at run time, for proxy_pass $var); NULL if none. */
fc_stream_upstream_t *fc_stream_upstream_find(fc_stream_session_t *s, const fc_str_t *name);
extern fc_module_t fc_stream_upstream_module;

#endif
