/*
 * core_module.c: main-context directives (worker_processes, daemon,
 * master_process, pid, error_log, worker_rlimit_nofile,
 * worker_shutdown_timeout, user) with nginx's defaults.
 */
#include "core/fc_core.h"
#include "core/cycle.h"

#include <grp.h>
#include <pwd.h>

static void *core_create_conf(fc_cycle_t *cycle);
static char *core_init_conf(fc_cycle_t *cycle, void *conf);
static char *core_set_worker_processes(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *core_set_error_log(fc_conf_t *cf, const fc_command_t *cmd, void *conf);
static char *core_set_user(fc_conf_t *cf, const fc_command_t *cmd, void *conf);

static const fc_conf_bounds_t core_rlimit_bounds = {1, 1 << 30};

static const fc_command_t core_commands[] = {
    {"worker_processes", FC_MAIN_CONF | FC_CONF_TAKE1, core_set_worker_processes, 0, 0, NULL},
    {"daemon", FC_MAIN_CONF | FC_CONF_FLAG, fc_conf_set_flag_slot, 0,
     offsetof(fc_core_conf_t, daemon), NULL},
    {"master_process", FC_MAIN_CONF | FC_CONF_FLAG, fc_conf_set_flag_slot, 0,
     offsetof(fc_core_conf_t, master), NULL},
    {"pid", FC_MAIN_CONF | FC_CONF_TAKE1, fc_conf_set_str_slot, 0, offsetof(fc_core_conf_t, pid),
     NULL},
    {"error_log", FC_MAIN_CONF | FC_CONF_1MORE, core_set_error_log, 0, 0, NULL},
    {"worker_rlimit_nofile", FC_MAIN_CONF | FC_CONF_TAKE1, fc_conf_set_num_slot, 0,
     offsetof(fc_core_conf_t, rlimit_nofile), &core_rlimit_bounds},
    {"worker_shutdown_timeout", FC_MAIN_CONF | FC_CONF_TAKE1, fc_conf_set_msec_slot, 0,
     offsetof(fc_core_conf_t, shutdown_timeout), NULL},
    {"user", FC_MAIN_CONF | FC_CONF_TAKE12, core_set_user, 0, 0, NULL},
    {"worker_priority", FC_MAIN_CONF | FC_CONF_TAKE1, fc_core_set_priority, 0, 0, NULL},
    {"worker_cpu_affinity", FC_MAIN_CONF | FC_CONF_1MORE, fc_core_set_cpu_affinity, 0, 0, NULL},
    {"worker_rlimit_core", FC_MAIN_CONF | FC_CONF_TAKE1, fc_core_set_rlimit_core, 0, 0, NULL},
    {"working_directory", FC_MAIN_CONF | FC_CONF_TAKE1, fc_conf_set_str_slot, 0,
     offsetof(fc_core_conf_t, working_directory), NULL},
    {"env", FC_MAIN_CONF | FC_CONF_TAKE1, fc_core_set_env, 0, 0, NULL},
    {"timer_resolution", FC_MAIN_CONF | FC_CONF_TAKE1, fc_conf_set_msec_slot, 0,
     offsetof(fc_core_conf_t, timer_resolution), NULL},
    {"lock_file", FC_MAIN_CONF | FC_CONF_TAKE1, fc_conf_set_str_slot, 0,
     offsetof(fc_core_conf_t, lock_file), NULL},
    {"pcre_jit", FC_MAIN_CONF | FC_CONF_FLAG, fc_conf_set_flag_slot, 0,
     offsetof(fc_core_conf_t, pcre_jit), NULL},
    {"thread_pool", FC_MAIN_CONF | FC_CONF_TAKE23, fc_core_set_thread_pool, 0, 0, NULL},
    {"load_module", FC_MAIN_CONF | FC_CONF_TAKE1, fc_core_load_module, 0, 0, NULL},
    fc_null_command};

static const fc_core_module_ctx_t core_ctx = {
    .create_conf = core_create_conf,
    .init_conf = core_init_conf,
};

fc_module_t fc_core_module = {
    .name = "core",
    .type = FC_CORE_MODULE,
    .commands = core_commands,
    .ctx = &core_ctx,
};

static void *
core_create_conf(fc_cycle_t *cycle)
{
    fc_core_conf_t *ccf = fc_pcalloc(cycle->pool, sizeof(*ccf));
    if (ccf == NULL)
        return NULL;
    ccf->daemon = FC_UNSET;
    ccf->master = FC_UNSET;
    ccf->worker_processes = FC_UNSET;
    ccf->rlimit_nofile = FC_UNSET;
    ccf->shutdown_timeout = FC_UNSET_MSEC;
    ccf->rlimit_core = FC_UNSET;
    ccf->timer_resolution = FC_UNSET_MSEC;
    ccf->pcre_jit = FC_UNSET;
    return ccf;
}

static char *
core_open_default_log(fc_cycle_t *cycle)
{
    fc_str_t name = fc_string(FC_ERROR_LOG_PATH);
    if (fc_conf_full_name(cycle->pool, &cycle->prefix, &name) != FC_OK)
        return FC_CONF_ERROR;
    /* nginx falls back to stderr when the default log cannot be opened. */
    int fd = open((const char *) name.data, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        if (!cycle->test_only && !cycle->signal_only)
            fc_log_stderr(errno, "[alert] could not open error log file: open() \"%s\" failed",
                          name.data);
        fc_str_t err = fc_string("stderr");
        name = err;
    } else {
        close(fd);
    }
    cycle->new_log.file = fc_cycle_open_file(cycle, &name);
    cycle->new_log.level = FC_LOG_ERR;
    return cycle->new_log.file ? FC_CONF_OK : FC_CONF_ERROR;
}

static char *
core_init_conf(fc_cycle_t *cycle, void *conf)
{
    fc_core_conf_t *ccf = conf;
    if (ccf->daemon == FC_UNSET)
        ccf->daemon = 1;
    if (ccf->master == FC_UNSET)
        ccf->master = 1;
    if (ccf->worker_processes == FC_UNSET)
        ccf->worker_processes = 1;
    if (ccf->shutdown_timeout == FC_UNSET_MSEC)
        ccf->shutdown_timeout = 0; /* 0: no limit, as nginx */
    if (ccf->pid.data == NULL)
        fc_str_set(&ccf->pid, FC_PID_PATH);
    if (fc_conf_full_name(cycle->pool, &cycle->prefix, &ccf->pid) != FC_OK)
        return FC_CONF_ERROR;
    if (cycle->new_log.file == NULL)
        return core_open_default_log(cycle);
    return FC_CONF_OK;
}

static char *
core_set_worker_processes(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_core_conf_t *ccf = conf;
    fc_str_t *v = &fc_conf_args(cf)[1];
    (void) cmd;
    if (ccf->worker_processes != FC_UNSET)
        return "is duplicate";
    if (fc_str_eq_c(v, "auto")) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        ccf->worker_processes = n > 0 ? (int) n : 1;
        return FC_CONF_OK;
    }
    int64_t n = fc_atoi(v->data, v->len);
    if (n < 1 || n > 1024) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0,
                          "invalid value \"%.*s\" in \"worker_processes\" directive",
                          (int) v->len, v->data);
        return FC_CONF_ERROR;
    }
    ccf->worker_processes = (int) n;
    return FC_CONF_OK;
}

/*
 * error_log FILE|stderr [LEVEL] into the chain at *head (an empty head is
 * filled, a full one gets the destination chained behind it): main
 * context, and the http and stream levels alike.
 */
char *
fc_conf_error_log(fc_conf_t *cf, fc_log_t *head)
{
    fc_cycle_t *cycle = cf->cycle;
    fc_str_t *args = fc_conf_args(cf);
    fc_str_t name = args[1];
    if (fc_conf_nargs(cf) > 3)
        return "has too many arguments";
    if (name.len >= 7 && memcmp(name.data, "syslog:", 7) == 0)
        return "does not support syslog (not implemented)";
    if (name.len >= 7 && memcmp(name.data, "memory:", 7) == 0)
        return "does not support memory buffers (not implemented)";
    int level = FC_LOG_ERR;
    if (fc_conf_nargs(cf) == 3) {
        level = fc_log_level_parse(&args[2]);
        if (level < 0) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid log level \"%.*s\"",
                              (int) args[2].len, args[2].data);
            return FC_CONF_ERROR;
        }
    }
    if (!fc_str_eq_c(&name, "stderr") &&
        fc_conf_full_name(cycle->pool, &cycle->prefix, &name) != FC_OK)
        return FC_CONF_ERROR;
    fc_log_t *log = head;
    if (log->file) {
        /* A further destination: chain it behind the first. */
        fc_log_t *extra = fc_pcalloc(cycle->pool, sizeof(*extra));
        if (extra == NULL)
            return FC_CONF_ERROR;
        extra->next = head->next;
        head->next = extra;
        log = extra;
    }
    log->file = fc_cycle_open_file(cycle, &name);
    log->level = level;
    return log->file ? FC_CONF_OK : FC_CONF_ERROR;
}

char *
fc_conf_error_log_at(fc_conf_t *cf, fc_log_t **slot)
{
    if (*slot == NULL && (*slot = fc_pcalloc(cf->pool, sizeof(fc_log_t))) == NULL)
        return FC_CONF_ERROR;
    return fc_conf_error_log(cf, *slot);
}

/* error_log FILE|stderr [LEVEL] in main: several directives give several destinations. */
static char *
core_set_error_log(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    (void) cmd;
    (void) conf;
    return fc_conf_error_log(cf, &cf->cycle->new_log);
}

static char *
core_set_user(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_core_conf_t *ccf = conf;
    (void) cmd;
    if (ccf->user.data)
        return "is duplicate";
    ccf->user = fc_conf_args(cf)[1];
    if (fc_conf_nargs(cf) == 3)
        ccf->group = fc_conf_args(cf)[2];
    else
        ccf->group = ccf->user;
    if (geteuid() != 0) {
        /* nginx's words: only root can switch users, so the directive means nothing here */
        fc_conf_log_error(FC_LOG_WARN, cf, 0,
                          "the \"user\" directive makes sense only if the master process runs "
                          "with super-user privileges, ignored");
        return FC_CONF_OK;
    }
    /* As nginx, resolved at load: -t refuses a user or group that does not exist. */
    char *name = fc_str_cstr(cf->pool, &ccf->user), *group = fc_str_cstr(cf->pool, &ccf->group);
    if (name == NULL || group == NULL)
        return FC_CONF_ERROR;
    errno = 0;
    struct passwd *pw = getpwnam(name);
    if (pw == NULL) {
        fc_conf_log_error(FC_LOG_EMERG, cf, errno, "getpwnam(\"%s\") failed", name);
        return FC_CONF_ERROR;
    }
    ccf->uid = pw->pw_uid;
    errno = 0;
    struct group *gr = getgrnam(group);
    if (gr == NULL) {
        fc_conf_log_error(FC_LOG_EMERG, cf, errno, "getgrnam(\"%s\") failed", group);
        return FC_CONF_ERROR;
    }
    ccf->gid = gr->gr_gid;
    ccf->username = name; /* the workers switch to these (worker.c) */
    return FC_CONF_OK;
}
