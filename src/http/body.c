/*
 * body.c: the request body. It is read (Content-Length or chunked, decoded
 * with the strict decoder of parse.h) into one client_body_buffer_size
 * buffer; a body that outgrows it spills to an unlinked temp file under
 * client_body_temp_path. Bodies nobody wants are read and dropped so the
 * connection can serve its next request. With proxy_request_buffering off
 * the consumer gets the bytes as they come, one buffer at a time.
 */
#include "http/request.h"

#include <sys/stat.h>

static void body_read_handler(fc_http_request_t *r);
static void body_discard_handler(fc_http_request_t *r);

static int
body_has_body(fc_http_request_t *r)
{
    return r->headers_in.chunked || r->headers_in.content_length_n > 0;
}

static fc_http_request_body_t *
body_create(fc_http_request_t *r)
{
    fc_http_request_body_t *rb = fc_pcalloc(r->pool, sizeof(*rb));
    if (rb == NULL)
        return NULL;
    rb->temp_fd = -1;
    rb->rest = r->headers_in.chunked ? -1 : fc_max(r->headers_in.content_length_n, 0);
    fc_http_chunked_init(&rb->chunked);
    r->request_body = rb;
    return rb;
}

/* "HTTP/1.1 100 Continue" before the first body byte is read, if the client waits for it. */
static int
body_send_continue(fc_http_request_t *r)
{
    if (r->expect_tested || !r->headers_in.expect_continue)
        return FC_OK;
    r->expect_tested = 1; /* nginx answers 100 even when body bytes already came */
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    ssize_t n = fc_conn_send(r->connection, (const unsigned char *) cont, sizeof(cont) - 1);
    if (n != (ssize_t) sizeof(cont) - 1) {
        fc_log_error(FC_LOG_INFO, r->connection->log, n < 0 ? errno : 0,
                     "could not send 100 Continue");
        return FC_ERROR;
    }
    r->connection->sent += (uint64_t) n;
    /* as nginx (c->sent based): $bytes_sent and $body_bytes_sent count the interim answer */
    r->bytes_sent += (uint64_t) n;
    r->body_sent += (uint64_t) n;
    return FC_OK;
}

/* Writes the memory buffer to the temp file (created on first use) and empties it. */
static int
body_spill(fc_http_request_t *r)
{
    fc_http_request_body_t *rb = r->request_body;
    fc_log_t *log = r->connection->log;
    if (rb->temp_fd < 0) {
        fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
        char path[PATH_MAX];
        const fc_str_t *dir = &clcf->client_body_temp_path;
        int n = snprintf(path, sizeof(path), "%.*s/body.XXXXXX", (int) dir->len, dir->data);
        if (n < 0 || (size_t) n >= sizeof(path))
            return FC_ERROR;
        int fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
            /* The folder is made on first use, as nginx's temp paths are. */
            snprintf(path, sizeof(path), "%.*s", (int) dir->len, dir->data);
            if (mkdir(path, 0700) == 0 || errno == EEXIST) {
                snprintf(path, sizeof(path), "%.*s/body.XXXXXX", (int) dir->len, dir->data);
                fd = mkostemp(path, O_CLOEXEC);
            }
        }
        if (fd < 0) {
            fc_log_error(FC_LOG_CRIT, log, errno, "mkostemp(\"%s\") failed", path);
            return FC_ERROR;
        }
        unlink(path); /* nothing is left behind, whatever happens to the worker */
        rb->temp_fd = fd;
        /* as nginx: a warning, a notice when client_body_in_file_only asks for the file */
        fc_log_error(clcf->client_body_in_file_only ? FC_LOG_NOTICE : FC_LOG_WARN, log, 0,
                     "a client request body is buffered to a temporary file %s", path);
    }
    fc_buf_t *b = rb->buf;
    const unsigned char *p = b->start;
    while (p < b->last) {
        ssize_t n = write(rb->temp_fd, p, (size_t) (b->last - p));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fc_log_error(FC_LOG_CRIT, log, errno, "write() to the request body temp file failed");
            return FC_ERROR;
        }
        p += n;
    }
    rb->in_file = 1;
    b->pos = b->last = b->start;
    return FC_OK;
}

/* Stores decoded body bytes (in the buffer, spilling to the temp file when it is full). */
static int
body_store(fc_http_request_t *r, const unsigned char *p, size_t n)
{
    fc_http_request_body_t *rb = r->request_body;
    if (rb->discard)
        return FC_OK;
    while (n > 0) {
        fc_buf_t *b = rb->buf;
        if (b->last == b->end) {
            if (r->request_body_no_buffering)
                return FC_ERROR; /* the reader never reads more than fits */
            if (body_spill(r) != FC_OK)
                return FC_ERROR;
        }
        size_t k = fc_min(n, (size_t) (b->end - b->last));
        if (b->last != p)
            memmove(b->last, p, k);
        b->last += k;
        p += k;
        n -= k;
    }
    return FC_OK;
}

/*
 * Feeds raw body bytes: decodes and stores (or drops) them. *used: bytes of
 * `in` that belonged to the body. FC_OK (more to come), FC_DONE, or a status.
 */
static int
body_feed(fc_http_request_t *r, const unsigned char *in, size_t len, size_t *used)
{
    fc_http_request_body_t *rb = r->request_body;
    fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
    *used = 0;
    if (rb->rest >= 0) {
        size_t n = (size_t) fc_min((int64_t) len, rb->rest);
        if (body_store(r, in, n) != FC_OK)
            return FC_HTTP_INTERNAL_SERVER_ERROR;
        rb->rest -= (int64_t) n;
        rb->received += (int64_t) n;
        *used = n;
        return rb->rest == 0 ? FC_DONE : FC_OK;
    }
    while (*used < len) {
        size_t consumed;
        fc_http_span_t data;
        int rc = fc_http_chunked_parse(&rb->chunked, in + *used, len - *used, &consumed, &data);
        if (rc == FC_ERROR) {
            fc_log_error(FC_LOG_ERR, r->connection->log, 0, "client sent invalid chunked body: %s",
                         rb->chunked.error ? rb->chunked.error : "bad chunk");
            return FC_HTTP_BAD_REQUEST;
        }
        /*
         * As nginx: refused as soon as a chunk's size line announces more than
         * client_max_body_size, before its data is read.
         */
        uint64_t chunk_data = rc == FC_OK ? data.len : 0; /* of the chunk whose line was read */
        if (!rb->discard && clcf->client_max_body_size &&
            rb->chunked.total + rb->chunked.size > clcf->client_max_body_size) {
            fc_log_error(FC_LOG_ERR, r->connection->log, 0,
                         "client intended to send too large chunked body: %" PRIu64 "+%" PRIu64
                         " bytes",
                         rb->chunked.total - chunk_data, rb->chunked.size + chunk_data);
            r->lingering_close = 1;
            return FC_HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
        if (rc == FC_OK && body_store(r, in + *used + data.off, data.len) != FC_OK)
            return FC_HTTP_INTERNAL_SERVER_ERROR;
        *used += consumed;
        rb->received = (int64_t) rb->chunked.total;
        if (rc == FC_DONE)
            return FC_DONE;
        if (rc == FC_AGAIN)
            break;
    }
    return FC_OK;
}

/* Feeds the bytes already read with the head (the preread part of the body). */
static int
body_feed_preread(fc_http_request_t *r)
{
    fc_buf_t *hb = &r->http_connection->buf;
    if (hb->start == NULL || hb->pos == hb->last)
        return FC_OK;
    size_t used;
    int rc = body_feed(r, hb->pos, (size_t) (hb->last - hb->pos), &used);
    hb->pos += used;
    r->request_length += used;
    return rc;
}

/*
 * Bytes read past a chunked body belong to the next request: back to the
 * head buffer, after the head of this request (whose strings point into it,
 * so it cannot move). Without room there, the connection will not be kept.
 */
static void
body_return_surplus(fc_http_request_t *r, const unsigned char *p, size_t n)
{
    fc_buf_t *hb = &r->http_connection->buf;
    if (n == 0)
        return;
    if (hb->start && hb->pos == hb->last && (size_t) (hb->end - hb->last) >= n) {
        memcpy(hb->last, p, n);
        hb->last += n;
        return;
    }
    fc_log_error(FC_LOG_INFO, r->connection->log, 0,
                 "pipelined request after a chunked body does not fit, closing");
    r->keepalive = 0;
}

static void
body_finish(fc_http_request_t *r)
{
    fc_http_request_body_t *rb = r->request_body;
    fc_connection_t *c = r->connection;
    rb->done = 1;
    if (c->read->timer_set)
        fc_event_del_timer(c->loop, c->read);
    if (rb->discard)
        return;
    fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
    if (clcf->client_body_in_file_only && !r->request_body_no_buffering &&
        body_spill(r) != FC_OK) {
        /* client_body_in_file_only: the whole body goes to the (unlinked) temp file. */
        return;
    }
    fc_chain_t *mem = NULL, *file = NULL;
    if (rb->buf->last > rb->buf->pos || !rb->in_file) {
        mem = fc_chain_alloc(r->pool);
        if (mem)
            mem->buf = rb->buf;
    }
    if (rb->in_file) {
        file = fc_chain_alloc(r->pool);
        fc_buf_t *fb = fc_pcalloc(r->pool, sizeof(*fb));
        if (file == NULL || fb == NULL)
            return;
        fb->in_file = 1;
        fb->file_fd = rb->temp_fd;
        fb->file_pos = 0;
        fb->file_last = lseek(rb->temp_fd, 0, SEEK_END);
        file->buf = fb;
        file->next = mem;
    }
    rb->bufs = file ? file : mem;
    if (rb->bufs)
        rb->bufs->buf->last_buf = 0;
}

/*
 * Reads from the socket into the body buffer (raw, then decoded in place).
 * FC_DONE when complete, FC_AGAIN when the socket is empty, a status on error.
 */
static int
body_read(fc_http_request_t *r)
{
    fc_http_request_body_t *rb = r->request_body;
    fc_connection_t *c = r->connection;
    for (;;) {
        fc_buf_t *b = rb->buf;
        if (b->last == b->end) {
            if (r->request_body_no_buffering)
                return FC_OK; /* the consumer empties it first */
            if (body_spill(r) != FC_OK)
                return FC_HTTP_INTERNAL_SERVER_ERROR;
        }
        size_t room = (size_t) (b->end - b->last);
        if (rb->rest >= 0)
            room = (size_t) fc_min((int64_t) room, rb->rest);
        unsigned char *raw = b->last;
        ssize_t n = fc_conn_recv(c, raw, room);
        if (n == FC_AGAIN)
            return FC_AGAIN;
        if (n <= 0) {
            if (n == 0) {
                fc_log_error(FC_LOG_INFO, c->log, 0, "client prematurely closed connection");
                rb->client_gone = 1;
            }
            return n == 0 ? FC_HTTP_BAD_REQUEST : FC_ERROR;
        }
        c->received += (uint64_t) n;
        r->request_length += (uint64_t) n;
        size_t used;
        int rc = body_feed(r, raw, (size_t) n, &used);
        if (rc == FC_DONE) {
            body_return_surplus(r, raw + used, (size_t) n - used);
            return FC_DONE;
        }
        if (rc != FC_OK)
            return rc;
        if (r->request_body_no_buffering && b->last > b->pos)
            return FC_OK; /* hand these bytes on now */
        if (!c->read->ready && !c->read->pending_eof)
            return FC_AGAIN; /* a short read drained the socket: no recv just for EAGAIN */
    }
}

static void
body_fail(fc_http_request_t *r, int rc)
{
    r->request_body->done = 1;
    r->keepalive = 0;
    /* as nginx: a client that left mid-body gets no answer; the log says 400 */
    if (r->request_body->client_gone && rc == FC_HTTP_BAD_REQUEST) {
        fc_http_terminate_request(r, rc);
        return;
    }
    fc_http_finalize_request(r, rc);
}

static void
body_read_handler(fc_http_request_t *r)
{
    fc_connection_t *c = r->connection;
    fc_http_request_body_t *rb = r->request_body;
    if (c->read->timedout) {
        fc_log_error(FC_LOG_INFO, c->log, ETIMEDOUT, "client timed out");
        body_fail(r, FC_HTTP_REQUEST_TIME_OUT);
        return;
    }
    int rc = body_read(r);
    if (rc == FC_DONE) {
        body_finish(r);
        r->read_event_handler = fc_http_block_reading; /* nothing more to read */
        rb->post_handler(r);
        return;
    }
    if (rc == FC_AGAIN || rc == FC_OK) {
        fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
        if (rc == FC_AGAIN)
            fc_event_add_timer(c->loop, c->read, clcf->client_body_timeout);
        if (r->request_body_no_buffering && rb->buf->last > rb->buf->pos) {
            rb->bufs = fc_chain_alloc(r->pool);
            if (rb->bufs)
                rb->bufs->buf = rb->buf;
            rb->post_handler(r);
        }
        return;
    }
    body_fail(r, rc);
}

int
fc_http_read_client_request_body(fc_http_request_t *r, fc_http_event_handler_pt post_handler)
{
    if (r->request_body) {
        /*
         * Read already, or being discarded (a 413 before an error_page that
         * proxies): as nginx, the handler goes on at once; a discarded body
         * counts as empty.
         */
        if (r->request_body->done || r->request_body->discard)
            post_handler(r);
        return FC_OK;
    }
    fc_http_request_body_t *rb = body_create(r);
    if (rb == NULL)
        return FC_HTTP_INTERNAL_SERVER_ERROR;
    rb->post_handler = post_handler;
    if (!body_has_body(r)) {
        rb->done = 1;
        post_handler(r);
        return FC_OK;
    }
    if (body_send_continue(r) != FC_OK)
        return FC_ERROR;
    fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
    size_t size = clcf->client_body_buffer_size;
    fc_str_t pre = fc_http_request_preread(r);
    if (rb->rest >= 0 && (size_t) rb->rest < size)
        size = (size_t) rb->rest; /* a small body gets a buffer of its size */
    if (r->request_body_no_buffering && pre.len > size)
        size = pre.len;
    rb->buf = fc_buf_create(r->pool, size ? size : 1);
    if (rb->buf == NULL)
        return FC_HTTP_INTERNAL_SERVER_ERROR;
    int rc = body_feed_preread(r);
    if (rc == FC_DONE) {
        body_finish(r);
        r->read_event_handler = fc_http_block_reading;
        post_handler(r);
        return FC_OK;
    }
    if (rc != FC_OK)
        return rc;
    r->read_event_handler = body_read_handler;
    body_read_handler(r);
    return FC_OK;
}

int
fc_http_read_unbuffered_request_body(fc_http_request_t *r)
{
    fc_http_request_body_t *rb = r->request_body;
    if (rb == NULL || rb->done)
        return FC_OK;
    if (rb->buf->pos == rb->buf->last)
        rb->buf->pos = rb->buf->last = rb->buf->start;
    rb->bufs = NULL;
    if (r->connection->read->ready)
        body_read_handler(r);
    return FC_OK;
}

/* ---- discarding ---------------------------------------------------------------- */

/* Reads and drops what the socket has. FC_DONE, FC_AGAIN or FC_ERROR. */
static int
body_discard_read(fc_http_request_t *r)
{
    fc_http_connection_t *hc = r->http_connection;
    fc_connection_t *c = r->connection;
    fc_buf_t *d = &hc->discard;
    if (d->start == NULL) {
        if ((d->start = malloc(4096)) == NULL)
            return FC_ERROR;
        d->end = d->start + 4096;
    }
    for (;;) {
        size_t room = (size_t) (d->end - d->start);
        if (r->request_body->rest >= 0)
            room = (size_t) fc_min((int64_t) room, r->request_body->rest);
        ssize_t n = fc_conn_recv(c, d->start, room);
        if (n == FC_AGAIN)
            return FC_AGAIN;
        if (n <= 0)
            return FC_ERROR;
        c->received += (uint64_t) n;
        size_t used;
        int rc = body_feed(r, d->start, (size_t) n, &used);
        if (rc == FC_DONE) {
            body_return_surplus(r, d->start + used, (size_t) n - used);
            return FC_DONE;
        }
        if (rc != FC_OK)
            return FC_ERROR;
        if (!c->read->ready && !c->read->pending_eof)
            return FC_AGAIN; /* drained (see body_read) */
    }
}

/* While the response is produced: drop body bytes as they come (no timer). */
static void
body_discard_handler(fc_http_request_t *r)
{
    fc_http_request_body_t *rb = r->request_body;
    if (rb == NULL || rb->done || !rb->discard)
        return;
    int rc = body_discard_read(r);
    if (rc == FC_DONE) {
        rb->done = 1;
    } else if (rc == FC_ERROR) {
        rb->done = 1;
        r->keepalive = 0;
        r->lingering_close = 0;
    }
}

int
fc_http_discard_request_body(fc_http_request_t *r)
{
    fc_http_request_body_t *rb = r->request_body;
    if (rb) {
        if (!rb->done && !rb->discard) {
            rb->discard = 1; /* someone stopped reading: drop the rest */
            r->read_event_handler = body_discard_handler;
        }
        return FC_OK;
    }
    if (!body_has_body(r))
        return FC_OK;
    rb = body_create(r);
    if (rb == NULL)
        return FC_ERROR;
    rb->discard = 1;
    if (body_send_continue(r) != FC_OK)
        return FC_ERROR;
    int rc = body_feed_preread(r);
    if (rc == FC_DONE) {
        rb->done = 1;
        return FC_OK;
    }
    if (rc != FC_OK) {
        rb->done = 1;
        r->keepalive = 0;
        return FC_OK;
    }
    r->read_event_handler = body_discard_handler;
    if (r->connection->read->ready)
        body_discard_handler(r);
    return FC_OK;
}

int
fc_http_body_pending(fc_http_request_t *r)
{
    if (!body_has_body(r))
        return FC_OK;
    if (r->request_body == NULL)
        fc_http_discard_request_body(r);
    fc_http_request_body_t *rb = r->request_body;
    if (rb == NULL)
        return FC_ERROR;
    if (!rb->done && !rb->discard) {
        rb->discard = 1;
        r->read_event_handler = body_discard_handler;
        if (r->connection->read->ready)
            body_discard_handler(r);
    }
    return rb->done ? FC_OK : FC_AGAIN;
}

static void
body_discard_then_handler(fc_http_request_t *r)
{
    fc_connection_t *c = r->connection;
    fc_http_request_body_t *rb = r->request_body;
    if (c->read->timedout) {
        fc_http_terminate_request(r, (int) r->headers_out.status);
        return;
    }
    int rc = body_discard_read(r);
    if (rc == FC_AGAIN) {
        fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
        fc_event_add_timer(c->loop, c->read, clcf->lingering_timeout);
        return;
    }
    if (rc == FC_ERROR) {
        fc_http_terminate_request(r, (int) r->headers_out.status);
        return;
    }
    rb->done = 1;
    if (c->read->timer_set)
        fc_event_del_timer(c->loop, c->read);
    rb->post_handler(r);
}

void
fc_http_discard_then(fc_http_request_t *r, fc_http_event_handler_pt then)
{
    fc_http_request_body_t *rb = r->request_body;
    rb->post_handler = then;
    rb->discard = 1;
    r->read_event_handler = body_discard_then_handler;
    fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
    fc_event_add_timer(r->connection->loop, r->connection->read, clcf->lingering_timeout);
    if (r->connection->read->ready)
        body_discard_then_handler(r);
}
