/* ../shared beside the repository (or $KILN_SHARED): the validators
 * (tools/ocp-validate), schemas (schemas/junit-10.xsd) and real lspci
 * captures (fixtures/pci/) the tests check against. A plain clone has
 * none: a check that needs one is skipped with a line naming the path
 * looked at, and every other check of the same test still runs.
 *
 * A test whose input comes from ../shared calls fixture_need_shared first,
 * before it allocates anything (cmocka's skip() leaves by longjmp). A test
 * that only validates its output with a tool of ../shared asks
 * fixture_shared_here before the check, runs the rest, and ends with
 * fixture_skip_left_out: the test is then a SKIP, not a PASS, since a
 * check was left out. */
#ifndef KILN_TEST_SHARED_FIXTURE_H
#define KILN_TEST_SHARED_FIXTURE_H

#include <stdbool.h>

/* $KILN_SHARED when set, else ../shared. */
const char *fixture_shared_dir(void);
/* SHARED/rel (malloc'd). */
char *fixture_shared_path(const char *rel);
/* Whether SHARED/rel exists; when not, prints "# SKIP SHARED/rel not
 * found (set KILN_SHARED)" and marks the running test for
 * fixture_skip_left_out. */
bool fixture_shared_here(const char *rel);
/* Skips the running test now when SHARED/rel is absent. */
void fixture_need_shared(const char *rel);
/* Skips the running test when fixture_shared_here said no during it;
 * call at its end, once everything is freed. */
void fixture_skip_left_out(void);

#endif
