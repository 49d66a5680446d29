/* NVIDIA GPUs from sysfs, so the parent never initialises CUDA (a CUDA
 * context does not survive fork()). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/gpu_enum.h"
#include "kiln/sysfs.h"

static unsigned long read_hex_file(const char *dir, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  unsigned long v = 0;
  if (fscanf(f, "%lx", &v) != 1)
    v = 0;
  fclose(f);
  return v;
}

bool kiln_gpu_pci_id(const char *bus_id, uint16_t *vendor, uint16_t *device) {
  char dev[512];
  snprintf(dev, sizeof dev, "%s/%s", kiln_sysfs_pci_devices(), bus_id);
  unsigned long v = read_hex_file(dev, "vendor"),
                d = read_hex_file(dev, "device");
  if (!v || v > 0xffff || d > 0xffff)
    return false;
  *vendor = (uint16_t)v;
  *device = (uint16_t)d;
  return true;
}

static int cmp_bus_id(const void *a, const void *b) { return strcmp(a, b); }

size_t kiln_gpu_enumerate(char (*bus_ids)[16], size_t max) {
  const char *root = kiln_sysfs_pci_devices();
  DIR *d = opendir(root);
  if (!d)
    return 0;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < max) {
    if (e->d_name[0] == '.' || strlen(e->d_name) >= 16)
      continue;
    char dev[512];
    snprintf(dev, sizeof dev, "%s/%s", root, e->d_name);
    /* 0x10de: NVIDIA; class 0x0300 VGA or 0x0302 3D controller. */
    unsigned long cls = read_hex_file(dev, "class") >> 8;
    if (read_hex_file(dev, "vendor") == 0x10de &&
        (cls == 0x0300 || cls == 0x0302))
      snprintf(bus_ids[n++], 16, "%.15s", e->d_name);
  }
  closedir(d);
  qsort(bus_ids, n, sizeof *bus_ids, cmp_bus_id);
  return n;
}

bool kiln_cuda_gpus_available(char *why, size_t n) {
  if (!KILN_HAVE_CUDA) {
    snprintf(why, n, "built without CUDA");
    return false;
  }
  char ids[64][16];
  size_t count = kiln_gpu_enumerate(ids, 64);
  if (count == 0) {
    snprintf(why, n, "no NVIDIA GPU found on the PCI bus");
    return false;
  }
  snprintf(why, n, "%zu NVIDIA GPU%s", count, count == 1 ? "" : "s");
  return true;
}
