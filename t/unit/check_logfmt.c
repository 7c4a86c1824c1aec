/*
 * check_logfmt.c: the access-log engine (src/core/logfmt.c) without a
 * layer: escaping as nginx does it (default \xHH, json, none), lines built
 * from formats ("-" for a variable not found, "" with json), log_format
 * argument handling and its errors.
 */
#include <check.h>

#include "unit_cf.h"

#include "core/fc_core.h"
#include "core/conf.h"
#include "core/logfmt.h"

static fc_logfmt_main_t lmain;
static fc_array_t args;

static int
get_const(void *r, fc_var_value_t *v, uintptr_t data)
{
    (void) r;
    const char *s = (const char *) data;
    fc_var_set_str(v, (const unsigned char *) s, strlen(s));
    return FC_OK;
}

static int
get_missing(void *r, fc_var_value_t *v, uintptr_t data)
{
    (void) r;
    (void) data;
    v->not_found = 1;
    return FC_OK;
}

static const fc_var_def_t test_vars[] = {
    {"q", get_const, (uintptr_t) "a\"b\\c\t\x01\x7f\xc3\xa9", 0},
    {"plain", get_const, (uintptr_t) "xyz", 0},
    {"empty", get_const, (uintptr_t) "", 0},
    {"missing", get_missing, 0, 0},
    {NULL, NULL, 0, 0},
};

static void
setup(void)
{
    fc_unit_cf_setup("log.conf", 5);
    ck_assert_int_eq(fc_var_define_table(&reg, test_vars), FC_OK);
    ck_assert_int_eq(fc_array_init(&args, pool, 8, sizeof(fc_str_t)), FC_OK);
    cf.args = &args;
    ck_assert_int_eq(fc_logfmt_main_init(&lmain, pool), FC_OK);
}

static void
teardown(void)
{
    fc_unit_cf_teardown();
}

/* Runs `log_format` with the given words (after the directive's name). */
static char *
log_format(const char *const *words)
{
    args.nelts = 0;
    fc_str_t *a = fc_array_push(&args);
    *a = (fc_str_t) fc_string("log_format");
    for (; *words; words++) {
        a = fc_array_push(&args);
        a->data = (unsigned char *) *words;
        a->len = strlen(*words);
    }
    return fc_logfmt_format_directive(&cf, &lmain, &reg);
}

/* The line the last defined format gives (without its "\n"). */
static const char *
line_of_last(void)
{
    ck_assert_int_eq(fc_var_resolve(&reg, &log_), FC_OK);
    fc_var_value_t *values = fc_pcalloc(pool, (fc_var_count(&reg) + 1) * sizeof(fc_var_value_t));
    fc_logfmt_ctx_t ctx = {&reg, values, NULL, pool, NULL, NULL};
    const fc_logfmt_t *fmt = (const fc_logfmt_t *) lmain.formats.elts + lmain.formats.nelts - 1;
    fc_str_t line;
    ck_assert_int_eq(fc_logfmt_line(fmt, &ctx, &line), FC_OK);
    ck_assert(line.len > 0 && line.data[line.len - 1] == '\n');
    char *s = fc_pnalloc(pool, line.len);
    memcpy(s, line.data, line.len - 1);
    s[line.len - 1] = '\0';
    return s;
}

static const struct {
    const char *words[5];
    const char *want;
} line_cases[] = {
    {{"f", "$q", NULL}, "a\\x22b\\x5Cc\\x09\\x01\\x7F\\xC3\\xA9"},
    {{"f", "escape=default", "[$q]", NULL}, "[a\\x22b\\x5Cc\\x09\\x01\\x7F\\xC3\\xA9]"},
    {{"f", "escape=json", "$q", NULL}, "a\\\"b\\\\c\\t\\u0001\x7f\xc3\xa9"},
    {{"f", "escape=none", "$q", NULL}, "a\"b\\c\t\x01\x7f\xc3\xa9"},
    {{"f", "$plain|$empty|$missing", NULL}, "xyz||-"},
    {{"f", "escape=json", "$plain|$empty|$missing", NULL}, "xyz||"},
    {{"f", "escape=none", "$missing", NULL}, ""},
    {{"f", "a \"lit\" ", "$plain", " b", NULL}, "a \"lit\" xyz b"}, /* strings are joined */
    {{"f", "no variables", NULL}, "no variables"},
    {{"f", "escape=json", NULL}, ""},
};

START_TEST(test_lines)
{
    ck_assert_ptr_null(log_format(line_cases[_i].words));
    ck_assert_str_eq(logged(), "");
    ck_assert_str_eq(line_of_last(), line_cases[_i].want);
}
END_TEST

START_TEST(test_json_controls)
{
    unsigned char src[32], dst[32 * 6];
    for (int i = 0; i < 32; i++)
        src[i] = (unsigned char) i;
    size_t n = fc_logfmt_escape(FC_LOGFMT_ESCAPE_JSON, src, 32, dst);
    const char *want = "\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b"
                       "\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016"
                       "\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f";
    ck_assert_uint_eq(n, strlen(want));
    ck_assert(memcmp(dst, want, n) == 0);
    /* The worst case fits in 6 bytes per byte. */
    memset(src, 0x01, sizeof(src));
    ck_assert_uint_eq(fc_logfmt_escape(FC_LOGFMT_ESCAPE_JSON, src, 32, dst), 32 * 6);
}
END_TEST

static const struct {
    const char *words[4];
    const char *err;
} bad_cases[] = {
    {{"f", "escape=xml", "$plain", NULL},
     "fulcrum: [emerg] unknown log format escaping \"xml\" in log.conf:5\n"},
    {{"f", "${plain", NULL},
     "fulcrum: [emerg] invalid variable name in \"${plain\" in log.conf:5\n"},
};

START_TEST(test_bad_formats)
{
    ck_assert_ptr_eq(log_format(bad_cases[_i].words), FC_CONF_ERROR);
    ck_assert_str_eq(logged(), bad_cases[_i].err);
}
END_TEST

START_TEST(test_duplicate)
{
    const char *const a[] = {"same", "a", NULL}, *const b[] = {"same", "b", NULL};
    fc_str_t name = fc_string("combined"), text = fc_string("$plain");
    ck_assert_ptr_nonnull(
        fc_logfmt_define(&cf, &lmain, &reg, &name, FC_LOGFMT_ESCAPE_DEFAULT, &text));
    ck_assert_ptr_null(log_format(a));
    ck_assert_ptr_eq(log_format(b), FC_CONF_ERROR);
    const char *const c[] = {"combined", "x", NULL};
    ck_assert_ptr_eq(log_format(c), FC_CONF_ERROR);
    ck_assert_str_eq(logged(), "fulcrum: [emerg] duplicate \"log_format\" name \"same\" in "
                               "log.conf:5\n"
                               "fulcrum: [emerg] duplicate \"log_format\" name \"combined\" in "
                               "log.conf:5\n");
}
END_TEST

static Suite *
logfmt_suite(void)
{
    const fc_unit_case_t cases[] = {
        {"lines", test_lines, (int) fc_nelems(line_cases)},
        {"json_controls", test_json_controls, 1},
        {"bad_formats", test_bad_formats, (int) fc_nelems(bad_cases)},
        {"duplicate", test_duplicate, 1},
    };
    return fc_unit_suite("logfmt", cases, fc_nelems(cases), setup, teardown);
}

int
main(void)
{
    return fc_unit_run(logfmt_suite());
}
