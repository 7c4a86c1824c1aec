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

/* The first occurrence of a literal in s (case-sensitive), NULL if none. */
static const unsigned char *
gzip_find(const unsigned char *s, const unsigned char *end, const char *lit)
{
    size_t n = strlen(lit);
    for (; end - s >= (ptrdiff_t) n; s++)
        if (memcmp(s, lit, n) == 0)
            return s;
    return NULL;
}

int
gzip_msie6(const fc_str_t *ua)
{
    const unsigned char *s = ua->data, *end = ua->data + ua->len;
    if (gzip_find(s, end, "Opera"))
        return 0;
    const unsigned char *m = gzip_find(s, end, "MSIE ");
    if (m == NULL || m + 7 >= end || m[6] != '.')
        return 0;
    if (m[5] == '4' || m[5] == '5')
        return 1;
    return m[5] == '6' && gzip_find(m + 8, end, "SV1") == NULL;
}

size_t
gzip_type_len(const fc_str_t *ct)
{
    const unsigned char *p = ct->data, *end = ct->data + ct->len;
    for (; p < end; p++) {
        if (*p != ';')
            continue;
        const unsigned char *semi = p;
        while (p + 1 < end && p[1] == ' ')
            p++;
        if (end - (p + 1) >= 8 && fc_strncasecmp(p + 1, (const unsigned char *) "charset=", 8) == 0)
            return (size_t) (semi - ct->data);
    }
    return ct->len;
}

int
gzip_type_listed(const fc_array_t *types, const unsigned char *type, size_t len)
{
    const fc_str_t *t = types->elts;
    for (size_t i = 0; i < types->nelts; i++)
        if (t[i].len == len && fc_strncasecmp(t[i].data, type, len) == 0)
            return 1;
    return 0;
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

/* ---- HTTP dates --------------------------------------------------------------------- */

static int
gzip_digits(const unsigned char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* "Jan".."Dec" -> 0..11, -1 if none. */
static int
gzip_month(const unsigned char *p)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int m = 0; m < 12; m++)
        if (memcmp(p, months + 3 * m, 3) == 0)
            return m;
    return -1;
}

/* Days since 1970-01-01 of a Gregorian date (month 0..11; years from 1970 on). */
static int64_t
gzip_days(int64_t year, int month, int day)
{
    /* Counted in 400-year eras from March 1, so the leap day ends the year. */
    int64_t m = month + 1, y = year - (m <= 2);
    int64_t era = y / 400, yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

typedef struct {
    int year, month, day, hour, min, sec;
} gzip_tm_t;

/* "hh:mm:ss" */
static int
gzip_clock(const unsigned char *p, gzip_tm_t *tm)
{
    if (p[2] != ':' || p[5] != ':')
        return FC_ERROR;
    tm->hour = gzip_digits(p, 2);
    tm->min = gzip_digits(p + 3, 2);
    tm->sec = gzip_digits(p + 6, 2);
    return tm->hour < 0 || tm->min < 0 || tm->sec < 0 ? FC_ERROR : FC_OK;
}

/*
 * The fields after the day name: "06 Nov 1994 hh:mm:ss", "06-Nov-94
 * hh:mm:ss" or, for asctime (isoc), "Nov  6 hh:mm:ss 1994".
 */
static int
gzip_date_fields(const unsigned char *p, const unsigned char *end, int isoc, gzip_tm_t *tm)
{
    if (end - p < 18)
        return FC_ERROR;
    if (isoc) {
        if ((tm->month = gzip_month(p)) < 0 || p[3] != ' ')
            return FC_ERROR;
        p += 4;
        if (*p == ' ')
            p++;
        int one = p[1] == ' ';
        if (end - p < (one ? 15 : 16) || (tm->day = gzip_digits(p, one ? 1 : 2)) < 0)
            return FC_ERROR;
        p += one ? 2 : 3;
        if (gzip_clock(p, tm) != FC_OK || p[8] != ' ')
            return FC_ERROR;
        tm->year = gzip_digits(p + 9, 4);
        return tm->year < 0 ? FC_ERROR : FC_OK;
    }
    if ((tm->day = gzip_digits(p, 2)) < 0 || (p[2] != ' ' && p[2] != '-'))
        return FC_ERROR;
    int rfc850 = p[2] == '-';
    if ((tm->month = gzip_month(p + 3)) < 0 || p[6] != p[2])
        return FC_ERROR;
    p += 7;
    tm->year = gzip_digits(p, rfc850 ? 2 : 4);
    if (tm->year < 0)
        return FC_ERROR;
    if (rfc850)
        tm->year += tm->year < 70 ? 2000 : 1900;
    p += rfc850 ? 2 : 4;
    if (end - p < 9 || *p != ' ')
        return FC_ERROR;
    return gzip_clock(p + 1, tm);
}

time_t
gzip_parse_http_time(const unsigned char *p, size_t len)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const unsigned char *end = p + len;
    /* The day name ends at ',' (RFC 1123, RFC 850) or ' ' (asctime). */
    while (p < end && *p != ',' && *p != ' ')
        p++;
    if (p == end)
        return -1;
    int isoc = *p == ' ';
    for (p++; p < end && *p == ' ';)
        p++;
    gzip_tm_t tm;
    if (gzip_date_fields(p, end, isoc, &tm) != FC_OK)
        return -1;
    if (tm.hour > 23 || tm.min > 59 || tm.sec > 59 || tm.day < 1 || tm.day > mdays[tm.month])
        return -1;
    int leap = (tm.year % 4 == 0 && tm.year % 100 != 0) || tm.year % 400 == 0;
    if (tm.month == 1 && tm.day == 29 && !leap)
        return -1;
    int64_t t =
        gzip_days(tm.year, tm.month, tm.day) * 86400 + tm.hour * 3600 + tm.min * 60 + tm.sec;
    return t < 0 ? -1 : (time_t) t;
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
        time_t expires = gzip_parse_http_time(f->expires->data, f->expires->len);
        time_t date = f->date ? gzip_parse_http_time(f->date->data, f->date->len) : f->now;
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
