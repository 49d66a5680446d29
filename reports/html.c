/* report.html: one self-contained page for people (no scripts, no network,
 * inline CSS and SVG), rewritten atomically from the model at the run
 * start, at every step start and end, and at the run end, like the other
 * whole-file reports.
 *
 * The page, top to bottom:
 *   verdict banner  the run's verdict and exit code (or "NOT FINISHED" while
 *                   the run goes on, or when the node died), the counts, the
 *                   DUT's serial and host
 *   failures        every FAIL diagnosis and out-of-limit measurement, named
 *                   by step, then the ERROR, ABORTED and unfinished steps
 *   steps           one row per step: verdict, duration, key figure
 *   DUT             identity (DMI, BIOS, profile) and the inventory table
 *   step details    per step its measurements against limits, diagnoses and
 *                   (bounded) logs
 *   telemetry       one inline SVG plot per time series, grouped by unit,
 *                   with the series' limits drawn as dashed lines
 *   run log         run-level log lines (bounded)
 *
 * The markup is written with libxml2's xmlTextWriter as well-formed XHTML
 * that HTML5 parsers read the same way: void elements (<meta>) self-close,
 * every other HTML element gets an explicit end tag, SVG shapes (foreign
 * content in HTML5) self-close. Every string from the run goes through
 * report_xml_text(): valid UTF-8 with control bytes shown as Unicode Control
 * Pictures, so a hostile serial can neither break the markup nor the XML.
 *
 * Telemetry is not in the model: the sink keeps, per series, a bounded
 * envelope (min, max, mean per bucket of consecutive samples, at most
 * PLOT_BUCKETS buckets; when full, neighbours merge pairwise and a bucket
 * then holds twice as many samples). Memory and page size stay bounded
 * whatever the run length, a one-sample spike stays visible in the
 * envelope, and each element costs O(1) amortized. telemetry.csv keeps
 * every sample. */
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/xmlwriter.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kiln/reports.h"
#include "kiln/textutil.h"
#include "report_util.h"

/* Buckets a plot keeps at most (they merge pairwise; the array grows from
 * 64), run-level log lines kept, a step's first and last log lines shown. */
#define PLOT_BUCKETS 1024
_Static_assert(PLOT_BUCKETS >= 64 && (PLOT_BUCKETS & (PLOT_BUCKETS - 1)) == 0,
               "PLOT_BUCKETS: a power of two from 64");
#define RUN_NOTES_KEPT 200
#define STEP_LOGS_HEAD 50
#define STEP_LOGS_TAIL 50

/* ---- text ---- */

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

static void fmt_time(double t, char *buf, size_t n) {
  if (isfinite(t) && t > 0 && t < 1e11)
    kiln_format_time(t, buf, n);
  else
    snprintf(buf, n, "-");
}

static void fmt_duration(double seconds, char *buf, size_t n) {
  if (!isfinite(seconds) || seconds < 0 || seconds > 1e9) {
    snprintf(buf, n, "-");
    return;
  }
  long whole = (long)seconds;
  if (seconds < 60)
    snprintf(buf, n, "%.1f s", seconds);
  else if (seconds < 3600)
    snprintf(buf, n, "%ldm %02lds", whole / 60, whole % 60);
  else
    snprintf(buf, n, "%ldh %02ldm %02lds", whole / 3600, whole / 60 % 60,
             whole % 60);
}

/* A unit as people read it: "C" is degrees Celsius. */
static const char *shown_unit(const char *unit) {
  return strcmp(str(unit), "C") == 0 ? "\xc2\xb0"
                                       "C"
                                     : str(unit);
}

/* ---- telemetry: bounded envelopes ---- */

struct bucket {
  double t0, t1;    /* first and last sample time */
  double lo, hi;    /* of the finite values */
  double sum;       /* of the finite values */
  uint64_t n, n_ok; /* samples, finite ones */
};

struct plot {
  char *id, *name, *unit, *hwid;
  struct kiln_limit limit;
  size_t step; /* index in the plan, or SIZE_MAX */
  uint64_t count, finite, over, under;
  double first_t, last_t, min, max, last;
  struct bucket *b; /* grows to PLOT_BUCKETS */
  size_t nb, cap;
  uint64_t per; /* samples per full bucket */
};

struct run_note {
  enum kiln_severity severity;
  char *message;
  double time;
};

struct html_state {
  char *path;
  struct plot *plots;
  size_t n_plots, cap_plots;
  size_t *table; /* open addressing on id: plot index + 1, 0 when empty */
  size_t table_cap;
  struct run_note *notes;
  size_t n_notes, notes_dropped;
};

static size_t hash_id(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    h = (h ^ *p) * 1099511628211ull;
  return (size_t)h;
}

static void table_put(struct html_state *st, size_t index) {
  size_t mask = st->table_cap - 1;
  size_t i = hash_id(st->plots[index].id) & mask;
  while (st->table[i])
    i = (i + 1) & mask;
  st->table[i] = index + 1;
}

static struct plot *find_plot(struct html_state *st, const char *id) {
  if (!st->table_cap)
    return NULL;
  size_t mask = st->table_cap - 1;
  for (size_t i = hash_id(id) & mask; st->table[i]; i = (i + 1) & mask) {
    struct plot *p = &st->plots[st->table[i] - 1];
    if (strcmp(p->id, id) == 0)
      return p;
  }
  return NULL;
}

static void set_plot_info(struct plot *p, const struct kiln_series *se,
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
static struct plot *plot_for(struct html_state *st,
                             const struct kiln_series *se,
                             const struct kiln_step_result *s) {
  const char *id = str(se->id);
  struct plot *p = find_plot(st, id);
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
static void plot_add(struct plot *p, double value, double time) {
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

/* ---- the writer ---- */

/* Output through a FILE; a write error is remembered (with errno) and the
 * rest is dropped, so libxml2 sees no error and prints nothing. */
struct io {
  FILE *f;
  int err;
};

static int io_write(void *ctx, const char *buf, int len) {
  struct io *io = ctx;
  if (!io->err && len > 0 && fwrite(buf, 1, (size_t)len, io->f) != (size_t)len)
    io->err = errno ? errno : EIO;
  return len;
}

/* Written without the writer's indentation, which would put whitespace
 * inside text ("step :"): a newline follows the end of each block-level
 * element instead, which HTML ignores. */
#define HTML_DEPTH 32

struct html_out {
  xmlTextWriterPtr w;
  bool failed;
  bool block[HTML_DEPTH]; /* of each open element */
  int depth;
};

static bool is_block(const char *element) {
  static const char *const blocks[] = {
      "html", "head", "title", "style", "meta", "body", "div",
      "p",    "h2",   "h3",    "table", "tr",   "ul",   "li",
      "svg",  "rect", "line",  "path",  "text"};
  for (size_t i = 0; i < sizeof blocks / sizeof *blocks; i++)
    if (strcmp(element, blocks[i]) == 0)
      return true;
  return false;
}

static void check(struct html_out *x, int rc) {
  if (rc < 0)
    x->failed = true;
}

static void start(struct html_out *x, const char *element) {
  if (x->depth == HTML_DEPTH)
    x->failed = true;
  if (x->failed)
    return;
  x->block[x->depth++] = is_block(element);
  check(x, xmlTextWriterStartElement(x->w, BAD_CAST element));
}

static void ended(struct html_out *x, int rc) {
  check(x, rc);
  if (!x->failed && x->block[--x->depth])
    check(x, xmlTextWriterWriteRaw(x->w, BAD_CAST "\n"));
}

/* Ends an HTML element with an explicit end tag (<td></td>, never <td/>,
 * which HTML5 reads as a start tag). */
static void end(struct html_out *x) {
  if (!x->failed)
    ended(x, xmlTextWriterFullEndElement(x->w));
}

/* Ends a void HTML element (<meta/>) or an SVG shape (<line/>). */
static void end_empty(struct html_out *x) {
  if (!x->failed)
    ended(x, xmlTextWriterEndElement(x->w));
}

/* An attribute of plain ASCII the writer made itself (numbers, classes). */
static void attr_raw(struct html_out *x, const char *name, const char *value) {
  if (!x->failed)
    check(x, xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST value));
}

static void attr(struct html_out *x, const char *name, const char *value) {
  char *safe = report_xml_text(value);
  attr_raw(x, name, safe);
  free(safe);
}

__attribute__((format(printf, 3, 4))) static void
attrf(struct html_out *x, const char *name, const char *fmt, ...) {
  char value[128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(value, sizeof value, fmt, ap);
  va_end(ap);
  attr(x, name, value);
}

static void text(struct html_out *x, const char *s) {
  char *safe = report_xml_text(s);
  if (!x->failed)
    check(x, xmlTextWriterWriteString(x->w, BAD_CAST safe));
  free(safe);
}

__attribute__((format(printf, 2, 3))) static void textf(struct html_out *x,
                                                        const char *fmt, ...) {
  char *s = NULL;
  va_list ap;
  va_start(ap, fmt);
  int w = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (w < 0) {
    x->failed = true;
    return;
  }
  text(x, s);
  free(s);
}

/* <element class="cls">s</element>; cls may be NULL. */
static void element(struct html_out *x, const char *el, const char *cls,
                    const char *s) {
  start(x, el);
  if (cls)
    attr_raw(x, "class", cls);
  text(x, s);
  end(x);
}

static void verdict_badge(struct html_out *x, const char *label) {
  start(x, "span");
  attrf(x, "class", "badge v-%s", label);
  text(x, label);
  end(x);
}

/* ---- head ---- */

/* No '<', '>' or '&': a <style> element's text is raw in HTML. */
static const char stylesheet[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "margin:0;color:#1f2328;background:#fff;font-size:14px}"
    ".main{padding:0 24px 24px}"
    "h2{border-bottom:1px solid #d0d7de;padding-bottom:4px;margin-top:28px}"
    "h3{margin:18px 0 6px}"
    "table{border-collapse:collapse;margin:6px 0}"
    "th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;"
    "vertical-align:top}"
    "th{background:#f6f8fa}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;"
    "font-size:13px;white-space:pre-wrap;word-break:break-all}"
    ".banner{padding:18px 24px;color:#fff}"
    ".banner .big{font-size:40px;font-weight:700;letter-spacing:1px}"
    ".banner div{margin:3px 0}"
    ".b-PASS{background:#1a7f37}.b-FAIL{background:#cf222e}"
    ".b-ERROR{background:#bc4c00}.b-ABORTED{background:#8250df}"
    ".b-SKIP{background:#6e7781}.b-RUNNING{background:#0969da}"
    ".badge{display:inline-block;padding:1px 7px;border-radius:10px;"
    "color:#fff;font-weight:600;font-size:12px}"
    ".v-PASS{background:#1a7f37}.v-FAIL{background:#cf222e}"
    ".v-ERROR{background:#bc4c00}.v-ABORTED{background:#8250df}"
    ".v-SKIP{background:#6e7781}.v-PENDING{background:#8c959f}"
    ".v-RUNNING{background:#0969da}"
    ".ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}"
    ".nav{padding:8px 24px;background:#f6f8fa;border-bottom:1px solid #d0d7de}"
    ".nav a{margin-right:14px}"
    ".failure{border-left:4px solid #cf222e;background:#fff5f5;"
    "padding:6px 10px;margin:6px 0}"
    ".problem{border-left:4px solid #bc4c00;background:#fff8f0;"
    "padding:6px 10px;margin:6px 0}"
    ".plot{display:inline-block;vertical-align:top;margin:6px 10px 14px 0;"
    "width:602px;max-width:100%}"
    ".plot svg{width:100%;height:auto;border:1px solid #d0d7de;"
    "background:#fff}"
    ".plot p{margin:2px 0;font-size:12px;color:#57606a}"
    ".muted{color:#57606a}"
    ".footer{padding:12px 24px;color:#57606a;border-top:1px solid #d0d7de}";

static void write_head(struct html_out *x, const struct kiln_run *run) {
  start(x, "head");
  start(x, "meta");
  attr_raw(x, "charset", "utf-8");
  end_empty(x);
  start(x, "meta");
  attr_raw(x, "name", "viewport");
  attr_raw(x, "content", "width=device-width, initial-scale=1");
  end_empty(x);
  start(x, "title");
  textf(x, "kiln %s: %s",
        run->finished ? kiln_verdict_name(report_run_verdict(run))
                      : "NOT FINISHED",
        str(run->dut.serial));
  end(x);
  element(x, "style", NULL, stylesheet);
  end(x);
}

/* ---- verdict banner ---- */

static void counts_text(const struct report_counts *c, char *buf, size_t n) {
  const struct {
    size_t n;
    const char *what;
  } parts[] = {{c->pass, "passed"},     {c->fail, "failed"},
               {c->skip, "skipped"},    {c->error, "error"},
               {c->aborted, "aborted"}, {c->unfinished, "not finished"}};
  size_t used = 0;
  buf[0] = 0;
  int w = snprintf(buf, n, "%zu step%s: ", c->total, c->total == 1 ? "" : "s");
  if (w > 0 && (size_t)w < n)
    used = (size_t)w;
  const char *sep = "";
  for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
    if (!parts[i].n)
      continue;
    w = snprintf(buf + used, n - used, "%s%zu %s", sep, parts[i].n,
                 parts[i].what);
    if (w < 0 || (size_t)w >= n - used)
      return;
    used += (size_t)w;
    sep = ", ";
  }
}

static void write_banner(struct html_out *x, const struct kiln_run *run) {
  enum kiln_verdict v = report_run_verdict(run);
  const char *label = run->finished ? kiln_verdict_name(v) : "RUNNING";
  struct report_counts c = report_count_run(run);
  char counts[256], stamp[40], span[48];
  counts_text(&c, counts, sizeof counts);
  start(x, "div");
  attrf(x, "class", "banner b-%s", label);
  attr_raw(x, "id", "verdict");
  attr_raw(x, "data-verdict", run->finished ? kiln_verdict_name(v) : "");
  start(x, "div");
  attr_raw(x, "class", "big");
  if (run->finished)
    textf(x, "%s \xe2\x80\x94 exit code %d", kiln_verdict_name(v),
          kiln_verdict_exit_code(v));
  else
    text(x, "NOT FINISHED");
  end(x);
  if (!run->finished) {
    fmt_time(kiln_now(), stamp, sizeof stamp);
    start(x, "div");
    textf(x,
          "The run has not ended: this page was last written at %s. If "
          "the run is no longer going, the node stopped here.",
          stamp);
    end(x);
  }
  element(x, "div", NULL, counts);
  start(x, "div");
  text(x, "DUT serial ");
  element(x, "b", NULL, str(run->dut.serial));
  text(x, " \xc2\xb7 host ");
  element(x, "b", NULL, str(run->dut.hostname));
  text(x, " \xc2\xb7 profile ");
  element(x, "b", NULL, str(run->profile));
  end(x);
  fmt_time(run->start, stamp, sizeof stamp);
  fmt_duration(run->end - run->start, span, sizeof span);
  start(x, "div");
  textf(x, "started %s", stamp);
  if (run->finished && run->end > 0)
    textf(x, ", ran %s", span);
  end(x);
  if (run->abort_reason) {
    start(x, "div");
    text(x, "aborted: ");
    text(x, run->abort_reason);
    end(x);
  }
  end(x);
}

static void write_nav(struct html_out *x) {
  static const char *const links[][2] = {{"#failures", "Failures"},
                                         {"#steps", "Steps"},
                                         {"#dut", "DUT"},
                                         {"#details", "Step details"},
                                         {"#telemetry", "Telemetry"},
                                         {"#runlog", "Run log"}};
  start(x, "div");
  attr_raw(x, "class", "nav");
  for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
    start(x, "a");
    attr_raw(x, "href", links[i][0]);
    text(x, links[i][1]);
    end(x);
  }
  end(x);
}

/* ---- failures ---- */

static void step_link(struct html_out *x, const struct kiln_step_result *s) {
  start(x, "a");
  attrf(x, "href", "#step-%zu", s->index + 1);
  element(x, "b", NULL, s->id);
  end(x);
}

static void write_failures(struct html_out *x, const struct kiln_run *run) {
  char line[1024], stamp[40];
  size_t n_fail = 0, n_problem = 0;
  start(x, "h2");
  attr_raw(x, "id", "failures");
  text(x, "Failures");
  end(x);
  for (size_t i = 0; i < run->n_steps; i++) {
    const struct kiln_step_result *s = &run->steps[i];
    for (size_t k = 0; k < s->n_diagnoses; k++) {
      const struct kiln_diagnosis *d = &s->diagnoses[k];
      if (d->type != KILN_DIAG_FAIL)
        continue;
      n_fail++;
      start(x, "div");
      attr_raw(x, "class", "failure");
      attr_raw(x, "data-kind", "diagnosis");
      step_link(x, s);
      text(x, ": ");
      element(x, "b", NULL, str(d->symptom));
      if (str(d->hwid)[0]) {
        text(x, " on ");
        element(x, "code", NULL, d->hwid);
      }
      fmt_time(d->time, stamp, sizeof stamp);
      start(x, "div");
      text(x, str(d->message));
      end(x);
      element(x, "div", "muted", stamp);
      end(x);
    }
    for (size_t k = 0; k < s->n_measurements; k++) {
      if (s->measurements[k].pass)
        continue;
      n_fail++;
      report_describe_measurement(&s->measurements[k], line, sizeof line);
      start(x, "div");
      attr_raw(x, "class", "failure");
      attr_raw(x, "data-kind", "measurement");
      step_link(x, s);
      text(x, ": ");
      element(x, "b", NULL, "measurement out of limits");
      start(x, "div");
      text(x, line);
      end(x);
      end(x);
    }
  }
  if (!n_fail)
    element(x, "p", "ok",
            "No failures: no FAIL diagnosis and no measurement "
            "out of its limits.");
  for (size_t i = 0; i < run->n_steps; i++) {
    const struct kiln_step_result *s = &run->steps[i];
    const char *why = report_unfinished_reason(s);
    if (!why && s->verdict != KILN_ERROR && s->verdict != KILN_ABORTED)
      continue;
    if (!why)
      why = s->reason ? s->reason : "no reason given";
    if (!n_problem++)
      element(x, "h3", NULL,
              "Steps that did not complete (no verdict on the hardware: "
              "retest)");
    start(x, "div");
    attr_raw(x, "class", "problem");
    step_link(x, s);
    text(x, " ");
    verdict_badge(x, report_step_label(s));
    text(x, " ");
    text(x, why);
    end(x);
  }
}

/* ---- steps ---- */

static void th_row(struct html_out *x, const char *const *heads, size_t n) {
  start(x, "tr");
  for (size_t i = 0; i < n; i++)
    element(x, "th", NULL, heads[i]);
  end(x);
}

static void key_figure(const struct kiln_step_result *s, char *buf, size_t n) {
  const struct kiln_measurement *m = kiln_step_key_measurement(s);
  buf[0] = 0;
  if (m)
    report_describe_measurement(m, buf, n);
}

static void step_note(const struct kiln_step_result *s, char *buf, size_t n) {
  const char *unfinished = report_unfinished_reason(s);
  buf[0] = 0;
  if (unfinished)
    snprintf(buf, n, "%s", unfinished);
  else if (s->verdict == KILN_FAIL)
    kiln_step_failure_text(s, buf, n);
  else if (s->reason)
    snprintf(buf, n, "%s", s->reason);
}

static void write_step_table(struct html_out *x, const struct kiln_run *run) {
  static const char *const heads[] = {
      "#", "Step", "Target", "Verdict", "Duration", "Key figure", "Notes"};
  char buf[1024], span[48];
  start(x, "h2");
  attr_raw(x, "id", "steps");
  text(x, "Steps");
  end(x);
  if (!run->n_steps) {
    element(x, "p", "muted", "No steps planned.");
    return;
  }
  start(x, "table");
  attr_raw(x, "class", "steps");
  th_row(x, heads, sizeof heads / sizeof *heads);
  for (size_t i = 0; i < run->n_steps; i++) {
    const struct kiln_step_result *s = &run->steps[i];
    start(x, "tr");
    attr(x, "data-step", s->id);
    start(x, "td");
    attr_raw(x, "class", "num");
    textf(x, "%zu", i + 1);
    end(x);
    start(x, "td");
    step_link(x, s);
    end(x);
    element(x, "td", "mono", str(s->target));
    start(x, "td");
    verdict_badge(x, report_step_label(s));
    end(x);
    fmt_duration(report_step_duration(s), span, sizeof span);
    element(x, "td", "num", s->start > 0 ? span : "-");
    key_figure(s, buf, sizeof buf);
    element(x, "td", NULL, buf);
    step_note(s, buf, sizeof buf);
    element(x, "td", NULL, buf);
    end(x);
  }
  end(x);
}

/* ---- DUT and inventory ---- */

static void field_row(struct html_out *x, const char *field, const char *label,
                      const char *value) {
  start(x, "tr");
  element(x, "th", NULL, label);
  start(x, "td");
  attr_raw(x, "data-field", field);
  text(x, str(value));
  end(x);
  end(x);
}

static void write_dut(struct html_out *x, const struct kiln_run *run) {
  const struct kiln_dut *d = &run->dut;
  char stamp[40];
  start(x, "h2");
  attr_raw(x, "id", "dut");
  text(x, "Device under test");
  end(x);
  start(x, "table");
  attr_raw(x, "class", "dut");
  field_row(x, "serial", "Serial", d->serial);
  field_row(x, "hostname", "Host", d->hostname);
  char *system = kiln_strdup_printf(
      "%s%s%s", str(d->vendor), str(d->vendor)[0] ? " " : "", str(d->product));
  field_row(x, "system", "System", system);
  free(system);
  field_row(x, "board_serial", "Board serial", d->board_serial);
  char *bios = kiln_strdup_printf(
      "%s%s%s%s%s%s", str(d->bios_vendor), str(d->bios_vendor)[0] ? " " : "",
      str(d->bios_version), str(d->bios_date)[0] ? " (" : "", str(d->bios_date),
      str(d->bios_date)[0] ? ")" : "");
  field_row(x, "bios", "BIOS", bios);
  free(bios);
  char *profile = kiln_strdup_printf("%s (%s)", str(run->profile),
                                     str(run->profile_source));
  field_row(x, "profile", "Profile", profile);
  free(profile);
  field_row(x, "kiln_version", "kiln", run->kiln_version);
  field_row(x, "command_line", "Command", run->command_line);
  field_row(x, "report_dir", "Reports", run->report_dir);
  fmt_time(run->start, stamp, sizeof stamp);
  field_row(x, "start", "Started", stamp);
  fmt_time(run->end, stamp, sizeof stamp);
  field_row(x, "end", "Ended",
            run->finished && run->end > 0 ? stamp : "not finished");
  end(x);

  element(x, "h3", NULL, "Inventory");
  if (!run->n_hardware) {
    element(x, "p", "muted", "No inventory was taken.");
    return;
  }
  static const char *const heads[] = {"Kind",   "Location",    "Name",
                                      "Serial", "Part number", "Manufacturer",
                                      "Version"};
  start(x, "table");
  attr_raw(x, "class", "inventory");
  th_row(x, heads, sizeof heads / sizeof *heads);
  for (size_t i = 0; i < run->n_hardware; i++) {
    const struct kiln_hw_info *h = &run->hardware[i];
    start(x, "tr");
    attr(x, "data-hw", str(h->id));
    element(x, "td", NULL, str(h->kind));
    element(x, "td", "mono", str(h->location));
    element(x, "td", NULL, str(h->name));
    element(x, "td", "mono", str(h->serial));
    element(x, "td", "mono", str(h->part_number));
    element(x, "td", NULL, str(h->manufacturer));
    element(x, "td", NULL, str(h->version));
    end(x);
  }
  end(x);
}

/* ---- step details ---- */

static void write_measurements(struct html_out *x,
                               const struct kiln_step_result *s) {
  static const char *const heads[] = {"Measurement", "Hardware", "Value",
                                      "Unit",        "Limit",    "Result"};
  char limit[96];
  start(x, "table");
  attr_raw(x, "class", "measurements");
  th_row(x, heads, sizeof heads / sizeof *heads);
  for (size_t i = 0; i < s->n_measurements; i++) {
    const struct kiln_measurement *m = &s->measurements[i];
    start(x, "tr");
    attr_raw(x, "data-pass", m->pass ? "true" : "false");
    element(x, "td", NULL, str(m->name));
    element(x, "td", "mono", str(m->hwid));
    start(x, "td");
    attr_raw(x, "class", "num");
    textf(x, "%.10g", m->value);
    end(x);
    element(x, "td", NULL, shown_unit(m->unit));
    kiln_limit_describe(&m->limit, limit, sizeof limit);
    element(x, "td", "mono", limit[0] ? limit : "none");
    element(x, "td", m->pass ? "ok" : "bad",
            m->pass ? "\xe2\x9c\x93 PASS" : "\xe2\x9c\x97 FAIL");
    end(x);
  }
  end(x);
}

static void write_diagnoses(struct html_out *x,
                            const struct kiln_step_result *s) {
  start(x, "ul");
  attr_raw(x, "class", "diagnoses");
  for (size_t i = 0; i < s->n_diagnoses; i++) {
    const struct kiln_diagnosis *d = &s->diagnoses[i];
    start(x, "li");
    const char *type = report_diag_type_name(d->type);
    element(x, "span",
            d->type == KILN_DIAG_FAIL   ? "bad"
            : d->type == KILN_DIAG_PASS ? "ok"
                                        : "muted",
            type);
    text(x, " ");
    element(x, "b", NULL, str(d->symptom));
    if (str(d->hwid)[0]) {
      text(x, " on ");
      element(x, "code", NULL, d->hwid);
    }
    text(x, ": ");
    text(x, str(d->message));
    end(x);
  }
  end(x);
}

static void log_line(struct html_out *x, enum kiln_severity sev,
                     const char *message, double time) {
  char stamp[40];
  fmt_time(time, stamp, sizeof stamp);
  start(x, "tr");
  element(x, "td", "mono", stamp);
  element(x, "td", sev >= KILN_SEV_ERROR ? "bad" : NULL,
          kiln_severity_name(sev));
  element(x, "td", "mono", str(message));
  end(x);
}

static void write_logs(struct html_out *x, const struct kiln_step_result *s) {
  start(x, "table");
  attr_raw(x, "class", "logs");
  for (size_t i = 0; i < s->n_logs; i++) {
    if (s->n_logs > STEP_LOGS_HEAD + STEP_LOGS_TAIL && i == STEP_LOGS_HEAD) {
      start(x, "tr");
      start(x, "td");
      attr_raw(x, "colspan", "3");
      attr_raw(x, "class", "muted");
      textf(x, "\xe2\x80\xa6 %zu more lines in ocp.jsonl \xe2\x80\xa6",
            s->n_logs - STEP_LOGS_HEAD - STEP_LOGS_TAIL);
      end(x);
      end(x);
      i = s->n_logs - STEP_LOGS_TAIL;
    }
    log_line(x, s->logs[i].severity, s->logs[i].message, s->logs[i].time);
  }
  end(x);
}

static void write_step_details(struct html_out *x, const struct kiln_run *run) {
  char stamp[40], span[48];
  start(x, "h2");
  attr_raw(x, "id", "details");
  text(x, "Step details");
  end(x);
  for (size_t i = 0; i < run->n_steps; i++) {
    const struct kiln_step_result *s = &run->steps[i];
    start(x, "div");
    attr_raw(x, "class", "step");
    attrf(x, "id", "step-%zu", s->index + 1);
    start(x, "h3");
    textf(x, "%zu. ", i + 1);
    text(x, s->id);
    text(x, " ");
    verdict_badge(x, report_step_label(s));
    end(x);
    start(x, "p");
    attr_raw(x, "class", "muted");
    text(x, "module ");
    element(x, "code", NULL, str(s->module));
    text(x, " on ");
    element(x, "code", NULL, str(s->target));
    fmt_time(s->start, stamp, sizeof stamp);
    fmt_duration(report_step_duration(s), span, sizeof span);
    textf(x, ", phase %d", s->phase);
    if (s->start > 0)
      textf(x, ", started %s, ran %s", stamp, span);
    if (s->reason) {
      text(x, "; reason: ");
      text(x, s->reason);
    }
    end(x);
    if (s->n_measurements)
      write_measurements(x, s);
    if (s->n_diagnoses)
      write_diagnoses(x, s);
    if (s->n_logs)
      write_logs(x, s);
    if (!s->n_measurements && !s->n_diagnoses && !s->n_logs)
      element(x, "p", "muted", "Nothing reported.");
    end(x);
  }
}

/* ---- telemetry plots ---- */

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

static void y_range(const struct plot *p, struct axes *a) {
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

static void svg_text(struct html_out *x, double px, double py,
                     const char *anchor, const char *fill, const char *s) {
  start(x, "text");
  attrf(x, "x", "%.1f", px);
  attrf(x, "y", "%.1f", py);
  if (anchor)
    attr_raw(x, "text-anchor", anchor);
  if (fill)
    attr_raw(x, "fill", fill);
  text(x, s);
  end(x);
}

static void svg_line(struct html_out *x, double x1, double y1, double x2,
                     double y2, const char *stroke) {
  start(x, "line");
  attrf(x, "x1", "%.1f", x1);
  attrf(x, "y1", "%.1f", y1);
  attrf(x, "x2", "%.1f", x2);
  attrf(x, "y2", "%.1f", y2);
  attr_raw(x, "stroke", stroke);
  end_empty(x);
}

static void write_axes(struct html_out *x, const struct axes *a,
                       const char *unit) {
  char label[64];
  start(x, "rect");
  attrf(x, "x", "%.1f", PL);
  attrf(x, "y", "%.1f", PT);
  attrf(x, "width", "%.1f", PW);
  attrf(x, "height", "%.1f", PH);
  attr_raw(x, "fill", "#fbfcfd");
  attr_raw(x, "stroke", "#8c959f");
  end_empty(x);
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
  start(x, "text");
  attr_raw(x, "transform", "rotate(-90)");
  attrf(x, "x", "%.1f", -(PT + PH / 2));
  attr_raw(x, "y", "14");
  attr_raw(x, "text-anchor", "middle");
  attr_raw(x, "fill", "#57606a");
  text(x, shown_unit(unit));
  end(x);
}

static void write_limit(struct html_out *x, const struct axes *a,
                        const struct plot *p, bool hi) {
  double v = hi ? p->limit.hi : p->limit.lo;
  if (!(hi ? p->limit.has_hi : p->limit.has_lo) || !limit_drawn(v))
    return;
  char value[64], label[128];
  double py = sy(a, v);
  start(x, "line");
  attr_raw(x, "class", "limit");
  attr_raw(x, "data-limit", hi ? "hi" : "lo");
  attrf(x, "data-value", "%.10g", v);
  attrf(x, "x1", "%.1f", PL);
  attrf(x, "y1", "%.1f", py);
  attrf(x, "x2", "%.1f", PL + PW);
  attrf(x, "y2", "%.1f", py);
  attr_raw(x, "stroke", "#cf222e");
  attr_raw(x, "stroke-width", "1.5");
  attr_raw(x, "stroke-dasharray", "7 4");
  end_empty(x);
  snprintf(value, sizeof value, "%.6g", v);
  snprintf(label, sizeof label, "%s %s %s", hi ? "max" : "min", value,
           shown_unit(p->unit));
  /* Above a high limit, below a low one: outside the allowed band. */
  svg_text(x, PL + PW - 4, hi ? py - 4 : py + 13, "end", "#cf222e", label);
}

/* The data: a min/max band (when the buckets hold more than one value)
 * and the mean line, both broken where a bucket holds no finite value. */
static void write_data(struct html_out *x, const struct axes *a,
                       const struct plot *p, struct sbuf *band,
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
  if (spread && band->len) {
    start(x, "path");
    attr_raw(x, "class", "envelope");
    attr_raw(x, "d", band->p);
    attr_raw(x, "fill", "#54aeff");
    attr_raw(x, "fill-opacity", "0.35");
    attr_raw(x, "stroke", "#54aeff");
    attr_raw(x, "stroke-width", "0.8");
    end_empty(x);
  }
  if (line->len) {
    start(x, "path");
    attr_raw(x, "class", "mean");
    attr_raw(x, "d", line->p);
    attr_raw(x, "fill", "none");
    attr_raw(x, "stroke", "#0969da");
    attr_raw(x, "stroke-width", "1.5");
    attr_raw(x, "stroke-linejoin", "round");
    end_empty(x);
  }
}

static void write_caption(struct html_out *x, const struct kiln_run *run,
                          const struct plot *p) {
  char limit[96];
  start(x, "p");
  element(x, "b", NULL, p->name);
  if (!strstr(p->name, p->id)) { /* the sampler's names include it */
    text(x, " \xc2\xb7 ");
    element(x, "code", NULL, p->id);
  }
  if (p->step < run->n_steps) {
    text(x, " \xc2\xb7 step ");
    text(x, run->steps[p->step].id);
  }
  end(x);
  start(x, "p");
  const char *u = shown_unit(p->unit);
  if (p->finite)
    textf(x, "min %.6g, max %.6g, last %.6g %s", p->min, p->max, p->last, u);
  else
    text(x, "no finite readings");
  textf(x, " \xc2\xb7 %llu samples", (unsigned long long)p->count);
  if (p->per > 1)
    textf(x, " (each point: %llu samples; line = mean, band = min to max)",
          (unsigned long long)p->per);
  kiln_limit_describe(&p->limit, limit, sizeof limit);
  if (limit[0]) {
    textf(x, " \xc2\xb7 limit %s %s", limit, u);
    if (p->over + p->under)
      textf(x, ": %llu samples outside",
            (unsigned long long)(p->over + p->under));
  }
  end(x);
}

static void write_plot(struct html_out *x, const struct kiln_run *run,
                       const struct plot *p, size_t index, struct axes a,
                       struct sbuf *band, struct sbuf *line) {
  y_range(p, &a);
  start(x, "div");
  attr_raw(x, "class", "plot");
  attrf(x, "id", "plot-%zu", index + 1);
  attr(x, "data-series", p->id);
  start(x, "svg");
  attr_raw(x, "xmlns", "http://www.w3.org/2000/svg");
  attrf(x, "viewBox", "0 0 %.0f %.0f", SVG_W, SVG_H);
  attrf(x, "width", "%.0f", SVG_W);
  attrf(x, "height", "%.0f", SVG_H);
  attr_raw(x, "font-size", "11");
  attr_raw(x, "font-family", "sans-serif");
  attr_raw(x, "role", "img");
  attr(x, "aria-label", p->name);
  attr(x, "data-series", p->id);
  write_axes(x, &a, p->unit);
  if (a.ok) {
    write_data(x, &a, p, band, line);
    write_limit(x, &a, p, true);
    write_limit(x, &a, p, false);
  } else {
    svg_text(x, PL + PW / 2, PT + PH / 2, "middle", "#57606a",
             "no plottable readings");
  }
  end(x);
  write_caption(x, run, p);
  end(x);
}

static void write_telemetry(struct html_out *x, const struct kiln_run *run,
                            const struct html_state *st) {
  start(x, "h2");
  attr_raw(x, "id", "telemetry");
  text(x, "Telemetry");
  end(x);
  /* One time axis for every plot, so they line up. */
  struct axes a = {.t0 = INFINITY, .t1 = -INFINITY};
  for (size_t i = 0; i < st->n_plots; i++)
    if (st->plots[i].count) {
      a.t0 = fmin(a.t0, st->plots[i].first_t);
      a.t1 = fmax(a.t1, st->plots[i].last_t);
    }
  if (!isfinite(a.t0) || !isfinite(a.t1)) {
    element(x, "p", "muted",
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
  element(x, "p", "muted",
          "Every sample is in telemetry.csv; the plots show the mean with "
          "the minimum-to-maximum band, downsampled; dashed red lines are "
          "the limits.");
  struct sbuf band = {0}, line = {0};
  for (int g = 0; g < G_N; g++) {
    size_t n = 0;
    for (size_t i = 0; i < st->n_plots; i++) {
      const struct plot *p = &st->plots[i];
      if (!p->count || group_of(p->unit) != (enum group)g)
        continue;
      if (!n++) {
        start(x, "h3");
        attrf(x, "id", "telemetry-%s", group_id[g]);
        text(x, group_title[g]);
        end(x);
      }
      write_plot(x, run, p, i, a, &band, &line);
    }
  }
  free(band.p);
  free(line.p);
}

static void write_run_log(struct html_out *x, const struct html_state *st) {
  start(x, "h2");
  attr_raw(x, "id", "runlog");
  text(x, "Run log");
  end(x);
  if (!st->n_notes) {
    element(x, "p", "muted", "No run-level log lines.");
    return;
  }
  if (st->notes_dropped)
    element(x, "p", "muted",
            "Only the first lines; the rest are in "
            "ocp.jsonl.");
  start(x, "table");
  attr_raw(x, "class", "logs");
  for (size_t i = 0; i < st->n_notes; i++)
    log_line(x, st->notes[i].severity, st->notes[i].message, st->notes[i].time);
  end(x);
}

static void write_document(struct html_out *x, const struct kiln_run *run,
                           const struct html_state *st) {
  char stamp[40];
  check(x, xmlTextWriterWriteDTD(x->w, BAD_CAST "html", NULL, NULL, NULL));
  check(x, xmlTextWriterWriteRaw(x->w, BAD_CAST "\n"));
  start(x, "html");
  attr_raw(x, "xmlns", "http://www.w3.org/1999/xhtml");
  attr_raw(x, "lang", "en");
  write_head(x, run);
  start(x, "body");
  write_banner(x, run);
  write_nav(x);
  start(x, "div");
  attr_raw(x, "class", "main");
  write_failures(x, run);
  write_step_table(x, run);
  write_dut(x, run);
  write_step_details(x, run);
  write_telemetry(x, run, st);
  write_run_log(x, st);
  end(x);
  start(x, "div");
  attr_raw(x, "class", "footer");
  fmt_time(kiln_now(), stamp, sizeof stamp);
  textf(x,
        "kiln %s \xc2\xb7 written %s \xc2\xb7 every event is in ocp.jsonl, "
        "every telemetry sample in telemetry.csv",
        str(run->kiln_version), stamp);
  end(x);
  end(x);
  end(x);
  if (!x->failed)
    check(x, xmlTextWriterEndDocument(x->w));
}

/* Writes st->path atomically; on failure the previous page stays. */
static int write_page(struct kiln_sink *sink, const struct kiln_run *run) {
  struct html_state *st = sink->state;
  char *err = sink->err;
  size_t n = sizeof sink->err;
  struct kiln_atomic atomic;
  FILE *f = kiln_atomic_open(&atomic, st->path, err, n);
  if (!f)
    return -1;
  struct io io = {.f = f};
  xmlOutputBufferPtr out = xmlOutputBufferCreateIO(io_write, NULL, &io, NULL);
  struct html_out x = {.w = out ? xmlNewTextWriter(out) : NULL};
  if (!x.w) {
    if (out)
      xmlOutputBufferClose(out);
    snprintf(err, n, "%s: cannot start the XML writer", st->path);
    kiln_atomic_abort(&atomic);
    return -1;
  }
  write_document(&x, run, st);
  xmlFreeTextWriter(x.w); /* flushes into io, closes out */
  if (!io.err && !x.failed && fputc('\n', f) == EOF)
    io.err = errno ? errno : EIO;
  if (io.err || x.failed) {
    if (io.err)
      snprintf(err, n, "%s: %s", st->path, strerror(io.err));
    else
      snprintf(err, n, "%s: could not build the report", st->path);
    kiln_atomic_abort(&atomic);
    return -1;
  }
  return kiln_atomic_commit(&atomic, err, n);
}

/* ---- sink callbacks ---- */

static int html_run_event(struct kiln_sink *sink, const struct kiln_run *run) {
  return write_page(sink, run);
}

static int html_step_event(struct kiln_sink *sink, const struct kiln_run *run,
                           const struct kiln_step_result *s) {
  return write_page(sink, run);
}

static int html_log(struct kiln_sink *sink, const struct kiln_run *run,
                    const struct kiln_step_result *s,
                    const struct kiln_log *l) {
  struct html_state *st = sink->state;
  if (s)
    return 0; /* in the model */
  if (st->n_notes == RUN_NOTES_KEPT) {
    st->notes_dropped++;
    return 0;
  }
  if (!st->notes)
    st->notes = kiln_xcalloc(RUN_NOTES_KEPT, sizeof *st->notes);
  st->notes[st->n_notes++] =
      (struct run_note){.severity = l->severity,
                        .message = kiln_xstrdup(l->message),
                        .time = l->time};
  return 0;
}

static int html_series_start(struct kiln_sink *sink, const struct kiln_run *run,
                             const struct kiln_step_result *s,
                             const struct kiln_series *se) {
  struct html_state *st = sink->state;
  struct plot *p = find_plot(st, str(se->id));
  if (p)
    set_plot_info(p, se, s); /* the same series again: keep its data */
  else
    plot_for(st, se, s);
  return 0;
}

static int html_series_element(struct kiln_sink *sink,
                               const struct kiln_run *run,
                               const struct kiln_step_result *s,
                               const struct kiln_series *se, double value,
                               double time) {
  plot_add(plot_for(sink->state, se, s), value, time);
  return 0;
}

static void html_close(struct kiln_sink *sink) {
  struct html_state *st = sink->state;
  for (size_t i = 0; i < st->n_plots; i++) {
    struct plot *p = &st->plots[i];
    free(p->id);
    free(p->name);
    free(p->unit);
    free(p->hwid);
    free(p->b);
  }
  free(st->plots);
  free(st->table);
  for (size_t i = 0; i < st->n_notes; i++)
    free(st->notes[i].message);
  free(st->notes);
  free(st->path);
  free(st);
  free(sink);
}

struct kiln_sink *kiln_html_sink_open(const char *path, char *err, size_t n) {
  if (!path || !path[0]) {
    snprintf(err, n, "report.html: no path given");
    return NULL;
  }
  xmlInitParser(); /* idempotent; libxml2 wants it before use by threads */
  struct html_state *st = kiln_xcalloc(1, sizeof *st);
  st->path = kiln_xstrdup(path);
  struct kiln_sink *sink = kiln_xcalloc(1, sizeof *sink);
  sink->name = "report.html";
  sink->state = st;
  sink->run_start = html_run_event;
  sink->step_start = html_step_event;
  sink->log = html_log;
  sink->series_start = html_series_start;
  sink->series_element = html_series_element;
  sink->step_end = html_step_event;
  sink->run_end = html_run_event;
  sink->close = html_close;
  return sink;
}
