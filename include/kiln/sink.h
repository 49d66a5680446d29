/* A sink consumes the run's event stream (reports, console, dashboard).
 * Each callback may be NULL. Return 0, or -1 with a message in err. A sink
 * that fails is reported once and switched off; the others go on. It still
 * gets run_end, to close its record with what it kept: a run_end that
 * returns 0 there says the sink's record is complete after all (a whole-file
 * report rewritten from the model), -1 that it stays incomplete.
 * Layer: core (src/core/): uses no other layer. */
#ifndef KILN_SINK_H
#define KILN_SINK_H

#include <stddef.h>

#include "kiln/result.h"

/* A telemetry time series (OCP measurementSeries), kept out of the result
 * model: a day of samples would not fit it. */
struct kiln_series {
  const char *id;   /* unique in the run: "sensors/nct6798-isa-0290/fan1" */
  const char *name; /* "SYS_FAN2 (nct6798-isa-0290/fan1)" */
  const char *unit; /* "RPM" */
  const char *hwid; /* the chip or DIMM, or "" */
  struct kiln_limit limit;
  size_t count; /* elements so far */
};

struct kiln_sink {
  const char *name; /* "ocp.jsonl", "junit.xml", "console" */
  void *state;
  int (*run_start)(struct kiln_sink *, const struct kiln_run *);
  int (*step_start)(struct kiln_sink *, const struct kiln_run *,
                    const struct kiln_step_result *);
  int (*measurement)(struct kiln_sink *, const struct kiln_run *,
                     const struct kiln_step_result *,
                     const struct kiln_measurement *);
  int (*diagnosis)(struct kiln_sink *, const struct kiln_run *,
                   const struct kiln_step_result *,
                   const struct kiln_diagnosis *);
  /* step is NULL for a run-level log line */
  int (*log)(struct kiln_sink *, const struct kiln_run *,
             const struct kiln_step_result *, const struct kiln_log *);
  int (*progress)(struct kiln_sink *, const struct kiln_run *,
                  const struct kiln_step_result *);
  /* Series belong to a step and end before it does. */
  int (*series_start)(struct kiln_sink *, const struct kiln_run *,
                      const struct kiln_step_result *,
                      const struct kiln_series *);
  int (*series_element)(struct kiln_sink *, const struct kiln_run *,
                        const struct kiln_step_result *,
                        const struct kiln_series *, double value, double time);
  int (*series_end)(struct kiln_sink *, const struct kiln_run *,
                    const struct kiln_step_result *,
                    const struct kiln_series *);
  int (*step_end)(struct kiln_sink *, const struct kiln_run *,
                  const struct kiln_step_result *);
  int (*run_end)(struct kiln_sink *, const struct kiln_run *);
  /* Called at least every 250 ms while steps run, for work due by time
   * (the OCP stream's fsync once a minute). */
  int (*tick)(struct kiln_sink *, const struct kiln_run *);
  void (*close)(struct kiln_sink *); /* frees state and the sink itself */
  char err[256];
};

#endif
