#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "kiln/profile.h"

/* Accepts a sum of number+unit terms ("1h30m", "90s", "1.5h") or a bare
 * number of seconds. One week at most: longer is surely a typo. */
int kiln_duration_parse(const char *s, double *out) {
  if (!s)
    return -1;
  while (isspace((unsigned char)*s))
    s++;
  if (!*s)
    return -1;
  double total = 0;
  int terms = 0;
  while (*s) {
    if (!isdigit((unsigned char)*s) && *s != '.')
      return -1; /* rejects signs: no negative durations */
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v))
      return -1;
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
  if (total > 7 * 86400.0)
    return -1;
  *out = total;
  return 0;
}
