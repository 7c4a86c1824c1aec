/*
 * cache.h: the response cache (nginx's proxy_cache), shared by its files.
 *
 *   cache_conf.c    directives, inheritance, registration with the engine
 *   cache_index.c   the keys zone: hash index + LRU of entries in shared memory
 *   cache_file.c    entry files: names, the header format, temp file + rename
 *   cache_policy.c  what may be stored and for how long (Cache-Control, ...)
 *   cache_request.c a request's way through the cache: lookup, HIT, lock,
 *                   stale, revalidation
 *   cache_store.c   storing a response: temp file, head, body, rename, index
 *   cache_manager.c the loader (index from disk at start) and the manager
 *                   (inactive, max_size, min_free), in bounded slices
 *   cache_purge.c   proxy_cache_purge
 *   cache_vars.c    $upstream_cache_status
 *
 * Keys and metadata live in a shared zone every worker sees; bodies live in
 * files under the cache path, named by the MD5 of the key as nginx names
 * them (levels=1:2 -> PATH/c/29/b7f54b2df7773722d382f4809d65029c). An entry
 * is written to a temp file next to its final name and renamed into place
 * only when complete. See docs/internals/cache.md.
 */
#ifndef FC_HTTP_CACHE_H
#define FC_HTTP_CACHE_H

#include "http/upstream.h"
#include "core/shm.h"

#define CACHE_KEY_LEN 16   /* MD5 */
#define CACHE_VARY_MAX 128 /* nginx's NGX_HTTP_CACHE_VARY_LEN: a longer Vary is not cached */
#define CACHE_MAX_LEVELS 3

extern fc_module_t fc_http_cache_module;

/* ---- the shared index (cache_index.c) ------------------------------------------------ */

typedef struct cache_node_s cache_node_t;

struct cache_node_s {
    unsigned char key[CACHE_KEY_LEN];
    unsigned char primary[CACHE_KEY_LEN]; /* a variant's main key (Vary); else == key */
    cache_node_t *hnext;                  /* hash chain */
    cache_node_t *prev, *next;            /* LRU list: head is the most recently used */
    time_t expire;                        /* inactive deadline: last use + inactive */
    time_t valid_sec;                     /* the stored response is fresh until then */
    uint64_t fs_size;                     /* disk bytes of the entry's file (0: none) */
    fc_msec_t lock_until;                 /* a fetch is under way until then (lock, updating) */
    char *vary;          /* a main key whose responses vary: the Vary names (zone memory) */
    uint64_t gen;        /* which file: new for each one the index learns (0: none) */
    uint32_t uses;       /* requests for the key (proxy_cache_min_uses) */
    unsigned exists : 1; /* a complete file is on disk */
    unsigned updating : 1;
    unsigned variant : 1; /* key is a variant of primary */
};

typedef struct {
    cache_node_t **buckets;
    size_t nbuckets; /* a power of two */
    cache_node_t *lru_head, *lru_tail;
    uint64_t size; /* disk bytes of all entries */
    uint64_t gen;  /* the last file generation handed out */
    size_t count;
    unsigned loaded : 1; /* the loader went through the disk */
    unsigned loading : 1;
} cache_sh_t;

typedef struct cache_mem_s cache_mem_t;
typedef struct cache_mem_entry_s cache_mem_entry_t;

/* One proxy_cache_path. */
typedef struct {
    fc_str_t name;                     /* keys_zone name */
    fc_str_t path;                     /* absolute, NUL-terminated, no trailing '/' */
    unsigned levels[CACHE_MAX_LEVELS]; /* characters per level, 0: none */
    unsigned nlevels;
    fc_shm_zone_t *zone;
    time_t inactive;     /* 10m */
    int64_t max_size;    /* 0: unlimited */
    int64_t min_free;    /* 0: none */
    size_t loader_files; /* per slice */
    fc_msec_t loader_sleep, loader_threshold;
    size_t manager_files;
    fc_msec_t manager_sleep, manager_threshold;
    int use_temp_path;
    const char *file;
    unsigned line;
    cache_mem_t *mem; /* a worker's copies of small entries (cache_mem.c), lazily */
} cache_path_t;

/* Under the lock: a request is fetching the node's entry (its mark has not expired). */
static inline int
cache_node_fetching(const cache_node_t *n, fc_msec_t now)
{
    return n->updating && n->lock_until > now;
}

/*
 * Takes the zone's lock and returns its index, the zone's root (rebuilt empty
 * after a reset: a pointer into the zone from before the lock is not valid).
 */
cache_sh_t *cache_index_lock(cache_path_t *cp);
/* Zone init: the index in a fresh zone, or the running one taken over. */
int cache_zone_init(fc_shm_zone_t *zone, void *old_data);
/* Under the zone lock: the node of key, NULL if none. */
cache_node_t *cache_node_find(cache_sh_t *sh, const unsigned char *key);
/*
 * Under the lock: the node of key, created (uses 0, nothing on disk) if
 * absent; when the zone is full, the least recently used entries that are
 * not being fetched are dropped (their files unlinked) to make room. NULL
 * when nothing can be freed.
 */
cache_node_t *cache_node_get(cache_path_t *cp, cache_sh_t *sh, const unsigned char *key);
/* Under the lock: the node becomes the most recently used; expire moves to now + inactive. */
void cache_node_touch(cache_path_t *cp, cache_sh_t *sh, cache_node_t *n);
/* Under the lock: unlinks the node's file (if any) and frees it. */
void cache_node_delete(cache_path_t *cp, cache_sh_t *sh, cache_node_t *n);
/* Under the lock: the entry's file changed size (a new one was stored: fs_size set). */
void cache_node_set_size(cache_sh_t *sh, cache_node_t *n, uint64_t fs_size);
/* Under the lock: the node now has a complete file of this size and freshness (a new generation).
 */
void cache_node_set_file(cache_sh_t *sh, cache_node_t *n, uint64_t fs_size, time_t valid_sec);

/* ---- a worker's copies of small entries (cache_mem.c) ------------------------------------ */

#define CACHE_MEM_MAX_ENTRY 16384 /* an entry file this small is read at once and may be kept */

/* The copy of key's file of generation gen, referenced (NULL: none, or an older one). */
cache_mem_entry_t *cache_mem_get(cache_path_t *cp, const unsigned char *key, uint64_t gen);
/* The copy's bytes (the whole entry file). */
const unsigned char *cache_mem_data(const cache_mem_entry_t *e, size_t *len);
/* Drops a reference cache_mem_get() took. */
void cache_mem_release(cache_mem_entry_t *e);
/* Keeps a copy of key's file of generation gen (the least recently used copies make room). */
void cache_mem_put(cache_path_t *cp, const unsigned char *key, uint64_t gen,
                   const unsigned char *data, size_t len);

/* ---- files (cache_file.c) --------------------------------------------------------------- */

/*
 * An entry file starts with this header, then the key text, the Vary names,
 * the stored response head, and the body at body_start. All integers in host
 * order: the cache is a machine's own.
 */
#define CACHE_FILE_MAGIC 0x32434346u /* "FCC2" (FCC1 had no stale-* times) */
typedef struct {
    uint32_t magic;
    uint32_t header_len; /* everything before the body */
    int64_t valid_sec;
    int64_t date;          /* when it was stored */
    int64_t last_modified; /* -1: none */
    uint32_t key_len;
    uint32_t vary_len;
    uint32_t head_len; /* the serialized response head */
    uint32_t etag_len; /* the ETag value's length inside the head (0: none) */
    unsigned char primary[CACHE_KEY_LEN];
    unsigned char variant[CACHE_KEY_LEN]; /* MD5 of the Vary fields' values; zeros: none */
    uint16_t status;
    uint16_t pad;
    uint32_t etag_off;     /* where the ETag value starts inside the head */
    uint32_t updating_sec; /* Cache-Control stale-while-revalidate: seconds past valid_sec */
    uint32_t error_sec;    /* stale-if-error (or stale-while-revalidate) */
    uint32_t pad2;
    int64_t head_length; /* an answer to HEAD stored without a body: its Content-Length (-1) */
} cache_file_header_t;

#define FC_CACHE_PATH_MAX 4096
/* What cache_file_read() got: the header, and data[0, len) from the file's start. */
typedef struct {
    cache_file_header_t hdr;
    unsigned char *data;
    size_t len;
    unsigned char *head; /* the key text, then the Vary names, then the stored head */
} cache_file_read_t;

/* "PATH/c/29/b7f5...": the file name of key into buf. FC_OK, FC_ERROR if too long. */
int cache_file_path(const cache_path_t *cp, const unsigned char *key, char *buf, size_t size);
/* The same in pool memory (NULL on failure). */
char *cache_file_name(fc_pool_t *pool, const cache_path_t *cp, const unsigned char *key);
/* Hex of a key into out[2 * CACHE_KEY_LEN]. */
void cache_key_hex(const unsigned char *key, char *out);
/* MD5 of the concatenation of n strings. */
void cache_md5(const fc_str_t *parts, size_t n, unsigned char *out);
/* Rounds a file size up to what it takes on disk (whole 4 KiB blocks). */
uint64_t cache_disk_size(int64_t bytes);
/* Creates the path's folder (and its parents) if missing: FC_OK or FC_ERROR (logged). */
int cache_path_create(const cache_path_t *cp, fc_log_t *log);

/* ---- per-location settings (cache_conf.c) -------------------------------------------- */

typedef struct {
    unsigned status; /* 0: any */
    time_t valid;
} cache_valid_t;

/* proxy_cache_use_stale, over the engine's FC_HTTP_UPSTREAM_FT_* bits. */
#define CACHE_STALE_UPDATING 0x10000000u

/* proxy_ignore_headers (the proxy module's, in the upstream conf): what the cache reads */
#define CACHE_IGN_X_ACCEL_EXPIRES FC_HTTP_UPSTREAM_IGN_X_ACCEL_EXPIRES
#define CACHE_IGN_EXPIRES FC_HTTP_UPSTREAM_IGN_EXPIRES
#define CACHE_IGN_CACHE_CONTROL FC_HTTP_UPSTREAM_IGN_CACHE_CONTROL
#define CACHE_IGN_SET_COOKIE FC_HTTP_UPSTREAM_IGN_SET_COOKIE
#define CACHE_IGN_VARY FC_HTTP_UPSTREAM_IGN_VARY

typedef struct {
    cache_path_t *path; /* NULL: proxy_cache off */
    fc_cv_t *path_cv;   /* proxy_cache $var */
    void *ref;          /* "proxy_cache NAME" as written, resolved in merge */
    int off;            /* "proxy_cache off" was written at this level */
    fc_cv_t *key;       /* proxy_cache_key; NULL: the default */
    fc_array_t *valid;  /* cache_valid_t; UNSET_PTR */
    unsigned methods;   /* FC_HTTP_METHOD_* bits; GET and HEAD always */
    int64_t min_uses;
    fc_array_t *bypass;      /* fc_cv_t; UNSET_PTR */
    fc_array_t *no_cache;    /* fc_cv_t; UNSET_PTR */
    fc_array_t *purge;       /* fc_cv_t; UNSET_PTR */
    unsigned use_stale;      /* FT bits | CACHE_STALE_UPDATING; FC_UNSET: inherit */
    int background_update;
    int lock;
    fc_msec_t lock_timeout;
    fc_msec_t lock_age;
    int revalidate;
    int convert_head;
    fc_str_t temp_path; /* proxy_temp_path (absolute); empty: unset */
} cache_loc_conf_t;

typedef struct {
    fc_array_t paths;    /* cache_path_t * */
    fc_cv_t default_key; /* $scheme$proxy_host$request_uri */
} cache_main_conf_t;

/* The time a status may be cached by proxy_cache_valid (0: not at all). */
time_t cache_valid_for(const fc_array_t *valid, unsigned status);
/* 1 if any value of the list is non-empty and not "0" (bypass, no_cache, purge). */
int cache_test_predicates(fc_http_request_t *r, const fc_array_t *list);

/* ---- the policy (cache_policy.c) ------------------------------------------------------- */

/* What the response's own fields say, as nginx reads them. */
typedef struct {
    time_t valid_sec;      /* absolute freshness from the fields; 0: none said */
    uint32_t updating_sec; /* stale-while-revalidate=N: may answer stale while updating */
    uint32_t error_sec;    /* stale-if-error=N (else the same N): may answer stale on errors */
    unsigned no_store : 1; /* not cacheable (no-store, private, no-cache, max-age=0, ...) */
    unsigned vary_star : 1;
    fc_str_t vary; /* the Vary value (names), empty: none */
} cache_policy_t;

/*
 * Reads X-Accel-Expires, Cache-Control, Expires, Set-Cookie and Vary of a
 * response's fields (ignore: CACHE_IGN_*), now: the current time.
 */
void cache_policy_read(const fc_array_t *fields, unsigned ignore, time_t now, cache_policy_t *out);

/* ---- request state (cache_request.c) ----------------------------------------------------- */

enum {
    CACHE_STATUS_NONE = 0,
    CACHE_STATUS_MISS,
    CACHE_STATUS_BYPASS,
    CACHE_STATUS_EXPIRED,
    CACHE_STATUS_STALE,
    CACHE_STATUS_UPDATING,
    CACHE_STATUS_REVALIDATED,
    CACHE_STATUS_HIT
};

typedef struct {
    fc_http_upstream_t *u;
    cache_path_t *path;
    cache_loc_conf_t *conf;
    fc_str_t key_text;
    unsigned char main_key[CACHE_KEY_LEN];
    unsigned char key[CACHE_KEY_LEN]; /* main_key or the variant's */
    unsigned char variant[CACHE_KEY_LEN];
    unsigned char lock_key[CACHE_KEY_LEN]; /* the node this request marked as updating */
    unsigned char *vary;                   /* the stored response's Vary names (lowercase) */
    size_t vary_len;
    char *file_name;
    int fd;                 /* the entry being served (stale or HIT): -1 none */
    cache_mem_entry_t *mem; /* ... or this worker's copy of it */
    uint64_t gen;           /* the entry's generation, as the index said */
    time_t valid_sec;       /* its freshness, as the index said */
    int64_t file_size;
    cache_file_header_t hdr; /* its header (or the one being written) */
    unsigned char *head;     /* its stored head (key, vary, fields) */
    unsigned char *data;     /* the file's first bytes as read: [0, data_len) */
    size_t data_len;
    char *temp_name; /* the entry being written */
    int temp_fd;
    int64_t written; /* bytes in it so far */
    fc_event_t wait_ev; /* proxy_cache_lock: polls the node */
    fc_msec_t wait_until;
    unsigned status;         /* CACHE_STATUS_* */
    unsigned fetching : 1;   /* this request set the node's lock/updating */
    unsigned counted : 1;    /* its use of the key was counted (min_uses) */
    unsigned have_stale : 1; /* fd holds an expired entry use_stale may answer with */
    unsigned no_store : 1; /* the response is not to be stored (no_cache, min_uses, lock timeout) */
    unsigned done : 1;
} cache_ctx_t;

/* The engine hooks. */
extern const fc_http_upstream_cache_ops_t cache_engine_ops;
/* cache_store.c: the store, body and finish hooks. */
int cache_store_begin(fc_http_upstream_t *u);
/*
 * 1 if the response head has Accept-Ranges: nginx cuts ranges from a cached
 * response only then, and drops the field (the range filter adds its own).
 */
int cache_accept_ranges(fc_http_request_t *r);
int cache_store_body(fc_http_upstream_t *u, const fc_buf_t *b);
void cache_store_finish(fc_http_upstream_t *u, int complete);
/* Closes and unlinks the temp file (if any); logs "FAILED() ... failed" unless NULL. */
void cache_drop_temp(cache_ctx_t *ctx, const char *failed);
/* The variant the request asks for by these Vary names: ctx->variant and ctx->key. */
void cache_request_variant(cache_ctx_t *ctx, const unsigned char *names, size_t len);
/* Lets go of the "being fetched" mark this request set on its entry (if it did). */
void cache_release_fetch(cache_ctx_t *ctx);
/* Serves the open entry ctx->fd as the response and finalizes u. */
void cache_send_entry(cache_ctx_t *ctx);
/*
 * Reads the first `want` bytes of an entry (at least its whole header and
 * head, more when the file has them: a small entry comes in one read) into
 * pool memory and checks the header. FC_OK, FC_DECLINED (not an entry:
 * logged), FC_ERROR.
 */
int cache_file_read(fc_pool_t *pool, int fd, size_t want, cache_file_read_t *out, fc_log_t *log,
                    const char *name);

/* cache_purge.c: a purge request (proxy_cache_purge said yes). Returns a status. */
int cache_purge(cache_ctx_t *ctx);
/* cache_manager.c: starts the loader and manager timers in worker slot 0. */
int cache_manager_init_worker(fc_cycle_t *cycle);
/* cache_manager.c: the master creates the cache folders. */
int cache_manager_init_module(fc_cycle_t *cycle);
/* cache_vars.c */
int cache_variables_add(fc_conf_t *cf);

#endif
