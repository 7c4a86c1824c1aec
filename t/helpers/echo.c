/*
 * echo - TCP echo server for the fulcrum test suite.
 *
 *   echo -p PORT [-i ID] [-l LOGFILE]
 *
 * Binds 127.0.0.1:PORT.  With -i, every connection first receives "ID\n",
 * then everything the client sends is echoed back.  Half-close is honoured:
 * when the client shuts down its write side the server finishes echoing what
 * it received, then shuts down its own write side and closes.  One log line
 * per accepted connection ("accept N 127.0.0.1:PORT") goes to stderr or the
 * -l file.  SIGTERM/SIGINT end the server cleanly.
 *
 * Each connection owns a fixed ring-less buffer: we only read while there is
 * room and only write while there is data, so a client that does not read
 * gets back-pressure instead of making us buffer without bound.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE (64 * 1024)

typedef struct conn_s {
    int fd;
    int eof;          /* client shut down its write side */
    unsigned events;  /* epoll interest currently registered */
    size_t start, end; /* pending bytes are buf[start, end) */
    char buf[BUF_SIZE];
} conn_t;

static int log_fd = 2;
static int ep;
static unsigned long nconns;

static void
die(const char *what)
{
    dprintf(2, "echo: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void
conn_close(conn_t *c)
{
    close(c->fd); /* close() also removes it from the epoll set */
    free(c);
}

/* Register the interest that matches the state: read while there is room and
 * the client has not finished, write while bytes are pending. */
static int
conn_update(conn_t *c)
{
    unsigned want = 0;
    struct epoll_event ev;

    if (!c->eof && c->end < BUF_SIZE)
        want |= EPOLLIN;
    if (c->end > c->start)
        want |= EPOLLOUT;
    if (want == 0) {
        /* everything echoed and the client is done: half-close, then close */
        shutdown(c->fd, SHUT_WR);
        conn_close(c);
        return -1;
    }
    if (want != c->events) {
        ev.events = want;
        ev.data.ptr = c;
        if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
            die("epoll_ctl");
        c->events = want;
    }
    return 0;
}

static void
conn_io(conn_t *c)
{
    ssize_t n;

    for (;;) {
        int progress = 0;

        if (c->end > c->start) {
            n = write(c->fd, c->buf + c->start, c->end - c->start);
            if (n > 0) {
                c->start += (size_t)n;
                if (c->start == c->end)
                    c->start = c->end = 0;
                progress = 1;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                conn_close(c);
                return;
            }
        }
        if (!c->eof && c->end < BUF_SIZE) {
            if (c->start > 0) { /* compact so the read gets the most room */
                memmove(c->buf, c->buf + c->start, c->end - c->start);
                c->end -= c->start;
                c->start = 0;
            }
            n = read(c->fd, c->buf + c->end, BUF_SIZE - c->end);
            if (n > 0) {
                c->end += (size_t)n;
                progress = 1;
            } else if (n == 0) {
                c->eof = 1;
                progress = 1;
            } else if (errno != EAGAIN && errno != EINTR) {
                conn_close(c);
                return;
            }
        }
        if (!progress)
            break;
    }
    conn_update(c);
}

static void
raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void
accept_all(int lfd, const char *id)
{
    struct sockaddr_in sa;
    socklen_t len;
    struct epoll_event ev;
    conn_t *c;
    int fd;

    for (;;) {
        len = sizeof(sa);
        fd = accept4(lfd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN)
                dprintf(2, "echo: accept: %s\n", strerror(errno));
            return;
        }
        dprintf(log_fd, "accept %lu %s:%u\n", ++nconns, inet_ntoa(sa.sin_addr),
                ntohs(sa.sin_port));
        c = calloc(1, sizeof(*c));
        if (c == NULL)
            die("calloc");
        c->fd = fd;
        if (id != NULL)
            c->end = (size_t)snprintf(c->buf, BUF_SIZE, "%s\n", id);
        c->events = EPOLLIN | EPOLLOUT;
        ev.events = c->events;
        ev.data.ptr = c;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            die("epoll_ctl");
    }
}

int
main(int argc, char **argv)
{
    const char *id = NULL;
    int port = 0, opt, lfd, sfd, one = 1, i, n;
    struct sockaddr_in sa;
    struct epoll_event ev, evs[256];
    sigset_t mask;

    while ((opt = getopt(argc, argv, "p:i:l:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'i': id = optarg; break;
        case 'l':
            log_fd = open(optarg, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (log_fd < 0)
                die(optarg);
            break;
        default:
            dprintf(2, "usage: echo -p PORT [-i ID] [-l LOGFILE]\n");
            return 2;
        }
    }
    if (port <= 0 || port > 65535) {
        dprintf(2, "echo: -p PORT is required\n");
        return 2;
    }

    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sfd < 0)
        die("signalfd");

    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        die("socket");
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die("bind");
    if (listen(lfd, 1024) < 0)
        die("listen");

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    /* the listener and the signalfd are told apart by a NULL / non-NULL tag */
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
        die("epoll_ctl");
    ev.data.ptr = &sfd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) < 0)
        die("epoll_ctl");

    for (;;) {
        n = epoll_wait(ep, evs, 256, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL)
                accept_all(lfd, id);
            else if (evs[i].data.ptr == &sfd)
                return 0;
            else
                conn_io(evs[i].data.ptr);
        }
    }
}
