/*
 * http_ssl.c: TLS termination for http{} (nginx's ngx_http_ssl_module). The
 * ssl_* directives are shared with stream{} (event/tls_conf.c); this module
 * gives each server its context, picks the server's certificate by SNI
 * during the handshake, and defines the $ssl_* variables. The connection
 * side (first byte, handshake, 497/495/496) is in src/http/ssl_conn.c.
 */
#include "http/http.h"
#include "event/tls_conf.h"

extern fc_module_t fc_http_ssl_module;

static void *hssl_create_srv_conf(fc_conf_t *cf);
static char *hssl_merge_srv_conf(fc_conf_t *cf, void *prev, void *conf);
static int hssl_preconfiguration(fc_conf_t *cf);
static int hssl_postconfiguration(fc_conf_t *cf);
static char *hssl_obsolete(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

#define HSSL_CONF (FC_HTTP_MAIN_CONF | FC_HTTP_SRV_CONF)

static const fc_command_t hssl_commands[] = {
    FC_TLS_SRV_COMMANDS(HSSL_CONF, 0, &fc_http_ssl_module),
    {"ssl", HSSL_CONF | FC_CONF_FLAG, hssl_obsolete, FC_CONF_SRV_OFFSET, 0, NULL},
    fc_null_command};

static const fc_layer_module_ctx_t hssl_ctx_ops = {
    .preconfiguration = hssl_preconfiguration,
    .postconfiguration = hssl_postconfiguration,
    .create_srv_conf = hssl_create_srv_conf,
    .merge_srv_conf = hssl_merge_srv_conf,
};

fc_module_t fc_http_ssl_module = {
    .name = "http_ssl",
    .type = FC_HTTP_MODULE,
    .commands = hssl_commands,
    .ctx = &hssl_ctx_ops,
};

static char *
hssl_obsolete(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) cmd;
    (void) conf;
    fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                      "the \"ssl\" directive is not supported (nginx removed it in 1.25.1), "
                      "use the \"listen ... ssl\" directive instead");
    return FC_CONF_ERROR;
}

static void *
hssl_create_srv_conf(fc_conf_t *cf)
{
    fc_tls_srv_conf_t *conf = fc_palloc(cf->pool, sizeof(*conf));
    if (conf)
        fc_tls_srv_conf_init(conf);
    return conf;
}

/*
 * SNI: the server for the client's name, found as a Host would find it, gives
 * its certificate and verify settings to the connection. Servers without a
 * certificate keep the default server's; ssl_reject_handshake refuses.
 */
static int
hssl_servername(SSL *ssl, int *alert, void *arg)
{
    (void) arg;
    fc_connection_t *c = fc_tls_ssl_conn(ssl);
    fc_http_connection_t *hc = c ? c->data : NULL;
    if (hc == NULL)
        return SSL_TLSEXT_ERR_OK;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    fc_http_core_srv_conf_t *cscf = hc->default_server;
    unsigned char low[256];
    size_t len = name ? strlen(name) : 0;
    if (len > 1 && name[len - 1] == '.')
        len--; /* as nginx's host check: "a.test." is a.test */
    if (name && len > 0 && len < sizeof(low)) {
        for (size_t i = 0; i < len; i++)
            low[i] = (unsigned char) fc_tolower((unsigned char) name[i]);
        fc_str_t host = {len, low};
        fc_http_core_srv_conf_t *named = fc_http_find_named_server(hc, NULL, &host);
        if (named) {
            /* kept for the Host check: a request may not name another verifying server */
            unsigned char *copy = fc_pnalloc(c->pool, len);
            if (copy) {
                memcpy(copy, low, len);
                hc->ssl_servername = (fc_str_t){len, copy};
            }
            cscf = named;
        }
    }
    const fc_tls_srv_conf_t *sc = cscf->ssl;
    if (sc == NULL || sc->reject_handshake) {
        *alert = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    if (sc->ctx && sc->ctx != SSL_get_SSL_CTX(ssl)) {
        SSL_set_SSL_CTX(ssl, sc->ctx);
        SSL_set_verify(ssl, SSL_CTX_get_verify_mode(sc->ctx), SSL_CTX_get_verify_callback(sc->ctx));
        SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(sc->ctx));
        SSL_clear_options(ssl, SSL_get_options(ssl) & ~SSL_CTX_get_options(sc->ctx));
        SSL_set_options(ssl, SSL_CTX_get_options(sc->ctx));
    }
    return SSL_TLSEXT_ERR_OK;
}

static char *
hssl_merge_srv_conf(fc_conf_t *cf, void *prev, void *conf)
{
    fc_tls_srv_conf_t *sc = conf;
    /* As nginx: HTTP/1.1, 1.0 and 0.9 are offered, in that order of preference. */
    char *rv = fc_tls_srv_conf_merge(cf, sc, prev, "\x08http/1.1\x08http/1.0\x08http/0.9");
    if (rv != FC_CONF_OK || sc->ctx == NULL)
        return rv;
    SSL_CTX_set_tlsext_servername_callback(sc->ctx, hssl_servername);
    return FC_CONF_OK;
}

static int
hssl_var(void *data, fc_var_value_t *v, uintptr_t which)
{
    fc_http_request_t *r = data;
    return fc_tls_var_value(r->connection, r->pool, v, which);
}

static int
hssl_preconfiguration(fc_conf_t *cf)
{
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    return fc_tls_vars_define(&cmcf->vars, hssl_var);
}

/* Every server learns its TLS conf: the core reads it on `listen ... ssl` addresses. */
static int
hssl_postconfiguration(fc_conf_t *cf)
{
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    fc_http_core_srv_conf_t **servers = cmcf->servers.elts;
    for (size_t i = 0; i < cmcf->servers.nelts; i++)
        servers[i]->ssl = servers[i]->ctx->srv_conf[fc_http_ssl_module.ctx_index];
    return FC_OK;
}
