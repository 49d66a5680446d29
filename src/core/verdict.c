#include "kiln/verdict.h"

#include <string.h>

static const char *const verdict_names[] = {
    [KILN_PASS] = "PASS",   [KILN_SKIP] = "SKIP",       [KILN_FAIL] = "FAIL",
    [KILN_ERROR] = "ERROR", [KILN_ABORTED] = "ABORTED",
};

static const char *const severity_names[] = {
    [KILN_SEV_DEBUG] = "DEBUG",     [KILN_SEV_INFO] = "INFO",
    [KILN_SEV_WARNING] = "WARNING", [KILN_SEV_ERROR] = "ERROR",
    [KILN_SEV_FATAL] = "FATAL",
};

const char *kiln_verdict_name(enum kiln_verdict v) {
  if ((unsigned)v < sizeof verdict_names / sizeof *verdict_names)
    return verdict_names[v];
  return "?";
}

bool kiln_verdict_parse(const char *s, enum kiln_verdict *out) {
  for (unsigned i = 0; i < sizeof verdict_names / sizeof *verdict_names; i++)
    if (s && strcmp(s, verdict_names[i]) == 0) {
      *out = (enum kiln_verdict)i;
      return true;
    }
  return false;
}

const char *kiln_severity_name(enum kiln_severity s) {
  if ((unsigned)s < sizeof severity_names / sizeof *severity_names)
    return severity_names[s];
  return "?";
}

bool kiln_severity_parse(const char *s, enum kiln_severity *out) {
  for (unsigned i = 0; i < sizeof severity_names / sizeof *severity_names; i++)
    if (s && strcmp(s, severity_names[i]) == 0) {
      *out = (enum kiln_severity)i;
      return true;
    }
  return false;
}

static int rank(enum kiln_verdict v) {
  switch (v) {
  case KILN_SKIP: return 0;
  case KILN_PASS: return 1;
  case KILN_ABORTED: return 2;
  case KILN_ERROR: return 3;
  case KILN_FAIL: return 4;
  }
  return 3;
}

enum kiln_verdict kiln_verdict_worse(enum kiln_verdict a, enum kiln_verdict b) {
  return rank(a) >= rank(b) ? a : b;
}

int kiln_verdict_exit_code(enum kiln_verdict v) {
  switch (v) {
  case KILN_PASS:
  case KILN_SKIP: return 0;
  case KILN_FAIL: return 1;
  case KILN_ERROR:
  case KILN_ABORTED: return 2;
  }
  return 2;
}
