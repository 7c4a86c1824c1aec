/*
 * cache_manager.c: the cache loader and the cache manager. nginx runs them
 * as two extra processes; here worker slot 0 runs them on timers in bounded
 * slices (loader_files entries or loader_threshold ms, then loader_sleep;
 * the same for the manager), so its event loop never waits on a long walk
 * and the master keeps exactly worker_processes children.
 *
 * The loader walks the cache folder once per fresh zone (a reload takes the
 * running zone over, already loaded) and tells the index of every entry
 * file; files that are not entries (temp files of a crash, foreign files)
 * are removed. The manager removes entries unused for `inactive`, then the
 * least recently used while the cache is over max_size or the disk has less
 * than min_free free.
 */
#include "cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define MANAGER_PERIOD 1000 /* ms between manager runs with nothing urgent */

typedef struct {
    DIR *dirs[CACHE_MAX_LEVELS + 1];
    size_t lens[CACHE_MAX_LEVELS + 1]; /* path length at each depth */
    unsigned depth;                    /* dirs[0..depth] are open */
    char path[FC_CACHE_PATH_MAX];
} loader_walk_t;

typedef struct {
    cache_path_t *cp;
    fc_worker_t *worker;
    fc_event_t loader_ev;
    fc_event_t manager_ev;
    loader_walk_t *walk; /* NULL when the loader is done */
    fc_pool_t *pool;     /* scratch for file heads */
} manager_t;

static int
manager_is_hex_name(const char *s)
{
    size_t i = 0;
    for (; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return i == 2 * CACHE_KEY_LEN;
}

static int
manager_hex_key(const char *s, unsigned char *key)
{
    for (size_t i = 0; i < CACHE_KEY_LEN; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = s[2 * i + (size_t) k];
            v = v * 16 + (unsigned) (c <= '9' ? c - '0' : c - 'a' + 10);
        }
        key[i] = (unsigned char) v;
    }
    return FC_OK;
}

/* One file found by the loader: an entry goes into the index, anything else away. */
static void
loader_file(manager_t *m, const char *name, const char *path)
{
    cache_path_t *cp = m->cp;
    if (!manager_is_hex_name(name)) {
        (void) unlink(path);
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    cache_file_read_t rd;
    struct stat st;
    int rc =
        fstat(fd, &st) == 0 ? cache_file_read(m->pool, fd, 0, &rd, m->worker->log, path) : FC_ERROR;
    close(fd);
    const cache_file_header_t *hdr = &rd.hdr;
    if (rc == FC_DECLINED)
        (void) unlink(path);
    if (rc != FC_OK)
        return;
    unsigned char key[CACHE_KEY_LEN];
    manager_hex_key(name, key);
    cache_sh_t *sh = cache_index_lock(cp);
    cache_node_t *n = cache_node_get(cp, sh, key);
    if (n && !n->exists) {
        cache_node_set_file(sh, n, cache_disk_size(st.st_size), (time_t) hdr->valid_sec);
        n->variant = hdr->vary_len > 0;
        memcpy(n->primary, hdr->primary, CACHE_KEY_LEN);
    }
    cache_node_t *main_node = n && hdr->vary_len ? cache_node_get(cp, sh, hdr->primary) : NULL;
    if (main_node && main_node->vary == NULL) {
        char *v = fc_shm_alloc_locked(cp->zone, hdr->vary_len + 1);
        if (v) {
            memcpy(v, rd.head + hdr->key_len, hdr->vary_len);
            v[hdr->vary_len] = '\0';
            main_node->vary = v;
        }
    }
    fc_shm_unlock(cp->zone);
}

/* The next name at the deepest open folder; descends into level folders. 0 when the walk is over.
 */
static int
loader_step(manager_t *m)
{
    loader_walk_t *w = m->walk;
    struct dirent *de = readdir(w->dirs[w->depth]);
    if (de == NULL) {
        closedir(w->dirs[w->depth]);
        if (w->depth == 0)
            return 0;
        w->depth--;
        return 1;
    }
    if (de->d_name[0] == '.' &&
        (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')))
        return 1;
    size_t base = w->lens[w->depth];
    int n = snprintf(w->path + base, sizeof(w->path) - base, "/%s", de->d_name);
    if (n <= 0 || (size_t) n >= sizeof(w->path) - base)
        return 1;
    struct stat st;
    if (lstat(w->path, &st) < 0)
        return 1;
    if (S_ISDIR(st.st_mode)) {
        if (w->depth < m->cp->nlevels) {
            DIR *d = opendir(w->path);
            if (d) {
                w->depth++;
                w->dirs[w->depth] = d;
                w->lens[w->depth] = base + (size_t) n;
            }
        }
        return 1;
    }
    if (S_ISREG(st.st_mode) && w->depth == m->cp->nlevels)
        loader_file(m, de->d_name, w->path);
    return 1;
}

static void
loader_event(fc_event_t *ev)
{
    manager_t *m = ev->data;
    cache_path_t *cp = m->cp;
    ev->timedout = 0;
    fc_time_update();
    fc_msec_t start = fc_current_msec();
    for (size_t i = 0; i < cp->loader_files; i++) {
        if (!loader_step(m)) {
            m->walk = NULL;
            cache_sh_t *sh = cache_index_lock(cp);
            sh->loaded = 1;
            size_t count = sh->count;
            uint64_t size = sh->size;
            fc_shm_unlock(cp->zone);
            fc_log_error(FC_LOG_NOTICE, m->worker->log, 0,
                         "http file cache: %s %.3fM, bsize: 4096 (%zu entries)", cp->path.data,
                         (double) size / 1048576.0, count);
            fc_pool_reset(m->pool);
            return;
        }
        if (i % 16 == 15) {
            fc_time_update();
            if (fc_current_msec() - start >= cp->loader_threshold)
                break;
        }
    }
    fc_pool_reset(m->pool);
    fc_event_add_timer(m->worker->loop, ev, cp->loader_sleep);
}

/* ---- the manager --------------------------------------------------------------------- */

/* 1 when the disk under the cache has less than min_free free. */
static int
manager_low_disk(const cache_path_t *cp)
{
    struct statvfs vfs;
    if (cp->min_free <= 0 || statvfs((const char *) cp->path.data, &vfs) < 0)
        return 0;
    return (int64_t) vfs.f_bavail * (int64_t) vfs.f_frsize < cp->min_free;
}

/* One bounded run under the lock. 1 if work is left (run again soon). */
static int
manager_run(manager_t *m)
{
    cache_path_t *cp = m->cp;
    time_t now = time(NULL);
    fc_msec_t msec = fc_current_msec();
    size_t done = 0;
    int low_disk = manager_low_disk(cp);
    cache_sh_t *sh = cache_index_lock(cp);
    cache_node_t *n = sh->lru_tail;
    while (n && done < cp->manager_files) {
        cache_node_t *prev = n->prev;
        int fetching = cache_node_fetching(n, msec);
        int over = (cp->max_size > 0 && sh->size > (uint64_t) cp->max_size) || low_disk;
        if (!fetching && (n->expire <= now || over)) {
            cache_node_delete(cp, sh, n);
            done++;
            if (low_disk && done % 16 == 0)
                low_disk = manager_low_disk(cp);
        } else if (!over && n->expire > now) {
            break; /* the LRU tail is the oldest use: nothing further is inactive */
        }
        n = prev;
    }
    int more = done == cp->manager_files;
    fc_shm_unlock(cp->zone);
    return more;
}

static void
manager_event(fc_event_t *ev)
{
    manager_t *m = ev->data;
    ev->timedout = 0;
    fc_time_update();
    int more = m->walk == NULL && manager_run(m);
    fc_event_add_timer(m->worker->loop, ev, more ? m->cp->manager_sleep : MANAGER_PERIOD);
}

static int
manager_start(fc_worker_t *w, cache_path_t *cp)
{
    manager_t *m = fc_pcalloc(w->pool, sizeof(*m));
    if (m == NULL || (m->pool = fc_pool_create(16384, w->log)) == NULL)
        return FC_ERROR;
    m->cp = cp;
    m->worker = w;
    m->manager_ev.data = m;
    m->manager_ev.handler = manager_event;
    m->manager_ev.log = w->log;
    m->loader_ev = m->manager_ev;
    m->loader_ev.handler = loader_event;
    int loaded = cache_index_lock(cp)->loaded;
    fc_shm_unlock(cp->zone);
    if (!loaded) {
        m->walk = fc_pcalloc(w->pool, sizeof(*m->walk));
        if (m->walk == NULL)
            return FC_ERROR;
        snprintf(m->walk->path, sizeof(m->walk->path), "%s", cp->path.data);
        m->walk->lens[0] = strlen(m->walk->path);
        m->walk->dirs[0] = opendir(m->walk->path);
        if (m->walk->dirs[0] == NULL) {
            m->walk = NULL;
        } else {
            /* nginx's loader starts a minute after the workers; a short delay is enough here. */
            fc_event_add_timer(w->loop, &m->loader_ev, 10);
        }
    }
    fc_event_add_timer(w->loop, &m->manager_ev, MANAGER_PERIOD);
    return FC_OK;
}

int
cache_manager_init_worker(fc_cycle_t *cycle)
{
    fc_worker_t *w = fc_worker_self(cycle);
    fc_conf_ctx_t *ctx = fc_http_cycle_ctx(cycle);
    if (w == NULL || ctx == NULL)
        return FC_OK;
    cache_main_conf_t *mcf = fc_layer_main_conf(ctx, fc_http_cache_module);
    cache_path_t **p = mcf->paths.elts;
    for (size_t i = 0; i < mcf->paths.nelts && w->slot == 0; i++)
        if (manager_start(w, p[i]) != FC_OK)
            return FC_ERROR;
    return FC_OK;
}

/* Master, once the config is in force: every cache folder exists before a worker needs it. */
int
cache_manager_init_module(fc_cycle_t *cycle)
{
    fc_conf_ctx_t *ctx = fc_http_cycle_ctx(cycle);
    if (ctx == NULL)
        return FC_OK;
    cache_main_conf_t *mcf = fc_layer_main_conf(ctx, fc_http_cache_module);
    cache_path_t **p = mcf->paths.elts;
    for (size_t i = 0; i < mcf->paths.nelts; i++)
        if (cache_path_create(p[i], cycle->log) != FC_OK)
            return FC_ERROR;
    return FC_OK;
}
