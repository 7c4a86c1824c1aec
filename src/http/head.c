/*
 * head.c: from the bytes of a request head to a request ready for its
 * phases. The parser (parse.h) has already refused anything malformed or
 * ambiguous; here the fields get their meaning: the host and the virtual
 * server, the body's framing (smuggling rules), keep-alive, $uri.
 */
#include "http/request.h"

int
fc_http_head_parse(fc_http_request_impl_t *ri)
{
    fc_http_request_t *r = &ri->r;
    fc_buf_t *b = &r->http_connection->buf;
    const unsigned char *buf = b->start;
    size_t len = (size_t) (b->last - b->start);
    fc_log_t *log = r->connection->log;
    size_t large = r->http_connection->default_server->large_client_header_buffers_size;
    if (ri->state == 0) {
        int rc = fc_http_request_line_parse(&ri->parser, &ri->rl, buf, len);
        if (rc == FC_AGAIN)
            return FC_AGAIN;
        if (rc != FC_OK) {
            fc_log_error(FC_LOG_INFO, log, 0, "client sent invalid request: %s",
                         ri->parser.error ? ri->parser.error : "bad request line");
            return ri->parser.status ? ri->parser.status : FC_HTTP_BAD_REQUEST;
        }
        if (ri->rl.end - ri->rl.start > large) {
            fc_log_error(FC_LOG_INFO, log, 0, "client sent too long URI");
            return FC_HTTP_REQUEST_URI_TOO_LARGE;
        }
        ri->state = 1;
        ri->line_start = ri->parser.pos;
        r->connection->log->action = "reading client request headers";
    }
    for (;;) {
        fc_http_header_t h;
        int rc = fc_http_header_parse(&ri->parser, &h, buf, len);
        if (rc == FC_AGAIN)
            return FC_AGAIN;
        if (rc == FC_DONE)
            return FC_DONE;
        if (rc != FC_OK) {
            fc_log_error(FC_LOG_INFO, log, 0, "client sent invalid header line: %s",
                         ri->parser.error ? ri->parser.error : "bad field");
            return FC_HTTP_BAD_REQUEST;
        }
        if (ri->parser.pos - ri->line_start > large) {
            fc_log_error(FC_LOG_INFO, log, 0, "client sent too long header line");
            return FC_HTTP_REQUEST_HEADER_TOO_LARGE;
        }
        ri->line_start = ri->parser.pos;
        fc_http_field_t *f = fc_array_push(&r->headers_in.headers);
        if (f == NULL)
            return FC_HTTP_INTERNAL_SERVER_ERROR;
        /* Offsets for now: the buffer may still move; head_fix_fields() makes them pointers. */
        f->name.data = (unsigned char *) (uintptr_t) h.name.off;
        f->name.len = h.name.len;
        f->value.data = (unsigned char *) (uintptr_t) h.value.off;
        f->value.len = h.value.len;
        f->hash = h.hash;
        if (fc_http_framing_add(&ri->framing, buf + h.name.off, h.name.len, buf + h.value.off,
                                h.value.len) != FC_OK) {
            fc_log_error(FC_LOG_INFO, log, 0, "client sent invalid header line: %s",
                         ri->framing.error ? ri->framing.error : "bad framing");
            return FC_HTTP_BAD_REQUEST;
        }
    }
}

static int
head_token_eq(const unsigned char *p, size_t n, const char *s)
{
    return n == strlen(s) && fc_strncasecmp(p, (const unsigned char *) s, n) == 0;
}

/* The Connection field's tokens: close, keep-alive (upgrade is read by the proxy). */
static unsigned
head_connection_type(const fc_str_t *v)
{
    unsigned type = FC_HTTP_CONNECTION_NONE;
    const unsigned char *p = v->data, *end = v->data + v->len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        const unsigned char *t = p;
        while (p < end && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        if (head_token_eq(t, (size_t) (p - t), "close"))
            type = FC_HTTP_CONNECTION_CLOSE;
        else if (head_token_eq(t, (size_t) (p - t), "keep-alive") &&
                 type != FC_HTTP_CONNECTION_CLOSE)
            type = FC_HTTP_CONNECTION_KEEP_ALIVE;
    }
    return type;
}

/*
 * How a second line of a known field is taken, as nginx 1.22 takes it:
 * most keep the first (ngx_http_process_header_line), Connection the last
 * (its value is what counts), and the ones that make no sense twice are a
 * 400 (ngx_http_process_unique_header_line, and Host).
 */
enum { HEAD_FIRST = 0, HEAD_LAST, HEAD_UNIQUE };

typedef struct {
    fc_str_t name;
    size_t offset; /* of the fc_http_field_t * in fc_http_headers_in_t */
    unsigned twice; /* HEAD_* */
} head_known_t;

#define HEAD_KNOWN(n, f, t) {fc_string(n), offsetof(fc_http_headers_in_t, f), t}
static const head_known_t head_known[] = {
    HEAD_KNOWN("host", host, HEAD_UNIQUE),
    HEAD_KNOWN("connection", connection, HEAD_LAST),
    HEAD_KNOWN("upgrade", upgrade, HEAD_FIRST),
    HEAD_KNOWN("expect", expect, HEAD_UNIQUE),
    HEAD_KNOWN("user-agent", user_agent, HEAD_FIRST),
    HEAD_KNOWN("referer", referer, HEAD_FIRST),
    HEAD_KNOWN("content-type", content_type, HEAD_FIRST),
    HEAD_KNOWN("content-length", content_length, HEAD_LAST), /* the framing parser judges */
    HEAD_KNOWN("transfer-encoding", transfer_encoding, HEAD_LAST),
    HEAD_KNOWN("accept-encoding", accept_encoding, HEAD_FIRST),
    HEAD_KNOWN("if-modified-since", if_modified_since, HEAD_UNIQUE),
    HEAD_KNOWN("if-none-match", if_none_match, HEAD_UNIQUE),
    HEAD_KNOWN("if-match", if_match, HEAD_UNIQUE),
    HEAD_KNOWN("if-unmodified-since", if_unmodified_since, HEAD_UNIQUE),
    HEAD_KNOWN("range", range, HEAD_FIRST),
    HEAD_KNOWN("if-range", if_range, HEAD_UNIQUE),
    HEAD_KNOWN("via", via, HEAD_FIRST),
    HEAD_KNOWN("authorization", authorization, HEAD_UNIQUE),
};

/*
 * 1 when nginx would take the name as valid: letters, digits and "-", and
 * "_" with underscores_in_headers. The parser has already refused bytes
 * that are not RFC 9110 token characters; the other token characters
 * ("." "!" "#" ...) and "_" are what ignore_invalid_headers drops.
 */
static int
head_name_valid(const fc_str_t *name, int underscores)
{
    for (size_t i = 0; i < name->len; i++) {
        unsigned char c = name->data[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || (c == '_' && underscores)))
            return 0;
    }
    return 1;
}

/* The fields' recorded offsets into the head buffer become pointers (it moves no more). */
static void
head_fields_to_pointers(fc_http_request_t *r)
{
    unsigned char *base = r->http_connection->buf.start;
    fc_http_field_t *f = r->headers_in.headers.elts;
    for (size_t i = 0; i < r->headers_in.headers.nelts; i++) {
        f[i].name.data = base + (uintptr_t) f[i].name.data;
        f[i].value.data = base + (uintptr_t) f[i].value.data;
    }
}

/* Turns the recorded offsets into pointers and notes the known fields (names in any case). */
static int
head_fix_fields(fc_http_request_t *r)
{
    fc_http_core_srv_conf_t *cscf = fc_http_core_srv(r);
    int drop_invalid = cscf->ignore_invalid_headers, underscores = cscf->underscores_in_headers;
    fc_http_field_t *f = r->headers_in.headers.elts;
    fc_http_headers_in_t *in = &r->headers_in;
    head_fields_to_pointers(r);
    for (size_t i = 0; i < in->headers.nelts; i++) {
        if (drop_invalid && !head_name_valid(&f[i].name, underscores)) {
            fc_log_error(FC_LOG_INFO, r->connection->log, 0,
                         "client sent invalid header line: \"%.*s\"", (int) f[i].name.len,
                         f[i].name.data);
            f[i].hash = 0; /* ignored, as nginx does */
            continue;
        }
        const head_known_t *k = head_known;
        while (k < head_known + fc_nelems(head_known) && !fc_str_caseeq(&f[i].name, &k->name))
            k++;
        if (k == head_known + fc_nelems(head_known))
            continue;
        fc_http_field_t **slot = (fc_http_field_t **) ((char *) in + k->offset);
        if (*slot && k->twice == HEAD_UNIQUE) {
            if (k == head_known)
                fc_log_error(FC_LOG_INFO, r->connection->log, 0,
                             "client sent duplicate host header");
            else
                fc_log_error(FC_LOG_INFO, r->connection->log, 0,
                             "client sent duplicate header line: \"%.*s: %.*s\", previous value: "
                             "\"%.*s: %.*s\"",
                             (int) f[i].name.len, f[i].name.data, (int) f[i].value.len,
                             f[i].value.data, (int) (*slot)->name.len, (*slot)->name.data,
                             (int) (*slot)->value.len, (*slot)->value.data);
            return FC_HTTP_BAD_REQUEST;
        }
        if (*slot == NULL || k->twice == HEAD_LAST)
            *slot = &f[i];
    }
    return FC_OK;
}

/* nginx's host check: lowercase, no port, no path characters, no empty labels at the end. */
static inline int
head_validate_host(fc_pool_t *pool, const fc_str_t *in, fc_str_t *out)
{
    size_t len = in->len, dot_pos = (size_t) -1, host_len = in->len;
    int bracket = 0;
    if (len == 0)
        return FC_ERROR;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = in->data[i];
        switch (c) {
        case '.':
            if (dot_pos == i - 1)
                return FC_ERROR;
            dot_pos = i;
            break;
        case ':':
            if (!bracket)
                host_len = i, i = len;
            break;
        case '[':
            if (i == 0)
                bracket = 1;
            break;
        case ']':
            bracket = 0;
            break;
        case '/':
        case '\\':
        case '\0':
            return FC_ERROR;
        default:
            if (c < 0x21 || c == 0x7f)
                return FC_ERROR;
        }
    }
    if (host_len > 0 && in->data[host_len - 1] == '.')
        host_len--; /* "example.com." is example.com */
    if (host_len == 0)
        return FC_ERROR;
    out->data = fc_pnalloc(pool, host_len);
    if (out->data == NULL)
        return FC_ERROR;
    for (size_t i = 0; i < host_len; i++)
        out->data[i] = fc_tolower(in->data[i]);
    out->len = host_len;
    return FC_OK;
}

/* $uri from the path: decoded and normalized; $args; the extension. */
static inline int
head_set_uri(fc_http_request_impl_t *ri)
{
    fc_http_request_t *r = &ri->r;
    const fc_http_request_line_t *rl = &ri->rl;
    unsigned char *base = r->http_connection->buf.start;
    if (rl->form != FC_HTTP_TARGET_ORIGIN && rl->form != FC_HTTP_TARGET_ABSOLUTE)
        return FC_ERROR; /* CONNECT host:port, OPTIONS *: not served */
    fc_str_t path = fc_http_span_str(base, rl->path);
    if (path.len == 0) {
        path.data = (unsigned char *) "/";
        path.len = 1;
    }
    fc_http_core_srv_conf_t *cscf = fc_http_core_srv(r);
    if (rl->uri_flags & FC_HTTP_URI_COMPLEX) {
        fc_str_t out = {0, fc_pnalloc(r->pool, path.len + 1)};
        if (out.data == NULL || fc_http_normalize_path(&path, &out, cscf->merge_slashes) != FC_OK)
            return FC_ERROR;
        r->uri = out;
    } else {
        r->uri = path;
    }
    if (rl->has_args)
        r->args = fc_http_span_str(base, rl->args);
    fc_http_set_exten(r);
    return FC_OK;
}

void
fc_http_set_exten(fc_http_request_t *r)
{
    r->exten.len = 0;
    r->exten.data = NULL;
    /* As nginx: a dot that starts a segment (".htaccess") begins no extension. */
    for (size_t i = r->uri.len; i-- > 1;) {
        if (r->uri.data[i] == '/')
            return;
        if (r->uri.data[i] == '.' && r->uri.data[i - 1] != '/') {
            r->exten.data = r->uri.data + i + 1;
            r->exten.len = r->uri.len - i - 1;
            return;
        }
    }
}

void
fc_http_head_set_line(fc_http_request_impl_t *ri)
{
    fc_http_request_t *r = &ri->r;
    const fc_http_request_line_t *rl = &ri->rl;
    unsigned char *base = r->http_connection->buf.start;
    size_t end = rl->end - 1; /* the LF */
    if (end > rl->start && base[end - 1] == '\r')
        end--;
    r->request_line.data = base + rl->start;
    r->request_line.len = end - rl->start;
    r->method_name = fc_http_span_str(base, rl->method);
    r->method = rl->method_id;
    r->http_version = rl->http_major * 1000 + rl->http_minor;
    if (r->request_line.len >= 8) {
        r->http_protocol.data = base + end - 8;
        r->http_protocol.len = 8;
    }
    r->unparsed_uri = fc_http_span_str(base, rl->target);
    if (rl->form == FC_HTTP_TARGET_ABSOLUTE) {
        /* As nginx: $request_uri is the path and query, without the scheme and host. */
        size_t target_end = rl->target.off + rl->target.len;
        size_t from = rl->path.len ? rl->path.off : rl->has_args ? rl->args.off - 1 : target_end;
        if (from < target_end) {
            r->unparsed_uri.data = base + from;
            r->unparsed_uri.len = target_end - from;
        } else {
            fc_str_set(&r->unparsed_uri, "/");
        }
    }
    r->header_only = r->method == FC_HTTP_METHOD_HEAD;
}

/*
 * A head that failed (a bad line or field, a timeout, the client gone):
 * what came is kept for the log, as nginx logs it. The request line (as
 * far as it came, when the line itself is bad), $uri, the fields read so
 * far and the host they name; what is not there stays empty.
 */
void
fc_http_head_partial(fc_http_request_impl_t *ri)
{
    fc_http_request_t *r = &ri->r;
    fc_http_headers_in_t *in = &r->headers_in;
    fc_buf_t *b = &r->http_connection->buf;
    size_t have = b->start ? (size_t) (b->last - b->start) : 0;
    if (ri->state == 0) {
        in->headers.nelts = 0;
        size_t from = ri->parser.mark[0];
        if (from >= have)
            return;
        unsigned char *s = b->start + from, *nl = memchr(s, '\n', have - from);
        size_t n = nl ? (size_t) (nl - s) : have - from;
        if (n && s[n - 1] == '\r')
            n--;
        r->request_line.data = s;
        r->request_line.len = n;
        return;
    }
    fc_http_head_set_line(ri);
    r->request_length = have - ri->rl.start;
    if (head_set_uri(ri) != FC_OK)
        r->uri.len = 0;
    head_fields_to_pointers(r);
    fc_http_field_t *f = in->headers.elts;
    for (size_t i = 0; i < in->headers.nelts; i++) {
        static const fc_str_t host = fc_string("host");
        if (in->server.len == 0 && fc_str_caseeq(&f[i].name, &host) &&
            head_validate_host(r->pool, &f[i].value, &in->server) != FC_OK)
            in->server.len = 0;
    }
}

/* Keep-alive as the client asked, within the server's limits. */
static void
head_set_keepalive(fc_http_request_t *r)
{
    fc_http_connection_t *hc = r->http_connection;
    fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
    unsigned type = r->headers_in.connection_type;
    int wants = r->http_version >= 1001 ? type != FC_HTTP_CONNECTION_CLOSE
                                        : type == FC_HTTP_CONNECTION_KEEP_ALIVE;
    fc_worker_t *w = fc_http_worker(r);
    r->keepalive = wants && clcf->keepalive_timeout > 0 &&
                   (int64_t) hc->requests < clcf->keepalive_requests &&
                   fc_current_msec() - hc->start_msec < clcf->keepalive_time &&
                   !(w && w->draining);
}

static int
head_process_fields(fc_http_request_impl_t *ri)
{
    fc_http_request_t *r = &ri->r;
    fc_http_headers_in_t *in = &r->headers_in;
    fc_log_t *log = r->connection->log;
    int rc = head_fix_fields(r);
    if (rc != FC_OK)
        return rc;
    if (fc_http_framing_finish(&ri->framing, ri->rl.http_major, ri->rl.http_minor) != FC_OK) {
        fc_log_error(FC_LOG_INFO, log, 0, "client sent invalid request: %s",
                     ri->framing.error ? ri->framing.error : "bad framing");
        /* Issue #3: any framing we do not accept is a 400, never forwarded. */
        return FC_HTTP_BAD_REQUEST;
    }
    if (ri->framing.kind == FC_HTTP_BODY_LENGTH)
        in->content_length_n = ri->framing.length;
    else if (ri->framing.kind == FC_HTTP_BODY_CHUNKED)
        in->chunked = 1;
    if (in->connection)
        in->connection_type = head_connection_type(&in->connection->value);
    if (in->expect && r->http_version >= 1001 &&
        head_token_eq(in->expect->value.data, in->expect->value.len, "100-continue"))
        in->expect_continue = 1;
    fc_str_t host = {0, NULL};
    if (ri->rl.form == FC_HTTP_TARGET_ABSOLUTE) {
        host = fc_http_span_str(r->http_connection->buf.start, ri->rl.host);
    } else if (in->host) {
        host = in->host->value;
    } else if (r->http_version >= 1001) {
        fc_log_error(FC_LOG_INFO, log, 0, "client sent HTTP/1.1 request without \"Host\" header");
        return FC_HTTP_BAD_REQUEST;
    }
    if ((host.data || in->host) && head_validate_host(r->pool, &host, &in->server) != FC_OK) {
        fc_log_error(FC_LOG_INFO, log, 0, "client sent invalid host header");
        return FC_HTTP_BAD_REQUEST;
    }
    return FC_OK;
}

/*
 * As nginx packs a head into its buffers: lines stay in the
 * client_header_buffer_size buffer while they fit; a line that does not fit
 * moves whole to a fresh large_client_header_buffers buffer, and a head
 * that needs more of those than there are is refused: 414 in the request
 * line, else 494. (The whole head is in one buffer here; this replays
 * nginx's packing over its lines, so five 5000-byte fields are 494 with the
 * default 4 8k, as in nginx, though they total less than 32k.)
 */
static int
head_fits_nginx_buffers(fc_http_request_impl_t *ri)
{
    fc_http_request_t *r = &ri->r;
    fc_http_core_srv_conf_t *cscf = r->http_connection->default_server;
    const unsigned char *buf = r->http_connection->buf.start;
    size_t large = cscf->large_client_header_buffers_size, cap = cscf->client_header_buffer_size;
    size_t used = 0, nlarge = 0, start = ri->rl.start, end = ri->parser.pos;
    if (end - start <= cap)
        return FC_OK; /* the common case: the whole head fits the first buffer */
    for (unsigned line = 0; start < end; line++) {
        const unsigned char *lf = memchr(buf + start, '\n', end - start);
        size_t len = lf ? (size_t) (lf - (buf + start)) + 1 : end - start;
        if (used + len <= cap) {
            used += len;
            start += len;
            continue;
        }
        if (len > large || nlarge == (size_t) cscf->large_client_header_buffers_num) {
            if (line == 0) {
                fc_log_error(FC_LOG_INFO, r->connection->log, 0, "client sent too long URI");
                return FC_HTTP_REQUEST_URI_TOO_LARGE;
            }
            if (len > large)
                fc_log_error(FC_LOG_INFO, r->connection->log, 0,
                             "client sent too long header line: \"%.*s...\"", (int) fc_min(len, 32),
                             buf + start);
            else
                fc_log_error(FC_LOG_INFO, r->connection->log, 0, "client sent too large request");
            return FC_HTTP_REQUEST_HEADER_TOO_LARGE;
        }
        nlarge++;
        cap = large;
        used = len;
        start += len;
    }
    return FC_OK;
}

void
fc_http_process_request(fc_http_request_t *r)
{
    fc_http_request_impl_t *ri = (fc_http_request_impl_t *) r;
    fc_http_connection_t *hc = r->http_connection;
    fc_connection_t *c = r->connection;
    fc_http_head_set_line(ri);
    hc->buf.pos = hc->buf.start + ri->parser.pos;
    r->request_length = ri->parser.pos - ri->rl.start;
    if (c->read->timer_set)
        fc_event_del_timer(c->loop, c->read);
    c->log->action = NULL;
    r->read_event_handler = fc_http_block_reading;
    int rc = head_process_fields(ri); /* the fields are pointers from here on */
    if (rc == FC_OK)
        rc = head_fits_nginx_buffers(ri);
    if (rc == FC_OK && head_set_uri(ri) != FC_OK) {
        fc_log_error(FC_LOG_INFO, c->log, 0, "client sent invalid request target");
        rc = FC_HTTP_BAD_REQUEST;
    }
    if (rc == FC_OK) {
        fc_http_core_srv_conf_t *cscf = fc_http_find_virtual_server(hc, r, &r->headers_in.server);
        if (cscf) {
            r->srv_conf = cscf->ctx->srv_conf;
            r->loc_conf = cscf->ctx->loc_conf;
            fc_log_use_destinations(c->log, fc_http_core_loc(r)->error_log);
        }
        if (c->tls || hc->plain_http)
            rc = fc_http_ssl_check_request(r);
        if (rc == FC_OK && r->method == FC_HTTP_METHOD_TRACE) {
            /* As nginx: TRACE is refused before any location runs (it would echo credentials). */
            fc_log_error(FC_LOG_INFO, c->log, 0, "client sent TRACE method");
            rc = FC_HTTP_NOT_ALLOWED;
        }
    }
    if (rc != FC_OK) {
        r->lingering_close = 1;
        fc_http_finalize_request(r, rc);
        return;
    }
    head_set_keepalive(r);
    r->phase = FC_HTTP_POST_READ_PHASE;
    r->phase_handler = 0;
    fc_http_core_run_phases(r);
}
