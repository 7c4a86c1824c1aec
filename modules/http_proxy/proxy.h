/*
 * proxy.h: what the files of the http_proxy module share (nothing outside
 * modules/http_proxy/ includes it, except its unit test for proxy_uri.c).
 *
 *   proxy_conf.c      directives, create/merge, the module
 *   proxy_request.c   the content handler, the target, the request to the upstream
 *   proxy_response.c  status line, header fields, body framing (input filters)
 *   proxy_rewrite.c   proxy_redirect at run time
 *   proxy_uri.c       pure string work: URL parsing, URI replacement, redirect prefixes
 *   proxy_vars.c      $proxy_host, $proxy_port, $proxy_add_x_forwarded_for, ...
 *
 * The engine (src/http/upstream*.c) owns connecting, retries, pooling and
 * relaying; this module only fills in the HTTP/1.x protocol callbacks.
 */
#ifndef FC_HTTP_PROXY_H
#define FC_HTTP_PROXY_H

#include "http/upstream.h"
#include "event/tls_client.h"

extern fc_module_t fc_http_proxy_module;

/* ---- proxy_uri.c (pure: no request, no I/O) ---------------------------------------- */

/* The parts of a proxy_pass URL. Strings point into the URL text. */
typedef struct {
    fc_str_t authority;   /* "host[:port]" or "unix:/path" as written */
    fc_str_t host_header; /* $proxy_host: the authority without ":80"; "localhost" for unix */
    fc_str_t port;        /* $proxy_port: "80" when none is written; empty for unix */
    fc_str_t uri;         /* from the '/' after the authority; empty when there is none */
    unsigned has_uri : 1; /* a URI part was written (even a lone "/") */
    unsigned is_unix : 1;
    unsigned has_port : 1;
    unsigned ssl : 1;     /* "https://": TLS to the upstream, default port 443 */
} proxy_url_t;

/*
 * Splits "http://host[:port][/uri]" and "http://unix:/path[:/uri]".
 * Also "https://". FC_OK, or FC_ERROR with *err.
 */
int proxy_url_parse(const fc_str_t *url, proxy_url_t *pu, const char **err);

/* Bytes a decoded path needs once escaped for a request line (" ", "#", "%", "?", controls). */
size_t proxy_uri_escaped_len(const unsigned char *p, size_t n);
/* Writes the escaped path to dst; returns the end. */
unsigned char *proxy_uri_escape(unsigned char *dst, const unsigned char *p, size_t n);

/*
 * 1 if the request target the client sent (unparsed: "$request_uri") still
 * names uri and args, i.e. no rewrite changed them. scratch must hold
 * unparsed->len bytes.
 */
int proxy_uri_unchanged(const fc_str_t *unparsed, const fc_str_t *uri, const fc_str_t *args,
                        int merge_slashes, unsigned char *scratch);

/* What nginx's URI rule looks at. */
typedef struct {
    fc_str_t uri;                /* r->uri: decoded, normalized, maybe rewritten */
    fc_str_t args;               /* r->args */
    fc_str_t unparsed;           /* r->unparsed_uri */
    fc_str_t location;           /* the prefix of the location proxy_pass is in */
    fc_str_t replacement;        /* proxy_pass's URI part */
    unsigned has_uri : 1;        /* proxy_pass has a URI part */
    unsigned vars : 1;           /* proxy_pass has variables: its URI part is sent as is */
    unsigned unchanged : 1;      /* proxy_uri_unchanged() */
    unsigned valid_location : 1; /* the location still matches (no "rewrite ... break") */
} proxy_uri_in_t;

/*
 * The URI for the request line: with a URI part, the part of the URI that
 * matched the location is replaced by it; without one, the client's URI as
 * received unless a rewrite changed it (then the changed one, escaped, with
 * its args). Pool memory (or the input itself). FC_OK or FC_ERROR.
 */
int proxy_uri_build(fc_pool_t *pool, const proxy_uri_in_t *in, fc_str_t *out);

/*
 * proxy_redirect's prefix rule on a field value: if value[off..] starts with
 * `from` (any case), out = value[..off] + to + the rest. FC_OK, FC_DECLINED
 * (no match), FC_ERROR.
 */
int proxy_redirect_prefix(fc_pool_t *pool, const fc_str_t *value, size_t off, const fc_str_t *from,
                          const fc_str_t *to, fc_str_t *out);

/* ---- configuration ---------------------------------------------------------------------- */

/* One proxy_set_header (or default) line. */
typedef struct {
    fc_str_t name;
    uint32_t hash; /* fc_http_header_hash(lowercase name) */
    fc_cv_t value;
} proxy_header_t;

enum { PROXY_REDIRECT_DEFAULT = 0, PROXY_REDIRECT_PREFIX, PROXY_REDIRECT_REGEX };

/* One proxy_redirect rule. */
typedef struct {
    unsigned type;                 /* PROXY_REDIRECT_* */
    unsigned explicit_default : 1; /* "proxy_redirect default" was written */
    fc_cv_t from;                  /* prefix rule (may have variables) */
    fc_regex_t *regex;             /* "~" / "~*" rule */
    fc_cv_t to;
} proxy_redirect_t;

typedef struct {
    fc_http_upstream_conf_t upstream; /* the engine's part */

    /* proxy_pass (inherited by nested blocks, `if` and limit_except, as nginx) */
    fc_http_upstream_srv_t *us; /* a static target */
    fc_cv_t *url_cv;            /* a target with variables */
    fc_str_t url;               /* the argument as written */
    proxy_url_t target;         /* its parts (static target) */
    fc_str_t location;          /* the location's name, for the URI rule */
    fc_str_t redirect_from;     /* what "proxy_redirect default" replaces ... */
    fc_str_t redirect_to;       /* ... and with what */
    unsigned uri_allowed : 1;   /* a prefix or exact location: the URI rule applies */

    int http_version;        /* 1000, 1001 */
    fc_array_t *set_headers; /* proxy_header_t written at this level; UNSET_PTR */
    fc_array_t *headers;     /* the effective list: set_headers, then the defaults */
    int pass_request_headers;
    int pass_request_body;
    fc_cv_t *body;                 /* proxy_set_body; NULL none; UNSET_PTR */
    fc_cv_t *method;               /* proxy_method; NULL none; UNSET_PTR */
    fc_array_t *hide;              /* proxy_hide_header as written (fc_str_t); UNSET_PTR */
    fc_array_t *pass;              /* proxy_pass_header as written (fc_str_t); UNSET_PTR */
    fc_array_t *redirects;         /* proxy_redirect_t; empty: off; UNSET_PTR */
    fc_array_t *cookie_domains;    /* proxy_cookie_domain (proxy_redirect_t); UNSET_PTR */
    fc_array_t *cookie_paths;      /* proxy_cookie_path: the same */
    int64_t headers_hash_max_size; /* accepted for compatibility (no hash is built) */
    int64_t headers_hash_bucket_size;
    size_t max_temp_file_size; /* only 0: responses never go to disk */
    fc_tls_client_conf_t ssl;  /* proxy_ssl_* (https:// upstreams) */
    fc_cv_t *ssl_name;         /* proxy_ssl_name; NULL: the host of proxy_pass; UNSET_PTR */
} proxy_loc_conf_t;

/* ---- run time ------------------------------------------------------------------------------ */

/* The request's proxy state (module ctx). */
typedef struct {
    fc_http_upstream_t *u;
    proxy_url_t target;      /* this request's target (evaluated with variables) */
    fc_str_t url;            /* the evaluated proxy_pass URL */
    fc_http_parser_t parser; /* the response head */
    fc_http_status_line_t sl;
    fc_http_framing_t framing;
    fc_http_chunked_t chunked;    /* a chunked response body */
    int64_t internal_body_length; /* $proxy_internal_body_length; -1: none */
    unsigned state;               /* 0: status line, 1: header fields */
    unsigned conn_close : 1;      /* Connection: close seen */
    unsigned conn_keepalive : 1;  /* Connection: keep-alive seen */
    unsigned body_chunked : 1;    /* the client body goes out re-chunked */
    unsigned chunked_done : 1;    /* its last-chunk was queued */
} proxy_ctx_t;

#define proxy_loc_conf(r)                                                                          \
    ((proxy_loc_conf_t *) fc_http_get_module_loc_conf(r, fc_http_proxy_module))

/* proxy_request.c */
int proxy_handler(fc_http_request_t *r);
/* proxy_response.c */
int proxy_process_header(fc_http_upstream_t *u);
int proxy_reinit_request(fc_http_upstream_t *u);
int proxy_input_filter_init(fc_http_upstream_t *u);
int proxy_input_filter(fc_http_upstream_t *u, fc_buf_t *b, unsigned char *raw);
/* proxy_rewrite.c */
int proxy_rewrite_redirect(fc_http_upstream_t *u, fc_http_field_t *h, size_t prefix);
/* proxy_cookie_domain / proxy_cookie_path on a Set-Cookie field: FC_OK or FC_ERROR. */
int proxy_rewrite_cookie(fc_http_upstream_t *u, fc_http_field_t *h);
/* proxy_vars.c */
int proxy_variables_add(fc_conf_t *cf);

#endif
