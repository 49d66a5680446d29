/* Where a step's parameters and limits come from, and which wins: the
 * profile's section for the module (the site's choice), then the GPU SKU's
 * section (the model's default), then the module's own defaults
 * (kiln_param_spec.def, kiln_module.default_limits). This is the one place
 * that order is written: the step's getters (step.c), the limits a step is
 * judged by (the runner) and the monitors' parameters (the sampler) all
 * resolve through it. */
#ifndef KILN_SETTINGS_H
#define KILN_SETTINGS_H

#include <stddef.h>

#include "kiln/limits.h"
#include "kiln/module.h"

struct kiln_settings {
  const struct kiln_module *module;
  /* The profile's section; source names its file in messages (or NULL). */
  const struct kiln_kv *params;
  size_t n_params;
  const struct kiln_profile_limit *limits;
  size_t n_limits;
  const char *source;
  /* The SKU's section for the module, where one applies (else NULL, 0). */
  const struct kiln_kv *sku_params;
  size_t n_sku_params;
  const struct kiln_profile_limit *sku_limits;
  size_t n_sku_limits;
  const char *sku_source;
};

/* The parameter's value as text (the default may be "": not set), or NULL
 * when no one sets it and the module does not declare it. from (may be
 * NULL) gets the file that set it (source or sku_source; NULL for the
 * default) and line (may be NULL) its line (0 for the default). */
const char *kiln_settings_param(const struct kiln_settings *s, const char *name,
                                const char **from, int *line);

/* Hands set every limit that applies, once per measurement, the one that
 * wins: the profile's in their order, then the SKU's and the module's
 * defaults on measurements not limited yet. */
void kiln_settings_limits(const struct kiln_settings *s,
                          void (*set)(void *ctx, const char *measurement,
                                      const struct kiln_limit *limit),
                          void *ctx);

#endif
