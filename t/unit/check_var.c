/*
 * check_var.c: variables and complex values (src/core/var.c) with the
 * regex captures they use (src/core/regex.c). A small registry of test
 * getters stands in for a layer's variables: compile, resolve, evaluate,
 * caching and no-cacheable variables, prefix variables, $1..$9 captures,
 * and the errors reported with file:line.
 */
#include <check.h>

#include "unit_cf.h"

#include "core/fc_core.h"
#include "core/conf.h"
#include "core/var.h"

/* The "session" the getters read. */
typedef struct {
    int calls_a;     /* how often $a was computed */
    int counter;     /* $counter: a new value each time */
    fc_pool_t *pool; /* where values are made, as a session's pool */
} sess_t;

static int
get_const(void *r, fc_var_value_t *v, uintptr_t data)
{
    const char *s = (const char *) data;
    if (strcmp(s, "AAA") == 0)
        ((sess_t *) r)->calls_a++;
    fc_var_set_str(v, (const unsigned char *) s, strlen(s));
    return FC_OK;
}

static int
get_counter(void *r, fc_var_value_t *v, uintptr_t data)
{
    sess_t *s = r;
    (void) data;
    char *buf = fc_pnalloc(s->pool, 16);
    if (buf == NULL)
        return FC_ERROR;
    int n = snprintf(buf, 16, "%d", ++s->counter);
    fc_var_set_str(v, (unsigned char *) buf, (size_t) n);
    return FC_OK;
}

static int
get_not_found(void *r, fc_var_value_t *v, uintptr_t data)
{
    (void) r;
    (void) data;
    v->not_found = 1;
    return FC_OK;
}

static int
get_error(void *r, fc_var_value_t *v, uintptr_t data)
{
    (void) r;
    (void) data;
    fc_var_set_str(v, (const unsigned char *) "junk", 4); /* ignored: the getter failed */
    return FC_ERROR;
}

/* $arg_NAME: the rest of the name, upper-cased. */
static int
get_prefix(void *r, fc_var_value_t *v, uintptr_t data)
{
    const fc_str_t *rest = (const fc_str_t *) data;
    sess_t *s = r;
    unsigned char *buf = fc_pnalloc(s->pool, rest->len + 1);
    if (buf == NULL)
        return FC_ERROR;
    for (size_t i = 0; i < rest->len; i++) {
        unsigned char c = rest->data[i];
        buf[i] = (c >= 'a' && c <= 'z') ? (unsigned char) (c - 32) : c;
    }
    fc_var_set_str(v, buf, rest->len);
    return FC_OK;
}

static const fc_var_def_t test_vars[] = {
    {"a", get_const, (uintptr_t) "AAA", 0},
    {"b", get_const, (uintptr_t) "bee", 0},
    {"Long_Name_9", get_const, (uintptr_t) "long", 0},
    {"counter", get_counter, 0, FC_VAR_NOCACHEABLE},
    {"nothing", get_not_found, 0, 0},
    {"broken", get_error, 0, 0},
    {"arg_", get_prefix, 0, FC_VAR_PREFIX | FC_VAR_NOCACHEABLE},
    {NULL, NULL, 0, 0},
};

static sess_t sess;

static void
setup(void)
{
    fc_unit_cf_setup("test.conf", 12);
    ck_assert_int_eq(fc_var_define_table(&reg, test_vars), FC_OK);
    memset(&sess, 0, sizeof(sess));
    sess.pool = pool;
}

static void
teardown(void)
{
    fc_unit_cf_teardown();
}

static fc_var_value_t *
new_values(void)
{
    size_t n = fc_var_count(&reg);
    return fc_pcalloc(pool, (n ? n : 1) * sizeof(fc_var_value_t));
}

static void
compile(const char *text, fc_cv_t *cv)
{
    fc_str_t t = {strlen(text), (unsigned char *) text};
    ck_assert_msg(fc_cv_compile(&cf, &reg, &t, cv) == FC_OK, "compile \"%s\": %s", text, logged());
}

/* ---- complex values ---------------------------------------------------------- */

static const struct {
    const char *text;
    const char *want;
    int has_vars;
} cv_cases[] = {
    {"", "", 0},
    {"plain text", "plain text", 0},
    {"$", "$", 0},
    {"cost: 5$", "cost: 5$", 0},
    {"$a", "AAA", 1},
    {"${a}", "AAA", 1},
    {"${a}b", "AAAb", 1},
    {"$a-$b", "AAA-bee", 1},
    {"$a.$b.", "AAA.bee.", 1},
    {"x${b}y$a", "xbeeyAAA", 1},
    {"$a$b$a", "AAAbeeAAA", 1},
    {"$A ${B}", "AAA bee", 1}, /* names are case-insensitive */
    {"[$Long_Name_9]", "[long]", 1},
    {"$a$", "AAA$", 1},
    {"${a}${b}", "AAAbee", 1},
    {"$nothing|$broken|", "||", 1},
    {"$arg_foo/$arg_x1", "FOO/X1", 1},
    {"[$arg_]", "[]", 1}, /* a prefix variable with nothing after the prefix */
    {"{$a}", "{AAA}", 1},
    {"${a}}", "AAA}", 1},
};

START_TEST(test_cv)
{
    fc_cv_t cv;
    compile(cv_cases[_i].text, &cv);
    ck_assert_int_eq(cv.has_vars, cv_cases[_i].has_vars);
    ck_assert_int_eq(fc_var_resolve(&reg, &log_), FC_OK);
    fc_str_t out;
    ck_assert_int_eq(fc_cv_eval(&cv, &reg, new_values(), &sess, pool, NULL, &out), FC_OK);
    ck_assert_msg(out.len == strlen(cv_cases[_i].want) &&
                      memcmp(out.data, cv_cases[_i].want, out.len) == 0,
                  "\"%s\" gave \"%.*s\", want \"%s\"", cv_cases[_i].text, (int) out.len, out.data,
                  cv_cases[_i].want);
    if (!cv.has_vars)
        ck_assert_ptr_eq(out.data, cv.text.data); /* a literal is not copied */
    else
        ck_assert_int_eq(out.data[out.len], '\0');
    ck_assert_str_eq(logged(), "");
}
END_TEST

/* More parts than the evaluator's on-stack table. */
START_TEST(test_cv_many_parts)
{
    char text[512] = "", want[512] = "";
    for (int i = 0; i < 40; i++) {
        strcat(text, i % 2 ? "$b," : "${a}");
        strcat(want, i % 2 ? "bee," : "AAA");
    }
    fc_cv_t cv;
    compile(text, &cv);
    ck_assert_uint_ge(cv.nparts, 40);
    ck_assert_int_eq(fc_var_resolve(&reg, &log_), FC_OK);
    fc_str_t out;
    ck_assert_int_eq(fc_cv_eval(&cv, &reg, new_values(), &sess, pool, NULL, &out), FC_OK);
    ck_assert_str_eq((char *) out.data, want);
    ck_assert_int_eq(sess.calls_a, 1); /* 20 uses, one computation */
}
END_TEST

static const struct {
    const char *text;
    const char *err;
} cv_bad_cases[] = {
    {"${a", "fulcrum: [emerg] invalid variable name in \"${a\" in test.conf:12\n"},
    {"x ${a b}", "fulcrum: [emerg] invalid variable name in \"${a b}\" in test.conf:12\n"},
    {"${}", "fulcrum: [emerg] invalid variable name in \"${}\" in test.conf:12\n"},
    {"$-x", "fulcrum: [emerg] invalid variable name in \"$-x\" in test.conf:12\n"},
    {"a $ b", "fulcrum: [emerg] invalid variable name in \"$ b\" in test.conf:12\n"},
};

START_TEST(test_cv_invalid)
{
    fc_cv_t cv;
    fc_str_t t = {strlen(cv_bad_cases[_i].text), (unsigned char *) cv_bad_cases[_i].text};
    ck_assert_int_eq(fc_cv_compile(&cf, &reg, &t, &cv), FC_ERROR);
    ck_assert_str_eq(logged(), cv_bad_cases[_i].err);
    ck_assert_uint_eq(cf.errors, 1);
}
END_TEST

/* ---- resolving ------------------------------------------------------------------ */

START_TEST(test_unknown_variable)
{
    fc_cv_t cv1, cv2, cv3;
    compile("$a", &cv1);
    cf.dir_file = "other.conf";
    cf.dir_line = 3;
    compile("x$nope", &cv2);
    cf.dir_line = 7;
    compile("$NOPE $also_unknown $b", &cv3); /* the first use is where it is reported */
    ck_assert_str_eq(logged(), "");
    ck_assert_int_eq(fc_var_resolve(&reg, &log_), FC_ERROR);
    ck_assert_str_eq(logged(), "fulcrum: [emerg] unknown \"nope\" variable in other.conf:3\n"
                               "fulcrum: [emerg] unknown \"also_unknown\" variable in "
                               "other.conf:7\n");
}
END_TEST

/* A variable may be used before its definition (a map further down). */
START_TEST(test_define_after_use)
{
    fc_cv_t cv;
    compile("<$later>", &cv);
    fc_str_t name = fc_string("later");
    fc_var_t *v = fc_var_define(&reg, &name, FC_VAR_CHANGEABLE);
    ck_assert_ptr_nonnull(v);
    v->get = get_const;
    v->data = (uintptr_t) "L";
    ck_assert_int_eq(fc_var_resolve(&reg, &log_), FC_OK);
    fc_str_t out;
    ck_assert_int_eq(fc_cv_eval(&cv, &reg, new_values(), &sess, pool, NULL, &out), FC_OK);
    ck_assert_str_eq((char *) out.data, "<L>");
}
END_TEST

START_TEST(test_define_rules)
{
    fc_str_t a = fc_string("A"), x = fc_string("x"), x2 = fc_string("X");
    /* A builtin is fixed: no redefinition, changeable or not. */
    ck_assert_ptr_null(fc_var_define(&reg, &a, 0));
    ck_assert_ptr_null(fc_var_define(&reg, &a, FC_VAR_CHANGEABLE));
    /* A changeable one (set, map) may be defined again and is the same variable. */
    fc_var_t *v1 = fc_var_define(&reg, &x, FC_VAR_CHANGEABLE);
    ck_assert_ptr_nonnull(v1);
    fc_var_t *v2 = fc_var_define(&reg, &x2, FC_VAR_CHANGEABLE);
    ck_assert_ptr_eq(v1, v2);
    ck_assert_ptr_null(fc_var_define(&reg, &x, 0));
    /* The same name used twice gets one index. */
    int64_t i1 = fc_var_index(&reg, &cf, &x), i2 = fc_var_index(&reg, &cf, &x2);
    ck_assert_int_ge(i1, 0);
    ck_assert_int_eq(i1, i2);
    ck_assert_int_ne(fc_var_index(&reg, &cf, &a), i1);
    ck_assert_uint_eq(fc_var_count(&reg), 2);
    /* A duplicate in a table fails the table. */
    static const fc_var_def_t dup[] = {{"b", get_const, (uintptr_t) "x", 0}, {NULL, NULL, 0, 0}};
    ck_assert_int_eq(fc_var_define_table(&reg, dup), FC_ERROR);
}
END_TEST

/* ---- caching ------------------------------------------------------------------- */

START_TEST(test_cacheable)
{
    fc_cv_t cv;
    compile("$a/$a", &cv);
    ck_assert_int_eq(fc_var_resolve(&reg, &log_), FC_OK);
    fc_var_value_t *values = new_values();
    fc_str_t out;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(fc_cv_eval(&cv, &reg, values, &sess, pool, NULL, &out), FC_OK);
        ck_assert_str_eq((char *) out.data, "AAA/AAA");
    }
    ck_assert_int_eq(sess.calls_a, 1); /* cached in values for the session */
    /* A new session (fresh values) computes it again. */
    ck_assert_int_eq(fc_cv_eval(&cv, &reg, new_values(), &sess, pool, NULL, &out), FC_OK);
    ck_assert_int_eq(sess.calls_a, 2);
}
END_TEST

START_TEST(test_no_cacheable)
{
    fc_cv_t cv;
    compile("$counter,$counter", &cv);
    ck_assert_int_eq(fc_var_resolve(&reg, &log_), FC_OK);
    fc_var_value_t *values = new_values();
    fc_str_t out;
    ck_assert_int_eq(fc_cv_eval(&cv, &reg, values, &sess, pool, NULL, &out), FC_OK);
    ck_assert_str_eq((char *) out.data, "1,2");
    ck_assert_int_eq(fc_cv_eval(&cv, &reg, values, &sess, pool, NULL, &out), FC_OK);
    ck_assert_str_eq((char *) out.data, "3,4");
    /* Through fc_var_get directly. */
    int64_t i = fc_var_index(&reg, &cf, &(fc_str_t) fc_string("counter"));
    ck_assert_int_ge(i, 0);
    fc_var_value_t *v = fc_var_get(&reg, values, &sess, (size_t) i);
    ck_assert(v->valid && v->no_cacheable && !v->not_found);
    ck_assert_int_eq(sess.counter, 5);
    fc_var_get(&reg, values, &sess, (size_t) i);
    ck_assert_int_eq(sess.counter, 6);
}
END_TEST

/* A getter that fails or finds nothing gives an empty, not_found value. */
START_TEST(test_not_found)
{
    fc_cv_t cv;
    compile("$nothing$broken", &cv);
    ck_assert_int_eq(fc_var_resolve(&reg, &log_), FC_OK);
    fc_var_value_t *values = new_values();
    for (size_t i = 0; i < fc_var_count(&reg); i++) {
        fc_var_value_t *v = fc_var_get(&reg, values, &sess, i);
        ck_assert(v->valid);
        ck_assert(v->not_found);
        ck_assert_uint_eq(v->len, 0);
        ck_assert_ptr_nonnull(v->data);
    }
}
END_TEST

/* ---- captures ------------------------------------------------------------------ */

static fc_regex_t *
regex(const char *pattern, int caseless)
{
    char err[256] = "";
    fc_str_t p = {strlen(pattern), (unsigned char *) pattern};
    fc_regex_t *re = fc_regex_compile(pool, &p, caseless, err, sizeof(err));
    ck_assert_msg(re != NULL, "%s", err);
    return re;
}

static const struct {
    const char *pattern;
    int caseless;
    const char *subject;
    int rc;
    const char *text; /* complex value evaluated with the captures */
    const char *want;
} capture_cases[] = {
    {"^/(\\w+)/(\\d+)$", 0, "/user/42", FC_OK, "$1-$2", "user-42"},
    {"^/(\\w+)/(\\d+)$", 0, "/user/42", FC_OK, "[$3][$9]", "[][]"}, /* beyond the groups */
    {"^(a)(b)?(c)$", 0, "ac", FC_OK, "$1|$2|$3", "a||c"},           /* unset group */
    {"^(.)(.)(.)(.)(.)(.)(.)(.)(.)(.)$", 0, "0123456789", FC_OK, "$9$1$5", "804"},
    {"(\\d+)", 0, "port 8080 and 90", FC_OK, "$a:$1", "AAA:8080"},
    {"^HOST$", 1, "host", FC_OK, "ok", "ok"},
    {"^HOST$", 0, "host", FC_DECLINED, NULL, NULL},
    {"^x", 0, "", FC_DECLINED, NULL, NULL},
};

START_TEST(test_captures)
{
    fc_regex_t *re = regex(capture_cases[_i].pattern, capture_cases[_i].caseless);
    fc_str_t subject = {strlen(capture_cases[_i].subject),
                        (unsigned char *) capture_cases[_i].subject};
    fc_captures_t caps;
    memset(&caps, 0, sizeof(caps));
    int rc = fc_regex_exec(re, &subject, &caps);
    ck_assert_int_eq(rc, capture_cases[_i].rc);
    if (rc != FC_OK)
        return;
    fc_str_t whole = fc_captures_get(&caps, 0);
    ck_assert(whole.len <= subject.len);
    fc_cv_t cv;
    compile(capture_cases[_i].text, &cv);
    ck_assert_int_eq(fc_var_resolve(&reg, &log_), FC_OK);
    fc_str_t out;
    ck_assert_int_eq(fc_cv_eval(&cv, &reg, new_values(), &sess, pool, &caps, &out), FC_OK);
    ck_assert_msg(out.len == strlen(capture_cases[_i].want) &&
                      memcmp(out.data, capture_cases[_i].want, out.len) == 0,
                  "gave \"%.*s\", want \"%s\"", (int) out.len, out.data, capture_cases[_i].want);
}
END_TEST

START_TEST(test_regex_misc)
{
    fc_regex_t *re = regex("^(a)(?:b)(c)(d)?", 0);
    ck_assert_int_eq(fc_regex_captures(re), 3);
    /* Without captures wanted, exec only answers match or not. */
    fc_str_t s = fc_string("abc");
    ck_assert_int_eq(fc_regex_exec(re, &s, NULL), FC_OK);
    /* $1 with no match data at all is empty. */
    fc_cv_t cv;
    compile("<$1>", &cv);
    fc_str_t out;
    ck_assert_int_eq(fc_cv_eval(&cv, &reg, new_values(), &sess, pool, NULL, &out), FC_OK);
    ck_assert_str_eq((char *) out.data, "<>");
    /* The subject is not copied: captures point into it. */
    fc_captures_t caps;
    ck_assert_int_eq(fc_regex_exec(re, &s, &caps), FC_OK);
    fc_str_t c2 = fc_captures_get(&caps, 2);
    ck_assert_ptr_eq(c2.data, s.data + 2);
    ck_assert_uint_eq(c2.len, 1);
    /* A bad pattern is reported with where it went wrong. */
    char err[256] = "";
    fc_str_t bad = fc_string("^(ab");
    ck_assert_ptr_null(fc_regex_compile(pool, &bad, 0, err, sizeof(err)));
    ck_assert_msg(strncmp(err, "pcre2_compile() failed: ", 24) == 0 && strstr(err, "\"^(ab\""),
                  "%s", err);
    /* As nginx: an error at the pattern's end names no rest ("at"); one inside does. */
    ck_assert_msg(strstr(err, " at ") == NULL, "%s", err);
    fc_str_t mid = fc_string("a)b");
    ck_assert_ptr_null(fc_regex_compile(pool, &mid, 0, err, sizeof(err)));
    ck_assert_msg(strstr(err, "in \"a)b\" at \")b\""), "%s", err);
}
END_TEST

static Suite *
var_suite(void)
{
    const fc_unit_case_t cases[] = {
        {"cv", test_cv, (int) fc_nelems(cv_cases)},
        {"cv_many_parts", test_cv_many_parts, 1},
        {"cv_invalid", test_cv_invalid, (int) fc_nelems(cv_bad_cases)},
        {"unknown", test_unknown_variable, 1},
        {"define_after_use", test_define_after_use, 1},
        {"define_rules", test_define_rules, 1},
        {"cacheable", test_cacheable, 1},
        {"no_cacheable", test_no_cacheable, 1},
        {"not_found", test_not_found, 1},
        {"captures", test_captures, (int) fc_nelems(capture_cases)},
        {"regex_misc", test_regex_misc, 1},
    };
    return fc_unit_suite("var", cases, fc_nelems(cases), setup, teardown);
}

int
main(void)
{
    return fc_unit_run(var_suite());
}
