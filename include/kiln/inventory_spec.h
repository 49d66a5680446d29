/* The machine's inventory against the station spec (kiln/spec.h): every
 * difference, for inventory.check and `kiln inventory --spec`; and the
 * spec written from a known-good machine (`kiln inventory --write-spec`).
 * Layer: inventory (src/inventory/): uses core, hw and config. */
#ifndef KILN_INVENTORY_SPEC_H
#define KILN_INVENTORY_SPEC_H

#include <stddef.h>

#include "kiln/inventory.h"
#include "kiln/spec.h"

/* Every difference between the machine and the spec, one line each
 * ("gpu: 7 found, spec expects 8 (missing ...)", "0000:1b:00.0 ...: wrong
 * link ..."), to `report`. Returns the number of differences. */
typedef void (*kiln_spec_report_fn)(void *ctx, const char *kind,
                                    const char *hwid, const char *message);
size_t kiln_spec_compare(const struct kiln_spec *spec,
                         const struct kiln_inventory *inv,
                         kiln_spec_report_fn report, void *ctx);

/* Writes a spec describing inv (a golden config for a line engineer to
 * edit), atomically. Returns 0, or -1 with the reason in err. */
int kiln_spec_write(const struct kiln_inventory *inv, const char *path,
                    char *err, size_t n);

#endif
