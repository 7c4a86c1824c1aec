/*
 * fuzz_http_parse.c: libFuzzer target for the HTTP/1.x parser (src/http/parse*.c).
 *
 * Every input is parsed as a request (line, fields, framing, body), as a
 * response, as a bare chunked body and, when it starts with '/', given to the
 * path normalizer. Requests and responses are fed whole, one byte at a time
 * and split in two at an input-chosen point; the three must agree, and every
 * span must stay inside the bytes it was given. A disagreement traps.
 *
 * Fuzz (from the top, after ./configure):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Iobjs \
 *       t/fuzz/fuzz_http_parse.c src/http/parse*.c -o objs/fuzz_http_parse
 *   objs/fuzz_http_parse -max_len=4096 t/fuzz/corpus/http_parse
 * Replay the corpus without libFuzzer (any C compiler):
 *   cc -DFC_FUZZ_REPLAY -g -Isrc -Iobjs t/fuzz/fuzz_http_parse.c src/http/parse*.c \
 *       -o objs/fuzz_http_parse_replay && objs/fuzz_http_parse_replay t/fuzz/corpus/http_parse
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include "core/fc_core.h"
#include "http/parse.h"

#include <dirent.h>

#define FZ_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_http_parse: %s:%d: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define FZ_MAXH 64

/* What one way of feeding produced; the ways must agree on all of it. */
typedef struct {
    int rc;
    unsigned status;
    const char *error;
    size_t line_end, nh, end;
    fc_http_span_t h[FZ_MAXH][2];
    uint32_t hash[FZ_MAXH];
    unsigned kind;
    int64_t length;
    uint64_t body_sum, body_len; /* a checksum of the decoded body */
} fz_result_t;

typedef struct {
    int response, stage;
    size_t body_at;
    fc_http_parser_t p;
    fc_http_framing_t f;
    fc_http_chunked_t ch;
    fc_http_request_line_t rl;
    fc_http_status_line_t sl;
} fz_driver_t;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fz_span_in(fc_http_span_t s, size_t lo, size_t hi)
{
    FZ_CHECK(s.off >= lo && s.off <= hi && s.len <= hi - s.off);
}

static int
fz_start_line(fz_driver_t *d, fz_result_t *r, const uint8_t *msg, size_t avail)
{
    int rc = d->response ? fc_http_status_line_parse(&d->p, &d->sl, msg, avail)
                         : fc_http_request_line_parse(&d->p, &d->rl, msg, avail);

    FZ_CHECK(d->p.pos <= avail);
    if (rc != FC_OK)
        return rc;
    if (d->response) {
        FZ_CHECK(d->sl.status >= 100 && d->sl.status <= 599 && d->sl.end <= avail);
        fz_span_in(d->sl.reason, d->sl.start, d->sl.end);
        r->line_end = d->sl.end;
    } else {
        FZ_CHECK(d->rl.end <= avail && d->rl.start < d->rl.end && d->rl.http_major == 1);
        fz_span_in(d->rl.method, d->rl.start, d->rl.end);
        fz_span_in(d->rl.target, d->rl.start, d->rl.end);
        size_t ts = d->rl.target.off, te = ts + d->rl.target.len;
        if (d->rl.form == FC_HTTP_TARGET_ORIGIN || d->rl.form == FC_HTTP_TARGET_ABSOLUTE) {
            fz_span_in(d->rl.path, ts, te);
            fz_span_in(d->rl.args, ts, te);
        }
        if (d->rl.form == FC_HTTP_TARGET_ABSOLUTE || d->rl.form == FC_HTTP_TARGET_AUTHORITY) {
            fz_span_in(d->rl.host, ts, te);
            fz_span_in(d->rl.port, ts, te);
            FZ_CHECK(d->rl.host.len > 0);
        }
        r->line_end = d->rl.end;
    }
    d->stage = 1;
    return FC_OK;
}

static int
fz_fields(fz_driver_t *d, fz_result_t *r, const uint8_t *msg, size_t avail)
{
    fc_http_header_t h;
    int rc;

    while ((rc = fc_http_header_parse(&d->p, &h, msg, avail)) == FC_OK) {
        fz_span_in(h.name, r->line_end, d->p.pos);
        fz_span_in(h.value, r->line_end, d->p.pos);
        FZ_CHECK(h.name.len > 0 && h.hash == fc_http_header_hash(msg + h.name.off, h.name.len));
        if (r->nh < FZ_MAXH) {
            r->h[r->nh][0] = h.name;
            r->h[r->nh][1] = h.value;
            r->hash[r->nh] = h.hash;
        }
        r->nh++;
        fc_http_framing_add(&d->f, msg + h.name.off, h.name.len, msg + h.value.off, h.value.len);
    }
    FZ_CHECK(d->p.pos <= avail);
    if (rc != FC_DONE)
        return rc;
    d->stage = 2;
    d->body_at = d->p.pos;
    rc = fc_http_framing_finish(&d->f, 1, d->response ? d->sl.http_minor : d->rl.http_minor);
    if (rc != FC_OK) {
        FZ_CHECK(d->f.status == 400 || d->f.status == 501);
        d->p.status = d->f.status;
        d->p.error = d->f.error;
        return FC_ERROR;
    }
    r->kind = d->f.kind;
    r->length = d->f.length;
    return FC_OK;
}

static int
fz_body(fz_driver_t *d, fz_result_t *r, const uint8_t *msg, size_t avail)
{
    if (r->kind != FC_HTTP_BODY_CHUNKED) {
        size_t want = r->kind == FC_HTTP_BODY_LENGTH ? (size_t) r->length : 0;
        if (r->kind == FC_HTTP_BODY_LENGTH && (uint64_t) r->length > avail - d->body_at)
            return FC_AGAIN;
        r->end = d->body_at + want;
        return FC_DONE;
    }
    for (;;) {
        fc_http_span_t s;
        size_t used, n = avail - d->body_at;
        int rc = fc_http_chunked_parse(&d->ch, msg + d->body_at, n, &used, &s);

        if (rc == FC_ERROR) {
            d->p.status = d->ch.status;
            d->p.error = d->ch.error;
            return FC_ERROR;
        }
        FZ_CHECK(used <= n && s.off + s.len <= used && (rc == FC_OK || s.len == 0));
        for (size_t k = 0; k < s.len; k++)
            r->body_sum = r->body_sum * 131 + msg[d->body_at + s.off + k];
        r->body_len += s.len;
        d->body_at += used;
        if (rc != FC_OK) {
            r->end = d->body_at;
            return rc;
        }
    }
}

static void
fz_run(int response, const uint8_t *msg, size_t n, size_t step, size_t first, fz_result_t *r)
{
    fz_driver_t d;
    size_t avail = 0;

    memset(&d, 0, sizeof(d));
    memset(r, 0, sizeof(*r));
    d.response = response;
    fc_http_parser_init(&d.p, 0);
    fc_http_framing_init(&d.f);
    fc_http_chunked_init(&d.ch);
    r->rc = FC_AGAIN;
    while (r->rc == FC_AGAIN && avail < n) {
        avail = avail == 0 && first ? first : fc_min(n, avail + step);
        if (d.stage == 0 && (r->rc = fz_start_line(&d, r, msg, avail)) != FC_OK)
            continue;
        if (d.stage == 1 && (r->rc = fz_fields(&d, r, msg, avail)) != FC_OK)
            continue;
        r->rc = fz_body(&d, r, msg, avail);
    }
    r->status = d.p.status;
    r->error = d.p.error;
    if (r->rc == FC_ERROR)
        FZ_CHECK(r->error != NULL && r->status >= 400 && r->status <= 505);
}

static void
fz_same(const fz_result_t *a, const fz_result_t *b)
{
    FZ_CHECK(a->rc == b->rc && a->status == b->status && a->error == b->error);
    if (a->rc == FC_ERROR)
        return;
    FZ_CHECK(a->line_end == b->line_end && a->nh == b->nh && a->end == b->end);
    FZ_CHECK(memcmp(a->h, b->h, sizeof(a->h)) == 0 &&
             memcmp(a->hash, b->hash, sizeof(a->hash)) == 0);
    FZ_CHECK(a->kind == b->kind && a->length == b->length);
    FZ_CHECK(a->body_sum == b->body_sum && a->body_len == b->body_len);
}

static void
fz_message(int response, const uint8_t *msg, size_t n)
{
    fz_result_t whole, other;
    size_t split = n > 2 ? 1 + (msg[0] * 257u + msg[n - 1]) % (n - 1) : 0;

    fz_run(response, msg, n, n, 0, &whole);
    fz_run(response, msg, n, 1, 0, &other);
    fz_same(&whole, &other);
    if (split) {
        fz_run(response, msg, n, n, split, &other);
        fz_same(&whole, &other);
    }
}

/* A bare chunked body: data spans stay inside what was consumed. */
static void
fz_chunked(const uint8_t *in, size_t n)
{
    fc_http_chunked_t c;
    fc_http_span_t s;
    size_t at = 0, used;
    int rc = FC_OK;

    fc_http_chunked_init(&c);
    while (rc == FC_OK) {
        rc = fc_http_chunked_parse(&c, in + at, n - at, &used, &s);
        FZ_CHECK(used <= n - at && s.off + s.len <= used);
        at += used;
    }
    FZ_CHECK(rc != FC_AGAIN || at == n);
}

/* The normalized path is no longer, starts with '/', and has no dot segment left. */
static void
fz_normalize(const uint8_t *in, size_t n)
{
    unsigned char out[4096];
    fc_str_t src = {n, (unsigned char *) in}, dst = {0, out};

    if (n == 0 || n > sizeof(out) || in[0] != '/')
        return;
    for (int merge = 0; merge <= 1; merge++) {
        if (fc_http_normalize_path(&src, &dst, merge) != FC_OK)
            continue;
        FZ_CHECK(dst.len >= 1 && dst.len <= n && out[0] == '/');
        for (size_t k = 0; k < dst.len; k++) {
            FZ_CHECK(out[k] != '\0');
            if (out[k] != '/' || k + 1 >= dst.len || out[k + 1] != '.')
                continue;
            size_t e = k + 2 < dst.len && out[k + 2] == '.' ? k + 3 : k + 2;
            FZ_CHECK(e < dst.len && out[e] != '/');
        }
        if (merge)
            FZ_CHECK(memmem(out, dst.len, "//", 2) == NULL);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_message(0, data, size);
    fz_message(1, data, size);
    fz_chunked(data, size);
    fz_normalize(data, size);
    return 0;
}

#ifdef FC_FUZZ_REPLAY
#include "replay.h"

/* Replays each argument: a file, or every regular file of a folder. */
int
main(int argc, char **argv)
{
    int runs = 0, bad = fz_replay_args(argc, argv, &runs);
    printf("fuzz_http_parse: replayed %d inputs, %d unreadable\n", runs, bad);
    return bad == 0 && runs > 0 ? 0 : 1;
}

#endif
