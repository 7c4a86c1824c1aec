/*
 * stream_proxy.c: the L4 proxy. One client connection (or UDP client) is
 * bound to one upstream connection for its whole life. Connect failures and
 * timeouts count against the peer and move on to the next one
 * (proxy_next_upstream); once connected, bytes are relayed both ways and a
 * client's half-close is passed on.
 */
#include "stream/stream.h"
#include "event/tls_client.h"
#include "stream/relay.h"
#include "upstream/connect.h"
#include "upstream/bind.h"

typedef struct {
    fc_stream_upstream_t *upstream; /* static target: named or implicit group */
    fc_cv_t *upstream_value;        /* proxy_pass $variable */
    fc_msec_t connect_timeout;
    fc_msec_t timeout;
    fc_msec_t next_upstream_timeout;
    int next_upstream;
    int half_close;
    int socket_keepalive;
    int proxy_protocol; /* send a PROXY protocol v1 header first (TCP) */
    int64_t next_upstream_tries;
    int64_t responses;
    int64_t requests; /* proxy_requests: datagrams per UDP session; 0: no limit */
    size_t buffer_size;
    int ssl;                   /* proxy_ssl */
    fc_tls_client_conf_t tls;  /* proxy_ssl_* */
    fc_cv_t *ssl_name;         /* proxy_ssl_name; NULL: the host of proxy_pass; UNSET_PTR */
    fc_upstream_bind_conf_t bind; /* proxy_bind */
} proxy_conf_t;

typedef struct {
    fc_stream_session_t *s;
    fc_connection_t *peer;
    fc_upstream_pick_t pick;
    fc_upstream_group_t *group;
    fc_str_t key;
    fc_msec_t first_connect; /* for proxy_next_upstream_timeout */
    fc_msec_t connect_start;
    fc_relay_dir_t down; /* client -> upstream */
    fc_relay_dir_t up;   /* upstream -> client */
    fc_str_t ssl_name;   /* proxy_ssl: the name for SNI and verification of this try */
    unsigned tries;
    int64_t requests; /* UDP: datagrams forwarded to the upstream */
    int64_t responses;
    unsigned connected:1;
    unsigned picked:1;
    unsigned udp_failed : 1; /* UDP: the upstream erred or fell short of its replies */
    unsigned pp_sent : 1;    /* this try's PROXY protocol header is out */
    unsigned pp_len;         /* its length */
} proxy_ctx_t;

static void *proxy_create_srv_conf(fc_conf_t *cf);
static char *proxy_merge_srv_conf(fc_conf_t *cf, void *parent, void *child);
static char *proxy_pass(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static void proxy_handler(fc_stream_session_t *s);
static void proxy_connect(proxy_ctx_t *p);
static void proxy_process(proxy_ctx_t *p);
static void proxy_client_event(fc_event_t *ev);

static char *proxy_ssl_name_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

static const fc_conf_bounds_t proxy_tries_bounds = {0, 1 << 20};

#define PROXY_SLOT(type, setter, field)                                                            \
    FC_STREAM_MAIN_CONF | FC_STREAM_SRV_CONF | type, setter, FC_CONF_SRV_OFFSET,                   \
        offsetof(proxy_conf_t, field)

static char *
proxy_bind(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
    return fc_upstream_bind_directive(cf, &cmcf->vars,
                                      (fc_upstream_bind_conf_t *) ((char *) conf + cmd->offset));
}

static const fc_command_t proxy_commands[] = {
    {"proxy_pass", FC_STREAM_SRV_CONF | FC_CONF_TAKE1, proxy_pass, FC_CONF_SRV_OFFSET, 0, NULL},
    {"proxy_connect_timeout", PROXY_SLOT(FC_CONF_TAKE1, fc_conf_set_msec_slot, connect_timeout),
     NULL},
    {"proxy_timeout", PROXY_SLOT(FC_CONF_TAKE1, fc_conf_set_msec_slot, timeout), NULL},
    {"proxy_next_upstream", PROXY_SLOT(FC_CONF_FLAG, fc_conf_set_flag_slot, next_upstream), NULL},
    {"proxy_next_upstream_tries",
     PROXY_SLOT(FC_CONF_TAKE1, fc_conf_set_num_slot, next_upstream_tries), &proxy_tries_bounds},
    {"proxy_next_upstream_timeout",
     PROXY_SLOT(FC_CONF_TAKE1, fc_conf_set_msec_slot, next_upstream_timeout), NULL},
    {"proxy_buffer_size", PROXY_SLOT(FC_CONF_TAKE1, fc_conf_set_size_slot, buffer_size), NULL},
    {"proxy_responses", PROXY_SLOT(FC_CONF_TAKE1, fc_conf_set_num_slot, responses), NULL},
    {"proxy_requests", PROXY_SLOT(FC_CONF_TAKE1, fc_conf_set_num_slot, requests), NULL},
    {"proxy_half_close", PROXY_SLOT(FC_CONF_FLAG, fc_conf_set_flag_slot, half_close), NULL},
    {"proxy_protocol", PROXY_SLOT(FC_CONF_FLAG, fc_conf_set_flag_slot, proxy_protocol), NULL},
    {"proxy_socket_keepalive", PROXY_SLOT(FC_CONF_FLAG, fc_conf_set_flag_slot, socket_keepalive),
     NULL},
    {"proxy_ssl", PROXY_SLOT(FC_CONF_FLAG, fc_conf_set_flag_slot, ssl), NULL},
    {"proxy_bind", PROXY_SLOT(FC_CONF_TAKE12, proxy_bind, bind), NULL},
    {"proxy_ssl_name", PROXY_SLOT(FC_CONF_TAKE1, proxy_ssl_name_slot, ssl_name), NULL},
    FC_TLS_CLIENT_COMMANDS(FC_STREAM_MAIN_CONF | FC_STREAM_SRV_CONF, FC_CONF_SRV_OFFSET,
                           offsetof(proxy_conf_t, tls)),
    fc_null_command};

static const fc_layer_module_ctx_t proxy_ctx_ops = {
    .create_srv_conf = proxy_create_srv_conf,
    .merge_srv_conf = proxy_merge_srv_conf,
};

fc_module_t fc_stream_proxy_module = {
    .name = "stream_proxy",
    .type = FC_STREAM_MODULE,
    .commands = proxy_commands,
    .ctx = &proxy_ctx_ops,
};

static void *
proxy_create_srv_conf(fc_conf_t *cf)
{
    proxy_conf_t *pc = fc_pcalloc(cf->pool, sizeof(*pc));
    if (pc == NULL)
        return NULL;
    pc->connect_timeout = FC_UNSET_MSEC;
    pc->timeout = FC_UNSET_MSEC;
    pc->next_upstream_timeout = FC_UNSET_MSEC;
    pc->next_upstream = FC_UNSET;
    pc->half_close = FC_UNSET;
    pc->socket_keepalive = FC_UNSET;
    pc->proxy_protocol = FC_UNSET;
    pc->next_upstream_tries = FC_UNSET;
    pc->responses = FC_UNSET;
    pc->requests = FC_UNSET;
    pc->buffer_size = FC_UNSET_SIZE;
    pc->ssl = FC_UNSET;
    fc_tls_client_conf_init(&pc->tls);
    pc->ssl_name = FC_UNSET_PTR;
    return pc;
}

static char *
proxy_ssl_name_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_cv_t **slot = (fc_cv_t **) ((char *) conf + cmd->offset);
    if (*slot != FC_UNSET_PTR)
        return "is duplicate";
    fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
    *slot = fc_palloc(cf->pool, sizeof(fc_cv_t));
    if (*slot == NULL || fc_cv_compile(cf, &cmcf->vars, &fc_conf_args(cf)[1], *slot) != FC_OK)
        return FC_CONF_ERROR;
    return FC_CONF_OK;
}

static char *
proxy_merge_srv_conf(fc_conf_t *cf, void *parent, void *child)
{
    proxy_conf_t *prev = parent, *conf = child;
    fc_conf_merge_msec(conf->connect_timeout, prev->connect_timeout, 60000);
    fc_conf_merge_msec(conf->timeout, prev->timeout, 10 * 60000);
    fc_conf_merge_msec(conf->next_upstream_timeout, prev->next_upstream_timeout, 0);
    fc_conf_merge_value(conf->next_upstream, prev->next_upstream, 1);
    /* On by default: issue #2 asks for a client's half-close to be passed on. */
    fc_conf_merge_value(conf->half_close, prev->half_close, 1);
    fc_conf_merge_value(conf->socket_keepalive, prev->socket_keepalive, 0);
    fc_conf_merge_value(conf->proxy_protocol, prev->proxy_protocol, 0);
    fc_upstream_bind_merge(&conf->bind, &prev->bind);
    fc_conf_merge_value(conf->next_upstream_tries, prev->next_upstream_tries, 0);
    fc_conf_merge_value(conf->responses, prev->responses, -1);
    fc_conf_merge_value(conf->requests, prev->requests, 0);
    fc_conf_merge_size(conf->buffer_size, prev->buffer_size, 16384);
    fc_conf_merge_value(conf->ssl, prev->ssl, 0);
    fc_conf_merge_ptr(conf->ssl_name, prev->ssl_name, NULL);
    return fc_tls_client_conf_merge(cf, &conf->tls, &prev->tls, conf->ssl);
}

static char *
proxy_pass(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    proxy_conf_t *pc = conf;
    fc_str_t *v = &fc_conf_args(cf)[1];
    (void) cmd;
    if (pc->upstream || pc->upstream_value)
        return "is duplicate";
    fc_stream_core_srv_conf_t *cscf = fc_stream_conf_get_srv(cf, fc_stream_core_module);
    cscf->handler = proxy_handler;
    if (memchr(v->data, '$', v->len)) {
        fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
        pc->upstream_value = fc_palloc(cf->pool, sizeof(fc_cv_t));
        if (pc->upstream_value == NULL ||
            fc_cv_compile(cf, &cmcf->vars, v, pc->upstream_value) != FC_OK)
            return FC_CONF_ERROR;
        return FC_CONF_OK;
    }
    if (memchr(v->data, ':', v->len) == NULL) {
        /* No port: an upstream{} name, which may be defined further down. */
        pc->upstream = fc_stream_upstream_add(cf, v, 0);
        return pc->upstream ? FC_CONF_OK : FC_CONF_ERROR;
    }
    fc_url_t u;
    const char *err;
    if (fc_url_parse(cf->pool, &u, v, 0, 0, &err) != FC_OK) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s in upstream \"%.*s\"", err, (int) v->len,
                          v->data);
        return FC_CONF_ERROR;
    }
    pc->upstream = fc_pcalloc(cf->pool, sizeof(fc_stream_upstream_t));
    if (pc->upstream == NULL)
        return FC_CONF_ERROR;
    pc->upstream->group = fc_upstream_group_implicit(cf->pool, &u);
    pc->upstream->defined = 1;
    return pc->upstream->group ? FC_CONF_OK : FC_CONF_ERROR;
}

/* ---- run time ---- */

static proxy_conf_t *
proxy_conf(proxy_ctx_t *p)
{
    return fc_stream_get_module_srv_conf(p->s, fc_stream_proxy_module);
}

static void
proxy_close_peer(proxy_ctx_t *p)
{
    fc_relay_dir_close(&p->down);
    fc_relay_dir_close(&p->up);
    if (p->peer) {
        fc_close_connection(p->peer);
        p->peer = NULL;
    }
}

/* The session's end: release the peer (a success unless a failure was reported). */
static void
proxy_cleanup(fc_stream_session_t *s)
{
    proxy_ctx_t *p = fc_stream_get_module_ctx(s, fc_stream_proxy_module);
    if (p == NULL)
        return;
    if (p->picked) {
        /*
         * As nginx: a UDP session whose upstream erred (ICMP refused, a
         * timeout short of proxy_responses) counts against max_fails, so a
         * dead UDP peer is disabled; a connected TCP session never does.
         */
        fc_upstream_pick_done(&p->pick, fc_current_msec(),
                              p->udp_failed ? FC_UPSTREAM_PEER_FAILED : FC_UPSTREAM_PEER_OK);
        p->picked = 0;
    }
    if (s->upstream_state)
        s->upstream_state->session_time = fc_current_msec() - p->connect_start;
    proxy_close_peer(p);
}

static void
proxy_finalize(proxy_ctx_t *p, int status)
{
    fc_stream_finalize_session(p->s, status);
}

/* Appends a peer name to $upstream_addr ("a, b" after a retry). */
static void
proxy_note_addr(proxy_ctx_t *p, const fc_str_t *name)
{
    fc_stream_session_t *s = p->s;
    size_t n = s->upstream_addr.len ? s->upstream_addr.len + 2 + name->len : name->len;
    unsigned char *d = fc_pnalloc(s->connection->pool, n + 1);
    if (d == NULL)
        return;
    size_t off = 0;
    if (s->upstream_addr.len) {
        memcpy(d, s->upstream_addr.data, s->upstream_addr.len);
        memcpy(d + s->upstream_addr.len, ", ", 2);
        off = s->upstream_addr.len + 2;
    }
    memcpy(d + off, name->data, name->len);
    d[n] = '\0';
    s->upstream_addr.data = d;
    s->upstream_addr.len = n;
}

static int
proxy_resolve_target(proxy_ctx_t *p)
{
    proxy_conf_t *pc = proxy_conf(p);
    fc_stream_session_t *s = p->s;
    fc_log_t *log = s->connection->log;
    fc_stream_upstream_t *su = pc->upstream;
    if (pc->upstream_value) {
        fc_str_t v;
        if (fc_stream_cv_eval(s, pc->upstream_value, &v) != FC_OK)
            return FC_ERROR;
        su = fc_stream_upstream_find(s, &v);
        if (su == NULL) {
            /* Not an upstream name: an address, which must need no DNS at run time. */
            fc_url_t u;
            const char *err;
            memset(&u, 0, sizeof(u));
            if (fc_url_parse(s->connection->pool, &u, &v, 0, FC_URL_NO_RESOLVE, &err) != FC_OK) {
                /* nginx's words: "no port in upstream "x"", "no resolver defined to resolve h" */
                if (u.host.len && strncmp(err, "no resolver", 11) == 0)
                    fc_log_error(FC_LOG_ERR, log, 0, "%s %.*s", err, (int) u.host.len, u.host.data);
                else
                    fc_log_error(FC_LOG_ERR, log, 0, "%s in upstream \"%.*s\"", err, (int) v.len,
                                 v.data);
                return FC_ERROR;
            }
            p->group = fc_upstream_group_implicit(s->connection->pool, &u);
            return p->group ? FC_OK : FC_ERROR;
        }
    }
    p->group = su->group;
    if (p->group->method == FC_UPSTREAM_HASH && fc_stream_cv_eval(s, &su->hash_key, &p->key) != FC_OK)
        return FC_ERROR;
    return FC_OK;
}

static void
proxy_handler(fc_stream_session_t *s)
{
    fc_connection_t *c = s->connection;
    proxy_ctx_t *p = fc_pcalloc(c->pool, sizeof(*p));
    if (p == NULL) {
        fc_stream_finalize_session(s, 500);
        return;
    }
    p->s = s;
    /* No pipes yet: proxy_close_peer() must not close fd 0 (a zeroed pipe). */
    p->down.pipe[0] = p->down.pipe[1] = p->up.pipe[0] = p->up.pipe[1] = -1;
    fc_stream_set_module_ctx(s, p, fc_stream_proxy_module);
    s->cleanup = proxy_cleanup;
    c->read->handler = proxy_client_event;
    c->write->handler = proxy_client_event;
    if (proxy_resolve_target(p) != FC_OK) {
        fc_stream_finalize_session(s, 500); /* as nginx: a target that cannot be made is 500 */
        return;
    }
    if (fc_upstream_pick_init(&p->pick, p->group, c->pool, p->key.len ? &p->key : NULL) != FC_OK) {
        fc_stream_finalize_session(s, 500);
        return;
    }
    p->pick.log = c->log;
    fc_upstream_pick_client(&p->pick, (struct sockaddr *) &c->sockaddr);
    proxy_conf_t *pc = proxy_conf(p);
    if (pc->next_upstream_tries > 0 && p->pick.tries > pc->next_upstream_tries)
        p->pick.tries = (unsigned) pc->next_upstream_tries;
    p->first_connect = fc_current_msec();
    proxy_connect(p);
}

/* Gives up on the current peer (failed) and tries the next one if allowed. */
static void
proxy_next(proxy_ctx_t *p, int failed)
{
    proxy_conf_t *pc = proxy_conf(p);
    if (p->picked) {
        fc_upstream_pick_done(&p->pick, fc_current_msec(),
                              failed ? FC_UPSTREAM_PEER_FAILED : FC_UPSTREAM_PEER_NEXT);
        p->picked = 0;
    }
    if (p->s->upstream_state)
        p->s->upstream_state->session_time = fc_current_msec() - p->connect_start;
    proxy_close_peer(p);
    fc_msec_t elapsed = fc_current_msec() - p->first_connect;
    if (!pc->next_upstream || p->pick.tries == 0 ||
        (pc->next_upstream_timeout && elapsed >= pc->next_upstream_timeout)) {
        proxy_finalize(p, 502);
        return;
    }
    proxy_connect(p);
}

static void proxy_connected(proxy_ctx_t *p);
static void proxy_connect_handler(fc_event_t *ev);
static void proxy_upstream_event(fc_event_t *ev);

/* Opens the record of one more upstream attempt. */
static int
proxy_new_state(fc_stream_session_t *s)
{
    if (s->upstream_states == NULL) {
        s->upstream_states =
            fc_array_create(s->connection->pool, 2, sizeof(fc_stream_upstream_state_t));
        if (s->upstream_states == NULL)
            return FC_ERROR;
    }
    fc_stream_upstream_state_t *st = fc_array_push(s->upstream_states);
    if (st == NULL)
        return FC_ERROR;
    memset(st, 0, sizeof(*st));
    st->connect_time = -1;
    st->first_byte_time = -1;
    s->upstream_state = st;
    return FC_OK;
}

static void
proxy_connect(proxy_ctx_t *p)
{
    fc_stream_session_t *s = p->s;
    fc_connection_t *c = s->connection;
    c->log->action = "connecting to upstream";
    /* As nginx, even an attempt that finds no peer has its record ($upstream_bytes_* 0). */
    p->connect_start = fc_current_msec();
    if (proxy_new_state(s) != FC_OK) {
        proxy_finalize(p, 500);
        return;
    }
    if (fc_upstream_pick_next(&p->pick, fc_current_msec()) != FC_OK) {
        proxy_note_addr(p, &p->group->name); /* nginx: $upstream_addr is the group */
        s->upstream_state->peer = p->group->name;
        fc_log_error(FC_LOG_ERR, c->log, 0, "no live upstreams");
        proxy_finalize(p, 502);
        return;
    }
    p->picked = 1;
    fc_upstream_peer_t *peer = p->pick.peer;
    proxy_note_addr(p, &peer->addr.name);
    s->upstream_state->peer = peer->addr.name; /* the error log names this try's peer */
    if (fc_conn_free_count(c->cpool) == 0) {
        /* No slot for the upstream side: do not touch the backend at all. */
        fc_log_error(FC_LOG_ALERT, c->log, 0, "worker_connections are not enough");
        proxy_finalize(p, 502);
        return;
    }
    proxy_conf_t *pc = proxy_conf(p);
    fc_stream_core_srv_conf_t *cscf = fc_stream_get_module_srv_conf(s, fc_stream_core_module);
    unsigned flags = (cscf->tcp_nodelay ? FC_UPSTREAM_CONNECT_NODELAY : 0) |
                     (pc->socket_keepalive ? FC_UPSTREAM_CONNECT_KEEPALIVE : 0);
    fc_upstream_local_t local;
    int brc = FC_DECLINED;
    if (pc->bind.value) {
        fc_str_t v;
        brc = fc_stream_cv_eval(s, pc->bind.value, &v) == FC_OK
                  ? fc_upstream_bind_local(&pc->bind, &v, c->pool, c->log, &local)
                  : FC_ERROR;
    }
    if (brc == FC_ERROR) {
        proxy_finalize(p, 500);
        return;
    }
    fc_connection_t *pcn;
    int rc = fc_upstream_connect(c->cpool, &peer->addr, c->type, flags,
                                 brc == FC_OK ? &local : NULL, c->log, &pcn);
    if (rc == FC_DECLINED) {
        proxy_next(p, 1);
        return;
    }
    if (rc == FC_ERROR) {
        proxy_finalize(p, 502);
        return;
    }
    pcn->data = p;
    pcn->number = c->number;
    p->peer = pcn;
    p->pp_sent = 0;
    p->pp_len = 0;
    pcn->read->handler = proxy_connect_handler;
    pcn->write->handler = proxy_connect_handler;
    if (rc == FC_OK) {
        proxy_connected(p);
        return;
    }
    fc_event_add_timer(pcn->loop, pcn->write, pc->connect_timeout);
}

static void
proxy_connect_handler(fc_event_t *ev)
{
    fc_connection_t *pcn = ev->data;
    proxy_ctx_t *p = pcn->data;
    fc_log_t *log = p->s->connection->log;
    if (ev->timedout) {
        fc_log_error(FC_LOG_ERR, log, ETIMEDOUT, "upstream timed out");
        proxy_next(p, 1);
        return;
    }
    int rc = fc_upstream_connect_result(pcn, log);
    if (rc == FC_ERROR)
        proxy_next(p, 1);
    else if (rc == FC_OK)
        proxy_connected(p);
}

/* ---- proxy_ssl: TLS to the upstream ------------------------------------------------ */

static void proxy_ssl_handshake(proxy_ctx_t *p);

static void
proxy_ssl_event(fc_event_t *ev)
{
    fc_connection_t *pcn = ev->data;
    proxy_ctx_t *p = pcn->data;
    if (ev->timedout) {
        fc_log_error(FC_LOG_ERR, p->s->connection->log, ETIMEDOUT, "upstream timed out");
        proxy_next(p, 1);
        return;
    }
    proxy_ssl_handshake(p);
}

/* The name for SNI and verification: proxy_ssl_name, else proxy_pass's host without port. */
static int
proxy_ssl_name(proxy_ctx_t *p, fc_str_t *name)
{
    proxy_conf_t *pc = proxy_conf(p);
    *name = p->group->name;
    if (pc->ssl_name && fc_stream_cv_eval(p->s, pc->ssl_name, name) != FC_OK)
        return FC_ERROR;
    fc_tls_client_name_trim(name);
    return FC_OK;
}

static void
proxy_ssl_handshake(proxy_ctx_t *p)
{
    fc_connection_t *pcn = p->peer;
    proxy_conf_t *pc = proxy_conf(p);
    if (pcn->tls == NULL) {
        p->s->connection->log->action = "SSL handshaking to upstream";
        pcn->log_error = FC_LOG_ERR;
        if (proxy_ssl_name(p, &p->ssl_name) != FC_OK) {
            proxy_next(p, 1);
            return;
        }
        pcn->read->handler = proxy_ssl_event;
        pcn->write->handler = proxy_ssl_event;
        if (!pcn->write->timer_set)
            fc_event_add_timer(pcn->loop, pcn->write, pc->connect_timeout);
    }
    int rc = fc_tls_client_handshake(pcn, &pc->tls, &p->ssl_name, &p->pick.peer->addr.name);
    if (rc == FC_ERROR)
        proxy_next(p, 1);
    else if (rc == FC_OK)
        proxy_connected(p);
}

/* An info line without the session context (client, server, bytes), as nginx writes these. */
static void FC_PRINTF(2, 3) proxy_log_info_bare(fc_log_t *log, const char *fmt, ...)
{
    if (log->level < FC_LOG_INFO && log->next == NULL)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fc_log_handler_pt handler = log->handler;
    const char *action = log->action;
    log->handler = NULL;
    log->action = NULL;
    fc_log_error(FC_LOG_INFO, log, 0, "%s", msg);
    log->handler = handler;
    log->action = action;
}

/*
 * proxy_protocol on: "PROXY TCP4 CLIENT SERVER CPORT SPORT\r\n" (v1), sent
 * before anything else, TLS included, and in one piece as the PROXY
 * protocol asks (a fresh connection always takes it, as nginx relies on).
 */
static int
proxy_send_proxy_protocol(proxy_ctx_t *p)
{
    fc_connection_t *c = p->s->connection;
    const struct sockaddr *sa = (const struct sockaddr *) &c->sockaddr;
    char buf[128];
    int n;
    if ((sa->sa_family != AF_INET && sa->sa_family != AF_INET6) || fc_conn_local_addr(c) != FC_OK) {
        n = snprintf(buf, sizeof(buf), "PROXY UNKNOWN\r\n");
    } else {
        const struct sockaddr *la = (const struct sockaddr *) &c->local_sockaddr;
        char src[64], dst[64];
        fc_sockaddr_ntop(sa, c->socklen, src, sizeof(src), 0);
        fc_sockaddr_ntop(la, c->local_socklen, dst, sizeof(dst), 0);
        n = snprintf(buf, sizeof(buf), "PROXY %s %s %s %u %u\r\n",
                     sa->sa_family == AF_INET ? "TCP4" : "TCP6", src, dst,
                     (unsigned) fc_sockaddr_port(sa), (unsigned) fc_sockaddr_port(la));
    }
    ssize_t w = send(p->peer->fd, buf, (size_t) n, MSG_NOSIGNAL);
    if (w != n) {
        fc_log_error(FC_LOG_ERR, c->log, w < 0 ? errno : 0,
                     "could not send PROXY protocol header at once");
        return FC_ERROR;
    }
    p->pp_len = (unsigned) n; /* counted in $upstream_bytes_sent, as nginx */
    p->pp_sent = 1;
    return FC_OK;
}

static void
proxy_connected(proxy_ctx_t *p)
{
    fc_stream_session_t *s = p->s;
    fc_connection_t *c = s->connection, *pcn = p->peer;
    proxy_conf_t *pc = proxy_conf(p);
    if (pc->proxy_protocol && c->type == SOCK_STREAM && !p->pp_sent &&
        proxy_send_proxy_protocol(p) != FC_OK) {
        proxy_next(p, 1);
        return;
    }
    if (pc->ssl && c->type == SOCK_STREAM && (pcn->tls == NULL || !pcn->tls->handshaked)) {
        proxy_ssl_handshake(p);
        return;
    }
    fc_event_del_timer(pcn->loop, pcn->write);
    p->connected = 1;
    if ((c->log->level >= FC_LOG_INFO || c->log->next) && fc_conn_local_addr(pcn) == FC_OK) {
        char local[64];
        fc_sockaddr_ntop((const struct sockaddr *) &pcn->local_sockaddr, pcn->local_socklen, local,
                         sizeof(local), 1);
        proxy_log_info_bare(c->log, "%sproxy %s connected to %s",
                            c->type == SOCK_DGRAM ? "udp " : "", local,
                            (const char *) p->pick.peer->addr.name.data);
    }
    s->upstream_state->connect_time = fc_current_msec() - p->connect_start;
    c->log->action = "proxying connection";
    pcn->read->handler = proxy_upstream_event;
    pcn->write->handler = proxy_upstream_event;
    c->read->handler = proxy_client_event;
    c->write->handler = proxy_client_event;
    pcn->write->ready = 1;
    if (c->type == SOCK_DGRAM) {
        p->responses = 0;
        proxy_process(p);
        return;
    }
    int splice_ok = 1;
    fc_relay_dir_init(&p->down, c, pcn, c->pool, pc->buffer_size, splice_ok, pc->half_close);
    fc_relay_dir_init(&p->up, pcn, c, c->pool, pc->buffer_size, splice_ok, pc->half_close);
    proxy_process(p);
}

static void
proxy_client_event(fc_event_t *ev)
{
    fc_connection_t *c = ev->data;
    fc_stream_session_t *s = c->data;
    proxy_ctx_t *p = fc_stream_get_module_ctx(s, fc_stream_proxy_module);
    if (ev->timedout) {
        proxy_conf_t *pc = proxy_conf(p);
        if (c->type == SOCK_DGRAM && pc->responses >= 0 &&
            p->responses < pc->responses * p->requests) {
            /* nginx: a UDP session short of its expected replies failed */
            fc_log_error(FC_LOG_ERR, c->log, ETIMEDOUT, "upstream timed out");
            p->udp_failed = 1;
            proxy_finalize(p, 502);
            return;
        }
        fc_log_error(FC_LOG_INFO, c->log, ETIMEDOUT, "client timed out");
        proxy_finalize(p, 200);
        return;
    }
    proxy_process(p);
}

static void
proxy_upstream_event(fc_event_t *ev)
{
    fc_connection_t *pcn = ev->data;
    proxy_process(pcn->data);
}

static void
proxy_account(proxy_ctx_t *p)
{
    fc_stream_session_t *s = p->s;
    fc_connection_t *c = s->connection;
    c->received = p->down.in;
    c->sent = p->up.out;
    fc_stream_upstream_state_t *st = s->upstream_state;
    st->bytes_sent = p->down.out + p->pp_len;
    st->bytes_received = p->up.in;
    if (st->first_byte_time < 0 && p->up.in > 0)
        st->first_byte_time = fc_current_msec() - p->connect_start;
}

static int
proxy_relay_error(proxy_ctx_t *p, fc_relay_dir_t *d, int upstream_is_src, int other_done)
{
    fc_log_t *log = p->s->connection->log;
    int on_upstream = d->failed_src ? upstream_is_src : !upstream_is_src;
    if (on_upstream && other_done) {
        /* The upstream already finished its side; the client's extra bytes are moot. */
        return 200;
    }
    fc_log_error(on_upstream ? FC_LOG_ERR : FC_LOG_INFO, log, d->err, "%s() failed",
                 d->failed_src ? "recv" : "send");
    return on_upstream ? 502 : 200;
}

static void
proxy_process_tcp(proxy_ctx_t *p)
{
    proxy_conf_t *pc = proxy_conf(p);
    fc_connection_t *c = p->s->connection;
    int down = fc_relay_pump(&p->down);
    int up = fc_relay_pump(&p->up);
    proxy_account(p);
    if (down == FC_ERROR) {
        proxy_finalize(p, proxy_relay_error(p, &p->down, 0, up == FC_DONE));
        return;
    }
    if (up == FC_ERROR) {
        proxy_finalize(p, proxy_relay_error(p, &p->up, 1, down == FC_DONE));
        return;
    }
    /* Without half-close, either side's end ends the session, as in nginx. */
    if ((down == FC_DONE && up == FC_DONE) ||
        (!pc->half_close && (down == FC_DONE || up == FC_DONE))) {
        proxy_log_info_bare(c->log,
                            "%s disconnected, bytes from/to client:%" PRIu64 "/%" PRIu64
                            ", bytes from/to upstream:%" PRIu64 "/%" PRIu64,
                            up == FC_DONE ? "upstream" : "client", p->down.in, p->up.out, p->up.in,
                            p->down.out + p->pp_len);
        proxy_finalize(p, 200);
        return;
    }
    if (down == FC_OK || up == FC_OK || !c->read->timer_set)
        fc_event_add_timer(c->loop, c->read, pc->timeout);
}

static unsigned char *
proxy_udp_buffer(proxy_ctx_t *p)
{
    if (p->up.buf == NULL) {
        p->up.buf = fc_buf_create(p->s->connection->pool, 65536);
        if (p->up.buf == NULL)
            return NULL;
    }
    return p->up.buf->start;
}

static int
proxy_udp_forward_client(proxy_ctx_t *p)
{
    fc_connection_t *c = p->s->connection;
    fc_buf_t *b = c->udp_buf;
    if (b == NULL || b->pos == b->last)
        return FC_OK;
    ssize_t n = send(p->peer->fd, b->pos, (size_t) (b->last - b->pos), 0);
    c->udp_buf = NULL; /* datagrams are delivered or dropped, never queued */
    if (n < 0) {
        if (errno == EAGAIN || errno == ENOBUFS)
            return FC_OK;
        fc_log_error(FC_LOG_ERR, c->log, errno, "send() to upstream failed");
        return FC_ERROR;
    }
    p->down.in += (uint64_t) (b->last - b->pos);
    p->down.out += (uint64_t) n;
    p->requests++;
    proxy_conf_t *pc = proxy_conf(p);
    if (pc->requests > 0 && p->requests >= pc->requests)
        fc_event_udp_unlink(c); /* proxy_requests: the client's next datagram starts a session */
    return FC_OK;
}

static int
proxy_udp_forward_upstream(proxy_ctx_t *p, int *done)
{
    proxy_conf_t *pc = proxy_conf(p);
    fc_connection_t *c = p->s->connection, *pcn = p->peer;
    unsigned char *buf = proxy_udp_buffer(p);
    if (buf == NULL)
        return FC_ERROR;
    while (pcn->read->ready) {
        ssize_t n = recv(pcn->fd, buf, 65536, 0);
        if (n < 0) {
            if (errno == EAGAIN) {
                pcn->read->ready = 0;
                break;
            }
            if (errno == EINTR)
                continue;
            fc_log_error(FC_LOG_ERR, c->log, errno, "recv() failed");
            return FC_ERROR;
        }
        p->up.in += (uint64_t) n;
        ssize_t w = fc_event_udp_reply(c, buf, (size_t) n);
        if (w > 0)
            p->up.out += (uint64_t) w;
        p->responses++;
        /* proxy_responses N: N replies per client datagram, as nginx counts */
        if (pc->responses >= 0 && p->responses >= pc->responses * p->requests) {
            *done = 1;
            break;
        }
    }
    return FC_OK;
}

static void
proxy_process_udp(proxy_ctx_t *p)
{
    proxy_conf_t *pc = proxy_conf(p);
    fc_connection_t *c = p->s->connection;
    int done = 0;
    if (proxy_udp_forward_client(p) != FC_OK || proxy_udp_forward_upstream(p, &done) != FC_OK) {
        proxy_account(p);
        p->udp_failed = 1;
        proxy_finalize(p, 502);
        return;
    }
    proxy_account(p);
    if (done || pc->responses == 0) {
        proxy_finalize(p, 200);
        return;
    }
    fc_event_add_timer(c->loop, c->read, pc->timeout);
}

static void
proxy_process(proxy_ctx_t *p)
{
    if (!p->connected)
        return; /* client bytes wait in the socket until the upstream answers */
    if (p->s->connection->type == SOCK_DGRAM)
        proxy_process_udp(p);
    else
        proxy_process_tcp(p);
}
