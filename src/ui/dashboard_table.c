/* The step table panel: one row per step (module, target, state, a
 * progress bar with its percentage or, once done, its duration, and the
 * key figure or the failure), a heading, and "x-y of n" where the steps
 * do not all fit. The selection follows the running step until the
 * operator moves it (dashboard_keys.c); a step failing while it runs is
 * marked "!!" and drawn in red at once. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kiln/textutil.h"
#include "ui/dashboard_internal.h"

/* The live key figure: the newest measurement named as the key, else the
 * first (as the reports take it). */
static const struct kiln_measurement *
live_figure(const struct kiln_step_result *s) {
  for (size_t i = s->n_measurements; s->key_measurement && i-- > 0;)
    if (strcmp(s->measurements[i].name, s->key_measurement) == 0)
      return &s->measurements[i];
  return s->n_measurements ? &s->measurements[0] : NULL;
}

struct table_cols {
  int module, target, state, bar, pct, figure;
};

static struct table_cols table_columns(const struct dash *d) {
  struct table_cols c = {.state = 8, .pct = 7};
  int mw = 6, tw = 6;
  for (size_t i = 0; i < d->run->n_steps; i++) {
    int a = dash_text_cols(d, d->run->steps[i].module);
    int b = dash_text_cols(d, d->run->steps[i].target);
    mw = a > mw ? a : mw;
    tw = b > tw ? b : tw;
  }
  c.module = mw > 22 ? 22 : mw;
  c.target = tw > 14 ? 14 : tw;
  c.bar = d->cols >= 120 ? 22 : 12;
  c.figure = d->cols - (2 + c.module + 1 + c.target + 1 + c.state + 1 + c.bar +
                        c.pct + 1);
  if (c.figure < 16) {
    c.bar -= 16 - c.figure;
    if (c.bar < 6)
      c.bar = 6;
    c.figure = d->cols - (2 + c.module + 1 + c.target + 1 + c.state + 1 +
                          c.bar + c.pct + 1);
  }
  return c;
}

/* A progress bar of `cols` cells: eighth blocks in UTF-8, '#' else. */
static void draw_bar(const struct dash *d, WINDOW *w, int cols, double p,
                     attr_t fill, attr_t rest) {
  if (p < 0 || isnan(p))
    p = 0;
  if (p > 1)
    p = 1;
  int eighths = (int)(p * cols * 8 + 0.5);
  static const char *const part[8] = {
      "", "\u258f", "\u258e", "\u258d", "\u258c", "\u258b", "\u258a", "\u2589",
  };
  wattrset(w, fill);
  int i = 0;
  for (; i < eighths / 8 && i < cols; i++)
    waddstr(w, d->utf8 ? "\u2588" : "#");
  if (i < cols && eighths % 8 && d->utf8) {
    waddstr(w, part[eighths % 8]);
    i++;
  }
  wattrset(w, rest);
  for (; i < cols; i++)
    waddstr(w, d->utf8 ? "\u00b7" : ".");
  wattrset(w, A_NORMAL);
}

static void keep_selection_visible(struct dash *d, int rows) {
  if (rows <= 0)
    return;
  if (d->sel < d->table_top)
    d->table_top = d->sel;
  if (d->sel >= d->table_top + (size_t)rows)
    d->table_top = d->sel - (size_t)rows + 1;
  size_t n = d->run->n_steps;
  if (n > (size_t)rows && d->table_top > n - (size_t)rows)
    d->table_top = n - (size_t)rows;
}

/* The step the selection follows until the operator moves it: the first
 * running step that is not a monitor, else the last one that ended. */
static void follow_selection(struct dash *d) {
  const struct kiln_run *r = d->run;
  if (!d->follow || r->n_steps == 0)
    return;
  size_t last_done = d->sel;
  for (size_t i = 0; i < r->n_steps; i++) {
    const struct kiln_step_result *s = &r->steps[i];
    if (dash_is_monitor(s))
      continue;
    if (s->state == KILN_STEP_RUNNING) {
      d->sel = i;
      return;
    }
    if (s->state == KILN_STEP_DONE)
      last_done = i;
  }
  d->sel = last_done;
}

static void draw_heading(struct dash *d, WINDOW *w, const struct table_cols *c,
                         int rows) {
  const struct kiln_run *r = d->run;
  attr_t head = A_BOLD | A_UNDERLINE;
  int x = 2;
  dash_put_at(d, w, 0, x, head, c->module, "%-*s", c->module, "MODULE");
  x += c->module + 1;
  dash_put_at(d, w, 0, x, head, c->target, "%-*s", c->target, "TARGET");
  x += c->target + 1;
  dash_put_at(d, w, 0, x, head, c->state, "%-*s", c->state, "STATE");
  x += c->state + 1;
  dash_put_at(d, w, 0, x, head, c->bar + c->pct, "%-*s", c->bar + c->pct,
              "PROGRESS");
  x += c->bar + c->pct + 1;
  dash_put_at(d, w, 0, x, head, c->figure, "%-*s", c->figure,
              "KEY FIGURE / NOTE");
  if (r->n_steps > (size_t)rows && rows > 0) {
    char more[48];
    snprintf(more, sizeof more, " %zu-%zu of %zu ", d->table_top + 1,
             d->table_top + (size_t)rows, r->n_steps);
    int mw = (int)strlen(more);
    dash_put_at(d, w, 0, d->cols - mw, A_REVERSE, mw, "%s", more);
  }
}

/* How a step's row is drawn: what it is, and the row's attribute. */
struct row_look {
  bool done, fail, bad, selected;
  attr_t base;
};

static struct row_look row_look(const struct dash *d,
                                const struct kiln_step_result *s,
                                bool selected) {
  struct row_look k = {.selected = selected, .base = A_NORMAL};
  k.done = s->state == KILN_STEP_DONE;
  k.fail = (k.done && s->verdict == KILN_FAIL) ||
           (!k.done && s->state == KILN_STEP_RUNNING && kiln_step_failing(s));
  k.bad = k.done && (s->verdict == KILN_ERROR || s->verdict == KILN_ABORTED);
  if (k.fail)
    k.base = dash_pair(d, CP_FAIL, A_BOLD) | A_BOLD;
  else if (s->state == KILN_STEP_PENDING || (k.done && s->verdict == KILN_SKIP))
    k.base = A_DIM;
  if (selected)
    k.base |= A_REVERSE;
  return k;
}

static attr_t state_attr(const struct dash *d, const struct kiln_step_result *s,
                         const struct row_look *k) {
  attr_t sa = k->base;
  if (s->state == KILN_STEP_RUNNING)
    sa = k->fail ? dash_pair(d, CP_FAILROW, A_REVERSE) | A_BOLD
                 : dash_pair(d, CP_RUN, A_BOLD) | A_BOLD;
  else if (k->done)
    sa = s->verdict == KILN_FAIL ? dash_pair(d, CP_FAILROW, A_REVERSE) | A_BOLD
                                 : dash_verdict_attr(d, s->verdict);
  if (k->selected)
    sa |= A_REVERSE;
  return sa;
}

/* The PROGRESS cell at (y, x): a monitor says so; a step has its bar and
 * its percentage while it runs, its duration once done. */
static void draw_progress(const struct dash *d, WINDOW *w, int y, int x,
                          const struct table_cols *c,
                          const struct kiln_step_result *s,
                          const struct row_look *k) {
  wmove(w, y, x);
  if (dash_is_monitor(s)) {
    dash_put_at(d, w, y, x, k->base | A_DIM, c->bar + c->pct, "%s",
                s->state == KILN_STEP_RUNNING ? "monitor (whole run)"
                                              : "monitor");
    return;
  }
  double p = s->progress;
  if (k->done && (s->verdict == KILN_PASS || s->verdict == KILN_FAIL))
    p = 1;
  attr_t fill = k->base;
  if (!k->selected)
    fill = k->fail ? dash_pair(d, CP_FAIL, A_BOLD) | A_BOLD
           : k->done && s->verdict == KILN_PASS
               ? dash_pair(d, CP_PASS, A_NORMAL)
           : s->state == KILN_STEP_RUNNING ? dash_pair(d, CP_RUN, A_BOLD)
                                           : k->base;
  draw_bar(d, w, c->bar, s->state == KILN_STEP_PENDING ? 0 : p, fill,
           k->base | A_DIM);
  char pct[32] = "";
  if (s->state == KILN_STEP_RUNNING)
    snprintf(pct, sizeof pct, "%3.0f%%", s->progress * 100);
  else if (k->done)
    kiln_elapsed_text(s->end > s->start && s->start > 0 ? s->end - s->start : 0,
                      0, pct, sizeof pct);
  dash_put_at(d, w, y, x + c->bar, k->base, c->pct, " %*s", c->pct - 1, pct);
}

/* The KEY FIGURE / NOTE cell: the failure, the reason a step did not
 * pass, or its live key figure. */
static void step_figure(const struct kiln_step_result *s,
                        const struct row_look *k, char *fig, size_t n) {
  fig[0] = 0;
  if (k->done && s->verdict == KILN_FAIL) {
    kiln_step_failure_text(s, fig, n);
  } else if (k->done && s->verdict != KILN_PASS && s->reason) {
    snprintf(fig, n, "%s", s->reason);
  } else {
    const struct kiln_measurement *m = live_figure(s);
    if (k->fail && !m)
      kiln_step_failure_text(s, fig, n);
    else if (m) {
      char num[48];
      kiln_figure_text(m->value, num, sizeof num);
      snprintf(fig, n, "%s %s  %s%s", num, m->unit, m->name,
               m->pass ? "" : " (out of limits)");
    }
  }
}

static void draw_step_row(struct dash *d, WINDOW *w, int y, size_t i,
                          const struct table_cols *c) {
  const struct kiln_step_result *s = &d->run->steps[i];
  struct row_look k = row_look(d, s, i == d->sel);
  dash_fill_row(w, y, 0, d->cols, k.base);

  const char *mark = k.fail ? "!!" : k.bad ? "! " : "  ";
  if (k.selected && !k.fail && !k.bad)
    mark = d->utf8 ? "\u25b6 " : "> ";
  dash_put_at(d, w, y, 0, k.base | A_BOLD, 2, "%s", mark);
  int x = 2;
  dash_put_at(d, w, y, x, k.base, c->module, "%s", s->module);
  x += c->module + 1;
  dash_put_at(d, w, y, x, k.base, c->target, "%s", s->target);
  x += c->target + 1;
  dash_put_at(d, w, y, x, state_attr(d, s, &k), c->state, "%-*s", c->state,
              dash_state_word(s));
  x += c->state + 1;
  draw_progress(d, w, y, x, c, s, &k);
  x += c->bar + c->pct + 1;

  char fig[512];
  step_figure(s, &k, fig, sizeof fig);
  dash_put_at(d, w, y, x, k.base, c->figure, "%s", fig);
}

void dash_draw_table(struct dash *d) {
  WINDOW *w = d->w_table;
  werase(w);
  struct table_cols c = table_columns(d);
  int rows = d->table_h - 1;
  follow_selection(d);
  keep_selection_visible(d, rows);
  draw_heading(d, w, &c, rows);
  for (int row = 0; row < rows; row++) {
    size_t i = d->table_top + (size_t)row;
    if (i >= d->run->n_steps)
      break;
    draw_step_row(d, w, row + 1, i, &c);
  }
  wnoutrefresh(w);
}
