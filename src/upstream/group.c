/*
 * group.c: upstream groups as configured: `server` lines, the balancing
 * method directives, validation, and compiling the peer sets.
 */
#include "core/fc_core.h"
#include "core/inet.h"
#include "upstream/upstream.h"
#include "upstream/internal.h"

static const char *grp_errf(fc_pool_t *pool, const char *fmt, ...) FC_PRINTF(2, 3);

/* Formats an error reason in pool memory; a static fallback if that fails. */
static const char *
grp_errf(fc_pool_t *pool, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return "invalid server";
    size_t len = fc_min((size_t)n, sizeof(buf) - 1);
    char *p = fc_pnalloc(pool, len + 1);
    if (p == NULL)
        return "out of memory";
    memcpy(p, buf, len);
    p[len] = '\0';
    return p;
}

fc_upstream_group_t *
fc_upstream_group_create(fc_pool_t *pool, const fc_str_t *name, const fc_str_t *file, unsigned line)
{
    fc_upstream_group_t *g = fc_pcalloc(pool, sizeof(*g));
    if (g == NULL)
        return NULL;
    g->pool = pool;
    g->line = line;
    if (fc_array_init(&g->servers, pool, 4, sizeof(fc_upstream_server_t)) != FC_OK)
        return NULL;
    if (name && fc_str_dup(pool, &g->name, name) != FC_OK)
        return NULL;
    if (file && fc_str_dup(pool, &g->file, file) != FC_OK)
        return NULL;
    fc_upstream_group_seed(g, 0x9e3779b97f4a7c15ull);
    return g;
}

fc_upstream_server_t *
fc_upstream_server_add(fc_upstream_group_t *g, const fc_url_t *u)
{
    fc_upstream_server_t *s = fc_array_push(&g->servers);
    if (s == NULL)
        return NULL;
    s->weight = 1;
    s->max_fails = 1;
    s->fail_timeout = FC_UPSTREAM_FAIL_TIMEOUT;
    if (fc_str_dup(g->pool, &s->name, &u->url) != FC_OK)
        return NULL;
    s->addrs = fc_palloc(g->pool, (u->naddrs ? u->naddrs : 1) * sizeof(fc_addr_t));
    if (s->addrs == NULL)
        return NULL;
    memcpy(s->addrs, u->addrs, u->naddrs * sizeof(fc_addr_t));
    s->naddrs = u->naddrs;
    return s;
}

/* Parses the number after "name=" into *out; FC_ERROR if invalid or above max. */
static int
grp_param_num(const fc_str_t *arg, size_t skip, int64_t max, int64_t *out)
{
    int64_t v = fc_atoi(arg->data + skip, arg->len - skip);
    if (v < 0 || v > max)
        return FC_ERROR;
    *out = v;
    return FC_OK;
}

/* 1 if arg starts with the C string prefix. */
static int
grp_prefix(const fc_str_t *arg, const char *prefix)
{
    size_t n = strlen(prefix);
    return arg->len >= n && memcmp(arg->data, prefix, n) == 0;
}

/* One `server` parameter into s; FC_ERROR with *err. */
static int
grp_server_param(fc_upstream_group_t *g, fc_upstream_server_t *s, const fc_str_t *arg,
                 const char **err)
{
    int64_t v;
    int len = (int)arg->len;
    const char *p = (const char *)arg->data;
    if (grp_prefix(arg, "weight=")) {
        if (grp_param_num(arg, 7, INT32_MAX, &v) != FC_OK || v == 0)
            goto invalid_value;
        s->weight = (int)v;
    } else if (grp_prefix(arg, "max_fails=")) {
        if (grp_param_num(arg, 10, INT32_MAX, &v) != FC_OK)
            goto invalid_value;
        s->max_fails = (unsigned)v;
    } else if (grp_prefix(arg, "max_conns=")) {
        if (grp_param_num(arg, 10, INT32_MAX, &v) != FC_OK)
            goto invalid_value;
        s->max_conns = (unsigned)v;
    } else if (grp_prefix(arg, "fail_timeout=")) {
        fc_str_t t = {arg->len - 13, arg->data + 13};
        v = t.len ? fc_parse_time(&t, 1000) : FC_ERROR;
        /* as nginx, whole seconds: a value in milliseconds is invalid */
        if (v < 0 || memmem(t.data, t.len, "ms", 2) != NULL)
            goto invalid_value;
        s->fail_timeout = v;
    } else if (fc_str_eq_c(arg, "backup")) {
        if (g->method_set && g->method != FC_UPSTREAM_LEAST_CONN) {
            *err = "balancing method does not support \"backup\"";
            return FC_ERROR;
        }
        s->backup = 1;
    } else if (fc_str_eq_c(arg, "down")) {
        s->down = 1;
    } else {
        *err = grp_errf(g->pool, "invalid parameter \"%.*s\"", len, p);
        return FC_ERROR;
    }
    return FC_OK;

invalid_value:
    /* nginx names the whole parameter: invalid parameter "weight=0". */
    *err = grp_errf(g->pool, "invalid parameter \"%.*s\"", len, p);
    return FC_ERROR;
}

int
fc_upstream_server_parse(fc_upstream_group_t *g, const fc_str_t *args, size_t nargs,
                         in_port_t default_port, const char **err)
{
    fc_upstream_server_t params = {
        .weight = 1, .max_fails = 1, .fail_timeout = FC_UPSTREAM_FAIL_TIMEOUT};
    if (nargs == 0) {
        *err = "invalid number of arguments in \"server\" directive";
        return FC_ERROR;
    }
    for (size_t i = 1; i < nargs; i++) {
        if (grp_server_param(g, &params, &args[i], err) != FC_OK)
            return FC_ERROR;
    }
    fc_url_t u;
    const char *uerr = NULL;
    if (fc_url_parse(g->pool, &u, &args[0], default_port, 0, &uerr) != FC_OK) {
        *err = grp_errf(g->pool, "%s in upstream \"%.*s\"", uerr ? uerr : "invalid address",
                        (int)args[0].len, (const char *)args[0].data);
        return FC_ERROR;
    }
    fc_upstream_server_t *s = fc_upstream_server_add(g, &u);
    if (s == NULL) {
        *err = "out of memory";
        return FC_ERROR;
    }
    params.name = s->name;
    params.addrs = s->addrs;
    params.naddrs = s->naddrs;
    *s = params;
    return FC_OK;
}

int
fc_upstream_method_set(fc_upstream_group_t *g, fc_upstream_method_e method)
{
    int rc = g->method_set ? FC_DECLINED : FC_OK;
    g->method = method;
    g->method_set = 1;
    g->consistent = 0;
    g->two = 0;
    return rc;
}

int
fc_upstream_hash_parse(fc_upstream_group_t *g, const fc_str_t *args, size_t nargs, const char **err)
{
    if (nargs < 1 || nargs > 2) {
        *err = "invalid number of arguments in \"hash\" directive";
        return FC_ERROR;
    }
    if (nargs == 2 && !fc_str_eq_c(&args[1], "consistent")) {
        *err = grp_errf(g->pool, "invalid parameter \"%.*s\"", (int)args[1].len,
                        (const char *)args[1].data);
        return FC_ERROR;
    }
    if (fc_str_dup(g->pool, &g->hash_key, &args[0]) != FC_OK) {
        *err = "out of memory";
        return FC_ERROR;
    }
    int rc = fc_upstream_method_set(g, FC_UPSTREAM_HASH);
    g->consistent = nargs == 2;
    return rc;
}

int
fc_upstream_random_parse(fc_upstream_group_t *g, const fc_str_t *args, size_t nargs,
                         const char **err)
{
    const fc_str_t *bad = NULL;
    if (nargs > 2) {
        *err = "invalid number of arguments in \"random\" directive";
        return FC_ERROR;
    }
    if (nargs >= 1 && !fc_str_eq_c(&args[0], "two"))
        bad = &args[0];
    else if (nargs == 2 && !fc_str_eq_c(&args[1], "least_conn"))
        bad = &args[1];
    if (bad) {
        *err =
            grp_errf(g->pool, "invalid parameter \"%.*s\"", (int)bad->len, (const char *)bad->data);
        return FC_ERROR;
    }
    int rc = fc_upstream_method_set(g, FC_UPSTREAM_RANDOM);
    g->two = nargs >= 1;
    return rc;
}

int
fc_upstream_group_check(const fc_upstream_group_t *g, const char **err)
{
    const fc_upstream_server_t *s = g->servers.elts;
    size_t primary = 0, backup = 0;
    if (g->servers.nelts == 0) {
        *err = "no servers are inside upstream";
        return FC_ERROR;
    }
    for (size_t i = 0; i < g->servers.nelts; i++) {
        if (s[i].backup)
            backup += s[i].naddrs;
        else
            primary += s[i].naddrs;
    }
    if (backup && g->method != FC_UPSTREAM_RR && g->method != FC_UPSTREAM_LEAST_CONN) {
        *err = "balancing method does not support \"backup\"";
        return FC_ERROR;
    }
    if (primary == 0) {
        *err = grp_errf(g->pool, "no servers in upstream \"%.*s\"", (int)g->name.len,
                        (const char *)g->name.data);
        return FC_ERROR;
    }
    return FC_OK;
}

/* Compiles the servers with backup == want into a peer set. */
static int
grp_peers_build(fc_upstream_group_t *g, fc_upstream_peers_t *set, unsigned want)
{
    fc_upstream_server_t *s = g->servers.elts;
    size_t n = 0;
    for (size_t i = 0; i < g->servers.nelts; i++)
        n += s[i].backup == want ? s[i].naddrs : 0;
    set->backup = want;
    if (n == 0)
        return FC_OK;
    set->peer = fc_pcalloc(g->pool, n * sizeof(fc_upstream_peer_t));
    if (set->peer == NULL)
        return FC_ERROR;
    for (size_t i = 0; i < g->servers.nelts; i++) {
        if (s[i].backup != want)
            continue;
        for (size_t j = 0; j < s[i].naddrs; j++) {
            fc_upstream_peer_t *p = &set->peer[set->number++];
            p->addr = s[i].addrs[j];
            p->server = &s[i].name;
            p->weight = s[i].weight;
            p->effective_weight = s[i].weight;
            p->max_fails = s[i].max_fails;
            p->max_conns = s[i].max_conns;
            p->fail_timeout = s[i].fail_timeout;
            p->down = s[i].down;
            set->total_weight += s[i].weight;
        }
    }
    return FC_OK;
}

int
fc_upstream_group_init(fc_upstream_group_t *g, const char **err)
{
    if (g->initialized) {
        *err = NULL;
        return FC_OK;
    }
    if (fc_upstream_group_check(g, err) != FC_OK)
        return FC_ERROR;
    *err = "out of memory";
    if (grp_peers_build(g, &g->primary, 0) != FC_OK || grp_peers_build(g, &g->backup, 1) != FC_OK)
        return FC_ERROR;
    g->primary.single = g->primary.number == 1 && g->backup.number == 0;
    if (g->method == FC_UPSTREAM_HASH && g->consistent && fc_upstream_chash_init(g) != FC_OK)
        return FC_ERROR;
    if (g->method == FC_UPSTREAM_RANDOM && fc_upstream_random_init(g) != FC_OK)
        return FC_ERROR;
    g->initialized = 1;
    *err = NULL;
    return FC_OK;
}

fc_upstream_group_t *
fc_upstream_group_implicit(fc_pool_t *pool, const fc_url_t *u)
{
    const char *err;
    fc_upstream_group_t *g = fc_upstream_group_create(pool, &u->url, NULL, 0);
    if (g == NULL || fc_upstream_server_add(g, u) == NULL)
        return NULL;
    g->implicit = 1;
    if (fc_upstream_group_init(g, &err) != FC_OK)
        return NULL;
    return g;
}
