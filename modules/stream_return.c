/* stream_return.c: `return VALUE;` sends a value to the client and closes. */
#include "stream/stream.h"
#include "event/io.h"

typedef struct {
    fc_cv_t *value;
} return_conf_t;

typedef struct {
    fc_str_t out;
} return_ctx_t;

static void *return_create_srv_conf(fc_conf_t *cf);
static char *return_directive(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

static const fc_command_t return_commands[] = {
    {"return", FC_STREAM_SRV_CONF | FC_CONF_TAKE1, return_directive, FC_CONF_SRV_OFFSET, 0, NULL},
    fc_null_command};

static const fc_layer_module_ctx_t return_ctx_ops = {.create_srv_conf = return_create_srv_conf};

fc_module_t fc_stream_return_module = {
    .name = "stream_return",
    .type = FC_STREAM_MODULE,
    .commands = return_commands,
    .ctx = &return_ctx_ops,
};

static void *
return_create_srv_conf(fc_conf_t *cf)
{
    return fc_pcalloc(cf->pool, sizeof(return_conf_t));
}

static void
return_write(fc_event_t *ev)
{
    fc_connection_t *c = ev->data;
    fc_stream_session_t *s = c->data;
    return_ctx_t *rc = fc_stream_get_module_ctx(s, fc_stream_return_module);
    if (ev->timedout) {
        fc_log_error(FC_LOG_INFO, c->log, ETIMEDOUT, "client timed out");
        fc_stream_finalize_session(s, 200);
        return;
    }
    if (c->type == SOCK_DGRAM) {
        ssize_t n = fc_event_udp_reply(c, rc->out.data, rc->out.len);
        if (n > 0)
            c->sent += (uint64_t) n;
        fc_stream_finalize_session(s, 200);
        return;
    }
    while (rc->out.len > 0 && c->write->ready) {
        ssize_t n = fc_conn_send(c, rc->out.data, rc->out.len);
        if (n > 0) {
            rc->out.data += n;
            rc->out.len -= (size_t) n;
            c->sent += (uint64_t) n;
        } else if (n == FC_ERROR) {
            fc_log_error(FC_LOG_INFO, c->log, errno, "send() failed");
            fc_stream_finalize_session(s, 200);
            return;
        }
    }
    if (rc->out.len == 0) {
        fc_stream_finalize_session(s, 200);
        return;
    }
    fc_event_add_timer(c->loop, c->write, 60000);
}

static void
return_handler(fc_stream_session_t *s)
{
    return_conf_t *conf = fc_stream_get_module_srv_conf(s, fc_stream_return_module);
    return_ctx_t *rc = fc_pcalloc(s->connection->pool, sizeof(*rc));
    if (rc == NULL || fc_stream_cv_eval(s, conf->value, &rc->out) != FC_OK) {
        fc_stream_finalize_session(s, 500);
        return;
    }
    fc_stream_set_module_ctx(s, rc, fc_stream_return_module);
    s->connection->write->handler = return_write;
    s->connection->write->ready = 1;
    return_write(s->connection->write);
}

static char *
return_directive(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    return_conf_t *rc = conf;
    (void) cmd;
    if (rc->value)
        return "is duplicate";
    fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
    rc->value = fc_palloc(cf->pool, sizeof(fc_cv_t));
    if (rc->value == NULL || fc_cv_compile(cf, &cmcf->vars, &fc_conf_args(cf)[1], rc->value))
        return FC_CONF_ERROR;
    fc_stream_core_srv_conf_t *cscf = fc_stream_conf_get_srv(cf, fc_stream_core_module);
    cscf->handler = return_handler;
    return FC_CONF_OK;
}
