/*
 * loop.c: one epoll loop per worker. Sockets are registered once,
 * edge-triggered for both directions; a connection's events are tagged
 * with an instance bit so that an event for a closed connection whose slot
 * was reused within the same batch is recognised and dropped.
 */
#include "core/fc_core.h"
#include "event/conn.h"
#include "event/loop_internal.h"

#include <signal.h>
#include <sys/epoll.h>

struct fc_event_loop_s {
    int epfd;
    struct epoll_event *events;
    int nevents;
    fc_timer_heap_t timers;
    fc_event_t *posted_head;
    fc_event_t *posted_tail;
    fc_log_t *log;
};

fc_event_loop_t *
fc_event_loop_create(fc_pool_t *pool, size_t max_events, fc_log_t *log)
{
    fc_event_loop_t *loop = fc_pcalloc(pool, sizeof(*loop));
    if (loop == NULL)
        return NULL;
    loop->nevents = (int) max_events;
    loop->events = fc_palloc(pool, max_events * sizeof(struct epoll_event));
    loop->log = log;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->events == NULL || loop->epfd < 0) {
        fc_log_error(FC_LOG_EMERG, log, errno, "epoll_create1() failed");
        return NULL;
    }
    return loop;
}

void
fc_event_loop_destroy(fc_event_loop_t *loop)
{
    if (loop->epfd >= 0)
        close(loop->epfd);
    loop->epfd = -1;
    fc_timer_heap_free(&loop->timers);
}

static void *
loop_tag(fc_connection_t *c)
{
    return (void *) ((uintptr_t) c | c->instance);
}

int
fc_event_add_conn(fc_event_loop_t *loop, fc_connection_t *c)
{
    struct epoll_event ee = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                             .data.ptr = loop_tag(c)};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, c->fd, &ee) < 0) {
        fc_log_error(FC_LOG_ALERT, c->log, errno, "epoll_ctl(ADD, %d) failed", c->fd);
        return FC_ERROR;
    }
    c->read->active = 1;
    c->write->active = 1;
    return FC_OK;
}

int
fc_event_add_read_level(fc_event_loop_t *loop, int fd, fc_event_t *ev)
{
    fc_connection_t *c = ev->data;
    struct epoll_event ee = {.events = EPOLLIN, .data.ptr = loop_tag(c)};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ee) < 0) {
        fc_log_error(FC_LOG_ALERT, loop->log, errno, "epoll_ctl(ADD, %d) failed", fd);
        return FC_ERROR;
    }
    ev->active = 1;
    return FC_OK;
}

int
fc_event_del(fc_event_loop_t *loop, int fd)
{
    if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 && errno != ENOENT &&
        errno != EBADF) {
        fc_log_error(FC_LOG_ALERT, loop->log, errno, "epoll_ctl(DEL, %d) failed", fd);
        return FC_ERROR;
    }
    return FC_OK;
}

void
fc_event_add_timer(fc_event_loop_t *loop, fc_event_t *ev, fc_msec_t ms)
{
    if (fc_timer_heap_add(&loop->timers, ev, fc_current_msec() + ms) != FC_OK)
        fc_log_error(FC_LOG_ALERT, loop->log, errno, "timer heap allocation failed");
}

void
fc_event_del_timer(fc_event_loop_t *loop, fc_event_t *ev)
{
    fc_timer_heap_del(&loop->timers, ev);
}

size_t
fc_event_timers(fc_event_loop_t *loop)
{
    return loop->timers.n;
}

void
fc_event_post(fc_event_loop_t *loop, fc_event_t *ev)
{
    if (ev->posted)
        return;
    ev->posted = 1;
    ev->posted_next = NULL;
    if (loop->posted_tail)
        loop->posted_tail->posted_next = ev;
    else
        loop->posted_head = ev;
    loop->posted_tail = ev;
}

void
fc_event_unpost(fc_event_loop_t *loop, fc_event_t *ev)
{
    if (!ev->posted)
        return;
    fc_event_t **pp = &loop->posted_head, *prev = NULL;
    while (*pp && *pp != ev) {
        prev = *pp;
        pp = &(*pp)->posted_next;
    }
    if (*pp) {
        *pp = ev->posted_next;
        if (loop->posted_tail == ev)
            loop->posted_tail = prev;
    }
    ev->posted = 0;
}

static void
loop_run_posted(fc_event_loop_t *loop)
{
    /* Bounded by the queue as it is now: handlers may post again for the next turn. */
    fc_event_t *ev = loop->posted_head, *last = loop->posted_tail;
    loop->posted_head = loop->posted_tail = NULL;
    while (ev) {
        fc_event_t *next = ev->posted_next;
        ev->posted = 0;
        ev->handler(ev);
        if (ev == last)
            break;
        ev = next;
    }
}

static void
loop_dispatch(struct epoll_event *ee)
{
    uintptr_t tag = (uintptr_t) ee->data.ptr;
    fc_connection_t *c = (fc_connection_t *) (tag & ~(uintptr_t) 1);
    unsigned instance = (unsigned) (tag & 1);
    uint32_t re = ee->events;

    if (c->fd == -1 || c->instance != instance)
        return; /* stale: the connection was closed earlier in this batch */
    if (re & (EPOLLERR | EPOLLHUP))
        re |= EPOLLIN | EPOLLOUT;
    fc_event_t *rev = c->read, *wev = c->write;
    if ((re & (EPOLLIN | EPOLLRDHUP)) && rev->active) {
        rev->ready = 1;
        if (re & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            rev->pending_eof = 1;
        rev->handler(rev);
    }
    if ((re & EPOLLOUT) && wev->active && c->fd != -1 && c->instance == instance) {
        wev->ready = 1;
        wev->handler(wev);
    }
}

void
fc_event_loop_once(fc_event_loop_t *loop)
{
    fc_msec_t timeout = loop->posted_head ? 0 : fc_timer_heap_next(&loop->timers,
                                                                     fc_current_msec());
    sigset_t unblocked;
    sigemptyset(&unblocked);
    int n = epoll_pwait(loop->epfd, loop->events, loop->nevents,
                        timeout > INT_MAX ? INT_MAX : (int) timeout, &unblocked);
    int err = errno;
    fc_time_update();
    if (n < 0) {
        if (err != EINTR)
            fc_log_error(FC_LOG_ALERT, loop->log, err, "epoll_wait() failed");
        n = 0;
    }
    for (int i = 0; i < n; i++)
        loop_dispatch(&loop->events[i]);
    fc_timer_heap_expire(&loop->timers, fc_current_msec());
    loop_run_posted(loop);
}
