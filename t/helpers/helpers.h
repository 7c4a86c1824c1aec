/*
 * helpers.h - code the test helper programs share.
 *
 * Every helper is still built from its one .c file (libc only), so all of
 * this is static; the ones a helper does not call are marked unused.
 * Include it after defining PROG, the name used in error messages:
 *
 *   #define PROG "echo"
 *   #include "helpers.h"
 */
#ifndef FC_T_HELPERS_H
#define FC_T_HELPERS_H

#ifndef PROG
#error "define PROG before including helpers.h"
#endif

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

#define HELPER_FN __attribute__((unused)) static

/* Report what failed with errno's text and exit 1. */
__attribute__((noreturn)) HELPER_FN void
die(const char *what)
{
    dprintf(2, PROG ": %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Exit with STATUS (after a message) unless -p gave a usable port. */
HELPER_FN void
require_port(int port, int status)
{
    if (port <= 0 || port > 65535) {
        dprintf(2, PROG ": -p PORT is required\n");
        exit(status);
    }
}

/* The -l LOGFILE of the servers: appended to, created if missing. */
HELPER_FN int
open_log(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

    if (fd < 0)
        die(path);
    return fd;
}

HELPER_FN long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Many connections at once need more than the default descriptor limit. */
HELPER_FN void
raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* The value of one hex digit (the caller checked it is one). */
HELPER_FN int
hexval(char ch)
{
    return ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;
}

/* Interpret \r \n \t \0 \\ \xHH in place; returns the new length. */
HELPER_FN size_t
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

/* A -b BYTES option: copy at most cap - 1 bytes of arg into buf, then
 * interpret its escapes; returns the length. */
HELPER_FN size_t
escaped_arg(char *buf, size_t cap, const char *arg)
{
    size_t n = strlen(arg) < cap ? strlen(arg) : cap - 1;

    memcpy(buf, arg, n);
    return unescape(buf, n);
}

/* 127.0.0.1:port */
HELPER_FN void
loopback(struct sockaddr_in *sa, int port)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((unsigned short)port);
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/* A non-blocking socket of TYPE bound to 127.0.0.1:port with SO_REUSEADDR;
 * a SOCK_STREAM one also listens with BACKLOG.  Dies on failure. */
HELPER_FN int
server_socket(int type, int port, int backlog)
{
    struct sockaddr_in sa;
    int fd, one = 1;

    fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    loopback(&sa, port);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die("bind");
    if (type == SOCK_STREAM && listen(fd, backlog) < 0)
        die("listen");
    return fd;
}

/* Block SIGTERM and SIGINT and return a signalfd (SFD_CLOEXEC | FLAGS) that
 * becomes readable when one arrives.  Dies on failure. */
HELPER_FN int
term_signalfd(int flags)
{
    sigset_t mask;
    int sfd;

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sfd = signalfd(-1, &mask, flags | SFD_CLOEXEC);
    if (sfd < 0)
        die("signalfd");
    return sfd;
}

HELPER_FN void
ep_ctl(int ep, int op, int fd, unsigned events, void *ptr)
{
    struct epoll_event ev;

    ev.events = events;
    ev.data.ptr = ptr;
    if (epoll_ctl(ep, op, fd, &ev) < 0)
        die("epoll_ctl");
}

/* The start of every TCP server: raise the descriptor limit, ignore SIGPIPE,
 * take SIGTERM/SIGINT through a signalfd (*sfd) and listen on 127.0.0.1:port
 * (*lfd).  Returns an epoll set holding the signalfd, tagged sfd, and unless
 * watch_lfd is 0 the listener, tagged NULL, both for EPOLLIN. */
HELPER_FN int
tcp_server(int port, int backlog, int watch_lfd, int *lfd, int *sfd)
{
    int ep;

    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    *sfd = term_signalfd(SFD_NONBLOCK);
    *lfd = server_socket(SOCK_STREAM, port, backlog);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    if (watch_lfd)
        ep_ctl(ep, EPOLL_CTL_ADD, *lfd, EPOLLIN, NULL);
    ep_ctl(ep, EPOLL_CTL_ADD, *sfd, EPOLLIN, sfd);
    return ep;
}

/* epoll_wait that dies on errors and counts an interruption as no events. */
HELPER_FN int
ep_wait(int ep, struct epoll_event *evs, int max, int timeout)
{
    int n = epoll_wait(ep, evs, max, timeout);

    if (n < 0 && errno != EINTR)
        die("epoll_wait");
    return n < 0 ? 0 : n;
}

/* Accept the next pending connection (non-blocking, close-on-exec) into sa.
 * Returns -1 with errno set (EAGAIN: none left) when there is none. */
HELPER_FN int
accept_next(int lfd, struct sockaddr_in *sa)
{
    socklen_t len;
    int fd;

    do {
        len = sizeof(*sa);
        fd = accept4(lfd, (struct sockaddr *)sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
    return fd;
}

/* The servers' log line for accepted connection number n. */
HELPER_FN void
log_accept(int log_fd, unsigned long n, const struct sockaddr_in *sa)
{
    dprintf(log_fd, "accept %lu %s:%u\n", n, inet_ntoa(sa->sin_addr), ntohs(sa->sin_port));
}

/* A growable byte buffer of the event-driven servers: data is p[start, len). */
typedef struct {
    char *p;
    size_t start, len, cap;
} buf_t;

/* The bytes not consumed yet. */
HELPER_FN size_t
buf_pending(const buf_t *b)
{
    return b->len - b->start;
}

/* Make room for n more bytes at the end, compacting before growing. */
HELPER_FN char *
buf_reserve(buf_t *b, size_t n)
{
    if (b->start > 0 && b->len + n > b->cap) {
        memmove(b->p, b->p + b->start, b->len - b->start);
        b->len -= b->start;
        b->start = 0;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (b->p == NULL)
            die("realloc");
        b->cap = cap;
    }
    return b->p + b->len;
}

HELPER_FN void
buf_add(buf_t *b, const void *data, size_t n)
{
    if (n == 0)
        return;
    memcpy(buf_reserve(b, n), data, n);
    b->len += n;
}

#endif
