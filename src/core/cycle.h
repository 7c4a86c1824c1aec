/*
 * cycle.h: one configuration generation. A cycle owns a pool holding every
 * conf struct, its open log files and its listening sockets. A reload builds
 * a new cycle next to the running one; only a fully valid one replaces it.
 */
#ifndef FC_CYCLE_H
#define FC_CYCLE_H

#include "core/conf.h"
#include "core/module.h"

typedef struct {
    int daemon;
    int master;
    int worker_processes;
    fc_str_t pid;
    int64_t rlimit_nofile;
    fc_msec_t shutdown_timeout;
    fc_str_t user;
    fc_str_t group;
} fc_core_conf_t;

typedef struct {
    fc_str_t prefix;      /* -p, with a trailing slash */
    fc_str_t conf_file;   /* -c, absolute */
    fc_str_t conf_param;  /* -g */
    int test_only;        /* -t / -T: parse and check, do not serve */
    int signal_only;      /* -s: parse to find the pid file, no sockets */
} fc_cycle_params_t;

struct fc_cycle_s {
    void **conf_ctx; /* per module index: core modules' confs */
    fc_pool_t *pool;
    fc_log_t *log;   /* where this cycle's errors go */
    fc_log_t new_log;
    fc_str_t prefix;
    fc_str_t conf_file;
    fc_str_t conf_prefix; /* folder of conf_file: base of include */
    fc_str_t conf_param;
    fc_conf_file_t *conf_files; /* every file read, in order, for -T */
    fc_array_t listening;       /* fc_listening_t */
    fc_open_file_t *open_files;
    struct fc_shm_zone_s *shm_zones; /* core/shm.h: declared while parsing, mapped by init */
    unsigned test_only:1;
    unsigned signal_only:1;
    unsigned generation;
    size_t connection_n;
    struct fc_worker_s *worker; /* set inside a worker process */
};

/*
 * Builds a cycle from the files named in params. `old` (or NULL) is the
 * running cycle: its log receives the errors and its listening sockets are
 * reused for the same addresses. Returns NULL if the config is invalid.
 */
fc_cycle_t *fc_cycle_init(fc_cycle_t *old, const fc_cycle_params_t *params, fc_log_t *log);
/* Frees a cycle's pool, closing files; listening fds must be handled first. */
void fc_cycle_destroy(fc_cycle_t *cycle);

/* An open file shared by the cycle's logs; opened in fc_cycle_init. */
fc_open_file_t *fc_cycle_open_file(fc_cycle_t *cycle, const fc_str_t *name);
/* Reopens every file (USR1); logs failures to the cycle's log. */
void fc_cycle_reopen_files(fc_cycle_t *cycle);

/* The main-context conf of a core module. */
#define fc_cycle_core_conf(cycle, module) ((cycle)->conf_ctx[(module).index])

extern fc_module_t fc_core_module;

#endif
