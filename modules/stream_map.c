/*
 * stream_map.c: `map SOURCE $variable { ... }` in stream{}, as nginx's
 * ngx_stream_map_module. The engine (keys, wildcards, regexes, default) is
 * core/map.c; regex captures go to the session for $1..$9, and named groups
 * become variables, as in nginx.
 */
#include "stream/stream.h"
#include "core/map.h"
#include "core/regex_names.h"

static char *smap_block(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

static const fc_command_t smap_commands[] = {
    {"map", FC_STREAM_MAIN_CONF | FC_CONF_BLOCK | FC_CONF_TAKE2, smap_block, FC_CONF_MAIN_OFFSET, 0,
     NULL},
    fc_null_command,
};

static const fc_layer_module_ctx_t smap_ctx_ops = {0};

fc_module_t fc_stream_map_module = {
    .name = "stream_map",
    .type = FC_STREAM_MODULE,
    .commands = smap_commands,
    .ctx = &smap_ctx_ops,
};

static int
smap_eval(void *r, const fc_cv_t *cv, fc_str_t *out)
{
    return fc_stream_cv_eval(r, cv, out);
}

static fc_captures_t *
smap_captures(void *r)
{
    return &((fc_stream_session_t *) r)->captures;
}

/* $name of a named group of the last map regex that matched. */
static int
smap_named_get(void *data, fc_var_value_t *v, uintptr_t arg)
{
    fc_stream_session_t *s = data;
    return fc_regex_named_value(s->named_captures, &s->captures, (const fc_str_t *) arg, v);
}

static fc_regex_t *
smap_regex(fc_conf_t *cf, const fc_str_t *pattern, int caseless, fc_array_t **names)
{
    fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
    return fc_regex_compile_named(cf, &cmcf->vars, pattern, caseless, smap_named_get, names);
}

static void
smap_matched(void *r, fc_array_t *names)
{
    ((fc_stream_session_t *) r)->named_captures = names;
}

static const fc_map_layer_t smap_layer = {
    .eval = smap_eval,
    .captures = smap_captures,
    .regex = smap_regex,
    .matched = smap_matched,
};

static char *
smap_block(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
    (void) cmd;
    (void) conf;
    return fc_map_block(cf, &cmcf->vars, &smap_layer);
}
