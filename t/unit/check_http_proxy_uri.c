/*
 * check_http_proxy_uri.c: the proxy module's pure string work
 * (modules/http_proxy/proxy_uri.c): splitting proxy_pass URLs, nginx's URI
 * replacement rule, "is the URI still the one the client sent", escaping a
 * decoded path, and proxy_redirect's prefix replacement (Location, Refresh).
 */
#include <check.h>

#include "unit.h"
#include "unit_pool.h"

#include "../../modules/http_proxy/proxy.h"

#define S(lit)                                                                                     \
    {                                                                                              \
        sizeof(lit) - 1, (unsigned char *) (lit)                                                   \
    }

static void
assert_str(const fc_str_t *got, const char *want, const char *what)
{
    ck_assert_msg(got->len == strlen(want) &&
                      (got->len == 0 || memcmp(got->data, want, got->len) == 0),
                  "%s: got \"%.*s\", want \"%s\"", what, (int) got->len,
                  got->data ? (const char *) got->data : "", want);
}

/* ---- proxy_url_parse ---------------------------------------------------------------- */

static const struct {
    const char *url;
    int rc;
    const char *authority, *host, *port, *uri;
    int has_uri;
} url_cases[] = {
    {"http://127.0.0.1:8080/base/", FC_OK, "127.0.0.1:8080", "127.0.0.1:8080", "8080", "/base/", 1},
    {"http://backend", FC_OK, "backend", "backend", "80", "", 0},
    {"http://backend/", FC_OK, "backend", "backend", "80", "/", 1},
    {"HTTP://Backend:80/x?a=1", FC_OK, "Backend:80", "Backend", "80", "/x?a=1", 1},
    {"http://[::1]:8081", FC_OK, "[::1]:8081", "[::1]:8081", "8081", "", 0},
    {"http://[::1]/p", FC_OK, "[::1]", "[::1]", "80", "/p", 1},
    {"http://unix:/tmp/s.sock:/u/", FC_OK, "unix:/tmp/s.sock", "localhost", "", "/u/", 1},
    {"http://unix:/tmp/s.sock", FC_OK, "unix:/tmp/s.sock", "localhost", "", "", 0},
    {"https://secure", FC_OK, "secure", "secure", "443", "", 0},
    {"https://secure:443/a", FC_OK, "secure:443", "secure", "443", "/a", 1},
    {"https://secure:8443", FC_OK, "secure:8443", "secure:8443", "8443", "", 0},
    {"ftp://x", FC_ERROR, NULL, NULL, NULL, NULL, 0},
    {"http://", FC_ERROR, NULL, NULL, NULL, NULL, 0},
    {"http:/x", FC_ERROR, NULL, NULL, NULL, NULL, 0},
    {"http://h:0", FC_ERROR, NULL, NULL, NULL, NULL, 0},
    {"http://h:65536/", FC_ERROR, NULL, NULL, NULL, NULL, 0},
    {"http://h:8x", FC_ERROR, NULL, NULL, NULL, NULL, 0},
    {"http://h?x=1", FC_ERROR, NULL, NULL, NULL, NULL, 0},
};

START_TEST(test_url_parse)
{
    fc_str_t url = {strlen(url_cases[_i].url), (unsigned char *) url_cases[_i].url};
    proxy_url_t pu;
    const char *err = NULL;
    int rc = proxy_url_parse(&url, &pu, &err);
    ck_assert_msg(rc == url_cases[_i].rc, "%s: rc %d", url_cases[_i].url, rc);
    if (rc == FC_ERROR)
        ck_assert_ptr_nonnull(err);
    if (rc != FC_OK)
        return;
    assert_str(&pu.authority, url_cases[_i].authority, "authority");
    assert_str(&pu.host_header, url_cases[_i].host, "host header");
    assert_str(&pu.port, url_cases[_i].port, "port");
    assert_str(&pu.uri, url_cases[_i].uri, "uri");
    ck_assert_int_eq(pu.has_uri, url_cases[_i].has_uri);
}
END_TEST

/* ---- proxy_uri_build ---------------------------------------------------------------------- */

static const struct {
    const char *uri, *args, *unparsed, *location, *replacement;
    unsigned has_uri, vars, unchanged, valid_location;
    const char *want;
} build_cases[] = {
    /* a URI part: the matched prefix is replaced, the rest escaped again */
    {"/with/x/y", "q=1", "/with/x/y?q=1", "/with/", "/base/", 1, 0, 0, 1, "/base/x/y?q=1"},
    {"/with/", "", "/with/", "/with/", "/base/", 1, 0, 0, 1, "/base/"},
    {"/with/a b/c", "", "/with/a%20b/./c", "/with/", "/base/", 1, 0, 0, 1, "/base/a%20b/c"},
    {"/noslashy", "", "/noslashy", "/noslash", "/b", 1, 0, 0, 1, "/by"},
    {"/root/deep/er", "", "/root/deep/er", "/root/", "/", 1, 0, 0, 1, "/deep/er"},
    {"/a#b?c%d", "", "/a%23b%3Fc%25d", "/", "/", 1, 0, 0, 1, "/a%23b%3Fc%25d"},
    {"/\x01\x7f\xc3\xa9", "", "", "/", "/x/", 1, 0, 0, 1, "/x/%01%7F%C3%A9"},
    {"/exact", "a=1", "/exact?a=1", "/exact", "/other", 1, 0, 0, 1, "/other?a=1"},
    /* rewrite ... break: the location no longer matches, the changed URI goes */
    {"/changed/x", "q=2", "/rwb/x?q=2", "/rwb/", "/ignored/", 1, 0, 0, 0, "/changed/x?q=2"},
    /* no URI part: as received unless changed */
    {"/without/a b/c", "", "/without/a%20b/./c", "/without/", "", 0, 0, 1, 1, "/without/a%20b/./c"},
    {"/new/p q", "z=1", "/old?y=2", "/", "", 0, 0, 0, 1, "/new/p%20q?z=1"},
    {"/re/abc/d", "e=f", "/re/abc/d?e=f", "", "", 0, 0, 1, 0, "/re/abc/d?e=f"},
    /* variables with a URI part: exactly that URI */
    {"/varuri/v", "z=1", "/varuri/v?z=1", "/varuri/", "/fixed?z=1", 1, 1, 1, 1, "/fixed?z=1"},
    {"/var/v", "z=1", "/var/v?z=1", "/var/", "", 0, 1, 1, 1, "/var/v?z=1"},
};

static fc_str_t
cstr(const char *s)
{
    fc_str_t r = {strlen(s), (unsigned char *) s};
    return r;
}

START_TEST(test_uri_build)
{
    proxy_uri_in_t in = {
        .uri = cstr(build_cases[_i].uri),
        .args = cstr(build_cases[_i].args),
        .unparsed = cstr(build_cases[_i].unparsed),
        .location = cstr(build_cases[_i].location),
        .replacement = cstr(build_cases[_i].replacement),
        .has_uri = build_cases[_i].has_uri,
        .vars = build_cases[_i].vars,
        .unchanged = build_cases[_i].unchanged,
        .valid_location = build_cases[_i].valid_location,
    };
    fc_str_t out = fc_null_string;
    ck_assert_int_eq(proxy_uri_build(pool, &in, &out), FC_OK);
    assert_str(&out, build_cases[_i].want, build_cases[_i].unparsed);
}
END_TEST

/* ---- proxy_uri_unchanged -------------------------------------------------------------------- */

static const struct {
    const char *unparsed, *uri, *args;
    int merge, want;
} unchanged_cases[] = {
    {"/a/b", "/a/b", "", 1, 1},    {"/a/./b", "/a/b", "", 1, 1},  {"/a/x/../b", "/a/b", "", 1, 1},
    {"/a%20b", "/a b", "", 1, 1},  {"/a//b", "/a/b", "", 1, 1},   {"/a//b", "/a/b", "", 0, 0},
    {"/x?y=1", "/x", "y=1", 1, 1}, {"/x?y=1", "/x", "y=2", 1, 0}, {"/x?", "/x", "", 1, 1},
    {"/x", "/z", "", 1, 0},        {"/x", "/x", "a=1", 1, 0},     {"http://h/x", "/x", "", 1, 0},
    {"*", "*", "", 1, 0},          {"", "/", "", 1, 0},
};

START_TEST(test_uri_unchanged)
{
    fc_str_t unparsed = cstr(unchanged_cases[_i].unparsed), uri = cstr(unchanged_cases[_i].uri),
             args = cstr(unchanged_cases[_i].args);
    unsigned char scratch[64];
    int got = proxy_uri_unchanged(&unparsed, &uri, &args, unchanged_cases[_i].merge, scratch);
    ck_assert_msg(got == unchanged_cases[_i].want, "\"%s\" vs \"%s\": %d",
                  unchanged_cases[_i].unparsed, unchanged_cases[_i].uri, got);
}
END_TEST

/* ---- escaping
 * ------------------------------------------------------------------------------------ */

START_TEST(test_escape)
{
    static const unsigned char in[] = "/a b#c?d%e\"f<g>\\^`{|}~!$&'()*+,;=:@[]";
    size_t n = sizeof(in) - 1;
    unsigned char out[128];
    size_t len = proxy_uri_escaped_len(in, n);
    unsigned char *end = proxy_uri_escape(out, in, n);
    ck_assert_uint_eq((size_t) (end - out), len);
    fc_str_t got = {len, out};
    /*
     * nginx's URI set since 1.21.1: space, # ? % " < > \ ^ ` { | } (and
     * controls, DEL, non-ASCII); the other sub-delims, ~ and [ ] pass.
     */
    assert_str(&got, "/a%20b%23c%3Fd%25e%22f%3Cg%3E%5C%5E%60%7B%7C%7D~!$&'()*+,;=:@[]", "escape");
}
END_TEST

/* ---- proxy_redirect_prefix ---------------------------------------------------------------------
 */

static const struct {
    const char *value;
    size_t off;
    const char *from, *to;
    int rc;
    const char *want;
} redirect_cases[] = {
    {"http://127.0.0.1:8080/base/new", 0, "http://127.0.0.1:8080/base/", "/rd/default/", FC_OK,
     "/rd/default/new"},
    {"HTTP://Backend.Test/p/q", 0, "http://backend.test/", "http://front.test/x/", FC_OK,
     "http://front.test/x/p/q"},
    {"http://elsewhere.test/base/new", 0, "http://127.0.0.1:8080/base/", "/", FC_DECLINED, NULL},
    {"5; url=http://backend.test/r", 7, "http://backend.test/", "http://front.test/x/", FC_OK,
     "5; url=http://front.test/x/r"},
    {"http://b/", 0, "http://b/", "/", FC_OK, "/"},
    {"http://b", 0, "http://b/", "/", FC_DECLINED, NULL},
    {"/x", 5, "/", "/", FC_DECLINED, NULL},
    {"/keep", 0, "/", "", FC_OK, "keep"},
};

START_TEST(test_redirect_prefix)
{
    fc_str_t value = cstr(redirect_cases[_i].value), from = cstr(redirect_cases[_i].from),
             to = cstr(redirect_cases[_i].to), out = fc_null_string;
    int rc = proxy_redirect_prefix(pool, &value, redirect_cases[_i].off, &from, &to, &out);
    ck_assert_msg(rc == redirect_cases[_i].rc, "%s: rc %d", redirect_cases[_i].value, rc);
    if (rc == FC_OK)
        assert_str(&out, redirect_cases[_i].want, redirect_cases[_i].value);
}
END_TEST

int
main(void)
{
    const fc_unit_case_t cases[] = {
        {"url_parse", test_url_parse, (int) fc_nelems(url_cases)},
        {"uri_build", test_uri_build, (int) fc_nelems(build_cases)},
        {"uri_unchanged", test_uri_unchanged, (int) fc_nelems(unchanged_cases)},
        {"escape", test_escape, 1},
        {"redirect_prefix", test_redirect_prefix, (int) fc_nelems(redirect_cases)},
    };
    return fc_unit_run(fc_unit_suite("http_proxy_uri", cases, fc_nelems(cases), unit_pool_setup, unit_pool_teardown));
}
