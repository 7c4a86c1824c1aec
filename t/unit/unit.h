/* unit.h: what every Check suite binary shares. */
#ifndef FC_UNIT_H
#define FC_UNIT_H

#include <check.h>
#include <stdlib.h>

/* One TCase of a suite: a test run `loop` times (once per row of a case table). */
typedef struct {
    const char *name;
    const TTest *test;
    int loop;
} fc_unit_case_t;

/* Builds a suite with one TCase per case, each with the same fixture (NULLs allowed). */
static inline Suite *
fc_unit_suite(const char *name, const fc_unit_case_t *cases, size_t n, SFun setup, SFun teardown)
{
    Suite *s = suite_create(name);
    for (size_t i = 0; i < n; i++) {
        TCase *tc = tcase_create(cases[i].name);
        if (setup || teardown)
            tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_loop_test(tc, cases[i].test, 0, cases[i].loop);
        suite_add_tcase(s, tc);
    }
    return s;
}

/* Runs one suite with Check's normal output; the exit status for main(). */
static inline int
fc_unit_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
