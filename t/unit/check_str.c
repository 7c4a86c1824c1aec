/*
 * check_str.c: counted strings and number parsing (src/core/str.c): fc_atoi,
 * fc_parse_size, fc_parse_time with nginx's units, case-insensitive
 * comparison, fc_str_dup/fc_str_cstr, FNV-1a and CRC-32 known answers.
 */
#include <check.h>

#include "unit.h"

#include "core/fc_core.h"

#define S(lit)                                                                                     \
    {                                                                                              \
        sizeof(lit) - 1, (unsigned char *) (lit)                                                   \
    }

/* ---- fc_atoi -------------------------------------------------------------- */

static const struct {
    fc_str_t in;
    int64_t want;
} atoi_cases[] = {
    {S("0"), 0},
    {S("7"), 7},
    {S("0042"), 42},
    {S("65535"), 65535},
    {S("9223372036854775807"), INT64_MAX},
    {S("9223372036854775808"), FC_ERROR}, /* INT64_MAX + 1 */
    {S("9223372036854775810"), FC_ERROR},
    {S("18446744073709551616"), FC_ERROR}, /* wraps a uint64 to 0 */
    {S("99999999999999999999999"), FC_ERROR},
    {S(""), FC_ERROR},
    {S("-1"), FC_ERROR},
    {S("+1"), FC_ERROR},
    {S(" 1"), FC_ERROR},
    {S("1 "), FC_ERROR},
    {S("12a"), FC_ERROR},
    {S("0x10"), FC_ERROR},
};

START_TEST(test_atoi)
{
    const fc_str_t *in = &atoi_cases[_i].in;
    ck_assert_msg(fc_atoi(in->data, in->len) == atoi_cases[_i].want,
                  "fc_atoi(\"%.*s\") = %" PRId64 ", want %" PRId64, (int) in->len, in->data,
                  fc_atoi(in->data, in->len), atoi_cases[_i].want);
}
END_TEST

/* Only n bytes are read: a number followed by more text in the buffer. */
START_TEST(test_atoi_counted)
{
    const unsigned char buf[] = "12345xyz";
    ck_assert_int_eq(fc_atoi(buf, 3), 123);
    ck_assert_int_eq(fc_atoi(buf, 5), 12345);
    ck_assert_int_eq(fc_atoi(buf, 6), FC_ERROR);
    ck_assert_int_eq(fc_atoi(buf, 0), FC_ERROR);
}
END_TEST

/* ---- fc_parse_size ---------------------------------------------------------- */

static const struct {
    fc_str_t in;
    int64_t want;
} size_cases[] = {
    {S("0"), 0},
    {S("10"), 10},
    {S("10k"), 10 * 1024},
    {S("10K"), 10 * 1024},
    {S("1m"), 1024 * 1024},
    {S("1M"), 1024 * 1024},
    {S("1g"), 1024LL * 1024 * 1024},
    {S("3G"), 3LL * 1024 * 1024 * 1024},
    {S("8388607T"), FC_ERROR}, /* no T suffix */
    {S("9223372036854775807"), INT64_MAX},
    {S("9007199254740991k"), 9007199254740991LL * 1024}, /* INT64_MAX / 1024 */
    {S("9007199254740992k"), FC_ERROR},                  /* one more overflows */
    {S("8589934592g"), FC_ERROR},                        /* 2^33 g = 2^63 */
    {S("8589934591g"), 8589934591LL * 1024 * 1024 * 1024},
    {S("99999999999999999999"), FC_ERROR},
    {S(""), FC_ERROR},
    {S("k"), FC_ERROR},
    {S("M"), FC_ERROR},
    {S("10x"), FC_ERROR},
    {S("10kk"), FC_ERROR},
    {S("10 k"), FC_ERROR},
    {S("k10"), FC_ERROR},
    {S("-1"), FC_ERROR},
    {S("1.5m"), FC_ERROR},
    {S("10b"), FC_ERROR},
};

START_TEST(test_parse_size)
{
    const fc_str_t *in = &size_cases[_i].in;
    int64_t got = fc_parse_size(in);
    ck_assert_msg(got == size_cases[_i].want,
                  "fc_parse_size(\"%.*s\") = %" PRId64 ", want %" PRId64, (int) in->len, in->data,
                  got, size_cases[_i].want);
}
END_TEST

/* ---- fc_parse_time ---------------------------------------------------------- */

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

static const struct {
    fc_str_t in;
    int64_t unit; /* what a bare number counts in */
    int64_t want;
} time_cases[] = {
    {S("500ms"), SEC, 500},
    {S("0ms"), SEC, 0},
    {S("10s"), SEC, 10 * SEC},
    {S("1m"), SEC, MIN},
    {S("1h"), SEC, HOUR},
    {S("1d"), SEC, DAY},
    {S("2w"), SEC, 14 * DAY},
    {S("1M"), SEC, 30 * DAY},
    {S("1y"), SEC, 365 * DAY},
    {S("1h 30m"), SEC, HOUR + 30 * MIN},
    {S("1h30m"), SEC, HOUR + 30 * MIN},
    {S("1h  30m"), SEC, HOUR + 30 * MIN},
    {S("1d 2h 3m 4s 5ms"), SEC, DAY + 2 * HOUR + 3 * MIN + 4 * SEC + 5},
    {S("1m30s"), SEC, 90 * SEC},
    {S("1s 500ms"), SEC, 1500},
    {S(" 5s"), SEC, 5 * SEC},
    {S("5s "), SEC, 5 * SEC},
    /* A bare number is in the caller's default unit. */
    {S("5"), SEC, 5 * SEC},
    {S("5"), 1, 5},
    {S("0"), SEC, 0},
    {S("60"), MIN, 60 * MIN},
    /* Up to the limit of a signed 64-bit millisecond count. */
    {S("106751991167d"), SEC, 106751991167LL * DAY},
    {S("106751991168d"), SEC, FC_ERROR},
    {S("100000000000000000ms"), SEC, 100000000000000000LL},
    {S("99999999999999999999ms"), SEC, FC_ERROR},
    {S("9223372036854775s"), SEC, 9223372036854775LL * SEC},
    {S("9223372036854776s"), SEC, FC_ERROR},
    {S("106751991167d 1d"), SEC, FC_ERROR}, /* the sum overflows */
    /* Bad input. */
    {S(""), SEC, FC_ERROR},
    {S(" "), SEC, FC_ERROR},
    {S("s"), SEC, FC_ERROR},
    {S("ms"), SEC, FC_ERROR},
    {S("10x"), SEC, FC_ERROR},
    {S("10S"), SEC, FC_ERROR},
    {S("10H"), SEC, FC_ERROR},
    {S("-1s"), SEC, FC_ERROR},
    {S("1.5s"), SEC, FC_ERROR},
    {S("10 s"), SEC, FC_ERROR},
    {S("1h 30"), SEC, 3630000}, /* nginx: a trailing bare number is seconds */
    {S("1s 1m"), SEC, FC_ERROR}, /* units must decrease */
    {S("1m 1m"), SEC, FC_ERROR},
    {S("30 1h"), SEC, FC_ERROR},
    {S("1mss"), SEC, FC_ERROR},
    {S("1sm"), SEC, FC_ERROR},
    {S("5s,"), SEC, FC_ERROR},
};

START_TEST(test_parse_time)
{
    const fc_str_t *in = &time_cases[_i].in;
    int64_t got = fc_parse_time(in, time_cases[_i].unit);
    ck_assert_msg(got == time_cases[_i].want,
                  "fc_parse_time(\"%.*s\", %" PRId64 ") = %" PRId64 ", want %" PRId64,
                  (int) in->len, in->data, time_cases[_i].unit, got, time_cases[_i].want);
}
END_TEST

/* ---- comparison and copies ---------------------------------------------------- */

static const struct {
    const char *a, *b;
    int eq;
} caseeq_cases[] = {
    {"", "", 1},           {"abc", "abc", 1},
    {"Host", "hOST", 1},   {"X-FORWARDED-FOR", "x-forwarded-for", 1},
    {"a1_-Z", "A1_-z", 1}, {"abc", "abd", 0},
    {"abc", "ab", 0},      {"ab", "abc", 0},
    {"@", "`", 0},                              /* 0x40 vs 0x60: only letters fold */
    {"[", "{", 0},         {"\xc4", "\xe4", 0}, /* Latin-1 letters are not folded (locale-free) */
};

START_TEST(test_caseeq)
{
    fc_str_t a = {strlen(caseeq_cases[_i].a), (unsigned char *) caseeq_cases[_i].a};
    fc_str_t b = {strlen(caseeq_cases[_i].b), (unsigned char *) caseeq_cases[_i].b};
    ck_assert_msg(fc_str_caseeq(&a, &b) == caseeq_cases[_i].eq, "\"%s\" vs \"%s\"",
                  caseeq_cases[_i].a, caseeq_cases[_i].b);
    ck_assert_int_eq(fc_str_caseeq(&b, &a), caseeq_cases[_i].eq);
}
END_TEST

START_TEST(test_eq_and_ncasecmp)
{
    fc_str_t a = S("abc"), b = S("abc"), c = S("ABC"), e = fc_null_string, f = fc_null_string;
    ck_assert(fc_str_eq(&a, &b));
    ck_assert(!fc_str_eq(&a, &c));
    ck_assert(fc_str_eq(&e, &f)); /* empty strings with NULL data */
    ck_assert(fc_str_eq_c(&a, "abc"));
    ck_assert(!fc_str_eq_c(&a, "ab"));
    ck_assert(!fc_str_eq_c(&a, "abcd"));
    ck_assert(fc_str_eq_c(&e, ""));
    ck_assert_int_eq(
        fc_strncasecmp((const unsigned char *) "ABCx", (const unsigned char *) "abcy", 3), 0);
    ck_assert_int_lt(
        fc_strncasecmp((const unsigned char *) "abc", (const unsigned char *) "ABD", 3), 0);
    ck_assert_int_gt(fc_strncasecmp((const unsigned char *) "b", (const unsigned char *) "A", 1),
                     0);
    ck_assert_int_eq(fc_tolower('Q'), 'q');
    ck_assert_int_eq(fc_tolower('q'), 'q');
    ck_assert_int_eq(fc_tolower('['), '[');
}
END_TEST

/* The byte-wise definition the word-at-a-time fc_strncasecmp must agree with. */
static int
ref_strncasecmp(const unsigned char *a, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int d = (int) fc_tolower(a[i]) - (int) fc_tolower(b[i]);
        if (d != 0)
            return d;
    }
    return 0;
}

/*
 * Every pair of byte values at every position, for lengths around the
 * eight-byte steps (whole words, an overlapping last word, bytes only).
 */
START_TEST(test_ncasecmp_all_bytes)
{
    static const size_t lens[] = {1, 7, 8, 9, 16, 19};
    unsigned char a[19], b[19];
    for (size_t l = 0; l < fc_nelems(lens); l++) {
        size_t n = lens[l];
        for (size_t pos = 0; pos < n; pos++) {
            for (unsigned x = 0; x < 256; x++) {
                for (unsigned y = 0; y < 256; y++) {
                    memcpy(a, "Content-Length-Xyz", sizeof(a));
                    memcpy(b, "cONTENT-lENGTH-xYZ", sizeof(b));
                    a[pos] = (unsigned char) x;
                    b[pos] = (unsigned char) y;
                    int want = ref_strncasecmp(a, b, n), got = fc_strncasecmp(a, b, n);
                    if ((want < 0) != (got < 0) || (want > 0) != (got > 0))
                        ck_abort_msg("len %zu pos %zu bytes %02x %02x: %d, want %d", n, pos, x, y,
                                     got, want);
                }
            }
        }
    }
    /* A difference in the first word wins over one later. */
    ck_assert_int_lt(
        fc_strncasecmp((const unsigned char *) "aaaaaaaaZ", (const unsigned char *) "AAAAAAAbA", 9),
        0);
}
END_TEST

START_TEST(test_dup)
{
    fc_pool_t *pool = fc_pool_create(1024, NULL);
    ck_assert_ptr_nonnull(pool);
    char src[] = "hello world";
    fc_str_t in = {5, (unsigned char *) src}, out;
    ck_assert_int_eq(fc_str_dup(pool, &out, &in), FC_OK);
    ck_assert_uint_eq(out.len, 5);
    ck_assert_ptr_ne(out.data, in.data);
    ck_assert_str_eq((char *) out.data, "hello"); /* NUL-terminated */
    src[0] = 'J';                                 /* a copy, not a view */
    ck_assert_int_eq(out.data[0], 'h');
    fc_str_t empty = fc_null_string;
    ck_assert_int_eq(fc_str_dup(pool, &out, &empty), FC_OK);
    ck_assert_uint_eq(out.len, 0);
    ck_assert_ptr_nonnull(out.data);
    ck_assert_int_eq(out.data[0], '\0');
    char *c = fc_str_cstr(pool, &in);
    ck_assert_str_eq(c, "Jello");
    fc_pool_destroy(pool);
}
END_TEST

/* ---- hashes ----------------------------------------------------------------- */

static const struct {
    const char *in;
    uint32_t crc32, fnv1a;
} hash_cases[] = {
    {"", 0x00000000u, 0x811c9dc5u},
    {"a", 0xe8b7be43u, 0xe40c292cu},
    {"123456789", 0xcbf43926u, 0xbb86b11cu},
    {"foobar", 0x9ef61f95u, 0xbf9cf968u},
    {"The quick brown fox jumps over the lazy dog", 0x414fa339u, 0x048fff90u},
};

START_TEST(test_hashes)
{
    const char *in = hash_cases[_i].in;
    size_t n = strlen(in);
    ck_assert_msg(fc_crc32((const unsigned char *) in, n) == hash_cases[_i].crc32,
                  "crc32(\"%s\") = %08x", in, fc_crc32((const unsigned char *) in, n));
    ck_assert_msg(fc_hash_fnv1a((const unsigned char *) in, n) == hash_cases[_i].fnv1a,
                  "fnv1a(\"%s\") = %08x", in, fc_hash_fnv1a((const unsigned char *) in, n));
}
END_TEST

/* fc_crc32_update chains: crc(a || b) from crc(a), at every split point. */
START_TEST(test_crc32_chain)
{
    const unsigned char *s = (const unsigned char *) "The quick brown fox jumps over the lazy dog";
    size_t n = strlen((const char *) s);
    for (size_t cut = 0; cut <= n; cut++) {
        uint32_t crc = fc_crc32_update(0, s, cut);
        ck_assert_uint_eq(crc, fc_crc32(s, cut));
        ck_assert_uint_eq(fc_crc32_update(crc, s + cut, n - cut), 0x414fa339u);
    }
    /* One byte at a time. */
    uint32_t crc = 0;
    for (size_t i = 0; i < 9; i++)
        crc = fc_crc32_update(crc, (const unsigned char *) "123456789" + i, 1);
    ck_assert_uint_eq(crc, 0xcbf43926u);
}
END_TEST

static Suite *
str_suite(void)
{
    Suite *s = suite_create("str");
    struct {
        const char *name;
        const TTest *test;
        int loop;
    } cases[] = {
        {"atoi", test_atoi, (int) fc_nelems(atoi_cases)},
        {"atoi_counted", test_atoi_counted, 1},
        {"parse_size", test_parse_size, (int) fc_nelems(size_cases)},
        {"parse_time", test_parse_time, (int) fc_nelems(time_cases)},
        {"caseeq", test_caseeq, (int) fc_nelems(caseeq_cases)},
        {"eq", test_eq_and_ncasecmp, 1},
        {"ncasecmp_all_bytes", test_ncasecmp_all_bytes, 1},
        {"dup", test_dup, 1},
        {"hashes", test_hashes, (int) fc_nelems(hash_cases)},
        {"crc32_chain", test_crc32_chain, 1},
    };
    for (size_t i = 0; i < fc_nelems(cases); i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_loop_test(tc, cases[i].test, 0, cases[i].loop);
        suite_add_tcase(s, tc);
    }
    return s;
}

int
main(void)
{
    return fc_unit_run(str_suite());
}
