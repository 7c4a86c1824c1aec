/*
 * pool.c: region allocator. Small allocations are carved from fixed blocks;
 * anything over a block's usable size gets its own malloc and sits on the
 * `large` list so it can be freed early. The pool itself lives at the start
 * of its first block: creating a pool is one malloc.
 */
#include "core/fc_core.h"

#define POOL_ALIGN 16

typedef struct pool_block_s {
    unsigned char *last;
    unsigned char *end;
    struct pool_block_s *next;
    unsigned failed;
} pool_block_t;

typedef struct pool_large_s {
    struct pool_large_s *next;
    void *alloc;
} pool_large_t;

struct fc_pool_s {
    pool_block_t *first;
    pool_block_t *current;
    size_t block_size;
    size_t max_small;
    pool_large_t *large;
    fc_pool_cleanup_t *cleanup;
    fc_log_t *log;
};

void *
fc_alloc(size_t size, fc_log_t *log)
{
    void *p = malloc(size);
    if (p == NULL && log)
        fc_log_error(FC_LOG_EMERG, log, errno, "malloc(%zu) failed", size);
    return p;
}

void *
fc_calloc(size_t size, fc_log_t *log)
{
    void *p = calloc(1, size);
    if (p == NULL && log)
        fc_log_error(FC_LOG_EMERG, log, errno, "calloc(%zu) failed", size);
    return p;
}

static pool_block_t *
pool_block_new(fc_pool_t *pool)
{
    pool_block_t *b = fc_alloc(pool->block_size, pool->log);
    if (b == NULL)
        return NULL;
    b->last = (unsigned char *) b + fc_align(sizeof(pool_block_t), POOL_ALIGN);
    b->end = (unsigned char *) b + pool->block_size;
    b->next = NULL;
    b->failed = 0;
    return b;
}

/* Where the first block's allocations start: after the block header and the pool. */
static unsigned char *
pool_first_data(fc_pool_t *pool)
{
    return (unsigned char *) pool + fc_align(sizeof(fc_pool_t), POOL_ALIGN);
}

fc_pool_t *
fc_pool_create(size_t size, fc_log_t *log)
{
    size_t block_head = fc_align(sizeof(pool_block_t), POOL_ALIGN);
    size_t head = block_head + fc_align(sizeof(fc_pool_t), POOL_ALIGN);
    if (size < head + 256)
        size = head + 256;
    pool_block_t *b = fc_alloc(size, log);
    if (b == NULL)
        return NULL;
    fc_pool_t *pool = (fc_pool_t *) ((unsigned char *) b + block_head);
    memset(pool, 0, sizeof(*pool));
    pool->block_size = size;
    /*
     * Larger allocations get their own malloc (and can be freed early):
     * above a page, or above half a block for big blocks, so that a 16 KB
     * request pool holds an 8 KB proxy buffer.
     */
    pool->max_small = size - head;
    if (pool->max_small > fc_max((size_t) 4096, size / 2))
        pool->max_small = fc_max((size_t) 4096, size / 2);
    pool->log = log;
    b->last = pool_first_data(pool);
    b->end = (unsigned char *) b + size;
    b->next = NULL;
    b->failed = 0;
    pool->first = pool->current = b;
    return pool;
}

void
fc_pool_set_log(fc_pool_t *pool, fc_log_t *log)
{
    pool->log = log;
}

static void
pool_run_cleanups(fc_pool_t *pool)
{
    fc_pool_cleanup_t *c = pool->cleanup;
    pool->cleanup = NULL;
    for (; c; c = c->next) {
        if (c->handler)
            c->handler(c->data);
    }
}

static void
pool_free_large(fc_pool_t *pool)
{
    for (pool_large_t *l = pool->large; l; l = l->next)
        free(l->alloc);
    pool->large = NULL;
}

/* Frees b and the blocks after it. */
static void
pool_free_blocks(pool_block_t *b)
{
    while (b) {
        pool_block_t *next = b->next;
        free(b);
        b = next;
    }
}

void
fc_pool_destroy(fc_pool_t *pool)
{
    if (pool == NULL)
        return;
    pool_run_cleanups(pool);
    pool_free_large(pool);
    pool_free_blocks(pool->first); /* the first block holds the pool itself */
}

void
fc_pool_reset(fc_pool_t *pool)
{
    pool_run_cleanups(pool);
    pool_free_large(pool);
    pool_free_blocks(pool->first->next);
    pool->first->next = NULL;
    pool->first->last = pool_first_data(pool);
    pool->first->failed = 0;
    pool->current = pool->first;
}

static void *
pool_alloc_large(fc_pool_t *pool, size_t size)
{
    void *p = fc_alloc(size, pool->log);
    if (p == NULL)
        return NULL;
    /* Reuse a node freed by fc_pfree (looking at a few only, as nginx does). */
    unsigned n = 0;
    for (pool_large_t *l = pool->large; l && n < 4; l = l->next, n++) {
        if (l->alloc == NULL) {
            l->alloc = p;
            return p;
        }
    }
    /* The list node is small; it comes from the blocks, never recursing. */
    pool_large_t *l = NULL;
    for (pool_block_t *b = pool->current; b; b = b->next) {
        unsigned char *m = (unsigned char *) fc_align((uintptr_t) b->last, POOL_ALIGN);
        if (m <= b->end && (size_t) (b->end - m) >= sizeof(pool_large_t)) {
            b->last = m + sizeof(pool_large_t);
            l = (pool_large_t *) m;
            break;
        }
    }
    if (l == NULL) {
        pool_block_t *nb = pool_block_new(pool);
        if (nb == NULL) {
            free(p);
            return NULL;
        }
        pool_block_t *tail = pool->current;
        while (tail->next)
            tail = tail->next;
        tail->next = nb;
        l = (pool_large_t *) nb->last;
        nb->last += sizeof(pool_large_t);
    }
    l->alloc = p;
    l->next = pool->large;
    pool->large = l;
    return p;
}

/* The current block was full: search the later ones, or chain a new block. */
static __attribute__((noinline)) void *
pool_alloc_small_slow(fc_pool_t *pool, size_t size, size_t align)
{
    pool_block_t *b = pool->current, *last = b;
    for (b = b->next; b; b = b->next) {
        unsigned char *m = (unsigned char *) fc_align((uintptr_t) b->last, align);
        if (m <= b->end && (size_t) (b->end - m) >= size) {
            b->last = m + size;
            return m;
        }
        last = b;
    }
    pool_block_t *nb = pool_block_new(pool);
    if (nb == NULL)
        return NULL;
    last->next = nb;
    /* Blocks that keep failing stop being searched, as nginx does. */
    for (b = pool->current; b->next; b = b->next) {
        if (b->failed++ > 4)
            pool->current = b->next;
    }
    unsigned char *m = (unsigned char *) fc_align((uintptr_t) nb->last, align);
    nb->last = m + size;
    return m;
}

/*
 * Inlined into each allocator with a constant `align`: nearly every request
 * allocation fits the current block, and a call per allocation was a tenth
 * of a proxied request's user time.
 */
static inline __attribute__((always_inline)) void *
pool_alloc_small(fc_pool_t *pool, size_t size, size_t align)
{
    pool_block_t *b = pool->current;
    unsigned char *m = (unsigned char *) fc_align((uintptr_t) b->last, align);
    if (m <= b->end && (size_t) (b->end - m) >= size) {
        b->last = m + size;
        return m;
    }
    return pool_alloc_small_slow(pool, size, align);
}

void *
fc_palloc(fc_pool_t *pool, size_t size)
{
    if (size <= pool->max_small)
        return pool_alloc_small(pool, size, POOL_ALIGN);
    return pool_alloc_large(pool, size);
}

void *
fc_pnalloc(fc_pool_t *pool, size_t size)
{
    if (size <= pool->max_small)
        return pool_alloc_small(pool, size, 1);
    return pool_alloc_large(pool, size);
}

void *
fc_pcalloc(fc_pool_t *pool, size_t size)
{
    void *p = size <= pool->max_small ? pool_alloc_small(pool, size, POOL_ALIGN)
                                      : pool_alloc_large(pool, size);
    if (p)
        memset(p, 0, size);
    return p;
}

int
fc_pfree(fc_pool_t *pool, void *p)
{
    for (pool_large_t *l = pool->large; l; l = l->next) {
        if (l->alloc == p) {
            free(p);
            l->alloc = NULL;
            return FC_OK;
        }
    }
    return FC_DECLINED;
}

fc_pool_cleanup_t *
fc_pool_cleanup_add(fc_pool_t *pool, size_t size)
{
    fc_pool_cleanup_t *c = fc_palloc(pool, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->data = NULL;
    if (size) {
        c->data = fc_pcalloc(pool, size);
        if (c->data == NULL)
            return NULL;
    }
    c->handler = NULL;
    c->next = pool->cleanup;
    pool->cleanup = c;
    return c;
}

fc_log_t *
fc_pool_log(fc_pool_t *pool)
{
    return pool->log;
}
