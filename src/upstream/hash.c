/*
 * hash.c: `hash KEY`, `hash KEY consistent` (ketama ring) and `ip_hash`.
 *
 * Plain hash (compatible with Cache::Memcached, as nginx):
 *   h += (crc32([ATTEMPT] KEY) >> 16) & 0x7fff, peer = weighted slot h % total
 * with the attempt number prefixed from the second attempt on. Consistent
 * hash: 160 points per unit of weight, point j of a server being
 * crc32(host "\0" port prev_point_le32); the key's crc32 lands on the first
 * point at or after it. ip_hash: h = (h * 113 + byte) % 6271 from 89 over
 * the client address bytes. A peer that is unusable makes all three try
 * again (next attempt, next point); after 20 attempts, round robin.
 */
#include "core/fc_core.h"
#include "upstream/upstream.h"
#include "upstream/internal.h"

/* The peer whose weighted slot holds w (0 <= w < total_weight). */
static size_t
hash_slot(const fc_upstream_peers_t *peers, uint64_t w)
{
    size_t i = 0;
    while (w >= (uint64_t)peers->peer[i].weight) {
        w -= (uint64_t)peers->peer[i].weight;
        i++;
    }
    return i;
}

void
fc_upstream_hash_pick_init(fc_upstream_pick_t *pick)
{
    fc_upstream_group_t *g = pick->group;
    if (!g->consistent || g->npoints == 0)
        return;
    /* Binary search for the first point >= crc32(key); npoints means wrap. */
    uint32_t h = fc_crc32(pick->key.data, pick->key.len);
    size_t lo = 0, hi = g->npoints;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (g->points[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    pick->hash = (uint32_t)lo;
}

int
fc_upstream_hash_get(fc_upstream_pick_t *pick, fc_msec_t now)
{
    fc_upstream_peers_t *peers = pick->peers;
    if (pick->attempts > FC_UPSTREAM_HASH_TRIES || peers->number < 2 || pick->key.len == 0)
        return fc_upstream_rr_get(pick, now);
    for (;;) {
        uint32_t crc = 0;
        if (pick->attempts > 0) {
            char buf[16];
            int n = snprintf(buf, sizeof(buf), "%u", pick->attempts);
            crc = fc_crc32_update(crc, (const unsigned char *)buf, (size_t)n);
        }
        crc = fc_crc32_update(crc, pick->key.data, pick->key.len);
        pick->hash += (crc >> 16) & 0x7fff;
        pick->attempts++;
        size_t i = hash_slot(peers, pick->hash % (uint64_t)peers->total_weight);
        if (fc_upstream_pick_eligible(pick, i, now)) {
            fc_upstream_pick_take(pick, i, now);
            return FC_OK;
        }
        if (pick->attempts > FC_UPSTREAM_HASH_TRIES)
            return fc_upstream_rr_get(pick, now);
    }
}

int
fc_upstream_ip_hash_get(fc_upstream_pick_t *pick, fc_msec_t now)
{
    fc_upstream_peers_t *peers = pick->peers;
    if (pick->attempts > FC_UPSTREAM_HASH_TRIES || peers->number < 2)
        return fc_upstream_rr_get(pick, now);
    uint32_t h = pick->hash; /* 89 at pick init, then where the last pick ended */
    for (;;) {
        for (unsigned k = 0; k < pick->addrlen; k++)
            h = (h * 113 + pick->addr[k]) % 6271;
        size_t i = hash_slot(peers, h % (uint64_t)peers->total_weight);
        if (fc_upstream_pick_eligible(pick, i, now)) {
            pick->hash = h;
            fc_upstream_pick_take(pick, i, now);
            return FC_OK;
        }
        if (++pick->attempts > FC_UPSTREAM_HASH_TRIES)
            return fc_upstream_rr_get(pick, now);
    }
}

static int
chash_same_server(const fc_upstream_peer_t *peer, const void *server)
{
    return fc_str_eq(peer->server, server);
}

int
fc_upstream_chash_get(fc_upstream_pick_t *pick, fc_msec_t now)
{
    fc_upstream_group_t *g = pick->group;
    if (pick->attempts > FC_UPSTREAM_HASH_TRIES || pick->peers->number < 2 || pick->key.len == 0 ||
        g->npoints == 0)
        return fc_upstream_rr_get(pick, now);
    for (;;) {
        const fc_str_t *server = g->points[pick->hash % g->npoints].server;
        ssize_t i = fc_upstream_rr_select(pick, now, chash_same_server, server);
        if (i >= 0) {
            fc_upstream_pick_take(pick, (size_t)i, now);
            return FC_OK;
        }
        pick->hash++;
        if (++pick->attempts > FC_UPSTREAM_HASH_TRIES)
            return fc_upstream_rr_get(pick, now);
    }
}

/* Splits "host:port" as nginx's ketama does: unix paths and names without a port. */
static void
chash_split(const fc_str_t *name, fc_str_t *host, fc_str_t *port)
{
    *host = *name;
    fc_str_set(port, "80");
    if (name->len >= 5 && fc_strncasecmp(name->data, (const unsigned char *)"unix:", 5) == 0) {
        host->data += 5;
        host->len -= 5;
        port->len = 0;
        return;
    }
    for (size_t j = 0; j < name->len; j++) {
        unsigned char c = name->data[name->len - j - 1];
        if (c == ':') {
            host->len = name->len - j - 1;
            port->data = name->data + name->len - j;
            port->len = j;
            return;
        }
        if (c < '0' || c > '9')
            return;
    }
}

/* Appends the points of one server to the ring. */
static void
chash_server_points(fc_upstream_group_t *g, const fc_upstream_server_t *s)
{
    fc_str_t host, port;
    chash_split(&s->name, &host, &port);
    uint32_t base = fc_crc32_update(0, host.data, host.len);
    base = fc_crc32_update(base, (const unsigned char *)"", 1);
    base = fc_crc32_update(base, port.data, port.len);
    uint32_t prev = 0;
    for (size_t j = 0; j < (size_t)s->weight * FC_UPSTREAM_KETAMA_POINTS; j++) {
        unsigned char le[4] = {(unsigned char)prev, (unsigned char)(prev >> 8),
                               (unsigned char)(prev >> 16), (unsigned char)(prev >> 24)};
        uint32_t h = fc_crc32_update(base, le, 4);
        g->points[g->npoints].hash = h;
        g->points[g->npoints].server = &s->name;
        g->npoints++;
        prev = h;
    }
}

static int
chash_point_cmp(const void *a, const void *b)
{
    uint32_t x = ((const fc_upstream_point_t *)a)->hash;
    uint32_t y = ((const fc_upstream_point_t *)b)->hash;
    return x < y ? -1 : x > y;
}

int
fc_upstream_chash_init(fc_upstream_group_t *g)
{
    const fc_upstream_server_t *s = g->servers.elts;
    size_t n = 0;
    for (size_t i = 0; i < g->servers.nelts; i++) {
        if (s[i].backup)
            continue;
        if ((size_t)s[i].weight >
            (SIZE_MAX / sizeof(fc_upstream_point_t) - n) / FC_UPSTREAM_KETAMA_POINTS)
            return FC_ERROR;
        n += (size_t)s[i].weight * FC_UPSTREAM_KETAMA_POINTS;
    }
    g->points = fc_palloc(g->pool, n * sizeof(fc_upstream_point_t));
    if (g->points == NULL)
        return FC_ERROR;
    g->npoints = 0;
    for (size_t i = 0; i < g->servers.nelts; i++) {
        if (!s[i].backup)
            chash_server_points(g, &s[i]);
    }
    qsort(g->points, g->npoints, sizeof(fc_upstream_point_t), chash_point_cmp);
    /* Equal hashes (a name listed twice) keep only their first point. */
    size_t k = g->npoints ? 1 : 0;
    for (size_t i = 1; i < g->npoints; i++) {
        if (g->points[i].hash != g->points[k - 1].hash)
            g->points[k++] = g->points[i];
    }
    g->npoints = k;
    return FC_OK;
}
