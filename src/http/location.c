/*
 * location.c: the `location` directive, the lookup tables built from it
 * once the config is merged, and the lookup itself in nginx's order:
 *
 *   1. an exact `= /uri` location equal to the URI wins at once;
 *   2. otherwise the longest prefix location (`^~` or plain) that the URI
 *      starts with is remembered, and its nested locations are searched the
 *      same way (an exact or regex match in there wins);
 *   3. unless that prefix was `^~`, the regex locations of the level are
 *      tried in config order, first match wins (so a nested regex of the
 *      chosen prefix comes before the regexes around it);
 *   4. else the prefix of step 2, else the server level.
 *
 * Each level (a server, or a location with nested ones) keeps its exact and
 * prefix locations in two arrays sorted by name: the exact match is a binary
 * search, the longest prefix a few (usually one or two) binary searches.
 * Named locations (`@name`) sit in a sorted array of the server level and
 * are never matched by URI. Prefix matching is case-sensitive, as nginx on
 * Linux.
 */
#include "http/http_conf.h"
#include "core/regex_names.h"

/* The exact and prefix locations of one level, sorted by name. */
typedef struct {
    fc_http_core_loc_conf_t **exact;
    size_t nexact;
    fc_http_core_loc_conf_t **prefix;
    size_t nprefix;
} loc_static_t;

/* A location with its position in the config, to sort stably. */
typedef struct {
    fc_http_core_loc_conf_t *clcf;
    size_t seq;
} loc_sort_t;

#define loc_core(loc_conf) ((fc_http_core_loc_conf_t *) (loc_conf)[fc_http_core_module.ctx_index])

/* ---- regexes and named captures ------------------------------------------------- */

/* $name of a named capture: the group of the last regex that matched, if it has that name. */
static int
loc_named_capture_get(void *data, fc_var_value_t *v, uintptr_t arg)
{
    fc_http_request_t *r = data;
    return fc_regex_named_value(r->named_captures, &r->captures, (const fc_str_t *) arg, v);
}

fc_regex_t *
fc_http_regex_compile(fc_conf_t *cf, const fc_str_t *pattern, int caseless, fc_array_t **names)
{
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    return fc_regex_compile_named(cf, &cmcf->vars, pattern, caseless, loc_named_capture_get, names);
}

/* ---- the location directive ------------------------------------------------------- */

static char *
loc_set_regex(fc_conf_t *cf, fc_http_core_loc_conf_t *clcf, const fc_str_t *pattern, int caseless)
{
    clcf->name = *pattern;
    clcf->regex = fc_http_regex_compile(cf, pattern, caseless, &fc_http_loc_ext(clcf)->regex_names);
    return clcf->regex ? FC_CONF_OK : FC_CONF_ERROR;
}

/* The modifier and name: "= /a", "=/a", "^~ /a", "~ re", "~* re", "~re", "@name", "/a". */
static char *
loc_parse_name(fc_conf_t *cf, fc_http_core_loc_conf_t *clcf)
{
    fc_str_t *args = fc_conf_args(cf);
    if (fc_conf_nargs(cf) == 3) {
        fc_str_t *mod = &args[1], *name = &args[2];
        if (fc_str_eq_c(mod, "=")) {
            clcf->name = *name;
            clcf->exact_match = 1;
        } else if (fc_str_eq_c(mod, "^~")) {
            clcf->name = *name;
            clcf->noregex = 1;
        } else if (fc_str_eq_c(mod, "~") || fc_str_eq_c(mod, "~*")) {
            return loc_set_regex(cf, clcf, name, mod->len == 2);
        } else {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid location modifier \"%.*s\"",
                              (int) mod->len, mod->data);
            return FC_CONF_ERROR;
        }
        return FC_CONF_OK;
    }
    fc_str_t name = args[1];
    if (name.len > 0 && name.data[0] == '=') {
        clcf->name = (fc_str_t){name.len - 1, name.data + 1};
        clcf->exact_match = 1;
    } else if (name.len > 1 && name.data[0] == '^' && name.data[1] == '~') {
        clcf->name = (fc_str_t){name.len - 2, name.data + 2};
        clcf->noregex = 1;
    } else if (name.len > 0 && name.data[0] == '~') {
        int caseless = name.len > 1 && name.data[1] == '*';
        fc_str_t pattern = {name.len - 1 - (size_t) caseless, name.data + 1 + caseless};
        return loc_set_regex(cf, clcf, &pattern, caseless);
    } else {
        clcf->name = name;
        clcf->named = name.len > 0 && name.data[0] == '@';
    }
    return FC_CONF_OK;
}

/* nginx's rules for a location inside another location. */
static char *
loc_check_nesting(fc_conf_t *cf, const fc_http_core_loc_conf_t *pclcf,
                  const fc_http_core_loc_conf_t *clcf)
{
    const char *what = NULL;
    if (pclcf->server_level)
        return FC_CONF_OK;
    if (pclcf->exact_match)
        what = "location \"%.*s\" cannot be inside the exact location \"%.*s\"";
    else if (pclcf->named)
        what = "location \"%.*s\" cannot be inside the named location \"%.*s\"";
    else if (clcf->named)
        what = "named location \"%.*s\" can be on the server level only";
    else if (clcf->regex == NULL &&
             (clcf->name.len < pclcf->name.len ||
              memcmp(clcf->name.data, pclcf->name.data, pclcf->name.len) != 0))
        what = "location \"%.*s\" is outside location \"%.*s\"";
    if (what == NULL)
        return FC_CONF_OK;
    fc_conf_log_error(FC_LOG_EMERG, cf, 0, what, (int) clcf->name.len, clcf->name.data,
                      (int) pclcf->name.len, pclcf->name.data);
    return FC_CONF_ERROR;
}

char *
fc_http_core_location(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_http_core_loc_conf_t *pclcf = conf;
    fc_conf_ctx_t *pctx = cf->ctx;
    (void) cmd;
    fc_conf_ctx_t *ctx = fc_pcalloc(cf->pool, sizeof(*ctx));
    if (ctx == NULL)
        return FC_CONF_ERROR;
    ctx->main_conf = pctx->main_conf;
    ctx->srv_conf = pctx->srv_conf;
    if (fc_http_create_loc_confs(cf, ctx) != FC_OK)
        return FC_CONF_ERROR;
    fc_http_core_loc_conf_t *clcf = loc_core(ctx->loc_conf);
    clcf->loc_conf = ctx->loc_conf;
    char *rv = loc_parse_name(cf, clcf);
    if (rv == FC_CONF_OK)
        rv = loc_check_nesting(cf, pclcf, clcf);
    if (rv != FC_CONF_OK)
        return rv;
    if (pclcf->locations == NULL &&
        (pclcf->locations = fc_array_create(cf->pool, 4, sizeof(void *))) == NULL)
        return FC_CONF_ERROR;
    fc_http_core_loc_conf_t **slot = fc_array_push(pclcf->locations);
    if (slot == NULL)
        return FC_CONF_ERROR;
    *slot = clcf;

    fc_conf_t saved = *cf;
    cf->ctx = ctx;
    cf->cmd_type = FC_HTTP_LOC_CONF;
    int rc = fc_conf_parse(cf, NULL);
    cf->ctx = saved.ctx;
    cf->cmd_type = saved.cmd_type;
    return rc == FC_OK ? FC_CONF_OK : FC_CONF_ERROR;
}

/* ---- building the tables ---------------------------------------------------------- */

static int
loc_sort_cmp(const void *a, const void *b)
{
    const loc_sort_t *x = a, *y = b;
    const fc_str_t *p = &x->clcf->name, *q = &y->clcf->name;
    int rc = memcmp(p->data, q->data, fc_min(p->len, q->len));
    if (rc == 0 && p->len != q->len)
        rc = p->len < q->len ? -1 : 1;
    if (rc == 0)
        rc = x->seq < y->seq ? -1 : x->seq > y->seq;
    return rc;
}

/* Sorts n locations by name into out; a name seen twice is a duplicate (the later one is named). */
static int
loc_sort(fc_conf_t *cf, loc_sort_t *tmp, size_t n, fc_http_core_loc_conf_t **out)
{
    int rc = FC_OK;
    qsort(tmp, n, sizeof(*tmp), loc_sort_cmp);
    for (size_t i = 0; i < n; i++) {
        out[i] = tmp[i].clcf;
        if (i > 0 && fc_str_eq(&tmp[i].clcf->name, &tmp[i - 1].clcf->name)) {
            cf->dir_file = tmp[i].clcf->file;
            cf->dir_line = tmp[i].clcf->line;
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "duplicate location \"%.*s\"",
                              (int) tmp[i].clcf->name.len, tmp[i].clcf->name.data);
            rc = FC_ERROR;
        }
    }
    return rc;
}

/* Collects one kind of location of a level into a sorted array. */
static int
loc_collect(fc_conf_t *cf, const fc_array_t *locs, int kind, fc_http_core_loc_conf_t ***out,
            size_t *nout)
{
    fc_http_core_loc_conf_t **l = locs->elts;
    loc_sort_t *tmp = fc_palloc(cf->temp_pool, locs->nelts * sizeof(*tmp) + 1);
    size_t n = 0;
    *nout = 0;
    *out = NULL;
    if (tmp == NULL)
        return FC_ERROR;
    for (size_t i = 0; i < locs->nelts; i++) {
        int k = l[i]->noname ? -1 : l[i]->exact_match ? 0 : l[i]->named ? 2 : l[i]->regex ? 3 : 1;
        if (k == kind)
            tmp[n++] = (loc_sort_t){l[i], i};
    }
    *nout = n;
    if (n == 0)
        return FC_OK;
    if ((*out = fc_palloc(cf->pool, n * sizeof(**out))) == NULL)
        return FC_ERROR;
    return loc_sort(cf, tmp, n, *out);
}

static int
loc_init_level(fc_conf_t *cf, fc_http_core_loc_conf_t *pclcf)
{
    fc_array_t *locs = pclcf->locations;
    if (locs == NULL || locs->nelts == 0)
        return FC_OK;
    loc_static_t *st = fc_pcalloc(cf->pool, sizeof(*st));
    if (st == NULL)
        return FC_ERROR;
    pclcf->static_tree = st;
    /* Every table is built even after an error, so -t names every duplicate. */
    int rc = FC_OK;
    fc_http_core_loc_conf_t **named;
    size_t nnamed;
    if (loc_collect(cf, locs, 0, &st->exact, &st->nexact) != FC_OK)
        rc = FC_ERROR;
    if (loc_collect(cf, locs, 1, &st->prefix, &st->nprefix) != FC_OK)
        rc = FC_ERROR;
    if (loc_collect(cf, locs, 2, &named, &nnamed) != FC_OK)
        rc = FC_ERROR;
    if (named != NULL) {
        pclcf->named_locations = fc_array_create(cf->pool, nnamed, sizeof(void *));
        if (pclcf->named_locations == NULL)
            return FC_ERROR;
        memcpy(pclcf->named_locations->elts, named, nnamed * sizeof(void *));
        pclcf->named_locations->nelts = nnamed;
    }
    fc_http_core_loc_conf_t **l = locs->elts;
    for (size_t i = 0; i < locs->nelts; i++) {
        if (l[i]->regex == NULL)
            continue;
        if (pclcf->regex_locations == NULL &&
            (pclcf->regex_locations = fc_array_create(cf->pool, 4, sizeof(void *))) == NULL)
            return FC_ERROR;
        fc_http_core_loc_conf_t **slot = fc_array_push(pclcf->regex_locations);
        if (slot == NULL)
            return FC_ERROR;
        *slot = l[i];
    }
    /* Nested levels: every location may hold some but exact and named ones. */
    for (size_t i = 0; i < locs->nelts; i++) {
        if (loc_init_level(cf, l[i]) != FC_OK)
            rc = FC_ERROR;
    }
    return rc;
}

int
fc_http_init_locations(fc_conf_t *cf, fc_http_core_srv_conf_t *cscf)
{
    return loc_init_level(cf, loc_core(cscf->ctx->loc_conf));
}

/* ---- lookup ------------------------------------------------------------------------- */

/* Compares a name with key[0..len) followed by `tail` (tlen bytes): <0, 0, >0. */
static int
loc_cmp(const fc_str_t *name, const unsigned char *key, size_t len, const char *tail, size_t tlen)
{
    size_t n = fc_min(name->len, len);
    int rc = memcmp(name->data, key, n);
    if (rc != 0)
        return rc;
    if (name->len < len)
        return -1;
    size_t rest = name->len - len;
    rc = memcmp(name->data + len, tail, fc_min(rest, tlen));
    if (rc != 0)
        return rc;
    return rest < tlen ? -1 : rest > tlen;
}

/* The location named exactly key+tail in a sorted array, or NULL. */
static fc_http_core_loc_conf_t *
loc_find_eq(fc_http_core_loc_conf_t **a, size_t n, const unsigned char *key, size_t len,
            const char *tail, size_t tlen)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int rc = loc_cmp(&a[mid]->name, key, len, tail, tlen);
        if (rc == 0)
            return a[mid];
        if (rc < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/*
 * The longest name in a sorted array that key starts with. Take the
 * greatest name <= key: if it is a prefix of key it is the longest one;
 * otherwise no prefix of key longer than their common part can exist, so
 * search again for that part (it gets strictly shorter each time).
 */
static fc_http_core_loc_conf_t *
loc_longest_prefix(fc_http_core_loc_conf_t **a, size_t n, const unsigned char *key, size_t len)
{
    for (;;) {
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (loc_cmp(&a[mid]->name, key, len, "", 0) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == 0)
            return NULL;
        const fc_str_t *name = &a[lo - 1]->name;
        size_t common = 0;
        while (common < name->len && common < len && name->data[common] == key[common])
            common++;
        if (common == name->len)
            return a[lo - 1];
        len = common;
    }
}

/*
 * One level's exact and prefix locations: FC_OK (exact), FC_AGAIN (a
 * prefix; nested ones and regexes come next), FC_DONE (auto-redirect to
 * uri + "/"), FC_DECLINED (nothing). *found is set unless FC_DECLINED.
 */
static int
loc_find_static(fc_http_request_t *r, const fc_http_core_loc_conf_t *pclcf,
                fc_http_core_loc_conf_t **found)
{
    const loc_static_t *st = pclcf->static_tree;
    const fc_str_t *uri = &r->uri;
    if (st == NULL)
        return FC_DECLINED;
    fc_http_core_loc_conf_t *clcf = loc_find_eq(st->exact, st->nexact, uri->data, uri->len, "", 0);
    if (clcf) {
        *found = clcf;
        return FC_OK;
    }
    fc_http_core_loc_conf_t *prefix =
        loc_longest_prefix(st->prefix, st->nprefix, uri->data, uri->len);
    if (prefix == NULL || prefix->name.len < uri->len) {
        /* "/dir" asked, "/dir/" proxied: nginx redirects rather than taking a shorter prefix. */
        fc_http_core_loc_conf_t *e =
            loc_find_eq(st->exact, st->nexact, uri->data, uri->len, "/", 1);
        fc_http_core_loc_conf_t *p =
            loc_find_eq(st->prefix, st->nprefix, uri->data, uri->len, "/", 1);
        if ((e && e->auto_redirect) || (p && p->auto_redirect)) {
            *found = e ? e : p;
            return FC_DONE;
        }
    }
    if (prefix == NULL)
        return FC_DECLINED;
    *found = prefix;
    return FC_AGAIN;
}

/* Searches the locations inside pclcf; *found is the deepest match so far. */
static int
loc_find(fc_http_request_t *r, const fc_http_core_loc_conf_t *pclcf,
         fc_http_core_loc_conf_t **found)
{
    int noregex = 0;
    int rc = loc_find_static(r, pclcf, found);
    if (rc == FC_AGAIN) {
        noregex = (*found)->noregex;
        rc = loc_find(r, *found, found);
    }
    if (rc == FC_OK || rc == FC_DONE || rc == FC_ERROR)
        return rc;
    /* FC_DECLINED, or FC_AGAIN from a prefix (here or nested): the regexes of this level. */
    if (noregex || pclcf->regex_locations == NULL)
        return rc;
    fc_http_core_loc_conf_t **re = pclcf->regex_locations->elts;
    for (size_t i = 0; i < pclcf->regex_locations->nelts; i++) {
        int m = fc_regex_exec(re[i]->regex, &r->uri, &r->captures);
        if (m == FC_DECLINED)
            continue;
        if (m != FC_OK) {
            fc_log_error(FC_LOG_ALERT, r->connection->log, 0,
                         "regex match of location \"%.*s\" failed on \"%.*s\"",
                         (int) re[i]->name.len, re[i]->name.data, (int) r->uri.len, r->uri.data);
            return FC_ERROR;
        }
        r->named_captures = fc_http_loc_ext(re[i])->regex_names;
        *found = re[i];
        return loc_find(r, re[i], found) == FC_ERROR ? FC_ERROR : FC_OK;
    }
    return rc;
}

/* 301 to uri + "/" (+ "?args"), the URI escaped. */
static int
loc_auto_redirect(fc_http_request_t *r)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = r->uri.len + 1 + (r->args.len ? r->args.len + 1 : 0);
    for (size_t i = 0; i < r->uri.len; i++)
        len += fc_http_uri_escapes(r->uri.data[i]) ? 2 : 0;
    unsigned char *p = fc_pnalloc(r->pool, len);
    if (p == NULL)
        return FC_ERROR;
    fc_str_t url = {len, p};
    for (size_t i = 0; i < r->uri.len; i++) {
        unsigned char c = r->uri.data[i];
        if (fc_http_uri_escapes(c)) {
            *p++ = '%';
            *p++ = (unsigned char) hex[c >> 4];
            *p++ = (unsigned char) hex[c & 0xf];
        } else {
            *p++ = c;
        }
    }
    *p++ = '/';
    if (r->args.len) {
        *p++ = '?';
        memcpy(p, r->args.data, r->args.len);
    }
    if (fc_http_set_location(r, FC_HTTP_MOVED_PERMANENTLY, &url) != FC_HTTP_MOVED_PERMANENTLY)
        return FC_ERROR;
    return FC_DONE;
}

int
fc_http_core_find_location(fc_http_request_t *r)
{
    void **srv_loc = fc_http_core_srv(r)->ctx->loc_conf;
    fc_http_core_loc_conf_t *found = NULL;
    int rc = loc_find(r, loc_core(srv_loc), &found);
    if (rc == FC_ERROR)
        return FC_ERROR;
    fc_http_update_location_config(r, found ? found->loc_conf : srv_loc);
    if (rc == FC_DONE)
        return loc_auto_redirect(r);
    return found ? FC_OK : FC_DECLINED;
}

static int
loc_named_cmp(const void *key, const void *elt)
{
    const fc_str_t *name = key;
    const fc_http_core_loc_conf_t *const *clcf = elt;
    return -loc_cmp(&(*clcf)->name, name->data, name->len, "", 0);
}

void **
fc_http_core_find_named(fc_http_core_srv_conf_t *cscf, const fc_str_t *name)
{
    const fc_array_t *named = loc_core(cscf->ctx->loc_conf)->named_locations;
    if (named == NULL)
        return NULL;
    fc_http_core_loc_conf_t **clcf =
        bsearch(name, named->elts, named->nelts, sizeof(void *), loc_named_cmp);
    return clcf ? (*clcf)->loc_conf : NULL;
}

/* ---- per-location settings ------------------------------------------------------- */

/* nginx's user agents for keepalive_disable: old MSIE (POST only) and Safari on macOS. */
static int
loc_keepalive_disabled(fc_http_request_t *r, int mask)
{
    const fc_http_field_t *ua = r->headers_in.user_agent;
    if (ua == NULL || mask == 0)
        return 0;
    const char *s = (const char *) ua->value.data;
    size_t n = ua->value.len;
    if ((mask & 1) && r->method == FC_HTTP_METHOD_POST && fc_http_ua_msie6(&ua->value))
        return 1;
    if ((mask & 2) && memmem(s, n, "Safari/", 7) && memmem(s, n, "Mac OS X", 8) &&
        memmem(s, n, "Chrome/", 7) == NULL)
        return 1;
    return 0;
}

void
fc_http_update_location_config(fc_http_request_t *r, void **loc_conf)
{
    r->loc_conf = loc_conf;
    const fc_http_core_loc_conf_t *clcf = loc_core(loc_conf);
    fc_http_connection_t *hc = r->http_connection;
    if (r->connection)
        fc_log_use_destinations(r->connection->log, clcf->error_log); /* the location's, as nginx */
    if (!r->keepalive || hc == NULL)
        return;
    /* The location's keep-alive limits, as nginx checks them once the location is known. */
    if (clcf->keepalive_timeout == 0 || (int64_t) hc->requests >= clcf->keepalive_requests ||
        fc_current_msec() - hc->start_msec >= clcf->keepalive_time ||
        loc_keepalive_disabled(r, clcf->keepalive_disable_msie6))
        r->keepalive = 0;
}
