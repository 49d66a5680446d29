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

#endif
