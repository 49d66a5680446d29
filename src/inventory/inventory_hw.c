/* The inventory as the reports' hardware list (OCP hardwareInfos). */
#include <stdio.h>
#include <stdlib.h>

#include "kiln/inventory.h"
#include "kiln/result.h"
#include "kiln/textutil.h"

void kiln_inventory_to_run(const struct kiln_inventory *inv,
                           struct kiln_run *run) {
  for (int i = 0; i < inv->cpu.sockets; i++) {
    char id[32], loc[32];
    snprintf(id, sizeof id, "cpu:%d", i);
    snprintf(loc, sizeof loc, "socket %d", i);
    struct kiln_hw_info h = {.id = id,
                             .kind = "CPU",
                             .name = inv->cpu.model,
                             .location = loc,
                             .version = inv->cpu.microcode};
    kiln_run_add_hardware(run, &h);
  }
  for (size_t i = 0; i < inv->memory.n_dimms; i++) {
    const struct kiln_inv_dimm *d = &inv->memory.dimms[i];
    if (!d->populated)
      continue;
    /* Locators repeat across banks on some boards: the index keeps ids
     * unique. */
    char *id = kiln_strdup_printf("dimm:%zu:%s", i, d->locator);
    char *name = kiln_strdup_printf("%llu GiB %s %d MT/s",
                                    (unsigned long long)(d->size_bytes >> 30),
                                    d->type ? d->type : "", d->speed_mts);
    struct kiln_hw_info h = {.id = id,
                             .kind = "DIMM",
                             .name = name,
                             .location = d->locator,
                             .serial = d->serial,
                             .part_number = d->part_number,
                             .manufacturer = d->manufacturer};
    kiln_run_add_hardware(run, &h);
    free(id);
    free(name);
  }
  for (size_t i = 0; i < inv->n_gpus; i++) {
    const struct kiln_inv_gpu *g = &inv->gpus[i];
    char *id = kiln_strdup_printf("gpu:%s", g->bdf);
    struct kiln_hw_info h = {.id = id,
                             .kind = "GPU",
                             .name =
                                 g->name && g->name[0] ? g->name : g->pci_name,
                             .location = g->bdf,
                             .serial = g->serial,
                             .manufacturer = "NVIDIA"};
    kiln_run_add_hardware(run, &h);
    free(id);
  }
  for (size_t i = 0; i < inv->n_nics; i++) {
    const struct kiln_inv_nic *n = &inv->nics[i];
    char *id = kiln_strdup_printf("nic:%s", n->bdf);
    struct kiln_hw_info h = {.id = id,
                             .kind = "NIC",
                             .name = n->name,
                             .location = n->bdf,
                             .version = n->firmware};
    kiln_run_add_hardware(run, &h);
    free(id);
  }
  for (size_t i = 0; i < inv->n_nvmes; i++) {
    const struct kiln_inv_nvme *d = &inv->nvmes[i];
    char *id = kiln_strdup_printf("nvme:%s", d->bdf);
    struct kiln_hw_info h = {.id = id,
                             .kind = "NVME",
                             .name =
                                 d->model && d->model[0] ? d->model : d->name,
                             .location = d->bdf,
                             .serial = d->serial,
                             .version = d->firmware};
    kiln_run_add_hardware(run, &h);
    free(id);
  }
}
