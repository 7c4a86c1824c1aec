/* str.c: counted strings, number/size/time parsing, small hash functions. */
#include "core/fc_core.h"

#include <zlib.h>

int
fc_str_eq_c(const fc_str_t *a, const char *s)
{
    size_t n = strlen(s);
    return a->len == n && (n == 0 || memcmp(a->data, s, n) == 0); /* memcmp(NULL, .., 0) is UB */
}

/*
 * Lower-cases the ASCII capitals among eight bytes at once: a byte gets 0x20
 * when its low seven bits are >= 'A' and <= 'Z' and its top bit is clear.
 */
static inline uint64_t
str_lower8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t low7 = x & ~high;
    uint64_t ge_a = low7 + ones * (0x80 - 'A');
    uint64_t gt_z = low7 + ones * (0x80 - 'Z' - 1);
    uint64_t upper = ge_a & ~gt_z & ~x & high;
    return x | (upper >> 2);
}

/* 1 if the eight bytes at a and b are equal ignoring ASCII case. */
static inline int
str_caseeq8(const unsigned char *a, const unsigned char *b)
{
    uint64_t x, y;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    return x == y || str_lower8(x) == str_lower8(y);
}

int
fc_strncasecmp(const unsigned char *a, const unsigned char *b, size_t n)
{
    size_t i = 0;
    /*
     * Eight bytes a step (header names), then the last eight bytes, which may
     * overlap bytes already found equal. A difference is located bytewise.
     */
    while (n - i >= 8 && str_caseeq8(a + i, b + i))
        i += 8;
    if (i < n && n >= 8 && n - i < 8 && str_caseeq8(a + n - 8, b + n - 8))
        return 0;
    for (; i < n; i++) {
        if (a[i] == b[i])
            continue;
        int d = (int) fc_tolower(a[i]) - (int) fc_tolower(b[i]);
        if (d != 0)
            return d;
    }
    return 0;
}

int
fc_str_dup(fc_pool_t *pool, fc_str_t *dst, const fc_str_t *src)
{
    unsigned char *p = fc_pnalloc(pool, src->len + 1);
    if (p == NULL)
        return FC_ERROR;
    if (src->len)
        memcpy(p, src->data, src->len);
    p[src->len] = '\0';
    dst->data = p;
    dst->len = src->len;
    return FC_OK;
}

char *
fc_str_cstr(fc_pool_t *pool, const fc_str_t *s)
{
    fc_str_t d;
    if (fc_str_dup(pool, &d, s) != FC_OK)
        return NULL;
    return (char *) d.data;
}

int64_t
fc_atoi(const unsigned char *p, size_t n)
{
    int64_t v = 0;
    if (n == 0)
        return FC_ERROR;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return FC_ERROR;
        if (v > (INT64_MAX - (p[i] - '0')) / 10)
            return FC_ERROR;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

int64_t
fc_parse_size(const fc_str_t *s)
{
    int64_t scale = 1;
    size_t n = s->len;
    if (n == 0)
        return FC_ERROR;
    switch (s->data[n - 1]) {
    case 'k':
    case 'K':
        scale = 1024;
        n--;
        break;
    case 'm':
    case 'M':
        scale = 1024 * 1024;
        n--;
        break;
    case 'g':
    case 'G':
        scale = 1024 * 1024 * 1024;
        n--;
        break;
    default:
        break;
    }
    int64_t v = fc_atoi(s->data, n);
    if (v < 0 || v > INT64_MAX / scale)
        return FC_ERROR;
    return v * scale;
}

/* A unit's size in ms and its rank (units must come most significant first). */
static int64_t
str_time_unit(unsigned char c, const unsigned char **p, const unsigned char *end, int *rank)
{
    static const struct {
        unsigned char c;
        int64_t ms;
    } units[] = {{'y', 365LL * 86400000}, {'M', 30LL * 86400000}, {'w', 7LL * 86400000},
                 {'d', 86400000},          {'h', 3600000},          {'m', 60000},
                 {'s', 1000}};
    if (c == 'm' && *p < end && **p == 's') {
        (*p)++;
        *rank = (int) fc_nelems(units);
        return 1;
    }
    for (size_t i = 0; i < fc_nelems(units); i++) {
        if (units[i].c == c) {
            *rank = (int) i;
            return units[i].ms;
        }
    }
    return FC_ERROR;
}

int64_t
fc_parse_time(const fc_str_t *s, int64_t default_unit_ms)
{
    const unsigned char *p = s->data, *end = s->data + s->len;
    int64_t total = 0;
    int any = 0, last_rank = -1;

    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        if (p == end)
            break;
        int64_t v = 0;
        const unsigned char *start = p;
        while (p < end && *p >= '0' && *p <= '9') {
            if (v > (INT64_MAX - 9) / 10)
                return FC_ERROR;
            v = v * 10 + (*p++ - '0');
        }
        if (p == start)
            return FC_ERROR;
        int64_t unit = default_unit_ms;
        int rank;
        if (p < end && *p != ' ') {
            unit = str_time_unit(*p++, &p, end, &rank);
            if (unit == FC_ERROR)
                return FC_ERROR;
        } else {
            /* nginx: a trailing number without a unit is in the default unit ("1h 30"). */
            rank = default_unit_ms == 1 ? 7 : 6;
            if (p != end && any)
                return FC_ERROR;
        }
        if (rank <= last_rank)
            return FC_ERROR; /* "1s 1m", "1m 1m": units must decrease */
        last_rank = rank;
        if (v > INT64_MAX / unit || total > INT64_MAX - v * unit)
            return FC_ERROR;
        total += v * unit;
        any = 1;
    }
    return any ? total : FC_ERROR;
}

uint32_t
fc_hash_fnv1a(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

uint32_t
fc_crc32(const unsigned char *p, size_t n)
{
    return fc_crc32_update(0, p, n);
}

uint32_t
fc_crc32_update(uint32_t crc, const unsigned char *p, size_t n)
{
    /* zlib's table-driven CRC-32 (IEEE); chaining gives crc32(a || b). */
    while (n > 0) {
        uInt chunk = (uInt) fc_min(n, (size_t) UINT_MAX);
        crc = (uint32_t) crc32((uLong) crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc;
}
