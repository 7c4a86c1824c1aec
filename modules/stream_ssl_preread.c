/*
 * stream_ssl_preread.c: `ssl_preread on|off` (nginx's
 * ngx_stream_ssl_preread_module). In the PREREAD phase it reads the TLS
 * ClientHello without terminating TLS and sets $ssl_preread_server_name,
 * $ssl_preread_protocol and $ssl_preread_alpn_protocols, so that `map` and
 * `proxy_pass $var` can route by SNI or ALPN while the TLS session runs end
 * to end between client and backend.
 *
 * The hello is read with recv(MSG_PEEK), as nginx 1.25.5+ does on epoll:
 * nothing is consumed, so the proxy later relays the client's bytes from
 * the socket exactly as they came (buffered or spliced), ClientHello
 * included, and no "bytes already read" need handing over. Each peek sees
 * everything from the first byte, so the parser (src/stream/
 * ssl_preread_parse.c, pure and unit-tested) keeps no state between calls.
 *
 * As nginx: the phase waits while the hello is incomplete; preread_timeout
 * (armed once, a deadline for the phase) ends the session with status 200,
 * as does the client closing first; a full preread_buffer_size buffer is
 * "preread buffer full" and status 400. Bytes that are not a TLS handshake
 * make the handler decline at once (variables empty) and the session goes
 * on to be proxied untouched.
 */
#include "stream/stream.h"
#include "stream/ssl_preread_parse.h"
#include "core/var_common.h"

typedef struct {
    int enabled;
} preread_conf_t;

typedef struct {
    unsigned char *buf; /* the peeked bytes, then the parser's scratch: 2 x buffer size */
    size_t size;        /* preread_buffer_size */
    fc_event_handler_pt read_handler; /* the session's, put back when the phase is done */
    fc_str_t server_name;
    fc_str_t alpn;
    const char *protocol;  /* NULL: a version without a name */
    unsigned seen : 1;     /* bytes came: the variables exist (empty until a hello is read) */
    unsigned declined : 1; /* not a ClientHello: the variables are not found */
} preread_ctx_t;

enum { PREREAD_VAR_SERVER_NAME, PREREAD_VAR_PROTOCOL, PREREAD_VAR_ALPN };

static void *preread_create_srv_conf(fc_conf_t *cf);
static char *preread_merge_srv_conf(fc_conf_t *cf, void *parent, void *child);
static int preread_preconfiguration(fc_conf_t *cf);
static int preread_postconfiguration(fc_conf_t *cf);

static const fc_command_t preread_commands[] = {
    {"ssl_preread", FC_STREAM_MAIN_CONF | FC_STREAM_SRV_CONF | FC_CONF_FLAG, fc_conf_set_flag_slot,
     FC_CONF_SRV_OFFSET, offsetof(preread_conf_t, enabled), NULL},
    fc_null_command};

static const fc_layer_module_ctx_t preread_ctx_ops = {
    .preconfiguration = preread_preconfiguration,
    .postconfiguration = preread_postconfiguration,
    .create_srv_conf = preread_create_srv_conf,
    .merge_srv_conf = preread_merge_srv_conf,
};

fc_module_t fc_stream_ssl_preread_module = {
    .name = "stream_ssl_preread",
    .type = FC_STREAM_MODULE,
    .commands = preread_commands,
    .ctx = &preread_ctx_ops,
};

static void *
preread_create_srv_conf(fc_conf_t *cf)
{
    preread_conf_t *pc = fc_pcalloc(cf->pool, sizeof(*pc));
    if (pc == NULL)
        return NULL;
    pc->enabled = FC_UNSET;
    return pc;
}

static char *
preread_merge_srv_conf(fc_conf_t *cf, void *parent, void *child)
{
    preread_conf_t *prev = parent, *conf = child;
    (void) cf;
    fc_conf_merge_value(conf->enabled, prev->enabled, 0);
    return FC_CONF_OK;
}

/* ---- variables ---- */

/*
 * As nginx: not found before the client sent anything and when its bytes
 * were not a ClientHello; otherwise the hello's values, "" for what it did
 * not send or while it is incomplete (a session that ended mid-hello).
 */
static int
preread_var_get(void *r, fc_var_value_t *v, uintptr_t which)
{
    fc_stream_session_t *s = r;
    preread_ctx_t *ctx = fc_stream_get_module_ctx(s, fc_stream_ssl_preread_module);
    if (ctx == NULL || !ctx->seen || ctx->declined) {
        fc_var_set_not_found(v);
        return FC_OK;
    }
    switch (which) {
    case PREREAD_VAR_SERVER_NAME:
        fc_var_set_str(v, ctx->server_name.data, ctx->server_name.len);
        break;
    case PREREAD_VAR_ALPN:
        fc_var_set_str(v, ctx->alpn.data, ctx->alpn.len);
        break;
    default:
        fc_var_set_str(v, (const unsigned char *) (ctx->protocol ? ctx->protocol : ""),
                       ctx->protocol ? strlen(ctx->protocol) : 0);
        break;
    }
    return FC_OK;
}

static const fc_var_def_t preread_vars[] = {
    {"ssl_preread_server_name", preread_var_get, PREREAD_VAR_SERVER_NAME, 0},
    {"ssl_preread_protocol", preread_var_get, PREREAD_VAR_PROTOCOL, 0},
    {"ssl_preread_alpn_protocols", preread_var_get, PREREAD_VAR_ALPN, 0},
    {NULL, NULL, 0, 0}};

static int
preread_preconfiguration(fc_conf_t *cf)
{
    fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
    return fc_var_define_table(&cmcf->vars, preread_vars);
}

/* ---- the phase handler ---- */

static void
preread_event(fc_event_t *ev)
{
    fc_connection_t *c = ev->data;
    fc_stream_core_run_phases(c->data);
}

static preread_ctx_t *
preread_ctx_create(fc_stream_session_t *s)
{
    fc_connection_t *c = s->connection;
    fc_stream_core_srv_conf_t *cscf = fc_stream_get_module_srv_conf(s, fc_stream_core_module);
    preread_ctx_t *ctx = fc_pcalloc(c->pool, sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    ctx->size = cscf->preread_buffer_size > 0 ? cscf->preread_buffer_size : 1;
    ctx->buf = fc_palloc(c->pool, 2 * ctx->size);
    if (ctx->buf == NULL)
        return NULL;
    ctx->read_handler = c->read->handler;
    c->read->handler = preread_event;
    fc_stream_set_module_ctx(s, ctx, fc_stream_ssl_preread_module);
    return ctx;
}

/*
 * The phase is over for this module: the timer and the read handler go
 * back, the buffers are returned, and the read event is marked ready since
 * the peeked bytes are still in the socket for whoever reads next.
 */
static void
preread_finish(fc_stream_session_t *s, preread_ctx_t *ctx)
{
    fc_connection_t *c = s->connection;
    if (c->read->timer_set)
        fc_event_del_timer(c->loop, c->read);
    c->read->handler = ctx->read_handler;
    c->read->ready = 1;
    fc_pfree(c->pool, ctx->buf);
    ctx->buf = NULL;
}

/* Keeps what the hello said (it points into the buffer about to be freed). */
static int
preread_keep(fc_stream_session_t *s, preread_ctx_t *ctx, const fc_stream_tls_hello_t *h)
{
    fc_pool_t *pool = s->connection->pool;
    size_t n = h->server_name.len + h->alpn.len;
    unsigned char *p = fc_pnalloc(pool, n ? n : 1);
    if (p == NULL)
        return FC_ERROR;
    ctx->server_name.data = p;
    ctx->server_name.len = h->server_name.len;
    if (h->server_name.len)
        memcpy(p, h->server_name.data, h->server_name.len);
    ctx->alpn.data = p + h->server_name.len;
    ctx->alpn.len = h->alpn.len;
    if (h->alpn.len)
        memcpy(ctx->alpn.data, h->alpn.data, h->alpn.len);
    ctx->protocol = fc_stream_tls_version_name(h->version);
    return FC_OK;
}

/* Peeks at what the client sent so far: its length, 0 at EOF, FC_AGAIN, or FC_ERROR. */
static ssize_t
preread_peek(fc_connection_t *c, preread_ctx_t *ctx)
{
    for (;;) {
        ssize_t n = recv(c->fd, ctx->buf, ctx->size, MSG_PEEK);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c->read->ready = 0;
            return FC_AGAIN;
        }
        fc_log_error(FC_LOG_INFO, c->log, errno, "recv() failed");
        return FC_ERROR;
    }
}

/* Another turn of waiting for the hello's next bytes (under one deadline, as nginx). */
static int
preread_wait(fc_stream_session_t *s, preread_ctx_t *ctx, ssize_t n)
{
    fc_connection_t *c = s->connection;
    if ((size_t) n == ctx->size) {
        fc_log_error(FC_LOG_ERR, c->log, 0, "preread buffer full");
        return 400;
    }
    if (c->read->pending_eof)
        return 200; /* the client closed without finishing its hello */
    /* A peek returns all that is queued: the next segment brings a new edge. */
    c->read->ready = 0;
    if (!c->read->timer_set) {
        fc_stream_core_srv_conf_t *cscf = fc_stream_get_module_srv_conf(s, fc_stream_core_module);
        fc_event_add_timer(c->loop, c->read, cscf->preread_timeout);
    }
    return FC_AGAIN;
}

static int
preread_handler(fc_stream_session_t *s)
{
    fc_connection_t *c = s->connection;
    preread_conf_t *pc = fc_stream_get_module_srv_conf(s, fc_stream_ssl_preread_module);
    if (!pc->enabled || c->type != SOCK_STREAM)
        return FC_DECLINED;
    if (c->tls)
        return FC_DECLINED; /* TLS terminated here: the raw socket holds no ClientHello */
    preread_ctx_t *ctx = fc_stream_get_module_ctx(s, fc_stream_ssl_preread_module);
    if (ctx == NULL && (ctx = preread_ctx_create(s)) == NULL)
        return FC_ERROR;
    c->log->action = "prereading client data";
    if (c->read->timedout)
        return 200; /* preread_timeout: nginx ends the session, it does not proxy */
    ssize_t n = preread_peek(c, ctx);
    if (n == FC_AGAIN)
        return preread_wait(s, ctx, 0);
    if (n <= 0)
        return 200; /* closed or failed before a hello: nothing to proxy */
    ctx->seen = 1;
    fc_stream_tls_hello_t h;
    int rc = fc_stream_tls_hello_parse(ctx->buf, (size_t) n, ctx->buf + ctx->size, ctx->size, &h);
    if (rc == FC_AGAIN)
        return preread_wait(s, ctx, n);
    if (rc == FC_ERROR || (rc == FC_OK && preread_keep(s, ctx, &h) != FC_OK))
        return FC_ERROR;
    if (rc == FC_DECLINED) {
        ctx->declined = 1;
        fc_log_debug(c->log, "ssl preread: %s", h.error);
    }
    preread_finish(s, ctx);
    /* A hello ends the phase (as nginx's NGX_OK); anything else lets other handlers look. */
    return rc == FC_OK ? FC_OK : FC_DECLINED;
}

static int
preread_postconfiguration(fc_conf_t *cf)
{
    return fc_stream_add_phase_handler(cf, FC_STREAM_PREREAD_PHASE, preread_handler);
}
