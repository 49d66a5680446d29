/* gpu.memtest: pattern tests over at least 95% of a GPU's free memory.
 *
 * One round writes and checks, with the kernels in gpu_memtest.cu and the
 * patterns of gpu_patterns.h: walking ones, walking zeros, own address,
 * moving inversions (write R; check R and write ~R ascending; check ~R and
 * write R descending; check R) and seeded random. Each round shifts the
 * walking bits, flips the own-address polarity and reseeds the random
 * ones. The step loops rounds until its deadline (at least one whole
 * round) or for `rounds` rounds. Every wrong word is counted; the first
 * `max_diagnoses` are FAIL diagnoses naming GPU, device virtual address
 * (CUDA's: not a physical HBM address), expected and actual value and the
 * pattern.
 *
 * With ECC on, the hardware corrects single-bit flips before the patterns
 * can see them. So NVML's volatile ECC counts and the remapped rows are
 * read before and after the patterns (stress/gpu_counters.c): an
 * uncorrectable error, a new pending row remapping or a failed one FAILs,
 * and the corrected errors are the measurement ecc_corrected, at most 0 by
 * default. DCGM judges its volatile SBE count only when given a threshold
 * (none by default) and fails on any DBE; kiln burns in new GPUs, where a
 * flip the patterns would fail with ECC off (errors.max = 0) must not pass
 * because ECC hid it, so the default is the same 0 (a site may raise it).
 * A CUDA "uncorrectable ECC error" during a kernel is a FAIL too.
 *
 * The step's logic is host C over the device calls (struct kiln_gpumt_ops,
 * stress/gpu_memtest.h), so tests run it with a fake pattern run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_counters.h"
#include "gpu_mem.h"
#include "gpu_memtest.h"
#include "gpu_patterns.h"
#include "kiln/gpu_access.h"
#include "kiln/gpu_enum.h"
#include "kiln/module.h"
#include "kiln/result.h"
#include "kiln/step.h"
#include "kiln/textutil.h"

static bool gpu_memtest_available(char *why, size_t n) {
  return kiln_cuda_gpus_available(why, n);
}

#define MAX_RECORD 64

struct mt {
  struct kiln_step *s;
  const struct kiln_gpumt_ops *ops;
  struct kiln_gpumt *h;
  struct kiln_gpu_mem_info info;
  const char *bus;
  uint64_t seed;
  long max_diags, diags;
  uint64_t errors;
  uint64_t checked; /* bytes */
  uint64_t sweeps, total_sweeps;
  bool inject;
  bool ecc_failed; /* CUDA reported an uncorrectable ECC error */
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

/* What a device call's rc means: 0 goes on; an uncorrectable ECC error is
 * the memory failing (FAIL), anything else a CUDA error (ERROR). Both end
 * the patterns: the GPU's context is unusable after either. */
static bool device_ok(struct mt *m, int rc, const char *what, int kind,
                      uint64_t pass) {
  if (rc == 0)
    return true;
  if (rc == KILN_GPUMT_ECC_UNCORRECTABLE) {
    m->ecc_failed = true;
    kiln_emit_diagnosis(m->s, KILN_DIAG_FAIL, "gpu-ecc-uncorrectable", m->bus,
                        "GPU %s (%s): CUDA reported an uncorrectable ECC "
                        "error during pattern %s pass %llu (%s): its memory "
                        "holds data ECC could not correct",
                        m->bus, m->info.name, gpat_name(kind),
                        (unsigned long long)pass, m->why);
    return false;
  }
  kiln_step_error(m->s, "GPU %s: %s%s", m->bus, what, m->why);
  return false;
}

static bool write_pat(struct mt *m, int kind, uint64_t pass) {
  if (!device_ok(
          m, m->ops->write(m->h, kind, pass, m->seed, m->why, sizeof m->why),
          "", kind, pass))
    return false;
  if (m->inject) {
    /* gpu.bitflip: a weak cell losing one bit between write and check. */
    uint64_t idx = m->ops->words(m->h) / 2 + 5;
    if (!device_ok(m,
                   m->ops->flip(m->h, idx, 1ULL << 13, m->why, sizeof m->why),
                   "gpu.bitflip: ", kind, pass))
      return false;
    kiln_emit_log(m->s, KILN_SEV_WARNING,
                  "gpu.bitflip injected: flipped bit 13 of the word at device "
                  "virtual address 0x%llx (offset 0x%llx) on GPU %s after "
                  "writing %s",
                  (unsigned long long)m->ops->address(m->h, idx),
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
  if (!device_ok(m,
                 m->ops->check(m->h, kind, pass, m->seed, write_next, down,
                               &bad, errs, MAX_RECORD, &got, m->why,
                               sizeof m->why),
                 "", kind, pass))
    return false;
  m->checked += m->ops->words(m->h) * 8;
  m->errors += bad;
  for (size_t i = 0; i < got && m->diags < m->max_diags; i++, m->diags++) {
    const struct gpat_error *e = &errs[i];
    uint64_t x = e->expected ^ e->actual, again = 0;
    int bits = __builtin_popcountll(x);
    char reread[96] = "";
    /* A second look tells a stored wrong value from an unstable read;
     * after a write-behind sweep the word holds the next pattern. */
    if (!write_next &&
        m->ops->read(m->h, e->index, &again, m->why, sizeof m->why) == 0)
      snprintf(reread, sizeof reread, "; re-read 0x%016llx (%s)",
               (unsigned long long)again,
               again == e->actual ? "the stored value is wrong"
                                  : "unstable reads");
    /* CUDA gives virtual addresses only: the physical HBM row is the
     * driver's to know (an ECC error or row remap names it there). */
    kiln_emit_diagnosis(
        m->s, KILN_DIAG_FAIL, "gpu-memory-bitflip", m->bus,
        "GPU %s (%s): pattern %s pass %llu: word at device virtual address "
        "0x%llx (offset 0x%llx in the tested memory; a CUDA virtual "
        "address, not a physical HBM address) read 0x%016llx, expected "
        "0x%016llx (xor 0x%016llx, %d bit%s)%s",
        m->bus, m->info.name, gpat_name(kind), (unsigned long long)pass,
        (unsigned long long)m->ops->address(m->h, e->index),
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

void kiln_gpumt_run(struct kiln_step *s, const struct kiln_gpumt_ops *ops) {
  struct mt m = {.s = s, .ops = ops, .bus = kiln_step_target(s)};
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
  int rc = ops->open(m.bus, share, &m.h, &m.info, m.why, sizeof m.why);
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
  /* ECC and row remaps around the patterns (opened after CUDA, so the
   * driver stays loaded and the volatile counts are not reset between). */
  kiln_nvml_device dev = NULL;
  struct kiln_gpu_counters before, after;
  struct kiln_nvml *nv = kiln_gpu_counters_open(
      s, m.bus, &dev,
      "ECC counts and remapped rows not checked, ecc_corrected not measured");
  if (nv) {
    kiln_gpu_counters_read(nv, dev, &before);
    kiln_gpu_ecc_note(s, m.bus, nv, &before);
  }
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
  ops->close(m.h);
  if (nv) {
    kiln_gpu_counters_read(nv, dev, &after);
    kiln_gpu_ecc_judge(s, m.bus, m.info.name, nv, &before, &after);
    kiln_nvml_close(nv);
  }
  if (m.ecc_failed)
    kiln_emit_log(s, KILN_SEV_ERROR,
                  "GPU %s: the patterns stopped at the uncorrectable ECC "
                  "error: errors, tested_bytes and tested_gbps not measured",
                  m.bus);
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

#if KILN_HAVE_CUDA

static const struct kiln_gpumt_ops cuda_ops = {
    .open = kiln_gpumt_open,
    .write = kiln_gpumt_write,
    .check = kiln_gpumt_check,
    .address = kiln_gpumt_address,
    .words = kiln_gpumt_words,
    .read = kiln_gpumt_read,
    .flip = kiln_gpumt_flip,
    .close = kiln_gpumt_close,
};

static void gpu_memtest_run(struct kiln_step *s) {
  kiln_gpumt_run(s, &cuda_ops);
}

#else

static void gpu_memtest_run(struct kiln_step *s) {
  /* Planned only for a GPU on the bus, which this build cannot drive. */
  kiln_step_error(s, "this kiln was built without CUDA");
}

#endif

static const struct kiln_param_spec params[] = {
    {"mem", "95%", "share of the GPU's free memory to test (95%, 0.95)",
     .kind = KILN_PARAM_SHARE},
    {"rounds", "0",
     "rounds of all patterns; 0: as many as fit the step's duration (at "
     "least one)",
     .kind = KILN_PARAM_INTEGER, .min = 0, .max = INFINITY},
    {"seed", "1", "seed of the random and moving-inversions patterns",
     .kind = KILN_PARAM_INTEGER},
    {"max_diagnoses", "16",
     "FAIL diagnoses to emit at most; every wrong word is counted in "
     "`errors`",
     .kind = KILN_PARAM_INTEGER, .min = 1, .max = INFINITY},
    {0},
};

static const struct kiln_measurement_spec measurements[] = {
    {"errors", "", "wrong words found (set errors.max = 0)"},
    {"tested_bytes", "B", "device memory under test"},
    {"tested_gbps", "GB/s", "bytes checked per second"},
    {"ecc_corrected", "errors",
     "single-bit errors ECC corrected during the test (NVML's volatile "
     "count; 0 with ECC off, where the patterns see every flip)"},
    {NULL, NULL, NULL},
};

/* See the top of the file for why 0. */
static const struct kiln_default_limit default_limits[] = {
    {"ecc_corrected", {.has_hi = true, .hi = 0}},
    {NULL, {0}},
};

static const char *const faults[] = {"gpu.bitflip", NULL};

const struct kiln_module kiln_module_gpu_memtest = {
    .name = "gpu.memtest",
    .summary = "pattern tests over 95% of each GPU's free memory, every bad "
               "word named by device address, ECC counts and row remaps "
               "judged",
    .targets = KILN_TARGETS_GPU,
    .gpu_needs = KILN_GPU_NEEDS_DRIVER | KILN_GPU_NEEDS_CUDA,
    .stress = true,
    .params = params,
    .measurements = measurements,
    .default_limits = default_limits,
    .faults = faults,
    .key_measurement = "tested_gbps",
    .available = gpu_memtest_available,
    .run = gpu_memtest_run,
};
