/* The child side of a step: what the runner hands the forked process
 * (kiln_step_config), and the step context that runs the module and writes
 * its events to the parent as wire lines (src/core/step.c). */
#ifndef KILN_STEP_CHILD_H
#define KILN_STEP_CHILD_H

#include <stdbool.h>
#include <stddef.h>

#include "kiln/module.h"
#include "kiln/step.h"

struct kiln_step_config {
  const struct kiln_module *module;
  const char *id;
  const char *target;
  int target_index;
  double duration;              /* seconds */
  const struct kiln_kv *params; /* profile values; defaults come from module */
  size_t n_params;
  /* The GPU SKU's values, used where the profile sets none, and the note
   * logged at step start saying which SKU (or why none); NULL: none. */
  const struct kiln_kv *sku_params;
  size_t n_sku_params;
  const char *sku_note;
  bool sku_provisional;
  const char *const *inject; /* faults to inject into this step; NULL-ended */
  /* Seconds between a running figure's publications (kiln_emit_running);
   * 0: KILN_PUBLISH_EVERY_DEFAULT. */
  double publish_every;
};

/* A step context that writes wire events to fd. */
struct kiln_step *kiln_step_new(const struct kiln_step_config *cfg,
                                int event_fd);
/* Calls module->run and sends the END event. */
void kiln_step_run(struct kiln_step *s);
void kiln_step_free(struct kiln_step *s);

#endif
