/*
 * gzip.h: what the files of the http_gzip module share (nothing outside
 * modules/http_gzip/ includes it, except its unit test for gzip_rules.c).
 *
 *   gzip_conf.c    directives, create/merge, $gzip_ratio, the module
 *   gzip_filter.c  the header filter (whether to compress) and the body
 *                  filter (a streaming zlib deflate into gzip_buffers)
 *   gzip_rules.c   pure decisions: Accept-Encoding, gzip_types, gzip_proxied,
 *                  the ratio's format
 *
 * docs/internals/gzip.md explains the design.
 */
#ifndef FC_HTTP_GZIP_H
#define FC_HTTP_GZIP_H

#include "http/http.h"
#include "http/mime_list.h"

#include <time.h>

extern fc_module_t fc_http_gzip_module;

/* gzip_proxied, as nginx's bits (0: unset). */
#define GZIP_PROXIED_OFF 0x0002
#define GZIP_PROXIED_EXPIRED 0x0004
#define GZIP_PROXIED_NO_CACHE 0x0008
#define GZIP_PROXIED_NO_STORE 0x0010
#define GZIP_PROXIED_PRIVATE 0x0020
#define GZIP_PROXIED_NO_LM 0x0040
#define GZIP_PROXIED_NO_ETAG 0x0080
#define GZIP_PROXIED_AUTH 0x0100
#define GZIP_PROXIED_ANY 0x0200

typedef struct {
    int enable;       /* gzip: off */
    int64_t level;    /* gzip_comp_level: 1 */
    int64_t bufs_num; /* gzip_buffers: 32 4k (128k / page size pages) */
    size_t bufs_size;
    size_t min_length;   /* gzip_min_length: 20 */
    fc_http_mime_list_t types; /* gzip_types */
    unsigned proxied;    /* gzip_proxied: GZIP_PROXIED_* (0: unset) */
    int vary;            /* gzip_vary: off */
    int http_version;    /* gzip_http_version: 1001 */
    fc_array_t *disable; /* gzip_disable regexes: fc_regex_t *; FC_UNSET_PTR: inherit */
    int disable_msie6;   /* gzip_disable msie6 */
    size_t wbits;        /* gzip_window (undocumented in nginx): 15 */
    size_t memlevel;     /* gzip_hash (undocumented in nginx): 8 */
    size_t postpone;     /* postpone_gzipping: accepted, no effect */
    int no_buffer;       /* gzip_no_buffer: accepted, no effect */
    int static_files;    /* gzip_static: accepted, no effect (no static files) */
} gzip_loc_conf_t;

/* ---- gzip_rules.c (pure: no request, no I/O) ---------------------------------------- */

/*
 * 1 if an Accept-Encoding value accepts gzip as nginx reads it: a "gzip"
 * token (any case) that starts the value or follows ',' or ' ', then either
 * nothing, ',' or a q-value that is not 0 (and not over 1, at most three
 * decimals). Anything else, "gzip;q=0" included, is 0.
 */
int gzip_accepts(const fc_str_t *ae);

/*
 * 1 if a Cache-Control value has the directive `name` as an element of its
 * ','/';'-separated list (any case), followed by nothing but spaces.
 */
int gzip_cc_has(const fc_str_t *value, const char *name);

/* What gzip_proxied looks at in a proxied request's response. */
typedef struct {
    const fc_str_t *expires; /* the Expires field, NULL if none */
    const fc_str_t *date;    /* the Date field, NULL if none (then `now`) */
    time_t now;
    unsigned authorization : 1; /* the request has Authorization */
    unsigned cache_control : 1; /* the response has Cache-Control... */
    unsigned cc_no_cache : 1;   /* ... saying no-cache */
    unsigned cc_no_store : 1;
    unsigned cc_private : 1;
    unsigned last_modified : 1; /* the response has Last-Modified */
    unsigned etag : 1;          /* the response has ETag */
} gzip_proxied_facts_t;

/* 1 if gzip_proxied `mask` lets a request with Via be compressed (nginx's order of tests). */
int gzip_proxied_allows(unsigned mask, const gzip_proxied_facts_t *f);

/*
 * $gzip_ratio: zin / zout as nginx prints it ("3.27", the third decimal
 * rounded half up) into buf (>= 32 bytes); returns the length.
 */
size_t gzip_ratio_format(uint64_t zin, uint64_t zout, char *buf, size_t size);

/* ---- gzip_filter.c ---------------------------------------------------------------- */

/* Registers the header and body filters (postconfiguration). */
int gzip_filter_init(fc_conf_t *cf);
/* The ratio of the request's compression: FC_OK with zin and zout, FC_DECLINED if none ended. */
int gzip_filter_totals(fc_http_request_t *r, uint64_t *zin, uint64_t *zout);

#endif
