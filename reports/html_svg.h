/* report.html's telemetry: the series kept for the plots, and the section
 * that draws them (reports/ only, not a public API).
 *
 * Telemetry is not in the model: the HTML sink keeps, per series, a
 * bounded envelope (min, max, mean per bucket of consecutive samples, at
 * most 1024 buckets; when full, neighbours merge pairwise and a bucket then
 * holds twice as many samples). Memory and page size stay bounded whatever
 * the run length, a one-sample spike stays visible in the envelope, and
 * each element costs O(1) amortized. telemetry.csv keeps every sample. */
#ifndef KILN_HTML_SVG_H
#define KILN_HTML_SVG_H

#include <stddef.h>

#include "kiln/result.h"
#include "kiln/sink.h"
#include "report_xml.h"

struct html_plot; /* one series' envelope */

/* Every series seen, by id (zeroed: none yet). */
struct html_plots {
  struct html_plot *plots;
  size_t n_plots, cap_plots;
  size_t *table; /* open addressing on id: plot index + 1, 0 when empty */
  size_t table_cap;
};

/* A series starts (s: its step, or NULL): its plot is made, or, for the
 * same series again, its name, unit and limits updated and its data kept. */
void html_plots_start(struct html_plots *st, const struct kiln_series *se,
                      const struct kiln_step_result *s);
/* One sample of a series (a series with no start gets its plot here). */
void html_plots_add(struct html_plots *st, const struct kiln_series *se,
                    const struct kiln_step_result *s, double value,
                    double time);
void html_plots_free(struct html_plots *st);

/* The "Telemetry" section: one SVG plot per series with samples, grouped by
 * unit, on one time axis from the run start. */
void html_write_telemetry(struct xml_writer *x, const struct kiln_run *run,
                          const struct html_plots *st);

/* The "Timeline" section: one inline SVG with every step as a bar from its
 * start to its end (a step not started yet: a mark at the axis end), one
 * row per phase and a lane per step in it, the monitors' row "whole run"
 * first; each bar coloured by its verdict as the page's badges are, named,
 * with a tooltip. Drawn whatever telemetry there is. */
void html_write_timeline(struct xml_writer *x, const struct kiln_run *run);
/* A step verdict label's colour (PASS, FAIL, ..., PENDING, RUNNING): the
 * page's badge colours. */
const char *html_verdict_colour(const char *label);
/* "phase 3", or "whole run" for the monitors' phase, into buf. */
const char *html_phase_name(int phase, char *buf, size_t n);

/* A unit as people read it: "C" is degrees Celsius. */
const char *html_unit(const char *unit);

#endif
