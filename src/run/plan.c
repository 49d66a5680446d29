/* From profile + command line to the list of steps. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kiln/gpu_access.h"
#include "kiln/gpu_enum.h"
#include "kiln/textutil.h"
#include "run/inject.h"
#include "run/plan.h"

/* True when name matches one of the comma-separated globs. */
static bool matches_any(const char *patterns, const char *name) {
  char *list = kiln_xstrdup(patterns);
  char *save = NULL;
  bool hit = false;
  for (char *p = strtok_r(list, ",", &save); p && !hit;
       p = strtok_r(NULL, ",", &save)) {
    while (*p == ' ')
      p++;
    hit = fnmatch(p, name, 0) == 0;
  }
  free(list);
  return hit;
}

/* A glob in --only/--skip that matches no module at all is a typo. */
static int check_globs(const char *patterns, const char *opt, char *err,
                       size_t n) {
  char *list = kiln_xstrdup(patterns);
  char *save = NULL;
  int rc = 0;
  for (char *p = strtok_r(list, ",", &save); p && rc == 0;
       p = strtok_r(NULL, ",", &save)) {
    while (*p == ' ')
      p++;
    bool hit = false;
    for (const struct kiln_module *const *m = kiln_modules; *m && !hit; m++)
      hit = fnmatch(p, (*m)->name, 0) == 0;
    if (!hit) {
      snprintf(err, n, "%s '%s' matches no module (see `kiln list`)", opt, p);
      rc = -1;
    }
  }
  free(list);
  return rc;
}

static int by_phase(const void *a, const void *b) {
  const struct kiln_profile_module *x =
      *(const struct kiln_profile_module *const *)a;
  const struct kiln_profile_module *y =
      *(const struct kiln_profile_module *const *)b;
  if (x->phase != y->phase)
    return x->phase < y->phase ? -1 : 1;
  return x < y ? -1 : x > y; /* stable: profile order within a phase */
}

static struct kiln_plan_step *add_step(struct kiln_plan *plan) {
  plan->steps =
      kiln_xrealloc(plan->steps, (plan->n_steps + 1) * sizeof *plan->steps);
  struct kiln_plan_step *s = &plan->steps[plan->n_steps++];
  memset(s, 0, sizeof *s);
  return s;
}

/* --gpus: comma-separated GPU ordinals ("0,2") or bus ids ("1b:00.0",
 * "0000:1b:00.0"). Sets chosen[i] for the machine's GPU i; -1 with err
 * when an item names no GPU here. */
static int choose_gpus(const char *list, char (*bus_ids)[16], size_t n,
                       bool *chosen, char *err, size_t en) {
  char *copy = kiln_xstrdup(list), *save = NULL;
  int rc = 0;
  for (char *tok = strtok_r(copy, ", ", &save); tok && rc == 0;
       tok = strtok_r(NULL, ", ", &save)) {
    char *end;
    unsigned long idx = strtoul(tok, &end, 10);
    bool hit = false;
    for (size_t i = 0; i < n && !hit; i++) {
      size_t bl = strlen(bus_ids[i]), tl = strlen(tok);
      bool by_index = end != tok && !*end && idx == i;
      /* "1b:00.0" matches the end of "0000:1b:00.0". */
      bool by_bus = tl <= bl && strcasecmp(bus_ids[i] + bl - tl, tok) == 0 &&
                    (tl == bl || bus_ids[i][bl - tl - 1] == ':');
      if (by_index || by_bus)
        chosen[i] = hit = true;
    }
    if (!hit) {
      if (n == 0)
        snprintf(err, en, "--gpus '%s': no NVIDIA GPU found on the PCI bus",
                 tok);
      else
        snprintf(err, en,
                 "--gpus '%s' names no GPU here (0..%zu, or a bus id such "
                 "as %s)",
                 tok, n - 1, bus_ids[0]);
      rc = -1;
    }
  }
  free(copy);
  return rc;
}

/* A step of mod with its profile section cfg, named id, on target (both
 * taken over). */
static struct kiln_plan_step *
add_module_step(struct kiln_plan *plan, const struct kiln_module *mod,
                const struct kiln_profile_module *cfg, char *id, char *target) {
  struct kiln_plan_step *s = add_step(plan);
  s->id = id;
  s->target = target;
  s->module = mod;
  s->cfg = cfg;
  s->phase = cfg->phase;
  return s;
}

static void add_targets(struct kiln_plan *plan, const struct kiln_module *mod,
                        const struct kiln_profile_module *cfg, double duration,
                        const bool *chosen) {
  if (mod->targets == KILN_TARGETS_HOST ||
      mod->targets == KILN_TARGETS_MONITOR) {
    struct kiln_plan_step *s = add_module_step(
        plan, mod, cfg, kiln_xstrdup(mod->name), kiln_xstrdup("host"));
    s->duration = duration;
    return;
  }
  char bus_ids[64][16];
  /* GPUs come from the PCI bus, CUDA or not: a module that needs CUDA
   * SKIPs in its own run() in a build without it (NVML needs none). */
  size_t n = kiln_gpu_enumerate(bus_ids, 64);
  if (n == 0) {
    struct kiln_plan_step *s = add_module_step(
        plan, mod, cfg, kiln_xstrdup(mod->name), kiln_xstrdup("all GPUs"));
    s->skip_reason = kiln_xstrdup("no NVIDIA GPU found on the PCI bus");
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if (chosen && !chosen[i])
      continue;
    struct kiln_plan_step *s = add_module_step(
        plan, mod, cfg, kiln_strdup_printf("%s[%zu]", mod->name, i),
        kiln_xstrdup(bus_ids[i]));
    s->target_index = (int)i;
    s->duration = duration;
  }
}

static void add_fault(struct kiln_plan_step *s, const char *fault) {
  size_t k = 0;
  while (s->inject && s->inject[k])
    k++;
  s->inject = kiln_xrealloc(s->inject, (k + 2) * sizeof *s->inject);
  s->inject[k] = fault;
  s->inject[k + 1] = NULL;
}

/* "fault" or "fault:module" (generic faults only). */
static int place_fault(struct kiln_plan *plan, const char *spec, char *err,
                       size_t n) {
  char name[64];
  const char *colon = strchr(spec, ':');
  snprintf(name, sizeof name, "%.*s",
           (int)(colon ? (size_t)(colon - spec) : strlen(spec)), spec);
  const struct kiln_fault *f = kiln_fault_find(name);
  if (!f) {
    char known[256] = "";
    for (const struct kiln_fault *k = kiln_faults; k->name; k++) {
      if (known[0])
        strncat(known, ", ", sizeof known - strlen(known) - 1);
      strncat(known, k->name, sizeof known - strlen(known) - 1);
    }
    snprintf(err, n, "unknown fault '%s' (known: %s)", name, known);
    return -1;
  }
  const char *want = f->module ? f->module : colon ? colon + 1 : NULL;
  if (f->module && colon) {
    snprintf(err, n, "fault %s always goes to %s; drop ':%s'", name, f->module,
             colon + 1);
    return -1;
  }
  bool placed = false;
  for (size_t i = 0; i < plan->n_steps; i++) {
    struct kiln_plan_step *s = &plan->steps[i];
    if (!kiln_plan_step_runs(s) || (want && strcmp(s->module->name, want) != 0))
      continue;
    add_fault(s, f->name);
    placed = true;
    if (!want)
      break; /* a generic fault goes to the first step that runs */
  }
  if (!placed) {
    snprintf(err, n, "fault %s needs %s, which this run does not run", name,
             want ? want : "a step that runs");
    return -1;
  }
  return 0;
}

int kiln_plan_build(const struct kiln_profile *p,
                    const struct kiln_plan_options *o, struct kiln_plan *out,
                    char *err, size_t n) {
  memset(out, 0, sizeof *out);
  if ((o->only && check_globs(o->only, "--only", err, n) != 0) ||
      (o->skip && check_globs(o->skip, "--skip", err, n) != 0))
    return -1;
  char bus_ids[64][16];
  bool chosen[64] = {false};
  if (o->gpus && choose_gpus(o->gpus, bus_ids, kiln_gpu_enumerate(bus_ids, 64),
                             chosen, err, n) != 0)
    return -1;
  const struct kiln_profile_module **order =
      kiln_xcalloc(p->n_modules, sizeof *order);
  for (size_t i = 0; i < p->n_modules; i++)
    order[i] = &p->modules[i];
  qsort(order, p->n_modules, sizeof *order, by_phase);
  for (size_t i = 0; i < p->n_modules; i++) {
    const struct kiln_profile_module *cfg = order[i];
    const struct kiln_module *mod = kiln_module_find(cfg->name);
    if (!mod)
      continue; /* the profile parser already rejected it */
    if (o->only && !matches_any(o->only, mod->name))
      continue;
    if (o->skip && matches_any(o->skip, mod->name))
      continue;
    double d = cfg->duration >= 0 ? cfg->duration
               : mod->stress      ? p->duration
                                  : 0;
    if (o->duration > 0 && mod->stress)
      d = o->duration;
    add_targets(out, mod, cfg, d, o->gpus ? chosen : NULL);
  }
  free(order);
  if (out->n_steps == 0) {
    snprintf(err, n,
             "nothing to run: profile '%s' has no module left after "
             "--only/--skip",
             p->name);
    return -1;
  }
  for (const char *const *f = o->inject; f && *f; f++)
    if (place_fault(out, *f, err, n) != 0) {
      kiln_plan_free(out);
      return -1;
    }
  return 0;
}

/* The SKU for the GPU at bus (override first), with a note saying how it
 * was chosen or why there is none. */
/* "limits from GPU SKU ... (how it was chosen)", saying when its floors
 * are provisional. */
static void describe_sku(const struct kiln_sku *sku, const char *how,
                         char *note, size_t n) {
  snprintf(note, n, "limits from GPU SKU %s (%s, %s), %s%s", sku->id, sku->name,
           sku->source, how,
           sku->provisional ? "; PROVISIONAL floors, not yet measured on a "
                              "real GPU of this SKU"
                            : "");
}

static const struct kiln_sku *sku_for_gpu(const char *bus,
                                          const struct kiln_sku_set *set,
                                          const struct kiln_sku *override,
                                          char *note, size_t n, bool *warn) {
  *warn = false;
  uint16_t vendor, device;
  bool have_id = kiln_gpu_pci_id(bus, &vendor, &device);
  if (override) {
    uint32_t id = (uint32_t)vendor << 16 | device;
    bool listed = override->n_pci_ids == 0 || !have_id;
    for (size_t i = 0; i < override->n_pci_ids && !listed; i++)
      listed = override->pci_ids[i] == id;
    if (listed) {
      describe_sku(override, "named by the station spec", note, n);
      return override;
    }
    /* The spec wins, but another model's floors are likely a mistake (a
     * spec copied from another station): say so where it is read. */
    char ids[128] = "";
    for (size_t i = 0; i < override->n_pci_ids; i++)
      snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s%04x:%04x",
               i ? "," : "", override->pci_ids[i] >> 16,
               override->pci_ids[i] & 0xffff);
    snprintf(note, n,
             "GPU %s is %04x:%04x but the spec names SKU %s (%s): its limits "
             "apply; ",
             bus, vendor, device, override->id, ids);
    size_t used = strlen(note);
    describe_sku(override, "named by the station spec", note + used, n - used);
    *warn = true;
    return override;
  }
  if (!have_id) {
    snprintf(note, n, "GPU %s: PCI id unreadable: no SKU limits", bus);
    return NULL;
  }
  const struct kiln_sku *sku = kiln_sku_for_pci_id(set, vendor, device);
  if (!sku) {
    snprintf(note, n,
             "GPU %s (%04x:%04x): no SKU file for this PCI id: only the "
             "profile's limits apply (name one with [gpu] sku in the station "
             "spec)",
             bus, vendor, device);
    return NULL;
  }
  char how[64];
  snprintf(how, sizeof how, "chosen by PCI id %04x:%04x", vendor, device);
  describe_sku(sku, how, note, n);
  return sku;
}

const struct kiln_sku *kiln_plan_sku_for_gpu(const char *bus,
                                             const struct kiln_sku_set *set,
                                             const struct kiln_sku *override,
                                             char *note, size_t n,
                                             bool *mismatch) {
  return sku_for_gpu(bus, set, override, note, n, mismatch);
}

void kiln_plan_assign_skus(struct kiln_plan *plan,
                           const struct kiln_sku_set *set,
                           const struct kiln_sku *override) {
  char first[1][16];
  bool have_gpu = kiln_gpu_enumerate(first, 1) == 1;
  for (size_t i = 0; i < plan->n_steps; i++) {
    struct kiln_plan_step *s = &plan->steps[i];
    free(s->sku_note);
    s->sku_note = NULL;
    s->sku = NULL;
    bool gpu = s->module->targets == KILN_TARGETS_GPU;
    if (!gpu && s->module->targets != KILN_TARGETS_HOST &&
        s->module->targets != KILN_TARGETS_MONITOR)
      continue;
    const char *bus = gpu ? s->target : have_gpu ? first[0] : NULL;
    if (!bus)
      continue;
    char note[1024];
    bool mismatch;
    const struct kiln_sku *sku =
        sku_for_gpu(bus, set, override, note, sizeof note, &mismatch);
    /* A host or monitor step hears of SKUs only when one has a section
     * for it. */
    if (sku && kiln_sku_module(sku, s->module->name)) {
      s->sku = sku;
      s->sku_note = kiln_xstrdup(note);
      s->sku_mismatch = mismatch;
    } else if (gpu && !sku) {
      s->sku_note = kiln_xstrdup(note);
    }
  }
}

void kiln_plan_step_settings(const struct kiln_plan_step *s,
                             struct kiln_settings *out) {
  *out = (struct kiln_settings){.module = s->module};
  if (s->cfg) {
    out->params = s->cfg->params;
    out->n_params = s->cfg->n_params;
    out->limits = s->cfg->limits;
    out->n_limits = s->cfg->n_limits;
  }
  const struct kiln_profile_module *sku =
      kiln_sku_module(s->sku, s->module->name);
  if (sku) {
    out->sku_params = sku->params;
    out->n_sku_params = sku->n_params;
    out->sku_limits = sku->limits;
    out->n_sku_limits = sku->n_limits;
    out->sku_source = s->sku->source;
  }
}

bool kiln_plan_step_runs(const struct kiln_plan_step *s) {
  return !s->skip_reason && !s->error_reason;
}

/* How long steps [first, last) of one phase take: each module's steps at
 * once, or one after another when the module runs them so. */
static double phase_seconds(const struct kiln_plan *plan, size_t first,
                            size_t last) {
  double longest = 0;
  for (size_t i = first; i < last; i++) {
    const struct kiln_plan_step *s = &plan->steps[i];
    if (!kiln_plan_step_runs(s))
      continue;
    double module_seconds = s->duration;
    if (s->module->one_at_a_time) {
      module_seconds = 0;
      for (size_t j = first; j < last; j++)
        if (plan->steps[j].module == s->module &&
            kiln_plan_step_runs(&plan->steps[j]))
          module_seconds += plan->steps[j].duration;
    }
    longest = module_seconds > longest ? module_seconds : longest;
  }
  return longest;
}

double kiln_plan_seconds(const struct kiln_plan *plan) {
  double total = 0;
  size_t i = 0;
  while (i < plan->n_steps) {
    size_t j = i + 1;
    while (j < plan->n_steps && plan->steps[j].phase == plan->steps[i].phase)
      j++;
    total += phase_seconds(plan, i, j);
    i = j;
  }
  return total;
}

const struct kiln_sku *kiln_plan_sku(const struct kiln_plan *plan) {
  for (size_t i = 0; i < plan->n_steps; i++)
    if (plan->steps[i].sku)
      return plan->steps[i].sku;
  return NULL;
}

void kiln_plan_check_gpus(struct kiln_plan *plan, bool mig_allowed) {
  struct kiln_gpu_access *access = NULL;
  char bus_ids[64][16];
  size_t n_gpus = 0;
  for (size_t i = 0; i < plan->n_steps; i++) {
    struct kiln_plan_step *s = &plan->steps[i];
    if (!s->module->gpu_needs || !kiln_plan_step_runs(s))
      continue;
    if (!access) {
      access = kiln_gpu_access_open();
      n_gpus = kiln_gpu_enumerate(bus_ids, 64);
    }
    char why[1024];
    if (s->module->targets == KILN_TARGETS_GPU) {
      if (!kiln_gpu_access_check(access, s->target, s->module->gpu_needs,
                                 mig_allowed, why, sizeof why))
        s->error_reason = kiln_xstrdup(why);
      continue;
    }
    /* A host-wide GPU step: every GPU on the bus must be drivable; the
     * causes of all that are not go into one line. */
    char *all = NULL;
    for (size_t g = 0; g < n_gpus; g++) {
      if (kiln_gpu_access_check(access, bus_ids[g], s->module->gpu_needs,
                                mig_allowed, why, sizeof why))
        continue;
      char *joined =
          all ? kiln_strdup_printf("%s; %s", all, why) : kiln_xstrdup(why);
      free(all);
      all = joined;
    }
    s->error_reason = all;
  }
  kiln_gpu_access_close(access);
}

void kiln_plan_free(struct kiln_plan *plan) {
  for (size_t i = 0; i < plan->n_steps; i++) {
    free(plan->steps[i].sku_note);
    free(plan->steps[i].id);
    free(plan->steps[i].target);
    free(plan->steps[i].skip_reason);
    free(plan->steps[i].error_reason);
    free(plan->steps[i].inject);
  }
  free(plan->steps);
  memset(plan, 0, sizeof *plan);
}
