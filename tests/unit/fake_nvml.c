#include "fake_nvml.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fsutil.h"

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

int fake_nvml_setup(struct fake_nvml *f, const char *name, bool old) {
  snprintf(f->dir, sizeof f->dir, "/tmp/kiln-%s-XXXXXX", name);
  f->lib[0] = f->lib_old[0] = '\0';
  if (!mkdtemp(f->dir))
    return -1;
  if (fake_nvml_build(f->dir, false, f->lib, sizeof f->lib) != 0)
    return -1;
  return old ? fake_nvml_build(f->dir, true, f->lib_old, sizeof f->lib_old) : 0;
}

int fake_nvml_teardown(const struct fake_nvml *f) {
  fs_rm_rf(f->dir);
  return access(f->dir, F_OK) == 0 ? -1 : 0;
}
