/*
 * listen.h: listening sockets. The master opens one SO_REUSEPORT socket per
 * address and worker slot; worker i always gets socket i, across reloads
 * too, so no accept queue holding connections is ever closed.
 */
#ifndef FC_LISTEN_H
#define FC_LISTEN_H

#include "core/inet.h"

typedef void (*fc_listen_handler_pt)(fc_connection_t *c);

typedef struct fc_listening_s {
    fc_addr_t addr;
    int type; /* SOCK_STREAM or SOCK_DGRAM */
    int backlog;
    int rcvbuf;
    int sndbuf;
    unsigned reuseport:1; /* written in the config; we always use it per slot */
    unsigned opened:1;
    unsigned ssl:1; /* the layer terminates TLS on it (`listen ... ssl`) */
    int *fds; /* one per worker slot, -1 if not open */
    size_t nfds;
    fc_listen_handler_pt handler; /* the layer's new-connection handler */
    void *servers;                /* the layer's config for this address */
    const char *conf_file;        /* where the listen directive is */
    unsigned conf_line;
    fc_log_t *log;
    size_t pool_size;
} fc_listening_t;

/*
 * Adds a listening address to the cycle; an existing entry for the same
 * address and type is returned (so layers can detect a duplicate).
 */
fc_listening_t *fc_listening_add(fc_cycle_t *cycle, const fc_addr_t *addr, int type, int *existed);

/*
 * Opens the sockets of `cycle` for `slots` worker slots, taking over fds
 * from `old` for addresses present in both. In test mode only checks that
 * each TCP address can be bound. Errors, to `log`, name the listen
 * directive's file:line; an address in use is tried again as nginx does.
 */
int fc_listening_open(fc_cycle_t *cycle, fc_cycle_t *old, size_t slots, fc_log_t *log);
/* Closes the fds of `old` that `cycle` did not take over. */
void fc_listening_close_unused(fc_cycle_t *old, fc_cycle_t *cycle);
/* Closes every fd of a cycle (worker exit, master shutdown). */
void fc_listening_close_all(fc_cycle_t *cycle);
/* In a worker: closes every slot but `slot`, so each worker holds one fd per address. */
void fc_listening_keep_slot(fc_cycle_t *cycle, size_t slot);

/* Removes the files of unix-socket listeners (the master's last act, as nginx). */
void fc_listening_unlink_unix(fc_cycle_t *cycle);

#endif
