/* vars.c: the builtin stream variables ($remote_addr, $bytes_sent, $session_time, ...). */
#include "stream/stream.h"

#include <arpa/inet.h>

enum {
    VAR_REMOTE_ADDR,
    VAR_BINARY_REMOTE_ADDR,
    VAR_REMOTE_PORT,
    VAR_SERVER_ADDR,
    VAR_SERVER_PORT,
    VAR_BYTES_SENT,
    VAR_BYTES_RECEIVED,
    VAR_SESSION_TIME,
    VAR_STATUS,
    VAR_CONNECTION,
    VAR_PROTOCOL,
    VAR_UPSTREAM_ADDR,
    VAR_UPSTREAM_BYTES_SENT,
    VAR_UPSTREAM_BYTES_RECEIVED,
    VAR_UPSTREAM_CONNECT_TIME,
    VAR_UPSTREAM_FIRST_BYTE_TIME,
    VAR_UPSTREAM_SESSION_TIME,
};

static int
vars_printf(fc_stream_session_t *s, fc_var_value_t *v, const char *fmt, ...) FC_PRINTF(3, 4);

static int
vars_printf(fc_stream_session_t *s, fc_var_value_t *v, const char *fmt, ...)
{
    char buf[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return FC_ERROR;
    unsigned char *p = fc_pnalloc(s->connection->pool, (size_t) n);
    if (p == NULL)
        return FC_ERROR;
    memcpy(p, buf, (size_t) n);
    fc_var_set_str(v, p, (size_t) n);
    return FC_OK;
}

static int
vars_server_addr(fc_stream_session_t *s, fc_var_value_t *v, int port)
{
    fc_connection_t *c = s->connection;
    if (fc_conn_local_addr(c) != FC_OK)
        return FC_ERROR;
    if (port)
        return vars_printf(s, v, "%u", fc_sockaddr_port((struct sockaddr *) &c->local_sockaddr));
    char buf[FC_SOCKADDR_STRLEN];
    size_t n = fc_sockaddr_ntop((struct sockaddr *) &c->local_sockaddr, c->local_socklen, buf,
                                sizeof(buf), 0);
    return vars_printf(s, v, "%.*s", (int) n, buf);
}

static int
vars_binary_addr(fc_stream_session_t *s, fc_var_value_t *v)
{
    const struct sockaddr *sa = (struct sockaddr *) &s->connection->sockaddr;
    if (sa->sa_family == AF_INET) {
        fc_var_set_str(v, (const unsigned char *) &((const struct sockaddr_in *) sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        fc_var_set_str(v, (const unsigned char *) &((const struct sockaddr_in6 *) sa)->sin6_addr,
                       16);
    } else {
        fc_var_set_str(v, (const unsigned char *) "", 0);
    }
    return FC_OK;
}

static int
vars_upstream_str(fc_var_value_t *v, const fc_str_t *s)
{
    if (s->len == 0) {
        v->valid = 1;
        v->not_found = 1;
        v->len = 0;
        v->data = (const unsigned char *) "";
        return FC_OK;
    }
    fc_var_set_str(v, s->data, s->len);
    return FC_OK;
}

/* One attempt's entry: a byte count, or a time in seconds ("-" if it never happened). */
static int
vars_upstream_entry(char *buf, size_t size, const fc_stream_upstream_state_t *st, uintptr_t which)
{
    fc_msec_t t;
    switch (which) {
    case VAR_UPSTREAM_BYTES_SENT:
        return snprintf(buf, size, "%" PRIu64, st->bytes_sent);
    case VAR_UPSTREAM_BYTES_RECEIVED:
        return snprintf(buf, size, "%" PRIu64, st->bytes_received);
    case VAR_UPSTREAM_CONNECT_TIME:
        t = st->connect_time;
        break;
    case VAR_UPSTREAM_FIRST_BYTE_TIME:
        t = st->first_byte_time;
        break;
    default:
        t = st->session_time;
        break;
    }
    if (t < 0)
        return snprintf(buf, size, "-");
    return snprintf(buf, size, "%" PRId64 ".%03d", t / 1000, (int) (t % 1000));
}

/* $upstream_*: one entry per upstream attempt, separated by ", " as nginx. */
static int
vars_upstream_list(fc_stream_session_t *s, fc_var_value_t *v, uintptr_t which)
{
    fc_array_t *a = s->upstream_states;
    if (a == NULL || a->nelts == 0) {
        v->valid = 1;
        v->not_found = 1;
        v->len = 0;
        v->data = (const unsigned char *) "";
        return FC_OK;
    }
    unsigned char *buf = fc_pnalloc(s->connection->pool, a->nelts * 32);
    if (buf == NULL)
        return FC_ERROR;
    size_t n = 0;
    fc_stream_upstream_state_t *st = a->elts;
    for (size_t i = 0; i < a->nelts; i++) {
        if (i > 0) {
            memcpy(buf + n, ", ", 2);
            n += 2;
        }
        int w = vars_upstream_entry((char *) buf + n, a->nelts * 32 - n, &st[i], which);
        n += w > 0 ? (size_t) w : 0;
    }
    fc_var_set_str(v, buf, n);
    return FC_OK;
}

static int
vars_get(void *r, fc_var_value_t *v, uintptr_t which)
{
    fc_stream_session_t *s = r;
    fc_connection_t *c = s->connection;
    fc_msec_t t;
    switch (which) {
    case VAR_REMOTE_ADDR:
        fc_var_set_str(v, c->addr_text.data, c->addr_text.len);
        return FC_OK;
    case VAR_BINARY_REMOTE_ADDR:
        return vars_binary_addr(s, v);
    case VAR_REMOTE_PORT:
        return vars_printf(s, v, "%u", fc_sockaddr_port((struct sockaddr *) &c->sockaddr));
    case VAR_SERVER_ADDR:
    case VAR_SERVER_PORT:
        return vars_server_addr(s, v, which == VAR_SERVER_PORT);
    case VAR_BYTES_SENT:
        return vars_printf(s, v, "%" PRIu64, c->sent);
    case VAR_BYTES_RECEIVED:
        return vars_printf(s, v, "%" PRIu64, c->received);
    case VAR_SESSION_TIME:
        t = fc_current_msec() - s->start_msec;
        return vars_printf(s, v, "%" PRId64 ".%03d", t / 1000, (int) (t % 1000));
    case VAR_STATUS:
        return vars_printf(s, v, "%03d", s->status);
    case VAR_CONNECTION:
        return vars_printf(s, v, "%lu", c->number);
    case VAR_PROTOCOL:
        fc_var_set_str(v, (const unsigned char *) (c->type == SOCK_DGRAM ? "UDP" : "TCP"), 3);
        return FC_OK;
    case VAR_UPSTREAM_ADDR:
        return vars_upstream_str(v, &s->upstream_addr);
    case VAR_UPSTREAM_BYTES_SENT:
    case VAR_UPSTREAM_BYTES_RECEIVED:
    case VAR_UPSTREAM_CONNECT_TIME:
    case VAR_UPSTREAM_FIRST_BYTE_TIME:
    case VAR_UPSTREAM_SESSION_TIME:
        return vars_upstream_list(s, v, which);
    default:
        return FC_ERROR;
    }
}

static int
vars_time(void *r, fc_var_value_t *v, uintptr_t which)
{
    fc_stream_session_t *s = r;
    const fc_time_cache_t *tc = fc_time();
    switch (which) {
    case 0:
        return vars_printf(s, v, "%s", tc->log_local);
    case 1:
        return vars_printf(s, v, "%s", tc->iso8601);
    default:
        return vars_printf(s, v, "%lld.%03u", (long long) tc->sec, tc->wall_ms);
    }
}

static int
vars_process(void *r, fc_var_value_t *v, uintptr_t which)
{
    fc_stream_session_t *s = r;
    if (which == 0)
        return vars_printf(s, v, "%d", (int) getpid());
    if (which == 1) {
        fc_var_set_str(v, (const unsigned char *) FC_VERSION, sizeof(FC_VERSION) - 1);
        return FC_OK;
    }
    char host[256];
    if (gethostname(host, sizeof(host)) != 0)
        return FC_ERROR;
    host[sizeof(host) - 1] = '\0';
    return vars_printf(s, v, "%s", host);
}

#define NC FC_VAR_NOCACHEABLE
static const fc_var_def_t stream_vars[] = {
    {"remote_addr", vars_get, VAR_REMOTE_ADDR, 0},
    {"binary_remote_addr", vars_get, VAR_BINARY_REMOTE_ADDR, 0},
    {"remote_port", vars_get, VAR_REMOTE_PORT, 0},
    {"server_addr", vars_get, VAR_SERVER_ADDR, 0},
    {"server_port", vars_get, VAR_SERVER_PORT, 0},
    {"bytes_sent", vars_get, VAR_BYTES_SENT, NC},
    {"bytes_received", vars_get, VAR_BYTES_RECEIVED, NC},
    {"session_time", vars_get, VAR_SESSION_TIME, NC},
    {"status", vars_get, VAR_STATUS, NC},
    {"connection", vars_get, VAR_CONNECTION, 0},
    {"protocol", vars_get, VAR_PROTOCOL, 0},
    {"upstream_addr", vars_get, VAR_UPSTREAM_ADDR, NC},
    {"upstream_bytes_sent", vars_get, VAR_UPSTREAM_BYTES_SENT, NC},
    {"upstream_bytes_received", vars_get, VAR_UPSTREAM_BYTES_RECEIVED, NC},
    {"upstream_connect_time", vars_get, VAR_UPSTREAM_CONNECT_TIME, NC},
    {"upstream_first_byte_time", vars_get, VAR_UPSTREAM_FIRST_BYTE_TIME, NC},
    {"upstream_session_time", vars_get, VAR_UPSTREAM_SESSION_TIME, NC},
    {"time_local", vars_time, 0, NC},
    {"time_iso8601", vars_time, 1, NC},
    {"msec", vars_time, 2, NC},
    {"pid", vars_process, 0, 0},
    {"nginx_version", vars_process, 1, 0},
    {"fulcrum_version", vars_process, 1, 0},
    {"hostname", vars_process, 2, 0},
    {NULL, NULL, 0, 0}};

int
fc_stream_variables_add(fc_var_registry_t *reg)
{
    return fc_var_define_table(reg, stream_vars);
}
