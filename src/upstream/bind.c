/*
 * bind.c (upstream): proxy_bind for both proxies (see bind.h); the bind()
 * itself is in connect.c, between socket() and connect().
 */
#include "upstream/bind.h"

/* "ADDRESS" or "ADDRESS:PORT" to a local address; without a port the kernel picks one. */
static int
bind_parse(const fc_str_t *value, fc_pool_t *pool, int transparent, fc_upstream_local_t *out)
{
    fc_url_t u;
    const char *err;
    if (fc_url_parse(pool, &u, value, 1, FC_URL_NO_RESOLVE, &err) != FC_OK || u.naddrs == 0 ||
        u.wildcard)
        return FC_ERROR;
    out->addr = u.addrs[0];
    out->transparent = transparent ? 1 : 0;
    if (!u.no_port)
        return FC_OK;
    /* logged as written, not with the placeholder port */
    if (fc_str_dup(pool, &out->addr.name, value) != FC_OK)
        return FC_ERROR;
    struct sockaddr *sa = (struct sockaddr *) &out->addr.sa;
    if (sa->sa_family == AF_INET)
        ((struct sockaddr_in *) sa)->sin_port = 0;
    else if (sa->sa_family == AF_INET6)
        ((struct sockaddr_in6 *) sa)->sin6_port = 0;
    return FC_OK;
}

char *
fc_upstream_bind_directive(fc_conf_t *cf, fc_var_registry_t *reg, fc_upstream_bind_conf_t *b)
{
    fc_str_t *args = fc_conf_args(cf);
    size_t n = fc_conf_nargs(cf);
    if (b->set)
        return "is duplicate";
    b->set = 1;
    if (fc_str_eq_c(&args[1], "off")) {
        if (n > 2)
            return "has too many arguments";
        return FC_CONF_OK;
    }
    if (n == 3) {
        if (!fc_str_eq_c(&args[2], "transparent")) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"", (int) args[2].len,
                              args[2].data);
            return FC_CONF_ERROR;
        }
        b->transparent = 1;
    }
    b->value = fc_palloc(cf->pool, sizeof(fc_cv_t));
    if (b->value == NULL || fc_cv_compile(cf, reg, &args[1], b->value) != FC_OK)
        return FC_CONF_ERROR;
    if (!b->value->has_vars) {
        /* No variables: the address is checked, and parsed once for every connection, now. */
        if (bind_parse(&args[1], cf->pool, b->transparent, &b->fixed) != FC_OK) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid address \"%.*s\"", (int) args[1].len,
                              args[1].data);
            return FC_CONF_ERROR;
        }
    }
    return FC_CONF_OK;
}

void
fc_upstream_bind_merge(fc_upstream_bind_conf_t *conf, const fc_upstream_bind_conf_t *prev)
{
    if (!conf->set)
        *conf = *prev;
}

int
fc_upstream_bind_local(const fc_upstream_bind_conf_t *b, const fc_str_t *value, fc_pool_t *pool,
                       fc_log_t *log, fc_upstream_local_t *out)
{
    if (b->value && !b->value->has_vars) {
        *out = b->fixed;
        return FC_OK;
    }
    if (value->len == 0)
        return FC_DECLINED;
    if (bind_parse(value, pool, b->transparent, out) != FC_OK) {
        fc_log_error(FC_LOG_ERR, log, 0, "invalid local address \"%.*s\"", (int) value->len,
                     value->data);
        return FC_ERROR;
    }
    return FC_OK;
}
