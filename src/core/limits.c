#include "kiln/limits.h"

#include <math.h>
#include <stdio.h>

#include "kiln/textutil.h"

bool kiln_limit_is_set(const struct kiln_limit *l) {
  return l && (l->has_lo || l->has_hi);
}

bool kiln_limit_ok(const struct kiln_limit *l, double v) {
  if (isnan(v))
    return false;
  if (!l)
    return true;
  if (l->has_lo && !(v >= l->lo))
    return false;
  if (l->has_hi && !(v <= l->hi))
    return false;
  return true;
}

void kiln_limit_describe_digits(const struct kiln_limit *l, int digits,
                                char *buf, unsigned n) {
  if (!n)
    return;
  buf[0] = 0;
  if (!l)
    return;
  char lo[48], hi[48];
  kiln_figure_text_digits(l->lo, digits, lo, sizeof lo);
  kiln_figure_text_digits(l->hi, digits, hi, sizeof hi);
  if (l->has_lo && l->has_hi)
    snprintf(buf, n, "%s <= x <= %s", lo, hi);
  else if (l->has_lo)
    snprintf(buf, n, "x >= %s", lo);
  else if (l->has_hi)
    snprintf(buf, n, "x <= %s", hi);
}

void kiln_limit_describe(const struct kiln_limit *l, char *buf, unsigned n) {
  kiln_limit_describe_digits(l, KILN_FIGURE_DIGITS, buf, n);
}

void kiln_limit_spell(const char *measurement, const struct kiln_limit *l,
                      char *buf, unsigned n) {
  if (!n)
    return;
  buf[0] = 0;
  if (!l)
    return;
  if (l->has_lo && l->has_hi)
    snprintf(buf, n, "%s.min = %g, %s.max = %g", measurement, l->lo,
             measurement, l->hi);
  else if (l->has_lo)
    snprintf(buf, n, "%s.min = %g", measurement, l->lo);
  else if (l->has_hi)
    snprintf(buf, n, "%s.max = %g", measurement, l->hi);
}
