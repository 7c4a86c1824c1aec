/*
 * wsclient - WebSocket client for the fulcrum test suite.
 *
 *   wsclient -p PORT [-u PATH] [-h HOST] [-x 'Name: value']... [-g]
 *            [-w MS] [-s SIZES] [-n COUNT] [-f FRAG] [-t MS]
 *
 * Sends an Upgrade request for PATH (default /) to 127.0.0.1:PORT and
 * prints "status=CODE" and the response header lines as "< line".  Unless
 * the status is 101 it exits 2.  Then it checks Sec-WebSocket-Accept
 * ("accept=ok" or "accept=bad"), reads a greeting frame with -g
 * ("greeting=TEXT"), stays idle for -w MS ("idle=ok", or "closed while
 * idle" and exit 3), sends a ping ("pong=ok"), then COUNT (default 4)
 * messages, message i being SIZES[i % n] bytes (-s, a comma list, default
 * 0,1,125,126,65535,65536), text for even i and binary for odd i, split in
 * frames of FRAG bytes with -f, each masked.  Every message must come back
 * whole and unchanged (wsecho echoes frame by frame).  Then a close
 * handshake ("close=ok") and the end of the connection ("eof=ok").  The
 * last line is "messages=N bytes=B ok", or "error=WHAT" with exit 1.
 * -t (default 5000) is the longest wait for anything.
 */
#define PROG "wsclient"
#include "helpers.h"
#include "ws.h"

#include <poll.h>
#include <strings.h>

#define MAX_SIZES 32

typedef struct {
    int fd, timeout_ms;
    unsigned char *in;
    size_t in_start, in_len, in_cap;
    unsigned long long rng;
} cl_t;

static __attribute__((noreturn)) void
fail(const char *what)
{
    printf("error=%s\n", what);
    exit(1);
}

static unsigned
rnd(cl_t *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return (unsigned)(c->rng >> 11);
}

/* Wait for EVENTS on the socket; fails the run on a timeout. */
static void
wait_io(cl_t *c, short events)
{
    struct pollfd pfd = {c->fd, events, 0};
    int n;

    do
        n = poll(&pfd, 1, c->timeout_ms);
    while (n < 0 && errno == EINTR);
    if (n == 0)
        fail("timeout");
    if (n < 0)
        die("poll");
}

/* Read once into the input buffer; returns bytes read (0: EOF). */
static size_t
read_some(cl_t *c)
{
    ssize_t n;

    if (c->in_start == c->in_len)
        c->in_start = c->in_len = 0;
    if (c->in_cap - c->in_len < 65536) {
        c->in_cap = c->in_cap ? c->in_cap * 2 : 1 << 20;
        c->in = realloc(c->in, c->in_cap);
        if (c->in == NULL)
            die("realloc");
    }
    for (;;) {
        n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
        if (n >= 0)
            break;
        if (errno == EAGAIN)
            wait_io(c, POLLIN);
        else if (errno != EINTR)
            fail(errno == ECONNRESET ? "reset" : "read");
    }
    c->in_len += (size_t)n;
    return (size_t)n;
}

static void
write_all(cl_t *c, const unsigned char *p, size_t n)
{
    ssize_t w;

    while (n > 0) {
        w = write(c->fd, p, n);
        if (w < 0 && errno == EAGAIN) {
            wait_io(c, POLLOUT);
            continue;
        }
        if (w < 0 && errno != EINTR)
            fail("write");
        if (w > 0)
            p += w, n -= (size_t)w;
    }
}

/* One frame from the server (unmasked); its payload into *pl. */
static void
read_frame(cl_t *c, ws_frame_t *f, unsigned char **pl)
{
    for (;;) {
        if (ws_frame_parse(c->in + c->in_start, c->in_len - c->in_start, f)
            && c->in_len - c->in_start >= f->hdr + f->len) {
            if (f->masked)
                fail("masked frame from the server");
            *pl = c->in + c->in_start + f->hdr;
            c->in_start += f->hdr + (size_t)f->len;
            return;
        }
        if (read_some(c) == 0)
            fail("closed");
    }
}

/* Send one frame, masked; reads whatever arrives meanwhile so a large echo
 * cannot deadlock the two sides. */
static void
send_frame(cl_t *c, int fin, int opcode, const unsigned char *p, size_t n)
{
    unsigned char h[14], mask[4], *buf;
    size_t hl, i, off = 0;
    unsigned m = rnd(c);
    struct pollfd pfd;
    ssize_t w;

    memcpy(mask, &m, 4);
    hl = ws_frame_header(h, fin, opcode, n, mask);
    buf = malloc(hl + n + 1);
    if (buf == NULL)
        die("malloc");
    memcpy(buf, h, hl);
    for (i = 0; i < n; i++)
        buf[hl + i] = p[i] ^ mask[i % 4];
    while (off < hl + n) {
        pfd.fd = c->fd;
        pfd.events = POLLIN | POLLOUT;
        if (poll(&pfd, 1, c->timeout_ms) == 0)
            fail("timeout");
        if ((pfd.revents & POLLIN) && read_some(c) == 0)
            fail("closed");
        if (pfd.revents & POLLOUT) {
            w = write(c->fd, buf + off, hl + n - off);
            if (w < 0 && errno != EAGAIN && errno != EINTR)
                fail("write");
            if (w > 0)
                off += (size_t)w;
        }
    }
    free(buf);
}

static int
connect_port(int port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        die("socket");
    loopback(&sa, port);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        fail("connect");
    if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
        die("fcntl");
    return fd;
}

/* Send the Upgrade request, print and check the answer. */
static void
handshake(cl_t *c, const char *path, const char *host, char **extra, int nextra)
{
    static const char key[] = "dGhlIHNhbXBsZSBub25jZQ==";
    char req[8192], acc[64], *end, *line, *eol;
    int n, i, status = 0, acc_ok = 0;

    n = snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n",
                 path, host, key);
    for (i = 0; i < nextra && n < (int)sizeof(req) - 256; i++)
        n += snprintf(req + n, sizeof(req) - (size_t)n, "%s\r\n", extra[i]);
    n += snprintf(req + n, sizeof(req) - (size_t)n, "\r\n");
    write_all(c, (unsigned char *)req, (size_t)n);
    while ((end = memmem(c->in, c->in_len, "\r\n\r\n", 4)) == NULL)
        if (read_some(c) == 0)
            fail("closed before a response");
    ws_accept(key, sizeof(key) - 1, acc);
    sscanf((char *)c->in, "HTTP/1.%*d %d", &status);
    printf("status=%d\n", status);
    for (line = (char *)c->in; line < end + 2; line = eol + 2) {
        eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
        printf("< %.*s\n", (int)(eol - line), line);
        if (strncasecmp(line, "sec-websocket-accept:", 21) == 0) {
            for (line += 21; *line == ' '; line++)
                ;
            acc_ok = (size_t)(eol - line) == strlen(acc) && memcmp(line, acc, strlen(acc)) == 0;
        }
    }
    c->in_start = (size_t)(end + 4 - (char *)c->in);
    if (status != 101) {
        fflush(stdout);
        exit(2);
    }
    printf("accept=%s\n", acc_ok ? "ok" : "bad");
    if (!acc_ok)
        fail("Sec-WebSocket-Accept");
}

/* Message i of n bytes: ASCII for text, all byte values for binary. */
static void
fill(unsigned char *p, size_t n, int i)
{
    size_t j;

    for (j = 0; j < n; j++)
        p[j] = i % 2 ? (unsigned char)(j * 7 + (size_t)i) : (unsigned char)('a' + (j + (size_t)i) % 26);
}

/* Send message i in frames of frag bytes; read it back and compare. */
static void
exchange(cl_t *c, int i, size_t size, size_t frag)
{
    unsigned char *msg = malloc(size + 1), *got = malloc(size + 1), *pl;
    size_t off = 0, n, glen = 0;
    ws_frame_t f;
    int op = i % 2 ? 2 : 1, first = 1;

    if (msg == NULL || got == NULL)
        die("malloc");
    fill(msg, size, i);
    do {
        n = frag && size - off > frag ? frag : size - off;
        send_frame(c, off + n == size, first ? op : 0, msg + off, n);
        off += n;
        first = 0;
    } while (off < size);
    for (first = 1;; first = 0) {
        read_frame(c, &f, &pl);
        if (f.opcode != (first ? op : 0) || glen + f.len > size)
            fail("echo: wrong frame");
        memcpy(got + glen, pl, (size_t)f.len);
        glen += (size_t)f.len;
        if (f.fin)
            break;
    }
    if (glen != size || memcmp(got, msg, size) != 0)
        fail("echo: message differs");
    free(msg);
    free(got);
}

static void
finish(cl_t *c)
{
    static const unsigned char code[2] = {0x03, 0xe8}; /* 1000 */
    ws_frame_t f;
    unsigned char *pl;

    send_frame(c, 1, 8, code, 2);
    read_frame(c, &f, &pl);
    if (f.opcode != 8)
        fail("close: no close frame");
    printf("close=ok\n");
    while (read_some(c) > 0)
        c->in_start = c->in_len;
    printf("eof=ok\n");
}

int
main(int argc, char **argv)
{
    const char *path = "/", *host = "localhost", *sizes_arg = "0,1,125,126,65535,65536";
    char *extra[16], *s, *tok;
    size_t sizes[MAX_SIZES], nsizes = 0, frag = 0;
    unsigned long long total = 0;
    int port = 0, opt, greet = 0, idle = 0, count = 4, nextra = 0, i;
    cl_t c = {.fd = -1, .timeout_ms = 5000, .rng = 0x9e3779b97f4a7c15ULL};
    unsigned char *pl;
    ws_frame_t f;
    struct pollfd pfd;

    while ((opt = getopt(argc, argv, "p:u:h:x:gw:s:n:f:t:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'u': path = optarg; break;
        case 'h': host = optarg; break;
        case 'x': if (nextra < 16) extra[nextra++] = optarg; break;
        case 'g': greet = 1; break;
        case 'w': idle = atoi(optarg); break;
        case 's': sizes_arg = optarg; break;
        case 'n': count = atoi(optarg); break;
        case 'f': frag = strtoul(optarg, NULL, 10); break;
        case 't': c.timeout_ms = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: wsclient -p PORT [-u PATH] [-h HOST] [-x HDR] [-g] [-w MS] "
                            "[-s SIZES] [-n COUNT] [-f FRAG] [-t MS]\n");
            return 1;
        }
    }
    require_port(port, 1);
    s = strdup(sizes_arg);
    for (tok = strtok(s, ","); tok && nsizes < MAX_SIZES; tok = strtok(NULL, ","))
        sizes[nsizes++] = strtoul(tok, NULL, 10);
    if (nsizes == 0)
        sizes[nsizes++] = 0;
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    c.fd = connect_port(port);
    handshake(&c, path, host, extra, nextra);
    if (greet) {
        read_frame(&c, &f, &pl);
        printf("greeting=%.*s\n", (int)f.len, (char *)pl);
    }
    if (idle > 0) {
        pfd.fd = c.fd;
        pfd.events = POLLIN;
        if (poll(&pfd, 1, idle) > 0) {
            printf("closed while idle\n");
            return 3;
        }
        printf("idle=ok\n");
    }
    send_frame(&c, 1, 9, (const unsigned char *)"p1", 2);
    read_frame(&c, &f, &pl);
    if (f.opcode != 10 || f.len != 2 || memcmp(pl, "p1", 2) != 0)
        fail("no pong");
    printf("pong=ok\n");
    for (i = 0; i < count; i++) {
        exchange(&c, i, sizes[(size_t)i % nsizes], frag);
        total += sizes[(size_t)i % nsizes];
    }
    finish(&c);
    printf("messages=%d bytes=%llu ok\n", count, total);
    free(s);
    free(c.in);
    close(c.fd);
    return 0;
}
