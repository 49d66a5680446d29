/* The module API: what a stress test declares. Each module is one file
 * under stress/ ending in a `const struct kiln_module` descriptor, listed in
 * stress/registry.c. A module never prints: it emits through step.h.
 * Layer: core (src/core/): uses no other layer. */
#ifndef KILN_MODULE_H
#define KILN_MODULE_H

#include <math.h> /* INFINITY, for a range with no top */
#include <stdbool.h>
#include <stddef.h>

#include "kiln/limits.h"

struct kiln_step;
/* A monitor's parent side (include/kiln/monitor.h, the run layer): core
 * names them only. */
struct kiln_monitor;
struct kiln_monitor_series;
struct kiln_tel_reading;

enum kiln_target_kind {
  KILN_TARGETS_HOST, /* one step for the whole host */
  KILN_TARGETS_GPU,  /* one step per NVIDIA GPU on the PCI bus */
  /* A monitor: one step for the whole run, judged in the parent from
   * telemetry through its hook (kiln_module.monitor); it has no run(). A
   * profile lists monitors in `monitors =`, not in a phase. */
  KILN_TARGETS_MONITOR,
};

/* A key = value a profile or SKU file sets for a module, with its line. */
struct kiln_kv {
  char *key;
  char *value;
  int line;
};

/* A `<measurement>.min` / `.max` a profile or SKU file sets for a module,
 * with its line. */
struct kiln_profile_limit {
  char *measurement;
  struct kiln_limit limit;
  int line;
};

/* What a parameter's value is. Every value a profile or SKU file sets is
 * checked against its kind when the file is loaded (FILE:LINE, before any
 * step runs), by kiln_param_parse: the parser the step's getters use too
 * (kiln_step_param_long, ... in step.h). */
enum kiln_param_kind {
  KILN_PARAM_UNDECLARED, /* a table entry without a kind: a test refuses it */
  KILN_PARAM_INTEGER,    /* a decimal integer: "16384" */
  KILN_PARAM_NUMBER,     /* a decimal number: "92.5" */
  KILN_PARAM_SHARE,      /* "95%" or 0.95: in (0, 1], or (0, max] */
  KILN_PARAM_SIZE,       /* bytes: "512M", "2G", "1024", or "10%" of what the
                            module sizes against (MemAvailable) */
  KILN_PARAM_DURATION,   /* "5s", "1m" (kiln_duration_parse) */
  KILN_PARAM_BOOL,       /* yes/no, true/false, on/off, 1/0 */
  KILN_PARAM_WORD,       /* one of `words` */
  KILN_PARAM_WORDS,      /* one or more of `words`, comma- or blank-separated */
  KILN_PARAM_RPM,        /* a fan speed: "400" or "400rpm" */
};

struct kiln_param_spec {
  const char *name;
  const char *def; /* default value as the profile would spell it; "": unset */
  const char *help;
  /* Added last, so positional initializers of the three above still
   * compile. */
  enum kiln_param_kind kind;
  /* WORD and WORDS: the words allowed, "|"-separated ("auto|on|off"); other
   * kinds: words allowed instead of a value ("auto", "max"). Any case. */
  const char *words;
  /* The range (inclusive) of an INTEGER, NUMBER, SIZE (bytes), DURATION
   * (seconds) or RPM, and the top of a SHARE, when min < max (INFINITY for
   * no top). */
  double min, max;
};

/* A parsed value. */
struct kiln_param_value {
  bool is_word;  /* text was one of the spec's words: see word */
  char word[32]; /* that word as the spec spells it */
  double number; /* the value: an INTEGER, NUMBER, SHARE (0.95), SIZE
                    (bytes, or the share of the whole), DURATION (s),
                    BOOL (0 or 1), RPM */
  long integer;  /* INTEGER, exactly */
  bool of_whole; /* SIZE given as "10%": number is the share */
};

/* Parses text as p declares it. Returns 0, or -1 with what is wrong in why
 * ("is not a size (10%, 512M, 2G)", "is under the minimum of 2"), to follow
 * "name = 'text' ". */
int kiln_param_parse(const struct kiln_param_spec *p, const char *text,
                     struct kiln_param_value *out, char *why, size_t n);

/* A measurement the module emits. Profiles may set `<name>.min` and
 * `<name>.max` for it; limits on undeclared names are rejected. */
struct kiln_measurement_spec {
  const char *name;
  const char *unit;
  const char *help;
};

/* A limit that applies unless the profile or the GPU SKU sets one on the
 * measurement: for what the module itself knows the right bound of (a
 * vendor's published threshold), never a figure of one SKU. */
struct kiln_default_limit {
  const char *measurement;
  struct kiln_limit limit;
};

struct kiln_module {
  const char *name;    /* "cpu.compute" */
  const char *summary; /* one line */
  enum kiln_target_kind targets;
  /* Stress modules run for the step's duration (--duration applies);
   * others do a fixed amount of work and finish on their own. */
  bool stress;
  /* GPU steps of this module run one after another, not at once (they
   * share something: a PCIe switch's uplink, the host's memory). */
  bool one_at_a_time;
  const struct kiln_param_spec *params;             /* {NULL}-terminated */
  const struct kiln_measurement_spec *measurements; /* {NULL}-terminated */
  /* Default limits, {NULL}-terminated, or NULL. */
  const struct kiln_default_limit *default_limits;
  const char *const *faults; /* injectable faults it honours; NULL-terminated */
  /* What a GPU module (GPU targets, or a host step over the GPUs:
   * gpu.p2p) needs to drive a GPU: KILN_GPU_NEEDS_* of gpu_access.h; 0
   * for other modules. The parent checks it for each GPU before the run
   * (kiln_plan_check_gpus). */
  unsigned gpu_needs;
  /* The measurement tables show as the step's key figure; NULL: the first
   * one emitted. */
  const char *key_measurement;
  /* The module's probe: whether a step of it would run on this machine,
   * writing what it would use, or why not, into why: the very reason its
   * step gives, for its run() decides by the same function or helper, so
   * `kiln list` (which prints it) and a run cannot disagree. A why that
   * begins "ERROR: " or "FAIL: " is the verdict the step would end with
   * instead of SKIP. It reads the run's context (kiln_context(): the
   * station spec, --pci-dump), which kiln list sets as a run does. NULL
   * means always; a monitor's probe is its step started and ended by the
   * sampler (run/sampler.h's kiln_sampler_probe). Called in the parent:
   * must not initialise CUDA or anything else that does not survive
   * fork(). */
  bool (*available)(char *why, size_t n);
  /* Runs in the step's own child process (NULL for monitors). Return
   * normally when done;
   * kiln_step_skip()/kiln_step_error() first to end otherwise. */
  void (*run)(struct kiln_step *step);
  /* The telemetry sources (telemetry.h's names) a step opens itself in
   * its child, NULL-terminated, or NULL: fans reads "sensors" and "ipmi".
   * A monitor names its sources in its hook instead. */
  const char *const *telemetry_sources;
  /* Monitors (KILN_TARGETS_MONITOR) only: what the parent does for it. */
  const struct kiln_monitor_hook *monitor;
};

/* A monitor's behaviour, run in the parent by the telemetry sampler
 * (src/run/sampler.c), which finds monitors by this hook. The sampler opens
 * the sources every planned monitor names, samples them about once a
 * second, writes each reading to telemetry.csv and hands it to the monitor
 * that named its source; it feeds the watches the monitor chose, records a
 * diagnosis when one fires, and ends the step (include/kiln/monitor.h says
 * how). The functions get the monitor's handle, whose calls (parameters,
 * the station spec, measurements) are in include/kiln/monitor.h. */
struct kiln_monitor_hook {
  /* The telemetry sources it watches ("sensors", "edac": telemetry.h's
   * names), NULL-terminated; one not built in is left out. A source
   * belongs to the first monitor of the plan that names it. */
  const char *const *sources;
  /* Bytes of the monitor's own state, zeroed: kiln_monitor_state(). */
  size_t state_size;
  /* Before the run: reads its parameters and limits (kiln_monitor_limit).
   * Returns 0, or -1 with "FILE:LINE: ..." in err: a usage error. */
  int (*setup)(struct kiln_monitor *m, char *err, size_t n);
  /* On a series' first reading r: what the series is to the monitor (its
   * role, whether it is judged, the watch on it and the symptom when that
   * fires), into s (kiln_monitor_series; zeroed but for its names). */
  void (*watch)(struct kiln_monitor *m, const struct kiln_tel_reading *r,
                struct kiln_monitor_series *s);
  /* Optional (NULL): every reading of its series, the first too. */
  void (*reading)(struct kiln_monitor *m, const struct kiln_monitor_series *s,
                  double value);
  /* At the run's end: emits the step's measurements (kiln_monitor_measure)
   * and, when none of its judged series had a reading, writes why into
   * skip_why (the SKIP's reason). */
  void (*end)(struct kiln_monitor *m, char *skip_why, size_t n);
};

extern const struct kiln_module *const kiln_modules[]; /* NULL-terminated */
const struct kiln_module *kiln_module_find(const char *name);
const struct kiln_param_spec *kiln_module_param(const struct kiln_module *m,
                                                const char *name);
const struct kiln_measurement_spec *
kiln_module_measurement(const struct kiln_module *m, const char *name);
/* Whether a step of m reads telemetry source ("ipmi"): its own sources or
 * its monitor hook's (so --bmc is refused when no step would read it). */
bool kiln_module_reads_source(const struct kiln_module *m, const char *source);

#endif
