/*
 * gzip_filter.c: the gzip filters. The header filter decides, as nginx's
 * does, whether a response is compressed (and says so: Content-Encoding,
 * no Content-Length, a weak ETag, Vary); the body filter streams it through
 * zlib's deflate with a gzip wrapper: never the whole body at once, output
 * in at most gzip_buffers buffers, flushed when a buffer asks for it and
 * finished with the last one. A file part (a cache hit's body) is read in
 * bounded pieces with pread().
 */
#include "gzip.h"

#include <zlib.h>

#define GZIP_PIECE (32 * 1024) /* what is read of a file part at a time */

typedef struct {
    fc_http_request_t *r;
    z_stream zs;
    unsigned char *mem; /* zlib's memory, taken in one piece (nginx's estimate) */
    size_t mem_size;
    size_t mem_used;
    int wbits;
    int memlevel;
    int flush;      /* Z_NO_FLUSH, Z_SYNC_FLUSH or Z_FINISH for the input fed */
    fc_chain_t *in; /* buffers handed to us and not yet fed to zlib */
    fc_chain_t **in_tail;
    fc_buf_t *in_buf;     /* the buffer zlib reads now */
    unsigned char *piece; /* GZIP_PIECE bytes: a file part's bytes being compressed */
    fc_buf_t *out_buf;    /* the buffer zlib writes into */
    fc_chain_t *out;      /* full buffers to hand down */
    fc_chain_t **out_tail;
    fc_chain_t *busy; /* handed down, not sent yet (oldest first) */
    fc_chain_t **busy_tail;
    fc_chain_t *free;       /* sent: reusable */
    fc_chain_t *free_links; /* spare links */
    int64_t nbufs;          /* output buffers allocated (<= gzip_buffers number) */
    uint64_t zin;           /* totals once the stream ended ($gzip_ratio) */
    uint64_t zout;
    unsigned started : 1;
    unsigned done : 1;
    unsigned redo : 1;   /* the output buffer filled up: zlib may have more */
    unsigned nomem : 1;  /* every output buffer waits to be sent */
    unsigned failed : 1; /* the stream broke: nothing more goes down */
} gzip_ctx_t;

/* ---- the header filter: whether to compress ------------------------------------------ */

static int
gzip_name_is(const fc_http_field_t *f, const char *name, size_t len)
{
    return f->hash && f->name.len == len &&
           fc_strncasecmp(f->name.data, (const unsigned char *) name, len) == 0;
}

/* The response is one gzip may compress (before asking the request). */
static int
gzip_response_fits(fc_http_request_t *r, const gzip_loc_conf_t *conf)
{
    unsigned status = r->headers_out.status ? r->headers_out.status : FC_HTTP_OK;
    if (status != FC_HTTP_OK && status != FC_HTTP_FORBIDDEN && status != FC_HTTP_NOT_FOUND)
        return 0;
    /* HEAD is answered like GET (Content-Encoding, no length), only without the body. */
    if (r->header_only && r->method != FC_HTTP_METHOD_HEAD)
        return 0;
    const fc_http_field_t *f = r->headers_out.headers.elts;
    for (size_t i = 0; i < r->headers_out.headers.nelts; i++)
        if (gzip_name_is(&f[i], "content-encoding", 16) && f[i].value.len)
            return 0; /* already encoded: never twice */
    int64_t len = r->headers_out.content_length_n;
    if (len != -1 && len < (int64_t) conf->min_length)
        return 0;
    return fc_http_mime_list_has(&conf->types, &r->headers_out.content_type);
}

/* What gzip_proxied looks at, gathered from the request and the response. */
static void
gzip_proxied_facts(fc_http_request_t *r, gzip_proxied_facts_t *facts)
{
    memset(facts, 0, sizeof(*facts));
    facts->now = fc_time()->sec;
    facts->date = r->headers_out.date ? &r->headers_out.date->value : NULL;
    facts->authorization = r->headers_in.authorization != NULL;
    facts->etag = r->headers_out.etag != NULL;
    facts->last_modified = r->headers_out.last_modified_time >= 0;
    const fc_http_field_t *f = r->headers_out.headers.elts;
    for (size_t i = 0; i < r->headers_out.headers.nelts; i++) {
        if (gzip_name_is(&f[i], "expires", 7)) {
            facts->expires = &f[i].value; /* the last one, as nginx keeps it */
        } else if (gzip_name_is(&f[i], "last-modified", 13)) {
            facts->last_modified = 1;
        } else if (gzip_name_is(&f[i], "cache-control", 13)) {
            facts->cache_control = 1;
            facts->cc_no_cache |= (unsigned) gzip_cc_has(&f[i].value, "no-cache");
            facts->cc_no_store |= (unsigned) gzip_cc_has(&f[i].value, "no-store");
            facts->cc_private |= (unsigned) gzip_cc_has(&f[i].value, "private");
        }
    }
}

/* The request lets the response be compressed (nginx's ngx_http_gzip_ok). */
static int
gzip_request_ok(fc_http_request_t *r, const gzip_loc_conf_t *conf)
{
    const fc_http_field_t *ae = r->headers_in.accept_encoding;
    const fc_http_field_t *ua = r->headers_in.user_agent;
    if (ae == NULL || !gzip_accepts(&ae->value))
        return 0;
    if (conf->disable_msie6 && ua && fc_http_ua_msie6(&ua->value))
        return 0;
    if ((int) r->http_version < conf->http_version)
        return 0;
    if (r->headers_in.via) {
        gzip_proxied_facts_t facts;
        gzip_proxied_facts(r, &facts);
        if (!gzip_proxied_allows(conf->proxied, &facts))
            return 0;
    }
    if (conf->disable && ua) {
        fc_regex_t **re = conf->disable->elts;
        for (size_t i = 0; i < conf->disable->nelts; i++)
            if (fc_regex_exec(re[i], &ua->value, NULL) != FC_DECLINED)
                return 0; /* a match, or a failed match */
    }
    return 1;
}

/* nginx's ngx_http_weak_etag: "W/" before a strong tag; a tag that is not quoted goes. */
static int
gzip_weak_etag(fc_http_request_t *r)
{
    fc_http_field_t *e = r->headers_out.etag;
    if (e == NULL || e->hash == 0)
        return FC_OK;
    fc_str_t *v = &e->value;
    if (v->len > 2 && v->data[0] == 'W' && v->data[1] == '/')
        return FC_OK;
    if (v->len < 1 || v->data[0] != '"') {
        e->hash = 0;
        r->headers_out.etag = NULL;
        return FC_OK;
    }
    unsigned char *p = fc_pnalloc(r->pool, v->len + 2);
    if (p == NULL)
        return FC_ERROR;
    p[0] = 'W';
    p[1] = '/';
    memcpy(p + 2, v->data, v->len);
    v->data = p;
    v->len += 2;
    return FC_OK;
}

/* zlib's window and hash for this response: smaller for a short one (nginx's rule). */
static void
gzip_size_memory(gzip_ctx_t *ctx, const gzip_loc_conf_t *conf, int64_t len)
{
    int wbits = (int) conf->wbits, memlevel = (int) conf->memlevel;
    if (len > 0) {
        /* zlib's usable window is 262 bytes short of its size */
        while (wbits > 9 && len < (1 << (wbits - 1)) - 262) {
            wbits--;
            memlevel--;
        }
    }
    ctx->wbits = wbits;
    ctx->memlevel = fc_max(memlevel, 1);
    /* deflate_state (< 8k), window + prev (4 << wbits), head + pending (512 << memlevel) */
    ctx->mem_size = 8192 + ((size_t) 1 << (wbits + 2)) + ((size_t) 1 << (ctx->memlevel + 9));
}

/* The response will be compressed: its fields say so. */
static int
gzip_mark_response(fc_http_request_t *r)
{
    static const unsigned char gzip[] = "gzip";
    if (fc_http_add_header_out(r, "Content-Encoding", 16, gzip, 4) == NULL)
        return FC_ERROR;
    r->headers_out.content_length_n = -1;
    /* The compressed bytes are not the entity a Range would address. */
    fc_http_clear_accept_ranges(r);
    return gzip_weak_etag(r);
}

static int
gzip_header_filter(fc_http_request_t *r)
{
    gzip_loc_conf_t *conf = fc_http_get_module_loc_conf(r, fc_http_gzip_module);
    fc_http_set_module_ctx(r, NULL, fc_http_gzip_module);
    if (!conf->enable || !gzip_response_fits(r, conf))
        return fc_http_next_header_filter(r, &fc_http_gzip_module);
    /* Vary whether or not this client gets gzip: the answer depends on Accept-Encoding. */
    static const unsigned char vary[] = "Accept-Encoding";
    if (conf->vary && fc_http_add_header_out(r, "Vary", 4, vary, 15) == NULL)
        return FC_ERROR;
    if (!gzip_request_ok(r, conf))
        return fc_http_next_header_filter(r, &fc_http_gzip_module);
    gzip_ctx_t *ctx = fc_pcalloc(r->pool, sizeof(*ctx));
    if (ctx == NULL)
        return FC_ERROR;
    ctx->r = r;
    ctx->in_tail = &ctx->in;
    ctx->out_tail = &ctx->out;
    ctx->busy_tail = &ctx->busy;
    gzip_size_memory(ctx, conf, r->headers_out.content_length_n);
    if (gzip_mark_response(r) != FC_OK)
        return FC_ERROR;
    fc_http_set_module_ctx(r, ctx, fc_http_gzip_module);
    return fc_http_next_header_filter(r, &fc_http_gzip_module);
}

/* ---- zlib ---------------------------------------------------------------------------- */

/* zlib's allocations come from the piece sized by gzip_size_memory, else the pool. */
static voidpf
gzip_zalloc(voidpf opaque, uInt items, uInt size)
{
    gzip_ctx_t *ctx = opaque;
    size_t n = fc_align((size_t) items * size, 16);
    if (n <= ctx->mem_size - ctx->mem_used) {
        void *p = ctx->mem + ctx->mem_used;
        ctx->mem_used += n;
        return p;
    }
    fc_log_debug(ctx->r->connection->log, "gzip: %zu bytes beyond the preallocated %zu", n,
                 ctx->mem_size);
    void *p = fc_palloc(ctx->r->pool, n);
    return p ? p : Z_NULL;
}

static void
gzip_zfree(voidpf opaque, voidpf address)
{
    /* Everything goes with the request's pool (or the piece, freed at the end). */
    (void) opaque;
    (void) address;
}

static int
gzip_start(gzip_ctx_t *ctx)
{
    gzip_loc_conf_t *conf = fc_http_get_module_loc_conf(ctx->r, fc_http_gzip_module);
    ctx->mem = fc_palloc(ctx->r->pool, ctx->mem_size);
    if (ctx->mem == NULL)
        return FC_ERROR;
    ctx->zs.zalloc = gzip_zalloc;
    ctx->zs.zfree = gzip_zfree;
    ctx->zs.opaque = ctx;
    /* windowBits + 16: zlib writes the gzip header and the CRC-32 / length trailer. */
    int rc = deflateInit2(&ctx->zs, (int) conf->level, Z_DEFLATED, ctx->wbits + 16, ctx->memlevel,
                          Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
        fc_log_error(FC_LOG_ALERT, ctx->r->connection->log, 0, "deflateInit2() failed: %d", rc);
        return FC_ERROR;
    }
    ctx->started = 1;
    ctx->flush = Z_NO_FLUSH;
    return FC_OK;
}

/* Gives zlib's memory back (the stream ended or failed). */
static void
gzip_release(gzip_ctx_t *ctx)
{
    if (ctx->started) {
        (void) deflateEnd(&ctx->zs);
        ctx->started = 0;
    }
    if (ctx->mem) {
        (void) fc_pfree(ctx->r->pool, ctx->mem);
        ctx->mem = NULL;
    }
}

/* ---- the body filter ----------------------------------------------------------------- */

static fc_chain_t *
gzip_link(gzip_ctx_t *ctx, fc_buf_t *b)
{
    fc_chain_t *cl = ctx->free_links;
    if (cl)
        ctx->free_links = cl->next;
    else if ((cl = fc_chain_alloc(ctx->r->pool)) == NULL)
        return NULL;
    cl->buf = b;
    cl->next = NULL;
    return cl;
}

/* Keeps the buffers of `in` (not its links: they are the caller's) until they are fed. */
static int
gzip_take_input(gzip_ctx_t *ctx, fc_chain_t *in)
{
    for (; in; in = in->next) {
        fc_chain_t *cl = gzip_link(ctx, in->buf);
        if (cl == NULL)
            return FC_ERROR;
        *ctx->in_tail = cl;
        ctx->in_tail = &cl->next;
    }
    return FC_OK;
}

/* The next piece of a file part, read into ctx->piece. */
static int
gzip_read_piece(gzip_ctx_t *ctx, fc_buf_t *b)
{
    size_t n = (size_t) fc_min(b->file_last - b->file_pos, (int64_t) GZIP_PIECE);
    ctx->zs.avail_in = 0;
    if (n == 0)
        return FC_OK;
    if (ctx->piece == NULL && (ctx->piece = fc_pnalloc(ctx->r->pool, GZIP_PIECE)) == NULL)
        return FC_ERROR;
    ssize_t got;
    do
        got = pread(b->file_fd, ctx->piece, n, (off_t) b->file_pos);
    while (got < 0 && errno == EINTR);
    if (got <= 0) {
        fc_log_error(FC_LOG_CRIT, ctx->r->connection->log, got < 0 ? errno : 0,
                     "pread() of %zu bytes at %" PRId64 " for gzip %s", n, b->file_pos,
                     got < 0 ? "failed" : "hit the end of the file");
        return FC_ERROR;
    }
    b->file_pos += got;
    ctx->zs.next_in = ctx->piece;
    ctx->zs.avail_in = (uInt) got;
    return FC_OK;
}

/*
 * Gives zlib more input when it has consumed what it had: FC_OK (something
 * to deflate), FC_AGAIN (an empty buffer, try the next), FC_DECLINED (no
 * input left) or FC_ERROR.
 */
static int
gzip_add_data(gzip_ctx_t *ctx)
{
    if (ctx->zs.avail_in || ctx->flush != Z_NO_FLUSH || ctx->redo)
        return FC_OK;
    fc_buf_t *b = ctx->in_buf;
    if (b == NULL || !b->in_file || b->file_pos >= b->file_last) {
        fc_chain_t *cl = ctx->in;
        if (cl == NULL)
            return FC_DECLINED;
        if ((ctx->in = cl->next) == NULL)
            ctx->in_tail = &ctx->in;
        cl->next = ctx->free_links;
        ctx->free_links = cl;
        b = ctx->in_buf = cl->buf;
        ctx->zs.next_in = b->pos;
        ctx->zs.avail_in = b->in_file ? 0 : (uInt) (b->last - b->pos);
    }
    if (b->in_file && gzip_read_piece(ctx, b) != FC_OK)
        return FC_ERROR;
    if (!b->in_file || b->file_pos >= b->file_last) {
        /* The buffer's flags count once all of its bytes are in. */
        if (b->last_buf)
            ctx->flush = Z_FINISH;
        else if (b->flush)
            ctx->flush = Z_SYNC_FLUSH;
    }
    if (!b->in_file && ctx->zs.avail_in == 0)
        ctx->in_buf = NULL; /* an empty buffer: nothing of it to hold */
    return ctx->zs.avail_in == 0 && ctx->flush == Z_NO_FLUSH ? FC_AGAIN : FC_OK;
}

/* An output buffer for zlib: FC_OK, FC_DECLINED (all of them wait to be sent), FC_ERROR. */
static int
gzip_get_buf(gzip_ctx_t *ctx)
{
    if (ctx->zs.avail_out)
        return FC_OK;
    gzip_loc_conf_t *conf = fc_http_get_module_loc_conf(ctx->r, fc_http_gzip_module);
    fc_buf_t *b;
    if (ctx->free) {
        fc_chain_t *cl = ctx->free;
        ctx->free = cl->next;
        b = cl->buf;
        cl->next = ctx->free_links;
        ctx->free_links = cl;
    } else if (ctx->nbufs < conf->bufs_num) {
        if ((b = fc_buf_create(ctx->r->pool, conf->bufs_size)) == NULL)
            return FC_ERROR;
        b->tag = &fc_http_gzip_module;
        ctx->nbufs++;
    } else {
        ctx->nomem = 1;
        return FC_DECLINED;
    }
    b->pos = b->last = b->start;
    b->flush = b->last_buf = 0;
    ctx->out_buf = b;
    ctx->zs.next_out = b->start;
    ctx->zs.avail_out = (uInt) (b->end - b->start);
    return FC_OK;
}

static int
gzip_queue_out(gzip_ctx_t *ctx)
{
    fc_chain_t *cl = gzip_link(ctx, ctx->out_buf);
    if (cl == NULL)
        return FC_ERROR;
    *ctx->out_tail = cl;
    ctx->out_tail = &cl->next;
    return FC_OK;
}

/* The stream ended: the totals for $gzip_ratio, zlib's memory back, the last buffer out. */
static int
gzip_finish(gzip_ctx_t *ctx)
{
    ctx->zin = ctx->zs.total_in;
    ctx->zout = ctx->zs.total_out; /* gzip header and trailer included */
    gzip_release(ctx);
    ctx->out_buf->last_buf = 1;
    ctx->done = 1;
    return gzip_queue_out(ctx);
}

/*
 * One deflate() call: FC_OK (output to hand down now: a flush or the end),
 * FC_AGAIN (go on feeding) or FC_ERROR.
 */
static int
gzip_deflate(gzip_ctx_t *ctx)
{
    int rc = deflate(&ctx->zs, ctx->flush);
    /* Z_BUF_ERROR with no input left only says "nothing to do" (a repeated flush). */
    if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && ctx->zs.avail_in == 0)) {
        fc_log_error(FC_LOG_ALERT, ctx->r->connection->log, 0, "deflate() failed: %d, %d",
                     ctx->flush, rc);
        return FC_ERROR;
    }
    if (ctx->in_buf && !ctx->in_buf->in_file) {
        ctx->in_buf->pos = ctx->zs.next_in; /* consumed: the owner may reuse that much */
        /*
         * All of it is in zlib's window: let go of the buffer. Its owner may
         * refill it at once, and a later deflate() must not move its pos.
         */
        if (ctx->zs.avail_in == 0)
            ctx->in_buf = NULL;
    }
    ctx->out_buf->last = ctx->zs.next_out;
    if (ctx->zs.avail_out == 0) {
        ctx->redo = 1;
        return gzip_queue_out(ctx) == FC_OK ? FC_AGAIN : FC_ERROR;
    }
    ctx->redo = 0;
    if (ctx->flush == Z_SYNC_FLUSH) {
        ctx->zs.avail_out = 0; /* the next output goes to a fresh buffer */
        ctx->out_buf->flush = 1;
        ctx->flush = Z_NO_FLUSH;
        return gzip_queue_out(ctx);
    }
    if (rc == Z_STREAM_END)
        return gzip_finish(ctx);
    return FC_AGAIN;
}

/* Feeds zlib until the input runs out, the output buffers do, or output must go now. */
static int
gzip_compress(gzip_ctx_t *ctx)
{
    ctx->nomem = 0; /* says why this call stopped, nothing older */
    for (;;) {
        int rc = gzip_add_data(ctx);
        if (rc == FC_DECLINED)
            return FC_OK;
        if (rc == FC_AGAIN)
            continue;
        if (rc == FC_OK)
            rc = gzip_get_buf(ctx);
        if (rc == FC_DECLINED)
            return FC_OK;
        if (rc == FC_OK)
            rc = gzip_deflate(ctx);
        if (rc != FC_AGAIN)
            return rc;
    }
}

/* Output buffers the write filter has sent are free again; returns how many. */
static int
gzip_reclaim(gzip_ctx_t *ctx)
{
    int n = 0;
    while (ctx->busy && ctx->busy->buf->pos == ctx->busy->buf->last) {
        fc_chain_t *cl = ctx->busy;
        if ((ctx->busy = cl->next) == NULL)
            ctx->busy_tail = &ctx->busy;
        cl->next = ctx->free;
        ctx->free = cl;
        n++;
    }
    return n;
}

/* Hands the ready output down; its buffers wait in busy until sent. */
static int
gzip_send(gzip_ctx_t *ctx)
{
    fc_http_request_t *r = ctx->r;
    fc_chain_t *out = ctx->out;
    int rc = fc_http_next_body_filter(r, &fc_http_gzip_module, out);
    *ctx->busy_tail = out;
    ctx->busy_tail = ctx->out_tail;
    ctx->out = NULL;
    ctx->out_tail = &ctx->out;
    gzip_reclaim(ctx);
    return rc;
}

/*
 * Compresses what there is and hands it down. Returns what the next filter
 * last said (FC_AGAIN only when the client's socket is full: its write
 * event brings the caller back), FC_OK, or FC_ERROR.
 */
static int
gzip_run(gzip_ctx_t *ctx, int flush)
{
    fc_http_request_t *r = ctx->r;
    int rc = FC_OK, called = 0;
    for (;;) {
        if (gzip_compress(ctx) != FC_OK)
            return FC_ERROR;
        if (ctx->out) {
            rc = gzip_send(ctx);
            called = 1;
            if (rc == FC_ERROR || ctx->done)
                return rc;
            continue;
        }
        if (!ctx->nomem)
            break;
        /* Every buffer waits in the write filter (it holds back small ones): push them. */
        rc = fc_http_next_body_filter(r, &fc_http_gzip_module, NULL);
        called = 1;
        if (rc == FC_ERROR)
            return FC_ERROR;
        if (gzip_reclaim(ctx) == 0) {
            if (rc == FC_AGAIN)
                return FC_AGAIN;
            fc_log_error(FC_LOG_ALERT, r->connection->log, 0,
                         "gzip: no output buffer came back from a flush");
            return FC_ERROR;
        }
        ctx->nomem = 0;
    }
    if (flush && !called)
        rc = fc_http_next_body_filter(r, &fc_http_gzip_module, NULL);
    return rc;
}

static int
gzip_body_filter(fc_http_request_t *r, fc_chain_t *in)
{
    gzip_ctx_t *ctx = fc_http_get_module_ctx(r, fc_http_gzip_module);
    if (ctx == NULL || ctx->done || r->header_only)
        return ctx && ctx->failed ? FC_ERROR
                                  : fc_http_next_body_filter(r, &fc_http_gzip_module, in);
    int rc = FC_ERROR;
    if ((ctx->started || gzip_start(ctx) == FC_OK) && gzip_take_input(ctx, in) == FC_OK)
        rc = gzip_run(ctx, in == NULL);
    if (rc == FC_ERROR) {
        /* The stream stops here: the response ends as an error, never corrupt. */
        ctx->done = ctx->failed = 1;
        gzip_release(ctx);
    }
    return rc;
}

int
gzip_filter_totals(fc_http_request_t *r, uint64_t *zin, uint64_t *zout)
{
    gzip_ctx_t *ctx = fc_http_get_module_ctx(r, fc_http_gzip_module);
    if (ctx == NULL || ctx->zout == 0)
        return FC_DECLINED;
    *zin = ctx->zin;
    *zout = ctx->zout;
    return FC_OK;
}

int
gzip_filter_init(fc_conf_t *cf)
{
    return fc_http_add_filter(cf, &fc_http_gzip_module, gzip_header_filter, gzip_body_filter);
}
