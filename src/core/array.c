/* array.c: growable arrays in pool memory (doubling; old storage stays in the pool). */
#include "core/fc_core.h"

int
fc_array_init(fc_array_t *a, fc_pool_t *pool, size_t n, size_t size)
{
    a->nelts = 0;
    a->size = size;
    a->nalloc = n ? n : 1;
    a->pool = pool;
    a->elts = fc_palloc(pool, a->nalloc * size);
    return a->elts ? FC_OK : FC_ERROR;
}

fc_array_t *
fc_array_create(fc_pool_t *pool, size_t n, size_t size)
{
    fc_array_t *a = fc_palloc(pool, sizeof(fc_array_t));
    if (a == NULL || fc_array_init(a, pool, n, size) != FC_OK)
        return NULL;
    return a;
}

void *
fc_array_push(fc_array_t *a)
{
    if (a->nelts == a->nalloc) {
        void *n = fc_palloc(a->pool, 2 * a->nalloc * a->size);
        if (n == NULL)
            return NULL;
        memcpy(n, a->elts, a->nelts * a->size);
        a->elts = n;
        a->nalloc *= 2;
    }
    void *e = (unsigned char *) a->elts + a->nelts * a->size;
    memset(e, 0, a->size);
    a->nelts++;
    return e;
}
