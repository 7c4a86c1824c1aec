/*
 * upstream.c: the generic HTTP upstream engine, first half: one request's
 * trip to an upstream. It reads (or streams) the client body, picks a peer
 * (round robin, hash keys, ip_hash ...), takes an idle keep-alive connection
 * or connects, sends the request the protocol module built (writev, sendfile
 * for a body spilled to a temp file), and decides proxy_next_upstream when a
 * try fails. upstream_response.c reads and relays the response.
 *
 * Retries: a try that fails before anything reached the client costs a try
 * of the pick (the peer is blamed except for http_403/http_404); a pooled
 * keep-alive connection that fails before the first response byte is
 * replaced by a fresh connection to the same peer without costing a try.
 * POST, LOCK and PATCH are not retried once sending began unless
 * proxy_next_upstream has non_idempotent.
 */
#include "http/request.h"
#include "http/upstream_engine.h"
#include "event/tls_client.h"
#include "upstream/connect.h"

#define UP_SEND_LINKS 16 /* links handed to fc_chain_send() at once */

const fc_conf_enum_t fc_http_upstream_next_masks[] = {
    FC_HTTP_UPSTREAM_FT_CONDITIONS,
    {"non_idempotent", FC_HTTP_UPSTREAM_FT_NON_IDEMPOTENT},
    {"off", FC_HTTP_UPSTREAM_FT_OFF},
    {NULL, 0}};

static void up_cleanup(void *data);
static void up_give_up(fc_http_upstream_t *u, unsigned ft, unsigned status);
static void up_body_ready(fc_http_request_t *r);
static void up_init(fc_http_upstream_t *u);
static void up_connect(fc_http_upstream_t *u);
static void up_connect_peer(fc_http_upstream_t *u);
static void up_check_broken(fc_http_request_t *r);
static void up_nb_take(fc_http_upstream_t *u);
static void up_send(fc_http_upstream_t *u);
static void up_peer_event(fc_event_t *ev);
static int up_non_idempotent(const fc_http_request_t *r);

fc_http_upstream_t *
fc_http_upstream_create(fc_http_request_t *r, const fc_http_upstream_conf_t *conf,
                        const fc_http_upstream_ops_t *ops, void *data)
{
    fc_http_upstream_t *u = fc_pcalloc(r->pool, sizeof(*u));
    fc_pool_cleanup_t *cln = u ? fc_pool_cleanup_add(r->pool, 0) : NULL;
    if (cln == NULL)
        return NULL;
    fc_http_upstream_t *prev = r->upstream;
    u->r = r;
    u->conf = conf;
    u->ops = ops;
    u->data = data;
    u->length = -1;
    fc_str_set(&u->schema, "http://");
    /* After an internal redirect the earlier tries stay in $upstream_* (" : "). */
    u->states = prev ? prev->states : NULL;
    if (u->states == NULL)
        u->states = fc_array_create(r->pool, 2, sizeof(fc_http_upstream_state_t));
    if (u->states == NULL)
        return NULL;
    u->new_group = prev != NULL;
    cln->handler = up_cleanup;
    cln->data = u;
    r->upstream = u;
    return u;
}

/* The request pool is going away: whatever the trip still holds is let go. */
static void
up_cleanup(void *data)
{
    fc_http_upstream_t *u = data;
    u->finished = 1;
    fc_http_upstream_release_peer(u, 0);
}

int
fc_http_upstream_start(fc_http_upstream_t *u)
{
    fc_http_request_t *r = u->r;
    u->in_handler = 1;
    u->sync_rc = FC_DONE;
    u->start_msec = fc_current_msec();
    int rc = u->discard_request_body ? fc_http_discard_request_body(r)
                                     : fc_http_read_client_request_body(r, up_body_ready);
    /*
     * The body reader calls up_body_ready() itself once it has bytes; as
     * nginx, a streamed body (proxy_request_buffering off) does not wait for
     * them: the upstream is connected and gets the head at once.
     */
    if (rc == FC_OK &&
        (u->discard_request_body ||
         (r->request_body_no_buffering && u->state_machine == FC_UP_INIT && !u->finished)))
        up_init(u);
    u->in_handler = 0;
    if (rc != FC_OK) {
        u->finished = 1;
        return rc == FC_ERROR ? FC_HTTP_INTERNAL_SERVER_ERROR : rc;
    }
    return u->sync_rc;
}

/* The body reader's post handler: the body is complete, or (no buffering) has new bytes. */
static void
up_body_ready(fc_http_request_t *r)
{
    fc_http_upstream_t *u = r->upstream;
    if (u == NULL || u->finished)
        return;
    if (u->state_machine == FC_UP_INIT) {
        up_init(u);
        return;
    }
    if (r->request_body_no_buffering) {
        up_nb_take(u);
        /*
         * Sent from the event loop, not from here: this runs inside the body
         * reader, itself maybe called by the sender (no recursion, and the
         * reader may still finalize r after we return).
         */
        if (u->peer && u->state_machine >= FC_UP_HEADER && !u->request_body_sent)
            fc_event_post(u->peer->loop, u->peer->write);
    }
}

void
fc_http_upstream_cache_register(fc_conf_t *cf, const fc_http_upstream_cache_ops_t *ops)
{
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    cmcf->upstream_cache = ops;
}

/*
 * From here on a read event on the client means it may be gone. If the end
 * came already, with the request (EPOLLRDHUP in the same event, or a TLS
 * close_notify read with the last bytes), no event will come again: judge it
 * now, as nginx does when it adds the client's write event at this point.
 */
static void
up_watch_client(fc_http_request_t *r)
{
    fc_connection_t *c = r->connection;
    r->read_event_handler = up_check_broken;
    if (c->read->pending_eof)
        fc_event_post(c->loop, c->read);
}

/* Asks the cache (if any), then builds the request, picks the group's key and starts the first try. */
static void
up_init(fc_http_upstream_t *u)
{
    fc_http_request_t *r = u->r;
    if (!r->request_body_no_buffering) {
        up_watch_client(r);
        u->nb_done = 1; /* else up_nb_take() sees the end and frames it */
    }
    r->write_event_handler = fc_http_block_reading;
    const fc_http_upstream_cache_ops_t *cache = fc_http_core_main(r)->upstream_cache;
    if (cache && cache->start(u) != FC_DECLINED)
        return; /* answered from the cache, or waiting for it (it calls proceed) */
    fc_http_upstream_proceed(u);
}

void
fc_http_upstream_proceed(fc_http_upstream_t *u)
{
    fc_http_request_t *r = u->r;
    if (u->ops->create_request(u) != FC_OK) {
        fc_http_upstream_finalize(u, FC_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    u->nb_tail = u->request_bufs;
    while (u->nb_tail && u->nb_tail->next)
        u->nb_tail = u->nb_tail->next;
    if (r->request_body_no_buffering)
        up_nb_take(u);
    fc_upstream_group_t *g = u->group;
    if (g->method == FC_UPSTREAM_HASH && u->hash_key.len == 0 && u->upstream &&
        fc_http_cv_eval(r, &u->upstream->hash_key, &u->hash_key) != FC_OK) {
        fc_http_upstream_finalize(u, FC_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    if (fc_upstream_pick_init(&u->pick, g, r->pool, u->hash_key.len ? &u->hash_key : NULL) !=
        FC_OK) {
        fc_http_upstream_finalize(u, FC_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    u->pick.log = r->connection->log;
    fc_upstream_pick_client(&u->pick, (struct sockaddr *) &r->connection->sockaddr);
    if (u->conf->next_upstream_tries > 0 && u->pick.tries > u->conf->next_upstream_tries)
        u->pick.tries = (unsigned) u->conf->next_upstream_tries;
    up_connect(u);
}

/* ---- no request buffering: the body goes out as it arrives ----------------------- */

/* Moves the body links the reader produced into the send chain (framed by body_output). */
static void
up_nb_take(fc_http_upstream_t *u)
{
    fc_http_request_body_t *rb = u->r->request_body;
    if (rb == NULL || u->nb_done)
        return;
    fc_chain_t *in = NULL, **ll = &in;
    for (fc_chain_t *cl = rb->bufs; cl; cl = cl->next) {
        fc_buf_t *src = cl->buf;
        if (src->last == src->pos)
            continue;
        /* A view of the new bytes; the reader's buffer counts them as consumed. */
        fc_chain_t *l = fc_chain_str(u->r->pool, src->pos, (size_t) (src->last - src->pos));
        if (l == NULL)
            return;
        src->pos = src->last;
        *ll = l;
        ll = &l->next;
    }
    rb->bufs = NULL;
    int last = rb->done;
    fc_chain_t *out = NULL;
    if ((in || last) && u->ops->body_output(u, in, last, &out) != FC_OK)
        return;
    if (last) {
        u->nb_done = 1;
        up_watch_client(u->r);
    }
    if (out == NULL)
        return;
    if (u->nb_tail)
        u->nb_tail->next = out;
    else
        u->request_bufs = out;
    if (u->send_cl == NULL) {
        u->send_cl = out;
        u->send_off = 0;
    }
    while (out->next)
        out = out->next;
    u->nb_tail = out;
}

/*
 * All queued body bytes were sent: let the reader refill its buffer. The
 * reader calls up_body_ready() with what it finds (now or on a later read
 * event), and may finalize r on a client error: nothing touches u after it.
 */
static void
up_nb_resume(fc_http_upstream_t *u)
{
    if (!u->nb_done)
        (void) fc_http_read_unbuffered_request_body(u->r);
}

/* ---- picking and connecting --------------------------------------------------------- */

/* Opens the record of one more try ($upstream_addr and friends). */
static fc_http_upstream_state_t *
up_new_state(fc_http_upstream_t *u, const fc_str_t *peer)
{
    fc_http_upstream_state_t *st = fc_array_push(u->states);
    if (st == NULL)
        return NULL;
    st->peer = *peer;
    st->connect_time = -1;
    st->header_time = -1;
    st->response_time = -1;
    st->boundary = u->new_group && u->states->nelts > 1;
    u->new_group = 0;
    u->state = st;
    return st;
}

/* The try ends: its response time is known. */
static void
up_state_close(fc_http_upstream_t *u)
{
    if (u->state && u->state->response_time < 0)
        u->state->response_time = fc_current_msec() - u->try_msec;
}

/*
 * r->log_upstream: "http://", "127.0.0.1:8080", "/uri" for every error line
 * of the trip, joined only when a line is written (most requests log none).
 * The pieces live as long as the request: a literal or the request's pool,
 * and the configuration.
 */
static void
up_log_upstream(fc_http_upstream_t *u, const fc_str_t *peer)
{
    fc_http_request_t *r = u->r;
    r->log_upstream[0] = u->schema;
    r->log_upstream[1] = *peer;
    r->log_upstream[2] = u->uri;
}

/* proxy_bind for this connection: FC_OK (local set), FC_DECLINED (none) or FC_ERROR. */
static int
up_local_address(fc_http_upstream_t *u, fc_upstream_local_t *local)
{
    const fc_upstream_bind_conf_t *b = &u->conf->bind;
    if (b->value == NULL)
        return FC_DECLINED;
    fc_str_t v;
    if (fc_http_cv_eval(u->r, b->value, &v) != FC_OK)
        return FC_ERROR;
    return fc_upstream_bind_local(b, &v, u->r->pool, u->r->connection->log, local);
}

static void
up_connect(fc_http_upstream_t *u)
{
    fc_http_request_t *r = u->r;
    fc_log_t *log = r->connection->log;
    log->action = "connecting to upstream";
    u->state_machine = FC_UP_CONNECT;
    if (fc_upstream_pick_next(&u->pick, fc_current_msec()) != FC_OK) {
        fc_http_upstream_state_t *st = up_new_state(u, &u->group->name);
        if (st) {
            st->status = FC_HTTP_BAD_GATEWAY;
            st->response_time = 0;
        }
        up_log_upstream(u, &u->group->name);
        fc_log_error(FC_LOG_ERR, log, 0, "no live upstreams");
        up_give_up(u, FC_HTTP_UPSTREAM_FT_ERROR, FC_HTTP_BAD_GATEWAY);
        return;
    }
    if (up_new_state(u, &u->pick.peer->addr.name) == NULL) {
        fc_http_upstream_finalize(u, FC_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    up_log_upstream(u, &u->pick.peer->addr.name);
    up_connect_peer(u);
}

/* A fresh try on the picked peer: protocol state and the send position start over. */
static int
up_reset_try(fc_http_upstream_t *u)
{
    u->try_msec = fc_current_msec();
    u->request_sent = 0;
    u->request_body_sent = 0;
    u->response_received = 0;
    u->cached = 0;
    u->extra = 0;
    u->length = -1;
    u->send_cl = u->request_bufs;
    u->send_off = 0;
    memset(&u->headers_in, 0, sizeof(u->headers_in));
    u->headers_in.content_length_n = -1;
    if (u->buffer == NULL) {
        fc_buf_t *b = fc_pcalloc(u->r->pool, sizeof(*b));
        unsigned char *p = b ? fc_pnalloc(u->r->pool, u->conf->buffer_size) : NULL;
        if (p == NULL)
            return FC_ERROR;
        b->start = p;
        b->end = p + u->conf->buffer_size;
        u->buffer = b;
    }
    u->buffer->pos = u->buffer->last = u->buffer->start;
    if (fc_array_init(&u->headers_in.headers, u->r->pool, 16, sizeof(fc_http_field_t)) != FC_OK)
        return FC_ERROR;
    if (u->tries_started++ > 0 && u->ops->reinit_request && u->ops->reinit_request(u) != FC_OK)
        return FC_ERROR;
    return FC_OK;
}

static void up_connect_event(fc_event_t *ev);
static void up_connected(fc_http_upstream_t *u);

static void
up_attach(fc_http_upstream_t *u, fc_connection_t *pc, fc_event_handler_pt handler)
{
    fc_connection_t *c = u->r->connection;
    pc->data = u;
    pc->log = c->log;
    pc->log_error = FC_LOG_ERR; /* an upstream's failure is an error, a client's is info */
    pc->read->log = pc->write->log = c->log;
    pc->read->handler = handler;
    pc->write->handler = handler;
    u->peer = pc;
}

static void
up_connect_peer(fc_http_upstream_t *u)
{
    fc_http_request_t *r = u->r;
    fc_worker_t *w = fc_http_worker(r);
    const fc_upstream_peer_t *peer = u->pick.peer;
    if (up_reset_try(u) != FC_OK) {
        fc_http_upstream_finalize(u, FC_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    if (u->upstream && u->upstream->keepalive && !u->skip_cache) {
        fc_connection_t *pc = fc_http_keepalive_get(u->upstream, w, &peer->addr, &u->peer_requests);
        if (pc) {
            u->cached = 1;
            up_attach(u, pc, up_peer_event);
            up_connected(u);
            return;
        }
    }
    u->skip_cache = 0;
    u->peer_requests = 0;
    unsigned flags = (fc_http_core_loc(r)->tcp_nodelay ? FC_UPSTREAM_CONNECT_NODELAY : 0) |
                     (u->conf->socket_keepalive ? FC_UPSTREAM_CONNECT_KEEPALIVE : 0);
    fc_upstream_local_t local;
    int brc = up_local_address(u, &local);
    if (brc == FC_ERROR) {
        fc_http_upstream_finalize(u, FC_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    fc_connection_t *pc;
    int rc = fc_upstream_connect(w->conns, &peer->addr, SOCK_STREAM, flags,
                                 brc == FC_OK ? &local : NULL, r->connection->log, &pc);
    if (rc == FC_ERROR) {
        fc_http_upstream_finalize(u, FC_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    if (rc == FC_DECLINED) {
        fc_http_upstream_next(u, FC_HTTP_UPSTREAM_FT_ERROR);
        return;
    }
    pc->number = r->connection->number;
    up_attach(u, pc, up_connect_event);
    if (rc == FC_OK) {
        up_connected(u);
        return;
    }
    fc_event_add_timer(pc->loop, pc->write, u->conf->connect_timeout);
}

static void
up_connect_event(fc_event_t *ev)
{
    fc_connection_t *pc = ev->data;
    fc_http_upstream_t *u = pc->data;
    fc_log_t *log = u->r->connection->log;
    if (ev->timedout) {
        ev->timedout = 0;
        fc_http_upstream_next(u, FC_HTTP_UPSTREAM_FT_TIMEOUT); /* logs it */
        return;
    }
    int rc = fc_upstream_connect_result(pc, log);
    if (rc == FC_ERROR)
        fc_http_upstream_next(u, FC_HTTP_UPSTREAM_FT_ERROR);
    else if (rc == FC_OK)
        up_connected(u);
}

/* ---- TLS to the upstream (https://) -------------------------------------------------- */

static void up_ssl_handshake(fc_http_upstream_t *u);

static void
up_ssl_event(fc_event_t *ev)
{
    fc_connection_t *pc = ev->data;
    fc_http_upstream_t *u = pc->data;
    if (ev->timedout) {
        ev->timedout = 0;
        fc_http_upstream_next(u, FC_HTTP_UPSTREAM_FT_TIMEOUT); /* logs it */
        return;
    }
    up_ssl_handshake(u);
}

/* The handshake counts in the connect time and is bounded by proxy_connect_timeout. */
static void
up_ssl_handshake(fc_http_upstream_t *u)
{
    fc_connection_t *pc = u->peer;
    if (pc->tls == NULL) {
        u->r->connection->log->action = "SSL handshaking to upstream";
        pc->read->handler = up_ssl_event;
        pc->write->handler = up_ssl_event;
        if (!pc->write->timer_set)
            fc_event_add_timer(pc->loop, pc->write, u->conf->connect_timeout);
    }
    int rc = fc_tls_client_handshake(pc, u->conf->ssl, &u->ssl_name, &u->pick.peer->addr.name);
    if (rc == FC_ERROR)
        fc_http_upstream_next(u, FC_HTTP_UPSTREAM_FT_ERROR);
    else if (rc == FC_OK)
        up_connected(u);
}

static void
up_connected(fc_http_upstream_t *u)
{
    fc_connection_t *pc = u->peer;
    if (u->ssl && (pc->tls == NULL || !pc->tls->handshaked)) {
        up_ssl_handshake(u);
        return;
    }
    fc_event_del_timer(pc->loop, pc->write);
    pc->read->handler = up_peer_event;
    pc->write->handler = up_peer_event;
    pc->write->ready = 1;
    u->state->connect_time = fc_current_msec() - u->try_msec;
    u->state_machine = FC_UP_HEADER;
    up_send(u);
}

/* ---- sending the request ---------------------------------------------------------- */

static size_t
up_link_size(const fc_chain_t *cl)
{
    const fc_buf_t *b = cl->buf;
    return b->in_file ? (size_t) (b->file_last - b->file_pos) : (size_t) (b->last - b->pos);
}

/* Steps the send position over n bytes that reached the socket. */
static void
up_advance(fc_http_upstream_t *u, size_t n)
{
    u->state->bytes_sent += n;
    while (u->send_cl && n > 0) {
        size_t left = up_link_size(u->send_cl) - u->send_off;
        if (n < left) {
            u->send_off += n;
            return;
        }
        n -= left;
        u->send_cl = u->send_cl->next;
        u->send_off = 0;
    }
    while (u->send_cl && up_link_size(u->send_cl) == 0)
        u->send_cl = u->send_cl->next;
}

/*
 * Sends from the send position with fc_chain_send(). It moves the positions of
 * the buffers it is given, and request_bufs must stay whole for another try:
 * it gets copies of the next links' buffers, and the engine keeps its own
 * position. FC_OK: the chain is out; FC_AGAIN: the socket is full; FC_ERROR:
 * errno is set.
 */
static int
up_send_chain(fc_http_upstream_t *u)
{
    fc_chain_t links[UP_SEND_LINKS];
    fc_buf_t bufs[UP_SEND_LINKS];
    while (u->send_cl) {
        size_t n = 0, off = u->send_off;
        int64_t want = 0;
        for (fc_chain_t *cl = u->send_cl; cl && n < UP_SEND_LINKS; cl = cl->next, n++) {
            bufs[n] = *cl->buf;
            if (bufs[n].in_file)
                bufs[n].file_pos += (int64_t) off;
            else
                bufs[n].pos += off;
            off = 0;
            links[n].buf = &bufs[n];
            links[n].next = NULL;
            if (n > 0)
                links[n - 1].next = &links[n];
            want += (int64_t) up_link_size(&links[n]);
        }
        int64_t w = fc_chain_send(u->peer, links);
        if (w < 0) {
            errno = (int) -w;
            return FC_ERROR;
        }
        up_advance(u, (size_t) w);
        if (w < want && !u->peer->write->ready)
            return FC_AGAIN; /* short of an error, which the next call reports */
    }
    return FC_OK;
}

static void
up_send(fc_http_upstream_t *u)
{
    fc_connection_t *pc = u->peer;
    fc_log_t *log = u->r->connection->log;
    if (u->state_machine == FC_UP_HEADER)
        log->action = "sending request to upstream";
    u->request_sent = 1;
    int rc = up_send_chain(u);
    if (rc == FC_ERROR && u->state_machine != FC_UP_HEADER) {
        /* The response is already on its way: the rest of the request is moot. */
        fc_log_error(FC_LOG_INFO, log, errno, "writev() to upstream failed");
        u->send_cl = NULL;
        u->keepalive = 0;
        return;
    }
    if (rc == FC_ERROR) {
        fc_log_error(FC_LOG_ERR, log, errno, "writev() failed");
        fc_http_upstream_next(u, FC_HTTP_UPSTREAM_FT_ERROR);
        return;
    }
    if (rc == FC_AGAIN) {
        if (!pc->write->timer_set)
            fc_event_add_timer(pc->loop, pc->write, u->conf->send_timeout);
        return;
    }
    fc_event_del_timer(pc->loop, pc->write);
    if (!u->nb_done) {
        /* No buffering: what was queued is out; read more of the client's body. */
        if (u->state->bytes_sent > up_link_size(u->request_bufs))
            u->nb_started = 1;
        up_nb_resume(u); /* last: r may be gone after it */
        return;
    }
    u->request_body_sent = 1;
    if (u->state_machine == FC_UP_HEADER) {
        log->action = "reading response header from upstream";
        if (!pc->read->timer_set)
            fc_event_add_timer(pc->loop, pc->read, u->conf->read_timeout);
        if (pc->read->ready)
            fc_http_upstream_read_header(u);
    }
}

/* ---- events ------------------------------------------------------------------------- */

static void
up_peer_event(fc_event_t *ev)
{
    fc_connection_t *pc = ev->data;
    fc_http_upstream_t *u = pc->data;
    fc_log_t *log = u->r->connection->log;
    if (ev->timedout) {
        ev->timedout = 0;
        if (u->state_machine == FC_UP_BODY) {
            log->action = "reading upstream";
            fc_log_error(FC_LOG_ERR, log, ETIMEDOUT, "upstream timed out");
            fc_http_upstream_body_fail(u);
            return;
        }
        log->action =
            ev->write ? "sending request to upstream" : "reading response header from upstream";
        fc_http_upstream_next(u, FC_HTTP_UPSTREAM_FT_TIMEOUT); /* logs it */
        return;
    }
    if (ev->write) {
        /* (a connecting peer's events go to up_connect_event) */
        if (!u->request_body_sent && u->send_cl)
            up_send(u);
        return;
    }
    if (u->state_machine == FC_UP_HEADER)
        fc_http_upstream_read_header(u);
    else if (u->state_machine == FC_UP_BODY)
        fc_http_upstream_body_event(u);
}

/* Client events while the upstream works: only a closed client matters. */
static void
up_check_broken(fc_http_request_t *r)
{
    fc_connection_t *c = r->connection;
    fc_http_upstream_t *u = r->upstream;
    if (u == NULL || u->finished)
        return;
    char buf[1];
    /*
     * The peer shut its side (EPOLLRDHUP, or the end was read with the
     * request: a TLS client's close_notify): gone, whatever bytes wait, as
     * nginx judges with rdhup.
     */
    ssize_t n = c->read->pending_eof || c->read->eof ? 0 : recv(c->fd, buf, 1, MSG_PEEK);
    if (n > 0)
        return; /* the next pipelined request, or tunnel bytes: they wait */
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        c->read->ready = 0;
        return;
    }
    int err = n < 0 ? errno : 0;
    c->read->eof = 1;
    if (n < 0)
        c->read->error = 1;
    r->keepalive = 0; /* whatever goes on, this connection ends with the request */
    if (u->conf->ignore_client_abort)
        return;
    if (u->background || u->cache_store) {
        /*
         * A background update, or a response being stored: nginx reads it to
         * the end for the cache. Nothing more goes to the client.
         */
        fc_log_error(FC_LOG_INFO, c->log, err,
                     "client prematurely closed connection, the response is still cached");
        u->client_gone = 1;
        u->background = 1;
        return;
    }
    fc_log_error(FC_LOG_INFO, c->log, err, "client prematurely closed connection");
    fc_http_upstream_finalize(u, FC_HTTP_CLIENT_CLOSED_REQUEST);
}

/* ---- retry and the end ------------------------------------------------------------ */

/* 1 if the method is not idempotent for proxy_next_upstream (POST, LOCK, PATCH). */
static int
up_non_idempotent(const fc_http_request_t *r)
{
    static const fc_str_t lock = fc_string("LOCK");
    return r->method == FC_HTTP_METHOD_POST || r->method == FC_HTTP_METHOD_PATCH ||
           fc_str_eq(&r->method_name, &lock);
}

static unsigned
up_ft_status(unsigned ft)
{
    switch (ft) {
    case FC_HTTP_UPSTREAM_FT_TIMEOUT:
        return FC_HTTP_GATEWAY_TIME_OUT;
    case FC_HTTP_UPSTREAM_FT_HTTP_500:
        return FC_HTTP_INTERNAL_SERVER_ERROR;
    case FC_HTTP_UPSTREAM_FT_HTTP_503:
        return FC_HTTP_SERVICE_UNAVAILABLE;
    case FC_HTTP_UPSTREAM_FT_HTTP_504:
        return FC_HTTP_GATEWAY_TIME_OUT;
    case FC_HTTP_UPSTREAM_FT_HTTP_403:
        return FC_HTTP_FORBIDDEN;
    case FC_HTTP_UPSTREAM_FT_HTTP_404:
        return FC_HTTP_NOT_FOUND;
    case FC_HTTP_UPSTREAM_FT_HTTP_429:
        return FC_HTTP_TOO_MANY_REQUESTS;
    default:
        return FC_HTTP_BAD_GATEWAY;
    }
}

/* Closes the try's connection without pooling it. */
static void
up_close_peer(fc_http_upstream_t *u)
{
    up_state_close(u);
    if (u->peer) {
        fc_close_connection(u->peer);
        u->peer = NULL;
    }
}

/* Reports the picked peer's outcome to the balancer, once. */
static void
up_pick_done(fc_http_upstream_t *u, fc_upstream_state_e state)
{
    if (u->pick.active)
        fc_upstream_pick_done(&u->pick, fc_current_msec(), state);
}

int
fc_http_upstream_may_retry(const fc_http_upstream_t *u, unsigned ft)
{
    unsigned mask = ft;
    if (u->request_sent && up_non_idempotent(u->r))
        mask |= FC_HTTP_UPSTREAM_FT_NON_IDEMPOTENT;
    fc_msec_t limit = u->conf->next_upstream_timeout;
    return (u->conf->next_upstream & mask) == mask && !u->nb_started &&
           (limit == 0 || fc_current_msec() - u->start_msec < limit);
}

/* No try is left: a stale cached entry (proxy_cache_use_stale) or the error. */
static void
up_give_up(fc_http_upstream_t *u, unsigned ft, unsigned status)
{
    const fc_http_upstream_cache_ops_t *cache = fc_http_upstream_cache(u);
    if (cache && cache->error(u, ft))
        return;
    fc_http_upstream_finalize(u, (int) status);
}

void
fc_http_upstream_next(fc_http_upstream_t *u, unsigned ft)
{
    unsigned status = up_ft_status(ft);
    if (u->state && (u->state->status == 0 || ft == FC_HTTP_UPSTREAM_FT_INVALID_HEADER))
        u->state->status = status;
    int allowed = fc_http_upstream_may_retry(u, ft);
    up_close_peer(u);
    if (u->cached && ft == FC_HTTP_UPSTREAM_FT_ERROR && !u->response_received && allowed) {
        /* A pooled connection the upstream had closed: a fresh one, not a new try. */
        u->skip_cache = 1;
        if (up_new_state(u, &u->pick.peer->addr.name) == NULL) {
            fc_http_upstream_finalize(u, FC_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
        up_connect_peer(u);
        return;
    }
    up_pick_done(u, ft == FC_HTTP_UPSTREAM_FT_HTTP_403 || ft == FC_HTTP_UPSTREAM_FT_HTTP_404
                        ? FC_UPSTREAM_PEER_NEXT
                        : FC_UPSTREAM_PEER_FAILED);
    /* As nginx: after the peer's "temporarily disabled" warning, if it gets one. */
    if (ft == FC_HTTP_UPSTREAM_FT_TIMEOUT)
        fc_log_error(FC_LOG_ERR, u->r->connection->log, ETIMEDOUT, "upstream timed out");
    if (u->pick.tries == 0 || !allowed) {
        up_give_up(u, ft, status);
        return;
    }
    up_connect(u);
}

void
fc_http_upstream_release_peer(fc_http_upstream_t *u, int keep)
{
    fc_connection_t *pc = u->peer;
    up_state_close(u);
    u->peer = NULL;
    /* The pool (or the close) takes the connection's timers and events off. */
    if (pc && keep && u->upstream && u->pick.active)
        fc_http_keepalive_put(u->upstream, fc_http_worker(u->r), &u->pick.peer->addr, pc,
                              u->peer_requests + 1, pc->start_msec);
    else if (pc)
        fc_close_connection(pc);
    up_pick_done(u, FC_UPSTREAM_PEER_OK);
}

void
fc_http_upstream_detach(fc_http_upstream_t *u)
{
    fc_http_request_t *r = u->r;
    u->finished = 1;
    u->state_machine = FC_UP_DONE;
    fc_http_upstream_release_peer(u, 0);
    const fc_http_upstream_cache_ops_t *cache = fc_http_upstream_cache(u);
    if (cache)
        cache->finish(u, 0); /* a complete body was finished before (up_body_end) */
    r->connection->log->action = r->header_sent ? "sending to client" : NULL;
    if (r->read_event_handler == up_check_broken)
        r->read_event_handler = fc_http_block_reading;
}

void
fc_http_upstream_finalize(fc_http_upstream_t *u, int rc)
{
    fc_http_request_t *r = u->r;
    if (u->finished)
        return;
    fc_http_upstream_detach(u);
    if (u->client_gone)
        rc = FC_HTTP_CLIENT_CLOSED_REQUEST; /* nothing left to flush: close, logged as 499 */
    else if (u->background)
        rc = FC_OK; /* the client's answer (a stale entry) was complete before the trip began */
    if (u->in_handler) {
        u->sync_rc = rc;
        return;
    }
    fc_http_finalize_request(r, rc == FC_DONE ? FC_OK : rc);
}
