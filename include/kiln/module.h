/* The module API: what a stress test declares. Each module is one file
 * under stress/ ending in a `const struct kiln_module` descriptor, listed in
 * stress/registry.c. A module never prints: it emits through step.h. */
#ifndef KILN_MODULE_H
#define KILN_MODULE_H

#include <stdbool.h>
#include <stddef.h>

#include "kiln/limits.h"

struct kiln_step;

enum kiln_target_kind {
  KILN_TARGETS_HOST, /* one step for the whole host */
  KILN_TARGETS_GPU,  /* one step per NVIDIA GPU on the PCI bus */
  /* A monitor: one step for the whole run, judged in the parent by the
   * telemetry sampler's watches (src/sampler.c); it has no run(). A
   * profile lists monitors in `monitors =`, not in a phase. */
  KILN_TARGETS_MONITOR,
};

struct kiln_param_spec {
  const char *name;
  const char *def; /* default value as the profile would spell it */
  const char *help;
};

/* A measurement the module emits. Profiles may set `<name>.min` and
 * `<name>.max` for it; limits on undeclared names are rejected. */
struct kiln_measurement_spec {
  const char *name;
  const char *unit;
  const char *help;
};

/* A limit that applies unless the profile or the GPU SKU sets one on the
 * measurement: for what the module itself knows the right bound of (a
 * vendor's published threshold), never a figure of one SKU. */
struct kiln_default_limit {
  const char *measurement;
  struct kiln_limit limit;
};

struct kiln_module {
  const char *name;    /* "cpu.compute" */
  const char *summary; /* one line */
  enum kiln_target_kind targets;
  /* Stress modules run for the step's duration (--duration applies);
   * others do a fixed amount of work and finish on their own. */
  bool stress;
  /* GPU steps of this module run one after another, not at once (they
   * share something: a PCIe switch's uplink, the host's memory). */
  bool one_at_a_time;
  const struct kiln_param_spec *params;             /* {NULL}-terminated */
  const struct kiln_measurement_spec *measurements; /* {NULL}-terminated */
  /* Default limits, {NULL}-terminated, or NULL. */
  const struct kiln_default_limit *default_limits;
  const char *const *faults; /* injectable faults it honours; NULL-terminated */
  /* What a GPU module (GPU targets, or a host step over the GPUs:
   * gpu.p2p) needs to drive a GPU: KILN_GPU_NEEDS_* of gpu_access.h; 0
   * for other modules. The parent checks it for each GPU before the run
   * (kiln_plan_check_gpus). */
  unsigned gpu_needs;
  /* The measurement tables show as the step's key figure; NULL: the first
   * one emitted. */
  const char *key_measurement;
  /* Whether it can run on this machine; writes what it would use, or why
   * not, into why. NULL means always. Called in the parent: must not
   * initialise CUDA or anything else that does not survive fork(). */
  bool (*available)(char *why, size_t n);
  /* Runs in the step's own child process (NULL for monitors). Return
   * normally when done;
   * kiln_step_skip()/kiln_step_error() first to end otherwise. */
  void (*run)(struct kiln_step *step);
};

extern const struct kiln_module *const kiln_modules[]; /* NULL-terminated */
const struct kiln_module *kiln_module_find(const char *name);
const struct kiln_param_spec *kiln_module_param(const struct kiln_module *m,
                                                const char *name);
const struct kiln_measurement_spec *
kiln_module_measurement(const struct kiln_module *m, const char *name);

#endif
