/*
 * check_shm.c: shared-memory zones (src/core/shm.c): declaring zones as the
 * config does (same name, sizes, owners, nginx's errors at file:line),
 * mapping, reuse of a mapping by the next cycle and unmapping of the rest,
 * test mode, the slab allocator (size classes, alignment, exhaustion, pages
 * merged back), memory written by a forked child and read by its parent,
 * and the lock recovered after its holder died.
 */
#include <check.h>

#include "unit.h"
#include <sys/wait.h>

#include "core/fc_core.h"
#include "core/cycle.h"
#include "core/shm.h"

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg(__VA_ARGS__);                                                             \
    } while (0)

static int tag_a, tag_b; /* two owners */
static char out[4096];   /* captured stderr */
static int saved_fd = -1, cap_fd = -1;

/* ---- a cycle and a conf as the parser would have them ---------------------------- */

static fc_cycle_t *
cycle_new(int test_only)
{
    fc_pool_t *pool = fc_pool_create(4096, NULL);
    ck_assert_ptr_nonnull(pool);
    fc_cycle_t *c = fc_pcalloc(pool, sizeof(*c));
    ck_assert_ptr_nonnull(c);
    c->pool = pool;
    c->log = fc_log_init();
    c->test_only = test_only;
    return c;
}

static fc_conf_t
conf_of(fc_cycle_t *c)
{
    fc_conf_t cf;
    memset(&cf, 0, sizeof(cf));
    cf.cycle = c;
    cf.pool = c->pool;
    cf.log = fc_log_init();
    cf.dir_file = "t.conf";
    cf.dir_line = 7;
    return cf;
}

static fc_shm_zone_t *
add(fc_conf_t *cf, const char *name, size_t size, void *tag)
{
    fc_str_t n = {strlen(name), (unsigned char *) name};
    return fc_shm_zone_add(cf, &n, size, tag);
}

static void
capture_begin(void)
{
    char path[] = "/tmp/fc-check-shm-XXXXXX";
    fflush(stderr);
    cap_fd = mkstemp(path);
    ck_assert_int_ge(cap_fd, 0);
    unlink(path);
    saved_fd = dup(2);
    dup2(cap_fd, 2);
}

static const char *
capture_end(void)
{
    fflush(stderr);
    dup2(saved_fd, 2);
    close(saved_fd);
    ssize_t n = pread(cap_fd, out, sizeof(out) - 1, 0);
    close(cap_fd);
    out[n > 0 ? n : 0] = '\0';
    return out;
}

/* A one-zone cycle, mapped and committed: the zone to allocate from. */
static fc_cycle_t *zcycle;
static fc_pool_t *volatile zpool; /* its pool, so a child dying with it keeps it reachable */

static fc_shm_zone_t *
zone_new(size_t size)
{
    zcycle = cycle_new(0);
    zpool = zcycle->pool;
    fc_conf_t cf = conf_of(zcycle);
    fc_shm_zone_t *z = add(&cf, "z", size, &tag_a);
    ck_assert_ptr_nonnull(z);
    ck_assert_int_eq(fc_shm_zones_init(zcycle, NULL, zcycle->log), FC_OK);
    fc_shm_zones_commit(zcycle, NULL);
    ck_assert_ptr_nonnull(z->pool);
    return z;
}

static void
teardown(void)
{
    if (zcycle)
        fc_pool_destroy(zcycle->pool);
    zcycle = NULL;
    zpool = NULL;
}

/* 1 if the byte at p is mapped in this process (by /proc/self/maps, which valgrind accepts). */
static int
mapped(const void *p)
{
    FILE *f = fopen("/proc/self/maps", "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2)
            found = (uintptr_t) p >= lo && (uintptr_t) p < hi;
    }
    fclose(f);
    return found;
}

/* ---- declaring zones ------------------------------------------------------------------ */

static const struct {
    const char *name;
    size_t first, second; /* sizes of two declarations of "SSL" */
    int other_tag;
    const char *err; /* NULL: the second returns the first zone */
    size_t size;     /* the zone's size then */
} add_cases[] = {
    {"same size", 65536, 65536, 0, NULL, 65536},
    {"reference, then size", 0, 65536, 0, NULL, 65536},
    {"size, then reference", 65536, 0, 0, NULL, 65536},
    {"conflicting sizes", 2097152, 1048576, 0,
     "fulcrum: [emerg] the size 1048576 of shared memory zone \"SSL\" conflicts with already "
     "declared size 2097152 in t.conf:7\n",
     0},
    {"another owner", 65536, 65536, 1,
     "fulcrum: [emerg] the shared memory zone \"SSL\" is already declared for a different use in "
     "t.conf:7\n",
     0},
};

START_TEST(test_zone_add)
{
    fc_cycle_t *c = cycle_new(0);
    fc_conf_t cf = conf_of(c);
    fc_shm_zone_t *a = add(&cf, "SSL", add_cases[_i].first, &tag_a);
    ck_assert_ptr_nonnull(a);
    capture_begin();
    fc_shm_zone_t *b =
        add(&cf, "SSL", add_cases[_i].second, add_cases[_i].other_tag ? &tag_b : &tag_a);
    capture_end();
    if (add_cases[_i].err) {
        ck_assert_ptr_null(b);
        ck_assert_str_eq(out, add_cases[_i].err);
        ck_assert_uint_eq(cf.errors, 1);
    } else {
        ck_assert_ptr_eq(a, b);
        ck_assert_str_eq(out, "");
        ck_assert_uint_eq(a->size, add_cases[_i].size);
    }
    /* another name is another zone */
    fc_shm_zone_t *other = add(&cf, "SSL2", 65536, &tag_b);
    ck_assert_ptr_nonnull(other);
    ck_assert_ptr_ne(other, a);
    fc_pool_destroy(c->pool);
}
END_TEST

START_TEST(test_zone_too_small)
{
    fc_cycle_t *c = cycle_new(0);
    fc_conf_t cf = conf_of(c);
    capture_begin();
    fc_shm_zone_t *z = add(&cf, "tiny", FC_SHM_MIN_SIZE - 1, &tag_a);
    capture_end();
    ck_assert_ptr_null(z);
    ck_assert_str_eq(out, "fulcrum: [emerg] shared memory zone \"tiny\" is too small (8191 "
                          "bytes, at least 8192) in t.conf:7\n");
    ck_assert_ptr_nonnull(add(&cf, "tiny", FC_SHM_MIN_SIZE, &tag_a));
    fc_pool_destroy(c->pool);
}
END_TEST

/* Referenced but never sized: the cycle fails, in test mode too. */
START_TEST(test_zero_size)
{
    fc_cycle_t *c = cycle_new(_i);
    fc_conf_t cf = conf_of(c);
    ck_assert_ptr_nonnull(add(&cf, "ok", 65536, &tag_a));
    ck_assert_ptr_nonnull(add(&cf, "ref", 0, &tag_a));
    capture_begin();
    int rc = fc_shm_zones_init(c, NULL, c->log);
    capture_end();
    ck_assert_int_eq(rc, FC_ERROR);
    ck_assert_str_eq(out, "fulcrum: [emerg] zero size shared memory zone \"ref\"\n");
    fc_pool_destroy(c->pool);
}
END_TEST

static int init_calls;
static void *init_old;

static int
count_init(fc_shm_zone_t *zone, void *old_data)
{
    init_calls++;
    init_old = old_data;
    if (old_data == NULL) {
        char *s = fc_shm_alloc_locked(zone, 32);
        ck_assert_ptr_nonnull(s);
        strcpy(s, zone->name.data[0] == 'k' ? "kept" : "fresh");
        fc_shm_root_set(zone, s);
        zone->data = s;
    } else {
        zone->data = old_data;
    }
    return FC_OK;
}

/* -t: nothing is mapped and no init runs. */
START_TEST(test_test_mode)
{
    fc_cycle_t *c = cycle_new(1);
    fc_conf_t cf = conf_of(c);
    fc_shm_zone_t *z = add(&cf, "z", 65536, &tag_a);
    z->init = count_init;
    init_calls = 0;
    ck_assert_int_eq(fc_shm_zones_init(c, NULL, c->log), FC_OK);
    fc_shm_zones_commit(c, NULL);
    ck_assert_ptr_null(z->pool);
    ck_assert_int_eq(init_calls, 0);
    fc_pool_destroy(c->pool);
}
END_TEST

/* Declares keep (64k, a), drop (32k), resize (32k or 64k), each with count_init. */
static fc_cycle_t *
reload_cycle(size_t resize, int with_drop, int with_new)
{
    fc_cycle_t *c = cycle_new(0);
    fc_conf_t cf = conf_of(c);
    add(&cf, "keep", 65536, &tag_a)->init = count_init;
    add(&cf, "resize", resize, &tag_a)->init = count_init;
    if (with_drop)
        add(&cf, "drop", 32768, &tag_a)->init = count_init;
    if (with_new)
        add(&cf, "new", 32768, &tag_b)->init = count_init;
    return c;
}

static fc_shm_zone_t *
find(fc_cycle_t *c, const char *name)
{
    for (fc_shm_zone_t *z = c->shm_zones; z; z = z->next) {
        if (fc_str_eq_c(&z->name, name))
            return z;
    }
    return NULL;
}

/*
 * A reload takes over the mapping of a zone with the same name, size and
 * owner (content and data survive); a resized zone is new; zones left out
 * are unmapped at commit. A new cycle that fails unmaps only its own.
 */
START_TEST(test_reload_reuse)
{
    fc_cycle_t *old = reload_cycle(32768, 1, 0);
    ck_assert_int_eq(fc_shm_zones_init(old, NULL, old->log), FC_OK);
    fc_shm_zones_commit(old, NULL);
    fc_shm_zone_t *okeep = find(old, "keep"), *oresize = find(old, "resize");
    fc_shm_pool_t *keep_map = okeep->pool, *drop_map = find(old, "drop")->pool;
    fc_shm_pool_t *resize_map = oresize->pool;
    ck_assert_str_eq(okeep->data, "kept");

    /* a new cycle that fails after mapping: the running one keeps everything */
    fc_cycle_t *failed = reload_cycle(65536, 0, 1);
    ck_assert_int_eq(fc_shm_zones_init(failed, old, failed->log), FC_OK);
    fc_shm_pool_t *failed_new = find(failed, "new")->pool;
    ck_assert_ptr_eq(find(failed, "keep")->pool, keep_map);
    fc_pool_destroy(failed->pool);
    ck_assert(mapped(keep_map) && mapped(drop_map) && mapped(resize_map));
    ck_assert(!mapped(failed_new));
    ck_assert_str_eq(okeep->data, "kept");

    /* the real reload */
    fc_cycle_t *c = reload_cycle(65536, 0, 1);
    init_calls = 0;
    ck_assert_int_eq(fc_shm_zones_init(c, old, c->log), FC_OK);
    ck_assert_int_eq(init_calls, 3);
    fc_shm_zone_t *keep = find(c, "keep"), *resize = find(c, "resize");
    ck_assert_ptr_eq(keep->pool, keep_map);
    ck_assert_ptr_eq(keep->data, okeep->data);
    ck_assert_ptr_eq(fc_shm_root_get(keep), okeep->data);
    ck_assert_ptr_ne(resize->pool, resize_map);
    ck_assert_str_eq(resize->data, "fresh");
    fc_shm_zones_commit(c, old);
    ck_assert(!mapped(drop_map) && !mapped(resize_map));
    ck_assert_ptr_null(okeep->pool);
    fc_pool_destroy(old->pool);
    ck_assert(mapped(keep_map));
    ck_assert_str_eq(keep->data, "kept");
    fc_pool_destroy(c->pool);
    ck_assert(!mapped(keep_map));
}
END_TEST

/* ---- the allocator ---------------------------------------------------------------------- */

static const size_t sizes[] = {1, 16, 17, 100, 512, 2048, 2049, 4096, 5000, 20000};

/* Fills the zone with one size: aligned, disjoint, all given back, then the same again. */
START_TEST(test_size_classes)
{
    fc_shm_zone_t *z = zone_new(256 * 1024);
    size_t size = sizes[_i], align = 16;
    while (align < size && align < FC_SHM_PAGE_SIZE)
        align <<= 1;
    if (size > FC_SHM_MAX_SMALL)
        align = FC_SHM_PAGE_SIZE;
    fc_shm_stats_t st;
    fc_shm_stats_get(z, &st);
    ck_assert_uint_eq(st.free_pages, st.pages);
    static unsigned char *p[70000];
    size_t n[2];
    for (int round = 0; round < 2; round++) {
        size_t k = 0;
        while ((p[k] = fc_shm_alloc(z, size)) != NULL) {
            CHECK((uintptr_t) p[k] % align == 0, "%zu bytes at %p: not aligned to %zu", size,
                  (void *) p[k], align);
            memset(p[k], (int) (k & 0xff), size);
            k++;
            CHECK(k < fc_nelems(p), "no end to allocations");
        }
        for (size_t i = 0; i < k; i++) {
            for (size_t b = 0; b < size; b++)
                CHECK(p[i][b] == (i & 0xff), "allocation %zu overwritten", i);
        }
        fc_shm_stats_get(z, &st);
        ck_assert_uint_eq(st.free_pages,
                          size > FC_SHM_MAX_SMALL ? st.pages % ((size + 4095) / 4096) : 0);
        for (size_t i = k; i-- > 0;)
            fc_shm_free(z, p[i]);
        fc_shm_stats_get(z, &st);
        ck_assert_uint_eq(st.free_pages, st.pages);
        n[round] = k;
    }
    ck_assert_uint_eq(n[0], n[1]);
    /* every page is usable by one small class: pages * (4096 / class) objects */
    if (size <= FC_SHM_MAX_SMALL)
        ck_assert_uint_eq(n[0], st.pages * (FC_SHM_PAGE_SIZE / align));
}
END_TEST

/* Random sizes freed in random order: no overlap, and free pages merge back into one span. */
START_TEST(test_mixed)
{
    fc_shm_zone_t *z = zone_new(512 * 1024);
    enum { N = 600 };
    unsigned char *p[N] = {0};
    size_t len[N] = {0};
    unsigned seed = 12345;
    for (int step = 0; step < 20000; step++) {
        seed = seed * 1103515245u + 12345u;
        size_t i = (seed >> 8) % N;
        if (p[i]) {
            for (size_t b = 0; b < len[i]; b++)
                CHECK(p[i][b] == (unsigned char) i, "block %zu overwritten", i);
            fc_shm_free(z, p[i]);
            p[i] = NULL;
            continue;
        }
        len[i] = (seed >> 4) % 16 == 0 ? (seed >> 12) % 20000 + 1 : (seed >> 12) % 1500 + 1;
        p[i] = fc_shm_alloc(z, len[i]);
        if (p[i])
            memset(p[i], (int) (i & 0xff), len[i]);
    }
    for (size_t i = 0; i < N; i++)
        fc_shm_free(z, p[i]);
    fc_shm_stats_t st;
    fc_shm_stats_get(z, &st);
    ck_assert_uint_eq(st.free_pages, st.pages);
    void *all = fc_shm_alloc(z, st.pages * FC_SHM_PAGE_SIZE);
    ck_assert_ptr_nonnull(all); /* one span again: every page merged */
    ck_assert_ptr_null(fc_shm_alloc(z, 1));
    fc_shm_free(z, all);
}
END_TEST

START_TEST(test_exhaustion)
{
    fc_shm_zone_t *z = zone_new(8 * FC_SHM_PAGE_SIZE);
    fc_shm_stats_t st;
    fc_shm_stats_get(z, &st);
    ck_assert_uint_eq(st.pages, 7); /* the header and the page table cost one page */
    ck_assert_ptr_null(fc_shm_alloc(z, (st.pages + 1) * FC_SHM_PAGE_SIZE));
    ck_assert_ptr_null(fc_shm_alloc(z, SIZE_MAX));
    void *big = fc_shm_alloc(z, (st.pages - 1) * FC_SHM_PAGE_SIZE);
    ck_assert_ptr_nonnull(big);
    void *small = fc_shm_alloc(z, 2048);
    ck_assert_ptr_nonnull(small);
    ck_assert_ptr_nonnull(fc_shm_alloc(z, 2048)); /* the page's second half */
    ck_assert_ptr_null(fc_shm_alloc(z, 16));      /* nothing left for a new class page */
    fc_shm_free(z, big);
    ck_assert_ptr_nonnull(fc_shm_alloc(z, 16));
}
END_TEST

/* The smallest zone nginx allows (2 pages) still has a page to give. */
START_TEST(test_min_zone)
{
    fc_shm_zone_t *z = zone_new(FC_SHM_MIN_SIZE);
    fc_shm_stats_t st;
    fc_shm_stats_get(z, &st);
    ck_assert_uint_eq(st.pages, 1);
    void *p = fc_shm_alloc(z, FC_SHM_PAGE_SIZE);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_null(fc_shm_alloc(z, 16));
    fc_shm_free(z, p);
    ck_assert_ptr_nonnull(fc_shm_alloc(z, 16));
}
END_TEST

/* ---- across processes ----------------------------------------------------------------- */

/* A child allocates and writes; the parent finds it through the root and frees it. */
START_TEST(test_fork)
{
    fc_shm_zone_t *z = zone_new(64 * 1024);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        fc_shm_lock(z);
        char *s = fc_shm_alloc_locked(z, 100);
        if (s) {
            snprintf(s, 100, "written by %d", (int) getpid());
            fc_shm_root_set(z, s);
        }
        fc_shm_unlock(z);
        fc_pool_destroy(zpool); /* the child's copy (and its mapping), for valgrind */
        _exit(s ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char want[64];
    snprintf(want, sizeof(want), "written by %d", (int) pid);
    ck_assert_int_eq(fc_shm_lock(z), FC_OK);
    char *s = fc_shm_root_get(z);
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s, want);
    fc_shm_free_locked(z, s);
    fc_shm_root_set(z, NULL);
    fc_shm_unlock(z);
    fc_shm_stats_t st;
    fc_shm_stats_get(z, &st);
    ck_assert_uint_eq(st.free_pages, st.pages);
}
END_TEST

/*
 * A child dies holding the lock (mid-update): the next locker gets the lock
 * at once, is told (FC_DONE), and finds the zone discarded and usable.
 */
START_TEST(test_lock_owner_died)
{
    fc_shm_zone_t *z = zone_new(64 * 1024);
    ck_assert_ptr_nonnull(fc_shm_alloc(z, 5000));
    fc_shm_root_set(z, fc_shm_alloc(z, 64));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        fc_shm_lock(z);
        fc_shm_alloc_locked(z, 100);
        _exit(0); /* never unlocks */
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    capture_begin();
    z->log = fc_log_init();
    int rc = fc_shm_lock(z);
    capture_end();
    ck_assert_int_eq(rc, FC_DONE);
    ck_assert_str_eq(out, "fulcrum: [alert] shared memory zone \"z\" was locked by a process that "
                          "died: its content is discarded\n");
    ck_assert_ptr_null(fc_shm_root_get(z));
    ck_assert_ptr_nonnull(fc_shm_alloc_locked(z, 100));
    fc_shm_unlock(z);
    ck_assert_int_eq(fc_shm_lock(z), FC_OK);
    fc_shm_unlock(z);
    fc_shm_stats_t st;
    fc_shm_stats_get(z, &st);
    ck_assert_uint_eq(st.resets, 1);
    ck_assert_uint_eq(st.free_pages, st.pages - 1);
}
END_TEST

static Suite *
shm_suite(void)
{
    const fc_unit_case_t cases[] = {
        {"zone_add", test_zone_add, (int) fc_nelems(add_cases)},
        {"zone_too_small", test_zone_too_small, 1},
        {"zero_size", test_zero_size, 2},
        {"test_mode", test_test_mode, 1},
        {"reload_reuse", test_reload_reuse, 1},
        {"size_classes", test_size_classes, (int) fc_nelems(sizes)},
        {"mixed", test_mixed, 1},
        {"exhaustion", test_exhaustion, 1},
        {"min_zone", test_min_zone, 1},
        {"fork", test_fork, 1},
        {"lock_owner_died", test_lock_owner_died, 1},
    };
    return fc_unit_suite("shm", cases, fc_nelems(cases), NULL, teardown);
}

int
main(void)
{
    return fc_unit_run(shm_suite());
}
