/*
 * layer.c: the set-up every layer block does the same way (see layer.h).
 * What only one layer does (http's locations, stream's listen check) stays
 * in that layer's steps.
 */
#include "core/layer.h"

void *
fc_layer_holder_create(fc_cycle_t *cycle)
{
    return fc_pcalloc(cycle->pool, sizeof(fc_layer_holder_t));
}

fc_conf_ctx_t *
fc_layer_cycle_ctx(fc_cycle_t *cycle, const fc_module_t *module)
{
    fc_layer_holder_t *holder = fc_cycle_core_conf(cycle, *module);
    return holder ? holder->ctx : NULL;
}

const fc_layer_module_ctx_t *
fc_layer_module_ctx(const fc_module_t *m, unsigned module_type)
{
    return m->type == module_type ? m->ctx : NULL;
}

int
fc_layer_conf_result(fc_conf_t *cf, char *rv)
{
    if (rv == FC_CONF_OK)
        return FC_OK;
    if (rv != FC_CONF_ERROR)
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s", rv);
    return FC_ERROR;
}

static int
layer_alloc(fc_conf_t *cf, void ***confs, size_t n)
{
    *confs = fc_pcalloc(cf->pool, n * sizeof(void *));
    return *confs ? FC_OK : FC_ERROR;
}

int
fc_layer_create_confs(fc_conf_t *cf, fc_conf_ctx_t *ctx, unsigned module_type, unsigned levels)
{
    size_t n = fc_modules_count(module_type);
    if (((levels & FC_LAYER_MAIN) && layer_alloc(cf, &ctx->main_conf, n) != FC_OK) ||
        ((levels & FC_LAYER_SRV) && layer_alloc(cf, &ctx->srv_conf, n) != FC_OK) ||
        ((levels & FC_LAYER_LOC) && layer_alloc(cf, &ctx->loc_conf, n) != FC_OK))
        return FC_ERROR;
    for (size_t i = 0; fc_modules[i]; i++) {
        const fc_layer_module_ctx_t *mc = fc_layer_module_ctx(fc_modules[i], module_type);
        size_t k = fc_modules[i]->ctx_index;
        if (mc == NULL)
            continue;
        if ((levels & FC_LAYER_MAIN) && mc->create_main_conf &&
            (ctx->main_conf[k] = mc->create_main_conf(cf)) == NULL)
            return FC_ERROR;
        if ((levels & FC_LAYER_SRV) && mc->create_srv_conf &&
            (ctx->srv_conf[k] = mc->create_srv_conf(cf)) == NULL)
            return FC_ERROR;
        if ((levels & FC_LAYER_LOC) && mc->create_loc_conf &&
            (ctx->loc_conf[k] = mc->create_loc_conf(cf)) == NULL)
            return FC_ERROR;
    }
    return FC_OK;
}

fc_conf_ctx_t *
fc_layer_ctx_create(fc_conf_t *cf, unsigned module_type, unsigned levels)
{
    fc_conf_ctx_t *ctx = fc_pcalloc(cf->pool, sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    *ctx = *(fc_conf_ctx_t *) cf->ctx;
    return fc_layer_create_confs(cf, ctx, module_type, levels) == FC_OK ? ctx : NULL;
}

int
fc_layer_run_hooks(fc_conf_t *cf, fc_conf_ctx_t *ctx, unsigned module_type, fc_layer_hook_e which)
{
    for (size_t i = 0; fc_modules[i]; i++) {
        const fc_layer_module_ctx_t *mc = fc_layer_module_ctx(fc_modules[i], module_type);
        if (mc == NULL)
            continue;
        if (which == FC_LAYER_HOOK_PRE && mc->preconfiguration && mc->preconfiguration(cf) != FC_OK)
            return FC_ERROR;
        if (which == FC_LAYER_HOOK_POST && mc->postconfiguration &&
            mc->postconfiguration(cf) != FC_OK)
            return FC_ERROR;
        if (which == FC_LAYER_HOOK_INIT_MAIN && mc->init_main_conf &&
            fc_layer_conf_result(
                cf, mc->init_main_conf(cf, ctx->main_conf[fc_modules[i]->ctx_index])) != FC_OK)
            return FC_ERROR;
    }
    return FC_OK;
}

int
fc_layer_merge_srv(fc_conf_t *cf, const fc_module_t *m, fc_conf_ctx_t *parent, fc_conf_ctx_t *child,
                   const char *file, unsigned line)
{
    const fc_layer_module_ctx_t *mc = m->ctx;
    size_t k = m->ctx_index;
    cf->dir_file = file;
    cf->dir_line = line;
    if (mc->merge_srv_conf == NULL)
        return FC_OK;
    return fc_layer_conf_result(cf,
                                mc->merge_srv_conf(cf, parent->srv_conf[k], child->srv_conf[k]));
}

int
fc_layer_parse(fc_conf_t *cf, fc_conf_ctx_t *ctx, unsigned cmd_type)
{
    void *saved_ctx = cf->ctx;
    unsigned saved_type = cf->cmd_type;
    unsigned errors = cf->errors;
    cf->ctx = ctx;
    cf->cmd_type = cmd_type;
    int rc = fc_conf_parse(cf, NULL);
    cf->ctx = saved_ctx;
    cf->cmd_type = saved_type;
    return rc == FC_OK && cf->errors == errors ? FC_OK : FC_ERROR;
}

/* The block's steps once its confs exist, with cf set to the block's level. */
static int
layer_block_steps(fc_conf_t *cf, fc_conf_ctx_t *ctx, const fc_layer_t *layer)
{
    unsigned errors = cf->errors;
    int rc = fc_layer_run_hooks(cf, ctx, layer->module_type, FC_LAYER_HOOK_PRE);
    if (rc == FC_OK)
        rc = fc_conf_parse(cf, NULL);
    /* After an error inside the block, later checks would only add noise. */
    if (rc == FC_OK && cf->errors == errors)
        rc = fc_layer_run_hooks(cf, ctx, layer->module_type, FC_LAYER_HOOK_INIT_MAIN);
    if (rc == FC_OK && cf->errors == errors && layer->merge)
        rc = layer->merge(cf, ctx);
    if (rc == FC_OK && cf->errors == errors)
        rc = fc_layer_run_hooks(cf, ctx, layer->module_type, FC_LAYER_HOOK_POST);
    if (rc == FC_OK && cf->errors == errors && layer->done)
        rc = layer->done(cf, ctx);
    return rc == FC_OK && cf->errors == errors ? FC_OK : FC_ERROR;
}

char *
fc_layer_block(fc_conf_t *cf, fc_layer_holder_t *holder, const fc_layer_t *layer)
{
    if (holder->ctx)
        return "is duplicate";
    fc_conf_ctx_t *ctx = fc_pcalloc(cf->pool, sizeof(*ctx));
    if (ctx == NULL || fc_layer_create_confs(cf, ctx, layer->module_type, layer->levels) != FC_OK)
        return FC_CONF_ERROR;
    holder->ctx = ctx;
    if (layer->init && layer->init(cf, ctx) != FC_OK)
        return FC_CONF_ERROR;

    fc_conf_t saved = *cf;
    cf->ctx = ctx;
    cf->module_type = layer->module_type;
    cf->cmd_type = layer->cmd_type;
    int rc = layer_block_steps(cf, ctx, layer);
    cf->ctx = saved.ctx;
    cf->module_type = saved.module_type;
    cf->cmd_type = saved.cmd_type;
    cf->dir_file = saved.dir_file;
    cf->dir_line = saved.dir_line;
    return rc == FC_OK ? FC_CONF_OK : FC_CONF_ERROR;
}
