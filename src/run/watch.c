/* Hold-time watches over telemetry samples (see include/kiln/watch.h). */
#include "kiln/watch.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kiln/telemetry.h"

void kiln_watch_init(struct kiln_watch *w, enum kiln_watch_op op, double limit,
                     double hold) {
  memset(w, 0, sizeof *w);
  w->op = op;
  w->limit = limit;
  w->hold = hold > 0 ? hold : 0;
}

/* The quantity the watch compares: the value, or a counter's rise. */
static double watched(struct kiln_watch *w, double value) {
  if (w->op != KILN_WATCH_INCREASE)
    return value;
  if (!w->have_base) {
    w->have_base = true;
    w->base = w->last = value;
  } else if (value < w->last) { /* the counter was reset */
    w->kept += w->last - w->base;
    w->base = value;
  }
  w->last = value;
  return w->kept + (value - w->base);
}

static bool holds(const struct kiln_watch *w, double x) {
  switch (w->op) {
  case KILN_WATCH_ABOVE: return x > w->limit;
  case KILN_WATCH_BELOW: return x < w->limit;
  case KILN_WATCH_INCREASE: return x > w->limit;
  }
  return false;
}

static bool worse(const struct kiln_watch *w, double x, double than) {
  return w->op == KILN_WATCH_BELOW ? x < than : x > than;
}

bool kiln_watch_feed(struct kiln_watch *w, double t, double value,
                     struct kiln_watch_fire *fire) {
  if (isnan(value) || isnan(t))
    return false;
  double x = watched(w, value);
  if (!holds(w, x)) {
    w->active = false;
    w->fired = false;
    return false;
  }
  if (!w->active) {
    w->active = true;
    w->fired = false;
    w->since = t;
    w->first = x;
    w->worst = x;
  } else if (worse(w, x, w->worst)) {
    w->worst = x;
  }
  if (w->fired || !(t - w->since >= w->hold))
    return false;
  w->fired = true;
  if (fire)
    *fire = (struct kiln_watch_fire){
        .op = w->op,
        .limit = w->limit,
        .hold = w->hold,
        .t = t,
        .since = w->since,
        .held = t - w->since,
        .value = x,
        .first = w->first,
        .worst = w->worst,
    };
  return true;
}

bool kiln_watch_pending(const struct kiln_watch *w) {
  return w->active && !w->fired;
}

void kiln_watch_describe(const struct kiln_watch_fire *f, const char *what,
                         const char *unit, char *buf, size_t n) {
  const char *u = unit && *unit ? unit : "";
  const char *sp = *u ? " " : "";
  const char *w = what && *what ? what : "value";
  switch (f->op) {
  case KILN_WATCH_ABOVE:
  case KILN_WATCH_BELOW:
    snprintf(buf, n,
             "%s %s %g%s%s: %g%s%s at t=%.1f s, held %.1f s since t=%.1f s "
             "(worst %g%s%s)",
             w, f->op == KILN_WATCH_ABOVE ? "over" : "under", f->limit, sp, u,
             f->value, sp, u, f->t, f->held, f->since, f->worst, sp, u);
    break;
  case KILN_WATCH_INCREASE:
    snprintf(buf, n,
             "%s rose by %g%s%s (limit %g) at t=%.1f s, held %.1f s since "
             "t=%.1f s",
             w, f->value, sp, u, f->limit, f->t, f->held, f->since);
    break;
  }
}

static bool ends_with(const char *s, const char *tail) {
  size_t a = strlen(s), b = strlen(tail);
  return a >= b && strcmp(s + a - b, tail) == 0;
}

bool kiln_watch_for_reading(const struct kiln_tel_reading *r, double hold,
                            struct kiln_watch *w) {
  switch (r->kind) {
  case KILN_TEL_TEMP_C: {
    double lim = isfinite(r->crit) && r->crit > 0 ? r->crit : r->max;
    if (!(isfinite(lim) && lim > 0))
      return false;
    kiln_watch_init(w, KILN_WATCH_ABOVE, lim, hold);
    return true;
  }
  case KILN_TEL_FAN_RPM:
    if (!(isfinite(r->min) && r->min > 0))
      return false;
    kiln_watch_init(w, KILN_WATCH_BELOW, r->min, hold);
    return true;
  case KILN_TEL_COUNT:
    if (r->source && strcmp(r->source, "edac") == 0 && r->id &&
        ends_with(r->id, "ue_count")) {
      kiln_watch_init(w, KILN_WATCH_INCREASE, 0, 0);
      return true;
    }
    return false;
  case KILN_TEL_POWER_W:
  case KILN_TEL_FREQ_MHZ: return false;
  }
  return false;
}
