/* The ncurses dashboard: a sink of the run's event stream, drawn as panels
 * (header, step table, telemetry, events, footer) and full-screen views
 * (a step's details, the full log, all telemetry) over the run model it
 * reads but does not own.
 *
 * The sink's callbacks only update the dashboard's own state (log rings,
 * telemetry rings) and mark panels dirty; kiln_dashboard_tick(), from the
 * runner's loop, reads keys and redraws the dirty panels (wnoutrefresh,
 * then one doupdate), at most five times a second unless a key was
 * pressed, and the header once a second for its clocks.
 *
 * Text from steps, sensors and the DUT is escaped (kiln_escape_controls)
 * when it is stored, and drawn through put_text(), which also escapes
 * controls, replaces invalid UTF-8 and counts display columns, so a
 * hostile string can neither move the cursor nor overflow its cell.
 *
 * While the dashboard has the screen, stderr (kiln's own and the steps')
 * is read through a pipe into the event log, so it cannot scribble over
 * the panels, and it is written to the real stderr when the dashboard
 * leaves the screen. */
#include "ui/dashboard.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#include "config/profile.h"
#include "kiln/textutil.h"

#define LOG_CAP 4000     /* lines the full log keeps */
#define EVENT_CAP 200    /* lines the event pane keeps */
#define SPARK_CAP 240    /* samples per series: four minutes at 1 Hz */
#define REPLAY_CAP 65536 /* bytes of stderr kept to repeat at the end */
#define REDRAW_MIN 0.2   /* seconds between redraws not caused by a key */
#define KEY_ESC 27

/* ---- the dashboard's own state ---- */

enum entry_kind { E_LOG, E_DIAG, E_START, E_END, E_MEAS, E_STDERR };

/* One line of the full log or the event pane. */
struct entry {
  double time;
  enum entry_kind kind;
  int level;  /* severity (E_LOG), diag type (E_DIAG), verdict (E_END) */
  char *who;  /* step id, escaped, or "" for the run */
  char *text; /* escaped */
};

/* Bounded: the oldest line goes when a new one does not fit. */
struct ring {
  struct entry *v;
  size_t cap, start, n, dropped;
};

enum group {
  G_TEMP,
  G_POWER,
  G_CLOCK,
  G_FAN,
  G_COUNT,
  G_OTHER,
  G_N,
};
static const char *const group_title[G_N] = {
    "Temperatures", "Power", "Clocks", "Fans", "Counters", "Other",
};

/* A telemetry series and its last SPARK_CAP samples. */
struct series {
  char *id, *name, *unit; /* escaped */
  char *label;            /* the name less its "(source/sensor)" tail */
  struct kiln_limit limit;
  enum group group;
  double v[SPARK_CAP];
  size_t head, n; /* ring: the next slot, the samples held */
  double last, lo_seen, hi_seen;
  size_t total;
  bool ended;
};

/* A telemetry panel line: a group's title or a series. */
struct tele_item {
  bool is_title;
  int idx; /* group or series */
};

enum view { VIEW_MAIN, VIEW_DETAIL, VIEW_LOG, VIEW_TELEMETRY };
enum popup { POP_NONE, POP_HELP, POP_CONFIRM };

enum {
  D_HEADER = 1 << 0,
  D_TABLE = 1 << 1,
  D_TELE = 1 << 2,
  D_EVENTS = 1 << 3,
  D_FOOTER = 1 << 4,
  D_BODY = 1 << 5,
  D_LAYOUT = 1 << 6,
  D_ALL = 0x7f,
};

enum {
  CP_PASS = 1,
  CP_FAIL,
  CP_ERROR,
  CP_ABORT,
  CP_RUN,
  CP_TITLE,
  CP_FAILROW,
  CP_WARN,
};

/* One display row of a scrollable view: a slice of an owned string. */
struct vrow {
  const char *s;
  size_t len; /* bytes */
  int indent;
  attr_t attr;
};

struct dash {
  SCREEN *screen;
  bool active; /* curses has the terminal */
  bool utf8, color;
  const struct kiln_run *run; /* between run_start and run_end */
  bool run_ended;

  WINDOW *w_header, *w_table, *w_tele, *w_events, *w_footer, *w_body;
  int rows, cols;
  bool too_small;
  int table_h, tele_h, events_h, tele_cols;

  unsigned dirty;
  enum view view;
  enum popup popup;
  size_t sel, table_top;
  bool follow; /* the selection follows the running step */
  size_t detail;
  int scroll; /* the views' first row */
  bool tail;  /* the log view sticks to its end */
  int tele_scroll;

  struct ring log, events;
  struct series *series;
  size_t n_series, cap_series;
  int name_w, label_w; /* the widest series name and label */
  struct tele_item *items;
  size_t n_items;

  /* a view's text, rebuilt when it is drawn */
  char **texts;
  size_t n_texts, cap_texts;
  struct vrow *vl;
  size_t n_vl, cap_vl;

  double last_draw; /* monotonic */
  long last_second; /* wall clock second the header shows */
  bool quit_confirmed, quit_reported;

  /* stderr, while the dashboard has the screen */
  int saved_stderr, err_fd;
  char errline[512];
  size_t errlen;
  char *replay;
  size_t replay_len;
  bool replay_truncated;
};

static struct dash *current; /* for the atexit safety net */

/* ---- rings ---- */

static void ring_init(struct ring *r, size_t cap) {
  r->v = kiln_xcalloc(cap, sizeof *r->v);
  r->cap = cap;
}

static void entry_free(struct entry *e) {
  free(e->who);
  free(e->text);
  e->who = e->text = NULL;
}

static struct entry *ring_at(const struct ring *r, size_t i) {
  return &r->v[(r->start + i) % r->cap];
}

static void ring_push(struct ring *r, const struct entry *e) {
  if (r->n == r->cap) {
    entry_free(ring_at(r, 0));
    r->start = (r->start + 1) % r->cap;
    r->n--;
    r->dropped++;
  }
  struct entry *slot = ring_at(r, r->n);
  *slot = *e;
  slot->who = kiln_escape_controls(e->who);
  slot->text = kiln_escape_controls(e->text);
  r->n++;
}

static void ring_free(struct ring *r) {
  for (size_t i = 0; i < r->n; i++)
    entry_free(ring_at(r, i));
  free(r->v);
  memset(r, 0, sizeof *r);
}

/* ---- text: display columns, escaping ---- */

static bool is_control(uint32_t cp) {
  return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}

/* Display columns of one code point: 4 for an escaped control ("\xNN"),
 * 0 for one not drawn (zero width: combining marks, bidi controls). */
static int cp_cols(const struct dash *d, uint32_t cp) {
  if (is_control(cp))
    return 4;
  if (cp < 0x80 || !d->utf8)
    return 1; /* non-ASCII is drawn as '?' outside a UTF-8 locale */
  int w = wcwidth((wchar_t)cp);
  return w < 0 ? 1 : w;
}

/* Bytes of s (at most len) that fit in cols columns. */
static size_t fit_bytes(const struct dash *d, const char *s, size_t len,
                        int cols, int *used) {
  size_t i = 0;
  int u = 0;
  while (i < len && s[i]) {
    uint32_t cp;
    size_t n = kiln_utf8_decode(s + i, &cp);
    if (i + n > len)
      break;
    int w = cp_cols(d, cp);
    if (u + w > cols)
      break;
    u += w;
    i += n;
  }
  if (used)
    *used = u;
  return i;
}

static int text_cols(const struct dash *d, const char *s) {
  int u;
  fit_bytes(d, s, strlen(s), 1 << 30, &u);
  return u;
}

/* Draws len bytes of s at the cursor in at most cols columns; returns the
 * columns used. Controls are drawn as \xNN, invalid UTF-8 as U+FFFD, and
 * outside a UTF-8 locale anything not ASCII as '?'. */
static int put_textn(const struct dash *d, WINDOW *w, const char *s, size_t len,
                     int cols) {
  size_t i = 0;
  int u = 0;
  while (i < len && s[i] && u < cols) {
    uint32_t cp;
    size_t n = kiln_utf8_decode(s + i, &cp);
    if (i + n > len)
      break;
    int cw = cp_cols(d, cp);
    if (u + cw > cols)
      break;
    if (is_control(cp)) {
      char esc[8];
      snprintf(esc, sizeof esc, "\\x%02x", (unsigned)cp);
      waddstr(w, esc);
    } else if (cp < 0x80) {
      waddch(w, (chtype)cp);
    } else if (!d->utf8) {
      waddch(w, '?');
    } else if (wcwidth((wchar_t)cp) < 0) {
      waddch(w, '?');
    } else if (cw > 0) {
      wchar_t wc[2] = {(wchar_t)cp, 0};
      waddnwstr(w, wc, 1);
    }
    u += cw;
    i += n;
  }
  return u;
}

static int put_text(const struct dash *d, WINDOW *w, const char *s, int cols) {
  return cols > 0 ? put_textn(d, w, s, strlen(s), cols) : 0;
}

/* Draws at (y, x) in attr, at most cols columns; returns them. */
__attribute__((format(printf, 7, 8))) static int put_at(const struct dash *d,
                                                        WINDOW *w, int y, int x,
                                                        attr_t attr, int cols,
                                                        const char *fmt, ...) {
  if (cols <= 0)
    return 0;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  wmove(w, y, x);
  wattrset(w, attr);
  int u = put_text(d, w, buf, cols);
  wattrset(w, A_NORMAL);
  return u;
}

/* Fills row y from x on with spaces in attr (a row's background). */
static void fill_row(WINDOW *w, int y, int x, int cols, attr_t attr) {
  if (cols > 0)
    mvwhline(w, y, x, ' ' | attr, cols);
}

/* The byte length of the next wrapped line of s in cols columns,
 * breaking after a space where one is near the end; *skip gets the bytes
 * of spaces to drop after it. */
static size_t wrap_next(const struct dash *d, const char *s, int cols,
                        size_t *skip) {
  size_t len = strlen(s);
  *skip = 0;
  size_t fit = fit_bytes(d, s, len, cols, NULL);
  if (fit == 0 && len > 0) { /* a character wider than the line */
    uint32_t cp;
    fit = kiln_utf8_decode(s, &cp);
  }
  if (fit >= len)
    return len;
  size_t brk = fit;
  while (brk > fit / 2 && s[brk] != ' ')
    brk--;
  if (s[brk] == ' ' && brk > fit / 2) {
    size_t end = brk;
    while (s[brk] == ' ')
      brk++;
    *skip = brk - end;
    return end;
  }
  return fit;
}

/* ---- formatting ---- */

static void fmt_num(char *buf, size_t n, double v) {
  double a = fabs(v);
  if (isnan(v))
    snprintf(buf, n, "nan");
  else if (isinf(v))
    snprintf(buf, n, "%sinf", v < 0 ? "-" : "");
  else if (a >= 1e7)
    snprintf(buf, n, "%.3g", v);
  else if (a >= 1000 || v == floor(v))
    snprintf(buf, n, "%.0f", v);
  else if (a >= 100)
    snprintf(buf, n, "%.1f", v);
  else if (a >= 1)
    snprintf(buf, n, "%.2f", v);
  else
    snprintf(buf, n, "%.3g", v);
}

static void fmt_clock(char *buf, size_t n, double secs) {
  if (!(secs >= 0) || secs > 1e9)
    secs = 0;
  long s = (long)(secs + 0.5);
  snprintf(buf, n, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
}

/* A limit in few columns: ">=400", "<=100", "2..8". */
static void fmt_limit(const struct dash *d, char *buf, size_t n,
                      const struct kiln_limit *l) {
  char lo[24], hi[24];
  fmt_num(lo, sizeof lo, l->lo);
  fmt_num(hi, sizeof hi, l->hi);
  if (l->has_lo && l->has_hi)
    snprintf(buf, n, "%s..%s", lo, hi);
  else if (l->has_lo)
    snprintf(buf, n, "%s%s", d->utf8 ? "\u2265" : ">=", lo);
  else if (l->has_hi)
    snprintf(buf, n, "%s%s", d->utf8 ? "\u2264" : "<=", hi);
  else
    snprintf(buf, n, "-");
}

static double since_start(const struct dash *d, double t) {
  return d->run && t > d->run->start ? t - d->run->start : 0;
}

/* ---- attributes ---- */

static attr_t pair(const struct dash *d, short p, attr_t mono) {
  return d->color ? (attr_t)COLOR_PAIR(p) : mono;
}

static attr_t verdict_attr(const struct dash *d, enum kiln_verdict v) {
  switch (v) {
  case KILN_PASS: return pair(d, CP_PASS, A_NORMAL) | A_BOLD;
  case KILN_FAIL: return pair(d, CP_FAIL, A_REVERSE) | A_BOLD;
  case KILN_ERROR: return pair(d, CP_ERROR, A_UNDERLINE) | A_BOLD;
  case KILN_ABORTED: return pair(d, CP_ABORT, A_UNDERLINE) | A_BOLD;
  case KILN_SKIP: return A_DIM;
  }
  return A_NORMAL;
}

static attr_t entry_attr(const struct dash *d, const struct entry *e) {
  switch (e->kind) {
  case E_DIAG:
    return e->level == KILN_DIAG_FAIL   ? verdict_attr(d, KILN_FAIL)
           : e->level == KILN_DIAG_PASS ? pair(d, CP_PASS, A_NORMAL)
                                        : pair(d, CP_WARN, A_BOLD);
  case E_END: return verdict_attr(d, (enum kiln_verdict)e->level);
  case E_MEAS: return verdict_attr(d, KILN_FAIL);
  case E_STDERR: return pair(d, CP_WARN, A_BOLD);
  case E_START: return A_NORMAL;
  case E_LOG:
    if (e->level >= KILN_SEV_ERROR)
      return pair(d, CP_ERROR, A_BOLD) | A_BOLD;
    if (e->level == KILN_SEV_WARNING)
      return pair(d, CP_WARN, A_BOLD);
    if (e->level == KILN_SEV_DEBUG)
      return A_DIM;
    return A_NORMAL;
  }
  return A_NORMAL;
}

static const char *entry_label(const struct entry *e) {
  switch (e->kind) {
  case E_LOG: return kiln_severity_name((enum kiln_severity)e->level);
  case E_DIAG:
    return e->level == KILN_DIAG_FAIL   ? "FAIL"
           : e->level == KILN_DIAG_PASS ? "pass"
                                        : "UNKNOWN";
  case E_START: return "start";
  case E_END: return kiln_verdict_name((enum kiln_verdict)e->level);
  case E_MEAS: return "FAIL";
  case E_STDERR: return "stderr";
  }
  return "";
}

/* ---- the model, read ---- */

static bool is_monitor(const struct kiln_step_result *s) {
  return s->phase == KILN_MONITOR_PHASE;
}

/* The live key figure: the newest measurement named as the key, else the
 * first (as the reports take it). */
static const struct kiln_measurement *
live_figure(const struct kiln_step_result *s) {
  for (size_t i = s->n_measurements; s->key_measurement && i-- > 0;)
    if (strcmp(s->measurements[i].name, s->key_measurement) == 0)
      return &s->measurements[i];
  return s->n_measurements ? &s->measurements[0] : NULL;
}

static const char *state_word(const struct kiln_step_result *s) {
  if (s->state == KILN_STEP_PENDING)
    return "pending";
  if (s->state == KILN_STEP_RUNNING)
    return "running";
  return kiln_verdict_name(s->verdict);
}

/* ---- telemetry state ---- */

static enum group group_of(const char *unit) {
  if (strcmp(unit, "C") == 0)
    return G_TEMP;
  if (strcmp(unit, "W") == 0)
    return G_POWER;
  if (strcmp(unit, "MHz") == 0)
    return G_CLOCK;
  if (strcmp(unit, "RPM") == 0)
    return G_FAN;
  if (strcmp(unit, "count") == 0)
    return G_COUNT;
  return G_OTHER;
}

static struct series *find_series(struct dash *d, const char *id) {
  for (size_t i = 0; i < d->n_series; i++)
    if (strcmp(d->series[i].id, id) == 0)
      return &d->series[i];
  return NULL;
}

/* The telemetry panel's lines: each group present, then its series. */
static void rebuild_items(struct dash *d) {
  free(d->items);
  d->items = kiln_xcalloc(d->n_series + G_N, sizeof *d->items);
  d->n_items = 0;
  for (int g = 0; g < G_N; g++) {
    bool titled = false;
    for (size_t i = 0; i < d->n_series; i++) {
      if (d->series[i].group != (enum group)g)
        continue;
      if (!titled) {
        d->items[d->n_items++] = (struct tele_item){true, g};
        titled = true;
      }
      d->items[d->n_items++] = (struct tele_item){false, (int)i};
    }
  }
}

static bool series_out(const struct series *s, double v) {
  return kiln_limit_is_set(&s->limit) && !kiln_limit_ok(&s->limit, v);
}

/* ---- windows and layout ---- */

static void del_windows(struct dash *d) {
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
  del_windows(d);
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

/* ---- panels ---- */

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

static void draw_header(struct dash *d) {
  WINDOW *w = d->w_header;
  const struct kiln_run *r = d->run;
  werase(w);
  attr_t title = pair(d, CP_TITLE, A_REVERSE) | A_BOLD;
  fill_row(w, 0, 0, d->cols, title);
  char model[256];
  snprintf(model, sizeof model, "%s%s%s", r->dut.vendor ? r->dut.vendor : "",
           r->dut.vendor && r->dut.vendor[0] ? " " : "",
           r->dut.product ? r->dut.product : "");
  char *m = kiln_escape_controls(model[0] ? model : r->dut.hostname);
  char *serial = kiln_escape_controls(r->dut.serial);
  char *prof = kiln_escape_controls(r->profile);
  put_at(d, w, 0, 0, title, d->cols,
         " kiln %s | DUT %s | serial %s | profile %s",
         r->kiln_version ? r->kiln_version : "", m, serial, prof);
  free(m);
  free(serial);
  free(prof);

  double now = kiln_now();
  char elapsed[32], left[32] = "-";
  fmt_clock(elapsed, sizeof elapsed, now - r->start);
  size_t done = 0, running = 0, pending = 0;
  int phase = 0, phases = 0, last_phase = -1;
  double worst_left = -1;
  for (size_t i = 0; i < r->n_steps; i++) {
    const struct kiln_step_result *s = &r->steps[i];
    if (!is_monitor(s) && s->phase != last_phase) {
      phases++;
      last_phase = s->phase;
    }
    if (s->state == KILN_STEP_DONE)
      done++;
    else if (s->state == KILN_STEP_PENDING)
      pending++;
    else
      running++;
    if (s->state == KILN_STEP_RUNNING && !is_monitor(s)) {
      phase = phases;
      double t = now - s->start, p = s->progress;
      if (p > 0.001 && p < 1 && t > 0) {
        double est = t * (1 - p) / p;
        if (est > worst_left && est < 1e8)
          worst_left = est;
      }
    }
  }
  if (worst_left >= 0) {
    long l = (long)(worst_left + 0.5);
    if (l < 3600)
      snprintf(left, sizeof left, "%ld:%02ld", l / 60, l % 60);
    else
      fmt_clock(left, sizeof left, worst_left);
  }
  /* The verdict so far keeps its place at the right; the figures at the
   * left give way, least useful first, on a narrow terminal. */
  bool any;
  enum kiln_verdict v = verdict_so_far(r, &any);
  const char *word = d->quit_confirmed ? "ABORTING"
                     : any             ? kiln_verdict_name(v)
                                       : "-";
  attr_t va = d->quit_confirmed ? verdict_attr(d, KILN_ABORTED)
              : any             ? verdict_attr(d, v)
                                : A_NORMAL;
  int at = d->cols - (int)strlen(word) - 11;
  if (at < 0)
    at = 0;
  put_at(d, w, 1, at, A_BOLD, d->cols - at, " so far:");
  put_at(d, w, 1, at + 8, va, d->cols - at - 8, " %s ", word);

  char piece[4][96];
  int np = 0;
  snprintf(piece[np++], sizeof piece[0], " elapsed %s", elapsed);
  if (phase)
    snprintf(piece[np++], sizeof piece[0], " | phase %d/%d left %s (est.)",
             phase, phases, left);
  snprintf(piece[np++], sizeof piece[0], " | steps %zu/%zu done", done,
           r->n_steps);
  snprintf(piece[np++], sizeof piece[0], ", %zu running, %zu pending", running,
           pending);
  int x = 0;
  for (int i = 0; i < np; i++) {
    int pw = (int)strlen(piece[i]);
    if (x + pw >= at)
      break;
    x += put_at(d, w, 1, x, A_NORMAL, pw, "%s", piece[i]);
  }
  wnoutrefresh(w);
}

struct table_cols {
  int module, target, state, bar, pct, figure;
};

static struct table_cols table_columns(const struct dash *d) {
  struct table_cols c = {.state = 8, .pct = 7};
  int mw = 6, tw = 6;
  for (size_t i = 0; i < d->run->n_steps; i++) {
    int a = text_cols(d, d->run->steps[i].module);
    int b = text_cols(d, d->run->steps[i].target);
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
    if (is_monitor(s))
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

static void draw_table(struct dash *d) {
  WINDOW *w = d->w_table;
  const struct kiln_run *r = d->run;
  werase(w);
  struct table_cols c = table_columns(d);
  int rows = d->table_h - 1;
  follow_selection(d);
  keep_selection_visible(d, rows);

  attr_t head = A_BOLD | A_UNDERLINE;
  int x = 2;
  put_at(d, w, 0, x, head, c.module, "%-*s", c.module, "MODULE");
  x += c.module + 1;
  put_at(d, w, 0, x, head, c.target, "%-*s", c.target, "TARGET");
  x += c.target + 1;
  put_at(d, w, 0, x, head, c.state, "%-*s", c.state, "STATE");
  x += c.state + 1;
  put_at(d, w, 0, x, head, c.bar + c.pct, "%-*s", c.bar + c.pct, "PROGRESS");
  x += c.bar + c.pct + 1;
  put_at(d, w, 0, x, head, c.figure, "%-*s", c.figure, "KEY FIGURE / NOTE");
  if (r->n_steps > (size_t)rows && rows > 0) {
    char more[48];
    snprintf(more, sizeof more, " %zu-%zu of %zu ", d->table_top + 1,
             d->table_top + (size_t)rows, r->n_steps);
    int mw = (int)strlen(more);
    put_at(d, w, 0, d->cols - mw, A_REVERSE, mw, "%s", more);
  }

  for (int row = 0; row < rows; row++) {
    size_t i = d->table_top + (size_t)row;
    if (i >= r->n_steps)
      break;
    const struct kiln_step_result *s = &r->steps[i];
    int y = row + 1;
    bool done = s->state == KILN_STEP_DONE;
    bool fail =
        (done && s->verdict == KILN_FAIL) ||
        (!done && s->state == KILN_STEP_RUNNING && kiln_step_failing(s));
    bool bad = done && (s->verdict == KILN_ERROR || s->verdict == KILN_ABORTED);
    bool selected = i == d->sel;
    attr_t base = A_NORMAL;
    if (fail)
      base = pair(d, CP_FAIL, A_BOLD) | A_BOLD;
    else if (s->state == KILN_STEP_PENDING || (done && s->verdict == KILN_SKIP))
      base = A_DIM;
    if (selected)
      base |= A_REVERSE;
    fill_row(w, y, 0, d->cols, base);

    const char *mark = fail ? "!!" : bad ? "! " : "  ";
    if (selected && !fail && !bad)
      mark = d->utf8 ? "\u25b6 " : "> ";
    x = 0;
    put_at(d, w, y, x, base | A_BOLD, 2, "%s", mark);
    x = 2;
    put_at(d, w, y, x, base, c.module, "%s", s->module);
    x += c.module + 1;
    put_at(d, w, y, x, base, c.target, "%s", s->target);
    x += c.target + 1;

    attr_t sa = base;
    if (s->state == KILN_STEP_RUNNING)
      sa = fail ? pair(d, CP_FAILROW, A_REVERSE) | A_BOLD
                : pair(d, CP_RUN, A_BOLD) | A_BOLD;
    else if (done)
      sa = s->verdict == KILN_FAIL ? pair(d, CP_FAILROW, A_REVERSE) | A_BOLD
                                   : verdict_attr(d, s->verdict);
    if (selected)
      sa |= A_REVERSE;
    put_at(d, w, y, x, sa, c.state, "%-*s", c.state, state_word(s));
    x += c.state + 1;

    wmove(w, y, x);
    if (is_monitor(s)) {
      put_at(d, w, y, x, base | A_DIM, c.bar + c.pct, "%s",
             s->state == KILN_STEP_RUNNING ? "monitor (whole run)" : "monitor");
    } else {
      double p = s->progress;
      if (done && (s->verdict == KILN_PASS || s->verdict == KILN_FAIL))
        p = 1;
      attr_t fill = base;
      if (!selected)
        fill = fail ? pair(d, CP_FAIL, A_BOLD) | A_BOLD
               : done && s->verdict == KILN_PASS ? pair(d, CP_PASS, A_NORMAL)
               : s->state == KILN_STEP_RUNNING   ? pair(d, CP_RUN, A_BOLD)
                                                 : base;
      draw_bar(d, w, c.bar, s->state == KILN_STEP_PENDING ? 0 : p, fill,
               base | A_DIM);
      char pct[32] = "";
      if (s->state == KILN_STEP_RUNNING)
        snprintf(pct, sizeof pct, "%3.0f%%", s->progress * 100);
      else if (done)
        kiln_elapsed_text(s->end > s->start && s->start > 0 ? s->end - s->start
                                                            : 0,
                          0, pct, sizeof pct);
      put_at(d, w, y, x + c.bar, base, c.pct, " %*s", c.pct - 1, pct);
    }
    x += c.bar + c.pct + 1;

    char fig[512] = "";
    if (done && s->verdict == KILN_FAIL) {
      kiln_step_failure_text(s, fig, sizeof fig);
    } else if (done && s->verdict != KILN_PASS && s->reason) {
      snprintf(fig, sizeof fig, "%s", s->reason);
    } else {
      const struct kiln_measurement *m = live_figure(s);
      if (fail && !m)
        kiln_step_failure_text(s, fig, sizeof fig);
      else if (m) {
        char num[48];
        fmt_num(num, sizeof num, m->value);
        snprintf(fig, sizeof fig, "%s %s  %s%s", num, m->unit, m->name,
                 m->pass ? "" : " (out of limits)");
      }
    }
    put_at(d, w, y, x, base, c.figure, "%s", fig);
  }
  wnoutrefresh(w);
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
  attr_t ok = pair(d, CP_RUN, A_NORMAL), out = verdict_attr(d, KILN_FAIL);
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
  put_at(d, w, y, x, base, nw, "%s", wide ? s->name : s->label);
  x += nw + 1;
  char num[48], lim[64];
  fmt_num(num, sizeof num, s->last);
  bool out = s->n > 0 && series_out(s, s->last);
  put_at(d, w, y, x, out ? verdict_attr(d, KILN_FAIL) : base | A_BOLD, vw,
         "%*s %-4.4s", vw - 5, s->n ? num : "-", s->unit);
  x += vw + 1;
  fmt_limit(d, lim, sizeof lim, &s->limit);
  put_at(d, w, y, x, A_DIM, lw, "%-*s", lw, lim);
  x += lw + 1;
  if (wide) {
    char lo[24], hi[24];
    fmt_num(lo, sizeof lo, s->lo_seen);
    fmt_num(hi, sizeof hi, s->hi_seen);
    if (s->total)
      put_at(d, w, y, x, A_DIM, rw, "seen %s..%s", lo, hi);
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
  int x = put_at(d, w, 0, 0, t, d->cols, "Telemetry (t): ");
  char num[48];
  if (temps) {
    fmt_num(num, sizeof num, tmax);
    x += put_at(d, w, 0, x, A_NORMAL, d->cols - x, "hottest %s C  ", num);
  }
  if (fans) {
    fmt_num(num, sizeof num, fmin);
    x += put_at(d, w, 0, x, A_NORMAL, d->cols - x, "%zu fans, slowest %s RPM  ",
                fans, num);
  }
  if (powers) {
    fmt_num(num, sizeof num, power);
    x += put_at(d, w, 0, x, A_NORMAL, d->cols - x, "power %s W  ", num);
  }
  x += put_at(d, w, 0, x, A_NORMAL, d->cols - x, "%zu series", d->n_series);
  if (out)
    put_at(d, w, 0, x, verdict_attr(d, KILN_FAIL), d->cols - x,
           "  %zu out of limits", out);
}

/* A rule across row y with a title at the left and a note at the right
 * (the note only where both fit). */
static void section_title(struct dash *d, WINDOW *w, int y, const char *title,
                          const char *right) {
  wmove(w, y, 0);
  whline(w, ACS_HLINE, d->cols);
  int rw = right && right[0] ? text_cols(d, right) + 2 : 0;
  int tw = text_cols(d, title) + 2;
  if (rw && tw + rw + 4 > d->cols)
    rw = 0;
  put_at(d, w, y, 1, A_BOLD, d->cols - 2 - (rw ? rw + 1 : 0), " %s ", title);
  if (rw)
    put_at(d, w, y, d->cols - rw - 1, A_DIM, rw, " %s ", right);
}

static void draw_tele(struct dash *d) {
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
  section_title(d, w, 0, "Telemetry", right);
  int cw = d->cols / ncol;
  size_t shown = more ? cap - 1 : d->n_items;
  for (size_t k = 0; k < shown; k++) {
    int col = (int)(k / (size_t)rows), y = 1 + (int)(k % (size_t)rows);
    int x = col * cw;
    const struct tele_item *it = &d->items[k];
    if (it->is_title)
      put_at(d, w, y, x, A_BOLD | A_UNDERLINE, cw - 1, "%s",
             group_title[it->idx]);
    else
      draw_series_line(d, w, y, x, cw - 1, &d->series[it->idx], false);
  }
  if (more) {
    int col = (int)((cap - 1) / (size_t)rows),
        y = 1 + (int)((cap - 1) % (size_t)rows);
    put_at(d, w, y, col * cw, A_DIM, cw - 1, "+%zu more lines: press t",
           d->n_items - shown);
  }
  wnoutrefresh(w);
}

/* "[  12.3s] LABEL who: text" in attr, wrapped to one row. */
static void draw_entry(struct dash *d, WINDOW *w, int y,
                       const struct entry *e) {
  attr_t a = entry_attr(d, e);
  int x =
      put_at(d, w, y, 0, A_DIM, d->cols, "[%7.1fs] ", since_start(d, e->time));
  x += put_at(d, w, y, x, a, d->cols - x, "%-7s ", entry_label(e));
  if (e->who[0])
    x += put_at(d, w, y, x, A_BOLD, d->cols - x, "%s: ", e->who);
  put_at(d, w, y, x, e->kind == E_LOG || e->kind == E_START ? A_NORMAL : a,
         d->cols - x, "%s", e->text);
}

static void draw_events(struct dash *d) {
  WINDOW *w = d->w_events;
  werase(w);
  char right[64] = "";
  if (d->events.n)
    snprintf(right, sizeof right, "l: full log (%zu lines)",
             d->log.n + d->log.dropped);
  section_title(d, w, 0, "Events: diagnoses, warnings, failures", right);
  int rows = d->events_h - 1;
  size_t n = d->events.n < (size_t)rows ? d->events.n : (size_t)rows;
  if (n == 0)
    put_at(d, w, 1, 2, A_DIM, d->cols - 2, "nothing to report yet");
  for (size_t k = 0; k < n; k++)
    draw_entry(d, w, 1 + (int)k, ring_at(&d->events, d->events.n - n + k));
  wnoutrefresh(w);
}

static void draw_footer(struct dash *d) {
  WINDOW *w = d->w_footer;
  werase(w);
  attr_t a = pair(d, CP_TITLE, A_REVERSE);
  fill_row(w, 0, 0, d->cols, a);
  const char *keys;
  switch (d->view) {
  case VIEW_MAIN:
    keys = d->utf8 ? " \u2191\u2193 select  Enter details  l log  t "
                     "telemetry  ? help  q quit"
                   : " Up/Down select  Enter details  l log  t telemetry  ? "
                     "help  q quit";
    break;
  case VIEW_DETAIL:
    keys = " Up/Down PgUp/PgDn scroll  n/p next/prev step  Esc back  l log  q "
           "quit";
    break;
  default:
    keys = " Up/Down PgUp/PgDn Home/End scroll  Esc back  ? help  q quit";
    break;
  }
  if (d->quit_confirmed) {
    put_at(d, w, 0, 0, verdict_attr(d, KILN_ABORTED), d->cols,
           " Aborting: the steps are being stopped; every report will be "
           "written ");
  } else {
    put_at(d, w, 0, 0, a, d->cols, "%s", keys);
  }
  wnoutrefresh(w);
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

static void clear_view_text(struct dash *d) {
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
    size_t skip, n = wrap_next(d, s, width - indent, &skip);
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
    kiln_elapsed_text(since_start(d, s->start), 0, a, sizeof a);
    if (s->end > 0) {
      fmt_span(b, sizeof b, s->start, s->end);
      snprintf(when, sizeof when, "started at +%s, took %s", a, b);
    } else {
      fmt_span(b, sizeof b, s->start, kiln_now());
      snprintf(when, sizeof when, "started at +%s, running for %s", a, b);
    }
  }
  attr_t va = s->state == KILN_STEP_DONE ? verdict_attr(d, s->verdict)
                                         : pair(d, CP_RUN, A_BOLD) | A_BOLD;
  view_line(d, va, 2, "%s  %s", s->id, state_word(s));
  if (is_monitor(s))
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
    view_line(d, verdict_attr(d, KILN_FAIL), 2, "failure: %s", why);
  }
  view_line(d, A_NORMAL, 0, "%s", "");
  view_line(d, A_BOLD | A_UNDERLINE, 0, "Measurements (%zu)",
            s->n_measurements);
  for (size_t i = 0; i < s->n_measurements; i++) {
    const struct kiln_measurement *m = &s->measurements[i];
    char num[48], lim[96];
    fmt_num(num, sizeof num, m->value);
    kiln_limit_describe(&m->limit, lim, sizeof lim);
    view_line(d, m->pass ? A_NORMAL : verdict_attr(d, KILN_FAIL), 8,
              "  %-4s  %s = %s %s%s%s%s%s", m->pass ? "ok" : "FAIL", m->name,
              num, m->unit, lim[0] ? "   limit " : "   no limit", lim,
              m->hwid[0] ? "   on " : "", m->hwid);
  }
  view_line(d, A_NORMAL, 0, "%s", "");
  view_line(d, A_BOLD | A_UNDERLINE, 0, "Diagnoses (%zu)", s->n_diagnoses);
  for (size_t i = 0; i < s->n_diagnoses; i++) {
    const struct kiln_diagnosis *g = &s->diagnoses[i];
    struct entry e = {.kind = E_DIAG, .level = (int)g->type};
    view_line(d, entry_attr(d, &e), 8, "  %-4s  [%7.1fs] %s: %s%s%s",
              entry_label(&e), since_start(d, g->time), g->symptom, g->message,
              g->hwid[0] ? "  on " : "", g->hwid);
  }
  view_line(d, A_NORMAL, 0, "%s", "");
  view_line(d, A_BOLD | A_UNDERLINE, 0, "Log (%zu)", s->n_logs);
  for (size_t i = 0; i < s->n_logs; i++) {
    const struct kiln_log *l = &s->logs[i];
    struct entry e = {.kind = E_LOG, .level = (int)l->severity};
    view_line(d, entry_attr(d, &e), 20, "  [%7.1fs] %-7s %s",
              since_start(d, l->time), kiln_severity_name(l->severity),
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
    const struct entry *e = ring_at(&d->log, i);
    view_line(d, entry_attr(d, e), 20, "[%7.1fs] %-7s %s%s%s",
              since_start(d, e->time), entry_label(e), e->who,
              e->who[0] ? ": " : "", e->text);
  }
  if (d->log.n == 0)
    view_line(d, A_DIM, 0, "nothing logged yet");
}

static void draw_tele_view(struct dash *d, WINDOW *w, int rows) {
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
  section_title(d, w, 0, title, "");
  if (total == 0)
    put_at(d, w, 1, 2, A_DIM, d->cols - 2,
           "no telemetry series (no monitor in the profile, or no sensors)");
  for (int r = 0; r < rows && d->tele_scroll + r < total; r++) {
    const struct tele_item *it = &d->items[d->tele_scroll + r];
    if (it->is_title)
      put_at(d, w, 1 + r, 0, A_BOLD | A_UNDERLINE, d->cols, "%s",
             group_title[it->idx]);
    else
      draw_series_line(d, w, 1 + r, 0, d->cols, &d->series[it->idx], true);
  }
}

static void draw_body(struct dash *d) {
  WINDOW *w = d->w_body;
  werase(w);
  int h = getmaxy(w), rows = h - 1;
  if (d->view == VIEW_TELEMETRY) {
    draw_tele_view(d, w, rows);
    wnoutrefresh(w);
    return;
  }
  clear_view_text(d);
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
  section_title(d, w, 0, title, right);
  for (int r = 0; r < rows && d->scroll + r < total; r++) {
    const struct vrow *v = &d->vl[d->scroll + r];
    wmove(w, 1 + r, v->indent);
    wattrset(w, v->attr);
    put_textn(d, w, v->s, v->len, d->cols - v->indent);
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
    int c = text_cols(d, lines[i]);
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
  attr_t a = d->popup == POP_CONFIRM ? pair(d, CP_FAILROW, A_REVERSE)
                                     : pair(d, CP_TITLE, A_REVERSE);
  wbkgd(w, ' ' | a);
  werase(w);
  box(w, 0, 0);
  for (size_t i = 0; i < n && (int)i < h - 2; i++)
    put_at(d, w, 1 + (int)i, 2, a | (i == 0 ? A_BOLD : 0), wd - 4, "%s",
           lines[i]);
  wnoutrefresh(w);
  delwin(w);
}

/* ---- drawing ---- */

static void draw(struct dash *d) {
  if (d->dirty & D_LAYOUT) {
    layout(d);
    d->dirty = D_ALL;
  }
  unsigned dirty = d->dirty;
  d->dirty = 0;
  if (d->too_small) {
    werase(d->w_body);
    put_at(d, d->w_body, 0, 0, A_BOLD, d->cols,
           "kiln: the terminal is %dx%d; the dashboard needs 50x12.", d->cols,
           d->rows);
    put_at(d, d->w_body, 1, 0, A_NORMAL, d->cols,
           "The run goes on. q aborts it.");
    wnoutrefresh(d->w_body);
    if (d->popup != POP_NONE)
      draw_popup(d);
    doupdate();
    return;
  }
  bool drawn = false;
  if (dirty & D_HEADER) {
    draw_header(d);
    drawn = true;
  }
  if (d->view == VIEW_MAIN) {
    if (dirty & D_TABLE) {
      draw_table(d);
      drawn = true;
    }
    if (d->w_tele && (dirty & D_TELE)) {
      draw_tele(d);
      drawn = true;
    }
    if (dirty & D_EVENTS) {
      draw_events(d);
      drawn = true;
    }
  } else if (dirty & D_BODY) {
    draw_body(d);
    drawn = true;
  }
  if (dirty & D_FOOTER) {
    draw_footer(d);
    drawn = true;
  }
  if (drawn && d->popup != POP_NONE)
    draw_popup(d);
  if (drawn)
    doupdate();
}

/* ---- keys ---- */

static void set_view(struct dash *d, enum view v) {
  d->view = v;
  d->scroll = 0;
  d->tail = v == VIEW_LOG;
  d->dirty |= D_ALL;
}

static void move_sel(struct dash *d, long delta) {
  size_t n = d->run->n_steps;
  if (n == 0)
    return;
  d->follow = false;
  long s = (long)d->sel + delta;
  if (s < 0)
    s = 0;
  if (s >= (long)n)
    s = (long)n - 1;
  d->sel = (size_t)s;
  d->dirty |= D_TABLE;
}

static void scroll_view(struct dash *d, int delta) {
  /* Clamped to what the view held when it was last drawn; drawing
   * clamps it again to what it holds now. */
  if (d->view == VIEW_TELEMETRY) {
    long t = (long)d->tele_scroll + delta;
    d->tele_scroll = t < 0                  ? 0
                     : t > (long)d->n_items ? (int)d->n_items
                                            : (int)t;
  } else {
    long t = (long)d->scroll + delta;
    d->scroll = t < 0 ? 0 : t > (long)d->n_vl ? (int)d->n_vl : (int)t;
    /* Back at the end, the log follows new lines again. */
    d->tail = false;
    int rows = d->w_body ? getmaxy(d->w_body) - 1 : 1;
    if (d->view == VIEW_LOG && d->scroll + rows >= (int)d->n_vl && delta > 0)
      d->tail = true;
  }
  d->dirty |= D_BODY;
}

static void handle_key(struct dash *d, int ch) {
  if (ch == KEY_RESIZE) {
    d->dirty |= D_LAYOUT;
    return;
  }
  if (ch == 12) { /* Ctrl-L */
    clearok(curscr, TRUE);
    d->dirty |= D_ALL;
    return;
  }
  if (d->popup == POP_CONFIRM) {
    if (ch == 'y' || ch == 'Y')
      d->quit_confirmed = true;
    d->popup = POP_NONE;
    d->dirty |= D_ALL;
    return;
  }
  if (d->popup == POP_HELP) {
    d->popup = POP_NONE;
    d->dirty |= D_ALL;
    return;
  }
  if (ch == 'q' || ch == 'Q') {
    if (!d->quit_confirmed) {
      d->popup = POP_CONFIRM;
      d->dirty |= D_ALL;
    }
    return;
  }
  if (ch == '?' || ch == 'h' || ch == KEY_F(1)) {
    d->popup = POP_HELP;
    d->dirty |= D_ALL;
    return;
  }
  if (!d->run || d->too_small)
    return;
  int page = d->view == VIEW_MAIN ? d->table_h - 2
                                  : (d->w_body ? getmaxy(d->w_body) - 2 : 1);
  if (page < 1)
    page = 1;
  if (d->view == VIEW_MAIN) {
    switch (ch) {
    case KEY_UP:
    case 'k': move_sel(d, -1); break;
    case KEY_DOWN:
    case 'j': move_sel(d, 1); break;
    case KEY_PPAGE: move_sel(d, -page); break;
    case KEY_NPAGE: move_sel(d, page); break;
    case KEY_HOME:
    case 'g': move_sel(d, -(long)d->run->n_steps); break;
    case KEY_END:
    case 'G': move_sel(d, (long)d->run->n_steps); break;
    case '\n':
    case '\r':
    case KEY_ENTER:
      if (d->run->n_steps) {
        d->detail = d->sel;
        set_view(d, VIEW_DETAIL);
      }
      break;
    case 'l': set_view(d, VIEW_LOG); break;
    case 't': set_view(d, VIEW_TELEMETRY); break;
    default: break;
    }
    return;
  }
  switch (ch) {
  case KEY_UP:
  case 'k': scroll_view(d, -1); break;
  case KEY_DOWN:
  case 'j': scroll_view(d, 1); break;
  case KEY_PPAGE: scroll_view(d, -page); break;
  case KEY_NPAGE:
  case ' ': scroll_view(d, page); break;
  case KEY_HOME:
  case 'g': scroll_view(d, -(1 << 28)); break;
  case KEY_END:
  case 'G': scroll_view(d, 1 << 28); break;
  case KEY_ESC:
  case KEY_BACKSPACE:
  case 127:
  case 8:
  case KEY_LEFT:
    if (d->view == VIEW_DETAIL)
      d->sel = d->detail;
    set_view(d, VIEW_MAIN);
    break;
  case 'n':
  case 'p':
    if (d->view == VIEW_DETAIL) {
      if (ch == 'n' && d->detail + 1 < d->run->n_steps)
        d->detail++;
      else if (ch == 'p' && d->detail > 0)
        d->detail--;
      d->follow = false;
      set_view(d, VIEW_DETAIL);
    }
    break;
  case 'l': set_view(d, VIEW_LOG); break;
  case 't': set_view(d, VIEW_TELEMETRY); break;
  default: break;
  }
}

/* ---- stderr capture ---- */

static void stderr_line(struct dash *d, const char *line) {
  size_t n = strlen(line);
  if (d->replay_len + n + 1 <= REPLAY_CAP) {
    d->replay = kiln_xrealloc(d->replay, d->replay_len + n + 2);
    memcpy(d->replay + d->replay_len, line, n);
    d->replay[d->replay_len + n] = '\n';
    d->replay_len += n + 1;
  } else {
    d->replay_truncated = true;
  }
  struct entry e = {
      .time = kiln_now(), .kind = E_STDERR, .who = "", .text = (char *)line};
  ring_push(&d->log, &e);
  ring_push(&d->events, &e);
  d->dirty |= D_EVENTS | (d->view == VIEW_LOG ? D_BODY : 0);
}

static void drain_stderr(struct dash *d) {
  if (d->err_fd < 0)
    return;
  char buf[4096];
  for (;;) {
    ssize_t r = read(d->err_fd, buf, sizeof buf);
    if (r <= 0)
      break;
    for (ssize_t i = 0; i < r; i++) {
      char c = buf[i];
      if (c == '\n' || d->errlen == sizeof d->errline - 1) {
        d->errline[d->errlen] = 0;
        stderr_line(d, d->errline);
        d->errlen = 0;
        if (c == '\n')
          continue;
      }
      d->errline[d->errlen++] = c;
    }
  }
}

static void capture_stderr(struct dash *d) {
  d->saved_stderr = d->err_fd = -1;
  if (!isatty(STDERR_FILENO))
    return; /* it goes to a file or a pipe: the screen is safe */
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
    return;
  (void)fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
  int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 10);
  if (saved < 0 || dup2(p[1], STDERR_FILENO) < 0) {
    if (saved >= 0)
      close(saved);
    close(p[0]);
    close(p[1]);
    return;
  }
  /* dup2 leaves fd 2 without O_CLOEXEC: the steps write there too. The
   * write end stays non-blocking: a flood of stderr is dropped rather than
   * stopping kiln. */
  close(p[1]);
  d->saved_stderr = saved;
  d->err_fd = p[0];
}

static void release_stderr(struct dash *d) {
  if (d->err_fd < 0)
    return;
  drain_stderr(d);
  if (d->errlen) {
    d->errline[d->errlen] = 0;
    stderr_line(d, d->errline);
    d->errlen = 0;
  }
  fflush(stderr);
  dup2(d->saved_stderr, STDERR_FILENO);
  close(d->saved_stderr);
  close(d->err_fd);
  d->saved_stderr = d->err_fd = -1;
  if (d->replay_len)
    (void)!write(STDERR_FILENO, d->replay, d->replay_len);
  if (d->replay_truncated) {
    static const char more[] =
        "kiln: (more stderr was written during the dashboard than is kept)\n";
    (void)!write(STDERR_FILENO, more, sizeof more - 1);
  }
  free(d->replay);
  d->replay = NULL;
  d->replay_len = 0;
}

/* ---- the terminal ---- */

static void leave_screen(struct dash *d) {
  if (!d->active)
    return;
  del_windows(d);
  endwin();
  d->active = false;
  release_stderr(d);
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
  ring_push(&d->log, e);
  if (notable) {
    ring_push(&d->events, e);
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
  if (is_monitor(s))
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
    fmt_num(num, sizeof num, m->value);
    kiln_limit_describe(&m->limit, lim, sizeof lim);
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
  struct series *s = find_series(d, se->id);
  if (!s) {
    if (d->n_series == d->cap_series) {
      d->cap_series = d->cap_series ? d->cap_series * 2 : 16;
      d->series = kiln_xrealloc(d->series, d->cap_series * sizeof *d->series);
    }
    s = &d->series[d->n_series++];
    memset(s, 0, sizeof *s);
    s->id = kiln_escape_controls(se->id);
    s->name = kiln_escape_controls(se->name && se->name[0] ? se->name : se->id);
    s->unit = kiln_escape_controls(se->unit);
    s->label = kiln_xstrdup(s->name);
    char *paren = strstr(s->label, " (");
    size_t ll = strlen(s->label);
    if (paren && paren != s->label && ll && s->label[ll - 1] == ')')
      *paren = 0;
    int nw = text_cols(d, s->name), lw = text_cols(d, s->label);
    d->name_w = nw > d->name_w ? nw : d->name_w;
    d->label_w = lw > d->label_w ? lw : d->label_w;
    s->group = group_of(s->unit);
    rebuild_items(d);
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
  struct series *s = find_series(d, se->id);
  if (!s) {
    dash_series_start(sink, r, st, se);
    s = find_series(d, se->id);
  }
  s->v[s->head] = value;
  s->head = (s->head + 1) % SPARK_CAP;
  if (s->n < SPARK_CAP)
    s->n++;
  s->last = value;
  if (s->total == 0 || value < s->lo_seen)
    s->lo_seen = value;
  if (s->total == 0 || value > s->hi_seen)
    s->hi_seen = value;
  s->total++;
  d->dirty |= D_TELE | (d->view == VIEW_TELEMETRY ? D_BODY : 0);
  return 0;
}

static int dash_series_end(struct kiln_sink *sink, const struct kiln_run *r,
                           const struct kiln_step_result *st,
                           const struct kiln_series *se) {
  struct dash *d = sink->state;
  d->run = r;
  struct series *s = find_series(d, se->id);
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
      fmt_num(num, sizeof num, m->value);
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
  ring_free(&d->log);
  ring_free(&d->events);
  for (size_t i = 0; i < d->n_series; i++) {
    free(d->series[i].id);
    free(d->series[i].name);
    free(d->series[i].unit);
    free(d->series[i].label);
  }
  free(d->series);
  free(d->items);
  clear_view_text(d);
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
  ring_init(&d->log, LOG_CAP);
  ring_init(&d->events, EVENT_CAP);
  d->follow = true;
  d->last_second = -1;
  capture_stderr(d);
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
  drain_stderr(d);
  bool key = false;
  int ch;
  while ((ch = wgetch(stdscr)) != ERR) {
    handle_key(d, ch);
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
      draw(d);
      d->last_draw = now;
    }
  }
  if (d->quit_confirmed && !d->quit_reported) {
    d->quit_reported = true;
    return true;
  }
  return false;
}
