/* events.h: the events{} block (worker_connections and friends). */
#ifndef FC_EVENTS_H
#define FC_EVENTS_H

typedef struct {
    int64_t connections;
    int multi_accept;
    int accept_mutex;
    fc_msec_t accept_mutex_delay; /* accepted with accept_mutex: there is no mutex to wait for */
    fc_str_t use;
} fc_events_conf_t;

/* multi_accept of the cycle: 1 when on (nginx's default is off). */
int fc_events_multi_accept(fc_cycle_t *cycle);
/* worker_connections of the cycle (nginx's default 512). */
size_t fc_events_worker_connections(fc_cycle_t *cycle);

extern fc_module_t fc_events_module;

#endif
