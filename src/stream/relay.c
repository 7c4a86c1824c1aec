/* relay.c: one direction of an L4 relay; see relay.h for the why. */
#include "core/fc_core.h"
#include "stream/relay.h"
#include "event/io.h"

#include <sys/uio.h>

/* A direction moves to splice once it has carried this much (bulk, not chat). */
#define RELAY_SPLICE_AFTER (256 * 1024)
#define RELAY_PIPE_CHUNK (64 * 1024)

void
fc_relay_dir_init(fc_relay_dir_t *d, fc_connection_t *src, fc_connection_t *dst, fc_pool_t *pool,
                  size_t buf_size, int splice_ok, int half_close)
{
    memset(d, 0, sizeof(*d));
    d->src = src;
    d->dst = dst;
    d->pool = pool;
    d->buf_size = buf_size;
    d->pipe[0] = d->pipe[1] = -1;
#ifdef FC_HAVE_SPLICE
    /* Bytes through OpenSSL cannot be spliced. */
    d->splice_ok = splice_ok && !src->tls && !dst->tls ? 1 : 0;
#else
    (void) splice_ok;
#endif
    d->half_close = half_close ? 1 : 0;
}

void
fc_relay_dir_close(fc_relay_dir_t *d)
{
    if (d->pipe[0] >= 0) {
        close(d->pipe[0]);
        close(d->pipe[1]);
        d->pipe[0] = d->pipe[1] = -1;
    }
}

int
fc_relay_pending(const fc_relay_dir_t *d)
{
    return d->pipe_len > 0 || (d->buf && d->buf->pos < d->buf->last);
}

static int
relay_fail(fc_relay_dir_t *d, int err, int on_src)
{
    d->failed = 1;
    d->err = err;
    d->failed_src = on_src ? 1 : 0;
    return FC_ERROR;
}

/*
 * Accounts a read of up to `want` bytes from src (recv or splice): FC_OK with
 * *got bytes, or FC_ERROR. With edge-triggered epoll a short read means the
 * socket is drained, so no extra read is spent to hear EAGAIN, unless the
 * peer's FIN is pending (EPOLLRDHUP): then the read of 0 must still happen.
 */
static int
relay_after_read(fc_relay_dir_t *d, ssize_t n, size_t want, size_t *got, int *progress)
{
    *got = 0;
    if (n > 0) {
        *got = (size_t) n;
        d->in += (uint64_t) n;
        *progress = 1;
        if ((size_t) n < want && !d->src->read->pending_eof)
            d->src->read->ready = 0;
    } else if (n == 0) {
        d->eof = 1;
        *progress = 1;
    } else if (errno == EAGAIN) {
        d->src->read->ready = 0;
    } else if (errno != EINTR) {
        return relay_fail(d, errno, 1);
    }
    return FC_OK;
}

/*
 * Accounts a write of up to `want` bytes to dst (send or splice): FC_OK with
 * *put bytes, or FC_ERROR. A short write means the socket buffer is full.
 */
static int
relay_after_write(fc_relay_dir_t *d, ssize_t n, size_t want, size_t *put, int *progress)
{
    *put = 0;
    if (n > 0) {
        *put = (size_t) n;
        d->out += (uint64_t) n;
        *progress = 1;
        if ((size_t) n < want)
            d->dst->write->ready = 0;
    } else if (n < 0 && errno == EAGAIN) {
        d->dst->write->ready = 0;
    } else if (n < 0 && errno != EINTR) {
        return relay_fail(d, errno, 0);
    }
    return FC_OK;
}

/*
 * An empty buffer whose source has nothing to read goes back to the pool:
 * thousands of idle sessions then cost no buffer memory at all.
 */
static void
relay_release_idle(fc_relay_dir_t *d)
{
    /* Small buffers live in pool blocks and cannot go back: those are kept. */
    if (d->buf && d->buf->pos == d->buf->last && !d->src->read->ready &&
        fc_pfree(d->pool, d->buf->start) == FC_OK)
        d->buf = NULL;
}

/* fc_conn_recv/send in the errno convention of relay_after_read/write. */
static ssize_t
relay_recv(fc_connection_t *c, unsigned char *buf, size_t want)
{
    ssize_t n = fc_conn_recv(c, buf, want);
    if (n == FC_AGAIN)
        errno = EAGAIN;
    else if (n > 0 && (size_t) n < want && c->read->pending_eof)
        c->read->ready = 1; /* the FIN is there: one more read to see it */
    return n < 0 ? -1 : n;
}

static ssize_t
relay_send(fc_connection_t *c, const unsigned char *buf, size_t want)
{
    ssize_t n = fc_conn_send(c, buf, want);
    if (n == FC_AGAIN)
        errno = EAGAIN;
    return n < 0 ? -1 : n;
}

/* Buffered: send what is buffered, then read more while there is room. */
static int
relay_pump_buffered(fc_relay_dir_t *d, int *moved)
{
    if (d->buf == NULL) {
        if (d->eof || !d->src->read->ready)
            return FC_OK; /* nothing to read: an idle direction holds no buffer */
        d->buf_mem.start = fc_palloc(d->pool, d->buf_size);
        if (d->buf_mem.start == NULL)
            return relay_fail(d, ENOMEM, 1);
        d->buf_mem.pos = d->buf_mem.last = d->buf_mem.start;
        d->buf_mem.end = d->buf_mem.start + d->buf_size;
        d->buf = &d->buf_mem;
    }
    fc_buf_t *b = d->buf;
    for (;;) {
        int progress = 0;
        size_t moved_n;
        if (b->pos < b->last && d->dst->write->ready) {
            size_t want = (size_t) (b->last - b->pos);
            ssize_t n = relay_send(d->dst, b->pos, want);
            if (relay_after_write(d, n, want, &moved_n, &progress) != FC_OK)
                return FC_ERROR;
            b->pos += moved_n;
        }
        if (b->pos == b->last)
            b->pos = b->last = b->start;
        if (!d->eof && b->last < b->end && d->src->read->ready) {
            size_t want = (size_t) (b->end - b->last);
            ssize_t n = relay_recv(d->src, b->last, want);
            if (relay_after_read(d, n, want, &moved_n, &progress) != FC_OK)
                return FC_ERROR;
            b->last += moved_n;
        }
        if (!progress) {
            relay_release_idle(d);
            return FC_OK;
        }
        *moved = 1;
        if (d->splice_ok && d->in >= RELAY_SPLICE_AFTER && b->pos == b->last) {
            relay_release_idle(d);
            return FC_OK; /* bulk: the caller's next pump switches to splice */
        }
    }
}

#ifdef FC_HAVE_SPLICE
/*
 * Splice: drain the pipe into dst, and refill it from src only once it is
 * empty, so an EAGAIN from the read side can only mean "src is empty" and
 * never "the pipe is full".
 */
static int
relay_pump_splice(fc_relay_dir_t *d, int *moved)
{
    for (;;) {
        int progress = 0;
        size_t moved_n;
        if (d->pipe_len > 0 && d->dst->write->ready) {
            ssize_t n = splice(d->pipe[0], NULL, d->dst->fd, NULL, d->pipe_len,
                               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (relay_after_write(d, n, d->pipe_len, &moved_n, &progress) != FC_OK)
                return FC_ERROR;
            d->pipe_len -= moved_n;
        }
        if (d->pipe_len == 0 && !d->eof && d->src->read->ready) {
            ssize_t n = splice(d->src->fd, NULL, d->pipe[1], NULL, RELAY_PIPE_CHUNK,
                               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            /* A pipe holds less than asked: only EAGAIN tells a drained socket here. */
            if (relay_after_read(d, n, n > 0 ? (size_t) n : RELAY_PIPE_CHUNK, &moved_n, &progress) !=
                FC_OK)
                return FC_ERROR;
            d->pipe_len = moved_n;
        }
        if (!progress)
            return FC_OK;
        *moved = 1;
    }
}

static void
relay_try_splice(fc_relay_dir_t *d)
{
    if (!d->splice_ok || d->pipe[0] >= 0 || d->in < RELAY_SPLICE_AFTER || fc_relay_pending(d))
        return;
    if (pipe2(d->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
        d->splice_ok = 0; /* out of fds: stay buffered */
        d->pipe[0] = d->pipe[1] = -1;
        return;
    }
    fcntl(d->pipe[1], F_SETPIPE_SZ, RELAY_PIPE_CHUNK);
}
#endif

int
fc_relay_pump(fc_relay_dir_t *d)
{
    int moved = 0, rc;
#ifdef FC_HAVE_SPLICE
    relay_try_splice(d);
    if (d->pipe[0] >= 0)
        rc = relay_pump_splice(d, &moved);
    else
        rc = relay_pump_buffered(d, &moved);
    if (rc == FC_OK && d->pipe[0] < 0 && d->splice_ok && d->in >= RELAY_SPLICE_AFTER) {
        relay_try_splice(d);
        if (d->pipe[0] >= 0)
            rc = relay_pump_splice(d, &moved);
    }
#else
    rc = relay_pump_buffered(d, &moved);
#endif
    if (rc != FC_OK)
        return rc;
    if (d->eof && !fc_relay_pending(d)) {
        if (d->half_close && !d->shut && d->dst->fd >= 0) {
            fc_conn_shutdown_write(d->dst);
            d->shut = 1;
        }
        return FC_DONE;
    }
    return moved ? FC_OK : FC_AGAIN;
}
