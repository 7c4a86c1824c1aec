/*
 * tls_session.c: session resumption. The shared cache keeps each session's
 * DER form (i2d_SSL_SESSION) in a shared-memory zone, keyed by session id:
 * a hash table of chains plus an age list (newest first) that both expires
 * sessions and, when the zone is full, evicts the oldest ones. Every access
 * holds the zone's lock; the cache is the zone's root object, so a zone
 * discarded after a worker died holding the lock is rebuilt empty.
 *
 * Ticket keys from ssl_session_ticket_key are used through OpenSSL 3's
 * EVP_MAC ticket callback: AES-CBC + HMAC-SHA256, as nginx.
 */
#include "core/fc_core.h"
#include "core/cycle.h"
#include "event/tls.h"
#include "event/tls_session.h"

#include <sys/stat.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

/* What a context's callbacks need: set on the SSL_CTX as ex_data. */
typedef struct {
    fc_shm_zone_t *zone;    /* shared cache, NULL if none */
    const fc_array_t *keys; /* fc_tls_ticket_key_t, NULL: OpenSSL's own */
} tls_sess_ctx_t;

typedef struct tls_snode_s tls_snode_t;

struct tls_snode_s {
    tls_snode_t *hnext; /* bucket chain */
    tls_snode_t *prev;  /* age list */
    tls_snode_t *next;
    fc_msec_t expire; /* monotonic ms: the same clock in every process */
    uint16_t der_len;
    uint8_t id_len;
    unsigned char id[SSL_MAX_SSL_SESSION_ID_LENGTH];
    unsigned char der[];
};

typedef struct {
    tls_snode_t age; /* sentinel: age.next is the newest, age.prev the oldest */
    size_t count;
    uint32_t nbuckets; /* a power of two */
    tls_snode_t *buckets[];
} tls_scache_t;

/* Process-wide OpenSSL registration, written once, like fc_tls_conn_index. */
static int tls_sess_index = -1;

static tls_sess_ctx_t *
tls_sess_ctx_get(const SSL_CTX *ctx)
{
    return tls_sess_index < 0 ? NULL : SSL_CTX_get_ex_data(ctx, tls_sess_index);
}

static tls_sess_ctx_t *
tls_sess_ctx(fc_conf_t *cf, SSL_CTX *ctx)
{
    if (tls_sess_index < 0) {
        tls_sess_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
        if (tls_sess_index < 0) {
            fc_tls_conf_error(cf, "SSL_CTX_get_ex_new_index()", NULL);
            return NULL;
        }
    }
    tls_sess_ctx_t *sc = SSL_CTX_get_ex_data(ctx, tls_sess_index);
    if (sc)
        return sc;
    sc = fc_pcalloc(cf->pool, sizeof(*sc));
    if (sc == NULL)
        return NULL;
    if (SSL_CTX_set_ex_data(ctx, tls_sess_index, sc) != 1) {
        fc_tls_conf_error(cf, "SSL_CTX_set_ex_data()", NULL);
        return NULL;
    }
    return sc;
}

/* ---- the cache in the zone (callers hold the lock) ----------------------------------- */

static tls_scache_t *
tls_scache_create(fc_shm_zone_t *zone)
{
    /* nginx's figure is about 4 sessions per KiB: a bucket per KiB keeps chains short. */
    size_t kib = zone->size / 1024;
    uint32_t n = 16;
    while (n < kib && n < (1u << 24))
        n <<= 1;
    tls_scache_t *c = fc_shm_alloc_locked(zone, sizeof(*c) + n * sizeof(tls_snode_t *));
    if (c == NULL)
        return NULL;
    c->age.next = c->age.prev = &c->age;
    c->count = 0;
    c->nbuckets = n;
    memset(c->buckets, 0, n * sizeof(tls_snode_t *));
    fc_shm_root_set(zone, c);
    return c;
}

static tls_snode_t **
tls_scache_slot(tls_scache_t *c, const unsigned char *id, size_t len)
{
    tls_snode_t **pp = &c->buckets[fc_hash_fnv1a(id, len) & (c->nbuckets - 1)];
    while (*pp && !((*pp)->id_len == len && memcmp((*pp)->id, id, len) == 0))
        pp = &(*pp)->hnext;
    return pp;
}

static void
tls_scache_remove(fc_shm_zone_t *zone, tls_scache_t *c, tls_snode_t *n)
{
    tls_snode_t **pp = tls_scache_slot(c, n->id, n->id_len);
    FC_ASSERT(*pp == n);
    *pp = n->hnext;
    n->prev->next = n->next;
    n->next->prev = n->prev;
    c->count--;
    fc_shm_free_locked(zone, n);
}

/* Drops up to `max` expired sessions from the old end (nginx: two per new one). */
static void
tls_scache_expire(fc_shm_zone_t *zone, tls_scache_t *c, fc_msec_t now, int max)
{
    while (max-- > 0 && c->age.prev != &c->age && c->age.prev->expire <= now)
        tls_scache_remove(zone, c, c->age.prev);
}

static void
tls_scache_insert(fc_shm_zone_t *zone, tls_scache_t *c, const unsigned char *id, size_t id_len,
                  const unsigned char *der, size_t der_len, fc_msec_t expire)
{
    tls_scache_expire(zone, c, fc_current_msec(), 2);
    tls_snode_t **pp = tls_scache_slot(c, id, id_len);
    if (*pp)
        tls_scache_remove(zone, c, *pp);
    tls_snode_t *n;
    while ((n = fc_shm_alloc_locked(zone, sizeof(*n) + der_len)) == NULL) {
        if (c->count == 0)
            return;                              /* larger than the whole zone can hold */
        tls_scache_remove(zone, c, c->age.prev); /* full: the oldest go first */
    }
    n->expire = expire;
    n->id_len = (uint8_t) id_len;
    n->der_len = (uint16_t) der_len;
    memcpy(n->id, id, id_len);
    memcpy(n->der, der, der_len);
    pp = tls_scache_slot(c, id, id_len); /* evictions may have changed the chain */
    n->hnext = *pp;
    *pp = n;
    n->next = c->age.next;
    n->prev = &c->age;
    c->age.next->prev = n;
    c->age.next = n;
    c->count++;
}

/* The cache, rebuilt if the zone was discarded (or never built: init failed to). */
static tls_scache_t *
tls_scache_lock(fc_shm_zone_t *zone)
{
    fc_shm_lock(zone);
    tls_scache_t *c = fc_shm_root_get(zone);
    return c ? c : tls_scache_create(zone);
}

static int
tls_scache_zone_init(fc_shm_zone_t *zone, void *old_data)
{
    if (old_data) { /* a reload kept the zone: the sessions are already there */
        zone->data = old_data;
        return FC_OK;
    }
    /* The master, before any worker exists: no one to lock against. */
    zone->data = tls_scache_create(zone);
    if (zone->data == NULL) {
        fc_log_error(FC_LOG_EMERG, zone->log, 0, "could not allocate session cache \"%s\"",
                     zone->name.data);
        return FC_ERROR;
    }
    return FC_OK;
}

/* ---- OpenSSL callbacks ---------------------------------------------------------- */

static fc_shm_zone_t *
tls_sess_zone(const SSL_CTX *ctx)
{
    tls_sess_ctx_t *sc = tls_sess_ctx_get(ctx);
    /* pool NULL: the zone was unmapped (a context freed after its cycle's zones) */
    return sc && sc->zone && sc->zone->pool ? sc->zone : NULL;
}

static int
tls_sess_new(SSL *ssl, SSL_SESSION *sess)
{
    /* The current context, as nginx: after SNI, the virtual server's. */
    fc_shm_zone_t *zone = tls_sess_zone(SSL_get_SSL_CTX(ssl));
    if (zone == NULL)
        return 0;
    unsigned char buf[FC_TLS_SESSION_MAX_SIZE];
    int len = i2d_SSL_SESSION(sess, NULL);
    if (len <= 0 || len > (int) sizeof(buf))
        return 0;
    unsigned char *p = buf;
    i2d_SSL_SESSION(sess, &p);
    unsigned id_len;
    const unsigned char *id = SSL_SESSION_get_id(sess, &id_len);
    if (id_len == 0 || id_len > SSL_MAX_SSL_SESSION_ID_LENGTH)
        return 0;
    fc_msec_t expire = fc_current_msec() + (fc_msec_t) SSL_SESSION_get_timeout(sess) * 1000;
    tls_scache_t *c = tls_scache_lock(zone);
    if (c)
        tls_scache_insert(zone, c, id, id_len, buf, (size_t) len, expire);
    fc_shm_unlock(zone);
    return 0; /* we keep no reference to sess */
}

static SSL_SESSION *
tls_sess_get(SSL *ssl, const unsigned char *id, int len, int *copy)
{
    *copy = 0; /* the session returned is a new object, handed over to OpenSSL */
    fc_shm_zone_t *zone = tls_sess_zone(SSL_get_SSL_CTX(ssl));
    if (zone == NULL || len <= 0 || len > SSL_MAX_SSL_SESSION_ID_LENGTH)
        return NULL;
    unsigned char buf[FC_TLS_SESSION_MAX_SIZE];
    size_t n = 0;
    tls_scache_t *c = tls_scache_lock(zone);
    if (c) {
        tls_snode_t *node = *tls_scache_slot(c, id, (size_t) len);
        if (node && node->expire > fc_current_msec()) {
            n = node->der_len;
            memcpy(buf, node->der, n);
        } else if (node) {
            tls_scache_remove(zone, c, node);
        }
    }
    fc_shm_unlock(zone);
    const unsigned char *p = buf;
    return n ? d2i_SSL_SESSION(NULL, &p, (long) n) : NULL;
}

static void
tls_sess_remove(SSL_CTX *ctx, SSL_SESSION *sess)
{
    fc_shm_zone_t *zone = tls_sess_zone(ctx);
    if (zone == NULL)
        return;
    unsigned id_len;
    const unsigned char *id = SSL_SESSION_get_id(sess, &id_len);
    tls_scache_t *c = tls_scache_lock(zone);
    if (c && id_len > 0 && id_len <= SSL_MAX_SSL_SESSION_ID_LENGTH) {
        tls_snode_t *node = *tls_scache_slot(c, id, id_len);
        if (node)
            tls_scache_remove(zone, c, node);
    }
    fc_shm_unlock(zone);
}

/*
 * SSL_CTX_free flushes the context's own (builtin) cache through the remove
 * callback: those sessions must stay in the shared zone for the workers and
 * cycles that live on. This cleanup is registered after the context's own,
 * so it runs first.
 */
static void
tls_sess_detach(void *data)
{
    SSL_CTX_sess_set_remove_cb(data, NULL);
}

/* ---- ssl_session_cache ------------------------------------------------------------ */

void
fc_tls_session_cache_conf_init(fc_tls_session_cache_conf_t *conf)
{
    conf->builtin = FC_UNSET;
    conf->shm_zone = NULL;
}

void
fc_tls_session_cache_conf_merge(fc_tls_session_cache_conf_t *conf,
                                const fc_tls_session_cache_conf_t *prev)
{
    fc_conf_merge_value(conf->builtin, prev->builtin, FC_TLS_SCACHE_NONE);
    if (conf->shm_zone == NULL)
        conf->shm_zone = prev->shm_zone;
}

/* "shared:NAME:SIZE": FC_OK, FC_DECLINED if malformed, FC_ERROR if logged. */
static int
tls_scache_parse_shared(fc_conf_t *cf, const fc_str_t *v, fc_tls_session_cache_conf_t *out,
                        void *tag)
{
    size_t pre = sizeof("shared:") - 1, j = pre;
    while (j < v->len && v->data[j] != ':')
        j++;
    if (j == pre || j == v->len)
        return FC_DECLINED;
    fc_str_t name = {j - pre, v->data + pre};
    fc_str_t size = {v->len - j - 1, v->data + j + 1};
    int64_t n = fc_parse_size(&size);
    if (n < 0)
        return FC_DECLINED;
    if (n < (int64_t) FC_TLS_SESSION_CACHE_MIN) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "session cache \"%.*s\" is too small", (int) v->len,
                          v->data);
        return FC_ERROR;
    }
    out->shm_zone = fc_shm_zone_add(cf, &name, (size_t) n, tag);
    if (out->shm_zone == NULL)
        return FC_ERROR;
    out->shm_zone->init = tls_scache_zone_init;
    return FC_OK;
}

static int
tls_has_prefix(const fc_str_t *v, const char *prefix)
{
    size_t n = strlen(prefix);
    return v->len > n && memcmp(v->data, prefix, n) == 0;
}

char *
fc_tls_session_cache_parse(fc_conf_t *cf, const fc_str_t *args, size_t nargs,
                           fc_tls_session_cache_conf_t *out, void *tag)
{
    for (size_t i = 0; i < nargs; i++) {
        const fc_str_t *v = &args[i];
        int rc = FC_DECLINED;
        if (fc_str_eq_c(v, "off")) {
            out->builtin = FC_TLS_SCACHE_OFF;
            rc = FC_OK;
        } else if (fc_str_eq_c(v, "none")) {
            out->builtin = FC_TLS_SCACHE_NONE;
            rc = FC_OK;
        } else if (fc_str_eq_c(v, "builtin")) {
            out->builtin = FC_TLS_SCACHE_BUILTIN;
            rc = FC_OK;
        } else if (tls_has_prefix(v, "builtin:")) {
            size_t pre = sizeof("builtin:") - 1;
            int64_t n = fc_atoi(v->data + pre, v->len - pre);
            if (n >= 0 && n <= INT_MAX) {
                out->builtin = (int) n;
                rc = FC_OK;
            }
        } else if (tls_has_prefix(v, "shared:")) {
            rc = tls_scache_parse_shared(cf, v, out, tag);
        }
        if (rc == FC_ERROR)
            return FC_CONF_ERROR;
        if (rc == FC_DECLINED) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid session cache \"%.*s\"", (int) v->len,
                              v->data);
            return FC_CONF_ERROR;
        }
    }
    if (out->shm_zone && out->builtin == FC_UNSET)
        out->builtin = FC_TLS_SCACHE_NO_BUILTIN;
    return FC_CONF_OK;
}

/*
 * The session id context: a digest of the certificates served and of the
 * client CA names, so a session is resumed only where the same identity and
 * client verification apply (nginx hashes the same things).
 */
static int
tls_sid_ctx_set(fc_conf_t *cf, SSL_CTX *ctx)
{
    unsigned char md[EVP_MAX_MD_SIZE], buf[EVP_MAX_MD_SIZE];
    unsigned int len, mdlen = 0;
    EVP_MD_CTX *dc = EVP_MD_CTX_new();
    int ok = dc && EVP_DigestInit_ex(dc, EVP_sha256(), NULL) == 1;
    for (int more = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST); ok && more;
         more = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT)) {
        X509 *x = SSL_CTX_get0_certificate(ctx);
        if (x)
            ok =
                X509_digest(x, EVP_sha256(), buf, &len) == 1 && EVP_DigestUpdate(dc, buf, len) == 1;
    }
    STACK_OF(X509_NAME) *names = SSL_CTX_get_client_CA_list(ctx);
    for (int i = 0; ok && names && i < sk_X509_NAME_num(names); i++) {
        ok = X509_NAME_digest(sk_X509_NAME_value(names, i), EVP_sha256(), buf, &len) == 1 &&
             EVP_DigestUpdate(dc, buf, len) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(dc, md, &mdlen) == 1;
    EVP_MD_CTX_free(dc);
    if (ok && mdlen > SSL_MAX_SID_CTX_LENGTH)
        mdlen = SSL_MAX_SID_CTX_LENGTH;
    if (!ok || SSL_CTX_set_session_id_context(ctx, md, mdlen) != 1) {
        fc_tls_conf_error(cf, "SSL_CTX_set_session_id_context()", NULL);
        return FC_ERROR;
    }
    return FC_OK;
}

static int
tls_scache_shared_set(fc_conf_t *cf, SSL_CTX *ctx, fc_shm_zone_t *zone)
{
    tls_sess_ctx_t *sc = tls_sess_ctx(cf, ctx);
    fc_pool_cleanup_t *cln = sc ? fc_pool_cleanup_add(cf->pool, 0) : NULL;
    if (cln == NULL)
        return FC_ERROR;
    cln->handler = tls_sess_detach;
    cln->data = ctx;
    sc->zone = zone;
    SSL_CTX_sess_set_new_cb(ctx, tls_sess_new);
    SSL_CTX_sess_set_get_cb(ctx, tls_sess_get);
    SSL_CTX_sess_set_remove_cb(ctx, tls_sess_remove);
    return FC_OK;
}

int
fc_tls_session_cache_set(fc_conf_t *cf, SSL_CTX *ctx, const fc_tls_session_cache_conf_t *conf,
                         fc_msec_t timeout)
{
    /* The lifetime applies to tickets as well, whatever the cache. */
    SSL_CTX_set_timeout(ctx, (long) (timeout / 1000));
    if (tls_sid_ctx_set(cf, ctx) != FC_OK)
        return FC_ERROR;
    int builtin = conf->builtin == FC_UNSET ? FC_TLS_SCACHE_NONE : conf->builtin;
    if (builtin == FC_TLS_SCACHE_OFF) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        return FC_OK;
    }
    if (builtin == FC_TLS_SCACHE_NONE) {
        /*
         * Say sessions may be reused but keep none: some clients misbehave
         * when a server announces no reuse at all (nginx's reasoning).
         */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_AUTO_CLEAR |
                                                SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_cache_size(ctx, 1);
        return FC_OK;
    }
    long mode = SSL_SESS_CACHE_SERVER;
    if (conf->shm_zone && builtin == FC_TLS_SCACHE_NO_BUILTIN)
        mode |= SSL_SESS_CACHE_NO_INTERNAL;
    SSL_CTX_set_session_cache_mode(ctx, mode);
    if (builtin >= 0)
        SSL_CTX_sess_set_cache_size(ctx, builtin);
    return conf->shm_zone ? tls_scache_shared_set(cf, ctx, conf->shm_zone) : FC_OK;
}

/* ---- session tickets ------------------------------------------------------------- */

static void
tls_ticket_keys_wipe(void *data)
{
    fc_array_t *a = data;
    OPENSSL_cleanse(a->elts, a->nelts * a->size);
}

/* Reads a whole 48- or 80-byte key file into buf: its size, or FC_ERROR logged at the directive. */
static ssize_t
tls_ticket_file_read(fc_conf_t *cf, const char *path, unsigned char *buf)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fc_conf_log_error(FC_LOG_EMERG, cf, errno, "open() \"%s\" failed", path);
        return FC_ERROR;
    }
    struct stat st;
    ssize_t n = FC_ERROR;
    if (fstat(fd, &st) != 0) {
        fc_conf_log_error(FC_LOG_CRIT, cf, errno, "fstat() \"%s\" failed", path);
    } else if (st.st_size != 48 && st.st_size != 80) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "\"%s\" must be 48 or 80 bytes", path);
    } else {
        n = read(fd, buf, (size_t) st.st_size);
        if (n < 0)
            fc_conf_log_error(FC_LOG_CRIT, cf, errno, "read() \"%s\" failed", path);
        else if (n != st.st_size)
            fc_conf_log_error(FC_LOG_CRIT, cf, 0,
                              "read() \"%s\" returned only %zd bytes instead of %zu", path, n,
                              (size_t) st.st_size);
        if (n != st.st_size)
            n = FC_ERROR;
    }
    close(fd);
    return n;
}

/* nginx's layouts: 48 = name, AES-128 key, HMAC key; 80 = name, HMAC key, AES-256 key. */
static void
tls_ticket_key_split(fc_tls_ticket_key_t *key, const unsigned char *buf, size_t size)
{
    memset(key, 0, sizeof(*key));
    key->size = size;
    memcpy(key->name, buf, 16);
    if (size == 48) {
        memcpy(key->aes_key, buf + 16, 16);
        memcpy(key->hmac_key, buf + 32, 16);
    } else {
        memcpy(key->hmac_key, buf + 16, 32);
        memcpy(key->aes_key, buf + 48, 32);
    }
}

char *
fc_tls_session_ticket_key_slot(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_array_t **ap = (fc_array_t **) ((char *) conf + cmd->offset);
    fc_str_t name = fc_conf_args(cf)[1];
    if (fc_conf_full_name(cf->pool, &cf->cycle->conf_prefix, &name) != FC_OK)
        return FC_CONF_ERROR;
    unsigned char buf[80];
    ssize_t n = tls_ticket_file_read(cf, (const char *) name.data, buf);
    if (n < 0)
        return FC_CONF_ERROR;
    fc_tls_ticket_key_t key;
    tls_ticket_key_split(&key, buf, (size_t) n);
    OPENSSL_cleanse(buf, sizeof(buf));
    if (*ap == FC_UNSET_PTR || *ap == NULL) {
        *ap = fc_array_create(cf->pool, 4, sizeof(fc_tls_ticket_key_t));
        fc_pool_cleanup_t *cln = *ap ? fc_pool_cleanup_add(cf->pool, 0) : NULL;
        if (cln == NULL)
            return FC_CONF_ERROR;
        cln->handler = tls_ticket_keys_wipe;
        cln->data = *ap;
    }
    fc_tls_ticket_key_t *k = fc_array_push(*ap);
    if (k == NULL)
        return FC_CONF_ERROR;
    *k = key;
    OPENSSL_cleanse(&key, sizeof(key));
    return FC_CONF_OK;
}

/* AES-CBC key and HMAC-SHA256 key of one ticket key into the two contexts. */
static int
tls_ticket_key_use(const fc_tls_ticket_key_t *k, unsigned char *iv, EVP_CIPHER_CTX *ectx,
                   EVP_MAC_CTX *hctx, int enc)
{
    char digest[] = "SHA256";
    const EVP_CIPHER *cipher = k->size == 48 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *) k->hmac_key,
                                          k->size == 48 ? 16 : 32),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_CTX_set_params(hctx, params) != 1)
        return FC_ERROR;
    if (enc)
        return EVP_EncryptInit_ex(ectx, cipher, NULL, k->aes_key, iv) == 1 ? FC_OK : FC_ERROR;
    return EVP_DecryptInit_ex(ectx, cipher, NULL, k->aes_key, iv) == 1 ? FC_OK : FC_ERROR;
}

/*
 * enc: 1 a new ticket under the first key (fresh IV); 0 a received ticket,
 * by key name: 1 to accept, 2 to accept and renew under the first key, 0
 * for an unknown key (a full handshake), -1 on error.
 */
static int
tls_ticket_cb(SSL *ssl, unsigned char *name, unsigned char *iv, EVP_CIPHER_CTX *ectx,
              EVP_MAC_CTX *hctx, int enc)
{
    tls_sess_ctx_t *sc = tls_sess_ctx_get(SSL_get_SSL_CTX(ssl));
    if (sc == NULL || sc->keys == NULL || sc->keys->nelts == 0)
        return 0;
    const fc_tls_ticket_key_t *keys = sc->keys->elts;
    if (enc == 1) {
        int ivlen =
            EVP_CIPHER_get_iv_length(keys[0].size == 48 ? EVP_aes_128_cbc() : EVP_aes_256_cbc());
        if (RAND_bytes(iv, ivlen) != 1 || tls_ticket_key_use(&keys[0], iv, ectx, hctx, 1) != FC_OK)
            return -1;
        memcpy(name, keys[0].name, sizeof(keys[0].name));
        return 1;
    }
    for (size_t i = 0; i < sc->keys->nelts; i++) {
        if (memcmp(name, keys[i].name, sizeof(keys[i].name)) != 0)
            continue;
        if (tls_ticket_key_use(&keys[i], iv, ectx, hctx, 0) != FC_OK)
            return -1;
        return i == 0 ? 1 : 2;
    }
    return 0;
}

int
fc_tls_session_tickets_set(fc_conf_t *cf, SSL_CTX *ctx, int enable, const fc_array_t *keys)
{
    if (!enable) {
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        return FC_OK;
    }
    /*
     * Without key files OpenSSL's random per-context keys serve: the context
     * is built in the master before fork, so every worker has the same keys
     * and takes the others' tickets; a reload builds new contexts, new keys.
     */
    if (keys == NULL || keys->nelts == 0)
        return FC_OK;
    tls_sess_ctx_t *sc = tls_sess_ctx(cf, ctx);
    if (sc == NULL)
        return FC_ERROR;
    sc->keys = keys;
    if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tls_ticket_cb) != 1) {
        fc_tls_conf_error(cf, "SSL_CTX_set_tlsext_ticket_key_evp_cb()", NULL);
        return FC_ERROR;
    }
    return FC_OK;
}
