#include "shared_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "kiln/textutil.h"

/* A check of the running test was left out (reset when the test is
 * skipped for it). */
static bool left_out;

const char *fixture_shared_dir(void) {
  const char *dir = getenv("KILN_SHARED");
  return dir && dir[0] ? dir : "../shared";
}

char *fixture_shared_path(const char *rel) {
  return kiln_strdup_printf("%s/%s", fixture_shared_dir(), rel);
}

bool fixture_shared_here(const char *rel) {
  char *path = fixture_shared_path(rel);
  bool here = access(path, F_OK) == 0;
  if (!here) {
    if (!left_out) /* once a test */
      printf("# SKIP %s not found (set KILN_SHARED)\n", path);
    left_out = true;
  }
  free(path);
  return here;
}

void fixture_need_shared(const char *rel) {
  if (!fixture_shared_here(rel)) {
    left_out = false;
    skip();
  }
}

void fixture_skip_left_out(void) {
  if (left_out) {
    left_out = false;
    skip();
  }
}
