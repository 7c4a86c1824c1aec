/*
 * http.h: the L7 layer. An http{} block holds upstream groups and virtual
 * servers; each accepted connection reads requests (keep-alive, pipelined)
 * and each request runs the phases below, then the output filter chains
 * serialize its response.
 *
 * docs/internals/http.md maps the files of src/http/ and why they are cut so.
 */
#ifndef FC_HTTP_H
#define FC_HTTP_H

#include "core/fc_core.h"
#include "core/cycle.h"
#include "core/var.h"
#include "core/worker.h"
#include "http/parse.h"
#include "upstream/upstream.h"

typedef struct fc_http_request_s fc_http_request_t;
typedef struct fc_http_connection_s fc_http_connection_t;
typedef struct fc_http_core_loc_conf_s fc_http_core_loc_conf_t;
typedef struct fc_http_core_srv_conf_s fc_http_core_srv_conf_t;

/* Status codes we name. */
#define FC_HTTP_CONTINUE 100
#define FC_HTTP_SWITCHING_PROTOCOLS 101
#define FC_HTTP_OK 200
#define FC_HTTP_NO_CONTENT 204
#define FC_HTTP_MOVED_PERMANENTLY 301
#define FC_HTTP_MOVED_TEMPORARILY 302
#define FC_HTTP_SEE_OTHER 303
#define FC_HTTP_NOT_MODIFIED 304
#define FC_HTTP_TEMPORARY_REDIRECT 307
#define FC_HTTP_PERMANENT_REDIRECT 308
#define FC_HTTP_BAD_REQUEST 400
#define FC_HTTP_UNAUTHORIZED 401
#define FC_HTTP_FORBIDDEN 403
#define FC_HTTP_NOT_FOUND 404
#define FC_HTTP_NOT_ALLOWED 405
#define FC_HTTP_REQUEST_TIME_OUT 408
#define FC_HTTP_LENGTH_REQUIRED 411
#define FC_HTTP_REQUEST_ENTITY_TOO_LARGE 413
#define FC_HTTP_REQUEST_URI_TOO_LARGE 414
#define FC_HTTP_MISDIRECTED_REQUEST 421
#define FC_HTTP_TOO_MANY_REQUESTS 429
#define FC_HTTP_CLOSE 444 /* nginx: close the connection without a response */
#define FC_HTTP_REQUEST_HEADER_TOO_LARGE 494
#define FC_HTTPS_CERT_ERROR 495 /* nginx's codes for TLS client errors, shown as 400 */
#define FC_HTTPS_NO_CERT 496
#define FC_HTTP_TO_HTTPS 497
#define FC_HTTP_CLIENT_CLOSED_REQUEST 499
#define FC_HTTP_INTERNAL_SERVER_ERROR 500
#define FC_HTTP_NOT_IMPLEMENTED 501
#define FC_HTTP_BAD_GATEWAY 502
#define FC_HTTP_SERVICE_UNAVAILABLE 503
#define FC_HTTP_GATEWAY_TIME_OUT 504
#define FC_HTTP_VERSION_NOT_SUPPORTED 505

/* How many times a request may change its URI (rewrite last, error_page, ...). */
#define FC_HTTP_MAX_URI_CHANGES 10

/* ---- phases ------------------------------------------------------------- */

enum {
    FC_HTTP_POST_READ_PHASE = 0,
    FC_HTTP_SERVER_REWRITE_PHASE, /* rewrite-module directives at server level */
    FC_HTTP_FIND_CONFIG_PHASE,    /* core only: location lookup */
    FC_HTTP_REWRITE_PHASE,        /* rewrite-module directives of the location */
    FC_HTTP_POST_REWRITE_PHASE,   /* core only: URI changed -> FIND_CONFIG again */
    FC_HTTP_PREACCESS_PHASE,
    FC_HTTP_ACCESS_PHASE,         /* allow/deny */
    FC_HTTP_CONTENT_PHASE,        /* the location's handler (proxy_pass), else modules' */
    FC_HTTP_LOG_PHASE,            /* run by fc_http_finalize, not by the engine */
    FC_HTTP_NPHASES
};

/*
 * A phase handler returns:
 *   FC_DECLINED  go on with the next handler of the phase
 *   FC_OK        this phase is done, go on with the next phase
 *   FC_AGAIN     the handler will call fc_http_core_run_phases(r) itself later
 *   FC_DONE      the handler has taken over the request (it finalizes it)
 *   FC_ERROR     finalize with 500
 *   100..599     finalize with that status (special response / error_page)
 * A content handler (clcf->handler) returns FC_DONE (it finalizes the
 * request itself, now or later), FC_OK (its response is complete), FC_ERROR
 * or a status; FC_DECLINED lets modules' content-phase handlers try.
 */
typedef int (*fc_http_handler_pt)(fc_http_request_t *r);
typedef void (*fc_http_event_handler_pt)(fc_http_request_t *r);

#include "http/fields.h"
#include "http/chain.h"

/* ---- the request body -------------------------------------------------------- */

typedef struct {
    fc_chain_t *bufs;        /* the body: memory buffers, then (if spilled) one in_file buffer */
    int temp_fd;             /* -1, or the temp file holding the body (unlinked at once) */
    int64_t received;        /* decoded body bytes read so far */
    int64_t rest;            /* Content-Length bytes still to read (-1: chunked) */
    fc_http_chunked_t chunked; /* decoder state for a chunked body */
    fc_buf_t *buf;           /* the client_body_buffer_size buffer being filled */
    fc_http_event_handler_pt post_handler; /* called once the body is complete */
    unsigned done : 1;       /* the whole body is read */
    unsigned discard : 1;    /* being read and thrown away */
    unsigned in_file : 1;    /* bufs ends with a file part */
    unsigned client_gone : 1; /* the client closed before sending all of it */
} fc_http_request_body_t;

/* ---- the connection --------------------------------------------------------- */

/* The servers that listen on one address (built by http.c, read by server_name.c). */
typedef struct fc_http_addr_conf_s fc_http_addr_conf_t;

struct fc_http_connection_s {
    fc_connection_t *connection;
    fc_http_addr_conf_t *addr_conf;
    fc_http_core_srv_conf_t *default_server; /* of the listening address */
    fc_buf_t buf; /* request heads and pipelined bytes; grows and shrinks (request.c) */
    fc_buf_t discard;     /* scratch for bodies being thrown away */
    fc_event_t done_ev;   /* posted: ends the current request once the stack has unwound */
    fc_msec_t linger_deadline; /* lingering close: lingering_time's end */
    fc_msec_t linger_timeout;
    fc_http_request_t *request; /* the current request, NULL between requests */
    unsigned long requests;     /* requests served on this connection */
    fc_msec_t start_msec;       /* for keepalive_time */
    fc_str_t ssl_servername;    /* the SNI name, lowercased, when a server_name matched it */
    unsigned plain_http : 1;     /* plain HTTP on a `listen ssl` port: answered with 497 */
    unsigned pipelined : 1;      /* the next request's bytes came with the last one ($pipe) */
};

/* ---- the request ------------------------------------------------------------------ */

struct fc_http_request_s {
    fc_connection_t *connection;
    fc_http_connection_t *http_connection;
    fc_pool_t *pool;   /* freed when the request ends (not the connection's) */
    void **main_conf;
    void **srv_conf;
    void **loc_conf;
    void **ctx;        /* per http module: its request state */
    fc_var_value_t *variables;
    fc_captures_t captures; /* last regex match: location, rewrite, server_name */
    fc_array_t *named_captures; /* fc_var_t-like (name, index) pairs of the last regex, or NULL */

    fc_http_event_handler_pt read_event_handler;
    fc_http_event_handler_pt write_event_handler;

    /* The request line, pointing into the header buffer (or request pool after a change). */
    fc_str_t request_line;        /* $request */
    fc_str_t method_name;         /* $request_method */
    unsigned method;              /* FC_HTTP_METHOD_* */
    unsigned http_version;        /* 1000 or 1001 (major * 1000 + minor) */
    fc_str_t http_protocol;       /* "HTTP/1.1" ($server_protocol) */
    fc_str_t unparsed_uri;        /* $request_uri: the target as received */
    fc_str_t uri;                 /* $uri: decoded, normalized; changed by rewrite */
    fc_str_t args;                /* $args: without '?' */
    fc_str_t exten;               /* extension of the last segment of uri */
    fc_str_t schema;              /* "http" */
    fc_http_headers_in_t headers_in;
    fc_http_headers_out_t headers_out;
    fc_http_request_body_t *request_body; /* NULL until someone reads or discards it */
    void *upstream;               /* fc_http_upstream_t * when proxying */
    fc_str_t log_upstream[3];     /* "http://", "addr", "/uri": error log context (proxying) */

    /* Phase engine state. */
    size_t phase;
    size_t phase_handler;
    unsigned uri_changes; /* counts down from FC_HTTP_MAX_URI_CHANGES + 1 */
    int err_status;       /* status being answered by a special response / error_page */

    /* Output state (write.c). */
    fc_chain_t *out;          /* bytes handed to the write filter and not yet sent */
    fc_chain_t *free_links;   /* links the write filter recycles */
    fc_chain_t *chunk_bufs;   /* the chunked filter's framing buffers, oldest first (reused) */
    uint64_t header_size;     /* bytes of the response header */
    uint64_t bytes_sent;      /* bytes of the response handed to the socket ($bytes_sent) */
    uint64_t body_sent;       /* the body's part of them ($body_bytes_sent) */
    uint64_t request_length;  /* bytes read for this request: line, headers, body */

    fc_msec_t start_msec;
    char request_id[33];      /* $request_id: 32 hex digits, made on first use */

    unsigned internal : 1;       /* reached by internal redirect: `internal` locations allowed */
    unsigned pipeline : 1;       /* its bytes came behind the previous request's ($pipe "p") */
    unsigned uri_changed : 1;    /* rewrite ... last: find the location again */
    unsigned valid_location : 1;
    unsigned header_only : 1;    /* HEAD, 204, 304: no body is sent */
    unsigned header_sent : 1;
    unsigned chunked : 1;        /* the response body is sent chunked (set by the header filter) */
    unsigned keepalive : 1;      /* the connection may serve another request */
    unsigned lingering_close : 1; /* read and drop the rest of the client's bytes before closing */
    unsigned request_body_no_buffering : 1; /* proxy_request_buffering off */
    unsigned expect_tested : 1;
    unsigned done : 1;           /* the response is complete (last_buf passed the write filter) */
    unsigned finalized : 1;      /* fc_http_finalize_request went to the end */
    unsigned logged : 1;
    unsigned error_page : 1;     /* an error_page is being served */
    unsigned blocked_write : 1;  /* the write filter waits for the socket */
    unsigned upgraded : 1;       /* 101: the connection became a tunnel */
    /*
     * The response is a complete, known entity (a cached one whose upstream
     * sent Accept-Ranges, as nginx's r->allow_ranges): the range filter may
     * answer a Range from it; the not-modified filter may answer conditional
     * requests with 304/412 (cacheable responses: nginx's
     * r->disable_not_modified = !u->cacheable).
     */
    unsigned allow_ranges : 1;
    unsigned single_range : 1;   /* only one range may be cut (the body streams: a MISS) */
    unsigned allow_conditional : 1;
};

#define fc_http_get_module_main_conf(r, module) ((r)->main_conf[(module).ctx_index])
#define fc_http_get_module_srv_conf(r, module) ((r)->srv_conf[(module).ctx_index])
#define fc_http_get_module_loc_conf(r, module) ((r)->loc_conf[(module).ctx_index])
#define fc_http_get_module_ctx(r, module) ((r)->ctx[(module).ctx_index])
#define fc_http_set_module_ctx(r, c, module) ((r)->ctx[(module).ctx_index] = (c))

/* Conf access while parsing (cf->ctx is the http layer's fc_conf_ctx_t). */
#define fc_http_conf_get_main(cf, module)                                                          \
    (((fc_conf_ctx_t *) (cf)->ctx)->main_conf[(module).ctx_index])
#define fc_http_conf_get_srv(cf, module)                                                           \
    (((fc_conf_ctx_t *) (cf)->ctx)->srv_conf[(module).ctx_index])
#define fc_http_conf_get_loc(cf, module)                                                           \
    (((fc_conf_ctx_t *) (cf)->ctx)->loc_conf[(module).ctx_index])

#include "http/core_conf.h"

/* ---- config-time API ------------------------------------------------------------ */

/* Appends a phase handler (from a module's postconfiguration). */
int fc_http_add_phase_handler(fc_conf_t *cf, size_t phase, fc_http_handler_pt h);
/*
 * Registers output filters (from postconfiguration). Filters run in the
 * order modules are listed in modules/modules.list; the core's own
 * (chunked, header writer, write) always run last. Either may be NULL.
 */
int fc_http_add_filter(fc_conf_t *cf, const fc_module_t *m, fc_http_header_filter_pt header,
                       fc_http_body_filter_pt body);
/* The http{} block's contexts of a cycle, NULL if it has none. */
fc_conf_ctx_t *fc_http_cycle_ctx(fc_cycle_t *cycle);
/* Appends the core's terminal filters (chunked, header writer, write); after postconfiguration. */
int fc_http_core_filters_init(fc_conf_t *cf);
/* Directive handlers that live outside http.c (error_page in special.c). */
char *fc_http_core_error_page(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

/* ---- run time: lifecycle ----------------------------------------------------------- */

/* The connection handler for http listening sockets. */
void fc_http_init_connection(fc_connection_t *c);
/* Runs the phases from where the request stands. */
void fc_http_core_run_phases(fc_http_request_t *r);
/*
 * Ends a request's part in a handler:
 *   FC_OK             the response is complete (its last buffer went to the output
 *                     filters; bytes may still be flushing): log, keep-alive or close
 *   FC_DONE / FC_AGAIN nothing: the request is in someone's hands (it finalizes later)
 *   FC_ERROR          close the connection (logged as 500 if nothing was sent)
 *   FC_HTTP_CLOSE     close the connection without a response (444)
 *   100..599          a special response / error_page (closes if the header was sent)
 */
void fc_http_finalize_request(fc_http_request_t *r, int rc);
/* Restarts the request at SERVER_REWRITE with a new URI (and args, may be NULL). */
int fc_http_internal_redirect(fc_http_request_t *r, const fc_str_t *uri, const fc_str_t *args);
/* Goes to a named location ("@name") of the request's server. */
int fc_http_named_location(fc_http_request_t *r, const fc_str_t *name);
/* Bytes the client sent after this request's header (pipelined or tunnel data). */
fc_str_t fc_http_request_preread(fc_http_request_t *r);

/* ---- run time: configuration lookup ---------------------------------------------- */

/*
 * Finds the location for r->uri in r's server (nginx's order: exact, longest
 * prefix, regexes in order unless ^~ or =), sets r->loc_conf and captures.
 * FC_OK, FC_DONE (auto-redirect 301 was prepared), FC_DECLINED (none: server level).
 */
int fc_http_core_find_location(fc_http_request_t *r);
/* The confs of the named location "@name" of a server, NULL if there is none. */
void **fc_http_core_find_named(fc_http_core_srv_conf_t *cscf, const fc_str_t *name);
/* Sets r->loc_conf to a location's confs and applies its per-location settings. */
void fc_http_update_location_config(fc_http_request_t *r, void **loc_conf);
/*
 * Chooses the virtual server for a host name (lowercased, without port) on
 * the connection's address: exact, leading wildcard, trailing wildcard,
 * regex, else the default server. Regex captures go to r (may be NULL).
 */
fc_http_core_srv_conf_t *fc_http_find_virtual_server(fc_http_connection_t *hc,
                                                     fc_http_request_t *r,
                                                     const fc_str_t *host);
/* The same without the default: NULL when no server_name matches. */
fc_http_core_srv_conf_t *fc_http_find_named_server(fc_http_connection_t *hc, fc_http_request_t *r,
                                                   const fc_str_t *host);
/* The default server of a listening address. */
fc_http_core_srv_conf_t *fc_http_addr_default_server(fc_http_addr_conf_t *ac);

/* ---- run time: request body ---------------------------------------------------- */

/*
 * Reads the whole body (buffered in memory up to client_body_buffer_size,
 * then a temp file), then calls post_handler. Returns FC_OK (the handler was
 * or will be called), or a status for fc_http_finalize_request (413, 400).
 * With r->request_body_no_buffering the handler is called whenever new body
 * bytes sit in r->request_body->bufs (and once more with ->done set).
 */
int fc_http_read_client_request_body(fc_http_request_t *r, fc_http_event_handler_pt post_handler);
/* Continues reading a no-buffering body after the caller consumed ->bufs. */
int fc_http_read_unbuffered_request_body(fc_http_request_t *r);
/* Reads and drops the body so the connection can be kept alive. FC_OK or FC_ERROR. */
int fc_http_discard_request_body(fc_http_request_t *r);

/* ---- run time: output ----------------------------------------------------------- */

/* Runs the header filter chain (sets header_sent). FC_OK, FC_AGAIN, FC_ERROR. */
int fc_http_send_header(fc_http_request_t *r);
/*
 * Runs the body filter chain on `in` (NULL: just flush what is pending).
 * FC_OK: everything handed down was sent; FC_AGAIN: bytes are pending (the
 * request's write_event_handler runs when the socket drains); FC_ERROR.
 * A buffer with last_buf set ends the response. Memory buffers must stay
 * valid until their pos reaches last.
 */
int fc_http_output_filter(fc_http_request_t *r, fc_chain_t *in);
/* The next filter after module m (for filter modules). */
int fc_http_next_header_filter(fc_http_request_t *r, const fc_module_t *m);
int fc_http_next_body_filter(fc_http_request_t *r, const fc_module_t *m, fc_chain_t *in);
/* Sends an empty last buffer (ends the body). */
int fc_http_send_last(fc_http_request_t *r);
/*
 * A complete response in one call, finalized: status, content type (NULL:
 * default_type) and a body (NULL: none). Drops an unread request body first.
 * Always returns FC_DONE (the request is finalized or flushing): a phase or
 * content handler returns that as it is. Used by return and error pages.
 */
int fc_http_send_response(fc_http_request_t *r, unsigned status, const fc_str_t *content_type,
                          const fc_str_t *body);
/*
 * Sets a redirect: status (301, 302, 303, 307, 308) and Location (relative
 * ones are completed by the header filter). Returns the status.
 */
int fc_http_set_location(fc_http_request_t *r, unsigned status, const fc_str_t *url);

/* Adds an output header field (copies nothing: strings must live as long as r). */
fc_http_field_t *fc_http_add_header_out(fc_http_request_t *r, const char *name, size_t name_len,
                                        const unsigned char *value, size_t value_len);
/*
 * nginx's default error page for status into body (r's pool); 494-497 are
 * shown as 400 with their own line. Returns the status shown, 0 on no memory.
 */
unsigned fc_http_error_page_text(fc_http_request_t *r, unsigned status, fc_str_t *body);
/* Drops every output header field and the shortcuts into them. */
void fc_http_clear_headers_out(fc_http_request_t *r);
/* Drops the output fields called `name` (any case); returns how many there were. */
size_t fc_http_remove_header_out(fc_http_request_t *r, const char *name, size_t len);
/* No range may be cut from this response (nginx's ngx_http_clear_accept_ranges). */
void fc_http_clear_accept_ranges(fc_http_request_t *r);
/*
 * A header filter answering with the default page for status (412, 416),
 * as nginx's filters do through its special response: status, text/html
 * and the page's length; ETag, Last-Modified and Accept-Ranges go, the
 * other fields stay. Returns the page's chain (last_buf set) for the
 * module's body filter to hand to fc_http_status_page_send(), NULL on no memory.
 */
fc_chain_t *fc_http_status_page_set(fc_http_request_t *r, unsigned status);
/*
 * The body filter side: drops the buffers of the original body in `in`
 * (marks them consumed) and sends *page the first time (then *page is NULL).
 */
int fc_http_status_page_send(fc_http_request_t *r, const fc_module_t *m, fc_chain_t **page,
                             fc_chain_t *in);
/* The first request header named `name` (any case), NULL if absent. */
fc_http_field_t *fc_http_find_header_in(fc_http_request_t *r, const char *name, size_t len);
/* 1 for a User-Agent nginx takes for MSIE 4, 5 or 6 before SP2, not Opera (its msie6). */
int fc_http_ua_msie6(const fc_str_t *ua);
/* "404 Not Found": the reason phrase of a status ("" if unknown). */
const char *fc_http_status_reason(unsigned status);
/* The MIME type for an extension in a location's `types` (any case), NULL if none. */
const fc_str_t *fc_http_core_type_for(const fc_http_core_loc_conf_t *clcf, const fc_str_t *exten);

/* ---- run time: variables ------------------------------------------------------------ */

/* Defines the builtin http variables in the registry (http.c's preconfiguration). */
int fc_http_variables_add(fc_var_registry_t *reg);
/* Evaluates a complex value for a request (captures: r->captures). */
int fc_http_cv_eval(fc_http_request_t *r, const fc_cv_t *cv, fc_str_t *out);
/* The value of indexed variable i for r. */
fc_var_value_t *fc_http_get_indexed_variable(fc_http_request_t *r, size_t i);

/* Log context for errors about a request: ", client: A, server: S, request: "..."". */
size_t fc_http_log_context(fc_log_t *log, char *buf, size_t len);

#endif
