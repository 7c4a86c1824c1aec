/*
 * stream_ssl.c: TLS termination for stream{} (nginx's
 * ngx_stream_ssl_module). On a `listen ... ssl` address the SSL phase runs
 * the handshake (bounded by ssl_handshake_timeout) before PREREAD and
 * CONTENT, so the proxy then relays decrypted bytes. The ssl_* directives
 * are the ones http{} has (event/tls_conf.c).
 */
#include "stream/stream.h"
#include "event/tls_conf.h"


extern fc_module_t fc_stream_ssl_module;

static void *sssl_create_srv_conf(fc_conf_t *cf);
static char *sssl_merge_srv_conf(fc_conf_t *cf, void *prev, void *conf);
static int sssl_preconfiguration(fc_conf_t *cf);
static int sssl_postconfiguration(fc_conf_t *cf);

#define SSSL_CONF (FC_STREAM_MAIN_CONF | FC_STREAM_SRV_CONF)

static const fc_command_t sssl_commands[] = {
    FC_TLS_SRV_COMMANDS(SSSL_CONF, 0, &fc_stream_ssl_module),
    fc_null_command};

static const fc_layer_module_ctx_t sssl_ctx_ops = {
    .preconfiguration = sssl_preconfiguration,
    .postconfiguration = sssl_postconfiguration,
    .create_srv_conf = sssl_create_srv_conf,
    .merge_srv_conf = sssl_merge_srv_conf,
};

fc_module_t fc_stream_ssl_module = {
    .name = "stream_ssl",
    .type = FC_STREAM_MODULE,
    .commands = sssl_commands,
    .ctx = &sssl_ctx_ops,
};

static void *
sssl_create_srv_conf(fc_conf_t *cf)
{
    fc_tls_srv_conf_t *conf = fc_palloc(cf->pool, sizeof(*conf));
    if (conf)
        fc_tls_srv_conf_init(conf);
    return conf;
}

static char *
sssl_merge_srv_conf(fc_conf_t *cf, void *prev, void *conf)
{
    return fc_tls_srv_conf_merge(cf, conf, prev, NULL);
}

static void
sssl_idle(fc_event_t *ev)
{
    (void) ev;
}

static void
sssl_handshake_event(fc_event_t *ev)
{
    fc_connection_t *c = ev->data;
    fc_stream_session_t *s = c->data;
    if (ev->timedout) {
        fc_log_error(FC_LOG_INFO, c->log, ETIMEDOUT, "client timed out");
        fc_stream_finalize_session(s, 500);
        return;
    }
    fc_stream_core_run_phases(s); /* re-enters sssl_handler */
}

static int
sssl_handler(fc_stream_session_t *s)
{
    fc_connection_t *c = s->connection;
    if (!c->listening->ssl)
        return FC_DECLINED;
    const fc_tls_srv_conf_t *sc = fc_stream_get_module_srv_conf(s, fc_stream_ssl_module);
    if (c->tls == NULL) {
        if (fc_tls_conn_create(c, sc->ctx, 1) != FC_OK)
            return 500;
        c->log->action = "SSL handshaking";
        c->read->handler = sssl_handshake_event;
        c->write->handler = sssl_handshake_event;
        fc_event_add_timer(c->loop, c->read, sc->handshake_timeout);
    }
    int rc = fc_tls_handshake(c);
    if (rc == FC_AGAIN)
        return FC_AGAIN;
    fc_event_del_timer(c->loop, c->read);
    /* ssl_verify_client: as nginx's stream module, a failed check ends the session. */
    if (rc != FC_OK || fc_tls_srv_verify_client(c, sc) != FC_TLS_CERT_OK)
        return 500;
    c->read->handler = sssl_idle;
    c->write->handler = sssl_idle;
    c->read->ready = 1; /* bytes may wait inside OpenSSL already */
    c->log->action = "initializing session";
    return FC_OK;
}

static int
sssl_var(void *data, fc_var_value_t *v, uintptr_t which)
{
    fc_stream_session_t *s = data;
    return fc_tls_var_value(s->connection, s->connection->pool, v, which);
}

static int
sssl_preconfiguration(fc_conf_t *cf)
{
    fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
    return fc_tls_vars_define(&cmcf->vars, sssl_var);
}

/* Every `listen ... ssl` needs a certificate in its server, as nginx checks. */
static int
sssl_postconfiguration(fc_conf_t *cf)
{
    fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
    fc_stream_listen_t *l = cmcf->listens.elts;
    int rc = FC_OK;
    for (size_t i = 0; i < cmcf->listens.nelts; i++) {
        const fc_tls_srv_conf_t *sc = l[i].server->ctx->srv_conf[fc_stream_ssl_module.ctx_index];
        if (!l[i].ssl || fc_tls_srv_has_ctx(sc))
            continue;
        cf->dir_file = l[i].file;
        cf->dir_line = l[i].line;
        fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                          "no \"ssl_certificate\" is defined for the \"listen ... ssl\" directive");
        rc = FC_ERROR;
    }
    if (rc != FC_OK)
        return rc;
    return fc_stream_add_phase_handler(cf, FC_STREAM_SSL_PHASE, sssl_handler);
}
