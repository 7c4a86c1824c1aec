/*
 * check_http_not_modified.c: the not-modified filter's decisions
 * (src/http/not_modified.c) as nginx 1.22 makes them: entity-tag lists
 * (strong for If-Match, weak for If-None-Match, "*", spaces, garbage after
 * a tag), the order and outcome of If-Unmodified-Since, If-Match,
 * If-Modified-Since (off, exact, before) and If-None-Match (200, 304 or
 * 412), and the `if_modified_since` directive as `fulcrum -t` reads it.
 */
#include <check.h>

#include "unit_cycle.h"
#include "http/range.h"

static void
setup(void)
{
    fc_unit_cycle_setup("/tmp/fc-check-nm-XXXXXX", 1);
}

static void
teardown(void)
{
    fc_unit_cycle_teardown();
}

static fc_str_t
str(const char *s)
{
    fc_str_t v = {s ? strlen(s) : 0, (unsigned char *) s};
    return v;
}

/* ---- entity-tag lists ------------------------------------------------------------------ */

static const struct {
    const char *list, *etag; /* etag NULL: the response has none */
    int weak, match;
} etag_cases[] = {
    {"*", NULL, 0, 1}, /* "*" needs no tag */
    {"*", "\"a\"", 1, 1},
    {"\"a\"", "\"a\"", 0, 1},
    {"\"a\"", NULL, 0, 0},
    {"\"a\"", NULL, 1, 0},
    {"\"b\"", "\"a\"", 0, 0},
    {"\"b\", \"a\"", "\"a\"", 0, 1},
    {"\"b\",\"a\"", "\"a\"", 0, 1},
    {"\"b\" ,\t\"a\"", "\"a\"", 1, 1},
    {"\"a\" ,\"b\"", "\"a\"", 0, 1}, /* blanks before the comma */
    {"\"a\"x", "\"a\"", 0, 0},       /* more after the tag */
    {"\"a\"x, \"a\"", "\"a\"", 0, 1},
    {"\"ab\"", "\"a\"", 0, 0},
    {"\"a\"", "\"ab\"", 0, 0},
    {"\"a\", *", "\"b\"", 0, 0}, /* "*" only alone */
    {"", "\"a\"", 0, 0},
    {",,, \"a\"", "\"a\"", 0, 1}, /* empty list elements are skipped */
    {"\"x\", \"a\"", "\"a\"", 0, 1},
    /* weak comparison (If-None-Match): W/ ignored on both sides */
    {"W/\"a\"", "\"a\"", 1, 1},
    {"\"a\"", "W/\"a\"", 1, 1},
    {"W/\"a\"", "W/\"a\"", 1, 1},
    {"\"x\", W/\"a\"", "\"a\"", 1, 1},
    {"w/\"a\"", "\"a\"", 1, 0}, /* the prefix is case-sensitive */
    /* strong comparison (If-Match): the bytes */
    {"W/\"a\"", "\"a\"", 0, 0},
    {"\"a\"", "W/\"a\"", 0, 0},
    {"W/\"a\"", "W/\"a\"", 0, 1},
};

START_TEST(etag_match)
{
    fc_str_t list = str(etag_cases[_i].list), etag = str(etag_cases[_i].etag);
    int got = fc_http_etag_match(&list, etag_cases[_i].etag ? &etag : NULL, etag_cases[_i].weak);
    ck_assert_msg(got == etag_cases[_i].match, "list [%s] etag [%s] weak %d: %d",
                  etag_cases[_i].list, etag_cases[_i].etag ? etag_cases[_i].etag : "(none)",
                  etag_cases[_i].weak, got);
}
END_TEST

/* ---- the decision ------------------------------------------------------------------------ */

#define LM 1445412480 /* Wed, 21 Oct 2015 07:28:00 GMT */
#define D_LM "Wed, 21 Oct 2015 07:28:00 GMT"
#define D_OLDER "Wed, 21 Oct 2015 07:27:00 GMT"
#define D_NEWER "Wed, 21 Oct 2015 07:29:00 GMT"
#define TAG "\"abc\""

static const struct {
    const char *ius, *im, *ims, *inm; /* the request's fields, NULL: absent */
    const char *etag;                 /* the response's */
    time_t lm;
    int mode;
    unsigned status;
} cond_cases[] = {
    {NULL, NULL, NULL, NULL, TAG, LM, FC_HTTP_IMS_EXACT, 200},
    /* If-None-Match */
    {NULL, NULL, NULL, TAG, TAG, LM, FC_HTTP_IMS_EXACT, 304},
    {NULL, NULL, NULL, "\"x\"", TAG, LM, FC_HTTP_IMS_EXACT, 200},
    {NULL, NULL, NULL, "*", NULL, LM, FC_HTTP_IMS_EXACT, 304},
    {NULL, NULL, NULL, TAG, NULL, LM, FC_HTTP_IMS_EXACT, 200},
    {NULL, NULL, NULL, "W/" TAG, TAG, LM, FC_HTTP_IMS_OFF, 304}, /* off is about dates only */
    /* If-Modified-Since */
    {NULL, NULL, D_LM, NULL, TAG, LM, FC_HTTP_IMS_EXACT, 304},
    {NULL, NULL, D_NEWER, NULL, TAG, LM, FC_HTTP_IMS_EXACT, 200},
    {NULL, NULL, D_NEWER, NULL, TAG, LM, FC_HTTP_IMS_BEFORE, 304},
    {NULL, NULL, D_OLDER, NULL, TAG, LM, FC_HTTP_IMS_BEFORE, 200},
    {NULL, NULL, D_OLDER, NULL, TAG, LM, FC_HTTP_IMS_EXACT, 200},
    {NULL, NULL, D_LM, NULL, TAG, LM, FC_HTTP_IMS_OFF, 200},
    {NULL, NULL, D_LM, NULL, TAG, -1, FC_HTTP_IMS_EXACT, 200}, /* no Last-Modified */
    {NULL, NULL, "garbage", NULL, TAG, LM, FC_HTTP_IMS_BEFORE, 200},
    {NULL, NULL, "Wednesday, 21-Oct-15 07:28:00 GMT", NULL, TAG, LM, FC_HTTP_IMS_EXACT, 304},
    /* both: each must say "not modified" */
    {NULL, NULL, D_LM, TAG, TAG, LM, FC_HTTP_IMS_EXACT, 304},
    {NULL, NULL, D_LM, "\"x\"", TAG, LM, FC_HTTP_IMS_EXACT, 200},
    {NULL, NULL, D_OLDER, TAG, TAG, LM, FC_HTTP_IMS_EXACT, 200},
    /* If-Unmodified-Since */
    {D_LM, NULL, NULL, NULL, TAG, LM, FC_HTTP_IMS_EXACT, 200},
    {D_NEWER, NULL, NULL, NULL, TAG, LM, FC_HTTP_IMS_EXACT, 200},
    {D_OLDER, NULL, NULL, NULL, TAG, LM, FC_HTTP_IMS_EXACT, 412},
    {D_LM, NULL, NULL, NULL, TAG, -1, FC_HTTP_IMS_EXACT, 412}, /* no date to compare */
    {"garbage", NULL, NULL, NULL, TAG, LM, FC_HTTP_IMS_EXACT, 412},
    {D_OLDER, NULL, NULL, NULL, TAG, LM, FC_HTTP_IMS_OFF, 412}, /* off is If-Modified-Since's */
    /* If-Match */
    {NULL, TAG, NULL, NULL, TAG, LM, FC_HTTP_IMS_EXACT, 200},
    {NULL, "\"x\"", NULL, NULL, TAG, LM, FC_HTTP_IMS_EXACT, 412},
    {NULL, "\"x\", " TAG, NULL, NULL, TAG, LM, FC_HTTP_IMS_EXACT, 200},
    {NULL, "*", NULL, NULL, NULL, LM, FC_HTTP_IMS_EXACT, 200},
    {NULL, TAG, NULL, NULL, NULL, LM, FC_HTTP_IMS_EXACT, 412},
    {NULL, "W/" TAG, NULL, NULL, "W/" TAG, LM, FC_HTTP_IMS_EXACT, 200},
    {NULL, TAG, NULL, NULL, "W/" TAG, LM, FC_HTTP_IMS_EXACT, 412},
    /* the order: a failed precondition wins */
    {D_LM, "\"x\"", NULL, NULL, TAG, LM, FC_HTTP_IMS_EXACT, 412},
    {D_OLDER, NULL, NULL, TAG, TAG, LM, FC_HTTP_IMS_EXACT, 412},
    {NULL, "\"x\"", D_LM, TAG, TAG, LM, FC_HTTP_IMS_EXACT, 412},
    {D_LM, TAG, D_LM, TAG, TAG, LM, FC_HTTP_IMS_EXACT, 304},
};

START_TEST(conditions)
{
    fc_str_t ius = str(cond_cases[_i].ius), im = str(cond_cases[_i].im),
             ims = str(cond_cases[_i].ims), inm = str(cond_cases[_i].inm),
             etag = str(cond_cases[_i].etag);
    fc_http_conditions_t c = {
        .if_unmodified_since = cond_cases[_i].ius ? &ius : NULL,
        .if_match = cond_cases[_i].im ? &im : NULL,
        .if_modified_since = cond_cases[_i].ims ? &ims : NULL,
        .if_none_match = cond_cases[_i].inm ? &inm : NULL,
        .etag = cond_cases[_i].etag ? &etag : NULL,
        .last_modified = cond_cases[_i].lm,
        .ims = cond_cases[_i].mode,
    };
    unsigned got = fc_http_conditions_eval(&c);
    ck_assert_msg(got == cond_cases[_i].status, "row %d: %u, want %u", _i, got,
                  cond_cases[_i].status);
}
END_TEST

/* ---- if_modified_since ---------------------------------------------------------------- */

static const struct {
    const char *http, *loc; /* directives at http level (line 2) and in a location (line 6) */
    const char *err;        /* NULL: accepted */
} directive_cases[] = {
    {"if_modified_since off;", "if_modified_since exact;", NULL},
    {"", "if_modified_since before;", NULL},
    {"if_modified_since before;", "", NULL},
    {"", "if_modified_since foo;",
     "invalid value \"foo\" in \"if_modified_since\" directive in @D@/fulcrum.conf:6\n"},
    {"", "if_modified_since Exact;",
     "invalid value \"Exact\" in \"if_modified_since\" directive in @D@/fulcrum.conf:6\n"},
    {"", "if_modified_since;",
     "invalid number of arguments in \"if_modified_since\" directive in @D@/fulcrum.conf:6\n"},
    {"", "if_modified_since off; if_modified_since off;",
     "\"if_modified_since\" directive is duplicate in @D@/fulcrum.conf:6\n"},
    {"", "if ($arg_a) { if_modified_since off; }",
     "\"if_modified_since\" directive is not allowed here in @D@/fulcrum.conf:6\n"},
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
        {"etag_match", etag_match, (int) fc_nelems(etag_cases)},
        {"conditions", conditions, (int) fc_nelems(cond_cases)},
        {"directive", directive, (int) fc_nelems(directive_cases)},
    };
    return fc_unit_run(
        fc_unit_suite("http_not_modified", cases, fc_nelems(cases), setup, teardown));
}
