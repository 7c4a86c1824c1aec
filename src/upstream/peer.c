/*
 * peer.c: per-connection pick state and the rules every method shares:
 * eligibility (down, max_fails within fail_timeout, max_conns), the tried
 * bitmap, the tries budget, backup fallback and failure accounting.
 */
#include "core/fc_core.h"
#include "upstream/upstream.h"
#include "upstream/internal.h"

int
fc_upstream_peer_usable(const fc_upstream_peer_t *peer, fc_msec_t now)
{
    if (peer->down)
        return 0;
    if (peer->max_fails && peer->fails >= peer->max_fails &&
        now - peer->checked <= peer->fail_timeout)
        return 0;
    if (peer->max_conns && peer->conns >= peer->max_conns)
        return 0;
    return 1;
}

int
fc_upstream_pick_tried(const fc_upstream_pick_t *pick, size_t i)
{
    return (pick->tried[i / 64] >> (i % 64)) & 1;
}

int
fc_upstream_pick_eligible(const fc_upstream_pick_t *pick, size_t i, fc_msec_t now)
{
    return !fc_upstream_pick_tried(pick, i) && fc_upstream_peer_usable(&pick->peers->peer[i], now);
}

void
fc_upstream_pick_take(fc_upstream_pick_t *pick, size_t i, fc_msec_t now)
{
    fc_upstream_peer_t *peer = &pick->peers->peer[i];
    pick->tried[i / 64] |= (uint64_t)1 << (i % 64);
    peer->conns++;
    /* A new failure window starts when the old one has expired. */
    if (now - peer->checked > peer->fail_timeout)
        peer->checked = now;
    pick->peer = peer;
}

int
fc_upstream_pick_backup(fc_upstream_pick_t *pick)
{
    fc_upstream_group_t *g = pick->group;
    if (pick->peers == &g->backup || g->backup.number == 0)
        return FC_DECLINED;
    pick->peers = &g->backup;
    memset(pick->tried, 0, pick->tried_words * sizeof(uint64_t));
    return FC_OK;
}

int
fc_upstream_pick_init(fc_upstream_pick_t *pick, fc_upstream_group_t *g, fc_pool_t *pool,
                      const fc_str_t *key)
{
    FC_ASSERT(g->initialized);
    memset(pick, 0, sizeof(*pick));
    pick->group = g;
    pick->peers = &g->primary;
    pick->tries = (unsigned)(g->primary.number + g->backup.number);
    size_t n = fc_max(g->primary.number, g->backup.number);
    pick->tried_words = (n + 63) / 64;
    if (pick->tried_words <= 1) {
        pick->tried = &pick->tried_inline;
        pick->tried_words = 1;
    } else {
        pick->tried = fc_pcalloc(pool, pick->tried_words * sizeof(uint64_t));
        if (pick->tried == NULL)
            return FC_ERROR;
    }
    if (key)
        pick->key = *key;
    /* ip_hash without a known client: every such client hashes alike, as nginx. */
    pick->addrlen = 3;
    if (g->method == FC_UPSTREAM_HASH)
        fc_upstream_hash_pick_init(pick);
    if (g->method == FC_UPSTREAM_IP_HASH)
        pick->hash = 89;
    return FC_OK;
}

void
fc_upstream_pick_client(fc_upstream_pick_t *pick, const struct sockaddr *sa)
{
    memset(pick->addr, 0, sizeof(pick->addr));
    pick->addrlen = 3;
    if (sa->sa_family == AF_INET) {
        memcpy(pick->addr, &((const struct sockaddr_in *)sa)->sin_addr, 3);
    } else if (sa->sa_family == AF_INET6) {
        const unsigned char *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a, v4mapped, 12) == 0) {
            memcpy(pick->addr, a + 12, 3);
        } else {
            memcpy(pick->addr, a, 16);
            pick->addrlen = 16;
        }
    }
}

int
fc_upstream_pick_next(fc_upstream_pick_t *pick, fc_msec_t now)
{
    FC_ASSERT(!pick->active);
    if (pick->tries == 0)
        return FC_BUSY;
    int rc;
    switch (pick->group->method) {
    case FC_UPSTREAM_LEAST_CONN:
        rc = fc_upstream_least_conn_get(pick, now);
        break;
    case FC_UPSTREAM_HASH:
        rc = pick->group->consistent ? fc_upstream_chash_get(pick, now)
                                     : fc_upstream_hash_get(pick, now);
        break;
    case FC_UPSTREAM_IP_HASH:
        rc = fc_upstream_ip_hash_get(pick, now);
        break;
    case FC_UPSTREAM_RANDOM:
        rc = fc_upstream_random_get(pick, now);
        break;
    default:
        rc = fc_upstream_rr_get(pick, now);
        break;
    }
    if (rc != FC_OK)
        return FC_BUSY;
    pick->tries--;
    pick->active = 1;
    return FC_OK;
}

int
fc_upstream_pick_done(fc_upstream_pick_t *pick, fc_msec_t now, fc_upstream_state_e state)
{
    fc_upstream_peer_t *peer = pick->peer;
    int rc = FC_OK;
    FC_ASSERT(pick->active && peer != NULL);
    pick->active = 0;
    if (peer->conns)
        peer->conns--;
    if (pick->peers->single) {
        pick->tries = 0; /* the only server: no accounting, no second try */
        return FC_OK;
    }
    if (state != FC_UPSTREAM_PEER_FAILED) {
        /* A success after the failure window was reopened clears the count. */
        if (peer->accessed < peer->checked)
            peer->fails = 0;
        return FC_OK;
    }
    peer->fails++;
    peer->accessed = now;
    peer->checked = now;
    if (peer->max_fails) {
        peer->effective_weight -= peer->weight / (int)peer->max_fails;
        if (peer->fails >= peer->max_fails) {
            rc = FC_DECLINED;
            if (pick->log)
                fc_log_error(FC_LOG_WARN, pick->log, 0, "upstream server temporarily disabled");
        }
    }
    if (peer->effective_weight < 0)
        peer->effective_weight = 0;
    return rc;
}
