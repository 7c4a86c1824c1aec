/*
 * events_module.c: the events{} block. worker_connections bounds each
 * worker's connection array (listeners and upstream connections count, as
 * in nginx). `multi_accept` is nginx's: off (the default) accepts one
 * connection per readiness of a listening socket, so accepting interleaves
 * with the work of the connections already there (a burst of TLS handshakes
 * is not run back to back); on accepts a batch. `use epoll` and
 * `accept_mutex` (and `accept_mutex_delay`) are accepted so nginx configs run
 * unchanged: epoll is the only method, and per-worker SO_REUSEPORT queues make
 * an accept mutex moot.
 */
#include "core/fc_core.h"
#include "core/cycle.h"
#include "core/layer.h"
#include "event/events.h"

static char *events_init_conf(fc_cycle_t *cycle, void *conf);
static char *events_block(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *events_set_use(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static void *event_core_create_main_conf(fc_conf_t *cf);

static const fc_conf_bounds_t events_conn_bounds = {2, 1 << 24};

static const fc_command_t events_commands[] = {
    {"events", FC_MAIN_CONF | FC_CONF_BLOCK | FC_CONF_NOARGS, events_block, 0, 0, NULL},
    fc_null_command};

static const fc_command_t event_core_commands[] = {
    {"worker_connections", FC_EVENT_CONF | FC_CONF_TAKE1, fc_conf_set_num_slot, FC_CONF_MAIN_OFFSET,
     offsetof(fc_events_conf_t, connections), &events_conn_bounds},
    {"multi_accept", FC_EVENT_CONF | FC_CONF_FLAG, fc_conf_set_flag_slot, FC_CONF_MAIN_OFFSET,
     offsetof(fc_events_conf_t, multi_accept), NULL},
    {"accept_mutex", FC_EVENT_CONF | FC_CONF_FLAG, fc_conf_set_flag_slot, FC_CONF_MAIN_OFFSET,
     offsetof(fc_events_conf_t, accept_mutex), NULL},
    {"accept_mutex_delay", FC_EVENT_CONF | FC_CONF_TAKE1, fc_conf_set_msec_slot,
     FC_CONF_MAIN_OFFSET, offsetof(fc_events_conf_t, accept_mutex_delay), NULL},
    {"use", FC_EVENT_CONF | FC_CONF_TAKE1, events_set_use, FC_CONF_MAIN_OFFSET, 0, NULL},
    fc_null_command};

static const fc_core_module_ctx_t events_ctx = {
    .create_conf = fc_layer_holder_create,
    .init_conf = events_init_conf,
};

/* The events{} block itself belongs to the main context... */
fc_module_t fc_events_module = {
    .name = "events",
    .type = FC_CORE_MODULE,
    .commands = events_commands,
    .ctx = &events_ctx,
};

static const fc_layer_module_ctx_t event_core_ctx = {
    .create_main_conf = event_core_create_main_conf,
};

/* ...and the directives inside it to the event layer. */
fc_module_t fc_event_core_module = {
    .name = "event_core",
    .type = FC_EVENT_MODULE,
    .commands = event_core_commands,
    .ctx = &event_core_ctx,
};

static const fc_layer_t events_layer = {
    .module_type = FC_EVENT_MODULE,
    .cmd_type = FC_EVENT_CONF,
    .levels = FC_LAYER_MAIN,
};

static void *
event_core_create_main_conf(fc_conf_t *cf)
{
    fc_events_conf_t *ecf = fc_pcalloc(cf->pool, sizeof(*ecf));
    if (ecf == NULL)
        return NULL;
    ecf->connections = FC_UNSET;
    ecf->multi_accept = FC_UNSET;
    ecf->accept_mutex = FC_UNSET;
    ecf->accept_mutex_delay = FC_UNSET_MSEC;
    return ecf;
}

static char *
events_init_conf(fc_cycle_t *cycle, void *conf)
{
    fc_layer_holder_t *holder = conf;
    if (holder->ctx == NULL) {
        /* nginx requires the block; we do too, with its message. */
        fc_log_error(FC_LOG_EMERG, cycle->log, 0, "no \"events\" section in configuration");
        return FC_CONF_ERROR;
    }
    fc_events_conf_t *ecf = fc_layer_main_conf(holder->ctx, fc_event_core_module);
    if (ecf->connections == FC_UNSET)
        ecf->connections = 512;
    if (ecf->multi_accept == FC_UNSET)
        ecf->multi_accept = 0;
    return FC_CONF_OK;
}

static char *
events_block(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) cmd;
    return fc_layer_block(cf, conf, &events_layer);
}

static char *
events_set_use(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_events_conf_t *ecf = conf;
    (void) cmd;
    if (ecf->use.data)
        return "is duplicate";
    ecf->use = fc_conf_args(cf)[1];
    if (!fc_str_eq_c(&ecf->use, "epoll")) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid event type \"%.*s\"",
                          (int) ecf->use.len, ecf->use.data);
        return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

int
fc_events_multi_accept(fc_cycle_t *cycle)
{
    fc_conf_ctx_t *ctx = fc_layer_cycle_ctx(cycle, &fc_events_module);
    fc_events_conf_t *ecf = fc_layer_main_conf(ctx, fc_event_core_module);
    return ecf->multi_accept == 1;
}

size_t
fc_events_worker_connections(fc_cycle_t *cycle)
{
    fc_conf_ctx_t *ctx = fc_layer_cycle_ctx(cycle, &fc_events_module);
    fc_events_conf_t *ecf = fc_layer_main_conf(ctx, fc_event_core_module);
    return (size_t) ecf->connections;
}
