/* gpu.memtest's step without a GPU: a fake pattern run over host memory
 * (the same patterns and checks the kernels use) and the fake NVML, whose
 * ECC counts and remapped rows the fake changes while the patterns run.
 * With ECC on, corrected errors are measured (and the module's default
 * limit fails them), an uncorrectable error, a new pending row remap or a
 * failed one FAILs naming the GPU, a CUDA "uncorrectable ECC" error is a
 * FAIL and not an ERROR, the log says what ECC means for the patterns,
 * without NVML ecc_corrected is unmeasured (an ERROR saying why), and a
 * miscompare names a device virtual address, not a physical one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "../../stress/gpu_memtest.h"
#include "../../stress/gpu_patterns.h"
#include "core/wire.h"
#include "fake_nvml.h"
#include "fsutil.h"
#include "harness.h"
#include "kiln/module.h"
#include "kiln/result.h"
#include "run/runner.h"

#define BUS "0000:1b:00.0"
#define WORDS 4096

/* ---- the fake pattern run ---- */

struct kiln_gpumt {
  uint64_t *buf;
};

/* What the fake does: on its check number `at` (1-based), runs `during`
 * (the hardware changing NVML's counters under the patterns) and returns
 * rc_at (e.g. an uncorrectable ECC error from CUDA). */
static struct {
  int checks, at, rc_at;
  void (*during)(void);
  int closed;
} F;

static uint64_t base_of(const struct kiln_gpumt *h) {
  return (uint64_t)(uintptr_t)h->buf;
}

static int f_open(const char *bus, double share, struct kiln_gpumt **out,
                  struct kiln_gpu_mem_info *info, char *why, size_t n) {
  struct kiln_gpumt *h = calloc(1, sizeof *h);
  h->buf = calloc(WORDS, 8);
  *out = h;
  memset(info, 0, sizeof *info);
  snprintf(info->name, sizeof info->name, "Fake H100");
  info->bytes = WORDS * 8;
  info->free_bytes = info->total_bytes = 2 * WORDS * 8;
  info->chunks = 1;
  return 0;
}

static int f_write(struct kiln_gpumt *h, int kind, uint64_t pass, uint64_t seed,
                   char *why, size_t n) {
  for (uint64_t i = 0; i < WORDS; i++)
    h->buf[i] = gpat_value(kind, pass, i, base_of(h) + 8 * i, seed);
  return 0;
}

static int f_check(struct kiln_gpumt *h, int kind, uint64_t pass, uint64_t seed,
                   int write_next, int down, uint64_t *errors,
                   struct gpat_error *errs, size_t max, size_t *recorded,
                   char *why, size_t n) {
  *errors = 0;
  *recorded = 0;
  if (++F.checks == F.at) {
    if (F.during)
      F.during();
    if (F.rc_at) {
      snprintf(why, n,
               "pattern check kernel: uncorrectable ECC error "
               "encountered");
      return F.rc_at;
    }
  }
  *errors = gpat_check_range(kind, pass, seed, h->buf, WORDS, 0, base_of(h),
                             errs, max);
  *recorded = *errors < max ? (size_t)*errors : max;
  if (write_next)
    f_write(h, kind, pass ^ 1, seed, why, n);
  return 0;
}

static uint64_t f_address(const struct kiln_gpumt *h, uint64_t index) {
  return base_of(h) + 8 * index;
}

static uint64_t f_words(const struct kiln_gpumt *h) { return WORDS; }

static int f_read(struct kiln_gpumt *h, uint64_t index, uint64_t *value,
                  char *why, size_t n) {
  *value = h->buf[index];
  return 0;
}

static int f_flip(struct kiln_gpumt *h, uint64_t index, uint64_t mask,
                  char *why, size_t n) {
  h->buf[index] ^= mask;
  return 0;
}

static void f_close(struct kiln_gpumt *h) {
  F.closed++;
  free(h->buf);
  free(h);
}

static const struct kiln_gpumt_ops fake_ops = {
    .open = f_open,
    .write = f_write,
    .check = f_check,
    .address = f_address,
    .words = f_words,
    .read = f_read,
    .flip = f_flip,
    .close = f_close,
};

static void fake_run(struct kiln_step *s) { kiln_gpumt_run(s, &fake_ops); }

/* ---- the fake NVML's counters ---- */

static struct fake_nvml fake_driver;
static char corrected[300], uncorrected[300];

static int setup_all(void **state) {
  if (fake_nvml_setup(&fake_driver, "memtest", false) != 0)
    return -1;
  snprintf(corrected, sizeof corrected, "%s/corrected", fake_driver.dir);
  snprintf(uncorrected, sizeof uncorrected, "%s/uncorrected", fake_driver.dir);
  return 0;
}

static int teardown_all(void **state) {
  return fake_nvml_teardown(&fake_driver);
}

/* A healthy fake GPU: ECC on, 3 corrected errors from before the test, no
 * uncorrected ones, no remaps; a fresh fake run. */
static int reset(void **state) {
  setenv("KILN_NVML_LIB", fake_driver.lib, 1);
  setenv("FAKE_ECC_CORRECTED_FILE", corrected, 1);
  setenv("FAKE_ECC_UNCORRECTED_FILE", uncorrected, 1);
  fs_write_file(corrected, "3");
  fs_write_file(uncorrected, "0");
  setenv("FAKE_ECC", "1", 1);
  unsetenv("FAKE_ROWS_PENDING");
  unsetenv("FAKE_ROWS_FAILED");
  unsetenv("FAKE_UNC_ROWS");
  memset(&F, 0, sizeof F);
  return 0;
}

/* One round of the patterns on the fake, with faults. */
static void run_memtest(const char *const *inject, struct captured *out) {
  struct kiln_module m = *kiln_module_find("gpu.memtest");
  m.run = fake_run;
  static struct kiln_kv kv[] = {{.key = "rounds", .value = "1"}};
  struct kiln_step_config cfg = {
      .module = &m,
      .id = "gpu.memtest[0]",
      .target = BUS,
      .duration = 10,
      .params = kv,
      .n_params = 1,
      .inject = inject,
  };
  harness_run_step(&cfg, out);
  assert_int_equal(F.closed, 1);
}

/* The verdict the parent gives the step (src/core/result.c), with the module's
 * default limits and errors.max = 0 as the built-in profiles set it; the
 * reason into reason. */
static enum kiln_verdict judged(const struct captured *c, char *reason,
                                size_t n) {
  struct kiln_run run;
  kiln_run_init(&run);
  struct kiln_step_result *r =
      kiln_run_add_step(&run, "gpu.memtest[0]", "gpu.memtest", BUS, 1);
  kiln_step_set_limit(r, "errors", &(struct kiln_limit){.has_hi = true});
  const struct kiln_module *m = kiln_module_find("gpu.memtest");
  for (const struct kiln_default_limit *d = m->default_limits;
       d && d->measurement; d++)
    kiln_step_set_limit(r, d->measurement, &d->limit);
  enum kiln_verdict end = KILN_ERROR;
  const char *why = NULL;
  for (size_t i = 0; i < c->n; i++) {
    const struct kiln_wire_event *e = &c->events[i];
    if (e->type == KILN_WIRE_MEASUREMENT)
      kiln_step_add_measurement(r, e->name, e->value, e->unit,
                                kiln_step_limit(r, e->name), e->hwid, 1);
    else if (e->type == KILN_WIRE_DIAGNOSIS)
      kiln_step_add_diagnosis(r, e->diag_type, e->symptom, e->message, e->hwid,
                              1);
    else if (e->type == KILN_WIRE_LOG)
      kiln_step_add_log(r, e->severity, e->message, 1);
    else if (e->type == KILN_WIRE_END) {
      end = e->verdict;
      why = e->message;
    }
  }
  kiln_step_finish(r, end, why, 2);
  enum kiln_verdict v = r->verdict;
  snprintf(reason, n, "%s", r->reason ? r->reason : "");
  kiln_run_free(&run);
  return v;
}

static const struct kiln_wire_event *log_with(const struct captured *c,
                                              const char *text) {
  for (size_t i = 0; i < c->n; i++)
    if (c->events[i].type == KILN_WIRE_LOG &&
        strstr(c->events[i].message, text))
      return &c->events[i];
  return NULL;
}

static const struct kiln_wire_event *fail_with(const struct captured *c,
                                               const char *symptom) {
  for (size_t i = 0; i < c->n; i++)
    if (c->events[i].type == KILN_WIRE_DIAGNOSIS &&
        c->events[i].diag_type == KILN_DIAG_FAIL &&
        strcmp(c->events[i].symptom, symptom) == 0)
      return &c->events[i];
  return NULL;
}

static double value_of(const struct captured *c, const char *name) {
  const struct kiln_wire_event *e = harness_measurement(c, name, BUS);
  assert_non_null(e);
  return e->value;
}

/* ---- the tests ---- */

static void healthy_gpu_with_ecc_on_passes(void **state) {
  struct captured c;
  run_memtest(NULL, &c);
  char reason[512];
  assert_int_equal(judged(&c, reason, sizeof reason), KILN_PASS);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
  assert_true(value_of(&c, "errors") == 0);
  assert_true(value_of(&c, "ecc_corrected") == 0);
  assert_int_equal(F.checks, 7); /* one round: 7 checking sweeps */
  assert_non_null(
      log_with(&c, "GPU " BUS ": ECC is on: the hardware corrects single-bit "
                   "flips before the patterns can see them, so they are "
                   "counted by the hardware (NVML's volatile corrected count, "
                   "ecc_corrected) rather than seen by the patterns"));
  harness_free(&c);
}

static void more_corrected(void) { fs_write_file(corrected, "10"); }

static void corrected_errors_are_measured_and_fail_the_default(void **state) {
  F.at = 3;
  F.during = more_corrected;
  struct captured c;
  run_memtest(NULL, &c);
  assert_true(value_of(&c, "ecc_corrected") == 7);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
  assert_non_null(log_with(&c, "GPU " BUS ": 7 single-bit errors corrected "
                               "by ECC during the test (NVML volatile count "
                               "3 -> 10)"));
  char reason[512];
  assert_int_equal(judged(&c, reason, sizeof reason), KILN_FAIL);
  harness_free(&c);
}

static void uncorrected_on_the_counter(void) {
  fs_write_file(uncorrected, "2");
}

static void uncorrectable_error_fails_naming_the_gpu(void **state) {
  F.at = 5;
  F.during = uncorrected_on_the_counter;
  struct captured c;
  run_memtest(NULL, &c);
  const struct kiln_wire_event *d = fail_with(&c, "gpu-ecc-uncorrectable");
  assert_non_null(d);
  assert_string_equal(d->hwid, BUS);
  assert_string_equal(d->message,
                      "GPU " BUS " (Fake H100): 2 uncorrectable ECC errors "
                      "during the memory test (NVML volatile count 0 -> 2)");
  char reason[512];
  assert_int_equal(judged(&c, reason, sizeof reason), KILN_FAIL);
  harness_free(&c);
}

static void row_remap_pending(void) { setenv("FAKE_ROWS_PENDING", "1", 1); }

static void new_pending_remap_fails(void **state) {
  F.at = 2;
  F.during = row_remap_pending;
  struct captured c;
  run_memtest(NULL, &c);
  const struct kiln_wire_event *d = fail_with(&c, "gpu-row-remap-pending");
  assert_non_null(d);
  assert_non_null(strstr(d->message, "GPU " BUS " (Fake H100): a row "
                                     "remapping became pending during the "
                                     "memory test"));
  harness_free(&c);

  /* Pending before the test: gpu.health's to fail, not a new one. */
  reset(state);
  setenv("FAKE_ROWS_PENDING", "1", 1);
  run_memtest(NULL, &c);
  assert_null(fail_with(&c, "gpu-row-remap-pending"));
  assert_non_null(log_with(&c, "a row remapping was pending before the test"));
  harness_free(&c);
}

static void row_remap_failure(void) { setenv("FAKE_ROWS_FAILED", "1", 1); }

static void failed_remap_fails(void **state) {
  F.at = 4;
  F.during = row_remap_failure;
  struct captured c;
  run_memtest(NULL, &c);
  const struct kiln_wire_event *d = fail_with(&c, "gpu-row-remap-failed");
  assert_non_null(d);
  assert_string_equal(d->message,
                      "GPU " BUS " (Fake H100): a row remapping has failed "
                      "during the memory test: the GPU has no spare rows left "
                      "for its failing memory");
  harness_free(&c);
}

static void cuda_uncorrectable_ecc_is_a_fail_not_an_error(void **state) {
  F.at = 2;
  F.rc_at = KILN_GPUMT_ECC_UNCORRECTABLE;
  F.during = uncorrected_on_the_counter;
  struct captured c;
  run_memtest(NULL, &c);
  /* The step ended on its own (not an ERROR), with FAILs. */
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  const struct kiln_wire_event *d = fail_with(&c, "gpu-ecc-uncorrectable");
  assert_non_null(d);
  assert_string_equal(d->message,
                      "GPU " BUS " (Fake H100): CUDA reported an "
                      "uncorrectable ECC error during pattern walking-zeros "
                      "pass 0 (pattern check kernel: uncorrectable ECC error "
                      "encountered): its memory holds data ECC could not "
                      "correct");
  assert_int_equal(F.checks, 2); /* no pattern after it */
  assert_null(harness_measurement(&c, "errors", NULL));
  char reason[512];
  assert_int_equal(judged(&c, reason, sizeof reason), KILN_FAIL);
  harness_free(&c);
}

static void ecc_off_the_patterns_see_every_flip(void **state) {
  setenv("FAKE_ECC", "0", 1);
  struct captured c;
  run_memtest(NULL, &c);
  assert_non_null(log_with(&c, "GPU " BUS
                               ": ECC is off: the patterns see every flipped "
                               "bit"));
  assert_null(log_with(&c, "ECC is on"));
  assert_true(value_of(&c, "ecc_corrected") == 0);
  char reason[512];
  assert_int_equal(judged(&c, reason, sizeof reason), KILN_PASS);
  harness_free(&c);
}

static void without_nvml_ecc_corrected_is_unmeasured(void **state) {
  setenv("KILN_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
  struct captured c;
  run_memtest(NULL, &c);
  assert_null(harness_measurement(&c, "ecc_corrected", NULL));
  assert_non_null(harness_measurement(&c, "errors", NULL));
  char reason[512];
  assert_int_equal(judged(&c, reason, sizeof reason), KILN_ERROR);
  assert_non_null(strstr(reason, "limit ecc_corrected.max = 0 set but "
                                 "ecc_corrected was not measured: GPU " BUS
                                 ": NVML unavailable ("));
  assert_non_null(strstr(reason, "ECC counts and remapped rows not checked, "
                                 "ecc_corrected not measured"));
  harness_free(&c);
}

static void miscompare_names_a_virtual_address(void **state) {
  static const char *const inject[] = {"gpu.bitflip", NULL};
  struct captured c;
  run_memtest(inject, &c);
  const struct kiln_wire_event *d = fail_with(&c, "gpu-memory-bitflip");
  assert_non_null(d);
  /* The address is the fake's buffer; the word is 2048 + 5. */
  assert_non_null(strstr(d->message, "GPU " BUS " (Fake H100): pattern "
                                     "walking-ones pass 0: word at device "
                                     "virtual address 0x"));
  assert_non_null(strstr(d->message, "(offset 0x4028 in the tested memory; "
                                     "a CUDA virtual address, not a physical "
                                     "HBM address) read "));
  assert_true(value_of(&c, "errors") == 1);
  char reason[512];
  assert_int_equal(judged(&c, reason, sizeof reason), KILN_FAIL);
  harness_free(&c);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(healthy_gpu_with_ecc_on_passes, reset),
      cmocka_unit_test_setup(corrected_errors_are_measured_and_fail_the_default,
                             reset),
      cmocka_unit_test_setup(uncorrectable_error_fails_naming_the_gpu, reset),
      cmocka_unit_test_setup(new_pending_remap_fails, reset),
      cmocka_unit_test_setup(failed_remap_fails, reset),
      cmocka_unit_test_setup(cuda_uncorrectable_ecc_is_a_fail_not_an_error,
                             reset),
      cmocka_unit_test_setup(ecc_off_the_patterns_see_every_flip, reset),
      cmocka_unit_test_setup(without_nvml_ecc_corrected_is_unmeasured, reset),
      cmocka_unit_test_setup(miscompare_names_a_virtual_address, reset),
  };
  return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
