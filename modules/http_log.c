/*
 * http_log.c: `log_format NAME [escape=default|json|none] STRING...` (http
 * level) with nginx's predefined `combined`, and `access_log PATH [FORMAT
 * [buffer=SIZE] [flush=TIME] [if=COND]] | off` at http, server and location
 * level, as nginx's ngx_http_log_module: an inner level with access_log lines
 * replaces the outer ones; a level with none anywhere above it logs to
 * logs/access.log in `combined`. A line per request in the LOG phase. The
 * engine (formats, escaping, buffers, reopen on USR1) is core/logfmt.c.
 */
#include "http/http.h"
#include "core/logfmt.h"

#define HLOG_DEFAULT_PATH "logs/access.log"
#define HLOG_DEFAULT_FORMAT "combined"

typedef struct {
    fc_logfmt_conf_t logs;
} hlog_loc_conf_t;

static int hlog_preconfiguration(fc_conf_t *cf);
static int hlog_postconfiguration(fc_conf_t *cf);
static void *hlog_create_main_conf(fc_conf_t *cf);
static void *hlog_create_loc_conf(fc_conf_t *cf);
static char *hlog_merge_loc_conf(fc_conf_t *cf, void *parent, void *child);
static char *hlog_set_format(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *hlog_set_access_log(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static int hlog_init_worker(fc_cycle_t *cycle);
static void hlog_exit_worker(fc_cycle_t *cycle);

static const fc_command_t hlog_commands[] = {
    {"log_format", FC_HTTP_MAIN_CONF | FC_CONF_2MORE, hlog_set_format, FC_CONF_MAIN_OFFSET, 0,
     NULL},
    {"access_log",
     FC_HTTP_MAIN_CONF | FC_HTTP_SRV_CONF | FC_HTTP_LOC_CONF | FC_HTTP_LIF_CONF | FC_CONF_1MORE,
     hlog_set_access_log, FC_CONF_LOC_OFFSET, 0, NULL},
    fc_null_command};

static const fc_layer_module_ctx_t hlog_ctx_ops = {
    .preconfiguration = hlog_preconfiguration,
    .postconfiguration = hlog_postconfiguration,
    .create_main_conf = hlog_create_main_conf,
    .create_loc_conf = hlog_create_loc_conf,
    .merge_loc_conf = hlog_merge_loc_conf,
};

fc_module_t fc_http_log_module = {
    .name = "http_log",
    .type = FC_HTTP_MODULE,
    .commands = hlog_commands,
    .ctx = &hlog_ctx_ops,
    .init_worker = hlog_init_worker,
    .exit_worker = hlog_exit_worker,
};

static void *
hlog_create_main_conf(fc_conf_t *cf)
{
    fc_logfmt_main_t *lmcf = fc_pcalloc(cf->pool, sizeof(*lmcf));
    if (lmcf == NULL || fc_logfmt_main_init(lmcf, cf->pool) != FC_OK)
        return NULL;
    return lmcf;
}

/* nginx's predefined format, defined before the block's own so that a redefinition is an error. */
static int
hlog_preconfiguration(fc_conf_t *cf)
{
    static const fc_str_t name = fc_string(HLOG_DEFAULT_FORMAT);
    static const fc_str_t text = fc_string("$remote_addr - $remote_user [$time_local] "
                                           "\"$request\" $status $body_bytes_sent "
                                           "\"$http_referer\" \"$http_user_agent\"");
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    fc_logfmt_main_t *lmcf = fc_http_conf_get_main(cf, fc_http_log_module);
    return fc_logfmt_define(cf, lmcf, &cmcf->vars, &name, FC_LOGFMT_ESCAPE_DEFAULT, &text)
               ? FC_OK
               : FC_ERROR;
}

static void *
hlog_create_loc_conf(fc_conf_t *cf)
{
    return fc_pcalloc(cf->pool, sizeof(hlog_loc_conf_t));
}

static char *
hlog_merge_loc_conf(fc_conf_t *cf, void *parent, void *child)
{
    hlog_loc_conf_t *prev = parent, *conf = child;
    fc_logfmt_main_t *lmcf = fc_http_conf_get_main(cf, fc_http_log_module);
    return fc_logfmt_merge(cf, lmcf, &prev->logs, &conf->logs, HLOG_DEFAULT_PATH,
                           HLOG_DEFAULT_FORMAT);
}

static char *
hlog_set_format(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    (void) cmd;
    return fc_logfmt_format_directive(cf, conf, &cmcf->vars);
}

static char *
hlog_set_access_log(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    hlog_loc_conf_t *llcf = conf;
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    fc_logfmt_main_t *lmcf = fc_http_conf_get_main(cf, fc_http_log_module);
    (void) cmd;
    return fc_logfmt_access_directive(cf, lmcf, &cmcf->vars, &llcf->logs, HLOG_DEFAULT_FORMAT);
}

static int
hlog_handler(fc_http_request_t *r)
{
    hlog_loc_conf_t *llcf = fc_http_get_module_loc_conf(r, fc_http_log_module);
    fc_logfmt_ctx_t ctx = {
        .reg = &fc_http_core_main(r)->vars,
        .values = r->variables,
        .r = r,
        .pool = r->pool,
        .caps = &r->captures,
        .log = r->connection->log,
    };
    fc_logfmt_write(&llcf->logs, &ctx);
    return FC_OK;
}

static int
hlog_postconfiguration(fc_conf_t *cf)
{
    return fc_http_add_phase_handler(cf, FC_HTTP_LOG_PHASE, hlog_handler);
}

static fc_logfmt_main_t *
hlog_cycle_main_conf(fc_cycle_t *cycle)
{
    fc_conf_ctx_t *ctx = fc_http_cycle_ctx(cycle);
    return ctx ? ctx->main_conf[fc_http_log_module.ctx_index] : NULL;
}

static int
hlog_init_worker(fc_cycle_t *cycle)
{
    fc_logfmt_main_t *lmcf = hlog_cycle_main_conf(cycle);
    return lmcf ? fc_logfmt_init_worker(lmcf, cycle) : FC_OK;
}

static void
hlog_exit_worker(fc_cycle_t *cycle)
{
    fc_logfmt_main_t *lmcf = hlog_cycle_main_conf(cycle);
    if (lmcf)
        fc_logfmt_exit_worker(lmcf);
}
