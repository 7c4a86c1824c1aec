/*
 * stream_map.c: `map SOURCE $variable { ... }` as nginx's map: exact keys
 * (case-insensitive), with `hostnames` the wildcards "*.example.com",
 * ".example.com" and "www.example.*", then ~regex / ~*regex in order (their
 * captures feed $1..$9 in the value), then `default`. Values are complex
 * values; the result is cached per session unless the map is `volatile`.
 */
#include "stream/stream.h"

typedef struct {
    fc_str_t key;   /* lower-cased; wildcards without their "*." / ".*" */
    unsigned kind;  /* 0 exact, 1 leading wildcard, 2 trailing wildcard, 3 regex */
    unsigned bare_ok; /* ".example.com" also matches "example.com" itself */
    fc_regex_t *re;
    fc_cv_t value;
} map_entry_t;

typedef struct {
    fc_cv_t source;
    fc_array_t entries; /* map_entry_t */
    fc_cv_t *default_value;
    unsigned hostnames:1;
    unsigned is_volatile:1;
    const char *file;
    unsigned line;
} map_t;

static char *map_block(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

static const fc_command_t map_commands[] = {
    {"map", FC_STREAM_MAIN_CONF | FC_CONF_BLOCK | FC_CONF_TAKE2, map_block, FC_CONF_MAIN_OFFSET, 0,
     NULL},
    fc_null_command};

static const fc_layer_module_ctx_t map_ctx_ops = {0};

fc_module_t fc_stream_map_module = {
    .name = "stream_map",
    .type = FC_STREAM_MODULE,
    .commands = map_commands,
    .ctx = &map_ctx_ops,
};

static int
map_lower_copy(fc_pool_t *pool, const fc_str_t *src, fc_str_t *dst)
{
    if (fc_str_dup(pool, dst, src) != FC_OK)
        return FC_ERROR;
    for (size_t i = 0; i < dst->len; i++)
        dst->data[i] = fc_tolower(dst->data[i]);
    return FC_OK;
}

static int
map_wildcard_match(const map_entry_t *e, const fc_str_t *v)
{
    if (e->kind == 1) { /* key ".example.com": a suffix on a label boundary */
        if (v->len > e->key.len)
            return memcmp(v->data + v->len - e->key.len, e->key.data, e->key.len) == 0;
        return e->bare_ok && v->len + 1 == e->key.len &&
               memcmp(v->data, e->key.data + 1, v->len) == 0;
    }
    /* "www.example.*": a prefix ending in a dot */
    return v->len > e->key.len && memcmp(v->data, e->key.data, e->key.len) == 0;
}

static const map_entry_t *
map_find(fc_stream_session_t *s, map_t *map, const fc_str_t *v)
{
    map_entry_t *e = map->entries.elts;
    unsigned char low[256];
    fc_str_t key = {fc_min(v->len, sizeof(low)), low};
    for (size_t i = 0; i < key.len; i++)
        low[i] = fc_tolower(v->data[i]);
    if (map->hostnames && key.len > 0 && low[key.len - 1] == '.')
        key.len--; /* "example.com." is "example.com" */
    for (unsigned kind = 0; kind < 3; kind++) {
        for (size_t i = 0; i < map->entries.nelts; i++) {
            if (e[i].kind != kind || v->len > sizeof(low))
                continue;
            if (kind == 0 ? fc_str_eq(&e[i].key, &key) : map_wildcard_match(&e[i], &key))
                return &e[i];
        }
    }
    for (size_t i = 0; i < map->entries.nelts; i++) {
        if (e[i].kind == 3 && fc_regex_exec(e[i].re, v, &s->captures) == FC_OK)
            return &e[i];
    }
    return NULL;
}

static int
map_get(void *r, fc_var_value_t *v, uintptr_t data)
{
    fc_stream_session_t *s = r;
    map_t *map = (map_t *) data;
    fc_str_t src, out;
    if (fc_stream_cv_eval(s, &map->source, &src) != FC_OK)
        return FC_ERROR;
    const map_entry_t *e = map_find(s, map, &src);
    const fc_cv_t *value = e ? &e->value : map->default_value;
    if (value == NULL) {
        v->valid = 1;
        v->not_found = 1;
        v->data = (const unsigned char *) "";
        return FC_OK;
    }
    if (fc_stream_cv_eval(s, value, &out) != FC_OK)
        return FC_ERROR;
    fc_var_set_str(v, out.data, out.len);
    v->no_cacheable = map->is_volatile;
    return FC_OK;
}

static char *
map_add_entry(fc_conf_t *cf, map_t *map, const fc_str_t *key, const fc_str_t *value)
{
    fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
    map_entry_t *e = fc_array_push(&map->entries);
    if (e == NULL || fc_cv_compile(cf, &cmcf->vars, value, &e->value) != FC_OK)
        return FC_CONF_ERROR;
    if (key->len > 1 && key->data[0] == '~') {
        int caseless = key->len > 2 && key->data[1] == '*';
        fc_str_t pat = {key->len - 1 - (size_t) caseless, key->data + 1 + caseless};
        char err[512];
        e->kind = 3;
        e->re = fc_regex_compile(cf->pool, &pat, caseless, err, sizeof(err));
        if (e->re == NULL) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s", err);
            return FC_CONF_ERROR;
        }
        return FC_CONF_OK;
    }
    fc_str_t k = *key;
    if (k.len > 0 && k.data[0] == '\\') { /* "\default" is the literal key "default" */
        k.data++;
        k.len--;
    }
    if (map->hostnames && k.len > 2 && k.data[0] == '*' && k.data[1] == '.') {
        e->kind = 1;
        k.data++;
        k.len--;
    } else if (map->hostnames && k.len > 1 && k.data[0] == '.') {
        e->kind = 1;
        e->bare_ok = 1;
    } else if (map->hostnames && k.len > 2 && k.data[k.len - 1] == '*' && k.data[k.len - 2] == '.') {
        e->kind = 2;
        k.len--;
    }
    map_entry_t *all = map->entries.elts;
    for (size_t i = 0; i + 1 < map->entries.nelts; i++) {
        if (all[i].kind == e->kind && e->kind != 3 && all[i].key.len == k.len &&
            fc_strncasecmp(all[i].key.data, k.data, k.len) == 0) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "conflicting parameter \"%.*s\"",
                              (int) key->len, key->data);
            return FC_CONF_ERROR;
        }
    }
    return map_lower_copy(cf->pool, &k, &e->key) == FC_OK ? FC_CONF_OK : FC_CONF_ERROR;
}

/* One line of the map body. */
static char *
map_line(fc_conf_t *cf, const fc_command_t *dummy, void *conf)
{
    map_t *map = conf;
    fc_str_t *args = fc_conf_args(cf);
    size_t n = fc_conf_nargs(cf);
    (void) dummy;
    if (n == 1 && fc_str_eq_c(&args[0], "hostnames")) {
        map->hostnames = 1;
        return FC_CONF_OK;
    }
    if (n == 1 && fc_str_eq_c(&args[0], "volatile")) {
        map->is_volatile = 1;
        return FC_CONF_OK;
    }
    if (n != 2) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid number of the map parameters");
        return FC_CONF_ERROR;
    }
    if (fc_str_eq_c(&args[0], "default")) {
        fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
        if (map->default_value) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "duplicate default map parameter");
            return FC_CONF_ERROR;
        }
        map->default_value = fc_palloc(cf->pool, sizeof(fc_cv_t));
        if (map->default_value == NULL ||
            fc_cv_compile(cf, &cmcf->vars, &args[1], map->default_value) != FC_OK)
            return FC_CONF_ERROR;
        return FC_CONF_OK;
    }
    return map_add_entry(cf, map, &args[0], &args[1]);
}

static char *
map_block(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_stream_core_main_conf_t *cmcf = fc_stream_conf_get_main(cf, fc_stream_core_module);
    fc_str_t *args = fc_conf_args(cf);
    (void) cmd;
    (void) conf;
    map_t *map = fc_pcalloc(cf->pool, sizeof(*map));
    if (map == NULL || fc_array_init(&map->entries, cf->pool, 8, sizeof(map_entry_t)) != FC_OK)
        return FC_CONF_ERROR;
    map->file = cf->dir_file;
    map->line = cf->dir_line;
    fc_str_t dst = args[2];
    if (fc_cv_compile(cf, &cmcf->vars, &args[1], &map->source) != FC_OK)
        return FC_CONF_ERROR;
    if (dst.len < 2 || dst.data[0] != '$') {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid variable name \"%.*s\"", (int) dst.len,
                          dst.data);
        return FC_CONF_ERROR;
    }
    dst.data++;
    dst.len--;
    fc_var_t *v = fc_var_define(&cmcf->vars, &dst, FC_VAR_CHANGEABLE);
    if (v == NULL) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "the \"$%.*s\" variable cannot be redefined",
                          (int) dst.len, dst.data);
        return FC_CONF_ERROR;
    }
    v->get = map_get;
    v->data = (uintptr_t) map;

    fc_conf_t saved = *cf;
    cf->handler = map_line;
    cf->handler_conf = map;
    int rc = fc_conf_parse(cf, NULL);
    cf->handler = saved.handler;
    cf->handler_conf = saved.handler_conf;
    if (map->is_volatile)
        v->flags |= FC_VAR_NOCACHEABLE;
    return rc == FC_OK ? FC_CONF_OK : FC_CONF_ERROR;
}
