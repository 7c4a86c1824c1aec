/*
 * upstream_conf.c (http): upstream{} blocks of the http{} block: the shared
 * directives (server, least_conn, ip_hash, hash, random; src/upstream/
 * conf.c) plus nginx's keepalive module directives. The groups live in the
 * http core main conf (`upstreams`); each is initialised once the whole
 * http{} block is read, and each worker seeds its own random sequence.
 */
#include "http/upstream.h"
#include "upstream/conf.h"

_Static_assert(offsetof(fc_http_upstream_srv_t, group) == 0,
               "the group is the record's first member");

#define UPS_KEEPALIVE_TIMEOUT 60000
#define UPS_KEEPALIVE_REQUESTS 1000
#define UPS_KEEPALIVE_TIME 3600000

static int ups_preconfiguration(fc_conf_t *cf);
static char *ups_init_main_conf(fc_conf_t *cf, void *conf);
static int ups_init_worker(fc_cycle_t *cycle);
static char *ups_block(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *ups_keepalive(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

static const in_port_t ups_default_port = 80;

/* The rest of a row for a directive of the upstream{} block. */
#define UPS(args, set, offset, post)                                                               \
    FC_HTTP_UPS_CONF | (args), set, FC_CONF_SRV_OFFSET, offset, post
#define UPS_REJECT UPS(FC_CONF_ANY, fc_upstream_conf_not_implemented, 0, NULL)

static const fc_command_t ups_commands[] = {
    {"upstream", FC_HTTP_MAIN_CONF | FC_CONF_BLOCK | FC_CONF_TAKE1, ups_block, 0, 0, NULL},
    {"server", UPS(FC_CONF_1MORE, fc_upstream_conf_server, 0, &ups_default_port)},
    {"least_conn", UPS(FC_CONF_NOARGS, fc_upstream_conf_method, 0, NULL)},
    {"ip_hash", UPS(FC_CONF_NOARGS, fc_upstream_conf_method, 0, NULL)},
    {"hash", UPS(FC_CONF_TAKE12, fc_upstream_conf_method, 0, NULL)},
    {"random", UPS(FC_CONF_NOARGS | FC_CONF_TAKE12, fc_upstream_conf_method, 0, NULL)},
    {"keepalive", UPS(FC_CONF_TAKE1, ups_keepalive, 0, NULL)},
    {"keepalive_timeout", UPS(FC_CONF_TAKE1, fc_conf_set_msec_slot,
                              offsetof(fc_http_upstream_srv_t, keepalive_timeout), NULL)},
    {"keepalive_requests", UPS(FC_CONF_TAKE1, fc_conf_set_num_slot,
                               offsetof(fc_http_upstream_srv_t, keepalive_requests), NULL)},
    {"keepalive_time", UPS(FC_CONF_TAKE1, fc_conf_set_msec_slot,
                           offsetof(fc_http_upstream_srv_t, keepalive_time), NULL)},
    /* nginx Plus or third-party: rejected loudly rather than ignored. */
    {"zone", UPS_REJECT},
    {"state", UPS_REJECT},
    {"sticky", UPS_REJECT},
    {"sticky_cookie_insert", UPS_REJECT},
    {"ntlm", UPS_REJECT},
    {"queue", UPS_REJECT},
    {"least_time", UPS_REJECT},
    {"resolver", UPS_REJECT},
    {"resolver_timeout", UPS_REJECT},
    fc_null_command};

static const fc_layer_module_ctx_t ups_ctx = {
    .preconfiguration = ups_preconfiguration,
    .init_main_conf = ups_init_main_conf,
};

fc_module_t fc_http_upstream_module = {
    .name = "http_upstream",
    .type = FC_HTTP_MODULE,
    .commands = ups_commands,
    .ctx = &ups_ctx,
    .init_worker = ups_init_worker,
};

static fc_http_core_main_conf_t *
ups_cmcf(fc_conf_t *cf)
{
    return fc_http_conf_get_main(cf, fc_http_core_module);
}

static int
ups_preconfiguration(fc_conf_t *cf)
{
    fc_http_core_main_conf_t *cmcf = ups_cmcf(cf);
    /* Ours (http.h); the core may have set it up already. */
    if (cmcf->upstreams.elts == NULL &&
        fc_array_init(&cmcf->upstreams, cf->pool, 4, sizeof(fc_http_upstream_srv_t *)) != FC_OK)
        return FC_ERROR;
    return fc_http_upstream_variables_add(&cmcf->vars);
}

/* A fresh record: keep-alive settings unset until the end of the block. */
static void
ups_record_init(fc_conf_t *cf, fc_http_upstream_srv_t *us)
{
    us->ref_file = cf->dir_file;
    us->ref_line = cf->dir_line;
    us->keepalive = 0;
    us->keepalive_timeout = FC_UNSET_MSEC;
    us->keepalive_requests = FC_UNSET;
    us->keepalive_time = FC_UNSET_MSEC;
}

fc_http_upstream_srv_t *
fc_http_upstream_add(fc_conf_t *cf, const fc_str_t *name, int define)
{
    int created;
    fc_http_upstream_srv_t *us =
        fc_upstream_conf_add(cf, &ups_cmcf(cf)->upstreams, sizeof(*us), name, define, &created);
    if (us == NULL)
        return NULL;
    if (created)
        ups_record_init(cf, us);
    us->defined |= define ? 1 : 0;
    return us;
}

fc_http_upstream_srv_t *
fc_http_upstream_implicit(fc_conf_t *cf, const fc_url_t *u)
{
    fc_array_t *records = &ups_cmcf(cf)->upstreams;
    fc_http_upstream_srv_t **r = records->elts;
    /* Every proxy_pass to the same address shares one group (and its peer state), as nginx. */
    for (size_t i = 0; i < records->nelts; i++) {
        if (r[i]->group->implicit && fc_str_caseeq(&r[i]->group->name, &u->url))
            return r[i];
    }
    fc_http_upstream_srv_t *us = fc_pcalloc(cf->pool, sizeof(*us));
    fc_http_upstream_srv_t **slot = fc_array_push(records);
    if (us == NULL || slot == NULL)
        return NULL;
    ups_record_init(cf, us);
    us->group = fc_upstream_group_implicit(cf->pool, u);
    if (us->group == NULL) {
        records->nelts--;
        return NULL;
    }
    us->defined = 1;
    *slot = us;
    return us;
}

fc_http_upstream_srv_t *
fc_http_upstream_find(fc_http_request_t *r, const fc_str_t *name)
{
    return fc_upstream_conf_lookup(&fc_http_core_main(r)->upstreams, name);
}

static char *
ups_block(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) cmd;
    (void) conf;
    fc_http_upstream_srv_t *us = fc_http_upstream_add(cf, &fc_conf_args(cf)[1], 1);
    if (us == NULL)
        return FC_CONF_ERROR;
    return fc_upstream_conf_block(cf, us, &fc_http_upstream_module, FC_HTTP_UPS_CONF);
}

static char *
ups_keepalive(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_http_upstream_srv_t *us = conf;
    fc_str_t *v = &fc_conf_args(cf)[1];
    if (us->keepalive)
        return "is duplicate";
    int64_t n = fc_atoi(v->data, v->len);
    if (n <= 0) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid value \"%.*s\" in \"%s\" directive",
                          (int) v->len, v->data, cmd->name);
        return FC_CONF_ERROR;
    }
    us->keepalive = (size_t) n;
    return FC_CONF_OK;
}

/*
 * A name used by proxy_pass that no upstream{} defined is, as in nginx, a
 * host name on port 80: resolved now into an implicit group, or an error.
 */
static int
ups_resolve_undefined(fc_conf_t *cf, fc_http_upstream_srv_t *us)
{
    fc_upstream_group_t *g = us->group;
    fc_url_t u;
    const char *err;
    cf->dir_file = us->ref_file;
    cf->dir_line = us->ref_line;
    if (fc_url_parse(cf->pool, &u, &g->name, ups_default_port, 0, &err) != FC_OK || u.naddrs == 0) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "host not found in upstream \"%.*s\"",
                          (int) g->name.len, g->name.data);
        return FC_ERROR;
    }
    us->group = fc_upstream_group_implicit(cf->pool, &u);
    if (us->group == NULL)
        return FC_ERROR;
    us->defined = 1;
    return FC_OK;
}

static char *
ups_init_main_conf(fc_conf_t *cf, void *conf)
{
    fc_http_core_main_conf_t *cmcf = ups_cmcf(cf);
    fc_http_upstream_srv_t **u = cmcf->upstreams.elts;
    int rc = FC_OK;
    (void) conf;
    for (size_t i = 0; i < cmcf->upstreams.nelts; i++) {
        fc_http_upstream_srv_t *us = u[i];
        if (!us->defined && ups_resolve_undefined(cf, us) != FC_OK) {
            rc = FC_ERROR;
            continue;
        }
        if (fc_upstream_conf_init_group(cf, us->group, &cmcf->vars, &us->hash_key) != FC_OK) {
            rc = FC_ERROR;
            continue;
        }
        if (us->keepalive_timeout == FC_UNSET_MSEC)
            us->keepalive_timeout = UPS_KEEPALIVE_TIMEOUT;
        if (us->keepalive_requests == FC_UNSET)
            us->keepalive_requests = UPS_KEEPALIVE_REQUESTS;
        if (us->keepalive_time == FC_UNSET_MSEC)
            us->keepalive_time = UPS_KEEPALIVE_TIME;
    }
    return rc == FC_OK ? FC_CONF_OK : FC_CONF_ERROR;
}

static int
ups_init_worker(fc_cycle_t *cycle)
{
    fc_conf_ctx_t *ctx = fc_http_cycle_ctx(cycle);
    if (ctx == NULL)
        return FC_OK;
    fc_http_core_main_conf_t *cmcf = ctx->main_conf[fc_http_core_module.ctx_index];
    fc_upstream_conf_seed(&cmcf->upstreams);
    return FC_OK;
}
