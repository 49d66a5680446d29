/* The plan: which modules run on which targets, in which phase. */
#ifndef KILN_PLAN_H
#define KILN_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/profile.h"
#include "config/sku.h"
#include "core/settings.h"
#include "kiln/module.h"

struct kiln_plan_step {
  const struct kiln_module *module;
  const struct kiln_profile_module *cfg;
  char *id;     /* "cpu.compute", "gpu.query[0]" */
  char *target; /* "host", or a GPU's PCI bus id */
  int target_index;
  int phase;
  double duration;
  char *skip_reason; /* set when the planner already knows it cannot run */
  /* Set when a GPU it would test is there but cannot be driven: the step
   * ends ERROR with this reason, without a process. */
  char *error_reason;
  const char **inject; /* faults for this step, NULL-terminated */
  /* The GPU SKU whose section for this module gives default parameters
   * and limits (the profile's win), or NULL; sku_note says which and
   * why, or why none, for the step's log (NULL: nothing to say). */
  const struct kiln_sku *sku;
  char *sku_note;
  bool sku_mismatch; /* the spec's SKU lists another PCI id: warn */
};

struct kiln_plan {
  struct kiln_plan_step *steps;
  size_t n_steps;
};

struct kiln_plan_options {
  const char *only; /* comma-separated globs over module names, or NULL */
  const char *skip;
  double duration;           /* > 0 overrides every stress step's duration */
  const char *gpus;          /* --gpus: GPU ordinals or bus ids, or NULL: all */
  const char *const *inject; /* validated fault names, NULL-terminated */
};

/* Returns 0, or -1 with the reason in err (a usage error). */
int kiln_plan_build(const struct kiln_profile *p,
                    const struct kiln_plan_options *o, struct kiln_plan *out,
                    char *err, size_t n);
void kiln_plan_free(struct kiln_plan *plan);

/* Gives each GPU step the SKU of its GPU's PCI id (from sysfs) and each
 * host or monitor step the SKU of the first GPU, where that SKU has a
 * section for the step's module; override (the spec's [gpu] sku) wins over
 * the PCI id. */
void kiln_plan_assign_skus(struct kiln_plan *plan,
                           const struct kiln_sku_set *set,
                           const struct kiln_sku *override);

/* The SKU for the GPU at bus, as kiln_plan_assign_skus chooses it, with
 * the note a step logs (how it was chosen, or why none); mismatch when the
 * override's PCI ids do not hold the GPU's (its limits apply, with a
 * warning). For `kiln list`. */
const struct kiln_sku *kiln_plan_sku_for_gpu(const char *bus,
                                             const struct kiln_sku_set *set,
                                             const struct kiln_sku *override,
                                             char *note, size_t n,
                                             bool *mismatch);

/* The step's parameters and limits as they resolve (core/settings.h): its
 * profile section, then its SKU's section for the module, then the
 * module's defaults. out->source (the profile's file) is left NULL. */
void kiln_plan_step_settings(const struct kiln_plan_step *s,
                             struct kiln_settings *out);

/* Whether the step will start a process (neither SKIP nor ERROR yet). */
bool kiln_plan_step_runs(const struct kiln_plan_step *s);

/* How long the plan should take, in seconds: phases one after another,
 * each as long as its longest module (the steps of a one-at-a-time module
 * add up, the others run at once); steps that will not run take none. For
 * the line page's remaining time. */
double kiln_plan_seconds(const struct kiln_plan *plan);

/* The SKU the run is tested against: the first step's that has one, or
 * NULL (no GPU SKU applies). */
const struct kiln_sku *kiln_plan_sku(const struct kiln_plan *plan);

/* For every GPU module's step, checks the GPUs it would test
 * (kiln_gpu_access_check): a GPU that is on the bus but that kiln cannot
 * drive makes the step an ERROR naming the GPU and the cause. A host-wide
 * GPU step (gpu.p2p) checks every GPU chosen. */
void kiln_plan_check_gpus(struct kiln_plan *plan, bool mig_allowed);

#endif
