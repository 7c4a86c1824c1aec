/*
 * unit_cf.h: the fixture of the suites that drive a core engine without a
 * layer (check_var, check_map, check_logfmt, check_http_vars): a pool, a
 * variable registry, and a conf whose errors go to a temporary file read
 * back by logged(). Included by one suite file only: it defines that
 * file's fixture state.
 */
#ifndef FC_UNIT_CF_H
#define FC_UNIT_CF_H

#include "unit.h"

#include "core/fc_core.h"
#include "core/conf.h"
#include "core/var.h"

static fc_pool_t *pool;
static fc_var_registry_t reg;
static fc_conf_t cf;
static fc_log_t log_;
static fc_open_file_t log_file;
static FILE *log_fp;

/* A new pool and registry; cf reads as file:line and logs to a temporary file. */
static inline void
fc_unit_cf_setup(const char *file, unsigned line)
{
    pool = fc_pool_create(4096, NULL);
    ck_assert_ptr_nonnull(pool);
    ck_assert_int_eq(fc_var_registry_init(&reg, pool), FC_OK);
    log_fp = tmpfile();
    ck_assert_ptr_nonnull(log_fp);
    memset(&log_file, 0, sizeof(log_file));
    log_file.fd = fileno(log_fp);
    memset(&log_, 0, sizeof(log_));
    log_.level = FC_LOG_DEBUG;
    log_.file = &log_file;
    log_.short_format = 1;
    memset(&cf, 0, sizeof(cf));
    cf.pool = pool;
    cf.temp_pool = pool;
    cf.log = &log_;
    cf.dir_file = file;
    cf.dir_line = line;
}

static inline void
fc_unit_cf_teardown(void)
{
    fclose(log_fp);
    fc_pool_destroy(pool);
}

/* Everything logged so far (pool memory). */
static inline const char *
logged(void)
{
    off_t n = lseek(log_file.fd, 0, SEEK_END);
    char *buf = fc_pnalloc(pool, (size_t) n + 1);
    ck_assert_int_eq(pread(log_file.fd, buf, (size_t) n, 0), n);
    buf[n] = '\0';
    return buf;
}

#endif
