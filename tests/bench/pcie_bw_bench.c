/* pcie.bw against each GPU's trained PCIe link: runs the module's own step
 * (pinning to the GPU's NUMA node, pinned buffers, timed copies, the data
 * check) on every NVIDIA GPU in turn, in this process, and prints the
 * host-to-device and device-to-host medians against the link's theoretical
 * one-direction rate.
 *
 *   pcie_bw_bench [SECONDS]     (per GPU; default 5)
 *
 * Target: h2d_link_share and d2h_link_share >= 0.80 on every GPU. Prints
 * "pcie.bw: SKIP (<reason>)" and exits 0 without a GPU (or in a CUDA=0
 * build); exits 1 when a target is missed or the data came back wrong, 2
 * when a GPU's step could not run or its link could not be read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wire.h"
#include "kiln/gpu_enum.h"
#include "kiln/module.h"
#include "kiln/result.h"
#include "kiln/textutil.h"
#include "run/plan.h"
#include "run/runner.h"

#define TARGET 0.80

struct events {
  struct kiln_wire_event *ev;
  size_t n;
};

/* Runs pcie.bw on one GPU and collects its events; 0, or -1 when the
 * events could not be read back. */
static int run_step(const char *bus, int index, double seconds,
                    struct events *out) {
  memset(out, 0, sizeof *out);
  const struct kiln_module *m = kiln_module_find("pcie.bw");
  if (!m)
    return -1;
  FILE *f = tmpfile();
  if (!f)
    return -1;
  char id[32];
  snprintf(id, sizeof id, "pcie.bw[%d]", index);
  struct kiln_step_config cfg = {
      .module = m,
      .id = id,
      .target = bus,
      .target_index = index,
      .duration = seconds,
  };
  struct kiln_step *s = kiln_step_new(&cfg, fileno(f));
  kiln_step_run(s);
  kiln_step_free(s);
  rewind(f);
  char *line = NULL;
  size_t cap = 0;
  int rc = 0;
  while (getline(&line, &cap, f) > 0) {
    struct kiln_wire_event ev;
    char err[256];
    if (kiln_wire_decode(line, &ev, err, sizeof err) != 0) {
      fprintf(stderr, "pcie_bw_bench: bad event: %s\n", err);
      rc = -1;
      break;
    }
    out->ev = kiln_xrealloc(out->ev, (out->n + 1) * sizeof ev);
    out->ev[out->n++] = ev;
  }
  free(line);
  fclose(f);
  return rc;
}

static const struct kiln_wire_event *
find(const struct events *e, enum kiln_wire_type type, const char *name) {
  for (size_t i = 0; i < e->n; i++)
    if (e->ev[i].type == type &&
        (!name || (e->ev[i].name && strcmp(e->ev[i].name, name) == 0)))
      return &e->ev[i];
  return NULL;
}

static void free_events(struct events *e) {
  for (size_t i = 0; i < e->n; i++)
    kiln_wire_event_clear(&e->ev[i]);
  free(e->ev);
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? strtod(argv[1], NULL) : 5;
  if (!(seconds >= 0)) {
    fprintf(stderr, "usage: pcie_bw_bench [SECONDS]\n");
    return 2;
  }
  char why[256];
  if (!kiln_cuda_gpus_available(why, sizeof why)) {
    printf("pcie.bw: SKIP (%s)\n", why);
    return 0;
  }
  char ids[64][16];
  size_t n = kiln_gpu_enumerate(ids, 64);
  int rc = 0;
  size_t skipped = 0;
  for (size_t i = 0; i < n; i++) {
    struct events e;
    if (run_step(ids[i], (int)i, seconds, &e) != 0) {
      printf("pcie.bw: GPU %s: could not read the step's events\n", ids[i]);
      free_events(&e);
      rc = 2;
      continue;
    }
    const struct kiln_wire_event *end = find(&e, KILN_WIRE_END, NULL);
    if (!end || end->verdict == KILN_ERROR || end->verdict == KILN_ABORTED) {
      printf("pcie.bw: GPU %s: ERROR (%s)\n", ids[i],
             end && end->message ? end->message : "no end event");
      free_events(&e);
      rc = 2;
      continue;
    }
    if (end->verdict == KILN_SKIP) {
      printf("pcie.bw: SKIP (GPU %s: %s)\n", ids[i],
             end->message ? end->message : "");
      free_events(&e);
      skipped++;
      continue;
    }
    for (size_t k = 0; k < e.n; k++)
      if (e.ev[k].type == KILN_WIRE_LOG &&
          strstr(e.ev[k].message, "judged against"))
        printf("%s\n", e.ev[k].message);
    for (size_t k = 0; k < e.n; k++)
      if (e.ev[k].type == KILN_WIRE_DIAGNOSIS &&
          e.ev[k].diag_type == KILN_DIAG_FAIL &&
          strcmp(e.ev[k].symptom, "pcie-bw-corrupt") == 0) {
        printf("pcie.bw: %s\n", e.ev[k].message);
        rc = rc ? rc : 1;
      }
    const struct kiln_wire_event *h2d = find(&e, KILN_WIRE_MEASUREMENT,
                                             "h2d_gbps"),
                                 *d2h = find(&e, KILN_WIRE_MEASUREMENT,
                                             "d2h_gbps"),
                                 *bidir = find(&e, KILN_WIRE_MEASUREMENT,
                                               "bidir_gbps"),
                                 *link = find(&e, KILN_WIRE_MEASUREMENT,
                                              "link_gbps");
    if (!h2d || !d2h || !bidir) {
      printf("pcie.bw: GPU %s: no bandwidth measured\n", ids[i]);
      free_events(&e);
      rc = 2;
      continue;
    }
    printf("GPU %s: h2d_gbps %.2f  d2h_gbps %.2f  bidir_gbps %.2f\n", ids[i],
           h2d->value, d2h->value, bidir->value);
    if (!link || link->value <= 0) {
      printf("GPU %s: trained link unknown: cannot judge\n", ids[i]);
      free_events(&e);
      rc = 2;
      continue;
    }
    double hs = h2d->value / link->value, ds = d2h->value / link->value;
    bool ok = hs >= TARGET && ds >= TARGET;
    printf("GPU %s: link_gbps %.2f  h2d_link_share %.3f  d2h_link_share "
           "%.3f  (target >= %.2f each): %s\n",
           ids[i], link->value, hs, ds, TARGET, ok ? "met" : "MISSED");
    if (!ok && rc == 0)
      rc = 1;
    free_events(&e);
  }
  if (skipped == n)
    return 0;
  return rc;
}
