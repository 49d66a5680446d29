#include "fsutil.h"

#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "kiln/textutil.h"

void fs_rm_rf(const char *path) {
  DIR *d = opendir(path);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
        continue;
      char sub[PATH_MAX];
      snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
      struct stat st;
      if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
        fs_rm_rf(sub);
      else
        unlink(sub);
    }
    closedir(d);
  }
  rmdir(path);
}

bool fs_on_path(const char *prog) {
  const char *path = getenv("PATH");
  if (!path)
    return false;
  char *copy = kiln_xstrdup(path), *save = NULL;
  bool found = false;
  for (char *d = strtok_r(copy, ":", &save); d && !found;
       d = strtok_r(NULL, ":", &save)) {
    char full[PATH_MAX];
    snprintf(full, sizeof full, "%s/%s", d, prog);
    found = access(full, X_OK) == 0;
  }
  free(copy);
  return found;
}

void fs_write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

void fs_fake_gpu(const char *pci_dir, const char *bus, const char *device) {
  char dir[PATH_MAX], path[PATH_MAX + 16];
  snprintf(dir, sizeof dir, "%s/%s", pci_dir, bus);
  assert_int_equal(mkdir(dir, 0755), 0);
  snprintf(path, sizeof path, "%s/vendor", dir);
  fs_write_file(path, "0x10de\n");
  if (device) {
    char line[32];
    snprintf(line, sizeof line, "%s\n", device);
    snprintf(path, sizeof path, "%s/device", dir);
    fs_write_file(path, line);
  }
  snprintf(path, sizeof path, "%s/class", dir);
  fs_write_file(path, "0x030200\n");
}
