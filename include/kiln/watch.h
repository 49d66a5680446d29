/* Watches: a limit on one telemetry series that fires only when its
 * condition has held for a hold time, so a single noisy sample never fails
 * a run. Pure functions over samples: feed (t, value) in time order and get
 * "fired at t with value v over limit L, held H s since t0".
 *
 * An excursion is a run of samples where the condition holds; it starts at
 * its first such sample. A watch fires once per excursion, at the first
 * sample where t - start >= hold (hold 0: at its first sample). A sample
 * where the condition does not hold ends the excursion, so a later one can
 * fire again. NaN samples carry no information and are ignored.
 * Layer: run (src/run/): uses core to telemetry. */
#ifndef KILN_WATCH_H
#define KILN_WATCH_H

#include <stdbool.h>
#include <stddef.h>

enum kiln_watch_op {
  KILN_WATCH_ABOVE,    /* value > limit: a temperature over its limit */
  KILN_WATCH_BELOW,    /* value < limit: a fan under its minimum, stalled */
  KILN_WATCH_INCREASE, /* a cumulative counter rose by more than limit since
                          the first sample (EDAC, throttling); a counter
                          that goes down was reset: what it had risen by
                          is kept and counting goes on from the new value */
};

#define KILN_WATCH_DEFAULT_HOLD 5.0 /* seconds */

struct kiln_watch {
  enum kiln_watch_op op;
  double limit, hold;
  /* state */
  bool active; /* in an excursion */
  bool fired;  /* fired during this excursion */
  double since, first, worst;
  bool have_base;          /* INCREASE */
  double base, last, kept; /* INCREASE: baseline, last raw, carried rise */
};

struct kiln_watch_fire {
  enum kiln_watch_op op;
  double limit, hold;
  double t;     /* the sample at which it fired */
  double since; /* the excursion's first sample */
  double held;  /* t - since */
  double value; /* at t (INCREASE: the rise since the first sample) */
  double first; /* at since (same meaning) */
  double worst; /* highest (ABOVE, INCREASE) or lowest (BELOW) so far */
};

void kiln_watch_init(struct kiln_watch *w, enum kiln_watch_op op, double limit,
                     double hold);
/* Feeds one sample. Returns true, filling *fire (may be NULL), when the
 * watch fires at this sample. */
bool kiln_watch_feed(struct kiln_watch *w, double t, double value,
                     struct kiln_watch_fire *fire);
/* Whether the watch is in an excursion that has not fired yet (pending). */
bool kiln_watch_pending(const struct kiln_watch *w);

/* One line for people: "CPU_FAN below 300 RPM: 0 RPM at t=12.0 s, held
 * 5.0 s since t=7.0 s (worst 0 RPM)". what and unit may be NULL. */
void kiln_watch_describe(const struct kiln_watch_fire *f, const char *what,
                         const char *unit, char *buf, size_t n);

/* The watch the hardware's own limits call for, if any: a temperature above
 * its crit (else its max), a fan below its min (when min > 0), an EDAC
 * ue_count rising at all (hold 0: uncorrectable errors fail at once).
 * Limits from the SKU spec take precedence; this is the fallback. */
struct kiln_tel_reading;
bool kiln_watch_for_reading(const struct kiln_tel_reading *r, double hold,
                            struct kiln_watch *w);

#endif
