/*
 * process.h: signals, the pid file, daemonizing, and the worker/master
 * entry points. Signal handlers only set the flags below; the loops act on
 * them, so nothing async-signal-unsafe runs in a handler.
 */
#ifndef FC_PROCESS_H
#define FC_PROCESS_H

#include <signal.h>

/* What the signal handlers have seen since the flags were last cleared. */
typedef struct {
    volatile sig_atomic_t reconfigure; /* HUP */
    volatile sig_atomic_t quit;        /* QUIT: graceful */
    volatile sig_atomic_t terminate;   /* TERM, INT: fast */
    volatile sig_atomic_t reopen;      /* USR1 */
    volatile sig_atomic_t child;       /* CHLD */
    volatile sig_atomic_t alarm;       /* ALRM: respawn back-off elapsed */
    volatile sig_atomic_t upgrade;     /* USR2: nginx's binary upgrade, not supported */
    volatile sig_atomic_t winch;       /* WINCH: nginx's "stop the workers", not supported */
    volatile sig_atomic_t term_signo;  /* TERM or INT: which one */
    volatile sig_atomic_t sender[NSIG]; /* per signal number: the pid that sent the last one */
} fc_signal_flags_t;

/*
 * Logs nginx's "signal N (SIGX) received from PID, ACTION" line for the
 * last signo the process got (NOTICE; "from PID" only when a process sent it).
 */
void fc_signal_log_received(fc_log_t *log, int signo, const char *action);

/* The process's signal flags (the only state a handler may touch). */
fc_signal_flags_t *fc_signals(void);
/* Installs the handlers; blocks them when `block` (the master uses sigsuspend). */
int fc_signals_init(int block);
/* Restores default dispositions and an empty mask (in a forked child). */
void fc_signals_child_reset(void);

/* Writes "pid\n" to path; FC_ERROR (logged) on failure. */
int fc_pidfile_write(const fc_str_t *path, fc_log_t *log);
/* Reads the pid in path; -1 (logged) on failure. */
pid_t fc_pidfile_read(const fc_str_t *path, fc_log_t *log);
/* Sends "stop|quit|reload|reopen" to the master named in the pid file. */
int fc_process_signal(fc_cycle_t *cycle, const char *name);

/* Forks into the background; the parent exits 0. */
int fc_daemonize(fc_log_t *log);

/* Runs a worker for `slot` of `cycle`; never returns. */
__attribute__((noreturn)) void fc_worker_process(fc_cycle_t *cycle, size_t slot,
                                                  int single_process);
/* Runs the master until QUIT/TERM; returns the exit code. */
int fc_master_process(fc_cycle_t *cycle, const fc_cycle_params_t *params);
/* Runs one process serving traffic itself (master_process off); returns the exit code. */
int fc_single_process(fc_cycle_t *cycle);

#endif
