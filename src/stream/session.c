/*
 * session.c: a stream session from accept to log. The phases run in order;
 * a handler that must wait (preread) returns FC_AGAIN and resumes the
 * session itself. Finalizing runs the LOG handlers, the content handler's
 * cleanup, and closes the client connection, which frees the session.
 */
#include "stream/stream.h"

#include <netinet/tcp.h>

static size_t
stream_log_context(fc_log_t *log, char *buf, size_t len)
{
    fc_stream_session_t *s = log->data;
    if (s == NULL)
        return 0;
    fc_connection_t *c = s->connection;
    /* as nginx's ngx_stream_log_error: "udp client" for a datagram session */
    int n = snprintf(buf, len, ", %sclient: %s, server: %s", c->type == SOCK_DGRAM ? "udp " : "",
                     c->addr_text.data,
                     c->listening ? (const char *) c->listening->addr.name.data : "");
    if (n < 0 || (size_t) n >= len)
        return len > 0 ? len - 1 : 0;
    /* As nginx: the peer of the current try, not every one tried so far. */
    const fc_stream_upstream_state_t *st = s->upstream_state;
    const fc_str_t *peer = st && st->peer.len ? &st->peer : &s->upstream_addr;
    if (peer->len) {
        int m = snprintf(buf + n, len - (size_t) n, ", upstream: \"%.*s\"", (int) peer->len,
                         peer->data);
        if (m > 0)
            n = (int) fc_min((size_t) n + (size_t) m, len - 1);
    }
    int m = snprintf(buf + n, len - (size_t) n,
                     ", bytes from/to client:%" PRIu64 "/%" PRIu64
                     ", bytes from/to upstream:%" PRIu64 "/%" PRIu64,
                     c->received, c->sent, st ? st->bytes_received : 0, st ? st->bytes_sent : 0);
    if (m > 0)
        n = (int) fc_min((size_t) n + (size_t) m, len - 1);
    return (size_t) n;
}

fc_stream_core_main_conf_t *
fc_stream_core_main(fc_stream_session_t *s)
{
    return s->main_conf[fc_stream_core_module.ctx_index];
}

int
fc_stream_cv_eval(fc_stream_session_t *s, const fc_cv_t *cv, fc_str_t *out)
{
    fc_stream_core_main_conf_t *cmcf = fc_stream_core_main(s);
    return fc_cv_eval(cv, &cmcf->vars, s->variables, s, s->connection->pool, &s->captures, out);
}

static fc_stream_session_t *
stream_session_create(fc_connection_t *c, fc_stream_core_srv_conf_t *cscf)
{
    fc_stream_session_t *s = fc_pcalloc(c->pool, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->connection = c;
    s->main_conf = cscf->ctx->main_conf;
    s->srv_conf = cscf->ctx->srv_conf;
    s->start_msec = fc_current_msec();
    s->status = 200;
    fc_stream_core_main_conf_t *cmcf = fc_stream_core_main(s);
    s->ctx = fc_pcalloc(c->pool, fc_modules_count(FC_STREAM_MODULE) * sizeof(void *));
    s->variables = fc_pcalloc(c->pool, (fc_var_count(&cmcf->vars) + 1) * sizeof(fc_var_value_t));
    if (s->ctx == NULL || s->variables == NULL)
        return NULL;
    c->data = s;
    c->log->data = s;
    c->log->handler = stream_log_context;
    c->log->action = "initializing session";
    return s;
}

/* Until a phase or content handler takes over, events on the client wait. */
static void
stream_idle_handler(fc_event_t *ev)
{
    (void) ev;
}

void
fc_stream_init_connection(fc_connection_t *c)
{
    c->read->handler = stream_idle_handler;
    c->write->handler = stream_idle_handler;
    fc_stream_core_srv_conf_t *cscf = c->listening->servers;
    fc_log_use_destinations(c->log, cscf->error_log); /* the server's error_log, as nginx */
    if (c->type == SOCK_STREAM) {
        if (cscf->tcp_nodelay) {
            int one = 1;
            setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
        if (fc_event_add_conn(c->loop, c) != FC_OK) {
            fc_close_connection(c);
            return;
        }
    }
    /* nginx's words: "client ADDR:PORT connected to LISTEN" ("udp client" for UDP) */
    char peer[FC_SOCKADDR_STRLEN];
    fc_sockaddr_ntop((struct sockaddr *) &c->sockaddr, c->socklen, peer, sizeof(peer), 1);
    fc_log_error(FC_LOG_INFO, c->log, 0, "%sclient %s connected to %s",
                 c->type == SOCK_STREAM ? "" : "udp ", peer, c->listening->addr.name.data);
    fc_stream_session_t *s = stream_session_create(c, cscf);
    if (s == NULL) {
        fc_close_connection(c);
        return;
    }
    fc_stream_core_run_phases(s);
}

void
fc_stream_core_run_phases(fc_stream_session_t *s)
{
    fc_stream_core_main_conf_t *cmcf = fc_stream_core_main(s);
    while (s->phase < FC_STREAM_CONTENT_PHASE) {
        fc_array_t *a = &cmcf->phases[s->phase];
        if (s->handler >= a->nelts) {
            s->phase++;
            s->handler = 0;
            continue;
        }
        fc_stream_phase_pt h = ((fc_stream_phase_pt *) a->elts)[s->handler];
        int rc = h(s);
        if (rc == FC_DECLINED) {
            s->handler++;
        } else if (rc == FC_OK) {
            s->phase++;
            s->handler = 0;
        } else if (rc == FC_AGAIN) {
            return;
        } else {
            fc_stream_finalize_session(s, rc == FC_DONE ? 200 : rc == FC_ERROR ? 500 : rc);
            return;
        }
    }
    fc_stream_core_srv_conf_t *cscf = s->srv_conf[fc_stream_core_module.ctx_index];
    s->connection->log->action = NULL;
    if (cscf->handler == NULL) {
        fc_log_error(FC_LOG_ERR, s->connection->log, 0, "no handler for server");
        fc_stream_finalize_session(s, 500);
        return;
    }
    cscf->handler(s);
}

void
fc_stream_finalize_session(fc_stream_session_t *s, int status)
{
    if (s->finalized)
        return;
    s->finalized = 1;
    s->status = status;
    fc_connection_t *c = s->connection;
    c->log->action = NULL;
    if (s->cleanup)
        s->cleanup(s);
    fc_stream_core_main_conf_t *cmcf = fc_stream_core_main(s);
    fc_array_t *a = &cmcf->phases[FC_STREAM_LOG_PHASE];
    for (size_t i = 0; i < a->nelts; i++)
        ((fc_stream_phase_pt *) a->elts)[i](s);
    c->log->handler = NULL;
    fc_close_connection(c);
}
