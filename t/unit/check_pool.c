/*
 * check_pool.c: the region allocator (src/core/pool.c) and pool arrays
 * (src/core/array.c): alignment, block boundaries, large allocations and
 * fc_pfree, cleanups in reverse order on destroy and reset, reuse after
 * reset, a worker's spare request pools, and arrays that grow while keeping
 * their contents.
 */
#include <check.h>

#include "unit.h"

#include "core/fc_core.h"
#include "core/worker.h"

#define ALIGN 16

/* Check records the place of every ck_assert (a write each): hot loops use this. */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg(__VA_ARGS__);                                                             \
    } while (0)

/* Block sizes the pools in these tests use: tiny (clamped to 256), small, default-ish. */
static const size_t block_sizes[] = {1, 256, 1000, 4096, 16384};

/* ---- allocation ------------------------------------------------------------- */

START_TEST(test_aligned)
{
    fc_pool_t *pool = fc_pool_create(block_sizes[_i], NULL);
    ck_assert_ptr_nonnull(pool);
    /* Odd-sized unaligned allocations between aligned ones must not skew them. */
    for (size_t size = 0; size < 600; size += 7) {
        unsigned char *s = fc_pnalloc(pool, size % 13 + 1);
        CHECK(s != NULL, "fc_pnalloc failed");
        void *p = fc_palloc(pool, size);
        CHECK(p != NULL, "fc_palloc failed");
        CHECK(((uintptr_t) p % ALIGN) == 0, "fc_palloc(%zu) = %p", size, p);
        memset(p, 0xa5, size);
        unsigned char *z = fc_pcalloc(pool, size + 1);
        CHECK(z != NULL && (uintptr_t) z % ALIGN == 0, "fc_pcalloc(%zu) = %p", size + 1, z);
        for (size_t i = 0; i <= size; i++)
            CHECK(z[i] == 0, "fc_pcalloc(%zu): byte %zu not zeroed", size + 1, i);
    }
    fc_pool_destroy(pool);
}
END_TEST

/* Allocations never overlap: fill each with its own byte, check them all at the end. */
START_TEST(test_no_overlap)
{
    enum { N = 400 };
    fc_pool_t *pool = fc_pool_create(block_sizes[_i], NULL);
    unsigned char *ptr[N];
    size_t len[N];
    unsigned seed = 7;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        len[i] = (seed >> 16) % 700 + 1; /* some exceed the small limit of small pools */
        ptr[i] = (i % 3 == 0) ? fc_pnalloc(pool, len[i]) : fc_palloc(pool, len[i]);
        CHECK(ptr[i] != NULL, "allocation %d failed", i);
        memset(ptr[i], i & 0xff, len[i]);
    }
    for (int i = 0; i < N; i++) {
        for (size_t k = 0; k < len[i]; k++)
            CHECK(ptr[i][k] == (i & 0xff), "allocation %d byte %zu overwritten", i, k);
    }
    fc_pool_destroy(pool);
}
END_TEST

/* Unaligned allocations are packed: strings cost their length and no more. */
START_TEST(test_pnalloc_packed)
{
    fc_pool_t *pool = fc_pool_create(4096, NULL);
    unsigned char *a = fc_pnalloc(pool, 1);
    unsigned char *b = fc_pnalloc(pool, 3);
    unsigned char *c = fc_pnalloc(pool, 5);
    ck_assert_ptr_eq(b, a + 1);
    ck_assert_ptr_eq(c, b + 3);
    unsigned char *d = fc_palloc(pool, 8); /* realigned */
    ck_assert_uint_eq((uintptr_t) d % ALIGN, 0);
    ck_assert(d >= c + 5 && d < c + 5 + ALIGN);
    fc_pool_destroy(pool);
}
END_TEST

/* Allocations of every size around a block's capacity fit and are usable in full. */
START_TEST(test_block_boundaries)
{
    size_t bs = block_sizes[_i] < 256 ? 256 : block_sizes[_i];
    fc_pool_t *pool = fc_pool_create(bs, NULL);
    for (size_t size = bs - 64; size <= bs + 64; size++) {
        unsigned char *p = fc_palloc(pool, size);
        CHECK(p != NULL && (uintptr_t) p % ALIGN == 0, "fc_palloc(%zu) = %p", size, p);
        memset(p, 0x5a, size); /* valgrind/ASan catch a block overrun */
        unsigned char *q = fc_pnalloc(pool, size);
        CHECK(q != NULL, "fc_pnalloc(%zu) failed", size);
        memset(q, 0x3c, size);
        CHECK(p[size - 1] == 0x5a, "fc_palloc(%zu) and fc_pnalloc overlap", size);
    }
    fc_pool_destroy(pool);
}
END_TEST

START_TEST(test_large_and_pfree)
{
    fc_pool_t *pool = fc_pool_create(1024, NULL);
    unsigned char *small = fc_palloc(pool, 16);
    unsigned char *big[5];
    for (int i = 0; i < 5; i++) {
        big[i] = fc_palloc(pool, 100000 + (size_t) i);
        ck_assert_ptr_nonnull(big[i]);
        ck_assert_uint_eq((uintptr_t) big[i] % ALIGN, 0);
        memset(big[i], i, 100000 + (size_t) i);
    }
    unsigned char *zeroed = fc_pcalloc(pool, 50000);
    for (size_t k = 0; k < 50000; k++)
        CHECK(zeroed[k] == 0, "large fc_pcalloc: byte %zu not zeroed", k);
    /* Large allocations can be given back early (in any order); small ones cannot. */
    ck_assert_int_eq(fc_pfree(pool, big[2]), FC_OK);
    ck_assert_int_eq(fc_pfree(pool, big[0]), FC_OK);
    ck_assert_int_eq(fc_pfree(pool, big[4]), FC_OK);
    ck_assert_int_eq(fc_pfree(pool, small), FC_DECLINED);
    ck_assert_int_eq(fc_pfree(pool, big[0]), FC_DECLINED); /* already freed: no double free */
    int stack;
    ck_assert_int_eq(fc_pfree(pool, &stack), FC_DECLINED);
    ck_assert_int_eq(big[1][99999], 1); /* the others survive */
    ck_assert_int_eq(big[3][100002], 3);
    /* New large allocations after fc_pfree (which may reuse the freed list nodes). */
    for (int i = 0; i < 6; i++) {
        unsigned char *again = fc_palloc(pool, 20000);
        ck_assert_ptr_nonnull(again);
        memset(again, 0x77, 20000);
        if (i == 3)
            ck_assert_int_eq(fc_pfree(pool, again), FC_OK);
    }
    ck_assert_int_eq(big[1][0], 1);
    /* Destroy frees what is left (valgrind: no leak, no double free). */
    fc_pool_destroy(pool);
}
END_TEST

/* A large allocation also works when the pool's blocks are full. */
START_TEST(test_large_in_full_pool)
{
    fc_pool_t *pool = fc_pool_create(256, NULL);
    for (int round = 0; round < 50; round++) {
        /* A block's whole capacity (256 - header) leaves no room for the large list node. */
        unsigned char *fill = fc_pnalloc(pool, 224);
        ck_assert_ptr_nonnull(fill);
        memset(fill, 0xee, 224);
        unsigned char *big = fc_palloc(pool, 5000);
        ck_assert_ptr_nonnull(big);
        memset(big, round, 5000);
    }
    fc_pool_destroy(pool);
}
END_TEST

START_TEST(test_destroy_null)
{
    fc_pool_destroy(NULL);
}
END_TEST

/* ---- cleanups --------------------------------------------------------------- */

static int order[16];
static int norder;

static void
record(void *data)
{
    ck_assert_int_lt(norder, (int) fc_nelems(order));
    order[norder++] = *(int *) data;
}

static void
add_cleanups(fc_pool_t *pool, int n)
{
    for (int i = 1; i <= n; i++) {
        fc_pool_cleanup_t *c = fc_pool_cleanup_add(pool, sizeof(int));
        ck_assert_ptr_nonnull(c);
        ck_assert_ptr_nonnull(c->data);
        ck_assert_int_eq(*(int *) c->data, 0); /* fresh bytes are zeroed */
        *(int *) c->data = i;
        c->handler = record;
        /* A cleanup with no handler (the owner gave up on it) is skipped. */
        ck_assert_ptr_nonnull(fc_pool_cleanup_add(pool, 0));
    }
}

START_TEST(test_cleanup_destroy_order)
{
    fc_pool_t *pool = fc_pool_create(512, NULL);
    norder = 0;
    add_cleanups(pool, 5);
    (void) fc_palloc(pool, 10000); /* large allocations are freed after cleanups ran */
    fc_pool_destroy(pool);
    ck_assert_int_eq(norder, 5);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(order[i], 5 - i);
}
END_TEST

START_TEST(test_cleanup_reset)
{
    fc_pool_t *pool = fc_pool_create(512, NULL);
    norder = 0;
    add_cleanups(pool, 3);
    fc_pool_reset(pool);
    ck_assert_int_eq(norder, 3);
    ck_assert_int_eq(order[0], 3);
    ck_assert_int_eq(order[1], 2);
    ck_assert_int_eq(order[2], 1);
    /* Cleanups run once: a second reset and the destroy run none of them again. */
    fc_pool_reset(pool);
    ck_assert_int_eq(norder, 3);
    add_cleanups(pool, 2);
    fc_pool_destroy(pool);
    ck_assert_int_eq(norder, 5);
    ck_assert_int_eq(order[3], 2);
    ck_assert_int_eq(order[4], 1);
}
END_TEST

/* A cleanup's data pointer may point anywhere (an fd, a library object). */
static int closed_fd = -1;

static void
close_fd(void *data)
{
    closed_fd = (int) (intptr_t) data;
}

START_TEST(test_cleanup_plain_data)
{
    fc_pool_t *pool = fc_pool_create(512, NULL);
    fc_pool_cleanup_t *c = fc_pool_cleanup_add(pool, 0);
    ck_assert_ptr_null(c->data);
    ck_assert_ptr_null(c->handler);
    c->handler = close_fd;
    c->data = (void *) (intptr_t) 42;
    closed_fd = -1;
    fc_pool_destroy(pool);
    ck_assert_int_eq(closed_fd, 42);
}
END_TEST

/* ---- reset ------------------------------------------------------------------ */

START_TEST(test_reset_reuses_memory)
{
    fc_pool_t *pool = fc_pool_create(1024, NULL);
    void *first = fc_palloc(pool, 64);
    for (int i = 0; i < 100; i++) /* spill into more blocks and large allocations */
        ck_assert_ptr_nonnull(fc_palloc(pool, (size_t) (i % 2 ? 500 : 5000)));
    fc_pool_reset(pool);
    ck_assert_ptr_eq(fc_palloc(pool, 64), first);
    /* The pool stays fully usable after a reset. */
    for (int i = 0; i < 100; i++) {
        unsigned char *p = fc_palloc(pool, (size_t) (i % 2 ? 500 : 5000));
        ck_assert_ptr_nonnull(p);
        memset(p, i, (size_t) (i % 2 ? 500 : 5000));
    }
    fc_pool_reset(pool);
    fc_pool_reset(pool);
    fc_pool_destroy(pool);
}
END_TEST

/* A request pool (16 KB blocks) holds an 8 KB proxy buffer in its block; more is large. */
START_TEST(test_big_block_small_limit)
{
    fc_pool_t *pool = fc_pool_create(FC_REQUEST_POOL_SIZE, NULL);
    unsigned char *buf = fc_palloc(pool, 8192);
    ck_assert_ptr_nonnull(buf);
    memset(buf, 0x5a, 8192);
    ck_assert_int_eq(fc_pfree(pool, buf), FC_DECLINED);
    unsigned char *big = fc_palloc(pool, 8193);
    ck_assert_ptr_nonnull(big);
    ck_assert_int_eq(fc_pfree(pool, big), FC_OK);
    /* Small pools keep the page limit. */
    fc_pool_t *small = fc_pool_create(16, NULL);
    unsigned char *p = fc_palloc(small, 4097);
    ck_assert_int_eq(fc_pfree(small, p), FC_OK);
    fc_pool_destroy(small);
    fc_pool_destroy(pool);
}
END_TEST

/* Head buffers given back are handed out again, by size; past the limit they are freed. */
START_TEST(test_worker_buffers)
{
    fc_worker_t w;
    memset(&w, 0, sizeof(w));
    unsigned char *a = fc_worker_buffer(&w, 1024), *b = fc_worker_buffer(&w, 4096);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    memset(a, 'a', 1024); /* the whole size is usable (ASan checks it) */
    memset(b, 'b', 4096);
    fc_worker_release_buffer(&w, a, 1024);
    fc_worker_release_buffer(&w, b, 4096);
    fc_worker_release_buffer(&w, NULL, 1024); /* allowed, keeps nothing */
    if (!FC_WORKER_STASH) {
        ck_assert_uint_eq(w.nspare_buffers, 0);
        return;
    }
    ck_assert_uint_eq(w.nspare_buffers, 2);
    ck_assert_ptr_eq(fc_worker_buffer(&w, 1024), a); /* the one of that size */
    ck_assert_ptr_eq(fc_worker_buffer(&w, 4096), b);
    ck_assert_uint_eq(w.nspare_buffers, 0);
    unsigned char *c = fc_worker_buffer(&w, 2048); /* none of that size: a new one */
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_ne(c, a);
    ck_assert_ptr_ne(c, b);
    fc_worker_release_buffer(&w, c, 2048);
    /* Past FC_WORKER_SPARE_BUFFERS spares, a buffer given back is freed (valgrind: no leak). */
    unsigned char *many[FC_WORKER_SPARE_BUFFERS + 2];
    many[0] = a;
    many[1] = b;
    for (size_t i = 2; i < fc_nelems(many); i++)
        many[i] = fc_worker_buffer(&w, 1024);
    for (size_t i = 0; i < fc_nelems(many); i++)
        fc_worker_release_buffer(&w, many[i], 1024);
    ck_assert_uint_eq(w.nspare_buffers, FC_WORKER_SPARE_BUFFERS);
    while (w.nspare_buffers)
        free(w.spare_buffers[--w.nspare_buffers].data);
    /* Without a worker, plain malloc and free. */
    c = fc_worker_buffer(NULL, 100);
    ck_assert_ptr_nonnull(c);
    fc_worker_release_buffer(NULL, c, 100);
}
END_TEST

static int spare_cleanups;

static void
count_cleanup(void *data)
{
    (void) data;
    spare_cleanups++;
}

/* A worker's request pools: given back, emptied (cleanups run) and handed out again. */
START_TEST(test_worker_request_pools)
{
    fc_worker_t w;
    memset(&w, 0, sizeof(w));
    spare_cleanups = 0;
    fc_pool_t *p = fc_worker_request_pool(&w, NULL);
    void *first = fc_palloc(p, 100);
    ck_assert_ptr_nonnull(fc_palloc(p, 50000)); /* large: freed when given back */
    fc_pool_cleanup_add(p, 0)->handler = count_cleanup;
    fc_worker_release_request_pool(&w, p);
    ck_assert_int_eq(spare_cleanups, 1);
    if (!FC_WORKER_STASH) { /* sanitizer build: every pool is destroyed */
        ck_assert_uint_eq(w.nspare_pools, 0);
        return;
    }
    ck_assert_uint_eq(w.nspare_pools, 1);
    ck_assert_ptr_eq(fc_worker_request_pool(&w, NULL), p);
    ck_assert_uint_eq(w.nspare_pools, 0);
    ck_assert_ptr_eq(fc_palloc(p, 100), first);
    /* Past FC_WORKER_SPARE_POOLS spares, a pool given back is destroyed (valgrind: no leak). */
    fc_pool_t *many[FC_WORKER_SPARE_POOLS + 2];
    many[0] = p;
    for (size_t i = 1; i < fc_nelems(many); i++)
        many[i] = fc_worker_request_pool(&w, NULL);
    for (size_t i = 0; i < fc_nelems(many); i++) {
        fc_pool_cleanup_add(many[i], 0)->handler = count_cleanup;
        fc_worker_release_request_pool(&w, many[i]);
    }
    ck_assert_int_eq(spare_cleanups, 1 + (int) fc_nelems(many));
    ck_assert_uint_eq(w.nspare_pools, FC_WORKER_SPARE_POOLS);
    while (w.nspare_pools)
        fc_pool_destroy(w.spare_pools[--w.nspare_pools]);
    /* Without a worker (unit code, tools) pools are plain. */
    p = fc_worker_request_pool(NULL, NULL);
    fc_worker_release_request_pool(NULL, p);
}
END_TEST

/* ---- arrays ----------------------------------------------------------------- */

typedef struct {
    uint64_t a;
    uint32_t b;
    unsigned char c[5];
} elt_t;

START_TEST(test_array_grow)
{
    fc_pool_t *pool = fc_pool_create(1024, NULL);
    static const size_t initial[] = {0, 1, 3, 16};
    for (size_t k = 0; k < fc_nelems(initial); k++) {
        fc_array_t *a = fc_array_create(pool, initial[k], sizeof(elt_t));
        ck_assert_ptr_nonnull(a);
        ck_assert_uint_eq(a->nelts, 0);
        ck_assert_uint_eq(a->size, sizeof(elt_t));
        ck_assert_uint_ge(a->nalloc, 1);
        for (uint32_t i = 0; i < 1000; i++) {
            elt_t *e = fc_array_push(a);
            CHECK(e != NULL, "push %u failed", i);
            /* A pushed element is zeroed even when the storage is reused. */
            CHECK(e->a == 0 && e->b == 0 && e->c[4] == 0, "push %u: element not zeroed", i);
            CHECK((uintptr_t) e % _Alignof(elt_t) == 0, "push %u: misaligned", i);
            e->a = (uint64_t) i * 3;
            e->b = i;
            e->c[4] = (unsigned char) i;
            CHECK(a->nelts == i + 1 && a->nalloc >= a->nelts, "push %u: nelts %zu nalloc %zu", i,
                  a->nelts, a->nalloc);
        }
        for (uint32_t i = 0; i < 1000; i++) {
            elt_t *e = fc_array_at(a, elt_t, i);
            CHECK(e->a == (uint64_t) i * 3 && e->b == i && e->c[4] == (unsigned char) i,
                  "element %u lost when the array grew", i);
        }
    }
    fc_pool_destroy(pool);
}
END_TEST

START_TEST(test_array_init_in_place)
{
    fc_pool_t *pool = fc_pool_create(1024, NULL);
    fc_array_t a;
    ck_assert_int_eq(fc_array_init(&a, pool, 2, sizeof(int)), FC_OK);
    ck_assert_ptr_eq(a.pool, pool);
    int *x = fc_array_push(&a), *y = fc_array_push(&a);
    *x = 1;
    *y = 2;
    void *before = a.elts;
    int *z = fc_array_push(&a); /* third push outgrows the initial room */
    *z = 3;
    ck_assert_ptr_ne(a.elts, before);
    ck_assert_int_eq(*fc_array_at(&a, int, 0), 1);
    ck_assert_int_eq(*fc_array_at(&a, int, 1), 2);
    ck_assert_int_eq(*fc_array_at(&a, int, 2), 3);
    /* Reusing an array by clearing nelts gives zeroed elements again. */
    a.nelts = 0;
    ck_assert_int_eq(*(int *) fc_array_push(&a), 0);
    fc_pool_destroy(pool);
}
END_TEST

static Suite *
pool_suite(void)
{
    Suite *s = suite_create("pool");
    struct {
        const char *name;
        const TTest *test;
        int loop;
    } cases[] = {
        {"aligned", test_aligned, (int) fc_nelems(block_sizes)},
        {"no_overlap", test_no_overlap, (int) fc_nelems(block_sizes)},
        {"pnalloc_packed", test_pnalloc_packed, 1},
        {"block_boundaries", test_block_boundaries, (int) fc_nelems(block_sizes)},
        {"large_pfree", test_large_and_pfree, 1},
        {"large_full_pool", test_large_in_full_pool, 1},
        {"destroy_null", test_destroy_null, 1},
        {"cleanup_destroy", test_cleanup_destroy_order, 1},
        {"cleanup_reset", test_cleanup_reset, 1},
        {"cleanup_data", test_cleanup_plain_data, 1},
        {"reset_reuse", test_reset_reuses_memory, 1},
        {"big_block_limit", test_big_block_small_limit, 1},
        {"worker_request_pools", test_worker_request_pools, 1},
        {"worker_buffers", test_worker_buffers, 1},
        {"array_grow", test_array_grow, 1},
        {"array_init", test_array_init_in_place, 1},
    };
    for (size_t i = 0; i < fc_nelems(cases); i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_loop_test(tc, cases[i].test, 0, cases[i].loop);
        suite_add_tcase(s, tc);
    }
    return s;
}

int
main(void)
{
    return fc_unit_run(pool_suite());
}
