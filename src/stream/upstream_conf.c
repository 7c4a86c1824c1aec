/*
 * upstream_conf.c: upstream{} blocks in stream (server, least_conn, hash,
 * random). The directives are the ones both layers share (src/upstream/
 * conf.c); this file keeps the stream records and compiles hash keys with
 * the stream variables.
 */
#include "stream/stream.h"
#include "upstream/conf.h"

_Static_assert(offsetof(fc_stream_upstream_t, group) == 0,
               "the group is the record's first member");

typedef struct {
    fc_array_t upstreams; /* fc_stream_upstream_t * */
} ups_main_conf_t;

static void *ups_create_main_conf(fc_conf_t *cf);
static char *ups_init_main_conf(fc_conf_t *cf, void *conf);
static int ups_init_worker(fc_cycle_t *cycle);
static char *ups_block(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

/* The rest of a row for a directive of the upstream{} block. */
#define UPS(args, set) FC_STREAM_UPS_CONF | (args), set, FC_CONF_SRV_OFFSET, 0, NULL
#define UPS_REJECT UPS(FC_CONF_ANY, fc_upstream_conf_not_implemented)

static const fc_command_t ups_commands[] = {
    {"upstream", FC_STREAM_MAIN_CONF | FC_CONF_BLOCK | FC_CONF_TAKE1, ups_block, 0, 0, NULL},
    {"server", UPS(FC_CONF_1MORE, fc_upstream_conf_server)},
    {"least_conn", UPS(FC_CONF_NOARGS, fc_upstream_conf_method)},
    {"hash", UPS(FC_CONF_TAKE12, fc_upstream_conf_method)},
    {"random", UPS(FC_CONF_NOARGS | FC_CONF_TAKE12, fc_upstream_conf_method)},
    /* nginx Plus: rejected loudly rather than ignored. */
    {"zone", UPS_REJECT},
    {"state", UPS_REJECT},
    {"least_time", UPS_REJECT},
    {"resolver", UPS_REJECT},
    {"resolver_timeout", UPS_REJECT},
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
    int created;
    fc_stream_upstream_t *su =
        fc_upstream_conf_add(cf, &umcf->upstreams, sizeof(*su), name, define, &created);
    if (su == NULL)
        return NULL;
    if (created) {
        su->ref_file = cf->dir_file;
        su->ref_line = cf->dir_line;
    }
    su->defined |= define ? 1 : 0;
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
    return fc_upstream_conf_block(cf, su, &fc_stream_upstream_module, FC_STREAM_UPS_CONF);
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
        if (!u[i]->defined) {
            /* nginx's wording: a name that is no upstream{} is a host without a port. */
            cf->dir_file = u[i]->ref_file;
            cf->dir_line = u[i]->ref_line;
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "no port in upstream \"%.*s\"",
                              (int) g->name.len, g->name.data);
            rc = FC_ERROR;
            continue;
        }
        if (fc_upstream_conf_init_group(cf, g, &cmcf->vars, &u[i]->hash_key) != FC_OK)
            rc = FC_ERROR;
    }
    return rc == FC_OK ? FC_CONF_OK : FC_CONF_ERROR;
}

fc_stream_upstream_t *
fc_stream_upstream_find(fc_stream_session_t *s, const fc_str_t *name)
{
    ups_main_conf_t *umcf = fc_stream_get_module_main_conf(s, fc_stream_upstream_module);
    return fc_upstream_conf_lookup(&umcf->upstreams, name);
}

static int
ups_init_worker(fc_cycle_t *cycle)
{
    fc_conf_ctx_t *ctx = fc_stream_cycle_ctx(cycle);
    if (ctx == NULL)
        return FC_OK;
    ups_main_conf_t *umcf = ctx->main_conf[fc_stream_upstream_module.ctx_index];
    fc_upstream_conf_seed(&umcf->upstreams);
    return FC_OK;
}
