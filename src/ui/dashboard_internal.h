/* What the dashboard's files share (src/ui/dashboard*.c), and nothing
 * outside them includes: the dashboard's own state (struct dash), the
 * drawing primitives every panel uses, and each file's entry points.
 *
 * The files, as htop and nvtop cut a screen:
 *   dashboard.c            the sink (the run's events update the state and
 *                          mark panels dirty), the terminal, the public API
 *   dashboard_model.c      the state the panels draw: log and event rings,
 *                          telemetry series, reads of the run model
 *   dashboard_draw.c       text in cells (UTF-8, display columns, escaping),
 *                          number forms, colours and attributes
 *   dashboard_header.c     panel: the run, its clocks and the verdict so far
 *   dashboard_table.c      panel: one row per step
 *   dashboard_telemetry.c  panel: the series with sparklines, and their
 *                          full-screen view
 *   dashboard_events.c     panel: diagnoses, warnings and failures
 *   dashboard_footer.c     panel: the keys
 *   dashboard_views.c      the layout, the scrollable views (a step's
 *                          details, the full log), popups, and draw()
 *   dashboard_keys.c       what each key does in each view
 *   dashboard_stderr.c     stderr read into the event log while drawing
 *
 * The run model (struct kiln_run) is the runner's: the panels read it and
 * never change it. Text from steps, sensors and the DUT is escaped
 * (kiln_escape_controls) when it is stored, and drawn through
 * dash_put_textn(), which also escapes controls, replaces invalid UTF-8
 * and counts display columns, so a hostile string can neither move the
 * cursor nor overflow its cell.
 * Layer: ui (src/ui/). */
#ifndef KILN_DASHBOARD_INTERNAL_H
#define KILN_DASHBOARD_INTERNAL_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/profile.h"
#include "kiln/result.h"
#include "kiln/sink.h"

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

/* What needs drawing again. */
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

/* Colour pairs. */
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

/* ---- the model (dashboard_model.c) ---- */

void dash_ring_init(struct ring *r, size_t cap);
struct entry *dash_ring_at(const struct ring *r, size_t i);
/* Stores a copy of e, its who and text escaped. */
void dash_ring_push(struct ring *r, const struct entry *e);
void dash_ring_free(struct ring *r);

struct series *dash_find_series(struct dash *d, const char *id);
/* A new series for se, in its group's place in the telemetry panel. */
struct series *dash_add_series(struct dash *d, const struct kiln_series *se);
void dash_series_append(struct series *s, double value);
void dash_free_series(struct dash *d);

bool dash_is_monitor(const struct kiln_step_result *s);
const char *dash_state_word(const struct kiln_step_result *s);
/* Seconds from the run's start to t; 0 before it or with no run. */
double dash_since_start(const struct dash *d, double t);

/* ---- text in cells, number forms, attributes (dashboard_draw.c) ---- */

/* Display columns of s. */
int dash_text_cols(const struct dash *d, const char *s);
/* Draws len bytes of s at the cursor in at most cols columns; returns the
 * columns used. Controls are drawn as \xNN, invalid UTF-8 as U+FFFD, and
 * outside a UTF-8 locale anything not ASCII as '?'. */
int dash_put_textn(const struct dash *d, WINDOW *w, const char *s, size_t len,
                   int cols);
/* Draws at (y, x) in attr, at most cols columns; returns them. */
__attribute__((format(printf, 7, 8))) int dash_put_at(const struct dash *d,
                                                      WINDOW *w, int y, int x,
                                                      attr_t attr, int cols,
                                                      const char *fmt, ...);
/* Fills row y from x on with spaces in attr (a row's background). */
void dash_fill_row(WINDOW *w, int y, int x, int cols, attr_t attr);
/* The byte length of the next wrapped line of s in cols columns,
 * breaking after a space where one is near the end; *skip gets the bytes
 * of spaces to drop after it. */
size_t dash_wrap_next(const struct dash *d, const char *s, int cols,
                      size_t *skip);
/* A rule across row y with a title at the left and a note at the right
 * (the note only where both fit). */
void dash_section_title(struct dash *d, WINDOW *w, int y, const char *title,
                        const char *right);

attr_t dash_pair(const struct dash *d, short p, attr_t mono);
attr_t dash_verdict_attr(const struct dash *d, enum kiln_verdict v);
attr_t dash_entry_attr(const struct dash *d, const struct entry *e);
const char *dash_entry_label(const struct entry *e);

/* ---- the panels, each into its window (dashboard_<panel>.c) ---- */

void dash_draw_header(struct dash *d);
void dash_draw_table(struct dash *d);
void dash_draw_telemetry(struct dash *d);
void dash_draw_events(struct dash *d);
void dash_draw_footer(struct dash *d);
/* The full-screen telemetry view: rows lines under its title in w. */
void dash_draw_telemetry_view(struct dash *d, WINDOW *w, int rows);

/* ---- views (dashboard_views.c), keys, stderr ---- */

void dash_del_windows(struct dash *d);
/* Frees the text of the scrollable view last drawn. */
void dash_clear_view_text(struct dash *d);
/* Draws what is dirty (laying the windows out again first when the
 * terminal's size changed), then one doupdate(). */
void dash_draw(struct dash *d);
void dash_handle_key(struct dash *d, int ch);

/* Points stderr at a pipe the dashboard reads (when it is a terminal). */
void dash_capture_stderr(struct dash *d);
/* Moves what the pipe holds into the event log. */
void dash_drain_stderr(struct dash *d);
/* Gives stderr back and writes there what was captured. */
void dash_release_stderr(struct dash *d);

#endif
