/* Inventory source: NVMe drives. Every PCI function of class 010802 is
 * one; where sysfs matches the bus (kiln_inv_sysfs_matches_bus) each is
 * matched by bus id to its controller, /sys/class/nvme/nvmeN (model, serial,
 * firmware_rev; the `device` link gives the bus id). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory_sources.h"
#include "kiln/textutil.h"

void kiln_inv_collect_nvme(struct kiln_inventory *inv) {
  const struct kiln_pci_bus *bus = &inv->pci;
  struct kiln_inv_by_bdf *ctrls = NULL;
  size_t n_ctrls = 0;
  if (kiln_inv_sysfs_matches_bus(bus))
    n_ctrls = kiln_inv_scan_class("/sys/class/nvme", "nvme", &ctrls);
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
    const char *ctrl = kiln_inv_find_by_bdf(ctrls, n_ctrls, d->bdf);
    if (!ctrl) {
      v->ctrl = kiln_xstrdup("");
      v->model = kiln_xstrdup("");
      v->serial = kiln_xstrdup("");
      v->firmware = kiln_xstrdup("");
      continue;
    }
    char *path = kiln_strdup_printf("%s/%s", dir, ctrl);
    v->ctrl = kiln_xstrdup(ctrl);
    v->model = kiln_inv_read_attr(path, "model");
    v->serial = kiln_inv_read_attr(path, "serial");
    v->firmware = kiln_inv_read_attr(path, "firmware_rev");
    free(path);
  }
  free(ctrls);
}
