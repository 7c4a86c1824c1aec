/* conn.c: the preallocated connection array and its free list. */
#include "core/fc_core.h"
#include "event/conn.h"

struct fc_conn_pool_s {
    fc_connection_t *conns;
    fc_event_t *events;
    size_t n;
    size_t nfree;
    fc_connection_t *free;
    fc_event_loop_t *loop;
    void (*on_free)(void *arg);
    void *on_free_arg;
};

fc_buf_t *
fc_buf_create(fc_pool_t *pool, size_t size)
{
    fc_buf_t *b = fc_pcalloc(pool, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->start = fc_palloc(pool, size);
    if (b->start == NULL)
        return NULL;
    b->pos = b->last = b->start;
    b->end = b->start + size;
    return b;
}

fc_conn_pool_t *
fc_conn_pool_create(size_t n, fc_event_loop_t *loop, fc_log_t *log)
{
    fc_conn_pool_t *cp = fc_calloc(sizeof(*cp), log);
    if (cp == NULL)
        return NULL;
    cp->conns = fc_calloc(n * sizeof(fc_connection_t), log);
    cp->events = fc_calloc(2 * n * sizeof(fc_event_t), log);
    if (cp->conns == NULL || cp->events == NULL) {
        fc_conn_pool_destroy(cp);
        return NULL;
    }
    cp->n = n;
    cp->loop = loop;
    for (size_t i = n; i-- > 0;) {
        fc_connection_t *c = &cp->conns[i];
        c->fd = -1;
        c->read = &cp->events[2 * i];
        c->write = &cp->events[2 * i + 1];
        c->next_free = cp->free;
        cp->free = c;
    }
    cp->nfree = n;
    return cp;
}

void
fc_conn_pool_destroy(fc_conn_pool_t *cp)
{
    if (cp == NULL)
        return;
    free(cp->conns);
    free(cp->events);
    free(cp);
}

void
fc_conn_pool_on_free(fc_conn_pool_t *cp, void (*fn)(void *arg), void *arg)
{
    cp->on_free = fn;
    cp->on_free_arg = arg;
}

fc_connection_t *
fc_conn_get(fc_conn_pool_t *cp, int fd, fc_log_t *log)
{
    fc_connection_t *c = cp->free;
    if (c == NULL) {
        fc_log_error(FC_LOG_ALERT, log, 0, "%zu worker_connections are not enough", cp->n);
        return NULL;
    }
    cp->free = c->next_free;
    cp->nfree--;
    fc_event_t *rev = c->read, *wev = c->write;
    unsigned instance = c->instance;
    memset(c, 0, sizeof(*c));
    memset(rev, 0, sizeof(*rev));
    memset(wev, 0, sizeof(*wev));
    c->read = rev;
    c->write = wev;
    c->instance = !instance;
    c->fd = fd;
    c->loop = cp->loop;
    c->cpool = cp;
    c->log = log;
    rev->data = wev->data = c;
    wev->write = 1;
    rev->log = wev->log = log;
    return c;
}

void
fc_conn_free(fc_conn_pool_t *cp, fc_connection_t *c)
{
    c->fd = -1;
    c->next_free = cp->free;
    cp->free = c;
    cp->nfree++;
    if (cp->on_free)
        cp->on_free(cp->on_free_arg);
}

size_t
fc_conn_used(const fc_conn_pool_t *cp)
{
    return cp->n - cp->nfree;
}

size_t
fc_conn_free_count(const fc_conn_pool_t *cp)
{
    return cp->nfree;
}

void
fc_conn_foreach(fc_conn_pool_t *cp, void (*fn)(fc_connection_t *c, void *arg), void *arg)
{
    for (size_t i = 0; i < cp->n; i++) {
        fc_connection_t *c = &cp->conns[i];
        if (c->fd != -1 && !c->destroyed)
            fn(c, arg);
    }
}

int
fc_conn_local_addr(fc_connection_t *c)
{
    if (c->local_known)
        return FC_OK;
    c->local_socklen = sizeof(c->local_sockaddr);
    if (getsockname(c->fd, (struct sockaddr *) &c->local_sockaddr, &c->local_socklen) < 0)
        return FC_ERROR;
    c->local_known = 1;
    return FC_OK;
}
