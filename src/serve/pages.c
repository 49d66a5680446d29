/* The line's pages: `/` (every DUT in progress, the shift's finished runs,
 * first-pass yield, outliers marked; live: it polls /api/v1/line every 2 s
 * and re-renders with DOM calls and textContent only), /api/v1/line (its
 * data), /runs/<id> (one run: steps, measurements with limits and their
 * judgement against the line, diagnoses, inventory, files) and
 * /serials/<serial> (every run of one DUT). No external scripts, fonts or
 * CDNs: a factory LAN has no internet.
 *
 * Every string from a DUT reaches a page through libxml2's writer
 * (reports/report_xml.h: escaped, control bytes as Control Pictures) or
 * through jansson's JSON, which the line page's script puts into the DOM
 * as text; the line page's markup itself holds no DUT string. */
#include <libxml/uri.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../reports/report_xml.h"
#include "kiln/textutil.h"
#include "serve/outliers.h"
#include "serve/serve_internal.h"

/* A DUT silent this long (no line received) may have hung or lost power. */
#define SILENT_AFTER_S 120.0
/* The shift, unless ?since= says otherwise. */
#define SHIFT_S (12 * 3600.0)

static json_t *real_or_null(double v) {
  return isfinite(v) ? json_real(v) : json_null();
}

static json_t *texts(char *const *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, serve_json_text(v[i]));
  return a;
}

/* ---- outliers ---- */

static json_t *outlier_json(const struct kiln_outlier *o) {
  json_t *j = json_object();
  json_object_set_new(j, "step", serve_json_text(o->step));
  json_object_set_new(j, "module", serve_json_text(o->module));
  json_object_set_new(j, "measurement", serve_json_text(o->name));
  json_object_set_new(j, "subcomponent", serve_json_text(o->subcomponent));
  json_object_set_new(j, "value", real_or_null(o->value));
  json_object_set_new(j, "unit", serve_json_text(o->unit));
  json_object_set_new(j, "median", real_or_null(o->j.median));
  json_object_set_new(j, "mad", real_or_null(o->j.mad));
  /* An infinite z (all siblings equal, this one not) is null in JSON. */
  json_object_set_new(j, "z", real_or_null(o->j.z));
  json_object_set_new(j, "siblings", json_integer((json_int_t)o->j.siblings));
  return j;
}

json_t *serve_outliers_json(struct serve_request *rq,
                            const struct kiln_store_run *run,
                            struct kiln_outlier_cache *cache) {
  struct kiln_outlier *o;
  size_t n;
  char err[512];
  json_t *a = json_array();
  if (kiln_outliers_of_run(rq->store, run, rq->opts->outlier_k, cache, &o, &n,
                           err, sizeof err) != 0)
    return a; /* the store failed: the page shows the rest */
  for (size_t i = 0; i < n; i++)
    if (o[i].j.state == KILN_OUTLIER_OUT)
      json_array_append_new(a, outlier_json(&o[i]));
  kiln_outliers_free(o, n);
  return a;
}

/* ---- /api/v1/line ---- */

static json_t *live_json(struct serve_request *rq,
                         const struct kiln_store_live *l, double now,
                         struct kiln_outlier_cache *cache) {
  json_t *j = serve_run_json(rq, &l->run, false);
  double started = serve_parse_time(l->run.started);
  double seen = serve_parse_time(l->run.last_seen);
  double elapsed = now - started;
  double planned = l->planned_seconds > 0 ? l->planned_seconds : NAN;
  double remaining = planned - elapsed;
  json_object_set_new(j, "elapsed_s", real_or_null(elapsed));
  json_object_set_new(j, "planned_s", real_or_null(planned));
  json_object_set_new(j, "remaining_s",
                      real_or_null(remaining < 0 ? 0 : remaining));
  double progress = elapsed / planned;
  json_object_set_new(j, "progress", real_or_null(progress > 1 ? 1 : progress));
  json_object_set_new(j, "steps_planned",
                      json_integer((json_int_t)l->n_planned));
  json_object_set_new(j, "steps_started",
                      json_integer((json_int_t)l->steps_started));
  json_object_set_new(j, "steps_ended",
                      json_integer((json_int_t)l->steps_ended));
  json_object_set_new(j, "running_steps",
                      texts(l->running_steps, l->n_running));
  json_object_set_new(j, "verdict_so_far", json_string(l->verdict_so_far));
  json_object_set_new(j, "last_event", serve_json_text(l->last_event));
  json_object_set_new(j, "last_event_time",
                      serve_json_text(l->last_event_time));
  json_object_set_new(j, "silent_s", real_or_null(now - seen));
  json_object_set_new(j, "silent", json_boolean(now - seen > SILENT_AFTER_S));
  json_object_set_new(j, "outliers", serve_outliers_json(rq, &l->run, cache));
  return j;
}

static json_t *finished_json(struct serve_request *rq,
                             const struct kiln_store_finished *f,
                             struct kiln_outlier_cache *cache) {
  json_t *j = serve_run_json(rq, &f->run, false);
  json_object_set_new(j, "failing_steps",
                      texts(f->failing_steps, f->n_failing));
  json_object_set_new(j, "first_diagnosis",
                      serve_json_text(f->first_diagnosis));
  json_object_set_new(j, "outliers", serve_outliers_json(rq, &f->run, cache));
  return j;
}

/* The line's data, or NULL after replying with the error. */
static json_t *line_json(struct serve_request *rq) {
  double now = kiln_now();
  char since[40], nowtext[40], err[512];
  const char *asked = serve_query(rq, "since");
  if (asked && isnan(serve_parse_time(asked))) {
    serve_reply_error(rq, 400,
                      "?since=%.60s: not a time like 2026-12-02T00:57:13.665Z",
                      asked);
    return NULL;
  }
  if (asked)
    snprintf(since, sizeof since, "%s", asked);
  else
    kiln_format_time(now - SHIFT_S, since, sizeof since);
  kiln_format_time(now, nowtext, sizeof nowtext);

  struct kiln_store_live *live = NULL;
  struct kiln_store_finished *done = NULL;
  struct kiln_store_yield *y = NULL;
  size_t nl = 0, nd = 0, ny = 0;
  if (kiln_store_live_runs(rq->store, &live, &nl, err, sizeof err) != 0 ||
      kiln_store_finished_runs(rq->store, since, &done, &nd, err, sizeof err) !=
          0 ||
      kiln_store_first_pass_yield(rq->store, since, &y, &ny, err, sizeof err) !=
          0) {
    serve_reply_store_failed(rq, err);
    kiln_store_live_free(live, nl);
    kiln_store_finished_free(done, nd);
    return NULL;
  }
  json_t *j = json_pack("{s:s, s:s, s:f, s:f}", "now", nowtext, "since", since,
                        "silent_after_s", SILENT_AFTER_S, "outlier_k",
                        rq->opts->outlier_k);
  struct kiln_outlier_cache *cache = kiln_outlier_cache_new();
  json_t *a = json_array();
  for (size_t i = 0; i < nl; i++)
    json_array_append_new(a, live_json(rq, &live[i], now, cache));
  json_object_set_new(j, "live", a);
  a = json_array();
  for (size_t i = 0; i < nd; i++)
    json_array_append_new(a, finished_json(rq, &done[i], cache));
  kiln_outlier_cache_free(cache);
  json_object_set_new(j, "finished", a);
  a = json_array();
  for (size_t i = 0; i < ny; i++)
    json_array_append_new(a, json_pack("{s:o, s:I, s:I}", "module",
                                       serve_json_text(y[i].module), "passed",
                                       (json_int_t)y[i].passed, "total",
                                       (json_int_t)y[i].total));
  json_object_set_new(j, "yield", a);
  kiln_store_live_free(live, nl);
  kiln_store_finished_free(done, nd);
  kiln_store_yield_free(y, ny);
  return j;
}

void serve_get_line(struct serve_request *rq) {
  json_t *j = line_json(rq);
  if (j)
    serve_reply_json(rq, 200, j);
}

/* ---- / ---- */

/* The line page: no DUT string in it; its script renders /api/v1/line's
 * JSON with createElement and textContent only. */
static const char line_page[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width\">"
    "<title>kiln line</title><style>\n"
    "body{font-family:system-ui,sans-serif;margin:0;color:#1f2328;"
    "font-size:14px}\n"
    "header{background:#24292f;color:#fff;padding:10px 20px;display:flex;"
    "gap:20px;align-items:baseline}\n"
    "header h1{margin:0;font-size:20px}#status{color:#d0d7de}"
    "#status.down{color:#ff8182;font-weight:600}\n"
    "main{padding:0 20px 20px}h2{border-bottom:1px solid #d0d7de;"
    "padding-bottom:4px;margin-top:22px;font-size:16px}\n"
    "table{border-collapse:collapse}th,td{border:1px solid #d0d7de;"
    "padding:3px 8px;text-align:left;vertical-align:top}th{background:#f6f8fa}"
    "\n.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    ".badge{display:inline-block;padding:1px 7px;border-radius:10px;"
    "color:#fff;font-weight:600;font-size:12px;background:#8c959f}\n"
    ".v-PASS{background:#1a7f37}.v-FAIL{background:#cf222e}"
    ".v-ERROR{background:#bc4c00}.v-ABORTED{background:#8250df}"
    ".v-SKIP{background:#6e7781}\n"
    "td{white-space:nowrap}td.wrap{white-space:normal;min-width:10em}\n"
    "tr.silent td{background:#fff8c5}.silent-mark{color:#9a6700;"
    "font-weight:600}\n"
    ".outlier{display:block;color:#8250df;font-weight:600}\n"
    ".bar{display:inline-block;width:90px;height:9px;background:#eaeef2;"
    "margin-right:6px}.bar span{display:block;height:9px;"
    "background:#0969da}\n"
    ".muted{color:#57606a}\n"
    "</style></head><body>\n"
    "<header><h1>kiln line</h1><span id=\"status\">loading</span></header>\n"
    "<main>\n"
    "<h2>In progress (<span id=\"live-count\">0</span>)</h2>\n"
    "<table id=\"live\"><thead><tr><th>serial</th><th>host</th>"
    "<th>SKU</th><th>profile</th><th>elapsed</th><th>remaining</th>"
    "<th>running steps</th><th>progress</th><th>verdict so far</th>"
    "<th>last event</th><th>outliers</th></tr></thead><tbody></tbody>"
    "</table>\n"
    "<h2>Finished this shift (<span id=\"finished-count\">0</span> since "
    "<span id=\"since\"></span>)</h2>\n"
    "<table id=\"finished\"><thead><tr><th>verdict</th><th>serial</th>"
    "<th>host</th><th>SKU</th><th>profile</th><th>ended</th>"
    "<th>failing steps</th><th>first diagnosis</th><th>outliers</th></tr>"
    "</thead><tbody></tbody></table>\n"
    "<h2>First-pass yield by module</h2>\n"
    "<table id=\"yield\"><thead><tr><th>module</th><th>passed</th>"
    "<th>of</th><th>yield</th></tr></thead><tbody></tbody></table>\n"
    "<p class=\"muted\">Outliers: a figure more than k robust deviations "
    "from the median of the same SKU's recent passing runs (the profile's "
    "where no SKU is known). Silent: no line for 2 minutes.</p>\n"
    "</main>\n"
    "<script>\n"
    "'use strict';\n"
    "(function () {\n"
    "  var since = new URLSearchParams(location.search).get('since');\n"
    "  var polls = 0;\n"
    "  function el(tag, text, cls) {\n"
    "    var e = document.createElement(tag);\n"
    "    if (text !== undefined && text !== null) e.textContent = "
    "String(text);\n"
    "    if (cls) e.className = cls;\n"
    "    return e;\n"
    "  }\n"
    "  function td(text, cls) { return el('td', text, cls); }\n"
    "  function link(href, text) {\n"
    "    var a = el('a', text);\n"
    "    a.setAttribute('href', href);\n"
    "    return a;\n"
    "  }\n"
    "  function dur(s) {\n"
    "    if (s === null || s === undefined) return '?';\n"
    "    s = Math.max(0, Math.round(s));\n"
    "    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);\n"
    "    return (h ? h + 'h ' : '') + (h || m ? m + 'm ' : '') + s % 60 + "
    "'s';\n"
    "  }\n"
    "  function num(v) {\n"
    "    return v === null ? '?' : Number(v.toPrecision(6)).toString();\n"
    "  }\n"
    "  function badge(v) {\n"
    "    var c = td();\n"
    "    c.appendChild(el('span', v || '?', 'badge v-' + (v || 'none')));\n"
    "    return c;\n"
    "  }\n"
    "  function serialCell(r) {\n"
    "    var c = td();\n"
    "    c.appendChild(link('/runs/' + encodeURIComponent(r.id),\n"
    "                       r.serial === null ? '(no serial)' : r.serial));\n"
    "    if (r.serial !== null) {\n"
    "      c.appendChild(document.createTextNode(' '));\n"
    "      c.appendChild(link('/serials/' + encodeURIComponent(r.serial),\n"
    "                         'all runs'));\n"
    "    }\n"
    "    return c;\n"
    "  }\n"
    "  function outlierCell(r) {\n"
    "    var c = td(null, 'wrap');\n"
    "    r.outliers.forEach(function (o) {\n"
    "      c.appendChild(el('span', 'outlier: ' + o.measurement +\n"
    "        (o.subcomponent ? ' (' + o.subcomponent + ')' : '') + ' ' +\n"
    "        num(o.value) + ' vs median ' + num(o.median) +\n"
    "        (o.z === null ? '' : ', z ' + o.z.toFixed(1)), 'outlier'));\n"
    "    });\n"
    "    return c;\n"
    "  }\n"
    "  function fill(id, rows) {\n"
    "    var body = document.querySelector('#' + id + ' tbody');\n"
    "    while (body.firstChild) body.removeChild(body.firstChild);\n"
    "    rows.forEach(function (tr) { body.appendChild(tr); });\n"
    "  }\n"
    "  function row(r, cls) {\n"
    "    var tr = el('tr', null, cls);\n"
    "    tr.setAttribute('data-run', r.id);\n"
    "    if (r.outliers.length) tr.classList.add('has-outlier');\n"
    "    return tr;\n"
    "  }\n"
    "  function liveRow(d, r) {\n"
    "    var tr = row(r, r.silent ? 'silent' : null);\n"
    "    tr.appendChild(serialCell(r));\n"
    "    tr.appendChild(td(r.host));\n"
    "    tr.appendChild(td(r.sku === null ? '-' : r.sku));\n"
    "    tr.appendChild(td(r.profile));\n"
    "    tr.appendChild(td(dur(r.elapsed_s), 'num'));\n"
    "    tr.appendChild(td(r.remaining_s === null ? '?' : "
    "dur(r.remaining_s), 'num'));\n"
    "    tr.appendChild(td(r.running_steps.join(', ')));\n"
    "    var p = td(), bar = el('span', null, 'bar'), fill = el('span');\n"
    "    var f = r.progress === null ? 0 : r.progress;\n"
    "    fill.style.width = Math.round(f * 100) + '%';\n"
    "    bar.appendChild(fill);\n"
    "    p.appendChild(bar);\n"
    "    p.appendChild(document.createTextNode(r.steps_ended + '/' +\n"
    "      r.steps_planned + ' steps'));\n"
    "    tr.appendChild(p);\n"
    "    tr.appendChild(badge(r.verdict_so_far));\n"
    "    var age = (Date.parse(d.now) - Date.parse(r.last_event_time)) / "
    "1000;\n"
    "    var ev = td((r.last_event || '?') +\n"
    "      (isNaN(age) ? '' : ', ' + dur(age) + ' ago'), 'wrap');\n"
    "    if (r.silent) {\n"
    "      ev.appendChild(el('span', ' silent ' + dur(r.silent_s),\n"
    "                        'silent-mark'));\n"
    "    }\n"
    "    tr.appendChild(ev);\n"
    "    tr.appendChild(outlierCell(r));\n"
    "    return tr;\n"
    "  }\n"
    "  function finishedRow(r) {\n"
    "    var tr = row(r, null);\n"
    "    tr.appendChild(badge(r.verdict));\n"
    "    tr.appendChild(serialCell(r));\n"
    "    tr.appendChild(td(r.host));\n"
    "    tr.appendChild(td(r.sku === null ? '-' : r.sku));\n"
    "    tr.appendChild(td(r.profile));\n"
    "    tr.appendChild(td(r.ended));\n"
    "    tr.appendChild(td(r.failing_steps.join(', ')));\n"
    "    tr.appendChild(td(r.first_diagnosis, 'wrap'));\n"
    "    tr.appendChild(outlierCell(r));\n"
    "    return tr;\n"
    "  }\n"
    "  function yieldRow(y) {\n"
    "    var tr = el('tr');\n"
    "    tr.appendChild(td(y.module));\n"
    "    tr.appendChild(td(y.passed, 'num'));\n"
    "    tr.appendChild(td(y.total, 'num'));\n"
    "    tr.appendChild(td(y.total ? (100 * y.passed / y.total).toFixed(1) +\n"
    "                      '%' : '?', 'num'));\n"
    "    return tr;\n"
    "  }\n"
    "  function status(text, down) {\n"
    "    var s = document.getElementById('status');\n"
    "    s.textContent = text;\n"
    "    s.className = down ? 'down' : '';\n"
    "  }\n"
    "  function render(d) {\n"
    "    fill('live', d.live.map(function (r) { return liveRow(d, r); }));\n"
    "    fill('finished', d.finished.map(finishedRow));\n"
    "    fill('yield', d.yield.map(yieldRow));\n"
    "    document.getElementById('live-count').textContent = d.live.length;\n"
    "    document.getElementById('finished-count').textContent =\n"
    "      d.finished.length;\n"
    "    document.getElementById('since').textContent = d.since;\n"
    "    polls++;\n"
    "    document.body.setAttribute('data-polls', String(polls));\n"
    "    status('updated ' + d.now);\n"
    "  }\n"
    "  function poll() {\n"
    "    fetch('/api/v1/line' + (since ? '?since=' + "
    "encodeURIComponent(since) : ''),\n"
    "          {cache: 'no-store'})\n"
    "      .then(function (r) {\n"
    "        if (!r.ok) throw new Error('HTTP ' + r.status);\n"
    "        return r.json();\n"
    "      })\n"
    "      .then(render)\n"
    "      .catch(function (e) {\n"
    "        status('cannot reach the line server: ' + e.message, true);\n"
    "      })\n"
    "      .then(function () { setTimeout(poll, 2000); });\n"
    "  }\n"
    "  poll();\n"
    "})();\n"
    "</script></body></html>\n";

void serve_get_line_page(struct serve_request *rq) {
  serve_reply(rq, 200, "text/html; charset=utf-8", line_page,
              sizeof line_page - 1);
}

/* ---- /runs/<id> and /serials/<serial>: written with libxml2 ---- */

static bool is_block(const char *element) {
  static const char *const blocks[] = {"html", "head", "title", "style",
                                       "meta", "body", "div",   "p",
                                       "h1",   "h2",   "table", "tr"};
  for (size_t i = 0; i < sizeof blocks / sizeof *blocks; i++)
    if (strcmp(element, blocks[i]) == 0)
      return true;
  return false;
}

/* No '<', '>' or '&': a <style> element's text is raw in HTML. */
static const char page_style[] =
    "body{font-family:system-ui,sans-serif;margin:0;color:#1f2328;"
    "font-size:14px}"
    ".top{background:#24292f;color:#fff;padding:10px 20px}"
    ".top a{color:#fff}.main{padding:0 20px 20px}"
    "h1{margin:0;font-size:20px}h2{border-bottom:1px solid #d0d7de;"
    "padding-bottom:4px;margin-top:22px;font-size:16px}"
    "table{border-collapse:collapse}th,td{border:1px solid #d0d7de;"
    "padding:3px 8px;text-align:left;vertical-align:top}th{background:#f6f8fa}"
    ".num{text-align:right;font-variant-numeric:tabular-nums}"
    ".badge{display:inline-block;padding:1px 7px;border-radius:10px;"
    "color:#fff;font-weight:600;font-size:12px;background:#8c959f}"
    ".v-PASS{background:#1a7f37}.v-FAIL{background:#cf222e}"
    ".v-ERROR{background:#bc4c00}.v-ABORTED{background:#8250df}"
    ".v-SKIP{background:#6e7781}"
    "tr.outlier td{background:#fbefff}.outlier{color:#8250df;"
    "font-weight:600}.muted{color:#57606a}";

static void page_open(struct xml_writer *x, const char *title) {
  xml_check(x, xmlTextWriterWriteDTD(x->w, BAD_CAST "html", NULL, NULL, NULL));
  xml_check(x, xmlTextWriterWriteRaw(x->w, BAD_CAST "\n"));
  xml_start(x, "html");
  xml_attr_raw(x, "lang", "en");
  xml_start(x, "head");
  xml_start(x, "meta");
  xml_attr_raw(x, "charset", "utf-8");
  xml_end(x);
  xml_element(x, "title", NULL, title);
  xml_element(x, "style", NULL, page_style);
  xml_end_full(x);
  xml_start(x, "body");
  xml_start(x, "div");
  xml_attr_raw(x, "class", "top");
  xml_start(x, "a");
  xml_attr_raw(x, "href", "/");
  xml_text(x, "kiln line");
  xml_end_full(x);
  xml_element(x, "h1", NULL, title);
  xml_end_full(x);
  xml_start(x, "div");
  xml_attr_raw(x, "class", "main");
}

static void page_close(struct xml_writer *x) {
  xml_end_full(x); /* main */
  xml_end_full(x); /* body */
  xml_end_full(x); /* html */
  if (!x->failed)
    xml_check(x, xmlTextWriterEndDocument(x->w));
}

static const char *or_dash(const char *s) { return s ? s : "-"; }

static void link_to(struct xml_writer *x, const char *href, const char *text) {
  xml_start(x, "a");
  xml_attr(x, "href", href);
  xml_text(x, text);
  xml_end_full(x);
}

/* /serials/<serial> for any serial: percent-encoded by libxml2. */
static void serial_link(struct xml_writer *x, const char *serial) {
  xmlChar *enc = xmlURIEscapeStr(BAD_CAST(serial ? serial : ""), BAD_CAST "");
  char *href = kiln_strdup_printf("/serials/%s", enc ? (char *)enc : "");
  link_to(x, href, serial ? serial : "(no serial)");
  free(href);
  xmlFree(enc);
}

static void badge(struct xml_writer *x, const char *verdict) {
  xml_start(x, "span");
  xml_attrf(x, "class", "badge v-%s",
            verdict && strspn(verdict, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") ==
                           strlen(verdict)
                ? verdict
                : "none");
  xml_text(x, verdict ? verdict : "in progress");
  xml_end_full(x);
}

static void header_row(struct xml_writer *x, const char *const *names) {
  xml_start(x, "tr");
  for (; *names; names++)
    xml_element(x, "th", NULL, *names);
  xml_end_full(x);
}

static void cell(struct xml_writer *x, const char *text, const char *cls) {
  xml_element(x, "td", cls, text ? text : "");
}

struct run_page {
  struct serve_request *rq;
  const struct kiln_store_run *run;
  struct kiln_outlier *outliers;
  size_t n_outliers;
  struct kiln_store_file *files;
  size_t n_files;
};

/* A table of one of the run's parsed tables, the columns chosen. */
struct rows_table {
  struct xml_writer *x;
  const char *const *columns; /* names in the store's row */
  const char *const *classes; /* per column, or NULL */
  size_t n;
};

static int rows_table_row(void *ctx, size_t ncols, const char *const *names,
                          const char *const *values) {
  struct rows_table *t = ctx;
  xml_start(t->x, "tr");
  for (size_t c = 0; c < t->n; c++) {
    const char *v = NULL;
    for (size_t i = 0; i < ncols; i++)
      if (strcmp(names[i], t->columns[c]) == 0)
        v = values[i];
    cell(t->x, v, t->classes ? t->classes[c] : NULL);
  }
  xml_end_full(t->x);
  return 0;
}

static void store_table(struct xml_writer *x, const struct run_page *p,
                        enum kiln_store_table which, const char *title,
                        const char *const *columns, const char *const *heads,
                        size_t n) {
  xml_element(x, "h2", NULL, title);
  xml_start(x, "table");
  header_row(x, heads);
  struct rows_table t = {.x = x, .columns = columns, .n = n};
  char err[512];
  if (kiln_store_rows(p->rq->store, p->run->id, which, rows_table_row, &t, err,
                      sizeof err) != 0) {
    xml_start(x, "tr");
    xml_element(x, "td", NULL, err);
    xml_end_full(x);
  }
  xml_end_full(x);
}

static void measurements_table(struct xml_writer *x, const struct run_page *p) {
  static const char *const heads[] = {
      "step",      "measurement", "subcomponent",     "value", "unit",
      "low limit", "high limit",  "against the line", NULL};
  xml_element(x, "h2", NULL, "Measurements");
  xml_start(x, "table");
  header_row(x, heads);
  /* kiln_outliers_of_run gives every measurement, in stream order. */
  for (size_t i = 0; i < p->n_outliers; i++) {
    const struct kiln_outlier *o = &p->outliers[i];
    bool out = o->j.state == KILN_OUTLIER_OUT;
    xml_start(x, "tr");
    if (out)
      xml_attr_raw(x, "class", "outlier");
    cell(x, o->step, NULL);
    cell(x, o->name, NULL);
    cell(x, o->subcomponent, NULL);
    xml_start(x, "td");
    xml_attr_raw(x, "class", "num");
    char value[48], lo[48] = "", hi[48] = "";
    kiln_figure_text(o->value, value, sizeof value);
    xml_text(x, value);
    xml_end_full(x);
    cell(x, o->unit, NULL);
    if (isfinite(o->lo))
      kiln_figure_text(o->lo, lo, sizeof lo);
    if (isfinite(o->hi))
      kiln_figure_text(o->hi, hi, sizeof hi);
    cell(x, lo, "num");
    cell(x, hi, "num");
    xml_start(x, "td");
    if (o->j.state == KILN_OUTLIER_TOO_FEW)
      xml_textf(x, "%s (%zu)", kiln_outlier_state_name(o->j.state),
                o->j.siblings);
    else {
      char median[48];
      kiln_figure_text(o->j.median, median, sizeof median);
      xml_textf(x, "%s: median %s of %zu, z %.2f",
                kiln_outlier_state_name(o->j.state), median, o->j.siblings,
                o->j.z);
    }
    xml_end_full(x);
    xml_end_full(x);
  }
  xml_end_full(x);
}

static void write_run_page(struct xml_writer *x, const void *ctx) {
  const struct run_page *p = ctx;
  const struct kiln_store_run *r = p->run;
  char *title = kiln_strdup_printf("run %s", r->id);
  page_open(x, title);
  free(title);
  xml_start(x, "p");
  badge(x, r->verdict);
  xml_text(x, " serial ");
  serial_link(x, r->serial);
  xml_textf(x, " \xc2\xb7 host %s \xc2\xb7 SKU %s \xc2\xb7 profile %s",
            or_dash(r->host), or_dash(r->sku), or_dash(r->profile));
  xml_end_full(x);
  xml_start(x, "p");
  xml_textf(x, "started %s \xc2\xb7 ended %s \xc2\xb7 exit code ",
            or_dash(r->started), or_dash(r->ended));
  if (r->exit_code >= 0)
    xml_textf(x, "%d", r->exit_code);
  else
    xml_text(x, "-");
  xml_textf(x, " \xc2\xb7 %lld OCP lines, last received %s",
            (long long)r->ocp_lines, or_dash(r->last_seen));
  xml_end_full(x);

  size_t n_out = 0;
  for (size_t i = 0; i < p->n_outliers; i++)
    n_out += p->outliers[i].j.state == KILN_OUTLIER_OUT;
  if (n_out) {
    xml_start(x, "p");
    xml_attr_raw(x, "class", "outlier");
    xml_textf(x, "%zu outlier%s against the line (k %.2g): marked below", n_out,
              n_out == 1 ? "" : "s", p->rq->opts->outlier_k);
    xml_end_full(x);
  }

  xml_element(x, "h2", NULL, "Files");
  xml_start(x, "p");
  char *href = kiln_strdup_printf("/api/v1/runs/%s/ocp.jsonl", r->id);
  link_to(x, href, "ocp.jsonl");
  free(href);
  for (size_t i = 0; i < p->n_files; i++) {
    xml_text(x, " \xc2\xb7 ");
    href =
        kiln_strdup_printf("/api/v1/runs/%s/files/%s", r->id, p->files[i].name);
    link_to(x, href, p->files[i].name);
    free(href);
  }
  xml_text(x, " \xc2\xb7 ");
  href = kiln_strdup_printf("/api/v1/runs/%s", r->id);
  link_to(x, href, "JSON");
  free(href);
  xml_end_full(x);

  static const char *const step_cols[] = {"name", "status", "started", "ended"};
  static const char *const step_heads[] = {"step", "status", "started", "ended",
                                           NULL};
  store_table(x, p, KILN_STORE_STEPS, "Steps", step_cols, step_heads, 4);
  measurements_table(x, p);
  static const char *const diag_cols[] = {"step_id", "type", "verdict",
                                          "subcomponent", "message"};
  static const char *const diag_heads[] = {"step id",      "type",    "symptom",
                                           "subcomponent", "message", NULL};
  store_table(x, p, KILN_STORE_DIAGNOSES, "Diagnoses", diag_cols, diag_heads,
              5);
  static const char *const inv_cols[] = {
      "hw_id", "part_type", "name", "location", "serial_number", "part_number"};
  static const char *const inv_heads[] = {
      "id", "type", "name", "location", "serial", "part number", NULL};
  store_table(x, p, KILN_STORE_INVENTORY, "Inventory", inv_cols, inv_heads, 6);
  page_close(x);
}

static void reply_page(struct serve_request *rq,
                       void (*write_doc)(struct xml_writer *x, const void *ctx),
                       const void *ctx) {
  static const struct xml_style style = {.line_after = is_block};
  char *html;
  size_t len;
  char err[256];
  if (xml_write_memory(&style, write_doc, ctx, &html, &len, err, sizeof err) !=
      0) {
    serve_reply_error(rq, 500, "%s", err);
    return;
  }
  serve_reply_owned(rq, 200, "text/html; charset=utf-8", html, len);
}

void serve_get_run_page(struct serve_request *rq) {
  struct kiln_store_run run;
  char err[512];
  int rc = kiln_store_run_get(rq->store, rq->arg[0], &run, err, sizeof err);
  if (rc != 0) {
    if (rc < 0)
      serve_reply_store_failed(rq, err);
    else
      serve_reply_error(rq, 404, "no run %s", rq->arg[0]);
    return;
  }
  struct run_page p = {.rq = rq, .run = &run};
  if (kiln_outliers_of_run(rq->store, &run, rq->opts->outlier_k, NULL,
                           &p.outliers, &p.n_outliers, err, sizeof err) != 0 ||
      kiln_store_files(rq->store, run.id, &p.files, &p.n_files, err,
                       sizeof err) != 0)
    serve_reply_store_failed(rq, err);
  else
    reply_page(rq, write_run_page, &p);
  kiln_outliers_free(p.outliers, p.n_outliers);
  kiln_store_files_free(p.files, p.n_files);
  kiln_store_run_clear(&run);
}

struct serial_page {
  const char *serial;
  const struct kiln_store_run *runs;
  size_t n;
};

static void write_serial_page(struct xml_writer *x, const void *ctx) {
  const struct serial_page *p = ctx;
  char *title = kiln_strdup_printf("serial %s", p->serial);
  page_open(x, title);
  free(title);
  xml_start(x, "p");
  xml_textf(x, "%zu run%s, newest first", p->n, p->n == 1 ? "" : "s");
  xml_end_full(x);
  static const char *const heads[] = {"verdict", "run",     "started", "ended",
                                      "host",    "profile", "SKU",     NULL};
  xml_start(x, "table");
  header_row(x, heads);
  for (size_t i = 0; i < p->n; i++) {
    const struct kiln_store_run *r = &p->runs[i];
    xml_start(x, "tr");
    xml_attr(x, "data-run", r->id);
    xml_start(x, "td");
    badge(x, r->verdict);
    xml_end_full(x);
    xml_start(x, "td");
    char *href = kiln_strdup_printf("/runs/%s", r->id);
    link_to(x, href, r->id);
    free(href);
    xml_end_full(x);
    cell(x, r->started, NULL);
    cell(x, r->ended, NULL);
    cell(x, r->host, NULL);
    cell(x, r->profile, NULL);
    cell(x, r->sku, NULL);
    xml_end_full(x);
  }
  xml_end_full(x);
  page_close(x);
}

void serve_get_serial_page(struct serve_request *rq) {
  struct kiln_store_filter f = {.serial = rq->arg[0]};
  struct kiln_store_run *runs;
  size_t n;
  char err[512];
  if (kiln_store_runs(rq->store, &f, &runs, &n, err, sizeof err) != 0) {
    serve_reply_store_failed(rq, err);
    return;
  }
  if (n == 0) {
    serve_reply_error(rq, 404, "no run of serial %s", rq->arg[0]);
  } else {
    struct serial_page p = {.serial = rq->arg[0], .runs = runs, .n = n};
    reply_page(rq, write_serial_page, &p);
  }
  kiln_store_runs_free(runs, n);
}
