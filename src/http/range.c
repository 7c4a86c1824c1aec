/*
 * range.c: nginx's range filter (`max_ranges`). On a response that is a
 * complete, known entity (r->allow_ranges: the cache sets it), a 200 with a
 * known length, it answers a Range field: one range is a 206 with
 * Content-Range, several a multipart/byteranges 206, none inside the entity
 * a 416 that gives the length in Content-Range; otherwise the 200 goes out
 * with "Accept-Ranges: bytes". If-Range (an entity tag or a date) must
 * match, else the whole entity is sent. The body is cut in place, never
 * copied: a memory buffer's pos/last, a file buffer's file_pos/file_last.
 * As in nginx, a proxied response allows ranges only if its upstream sent
 * Accept-Ranges, and several ranges are cut only from a body that arrives
 * in one buffer (a cache hit's file part); docs/internals/range.md says why.
 */
#include "http/range.h"

#include <inttypes.h>

typedef struct {
    int64_t max_ranges; /* FC_UNSET; default: unlimited (nginx's INT32_MAX) */
} range_loc_conf_t;

typedef struct {
    uint64_t boundary; /* the last multipart boundary this worker used */
} range_main_conf_t;

enum { RANGE_SINGLE = 0, RANGE_MULTIPART, RANGE_PAGE };

/* "\r\n--BOUNDARY": how each part's header, and the closing line, begin */
#define RANGE_BOUNDARY_LINE (4 + FC_HTTP_RANGE_BOUNDARY_LEN)

typedef struct {
    fc_array_t ranges; /* fc_http_range_t */
    int64_t offset;    /* entity bytes the body filter has seen */
    fc_http_range_multipart_t mp;
    fc_chain_t *page;  /* RANGE_PAGE: the 416 page until it is sent */
    fc_chain_t *free;  /* links for the next filter (it relinks what it keeps) */
    fc_buf_t last;     /* the empty last_buf that ends a single range */
    unsigned mode;     /* RANGE_* */
    unsigned done : 1; /* the answer's last byte went down: drop the rest */
} range_ctx_t;

static void *range_create_main_conf(fc_conf_t *cf);
static void *range_create_loc_conf(fc_conf_t *cf);
static char *range_merge_loc_conf(fc_conf_t *cf, void *parent, void *child);
static int range_postconfiguration(fc_conf_t *cf);

#define RANGE_CONF (FC_HTTP_MAIN_CONF | FC_HTTP_SRV_CONF | FC_HTTP_LOC_CONF)

static const fc_command_t range_commands[] = {{"max_ranges", RANGE_CONF | FC_CONF_TAKE1,
                                               fc_conf_set_num_slot, FC_CONF_LOC_OFFSET,
                                               offsetof(range_loc_conf_t, max_ranges), NULL},
                                              fc_null_command};

static const fc_layer_module_ctx_t range_ctx_ops = {
    .postconfiguration = range_postconfiguration,
    .create_main_conf = range_create_main_conf,
    .create_loc_conf = range_create_loc_conf,
    .merge_loc_conf = range_merge_loc_conf,
};

fc_module_t fc_http_range_module = {
    .name = "http_range",
    .type = FC_HTTP_MODULE,
    .commands = range_commands,
    .ctx = &range_ctx_ops,
};

static void *
range_create_main_conf(fc_conf_t *cf)
{
    return fc_pcalloc(cf->pool, sizeof(range_main_conf_t));
}

static void *
range_create_loc_conf(fc_conf_t *cf)
{
    range_loc_conf_t *conf = fc_pcalloc(cf->pool, sizeof(range_loc_conf_t));
    if (conf)
        conf->max_ranges = FC_UNSET;
    return conf;
}

static char *
range_merge_loc_conf(fc_conf_t *cf, void *parent, void *child)
{
    range_loc_conf_t *prev = parent, *conf = child;
    (void) cf;
    fc_conf_merge_value(conf->max_ranges, prev->max_ranges, INT32_MAX);
    return FC_CONF_OK;
}

/* ---- parsing -------------------------------------------------------------------- */

/* The byte at p, or NUL at the end (nginx reads its NUL-terminated copy). */
static unsigned char
range_at(const unsigned char *p, const unsigned char *end)
{
    return p < end ? *p : '\0';
}

static const unsigned char *
range_blanks(const unsigned char *p, const unsigned char *end)
{
    while (p < end && *p == ' ')
        p++;
    return p;
}

/* Digits at *pp (at least one) into *v; FC_ERROR when there is none or it overflows. */
static int
range_number(const unsigned char **pp, const unsigned char *end, int64_t *v)
{
    const unsigned char *p = *pp;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    *v = fc_atoi(*pp, (size_t) (p - *pp));
    *pp = p;
    return *v < 0 ? FC_ERROR : FC_OK;
}

/*
 * One spec at *pp ("a-b", "a-", "-n") into [*start, *end) of an entity of
 * `length` bytes, cut to it; *pp stops at the ',' or the end after it.
 * FC_OK or FC_HTTP_RANGE_NOT_SATISFIABLE (a syntax error).
 */
static int
range_spec(const unsigned char **pp, const unsigned char *end, int64_t length, int64_t *start,
           int64_t *last)
{
    const unsigned char *p = range_blanks(*pp, end);
    int suffix = 0;
    *start = 0;
    *last = 0;
    if (range_at(p, end) != '-') {
        if (range_number(&p, end, start) != FC_OK)
            return FC_HTTP_RANGE_NOT_SATISFIABLE;
        p = range_blanks(p, end);
        if (range_at(p, end) != '-')
            return FC_HTTP_RANGE_NOT_SATISFIABLE;
        p = range_blanks(p + 1, end);
        if (range_at(p, end) == ',' || p == end) {
            *last = length; /* "a-": to the end */
            *pp = p;
            return FC_OK;
        }
    } else {
        suffix = 1;
        p++;
    }
    if (range_number(&p, end, last) != FC_OK)
        return FC_HTTP_RANGE_NOT_SATISFIABLE;
    p = range_blanks(p, end);
    if (p != end && *p != ',')
        return FC_HTTP_RANGE_NOT_SATISFIABLE;
    if (suffix) {
        /* "-n": the last n bytes */
        *start = *last < length ? length - *last : 0;
        *last = length - 1;
    }
    *last = *last >= length ? length : *last + 1;
    *pp = p;
    return FC_OK;
}

int
fc_http_range_parse(const fc_str_t *value, int64_t length, int64_t max_ranges, fc_array_t *ranges)
{
    if (value->len < 7 || fc_strncasecmp(value->data, (const unsigned char *) "bytes=", 6) != 0)
        return FC_DECLINED;
    const unsigned char *p = value->data + 6, *end = value->data + value->len;
    int64_t size = 0, left = max_ranges;
    for (;;) {
        int64_t start, last;
        int rc = range_spec(&p, end, length, &start, &last);
        if (rc != FC_OK)
            return rc;
        if (start < last) {
            fc_http_range_t *range = fc_array_push(ranges);
            if (range == NULL)
                return FC_ERROR;
            range->start = start;
            range->end = last;
            range->content_range.len = 0;
            range->content_range.data = NULL;
            if (size > INT64_MAX - (last - start))
                return FC_HTTP_RANGE_NOT_SATISFIABLE;
            size += last - start;
            if (left-- == 0)
                return FC_DECLINED; /* more than max_ranges: the whole entity */
        } else if (start == 0) {
            return FC_DECLINED; /* an empty entity */
        }
        if (range_at(p, end) != ',')
            break;
        p++;
    }
    if (ranges->nelts == 0)
        return FC_HTTP_RANGE_NOT_SATISFIABLE;
    /* Overlapping ranges asking for more than the entity: nginx sends it whole. */
    return size > length ? FC_DECLINED : FC_OK;
}

int
fc_http_range_if_range(const fc_str_t *if_range, const fc_str_t *etag, time_t last_modified)
{
    if (if_range->len >= 2 && if_range->data[if_range->len - 1] == '"')
        return etag != NULL && fc_str_eq(if_range, etag);
    if (last_modified == -1)
        return 0;
    return fc_time_parse_http(if_range->data, if_range->len) == last_modified;
}

/* ---- the body --------------------------------------------------------------------- */

static int64_t
range_buf_size(const fc_buf_t *b)
{
    return b->in_file ? b->file_last - b->file_pos : b->last - b->pos;
}

/* Marks a buffer consumed: its owner may reuse it. */
static void
range_consume(fc_buf_t *b)
{
    b->pos = b->last;
    b->file_pos = b->file_last;
}

int
fc_http_range_trim(fc_buf_t *b, const fc_http_range_t *range, int64_t *offset)
{
    int64_t start = *offset, last = start + range_buf_size(b);
    *offset = last;
    if (range->end <= start || range->start >= last) {
        range_consume(b);
        return -1;
    }
    if (range->start > start) {
        if (b->in_file)
            b->file_pos += range->start - start;
        else
            b->pos += range->start - start;
    }
    if (range->end > last)
        return 0;
    if (b->in_file)
        b->file_last -= last - range->end;
    else
        b->last -= last - range->end;
    return 1;
}

int64_t
fc_http_range_multipart_header(fc_pool_t *pool, fc_array_t *ranges, uint64_t boundary,
                               int64_t length, fc_str_t *content_type,
                               fc_http_range_multipart_t *mp)
{
    char num[FC_HTTP_RANGE_BOUNDARY_LEN + 1];
    snprintf(num, sizeof(num), "%0*" PRIu64, FC_HTTP_RANGE_BOUNDARY_LEN, boundary);
    /* "\r\n--B\r\nContent-Type: T\r\nContent-Range: bytes " (no Content-Type line without one) */
    size_t size = 4 + FC_HTTP_RANGE_BOUNDARY_LEN + 16 + content_type->len + 23 + 1;
    char *p = fc_pnalloc(pool, size);
    char *ct = fc_pnalloc(pool, 32 + FC_HTTP_RANGE_BOUNDARY_LEN);
    if (p == NULL || ct == NULL)
        return -1;
    int n = content_type->len
                ? snprintf(p, size, "\r\n--%s\r\nContent-Type: %.*s\r\nContent-Range: bytes ", num,
                           (int) content_type->len, content_type->data)
                : snprintf(p, size, "\r\n--%s\r\nContent-Range: bytes ", num);
    mp->boundary_header.data = (unsigned char *) p;
    mp->boundary_header.len = (size_t) n;
    n = snprintf(ct, 32 + FC_HTTP_RANGE_BOUNDARY_LEN, "multipart/byteranges; boundary=%s", num);
    content_type->data = (unsigned char *) ct;
    content_type->len = (size_t) n;
    int64_t len = RANGE_BOUNDARY_LINE + 4; /* the closing "\r\n--B--\r\n" */
    fc_http_range_t *range = ranges->elts;
    for (size_t i = 0; i < ranges->nelts; i++) {
        /* "START-LAST/LENGTH\r\n\r\n" */
        char *cr = fc_pnalloc(pool, 3 * 20 + 2 + 4 + 1);
        if (cr == NULL)
            return -1;
        n = snprintf(cr, 3 * 20 + 2 + 4 + 1, "%" PRId64 "-%" PRId64 "/%" PRId64 "\r\n\r\n",
                     range[i].start, range[i].end - 1, length);
        range[i].content_range.data = (unsigned char *) cr;
        range[i].content_range.len = (size_t) n;
        len += (int64_t) (mp->boundary_header.len + range[i].content_range.len) +
               (range[i].end - range[i].start);
    }
    return len;
}

/* A link to a new memory buffer over [p, p + len), appended at *ll. */
static fc_chain_t **
range_append_text(fc_pool_t *pool, fc_chain_t **ll, const unsigned char *p, size_t len)
{
    fc_chain_t *cl = fc_chain_str(pool, p, len);
    if (cl == NULL)
        return NULL;
    *ll = cl;
    return &cl->next;
}

/* A link to buffer b appended at *ll. */
static fc_chain_t **
range_append_buf(fc_pool_t *pool, fc_chain_t **ll, fc_buf_t *b)
{
    fc_chain_t *cl = fc_chain_alloc(pool);
    if (cl == NULL)
        return NULL;
    cl->buf = b;
    *ll = cl;
    return &cl->next;
}

fc_chain_t *
fc_http_range_multipart_body(fc_pool_t *pool, fc_array_t *ranges,
                             const fc_http_range_multipart_t *mp, fc_buf_t *b)
{
    fc_http_range_t *range = ranges->elts;
    fc_chain_t *out = NULL, **ll = &out;
    const fc_buf_t orig = *b;
    for (size_t i = 0; i < ranges->nelts && ll; i++) {
        ll = range_append_text(pool, ll, mp->boundary_header.data, mp->boundary_header.len);
        if (ll)
            ll = range_append_text(pool, ll, range[i].content_range.data,
                                   range[i].content_range.len);
        fc_buf_t *d = i + 1 < ranges->nelts ? fc_palloc(pool, sizeof(*d)) : b;
        if (ll == NULL || d == NULL)
            return NULL;
        *d = orig;
        d->tag = i + 1 < ranges->nelts ? NULL : orig.tag;
        d->last_buf = 0; /* the closing boundary ends the body */
        if (orig.in_file) {
            d->file_pos = orig.file_pos + range[i].start;
            d->file_last = orig.file_pos + range[i].end;
        } else {
            d->pos = orig.pos + range[i].start;
            d->last = orig.pos + range[i].end;
        }
        ll = range_append_buf(pool, ll, d);
    }
    unsigned char *tail = ll ? fc_pnalloc(pool, RANGE_BOUNDARY_LINE + 4) : NULL;
    if (tail == NULL)
        return NULL;
    memcpy(tail, mp->boundary_header.data, RANGE_BOUNDARY_LINE);
    memcpy(tail + RANGE_BOUNDARY_LINE, "--\r\n", 4);
    if (range_append_text(pool, ll, tail, RANGE_BOUNDARY_LINE + 4) == NULL)
        return NULL;
    (*ll)->buf->last_buf = 1;
    return out;
}

/* A link from the context's free list (the next filter relinks what it keeps). */
static fc_chain_t **
range_link(fc_http_request_t *r, range_ctx_t *ctx, fc_chain_t **ll, fc_buf_t *b)
{
    fc_chain_t *cl = ctx->free;
    if (cl)
        ctx->free = cl->next;
    else if ((cl = fc_chain_alloc(r->pool)) == NULL)
        return NULL;
    cl->buf = b;
    cl->next = NULL;
    *ll = cl;
    return &cl->next;
}

/* Hands out down and takes its links back. */
static int
range_pass(fc_http_request_t *r, range_ctx_t *ctx, fc_chain_t *out)
{
    int rc = fc_http_next_body_filter(r, &fc_http_range_module, out);
    while (out) {
        fc_chain_t *next = out->next;
        out->next = ctx->free;
        ctx->free = out;
        out = next;
    }
    return rc;
}

static int
range_single_body(fc_http_request_t *r, range_ctx_t *ctx, fc_chain_t *in)
{
    const fc_http_range_t *range = ctx->ranges.elts;
    fc_chain_t *out = NULL, **ll = &out;
    for (fc_chain_t *cl = in; cl; cl = cl->next) {
        fc_buf_t *b = cl->buf;
        if (ctx->done) {
            range_consume(b);
            continue;
        }
        int rc = fc_http_range_trim(b, range, &ctx->offset);
        if (rc < 0 && !b->last_buf)
            continue;
        if ((ll = range_link(r, ctx, ll, b)) == NULL)
            return FC_ERROR;
        if (rc == 1 || b->last_buf) {
            /* A body shorter than its length still ends at its own last buffer. */
            ctx->done = 1;
            ctx->last.last_buf = 1;
            if (!b->last_buf && range_link(r, ctx, ll, &ctx->last) == NULL)
                return FC_ERROR;
        }
    }
    return range_pass(r, ctx, out);
}

static int
range_multipart_body(fc_http_request_t *r, range_ctx_t *ctx, fc_chain_t *in)
{
    fc_chain_t *cl = in;
    if (ctx->done) {
        for (; cl; cl = cl->next)
            range_consume(cl->buf);
        return range_pass(r, ctx, NULL);
    }
    while (cl && range_buf_size(cl->buf) == 0 && !cl->buf->last_buf)
        cl = cl->next;
    if (cl == NULL || range_buf_size(cl->buf) == 0)
        return fc_http_next_body_filter(r, &fc_http_range_module, in); /* flush or an early end */
    fc_buf_t *b = cl->buf;
    const fc_http_range_t *range = ctx->ranges.elts;
    for (size_t i = 0; i < ctx->ranges.nelts && !b->last_buf; i++) {
        if (range[i].end > range_buf_size(b)) {
            /* nginx's limit: the parts are cut from the one buffer the body is in. */
            fc_log_error(FC_LOG_ALERT, r->connection->log, 0, "range in overlapped buffers");
            return FC_ERROR;
        }
    }
    fc_chain_t *out = fc_http_range_multipart_body(r->pool, &ctx->ranges, &ctx->mp, b);
    if (out == NULL)
        return FC_ERROR;
    ctx->done = 1;
    for (cl = cl->next; cl; cl = cl->next)
        range_consume(cl->buf);
    return fc_http_next_body_filter(r, &fc_http_range_module, out);
}

static int
range_body_filter(fc_http_request_t *r, fc_chain_t *in)
{
    range_ctx_t *ctx = fc_http_get_module_ctx(r, fc_http_range_module);
    if (ctx == NULL || in == NULL)
        return fc_http_next_body_filter(r, &fc_http_range_module, in);
    switch (ctx->mode) {
    case RANGE_SINGLE:
        return range_single_body(r, ctx, in);
    case RANGE_MULTIPART:
        return range_multipart_body(r, ctx, in);
    default:
        return fc_http_status_page_send(r, &fc_http_range_module, &ctx->page, in);
    }
}

/* ---- the header ---------------------------------------------------------------------- */

/* "Name: value" with a printf value in request memory. */
static int range_add_field(fc_http_request_t *r, const char *name, const char *fmt, ...)
    FC_PRINTF(3, 4);

static int
range_add_field(fc_http_request_t *r, const char *name, const char *fmt, ...)
{
    char *v = fc_pnalloc(r->pool, 80);
    if (v == NULL)
        return FC_ERROR;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(v, 80, fmt, ap);
    va_end(ap);
    if (fc_http_add_header_out(r, name, strlen(name), (unsigned char *) v, (size_t) n) == NULL)
        return FC_ERROR;
    return FC_OK;
}

static int
range_single_header(fc_http_request_t *r, range_ctx_t *ctx)
{
    const fc_http_range_t *range = ctx->ranges.elts;
    fc_http_headers_out_t *h = &r->headers_out;
    if (range_add_field(r, "Content-Range", "bytes %" PRId64 "-%" PRId64 "/%" PRId64, range->start,
                        range->end - 1, h->content_length_n) != FC_OK)
        return FC_ERROR;
    h->content_length_n = range->end - range->start;
    ctx->mode = RANGE_SINGLE;
    return FC_OK;
}

static int
range_multipart_header(fc_http_request_t *r, range_ctx_t *ctx)
{
    range_main_conf_t *rmcf = fc_http_get_module_main_conf(r, fc_http_range_module);
    fc_http_headers_out_t *h = &r->headers_out;
    int64_t len = fc_http_range_multipart_header(r->pool, &ctx->ranges, ++rmcf->boundary,
                                                 h->content_length_n, &h->content_type, &ctx->mp);
    if (len < 0)
        return FC_ERROR;
    h->content_length_n = len;
    ctx->mode = RANGE_MULTIPART;
    return FC_OK;
}

static int
range_not_satisfiable(fc_http_request_t *r, range_ctx_t *ctx)
{
    if (range_add_field(r, "Content-Range", "bytes */%" PRId64, r->headers_out.content_length_n) !=
        FC_OK)
        return FC_ERROR;
    ctx->page = fc_http_status_page_set(r, FC_HTTP_RANGE_NOT_SATISFIABLE);
    ctx->mode = RANGE_PAGE;
    return ctx->page ? FC_OK : FC_ERROR;
}

/* 1 when the request's Range applies: present, and If-Range (if any) matches. */
static int
range_requested(fc_http_request_t *r)
{
    fc_http_headers_in_t *in = &r->headers_in;
    if (in->range == NULL)
        return 0;
    if (in->if_range == NULL)
        return 1;
    fc_http_field_t *etag = r->headers_out.etag;
    return fc_http_range_if_range(&in->if_range->value, etag && etag->hash ? &etag->value : NULL,
                                  r->headers_out.last_modified_time);
}

/* r->single_range (nginx's): a body that streams (a MISS being stored) gives one range at most. */
static int64_t
range_max(fc_http_request_t *r)
{
    range_loc_conf_t *rlcf = fc_http_get_module_loc_conf(r, fc_http_range_module);
    return r->single_range ? 1 : rlcf->max_ranges;
}

/* Parses the Range: FC_OK with the answer set up, FC_DECLINED (the whole entity), FC_ERROR. */
static int
range_answer(fc_http_request_t *r)
{
    range_ctx_t *ctx = fc_pcalloc(r->pool, sizeof(*ctx));
    if (ctx == NULL || fc_array_init(&ctx->ranges, r->pool, 1, sizeof(fc_http_range_t)) != FC_OK)
        return FC_ERROR;
    int rc = fc_http_range_parse(&r->headers_in.range->value, r->headers_out.content_length_n,
                                 range_max(r), &ctx->ranges);
    if (rc == FC_OK) {
        r->headers_out.status = FC_HTTP_PARTIAL_CONTENT;
        r->headers_out.status_line.len = 0;
        rc = ctx->ranges.nelts == 1 ? range_single_header(r, ctx) : range_multipart_header(r, ctx);
    } else if (rc == FC_HTTP_RANGE_NOT_SATISFIABLE) {
        rc = range_not_satisfiable(r, ctx);
    }
    if (rc == FC_OK)
        fc_http_set_module_ctx(r, ctx, fc_http_range_module);
    return rc;
}

static int
range_header_filter(fc_http_request_t *r)
{
    range_loc_conf_t *rlcf = fc_http_get_module_loc_conf(r, fc_http_range_module);
    if (r->http_version < 1000 || r->headers_out.status != FC_HTTP_OK ||
        r->headers_out.content_length_n < 0 || !r->allow_ranges || rlcf->max_ranges == 0)
        return fc_http_next_header_filter(r, &fc_http_range_module);
    int rc = range_requested(r) ? range_answer(r) : FC_DECLINED;
    if (rc == FC_ERROR)
        return FC_ERROR;
    if (rc == FC_DECLINED &&
        fc_http_add_header_out(r, "Accept-Ranges", 13, (const unsigned char *) "bytes", 5) == NULL)
        return FC_ERROR;
    return fc_http_next_header_filter(r, &fc_http_range_module);
}

static int
range_postconfiguration(fc_conf_t *cf)
{
    return fc_http_add_filter(cf, &fc_http_range_module, range_header_filter, range_body_filter);
}
