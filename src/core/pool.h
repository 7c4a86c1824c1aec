/*
 * pool.h: region allocator. A pool belongs to one cycle, connection or
 * request; everything allocated from it is freed at once by fc_pool_destroy.
 * Cleanup handlers run first, in reverse order of registration, so file
 * descriptors and library objects die with the pool that owns them.
 */
#ifndef FC_POOL_H
#define FC_POOL_H

typedef void (*fc_cleanup_pt)(void *data);

typedef struct fc_pool_cleanup_s {
    fc_cleanup_pt handler;
    void *data;
    struct fc_pool_cleanup_s *next;
} fc_pool_cleanup_t;

/* Creates a pool whose blocks are `size` bytes; NULL on allocation failure. */
fc_pool_t *fc_pool_create(size_t size, fc_log_t *log);
/* Runs cleanups and frees every block and large allocation. NULL is allowed. */
void fc_pool_destroy(fc_pool_t *pool);
/* Runs cleanups, frees large allocations, keeps the first block for reuse. */
void fc_pool_reset(fc_pool_t *pool);

/* Aligned allocation; NULL on failure. Memory is not zeroed. */
void *fc_palloc(fc_pool_t *pool, size_t size);
/* Aligned, zeroed allocation. */
void *fc_pcalloc(fc_pool_t *pool, size_t size);
/* Unaligned allocation (strings). */
void *fc_pnalloc(fc_pool_t *pool, size_t size);
/* Large allocations can be given back early; FC_OK if p was one. */
int fc_pfree(fc_pool_t *pool, void *p);

/*
 * Registers a cleanup; if size > 0, data points at that many fresh bytes
 * the caller fills in. Returns NULL on failure.
 */
fc_pool_cleanup_t *fc_pool_cleanup_add(fc_pool_t *pool, size_t size);

/* The log a pool's owner reports through (for allocation failures). */
fc_log_t *fc_pool_log(fc_pool_t *pool);
/* A reused pool reports through its new owner's log. */
void fc_pool_set_log(fc_pool_t *pool, fc_log_t *log);

/* malloc/calloc that log on failure. */
void *fc_alloc(size_t size, fc_log_t *log);
void *fc_calloc(size_t size, fc_log_t *log);

#endif
