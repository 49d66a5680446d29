/* The ncurses dashboard: a sink of the run's event stream, drawn as panels
 * (header, step table, telemetry, events, footer) and full-screen views
 * (a step's details, the full log, all telemetry) over the run model it
 * reads but does not own. This file is the sink and the terminal; the
 * model, the panels, the views and the keys are files of their own
 * (dashboard_internal.h lists them).
 *
 * The sink's callbacks only update the dashboard's own state (log rings,
 * telemetry rings) and mark panels dirty; kiln_dashboard_tick(), from the
 * runner's loop, reads keys and redraws the dirty panels (wnoutrefresh,
 * then one doupdate), at most five times a second unless a key was
 * pressed, and the header once a second for its clocks.
 *
 * While the dashboard has the screen, stderr (kiln's own and the steps')
 * is read through a pipe into the event log (dashboard_stderr.c), and
 * written to the real stderr when the dashboard leaves the screen. */
#include "ui/dashboard.h"

#include <curses.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "kiln/textutil.h"
#include "ui/dashboard_internal.h"

static struct dash *current; /* for the atexit safety net */

/* ---- the terminal ---- */

static void leave_screen(struct dash *d) {
  if (!d->active)
    return;
  dash_del_windows(d);
  endwin();
  d->active = false;
  dash_release_stderr(d);
  if (current == d)
    current = NULL;
}

static void at_exit(void) {
  if (current)
    leave_screen(current);
}

static void init_colors(struct dash *d) {
  d->color = has_colors() && !getenv("NO_COLOR") && start_color() == OK;
  if (!d->color)
    return;
  short bg = COLOR_BLACK;
  if (use_default_colors() == OK)
    bg = -1;
  init_pair(CP_PASS, COLOR_GREEN, bg);
  init_pair(CP_FAIL, COLOR_RED, bg);
  init_pair(CP_ERROR, COLOR_YELLOW, bg);
  init_pair(CP_ABORT, COLOR_MAGENTA, bg);
  init_pair(CP_RUN, COLOR_CYAN, bg);
  init_pair(CP_TITLE, COLOR_BLACK, COLOR_CYAN);
  init_pair(CP_FAILROW, COLOR_WHITE, COLOR_RED);
  init_pair(CP_WARN, COLOR_YELLOW, bg);
}

/* Ctrl-S must not freeze kiln's loop on a blocked terminal: no XON/XOFF
 * flow control while the dashboard has it (ncurses restores the rest). */
static void no_flow_control(void) {
  struct termios t;
  if (tcgetattr(STDIN_FILENO, &t) == 0) {
    t.c_iflag &= ~(tcflag_t)(IXON | IXOFF);
    if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
      def_prog_mode();
  }
}

/* ---- the sink ---- */

static int dash_run_start(struct kiln_sink *sink, const struct kiln_run *r) {
  struct dash *d = sink->state;
  d->run = r;
  d->sel = 0;
  d->dirty |= D_ALL | D_LAYOUT;
  return 0;
}

static void mark_step(struct dash *d, const struct kiln_step_result *s,
                      unsigned what) {
  d->dirty |= what;
  if (d->view == VIEW_DETAIL && s && s->index == d->detail)
    d->dirty |= D_BODY;
}

static void push_both(struct dash *d, const struct entry *e, bool notable) {
  dash_ring_push(&d->log, e);
  if (notable) {
    dash_ring_push(&d->events, e);
    d->dirty |= D_EVENTS;
  }
  if (d->view == VIEW_LOG)
    d->dirty |= D_BODY;
}

static int dash_step_start(struct kiln_sink *sink, const struct kiln_run *r,
                           const struct kiln_step_result *s) {
  struct dash *d = sink->state;
  d->run = r;
  char text[160];
  if (dash_is_monitor(s))
    snprintf(text, sizeof text, "on %s, for the whole run", s->target);
  else
    snprintf(text, sizeof text, "phase %d, on %s", s->phase, s->target);
  struct entry e = {
      .time = s->start, .kind = E_START, .who = s->id, .text = text};
  push_both(d, &e, false);
  mark_step(d, s, D_TABLE | D_HEADER);
  return 0;
}

static int dash_measurement(struct kiln_sink *sink, const struct kiln_run *r,
                            const struct kiln_step_result *s,
                            const struct kiln_measurement *m) {
  struct dash *d = sink->state;
  d->run = r;
  if (!m->pass) {
    char num[48], lim[96], *text;
    kiln_measurement_figures(m, num, sizeof num, lim, sizeof lim);
    text = kiln_strdup_printf("%s = %s %s out of limits (%s)%s%s", m->name, num,
                              m->unit, lim, m->hwid[0] ? " on " : "", m->hwid);
    struct entry e = {
        .time = m->time, .kind = E_MEAS, .who = s->id, .text = text};
    push_both(d, &e, true);
    free(text);
    d->dirty |= D_HEADER;
  }
  mark_step(d, s, D_TABLE);
  return 0;
}

static int dash_diagnosis(struct kiln_sink *sink, const struct kiln_run *r,
                          const struct kiln_step_result *s,
                          const struct kiln_diagnosis *g) {
  struct dash *d = sink->state;
  d->run = r;
  char *text = kiln_strdup_printf("%s [%s]", g->message, g->symptom);
  struct entry e = {.time = g->time,
                    .kind = E_DIAG,
                    .level = (int)g->type,
                    .who = s->id,
                    .text = text};
  push_both(d, &e, g->type != KILN_DIAG_PASS);
  free(text);
  mark_step(d, s, D_TABLE | D_HEADER);
  return 0;
}

static int dash_log(struct kiln_sink *sink, const struct kiln_run *r,
                    const struct kiln_step_result *s,
                    const struct kiln_log *l) {
  struct dash *d = sink->state;
  d->run = r;
  struct entry e = {.time = l->time,
                    .kind = E_LOG,
                    .level = (int)l->severity,
                    .who = s ? s->id : "",
                    .text = l->message};
  push_both(d, &e, l->severity >= KILN_SEV_WARNING);
  if (s)
    mark_step(d, s, 0);
  return 0;
}

static int dash_progress(struct kiln_sink *sink, const struct kiln_run *r,
                         const struct kiln_step_result *s) {
  struct dash *d = sink->state;
  d->run = r;
  mark_step(d, s, D_TABLE);
  return 0;
}

static int dash_series_start(struct kiln_sink *sink, const struct kiln_run *r,
                             const struct kiln_step_result *st,
                             const struct kiln_series *se) {
  struct dash *d = sink->state;
  d->run = r;
  struct series *s = dash_find_series(d, se->id);
  if (!s) {
    s = dash_add_series(d, se);
    d->dirty |= D_LAYOUT;
  }
  s->limit = se->limit;
  s->ended = false;
  d->dirty |= D_TELE | (d->view == VIEW_TELEMETRY ? D_BODY : 0);
  return 0;
}

static int dash_series_element(struct kiln_sink *sink, const struct kiln_run *r,
                               const struct kiln_step_result *st,
                               const struct kiln_series *se, double value,
                               double time) {
  struct dash *d = sink->state;
  d->run = r;
  struct series *s = dash_find_series(d, se->id);
  if (!s) {
    dash_series_start(sink, r, st, se);
    s = dash_find_series(d, se->id);
  }
  dash_series_append(s, value);
  d->dirty |= D_TELE | (d->view == VIEW_TELEMETRY ? D_BODY : 0);
  return 0;
}

static int dash_series_end(struct kiln_sink *sink, const struct kiln_run *r,
                           const struct kiln_step_result *st,
                           const struct kiln_series *se) {
  struct dash *d = sink->state;
  d->run = r;
  struct series *s = dash_find_series(d, se->id);
  if (s)
    s->ended = true;
  d->dirty |= D_TELE | (d->view == VIEW_TELEMETRY ? D_BODY : 0);
  return 0;
}

static int dash_step_end(struct kiln_sink *sink, const struct kiln_run *r,
                         const struct kiln_step_result *s) {
  struct dash *d = sink->state;
  d->run = r;
  char text[600] = "";
  if (s->verdict == KILN_FAIL)
    kiln_step_failure_text(s, text, sizeof text);
  else if (s->reason)
    snprintf(text, sizeof text, "%s", s->reason);
  else {
    const struct kiln_measurement *m = kiln_step_key_measurement(s);
    if (m) {
      char num[48];
      kiln_figure_text(m->value, num, sizeof num);
      snprintf(text, sizeof text, "%s = %s %s", m->name, num, m->unit);
    }
  }
  struct entry e = {.time = s->end,
                    .kind = E_END,
                    .level = (int)s->verdict,
                    .who = s->id,
                    .text = text};
  /* A FAIL is in the events already, as its diagnosis or measurement. */
  push_both(d, &e, s->verdict == KILN_ERROR || s->verdict == KILN_ABORTED);
  mark_step(d, s, D_TABLE | D_HEADER);
  return 0;
}

static int dash_run_end(struct kiln_sink *sink, const struct kiln_run *r) {
  struct dash *d = sink->state;
  /* The model is the caller's from here on; the summary goes to the
   * plain screen. */
  leave_screen(d);
  d->run = NULL;
  d->run_ended = true;
  return 0;
}

static void dash_close(struct kiln_sink *sink) {
  struct dash *d = sink->state;
  leave_screen(d);
  if (d->screen)
    delscreen(d->screen);
  dash_ring_free(&d->log);
  dash_ring_free(&d->events);
  dash_free_series(d);
  dash_clear_view_text(d);
  free(d->texts);
  free(d->vl);
  free(d->replay);
  free(d);
  free(sink);
}

struct kiln_sink *kiln_dashboard_open(char *err, size_t n) {
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
    snprintf(err, n, "stdin and stdout must be a terminal");
    return NULL;
  }
  const char *term = getenv("TERM");
  if (!term || !term[0] || strcmp(term, "dumb") == 0) {
    snprintf(err, n, "TERM is %s", term && term[0] ? "dumb" : "not set");
    return NULL;
  }
  setlocale(LC_CTYPE, "");
  struct dash *d = kiln_xcalloc(1, sizeof *d);
  d->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
  d->screen = newterm(NULL, stdout, stdin);
  if (!d->screen) {
    snprintf(err, n, "the terminal type '%s' is unknown", term);
    free(d);
    return NULL;
  }
  set_term(d->screen);
  d->active = true;
  cbreak();
  noecho();
  nonl();
  keypad(stdscr, TRUE);
  nodelay(stdscr, TRUE);
  set_escdelay(25);
  curs_set(0);
  no_flow_control();
  init_colors(d);
  dash_ring_init(&d->log, LOG_CAP);
  dash_ring_init(&d->events, EVENT_CAP);
  d->follow = true;
  d->last_second = -1;
  dash_capture_stderr(d);
  current = d;
  static bool registered;
  if (!registered && atexit(at_exit) == 0)
    registered = true;
  werase(stdscr);
  wnoutrefresh(stdscr);
  doupdate();

  struct kiln_sink *sink = kiln_xcalloc(1, sizeof *sink);
  sink->name = "dashboard";
  sink->state = d;
  sink->run_start = dash_run_start;
  sink->step_start = dash_step_start;
  sink->measurement = dash_measurement;
  sink->diagnosis = dash_diagnosis;
  sink->log = dash_log;
  sink->progress = dash_progress;
  sink->series_start = dash_series_start;
  sink->series_element = dash_series_element;
  sink->series_end = dash_series_end;
  sink->step_end = dash_step_end;
  sink->run_end = dash_run_end;
  sink->close = dash_close;
  return sink;
}

void kiln_dashboard_hangup(struct kiln_sink *sink) {
  struct dash *d = sink ? sink->state : NULL;
  if (!d || !d->active)
    return;
  bool had_stderr = d->saved_stderr >= 0;
  d->replay_len = 0; /* nobody is left to read it */
  d->replay_truncated = false;
  leave_screen(d);
  /* release_stderr gave fd 2 back to the dead terminal. */
  int devnull = had_stderr ? open("/dev/null", O_WRONLY | O_CLOEXEC) : -1;
  if (devnull >= 0) {
    dup2(devnull, STDERR_FILENO);
    close(devnull);
  }
}

bool kiln_dashboard_tick(struct kiln_sink *sink) {
  struct dash *d = sink ? sink->state : NULL;
  if (!d || !d->active)
    return false;
  dash_drain_stderr(d);
  bool key = false;
  int ch;
  while ((ch = wgetch(stdscr)) != ERR) {
    dash_handle_key(d, ch);
    key = true;
  }
  if (d->run) {
    long second = (long)kiln_now();
    if (second != d->last_second) {
      d->last_second = second;
      d->dirty |= D_HEADER;
      if (d->view == VIEW_DETAIL)
        d->dirty |= D_BODY; /* its running time */
    }
    double now = kiln_monotonic_now();
    if (d->dirty && (key || now - d->last_draw >= REDRAW_MIN)) {
      dash_draw(d);
      d->last_draw = now;
    }
  }
  if (d->quit_confirmed && !d->quit_reported) {
    d->quit_reported = true;
    return true;
  }
  return false;
}
