#include "fake_nvml.h"

#include <stdio.h>
#include <stdlib.h>

#define FAKE_NVML_SRC "tests/fixtures/nvml/fake_nvml.c"

int fake_nvml_build(const char *dir, bool old, char *path, size_t n) {
  snprintf(path, n, "%s/libfake-nvml%s.so", dir, old ? "-old" : "");
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "cc -shared -fPIC -w%s -o %s %s",
           old ? " -DOLD" : "", path, FAKE_NVML_SRC);
  if (system(cmd) != 0) {
    fprintf(stderr, "could not build the fake NVML: %s\n", cmd);
    return -1;
  }
  return 0;
}
