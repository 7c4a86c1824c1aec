/*
 * cache_conf.c: the cache's directives with nginx's names, arguments,
 * defaults and inheritance (proxy_cache_path and the proxy_cache_* family,
 * proxy_no_cache, proxy_ignore_headers), and the module itself: it hands
 * its hooks to the upstream engine and starts the loader and manager in
 * worker slot 0.
 */
#include "cache.h"

static void *cache_create_main_conf(fc_conf_t *cf);
static void *cache_create_loc_conf(fc_conf_t *cf);
static char *cache_merge_loc_conf(fc_conf_t *cf, void *parent, void *child);
static int cache_postconfiguration(fc_conf_t *cf);
static char *cache_set_path(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *cache_set_cache(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *cache_set_key(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *cache_set_valid(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *cache_set_methods(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *cache_set_predicates(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *cache_set_temp_path(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

#define CACHE_LOC (FC_HTTP_MAIN_CONF | FC_HTTP_SRV_CONF | FC_HTTP_LOC_CONF)

static const fc_conf_enum_t cache_stale_masks[] = {
    FC_HTTP_UPSTREAM_FT_CONDITIONS,
    {"updating", CACHE_STALE_UPDATING},
    {"off", FC_HTTP_UPSTREAM_FT_OFF},
    {NULL, 0}};

#define LOC_OFF(f) offsetof(cache_loc_conf_t, f)

static const fc_command_t cache_commands[] = {
    {"proxy_cache_path", FC_HTTP_MAIN_CONF | FC_CONF_2MORE, cache_set_path, FC_CONF_MAIN_OFFSET, 0,
     NULL},
    {"proxy_cache", CACHE_LOC | FC_CONF_TAKE1, cache_set_cache, FC_CONF_LOC_OFFSET, 0, NULL},
    {"proxy_cache_key", CACHE_LOC | FC_CONF_TAKE1, cache_set_key, FC_CONF_LOC_OFFSET, 0, NULL},
    {"proxy_cache_valid", CACHE_LOC | FC_CONF_1MORE, cache_set_valid, FC_CONF_LOC_OFFSET, 0, NULL},
    {"proxy_cache_methods", CACHE_LOC | FC_CONF_1MORE, cache_set_methods, FC_CONF_LOC_OFFSET, 0,
     NULL},
    {"proxy_cache_min_uses", CACHE_LOC | FC_CONF_TAKE1, fc_conf_set_num_slot, FC_CONF_LOC_OFFSET,
     LOC_OFF(min_uses), NULL},
    {"proxy_cache_bypass", CACHE_LOC | FC_CONF_1MORE, cache_set_predicates, FC_CONF_LOC_OFFSET,
     LOC_OFF(bypass), NULL},
    {"proxy_no_cache", CACHE_LOC | FC_CONF_1MORE, cache_set_predicates, FC_CONF_LOC_OFFSET,
     LOC_OFF(no_cache), NULL},
    {"proxy_cache_purge", CACHE_LOC | FC_CONF_1MORE, cache_set_predicates, FC_CONF_LOC_OFFSET,
     LOC_OFF(purge), NULL},
    {"proxy_cache_use_stale", CACHE_LOC | FC_CONF_1MORE, fc_conf_set_bitmask_slot,
     FC_CONF_LOC_OFFSET, LOC_OFF(use_stale), cache_stale_masks},
    {"proxy_cache_background_update", CACHE_LOC | FC_CONF_FLAG, fc_conf_set_flag_slot,
     FC_CONF_LOC_OFFSET, LOC_OFF(background_update), NULL},
    {"proxy_cache_lock", CACHE_LOC | FC_CONF_FLAG, fc_conf_set_flag_slot, FC_CONF_LOC_OFFSET,
     LOC_OFF(lock), NULL},
    {"proxy_cache_lock_timeout", CACHE_LOC | FC_CONF_TAKE1, fc_conf_set_msec_slot,
     FC_CONF_LOC_OFFSET, LOC_OFF(lock_timeout), NULL},
    {"proxy_cache_lock_age", CACHE_LOC | FC_CONF_TAKE1, fc_conf_set_msec_slot, FC_CONF_LOC_OFFSET,
     LOC_OFF(lock_age), NULL},
    {"proxy_cache_revalidate", CACHE_LOC | FC_CONF_FLAG, fc_conf_set_flag_slot, FC_CONF_LOC_OFFSET,
     LOC_OFF(revalidate), NULL},
    {"proxy_temp_path", CACHE_LOC | FC_CONF_TAKE1234, cache_set_temp_path, FC_CONF_LOC_OFFSET, 0,
     NULL},
    {"proxy_cache_convert_head", CACHE_LOC | FC_CONF_FLAG, fc_conf_set_flag_slot,
     FC_CONF_LOC_OFFSET, LOC_OFF(convert_head), NULL},
    fc_null_command};

static const fc_layer_module_ctx_t cache_ctx_ops = {
    .preconfiguration = cache_variables_add,
    .postconfiguration = cache_postconfiguration,
    .create_main_conf = cache_create_main_conf,
    .create_loc_conf = cache_create_loc_conf,
    .merge_loc_conf = cache_merge_loc_conf,
};

fc_module_t fc_http_cache_module = {
    .name = "http_cache",
    .type = FC_HTTP_MODULE,
    .commands = cache_commands,
    .ctx = &cache_ctx_ops,
    .init_module = cache_manager_init_module,
    .init_worker = cache_manager_init_worker,
};

static void *
cache_create_main_conf(fc_conf_t *cf)
{
    cache_main_conf_t *cmcf = fc_pcalloc(cf->pool, sizeof(*cmcf));
    if (cmcf == NULL || fc_array_init(&cmcf->paths, cf->pool, 4, sizeof(cache_path_t *)) != FC_OK)
        return NULL;
    return cmcf;
}

static void *
cache_create_loc_conf(fc_conf_t *cf)
{
    cache_loc_conf_t *c = fc_pcalloc(cf->pool, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->path = FC_UNSET_PTR;
    c->path_cv = FC_UNSET_PTR;
    c->off = 0;
    c->key = FC_UNSET_PTR;
    c->valid = FC_UNSET_PTR;
    c->methods = 0;
    c->min_uses = FC_UNSET;
    c->bypass = FC_UNSET_PTR;
    c->no_cache = FC_UNSET_PTR;
    c->purge = FC_UNSET_PTR;
    c->use_stale = 0;
    c->background_update = FC_UNSET;
    c->lock = FC_UNSET;
    c->lock_timeout = FC_UNSET_MSEC;
    c->lock_age = FC_UNSET_MSEC;
    c->revalidate = FC_UNSET;
    c->convert_head = FC_UNSET;
    return c;
}

/* "proxy_cache NAME" written at some level: the path of that zone, found once all are known. */
typedef struct {
    fc_str_t name;
    const char *file;
    unsigned line;
} cache_ref_t;

static char *
cache_resolve(fc_conf_t *cf, cache_loc_conf_t *c)
{
    cache_ref_t *ref = c->ref;
    if (ref == NULL || c->path != FC_UNSET_PTR)
        return FC_CONF_OK; /* nothing to find, found, or reported already */
    cache_main_conf_t *mcf = fc_http_conf_get_main(cf, fc_http_cache_module);
    cache_path_t **p = mcf->paths.elts;
    for (size_t i = 0; i < mcf->paths.nelts; i++) {
        if (fc_str_eq(&p[i]->name, &ref->name)) {
            c->path = p[i];
            return FC_CONF_OK;
        }
    }
    fc_log_error(FC_LOG_EMERG, cf->log, 0, "\"proxy_cache\" zone \"%.*s\" is unknown in %s:%u",
                 (int) ref->name.len, ref->name.data, ref->file, ref->line);
    cf->errors++;
    c->path = NULL;
    return FC_CONF_ERROR;
}

static char *
cache_merge_loc_conf(fc_conf_t *cf, void *parent, void *child)
{
    cache_loc_conf_t *prev = parent, *c = child;
    if (cache_resolve(cf, prev) != FC_CONF_OK || cache_resolve(cf, c) != FC_CONF_OK)
        return FC_CONF_ERROR;
    if (c->ref == NULL && c->path_cv == FC_UNSET_PTR && !c->off) {
        c->path = prev->path;
        c->path_cv = prev->path_cv;
    }
    if (c->path == FC_UNSET_PTR)
        c->path = NULL;
    if (c->path_cv == FC_UNSET_PTR)
        c->path_cv = NULL;
    fc_conf_merge_ptr(c->key, prev->key, NULL);
    fc_conf_merge_ptr(c->valid, prev->valid, NULL);
    if (c->methods == 0)
        c->methods = prev->methods ? prev->methods
                                   : (1u << FC_HTTP_METHOD_GET) | (1u << FC_HTTP_METHOD_HEAD);
    fc_conf_merge_value(c->min_uses, prev->min_uses, 1);
    fc_conf_merge_ptr(c->bypass, prev->bypass, NULL);
    fc_conf_merge_ptr(c->no_cache, prev->no_cache, NULL);
    fc_conf_merge_ptr(c->purge, prev->purge, NULL);
    if (c->use_stale == 0)
        c->use_stale = prev->use_stale;
    if (c->use_stale & FC_HTTP_UPSTREAM_FT_OFF)
        c->use_stale = FC_HTTP_UPSTREAM_FT_OFF;
    fc_conf_merge_value(c->background_update, prev->background_update, 0);
    fc_conf_merge_value(c->lock, prev->lock, 0);
    fc_conf_merge_msec(c->lock_timeout, prev->lock_timeout, 5000);
    fc_conf_merge_msec(c->lock_age, prev->lock_age, 5000);
    fc_conf_merge_value(c->revalidate, prev->revalidate, 0);
    fc_conf_merge_value(c->convert_head, prev->convert_head, 1);
    if (c->temp_path.data == NULL)
        c->temp_path = prev->temp_path;
    if (c->temp_path.data == NULL) {
        fc_str_set(&c->temp_path, "proxy_temp");
        if (fc_conf_full_name(cf->pool, &cf->cycle->prefix, &c->temp_path) != FC_OK)
            return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

static fc_var_registry_t *cache_vars_reg(fc_conf_t *cf);

static int
cache_postconfiguration(fc_conf_t *cf)
{
    static const fc_str_t key = fc_string("$scheme$proxy_host$request_uri");
    cache_main_conf_t *mcf = fc_http_conf_get_main(cf, fc_http_cache_module);
    if (mcf->paths.nelts == 0)
        return FC_OK; /* no cache: the engine is left alone */
    if (fc_cv_compile(cf, cache_vars_reg(cf), &key, &mcf->default_key) != FC_OK)
        return FC_ERROR;
    fc_http_upstream_cache_register(cf, &cache_engine_ops);
    return FC_OK;
}

/* ---- proxy_cache_path ------------------------------------------------------------------ */

static int
cache_param(const fc_str_t *v, const char *name, fc_str_t *out)
{
    size_t n = strlen(name);
    if (v->len <= n || memcmp(v->data, name, n) != 0)
        return 0;
    out->data = v->data + n;
    out->len = v->len - n;
    return 1;
}

/* "1:2": 1 or 2 characters per level, up to 3 levels. */
static int
cache_parse_levels(const fc_str_t *v, cache_path_t *cp)
{
    cp->nlevels = 0;
    for (size_t i = 0; i < v->len; i++) {
        if (cp->nlevels == CACHE_MAX_LEVELS || (v->data[i] != '1' && v->data[i] != '2'))
            return FC_ERROR;
        cp->levels[cp->nlevels++] = (unsigned) (v->data[i] - '0');
        if (i + 1 < v->len && v->data[++i] != ':')
            return FC_ERROR;
        if (i + 1 == v->len && v->data[i] == ':')
            return FC_ERROR;
    }
    return cp->nlevels ? FC_OK : FC_ERROR;
}

/* keys_zone=NAME:SIZE */
static int
cache_parse_zone(fc_conf_t *cf, const fc_str_t *v, cache_path_t *cp, size_t *size)
{
    unsigned char *colon = memchr(v->data, ':', v->len);
    if (colon == NULL || colon == v->data) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid keys zone size \"keys_zone=%.*s\"",
                          (int) v->len, v->data);
        return FC_ERROR;
    }
    cp->name.data = v->data;
    cp->name.len = (size_t) (colon - v->data);
    fc_str_t s = {v->len - cp->name.len - 1, colon + 1};
    int64_t n = fc_parse_size(&s);
    if (n < (int64_t) FC_SHM_MIN_SIZE) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid keys zone size \"keys_zone=%.*s\"",
                          (int) v->len, v->data);
        return FC_ERROR;
    }
    *size = (size_t) n;
    return FC_OK;
}

/* The numeric NAME=VALUE parameters of proxy_cache_path: where each goes, and how it reads. */
enum { CP_SEC, CP_MSEC, CP_SIZE, CP_COUNT };
#define CP_NONE SIZE_MAX /* accepted (nginx's purger, NGINX Plus), nothing here uses it */
static const struct {
    const char *name;
    size_t offset;
    unsigned kind;
} cache_path_numbers[] = {
    {"inactive=", offsetof(cache_path_t, inactive), CP_SEC},
    {"max_size=", offsetof(cache_path_t, max_size), CP_SIZE},
    {"min_free=", offsetof(cache_path_t, min_free), CP_SIZE},
    {"loader_files=", offsetof(cache_path_t, loader_files), CP_COUNT},
    {"loader_sleep=", offsetof(cache_path_t, loader_sleep), CP_MSEC},
    {"loader_threshold=", offsetof(cache_path_t, loader_threshold), CP_MSEC},
    {"manager_files=", offsetof(cache_path_t, manager_files), CP_COUNT},
    {"manager_sleep=", offsetof(cache_path_t, manager_sleep), CP_MSEC},
    {"manager_threshold=", offsetof(cache_path_t, manager_threshold), CP_MSEC},
    {"purger_files=", CP_NONE, CP_COUNT},
    {"purger_sleep=", CP_NONE, CP_MSEC},
    {"purger_threshold=", CP_NONE, CP_MSEC},
};

/* A numeric parameter: FC_OK, FC_DECLINED (not one, or a bad value). */
static int
cache_path_number(const fc_str_t *v, cache_path_t *cp)
{
    fc_str_t val;
    for (size_t i = 0; i < fc_nelems(cache_path_numbers); i++) {
        if (!cache_param(v, cache_path_numbers[i].name, &val))
            continue;
        unsigned kind = cache_path_numbers[i].kind;
        int64_t n = kind == CP_SEC    ? fc_parse_time(&val, 1000)
                    : kind == CP_MSEC ? fc_parse_time(&val, 1)
                                      : fc_parse_size(&val);
        if (n < 0 || (kind == CP_COUNT && n == 0))
            return FC_DECLINED;
        if (cache_path_numbers[i].offset == CP_NONE)
            return FC_OK;
        char *field = (char *) cp + cache_path_numbers[i].offset;
        if (kind == CP_SEC)
            *(time_t *) field = (time_t) (n / 1000);
        else if (kind == CP_MSEC)
            *(fc_msec_t *) field = (fc_msec_t) n;
        else if (kind == CP_SIZE)
            *(int64_t *) field = n;
        else
            *(size_t *) field = (size_t) n;
        return FC_OK;
    }
    return FC_DECLINED;
}

/* One NAME=VALUE parameter after the path; FC_DECLINED: not a known name. */
static int
cache_path_param(fc_conf_t *cf, const fc_str_t *v, cache_path_t *cp, size_t *zone_size)
{
    fc_str_t val;
    if (cache_param(v, "levels=", &val)) {
        if (cache_parse_levels(&val, cp) == FC_OK)
            return FC_OK;
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid \"levels\" \"%.*s\"", (int) v->len,
                          v->data);
        return FC_ERROR;
    }
    if (cache_param(v, "keys_zone=", &val))
        return cache_parse_zone(cf, &val, cp, zone_size);
    if (cache_param(v, "use_temp_path=", &val)) {
        cp->use_temp_path = fc_str_eq_c(&val, "on") ? 1 : fc_str_eq_c(&val, "off") ? 0 : -1;
        return cp->use_temp_path >= 0 ? FC_OK : FC_DECLINED;
    }
    if (cache_param(v, "purger=", &val))
        return fc_str_eq_c(&val, "on") || fc_str_eq_c(&val, "off") ? FC_OK : FC_DECLINED;
    return cache_path_number(v, cp);
}

static char *
cache_set_path(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    cache_main_conf_t *mcf = conf;
    const fc_str_t *args = fc_conf_args(cf);
    (void) cmd;
    cache_path_t *cp = fc_pcalloc(cf->pool, sizeof(*cp));
    cache_path_t **slot = cp ? fc_array_push(&mcf->paths) : NULL;
    if (slot == NULL)
        return FC_CONF_ERROR;
    *slot = cp;
    cp->file = cf->dir_file;
    cp->line = cf->dir_line;
    cp->inactive = 600;
    cp->use_temp_path = 1;
    cp->loader_files = 100;
    cp->loader_sleep = 50;
    cp->loader_threshold = 200;
    cp->manager_files = 100;
    cp->manager_sleep = 50;
    cp->manager_threshold = 200;
    cp->path = args[1];
    while (cp->path.len > 1 && cp->path.data[cp->path.len - 1] == '/')
        cp->path.len--;
    if (fc_conf_full_name(cf->pool, &cf->cycle->prefix, &cp->path) != FC_OK)
        return FC_CONF_ERROR;
    size_t zone_size = 0;
    for (size_t i = 2; i < fc_conf_nargs(cf); i++) {
        int rc = cache_path_param(cf, &args[i], cp, &zone_size);
        if (rc == FC_ERROR)
            return FC_CONF_ERROR;
        if (rc == FC_DECLINED) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"", (int) args[i].len,
                              args[i].data);
            return FC_CONF_ERROR;
        }
    }
    if (cp->name.len == 0) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                          "\"proxy_cache_path\" must have \"keys_zone\" parameter");
        return FC_CONF_ERROR;
    }
    cache_path_t **p = mcf->paths.elts;
    for (size_t i = 0; i + 1 < mcf->paths.nelts; i++) {
        if (fc_str_eq(&p[i]->path, &cp->path)) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "duplicate cache path \"%s\", previous in %s:%u",
                              (char *) cp->path.data, p[i]->file, p[i]->line);
            return FC_CONF_ERROR;
        }
        if (fc_str_eq(&p[i]->name, &cp->name)) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "duplicate zone \"%.*s\"", (int) cp->name.len,
                              cp->name.data);
            return FC_CONF_ERROR;
        }
    }
    cp->zone = fc_shm_zone_add(cf, &cp->name, zone_size, &fc_http_cache_module);
    if (cp->zone == NULL)
        return FC_CONF_ERROR;
    cp->zone->init = cache_zone_init;
    return FC_CONF_OK;
}

/* ---- per-location directives ----------------------------------------------------------- */

static fc_var_registry_t *
cache_vars_reg(fc_conf_t *cf)
{
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    return &cmcf->vars;
}

static char *
cache_set_cache(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    cache_loc_conf_t *c = conf;
    const fc_str_t *v = &fc_conf_args(cf)[1];
    (void) cmd;
    if (c->ref || c->path_cv != FC_UNSET_PTR || c->off)
        return "is duplicate";
    if (fc_str_eq_c(v, "off")) {
        c->off = 1;
        c->path = NULL;
        c->path_cv = NULL;
        return FC_CONF_OK;
    }
    if (memchr(v->data, '$', v->len)) {
        c->path_cv = fc_pcalloc(cf->pool, sizeof(fc_cv_t));
        if (c->path_cv == NULL || fc_cv_compile(cf, cache_vars_reg(cf), v, c->path_cv) != FC_OK)
            return FC_CONF_ERROR;
        c->path = NULL;
        return FC_CONF_OK;
    }
    cache_ref_t *ref = fc_pcalloc(cf->pool, sizeof(*ref));
    if (ref == NULL)
        return FC_CONF_ERROR;
    ref->name = *v;
    ref->file = cf->dir_file;
    ref->line = cf->dir_line;
    c->ref = ref; /* resolved in merge, once every proxy_cache_path is known */
    c->path_cv = NULL;
    return FC_CONF_OK;
}

static char *
cache_set_key(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    cache_loc_conf_t *c = conf;
    (void) cmd;
    if (c->key != FC_UNSET_PTR)
        return "is duplicate";
    c->key = fc_pcalloc(cf->pool, sizeof(fc_cv_t));
    if (c->key == NULL || fc_cv_compile(cf, cache_vars_reg(cf), &fc_conf_args(cf)[1], c->key))
        return FC_CONF_ERROR;
    return FC_CONF_OK;
}

static char *
cache_set_valid(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    cache_loc_conf_t *c = conf;
    const fc_str_t *args = fc_conf_args(cf);
    size_t n = fc_conf_nargs(cf);
    (void) cmd;
    if (c->valid == FC_UNSET_PTR &&
        (c->valid = fc_array_create(cf->pool, 4, sizeof(cache_valid_t))) == NULL)
        return FC_CONF_ERROR;
    int64_t t = fc_parse_time(&args[n - 1], 1000);
    if (t < 0) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid time value \"%.*s\"", (int) args[n - 1].len,
                          args[n - 1].data);
        return FC_CONF_ERROR;
    }
    static const unsigned defaults[] = {200, 301, 302};
    size_t ncodes = n == 2 ? fc_nelems(defaults) : n - 2;
    for (size_t i = 0; i < ncodes; i++) {
        unsigned status = n == 2 ? defaults[i] : 0;
        if (n > 2 && !fc_str_eq_c(&args[i + 1], "any")) {
            int64_t s = fc_parse_size(&args[i + 1]); /* digits only: a suffix makes it invalid */
            if (s < 100 || s > 599 || args[i + 1].len != 3) {
                fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid status \"%.*s\"",
                                  (int) args[i + 1].len, args[i + 1].data);
                return FC_CONF_ERROR;
            }
            status = (unsigned) s;
        }
        cache_valid_t *v = fc_array_push(c->valid);
        if (v == NULL)
            return FC_CONF_ERROR;
        v->status = status;
        v->valid = (time_t) (t / 1000);
    }
    return FC_CONF_OK;
}

static char *
cache_set_methods(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    /* nginx's ngx_http_upstream_cache_method_mask: only these can be cached */
    static const struct {
        const char *name;
        unsigned method;
    } known[] = {{"GET", FC_HTTP_METHOD_GET},
                 {"HEAD", FC_HTTP_METHOD_HEAD},
                 {"POST", FC_HTTP_METHOD_POST}};
    cache_loc_conf_t *c = conf;
    const fc_str_t *args = fc_conf_args(cf);
    (void) cmd;
    if (c->methods)
        return "is duplicate";
    c->methods = (1u << FC_HTTP_METHOD_GET) | (1u << FC_HTTP_METHOD_HEAD);
    for (size_t i = 1; i < fc_conf_nargs(cf); i++) {
        size_t k = 0;
        while (k < fc_nelems(known) && !fc_str_eq_c(&args[i], known[k].name))
            k++;
        if (k == fc_nelems(known)) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid value \"%.*s\"", (int) args[i].len,
                              args[i].data);
            return FC_CONF_ERROR;
        }
        c->methods |= 1u << known[k].method;
    }
    return FC_CONF_OK;
}

static char *
cache_set_predicates(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_array_t **slot = (fc_array_t **) ((char *) conf + cmd->offset);
    const fc_str_t *args = fc_conf_args(cf);
    if (*slot == FC_UNSET_PTR && (*slot = fc_array_create(cf->pool, 2, sizeof(fc_cv_t))) == NULL)
        return FC_CONF_ERROR;
    for (size_t i = 1; i < fc_conf_nargs(cf); i++) {
        fc_cv_t *cv = fc_array_push(*slot);
        if (cv == NULL || fc_cv_compile(cf, cache_vars_reg(cf), &args[i], cv) != FC_OK)
            return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

/*
 * proxy_temp_path PATH [L1 [L2 [L3]]]: where cache entries are written while
 * incomplete (use_temp_path=on). The level arguments are checked and
 * accepted; temp files are few and short-lived, so they sit in PATH itself.
 */
static char *
cache_set_temp_path(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    cache_loc_conf_t *c = conf;
    const fc_str_t *args = fc_conf_args(cf);
    (void) cmd;
    if (c->temp_path.data)
        return "is duplicate";
    for (size_t i = 2; i < fc_conf_nargs(cf); i++) {
        if (args[i].len != 1 || args[i].data[0] < '1' || args[i].data[0] > '2') {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid value \"%.*s\"", (int) args[i].len,
                              args[i].data);
            return FC_CONF_ERROR;
        }
    }
    c->temp_path = args[1];
    while (c->temp_path.len > 1 && c->temp_path.data[c->temp_path.len - 1] == '/')
        c->temp_path.len--;
    return fc_conf_full_name(cf->pool, &cf->cycle->prefix, &c->temp_path) == FC_OK ? FC_CONF_OK
                                                                                   : FC_CONF_ERROR;
}

/* ---- run-time helpers on the settings --------------------------------------------------- */

time_t
cache_valid_for(const fc_array_t *valid, unsigned status)
{
    if (valid == NULL)
        return 0;
    /* As nginx: the first line that names the status or says "any", in config order. */
    const cache_valid_t *v = valid->elts;
    for (size_t i = 0; i < valid->nelts; i++)
        if (v[i].status == status || v[i].status == 0)
            return v[i].valid;
    return 0;
}

int
cache_test_predicates(fc_http_request_t *r, const fc_array_t *list)
{
    if (list == NULL)
        return 0;
    const fc_cv_t *cv = list->elts;
    for (size_t i = 0; i < list->nelts; i++) {
        fc_str_t v;
        if (fc_http_cv_eval(r, &cv[i], &v) != FC_OK)
            return 0;
        if (v.len && !(v.len == 1 && v.data[0] == '0'))
            return 1;
    }
    return 0;
}
