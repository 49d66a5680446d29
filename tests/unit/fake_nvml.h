/* The fake libnvidia-ml (tests/fixtures/nvml/fake_nvml.c, knobs at its
 * top), built at test time for the tests that load NVML through
 * $KILN_NVML_LIB. */
#ifndef KILN_TEST_FAKE_NVML_H
#define KILN_TEST_FAKE_NVML_H

#include <stdbool.h>
#include <stddef.h>

/* Builds the fake into dir as libfake-nvml.so, or with old as
 * libfake-nvml-old.so (-DOLD: a driver of an older generation); its path
 * goes to path. Returns 0, or -1 with the command on stderr. */
int fake_nvml_build(const char *dir, bool old, char *path, size_t n);

/* A test group's fake driver, in a temporary directory of its own. */
struct fake_nvml {
  char dir[256];     /* /tmp/kiln-NAME-XXXXXX, for the group's other files */
  char lib[300];     /* the fake driver */
  char lib_old[300]; /* its -DOLD build, when asked for; else "" */
};

/* For a cmocka group setup: makes f's directory (NAME in its name) and
 * builds the fake there, with old the -DOLD build too. Returns 0, or -1. */
int fake_nvml_setup(struct fake_nvml *f, const char *name, bool old);
/* For the group teardown: removes f's directory and all in it. Returns 0,
 * or -1 when it is still there. */
int fake_nvml_teardown(const struct fake_nvml *f);

#endif
