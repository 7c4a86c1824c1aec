/*
 * vars.c: the builtin http variables, with nginx's meaning: the request
 * line ($request, $uri, $args, ...), header fields ($http_NAME,
 * $sent_http_NAME, $cookie_NAME, $arg_NAME), the response ($status,
 * $body_bytes_sent, ...) and the connection. The ones stream shares
 * ($remote_addr, $time_local, $msec, $pid, ...) are core/var_common.c's.
 * $upstream_* and $proxy_* belong to the upstream engine and the proxy
 * module; named captures ($name of (?<name>...)) to fc_http_regex_compile.
 */
#include "http/http.h"
#include "http/request.h"
#include "core/var_common.h"

#include <netinet/tcp.h>
#include <sys/random.h>

enum {
    HV_HOST,
    HV_SERVER_NAME,
    HV_SERVER_PROTOCOL,
    HV_SCHEME,
    HV_HTTPS,
    HV_REQUEST,
    HV_REQUEST_METHOD,
    HV_REQUEST_URI,
    HV_URI,
    HV_ARGS,
    HV_IS_ARGS,
    HV_CONTENT_LENGTH,
    HV_CONTENT_TYPE,
    HV_DOCUMENT_ROOT,
    HV_REQUEST_FILENAME,
    HV_STATUS,
    HV_BODY_BYTES_SENT,
    HV_BYTES_SENT,
    HV_REQUEST_LENGTH,
    HV_REQUEST_TIME,
    HV_REQUEST_COMPLETION,
    HV_CONNECTION_REQUESTS,
    HV_CONNECTION_TIME,
    HV_REQUEST_ID,
    HV_REMOTE_USER,
    HV_REQUEST_BODY,
    HV_PIPE,
    HV_TCPINFO_RTT,
    HV_TCPINFO_RTTVAR,
    HV_TCPINFO_SND_CWND,
    HV_TCPINFO_RCV_SPACE,
};

/* The variables shared with stream: the request's connection, values in the request pool. */
static int
hv_common(void *data, fc_var_value_t *v, uintptr_t which)
{
    fc_http_request_t *r = data;
    return fc_var_common_get(r->connection, r->pool, v, which);
}

/* A string of the request: "not found" when it was never set (nginx's $args without '?'). */
static int
hv_str(fc_var_value_t *v, const fc_str_t *s)
{
    if (s->data == NULL)
        fc_var_set_not_found(v);
    else
        fc_var_set_str(v, s->data, s->len);
    return FC_OK;
}

static int
hv_field(fc_var_value_t *v, const fc_http_field_t *f)
{
    if (f == NULL || f->hash == 0)
        fc_var_set_not_found(v);
    else
        fc_var_set_str(v, f->value.data, f->value.len);
    return FC_OK;
}

static int
hv_lit(fc_var_value_t *v, const char *s)
{
    fc_var_set_str(v, (const unsigned char *) s, strlen(s));
    return FC_OK;
}

/* $host: the name from the request line or Host, else the server's first server_name. */
static int
hv_host(fc_http_request_t *r, fc_var_value_t *v)
{
    if (r->headers_in.server.len)
        return hv_str(v, &r->headers_in.server);
    fc_http_core_srv_conf_t *cscf = fc_http_core_srv(r);
    fc_var_set_str(v, cscf->server_name.data ? cscf->server_name.data : (unsigned char *) "",
                   cscf->server_name.len);
    return FC_OK;
}

/* $content_length: the field as sent, else the length of a body that has one. */
static int
hv_content_length(fc_http_request_t *r, fc_var_value_t *v)
{
    if (r->headers_in.content_length && r->headers_in.content_length->hash)
        return hv_field(v, r->headers_in.content_length);
    if (r->headers_in.content_length_n >= 0)
        return fc_var_printf(r->pool, v, "%" PRId64, r->headers_in.content_length_n);
    const fc_http_request_body_t *rb = r->request_body;
    if (r->headers_in.chunked && rb && rb->done) /* as nginx: the size once read (0 if dropped) */
        return fc_var_printf(r->pool, v, "%" PRId64, rb->discard ? (int64_t) 0 : rb->received);
    fc_var_set_not_found(v);
    return FC_OK;
}

/* The request line and what the request says of itself. */
static int
hv_request(void *data, fc_var_value_t *v, uintptr_t which)
{
    fc_http_request_t *r = data;
    switch (which) {
    case HV_HOST:
        return hv_host(r, v);
    case HV_SERVER_NAME:
        return hv_str(v, &fc_http_core_srv(r)->server_name);
    case HV_SERVER_PROTOCOL:
        return hv_str(v, &r->http_protocol);
    case HV_SCHEME:
        return r->schema.len ? hv_str(v, &r->schema) : hv_lit(v, "http");
    case HV_HTTPS:
        return hv_lit(v, r->connection->tls ? "on" : "");
    case HV_REQUEST:
        return hv_str(v, &r->request_line);
    case HV_REQUEST_METHOD:
        return hv_str(v, &r->method_name);
    case HV_REQUEST_URI:
        return hv_str(v, &r->unparsed_uri);
    case HV_URI:
        return hv_str(v, &r->uri);
    case HV_ARGS:
        return hv_str(v, &r->args);
    case HV_IS_ARGS:
        return hv_lit(v, r->args.len ? "?" : "");
    case HV_CONTENT_LENGTH:
        return hv_content_length(r, v);
    case HV_CONTENT_TYPE:
        return hv_field(v, r->headers_in.content_type);
    case HV_DOCUMENT_ROOT:
        return hv_str(v, &fc_http_core_loc(r)->root);
    case HV_REQUEST_FILENAME: {
        /* root + $uri, the file nginx would serve (fulcrum serves none) */
        const fc_str_t *root = &fc_http_core_loc(r)->root;
        unsigned char *p = fc_pnalloc(r->pool, root->len + r->uri.len + 1);
        if (p == NULL)
            return FC_ERROR;
        memcpy(p, root->data, root->len);
        memcpy(p + root->len, r->uri.data, r->uri.len);
        p[root->len + r->uri.len] = '\0';
        fc_var_set_str(v, p, root->len + r->uri.len);
        return FC_OK;
    }
    default:
        return FC_ERROR;
    }
}

static unsigned
hv_status_code(const fc_http_request_t *r)
{
    if (r->err_status > 0)
        return (unsigned) r->err_status;
    return r->headers_out.status; /* 0 until a handler sets it: "000" */
}

/* The response and counters of the request. */
static int
hv_response(void *data, fc_var_value_t *v, uintptr_t which)
{
    fc_http_request_t *r = data;
    fc_pool_t *pool = r->pool;
    switch (which) {
    case HV_STATUS:
        return fc_var_printf(pool, v, "%03u", hv_status_code(r));
    case HV_BODY_BYTES_SENT:
        return fc_var_printf(pool, v, "%" PRIu64, r->body_sent);
    case HV_BYTES_SENT:
        return fc_var_printf(pool, v, "%" PRIu64, r->bytes_sent);
    case HV_REQUEST_LENGTH:
        return fc_var_printf(pool, v, "%" PRIu64, r->request_length);
    case HV_REQUEST_TIME:
        return fc_var_msec_value(pool, v, fc_current_msec() - r->start_msec);
    case HV_REQUEST_COMPLETION:
        return hv_lit(v, r->done ? "OK" : "");
    case HV_CONNECTION_REQUESTS:
        return fc_var_printf(pool, v, "%lu", r->http_connection->requests);
    case HV_CONNECTION_TIME:
        return fc_var_msec_value(pool, v, fc_current_msec() - r->connection->start_msec);
    default:
        return FC_ERROR;
    }
}

/* ---- $request_id, $remote_user, $request_body ------------------------------------------ */

static void
hv_make_request_id(fc_http_request_t *r)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t) sizeof(rnd)) {
        /* No entropy yet (early boot): a splitmix64 of what makes the request unique. */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        uint64_t x = (uint64_t) now.tv_sec * 1000000007u + (uint64_t) now.tv_nsec +
                     ((uint64_t) getpid() << 40) +
                     r->connection->number * 0x9e3779b97f4a7c15u + (uintptr_t) r;
        for (size_t i = 0; i < sizeof(rnd); i += 8) {
            uint64_t z = (x += 0x9e3779b97f4a7c15u);
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
            z ^= z >> 31;
            memcpy(rnd + i, &z, 8);
        }
    }
    for (size_t i = 0; i < sizeof(rnd); i++) {
        r->request_id[2 * i] = hex[rnd[i] >> 4];
        r->request_id[2 * i + 1] = hex[rnd[i] & 0xf];
    }
    r->request_id[32] = '\0';
}

static int
hv_b64(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decodes base64 (padding optional) into dst; the length, or -1 if invalid. */
static ssize_t
hv_base64_decode(const unsigned char *s, size_t len, unsigned char *dst)
{
    while (len > 0 && s[len - 1] == '=')
        len--;
    uint32_t acc = 0;
    size_t bits = 0, n = 0;
    for (size_t i = 0; i < len; i++) {
        int d = hv_b64(s[i]);
        if (d < 0)
            return -1;
        acc = (acc << 6) | (uint32_t) d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            dst[n++] = (unsigned char) (acc >> bits);
        }
    }
    return len % 4 == 1 ? -1 : (ssize_t) n;
}

/* $remote_user: the user of "Authorization: Basic ..." (nginx decodes it without auth_basic). */
static int
hv_remote_user(fc_http_request_t *r, fc_var_value_t *v)
{
    fc_http_field_t *f = fc_http_find_header_in(r, "authorization", 13);
    fc_var_set_not_found(v);
    if (f == NULL || f->value.len < 6 ||
        fc_strncasecmp(f->value.data, (const unsigned char *) "Basic ", 6) != 0)
        return FC_OK;
    const unsigned char *p = f->value.data + 6, *end = f->value.data + f->value.len;
    while (p < end && *p == ' ')
        p++;
    unsigned char *buf = fc_pnalloc(r->pool, (size_t) (end - p) + 1);
    if (buf == NULL)
        return FC_ERROR;
    ssize_t n = hv_base64_decode(p, (size_t) (end - p), buf);
    const unsigned char *colon = n > 0 ? memchr(buf, ':', (size_t) n) : NULL;
    if (colon == NULL || colon == buf)
        return FC_OK;
    fc_var_set_str(v, buf, (size_t) (colon - buf));
    return FC_OK;
}

/* $request_body: only a body held in memory (nginx: not when it went to a temp file). */
static int
hv_request_body(fc_http_request_t *r, fc_var_value_t *v)
{
    const fc_http_request_body_t *rb = r->request_body;
    fc_var_set_not_found(v);
    if (rb == NULL || rb->bufs == NULL || rb->in_file)
        return FC_OK;
    size_t len = 0;
    for (const fc_chain_t *cl = rb->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file)
            return FC_OK;
        len += (size_t) (cl->buf->last - cl->buf->pos);
    }
    if (rb->bufs->next == NULL) {
        fc_var_set_str(v, rb->bufs->buf->pos, len);
        return FC_OK;
    }
    unsigned char *p = fc_pnalloc(r->pool, len + 1);
    if (p == NULL)
        return FC_ERROR;
    fc_var_set_str(v, p, len);
    for (const fc_chain_t *cl = rb->bufs; cl; cl = cl->next) {
        size_t n = (size_t) (cl->buf->last - cl->buf->pos);
        if (n)
            memcpy(p, cl->buf->pos, n);
        p += n;
    }
    return FC_OK;
}

/* $tcpinfo_*: the client connection's TCP_INFO now (rtt in microseconds), as nginx. */
static int
hv_tcpinfo(fc_http_request_t *r, fc_var_value_t *v, uintptr_t which)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    if (getsockopt(r->connection->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) {
        fc_var_set_not_found(v);
        return FC_OK;
    }
    uint32_t n;
    switch (which) {
    case HV_TCPINFO_RTT:
        n = ti.tcpi_rtt;
        break;
    case HV_TCPINFO_RTTVAR:
        n = ti.tcpi_rttvar;
        break;
    case HV_TCPINFO_SND_CWND:
        n = ti.tcpi_snd_cwnd;
        break;
    case HV_TCPINFO_RCV_SPACE:
        n = ti.tcpi_rcv_space;
        break;
    default:
        return FC_ERROR;
    }
    return fc_var_printf(r->pool, v, "%" PRIu32, n);
}

static int
hv_misc(void *data, fc_var_value_t *v, uintptr_t which)
{
    fc_http_request_t *r = data;
    switch (which) {
    case HV_REQUEST_ID:
        if (r->request_id[0] == '\0')
            hv_make_request_id(r);
        fc_var_set_str(v, (const unsigned char *) r->request_id, 32);
        return FC_OK;
    case HV_REMOTE_USER:
        return hv_remote_user(r, v);
    case HV_REQUEST_BODY:
        return hv_request_body(r, v);
    case HV_PIPE:
        return hv_lit(v, r->pipeline ? "p" : ".");
    default:
        return hv_tcpinfo(r, v, which);
    }
}

/* ---- $http_NAME, $sent_http_NAME ------------------------------------------------------- */

/* A field name against a variable's suffix: any case, '-' in the field is '_' in the variable. */
static int
hv_name_eq(const fc_str_t *field, const fc_str_t *name)
{
    if (field->len != name->len)
        return 0;
    for (size_t i = 0; i < name->len; i++) {
        unsigned char c = fc_tolower(field->data[i]);
        if ((c == '-' ? '_' : c) != fc_tolower(name->data[i]))
            return 0;
    }
    return 1;
}

/* Every field so named, joined by ", " ("; " for Cookie), as nginx 1.23+. */
int
fc_http_var_fields(fc_pool_t *pool, fc_var_value_t *v, const fc_array_t *headers,
                   const fc_str_t *name)
{
    const fc_http_field_t *f = headers->elts, *first = NULL;
    size_t count = 0, len = 0;
    for (size_t i = 0; i < headers->nelts; i++) {
        if (f[i].hash == 0 || !hv_name_eq(&f[i].name, name))
            continue;
        first = first ? first : &f[i];
        count++;
        len += f[i].value.len + 2;
    }
    if (count <= 1)
        return hv_field(v, first);
    const char *sep =
        name->len == 6 && fc_strncasecmp(name->data, (const unsigned char *) "cookie", 6) == 0
            ? "; "
            : ", ";
    unsigned char *p = fc_pnalloc(pool, len), *d = p;
    if (p == NULL)
        return FC_ERROR;
    for (size_t i = 0; i < headers->nelts; i++) {
        if (f[i].hash == 0 || !hv_name_eq(&f[i].name, name))
            continue;
        if (d != p) {
            memcpy(d, sep, 2);
            d += 2;
        }
        memcpy(d, f[i].value.data, f[i].value.len);
        d += f[i].value.len;
    }
    fc_var_set_str(v, p, (size_t) (d - p));
    return FC_OK;
}

static int
hv_http(void *data, fc_var_value_t *v, uintptr_t arg)
{
    fc_http_request_t *r = data;
    return fc_http_var_fields(r->pool, v, &r->headers_in.headers, (const fc_str_t *) arg);
}

static int
hv_eq(const fc_str_t *name, const char *s)
{
    size_t n = strlen(s);
    return name->len == n && fc_strncasecmp(name->data, (const unsigned char *) s, n) == 0;
}

/* The response fields the header filter writes from headers_out's own members. */
static int
hv_sent_special(fc_http_request_t *r, fc_var_value_t *v, const fc_str_t *name)
{
    const fc_http_headers_out_t *h = &r->headers_out;
    if (hv_eq(name, "content_type") && h->content_type.len)
        return hv_str(v, &h->content_type);
    if (hv_eq(name, "content_length") && h->content_length_n >= 0)
        return fc_var_printf(r->pool, v, "%" PRId64, h->content_length_n);
    if (hv_eq(name, "transfer_encoding") && r->chunked)
        return hv_lit(v, "chunked");
    if (hv_eq(name, "connection"))
        return hv_lit(v, hv_status_code(r) == FC_HTTP_SWITCHING_PROTOCOLS ? "upgrade"
                         : r->keepalive                                   ? "keep-alive"
                                                                          : "close");
    if (hv_eq(name, "keep_alive") && r->keepalive) {
        fc_msec_t t = fc_http_core_loc(r)->keepalive_header;
        if (t > 0)
            return fc_var_printf(r->pool, v, "timeout=%" PRId64, t / 1000);
    }
    if (hv_eq(name, "last_modified") && h->last_modified_time >= 0) {
        char t[64];
        size_t n = fc_time_http(h->last_modified_time, t, sizeof(t));
        return fc_var_printf(r->pool, v, "%.*s", (int) n, t);
    }
    return FC_DECLINED;
}

static int
hv_sent_http(void *data, fc_var_value_t *v, uintptr_t arg)
{
    fc_http_request_t *r = data;
    const fc_str_t *name = (const fc_str_t *) arg;
    int rc = hv_sent_special(r, v, name);
    if (rc != FC_DECLINED)
        return rc;
    return fc_http_var_fields(r->pool, v, &r->headers_out.headers, name);
}

/* ---- $cookie_NAME, $arg_NAME ----------------------------------------------------------- */

/* The value of cookie `name` in one Cookie field (nginx's parse: any case, to ';'). */
static int
hv_cookie_in(const fc_str_t *field, const fc_str_t *name, fc_str_t *out)
{
    const unsigned char *p = field->data, *end = p + field->len;
    while (p < end) {
        if ((size_t) (end - p) >= name->len && fc_strncasecmp(p, name->data, name->len) == 0) {
            const unsigned char *q = p + name->len;
            while (q < end && *q == ' ')
                q++;
            if (q < end && *q == '=') {
                for (q++; q < end && *q == ' '; q++) {
                }
                out->data = (unsigned char *) q;
                while (q < end && *q != ';')
                    q++;
                out->len = (size_t) (q - out->data);
                return 1;
            }
        }
        while (p < end && *p != ';' && *p != ',')
            p++;
        for (p += p < end; p < end && *p == ' '; p++) {
        }
    }
    return 0;
}

static int
hv_cookie(void *data, fc_var_value_t *v, uintptr_t arg)
{
    fc_http_request_t *r = data;
    const fc_str_t *name = (const fc_str_t *) arg;
    const fc_http_field_t *f = r->headers_in.headers.elts;
    fc_var_set_not_found(v);
    for (size_t i = 0; i < r->headers_in.headers.nelts; i++) {
        fc_str_t value;
        if (f[i].hash == 0 || !hv_eq(&f[i].name, "cookie") ||
            !hv_cookie_in(&f[i].value, name, &value))
            continue;
        fc_var_set_str(v, value.data, value.len);
        break;
    }
    return FC_OK;
}

/* $arg_NAME: the first "NAME=value" of the query string (name in any case), not decoded. */
static int
hv_arg(void *data, fc_var_value_t *v, uintptr_t arg)
{
    fc_http_request_t *r = data;
    const fc_str_t *name = (const fc_str_t *) arg;
    const unsigned char *p = r->args.data, *end = p + r->args.len;
    fc_var_set_not_found(v);
    while (p && p < end) {
        const unsigned char *amp = memchr(p, '&', (size_t) (end - p));
        const unsigned char *seg_end = amp ? amp : end;
        if ((size_t) (seg_end - p) > name->len && p[name->len] == '=' &&
            fc_strncasecmp(p, name->data, name->len) == 0) {
            const unsigned char *value = p + name->len + 1;
            fc_var_set_str(v, value, (size_t) (seg_end - value));
            return FC_OK;
        }
        p = amp ? amp + 1 : end;
    }
    return FC_OK;
}

/* ---- the table ------------------------------------------------------------------------ */

#define NC FC_VAR_NOCACHEABLE
#define PFX (FC_VAR_PREFIX | FC_VAR_NOCACHEABLE)
static const fc_var_def_t http_vars[] = {
    {"host", hv_request, HV_HOST, 0},
    {"server_name", hv_request, HV_SERVER_NAME, 0},
    {"server_protocol", hv_request, HV_SERVER_PROTOCOL, 0},
    {"scheme", hv_request, HV_SCHEME, 0},
    {"https", hv_request, HV_HTTPS, 0},
    {"request", hv_request, HV_REQUEST, 0},
    {"request_method", hv_request, HV_REQUEST_METHOD, NC},
    {"request_uri", hv_request, HV_REQUEST_URI, 0},
    {"uri", hv_request, HV_URI, NC},
    {"document_uri", hv_request, HV_URI, NC},
    {"args", hv_request, HV_ARGS, NC},
    {"query_string", hv_request, HV_ARGS, NC},
    {"is_args", hv_request, HV_IS_ARGS, NC},
    {"content_length", hv_request, HV_CONTENT_LENGTH, 0},
    {"content_type", hv_request, HV_CONTENT_TYPE, 0},
    {"document_root", hv_request, HV_DOCUMENT_ROOT, NC},
    {"request_filename", hv_request, HV_REQUEST_FILENAME, NC},
    {"status", hv_response, HV_STATUS, NC},
    {"body_bytes_sent", hv_response, HV_BODY_BYTES_SENT, NC},
    {"bytes_sent", hv_response, HV_BYTES_SENT, NC},
    {"request_length", hv_response, HV_REQUEST_LENGTH, NC},
    {"request_time", hv_response, HV_REQUEST_TIME, NC},
    {"request_completion", hv_response, HV_REQUEST_COMPLETION, NC},
    {"connection_requests", hv_response, HV_CONNECTION_REQUESTS, 0},
    {"connection_time", hv_response, HV_CONNECTION_TIME, NC},
    {"request_id", hv_misc, HV_REQUEST_ID, 0},
    {"remote_user", hv_misc, HV_REMOTE_USER, 0},
    {"request_body", hv_misc, HV_REQUEST_BODY, NC},
    {"pipe", hv_misc, HV_PIPE, 0},
    {"tcpinfo_rtt", hv_misc, HV_TCPINFO_RTT, NC},
    {"tcpinfo_rttvar", hv_misc, HV_TCPINFO_RTTVAR, NC},
    {"tcpinfo_snd_cwnd", hv_misc, HV_TCPINFO_SND_CWND, NC},
    {"tcpinfo_rcv_space", hv_misc, HV_TCPINFO_RCV_SPACE, NC},
    {"http_", hv_http, 0, FC_VAR_PREFIX},
    {"sent_http_", hv_sent_http, 0, PFX},
    {"sent_trailer_", fc_var_get_never, 0, PFX}, /* no trailers are sent (no add_trailer) */
    {"cookie_", hv_cookie, 0, FC_VAR_PREFIX},
    {"arg_", hv_arg, 0, PFX},
    {NULL, NULL, 0, 0}};

int
fc_http_variables_add(fc_var_registry_t *reg)
{
    if (fc_var_common_define(reg, hv_common) != FC_OK)
        return FC_ERROR;
    return fc_var_define_table(reg, http_vars);
}

int
fc_http_cv_eval(fc_http_request_t *r, const fc_cv_t *cv, fc_str_t *out)
{
    fc_http_core_main_conf_t *cmcf = fc_http_core_main(r);
    return fc_cv_eval(cv, &cmcf->vars, r->variables, r, r->pool, &r->captures, out);
}

fc_var_value_t *
fc_http_get_indexed_variable(fc_http_request_t *r, size_t i)
{
    fc_http_core_main_conf_t *cmcf = fc_http_core_main(r);
    return fc_var_get(&cmcf->vars, r->variables, r, i);
}
