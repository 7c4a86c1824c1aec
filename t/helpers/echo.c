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
#define PROG "echo"
#include "helpers.h"

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
        ep_ctl(ep, EPOLL_CTL_MOD, c->fd, want, c);
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
accept_all(int lfd, const char *id)
{
    struct sockaddr_in sa;
    conn_t *c;
    int fd;

    while ((fd = accept_next(lfd, &sa)) >= 0) {
        log_accept(log_fd, ++nconns, &sa);
        c = calloc(1, sizeof(*c));
        if (c == NULL)
            die("calloc");
        c->fd = fd;
        if (id != NULL)
            c->end = (size_t)snprintf(c->buf, BUF_SIZE, "%s\n", id);
        c->events = EPOLLIN | EPOLLOUT;
        ep_ctl(ep, EPOLL_CTL_ADD, fd, c->events, c);
    }
    if (errno != EAGAIN)
        dprintf(2, "echo: accept: %s\n", strerror(errno));
}

int
main(int argc, char **argv)
{
    const char *id = NULL;
    int port = 0, opt, lfd, sfd, i, n;
    struct epoll_event evs[256];

    while ((opt = getopt(argc, argv, "p:i:l:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'i': id = optarg; break;
        case 'l': log_fd = open_log(optarg); break;
        default:
            dprintf(2, "usage: echo -p PORT [-i ID] [-l LOGFILE]\n");
            return 2;
        }
    }
    require_port(port, 2);

    /* the listener and the signalfd are told apart by a NULL / non-NULL tag */
    ep = tcp_server(port, 1024, 1, &lfd, &sfd);

    for (;;) {
        n = ep_wait(ep, evs, 256, -1);
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
