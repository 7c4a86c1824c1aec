/*
 * check_http_gzip.c: the gzip module's pure decisions
 * (modules/http_gzip/gzip_rules.c): nginx's Accept-Encoding reading (q=0
 * and the quirks), the MSIE 6 mask, the part of a Content-Type that
 * gzip_types compares, Cache-Control directives, gzip_proxied's order of
 * tests and $gzip_ratio's rounding (HTTP dates: check_http_cache.c). Every
 * expected value is what nginx 1.22 does (the Accept-Encoding rows were checked against it).
 */
#include <check.h>

#include "unit.h"

#include "../../modules/http_gzip/gzip.h"

static fc_str_t
cstr(const char *s)
{
    fc_str_t r = {strlen(s), (unsigned char *) s};
    return r;
}

/* ---- Accept-Encoding ---------------------------------------------------------------- */

static const struct {
    const char *ae;
    int want;
} ae_cases[] = {
    {"gzip", 1},
    {"GZIP", 1},
    {"gzip, deflate", 1},
    {"gzip,deflate", 1},
    {"deflate, gzip", 1},
    {"deflate,gzip", 1},
    {"deflate,  gzip", 1},
    {"gzip;q=1", 1},
    {"gzip;q=1.0", 1},
    {"gzip;q=1.000", 1},
    {"gzip;q=0.5", 1},
    {"gzip;Q=0.001", 1},
    {"gzip, gzip;q=0", 1}, /* the first token decides */
    {"gzip;level=1", 0},   /* a parameter other than q */
    {"gzip;q=0", 0},
    {"gzip; q=0", 0},
    {"gzip ;q=0", 0},
    {"gzip;Q=0", 0},
    {"gzip;q=0.0", 0},
    {"gzip;q=0.000", 0},
    {"gzip;q=0.0001", 0}, /* more than three decimals */
    {"gzip;q=0.1234", 0},
    {"gzip;q=1.5", 0}, /* over 1 */
    {"gzip;q=.5", 0},
    {"gzip;q=", 0},
    {"gzip;q=0,", 0},
    {"gzip;q=0 ", 0},
    {"gzip;q=0, gzip", 0},
    {"br;q=1, gzip;q=0", 0},
    {"xgzip", 0},
    {"x-gzip", 0},
    {"gzipx", 0},
    {"identity", 0},
    {"*", 0},
    {"gzi", 0},
    {"", 0},
};

START_TEST(test_accepts)
{
    fc_str_t ae = cstr(ae_cases[_i].ae);
    ck_assert_msg(gzip_accepts(&ae) == ae_cases[_i].want, "\"%s\": want %d", ae_cases[_i].ae,
                  ae_cases[_i].want);
}
END_TEST

/* ---- User-Agent: the msie6 mask ----------------------------------------------------------- */

static const struct {
    const char *ua;
    int want;
} ua_cases[] = {
    {"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)", 1},
    {"Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)", 1},
    {"Mozilla/4.0 (compatible; MSIE 4.01; Windows 95)", 1},
    {"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)", 0}, /* SP2 */
    {"Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)", 0},
    {"Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1) Opera 7.54", 0},
    {"Mozilla/4.0 (compatible; MSIE 6", 0}, /* too short to tell */
    {"curl/8.0", 0},
};

START_TEST(test_msie6)
{
    fc_str_t ua = cstr(ua_cases[_i].ua);
    ck_assert_msg(fc_http_ua_msie6(&ua) == ua_cases[_i].want, "\"%s\"", ua_cases[_i].ua);
}
END_TEST

/* ---- gzip_types --------------------------------------------------------------------------- */

static const struct {
    const char *ct;
    size_t want;
} ct_cases[] = {
    {"text/plain", 10},
    {"text/plain; charset=utf-8", 10},
    {"text/plain;charset=utf-8", 10},
    {"text/plain;   CHARSET=utf-8", 10},
    {"text/plain; foo=bar", 19},            /* compared whole: matches nothing */
    {"text/plain; foo=bar; charset=x", 19}, /* up to the ';' before charset */
    {"text/plain ; charset=x", 11},         /* the space stays */
    {"", 0},
};

START_TEST(test_type_len)
{
    fc_str_t ct = cstr(ct_cases[_i].ct);
    ck_assert_msg(fc_http_mime_type_len(&ct) == ct_cases[_i].want, "\"%s\": %zu", ct_cases[_i].ct,
                  fc_http_mime_type_len(&ct));
}
END_TEST

START_TEST(test_type_listed)
{
    fc_pool_t *pool = fc_pool_create(1024, NULL);
    fc_array_t *a = fc_array_create(pool, 2, sizeof(fc_str_t));
    fc_str_t *t = fc_array_push(a);
    *t = cstr("text/html");
    t = fc_array_push(a);
    *t = cstr("application/json");
    ck_assert_int_eq(fc_http_mime_listed(a, (const unsigned char *) "text/html", 9), 1);
    ck_assert_int_eq(fc_http_mime_listed(a, (const unsigned char *) "Application/JSON", 16), 1);
    ck_assert_int_eq(fc_http_mime_listed(a, (const unsigned char *) "text/htm", 8), 0);
    ck_assert_int_eq(fc_http_mime_listed(a, (const unsigned char *) "text/html5", 10), 0);
    ck_assert_int_eq(fc_http_mime_listed(a, (const unsigned char *) "text/plain", 10), 0);
    fc_pool_destroy(pool);
}
END_TEST

/* ---- Cache-Control ---------------------------------------------------------------------- */

static const struct {
    const char *value, *name;
    int want;
} cc_cases[] = {
    {"no-cache", "no-cache", 1},
    {"No-Cache", "no-cache", 1},
    {"public, no-cache", "no-cache", 1},
    {"public,no-cache", "no-cache", 1},
    {"no-cache , max-age=0", "no-cache", 1},
    {"max-age=0; private", "private", 1},
    {"no-cache=\"Set-Cookie\"", "no-cache", 0},
    {"no-cachex", "no-cache", 0},
    {"xno-cache", "no-cache", 0},
    {"public", "private", 0},
    {"", "private", 0},
};

START_TEST(test_cc_has)
{
    fc_str_t v = cstr(cc_cases[_i].value);
    ck_assert_msg(gzip_cc_has(&v, cc_cases[_i].name) == cc_cases[_i].want, "\"%s\" has %s",
                  cc_cases[_i].value, cc_cases[_i].name);
}
END_TEST

/* ---- gzip_proxied ------------------------------------------------------------------------ */

static const fc_str_t past = fc_string("Thu, 01 Jan 1970 00:00:01 GMT");
static const fc_str_t future = fc_string("Thu, 31 Dec 2037 23:55:55 GMT");
static const fc_str_t bad = fc_string("soon");

#define P(x) GZIP_PROXIED_##x
static const struct {
    unsigned mask;
    gzip_proxied_facts_t f;
    int want;
} proxied_cases[] = {
    {P(OFF) | P(ANY), {.now = 100}, 0}, /* off wins */
    {P(ANY), {.now = 100, .expires = &future}, 1},
    {P(AUTH), {.now = 100, .authorization = 1, .cache_control = 1}, 1},
    {P(AUTH), {.now = 100, .cache_control = 1}, 0},
    {P(AUTH), {.now = 100}, 1}, /* nothing refuses it */
    {P(EXPIRED), {.now = 100, .expires = &past}, 1},
    {P(EXPIRED), {.now = 100, .expires = &future}, 0},
    {P(EXPIRED), {.now = 100, .expires = &bad}, 0},
    {P(EXPIRED), {.now = 100, .expires = &future, .date = &future}, 0}, /* not before */
    {P(NO_CACHE), {.now = 100, .expires = &past}, 0}, /* Expires without expired */
    {P(EXPIRED), {.now = 100}, 1},                    /* nginx: no Expires, no CC */
    {P(NO_CACHE), {.now = 100, .cache_control = 1, .cc_no_cache = 1}, 1},
    {P(NO_CACHE), {.now = 100, .cache_control = 1, .cc_no_store = 1}, 0},
    {P(NO_STORE), {.now = 100, .cache_control = 1, .cc_no_store = 1}, 1},
    {P(PRIVATE), {.now = 100, .cache_control = 1, .cc_private = 1}, 1},
    {P(PRIVATE), {.now = 100, .cache_control = 1}, 0},
    {P(NO_LM), {.now = 100, .last_modified = 1}, 0},
    {P(NO_LM), {.now = 100, .etag = 1}, 1},
    {P(NO_ETAG), {.now = 100, .etag = 1}, 0},
    {P(NO_ETAG) | P(NO_LM), {.now = 100}, 1},
};
#undef P

START_TEST(test_proxied)
{
    ck_assert_msg(gzip_proxied_allows(proxied_cases[_i].mask, &proxied_cases[_i].f) ==
                      proxied_cases[_i].want,
                  "row %d", _i);
}
END_TEST

/* ---- $gzip_ratio ------------------------------------------------------------------------- */

static const struct {
    uint64_t zin, zout;
    const char *want;
} ratio_cases[] = {
    {1048576, 16157, "64.90"}, {100, 86, "1.16"}, {2125, 1000, "2.13"}, {2124, 1000, "2.12"},
    {1999, 1000, "2.00"},      {1, 21, "0.05"},   {21, 21, "1.00"},     {0, 20, "0.00"},
};

START_TEST(test_ratio)
{
    char buf[32];
    size_t n = gzip_ratio_format(ratio_cases[_i].zin, ratio_cases[_i].zout, buf, sizeof(buf));
    ck_assert_msg(n == strlen(ratio_cases[_i].want) && memcmp(buf, ratio_cases[_i].want, n) == 0,
                  "%" PRIu64 "/%" PRIu64 ": \"%.*s\"", ratio_cases[_i].zin, ratio_cases[_i].zout,
                  (int) n, buf);
}
END_TEST

int
main(void)
{
    const fc_unit_case_t cases[] = {
        {"accept_encoding", test_accepts, (int) fc_nelems(ae_cases)},
        {"msie6", test_msie6, (int) fc_nelems(ua_cases)},
        {"type_len", test_type_len, (int) fc_nelems(ct_cases)},
        {"type_listed", test_type_listed, 1},
        {"cache_control", test_cc_has, (int) fc_nelems(cc_cases)},
        {"proxied", test_proxied, (int) fc_nelems(proxied_cases)},
        {"ratio", test_ratio, (int) fc_nelems(ratio_cases)},
    };
    return fc_unit_run(fc_unit_suite("http_gzip", cases, fc_nelems(cases), NULL, NULL));
}
