/*
 * map.c: the map engine (see map.h). Keys are kept in four arrays: exact
 * keys sorted for a binary search, leading and trailing wildcards (scanned
 * for the longest match), and regexes in the order written. Keys are stored
 * lower-cased and compared with the lower-cased source on the fly, so a
 * lookup copies nothing.
 */
#include "core/fc_core.h"
#include "core/map.h"

typedef struct {
    fc_str_t key;     /* lower-cased; ".example.com" (leading) / "www.example." (trailing) */
    fc_str_t written; /* as in the config, for errors */
    fc_regex_t *re;
    fc_array_t *names; /* named groups of re, or NULL */
    const fc_cv_t *value;
    const char *file;
    unsigned line;
    unsigned seq; /* order of appearance */
} map_key_t;

struct fc_map_s {
    fc_cv_t source;
    fc_array_t exact; /* map_key_t, sorted by fc_map_finish */
    fc_array_t head;  /* "*.example.com", ".example.com" */
    fc_array_t tail;  /* "www.example.*" */
    fc_array_t regex;
    const fc_cv_t *default_value;
    fc_var_registry_t *reg;
    const fc_map_layer_t *layer;
    unsigned nkeys;
    unsigned hostnames : 1;
    unsigned is_volatile : 1;
};

static const fc_cv_t map_empty = {.text = fc_string("")};

fc_map_t *
fc_map_create(fc_conf_t *cf, fc_var_registry_t *reg, const fc_map_layer_t *layer,
              const fc_str_t *source)
{
    fc_map_t *map = fc_pcalloc(cf->pool, sizeof(*map));
    if (map == NULL || fc_array_init(&map->exact, cf->pool, 8, sizeof(map_key_t)) != FC_OK ||
        fc_array_init(&map->head, cf->pool, 2, sizeof(map_key_t)) != FC_OK ||
        fc_array_init(&map->tail, cf->pool, 2, sizeof(map_key_t)) != FC_OK ||
        fc_array_init(&map->regex, cf->pool, 2, sizeof(map_key_t)) != FC_OK)
        return NULL;
    map->reg = reg;
    map->layer = layer;
    if (fc_cv_compile(cf, reg, source, &map->source) != FC_OK)
        return NULL;
    return map;
}

int
fc_map_volatile(const fc_map_t *map)
{
    return map->is_volatile;
}

/* Compares a lower-cased key with a string of any case: <0, 0, >0 as the key sorts. */
static int
map_keycmp(const fc_str_t *key, const unsigned char *s, size_t len)
{
    size_t n = fc_min(key->len, len);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = fc_tolower(s[i]);
        if (key->data[i] != c)
            return key->data[i] < c ? -1 : 1;
    }
    return key->len == len ? 0 : (key->len < len ? -1 : 1);
}

/* ---- config ---- */

static map_key_t *
map_push(fc_conf_t *cf, fc_map_t *map, fc_array_t *a, const fc_str_t *key, const fc_str_t *written,
         const fc_cv_t *value)
{
    map_key_t *k = fc_array_push(a);
    if (k == NULL || fc_str_dup(cf->pool, &k->key, key) != FC_OK)
        return NULL;
    for (size_t i = 0; i < k->key.len; i++)
        k->key.data[i] = fc_tolower(k->key.data[i]);
    k->written = *written;
    k->re = NULL;
    k->names = NULL;
    k->value = value;
    k->file = cf->dir_file;
    k->line = cf->dir_line;
    k->seq = map->nkeys++;
    return k;
}

static char *
map_add_regex(fc_conf_t *cf, fc_map_t *map, const fc_str_t *key, const fc_cv_t *value)
{
    int caseless = key->len > 1 && key->data[1] == '*';
    fc_str_t pat = {key->len - 1 - (size_t) caseless, key->data + 1 + caseless};
    map_key_t *k = map_push(cf, map, &map->regex, &pat, key, value);
    if (k == NULL)
        return FC_CONF_ERROR;
    if (map->layer->regex)
        return (k->re = map->layer->regex(cf, &pat, caseless, &k->names)) ? FC_CONF_OK
                                                                          : FC_CONF_ERROR;
    char err[512];
    k->re = fc_regex_compile(cf->pool, &pat, caseless, err, sizeof(err));
    if (k->re == NULL) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s", err);
        return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

/* A hostname key: "*.example.com", ".example.com", "www.example.*", or exact. */
static char *
map_add_hostname(fc_conf_t *cf, fc_map_t *map, fc_str_t k, const fc_str_t *written,
                 const fc_cv_t *value)
{
    fc_array_t *a = &map->exact;
    if (k.len > 2 && k.data[0] == '*' && k.data[1] == '.') {
        k.data++; /* kept with its dot: ".example.com" */
        k.len--;
        a = &map->head;
    } else if (k.len > 1 && k.data[0] == '.') {
        fc_str_t bare = {k.len - 1, k.data + 1}; /* ".example.com" is example.com too */
        if (map_push(cf, map, &map->exact, &bare, written, value) == NULL)
            return FC_CONF_ERROR;
        a = &map->head;
    } else if (k.len > 2 && k.data[k.len - 1] == '*' && k.data[k.len - 2] == '.') {
        k.len--; /* kept with its dot: "www.example." */
        a = &map->tail;
    }
    if (memchr(k.data, '*', k.len) != NULL || k.len == 0 || (a != &map->exact && k.len < 2)) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid hostname or wildcard \"%.*s\"",
                          (int) written->len, written->data);
        return FC_CONF_ERROR;
    }
    return map_push(cf, map, a, &k, written, value) ? FC_CONF_OK : FC_CONF_ERROR;
}

static char *
map_set_default(fc_conf_t *cf, fc_map_t *map, const fc_str_t *value)
{
    if (map->default_value) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "duplicate default map parameter");
        return FC_CONF_ERROR;
    }
    fc_cv_t *cv = fc_palloc(cf->pool, sizeof(fc_cv_t));
    if (cv == NULL || fc_cv_compile(cf, map->reg, value, cv) != FC_OK)
        return FC_CONF_ERROR;
    map->default_value = cv;
    return FC_CONF_OK;
}

char *
fc_map_add(fc_conf_t *cf, fc_map_t *map, const fc_str_t *args, size_t n)
{
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
    if (fc_str_eq_c(&args[0], "default"))
        return map_set_default(cf, map, &args[1]);
    fc_cv_t *value = fc_palloc(cf->pool, sizeof(fc_cv_t));
    if (value == NULL || fc_cv_compile(cf, map->reg, &args[1], value) != FC_OK)
        return FC_CONF_ERROR;
    if (args[0].len > 0 && args[0].data[0] == '~')
        return map_add_regex(cf, map, &args[0], value);
    fc_str_t k = args[0];
    if (k.len > 0 && k.data[0] == '\\') { /* "\default" is the literal key "default" */
        k.data++;
        k.len--;
    }
    if (map->hostnames)
        return map_add_hostname(cf, map, k, &args[0], value);
    return map_push(cf, map, &map->exact, &k, &args[0], value) ? FC_CONF_OK : FC_CONF_ERROR;
}

static int
map_sort_cmp(const void *a, const void *b)
{
    const map_key_t *x = a, *y = b;
    int c = map_keycmp(&x->key, y->key.data, y->key.len);
    if (c != 0)
        return c;
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/* Sorts keys and reports each repeated one where it was written again. */
static int
map_sort_keys(fc_conf_t *cf, fc_array_t *a)
{
    int rc = FC_OK;
    map_key_t *k = a->elts;
    if (a->nelts > 1)
        qsort(k, a->nelts, sizeof(map_key_t), map_sort_cmp);
    for (size_t i = 1; i < a->nelts; i++) {
        if (map_keycmp(&k[i - 1].key, k[i].key.data, k[i].key.len) != 0)
            continue;
        const char *file = cf->dir_file;
        unsigned line = cf->dir_line;
        cf->dir_file = k[i].file;
        cf->dir_line = k[i].line;
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "conflicting parameter \"%.*s\"",
                          (int) k[i].written.len, k[i].written.data);
        cf->dir_file = file;
        cf->dir_line = line;
        rc = FC_ERROR;
    }
    return rc;
}

int
fc_map_finish(fc_conf_t *cf, fc_map_t *map)
{
    int rc = map_sort_keys(cf, &map->exact);
    if (map_sort_keys(cf, &map->head) != FC_OK || map_sort_keys(cf, &map->tail) != FC_OK)
        rc = FC_ERROR;
    return rc;
}

/* ---- run time ---- */

static const map_key_t *
map_find_exact(const fc_map_t *map, const fc_str_t *v)
{
    const map_key_t *k = map->exact.elts;
    size_t lo = 0, hi = map->exact.nelts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = map_keycmp(&k[mid].key, v->data, v->len);
        if (c == 0)
            return &k[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The longest wildcard that matches: a suffix (leading "*.") or a prefix (trailing ".*"). */
static const map_key_t *
map_find_wild(const fc_array_t *a, const fc_str_t *v, int suffix)
{
    const map_key_t *k = a->elts, *best = NULL;
    for (size_t i = 0; i < a->nelts; i++) {
        if (v->len <= k[i].key.len || (best && best->key.len >= k[i].key.len))
            continue;
        const unsigned char *p = suffix ? v->data + v->len - k[i].key.len : v->data;
        if (map_keycmp(&k[i].key, p, k[i].key.len) == 0)
            best = &k[i];
    }
    return best;
}

int
fc_map_find(const fc_map_t *map, const fc_str_t *value, fc_captures_t *caps, fc_map_result_t *res)
{
    fc_str_t v = *value;
    if (map->hostnames && v.len > 0 && v.data[v.len - 1] == '.')
        v.len--; /* "example.com." is "example.com" */
    res->names = NULL;
    res->regex = 0;
    const map_key_t *k = map_find_exact(map, &v);
    if (k == NULL && map->hostnames) {
        k = map_find_wild(&map->head, &v, 1);
        if (k == NULL)
            k = map_find_wild(&map->tail, &v, 0);
    }
    const map_key_t *re = map->regex.elts;
    for (size_t i = 0; k == NULL && i < map->regex.nelts; i++) {
        int rc = fc_regex_exec(re[i].re, &v, caps);
        if (rc == FC_ERROR)
            return FC_ERROR;
        if (rc == FC_OK) {
            k = &re[i];
            res->names = k->names;
            res->regex = 1;
        }
    }
    res->value = k ? k->value : map->default_value ? map->default_value : &map_empty;
    return FC_OK;
}

static int
map_get(void *r, fc_var_value_t *v, uintptr_t data)
{
    const fc_map_t *map = (const fc_map_t *) data;
    const fc_map_layer_t *layer = map->layer;
    fc_str_t src, out;
    fc_map_result_t res;
    if (layer->eval(r, &map->source, &src) != FC_OK ||
        fc_map_find(map, &src, layer->captures(r), &res) != FC_OK)
        return FC_ERROR;
    if (res.regex && layer->matched)
        layer->matched(r, res.names);
    if (layer->eval(r, res.value, &out) != FC_OK)
        return FC_ERROR;
    fc_var_set_str(v, out.data, out.len);
    v->no_cacheable = map->is_volatile;
    return FC_OK;
}

/* One line of the body, as the parser's block handler. */
static char *
map_line(fc_conf_t *cf, const fc_command_t *dummy, void *conf)
{
    (void) dummy;
    return fc_map_add(cf, conf, fc_conf_args(cf), fc_conf_nargs(cf));
}

char *
fc_map_block(fc_conf_t *cf, fc_var_registry_t *reg, const fc_map_layer_t *layer)
{
    fc_str_t *args = fc_conf_args(cf);
    fc_str_t dst = args[2];
    if (dst.len < 2 || dst.data[0] != '$') {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid variable name \"%.*s\"", (int) dst.len,
                          dst.data);
        return FC_CONF_ERROR;
    }
    fc_map_t *map = fc_map_create(cf, reg, layer, &args[1]);
    if (map == NULL)
        return FC_CONF_ERROR;
    dst.data++;
    dst.len--;
    fc_var_t *v = fc_var_define(reg, &dst, FC_VAR_CHANGEABLE);
    if (v == NULL) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "the duplicate \"%.*s\" variable", (int) dst.len,
                          dst.data);
        return FC_CONF_ERROR;
    }
    v->get = map_get;
    v->data = (uintptr_t) map;

    fc_conf_set_pt handler = cf->handler;
    void *handler_conf = cf->handler_conf;
    cf->handler = map_line;
    cf->handler_conf = map;
    int rc = fc_conf_parse(cf, NULL);
    cf->handler = handler;
    cf->handler_conf = handler_conf;
    if (rc == FC_OK)
        rc = fc_map_finish(cf, map);
    if (map->is_volatile)
        v->flags |= FC_VAR_NOCACHEABLE;
    return rc == FC_OK ? FC_CONF_OK : FC_CONF_ERROR;
}
