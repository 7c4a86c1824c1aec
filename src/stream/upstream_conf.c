/*
 * upstream_conf.c: upstream{} blocks in stream (server, least_conn, hash,
 * random). The balancing itself is the shared library in src/upstream; this
 * file only turns directives into groups and compiles hash keys into
 * variable scripts.
 */
#include "stream/stream.h"

typedef struct {
    fc_array_t upstreams; /* fc_stream_upstream_t * */
} ups_main_conf_t;

static void *ups_create_main_conf(fc_conf_t *cf);
static char *ups_init_main_conf(fc_conf_t *cf, void *conf);
static int ups_init_worker(fc_cycle_t *cycle);
static char *ups_block(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *ups_server(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *ups_method(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

static const fc_command_t ups_commands[] = {
    {"upstream", FC_STREAM_MAIN_CONF | FC_CONF_BLOCK | FC_CONF_TAKE1, ups_block, 0, 0, NULL},
    {"server", FC_STREAM_UPS_CONF | FC_CONF_1MORE, ups_server, FC_CONF_SRV_OFFSET, 0, NULL},
    {"least_conn", FC_STREAM_UPS_CONF | FC_CONF_NOARGS, ups_method, FC_CONF_SRV_OFFSET, 0, NULL},
    {"hash", FC_STREAM_UPS_CONF | FC_CONF_TAKE12, ups_method, FC_CONF_SRV_OFFSET, 0, NULL},
    {"random", FC_STREAM_UPS_CONF | FC_CONF_NOARGS | FC_CONF_TAKE12, ups_method,
     FC_CONF_SRV_OFFSET, 0, NULL},
    fc_null_command};

static const fc_layer_module_ctx_t ups_ctx = {
    .create_main_conf = ups_create_main_conf,
    .init_main_conf = ups_init_main_conf,
};

fc_module_t fc_stream_upstream_module = {
    .name = "stream_upstream",
    .type = FC_STREAM_MODULE,
    .commands = ups_commands,
    .ctx = &ups_ctx,
    .init_worker = ups_init_worker,
};

static void *
ups_create_main_conf(fc_conf_t *cf)
{
    ups_main_conf_t *umcf = fc_pcalloc(cf->pool, sizeof(*umcf));
    if (umcf == NULL || fc_array_init(&umcf->upstreams, cf->pool, 4, sizeof(void *)) != FC_OK)
        return NULL;
    return umcf;
}

fc_stream_upstream_t *
fc_stream_upstream_add(fc_conf_t *cf, const fc_str_t *name, int define)
{
    ups_main_conf_t *umcf = fc_stream_conf_get_main(cf, fc_stream_upstream_module);
    fc_stream_upstream_t **u = umcf->upstreams.elts;
    for (size_t i = 0; i < umcf->upstreams.nelts; i++) {
        if (!fc_str_caseeq(&u[i]->group->name, name))
            continue;
        if (define && u[i]->defined) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "duplicate upstream \"%.*s\"",
                              (int) name->len, name->data);
            return NULL;
        }
        if (define) {
            u[i]->defined = 1;
            u[i]->group->file.data = (unsigned char *) cf->dir_file;
            u[i]->group->file.len = strlen(cf->dir_file);
            u[i]->group->line = cf->dir_line;
        }
        return u[i];
    }
    fc_stream_upstream_t *su = fc_pcalloc(cf->pool, sizeof(*su));
    fc_str_t file = {strlen(cf->dir_file), (unsigned char *) cf->dir_file};
    fc_stream_upstream_t **slot = fc_array_push(&umcf->upstreams);
    if (su == NULL || slot == NULL)
        return NULL;
    su->group = fc_upstream_group_create(cf->pool, name, &file, cf->dir_line);
    if (su->group == NULL)
        return NULL;
    su->defined = define;
    su->ref_file = cf->dir_file;
    su->ref_line = cf->dir_line;
    *slot = su;
    return su;
}

static char *
ups_block(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) cmd;
    (void) conf;
    fc_stream_upstream_t *su = fc_stream_upstream_add(cf, &fc_conf_args(cf)[1], 1);
    if (su == NULL)
        return FC_CONF_ERROR;
    const char *file = cf->dir_file;
    unsigned line = cf->dir_line;

    fc_conf_ctx_t *parent = cf->ctx;
    fc_conf_ctx_t *ctx = fc_pcalloc(cf->pool, sizeof(*ctx));
    size_t n = fc_modules_count(FC_STREAM_MODULE);
    if (ctx == NULL || (ctx->srv_conf = fc_pcalloc(cf->pool, n * sizeof(void *))) == NULL)
        return FC_CONF_ERROR;
    ctx->main_conf = parent->main_conf;
    ctx->srv_conf[fc_stream_upstream_module.ctx_index] = su;

    fc_conf_t saved = *cf;
    cf->ctx = ctx;
    cf->cmd_type = FC_STREAM_UPS_CONF;
    unsigned errors = cf->errors;
    int rc = fc_conf_parse(cf, NULL);
    cf->ctx = saved.ctx;
    cf->cmd_type = saved.cmd_type;
    if (rc != FC_OK || cf->errors != errors)
        return FC_CONF_ERROR;
    const char *err;
    if (fc_upstream_group_check(su->group, &err) != FC_OK) {
        cf->dir_file = file;
        cf->dir_line = line;
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s", err);
        return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

static char *
ups_server(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_stream_upstream_t *su = conf;
    const char *err;
    (void) cmd;
    if (fc_upstream_server_parse(su->group, &fc_conf_args(cf)[1], fc_conf_nargs(cf) - 1, 0,
                                 &err) != FC_OK) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s", err);
        return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

static char *
ups_method(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_stream_upstream_t *su = conf;
    fc_str_t *args = fc_conf_args(cf);
    size_t nargs = fc_conf_nargs(cf) - 1;
    const char *err = NULL;
    int rc;
    if (strcmp(cmd->name, "least_conn") == 0)
        rc = fc_upstream_method_set(su->group, FC_UPSTREAM_LEAST_CONN);
    else if (strcmp(cmd->name, "hash") == 0)
        rc = fc_upstream_hash_parse(su->group, &args[1], nargs, &err);
    else
        rc = fc_upstream_random_parse(su->group, &args[1], nargs, &err);
    if (rc == FC_ERROR) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s", err ? err : "invalid method");
        return FC_CONF_ERROR;
    }
    if (rc == FC_DECLINED)
        fc_conf_log_error(FC_LOG_WARN, cf, 0, "load balancing method redefined");
    return FC_CONF_OK;
}

static char *
ups_init_main_conf(fc_conf_t *cf, void *conf)
{
    ups_main_conf_t *umcf = conf;
    fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
    fc_stream_upstream_t **u = umcf->upstreams.elts;
    int rc = FC_OK;
    for (size_t i = 0; i < umcf->upstreams.nelts; i++) {
        fc_upstream_group_t *g = u[i]->group;
        cf->dir_file = u[i]->ref_file;
        cf->dir_line = u[i]->ref_line;
        if (!u[i]->defined) {
            /* nginx's wording: a name that is no upstream{} is a host without a port. */
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "no port in upstream \"%.*s\"",
                              (int) g->name.len, g->name.data);
            rc = FC_ERROR;
            continue;
        }
        cf->dir_file = (const char *) g->file.data;
        cf->dir_line = g->line;
        if (g->method == FC_UPSTREAM_HASH &&
            fc_cv_compile(cf, &cmcf->vars, &g->hash_key, &u[i]->hash_key) != FC_OK) {
            rc = FC_ERROR;
            continue;
        }
        const char *err;
        if (fc_upstream_group_init(g, &err) != FC_OK) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s in upstream \"%.*s\"", err,
                              (int) g->name.len, g->name.data);
            rc = FC_ERROR;
        }
    }
    return rc == FC_OK ? FC_CONF_OK : FC_CONF_ERROR;
}

fc_stream_upstream_t *
fc_stream_upstream_find(fc_stream_session_t *s, const fc_str_t *name)
{
    ups_main_conf_t *umcf = fc_stream_get_module_main_conf(s, fc_stream_upstream_module);
    fc_stream_upstream_t **u = umcf->upstreams.elts;
    for (size_t i = 0; i < umcf->upstreams.nelts; i++) {
        if (u[i]->defined && fc_str_caseeq(&u[i]->group->name, name))
            return u[i];
    }
    return NULL;
}

static int
ups_init_worker(fc_cycle_t *cycle)
{
    fc_conf_ctx_t *ctx = fc_stream_cycle_ctx(cycle);
    if (ctx == NULL)
        return FC_OK;
    ups_main_conf_t *umcf = ctx->main_conf[fc_stream_upstream_module.ctx_index];
    fc_stream_upstream_t **u = umcf->upstreams.elts;
    /* Each worker draws its own random sequence. */
    uint64_t seed = ((uint64_t) getpid() << 32) ^ (uint64_t) fc_time()->sec ^ fc_time()->wall_ms;
    for (size_t i = 0; i < umcf->upstreams.nelts; i++)
        fc_upstream_group_seed(u[i]->group, seed + i);
    return FC_OK;
}
