/*
 * wsecho - WebSocket echo backend for the fulcrum test suite.
 *
 *   wsecho -p PORT [-i ID] [-l LOGFILE] [-g]
 *
 * Answers an HTTP/1.1 Upgrade request (Upgrade: websocket, Connection:
 * upgrade, Sec-WebSocket-Key, Sec-WebSocket-Version: 13) with 101, the
 * right Sec-WebSocket-Accept and "X-Backend: ID", then echoes every frame
 * it gets, unmasked, with the same FIN bit and opcode (fragments stay
 * fragments).  A ping gets a pong with the same payload; a close frame gets
 * a close frame back, then the connection is closed.  -g sends a text frame
 * "hello from ID" right after the 101.  Any other request gets "426 Upgrade
 * Required" and a close.  Unmasked client frames or payloads over 64 MB end
 * the connection.  Reading stops while 4 MB wait to be written.
 * Log lines: "accept N 127.0.0.1:PORT", "req N METHOD PATH upgrade=U
 * connection=C" (U, C: those headers, - when absent), "upgraded N",
 * "frame N OPCODE LEN" per frame, "close N" for a close frame.
 */
#define PROG "wsecho"
#include "helpers.h"
#include "ws.h"

#include <strings.h>

#define MAX_HEADER (64 * 1024)
#define MAX_PAYLOAD (64ULL * 1024 * 1024)
#define OUT_HIGH (4 * 1024 * 1024)

typedef struct {
    int fd;
    unsigned long id;
    unsigned events;
    buf_t in, out;
    int upgraded, closing, eof;
} conn_t;

static int log_fd = 2, ep, greet;
static const char *backend_id = "wsecho";
static unsigned long nconns;

static void
conn_close(conn_t *c)
{
    close(c->fd);
    free(c->in.p);
    free(c->out.p);
    free(c);
}

/* The trimmed value of header NAME in the header block [p, end), or NULL. */
static const char *
header_value(const char *p, const char *end, const char *name, size_t *vlen)
{
    size_t n = strlen(name);
    const char *line, *eol, *v;

    for (line = p; line < end; line = eol + 2) {
        eol = memmem(line, (size_t)(end - line), "\r\n", 2);
        if (eol == NULL)
            eol = end;
        if ((size_t)(eol - line) > n && line[n] == ':' && strncasecmp(line, name, n) == 0) {
            for (v = line + n + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
                ;
            *vlen = (size_t)(eol - v);
            while (*vlen > 0 && (v[*vlen - 1] == ' ' || v[*vlen - 1] == '\t'))
                (*vlen)--;
            return v;
        }
    }
    return NULL;
}

static int
has_token(const char *v, size_t n, const char *tok)
{
    size_t t = strlen(tok), i;

    for (i = 0; v && i + t <= n; i++)
        if (strncasecmp(v + i, tok, t) == 0)
            return 1;
    return 0;
}

static void
send_frame(conn_t *c, int fin, int opcode, const unsigned char *data, unsigned long long len)
{
    unsigned char h[14];

    buf_add(&c->out, h, ws_frame_header(h, fin, opcode, len, NULL));
    buf_add(&c->out, data, (size_t)len);
}

/* The HTTP part: answer the Upgrade request once its header is complete. */
static void
handshake(conn_t *c)
{
    const char *p = (const char *)c->in.p + c->in.start, *end, *sp, *sp2, *up, *cn, *key, *ver;
    size_t ulen = 0, clen = 0, klen = 0, vlen = 0;
    char acc[64], msg[128];
    int n;

    end = memmem(p, buf_pending(&c->in), "\r\n\r\n", 4);
    if (end == NULL) {
        if (buf_pending(&c->in) > MAX_HEADER)
            c->closing = 1;
        return;
    }
    sp = memchr(p, ' ', (size_t)(end - p));
    sp2 = sp ? memchr(sp + 1, ' ', (size_t)(end - sp - 1)) : NULL;
    up = header_value(p, end + 2, "upgrade", &ulen);
    cn = header_value(p, end + 2, "connection", &clen);
    key = header_value(p, end + 2, "sec-websocket-key", &klen);
    ver = header_value(p, end + 2, "sec-websocket-version", &vlen);
    dprintf(log_fd, "req %lu %.*s %.*s upgrade=%.*s connection=%.*s\n", c->id,
            sp ? (int)(sp - p) : 0, p, sp2 ? (int)(sp2 - sp - 1) : 0, sp ? sp + 1 : p,
            up ? (int)ulen : 1, up ? up : "-", cn ? (int)clen : 1, cn ? cn : "-");
    c->in.start += (size_t)(end + 4 - p);
    if (!has_token(up, ulen, "websocket") || !has_token(cn, clen, "upgrade") || key == NULL
        || ver == NULL || vlen != 2 || memcmp(ver, "13", 2) != 0) {
        n = snprintf(msg, sizeof(msg),
                     "HTTP/1.1 426 Upgrade Required\r\nX-Backend: %s\r\nContent-Length: 24\r\n"
                     "Connection: close\r\n\r\nnot a websocket upgrade\n",
                     backend_id);
        buf_add(&c->out, msg, (size_t)n);
        c->closing = 1;
        return;
    }
    ws_accept(key, klen, acc);
    n = snprintf(msg, sizeof(msg),
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n",
                 acc);
    buf_add(&c->out, msg, (size_t)n);
    n = snprintf(msg, sizeof(msg), "X-Backend: %s\r\n\r\n", backend_id);
    buf_add(&c->out, msg, (size_t)n);
    c->upgraded = 1;
    dprintf(log_fd, "upgraded %lu\n", c->id);
    if (greet) {
        n = snprintf(msg, sizeof(msg), "hello from %s", backend_id);
        send_frame(c, 1, 1, (unsigned char *)msg, (unsigned long long)n);
    }
}

/* Echo every complete frame in the input. */
static void
frames(conn_t *c)
{
    ws_frame_t f;
    unsigned char *p;
    unsigned long long i;

    while (!c->closing && buf_pending(&c->out) < OUT_HIGH) {
        p = (unsigned char *)c->in.p + c->in.start;
        if (!ws_frame_parse(p, buf_pending(&c->in), &f))
            return;
        if (!f.masked || f.len > MAX_PAYLOAD) {
            dprintf(log_fd, "bad %lu %s\n", c->id, f.masked ? "too-long" : "unmasked");
            c->closing = 1;
            return;
        }
        if (buf_pending(&c->in) < f.hdr + f.len)
            return;
        for (i = 0; i < f.len; i++)
            p[f.hdr + i] ^= f.mask[i % 4];
        dprintf(log_fd, "frame %lu %d %llu\n", c->id, f.opcode, f.len);
        if (f.opcode == 8) {
            dprintf(log_fd, "close %lu\n", c->id);
            send_frame(c, 1, 8, p + f.hdr, f.len);
            c->closing = 1;
        } else if (f.opcode == 9) {
            send_frame(c, 1, 10, p + f.hdr, f.len);
        } else if (f.opcode != 10) {
            send_frame(c, f.fin, f.opcode, p + f.hdr, f.len);
        }
        c->in.start += f.hdr + (size_t)f.len;
    }
}

static void
conn_run(conn_t *c)
{
    unsigned want = 0;
    ssize_t n;
    int progress = 1;

    while (progress) {
        progress = 0;
        while (buf_pending(&c->out) > 0) {
            n = write(c->fd, c->out.p + c->out.start, buf_pending(&c->out));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN)
                break;
            if (n < 0) {
                conn_close(c);
                return;
            }
            c->out.start += (size_t)n;
            progress = 1;
        }
        if (!c->eof && !c->closing && buf_pending(&c->out) < OUT_HIGH) {
            buf_reserve(&c->in, 65536);
            n = read(c->fd, c->in.p + c->in.len, 65536);
            if (n == 0)
                c->eof = 1;
            else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                conn_close(c);
                return;
            }
            if (n > 0) {
                c->in.len += (size_t)n;
                progress = 1;
            }
        }
        if (!c->upgraded && !c->closing)
            handshake(c);
        if (c->upgraded)
            frames(c);
    }
    if ((c->closing || c->eof) && buf_pending(&c->out) == 0) {
        conn_close(c);
        return;
    }
    if (!c->eof && !c->closing && buf_pending(&c->out) < OUT_HIGH)
        want |= EPOLLIN;
    if (buf_pending(&c->out) > 0)
        want |= EPOLLOUT;
    if (want != c->events) {
        ep_ctl(ep, EPOLL_CTL_MOD, c->fd, want, c);
        c->events = want;
    }
}

static void
accept_all(int lfd)
{
    struct sockaddr_in sa;
    conn_t *c;
    int fd;

    while ((fd = accept_next(lfd, &sa)) >= 0) {
        c = calloc(1, sizeof(*c));
        if (c == NULL)
            die("calloc");
        c->fd = fd;
        c->id = ++nconns;
        c->events = EPOLLIN;
        log_accept(log_fd, c->id, &sa);
        ep_ctl(ep, EPOLL_CTL_ADD, fd, c->events, c);
    }
}

int
main(int argc, char **argv)
{
    int port = 0, opt, lfd, sfd, i, n;
    struct epoll_event evs[64];

    while ((opt = getopt(argc, argv, "p:i:l:g")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'i': backend_id = optarg; break;
        case 'l': log_fd = open_log(optarg); break;
        case 'g': greet = 1; break;
        default:
            dprintf(2, "usage: wsecho -p PORT [-i ID] [-l LOGFILE] [-g]\n");
            return 2;
        }
    }
    require_port(port, 2);
    ep = tcp_server(port, 1024, 1, &lfd, &sfd);
    for (;;) {
        n = ep_wait(ep, evs, 64, -1);
        for (i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL)
                accept_all(lfd);
            else if (evs[i].data.ptr == &sfd)
                return 0;
            else if (evs[i].events & EPOLLERR)
                conn_close(evs[i].data.ptr);
            else
                conn_run(evs[i].data.ptr);
        }
    }
}
