/*
 * cycle.c: building one configuration generation. Everything a config
 * allocates lives in the cycle's pool; a cycle that fails to build is
 * destroyed without touching the running one.
 */
#include "core/fc_core.h"
#include "core/cycle.h"
#include "core/shm.h"
#include "event/listen.h"

#include <libgen.h>

static int
cycle_set_paths(fc_cycle_t *cycle, const fc_cycle_params_t *params)
{
    if (fc_str_dup(cycle->pool, &cycle->prefix, &params->prefix) != FC_OK ||
        fc_str_dup(cycle->pool, &cycle->conf_file, &params->conf_file) != FC_OK)
        return FC_ERROR;
    if (params->conf_param.len &&
        fc_str_dup(cycle->pool, &cycle->conf_param, &params->conf_param) != FC_OK)
        return FC_ERROR;
    /* include and other conf-relative paths resolve against the config's folder. */
    char *copy = fc_str_cstr(cycle->pool, &cycle->conf_file);
    if (copy == NULL)
        return FC_ERROR;
    char *dir = dirname(copy);
    size_t n = strlen(dir);
    cycle->conf_prefix.data = fc_pnalloc(cycle->pool, n + 2);
    if (cycle->conf_prefix.data == NULL)
        return FC_ERROR;
    memcpy(cycle->conf_prefix.data, dir, n);
    if (n == 0 || dir[n - 1] != '/')
        cycle->conf_prefix.data[n++] = '/';
    cycle->conf_prefix.data[n] = '\0';
    cycle->conf_prefix.len = n;
    return FC_OK;
}

static int
cycle_create_core_confs(fc_cycle_t *cycle, size_t nmodules)
{
    cycle->conf_ctx = fc_pcalloc(cycle->pool, nmodules * sizeof(void *));
    if (cycle->conf_ctx == NULL)
        return FC_ERROR;
    for (size_t i = 0; fc_modules[i]; i++) {
        const fc_module_t *m = fc_modules[i];
        if (m->type != FC_CORE_MODULE)
            continue;
        const fc_core_module_ctx_t *ctx = m->ctx;
        if (ctx && ctx->create_conf) {
            cycle->conf_ctx[i] = ctx->create_conf(cycle);
            if (cycle->conf_ctx[i] == NULL)
                return FC_ERROR;
        }
    }
    return FC_OK;
}

static int
cycle_parse(fc_cycle_t *cycle, fc_log_t *log)
{
    fc_conf_t cf = {0};
    cf.cycle = cycle;
    cf.pool = cycle->pool;
    cf.log = log;
    cf.ctx = cycle->conf_ctx;
    cf.module_type = FC_CORE_MODULE;
    cf.cmd_type = FC_MAIN_CONF;
    cf.temp_pool = fc_pool_create(16384, log);
    if (cf.temp_pool == NULL)
        return FC_ERROR;
    cf.args = fc_array_create(cycle->pool, 10, sizeof(fc_str_t));
    int rc = cf.args ? FC_OK : FC_ERROR;
    if (rc == FC_OK && cycle->conf_param.len)
        rc = fc_conf_parse_string(&cf, &cycle->conf_param, "command line");
    if (rc == FC_OK && !cf.fatal)
        rc = fc_conf_parse(&cf, &cycle->conf_file);
    if (rc == FC_OK && cf.errors == 0) {
        for (size_t i = 0; fc_modules[i]; i++) {
            const fc_module_t *m = fc_modules[i];
            const fc_core_module_ctx_t *ctx = m->ctx;
            if (m->type != FC_CORE_MODULE || ctx == NULL || ctx->init_conf == NULL)
                continue;
            char *rv = ctx->init_conf(cycle, cycle->conf_ctx[i]);
            if (rv != FC_CONF_OK) {
                if (rv != FC_CONF_ERROR)
                    fc_log_error(FC_LOG_EMERG, log, 0, "%s", rv);
                cf.errors++;
            }
        }
    }
    fc_pool_destroy(cf.temp_pool);
    return rc == FC_OK && cf.errors == 0 ? FC_OK : FC_ERROR;
}

fc_open_file_t *
fc_cycle_open_file(fc_cycle_t *cycle, const fc_str_t *name)
{
    for (fc_open_file_t *f = cycle->open_files; f; f = f->next) {
        if (fc_str_eq(&f->name, name))
            return f;
    }
    fc_open_file_t *f = fc_pcalloc(cycle->pool, sizeof(*f));
    if (f == NULL || fc_str_dup(cycle->pool, &f->name, name) != FC_OK)
        return NULL;
    f->fd = -1;
    f->next = cycle->open_files;
    cycle->open_files = f;
    return f;
}

static void
cycle_close_file(void *data)
{
    fc_open_file_t *f = data;
    if (f->fd > 2)
        close(f->fd);
    f->fd = -1;
}

static int
cycle_open_files(fc_cycle_t *cycle, fc_log_t *log)
{
    for (fc_open_file_t *f = cycle->open_files; f; f = f->next) {
        if (fc_str_eq_c(&f->name, "stderr")) {
            f->fd = 2;
            continue;
        }
        f->fd = open((const char *) f->name.data, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (f->fd < 0) {
            fc_log_error(FC_LOG_EMERG, log, errno, "open() \"%s\" failed", f->name.data);
            return FC_ERROR;
        }
        fc_pool_cleanup_t *cln = fc_pool_cleanup_add(cycle->pool, 0);
        if (cln == NULL)
            return FC_ERROR;
        cln->handler = cycle_close_file;
        cln->data = f;
    }
    return FC_OK;
}

void
fc_cycle_reopen_files(fc_cycle_t *cycle)
{
    for (fc_open_file_t *f = cycle->open_files; f; f = f->next) {
        if (f->fd <= 2)
            continue;
        if (f->flush)
            f->flush(f); /* buffered lines belong to the file being rotated away */
        int fd = open((const char *) f->name.data, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            fc_log_error(FC_LOG_ALERT, cycle->log, errno, "reopen \"%s\" failed", f->name.data);
            continue;
        }
        /* dup2 keeps the same descriptor number, so nothing holding it needs telling. */
        dup2(fd, f->fd);
        close(fd);
    }
}

fc_cycle_t *
fc_cycle_init(fc_cycle_t *old, const fc_cycle_params_t *params, fc_log_t *log)
{
    size_t nmodules = fc_modules_init();
    fc_pool_t *pool = fc_pool_create(16384, log);
    if (pool == NULL)
        return NULL;
    fc_cycle_t *cycle = fc_pcalloc(pool, sizeof(*cycle));
    if (cycle == NULL) {
        fc_pool_destroy(pool);
        return NULL;
    }
    cycle->pool = pool;
    cycle->log = log;
    cycle->test_only = params->test_only;
    cycle->signal_only = params->signal_only;
    cycle->generation = old ? old->generation + 1 : 0;
    if (cycle_set_paths(cycle, params) != FC_OK ||
        fc_array_init(&cycle->listening, pool, 8, sizeof(fc_listening_t)) != FC_OK ||
        cycle_create_core_confs(cycle, nmodules) != FC_OK || cycle_parse(cycle, log) != FC_OK)
        goto failed;
    if (cycle->signal_only)
        return cycle;
    if (cycle_open_files(cycle, log) != FC_OK || fc_shm_zones_init(cycle, old, log) != FC_OK)
        goto failed;
    fc_core_conf_t *ccf = fc_cycle_core_conf(cycle, fc_core_module);
    /*
     * At start, as nginx: what fails from here on goes to the new error log
     * as well as to the terminal (a reload keeps logging where it did).
     */
    fc_log_t startup = *log;
    if (old == NULL && !cycle->test_only && cycle->new_log.file && cycle->new_log.file->fd > 2)
        startup.next = &cycle->new_log;
    if (fc_listening_open(cycle, old, (size_t) ccf->worker_processes, &startup) != FC_OK)
        goto failed;
    for (size_t i = 0; fc_modules[i]; i++) {
        if (fc_modules[i]->init_module && fc_modules[i]->init_module(cycle) != FC_OK)
            goto failed_listening;
    }
    fc_shm_zones_commit(cycle, old); /* from here on nothing fails: old zones can go */
    cycle->log = &cycle->new_log;
    return cycle;

failed_listening:
    fc_listening_close_unused(cycle, old);
failed:
    fc_pool_destroy(pool);
    return NULL;
}

void
fc_cycle_destroy(fc_cycle_t *cycle)
{
    if (cycle)
        fc_pool_destroy(cycle->pool);
}
