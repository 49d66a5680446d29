/* The result model: run -> steps -> measurements, diagnoses, logs.
 * Only the parent process holds it; every sink is a view of it.
 * Layer: core (src/core/): uses no other layer. */
#ifndef KILN_RESULT_H
#define KILN_RESULT_H

#include <stddef.h>

#include "kiln/limits.h"
#include "kiln/verdict.h"

struct kiln_measurement {
  char *name;
  double value;
  char *unit; /* may be "" */
  struct kiln_limit limit;
  char *hwid;  /* hardware the value belongs to ("cpu3"), or "" */
  bool pass;   /* kiln_limit_ok(limit, value) */
  double time; /* wall clock, seconds since the epoch */
};

enum kiln_diag_type { KILN_DIAG_PASS, KILN_DIAG_FAIL, KILN_DIAG_UNKNOWN };

struct kiln_diagnosis {
  enum kiln_diag_type type;
  char *symptom; /* short machine word: "cpu-sdc", "dram-bitflip" */
  char *message; /* one line for people, names the hardware */
  char *hwid;    /* or "" */
  double time;
};

struct kiln_log {
  enum kiln_severity severity;
  char *message;
  double time;
};

enum kiln_step_state { KILN_STEP_PENDING, KILN_STEP_RUNNING, KILN_STEP_DONE };

/* A limit that applies to a step (from the profile, the GPU SKU or the
 * module's default), set before the step runs: a limit set on a
 * measurement the step never emits must not let it pass. */
struct kiln_step_limit {
  char *measurement;
  struct kiln_limit limit;
};

struct kiln_step_result {
  size_t index; /* position in the plan, 0-based */
  char *id;     /* "cpu.compute" or "gpu.query[0]" */
  char *module; /* "cpu.compute" */
  char *target; /* "host", or a GPU's bus id */
  int phase;
  enum kiln_step_state state;
  enum kiln_verdict verdict; /* meaningful once state is DONE */
  char *reason;              /* SKIP/ERROR/ABORTED reason, one line, or NULL */
  double start, end;         /* wall clock; 0 when not started/ended */
  double progress;           /* 0..1 */
  char *key_measurement;     /* name of the key figure, or NULL: the first */

  struct kiln_measurement *measurements;
  size_t n_measurements, cap_measurements;
  struct kiln_diagnosis *diagnoses;
  size_t n_diagnoses, cap_diagnoses;
  struct kiln_log *logs;
  size_t n_logs, cap_logs;
  struct kiln_step_limit *limits;
  size_t n_limits, cap_limits;
};

struct kiln_dut {
  char *serial; /* --serial, else DMI product serial, else hostname */
  char *hostname;
  char *vendor;                                 /* DMI sys_vendor, or "" */
  char *product;                                /* DMI product_name, or "" */
  char *board_serial;                           /* or "" */
  char *bios_vendor, *bios_version, *bios_date; /* or "" */
};

/* One part of the DUT's inventory, as reports list it (OCP hardwareInfo):
 * each GPU, populated DIMM, NIC, NVMe drive and CPU socket. */
struct kiln_hw_info {
  char *id;       /* unique in the run: "gpu:0000:1b:00.0", "dimm:CPU0_A1" */
  char *kind;     /* "GPU", "DIMM", "NIC", "NVME", "CPU" */
  char *name;     /* model */
  char *location; /* bus id, slot locator */
  char *serial, *part_number, *manufacturer, *version; /* or "" */
};

struct kiln_run {
  char *kiln_version;
  char *profile;        /* profile name ("quick") */
  char *profile_source; /* "built-in" or the file path */
  char *command_line;
  char *report_dir;
  char *sku;              /* the GPU SKU tested against ("h100-sxm5-80gb"), or
                             NULL */
  double planned_seconds; /* how long the plan should take; 0: unknown */
  struct kiln_dut dut;
  struct kiln_hw_info *hardware; /* the inventory taken at run start */
  size_t n_hardware;
  double start, end; /* wall clock */
  struct kiln_step_result *steps;
  size_t n_steps;
  enum kiln_verdict verdict; /* of the whole run, once finished */
  bool finished;
  char *abort_reason; /* "SIGTERM received", or NULL */
};

/* A measurement's value and its limit as people read them, both by the
 * figure rule (kiln_figure_text); where a value outside its limit would
 * read the same as the bound it crossed, both take more digits until they
 * differ: "89.9996 GB/s, limit x >= 90", never "90 GB/s, limit x >= 90".
 * limit: "" when none is set. */
void kiln_measurement_figures(const struct kiln_measurement *m, char *value,
                              size_t value_n, char *limit, size_t limit_n);
/* Model building (src/core/result.c). Strings are copied and made valid UTF-8;
 * functions abort() only on out-of-memory. */
void kiln_run_init(struct kiln_run *run);
void kiln_run_free(struct kiln_run *run);
/* Copies every string; NULL becomes "". */
void kiln_run_add_hardware(struct kiln_run *run, const struct kiln_hw_info *h);
struct kiln_step_result *kiln_run_add_step(struct kiln_run *run, const char *id,
                                           const char *module,
                                           const char *target, int phase);
struct kiln_measurement *
kiln_step_add_measurement(struct kiln_step_result *s, const char *name,
                          double value, const char *unit,
                          const struct kiln_limit *limit, const char *hwid,
                          double time);
struct kiln_diagnosis *kiln_step_add_diagnosis(struct kiln_step_result *s,
                                               enum kiln_diag_type type,
                                               const char *symptom,
                                               const char *message,
                                               const char *hwid, double time);
struct kiln_log *kiln_step_add_log(struct kiln_step_result *s,
                                   enum kiln_severity sev, const char *message,
                                   double time);
/* Sets the limit on measurement for the step, unless one is set already
 * (so the first source set wins: profile, then SKU, then the module's
 * default). Returns whether it was set. An unset limit (no bound) is
 * ignored. */
bool kiln_step_set_limit(struct kiln_step_result *s, const char *measurement,
                         const struct kiln_limit *limit);
/* The limit set on measurement, or NULL. */
const struct kiln_limit *kiln_step_limit(const struct kiln_step_result *s,
                                         const char *measurement);
/* Sets state DONE and the verdict from what the step reported: FAIL when a
 * FAIL diagnosis or an out-of-limit measurement exists, else `ended` (PASS,
 * SKIP, ERROR or ABORTED as the runner saw the child end).
 *
 * A limit set (kiln_step_set_limit) on a measurement the step never emitted
 * (on any hardware id) was not judged: a step that would PASS is an ERROR
 * whose reason says so for each such limit, "limit tflops_fp8.min = 400 set
 * but tflops_fp8 was not measured: <why>", the why being the step's last
 * log that names the measurement, else its last that says something was
 * "not measured", "not checked" or "not supported" (modules that cannot
 * measure something say so in a log naming it). A step that ends FAIL or
 * ERROR keeps its verdict and gets the same line as an ERROR log (added
 * after the logs it had: the caller publishes them); SKIP and ABORTED are
 * left alone (nothing was meant to be measured then). */
void kiln_step_finish(struct kiln_step_result *s, enum kiln_verdict ended,
                      const char *reason, double time);
/* Whether the step has found a failure so far: a FAIL diagnosis or a
 * measurement out of its limits. kiln_step_finish() then ends it FAIL
 * (unless it ends SKIP); the dashboard shows a running step that is
 * failing as FAIL before it ends. */
bool kiln_step_failing(const struct kiln_step_result *s);
/* Worst step verdict; PASS for a run of skips only. */
enum kiln_verdict kiln_run_verdict(const struct kiln_run *run);
size_t kiln_run_count(const struct kiln_run *run, enum kiln_verdict v);
/* Key figure of a step for tables: its first measurement, or NULL. */
const struct kiln_measurement *
kiln_step_key_measurement(const struct kiln_step_result *s);
/* First FAIL diagnosis or failing measurement, described in one line. */
void kiln_step_failure_text(const struct kiln_step_result *s, char *buf,
                            size_t n);

#endif
