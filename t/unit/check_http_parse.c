/*
 * check_http_parse.c: the HTTP/1.x parser (src/http/parse*.c): request lines,
 * header fields, body framing (the smuggling cases), the chunked decoder,
 * status lines and the $uri normalizer.
 *
 * Every message in the request and response tables is fed three ways: all
 * at once, one byte at a time, and split in two at every position. The three
 * must agree on everything (result, status, offsets, headers, body) and the
 * first must match the table.
 */
#include <check.h>

#include "unit.h"

#include "core/fc_core.h"
#include "http/parse.h"

#define R(s) .raw = (s), .len = sizeof(s) - 1
#define M(x) FC_HTTP_METHOD_##x
#define ORIGIN FC_HTTP_TARGET_ORIGIN
#define ABSOLUTE FC_HTTP_TARGET_ABSOLUTE
#define AUTHORITY FC_HTTP_TARGET_AUTHORITY
#define ASTERISK FC_HTTP_TARGET_ASTERISK
#define Q FC_HTTP_URI_QUOTED
#define DOTS FC_HTTP_URI_DOTS
#define DSL FC_HTTP_URI_DSLASH
#define CX FC_HTTP_URI_COMPLEX
#define LENGTH FC_HTTP_BODY_LENGTH
#define CHUNKED FC_HTTP_BODY_CHUNKED

#define MAXH 16
#define MAXBODY 256

/* ---- the message driver --------------------------------------------------- */

/* Everything a fed message produced; compared between the ways of feeding. */
typedef struct {
    int rc; /* FC_DONE (message complete), FC_AGAIN (needs more) or FC_ERROR */
    unsigned status;
    const char *error;
    fc_http_request_line_t rl;
    fc_http_status_line_t sl;
    size_t nh;
    fc_http_header_t h[MAXH];
    unsigned kind;
    int64_t length;
    unsigned char body[MAXBODY];
    size_t body_len;
    unsigned trailers;
    size_t end; /* offset just past the message */
} msg_result_t;

typedef struct {
    int response;
    int stage; /* 0 start line, 1 headers, 2 body */
    size_t body_at;
    fc_http_parser_t p;
    fc_http_framing_t f;
    fc_http_chunked_t ch;
} msg_driver_t;

static int
drv_fail(msg_result_t *r, unsigned status, const char *why)
{
    r->status = status;
    r->error = why;
    return FC_ERROR;
}

static int
drv_headers(msg_driver_t *d, msg_result_t *r, const unsigned char *msg, size_t avail)
{
    for (;;) {
        fc_http_header_t h;
        int rc = fc_http_header_parse(&d->p, &h, msg, avail);

        if (rc == FC_AGAIN)
            return FC_AGAIN;
        if (rc == FC_ERROR)
            return drv_fail(r, d->p.status, d->p.error);
        if (rc == FC_DONE)
            break;
        if (r->nh < MAXH)
            r->h[r->nh] = h;
        r->nh++;
        fc_http_framing_add(&d->f, msg + h.name.off, h.name.len, msg + h.value.off, h.value.len);
    }
    d->stage = 2;
    d->body_at = d->p.pos;
    if (fc_http_framing_finish(&d->f, 1, d->response ? r->sl.http_minor : r->rl.http_minor) !=
        FC_OK)
        return drv_fail(r, d->f.status, d->f.error);
    r->kind = d->f.kind;
    r->length = d->f.length;
    return FC_OK;
}

static void
drv_append(msg_result_t *r, const unsigned char *p, size_t n)
{
    size_t room = MAXBODY - r->body_len;

    memcpy(r->body + r->body_len, p, n < room ? n : room);
    r->body_len += n < room ? n : room;
}

static int
drv_body(msg_driver_t *d, msg_result_t *r, const unsigned char *msg, size_t avail)
{
    if (r->kind == FC_HTTP_BODY_LENGTH) {
        if ((int64_t) (avail - d->body_at) < r->length)
            return FC_AGAIN;
        drv_append(r, msg + d->body_at, (size_t) r->length);
        r->end = d->body_at + (size_t) r->length;
        return FC_DONE;
    }
    if (r->kind != FC_HTTP_BODY_CHUNKED) {
        r->end = d->body_at;
        return FC_DONE;
    }
    for (;;) {
        const unsigned char *in = msg + d->body_at; /* only the new bytes */
        fc_http_span_t data;
        size_t used;
        int rc = fc_http_chunked_parse(&d->ch, in, avail - d->body_at, &used, &data);

        if (rc == FC_ERROR)
            return drv_fail(r, d->ch.status, d->ch.error);
        ck_assert(used <= avail - d->body_at);
        if (rc == FC_OK)
            drv_append(r, in + data.off, data.len);
        d->body_at += used;
        if (rc == FC_AGAIN)
            return FC_AGAIN;
        if (rc == FC_DONE) {
            r->trailers = d->ch.trailers;
            r->end = d->body_at;
            return FC_DONE;
        }
    }
}

/* Advances with the first `avail` bytes of msg as far as they allow. */
static int
drv_feed(msg_driver_t *d, msg_result_t *r, const unsigned char *msg, size_t avail)
{
    int rc;

    if (d->stage == 0) {
        rc = d->response ? fc_http_status_line_parse(&d->p, &r->sl, msg, avail)
                         : fc_http_request_line_parse(&d->p, &r->rl, msg, avail);
        if (rc == FC_ERROR)
            return drv_fail(r, d->p.status, d->p.error);
        if (rc == FC_AGAIN)
            return FC_AGAIN;
        d->stage = 1;
    }
    if (d->stage == 1 && (rc = drv_headers(d, r, msg, avail)) != FC_OK)
        return rc;
    return drv_body(d, r, msg, avail);
}

/* Feeds msg growing to each length in cuts[] (the last is the whole). */
static void
drv_run(int response, const unsigned char *msg, const size_t *cuts, size_t ncuts, msg_result_t *r)
{
    msg_driver_t d;

    memset(&d, 0, sizeof(d));
    memset(r, 0, sizeof(*r));
    d.response = response;
    fc_http_parser_init(&d.p, 0);
    fc_http_framing_init(&d.f);
    fc_http_chunked_init(&d.ch);
    r->rc = FC_AGAIN;
    for (size_t k = 0; k < ncuts && r->rc == FC_AGAIN; k++)
        r->rc = drv_feed(&d, r, msg, cuts[k]);
}

static void
res_same(const msg_result_t *a, const msg_result_t *b, const char *name, const char *how)
{
    ck_assert_msg(a->rc == b->rc, "%s (%s): rc %d, whole gave %d", name, how, b->rc, a->rc);
    ck_assert_msg(a->status == b->status && a->error == b->error,
                  "%s (%s): %u \"%s\", whole gave %u \"%s\"", name, how, b->status,
                  b->error ? b->error : "", a->status, a->error ? a->error : "");
    if (a->rc == FC_ERROR)
        return;
    ck_assert_msg(memcmp(&a->rl, &b->rl, sizeof(a->rl)) == 0, "%s (%s): request line", name, how);
    ck_assert_msg(memcmp(&a->sl, &b->sl, sizeof(a->sl)) == 0, "%s (%s): status line", name, how);
    ck_assert_msg(a->nh == b->nh, "%s (%s): headers %zu vs %zu", name, how, b->nh, a->nh);
    for (size_t k = 0; k < a->nh && k < MAXH; k++) /* field by field: structs have padding */
        ck_assert_msg(a->h[k].name.off == b->h[k].name.off &&
                          a->h[k].name.len == b->h[k].name.len &&
                          a->h[k].value.off == b->h[k].value.off &&
                          a->h[k].value.len == b->h[k].value.len && a->h[k].hash == b->h[k].hash,
                      "%s (%s): header %zu", name, how, k);
    ck_assert_msg(a->kind == b->kind && a->length == b->length, "%s (%s): framing", name, how);
    ck_assert_msg(a->body_len == b->body_len && memcmp(a->body, b->body, a->body_len) == 0,
                  "%s (%s): body", name, how);
    ck_assert_msg(a->trailers == b->trailers && a->end == b->end, "%s (%s): end", name, how);
}

/* Whole, byte by byte, and every two-piece split: all must agree; *whole gets the first. */
static void
drv_all_splits(int response, const char *name, const char *raw, size_t n, msg_result_t *whole)
{
    const unsigned char *msg = (const unsigned char *) raw;
    size_t cuts[2048];
    msg_result_t other;

    ck_assert(n < fc_nelems(cuts));
    cuts[0] = n;
    drv_run(response, msg, cuts, 1, whole);
    for (size_t k = 0; k < n; k++)
        cuts[k] = k + 1;
    drv_run(response, msg, cuts, n, &other);
    res_same(whole, &other, name, "byte by byte");
    for (size_t k = 1; k < n; k++) {
        size_t two[2] = {k, n};
        char how[32];

        drv_run(response, msg, two, 2, &other);
        snprintf(how, sizeof(how), "split at %zu", k);
        res_same(whole, &other, name, how);
    }
}

static void
span_is(const char *raw, fc_http_span_t s, const char *want, const char *what, const char *name)
{
    if (want == NULL)
        return;
    ck_assert_msg(s.len == strlen(want) && memcmp(raw + s.off, want, s.len) == 0,
                  "%s: %s is \"%.*s\", want \"%s\"", name, what, (int) s.len, raw + s.off, want);
}

/* ---- request tables --------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *raw;
    size_t len;
    int rc;          /* FC_DONE, FC_AGAIN (valid so far) or FC_ERROR */
    unsigned status; /* for FC_ERROR */
    unsigned method, form, flags, minor;
    const char *path, *args, *host, *port;
    size_t nh;
    const char *h0name, *h0value; /* the first header */
    unsigned kind;
    int64_t length;
    const char *body;
    unsigned trailers;
    size_t start, end; /* end 0: the whole message */
} req_case_t;

#define GET1(extra) "GET / HTTP/1.1\r\n" extra "\r\n"
#define POST1(hdrs, body) "POST /f HTTP/1.1\r\nHost: h\r\n" hdrs "\r\n" body
#define TE_CHUNKED "Transfer-Encoding: chunked\r\n"

static const req_case_t req_valid[] = {
    {"simple GET", R(GET1("Host: a\r\n")), .method = M(GET), .form = ORIGIN, .minor = 1,
     .path = "/", .args = "", .nh = 1, .h0name = "Host", .h0value = "a"},
    {"path and args", R("GET /index.html?x=1&y=2 HTTP/1.1\r\nHost: a\r\n\r\n"), .method = M(GET),
     .form = ORIGIN, .minor = 1, .path = "/index.html", .args = "x=1&y=2", .nh = 1},
    {"HTTP/1.0 without headers", R("GET /x HTTP/1.0\r\n\r\n"), .method = M(GET), .form = ORIGIN,
     .path = "/x"},
    {"HTTP/1.9 is 1.x", R("GET / HTTP/1.9\r\n\r\n"), .method = M(GET), .form = ORIGIN, .minor = 9},
    {"bare LF line ends", R("GET / HTTP/1.1\nHost: a\n\n"), .method = M(GET), .form = ORIGIN,
     .minor = 1, .nh = 1, .h0value = "a"},
    {"leading CRLFs skipped", R("\r\n\r\nGET / HTTP/1.1\r\n\r\n"), .method = M(GET), .form = ORIGIN,
     .minor = 1, .start = 4},
    {"leading LF skipped", R("\nGET / HTTP/1.1\r\n\r\n"), .method = M(GET), .form = ORIGIN,
     .minor = 1, .start = 1},
    {"unknown method is a token", R("PURGE /x HTTP/1.1\r\n\r\n"), .method = M(OTHER),
     .form = ORIGIN, .minor = 1},
    {"method with - and _", R("M-SEARCH_X / HTTP/1.1\r\n\r\n"), .method = M(OTHER), .form = ORIGIN,
     .minor = 1},
    {"HEAD", R("HEAD / HTTP/1.1\r\n\r\n"), .method = M(HEAD), .form = ORIGIN, .minor = 1},
    {"PUT", R("PUT /r HTTP/1.1\r\nContent-Length: 2\r\n\r\nok"), .method = M(PUT), .form = ORIGIN,
     .minor = 1, .nh = 1, .kind = LENGTH, .length = 2, .body = "ok"},
    {"DELETE", R("DELETE /r HTTP/1.1\r\n\r\n"), .method = M(DELETE), .form = ORIGIN, .minor = 1},
    {"PATCH", R("PATCH /r HTTP/1.1\r\n\r\n"), .method = M(PATCH), .form = ORIGIN, .minor = 1},
    {"TRACE", R("TRACE /r HTTP/1.1\r\n\r\n"), .method = M(TRACE), .form = ORIGIN, .minor = 1},
    {"OPTIONS origin-form", R("OPTIONS /r HTTP/1.1\r\n\r\n"), .method = M(OPTIONS), .form = ORIGIN,
     .minor = 1},
    {"OPTIONS *", R("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), .method = M(OPTIONS),
     .form = ASTERISK, .minor = 1, .nh = 1},
    {"CONNECT authority-form", R("CONNECT example.com:443 HTTP/1.1\r\n\r\n"), .method = M(CONNECT),
     .form = AUTHORITY, .minor = 1, .host = "example.com", .port = "443"},
    {"CONNECT IPv6", R("CONNECT [::1]:8080 HTTP/1.1\r\n\r\n"), .method = M(CONNECT),
     .form = AUTHORITY, .minor = 1, .host = "[::1]", .port = "8080"},
    {"absolute-form", R("GET http://example.com:8080/a/b?q=1 HTTP/1.1\r\n\r\n"), .method = M(GET),
     .form = ABSOLUTE, .minor = 1, .host = "example.com", .port = "8080", .path = "/a/b",
     .args = "q=1"},
    {"absolute-form without path", R("GET http://example.com HTTP/1.1\r\n\r\n"), .method = M(GET),
     .form = ABSOLUTE, .minor = 1, .host = "example.com", .port = "", .path = ""},
    {"absolute-form HTTPS, query only", R("GET HTTPS://h.example?x HTTP/1.1\r\n\r\n"),
     .method = M(GET), .form = ABSOLUTE, .minor = 1, .host = "h.example", .path = "", .args = "x"},
    {"dot-dot segment flagged", R("GET /a/../b HTTP/1.1\r\n\r\n"), .method = M(GET), .form = ORIGIN,
     .minor = 1, .flags = DOTS | CX},
    {"dot segment flagged", R("GET /a/./b HTTP/1.1\r\n\r\n"), .method = M(GET), .form = ORIGIN,
     .minor = 1, .flags = DOTS | CX},
    {"trailing dot-dot flagged", R("GET /a/.. HTTP/1.1\r\n\r\n"), .method = M(GET), .form = ORIGIN,
     .minor = 1, .flags = DOTS | CX},
    {"double slash flagged", R("GET /a//b HTTP/1.1\r\n\r\n"), .method = M(GET), .form = ORIGIN,
     .minor = 1, .flags = DSL | CX},
    {"escape flagged", R("GET /a%20b?c%20d HTTP/1.1\r\n\r\n"), .method = M(GET), .form = ORIGIN,
     .minor = 1, .flags = Q | CX, .path = "/a%20b", .args = "c%20d"},
    {"dotted names are not dot segments", R("GET /a/.b/c./..d/... HTTP/1.1\r\n\r\n"),
     .method = M(GET), .form = ORIGIN, .minor = 1},
    {"dots in the query are not flagged", R("GET /a?/../x HTTP/1.1\r\n\r\n"), .method = M(GET),
     .form = ORIGIN, .minor = 1, .path = "/a", .args = "/../x"},
    {"empty query", R("GET /a? HTTP/1.1\r\n\r\n"), .method = M(GET), .form = ORIGIN, .minor = 1,
     .path = "/a", .args = ""},
    {"obs-text and nginx's extra chars in target",
     R("GET /caf\xc3\xa9/<a>{b}|\\^\" HTTP/1.1\r\n\r\n"), .method = M(GET), .form = ORIGIN,
     .minor = 1},
    {"value whitespace trimmed", R(GET1("X-A: \t v  1 \t \r\n")), .method = M(GET), .form = ORIGIN,
     .minor = 1, .nh = 1, .h0name = "X-A", .h0value = "v  1"},
    {"empty value", R(GET1("X-Empty:\r\n")), .method = M(GET), .form = ORIGIN, .minor = 1, .nh = 1,
     .h0name = "X-Empty", .h0value = ""},
    {"whitespace-only value", R(GET1("X-Empty: \t \r\n")), .method = M(GET), .form = ORIGIN,
     .minor = 1, .nh = 1, .h0value = ""},
    {"obs-text and HTAB in value", R(GET1("X-Name: caf\xc3\xa9\tau lait\r\n")), .method = M(GET),
     .form = ORIGIN, .minor = 1, .nh = 1, .h0value = "caf\xc3\xa9\tau lait"},
    {"every tchar in a name", R(GET1("!#$%&'*+-.^_`|~09azAZ: v\r\n")), .method = M(GET),
     .form = ORIGIN, .minor = 1, .nh = 1, .h0name = "!#$%&'*+-.^_`|~09azAZ"},
    {"Transfer_Encoding is just another header", R(POST1("Transfer_Encoding: chunked\r\n", "")),
     .method = M(POST), .form = ORIGIN, .minor = 1, .nh = 2},
    {"several headers", R(GET1("A: 1\r\nB: 2\r\nC: 3\r\nA: 4\r\nE: 5\r\n")), .method = M(GET),
     .form = ORIGIN, .minor = 1, .nh = 5, .h0name = "A", .h0value = "1"},
    {"Content-Length body", R(POST1("Content-Length: 5\r\n", "hello")), .method = M(POST),
     .form = ORIGIN, .minor = 1, .nh = 2, .kind = LENGTH, .length = 5, .body = "hello"},
    {"Content-Length 0", R(POST1("Content-Length: 0\r\n", "")), .method = M(POST), .form = ORIGIN,
     .minor = 1, .nh = 2, .kind = LENGTH, .length = 0, .body = ""},
    {"Content-Length leading zeros", R(POST1("content-length: 007\r\n", "1234567")),
     .method = M(POST), .form = ORIGIN, .minor = 1, .nh = 2, .kind = LENGTH, .length = 7},
    {"Content-Length INT64_MAX waits for the body",
     R(POST1("Content-Length: 9223372036854775807\r\n", "abc")), .rc = FC_AGAIN, .method = M(POST),
     .form = ORIGIN, .minor = 1, .nh = 2, .kind = LENGTH, .length = INT64_MAX},
    {"chunked body", R(POST1(TE_CHUNKED, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")),
     .method = M(POST), .form = ORIGIN, .minor = 1, .nh = 2, .kind = CHUNKED, .length = -1,
     .body = "hello world"},
    {"chunked, hex case and leading zeros",
     R(POST1(TE_CHUNKED, "000A\r\n0123456789\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n00\r\n\r\n")),
     .method = M(POST), .form = ORIGIN, .minor = 1, .nh = 2, .kind = CHUNKED, .length = -1,
     .body = "0123456789abcdefghijklmnopqrstuvwxyz"},
    {"chunk extensions skipped",
     R(POST1(TE_CHUNKED, "5;a=b;c=\"q\\\"x\" ; d\r\nhello\r\n0;last\r\n\r\n")), .method = M(POST),
     .form = ORIGIN, .minor = 1, .nh = 2, .kind = CHUNKED, .length = -1, .body = "hello"},
    {"chunk extension with BWS", R(POST1(TE_CHUNKED, "2 ;a = b ;c\t=\t\"\"\r\nhi\r\n0\r\n\r\n")),
     .method = M(POST), .form = ORIGIN, .minor = 1, .nh = 2, .kind = CHUNKED, .length = -1,
     .body = "hi"},
    {"chunked trailers", R(POST1(TE_CHUNKED, "2\r\nhi\r\n0\r\nX-Sum: 1\r\nX-T:\tv v\r\n\r\n")),
     .method = M(POST), .form = ORIGIN, .minor = 1, .nh = 2, .kind = CHUNKED, .length = -1,
     .body = "hi", .trailers = 2},
    {"Transfer-Encoding in any case", R(POST1("transfer-encoding: CHUNKED\r\n", "0\r\n\r\n")),
     .method = M(POST), .form = ORIGIN, .minor = 1, .nh = 2, .kind = CHUNKED, .length = -1,
     .body = ""},
    {"empty list elements ignored", R(POST1("Transfer-Encoding: , chunked ,\r\n", "0\r\n\r\n")),
     .method = M(POST), .form = ORIGIN, .minor = 1, .nh = 2, .kind = CHUNKED, .length = -1},
    {"pipelined: end of the first", R("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"),
     .method = M(GET), .form = ORIGIN, .minor = 1, .path = "/a", .end = 19},
    {"pipelined after a chunked body",
     R(POST1(TE_CHUNKED, "1\r\nx\r\n0\r\n\r\n") "GET / HTTP/1.1\r\n\r\n"), .method = M(POST),
     .form = ORIGIN, .minor = 1, .nh = 2, .kind = CHUNKED, .length = -1, .body = "x", .end = 68},
    {"pipelined after a Content-Length body",
     R(POST1("Content-Length: 1\r\n", "xGET / HTTP/1.1\r\n\r\n")), .method = M(POST),
     .form = ORIGIN, .minor = 1, .nh = 2, .kind = LENGTH, .length = 1, .body = "x", .end = 49},
};

#define BAD(nm, raw, st)                                                                           \
    {                                                                                              \
        nm, R(raw), .rc = FC_ERROR, .status = st                                                   \
    }

/* Request line and target. */
static const req_case_t req_bad_line[] = {
    BAD("two spaces after method", "GET  / HTTP/1.1\r\n\r\n", 400),
    BAD("two spaces before version", "GET /  HTTP/1.1\r\n\r\n", 400),
    BAD("space after version", "GET / HTTP/1.1 \r\n\r\n", 400),
    BAD("HTTP/0.9 request", "GET /\r\n\r\n", 400),
    BAD("method only", "GET\r\n\r\n", 400),
    BAD("leading space", " GET / HTTP/1.1\r\n\r\n", 400),
    BAD("lowercase version", "GET / http/1.1\r\n\r\n", 400),
    BAD("two-digit minor", "GET / HTTP/1.10\r\n\r\n", 400),
    BAD("no minor", "GET / HTTP/1\r\n\r\n", 400),
    BAD("letter minor", "GET / HTTP/1.x\r\n\r\n", 400),
    BAD("garbage version", "GET / FOO\r\n\r\n", 400),
    BAD("version with trailing junk", "GET / HTTP/1.1x\r\n\r\n", 400),
    BAD("HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", 505),
    BAD("HTTP/3.0", "GET / HTTP/3.0\r\n\r\n", 505),
    BAD("HTTP/0.9 version token", "GET / HTTP/0.9\r\n\r\n", 400),
    BAD("lowercase method (nginx: 400)", "get / HTTP/1.1\r\n\r\n", 400),
    BAD("digit in method", "G1T / HTTP/1.1\r\n\r\n", 400),
    BAD("token char other than - and _ in method", "M-SEARCH~! / HTTP/1.1\r\n\r\n", 400),
    BAD("control char in method", "GE\x01T / HTTP/1.1\r\n\r\n", 400),
    BAD("separator in method", "G(ET / HTTP/1.1\r\n\r\n", 400),
    BAD("bare CR after version", "GET / HTTP/1.1\r\r\n\r\n", 400),
    BAD("bare CR before request line", "\rGET / HTTP/1.1\r\n\r\n", 400),
    BAD("bare CR in target", "GET /a\rb HTTP/1.1\r\n\r\n", 400),
    BAD("NUL in target",
        "GET /a\x00"
        "b HTTP/1.1\r\n\r\n",
        400),
    BAD("HTAB in target", "GET /a\tb HTTP/1.1\r\n\r\n", 400),
    BAD("DEL in target", "GET /\x7f HTTP/1.1\r\n\r\n", 400),
    BAD("fragment in target", "GET /a#frag HTTP/1.1\r\n\r\n", 400),
    BAD("relative target", "GET a/b HTTP/1.1\r\n\r\n", 400),
    BAD("asterisk-form outside OPTIONS", "GET * HTTP/1.1\r\n\r\n", 400),
    BAD("CONNECT with origin-form", "CONNECT / HTTP/1.1\r\n\r\n", 400),
    BAD("CONNECT without port", "CONNECT example.com HTTP/1.1\r\n\r\n", 400),
    BAD("CONNECT port too big", "CONNECT example.com:99999 HTTP/1.1\r\n\r\n", 400),
    BAD("CONNECT empty host", "CONNECT :443 HTTP/1.1\r\n\r\n", 400),
    BAD("authority-form outside CONNECT", "GET example.com:80 HTTP/1.1\r\n\r\n", 400),
    BAD("userinfo in absolute-form", "GET http://user@host/ HTTP/1.1\r\n\r\n", 400),
    BAD("empty host in absolute-form", "GET http:///path HTTP/1.1\r\n\r\n", 400),
    BAD("unsupported scheme", "GET ftp://host/ HTTP/1.1\r\n\r\n", 400),
    BAD("non-numeric port", "GET http://host:port/ HTTP/1.1\r\n\r\n", 400),
    BAD("empty port", "GET http://host:/ HTTP/1.1\r\n\r\n", 400),
    BAD("scheme with one slash", "GET http:/host/ HTTP/1.1\r\n\r\n", 400),
    BAD("bad IPv6 literal", "GET http://[::1/ HTTP/1.1\r\n\r\n", 400),
};

/* Header fields. */
static const req_case_t req_bad_fields[] = {
    BAD("space before colon", GET1("Host : a\r\n"), 400),
    BAD("HTAB before colon", GET1("Host\t: a\r\n"), 400),
    BAD("space inside a name", GET1("Content Length: 5\r\n"), 400),
    BAD("whitespace before the first field", GET1(" Host: a\r\n"), 400),
    BAD("obs-fold with SP", GET1("X: a\r\n b\r\n"), 400),
    BAD("obs-fold with HTAB", GET1("X: a\r\n\tb\r\n"), 400),
    BAD("bare CR in value", GET1("X: a\rb\r\n"), 400),
    BAD("CR CR LF after value", GET1("X: a\r\r\n"), 400),
    BAD("bare CR at line start", "GET / HTTP/1.1\r\n\rX: a\r\n\r\n", 400),
    BAD("NUL in value",
        GET1("X: a\x00"
             "b\r\n"),
        400),
    BAD("NUL in name", GET1("X\x00Y: b\r\n"), 400),
    BAD("SOH in value",
        GET1("X: a\x01"
             "b\r\n"),
        400),
    BAD("ESC in value", GET1("X: \x1b[1m\r\n"), 400),
    BAD("VT in value",
        GET1("X: a\x0b"
             "b\r\n"),
        400),
    BAD("FF in value", GET1("X: a\x0c\r\n"), 400),
    BAD("DEL in value", GET1("X: a\x7f\r\n"), 400),
    BAD("control char in name", GET1("X-A\x01: b\r\n"), 400),
    BAD("separator in name", GET1("X(y): z\r\n"), 400),
    BAD("slash in name", GET1("X/y: z\r\n"), 400),
    BAD("obs-text in name", GET1("X\xc3\xa9: z\r\n"), 400),
    BAD("empty name", GET1(": value\r\n"), 400),
    BAD("line without colon", GET1("Hosta\r\n"), 400),
    BAD("line without colon, LF", GET1("Hosta\n"), 400),
};

/* Body framing: the request smuggling cases. */
static const req_case_t req_bad_framing[] = {
    BAD("CL and TE", POST1("Content-Length: 5\r\n" TE_CHUNKED, "0\r\n\r\n"), 400),
    BAD("TE and CL", POST1(TE_CHUNKED "Content-Length: 5\r\n", "0\r\n\r\n"), 400),
    BAD("CL 0 and TE", POST1("Content-Length: 0\r\n" TE_CHUNKED, "0\r\n\r\n"), 400),
    BAD("two different CLs", POST1("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"), 400),
    BAD("two identical CLs", POST1("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"), 400),
    BAD("CL list, different", POST1("Content-Length: 5, 6\r\n", "hello!"), 400),
    BAD("CL list, identical", POST1("Content-Length: 5, 5\r\n", "hello"), 400),
    BAD("negative CL", POST1("Content-Length: -1\r\n", ""), 400),
    BAD("CL with plus sign", POST1("Content-Length: +5\r\n", "hello"), 400),
    BAD("CL with inner space", POST1("Content-Length: 1 2\r\n", ""), 400),
    BAD("CL in hex", POST1("Content-Length: 0x10\r\n", ""), 400),
    BAD("CL exponent", POST1("Content-Length: 1e3\r\n", ""), 400),
    BAD("empty CL", POST1("Content-Length:\r\n", ""), 400),
    BAD("CL 2^63", POST1("Content-Length: 9223372036854775808\r\n", ""), 400),
    BAD("CL 20 digits", POST1("Content-Length: 99999999999999999999\r\n", ""), 400),
    BAD("space before colon in CL", POST1("Content-Length : 5\r\n", "hello"), 400),
    BAD("space before colon in TE", POST1("Transfer-Encoding : chunked\r\n", "0\r\n\r\n"), 400),
    BAD("TE xchunked", POST1("Transfer-Encoding: xchunked\r\n", "0\r\n\r\n"), 400),
    BAD("TE chunkedx", POST1("Transfer-Encoding: chunkedx\r\n", "0\r\n\r\n"), 400),
    BAD("TE chunked with junk", POST1("Transfer-Encoding: chunked x\r\n", "0\r\n\r\n"), 400),
    BAD("TE chunked with parameter", POST1("Transfer-Encoding: chunked;q=1\r\n", "0\r\n\r\n"), 400),
    BAD("TE chunked then VT", POST1("Transfer-Encoding: chunked\x0b\r\n", "0\r\n\r\n"), 400),
    BAD("TE not ending in chunked", POST1("Transfer-Encoding: chunked, gzip\r\n", ""), 400),
    BAD("TE gzip only", POST1("Transfer-Encoding: gzip\r\n", ""), 400),
    BAD("TE identity", POST1("Transfer-Encoding: identity\r\n", ""), 400),
    BAD("TE empty", POST1("Transfer-Encoding:\r\n", ""), 400),
    BAD("TE chunked twice", POST1("Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\n"), 400),
    BAD("TE chunked in two fields", POST1(TE_CHUNKED TE_CHUNKED, "0\r\n\r\n"), 400),
    BAD("TE gzip, chunked", POST1("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"), 501),
    BAD("TE gzip then chunked fields", POST1("Transfer-Encoding: gzip\r\n" TE_CHUNKED, "0\r\n\r\n"),
        501),
    BAD("TE in HTTP/1.0", "POST / HTTP/1.0\r\n" TE_CHUNKED "\r\n0\r\n\r\n", 400),
};

/* Chunked bodies. */
static const req_case_t req_bad_chunked[] = {
    BAD("chunk size 0x10", POST1(TE_CHUNKED, "0x10\r\n0123456789abcdef\r\n0\r\n\r\n"), 400),
    BAD("chunk size -1", POST1(TE_CHUNKED, "-1\r\nx\r\n0\r\n\r\n"), 400),
    BAD("chunk size overflow", POST1(TE_CHUNKED, "10000000000000000\r\nx\r\n"), 400),
    BAD("chunk size 2^64", POST1(TE_CHUNKED, "fffffffffffffffff\r\nx\r\n"), 400),
    BAD("chunk size 2^63", POST1(TE_CHUNKED, "8000000000000000\r\nx\r\n"), 400),
    BAD("empty chunk size", POST1(TE_CHUNKED, "\r\nhello\r\n0\r\n\r\n"), 400),
    BAD("space before chunk size", POST1(TE_CHUNKED, " 5\r\nhello\r\n0\r\n\r\n"), 400),
    BAD("space after chunk size", POST1(TE_CHUNKED, "5 \r\nhello\r\n0\r\n\r\n"), 400),
    BAD("letters after chunk size", POST1(TE_CHUNKED, "5g\r\nhello\r\n0\r\n\r\n"), 400),
    BAD("no CRLF after chunk data", POST1(TE_CHUNKED, "5\r\nhelloX0\r\n\r\n"), 400),
    BAD("data longer than size", POST1(TE_CHUNKED, "3\r\nhello\r\n0\r\n\r\n"), 400),
    BAD("bare LF after chunk size", POST1(TE_CHUNKED, "5\nhello\r\n0\r\n\r\n"), 400),
    BAD("bare LF after chunk data", POST1(TE_CHUNKED, "5\r\nhello\n0\r\n\r\n"), 400),
    BAD("bare CR after chunk size", POST1(TE_CHUNKED, "5\rhello\r\n0\r\n\r\n"), 400),
    BAD("CR without LF after data", POST1(TE_CHUNKED, "5\r\nhello\rX0\r\n\r\n"), 400),
    BAD("extension without name", POST1(TE_CHUNKED, "5;\r\nhello\r\n0\r\n\r\n"), 400),
    BAD("extension with bad name", POST1(TE_CHUNKED, "5;a(b\r\nhello\r\n0\r\n\r\n"), 400),
    BAD("extension, unterminated quote", POST1(TE_CHUNKED, "5;a=\"x\r\nhello\r\n0\r\n\r\n"), 400),
    BAD("extension, control char", POST1(TE_CHUNKED, "5;a=\x01\r\nhello\r\n0\r\n\r\n"), 400),
    BAD("extension, space after name", POST1(TE_CHUNKED, "5;a \r\nhello\r\n0\r\n\r\n"), 400),
    BAD("extension, bare LF", POST1(TE_CHUNKED, "5;a=b\nhello\r\n0\r\n\r\n"), 400),
    BAD("trailer with bare LF", POST1(TE_CHUNKED, "0\r\nX: y\n\r\n"), 400),
    BAD("trailer with obs-fold", POST1(TE_CHUNKED, "0\r\nX: y\r\n z\r\n\r\n"), 400),
    BAD("trailer with space before colon", POST1(TE_CHUNKED, "0\r\nX : y\r\n\r\n"), 400),
    BAD("trailer with NUL", POST1(TE_CHUNKED, "0\r\nX: \x00\r\n\r\n"), 400),
    BAD("trailer without colon", POST1(TE_CHUNKED, "0\r\nXY\r\n\r\n"), 400),
    BAD("final bare LF", POST1(TE_CHUNKED, "0\r\n\n"), 400),
};

static void
req_check(const req_case_t *c)
{
    msg_result_t r;

    drv_all_splits(0, c->name, c->raw, c->len, &r);
    ck_assert_msg(r.rc == (c->rc ? c->rc : FC_DONE), "%s: rc %d (%u %s)", c->name, r.rc, r.status,
                  r.error ? r.error : "");
    if (r.rc == FC_ERROR) {
        ck_assert_msg(r.status == c->status, "%s: status %u (%s), want %u", c->name, r.status,
                      r.error, c->status);
        ck_assert(r.error != NULL);
        return;
    }
    ck_assert_msg(r.rl.method_id == c->method, "%s: method %u", c->name, r.rl.method_id);
    ck_assert_msg(r.rl.form == c->form, "%s: form %u", c->name, r.rl.form);
    ck_assert_msg(r.rl.uri_flags == c->flags, "%s: flags %#x", c->name, r.rl.uri_flags);
    ck_assert_msg(r.rl.http_major == 1 && r.rl.http_minor == c->minor, "%s: version", c->name);
    ck_assert_msg(r.rl.start == c->start, "%s: start %zu", c->name, r.rl.start);
    span_is(c->raw, r.rl.path, c->path, "path", c->name);
    span_is(c->raw, r.rl.args, c->args, "args", c->name);
    span_is(c->raw, r.rl.host, c->host, "host", c->name);
    span_is(c->raw, r.rl.port, c->port, "port", c->name);
    ck_assert_msg(r.nh == c->nh, "%s: %zu headers", c->name, r.nh);
    if (c->nh > 0) {
        span_is(c->raw, r.h[0].name, c->h0name, "name", c->name);
        span_is(c->raw, r.h[0].value, c->h0value, "value", c->name);
    }
    ck_assert_msg(r.kind == c->kind && r.length == c->length, "%s: framing %u %" PRId64, c->name,
                  r.kind, r.length);
    if (c->body != NULL)
        ck_assert_msg(r.body_len == strlen(c->body) && memcmp(r.body, c->body, r.body_len) == 0,
                      "%s: body \"%.*s\"", c->name, (int) r.body_len, r.body);
    ck_assert_msg(r.trailers == c->trailers, "%s: trailers %u", c->name, r.trailers);
    if (r.rc == FC_DONE)
        ck_assert_msg(r.end == (c->end ? c->end : c->len), "%s: end %zu", c->name, r.end);
}

START_TEST(test_req_valid)
{
    req_check(&req_valid[_i]);
}
END_TEST

START_TEST(test_req_bad_line)
{
    req_check(&req_bad_line[_i]);
}
END_TEST

START_TEST(test_req_bad_fields)
{
    req_check(&req_bad_fields[_i]);
}
END_TEST

START_TEST(test_req_bad_framing)
{
    req_check(&req_bad_framing[_i]);
}
END_TEST

START_TEST(test_req_bad_chunked)
{
    req_check(&req_bad_chunked[_i]);
}
END_TEST

/* ---- responses ---------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *raw;
    size_t len;
    int rc; /* 0: FC_DONE */
    unsigned code, minor;
    const char *reason;
    size_t nh;
    unsigned kind;
    int64_t length;
} resp_case_t;

static const resp_case_t resp_cases[] = {
    {"200 OK", R("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n"), .code = 200, .minor = 1, .reason = "OK",
     .nh = 1},
    {"HTTP/1.0 404", R("HTTP/1.0 404 Not Found\r\nContent-Length: 3\r\n\r\nabc"), .code = 404,
     .reason = "Not Found", .nh = 1, .kind = LENGTH, .length = 3},
    {"no SP before an empty reason", R("HTTP/1.1 200\r\n\r\n"), .code = 200, .minor = 1,
     .reason = ""},
    {"SP and an empty reason", R("HTTP/1.1 204 \r\n\r\n"), .code = 204, .minor = 1, .reason = ""},
    {"reason with HTAB, SP, obs-text", R("HTTP/1.1 500 Oh\tno \xc3\xa9!\r\n\r\n"), .code = 500,
     .minor = 1, .reason = "Oh\tno \xc3\xa9!"},
    {"bare LF line ends", R("HTTP/1.1 599 X\nA: b\n\n"), .code = 599, .minor = 1, .reason = "X",
     .nh = 1},
    {"100 Continue", R("HTTP/1.1 100 Continue\r\n\r\n"), .code = 100, .minor = 1,
     .reason = "Continue"},
    {"chunked response",
     R("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"), .code = 200,
     .minor = 1, .reason = "OK", .nh = 1, .kind = CHUNKED, .length = -1},
    {"code 099", R("HTTP/1.1 099 X\r\n\r\n"), .rc = FC_ERROR},
    {"code 600", R("HTTP/1.1 600 X\r\n\r\n"), .rc = FC_ERROR},
    {"two-digit code", R("HTTP/1.1 20 OK\r\n\r\n"), .rc = FC_ERROR},
    {"four-digit code", R("HTTP/1.1 2000 OK\r\n\r\n"), .rc = FC_ERROR},
    {"letters in code", R("HTTP/1.1 abc OK\r\n\r\n"), .rc = FC_ERROR},
    {"empty code", R("HTTP/1.1 \r\n\r\n"), .rc = FC_ERROR},
    {"two spaces before code", R("HTTP/1.1  200 OK\r\n\r\n"), .rc = FC_ERROR},
    {"HTTP/2", R("HTTP/2 200\r\n\r\n"), .rc = FC_ERROR},
    {"HTTP/2.0", R("HTTP/2.0 200 OK\r\n\r\n"), .rc = FC_ERROR},
    {"lowercase http", R("http/1.1 200 OK\r\n\r\n"), .rc = FC_ERROR},
    {"leading space", R(" HTTP/1.1 200 OK\r\n\r\n"), .rc = FC_ERROR},
    {"leading CRLF", R("\r\nHTTP/1.1 200 OK\r\n\r\n"), .rc = FC_ERROR},
    {"HTTP/0.9 style body", R("<html>\r\n"), .rc = FC_ERROR},
    {"bare CR", R("HTTP/1.1 200 OK\rX\r\n\r\n"), .rc = FC_ERROR},
    {"control char in reason", R("HTTP/1.1 200 O\x01K\r\n\r\n"), .rc = FC_ERROR},
    {"NUL in reason", R("HTTP/1.1 200 O\x00K\r\n\r\n"), .rc = FC_ERROR},
    {"space before colon in a header", R("HTTP/1.1 200 OK\r\nX : y\r\n\r\n"), .rc = FC_ERROR},
    {"CL and TE", R("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
     .rc = FC_ERROR},
};

START_TEST(test_resp)
{
    const resp_case_t *c = &resp_cases[_i];
    msg_result_t r;

    drv_all_splits(1, c->name, c->raw, c->len, &r);
    ck_assert_msg(r.rc == (c->rc ? c->rc : FC_DONE), "%s: rc %d (%s)", c->name, r.rc,
                  r.error ? r.error : "");
    if (r.rc == FC_ERROR) {
        ck_assert(r.error != NULL && r.status >= 400);
        return;
    }
    ck_assert_msg(r.sl.status == c->code, "%s: status %u", c->name, r.sl.status);
    ck_assert_msg(r.sl.http_major == 1 && r.sl.http_minor == c->minor, "%s: version", c->name);
    ck_assert(r.sl.start == 0);
    span_is(c->raw, r.sl.reason, c->reason, "reason", c->name);
    ck_assert_msg(r.nh == c->nh, "%s: %zu headers", c->name, r.nh);
    ck_assert_msg(r.kind == c->kind && r.length == c->length, "%s: framing", c->name);
}
END_TEST

/* A status-line error answers 502; so does the caller for header errors. */
START_TEST(test_resp_status_502)
{
    static const unsigned char bad[] = "HTTP/1.1 999 X\r\n";
    fc_http_parser_t p;
    fc_http_status_line_t sl;

    fc_http_parser_init(&p, 0);
    ck_assert_int_eq(fc_http_status_line_parse(&p, &sl, bad, sizeof(bad) - 1), FC_ERROR);
    ck_assert_uint_eq(p.status, 502);
    ck_assert_uint_eq(p.pos, 11); /* the third digit */
}
END_TEST

/* ---- the $uri normalizer --------------------------------------------------- */

static const struct {
    const char *in;
    int merge;
    const char *want; /* NULL: an error (400) */
} norm_cases[] = {
    {"/", 1, "/"},
    {"/a/b", 1, "/a/b"},
    {"/a/./b", 1, "/a/b"},
    {"/a/../b", 1, "/b"},
    {"/a/b/..", 1, "/a/"},
    {"/a/b/.", 1, "/a/b/"},
    {"/a/..", 1, "/"},
    {"/.", 1, "/"},
    {"/./", 1, "/"},
    {"/a/b/c/../../d", 1, "/a/d"},
    {"/..", 1, NULL},
    {"/../a", 1, NULL},
    {"/a/../../b", 1, NULL},
    {"/%2e%2e/x", 1, NULL},
    {"/a/%2e%2E/b", 1, "/b"},
    {"/a/%2e/b", 1, "/a/b"},
    {"/a%20b", 1, "/a b"},
    {"/%41%42c", 1, "/ABc"},
    {"/a%2fb", 1, "/a/b"},
    {"/a%3fb", 1, "/a?b"},
    {"/caf%C3%A9", 1, "/caf\xc3\xa9"},
    {"/a%00b", 1, NULL},
    {"/a%0", 1, NULL},
    {"/a%", 1, NULL},
    {"/a%zz", 1, NULL},
    {"/a%g0", 1, NULL},
    {"/a%0g", 1, NULL},
    {"//a//b//", 1, "/a/b/"},
    {"//a//b//", 0, "//a//b//"},
    {"/a//../b", 1, "/b"},
    {"/a/...", 1, "/a/..."},
    {"/a/.b/c.", 1, "/a/.b/c."},
    {"/a/b../c", 1, "/a/b../c"},
    {"/a/..b", 1, "/a/..b"},
    {"", 1, NULL},
    {"a/b", 1, NULL},
    {"%2fa", 1, NULL},
};

START_TEST(test_normalize)
{
    const char *in = norm_cases[_i].in, *want = norm_cases[_i].want;
    unsigned char out[64];
    fc_str_t src = {strlen(in), (unsigned char *) in}, dst = {0, out};
    int rc = fc_http_normalize_path(&src, &dst, norm_cases[_i].merge);

    if (want == NULL) {
        ck_assert_msg(rc == FC_ERROR, "\"%s\" gave \"%.*s\", want an error", in, (int) dst.len,
                      out);
        return;
    }
    ck_assert_msg(rc == FC_OK, "\"%s\": error", in);
    ck_assert_msg(dst.len == strlen(want) && memcmp(out, want, dst.len) == 0,
                  "\"%s\" gave \"%.*s\", want \"%s\"", in, (int) dst.len, out, want);
}
END_TEST

/* The output may be the input itself. */
START_TEST(test_normalize_in_place)
{
    unsigned char buf[] = "/x/%2e%2e/a%2F./b//c/..";
    fc_str_t s = {sizeof(buf) - 1, buf};

    ck_assert_int_eq(fc_http_normalize_path(&s, &s, 1), FC_OK);
    ck_assert_msg(s.len == 5 && memcmp(s.data, "/a/b/", 5) == 0, "got \"%.*s\"", (int) s.len,
                  s.data);
}
END_TEST

/* A raw NUL never reaches $uri, whatever produced the path. */
START_TEST(test_normalize_raw_nul)
{
    static const unsigned char in[] = "/a\0b";
    unsigned char out[8];
    fc_str_t src = {sizeof(in) - 1, (unsigned char *) in}, dst = {0, out};

    ck_assert_int_eq(fc_http_normalize_path(&src, &dst, 1), FC_ERROR);
}
END_TEST

/* ---- the chunked decoder on its own --------------------------------------------- */

static const char chunked_msg[] = "5;x=y\r\nhello\r\n1\r\n \r\n10\r\n0123456789abcdef\r\n"
                                  "0\r\nTrailer: yes\r\n\r\nNEXT";

/* Feeds chunked_msg in pieces of `step` bytes; returns the decoded data. */
static size_t
chunked_feed(size_t step, unsigned char *out, size_t *body_end)
{
    fc_http_chunked_t c;
    size_t n = sizeof(chunked_msg) - 1, at = 0, got = 0, avail = 0;
    int rc = FC_AGAIN;

    fc_http_chunked_init(&c);
    while (rc != FC_DONE) {
        fc_http_span_t d;
        size_t used;

        ck_assert_msg(avail < n || at < avail, "ran out of input");
        if (at == avail)
            avail = avail + step < n ? avail + step : n;
        rc = fc_http_chunked_parse(&c, (const unsigned char *) chunked_msg + at, avail - at, &used,
                                   &d);
        ck_assert_int_ne(rc, FC_ERROR);
        ck_assert(used <= avail - at && d.off + d.len <= used);
        memcpy(out + got, chunked_msg + at + d.off, d.len);
        got += d.len;
        at += used;
    }
    ck_assert_uint_eq(c.total, got);
    ck_assert_uint_eq(c.trailers, 1);
    *body_end = at;
    return got;
}

START_TEST(test_chunked_steps)
{
    unsigned char out[64];
    size_t end, got = chunked_feed((size_t) _i + 1, out, &end);

    ck_assert_uint_eq(got, 22);
    ck_assert(memcmp(out, "hello 0123456789abcdef", 22) == 0);
    ck_assert_uint_eq(end, sizeof(chunked_msg) - 1 - 4); /* "NEXT" is not the body's */
}
END_TEST

/* Data spans point into the caller's slice and never copy. */
START_TEST(test_chunked_span_zero_copy)
{
    static const unsigned char in[] = "4\r\nabcd\r\n";
    fc_http_chunked_t c;
    fc_http_span_t d;
    size_t used;

    fc_http_chunked_init(&c);
    ck_assert_int_eq(fc_http_chunked_parse(&c, in, 5, &used, &d), FC_OK);
    ck_assert(d.off == 3 && d.len == 2 && used == 5);
    ck_assert_int_eq(fc_http_chunked_parse(&c, in + 5, sizeof(in) - 1 - 5, &used, &d), FC_OK);
    ck_assert(d.off == 0 && d.len == 2 && used == 2);
    ck_assert_int_eq(fc_http_chunked_parse(&c, in + 7, 2, &used, &d), FC_AGAIN);
    ck_assert(used == 2 && d.len == 0);
    ck_assert_int_eq(fc_http_chunked_parse(&c, in, 0, &used, &d), FC_AGAIN);
    ck_assert_uint_eq(used, 0);
}
END_TEST

/* The largest chunk size is INT64_MAX; its data arrives in spans. */
START_TEST(test_chunked_max_size)
{
    static const unsigned char in[] = "7fffffffffffffff\r\nabc";
    fc_http_chunked_t c;
    fc_http_span_t d;
    size_t used;

    fc_http_chunked_init(&c);
    ck_assert_int_eq(fc_http_chunked_parse(&c, in, sizeof(in) - 1, &used, &d), FC_OK);
    ck_assert(d.off == 18 && d.len == 3 && used == sizeof(in) - 1);
    ck_assert_uint_eq(c.size, (uint64_t) INT64_MAX - 3);
}
END_TEST

START_TEST(test_chunked_ext_limit)
{
    unsigned char in[FC_HTTP_CHUNK_EXT_MAX + 16];
    fc_http_chunked_t c;
    fc_http_span_t d;
    size_t used;

    memset(in, 'x', sizeof(in));
    memcpy(in, "1;", 2);
    fc_http_chunked_init(&c);
    ck_assert_int_eq(fc_http_chunked_parse(&c, in, sizeof(in), &used, &d), FC_ERROR);
    ck_assert_uint_eq(c.status, 400);
    ck_assert_uint_eq(used, 2 + FC_HTTP_CHUNK_EXT_MAX); /* the byte past the bound */
}
END_TEST

START_TEST(test_chunked_trailer_limit)
{
    static const unsigned char in[] = "0\r\nX-Long: 0123456789\r\n\r\n";
    fc_http_chunked_t c;
    fc_http_span_t d;
    size_t used;

    fc_http_chunked_init(&c);
    c.trailer_max = 10;
    ck_assert_int_eq(fc_http_chunked_parse(&c, in, sizeof(in) - 1, &used, &d), FC_ERROR);
    fc_http_chunked_init(&c);
    c.trailer_max = 22;
    ck_assert_int_eq(fc_http_chunked_parse(&c, in, sizeof(in) - 1, &used, &d), FC_DONE);
    ck_assert_uint_eq(used, sizeof(in) - 1);
}
END_TEST

/* After the end or an error, the decoder stays there. */
START_TEST(test_chunked_sticky)
{
    fc_http_chunked_t c;
    fc_http_span_t d;
    size_t used;

    fc_http_chunked_init(&c);
    ck_assert_int_eq(fc_http_chunked_parse(&c, (const unsigned char *) "0\r\n\r\nX", 6, &used, &d),
                     FC_DONE);
    ck_assert_uint_eq(used, 5);
    ck_assert_int_eq(fc_http_chunked_parse(&c, (const unsigned char *) "X", 1, &used, &d), FC_DONE);
    ck_assert_uint_eq(used, 0);
    fc_http_chunked_init(&c);
    ck_assert_int_eq(fc_http_chunked_parse(&c, (const unsigned char *) "z", 1, &used, &d),
                     FC_ERROR);
    ck_assert_int_eq(fc_http_chunked_parse(&c, (const unsigned char *) "0", 1, &used, &d),
                     FC_ERROR);
}
END_TEST

/* ---- framing on its own -------------------------------------------------- */

static const struct {
    const char *fields[6]; /* name, value pairs */
    unsigned minor;
    int rc;
    unsigned kind_or_status;
} framing_cases[] = {
    {{NULL}, 1, FC_OK, FC_HTTP_BODY_NONE},
    {{"Host", "a", "Content-Length", "12"}, 1, FC_OK, FC_HTTP_BODY_LENGTH},
    {{"Transfer-Encoding", "chunked"}, 1, FC_OK, FC_HTTP_BODY_CHUNKED},
    {{"Transfer-Encoding", "gzip", "Transfer-Encoding", "chunked"}, 1, FC_ERROR, 501},
    {{"Transfer-Encoding", "chunked", "Transfer-Encoding", ""}, 1, FC_OK, FC_HTTP_BODY_CHUNKED},
    {{"Transfer-Encoding", "chunked", "Transfer-Encoding", "gzip"}, 1, FC_ERROR, 400},
    {{"Content-Length", "x", "Transfer-Encoding", "gzip, chunked"}, 1, FC_ERROR, 400},
    {{"Transfer-Encoding", "chunked"}, 0, FC_ERROR, 400},
    {{"Content-Length", "5"}, 0, FC_OK, FC_HTTP_BODY_LENGTH},
    {{"CONTENT-LENGTH", "1", "content-length", "1"}, 1, FC_ERROR, 400},
    {{"Content-Lengthx", "1", "XContent-Length", "x"}, 1, FC_OK, FC_HTTP_BODY_NONE},
};

START_TEST(test_framing)
{
    fc_http_framing_t f;
    const char *const *fl = framing_cases[_i].fields;
    int rc;

    fc_http_framing_init(&f);
    for (size_t k = 0; k + 1 < 6 && fl[k] != NULL; k += 2)
        fc_http_framing_add(&f, (const unsigned char *) fl[k], strlen(fl[k]),
                            (const unsigned char *) fl[k + 1], strlen(fl[k + 1]));
    rc = fc_http_framing_finish(&f, 1, framing_cases[_i].minor);
    ck_assert_int_eq(rc, framing_cases[_i].rc);
    if (rc == FC_OK)
        ck_assert_uint_eq(f.kind, framing_cases[_i].kind_or_status);
    else
        ck_assert_uint_eq(f.status, framing_cases[_i].kind_or_status);
}
END_TEST

/* ---- offsets, hashes, limits ------------------------------------------------ */

/* The hash a parsed name carries is fc_http_header_hash() of it in any case. */
START_TEST(test_header_hash)
{
    static const unsigned char msg[] = "GET / HTTP/1.1\r\nCoNtEnT-LeNgTh: 0\r\n\r\n";
    fc_http_parser_t p;
    fc_http_request_line_t rl;
    fc_http_header_t h;
    uint32_t want = fc_http_header_hash((const unsigned char *) "content-length", 14);

    ck_assert_uint_eq(want, fc_http_header_hash((const unsigned char *) "Content-Length", 14));
    ck_assert_uint_ne(want, fc_http_header_hash((const unsigned char *) "content-lengths", 15));
    fc_http_parser_init(&p, 0);
    ck_assert_int_eq(fc_http_request_line_parse(&p, &rl, msg, sizeof(msg) - 1), FC_OK);
    ck_assert_int_eq(fc_http_header_parse(&p, &h, msg, sizeof(msg) - 1), FC_OK);
    ck_assert_uint_eq(h.hash, want);
    ck_assert_int_eq(fc_http_header_parse(&p, &h, msg, sizeof(msg) - 1), FC_DONE);
    ck_assert_uint_eq(p.pos, sizeof(msg) - 1);
}
END_TEST

/* What the caller needs to enforce its buffer limits (414, 494/400). */
START_TEST(test_sizes_reported)
{
    static const unsigned char msg[] = "\r\nGET /abc HTTP/1.1\r\nA: b\r\n\r\nBODY";
    fc_http_parser_t p;
    fc_http_request_line_t rl;
    fc_http_header_t h;

    fc_http_parser_init(&p, 0);
    ck_assert_int_eq(fc_http_request_line_parse(&p, &rl, msg, 10), FC_AGAIN);
    ck_assert_uint_eq(p.pos, 10); /* all of it looked at: the line is at least this long */
    ck_assert_int_eq(fc_http_request_line_parse(&p, &rl, msg, sizeof(msg) - 1), FC_OK);
    ck_assert(rl.start == 2 && rl.end == 21 && p.pos == 21);
    ck_assert_int_eq(fc_http_header_parse(&p, &h, msg, sizeof(msg) - 1), FC_OK);
    ck_assert_int_eq(fc_http_header_parse(&p, &h, msg, sizeof(msg) - 1), FC_DONE);
    ck_assert_uint_eq(p.pos - rl.end, 8);
    ck_assert_uint_eq(p.pos, sizeof(msg) - 1 - 4);
}
END_TEST

/* A parser can start anywhere in the buffer (the next pipelined request). */
START_TEST(test_parser_at_offset)
{
    static const unsigned char msg[] = "XXXXGET /q HTTP/1.0\r\n\r\n";
    fc_http_parser_t p;
    fc_http_request_line_t rl;

    fc_http_parser_init(&p, 4);
    ck_assert_int_eq(fc_http_request_line_parse(&p, &rl, msg, sizeof(msg) - 1), FC_OK);
    ck_assert(rl.method.off == 4 && rl.method.len == 3 && rl.path.off == 8);
    ck_assert_uint_eq(rl.http_minor, 0);
}
END_TEST

/* Errors are sticky and a request line is rejected as soon as it is wrong. */
/*
 * Every byte value at every position of a long field value, in a request and
 * in a response: whole (the one-pass line reader, eight value bytes a step)
 * and byte by byte (the automaton) must agree on the outcome, the error and
 * the offsets.
 */
START_TEST(test_value_bytes_all_positions)
{
    static const char *const heads[2] = {"GET / HTTP/1.1\r\nHost: h\r\nX-Long: ",
                                         "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Long: "};
    char raw[160], name[64];
    msg_result_t r, other;
    for (int response = 0; response < 2; response++) {
        size_t hl = strlen(heads[response]);
        for (size_t pos = 0; pos < 20; pos++) {
            for (unsigned v = 0; v < 256; v++) {
                memcpy(raw, heads[response], hl);
                memcpy(raw + hl, "abcdefghij0123456789\r\n\r\n", 24);
                raw[hl + pos] = (char) v;
                snprintf(name, sizeof(name), "%s value byte %02x at %zu",
                         response ? "response" : "request", v, pos);
                size_t n = hl + 24, whole[1] = {n}, bytes[160];
                for (size_t k = 0; k < n; k++)
                    bytes[k] = k + 1;
                drv_run(response, (const unsigned char *) raw, whole, 1, &r);
                drv_run(response, (const unsigned char *) raw, bytes, n, &other);
                res_same(&r, &other, name, "byte by byte");
            }
        }
    }
}
END_TEST

START_TEST(test_early_and_sticky_errors)
{
    static const unsigned char msg[] = "GET / HTTP/1.1\r\nX\x01";
    fc_http_parser_t p;
    fc_http_request_line_t rl;
    fc_http_header_t h;

    fc_http_parser_init(&p, 0);
    ck_assert_int_eq(fc_http_request_line_parse(&p, &rl, (const unsigned char *) "G\x01", 2),
                     FC_ERROR);
    ck_assert_uint_eq(p.pos, 1);
    ck_assert_int_eq(fc_http_request_line_parse(&p, &rl, (const unsigned char *) "G\x01", 2),
                     FC_ERROR);
    fc_http_parser_init(&p, 0);
    ck_assert_int_eq(fc_http_request_line_parse(&p, &rl, msg, sizeof(msg) - 1), FC_OK);
    ck_assert_int_eq(fc_http_header_parse(&p, &h, msg, sizeof(msg) - 1), FC_ERROR);
    ck_assert_int_eq(fc_http_header_parse(&p, &h, msg, sizeof(msg) - 1), FC_ERROR);
    fc_http_parser_init(&p, 0);
    ck_assert_int_eq(
        fc_http_request_line_parse(&p, &rl, (const unsigned char *) "GET / HTTP/1.1X", 14),
        FC_AGAIN);
    ck_assert_int_eq(
        fc_http_request_line_parse(&p, &rl, (const unsigned char *) "GET / HTTP/1.1X", 15),
        FC_ERROR); /* a ninth version byte */
}
END_TEST

static Suite *
http_parse_suite(void)
{
    Suite *s = suite_create("http_parse");
    TCase *tc;

    tc = tcase_create("valid requests");
    tcase_add_loop_test(tc, test_req_valid, 0, fc_nelems(req_valid));
    suite_add_tcase(s, tc);

    tc = tcase_create("request line errors");
    tcase_add_loop_test(tc, test_req_bad_line, 0, fc_nelems(req_bad_line));
    suite_add_tcase(s, tc);

    tc = tcase_create("header field errors");
    tcase_add_loop_test(tc, test_req_bad_fields, 0, fc_nelems(req_bad_fields));
    tcase_add_test(tc, test_header_hash);
    tcase_add_test(tc, test_early_and_sticky_errors);
    tcase_add_test(tc, test_value_bytes_all_positions);
    suite_add_tcase(s, tc);

    tc = tcase_create("framing and smuggling");
    tcase_add_loop_test(tc, test_req_bad_framing, 0, fc_nelems(req_bad_framing));
    tcase_add_loop_test(tc, test_framing, 0, fc_nelems(framing_cases));
    suite_add_tcase(s, tc);

    tc = tcase_create("chunked bodies");
    tcase_add_loop_test(tc, test_req_bad_chunked, 0, fc_nelems(req_bad_chunked));
    tcase_add_loop_test(tc, test_chunked_steps, 0, 16);
    tcase_add_test(tc, test_chunked_span_zero_copy);
    tcase_add_test(tc, test_chunked_max_size);
    tcase_add_test(tc, test_chunked_ext_limit);
    tcase_add_test(tc, test_chunked_trailer_limit);
    tcase_add_test(tc, test_chunked_sticky);
    suite_add_tcase(s, tc);

    tc = tcase_create("status lines");
    tcase_add_loop_test(tc, test_resp, 0, fc_nelems(resp_cases));
    tcase_add_test(tc, test_resp_status_502);
    suite_add_tcase(s, tc);

    tc = tcase_create("path normalization");
    tcase_add_loop_test(tc, test_normalize, 0, fc_nelems(norm_cases));
    tcase_add_test(tc, test_normalize_in_place);
    tcase_add_test(tc, test_normalize_raw_nul);
    suite_add_tcase(s, tc);

    tc = tcase_create("offsets and limits");
    tcase_add_test(tc, test_sizes_reported);
    tcase_add_test(tc, test_parser_at_offset);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return fc_unit_run(http_parse_suite());
}
