/* What the whole run shares with every step: set by the parent before the
 * first step forks, so each step's child sees it as it was at run start.
 * Layer: run (src/run/): uses core to telemetry. */
#ifndef KILN_CONTEXT_H
#define KILN_CONTEXT_H

#include "kiln/inventory.h"
#include "kiln/spec.h"

struct kiln_aer_baseline {
  char bdf[16];
  struct kiln_aer_counters start;
};

struct kiln_context {
  const char *pci_dump;                   /* --pci-dump FILE, or NULL */
  const struct kiln_spec *spec;           /* --spec or the profile's, or NULL */
  const struct kiln_inventory *inventory; /* taken at run start, or NULL */
  const struct kiln_aer_baseline *aer;    /* sysfs AER counters at run start */
  size_t n_aer;
  /* Seconds between a stress step's running figures (kiln_emit_running,
   * the profile's publish_every); 0: KILN_PUBLISH_EVERY_DEFAULT (step.h). */
  double publish_every;
};

const struct kiln_context *kiln_context(void);
void kiln_context_set(const struct kiln_context *c); /* copied; NULL clears */

#endif
