/*
 * regex_names.c: named groups as variables (see regex_names.h). fc_regex_t
 * hides its PCRE2 code, so a pattern with names is compiled once more here,
 * at load time only, to read its name table. Groups past $9 are not kept by
 * fc_captures_t and read as empty.
 */
#include "core/regex_names.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

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

int
fc_regex_named_groups(fc_conf_t *cf, fc_var_registry_t *reg, const fc_str_t *pattern, int caseless,
                      fc_var_get_pt get, fc_array_t **out)
{
    int ec;
    PCRE2_SIZE eo;
    uint32_t count = 0, size = 0;
    PCRE2_SPTR table = NULL;
    *out = NULL;
    pcre2_code *code =
        pcre2_compile(pattern->data, pattern->len, caseless ? PCRE2_CASELESS : 0, &ec, &eo, NULL);
    if (code == NULL)
        return FC_ERROR;
    pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(code, PCRE2_INFO_NAMEENTRYSIZE, &size);
    pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &table);
    int rc = FC_OK;
    if (count > 0 && (*out = fc_array_create(cf->pool, count, sizeof(fc_var_t))) == NULL)
        rc = FC_ERROR;
    for (uint32_t i = 0; rc == FC_OK && i < count; i++) {
        PCRE2_SPTR e = table + (size_t) i * size;
        fc_str_t name = {strlen((const char *) e + 2), (unsigned char *) e + 2};
        fc_var_t *nc = fc_array_push(*out);
        if (nc == NULL || fc_str_dup(cf->pool, &nc->name, &name) != FC_OK) {
            rc = FC_ERROR;
            break;
        }
        nc->data = ((uintptr_t) e[0] << 8) | e[1];
        rc = rn_define(cf, reg, &nc->name, get);
    }
    pcre2_code_free(code);
    return rc;
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
