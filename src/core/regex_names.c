/*
 * regex_names.c: named groups as variables (see regex_names.h). Groups past
 * $9 are not kept by fc_captures_t and read as empty.
 */
#include "core/regex_names.h"

/* The variable of one name, shared by every regex using it. */
static int
rn_define(fc_conf_t *cf, fc_var_registry_t *reg, const fc_str_t *name, fc_var_get_pt get)
{
    fc_var_t *v = fc_var_define(reg, name, FC_VAR_CHANGEABLE | FC_VAR_NOCACHEABLE);
    if (v == NULL) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "the duplicate \"%.*s\" variable", (int) name->len,
                          name->data);
        return FC_ERROR;
    }
    if (v->get == NULL) {
        /* A map or set of the same name keeps its own getter, as it would win in nginx. */
        fc_str_t *copy = fc_palloc(cf->pool, sizeof(*copy));
        if (copy == NULL)
            return FC_ERROR;
        *copy = *name; /* not &v->name: the registry's array may move when it grows */
        v->get = get;
        v->data = (uintptr_t) copy;
    }
    return FC_OK;
}

fc_regex_t *
fc_regex_compile_named(fc_conf_t *cf, fc_var_registry_t *reg, const fc_str_t *pattern, int caseless,
                       fc_var_get_pt get, fc_array_t **out)
{
    char err[512];
    *out = NULL;
    fc_regex_t *re = fc_regex_compile(cf->pool, pattern, caseless, err, sizeof(err));
    if (re == NULL) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "%s", err);
        return NULL;
    }
    uint32_t count, size;
    const unsigned char *table = fc_regex_name_table(re, &count, &size);
    if (count > 0 && (*out = fc_array_create(cf->pool, count, sizeof(fc_var_t))) == NULL)
        return NULL;
    for (uint32_t i = 0; i < count; i++) {
        const unsigned char *e = table + (size_t) i * size;
        fc_str_t name = {strlen((const char *) e + 2), (unsigned char *) e + 2};
        fc_var_t *nc = fc_array_push(*out);
        if (nc == NULL || fc_str_dup(cf->pool, &nc->name, &name) != FC_OK)
            return NULL;
        nc->data = ((uintptr_t) e[0] << 8) | e[1];
        if (rn_define(cf, reg, &nc->name, get) != FC_OK)
            return NULL;
    }
    return re;
}

int
fc_regex_named_value(const fc_array_t *names, const fc_captures_t *caps, const fc_str_t *name,
                     fc_var_value_t *v)
{
    const fc_var_t *nc = names ? names->elts : NULL;
    for (size_t i = 0; names && i < names->nelts; i++) {
        if (!fc_str_caseeq(&nc[i].name, name))
            continue;
        fc_str_t s = fc_captures_get(caps, (int) nc[i].data);
        if (s.data == NULL)
            break;
        fc_var_set_str(v, s.data, s.len);
        return FC_OK;
    }
    v->not_found = 1;
    return FC_OK;
}
