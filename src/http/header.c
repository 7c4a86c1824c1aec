/*
 * header.c: the response head. Builds the status line and fields (Server,
 * Date, framing, Connection, redirects made absolute), decides chunked or
 * close-delimited framing for bodies of unknown length, and offers the small
 * helpers handlers use to answer (fc_http_send_response, redirects, fields).
 */
#include "http/request.h"

#include <strings.h>

typedef struct {
    unsigned status;
    const char *reason;
} header_reason_t;

static const header_reason_t header_reasons[] = {
    {100, "Continue"}, {101, "Switching Protocols"}, {200, "OK"}, {201, "Created"},
    {202, "Accepted"}, {203, "Non-Authoritative Information"}, {204, "No Content"},
    {205, "Reset Content"}, {206, "Partial Content"}, {300, "Multiple Choices"},
    {301, "Moved Permanently"}, {302, "Moved Temporarily"}, {303, "See Other"},
    {304, "Not Modified"}, {307, "Temporary Redirect"}, {308, "Permanent Redirect"},
    {400, "Bad Request"}, {401, "Unauthorized"}, {402, "Payment Required"}, {403, "Forbidden"},
    {404, "Not Found"}, {405, "Not Allowed"}, {406, "Not Acceptable"},
    {408, "Request Time-out"}, {409, "Conflict"}, {410, "Gone"}, {411, "Length Required"},
    {412, "Precondition Failed"}, {413, "Request Entity Too Large"},
    {414, "Request-URI Too Large"}, {415, "Unsupported Media Type"},
    {416, "Requested Range Not Satisfiable"}, {421, "Misdirected Request"},
    {429, "Too Many Requests"}, {500, "Internal Server Error"}, {501, "Not Implemented"},
    {502, "Bad Gateway"}, {503, "Service Temporarily Unavailable"},
    {504, "Gateway Time-out"}, {505, "HTTP Version Not Supported"},
    {507, "Insufficient Storage"}, {0, NULL},
};

const char *
fc_http_status_reason(unsigned status)
{
    for (const header_reason_t *h = header_reasons; h->reason; h++)
        if (h->status == status)
            return h->reason;
    return "";
}

void
fc_http_clear_headers_out(fc_http_request_t *r)
{
    fc_http_headers_out_t *h = &r->headers_out;
    h->headers.nelts = 0;
    h->location = h->server = h->date = h->etag = NULL;
}

void
fc_http_clear_accept_ranges(fc_http_request_t *r)
{
    r->allow_ranges = 0;
    fc_http_remove_header_out(r, "accept-ranges", 13);
}

size_t
fc_http_remove_header_out(fc_http_request_t *r, const char *name, size_t len)
{
    size_t n = 0;
    fc_http_field_t *f = r->headers_out.headers.elts;
    for (size_t i = 0; i < r->headers_out.headers.nelts; i++) {
        if (f[i].hash && f[i].name.len == len &&
            fc_strn_caseeq(f[i].name.data, (const unsigned char *) name, len)) {
            f[i].hash = 0;
            n++;
        }
    }
    return n;
}

fc_http_field_t *
fc_http_add_header_out(fc_http_request_t *r, const char *name, size_t name_len,
                       const unsigned char *value, size_t value_len)
{
    fc_http_headers_out_t *h = &r->headers_out;
    fc_http_field_t *old = h->headers.elts;
    fc_http_field_t *f = fc_array_push(&h->headers);
    if (f == NULL)
        return NULL;
    if (h->headers.elts != old) {
        /* The array moved: the shortcuts into it must follow. */
        fc_http_field_t *base = h->headers.elts;
        if (h->location)
            h->location = base + (h->location - old);
        if (h->server)
            h->server = base + (h->server - old);
        if (h->date)
            h->date = base + (h->date - old);
        if (h->etag)
            h->etag = base + (h->etag - old);
    }
    f->name.data = (unsigned char *) name;
    f->name.len = name_len;
    f->value.data = (unsigned char *) value;
    f->value.len = value_len;
    f->hash = fc_http_header_hash((const unsigned char *) name, name_len);
    return f;
}

fc_http_field_t *
fc_http_find_header_in(fc_http_request_t *r, const char *name, size_t len)
{
    fc_http_field_t *f = r->headers_in.headers.elts;
    for (size_t i = 0; i < r->headers_in.headers.nelts; i++) {
        if (f[i].hash && f[i].name.len == len && strncasecmp((char *) f[i].name.data, name, len) == 0)
            return &f[i];
    }
    return NULL;
}

int
fc_http_ua_msie6(const fc_str_t *ua)
{
    const char *s = (const char *) ua->data, *end = s + ua->len;
    if (memmem(s, ua->len, "Opera", 5))
        return 0;
    const char *m = memmem(s, ua->len, "MSIE ", 5);
    if (m == NULL || m + 7 >= end || m[6] != '.')
        return 0;
    if (m[5] == '4' || m[5] == '5')
        return 1;
    return m[5] == '6' && memmem(m + 8, (size_t) (end - m - 8), "SV1", 3) == NULL;
}

int
fc_http_set_location(fc_http_request_t *r, unsigned status, const fc_str_t *url)
{
    fc_http_field_t *f = fc_http_add_header_out(r, "Location", 8, url->data, url->len);
    if (f == NULL)
        return FC_HTTP_INTERNAL_SERVER_ERROR;
    r->headers_out.location = f;
    r->headers_out.status = status;
    return (int) status;
}

/*
 * "http[s]://host[:port]" for a relative Location, as nginx's header filter
 * makes it: the host is server_name with server_name_in_redirect, else the
 * request's Host, else the local address; the port is left out when it is
 * the scheme's own (80, or 443 on TLS) or port_in_redirect is off.
 */
static size_t
header_location_prefix(fc_http_request_t *r, char *buf, size_t size)
{
    fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
    fc_http_core_srv_conf_t *cscf = fc_http_core_srv(r);
    fc_connection_t *c = r->connection;
    int local = fc_conn_local_addr(c) == FC_OK;
    char a[FC_SOCKADDR_STRLEN];
    fc_str_t host = r->headers_in.server;
    if (clcf->server_name_in_redirect) {
        host = cscf->server_name;
    } else if (host.len == 0) {
        host.data = (unsigned char *) a;
        host.len = local ? fc_sockaddr_ntop((struct sockaddr *) &c->local_sockaddr,
                                            c->local_socklen, a, sizeof(a), 0)
                         : 0;
    }
    const char *scheme = c->tls ? "https" : "http";
    in_port_t port = local ? fc_sockaddr_port((struct sockaddr *) &c->local_sockaddr) : 0;
    if (!clcf->port_in_redirect || port == (c->tls ? 443 : 80))
        port = 0;
    int m = port ? snprintf(buf, size, "%s://%.*s:%u", scheme, (int) host.len, host.data,
                            (unsigned) port)
                 : snprintf(buf, size, "%s://%.*s", scheme, (int) host.len, host.data);
    return m > 0 ? fc_min((size_t) m, size - 1) : 0;
}

/* Framing and persistence: chunked, close-delimited, keep-alive or close. */
static void
header_decide_framing(fc_http_request_t *r, unsigned status)
{
    fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
    fc_worker_t *w = fc_http_worker(r);
    if (status == FC_HTTP_NO_CONTENT || status == FC_HTTP_NOT_MODIFIED || status < 200)
        r->header_only = 1;
    if (status == FC_HTTP_NO_CONTENT) {
        r->headers_out.content_length_n = -1;
        r->headers_out.content_type.len = 0;
    }
    if (clcf->keepalive_timeout == 0 || (w && w->draining))
        r->keepalive = 0; /* a draining worker says close on each connection's next answer */
    if (status == FC_HTTP_SWITCHING_PROTOCOLS) {
        r->keepalive = 0;
        return;
    }
    if (!r->header_only && r->headers_out.content_length_n < 0) {
        if (r->http_version >= 1001 && clcf->chunked_transfer_encoding)
            r->chunked = 1;
        else
            r->keepalive = 0; /* the end of the body is the end of the connection */
    }
}

typedef struct {
    char *p;
    char *end;
} header_out_t;

/*
 * The head is built with plain copies: it is written for every response, and
 * formatting each line through vsnprintf cost more than the rest of the head.
 * header_put() (printf) is kept for the rare lines.
 */
static void
header_cat(header_out_t *o, const void *p, size_t n)
{
    n = fc_min(n, (size_t) (o->end - o->p));
    memcpy(o->p, p, n);
    o->p += n;
}

#define header_lit(o, s) header_cat(o, s, sizeof(s) - 1)

/* "Name: value\r\n" */
static void
header_field(header_out_t *o, const char *name, size_t nlen, const void *value, size_t vlen)
{
    header_cat(o, name, nlen);
    header_lit(o, ": ");
    header_cat(o, value, vlen);
    header_lit(o, "\r\n");
}

static void
header_put(header_out_t *o, const char *fmt, ...) FC_PRINTF(2, 3);

static void
header_put(header_out_t *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p, (size_t) (o->end - o->p), fmt, ap);
    va_end(ap);
    if (n > 0)
        o->p += fc_min((size_t) n, (size_t) (o->end - o->p));
}

static size_t
header_estimate(fc_http_request_t *r)
{
    size_t len = 512 + r->headers_out.status_line.len + r->headers_out.content_type.len;
    fc_http_field_t *f = r->headers_out.headers.elts;
    for (size_t i = 0; i < r->headers_out.headers.nelts; i++)
        len += f[i].name.len + f[i].value.len + 4 + (f[i].hash && &f[i] == r->headers_out.location ? 300 : 0);
    return len;
}

/* A Location the writer makes absolute (relative, absolute_redirect on), or NULL. */
static const fc_http_field_t *
header_relative_location(fc_http_request_t *r)
{
    const fc_http_field_t *l = r->headers_out.location;
    if (l && l->hash && l->value.len && l->value.data[0] == '/' &&
        fc_http_core_loc(r)->absolute_redirect)
        return l;
    return NULL;
}

/* As nginx's header filter: the Location it makes absolute goes right after Last-Modified. */
static void
header_put_location(fc_http_request_t *r, header_out_t *o, const fc_http_field_t *l)
{
    if (l == NULL)
        return;
    char prefix[300];
    size_t n = header_location_prefix(r, prefix, sizeof(prefix));
    header_put(o, "Location: %.*s%.*s\r\n", (int) n, prefix, (int) l->value.len, l->value.data);
}

static void
header_put_fields(fc_http_request_t *r, header_out_t *o, const fc_http_field_t *early)
{
    fc_http_field_t *f = r->headers_out.headers.elts;
    for (size_t i = 0; i < r->headers_out.headers.nelts; i++) {
        if (f[i].hash == 0 || &f[i] == early)
            continue;
        header_field(o, (const char *) f[i].name.data, f[i].name.len, f[i].value.data,
                     f[i].value.len);
    }
}

fc_chain_t *
fc_http_header_serialize(fc_http_request_t *r)
{
    fc_http_headers_out_t *h = &r->headers_out;
    fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
    if (r->err_status) {
        h->status = (unsigned) r->err_status;
        h->status_line.len = 0;
    }
    if (h->status == 0)
        h->status = FC_HTTP_OK;
    unsigned status = h->status == FC_HTTP_REQUEST_HEADER_TOO_LARGE ? FC_HTTP_BAD_REQUEST : h->status;
    header_decide_framing(r, status);
    size_t len = header_estimate(r);
    fc_chain_t *cl = fc_chain_buf(r->pool, len);
    if (cl == NULL)
        return NULL;
    header_out_t o = {(char *) cl->buf->last, (char *) cl->buf->end};
    header_lit(&o, "HTTP/1.1 ");
    if (h->status_line.len) {
        header_cat(&o, h->status_line.data, h->status_line.len);
    } else {
        const char *reason = fc_http_status_reason(status);
        char code[4] = {(char) ('0' + status / 100 % 10), (char) ('0' + status / 10 % 10),
                        (char) ('0' + status % 10), ' '};
        header_cat(&o, code, 4);
        header_cat(&o, reason, strlen(reason));
    }
    header_lit(&o, "\r\n");
    if (h->server == NULL) {
        if (clcf->server_tokens)
            header_lit(&o, "Server: fulcrum/" FC_VERSION "\r\n");
        else
            header_lit(&o, "Server: fulcrum\r\n");
    }
    if (h->date == NULL) {
        const char *date = fc_time()->http_time;
        header_field(&o, "Date", 4, date, strlen(date));
    }
    if (h->content_type.len)
        header_field(&o, "Content-Type", 12, h->content_type.data, h->content_type.len);
    if (h->content_length_n >= 0 && status >= 200 && status != FC_HTTP_NO_CONTENT) {
        char num[24], *e = num + sizeof(num), *d = e;
        uint64_t v = (uint64_t) h->content_length_n;
        do
            *--d = (char) ('0' + v % 10);
        while ((v /= 10) != 0);
        header_field(&o, "Content-Length", 14, d, (size_t) (e - d));
    }
    if (h->last_modified_time >= 0) {
        char t[64];
        header_field(&o, "Last-Modified", 13, t, fc_time_http(h->last_modified_time, t, sizeof(t)));
    }
    const fc_http_field_t *location = header_relative_location(r);
    header_put_location(r, &o, location);
    if (r->chunked)
        header_lit(&o, "Transfer-Encoding: chunked\r\n");
    if (status == FC_HTTP_SWITCHING_PROTOCOLS) {
        header_lit(&o, "Connection: upgrade\r\n");
    } else if (r->keepalive) {
        header_lit(&o, "Connection: keep-alive\r\n");
        if (clcf->keepalive_header > 0)
            header_put(&o, "Keep-Alive: timeout=%" PRId64 "\r\n", clcf->keepalive_header / 1000);
    } else {
        header_lit(&o, "Connection: close\r\n");
    }
    header_put_fields(r, &o, location);
    header_lit(&o, "\r\n");
    cl->buf->last = (unsigned char *) o.p;
    if (o.p + 1 >= o.end) {
        fc_log_error(FC_LOG_ALERT, r->connection->log, 0, "response header is too large");
        return NULL;
    }
    return cl;
}

int
fc_http_send_response(fc_http_request_t *r, unsigned status, const fc_str_t *content_type,
                      const fc_str_t *body)
{
    fc_http_discard_request_body(r);
    r->headers_out.status = status;
    fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
    if (body) {
        /* As nginx's ngx_http_set_content_type: by the URI's extension (types), else default_type.
         */
        const fc_str_t *by_exten = content_type ? NULL : fc_http_core_type_for(clcf, &r->exten);
        r->headers_out.content_type = content_type ? *content_type
                                      : by_exten   ? *by_exten
                                                   : clcf->default_type;
        r->headers_out.content_length_n = (int64_t) body->len;
    } else if (status >= 200 && status != FC_HTTP_NO_CONTENT && status != FC_HTTP_NOT_MODIFIED) {
        r->headers_out.content_length_n = 0;
    }
    if (fc_http_send_header(r) == FC_ERROR) {
        fc_http_finalize_request(r, FC_ERROR);
        return FC_DONE;
    }
    fc_chain_t *cl = NULL;
    if (!r->header_only && body && body->len)
        cl = fc_chain_str(r->pool, body->data, body->len);
    else
        cl = fc_chain_buf(r->pool, 0);
    if (cl == NULL) {
        fc_http_finalize_request(r, FC_ERROR);
        return FC_DONE;
    }
    cl->buf->last_buf = 1;
    int rc = fc_http_output_filter(r, cl);
    fc_http_finalize_request(r, rc == FC_ERROR ? FC_ERROR : FC_OK);
    return FC_DONE;
}
