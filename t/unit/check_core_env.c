/*
 * check_core_env.c: the worker environment the env directive leaves
 * (src/core/core_tuning.c): TZ and the named variables stay, NAME=VALUE
 * ones are set, every other variable is removed.
 */
#include "unit.h"
#include "unit_pool.h"

#include "core/cycle.h"

static void
env_add(fc_core_conf_t *ccf, const char *entry)
{
    if (ccf->env == NULL)
        ccf->env = fc_array_create(pool, 4, sizeof(fc_str_t));
    ck_assert_ptr_nonnull(ccf->env);
    fc_str_t *e = fc_array_push(ccf->env);
    ck_assert_ptr_nonnull(e);
    e->data = (unsigned char *) entry;
    e->len = strlen(entry);
}

START_TEST(test_env_kept_set_dropped)
{
    setenv("TZ", "UTC", 1);
    setenv("FC_KEEP", "inherited", 1);
    setenv("FC_KEEPX", "a longer name than a kept one", 1);
    setenv("FC_DROP", "1", 1);
    setenv("FC_SET", "old", 1);
    fc_core_conf_t ccf = {0};
    env_add(&ccf, "FC_KEEP");
    env_add(&ccf, "FC_SET=new=value");
    env_add(&ccf, "FC_NEW=");
    fc_core_worker_env(&ccf, pool);
    ck_assert_str_eq(getenv("TZ"), "UTC");
    ck_assert_str_eq(getenv("FC_KEEP"), "inherited");
    ck_assert_str_eq(getenv("FC_SET"), "new=value");
    ck_assert_str_eq(getenv("FC_NEW"), "");
    ck_assert_ptr_null(getenv("FC_KEEPX"));
    ck_assert_ptr_null(getenv("FC_DROP"));
    ck_assert_ptr_null(getenv("PATH"));
}
END_TEST

START_TEST(test_env_none)
{
    setenv("FC_DROP", "1", 1);
    unsetenv("TZ");
    fc_core_conf_t ccf = {0};
    fc_core_worker_env(&ccf, pool);
    ck_assert_ptr_null(getenv("FC_DROP"));
    ck_assert_ptr_null(getenv("TZ"));
    extern char **environ;
    ck_assert(environ == NULL || environ[0] == NULL);
}
END_TEST

int
main(void)
{
    const fc_unit_case_t cases[] = {
        {"kept_set_dropped", test_env_kept_set_dropped, 1},
        {"none", test_env_none, 1},
    };
    return fc_unit_run(
        fc_unit_suite("core_env", cases, fc_nelems(cases), unit_pool_setup, unit_pool_teardown));
}
