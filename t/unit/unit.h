/* unit.h: what every Check suite binary shares. */
#ifndef FC_UNIT_H
#define FC_UNIT_H

#include <check.h>
#include <stdlib.h>

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
