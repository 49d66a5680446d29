/* Synthetic OCP runs for the line server's tests (see line_runs.h). */
#include "line_runs.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kiln/textutil.h"

/* started ("YYYY-MM-DDTHH:MM:SS.mmmZ") plus s seconds, within its day. */
static char *later(const char *started, int s) {
  int y, mo, d, h, mi, sec, ms;
  if (sscanf(started, "%d-%d-%dT%d:%d:%d.%dZ", &y, &mo, &d, &h, &mi, &sec,
             &ms) != 7)
    fail_msg("bad start time %s", started);
  sec += s;
  mi += sec / 60;
  sec %= 60;
  h += mi / 60;
  mi %= 60;
  return kiln_strdup_printf("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d, h,
                            mi, sec, ms);
}

static void push(char ***lines, size_t *n, const struct line_run *r,
                 json_t *record) {
  char *ts = later(r->started, (int)*n);
  json_object_set_new(record, "sequenceNumber", json_integer((json_int_t)*n));
  json_object_set_new(record, "timestamp", json_string(ts));
  free(ts);
  *lines = kiln_xrealloc(*lines, (*n + 1) * sizeof **lines);
  (*lines)[(*n)++] = json_dumps(record, JSON_COMPACT);
  json_decref(record);
}

char **line_run_lines(const struct line_run *r, size_t *n) {
  const char *step = r->step ? r->step : "gpu.membw[0]";
  char **lines = NULL;
  *n = 0;
  push(&lines, n, r,
       json_pack("{s:{s:i, s:i}}", "schemaVersion", "major", 2, "minor", 0));
  json_t *params = json_pack("{s:s, s:[s], s:f}", "profile",
                             r->profile ? r->profile : "line", "plannedSteps",
                             step, "plannedSeconds", 600.0);
  if (r->sku)
    json_object_set_new(params, "sku", json_string(r->sku));
  push(&lines, n, r,
       json_pack("{s:{s:{s:s, s:s, s:s, s:o, s:{s:s, s:s, s:{s:s}}}}}",
                 "testRunArtifact", "testRunStart", "name", "kiln", "version",
                 "0.1.0", "commandLine", "kiln run", "parameters", params,
                 "dutInfo", "dutInfoId", r->serial, "name",
                 r->host ? r->host : "node", "metadata", "serial", r->serial));
  push(&lines, n, r,
       json_pack("{s:{s:s, s:{s:s}}}", "testStepArtifact", "testStepId", "0",
                 "testStepStart", "name", step));
  push(&lines, n, r,
       json_pack("{s:{s:s, s:{s:s, s:f, s:s, s:[{s:s, s:s, s:f}], s:{s:s}}}}",
                 "testStepArtifact", "testStepId", "0", "measurement", "name",
                 r->measurement ? r->measurement : "bandwidth_gbps", "value",
                 r->value, "unit", "GB/s", "validators", "name", "lo", "type",
                 "GREATER_THAN_OR_EQUAL", "value", 3000.0, "subcomponent",
                 "name", "gpu0"));
  if (r->fail)
    push(&lines, n, r,
         json_pack("{s:{s:s, s:{s:s, s:s, s:s}}}", "testStepArtifact",
                   "testStepId", "0", "diagnosis", "verdict", "hbm-low", "type",
                   "FAIL", "message", r->fail));
  if (r->open)
    return lines;
  push(&lines, n, r,
       json_pack("{s:{s:s, s:{s:s}}}", "testStepArtifact", "testStepId", "0",
                 "testStepEnd", "status", "COMPLETE"));
  push(&lines, n, r,
       json_pack("{s:{s:{s:s, s:s}}}", "testRunArtifact", "testRunEnd",
                 "status", "COMPLETE", "result", r->fail ? "FAIL" : "PASS"));
  return lines;
}

void line_run_lines_free(char **lines, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(lines[i]);
  free(lines);
}

void line_run_store(struct kiln_store *st, const struct line_run *r) {
  size_t n;
  char **lines = line_run_lines(r, &n);
  struct kiln_store_ack ack;
  char err[512];
  int rc = kiln_store_append(st, r->id, 0, (const char *const *)lines, n, &ack,
                             err, sizeof err);
  line_run_lines_free(lines, n);
  if (rc != 0)
    fail_msg("store run %s: %s", r->id, err);
}
