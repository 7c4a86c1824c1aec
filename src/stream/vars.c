/*
 * vars.c: the stream variables ($bytes_sent, $session_time, $upstream_*, ...);
 * the ones http shares ($remote_addr, $time_local, ...) are core/var_common.c's.
 */
#include "stream/stream.h"
#include "core/var_common.h"

enum {
    VAR_BYTES_SENT,
    VAR_BYTES_RECEIVED,
    VAR_SESSION_TIME,
    VAR_STATUS,
    VAR_PROTOCOL,
    VAR_UPSTREAM_ADDR,
    VAR_UPSTREAM_BYTES_SENT,
    VAR_UPSTREAM_BYTES_RECEIVED,
    VAR_UPSTREAM_CONNECT_TIME,
    VAR_UPSTREAM_FIRST_BYTE_TIME,
    VAR_UPSTREAM_SESSION_TIME,
};

/* The variables shared with http (addresses, clock, process): see core/var_common.c. */
static int
vars_common(void *r, fc_var_value_t *v, uintptr_t which)
{
    fc_stream_session_t *s = r;
    return fc_var_common_get(s->connection, s->connection->pool, v, which);
}

static int
vars_upstream_str(fc_var_value_t *v, const fc_str_t *s)
{
    if (s->len == 0) {
        fc_var_set_not_found(v);
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
        fc_var_set_not_found(v);
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
    switch (which) {
    case VAR_BYTES_SENT:
        return fc_var_printf(c->pool, v, "%" PRIu64, c->sent);
    case VAR_BYTES_RECEIVED:
        return fc_var_printf(c->pool, v, "%" PRIu64, c->received);
    case VAR_SESSION_TIME:
        return fc_var_msec_value(c->pool, v, fc_current_msec() - s->start_msec);
    case VAR_STATUS:
        return fc_var_printf(c->pool, v, "%03d", s->status);
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

#define NC FC_VAR_NOCACHEABLE
static const fc_var_def_t stream_vars[] = {
    {"bytes_sent", vars_get, VAR_BYTES_SENT, NC},
    {"bytes_received", vars_get, VAR_BYTES_RECEIVED, NC},
    {"session_time", vars_get, VAR_SESSION_TIME, NC},
    {"status", vars_get, VAR_STATUS, NC},
    {"protocol", vars_get, VAR_PROTOCOL, 0},
    {"upstream_addr", vars_get, VAR_UPSTREAM_ADDR, NC},
    {"upstream_bytes_sent", vars_get, VAR_UPSTREAM_BYTES_SENT, NC},
    {"upstream_bytes_received", vars_get, VAR_UPSTREAM_BYTES_RECEIVED, NC},
    {"upstream_connect_time", vars_get, VAR_UPSTREAM_CONNECT_TIME, NC},
    {"upstream_first_byte_time", vars_get, VAR_UPSTREAM_FIRST_BYTE_TIME, NC},
    {"upstream_session_time", vars_get, VAR_UPSTREAM_SESSION_TIME, NC},
    {NULL, NULL, 0, 0}};

int
fc_stream_variables_add(fc_var_registry_t *reg)
{
    if (fc_var_common_define(reg, vars_common) != FC_OK)
        return FC_ERROR;
    return fc_var_define_table(reg, stream_vars);
}
