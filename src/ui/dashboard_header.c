/* The header panel: two rows over the run. The first names kiln, the DUT,
 * its serial and the profile; the second the elapsed time, the phase and
 * an estimate of the time it has left, the steps done, running and
 * pending, and at the right the verdict so far (or ABORTING once the
 * operator has quit). Redrawn once a second for its clocks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/textutil.h"
#include "ui/dashboard_internal.h"

/* "H:MM:SS"; nonsense (negative, not a number, over 1e9 s) as 0. */
static void fmt_clock(char *buf, size_t n, double secs) {
  if (!(secs >= 0) || secs > 1e9)
    secs = 0;
  long s = (long)(secs + 0.5);
  snprintf(buf, n, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
}

static enum kiln_verdict verdict_so_far(const struct kiln_run *r, bool *any) {
  enum kiln_verdict v = KILN_PASS;
  *any = false;
  for (size_t i = 0; i < r->n_steps; i++) {
    const struct kiln_step_result *s = &r->steps[i];
    if (s->state == KILN_STEP_DONE) {
      v = *any ? kiln_verdict_worse(v, s->verdict) : s->verdict;
      *any = true;
    } else if (s->state == KILN_STEP_RUNNING && kiln_step_failing(s)) {
      v = *any ? kiln_verdict_worse(v, KILN_FAIL) : KILN_FAIL;
      *any = true;
    }
  }
  /* A run of skips only passes. */
  return v == KILN_SKIP ? KILN_PASS : v;
}

/* The first row: kiln's version, the DUT, its serial, the profile. */
static void draw_identity(struct dash *d, WINDOW *w, const struct kiln_run *r) {
  attr_t title = dash_pair(d, CP_TITLE, A_REVERSE) | A_BOLD;
  dash_fill_row(w, 0, 0, d->cols, title);
  char model[256];
  snprintf(model, sizeof model, "%s%s%s", r->dut.vendor ? r->dut.vendor : "",
           r->dut.vendor && r->dut.vendor[0] ? " " : "",
           r->dut.product ? r->dut.product : "");
  char *m = kiln_escape_controls(model[0] ? model : r->dut.hostname);
  char *serial = kiln_escape_controls(r->dut.serial);
  char *prof = kiln_escape_controls(r->profile);
  dash_put_at(d, w, 0, 0, title, d->cols,
              " kiln %s | DUT %s | serial %s | profile %s",
              r->kiln_version ? r->kiln_version : "", m, serial, prof);
  free(m);
  free(serial);
  free(prof);
}

/* Where the run stands: its steps by state, the phase running (1-based,
 * 0 when none) of how many, and the longest estimated time a running
 * step has left (-1 when none can be estimated). */
struct standing {
  size_t done, running, pending;
  int phase, phases;
  double worst_left;
};

static struct standing standing_of(const struct kiln_run *r, double now) {
  struct standing st = {.worst_left = -1};
  int last_phase = -1;
  for (size_t i = 0; i < r->n_steps; i++) {
    const struct kiln_step_result *s = &r->steps[i];
    if (!dash_is_monitor(s) && s->phase != last_phase) {
      st.phases++;
      last_phase = s->phase;
    }
    if (s->state == KILN_STEP_DONE)
      st.done++;
    else if (s->state == KILN_STEP_PENDING)
      st.pending++;
    else
      st.running++;
    if (s->state == KILN_STEP_RUNNING && !dash_is_monitor(s)) {
      st.phase = st.phases;
      double t = now - s->start, p = s->progress;
      if (p > 0.001 && p < 1 && t > 0) {
        double est = t * (1 - p) / p;
        if (est > st.worst_left && est < 1e8)
          st.worst_left = est;
      }
    }
  }
  return st;
}

/* The verdict so far at the right of the second row; returns its column. */
static int draw_verdict_so_far(struct dash *d, WINDOW *w,
                               const struct kiln_run *r) {
  bool any;
  enum kiln_verdict v = verdict_so_far(r, &any);
  const char *word = d->quit_confirmed ? "ABORTING"
                     : any             ? kiln_verdict_name(v)
                                       : "-";
  attr_t va = d->quit_confirmed ? dash_verdict_attr(d, KILN_ABORTED)
              : any             ? dash_verdict_attr(d, v)
                                : A_NORMAL;
  int at = d->cols - (int)strlen(word) - 11;
  if (at < 0)
    at = 0;
  dash_put_at(d, w, 1, at, A_BOLD, d->cols - at, " so far:");
  dash_put_at(d, w, 1, at + 8, va, d->cols - at - 8, " %s ", word);
  return at;
}

void dash_draw_header(struct dash *d) {
  WINDOW *w = d->w_header;
  const struct kiln_run *r = d->run;
  werase(w);
  draw_identity(d, w, r);

  double now = kiln_now();
  char elapsed[32], left[32] = "-";
  fmt_clock(elapsed, sizeof elapsed, now - r->start);
  struct standing st = standing_of(r, now);
  if (st.worst_left >= 0) {
    long l = (long)(st.worst_left + 0.5);
    if (l < 3600)
      snprintf(left, sizeof left, "%ld:%02ld", l / 60, l % 60);
    else
      fmt_clock(left, sizeof left, st.worst_left);
  }
  /* The verdict so far keeps its place at the right; the figures at the
   * left give way, least useful first, on a narrow terminal. */
  int at = draw_verdict_so_far(d, w, r);

  char piece[4][96];
  int np = 0;
  snprintf(piece[np++], sizeof piece[0], " elapsed %s", elapsed);
  if (st.phase)
    snprintf(piece[np++], sizeof piece[0], " | phase %d/%d left %s (est.)",
             st.phase, st.phases, left);
  snprintf(piece[np++], sizeof piece[0], " | steps %zu/%zu done", st.done,
           r->n_steps);
  snprintf(piece[np++], sizeof piece[0], ", %zu running, %zu pending",
           st.running, st.pending);
  int x = 0;
  for (int i = 0; i < np; i++) {
    int pw = (int)strlen(piece[i]);
    if (x + pw >= at)
      break;
    x += dash_put_at(d, w, 1, x, A_NORMAL, pw, "%s", piece[i]);
  }
  wnoutrefresh(w);
}
