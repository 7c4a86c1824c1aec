/*
 * okd - the HTTP/1.1 backend of scripts/bench.sh's L7 and reload sections.
 *
 *   okd -p PORT
 *
 * Answers every request with "200 OK", "Content-Length: 2" and the body "ok",
 * on 127.0.0.1:PORT, single-threaded, level-triggered epoll.  Keep-alive and
 * pipelining work; "Connection: close" in a request (or HTTP/1.0 without
 * "Connection: keep-alive", which is what nginx and fulcrum send upstream
 * without a pool) is answered with "Connection: close" and the connection is
 * closed.  A Content-Length request body is read and dropped; a chunked one
 * gets 501 and a close (the bench sends none).
 *
 * "GET /okd-stats" answers "conns=N reqs=M\n": connections accepted and
 * requests answered since start, so the bench can tell how many upstream
 * connections the proxy opened per request (a keep-alive pool that works
 * opens almost none).  Its own connection counts in conns, its request not
 * in reqs.
 *
 * Why not an nginx backend: the counters above are how the bench checks
 * that the pool is used and that every request reached the backend.  The
 * cost is about the same (6 us of CPU per keep-alive request, nginx's
 * "return 200" 7 us, on the development machine), so wrk keeps as much of
 * the core they share.  bench.sh builds it with the system cc into its work
 * directory.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define OKD_INBUF 16384
#define OKD_OUTBUF 65536
#define OKD_MAX_EVENTS 256

typedef struct {
    int fd;
    size_t in_len;  /* bytes in in[] */
    size_t skip;    /* request body bytes still to drop */
    size_t out_off; /* first unsent byte of out[] */
    size_t out_len; /* bytes in out[] */
    int closing;    /* close once out[] is sent */
    int want_out;   /* registered for EPOLLOUT rather than EPOLLIN */
    char in[OKD_INBUF];
    char out[OKD_OUTBUF];
} okd_conn_t;

typedef struct {
    int ep;
    int lfd;
    unsigned long long conns;
    unsigned long long reqs;
} okd_t;

static const char okd_ok[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             "Content-Length: 2\r\n\r\nok";
static const char okd_ok_close[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                   "Content-Length: 2\r\nConnection: close\r\n\r\nok";
static const char okd_501[] = "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n"
                              "Connection: close\r\n\r\n";

__attribute__((noreturn)) static void
okd_die(const char *what)
{
    dprintf(2, "okd: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Value of header NAME (case-insensitive) in HDR[0, len), or NULL. */
static const char *
okd_header(const char *hdr, size_t len, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    const char *p = memchr(hdr, '\n', len), *end = hdr + len;

    while (p != NULL && p + 1 < end) {
        const char *line = p + 1, *eol = memchr(line, '\n', (size_t) (end - line));

        if (eol == NULL)
            eol = end;
        if ((size_t) (eol - line) > nlen && line[nlen] == ':' &&
            strncasecmp(line, name, nlen) == 0) {
            const char *v = line + nlen + 1;

            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            *vlen = (size_t) (eol - v);
            while (*vlen > 0 && (v[*vlen - 1] == '\r' || v[*vlen - 1] == ' '))
                (*vlen)--;
            return v;
        }
        p = eol < end ? eol : NULL;
    }
    return NULL;
}

static int
okd_has_token(const char *v, size_t vlen, const char *tok)
{
    size_t tlen = strlen(tok);

    for (size_t i = 0; i + tlen <= vlen; i++) {
        if (strncasecmp(v + i, tok, tlen) == 0)
            return 1;
    }
    return 0;
}

static void
okd_append(okd_conn_t *c, const char *s, size_t n)
{
    memcpy(c->out + c->out_len, s, n);
    c->out_len += n;
}

/* Answer the request whose header block is HDR[0, hlen). */
static void
okd_answer(okd_t *o, okd_conn_t *c, const char *hdr, size_t hlen)
{
    const char *v;
    size_t vlen;
    int http10 = memmem(hdr, hlen, " HTTP/1.0\r", 10) != NULL;
    int close_it = http10;

    v = okd_header(hdr, hlen, "Connection", &vlen);
    if (v != NULL && okd_has_token(v, vlen, "close"))
        close_it = 1;
    else if (v != NULL && http10 && okd_has_token(v, vlen, "keep-alive"))
        close_it = 0;
    if (okd_header(hdr, hlen, "Transfer-Encoding", &vlen) != NULL) {
        okd_append(c, okd_501, sizeof(okd_501) - 1);
        c->closing = 1;
        return;
    }
    v = okd_header(hdr, hlen, "Content-Length", &vlen);
    if (v != NULL)
        c->skip = strtoull(v, NULL, 10);
    if (hlen >= 15 && memcmp(hdr, "GET /okd-stats ", 15) == 0) {
        char body[96], head[160];
        int bn = snprintf(body, sizeof(body), "conns=%llu reqs=%llu\n", o->conns, o->reqs);
        int hn = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n", bn,
                          close_it ? "Connection: close\r\n" : "");

        okd_append(c, head, (size_t) hn);
        okd_append(c, body, (size_t) bn);
    } else if (close_it) {
        okd_append(c, okd_ok_close, sizeof(okd_ok_close) - 1);
        o->reqs++;
    } else {
        okd_append(c, okd_ok, sizeof(okd_ok) - 1);
        o->reqs++;
    }
    c->closing = close_it;
}

/* Answer the complete requests in c->in (while out[] has room); keep the
 * incomplete rest.  -1: a header block larger than the buffer. */
static int
okd_parse(okd_t *o, okd_conn_t *c)
{
    size_t pos = 0;

    while (!c->closing && c->out_len + 512 < OKD_OUTBUF) {
        if (c->skip > 0) {
            size_t n = c->in_len - pos < c->skip ? c->in_len - pos : c->skip;

            c->skip -= n;
            pos += n;
            if (c->skip > 0)
                break;
        }
        char *end = memmem(c->in + pos, c->in_len - pos, "\r\n\r\n", 4);

        if (end == NULL)
            break;
        size_t hlen = (size_t) (end + 4 - (c->in + pos));

        okd_answer(o, c, c->in + pos, hlen);
        pos += hlen;
    }
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    return c->in_len == OKD_INBUF ? -1 : 0;
}

static void
okd_close(okd_t *o, okd_conn_t *c)
{
    epoll_ctl(o->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

/* Send what is queued; 1: all sent, 0: would block, -1: error. */
static int
okd_flush(okd_conn_t *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

        if (n < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -1;
        c->out_off += (size_t) n;
    }
    c->out_off = c->out_len = 0;
    return 1;
}

/* Wait for EPOLLOUT (out != 0) or EPOLLIN; a syscall only on a change. */
static void
okd_watch(okd_t *o, okd_conn_t *c, int out)
{
    struct epoll_event ev = {.events = out ? EPOLLOUT : EPOLLIN, .data.ptr = c};

    if (c->want_out != out && epoll_ctl(o->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
        c->want_out = out;
}

/* One readiness event: read once, answer, send; pipelined requests left
 * over because out[] was full are answered as soon as it is sent. */
static void
okd_event(okd_t *o, okd_conn_t *c, unsigned events)
{
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->out_len == 0 && !c->closing) {
        ssize_t n = recv(c->fd, c->in + c->in_len, OKD_INBUF - c->in_len, 0);

        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            okd_close(o, c);
            return;
        }
        if (n > 0) {
            c->in_len += (size_t) n;
            if (okd_parse(o, c) < 0) {
                okd_close(o, c);
                return;
            }
        }
    }
    for (;;) {
        int r = okd_flush(c);

        if (r < 0 || (r == 1 && c->closing)) {
            okd_close(o, c);
            return;
        }
        if (r == 0) {
            okd_watch(o, c, 1);
            return;
        }
        if (c->in_len == 0)
            break;
        if (okd_parse(o, c) < 0) {
            okd_close(o, c);
            return;
        }
        if (c->out_len == 0)
            break;
    }
    okd_watch(o, c, 0);
}

static void
okd_accept(okd_t *o)
{
    for (;;) {
        int fd = accept4(o->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                dprintf(2, "okd: accept: %s\n", strerror(errno));
            return;
        }
        okd_conn_t *c = malloc(sizeof(*c));
        int one = 1;

        if (c == NULL) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->in_len = c->skip = c->out_off = c->out_len = 0;
        c->closing = c->want_out = 0;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};

        if (epoll_ctl(o->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
            continue;
        }
        o->conns++;
    }
}

static void
okd_listen(okd_t *o, int port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    int one = 1;

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    o->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (o->lfd < 0)
        okd_die("socket");
    setsockopt(o->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(o->lfd, (struct sockaddr *) &sin, sizeof(sin)) < 0)
        okd_die("bind");
    if (listen(o->lfd, 4096) < 0)
        okd_die("listen");
    o->ep = epoll_create1(EPOLL_CLOEXEC);
    if (o->ep < 0 || epoll_ctl(o->ep, EPOLL_CTL_ADD, o->lfd, &ev) < 0)
        okd_die("epoll");
}

int
main(int argc, char **argv)
{
    okd_t o = {.conns = 0, .reqs = 0};
    struct epoll_event evs[OKD_MAX_EVENTS];
    struct rlimit rl;
    int port = 0, opt;

    while ((opt = getopt(argc, argv, "p:")) != -1) {
        if (opt != 'p') {
            dprintf(2, "usage: okd -p PORT\n");
            return 2;
        }
        port = atoi(optarg);
    }
    if (port <= 0 || port > 65535) {
        dprintf(2, "usage: okd -p PORT\n");
        return 2;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    okd_listen(&o, port);
    for (;;) {
        int n = epoll_wait(o.ep, evs, OKD_MAX_EVENTS, -1);

        if (n < 0 && errno != EINTR)
            okd_die("epoll_wait");
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL)
                okd_accept(&o);
            else
                okd_event(&o, evs[i].data.ptr, evs[i].events);
        }
    }
}
