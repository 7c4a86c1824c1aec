/*
 * var.c: the variable registry and complex values. Names used in the
 * config get an index when compiled; definitions may come later (a map
 * below its first use), so uses are bound to definitions once, at the end
 * of the layer's block, and an unknown name is reported where it was used.
 */
#include "core/fc_core.h"
#include "core/conf.h"
#include "core/var.h"

int
fc_var_registry_init(fc_var_registry_t *reg, fc_pool_t *pool)
{
    if (fc_array_init(&reg->defined, pool, 32, sizeof(fc_var_t)) != FC_OK ||
        fc_array_init(&reg->refs, pool, 16, sizeof(fc_var_ref_t)) != FC_OK)
        return FC_ERROR;
    return FC_OK;
}

static fc_var_t *
var_find(fc_var_registry_t *reg, const fc_str_t *name)
{
    fc_var_t *v = reg->defined.elts;
    for (size_t i = 0; i < reg->defined.nelts; i++) {
        if (!(v[i].flags & FC_VAR_PREFIX) && fc_str_caseeq(&v[i].name, name))
            return &v[i];
    }
    return NULL;
}

fc_var_t *
fc_var_define(fc_var_registry_t *reg, const fc_str_t *name, unsigned flags)
{
    fc_var_t *v = var_find(reg, name);
    if (v) {
        if (!(v->flags & FC_VAR_CHANGEABLE) || !(flags & FC_VAR_CHANGEABLE))
            return NULL;
        return v;
    }
    v = fc_array_push(&reg->defined);
    if (v == NULL)
        return NULL;
    v->name = *name;
    v->flags = flags;
    return v;
}

int
fc_var_define_table(fc_var_registry_t *reg, const fc_var_def_t *defs)
{
    for (; defs->name; defs++) {
        fc_str_t name = {strlen(defs->name), (unsigned char *) defs->name};
        fc_var_t *v = fc_var_define(reg, &name, defs->flags);
        if (v == NULL)
            return FC_ERROR;
        v->get = defs->get;
        v->data = defs->data;
    }
    return FC_OK;
}

int64_t
fc_var_index(fc_var_registry_t *reg, fc_conf_t *cf, const fc_str_t *name)
{
    fc_var_ref_t *r = reg->refs.elts;
    for (size_t i = 0; i < reg->refs.nelts; i++) {
        if (fc_str_caseeq(&r[i].name, name))
            return (int64_t) i;
    }
    r = fc_array_push(&reg->refs);
    if (r == NULL)
        return FC_ERROR;
    r->name = *name;
    r->file = cf ? cf->dir_file : NULL;
    r->line = cf ? cf->dir_line : 0;
    return (int64_t) (reg->refs.nelts - 1);
}

static int
var_bind_prefix(fc_var_registry_t *reg, fc_var_ref_t *ref)
{
    fc_var_t *v = reg->defined.elts;
    for (size_t i = 0; i < reg->defined.nelts; i++) {
        if (!(v[i].flags & FC_VAR_PREFIX) || ref->name.len < v[i].name.len ||
            fc_strncasecmp(ref->name.data, v[i].name.data, v[i].name.len) != 0)
            continue;
        fc_str_t *rest = fc_palloc(reg->refs.pool, sizeof(fc_str_t));
        if (rest == NULL)
            return FC_ERROR;
        rest->data = ref->name.data + v[i].name.len;
        rest->len = ref->name.len - v[i].name.len;
        ref->get = v[i].get;
        ref->data = (uintptr_t) rest;
        ref->flags = v[i].flags;
        return FC_OK;
    }
    return FC_DECLINED;
}

int
fc_var_resolve(fc_var_registry_t *reg, fc_log_t *log)
{
    int rc = FC_OK;
    fc_var_ref_t *r = reg->refs.elts;
    for (size_t i = 0; i < reg->refs.nelts; i++) {
        fc_var_t *v = var_find(reg, &r[i].name);
        if (v && v->get) {
            r[i].get = v->get;
            r[i].data = v->data;
            r[i].flags = v->flags;
            continue;
        }
        int prc = var_bind_prefix(reg, &r[i]);
        if (prc == FC_OK)
            continue;
        if (prc == FC_ERROR)
            return FC_ERROR;
        fc_log_error(FC_LOG_EMERG, log, 0, "unknown \"%.*s\" variable in %s:%u",
                     (int) r[i].name.len, r[i].name.data, r[i].file ? r[i].file : "?",
                     r[i].line);
        rc = FC_ERROR;
    }
    reg->resolved = 1;
    return rc;
}

size_t
fc_var_count(const fc_var_registry_t *reg)
{
    return reg->refs.nelts;
}

fc_var_value_t *
fc_var_get(fc_var_registry_t *reg, fc_var_value_t *values, void *r, size_t i)
{
    static const unsigned char empty[1] = {0};
    fc_var_value_t *v = &values[i];
    if (v->valid && !v->no_cacheable)
        return v;
    fc_var_ref_t *ref = &((fc_var_ref_t *) reg->refs.elts)[i];
    memset(v, 0, sizeof(*v));
    if (ref->get == NULL || ref->get(r, v, ref->data) != FC_OK || !v->valid) {
        v->data = empty;
        v->len = 0;
        v->valid = 1;
        v->not_found = 1;
    }
    if (ref->flags & FC_VAR_NOCACHEABLE)
        v->no_cacheable = 1;
    return v;
}

/* ---- complex values ---- */

static int
var_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int
cv_push(fc_array_t *parts, unsigned type, const unsigned char *p, size_t len, size_t index)
{
    if (len == 0 && type == 0)
        return FC_OK;
    fc_cv_part_t *part = fc_array_push(parts);
    if (part == NULL)
        return FC_ERROR;
    part->type = type;
    part->lit.data = (unsigned char *) p;
    part->lit.len = len;
    part->index = index;
    return FC_OK;
}

/* Parses the variable at p ("$name", "${name}", "$1"); returns the bytes consumed or 0. */
static size_t
cv_variable(fc_conf_t *cf, fc_var_registry_t *reg, fc_array_t *parts, const unsigned char *p,
            const unsigned char *end)
{
    const unsigned char *q = p + 1;
    int braced = q < end && *q == '{';
    if (braced)
        q++;
    if (q < end && *q >= '1' && *q <= '9' && !braced) {
        return cv_push(parts, 2, NULL, 0, (size_t) (*q - '0')) == FC_OK ? 2 : 0;
    }
    const unsigned char *name = q;
    while (q < end && var_name_char(*q))
        q++;
    if (q == name || (braced && (q == end || *q != '}'))) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid variable name in \"%.*s\"",
                          (int) (end - p), p);
        return 0;
    }
    fc_str_t n = {(size_t) (q - name), (unsigned char *) name};
    int64_t index = fc_var_index(reg, cf, &n);
    if (index < 0 || cv_push(parts, 1, NULL, 0, (size_t) index) != FC_OK)
        return 0;
    return (size_t) (q - p) + (braced ? 1 : 0);
}

int
fc_cv_compile(fc_conf_t *cf, fc_var_registry_t *reg, const fc_str_t *text, fc_cv_t *cv)
{
    memset(cv, 0, sizeof(*cv));
    cv->text = *text;
    fc_array_t parts;
    if (fc_array_init(&parts, cf->pool, 4, sizeof(fc_cv_part_t)) != FC_OK)
        return FC_ERROR;
    const unsigned char *p = text->data, *end = text->data + text->len, *lit = p;
    while (p < end) {
        if (*p != '$' || p + 1 == end) {
            p++;
            continue;
        }
        if (cv_push(&parts, 0, lit, (size_t) (p - lit), 0) != FC_OK)
            return FC_ERROR;
        size_t used = cv_variable(cf, reg, &parts, p, end);
        if (used == 0)
            return FC_ERROR;
        cv->has_vars = 1;
        p += used;
        lit = p;
    }
    if (!cv->has_vars)
        return FC_OK;
    if (cv_push(&parts, 0, lit, (size_t) (p - lit), 0) != FC_OK)
        return FC_ERROR;
    cv->parts = parts.elts;
    cv->nparts = parts.nelts;
    return FC_OK;
}

int
fc_cv_eval(const fc_cv_t *cv, fc_var_registry_t *reg, fc_var_value_t *values, void *r,
           fc_pool_t *pool, const fc_captures_t *caps, fc_str_t *out)
{
    return fc_cv_eval_escape(cv, reg, values, r, pool, caps, NULL, out);
}

static const unsigned char cv_hex[] = "0123456789ABCDEF";

int
fc_cv_eval_escape(const fc_cv_t *cv, fc_var_registry_t *reg, fc_var_value_t *values, void *r,
                  fc_pool_t *pool, const fc_captures_t *caps, int (*escape)(unsigned char c),
                  fc_str_t *out)
{
    if (!cv->has_vars) {
        *out = cv->text;
        return FC_OK;
    }
    /*
     * Each part is read once: a no-cacheable variable ($msec) could change
     * length between a sizing pass and a copying pass.
     */
    fc_str_t local[16];
    fc_str_t *seg = cv->nparts <= fc_nelems(local) ? local
                                                   : fc_palloc(pool, cv->nparts * sizeof(fc_str_t));
    if (seg == NULL)
        return FC_ERROR;
    size_t len = 0;
    for (size_t i = 0; i < cv->nparts; i++) {
        const fc_cv_part_t *part = &cv->parts[i];
        if (part->type == 0) {
            seg[i] = part->lit;
        } else if (part->type == 1) {
            fc_var_value_t *v = fc_var_get(reg, values, r, part->index);
            seg[i].data = (unsigned char *) v->data;
            seg[i].len = v->len;
        } else {
            seg[i] = fc_captures_get(caps, (int) part->index);
            for (size_t k = 0; escape && k < seg[i].len; k++)
                len += escape(seg[i].data[k]) ? 2 : 0;
        }
        len += seg[i].len;
    }
    unsigned char *d = fc_pnalloc(pool, len + 1);
    if (d == NULL)
        return FC_ERROR;
    out->data = d;
    for (size_t i = 0; i < cv->nparts; i++) {
        if (escape == NULL || cv->parts[i].type != 2) {
            if (seg[i].len)
                memcpy(d, seg[i].data, seg[i].len);
            d += seg[i].len;
            continue;
        }
        for (size_t k = 0; k < seg[i].len; k++) {
            unsigned char c = seg[i].data[k];
            if (escape(c)) {
                *d++ = '%';
                *d++ = cv_hex[c >> 4];
                *d++ = cv_hex[c & 0xf];
            } else {
                *d++ = c;
            }
        }
    }
    out->len = len;
    *d = '\0';
    return FC_OK;
}
