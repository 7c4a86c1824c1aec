/*
 * upstream_response.c: the generic HTTP upstream engine, second half: the
 * response. The head is read into one proxy_buffer_size buffer and parsed by
 * the protocol's process_header; then proxy_next_upstream by status,
 * proxy_intercept_errors, 101 and the tunnel, or the fields are copied to
 * r->headers_out (hop-by-hop and hidden ones left out) and the body is
 * relayed.
 *
 * The body relay is a ring of buffers (proxy_buffers with buffering on, a
 * single proxy_buffer_size one with it off). Each read fills a free buffer,
 * the protocol's input_filter decodes it in place (framing removed), and the
 * decoded buffers go down the output filter chain in order. A buffer is free
 * again once the write filter moved its pos to last. While the client is
 * slow, reading goes on as long as a buffer is free; then the upstream waits
 * (no read timeout runs meanwhile: the client's send_timeout does). The body
 * bytes that came with the head are sent first, from the head buffer.
 */
#include "http/upstream_engine.h"

enum { UP_PRE_NONE = 0, UP_PRE_READY, UP_PRE_BUSY };

struct fc_http_upstream_body_s {
    fc_buf_t *slots;   /* nslots buffers; memory allocated on first use */
    fc_chain_t *links; /* one link per slot, for handing it down */
    size_t nslots;
    size_t size;   /* bytes per slot */
    size_t head;   /* the oldest slot handed down and not yet sent */
    size_t nbusy;  /* handed down, bytes still on their way */
    size_t nready; /* decoded, waiting to be handed down */
    fc_buf_t pre;  /* body bytes that came with the head (in the head buffer) */
    fc_chain_t pre_link;
    unsigned pre_state;     /* UP_PRE_* */
    unsigned filling : 1;   /* the slot after the ready ones is being filled */
    unsigned blocked : 1;   /* the client socket is full: output waits for the write event */
    unsigned last_sent : 1; /* the end of the body went down */
};

static void up_downstream_write(fc_http_request_t *r);
static void up_process_headers(fc_http_upstream_t *u);
static int up_downstream(fc_http_upstream_t *u);

/* ---- the response head --------------------------------------------------------------- */

void
fc_http_upstream_read_header(fc_http_upstream_t *u)
{
    fc_connection_t *pc = u->peer;
    fc_log_t *log = u->r->connection->log;
    fc_buf_t *b = u->buffer;
    if (u->request_body_sent)
        log->action = "reading response header from upstream";
    for (;;) {
        ssize_t n = fc_conn_recv(pc, b->last, (size_t) (b->end - b->last));
        if (n == FC_AGAIN) {
            if (u->request_body_sent && !pc->read->timer_set)
                fc_event_add_timer(pc->loop, pc->read, u->conf->read_timeout);
            return;
        }
        if (n < 0) {
            fc_http_upstream_next(u, FC_HTTP_UPSTREAM_FT_ERROR);
            return;
        }
        if (n == 0) {
            pc->read->eof = 1;
            fc_log_error(FC_LOG_ERR, log, 0, "upstream prematurely closed connection");
            fc_http_upstream_next(u, FC_HTTP_UPSTREAM_FT_ERROR);
            return;
        }
        b->last += n;
        u->state->bytes_received += (uint64_t) n;
        u->response_received = 1;
        int rc = u->ops->process_header(u);
        if (rc == FC_AGAIN) {
            if (b->last == b->end) {
                fc_log_error(FC_LOG_ERR, log, 0, "upstream sent too big header");
                fc_http_upstream_next(u, FC_HTTP_UPSTREAM_FT_INVALID_HEADER);
                return;
            }
            if (!pc->read->ready && !pc->read->pending_eof) {
                if (u->request_body_sent && !pc->read->timer_set)
                    fc_event_add_timer(pc->loop, pc->read, u->conf->read_timeout);
                return;
            }
            continue;
        }
        if (rc == FC_HTTP_UPSTREAM_INVALID_HEADER) {
            fc_http_upstream_next(u, FC_HTTP_UPSTREAM_FT_INVALID_HEADER);
            return;
        }
        if (rc != FC_OK) {
            fc_http_upstream_finalize(u, FC_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
        break;
    }
    fc_event_del_timer(pc->loop, pc->read);
    u->state->header_time = fc_current_msec() - u->try_msec;
    u->state->status = u->headers_in.status_n;
    u->state->head_length =
        u->state->bytes_received - (uint64_t) (u->buffer->last - u->buffer->pos);
    up_process_headers(u);
}

/* proxy_next_upstream by status: 1 if another try was started (or the trip ended). */
static int
up_test_next(fc_http_upstream_t *u)
{
    static const struct {
        unsigned status;
        unsigned ft;
    } map[] = {
        {500, FC_HTTP_UPSTREAM_FT_HTTP_500}, {502, FC_HTTP_UPSTREAM_FT_HTTP_502},
        {503, FC_HTTP_UPSTREAM_FT_HTTP_503}, {504, FC_HTTP_UPSTREAM_FT_HTTP_504},
        {403, FC_HTTP_UPSTREAM_FT_HTTP_403}, {404, FC_HTTP_UPSTREAM_FT_HTTP_404},
        {429, FC_HTTP_UPSTREAM_FT_HTTP_429},
    };
    for (size_t i = 0; i < fc_nelems(map); i++) {
        if (map[i].status != u->headers_in.status_n)
            continue;
        if (u->pick.tries == 0 || !fc_http_upstream_may_retry(u, map[i].ft)) {
            /* The response goes to the client as it is, unless a stale entry may answer. */
            const fc_http_upstream_cache_ops_t *cache = fc_http_upstream_cache(u);
            return cache && cache->error(u, map[i].ft);
        }
        /* As nginx: a response passed over has no body ($upstream_response_length 0). */
        u->state->head_length = u->state->bytes_received;
        fc_http_upstream_next(u, map[i].ft);
        return 1;
    }
    return 0;
}

static int
up_name_is(const fc_http_field_t *f, const char *name, size_t len)
{
    return f->name.len == len && fc_strn_caseeq(f->name.data, (const unsigned char *) name, len);
}

/* proxy_intercept_errors: a status with an error_page is answered by it. */
static int
up_intercept(fc_http_upstream_t *u)
{
    fc_http_request_t *r = u->r;
    unsigned status = u->headers_in.status_n;
    fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
    if (!u->conf->intercept_errors || status < 300 || clcf->error_pages == NULL)
        return 0;
    fc_http_err_page_t *ep = clcf->error_pages->elts;
    for (size_t i = 0; i < clcf->error_pages->nelts; i++) {
        if ((unsigned) ep[i].status != status)
            continue;
        if (status == 401) {
            /* The challenge goes with the page, as nginx does. */
            fc_http_field_t *f = u->headers_in.headers.elts;
            for (size_t j = 0; j < u->headers_in.headers.nelts; j++)
                if (f[j].hash && up_name_is(&f[j], "www-authenticate", 16))
                    fc_http_add_header_out(r, (const char *) f[j].name.data, f[j].name.len,
                                           f[j].value.data, f[j].value.len);
        }
        fc_http_upstream_finalize(u, (int) status);
        return 1;
    }
    return 0;
}

/* ---- copying the head to the client's response ---------------------------------------- */

/*
 * The upstream connection's own fields never reach the client: its
 * Connection and Keep-Alive, and the framing (ours is made anew). As nginx,
 * the others pass: Upgrade (an h2c offer, say), TE, Trailer and
 * Proxy-Connection.
 */
static int
up_hop_by_hop(const fc_http_field_t *f)
{
    switch (f->name.len) {
    case 10:
        return up_name_is(f, "connection", 10) || up_name_is(f, "keep-alive", 10);
    case 14:
        return up_name_is(f, "content-length", 14);
    case 17:
        return up_name_is(f, "transfer-encoding", 17);
    default:
        return 0;
    }
}

static int
up_hidden(const fc_http_upstream_t *u, const fc_http_field_t *f)
{
    const fc_array_t *a = u->conf->hide_headers;
    if (a == NULL)
        return 0;
    const fc_http_upstream_hide_t *h = a->elts;
    for (size_t i = 0; i < a->nelts; i++)
        if (h[i].hash == f->hash && h[i].name.len == f->name.len &&
            fc_strncasecmp(h[i].name.data, f->name.data, f->name.len) == 0)
            return 1;
    return 0;
}

/*
 * An upstream field now in headers_out: Location, Server and Date get their
 * shortcuts (fc_http_add_header_out() keeps them right when the array
 * moves); proxy_redirect rewrites Location and the URL of a Refresh.
 *
 * As nginx, a Location becomes headers_out.location (which the header
 * writer makes absolute when it starts with "/") only when proxy_redirect
 * rewrote it or it is not relative: a relative redirect the upstream sent
 * goes out as it came.
 */
static int
up_field_out(fc_http_upstream_t *u, fc_http_field_t *o)
{
    fc_http_headers_out_t *ho = &u->r->headers_out;
    size_t url = 0;
    if (up_name_is(o, "location", 8)) {
        int rc = u->ops->rewrite_redirect ? u->ops->rewrite_redirect(u, o, 0) : FC_DECLINED;
        if (rc == FC_ERROR)
            return FC_ERROR;
        if (rc == FC_OK || (o->value.len && o->value.data[0] != '/'))
            ho->location = o;
        return FC_OK;
    } else if (up_name_is(o, "refresh", 7)) {
        while (url + 4 <= o->value.len &&
               fc_strncasecmp(o->value.data + url, (const unsigned char *) "url=", 4) != 0)
            url++;
        if (url + 4 > o->value.len)
            return FC_OK;
        url += 4;
    } else if (up_name_is(o, "set-cookie", 10)) {
        return u->ops->rewrite_cookie ? u->ops->rewrite_cookie(u, o) : FC_OK;
    } else {
        if (up_name_is(o, "server", 6))
            ho->server = o;
        else if (up_name_is(o, "date", 4))
            ho->date = o;
        else if (up_name_is(o, "etag", 4))
            ho->etag = o;
        return FC_OK;
    }
    if (u->ops->rewrite_redirect && u->ops->rewrite_redirect(u, o, url) == FC_ERROR)
        return FC_ERROR;
    return FC_OK;
}

/* Status and fields to r->headers_out (hop-by-hop and hidden ones left out). */
static int
up_copy_headers(fc_http_upstream_t *u)
{
    fc_http_request_t *r = u->r;
    fc_http_headers_out_t *ho = &r->headers_out;
    fc_http_upstream_headers_in_t *h = &u->headers_in;
    fc_http_field_t *in = h->headers.elts;
    ho->status = h->status_n;
    ho->status_line = h->status_line;
    ho->content_length_n = -1;
    if (ho->headers.nelts == 0 && fc_array_init(&ho->headers, r->pool, h->headers.nelts + 8,
                                                sizeof(fc_http_field_t)) != FC_OK)
        return FC_ERROR;
    for (size_t i = 0; i < h->headers.nelts; i++) {
        fc_http_field_t *f = &in[i];
        if (f->hash == 0 || up_hop_by_hop(f) || up_hidden(u, f))
            continue;
        if (up_name_is(f, "content-type", 12)) {
            ho->content_type = f->value;
            continue;
        }
        fc_http_field_t *o = fc_http_add_header_out(r, (const char *) f->name.data, f->name.len,
                                                    f->value.data, f->value.len);
        if (o == NULL || up_field_out(u, o) != FC_OK)
            return FC_ERROR;
    }
    return FC_OK;
}

/* 101 to a request that asked for it: send the head, then the two sides become a tunnel. */
static void
up_upgrade(fc_http_upstream_t *u)
{
    fc_http_request_t *r = u->r;
    if (up_copy_headers(u) != FC_OK) {
        fc_http_upstream_finalize(u, FC_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    if (fc_http_send_header(r) == FC_ERROR) {
        fc_http_upstream_finalize(u, FC_ERROR);
        return;
    }
    /* The connection goes to the tunnel; the try ends here for the balancer. */
    fc_connection_t *pc = u->peer;
    fc_buf_t *b = u->buffer;
    fc_str_t upstream_pre = {(size_t) (b->last - b->pos), b->pos};
    fc_event_del_timer(pc->loop, pc->read);
    fc_event_del_timer(pc->loop, pc->write);
    u->peer = NULL;
    fc_http_upstream_release_peer(u, 0);
    u->finished = 1;
    u->state_machine = FC_UP_DONE;
    fc_http_tunnel_start(r, pc, fc_http_request_preread(r), upstream_pre, u->conf->read_timeout,
                         u->conf->buffer_size);
}

static int up_body_init(fc_http_upstream_t *u);

/* The value of a field the protocol noted (1 + its index), or NULL. */
static const fc_str_t *
up_noted_value(fc_http_upstream_t *u, unsigned noted)
{
    if (noted == 0 || noted > u->headers_in.headers.nelts)
        return NULL;
    fc_http_field_t *f = fc_array_at(&u->headers_in.headers, fc_http_field_t, noted - 1);
    return f->hash ? &f->value : NULL;
}

/* nginx's unsafe URI for X-Accel-Redirect: not absolute, a NUL, or a ".." segment. */
static int
up_uri_unsafe(const fc_str_t *uri)
{
    if (uri->len == 0 || uri->data[0] != '/' || memchr(uri->data, '\0', uri->len))
        return 1;
    for (size_t i = 0; i + 3 <= uri->len; i++) {
        if (uri->data[i] == '/' && uri->data[i + 1] == '.' && uri->data[i + 2] == '.' &&
            (i + 3 == uri->len || uri->data[i + 3] == '/'))
            return 1;
    }
    return 0;
}

/*
 * X-Accel-Redirect, as nginx: the upstream's answer is dropped (the
 * connection is closed, as nginx does) and the request goes on, as a GET
 * (HEAD stays HEAD), at the URI or named location the field gives. Only
 * Set-Cookie, Content-Disposition, Cache-Control and Expires are kept for
 * the final response. A URI with "..", a NUL or not starting with "/" is 404.
 */
static int
up_accel_redirect(fc_http_upstream_t *u)
{
    fc_http_request_t *r = u->r;
    if ((u->conf->ignore_headers & FC_HTTP_UPSTREAM_IGN_X_ACCEL_REDIRECT) || u->in_handler)
        return 0;
    const fc_str_t *v = up_noted_value(u, u->headers_in.x_accel_redirect);
    if (v == NULL || v->len == 0)
        return 0;
    /* The head buffer is in the request's pool: its strings outlive this trip. */
    fc_str_t target = *v;
    fc_http_field_t *f = u->headers_in.headers.elts;
    for (size_t i = 0; i < u->headers_in.headers.nelts; i++) {
        if (f[i].hash &&
            (up_name_is(&f[i], "set-cookie", 10) || up_name_is(&f[i], "content-disposition", 19) ||
             up_name_is(&f[i], "cache-control", 13) || up_name_is(&f[i], "expires", 7)) &&
            fc_http_add_header_out(r, (const char *) f[i].name.data, f[i].name.len, f[i].value.data,
                                   f[i].value.len) == NULL) {
            fc_http_upstream_finalize(u, FC_HTTP_INTERNAL_SERVER_ERROR);
            return 1;
        }
    }
    fc_http_upstream_detach(u);
    if (r->method != FC_HTTP_METHOD_HEAD) {
        r->method = FC_HTTP_METHOD_GET;
        fc_str_set(&r->method_name, "GET");
    }
    int rc;
    if (target.data[0] == '@') {
        rc = fc_http_named_location(r, &target);
    } else {
        fc_str_t uri = target, args = {0, NULL};
        unsigned char *q = memchr(target.data, '?', target.len);
        if (q) {
            uri.len = (size_t) (q - target.data);
            args.data = q + 1;
            args.len = target.len - uri.len - 1;
        }
        rc = up_uri_unsafe(&uri) ? FC_HTTP_NOT_FOUND
                                 : fc_http_internal_redirect(r, &uri, q ? &args : NULL);
    }
    fc_http_finalize_request(r, rc);
    return 1;
}

/* X-Accel-Buffering: yes|no turns proxy_buffering on or off for this response. */
static void
up_accel_buffering(fc_http_upstream_t *u)
{
    u->buffering = u->conf->buffering ? 1 : 0;
    if (u->conf->ignore_headers & FC_HTTP_UPSTREAM_IGN_X_ACCEL_BUFFERING)
        return;
    const fc_str_t *v = up_noted_value(u, u->headers_in.x_accel_buffering);
    if (v && v->len == 3 && fc_strn_caseeq(v->data, (const unsigned char *) "yes", 3))
        u->buffering = 1;
    else if (v && v->len == 2 && fc_strn_caseeq(v->data, (const unsigned char *) "no", 2))
        u->buffering = 0;
}

static void
up_process_headers(fc_http_upstream_t *u)
{
    fc_http_request_t *r = u->r;
    unsigned status = u->headers_in.status_n;
    const fc_http_upstream_cache_ops_t *cache = fc_http_upstream_cache(u);
    if (cache && cache->header(u) == FC_DONE)
        return; /* a 304 revalidated the cached entry, which answers */
    if (up_test_next(u) || up_intercept(u) || up_accel_redirect(u))
        return;
    if (status == FC_HTTP_SWITCHING_PROTOCOLS) {
        if (!u->upgrade_allowed) {
            fc_log_error(FC_LOG_ERR, r->connection->log, 0,
                         "upstream sent 101 to a request without Upgrade");
            fc_http_upstream_next(u, FC_HTTP_UPSTREAM_FT_INVALID_HEADER);
            return;
        }
        up_upgrade(u);
        return;
    }
    u->keepalive = !u->headers_in.connection_close;
    up_accel_buffering(u);
    r->connection->log->action = "reading upstream";
    if (u->background) {
        /* The client has its answer: the new head is only for the cache to store. */
        fc_http_clear_headers_out(r);
        r->headers_out.content_type.len = 0;
        r->headers_out.last_modified_time = -1;
    }
    if (up_copy_headers(u) != FC_OK || (cache && cache->store(u) != FC_OK) ||
        u->ops->input_filter_init(u) != FC_OK || up_body_init(u) != FC_OK) {
        fc_http_upstream_finalize(u, FC_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
    u->state_machine = FC_UP_BODY;
    if (u->background) {
        fc_http_upstream_body_event(u);
        return;
    }
    r->write_event_handler = up_downstream_write;
    if (fc_http_send_header(r) == FC_ERROR) {
        fc_http_upstream_finalize(u, FC_ERROR);
        return;
    }
    fc_http_upstream_body_event(u); /* r->header_only: it drops the upstream's body */
}

/* ---- the body ------------------------------------------------------------------------- */

static fc_buf_t *
up_slot(fc_http_upstream_body_t *body, size_t i)
{
    return &body->slots[i % body->nslots];
}

/* Ends the upstream's part once its body was read: pool the connection if it may be reused. */
static void
up_body_complete(fc_http_upstream_t *u)
{
    fc_http_upstream_body_t *body = u->body;
    u->body_done = 1;
    if (body && body->filling) {
        body->filling = 0;
        body->nready++;
    }
    int keep = u->keepalive && u->request_body_sent && u->extra == 0;
    if (u->extra)
        fc_log_error(FC_LOG_WARN, u->r->connection->log, 0,
                     "upstream sent more data than specified in \"Content-Length\" header");
    fc_http_upstream_release_peer(u, keep);
}

static int
up_body_init(fc_http_upstream_t *u)
{
    fc_http_request_t *r = u->r;
    const fc_http_upstream_conf_t *conf = u->conf;
    size_t n = u->buffering ? conf->bufs_num : 1;
    /* One allocation: the state, then its slots and their links. */
    fc_http_upstream_body_t *body =
        fc_pcalloc(r->pool, sizeof(*body) + n * (sizeof(fc_buf_t) + sizeof(fc_chain_t)));
    if (body == NULL)
        return FC_ERROR;
    u->body = body;
    body->nslots = n;
    body->size = u->buffering ? conf->bufs_size : conf->buffer_size;
    body->slots = (fc_buf_t *) (body + 1);
    body->links = (fc_chain_t *) (body->slots + n);
    fc_buf_t *b = u->buffer;
    if (u->length == 0) {
        u->extra = (size_t) (b->last - b->pos);
        up_body_complete(u);
        return FC_OK;
    }
    if (b->pos < b->last) {
        body->pre.start = body->pre.pos = b->pos;
        body->pre.end = body->pre.last = b->last;
        body->pre_link.buf = &body->pre;
        int rc = u->ops->input_filter(u, &body->pre, body->pre.pos);
        if (rc == FC_ERROR)
            return FC_ERROR;
        if (body->pre.pos < body->pre.last)
            body->pre_state = UP_PRE_READY;
        if (rc == FC_DONE)
            up_body_complete(u);
    }
    return FC_OK;
}

/* Slots whose bytes the write filter has sent are free again. */
static void
up_reclaim(fc_http_upstream_body_t *body)
{
    if (body->pre_state == UP_PRE_BUSY && body->pre.pos == body->pre.last)
        body->pre_state = UP_PRE_NONE;
    while (body->nbusy > 0) {
        fc_buf_t *b = up_slot(body, body->head);
        if (b->pos != b->last)
            break;
        body->head = (body->head + 1) % body->nslots;
        body->nbusy--;
    }
}

/*
 * Each read goes out at once: with buffering off, and, as nginx's event
 * pipe does even with buffering on, for a chunked body once its chunk is
 * complete (streamed output is passed on chunk by chunk, not held back).
 */
static int
up_streams_reads(const fc_http_upstream_t *u)
{
    return !u->buffering || u->headers_in.framing == FC_HTTP_BODY_CHUNKED;
}

/*
 * Hands decoded buffers down the output chain, oldest first, at most
 * proxy_busy_buffers_size bytes at a time (at least one buffer). FC_OK,
 * FC_AGAIN (the client socket is full) or FC_ERROR.
 */
static int
up_hand_down(fc_http_upstream_t *u)
{
    fc_http_upstream_body_t *body = u->body;
    int flush = up_streams_reads(u);
    size_t bytes = 0;
    fc_chain_t *out = NULL, **ll = &out;
    if (body->pre_state == UP_PRE_READY) {
        body->pre.flush = (unsigned) flush;
        body->pre_link.next = NULL;
        *ll = &body->pre_link;
        ll = &body->pre_link.next;
        body->pre_state = UP_PRE_BUSY;
        bytes = (size_t) (body->pre.last - body->pre.pos);
    }
    while (body->nready > 0 && (out == NULL || bytes < u->conf->busy_buffers_size)) {
        size_t i = (body->head + body->nbusy) % body->nslots;
        fc_chain_t *cl = &body->links[i];
        cl->buf = &body->slots[i];
        cl->buf->flush = (unsigned) flush;
        cl->next = NULL;
        *ll = cl;
        ll = &cl->next;
        bytes += (size_t) (cl->buf->last - cl->buf->pos);
        body->nbusy++;
        body->nready--;
    }
    if (out == NULL)
        return FC_OK;
    if (u->cache_store) {
        /* Every decoded byte goes down exactly once, from here: the cache copies it now. */
        const fc_http_upstream_cache_ops_t *cache = fc_http_upstream_cache(u);
        for (fc_chain_t *cl = out; cl && u->cache_store; cl = cl->next)
            if (cache->body(u, cl->buf) != FC_OK)
                u->cache_store = 0; /* the entry is dropped; the client still gets the body */
    }
    if (u->background) {
        for (fc_chain_t *cl = out; cl; cl = cl->next)
            cl->buf->pos = cl->buf->last; /* the cache had them: nobody else wants them */
        return FC_OK;
    }
    return fc_http_output_filter(u->r, out);
}

/* Flushes what the client socket did not take, then hands down what is ready. */
static int
up_downstream(fc_http_upstream_t *u)
{
    fc_http_upstream_body_t *body = u->body;
    int rc = FC_OK;
    if (body->blocked) {
        rc = fc_http_output_filter(u->r, NULL);
        if (rc == FC_ERROR)
            return FC_ERROR;
        body->blocked = rc == FC_AGAIN;
        up_reclaim(body);
    }
    while (!body->blocked && (body->nready || body->pre_state == UP_PRE_READY)) {
        rc = up_hand_down(u);
        if (rc == FC_ERROR)
            return FC_ERROR;
        body->blocked = rc == FC_AGAIN;
        up_reclaim(body);
    }
    return FC_OK;
}

/* The slot to read into: the one being filled, or a fresh one (NULL when none is free). */
static fc_buf_t *
up_fill_slot(fc_http_upstream_t *u)
{
    fc_http_upstream_body_t *body = u->body;
    size_t i = (body->head + body->nbusy + body->nready) % body->nslots;
    fc_buf_t *b = &body->slots[i];
    if (body->filling)
        return b;
    if (body->nbusy + body->nready == body->nslots)
        return NULL;
    if (b->start == NULL) {
        b->start = fc_palloc(u->r->pool, body->size);
        if (b->start == NULL)
            return NULL;
        b->end = b->start + body->size;
    }
    b->pos = b->last = b->start;
    body->filling = 1;
    return b;
}

/*
 * Reads into the slot being filled and decodes the new bytes. A slot is
 * handed down once full, at the end of the body, or at once when reads
 * stream (up_streams_reads). FC_OK: progress; FC_AGAIN: the socket is empty; FC_DONE: finalized.
 */
static int
up_read_body(fc_http_upstream_t *u, fc_buf_t *b)
{
    fc_http_upstream_body_t *body = u->body;
    fc_connection_t *pc = u->peer;
    fc_log_t *log = u->r->connection->log;
    unsigned char *raw = b->last;
    if (!pc->read->ready && !pc->read->pending_eof)
        return FC_AGAIN; /* the last read drained the socket */
    ssize_t n = fc_conn_recv(pc, raw, (size_t) (b->end - raw));
    if (n == FC_AGAIN)
        return FC_AGAIN;
    if (n < 0) {
        fc_http_upstream_body_fail(u);
        return FC_DONE;
    }
    if (n == 0) {
        pc->read->eof = 1;
        if (u->length < 0 && u->headers_in.framing == FC_HTTP_BODY_NONE) {
            u->keepalive = 0;
            up_body_complete(u); /* a close-delimited body ends here */
            return FC_OK;
        }
        fc_log_error(FC_LOG_ERR, log, 0, "upstream prematurely closed connection");
        fc_http_upstream_body_fail(u);
        return FC_DONE;
    }
    u->state->bytes_received += (uint64_t) n;
    b->last += n;
    int rc = u->ops->input_filter(u, b, raw);
    if (rc == FC_ERROR) {
        fc_http_upstream_body_fail(u);
        return FC_DONE;
    }
    if (rc == FC_DONE) {
        up_body_complete(u);
    } else if (b->last == b->end ||
               (up_streams_reads(u) && b->last > b->pos && (!u->buffering || !u->mid_unit))) {
        body->filling = 0;
        body->nready++;
    }
    if (u->peer)
        fc_event_add_timer(pc->loop, pc->read, u->conf->read_timeout); /* re-armed in place */
    return FC_OK;
}

/* The whole body went down: end the response. */
static void
up_body_end(fc_http_upstream_t *u)
{
    fc_http_request_t *r = u->r;
    u->body->last_sent = 1;
    const fc_http_upstream_cache_ops_t *cache = fc_http_upstream_cache(u);
    if (cache)
        cache->finish(u, u->cache_store);
    int rc = r->header_only || u->background ? FC_OK : fc_http_send_last(r);
    fc_http_upstream_finalize(u, rc == FC_ERROR ? FC_ERROR : FC_OK);
}

void
fc_http_upstream_body_fail(fc_http_upstream_t *u)
{
    fc_http_upstream_body_t *body = u->body;
    u->keepalive = 0;
    fc_http_upstream_release_peer(u, 0);
    if (body && body->filling) {
        body->filling = 0;
        body->nready++;
    }
    if (body && up_downstream(u) == FC_OK)
        (void) fc_http_output_filter(u->r, NULL);
    fc_http_upstream_finalize(u, FC_ERROR);
}

/* All slots wait in the write filter, which holds small ones back: make it send. */
static int
up_unjam(fc_http_upstream_t *u)
{
    fc_http_upstream_body_t *body = u->body;
    if (body->blocked || body->nbusy == 0 ||
        body->nbusy + body->nready + body->filling < body->nslots)
        return FC_OK;
    int rc = fc_http_output_filter(u->r, NULL);
    if (rc == FC_ERROR)
        return FC_ERROR;
    body->blocked = rc == FC_AGAIN;
    up_reclaim(body);
    return FC_OK;
}

/* Arms the read timeout only while the engine waits for the upstream, not for the client. */
static void
up_body_timer(fc_http_upstream_t *u)
{
    fc_http_upstream_body_t *body = u->body;
    fc_connection_t *pc = u->peer;
    if (pc == NULL || u->body_done)
        return;
    if (!body->filling && body->nbusy + body->nready == body->nslots) {
        fc_event_del_timer(pc->loop, pc->read);
    } else if (!pc->read->timer_set) {
        fc_event_add_timer(pc->loop, pc->read, u->conf->read_timeout);
    }
}

void
fc_http_upstream_body_event(fc_http_upstream_t *u)
{
    fc_http_upstream_body_t *body = u->body;
    fc_http_request_t *r = u->r;
    for (;;) {
        if (up_downstream(u) != FC_OK || up_unjam(u) != FC_OK) {
            fc_http_upstream_finalize(u, FC_ERROR);
            return;
        }
        if (u->body_done && body->nready == 0 && body->pre_state != UP_PRE_READY) {
            if (!body->blocked || r->header_only) {
                up_body_end(u);
                return;
            }
            break;
        }
        if (u->body_done || u->peer == NULL)
            break;
        if (r->header_only && !u->cache_store) {
            /* Nothing of a body goes to the client: the upstream's is not read. */
            fc_http_upstream_release_peer(u, 0);
            u->body_done = 1;
            continue;
        }
        fc_buf_t *b = up_fill_slot(u);
        if (b == NULL)
            break;
        int rc = up_read_body(u, b);
        if (rc == FC_DONE)
            return;
        if (rc == FC_AGAIN)
            break;
    }
    up_body_timer(u);
}

/* The client's socket drained (or its send_timeout fired). */
static void
up_downstream_write(fc_http_request_t *r)
{
    fc_http_upstream_t *u = r->upstream;
    fc_connection_t *c = r->connection;
    if (u == NULL || u->finished)
        return;
    if (c->write->timedout) {
        c->write->timedout = 0;
        c->log->action = "sending to client";
        fc_log_error(FC_LOG_INFO, c->log, ETIMEDOUT, "client timed out");
        fc_http_upstream_finalize(u, FC_HTTP_REQUEST_TIME_OUT);
        return;
    }
    fc_http_upstream_body_event(u);
}
