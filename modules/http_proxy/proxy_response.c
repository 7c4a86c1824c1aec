/*
 * proxy_response.c: the upstream's response as HTTP/1.x. The status line and
 * the header fields are parsed as strictly as requests are (parse.h), with
 * the same framing rules: Content-Length with Transfer-Encoding, two
 * different lengths, or a coding other than a final chunked make the head
 * invalid (502, proxy_next_upstream invalid_header). Interim 1xx responses
 * other than 101 are skipped. The input filters remove the framing of the
 * body in place: a Content-Length body is cut at its length, a chunked one is
 * decoded (compacted toward the first data byte, so one-chunk reads move
 * nothing), a close-delimited one runs until the upstream closes.
 */
#include "proxy.h"

int
proxy_reinit_request(fc_http_upstream_t *u)
{
    proxy_ctx_t *ctx = u->data;
    ctx->state = 0; /* the status line resets the rest */
    fc_http_parser_init(&ctx->parser, 0);
    return FC_OK;
}

/* Connection: close / keep-alive tokens (any case, comma-separated). */
static void
proxy_connection_tokens(proxy_ctx_t *ctx, const fc_str_t *v)
{
    size_t i = 0;
    while (i < v->len) {
        while (i < v->len && (v->data[i] == ' ' || v->data[i] == '\t' || v->data[i] == ','))
            i++;
        size_t s = i;
        while (i < v->len && v->data[i] != ',' && v->data[i] != ' ' && v->data[i] != '\t')
            i++;
        fc_str_t t = {i - s, v->data + s};
        if (t.len == 5 && fc_strncasecmp(t.data, (const unsigned char *) "close", 5) == 0)
            ctx->conn_close = 1;
        else if (t.len == 10 &&
                 fc_strncasecmp(t.data, (const unsigned char *) "keep-alive", 10) == 0)
            ctx->conn_keepalive = 1;
    }
}

static int
proxy_invalid(fc_http_upstream_t *u, const char *what, const char *why)
{
    fc_log_error(FC_LOG_ERR, u->r->connection->log, 0, "upstream sent invalid %s: %s", what,
                 why ? why : "malformed");
    return FC_HTTP_UPSTREAM_INVALID_HEADER;
}

/* The status line: FC_OK, FC_AGAIN or invalid. */
static int
proxy_status_line(fc_http_upstream_t *u, proxy_ctx_t *ctx)
{
    fc_buf_t *b = u->buffer;
    int rc =
        fc_http_status_line_parse(&ctx->parser, &ctx->sl, b->start, (size_t) (b->last - b->start));
    if (rc == FC_AGAIN)
        return FC_AGAIN;
    if (rc != FC_OK)
        return proxy_invalid(u, "status line", ctx->parser.error);
    fc_http_upstream_headers_in_t *h = &u->headers_in;
    h->status_n = ctx->sl.status;
    h->http_version = ctx->sl.http_major * 1000 + ctx->sl.http_minor;
    /* "404 Not Found": the code starts after "HTTP/1.x ". */
    unsigned char *code = b->start + ctx->sl.start + 9;
    unsigned char *end =
        ctx->sl.reason.len ? b->start + ctx->sl.reason.off + ctx->sl.reason.len : code;
    h->status_line.data = code;
    h->status_line.len = ctx->sl.reason.len ? (size_t) (end - code) : 0;
    h->headers.nelts = 0;
    fc_http_framing_init(&ctx->framing);
    ctx->conn_close = 0;
    ctx->conn_keepalive = 0;
    ctx->state = 1;
    return FC_OK;
}

/* One header field into u->headers_in. */
static int
proxy_field(fc_http_upstream_t *u, proxy_ctx_t *ctx, const fc_http_header_t *hh)
{
    fc_buf_t *b = u->buffer;
    fc_http_field_t *f = fc_array_push(&u->headers_in.headers);
    if (f == NULL)
        return FC_ERROR;
    f->name = fc_http_span_str(b->start, hh->name);
    f->value = fc_http_span_str(b->start, hh->value);
    f->hash = hh->hash;
    if (fc_http_framing_add(&ctx->framing, f->name.data, f->name.len, f->value.data,
                            f->value.len) != FC_OK)
        return proxy_invalid(u, "header", ctx->framing.error);
    /* The fields the engine acts on, found here by length first (one compare for most). */
    fc_http_upstream_headers_in_t *h = &u->headers_in;
    switch (f->name.len) {
    case 10:
        if (fc_strn_caseeq(f->name.data, (const unsigned char *) "connection", 10))
            proxy_connection_tokens(ctx, &f->value);
        break;
    case 16:
        if (!h->x_accel_redirect &&
            fc_strn_caseeq(f->name.data, (const unsigned char *) "x-accel-redirect", 16))
            h->x_accel_redirect = (unsigned) h->headers.nelts;
        break;
    case 17:
        if (!h->x_accel_buffering &&
            fc_strn_caseeq(f->name.data, (const unsigned char *) "x-accel-buffering", 17))
            h->x_accel_buffering = (unsigned) h->headers.nelts;
        break;
    default:
        break;
    }
    return FC_OK;
}

/* The head ended: settle framing and persistence. */
static int
proxy_head_done(fc_http_upstream_t *u, proxy_ctx_t *ctx)
{
    fc_http_upstream_headers_in_t *h = &u->headers_in;
    if (fc_http_framing_finish(&ctx->framing, ctx->sl.http_major, ctx->sl.http_minor) != FC_OK)
        return proxy_invalid(u, "header", ctx->framing.error);
    h->framing = ctx->framing.kind;
    h->content_length_n = ctx->framing.kind == FC_HTTP_BODY_LENGTH ? ctx->framing.length : -1;
    h->connection_close = ctx->conn_close || (h->http_version < 1001 && !ctx->conn_keepalive);
    u->buffer->pos = u->buffer->start + ctx->parser.pos;
    return FC_OK;
}

int
proxy_process_header(fc_http_upstream_t *u)
{
    proxy_ctx_t *ctx = u->data;
    fc_buf_t *b = u->buffer;
    for (;;) {
        if (ctx->state == 0) {
            int rc = proxy_status_line(u, ctx);
            if (rc != FC_OK)
                return rc;
        }
        fc_http_header_t hh;
        int rc = fc_http_header_parse(&ctx->parser, &hh, b->start, (size_t) (b->last - b->start));
        if (rc == FC_AGAIN)
            return FC_AGAIN;
        if (rc == FC_ERROR)
            return proxy_invalid(u, "header", ctx->parser.error);
        if (rc == FC_OK) {
            rc = proxy_field(u, ctx, &hh);
            if (rc != FC_OK)
                return rc;
            continue;
        }
        /* FC_DONE: the empty line. An interim 1xx (not 101) is followed by the real head. */
        unsigned status = u->headers_in.status_n;
        if (status >= 100 && status < 200 && status != FC_HTTP_SWITCHING_PROTOCOLS) {
            fc_http_parser_init(&ctx->parser, ctx->parser.pos);
            ctx->state = 0;
            continue;
        }
        return proxy_head_done(u, ctx);
    }
}

/* ---- the body ---------------------------------------------------------------------------- */

int
proxy_input_filter_init(fc_http_upstream_t *u)
{
    proxy_ctx_t *ctx = u->data;
    fc_http_upstream_headers_in_t *h = &u->headers_in;
    fc_http_request_t *r = u->r;
    unsigned status = h->status_n;
    r->headers_out.content_length_n = -1;
    if (u->no_body_expected || status == FC_HTTP_NO_CONTENT || status == FC_HTTP_NOT_MODIFIED) {
        /* HEAD keeps the length the upstream announced; nothing follows the head. */
        if (u->no_body_expected && h->framing == FC_HTTP_BODY_LENGTH)
            r->headers_out.content_length_n = h->content_length_n;
        u->length = 0;
        return FC_OK;
    }
    switch (h->framing) {
    case FC_HTTP_BODY_LENGTH:
        u->length = h->content_length_n;
        r->headers_out.content_length_n = h->content_length_n;
        break;
    case FC_HTTP_BODY_CHUNKED:
        fc_http_chunked_init(&ctx->chunked);
        u->length = -1;
        break;
    default:
        u->length = -1; /* until the upstream closes: the connection cannot be reused */
        u->keepalive = 0;
        break;
    }
    return FC_OK;
}

/*
 * Decodes the chunked bytes b[raw, last) in place. In an empty buffer the
 * data stays where the first chunk put it (one-chunk reads move nothing);
 * after earlier data it is moved down to follow it.
 */
static int
proxy_chunked_filter(fc_http_upstream_t *u, proxy_ctx_t *ctx, fc_buf_t *b, unsigned char *raw)
{
    unsigned char *p = raw, *end = b->last;
    unsigned char *dst = raw == b->pos ? NULL : raw;
    int rc = FC_OK;
    while (p < end) {
        size_t consumed;
        fc_http_span_t d;
        rc = fc_http_chunked_parse(&ctx->chunked, p, (size_t) (end - p), &consumed, &d);
        if (rc == FC_ERROR) {
            fc_log_error(FC_LOG_ERR, u->r->connection->log, 0,
                         "upstream sent invalid chunked response: %s",
                         ctx->chunked.error ? ctx->chunked.error : "bad chunk");
            return FC_ERROR;
        }
        if (rc == FC_OK && d.len) {
            if (dst == NULL) {
                b->pos = p + d.off; /* the first data of an empty buffer stays put */
                dst = b->pos + d.len;
            } else {
                memmove(dst, p + d.off, d.len);
                dst += d.len;
            }
        }
        p += consumed;
        if (rc == FC_DONE) {
            u->extra = (size_t) (end - p);
            break;
        }
        if (rc == FC_AGAIN)
            break;
    }
    if (dst == NULL)
        b->pos = b->last = raw; /* only framing: nothing in this buffer yet */
    else
        b->last = dst;
    u->mid_unit = ctx->chunked.size > 0; /* buffered relay waits for the chunk's end */
    return rc == FC_DONE ? FC_DONE : FC_OK;
}

int
proxy_input_filter(fc_http_upstream_t *u, fc_buf_t *b, unsigned char *raw)
{
    proxy_ctx_t *ctx = u->data;
    switch (u->headers_in.framing) {
    case FC_HTTP_BODY_LENGTH: {
        size_t n = (size_t) (b->last - raw);
        if ((int64_t) n < u->length) {
            u->length -= (int64_t) n;
            return FC_OK;
        }
        u->extra = n - (size_t) u->length;
        b->last = raw + u->length;
        u->length = 0;
        return FC_DONE;
    }
    case FC_HTTP_BODY_CHUNKED:
        return proxy_chunked_filter(u, ctx, b, raw);
    default:
        return FC_OK;
    }
}
