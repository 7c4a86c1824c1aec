/*
 * stream.c: the stream{} block, server{} and listen, and the core server
 * directives. Confs are created per level and merged from stream{} into
 * each server{}, as nginx does; listen addresses become the cycle's
 * listening sockets once the whole block is read.
 */
#include "stream/stream.h"
#include "core/layer.h"

static char *stream_block(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *stream_server(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *stream_listen(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static int stream_core_preconfiguration(fc_conf_t *cf);
static void *stream_core_create_main_conf(fc_conf_t *cf);
static void *stream_core_create_srv_conf(fc_conf_t *cf);
static char *stream_core_merge_srv_conf(fc_conf_t *cf, void *parent, void *child);

/* error_log at stream or server level: the sessions of that level log there. */
static char *
stream_error_log(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) cmd;
    return fc_conf_error_log_at(cf, &((fc_stream_core_srv_conf_t *) conf)->error_log);
}

static const fc_command_t stream_commands[] = {
    {"stream", FC_MAIN_CONF | FC_CONF_BLOCK | FC_CONF_NOARGS, stream_block, 0, 0, NULL},
    fc_null_command};

static const fc_core_module_ctx_t stream_module_ctx = {.create_conf = fc_layer_holder_create};

fc_module_t fc_stream_module = {
    .name = "stream",
    .type = FC_CORE_MODULE,
    .commands = stream_commands,
    .ctx = &stream_module_ctx,
};

static const fc_command_t stream_core_commands[] = {
    {"server", FC_STREAM_MAIN_CONF | FC_CONF_BLOCK | FC_CONF_NOARGS, stream_server, 0, 0, NULL},
    {"listen", FC_STREAM_SRV_CONF | FC_CONF_1MORE, stream_listen, FC_CONF_SRV_OFFSET, 0, NULL},
    {"preread_buffer_size", FC_STREAM_MAIN_CONF | FC_STREAM_SRV_CONF | FC_CONF_TAKE1,
     fc_conf_set_size_slot, FC_CONF_SRV_OFFSET,
     offsetof(fc_stream_core_srv_conf_t, preread_buffer_size), NULL},
    {"preread_timeout", FC_STREAM_MAIN_CONF | FC_STREAM_SRV_CONF | FC_CONF_TAKE1,
     fc_conf_set_msec_slot, FC_CONF_SRV_OFFSET,
     offsetof(fc_stream_core_srv_conf_t, preread_timeout), NULL},
    {"tcp_nodelay", FC_STREAM_MAIN_CONF | FC_STREAM_SRV_CONF | FC_CONF_FLAG, fc_conf_set_flag_slot,
     FC_CONF_SRV_OFFSET, offsetof(fc_stream_core_srv_conf_t, tcp_nodelay), NULL},
    {"error_log", FC_STREAM_MAIN_CONF | FC_STREAM_SRV_CONF | FC_CONF_1MORE, stream_error_log,
     FC_CONF_SRV_OFFSET, 0, NULL},
    fc_null_command};

static const fc_layer_module_ctx_t stream_core_ctx = {
    .preconfiguration = stream_core_preconfiguration,
    .create_main_conf = stream_core_create_main_conf,
    .create_srv_conf = stream_core_create_srv_conf,
    .merge_srv_conf = stream_core_merge_srv_conf,
};

fc_module_t fc_stream_core_module = {
    .name = "stream_core",
    .type = FC_STREAM_MODULE,
    .commands = stream_core_commands,
    .ctx = &stream_core_ctx,
};

static int
stream_core_preconfiguration(fc_conf_t *cf)
{
    fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
    return fc_stream_variables_add(&cmcf->vars);
}

static void *
stream_core_create_main_conf(fc_conf_t *cf)
{
    fc_stream_core_main_conf_t *cmcf = fc_pcalloc(cf->pool, sizeof(*cmcf));
    if (cmcf == NULL || fc_array_init(&cmcf->servers, cf->pool, 4, sizeof(void *)) != FC_OK ||
        fc_array_init(&cmcf->listens, cf->pool, 4, sizeof(fc_stream_listen_t)) != FC_OK ||
        fc_array_init(&cmcf->upstreams, cf->pool, 4, sizeof(void *)) != FC_OK ||
        fc_var_registry_init(&cmcf->vars, cf->pool) != FC_OK)
        return NULL;
    for (size_t i = 0; i < FC_STREAM_NPHASES; i++) {
        if (fc_array_init(&cmcf->phases[i], cf->pool, 2, sizeof(fc_stream_phase_pt)) != FC_OK)
            return NULL;
    }
    return cmcf;
}

static void *
stream_core_create_srv_conf(fc_conf_t *cf)
{
    fc_stream_core_srv_conf_t *cscf = fc_pcalloc(cf->pool, sizeof(*cscf));
    if (cscf == NULL)
        return NULL;
    cscf->preread_buffer_size = FC_UNSET_SIZE;
    cscf->preread_timeout = FC_UNSET_MSEC;
    cscf->tcp_nodelay = FC_UNSET;
    cscf->file = cf->dir_file;
    cscf->line = cf->dir_line;
    return cscf;
}

static char *
stream_core_merge_srv_conf(fc_conf_t *cf, void *parent, void *child)
{
    fc_stream_core_srv_conf_t *prev = parent, *conf = child;
    (void) cf;
    fc_conf_merge_size(conf->preread_buffer_size, prev->preread_buffer_size, 16384);
    fc_conf_merge_msec(conf->preread_timeout, prev->preread_timeout, 30000);
    fc_conf_merge_value(conf->tcp_nodelay, prev->tcp_nodelay, 1);
    if (conf->error_log == NULL)
        conf->error_log = prev->error_log;
    if (conf->handler == NULL && conf->ctx) {
        /* A server{} with neither proxy_pass nor return could only drop clients. */
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "no handler for server");
        return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

/* Each module's srv conf, from stream{} into every server; stops at the first failure. */
static int
stream_merge_servers(fc_conf_t *cf, fc_conf_ctx_t *ctx)
{
    fc_stream_core_main_conf_t *cmcf = ctx->main_conf[fc_stream_core_module.ctx_index];
    fc_stream_core_srv_conf_t **servers = cmcf->servers.elts;
    for (size_t i = 0; fc_modules[i]; i++) {
        const fc_layer_module_ctx_t *mc = fc_layer_module_ctx(fc_modules[i], FC_STREAM_MODULE);
        if (mc == NULL || mc->merge_srv_conf == NULL)
            continue;
        for (size_t s = 0; s < cmcf->servers.nelts; s++) {
            if (fc_layer_merge_srv(cf, fc_modules[i], ctx, servers[s]->ctx, servers[s]->file,
                                   servers[s]->line) != FC_OK)
                return FC_ERROR;
        }
    }
    return FC_OK;
}

static int
stream_add_listening(fc_conf_t *cf, fc_stream_core_main_conf_t *cmcf)
{
    fc_stream_listen_t *l = cmcf->listens.elts;
    int rc = FC_OK;
    for (size_t i = 0; i < cmcf->listens.nelts; i++) {
        int existed;
        fc_listening_t *ls = fc_listening_add(cf->cycle, &l[i].addr, l[i].type, &existed);
        if (ls == NULL)
            return FC_ERROR;
        if (existed) {
            cf->dir_file = l[i].file;
            cf->dir_line = l[i].line;
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "duplicate \"%s\" address and port pair",
                              l[i].addr.name.data);
            rc = FC_ERROR;
            continue;
        }
        ls->backlog = l[i].backlog;
        ls->rcvbuf = l[i].rcvbuf;
        ls->sndbuf = l[i].sndbuf;
        ls->reuseport = l[i].reuseport;
        ls->ssl = l[i].ssl;
        ls->handler = fc_stream_init_connection;
        ls->servers = l[i].server;
        ls->conf_file = l[i].file;
        ls->conf_line = l[i].line;
    }
    return rc;
}

/* After postconfiguration: bind the variables, then open the listen addresses. */
static int
stream_block_done(fc_conf_t *cf, fc_conf_ctx_t *ctx)
{
    fc_stream_core_main_conf_t *cmcf = ctx->main_conf[fc_stream_core_module.ctx_index];
    unsigned errors = cf->errors;
    int rc = fc_var_resolve(&cmcf->vars, cf->log);
    if (rc == FC_OK && cf->errors == errors)
        rc = stream_add_listening(cf, cmcf);
    return rc;
}

static const fc_layer_t stream_layer = {
    .module_type = FC_STREAM_MODULE,
    .cmd_type = FC_STREAM_MAIN_CONF,
    .levels = FC_LAYER_MAIN | FC_LAYER_SRV,
    .merge = stream_merge_servers,
    .done = stream_block_done,
};

static char *
stream_block(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) cmd;
    return fc_layer_block(cf, conf, &stream_layer);
}

static char *
stream_server(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) cmd;
    (void) conf;
    fc_conf_ctx_t *ctx = fc_layer_ctx_create(cf, FC_STREAM_MODULE, FC_LAYER_SRV);
    if (ctx == NULL)
        return FC_CONF_ERROR;
    fc_stream_core_srv_conf_t *cscf = ctx->srv_conf[fc_stream_core_module.ctx_index];
    cscf->ctx = ctx;
    fc_stream_core_main_conf_t *cmcf = ctx->main_conf[fc_stream_core_module.ctx_index];
    fc_stream_core_srv_conf_t **slot = fc_array_push(&cmcf->servers);
    if (slot == NULL)
        return FC_CONF_ERROR;
    *slot = cscf;

    if (fc_layer_parse(cf, ctx, FC_STREAM_SRV_CONF) != FC_OK)
        return FC_CONF_ERROR; /* a bad listen already said what is wrong */
    if (!cscf->listen) {
        cf->dir_file = cscf->file;
        cf->dir_line = cscf->line;
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "no \"listen\" is defined for server");
        return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

static char *
stream_listen_param(fc_conf_t *cf, fc_stream_listen_t *l, const fc_str_t *p)
{
    fc_str_t v;
    if (fc_str_eq_c(p, "udp")) {
        l->type = SOCK_DGRAM;
    } else if (fc_str_eq_c(p, "reuseport")) {
        l->reuseport = 1; /* every socket is per-worker SO_REUSEPORT already */
    } else if (fc_str_eq_c(p, "bind")) {
        /* Each address gets its own socket anyway. */
    } else if (fc_str_eq_c(p, "ssl")) {
        l->ssl = 1;
    } else if (fc_str_eq_c(p, "proxy_protocol")) {
        return "\"proxy_protocol\" parameter is not implemented";
    } else if (p->len > 8 && memcmp(p->data, "backlog=", 8) == 0) {
        v.data = p->data + 8;
        v.len = p->len - 8;
        int64_t n = fc_atoi(v.data, v.len);
        if (n < 1 || n > INT_MAX)
            return "invalid backlog";
        l->backlog = (int) n;
    } else if ((p->len > 7 && memcmp(p->data, "rcvbuf=", 7) == 0) ||
               (p->len > 7 && memcmp(p->data, "sndbuf=", 7) == 0)) {
        v.data = p->data + 7;
        v.len = p->len - 7;
        int64_t n = fc_parse_size(&v);
        if (n < 1 || n > INT_MAX)
            return p->data[0] == 'r' ? "invalid rcvbuf" : "invalid sndbuf";
        *(p->data[0] == 'r' ? &l->rcvbuf : &l->sndbuf) = (int) n;
    } else {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"", (int) p->len,
                          p->data);
        return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

static char *
stream_listen(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_stream_core_srv_conf_t *cscf = conf;
    fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
    fc_str_t *args = fc_conf_args(cf);
    (void) cmd;
    fc_url_t u;
    const char *err;
    if (fc_url_parse(cf->pool, &u, &args[1], 0, 1, &err) != FC_OK) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s in \"%.*s\" of the \"listen\" directive", err,
                          (int) args[1].len, args[1].data);
        return FC_CONF_ERROR;
    }
    fc_stream_listen_t proto = {.type = SOCK_STREAM, .backlog = 511, .rcvbuf = -1, .sndbuf = -1};
    for (size_t i = 2; i < fc_conf_nargs(cf); i++) {
        char *rv = stream_listen_param(cf, &proto, &args[i]);
        if (rv != FC_CONF_OK)
            return rv;
    }
    if (proto.ssl && proto.type == SOCK_DGRAM)
        return "\"ssl\" parameter is incompatible with \"udp\"";
    /* A name may resolve to several addresses: one listen each. */
    for (size_t i = 0; i < u.naddrs; i++) {
        fc_stream_listen_t *l = fc_array_push(&cmcf->listens);
        if (l == NULL)
            return FC_CONF_ERROR;
        *l = proto;
        l->url = u;
        l->addr = u.addrs[i];
        l->server = cscf;
        l->file = cf->dir_file;
        l->line = cf->dir_line;
    }
    cscf->listen = 1;
    return FC_CONF_OK;
}

fc_conf_ctx_t *
fc_stream_cycle_ctx(fc_cycle_t *cycle)
{
    return fc_layer_cycle_ctx(cycle, &fc_stream_module);
}

int
fc_stream_add_phase_handler(fc_conf_t *cf, size_t phase, fc_stream_phase_pt h)
{
    fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
    fc_stream_phase_pt *slot = fc_array_push(&cmcf->phases[phase]);
    if (slot == NULL)
        return FC_ERROR;
    *slot = h;
    return FC_OK;
}
