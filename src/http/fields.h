/*
 * fields.h: header fields of requests and responses: one field, the
 * request's fields with shortcuts to the ones the core and the filters look
 * at, and the response's. Included by http.h.
 */
#ifndef FC_HTTP_FIELDS_H
#define FC_HTTP_FIELDS_H

/* One header field of a request or a response. Strings point into request memory. */
typedef struct {
    fc_str_t name;
    fc_str_t value;
    uint32_t hash;      /* fc_http_header_hash(lowercase name); 0: removed, skip it */
} fc_http_field_t;

#define FC_HTTP_CONNECTION_NONE 0
#define FC_HTTP_CONNECTION_CLOSE 1
#define FC_HTTP_CONNECTION_KEEP_ALIVE 2

typedef struct {
    fc_array_t headers; /* fc_http_field_t, in the order received */
    /* Single-valued fields we look at, NULL when absent (last one wins). */
    fc_http_field_t *host;
    fc_http_field_t *connection;
    fc_http_field_t *upgrade;
    fc_http_field_t *expect;
    fc_http_field_t *user_agent;
    fc_http_field_t *referer;
    fc_http_field_t *content_type;
    fc_http_field_t *content_length;
    fc_http_field_t *transfer_encoding;
    fc_http_field_t *accept_encoding;
    fc_http_field_t *if_modified_since;
    fc_http_field_t *if_none_match;
    fc_http_field_t *if_match;
    fc_http_field_t *if_unmodified_since;
    fc_http_field_t *range;
    fc_http_field_t *if_range;
    fc_http_field_t *via;
    fc_http_field_t *authorization;
    fc_str_t server;           /* the host name ($host): from the target or Host, lowercased, no port */
    int64_t content_length_n;  /* -1: none */
    unsigned connection_type;  /* FC_HTTP_CONNECTION_* from the Connection field */
    unsigned chunked : 1;      /* Transfer-Encoding: chunked */
    unsigned expect_continue : 1;
} fc_http_headers_in_t;

typedef struct {
    unsigned status;          /* 0 until a handler sets it */
    fc_str_t status_line;     /* optional "404 Not Found" from an upstream; else generated */
    fc_array_t headers;       /* fc_http_field_t: extra fields (upstream's, add_header) */
    fc_str_t content_type;    /* empty: none (the header filter adds default_type for bodies) */
    int64_t content_length_n; /* -1: unknown (chunked on 1.1 keep-alive, else close) */
    fc_http_field_t *location; /* points into headers; relative paths are made absolute */
    fc_http_field_t *server;   /* an upstream's Server (kept only by proxy_pass_header) */
    fc_http_field_t *date;     /* an upstream's Date (kept only by proxy_pass_header) */
    fc_http_field_t *etag;     /* points into headers: the entity tag, NULL if none */
    time_t last_modified_time; /* -1: none */
} fc_http_headers_out_t;

#endif
