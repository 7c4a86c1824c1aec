/*
 * check_http_location.c: location lookup (src/http/location.c) and virtual
 * server choice (src/http/server_name.c) against confs built from config
 * text by a real cycle in test mode, as `fulcrum -t` builds them. Each
 * location and server sets `default_type` to a tag, so a lookup's result is
 * read back as the tag of r->loc_conf. Listens are unix sockets in a
 * temporary folder, so no port is needed; "@D@" stands for the folder.
 */
#include <check.h>

#include "unit_cycle.h"
#include "event/listen.h"
#include "http/http_conf.h"

static void
setup(void)
{
    fc_unit_cycle_setup("/tmp/fc-check-hloc-XXXXXX", 1);
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

static fc_http_core_main_conf_t *
main_conf(void)
{
    fc_conf_ctx_t *ctx = fc_http_cycle_ctx(cycle);
    ck_assert_ptr_nonnull(ctx);
    return ctx->main_conf[fc_http_core_module.ctx_index];
}

static fc_http_core_srv_conf_t *
server(size_t i)
{
    fc_http_core_main_conf_t *cmcf = main_conf();
    ck_assert_uint_lt(i, cmcf->servers.nelts);
    return ((fc_http_core_srv_conf_t **) cmcf->servers.elts)[i];
}

static fc_http_request_t req; /* one request at a time, reset by mkreq */

static fc_str_t
str(const char *s)
{
    fc_str_t v = {strlen(s), (unsigned char *) s};
    return v;
}

static fc_http_request_t *
mkreq(fc_http_core_srv_conf_t *cscf, const char *uri, const char *args)
{
    memset(&req, 0, sizeof(req));
    req.pool = cycle->pool;
    req.main_conf = cscf->ctx->main_conf;
    req.srv_conf = cscf->ctx->srv_conf;
    req.loc_conf = cscf->ctx->loc_conf;
    req.uri = str(uri);
    req.args = str(args ? args : "");
    req.headers_out.content_length_n = -1;
    ck_assert_int_eq(
        fc_array_init(&req.headers_out.headers, cycle->pool, 2, sizeof(fc_http_field_t)), FC_OK);
    return &req;
}

/* The tag (default_type) of the confs r ended up with. */
static const char *
tag(fc_http_request_t *r)
{
    static char buf[64];
    fc_str_t t = fc_http_core_loc(r)->default_type;
    snprintf(buf, sizeof(buf), "%.*s", (int) t.len, t.data);
    return buf;
}

/* Finds the location whose tag is `t` among a level's locations, recursively. */
static fc_http_core_loc_conf_t *
loc_by_tag(fc_array_t *locs, const char *t)
{
    fc_http_core_loc_conf_t **l = locs ? locs->elts : NULL;
    for (size_t i = 0; locs && i < locs->nelts; i++) {
        if (fc_str_eq_c(&l[i]->default_type, t))
            return l[i];
        fc_http_core_loc_conf_t *in = loc_by_tag(l[i]->locations, t);
        if (in)
            return in;
    }
    return NULL;
}

/* ---- location lookup order ---------------------------------------------------------- */

static const char loc_conf[] =
    "events {}\n"
    "http {\n"
    "  server {\n"
    "    listen unix:@D@/loc.sock;\n"
    "    default_type srv;\n"
    "    location = / { default_type exact-root; }\n"
    "    location / { default_type root; }\n"
    "    location /documents/ { default_type documents; }\n"
    "    location ^~ /images/ { default_type images; }\n"
    "    location ~* \\.(gif|jpg|jpeg)$ { default_type gif; }\n"
    "    location /a/ {\n"
    "      default_type a;\n"
    "      location ~ ^/a/.*\\.php$ { default_type a-php; }\n"
    "      location /a/b/ { default_type a-b; }\n"
    "      location ^~ /a/n/ { default_type a-n; }\n"
    "    }\n"
    "    location ~ \\.php$ { default_type php; }\n"
    "    location ^~ /s { default_type s-noregex; }\n"
    "    location /s/longer { default_type s-longer; }\n"
    "    location = /exact.php { default_type exact-php; }\n"
    "    location /exact.php { default_type prefix-exact-php; }\n"
    "    location ~ ^/re/(?<word>[a-z]+)/([0-9]+)$ { default_type re-cap; }\n"
    "    location ~ ^/re/ { default_type re-second; }\n"
    "    location /dir/ { default_type dir; }\n"
    "    location /Case/ { default_type case; }\n"
    "    location @named { default_type named; }\n"
    "  }\n"
    "  server {\n"
    "    listen unix:@D@/bare.sock;\n"
    "    default_type bare;\n"
    "  }\n"
    "}\n";

static const struct {
    const char *uri, *tag;
} loc_cases[] = {
    /* nginx's documentation example */
    {"/", "exact-root"},
    {"/index.html", "root"},
    {"/documents/document.html", "documents"},
    {"/images/1.gif", "images"}, /* ^~ stops the regexes */
    {"/documents/1.jpg", "gif"}, /* a regex beats a prefix */
    {"/X.GIF", "gif"},           /* ~* is caseless */
    /* exact beats everything, even a regex and a prefix of the same name */
    {"/exact.php", "exact-php"},
    {"/exact.php/x.php", "php"}, /* prefix /exact.php, then the regex */
    {"/exact.phpx", "prefix-exact-php"},
    /* nested: the chosen prefix's regexes come first */
    {"/a/x.php", "a-php"},
    {"/a/b/x.php", "a-php"},
    {"/a/b/c", "a-b"},
    {"/a/c.html", "a"},
    /* a nested ^~ stops its own level's regexes, not the outer ones (nginx) */
    {"/a/n/x.php", "php"},
    {"/a/n/x.html", "a-n"},
    /* the longest prefix wins even if a shorter one is ^~: regexes still apply */
    {"/s/longer/x.php", "php"},
    {"/s/longer/x.html", "s-longer"},
    {"/s/x.php", "s-noregex"},
    {"/sx.php", "s-noregex"},
    /* regexes in config order */
    {"/re/abc/42", "re-cap"},
    {"/re/abc/x", "re-second"},
    /* prefix matching is case-sensitive */
    {"/Case/x", "case"},
    {"/case/x", "root"},
    /* named locations are never matched by URI */
    {"/@named", "root"},
    {"/dir/x", "dir"},
    {"/dir", "root"}, /* no auto_redirect without a proxy handler */
};

START_TEST(location_order)
{
    ck_assert_ptr_nonnull(build(loc_conf));
    fc_http_request_t *r = mkreq(server(0), loc_cases[_i].uri, NULL);
    int rc = fc_http_core_find_location(r);
    ck_assert_int_eq(rc, FC_OK);
    ck_assert_str_eq(tag(r), loc_cases[_i].tag);
}
END_TEST

START_TEST(location_captures)
{
    ck_assert_ptr_nonnull(build(loc_conf));
    fc_http_request_t *r = mkreq(server(0), "/re/abc/42", NULL);
    ck_assert_int_eq(fc_http_core_find_location(r), FC_OK);
    fc_str_t one = fc_captures_get(&r->captures, 1), two = fc_captures_get(&r->captures, 2);
    ck_assert(fc_str_eq_c(&one, "abc"));
    ck_assert(fc_str_eq_c(&two, "42"));
    ck_assert_ptr_nonnull(r->named_captures);
    ck_assert_uint_eq(r->named_captures->nelts, 1);
    fc_var_t *nc = r->named_captures->elts;
    ck_assert(fc_str_eq_c(&nc[0].name, "word"));
    ck_assert_uint_eq(nc[0].data, 1);
    /* $word is a variable of the http block reading that group */
    fc_var_t *def = main_conf()->vars.defined.elts;
    size_t i = 0;
    while (i < main_conf()->vars.defined.nelts && !fc_str_eq_c(&def[i].name, "word"))
        i++;
    ck_assert_uint_lt(i, main_conf()->vars.defined.nelts);
    fc_var_value_t v;
    memset(&v, 0, sizeof(v));
    ck_assert_int_eq(def[i].get(r, &v, def[i].data), FC_OK);
    ck_assert(v.valid && !v.not_found);
    ck_assert_uint_eq(v.len, 3);
    ck_assert(memcmp(v.data, "abc", 3) == 0);
    r->named_captures = NULL; /* another regex matched last: not found */
    memset(&v, 0, sizeof(v));
    ck_assert_int_eq(def[i].get(r, &v, def[i].data), FC_OK);
    ck_assert(v.not_found);
}
END_TEST

START_TEST(location_server_level)
{
    ck_assert_ptr_nonnull(build(loc_conf));
    fc_http_request_t *r = mkreq(server(1), "/anything", NULL);
    ck_assert_int_eq(fc_http_core_find_location(r), FC_DECLINED);
    ck_assert_str_eq(tag(r), "bare");
}
END_TEST

START_TEST(location_named)
{
    ck_assert_ptr_nonnull(build(loc_conf));
    fc_str_t name = str("@named"), none = str("@none"), bare = str("named");
    void **lc = fc_http_core_find_named(server(0), &name);
    ck_assert_ptr_nonnull(lc);
    fc_http_core_loc_conf_t *clcf = lc[fc_http_core_module.ctx_index];
    ck_assert(fc_str_eq_c(&clcf->default_type, "named"));
    ck_assert_ptr_null(fc_http_core_find_named(server(0), &none));
    ck_assert_ptr_null(fc_http_core_find_named(server(0), &bare));
    ck_assert_ptr_null(fc_http_core_find_named(server(1), &name));
}
END_TEST

/* "/dir" when "/dir/" has a proxy handler: 301 to "/dir/" with the args. */
START_TEST(location_auto_redirect)
{
    ck_assert_ptr_nonnull(build(loc_conf));
    fc_http_core_loc_conf_t *server_clcf = server(0)->ctx->loc_conf[fc_http_core_module.ctx_index];
    fc_http_core_loc_conf_t *dir_clcf = loc_by_tag(server_clcf->locations, "dir");
    ck_assert_ptr_nonnull(dir_clcf);
    dir_clcf->auto_redirect = 1;
    fc_http_request_t *r = mkreq(server(0), "/dir", "a=1");
    ck_assert_int_eq(fc_http_core_find_location(r), FC_DONE);
    ck_assert_uint_eq(r->headers_out.status, FC_HTTP_MOVED_PERMANENTLY);
    ck_assert_ptr_nonnull(r->headers_out.location);
    ck_assert(fc_str_eq_c(&r->headers_out.location->value, "/dir/?a=1"));
    /* "/dir/" itself and longer URIs are served normally */
    r = mkreq(server(0), "/dir/", NULL);
    ck_assert_int_eq(fc_http_core_find_location(r), FC_OK);
    ck_assert_str_eq(tag(r), "dir");
}
END_TEST

/* ---- virtual servers --------------------------------------------------------------- */

static const char vh_conf[] =
    "events {}\n"
    "http {\n"
    "  server { listen unix:@D@/vh.sock; server_name default.test; default_type first; }\n"
    "  server { listen unix:@D@/vh.sock; server_name example.com www.example.com;\n"
    "           default_type exact; }\n"
    "  server { listen unix:@D@/vh.sock; server_name *.example.com; default_type head; }\n"
    "  server { listen unix:@D@/vh.sock; server_name *.www.example.com;\n"
    "           default_type head-long; }\n"
    "  server { listen unix:@D@/vh.sock; server_name mail.*; default_type tail; }\n"
    "  server { listen unix:@D@/vh.sock; server_name mail.example.*; default_type tail-long; }\n"
    "  server { listen unix:@D@/vh.sock; server_name .dot.org; default_type dot; }\n"
    "  server { listen unix:@D@/vh.sock; server_name \"~^(?<user>[a-z]+)\\.users\\.net$\";\n"
    "           default_type re1; }\n"
    "  server { listen unix:@D@/vh.sock; server_name ~^bob\\. ~USERS; default_type re2; }\n"
    "  server { listen unix:@D@/vh.sock; server_name \"\"; default_type empty; }\n"
    "  server { listen unix:@D@/vh.sock; server_name Upper.Test; default_type upper; }\n"
    "  server { listen unix:@D@/vh.sock; server_name example.com; default_type conflict; }\n"
    "  server { listen unix:@D@/vh2.sock; server_name a.test; default_type vh2-first; }\n"
    "  server { listen unix:@D@/vh2.sock default_server; listen unix:@D@/vh.sock;\n"
    "           server_name b.test; default_type vh2-default; }\n"
    "}\n";

static const struct {
    const char *sock, *host, *tag;
} vh_cases[] = {
    {"vh.sock", "example.com", "exact"},
    {"vh.sock", "www.example.com", "exact"}, /* exact beats *.example.com */
    {"vh.sock", "a.example.com", "head"},
    {"vh.sock", "a.b.example.com", "head"},
    {"vh.sock", "a.www.example.com", "head-long"}, /* the longest leading wildcard */
    {"vh.sock", "mail.example.com", "head"},       /* leading beats trailing */
    {"vh.sock", "mail.foo.org", "tail"},
    {"vh.sock", "mail.example.org", "tail-long"}, /* the longest trailing wildcard */
    {"vh.sock", "mail", "first"},                 /* "mail.*" needs a dot */
    {"vh.sock", "dot.org", "dot"},
    {"vh.sock", "x.y.dot.org", "dot"},
    {"vh.sock", "bob.users.net", "re1"}, /* the first regex in config order */
    {"vh.sock", "bob.other", "re2"},
    {"vh.sock", "alice.users", "re2"}, /* regex names are caseless */
    {"vh.sock", "", "empty"},
    {"vh.sock", "upper.test", "upper"},  /* names are lowercased */
    {"vh.sock", "nobody.test", "first"}, /* else the first server */
    {"vh.sock", "b.test", "vh2-default"},
    {"vh2.sock", "a.test", "vh2-first"},
    {"vh2.sock", "nobody.test", "vh2-default"}, /* default_server */
    {"vh2.sock", "example.com", "vh2-default"}, /* names are per address */
};

static fc_http_addr_conf_t *
addr_conf(const char *sock)
{
    fc_listening_t *ls = cycle->listening.elts;
    for (size_t i = 0; i < cycle->listening.nelts; i++) {
        const char *name = (const char *) ls[i].addr.name.data;
        size_t n = strlen(name), k = strlen(sock);
        if (n > k && strcmp(name + n - k, sock) == 0 && name[n - k - 1] == '/') {
            ck_assert_ptr_eq((void *) ls[i].handler, (void *) fc_http_init_connection);
            return ls[i].servers;
        }
    }
    ck_abort_msg("no listening socket %s", sock);
    return NULL;
}

static const char *
vh_tag(fc_http_core_srv_conf_t *cscf)
{
    static char buf[64];
    fc_http_core_loc_conf_t *clcf = cscf->ctx->loc_conf[fc_http_core_module.ctx_index];
    snprintf(buf, sizeof(buf), "%.*s", (int) clcf->default_type.len, clcf->default_type.data);
    return buf;
}

START_TEST(server_name_order)
{
    ck_assert_ptr_nonnull(build(vh_conf));
    fc_http_connection_t hc;
    memset(&hc, 0, sizeof(hc));
    hc.addr_conf = addr_conf(vh_cases[_i].sock);
    fc_http_request_t *r = mkreq(server(0), "/", NULL);
    fc_str_t host = str(vh_cases[_i].host);
    ck_assert_str_eq(vh_tag(fc_http_find_virtual_server(&hc, r, &host)), vh_cases[_i].tag);
    ck_assert_str_eq(vh_tag(fc_http_find_virtual_server(&hc, NULL, &host)), vh_cases[_i].tag);
}
END_TEST

START_TEST(server_name_details)
{
    ck_assert_msg(build(vh_conf) != NULL, "%s", out);
    ck_assert_str_eq(out, "fulcrum: [warn] conflicting server name \"example.com\" on "
                          "unix:@D@/vh.sock, ignored\n");
    ck_assert_str_eq(vh_tag(fc_http_addr_default_server(addr_conf("vh.sock"))), "first");
    ck_assert_str_eq(vh_tag(fc_http_addr_default_server(addr_conf("vh2.sock"))), "vh2-default");
    /* regex captures and named captures go to the request */
    fc_http_connection_t hc;
    memset(&hc, 0, sizeof(hc));
    hc.addr_conf = addr_conf("vh.sock");
    fc_http_request_t *r = mkreq(server(0), "/", NULL);
    fc_str_t host = str("bob.users.net");
    fc_http_find_virtual_server(&hc, r, &host);
    fc_str_t one = fc_captures_get(&r->captures, 1);
    ck_assert(fc_str_eq_c(&one, "bob"));
    ck_assert_ptr_nonnull(r->named_captures);
    fc_var_t *nc = r->named_captures->elts;
    ck_assert(fc_str_eq_c(&nc[0].name, "user"));
    ck_assert_uint_eq(nc[0].data, 1);
    /* $server_name: the first name; ".dot.org" loses its dot, a regex keeps its "~" */
    ck_assert(fc_str_eq_c(&server(1)->server_name, "example.com"));
    ck_assert(fc_str_eq_c(&server(6)->server_name, "dot.org"));
    ck_assert(fc_str_eq_c(&server(8)->server_name, "~^bob\\."));
}
END_TEST

/* ---- inheritance and defaults ------------------------------------------------------- */

static const char inh_conf[] =
    "events {}\n"
    "http {\n"
    "  keepalive_timeout 10s 5;\n"
    "  client_max_body_size 2m;\n"
    "  large_client_header_buffers 2 4k;\n"
    "  server {\n"
    "    listen unix:@D@/inh.sock;\n"
    "    client_body_timeout 5s;\n"
    "    location /a { client_max_body_size 0; location /a/b { default_type ab; } }\n"
    "    location /c { keepalive_timeout 0; root /srv; types { text/x-c c cc; } }\n"
    "  }\n"
    "}\n";

START_TEST(inheritance)
{
    char path[128];
    ck_assert_msg(build(inh_conf) != NULL, "%s", out);
    fc_http_core_srv_conf_t *cscf = server(0);
    ck_assert_uint_eq(cscf->client_header_buffer_size, 1024);
    ck_assert_uint_eq(cscf->large_client_header_buffers_num, 2);
    ck_assert_uint_eq(cscf->large_client_header_buffers_size, 4096);
    ck_assert_int_eq(cscf->client_header_timeout, 60000);
    ck_assert_int_eq(cscf->merge_slashes, 1);
    ck_assert(fc_str_eq_c(&cscf->server_name, ""));
    fc_http_core_loc_conf_t *srv = cscf->ctx->loc_conf[fc_http_core_module.ctx_index];
    ck_assert_int_eq(srv->keepalive_timeout, 10000);
    ck_assert_int_eq(srv->keepalive_header, 5000);
    ck_assert_uint_eq(srv->client_max_body_size, 2 * 1024 * 1024);
    ck_assert_int_eq(srv->client_body_timeout, 5000);
    ck_assert_int_eq(srv->send_timeout, 60000);
    ck_assert_int_eq(srv->keepalive_requests, 1000);
    ck_assert_int_eq(srv->keepalive_time, 3600000);
    ck_assert_int_eq(srv->lingering_close, 1);
    ck_assert(fc_str_eq_c(&srv->default_type, "text/plain"));
    snprintf(path, sizeof(path), "%s/client_body_temp", dir);
    ck_assert(fc_str_eq_c(&srv->client_body_temp_path, path));
    snprintf(path, sizeof(path), "%s/html", dir);
    ck_assert(fc_str_eq_c(&srv->root, path));
    fc_str_t html = str("html"), c = str("c");
    ck_assert(fc_str_eq_c(fc_http_core_type_for(srv, &html), "text/html"));
    ck_assert_ptr_null(fc_http_core_type_for(srv, &c));
    fc_http_core_loc_conf_t *ab = loc_by_tag(srv->locations, "ab");
    ck_assert_ptr_nonnull(ab);
    ck_assert_uint_eq(ab->client_max_body_size, 0);
    ck_assert_int_eq(ab->client_body_timeout, 5000);
    fc_http_request_t *r = mkreq(cscf, "/c/x", NULL);
    ck_assert_int_eq(fc_http_core_find_location(r), FC_OK);
    fc_http_core_loc_conf_t *lc = fc_http_core_loc(r);
    ck_assert_int_eq(lc->keepalive_timeout, 0);
    ck_assert_int_eq(lc->keepalive_header, -1);
    ck_assert(fc_str_eq_c(&lc->root, "/srv"));
    fc_str_t upper = str("CC");
    ck_assert(fc_str_eq_c(fc_http_core_type_for(lc, &upper), "text/x-c"));
    ck_assert_ptr_null(fc_http_core_type_for(lc, &html));
}
END_TEST

/* ---- rejected configs --------------------------------------------------------------- */

static const struct {
    const char *name, *body, *err;
} bad_cases[] = {
    {"outside", "location /a {\n location /b {}\n}",
     "location \"/b\" is outside location \"/a\" in @D@/fulcrum.conf:6"},
    {"inside exact", "location = /a {\n location /a/b {}\n}",
     "location \"/a/b\" cannot be inside the exact location \"/a\" in @D@/fulcrum.conf:6"},
    {"inside named", "location @a {\n location /a {}\n}",
     "location \"/a\" cannot be inside the named location \"@a\" in @D@/fulcrum.conf:6"},
    {"named nested", "location /a {\n location @a {}\n}",
     "named location \"@a\" can be on the server level only in @D@/fulcrum.conf:6"},
    {"duplicate prefix", "location /a {}\nlocation = /a {}\nlocation ^~ /a {}",
     "duplicate location \"/a\" in @D@/fulcrum.conf:7"},
    {"duplicate exact", "location = /a {}\nlocation =/a {}",
     "duplicate location \"/a\" in @D@/fulcrum.conf:6"},
    {"modifier", "location ~~ /a {}", "invalid location modifier \"~~\" in @D@/fulcrum.conf:5"},
    {"bad regex", "location ~ ( {}", "pcre2_compile() failed"},
    {"default twice",
     "listen unix:@D@/x.sock default_server;\n}\nserver {\n"
     "listen unix:@D@/x.sock default_server;",
     "a duplicate default server for unix:@D@/x.sock in @D@/fulcrum.conf:8"},
    {"listen twice", "listen unix:@D@/x.sock;\nlisten unix:@D@/x.sock;",
     "a duplicate listen unix:@D@/x.sock in @D@/fulcrum.conf:6"},
    {"ssl without certificate", "listen unix:@D@/x.sock ssl;",
     "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive in "
     "@D@/fulcrum.conf:5"},
    {"quic", "listen unix:@D@/x.sock quic;", "the \"quic\" parameter of \"listen\" is not"},
    {"wildcard", "server_name www.*.com;",
     "invalid server name or wildcard \"www.*.com\" in @D@/fulcrum.conf:5"},
    {"star", "server_name *;", "server name \"*\" is invalid in @D@/fulcrum.conf:5"},
};

START_TEST(rejected)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "events {}\nhttp {\nserver {\nlisten unix:@D@/main.sock;\n%s\n}\n}\n",
             bad_cases[_i].body);
    ck_assert_ptr_null(build(text));
    ck_assert_msg(strstr(out, bad_cases[_i].err) != NULL, "%s: got \"%s\"", bad_cases[_i].name,
                  out);
}
END_TEST

int
main(void)
{
    const fc_unit_case_t cases[] = {
        {"location order", location_order, (int) fc_nelems(loc_cases)},
        {"location captures", location_captures, 1},
        {"location server level", location_server_level, 1},
        {"named locations", location_named, 1},
        {"auto redirect", location_auto_redirect, 1},
        {"server name order", server_name_order, (int) fc_nelems(vh_cases)},
        {"server name details", server_name_details, 1},
        {"inheritance", inheritance, 1},
        {"rejected configs", rejected, (int) fc_nelems(bad_cases)},
    };
    return fc_unit_run(fc_unit_suite("http_location", cases, fc_nelems(cases), setup, teardown));
}
