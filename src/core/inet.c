/* inet.c: address parsing, formatting and CIDR matching. */
#include "core/fc_core.h"
#include "core/inet.h"

#include <arpa/inet.h>
#include <netdb.h>

in_port_t
fc_sockaddr_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *) sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *) sa)->sin6_port);
    return 0;
}

size_t
fc_sockaddr_ntop(const struct sockaddr *sa, socklen_t len, char *buf, size_t size, int with_port)
{
    char text[INET6_ADDRSTRLEN];
    int n = 0;
    switch (sa->sa_family) {
    case AF_INET: {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *) sa;
        inet_ntop(AF_INET, &s4->sin_addr, text, sizeof(text));
        n = with_port ? snprintf(buf, size, "%s:%u", text, ntohs(s4->sin_port))
                      : snprintf(buf, size, "%s", text);
        break;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *) sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, text, sizeof(text));
        n = with_port ? snprintf(buf, size, "[%s]:%u", text, ntohs(s6->sin6_port))
                      : snprintf(buf, size, "%s", text);
        break;
    }
    case AF_UNIX: {
        const struct sockaddr_un *su = (const struct sockaddr_un *) sa;
        if (len > offsetof(struct sockaddr_un, sun_path) && su->sun_path[0])
            n = snprintf(buf, size, "unix:%s", su->sun_path);
        else
            n = snprintf(buf, size, "unix:");
        break;
    }
    default:
        n = snprintf(buf, size, "?");
    }
    if (n < 0)
        return 0;
    return fc_min((size_t) n, size ? size - 1 : 0);
}

int
fc_addr_set_name(fc_pool_t *pool, fc_addr_t *a)
{
    char buf[FC_SOCKADDR_STRLEN + 108];
    size_t n = fc_sockaddr_ntop((struct sockaddr *) &a->sa, a->socklen, buf, sizeof(buf), 1);
    fc_str_t s = {n, (unsigned char *) buf};
    return fc_str_dup(pool, &a->name, &s);
}

int
fc_sockaddr_eq(const struct sockaddr *a, socklen_t alen, const struct sockaddr *b,
               socklen_t blen, int cmp_port)
{
    if (a->sa_family != b->sa_family)
        return 0;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const void *) a, *y = (const void *) b;
        return x->sin_addr.s_addr == y->sin_addr.s_addr && (!cmp_port || x->sin_port == y->sin_port);
    }
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *) a, *y = (const void *) b;
        return memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0 &&
               (!cmp_port || x->sin6_port == y->sin6_port);
    }
    return alen == blen && memcmp(a, b, alen) == 0;
}

static int
url_parse_unix(fc_pool_t *pool, fc_url_t *u, const fc_str_t *text, const char **err)
{
    u->is_unix = 1;
    u->host.data = text->data + 5;
    u->host.len = text->len - 5;
    struct sockaddr_un su = {.sun_family = AF_UNIX};
    if (u->host.len == 0 || u->host.len >= sizeof(su.sun_path)) {
        *err = "invalid unix socket path";
        return FC_ERROR;
    }
    memcpy(su.sun_path, u->host.data, u->host.len);
    u->addrs = fc_pcalloc(pool, sizeof(fc_addr_t));
    if (u->addrs == NULL)
        return FC_ERROR;
    memcpy(&u->addrs->sa, &su, sizeof(su));
    u->addrs->socklen = sizeof(su);
    u->naddrs = 1;
    return fc_addr_set_name(pool, u->addrs);
}

static int
url_split(fc_url_t *u, const fc_str_t *text, in_port_t default_port, int listen, const char **err)
{
    const unsigned char *p = text->data, *end = text->data + text->len, *colon = NULL;
    if (p < end && *p == '[') {
        const unsigned char *rb = memchr(p, ']', text->len);
        if (rb == NULL) {
            *err = "invalid IPv6 address";
            return FC_ERROR;
        }
        u->host.data = (unsigned char *) p + 1;
        u->host.len = (size_t) (rb - p - 1);
        if (rb + 1 < end) {
            if (rb[1] != ':') {
                *err = "invalid host";
                return FC_ERROR;
            }
            colon = rb + 1;
        }
    } else {
        for (const unsigned char *q = end; q > p; q--) {
            if (q[-1] == ':') {
                colon = q - 1;
                break;
            }
        }
        u->host.data = (unsigned char *) p;
        u->host.len = (size_t) ((colon ? colon : end) - p);
    }
    int64_t port = -1;
    if (colon) {
        port = fc_atoi(colon + 1, (size_t) (end - colon - 1));
    } else if (listen && fc_atoi(p, text->len) >= 0) {
        /* "listen 80": a bare port means every address. */
        port = fc_atoi(p, text->len);
        u->host.len = 0;
    }
    if (colon || (listen && port >= 0)) {
        if (port < 1 || port > 65535) {
            *err = "invalid port";
            return FC_ERROR;
        }
        u->port = (in_port_t) port;
    } else if (default_port) {
        u->port = default_port;
        u->no_port = 1;
    } else {
        *err = "no port";
        return FC_ERROR;
    }
    if (u->host.len == 0 || (u->host.len == 1 && u->host.data[0] == '*')) {
        if (!listen) {
            *err = "no host";
            return FC_ERROR;
        }
        u->wildcard = 1;
    }
    return FC_OK;
}

static int
url_resolve(fc_pool_t *pool, fc_url_t *u, int flags, const char **err)
{
    char host[256];
    if (u->host.len >= sizeof(host)) {
        *err = "host name is too long";
        return FC_ERROR;
    }
    memcpy(host, u->host.data, u->host.len);
    host[u->host.len] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
    if (flags & FC_URL_NO_RESOLVE)
        hints.ai_flags = AI_NUMERICHOST;
    if (getaddrinfo(host, NULL, &hints, &res) != 0) {
        *err = flags & FC_URL_NO_RESOLVE ? "no resolver defined to resolve" : "host not found";
        return FC_ERROR;
    }
    size_t n = 0;
    for (ai = res; ai; ai = ai->ai_next)
        n++;
    u->addrs = fc_pcalloc(pool, n * sizeof(fc_addr_t));
    if (u->addrs == NULL) {
        freeaddrinfo(res);
        return FC_ERROR;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        fc_addr_t *a = &u->addrs[u->naddrs];
        /* Skip duplicates that getaddrinfo reports once per protocol. */
        int dup = 0;
        for (size_t i = 0; i < u->naddrs; i++)
            dup |= fc_sockaddr_eq((struct sockaddr *) &u->addrs[i].sa, u->addrs[i].socklen,
                                  ai->ai_addr, ai->ai_addrlen, 0);
        if (dup)
            continue;
        memcpy(&a->sa, ai->ai_addr, ai->ai_addrlen);
        a->socklen = ai->ai_addrlen;
        if (ai->ai_family == AF_INET)
            ((struct sockaddr_in *) &a->sa)->sin_port = htons(u->port);
        else
            ((struct sockaddr_in6 *) &a->sa)->sin6_port = htons(u->port);
        if (fc_addr_set_name(pool, a) != FC_OK) {
            freeaddrinfo(res);
            return FC_ERROR;
        }
        u->naddrs++;
    }
    freeaddrinfo(res);
    if (u->naddrs == 0) {
        *err = "host not found";
        return FC_ERROR;
    }
    return FC_OK;
}

int
fc_url_parse(fc_pool_t *pool, fc_url_t *u, const fc_str_t *text, in_port_t default_port,
             int flags, const char **err)
{
    int listen = flags & FC_URL_LISTEN;
    memset(u, 0, sizeof(*u));
    u->url = *text;
    *err = "invalid address";
    if (text->len >= 5 && memcmp(text->data, "unix:", 5) == 0)
        return url_parse_unix(pool, u, text, err);
    if (url_split(u, text, default_port, listen, err) != FC_OK)
        return FC_ERROR;
    if (u->wildcard) {
        u->addrs = fc_pcalloc(pool, sizeof(fc_addr_t));
        if (u->addrs == NULL)
            return FC_ERROR;
        struct sockaddr_in *s4 = (struct sockaddr_in *) &u->addrs->sa;
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_ANY);
        s4->sin_port = htons(u->port);
        u->addrs->socklen = sizeof(*s4);
        u->naddrs = 1;
        return fc_addr_set_name(pool, u->addrs);
    }
    return url_resolve(pool, u, flags, err);
}

static int
cidr_parse_addr(const char *host, fc_cidr_t *cidr)
{
    if (inet_pton(AF_INET, host, cidr->addr) == 1) {
        cidr->family = AF_INET;
        return 32;
    }
    if (inet_pton(AF_INET6, host, cidr->addr) == 1) {
        cidr->family = AF_INET6;
        return 128;
    }
    return FC_ERROR;
}

int
fc_cidr_parse(const fc_str_t *text, fc_cidr_t *cidr)
{
    memset(cidr, 0, sizeof(*cidr));
    if (fc_str_eq_c(text, "all")) {
        cidr->family = AF_UNSPEC;
        return FC_OK;
    }
    if (fc_str_eq_c(text, "unix:")) {
        cidr->family = AF_UNIX;
        return FC_OK;
    }
    char host[64];
    const unsigned char *slash = memchr(text->data, '/', text->len);
    size_t hlen = slash ? (size_t) (slash - text->data) : text->len;
    if (hlen == 0 || hlen >= sizeof(host))
        return FC_ERROR;
    memcpy(host, text->data, hlen);
    host[hlen] = '\0';
    int maxbits = cidr_parse_addr(host, cidr);
    if (maxbits < 0)
        return FC_ERROR;
    int64_t bits = maxbits;
    if (slash) {
        bits = fc_atoi(slash + 1, text->len - hlen - 1);
        if (bits < 0 || bits > maxbits)
            return FC_ERROR;
    }
    int rc = FC_OK;
    for (int i = 0; i < maxbits / 8; i++) {
        int b = (int) bits - i * 8;
        cidr->mask[i] = b >= 8 ? 0xff : b <= 0 ? 0 : (unsigned char) (0xff << (8 - b));
        if (cidr->addr[i] & ~cidr->mask[i])
            rc = FC_DECLINED; /* nginx warns "low address bits ... are meaningless" */
        cidr->addr[i] &= cidr->mask[i];
    }
    return rc;
}

int
fc_cidr_match(const fc_cidr_t *cidr, const struct sockaddr *sa)
{
    const unsigned char *a;
    int n;
    if (cidr->family == AF_UNSPEC)
        return 1;
    if (sa->sa_family != cidr->family)
        return 0;
    if (sa->sa_family == AF_UNIX)
        return 1;
    if (sa->sa_family == AF_INET) {
        a = (const unsigned char *) &((const struct sockaddr_in *) sa)->sin_addr;
        n = 4;
    } else {
        a = (const unsigned char *) &((const struct sockaddr_in6 *) sa)->sin6_addr;
        n = 16;
    }
    for (int i = 0; i < n; i++) {
        if ((a[i] & cidr->mask[i]) != cidr->addr[i])
            return 0;
    }
    return 1;
}
