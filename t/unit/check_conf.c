/*
 * check_conf.c: the config lexer and parser (src/core/conf_lex.c,
 * conf_parse.c) through a real cycle, as `fulcrum -t` builds it: configs are
 * written to a temporary folder, fc_cycle_init() runs in test mode, and what
 * the bootstrap log writes to fd 2 is captured and compared whole, with
 * file:line. "@D@" in texts and expected output stands for the folder.
 */
#include <check.h>

#include "unit_cycle.h"
#include "event/listen.h"

static void
setup(void)
{
    fc_unit_cycle_setup("/tmp/fc-check-conf-XXXXXX", 0);
}

static void
teardown(void)
{
    fc_unit_cycle_teardown();
}

/* Builds a cycle from DIR/<conf> (with -g params if not NULL); NULL if rejected. */
static fc_cycle_t *
build(const char *conf, const char *params)
{
    return fc_unit_cycle_build(conf, params);
}

/* ---- rejected configs ----------------------------------------------------------- */

typedef struct {
    const char *path, *text;
} file_t;

static const struct {
    const char *name;
    const char *conf; /* DIR/etc/fulcrum.conf */
    file_t files[4];  /* more files, relative to DIR */
    const char *err;  /* the whole stderr output */
} bad_cases[] = {
    {"unknown directive",
     "worker_processes 1;\nfoo bar;\n",
     {{0}},
     "fulcrum: [emerg] unknown directive \"foo\" in @D@/etc/fulcrum.conf:2\n"},
    {"directive names are case-sensitive",
     "Worker_Processes 1;\n",
     {{0}},
     "fulcrum: [emerg] unknown directive \"Worker_Processes\" in @D@/etc/fulcrum.conf:1\n"},
    {"not allowed here",
     "events {\n    worker_processes 2;\n}\n",
     {{0}},
     "fulcrum: [emerg] \"worker_processes\" directive is not allowed here in "
     "@D@/etc/fulcrum.conf:2\n"},
    {"layer directive in main",
     "worker_connections 10;\n",
     {{0}},
     "fulcrum: [emerg] \"worker_connections\" directive is not allowed here in "
     "@D@/etc/fulcrum.conf:1\n"},
    {"too few arguments",
     "worker_processes;\n",
     {{0}},
     "fulcrum: [emerg] invalid number of arguments in \"worker_processes\" directive in "
     "@D@/etc/fulcrum.conf:1\n"},
    {"too many arguments",
     "\n\nworker_processes 1 2;\n",
     {{0}},
     "fulcrum: [emerg] invalid number of arguments in \"worker_processes\" directive in "
     "@D@/etc/fulcrum.conf:3\n"},
    {"flag takes one argument",
     "daemon;\n",
     {{0}},
     "fulcrum: [emerg] invalid number of arguments in \"daemon\" directive in "
     "@D@/etc/fulcrum.conf:1\n"},
    {"flag value",
     "daemon maybe;\n",
     {{0}},
     "fulcrum: [emerg] invalid value \"maybe\" in \"daemon\" directive, it must be \"on\" or "
     "\"off\" in @D@/etc/fulcrum.conf:1\n"},
    {"block without {",
     "events;\n",
     {{0}},
     "fulcrum: [emerg] directive \"events\" has no opening \"{\" in @D@/etc/fulcrum.conf:1\n"},
    {"block takes no arguments",
     "events x {\n}\nfoo;\n",
     {{0}},
     "fulcrum: [emerg] invalid number of arguments in \"events\" directive in "
     "@D@/etc/fulcrum.conf:1\n"
     "fulcrum: [emerg] unknown directive \"foo\" in @D@/etc/fulcrum.conf:3\n"},
    {"simple directive with a block",
     "worker_processes 1 {\n  a b;\n}\nfoo;\n",
     {{0}},
     "fulcrum: [emerg] directive \"worker_processes\" is not terminated by \";\" in "
     "@D@/etc/fulcrum.conf:1\n"
     "fulcrum: [emerg] unknown directive \"foo\" in @D@/etc/fulcrum.conf:4\n"},
    {"duplicate",
     "worker_processes 1;\nworker_processes 2;\n",
     {{0}},
     "fulcrum: [emerg] \"worker_processes\" directive is duplicate in "
     "@D@/etc/fulcrum.conf:2\n"},
    /* Several errors in one run, as long as the syntax can be trusted. */
    {"errors go on",
     "foo;\nevents {\n  bar 1;\n}\nbaz;\n",
     {{0}},
     "fulcrum: [emerg] unknown directive \"foo\" in @D@/etc/fulcrum.conf:1\n"
     "fulcrum: [emerg] unknown directive \"bar\" in @D@/etc/fulcrum.conf:3\n"
     "fulcrum: [emerg] unknown directive \"baz\" in @D@/etc/fulcrum.conf:5\n"},
    /* Quotes and escapes, seen through the value in a message. */
    {"double quotes with escapes",
     "worker_processes \"a\\\"b\";\n",
     {{0}},
     "fulcrum: [emerg] invalid value \"a\"b\" in \"worker_processes\" directive in "
     "@D@/etc/fulcrum.conf:1\n"},
    {"single quotes keep spaces",
     "worker_processes 'x y';\n",
     {{0}},
     "fulcrum: [emerg] invalid value \"x y\" in \"worker_processes\" directive in "
     "@D@/etc/fulcrum.conf:1\n"},
    {"escapes in single quotes",
     "worker_processes 'it\\'s\\\\';\n",
     {{0}},
     "fulcrum: [emerg] invalid value \"it's\\\" in \"worker_processes\" directive in "
     "@D@/etc/fulcrum.conf:1\n"},
    {"\\t \\n in quotes",
     "worker_processes \"a\\tb\\nc\";\n",
     {{0}},
     "fulcrum: [emerg] invalid value \"a\tb\nc\" in \"worker_processes\" directive in "
     "@D@/etc/fulcrum.conf:1\n"},
    {"other quote inside",
     "worker_processes \"x'y\";\n",
     {{0}},
     "fulcrum: [emerg] invalid value \"x'y\" in \"worker_processes\" directive in "
     "@D@/etc/fulcrum.conf:1\n"},
    {"quoted directive name",
     "\"foo bar\" 1;\n",
     {{0}},
     "fulcrum: [emerg] unknown directive \"foo bar\" in @D@/etc/fulcrum.conf:1\n"},
    {"quoted ; and { stay in the word",
     "worker_processes \"1; {}\";\n",
     {{0}},
     "fulcrum: [emerg] invalid value \"1; {}\" in \"worker_processes\" directive in "
     "@D@/etc/fulcrum.conf:1\n"},
    /* As nginx: a backslash keeps a space in the word, and stays in it. */
    {"escaped space outside quotes",
     "worker_processes a\\ b;\n",
     {{0}},
     "fulcrum: [emerg] invalid value \"a\\ b\" in \"worker_processes\" directive in "
     "@D@/etc/fulcrum.conf:1\n"},
    {"empty quoted word",
     "worker_processes \"\";\n",
     {{0}},
     "fulcrum: [emerg] invalid value \"\" in \"worker_processes\" directive in "
     "@D@/etc/fulcrum.conf:1\n"},
    {"text glued after a quote",
     "worker_processes \"1\"2;\n",
     {{0}},
     "fulcrum: [emerg] unexpected \"2\" in @D@/etc/fulcrum.conf:1\n"},
    {"unclosed quote",
     "worker_processes 1;\nworker_processes \"abc;\n\n",
     {{0}},
     "fulcrum: [emerg] unexpected end of file, expecting closing quote in "
     "@D@/etc/fulcrum.conf:2\n"},
    /* Lines inside multi-line quoted strings are counted. */
    {"line count across quotes",
     "worker_processes 'a\nb\nc';\nfoo;\n",
     {{0}},
     "fulcrum: [emerg] invalid value \"a\nb\nc\" in \"worker_processes\" directive in "
     "@D@/etc/fulcrum.conf:1\n"
     "fulcrum: [emerg] unknown directive \"foo\" in @D@/etc/fulcrum.conf:4\n"},
    /* Comments. */
    {"comments",
     "# worker_processes {\n  # }\nworker_processes 1; # foo;\n\tbar; #\n",
     {{0}},
     "fulcrum: [emerg] unknown directive \"bar\" in @D@/etc/fulcrum.conf:4\n"},
    {"# inside a word is not a comment",
     "worker_processes a#b;\n",
     {{0}},
     "fulcrum: [emerg] invalid value \"a#b\" in \"worker_processes\" directive in "
     "@D@/etc/fulcrum.conf:1\n"},
    {"# in quotes is not a comment",
     "worker_processes \"#1\";\n",
     {{0}},
     "fulcrum: [emerg] invalid value \"#1\" in \"worker_processes\" directive in "
     "@D@/etc/fulcrum.conf:1\n"},
    {"comment between arguments",
     "worker_processes # one\n 1 2;\n",
     {{0}},
     "fulcrum: [emerg] invalid number of arguments in \"worker_processes\" directive in "
     "@D@/etc/fulcrum.conf:1\n"},
    /* ${var} is one word, braces included. */
    {"${var} one word",
     "worker_processes pre${x}post;\n",
     {{0}},
     "fulcrum: [emerg] invalid value \"pre${x}post\" in \"worker_processes\" directive in "
     "@D@/etc/fulcrum.conf:1\n"},
    {"${var} alone",
     "worker_processes ${x} 1;\n",
     {{0}},
     "fulcrum: [emerg] invalid number of arguments in \"worker_processes\" directive in "
     "@D@/etc/fulcrum.conf:1\n"},
    {"{ after text opens a block",
     "worker_processes a{\n}\n",
     {{0}},
     "fulcrum: [emerg] directive \"worker_processes\" is not terminated by \";\" in "
     "@D@/etc/fulcrum.conf:1\n"},
    /* Structure. */
    {"unexpected } at top",
     "worker_processes 1;\n}\nfoo;\n",
     {{0}},
     "fulcrum: [emerg] unexpected \"}\" in @D@/etc/fulcrum.conf:2\n"},
    {"} inside a directive",
     "events {\n  worker_connections 1 }\n",
     {{0}},
     "fulcrum: [emerg] unexpected \"}\" in @D@/etc/fulcrum.conf:2\n"},
    {"unexpected ;",
     "worker_processes 1;\n;\n",
     {{0}},
     "fulcrum: [emerg] unexpected \";\" in @D@/etc/fulcrum.conf:2\n"},
    {"unexpected {",
     "{\n}\n",
     {{0}},
     "fulcrum: [emerg] unexpected \"{\" in @D@/etc/fulcrum.conf:1\n"},
    {"eof in a block",
     "events {\n  worker_connections 10;\n\n",
     {{0}},
     "fulcrum: [emerg] unexpected end of file, expecting \"}\" in @D@/etc/fulcrum.conf:4\n"},
    {"eof in a directive",
     "events {}\nworker_processes 1",
     {{0}},
     "fulcrum: [emerg] unexpected end of file, expecting \";\" or \"}\" in "
     "@D@/etc/fulcrum.conf:2\n"},
    {"eof in a skipped block",
     "events {}\nfoo {\n  bar {\n}\n",
     {{0}},
     "fulcrum: [emerg] unknown directive \"foo\" in @D@/etc/fulcrum.conf:2\n"
     "fulcrum: [emerg] unexpected end of file, expecting \"}\" in @D@/etc/fulcrum.conf:5\n"},
    {"nested block not allowed",
     "events {\n  events {\n  }\n  foo;\n}\n",
     {{0}},
     "fulcrum: [emerg] \"events\" directive is not allowed here in @D@/etc/fulcrum.conf:2\n"
     "fulcrum: [emerg] unknown directive \"foo\" in @D@/etc/fulcrum.conf:4\n"},
    /* include, relative to the config's folder (etc/), not the prefix. */
    {"include glob in order",
     "include conf.d/*.conf;\n",
     {{"etc/conf.d/a.conf", "worker_processes 2;\n"},
      {"etc/conf.d/b.conf", "\n\nworker_processes 3;\n"},
      {"conf.d/c.conf", "foo;\n"}},
     "fulcrum: [emerg] \"worker_processes\" directive is duplicate in "
     "@D@/etc/conf.d/b.conf:3\n"},
    {"error inside an included file, then back",
     "events {\n  include ev.inc;\n  bar;\n}\n",
     {{"etc/ev.inc", "worker_connections 10;\nfoo;\n"}},
     "fulcrum: [emerg] unknown directive \"foo\" in @D@/etc/ev.inc:2\n"
     "fulcrum: [emerg] unknown directive \"bar\" in @D@/etc/fulcrum.conf:3\n"},
    {"nested include is relative to the config folder too",
     "include a/one.conf;\n",
     {{"etc/a/one.conf", "include b/two.conf;\n"}, {"etc/b/two.conf", "foo;\n"}},
     "fulcrum: [emerg] unknown directive \"foo\" in @D@/etc/b/two.conf:1\n"},
    {"include of a missing file",
     "\ninclude missing.conf;\n",
     {{0}},
     "fulcrum: [emerg] open() \"@D@/etc/missing.conf\" failed (2: No such file or directory) "
     "in @D@/etc/fulcrum.conf:2\n"},
    {"include arguments",
     "include;\n",
     {{0}},
     "fulcrum: [emerg] invalid number of arguments in \"include\" directive in "
     "@D@/etc/fulcrum.conf:1\n"},
    {"include with a block",
     "include x {\n}\n",
     {{0}},
     "fulcrum: [emerg] invalid number of arguments in \"include\" directive in "
     "@D@/etc/fulcrum.conf:1\n"},
    {"syntax error in an included file stops",
     "include bad.conf;\nfoo;\n",
     {{"etc/bad.conf", "worker_processes 1;\n}\n"}},
     "fulcrum: [emerg] unexpected \"}\" in @D@/etc/bad.conf:2\n"},
    {"include loop",
     "include self.conf;\n",
     {{"etc/self.conf", "include self.conf;\n"}},
     "fulcrum: [emerg] include nesting is too deep for \"@D@/etc/self.conf\" in "
     "@D@/etc/self.conf:1\n"},
    /* Two includes of itself: one error, not 2^32 files read. */
    {"include loop, twice",
     "include fulcrum.conf;\ninclude fulcrum.conf;\n",
     {{0}},
     "fulcrum: [emerg] include nesting is too deep for \"@D@/etc/fulcrum.conf\" in "
     "@D@/etc/fulcrum.conf:1\n"},
    /* The lexer's words reach the layers unchanged. */
    {"stream: unknown variable",
     "events {}\nstream {\n  server {\n    listen unix:@D@/s.sock;\n    return \"${nope}x\";\n"
     "  }\n}\n",
     {{0}},
     "fulcrum: [emerg] unknown \"nope\" variable in @D@/etc/fulcrum.conf:5\n"},
};

START_TEST(test_bad)
{
    write_file("etc/fulcrum.conf", bad_cases[_i].conf);
    for (size_t k = 0; k < fc_nelems(bad_cases[_i].files) && bad_cases[_i].files[k].path; k++)
        write_file(bad_cases[_i].files[k].path, bad_cases[_i].files[k].text);
    ck_assert_msg(build("etc/fulcrum.conf", NULL) == NULL, "%s: accepted", bad_cases[_i].name);
    ck_assert_msg(strcmp(out, bad_cases[_i].err) == 0, "%s:\n got: %s\nwant: %s",
                  bad_cases[_i].name, out, bad_cases[_i].err);
}
END_TEST

/* ---- -g parameters -------------------------------------------------------------- */

static const struct {
    const char *params;
    const char *conf;
    const char *err; /* NULL: valid */
} param_cases[] = {
    {"daemon off; master_process off;", "events {}\n", NULL},
    {"foo;", "events {}\n", "fulcrum: [emerg] unknown directive \"foo\" in command line\n"},
    {"daemon off", "events {}\n",
     "fulcrum: [emerg] unexpected end of parameter, expecting \";\" in command line\n"},
    /* The parameters come first: the file's copy is the duplicate. */
    {"daemon off;", "events {}\ndaemon on;\n",
     "fulcrum: [emerg] \"daemon\" directive is duplicate in @D@/etc/fulcrum.conf:2\n"},
};

START_TEST(test_params)
{
    write_file("etc/fulcrum.conf", param_cases[_i].conf);
    fc_cycle_t *c = build("etc/fulcrum.conf", param_cases[_i].params);
    if (param_cases[_i].err == NULL) {
        ck_assert_msg(c != NULL, "%s", out);
        ck_assert_str_eq(out, "");
        fc_core_conf_t *ccf = fc_cycle_core_conf(c, fc_core_module);
        ck_assert_int_eq(ccf->daemon, 0);
        ck_assert_int_eq(ccf->master, 0);
        return;
    }
    ck_assert_ptr_null(c);
    ck_assert_str_eq(out, param_cases[_i].err);
}
END_TEST

/* ---- valid configs -------------------------------------------------------------- */

START_TEST(test_valid_core)
{
    write_file("etc/fulcrum.conf",
               "# core directives\r\n"
               "worker_processes  3 ;\r\n"
               "daemon\toff;\n"
               "master_process off;pid run/fc.pid;\n"
               "worker_shutdown_timeout '1m 30s';\n"
               "worker_rlimit_nofile 4096;\n"
               "error_log stderr warn;\n"
               "include conf.d/*.conf;\n"
               "include conf.d/nothing-*.conf; # a glob matching nothing is fine\n"
               "events { }\n");
    write_file("etc/conf.d/10-user.conf", "user nobody nogroup;\n");
    write_file("etc/conf.d/20-empty.conf", "");
    write_file("etc/conf.d/skip.inc", "foo;\n");
    fc_cycle_t *c = build("etc/fulcrum.conf", NULL);
    ck_assert_msg(c != NULL, "%s", out);
    ck_assert_str_eq(out, "");
    ck_assert(c->test_only);
    fc_core_conf_t *ccf = fc_cycle_core_conf(c, fc_core_module);
    ck_assert_int_eq(ccf->worker_processes, 3);
    ck_assert_int_eq(ccf->daemon, 0);
    ck_assert_int_eq(ccf->master, 0);
    ck_assert_int_eq(ccf->shutdown_timeout, 90000);
    ck_assert_int_eq(ccf->rlimit_nofile, 4096);
    ck_assert(fc_str_eq_c(&ccf->user, "nobody"));
    ck_assert(fc_str_eq_c(&ccf->group, "nogroup"));
    char *want = expand("@D@/run/fc.pid"); /* relative to the prefix */
    ck_assert_str_eq((char *) ccf->pid.data, want);
    free(want);
    /* Every file read, in order (for -T). */
    const char *files[] = {"@D@/etc/fulcrum.conf", "@D@/etc/conf.d/10-user.conf",
                           "@D@/etc/conf.d/20-empty.conf"};
    size_t n = 0;
    for (fc_conf_file_t *f = c->conf_files; f; f = f->next, n++) {
        ck_assert_uint_lt(n, fc_nelems(files));
        char *w = expand(files[n]);
        ck_assert_str_eq((char *) f->name.data, w);
        free(w);
    }
    ck_assert_uint_eq(n, fc_nelems(files));
}
END_TEST

/* Defaults when the config says nothing. */
START_TEST(test_valid_defaults)
{
    write_file("etc/fulcrum.conf", "events {}\n");
    fc_cycle_t *c = build("etc/fulcrum.conf", NULL);
    ck_assert_msg(c != NULL, "%s", out);
    ck_assert_str_eq(out, "");
    fc_core_conf_t *ccf = fc_cycle_core_conf(c, fc_core_module);
    ck_assert_int_eq(ccf->worker_processes, 1);
    ck_assert_int_eq(ccf->daemon, 1);
    ck_assert_int_eq(ccf->master, 1);
    ck_assert_int_eq(ccf->shutdown_timeout, 0);
    ck_assert_uint_eq(c->listening.nelts, 0);
    ck_assert_ptr_null(c->conf_files->next);
}
END_TEST

/* A stream config using quotes, ${var}, map, upstream and unix listeners. */
START_TEST(test_valid_stream)
{
    write_file("etc/fulcrum.conf", "worker_processes 2;\n"
                                   "error_log stderr;\n"
                                   "events {\n    worker_connections 64;\n}\n"
                                   "stream {\n"
                                   "    log_format basic '$remote_addr [$time_local] $status'\n"
                                   "                     \" \\\"$upstream_addr\\\"\";\n"
                                   "    access_log @D@/access.log basic;\n"
                                   "    map $remote_addr $who {\n"
                                   "        default   other;\n"
                                   "        127.0.0.1 'local host';\n"
                                   "    }\n"
                                   "    upstream backends {\n"
                                   "        server 127.0.0.1:9001 weight=2;\n"
                                   "        server unix:@D@/backend.sock backup;\n"
                                   "    }\n"
                                   "    include stream.d/*.conf;\n"
                                   "}\n");
    write_file("etc/stream.d/a.conf", "server {\n"
                                      "    listen unix:@D@/a.sock;\n"
                                      "    proxy_pass backends;\n"
                                      "    proxy_timeout 5s;\n"
                                      "}\n");
    write_file("etc/stream.d/b.conf", "server {\n"
                                      "    listen unix:@D@/b.sock;\n"
                                      "    set $x \"${who}-x\";\n"
                                      "    return $x;\n"
                                      "}\n");
    fc_cycle_t *c = build("etc/fulcrum.conf", NULL);
    ck_assert_msg(c != NULL, "%s", out);
    ck_assert_str_eq(out, "");
    ck_assert_uint_eq(c->listening.nelts, 2);
    fc_listening_t *ls = c->listening.elts;
    for (size_t i = 0; i < 2; i++) {
        char *w = expand(i == 0 ? "unix:@D@/a.sock" : "unix:@D@/b.sock");
        ck_assert_str_eq((char *) ls[i].addr.name.data, w);
        free(w);
        ck_assert_uint_eq(ls[i].conf_line, 2);
        /* Test mode: the address was checked, nothing stays open. */
        for (size_t s = 0; s < ls[i].nfds; s++)
            ck_assert_int_eq(ls[i].fds[s], -1);
    }
    /* ... and the test bind left no socket file behind (nginx -t removes it). */
    char *sock = expand("@D@/a.sock");
    ck_assert_int_ne(access(sock, F_OK), 0);
    free(sock);
    /* The same config checks again (nothing left over from the first run). */
    fc_cycle_destroy(cycle);
    cycle = NULL;
    ck_assert_msg(build("etc/fulcrum.conf", NULL) != NULL, "%s", out);
}
END_TEST

/* A cycle that fails late (bind) releases what it built: no fd leaks. */
START_TEST(test_no_fd_leak)
{
    write_file("etc/fulcrum.conf", "worker_processes 4;\n"
                                   "error_log @D@/error.log;\n"
                                   "events {}\n"
                                   "stream {\n"
                                   "    server { listen unix:@D@/nodir/a.sock; return x; }\n"
                                   "}\n");
    int before = open("/dev/null", O_RDONLY);
    close(before);
    ck_assert_ptr_null(build("etc/fulcrum.conf", NULL));
    ck_assert_str_eq(out, "fulcrum: [emerg] bind() to unix:@D@/nodir/a.sock failed "
                          "(2: No such file or directory) in @D@/etc/fulcrum.conf:5\n");
    int after = open("/dev/null", O_RDONLY);
    close(after);
    ck_assert_int_eq(after, before);
    /* A valid cycle, destroyed, closes its log file too. */
    write_file("etc/fulcrum.conf", "error_log @D@/error.log;\nevents {}\n");
    ck_assert_msg(build("etc/fulcrum.conf", NULL) != NULL, "%s", out);
    fc_cycle_destroy(cycle);
    cycle = NULL;
    after = open("/dev/null", O_RDONLY);
    close(after);
    ck_assert_int_eq(after, before);
}
END_TEST

static Suite *
conf_suite(void)
{
    const fc_unit_case_t cases[] = {
        {"bad", test_bad, (int) fc_nelems(bad_cases)},
        {"params", test_params, (int) fc_nelems(param_cases)},
        {"valid_core", test_valid_core, 1},
        {"valid_defaults", test_valid_defaults, 1},
        {"valid_stream", test_valid_stream, 1},
        {"no_fd_leak", test_no_fd_leak, 1},
    };
    return fc_unit_suite("conf", cases, fc_nelems(cases), setup, teardown);
}

int
main(void)
{
    fc_time_update();
    return fc_unit_run(conf_suite());
}
