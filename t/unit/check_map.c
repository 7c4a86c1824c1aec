/*
 * check_map.c: the map engine (src/core/map.c) without a layer: maps are
 * built line by line as the config parser would feed them, then looked up.
 * Exact keys (any case), hostnames wildcards (longest wins, ".x" is x too,
 * trailing dot ignored), regexes in order with captures, the default and
 * its absence, the backslash escape, and the errors with file:line.
 */
#include <check.h>

#include "unit_cf.h"

#include "core/fc_core.h"
#include "core/conf.h"
#include "core/map.h"

static int
get_src(void *r, fc_var_value_t *v, uintptr_t data)
{
    (void) data;
    const char *s = r;
    fc_var_set_str(v, (const unsigned char *) s, strlen(s));
    return FC_OK;
}

static const fc_var_def_t test_vars[] = {
    {"src", get_src, 0, 0},
    {NULL, NULL, 0, 0},
};

static const fc_map_layer_t layer = {NULL, NULL, NULL, NULL};

static void
setup(void)
{
    fc_unit_cf_setup("map.conf", 1);
    ck_assert_int_eq(fc_var_define_table(&reg, test_vars), FC_OK);
}

static void
teardown(void)
{
    fc_unit_cf_teardown();
}

/*
 * Builds a map from lines separated by '\n', words by ' ' (a word "''" is
 * the empty string); line i of the body is line i + 1 of map.conf. Returns
 * the map, or NULL if a line or the end of the body failed.
 */
static fc_map_t *
build(const char *body)
{
    fc_str_t src = fc_string("$src");
    fc_map_t *map = fc_map_create(&cf, &reg, &layer, &src);
    ck_assert_ptr_nonnull(map);
    char *text = fc_pnalloc(pool, strlen(body) + 1), *save = NULL;
    strcpy(text, body);
    int ok = 1;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        fc_str_t args[4];
        size_t n = 0;
        char *wsave = NULL;
        for (char *w = strtok_r(line, " ", &wsave); w && n < 4; w = strtok_r(NULL, " ", &wsave)) {
            args[n].data = (unsigned char *) (strcmp(w, "''") == 0 ? "" : w);
            args[n++].len = strcmp(w, "''") == 0 ? 0 : strlen(w);
        }
        cf.dir_line++;
        if (fc_map_add(&cf, map, args, n) != FC_CONF_OK)
            ok = 0;
    }
    if (fc_map_finish(&cf, map) != FC_OK)
        ok = 0;
    return ok ? map : NULL;
}

/* The value the map gives for src (the value's text: these tests use literal values). */
static const char *
lookup(fc_map_t *map, const char *src, fc_captures_t *caps, int *regex)
{
    fc_str_t s = {strlen(src), (unsigned char *) src};
    fc_map_result_t res;
    ck_assert_int_eq(fc_map_find(map, &s, caps, &res), FC_OK);
    ck_assert_ptr_nonnull(res.value);
    if (regex)
        *regex = res.regex;
    char *out = fc_pnalloc(pool, res.value->text.len + 1);
    memcpy(out, res.value->text.data, res.value->text.len);
    out[res.value->text.len] = '\0';
    return out;
}

/* ---- lookups -------------------------------------------------------------------- */

static const char *const hosts_map = "hostnames\n"
                                     "default dflt\n"
                                     "example.com exact\n"
                                     "*.example.com wild_lead\n"
                                     "*.a.example.com deeper_lead\n"
                                     ".example.org dot_org\n"
                                     "www.example.* wild_trail\n"
                                     "www.example.co.* longer_trail\n"
                                     "~^mail\\.(.+)$ re_mail\n";

static const struct {
    const char *src;
    const char *want;
} host_cases[] = {
    {"example.com", "exact"},
    {"EXAMPLE.Com", "exact"},
    {"example.com.", "exact"}, /* a trailing dot is ignored with hostnames */
    {"x.example.com", "wild_lead"},
    {"x.y.example.com", "wild_lead"},
    {"b.a.example.com", "deeper_lead"}, /* the longest leading wildcard */
    {"a.example.com", "wild_lead"},
    {"xexample.com", "dflt"},     /* a wildcard matches on a label boundary */
    {"example.org", "dot_org"},   /* ".example.org" is example.org itself */
    {"w.example.org", "dot_org"}, /* ...and its subdomains */
    {"www.example.net", "wild_trail"},
    {"www.example.co.uk", "longer_trail"}, /* the longest trailing wildcard */
    {"www.example", "dflt"},
    {"www.example.com", "wild_lead"}, /* leading wildcards before trailing ones */
    {"mail.example.net", "re_mail"},
    {"mail.example.com", "wild_lead"}, /* wildcards before regexes */
    {"", "dflt"},
};

START_TEST(test_hostnames)
{
    fc_map_t *map = build(hosts_map);
    ck_assert_msg(map != NULL, "%s", logged());
    ck_assert_str_eq(lookup(map, host_cases[_i].src, NULL, NULL), host_cases[_i].want);
}
END_TEST

START_TEST(test_exact)
{
    fc_map_t *map = build("b B\na A\nC c\nabc ABC\n'' empty\n\\default literal\n"
                          "*.x.com star\nvolatile\ndefault dd");
    ck_assert_msg(map != NULL, "%s", logged());
    ck_assert_str_eq(lookup(map, "a", NULL, NULL), "A");
    ck_assert_str_eq(lookup(map, "B", NULL, NULL), "B");
    ck_assert_str_eq(lookup(map, "c", NULL, NULL), "c");
    ck_assert_str_eq(lookup(map, "ABC", NULL, NULL), "ABC");
    ck_assert_str_eq(lookup(map, "ab", NULL, NULL), "dd");
    ck_assert_str_eq(lookup(map, "abcd", NULL, NULL), "dd");
    ck_assert_str_eq(lookup(map, "", NULL, NULL), "empty");
    ck_assert_str_eq(lookup(map, "default", NULL, NULL), "literal");
    /* Without `hostnames` a '*' key is an exact one. */
    ck_assert_str_eq(lookup(map, "*.x.com", NULL, NULL), "star");
    ck_assert_str_eq(lookup(map, "a.x.com", NULL, NULL), "dd");
    ck_assert_int_eq(fc_map_volatile(map), 1);
}
END_TEST

/* Many keys: the sorted table finds each one. */
START_TEST(test_many)
{
    char *body = fc_pnalloc(pool, 64 * 1000);
    body[0] = '\0';
    for (int i = 0; i < 1000; i++)
        sprintf(body + strlen(body), "Key%d v%d\n", (i * 7919) % 1000, (i * 7919) % 1000);
    fc_map_t *map = build(body);
    ck_assert_msg(map != NULL, "%s", logged());
    for (int i = 0; i < 1000; i++) {
        char k[16], v[16];
        sprintf(k, "kEy%d", i);
        sprintf(v, "v%d", i);
        ck_assert_str_eq(lookup(map, k, NULL, NULL), v);
    }
    ck_assert_str_eq(lookup(map, "key1000", NULL, NULL), ""); /* no default: "" */
}
END_TEST

START_TEST(test_regex)
{
    fc_map_t *map = build("~^/a/(\\d+)$ first\n~*^/A/ second\n~^/a/ third\nexact/a/1 e\n"
                          "~ any\n");
    ck_assert_msg(map != NULL, "%s", logged());
    fc_captures_t caps;
    memset(&caps, 0, sizeof(caps));
    int regex = 0;
    ck_assert_str_eq(lookup(map, "/a/42", &caps, &regex), "first"); /* in the order written */
    ck_assert_int_eq(regex, 1);
    fc_str_t c1 = fc_captures_get(&caps, 1);
    ck_assert(c1.len == 2 && memcmp(c1.data, "42", 2) == 0);
    ck_assert_str_eq(lookup(map, "/A/x", &caps, NULL), "second"); /* ~* is caseless */
    ck_assert_str_eq(lookup(map, "/a/x", &caps, NULL), "second");
    ck_assert_str_eq(lookup(map, "EXACT/A/1", &caps, &regex), "e"); /* exact keys first */
    ck_assert_int_eq(regex, 0);
    ck_assert_str_eq(lookup(map, "zzz", &caps, &regex), "any"); /* "~" alone: any string */
    ck_assert_int_eq(regex, 1);
}
END_TEST

/* ---- errors ----------------------------------------------------------------------- */

static const struct {
    const char *body;
    const char *err;
} bad_cases[] = {
    {"a 1\nb 2\nA 3", "fulcrum: [emerg] conflicting parameter \"A\" in map.conf:4\n"},
    {"hostnames\n.x.com 1\nx.com 2", "fulcrum: [emerg] conflicting parameter \"x.com\" in "
                                     "map.conf:4\n"},
    {"hostnames\n*.x.com 1\n.x.com 2", "fulcrum: [emerg] conflicting parameter \".x.com\" in "
                                       "map.conf:4\n"},
    {"hostnames\nw.*.com 1", "fulcrum: [emerg] invalid hostname or wildcard \"w.*.com\" in "
                             "map.conf:3\n"},
    {"hostnames\n* 1", "fulcrum: [emerg] invalid hostname or wildcard \"*\" in map.conf:3\n"},
    {"default 1\ndefault 2", "fulcrum: [emerg] duplicate default map parameter in map.conf:3\n"},
    {"a b c", "fulcrum: [emerg] invalid number of the map parameters in map.conf:2\n"},
    {"justone", "fulcrum: [emerg] invalid number of the map parameters in map.conf:2\n"},
    {"a ${x", "fulcrum: [emerg] invalid variable name in \"${x\" in map.conf:2\n"},
};

START_TEST(test_errors)
{
    ck_assert_ptr_null(build(bad_cases[_i].body));
    ck_assert_str_eq(logged(), bad_cases[_i].err);
}
END_TEST

START_TEST(test_bad_regex)
{
    ck_assert_ptr_null(build("~^(a 1"));
    const char *err = logged();
    ck_assert_msg(strstr(err, "pcre2_compile() failed: ") && strstr(err, "in map.conf:2\n"), "%s",
                  err);
}
END_TEST

static Suite *
map_suite(void)
{
    const fc_unit_case_t cases[] = {
        {"hostnames", test_hostnames, (int) fc_nelems(host_cases)},
        {"exact", test_exact, 1},
        {"many", test_many, 1},
        {"regex", test_regex, 1},
        {"errors", test_errors, (int) fc_nelems(bad_cases)},
        {"bad_regex", test_bad_regex, 1},
    };
    return fc_unit_suite("map", cases, fc_nelems(cases), setup, teardown);
}

int
main(void)
{
    return fc_unit_run(map_suite());
}
