/* What a module's run function can see and emit. Everything here is used
 * in the step's child process; emitting is thread-safe.
 * Layer: core (src/core/): uses no other layer. */
#ifndef KILN_STEP_H
#define KILN_STEP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "kiln/module.h"
#include "kiln/verdict.h"

struct kiln_step;

const char *kiln_step_id(const struct kiln_step *s);     /* "cpu.compute" */
const char *kiln_step_target(const struct kiln_step *s); /* "host", bus id */
int kiln_step_target_index(const struct kiln_step *s);   /* GPU ordinal */

/* Seconds this step should run for (stress modules), from the profile or
 * --duration. */
double kiln_step_duration(const struct kiln_step *s);
/* Monotonic deadline (kiln_monotonic_now() + duration at step start). */
double kiln_step_deadline(const struct kiln_step *s);
bool kiln_step_time_left(const struct kiln_step *s);

/* A parameter as text: the profile's value, else the module's default. */
const char *kiln_step_param(const struct kiln_step *s, const char *name);
/* Parsed as the module's table declares it (module.h: kiln_param_parse,
 * the parser the profile loader checks with), words such as "auto" kept as
 * words. On a malformed value the step ends as ERROR naming the parameter
 * and false is returned; the module should then return. */
bool kiln_step_param_value(struct kiln_step *s, const char *name,
                           struct kiln_param_value *out);
/* The same for a parameter of one kind (INTEGER, NUMBER, SHARE, SIZE),
 * as a number; a word is an error here. */
bool kiln_step_param_long(struct kiln_step *s, const char *name, long *out);
bool kiln_step_param_double(struct kiln_step *s, const char *name, double *out);
/* A DURATION parameter in seconds ("2s", "1m"), in its declared range. */
bool kiln_step_param_seconds(struct kiln_step *s, const char *name,
                             double *out);
/* A share of something in (0, 1]: "95%" or 0.95. */
bool kiln_step_param_share(struct kiln_step *s, const char *name, double *out);
/* "10%" of `whole`, or a size "512M", "2G", "1024" (bytes). */
bool kiln_step_param_bytes(struct kiln_step *s, const char *name,
                           uint64_t whole, uint64_t *out);

/* True when this run was asked to inject `fault` (e.g. "cpu.sdc") into
 * this step. Modules honour only the faults they declare. */
bool kiln_step_inject(const struct kiln_step *s, const char *fault);

/* Emitters. hwid names the hardware ("cpu3", "0000:1b:00.0"), or NULL. The
 * unit comes from the module's measurement spec; limits from the profile. */
void kiln_emit_measurement(struct kiln_step *s, const char *name, double value,
                           const char *hwid);
/* A running figure: the module's current value of one of its measurements
 * (say the bandwidth of the last pass, or the errors so far), so a node
 * that dies mid-step leaves its evidence. Call it whenever the figure is
 * known, each pass of the loop (as often as progress, at least every few
 * seconds): it is published at the first call, then about every
 * publish_every (the profile's, 30 s by default) and never later than that
 * while the calls keep coming; the calls between cost a lock. The reports
 * show each figure as an OCP measurement series of the step. Interim: never
 * judged against limits; the final kiln_emit_measurement() is. */
void kiln_emit_running(struct kiln_step *s, const char *name, double value,
                       const char *hwid);
/* Seconds between publications where the profile sets no publish_every. */
#define KILN_PUBLISH_EVERY_DEFAULT 30.0
/* A diagnosis: KILN_DIAG_FAIL fails the step. symptom is a short word
 * ("cpu-sdc"); the message names the hardware, expected and actual. */
void kiln_emit_diagnosis(struct kiln_step *s, int diag_type,
                         const char *symptom, const char *hwid, const char *fmt,
                         ...) __attribute__((format(printf, 5, 6)));
void kiln_emit_log(struct kiln_step *s, enum kiln_severity sev, const char *fmt,
                   ...) __attribute__((format(printf, 3, 4)));
/* Progress 0..1; also the watchdog's heartbeat: emit at least every few
 * seconds, or the step is ended as hung. */
void kiln_emit_progress(struct kiln_step *s, double fraction);
/* End the step as SKIP or ERROR with a one-line reason. */
void kiln_step_skip(struct kiln_step *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void kiln_step_error(struct kiln_step *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
bool kiln_step_ended(const struct kiln_step *s); /* skip/error was called */

#endif
