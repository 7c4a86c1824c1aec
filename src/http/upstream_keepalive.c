/*
 * upstream_keepalive.c: the per-worker cache of idle upstream connections
 * of a group (`keepalive N`, nginx's ngx_http_upstream_keepalive_module).
 *
 * Cached connections are threaded on a list, most recently used first; a
 * get takes the most recently used connection to the chosen peer. While
 * cached, a connection belongs to the cache: any read event (the upstream
 * closed it or sent bytes nobody asked for) or keepalive_timeout closes it,
 * and so does the worker starting to drain.
 *
 * `keepalive N` is the number of idle connections the cache keeps. nginx
 * closes the least recently used one the moment a put goes over N. Under a
 * steady load with more concurrent requests than N, the number of idle
 * connections swings around N from one pass of the event loop to the next
 * (a pass that reads many responses puts many, the next one that reads
 * many requests takes them again), so nginx closes connections only to
 * open new ones a millisecond later: 13 % of the requests of
 * `scripts/bench.sh l7` (keepalive 32, 50 clients) paid a TCP connect and
 * close. Here the least recently used connections above N are closed once
 * the cache has stayed above N for KA_OVER_MS, or once no connection came
 * back for KA_QUIET_MS: a burst that is over gives its connections up
 * within milliseconds, and connections that are only between two requests
 * stay open.
 */
#include "http/upstream.h"

typedef struct ka_item_s ka_item_t;

struct ka_item_s {
    ka_item_t *prev;
    ka_item_t *next;
    fc_http_keepalive_cache_t *cache;
    fc_connection_t *c;
    struct sockaddr_storage sa; /* the peer it is connected to */
    socklen_t socklen;
    unsigned long requests; /* served so far (keepalive_requests) */
};

#define KA_QUIET_MS 2 /* no put for this long: the burst is over */
#define KA_OVER_MS 10 /* above `keepalive` without a break for this long: trim anyway */

/* When a cached connection was connected (keepalive_time) is its c->start_msec. */
struct fc_http_keepalive_cache_s {
    ka_item_t cached;     /* sentinel: next is the most recently used */
    ka_item_t free;       /* sentinel of the unused items */
    size_t ncached;       /* connections on `cached` */
    size_t limit;         /* `keepalive` */
    fc_msec_t over_since; /* when ncached last went above limit */
    fc_msec_t last_put;
    fc_worker_t *worker; /* its loop runs the trim timer, its pool makes items */
    fc_event_t trim;     /* timer: closes what is above the limit (ka_trim) */
};

/* ---- the lists ---- */

static void
ka_unlink(ka_item_t *it)
{
    it->prev->next = it->next;
    it->next->prev = it->prev;
    it->prev = it->next = it;
}

/* Puts it right after the sentinel `head`. */
static void
ka_link_first(ka_item_t *head, ka_item_t *it)
{
    it->next = head->next;
    it->prev = head;
    head->next->prev = it;
    head->next = it;
}

static int
ka_empty(const ka_item_t *head)
{
    return head->next == head;
}

/* ---- connections held by the cache ---- */

static void
ka_ignore(fc_event_t *ev)
{
    (void) ev;
}

/* Takes a cached item out of the cache (its connection is the caller's now). */
static fc_connection_t *
ka_take(ka_item_t *it)
{
    fc_http_keepalive_cache_t *cache = it->cache;
    fc_connection_t *c = it->c;
    ka_unlink(it);
    ka_link_first(&cache->free, it);
    cache->ncached--;
    it->c = NULL;
    fc_event_del_timer(c->loop, c->read);
    fc_event_del_timer(c->loop, c->write);
    c->read->handler = ka_ignore;
    c->write->handler = ka_ignore;
    c->read->timedout = 0;
    c->data = NULL;
    c->idle = 0;
    return c;
}

static void
ka_close_item(ka_item_t *it)
{
    fc_close_connection(ka_take(it));
}

/*
 * A read event on an idle connection: the timeout, or the upstream closed it
 * or sent something. A peek that finds nothing (a stale edge) keeps it.
 */
static void
ka_close_handler(fc_event_t *ev)
{
    fc_connection_t *c = ev->data;
    ka_item_t *it = c->data;
    if (!ev->timedout) {
        unsigned char b;
        ssize_t n = recv(c->fd, &b, 1, MSG_PEEK);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            ev->ready = 0;
            return;
        }
    }
    ka_close_item(it);
}

/* The worker starts to drain: idle upstream connections must not keep it alive. */
static void
ka_drain(fc_worker_t *w, void *data)
{
    fc_http_keepalive_cache_t *cache = data;
    (void) w;
    while (!ka_empty(&cache->cached))
        ka_close_item(cache->cached.next);
    fc_event_del_timer(cache->worker->loop, &cache->trim);
}

/*
 * The trim timer: closes the least recently used connections above the
 * limit once the burst that brought them is over (see the top of the file).
 * Dropping back to the limit in between ends the count: a cache that swings
 * around its limit keeps its connections.
 */
static void
ka_trim(fc_event_t *ev)
{
    fc_http_keepalive_cache_t *cache = ev->data;
    fc_msec_t now = fc_current_msec();
    if (cache->ncached <= cache->limit)
        return;
    fc_msec_t over = now - cache->over_since, quiet = now - cache->last_put;
    if (over < KA_OVER_MS && quiet < KA_QUIET_MS) {
        fc_msec_t wait = KA_OVER_MS - over;
        if (KA_QUIET_MS - quiet < wait)
            wait = KA_QUIET_MS - quiet;
        fc_event_add_timer(cache->worker->loop, ev, wait);
        return;
    }
    while (cache->ncached > cache->limit)
        ka_close_item(cache->cached.prev);
}

/* A free item, made when every one is in use; NULL when out of memory. */
static ka_item_t *
ka_free_item(fc_http_keepalive_cache_t *cache)
{
    if (ka_empty(&cache->free)) {
        ka_item_t *it = fc_pcalloc(cache->worker->pool, sizeof(*it));
        if (it == NULL)
            return NULL;
        it->cache = cache;
        it->prev = it->next = it;
        return it;
    }
    ka_item_t *it = cache->free.next;
    ka_unlink(it);
    return it;
}

/* The group's cache in this worker, created on first use; NULL on failure. */
static fc_http_keepalive_cache_t *
ka_cache(fc_http_upstream_srv_t *us, fc_worker_t *w)
{
    if (us->cache)
        return us->cache;
    fc_http_keepalive_cache_t *cache = fc_pcalloc(w->pool, sizeof(*cache));
    ka_item_t *items = fc_pcalloc(w->pool, us->keepalive * sizeof(ka_item_t));
    if (cache == NULL || items == NULL)
        return NULL;
    cache->limit = us->keepalive;
    cache->worker = w;
    cache->trim.data = cache;
    cache->trim.handler = ka_trim;
    cache->trim.log = w->log;
    cache->cached.next = cache->cached.prev = &cache->cached;
    cache->free.next = cache->free.prev = &cache->free;
    for (size_t i = 0; i < us->keepalive; i++) {
        items[i].cache = cache;
        ka_link_first(&cache->free, &items[i]);
    }
    if (fc_worker_on_drain(w, ka_drain, cache) != FC_OK)
        return NULL;
    us->cache = cache;
    return cache;
}

/* 1 if a connection offered back may be kept (nginx's reasons to close). */
static int
ka_reusable(const fc_http_upstream_srv_t *us, const fc_worker_t *w, const fc_connection_t *c,
            unsigned long requests, fc_msec_t created)
{
    if (us->keepalive == 0 || w == NULL || w->draining || c->fd < 0 || c->destroyed)
        return 0;
    if (us->keepalive_requests >= 0 && requests >= (uint64_t) us->keepalive_requests)
        return 0;
    if (fc_current_msec() - created > us->keepalive_time)
        return 0;
    if (c->read->eof || c->read->error || c->write->error || c->read->timedout ||
        c->write->timedout)
        return 0;
    return 1;
}

fc_connection_t *
fc_http_keepalive_get(fc_http_upstream_srv_t *us, fc_worker_t *w, const fc_addr_t *peer,
                      unsigned long *requests)
{
    (void) w;
    fc_http_keepalive_cache_t *cache = us->cache;
    if (cache == NULL)
        return NULL;
    const struct sockaddr *sa = (const struct sockaddr *) &peer->sa;
    for (ka_item_t *it = cache->cached.next; it != &cache->cached; it = it->next) {
        if (!fc_sockaddr_eq((struct sockaddr *) &it->sa, it->socklen, sa, peer->socklen, 1))
            continue;
        *requests = it->requests;
        return ka_take(it);
    }
    return NULL;
}

void
fc_http_keepalive_put(fc_http_upstream_srv_t *us, fc_worker_t *w, const fc_addr_t *peer,
                      fc_connection_t *c, unsigned long requests, fc_msec_t created)
{
    fc_http_keepalive_cache_t *cache =
        ka_reusable(us, w, c, requests, created) ? ka_cache(us, w) : NULL;
    if (cache == NULL || peer->socklen > sizeof(struct sockaddr_storage)) {
        fc_close_connection(c);
        return;
    }
    ka_item_t *it = ka_free_item(cache);
    if (it == NULL) {
        fc_close_connection(c);
        return;
    }
    ka_link_first(&cache->cached, it);
    cache->last_put = fc_current_msec();
    if (++cache->ncached == cache->limit + 1) {
        cache->over_since = cache->last_put;
        if (!cache->trim.timer_set)
            fc_event_add_timer(cache->worker->loop, &cache->trim, KA_QUIET_MS);
    }
    it->c = c;
    memcpy(&it->sa, &peer->sa, peer->socklen);
    it->socklen = peer->socklen;
    it->requests = requests;
    c->start_msec = created;

    fc_event_del_timer(c->loop, c->read);
    fc_event_del_timer(c->loop, c->write);
    c->data = it;
    c->idle = 1;
    /* The request that used it is going away: log through the worker from now on. */
    c->log = c->read->log = c->write->log = w->log;
    c->read->handler = ka_close_handler;
    c->write->handler = ka_ignore;
    fc_event_add_timer(c->loop, c->read, us->keepalive_timeout);
    if (c->read->ready || c->read->pending_eof)
        ka_close_handler(c->read); /* something is waiting already: look now */
}
