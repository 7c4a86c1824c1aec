/*
 * request.c: an http connection from accept to close. It reads request
 * heads (growing its one buffer from client_header_buffer_size up to
 * large_client_header_buffers, never past a limit), turns them into
 * requests, runs their phases, and after each response either keeps the
 * connection alive (pipelined bytes are served at once), lingers, or closes.
 *
 * Reload without a failed request: a worker that drains keeps every
 * keep-alive connection until its next request, answers that request with
 * "Connection: close", and lets idle ones time out as usual. Closing an idle
 * connection at once would race a client that is sending right now.
 */
#include "http/http.h"
#include "http/request.h"
#include "http/http_conf.h"

#include <netinet/tcp.h>

static void http_wait_request_event(fc_event_t *ev);
static void http_request_read_event(fc_event_t *ev);
static void http_request_write_event(fc_event_t *ev);
static void http_read_head(fc_http_request_t *r);
static void http_writer(fc_http_request_t *r);
static void http_request_done(fc_http_request_t *r);
static void http_request_done_after_discard(fc_http_request_t *r);
static void http_buf_release(fc_buf_t *b);
static void http_set_keepalive(fc_http_connection_t *hc, fc_msec_t timeout);
static void http_lingering_close(fc_http_connection_t *hc, fc_msec_t time, fc_msec_t timeout);

/* ---- logging context -------------------------------------------------- */

size_t
fc_http_log_context(fc_log_t *log, char *buf, size_t len)
{
    fc_http_connection_t *hc = log->data;
    if (hc == NULL || len == 0)
        return 0;
    fc_connection_t *c = hc->connection;
    size_t n = fc_log_append(buf, len, 0, ", client: %s", c->addr_text.data);
    fc_http_request_t *r = hc->request;
    if (r == NULL) {
        return fc_log_append(buf, len, n, ", server: %s",
                               c->listening ? (const char *) c->listening->addr.name.data : "");
    }
    fc_http_core_srv_conf_t *cscf = fc_http_core_srv(r);
    n = fc_log_append(buf, len, n, ", server: %.*s", (int) cscf->server_name.len,
                        cscf->server_name.data);
    if (r->request_line.len)
        n = fc_log_append(buf, len, n, ", request: \"%.*s\"", (int) r->request_line.len,
                            r->request_line.data);
    const fc_str_t *up = r->log_upstream;
    if (up[1].len)
        n = fc_log_append(buf, len, n, ", upstream: \"%.*s%.*s%.*s\"", (int) up[0].len, up[0].data,
                          (int) up[1].len, up[1].data, (int) up[2].len, up[2].data);
    if (r->headers_in.host)
        n = fc_log_append(buf, len, n, ", host: \"%.*s\"", (int) r->headers_in.host->value.len,
                            r->headers_in.host->value.data);
    return n;
}

/* ---- the connection ----------------------------------------------------- */

static fc_worker_t *
http_conn_worker(fc_http_connection_t *hc)
{
    return fc_http_core_main(hc->default_server->ctx)->cycle->worker;
}

/* The head buffer goes back to the worker's stash (the next request takes it). */
static void
http_head_buf_release(fc_http_connection_t *hc)
{
    fc_buf_t *b = &hc->buf;
    size_t size = b->start ? (size_t) (b->end - b->start) : 0;
    if (size && size == hc->default_server->client_header_buffer_size)
        fc_worker_release_buffer(http_conn_worker(hc), b->start, size);
    else
        free(b->start); /* grown for a large head: the stash would never hand it out */
    b->start = b->pos = b->last = b->end = NULL;
}

static void
http_buf_free(void *data)
{
    fc_http_connection_t *hc = data;
    http_head_buf_release(hc);
    http_buf_release(&hc->discard);
}

fc_worker_t *
fc_http_worker(fc_http_request_t *r)
{
    return fc_http_core_main(r)->cycle->worker;
}

void
fc_http_init_connection(fc_connection_t *c)
{
    fc_http_connection_t *hc = fc_pcalloc(c->pool, sizeof(*hc));
    fc_pool_cleanup_t *cln = hc ? fc_pool_cleanup_add(c->pool, 0) : NULL;
    if (cln == NULL) {
        fc_close_connection(c);
        return;
    }
    cln->handler = http_buf_free;
    cln->data = hc;
    hc->connection = c;
    hc->addr_conf = c->listening->servers;
    hc->default_server = fc_http_addr_default_server(hc->addr_conf);
    hc->start_msec = fc_current_msec();
    c->data = hc;
    c->log->data = hc;
    c->log->handler = fc_http_log_context;
    fc_http_core_loc_conf_t *clcf = hc->default_server->ctx->loc_conf[fc_http_core_module.ctx_index];
    fc_log_use_destinations(c->log,
                            clcf->error_log); /* the default server's, until one is chosen */
    if (clcf->tcp_nodelay && c->sockaddr.ss_family != AF_UNIX) {
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    c->read->handler = http_wait_request_event;
    c->write->handler = http_request_write_event;
    if (fc_event_add_conn(c->loop, c) != FC_OK) {
        fc_close_connection(c);
        return;
    }
    if (fc_http_addr_ssl(hc->addr_conf)) {
        fc_http_ssl_init_connection(hc); /* the handshake first (ssl_conn.c) */
        return;
    }
    fc_http_wait_request(hc);
}

void
fc_http_wait_request(fc_http_connection_t *hc)
{
    fc_connection_t *c = hc->connection;
    c->log->action = "reading client request line";
    c->read->handler = http_wait_request_event;
    c->write->handler = http_request_write_event;
    fc_event_add_timer(c->loop, c->read, hc->default_server->client_header_timeout);
    if (c->read->ready)
        fc_event_post(c->loop, c->read); /* bytes may wait inside TLS already */
}

/* Reads into the head buffer; returns bytes read, 0 on EOF, FC_AGAIN or FC_ERROR. */
static ssize_t
http_recv(fc_http_connection_t *hc)
{
    fc_connection_t *c = hc->connection;
    fc_buf_t *b = &hc->buf;
    if (b->last == b->end)
        return FC_AGAIN; /* the caller grows the buffer first */
    ssize_t n = fc_conn_recv(c, b->last, (size_t) (b->end - b->last));
    if (n > 0) {
        b->last += n;
        c->received += (uint64_t) n;
    }
    return n;
}

/* Makes sure the head buffer exists; its data starts at its start. */
static int
http_buf_prepare(fc_http_connection_t *hc)
{
    fc_buf_t *b = &hc->buf;
    if (b->start == NULL) {
        size_t size = hc->default_server->client_header_buffer_size;
        b->start = fc_worker_buffer(http_conn_worker(hc), size);
        if (b->start == NULL)
            return FC_ERROR;
        b->pos = b->last = b->start;
        b->end = b->start + size;
        return FC_OK;
    }
    if (b->pos != b->start) {
        size_t n = (size_t) (b->last - b->pos);
        memmove(b->start, b->pos, n);
        b->pos = b->start;
        b->last = b->start + n;
    }
    return FC_OK;
}

/* Grows the head buffer to `size` bytes (offsets into it stay valid). */
static int
http_buf_grow(fc_http_connection_t *hc, size_t size)
{
    fc_buf_t *b = &hc->buf;
    size_t pos = (size_t) (b->pos - b->start), last = (size_t) (b->last - b->start);
    unsigned char *p = realloc(b->start, size);
    if (p == NULL)
        return FC_ERROR;
    b->start = p;
    b->pos = p + pos;
    b->last = p + last;
    b->end = p + size;
    return FC_OK;
}

static fc_http_request_t *
http_create_request(fc_http_connection_t *hc)
{
    fc_connection_t *c = hc->connection;
    fc_worker_t *w = http_conn_worker(hc);
    fc_pool_t *pool = fc_worker_request_pool(w, c->log);
    fc_http_request_impl_t *ri = pool ? fc_pcalloc(pool, sizeof(*ri)) : NULL;
    if (ri == NULL) {
        fc_worker_release_request_pool(w, pool);
        return NULL;
    }
    fc_http_request_t *r = &ri->r;
    fc_http_core_srv_conf_t *cscf = hc->default_server;
    r->pool = pool;
    r->connection = c;
    r->http_connection = hc;
    r->main_conf = cscf->ctx->main_conf;
    r->srv_conf = cscf->ctx->srv_conf;
    r->loc_conf = cscf->ctx->loc_conf;
    fc_http_core_main_conf_t *cmcf = fc_http_core_main(r);
    r->ctx = fc_pcalloc(pool, cmcf->nmodules * sizeof(void *));
    r->variables = fc_pcalloc(pool, (fc_var_count(&cmcf->vars) + 1) * sizeof(fc_var_value_t));
    if (r->ctx == NULL || r->variables == NULL ||
        fc_array_init(&r->headers_in.headers, pool, 16, sizeof(fc_http_field_t)) != FC_OK ||
        fc_array_init(&r->headers_out.headers, pool, 8, sizeof(fc_http_field_t)) != FC_OK) {
        fc_worker_release_request_pool(w, pool);
        return NULL;
    }
    r->headers_in.content_length_n = -1;
    r->headers_out.content_length_n = -1;
    r->headers_out.last_modified_time = -1;
    r->uri_changes = FC_HTTP_MAX_URI_CHANGES + 1;
    r->start_msec = fc_current_msec();
    r->schema.data = (unsigned char *) (c->tls ? "https" : "http");
    r->schema.len = c->tls ? 5 : 4;
    r->read_event_handler = http_read_head;
    r->write_event_handler = fc_http_block_reading;
    fc_http_parser_init(&ri->parser, 0);
    fc_http_framing_init(&ri->framing);
    hc->request = r;
    hc->requests++;
    r->pipeline = hc->pipelined;
    hc->pipelined = 0;
    c->read->handler = http_request_read_event;
    c->write->handler = http_request_write_event;
    return r;
}

/* Frees a request's memory; the connection lives on. */
static void
http_free_request(fc_http_request_t *r)
{
    fc_http_connection_t *hc = r->http_connection;
    if (r->request_body && r->request_body->temp_fd >= 0) {
        close(r->request_body->temp_fd);
        r->request_body->temp_fd = -1;
    }
    hc->request = NULL;
    fc_worker_release_request_pool(fc_http_worker(r), r->pool);
}

/* A new connection or an idle keep-alive one: wait for the first byte. */
static void
http_wait_request_event(fc_event_t *ev)
{
    fc_connection_t *c = ev->data;
    fc_http_connection_t *hc = c->data;
    if (ev->timedout) {
        fc_log_error(FC_LOG_INFO, c->log, ETIMEDOUT, "client timed out");
        fc_http_close_connection(hc);
        return;
    }
    c->idle = 0;
    if (http_buf_prepare(hc) != FC_OK) {
        fc_http_close_connection(hc);
        return;
    }
    if (hc->buf.last == hc->buf.pos) {
        ssize_t n = http_recv(hc);
        if (n == FC_AGAIN) {
            /* Nothing yet: an idle connection keeps no buffer. */
            if (hc->buf.last == hc->buf.start)
                http_head_buf_release(hc);
            if (hc->requests > 0)
                c->idle = 1;
            return;
        }
        if (n <= 0) {
            if (n == 0 && hc->requests) {
                c->log->handler = NULL; /* as nginx: the line alone, no "while keepalive" */
                c->log->action = NULL;
                fc_log_error(FC_LOG_INFO, c->log, 0, "client %s closed keepalive connection",
                             c->addr_text.data);
            }
            fc_http_close_connection(hc);
            return;
        }
    }
    /*
     * client_header_timeout starts now, but only a head that the first read
     * leaves incomplete arms it (http_read_head): most come whole, and the
     * timer would be deleted again at once.
     */
    fc_http_request_t *r = http_create_request(hc);
    if (r == NULL) {
        fc_http_close_connection(hc);
        return;
    }
    c->log->action = "reading client request line";
    http_read_head(r);
}

static void
http_request_read_event(fc_event_t *ev)
{
    fc_connection_t *c = ev->data;
    fc_http_connection_t *hc = c->data;
    if (hc->request)
        hc->request->read_event_handler(hc->request);
}

static void
http_request_write_event(fc_event_t *ev)
{
    fc_connection_t *c = ev->data;
    fc_http_connection_t *hc = c->data;
    if (hc->request)
        hc->request->write_event_handler(hc->request);
}

void
fc_http_block_reading(fc_http_request_t *r)
{
    (void) r;
}

static void
http_buf_release(fc_buf_t *b)
{
    free(b->start);
    b->start = b->pos = b->last = b->end = NULL;
}

/*
 * A request ends in a posted event, never inside the call that decides it:
 * handlers up the stack may still look at r (nginx keeps a reference count
 * for the same reason).
 */
static void http_request_end(fc_http_request_t *r);

static void
http_done_event(fc_event_t *ev)
{
    fc_http_connection_t *hc = ev->data;
    if (hc->request)
        http_request_end(hc->request);
}

static void
http_post_end(fc_http_request_t *r)
{
    fc_http_connection_t *hc = r->http_connection;
    fc_connection_t *c = r->connection;
    r->finalized = 1;
    r->read_event_handler = fc_http_block_reading;
    r->write_event_handler = fc_http_block_reading;
    hc->done_ev.data = hc;
    hc->done_ev.handler = http_done_event;
    hc->done_ev.log = c->log;
    fc_event_post(c->loop, &hc->done_ev);
}

/* Terminates a request that cannot go on: logs it with `status`, closes the connection. */
void
fc_http_terminate_request(fc_http_request_t *r, int status)
{
    fc_http_request_impl_t *ri = (fc_http_request_impl_t *) r;
    if (ri->terminated)
        return;
    ri->terminated = 1;
    ri->term_status = status;
    r->keepalive = 0;
    r->lingering_close = 0;
    http_post_end(r);
}

/* ---- reading the head ------------------------------------------------------ */

/* Room for more head bytes: grows the buffer, or says which limit was hit. */
static int
http_head_room(fc_http_request_impl_t *ri)
{
    fc_http_request_t *r = &ri->r;
    fc_http_connection_t *hc = r->http_connection;
    fc_http_core_srv_conf_t *cscf = hc->default_server;
    fc_buf_t *b = &hc->buf;
    size_t size = (size_t) (b->end - b->start), used = (size_t) (b->last - b->start);
    size_t large = cscf->large_client_header_buffers_size;
    /*
     * As nginx: lines that fit stay in the client_header_buffer_size buffer and
     * the large buffers take the rest, so a head may be as large as all of them.
     */
    size_t max = cscf->client_header_buffer_size + large * cscf->large_client_header_buffers_num;
    if (used < size)
        return FC_OK;
    if (ri->state == 0) {
        /* The request line must fit in one large buffer. */
        if (used >= large) {
            fc_log_error(FC_LOG_INFO, r->connection->log, 0, "client sent too long URI");
            return FC_HTTP_REQUEST_URI_TOO_LARGE;
        }
    } else if (used - ri->line_start >= large || size >= max) {
        fc_log_error(FC_LOG_INFO, r->connection->log, 0, "client sent too long header line");
        return FC_HTTP_REQUEST_HEADER_TOO_LARGE;
    }
    size_t want = size < large ? large : size + large;
    if (want > max)
        want = max;
    if (ri->state == 0 && want < large)
        want = large;
    return http_buf_grow(hc, want) == FC_OK ? FC_OK : FC_ERROR;
}

/*
 * client_header_timeout from the head's first byte, armed once (later reads
 * do not rearm it): when a head waits for more bytes, or when a bad head is
 * answered, so that a blocked error response is not timed by what the
 * connection ran before (the keep-alive or accept-time timer).
 */
static void
http_head_timer(fc_http_request_impl_t *ri)
{
    fc_http_connection_t *hc = ri->r.http_connection;
    if (ri->head_timer)
        return;
    ri->head_timer = 1;
    fc_event_add_timer(hc->connection->loop, hc->connection->read,
                       hc->default_server->client_header_timeout);
}

static void
http_read_head(fc_http_request_t *r)
{
    fc_http_request_impl_t *ri = (fc_http_request_impl_t *) r;
    fc_http_connection_t *hc = r->http_connection;
    fc_connection_t *c = r->connection;
    if (c->read->timedout) {
        fc_log_error(FC_LOG_INFO, c->log, ETIMEDOUT, "client timed out");
        fc_http_head_partial(ri);
        fc_http_terminate_request(r, FC_HTTP_REQUEST_TIME_OUT);
        return;
    }
    for (;;) {
        int rc = fc_http_head_parse(ri);
        if (rc == FC_DONE) {
            fc_http_process_request(r);
            return;
        }
        if (rc != FC_AGAIN) {
            fc_http_head_partial(ri); /* logged as nginx does: the line, then 400 */
            http_head_timer(ri);
            fc_http_finalize_request(r, rc);
            return;
        }
        rc = http_head_room(ri);
        if (rc != FC_OK) {
            fc_http_head_partial(ri);
            http_head_timer(ri);
            if (rc == FC_ERROR)
                fc_http_terminate_request(r, FC_HTTP_INTERNAL_SERVER_ERROR);
            else
                fc_http_finalize_request(r, rc);
            return;
        }
        ssize_t n = http_recv(hc);
        if (n == FC_AGAIN) {
            http_head_timer(ri);
            return;
        }
        if (n <= 0) {
            if (n == 0)
                fc_log_error(FC_LOG_INFO, c->log, 0, "client prematurely closed connection");
            fc_http_head_partial(ri);
            fc_http_terminate_request(r, FC_HTTP_BAD_REQUEST);
            return;
        }
    }
}

/* ---- after the response --------------------------------------------------------- */

static void
http_writer(fc_http_request_t *r)
{
    fc_connection_t *c = r->connection;
    if (c->write->timedout) {
        fc_log_error(FC_LOG_INFO, c->log, ETIMEDOUT, "client timed out");
        fc_http_terminate_request(r, FC_HTTP_REQUEST_TIME_OUT);
        return;
    }
    int rc = fc_http_output_filter(r, NULL);
    if (rc == FC_ERROR) {
        fc_http_terminate_request(r, 0);
        return;
    }
    if (rc == FC_AGAIN)
        return;
    if (c->write->timer_set)
        fc_event_del_timer(c->loop, c->write);
    http_request_done(r);
}

void
fc_http_finalize_request(fc_http_request_t *r, int rc)
{
    if (rc == FC_AGAIN || rc == FC_DONE || r->finalized)
        return;
    fc_connection_t *c = r->connection;
    if (rc == FC_ERROR || rc == FC_HTTP_CLOSE || rc == FC_HTTP_CLIENT_CLOSED_REQUEST ||
        (rc >= 100 && r->header_sent && !r->upgraded) ||
        (rc == FC_HTTP_REQUEST_TIME_OUT && c->read->timedout)) {
        int status = rc == FC_ERROR ? (r->header_sent ? 0 : FC_HTTP_INTERNAL_SERVER_ERROR) : rc;
        fc_http_terminate_request(r, status);
        return;
    }
    if (rc >= 100 && rc < 600) {
        fc_http_finalize_request(r, fc_http_special_response(r, rc));
        return;
    }
    /* FC_OK: the handler produced its response. */
    if (r->upgraded) {
        fc_http_terminate_request(r, FC_HTTP_SWITCHING_PROTOCOLS);
        return;
    }
    if (!r->done && !r->header_sent) {
        /* Nothing was sent (a handler that only declined): nginx answers 404. */
        fc_http_finalize_request(r, FC_HTTP_NOT_FOUND);
        return;
    }
    if (r->out) {
        r->write_event_handler = http_writer;
        fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
        if (!c->write->timer_set)
            fc_event_add_timer(c->loop, c->write, clcf->send_timeout);
        return;
    }
    http_request_done(r);
}

/* The response is out: drop what is left of the body, then end in a posted event. */
static void
http_request_done(fc_http_request_t *r)
{
    if (!r->done && !r->header_only) {
        /* The body did not end properly (a handler gave up): the client must not wait. */
        r->keepalive = 0;
    }
    int body = fc_http_body_pending(r);
    if (body == FC_AGAIN && r->keepalive) {
        r->finalized = 1;
        fc_http_discard_then(r, http_request_done_after_discard);
        return;
    }
    if (body != FC_OK)
        r->keepalive = 0;
    http_post_end(r);
}

/* Log, then keep-alive, linger or close. */
static void
http_request_end(fc_http_request_t *r)
{
    fc_http_request_impl_t *ri = (fc_http_request_impl_t *) r;
    fc_http_connection_t *hc = r->http_connection;
    fc_connection_t *c = r->connection;
    if (c->read->timer_set)
        fc_event_del_timer(c->loop, c->read);
    if (c->write->timer_set)
        fc_event_del_timer(c->loop, c->write);
    if (ri->terminated) {
        if (r->headers_out.status == 0 || !r->header_sent)
            r->headers_out.status = (unsigned) ri->term_status;
        if (ri->term_status == FC_HTTP_REQUEST_TIME_OUT &&
            fc_http_core_loc(r)->reset_timedout_connection) {
            /* reset_timedout_connection: RST instead of FIN, the socket's memory goes at once. */
            struct linger lg = {1, 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
        fc_http_log_request(r);
        http_free_request(r);
        fc_http_close_connection(hc);
        return;
    }
    fc_http_log_request(r);
    int body = fc_http_body_pending(r);
    int keepalive = r->keepalive && body == FC_OK && !c->read->eof && !c->read->error;
    int linger = !keepalive && (body != FC_OK || r->lingering_close);
    fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
    fc_msec_t ka_timeout = clcf->keepalive_timeout;
    fc_msec_t linger_time = clcf->lingering_time, linger_timeout = clcf->lingering_timeout;
    if (clcf->lingering_close == 0)
        linger = 0;
    else if (clcf->lingering_close == 2)
        linger = !keepalive;
    http_free_request(r);
    if (keepalive)
        http_set_keepalive(hc, ka_timeout);
    else if (linger)
        http_lingering_close(hc, linger_time, linger_timeout);
    else
        fc_http_close_connection(hc);
}

static void
http_request_done_after_discard(fc_http_request_t *r)
{
    r->finalized = 0;
    http_request_done(r);
}

static void
http_set_keepalive(fc_http_connection_t *hc, fc_msec_t timeout)
{
    fc_connection_t *c = hc->connection;
    c->log->action = "keepalive";
    c->read->handler = http_wait_request_event;
    c->write->handler = http_request_write_event;
    if (hc->buf.start && hc->buf.pos < hc->buf.last) {
        /* Pipelined: the next request is already here. Serve it after this turn. */
        hc->pipelined = 1;
        fc_event_post(c->loop, c->read);
        return;
    }
    http_head_buf_release(hc);
    http_buf_release(&hc->discard);
    c->idle = 1;
    fc_event_add_timer(c->loop, c->read, timeout);
    if (c->read->ready || c->read->pending_eof)
        fc_event_post(c->loop, c->read);
}

/* ---- lingering close ------------------------------------------------------------- */

static void
http_lingering_event(fc_event_t *ev)
{
    fc_connection_t *c = ev->data;
    fc_http_connection_t *hc = c->data;
    if (ev->timedout || fc_current_msec() >= hc->linger_deadline) {
        fc_http_close_connection(hc);
        return;
    }
    unsigned char scratch[4096];
    for (;;) {
        ssize_t n = fc_conn_recv(c, scratch, sizeof(scratch));
        if (n > 0)
            continue;
        if (n == FC_AGAIN) {
            c->read->ready = 0;
            fc_msec_t left = hc->linger_deadline - fc_current_msec();
            fc_event_add_timer(c->loop, c->read, fc_min(left, hc->linger_timeout));
            return;
        }
        fc_http_close_connection(hc); /* EOF or error: nothing more is coming */
        return;
    }
}

static void
http_lingering_close(fc_http_connection_t *hc, fc_msec_t time, fc_msec_t timeout)
{
    fc_connection_t *c = hc->connection;
    c->log->action = "lingering close";
    if (fc_conn_shutdown_write(c) != FC_OK) {
        fc_http_close_connection(hc);
        return;
    }
    hc->linger_deadline = fc_current_msec() + time;
    hc->linger_timeout = timeout;
    c->read->handler = http_lingering_event;
    c->write->handler = http_request_write_event;
    fc_event_add_timer(c->loop, c->read, timeout);
    if (c->read->ready)
        http_lingering_event(c->read);
}

void
fc_http_close_connection(fc_http_connection_t *hc)
{
    fc_connection_t *c = hc->connection;
    fc_event_unpost(c->loop, &hc->done_ev);
    c->log->handler = NULL;
    c->log->data = NULL;
    fc_close_connection(c);
}

fc_str_t
fc_http_request_preread(fc_http_request_t *r)
{
    fc_buf_t *b = &r->http_connection->buf;
    fc_str_t s = {0, NULL};
    if (b->start && b->pos < b->last) {
        s.data = b->pos;
        s.len = (size_t) (b->last - b->pos);
    }
    return s;
}
