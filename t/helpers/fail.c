/*
 * fail - a backend that breaks connections, for failover tests.
 *
 *   fail -p PORT [-l LOGFILE] [-m close|read|partial] [-r] [-a] [-b BYTES]
 *
 *   -m close    (default) close right after the accept
 *   -m read     read the request, then close without answering
 *   -m partial  read the request, send part of a response (-b), then close
 *   -r          close with an RST (SO_LINGER 0) instead of a FIN
 *   -a          "the request" is the first bytes that arrive, whatever they
 *               are; by default it ends at the first blank line (\r\n\r\n)
 *   -b BYTES    the partial answer (\r \n \t \0 \\ \xHH interpreted); default
 *               "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial"
 * The client closing first also ends the request.  One log line per
 * accepted connection ("accept N 127.0.0.1:PORT").  SIGTERM/SIGINT end it.
 */
#define PROG "fail"
#include "helpers.h"

enum { M_CLOSE, M_READ, M_PARTIAL };

typedef struct {
    int fd;
    char tail[4]; /* last bytes seen, to find \r\n\r\n across reads */
} conn_t;

static int log_fd = 2, ep, mode = M_CLOSE, rst, any_data;
static char answer[65536];
static size_t answer_len;

/* The whole point of this server: end the connection the chosen way. */
static void
finish(int fd)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    size_t off = 0;
    ssize_t n;

    /* the answer is small and the socket buffer fresh, so this loop only
     * spins on EINTR in practice; bounded anyway */
    for (int tries = 0; mode == M_PARTIAL && off < answer_len && tries < 1000; tries++) {
        n = write(fd, answer + off, answer_len - off);
        if (n > 0)
            off += (size_t)n;
        else if (n < 0 && errno != EINTR && errno != EAGAIN)
            break;
    }
    if (rst)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
}

/* Read until the request is complete (or the peer closes), then finish. */
static void
conn_read(conn_t *c)
{
    char buf[65536 + 4];
    ssize_t n;
    size_t t;

    for (;;) {
        memcpy(buf, c->tail, 4);
        n = read(c->fd, buf + 4, sizeof(buf) - 4);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0 || any_data || memmem(buf, (size_t)n + 4, "\r\n\r\n", 4) != NULL)
            break;
        t = (size_t)n + 4;
        memcpy(c->tail, buf + t - 4, 4);
    }
    finish(c->fd); /* close() drops it from the epoll set */
    free(c);
}

static void
accept_all(int lfd)
{
    static unsigned long nconns;
    struct sockaddr_in sa;
    conn_t *c;
    int fd;

    while ((fd = accept_next(lfd, &sa)) >= 0) {
        log_accept(log_fd, ++nconns, &sa);
        if (mode == M_CLOSE) {
            finish(fd);
            continue;
        }
        c = calloc(1, sizeof(*c));
        if (c == NULL)
            die("calloc");
        c->fd = fd;
        ep_ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN, c);
    }
}

int
main(int argc, char **argv)
{
    static const char dflt[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial";
    int port = 0, opt, lfd, sfd, i, n;
    struct epoll_event evs[256];

    memcpy(answer, dflt, sizeof(dflt) - 1);
    answer_len = sizeof(dflt) - 1;
    while ((opt = getopt(argc, argv, "p:l:m:rab:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'r': rst = 1; break;
        case 'a': any_data = 1; break;
        case 'm':
            if (strcmp(optarg, "close") == 0)
                mode = M_CLOSE;
            else if (strcmp(optarg, "read") == 0)
                mode = M_READ;
            else if (strcmp(optarg, "partial") == 0)
                mode = M_PARTIAL;
            else {
                dprintf(2, "fail: unknown mode %s\n", optarg);
                return 2;
            }
            break;
        case 'b': answer_len = escaped_arg(answer, sizeof(answer), optarg); break;
        case 'l': log_fd = open_log(optarg); break;
        default:
            dprintf(2, "usage: fail -p PORT [-l LOG] [-m close|read|partial] [-r] [-a] "
                       "[-b BYTES]\n");
            return 2;
        }
    }
    require_port(port, 2);

    ep = tcp_server(port, 1024, 1, &lfd, &sfd);

    for (;;) {
        n = ep_wait(ep, evs, 256, -1);
        for (i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL)
                accept_all(lfd);
            else if (evs[i].data.ptr == &sfd)
                return 0;
            else
                conn_read(evs[i].data.ptr);
        }
    }
}
