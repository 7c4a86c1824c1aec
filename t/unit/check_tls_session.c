/*
 * check_tls_session.c: TLS session resumption (src/event/tls_session.c)
 * between real OpenSSL server and client contexts in memory (handshakes over
 * BIO pairs, a self-signed P-256 certificate made by the test), for TLS 1.2
 * and 1.3: the ssl_session_cache parser and its errors; a shared cache
 * resuming sessions stored by a forked child (another worker) and after a
 * reload (a new cycle and context on the same zone); "off" and "none"; the
 * timeout; eviction of the oldest sessions when the zone is full; tickets
 * under ssl_session_ticket_key files accepted by another context (a reload)
 * and key rotation; key file errors at file:line.
 */
#include <check.h>

#include "unit.h"
#include <sys/wait.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "core/fc_core.h"
#include "core/cycle.h"
#include "core/shm.h"
#include "event/tls_session.h"

static int tag;        /* the owner of the zones */
static EVP_PKEY *pkey; /* the server's key and certificate */
static X509 *cert;
static fc_cycle_t *cycle; /* the cycle of the test (zones, contexts) */
static char dir[64];      /* key files */
static char out[4096];    /* captured stderr */

static const int versions[] = {TLS1_2_VERSION, TLS1_3_VERSION};

/* ---- fixture -------------------------------------------------------------------- */

static void
make_cert(EVP_PKEY **keyp, X509 **certp)
{
    EVP_PKEY *k = *keyp = EVP_EC_gen("P-256");
    ck_assert_ptr_nonnull(k);
    X509 *x = *certp = X509_new();
    ck_assert_ptr_nonnull(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *) "s.test", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, k);
    ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
}

static fc_cycle_t *
cycle_new(void)
{
    fc_pool_t *pool = fc_pool_create(4096, NULL);
    ck_assert_ptr_nonnull(pool);
    fc_cycle_t *c = fc_pcalloc(pool, sizeof(*c));
    c->pool = pool;
    c->log = fc_log_init();
    c->conf_prefix.data = (unsigned char *) dir;
    c->conf_prefix.len = strlen(dir);
    return c;
}

static void
setup(void)
{
    fc_time_update();
    make_cert(&pkey, &cert);
    strcpy(dir, "/tmp/fc-check-tls-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    strcat(dir, "/");
    cycle = cycle_new();
}

static void
teardown(void)
{
    if (cycle)
        fc_pool_destroy(cycle->pool);
    cycle = NULL;
    X509_free(cert);
    EVP_PKEY_free(pkey);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static fc_conf_t
conf_of(fc_cycle_t *c, fc_array_t *args)
{
    fc_conf_t cf;
    memset(&cf, 0, sizeof(cf));
    cf.cycle = c;
    cf.pool = c->pool;
    cf.log = fc_log_init();
    cf.args = args;
    cf.dir_file = "t.conf";
    cf.dir_line = 9;
    return cf;
}

static int saved_fd = -1, cap_fd = -1;

static void
capture_begin(void)
{
    char path[] = "/tmp/fc-check-tls-out-XXXXXX";
    fflush(stderr);
    cap_fd = mkstemp(path);
    ck_assert_int_ge(cap_fd, 0);
    unlink(path);
    saved_fd = dup(2);
    dup2(cap_fd, 2);
}

static void
capture_end(void)
{
    fflush(stderr);
    dup2(saved_fd, 2);
    close(saved_fd);
    ssize_t n = pread(cap_fd, out, sizeof(out) - 1, 0);
    close(cap_fd);
    out[n > 0 ? n : 0] = '\0';
}

/* Splits "a b c" into str args (pool memory); returns how many. */
static size_t
split(fc_pool_t *pool, const char *text, fc_str_t *args, size_t max)
{
    char *copy = fc_pnalloc(pool, strlen(text) + 1), *save = NULL;
    strcpy(copy, text);
    size_t n = 0;
    for (char *t = strtok_r(copy, " ", &save); t && n < max; t = strtok_r(NULL, " ", &save)) {
        args[n].data = (unsigned char *) t;
        args[n++].len = strlen(t);
    }
    return n;
}

/* ---- contexts and handshakes -------------------------------------------------------- */

static void
ctx_free(void *data)
{
    SSL_CTX_free(data);
}

/* A server context in c, as the ssl modules build one: certificate, then sessions. */
typedef struct {
    const char *cache; /* ssl_session_cache arguments, NULL: unset */
    fc_msec_t timeout;
    int tickets;
    const char *keys[3]; /* ssl_session_ticket_key files in dir */
    X509 *cert;          /* NULL: the test's certificate */
    EVP_PKEY *pkey;
} srv_t;

static SSL_CTX *
server_ctx(fc_cycle_t *c, int version, const srv_t *s)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    ck_assert_ptr_nonnull(ctx);
    fc_pool_cleanup_t *cln = fc_pool_cleanup_add(c->pool, 0);
    cln->handler = ctx_free;
    cln->data = ctx;
    SSL_CTX_set_min_proto_version(ctx, version);
    SSL_CTX_set_max_proto_version(ctx, version);
    ck_assert_int_eq(SSL_CTX_use_certificate(ctx, s->cert ? s->cert : cert), 1);
    ck_assert_int_eq(SSL_CTX_use_PrivateKey(ctx, s->pkey ? s->pkey : pkey), 1);

    fc_array_t *args = fc_array_create(c->pool, 4, sizeof(fc_str_t));
    fc_conf_t cf = conf_of(c, args);
    fc_tls_session_cache_conf_t sc, outer;
    fc_tls_session_cache_conf_init(&sc);
    fc_tls_session_cache_conf_init(&outer);
    fc_str_t a[4];
    if (s->cache) {
        size_t n = split(c->pool, s->cache, a, 4);
        ck_assert_ptr_eq(fc_tls_session_cache_parse(&cf, a, n, &sc, &tag), FC_CONF_OK);
    }
    fc_tls_session_cache_conf_merge(&sc, &outer);
    fc_array_t *keys = FC_UNSET_PTR;
    fc_command_t cmd = {"ssl_session_ticket_key", 0, NULL, 0, 0, NULL};
    for (size_t i = 0; i < 3 && s->keys[i]; i++) {
        args->nelts = 0;
        *(fc_str_t *) fc_array_push(args) = (fc_str_t) fc_string("ssl_session_ticket_key");
        fc_str_t *f = fc_array_push(args);
        f->data = (unsigned char *) s->keys[i];
        f->len = strlen(s->keys[i]);
        ck_assert_ptr_eq(fc_tls_session_ticket_key_slot(&cf, &cmd, &keys), FC_CONF_OK);
    }
    if (keys == FC_UNSET_PTR)
        keys = NULL;
    ck_assert_int_eq(fc_tls_session_cache_set(&cf, ctx, &sc, s->timeout ? s->timeout : 300000),
                     FC_OK);
    ck_assert_int_eq(fc_tls_session_tickets_set(&cf, ctx, s->tickets, keys), FC_OK);
    return ctx;
}

static SSL_CTX *
client_ctx(int version)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    ck_assert_ptr_nonnull(ctx);
    fc_pool_cleanup_t *cln = fc_pool_cleanup_add(cycle->pool, 0);
    cln->handler = ctx_free;
    cln->data = ctx;
    SSL_CTX_set_min_proto_version(ctx, version);
    SSL_CTX_set_max_proto_version(ctx, version);
    return ctx;
}

static int
step(SSL *ssl, int *done)
{
    if (*done)
        return 1;
    int r = SSL_do_handshake(ssl);
    if (r == 1) {
        *done = 1;
        return 1;
    }
    int e = SSL_get_error(ssl, r);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

/*
 * A handshake (offering `resume` if not NULL), one byte of data so the
 * client takes in TLS 1.3 tickets, a clean close both ways (an unclean one
 * drops the session from the cache, as OpenSSL does). Returns 1 if the
 * session was resumed, 0 if not; *sess (if not NULL) gets the client's
 * session to resume later.
 */
static int
handshake(SSL_CTX *sctx, SSL_CTX *cctx, SSL_SESSION *resume, SSL_SESSION **sess)
{
    SSL *s = SSL_new(sctx), *c = SSL_new(cctx);
    BIO *bs, *bc;
    ck_assert_int_eq(BIO_new_bio_pair(&bs, 0, &bc, 0), 1);
    SSL_set_bio(s, bs, bs);
    SSL_set_bio(c, bc, bc);
    SSL_set_accept_state(s);
    SSL_set_connect_state(c);
    if (resume)
        ck_assert_int_eq(SSL_set_session(c, resume), 1);
    int sdone = 0, cdone = 0, ok = 1;
    for (int i = 0; i < 50 && ok && !(sdone && cdone); i++)
        ok = step(c, &cdone) && step(s, &sdone);
    ck_assert_msg(ok && sdone && cdone, "handshake failed");
    char b = 0;
    ck_assert_int_eq(SSL_write(s, "x", 1), 1);
    ck_assert_int_eq(SSL_read(c, &b, 1), 1);
    int reused = SSL_session_reused(c);
    ck_assert_int_eq(SSL_session_reused(s), reused);
    if (sess)
        *sess = SSL_get1_session(c);
    SSL_shutdown(c);
    SSL_shutdown(s);
    SSL_free(c);
    SSL_free(s);
    return reused;
}

/* A cycle's zones mapped and committed (what fc_cycle_init does). */
static void
zones_up(fc_cycle_t *c, fc_cycle_t *old)
{
    ck_assert_int_eq(fc_shm_zones_init(c, old, c->log), FC_OK);
    fc_shm_zones_commit(c, old);
}

/* ---- ssl_session_cache parsing ------------------------------------------------------------ */

static const struct {
    const char *args;
    int builtin;      /* the merged value */
    size_t zone_size; /* 0: no zone */
    const char *err;  /* NULL: accepted */
} parse_cases[] = {
    {"off", FC_TLS_SCACHE_OFF, 0, NULL},
    {"none", FC_TLS_SCACHE_NONE, 0, NULL},
    {"builtin", FC_TLS_SCACHE_BUILTIN, 0, NULL},
    {"builtin:1000", 1000, 0, NULL},
    {"shared:SSL:1m", FC_TLS_SCACHE_NO_BUILTIN, 1048576, NULL},
    {"builtin:10 shared:SSL:64k", 10, 65536, NULL},
    {"shared:SSL:32k", FC_TLS_SCACHE_NO_BUILTIN, 32768, NULL},
    {"shared:SSL", 0, 0, "invalid session cache \"shared:SSL\""},
    {"shared:SSL:", 0, 0, "invalid session cache \"shared:SSL:\""},
    {"shared::1m", 0, 0, "invalid session cache \"shared::1m\""},
    {"shared:SSL:1x", 0, 0, "invalid session cache \"shared:SSL:1x\""},
    {"shared:SSL:10k", 0, 0, "session cache \"shared:SSL:10k\" is too small"},
    {"builtin:", 0, 0, "invalid session cache \"builtin:\""},
    {"builtin:x1", 0, 0, "invalid session cache \"builtin:x1\""},
    {"builtin:-1", 0, 0, "invalid session cache \"builtin:-1\""},
    {"on", 0, 0, "invalid session cache \"on\""},
    {"none shared", 0, 0, "invalid session cache \"shared\""},
};

START_TEST(test_parse)
{
    fc_conf_t cf = conf_of(cycle, NULL);
    fc_str_t a[4];
    size_t n = split(cycle->pool, parse_cases[_i].args, a, 4);
    fc_tls_session_cache_conf_t sc, outer;
    fc_tls_session_cache_conf_init(&sc);
    fc_tls_session_cache_conf_init(&outer);
    capture_begin();
    char *rv = fc_tls_session_cache_parse(&cf, a, n, &sc, &tag);
    capture_end();
    if (parse_cases[_i].err) {
        ck_assert_ptr_eq(rv, FC_CONF_ERROR);
        char want[256];
        snprintf(want, sizeof(want), "fulcrum: [emerg] %s in t.conf:9\n", parse_cases[_i].err);
        ck_assert_str_eq(out, want);
        return;
    }
    ck_assert_ptr_eq(rv, FC_CONF_OK);
    ck_assert_str_eq(out, "");
    fc_tls_session_cache_conf_merge(&sc, &outer);
    ck_assert_int_eq(sc.builtin, parse_cases[_i].builtin);
    if (parse_cases[_i].zone_size) {
        ck_assert_ptr_nonnull(sc.shm_zone);
        ck_assert_uint_eq(sc.shm_zone->size, parse_cases[_i].zone_size);
        ck_assert(fc_str_eq_c(&sc.shm_zone->name, "SSL"));
    } else {
        ck_assert_ptr_null(sc.shm_zone);
    }
}
END_TEST

/* Unset at both levels: "none"; inner values win; the zone is inherited. */
START_TEST(test_merge)
{
    fc_tls_session_cache_conf_t a, outer;
    fc_tls_session_cache_conf_init(&a);
    fc_tls_session_cache_conf_init(&outer);
    fc_tls_session_cache_conf_merge(&a, &outer);
    ck_assert_int_eq(a.builtin, FC_TLS_SCACHE_NONE);
    ck_assert_ptr_null(a.shm_zone);
    fc_shm_zone_t z;
    outer.builtin = FC_TLS_SCACHE_NO_BUILTIN;
    outer.shm_zone = &z;
    fc_tls_session_cache_conf_init(&a);
    fc_tls_session_cache_conf_merge(&a, &outer);
    ck_assert_int_eq(a.builtin, FC_TLS_SCACHE_NO_BUILTIN);
    ck_assert_ptr_eq(a.shm_zone, &z);
    fc_tls_session_cache_conf_init(&a);
    a.builtin = FC_TLS_SCACHE_OFF;
    fc_tls_session_cache_conf_merge(&a, &outer);
    ck_assert_int_eq(a.builtin, FC_TLS_SCACHE_OFF);
}
END_TEST

/* One zone for http and another for stream cannot share a name. */
START_TEST(test_parse_other_owner)
{
    fc_conf_t cf = conf_of(cycle, NULL);
    fc_str_t a = fc_string("shared:SSL:1m");
    fc_tls_session_cache_conf_t sc;
    fc_tls_session_cache_conf_init(&sc);
    ck_assert_ptr_eq(fc_tls_session_cache_parse(&cf, &a, 1, &sc, &tag), FC_CONF_OK);
    fc_tls_session_cache_conf_init(&sc);
    capture_begin();
    char *rv = fc_tls_session_cache_parse(&cf, &a, 1, &sc, &cycle);
    capture_end();
    ck_assert_ptr_eq(rv, FC_CONF_ERROR);
    ck_assert_str_eq(out, "fulcrum: [emerg] the shared memory zone \"SSL\" is already declared "
                          "for a different use in t.conf:9\n");
}
END_TEST

/* ---- the shared cache ---------------------------------------------------------------------- */

static const srv_t shared_no_tickets = {.cache = "shared:SSL:1m"};

/*
 * A session made in a forked child (another worker) resumes in the parent:
 * the parent's process never saw it, only the zone did. Then in the parent
 * again, and its builtin cache is off, so only the zone can answer.
 */
START_TEST(test_shared_across_processes)
{
    int version = versions[_i];
    SSL_CTX *sctx = server_ctx(cycle, version, &shared_no_tickets);
    SSL_CTX *cctx = client_ctx(version);
    zones_up(cycle, NULL);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        SSL_SESSION *sess = NULL;
        int reused = handshake(sctx, cctx, NULL, &sess);
        unsigned char buf[FC_TLS_SESSION_MAX_SIZE], *p = buf;
        int n = sess ? i2d_SSL_SESSION(sess, &p) : 0;
        ssize_t w = n > 0 ? write(fds[1], buf, (size_t) n) : -1;
        SSL_SESSION_free(sess);
        fc_pool_destroy(cycle->pool); /* the child's copies, for valgrind */
        X509_free(cert);
        EVP_PKEY_free(pkey);
        _exit(!reused && w == n ? 0 : 1);
    }
    close(fds[1]);
    unsigned char buf[FC_TLS_SESSION_MAX_SIZE];
    ssize_t n = 0, r;
    while ((r = read(fds[0], buf + n, sizeof(buf) - (size_t) n)) > 0)
        n += r;
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    const unsigned char *p = buf;
    SSL_SESSION *sess = d2i_SSL_SESSION(NULL, &p, n);
    ck_assert_ptr_nonnull(sess);
    ck_assert_int_eq(SSL_CTX_sess_number(sctx), 0); /* not in the parent's own cache */
    ck_assert_int_eq(handshake(sctx, cctx, sess, NULL), 1);
    SSL_SESSION_free(sess);

    SSL_SESSION *s2 = NULL;
    ck_assert_int_eq(handshake(sctx, cctx, NULL, &s2), 0);
    ck_assert_int_eq(handshake(sctx, cctx, s2, NULL), 1);
    SSL_SESSION_free(s2);
}
END_TEST

/*
 * A reload: a new cycle declares the same zone and builds a new context with
 * the same certificate; the old cycle goes away; its sessions resume.
 */
START_TEST(test_shared_across_reload)
{
    int version = versions[_i];
    SSL_CTX *cctx = client_ctx(version);
    fc_cycle_t *old = cycle_new();
    SSL_CTX *octx = server_ctx(old, version, &shared_no_tickets);
    zones_up(old, NULL);
    SSL_SESSION *sess = NULL;
    ck_assert_int_eq(handshake(octx, cctx, NULL, &sess), 0);

    SSL_CTX *nctx = server_ctx(cycle, version, &shared_no_tickets);
    zones_up(cycle, old);
    fc_pool_destroy(old->pool);
    ck_assert_int_eq(handshake(nctx, cctx, sess, NULL), 1);
    SSL_SESSION_free(sess);

    /* a differently sized zone is a new one: nothing to resume */
    ck_assert_int_eq(handshake(nctx, cctx, NULL, &sess), 0);
    fc_cycle_t *next = cycle_new();
    srv_t bigger = shared_no_tickets;
    bigger.cache = "shared:SSL:2m";
    SSL_CTX *xctx = server_ctx(next, version, &bigger);
    zones_up(next, cycle);
    ck_assert_int_eq(handshake(xctx, cctx, sess, NULL), 0);
    SSL_SESSION_free(sess);
    fc_pool_destroy(next->pool);
}
END_TEST

/*
 * Two servers on one zone with different certificates: a session resumes
 * only under the certificate it was made with (the session id context).
 */
START_TEST(test_shared_other_certificate)
{
    int version = versions[_i];
    EVP_PKEY *k2;
    X509 *c2;
    make_cert(&k2, &c2);
    srv_t other = shared_no_tickets;
    other.cert = c2;
    other.pkey = k2;
    SSL_CTX *a = server_ctx(cycle, version, &shared_no_tickets);
    SSL_CTX *same = server_ctx(cycle, version, &shared_no_tickets);
    SSL_CTX *b = server_ctx(cycle, version, &other);
    SSL_CTX *cctx = client_ctx(version);
    zones_up(cycle, NULL);
    SSL_SESSION *sess = NULL;
    ck_assert_int_eq(handshake(a, cctx, NULL, &sess), 0);
    ck_assert_int_eq(handshake(b, cctx, sess, NULL), 0);
    ck_assert_int_eq(handshake(same, cctx, sess, NULL), 1);
    SSL_SESSION_free(sess);
    X509_free(c2);
    EVP_PKEY_free(k2);
}
END_TEST

/*
 * off: no session id is even announced (TLS 1.2) and nothing resumes;
 * none: an id is announced but nothing is stored; builtin alone resumes.
 */
static const struct {
    const char *cache;
    int resumes;
    int announces_id; /* TLS 1.2 */
} mode_cases[] = {
    {"off", 0, 0},     {"none", 0, 1},        {NULL, 0, 1}, /* unset: none */
    {"builtin", 1, 1}, {"builtin:100", 1, 1},
};

START_TEST(test_cache_modes)
{
    for (size_t v = 0; v < fc_nelems(versions); v++) {
        srv_t s = {.cache = mode_cases[_i].cache};
        SSL_CTX *sctx = server_ctx(cycle, versions[v], &s);
        SSL_CTX *cctx = client_ctx(versions[v]);
        SSL_SESSION *sess = NULL;
        ck_assert_int_eq(handshake(sctx, cctx, NULL, &sess), 0);
        ck_assert_ptr_nonnull(sess);
        if (versions[v] == TLS1_2_VERSION) {
            unsigned len;
            SSL_SESSION_get_id(sess, &len);
            ck_assert_int_eq(len > 0, mode_cases[_i].announces_id);
        }
        ck_assert_int_eq(handshake(sctx, cctx, sess, NULL), mode_cases[_i].resumes);
        SSL_SESSION_free(sess);
    }
}
END_TEST

/* ssl_session_timeout 1s: an expired session is neither found in the zone nor resumed. */
START_TEST(test_timeout)
{
    int version = versions[_i];
    srv_t s = shared_no_tickets;
    s.timeout = 1000;
    SSL_CTX *sctx = server_ctx(cycle, version, &s);
    SSL_CTX *cctx = client_ctx(version);
    zones_up(cycle, NULL);
    SSL_SESSION *sess = NULL;
    ck_assert_int_eq(handshake(sctx, cctx, NULL, &sess), 0);
    ck_assert_int_eq(SSL_CTX_get_timeout(sctx), 1);
    /* the zone's own answer, through the callback OpenSSL calls */
    SSL_SESSION *(*get)(SSL *, const unsigned char *, int, int *) = SSL_CTX_sess_get_get_cb(sctx);
    ck_assert_ptr_nonnull(get);
    SSL *ssl = SSL_new(sctx);
    /* TLS 1.2: the client's session id is the key (1.3 clients name sessions otherwise) */
    unsigned idlen;
    const unsigned char *id = SSL_SESSION_get_id(sess, &idlen);
    int copy, tls12 = version == TLS1_2_VERSION;
    SSL_SESSION *found = tls12 ? get(ssl, id, (int) idlen, &copy) : NULL;
    ck_assert(!tls12 || found != NULL);
    SSL_SESSION_free(found);
    sleep(2);
    fc_time_update();
    found = tls12 ? get(ssl, id, (int) idlen, &copy) : NULL;
    ck_assert_ptr_null(found);
    SSL_free(ssl);
    ck_assert_int_eq(handshake(sctx, cctx, sess, NULL), 0);
    SSL_SESSION_free(sess);
}
END_TEST

/* The smallest zone holds a few dozen sessions: the oldest make room for the newest. */
START_TEST(test_eviction)
{
    int version = versions[_i];
    srv_t s = {.cache = "shared:SSL:32k"};
    SSL_CTX *sctx = server_ctx(cycle, version, &s);
    SSL_CTX *cctx = client_ctx(version);
    zones_up(cycle, NULL);
    enum { N = 150 };
    SSL_SESSION *first = NULL, *last = NULL;
    ck_assert_int_eq(handshake(sctx, cctx, NULL, &first), 0);
    for (int i = 1; i < N; i++) {
        SSL_SESSION_free(last);
        last = NULL;
        ck_assert_int_eq(handshake(sctx, cctx, NULL, &last), 0);
    }
    ck_assert_int_eq(handshake(sctx, cctx, last, NULL), 1);
    ck_assert_int_eq(handshake(sctx, cctx, first, NULL), 0);
    SSL_SESSION_free(first);
    SSL_SESSION_free(last);
}
END_TEST

/* ---- tickets --------------------------------------------------------------------------------- */

static void
write_key(const char *name, size_t size, unsigned char fill)
{
    char path[256];
    snprintf(path, sizeof(path), "%s%s", dir, name);
    unsigned char buf[100];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char) (fill + i * 7);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, size, f), size);
    fclose(f);
}

static const size_t key_sizes[] = {48, 80};

/*
 * Tickets under a key file: another context with the same file (a reload,
 * another machine) takes them; one with another key does not; one with the
 * new key first and the old one second takes them and renews them under
 * the new key. Tickets off: nothing resumes without a cache.
 */
START_TEST(test_ticket_keys)
{
    int version = versions[_i % 2];
    size_t ks = key_sizes[_i / 2];
    write_key("old.key", ks, 1);
    write_key("new.key", ks, 2);
    srv_t s_old = {.tickets = 1, .keys = {"old.key"}};
    srv_t s_new = {.tickets = 1, .keys = {"new.key"}};
    srv_t s_rot = {.tickets = 1, .keys = {"new.key", "old.key"}};
    SSL_CTX *cctx = client_ctx(version);
    SSL_CTX *a = server_ctx(cycle, version, &s_old), *b = server_ctx(cycle, version, &s_old);
    SSL_CTX *other = server_ctx(cycle, version, &s_new);
    SSL_CTX *rot = server_ctx(cycle, version, &s_rot);
    SSL_SESSION *sess = NULL, *renewed = NULL;
    ck_assert_int_eq(handshake(a, cctx, NULL, &sess), 0);
    ck_assert_int_eq(SSL_SESSION_has_ticket(sess), 1);
    ck_assert_int_eq(handshake(b, cctx, sess, NULL), 1);
    ck_assert_int_eq(handshake(other, cctx, sess, NULL), 0);
    ck_assert_int_eq(handshake(rot, cctx, sess, &renewed), 1);
    ck_assert_int_eq(handshake(other, cctx, renewed, NULL), 1); /* renewed under new.key */
    SSL_SESSION_free(sess);
    SSL_SESSION_free(renewed);

    srv_t off = {.tickets = 0, .keys = {"old.key"}};
    SSL_CTX *noticket = server_ctx(cycle, version, &off);
    ck_assert_int_eq(handshake(noticket, cctx, NULL, &sess), 0);
    ck_assert_int_eq(handshake(noticket, cctx, sess, NULL), 0);
    SSL_SESSION_free(sess);
}
END_TEST

/* Tickets on without key files: OpenSSL's keys, the same for every fork of the context. */
START_TEST(test_tickets_default)
{
    int version = versions[_i];
    srv_t s = {.tickets = 1};
    SSL_CTX *sctx = server_ctx(cycle, version, &s), *other = server_ctx(cycle, version, &s);
    SSL_CTX *cctx = client_ctx(version);
    SSL_SESSION *sess = NULL;
    ck_assert_int_eq(handshake(sctx, cctx, NULL, &sess), 0);
    ck_assert_int_eq(handshake(sctx, cctx, sess, NULL), 1);
    ck_assert_int_eq(handshake(other, cctx, sess, NULL), 0); /* another context: other keys */
    SSL_SESSION_free(sess);
}
END_TEST

static const struct {
    const char *file;
    int size; /* -1: no such file */
    const char *err;
} keyfile_cases[] = {
    {"missing.key", -1, "open() \"@D@missing.key\" failed (2: No such file or directory)"},
    {"short.key", 47, "\"@D@short.key\" must be 48 or 80 bytes"},
    {"long.key", 81, "\"@D@long.key\" must be 48 or 80 bytes"},
    {"empty.key", 0, "\"@D@empty.key\" must be 48 or 80 bytes"},
};

START_TEST(test_keyfile_errors)
{
    if (keyfile_cases[_i].size >= 0)
        write_key(keyfile_cases[_i].file, (size_t) keyfile_cases[_i].size, 3);
    fc_array_t *args = fc_array_create(cycle->pool, 2, sizeof(fc_str_t));
    *(fc_str_t *) fc_array_push(args) = (fc_str_t) fc_string("ssl_session_ticket_key");
    fc_str_t *f = fc_array_push(args);
    f->data = (unsigned char *) keyfile_cases[_i].file;
    f->len = strlen(keyfile_cases[_i].file);
    fc_conf_t cf = conf_of(cycle, args);
    fc_command_t cmd = {"ssl_session_ticket_key", 0, NULL, 0, 0, NULL};
    fc_array_t *keys = FC_UNSET_PTR;
    capture_begin();
    char *rv = fc_tls_session_ticket_key_slot(&cf, &cmd, &keys);
    capture_end();
    ck_assert_ptr_eq(rv, FC_CONF_ERROR);
    ck_assert_ptr_eq(keys, FC_UNSET_PTR);
    char want[512], err[256];
    const char *at = strstr(keyfile_cases[_i].err, "@D@");
    snprintf(err, sizeof(err), "%.*s%s%s", (int) (at - keyfile_cases[_i].err),
             keyfile_cases[_i].err, dir, at + 3);
    snprintf(want, sizeof(want), "fulcrum: [emerg] %s in t.conf:9\n", err);
    ck_assert_str_eq(out, want);
}
END_TEST

static Suite *
tls_session_suite(void)
{
    const fc_unit_case_t cases[] = {
        {"parse", test_parse, (int) fc_nelems(parse_cases)},
        {"merge", test_merge, 1},
        {"parse_other_owner", test_parse_other_owner, 1},
        {"shared_across_processes", test_shared_across_processes, 2},
        {"shared_across_reload", test_shared_across_reload, 2},
        {"shared_other_certificate", test_shared_other_certificate, 2},
        {"cache_modes", test_cache_modes, (int) fc_nelems(mode_cases)},
        {"timeout", test_timeout, 2},
        {"eviction", test_eviction, 2},
        {"ticket_keys", test_ticket_keys, 4},
        {"tickets_default", test_tickets_default, 2},
        {"keyfile_errors", test_keyfile_errors, (int) fc_nelems(keyfile_cases)},
    };
    Suite *s = fc_unit_suite("tls_session", cases, fc_nelems(cases), setup, teardown);
    return s;
}

int
main(void)
{
    return fc_unit_run(tls_session_suite());
}
