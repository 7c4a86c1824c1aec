/*
 * cache_vars.c: $upstream_cache_status (MISS, BYPASS, EXPIRED, STALE,
 * UPDATING, REVALIDATED, HIT; empty when the cache was not involved).
 */
#include "cache.h"

#include "core/var_common.h"

static int
cache_var_status(void *data, fc_var_value_t *v, uintptr_t unused)
{
    static const char *const names[] = {"",      "MISS",     "BYPASS",      "EXPIRED",
                                        "STALE", "UPDATING", "REVALIDATED", "HIT"};
    fc_http_request_t *r = data;
    cache_ctx_t *ctx = fc_http_get_module_ctx(r, fc_http_cache_module);
    (void) unused;
    if (ctx == NULL || ctx->status == CACHE_STATUS_NONE || ctx->status >= fc_nelems(names)) {
        fc_var_set_not_found(v);
        return FC_OK;
    }
    v->data = (const unsigned char *) names[ctx->status];
    v->len = strlen(names[ctx->status]);
    v->valid = 1;
    v->not_found = 0;
    v->no_cacheable = 1;
    return FC_OK;
}

static const fc_var_def_t cache_var_defs[] = {
    {"upstream_cache_status", cache_var_status, 0, FC_VAR_NOCACHEABLE},
    {NULL, NULL, 0, 0},
};

int
cache_variables_add(fc_conf_t *cf)
{
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    return fc_var_define_table(&cmcf->vars, cache_var_defs);
}
