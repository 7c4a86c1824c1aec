/*
 * worker.c: a worker process. It keeps one listening fd per address (its
 * slot's), runs its epoll loop, and on QUIT stops accepting and lets what is
 * in flight finish, bounded by worker_shutdown_timeout.
 */
#include "core/fc_core.h"
#include "core/cycle.h"
#include "core/process.h"
#include "core/worker.h"
#include "core/proctitle.h"
#include "event/events.h"
#include "event/tls.h"

#include <grp.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/resource.h>

/*
 * The shared connection counter: mapped once by the master before any fork,
 * so the pointer itself never changes; the pointee is an explicit shared
 * zone written only with atomics.
 */
static uint64_t *worker_shared_counter;

int
fc_worker_counter_init(fc_log_t *log)
{
    if (worker_shared_counter)
        return FC_OK;
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        fc_log_error(FC_LOG_EMERG, log, errno, "mmap(MAP_SHARED) failed");
        return FC_ERROR;
    }
    worker_shared_counter = p;
    return FC_OK;
}

unsigned long
fc_worker_next_number(fc_worker_t *w)
{
    return (unsigned long) __atomic_add_fetch(w->conn_counter, 1, __ATOMIC_RELAXED);
}

int
fc_worker_on_drain(fc_worker_t *w, fc_worker_drain_pt fn, void *data)
{
    fc_worker_drain_hook_t *h = fc_array_push(&w->drain_hooks);
    if (h == NULL)
        return FC_ERROR;
    h->fn = fn;
    h->data = data;
    return FC_OK;
}

fc_worker_t *
fc_worker_self(fc_cycle_t *cycle)
{
    return cycle->worker;
}

void
fc_close_connection(fc_connection_t *c)
{
    if (c->fd == -1 || c->destroyed)
        return;
    c->destroyed = 1;
    fc_event_loop_t *loop = c->loop;
    fc_event_del_timer(loop, c->read);
    fc_event_del_timer(loop, c->write);
    fc_event_unpost(loop, c->read);
    fc_event_unpost(loop, c->write);
    if (c->udp_listener)
        fc_event_udp_unlink(c);
    if (c->tls)
        fc_tls_conn_close(c);
    /*
     * close() takes the socket out of the epoll set by itself (as nginx
     * relies on): a connection's fd is never duplicated nor inherited, so
     * this is its last reference, and an EPOLL_CTL_DEL would be a wasted
     * system call per connection.
     */
    if (!c->shared)
        close(c->fd);
    c->read->active = c->write->active = 0;
    fc_pool_t *pool = c->pool;
    c->pool = NULL;
    fc_conn_free(c->cpool, c);
    fc_pool_destroy(pool);
}

/*
 * Request pools are reused: creating and destroying one per request was four
 * mallocs and frees (the pool, two 4 KB blocks, the proxy buffer), about a
 * tenth of the user time of a proxied keep-alive request. An emptied pool
 * keeps its first block only, so the spares hold at most
 * FC_WORKER_SPARE_POOLS x FC_REQUEST_POOL_SIZE bytes.
 */
fc_pool_t *
fc_worker_request_pool(fc_worker_t *w, fc_log_t *log)
{
    if (w == NULL || w->nspare_pools == 0)
        return fc_pool_create(FC_REQUEST_POOL_SIZE, log);
    fc_pool_t *pool = w->spare_pools[--w->nspare_pools];
    fc_pool_set_log(pool, log);
    return pool;
}

void
fc_worker_release_request_pool(fc_worker_t *w, fc_pool_t *pool)
{
    if (pool == NULL)
        return;
    if (!FC_WORKER_STASH || w == NULL || w->nspare_pools == FC_WORKER_SPARE_POOLS) {
        fc_pool_destroy(pool);
        return;
    }
    fc_pool_reset(pool);
    w->spare_pools[w->nspare_pools++] = pool;
}

/*
 * Keep-alive connections give their head buffer back between requests (an
 * idle connection holds no buffer, as in nginx); the stash saves a malloc and
 * a free per request.
 */
void *
fc_worker_buffer(fc_worker_t *w, size_t size)
{
    for (size_t i = w ? w->nspare_buffers : 0; i-- > 0;) {
        if (w->spare_buffers[i].size == size) {
            void *p = w->spare_buffers[i].data;
            w->spare_buffers[i] = w->spare_buffers[--w->nspare_buffers];
            return p;
        }
    }
    return malloc(size);
}

void
fc_worker_release_buffer(fc_worker_t *w, void *data, size_t size)
{
    if (data == NULL)
        return;
    if (!FC_WORKER_STASH || w == NULL || w->nspare_buffers == FC_WORKER_SPARE_BUFFERS) {
        free(data);
        return;
    }
    w->spare_buffers[w->nspare_buffers].data = data;
    w->spare_buffers[w->nspare_buffers++].size = size;
}

void
fc_worker_accept_pause(fc_worker_t *w)
{
    if (w->accept_paused)
        return;
    for (size_t i = 0; i < w->nlisteners; i++) {
        fc_connection_t *lc = w->listeners[i];
        if (lc && lc->read->active) {
            fc_event_del(w->loop, lc->fd);
            lc->read->active = 0;
        }
    }
    w->accept_paused = 1;
}

void
fc_worker_accept_resume(void *worker)
{
    fc_worker_t *w = worker;
    if (!w->accept_paused || w->draining)
        return;
    w->accept_paused = 0;
    for (size_t i = 0; i < w->nlisteners; i++) {
        fc_connection_t *lc = w->listeners[i];
        if (lc && !lc->read->active)
            fc_event_add_read_level(w->loop, lc->fd, lc->read);
    }
}

static int
worker_open_listeners(fc_worker_t *w)
{
    fc_cycle_t *cycle = w->cycle;
    fc_listening_t *ls = cycle->listening.elts;
    w->nlisteners = cycle->listening.nelts;
    w->listeners = fc_pcalloc(w->pool, (w->nlisteners + 1) * sizeof(fc_connection_t *));
    if (w->listeners == NULL)
        return FC_ERROR;
    for (size_t i = 0; i < w->nlisteners; i++) {
        int fd = ls[i].fds[w->slot];
        fc_connection_t *lc = fc_conn_get(w->conns, fd, w->log);
        if (lc == NULL)
            return FC_ERROR;
        lc->listening = &ls[i];
        lc->data = w;
        lc->shared = 1; /* the fd is the cycle's; closed by fc_listening_* */
        lc->type = ls[i].type;
        lc->read->accept = 1;
        lc->read->handler = ls[i].type == SOCK_STREAM ? fc_event_accept : fc_event_recv_udp;
        fc_conn_local_addr(lc);
        if (fc_event_add_read_level(w->loop, fd, lc->read) != FC_OK)
            return FC_ERROR;
        w->listeners[i] = lc;
    }
    return FC_OK;
}

static void
worker_close_listeners(fc_worker_t *w)
{
    for (size_t i = 0; i < w->nlisteners; i++) {
        fc_connection_t *lc = w->listeners[i];
        if (lc == NULL)
            continue;
        if (lc->read->active)
            fc_event_del(w->loop, lc->fd);
        lc->read->active = 0;
        /*
         * A UDP socket is shared with the new worker of this slot: stop
         * reading it so every datagram goes there, but keep the fd, which
         * the sessions still draining here send their replies through.
         */
        if (lc->type == SOCK_DGRAM)
            continue;
        close(lc->fd);
        fc_conn_free(w->conns, lc);
        w->listeners[i] = NULL;
    }
    w->accept_paused = 1;
}

static size_t worker_busy(fc_worker_t *w);

static void
worker_shutdown_timeout(fc_event_t *ev)
{
    fc_worker_t *w = ev->data;
    fc_log_error(FC_LOG_NOTICE, w->log, 0, "worker_shutdown_timeout expired, closing %zu connections",
                 worker_busy(w));
    fc_log_error(FC_LOG_NOTICE, w->log, 0, "exiting");
    exit(0);
}

static void
worker_start_drain(fc_worker_t *w)
{
    fc_core_conf_t *ccf = fc_cycle_core_conf(w->cycle, fc_core_module);
    fc_log_error(FC_LOG_NOTICE, w->log, 0, "gracefully shutting down");
    fc_proctitle_set("worker process is shutting down");
    w->draining = 1;
    worker_close_listeners(w);
    fc_worker_drain_hook_t *h = w->drain_hooks.elts;
    for (size_t i = 0; i < w->drain_hooks.nelts; i++)
        h[i].fn(w, h[i].data);
    if (ccf->shutdown_timeout > 0) {
        w->shutdown_timer.data = w;
        w->shutdown_timer.handler = worker_shutdown_timeout;
        w->shutdown_timer.log = w->log;
        fc_event_add_timer(w->loop, &w->shutdown_timer, ccf->shutdown_timeout);
    }
}

static size_t
worker_busy(fc_worker_t *w)
{
    size_t listeners = 0;
    for (size_t i = 0; i < w->nlisteners; i++)
        listeners += w->listeners[i] != NULL;
    return fc_conn_used(w->conns) - listeners;
}

static void
worker_set_limits(fc_cycle_t *cycle, size_t slot, fc_log_t *log)
{
    fc_core_conf_t *ccf = fc_cycle_core_conf(cycle, fc_core_module);
    fc_core_tune_worker(cycle, slot, log);
    if (ccf->rlimit_nofile > 0) {
        struct rlimit rl = {(rlim_t) ccf->rlimit_nofile, (rlim_t) ccf->rlimit_nofile};
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            fc_log_error(FC_LOG_ALERT, log, errno, "setrlimit(RLIMIT_NOFILE, %" PRId64 ") failed",
                         ccf->rlimit_nofile);
    }
    /* `user`, looked up when the configuration was loaded (core_set_user) */
    if (ccf->username && geteuid() == 0 &&
        (setgid(ccf->gid) < 0 || initgroups(ccf->username, ccf->gid) < 0 || setuid(ccf->uid) < 0)) {
        fc_log_error(FC_LOG_EMERG, log, errno, "setuid(%s) failed", ccf->username);
        exit(2);
    }
    fc_core_tune_worker_dir(cycle, log);
}

static fc_worker_t *
worker_init(fc_cycle_t *cycle, size_t slot)
{
    fc_pool_t *pool = fc_pool_create(16384, cycle->log);
    fc_worker_t *w = pool ? fc_pcalloc(pool, sizeof(*w)) : NULL;
    if (w == NULL)
        return NULL;
    w->cycle = cycle;
    w->slot = slot;
    w->pool = pool;
    w->log = cycle->log;
    w->conn_counter = worker_shared_counter;
    cycle->worker = w;
    size_t nconn = fc_events_worker_connections(cycle);
    w->loop = fc_event_loop_create(pool, 512, w->log);
    if (w->loop == NULL || fc_array_init(&w->drain_hooks, pool, 4, sizeof(fc_worker_drain_hook_t)))
        return NULL;
    w->conns = fc_conn_pool_create(nconn, w->loop, w->log);
    if (w->conns == NULL || worker_open_listeners(w) != FC_OK)
        return NULL;
    fc_conn_pool_on_free(w->conns, fc_worker_accept_resume, w);
    for (size_t i = 0; fc_modules[i]; i++) {
        if (fc_modules[i]->init_worker && fc_modules[i]->init_worker(cycle) != FC_OK)
            return NULL;
    }
    return w;
}

static void
worker_loop(fc_worker_t *w, int single_process)
{
    fc_signal_flags_t *sig = fc_signals();
    for (;;) {
        fc_event_loop_once(w->loop);
        if (sig->terminate) {
            fc_log_error(FC_LOG_NOTICE, w->log, 0, "exiting");
            return;
        }
        if (sig->quit && !w->draining)
            worker_start_drain(w);
        if (w->draining && worker_busy(w) == 0) {
            fc_log_error(FC_LOG_NOTICE, w->log, 0, "exiting");
            return;
        }
        if (sig->reopen) {
            sig->reopen = 0;
            fc_log_error(FC_LOG_NOTICE, w->log, 0, "reopening logs");
            fc_cycle_reopen_files(w->cycle);
        }
        if (single_process && sig->reconfigure) {
            sig->reconfigure = 0;
            fc_log_error(FC_LOG_WARN, w->log, 0,
                         "reload is not supported with \"master_process off\"");
        }
    }
}

void
fc_worker_process(fc_cycle_t *cycle, size_t slot, int single_process)
{
    if (!single_process) {
        fc_signals_child_reset();
        /* Blocked except inside epoll_pwait: no signal slips between check and wait. */
        fc_signals_init(1);
        fc_proctitle_set("worker process");
    }
    fc_time_update();
    worker_set_limits(cycle, slot, cycle->log);
    fc_listening_keep_slot(cycle, slot);
    fc_worker_t *w = worker_init(cycle, slot);
    if (w == NULL) {
        fc_log_error(FC_LOG_EMERG, cycle->log, 0, "worker process initialisation failed");
        exit(2);
    }
    worker_loop(w, single_process);
    if (single_process) {
        fc_core_conf_t *ccf = fc_cycle_core_conf(cycle, fc_core_module);
        unlink((const char *) ccf->pid.data);
        fc_listening_unlink_unix(cycle);
    }
    for (size_t i = 0; fc_modules[i]; i++) {
        if (fc_modules[i]->exit_worker)
            fc_modules[i]->exit_worker(cycle);
    }
    exit(0);
}
