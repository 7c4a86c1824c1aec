/*
 * unit_pool.h: the fixture most suites share: a fresh pool per test
 * (`pool`), destroyed after it. Pass unit_pool_setup / unit_pool_teardown
 * to fc_unit_suite().
 */
#ifndef FC_UNIT_POOL_H
#define FC_UNIT_POOL_H

#include "unit.h"
#include "core/fc_core.h"

static fc_pool_t *pool;

static void
unit_pool_setup(void)
{
    pool = fc_pool_create(4096, NULL);
    ck_assert_ptr_nonnull(pool);
}

static void
unit_pool_teardown(void)
{
    fc_pool_destroy(pool);
    pool = NULL;
}

#endif
