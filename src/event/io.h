/*
 * io.h: reading and writing a connection, plain or TLS. Every reader and
 * writer of the layers goes through these, so TLS is a property of the
 * connection (c->tls) and not of the code that moves the bytes.
 *
 * The contract, the same for both transports:
 * - fc_conn_recv returns the bytes read (> 0), 0 at end of stream, FC_AGAIN
 *   when nothing is there, FC_ERROR (logged, errno set) on failure. A read
 *   shorter than asked means the transport is drained: c->read->ready is
 *   cleared and the next edge-triggered event says when more comes.
 * - fc_conn_send / fc_conn_sendv return the bytes taken (>= 0), FC_AGAIN
 *   when the socket is full, FC_ERROR (errno set, not logged: callers know
 *   what they were doing). Taking less than offered clears c->write->ready;
 *   the caller offers the rest again, from the same bytes, on the next write
 *   event (TLS requires that).
 * EINTR is retried inside.
 */
#ifndef FC_IO_H
#define FC_IO_H

#include <sys/uio.h>

#include "core/fc_core.h"
#include "event/conn.h"

ssize_t fc_conn_recv(fc_connection_t *c, unsigned char *buf, size_t len);
ssize_t fc_conn_send(fc_connection_t *c, const unsigned char *buf, size_t len);
ssize_t fc_conn_sendv(fc_connection_t *c, const struct iovec *iov, int niov);

/*
 * Ends our direction of the stream: a TLS close_notify first (one
 * non-blocking try), then shutdown(SHUT_WR). FC_ERROR when the socket is gone.
 */
int fc_conn_shutdown_write(fc_connection_t *c);

/* The TLS halves (event/tls_io.c); the same contract. */
ssize_t fc_tls_recv(fc_connection_t *c, unsigned char *buf, size_t len);
ssize_t fc_tls_send(fc_connection_t *c, const unsigned char *buf, size_t len);
ssize_t fc_tls_sendv(fc_connection_t *c, const struct iovec *iov, int niov);
/* Logs OpenSSL's error queue after a failed call, emptying it. */
void fc_tls_log_error(fc_connection_t *c, int level, const char *what);
/* Sends close_notify once (non-blocking, best effort). */
void fc_tls_shutdown_write(fc_connection_t *c);

#endif
