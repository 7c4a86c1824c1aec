/*
 * shm.c: shared-memory zones and the slab allocator inside them.
 *
 * A zone's mapping starts with a header (fc_shm_pool_t): the lock, the
 * owner's root pointer, the allocator state; then one descriptor per page;
 * then the 4 KiB pages themselves. Small requests come from power-of-two
 * classes (16..2048 bytes): a page is given to one class and its free
 * objects form a list threaded through themselves; pages with free objects
 * sit on their class's partial list. Larger requests take runs of whole
 * pages. Free pages form spans (first and last descriptor both say FREE and
 * carry the length) on one list, merged with their neighbours when freed,
 * so memory a class gave back serves any size again.
 *
 * Every link is a page index, and the header's pointers are valid in every
 * process because workers inherit the mapping at the master's address.
 */
#include "core/fc_core.h"
#include "core/cycle.h"
#include "core/shm.h"

#include <pthread.h>
#include <sys/mman.h>

#define SHM_NONE UINT32_MAX
#define SHM_MIN_SHIFT 4 /* 16 bytes: room for the free link, and malloc's alignment */
#define SHM_MAX_SHIFT 11
#define SHM_NCLASSES (SHM_MAX_SHIFT - SHM_MIN_SHIFT + 1)

enum { SHM_PAGE_INNER = 0, SHM_PAGE_FREE, SHM_PAGE_SMALL, SHM_PAGE_LARGE };

typedef struct {
    uint32_t next; /* span list (FREE heads) or the class's partial list (SMALL) */
    uint32_t prev;
    uint32_t npages; /* FREE head and tail: the span's length; LARGE: the run's */
    uint16_t type;
    uint16_t shift; /* SMALL: log2 of the object size */
    uint16_t used;  /* SMALL: objects handed out */
    uint16_t free;  /* SMALL: 1 + offset of the first free object; 0 when full */
} shm_page_t;

struct fc_shm_pool_s {
    pthread_mutex_t mutex;
    void *root;
    size_t size; /* of the mapping */
    shm_page_t *pages;
    unsigned char *start; /* page 0 */
    uint32_t npages;
    uint32_t nfree;
    uint32_t spans;
    uint32_t partial[SHM_NCLASSES];
    unsigned resets;
};

/* ---- page lists and spans --------------------------------------------------- */

static void
shm_list_push(fc_shm_pool_t *p, uint32_t *head, uint32_t i)
{
    p->pages[i].prev = SHM_NONE;
    p->pages[i].next = *head;
    if (*head != SHM_NONE)
        p->pages[*head].prev = i;
    *head = i;
}

static void
shm_list_remove(fc_shm_pool_t *p, uint32_t *head, uint32_t i)
{
    shm_page_t *d = &p->pages[i];
    if (d->prev != SHM_NONE)
        p->pages[d->prev].next = d->next;
    else
        *head = d->next;
    if (d->next != SHM_NONE)
        p->pages[d->next].prev = d->prev;
}

static void
shm_span_add(fc_shm_pool_t *p, uint32_t i, uint32_t n)
{
    p->pages[i].type = SHM_PAGE_FREE;
    p->pages[i].npages = n;
    p->pages[i + n - 1].type = SHM_PAGE_FREE;
    p->pages[i + n - 1].npages = n;
    shm_list_push(p, &p->spans, i);
}

/* First fit: n pages off the front of the first span that is long enough. */
static uint32_t
shm_pages_alloc(fc_shm_pool_t *p, uint32_t n)
{
    for (uint32_t i = p->spans; i != SHM_NONE; i = p->pages[i].next) {
        uint32_t m = p->pages[i].npages;
        if (m < n)
            continue;
        shm_list_remove(p, &p->spans, i);
        if (m > n)
            shm_span_add(p, i + n, m - n);
        p->pages[i + n - 1].type = SHM_PAGE_INNER; /* was the tail when m == n */
        p->pages[i].npages = n;
        p->nfree -= n;
        return i;
    }
    return SHM_NONE;
}

/* Returns a run to the spans, merged with free neighbours on both sides. */
static void
shm_pages_free(fc_shm_pool_t *p, uint32_t i, uint32_t n)
{
    p->nfree += n;
    p->pages[i].type = SHM_PAGE_INNER;
    uint32_t j = i + n;
    if (j < p->npages && p->pages[j].type == SHM_PAGE_FREE) {
        uint32_t m = p->pages[j].npages; /* j can only be a span's head */
        shm_list_remove(p, &p->spans, j);
        p->pages[j].type = SHM_PAGE_INNER;
        n += m;
    }
    if (i > 0 && p->pages[i - 1].type == SHM_PAGE_FREE) {
        uint32_t m = p->pages[i - 1].npages; /* i - 1 is that span's tail */
        uint32_t h = i - m;
        shm_list_remove(p, &p->spans, h);
        p->pages[i - 1].type = SHM_PAGE_INNER;
        i = h;
        n += m;
    }
    shm_span_add(p, i, n);
}

/* Lays out a zeroed or discarded mapping: every page in one free span. */
static void
shm_pool_layout(fc_shm_pool_t *p)
{
    unsigned char *base = (unsigned char *) p;
    size_t hdr = fc_align(sizeof(*p), 16);
    size_t n = (p->size - hdr) / (FC_SHM_PAGE_SIZE + sizeof(shm_page_t));
    size_t start = fc_align(hdr + n * sizeof(shm_page_t), FC_SHM_PAGE_SIZE);
    while (n > 0 && start + n * FC_SHM_PAGE_SIZE > p->size) {
        n--;
        start = fc_align(hdr + n * sizeof(shm_page_t), FC_SHM_PAGE_SIZE);
    }
    p->pages = (shm_page_t *) (base + hdr);
    p->start = base + start;
    p->npages = (uint32_t) n;
    p->nfree = 0;
    p->spans = SHM_NONE;
    for (size_t c = 0; c < SHM_NCLASSES; c++)
        p->partial[c] = SHM_NONE;
    p->root = NULL;
    memset(p->pages, 0, n * sizeof(shm_page_t));
    if (n > 0)
        shm_pages_free(p, 0, (uint32_t) n);
}

/*
 * A robust process-shared mutex rather than a spinlock with the holder's
 * pid: the kernel itself marks it when its holder dies (robust futex list),
 * the next locker learns so at once (EOWNERDEAD), nothing has to poll for
 * dead pids, and waiters sleep in the kernel instead of spinning on a
 * 2-core machine. Critical sections are a few list operations long.
 */
static int
shm_pool_init(fc_shm_pool_t *p, size_t size, fc_log_t *log)
{
    pthread_mutexattr_t attr;
    int rc = pthread_mutexattr_init(&attr);
    if (rc == 0)
        rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (rc == 0)
        rc = pthread_mutex_init(&p->mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    if (rc != 0) {
        fc_log_error(FC_LOG_EMERG, log, rc, "pthread_mutex_init() failed");
        return FC_ERROR;
    }
    p->size = size;
    p->resets = 0;
    shm_pool_layout(p);
    return FC_OK;
}

/* ---- allocation --------------------------------------------------------------- */

static void
shm_small_page_init(fc_shm_pool_t *p, uint32_t i, unsigned shift)
{
    shm_page_t *d = &p->pages[i];
    unsigned char *page = p->start + (size_t) i * FC_SHM_PAGE_SIZE;
    size_t size = (size_t) 1 << shift;
    d->type = SHM_PAGE_SMALL;
    d->shift = (uint16_t) shift;
    d->used = 0;
    d->npages = 1;
    for (size_t off = 0; off < FC_SHM_PAGE_SIZE; off += size) {
        uint16_t next = off + size < FC_SHM_PAGE_SIZE ? (uint16_t) (off + size + 1) : 0;
        memcpy(page + off, &next, sizeof(next));
    }
    d->free = 1;
}

static void *
shm_small_alloc(fc_shm_pool_t *p, unsigned shift)
{
    uint32_t *partial = &p->partial[shift - SHM_MIN_SHIFT];
    uint32_t i = *partial;
    if (i == SHM_NONE) {
        i = shm_pages_alloc(p, 1);
        if (i == SHM_NONE)
            return NULL;
        shm_small_page_init(p, i, shift);
        shm_list_push(p, partial, i);
    }
    shm_page_t *d = &p->pages[i];
    unsigned char *obj = p->start + (size_t) i * FC_SHM_PAGE_SIZE + d->free - 1;
    memcpy(&d->free, obj, sizeof(d->free));
    d->used++;
    if (d->free == 0)
        shm_list_remove(p, partial, i);
    return obj;
}

void *
fc_shm_alloc_locked(fc_shm_zone_t *zone, size_t size)
{
    fc_shm_pool_t *p = zone->pool;
    if (size > FC_SHM_MAX_SMALL) {
        if (size > (size_t) p->npages * FC_SHM_PAGE_SIZE)
            return NULL;
        uint32_t n = (uint32_t) ((size + FC_SHM_PAGE_SIZE - 1) / FC_SHM_PAGE_SIZE);
        uint32_t i = shm_pages_alloc(p, n);
        if (i == SHM_NONE)
            return NULL;
        p->pages[i].type = SHM_PAGE_LARGE;
        return p->start + (size_t) i * FC_SHM_PAGE_SIZE;
    }
    unsigned shift = SHM_MIN_SHIFT;
    while (((size_t) 1 << shift) < size)
        shift++;
    return shm_small_alloc(p, shift);
}

void
fc_shm_free_locked(fc_shm_zone_t *zone, void *ptr)
{
    if (ptr == NULL)
        return;
    fc_shm_pool_t *p = zone->pool;
    unsigned char *u = ptr;
    FC_ASSERT(u >= p->start && u < p->start + (size_t) p->npages * FC_SHM_PAGE_SIZE);
    size_t off = (size_t) (u - p->start);
    uint32_t i = (uint32_t) (off / FC_SHM_PAGE_SIZE);
    off %= FC_SHM_PAGE_SIZE;
    shm_page_t *d = &p->pages[i];
    if (d->type == SHM_PAGE_LARGE) {
        FC_ASSERT(off == 0);
        shm_pages_free(p, i, d->npages);
        return;
    }
    FC_ASSERT(d->type == SHM_PAGE_SMALL && d->used > 0);
    FC_ASSERT((off & (((size_t) 1 << d->shift) - 1)) == 0);
    uint32_t *partial = &p->partial[d->shift - SHM_MIN_SHIFT];
    int was_full = d->free == 0;
    memcpy(u, &d->free, sizeof(d->free));
    d->free = (uint16_t) (off + 1);
    d->used--;
    if (d->used == 0) {
        if (!was_full)
            shm_list_remove(p, partial, i);
        shm_pages_free(p, i, 1);
    } else if (was_full) {
        shm_list_push(p, partial, i);
    }
}

void *
fc_shm_alloc(fc_shm_zone_t *zone, size_t size)
{
    fc_shm_lock(zone);
    void *p = fc_shm_alloc_locked(zone, size);
    fc_shm_unlock(zone);
    return p;
}

void
fc_shm_free(fc_shm_zone_t *zone, void *p)
{
    if (p == NULL)
        return;
    fc_shm_lock(zone);
    fc_shm_free_locked(zone, p);
    fc_shm_unlock(zone);
}

/* ---- lock, root, figures -------------------------------------------------------- */

int
fc_shm_lock(fc_shm_zone_t *zone)
{
    fc_shm_pool_t *p = zone->pool;
    int rc = pthread_mutex_lock(&p->mutex);
    if (rc == 0)
        return FC_OK;
    /* Anything else (EINVAL, ENOTRECOVERABLE) means the header itself is broken. */
    FC_ASSERT(rc == EOWNERDEAD);
    pthread_mutex_consistent(&p->mutex);
    shm_pool_layout(p);
    p->resets++;
    if (zone->log)
        fc_log_error(FC_LOG_ALERT, zone->log, 0,
                     "shared memory zone \"%s\" was locked by a process that died: "
                     "its content is discarded",
                     zone->name.data);
    return FC_DONE;
}

void
fc_shm_unlock(fc_shm_zone_t *zone)
{
    pthread_mutex_unlock(&zone->pool->mutex);
}

void *
fc_shm_root_get(fc_shm_zone_t *zone)
{
    return zone->pool->root;
}

void
fc_shm_root_set(fc_shm_zone_t *zone, void *root)
{
    zone->pool->root = root;
}

void
fc_shm_stats_get(fc_shm_zone_t *zone, fc_shm_stats_t *st)
{
    fc_shm_lock(zone);
    st->pages = zone->pool->npages;
    st->free_pages = zone->pool->nfree;
    st->resets = zone->pool->resets;
    fc_shm_unlock(zone);
}

/* ---- zones of a cycle ----------------------------------------------------------- */

fc_shm_zone_t *
fc_shm_zone_add(fc_conf_t *cf, const fc_str_t *name, size_t size, void *tag)
{
    int nl = (int) name->len;
    for (fc_shm_zone_t *z = cf->cycle->shm_zones; z; z = z->next) {
        if (!fc_str_eq(&z->name, name))
            continue;
        if (z->tag != tag) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                              "the shared memory zone \"%.*s\" is already declared for a "
                              "different use",
                              nl, name->data);
            return NULL;
        }
        if (z->size == 0)
            z->size = size;
        if (size && size != z->size) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                              "the size %zu of shared memory zone \"%.*s\" conflicts with "
                              "already declared size %zu",
                              size, nl, name->data, z->size);
            return NULL;
        }
        return z;
    }
    if (size && size < FC_SHM_MIN_SIZE) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                          "shared memory zone \"%.*s\" is too small (%zu bytes, at least %u)", nl,
                          name->data, size, (unsigned) FC_SHM_MIN_SIZE);
        return NULL;
    }
    fc_shm_zone_t *z = fc_pcalloc(cf->cycle->pool, sizeof(*z));
    if (z == NULL || fc_str_dup(cf->cycle->pool, &z->name, name) != FC_OK)
        return NULL;
    z->size = size;
    z->tag = tag;
    z->next = cf->cycle->shm_zones;
    cf->cycle->shm_zones = z;
    return z;
}

static void
shm_zone_unmap(fc_shm_zone_t *z)
{
    if (z->owned && z->pool)
        munmap(z->pool, z->size);
    z->owned = 0;
    z->pool = NULL; /* SSL_CTX callbacks run by a late cleanup see a zone that is gone */
}

static void
shm_cycle_cleanup(void *data)
{
    fc_cycle_t *cycle = data;
    for (fc_shm_zone_t *z = cycle->shm_zones; z; z = z->next)
        shm_zone_unmap(z);
}

static fc_shm_zone_t *
shm_find_reusable(fc_cycle_t *old, const fc_shm_zone_t *z)
{
    for (fc_shm_zone_t *oz = old ? old->shm_zones : NULL; oz; oz = oz->next) {
        if (oz->pool && oz->tag == z->tag && oz->size == z->size && fc_str_eq(&oz->name, &z->name))
            return oz;
    }
    return NULL;
}

static int
shm_zone_map(fc_shm_zone_t *z, fc_log_t *log)
{
    void *addr = mmap(NULL, z->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (addr == MAP_FAILED) {
        fc_log_error(FC_LOG_EMERG, log, errno,
                     "mmap(MAP_ANONYMOUS|MAP_SHARED, %zu) failed for shared memory zone \"%s\"",
                     z->size, z->name.data);
        return FC_ERROR;
    }
    z->pool = addr;
    z->owned = 1;
    return shm_pool_init(z->pool, z->size, log);
}

int
fc_shm_zones_init(fc_cycle_t *cycle, fc_cycle_t *old, fc_log_t *log)
{
    int rc = FC_OK;
    for (fc_shm_zone_t *z = cycle->shm_zones; z; z = z->next) {
        z->log = &cycle->new_log;
        if (z->size == 0) {
            fc_log_error(FC_LOG_EMERG, log, 0, "zero size shared memory zone \"%s\"", z->name.data);
            rc = FC_ERROR;
        }
    }
    if (rc != FC_OK || cycle->test_only || cycle->shm_zones == NULL)
        return rc;
    fc_pool_cleanup_t *cln = fc_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL)
        return FC_ERROR;
    cln->handler = shm_cycle_cleanup;
    cln->data = cycle;
    for (fc_shm_zone_t *z = cycle->shm_zones; z; z = z->next) {
        fc_shm_zone_t *oz = shm_find_reusable(old, z);
        if (oz) {
            z->pool = oz->pool; /* owned only once the cycle is committed */
            z->reused_from = oz;
        } else if (shm_zone_map(z, log) != FC_OK) {
            return FC_ERROR;
        }
        if (z->init && z->init(z, oz ? oz->data : NULL) != FC_OK)
            return FC_ERROR;
    }
    return FC_OK;
}

void
fc_shm_zones_commit(fc_cycle_t *cycle, fc_cycle_t *old)
{
    for (fc_shm_zone_t *z = cycle->shm_zones; z; z = z->next) {
        if (z->reused_from) {
            z->reused_from->owned = 0;
            z->reused_from->pool = NULL;
            z->reused_from = NULL;
            z->owned = 1;
        }
    }
    for (fc_shm_zone_t *oz = old ? old->shm_zones : NULL; oz; oz = oz->next)
        shm_zone_unmap(oz);
}
