/*
 * conf.c (upstream): upstream{} blocks as both layers configure them; see
 * conf.h. The balancing library itself (group.c ...) stays free of config
 * parsing; this file turns directives into calls to it.
 */
#include "core/fc_core.h"
#include "upstream/conf.h"

void *
fc_upstream_conf_add(fc_conf_t *cf, fc_array_t *records, size_t size, const fc_str_t *name,
                     int define, int *created)
{
    void **r = records->elts;
    *created = 0;
    for (size_t i = 0; i < records->nelts; i++) {
        fc_upstream_group_t *g = fc_upstream_conf_group(r[i]);
        if (g->implicit || !fc_str_caseeq(&g->name, name))
            continue;
        if (define && g->file.len) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "duplicate upstream \"%.*s\"", (int) name->len,
                              name->data);
            return NULL;
        }
        if (define) {
            g->file.data = (unsigned char *) cf->dir_file;
            g->file.len = strlen(cf->dir_file);
            g->line = cf->dir_line;
        }
        return r[i];
    }
    FC_ASSERT(size >= sizeof(fc_upstream_group_t *));
    void *rec = fc_pcalloc(cf->pool, size);
    void **slot = fc_array_push(records);
    if (rec == NULL || slot == NULL)
        return NULL;
    fc_str_t file = {strlen(cf->dir_file), (unsigned char *) cf->dir_file};
    fc_upstream_group_t *g =
        fc_upstream_group_create(cf->pool, name, define ? &file : NULL, define ? cf->dir_line : 0);
    if (g == NULL) {
        records->nelts--;
        return NULL;
    }
    fc_upstream_conf_group(rec) = g;
    *slot = rec;
    *created = 1;
    return rec;
}

int
fc_upstream_conf_defined(const fc_upstream_group_t *g)
{
    return g->implicit || g->file.len > 0;
}

void *
fc_upstream_conf_lookup(const fc_array_t *records, const fc_str_t *name)
{
    void **r = records->elts;
    for (size_t i = 0; i < records->nelts; i++) {
        fc_upstream_group_t *g = fc_upstream_conf_group(r[i]);
        if (fc_upstream_conf_defined(g) && fc_str_caseeq(&g->name, name))
            return r[i];
    }
    return NULL;
}

char *
fc_upstream_conf_block(fc_conf_t *cf, void *rec, const fc_module_t *module, unsigned cmd_type)
{
    fc_upstream_group_t *g = fc_upstream_conf_group(rec);
    fc_conf_ctx_t *parent = cf->ctx;
    fc_conf_ctx_t *ctx = fc_pcalloc(cf->pool, sizeof(*ctx));
    size_t n = fc_modules_count(module->type);
    if (ctx == NULL || (ctx->srv_conf = fc_pcalloc(cf->pool, n * sizeof(void *))) == NULL)
        return FC_CONF_ERROR;
    ctx->main_conf = parent->main_conf;
    ctx->srv_conf[module->ctx_index] = rec;
    ctx->loc_conf = ctx->srv_conf; /* nothing in the block has a location level */

    fc_conf_t saved = *cf;
    cf->ctx = ctx;
    cf->cmd_type = cmd_type;
    unsigned errors = cf->errors;
    int rc = fc_conf_parse(cf, NULL);
    cf->ctx = saved.ctx;
    cf->cmd_type = saved.cmd_type;
    if (rc != FC_OK || cf->errors != errors)
        return FC_CONF_ERROR;
    const char *err;
    if (fc_upstream_group_check(g, &err) != FC_OK) {
        cf->dir_file = (const char *) g->file.data;
        cf->dir_line = g->line;
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s", err);
        return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

/* Server parameters of commercial nginx or newer releases that we do not have. */
static const char *const upsc_unsupported[] = {
    "resolve", "drain", "service=", "route=", "slow_start=", NULL};

char *
fc_upstream_conf_server(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_upstream_group_t *g = fc_upstream_conf_group(conf);
    fc_str_t *args = fc_conf_args(cf);
    size_t nargs = fc_conf_nargs(cf) - 1;
    in_port_t port = cmd->post ? *(const in_port_t *) cmd->post : 0;
    for (size_t i = 2; i <= nargs; i++) {
        for (const char *const *u = upsc_unsupported; *u; u++) {
            size_t n = strlen(*u);
            int prefix = (*u)[n - 1] == '=';
            if (prefix ? args[i].len >= n && memcmp(args[i].data, *u, n) == 0
                       : fc_str_eq_c(&args[i], *u)) {
                fc_conf_log_error(FC_LOG_EMERG, cf, 0, "parameter \"%.*s\" is not implemented",
                                  (int) (prefix ? n - 1 : n), *u);
                return FC_CONF_ERROR;
            }
        }
    }
    const char *err;
    if (fc_upstream_server_parse(g, &args[1], nargs, port, &err) != FC_OK) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s", err);
        return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

char *
fc_upstream_conf_method(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_upstream_group_t *g = fc_upstream_conf_group(conf);
    fc_str_t *args = fc_conf_args(cf);
    size_t nargs = fc_conf_nargs(cf) - 1;
    const char *err = NULL;
    int rc;
    if (strcmp(cmd->name, "least_conn") == 0)
        rc = fc_upstream_method_set(g, FC_UPSTREAM_LEAST_CONN);
    else if (strcmp(cmd->name, "ip_hash") == 0)
        rc = fc_upstream_method_set(g, FC_UPSTREAM_IP_HASH);
    else if (strcmp(cmd->name, "hash") == 0)
        rc = fc_upstream_hash_parse(g, &args[1], nargs, &err);
    else
        rc = fc_upstream_random_parse(g, &args[1], nargs, &err);
    if (rc == FC_ERROR) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s", err ? err : "invalid method");
        return FC_CONF_ERROR;
    }
    if (rc == FC_DECLINED)
        fc_conf_log_error(FC_LOG_WARN, cf, 0, "load balancing method redefined");
    return FC_CONF_OK;
}

char *
fc_upstream_conf_not_implemented(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) cf;
    (void) cmd;
    (void) conf;
    return "is not implemented";
}

int
fc_upstream_conf_init_group(fc_conf_t *cf, fc_upstream_group_t *g, fc_var_registry_t *vars,
                            fc_cv_t *hash_key)
{
    if (g->initialized)
        return FC_OK; /* implicit groups are ready from the start */
    cf->dir_file = (const char *) g->file.data;
    cf->dir_line = g->line;
    if (g->method == FC_UPSTREAM_HASH && fc_cv_compile(cf, vars, &g->hash_key, hash_key) != FC_OK)
        return FC_ERROR;
    const char *err;
    if (fc_upstream_group_init(g, &err) != FC_OK) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s in upstream \"%.*s\"", err, (int) g->name.len,
                          g->name.data);
        return FC_ERROR;
    }
    return FC_OK;
}

void
fc_upstream_conf_seed(const fc_array_t *records)
{
    void **r = records->elts;
    /* Each worker draws its own random sequence. */
    uint64_t seed = ((uint64_t) getpid() << 32) ^ (uint64_t) fc_time()->sec ^ fc_time()->wall_ms;
    for (size_t i = 0; i < records->nelts; i++)
        fc_upstream_group_seed(fc_upstream_conf_group(r[i]), seed + i);
}
