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
#include <arpa/inet.h>
#include <ctype.h>
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

enum { M_CLOSE, M_READ, M_PARTIAL };

typedef struct {
    int fd;
    char tail[4]; /* last bytes seen, to find \r\n\r\n across reads */
} conn_t;

static int log_fd = 2, ep, mode = M_CLOSE, rst, any_data;
static char answer[65536];
static size_t answer_len;

static void
die(const char *what)
{
    dprintf(2, "fail: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int
hexval(char ch)
{
    return ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;
}

/* Interpret \r \n \t \0 \\ \xHH in place; returns the new length. */
static size_t
unescape(char *s, size_t n)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 == n) {
            s[o++] = s[i];
            continue;
        }
        switch (s[++i]) {
        case 'r': s[o++] = '\r'; break;
        case 'n': s[o++] = '\n'; break;
        case 't': s[o++] = '\t'; break;
        case '0': s[o++] = '\0'; break;
        case 'x':
            if (i + 2 < n && isxdigit((unsigned char)s[i + 1])
                && isxdigit((unsigned char)s[i + 2])) {
                s[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
                i += 2;
                break;
            }
            /* fall through */
        default: s[o++] = s[i]; break;
        }
    }
    return o;
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
            return;
        }
        dprintf(log_fd, "accept %lu %s:%u\n", ++nconns, inet_ntoa(sa.sin_addr),
                ntohs(sa.sin_port));
        if (mode == M_CLOSE) {
            finish(fd);
            continue;
        }
        c = calloc(1, sizeof(*c));
        if (c == NULL)
            die("calloc");
        c->fd = fd;
        ev.events = EPOLLIN;
        ev.data.ptr = c;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            die("epoll_ctl");
    }
}

int
main(int argc, char **argv)
{
    static const char dflt[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial";
    int port = 0, opt, lfd, sfd, one = 1, i, n;
    struct sockaddr_in sa;
    struct epoll_event ev, evs[256];
    sigset_t mask;

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
        case 'b':
            answer_len = strlen(optarg) < sizeof(answer) ? strlen(optarg) : sizeof(answer) - 1;
            memcpy(answer, optarg, answer_len);
            answer_len = unescape(answer, answer_len);
            break;
        case 'l':
            log_fd = open(optarg, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (log_fd < 0)
                die(optarg);
            break;
        default:
            dprintf(2, "usage: fail -p PORT [-l LOG] [-m close|read|partial] [-r] [-a] "
                       "[-b BYTES]\n");
            return 2;
        }
    }
    if (port <= 0 || port > 65535) {
        dprintf(2, "fail: -p PORT is required\n");
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
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
        die("epoll_ctl");
    ev.data.ptr = &sfd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) < 0)
        die("epoll_ctl");

    for (;;) {
        n = epoll_wait(ep, evs, 256, -1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
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
