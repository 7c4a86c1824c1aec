/*
 * cache_policy.c: what an upstream response's own fields say about caching
 * it, read as nginx reads them: X-Accel-Expires decides alone when present
 * and a number ("@T" absolute, "0" never; anything else is ignored), else
 * Cache-Control (no-cache, no-store and private forbid; s-maxage wins over
 * max-age; 0 or a malformed number forbids), else Expires (a date in the
 * past forbids). Set-Cookie and "Vary: *" forbid; a Vary longer
 * than nginx's 128 bytes too. proxy_ignore_headers turns each off.
 */
#include "cache.h"

static int
policy_name_is(const fc_http_field_t *f, const char *name)
{
    size_t n = strlen(name);
    return f->hash && f->name.len == n &&
           fc_strncasecmp(f->name.data, (const unsigned char *) name, n) == 0;
}

/* Finds "token" (case-insensitive) in v; the position after it, or NULL. */
static const unsigned char *
policy_find(const fc_str_t *v, const char *token)
{
    size_t n = strlen(token);
    for (size_t i = 0; i + n <= v->len; i++)
        if (fc_strncasecmp(v->data + i, (const unsigned char *) token, n) == 0)
            return v->data + i + n;
    return NULL;
}

/*
 * A number as nginx reads one: digits up to the end, or, in a Cache-Control
 * list (`in_list`), up to ',', ';' or ' '; -1 when anything else comes first
 * ("60abc", "\"60\"") or, outside a list, when there is no digit.
 */
static int64_t
policy_number(const unsigned char *p, const unsigned char *end, int in_list)
{
    int64_t n = 0;
    if (!in_list && p >= end)
        return -1;
    for (; p < end && !(in_list && (*p == ',' || *p == ';' || *p == ' ')); p++) {
        if (*p < '0' || *p > '9')
            return -1;
        if (n <= INT32_MAX)
            n = n * 10 + (*p - '0');
    }
    return fc_min(n, (int64_t) INT32_MAX);
}

static void
policy_cache_control(const fc_str_t *v, time_t now, cache_policy_t *out)
{
    const unsigned char *end = v->data + v->len;
    if (policy_find(v, "no-cache") || policy_find(v, "no-store") || policy_find(v, "private")) {
        out->no_store = 1;
        return;
    }
    const unsigned char *p = policy_find(v, "s-maxage=");
    if (p == NULL)
        p = policy_find(v, "max-age=");
    if (p) {
        int64_t n = policy_number(p, end, 1);
        if (n <= 0) { /* 0, or not a number */
            out->no_store = 1;
            return;
        }
        out->valid_sec = now + (time_t) n;
    }
    /*
     * RFC 5861, as nginx: stale-while-revalidate=N lets an expired entry
     * answer for N seconds while it is updated (and on errors), and
     * stale-if-error=N on errors. A malformed number forbids storing.
     */
    const unsigned char *swr = policy_find(v, "stale-while-revalidate=");
    const unsigned char *sie = policy_find(v, "stale-if-error=");
    int64_t nswr = swr ? policy_number(swr, end, 1) : 0,
            nsie = sie ? policy_number(sie, end, 1) : 0;
    if (nswr < 0 || nsie < 0) {
        out->no_store = 1;
        return;
    }
    if (swr)
        out->updating_sec = out->error_sec = (uint32_t) nswr;
    if (sie)
        out->error_sec = (uint32_t) nsie;
}

/* 1 when the field decided (a valid number); a malformed one is ignored, as nginx. */
static int
policy_x_accel_expires(const fc_str_t *v, time_t now, cache_policy_t *out)
{
    const unsigned char *p = v->data, *end = v->data + v->len;
    int absolute = p < end && *p == '@';
    int64_t n = policy_number(p + absolute, end, 0);
    if (n < 0 || (absolute && n == 0))
        return 0;
    if (absolute)
        out->valid_sec = (time_t) n;
    else if (n == 0)
        out->no_store = 1;
    else
        out->valid_sec = now + (time_t) n;
    return 1;
}

void
cache_policy_read(const fc_array_t *fields, unsigned ignore, time_t now, cache_policy_t *out)
{
    const fc_http_field_t *f = fields->elts;
    const fc_http_field_t *x_accel = NULL, *cc = NULL, *expires = NULL;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < fields->nelts; i++) {
        if (!(ignore & CACHE_IGN_X_ACCEL_EXPIRES) && policy_name_is(&f[i], "x-accel-expires"))
            x_accel = &f[i];
        else if (!(ignore & CACHE_IGN_CACHE_CONTROL) && policy_name_is(&f[i], "cache-control"))
            cc = &f[i]; /* several lines: each is read below */
        else if (!(ignore & CACHE_IGN_EXPIRES) && policy_name_is(&f[i], "expires"))
            expires = &f[i];
        else if (!(ignore & CACHE_IGN_SET_COOKIE) && policy_name_is(&f[i], "set-cookie"))
            out->no_store = 1;
        else if (!(ignore & CACHE_IGN_VARY) && policy_name_is(&f[i], "vary"))
            out->vary = f[i].value;
    }
    if (out->vary.len) {
        fc_str_t *v = &out->vary;
        if (v->len > CACHE_VARY_MAX || (v->len == 1 && v->data[0] == '*') || policy_find(v, "*"))
            out->vary_star = 1;
    }
    if (x_accel && policy_x_accel_expires(&x_accel->value, now, out))
        return;
    if (cc) {
        for (size_t i = 0; i < fields->nelts; i++)
            if (policy_name_is(&f[i], "cache-control"))
                policy_cache_control(&f[i].value, now, out);
        if (out->valid_sec || out->no_store)
            return;
    }
    if (expires) {
        time_t t = fc_time_parse_http(expires->value.data, expires->value.len);
        if (t == -1 || t <= now)
            out->no_store = 1;
        else
            out->valid_sec = t;
    }
}
