/* Pass limits for a measurement, always from the profile or SKU spec.
 * Layer: core (src/core/): uses no other layer. */
#ifndef KILN_LIMITS_H
#define KILN_LIMITS_H

#include <stdbool.h>

struct kiln_limit {
  bool has_lo, has_hi;
  double lo, hi; /* inclusive */
};

bool kiln_limit_is_set(const struct kiln_limit *l);
/* True when value lies within every bound that is set; NaN never passes. */
bool kiln_limit_ok(const struct kiln_limit *l, double value);
/* "x >= 5", "x <= 0", "2 <= x <= 8" or "" into buf, the bounds as
 * kiln_figure_text shows figures (so they read like the values beside
 * them); _digits: with that many significant digits. */
void kiln_limit_describe(const struct kiln_limit *l, char *buf, unsigned n);
void kiln_limit_describe_digits(const struct kiln_limit *l, int digits,
                                char *buf, unsigned n);
/* The limit as a profile spells it, "tflops_fp8.min = 400", "x.min = 1,
 * x.max = 8", or "" when none is set, into buf. */
void kiln_limit_spell(const char *measurement, const struct kiln_limit *l,
                      char *buf, unsigned n);

#endif
