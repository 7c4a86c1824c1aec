/*
 * cache_request.c: one request's way through the cache, as the upstream
 * engine's hooks (cache.h). Before the request is built: the key, then a
 * purge, a bypass, a fresh entry (HIT), an entry another request is
 * fetching (proxy_cache_lock waits, use_stale updating answers stale), or a
 * fetch (MISS, EXPIRED with revalidation). When the head arrives: a 304 to
 * a revalidation answers from the entry; a failure may answer stale. When
 * the response is to be stored, its head and body go to a temp file renamed
 * into place once complete, and the index learns of it.
 */
#include "cache.h"

#include <openssl/evp.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define CACHE_LOCK_POLL 50 /* ms between looks at an entry another request is fetching */

static cache_loc_conf_t *
req_conf(fc_http_request_t *r)
{
    return fc_http_get_module_loc_conf(r, fc_http_cache_module);
}

/* The request pool is going away: no descriptor, temp file or lock outlives it. */
static void
req_cleanup(void *data)
{
    cache_ctx_t *ctx = data;
    if (ctx->wait_ev.timer_set)
        fc_event_del_timer(ctx->u->r->connection->loop, &ctx->wait_ev);
    cache_drop_temp(ctx, NULL);
    if (ctx->fd >= 0) {
        close(ctx->fd);
        ctx->fd = -1;
    }
    if (ctx->mem) {
        cache_mem_release(ctx->mem);
        ctx->mem = NULL;
    }
    cache_release_fetch(ctx);
}

void
cache_release_fetch(cache_ctx_t *ctx)
{
    if (!ctx->fetching)
        return;
    ctx->fetching = 0;
    cache_node_t *n = cache_node_find(cache_index_lock(ctx->path), ctx->lock_key);
    if (n)
        n->updating = 0;
    fc_shm_unlock(ctx->path->zone);
}

/*
 * The zone named by a `proxy_cache $var` value; NULL when the value is empty
 * or "off" (no cache); *missing when it names no zone (logged).
 */
static cache_path_t *
req_path(fc_http_request_t *r, cache_loc_conf_t *conf, int *missing)
{
    *missing = 0;
    if (conf->path_cv == NULL)
        return conf->path;
    fc_str_t name;
    if (fc_http_cv_eval(r, conf->path_cv, &name) != FC_OK || name.len == 0 ||
        fc_str_eq_c(&name, "off"))
        return NULL;
    cache_main_conf_t *mcf = fc_http_get_module_main_conf(r, fc_http_cache_module);
    cache_path_t **p = mcf->paths.elts;
    for (size_t i = 0; i < mcf->paths.nelts; i++)
        if (fc_str_eq(&p[i]->name, &name))
            return p[i];
    fc_log_error(FC_LOG_ERR, r->connection->log, 0, "cache \"%.*s\" not found", (int) name.len,
                 name.data);
    *missing = 1;
    return NULL;
}

/* The next token of a list separated by spaces and commas; 0 at its end. */
static int
req_next_token(const unsigned char **p, const unsigned char *end, fc_str_t *tok)
{
    const unsigned char *q = *p;
    while (q < end && (*q == ' ' || *q == ','))
        q++;
    tok->data = (unsigned char *) q;
    while (q < end && *q != ' ' && *q != ',')
        q++;
    tok->len = (size_t) (q - tok->data);
    *p = q;
    return tok->len > 0;
}

/* nginx compares these by their tokens: "gzip, deflate" and "gzip,deflate" are one variant. */
static int
req_vary_normalized(const unsigned char *name, size_t len)
{
    static const char *const names[] = {"accept-charset", "accept-encoding", "accept-language"};
    for (size_t i = 0; i < fc_nelems(names); i++)
        if (len == strlen(names[i]) && fc_strn_caseeq(name, (const unsigned char *) names[i], len))
            return 1;
    return 0;
}

/* Every line of the request field, joined by ",", each value as is or by its tokens. */
static void
req_vary_values(fc_http_request_t *r, EVP_MD_CTX *md, const unsigned char *name, size_t len)
{
    int normalize = req_vary_normalized(name, len), first = 1;
    const fc_http_field_t *f = r->headers_in.headers.elts;
    for (size_t i = 0; i < r->headers_in.headers.nelts; i++) {
        if (f[i].hash == 0 || f[i].name.len != len || !fc_strn_caseeq(f[i].name.data, name, len))
            continue;
        const unsigned char *p = f[i].value.data, *end = p + f[i].value.len;
        if (!normalize) {
            if (!first)
                EVP_DigestUpdate(md, ",", 1);
            EVP_DigestUpdate(md, p, (size_t) (end - p));
            first = 0;
            continue;
        }
        fc_str_t tok;
        while (req_next_token(&p, end, &tok)) {
            if (!first)
                EVP_DigestUpdate(md, ",", 1);
            EVP_DigestUpdate(md, tok.data, tok.len);
            first = 0;
        }
    }
}

/* MD5 over the Vary names and the request's values of them (all lines, as nginx). */
static void
req_variant(cache_ctx_t *ctx, const unsigned char *names, size_t len, unsigned char *variant)
{
    fc_http_request_t *r = ctx->u->r;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int out = CACHE_KEY_LEN;
    if (md == NULL || EVP_DigestInit_ex(md, EVP_md5(), NULL) != 1) {
        memset(variant, 0, CACHE_KEY_LEN); /* never: MD5 is in OpenSSL's default provider */
        EVP_MD_CTX_free(md);
        return;
    }
    const unsigned char *p = names, *end = names + len;
    fc_str_t name;
    while (req_next_token(&p, end, &name)) {
        EVP_DigestUpdate(md, name.data, name.len);
        EVP_DigestUpdate(md, ":", 1);
        req_vary_values(r, md, name.data, name.len);
        EVP_DigestUpdate(md, "\n", 1);
    }
    EVP_DigestFinal_ex(md, variant, &out);
    EVP_MD_CTX_free(md);
}

/* The key of the variant the request asks for. */
static void
req_variant_key(cache_ctx_t *ctx, unsigned char *key)
{
    fc_str_t parts[2] = {{CACHE_KEY_LEN, ctx->main_key}, {CACHE_KEY_LEN, ctx->variant}};
    cache_md5(parts, 2, key);
}

void
cache_request_variant(cache_ctx_t *ctx, const unsigned char *names, size_t len)
{
    req_variant(ctx, names, len, ctx->variant);
    req_variant_key(ctx, ctx->key);
}

/* ---- serving an entry ------------------------------------------------------------------- */

/*
 * The stored head ("status line\ncontent type\nname: value\n...") parsed
 * into u->headers_in: as nginx, $upstream_http_* and $upstream_cookie_*
 * read the entry's fields on a HIT, and a revalidation reads its freshness
 * there. *status_line and *content_type (either may be NULL) get the first
 * two lines.
 */
static int
req_load_fields(cache_ctx_t *ctx, fc_str_t *status_line, fc_str_t *content_type)
{
    fc_http_upstream_headers_in_t *in = &ctx->u->headers_in;
    unsigned char *p = ctx->head + ctx->hdr.key_len + ctx->hdr.vary_len;
    unsigned char *end = p + ctx->hdr.head_len;
    in->headers.nelts = 0;
    in->x_accel_redirect = in->x_accel_buffering = 0;
    if (in->headers.nalloc == 0 &&
        fc_array_init(&in->headers, ctx->u->r->pool, 16, sizeof(fc_http_field_t)) != FC_OK)
        return FC_ERROR;
    for (unsigned line = 0; p < end; line++) {
        unsigned char *nl = memchr(p, '\n', (size_t) (end - p));
        if (nl == NULL)
            return FC_ERROR;
        fc_str_t v = {(size_t) (nl - p), p};
        p = nl + 1;
        if (line < 2) {
            fc_str_t *first = line == 0 ? status_line : content_type;
            if (first)
                *first = v;
            continue;
        }
        unsigned char *colon = memchr(v.data, ':', v.len);
        fc_http_field_t *f = colon && nl - colon >= 2 ? fc_array_push(&in->headers) : NULL;
        if (f == NULL)
            return FC_ERROR;
        f->name = (fc_str_t){(size_t) (colon - v.data), v.data};
        f->value = (fc_str_t){(size_t) (nl - colon - 2), colon + 2};
        f->hash = 1;
    }
    return FC_OK;
}

/* The stored head into headers_out (and u->headers_in, req_load_fields). */
static int
req_restore_head(cache_ctx_t *ctx)
{
    fc_http_request_t *r = ctx->u->r;
    fc_http_headers_out_t *ho = &r->headers_out;
    fc_http_clear_headers_out(r);
    if (ho->headers.nalloc == 0 &&
        fc_array_init(&ho->headers, r->pool, 16, sizeof(fc_http_field_t)) != FC_OK)
        return FC_ERROR;
    if (req_load_fields(ctx, &ho->status_line, &ho->content_type) != FC_OK)
        return FC_ERROR;
    const fc_http_field_t *in = ctx->u->headers_in.headers.elts;
    for (size_t i = 0; i < ctx->u->headers_in.headers.nelts; i++) {
        const fc_str_t *n = &in[i].name;
        fc_http_field_t *f = fc_http_add_header_out(r, (const char *) n->data, n->len,
                                                    in[i].value.data, in[i].value.len);
        if (f == NULL)
            return FC_ERROR;
        if (n->len == 4 && fc_strncasecmp(n->data, (const unsigned char *) "etag", 4) == 0)
            ho->etag = f;
        else if (n->len == 8 &&
                 fc_strncasecmp(n->data, (const unsigned char *) "location", 8) == 0 &&
                 f->value.len && f->value.data[0] != '/')
            ho->location = f; /* a relative one stays as stored (see up_field_out) */
    }
    ho->status = ctx->hdr.status;
    ho->last_modified_time = (time_t) ctx->hdr.last_modified;
    return FC_OK;
}

/*
 * The body as one buffer (the range filter cuts several ranges only from
 * one, as nginx's): memory when the first read brought all of it, else the
 * file part (sendfile).
 */
static fc_chain_t *
req_entry_body(cache_ctx_t *ctx, int64_t body)
{
    fc_http_request_t *r = ctx->u->r;
    fc_chain_t *cl = fc_chain_alloc(r->pool);
    fc_buf_t *b = cl ? fc_pcalloc(r->pool, sizeof(*b)) : NULL;
    if (b == NULL)
        return NULL;
    if ((int64_t) ctx->data_len - (int64_t) ctx->hdr.header_len >= body) {
        b->start = b->pos = ctx->data + ctx->hdr.header_len;
        b->end = b->last = b->pos + body;
    } else {
        b->in_file = 1;
        b->file_fd = ctx->fd;
        b->file_pos = (int64_t) ctx->hdr.header_len;
        b->file_last = ctx->file_size;
    }
    b->last_buf = 1;
    cl->buf = b;
    return cl;
}

/* The open entry down the output filters: FC_OK, FC_AGAIN (flushing) or FC_ERROR. */
static int
req_output_entry(cache_ctx_t *ctx)
{
    fc_http_request_t *r = ctx->u->r;
    if (req_restore_head(ctx) != FC_OK)
        return FC_ERROR;
    int64_t body = ctx->file_size - (int64_t) ctx->hdr.header_len;
    r->headers_out.content_length_n = body;
    if (body == 0 && ctx->hdr.head_length > 0 && r->method == FC_HTTP_METHOD_HEAD)
        r->headers_out.content_length_n = ctx->hdr.head_length; /* as nginx */
    r->allow_ranges = cache_accept_ranges(r);
    r->single_range = 0;
    r->allow_conditional = 1;
    int rc = fc_http_send_header(r);
    if (rc == FC_ERROR || r->header_only)
        return rc;
    fc_chain_t *cl = req_entry_body(ctx, body);
    return cl ? fc_http_output_filter(r, cl) : FC_ERROR;
}

void
cache_send_entry(cache_ctx_t *ctx)
{
    fc_http_upstream_t *u = ctx->u;
    int rc = req_output_entry(ctx);
    if (rc == FC_ERROR && !u->r->header_sent)
        rc = FC_HTTP_INTERNAL_SERVER_ERROR;
    fc_http_upstream_finalize(u, rc == FC_AGAIN ? FC_OK : rc);
}

/* While a background update runs, the stale answer goes on flushing to the client. */
static void
req_background_flush(fc_http_request_t *r)
{
    if (r->connection->write->timedout) {
        r->connection->write->timedout = 0;
        return; /* the trip ends on its own; the connection closes with the request */
    }
    (void) fc_http_output_filter(r, NULL);
}

/* proxy_cache_background_update: the client gets the stale entry now; the trip updates it. */
static int
req_background(cache_ctx_t *ctx)
{
    fc_http_upstream_t *u = ctx->u;
    ctx->status = CACHE_STATUS_STALE;
    int rc = req_output_entry(ctx);
    if (rc == FC_ERROR) {
        fc_http_upstream_finalize(u, u->r->header_sent ? FC_ERROR : FC_HTTP_INTERNAL_SERVER_ERROR);
        return FC_DONE;
    }
    u->background = 1;
    u->r->write_event_handler = req_background_flush;
    return FC_DECLINED;
}

/* The entry's key text is the request's (no MD5 collision). */
static int
req_key_matches(const cache_ctx_t *ctx)
{
    return ctx->hdr.key_len == ctx->key_text.len &&
           memcmp(ctx->head, ctx->key_text.data, ctx->key_text.len) == 0;
}

/* The worker's copy of the entry, when it has the generation the index names. 1 if used. */
static int
req_use_copy(cache_ctx_t *ctx)
{
    cache_mem_entry_t *e = cache_mem_get(ctx->path, ctx->key, ctx->gen);
    if (e == NULL)
        return 0;
    size_t len;
    const unsigned char *data = cache_mem_data(e, &len);
    memcpy(&ctx->hdr, data, sizeof(ctx->hdr));
    ctx->head = (unsigned char *) data + sizeof(ctx->hdr);
    if (!req_key_matches(ctx)) {
        cache_mem_release(e);
        return 0;
    }
    ctx->mem = e;
    ctx->data = (unsigned char *) data;
    ctx->data_len = len;
    ctx->file_size = (int64_t) len;
    return 1;
}

/* Opens the entry of ctx->key: FC_OK (fd, hdr, head set), FC_DECLINED (none or invalid). */
static int
req_open(cache_ctx_t *ctx)
{
    fc_http_request_t *r = ctx->u->r;
    ctx->file_name = cache_file_name(r->pool, ctx->path, ctx->key);
    if (ctx->file_name == NULL)
        return FC_ERROR;
    int fd = open(ctx->file_name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            fc_log_error(FC_LOG_CRIT, r->connection->log, errno, "open() \"%s\" failed",
                         ctx->file_name);
        return FC_DECLINED;
    }
    /* One fstat and, for an entry up to CACHE_MEM_MAX_ENTRY bytes, one read: head and body. */
    struct stat st;
    cache_file_read_t rd;
    int rc = fstat(fd, &st) < 0
                 ? FC_ERROR
                 : cache_file_read(r->pool, fd, (size_t) fc_min(st.st_size, CACHE_MEM_MAX_ENTRY),
                                   &rd, r->connection->log, ctx->file_name);
    if (rc == FC_OK) {
        ctx->hdr = rd.hdr;
        ctx->head = rd.head;
        ctx->data = rd.data;
        ctx->data_len = rd.len;
        ctx->file_size = (int64_t) st.st_size;
    }
    if (rc == FC_OK && !req_key_matches(ctx)) {
        fc_log_error(FC_LOG_CRIT, r->connection->log, 0, "cache file \"%s\" has md5 collision",
                     ctx->file_name);
        rc = FC_DECLINED;
    }
    if (rc != FC_OK) {
        close(fd);
        return rc == FC_ERROR ? FC_ERROR : FC_DECLINED;
    }
    ctx->fd = fd;
    return FC_OK;
}

/* ---- the lookup ------------------------------------------------------------------------- */

enum { LOOK_MISS = 0, LOOK_FOUND, LOOK_WAIT };

/*
 * Under the lock: finds (or makes) the node of the request's key, following
 * a main key to the request's variant; counts the use. What it saw goes to
 * *seen (a copy: the node may go once the lock is released).
 */
static cache_node_t *
req_find_node(cache_ctx_t *ctx, cache_sh_t *sh)
{
    cache_node_t *n = cache_node_find(sh, ctx->main_key);
    memcpy(ctx->key, ctx->main_key, CACHE_KEY_LEN);
    if (n && n->vary) {
        cache_request_variant(ctx, (const unsigned char *) n->vary, strlen(n->vary));
        cache_node_touch(ctx->path, sh, n);
    }
    n = cache_node_get(ctx->path, sh, ctx->key);
    if (n) {
        n->uses += !ctx->counted; /* a request is one use, however often it looks (lock) */
        ctx->counted = 1;
        cache_node_touch(ctx->path, sh, n);
    }
    return n;
}

/* An entry on disk the index did not know yet (the loader is still at work): it learns it now. */
static void
req_adopt(cache_ctx_t *ctx, cache_sh_t *sh)
{
    cache_node_t *n = cache_node_find(sh, ctx->key);
    if (n && !n->exists)
        cache_node_set_file(sh, n, cache_disk_size(ctx->file_size), (time_t) ctx->hdr.valid_sec);
    ctx->gen = n ? n->gen : 0;
    ctx->valid_sec = n ? n->valid_sec : (time_t) ctx->hdr.valid_sec;
}

/*
 * Takes the fetch. A new entry's lock holds for lock_age; an update of an
 * expired one holds until it ends, as nginx's (the hour only guards against a
 * worker that died fetching).
 */
static void
req_take_fetch(cache_ctx_t *ctx, cache_node_t *n, int update)
{
    n->updating = 1;
    n->lock_until = fc_current_msec() + (update ? 3600000 : ctx->conf->lock_age);
    memcpy(ctx->lock_key, n->key, CACHE_KEY_LEN);
    ctx->fetching = 1;
}

/*
 * The decision for the request's key, under the lock: LOOK_FOUND (ctx->fd
 * is an entry: fresh, or expired and kept as stale), LOOK_WAIT (lock), or
 * LOOK_MISS (go upstream; ctx->no_store says whether to store).
 */
static int
req_lookup(cache_ctx_t *ctx)
{
    cache_loc_conf_t *conf = ctx->conf;
    cache_sh_t *sh = cache_index_lock(ctx->path);
    cache_node_t *n = req_find_node(ctx, sh);
    int exists = n && n->exists, cold = !sh->loaded;
    int busy = n && cache_node_fetching(n, fc_current_msec());
    uint32_t uses = n ? n->uses : 0;
    ctx->gen = exists ? n->gen : 0;
    ctx->valid_sec = exists ? n->valid_sec : 0;
    fc_shm_unlock(ctx->path->zone);
    if (n == NULL)
        return LOOK_MISS; /* the zone is full of entries being fetched: just proxy */
    if (exists && req_use_copy(ctx))
        return LOOK_FOUND;
    if (exists || cold) {
        int rc = req_open(ctx);
        if ((rc == FC_OK) != exists) {
            /* The index learns what the disk says: a file it did not know, or one gone. */
            sh = cache_index_lock(ctx->path);
            if (rc == FC_OK)
                req_adopt(ctx, sh);
            else if ((n = cache_node_find(sh, ctx->key)) != NULL)
                n->exists = 0, n->gen = 0;
            fc_shm_unlock(ctx->path->zone);
        }
        if (rc == FC_OK) {
            if (ctx->data_len == (size_t) ctx->file_size)
                cache_mem_put(ctx->path, ctx->key, ctx->gen, ctx->data, ctx->data_len);
            return LOOK_FOUND;
        }
    }
    if (uses < (uint32_t) conf->min_uses) {
        ctx->no_store = 1;
        return LOOK_MISS;
    }
    if (busy && conf->lock)
        return LOOK_WAIT;
    n = cache_node_find(cache_index_lock(ctx->path), ctx->key);
    if (n)
        req_take_fetch(ctx, n, 0);
    fc_shm_unlock(ctx->path->zone);
    return LOOK_MISS;
}

/* An expired entry: answer stale while another request updates it, or fetch (revalidating). */
static int
req_expired(cache_ctx_t *ctx)
{
    cache_loc_conf_t *conf = ctx->conf;
    fc_http_upstream_t *u = ctx->u;
    int busy = 0;
    cache_node_t *n = cache_node_find(cache_index_lock(ctx->path), ctx->key);
    if (n && cache_node_fetching(n, fc_current_msec()))
        busy = 1;
    else if (n)
        req_take_fetch(ctx, n, 1);
    fc_shm_unlock(ctx->path->zone);
    /* proxy_cache_use_stale updating, or the entry's own stale-while-revalidate window */
    int stale_updating =
        (conf->use_stale & CACHE_STALE_UPDATING) ||
        (ctx->hdr.updating_sec && time(NULL) <= ctx->valid_sec + (time_t) ctx->hdr.updating_sec);
    if (busy && stale_updating) {
        ctx->status = CACHE_STATUS_UPDATING;
        cache_send_entry(ctx);
        return FC_DONE;
    }
    ctx->status = CACHE_STATUS_EXPIRED;
    ctx->have_stale = 1;
    int background = !busy && conf->background_update && stale_updating;
    if (conf->revalidate) {
        /* nginx's $upstream_cache_last_modified and $upstream_cache_etag. */
        if (ctx->hdr.last_modified >= 0) {
            unsigned char *t = fc_pnalloc(u->r->pool, 32);
            if (t) {
                u->cache_if_modified_since.data = t;
                u->cache_if_modified_since.len =
                    fc_time_http((time_t) ctx->hdr.last_modified, (char *) t, 32);
            }
        }
        if (ctx->hdr.etag_len && ctx->hdr.etag_off + ctx->hdr.etag_len <= ctx->hdr.head_len) {
            u->cache_if_none_match.data =
                ctx->head + ctx->hdr.key_len + ctx->hdr.vary_len + ctx->hdr.etag_off;
            u->cache_if_none_match.len = ctx->hdr.etag_len;
        }
    }
    return background ? req_background(ctx) : FC_DECLINED;
}

static void req_wait_event(fc_event_t *ev);

/* What a lookup found, acted on: FC_DECLINED goes upstream, FC_DONE answered or waits. */
static int
req_act(cache_ctx_t *ctx)
{
    int rc = req_lookup(ctx);
    if (rc == LOOK_WAIT) {
        fc_http_request_t *r = ctx->u->r;
        if (ctx->wait_until == 0)
            ctx->wait_until = fc_current_msec() + ctx->conf->lock_timeout;
        ctx->wait_ev.data = ctx;
        ctx->wait_ev.handler = req_wait_event;
        ctx->wait_ev.log = r->connection->log;
        fc_event_add_timer(r->connection->loop, &ctx->wait_ev, CACHE_LOCK_POLL);
        return FC_DONE;
    }
    if (rc == LOOK_MISS) {
        if (ctx->status == CACHE_STATUS_NONE)
            ctx->status = CACHE_STATUS_MISS;
        return FC_DECLINED;
    }
    if (ctx->valid_sec >= time(NULL)) {
        ctx->status = CACHE_STATUS_HIT;
        cache_send_entry(ctx);
        return FC_DONE;
    }
    return req_expired(ctx);
}

/* proxy_cache_lock: another request is fetching the entry; look again, until lock_timeout. */
static void
req_wait_event(fc_event_t *ev)
{
    cache_ctx_t *ctx = ev->data;
    fc_http_upstream_t *u = ctx->u;
    ev->timedout = 0;
    if (u->finished)
        return;
    if (fc_current_msec() >= ctx->wait_until) {
        /* nginx: the request goes upstream, and its response is not cached. */
        ctx->no_store = 1;
        ctx->status = CACHE_STATUS_MISS;
        fc_http_upstream_proceed(u);
        return;
    }
    if (req_act(ctx) == FC_DECLINED)
        fc_http_upstream_proceed(u);
}

/* ---- the engine's hooks ---------------------------------------------------------------- */

static int
req_start(fc_http_upstream_t *u)
{
    fc_http_request_t *r = u->r;
    cache_loc_conf_t *conf = req_conf(r);
    if (conf->path == NULL && conf->path_cv == NULL)
        return FC_DECLINED;
    int missing;
    cache_path_t *path = req_path(r, conf, &missing);
    if (missing) {
        fc_http_upstream_finalize(u, FC_HTTP_INTERNAL_SERVER_ERROR); /* as nginx */
        return FC_DONE;
    }
    if (path == NULL)
        return FC_DECLINED;
    /* nginx: with a cache in the location, no request passes Range or If-* upstream. */
    u->cache_request = 1;
    int purge = cache_test_predicates(r, conf->purge);
    if (!purge && !(conf->methods & (1u << r->method)))
        return FC_DECLINED;
    cache_ctx_t *ctx = fc_pcalloc(r->pool, sizeof(*ctx));
    fc_pool_cleanup_t *cln = ctx ? fc_pool_cleanup_add(r->pool, 0) : NULL;
    if (cln == NULL) {
        fc_http_upstream_finalize(u, FC_HTTP_INTERNAL_SERVER_ERROR);
        return FC_DONE;
    }
    ctx->u = u;
    ctx->path = path;
    ctx->conf = conf;
    ctx->fd = ctx->temp_fd = -1;
    cln->handler = req_cleanup;
    cln->data = ctx;
    u->cache = ctx;
    fc_http_set_module_ctx(r, ctx, fc_http_cache_module);
    if (r->method == FC_HTTP_METHOD_HEAD && conf->convert_head) {
        u->cache_head_as_get = 1;
        u->no_body_expected = 0;
    }
    cache_main_conf_t *mcf = fc_http_get_module_main_conf(r, fc_http_cache_module);
    if (fc_http_cv_eval(r, conf->key ? conf->key : &mcf->default_key, &ctx->key_text) != FC_OK) {
        fc_http_upstream_finalize(u, FC_HTTP_INTERNAL_SERVER_ERROR);
        return FC_DONE;
    }
    cache_md5(&ctx->key_text, 1, ctx->main_key);
    memcpy(ctx->key, ctx->main_key, CACHE_KEY_LEN);
    if (purge) {
        fc_http_upstream_finalize(u, cache_purge(ctx));
        return FC_DONE;
    }
    if (cache_test_predicates(r, conf->bypass)) {
        ctx->status = CACHE_STATUS_BYPASS;
        return FC_DECLINED;
    }
    return req_act(ctx);
}

/* What the stored response's own fields say now (its max-age counts from now, as nginx). */
static time_t
req_stored_valid(cache_ctx_t *ctx, time_t now)
{
    if (req_load_fields(ctx, NULL, NULL) != FC_OK)
        return 0;
    cache_policy_t pol;
    cache_policy_read(&ctx->u->headers_in.headers, ctx->u->conf->ignore_headers, now, &pol);
    return pol.no_store ? 0 : pol.valid_sec;
}

/*
 * A 304 to a revalidation (EXPIRED, or a background update): the entry is
 * fresh again, for as long as the 304 says, else as its own fields say,
 * else proxy_cache_valid (nginx's order).
 */
static int
req_header(fc_http_upstream_t *u)
{
    cache_ctx_t *ctx = u->cache;
    if (u->headers_in.status_n != FC_HTTP_NOT_MODIFIED || !ctx->have_stale ||
        !ctx->conf->revalidate || ctx->data == NULL)
        return FC_DECLINED;
    time_t now = time(NULL);
    cache_policy_t pol;
    cache_policy_read(&u->headers_in.headers, u->conf->ignore_headers, now, &pol);
    time_t valid = pol.valid_sec;
    if (valid == 0)
        valid = req_stored_valid(ctx, now);
    if (valid == 0) {
        time_t t = cache_valid_for(ctx->conf->valid, ctx->hdr.status);
        valid = t ? now + t : 0;
    }
    if (valid) {
        /* The new freshness goes into the entry's header and the index. */
        if (ctx->file_name == NULL)
            ctx->file_name = cache_file_name(u->r->pool, ctx->path, ctx->key);
        int wfd = ctx->file_name ? open(ctx->file_name, O_WRONLY | O_CLOEXEC) : -1;
        int64_t v = (int64_t) valid;
        if (wfd >= 0) {
            (void) !pwrite(wfd, &v, sizeof(v), offsetof(cache_file_header_t, valid_sec));
            close(wfd);
        }
        cache_node_t *n = cache_node_find(cache_index_lock(ctx->path), ctx->key);
        if (n)
            n->valid_sec = valid;
        fc_shm_unlock(ctx->path->zone);
    }
    fc_http_upstream_release_peer(u, 0);
    if (u->background) {
        fc_http_upstream_finalize(u, FC_OK); /* the client had the entry already */
        return FC_DONE;
    }
    ctx->status = CACHE_STATUS_REVALIDATED;
    cache_send_entry(ctx);
    return FC_DONE;
}

/* use_stale: the trip failed for ft; an expired entry answers if allowed. */
static int
req_error(fc_http_upstream_t *u, unsigned ft)
{
    cache_ctx_t *ctx = u->cache;
    /* as nginx, the entry's stale-if-error covers a failed trip, not an upstream's 5xx */
    const unsigned trip = FC_HTTP_UPSTREAM_FT_ERROR | FC_HTTP_UPSTREAM_FT_TIMEOUT |
                          FC_HTTP_UPSTREAM_FT_INVALID_HEADER;
    int allowed =
        (ctx->conf->use_stale & ft) || ((ft & trip) && ctx->hdr.error_sec &&
                                        time(NULL) <= ctx->valid_sec + (time_t) ctx->hdr.error_sec);
    if (!ctx->have_stale || ctx->data == NULL || !allowed || u->r->header_sent)
        return 0;
    fc_http_upstream_release_peer(u, 0);
    ctx->status = CACHE_STATUS_STALE;
    cache_send_entry(ctx);
    return 1;
}

const fc_http_upstream_cache_ops_t cache_engine_ops = {
    .start = req_start,
    .header = req_header,
    .store = cache_store_begin,
    .body = cache_store_body,
    .finish = cache_store_finish,
    .error = req_error,
};
