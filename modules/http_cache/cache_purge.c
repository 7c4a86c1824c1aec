/*
 * cache_purge.c: proxy_cache_purge, as NGINX Plus defines it: when one of
 * its values is non-empty and not "0" the request removes the entry of its
 * cache key (and the variants of a key whose responses vary) and gets 204,
 * whether there was one or not (the key is not cached afterwards either way). A key ending in "*"
 * removes every entry whose key starts with the rest: the index holds only MD5s, so each entry's
 * file tells its key. allow/deny (the access phase) decide who may purge.
 */
#include "cache.h"

#include <fcntl.h>
#include <unistd.h>

/* Under the lock: removes the node of key and every variant of it. 1 if anything went. */
static int
purge_key(cache_path_t *cp, cache_sh_t *sh, const unsigned char *key)
{
    int found = 0;
    for (size_t b = 0; b < sh->nbuckets; b++) {
        cache_node_t *n = sh->buckets[b];
        while (n) {
            cache_node_t *next = n->hnext;
            if (n->variant && memcmp(n->primary, key, CACHE_KEY_LEN) == 0) {
                found |= n->exists;
                cache_node_delete(cp, sh, n);
            }
            n = next;
        }
    }
    cache_node_t *n = cache_node_find(sh, key);
    if (n) {
        found |= n->exists || n->vary != NULL;
        cache_node_delete(cp, sh, n);
    }
    return found;
}

/* The key text stored in an entry's file starts with prefix. */
static int
purge_file_matches(const cache_path_t *cp, const unsigned char *key, const fc_str_t *prefix)
{
    char name[FC_CACHE_PATH_MAX];
    if (cache_file_path(cp, key, name, sizeof(name)) != FC_OK)
        return 0;
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    cache_file_header_t hdr;
    unsigned char text[1024];
    int match = 0;
    if (pread(fd, &hdr, sizeof(hdr), 0) == (ssize_t) sizeof(hdr) && hdr.magic == CACHE_FILE_MAGIC &&
        hdr.key_len >= prefix->len && prefix->len <= sizeof(text) &&
        pread(fd, text, prefix->len, sizeof(hdr)) == (ssize_t) prefix->len)
        match = memcmp(text, prefix->data, prefix->len) == 0;
    close(fd);
    return match;
}

/* Every entry whose key starts with prefix: found under the lock, checked on disk outside it. */
static void
purge_prefix(cache_ctx_t *ctx, const fc_str_t *prefix)
{
    fc_http_request_t *r = ctx->u->r;
    cache_path_t *cp = ctx->path;
    cache_sh_t *sh = cache_index_lock(cp);
    size_t count = sh->count;
    unsigned char(*keys)[CACHE_KEY_LEN] = fc_pnalloc(r->pool, count * CACHE_KEY_LEN + 1);
    size_t n = 0;
    for (cache_node_t *node = sh->lru_head; keys && node && n < count; node = node->next)
        if (node->exists)
            memcpy(keys[n++], node->key, CACHE_KEY_LEN);
    fc_shm_unlock(cp->zone);
    for (size_t i = 0; i < n; i++) {
        if (!purge_file_matches(cp, keys[i], prefix))
            continue;
        sh = cache_index_lock(cp);
        cache_node_t *node = cache_node_find(sh, keys[i]);
        if (node)
            cache_node_delete(cp, sh, node);
        fc_shm_unlock(cp->zone);
    }
}

int
cache_purge(cache_ctx_t *ctx)
{
    fc_http_request_t *r = ctx->u->r;
    const fc_str_t *key = &ctx->key_text;
    if (key->len && key->data[key->len - 1] == '*') {
        fc_str_t prefix = {key->len - 1, key->data};
        purge_prefix(ctx, &prefix);
        fc_log_error(FC_LOG_INFO, r->connection->log, 0, "cache purge of \"%.*s\"", (int) key->len,
                     key->data);
        return FC_HTTP_NO_CONTENT;
    }
    int found = purge_key(ctx->path, cache_index_lock(ctx->path), ctx->main_key);
    fc_shm_unlock(ctx->path->zone);
    fc_log_error(FC_LOG_INFO, r->connection->log, 0, "cache purge of \"%.*s\"%s", (int) key->len,
                 key->data, found ? "" : ": not cached");
    return FC_HTTP_NO_CONTENT;
}
