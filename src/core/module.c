#include <string.h>

#include "kiln/module.h"

const struct kiln_module *kiln_module_find(const char *name) {
  for (const struct kiln_module *const *m = kiln_modules; *m; m++)
    if (strcmp((*m)->name, name) == 0)
      return *m;
  return NULL;
}

const struct kiln_param_spec *kiln_module_param(const struct kiln_module *m,
                                                const char *name) {
  for (const struct kiln_param_spec *p = m->params; p && p->name; p++)
    if (strcmp(p->name, name) == 0)
      return p;
  return NULL;
}

const struct kiln_measurement_spec *
kiln_module_measurement(const struct kiln_module *m, const char *name) {
  for (const struct kiln_measurement_spec *p = m->measurements; p && p->name;
       p++)
    if (strcmp(p->name, name) == 0)
      return p;
  return NULL;
}

static bool listed(const char *const *names, const char *name) {
  for (; names && *names; names++)
    if (strcmp(*names, name) == 0)
      return true;
  return false;
}

bool kiln_module_reads_source(const struct kiln_module *m, const char *source) {
  return listed(m->telemetry_sources, source) ||
         (m->monitor && listed(m->monitor->sources, source));
}
