/* Test helpers: run a module's step in-process and read back its events. */
#ifndef KILN_TEST_HARNESS_H
#define KILN_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

#include "config/profile.h"
#include "core/wire.h"

struct captured {
  struct kiln_wire_event *events;
  size_t n;
};

/* Runs `module` for `duration` seconds with params (NULL-terminated
 * key, value pairs) and faults (NULL-terminated), capturing every event. */
void harness_run_module(const char *module, double duration,
                        const char *const *params, const char *const *inject,
                        struct captured *out);
/* Runs the step cfg describes (any module, target and parameters) and
 * captures every event. */
struct kiln_step_config;
void harness_run_step(const struct kiln_step_config *cfg, struct captured *out);
void harness_free(struct captured *c);

/* The last END event's verdict, or -1 when there is none. */
int harness_end_verdict(const struct captured *c);
/* Number of FAIL diagnoses; the first one's message into msg when found. */
size_t harness_fail_diagnoses(const struct captured *c, char *msg, size_t n);
/* Number of FAIL diagnoses with symptom; the first one's message into msg
 * when found (msg may be NULL). */
size_t harness_fail_symptom(const struct captured *c, const char *symptom,
                            char *msg, size_t n);
/* Whether a LOG event's message contains needle. */
bool harness_logged(const struct captured *c, const char *needle);
/* The first measurement called name (and on hwid, when not NULL). */
const struct kiln_wire_event *harness_measurement(const struct captured *c,
                                                  const char *name,
                                                  const char *hwid);

/* The first running figure called name (and on hwid, when not NULL). */
const struct kiln_wire_event *
harness_running(const struct captured *c, const char *name, const char *hwid);

#endif
