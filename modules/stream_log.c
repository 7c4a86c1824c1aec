/*
 * stream_log.c: `log_format NAME [escape=default|json|none] STRING...` and
 * `access_log PATH FORMAT [buffer=SIZE] [flush=TIME] [if=COND] | off` in
 * stream, as nginx's ngx_stream_log_module: a line per session when it
 * ends. The engine (formats, escaping, buffers, reopen) is core/logfmt.c.
 */
#include "stream/stream.h"
#include "core/logfmt.h"

typedef struct {
    fc_logfmt_conf_t logs;
} slog_srv_conf_t;

static void *slog_create_main_conf(fc_conf_t *cf);
static void *slog_create_srv_conf(fc_conf_t *cf);
static char *slog_merge_srv_conf(fc_conf_t *cf, void *parent, void *child);
static int slog_postconfiguration(fc_conf_t *cf);
static char *slog_set_format(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *slog_set_access_log(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static int slog_init_worker(fc_cycle_t *cycle);
static void slog_exit_worker(fc_cycle_t *cycle);

static const fc_command_t slog_commands[] = {
    {"log_format", FC_STREAM_MAIN_CONF | FC_CONF_2MORE, slog_set_format, FC_CONF_MAIN_OFFSET, 0,
     NULL},
    {"access_log", FC_STREAM_MAIN_CONF | FC_STREAM_SRV_CONF | FC_CONF_1MORE, slog_set_access_log,
     FC_CONF_SRV_OFFSET, 0, NULL},
    fc_null_command};

static const fc_layer_module_ctx_t slog_ctx_ops = {
    .postconfiguration = slog_postconfiguration,
    .create_main_conf = slog_create_main_conf,
    .create_srv_conf = slog_create_srv_conf,
    .merge_srv_conf = slog_merge_srv_conf,
};

fc_module_t fc_stream_log_module = {
    .name = "stream_log",
    .type = FC_STREAM_MODULE,
    .commands = slog_commands,
    .ctx = &slog_ctx_ops,
    .init_worker = slog_init_worker,
    .exit_worker = slog_exit_worker,
};

static void *
slog_create_main_conf(fc_conf_t *cf)
{
    fc_logfmt_main_t *lmcf = fc_pcalloc(cf->pool, sizeof(*lmcf));
    if (lmcf == NULL || fc_logfmt_main_init(lmcf, cf->pool) != FC_OK)
        return NULL;
    return lmcf;
}

static void *
slog_create_srv_conf(fc_conf_t *cf)
{
    return fc_pcalloc(cf->pool, sizeof(slog_srv_conf_t));
}

static char *
slog_merge_srv_conf(fc_conf_t *cf, void *parent, void *child)
{
    slog_srv_conf_t *prev = parent, *conf = child;
    fc_logfmt_main_t *lmcf = fc_stream_conf_get_main(cf, fc_stream_log_module);
    /* nginx's stream access_log has no default log. */
    return fc_logfmt_merge(cf, lmcf, &prev->logs, &conf->logs, NULL, NULL);
}

static char *
slog_set_format(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
    (void) cmd;
    return fc_logfmt_format_directive(cf, conf, &cmcf->vars);
}

static char *
slog_set_access_log(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    slog_srv_conf_t *lscf = conf;
    fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
    fc_logfmt_main_t *lmcf = fc_stream_conf_get_main(cf, fc_stream_log_module);
    (void) cmd;
    /* nginx's stream access_log has no default format. */
    return fc_logfmt_access_directive(cf, lmcf, &cmcf->vars, &lscf->logs, NULL);
}

static int
slog_handler(fc_stream_session_t *s)
{
    slog_srv_conf_t *lscf = fc_stream_get_module_srv_conf(s, fc_stream_log_module);
    fc_logfmt_ctx_t ctx = {
        .reg = &fc_stream_core_main(s)->vars,
        .values = s->variables,
        .r = s,
        .pool = s->connection->pool,
        .caps = &s->captures,
        .log = s->connection->log,
    };
    fc_logfmt_write(&lscf->logs, &ctx);
    return FC_OK;
}

static int
slog_postconfiguration(fc_conf_t *cf)
{
    return fc_stream_add_phase_handler(cf, FC_STREAM_LOG_PHASE, slog_handler);
}

static fc_logfmt_main_t *
slog_cycle_main_conf(fc_cycle_t *cycle)
{
    fc_conf_ctx_t *ctx = fc_stream_cycle_ctx(cycle);
    return ctx ? ctx->main_conf[fc_stream_log_module.ctx_index] : NULL;
}

static int
slog_init_worker(fc_cycle_t *cycle)
{
    fc_logfmt_main_t *lmcf = slog_cycle_main_conf(cycle);
    return lmcf ? fc_logfmt_init_worker(lmcf, cycle) : FC_OK;
}

static void
slog_exit_worker(fc_cycle_t *cycle)
{
    fc_logfmt_main_t *lmcf = slog_cycle_main_conf(cycle);
    if (lmcf)
        fc_logfmt_exit_worker(lmcf);
}
