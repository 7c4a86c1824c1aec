/*
 * stream_set.c: `set $variable value;` in stream server{} (nginx's
 * ngx_stream_set_module), evaluated in the PREACCESS phase in order.
 */
#include "stream/stream.h"

typedef struct {
    size_t index; /* of the variable being set */
    fc_cv_t value;
} set_rule_t;

typedef struct {
    fc_array_t *rules; /* set_rule_t, NULL if none */
} set_conf_t;

typedef struct {
    fc_str_t *values; /* per rule: what this session set */
} set_ctx_t;

static void *set_create_srv_conf(fc_conf_t *cf);
static int set_postconfiguration(fc_conf_t *cf);
static char *set_directive(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

static const fc_command_t set_commands[] = {
    {"set", FC_STREAM_SRV_CONF | FC_CONF_TAKE2, set_directive, FC_CONF_SRV_OFFSET, 0, NULL},
    fc_null_command};

static const fc_layer_module_ctx_t set_ctx_ops = {
    .postconfiguration = set_postconfiguration,
    .create_srv_conf = set_create_srv_conf,
};

fc_module_t fc_stream_set_module = {
    .name = "stream_set",
    .type = FC_STREAM_MODULE,
    .commands = set_commands,
    .ctx = &set_ctx_ops,
};

static void *
set_create_srv_conf(fc_conf_t *cf)
{
    return fc_pcalloc(cf->pool, sizeof(set_conf_t));
}

/*
 * The getter of a set variable: the value the last `set` of this session's
 * server stored for it; data is the variable's index.
 */
static int
set_get(void *r, fc_var_value_t *v, uintptr_t data)
{
    fc_stream_session_t *s = r;
    set_conf_t *sc = fc_stream_get_module_srv_conf(s, fc_stream_set_module);
    set_ctx_t *ctx = fc_stream_get_module_ctx(s, fc_stream_set_module);
    fc_var_set_str(v, (const unsigned char *) "", 0); /* as nginx: not set is empty, not "-" */
    if (sc->rules == NULL || ctx == NULL)
        return FC_OK;
    set_rule_t *rules = sc->rules->elts;
    for (size_t i = sc->rules->nelts; i-- > 0;) {
        if (rules[i].index == data && ctx->values[i].data) {
            fc_var_set_str(v, ctx->values[i].data, ctx->values[i].len);
            return FC_OK;
        }
    }
    return FC_OK;
}

static int
set_handler(fc_stream_session_t *s)
{
    set_conf_t *sc = fc_stream_get_module_srv_conf(s, fc_stream_set_module);
    if (sc->rules == NULL)
        return FC_DECLINED;
    set_ctx_t *ctx = fc_pcalloc(s->connection->pool, sizeof(*ctx));
    if (ctx == NULL)
        return FC_ERROR;
    ctx->values = fc_pcalloc(s->connection->pool, sc->rules->nelts * sizeof(fc_str_t));
    if (ctx->values == NULL)
        return FC_ERROR;
    fc_stream_set_module_ctx(s, ctx, fc_stream_set_module);
    set_rule_t *rules = sc->rules->elts;
    for (size_t i = 0; i < sc->rules->nelts; i++) {
        if (fc_stream_cv_eval(s, &rules[i].value, &ctx->values[i]) != FC_OK)
            return FC_ERROR;
        s->variables[rules[i].index].valid = 0; /* a cached earlier value is stale now */
    }
    return FC_DECLINED;
}

static char *
set_directive(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    set_conf_t *sc = conf;
    fc_str_t *args = fc_conf_args(cf);
    (void) cmd;
    if (args[1].len < 2 || args[1].data[0] != '$') {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid variable name \"%.*s\"",
                          (int) args[1].len, args[1].data);
        return FC_CONF_ERROR;
    }
    fc_str_t name = {args[1].len - 1, args[1].data + 1};
    fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
    fc_var_t *v = fc_var_define(&cmcf->vars, &name, FC_VAR_CHANGEABLE | FC_VAR_NOCACHEABLE);
    if (v == NULL) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "the \"$%.*s\" variable cannot be set",
                          (int) name.len, name.data);
        return FC_CONF_ERROR;
    }
    int64_t index = fc_var_index(&cmcf->vars, cf, &name);
    if (index < 0)
        return FC_CONF_ERROR;
    if (v->get == NULL) {
        v->get = set_get;
        v->data = (uintptr_t) index;
    }
    if (sc->rules == NULL && (sc->rules = fc_array_create(cf->pool, 2, sizeof(set_rule_t))) == NULL)
        return FC_CONF_ERROR;
    set_rule_t *rule = fc_array_push(sc->rules);
    if (rule == NULL || fc_cv_compile(cf, &cmcf->vars, &args[2], &rule->value))
        return FC_CONF_ERROR;
    rule->index = (size_t) index;
    return FC_CONF_OK;
}

static int
set_postconfiguration(fc_conf_t *cf)
{
    return fc_stream_add_phase_handler(cf, FC_STREAM_PREACCESS_PHASE, set_handler);
}
