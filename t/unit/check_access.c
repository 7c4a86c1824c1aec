/*
 * check_access.c: allow/deny rule lists (src/core/access.c) as both access
 * modules use them: first match wins, "all", "unix:", IPv4 and IPv6 blocks,
 * no rules at all.
 */
#include <check.h>

#include "unit.h"
#include "unit_pool.h"
#include <arpa/inet.h>
#include <sys/un.h>

#include "core/fc_core.h"
#include "core/access.h"

/* Rules from "allow 10.0.0.0/8;deny all" (';'-separated, "allow X" / "deny X"). */
static fc_array_t *
rules(const char *spec)
{
    fc_array_t *a = fc_array_create(pool, 4, sizeof(fc_access_rule_t));
    ck_assert_ptr_nonnull(a);
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", spec);
    for (char *save = NULL, *tok = strtok_r(buf, ";", &save); tok;
         tok = strtok_r(NULL, ";", &save)) {
        fc_access_rule_t *r = fc_array_push(a);
        ck_assert_ptr_nonnull(r);
        r->deny = tok[0] == 'd';
        char *arg = strchr(tok, ' ') + 1;
        fc_str_t text = {strlen(arg), (unsigned char *) arg};
        ck_assert_int_ne(fc_cidr_parse(&text, &r->cidr), FC_ERROR);
    }
    return a;
}

static void
addr(struct sockaddr_storage *ss, const char *ip)
{
    memset(ss, 0, sizeof(*ss));
    if (strcmp(ip, "unix") == 0) {
        ss->ss_family = AF_UNIX;
    } else if (strchr(ip, ':')) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *) ss;
        s->sin6_family = AF_INET6;
        ck_assert_int_eq(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
    } else {
        struct sockaddr_in *s = (struct sockaddr_in *) ss;
        s->sin_family = AF_INET;
        ck_assert_int_eq(inet_pton(AF_INET, ip, &s->sin_addr), 1);
    }
}

static const struct {
    const char *rules; /* NULL: no rule list */
    const char *client;
    int denied;
} access_cases[] = {
    {NULL, "10.1.2.3", 0},
    {"deny all", "10.1.2.3", 1},
    {"allow all", "10.1.2.3", 0},
    {"allow 10.0.0.0/8;deny all", "10.1.2.3", 0},
    {"allow 10.0.0.0/8;deny all", "11.1.2.3", 1},
    {"deny 10.1.2.3;allow 10.0.0.0/8;deny all", "10.1.2.3", 1},
    {"deny 10.1.2.3;allow 10.0.0.0/8;deny all", "10.1.2.4", 0},
    {"deny 10.0.0.0/8", "192.168.0.1", 0}, /* no rule matched: allowed */
    {"allow 127.0.0.1;deny all", "::1", 1},
    {"allow ::1;deny all", "::1", 0},
    {"allow 2001:db8::/32;deny all", "2001:db8:1::5", 0},
    {"allow 2001:db8::/32;deny all", "2001:db9::5", 1},
    {"deny 0.0.0.0/0", "::1", 0}, /* an IPv4 block never matches an IPv6 client */
    {"allow unix:;deny all", "unix", 0},
    {"deny unix:;allow all", "unix", 1},
    {"deny unix:", "127.0.0.1", 0},
    {"allow 127.0.0.1;deny all", "unix", 1},
};

START_TEST(test_access)
{
    struct sockaddr_storage ss;
    fc_log_t log = {.level = FC_LOG_STDERR}; /* the deny message is not printed */
    addr(&ss, access_cases[_i].client);
    fc_array_t *a = access_cases[_i].rules ? rules(access_cases[_i].rules) : NULL;
    ck_assert_msg(fc_access_denied(a, (struct sockaddr *) &ss, &log) == access_cases[_i].denied,
                  "rules \"%s\", client %s", access_cases[_i].rules, access_cases[_i].client);
}
END_TEST

static Suite *
access_suite(void)
{
    const fc_unit_case_t cases[] = {
        {"first_match", test_access, (int) fc_nelems(access_cases)},
    };
    return fc_unit_suite("access", cases, fc_nelems(cases), unit_pool_setup, unit_pool_teardown);
}

int
main(void)
{
    return fc_unit_run(access_suite());
}
