/* The plan: which modules run on which targets, in which phase. */
#ifndef KILN_PLAN_H
#define KILN_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "kiln/module.h"
#include "kiln/profile.h"

struct kiln_plan_step {
  const struct kiln_module *module;
  const struct kiln_profile_module *cfg;
  char *id;     /* "cpu.compute", "gpu.query[0]" */
  char *target; /* "host", or a GPU's PCI bus id */
  int target_index;
  int phase;
  double duration;
  char *skip_reason;   /* set when the planner already knows it cannot run */
  const char **inject; /* faults for this step, NULL-terminated */
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

/* Injectable faults (src/inject.c). */
struct kiln_fault {
  const char *name;   /* "cpu.sdc" */
  const char *module; /* the module that must catch it, or NULL: any step */
  const char *summary;
};
extern const struct kiln_fault kiln_faults[]; /* {NULL}-terminated */
const struct kiln_fault *kiln_fault_find(const char *name);

/* GPUs on the PCI bus (NVIDIA display/3D controllers), from sysfs, without
 * touching CUDA. Fills up to max bus ids; returns the count. */
size_t kiln_gpu_enumerate(char (*bus_ids)[16], size_t max);
/* For CUDA modules' available(): false with "built without CUDA" or "no
 * NVIDIA GPU found on the PCI bus", else true with "N NVIDIA GPUs". */
bool kiln_cuda_gpus_available(char *why, size_t n);

#endif
