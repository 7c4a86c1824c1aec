/*
 * cache_index.c: the keys zone of a proxy_cache_path. A hash table of
 * nodes (one per key: MD5, metadata, no body) and an LRU list, in shared
 * memory, under the zone's lock. Zone pointers are valid in every process
 * (the mapping sits at the same address everywhere). When the zone is full
 * the least recently used entries make room, as nginx's forced expiry does.
 */
#include "cache.h"

#include <unistd.h>

/* A fresh index in the zone (at start, or after a holder of the lock died and it was reset). */
static cache_sh_t *
index_build(fc_shm_zone_t *zone)
{
    cache_sh_t *sh = fc_shm_alloc_locked(zone, sizeof(*sh));
    if (sh == NULL)
        return NULL;
    memset(sh, 0, sizeof(*sh));
    /* Generations never repeat, even across a rebuild: workers' copies name them. */
    sh->gen = (uint64_t) time(NULL) << 20;
    /* About one bucket per eight 128-byte nodes the zone can hold. */
    size_t n = 64;
    while (n * 8 * 128 < zone->size && n < ((size_t) 1 << 20))
        n <<= 1;
    size_t bytes = n * sizeof(cache_node_t *);
    sh->buckets = fc_shm_alloc_locked(zone, bytes);
    if (sh->buckets == NULL) {
        fc_shm_free_locked(zone, sh);
        return NULL;
    }
    memset(sh->buckets, 0, bytes);
    sh->nbuckets = n;
    fc_shm_root_set(zone, sh);
    return sh;
}

/* The index is the zone's root, found under the lock by every process. */
int
cache_zone_init(fc_shm_zone_t *zone, void *old_data)
{
    if (old_data)
        return FC_OK; /* the running index, taken over with its mapping */
    (void) fc_shm_lock(zone);
    cache_sh_t *sh = index_build(zone);
    fc_shm_unlock(zone);
    if (sh == NULL) {
        fc_log_error(FC_LOG_EMERG, zone->log, 0, "keys zone \"%s\" is too small", zone->name.data);
        return FC_ERROR;
    }
    zone->data = sh;
    return FC_OK;
}

cache_sh_t *
cache_index_lock(cache_path_t *cp)
{
    /*
     * FC_DONE: a holder died and the zone was emptied; the index starts over,
     * cold (it fits: the empty zone held it at start). Any index pointer taken
     * before this call may be gone: callers use only the one returned.
     */
    cache_sh_t *sh = NULL;
    if (fc_shm_lock(cp->zone) != FC_DONE)
        sh = fc_shm_root_get(cp->zone);
    return sh ? sh : index_build(cp->zone);
}

static size_t
index_bucket(const cache_sh_t *sh, const unsigned char *key)
{
    uint32_t h;
    memcpy(&h, key, sizeof(h)); /* MD5 bytes are uniform already */
    return h & (sh->nbuckets - 1);
}

cache_node_t *
cache_node_find(cache_sh_t *sh, const unsigned char *key)
{
    for (cache_node_t *n = sh->buckets[index_bucket(sh, key)]; n; n = n->hnext)
        if (memcmp(n->key, key, CACHE_KEY_LEN) == 0)
            return n;
    return NULL;
}

static void
index_lru_unlink(cache_sh_t *sh, cache_node_t *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        sh->lru_head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        sh->lru_tail = n->prev;
    n->prev = n->next = NULL;
}

static void
index_lru_push(cache_sh_t *sh, cache_node_t *n)
{
    n->prev = NULL;
    n->next = sh->lru_head;
    if (sh->lru_head)
        sh->lru_head->prev = n;
    sh->lru_head = n;
    if (sh->lru_tail == NULL)
        sh->lru_tail = n;
}

void
cache_node_touch(cache_path_t *cp, cache_sh_t *sh, cache_node_t *n)
{
    n->expire = time(NULL) + cp->inactive;
    if (sh->lru_head != n) {
        index_lru_unlink(sh, n);
        index_lru_push(sh, n);
    }
}

void
cache_node_set_size(cache_sh_t *sh, cache_node_t *n, uint64_t fs_size)
{
    sh->size -= n->fs_size;
    n->fs_size = fs_size;
    sh->size += fs_size;
}

void
cache_node_set_file(cache_sh_t *sh, cache_node_t *n, uint64_t fs_size, time_t valid_sec)
{
    n->exists = 1;
    n->valid_sec = valid_sec;
    n->gen = ++sh->gen;
    cache_node_set_size(sh, n, fs_size);
}

void
cache_node_delete(cache_path_t *cp, cache_sh_t *sh, cache_node_t *n)
{
    cache_node_t **pp = &sh->buckets[index_bucket(sh, n->key)];
    while (*pp && *pp != n)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = n->hnext;
    index_lru_unlink(sh, n);
    if (n->exists || n->fs_size) {
        /* A file in use elsewhere stays readable through its open descriptor. */
        char name[FC_CACHE_PATH_MAX];
        if (cache_file_path(cp, n->key, name, sizeof(name)) == FC_OK)
            (void) unlink(name);
    }
    sh->size -= n->fs_size;
    sh->count--;
    fc_shm_free_locked(cp->zone, n->vary);
    fc_shm_free_locked(cp->zone, n);
}

/* Drops up to `max` least recently used entries nobody is fetching. 1 if one went. */
static int
index_evict(cache_path_t *cp, cache_sh_t *sh, unsigned max)
{
    int freed = 0;
    cache_node_t *n = sh->lru_tail;
    while (n && max > 0) {
        cache_node_t *prev = n->prev;
        if (!cache_node_fetching(n, fc_current_msec())) {
            cache_node_delete(cp, sh, n);
            freed = 1;
            max--;
        }
        n = prev;
    }
    return freed;
}

cache_node_t *
cache_node_get(cache_path_t *cp, cache_sh_t *sh, const unsigned char *key)
{
    cache_node_t *n = cache_node_find(sh, key);
    if (n)
        return n;
    n = fc_shm_alloc_locked(cp->zone, sizeof(*n));
    while (n == NULL) {
        if (!index_evict(cp, sh, 20)) {
            fc_log_error(FC_LOG_ALERT, cp->zone->log, 0,
                         "could not allocate node in cache keys zone \"%s\"", cp->name.data);
            return NULL;
        }
        n = fc_shm_alloc_locked(cp->zone, sizeof(*n));
    }
    memset(n, 0, sizeof(*n));
    memcpy(n->key, key, CACHE_KEY_LEN);
    memcpy(n->primary, key, CACHE_KEY_LEN);
    size_t b = index_bucket(sh, key);
    n->hnext = sh->buckets[b];
    sh->buckets[b] = n;
    index_lru_push(sh, n);
    n->expire = time(NULL) + cp->inactive;
    sh->count++;
    return n;
}
