/* inet.h: socket addresses, "host:port" parsing (resolved at config time) and CIDR. */
#ifndef FC_INET_H
#define FC_INET_H

#include <netinet/in.h>
#include <sys/un.h>

#define FC_SOCKADDR_STRLEN (sizeof("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535"))

typedef struct {
    struct sockaddr_storage sa;
    socklen_t socklen;
    fc_str_t name; /* printable "127.0.0.1:80", "[::1]:80", "unix:/p" (pool memory, NUL-ended) */
} fc_addr_t;

typedef struct {
    fc_str_t url;      /* the text as written */
    fc_str_t host;     /* host part without brackets, or the unix path */
    in_port_t port;    /* host byte order; 0 if none given */
    unsigned no_port:1;
    unsigned wildcard:1; /* "*:80" or a bare port: listen on INADDR_ANY */
    unsigned is_unix:1;
    fc_addr_t *addrs;    /* every address the host resolved to */
    size_t naddrs;
} fc_url_t;

#define FC_URL_LISTEN 1     /* a bare port or "*" means every address */
#define FC_URL_NO_RESOLVE 2 /* numeric hosts only: for run time, where DNS would block */

/*
 * Parses "host[:port]", "[v6][:port]", "*:port", "port" (with FC_URL_LISTEN)
 * or "unix:/path", resolving names with getaddrinfo (config time only: it
 * blocks; FC_URL_NO_RESOLVE refuses names instead). default_port is used
 * when none is given; if it is 0 a port is required. Returns FC_OK, or
 * FC_ERROR with *err set to a static reason.
 */
int fc_url_parse(fc_pool_t *pool, fc_url_t *u, const fc_str_t *text, in_port_t default_port,
                 int flags, const char **err);

/* Writes "addr:port" (or just addr when with_port is 0); returns the length. */
size_t fc_sockaddr_ntop(const struct sockaddr *sa, socklen_t len, char *buf, size_t size,
                        int with_port);
/* Fills a->name from a->sa in pool memory. */
int fc_addr_set_name(fc_pool_t *pool, fc_addr_t *a);
/* Port of an inet/inet6 address in host order, 0 for others. */
in_port_t fc_sockaddr_port(const struct sockaddr *sa);
/* 1 if both addresses (and ports) are equal. */
int fc_sockaddr_eq(const struct sockaddr *a, socklen_t alen, const struct sockaddr *b,
                   socklen_t blen, int cmp_port);

typedef struct {
    int family; /* AF_INET, AF_INET6, or AF_UNSPEC for "all" */
    unsigned char addr[16];
    unsigned char mask[16];
} fc_cidr_t;

/* Parses "all", "A.B.C.D[/N]", "v6[/N]" or "unix:"; FC_DECLINED if host bits were set. */
int fc_cidr_parse(const fc_str_t *text, fc_cidr_t *cidr);
/* 1 if the address falls inside the block. */
int fc_cidr_match(const fc_cidr_t *cidr, const struct sockaddr *sa);

#endif
