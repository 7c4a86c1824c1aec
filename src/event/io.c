/*
 * io.c: the plain-socket side of event/io.h, and the dispatch to TLS.
 */
#include "core/fc_core.h"
#include "event/io.h"

#include <sys/socket.h>

ssize_t
fc_conn_recv(fc_connection_t *c, unsigned char *buf, size_t len)
{
    if (c->tls)
        return fc_tls_recv(c, buf, len);
    for (;;) {
        ssize_t n = recv(c->fd, buf, len, 0);
        if (n > 0) {
            if ((size_t) n < len)
                c->read->ready = 0; /* drained: the next edge says when more comes */
            return n;
        }
        if (n == 0) {
            c->read->eof = 1;
            c->read->ready = 0;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN) {
            c->read->ready = 0;
            return FC_AGAIN;
        }
        int err = errno;
        c->read->error = 1;
        fc_log_error(c->log_error ? c->log_error : FC_LOG_INFO, c->log, err, "recv() failed");
        errno = err;
        return FC_ERROR;
    }
}

/* A plain write's result in the contract of io.h. */
static ssize_t
io_written(fc_connection_t *c, ssize_t n, size_t want)
{
    if (n >= 0) {
        if ((size_t) n < want)
            c->write->ready = 0; /* the socket is full */
        return n;
    }
    if (errno == EAGAIN) {
        c->write->ready = 0;
        return FC_AGAIN;
    }
    c->write->error = 1;
    return FC_ERROR;
}

ssize_t
fc_conn_send(fc_connection_t *c, const unsigned char *buf, size_t len)
{
    if (c->tls)
        return fc_tls_send(c, buf, len);
    ssize_t n;
    do
        n = send(c->fd, buf, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return io_written(c, n, len);
}

ssize_t
fc_conn_sendv(fc_connection_t *c, const struct iovec *iov, int niov)
{
    if (c->tls)
        return fc_tls_sendv(c, iov, niov);
    size_t want = 0;
    for (int i = 0; i < niov; i++)
        want += iov[i].iov_len;
    struct msghdr mh = {.msg_iov = (struct iovec *) iov, .msg_iovlen = (size_t) niov};
    ssize_t n;
    do
        n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return io_written(c, n, want);
}

int
fc_conn_shutdown_write(fc_connection_t *c)
{
    if (c->tls)
        fc_tls_shutdown_write(c);
    return shutdown(c->fd, SHUT_WR) < 0 ? FC_ERROR : FC_OK;
}
