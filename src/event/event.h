/*
 * event.h: the per-worker epoll loop, timers in a min-heap, posted events.
 * Sockets are registered once, edge-triggered for read and write; handlers
 * read `ready` and must drain until EAGAIN or keep ready set.
 */
#ifndef FC_EVENT_H
#define FC_EVENT_H

typedef void (*fc_event_handler_pt)(fc_event_t *ev);

struct fc_event_s {
    void *data; /* the connection, usually */
    fc_event_handler_pt handler;
    fc_log_t *log;
    unsigned write:1;
    unsigned active:1;   /* registered with epoll */
    unsigned ready:1;    /* the socket can be read/written without blocking */
    unsigned eof:1;      /* peer closed its side (read event) */
    unsigned pending_eof:1; /* EPOLLRDHUP seen: a read of 0 is coming after the data */
    unsigned error:1;
    unsigned timedout:1;
    unsigned timer_set:1;
    unsigned posted:1;
    unsigned accept:1;
    unsigned closed:1;
    fc_msec_t timer;   /* absolute expiry */
    size_t heap_index; /* position in the timer heap */
    fc_event_t *posted_next;
};

typedef struct fc_event_loop_s fc_event_loop_t;

/* Creates the loop (epoll instance, heap, event array). NULL on failure. */
fc_event_loop_t *fc_event_loop_create(fc_pool_t *pool, size_t max_events, fc_log_t *log);
/* Closes the epoll fd. */
void fc_event_loop_destroy(fc_event_loop_t *loop);

/* Registers fd for edge-triggered read+write; both events become active. */
int fc_event_add_conn(fc_event_loop_t *loop, fc_connection_t *c);
/* Registers fd for level-triggered read only (listening sockets). */
int fc_event_add_read_level(fc_event_loop_t *loop, int fd, fc_event_t *ev);
/* Unregisters fd (before close, or to stop accepting). */
int fc_event_del(fc_event_loop_t *loop, int fd);

/* Waits up to the next timer (or forever), dispatches I/O, timers, posted events. */
void fc_event_loop_once(fc_event_loop_t *loop);

/* Arms (or re-arms) a timer `ms` from now. */
void fc_event_add_timer(fc_event_loop_t *loop, fc_event_t *ev, fc_msec_t ms);
/* Disarms a timer if set. */
void fc_event_del_timer(fc_event_loop_t *loop, fc_event_t *ev);
/* Queues ev to run after the current I/O batch (once). */
void fc_event_post(fc_event_loop_t *loop, fc_event_t *ev);
/* Removes a posted event (its connection is going away). */
void fc_event_unpost(fc_event_loop_t *loop, fc_event_t *ev);
/* Number of armed timers that are not "cancelable" bookkeeping. */
size_t fc_event_timers(fc_event_loop_t *loop);

#endif
