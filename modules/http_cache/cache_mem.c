/*
 * cache_mem.c: a worker's copies of small entry files (up to 16 KB each,
 * CACHE_MEM_BYTES in all per cache path), so that a HIT on a hot key costs
 * no open/fstat/read/close. A copy is valid while the index says the entry's
 * file is the same one: every file the index learns gets a new generation
 * number (cache_node_t.gen), and a copy is used only when its generation is
 * the node's. Freshness is always the index's (a revalidation elsewhere
 * updates it without touching copies). A request sending a copy holds a
 * reference, so eviction never frees bytes still on their way to a client.
 *
 * This is per-worker memory hung off the path's conf, created on first use
 * in the worker (as the upstream keep-alive pools are).
 */
#include "cache.h"

#include <stdlib.h>

#define CACHE_MEM_BYTES (4u << 20)
#define CACHE_MEM_BUCKETS 1024u

struct cache_mem_entry_s {
    unsigned char key[CACHE_KEY_LEN];
    uint64_t gen;
    size_t len;
    unsigned refs;
    unsigned evicted : 1; /* out of the table: freed when the last reference goes */
    cache_mem_entry_t *hnext;
    cache_mem_entry_t *prev, *next; /* LRU: head is the most recently used */
    unsigned char data[];
};

struct cache_mem_s {
    cache_mem_entry_t *buckets[CACHE_MEM_BUCKETS];
    cache_mem_entry_t *head, *tail;
    size_t bytes;
};

static size_t
mem_bucket(const unsigned char *key)
{
    uint32_t h;
    memcpy(&h, key, sizeof(h));
    return h % CACHE_MEM_BUCKETS;
}

static void
mem_lru_unlink(cache_mem_t *m, cache_mem_entry_t *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        m->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        m->tail = e->prev;
    e->prev = e->next = NULL;
}

static void
mem_lru_push(cache_mem_t *m, cache_mem_entry_t *e)
{
    e->next = m->head;
    if (m->head)
        m->head->prev = e;
    m->head = e;
    if (m->tail == NULL)
        m->tail = e;
}

/* Takes e out of the table; its memory goes when no request sends it any more. */
static void
mem_remove(cache_mem_t *m, cache_mem_entry_t *e)
{
    cache_mem_entry_t **pp = &m->buckets[mem_bucket(e->key)];
    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = e->hnext;
    mem_lru_unlink(m, e);
    m->bytes -= e->len;
    e->evicted = 1;
    if (e->refs == 0)
        free(e);
}

cache_mem_entry_t *
cache_mem_get(cache_path_t *cp, const unsigned char *key, uint64_t gen)
{
    cache_mem_t *m = cp->mem;
    if (m == NULL || gen == 0)
        return NULL;
    for (cache_mem_entry_t *e = m->buckets[mem_bucket(key)]; e; e = e->hnext) {
        if (memcmp(e->key, key, CACHE_KEY_LEN) != 0)
            continue;
        if (e->gen != gen) {
            mem_remove(m, e); /* the file was replaced: this copy is of the old one */
            return NULL;
        }
        if (m->head != e) {
            mem_lru_unlink(m, e);
            mem_lru_push(m, e);
        }
        e->refs++;
        return e;
    }
    return NULL;
}

const unsigned char *
cache_mem_data(const cache_mem_entry_t *e, size_t *len)
{
    *len = e->len;
    return e->data;
}

void
cache_mem_release(cache_mem_entry_t *e)
{
    if (--e->refs == 0 && e->evicted)
        free(e);
}

void
cache_mem_put(cache_path_t *cp, const unsigned char *key, uint64_t gen, const unsigned char *data,
              size_t len)
{
    if (gen == 0 || len > CACHE_MEM_MAX_ENTRY)
        return;
    cache_mem_t *m = cp->mem;
    if (m == NULL && (m = cp->mem = calloc(1, sizeof(*m))) == NULL)
        return;
    cache_mem_entry_t *e = malloc(sizeof(*e) + len);
    if (e == NULL)
        return;
    memset(e, 0, sizeof(*e));
    memcpy(e->key, key, CACHE_KEY_LEN);
    memcpy(e->data, data, len);
    e->gen = gen;
    e->len = len;
    for (cache_mem_entry_t *old = m->buckets[mem_bucket(key)]; old; old = old->hnext) {
        if (memcmp(old->key, key, CACHE_KEY_LEN) == 0) {
            mem_remove(m, old);
            break;
        }
    }
    while (m->tail && m->bytes + len > CACHE_MEM_BYTES)
        mem_remove(m, m->tail);
    size_t b = mem_bucket(key);
    e->hnext = m->buckets[b];
    m->buckets[b] = e;
    mem_lru_push(m, e);
    m->bytes += len;
}
