/* array.h: a growable array of fixed-size elements living in a pool. */
#ifndef FC_ARRAY_H
#define FC_ARRAY_H

typedef struct {
    void *elts;
    size_t nelts;
    size_t size;
    size_t nalloc;
    fc_pool_t *pool;
} fc_array_t;

/* Initialises `a` in place with room for n elements of `size` bytes. */
int fc_array_init(fc_array_t *a, fc_pool_t *pool, size_t n, size_t size);
/* Allocates and initialises an array; NULL on failure. */
fc_array_t *fc_array_create(fc_pool_t *pool, size_t n, size_t size);
/* Appends one zeroed element and returns it, growing as needed; NULL on failure. */
void *fc_array_push(fc_array_t *a);

#define fc_array_at(a, type, i) (&((type *) (a)->elts)[i])

#endif
