/* `kiln list [--spec FILE] [--pci-dump FILE] [--json]`: what this machine can
 * run before a run: each module and whether it can run here, the faults
 * --inject knows, the built-in profiles, the built-in GPU SKU limit files, and
 * the SKU each GPU here would be judged by (the one a station spec names, or
 * its PCI id's). Exit 0, or 64 for a bad option, spec or SKU file.
 *
 * A module's word comes from the run's own probe, so list and run cannot
 * disagree: its descriptor's `available` (module.h), which its run() decides
 * by too, with the run's context (the station spec, --pci-dump as a run
 * takes them); a monitor's is the
 * sampler's start and end of its step (kiln_sampler_probe); a GPU module is
 * judged per GPU as the planner does (kiln_gpu_access_check). Text: "ok"
 * and what it would use, or "no" / "error" / "fail" and the run's verdict
 * and reason: `no    ... (SKIP: <the run's reason>)`.
 *
 * --json prints one object (jansson), the same facts:
 *   {"modules":  [{"name", "description",
 *                  "targets": "host", "gpu" (a step per GPU) or "monitor"
 *                             (for a profile's monitors =),
 *                  "available": bool,
 *                  "verdict": null when available, else "SKIP", "ERROR"
 *                             or "FAIL" (what the run's step would end with),
 *                  "reason": what it would use, or why not: the step's
 *                            reason (for a GPU module whose GPUs cannot be
 *                            driven, each GPU step's is its line in causes),
 *                  "causes": [one line per GPU that cannot be driven]}],
 *    "faults":   [{"name", "description", "module": its module or null}],
 *    "profiles": [{"name", "description"}],
 *    "skus":     [{"name", "description", "pci_ids": ["10de:2330"],
 *                  "provisional": bool}],
 *    "spec":     the --spec path or null,
 *    "gpus":     [{"bus", "sku": its SKU's name or null, "note",
 *                  "mismatch": bool}]} */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/profile.h"
#include "kiln/context.h"
#include "kiln/gpu_access.h"
#include "kiln/gpu_enum.h"
#include "kiln/module.h"
#include "kiln/textutil.h"
#include "run/inject.h"
#include "run/plan.h"
#include "run/sampler.h"

/* What the run would make of one module here. */
struct listed {
  enum kiln_verdict verdict; /* PASS: it would run */
  char reason[1024];         /* what it would use, or why not */
  char *causes[64];          /* one per GPU that cannot be driven */
  size_t n_causes, n_gpus;
};

/* A probe's why may name the verdict other than SKIP ("ERROR: ...",
 * "FAIL: ...": module.h); it is taken off the reason. */
static void take_probe(struct listed *l, bool ok, const char *why) {
  l->verdict = ok ? KILN_PASS : KILN_SKIP;
  if (!ok && strncmp(why, "ERROR: ", 7) == 0) {
    l->verdict = KILN_ERROR;
    why += 7;
  } else if (!ok && strncmp(why, "FAIL: ", 6) == 0) {
    l->verdict = KILN_FAIL;
    why += 6;
  }
  snprintf(l->reason, sizeof l->reason, "%s", why[0] ? why : "yes");
}

/* A GPU module: what `kiln run` would make of each GPU on the bus ("error"
 * and the cause per GPU, as the run's steps would say it; MIG mode judged
 * as the built-in profiles do). */
static void probe_gpu_module(const struct kiln_module *m,
                             struct kiln_gpu_access **access,
                             struct listed *l) {
  char ids[64][16], why[1024] = "";
  size_t n = kiln_gpu_enumerate(ids, 64);
  if (n == 0) {
    /* The planner's SKIP for GPU targets; a host step over the GPUs
     * (gpu.p2p) decides in its run(), as its probe does. */
    bool ok = false;
    snprintf(why, sizeof why, "no NVIDIA GPU found on the PCI bus");
    if (m->targets == KILN_TARGETS_HOST && m->available)
      ok = m->available(why, sizeof why);
    take_probe(l, ok, why);
    return;
  }
  if (!*access)
    *access = kiln_gpu_access_open();
  for (size_t i = 0; i < n && l->n_causes < 64; i++)
    if (!kiln_gpu_access_check(*access, ids[i], m->gpu_needs, false, why,
                               sizeof why))
      l->causes[l->n_causes++] = kiln_xstrdup(why);
  l->n_gpus = n;
  if (l->n_causes > 0) {
    /* The step's reason: a GPU step's is its GPU's cause (causes); a host
     * step over the GPUs (gpu.p2p) has them all in one line, as the
     * planner joins them (kiln_plan_check_gpus). */
    l->verdict = KILN_ERROR;
    l->reason[0] = 0;
    for (size_t i = 0; m->targets == KILN_TARGETS_HOST && i < l->n_causes; i++)
      snprintf(l->reason + strlen(l->reason),
               sizeof l->reason - strlen(l->reason), "%s%s", i ? "; " : "",
               l->causes[i]);
    if (m->targets != KILN_TARGETS_HOST)
      snprintf(l->reason, sizeof l->reason,
               "%zu of %zu NVIDIA GPU%s cannot be driven", l->n_causes, n,
               n == 1 ? "" : "s");
    return;
  }
  why[0] = 0;
  take_probe(l, m->available ? m->available(why, sizeof why) : true, why);
  /* A GPU on the bus that its step cannot test is its ERROR, never a
   * SKIP (there is hardware here). */
  if (l->verdict == KILN_SKIP && m->targets == KILN_TARGETS_GPU)
    l->verdict = KILN_ERROR;
}

static void probe_module(const struct kiln_module *m,
                         const struct kiln_spec *spec,
                         struct kiln_gpu_access **access, struct listed *l) {
  char why[1024] = "";
  if (m->gpu_needs) {
    probe_gpu_module(m, access, l);
  } else if (m->monitor) {
    l->verdict = kiln_sampler_probe(m, spec, why, sizeof why);
    snprintf(l->reason, sizeof l->reason, "%s", why[0] ? why : "yes");
  } else {
    take_probe(l, m->available ? m->available(why, sizeof why) : true, why);
  }
}

static const char *listed_word(const struct listed *l) {
  switch (l->verdict) {
  case KILN_PASS: return "ok";
  case KILN_SKIP: return "no";
  case KILN_FAIL: return "fail";
  default: return "error";
  }
}

static void print_module(const struct kiln_module *m, const struct listed *l) {
  if (l->n_causes > 0)
    printf("  %-16s %-5s %s (ERROR: %zu of %zu NVIDIA GPU%s cannot be "
           "driven)\n",
           m->name, "error", m->summary, l->n_causes, l->n_gpus,
           l->n_gpus == 1 ? "" : "s");
  else if (l->verdict == KILN_PASS)
    printf("  %-16s %-5s %s (%s)\n", m->name, "ok", m->summary, l->reason);
  else
    printf("  %-16s %-5s %s (%s: %s)\n", m->name, listed_word(l), m->summary,
           kiln_verdict_name(l->verdict), l->reason);
  for (size_t i = 0; i < l->n_causes; i++)
    printf("  %-16s %-5s %s\n", "", "", l->causes[i]);
}

static json_t *module_json(const struct kiln_module *m,
                           const struct listed *l) {
  json_t *causes = json_array();
  for (size_t i = 0; i < l->n_causes; i++)
    json_array_append_new(causes, json_string(l->causes[i]));
  bool ok = l->verdict == KILN_PASS;
  const char *targets = m->targets == KILN_TARGETS_GPU       ? "gpu"
                        : m->targets == KILN_TARGETS_MONITOR ? "monitor"
                                                             : "host";
  return json_pack(
      "{s:s, s:s, s:s, s:b, s:o, s:s, s:o}", "name", m->name, "description",
      m->summary, "targets", targets, "available", ok, "verdict",
      ok ? json_null() : json_string(kiln_verdict_name(l->verdict)), "reason",
      l->reason, "causes", causes);
}

static void sku_pci_ids(const struct kiln_sku *k, char *ids, size_t n,
                        json_t *list) {
  ids[0] = 0;
  for (size_t j = 0; j < k->n_pci_ids; j++) {
    char one[16];
    snprintf(one, sizeof one, "%04x:%04x", k->pci_ids[j] >> 16,
             k->pci_ids[j] & 0xffff);
    snprintf(ids + strlen(ids), n - strlen(ids), "%s%s", j ? "," : "", one);
    if (list)
      json_array_append_new(list, json_string(one));
  }
}

struct list_args {
  const char *spec_path, *pci_dump;
  bool json;
};

static int take_list_option(int c, const char *value, void *ctx) {
  struct list_args *a = ctx;
  if (c == 'E')
    a->spec_path = value;
  else if (c == 'P')
    a->pci_dump = value;
  else if (c == 'j')
    a->json = true;
  return 0;
}

/* What list says, gathered once for the text and the JSON. */
struct listing {
  struct kiln_spec spec;
  struct kiln_sku named;
  struct kiln_sku_set skus;
  struct listed mods[64];
  size_t n_mods;
};

/* The spec and the SKUs, as a run loads them: a bad one is a usage error,
 * said before anything is listed. 0, or EXIT_USAGE after saying why. */
static int load_listing(struct listing *L, const char *spec_path,
                        const char *pci_dump) {
  char err[1024];
  if (spec_path && kiln_spec_load(spec_path, &L->spec, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: %s\n", err);
    return EXIT_USAGE;
  }
  if (!cli_load_spec_sku(&L->spec, &L->named))
    return EXIT_USAGE;
  if (kiln_sku_set_builtin(&L->skus, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: %s\n", err);
    return EXIT_USAGE;
  }
  /* The probes read the run's context: the station spec and the PCI
   * capture, as a run sets them (inventory.check, fans, pcie.link). */
  struct kiln_context ctx = {.spec = spec_path ? &L->spec : NULL,
                             .pci_dump = pci_dump};
  kiln_context_set(&ctx);
  struct kiln_gpu_access *access = NULL;
  for (const struct kiln_module *const *m = kiln_modules; *m && L->n_mods < 64;
       m++)
    probe_module(*m, spec_path ? &L->spec : NULL, &access,
                 &L->mods[L->n_mods++]);
  kiln_gpu_access_close(access);
  kiln_context_set(NULL);
  return 0;
}

static void free_listing(struct listing *L) {
  for (size_t i = 0; i < L->n_mods; i++)
    for (size_t j = 0; j < L->mods[i].n_causes; j++)
      free(L->mods[i].causes[j]);
  kiln_sku_set_free(&L->skus);
  kiln_sku_free(&L->named);
  kiln_spec_free(&L->spec);
}

static void print_text(const struct listing *L, const char *spec_path) {
  printf("modules:\n");
  for (size_t i = 0; i < L->n_mods; i++)
    print_module(kiln_modules[i], &L->mods[i]);
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
  for (size_t i = 0; i < L->skus.n; i++) {
    const struct kiln_sku *k = &L->skus.skus[i];
    char ids[128];
    sku_pci_ids(k, ids, sizeof ids, NULL);
    printf("  %-16s %s (%s)%s\n", k->id, k->name, ids,
           k->provisional ? ", provisional floors" : "");
  }
  /* Each GPU on the bus and the SKU whose limits its steps take, as a run
   * would choose it: a technician checking a station sees a spec that names
   * another model's SKU before a run is judged by the wrong floors. */
  char bus[64][16];
  size_t n = kiln_gpu_enumerate(bus, 64);
  printf("GPUs here and their SKU limits%s%s%s:\n",
         spec_path ? " (station spec " : "", spec_path ? spec_path : "",
         spec_path ? ")" : "");
  if (n == 0)
    printf("  (no NVIDIA GPU on the PCI bus)\n");
  for (size_t i = 0; i < n; i++) {
    char note[1024];
    bool mismatch = false;
    kiln_plan_sku_for_gpu(bus[i], &L->skus, L->named.id ? &L->named : NULL,
                          note, sizeof note, &mismatch);
    printf("  %s%s\n", mismatch ? "WARNING: " : "", note);
  }
}

static json_t *listing_json(const struct listing *L, const char *spec_path) {
  json_t *mods = json_array(), *faults = json_array(), *profiles = json_array(),
         *skus = json_array(), *gpus = json_array();
  for (size_t i = 0; i < L->n_mods; i++)
    json_array_append_new(mods, module_json(kiln_modules[i], &L->mods[i]));
  for (const struct kiln_fault *f = kiln_faults; f->name; f++)
    json_array_append_new(
        faults,
        json_pack("{s:s, s:s, s:o}", "name", f->name, "description", f->summary,
                  "module", f->module ? json_string(f->module) : json_null()));
  for (const char *const *p = kiln_builtin_profile_names; *p; p++) {
    struct kiln_profile prof;
    char err[512];
    if (kiln_profile_load(*p, &prof, err, sizeof err) == 0) {
      json_array_append_new(
          profiles,
          json_pack("{s:s, s:s}", "name", *p, "description", prof.description));
      kiln_profile_free(&prof);
    }
  }
  for (size_t i = 0; i < L->skus.n; i++) {
    const struct kiln_sku *k = &L->skus.skus[i];
    char ids[128];
    json_t *list = json_array();
    sku_pci_ids(k, ids, sizeof ids, list);
    json_array_append_new(skus, json_pack("{s:s, s:s, s:o, s:b}", "name", k->id,
                                          "description", k->name, "pci_ids",
                                          list, "provisional", k->provisional));
  }
  char bus[64][16];
  size_t n = kiln_gpu_enumerate(bus, 64);
  for (size_t i = 0; i < n; i++) {
    char note[1024];
    bool mismatch = false;
    const struct kiln_sku *k =
        kiln_plan_sku_for_gpu(bus[i], &L->skus, L->named.id ? &L->named : NULL,
                              note, sizeof note, &mismatch);
    json_array_append_new(gpus,
                          json_pack("{s:s, s:o, s:s, s:b}", "bus", bus[i],
                                    "sku", k ? json_string(k->id) : json_null(),
                                    "note", note, "mismatch", mismatch));
  }
  return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "modules", mods, "faults",
                   faults, "profiles", profiles, "skus", skus, "spec",
                   spec_path ? json_string(spec_path) : json_null(), "gpus",
                   gpus);
}

int cmd_list(int argc, char **argv) {
  static const struct option opts[] = {
      {"spec", required_argument, 0, 'E'},
      {"pci-dump", required_argument, 0, 'P'},
      {"json", no_argument, 0, 'j'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0},
  };
  struct list_args a = {0};
  int parsed =
      cli_parse_options(argc, argv, ":E:P:jh", opts, "", take_list_option, &a);
  if (parsed != 0)
    return parsed == CLI_HELP ? 0 : EXIT_USAGE;
  struct listing *L = kiln_xcalloc(1, sizeof *L);
  int rc = load_listing(L, a.spec_path, a.pci_dump);
  if (rc == 0 && a.json) {
    json_t *root = listing_json(L, a.spec_path);
    char *text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
    json_decref(root);
    if (!text)
      abort(); /* out of memory, as kiln_xcalloc */
    puts(text);
    free(text);
  } else if (rc == 0) {
    print_text(L, a.spec_path);
  }
  free_listing(L);
  free(L);
  return rc;
}
