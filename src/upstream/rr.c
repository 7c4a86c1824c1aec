/*
 * rr.c: smooth weighted round robin, nginx's algorithm. Every eligible peer
 * adds its effective weight to its current weight; the largest current
 * weight wins and gives back the total. Weights 5:1:1 yield a a b a c a a.
 * Also the fallback of every other method.
 */
#include "core/fc_core.h"
#include "upstream/upstream.h"
#include "upstream/internal.h"

ssize_t
fc_upstream_rr_select(fc_upstream_pick_t *pick, fc_msec_t now,
                      int (*match)(const fc_upstream_peer_t *peer, const void *arg), const void *arg)
{
    fc_upstream_peers_t *peers = pick->peers;
    fc_upstream_peer_t *best = NULL;
    ssize_t best_i = -1;
    int64_t total = 0;
    for (size_t i = 0; i < peers->number; i++) {
        fc_upstream_peer_t *peer = &peers->peer[i];
        if ((match && !match(peer, arg)) || !fc_upstream_pick_eligible(pick, i, now))
            continue;
        peer->current_weight += peer->effective_weight;
        total += peer->effective_weight;
        if (peer->effective_weight < peer->weight)
            peer->effective_weight++;
        if (best == NULL || peer->current_weight > best->current_weight) {
            best = peer;
            best_i = (ssize_t) i;
        }
    }
    if (best)
        best->current_weight -= total;
    return best_i;
}

int
fc_upstream_rr_get(fc_upstream_pick_t *pick, fc_msec_t now)
{
    for (;;) {
        fc_upstream_peers_t *peers = pick->peers;
        if (peers->single) {
            /* The only server is tried even when it has failed, as nginx. */
            fc_upstream_peer_t *peer = &peers->peer[0];
            if (!peer->down && (peer->max_conns == 0 || peer->conns < peer->max_conns)) {
                fc_upstream_pick_take(pick, 0, now);
                return FC_OK;
            }
        } else {
            ssize_t i = fc_upstream_rr_select(pick, now, NULL, NULL);
            if (i >= 0) {
                fc_upstream_pick_take(pick, (size_t)i, now);
                return FC_OK;
            }
        }
        if (fc_upstream_pick_backup(pick) != FC_OK)
            return FC_BUSY;
    }
}
