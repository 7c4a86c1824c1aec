/*
 * slow - a backend that stalls, for timeout tests.
 *
 *   slow -p PORT [-l LOGFILE] [-d MS] [-t MS] [-b BYTES] [-R] [-N]
 *
 * Accepts connections and reads (and discards) whatever arrives, but never
 * answers.  Options:
 *   -d MS     answer MS ms after the accept, then close
 *   -t MS     trickle: send the answer one byte every MS ms (after -d)
 *   -b BYTES  the answer (\r \n \t \\ \xHH escapes interpreted); default a
 *             small "HTTP/1.1 200 OK" response with body "slow\n"
 *   -R        never read, so the peer's writes eventually block
 *   -N        never accept: listen with backlog 0 and leave the queue full,
 *             so further connects hang (connect-timeout tests)
 * One log line per accepted connection ("accept N 127.0.0.1:PORT").
 * SIGTERM/SIGINT end it.
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
#include <time.h>
#include <unistd.h>

typedef struct conn_s {
    int fd;
    size_t sent;         /* bytes of the answer already written */
    long long deadline;  /* next time to write; 0 = never */
    struct conn_s *prev, *next;
} conn_t;

static int log_fd = 2, ep, no_read;
static long long delay_ms = -1, trickle_ms;
static char answer[65536];
static size_t answer_len;
static conn_t *conns;

static void
die(const char *what)
{
    dprintf(2, "slow: %s: %s\n", what, strerror(errno));
    exit(1);
}

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

static void
conn_close(conn_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    close(c->fd);
    free(c);
}

/* Read and drop input; close when the peer goes away. */
static void
conn_read(conn_t *c)
{
    char buf[65536];
    ssize_t n;

    for (;;) {
        n = read(c->fd, buf, sizeof(buf));
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0 && c->deadline) {
            /*
             * The peer half-closed but an answer is due: a half-close-aware
             * server still sends it. Stop watching for input (EOF would
             * keep firing) and let the deadline finish the connection.
             */
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            return;
        }
        if (n == 0 || errno != EAGAIN)
            conn_close(c);
        return;
    }
}

/* Write the due part of the answer; close once all of it is out. */
static void
conn_write(conn_t *c, long long now)
{
    size_t want = trickle_ms > 0 ? 1 : answer_len - c->sent;
    ssize_t n;

    n = write(c->fd, answer + c->sent, want);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
        conn_close(c);
        return;
    }
    if (n > 0)
        c->sent += (size_t)n;
    if (c->sent >= answer_len) {
        shutdown(c->fd, SHUT_WR);
        conn_close(c);
        return;
    }
    /* a short write retries soon; a trickle waits for its next tick */
    c->deadline = now + (n > 0 && trickle_ms > 0 ? trickle_ms : 10);
}

static void
accept_all(int lfd)
{
    struct sockaddr_in sa;
    socklen_t len;
    struct epoll_event ev;
    conn_t *c;
    int fd;
    static unsigned long nconns;

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
        c = calloc(1, sizeof(*c));
        if (c == NULL)
            die("calloc");
        c->fd = fd;
        c->deadline = delay_ms >= 0 ? now_ms() + delay_ms : 0;
        c->next = conns;
        if (conns)
            conns->prev = c;
        conns = c;
        /* with -R we only watch for the peer leaving (RDHUP needs no read) */
        ev.events = no_read ? EPOLLRDHUP : EPOLLIN;
        ev.data.ptr = c;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            die("epoll_ctl");
    }
}

static int
next_timeout(void)
{
    long long best = 0, now = now_ms();
    conn_t *c;

    for (c = conns; c; c = c->next)
        if (c->deadline && (best == 0 || c->deadline < best))
            best = c->deadline;
    if (best == 0)
        return -1;
    return best <= now ? 0 : (int)(best - now);
}

int
main(int argc, char **argv)
{
    static const char dflt[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n"
                               "\r\nslow\n";
    int port = 0, opt, lfd, sfd, one = 1, i, n, no_accept = 0;
    struct sockaddr_in sa;
    struct epoll_event ev, evs[256];
    sigset_t mask;
    conn_t *c, *next;
    long long now;

    memcpy(answer, dflt, sizeof(dflt) - 1);
    answer_len = sizeof(dflt) - 1;
    while ((opt = getopt(argc, argv, "p:l:d:t:b:RN")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'd': delay_ms = atoll(optarg); break;
        case 't': trickle_ms = atoll(optarg); break;
        case 'R': no_read = 1; break;
        case 'N': no_accept = 1; break;
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
            dprintf(2, "usage: slow -p PORT [-l LOG] [-d MS] [-t MS] [-b BYTES] [-R] [-N]\n");
            return 2;
        }
    }
    if (port <= 0 || port > 65535) {
        dprintf(2, "slow: -p PORT is required\n");
        return 2;
    }
    if (trickle_ms > 0 && delay_ms < 0)
        delay_ms = 0;

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
    if (listen(lfd, no_accept ? 0 : 1024) < 0)
        die("listen");

    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;
    if (!no_accept && epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
        die("epoll_ctl");
    ev.data.ptr = &sfd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev) < 0)
        die("epoll_ctl");

    for (;;) {
        n = epoll_wait(ep, evs, 256, next_timeout());
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL)
                accept_all(lfd);
            else if (evs[i].data.ptr == &sfd)
                return 0;
            else if (no_read || (evs[i].events & EPOLLERR))
                conn_close(evs[i].data.ptr); /* the peer left */
            else
                conn_read(evs[i].data.ptr);
        }
        now = now_ms();
        for (c = conns; c; c = next) {
            next = c->next;
            if (c->deadline && c->deadline <= now)
                conn_write(c, now);
        }
    }
}
