/*
 * master.c: the master process. It never handles traffic: it forks the
 * workers, respawns one that dies (with a back-off if it keeps dying at
 * start), rebuilds the config on HUP without letting go of a listening
 * socket, and stops the workers on QUIT/TERM.
 */
#include "core/fc_core.h"
#include "core/cycle.h"
#include "core/process.h"
#include "core/worker.h"

#include <sys/time.h>
#include <sys/wait.h>

#define MASTER_MAX_PROCS 2048
#define MASTER_QUICK_DEATH_MS 1000
#define MASTER_MAX_BACKOFF_MS 5000

typedef struct {
    pid_t pid;
    size_t slot;
    unsigned generation;
    unsigned exiting:1; /* told to stop: do not respawn */
    fc_msec_t started;
} master_proc_t;

typedef struct {
    fc_cycle_t *cycle;
    const fc_cycle_params_t *params;
    master_proc_t procs[MASTER_MAX_PROCS];
    size_t nprocs;
    /* Per slot: consecutive quick deaths and when a delayed respawn is due (0: none). */
    unsigned quick_deaths[1024];
    fc_msec_t respawn_at[1024];
    unsigned stopping:1;
} master_t;

static int
master_spawn(master_t *m, size_t slot)
{
    if (m->nprocs == MASTER_MAX_PROCS)
        return FC_ERROR;
    pid_t pid = fork();
    if (pid < 0) {
        fc_log_error(FC_LOG_ALERT, m->cycle->log, errno, "fork() failed while spawning worker");
        return FC_ERROR;
    }
    if (pid == 0)
        fc_worker_process(m->cycle, slot, 0);
    master_proc_t *p = &m->procs[m->nprocs++];
    p->pid = pid;
    p->slot = slot;
    p->generation = m->cycle->generation;
    p->exiting = 0;
    p->started = fc_current_msec();
    fc_log_error(FC_LOG_NOTICE, m->cycle->log, 0, "start worker process %d", (int) pid);
    return FC_OK;
}

static size_t
master_workers(fc_cycle_t *cycle)
{
    fc_core_conf_t *ccf = fc_cycle_core_conf(cycle, fc_core_module);
    return (size_t) ccf->worker_processes;
}

static void
master_signal_workers(master_t *m, int signo, int mark_exiting)
{
    for (size_t i = 0; i < m->nprocs; i++) {
        if (mark_exiting)
            m->procs[i].exiting = 1;
        if (kill(m->procs[i].pid, signo) < 0 && errno != ESRCH)
            fc_log_error(FC_LOG_ALERT, m->cycle->log, errno, "kill(%d, %d) failed",
                         (int) m->procs[i].pid, signo);
    }
}

static void
master_schedule_respawn(master_t *m, master_proc_t *p)
{
    fc_msec_t now = fc_current_msec();
    size_t slot = p->slot;
    if (now - p->started < MASTER_QUICK_DEATH_MS)
        m->quick_deaths[slot]++;
    else
        m->quick_deaths[slot] = 0;
    fc_msec_t delay = 0;
    if (m->quick_deaths[slot] > 1) {
        unsigned shift = fc_min(m->quick_deaths[slot] - 2, 6u);
        delay = fc_min((fc_msec_t) 100 << shift, (fc_msec_t) MASTER_MAX_BACKOFF_MS);
    }
    if (delay == 0) {
        master_spawn(m, slot);
        return;
    }
    fc_log_error(FC_LOG_ALERT, m->cycle->log, 0,
                 "worker process for slot %zu keeps dying, respawning in %" PRId64 "ms", slot,
                 delay);
    m->respawn_at[slot] = now + delay;
}

static void
master_log_exit(master_t *m, pid_t pid, int status)
{
    if (WIFSIGNALED(status)) {
        fc_log_error(FC_LOG_ALERT, m->cycle->log, 0, "worker process %d exited on signal %d%s",
                     (int) pid, WTERMSIG(status), WCOREDUMP(status) ? " (core dumped)" : "");
    } else {
        fc_log_error(WEXITSTATUS(status) ? FC_LOG_ALERT : FC_LOG_NOTICE, m->cycle->log, 0,
                     "worker process %d exited with code %d", (int) pid, WEXITSTATUS(status));
    }
}

static void
master_reap(master_t *m)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        size_t i = 0;
        while (i < m->nprocs && m->procs[i].pid != pid)
            i++;
        if (i == m->nprocs)
            continue;
        master_proc_t p = m->procs[i];
        m->procs[i] = m->procs[--m->nprocs];
        master_log_exit(m, pid, status);
        int current = p.generation == m->cycle->generation && p.slot < master_workers(m->cycle);
        if (p.exiting || m->stopping || !current)
            continue;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
            /* As nginx: code 2 is a worker that cannot start (user, init); respawning cannot help.
             */
            fc_log_error(FC_LOG_ALERT, m->cycle->log, 0,
                         "worker process %d exited with fatal code 2 and cannot be respawned",
                         (int) pid);
            continue;
        }
        master_schedule_respawn(m, &p);
    }
}

static void
master_arm_alarm(master_t *m)
{
    fc_msec_t now = fc_current_msec(), next = 0;
    for (size_t s = 0; s < fc_nelems(m->respawn_at); s++) {
        if (m->respawn_at[s] && (next == 0 || m->respawn_at[s] < next))
            next = m->respawn_at[s];
    }
    struct itimerval it = {{0, 0}, {0, 0}};
    if (next) {
        fc_msec_t d = next > now ? next - now : 1;
        it.it_value.tv_sec = d / 1000;
        it.it_value.tv_usec = (d % 1000) * 1000;
    }
    setitimer(ITIMER_REAL, &it, NULL);
}

static void
master_respawn_due(master_t *m)
{
    fc_msec_t now = fc_current_msec();
    for (size_t s = 0; s < fc_nelems(m->respawn_at); s++) {
        if (m->respawn_at[s] && m->respawn_at[s] <= now) {
            m->respawn_at[s] = 0;
            if (!m->stopping && s < master_workers(m->cycle))
                master_spawn(m, s);
        }
    }
}

static void
master_reload(master_t *m)
{
    fc_log_error(FC_LOG_NOTICE, m->cycle->log, 0, "reconfiguring");
    fc_cycle_t *old = m->cycle;
    fc_cycle_t *cycle = fc_cycle_init(old, m->params, old->log);
    if (cycle == NULL) {
        fc_log_error(FC_LOG_ALERT, old->log, 0,
                     "reconfiguration failed: the running configuration stays in effect");
        return;
    }
    fc_core_conf_t *occf = fc_cycle_core_conf(old, fc_core_module);
    fc_core_conf_t *ccf = fc_cycle_core_conf(cycle, fc_core_module);
    if (!fc_str_eq(&occf->pid, &ccf->pid)) {
        if (fc_pidfile_write(&ccf->pid, cycle->log) == FC_OK)
            unlink((const char *) occf->pid.data);
    }
    /* Old workers drain; new ones start on the same per-slot sockets. */
    master_signal_workers(m, SIGQUIT, 1);
    m->cycle = cycle;
    memset(m->respawn_at, 0, sizeof(m->respawn_at));
    memset(m->quick_deaths, 0, sizeof(m->quick_deaths));
    /*
     * Close the sockets the new config does not use (slots beyond a smaller
     * worker_processes, removed addresses) before forking: a new worker
     * would inherit them, and the kernel would keep sending a share of the
     * connections to a reuseport socket that nobody accepts on.
     */
    fc_listening_close_unused(old, cycle);
    for (size_t s = 0; s < master_workers(cycle); s++)
        master_spawn(m, s);
    fc_cycle_destroy(old);
}

static void
master_shutdown_wait(master_t *m, int signo)
{
    m->stopping = 1;
    master_signal_workers(m, signo, 1);
    sigset_t empty;
    sigemptyset(&empty);
    fc_msec_t kill_at = signo == SIGTERM ? fc_current_msec() + 5000 : 0;
    while (m->nprocs > 0) {
        if (kill_at) {
            struct itimerval it = {{0, 0}, {0, 200000}};
            setitimer(ITIMER_REAL, &it, NULL);
        }
        sigsuspend(&empty);
        fc_time_update();
        master_reap(m);
        fc_signal_flags_t *sig = fc_signals();
        if (sig->terminate && signo == SIGQUIT) {
            signo = SIGTERM; /* a TERM during a graceful stop makes it fast */
            master_signal_workers(m, SIGTERM, 1);
            kill_at = fc_current_msec() + 5000;
        }
        if (kill_at && fc_current_msec() >= kill_at) {
            master_signal_workers(m, SIGKILL, 1);
            kill_at = 0;
        }
    }
}

static int
master_loop(master_t *m)
{
    fc_signal_flags_t *sig = fc_signals();
    sigset_t empty;
    sigemptyset(&empty);
    for (;;) {
        master_arm_alarm(m);
        sigsuspend(&empty);
        fc_time_update();
        if (sig->child) {
            sig->child = 0;
            master_reap(m);
        }
        if (sig->alarm) {
            sig->alarm = 0;
            master_respawn_due(m);
        }
        if (sig->terminate) {
            fc_signal_log_received(m->cycle->log, sig->term_signo, "exiting");
            fc_log_error(FC_LOG_NOTICE, m->cycle->log, 0, "exiting");
            fc_listening_close_all(m->cycle); /* refuse new clients at once, as nginx */
            master_shutdown_wait(m, SIGTERM);
            return 0;
        }
        if (sig->quit) {
            fc_signal_log_received(m->cycle->log, SIGQUIT, "shutting down");
            fc_log_error(FC_LOG_NOTICE, m->cycle->log, 0, "gracefully shutting down");
            /* the workers close theirs: the port stops listening while they drain */
            fc_listening_close_all(m->cycle);
            master_shutdown_wait(m, SIGQUIT);
            return 0;
        }
        if (sig->reconfigure) {
            sig->reconfigure = 0;
            fc_signal_log_received(m->cycle->log, SIGHUP, "reconfiguring");
            master_reload(m);
        }
        if (sig->reopen) {
            sig->reopen = 0;
            fc_signal_log_received(m->cycle->log, SIGUSR1, "reopening");
            fc_log_error(FC_LOG_NOTICE, m->cycle->log, 0, "reopening logs");
            fc_cycle_reopen_files(m->cycle);
            master_signal_workers(m, SIGUSR1, 0);
        }
        if (sig->upgrade) {
            sig->upgrade = 0;
            fc_log_error(FC_LOG_CRIT, m->cycle->log, 0,
                         "the changing binary signal is ignored: changing the executable on the "
                         "fly is not supported (stop, then start the new binary)");
        }
        if (sig->winch) {
            sig->winch = 0;
            fc_log_error(FC_LOG_WARN, m->cycle->log, 0,
                         "the graceful shutdown of workers signal (WINCH) is ignored: it belongs "
                         "to changing the executable on the fly, which is not supported");
        }
    }
}

int
fc_master_process(fc_cycle_t *cycle, const fc_cycle_params_t *params)
{
    master_t *m = fc_calloc(sizeof(*m), cycle->log);
    if (m == NULL || fc_worker_counter_init(cycle->log) != FC_OK)
        return 1;
    m->cycle = cycle;
    m->params = params;
    fc_time_update();
    for (size_t s = 0; s < master_workers(cycle); s++)
        master_spawn(m, s);
    int rc = master_loop(m);
    fc_core_conf_t *ccf = fc_cycle_core_conf(m->cycle, fc_core_module);
    unlink((const char *) ccf->pid.data);
    fc_log_error(FC_LOG_NOTICE, m->cycle->log, 0, "exit");
    fc_listening_close_all(m->cycle);
    fc_listening_unlink_unix(m->cycle);
    fc_cycle_destroy(m->cycle);
    free(m);
    return rc;
}

int
fc_single_process(fc_cycle_t *cycle)
{
    if (fc_worker_counter_init(cycle->log) != FC_OK)
        return 1;
    fc_worker_process(cycle, 0, 1);
}
