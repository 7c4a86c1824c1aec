/*
 * accept.c: accepting TCP connections in batches and demultiplexing UDP
 * datagrams into per-client "connections". When the worker runs out of
 * connection slots it stops accepting (the kernel queue holds the rest)
 * and resumes as soon as one is returned.
 */
#include "core/fc_core.h"
#include "event/events.h"
#include "core/cycle.h"
#include "core/worker.h"

#include <netinet/tcp.h>

#define ACCEPT_BATCH 64 /* multi_accept on: at most this many per readiness (fairness) */
#define UDP_TABLE_SIZE 1024

typedef struct {
    fc_worker_t *worker;
    fc_connection_t *table[UDP_TABLE_SIZE];
    fc_buf_t dgram;
} accept_udp_state_t;

static fc_connection_t *
accept_new_conn(fc_worker_t *w, fc_listening_t *ls, int fd)
{
    fc_connection_t *c = fc_conn_get(w->conns, fd, w->log);
    if (c == NULL)
        return NULL;
    c->pool = fc_pool_create(ls->pool_size, w->log);
    c->log = fc_pcalloc(c->pool ? c->pool : w->pool, sizeof(fc_log_t));
    if (c->pool == NULL || c->log == NULL) {
        fc_pool_destroy(c->pool);
        fc_conn_free(w->conns, c);
        return NULL;
    }
    *c->log = *w->log;
    c->number = fc_worker_next_number(w);
    c->log->connection = c->number;
    c->read->log = c->write->log = c->log;
    c->listening = ls;
    c->type = ls->type;
    c->start_msec = fc_current_msec();
    return c;
}

static int
accept_set_addr_text(fc_connection_t *c)
{
    char buf[FC_SOCKADDR_STRLEN];
    size_t n = fc_sockaddr_ntop((struct sockaddr *) &c->sockaddr, c->socklen, buf, sizeof(buf), 0);
    fc_str_t s = {n, (unsigned char *) buf};
    return fc_str_dup(c->pool, &c->addr_text, &s);
}

void
fc_event_accept(fc_event_t *ev)
{
    fc_connection_t *lc = ev->data;
    fc_worker_t *w = lc->data;
    fc_listening_t *ls = lc->listening;
    /* multi_accept off (nginx's default): one; the level-triggered socket reports the rest. */
    int batch = fc_events_multi_accept(w->cycle) ? ACCEPT_BATCH : 1;

    for (int i = 0; i < batch; i++) {
        if (fc_conn_free_count(w->conns) == 0) {
            fc_log_error(FC_LOG_ALERT, w->log, 0, "%zu worker_connections are not enough",
                         fc_conn_used(w->conns));
            fc_worker_accept_pause(w);
            return;
        }
        struct sockaddr_storage sa;
        socklen_t len = sizeof(sa);
        int fd = accept4(lc->fd, (struct sockaddr *) &sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                return;
            fc_log_error(errno == EMFILE || errno == ENFILE ? FC_LOG_CRIT : FC_LOG_ERR, w->log,
                         errno, "accept4() failed");
            if (errno == EMFILE || errno == ENFILE)
                fc_worker_accept_pause(w);
            return;
        }
        fc_connection_t *c = accept_new_conn(w, ls, fd);
        if (c == NULL) {
            close(fd);
            return;
        }
        memcpy(&c->sockaddr, &sa, len);
        c->socklen = len;
        if (accept_set_addr_text(c) != FC_OK) {
            fc_close_connection(c);
            continue;
        }
        ls->handler(c);
    }
}

static size_t
udp_hash(const struct sockaddr *sa, socklen_t len)
{
    return fc_hash_fnv1a((const unsigned char *) sa, len) % UDP_TABLE_SIZE;
}

static accept_udp_state_t *
udp_state(fc_connection_t *lc)
{
    if (lc->udp_table)
        return lc->udp_table;
    fc_worker_t *w = lc->data;
    accept_udp_state_t *st = fc_pcalloc(w->pool, sizeof(*st));
    if (st == NULL)
        return NULL;
    st->worker = w;
    st->dgram.start = fc_palloc(w->pool, 65536);
    if (st->dgram.start == NULL)
        return NULL;
    st->dgram.end = st->dgram.start + 65536;
    lc->udp_table = st;
    return st;
}

static fc_connection_t *
udp_find(accept_udp_state_t *st, const struct sockaddr *sa, socklen_t len)
{
    for (fc_connection_t *c = st->table[udp_hash(sa, len)]; c; c = c->udp_next) {
        if (c->socklen == len && memcmp(&c->sockaddr, sa, len) == 0)
            return c;
    }
    return NULL;
}

static fc_connection_t *
udp_new_conn(fc_connection_t *lc, accept_udp_state_t *st, struct sockaddr_storage *sa,
             socklen_t len)
{
    fc_worker_t *w = st->worker;
    fc_connection_t *c = accept_new_conn(w, lc->listening, lc->fd);
    if (c == NULL)
        return NULL;
    c->shared = 1;
    memcpy(&c->sockaddr, sa, len);
    c->socklen = len;
    c->local_sockaddr = lc->local_sockaddr;
    c->local_socklen = lc->local_socklen;
    c->local_known = lc->local_known;
    c->udp_listener = lc;
    size_t h = udp_hash((struct sockaddr *) sa, len);
    c->udp_next = st->table[h];
    st->table[h] = c;
    if (accept_set_addr_text(c) != FC_OK) {
        fc_close_connection(c);
        return NULL;
    }
    return c;
}

/*
 * One datagram into st->dgram, with its sender (sa) and, when the kernel
 * says (IP_PKTINFO on the listening socket), the address it was sent to,
 * with the listener's port (dst; dst_len 0 when unknown).
 */
static ssize_t
udp_recv(fc_connection_t *lc, accept_udp_state_t *st, struct sockaddr_storage *sa, socklen_t *len,
         struct sockaddr_storage *dst, socklen_t *dst_len)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    } control;
    struct iovec iov = {st->dgram.start, 65536};
    struct msghdr msg = {.msg_name = sa,
                         .msg_namelen = *len,
                         .msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control.buf,
                         .msg_controllen = sizeof(control.buf)};
    ssize_t n = recvmsg(lc->fd, &msg, 0);
    if (n < 0)
        return n;
    *len = msg.msg_namelen;
    *dst_len = 0;
    if (fc_conn_local_addr(lc) != FC_OK)
        return n;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
            struct sockaddr_in *d = (struct sockaddr_in *) dst;
            memcpy(d, &lc->local_sockaddr, sizeof(*d));
            d->sin_addr = pi.ipi_addr;
            *dst_len = sizeof(*d);
        } else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
            struct sockaddr_in6 *d = (struct sockaddr_in6 *) dst;
            memcpy(d, &lc->local_sockaddr, sizeof(*d));
            d->sin6_addr = pi.ipi6_addr;
            *dst_len = sizeof(*d);
        }
    }
    return n;
}

void
fc_event_recv_udp(fc_event_t *ev)
{
    fc_connection_t *lc = ev->data;
    accept_udp_state_t *st = udp_state(lc);
    if (st == NULL)
        return;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage sa, dst;
        socklen_t len = sizeof(sa), dst_len = 0;
        ssize_t n = udp_recv(lc, st, &sa, &len, &dst, &dst_len);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                fc_log_error(FC_LOG_ERR, st->worker->log, errno, "recvmsg() failed");
            return;
        }
        st->dgram.pos = st->dgram.start;
        st->dgram.last = st->dgram.start + n;
        fc_connection_t *c = udp_find(st, (struct sockaddr *) &sa, len);
        int fresh = c == NULL;
        if (fresh) {
            c = udp_new_conn(lc, st, &sa, len);
            if (c == NULL)
                continue;
            if (dst_len) {
                memcpy(&c->local_sockaddr, &dst, dst_len);
                c->local_socklen = dst_len;
                c->local_known = 1;
                c->udp_pktinfo = 1;
            }
        }
        c->udp_buf = &st->dgram;
        c->received += (uint64_t) n;
        c->read->ready = 1;
        if (fresh)
            lc->listening->handler(c);
        else if (c->read->handler)
            c->read->handler(c->read);
        if (c->fd != -1 && c->udp_buf == &st->dgram)
            c->udp_buf = NULL; /* the datagram buffer is reused for the next one */
    }
}

ssize_t
fc_event_udp_reply(fc_connection_t *c, const void *buf, size_t len)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    } control;
    struct iovec iov = {(void *) buf, len};
    struct msghdr msg = {
        .msg_name = &c->sockaddr, .msg_namelen = c->socklen, .msg_iov = &iov, .msg_iovlen = 1};
    const struct sockaddr *local = (const struct sockaddr *) &c->local_sockaddr;
    struct in_pktinfo pi4 = {0};
    struct in6_pktinfo pi6 = {0};
    const void *pi = NULL;
    size_t pi_len = 0;
    if (c->udp_pktinfo && local->sa_family == AF_INET) {
        pi4.ipi_spec_dst = ((const struct sockaddr_in *) local)->sin_addr;
        pi = &pi4, pi_len = sizeof(pi4);
    } else if (c->udp_pktinfo && local->sa_family == AF_INET6) {
        pi6.ipi6_addr = ((const struct sockaddr_in6 *) local)->sin6_addr;
        pi = &pi6, pi_len = sizeof(pi6);
    }
    if (pi) {
        memset(&control, 0, sizeof(control));
        msg.msg_control = control.buf;
        msg.msg_controllen = CMSG_SPACE(pi_len);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = local->sa_family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
        cm->cmsg_type = local->sa_family == AF_INET ? IP_PKTINFO : IPV6_PKTINFO;
        cm->cmsg_len = CMSG_LEN(pi_len);
        memcpy(CMSG_DATA(cm), pi, pi_len);
    }
    return sendmsg(c->fd, &msg, 0);
}

void
fc_event_udp_unlink(fc_connection_t *c)
{
    fc_connection_t *lc = c->udp_listener;
    if (lc == NULL || lc->udp_table == NULL)
        return;
    accept_udp_state_t *st = lc->udp_table;
    fc_connection_t **pp = &st->table[udp_hash((struct sockaddr *) &c->sockaddr, c->socklen)];
    while (*pp && *pp != c)
        pp = &(*pp)->udp_next;
    if (*pp)
        *pp = c->udp_next;
    c->udp_listener = NULL;
}
