#include "kiln/sysfs.h"

#include <stdio.h>
#include <stdlib.h>

void kiln_sysroot_path(char *buf, size_t n, const char *path) {
  const char *root = getenv("KILN_SYSROOT");
  if (root && *root)
    snprintf(buf, n, "%s%s", root, path);
  else
    snprintf(buf, n, "%s", path);
}

bool kiln_sysroot_set(void) {
  const char *root = getenv("KILN_SYSROOT");
  return root && *root;
}

const char *kiln_sysfs_pci_devices(void) {
  const char *root = getenv("KILN_SYSFS_PCI");
  return root ? root : "/sys/bus/pci/devices";
}
