/*
 * relay.h: moving bytes one way between two connected sockets, for the L4
 * proxy (and, later, HTTP Upgrade tunnels). A direction starts buffered;
 * once it has carried enough to look like bulk traffic it switches to
 * splice(2) through a pipe, so bulk bytes never cross into user space while
 * short exchanges never pay for creating pipes.
 */
#ifndef FC_RELAY_H
#define FC_RELAY_H

#include "event/conn.h"

typedef struct {
    fc_connection_t *src;
    fc_connection_t *dst;
    fc_pool_t *pool;  /* where the buffer comes from (lazily) */
    size_t buf_size;  /* proxy_buffer_size */
    fc_buf_t *buf;    /* NULL while idle: buffers exist only while bytes are in flight */
    fc_buf_t buf_mem;
    int pipe[2];      /* -1 until splice is in use */
    size_t pipe_len;  /* bytes sitting in the pipe */
    uint64_t in;      /* bytes read from src */
    uint64_t out;     /* bytes written to dst */
    int err;          /* errno of a failure */
    unsigned eof:1;       /* src has no more data */
    unsigned shut:1;      /* dst's write side is shut down */
    unsigned half_close:1; /* pass src's EOF on as a shutdown of dst's write side */
    unsigned splice_ok:1;  /* splice may be used in this direction */
    unsigned failed:1;     /* an I/O error: err is set */
    unsigned failed_src:1; /* the error was on the src side */
} fc_relay_dir_t;

/* Sets up a direction (no allocation until bytes flow). */
void fc_relay_dir_init(fc_relay_dir_t *d, fc_connection_t *src, fc_connection_t *dst,
                       fc_pool_t *pool, size_t buf_size, int splice_ok, int half_close);
/*
 * Moves whatever can move now without blocking. Returns FC_OK if bytes
 * moved, FC_AGAIN if nothing could, FC_DONE once src hit EOF and everything
 * was delivered (and passed on as a shutdown when half_close), FC_ERROR on
 * an I/O error (d->err, d->failed_src).
 */
int fc_relay_pump(fc_relay_dir_t *d);
/* 1 if bytes read from src are still waiting to reach dst. */
int fc_relay_pending(const fc_relay_dir_t *d);
/* Closes the pipe, if any. */
void fc_relay_dir_close(fc_relay_dir_t *d);

#endif
