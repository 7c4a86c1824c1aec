/*
 * check_http_if.c: the `if` directive of the rewrite module
 * (modules/http_rewrite.c) as `fulcrum -t` reads it: nginx's way of cutting
 * a condition into words (parentheses standing alone or stuck to the first
 * and last word), its error messages with file:line, the directives allowed
 * in the block of an `if` at server and at location level, and the
 * anonymous location a location-level `if` makes (src/http/location.c,
 * http.c): merged from its location, never matched by URI. Configs are
 * built by a real cycle in test mode; "@D@" stands for the temporary folder.
 */
#include <check.h>

#include "unit_cycle.h"
#include "http/http_conf.h"

static void
setup(void)
{
    fc_unit_cycle_setup("/tmp/fc-check-hif-XXXXXX", 1);
}

static void
teardown(void)
{
    fc_unit_cycle_teardown();
}

/* Builds a cycle from config text in test mode, capturing fd 2; NULL if rejected. */
static fc_cycle_t *
build(const char *text)
{
    write_file("fulcrum.conf", text);
    return fc_unit_cycle_build("fulcrum.conf", NULL);
}

/*
 * A config whose only server has `srv` at line 5 and a location "/l/" with
 * `loc` at line 7 (either may be "").
 */
static fc_cycle_t *
build_server(const char *srv, const char *loc)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "events {}\n"
             "http {\n"
             "  server {\n"
             "    listen unix:@D@/if.sock;\n"
             "%s\n"
             "    location /l/ {\n"
             "%s\n"
             "    }\n"
             "  }\n"
             "}\n",
             srv, loc);
    return build(text);
}

static fc_http_core_srv_conf_t *
server(void)
{
    fc_conf_ctx_t *ctx = fc_http_cycle_ctx(cycle);
    ck_assert_ptr_nonnull(ctx);
    fc_http_core_main_conf_t *cmcf = ctx->main_conf[fc_http_core_module.ctx_index];
    ck_assert_uint_eq(cmcf->servers.nelts, 1);
    return ((fc_http_core_srv_conf_t **) cmcf->servers.elts)[0];
}

#define core_of(loc_conf) ((fc_http_core_loc_conf_t *) (loc_conf)[fc_http_core_module.ctx_index])

/* ---- conditions nginx accepts ------------------------------------------------------- */

static const char *const good_conditions[] = {
    "($arg_a)",
    "( $arg_a )",
    "($arg_a )",
    "( $arg_a)",
    "($arg_a = b)",
    "($arg_a = b )",
    "( $arg_a = b)",
    "($arg_a != b)",
    "($arg_a = \"\")",    /* an empty value */
    "($arg_a = \"a b\")", /* ")" right after a quote */
    "($arg_a = 'a } b' )",
    "($arg_a = $arg_b$uri)", /* variables in the value */
    "($arg_a ~ ^a(b)c$)",
    "($arg_a ~* ^A)",
    "($arg_a !~ x)",
    "($arg_a !~* x)",
    "($args ~ \"(^|&)debug=1\")",
    "($arg_a ~ (x))", /* the last ")" ends the condition, the one before is the regex's */
    "($uri ~ \"^/a;b{c}\")",
    "($arg_a=b)", /* nginx: a variable named "arg_a=b" (arg_ is a prefix) */
    "(-f /etc/passwd)",
    "(!-f $uri)",
    "(-d $document_root)",
    "(!-d /x)",
    "(-e /x)",
    "(!-e /x)",
    "(-x /x)",
    "(!-x /x)",
};

START_TEST(accepted)
{
    char line[256];
    snprintf(line, sizeof(line), "      if %s { return 204; }", good_conditions[_i]);
    ck_assert_msg(build_server("", line) != NULL, "%s: rejected: %s", good_conditions[_i], out);
    snprintf(line, sizeof(line), "    if %s { return 204; }", good_conditions[_i]);
    ck_assert_msg(build_server(line, "") != NULL, "%s at server level: rejected: %s",
                  good_conditions[_i], out);
}
END_TEST

/* ---- conditions nginx rejects, with its messages ------------------------------------ */

static const struct {
    const char *cond, *err;
} bad_conditions[] = {
    {"$arg_a", "invalid condition \"$arg_a\""},
    {"$arg_a)", "invalid condition \"$arg_a)\""},
    {"($arg_a", "invalid condition \"$arg_a\""},
    {"(", "invalid condition \"(\""},
    {"()", "invalid condition \")\""},
    {"( )", "invalid condition \")\""},
    {"(\"\")", "invalid condition \"\"\"\""}, /* quotes inside a word are bytes */
    {"($)", "invalid condition \"$\""},
    {"($ = a)", "invalid condition \"$\""},
    {"(abc)", "invalid condition \"abc\""},
    {"(arg_a = b)", "invalid condition \"arg_a\""},
    {"($arg_a =)", "invalid condition \"$arg_a\""},
    {"($arg_a = )", "invalid condition \"$arg_a\""},
    {"($arg_a = b c)", "invalid condition \"$arg_a\""},
    {"($arg_a b)", "invalid condition \"$arg_a\""},
    {"($arg_a == b)", "unexpected \"==\" in condition"},
    {"($arg_a =~ b)", "unexpected \"=~\" in condition"},
    {"($arg_a ~~ b)", "unexpected \"~~\" in condition"},
    {"($arg_a ! b)", "unexpected \"!\" in condition"},
    {"($arg_a ~ \"(\")", "pcre2_compile() failed: missing closing parenthesis"},
    {"(-f)", "invalid condition \"-f\""},
    {"(!-f)", "invalid condition \"!-f\""},
    {"(-f a b)", "invalid condition \"-f\""},
    {"(-q /x)", "invalid condition \"-q\""},
    {"(!-q /x)", "invalid condition \"!-q\""},
    {"(-F /x)", "invalid condition \"-F\""},
    {"(--f /x)", "invalid condition \"--f\""},
    {"(!f /x)", "invalid condition \"!f\""},
    {"(f /x)", "invalid condition \"f\""},
};

START_TEST(rejected)
{
    char line[256], want[512];
    snprintf(line, sizeof(line), "\n      if %s { return 204; }", bad_conditions[_i].cond);
    ck_assert_ptr_null(build_server("", line));
    snprintf(want, sizeof(want), "%s", bad_conditions[_i].err);
    ck_assert_msg(strstr(out, want) != NULL, "%s: got \"%s\"", bad_conditions[_i].cond, out);
    if (strncmp(want, "pcre2", 5) != 0) {
        /* the whole message with the if's file:line, and nothing else */
        snprintf(want, sizeof(want), "fulcrum: [emerg] %s in @D@/fulcrum.conf:8\n",
                 bad_conditions[_i].err);
        ck_assert_msg(strcmp(out, want) == 0, "%s: got \"%s\"", bad_conditions[_i].cond, out);
    }
}
END_TEST

/* ---- what the block of an if may hold ------------------------------------------------ */

static const struct {
    const char *srv, *loc; /* the if's block at server / location level */
    const char *err;       /* NULL: accepted */
} context_cases[] = {
    {"return 204;", "return 204;", NULL},
    {"rewrite ^ /x last;", "rewrite ^ /x break;", NULL},
    {"set $v 1; break;", "set $v 1; break;", NULL},
    {"rewrite_log on; uninitialized_variable_warn off;",
     "rewrite_log on; uninitialized_variable_warn off;", NULL},
    {"", "proxy_pass http://127.0.0.1:9;", NULL},
    {"", "add_header X y; expires 1h;", NULL},
    {"", "access_log off; error_page 404 /x; root /tmp;", NULL},
    {"", "if ($arg_b) { }", "\"if\" directive is not allowed here"},
    {"if ($arg_b) { }", "", "\"if\" directive is not allowed here"},
    {"add_header X y;", "", "\"add_header\" directive is not allowed here"},
    {"proxy_pass http://127.0.0.1:9;", "", "\"proxy_pass\" directive is not allowed here"},
    {"access_log off;", "", "\"access_log\" directive is not allowed here"},
    {"error_page 404 /x;", "", "\"error_page\" directive is not allowed here"},
    {"location /x { }", "", "\"location\" directive is not allowed here"},
    {"", "location /l/x { }", "\"location\" directive is not allowed here"},
    {"", "proxy_set_header X y;", "\"proxy_set_header\" directive is not allowed here"},
    {"", "client_max_body_size 1m;", "\"client_max_body_size\" directive is not allowed here"},
    {"", "allow all;", "\"allow\" directive is not allowed here"},
    {"", "internal;", "\"internal\" directive is not allowed here"},
    {"", "default_type a/b;", "\"default_type\" directive is not allowed here"},
    {"", "proxy_pass http://127.0.0.1:9/uri;",
     "\"proxy_pass\" cannot have URI part in location given by regular expression, or inside "
     "named location, or inside \"if\" statement, or inside \"limit_except\" block"},
};

START_TEST(contexts)
{
    char srv[512], loc[512], want[512];
    const char *s = context_cases[_i].srv, *l = context_cases[_i].loc;
    snprintf(srv, sizeof(srv), "    if ($arg_a) {\n%s\n    }", *s ? s : "return 204;");
    snprintf(loc, sizeof(loc), "      if ($arg_a) {\n%s\n      }", *l ? l : "return 204;");
    fc_cycle_t *c = build_server(*s ? srv : "", *l ? loc : "");
    if (context_cases[_i].err == NULL) {
        ck_assert_msg(c != NULL, "%s | %s: rejected: %s", s, l, out);
        return;
    }
    ck_assert_ptr_null(c);
    /* the directive is on the line after the if's: 6 at server level, 8 in the location */
    snprintf(want, sizeof(want), "fulcrum: [emerg] %s in @D@/fulcrum.conf:%d\n",
             context_cases[_i].err, *s ? 6 : 8);
    ck_assert_msg(strcmp(out, want) == 0, "%s | %s: got \"%s\"", s, l, out);
}
END_TEST

/* Every error of a config is reported, the if's block included. */
START_TEST(errors_go_on)
{
    ck_assert_ptr_null(build_server("    if ($arg_a == 1) { add_header X y; }\n"
                                    "    if ($arg_a) { add_header X y; }",
                                    "      if (-z /x) { }\n"
                                    "      if ($arg_a) { proxy_set_header X y; }"));
    ck_assert_str_eq(out, "fulcrum: [emerg] unexpected \"==\" in condition in @D@/fulcrum.conf:5\n"
                          "fulcrum: [emerg] \"add_header\" directive is not allowed here in "
                          "@D@/fulcrum.conf:6\n"
                          "fulcrum: [emerg] invalid condition \"-z\" in @D@/fulcrum.conf:8\n"
                          "fulcrum: [emerg] \"proxy_set_header\" directive is not allowed here in "
                          "@D@/fulcrum.conf:9\n");
}
END_TEST

/* ---- the anonymous location of a location-level if ------------------------------------ */

START_TEST(anonymous_location)
{
    ck_assert_ptr_nonnull(build_server("    if ($arg_s) { return 204; }",
                                       "      client_max_body_size 5m;\n"
                                       "      default_type text/l;\n"
                                       "      if ($arg_a) { root /if-root; add_header X y; }\n"
                                       "      proxy_pass http://127.0.0.1:9;\n"
                                       "      if ($arg_b) { proxy_pass http://127.0.0.1:10; }"));
    fc_http_core_loc_conf_t *sclcf = core_of(server()->ctx->loc_conf);
    ck_assert_ptr_nonnull(sclcf->locations);
    /* the server level: the server-level if's block, then "/l/" */
    ck_assert_uint_eq(sclcf->locations->nelts, 2);
    fc_http_core_loc_conf_t **sl = sclcf->locations->elts;
    ck_assert(sl[0]->noname);
    ck_assert(!sl[1]->noname && fc_str_eq_c(&sl[1]->name, "/l/"));
    fc_http_core_loc_conf_t *l = sl[1];
    ck_assert_ptr_nonnull(l->locations);
    ck_assert_uint_eq(l->locations->nelts, 2);
    fc_http_core_loc_conf_t *a = ((fc_http_core_loc_conf_t **) l->locations->elts)[0];
    fc_http_core_loc_conf_t *b = ((fc_http_core_loc_conf_t **) l->locations->elts)[1];
    ck_assert(a->noname && b->noname);
    ck_assert(fc_str_eq_c(&a->name, "/l/")); /* nginx: the location's name */
    ck_assert_ptr_eq(core_of(a->loc_conf), a);
    /* merged from the location: its settings, and its content handler when it has none */
    ck_assert_uint_eq(a->client_max_body_size, 5 * 1024 * 1024);
    ck_assert(fc_str_eq_c(&a->default_type, "text/l"));
    ck_assert(fc_str_eq_c(&a->root, "/if-root"));
    ck_assert(!fc_str_eq_c(&l->root, "/if-root")); /* the location keeps its own */
    ck_assert_ptr_nonnull(l->handler);
    ck_assert_ptr_eq(a->handler, l->handler);
    ck_assert_ptr_nonnull(b->handler); /* its own proxy_pass */
    /* never matched by URI: "/l/x" finds "/l/", "/x" the server level */
    fc_http_request_t r;
    memset(&r, 0, sizeof(r));
    r.pool = cycle->pool;
    r.main_conf = server()->ctx->main_conf;
    r.srv_conf = server()->ctx->srv_conf;
    r.loc_conf = server()->ctx->loc_conf;
    r.uri = (fc_str_t){4, (unsigned char *) "/l/x"};
    ck_assert_int_eq(fc_http_core_find_location(&r), FC_OK);
    ck_assert_ptr_eq(r.loc_conf, l->loc_conf);
    r.uri = (fc_str_t){2, (unsigned char *) "/x"};
    ck_assert_int_eq(fc_http_core_find_location(&r), FC_DECLINED);
    ck_assert_ptr_eq(r.loc_conf, server()->ctx->loc_conf);
}
END_TEST

int
main(void)
{
    const fc_unit_case_t cases[] = {
        {"accepted conditions", accepted, (int) fc_nelems(good_conditions)},
        {"rejected conditions", rejected, (int) fc_nelems(bad_conditions)},
        {"contexts", contexts, (int) fc_nelems(context_cases)},
        {"errors go on", errors_go_on, 1},
        {"anonymous location", anonymous_location, 1},
    };
    return fc_unit_run(fc_unit_suite("http_if", cases, fc_nelems(cases), setup, teardown));
}
