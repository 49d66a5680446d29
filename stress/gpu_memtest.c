/* gpu.memtest: pattern tests over at least 95% of a GPU's free memory.
 *
 * One round writes and checks, with the kernels in gpu_memtest.cu and the
 * patterns of gpu_patterns.h: walking ones, walking zeros, own address,
 * moving inversions (write R; check R and write ~R ascending; check ~R and
 * write R descending; check R) and seeded random. Each round shifts the
 * walking bits, flips the own-address polarity and reseeds the random
 * ones. The step loops rounds until its deadline (at least one whole
 * round) or for `rounds` rounds. Every wrong word is counted; the first
 * `max_diagnoses` are FAIL diagnoses naming GPU, device address, expected
 * and actual value and the pattern. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_patterns.h"
#include "kiln/gpu_mem.h"
#include "kiln/module.h"
#include "kiln/plan.h"
#include "kiln/result.h"
#include "kiln/step.h"
#include "kiln/textutil.h"

static bool gpu_memtest_available(char *why, size_t n) {
  return kiln_cuda_gpus_available(why, n);
}

#if KILN_HAVE_CUDA

#define MAX_RECORD 64

struct mt {
  struct kiln_step *s;
  struct kiln_gpumt *h;
  struct kiln_gpu_mem_info info;
  const char *bus;
  uint64_t seed;
  long max_diags, diags;
  uint64_t errors;
  uint64_t checked; /* bytes */
  uint64_t sweeps, total_sweeps;
  bool inject;
  char why[512];
};

static void progress(struct mt *m) {
  double d = kiln_step_duration(m->s);
  double f = m->total_sweeps
                 ? (double)m->sweeps / (double)m->total_sweeps
                 : 1.0 - (kiln_step_deadline(m->s) - kiln_monotonic_now()) /
                             (d > 0 ? d : 1);
  kiln_emit_progress(m->s, f < 0 ? 0 : f > 1 ? 1 : f);
  kiln_emit_running(m->s, "errors", (double)m->errors, m->bus);
}

static bool write_pat(struct mt *m, int kind, uint64_t pass) {
  if (kiln_gpumt_write(m->h, kind, pass, m->seed, m->why, sizeof m->why)) {
    kiln_step_error(m->s, "GPU %s: %s", m->bus, m->why);
    return false;
  }
  if (m->inject) {
    /* gpu.bitflip: a weak cell losing one bit between write and check. */
    uint64_t idx = kiln_gpumt_words(m->h) / 2 + 5;
    if (kiln_gpumt_flip(m->h, idx, 1ULL << 13, m->why, sizeof m->why)) {
      kiln_step_error(m->s, "GPU %s: gpu.bitflip: %s", m->bus, m->why);
      return false;
    }
    kiln_emit_log(m->s, KILN_SEV_WARNING,
                  "gpu.bitflip injected: flipped bit 13 of the word at device "
                  "address 0x%llx (offset 0x%llx) on GPU %s after writing %s",
                  (unsigned long long)kiln_gpumt_address(m->h, idx),
                  (unsigned long long)(idx * 8), m->bus, gpat_name(kind));
    m->inject = false;
  }
  return true;
}

/* Checks (kind, pass); writes (kind, pass ^ 1) behind the check when
 * write_next. Reports every recorded wrong word. */
static bool check_pat(struct mt *m, int kind, uint64_t pass, bool write_next,
                      bool down) {
  struct gpat_error errs[MAX_RECORD];
  uint64_t bad = 0;
  size_t got = 0;
  if (kiln_gpumt_check(m->h, kind, pass, m->seed, write_next, down, &bad, errs,
                       MAX_RECORD, &got, m->why, sizeof m->why)) {
    kiln_step_error(m->s, "GPU %s: %s", m->bus, m->why);
    return false;
  }
  m->checked += kiln_gpumt_words(m->h) * 8;
  m->errors += bad;
  for (size_t i = 0; i < got && m->diags < m->max_diags; i++, m->diags++) {
    const struct gpat_error *e = &errs[i];
    uint64_t x = e->expected ^ e->actual, again = 0;
    int bits = __builtin_popcountll(x);
    char reread[96] = "";
    /* A second look tells a stored wrong value from an unstable read;
     * after a write-behind sweep the word holds the next pattern. */
    if (!write_next &&
        kiln_gpumt_read(m->h, e->index, &again, m->why, sizeof m->why) == 0)
      snprintf(reread, sizeof reread, "; re-read 0x%016llx (%s)",
               (unsigned long long)again,
               again == e->actual ? "the stored value is wrong"
                                  : "unstable reads");
    kiln_emit_diagnosis(
        m->s, KILN_DIAG_FAIL, "gpu-memory-bitflip", m->bus,
        "GPU %s (%s): pattern %s pass %llu: word at device address 0x%llx "
        "(offset 0x%llx) read 0x%016llx, expected 0x%016llx (xor 0x%016llx, "
        "%d bit%s)%s",
        m->bus, m->info.name, gpat_name(kind), (unsigned long long)pass,
        (unsigned long long)kiln_gpumt_address(m->h, e->index),
        (unsigned long long)(e->index * 8), (unsigned long long)e->actual,
        (unsigned long long)e->expected, (unsigned long long)x, bits,
        bits == 1 ? "" : "s", reread);
  }
  if (bad > got && m->diags < m->max_diags)
    kiln_emit_log(m->s, KILN_SEV_ERROR,
                  "GPU %s: pattern %s pass %llu: %llu wrong words, %zu of "
                  "them recorded",
                  m->bus, gpat_name(kind), (unsigned long long)pass,
                  (unsigned long long)bad, got);
  m->sweeps++;
  progress(m);
  return true;
}

/* Sweeps in one round: write and check for walking ones, walking zeros,
 * own address and random; four for moving inversions. */
#define SWEEPS_PER_ROUND 12

static bool run_round(struct mt *m, uint64_t r) {
  static const int simple[] = {GPAT_WALKING_ONES, GPAT_WALKING_ZEROS,
                               GPAT_OWN_ADDRESS, GPAT_RANDOM};
  for (size_t i = 0; i < sizeof simple / sizeof *simple; i++) {
    if (!write_pat(m, simple[i], r))
      return false;
    m->sweeps++;
    if (!check_pat(m, simple[i], r, false, false))
      return false;
  }
  /* Moving inversions: R (pass 2r), ~R (pass 2r + 1). */
  uint64_t p = 2 * r;
  if (!write_pat(m, GPAT_MOVING_INVERSIONS, p))
    return false;
  m->sweeps++;
  return check_pat(m, GPAT_MOVING_INVERSIONS, p, true, false) &&
         check_pat(m, GPAT_MOVING_INVERSIONS, p + 1, true, true) &&
         check_pat(m, GPAT_MOVING_INVERSIONS, p, false, false);
}

static void gpu_memtest_run(struct kiln_step *s) {
  struct mt m = {.s = s, .bus = kiln_step_target(s)};
  long seed, rounds;
  double share;
  if (!kiln_step_param_share(s, "mem", &share) ||
      !kiln_step_param_long(s, "seed", &seed) ||
      !kiln_step_param_long(s, "rounds", &rounds) ||
      !kiln_step_param_long(s, "max_diagnoses", &m.max_diags))
    return;
  if (rounds < 0 || m.max_diags < 1) {
    kiln_step_error(s, "parameter %s is below %d",
                    rounds < 0 ? "rounds" : "max_diagnoses",
                    rounds < 0 ? 0 : 1);
    return;
  }
  m.seed = (uint64_t)seed;
  m.inject = kiln_step_inject(s, "gpu.bitflip");
  kiln_emit_progress(s, 0);
  int rc = kiln_gpumt_open(m.bus, share, &m.h, &m.info, m.why, sizeof m.why);
  if (rc == 1) {
    kiln_step_skip(s, "%s", m.why);
    return;
  }
  if (rc != 0) {
    kiln_step_error(s, "GPU %s: %s", m.bus, m.why);
    return;
  }
  kiln_emit_log(s, KILN_SEV_INFO,
                "GPU %s (%s): testing %llu MiB of %llu MiB free (%llu MiB "
                "total) in %d allocation%s, seed %ld",
                m.bus, m.info.name, (unsigned long long)(m.info.bytes >> 20),
                (unsigned long long)(m.info.free_bytes >> 20),
                (unsigned long long)(m.info.total_bytes >> 20), m.info.chunks,
                m.info.chunks == 1 ? "" : "s", seed);
  m.total_sweeps = (uint64_t)rounds * SWEEPS_PER_ROUND;
  double t0 = kiln_monotonic_now();
  uint64_t r = 0;
  bool ok = true;
  for (;;) {
    if (!(ok = run_round(&m, r)))
      break;
    r++;
    if (rounds ? r >= (uint64_t)rounds : !kiln_step_time_left(s))
      break;
  }
  double sec = kiln_monotonic_now() - t0;
  kiln_gpumt_close(m.h);
  if (!ok || kiln_step_ended(s))
    return;
  kiln_emit_measurement(s, "errors", (double)m.errors, m.bus);
  kiln_emit_measurement(s, "tested_bytes", (double)m.info.bytes, m.bus);
  kiln_emit_measurement(s, "tested_gbps",
                        sec > 0 ? (double)m.checked / sec / 1e9 : 0, m.bus);
  if ((long)m.errors > m.max_diags)
    kiln_emit_log(s, KILN_SEV_ERROR,
                  "GPU %s: %llu wrong words, the first %ld "
                  "reported",
                  m.bus, (unsigned long long)m.errors, m.max_diags);
  kiln_emit_log(s, m.errors ? KILN_SEV_ERROR : KILN_SEV_INFO,
                "GPU %s: %llu rounds of %d patterns (%d sweeps each) over "
                "%llu MiB in %.1f s, %llu wrong words",
                m.bus, (unsigned long long)r, GPAT_NKINDS, SWEEPS_PER_ROUND,
                (unsigned long long)(m.info.bytes >> 20), sec,
                (unsigned long long)m.errors);
  kiln_emit_progress(s, 1.0);
}

#else

static void gpu_memtest_run(struct kiln_step *s) {
  kiln_step_skip(s, "built without CUDA");
}

#endif

static const struct kiln_param_spec params[] = {
    {"mem", "95%", "share of the GPU's free memory to test (95%, 0.95)"},
    {"rounds", "0",
     "rounds of all patterns; 0: as many as fit the step's duration (at "
     "least one)"},
    {"seed", "1", "seed of the random and moving-inversions patterns"},
    {"max_diagnoses", "16",
     "FAIL diagnoses to emit at most; every wrong word is counted in "
     "`errors`"},
    {NULL, NULL, NULL},
};

static const struct kiln_measurement_spec measurements[] = {
    {"errors", "", "wrong words found (set errors.max = 0)"},
    {"tested_bytes", "B", "device memory under test"},
    {"tested_gbps", "GB/s", "bytes checked per second"},
    {NULL, NULL, NULL},
};

static const char *const faults[] = {"gpu.bitflip", NULL};

const struct kiln_module kiln_module_gpu_memtest = {
    .name = "gpu.memtest",
    .summary = "pattern tests over 95% of each GPU's free memory, every bad "
               "word named by device address",
    .targets = KILN_TARGETS_GPU,
    .stress = true,
    .params = params,
    .measurements = measurements,
    .faults = faults,
    .key_measurement = "tested_gbps",
    .available = gpu_memtest_available,
    .run = gpu_memtest_run,
};
