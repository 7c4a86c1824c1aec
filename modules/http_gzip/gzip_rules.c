/*
 * gzip_rules.c: the pure decisions of the gzip filter, each nginx's rule
 * as nginx applies it (quirks included: they are what clients and caches
 * in front of nginx already cope with). Unit-tested in
 * t/unit/check_http_gzip.c.
 */
#include "gzip.h"

/* nginx's q-value for "gzip;q=...": 0 (refused or invalid) .. 100. */
static unsigned
gzip_quantity(const unsigned char *p, const unsigned char *last)
{
    unsigned char c = *p++;
    if (c != '0' && c != '1')
        return 0;
    unsigned q = (unsigned) (c - '0') * 100;
    if (p == last)
        return q;
    c = *p++;
    if (c == ',' || c == ' ')
        return q;
    if (c != '.')
        return 0;
    /*
     * nginx sums the decimals rather than weighing them: only "is it zero"
     * and "is it over 1" matter, and both come out right.
     */
    unsigned n = 0;
    while (p < last) {
        c = *p++;
        if (c == ',' || c == ' ')
            break;
        if (c < '0' || c > '9')
            return 0;
        q += (unsigned) (c - '0');
        n++;
    }
    return q > 100 || n > 3 ? 0 : q;
}

/* The first "gzip" (any case) at or after p that starts a token, NULL if none. */
static const unsigned char *
gzip_find_token(const unsigned char *start, const unsigned char *last)
{
    for (const unsigned char *p = start; last - p >= 4; p++) {
        if (fc_strncasecmp(p, (const unsigned char *) "gzip", 4) != 0)
            continue;
        if (p == start || p[-1] == ',' || p[-1] == ' ')
            return p;
    }
    return NULL;
}

int
gzip_accepts(const fc_str_t *ae)
{
    if (ae->len < 4)
        return 0;
    if (ae->len >= 5 && memcmp(ae->data, "gzip,", 5) == 0)
        return 1; /* the usual "gzip, deflate" */
    const unsigned char *last = ae->data + ae->len;
    const unsigned char *p = gzip_find_token(ae->data, last);
    if (p == NULL)
        return 0;
    for (p += 4; p < last;) {
        unsigned char c = *p++;
        if (c == ',')
            return 1;
        if (c == ';')
            break;
        if (c != ' ')
            return 0;
    }
    if (p == last)
        return 1;
    for (;;) { /* after ';': spaces, then 'q' */
        if (p == last)
            return 1;
        unsigned char c = *p++;
        if (c == 'q' || c == 'Q')
            break;
        if (c != ' ')
            return 0;
    }
    if (last - p < 2 || *p++ != '=')
        return 0;
    return gzip_quantity(p, last) != 0;
}

int
gzip_cc_has(const fc_str_t *value, const char *name)
{
    size_t n = strlen(name);
    const unsigned char *p = value->data, *end = value->data + value->len;
    while (p < end) {
        if ((size_t) (end - p) >= n && fc_strncasecmp(p, (const unsigned char *) name, n) == 0) {
            const unsigned char *q = p + n;
            while (q < end && *q == ' ')
                q++;
            if (q == end || *q == ',')
                return 1;
        }
        /* the next element: after ';' or ',' and spaces */
        while (p < end) {
            unsigned char c = *p++;
            if (c == ';' || c == ',')
                break;
        }
        while (p < end && *p == ' ')
            p++;
    }
    return 0;
}

/* ---- gzip_proxied, $gzip_ratio ---------------------------------------------------------- */

int
gzip_proxied_allows(unsigned p, const gzip_proxied_facts_t *f)
{
    if (p & GZIP_PROXIED_OFF)
        return 0;
    if (p & GZIP_PROXIED_ANY)
        return 1;
    if (f->authorization && (p & GZIP_PROXIED_AUTH))
        return 1;
    if (f->expires) {
        if (!(p & GZIP_PROXIED_EXPIRED))
            return 0;
        time_t expires = fc_time_parse_http(f->expires->data, f->expires->len);
        time_t date = f->date ? fc_time_parse_http(f->date->data, f->date->len) : f->now;
        return expires != -1 && date != -1 && expires < date;
    }
    if (f->cache_control) {
        return ((p & GZIP_PROXIED_NO_CACHE) && f->cc_no_cache) ||
               ((p & GZIP_PROXIED_NO_STORE) && f->cc_no_store) ||
               ((p & GZIP_PROXIED_PRIVATE) && f->cc_private);
    }
    /*
     * nginx's last two tests only refuse: a mask without no_last_modified and
     * no_etag (e.g. "expired" alone) lets a response with neither Expires
     * nor Cache-Control through.
     */
    if ((p & GZIP_PROXIED_NO_LM) && f->last_modified)
        return 0;
    if ((p & GZIP_PROXIED_NO_ETAG) && f->etag)
        return 0;
    return 1;
}

size_t
gzip_ratio_format(uint64_t zin, uint64_t zout, char *buf, size_t size)
{
    uint64_t whole = zin / zout, frac = zin * 100 / zout % 100;
    if (zin * 1000 / zout % 10 > 4 && ++frac > 99) { /* 2.125 -> 2.13 */
        whole++;
        frac = 0;
    }
    int n = snprintf(buf, size, "%" PRIu64 ".%02" PRIu64, whole, frac);
    return n > 0 ? fc_min((size_t) n, size - 1) : 0;
}
