/* report.html's telemetry section: each series kept as a bounded envelope
 * of its samples (see html_svg.h) and drawn as one inline SVG plot, grouped
 * by unit, with its limits as dashed lines. */
#include "html_svg.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/profile.h"
#include "kiln/textutil.h"
#include "report_util.h"

/* Buckets a plot keeps at most (they merge pairwise; the array grows from
 * 64). */
#define PLOT_BUCKETS 1024
_Static_assert(PLOT_BUCKETS >= 64 && (PLOT_BUCKETS & (PLOT_BUCKETS - 1)) == 0,
               "PLOT_BUCKETS: a power of two from 64");

static const char *str(const char *s) { return s ? s : ""; }

/* A growing string for SVG path data. */
struct sbuf {
  char *p;
  size_t len, cap;
};

__attribute__((format(printf, 2, 3))) static void
sb_printf(struct sbuf *b, const char *fmt, ...) {
  for (;;) {
    size_t room = b->cap - b->len;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (w < 0)
      return;
    if ((size_t)w < room) {
      b->len += (size_t)w;
      return;
    }
    b->cap = b->cap * 2 + (size_t)w + 256;
    b->p = kiln_xrealloc(b->p, b->cap);
  }
}

const char *html_unit(const char *unit) {
  return strcmp(str(unit), "C") == 0 ? "\xc2\xb0"
                                       "C"
                                     : str(unit);
}

/* ---- bounded envelopes ---- */

struct bucket {
  double t0, t1;    /* first and last sample time */
  double lo, hi;    /* of the finite values */
  double sum;       /* of the finite values */
  uint64_t n, n_ok; /* samples, finite ones */
};

struct html_plot {
  char *id, *name, *unit, *hwid;
  struct kiln_limit limit;
  size_t step; /* index in the plan, or SIZE_MAX */
  uint64_t count, finite, over, under;
  double first_t, last_t, min, max, last;
  struct bucket *b; /* grows to PLOT_BUCKETS */
  size_t nb, cap;
  uint64_t per; /* samples per full bucket */
};

static size_t hash_id(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    h = (h ^ *p) * 1099511628211ull;
  return (size_t)h;
}

static void table_put(struct html_plots *st, size_t index) {
  size_t mask = st->table_cap - 1;
  size_t i = hash_id(st->plots[index].id) & mask;
  while (st->table[i])
    i = (i + 1) & mask;
  st->table[i] = index + 1;
}

static struct html_plot *find_plot(struct html_plots *st, const char *id) {
  if (!st->table_cap)
    return NULL;
  size_t mask = st->table_cap - 1;
  for (size_t i = hash_id(id) & mask; st->table[i]; i = (i + 1) & mask) {
    struct html_plot *p = &st->plots[st->table[i] - 1];
    if (strcmp(p->id, id) == 0)
      return p;
  }
  return NULL;
}

static void set_plot_info(struct html_plot *p, const struct kiln_series *se,
                          const struct kiln_step_result *s) {
  free(p->name);
  free(p->unit);
  free(p->hwid);
  p->name = kiln_xstrdup(se->name ? se->name : se->id);
  p->unit = kiln_xstrdup(se->unit);
  p->hwid = kiln_xstrdup(se->hwid);
  p->limit = se->limit;
  p->step = s ? s->index : SIZE_MAX;
}

/* The plot of a series, made on first sight (an element with no start
 * still gets one). */
static struct html_plot *plot_for(struct html_plots *st,
                                  const struct kiln_series *se,
                                  const struct kiln_step_result *s) {
  const char *id = str(se->id);
  struct html_plot *p = find_plot(st, id);
  if (p)
    return p;
  if (st->n_plots == st->cap_plots) {
    st->cap_plots = st->cap_plots ? 2 * st->cap_plots : 16;
    st->plots = kiln_xrealloc(st->plots, st->cap_plots * sizeof *st->plots);
  }
  if (2 * (st->n_plots + 1) > st->table_cap) {
    free(st->table);
    st->table_cap = st->table_cap ? 2 * st->table_cap : 64;
    st->table = kiln_xcalloc(st->table_cap, sizeof *st->table);
    for (size_t i = 0; i < st->n_plots; i++)
      table_put(st, i);
  }
  p = &st->plots[st->n_plots];
  memset(p, 0, sizeof *p);
  p->id = kiln_xstrdup(id);
  p->per = 1;
  p->min = INFINITY;
  p->max = -INFINITY;
  p->last = NAN;
  set_plot_info(p, se, s);
  table_put(st, st->n_plots++);
  return p;
}

static void merge_buckets(struct bucket *into, const struct bucket *a,
                          const struct bucket *b) {
  struct bucket m = {.t0 = fmin(a->t0, b->t0),
                     .t1 = fmax(a->t1, b->t1),
                     .lo = fmin(a->lo, b->lo),
                     .hi = fmax(a->hi, b->hi),
                     .sum = a->sum + b->sum,
                     .n = a->n + b->n,
                     .n_ok = a->n_ok + b->n_ok};
  *into = m;
}

/* A sample with no usable time (NaN, negative, past the year 5000)
 * cannot be placed: it is left out rather than stretch every plot's time
 * axis. */
static void plot_add(struct html_plot *p, double value, double time) {
  if (!(time >= 0 && time < 1e11))
    return;
  if (p->nb == p->cap && p->cap < PLOT_BUCKETS) {
    p->cap = p->cap ? 2 * p->cap : 64;
    p->b = kiln_xrealloc(p->b, p->cap * sizeof *p->b);
  }
  if (p->nb == 0 || p->b[p->nb - 1].n >= p->per) {
    if (p->nb == PLOT_BUCKETS) {
      for (size_t i = 0; i < PLOT_BUCKETS / 2; i++)
        merge_buckets(&p->b[i], &p->b[2 * i], &p->b[2 * i + 1]);
      p->nb = PLOT_BUCKETS / 2;
      p->per *= 2;
    }
    if (p->nb == 0 || p->b[p->nb - 1].n >= p->per)
      p->b[p->nb++] = (struct bucket){
          .t0 = time, .t1 = time, .lo = INFINITY, .hi = -INFINITY};
  }
  struct bucket *b = &p->b[p->nb - 1];
  b->n++;
  b->t0 = fmin(b->t0, time);
  b->t1 = fmax(b->t1, time);
  if (p->count == 0 || time < p->first_t)
    p->first_t = time;
  if (p->count == 0 || time > p->last_t)
    p->last_t = time;
  p->count++;
  p->last = value;
  if (!isfinite(value) || fabs(value) > 1e300)
    return; /* a gap in the plot: no sensor reads that */
  b->n_ok++;
  b->lo = fmin(b->lo, value);
  b->hi = fmax(b->hi, value);
  b->sum += value;
  p->finite++;
  p->min = fmin(p->min, value);
  p->max = fmax(p->max, value);
  if (p->limit.has_hi && value > p->limit.hi)
    p->over++;
  if (p->limit.has_lo && value < p->limit.lo)
    p->under++;
}

/* ---- the series, as the sink sees them ---- */

void html_plots_start(struct html_plots *st, const struct kiln_series *se,
                      const struct kiln_step_result *s) {
  struct html_plot *p = find_plot(st, str(se->id));
  if (p)
    set_plot_info(p, se, s); /* the same series again: keep its data */
  else
    plot_for(st, se, s);
}

void html_plots_add(struct html_plots *st, const struct kiln_series *se,
                    const struct kiln_step_result *s, double value,
                    double time) {
  plot_add(plot_for(st, se, s), value, time);
}

void html_plots_free(struct html_plots *st) {
  for (size_t i = 0; i < st->n_plots; i++) {
    struct html_plot *p = &st->plots[i];
    free(p->id);
    free(p->name);
    free(p->unit);
    free(p->hwid);
    free(p->b);
  }
  free(st->plots);
  free(st->table);
}

/* ---- SVG plots ---- */

enum group {
  G_TEMP,
  G_FAN,
  G_POWER,
  G_CLOCK,
  G_BANDWIDTH,
  G_COUNT,
  G_OTHER,
  G_N
};

static const char *const group_title[G_N] = {
    "Temperatures", "Fans",     "Power", "Clocks",
    "Bandwidth",    "Counters", "Other"};
static const char *const group_id[G_N] = {
    "temperatures", "fans",     "power", "clocks",
    "bandwidth",    "counters", "other"};

static enum group group_of(const char *unit) {
  if (!strcmp(unit, "C") || !strcmp(unit, "\xc2\xb0"
                                          "C"))
    return G_TEMP;
  if (!strcasecmp(unit, "RPM"))
    return G_FAN;
  if (!strcmp(unit, "W") || !strcmp(unit, "mW") || !strcmp(unit, "kW"))
    return G_POWER;
  if (!strcmp(unit, "MHz") || !strcmp(unit, "GHz") || !strcmp(unit, "kHz") ||
      !strcmp(unit, "Hz"))
    return G_CLOCK;
  size_t len = strlen(unit);
  if ((len > 2 && !strcmp(unit + len - 2, "/s")) ||
      (len > 3 && !strcasecmp(unit + len - 3, "bps")))
    return G_BANDWIDTH;
  if (!strcmp(unit, "count"))
    return G_COUNT;
  return G_OTHER;
}

/* Plot geometry (SVG user units). */
#define SVG_W 600.0
#define SVG_H 220.0
#define PL 66.0 /* left margin: y labels */
#define PR 14.0 /* right */
#define PT 12.0 /* top */
#define PB 38.0 /* bottom: x labels and axis title */
#define PW (SVG_W - PL - PR)
#define PH (SVG_H - PT - PB)

/* A round step near span/target: 1, 2 or 5 times a power of ten. */
static double nice_step(double span, double target) {
  double raw = span / target;
  double mag = pow(10, floor(log10(raw)));
  double f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

struct axes {
  double t0, t1; /* time domain, epoch seconds */
  double origin; /* time 0 on the axis (the run start) */
  double y0, y1, ystep;
  bool ok; /* y range usable */
};

static double sx(const struct axes *a, double t) {
  return PL + (t - a->t0) / (a->t1 - a->t0) * PW;
}

static double sy(const struct axes *a, double v) {
  return PT + (a->y1 - v) / (a->y1 - a->y0) * PH;
}

static bool limit_drawn(double v) { return isfinite(v) && fabs(v) < 1e300; }

static void y_range(const struct html_plot *p, struct axes *a) {
  double lo = p->min, hi = p->max;
  a->ok = false;
  if (!p->finite)
    return; /* limits alone make no plot */
  if (p->limit.has_lo && limit_drawn(p->limit.lo)) {
    lo = fmin(lo, p->limit.lo);
    hi = fmax(hi, p->limit.lo);
  }
  if (p->limit.has_hi && limit_drawn(p->limit.hi)) {
    lo = fmin(lo, p->limit.hi);
    hi = fmax(hi, p->limit.hi);
  }
  if (!isfinite(lo) || !isfinite(hi))
    return;
  if (hi - lo < 1e-9 * fmax(1, fabs(hi))) {
    double pad = fmax(1, fabs(hi) * 0.05);
    lo -= pad;
    hi += pad;
  }
  double pad = (hi - lo) * 0.06;
  lo -= pad;
  hi += pad;
  a->ystep = nice_step(hi - lo, 4);
  a->y0 = floor(lo / a->ystep) * a->ystep;
  a->y1 = ceil(hi / a->ystep) * a->ystep;
  a->ok = isfinite(a->ystep) && a->ystep > 0 && a->y1 > a->y0 &&
          (a->y1 - a->y0) / a->ystep < 40;
}

static void fmt_value(double v, double step, char *buf, size_t n) {
  int decimals = 0;
  if (step < 1)
    decimals = (int)fmin(9, ceil(-log10(step) - 1e-9));
  if (fabs(v) < step * 1e-6)
    v = 0; /* no "-0" */
  if (fabs(v) >= 1e7 || step < 1e-6)
    snprintf(buf, n, "%.4g", v);
  else
    snprintf(buf, n, "%.*f", decimals, v);
}

/* Time since the run start: "0:05:00", or "30 s" on an axis under two
 * minutes long. */
static void fmt_elapsed(double e, double step, double span, char *buf,
                        size_t n) {
  if (!isfinite(e) || fabs(e) > 1e10) {
    snprintf(buf, n, "?");
    return;
  }
  if (step < 1) {
    snprintf(buf, n, "%.1f s", e);
    return;
  }
  long long s = llround(e);
  const char *sign = s < 0 ? "-" : "";
  s = s < 0 ? -s : s;
  if (span < 120)
    snprintf(buf, n, "%s%lld s", sign, s);
  else
    snprintf(buf, n, "%s%lld:%02lld:%02lld", sign, s / 3600, s / 60 % 60,
             s % 60);
}

static double time_step(double span) {
  static const double steps[] = {0.1,  0.2,  0.5,  1,     2,     5,     10,
                                 15,   30,   60,   120,   300,   600,   900,
                                 1800, 3600, 7200, 10800, 21600, 43200, 86400};
  for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
    if (span / steps[i] <= 8)
      return steps[i];
  return 86400 * nice_step(span / 86400, 6);
}

/* An inline <svg> element of W x H user units (one per pixel), in the
 * page's font; the caller adds its label and closes it. */
static void svg_start(struct xml_writer *x, double w, double h) {
  xml_start(x, "svg");
  xml_attr_raw(x, "xmlns", "http://www.w3.org/2000/svg");
  xml_attrf(x, "viewBox", "0 0 %.0f %.0f", w, h);
  xml_attrf(x, "width", "%.0f", w);
  xml_attrf(x, "height", "%.0f", h);
  xml_attr_raw(x, "font-size", "11");
  xml_attr_raw(x, "font-family", "sans-serif");
  xml_attr_raw(x, "role", "img");
}

static void svg_text(struct xml_writer *x, double px, double py,
                     const char *anchor, const char *fill, const char *s) {
  xml_start(x, "text");
  xml_attrf(x, "x", "%.1f", px);
  xml_attrf(x, "y", "%.1f", py);
  if (anchor)
    xml_attr_raw(x, "text-anchor", anchor);
  if (fill)
    xml_attr_raw(x, "fill", fill);
  xml_text(x, s);
  xml_end_full(x);
}

static void svg_line(struct xml_writer *x, double x1, double y1, double x2,
                     double y2, const char *stroke) {
  xml_start(x, "line");
  xml_attrf(x, "x1", "%.1f", x1);
  xml_attrf(x, "y1", "%.1f", y1);
  xml_attrf(x, "x2", "%.1f", x2);
  xml_attrf(x, "y2", "%.1f", y2);
  xml_attr_raw(x, "stroke", stroke);
  xml_end(x);
}

static void write_axes(struct xml_writer *x, const struct axes *a,
                       const char *unit) {
  char label[64];
  xml_start(x, "rect");
  xml_attrf(x, "x", "%.1f", PL);
  xml_attrf(x, "y", "%.1f", PT);
  xml_attrf(x, "width", "%.1f", PW);
  xml_attrf(x, "height", "%.1f", PH);
  xml_attr_raw(x, "fill", "#fbfcfd");
  xml_attr_raw(x, "stroke", "#8c959f");
  xml_end(x);
  if (a->ok) {
    long n = lround((a->y1 - a->y0) / a->ystep);
    for (long i = 0; i <= n; i++) {
      double v = a->y0 + (double)i * a->ystep;
      double py = sy(a, v);
      if (i > 0 && i < n)
        svg_line(x, PL, py, PL + PW, py, "#eaeef2");
      fmt_value(v, a->ystep, label, sizeof label);
      svg_text(x, PL - 5, py + 4, "end", NULL, label);
    }
  }
  double span = a->t1 - a->t0;
  double step = time_step(span);
  double first = ceil((a->t0 - a->origin) / step) * step;
  for (int i = 0; i < 40; i++) {
    double e = first + i * step;
    double t = a->origin + e;
    if (t > a->t1 + 1e-9)
      break;
    double px = sx(a, t);
    svg_line(x, px, PT + PH, px, PT + PH + 4, "#8c959f");
    fmt_elapsed(e, step, span, label, sizeof label);
    svg_text(x, px, PT + PH + 16, "middle", NULL, label);
  }
  svg_text(x, PL + PW / 2, SVG_H - 4, "middle", "#57606a",
           span < 120 ? "time since the run started"
                      : "time since the run started (h:mm:ss)");
  xml_start(x, "text");
  xml_attr_raw(x, "transform", "rotate(-90)");
  xml_attrf(x, "x", "%.1f", -(PT + PH / 2));
  xml_attr_raw(x, "y", "14");
  xml_attr_raw(x, "text-anchor", "middle");
  xml_attr_raw(x, "fill", "#57606a");
  xml_text(x, html_unit(unit));
  xml_end_full(x);
}

static void write_limit(struct xml_writer *x, const struct axes *a,
                        const struct html_plot *p, bool hi) {
  double v = hi ? p->limit.hi : p->limit.lo;
  if (!(hi ? p->limit.has_hi : p->limit.has_lo) || !limit_drawn(v))
    return;
  char value[64], label[128];
  double py = sy(a, v);
  xml_start(x, "line");
  xml_attr_raw(x, "class", "limit");
  xml_attr_raw(x, "data-limit", hi ? "hi" : "lo");
  xml_attrf(x, "data-value", "%.10g", v);
  xml_attrf(x, "x1", "%.1f", PL);
  xml_attrf(x, "y1", "%.1f", py);
  xml_attrf(x, "x2", "%.1f", PL + PW);
  xml_attrf(x, "y2", "%.1f", py);
  xml_attr_raw(x, "stroke", "#cf222e");
  xml_attr_raw(x, "stroke-width", "1.5");
  xml_attr_raw(x, "stroke-dasharray", "7 4");
  xml_end(x);
  kiln_figure_text(v, value, sizeof value);
  snprintf(label, sizeof label, "%s %s %s", hi ? "max" : "min", value,
           html_unit(p->unit));
  /* Above a high limit, below a low one: outside the allowed band. */
  svg_text(x, PL + PW - 4, hi ? py - 4 : py + 13, "end", "#cf222e", label);
}

/* <path class=cls d=d ...>: then the attributes of style, name and value
 * pairs up to a NULL. */
static void svg_path(struct xml_writer *x, const char *cls, const char *d,
                     const char *const *style) {
  xml_start(x, "path");
  xml_attr_raw(x, "class", cls);
  xml_attr_raw(x, "d", d);
  for (const char *const *a = style; *a; a += 2)
    xml_attr_raw(x, a[0], a[1]);
  xml_end(x);
}

/* The data: a min/max band (when the buckets hold more than one value)
 * and the mean line, both broken where a bucket holds no finite value. */
static void write_data(struct xml_writer *x, const struct axes *a,
                       const struct html_plot *p, struct sbuf *band,
                       struct sbuf *line) {
  band->len = line->len = 0;
  bool spread = false;
  for (size_t i = 0; i < p->nb;) {
    while (i < p->nb && !p->b[i].n_ok)
      i++;
    size_t j = i;
    while (j < p->nb && p->b[j].n_ok)
      j++;
    if (i == j)
      break;
    for (size_t k = i; k < j; k++) {
      const struct bucket *b = &p->b[k];
      double px = sx(a, (b->t0 + b->t1) / 2);
      sb_printf(line, "%c%.1f,%.1f", k == i ? 'M' : 'L', px,
                sy(a, b->sum / (double)b->n_ok));
      sb_printf(band, "%c%.1f,%.1f", k == i ? 'M' : 'L', px, sy(a, b->hi));
      spread |= b->hi > b->lo;
    }
    for (size_t k = j; k-- > i;) {
      const struct bucket *b = &p->b[k];
      sb_printf(band, "L%.1f,%.1f", sx(a, (b->t0 + b->t1) / 2), sy(a, b->lo));
    }
    sb_printf(band, "Z");
    i = j;
  }
  static const char *const envelope[] = {
      "fill",    "#54aeff",      "fill-opacity", "0.35", "stroke",
      "#54aeff", "stroke-width", "0.8",          NULL};
  static const char *const mean[] = {"fill",
                                     "none",
                                     "stroke",
                                     "#0969da",
                                     "stroke-width",
                                     "1.5",
                                     "stroke-linejoin",
                                     "round",
                                     NULL};
  if (spread && band->len)
    svg_path(x, "envelope", band->p, envelope);
  if (line->len)
    svg_path(x, "mean", line->p, mean);
}

static void write_caption(struct xml_writer *x, const struct kiln_run *run,
                          const struct html_plot *p) {
  char limit[96];
  xml_start(x, "p");
  xml_element(x, "b", NULL, p->name);
  if (!strstr(p->name, p->id)) { /* the sampler's names include it */
    xml_text(x, " \xc2\xb7 ");
    xml_element(x, "code", NULL, p->id);
  }
  if (p->step < run->n_steps) {
    xml_text(x, " \xc2\xb7 step ");
    xml_text(x, run->steps[p->step].id);
  }
  xml_end_full(x);
  xml_start(x, "p");
  const char *u = html_unit(p->unit);
  if (p->finite) {
    char lo[48], hi[48], last[48];
    kiln_figure_text(p->min, lo, sizeof lo);
    kiln_figure_text(p->max, hi, sizeof hi);
    kiln_figure_text(p->last, last, sizeof last);
    xml_textf(x, "min %s, max %s, last %s %s", lo, hi, last, u);
  } else
    xml_text(x, "no finite readings");
  xml_textf(x, " \xc2\xb7 %llu samples", (unsigned long long)p->count);
  if (p->per > 1)
    xml_textf(x, " (each point: %llu samples; line = mean, band = min to max)",
              (unsigned long long)p->per);
  kiln_limit_describe(&p->limit, limit, sizeof limit);
  if (limit[0]) {
    xml_textf(x, " \xc2\xb7 limit %s %s", limit, u);
    if (p->over + p->under)
      xml_textf(x, ": %llu samples outside",
                (unsigned long long)(p->over + p->under));
  }
  xml_end_full(x);
}

static void write_plot(struct xml_writer *x, const struct kiln_run *run,
                       const struct html_plot *p, size_t index, struct axes a,
                       struct sbuf *band, struct sbuf *line) {
  y_range(p, &a);
  xml_start(x, "div");
  xml_attr_raw(x, "class", "plot");
  xml_attrf(x, "id", "plot-%zu", index + 1);
  xml_attr(x, "data-series", p->id);
  svg_start(x, SVG_W, SVG_H);
  xml_attr(x, "aria-label", p->name);
  xml_attr(x, "data-series", p->id);
  write_axes(x, &a, p->unit);
  if (a.ok) {
    write_data(x, &a, p, band, line);
    write_limit(x, &a, p, true);
    write_limit(x, &a, p, false);
  } else {
    svg_text(x, PL + PW / 2, PT + PH / 2, "middle", "#57606a",
             "no plottable readings");
  }
  xml_end_full(x);
  write_caption(x, run, p);
  xml_end_full(x);
}

void html_write_telemetry(struct xml_writer *x, const struct kiln_run *run,
                          const struct html_plots *st) {
  xml_element_id(x, "h2", "telemetry", "Telemetry");
  /* One time axis for every plot, so they line up. */
  struct axes a = {.t0 = INFINITY, .t1 = -INFINITY};
  for (size_t i = 0; i < st->n_plots; i++)
    if (st->plots[i].count) {
      a.t0 = fmin(a.t0, st->plots[i].first_t);
      a.t1 = fmax(a.t1, st->plots[i].last_t);
    }
  if (!isfinite(a.t0) || !isfinite(a.t1)) {
    xml_element(
        x, "p", "muted",
        "No telemetry series were recorded (no monitor ran, or it found "
        "no sensors).");
    return;
  }
  /* From the run start (time 0 on the axis) to the last sample. */
  if (run->start > 0 && run->start < a.t0 && a.t0 - run->start < 1e9)
    a.t0 = run->start;
  a.origin = a.t0;
  if (a.t1 - a.t0 < 1)
    a.t1 = a.t0 + 1;
  xml_element(x, "p", "muted",
              "Every sample is in telemetry.csv; the plots show the mean with "
              "the minimum-to-maximum band, downsampled; dashed red lines are "
              "the limits.");
  struct sbuf band = {0}, line = {0};
  for (int g = 0; g < G_N; g++) {
    size_t n = 0;
    for (size_t i = 0; i < st->n_plots; i++) {
      const struct html_plot *p = &st->plots[i];
      if (!p->count || group_of(p->unit) != (enum group)g)
        continue;
      if (!n++) {
        char id[48];
        snprintf(id, sizeof id, "telemetry-%s", group_id[g]);
        xml_element_id(x, "h3", id, group_title[g]);
      }
      write_plot(x, run, p, i, a, &band, &line);
    }
  }
  free(band.p);
  free(line.p);
}

/* ---- the run's timeline ---- */

#define TL_W 900.0
#define TL_LEFT 84.0   /* row labels */
#define TL_RIGHT 14.0  /* right margin */
#define TL_TOP 8.0     /* top margin */
#define TL_LANE 18.0   /* one step's lane */
#define TL_GAP 8.0     /* between phase rows */
#define TL_BOTTOM 38.0 /* time labels and axis title */
#define TL_MIN_BAR 3.0 /* a step of no duration still shows */
#define TL_CHAR 6.2    /* about one character's width at font-size 11 */

/* The page's verdict colours (report_html_css: .v-PASS, ...). */
const char *html_verdict_colour(const char *label) {
  static const char *const colours[][2] = {
      {"PASS", "#1a7f37"},    {"FAIL", "#cf222e"}, {"ERROR", "#bc4c00"},
      {"ABORTED", "#8250df"}, {"SKIP", "#6e7781"}, {"PENDING", "#8c959f"},
      {"RUNNING", "#0969da"},
  };
  for (size_t i = 0; i < sizeof colours / sizeof *colours; i++)
    if (strcmp(label, colours[i][0]) == 0)
      return colours[i][1];
  return "#8c959f";
}

const char *html_phase_name(int phase, char *buf, size_t n) {
  if (phase == KILN_MONITOR_PHASE)
    snprintf(buf, n, "whole run");
  else
    snprintf(buf, n, "phase %d", phase);
  return buf;
}

/* Rows: the monitors' "whole run" first, then the phases in order. */
static int row_key(int phase) {
  return phase == KILN_MONITOR_PHASE ? INT32_MIN : phase;
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

struct timeline {
  double t0, t1; /* the axis: run start to the last time known */
  double px_per_s;
};

static double tl_x(const struct timeline *tl, double t) {
  return TL_LEFT + (t - tl->t0) * tl->px_per_s;
}

/* One step's bar in its lane at y, with its name where it fits. */
static void write_step_bar(struct xml_writer *x, const struct timeline *tl,
                           const struct kiln_step_result *s, double now,
                           double y) {
  const char *label = report_step_label(s);
  const char *colour = html_verdict_colour(label);
  double right = TL_W - TL_RIGHT;
  double x0, x1;
  if (s->start > 0) {
    double end = s->end > 0 ? s->end : now;
    x0 = fmin(fmax(tl_x(tl, s->start), TL_LEFT), right - TL_MIN_BAR);
    x1 = fmin(fmax(tl_x(tl, end), x0 + TL_MIN_BAR), right);
  } else { /* not started: a mark at the end of the axis */
    x0 = right - TL_MIN_BAR;
    x1 = right;
  }
  char span[48], tip[512];
  kiln_elapsed_text(report_step_duration(s), KILN_ELAPSED_SPACED, span,
                    sizeof span);
  snprintf(tip, sizeof tip, "%s: %s%s%s", str(s->id), label,
           s->start > 0 ? ", " : "", s->start > 0 ? span : "");
  xml_start(x, "rect");
  xml_attr_raw(x, "class", "step");
  xml_attr(x, "data-step", str(s->id));
  xml_attr_raw(x, "data-verdict", label);
  xml_attrf(x, "x", "%.1f", x0);
  xml_attrf(x, "y", "%.1f", y + 2);
  xml_attrf(x, "width", "%.1f", x1 - x0);
  xml_attrf(x, "height", "%.1f", TL_LANE - 4);
  xml_attr_raw(x, "rx", "2");
  xml_attr_raw(x, "fill", colour);
  xml_start(x, "title");
  xml_text(x, tip);
  xml_end_full(x);
  xml_end_full(x);
  /* The name inside the bar where it fits, else beside it. */
  double need = TL_CHAR * (double)kiln_text_columns(str(s->id)) + 8;
  double ty = y + TL_LANE - 5;
  if (x1 - x0 >= need)
    svg_text(x, x0 + 4, ty, NULL, "#fff", str(s->id));
  else if (x1 + need <= right)
    svg_text(x, x1 + 4, ty, NULL, NULL, str(s->id));
  else
    svg_text(x, x0 - 4, ty, "end", NULL, str(s->id));
}

void html_write_timeline(struct xml_writer *x, const struct kiln_run *run) {
  xml_element_id(x, "h2", "timeline", "Timeline");
  if (!run->n_steps) {
    xml_element(x, "p", "muted", "No steps planned.");
    return;
  }
  /* The axis: from the run start to the run end, or while the run goes
   * on to the latest time a step knows (a running step: this moment). */
  double now = run->finished && run->end > 0 ? run->end : kiln_now();
  struct timeline tl = {.t0 = run->start, .t1 = run->end};
  for (size_t i = 0; i < run->n_steps; i++) {
    const struct kiln_step_result *s = &run->steps[i];
    if (s->start > 0 && (tl.t0 <= 0 || s->start < tl.t0))
      tl.t0 = s->start;
    tl.t1 = fmax(tl.t1, s->end > 0 ? s->end : s->start > 0 ? now : 0);
  }
  if (!(tl.t0 > 0))
    tl.t0 = now;
  if (!(tl.t1 > tl.t0 + 1))
    tl.t1 = tl.t0 + 1;
  tl.px_per_s = (TL_W - TL_LEFT - TL_RIGHT) / (tl.t1 - tl.t0);

  int *keys = kiln_xcalloc(run->n_steps, sizeof *keys);
  size_t n_rows = 0;
  for (size_t i = 0; i < run->n_steps; i++) {
    int k = row_key(run->steps[i].phase);
    bool seen = false;
    for (size_t j = 0; j < n_rows && !seen; j++)
      seen = keys[j] == k;
    if (!seen)
      keys[n_rows++] = k;
  }
  qsort(keys, n_rows, sizeof *keys, cmp_int);
  double height = TL_TOP + (double)run->n_steps * TL_LANE +
                  (double)n_rows * TL_GAP + TL_BOTTOM;

  xml_element(x, "p", "muted",
              "Every step as a bar from its start to its end, by phase, "
              "coloured by its verdict; the monitors run for the whole run.");
  xml_start(x, "div");
  xml_attr_raw(x, "class", "timeline");
  svg_start(x, TL_W, height);
  xml_attr_raw(x, "id", "timeline-svg");
  xml_attr_raw(x, "aria-label", "the run's steps by phase and time");
  double y = TL_TOP;
  double right = TL_W - TL_RIGHT;
  char name[32];
  for (size_t r = 0; r < n_rows; r++) {
    size_t lanes = 0;
    for (size_t i = 0; i < run->n_steps; i++)
      lanes += row_key(run->steps[i].phase) == keys[r];
    double h = (double)lanes * TL_LANE + TL_GAP;
    int phase = keys[r] == INT32_MIN ? KILN_MONITOR_PHASE : keys[r];
    xml_start(x, "rect");
    xml_attr_raw(x, "class", "row");
    xml_attrf(x, "x", "%.1f", TL_LEFT);
    xml_attrf(x, "y", "%.1f", y);
    xml_attrf(x, "width", "%.1f", right - TL_LEFT);
    xml_attrf(x, "height", "%.1f", h - 2);
    xml_attr_raw(x, "fill", r % 2 ? "#ffffff" : "#f6f8fa");
    xml_end(x);
    svg_text(x, TL_LEFT - 6, y + TL_GAP / 2 + TL_LANE - 5, "end", "#57606a",
             html_phase_name(phase, name, sizeof name));
    double lane_y = y + TL_GAP / 2 - 1;
    for (size_t i = 0; i < run->n_steps; i++)
      if (row_key(run->steps[i].phase) == keys[r]) {
        write_step_bar(x, &tl, &run->steps[i], now, lane_y);
        lane_y += TL_LANE;
      }
    y += h;
  }
  free(keys);
  /* The time axis, as the telemetry plots have it. */
  double span = tl.t1 - tl.t0;
  double step = time_step(span);
  char label[64];
  svg_line(x, TL_LEFT, y, right, y, "#8c959f");
  for (int i = 0; i < 40; i++) {
    double e = i * step;
    if (e > span + 1e-9)
      break;
    double px = tl_x(&tl, tl.t0 + e);
    svg_line(x, px, y, px, y + 4, "#8c959f");
    fmt_elapsed(e, step, span, label, sizeof label);
    svg_text(x, px, y + 16, "middle", NULL, label);
  }
  svg_text(x, TL_LEFT + (right - TL_LEFT) / 2, height - 4, "middle", "#57606a",
           span < 120 ? "time since the run started"
                      : "time since the run started (h:mm:ss)");
  xml_end_full(x);
  xml_end_full(x);
}
