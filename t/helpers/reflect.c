/*
 * reflect - HTTP/1.1 backend for the fulcrum test suite.
 *
 *   reflect -p PORT [-i ID] [-l LOGFILE] [-s STATUS]
 *
 * Answers every request with 200 and a body that is the exact raw request it
 * received (request line, headers, body as framed on the wire).  Response
 * headers: X-Backend: ID, X-Conn: N (connection number on this backend),
 * X-Req: N (request number on that connection), X-Framing: length|chunked|none
 * (how the request body was delimited).  Keep-alive, pipelining,
 * Content-Length and chunked request bodies and "Expect: 100-continue" are
 * supported.  Query-string controls:
 *   status=N     answer with status N (1xx/204/304 carry no body)
 *   size=N       body of N bytes of the pattern (byte i = "0-9a-zA-Z"[i % 62],
 *                every 64th byte '\n') instead of the reflection, streamed
 *   chunked=1    send the body with Transfer-Encoding: chunked
 *   eof=1        no length at all: the body ends when the connection closes
 *   delay_ms=N   wait N ms before sending the response
 *   close=1      send "Connection: close" and close afterwards
 *   hdr=Name:Val add a response header (%XX decoded; may repeat)
 *   etag=VALUE   send "ETag: VALUE" (verbatim, %XX decoded: etag=%22v1%22) and
 *                answer 304 with no body when the request's If-None-Match
 *                is "*" or lists VALUE - a real conditional backend
 *   lm=DATE      send "Last-Modified: DATE" and answer 304 with no body when
 *                the request has no If-None-Match and its If-Modified-Since
 *                is exactly DATE
 *   die_after=N  send the head with the full Content-Length, then only N
 *                body bytes, then close (a backend that dies mid-body)
 * -s STATUS answers STATUS unless the query says otherwise (a backend that
 * always fails, for failover tests).
 * Log lines: "accept N 127.0.0.1:PORT" per connection,
 * "req N M METHOD URI" per request and "notmod N M URI" after it when the
 * answer is a conditional 304 (etag=/lm=), to stderr or the -l file.
 */
#define PROG "reflect"
#include "helpers.h"

#include <stdarg.h>
#include <strings.h>

#define MAX_HEADER (64 * 1024)
#define MAX_INPUT (64 * 1024 * 1024)
#define OUT_HIGH (1024 * 1024) /* stop parsing/reading above this backlog */
#define LINGER_MS 2000

typedef struct {
    size_t hdr_len;  /* 0 until the header block is complete */
    size_t uri_off; /* offsets, not pointers: the input buffer may move */
    int method_len, uri_len;
    int http10, keepalive, expect100, chunked;
    long long clen; /* -1: none */
} req_t;

typedef struct conn_s {
    int fd;
    unsigned long id, nreq;
    unsigned events;
    buf_t in, out;
    req_t req;
    int eof, closing, lingering, cont_sent;
    long long deadline; /* ms: end of a delay_ms hold or of lingering; 0 none */
    unsigned long long gen_left, gen_off; /* pattern bytes still to stream */
    int gen_chunked;
    struct conn_s *prev, *next;
} conn_t;

static int log_fd = 2, ep;
static const char *backend_id = "reflect";
static int default_status = 200;
static unsigned long nconns;
static conn_t *conns; /* all connections, scanned only for deadlines */
static int ntimed;    /* connections with a deadline */

__attribute__((format(printf, 2, 3))) static void
buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    va_start(ap, fmt);
    vsnprintf(buf_reserve(b, (size_t)n + 1), (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void
set_deadline(conn_t *c, long long when)
{
    ntimed += (when != 0) - (c->deadline != 0);
    c->deadline = when;
}

static void
conn_close(conn_t *c)
{
    set_deadline(c, 0);
    if (c->prev)
        c->prev->next = c->next;
    else
        conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    close(c->fd);
    free(c->in.p);
    free(c->out.p);
    free(c);
}

/* ---- request parsing: returns total request length, 0 if incomplete, -1 bad */

static int
header_is(const char *line, size_t len, const char *name, const char **val)
{
    size_t n = strlen(name);

    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
        return 0;
    for (*val = line + n + 1; *val < line + len && (**val == ' ' || **val == '\t'); (*val)++)
        ;
    return 1;
}

static int
token_in(const char *v, const char *end, const char *tok)
{
    size_t n = strlen(tok);

    for (; v + n <= end; v++)
        if (strncasecmp(v, tok, n) == 0)
            return 1;
    return 0;
}

static int
parse_header_line(req_t *r, const char *line, size_t len)
{
    const char *v, *end = line + len;
    long long cl;
    char *e;

    if (memchr(line, ':', len) == NULL)
        return -1;
    if (header_is(line, len, "content-length", &v)) {
        cl = strtoll(v, &e, 10);
        if (e == v || cl < 0 || (r->clen >= 0 && r->clen != cl))
            return -1;
        r->clen = cl;
    } else if (header_is(line, len, "transfer-encoding", &v)) {
        if (!token_in(v, end, "chunked"))
            return -1; /* we only speak chunked */
        r->chunked = 1;
    } else if (header_is(line, len, "connection", &v)) {
        if (token_in(v, end, "close"))
            r->keepalive = 0;
        else if (token_in(v, end, "keep-alive"))
            r->keepalive = 1;
    } else if (header_is(line, len, "expect", &v)) {
        r->expect100 = token_in(v, end, "100-continue");
    }
    return 0;
}

/* Parse the request line and headers once the blank line has arrived. */
static int
parse_head(req_t *r, const char *p, size_t len)
{
    const char *end, *line, *eol, *sp1, *sp2;

    end = memmem(p, len, "\r\n\r\n", 4);
    if (end == NULL)
        return len > MAX_HEADER ? -1 : 0;
    memset(r, 0, sizeof(*r));
    r->clen = -1;
    eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
    sp1 = memchr(p, ' ', (size_t)(eol - p));
    sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (sp1 == NULL || sp2 == NULL || sp1 == p || sp2 == sp1 + 1
        || (size_t)(eol - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
        return -1;
    r->method_len = (int)(sp1 - p);
    r->uri_off = (size_t)(sp1 + 1 - p);
    r->uri_len = (int)(sp2 - sp1 - 1);
    r->http10 = sp2[8] == '0';
    r->keepalive = !r->http10;
    for (line = eol + 2; line < end + 2; line = eol + 2) {
        eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
        if (parse_header_line(r, line, (size_t)(eol - line)) < 0)
            return -1;
    }
    r->hdr_len = (size_t)(end + 4 - p);
    return 0;
}

/* Length of a complete chunked body starting at p, 0 if incomplete, -1 bad. */
static long long
chunked_len(const char *p, size_t len)
{
    size_t pos = 0;
    const char *eol;
    unsigned long long size;
    char *e;

    for (;;) {
        eol = memmem(p + pos, len - pos, "\r\n", 2);
        if (eol == NULL)
            return len - pos > 1024 ? -1 : 0;
        size = strtoull(p + pos, &e, 16);
        if (e == p + pos || !isxdigit((unsigned char)p[pos]) || size > MAX_INPUT
            || (e != eol && *e != ';' && *e != ' ' && *e != '\t'))
            return -1;
        pos = (size_t)(eol + 2 - p);
        if (size == 0)
            break;
        if (len - pos < size + 2)
            return 0;
        if (memcmp(p + pos + size, "\r\n", 2) != 0)
            return -1;
        pos += size + 2;
    }
    for (;;) { /* trailer lines, ended by an empty line */
        eol = memmem(p + pos, len - pos, "\r\n", 2);
        if (eol == NULL)
            return len - pos > MAX_HEADER ? -1 : 0;
        if (eol == p + pos)
            return (long long)pos + 2;
        pos = (size_t)(eol + 2 - p);
    }
}

/* ---- responses */

typedef struct {
    int status, chunked, eof, close;
    long long size, delay_ms; /* size -1: reflect the request */
    long long die_after;      /* -1: send the whole body */
    buf_t hdrs;               /* extra header lines, CRLF-terminated */
    char etag[256], lm[128];  /* validators to send and to match, "" none */
} opts_t;

static size_t
url_decode(char *dst, const char *s, size_t n)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1])
            && isxdigit((unsigned char)s[i + 2])) {
            dst[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            dst[o++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    return o;
}

static void
parse_query(opts_t *o, const char *uri, int len)
{
    const char *q = memchr(uri, '?', (size_t)len), *end = uri + len, *amp, *eq;
    char val[4096];
    size_t n;

    memset(o, 0, sizeof(*o));
    o->status = default_status;
    o->size = -1;
    o->die_after = -1;
    for (q = q ? q + 1 : end; q < end; q = amp + 1) {
        amp = memchr(q, '&', (size_t)(end - q));
        if (amp == NULL)
            amp = end;
        eq = memchr(q, '=', (size_t)(amp - q));
        if (eq == NULL || (size_t)(amp - eq) > sizeof(val))
            continue;
        n = url_decode(val, eq + 1, (size_t)(amp - eq - 1));
        val[n] = '\0';
#define KEY(k) ((size_t)(eq - q) == sizeof(k) - 1 && memcmp(q, k, sizeof(k) - 1) == 0)
        if (KEY("status"))
            o->status = atoi(val);
        else if (KEY("size"))
            o->size = atoll(val);
        else if (KEY("chunked"))
            o->chunked = atoi(val);
        else if (KEY("eof"))
            o->eof = atoi(val);
        else if (KEY("close"))
            o->close = atoi(val);
        else if (KEY("delay_ms"))
            o->delay_ms = atoll(val);
        else if (KEY("hdr") && strchr(val, ':') != NULL)
            buf_printf(&o->hdrs, "%s\r\n", val);
        else if (KEY("etag") && n > 0 && n < sizeof(o->etag))
            memcpy(o->etag, val, n + 1);
        else if (KEY("lm") && n > 0 && n < sizeof(o->lm))
            memcpy(o->lm, val, n + 1);
        else if (KEY("die_after"))
            o->die_after = atoll(val);
#undef KEY
    }
    if (o->status < 100 || o->status > 999)
        o->status = default_status;
}

static const char *
reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

/* Stream pattern bytes into the output, a bounded amount at a time. */
static void
gen_fill(conn_t *c)
{
    static const char alpha[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    unsigned long long off;
    size_t i, n;
    char *d;

    while (c->gen_left > 0 && c->out.len - c->out.start < 256 * 1024) {
        n = c->gen_left < 65536 ? (size_t)c->gen_left : 65536;
        if (c->gen_chunked)
            buf_printf(&c->out, "%zx\r\n", n);
        d = buf_reserve(&c->out, n);
        for (i = 0; i < n; i++) {
            off = c->gen_off + i;
            d[i] = off % 64 == 63 ? '\n' : alpha[off % 62];
        }
        c->out.len += n;
        c->gen_off += n;
        c->gen_left -= n;
        if (c->gen_chunked)
            buf_add(&c->out, c->gen_left ? "\r\n" : "\r\n0\r\n\r\n", c->gen_left ? 2 : 7);
    }
}

/* The value of header NAME in the request head (hdr_len bytes at raw), its
 * length in *len with trailing blanks trimmed; NULL when absent. */
static const char *
req_header(const char *raw, size_t hdr_len, const char *name, size_t *len)
{
    const char *line, *eol, *end = raw + hdr_len, *v;

    line = memmem(raw, hdr_len, "\r\n", 2);
    for (line = line ? line + 2 : end; line < end; line = eol + 2) {
        eol = memmem(line, (size_t)(end - line), "\r\n", 2);
        if (eol == NULL || eol == line)
            break;
        if (header_is(line, (size_t)(eol - line), name, &v)) {
            for (*len = (size_t)(eol - v); *len > 0 && (v[*len - 1] == ' ' || v[*len - 1] == '\t');
                 (*len)--)
                ;
            return v;
        }
    }
    return NULL;
}

/* If-None-Match: "*" or a comma-separated list naming tag exactly. */
static int
inm_matches(const char *v, size_t len, const char *tag)
{
    const char *end = v + len, *comma;
    size_t n = strlen(tag), l;

    for (; v < end; v = comma + 1) {
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        comma = memchr(v, ',', (size_t)(end - v));
        if (comma == NULL)
            comma = end;
        for (l = (size_t)(comma - v); l > 0 && (v[l - 1] == ' ' || v[l - 1] == '\t'); l--)
            ;
        if ((l == 1 && *v == '*') || (l == n && memcmp(v, tag, n) == 0))
            return 1;
    }
    return 0;
}

/* Whether the request's validators match etag=/lm=: then the answer is 304.
 * If-None-Match, when present, decides alone (RFC 9110 13.2.2). */
static int
not_modified(const opts_t *o, const char *raw, size_t hdr_len)
{
    const char *v;
    size_t len;

    if (o->etag[0] == '\0' && o->lm[0] == '\0')
        return 0;
    if ((v = req_header(raw, hdr_len, "if-none-match", &len)) != NULL)
        return o->etag[0] != '\0' && inm_matches(v, len, o->etag);
    if (o->lm[0] == '\0' || (v = req_header(raw, hdr_len, "if-modified-since", &len)) == NULL)
        return 0;
    return len == strlen(o->lm) && memcmp(v, o->lm, len) == 0;
}

static void
respond(conn_t *c, const char *raw, size_t total)
{
    req_t *r = &c->req;
    opts_t o;
    int head, nobody;
    unsigned long long blen;

    parse_query(&o, raw + r->uri_off, r->uri_len);
    c->nreq++;
    dprintf(log_fd, "req %lu %lu %.*s %.*s\n", c->id, c->nreq, r->method_len, raw, r->uri_len,
            raw + r->uri_off);
    head = r->method_len == 4 && memcmp(raw, "HEAD", 4) == 0;
    if (not_modified(&o, raw, r->hdr_len)) {
        o.status = 304;
        dprintf(log_fd, "notmod %lu %lu %.*s\n", c->id, c->nreq, r->uri_len, raw + r->uri_off);
    }
    nobody = o.status < 200 || o.status == 204 || o.status == 304;
    if (o.die_after >= 0 && !nobody && !head) {
        o.chunked = o.eof = 0; /* Content-Length framing, so the cut shows */
        c->closing = 1;
    }
    if (!r->keepalive || o.close || (o.eof && !nobody))
        c->closing = 1;
    blen = o.size >= 0 ? (unsigned long long)o.size : total;
    buf_printf(&c->out,
               "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nX-Backend: %s\r\n"
               "X-Conn: %lu\r\nX-Req: %lu\r\nX-Framing: %s\r\n",
               o.status, reason(o.status), backend_id, c->id, c->nreq,
               r->chunked ? "chunked" : r->clen >= 0 ? "length" : "none");
    if (o.etag[0])
        buf_printf(&c->out, "ETag: %s\r\n", o.etag);
    if (o.lm[0])
        buf_printf(&c->out, "Last-Modified: %s\r\n", o.lm);
    if (o.hdrs.len)
        buf_add(&c->out, o.hdrs.p, o.hdrs.len);
    free(o.hdrs.p);
    if (!nobody && o.chunked)
        buf_printf(&c->out, "Transfer-Encoding: chunked\r\n");
    else if (!nobody && !o.eof)
        buf_printf(&c->out, "Content-Length: %llu\r\n", blen);
    if (c->closing)
        buf_printf(&c->out, "Connection: close\r\n");
    else if (r->http10)
        buf_printf(&c->out, "Connection: keep-alive\r\n");
    buf_add(&c->out, "\r\n", 2);
    if (!nobody && !head) {
        if (o.die_after >= 0 && (unsigned long long)o.die_after < blen)
            blen = total = (size_t)o.die_after; /* the head already has the full length */
        if (o.size >= 0) {
            c->gen_left = blen;
            c->gen_off = 0;
            c->gen_chunked = o.chunked;
            if (blen == 0 && o.chunked)
                buf_add(&c->out, "0\r\n\r\n", 5);
        } else if (o.chunked) {
            if (total)
                buf_printf(&c->out, "%zx\r\n", total);
            buf_add(&c->out, raw, total);
            buf_add(&c->out, total ? "\r\n0\r\n\r\n" : "0\r\n\r\n", total ? 7 : 5);
        } else {
            buf_add(&c->out, raw, total);
        }
    }
    if (o.delay_ms > 0)
        set_deadline(c, now_ms() + o.delay_ms);
}

static void
reject(conn_t *c, int status)
{
    dprintf(log_fd, "bad %lu %d\n", c->id, status);
    buf_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
               status, reason(status));
    c->closing = 1;
}

#define HELD(c) ((c)->deadline != 0 && !(c)->lingering)
#define PENDING(c) ((c)->out.len > (c)->out.start || (c)->gen_left > 0)

/* Answer every complete request in the input, in order. Returns progress. */
static int
conn_parse(conn_t *c)
{
    req_t *r = &c->req;
    size_t avail;
    long long blen;
    const char *p;
    int progress = 0;

    while (!c->closing && !HELD(c) && c->gen_left == 0
           && c->out.len - c->out.start < OUT_HIGH) {
        while (c->in.len - c->in.start >= 2 && r->hdr_len == 0
               && memcmp(c->in.p + c->in.start, "\r\n", 2) == 0)
            c->in.start += 2; /* stray CRLFs between requests are allowed */
        p = c->in.p + c->in.start;
        avail = c->in.len - c->in.start;
        if (r->hdr_len == 0) {
            if (parse_head(r, p, avail) < 0) {
                reject(c, 400);
                return 1;
            }
            if (r->hdr_len == 0)
                break;
            c->cont_sent = 0;
        }
        if (r->chunked)
            blen = chunked_len(p + r->hdr_len, avail - r->hdr_len);
        else if (r->clen >= 0)
            blen = avail - r->hdr_len >= (unsigned long long)r->clen ? r->clen : 0;
        else
            blen = 0;
        if (blen < 0) {
            reject(c, 400);
            return 1;
        }
        if (blen == 0 && (r->chunked || r->clen > 0)) { /* body incomplete */
            if (r->hdr_len + (r->chunked ? 0 : (size_t)r->clen) > MAX_INPUT
                || avail > MAX_INPUT) {
                reject(c, 413);
                return 1;
            }
            if (r->expect100 && !r->http10 && !c->cont_sent) {
                buf_add(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
                c->cont_sent = 1;
                progress = 1;
            }
            break;
        }
        respond(c, p, r->hdr_len + (size_t)blen);
        c->in.start += r->hdr_len + (size_t)blen;
        memset(r, 0, sizeof(*r));
        progress = 1;
    }
    return progress;
}

/* ---- I/O driver */

static int
conn_write(conn_t *c)
{
    ssize_t n;
    int progress = 0;

    while (!HELD(c) && PENDING(c)) {
        gen_fill(c);
        n = write(c->fd, c->out.p + c->out.start, c->out.len - c->out.start);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN ? progress : -1;
        }
        c->out.start += (size_t)n;
        if (c->out.start == c->out.len)
            c->out.start = c->out.len = 0;
        progress = 1;
    }
    return progress;
}

static int
conn_read(conn_t *c)
{
    ssize_t n;

    if (c->eof || (!c->lingering && (c->closing || c->out.len - c->out.start >= OUT_HIGH)))
        return 0;
    if (c->lingering) /* after our response we only wait for the client to go */
        c->in.start = c->in.len = 0;
    buf_reserve(&c->in, 65536);
    do
        n = read(c->fd, c->in.p + c->in.len, 65536);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN ? 0 : -1;
    if (n == 0)
        c->eof = 1;
    c->in.len += (size_t)n;
    return 1;
}

static void
conn_run(conn_t *c)
{
    unsigned want = 0;
    int rc, progress = 1;

    while (progress) {
        if ((rc = conn_write(c)) < 0 || (progress = conn_read(c)) < 0) {
            conn_close(c);
            return;
        }
        progress |= rc | conn_parse(c);
    }
    if (!PENDING(c) && !HELD(c)) {
        if (c->closing && !c->lingering) {
            /* half-close and drain, so unread pipelined data cannot turn our
             * last response into an RST at the client */
            shutdown(c->fd, SHUT_WR);
            c->lingering = 1;
            set_deadline(c, now_ms() + LINGER_MS);
        }
        if (c->eof) {
            conn_close(c);
            return;
        }
    }
    if (!c->eof && (c->lingering || (!c->closing && c->out.len - c->out.start < OUT_HIGH)))
        want |= EPOLLIN;
    if (PENDING(c) && !HELD(c))
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
        c->next = conns;
        if (conns)
            conns->prev = c;
        conns = c;
        log_accept(log_fd, c->id, &sa);
        ep_ctl(ep, EPOLL_CTL_ADD, fd, c->events, c);
    }
    if (errno != EAGAIN)
        dprintf(2, "reflect: accept: %s\n", strerror(errno));
}

/* Milliseconds until the nearest deadline, -1 if none. */
static int
next_timeout(void)
{
    long long best = 0, now;
    conn_t *c;

    if (ntimed == 0)
        return -1;
    for (c = conns; c; c = c->next)
        if (c->deadline && (best == 0 || c->deadline < best))
            best = c->deadline;
    now = now_ms();
    return best <= now ? 0 : (int)(best - now);
}

static void
expire(void)
{
    long long now = now_ms();
    conn_t *c, *next;

    for (c = conns; c && ntimed > 0; c = next) {
        next = c->next;
        if (c->deadline == 0 || c->deadline > now)
            continue;
        if (c->lingering) {
            conn_close(c);
        } else {
            set_deadline(c, 0);
            conn_run(c);
        }
    }
}

int
main(int argc, char **argv)
{
    int port = 0, opt, lfd, sfd, i, n;
    struct epoll_event evs[256];

    while ((opt = getopt(argc, argv, "p:i:l:s:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'i': backend_id = optarg; break;
        case 'l': log_fd = open_log(optarg); break;
        case 's': default_status = atoi(optarg); break;
        default:
            dprintf(2, "usage: reflect -p PORT [-i ID] [-l LOGFILE] [-s STATUS]\n");
            return 2;
        }
    }
    require_port(port, 2);
    if (default_status < 100 || default_status > 999)
        default_status = 200;

    ep = tcp_server(port, 1024, 1, &lfd, &sfd);

    for (;;) {
        n = ep_wait(ep, evs, 256, next_timeout());
        for (i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL)
                accept_all(lfd);
            else if (evs[i].data.ptr == &sfd)
                return 0;
            else if (evs[i].events & (EPOLLERR | EPOLLHUP))
                conn_close(evs[i].data.ptr); /* reset, or both sides done */
            else
                conn_run(evs[i].data.ptr);
        }
        expire();
    }
}
