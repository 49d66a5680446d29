/* Test helpers for the report writers: result models with one step of
 * every kind, a replay of a model into a sink, and runners for the real
 * validators (ocp-validate, xmllint, junitparser, python3-yaml, prove). */
#ifndef KILN_TEST_REPORT_FIXTURE_H
#define KILN_TEST_REPORT_FIXTURE_H

#include <stdbool.h>

#include "kiln/result.h"
#include "kiln/sink.h"
#include "shared_fixture.h"

/* Hostile strings every format must carry intact: XML specials, quotes, a
 * control byte and an invalid UTF-8 byte (read back as U+FFFD). */
#define FIXTURE_SERIAL "A<&>\"'B\x01\xff"
#define FIXTURE_LABEL "label # with\nnewline"
/* The same two as Python sees them once decoded, for the check scripts. */
#define FIXTURE_PY_EXPECTED                                                    \
  "SERIAL = 'A<&>\"\\'B\\x01\\ufffd'\n"                                        \
  "LABEL = 'label # with\\nnewline'\n"

#define FIXTURE_T0 1800000000.0 /* 2027-01-15T08:00:00Z */

/* Steps, in plan order:
 *   1 cpu.compute     PASS (and a measurement named FIXTURE_LABEL on
 *                     hwid FIXTURE_SERIAL)
 *   2 dram.pattern    FAIL by a FAIL diagnosis (dram-bitflip)
 *   3 gpu.membw[0]    FAIL by a measurement out of limits (and a NaN one)
 *   4 gpu.query[0]    SKIP "no NVIDIA driver"
 *   5 fans            ERROR "child crashed: SIGSEGV"
 *   6 dram.bandwidth  ABORTED "SIGTERM received"
 *   7 pcie.link       PENDING (never started)
 * The run is marked finished with an abort reason. */
void fixture_mixed_run(struct kiln_run *run);
/* Two PASS steps and one SKIP, finished. */
void fixture_passing_run(struct kiln_run *run);
/* Run-level fields only (DUT, profile...), no steps. */
void fixture_run_header(struct kiln_run *run);

/* Sends the model through a sink as the runner would: run_start, each
 * started step with its events and (when DONE) its end, a run-level log,
 * run_end. Returns the first callback's failure, or 0. */
int fixture_replay(struct kiln_sink *sink, const struct kiln_run *run);

/* A fresh temporary directory (malloc'd) and its removal with its files. */
char *fixture_tmpdir(void);
void fixture_rmdir(char *dir);                         /* also frees dir */
char *fixture_path(const char *dir, const char *name); /* malloc'd */
/* Whole file, NUL-terminated, malloc'd; NULL when unreadable. */
char *fixture_read_file(const char *path);

/* Runs a shell command (stdout and stderr captured, then copied to stderr
 * so they never mix with the TAP on stdout). Returns its exit status, 127
 * when it could not run, 128+N when killed by signal N. When output is not
 * NULL it receives the captured text (malloc'd). */
int fixture_command(char **output, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Runs a Python check script (FIXTURE_PY_EXPECTED is prepended, so it can
 * use SERIAL and LABEL) with Debian's python3 (or $KILN_PYTHON) on file;
 * the script is written into dir. Returns the exit status. */
int fixture_python(const char *dir, const char *script, const char *file);

#endif
