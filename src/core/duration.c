#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/duration.h"

/* A sum of number+unit terms ("1h30m", "90s", "1.5h") or a bare number of
 * seconds, with no cap. Numbers are plain decimals: strtod's hex ("0x10"),
 * exponents ("1e3") and "inf" are refused, as are signs. */
static int parse_any(const char *s, double *out) {
  if (!s)
    return -1;
  while (isspace((unsigned char)*s))
    s++;
  if (!*s)
    return -1;
  double total = 0;
  int terms = 0;
  while (*s) {
    size_t len = strspn(s, "0123456789.");
    if (len == 0 || len > 64 || strspn(s, ".") == len)
      return -1;
    char number[65];
    memcpy(number, s, len);
    number[len] = 0;
    char *end;
    errno = 0;
    double v = strtod(number, &end);
    if (errno || *end || !isfinite(v))
      return -1; /* "1.2.3" */
    end = (char *)s + len;
    double unit = 1;
    switch (*end) {
    case 's':
      unit = 1;
      end++;
      break;
    case 'm':
      unit = 60;
      end++;
      break;
    case 'h':
      unit = 3600;
      end++;
      break;
    case 'd':
      unit = 86400;
      end++;
      break;
    case 0:
      if (terms > 0)
        return -1; /* "1h30" is ambiguous */
      break;
    default: return -1;
    }
    total += v * unit;
    terms++;
    s = end;
    while (isspace((unsigned char)*s))
      s++;
  }
  if (!isfinite(total))
    return -1;
  *out = total;
  return 0;
}

/* One week at most: longer is surely a typo. */
int kiln_duration_parse(const char *s, double *out) {
  double d;
  if (parse_any(s, &d) != 0 || d > KILN_DURATION_MAX)
    return -1;
  *out = d;
  return 0;
}

void kiln_duration_text(double seconds, char *buf, size_t n) {
  static const struct {
    double secs;
    char unit;
  } units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}};
  for (size_t i = 0; i < sizeof units / sizeof *units; i++)
    if (seconds >= units[i].secs && fmod(seconds, units[i].secs) == 0) {
      snprintf(buf, n, "%g%c", seconds / units[i].secs, units[i].unit);
      return;
    }
  snprintf(buf, n, "%gs", seconds);
}

int kiln_duration_parse_range(const char *s, double min, double max,
                              double *out, char *why, size_t n) {
  char lo[32], hi[32];
  kiln_duration_text(min, lo, sizeof lo);
  kiln_duration_text(max, hi, sizeof hi);
  double d;
  if (parse_any(s, &d) != 0) {
    snprintf(why, n, "'%s' is not a duration (30s, 10m, 2h, 1h30m; %s..%s)",
             s ? s : "", lo, hi);
    return -1;
  }
  if (d < min || d > max) {
    snprintf(why, n, "'%s' is %s the %s of %s (the range is %s..%s)", s,
             d < min ? "under" : "over", d < min ? "minimum" : "cap",
             d < min ? lo : hi, lo, hi);
    return -1;
  }
  *out = d;
  return 0;
}
