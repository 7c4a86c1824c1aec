/*
 * proxy_vars.c: the proxy module's variables. $proxy_host and $proxy_port
 * describe this request's proxy_pass target; $proxy_add_x_forwarded_for is
 * the client's X-Forwarded-For (every such field, joined) with
 * $remote_addr appended; $proxy_internal_body_length is the length of the
 * body sent upstream, as nginx's default Content-Length line uses it.
 */
#include "proxy.h"

#include "core/var_common.h"

enum { PROXY_VAR_HOST = 0, PROXY_VAR_PORT, PROXY_VAR_XFF, PROXY_VAR_BODY_LENGTH };

/* The target this request uses: its own (proxy_pass with variables) or the location's. */
static const proxy_url_t *
proxy_var_target(fc_http_request_t *r)
{
    proxy_ctx_t *ctx = fc_http_get_module_ctx(r, fc_http_proxy_module);
    if (ctx)
        return &ctx->target;
    proxy_loc_conf_t *plcf = proxy_loc_conf(r);
    return plcf->us ? &plcf->target : NULL;
}

static int
proxy_is_xff(const fc_http_field_t *f)
{
    return f->hash && f->name.len == 15 &&
           fc_strncasecmp(f->name.data, (const unsigned char *) "x-forwarded-for", 15) == 0;
}

static int
proxy_var_xff(fc_http_request_t *r, fc_var_value_t *v)
{
    fc_connection_t *c = r->connection;
    const fc_http_field_t *f = r->headers_in.headers.elts;
    size_t len = c->addr_text.len;
    for (size_t i = 0; i < r->headers_in.headers.nelts; i++)
        if (proxy_is_xff(&f[i]))
            len += f[i].value.len + 2;
    if (len == c->addr_text.len) {
        fc_var_set_str(v, c->addr_text.data, c->addr_text.len); /* no field: $remote_addr */
        return FC_OK;
    }
    unsigned char *p = fc_pnalloc(r->pool, len), *s = p;
    if (p == NULL)
        return FC_ERROR;
    for (size_t i = 0; i < r->headers_in.headers.nelts; i++) {
        if (!proxy_is_xff(&f[i]))
            continue;
        memcpy(p, f[i].value.data, f[i].value.len);
        p += f[i].value.len;
        *p++ = ',';
        *p++ = ' ';
    }
    memcpy(p, c->addr_text.data, c->addr_text.len);
    p += c->addr_text.len;
    fc_var_set_str(v, s, (size_t) (p - s));
    return FC_OK;
}

static int
proxy_var_get(void *data, fc_var_value_t *v, uintptr_t which)
{
    fc_http_request_t *r = data;
    const proxy_url_t *t;
    switch (which) {
    case PROXY_VAR_HOST:
    case PROXY_VAR_PORT:
        t = proxy_var_target(r);
        if (t == NULL) {
            fc_var_set_not_found(v);
            return FC_OK;
        }
        if (which == PROXY_VAR_HOST)
            fc_var_set_str(v, t->host_header.data, t->host_header.len);
        else
            fc_var_set_str(v, t->port.data, t->port.len);
        return FC_OK;
    case PROXY_VAR_XFF:
        return proxy_var_xff(r, v);
    default: {
        proxy_ctx_t *ctx = fc_http_get_module_ctx(r, fc_http_proxy_module);
        if (ctx == NULL || ctx->internal_body_length < 0) {
            fc_var_set_not_found(v);
            return FC_OK;
        }
        return fc_var_printf(r->pool, v, "%" PRId64, ctx->internal_body_length);
    }
    }
}

static const fc_var_def_t proxy_vars[] = {
    {"proxy_host", proxy_var_get, PROXY_VAR_HOST, FC_VAR_NOCACHEABLE},
    {"proxy_port", proxy_var_get, PROXY_VAR_PORT, FC_VAR_NOCACHEABLE},
    {"proxy_add_x_forwarded_for", proxy_var_get, PROXY_VAR_XFF, FC_VAR_NOCACHEABLE},
    {"proxy_internal_body_length", proxy_var_get, PROXY_VAR_BODY_LENGTH, FC_VAR_NOCACHEABLE},
    {NULL, NULL, 0, 0}};

int
proxy_variables_add(fc_conf_t *cf)
{
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    return fc_var_define_table(&cmcf->vars, proxy_vars);
}
