/*
 * check_http_vars.c: the http variables that parse what the client sent
 * (src/http/vars.c), on a request built by hand: $arg_NAME, $cookie_NAME,
 * $http_NAME (joined fields), $remote_user, $is_args, $args, $request_body,
 * $status, $request_id. The expected values are what nginx gives.
 */
#include <check.h>

#include "unit_cf.h"

#include "http/http.h"

static fc_http_request_t req;
static fc_connection_t conn;

static void
setup(void)
{
    fc_unit_cf_setup("vars.conf", 1);
    ck_assert_int_eq(fc_http_variables_add(&reg), FC_OK);
    memset(&req, 0, sizeof(req));
    memset(&conn, 0, sizeof(conn));
    conn.number = 7;
    req.connection = &conn;
    req.pool = pool;
    ck_assert_int_eq(fc_array_init(&req.headers_in.headers, pool, 4, sizeof(fc_http_field_t)),
                     FC_OK);
    ck_assert_int_eq(fc_array_init(&req.headers_out.headers, pool, 4, sizeof(fc_http_field_t)),
                     FC_OK);
    req.headers_in.content_length_n = -1;
    req.headers_out.content_length_n = -1;
}

static void
teardown(void)
{
    fc_unit_cf_teardown();
}

static void
add_field(fc_array_t *a, const char *name, const char *value)
{
    fc_http_field_t *f = fc_array_push(a);
    ck_assert_ptr_nonnull(f);
    memset(f, 0, sizeof(*f));
    f->name.data = (unsigned char *) name;
    f->name.len = strlen(name);
    f->value.data = (unsigned char *) value;
    f->value.len = strlen(value);
    f->hash = fc_http_header_hash(f->name.data, f->name.len);
}

/* Evaluates text for the request; a variable not found shows as "<->". */
static const char *
eval(const char *text)
{
    fc_cv_t cv;
    fc_str_t t = {strlen(text), (unsigned char *) text};
    ck_assert_int_eq(fc_cv_compile(&cf, &reg, &t, &cv), FC_OK);
    ck_assert_int_eq(fc_var_resolve(&reg, &log_), FC_OK);
    req.variables = fc_pcalloc(pool, (fc_var_count(&reg) + 1) * sizeof(fc_var_value_t));
    ck_assert_ptr_nonnull(req.variables);
    char *out = fc_pnalloc(pool, 4096), *p = out;
    for (size_t i = 0; i < cv.nparts; i++) {
        const fc_cv_part_t *part = &cv.parts[i];
        if (part->type == 0) {
            p += sprintf(p, "%.*s", (int) part->lit.len, part->lit.data);
            continue;
        }
        fc_var_value_t *v = fc_var_get(&reg, req.variables, &req, part->index);
        p += v->not_found ? sprintf(p, "<->") : sprintf(p, "%.*s", (int) v->len, v->data);
    }
    *p = '\0';
    return out;
}

static void
set_args(const char *args)
{
    req.args.data = (unsigned char *) args;
    req.args.len = args ? strlen(args) : 0;
}

static const struct {
    const char *args;
    const char *want; /* $arg_a|$arg_B|$args|$is_args */
} arg_cases[] = {
    {"a=1&B=2&a=3", "1|2|a=1&B=2&a=3|?"},
    {"A=x&b=", "x||A=x&b=|?"}, /* names in any case; an empty value is found */
    {"xa=1&a=2&bb=3", "2|<->|xa=1&a=2&bb=3|?"},
    {"a&a=5&b", "5|<->|a&a=5&b|?"}, /* a name without '=' is not a value */
    {"a=%20+&b=c=d", "%20+|c=d|a=%20+&b=c=d|?"},
    {"", "<->|<->||"},
    {NULL, "<->|<->|<->|"}, /* no '?' at all: $args not found, $is_args empty */
};

START_TEST(test_args)
{
    set_args(arg_cases[_i].args);
    ck_assert_str_eq(eval("$arg_a|$arg_B|$args|$is_args"), arg_cases[_i].want);
}
END_TEST

static const struct {
    const char *cookie1;
    const char *cookie2; /* a second Cookie field, or NULL */
    const char *want;    /* $cookie_sess|$cookie_b */
} cookie_cases[] = {
    {"a=1; sess=abc; b=2", NULL, "abc|2"},
    {"SESS = x ;b=", NULL, "x |"}, /* any case; spaces around '='; the value runs to ';' */
    {"xsess=1; sessx=2; sess=3", NULL, "3|<->"},
    {"a=1", "sess=second; b=9", "second|9"},
    {"sess=first", "sess=second", "first|<->"},
    {"sess", NULL, "<->|<->"},
    {"a=1, sess=c", NULL, "c|<->"}, /* ',' separates as well */
};

START_TEST(test_cookies)
{
    add_field(&req.headers_in.headers, "Cookie", cookie_cases[_i].cookie1);
    if (cookie_cases[_i].cookie2)
        add_field(&req.headers_in.headers, "cookie", cookie_cases[_i].cookie2);
    ck_assert_str_eq(eval("$cookie_sess|$cookie_b"), cookie_cases[_i].want);
}
END_TEST

START_TEST(test_http_fields)
{
    add_field(&req.headers_in.headers, "X-Y", "1");
    add_field(&req.headers_in.headers, "Cookie", "a=1");
    add_field(&req.headers_in.headers, "x-y", "2");
    add_field(&req.headers_in.headers, "Cookie", "b=2");
    add_field(&req.headers_in.headers, "User-Agent", "ua/1");
    add_field(&req.headers_in.headers, "X_Y", "underscore"); /* ignored by the head parser: */
    ((fc_http_field_t *) req.headers_in.headers.elts)[5].hash = 0;
    ck_assert_str_eq(eval("$http_x_y|$HTTP_COOKIE|$http_user_agent|$http_none|$http_"),
                     "1, 2|a=1; b=2|ua/1|<->|<->");
    add_field(&req.headers_out.headers, "X-Out", "o1");
    add_field(&req.headers_out.headers, "X-Out", "o2");
    req.headers_out.content_type = (fc_str_t) fc_string("text/plain");
    req.headers_out.content_length_n = 12;
    req.chunked = 1;
    ck_assert_str_eq(eval("$sent_http_x_out|$sent_http_content_type|$sent_http_content_length|"
                          "$sent_http_transfer_encoding|$sent_http_connection|$sent_http_none"),
                     "o1, o2|text/plain|12|chunked|close|<->");
}
END_TEST

static const struct {
    const char *authorization; /* NULL: no field */
    const char *want;
} user_cases[] = {
    {"Basic dXNlcjpwYXNz", "user"}, {"basic  dXNlcjpwYXNz", "user"}, {"Basic dTpw", "u"},
    {"Basic OnBhc3M=", "<->"}, /* ":pass": no user */
    {"Basic dXNlcg==", "<->"}, /* "user" without ':' */
    {"Basic !!!", "<->"},           {"Bearer dXNlcjpwYXNz", "<->"},  {NULL, "<->"},
};

START_TEST(test_remote_user)
{
    if (user_cases[_i].authorization)
        add_field(&req.headers_in.headers, "Authorization", user_cases[_i].authorization);
    ck_assert_str_eq(eval("$remote_user"), user_cases[_i].want);
}
END_TEST

START_TEST(test_request_body)
{
    ck_assert_str_eq(eval("[$request_body]"), "[<->]");
    fc_http_request_body_t rb;
    memset(&rb, 0, sizeof(rb));
    req.request_body = &rb;
    ck_assert_str_eq(eval("[$request_body]"), "[<->]");
    rb.bufs = fc_chain_str(pool, (const unsigned char *) "hello ", 6);
    ck_assert_str_eq(eval("[$request_body]"), "[hello ]");
    rb.bufs->next = fc_chain_str(pool, (const unsigned char *) "world", 5);
    ck_assert_str_eq(eval("[$request_body]"), "[hello world]");
    rb.in_file = 1; /* spilled to a temp file: nginx gives nothing */
    ck_assert_str_eq(eval("[$request_body]"), "[<->]");
}
END_TEST

START_TEST(test_status_and_id)
{
    ck_assert_str_eq(eval("$status"), "000");
    req.headers_out.status = 204;
    ck_assert_str_eq(eval("$status"), "204");
    req.err_status = 404; /* a special response answers with its own status */
    ck_assert_str_eq(eval("$status"), "404");
    const char *id = eval("$request_id");
    ck_assert_uint_eq(strlen(id), 32);
    ck_assert_uint_eq(strspn(id, "0123456789abcdef"), 32);
    ck_assert_str_eq(eval("$request_id"), id); /* stable for the request */
    memset(req.request_id, 0, sizeof(req.request_id));
    ck_assert_str_ne(eval("$request_id"), id);
    ck_assert_str_eq(eval("$https|$connection|$request_completion"), "|7|");
}
END_TEST

static Suite *
http_vars_suite(void)
{
    const fc_unit_case_t cases[] = {
        {"args", test_args, (int) fc_nelems(arg_cases)},
        {"cookies", test_cookies, (int) fc_nelems(cookie_cases)},
        {"http_fields", test_http_fields, 1},
        {"remote_user", test_remote_user, (int) fc_nelems(user_cases)},
        {"request_body", test_request_body, 1},
        {"status_and_id", test_status_and_id, 1},
    };
    return fc_unit_suite("http_vars", cases, fc_nelems(cases), setup, teardown);
}

int
main(void)
{
    return fc_unit_run(http_vars_suite());
}
