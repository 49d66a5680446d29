/* The plain line log for people (a line as each step starts and ends, a
 * FAIL diagnosis as it comes, the summary table at the end) and the TAP
 * stream for harnesses (a test point as each step ends): two sinks over
 * one state. Text from steps and the DUT is escaped before it reaches the
 * terminal; a terminal that hangs up ends the log without an error. */
#include "ui/console.h"
#include "config/profile.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "kiln/reports.h"
#include "kiln/textutil.h"

struct console {
  FILE *out;
  size_t ended; /* TAP stream: points written so far */
  int tap_version;
  bool terminal; /* out was a terminal when opened */
  bool gone;     /* that terminal hung up: nothing more is written */
};

static double since(const struct kiln_run *run, double t) {
  return t > run->start ? t - run->start : 0;
}

/* A terminal that hung up (EIO: the operator's session is gone) is no
 * failure of a record: the log stops there and the run goes on. */
static int flushed(struct kiln_sink *sink) {
  struct console *c = sink->state;
  errno = 0;
  if (fflush(c->out) != 0 || ferror(c->out)) {
    if (c->terminal && (errno == EIO || errno == ENXIO)) {
      c->gone = true;
      clearerr(c->out);
      return 0;
    }
    snprintf(sink->err, sizeof sink->err, "cannot write to the terminal");
    return -1;
  }
  return 0;
}

static int console_run_start(struct kiln_sink *sink, const struct kiln_run *r) {
  struct console *c = sink->state;
  if (c->gone)
    return 0;
  /* The serial comes from the user or the firmware: no raw control bytes
   * to the terminal. */
  char *serial = kiln_escape_controls(r->dut.serial);
  fprintf(c->out, "kiln %s: profile %s (%s), serial %s, %zu steps\n",
          r->kiln_version, r->profile, r->profile_source, serial, r->n_steps);
  fprintf(c->out, "reports: %s\n", r->report_dir);
  free(serial);
  return flushed(sink);
}

static int console_step_start(struct kiln_sink *sink, const struct kiln_run *r,
                              const struct kiln_step_result *s) {
  struct console *c = sink->state;
  if (c->gone)
    return 0;
  if (s->phase == KILN_MONITOR_PHASE)
    fprintf(c->out, "[%7.1fs] start   %s (the whole run, %s)\n",
            since(r, s->start), s->id, s->target);
  else
    fprintf(c->out, "[%7.1fs] start   %s (phase %d, %s)\n", since(r, s->start),
            s->id, s->phase, s->target);
  return flushed(sink);
}

static int console_diagnosis(struct kiln_sink *sink, const struct kiln_run *r,
                             const struct kiln_step_result *s,
                             const struct kiln_diagnosis *d) {
  struct console *c = sink->state;
  if (c->gone)
    return 0;
  if (d->type != KILN_DIAG_FAIL)
    return 0;
  char *msg = kiln_escape_controls(d->message);
  fprintf(c->out, "[%7.1fs] !       %s: %s\n", since(r, d->time), s->id, msg);
  free(msg);
  return flushed(sink);
}

static int console_step_end(struct kiln_sink *sink, const struct kiln_run *r,
                            const struct kiln_step_result *s) {
  struct console *c = sink->state;
  if (c->gone)
    return 0;
  const struct kiln_measurement *m = kiln_step_key_measurement(s);
  char detail[512] = "";
  if (s->verdict == KILN_PASS && m) {
    char value[48];
    kiln_figure_text(m->value, value, sizeof value);
    snprintf(detail, sizeof detail, "  %s=%s %s", m->name, value, m->unit);
  } else if (s->verdict != KILN_PASS) {
    char why[480];
    kiln_step_failure_text(s, why, sizeof why);
    char *shown = kiln_escape_controls(why);
    if (shown[0])
      snprintf(detail, sizeof detail, ": %s", shown);
    free(shown);
  }
  fprintf(c->out, "[%7.1fs] %-7s %s%s\n", since(r, s->end),
          kiln_verdict_name(s->verdict), s->id, detail);
  return flushed(sink);
}

void kiln_console_print_verdict(FILE *out, const struct kiln_run *r,
                                int exit_code, const char *note) {
  /* The word agrees with the exit code: a run whose reports could not be
   * written is an ERROR, whatever its steps found. */
  enum kiln_verdict v = r->verdict;
  if (exit_code != kiln_verdict_exit_code(v))
    v = exit_code == 1 ? KILN_FAIL : exit_code == 0 ? KILN_PASS : KILN_ERROR;
  char *dir = kiln_escape_controls(r->report_dir ? r->report_dir : "");
  fprintf(out, "verdict: %s (exit %d)%s%s; reports in %s\n",
          kiln_verdict_name(v), exit_code, note && note[0] ? "; " : "",
          note ? note : "", dir);
  free(dir);
  fflush(out);
}

static int console_run_end(struct kiln_sink *sink, const struct kiln_run *r) {
  struct console *c = sink->state;
  if (c->gone)
    return 0;
  fputc('\n', c->out);
  kiln_summary_print(c->out, r);
  return flushed(sink);
}

static void console_close(struct kiln_sink *sink) {
  free(sink->state);
  free(sink);
}

struct kiln_sink *kiln_console_sink_open(FILE *out) {
  struct kiln_sink *sink = kiln_xcalloc(1, sizeof *sink);
  struct console *c = kiln_xcalloc(1, sizeof *c);
  c->out = out;
  c->terminal = isatty(fileno(out));
  sink->name = "console";
  sink->state = c;
  sink->run_start = console_run_start;
  sink->step_start = console_step_start;
  sink->diagnosis = console_diagnosis;
  sink->step_end = console_step_end;
  sink->run_end = console_run_end;
  sink->close = console_close;
  return sink;
}

static int tap_run_start(struct kiln_sink *sink, const struct kiln_run *r) {
  struct console *c = sink->state;
  if (c->gone)
    return 0;
  kiln_tap_plan(c->out, c->tap_version, r->n_steps);
  return flushed(sink);
}

static int tap_step_end(struct kiln_sink *sink, const struct kiln_run *r,
                        const struct kiln_step_result *s) {
  struct console *c = sink->state;
  if (c->gone)
    return 0;
  kiln_tap_point(c->out, ++c->ended, s);
  return flushed(sink);
}

struct kiln_sink *kiln_tap_stream_sink_open(FILE *out, int version) {
  struct kiln_sink *sink = kiln_xcalloc(1, sizeof *sink);
  struct console *c = kiln_xcalloc(1, sizeof *c);
  c->out = out;
  c->terminal = isatty(fileno(out));
  c->tap_version = version;
  sink->name = "TAP on stdout";
  sink->state = c;
  sink->run_start = tap_run_start;
  sink->step_end = tap_step_end;
  sink->close = console_close;
  return sink;
}
