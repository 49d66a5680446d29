/* Profile, then SKU, then the module's default (see settings.h). */
#include "core/settings.h"

#include <string.h>

static const struct kiln_kv *find_kv(const struct kiln_kv *kv, size_t n,
                                     const char *key) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(kv[i].key, key) == 0)
      return &kv[i];
  return NULL;
}

const char *kiln_settings_param(const struct kiln_settings *s, const char *name,
                                const char **from, int *line) {
  const struct kiln_kv *kv = find_kv(s->params, s->n_params, name);
  const char *file = s->source;
  if (!kv) {
    kv = find_kv(s->sku_params, s->n_sku_params, name);
    file = s->sku_source;
  }
  if (from)
    *from = kv ? file : NULL;
  if (line)
    *line = kv ? kv->line : 0;
  if (kv)
    return kv->value;
  const struct kiln_param_spec *p = kiln_module_param(s->module, name);
  return p ? p->def : NULL;
}

/* The limit on measurement that wins, or NULL. */
static const struct kiln_limit *winner(const struct kiln_settings *s,
                                       const char *measurement) {
  const struct kiln_profile_limit *const layers[] = {s->limits, s->sku_limits};
  const size_t counts[] = {s->n_limits, s->n_sku_limits};
  for (size_t k = 0; k < 2; k++)
    for (size_t i = 0; i < counts[k]; i++)
      if (kiln_limit_is_set(&layers[k][i].limit) &&
          strcmp(layers[k][i].measurement, measurement) == 0)
        return &layers[k][i].limit;
  for (const struct kiln_default_limit *d = s->module->default_limits;
       d && d->measurement; d++)
    if (kiln_limit_is_set(&d->limit) &&
        strcmp(d->measurement, measurement) == 0)
      return &d->limit;
  return NULL;
}

void kiln_settings_limits(const struct kiln_settings *s,
                          void (*set)(void *ctx, const char *measurement,
                                      const struct kiln_limit *limit),
                          void *ctx) {
  const struct kiln_profile_limit *const layers[] = {s->limits, s->sku_limits};
  const size_t counts[] = {s->n_limits, s->n_sku_limits};
  for (size_t k = 0; k < 2; k++)
    for (size_t i = 0; i < counts[k]; i++)
      if (winner(s, layers[k][i].measurement) == &layers[k][i].limit)
        set(ctx, layers[k][i].measurement, &layers[k][i].limit);
  for (const struct kiln_default_limit *d = s->module->default_limits;
       d && d->measurement; d++)
    if (winner(s, d->measurement) == &d->limit)
      set(ctx, d->measurement, &d->limit);
}
