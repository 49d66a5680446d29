/* Events a step's child process sends to the parent: one JSON object per
 * line over a pipe. The parent is the only writer of output. */
#ifndef KILN_WIRE_H
#define KILN_WIRE_H

#include <stddef.h>

#include "kiln/verdict.h"

enum kiln_wire_type {
  KILN_WIRE_MEASUREMENT,
  KILN_WIRE_DIAGNOSIS,
  KILN_WIRE_LOG,
  KILN_WIRE_PROGRESS,
  KILN_WIRE_END, /* the child's last word: PASS ("complete"), SKIP or ERROR */
  /* A running figure (kiln_emit_running): name, value, unit, hwid, as a
   * measurement, but interim: recorded, never judged. */
  KILN_WIRE_RUNNING,
};

struct kiln_wire_event {
  enum kiln_wire_type type;
  double time;                 /* wall clock */
  char *name;                  /* measurement, running */
  double value;                /* measurement or running value, progress */
  char *unit;                  /* measurement, running */
  char *hwid;                  /* measurement, running, diagnosis */
  int diag_type;               /* enum kiln_diag_type */
  char *symptom;               /* diagnosis */
  char *message;               /* diagnosis, log, end reason */
  enum kiln_severity severity; /* log */
  enum kiln_verdict verdict;   /* end */
};

/* malloc'd line ending in '\n', or NULL on out-of-memory. */
char *kiln_wire_encode(const struct kiln_wire_event *ev);
/* Parses one line (without or with its '\n'). Returns 0, or -1 with a
 * reason in err. Strings in out are malloc'd: kiln_wire_event_clear(). */
int kiln_wire_decode(const char *line, struct kiln_wire_event *out, char *err,
                     size_t n);
void kiln_wire_event_clear(struct kiln_wire_event *ev);

#endif
