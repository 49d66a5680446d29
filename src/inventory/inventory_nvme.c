/* Inventory source: NVMe drives. Every PCI function of class 010802 is
 * one; where sysfs matches the bus (kiln_inv_sysfs_matches_bus) each is
 * matched by bus id to its controller, /sys/class/nvme/nvmeN (model, serial,
 * firmware_rev; the `device` link gives the bus id). */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inventory_sources.h"
#include "kiln/textutil.h"

struct ctrl {
  char bdf[32];
  char name[256];
};

static size_t scan_controllers(struct ctrl **out) {
  char dir[PATH_MAX];
  kiln_sysroot_path(dir, sizeof dir, "/sys/class/nvme");
  *out = NULL;
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, "nvme", 4) != 0)
      continue;
    char *link = kiln_strdup_printf("%s/%s/device", dir, e->d_name);
    char bdf[32];
    bool ok = kiln_inv_link_bdf(link, bdf, sizeof bdf);
    free(link);
    if (!ok)
      continue; /* a fabrics controller: no PCI function */
    *out = kiln_xrealloc(*out, (n + 1) * sizeof **out);
    snprintf((*out)[n].bdf, sizeof(*out)[n].bdf, "%s", bdf);
    snprintf((*out)[n].name, sizeof(*out)[n].name, "%s", e->d_name);
    n++;
  }
  closedir(d);
  return n;
}

void kiln_inv_collect_nvme(struct kiln_inventory *inv) {
  const struct kiln_pci_bus *bus = &inv->pci;
  struct ctrl *ctrls = NULL;
  size_t n_ctrls = 0;
  if (kiln_inv_sysfs_matches_bus(bus))
    n_ctrls = scan_controllers(&ctrls);
  char dir[PATH_MAX];
  kiln_sysroot_path(dir, sizeof dir, "/sys/class/nvme");
  for (size_t i = 0; i < bus->n; i++) {
    const struct kiln_pci_device *d = &bus->devs[i];
    if (!kiln_pci_is_nvme(d))
      continue;
    inv->nvmes =
        kiln_xrealloc(inv->nvmes, (inv->n_nvmes + 1) * sizeof *inv->nvmes);
    struct kiln_inv_nvme *v = &inv->nvmes[inv->n_nvmes++];
    char name[256];
    kiln_pci_device_name(bus, d, name, sizeof name);
    v->bdf = kiln_xstrdup(d->bdf);
    v->name = kiln_xstrdup(name);
    const struct ctrl *c = NULL;
    for (size_t j = 0; j < n_ctrls; j++)
      if (strcasecmp(ctrls[j].bdf, d->bdf) == 0 &&
          (!c || strcmp(ctrls[j].name, c->name) < 0))
        c = &ctrls[j];
    if (!c) {
      v->ctrl = kiln_xstrdup("");
      v->model = kiln_xstrdup("");
      v->serial = kiln_xstrdup("");
      v->firmware = kiln_xstrdup("");
      continue;
    }
    char *path = kiln_strdup_printf("%s/%s", dir, c->name);
    v->ctrl = kiln_xstrdup(c->name);
    v->model = kiln_inv_read_attr(path, "model");
    v->serial = kiln_inv_read_attr(path, "serial");
    v->firmware = kiln_inv_read_attr(path, "firmware_rev");
    free(path);
  }
  free(ctrls);
}
