/* The telemetry panel: the series grouped by unit (temperatures, power,
 * clocks, fans, counters, other), each with its last value, its limit and
 * a sparkline of its last samples, in up to three columns where the
 * terminal is wide; a one-line summary (hottest, slowest fan, power, how
 * many out of limits) where there is no room; and the full-screen view
 * (`t`) with every series by its full name and the range seen. A value
 * out of its limits is drawn as a FAIL. */
#include <math.h>
#include <stdio.h>

#include "kiln/textutil.h"
#include "ui/dashboard_internal.h"

static const char *const group_title[G_N] = {
    "Temperatures", "Power", "Clocks", "Fans", "Counters", "Other",
};

static bool series_out(const struct series *s, double v) {
  return kiln_limit_is_set(&s->limit) && !kiln_limit_ok(&s->limit, v);
}

/* A limit in few columns: ">=400", "<=100", "2..8". */
static void fmt_limit(const struct dash *d, char *buf, size_t n,
                      const struct kiln_limit *l) {
  char lo[24], hi[24];
  kiln_figure_text(l->lo, lo, sizeof lo);
  kiln_figure_text(l->hi, hi, sizeof hi);
  if (l->has_lo && l->has_hi)
    snprintf(buf, n, "%s..%s", lo, hi);
  else if (l->has_lo)
    snprintf(buf, n, "%s%s", d->utf8 ? "\u2265" : ">=", lo);
  else if (l->has_hi)
    snprintf(buf, n, "%s%s", d->utf8 ? "\u2264" : "<=", hi);
  else
    snprintf(buf, n, "-");
}

/* A sparkline of the series' last `cols` samples, scaled over them and the
 * limits that are set; samples out of limits stand out. */
static void draw_spark(const struct dash *d, WINDOW *w, const struct series *s,
                       int cols) {
  if (cols <= 0)
    return;
  size_t n = s->n < (size_t)cols ? s->n : (size_t)cols;
  double lo = INFINITY, hi = -INFINITY;
  for (size_t k = 0; k < n; k++) {
    double v = s->v[(s->head + SPARK_CAP - n + k) % SPARK_CAP];
    if (isfinite(v)) {
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
  }
  /* The range takes in the limits, so a fan under its minimum sits at
   * the bottom and one well over it near the top. */
  double lims[2] = {s->limit.lo, s->limit.hi};
  bool has[2] = {s->limit.has_lo, s->limit.has_hi};
  for (int k = 0; k < 2; k++) {
    if (!has[k] || !isfinite(lims[k]))
      continue;
    lo = lims[k] < lo ? lims[k] : lo;
    hi = lims[k] > hi ? lims[k] : hi;
  }
  static const char *const blocks[8] = {
      "\u2581", "\u2582", "\u2583", "\u2584",
      "\u2585", "\u2586", "\u2587", "\u2588",
  };
  static const char ascii[] = "_.-:=+*#";
  attr_t ok = dash_pair(d, CP_RUN, A_NORMAL),
         out = dash_verdict_attr(d, KILN_FAIL);
  for (size_t k = 0; k < n; k++) {
    double v = s->v[(s->head + SPARK_CAP - n + k) % SPARK_CAP];
    double f = 3.0 / 7; /* a flat line when there is no range */
    if (!isfinite(v))
      f = 0;
    else if (hi > lo)
      f = (v - lo) / (hi - lo);
    if (!(f >= 0))
      f = 0; /* NaN too, from ranges too wide for a double */
    if (f > 1)
      f = 1;
    int level = (int)(f * 7 + 0.5);
    wattrset(w, series_out(s, v) ? out : ok);
    if (d->utf8)
      waddstr(w, blocks[level]);
    else
      waddch(w, (chtype)(unsigned char)ascii[level]);
  }
  wattrset(w, A_NORMAL);
}

/* One telemetry line at (y, x), cols wide: name, value, limit, sparkline;
 * the full view (wide) has the whole name and the range seen. */
static void draw_series_line(const struct dash *d, WINDOW *w, int y, int x,
                             int cols, const struct series *s, bool wide) {
  int nw = wide ? d->name_w : d->label_w;
  int cap = wide ? cols / 2 : cols * 2 / 5;
  if (cap > (wide ? 60 : 24))
    cap = wide ? 60 : 24;
  nw = nw > cap ? cap : nw < 8 ? 8 : nw;
  int vw = 11, lw = 9, rw = wide ? 20 : 0;
  int sw = cols - nw - vw - lw - rw - 3;
  if (sw < 0) {
    nw += sw;
    sw = 0;
  }
  attr_t base = s->ended ? A_DIM : A_NORMAL;
  dash_put_at(d, w, y, x, base, nw, "%s", wide ? s->name : s->label);
  x += nw + 1;
  char num[48], lim[64];
  kiln_figure_text(s->last, num, sizeof num);
  bool out = s->n > 0 && series_out(s, s->last);
  dash_put_at(d, w, y, x, out ? dash_verdict_attr(d, KILN_FAIL) : base | A_BOLD,
              vw, "%*s %-4.4s", vw - 5, s->n ? num : "-", s->unit);
  x += vw + 1;
  fmt_limit(d, lim, sizeof lim, &s->limit);
  dash_put_at(d, w, y, x, A_DIM, lw, "%-*s", lw, lim);
  x += lw + 1;
  if (wide) {
    char lo[24], hi[24];
    kiln_figure_text(s->lo_seen, lo, sizeof lo);
    kiln_figure_text(s->hi_seen, hi, sizeof hi);
    if (s->total)
      dash_put_at(d, w, y, x, A_DIM, rw, "seen %s..%s", lo, hi);
    x += rw;
  }
  wmove(w, y, x);
  draw_spark(d, w, s, sw);
}

static void draw_tele_summary(struct dash *d) {
  WINDOW *w = d->w_tele;
  double tmax = -INFINITY, fmin = INFINITY, power = 0;
  size_t fans = 0, out = 0, temps = 0, powers = 0;
  for (size_t i = 0; i < d->n_series; i++) {
    const struct series *s = &d->series[i];
    if (!s->n)
      continue;
    if (series_out(s, s->last))
      out++;
    if (s->group == G_TEMP) {
      temps++;
      tmax = s->last > tmax ? s->last : tmax;
    } else if (s->group == G_FAN) {
      fans++;
      fmin = s->last < fmin ? s->last : fmin;
    } else if (s->group == G_POWER) {
      powers++;
      power += s->last;
    }
  }
  attr_t t = A_BOLD;
  int x = dash_put_at(d, w, 0, 0, t, d->cols, "Telemetry (t): ");
  char num[48];
  if (temps) {
    kiln_figure_text(tmax, num, sizeof num);
    x += dash_put_at(d, w, 0, x, A_NORMAL, d->cols - x, "hottest %s C  ", num);
  }
  if (fans) {
    kiln_figure_text(fmin, num, sizeof num);
    x += dash_put_at(d, w, 0, x, A_NORMAL, d->cols - x,
                     "%zu fans, slowest %s RPM  ", fans, num);
  }
  if (powers) {
    kiln_figure_text(power, num, sizeof num);
    x += dash_put_at(d, w, 0, x, A_NORMAL, d->cols - x, "power %s W  ", num);
  }
  x +=
      dash_put_at(d, w, 0, x, A_NORMAL, d->cols - x, "%zu series", d->n_series);
  if (out)
    dash_put_at(d, w, 0, x, dash_verdict_attr(d, KILN_FAIL), d->cols - x,
                "  %zu out of limits", out);
}

void dash_draw_telemetry(struct dash *d) {
  WINDOW *w = d->w_tele;
  werase(w);
  if (d->tele_h == 1) {
    draw_tele_summary(d);
    wnoutrefresh(w);
    return;
  }
  int rows = d->tele_h - 1, ncol = d->tele_cols;
  size_t cap = (size_t)rows * (size_t)ncol;
  char right[64] = "";
  bool more = d->n_items > cap;
  if (more)
    snprintf(right, sizeof right, "%zu series; t shows all", d->n_series);
  dash_section_title(d, w, 0, "Telemetry", right);
  int cw = d->cols / ncol;
  size_t shown = more ? cap - 1 : d->n_items;
  for (size_t k = 0; k < shown; k++) {
    int col = (int)(k / (size_t)rows), y = 1 + (int)(k % (size_t)rows);
    int x = col * cw;
    const struct tele_item *it = &d->items[k];
    if (it->is_title)
      dash_put_at(d, w, y, x, A_BOLD | A_UNDERLINE, cw - 1, "%s",
                  group_title[it->idx]);
    else
      draw_series_line(d, w, y, x, cw - 1, &d->series[it->idx], false);
  }
  if (more) {
    int col = (int)((cap - 1) / (size_t)rows),
        y = 1 + (int)((cap - 1) % (size_t)rows);
    dash_put_at(d, w, y, col * cw, A_DIM, cw - 1, "+%zu more lines: press t",
                d->n_items - shown);
  }
  wnoutrefresh(w);
}

void dash_draw_telemetry_view(struct dash *d, WINDOW *w, int rows) {
  int total = (int)d->n_items;
  if (d->tele_scroll > total - rows)
    d->tele_scroll = total - rows;
  if (d->tele_scroll < 0)
    d->tele_scroll = 0;
  char title[96];
  snprintf(title, sizeof title,
           "Telemetry: %zu series, sampled about once a "
           "second",
           d->n_series);
  dash_section_title(d, w, 0, title, "");
  if (total == 0)
    dash_put_at(
        d, w, 1, 2, A_DIM, d->cols - 2,
        "no telemetry series (no monitor in the profile, or no sensors)");
  for (int r = 0; r < rows && d->tele_scroll + r < total; r++) {
    const struct tele_item *it = &d->items[d->tele_scroll + r];
    if (it->is_title)
      dash_put_at(d, w, 1 + r, 0, A_BOLD | A_UNDERLINE, d->cols, "%s",
                  group_title[it->idx]);
    else
      draw_series_line(d, w, 1 + r, 0, d->cols, &d->series[it->idx], true);
  }
}
