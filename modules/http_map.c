/*
 * http_map.c: `map SOURCE $variable { ... }` in http{}, as nginx's
 * ngx_http_map_module. The engine (keys, hostnames wildcards, regexes,
 * default, volatile) is core/map.c. A regex key's captures become the
 * request's $1..$9, and its named groups variables (fc_http_regex_compile),
 * read from r->named_captures like those of a location regex.
 */
#include "http/http.h"
#include "http/http_conf.h"
#include "core/map.h"

static char *hmap_block(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

static const fc_command_t hmap_commands[] = {
    {"map", FC_HTTP_MAIN_CONF | FC_CONF_BLOCK | FC_CONF_TAKE2, hmap_block, FC_CONF_MAIN_OFFSET, 0,
     NULL},
    fc_null_command,
};

static const fc_layer_module_ctx_t hmap_ctx_ops = {0};

fc_module_t fc_http_map_module = {
    .name = "http_map",
    .type = FC_HTTP_MODULE,
    .commands = hmap_commands,
    .ctx = &hmap_ctx_ops,
};

static int
hmap_eval(void *r, const fc_cv_t *cv, fc_str_t *out)
{
    return fc_http_cv_eval(r, cv, out);
}

static fc_captures_t *
hmap_captures(void *r)
{
    return &((fc_http_request_t *) r)->captures;
}

/* The captures now are the map regex's: so are the names that read them. */
static void
hmap_matched(void *r, fc_array_t *names)
{
    ((fc_http_request_t *) r)->named_captures = names;
}

static const fc_map_layer_t hmap_layer = {
    .eval = hmap_eval,
    .captures = hmap_captures,
    .regex = fc_http_regex_compile,
    .matched = hmap_matched,
};

static char *
hmap_block(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    (void) cmd;
    (void) conf;
    return fc_map_block(cf, &cmcf->vars, &hmap_layer);
}
