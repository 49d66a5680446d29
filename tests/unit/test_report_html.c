/* The HTML report sink: the page parses as HTML (xmllint --html) and as
 * XML, says FAIL with the failures before the step table, carries hostile
 * strings intact, draws one SVG plot per telemetry series with its limit
 * lines, stays bounded for a long series, and fails cleanly on a full
 * disk, leaving the previous page in place. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "kiln/reports.h"
#include "kiln/textutil.h"
#include "report_fixture.h"

static struct kiln_sink *open_sink(const char *path) {
  char err[256] = "";
  struct kiln_sink *sink = kiln_html_sink_open(path, err, sizeof err);
  if (!sink)
    fail_msg("kiln_html_sink_open: %s", err);
  return sink;
}

typedef double (*value_fn)(size_t i);

/* One telemetry series of n samples, one a second from t0, through the
 * sink's callbacks as the sampler sends them. */
static void feed_series(struct kiln_sink *sink, const struct kiln_run *run,
                        const struct kiln_step_result *step, const char *id,
                        const char *name, const char *unit,
                        struct kiln_limit limit, size_t n, double t0,
                        value_fn value) {
  struct kiln_series se = {.id = id,
                           .name = name,
                           .unit = unit,
                           .hwid = "nct6798-isa-0290",
                           .limit = limit};
  assert_int_equal(sink->series_start(sink, run, step, &se), 0);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(
        sink->series_element(sink, run, step, &se, value(i), t0 + (double)i),
        0);
    se.count++;
  }
  if (sink->series_end)
    assert_int_equal(sink->series_end(sink, run, step, &se), 0);
}

static double temp_wave(size_t i) { return 50 + 10 * sin((double)i / 7); }
static double fan_wave(size_t i) { return 1200 + (double)(i % 5) * 20; }
static double power_wave(size_t i) { return 300 + (double)(i % 3); }

static const struct kiln_limit temp_max = {.has_hi = true, .hi = 95};
static const struct kiln_limit fan_min = {.has_lo = true, .lo = 400};

/* The three series the check scripts expect, on the run's first step. */
static void feed_three_series(struct kiln_sink *sink,
                              const struct kiln_run *run) {
  const struct kiln_step_result *step = &run->steps[0];
  feed_series(sink, run, step, "sensors/coretemp-isa-0000/temp1",
              "Package id 0 (sensors/coretemp-isa-0000/temp1)", "C", temp_max,
              60, FIXTURE_T0 + 1, temp_wave);
  feed_series(sink, run, step, "sensors/nct6798-isa-0290/fan1",
              "CPU_FAN (sensors/nct6798-isa-0290/fan1)", "RPM", fan_min, 60,
              FIXTURE_T0 + 1, fan_wave);
  feed_series(sink, run, step, "sensors/acpi-power/power1", "PSU input", "W",
              (struct kiln_limit){0}, 60, FIXTURE_T0 + 1, power_wave);
}

/* xmllint --html must pass; libxml2 2.9's HTML 4 parser names the SVG
 * elements (unknown to HTML 4) and nothing else. As XML the page is
 * well-formed with no message at all. */
static void assert_parses(const char *path) {
  char *out = NULL;
  assert_int_equal(fixture_command(&out, "xmllint --html --noout %s", path), 0);
  for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
    if (!strstr(line, "HTML parser error"))
      continue; /* the context lines under each message */
    const char *tag = strstr(line, ": Tag ");
    static const char *const html4_unknown[] = {"svg", "rect", "line", "path",
                                                "text"};
    bool known = false;
    for (size_t i = 0; tag && i < sizeof html4_unknown / sizeof *html4_unknown;
         i++) {
      char want[32];
      snprintf(want, sizeof want, ": Tag %s invalid", html4_unknown[i]);
      known |= strncmp(tag, want, strlen(want)) == 0;
    }
    if (!known)
      fail_msg("xmllint --html: %s", line);
  }
  free(out);
  out = NULL;
  assert_int_equal(fixture_command(&out, "xmllint --noout %s", path), 0);
  assert_string_equal(out, "");
  free(out);
}

static void assert_no_control_bytes(const char *text) {
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    if (*p < 0x20 && *p != '\n' && *p != '\t')
      fail_msg("raw control byte 0x%02x at offset %td", *p,
               (const char *)p - text);
}

/* Shared by the check scripts: the page as an XHTML tree. */
#define PY_PRELUDE                                                             \
  "import sys, re, xml.etree.ElementTree as ET\n"                              \
  "NS = '{http://www.w3.org/1999/xhtml}'\n"                                    \
  "SVG = '{http://www.w3.org/2000/svg}'\n"                                     \
  "root = ET.parse(sys.argv[1]).getroot()\n"                                   \
  "def text(e):\n"                                                             \
  "    return ''.join(e.itertext())\n"                                         \
  "def plots(root):\n"                                                         \
  "    return [s for s in root.iter(SVG + 'svg')\n"                            \
  "            if s.get('id') != 'timeline-svg']\n"                            \
  "def by_id(i):\n"                                                            \
  "    return next(e for e in root.iter() if e.get('id') == i)\n"              \
  "def unpicture(s):\n"                                                        \
  "    return ''.join(chr(ord(c) - 0x2400) if 0x2400 <= ord(c) <= 0x241f\n"    \
  "                   else '\\x7f' if c == '\\u2421' else c for c in s)\n"

static const char check_mixed_page[] = PY_PRELUDE
    "banner = by_id('verdict')\n"
    "assert banner.get('data-verdict') == 'FAIL', banner.attrib\n"
    "assert 'FAIL \\u2014 exit code 1' in text(banner), text(banner)\n"
    "assert 'aborted: SIGTERM received' in text(banner)\n"
    "assert '1 passed, 2 failed, 1 skipped, 1 error, 1 aborted, 1 not "
    "finished' in text(banner), text(banner)\n"
    "order = [e.get('id') for e in root.iter(NS + 'h2')]\n"
    "assert order == ['failures', 'steps', 'timeline', 'dut', 'details', "
    "'telemetry',\n"
    "                 'runlog'], order\n"
    "fails = [e for e in root.iter(NS + 'div') if e.get('class') == "
    "'failure']\n"
    "assert len(fails) == 3, [text(f) for f in fails]\n"
    "assert 'dram.pattern: dram-bitflip on DIMM_A1' in text(fails[0])\n"
    "assert 'bit 3 flipped at 0x7f001234 on DIMM A1' in text(fails[0])\n"
    "assert 'gpu.membw[0]: measurement out of limits' in text(fails[1])\n"
    "assert 'bandwidth on gpu0 = 1200 GB/s (limit x >= 2500)' in "
    "text(fails[1])\n"
    "assert 'latency on gpu0 = nan ns' in text(fails[2])\n"
    "problems = [text(e) for e in root.iter(NS + 'div') if e.get('class') "
    "== 'problem']\n"
    "assert problems == ['fans ERROR child crashed: SIGSEGV',\n"
    "    'dram.bandwidth ABORTED SIGTERM received',\n"
    "    'pcie.link PENDING not run yet'], problems\n"
    "rows = [r for r in root.iter(NS + 'tr') if r.get('data-step')]\n"
    "got = [(r.get('data-step'), text(r.findall(NS + 'td')[3])) for r in "
    "rows]\n"
    "assert got == [('cpu.compute', 'PASS'), ('dram.pattern', 'FAIL'),\n"
    "    ('gpu.membw[0]', 'FAIL'), ('gpu.query[0]', 'SKIP'), ('fans', "
    "'ERROR'),\n"
    "    ('dram.bandwidth', 'ABORTED'), ('pcie.link', 'PENDING')], got\n"
    "assert text(rows[0].findall(NS + 'td')[5]) == "
    "'gflops on cpu = 123.5 GFLOP/s (limit x >= 100)'\n"
    "assert text(rows[2].findall(NS + 'td')[4]) == '5.0 s'\n"
    "inv = [r.get('data-hw') for r in root.iter(NS + 'tr') if "
    "r.get('data-hw')]\n"
    "assert inv == ['gpu:0000:1b:00.0', 'dimm:0:CPU0_DIMM_A1'], inv\n"
    "dimm = [text(td) for td in [r for r in root.iter(NS + 'tr')\n"
    "        if r.get('data-hw') == 'dimm:0:CPU0_DIMM_A1'][0]]\n"
    "assert dimm == ['DIMM', 'CPU0_DIMM_A1', '64 GiB DDR5 4800 MT/s',\n"
    "    '80CE01234567', 'M321R8GA0BB0-CQKZJ', 'Samsung', ''], dimm\n"
    "fields = {e.get('data-field'): text(e) for e in root.iter() if\n"
    "          e.get('data-field')}\n"
    "assert fields['system'] == 'Supermicro SYS-821GE-TNHR', fields\n"
    "assert fields['bios'] == 'American Megatrends 2.1a (05/14/2025)', "
    "fields\n"
    "m = [r for r in by_id('step-3').iter(NS + 'tr') if r.get('data-pass')]\n"
    "assert [(text(r[0]), r.get('data-pass'), text(r[5])) for r in m] == [\n"
    "    ('bandwidth', 'false', '\\u2717 FAIL'), ('latency', 'false',\n"
    "    '\\u2717 FAIL')], [text(r) for r in m]\n"
    "ok = [r for r in by_id('step-1').iter(NS + 'tr') if r.get('data-pass')]\n"
    "assert [text(r[5]) for r in ok] == ['\\u2713 PASS'] * 2\n"
    "assert any('run-level note' in text(t) for t in root.iter(NS + "
    "'table') if t.get('class') == 'logs')\n"
    /* One plot per series, each naming its series. */
    "svgs = list(plots(root))\n"
    "ids = [s.get('data-series') for s in svgs]\n"
    "assert ids == ['sensors/coretemp-isa-0000/temp1',\n"
    "    'sensors/nct6798-isa-0290/fan1', 'sensors/acpi-power/power1'], ids\n"
    "groups = [e.get('id') for e in root.iter(NS + 'h3') if e.get('id')]\n"
    "assert groups == ['telemetry-temperatures', 'telemetry-fans',\n"
    "                  'telemetry-power'], groups\n"
    "def limits(s):\n"
    "    return [(l.get('data-limit'), l.get('data-value'),\n"
    "             l.get('stroke-dasharray') is not None)\n"
    "            for l in s.iter(SVG + 'line') if l.get('class') == 'limit']\n"
    "assert limits(svgs[0]) == [('hi', '95', True)], limits(svgs[0])\n"
    "assert limits(svgs[1]) == [('lo', '400', True)], limits(svgs[1])\n"
    "assert limits(svgs[2]) == [], limits(svgs[2])\n"
    "labels = [text(t) for t in svgs[0].iter(SVG + 'text')]\n"
    "assert 'max 95 \\u00b0C' in labels and '\\u00b0C' in labels, labels\n"
    "assert labels[5:12] == ['0 s', '10 s', '20 s', '30 s', '40 s', '50 s',\n"
    "                        '60 s'], labels\n"
    "assert 'min 400 RPM' in [text(t) for t in svgs[1].iter(SVG + 'text')]\n"
    "for s in svgs:\n"
    "    mean = [p for p in s.iter(SVG + 'path') if p.get('class') == "
    "'mean']\n"
    "    assert len(mean) == 1 and mean[0].get('d').count('L') == 59, s\n"
    /* Self-contained: no scripts, nothing fetched. */
    "raw = open(sys.argv[1], encoding='utf-8').read()\n"
    "assert '<script' not in raw.lower()\n"
    "urls = set(re.findall(r'(?:src|href)=\"([^\"#][^\"]*)\"', raw))\n"
    "assert not urls, urls\n"
    "assert set(re.findall(r'https?://[^\"]*', raw)) == {\n"
    "    'http://www.w3.org/1999/xhtml', 'http://www.w3.org/2000/svg'}\n"
    "assert raw.startswith('<!DOCTYPE html>\\n<html')\n";

static void mixed_run_page(void **state) {
  struct kiln_run run;
  fixture_mixed_run(&run);
  char *dir = fixture_tmpdir();
  char *path = fixture_path(dir, "report.html");
  struct kiln_sink *sink = open_sink(path);
  assert_int_equal(fixture_replay(sink, &run), 0);
  feed_three_series(sink, &run);
  assert_int_equal(sink->run_end(sink, &run), 0);
  assert_parses(path);
  assert_int_equal(fixture_python(dir, check_mixed_page, path), 0);
  char *listing = NULL;
  assert_int_equal(fixture_command(&listing, "ls %s", dir), 0);
  assert_string_equal(listing, "check.py\nreport.html\n"); /* no temp file */
  free(listing);
  sink->close(sink);
  free(path);
  fixture_rmdir(dir);
  kiln_run_free(&run);
}

static const char check_passing_page[] = PY_PRELUDE
    "banner = by_id('verdict')\n"
    "assert banner.get('data-verdict') == 'PASS'\n"
    "assert banner.get('class') == 'banner b-PASS'\n"
    "assert 'PASS \\u2014 exit code 0' in text(banner), text(banner)\n"
    "assert not [e for e in root.iter(NS + 'div') if e.get('class') in\n"
    "            ('failure', 'problem')]\n"
    "assert any(text(p).startswith('No failures') for p in root.iter(NS + "
    "'p'))\n"
    "assert not list(plots(root))\n"
    "assert [r for r in by_id('timeline-svg').iter(SVG + 'rect')\n"
    "        if r.get('class') == 'step'], 'no timeline without telemetry'\n"
    "assert any(text(p).startswith('No telemetry series') for p in\n"
    "           root.iter(NS + 'p'))\n";

static void passing_run_page(void **state) {
  struct kiln_run run;
  fixture_passing_run(&run);
  char *dir = fixture_tmpdir();
  char *path = fixture_path(dir, "report.html");
  struct kiln_sink *sink = open_sink(path);
  assert_int_equal(fixture_replay(sink, &run), 0);
  assert_parses(path);
  assert_int_equal(fixture_python(dir, check_passing_page, path), 0);
  sink->close(sink);
  free(path);
  fixture_rmdir(dir);
  kiln_run_free(&run);
}

static const char check_running_page[] = PY_PRELUDE
    "banner = by_id('verdict')\n"
    "assert banner.get('data-verdict') == '', banner.attrib\n"
    "assert text(banner).startswith('NOT FINISHED'), text(banner)\n"
    "assert 'the node stopped here' in text(banner)\n"
    "problems = [text(e) for e in root.iter(NS + 'div') if e.get('class') "
    "== 'problem']\n"
    "assert problems == ['cpu.compute RUNNING started but not finished',\n"
    "                    'fans PENDING not run yet'], problems\n"
    "assert [s.get('data-series') for s in plots(root)] == [\n"
    "    'sensors/coretemp-isa-0000/temp1']\n";

/* Mid-run (and after a crash) the page says the run has not ended, names
 * the step that was running, and already plots the telemetry so far. */
static void unfinished_run_page(void **state) {
  struct kiln_run run;
  fixture_run_header(&run);
  kiln_run_add_step(&run, "cpu.compute", "cpu.compute", "host", 1);
  kiln_run_add_step(&run, "fans", "fans", "host", 1);
  struct kiln_step_result *s = &run.steps[0];
  char *dir = fixture_tmpdir();
  char *path = fixture_path(dir, "report.html");
  struct kiln_sink *sink = open_sink(path);
  assert_int_equal(sink->run_start(sink, &run), 0);
  assert_parses(path);
  s->state = KILN_STEP_RUNNING;
  s->start = FIXTURE_T0;
  feed_series(sink, &run, s, "sensors/coretemp-isa-0000/temp1", "Package", "C",
              temp_max, 10, FIXTURE_T0, temp_wave);
  assert_int_equal(sink->step_start(sink, &run, s), 0);
  assert_parses(path);
  assert_int_equal(fixture_python(dir, check_running_page, path), 0);
  sink->close(sink);
  free(path);
  fixture_rmdir(dir);
  kiln_run_free(&run);
}

/* Hostile strings read back the same through a strict XML parser and
 * through Python's HTML parser (as a browser would read them). */
static const char check_hostile[] = PY_PRELUDE
    "fields = {e.get('data-field'): unpicture(text(e)) for e in root.iter()\n"
    "          if e.get('data-field')}\n"
    "assert fields['serial'] == SERIAL, repr(fields['serial'])\n"
    "assert fields['hostname'] == 'node<&>\"\\'\\x7f', "
    "repr(fields['hostname'])\n"
    "gpu = [r for r in root.iter(NS + 'tr') if r.get('data-hw') ==\n"
    "       'gpu:0000:1b:00.0'][0]\n"
    "assert unpicture(text(gpu[3])) == SERIAL\n"
    "rows = [r for r in root.iter(NS + 'tr') if r.get('data-pass')]\n"
    "cells = [unpicture(text(td)) for td in rows[0]]\n"
    "assert cells[0] == LABEL and cells[1] == SERIAL, cells\n"
    "svg = plots(root)[0]\n"
    "bar = [r for r in by_id('timeline-svg').iter(SVG + 'rect')\n"
    "       if r.get('class') == 'step'][0]\n"
    "assert unpicture(bar.get('data-step')) == LABEL, bar.attrib\n"
    "assert unpicture(svg.get('data-series')) == 'id ' + SERIAL, "
    "svg.attrib\n"
    "assert unpicture(svg.get('aria-label')) == LABEL, svg.attrib\n"
    "caption = [unpicture(text(e)) for e in root.iter(NS + 'b')]\n"
    "assert LABEL in caption, caption\n"
    "assert any(unpicture(text(t)) == 'max 95 ' + SERIAL for t in\n"
    "           svg.iter(SVG + 'text'))\n"
    "assert unpicture(text(by_id('step-1').find(NS + 'h3'))).startswith(\n"
    "    '1. ' + LABEL), text(by_id('step-1'))\n"
    /* The same through html.parser. */
    "from html.parser import HTMLParser\n"
    "class Fields(HTMLParser):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.field, self.got, self.series = None, {}, []\n"
    "    def handle_starttag(self, tag, attrs):\n"
    "        a = dict(attrs)\n"
    "        self.field = a.get('data-field')\n"
    "        if tag == 'svg' and a.get('id') != 'timeline-svg':\n"
    "            self.series.append(unpicture(a['data-series']))\n"
    "    def handle_endtag(self, tag):\n"
    "        self.field = None\n"
    "    def handle_data(self, data):\n"
    "        if self.field:\n"
    "            self.got[self.field] = self.got.get(self.field, '') + data\n"
    "p = Fields()\n"
    "p.feed(open(sys.argv[1], encoding='utf-8').read())\n"
    "assert unpicture(p.got['serial']) == SERIAL, p.got\n"
    "assert p.series == ['id ' + SERIAL], p.series\n";

static double constant(size_t i) { return 42; }

static void hostile_strings_round_trip(void **state) {
  struct kiln_run run;
  fixture_run_header(&run);
  free(run.dut.hostname);
  run.dut.hostname = kiln_xstrdup("node<&>\"'\x7f");
  struct kiln_step_result *s =
      kiln_run_add_step(&run, FIXTURE_LABEL, "m<&>", "host", 1);
  s->start = FIXTURE_T0;
  const struct kiln_limit range = {.has_lo = true, .lo = 0};
  kiln_step_add_measurement(s, FIXTURE_LABEL, 1, "", &range, FIXTURE_SERIAL,
                            FIXTURE_T0);
  kiln_step_add_diagnosis(s, KILN_DIAG_FAIL, "x<y>", FIXTURE_SERIAL,
                          FIXTURE_SERIAL, FIXTURE_T0);
  kiln_step_add_log(s, KILN_SEV_INFO, "log \x1b[31m </td> &amp;", FIXTURE_T0);
  kiln_step_finish(s, KILN_SKIP, "tab\there\r\nunit \x1f <&> \"q\"",
                   FIXTURE_T0 + 1);
  run.finished = true;
  run.verdict = kiln_run_verdict(&run);
  char *dir = fixture_tmpdir();
  char *path = fixture_path(dir, "report.html");
  struct kiln_sink *sink = open_sink(path);
  assert_int_equal(sink->run_start(sink, &run), 0);
  feed_series(sink, &run, s, "id " FIXTURE_SERIAL, FIXTURE_LABEL,
              FIXTURE_SERIAL, temp_max, 5, FIXTURE_T0, constant);
  assert_int_equal(sink->run_end(sink, &run), 0);
  assert_parses(path);
  assert_int_equal(fixture_python(dir, check_hostile, path), 0);
  char *page = fixture_read_file(path);
  assert_no_control_bytes(page);
  assert_null(strstr(page, "<y>")); /* escaped, never markup */
  assert_null(strstr(page, "</td> &amp;"));
  free(page);
  sink->close(sink);
  free(path);
  fixture_rmdir(dir);
  kiln_run_free(&run);
}

/* ---- a long series ---- */

/* 50 C with one 90 C sample, and 2,000 unreadable samples (NaN). */
static double spike_with_gap(size_t i) {
  if (i == 54321)
    return 90;
  if (i >= 70000 && i < 72000)
    return NAN;
  return 50;
}

static const char check_long_series[] = PY_PRELUDE
    "svgs = list(plots(root))\n"
    "assert len(svgs) == 1\n"
    "paths = {p.get('class'): p.get('d') for p in svgs[0].iter(SVG + "
    "'path')}\n"
    "def points(d):\n"
    "    return [tuple(map(float, p.split(','))) for p in\n"
    "            re.findall(r'[-0-9.]+,[-0-9.]+', d)]\n"
    "mean, band = points(paths['mean']), points(paths['envelope'])\n"
    "assert 500 <= len(mean) <= 1024, len(mean)\n"
    /* The NaN run breaks the line: two pieces. */
    "assert paths['mean'].count('M') == 2, paths['mean'][:200]\n"
    /* The one-sample spike survives: the band's top reaches above the
     * rest at exactly one point, about 54% of the way along. */
    "top = min(y for x, y in band)\n"
    "peaks = [x for x, y in band if y == top]\n"
    "assert len(peaks) == 1, peaks\n"
    "xs = [x for x, y in mean]\n"
    "frac = (peaks[0] - xs[0]) / (xs[-1] - xs[0])\n"
    "assert abs(frac - 0.54321) < 0.01, frac\n"
    "caption = text(by_id('plot-1'))\n"
    "assert 'max 90' in caption and '100000 samples' in caption, caption\n";

static long file_size(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return (long)st.st_size;
}

static long page_with_series(const char *dir, size_t n) {
  struct kiln_run run;
  fixture_passing_run(&run);
  char *path = fixture_path(dir, "report.html");
  struct kiln_sink *sink = open_sink(path);
  feed_series(sink, &run, &run.steps[0], "sensors/coretemp-isa-0000/temp1",
              "Package id 0", "C", temp_max, n, FIXTURE_T0, spike_with_gap);
  assert_int_equal(fixture_replay(sink, &run), 0);
  long size = file_size(path);
  sink->close(sink);
  free(path);
  kiln_run_free(&run);
  return size;
}

static void long_series_stays_bounded(void **state) {
  char *dir = fixture_tmpdir();
  long bigger = page_with_series(dir, 1000000);
  long big = page_with_series(dir, 100000);
  char *path = fixture_path(dir, "report.html");
  assert_parses(path);
  assert_int_equal(fixture_python(dir, check_long_series, path), 0);
  /* 1,000 to 10,000 times the ~1,000 points a plot keeps: the page stays
   * under 80 kB (the samples alone, as text, would take megabytes). */
  if (big > 80000 || bigger > 80000)
    fail_msg("page of 100,000 samples: %ld bytes; of 1,000,000: %ld", big,
             bigger);
  free(path);
  fixture_rmdir(dir);
}

/* Readings a broken sensor might give: infinities, NaN, a value too big to
 * plot, a NaN limit, a sample with no time, a series with no finite value
 * at all. The page still parses and plots what it can. */
static double odd_value(size_t i) {
  static const double values[] = {INFINITY, -INFINITY, NAN, 1e308, 55, -40};
  return values[i % 6];
}
static double only_nan(size_t i) { return NAN; }

static const char check_odd_values[] = PY_PRELUDE
    "svgs = {s.get('data-series'): s for s in plots(root)}\n"
    "assert sorted(svgs) == ['blank', 'huge', 'odd'], sorted(svgs)\n"
    "msg = [text(t) for t in svgs['blank'].iter(SVG + 'text')]\n"
    "assert 'no plottable readings' in msg, msg\n"
    "assert 'no finite readings' in text(by_id('plot-2'))\n"
    "for s in svgs.values():\n"
    "    for e in s.iter():\n"
    "        for v in list(e.attrib.values()) + [e.text or '']:\n"
    "            assert not re.search(r'nan|inf|\\?', v.lower()), (e.tag, v)\n"
    "odd = [text(t) for t in svgs['odd'].iter(SVG + 'text')]\n"
    "assert odd[-1] == '\\u00b0C' and 'max' not in ' '.join(odd), odd\n"
    "assert '3000 samples' in text(by_id('plot-1')), text(by_id('plot-1'))\n";

static void odd_values_do_not_break_the_page(void **state) {
  struct kiln_run run;
  fixture_passing_run(&run);
  char *dir = fixture_tmpdir();
  char *path = fixture_path(dir, "report.html");
  struct kiln_sink *sink = open_sink(path);
  const struct kiln_step_result *step = &run.steps[0];
  const struct kiln_limit nan_limit = {.has_hi = true, .hi = NAN};
  feed_series(sink, &run, step, "odd", "odd", "C", nan_limit, 3000, FIXTURE_T0,
              odd_value);
  feed_series(sink, &run, step, "blank", "blank", "W", temp_max, 10, FIXTURE_T0,
              only_nan);
  struct kiln_series huge = {.id = "huge", .name = "huge", .unit = "V"};
  assert_int_equal(
      sink->series_element(sink, &run, step, &huge, 1e300, FIXTURE_T0 + 1), 0);
  assert_int_equal(sink->series_element(sink, &run, step, &huge, 1, NAN), 0);
  assert_int_equal(fixture_replay(sink, &run), 0);
  assert_parses(path);
  assert_int_equal(fixture_python(dir, check_odd_values, path), 0);
  sink->close(sink);
  free(path);
  fixture_rmdir(dir);
  kiln_run_free(&run);
}

/* ---- write errors ---- */

/* The temp file the sink writes (report.html.tmp.PID) is a link to
 * /dev/full: every write fails with ENOSPC, as on a full disk. */
static void full_disk_fails_cleanly(void **state) {
  struct kiln_run run;
  fixture_mixed_run(&run);
  char *dir = fixture_tmpdir();
  char *path = fixture_path(dir, "report.html");
  struct kiln_sink *sink = open_sink(path);
  assert_int_equal(sink->run_start(sink, &run), 0);
  char *before = fixture_read_file(path);
  assert_non_null(before);

  char *tmp = kiln_strdup_printf("%s.tmp.%ld", path, (long)getpid());
  assert_int_equal(symlink("/dev/full", tmp), 0);
  assert_int_equal(sink->run_end(sink, &run), -1);
  char *want = kiln_strdup_printf("%s: No space left on device", path);
  assert_string_equal(sink->err, want);
  struct stat st;
  assert_int_not_equal(lstat(tmp, &st), 0); /* the temp link is gone */
  char *after = fixture_read_file(path);
  assert_string_equal(after, before); /* the previous page stays */

  free(after);
  free(want);
  free(tmp);
  free(before);
  sink->close(sink);
  free(path);
  fixture_rmdir(dir);
  kiln_run_free(&run);
}

static void missing_dir_is_reported(void **state) {
  struct kiln_run run;
  fixture_passing_run(&run);
  struct kiln_sink *sink = open_sink("/nonexistent-kiln-dir/report.html");
  assert_int_equal(sink->run_end(sink, &run), -1);
  assert_non_null(strstr(sink->err, "/nonexistent-kiln-dir/report.html"));
  assert_non_null(strstr(sink->err, "No such file or directory"));
  sink->close(sink);
  char err[64] = "";
  assert_null(kiln_html_sink_open("", err, sizeof err));
  assert_string_equal(err, "report.html: no path given");
  kiln_run_free(&run);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(mixed_run_page),
      cmocka_unit_test(passing_run_page),
      cmocka_unit_test(unfinished_run_page),
      cmocka_unit_test(hostile_strings_round_trip),
      cmocka_unit_test(long_series_stays_bounded),
      cmocka_unit_test(odd_values_do_not_break_the_page),
      cmocka_unit_test(full_disk_fails_cleanly),
      cmocka_unit_test(missing_dir_is_reported),
  };
  return cmocka_run_group_tests_name("report_html", tests, NULL, NULL);
}
