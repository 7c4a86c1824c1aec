/*
 * conn.h: connections. Each worker preallocates worker_connections of them
 * with their read/write events; a free list hands them out, and when it is
 * empty the worker stops accepting until one is returned.
 */
#ifndef FC_CONN_H
#define FC_CONN_H

#include "event/event.h"
#include "event/listen.h"

typedef struct fc_buf_s {
    unsigned char *start;
    unsigned char *end;
    unsigned char *pos;  /* next byte to consume */
    unsigned char *last; /* end of the data */
    /* A file part (the spilled request body): bytes [file_pos, file_last) of file_fd. */
    int64_t file_pos;
    int64_t file_last;
    int file_fd;
    const void *tag;        /* who owns the buffer (reuses it once pos == last) */
    unsigned in_file : 1;   /* the data is in file_fd, not in memory */
    unsigned last_buf : 1;  /* the last buffer of an HTTP body */
    unsigned flush : 1;     /* send what is queued now */
} fc_buf_t;

/* Creates an empty buffer of `size` bytes in pool memory. */
fc_buf_t *fc_buf_create(fc_pool_t *pool, size_t size);

typedef struct fc_conn_pool_s fc_conn_pool_t;
typedef struct fc_tls_conn_s fc_tls_conn_t;

struct fc_connection_s {
    void *data;
    fc_event_t *read;
    fc_event_t *write;
    int fd;
    int type; /* SOCK_STREAM or SOCK_DGRAM */
    fc_listening_t *listening;
    fc_pool_t *pool;
    fc_log_t *log;
    struct sockaddr_storage sockaddr;
    socklen_t socklen;
    fc_str_t addr_text; /* the peer's address without port */
    struct sockaddr_storage local_sockaddr;
    socklen_t local_socklen;
    unsigned long number;
    uint64_t sent;
    uint64_t received;
    fc_msec_t start_msec;
    fc_tls_conn_t *tls; /* NULL: plain transport (event/tls.h) */
    int log_error;      /* level of transport errors; 0: info (a client's doing) */
    unsigned close:1;
    unsigned destroyed:1;
    unsigned shared:1; /* UDP: fd belongs to a listening socket, do not close */
    unsigned idle:1;   /* may be closed at once when the worker drains */
    unsigned local_known:1;
    unsigned udp_pktinfo : 1; /* local address came from IP_PKTINFO: replies must name it */
    unsigned instance:1; /* flips on reuse: stale epoll events are recognised */
    fc_event_loop_t *loop;
    fc_connection_t *next_free;
    fc_conn_pool_t *cpool;
    /* UDP "connections" (one per client address) share the listener's fd. */
    fc_buf_t *udp_buf;               /* the datagram being delivered */
    fc_connection_t *udp_listener;   /* the listener whose table holds us */
    fc_connection_t *udp_next;       /* hash chain in that table */
    void *udp_table;                 /* on a UDP listener: its clients by address */
};

/* Preallocates n connections (and 2n events) for a loop. */
fc_conn_pool_t *fc_conn_pool_create(size_t n, fc_event_loop_t *loop, fc_log_t *log);
/* Called whenever a connection is returned (the worker resumes accepting). */
void fc_conn_pool_on_free(fc_conn_pool_t *cp, void (*fn)(void *arg), void *arg);
void fc_conn_pool_destroy(fc_conn_pool_t *cp);
/* Takes a free connection for fd; NULL (and logs) when none is left. */
fc_connection_t *fc_conn_get(fc_conn_pool_t *cp, int fd, fc_log_t *log);
/* Returns a connection to the free list (does not close fd). */
void fc_conn_free(fc_conn_pool_t *cp, fc_connection_t *c);
/* Connections in use / free. */
size_t fc_conn_used(const fc_conn_pool_t *cp);
size_t fc_conn_free_count(const fc_conn_pool_t *cp);
/* Calls fn on every connection in use (draining, shutdown). */
void fc_conn_foreach(fc_conn_pool_t *cp, void (*fn)(fc_connection_t *c, void *arg), void *arg);

/* Fills c->local_sockaddr with getsockname() once; FC_ERROR on failure. */
int fc_conn_local_addr(fc_connection_t *c);

#endif
