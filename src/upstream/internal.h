/*
 * internal.h: functions shared between the files of src/upstream only.
 * Nothing outside src/upstream includes this header.
 */
#ifndef FC_UPSTREAM_INTERNAL_H
#define FC_UPSTREAM_INTERNAL_H

#include "upstream/upstream.h"

/* 1 if peer i of the current set was already tried by this pick. */
int fc_upstream_pick_tried(const fc_upstream_pick_t *pick, size_t i);
/* Makes peer i of the current set the pick's peer: tried bit, conns++, checked. */
void fc_upstream_pick_take(fc_upstream_pick_t *pick, size_t i, fc_msec_t now);
/* Switches the pick to the backup set and clears tried; FC_DECLINED if none or already. */
int fc_upstream_pick_backup(fc_upstream_pick_t *pick);
/* 1 if peer i is neither tried nor unusable now. */
int fc_upstream_pick_eligible(const fc_upstream_pick_t *pick, size_t i, fc_msec_t now);

/* Smooth weighted round robin with single-peer and backup fallback; FC_OK or FC_BUSY. */
int fc_upstream_rr_get(fc_upstream_pick_t *pick, fc_msec_t now);
/* least_conn; FC_OK or FC_BUSY. */
int fc_upstream_least_conn_get(fc_upstream_pick_t *pick, fc_msec_t now);

/* Hash methods: state set up at pick init, then each get. */
void fc_upstream_hash_pick_init(fc_upstream_pick_t *pick);
int fc_upstream_hash_get(fc_upstream_pick_t *pick, fc_msec_t now);
int fc_upstream_chash_get(fc_upstream_pick_t *pick, fc_msec_t now);
int fc_upstream_ip_hash_get(fc_upstream_pick_t *pick, fc_msec_t now);
/* Builds the consistent hash ring of the group's primary servers. */
int fc_upstream_chash_init(fc_upstream_group_t *g);

/* random and random two; ranges built at group init. */
int fc_upstream_random_init(fc_upstream_group_t *g);
int fc_upstream_random_get(fc_upstream_pick_t *pick, fc_msec_t now);

/*
 * One pass of smooth weighted round robin over the current peer set, among
 * the eligible peers (only those `match` accepts with `arg`, when it is not
 * NULL). Returns the chosen index or -1; updates the weights as nginx does.
 */
ssize_t fc_upstream_rr_select(fc_upstream_pick_t *pick, fc_msec_t now,
                              int (*match)(const fc_upstream_peer_t *peer, const void *arg),
                              const void *arg);
/* conns_a / weight_a against conns_b / weight_b (cross-multiplied): <0, 0, >0. */
int fc_upstream_peer_load_cmp(const fc_upstream_peer_t *a, const fc_upstream_peer_t *b);

#endif
