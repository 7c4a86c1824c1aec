/*
 * var.h: variables and "complex values" (strings with $variables), compiled
 * once at config load and evaluated per session/request. The machinery is
 * layer-agnostic: each layer keeps a registry in its main conf and passes
 * its session/request object as `r` to the getters.
 */
#ifndef FC_VAR_H
#define FC_VAR_H

#include "core/regex.h"

typedef struct fc_var_value_s {
    size_t len;
    const unsigned char *data;
    unsigned valid:1;
    unsigned not_found:1;
    unsigned no_cacheable:1;
} fc_var_value_t;

/* Fills v (data may point into r's pool); FC_OK, or FC_ERROR. Set not_found for "". */
typedef int (*fc_var_get_pt)(void *r, fc_var_value_t *v, uintptr_t data);

#define FC_VAR_CHANGEABLE 1  /* set/map may (re)define it */
#define FC_VAR_NOCACHEABLE 2 /* evaluated on every use */
#define FC_VAR_PREFIX 4      /* name is a prefix ("arg_"); getter gets the rest as data */

typedef struct {
    const char *name;
    fc_var_get_pt get;
    uintptr_t data;
    unsigned flags;
} fc_var_def_t;

typedef struct {
    fc_str_t name;
    fc_var_get_pt get;
    uintptr_t data;
    unsigned flags;
} fc_var_t;

/* A use of a variable by name, bound to its definition at the end of the config. */
typedef struct {
    fc_str_t name;
    const char *file;
    unsigned line;
    fc_var_get_pt get;
    uintptr_t data;
    unsigned flags;
} fc_var_ref_t;

typedef struct fc_var_registry_s {
    fc_array_t defined; /* fc_var_t */
    fc_array_t refs;    /* fc_var_ref_t: the indexed variables */
    unsigned resolved:1;
} fc_var_registry_t;

int fc_var_registry_init(fc_var_registry_t *reg, fc_pool_t *pool);
/* Defines builtins from a NULL-terminated table. */
int fc_var_define_table(fc_var_registry_t *reg, const fc_var_def_t *defs);
/*
 * Defines a variable; a second definition of a CHANGEABLE one returns the
 * first, of a fixed one fails ("duplicate"): NULL.
 */
fc_var_t *fc_var_define(fc_var_registry_t *reg, const fc_str_t *name, unsigned flags);
/* The index of a variable used by name (recorded with file:line for later errors). */
int64_t fc_var_index(fc_var_registry_t *reg, fc_conf_t *cf, const fc_str_t *name);
/* Binds every use to a definition; logs `unknown "name" variable` at its file:line. */
int fc_var_resolve(fc_var_registry_t *reg, fc_log_t *log);
/* Number of indexed variables (size of a per-request value array). */
size_t fc_var_count(const fc_var_registry_t *reg);
/* The value of indexed variable i for r, cached in values[i] unless no-cacheable. */
fc_var_value_t *fc_var_get(fc_var_registry_t *reg, fc_var_value_t *values, void *r, size_t i);

/* ---- complex values ---- */
typedef struct {
    unsigned type; /* 0 literal, 1 variable, 2 capture */
    fc_str_t lit;
    size_t index; /* variable index or capture number */
} fc_cv_part_t;

typedef struct {
    fc_str_t text; /* as written */
    fc_cv_part_t *parts;
    size_t nparts;
    unsigned has_vars:1;
} fc_cv_t;

/* Compiles "text with $var ${var} $1" into parts; errors are logged with file:line. */
int fc_cv_compile(fc_conf_t *cf, fc_var_registry_t *reg, const fc_str_t *text, fc_cv_t *cv);
/*
 * Evaluates a complex value into out (pool memory, or the literal itself when
 * there are no variables). caps gives $1..$9, may be NULL.
 */
int fc_cv_eval(const fc_cv_t *cv, fc_var_registry_t *reg, fc_var_value_t *values, void *r,
               fc_pool_t *pool, const fc_captures_t *caps, fc_str_t *out);
/*
 * fc_cv_eval, with regex captures written %XX-escaped wherever escape(c) is
 * true (rewrite escapes captures in query arguments as nginx does).
 */
int fc_cv_eval_escape(const fc_cv_t *cv, fc_var_registry_t *reg, fc_var_value_t *values, void *r,
                      fc_pool_t *pool, const fc_captures_t *caps, int (*escape)(unsigned char c),
                      fc_str_t *out);

/* Getter helper: a value pointing at a string. */
static inline void
fc_var_set_str(fc_var_value_t *v, const unsigned char *data, size_t len)
{
    v->data = data;
    v->len = len;
    v->valid = 1;
    v->not_found = 0;
    v->no_cacheable = 0;
}

#endif
