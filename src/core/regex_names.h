/*
 * regex_names.h: named groups of a regex, (?<name>...), as variables, for
 * every layer (http locations, server_name and map; stream map). Each name
 * is one variable of the layer's registry, read by the layer's getter from
 * the captures of the last regex that matched and that regex's names.
 */
#ifndef FC_REGEX_NAMES_H
#define FC_REGEX_NAMES_H

#include "core/fc_core.h"
#include "core/conf.h"
#include "core/regex.h"
#include "core/var.h"

/*
 * Compiles pattern for a directive of cf (an error is logged with file:line),
 * defines a variable for each named group in reg (getter get, given the name)
 * and returns the names in *out (fc_var_t: name, data = group number), or
 * NULL when there are none. NULL on error.
 */
fc_regex_t *fc_regex_compile_named(fc_conf_t *cf, fc_var_registry_t *reg, const fc_str_t *pattern,
                                   int caseless, fc_var_get_pt get, fc_array_t **out);
/* A getter's work: the group called name among names, from caps (not found if none). */
int fc_regex_named_value(const fc_array_t *names, const fc_captures_t *caps, const fc_str_t *name,
                         fc_var_value_t *v);

#endif
