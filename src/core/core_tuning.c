/*
 * core_tuning.c: nginx's main-context directives that tune the worker
 * processes (worker_priority, worker_cpu_affinity, worker_rlimit_core,
 * working_directory, env) and those accepted for drop-in configs though
 * fulcrum has nothing for them to change (pcre_jit, timer_resolution,
 * lock_file, thread_pool, load_module). The parsing is here; a worker
 * applies the result once at start (fc_core_tune_worker).
 */
#include "core/fc_core.h"
#include "core/cycle.h"

#include <sched.h>
#include <sys/resource.h>

/* worker_priority N: the workers' nice value, -20..20. */
char *
fc_core_set_priority(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_core_conf_t *ccf = conf;
    fc_str_t *v = &fc_conf_args(cf)[1];
    (void) cmd;
    if (ccf->priority_set)
        return "is duplicate";
    int neg = v->len > 1 && (v->data[0] == '-' || v->data[0] == '+');
    fc_str_t digits = {v->len - (size_t) neg, v->data + neg};
    int64_t n = fc_atoi(digits.data, digits.len);
    if (n < 0 || n > 20)
        return "invalid number";
    ccf->priority = (int) (v->data[0] == '-' ? -n : n);
    ccf->priority_set = 1;
    return FC_CONF_OK;
}

/* One mask of worker_cpu_affinity: '0'/'1' digits, the rightmost one CPU 0. */
static int
core_cpu_mask(const fc_str_t *v, cpu_set_t *set)
{
    CPU_ZERO(set);
    if (v->len == 0 || v->len > CPU_SETSIZE)
        return FC_ERROR;
    for (size_t i = 0; i < v->len; i++) {
        unsigned char c = v->data[v->len - 1 - i];
        if (c != '0' && c != '1')
            return FC_ERROR;
        if (c == '1')
            CPU_SET(i, set);
    }
    return CPU_COUNT(set) ? FC_OK : FC_ERROR;
}

/*
 * worker_cpu_affinity auto [MASK] | MASK ...: as nginx, one mask per
 * worker (the last repeats); "auto" gives worker N the Nth CPU of MASK (or
 * of all CPUs).
 */
char *
fc_core_set_cpu_affinity(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_core_conf_t *ccf = conf;
    fc_str_t *args = fc_conf_args(cf);
    size_t n = fc_conf_nargs(cf), i = 1;
    (void) cmd;
    if (ccf->cpu_masks)
        return "is duplicate";
    if (fc_str_eq_c(&args[1], "auto")) {
        if (n > 3)
            return "has too many arguments";
        ccf->cpu_auto = 1;
        i = 2;
    }
    ccf->cpu_masks = fc_array_create(cf->pool, n, sizeof(cpu_set_t));
    if (ccf->cpu_masks == NULL)
        return FC_CONF_ERROR;
    for (; i < n; i++) {
        cpu_set_t *set = fc_array_push(ccf->cpu_masks);
        if (set == NULL)
            return FC_CONF_ERROR;
        if (core_cpu_mask(&args[i], set) != FC_OK) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid character \"%.*s\" in \"%s\"",
                              (int) args[i].len, args[i].data, "worker_cpu_affinity");
            return FC_CONF_ERROR;
        }
    }
    return FC_CONF_OK;
}

/* worker_rlimit_core SIZE: the workers' core file limit. */
char *
fc_core_set_rlimit_core(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_core_conf_t *ccf = conf;
    (void) cmd;
    if (ccf->rlimit_core != FC_UNSET)
        return "is duplicate";
    int64_t n = fc_parse_size(&fc_conf_args(cf)[1]);
    if (n < 0)
        return "invalid value";
    ccf->rlimit_core = n;
    return FC_CONF_OK;
}

/* env VAR[=VALUE]: the variables workers keep (all others but TZ are removed, as nginx). */
char *
fc_core_set_env(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_core_conf_t *ccf = conf;
    (void) cmd;
    fc_str_t *v = &fc_conf_args(cf)[1];
    if (v->len == 0 || v->data[0] == '=')
        return "invalid value";
    if (ccf->env == NULL && (ccf->env = fc_array_create(cf->pool, 4, sizeof(fc_str_t))) == NULL)
        return FC_CONF_ERROR;
    fc_str_t *e = fc_array_push(ccf->env);
    if (e == NULL)
        return FC_CONF_ERROR;
    *e = *v;
    return FC_CONF_OK;
}

/* thread_pool NAME threads=N [max_queue=N]: checked; fulcrum has no thread pools to size. */
char *
fc_core_set_thread_pool(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_str_t *args = fc_conf_args(cf);
    int threads = 0;
    (void) cmd;
    (void) conf;
    for (size_t i = 2; i < fc_conf_nargs(cf); i++) {
        fc_str_t *a = &args[i];
        if (a->len > 8 && memcmp(a->data, "threads=", 8) == 0 &&
            fc_atoi(a->data + 8, a->len - 8) > 0) {
            threads = 1;
        } else if (!(a->len > 10 && memcmp(a->data, "max_queue=", 10) == 0 &&
                     fc_atoi(a->data + 10, a->len - 10) >= 0)) {
            fc_conf_log_error(FC_LOG_EMERG, cf, 0, "invalid parameter \"%.*s\"", (int) a->len,
                              a->data);
            return FC_CONF_ERROR;
        }
    }
    if (!threads) {
        fc_conf_log_error(FC_LOG_EMERG, cf, 0, "\"%.*s\" must have \"threads\" parameter",
                          (int) args[1].len, args[1].data);
        return FC_CONF_ERROR;
    }
    return FC_CONF_OK;
}

/*
 * load_module PATH: fulcrum's modules are built in (chosen by ./configure),
 * so there is nothing to load; the directives of a module it lacks are
 * still refused where they are used.
 */
char *
fc_core_load_module(fc_conf_t *cf, const fc_command_t *cmd, void *conf)
{
    fc_str_t *v = &fc_conf_args(cf)[1];
    (void) cmd;
    (void) conf;
    fc_conf_log_error(FC_LOG_WARN, cf, 0,
                      "load_module \"%.*s\" ignored: fulcrum's modules are built in (./configure)",
                      (int) v->len, v->data);
    return FC_CONF_OK;
}

/* The CPU set of worker slot: its mask, or with "auto" the slot-th CPU of the mask. */
static int
core_cpu_for_slot(const fc_core_conf_t *ccf, size_t slot, cpu_set_t *out)
{
    const cpu_set_t *masks = ccf->cpu_masks->elts;
    size_t n = ccf->cpu_masks->nelts;
    if (!ccf->cpu_auto) {
        if (n == 0)
            return FC_DECLINED;
        *out = masks[slot < n ? slot : n - 1];
        return FC_OK;
    }
    cpu_set_t all;
    if (n) {
        all = masks[0];
    } else if (sched_getaffinity(0, sizeof(all), &all) != 0) {
        return FC_ERROR;
    }
    int count = CPU_COUNT(&all), want = (int) (slot % (size_t) (count ? count : 1)), seen = 0;
    CPU_ZERO(out);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &all) && seen++ == want) {
            CPU_SET(cpu, out);
            return FC_OK;
        }
    }
    return FC_ERROR;
}

/* A variable's name: up to the '=' of "NAME=VALUE". */
static fc_str_t
core_env_name(const unsigned char *s, size_t len)
{
    const unsigned char *eq = memchr(s, '=', len);
    fc_str_t name = {eq ? (size_t) (eq - s) : len, (unsigned char *) s};
    return name;
}

/* Whether a worker keeps the variable: TZ, or one an env directive names. */
static int
core_env_kept(const fc_core_conf_t *ccf, const fc_str_t *name)
{
    if (fc_str_eq_c(name, "TZ"))
        return 1;
    const fc_str_t *e = ccf->env ? ccf->env->elts : NULL;
    for (size_t i = 0; e && i < ccf->env->nelts; i++) {
        fc_str_t kept = core_env_name(e[i].data, e[i].len);
        if (fc_str_eq(&kept, name))
            return 1;
    }
    return 0;
}

void
fc_core_worker_env(const fc_core_conf_t *ccf, fc_pool_t *pool)
{
    /*
     * Names first, then unsetenv(), which shifts environ; variable by variable
     * rather than clearenv(): environ stays the array the process title code
     * made, which keeps every copy it made too.
     */
    extern char **environ;
    size_t count = 0;
    while (environ && environ[count])
        count++;
    char **drop = fc_pcalloc(pool, (count + 1) * sizeof(char *));
    for (size_t i = 0; drop && i < count; i++) {
        fc_str_t name = core_env_name((unsigned char *) environ[i], strlen(environ[i]));
        if (!core_env_kept(ccf, &name))
            drop[i] = fc_str_cstr(pool, &name);
    }
    for (size_t i = 0; drop && i < count; i++)
        if (drop[i])
            unsetenv(drop[i]);
    const fc_str_t *e = ccf->env ? ccf->env->elts : NULL;
    for (size_t i = 0; e && i < ccf->env->nelts; i++) {
        fc_str_t name = core_env_name(e[i].data, e[i].len);
        char *s = name.len < e[i].len ? fc_str_cstr(pool, &e[i]) : NULL;
        if (s) {
            s[name.len] = '\0';
            setenv(s, s + name.len + 1, 1);
        }
    }
}

void
fc_core_tune_worker(fc_cycle_t *cycle, size_t slot, fc_log_t *log)
{
    fc_core_conf_t *ccf = fc_cycle_core_conf(cycle, fc_core_module);
    if (ccf->priority_set && setpriority(PRIO_PROCESS, 0, ccf->priority) < 0)
        fc_log_error(FC_LOG_ALERT, log, errno, "setpriority(%d) failed", ccf->priority);
    if (ccf->rlimit_core != FC_UNSET) {
        struct rlimit rl = {(rlim_t) ccf->rlimit_core, (rlim_t) ccf->rlimit_core};
        if (setrlimit(RLIMIT_CORE, &rl) < 0)
            fc_log_error(FC_LOG_ALERT, log, errno, "setrlimit(RLIMIT_CORE, %" PRId64 ") failed",
                         ccf->rlimit_core);
    }
    cpu_set_t set;
    if (ccf->cpu_masks && core_cpu_for_slot(ccf, slot, &set) == FC_OK &&
        sched_setaffinity(0, sizeof(set), &set) < 0)
        fc_log_error(FC_LOG_ALERT, log, errno, "sched_setaffinity() failed");
    fc_core_worker_env(ccf, cycle->pool);
}

void
fc_core_tune_worker_dir(fc_cycle_t *cycle, fc_log_t *log)
{
    fc_core_conf_t *ccf = fc_cycle_core_conf(cycle, fc_core_module);
    if (ccf->working_directory.len && chdir((const char *) ccf->working_directory.data) < 0)
        fc_log_error(FC_LOG_ALERT, log, errno, "chdir(\"%s\") failed", ccf->working_directory.data);
}
