/* Profiles: INI files naming modules, durations, parameters and limits
 * (the syntax, and its errors, of the one INI reader: config/ini.h). */
#ifndef KILN_PROFILE_H
#define KILN_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/duration.h"
#include "kiln/limits.h"
#include "kiln/module.h"

/* The phase a monitor is given: after every real phase, so plan order
 * (and so report order) lists monitors last. */
#define KILN_MONITOR_PHASE 1000

struct kiln_profile_module {
  char *name; /* section name: the module */
  int line;
  int phase;       /* default 1 */
  double duration; /* seconds; < 0: the profile's default */
  struct kiln_kv *params;
  size_t n_params;
  struct kiln_profile_limit *limits;
  size_t n_limits;
};

struct kiln_profile {
  char *name;
  char *description;
  char *source;        /* file path, or "built-in" */
  char *spec;          /* station spec file (resolved), or NULL */
  double duration;     /* default stress duration, seconds */
  double grace;        /* watchdog grace past the duration, seconds */
  double hang_timeout; /* watchdog: seconds without progress */
  double stagger;      /* seconds between a phase's GPU step starts */
  /* GPUs in MIG mode may be tested (else each of their steps is an
   * ERROR: a MIG GPU shows CUDA slices, not the whole GPU). */
  bool mig_allowed;
  /* Seconds between a stress step's running figures (kiln_emit_running). */
  double publish_every;
  struct kiln_profile_module *modules;
  size_t n_modules;
};

/* NAME (a built-in profile) or FILE (a path, or a name ending in .ini).
 * Returns 0, or -1 with "FILE:LINE: what" in err. */
int kiln_profile_load(const char *name_or_path, struct kiln_profile *out,
                      char *err, size_t n);
/* Parses text; `source` names it in errors. Checks module names,
 * parameters and limits against the module registry. */
int kiln_profile_parse(const char *text, const char *source,
                       struct kiln_profile *out, char *err, size_t n);
void kiln_profile_free(struct kiln_profile *p);
/* A key of a SKU file's own section: 0, or -1 with the reason in err. */
typedef int kiln_profile_header_fn(void *ctx, const char *key,
                                   const char *value, char *err, size_t n);
/* Module sections only, as a SKU file has them (any module, no phases, no
 * duration), into out->modules; the keys of [header] go to header_key.
 * Same errors as above. */
int kiln_profile_parse_modules(const char *text, const char *source,
                               const char *header,
                               kiln_profile_header_fn *header_key, void *ctx,
                               struct kiln_profile *out, char *err, size_t n);

/* Built-in profiles compiled from the profiles/ directory; NULL-terminated
 * names. */
extern const char *const kiln_builtin_profile_names[];
const char *kiln_builtin_profile(const char *name);

/* The accepted ranges, so a value cannot make a test that tests nothing
 * (a 0 s stress step passes in no time) or a watchdog that fires at once. */
#define KILN_STEP_DURATION_MIN 1.0 /* a step's duration: 1s..7d */
#define KILN_GRACE_MIN 1.0         /* watchdog grace past it: 1s..7d */
#define KILN_HANG_TIMEOUT_MIN 1.0  /* without progress: 1s..7d */

#endif
