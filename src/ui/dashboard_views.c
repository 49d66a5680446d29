/* The dashboard's views: the layout of the main view (header, step table,
 * telemetry, events, footer: the table first, then the telemetry in as
 * many columns as it needs, the events the rest), the full-screen views a
 * key opens (a step's details, the full log, all telemetry), each built
 * as wrapped rows and scrolled, the help and quit popups, and dash_draw(),
 * which redraws what is dirty: at most five times a second unless a key
 * was pressed (kiln_dashboard_tick), with one doupdate(). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "kiln/textutil.h"
#include "ui/dashboard_internal.h"

/* ---- windows and layout ---- */

void dash_del_windows(struct dash *d) {
  WINDOW **all[] = {&d->w_header, &d->w_table,  &d->w_tele,
                    &d->w_events, &d->w_footer, &d->w_body};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    if (*all[i]) {
      delwin(*all[i]);
      *all[i] = NULL;
    }
}

static size_t tele_rows_needed(const struct dash *d, int ncol) {
  return (d->n_items + (size_t)ncol - 1) / (size_t)ncol;
}

static void layout(struct dash *d) {
  dash_del_windows(d);
  getmaxyx(stdscr, d->rows, d->cols);
  werase(stdscr);
  wnoutrefresh(stdscr);
  d->too_small = d->rows < 12 || d->cols < 50;
  if (d->too_small) {
    d->w_body = newwin(d->rows, d->cols, 0, 0);
    return;
  }
  d->w_header = newwin(2, d->cols, 0, 0);
  d->w_footer = newwin(1, d->cols, d->rows - 1, 0);
  int avail = d->rows - 3;
  d->w_body = newwin(avail, d->cols, 2, 0);

  /* The table first, then the telemetry (in columns where it is wide),
   * or a one-line summary of it; the events get the rest. */
  int mid = avail - (d->rows >= 30 ? 6 : 5);
  int table_need = d->run ? (int)d->run->n_steps + 1 : 1;
  d->tele_h = 0;
  d->tele_cols = 1;
  if (d->n_series) {
    int space = mid - table_need;
    int maxcol = d->cols >= 120 ? d->cols / 60 : 1;
    if (maxcol > 3)
      maxcol = 3;
    if (space >= 4) {
      while (d->tele_cols < maxcol &&
             (int)tele_rows_needed(d, d->tele_cols) + 1 > space)
        d->tele_cols++;
      int want = (int)tele_rows_needed(d, d->tele_cols) + 1;
      d->tele_h = want < space ? want : space;
    } else {
      d->tele_h = 1; /* a one-line summary; `t` shows it all */
    }
  }
  d->table_h = mid - d->tele_h;
  if (d->table_h > table_need)
    d->table_h = table_need;
  d->events_h = avail - d->table_h - d->tele_h;
  d->w_table = newwin(d->table_h, d->cols, 2, 0);
  if (d->tele_h > 0)
    d->w_tele = newwin(d->tele_h, d->cols, 2 + d->table_h, 0);
  d->w_events = newwin(d->events_h, d->cols, 2 + d->table_h + d->tele_h, 0);
}

/* ---- scrollable views ---- */

static char *keep_text(struct dash *d, char *s) {
  if (d->n_texts == d->cap_texts) {
    d->cap_texts = d->cap_texts ? d->cap_texts * 2 : 64;
    d->texts = kiln_xrealloc(d->texts, d->cap_texts * sizeof *d->texts);
  }
  d->texts[d->n_texts++] = s;
  return s;
}

void dash_clear_view_text(struct dash *d) {
  for (size_t i = 0; i < d->n_texts; i++)
    free(d->texts[i]);
  d->n_texts = 0;
  d->n_vl = 0;
}

static void add_vrow(struct dash *d, const char *s, size_t len, int indent,
                     attr_t attr) {
  if (d->n_vl == d->cap_vl) {
    d->cap_vl = d->cap_vl ? d->cap_vl * 2 : 256;
    d->vl = kiln_xrealloc(d->vl, d->cap_vl * sizeof *d->vl);
  }
  d->vl[d->n_vl++] = (struct vrow){s, len, indent, attr};
}

/* Adds a line to the view, escaped and wrapped to the width; wrapped rows
 * are indented by `hang` columns. */
__attribute__((format(printf, 4, 5))) static void
view_line(struct dash *d, attr_t attr, int hang, const char *fmt, ...) {
  char *raw;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&raw, fmt, ap) < 0)
    raw = NULL;
  va_end(ap);
  if (!raw)
    return;
  char *s = keep_text(d, kiln_escape_controls(raw));
  free(raw);
  int width = d->cols - 1;
  int indent = 0;
  if (!*s) {
    add_vrow(d, s, 0, 0, attr);
    return;
  }
  while (*s) {
    size_t skip, n = dash_wrap_next(d, s, width - indent, &skip);
    add_vrow(d, s, n, indent, attr);
    s += n + skip;
    indent = hang < width / 2 ? hang : 0;
  }
}

/* The time from `from` to `to`: "42.0s", "3m05s", "2h07m"; a clock that
 * stepped back shows "0.0s". */
static void fmt_span(char *buf, size_t n, double from, double to) {
  kiln_elapsed_text(to > from ? to - from : 0, 0, buf, n);
}

static void build_detail(struct dash *d) {
  const struct kiln_step_result *s = &d->run->steps[d->detail];
  char when[128] = "not started";
  if (s->start > 0) {
    char a[32], b[32];
    kiln_elapsed_text(dash_since_start(d, s->start), 0, a, sizeof a);
    if (s->end > 0) {
      fmt_span(b, sizeof b, s->start, s->end);
      snprintf(when, sizeof when, "started at +%s, took %s", a, b);
    } else {
      fmt_span(b, sizeof b, s->start, kiln_now());
      snprintf(when, sizeof when, "started at +%s, running for %s", a, b);
    }
  }
  attr_t va = s->state == KILN_STEP_DONE
                  ? dash_verdict_attr(d, s->verdict)
                  : dash_pair(d, CP_RUN, A_BOLD) | A_BOLD;
  view_line(d, va, 2, "%s  %s", s->id, dash_state_word(s));
  if (dash_is_monitor(s))
    view_line(d, A_NORMAL, 2,
              "module %s on %s, a monitor for the whole run; %s", s->module,
              s->target, when);
  else
    view_line(d, A_NORMAL, 2, "module %s on %s, phase %d; %s; progress %.0f%%",
              s->module, s->target, s->phase, when, s->progress * 100);
  if (s->reason)
    view_line(d, A_BOLD, 2, "reason: %s", s->reason);
  if (s->state == KILN_STEP_DONE && s->verdict == KILN_FAIL) {
    char why[512];
    kiln_step_failure_text(s, why, sizeof why);
    view_line(d, dash_verdict_attr(d, KILN_FAIL), 2, "failure: %s", why);
  }
  view_line(d, A_NORMAL, 0, "%s", "");
  view_line(d, A_BOLD | A_UNDERLINE, 0, "Measurements (%zu)",
            s->n_measurements);
  for (size_t i = 0; i < s->n_measurements; i++) {
    const struct kiln_measurement *m = &s->measurements[i];
    char num[48], lim[96];
    kiln_measurement_figures(m, num, sizeof num, lim, sizeof lim);
    view_line(d, m->pass ? A_NORMAL : dash_verdict_attr(d, KILN_FAIL), 8,
              "  %-4s  %s = %s %s%s%s%s%s", m->pass ? "ok" : "FAIL", m->name,
              num, m->unit, lim[0] ? "   limit " : "   no limit", lim,
              m->hwid[0] ? "   on " : "", m->hwid);
  }
  view_line(d, A_NORMAL, 0, "%s", "");
  view_line(d, A_BOLD | A_UNDERLINE, 0, "Diagnoses (%zu)", s->n_diagnoses);
  for (size_t i = 0; i < s->n_diagnoses; i++) {
    const struct kiln_diagnosis *g = &s->diagnoses[i];
    struct entry e = {.kind = E_DIAG, .level = (int)g->type};
    view_line(d, dash_entry_attr(d, &e), 8, "  %-4s  [%7.1fs] %s: %s%s%s",
              dash_entry_label(&e), dash_since_start(d, g->time), g->symptom,
              g->message, g->hwid[0] ? "  on " : "", g->hwid);
  }
  view_line(d, A_NORMAL, 0, "%s", "");
  view_line(d, A_BOLD | A_UNDERLINE, 0, "Log (%zu)", s->n_logs);
  for (size_t i = 0; i < s->n_logs; i++) {
    const struct kiln_log *l = &s->logs[i];
    struct entry e = {.kind = E_LOG, .level = (int)l->severity};
    view_line(d, dash_entry_attr(d, &e), 20, "  [%7.1fs] %-7s %s",
              dash_since_start(d, l->time), kiln_severity_name(l->severity),
              l->message);
  }
}

static void build_log(struct dash *d) {
  if (d->log.dropped)
    view_line(d, A_DIM, 0,
              "(%zu older lines are not kept here; the reports have "
              "them all)",
              d->log.dropped);
  for (size_t i = 0; i < d->log.n; i++) {
    const struct entry *e = dash_ring_at(&d->log, i);
    view_line(d, dash_entry_attr(d, e), 20, "[%7.1fs] %-7s %s%s%s",
              dash_since_start(d, e->time), dash_entry_label(e), e->who,
              e->who[0] ? ": " : "", e->text);
  }
  if (d->log.n == 0)
    view_line(d, A_DIM, 0, "nothing logged yet");
}

static void draw_body(struct dash *d) {
  WINDOW *w = d->w_body;
  werase(w);
  int h = getmaxy(w), rows = h - 1;
  if (d->view == VIEW_TELEMETRY) {
    dash_draw_telemetry_view(d, w, rows);
    wnoutrefresh(w);
    return;
  }
  dash_clear_view_text(d);
  const char *title;
  if (d->view == VIEW_DETAIL) {
    build_detail(d);
    title = "Step details";
  } else {
    build_log(d);
    title = "Full log: every step's log lines and diagnoses, newest last";
  }
  int total = (int)d->n_vl;
  int max_scroll = total > rows ? total - rows : 0;
  if (d->tail)
    d->scroll = max_scroll;
  if (d->scroll > max_scroll)
    d->scroll = max_scroll;
  if (d->scroll < 0)
    d->scroll = 0;
  char right[64];
  snprintf(right, sizeof right, "rows %d-%d of %d", total ? d->scroll + 1 : 0,
           d->scroll + rows < total ? d->scroll + rows : total, total);
  dash_section_title(d, w, 0, title, right);
  for (int r = 0; r < rows && d->scroll + r < total; r++) {
    const struct vrow *v = &d->vl[d->scroll + r];
    wmove(w, 1 + r, v->indent);
    wattrset(w, v->attr);
    dash_put_textn(d, w, v->s, v->len, d->cols - v->indent);
    wattrset(w, A_NORMAL);
  }
  wnoutrefresh(w);
}

/* ---- popups ---- */

static const char *const help_lines[] = {
    "kiln dashboard",
    "",
    "Up/Down, j/k   select a step (PgUp/PgDn, Home/End)",
    "Enter          the step's measurements, diagnoses and log",
    "n / p          next / previous step in the details",
    "l              the full log, newest last",
    "t              every telemetry series with its sparkline",
    "Esc, Backspace back to the step table",
    "Ctrl-L         redraw the screen",
    "q              abort the run (asks first)",
    "",
    "Quitting never loses a report: the steps end ABORTED",
    "and every report is written before kiln exits (exit 2).",
    "",
    "Press any key to close this help.",
};

static void draw_popup(struct dash *d) {
  const char *const *lines;
  size_t n;
  static const char *const confirm[] = {
      "Abort the run? (y/n)",
      "",
      "Running steps end ABORTED; the reports are written.",
  };
  if (d->popup == POP_HELP) {
    lines = help_lines;
    n = sizeof help_lines / sizeof help_lines[0];
  } else {
    lines = confirm;
    n = sizeof confirm / sizeof confirm[0];
  }
  int width = 0;
  for (size_t i = 0; i < n; i++) {
    int c = dash_text_cols(d, lines[i]);
    width = c > width ? c : width;
  }
  int h = (int)n + 2, wd = width + 4;
  if (h > d->rows)
    h = d->rows;
  if (wd > d->cols)
    wd = d->cols;
  WINDOW *w = newwin(h, wd, (d->rows - h) / 2, (d->cols - wd) / 2);
  if (!w)
    return;
  attr_t a = d->popup == POP_CONFIRM ? dash_pair(d, CP_FAILROW, A_REVERSE)
                                     : dash_pair(d, CP_TITLE, A_REVERSE);
  wbkgd(w, ' ' | a);
  werase(w);
  box(w, 0, 0);
  for (size_t i = 0; i < n && (int)i < h - 2; i++)
    dash_put_at(d, w, 1 + (int)i, 2, a | (i == 0 ? A_BOLD : 0), wd - 4, "%s",
                lines[i]);
  wnoutrefresh(w);
  delwin(w);
}

/* ---- drawing ---- */

void dash_draw(struct dash *d) {
  if (d->dirty & D_LAYOUT) {
    layout(d);
    d->dirty = D_ALL;
  }
  unsigned dirty = d->dirty;
  d->dirty = 0;
  if (d->too_small) {
    werase(d->w_body);
    dash_put_at(d, d->w_body, 0, 0, A_BOLD, d->cols,
                "kiln: the terminal is %dx%d; the dashboard needs 50x12.",
                d->cols, d->rows);
    dash_put_at(d, d->w_body, 1, 0, A_NORMAL, d->cols,
                "The run goes on. q aborts it.");
    wnoutrefresh(d->w_body);
    if (d->popup != POP_NONE)
      draw_popup(d);
    doupdate();
    return;
  }
  bool drawn = false;
  if (dirty & D_HEADER) {
    dash_draw_header(d);
    drawn = true;
  }
  if (d->view == VIEW_MAIN) {
    if (dirty & D_TABLE) {
      dash_draw_table(d);
      drawn = true;
    }
    if (d->w_tele && (dirty & D_TELE)) {
      dash_draw_telemetry(d);
      drawn = true;
    }
    if (dirty & D_EVENTS) {
      dash_draw_events(d);
      drawn = true;
    }
  } else if (dirty & D_BODY) {
    draw_body(d);
    drawn = true;
  }
  if (dirty & D_FOOTER) {
    dash_draw_footer(d);
    drawn = true;
  }
  if (drawn && d->popup != POP_NONE)
    draw_popup(d);
  if (drawn)
    doupdate();
}
