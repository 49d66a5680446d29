/* Durations as people write them in profiles, specs and options ("90s",
 * "1h30m"), and as kiln prints them back. */
#ifndef KILN_DURATION_H
#define KILN_DURATION_H

#include <stddef.h>

/* "30s", "10m", "2h", "1h30m", "1.5h", "90" (seconds): plain decimals and
 * the units s, m, h, d. Rejects negatives, hex, exponents, junk and more
 * than KILN_DURATION_MAX. Returns 0 and seconds in out, or -1. */
#define KILN_DURATION_MAX (7 * 86400.0)
int kiln_duration_parse(const char *s, double *out);
/* The same, and min <= seconds <= max; -1 with why ("'0s' is under the
 * minimum of 1s (the range is 1s..7d)") in why. */
int kiln_duration_parse_range(const char *s, double min, double max,
                              double *out, char *why, size_t n);
/* seconds in the largest unit that is whole: "7d", "90s", "1.5s". */
void kiln_duration_text(double seconds, char *buf, size_t n);

#endif
