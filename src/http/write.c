/*
 * write.c: the end of the output chains. The chunked filter frames bodies
 * of unknown length for HTTP/1.1 clients; the write filter queues buffers
 * (never copying their bytes) and sends them with writev once there is
 * enough to fill a packet, a flush is asked for, or the body ends. A full
 * socket leaves the rest queued: the request's writer runs on the next
 * write event.
 */
#include "http/request.h"

#include <sys/sendfile.h>
#include <sys/uio.h>

#define WRITE_POSTPONE 1460 /* nginx's postpone_output: do not send less than a packet */
#define WRITE_IOVS 64

fc_chain_t *
fc_chain_alloc(fc_pool_t *pool)
{
    fc_chain_t *cl = fc_palloc(pool, sizeof(*cl));
    if (cl) {
        cl->buf = NULL;
        cl->next = NULL;
    }
    return cl;
}

fc_chain_t *
fc_chain_buf(fc_pool_t *pool, size_t size)
{
    fc_chain_t *cl = fc_chain_alloc(pool);
    if (cl == NULL || (cl->buf = fc_buf_create(pool, size)) == NULL)
        return NULL;
    return cl;
}

fc_chain_t *
fc_chain_str(fc_pool_t *pool, const unsigned char *data, size_t len)
{
    fc_chain_t *cl = fc_chain_alloc(pool);
    fc_buf_t *b = cl ? fc_pcalloc(pool, sizeof(*b)) : NULL;
    if (b == NULL)
        return NULL;
    b->start = b->pos = (unsigned char *) data;
    b->end = b->last = (unsigned char *) data + len;
    cl->buf = b;
    return cl;
}

static int64_t
buf_size(const fc_buf_t *b)
{
    return b->in_file ? b->file_last - b->file_pos : b->last - b->pos;
}

int64_t
fc_chain_size(const fc_chain_t *cl)
{
    int64_t n = 0;
    for (; cl; cl = cl->next)
        n += buf_size(cl->buf);
    return n;
}

/*
 * writev of the memory buffers at the head of the chain: the number of bytes
 * written or -errno; *want is how many were offered.
 */
static int64_t
chain_writev(fc_connection_t *c, fc_chain_t *cl, int64_t *want)
{
    struct iovec iov[WRITE_IOVS];
    int n = 0;
    *want = 0;
    for (; cl && n < WRITE_IOVS; cl = cl->next) {
        if (cl->buf->in_file)
            break;
        if (cl->buf->pos == cl->buf->last)
            continue;
        iov[n].iov_base = cl->buf->pos;
        iov[n].iov_len = (size_t) (cl->buf->last - cl->buf->pos);
        *want += (int64_t) iov[n].iov_len;
        n++;
    }
    if (n == 0)
        return 0;
    ssize_t w = fc_conn_sendv(c, iov, n);
    return w >= 0 ? w : w == FC_AGAIN ? -EAGAIN : -errno;
}

/* A file part over TLS: read a record's worth and send it (no sendfile through OpenSSL). */
static int64_t
chain_send_file_copy(fc_connection_t *c, fc_buf_t *b, int64_t *want)
{
    unsigned char tmp[16384];
    size_t len = (size_t) fc_min(b->file_last - b->file_pos, (int64_t) sizeof(tmp));
    *want = (int64_t) len;
    ssize_t n = pread(b->file_fd, tmp, len, (off_t) b->file_pos);
    if (n <= 0)
        return n == 0 ? -EIO : -errno;
    ssize_t w = fc_conn_send(c, tmp, (size_t) n);
    return w >= 0 ? w : w == FC_AGAIN ? -EAGAIN : -errno;
}

static int64_t
chain_sendfile(fc_connection_t *c, fc_buf_t *b, int64_t *want)
{
    if (c->tls)
        return chain_send_file_copy(c, b, want);
    off_t off = (off_t) b->file_pos;
    size_t len = (size_t) fc_min(b->file_last - b->file_pos, (int64_t) 1 << 30);
    *want = (int64_t) len;
    for (;;) {
        ssize_t w = sendfile(c->fd, b->file_fd, &off, len);
        if (w >= 0)
            return w;
        if (errno != EINTR)
            return -errno;
    }
}

/* Advances the buffers of a chain past `n` sent bytes. */
static void
chain_advance(fc_chain_t *cl, int64_t n)
{
    for (; cl && n > 0; cl = cl->next) {
        fc_buf_t *b = cl->buf;
        int64_t sz = buf_size(b);
        int64_t k = fc_min(sz, n);
        if (b->in_file)
            b->file_pos += k;
        else
            b->pos += k;
        n -= k;
    }
}

int64_t
fc_chain_send(fc_connection_t *c, fc_chain_t *cl)
{
    int64_t total = 0;
    for (;;) {
        while (cl && buf_size(cl->buf) == 0)
            cl = cl->next;
        if (cl == NULL)
            return total;
        int64_t want, w;
        if (cl->buf->in_file) {
            w = chain_sendfile(c, cl->buf, &want);
        } else {
            w = chain_writev(c, cl, &want);
        }
        if (w == -EAGAIN) {
            c->write->ready = 0;
            return total;
        }
        if (w < 0)
            return total ? total : w;
        chain_advance(cl, w);
        total += w;
        c->sent += (uint64_t) w;
        if (w < want) {
            c->write->ready = 0;
            return total;
        }
    }
}

/* ---- the write filter ---------------------------------------------------------- */

static fc_chain_t *
write_link(fc_http_request_t *r, fc_buf_t *b)
{
    fc_chain_t *cl = r->free_links;
    if (cl)
        r->free_links = cl->next;
    else if ((cl = fc_chain_alloc(r->pool)) == NULL)
        return NULL;
    cl->buf = b;
    cl->next = NULL;
    return cl;
}

/* Queues `in` (NULL: flush) and sends what is queued when it is worth a packet. */
static int
http_write_filter(fc_http_request_t *r, fc_chain_t *in)
{
    fc_connection_t *c = r->connection;
    fc_chain_t **tail = &r->out;
    int flush = in == NULL, last = 0;
    while (*tail)
        tail = &(*tail)->next;
    for (; in; in = in->next) {
        fc_buf_t *b = in->buf;
        flush |= b->flush;
        if (buf_size(b) == 0 && !b->last_buf)
            continue;
        fc_chain_t *cl = write_link(r, b);
        if (cl == NULL)
            return FC_ERROR;
        *tail = cl;
        tail = &cl->next;
    }
    if (r->out == NULL)
        return FC_OK;
    for (fc_chain_t *cl = r->out; cl; cl = cl->next)
        last |= cl->buf->last_buf;
    int64_t size = fc_chain_size(r->out);
    if (!last && !flush && !r->blocked_write && size < WRITE_POSTPONE)
        return FC_OK; /* wait for more: a header waits for its body */
    if (c->write->error)
        return FC_ERROR;
    fc_http_core_loc_conf_t *clcf = fc_http_core_loc(r);
    if (!c->write->ready && r->blocked_write)
        return FC_AGAIN; /* the write event will come */
    int64_t n = size ? fc_chain_send(c, r->out) : 0;
    if (n < 0) {
        c->write->error = 1;
        fc_log_error(FC_LOG_INFO, c->log, (int) -n, "writev() failed");
        return FC_ERROR;
    }
    r->bytes_sent += (uint64_t) n;
    r->body_sent = r->bytes_sent > r->header_size ? r->bytes_sent - r->header_size : 0;
    while (r->out && buf_size(r->out->buf) == 0) {
        fc_chain_t *cl = r->out;
        if (cl->buf->last_buf)
            r->done = 1;
        r->out = cl->next;
        cl->next = r->free_links;
        r->free_links = cl;
    }
    if (r->out) {
        r->blocked_write = 1;
        fc_event_add_timer(c->loop, c->write, clcf->send_timeout);
        return FC_AGAIN;
    }
    r->blocked_write = 0;
    if (c->write->timer_set)
        fc_event_del_timer(c->loop, c->write);
    return FC_OK;
}

/* ---- the chunked filter ---------------------------------------------------------------- */

/*
 * A framing buffer of the chunked filter ("1f40\r\n", "\r\n", the last
 * chunk). They are recycled once sent, so a long streamed response costs no
 * more memory than a short one.
 */
static fc_buf_t *
chunk_framing(fc_http_request_t *r, const char *fmt, int64_t size)
{
    fc_chain_t **pp = &r->chunk_bufs, *cl;
    while ((cl = *pp) != NULL && cl->buf->pos != cl->buf->last)
        pp = &cl->next;
    if (cl) {
        *pp = cl->next; /* sent: reuse it */
    } else if ((cl = fc_chain_buf(r->pool, 24)) == NULL) {
        return NULL;
    }
    fc_buf_t *b = cl->buf;
    b->pos = b->start;
    b->last = b->start + snprintf((char *) b->start, 24, fmt, size);
    b->last_buf = b->flush = 0;
    cl->next = NULL;
    while (*pp)
        pp = &(*pp)->next;
    *pp = cl; /* newest last: the queue is sent in order */
    return b;
}

static int
http_chunked_filter(fc_http_request_t *r, fc_chain_t *in)
{
    if (r->header_only && in) {
        /* HEAD, 204, 304: the body is consumed, never sent. */
        for (fc_chain_t *cl = in; cl; cl = cl->next) {
            cl->buf->pos = cl->buf->last;
            cl->buf->file_pos = cl->buf->file_last;
        }
        return http_write_filter(r, NULL);
    }
    if (!r->chunked || in == NULL)
        return http_write_filter(r, in);
    int64_t size = 0;
    int last = 0;
    for (fc_chain_t *cl = in; cl; cl = cl->next) {
        size += buf_size(cl->buf);
        last |= cl->buf->last_buf;
        if (cl->buf->last_buf)
            break;
    }
    /* The write filter links the buffers itself: these links live for this call only. */
    fc_chain_t head = {NULL, in}, tail = {NULL, NULL}, *out = in;
    fc_chain_t *end = in;
    while (end->next && !end->buf->last_buf)
        end = end->next;
    fc_chain_t *after = end->next;
    if (size > 0) {
        head.buf = chunk_framing(r, "%" PRIx64 "\r\n", size);
        if (head.buf == NULL)
            return FC_ERROR;
        out = &head;
    }
    if (size > 0 || last) {
        tail.buf = chunk_framing(r, last ? (size > 0 ? "\r\n0\r\n\r\n" : "0\r\n\r\n") : "\r\n", 0);
        if (tail.buf == NULL)
            return FC_ERROR;
        /* The last_buf flag moves to the last chunk: clear it on the data buffers. */
        for (fc_chain_t *cl = in; cl != after; cl = cl->next)
            cl->buf->last_buf = 0;
        tail.buf->last_buf = (unsigned) last;
        tail.buf->flush = 1;
        end->next = &tail;
    }
    int rc = http_write_filter(r, out);
    end->next = after; /* the caller's chain as it was */
    return rc;
}

static int
http_final_header_filter(fc_http_request_t *r)
{
    fc_chain_t *hdr = fc_http_header_serialize(r);
    if (hdr == NULL)
        return FC_ERROR;
    r->header_size = (uint64_t) fc_chain_size(hdr);
    r->header_sent = 1;
    if (r->header_only || r->headers_out.status == FC_HTTP_SWITCHING_PROTOCOLS)
        hdr->buf->flush = 1;
    if (r->header_only)
        hdr->buf->last_buf = 1;
    return http_write_filter(r, hdr);
}

int
fc_http_core_filters_init(fc_conf_t *cf)
{
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    cmcf->cycle = cf->cycle;
    return fc_http_add_filter(cf, &fc_http_core_module, http_final_header_filter,
                              http_chunked_filter);
}

int
fc_http_send_last(fc_http_request_t *r)
{
    fc_chain_t *cl = fc_chain_buf(r->pool, 0);
    if (cl == NULL)
        return FC_ERROR;
    cl->buf->last_buf = 1;
    return fc_http_output_filter(r, cl);
}
