/* str.h: counted strings (not NUL-terminated unless said) and number parsing. */
#ifndef FC_STR_H
#define FC_STR_H

typedef struct {
    size_t len;
    unsigned char *data;
} fc_str_t;

#define fc_string(s) {sizeof(s) - 1, (unsigned char *) (s)}
#define fc_null_string {0, NULL}
#define fc_str_set(str, text)                                                                      \
    do {                                                                                           \
        (str)->len = sizeof(text) - 1;                                                             \
        (str)->data = (unsigned char *) (text);                                                    \
    } while (0)

/* Lower-case ASCII helpers that ignore the locale. */
static inline unsigned char
fc_tolower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char) (c | 0x20) : c;
}

/* 1 if the two counted strings are equal (case-sensitive). */
static inline int
fc_str_eq(const fc_str_t *a, const fc_str_t *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* 1 if a counted string equals a C string literal / NUL-terminated string. */
int fc_str_eq_c(const fc_str_t *a, const char *s);
/* Case-insensitive compare of n bytes, like strncasecmp but locale-free. */
int fc_strncasecmp(const unsigned char *a, const unsigned char *b, size_t n);
/*
 * 1 if the n bytes at a and b are equal ignoring ASCII case. Inline, and the
 * first byte is compared before the call: header names are matched against
 * lists of known ones, and most candidates of the right length differ at once.
 */
static inline int
fc_strn_caseeq(const unsigned char *a, const unsigned char *b, size_t n)
{
    return n == 0 || (fc_tolower(a[0]) == fc_tolower(b[0]) && fc_strncasecmp(a, b, n) == 0);
}

/* Case-insensitive comparison of counted strings; 1 when equal. */
static inline int
fc_str_caseeq(const fc_str_t *a, const fc_str_t *b)
{
    return a->len == b->len && fc_strn_caseeq(a->data, b->data, a->len);
}

/* Copies s into pool memory with a trailing NUL (not counted in len). */
int fc_str_dup(fc_pool_t *pool, fc_str_t *dst, const fc_str_t *src);
/* Pool-allocated NUL-terminated copy of a counted string; NULL on failure. */
char *fc_str_cstr(fc_pool_t *pool, const fc_str_t *s);

/* Non-negative decimal integer, FC_ERROR if not all digits or overflow. */
int64_t fc_atoi(const unsigned char *p, size_t n);
/* Size with optional k/K/m/M/g/G suffix, FC_ERROR if invalid. */
int64_t fc_parse_size(const fc_str_t *s);
/*
 * Time with nginx's units (ms s m h d w M y, combinable: "1h 30m"); a bare
 * number is in `default_unit_ms` units. Returns milliseconds or FC_ERROR.
 */
int64_t fc_parse_time(const fc_str_t *s, int64_t default_unit_ms);

/* A hash function for short keys (FNV-1a 32-bit), and a CRC32 for hashing peers. */
uint32_t fc_hash_fnv1a(const unsigned char *p, size_t n);
uint32_t fc_crc32(const unsigned char *p, size_t n);
/* Continues a CRC-32: fc_crc32_update(fc_crc32(a), b) == fc_crc32(a || b); start with 0. */
uint32_t fc_crc32_update(uint32_t crc, const unsigned char *p, size_t n);

#endif
