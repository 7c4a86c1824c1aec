/*
 * check_http_cache.c: the response cache's pure parts: what an upstream's
 * fields say about storing a response (modules/http_cache/cache_policy.c,
 * nginx's reading of X-Accel-Expires, Cache-Control, Expires, Set-Cookie,
 * Vary), proxy_cache_valid's lookup, entry file names under `levels`, and
 * the HTTP date parser the policy relies on (src/core/time.c).
 */
#include <check.h>

#include "unit.h"
#include "unit_pool.h"

#include "../../modules/http_cache/cache.h"

#define NOW 1700000000

/* ---- the policy ------------------------------------------------------------------ */

static const struct {
    const char *fields; /* "Name: value" lines separated by '|' */
    unsigned ignore;
    time_t valid;       /* expected valid_sec (0: none said) */
    int no_store;
    int vary_star;
    const char *vary;
} policy_cases[] = {
    {"", 0, 0, 0, 0, ""},
    {"Cache-Control: max-age=60", 0, NOW + 60, 0, 0, ""},
    {"Cache-Control: public, max-age=60, s-maxage=120", 0, NOW + 120, 0, 0, ""},
    {"Cache-Control: max-age=0", 0, 0, 1, 0, ""},
    {"Cache-Control: no-store", 0, 0, 1, 0, ""},
    {"Cache-Control: private, max-age=60", 0, 0, 1, 0, ""},
    {"Cache-Control: no-cache", 0, 0, 1, 0, ""},
    {"Cache-Control: no-store", CACHE_IGN_CACHE_CONTROL, 0, 0, 0, ""},
    {"Cache-Control: public|Cache-Control: max-age=30", 0, NOW + 30, 0, 0, ""},
    /* X-Accel-Expires decides alone. */
    {"X-Accel-Expires: 10|Cache-Control: no-store", 0, NOW + 10, 0, 0, ""},
    {"X-Accel-Expires: @1800000000", 0, 1800000000, 0, 0, ""},
    {"X-Accel-Expires: 0|Cache-Control: max-age=60", 0, 0, 1, 0, ""},
    {"X-Accel-Expires: 10|Cache-Control: max-age=60", CACHE_IGN_X_ACCEL_EXPIRES, NOW + 60, 0, 0,
     ""},
    /* Expires counts when Cache-Control said nothing of freshness. */
    {"Expires: Thu, 01 Jan 2037 00:00:00 GMT", 0, 2114380800, 0, 0, ""},
    {"Expires: Thu, 01 Jan 1970 00:00:00 GMT", 0, 0, 1, 0, ""},
    {"Expires: garbage", 0, 0, 1, 0, ""},
    {"Expires: Thu, 01 Jan 2037 00:00:00 GMT|Cache-Control: max-age=5", 0, NOW + 5, 0, 0, ""},
    {"Expires: Thu, 01 Jan 1970 00:00:00 GMT", CACHE_IGN_EXPIRES, 0, 0, 0, ""},
    {"Set-Cookie: a=b", 0, 0, 1, 0, ""},
    {"Set-Cookie: a=b", CACHE_IGN_SET_COOKIE, 0, 0, 0, ""},
    {"Vary: Accept-Encoding", 0, 0, 0, 0, "Accept-Encoding"},
    {"Vary: *", 0, 0, 0, 1, "*"},
    {"Vary: Accept, *", 0, 0, 0, 1, "Accept, *"},
    {"Vary: *", CACHE_IGN_VARY, 0, 0, 0, ""},
};

static void
fields_from(const char *text, fc_array_t *a)
{
    char *copy = fc_pnalloc(pool, strlen(text) + 1);
    strcpy(copy, text);
    for (char *line = strtok(copy, "|"); line; line = strtok(NULL, "|")) {
        char *colon = strchr(line, ':');
        ck_assert_ptr_nonnull(colon);
        fc_http_field_t *f = fc_array_push(a);
        f->name.data = (unsigned char *) line;
        f->name.len = (size_t) (colon - line);
        f->value.data = (unsigned char *) colon + 2;
        f->value.len = strlen(colon + 2);
        f->hash = 1;
    }
}

START_TEST(test_policy)
{
    fc_array_t fields;
    ck_assert_int_eq(fc_array_init(&fields, pool, 4, sizeof(fc_http_field_t)), FC_OK);
    fields_from(policy_cases[_i].fields, &fields);
    cache_policy_t pol;
    cache_policy_read(&fields, policy_cases[_i].ignore, NOW, &pol);
    const char *what = policy_cases[_i].fields;
    ck_assert_msg(pol.valid_sec == policy_cases[_i].valid, "%s: valid %ld", what,
                  (long) pol.valid_sec);
    ck_assert_msg(pol.no_store == (unsigned) policy_cases[_i].no_store, "%s: no_store", what);
    ck_assert_msg(pol.vary_star == (unsigned) policy_cases[_i].vary_star, "%s: vary *", what);
    ck_assert_msg(pol.vary.len == strlen(policy_cases[_i].vary) &&
                      (pol.vary.len == 0 ||
                       memcmp(pol.vary.data, policy_cases[_i].vary, pol.vary.len) == 0),
                  "%s: vary", what);
}
END_TEST

/* ---- proxy_cache_valid ------------------------------------------------------------- */

START_TEST(test_valid_for)
{
    fc_array_t *valid = fc_array_create(pool, 4, sizeof(cache_valid_t));
    cache_valid_t *v = fc_array_push(valid);
    v->status = 200;
    v->valid = 600;
    v = fc_array_push(valid);
    v->status = 404;
    v->valid = 60;
    ck_assert_int_eq(cache_valid_for(valid, 200), 600);
    ck_assert_int_eq(cache_valid_for(valid, 404), 60);
    ck_assert_int_eq(cache_valid_for(valid, 500), 0);
    ck_assert_int_eq(cache_valid_for(NULL, 200), 0);
    v = fc_array_push(valid);
    v->status = 0; /* any: only for codes not listed */
    v->valid = 5;
    ck_assert_int_eq(cache_valid_for(valid, 500), 5);
    ck_assert_int_eq(cache_valid_for(valid, 200), 600);
}
END_TEST

/* ---- file names --------------------------------------------------------------------- */

static const struct {
    const char *levels;
    const char *want;
} path_cases[] = {
    {"", "/c/a6bf1757fff057f266b697df9cf176fd"},
    {"1", "/c/d/a6bf1757fff057f266b697df9cf176fd"},
    {"1:2", "/c/d/6f/a6bf1757fff057f266b697df9cf176fd"},
    {"2:2:1", "/c/fd/76/1/a6bf1757fff057f266b697df9cf176fd"},
};

START_TEST(test_file_path)
{
    cache_path_t cp;
    memset(&cp, 0, sizeof(cp));
    fc_str_set(&cp.path, "/c");
    for (const char *l = path_cases[_i].levels; *l; l++)
        if (*l != ':')
            cp.levels[cp.nlevels++] = (unsigned) (*l - '0');
    unsigned char key[CACHE_KEY_LEN];
    fc_str_t text = fc_string("http://example.com/");
    cache_md5(&text, 1, key);
    char hex[2 * CACHE_KEY_LEN + 1] = {0};
    cache_key_hex(key, hex);
    /* The MD5 of the key text, as `echo -n http://example.com/ | md5sum` says. */
    ck_assert_str_eq(hex, "a6bf1757fff057f266b697df9cf176fd");
    char buf[FC_CACHE_PATH_MAX];
    ck_assert_int_eq(cache_file_path(&cp, key, buf, sizeof(buf)), FC_OK);
    ck_assert_str_eq(buf, path_cases[_i].want);
    ck_assert_int_eq(cache_file_path(&cp, key, buf, 10), FC_ERROR);
    ck_assert_int_eq(cache_disk_size(1), 4096);
    ck_assert_int_eq(cache_disk_size(4096), 4096);
    ck_assert_int_eq(cache_disk_size(4097), 8192);
}
END_TEST

/* ---- HTTP dates ---------------------------------------------------------------------- */

static const struct {
    const char *text;
    time_t want;
} date_cases[] = {
    {"Sun, 06 Nov 1994 08:49:37 GMT", 784111777},
    {"Sunday, 06-Nov-94 08:49:37 GMT", 784111777},
    {"Sun Nov  6 08:49:37 1994", 784111777},
    {"Thu, 01 Jan 1970 00:00:00 GMT", 0},
    {"Sat, 01 Jan 2022 00:00:00 GMT", 1640995200},
    {"Thu, 01 Jan 1970 00:00:01 GMT", 1},
    {"Tue, 29 Feb 2000 12:00:00 GMT", 951825600},
    {"Thu, 31 Dec 2037 23:55:55 GMT", 2145916555},
    {"Sun, 22 Nov 2026 01:34:45 GMT", 1795311285},
    {"Sat, 29 Feb 1997 00:00:00 GMT", -1}, /* not a leap year */
    {"Sun, 06 Nov 1994 24:00:00 GMT", -1},
    {"Sun, 6 Nov 1994 08:49:37 GMT", -1},
    {"Sun, 06 Nov 1994 25:49:37 GMT", -1},
    {"Sun, 06 Foo 1994 08:49:37 GMT", -1},
    {"Sun, 6 Nov 1994", -1},
    {"", -1},
    {"garbage", -1},
};

START_TEST(test_http_date)
{
    const char *t = date_cases[_i].text;
    time_t got = fc_time_parse_http((const unsigned char *) t, strlen(t));
    ck_assert_msg(got == date_cases[_i].want, "\"%s\": got %ld", t, (long) got);
}
END_TEST

int
main(void)
{
    const fc_unit_case_t cases[] = {
        {"policy", test_policy, (int) fc_nelems(policy_cases)},
        {"valid_for", test_valid_for, 1},
        {"file_path", test_file_path, (int) fc_nelems(path_cases)},
        {"http_date", test_http_date, (int) fc_nelems(date_cases)},
    };
    return fc_unit_run(fc_unit_suite("http_cache", cases, fc_nelems(cases), unit_pool_setup, unit_pool_teardown));
}
