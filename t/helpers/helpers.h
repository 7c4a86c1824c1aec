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

/* ---- WebSocket (RFC 6455) bits shared by wsecho and wsclient ---- */

/* SHA-1 of data[0, n) into out[20] (for Sec-WebSocket-Accept only). */
HELPER_FN void
sha1(const unsigned char *data, size_t n, unsigned char out[20])
{
    unsigned int h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    unsigned int w[80], a, b, c, d, e, f, k, t;
    unsigned char blk[64];
    unsigned long long bits = (unsigned long long)n * 8;
    size_t off = 0, i, len;
    int last = 0, pad_done = 0;

    while (!last) {
        len = n - off < 64 ? n - off : 64;
        memset(blk, 0, sizeof(blk));
        memcpy(blk, data + off, len);
        off += len;
        if (len < 64) {
            if (!pad_done)
                blk[len] = 0x80;
            pad_done = 1;
            if (len < 56) {
                for (i = 0; i < 8; i++)
                    blk[63 - i] = (unsigned char)(bits >> (8 * i));
                last = 1;
            }
        }
        for (i = 0; i < 16; i++)
            w[i] = (unsigned)blk[4 * i] << 24 | (unsigned)blk[4 * i + 1] << 16
                 | (unsigned)blk[4 * i + 2] << 8 | blk[4 * i + 3];
        for (i = 16; i < 80; i++) {
            t = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
            w[i] = t << 1 | t >> 31;
        }
        a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (i = 0; i < 80; i++) {
            if (i < 20)
                f = (b & c) | (~b & d), k = 0x5A827999;
            else if (i < 40)
                f = b ^ c ^ d, k = 0x6ED9EBA1;
            else if (i < 60)
                f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
            else
                f = b ^ c ^ d, k = 0xCA62C1D6;
            t = (a << 5 | a >> 27) + f + e + k + w[i];
            e = d, d = c, c = b << 30 | b >> 2, b = a, a = t;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
    }
    for (i = 0; i < 20; i++)
        out[i] = (unsigned char)(h[i / 4] >> (24 - 8 * (i % 4)));
}

/* Base64 of in[0, n) into out (4 * ceil(n / 3) + 1 bytes), NUL-terminated. */
HELPER_FN void
base64(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    unsigned v;

    for (i = 0; i + 2 < n; i += 3, out += 4) {
        v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[0] = tab[v >> 18], out[1] = tab[v >> 12 & 63], out[2] = tab[v >> 6 & 63];
        out[3] = tab[v & 63];
    }
    if (i < n) {
        v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0);
        out[0] = tab[v >> 18], out[1] = tab[v >> 12 & 63];
        out[2] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[3] = '=';
        out += 4;
    }
    *out = '\0';
}

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (out: at least 29 bytes). */
HELPER_FN void
ws_accept(const char *key, size_t key_len, char *out)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char buf[256], dig[20];

    if (key_len > sizeof(buf) - sizeof(guid))
        key_len = sizeof(buf) - sizeof(guid);
    memcpy(buf, key, key_len);
    memcpy(buf + key_len, guid, sizeof(guid) - 1);
    sha1(buf, key_len + sizeof(guid) - 1, dig);
    base64(dig, 20, out);
}

typedef struct {
    int fin, opcode, masked;
    unsigned char mask[4];
    unsigned long long len; /* payload length */
    size_t hdr;             /* header bytes before the payload */
} ws_frame_t;

/* Parse a frame header at p[0, n): 1 complete header in *f, 0 need more. */
HELPER_FN int
ws_frame_parse(const unsigned char *p, size_t n, ws_frame_t *f)
{
    size_t need = 2, i;

    if (n < 2)
        return 0;
    f->fin = p[0] >> 7;
    f->opcode = p[0] & 15;
    f->masked = p[1] >> 7;
    f->len = p[1] & 127;
    need += f->len == 126 ? 2 : f->len == 127 ? 8 : 0;
    need += f->masked ? 4 : 0;
    if (n < need)
        return 0;
    if (f->len >= 126) {
        size_t nb = f->len == 126 ? 2 : 8;
        f->len = 0;
        for (i = 0; i < nb; i++)
            f->len = f->len << 8 | p[2 + i];
    }
    if (f->masked)
        memcpy(f->mask, p + need - 4, 4);
    f->hdr = need;
    return 1;
}

/* Write a frame header for LEN payload bytes into out (<= 14 bytes); with a
 * mask, its 4 bytes follow the length.  Returns the header length. */
HELPER_FN size_t
ws_frame_header(unsigned char *out, int fin, int opcode, unsigned long long len,
                const unsigned char *mask)
{
    size_t h = 2, i;

    out[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        out[1] = (unsigned char)len;
    } else if (len < 65536) {
        out[1] = 126;
        out[2] = (unsigned char)(len >> 8), out[3] = (unsigned char)len;
        h = 4;
    } else {
        out[1] = 127;
        for (i = 0; i < 8; i++)
            out[2 + i] = (unsigned char)(len >> (56 - 8 * i));
        h = 10;
    }
    if (mask) {
        out[1] |= 0x80;
        memcpy(out + h, mask, 4);
        h += 4;
    }
    return h;
}

#endif
