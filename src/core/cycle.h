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
    char *username; /* user, resolved at load when the master is root; else NULL */
    uid_t uid;      /* ... to these ids */
    gid_t gid;
    int priority;               /* worker_priority (with priority_set) */
    int64_t rlimit_core;        /* worker_rlimit_core; FC_UNSET: left alone */
    fc_array_t *cpu_masks;      /* worker_cpu_affinity: cpu_set_t; NULL: not given */
    fc_str_t working_directory; /* chdir of the workers; empty: none */
    fc_array_t *env;            /* env: fc_str_t "NAME" or "NAME=VALUE" */
    fc_msec_t timer_resolution; /* accepted: time is read after every wait anyway */
    fc_str_t lock_file;         /* accepted: no accept mutex to lock */
    int pcre_jit;               /* accepted: regexes are JIT-compiled where PCRE2 can */
    unsigned priority_set : 1;
    unsigned cpu_auto : 1;
} fc_core_conf_t;

/* core_module.c: an error_log directive's destination into the chain at head. */
char *fc_conf_error_log(fc_conf_t *cf, fc_log_t *head);
/* The same for a level's own chain at *slot, made on first use (http, stream levels). */
char *fc_conf_error_log_at(fc_conf_t *cf, fc_log_t **slot);

/* core_tuning.c: the worker-tuning directives, and what a worker applies of them. */
char *fc_core_set_priority(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
char *fc_core_set_cpu_affinity(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
char *fc_core_set_rlimit_core(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
char *fc_core_set_env(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
char *fc_core_set_thread_pool(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
char *fc_core_load_module(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
/*
 * The worker's environment, as nginx's: TZ and the variables env names are
 * kept (inherited, or set for "NAME=VALUE"), every other one is removed.
 */
void fc_core_worker_env(const fc_core_conf_t *ccf, fc_pool_t *pool);
/* At worker start, before dropping privileges: priority, core limit, CPUs, environment. */
void fc_core_tune_worker(fc_cycle_t *cycle, size_t slot, fc_log_t *log);
/* After dropping privileges: working_directory. */
void fc_core_tune_worker_dir(fc_cycle_t *cycle, fc_log_t *log);

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
