/*
 * tls_io.c: reading, writing and handshaking over OpenSSL on non-blocking
 * sockets. The functions keep the plain transport's contract (event/io.h):
 * a read that returns less than asked means the transport is drained (so
 * edge-triggered readiness stays right: OpenSSL may hold a whole record the
 * socket no longer shows), and a write that takes less than offered means
 * the socket is full.
 */
#include "core/fc_core.h"
#include "event/io.h"
#include "event/tls.h"

#include <openssl/err.h>

#define TLS_OUT_SIZE 16384 /* one full TLS record per SSL_write of coalesced pieces */

static int tls_index = -1;

int
fc_tls_conn_index(void)
{
    if (tls_index < 0)
        tls_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    return tls_index;
}

fc_connection_t *
fc_tls_ssl_conn(const SSL *ssl)
{
    return SSL_get_ex_data(ssl, tls_index);
}

/*
 * Watches the socket reads OpenSSL makes: one that returns less than it
 * asked (read-ahead asks for a whole buffer) means the socket was drained,
 * so fc_tls_recv can stop without one more read just to hear EAGAIN.
 */
static long
tls_bio_watch(BIO *b, int oper, const char *argp, size_t len, int argi, long argl, int ret,
              size_t *processed)
{
    (void) argp;
    (void) argi;
    (void) argl;
    if (oper == (BIO_CB_READ | BIO_CB_RETURN)) {
        fc_tls_conn_t *t = (fc_tls_conn_t *) BIO_get_callback_arg(b);
        t->drained = ret <= 0 || (processed && *processed < len);
    }
    return ret;
}

int
fc_tls_conn_create(fc_connection_t *c, SSL_CTX *ctx, int server)
{
    /* Upstream connections have no pool of their own; TLS state must outlive a request. */
    if (c->pool == NULL && (c->pool = fc_pool_create(1024, c->log)) == NULL)
        return FC_ERROR;
    fc_tls_conn_t *t = fc_pcalloc(c->pool, sizeof(*t));
    if (t == NULL)
        return FC_ERROR;
    t->ssl = SSL_new(ctx);
    if (t->ssl == NULL || SSL_set_fd(t->ssl, c->fd) != 1 ||
        SSL_set_ex_data(t->ssl, tls_index, c) != 1) {
        fc_tls_log_error(c, FC_LOG_ALERT, "SSL_new() failed");
        SSL_free(t->ssl);
        return FC_ERROR;
    }
    BIO *rbio = SSL_get_rbio(t->ssl);
    BIO_set_callback_arg(rbio, (char *) t);
    BIO_set_callback_ex(rbio, tls_bio_watch);
    if (server)
        SSL_set_accept_state(t->ssl);
    else
        SSL_set_connect_state(t->ssl);
    c->tls = t;
    return FC_OK;
}

/*
 * Logs OpenSSL's queue after a failed call. Causes a client can produce (a
 * bad record, an unknown CA, a closed socket) are logged at info level as
 * nginx does; the connection's own level (c->log_error) applies otherwise.
 */
void
fc_tls_log_error(fc_connection_t *c, int level, const char *what)
{
    char reason[512];
    if (fc_tls_error_reasons(reason, sizeof(reason)))
        fc_log_error(level, c->log, 0, "%s (SSL: %s)", what, reason);
    else
        fc_log_error(level, c->log, errno, "%s", what);
}

/* The level for a failure the peer may have caused. */
static int
tls_peer_level(fc_connection_t *c)
{
    return c->log_error ? c->log_error : FC_LOG_INFO;
}

int
fc_tls_handshake(fc_connection_t *c)
{
    fc_tls_conn_t *t = c->tls;
    ERR_clear_error();
    int rc = SSL_do_handshake(t->ssl);
    if (rc == 1) {
        t->handshaked = 1;
        return FC_OK;
    }
    int e = SSL_get_error(t->ssl, rc);
    if (e == SSL_ERROR_WANT_READ) {
        c->read->ready = 0;
        return FC_AGAIN;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        c->write->ready = 0;
        return FC_AGAIN;
    }
    t->no_send_shutdown = 1;
    c->read->error = c->write->error = 1;
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
        if (errno == 0 || errno == ECONNRESET || errno == EPIPE)
            fc_log_error(FC_LOG_INFO, c->log, errno, "peer closed connection in SSL handshake");
        else
            fc_log_error(tls_peer_level(c), c->log, errno, "SSL_do_handshake() failed");
        ERR_clear_error();
        return FC_ERROR;
    }
    fc_tls_log_error(c, tls_peer_level(c), "SSL_do_handshake() failed");
    return FC_ERROR;
}

/* A failed SSL_read/SSL_write: FC_AGAIN (waits for the socket) or FC_ERROR (logged). */
static ssize_t
tls_io_error(fc_connection_t *c, int rc, int reading)
{
    fc_tls_conn_t *t = c->tls;
    int e = SSL_get_error(t->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        /* The event of the call that waits fires again (a rare TLS 1.3 key update aside). */
        if (reading)
            c->read->ready = 0;
        else
            c->write->ready = 0;
        return FC_AGAIN;
    }
    t->no_send_shutdown = 1;
    if (reading)
        c->read->error = 1;
    else
        c->write->error = 1;
    /* An empty queue is a system error: fc_tls_log_error says errno (a reset if none). */
    int err = EPROTO;
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
        err = errno = errno ? errno : ECONNRESET;
    fc_tls_log_error(c, tls_peer_level(c), reading ? "SSL_read() failed" : "SSL_write() failed");
    errno = err;
    return FC_ERROR;
}

ssize_t
fc_tls_recv(fc_connection_t *c, unsigned char *buf, size_t len)
{
    fc_tls_conn_t *t = c->tls;
    size_t got = 0;
    while (got < len) {
        ERR_clear_error();
        size_t want = fc_min(len - got, (size_t) INT_MAX);
        t->drained = 0;
        int n = SSL_read(t->ssl, buf + got, (int) want);
        if (n > 0) {
            got += (size_t) n;
            if (got < len && t->drained && !SSL_has_pending(t->ssl)) {
                c->read->ready = 0; /* nothing buffered, the socket empty: no EAGAIN read */
                return (ssize_t) got;
            }
            continue;
        }
        if (SSL_get_error(t->ssl, n) == SSL_ERROR_ZERO_RETURN) {
            c->read->eof = 1;
            c->read->ready = 0;
            if (got)
                c->read->pending_eof = 1; /* data first; the next read returns the 0 */
            return (ssize_t) got;
        }
        ssize_t rc = tls_io_error(c, n, 1);
        if (got) {
            /*
             * WANT_READ: the socket is empty (ready is off), the data stands.
             * An error repeats on the next call: pending_eof makes it happen.
             */
            if (rc != FC_AGAIN)
                c->read->pending_eof = 1;
            return (ssize_t) got;
        }
        return rc;
    }
    return (ssize_t) got;
}

/* SSL_write of one piece: bytes taken (all of them unless the socket filled), or AGAIN/ERROR. */
static ssize_t
tls_write(fc_connection_t *c, const unsigned char *buf, size_t len)
{
    fc_tls_conn_t *t = c->tls;
    size_t done = 0;
    while (done < len) {
        ERR_clear_error();
        int n = SSL_write(t->ssl, buf + done, (int) fc_min(len - done, (size_t) INT_MAX));
        if (n > 0) {
            done += (size_t) n;
            continue;
        }
        ssize_t rc = tls_io_error(c, n, 0);
        return done ? (ssize_t) done : rc;
    }
    return (ssize_t) done;
}

/*
 * After an SSL_write that could not finish, OpenSSL wants the same bytes
 * again. The caller re-offers its unsent data from the same point, so the
 * pending copy is the head of what it offers now: finish it first.
 */
static ssize_t
tls_flush_pending(fc_connection_t *c)
{
    fc_tls_conn_t *t = c->tls;
    if (t->out_len == 0)
        return 0;
    ssize_t n = tls_write(c, t->out, t->out_len);
    if (n < 0)
        return n;
    if ((size_t) n < t->out_len) {
        memmove(t->out, t->out + n, t->out_len - (size_t) n);
        t->out_len -= (size_t) n;
        c->write->ready = 0;
        return n;
    }
    t->out_len = 0;
    return n;
}

ssize_t
fc_tls_sendv(fc_connection_t *c, const struct iovec *iov, int niov)
{
    fc_tls_conn_t *t = c->tls;
    if (t->out == NULL && (t->out = fc_palloc(c->pool, TLS_OUT_SIZE)) == NULL)
        return FC_ERROR;
    ssize_t n = tls_flush_pending(c);
    if (n < 0 || t->out_len)
        return n;
    /* Past the bytes just sent, coalesce into t->out and write each full record. */
    size_t total = (size_t) n, skip = (size_t) n;
    for (int i = 0; i < niov; i++) {
        size_t done = fc_min(skip, iov[i].iov_len), len = iov[i].iov_len - done;
        const unsigned char *p = (const unsigned char *) iov[i].iov_base + done;
        skip -= done;
        while (len) {
            size_t k = fc_min(len, TLS_OUT_SIZE - t->out_len);
            memcpy(t->out + t->out_len, p, k);
            t->out_len += k;
            p += k;
            len -= k;
            if (t->out_len < TLS_OUT_SIZE)
                continue;
            if ((n = tls_flush_pending(c)) < 0)
                return total ? (ssize_t) total : n;
            total += (size_t) n;
            if (t->out_len)
                return (ssize_t) total; /* the socket is full: the rest waits in t->out */
        }
    }
    if ((n = tls_flush_pending(c)) < 0) /* the last record, not full */
        return total ? (ssize_t) total : n;
    return (ssize_t) (total + (size_t) n);
}

ssize_t
fc_tls_send(fc_connection_t *c, const unsigned char *buf, size_t len)
{
    if (c->tls->out_len) {
        struct iovec iov = {.iov_base = (void *) buf, .iov_len = len};
        return fc_tls_sendv(c, &iov, 1);
    }
    ssize_t n = tls_write(c, buf, len);
    if (n >= 0 && (size_t) n < len)
        c->write->ready = 0;
    return n;
}

void
fc_tls_shutdown_write(fc_connection_t *c)
{
    fc_tls_conn_t *t = c->tls;
    if (t->handshaked && !t->no_send_shutdown && !t->shutdown_sent && !c->read->error &&
        !c->write->error && t->out_len == 0) {
        /* One non-blocking close_notify; we do not wait for the peer's. */
        ERR_clear_error();
        SSL_shutdown(t->ssl);
        ERR_clear_error();
    }
    t->shutdown_sent = 1;
}

void
fc_tls_conn_close(fc_connection_t *c)
{
    fc_tls_conn_t *t = c->tls;
    if (t == NULL)
        return;
    fc_tls_shutdown_write(c);
    /*
     * As nginx: mark the shutdown done either way, so OpenSSL does not
     * invalidate the session of a connection that simply ended (the next
     * connection to an upstream resumes it).
     */
    if (!SSL_in_init(t->ssl))
        SSL_set_shutdown(t->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(t->ssl);
    t->ssl = NULL;
    c->tls = NULL;
}

void
fc_tls_conn_abort(fc_connection_t *c)
{
    if (c->tls)
        c->tls->no_send_shutdown = 1;
    fc_tls_conn_close(c);
}
