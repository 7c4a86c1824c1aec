/*
 * check_inet.c: addresses (src/core/inet.c): fc_url_parse for upstream and
 * listen forms, fc_sockaddr_ntop and friends, and CIDR blocks for
 * allow/deny (parsing, masks of every length, "all", "unix:", host bits).
 * Only numeric hosts and "localhost" are resolved, so no DNS is needed.
 */
#include <check.h>

#include "unit.h"
#include "unit_pool.h"
#include <arpa/inet.h>

#include "core/fc_core.h"
#include "core/inet.h"

static fc_str_t
str(const char *s)
{
    fc_str_t r = {strlen(s), (unsigned char *) s};
    return r;
}

static void
sin4(struct sockaddr_storage *ss, const char *ip, in_port_t port)
{
    struct sockaddr_in *s = (struct sockaddr_in *) ss;
    memset(ss, 0, sizeof(*ss));
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    ck_assert_int_eq(inet_pton(AF_INET, ip, &s->sin_addr), 1);
}

static void
sin6(struct sockaddr_storage *ss, const char *ip, in_port_t port)
{
    struct sockaddr_in6 *s = (struct sockaddr_in6 *) ss;
    memset(ss, 0, sizeof(*ss));
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    ck_assert_int_eq(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
}

/* ---- fc_url_parse ------------------------------------------------------------ */

static const struct {
    const char *text;
    in_port_t default_port;
    int listen;
    const char *err; /* NULL: accepted */
    const char *host;
    in_port_t port;
    int no_port, wildcard, is_unix;
    const char *name; /* the first address, printed */
} url_cases[] = {
    {"127.0.0.1:80", 0, 0, NULL, "127.0.0.1", 80, 0, 0, 0, "127.0.0.1:80"},
    {"10.1.2.3:65535", 0, 0, NULL, "10.1.2.3", 65535, 0, 0, 0, "10.1.2.3:65535"},
    {"127.0.0.1", 8080, 0, NULL, "127.0.0.1", 8080, 1, 0, 0, "127.0.0.1:8080"},
    {"127.0.0.1:81", 8080, 0, NULL, "127.0.0.1", 81, 0, 0, 0, "127.0.0.1:81"},
    {"[::1]:8080", 0, 0, NULL, "::1", 8080, 0, 0, 0, "[::1]:8080"},
    {"[::1]", 443, 0, NULL, "::1", 443, 1, 0, 0, "[::1]:443"},
    {"[2001:db8::5]:53", 0, 0, NULL, "2001:db8::5", 53, 0, 0, 0, "[2001:db8::5]:53"},
    {"[::ffff:10.0.0.1]:80", 0, 0, NULL, "::ffff:10.0.0.1", 80, 0, 0, 0, "[::ffff:10.0.0.1]:80"},
    {"127.0.0.1:80", 0, 1, NULL, "127.0.0.1", 80, 0, 0, 0, "127.0.0.1:80"},
    {"[::]:80", 0, 1, NULL, "::", 80, 0, 0, 0, "[::]:80"},
    /* listen: a bare port and "*:port" mean every address. */
    {"80", 0, 1, NULL, "", 80, 0, 1, 0, "0.0.0.0:80"},
    {"65535", 0, 1, NULL, "", 65535, 0, 1, 0, "0.0.0.0:65535"},
    {"*:80", 0, 1, NULL, "*", 80, 0, 1, 0, "0.0.0.0:80"},
    {":8000", 0, 1, NULL, "", 8000, 0, 1, 0, "0.0.0.0:8000"},
    /* unix sockets */
    {"unix:/tmp/fc.sock", 0, 0, NULL, "/tmp/fc.sock", 0, 0, 0, 1, "unix:/tmp/fc.sock"},
    {"unix:/run/a:b", 0, 1, NULL, "/run/a:b", 0, 0, 0, 1, "unix:/run/a:b"},
    {"unix:", 0, 0, "invalid unix socket path", NULL, 0, 0, 0, 0, NULL},
    {"unix:/0123456789012345678901234567890123456789012345678901234567890123456789012345678901"
     "23456789012345678901234567890123456789",
     0, 0, "invalid unix socket path", NULL, 0, 0, 0, 0, NULL},
    /* ports */
    {"127.0.0.1", 0, 0, "no port", NULL, 0, 0, 0, 0, NULL},
    {"[::1]", 0, 0, "no port", NULL, 0, 0, 0, 0, NULL},
    {"127.0.0.1:", 0, 0, "invalid port", NULL, 0, 0, 0, 0, NULL},
    {"127.0.0.1:0", 0, 0, "invalid port", NULL, 0, 0, 0, 0, NULL},
    {"127.0.0.1:65536", 0, 0, "invalid port", NULL, 0, 0, 0, 0, NULL},
    {"127.0.0.1:99999999999999999999", 0, 0, "invalid port", NULL, 0, 0, 0, 0, NULL},
    {"127.0.0.1:8o", 0, 0, "invalid port", NULL, 0, 0, 0, 0, NULL},
    {"127.0.0.1:-1", 0, 0, "invalid port", NULL, 0, 0, 0, 0, NULL},
    {"127.0.0.1:80", 0, 0, NULL, "127.0.0.1", 80, 0, 0, 0, "127.0.0.1:80"},
    {"[::1]:0", 0, 0, "invalid port", NULL, 0, 0, 0, 0, NULL},
    {"0", 0, 1, "invalid port", NULL, 0, 0, 0, 0, NULL},
    {"65536", 0, 1, "invalid port", NULL, 0, 0, 0, 0, NULL},
    {"*:0", 0, 1, "invalid port", NULL, 0, 0, 0, 0, NULL},
    /* hosts */
    {"*:80", 0, 0, "no host", NULL, 0, 0, 0, 0, NULL},
    {":80", 0, 0, "no host", NULL, 0, 0, 0, 0, NULL},
    {"[::1:80", 0, 0, "invalid IPv6 address", NULL, 0, 0, 0, 0, NULL},
    {"[::1]80", 0, 0, "invalid host", NULL, 0, 0, 0, 0, NULL},
    {"[::1]x:80", 0, 0, "invalid host", NULL, 0, 0, 0, 0, NULL},
};

START_TEST(test_url_parse)
{
    fc_url_t u;
    const char *err = NULL;
    fc_str_t text = str(url_cases[_i].text);
    int rc = fc_url_parse(pool, &u, &text, url_cases[_i].default_port, url_cases[_i].listen, &err);
    if (url_cases[_i].err) {
        ck_assert_msg(rc == FC_ERROR, "\"%s\" accepted", url_cases[_i].text);
        ck_assert_str_eq(err, url_cases[_i].err);
        return;
    }
    ck_assert_msg(rc == FC_OK, "\"%s\": %s", url_cases[_i].text, err);
    ck_assert(fc_str_eq(&u.url, &text));
    ck_assert_msg(fc_str_eq_c(&u.host, url_cases[_i].host), "host \"%.*s\", want \"%s\"",
                  (int) u.host.len, u.host.data, url_cases[_i].host);
    ck_assert_uint_eq(u.port, url_cases[_i].port);
    ck_assert_int_eq(u.no_port, url_cases[_i].no_port);
    ck_assert_int_eq(u.wildcard, url_cases[_i].wildcard);
    ck_assert_int_eq(u.is_unix, url_cases[_i].is_unix);
    ck_assert_uint_eq(u.naddrs, 1);
    ck_assert_str_eq((char *) u.addrs[0].name.data, url_cases[_i].name);
    ck_assert_uint_eq(u.addrs[0].name.len, strlen(url_cases[_i].name));
    const struct sockaddr *sa = (const struct sockaddr *) &u.addrs[0].sa;
    if (u.is_unix) {
        ck_assert_int_eq(sa->sa_family, AF_UNIX);
        ck_assert_str_eq(((const struct sockaddr_un *) sa)->sun_path, url_cases[_i].host);
    } else {
        ck_assert_uint_eq(fc_sockaddr_port(sa), url_cases[_i].port);
        ck_assert_uint_eq(u.addrs[0].socklen, sa->sa_family == AF_INET
                                                  ? sizeof(struct sockaddr_in)
                                                  : sizeof(struct sockaddr_in6));
    }
}
END_TEST

/* A name resolves to every address it has, each with the port, without duplicates. */
START_TEST(test_url_resolve_localhost)
{
    fc_url_t u;
    const char *err = NULL;
    fc_str_t text = fc_string("localhost:8080");
    ck_assert_msg(fc_url_parse(pool, &u, &text, 0, 0, &err) == FC_OK, "%s", err);
    ck_assert_str_eq((char *) fc_str_cstr(pool, &u.host), "localhost");
    ck_assert_uint_ge(u.naddrs, 1);
    int loopback4 = 0;
    for (size_t i = 0; i < u.naddrs; i++) {
        const struct sockaddr *sa = (const struct sockaddr *) &u.addrs[i].sa;
        ck_assert(sa->sa_family == AF_INET || sa->sa_family == AF_INET6);
        ck_assert_uint_eq(fc_sockaddr_port(sa), 8080);
        loopback4 |= strcmp((char *) u.addrs[i].name.data, "127.0.0.1:8080") == 0;
        for (size_t j = 0; j < i; j++)
            ck_assert(!fc_sockaddr_eq(sa, u.addrs[i].socklen,
                                      (const struct sockaddr *) &u.addrs[j].sa, u.addrs[j].socklen,
                                      1));
    }
    ck_assert(loopback4);
}
END_TEST

/* ---- formatting and comparing --------------------------------------------------- */

START_TEST(test_ntop)
{
    struct sockaddr_storage ss;
    char buf[FC_SOCKADDR_STRLEN + 108];
    const struct sockaddr *sa = (const struct sockaddr *) &ss;

    sin4(&ss, "192.168.10.200", 8080);
    ck_assert_uint_eq(fc_sockaddr_ntop(sa, sizeof(struct sockaddr_in), buf, sizeof(buf), 1), 19);
    ck_assert_str_eq(buf, "192.168.10.200:8080");
    ck_assert_uint_eq(fc_sockaddr_ntop(sa, sizeof(struct sockaddr_in), buf, sizeof(buf), 0), 14);
    ck_assert_str_eq(buf, "192.168.10.200");
    ck_assert_uint_eq(fc_sockaddr_port(sa), 8080);

    sin6(&ss, "2001:db8:0:0:0:0:0:1", 443);
    ck_assert_uint_eq(fc_sockaddr_ntop(sa, sizeof(struct sockaddr_in6), buf, sizeof(buf), 1), 17);
    ck_assert_str_eq(buf, "[2001:db8::1]:443");
    fc_sockaddr_ntop(sa, sizeof(struct sockaddr_in6), buf, sizeof(buf), 0);
    ck_assert_str_eq(buf, "2001:db8::1");
    ck_assert_uint_eq(fc_sockaddr_port(sa), 443);

    /* The longest form fits FC_SOCKADDR_STRLEN with its NUL. */
    sin6(&ss, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 65535);
    char exact[FC_SOCKADDR_STRLEN];
    size_t n = fc_sockaddr_ntop(sa, sizeof(struct sockaddr_in6), exact, sizeof(exact), 1);
    ck_assert_uint_eq(n, strlen(exact));
    ck_assert_str_eq(exact, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");

    sin6(&ss, "::ffff:1.2.3.4", 80);
    fc_sockaddr_ntop(sa, sizeof(struct sockaddr_in6), buf, sizeof(buf), 1);
    ck_assert_str_eq(buf, "[::ffff:1.2.3.4]:80");

    struct sockaddr_un *su = (struct sockaddr_un *) &ss;
    memset(&ss, 0, sizeof(ss));
    su->sun_family = AF_UNIX;
    strcpy(su->sun_path, "/var/run/fc.sock");
    ck_assert_uint_eq(fc_sockaddr_ntop(sa, sizeof(*su), buf, sizeof(buf), 1), 21);
    ck_assert_str_eq(buf, "unix:/var/run/fc.sock");
    ck_assert_uint_eq(fc_sockaddr_port(sa), 0);
    /* An unnamed unix peer (socklen covers the family only). */
    fc_sockaddr_ntop(sa, offsetof(struct sockaddr_un, sun_path), buf, sizeof(buf), 1);
    ck_assert_str_eq(buf, "unix:");
    su->sun_path[0] = '\0'; /* abstract */
    fc_sockaddr_ntop(sa, sizeof(*su), buf, sizeof(buf), 1);
    ck_assert_str_eq(buf, "unix:");

    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_PACKET;
    fc_sockaddr_ntop(sa, sizeof(ss), buf, sizeof(buf), 1);
    ck_assert_str_eq(buf, "?");
}
END_TEST

/* A short buffer truncates (NUL-terminated) and the length returned is what was written. */
START_TEST(test_ntop_truncates)
{
    struct sockaddr_storage ss;
    const struct sockaddr *sa = (const struct sockaddr *) &ss;
    char buf[8];
    sin4(&ss, "192.168.10.200", 8080);
    memset(buf, 'x', sizeof(buf));
    ck_assert_uint_eq(fc_sockaddr_ntop(sa, sizeof(struct sockaddr_in), buf, sizeof(buf), 1), 7);
    ck_assert_str_eq(buf, "192.168");
    ck_assert_uint_eq(fc_sockaddr_ntop(sa, sizeof(struct sockaddr_in), buf, 1, 1), 0);
    ck_assert_int_eq(buf[0], '\0');
}
END_TEST

START_TEST(test_sockaddr_eq)
{
    struct sockaddr_storage a, b;
    const struct sockaddr *x = (const struct sockaddr *) &a, *y = (const struct sockaddr *) &b;
    socklen_t l4 = sizeof(struct sockaddr_in), l6 = sizeof(struct sockaddr_in6);
    sin4(&a, "10.0.0.1", 80);
    sin4(&b, "10.0.0.1", 81);
    ck_assert(!fc_sockaddr_eq(x, l4, y, l4, 1));
    ck_assert(fc_sockaddr_eq(x, l4, y, l4, 0));
    sin4(&b, "10.0.0.2", 80);
    ck_assert(!fc_sockaddr_eq(x, l4, y, l4, 0));
    sin6(&b, "::ffff:10.0.0.1", 80); /* a mapped address is another family */
    ck_assert(!fc_sockaddr_eq(x, l4, y, l6, 0));
    sin6(&a, "::1", 80);
    sin6(&b, "::1", 80);
    ck_assert(fc_sockaddr_eq(x, l6, y, l6, 1));
    ((struct sockaddr_in6 *) &b)->sin6_port = htons(90);
    ck_assert(!fc_sockaddr_eq(x, l6, y, l6, 1));
    ck_assert(fc_sockaddr_eq(x, l6, y, l6, 0));

    fc_addr_t addr = {0};
    sin6(&addr.sa, "fe80::1", 8443);
    addr.socklen = l6;
    ck_assert_int_eq(fc_addr_set_name(pool, &addr), FC_OK);
    ck_assert_str_eq((char *) addr.name.data, "[fe80::1]:8443");
    ck_assert_uint_eq(addr.name.len, 14);
}
END_TEST

/* ---- CIDR ---------------------------------------------------------------------- */

static const struct {
    const char *cidr;
    int rc;
    const char *match[4];   /* addresses inside (NULL-ended) */
    const char *nomatch[4]; /* addresses outside */
} cidr_cases[] = {
    {"all", FC_OK, {"1.2.3.4", "::1", "255.255.255.255", NULL}, {NULL}},
    {"10.0.0.0/8",
     FC_OK,
     {"10.0.0.0", "10.255.255.255", "10.1.2.3", NULL},
     {"11.0.0.0", "9.255.255.255", "::ffff:10.1.2.3", NULL}},
    {"192.168.1.7", FC_OK, {"192.168.1.7", NULL}, {"192.168.1.6", "192.168.1.8", NULL}},
    {"192.168.1.7/32", FC_OK, {"192.168.1.7", NULL}, {"192.168.1.70", NULL}},
    {"172.16.0.0/12",
     FC_OK,
     {"172.16.0.1", "172.31.255.255", NULL},
     {"172.32.0.0", "172.15.255.255", NULL}},
    {"192.168.0.128/25",
     FC_OK,
     {"192.168.0.128", "192.168.0.255", NULL},
     {"192.168.0.127", "192.168.1.128", NULL}},
    {"0.0.0.0/0", FC_OK, {"0.0.0.0", "203.0.113.9", NULL}, {"::", NULL}},
    {"128.0.0.0/1", FC_OK, {"128.0.0.0", "255.1.1.1", NULL}, {"127.255.255.255", NULL}},
    {"::1", FC_OK, {"::1", NULL}, {"::2", "127.0.0.1", NULL}},
    {"2001:db8::/32",
     FC_OK,
     {"2001:db8::", "2001:db8:ffff:ffff::1", NULL},
     {"2001:db9::", "2001:db7:ffff::", NULL}},
    {"2001:db8:8000::/33",
     FC_OK,
     {"2001:db8:8000::1", "2001:db8:ffff::", NULL},
     {"2001:db8:7fff::", NULL}},
    {"::/0", FC_OK, {"::", "ffff::1", NULL}, {"1.2.3.4", NULL}},
    {"fe80::/10", FC_OK, {"fe80::1", "febf::1", NULL}, {"fec0::", "fe7f::", NULL}},
    {"::ffff:0:0/96", FC_OK, {"::ffff:1.2.3.4", NULL}, {"1.2.3.4", "::fffe:1.2.3.4", NULL}},
    /* Host bits set: accepted but masked off (nginx warns), so the block still works. */
    {"10.1.2.3/8", FC_DECLINED, {"10.9.9.9", NULL}, {"11.1.2.3", NULL}},
    {"192.168.1.129/25",
     FC_DECLINED,
     {"192.168.1.128", "192.168.1.255", NULL},
     {"192.168.1.127", NULL}},
    {"1.2.3.4/0", FC_DECLINED, {"200.1.1.1", NULL}, {NULL}},
    {"fe80::1/10", FC_DECLINED, {"fe80::2", NULL}, {"fec0::1", NULL}},
    {"2001:db8::1/127", FC_DECLINED, {"2001:db8::", "2001:db8::1", NULL}, {"2001:db8::2", NULL}},
    /* Invalid. */
    {"", FC_ERROR, {NULL}, {NULL}},
    {"/8", FC_ERROR, {NULL}, {NULL}},
    {"10.0.0.0/", FC_ERROR, {NULL}, {NULL}},
    {"10.0.0.0/33", FC_ERROR, {NULL}, {NULL}},
    {"10.0.0.0/-1", FC_ERROR, {NULL}, {NULL}},
    {"10.0.0.0/8x", FC_ERROR, {NULL}, {NULL}},
    {"10.0.0.0/8/8", FC_ERROR, {NULL}, {NULL}},
    {"10.0.0", FC_ERROR, {NULL}, {NULL}},
    {"10.0.0.256", FC_ERROR, {NULL}, {NULL}},
    {"::/129", FC_ERROR, {NULL}, {NULL}},
    {"2001:db8:::1", FC_ERROR, {NULL}, {NULL}},
    {"localhost", FC_ERROR, {NULL}, {NULL}},
    {"ALL", FC_ERROR, {NULL}, {NULL}},
    {"[::1]", FC_ERROR, {NULL}, {NULL}},
    {"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd:eeee:ffff:0000/128",
     FC_ERROR,
     {NULL},
     {NULL}},
};

static void
parse_addr(struct sockaddr_storage *ss, const char *ip)
{
    if (strchr(ip, ':'))
        sin6(ss, ip, 1234);
    else
        sin4(ss, ip, 1234);
}

START_TEST(test_cidr)
{
    fc_cidr_t cidr;
    fc_str_t text = str(cidr_cases[_i].cidr);
    int rc = fc_cidr_parse(&text, &cidr);
    ck_assert_msg(rc == cidr_cases[_i].rc, "fc_cidr_parse(\"%s\") = %d, want %d",
                  cidr_cases[_i].cidr, rc, cidr_cases[_i].rc);
    struct sockaddr_storage ss;
    for (int k = 0; cidr_cases[_i].match[k]; k++) {
        parse_addr(&ss, cidr_cases[_i].match[k]);
        ck_assert_msg(fc_cidr_match(&cidr, (struct sockaddr *) &ss), "%s should match %s",
                      cidr_cases[_i].match[k], cidr_cases[_i].cidr);
    }
    for (int k = 0; cidr_cases[_i].nomatch[k]; k++) {
        parse_addr(&ss, cidr_cases[_i].nomatch[k]);
        ck_assert_msg(!fc_cidr_match(&cidr, (struct sockaddr *) &ss), "%s should not match %s",
                      cidr_cases[_i].nomatch[k], cidr_cases[_i].cidr);
    }
}
END_TEST

/* Every prefix length: the mask has exactly that many leading one bits. */
START_TEST(test_cidr_masks)
{
    int v6 = _i;
    int maxbits = v6 ? 128 : 32;
    for (int bits = 0; bits <= maxbits; bits++) {
        char buf[64];
        snprintf(buf, sizeof(buf), "%s/%d", v6 ? "::" : "0.0.0.0", bits);
        fc_str_t text = str(buf);
        fc_cidr_t cidr;
        ck_assert_int_eq(fc_cidr_parse(&text, &cidr), FC_OK);
        ck_assert_int_eq(cidr.family, v6 ? AF_INET6 : AF_INET);
        for (int b = 0; b < maxbits; b++) {
            int set = (cidr.mask[b / 8] >> (7 - b % 8)) & 1;
            if (set != (b < bits))
                ck_abort_msg("%s: mask bit %d is %d", buf, b, set);
        }
        /* The highest address just outside the block (first host bit set) does not match. */
        if (bits > 0) {
            struct sockaddr_storage ss;
            memset(&ss, 0, sizeof(ss));
            unsigned char *a = v6 ? (unsigned char *) &((struct sockaddr_in6 *) &ss)->sin6_addr
                                  : (unsigned char *) &((struct sockaddr_in *) &ss)->sin_addr;
            ss.ss_family = v6 ? AF_INET6 : AF_INET;
            a[(bits - 1) / 8] |= (unsigned char) (0x80 >> ((bits - 1) % 8));
            if (fc_cidr_match(&cidr, (struct sockaddr *) &ss))
                ck_abort_msg("%s matches an address with bit %d set", buf, bits - 1);
            if (bits < maxbits) {
                memset(a, 0, (size_t) maxbits / 8);
                a[bits / 8] |= (unsigned char) (0x80 >> (bits % 8));
                if (!fc_cidr_match(&cidr, (struct sockaddr *) &ss))
                    ck_abort_msg("%s does not match an address with host bit %d set", buf, bits);
            }
        }
    }
}
END_TEST

START_TEST(test_cidr_unix)
{
    fc_cidr_t cidr;
    fc_str_t text = fc_string("unix:");
    ck_assert_int_eq(fc_cidr_parse(&text, &cidr), FC_OK);
    struct sockaddr_un su = {.sun_family = AF_UNIX};
    struct sockaddr_storage ss;
    ck_assert(fc_cidr_match(&cidr, (struct sockaddr *) &su));
    sin4(&ss, "127.0.0.1", 1);
    ck_assert(!fc_cidr_match(&cidr, (struct sockaddr *) &ss));
    /* "all" covers unix peers too; an inet block does not. */
    text = (fc_str_t) fc_string("all");
    ck_assert_int_eq(fc_cidr_parse(&text, &cidr), FC_OK);
    ck_assert(fc_cidr_match(&cidr, (struct sockaddr *) &su));
    text = (fc_str_t) fc_string("0.0.0.0/0");
    ck_assert_int_eq(fc_cidr_parse(&text, &cidr), FC_OK);
    ck_assert(!fc_cidr_match(&cidr, (struct sockaddr *) &su));
}
END_TEST

static Suite *
inet_suite(void)
{
    const fc_unit_case_t cases[] = {
        {"url_parse", test_url_parse, (int) fc_nelems(url_cases)},
        {"url_localhost", test_url_resolve_localhost, 1},
        {"ntop", test_ntop, 1},
        {"ntop_truncates", test_ntop_truncates, 1},
        {"sockaddr_eq", test_sockaddr_eq, 1},
        {"cidr", test_cidr, (int) fc_nelems(cidr_cases)},
        {"cidr_masks", test_cidr_masks, 2},
        {"cidr_unix", test_cidr_unix, 1},
    };
    return fc_unit_suite("inet", cases, fc_nelems(cases), unit_pool_setup, unit_pool_teardown);
}

int
main(void)
{
    return fc_unit_run(inet_suite());
}
