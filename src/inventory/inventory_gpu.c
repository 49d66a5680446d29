/* Inventory source: NVIDIA GPUs. Which and where from the PCI bus (so a
 * GPU the driver lost still counts); names, serials and UUIDs from NVML,
 * on the live bus only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory_sources.h"
#include "kiln/nvml.h"
#include "kiln/textutil.h"

typedef kiln_nvml_return (*device_string_fn)(kiln_nvml_device, char *,
                                             unsigned int);

static char *nvml_string(device_string_fn fn, kiln_nvml_device dev) {
  char buf[KILN_NVML_STRING_SIZE] = "";
  if (fn(dev, buf, sizeof buf) != KILN_NVML_SUCCESS)
    return kiln_xstrdup("");
  return kiln_inv_clean_text(buf, sizeof buf);
}

char *kiln_inv_gpus_from_nvml(struct kiln_inventory *inv,
                              const struct kiln_nvml *nv) {
  size_t missed = 0;
  char first[600] = "";
  for (size_t i = 0; i < inv->n_gpus; i++) {
    struct kiln_inv_gpu *g = &inv->gpus[i];
    kiln_nvml_device dev = NULL;
    kiln_nvml_return rc = nv->device_get_handle_by_pci_bus_id(g->bdf, &dev);
    if (rc != KILN_NVML_SUCCESS) {
      if (!missed++)
        snprintf(first, sizeof first, "%s: %s", g->bdf,
                 kiln_nvml_error(nv, rc));
      continue;
    }
    free(g->name);
    free(g->serial);
    free(g->uuid);
    g->name = nvml_string(nv->device_get_name, dev);
    g->serial = nvml_string(nv->device_get_serial, dev);
    g->uuid = nvml_string(nv->device_get_uuid, dev);
  }
  if (!missed)
    return kiln_xstrdup("");
  return kiln_strdup_printf("NVML does not know %zu of %zu GPUs (%s)", missed,
                            inv->n_gpus, first);
}

static char *from_nvml(struct kiln_inventory *inv) {
  char why[512];
  struct kiln_nvml *nv = kiln_nvml_open(why, sizeof why);
  if (!nv)
    return kiln_strdup_printf("no GPU names or serials: %s", why);
  char *note = kiln_inv_gpus_from_nvml(inv, nv);
  kiln_nvml_close(nv);
  return note;
}

void kiln_inv_collect_gpus(struct kiln_inventory *inv, bool use_nvml) {
  const struct kiln_pci_bus *bus = &inv->pci;
  for (size_t i = 0; i < bus->n; i++) {
    const struct kiln_pci_device *d = &bus->devs[i];
    if (!kiln_pci_is_nvidia_gpu(d))
      continue;
    inv->gpus = kiln_xrealloc(inv->gpus, (inv->n_gpus + 1) * sizeof *inv->gpus);
    char name[256];
    kiln_pci_device_name(bus, d, name, sizeof name);
    inv->gpus[inv->n_gpus++] =
        (struct kiln_inv_gpu){.bdf = kiln_xstrdup(d->bdf),
                              .pci_name = kiln_xstrdup(name),
                              .device_id = d->device_id,
                              .numa_node = d->numa_node,
                              .name = kiln_xstrdup(""),
                              .serial = kiln_xstrdup(""),
                              .uuid = kiln_xstrdup("")};
  }
  if (inv->n_gpus == 0)
    inv->nvml_note = kiln_xstrdup("");
  else if (bus->from_dump)
    inv->nvml_note = kiln_xstrdup("no GPU names or serials: the PCI devices "
                                  "come from a capture (NVML reads the live "
                                  "machine only)");
  else if (!use_nvml)
    inv->nvml_note = kiln_xstrdup("no GPU names or serials: NVML not loaded "
                                  "(skipped)");
  else
    inv->nvml_note = from_nvml(inv);
}
