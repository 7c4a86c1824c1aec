/*
 * shm.h: shared-memory zones, the one way workers share mutable memory
 * (TLS sessions, cache keys, counters). A module declares a zone by name
 * while the config is parsed; once the whole config is valid the master
 * maps every zone (MAP_SHARED | MAP_ANONYMOUS) and workers inherit the
 * mappings by fork, at the same address in every process, so plain
 * pointers into a zone are valid everywhere. A reload that declares a zone
 * with the same name, size and owner takes over the running mapping: its
 * content survives (sessions stay valid). Each zone holds a process-shared
 * robust lock and a slab allocator. See docs/internals/shm.md.
 */
#ifndef FC_SHM_H
#define FC_SHM_H

#include "core/conf.h"

/* Allocator page; requests above FC_SHM_MAX_SMALL take whole pages. */
#define FC_SHM_PAGE_SIZE 4096u
#define FC_SHM_MAX_SMALL 2048u
/*
 * The smallest zone: 2 pages, the least nginx accepts for any zone
 * (proxy_cache_path keys_zone); owners ask more where nginx does (8 pages
 * for a session cache) and say so in nginx's words first.
 */
#define FC_SHM_MIN_SIZE (2 * FC_SHM_PAGE_SIZE)

typedef struct fc_shm_zone_s fc_shm_zone_t;
typedef struct fc_shm_pool_s fc_shm_pool_t; /* the mapped header: lock + allocator */

/*
 * Called in the master once the zone is mapped, before workers fork.
 * old_data is the previous cycle's zone->data when the mapping was taken
 * over (the content is there already: pick it up, do not rebuild it, and do
 * not change what the running workers use: the new cycle may still fail);
 * NULL for a fresh, zeroed mapping. FC_OK or FC_ERROR (the cycle fails).
 */
typedef int (*fc_shm_zone_init_pt)(fc_shm_zone_t *zone, void *old_data);

struct fc_shm_zone_s {
    fc_str_t name;                     /* NUL-terminated */
    size_t size;                       /* bytes as configured; 0 while only referenced */
    void *tag;                         /* the owner (a module's address): one owner per name */
    fc_shm_zone_init_pt init;          /* set by the owner (NULL: nothing to build) */
    void *data;                        /* the owner's; handed to the next cycle's init */
    fc_shm_pool_t *pool;               /* the mapping; NULL until mapped (always NULL with -t) */
    fc_log_t *log;                     /* the cycle's log: lock recovery is reported there */
    struct fc_shm_zone_s *reused_from; /* the old cycle's zone whose mapping this took */
    unsigned owned : 1;                /* this cycle unmaps the mapping when destroyed */
    struct fc_shm_zone_s *next;
};

/* Figures of a zone's allocator (fc_shm_stats_get). */
typedef struct {
    size_t pages;      /* allocator pages in the zone */
    size_t free_pages; /* pages in no use at all */
    unsigned resets;   /* times the content was discarded after a holder died */
} fc_shm_stats_t;

/*
 * Declares (or finds) the zone `name` for the cycle being parsed, nginx's
 * way: the same name with the same tag returns the same zone; size 0 means
 * "referenced, sized elsewhere" and a later non-zero size fills it in. A
 * different tag, a second different size or a size below FC_SHM_MIN_SIZE is
 * logged at cf's file:line and returns NULL. The zone lives in the cycle's
 * pool; the caller sets zone->init and zone->data.
 */
fc_shm_zone_t *fc_shm_zone_add(fc_conf_t *cf, const fc_str_t *name, size_t size, void *tag);

/*
 * Master, once the config is valid (fc_cycle_init): rejects zones never
 * sized ("zero size shared memory zone"), then, unless the cycle is a test
 * (-t), maps each zone or takes over `old`'s mapping of the same name, size
 * and tag, and calls the zones' init. On failure the cycle's pool cleanup
 * unmaps only what this cycle mapped itself.
 */
int fc_shm_zones_init(fc_cycle_t *cycle, fc_cycle_t *old, fc_log_t *log);
/*
 * The new cycle replaces `old` (NULL allowed): mappings taken over become
 * the new cycle's, and old zones not taken over are unmapped now, before new
 * workers fork, so they never inherit them (old workers keep their own
 * mappings until they exit).
 */
void fc_shm_zones_commit(fc_cycle_t *cycle, fc_cycle_t *old);

/*
 * Takes the zone's lock (a robust process-shared mutex). FC_OK, or FC_DONE
 * when the previous holder died holding it: the lock is held and usable, the
 * zone's content was discarded (every allocation freed, root NULL, an alert
 * logged) because it may have been half-updated, so callers reload any
 * pointer into the zone they kept. Either way fc_shm_unlock follows.
 */
int fc_shm_lock(fc_shm_zone_t *zone);
void fc_shm_unlock(fc_shm_zone_t *zone);

/*
 * Allocates from the zone's slab: 16..2048 bytes from power-of-two size
 * classes (aligned to their size), more as whole 4 KiB pages (page
 * aligned). NULL when the zone is full: callers evict and retry. Memory is
 * not zeroed. fc_shm_alloc takes the lock; _locked expects it held.
 */
void *fc_shm_alloc(fc_shm_zone_t *zone, size_t size);
void *fc_shm_alloc_locked(fc_shm_zone_t *zone, size_t size);
/* Gives back what fc_shm_alloc returned (NULL allowed). */
void fc_shm_free(fc_shm_zone_t *zone, void *p);
void fc_shm_free_locked(fc_shm_zone_t *zone, void *p);

/*
 * The owner's root object inside the zone (its index, its table): found by
 * every process through the mapping, NULL in a fresh zone and after a
 * discard. Read and set under the lock (or in init, before workers exist).
 */
void *fc_shm_root_get(fc_shm_zone_t *zone);
void fc_shm_root_set(fc_shm_zone_t *zone, void *root);

/* Allocator figures (takes the lock). */
void fc_shm_stats_get(fc_shm_zone_t *zone, fc_shm_stats_t *st);

#endif
