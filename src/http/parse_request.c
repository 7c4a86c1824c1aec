/*
 * parse_request.c: the request line (RFC 9112 section 3) and the path
 * normalizer that turns a request path into nginx's $uri.
 *
 * The line is scanned byte by byte for its shape (method SP target SP
 * version line-end), so that garbage is rejected as soon as it arrives; once
 * the whole line is in the buffer, the target and the version are analysed
 * from their spans in one go.
 */
#include "core/fc_core.h"
#include "http/parse.h"

#define CLS(c) fc_http_parse_class[(unsigned char) (c)]

enum {
    RL_START = 0, /* skipping empty lines */
    RL_START_CR,
    RL_METHOD,
    RL_TARGET_START,
    RL_TARGET,
    RL_VERSION,
    RL_CR,
    RL_ERROR,
};

/* "HTTP/1.1" is all a version may be; a longer one is rejected early. */
#define RL_VERSION_LEN 8

static int
rl_fail(fc_http_parser_t *p, uint16_t status, const char *why)
{
    p->state = RL_ERROR;
    p->status = status;
    p->error = why;
    return FC_ERROR;
}

static int
rl_alpha(unsigned char c)
{
    c |= 0x20;
    return c >= 'a' && c <= 'z';
}

/* 1 if the n bytes at s are the lowercase literal lc in any case. */
static int
rl_caseeq(const unsigned char *s, size_t n, const char *lc)
{
    if (strlen(lc) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (fc_tolower(s[i]) != (unsigned char) lc[i])
            return 0;
    return 1;
}

static unsigned
rl_method_id(const unsigned char *m, size_t n)
{
    static const struct {
        const char *name;
        unsigned id;
    } known[] = {
        {"GET", FC_HTTP_METHOD_GET},         {"HEAD", FC_HTTP_METHOD_HEAD},
        {"POST", FC_HTTP_METHOD_POST},       {"PUT", FC_HTTP_METHOD_PUT},
        {"DELETE", FC_HTTP_METHOD_DELETE},   {"OPTIONS", FC_HTTP_METHOD_OPTIONS},
        {"PATCH", FC_HTTP_METHOD_PATCH},     {"TRACE", FC_HTTP_METHOD_TRACE},
        {"CONNECT", FC_HTTP_METHOD_CONNECT},
    };

    for (size_t k = 0; k < fc_nelems(known); k++)
        if (strlen(known[k].name) == n && memcmp(known[k].name, m, n) == 0)
            return known[k].id;
    return FC_HTTP_METHOD_OTHER;
}

/* Sets the FC_HTTP_URI_* flags of the path span and splits off the query. */
static void
rl_path(fc_http_request_line_t *rl, const unsigned char *buf, size_t s, size_t e)
{
    const unsigned char *q = memchr(buf + s, '?', e - s);
    size_t pe = q ? (size_t) (q - buf) : e;
    unsigned flags = 0;

    rl->path.off = s;
    rl->path.len = pe - s;
    rl->has_args = q != NULL;
    rl->args.off = q ? pe + 1 : e;
    rl->args.len = q ? e - pe - 1 : 0;
    for (size_t i = s; i < pe; i++) {
        if (buf[i] == '%') {
            flags |= FC_HTTP_URI_QUOTED;
        } else if (buf[i] == '/' && i + 1 < pe) {
            size_t j = i + 1;
            if (buf[j] == '/')
                flags |= FC_HTTP_URI_DSLASH;
            if (buf[j] == '.' && ++j < pe && buf[j] == '.')
                j++;
            if (j > i + 1 && (j == pe || buf[j] == '/'))
                flags |= FC_HTTP_URI_DOTS;
        }
    }
    rl->uri_flags = flags ? flags | FC_HTTP_URI_COMPLEX : 0;
}

/* host [":" port] between s and e; a port is required for CONNECT. */
static int
rl_authority(fc_http_parser_t *p, fc_http_request_line_t *rl, const unsigned char *buf, size_t s,
             size_t e, int need_port)
{
    size_t q = s;
    uint32_t port = 0;

    if (q < e && buf[q] == '[') {
        while (++q < e && (buf[q] == ':' || buf[q] == '.' || (CLS(buf[q]) & FC_HTTP_C_HEX))) {
        }
        if (q == e || buf[q] != ']' || q - s < 3)
            return rl_fail(p, 400, "invalid IPv6 literal in request-target");
        q++;
    } else {
        while (q < e && (rl_alpha(buf[q]) || (CLS(buf[q]) & FC_HTTP_C_DIGIT) || buf[q] == '-' ||
                         buf[q] == '.' || buf[q] == '_'))
            q++;
    }
    rl->host.off = s;
    rl->host.len = q - s;
    rl->port.off = q < e ? q + 1 : e;
    rl->port.len = q < e ? e - q - 1 : 0;
    if (q == s)
        return rl_fail(p, 400, "empty host in request-target");
    if (q < e && buf[q] != ':')
        return rl_fail(p, 400,
                       buf[q] == '@' ? "userinfo in request-target"
                                     : "invalid host in request-target");
    if ((q < e || need_port) && (rl->port.len == 0 || rl->port.len > 5))
        return rl_fail(p, 400, "invalid port in request-target");
    for (size_t i = rl->port.off; i < e; i++) {
        if (!(CLS(buf[i]) & FC_HTTP_C_DIGIT))
            return rl_fail(p, 400, "invalid port in request-target");
        port = port * 10 + (buf[i] - '0');
    }
    if (port > 65535)
        return rl_fail(p, 400, "invalid port in request-target");
    return FC_OK;
}

/* absolute-form: "http" / "https" "://" authority [path-abempty] ["?" query]. */
static int
rl_absolute(fc_http_parser_t *p, fc_http_request_line_t *rl, const unsigned char *buf)
{
    size_t s = rl->target.off, e = s + rl->target.len, i = s, a;

    while (i < e && rl_alpha(buf[i]))
        i++;
    rl->scheme.off = s;
    rl->scheme.len = i - s;
    if (e - i < 3 || memcmp(buf + i, "://", 3) != 0)
        return rl_fail(p, 400, "invalid request-target");
    if (!rl_caseeq(buf + s, rl->scheme.len, "http") && !rl_caseeq(buf + s, rl->scheme.len, "https"))
        return rl_fail(p, 400, "unsupported scheme in request-target");
    rl->form = FC_HTTP_TARGET_ABSOLUTE;
    for (a = i += 3; i < e && buf[i] != '/' && buf[i] != '?'; i++) {
    }
    if (rl_authority(p, rl, buf, a, i, 0) != FC_OK)
        return FC_ERROR;
    rl_path(rl, buf, i, e); /* "http://h?q" gives an empty path */
    return FC_OK;
}

static int
rl_target(fc_http_parser_t *p, fc_http_request_line_t *rl, const unsigned char *buf)
{
    const unsigned char *t = buf + rl->target.off;
    size_t n = rl->target.len;

    if (rl->method_id == FC_HTTP_METHOD_CONNECT) {
        rl->form = FC_HTTP_TARGET_AUTHORITY;
        return rl_authority(p, rl, buf, rl->target.off, rl->target.off + n, 1);
    }
    if (t[0] == '/') {
        rl->form = FC_HTTP_TARGET_ORIGIN;
        rl_path(rl, buf, rl->target.off, rl->target.off + n);
        return FC_OK;
    }
    if (n == 1 && t[0] == '*') {
        if (rl->method_id != FC_HTTP_METHOD_OPTIONS)
            return rl_fail(p, 400, "asterisk-form request-target outside OPTIONS");
        rl->form = FC_HTTP_TARGET_ASTERISK;
        return FC_OK;
    }
    return rl_absolute(p, rl, buf);
}

/* The whole line is in: cut it into its parts and check version and target. */
/*
 * As nginx: a method is upper-case letters, "_" and "-" (any token would do
 * for RFC 9110, but "get" or "G1T" reaching a backend is a client bug).
 */
static int
rl_method_chars(const unsigned char *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((m[i] >= 'A' && m[i] <= 'Z') || m[i] == '_' || m[i] == '-'))
            return 0;
    return 1;
}

static int
rl_finish(fc_http_parser_t *p, fc_http_request_line_t *rl, const unsigned char *buf, size_t vend,
          size_t end)
{
    size_t vs = p->mark[3] + 1;
    int rc;

    memset(rl, 0, sizeof(*rl));
    rl->start = p->mark[0];
    rl->end = end;
    rl->method.off = p->mark[0];
    rl->method.len = p->mark[1] - p->mark[0];
    rl->target.off = p->mark[2];
    rl->target.len = p->mark[3] - p->mark[2];
    rl->method_id = rl_method_id(buf + rl->method.off, rl->method.len);
    if (rl->method_id == FC_HTTP_METHOD_OTHER &&
        !rl_method_chars(buf + rl->method.off, rl->method.len))
        return rl_fail(p, 400, "invalid method");
    rc = fc_http_parse_version(buf + vs, vend - vs, &rl->http_major, &rl->http_minor);
    if (rc == FC_ERROR)
        return rl_fail(p, 400, "invalid HTTP version");
    if (rc == FC_DECLINED)
        return rl_fail(p, 505, "unsupported HTTP version");
    if (rl_target(p, rl, buf) != FC_OK)
        return FC_ERROR;
    p->pos = end;
    p->state = FC_HTTP_F_START; /* ready for the header fields */
    return FC_OK;
}

/* One byte of the line's shape; returns the next state or RL_ERROR. */
static unsigned
rl_step(fc_http_parser_t *p, unsigned char c, size_t i)
{
    uint8_t cl = CLS(c);

    switch (p->state) {
    case RL_START:
        if (c == '\r' || c == '\n')
            return c == '\r' ? RL_START_CR : RL_START;
        p->mark[0] = i;
        return (cl & FC_HTTP_C_TOKEN) ? RL_METHOD : RL_ERROR;
    case RL_START_CR:
        return c == '\n' ? RL_START : RL_ERROR;
    case RL_METHOD:
        if (c == ' ')
            p->mark[1] = i;
        return (cl & FC_HTTP_C_TOKEN) ? RL_METHOD : c == ' ' ? RL_TARGET_START : RL_ERROR;
    case RL_TARGET_START:
        p->mark[2] = i;
        return (cl & FC_HTTP_C_TARGET) ? RL_TARGET : RL_ERROR;
    case RL_TARGET:
        if (c == ' ')
            p->mark[3] = i;
        return (cl & FC_HTTP_C_TARGET) ? RL_TARGET : c == ' ' ? RL_VERSION : RL_ERROR;
    case RL_VERSION:
        if (c == '\r' || c == '\n')
            return c == '\r' ? RL_CR : RL_VERSION;
        if (!(cl & FC_HTTP_C_FIELD) || i - p->mark[3] > RL_VERSION_LEN)
            return RL_ERROR;
        return RL_VERSION;
    case RL_CR:
        return c == '\n' ? RL_CR : RL_ERROR;
    default:
        return RL_ERROR;
    }
}

int
fc_http_request_line_parse(fc_http_parser_t *p, fc_http_request_line_t *rl,
                           const unsigned char *buf, size_t len)
{
    size_t i;

    for (i = p->pos; i < len; i++) {
        unsigned char c;
        unsigned next;

        if (p->state == RL_TARGET ||
            p->state == RL_METHOD) { /* the bytes that do not change state */
            uint8_t want = p->state == RL_TARGET ? FC_HTTP_C_TARGET : FC_HTTP_C_TOKEN;
            while (len - i >= 4 &&
                   (CLS(buf[i]) & CLS(buf[i + 1]) & CLS(buf[i + 2]) & CLS(buf[i + 3]) & want))
                i += 4;
            while (i < len && (CLS(buf[i]) & want))
                i++;
            if (i == len)
                break;
        }
        c = buf[i];
        next = rl_step(p, c, i);

        if (next == RL_ERROR) {
            p->pos = i;
            if (p->state == RL_TARGET && (c == '\r' || c == '\n'))
                return rl_fail(p, 400, "request line without HTTP version");
            if (p->state == RL_START_CR || p->state == RL_CR)
                return rl_fail(p, 400, "bare CR in request line");
            return rl_fail(
                p, 400, p->state == RL_VERSION ? "invalid HTTP version" : "invalid request line");
        }
        if (c == '\n' && (p->state == RL_VERSION || p->state == RL_CR)) {
            p->pos = i;
            return rl_finish(p, rl, buf, p->state == RL_CR ? i - 1 : i, i + 1);
        }
        if (next == RL_VERSION && p->state == RL_TARGET && len - i > 10 &&
            memcmp(buf + i + 1, "HTTP/1.", 7) == 0 && (buf[i + 8] == '1' || buf[i + 8] == '0') &&
            buf[i + 9] == '\r' && buf[i + 10] == '\n') {
            /* " HTTP/1.1" CRLF, the usual end, in one step */
            p->pos = i + 10;
            return rl_finish(p, rl, buf, i + 9, i + 11);
        }
        p->state = (uint16_t) next;
    }
    p->pos = i;
    return FC_AGAIN;
}

/* ---- $uri ------------------------------------------------------------------ */

static int
np_hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = fc_tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Decodes %XX from in to out (which may be in); returns the length or -1. */
static ssize_t
np_decode(const unsigned char *in, size_t n, unsigned char *out)
{
    size_t w = 0;

    for (size_t r = 0; r < n; r++) {
        int hi, lo;

        if (in[r] == '\0')
            return -1;
        if (in[r] != '%') {
            out[w++] = in[r];
            continue;
        }
        if (n - r < 3)
            return -1;
        hi = np_hex(in[r + 1]);
        lo = np_hex(in[r + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return -1;
        out[w++] = (unsigned char) (hi << 4 | lo);
        r += 2;
    }
    return (ssize_t) w;
}

int
fc_http_normalize_path(const fc_str_t *in, fc_str_t *out, int merge_slashes)
{
    unsigned char *b = out->data;
    ssize_t n;
    size_t r = 0, w = 0;

    if (in->len == 0 || in->data[0] != '/' || (n = np_decode(in->data, in->len, b)) < 0)
        return FC_ERROR;
    while (r < (size_t) n) {
        size_t s = r + 1, e = s; /* b[r] is '/', the segment is b[s .. e) */
        int dots;

        while (e < (size_t) n && b[e] != '/')
            e++;
        dots = (e - s == 1 && b[s] == '.') || (e - s == 2 && b[s] == '.' && b[s + 1] == '.');
        if (dots && e - s == 2) {
            if (w == 0)
                return FC_ERROR; /* above the root */
            while (b[--w] != '/') {
            }
        } else if (!dots && (e > s || !merge_slashes || e == (size_t) n)) {
            memmove(b + w + 1, b + s, e - s); /* "/" + segment; w <= r keeps it in place */
            b[w] = '/';
            w += 1 + e - s;
        }
        if (dots && e == (size_t) n && (w == 0 || b[w - 1] != '/'))
            b[w++] = '/'; /* "/a/." and "/a/b/.." end in a slash */
        r = e;
    }
    out->len = w;
    return FC_OK;
}
