/*
 * map.h: the engine of `map SOURCE $variable { ... }`, shared by the stream
 * and http map modules. As nginx's map: exact keys (case-insensitive); with
 * `hostnames`, the longest "*.example.com" / ".example.com" match, then the
 * longest "www.example.*" match; then ~regex / ~*regex in the order written
 * (their captures feed $1..$9 of the value); then `default` ("" when there
 * is none). Values are complex values. The result is cached per session or
 * request unless the map is `volatile`. A key that is a keyword is written
 * with a backslash ("\default", "\hostnames").
 */
#ifndef FC_MAP_H
#define FC_MAP_H

#include "core/conf.h"
#include "core/var.h"

typedef struct fc_map_s fc_map_t;

/* What a layer gives the engine. */
typedef struct {
    /* Evaluates a complex value for the layer's session/request r. */
    int (*eval)(void *r, const fc_cv_t *cv, fc_str_t *out);
    /* Where a regex key's match leaves its captures (for $1..$9). */
    fc_captures_t *(*captures)(void *r);
    /*
     * Optional (NULL: fc_regex_compile): compiles a regex key, logging its
     * errors; may make its named groups variables and return them in *names
     * (fc_var_t: name, data = group number) or NULL.
     */
    fc_regex_t *(*regex)(fc_conf_t *cf, const fc_str_t *pattern, int caseless, fc_array_t **names);
    /* Optional: called after a regex key matched, with that key's names (may be NULL). */
    void (*matched)(void *r, fc_array_t *names);
} fc_map_layer_t;

/*
 * The `map` directive: cf's arguments are "map", SOURCE, "$variable"; parses
 * the block's body and defines the variable in reg. layer must outlive the
 * configuration (a static).
 */
char *fc_map_block(fc_conf_t *cf, fc_var_registry_t *reg, const fc_map_layer_t *layer);

/* ---- the parts of fc_map_block (unit tests use them directly) ---- */

/* A new empty map with its source compiled; NULL on error (logged). */
fc_map_t *fc_map_create(fc_conf_t *cf, fc_var_registry_t *reg, const fc_map_layer_t *layer,
                        const fc_str_t *source);
/* One line of the body (n = 1 or 2 words): a keyword or "KEY VALUE". As a directive handler. */
char *fc_map_add(fc_conf_t *cf, fc_map_t *map, const fc_str_t *args, size_t n);
/* Ends the body: orders the keys for lookup, reports duplicates. FC_OK or FC_ERROR (logged). */
int fc_map_finish(fc_conf_t *cf, fc_map_t *map);
/* What fc_map_find found. */
typedef struct {
    const fc_cv_t *value; /* the key's value, else the default's, else an empty one */
    fc_array_t *names;    /* a regex key's named groups (fc_var_t: name, group), or NULL */
    unsigned regex : 1;   /* a regex key matched: its captures are in caps */
} fc_map_result_t;

/* Looks a source string up. FC_OK, or FC_ERROR if running a regex failed. */
int fc_map_find(const fc_map_t *map, const fc_str_t *value, fc_captures_t *caps,
                fc_map_result_t *res);
/* 1 if the map is `volatile`. */
int fc_map_volatile(const fc_map_t *map);

#endif
