/*
 * gzip_conf.c: the directives of nginx's ngx_http_gzip_module (names,
 * arguments, defaults, contexts and inheritance as nginx has them, the
 * gzip_vary / gzip_http_version / gzip_proxied / gzip_disable family
 * included, which nginx keeps in its core module), $gzip_ratio, and the
 * module itself.
 *
 * gzip_window and gzip_hash (nginx's undocumented zlib sizes) are honoured;
 * postpone_gzipping and gzip_no_buffer are validated and have no effect
 * (the output is the same, only nginx's buffering of it differs).
 */
#include "gzip.h"

#include "core/var_common.h"

#include <zlib.h>

static int gzip_preconfiguration(fc_conf_t *cf);
static int gzip_postconfiguration(fc_conf_t *cf);
static void *gzip_create_loc_conf(fc_conf_t *cf);
static char *gzip_merge_loc_conf(fc_conf_t *cf, void *parent, void *child);
static char *gzip_buffers(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *gzip_types(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *gzip_disable(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *gzip_window(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *gzip_hash(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

static const fc_conf_bounds_t gzip_level_bounds = {1, 9};
/* gzip_static serves NAME.gz for static files, which fulcrum does not serve. */
static const fc_conf_enum_t gzip_static_modes[] = {{"off", 0}, {"on", 1}, {"always", 2}, {NULL, 0}};
static const fc_conf_enum_t gzip_http_versions[] = {{"1.0", 1000}, {"1.1", 1001}, {NULL, 0}};
static const fc_conf_enum_t gzip_proxied_masks[] = {
    {"off", GZIP_PROXIED_OFF},           {"expired", GZIP_PROXIED_EXPIRED},
    {"no-cache", GZIP_PROXIED_NO_CACHE}, {"no-store", GZIP_PROXIED_NO_STORE},
    {"private", GZIP_PROXIED_PRIVATE},   {"no_last_modified", GZIP_PROXIED_NO_LM},
    {"no_etag", GZIP_PROXIED_NO_ETAG},   {"auth", GZIP_PROXIED_AUTH},
    {"any", GZIP_PROXIED_ANY},           {NULL, 0}};

#define GZIP_ANY (FC_HTTP_MAIN_CONF | FC_HTTP_SRV_CONF | FC_HTTP_LOC_CONF)
#define GZIP_SLOT(ctx, args, setter, field)                                                        \
    (ctx) | (args), setter, FC_CONF_LOC_OFFSET, offsetof(gzip_loc_conf_t, field)

static const fc_command_t gzip_commands[] = {
    {"gzip", GZIP_SLOT(GZIP_ANY | FC_HTTP_LIF_CONF, FC_CONF_FLAG, fc_conf_set_flag_slot, enable),
     NULL},
    {"gzip_buffers", GZIP_SLOT(GZIP_ANY, FC_CONF_TAKE2, gzip_buffers, bufs_num), NULL},
    {"gzip_types", GZIP_SLOT(GZIP_ANY, FC_CONF_1MORE, gzip_types, types), NULL},
    {"gzip_comp_level", GZIP_SLOT(GZIP_ANY, FC_CONF_TAKE1, fc_conf_set_num_slot, level),
     &gzip_level_bounds},
    {"gzip_window", GZIP_SLOT(GZIP_ANY, FC_CONF_TAKE1, gzip_window, wbits), NULL},
    {"gzip_hash", GZIP_SLOT(GZIP_ANY, FC_CONF_TAKE1, gzip_hash, memlevel), NULL},
    {"postpone_gzipping", GZIP_SLOT(GZIP_ANY, FC_CONF_TAKE1, fc_conf_set_size_slot, postpone),
     NULL},
    {"gzip_no_buffer", GZIP_SLOT(GZIP_ANY, FC_CONF_FLAG, fc_conf_set_flag_slot, no_buffer), NULL},
    {"gzip_min_length", GZIP_SLOT(GZIP_ANY, FC_CONF_TAKE1, fc_conf_set_size_slot, min_length),
     NULL},
    {"gzip_vary", GZIP_SLOT(GZIP_ANY, FC_CONF_FLAG, fc_conf_set_flag_slot, vary), NULL},
    {"gzip_http_version", GZIP_SLOT(GZIP_ANY, FC_CONF_TAKE1, fc_conf_set_enum_slot, http_version),
     gzip_http_versions},
    {"gzip_proxied", GZIP_SLOT(GZIP_ANY, FC_CONF_1MORE, fc_conf_set_bitmask_slot, proxied),
     gzip_proxied_masks},
    {"gzip_disable", GZIP_SLOT(GZIP_ANY, FC_CONF_1MORE, gzip_disable, disable), NULL},
    {"gzip_static", GZIP_SLOT(GZIP_ANY, FC_CONF_TAKE1, fc_conf_set_enum_slot, static_files),
     gzip_static_modes},
    fc_null_command};

static const fc_layer_module_ctx_t gzip_ctx = {
    .preconfiguration = gzip_preconfiguration,
    .postconfiguration = gzip_postconfiguration,
    .create_loc_conf = gzip_create_loc_conf,
    .merge_loc_conf = gzip_merge_loc_conf,
};

fc_module_t fc_http_gzip_module = {
    .name = "http_gzip",
    .type = FC_HTTP_MODULE,
    .commands = gzip_commands,
    .ctx = &gzip_ctx,
};

/* ---- $gzip_ratio ------------------------------------------------------------------ */

static int
gzip_ratio_variable(void *data, fc_var_value_t *v, uintptr_t unused)
{
    fc_http_request_t *r = data;
    uint64_t zin, zout;
    (void) unused;
    if (gzip_filter_totals(r, &zin, &zout) != FC_OK) {
        fc_var_set_not_found(v);
        return FC_OK;
    }
    char *p = fc_pnalloc(r->pool, 32);
    if (p == NULL)
        return FC_ERROR;
    fc_var_set_str(v, (const unsigned char *) p, gzip_ratio_format(zin, zout, p, 32));
    return FC_OK;
}

/* No-cacheable: a value read before the response ends must not stick. */
static const fc_var_def_t gzip_vars[] = {{"gzip_ratio", gzip_ratio_variable, 0, FC_VAR_NOCACHEABLE},
                                         {NULL, NULL, 0, 0}};

static int
gzip_preconfiguration(fc_conf_t *cf)
{
    fc_http_core_main_conf_t *cmcf = fc_http_conf_get_main(cf, fc_http_core_module);
    return fc_var_define_table(&cmcf->vars, gzip_vars);
}

static int
gzip_postconfiguration(fc_conf_t *cf)
{
    return gzip_filter_init(cf);
}

/* ---- create / merge ------------------------------------------------------------------ */

static void *
gzip_create_loc_conf(fc_conf_t *cf)
{
    gzip_loc_conf_t *conf = fc_pcalloc(cf->pool, sizeof(*conf));
    if (conf == NULL)
        return NULL;
    conf->enable = FC_UNSET;
    conf->level = FC_UNSET;
    conf->min_length = FC_UNSET_SIZE;
    conf->vary = FC_UNSET;
    conf->http_version = FC_UNSET;
    conf->disable = FC_UNSET_PTR;
    conf->disable_msie6 = FC_UNSET;
    conf->wbits = FC_UNSET_SIZE;
    conf->memlevel = FC_UNSET_SIZE;
    conf->postpone = FC_UNSET_SIZE;
    conf->no_buffer = FC_UNSET;
    conf->static_files = FC_UNSET;
    return conf; /* bufs_num 0, types NULL, proxied 0: unset */
}

/* gzip_types always holds text/html, as nginx's. */
static const char *const gzip_default_types[] = {"text/html", NULL};

static char *
gzip_merge_loc_conf(fc_conf_t *cf, void *parent, void *child)
{
    gzip_loc_conf_t *prev = parent, *conf = child;
    fc_conf_merge_value(conf->enable, prev->enable, 0);
    fc_conf_merge_value(conf->level, prev->level, 1);
    if (conf->bufs_num == 0) {
        /* nginx's "32 4k | 16 8k": 128k in pages. */
        size_t page = (size_t) sysconf(_SC_PAGESIZE);
        conf->bufs_num = prev->bufs_num ? prev->bufs_num : (int64_t) (128 * 1024 / page);
        conf->bufs_size = prev->bufs_num ? prev->bufs_size : page;
    }
    fc_conf_merge_size(conf->min_length, prev->min_length, 20);
    fc_conf_merge_size(conf->wbits, prev->wbits, MAX_WBITS);
    fc_conf_merge_size(conf->memlevel, prev->memlevel, MAX_MEM_LEVEL - 1);
    fc_conf_merge_size(conf->postpone, prev->postpone, 0);
    fc_conf_merge_value(conf->no_buffer, prev->no_buffer, 0);
    fc_conf_merge_value(conf->vary, prev->vary, 0);
    fc_conf_merge_value(conf->http_version, prev->http_version, 1001);
    if (conf->proxied == 0)
        conf->proxied = prev->proxied ? prev->proxied : GZIP_PROXIED_OFF;
    fc_conf_merge_ptr(conf->disable, prev->disable, NULL);
    fc_conf_merge_value(conf->disable_msie6, prev->disable_msie6, 0);
    if (fc_http_mime_list_merge(cf, &conf->types, &prev->types, gzip_default_types) != FC_OK)
        return FC_CONF_ERROR;
    return FC_CONF_OK;
}

/* ---- directives ------------------------------------------------------------------------ */

/* gzip_buffers NUMBER SIZE */
static char *
gzip_buffers(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    gzip_loc_conf_t *glcf = conf;
    fc_str_t *args = fc_conf_args(cf);
    (void) cmd;
    if (glcf->bufs_num)
        return "is duplicate";
    int64_t num = fc_atoi(args[1].data, args[1].len);
    int64_t size = fc_parse_size(&args[2]);
    if (num <= 0 || size <= 0 || num > INT32_MAX)
        return "invalid value";
    glcf->bufs_num = num;
    glcf->bufs_size = (size_t) size;
    return FC_CONF_OK;
}

/* gzip_types TYPE...: text/html is always in; "*" is any type (and ends the list). */
static char *
gzip_types(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) cmd;
    return fc_http_mime_list_add(cf, &((gzip_loc_conf_t *) conf)->types, gzip_default_types);
}

/*
 * gzip_disable REGEX|msie6...: caseless regexes matched against User-Agent.
 * Any gzip_disable starts the level's own regex list (msie6 is inherited
 * on its own), as in nginx.
 */
static char *
gzip_disable(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    gzip_loc_conf_t *glcf = conf;
    fc_str_t *args = fc_conf_args(cf);
    (void) cmd;
    if (glcf->disable == FC_UNSET_PTR &&
        (glcf->disable = fc_array_create(cf->pool, 2, sizeof(fc_regex_t *))) == NULL)
        return FC_CONF_ERROR;
    for (size_t i = 1; i < fc_conf_nargs(cf); i++) {
        if (fc_str_eq_c(&args[i], "msie6")) {
            glcf->disable_msie6 = 1;
            continue;
        }
        char err[512];
        fc_regex_t **re = fc_array_push(glcf->disable);
        if (re == NULL)
            return FC_CONF_ERROR;
        if ((*re = fc_regex_compile(cf->pool, &args[i], 1, err, sizeof(err))) == NULL) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s", err);
            return FC_CONF_ERROR;
        }
    }
    return FC_CONF_OK;
}

/* A size that must be a power of two in [512, max]: its log2, or -1. */
static int
gzip_pow2(const fc_str_t *arg, size_t max)
{
    int64_t n = fc_parse_size(arg);
    int bits = 9;
    for (size_t s = 512; s <= max; s <<= 1, bits++)
        if (n == (int64_t) s)
            return bits;
    return n < 0 ? -2 : -1;
}

/* gzip_window 512|1k|...|32k: zlib's window (windowBits 9..15). */
static char *
gzip_window(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    gzip_loc_conf_t *glcf = conf;
    (void) cmd;
    if (glcf->wbits != FC_UNSET_SIZE)
        return "is duplicate";
    int bits = gzip_pow2(&fc_conf_args(cf)[1], 32 * 1024);
    if (bits < 0)
        return bits == -2 ? "invalid value" : "must be 512, 1k, 2k, 4k, 8k, 16k, or 32k";
    glcf->wbits = (size_t) bits;
    return FC_CONF_OK;
}

/* gzip_hash 512|1k|...|128k: zlib's hash table (memLevel 1..9). */
static char *
gzip_hash(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    gzip_loc_conf_t *glcf = conf;
    (void) cmd;
    if (glcf->memlevel != FC_UNSET_SIZE)
        return "is duplicate";
    int bits = gzip_pow2(&fc_conf_args(cf)[1], 128 * 1024);
    if (bits < 0)
        return bits == -2 ? "invalid value" : "must be 512, 1k, 2k, 4k, 8k, 16k, 32k, 64k, or 128k";
    glcf->memlevel = (size_t) (bits - 8);
    return FC_CONF_OK;
}
