/*
 * least_conn.c: the peer with the fewest active connections relative to its
 * weight (conns / weight, compared by cross-multiplying); ties are broken by
 * smooth weighted round robin among the tied peers, as nginx does.
 */
#include "core/fc_core.h"
#include "upstream/upstream.h"
#include "upstream/internal.h"

int
fc_upstream_peer_load_cmp(const fc_upstream_peer_t *a, const fc_upstream_peer_t *b)
{
    int64_t l = (int64_t)a->conns * b->weight, r = (int64_t)b->conns * a->weight;
    return l < r ? -1 : l > r;
}

static int
lc_tied(const fc_upstream_peer_t *peer, const void *lead)
{
    return fc_upstream_peer_load_cmp(peer, lead) == 0;
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
        int c = best < 0 ? -1 : fc_upstream_peer_load_cmp(&peers->peer[i], &peers->peer[best]);
        if (c < 0) {
            best = (ssize_t)i;
            many = 0;
        } else if (c == 0) {
            many = 1;
        }
    }
    /* Ties are broken by round robin among the tied peers, as nginx does. */
    if (best >= 0 && many)
        best = fc_upstream_rr_select(pick, now, lc_tied, &peers->peer[best]);
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
