/*
 * connect.h (upstream): the non-blocking connect both layers make to a
 * picked peer. The layer keeps what is its own: the connect timeout, the
 * handlers, and what a failure means (proxy_next_upstream).
 */
#ifndef FC_UPSTREAM_CONNECT_H
#define FC_UPSTREAM_CONNECT_H

#include "event/conn.h"

#define FC_UPSTREAM_CONNECT_NODELAY 1   /* TCP_NODELAY (tcp_nodelay; not on unix sockets) */
#define FC_UPSTREAM_CONNECT_KEEPALIVE 2 /* SO_KEEPALIVE (proxy_socket_keepalive) */

/* proxy_bind's local address for one connection (bind.c makes it). */
typedef struct {
    fc_addr_t addr; /* port 0: the kernel picks one at connect (IP_BIND_ADDRESS_NO_PORT) */
    unsigned transparent : 1; /* IP_TRANSPARENT: a foreign address (root, TPROXY routing) */
} fc_upstream_local_t;

/*
 * Opens a `type` (SOCK_STREAM, SOCK_DGRAM) socket to addr with the FLAGS
 * options, bound to local when not NULL (proxy_bind; a bind() that fails is
 * FC_ERROR, as nginx's 500), starts connect() and takes a connection of cp for it, watched
 * by the loop. *pc is the connection, its type, sockaddr and start_msec
 * set; the caller sets its handlers and, on FC_AGAIN, the connect timer.
 * FC_OK: connected; FC_AGAIN: under way; FC_DECLINED: the peer refused or
 * the loop failed (logged; nothing left open: try the next peer);
 * FC_ERROR: no socket or no free connection (logged).
 */
int fc_upstream_connect(fc_conn_pool_t *cp, const fc_addr_t *addr, int type, unsigned flags,
                        const fc_upstream_local_t *local, fc_log_t *log, fc_connection_t **pc);

/*
 * On an event of a connecting peer: FC_OK once connected, FC_AGAIN while
 * still connecting (a spurious event), FC_ERROR when connect() failed
 * (logged "connect() failed").
 */
int fc_upstream_connect_result(fc_connection_t *pc, fc_log_t *log);

#endif
