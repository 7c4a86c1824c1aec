/*
 * check_http_range.c: the range filter's decisions (src/http/range.c) as
 * nginx 1.22 makes them: Range parsing (specs, spaces, overlaps, limits,
 * overflow, what is 416 and what serves the whole entity), If-Range, the
 * in-place trimming of memory and file buffers, the multipart body byte
 * for byte (the text of an answer nginx gave to the same request), and the
 * `max_ranges` directive as `fulcrum -t` reads it.
 */
#include <check.h>

#include "unit_cycle.h"
#include "http/range.h"

static fc_pool_t *pool;

static void
setup(void)
{
    fc_unit_cycle_setup("/tmp/fc-check-range-XXXXXX", 1);
    pool = fc_pool_create(16384, NULL);
    ck_assert_ptr_nonnull(pool);
}

static void
teardown(void)
{
    fc_pool_destroy(pool);
    fc_unit_cycle_teardown();
}

#define UNLIMITED INT32_MAX

/* ---- Range parsing ------------------------------------------------------------------- */

static const struct {
    const char *value;
    int64_t length, max;
    int rc;
    size_t n;
    int64_t r[3][2]; /* [start, end) */
} parse_cases[] = {
    {"bytes=0-9", 100, UNLIMITED, FC_OK, 1, {{0, 10}}},
    {"bytes=90-", 100, UNLIMITED, FC_OK, 1, {{90, 100}}},
    {"bytes=-5", 100, UNLIMITED, FC_OK, 1, {{95, 100}}},
    {"bytes=-500", 100, UNLIMITED, FC_OK, 1, {{0, 100}}},    /* a suffix longer than the entity */
    {"bytes=50-500", 100, UNLIMITED, FC_OK, 1, {{50, 100}}}, /* cut at the end */
    {"bytes=0-0", 100, UNLIMITED, FC_OK, 1, {{0, 1}}},
    {"bytes=99-99", 100, UNLIMITED, FC_OK, 1, {{99, 100}}},
    {"Bytes=0-1", 100, UNLIMITED, FC_OK, 1, {{0, 2}}},
    {"BYTES=0-1", 100, UNLIMITED, FC_OK, 1, {{0, 2}}},
    {"bytes= 0 - 9 , 20 - 29", 100, UNLIMITED, FC_OK, 2, {{0, 10}, {20, 30}}},
    {"bytes=0-9,20-29,40-49", 100, UNLIMITED, FC_OK, 3, {{0, 10}, {20, 30}, {40, 50}}},
    {"bytes=20-29,0-9", 100, UNLIMITED, FC_OK, 2, {{20, 30}, {0, 10}}}, /* order kept */
    {"bytes=0-9,5-14", 100, UNLIMITED, FC_OK, 2, {{0, 10}, {5, 15}}},   /* overlap kept */
    {"bytes=-0,1-2", 100, UNLIMITED, FC_OK, 1, {{1, 3}}},               /* an empty one skipped */
    {"bytes=0-0,-1", 100, UNLIMITED, FC_OK, 2, {{0, 1}, {99, 100}}},
    {"bytes=0-9223372036854775807", 100, UNLIMITED, FC_OK, 1, {{0, 100}}},
    /* the whole entity */
    {"bytes=0-,0-", 100, UNLIMITED, FC_DECLINED, 0, {{0}}}, /* more bytes than the entity */
    {"bytes=0-99,0-0", 100, UNLIMITED, FC_DECLINED, 0, {{0}}},
    {"bytes=", 100, UNLIMITED, FC_DECLINED, 0, {{0}}},
    {"items=0-1", 100, UNLIMITED, FC_DECLINED, 0, {{0}}},
    {"bytes 0-1", 100, UNLIMITED, FC_DECLINED, 0, {{0}}},
    {"bytes=0-", 0, UNLIMITED, FC_DECLINED, 0, {{0}}}, /* an empty entity */
    {"bytes=-5", 0, UNLIMITED, FC_DECLINED, 0, {{0}}},
    /* max_ranges */
    {"bytes=0-1", 100, 1, FC_OK, 1, {{0, 2}}},
    {"bytes=0-1,2-3", 100, 1, FC_DECLINED, 0, {{0}}},
    {"bytes=0-1,2-3", 100, 2, FC_OK, 2, {{0, 2}, {2, 4}}},
    {"bytes=0-1,2-3,4-5", 100, 2, FC_DECLINED, 0, {{0}}},
    {"bytes=0-1", 100, 0, FC_DECLINED, 0, {{0}}},
    {"bytes=-0,0-1", 100, 1, FC_OK, 1, {{0, 2}}}, /* an empty one does not count */
    /* not satisfiable */
    {"bytes=100-", 100, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}},
    {"bytes=100-200", 100, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}},
    {"bytes=-0", 100, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}},
    {"bytes=3-1", 100, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}},
    {"bytes=5-", 0, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}},
    {"bytes=0-3,", 100, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}},
    {"bytes=,0-3", 100, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}},
    {"bytes=x", 100, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}},
    {"bytes=1", 100, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}},
    {"bytes=-", 100, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}},
    {"bytes=--1", 100, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}},
    {"bytes=1-2x", 100, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}},
    {"bytes=1-2;3-4", 100, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}},
    {"bytes=0-9\t", 100, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}}, /* only spaces */
    {"bytes=+1-2", 100, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}},
    {"bytes=9223372036854775807-", 100, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}},
    {"bytes=9223372036854775808-", 100, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}},
    {"bytes=0-99999999999999999999", 100, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}},
    {"bytes=-99999999999999999999", 100, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}},
    {"bytes=0-1,x", 100, UNLIMITED, FC_HTTP_RANGE_NOT_SATISFIABLE, 0, {{0}}},
};

START_TEST(parse)
{
    fc_str_t v = {strlen(parse_cases[_i].value), (unsigned char *) parse_cases[_i].value};
    fc_array_t ranges;
    ck_assert_int_eq(fc_array_init(&ranges, pool, 1, sizeof(fc_http_range_t)), FC_OK);
    int rc = fc_http_range_parse(&v, parse_cases[_i].length, parse_cases[_i].max, &ranges);
    ck_assert_msg(rc == parse_cases[_i].rc, "\"%s\": rc %d, want %d", parse_cases[_i].value, rc,
                  parse_cases[_i].rc);
    if (rc != FC_OK)
        return;
    ck_assert_uint_eq(ranges.nelts, parse_cases[_i].n);
    fc_http_range_t *r = ranges.elts;
    for (size_t i = 0; i < ranges.nelts; i++) {
        ck_assert_msg(r[i].start == parse_cases[_i].r[i][0] && r[i].end == parse_cases[_i].r[i][1],
                      "\"%s\" range %zu: [%lld, %lld)", parse_cases[_i].value, i,
                      (long long) r[i].start, (long long) r[i].end);
    }
}
END_TEST

/* ---- If-Range ----------------------------------------------------------------------------- */

#define LM 1445412480 /* Wed, 21 Oct 2015 07:28:00 GMT */

static const struct {
    const char *if_range;
    const char *etag; /* NULL: none */
    time_t lm;
    int applies;
} if_range_cases[] = {
    {"\"abc\"", "\"abc\"", LM, 1},
    {"\"abd\"", "\"abc\"", LM, 0},
    {"\"abc\"", NULL, LM, 0},
    {"\"abc\"", "W/\"abc\"", LM, 0},
    {"W/\"abc\"", "W/\"abc\"", LM, 1}, /* nginx compares the bytes */
    {"\"ABC\"", "\"abc\"", LM, 0},
    {"Wed, 21 Oct 2015 07:28:00 GMT", "\"abc\"", LM, 1},
    {"Wed, 21 Oct 2015 07:28:01 GMT", "\"abc\"", LM, 0},
    {"Wed, 21 Oct 2015 07:27:59 GMT", "\"abc\"", LM, 0}, /* older still differs */
    {"Wednesday, 21-Oct-15 07:28:00 GMT", NULL, LM, 1},
    {"Wed Oct 21 07:28:00 2015", NULL, LM, 1},
    {"Wed, 21 Oct 2015 07:28:00 GMT", "\"abc\"", -1, 0}, /* no Last-Modified */
    {"yesterday", "\"abc\"", LM, 0},
    {"\"", "\"abc\"", LM, 0},
};

START_TEST(if_range)
{
    fc_str_t ir = {strlen(if_range_cases[_i].if_range),
                   (unsigned char *) if_range_cases[_i].if_range};
    fc_str_t etag = {0, NULL};
    if (if_range_cases[_i].etag) {
        etag.data = (unsigned char *) if_range_cases[_i].etag;
        etag.len = strlen(if_range_cases[_i].etag);
    }
    int got =
        fc_http_range_if_range(&ir, if_range_cases[_i].etag ? &etag : NULL, if_range_cases[_i].lm);
    ck_assert_msg(got == if_range_cases[_i].applies, "If-Range %s: %d", if_range_cases[_i].if_range,
                  got);
}
END_TEST

/* ---- trimming a buffer to one range ------------------------------------------------------- */

typedef struct {
    int64_t offset, size; /* the buffer: entity bytes [offset, offset + size) */
    int64_t start, end;   /* the range */
    int rc;               /* -1 outside, 0 in and going on, 1 ends here */
    int64_t head, tail;   /* bytes cut at the front and at the back */
} trim_case_t;

static const trim_case_t trim_cases[] = {
    {0, 100, 10, 20, 1, 10, 80}, /* inside one buffer */
    {0, 100, 0, 100, 1, 0, 0},   /* the whole buffer */
    {0, 50, 10, 80, 0, 10, 0},   /* starts here, goes on */
    {50, 10, 10, 80, 0, 0, 0},   /* all of it is in the range */
    {50, 50, 10, 80, 1, 0, 20},  /* ends here */
    {50, 50, 0, 10, -1, 0, 0},   /* before it */
    {0, 50, 60, 70, -1, 0, 0},   /* after it */
    {0, 10, 10, 20, -1, 0, 0},   /* the range starts right after */
    {20, 10, 10, 20, -1, 0, 0},  /* the range ended right before */
    {10, 0, 0, 20, 0, 0, 0},     /* an empty buffer in the range */
    {99, 1, 99, 100, 1, 0, 0},
};

START_TEST(trim)
{
    /* even rows: a memory buffer, odd rows: the same in a file */
    int in_file = _i % 2;
    trim_case_t t = trim_cases[_i / 2];
    static unsigned char mem[256];
    fc_buf_t b;
    memset(&b, 0, sizeof(b));
    b.in_file = (unsigned) in_file;
    b.start = b.pos = mem + 7;
    b.last = b.end = b.pos + t.size;
    b.file_pos = 1000;
    b.file_last = 1000 + t.size;
    fc_http_range_t range = {t.start, t.end, {0, NULL}};
    int64_t offset = t.offset;
    int rc = fc_http_range_trim(&b, &range, &offset);
    ck_assert_int_eq(rc, t.rc);
    ck_assert_int_eq(offset, t.offset + t.size);
    int64_t pos = in_file ? b.file_pos - 1000 : b.pos - (mem + 7);
    int64_t last = in_file ? b.file_last - 1000 : b.last - (mem + 7);
    if (rc < 0) {
        ck_assert_int_eq(pos, last); /* consumed */
        return;
    }
    ck_assert_int_eq(pos, t.head);
    ck_assert_int_eq(last, t.size - t.tail);
    /* the other kind of offsets is left alone */
    if (in_file)
        ck_assert_ptr_eq(b.pos, mem + 7);
    else
        ck_assert_int_eq(b.file_pos, 1000);
}
END_TEST

/* ---- multipart ------------------------------------------------------------------------ */

/* The body nginx 1.22 sent for "Range: bytes=0-9,20-29" of this entity (boundary 3). */
static const char entity[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0\n23456789abcdefghijklmnopqrs"
    "tuvwxyzAB";
static const char nginx_multipart[] = "\r\n--00000000000000000003\r\n"
                                      "Content-Type: text/plain\r\n"
                                      "Content-Range: bytes 0-9/100\r\n"
                                      "\r\n"
                                      "0123456789"
                                      "\r\n--00000000000000000003\r\n"
                                      "Content-Type: text/plain\r\n"
                                      "Content-Range: bytes 20-29/100\r\n"
                                      "\r\n"
                                      "klmnopqrst"
                                      "\r\n--00000000000000000003--\r\n";

static fc_array_t *
two_ranges(int64_t a, int64_t b, int64_t c, int64_t d)
{
    fc_array_t *ranges = fc_array_create(pool, 2, sizeof(fc_http_range_t));
    ck_assert_ptr_nonnull(ranges);
    fc_http_range_t *r = fc_array_push(ranges);
    r->start = a;
    r->end = b;
    r = fc_array_push(ranges);
    r->start = c;
    r->end = d;
    return ranges;
}

/* The bytes of a chain of memory buffers, and checks that only its last buffer is last_buf. */
static size_t
flatten(fc_chain_t *cl, char *dst, size_t size)
{
    size_t n = 0;
    for (; cl; cl = cl->next) {
        size_t len = (size_t) (cl->buf->last - cl->buf->pos);
        ck_assert_uint_le(n + len, size);
        memcpy(dst + n, cl->buf->pos, len);
        n += len;
        ck_assert_int_eq(cl->buf->last_buf, cl->next == NULL);
    }
    return n;
}

START_TEST(multipart_memory)
{
    ck_assert_uint_eq(sizeof(entity) - 1, 100);
    fc_array_t *ranges = two_ranges(0, 10, 20, 30);
    fc_str_t ct = fc_string("text/plain");
    fc_http_range_multipart_t mp;
    int64_t len = fc_http_range_multipart_header(pool, ranges, 3, 100, &ct, &mp);
    ck_assert_int_eq(len, 218); /* nginx's Content-Length */
    ck_assert_int_eq(len, (int64_t) sizeof(nginx_multipart) - 1);
    ck_assert_str_eq(fc_str_cstr(pool, &ct), "multipart/byteranges; boundary=00000000000000000003");
    fc_buf_t b;
    memset(&b, 0, sizeof(b));
    b.start = b.pos = (unsigned char *) entity;
    b.end = b.last = b.pos + 100;
    b.last_buf = 1;
    fc_chain_t *body = fc_http_range_multipart_body(pool, ranges, &mp, &b);
    ck_assert_ptr_nonnull(body);
    char got[512];
    size_t n = flatten(body, got, sizeof(got));
    ck_assert_uint_eq(n, sizeof(nginx_multipart) - 1);
    ck_assert(memcmp(got, nginx_multipart, n) == 0);
    /* the last part is b itself: its owner sees it consumed only after the parts before it */
    int found = 0;
    for (fc_chain_t *cl = body; cl; cl = cl->next)
        found += cl->buf == &b;
    ck_assert_int_eq(found, 1);
    ck_assert_ptr_eq(b.pos, (unsigned char *) entity + 20);
    ck_assert_int_eq(b.last_buf, 0);
}
END_TEST

START_TEST(multipart_file)
{
    fc_array_t *ranges = two_ranges(50, 60, 0, 5); /* out of order, as asked */
    fc_str_t ct = fc_null_string;                  /* no Content-Type: no such line */
    fc_http_range_multipart_t mp;
    int64_t len = fc_http_range_multipart_header(pool, ranges, 12345, 100, &ct, &mp);
    static const char part1[] = "\r\n--00000000000000012345\r\nContent-Range: bytes ";
    ck_assert_uint_eq(mp.boundary_header.len, sizeof(part1) - 1);
    ck_assert(memcmp(mp.boundary_header.data, part1, sizeof(part1) - 1) == 0);
    /* 2 x header, "50-59/100\r\n\r\n" and "0-4/100\r\n\r\n", 15 bytes, the closing line */
    ck_assert_int_eq(len, 2 * (int64_t) (sizeof(part1) - 1) + 13 + 11 + 15 + 28);
    fc_buf_t b;
    memset(&b, 0, sizeof(b));
    b.in_file = 1;
    b.file_fd = 42;
    b.file_pos = 4096; /* the body's start in a cache file */
    b.file_last = 4196;
    b.last_buf = 1;
    fc_chain_t *body = fc_http_range_multipart_body(pool, ranges, &mp, &b);
    ck_assert_ptr_nonnull(body);
    /* header, Content-Range, data, header, Content-Range, data, closing */
    fc_chain_t *cl = body;
    int64_t sizes[7], total = 0;
    for (int i = 0; i < 7; i++) {
        ck_assert_ptr_nonnull(cl);
        fc_buf_t *p = cl->buf;
        sizes[i] = p->in_file ? p->file_last - p->file_pos : p->last - p->pos;
        total += sizes[i];
        ck_assert_int_eq(p->in_file, i == 2 || i == 5);
        ck_assert_int_eq(p->last_buf, i == 6);
        if (i == 2) {
            ck_assert_int_eq(p->file_fd, 42);
            ck_assert_int_eq(p->file_pos, 4146);
            ck_assert_int_eq(p->file_last, 4156);
        }
        if (i == 5)
            ck_assert_ptr_eq(p, &b);
        cl = cl->next;
    }
    ck_assert_ptr_null(cl);
    ck_assert_int_eq(total, len);
    ck_assert_int_eq(b.file_pos, 4096);
    ck_assert_int_eq(b.file_last, 4101);
    ck_assert_int_eq(sizes[6], 28);
}
END_TEST

/* ---- max_ranges ----------------------------------------------------------------------- */

static const struct {
    const char *http, *loc; /* directives at http level (line 2) and in a location (line 6) */
    const char *err;        /* NULL: accepted */
} directive_cases[] = {
    {"max_ranges 0;", "max_ranges 1;", NULL},
    {"", "max_ranges 2147483647;", NULL},
    {"max_ranges 5;", "", NULL},
    {"", "max_ranges abc;", "\"max_ranges\" directive invalid number in @D@/fulcrum.conf:6\n"},
    {"", "max_ranges -1;", "\"max_ranges\" directive invalid number in @D@/fulcrum.conf:6\n"},
    {"", "max_ranges;",
     "invalid number of arguments in \"max_ranges\" directive in @D@/fulcrum.conf:6\n"},
    {"", "max_ranges 1 2;",
     "invalid number of arguments in \"max_ranges\" directive in @D@/fulcrum.conf:6\n"},
    {"", "max_ranges 1; max_ranges 2;",
     "\"max_ranges\" directive is duplicate in @D@/fulcrum.conf:6\n"},
    {"", "if ($arg_a) { max_ranges 1; }",
     "\"max_ranges\" directive is not allowed here in @D@/fulcrum.conf:6\n"},
};

START_TEST(directive)
{
    fc_unit_cycle_directive(directive_cases[_i].http, directive_cases[_i].loc,
                            directive_cases[_i].err);
}
END_TEST

int
main(void)
{
    const fc_unit_case_t cases[] = {
        {"parse", parse, (int) fc_nelems(parse_cases)},
        {"if_range", if_range, (int) fc_nelems(if_range_cases)},
        {"trim", trim, 2 * (int) fc_nelems(trim_cases)},
        {"multipart_memory", multipart_memory, 1},
        {"multipart_file", multipart_file, 1},
        {"directive", directive, (int) fc_nelems(directive_cases)},
    };
    return fc_unit_run(fc_unit_suite("http_range", cases, fc_nelems(cases), setup, teardown));
}
