/*
 * var_common.c: the variables the stream and http layers share: addresses
 * of the connection, the cached clock, the process. Each layer wraps
 * fc_var_common_get in a getter that knows where its connection and pool are.
 */
#include "core/fc_core.h"
#include "core/var_common.h"
#include "core/inet.h"
#include "event/conn.h"

#define NC FC_VAR_NOCACHEABLE
static const struct {
    const char *name;
    uintptr_t which;
    unsigned flags;
} varc_defs[] = {
    {"remote_addr", FC_VARC_REMOTE_ADDR, 0},
    {"binary_remote_addr", FC_VARC_BINARY_REMOTE_ADDR, 0},
    {"remote_port", FC_VARC_REMOTE_PORT, 0},
    {"server_addr", FC_VARC_SERVER_ADDR, 0},
    {"server_port", FC_VARC_SERVER_PORT, 0},
    {"connection", FC_VARC_CONNECTION, 0},
    {"time_local", FC_VARC_TIME_LOCAL, NC},
    {"time_iso8601", FC_VARC_TIME_ISO8601, NC},
    {"msec", FC_VARC_MSEC, NC},
    {"pid", FC_VARC_PID, 0},
    {"nginx_version", FC_VARC_VERSION, 0},
    {"fulcrum_version", FC_VARC_VERSION, 0},
    {"hostname", FC_VARC_HOSTNAME, 0},
};

int
fc_var_common_define(fc_var_registry_t *reg, fc_var_get_pt get)
{
    for (size_t i = 0; i < fc_nelems(varc_defs); i++) {
        fc_str_t name = {strlen(varc_defs[i].name), (unsigned char *) varc_defs[i].name};
        fc_var_t *v = fc_var_define(reg, &name, varc_defs[i].flags);
        if (v == NULL)
            return FC_ERROR;
        v->get = get;
        v->data = varc_defs[i].which;
    }
    return FC_OK;
}

int
fc_var_printf(fc_pool_t *pool, fc_var_value_t *v, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return FC_ERROR;
    size_t len = fc_min((size_t) n, sizeof(buf) - 1);
    unsigned char *p = fc_pnalloc(pool, len + 1);
    if (p == NULL)
        return FC_ERROR;
    memcpy(p, buf, len + 1);
    fc_var_set_str(v, p, len);
    return FC_OK;
}

int
fc_var_msec_value(fc_pool_t *pool, fc_var_value_t *v, fc_msec_t ms)
{
    if (ms < 0)
        ms = 0;
    return fc_var_printf(pool, v, "%" PRId64 ".%03d", ms / 1000, (int) (ms % 1000));
}

void
fc_var_set_not_found(fc_var_value_t *v)
{
    v->data = (const unsigned char *) "";
    v->len = 0;
    v->valid = 1;
    v->not_found = 1;
}

static int
varc_server_addr(fc_connection_t *c, fc_pool_t *pool, fc_var_value_t *v, int port)
{
    if (fc_conn_local_addr(c) != FC_OK)
        return FC_ERROR;
    const struct sockaddr *sa = (const struct sockaddr *) &c->local_sockaddr;
    if (port)
        return fc_var_printf(pool, v, "%u", fc_sockaddr_port(sa));
    char buf[FC_SOCKADDR_STRLEN];
    size_t n = fc_sockaddr_ntop(sa, c->local_socklen, buf, sizeof(buf), 0);
    return fc_var_printf(pool, v, "%.*s", (int) n, buf);
}

static int
varc_binary_addr(fc_connection_t *c, fc_var_value_t *v)
{
    const struct sockaddr *sa = (const struct sockaddr *) &c->sockaddr;
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
varc_hostname(fc_pool_t *pool, fc_var_value_t *v)
{
    char host[256];
    if (gethostname(host, sizeof(host)) != 0)
        return FC_ERROR;
    host[sizeof(host) - 1] = '\0';
    return fc_var_printf(pool, v, "%s", host);
}

int
fc_var_common_get(fc_connection_t *c, fc_pool_t *pool, fc_var_value_t *v, uintptr_t which)
{
    const fc_time_cache_t *tc;
    switch (which) {
    case FC_VARC_REMOTE_ADDR:
        fc_var_set_str(v, c->addr_text.data, c->addr_text.len);
        return FC_OK;
    case FC_VARC_BINARY_REMOTE_ADDR:
        return varc_binary_addr(c, v);
    case FC_VARC_REMOTE_PORT: {
        /* as nginx: empty for no port (a unix socket, or realip's address without one) */
        in_port_t port = fc_sockaddr_port((struct sockaddr *) &c->sockaddr);
        if (port == 0) {
            fc_var_set_str(v, (const unsigned char *) "", 0);
            return FC_OK;
        }
        return fc_var_printf(pool, v, "%u", port);
    }
    case FC_VARC_SERVER_ADDR:
    case FC_VARC_SERVER_PORT:
        return varc_server_addr(c, pool, v, which == FC_VARC_SERVER_PORT);
    case FC_VARC_CONNECTION:
        return fc_var_printf(pool, v, "%lu", c->number);
    case FC_VARC_TIME_LOCAL:
        return fc_var_printf(pool, v, "%s", fc_time()->log_local);
    case FC_VARC_TIME_ISO8601:
        return fc_var_printf(pool, v, "%s", fc_time()->iso8601);
    case FC_VARC_MSEC:
        tc = fc_time();
        return fc_var_printf(pool, v, "%lld.%03u", (long long) tc->sec, tc->wall_ms);
    case FC_VARC_PID:
        return fc_var_printf(pool, v, "%d", (int) getpid());
    case FC_VARC_VERSION:
        fc_var_set_str(v, (const unsigned char *) FC_VERSION, sizeof(FC_VERSION) - 1);
        return FC_OK;
    case FC_VARC_HOSTNAME:
        return varc_hostname(pool, v);
    default:
        return FC_ERROR;
    }
}

int
fc_var_get_never(void *data, fc_var_value_t *v, uintptr_t unused)
{
    (void) data;
    (void) unused;
    fc_var_set_not_found(v);
    return FC_OK;
}
