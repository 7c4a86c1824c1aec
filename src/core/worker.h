/*
 * worker.h: the state of one worker process. Everything mutable a worker
 * has lives here (or in objects reachable from here), reached through
 * cycle->worker.
 */
#ifndef FC_WORKER_H
#define FC_WORKER_H

#include "event/conn.h"

typedef struct fc_worker_s fc_worker_t;

/* A per-worker hook run when the worker starts to drain (stop accepting). */
typedef void (*fc_worker_drain_pt)(fc_worker_t *w, void *data);

/* Block size of a request's pool, and how many emptied ones a worker keeps. */
#define FC_REQUEST_POOL_SIZE 16384
#define FC_WORKER_SPARE_POOLS 32
#define FC_WORKER_SPARE_BUFFERS 64
/* AddressSanitizer builds (--with-debug) keep no spares: a use after free must still be caught. */
#ifdef __SANITIZE_ADDRESS__
#define FC_WORKER_STASH 0
#else
#define FC_WORKER_STASH 1
#endif

struct fc_worker_s {
    fc_cycle_t *cycle;
    size_t slot;
    fc_pool_t *pool;
    fc_log_t *log;
    fc_event_loop_t *loop;
    fc_conn_pool_t *conns;
    fc_connection_t **listeners; /* one accept "connection" per listening address */
    size_t nlisteners;
    unsigned accept_paused:1; /* out of connection slots */
    unsigned draining:1;
    uint64_t *conn_counter; /* shared by all workers: $connection numbers */
    fc_event_t shutdown_timer;
    fc_connection_t shutdown_conn; /* data for the timer event */
    fc_array_t drain_hooks;        /* fc_worker_drain_hook_t */
    fc_pool_t *spare_pools[FC_WORKER_SPARE_POOLS]; /* emptied request pools (worker.c) */
    size_t nspare_pools;
    struct {
        void *data;
        size_t size;
    } spare_buffers[FC_WORKER_SPARE_BUFFERS]; /* idle connections' head buffers (worker.c) */
    size_t nspare_buffers;
};

typedef struct {
    fc_worker_drain_pt fn;
    void *data;
} fc_worker_drain_hook_t;

/* The connection counter shared between workers (set up once by the master). */
int fc_worker_counter_init(fc_log_t *log);
/* Next connection number, unique across workers. */
unsigned long fc_worker_next_number(fc_worker_t *w);
/* Registers a hook to run when the worker starts draining. */
int fc_worker_on_drain(fc_worker_t *w, fc_worker_drain_pt fn, void *data);

/*
 * A request's pool (FC_REQUEST_POOL_SIZE): one the worker emptied and kept,
 * or a new one. NULL when out of memory.
 */
fc_pool_t *fc_worker_request_pool(fc_worker_t *w, fc_log_t *log);
/* Gives a request's pool back: its cleanups run, its memory is kept for the next request. */
void fc_worker_release_request_pool(fc_worker_t *w, fc_pool_t *pool);

/*
 * A malloc'ed buffer of `size` bytes: one an idle connection gave back, or a
 * new one. NULL when out of memory. Only a buffer of the asked size is handed
 * out, so callers give back only sizes they ask for (others they free).
 */
void *fc_worker_buffer(fc_worker_t *w, size_t size);
/* Gives a buffer from fc_worker_buffer() (or malloc) back; NULL is allowed. */
void fc_worker_release_buffer(fc_worker_t *w, void *data, size_t size);

/* Closes a connection: unregisters, cancels timers, closes fd (unless shared), frees pool. */
void fc_close_connection(fc_connection_t *c);

/* Accept handlers (accept.c, udp.c). */
void fc_event_accept(fc_event_t *ev);
void fc_event_recv_udp(fc_event_t *ev);
/* Unlinks a UDP client connection from its listener's table (on close). */
void fc_event_udp_unlink(fc_connection_t *c);
/*
 * A datagram to a UDP client, sent from the address the client wrote to (on
 * a wildcard listener, IP_PKTINFO), as nginx does: a client that connected
 * its socket takes replies only from there.
 */
ssize_t fc_event_udp_reply(fc_connection_t *c, const void *buf, size_t len);
/* Stops / resumes accepting on every listener of the worker. */
void fc_worker_accept_pause(fc_worker_t *w);
void fc_worker_accept_resume(void *worker);

/* The worker of this process (set once in the worker, NULL in the master). */
fc_worker_t *fc_worker_self(fc_cycle_t *cycle);

#endif
