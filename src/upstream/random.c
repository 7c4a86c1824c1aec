/*
 * random.c: `random` picks a peer with probability proportional to its
 * weight; `random two [least_conn]` draws two distinct usable peers and keeps
 * the one with fewer connections relative to weight (the second on a tie,
 * as nginx, which keeps the split near uniform under light load). Unusable draws are
 * retried, up to 20 in all for the pick, then round robin takes over.
 *
 * The PRNG (xorshift64*) state lives in the group: one per worker process
 * after fork, never shared; fc_upstream_group_seed() makes tests repeatable.
 */
#include "core/fc_core.h"
#include "upstream/upstream.h"
#include "upstream/internal.h"

void
fc_upstream_group_seed(fc_upstream_group_t *g, uint64_t seed)
{
    /* splitmix64 of the seed, so that 0 and small seeds give a good state. */
    uint64_t z = seed + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    g->rng = z ? z : 1;
}

static uint32_t
random_next(fc_upstream_group_t *g)
{
    uint64_t x = g->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    g->rng = x;
    return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}

int
fc_upstream_random_init(fc_upstream_group_t *g)
{
    fc_upstream_peers_t *peers = &g->primary;
    peers->ranges = fc_palloc(g->pool, peers->number * sizeof(int64_t));
    if (peers->ranges == NULL)
        return FC_ERROR;
    int64_t sum = 0;
    for (size_t i = 0; i < peers->number; i++) {
        sum += peers->peer[i].weight;
        peers->ranges[i] = sum;
    }
    return FC_OK;
}

/* A peer index drawn with probability weight / total_weight. */
static size_t
random_peek(fc_upstream_pick_t *pick)
{
    fc_upstream_peers_t *peers = pick->peers;
    uint64_t r = ((uint64_t)random_next(pick->group) << 32) | random_next(pick->group);
    int64_t x = (int64_t)(r % (uint64_t)peers->total_weight);
    size_t lo = 0, hi = peers->number - 1;
    while (lo < hi) { /* first range > x */
        size_t mid = lo + (hi - lo) / 2;
        if (peers->ranges[mid] <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Draws until a usable peer other than `not` comes up; -1 when the budget is spent. */
static ssize_t
random_draw(fc_upstream_pick_t *pick, ssize_t not, fc_msec_t now)
{
    while (pick->attempts <= FC_UPSTREAM_HASH_TRIES) {
        size_t i = random_peek(pick);
        if ((ssize_t)i != not &&fc_upstream_pick_eligible(pick, i, now))
            return (ssize_t)i;
        pick->attempts++;
    }
    return -1;
}

int
fc_upstream_random_get(fc_upstream_pick_t *pick, fc_msec_t now)
{
    fc_upstream_peers_t *peers = pick->peers;
    if (pick->attempts > FC_UPSTREAM_HASH_TRIES || peers->number < 2 || peers->ranges == NULL)
        return fc_upstream_rr_get(pick, now);
    ssize_t i = random_draw(pick, -1, now);
    if (i >= 0 && pick->group->two) {
        ssize_t j = random_draw(pick, i, now);
        if (j < 0)
            return fc_upstream_rr_get(pick, now);
        const fc_upstream_peer_t *a = &peers->peer[i], *b = &peers->peer[j];
        /* As nginx: the second draw wins unless it is the more loaded (ties too). */
        if (fc_upstream_peer_load_cmp(b, a) <= 0)
            i = j;
    }
    if (i < 0)
        return fc_upstream_rr_get(pick, now);
    fc_upstream_pick_take(pick, (size_t)i, now);
    return FC_OK;
}
