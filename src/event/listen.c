/*
 * listen.c: the master's listening sockets. Each address gets one
 * SO_REUSEPORT socket per worker slot, so each worker accepts from its own
 * queue and the kernel spreads connections without a lock. A reload takes
 * the fds over slot by slot: the new worker i inherits the very socket the
 * old worker i accepted from.
 */
#include "core/fc_core.h"
#include "core/cycle.h"
#include "event/listen.h"

#include <netinet/in.h>
#include <sys/un.h>

fc_listening_t *
fc_listening_add(fc_cycle_t *cycle, const fc_addr_t *addr, int type, int *existed)
{
    fc_listening_t *ls = cycle->listening.elts;
    for (size_t i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].type == type &&
            fc_sockaddr_eq((struct sockaddr *) &ls[i].addr.sa, ls[i].addr.socklen,
                           (struct sockaddr *) &addr->sa, addr->socklen, 1)) {
            *existed = 1;
            return &ls[i];
        }
    }
    *existed = 0;
    fc_listening_t *l = fc_array_push(&cycle->listening);
    if (l == NULL)
        return NULL;
    l->addr = *addr;
    l->type = type;
    l->backlog = 511; /* nginx's default on Linux */
    l->rcvbuf = -1;
    l->sndbuf = -1;
    l->pool_size = 512;
    return l;
}

static void
listen_bind_error(const fc_listening_t *ls, fc_log_t *log, int err)
{
    fc_log_error(FC_LOG_EMERG, log, 0, "bind() to %s failed (%d: %s) in %s:%u", ls->addr.name.data,
                 err, strerror(err), ls->conf_file, ls->conf_line);
}

/*
 * SO_REUSEPORT would let a second server (another fulcrum, started by
 * mistake) share a port we are about to take and quietly get part of its
 * traffic. A first bind without it fails, as nginx's bind does, when
 * anything already listens there; SO_REUSEADDR keeps TIME_WAIT leftovers
 * out of it. Datagram sockets share a port with SO_REUSEADDR, so their
 * probe goes without it.
 */
static int
listen_probe_free(const fc_listening_t *ls, fc_log_t *log)
{
    const struct sockaddr *sa = (const struct sockaddr *) &ls->addr.sa;
    int fd = socket(sa->sa_family, ls->type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return FC_OK; /* the real socket() reports it */
    int one = 1;
    if (ls->type == SOCK_STREAM)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (sa->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    int rc = bind(fd, sa, ls->addr.socklen) < 0 && errno == EADDRINUSE ? FC_BUSY : FC_OK;
    close(fd);
    if (rc == FC_BUSY)
        listen_bind_error(ls, log, EADDRINUSE);
    return rc;
}

/* Bound to every address (0.0.0.0 or ::): the destination of a datagram is not known. */
static int
listen_is_wildcard(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ((const struct sockaddr_in *) sa)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *) sa)->sin6_addr);
    return 0;
}

/* The bound socket's fd; FC_BUSY when the address is in use, FC_ERROR otherwise. */
static int
listen_socket_open(fc_listening_t *ls, fc_log_t *log, int test_only)
{
    const struct sockaddr *sa = (const struct sockaddr *) &ls->addr.sa;
    int fd = socket(sa->sa_family, ls->type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fc_log_error(FC_LOG_EMERG, log, errno, "socket() for %s failed in %s:%u",
                     ls->addr.name.data, ls->conf_file, ls->conf_line);
        return -1;
    }
    int one = 1;
    /* SO_REUSEADDR lets a restart bind at once; SO_REUSEPORT gives each slot its own queue. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (sa->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (ls->rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &ls->rcvbuf, sizeof(int));
    if (ls->sndbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &ls->sndbuf, sizeof(int));
    if (ls->type == SOCK_DGRAM && listen_is_wildcard(sa)) {
        /*
         * A wildcard UDP socket learns each datagram's destination ($server_addr,
         * the reply's source), as nginx; a bound address needs no ancillary data.
         */
        if (sa->sa_family == AF_INET)
            setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
        else if (sa->sa_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
    }
    if (bind(fd, sa, ls->addr.socklen) < 0) {
        int err = errno;
        close(fd);
        /* As nginx -t: a port in use (by the running server, most often) is no error. */
        if (test_only && err == EADDRINUSE)
            return 0;
        listen_bind_error(ls, log, err);
        return err == EADDRINUSE ? FC_BUSY : FC_ERROR;
    }
    if (test_only) {
        close(fd);
        /* As nginx -t: remove the unix socket file this test bind just created. */
        if (sa->sa_family == AF_UNIX)
            unlink(((const struct sockaddr_un *) sa)->sun_path);
        return 0;
    }
    if (ls->type == SOCK_STREAM && listen(fd, ls->backlog) < 0) {
        fc_log_error(FC_LOG_EMERG, log, errno, "listen() to %s, backlog %d failed in %s:%u",
                     ls->addr.name.data, ls->backlog, ls->conf_file, ls->conf_line);
        close(fd);
        return -1;
    }
    return fd;
}

static fc_listening_t *
listen_find(fc_cycle_t *cycle, const fc_listening_t *like)
{
    if (cycle == NULL)
        return NULL;
    fc_listening_t *ls = cycle->listening.elts;
    for (size_t i = 0; i < cycle->listening.nelts; i++) {
        if (ls[i].type == like->type && ls[i].fds &&
            fc_sockaddr_eq((struct sockaddr *) &ls[i].addr.sa, ls[i].addr.socklen,
                           (struct sockaddr *) &like->addr.sa, like->addr.socklen, 1))
            return &ls[i];
    }
    return NULL;
}

/*
 * 1 when the running configuration listens on this port already (a reload
 * that moves 127.0.0.1:80 to *:80): the probe would meet our own sockets,
 * which SO_REUSEPORT lets the new ones join.
 */
static int
listen_port_ours(fc_cycle_t *old, const fc_listening_t *like)
{
    if (old == NULL)
        return 0;
    const struct sockaddr *sa = (const struct sockaddr *) &like->addr.sa;
    fc_listening_t *ls = old->listening.elts;
    for (size_t i = 0; i < old->listening.nelts; i++) {
        const struct sockaddr *o = (const struct sockaddr *) &ls[i].addr.sa;
        if (ls[i].type == like->type && ls[i].fds && o->sa_family == sa->sa_family &&
            fc_sockaddr_port(o) == fc_sockaddr_port(sa))
            return 1;
    }
    return 0;
}

/*
 * Opens every slot of one address: FC_OK, FC_BUSY when the address is in use
 * (nothing of it is left open then), FC_ERROR.
 */
static int
listen_open_slots(fc_cycle_t *cycle, fc_cycle_t *old, fc_listening_t *l, size_t slots,
                  fc_log_t *log)
{
    fc_listening_t *prev = listen_find(old, l);
    if (l->fds == NULL) {
        l->fds = fc_palloc(cycle->pool, slots * sizeof(int));
        if (l->fds == NULL)
            return FC_ERROR;
    }
    l->nfds = slots;
    for (size_t s = 0; s < slots; s++)
        l->fds[s] = -1; /* the error path below looks at every slot */
    int rc = FC_OK;
    for (size_t s = 0; s < slots && rc == FC_OK; s++) {
        if (prev && s < prev->nfds && prev->fds[s] >= 0) {
            l->fds[s] = prev->fds[s];
            continue;
        }
        if (cycle->test_only && (prev || l->type == SOCK_DGRAM || s > 0))
            continue; /* a datagram socket would steal traffic, even unused */
        if (s == 0 && !cycle->test_only && l->addr.sa.ss_family != AF_UNIX &&
            !listen_port_ours(old, l)) {
            rc = listen_probe_free(l, log);
            if (rc != FC_OK)
                break;
        }
        int fd;
        if (l->addr.sa.ss_family == AF_UNIX && s > 0 && !cycle->test_only) {
            /* SO_REUSEPORT means nothing for unix sockets: slots share one. */
            fd = fcntl(l->fds[0], F_DUPFD_CLOEXEC, 0);
        } else {
            fd = listen_socket_open(l, log, cycle->test_only);
        }
        if (fd < 0)
            rc = fd == FC_BUSY ? FC_BUSY : FC_ERROR;
        else if (!cycle->test_only)
            l->fds[s] = fd;
    }
    if (rc != FC_OK) {
        for (size_t s = 0; s < slots; s++) {
            if (l->fds[s] >= 0 && !(prev && s < prev->nfds && prev->fds[s] == l->fds[s]))
                close(l->fds[s]);
            l->fds[s] = -1;
        }
        return rc;
    }
    l->opened = 1;
    return FC_OK;
}

/*
 * As nginx: an address in use (most often the previous server, still
 * exiting after a stop) is tried again five times, 500 ms apart, before
 * giving up; any other failure ends at once.
 */
#define LISTEN_BIND_TRIES 5
#define LISTEN_BIND_DELAY_US 500000

int
fc_listening_open(fc_cycle_t *cycle, fc_cycle_t *old, size_t slots, fc_log_t *log)
{
    fc_listening_t *ls = cycle->listening.elts;
    for (int tries = LISTEN_BIND_TRIES; tries > 0; tries--) {
        int busy = 0;
        for (size_t i = 0; i < cycle->listening.nelts; i++) {
            if (ls[i].opened)
                continue;
            int rc = listen_open_slots(cycle, old, &ls[i], slots, log);
            if (rc == FC_ERROR) {
                fc_listening_close_unused(cycle, old);
                return FC_ERROR;
            }
            busy |= rc == FC_BUSY;
        }
        if (!busy)
            return FC_OK;
        /* nginx waits after the last try too, so a failed start takes 2.5 s */
        fc_log_error(FC_LOG_NOTICE, log, 0, "try again to bind() after 500ms");
        usleep(LISTEN_BIND_DELAY_US);
    }
    fc_log_error(FC_LOG_EMERG, log, 0, "still could not bind()");
    fc_listening_close_unused(cycle, old);
    return FC_ERROR;
}

static int
listen_fd_used(fc_cycle_t *cycle, int fd)
{
    if (cycle == NULL)
        return 0;
    fc_listening_t *ls = cycle->listening.elts;
    for (size_t i = 0; i < cycle->listening.nelts; i++) {
        for (size_t s = 0; ls[i].fds && s < ls[i].nfds; s++) {
            if (ls[i].fds[s] == fd)
                return 1;
        }
    }
    return 0;
}

void
fc_listening_close_unused(fc_cycle_t *old, fc_cycle_t *cycle)
{
    fc_listening_t *ls = old->listening.elts;
    for (size_t i = 0; i < old->listening.nelts; i++) {
        for (size_t s = 0; ls[i].fds && s < ls[i].nfds; s++) {
            if (ls[i].fds[s] >= 0 && !listen_fd_used(cycle, ls[i].fds[s]))
                close(ls[i].fds[s]);
            ls[i].fds[s] = -1;
        }
    }
}

void
fc_listening_close_all(fc_cycle_t *cycle)
{
    fc_listening_close_unused(cycle, NULL);
}

void
fc_listening_keep_slot(fc_cycle_t *cycle, size_t slot)
{
    fc_listening_t *ls = cycle->listening.elts;
    for (size_t i = 0; i < cycle->listening.nelts; i++) {
        for (size_t s = 0; ls[i].fds && s < ls[i].nfds; s++) {
            if (s != slot && ls[i].fds[s] >= 0) {
                close(ls[i].fds[s]);
                ls[i].fds[s] = -1;
            }
        }
    }
}

void
fc_listening_unlink_unix(fc_cycle_t *cycle)
{
    fc_listening_t *ls = cycle->listening.elts;
    for (size_t i = 0; i < cycle->listening.nelts; i++) {
        const struct sockaddr_un *su = (const struct sockaddr_un *) &ls[i].addr.sa;
        if (su->sun_family == AF_UNIX && su->sun_path[0] && ls[i].opened)
            unlink(su->sun_path);
    }
}
