/*
 * core_conf.h: the confs of the http core module (main, server, location)
 * and the filter registry. Included by http.h; split out to keep each
 * header readable on its own.
 */
#ifndef FC_HTTP_CORE_CONF_H
#define FC_HTTP_CORE_CONF_H

/* ---- core configuration -------------------------------------------------------- */

typedef int (*fc_http_header_filter_pt)(fc_http_request_t *r);
typedef int (*fc_http_body_filter_pt)(fc_http_request_t *r, fc_chain_t *in);

typedef struct {
    const fc_module_t *module;
    fc_http_header_filter_pt header;
    fc_http_body_filter_pt body;
} fc_http_filter_t;

typedef struct {
    fc_cycle_t *cycle;                    /* the cycle (its worker at run time) */
    fc_array_t servers;                   /* fc_http_core_srv_conf_t * */
    fc_array_t listens;                   /* private to http.c */
    fc_array_t phases[FC_HTTP_NPHASES];   /* fc_http_handler_pt */
    fc_var_registry_t vars;
    fc_array_t upstreams;                 /* private to the upstream engine */
    const void *upstream_cache;           /* fc_http_upstream_cache_ops_t, NULL: no cache */
    fc_array_t header_filters;            /* fc_http_filter_t, in call order */
    fc_array_t body_filters;              /* fc_http_filter_t, in call order */
    size_t nmodules;                      /* http modules: the slots of r->ctx */
    size_t *header_next;                  /* per http module ctx_index: its position + 1 */
    size_t *body_next;
    size_t server_names_hash_max_size;
    size_t server_names_hash_bucket_size;
    size_t variables_hash_max_size;
    size_t variables_hash_bucket_size;
    size_t map_hash_max_size; /* the map module's, validated here: maps are sorted arrays */
    size_t map_hash_bucket_size;
} fc_http_core_main_conf_t;

/* One server_name: exact, "*.wildcard" / "wildcard.*", ".example.com", or "~regex". */
typedef struct {
    fc_str_t name;        /* lowercased (regex: as written without "~") */
    fc_regex_t *regex;    /* "~..." */
    fc_http_core_srv_conf_t *server;
} fc_http_server_name_t;

struct fc_http_core_srv_conf_s {
    fc_conf_ctx_t *ctx;          /* this server's confs (loc_conf: the server level) */
    const char *file;
    unsigned line;
    fc_array_t server_names;     /* fc_http_server_name_t */
    fc_str_t server_name;        /* the first name: $server_name */
    size_t client_header_buffer_size;     /* 1k */
    size_t large_client_header_buffers_num;  /* 4 */
    size_t large_client_header_buffers_size; /* 8k */
    fc_msec_t client_header_timeout;      /* 60s */
    int merge_slashes;                    /* on */
    int underscores_in_headers;           /* off */
    int ignore_invalid_headers;           /* on */
    struct fc_tls_srv_conf_s *ssl;        /* the http_ssl module's conf, NULL without it */
    unsigned listen : 1;
};

/* One error_page: codes, optional =CODE, the URI or URL (may have variables). */
typedef struct {
    int status;        /* the code it applies to */
    int overwrite;     /* =CODE: 0 keeps the status; -1 "=" alone: the target's status */
    fc_cv_t value;     /* "/50x.html", "@named", "http://..." */
} fc_http_err_page_t;

struct fc_http_core_loc_conf_s {
    fc_str_t name;                 /* as written, without the modifier */
    fc_regex_t *regex;             /* "~" and "~*" */
    void **loc_conf;               /* this location's confs of every module */
    fc_http_handler_pt handler;    /* content handler (proxy_pass ...), NULL: content phase */
    unsigned exact_match : 1;      /* "=" */
    unsigned noregex : 1;          /* "^~" */
    unsigned named : 1;            /* "@name" */
    unsigned internal : 1;         /* `internal;` */
    unsigned auto_redirect : 1;    /* a prefix location ending in '/' with a proxy handler */
    unsigned server_level : 1;     /* the conf of server{} itself */
    unsigned noname : 1;           /* the block of an `if`: merged, never matched by URI */
    void *static_tree;             /* private to location.c */
    fc_array_t *regex_locations;   /* fc_http_core_loc_conf_t *: nested regex locations */
    fc_array_t *locations;         /* fc_http_core_loc_conf_t *: nested, as written */
    fc_array_t *named_locations;   /* server level: "@name" locations */
    const char *file;
    unsigned line;

    size_t client_max_body_size;   /* 1m; 0: unlimited */
    size_t client_body_buffer_size; /* 16k */
    fc_msec_t client_body_timeout; /* 60s */
    fc_str_t client_body_temp_path; /* "client_body_temp" under the prefix */
    int client_body_in_file_only;  /* off */
    fc_msec_t send_timeout;        /* 60s */
    fc_msec_t keepalive_timeout;   /* 75s; 0 disables keep-alive */
    fc_msec_t keepalive_header;    /* keepalive_timeout's second argument: -1 none */
    int64_t keepalive_requests;    /* 1000 */
    fc_msec_t keepalive_time;      /* 1h */
    int keepalive_disable_msie6;   /* accepted: keepalive_disable */
    int server_tokens;             /* 1 on, 0 off, 2 build */
    int absolute_redirect;         /* on */
    int server_name_in_redirect;   /* off */
    int port_in_redirect;          /* on */
    int chunked_transfer_encoding; /* on */
    int recursive_error_pages;     /* off */
    int tcp_nodelay;               /* on */
    int log_not_found;             /* on */
    int lingering_close;           /* 1 on, 0 off, 2 always */
    fc_msec_t lingering_time;      /* 30s */
    fc_msec_t lingering_timeout;   /* 5s */
    int reset_timedout_connection; /* off */
    fc_str_t default_type;         /* text/plain */
    fc_log_t *error_log;           /* error_log at http/server/location; NULL: the main one */
    fc_array_t *error_pages;       /* fc_http_err_page_t, NULL: none */
    fc_str_t root;                 /* accepted for $document_root; static files are not served */
    /*
     * nginx's static-file and disk I/O knobs, so stock nginx.conf files load:
     * checked as nginx checks them, with no effect (fulcrum serves no files).
     */
    int sendfile;
    int tcp_nopush;
    int etag;
    size_t sendfile_max_chunk;
    size_t types_hash_max_size;
    size_t types_hash_bucket_size;
};

#define fc_http_core_loc(r) ((fc_http_core_loc_conf_t *) (r)->loc_conf[fc_http_core_module.ctx_index])
#define fc_http_core_srv(r) ((fc_http_core_srv_conf_t *) (r)->srv_conf[fc_http_core_module.ctx_index])
#define fc_http_core_main(r)                                                                       \
    ((fc_http_core_main_conf_t *) (r)->main_conf[fc_http_core_module.ctx_index])

extern fc_module_t fc_http_module;
extern fc_module_t fc_http_core_module;

#endif
