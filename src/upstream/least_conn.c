/*
 * least_conn.c: the peer with the fewest active connections relative to its
 * weight (conns / weight, compared by cross-multiplying); ties are broken by
 * smooth weighted round robin among the tied peers, as nginx does.
 */
#include "core/fc_core.h"
#include "upstream/upstream.h"
#include "upstream/internal.h"

/* conns_a / weight_a compared with conns_b / weight_b: <0, 0, >0. */
static int
lc_cmp(const fc_upstream_peer_t *a, const fc_upstream_peer_t *b)
{
    int64_t l = (int64_t)a->conns * b->weight, r = (int64_t)b->conns * a->weight;
    return l < r ? -1 : l > r;
}

/* Round robin among the eligible peers tied with best, from index first on. */
static size_t
lc_break_tie(fc_upstream_pick_t *pick, size_t first, fc_msec_t now)
{
    fc_upstream_peers_t *peers = pick->peers;
    fc_upstream_peer_t *best = &peers->peer[first], *lead = best;
    size_t best_i = first;
    int64_t total = 0;
    for (size_t i = first; i < peers->number; i++) {
        fc_upstream_peer_t *peer = &peers->peer[i];
        if (!fc_upstream_pick_eligible(pick, i, now) || lc_cmp(peer, lead) != 0)
            continue;
        peer->current_weight += peer->effective_weight;
        total += peer->effective_weight;
        if (peer->effective_weight < peer->weight)
            peer->effective_weight++;
        if (peer->current_weight > best->current_weight) {
            best = peer;
            best_i = i;
        }
    }
    best->current_weight -= total;
    return best_i;
}

/* The least loaded eligible peer of the current set, or -1. */
static ssize_t
lc_choose(fc_upstream_pick_t *pick, fc_msec_t now)
{
    fc_upstream_peers_t *peers = pick->peers;
    ssize_t best = -1;
    int many = 0;
    for (size_t i = 0; i < peers->number; i++) {
        if (!fc_upstream_pick_eligible(pick, i, now))
            continue;
        int c = best < 0 ? -1 : lc_cmp(&peers->peer[i], &peers->peer[best]);
        if (c < 0) {
            best = (ssize_t)i;
            many = 0;
        } else if (c == 0) {
            many = 1;
        }
    }
    if (best >= 0 && many)
        best = (ssize_t)lc_break_tie(pick, (size_t)best, now);
    return best;
}

int
fc_upstream_least_conn_get(fc_upstream_pick_t *pick, fc_msec_t now)
{
    if (pick->peers->single)
        return fc_upstream_rr_get(pick, now);
    for (;;) {
        ssize_t i = lc_choose(pick, now);
        if (i >= 0) {
            fc_upstream_pick_take(pick, (size_t)i, now);
            return FC_OK;
        }
        if (fc_upstream_pick_backup(pick) != FC_OK)
            return FC_BUSY;
    }
}
