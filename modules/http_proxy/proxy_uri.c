/*
 * proxy_uri.c: the proxy module's pure string work, kept apart so that
 * t/unit/check_http_proxy_uri.c can test it without a request: splitting a
 * proxy_pass URL, nginx's URI replacement rule, escaping a decoded path for
 * the request line, and proxy_redirect's prefix replacement.
 */
#include "proxy.h"

int
proxy_url_parse(const fc_str_t *url, proxy_url_t *pu, const char **err)
{
    static const unsigned char http[] = "http://", https[] = "https://";
    memset(pu, 0, sizeof(*pu));
    size_t skip = 7;
    if (url->len >= 8 && fc_strncasecmp(url->data, https, 8) == 0) {
        pu->ssl = 1;
        skip = 8;
    } else if (url->len < 7 || fc_strncasecmp(url->data, http, 7) != 0) {
        *err = "invalid URL prefix";
        return FC_ERROR;
    }
    unsigned char *p = url->data + skip, *end = url->data + url->len;
    unsigned char *auth_end;
    if (end - p >= 5 && memcmp(p, "unix:", 5) == 0) {
        /* "unix:/path" then an optional ":/uri" */
        auth_end = memchr(p + 5, ':', (size_t) (end - p - 5));
        pu->authority.data = p;
        pu->authority.len = (size_t) ((auth_end ? auth_end : end) - p);
        if (auth_end)
            auth_end++; /* the colon only separates */
        pu->is_unix = 1;
        fc_str_set(&pu->host_header, "localhost");
    } else {
        auth_end = memchr(p, '/', (size_t) (end - p));
        unsigned char *q = memchr(p, '?', (size_t) (end - p));
        if (q && (auth_end == NULL || q < auth_end)) {
            *err = "invalid URL"; /* a query right after the host has no path to belong to */
            return FC_ERROR;
        }
        pu->authority.data = p;
        pu->authority.len = (size_t) ((auth_end ? auth_end : end) - p);
    }
    if (pu->authority.len == (pu->is_unix ? 5 : 0)) {
        *err = "no host";
        return FC_ERROR;
    }
    if (auth_end && auth_end < end) {
        pu->uri.data = auth_end; /* even a lone "/" */
        pu->uri.len = (size_t) (end - auth_end);
        pu->has_uri = 1;
    }
    if (pu->is_unix)
        return FC_OK;
    /* The port: after the last ':' that is not inside [v6]. */
    fc_str_t a = pu->authority;
    unsigned char *rb = memchr(a.data, ']', a.len);
    unsigned char *from = rb ? rb : a.data;
    unsigned char *colon = NULL;
    for (unsigned char *s = from; s < a.data + a.len; s++)
        if (*s == ':')
            colon = s;
    pu->host_header = a;
    if (pu->ssl)
        fc_str_set(&pu->port, "443");
    else
        fc_str_set(&pu->port, "80");
    if (colon) {
        fc_str_t port = {(size_t) (a.data + a.len - colon - 1), colon + 1};
        int64_t n = fc_atoi(port.data, port.len);
        if (n < 1 || n > 65535) {
            *err = "invalid port";
            return FC_ERROR;
        }
        pu->port = port;
        pu->has_port = 1;
        if (n == (pu->ssl ? 443 : 80))
            pu->host_header.len = (size_t) (colon - a.data);
    }
    return FC_OK;
}

size_t
proxy_uri_escaped_len(const unsigned char *p, size_t n)
{
    size_t len = n;
    for (size_t i = 0; i < n; i++)
        if (fc_http_uri_escapes(p[i]))
            len += 2;
    return len;
}

unsigned char *
proxy_uri_escape(unsigned char *dst, const unsigned char *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        if (fc_http_uri_escapes(p[i])) {
            *dst++ = '%';
            *dst++ = (unsigned char) hex[p[i] >> 4];
            *dst++ = (unsigned char) hex[p[i] & 0xf];
        } else {
            *dst++ = p[i];
        }
    }
    return dst;
}

int
proxy_uri_unchanged(const fc_str_t *unparsed, const fc_str_t *uri, const fc_str_t *args,
                    int merge_slashes, unsigned char *scratch)
{
    if (unparsed->len == 0 || unparsed->data[0] != '/')
        return 0; /* absolute-form or "*": rebuild from the parts */
    unsigned char *q = memchr(unparsed->data, '?', unparsed->len);
    fc_str_t path = {q ? (size_t) (q - unparsed->data) : unparsed->len, unparsed->data};
    fc_str_t qargs = {q ? unparsed->len - path.len - 1 : 0, q ? q + 1 : NULL};
    if (!fc_str_eq(&qargs, args))
        return 0;
    if (fc_str_eq(&path, uri))
        return 1;
    fc_str_t norm = {0, scratch};
    if (fc_http_normalize_path(&path, &norm, merge_slashes) != FC_OK)
        return 0;
    return fc_str_eq(&norm, uri);
}

/* The URI part of the request line from a path (escaped) and args. */
static int
uri_compose(fc_pool_t *pool, const fc_str_t *prefix, const unsigned char *path, size_t n,
            const fc_str_t *args, fc_str_t *out)
{
    size_t len = prefix->len + proxy_uri_escaped_len(path, n) + (args->len ? args->len + 1 : 0);
    unsigned char *p = fc_pnalloc(pool, len ? len : 1);
    if (p == NULL)
        return FC_ERROR;
    out->data = p;
    if (prefix->len)
        memcpy(p, prefix->data, prefix->len);
    p = proxy_uri_escape(p + prefix->len, path, n);
    if (args->len) {
        *p++ = '?';
        memcpy(p, args->data, args->len);
        p += args->len;
    }
    out->len = (size_t) (p - out->data);
    return FC_OK;
}

int
proxy_uri_build(fc_pool_t *pool, const proxy_uri_in_t *in, fc_str_t *out)
{
    static const fc_str_t none = fc_null_string;
    if (in->vars && in->has_uri) {
        *out = in->replacement; /* evaluated with variables: sent as is */
        return FC_OK;
    }
    if (in->has_uri && in->valid_location && in->uri.len >= in->location.len &&
        memcmp(in->uri.data, in->location.data, in->location.len) == 0) {
        size_t skip = in->location.len;
        return uri_compose(pool, &in->replacement, in->uri.data + skip, in->uri.len - skip,
                           &in->args, out);
    }
    if (!in->has_uri && in->unchanged) {
        *out = in->unparsed;
        return FC_OK;
    }
    /* A rewritten URI (or a location that no longer matches): the URI as it is now. */
    return uri_compose(pool, &none, in->uri.data, in->uri.len, &in->args, out);
}

int
proxy_redirect_prefix(fc_pool_t *pool, const fc_str_t *value, size_t off, const fc_str_t *from,
                      const fc_str_t *to, fc_str_t *out)
{
    if (off > value->len || value->len - off < from->len ||
        fc_strncasecmp(value->data + off, from->data, from->len) != 0)
        return FC_DECLINED;
    size_t rest = value->len - off - from->len;
    size_t len = off + to->len + rest;
    unsigned char *p = fc_pnalloc(pool, len ? len : 1);
    if (p == NULL)
        return FC_ERROR;
    memcpy(p, value->data, off);
    if (to->len)
        memcpy(p + off, to->data, to->len);
    if (rest)
        memcpy(p + off + to->len, value->data + off + from->len, rest);
    out->data = p;
    out->len = len;
    return FC_OK;
}
