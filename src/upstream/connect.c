/*
 * connect.c (upstream): socket(), options and a non-blocking connect() to a
 * peer, and the outcome of that connect, for the http engine and the
 * stream proxy alike.
 */
#include "core/fc_core.h"
#include "core/worker.h"
#include "upstream/connect.h"

#include <netinet/tcp.h>

/* proxy_bind: the socket takes its local address before connect(), as nginx does. */
static int
connect_bind(int fd, const fc_upstream_local_t *local, fc_log_t *log)
{
    const struct sockaddr *la = (const struct sockaddr *) &local->addr.sa;
    int one = 1;
    if (local->transparent) {
        int rc = la->sa_family == AF_INET6
                     ? setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one, sizeof(one))
                     : setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one));
        if (rc < 0)
            fc_log_error(FC_LOG_ALERT, log, errno, "setsockopt(IP_TRANSPARENT) failed, ignored");
    }
    if (fc_sockaddr_port(la) == 0)
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    if (bind(fd, la, local->addr.socklen) < 0) {
        fc_log_error(FC_LOG_CRIT, log, errno, "bind(%s) failed", local->addr.name.data);
        return FC_ERROR;
    }
    return FC_OK;
}

/* socket() + options + connect(): the fd, FC_ERROR (no socket) or FC_DECLINED (refused). */
static int
connect_open(const fc_addr_t *addr, int type, unsigned flags, const fc_upstream_local_t *local,
             fc_log_t *log, int *in_progress)
{
    const struct sockaddr *sa = (const struct sockaddr *) &addr->sa;
    int fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fc_log_error(FC_LOG_ALERT, log, errno, "socket() failed");
        return FC_ERROR;
    }
    int one = 1;
    if ((flags & FC_UPSTREAM_CONNECT_NODELAY) && type == SOCK_STREAM && sa->sa_family != AF_UNIX)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (flags & FC_UPSTREAM_CONNECT_KEEPALIVE)
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    if (local && connect_bind(fd, local, log) != FC_OK) {
        close(fd);
        return FC_ERROR;
    }
    *in_progress = 0;
    if (connect(fd, sa, addr->socklen) < 0) {
        if (errno != EINPROGRESS) {
            fc_log_error(FC_LOG_ERR, log, errno, "connect() to %s failed", addr->name.data);
            close(fd);
            return FC_DECLINED;
        }
        *in_progress = 1;
    }
    return fd;
}

int
fc_upstream_connect(fc_conn_pool_t *cp, const fc_addr_t *addr, int type, unsigned flags,
                    const fc_upstream_local_t *local, fc_log_t *log, fc_connection_t **pc)
{
    int in_progress;
    int fd = connect_open(addr, type, flags, local, log, &in_progress);
    *pc = NULL;
    if (fd < 0)
        return fd;
    fc_connection_t *c = fc_conn_get(cp, fd, log);
    if (c == NULL) {
        close(fd);
        return FC_ERROR;
    }
    c->type = type;
    c->start_msec = fc_current_msec();
    memcpy(&c->sockaddr, &addr->sa, addr->socklen);
    c->socklen = addr->socklen;
    if (fc_event_add_conn(c->loop, c) != FC_OK) {
        fc_close_connection(c);
        return FC_DECLINED;
    }
    *pc = c;
    return in_progress ? FC_AGAIN : FC_OK;
}

int
fc_upstream_connect_result(fc_connection_t *pc, fc_log_t *log)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(pc->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        fc_log_error(FC_LOG_ERR, log, err, "connect() failed");
        return FC_ERROR;
    }
    return pc->write->ready || pc->read->ready ? FC_OK : FC_AGAIN;
}
