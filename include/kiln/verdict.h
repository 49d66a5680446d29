/* Verdicts and severities shared by the whole result model.
 * Layer: core (src/core/): uses no other layer. */
#ifndef KILN_VERDICT_H
#define KILN_VERDICT_H

#include <stdbool.h>

/* Order matters only for display; use kiln_verdict_worse() to combine. */
enum kiln_verdict {
  KILN_PASS,
  KILN_SKIP,    /* does not apply here; always carries a reason */
  KILN_FAIL,    /* the hardware does not conform */
  KILN_ERROR,   /* kiln or the environment failed: retest */
  KILN_ABORTED, /* stopped by the operator or a signal */
};

enum kiln_severity {
  KILN_SEV_DEBUG,
  KILN_SEV_INFO,
  KILN_SEV_WARNING,
  KILN_SEV_ERROR,
  KILN_SEV_FATAL,
};

const char *kiln_verdict_name(enum kiln_verdict v); /* "PASS", ... */
bool kiln_verdict_parse(const char *s, enum kiln_verdict *out);
const char *kiln_severity_name(enum kiln_severity s); /* "INFO", ... */
bool kiln_severity_parse(const char *s, enum kiln_severity *out);

/* Combines two verdicts of one run: FAIL beats ERROR beats ABORTED beats
 * PASS beats SKIP, so a run with any FAIL exits 1 even when aborted. */
enum kiln_verdict kiln_verdict_worse(enum kiln_verdict a, enum kiln_verdict b);

/* kiln run's exit code for a run verdict: 0, 1 or 2. */
int kiln_verdict_exit_code(enum kiln_verdict v);

#endif
