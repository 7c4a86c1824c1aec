/* regex.h: PCRE2 (8-bit) with JIT where available; one match-data per regex per worker. */
#ifndef FC_REGEX_H
#define FC_REGEX_H

#define FC_REGEX_MAX_CAPTURES 10 /* $0..$9 */

typedef struct fc_regex_s fc_regex_t;

/* The captures of the last successful match (subject is not copied). */
typedef struct {
    const unsigned char *subject;
    size_t ovector[2 * FC_REGEX_MAX_CAPTURES];
    int n; /* pairs set in ovector */
} fc_captures_t;

/*
 * Compiles pattern (caseless for "~*"); the code is freed with the pool.
 * NULL on error with a one-line reason in err.
 */
fc_regex_t *fc_regex_compile(fc_pool_t *pool, const fc_str_t *pattern, int caseless, char *err,
                             size_t errlen);
/* FC_OK on a match (captures filled when caps != NULL), FC_DECLINED if none, FC_ERROR. */
int fc_regex_exec(fc_regex_t *re, const fc_str_t *subject, fc_captures_t *caps);
/* Number of capturing groups in the pattern. */
int fc_regex_captures(const fc_regex_t *re);
/*
 * The pattern's name table: *count entries of *entry_size bytes, each the
 * group number (2 bytes, big-endian) then the NUL-terminated name.
 */
const unsigned char *fc_regex_name_table(const fc_regex_t *re, uint32_t *count,
                                         uint32_t *entry_size);
/* Capture i of a match as a string; empty if unset. */
fc_str_t fc_captures_get(const fc_captures_t *caps, int i);

#endif
