/*
 * cache_store.c: storing a response. Once headers_out holds what the client
 * will get from the upstream (hidden fields gone, proxy_redirect applied,
 * before add_header and the other filters), the policy decides; a stored
 * response's head goes to a temp file next to the entry's final name, each
 * body byte follows as it goes down to the client, and only a complete body
 * renames the file into place and tells the index. Anything short of that
 * unlinks the temp file: a reader never sees a partial entry.
 */
#include "cache.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* Writes all of iov (a regular file: short writes only on errors). */
static int
store_writev(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return FC_ERROR;
        }
        while (n > 0 && (size_t) w >= iov->iov_len) {
            w -= (ssize_t) iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *) iov->iov_base + w;
            iov->iov_len -= (size_t) w;
        }
    }
    return FC_OK;
}

/* Makes the folders of `name` below its first `from` bytes (mkdir -p, in place). */
static void
store_mkdirs(char *name, size_t from)
{
    for (char *p = name + from + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(name, 0700);
        *p = '/';
        if (rc < 0 && errno != EEXIST)
            return;
    }
}

/*
 * Creates the temp file: next to the entry's name (use_temp_path=off), or in
 * proxy_temp_path, as nginx does. Folders are made on first use.
 */
static int
store_open_temp(cache_ctx_t *ctx)
{
    fc_http_request_t *r = ctx->u->r;
    const fc_str_t *dir = ctx->path->use_temp_path ? &ctx->conf->temp_path : NULL;
    ctx->file_name = cache_file_name(r->pool, ctx->path, ctx->key);
    if (ctx->file_name == NULL)
        return FC_ERROR;
    size_t len = dir ? dir->len + sizeof("/cache.XXXXXX") : strlen(ctx->file_name) + 8;
    ctx->temp_name = fc_pnalloc(r->pool, len);
    if (ctx->temp_name == NULL)
        return FC_ERROR;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (dir)
            snprintf(ctx->temp_name, len, "%s/cache.XXXXXX", (const char *) dir->data);
        else
            snprintf(ctx->temp_name, len, "%s.XXXXXX", ctx->file_name);
        ctx->temp_fd = mkostemp(ctx->temp_name, O_CLOEXEC);
        if (ctx->temp_fd >= 0)
            return FC_OK;
        if (errno != ENOENT || attempt)
            break;
        store_mkdirs(ctx->temp_name, dir ? 0 : ctx->path->path.len);
    }
    fc_log_error(FC_LOG_CRIT, r->connection->log, errno, "mkostemp() \"%s\" failed",
                 ctx->temp_name);
    return FC_ERROR;
}

/* Moves the complete temp file to the entry's name (its level folders made on first use). */
static int
store_rename(cache_ctx_t *ctx)
{
    int rc = rename(ctx->temp_name, ctx->file_name);
    if (rc < 0 && errno == ENOENT) {
        store_mkdirs(ctx->file_name, ctx->path->path.len);
        rc = rename(ctx->temp_name, ctx->file_name);
    }
    if (rc < 0)
        fc_log_error(FC_LOG_CRIT, ctx->u->r->connection->log, errno,
                     "rename() \"%s\" to \"%s\" failed", ctx->temp_name, ctx->file_name);
    return rc < 0 ? FC_ERROR : FC_OK;
}

/* Copies n bytes to p (none from a NULL empty string); the end. */
static unsigned char *
store_copy(unsigned char *p, const unsigned char *data, size_t n)
{
    if (n)
        memcpy(p, data, n);
    return p + n;
}

/* Appends "name: value\n" of each field to the head text; the ETag's place is noted. */
static unsigned char *
store_put_fields(fc_http_request_t *r, unsigned char *p, unsigned char *start,
                 cache_file_header_t *hdr)
{
    const fc_http_field_t *f = r->headers_out.headers.elts;
    for (size_t i = 0; i < r->headers_out.headers.nelts; i++) {
        if (f[i].hash == 0)
            continue;
        p = store_copy(p, f[i].name.data, f[i].name.len);
        *p++ = ':';
        *p++ = ' ';
        if (&f[i] == r->headers_out.etag) {
            hdr->etag_off = (uint32_t) (p - start);
            hdr->etag_len = (uint32_t) f[i].value.len;
        }
        p = store_copy(p, f[i].value.data, f[i].value.len);
        *p++ = '\n';
    }
    return p;
}

/* The stored head: status line, content type, then the fields, one a line. */
static int
store_head(cache_ctx_t *ctx, const fc_str_t *vary, time_t valid_sec, const cache_policy_t *pol)
{
    fc_http_request_t *r = ctx->u->r;
    fc_http_headers_out_t *ho = &r->headers_out;
    size_t len = ho->status_line.len + ho->content_type.len + 2;
    const fc_http_field_t *f = ho->headers.elts;
    for (size_t i = 0; i < ho->headers.nelts; i++)
        len += f[i].name.len + f[i].value.len + 3;
    unsigned char *head = fc_pnalloc(r->pool, len), *p = head;
    if (head == NULL)
        return FC_ERROR;
    cache_file_header_t *hdr = &ctx->hdr;
    memset(hdr, 0, sizeof(*hdr));
    p = store_copy(p, ho->status_line.data, ho->status_line.len);
    *p++ = '\n';
    p = store_copy(p, ho->content_type.data, ho->content_type.len);
    *p++ = '\n';
    p = store_put_fields(r, p, head, hdr);
    hdr->magic = CACHE_FILE_MAGIC;
    hdr->valid_sec = (int64_t) valid_sec;
    hdr->updating_sec = pol->updating_sec;
    hdr->error_sec = pol->error_sec;
    /* proxy_cache_convert_head off: the HEAD's length is kept for the HEADs it answers */
    hdr->head_length = r->method == FC_HTTP_METHOD_HEAD && !ctx->u->cache_head_as_get
                           ? ctx->u->headers_in.content_length_n
                           : -1;
    hdr->date = (int64_t) time(NULL);
    hdr->last_modified = (int64_t) ho->last_modified_time;
    hdr->key_len = (uint32_t) ctx->key_text.len;
    hdr->vary_len = (uint32_t) vary->len;
    hdr->head_len = (uint32_t) (p - head);
    hdr->header_len = (uint32_t) (sizeof(*hdr) + hdr->key_len + hdr->vary_len + hdr->head_len);
    hdr->status = (uint16_t) ho->status;
    memcpy(hdr->primary, ctx->main_key, CACHE_KEY_LEN);
    if (vary->len)
        memcpy(hdr->variant, ctx->variant, CACHE_KEY_LEN);
    struct iovec iov[4] = {{hdr, sizeof(*hdr)},
                           {ctx->key_text.data, ctx->key_text.len},
                           {vary->data, vary->len},
                           {head, hdr->head_len}};
    ctx->written = hdr->header_len;
    return store_writev(ctx->temp_fd, iov, 4);
}

int
cache_accept_ranges(fc_http_request_t *r)
{
    /* not passed on: the range filter says its own (nginx) */
    return fc_http_remove_header_out(r, "accept-ranges", 13) > 0;
}

/*
 * nginx (u->cacheable): one range of the response when the upstream allows
 * ranges (its Accept-Ranges is the range filter's to send, on a 200 only),
 * and 304/412 to the client's conditions.
 */
static void
store_allow_filters(fc_http_request_t *r)
{
    r->allow_ranges = cache_accept_ranges(r);
    r->single_range = 1;
    r->allow_conditional = 1;
}

/* Last-Modified becomes the header writer's time (nginx parses it for cacheable responses). */
static void
store_last_modified(fc_http_request_t *r)
{
    fc_http_field_t *f = r->headers_out.headers.elts;
    for (size_t i = 0; i < r->headers_out.headers.nelts; i++) {
        if (f[i].hash == 0 || f[i].name.len != 13 ||
            fc_strncasecmp(f[i].name.data, (const unsigned char *) "last-modified", 13) != 0)
            continue;
        time_t t = fc_time_parse_http(f[i].value.data, f[i].value.len);
        if (t != -1) {
            r->headers_out.last_modified_time = t;
            f[i].hash = 0;
        }
    }
}

/*
 * What nginx calls u->cacheable: the cache applies and the response's own
 * fields (pol) do not forbid it, even if it is not stored in the end
 * (proxy_no_cache, no proxy_cache_valid line, not buffered).
 */
static int
store_cacheable(const cache_ctx_t *ctx, const cache_policy_t *pol)
{
    return !ctx->no_store && !pol->no_store && !pol->vary_star;
}

/* How long the response may be stored (0: not at all); pol: what its fields say. */
static time_t
store_decide(cache_ctx_t *ctx, cache_policy_t *pol)
{
    fc_http_upstream_t *u = ctx->u;
    cache_loc_conf_t *conf = ctx->conf;
    time_t now = time(NULL);
    cache_policy_read(&u->headers_in.headers, u->conf->ignore_headers, now, pol);
    /* As nginx: a response not buffered (proxy_buffering off, X-Accel-Buffering: no) is never
     * stored. */
    if (!store_cacheable(ctx, pol) || !u->buffering || cache_test_predicates(u->r, conf->no_cache))
        return 0;
    if (pol->valid_sec)
        return pol->valid_sec;
    time_t t = cache_valid_for(conf->valid, u->headers_in.status_n);
    return t ? now + t : 0;
}

void
cache_drop_temp(cache_ctx_t *ctx, const char *failed)
{
    if (ctx->temp_fd < 0)
        return;
    if (failed)
        fc_log_error(FC_LOG_CRIT, ctx->u->r->connection->log, errno, "%s() \"%s\" failed", failed,
                     ctx->temp_name);
    close(ctx->temp_fd);
    (void) unlink(ctx->temp_name);
    ctx->temp_fd = -1;
}

int
cache_store_begin(fc_http_upstream_t *u)
{
    cache_ctx_t *ctx = u->cache;
    fc_http_request_t *r = u->r;
    cache_policy_t pol;
    time_t valid = store_decide(ctx, &pol);
    if (valid == 0) {
        /* As nginx: a cacheable response not stored still gets the range and 304 filters. */
        if (store_cacheable(ctx, &pol))
            store_allow_filters(r);
        return FC_OK;
    }
    fc_str_t vary = pol.vary;
    if (vary.len) {
        /* Stored under the variant's key; the main key will point at the Vary names. */
        char *names = fc_pnalloc(r->pool, vary.len);
        if (names == NULL)
            return FC_ERROR;
        for (size_t i = 0; i < vary.len; i++)
            names[i] = (char) fc_tolower(vary.data[i]);
        vary.data = (unsigned char *) names;
        cache_request_variant(ctx, vary.data, vary.len);
    } else {
        memcpy(ctx->key, ctx->main_key, CACHE_KEY_LEN);
    }
    store_last_modified(r);
    if (store_open_temp(ctx) != FC_OK)
        return FC_OK; /* logged: the response still goes to the client */
    if (store_head(ctx, &vary, valid, &pol) != FC_OK) {
        cache_drop_temp(ctx, "write");
        return FC_OK;
    }
    ctx->vary_len = vary.len;
    ctx->vary = vary.data;
    u->cache_store = 1;
    store_allow_filters(r);
    return FC_OK;
}

int
cache_store_body(fc_http_upstream_t *u, const fc_buf_t *b)
{
    cache_ctx_t *ctx = u->cache;
    size_t n = (size_t) (b->last - b->pos);
    if (b->in_file || n == 0 || ctx->temp_fd < 0)
        return b->in_file ? FC_ERROR : FC_OK;
    struct iovec iov = {b->pos, n};
    if (store_writev(ctx->temp_fd, &iov, 1) != FC_OK) {
        cache_drop_temp(ctx, "write");
        return FC_ERROR;
    }
    ctx->written += (int64_t) n;
    return FC_OK;
}

/* Under the lock: the index learns of the entry just renamed into place. */
static void
store_index(cache_ctx_t *ctx, cache_sh_t *sh, uint64_t disk)
{
    cache_node_t *n = cache_node_get(ctx->path, sh, ctx->key);
    if (n == NULL)
        return;
    cache_node_set_file(sh, n, disk, (time_t) ctx->hdr.valid_sec);
    n->variant = ctx->vary_len > 0;
    memcpy(n->primary, ctx->main_key, CACHE_KEY_LEN);
    cache_node_touch(ctx->path, sh, n);
    if (ctx->vary_len == 0) {
        /* The main key's response no longer varies: lookups stop at it (nginx). */
        fc_shm_free_locked(ctx->path->zone, n->vary);
        n->vary = NULL;
        return;
    }
    cache_node_t *m = cache_node_get(ctx->path, sh, ctx->main_key);
    if (m == NULL || m == n)
        return;
    if (m->vary == NULL || strlen(m->vary) != ctx->vary_len ||
        memcmp(m->vary, ctx->vary, ctx->vary_len) != 0) {
        char *v = fc_shm_alloc_locked(ctx->path->zone, ctx->vary_len + 1);
        if (v == NULL)
            return;
        memcpy(v, ctx->vary, ctx->vary_len);
        v[ctx->vary_len] = '\0';
        fc_shm_free_locked(ctx->path->zone, m->vary);
        m->vary = v;
    }
    if (m->exists) {
        /* A response without Vary stored before: the variants replace it. */
        char name[FC_CACHE_PATH_MAX];
        if (cache_file_path(ctx->path, m->key, name, sizeof(name)) == FC_OK)
            (void) unlink(name);
        m->exists = 0;
        m->gen = 0;
        cache_node_set_size(sh, m, 0);
    }
    cache_node_touch(ctx->path, sh, m);
}

void
cache_store_finish(fc_http_upstream_t *u, int complete)
{
    cache_ctx_t *ctx = u->cache;
    if (ctx->done)
        return;
    ctx->done = 1;
    if (ctx->temp_fd >= 0 && complete && u->cache_store && store_rename(ctx) == FC_OK) {
        close(ctx->temp_fd);
        ctx->temp_fd = -1;
        store_index(ctx, cache_index_lock(ctx->path), cache_disk_size(ctx->written));
        fc_shm_unlock(ctx->path->zone);
    }
    cache_drop_temp(ctx, NULL);
    cache_release_fetch(ctx);
}
