/*
 * process.c: signal flags, the pid file, daemonizing, `-s`. The flags are
 * process-global because a signal handler can reach nothing else; they are
 * the only state the handlers write.
 */
#include "core/fc_core.h"
#include "core/cycle.h"
#include "core/process.h"

#include <sys/stat.h>

static fc_signal_flags_t process_signals;

fc_signal_flags_t *
fc_signals(void)
{
    return &process_signals;
}

static void
process_on_signal(int signo, siginfo_t *si, void *uc)
{
    int saved = errno;
    (void) uc;
    if (signo > 0 && signo < NSIG)
        process_signals.sender[signo] = si ? (sig_atomic_t) si->si_pid : 0;
    switch (signo) {
    case SIGHUP:
        process_signals.reconfigure = 1;
        break;
    case SIGQUIT:
        process_signals.quit = 1;
        break;
    case SIGTERM:
    case SIGINT:
        process_signals.terminate = 1;
        process_signals.term_signo = signo;
        break;
    case SIGUSR1:
        process_signals.reopen = 1;
        break;
    case SIGCHLD:
        process_signals.child = 1;
        break;
    case SIGALRM:
        process_signals.alarm = 1;
        break;
    case SIGUSR2:
        process_signals.upgrade = 1;
        break;
    case SIGWINCH:
        process_signals.winch = 1;
        break;
    default:
        break;
    }
    errno = saved;
}

/*
 * USR2 and WINCH (nginx's binary upgrade) are caught so that they are
 * logged and ignored: USR2's default action would kill the master and leave
 * its workers serving with nothing to control them.
 */
static const int process_handled[] = {SIGHUP,  SIGQUIT, SIGTERM, SIGINT,  SIGUSR1,
                                      SIGCHLD, SIGALRM, SIGUSR2, SIGWINCH};

int
fc_signals_init(int block)
{
    struct sigaction sa = {0};
    sa.sa_sigaction = process_on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < fc_nelems(process_handled); i++) {
        if (sigaction(process_handled[i], &sa, NULL) < 0)
            return FC_ERROR;
        sigaddset(&set, process_handled[i]);
    }
    signal(SIGPIPE, SIG_IGN);
    if (block && sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return FC_ERROR;
    return FC_OK;
}

void
fc_signal_log_received(fc_log_t *log, int signo, const char *action)
{
    if (signo <= 0 || signo >= NSIG)
        return;
    const char *name = sigabbrev_np(signo);
    int pid = (int) process_signals.sender[signo];
    if (pid > 0)
        fc_log_error(FC_LOG_NOTICE, log, 0, "signal %d (SIG%s) received from %d, %s", signo,
                     name ? name : "?", pid, action);
    else
        fc_log_error(FC_LOG_NOTICE, log, 0, "signal %d (SIG%s) received, %s", signo,
                     name ? name : "?", action);
}

void
fc_signals_child_reset(void)
{
    memset(&process_signals, 0, sizeof(process_signals));
    sigset_t set;
    sigemptyset(&set);
    sigprocmask(SIG_SETMASK, &set, NULL);
}

int
fc_pidfile_write(const fc_str_t *path, fc_log_t *log)
{
    int fd = open((const char *) path->data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fc_log_error(FC_LOG_EMERG, log, errno, "open() \"%s\" failed", path->data);
        return FC_ERROR;
    }
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d\n", (int) getpid());
    ssize_t w = write(fd, buf, (size_t) n);
    close(fd);
    if (w != n) {
        fc_log_error(FC_LOG_EMERG, log, errno, "write() \"%s\" failed", path->data);
        return FC_ERROR;
    }
    return FC_OK;
}

pid_t
fc_pidfile_read(const fc_str_t *path, fc_log_t *log)
{
    int fd = open((const char *) path->data, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fc_log_error(FC_LOG_ERR, log, errno, "open() \"%s\" failed", path->data);
        return -1;
    }
    char buf[32];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        n--;
    int64_t pid = n > 0 ? fc_atoi((unsigned char *) buf, (size_t) n) : -1;
    if (pid <= 0 || pid > INT_MAX) {
        fc_log_error(FC_LOG_ERR, log, 0, "invalid PID number \"%.*s\" in \"%s\"",
                     (int) (n > 0 ? n : 0), buf, path->data);
        return -1;
    }
    return (pid_t) pid;
}

int
fc_process_signal(fc_cycle_t *cycle, const char *name)
{
    static const struct {
        const char *name;
        int signo;
    } map[] = {{"stop", SIGTERM}, {"quit", SIGQUIT}, {"reload", SIGHUP}, {"reopen", SIGUSR1}};
    fc_core_conf_t *ccf = fc_cycle_core_conf(cycle, fc_core_module);
    pid_t pid = fc_pidfile_read(&ccf->pid, cycle->log);
    if (pid < 0)
        return FC_ERROR;
    for (size_t i = 0; i < fc_nelems(map); i++) {
        if (strcmp(name, map[i].name) != 0)
            continue;
        if (kill(pid, map[i].signo) < 0) {
            fc_log_error(FC_LOG_ERR, cycle->log, errno, "kill(%d, %d) failed", (int) pid,
                         map[i].signo);
            return FC_ERROR;
        }
        return FC_OK;
    }
    return FC_ERROR;
}

int
fc_daemonize(fc_log_t *log)
{
    pid_t pid = fork();
    if (pid < 0) {
        fc_log_error(FC_LOG_EMERG, log, errno, "fork() failed");
        return FC_ERROR;
    }
    if (pid > 0)
        _exit(0);
    if (setsid() < 0) {
        fc_log_error(FC_LOG_EMERG, log, errno, "setsid() failed");
        return FC_ERROR;
    }
    umask(0);
    int fd = open("/dev/null", O_RDWR);
    if (fd < 0) {
        fc_log_error(FC_LOG_EMERG, log, errno, "open(\"/dev/null\") failed");
        return FC_ERROR;
    }
    dup2(fd, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    if (fd > STDERR_FILENO)
        close(fd);
    return FC_OK;
}
