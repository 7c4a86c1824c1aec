/*
 * tunnel.c: after a 101 (WebSocket or any Upgrade) the client connection and
 * the upstream connection carry opaque bytes both ways. Each direction is an
 * L4 relay direction (src/stream/relay.c: buffered, then splice for bulk),
 * a half-close is passed on, and the tunnel ends when both directions have
 * ended, on an error, or after `timeout` without traffic either way (nginx
 * arms proxy_read_timeout on both sides the same way).
 *
 * The request stays open while the tunnel runs (its LOG phase comes at the
 * end, with the bytes moved); the client side's events reach the tunnel
 * through r->read_event_handler / r->write_event_handler, the upstream
 * side's directly. A draining worker leaves tunnels alone: they are busy
 * connections, cut only by worker_shutdown_timeout.
 */
#include "http/request.h"
#include "http/upstream.h"
#include "stream/relay.h"

typedef struct {
    fc_http_request_t *r;
    fc_connection_t *c;    /* the client */
    fc_connection_t *peer; /* the upstream */
    fc_relay_dir_t down;   /* client -> upstream */
    fc_relay_dir_t up;     /* upstream -> client */
    fc_msec_t timeout;
    unsigned flushing : 1; /* the 101 head is still on its way to the client */
} tunnel_t;

static void tunnel_process(tunnel_t *t);

static tunnel_t *
tunnel_of(fc_http_request_t *r)
{
    return fc_http_get_module_ctx(r, fc_http_upstream_module);
}

/* Closes the upstream side and ends the request (the core closes the client: r->upgraded). */
static void
tunnel_finish(tunnel_t *t)
{
    fc_http_request_t *r = t->r;
    fc_connection_t *c = t->c;
    fc_relay_dir_close(&t->down);
    fc_relay_dir_close(&t->up);
    if (t->peer) {
        fc_close_connection(t->peer);
        t->peer = NULL;
    }
    c->sent += t->up.out;
    c->received += t->down.in;
    r->bytes_sent += t->up.out; /* $bytes_sent and $body_bytes_sent count the tunnel, as nginx */
    r->body_sent += t->up.out;
    fc_http_upstream_t *u = r->upstream;
    if (u && u->state) {
        /* $upstream_bytes_*: the tunnel's bytes count, as in nginx. */
        u->state->bytes_sent += t->down.out;
        u->state->bytes_received += t->up.in;
    }
    r->read_event_handler = fc_http_block_reading;
    r->write_event_handler = fc_http_block_reading;
    fc_http_set_module_ctx(r, NULL, fc_http_upstream_module);
    /* FC_OK with r->upgraded: logged as 101, connection closed (FC_DONE would be a no-op). */
    fc_http_finalize_request(r, FC_OK);
}

/* Logs a relay failure the way nginx does: the upstream's at error, the client's at info. */
static void
tunnel_error(tunnel_t *t, const fc_relay_dir_t *d, int upstream_is_src)
{
    int on_upstream = d->failed_src ? upstream_is_src : !upstream_is_src;
    fc_log_error(on_upstream ? FC_LOG_ERR : FC_LOG_INFO, t->c->log, d->err, "%s() failed",
                 d->failed_src ? "recv" : "send");
}

static void
tunnel_client_read(fc_http_request_t *r)
{
    tunnel_t *t = tunnel_of(r);
    if (t)
        tunnel_process(t);
}

static void
tunnel_client_write(fc_http_request_t *r)
{
    tunnel_t *t = tunnel_of(r);
    if (t == NULL)
        return;
    fc_connection_t *c = r->connection;
    if (c->write->timedout) {
        /* Only the core's send_timeout, while the 101 head is flushed, runs on this event. */
        c->write->timedout = 0;
        fc_log_error(FC_LOG_INFO, c->log, ETIMEDOUT, "client timed out");
        tunnel_finish(t);
        return;
    }
    tunnel_process(t);
}

static void
tunnel_peer_event(fc_event_t *ev)
{
    fc_connection_t *peer = ev->data;
    tunnel_t *t = peer->data;
    if (ev->timedout) {
        ev->timedout = 0;
        fc_log_error(FC_LOG_ERR, t->c->log, ETIMEDOUT, "upstream timed out");
        tunnel_finish(t);
        return;
    }
    tunnel_process(t);
}

/* Sends what is still pending of the 101 response; FC_OK once it is all out. */
static int
tunnel_flush(tunnel_t *t)
{
    if (!t->flushing)
        return FC_OK;
    int rc = fc_http_output_filter(t->r, NULL);
    if (rc != FC_OK)
        return rc;
    t->flushing = 0;
    if (t->c->write->timer_set)
        fc_event_del_timer(t->c->loop, t->c->write);
    return FC_OK;
}

static void
tunnel_process(tunnel_t *t)
{
    int flush = tunnel_flush(t);
    if (flush == FC_ERROR) {
        tunnel_finish(t);
        return;
    }
    int down = fc_relay_pump(&t->down);
    /* Upstream bytes wait until the 101 head has gone first. */
    int up = flush == FC_OK ? fc_relay_pump(&t->up) : FC_AGAIN;
    if (down == FC_ERROR || up == FC_ERROR) {
        if (down == FC_ERROR)
            tunnel_error(t, &t->down, 0);
        else
            tunnel_error(t, &t->up, 1);
        tunnel_finish(t);
        return;
    }
    if (down == FC_DONE && up == FC_DONE) {
        tunnel_finish(t);
        return;
    }
    if (down == FC_OK || up == FC_OK || !t->peer->read->timer_set)
        fc_event_add_timer(t->peer->loop, t->peer->read, t->timeout);
}

/* Gives a direction the bytes its source sent before the tunnel began. */
static int
tunnel_preload(fc_relay_dir_t *d, fc_str_t pre)
{
    if (pre.len == 0)
        return FC_OK;
    size_t size = fc_max(d->buf_size, pre.len);
    unsigned char *p = fc_palloc(d->pool, size);
    if (p == NULL)
        return FC_ERROR;
    memcpy(p, pre.data, pre.len);
    d->buf_mem.start = d->buf_mem.pos = p;
    d->buf_mem.last = p + pre.len;
    d->buf_mem.end = p + size;
    d->buf = &d->buf_mem;
    return FC_OK;
}

void
fc_http_tunnel_start(fc_http_request_t *r, fc_connection_t *peer, fc_str_t client_pre,
                     fc_str_t upstream_pre, fc_msec_t timeout, size_t buffer_size)
{
    fc_connection_t *c = r->connection;
    r->upgraded = 1;
    r->keepalive = 0;
    tunnel_t *t = fc_pcalloc(r->pool, sizeof(*t));
    if (t == NULL) {
        fc_close_connection(peer);
        fc_http_finalize_request(r, FC_OK);
        return;
    }
    t->r = r;
    t->c = c;
    t->peer = peer;
    t->timeout = timeout;
    fc_relay_dir_init(&t->down, c, peer, r->pool, buffer_size, 1, 1);
    fc_relay_dir_init(&t->up, peer, c, r->pool, buffer_size, 1, 1);
    fc_http_set_module_ctx(r, t, fc_http_upstream_module);
    if (tunnel_preload(&t->down, client_pre) != FC_OK ||
        tunnel_preload(&t->up, upstream_pre) != FC_OK) {
        tunnel_finish(t);
        return;
    }
    c->log->action = "proxying upgraded connection";
    c->idle = 0;
    peer->idle = 0;
    /* The request's own timers (body, send) are over; the tunnel keeps one of its own. */
    fc_event_del_timer(c->loop, c->read);
    if (!r->out && !r->blocked_write)
        fc_event_del_timer(c->loop, c->write);
    t->flushing = r->out || r->blocked_write;
    peer->data = t;
    peer->log = peer->read->log = peer->write->log = c->log;
    peer->read->handler = tunnel_peer_event;
    peer->write->handler = tunnel_peer_event;
    r->read_event_handler = tunnel_client_read;
    r->write_event_handler = tunnel_client_write;
    /* Whoever read these sockets before may have stopped short of EAGAIN: look once. */
    c->read->ready = c->write->ready = 1;
    peer->read->ready = peer->write->ready = 1;
    tunnel_process(t);
}
