/* Telemetry source "edac": the kernel's memory error counters under
 * /sys/devices/system/edac/mc. Per controller: mcN/ce_count and ue_count
 * (ids "mc0/ce_count", "mc0/ue_count"); per DIMM where the kernel gives it:
 * mcN/dimmM/dimm_ce_count and dimm_ue_count (ids "mc0/dimm3/ce_count",
 * labels from dimm_label, e.g. "CPU_SrcID#0_MC#0_Chan#1_DIMM#0 CE").
 * All counters are cumulative since boot (or the last reset_counters). */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln/inventory.h"
#include "kiln/sysfs.h"
#include "kiln/telemetry.h"
#include "kiln/textutil.h"

/* A counter file, where the kernel gives it. */
static void add(struct kiln_tel_files *st, const char *path, char *id,
                char *label) {
  if (access(path, R_OK) != 0) { /* not given here */
    free(id);
    free(label);
    return;
  }
  kiln_tel_files_add(st, path, KILN_TEL_COUNT, id, label);
}

static void add_dimm(struct kiln_tel_files *st, const char *mcdir, int mc,
                     int dimm) {
  char dir[PATH_MAX], path[PATH_MAX], text[256];
  if (!kiln_tel_path(dir, sizeof dir, "%s/dimm%d", mcdir, dimm))
    return;
  char *name = NULL;
  if (kiln_tel_path(path, sizeof path, "%s/dimm_label", dir) &&
      kiln_tel_read_text(path, text, sizeof text))
    name = kiln_tel_clean_label(text);
  if (!name || !name[0]) {
    free(name);
    name = kiln_strdup_printf("mc%d/dimm%d", mc, dimm);
  }
  static const char *const kinds[] = {"ce", "ue"};
  for (size_t i = 0; i < 2; i++) {
    if (kiln_tel_path(path, sizeof path, "%s/dimm_%s_count", dir, kinds[i]))
      add(st, path,
          kiln_strdup_printf("mc%d/dimm%d/%s_count", mc, dimm, kinds[i]),
          kiln_strdup_printf("%s %s", name, i == 0 ? "CE" : "UE"));
  }
  free(name);
}

static void *edac_open(char *why, size_t n) {
  if (n)
    why[0] = '\0';
  char root[PATH_MAX];
  kiln_sysroot_path(root, sizeof root, "/sys/devices/system/edac/mc");
  int *mcs;
  size_t n_mc = kiln_tel_numbered(root, "mc", &mcs);
  if (n_mc == 0) {
    free(mcs);
    snprintf(why, n,
             "no EDAC memory controllers under /sys/devices/system/edac/mc "
             "(no EDAC driver for this platform loaded)");
    return NULL;
  }
  struct kiln_tel_files *st = kiln_xcalloc(1, sizeof *st);
  for (size_t i = 0; i < n_mc; i++) {
    char mcdir[PATH_MAX], path[PATH_MAX];
    int mc = mcs[i];
    if (!kiln_tel_path(mcdir, sizeof mcdir, "%s/mc%d", root, mc))
      continue;
    if (kiln_tel_path(path, sizeof path, "%s/ce_count", mcdir))
      add(st, path, kiln_strdup_printf("mc%d/ce_count", mc),
          kiln_strdup_printf("mc%d CE", mc));
    if (kiln_tel_path(path, sizeof path, "%s/ue_count", mcdir))
      add(st, path, kiln_strdup_printf("mc%d/ue_count", mc),
          kiln_strdup_printf("mc%d UE", mc));
    int *dimms;
    size_t n_dimm = kiln_tel_numbered(mcdir, "dimm", &dimms);
    for (size_t k = 0; k < n_dimm; k++)
      add_dimm(st, mcdir, mc, dimms[k]);
    free(dimms);
  }
  free(mcs);
  if (st->n == 0) {
    snprintf(why, n,
             "%zu EDAC memory controller%s, none with a readable error "
             "counter",
             n_mc, n_mc == 1 ? "" : "s");
    kiln_tel_files_close(st);
    return NULL;
  }
  return st;
}

const struct kiln_tel_source kiln_tel_edac = {
    .name = "edac",
    .summary = "EDAC memory error counters, per controller and per DIMM",
    .open = edac_open,
    .sample = kiln_tel_files_sample,
    .close = kiln_tel_files_close,
};
