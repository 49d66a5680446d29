/* `kiln list [--spec FILE]`: what this machine can run before a run:
 * each module and whether it can run here (each GPU module judged per GPU
 * as a run would), the faults --inject knows, the built-in profiles, the
 * built-in GPU SKU limit files, and the SKU each GPU here would be judged
 * by (the one a station spec names, or its PCI id's). Exit 0, or 64 for a
 * bad option, spec or SKU file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/profile.h"
#include "kiln/gpu_access.h"
#include "kiln/gpu_enum.h"
#include "kiln/module.h"
#include "kiln/textutil.h"
#include "run/inject.h"
#include "run/plan.h"

/* Each GPU on the bus and the SKU whose limits its steps take, as a run
 * would choose it: a technician checking a station sees a spec that names
 * another model's SKU before a run is judged by the wrong floors. */
static int list_gpu_skus(const char *spec_path,
                         const struct kiln_sku_set *skus) {
  struct kiln_spec spec;
  struct kiln_sku named = {0};
  char err[1024];
  memset(&spec, 0, sizeof spec);
  if (spec_path && kiln_spec_load(spec_path, &spec, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: %s\n", err);
    return EXIT_USAGE;
  }
  if (!cli_load_spec_sku(&spec, &named)) {
    kiln_spec_free(&spec);
    return EXIT_USAGE;
  }
  char bus[64][16];
  size_t n = kiln_gpu_enumerate(bus, 64);
  printf("GPUs here and their SKU limits%s%s%s:\n",
         spec_path ? " (station spec " : "", spec_path ? spec_path : "",
         spec_path ? ")" : "");
  if (n == 0)
    printf("  (no NVIDIA GPU on the PCI bus)\n");
  for (size_t i = 0; i < n && i < 64; i++) {
    char note[1024];
    bool mismatch = false;
    kiln_plan_sku_for_gpu(bus[i], skus, named.id ? &named : NULL, note,
                          sizeof note, &mismatch);
    printf("  %s%s\n", mismatch ? "WARNING: " : "", note);
  }
  kiln_sku_free(&named);
  kiln_spec_free(&spec);
  return 0;
}

/* kiln list's word for a GPU module: what `kiln run` would make of each
 * GPU on the bus, before a run ("error" and the cause per GPU, as the
 * run's steps would say it; MIG mode judged as the built-in profiles do). */
static void list_gpu_module(const struct kiln_module *m,
                            struct kiln_gpu_access **access) {
  char ids[64][16], why[1024];
  size_t n = kiln_gpu_enumerate(ids, 64);
  if (n == 0) {
    printf("  %-16s %-5s %s (SKIP: no NVIDIA GPU found on the PCI bus)\n",
           m->name, "no", m->summary);
    return;
  }
  if (!*access)
    *access = kiln_gpu_access_open();
  char *causes = NULL; /* one line per GPU that cannot be driven */
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    if (kiln_gpu_access_check(*access, ids[i], m->gpu_needs, false, why,
                              sizeof why))
      continue;
    char *more = kiln_strdup_printf("%s  %-16s %-5s %s\n", causes ? causes : "",
                                    "", "", why);
    free(causes);
    causes = more;
    bad++;
  }
  if (bad == 0) {
    char avail[256] = "";
    if (m->available)
      m->available(avail, sizeof avail);
    printf("  %-16s %-5s %s (%s)\n", m->name, "ok", m->summary,
           avail[0] ? avail : "yes");
    return;
  }
  printf("  %-16s %-5s %s (ERROR: %zu of %zu NVIDIA GPU%s cannot be "
         "driven)\n",
         m->name, "error", m->summary, bad, n, n == 1 ? "" : "s");
  fputs(causes, stdout);
  free(causes);
}

static int take_list_option(int c, const char *value, void *ctx) {
  const char **spec_path = ctx;
  if (c == 'E')
    *spec_path = value;
  return 0;
}

int cmd_list(int argc, char **argv) {
  static const struct option opts[] = {
      {"spec", required_argument, 0, 'E'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0},
  };
  const char *spec_path = NULL;
  int parsed = cli_parse_options(argc, argv, ":E:h", opts, "", take_list_option,
                                 &spec_path);
  if (parsed != 0)
    return parsed == CLI_HELP ? 0 : EXIT_USAGE;
  printf("modules:\n");
  struct kiln_gpu_access *access = NULL;
  for (const struct kiln_module *const *m = kiln_modules; *m; m++) {
    if ((*m)->gpu_needs) {
      list_gpu_module(*m, &access);
      continue;
    }
    char why[256] = "yes";
    bool ok = (*m)->available ? (*m)->available(why, sizeof why) : true;
    printf("  %-16s %-5s %s (%s)\n", (*m)->name, ok ? "ok" : "no",
           (*m)->summary, why);
  }
  kiln_gpu_access_close(access);
  printf("faults for --inject:\n");
  for (const struct kiln_fault *f = kiln_faults; f->name; f++)
    printf("  %-16s %s\n", f->name, f->summary);
  printf("built-in profiles:\n");
  for (const char *const *p = kiln_builtin_profile_names; *p; p++) {
    struct kiln_profile prof;
    char err[512];
    if (kiln_profile_load(*p, &prof, err, sizeof err) == 0) {
      printf("  %-16s %s\n", *p, prof.description);
      kiln_profile_free(&prof);
    }
  }
  printf("GPU SKU limit files (chosen by PCI id, or [gpu] sku in a spec):\n");
  struct kiln_sku_set skus;
  char err[512];
  if (kiln_sku_set_builtin(&skus, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: %s\n", err);
    return EXIT_USAGE;
  }
  for (size_t i = 0; i < skus.n; i++) {
    const struct kiln_sku *k = &skus.skus[i];
    char ids[128] = "";
    for (size_t j = 0; j < k->n_pci_ids; j++)
      snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s%04x:%04x",
               j ? "," : "", k->pci_ids[j] >> 16, k->pci_ids[j] & 0xffff);
    printf("  %-16s %s (%s)%s\n", k->id, k->name, ids,
           k->provisional ? ", provisional floors" : "");
  }
  int rc = list_gpu_skus(spec_path, &skus);
  kiln_sku_set_free(&skus);
  return rc;
}
