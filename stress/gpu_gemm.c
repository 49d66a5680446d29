/* gpu.gemm: cuBLAS GEMMs in FP64, FP32, TF32, BF16 and FP8 over the step's
 * duration, every checked result compared with the first one, clocks
 * watched through NVML during the load.
 *
 * The step's duration is split evenly between the types (`types`, in the
 * order fp64, fp32, tf32, bf16, fp8; FP8 where the GPU and cuBLASLt have
 * it, else a note). Per type (stress/gpu_gemm.cu): A and B are `size` x
 * `size` seeded values uniform in [-1, 1] made on the device; the first
 * GEMM is the reference; then batches of GEMMs of about 0.25 s each run
 * until the type's share of the time is spent. A result whose iteration is
 * a multiple of `check_every` (auto: as often as keeps the comparisons
 * under 2% of the GEMM time), the first timed one and the type's last one
 * are compared with the reference on the device (tolerances in
 * gpu_gemm_check.h); an element outside them is a FAIL naming the GPU, the
 * type, the element's row and column, expected and actual value and the
 * iteration, and counts in `errors`.
 *
 * `tflops_<type>` is the median GEMM's rate (2 size^3 operations over
 * that GEMM's own time, from CUDA events around it alone); the SKU sets
 * its floors. Every 0.5 s while GEMMs run, NVML's clock event reasons and
 * SM clock are sampled: HW slowdown, SW or HW thermal slowdown or HW power
 * brake (the GPU protecting itself) held for `hold` seconds is a FAIL
 * (gpu-clock-event); one that comes and goes is logged, as NVML says HW
 * slowdown also fires briefly on power-excursion protection and P-state
 * changes. The SM clock under `clock_share` of its maximum for two samples
 * in a row is a FAIL (gpu-clock-drop); SW power cap, normal under this
 * load, is logged.
 *
 * gpu.sdc flips a high exponent bit of one element of one BF16 result (or
 * the first type's) on the device between its GEMM and its check. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_gemm.h"
#include "gpu_gemm_check.h"
#include "kiln/gpu_access.h"
#include "kiln/gpu_enum.h"
#include "kiln/module.h"
#include "kiln/nvml.h"
#include "kiln/result.h"
#include "kiln/step.h"
#include "kiln/textutil.h"

static bool gpu_gemm_available(char *why, size_t n) {
  return kiln_cuda_gpus_available(why, n);
}

struct params {
  int size;
  unsigned types; /* 1 << KILN_GEMM_* */
  uint64_t seed;
  long every; /* 0: auto */
  double clock_share;
  double hold; /* seconds a protecting clock-event reason may last */
};

/* Parsed and checked before anything else, so a bad value is an ERROR
 * even where the step would SKIP. */
static bool read_params(struct kiln_step *s, struct params *p) {
  long size, seed;
  char why[256];
  if (!kiln_step_param_long(s, "size", &size) ||
      !kiln_step_param_long(s, "seed", &seed) ||
      !kiln_step_param_share(s, "clock_share", &p->clock_share))
    return false;
  if (!gemm_check_size(size, why, sizeof why) ||
      !gemm_parse_types(kiln_step_param(s, "types"), &p->types, why,
                        sizeof why) ||
      !gemm_parse_every(kiln_step_param(s, "check_every"), &p->every, why,
                        sizeof why)) {
    kiln_step_error(s, "parameter %s", why);
    return false;
  }
  if (!kiln_step_param_seconds(s, "hold", &p->hold))
    return false;
  p->size = (int)size;
  p->seed = (uint64_t)seed;
  return true;
}

#if KILN_HAVE_CUDA

#define SAMPLE_S 0.5      /* NVML sample interval under load */
#define PROGRESS_S 0.25   /* progress (the watchdog's heartbeat) interval */
#define BATCH_S 0.25      /* GEMMs queued at a time */
#define CHECK_BUDGET 0.02 /* check_every = auto: checks' share of the time */
#define DROP_HOLD 2       /* low SM clock samples in a row that make a drop */

struct gg {
  struct kiln_step *s;
  const char *bus;
  struct params p;
  struct kiln_gemm *h;
  struct kiln_gemm_info info;
  struct kiln_nvml *nv;
  kiln_nvml_device dev;
  bool watch;
  unsigned max_mhz;
  struct gemm_watch w;
  int phase;
  double start, last_sample, last_progress;
  uint64_t errors;
  double *rates;
  size_t nrates, cap;
  char why[512];
};

static void progress(struct gg *g, bool now) {
  double t = kiln_monotonic_now();
  if (!now && t - g->last_progress < PROGRESS_S)
    return;
  g->last_progress = t;
  double d = kiln_step_duration(g->s), f = d > 0 ? (t - g->start) / d : 1;
  kiln_emit_progress(g->s, f < 0 ? 0 : f > 1 ? 1 : f);
}

/* One NVML sample while GEMMs run, at most every SAMPLE_S. */
static void sample(struct gg *g) {
  double now = kiln_monotonic_now();
  if (!g->watch || now - g->last_sample < SAMPLE_S)
    return;
  g->last_sample = now;
  double t = now - g->start;
  struct kiln_nvml *nv = g->nv;
  unsigned long long mask = 0;
  if (nv->device_get_clocks_event_reasons &&
      nv->device_get_clocks_event_reasons(g->dev, &mask) == KILN_NVML_SUCCESS) {
    unsigned long long fresh = gemm_watch_reasons(&g->w, t, g->phase, mask);
    if (fresh) {
      char names[256];
      kiln_nvml_clock_reasons_text(fresh, names, sizeof names);
      kiln_emit_log(g->s, KILN_SEV_WARNING,
                    "GPU %s: clocks held back by %s at %.1f s, during %s "
                    "GEMMs (a FAIL if it lasts %.1f s)",
                    g->bus, names, t, gemm_type_name(g->phase), g->p.hold);
    }
  }
  unsigned mhz = 0;
  if (nv->device_get_clock_info &&
      nv->device_get_clock_info(g->dev, KILN_NVML_CLOCK_SM, &mhz) ==
          KILN_NVML_SUCCESS &&
      gemm_watch_clock(&g->w, t, g->phase, mhz, g->max_mhz))
    kiln_emit_log(g->s, KILN_SEV_WARNING,
                  "GPU %s: SM clock %u MHz, under %.0f%% of its %u MHz "
                  "maximum since %.1f s (%s GEMMs)",
                  g->bus, mhz, g->p.clock_share * 100, g->w.max_mhz,
                  g->w.low_since, gemm_type_name(g->w.low_phase));
}

static void open_watch(struct gg *g) {
  char why[256];
  g->nv = kiln_nvml_open(why, sizeof why);
  if (!g->nv) {
    kiln_emit_log(g->s, KILN_SEV_WARNING,
                  "GPU %s: clocks not watched during load: %s", g->bus, why);
    return;
  }
  kiln_nvml_return rc = kiln_nvml_device_by_bus(g->nv, g->bus, &g->dev);
  if (rc != KILN_NVML_SUCCESS) {
    kiln_emit_log(g->s, KILN_SEV_WARNING,
                  "GPU %s: clocks not watched during load: NVML: %s", g->bus,
                  kiln_nvml_error(g->nv, rc));
    return;
  }
  g->watch = true;
  if (!g->nv->device_get_max_clock_info ||
      g->nv->device_get_max_clock_info(g->dev, KILN_NVML_CLOCK_SM,
                                       &g->max_mhz) != KILN_NVML_SUCCESS) {
    g->max_mhz = 0;
    kiln_emit_log(g->s, KILN_SEV_INFO,
                  "GPU %s: maximum SM clock unknown: clock drops not judged",
                  g->bus);
  }
}

static void push_rate(struct gg *g, double r) {
  if (g->nrates == g->cap) {
    size_t cap = g->cap ? 2 * g->cap : 1024;
    g->rates = kiln_xrealloc(g->rates, cap * sizeof *g->rates);
    g->cap = cap;
  }
  g->rates[g->nrates++] = r;
}

/* Waits for the queued batch, sampling and beating meanwhile. */
static bool wait_batch(struct gg *g, struct kiln_gemm_batch *b) {
  for (;;) {
    int rc = kiln_gemm_wait(g->h, 0.05, b, g->why, sizeof g->why);
    sample(g);
    progress(g, false);
    if (rc == 0)
      return true;
    if (rc != 2) {
      kiln_step_error(g->s, "GPU %s: %s GEMMs: %s", g->bus,
                      gemm_type_name(g->phase), g->why);
      return false;
    }
  }
}

/* One type's batches: how often results were checked, and the time. */
struct type_run {
  long every;               /* check every this many GEMMs */
  double gemm_ms, total_ms; /* in GEMMs; with the checks */
  uint64_t gemms;
};

/* Batches of one type's GEMMs until end (monotonic), each GEMM's rate in
 * g->rates. False when the step ended. */
static bool run_batches(struct gg *g, int type, double end,
                        const struct kiln_gemm_prep *prep, struct type_run *t) {
  struct kiln_step *s = g->s;
  double est = prep->gemm_ms;
  g->nrates = 0;
  do {
    double left = end - kiln_monotonic_now();
    int iters = gemm_batch_size(est, BATCH_S, left, KILN_GEMM_MAX_BATCH);
    struct kiln_gemm_batch b;
    if (kiln_gemm_launch(g->h, iters, (int)t->every, g->why, sizeof g->why)) {
      kiln_step_error(s, "GPU %s: %s GEMMs: %s", g->bus, gemm_type_name(type),
                      g->why);
      return false;
    }
    if (!wait_batch(g, &b))
      return false;
    for (int i = 0; i < b.gemms; i++)
      push_rate(g, gemm_tflops(g->p.size, b.each_ms[i]));
    if (b.gemms) /* the last GEMM's rate, as tflops_<type> */
      kiln_emit_running(s,
                        (const char *const[]){"tflops_fp64", "tflops_fp32",
                                              "tflops_tf32", "tflops_bf16",
                                              "tflops_fp8"}[type],
                        g->rates[g->nrates - 1], g->bus);
    t->gemms += (uint64_t)b.gemms;
    t->gemm_ms += b.gemm_ms;
    t->total_ms += b.total_ms;
    if (b.gemms)
      est = b.gemm_ms / b.gemms;
    if (!g->p.every)
      t->every = gemm_auto_every(est, prep->check_ms, CHECK_BUDGET);
  } while (kiln_monotonic_now() < end);
  return true;
}

/* One type's figure, its miscompares, and a line on how it ran. */
static void report_type(struct gg *g, int type, const struct type_run *t,
                        const struct kiln_gemm_check *c, uint64_t bytes) {
  struct kiln_step *s = g->s;
  const char *name = gemm_type_name(type);
  double median = gemm_median(g->rates, g->nrates);
  char mname[32];
  snprintf(mname, sizeof mname, "tflops_%s", name);
  kiln_emit_measurement(s, mname, median, g->bus);
  g->errors += c->count;
  if (c->count) {
    char msg[512];
    gemm_miscompare_message(msg, sizeof msg, g->bus, g->info.name, type,
                            g->p.size, c);
    kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "gpu-gemm-miscompare", g->bus, "%s",
                        msg);
  }
  if (c->inexact)
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "GPU %s: %llu %s result elements differed from the "
                  "reference in their last bits, within tolerance (cuBLAS "
                  "did not reproduce them exactly)",
                  g->bus, (unsigned long long)c->inexact, name);
  kiln_emit_log(
      s, KILN_SEV_INFO,
      "GPU %s: %s GEMMs %d x %d: %llu timed after the reference, %llu "
      "results checked (%s every %ld, the first and the last); per GEMM "
      "median %.1f, best %.1f, worst %.1f TFLOP/s; %.1f TFLOP/s with the "
      "checks (%.1f%% of the time beside the GEMMs); %.0f MiB on the GPU",
      g->bus, name, g->p.size, g->p.size, (unsigned long long)t->gemms,
      (unsigned long long)c->checks, g->p.every ? "set:" : "auto:", t->every,
      median, g->nrates ? g->rates[g->nrates - 1] : 0,
      g->nrates ? g->rates[0] : 0,
      t->total_ms > 0 ? gemm_tflops(g->p.size, t->total_ms / (double)t->gemms)
                      : 0,
      t->total_ms > 0 ? (t->total_ms - t->gemm_ms) / t->total_ms * 100 : 0,
      (double)bytes / 1048576.0);
}

/* Runs one type until end (monotonic). Returns false when the step ended;
 * *prepared says whether the type ran (FP8 may be refused). */
static bool run_type(struct gg *g, int type, double end, bool inject,
                     bool *prepared) {
  struct kiln_step *s = g->s;
  const char *name = gemm_type_name(type);
  struct kiln_gemm_prep prep;
  *prepared = false;
  g->phase = type;
  progress(g, true);
  int rc = kiln_gemm_prepare(g->h, type, g->p.size, g->p.seed, &prep, g->why,
                             sizeof g->why);
  if (rc == 1 && type == KILN_GEMM_FP8) {
    kiln_emit_log(s, KILN_SEV_INFO, "GPU %s: fp8 not measured: %s", g->bus,
                  g->why);
    return true;
  }
  if (rc) {
    kiln_step_error(s, "GPU %s: %s GEMM %d x %d: %s", g->bus, name, g->p.size,
                    g->p.size, g->why);
    return false;
  }
  *prepared = true;
  progress(g, true);
  if (inject) {
    uint64_t row, col;
    kiln_gemm_inject(g->h, &row, &col);
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "gpu.sdc injected: bit %d of element (row %llu, col %llu) "
                  "of the next checked %s result on GPU %s flipped between "
                  "its GEMM and its check",
                  gemm_sdc_bit(type), (unsigned long long)row,
                  (unsigned long long)col, name, g->bus);
  }
  struct type_run t = {
      .every = g->p.every
                   ? g->p.every
                   : gemm_auto_every(prep.gemm_ms, prep.check_ms, CHECK_BUDGET),
  };
  if (!run_batches(g, type, end, &prep, &t))
    return false;

  struct kiln_gemm_check c;
  if (kiln_gemm_check_last(g->h, g->why, sizeof g->why) ||
      kiln_gemm_read_check(g->h, &c, g->why, sizeof g->why)) {
    kiln_step_error(s, "GPU %s: %s GEMMs: %s", g->bus, name, g->why);
    return false;
  }
  report_type(g, type, &t, &c, prep.bytes);
  return true;
}

static void report_watch(struct gg *g) {
  char text[768];
  struct kiln_step *s = g->s;
  if (!g->watch)
    return;
  if (!g->w.clock_samples && !g->w.reason_samples) {
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "GPU %s: clocks not watched during load: NVML gave no "
                  "clock or clock event reading",
                  g->bus);
    return;
  }
  if (g->w.clock_samples)
    kiln_emit_measurement(s, "sm_clock_min_mhz", g->w.min_mhz, g->bus);
  if (gemm_watch_fail_text(&g->w, text, sizeof text))
    kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "gpu-clock-event", g->bus,
                        "GPU %s (%s): clocks held back under GEMM load: %s",
                        g->bus, g->info.name, text);
  else if (gemm_watch_brief_text(&g->w, text, sizeof text))
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "GPU %s: clocks held back under GEMM load, never for "
                  "%.1f s (not judged: brief ones are normal): %s",
                  g->bus, g->p.hold, text);
  if (gemm_watch_drop_text(&g->w, text, sizeof text))
    kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "gpu-clock-drop", g->bus,
                        "GPU %s (%s): %s", g->bus, g->info.name, text);
  unsigned long long normal = g->w.seen & ~KILN_NVML_CLOCKS_PROTECTING;
  kiln_nvml_clock_reasons_text(normal, text, sizeof text);
  kiln_emit_log(s, KILN_SEV_INFO,
                "GPU %s: %zu clock samples under load, SM clock %u MHz at "
                "the lowest (maximum %u MHz); other clock event reasons "
                "seen: %s%s",
                g->bus, g->w.clock_samples, g->w.min_mhz, g->w.max_mhz, text,
                normal & KILN_NVML_CLOCKS_SW_POWER_CAP
                    ? " (the power cap is normal under full GEMM load)"
                    : "");
}

static void run_cuda(struct kiln_step *s, const struct params *p) {
  struct gg g = {.s = s, .bus = kiln_step_target(s), .p = *p};
  g.start = kiln_monotonic_now();
  kiln_emit_progress(s, 0);
  int rc = kiln_gemm_open(g.bus, &g.h, &g.info, g.why, sizeof g.why);
  if (rc != 0) {
    kiln_step_error(s, "GPU %s: %s", g.bus, g.why);
    return;
  }
  int order[KILN_GEMM_NTYPES], k = 0;
  for (int t = 0; t < KILN_GEMM_NTYPES; t++) {
    if (!(p->types & (1u << t)))
      continue;
    if (t == KILN_GEMM_FP8 && !g.info.fp8)
      kiln_emit_log(s, KILN_SEV_INFO, "GPU %s: fp8 not measured: %s", g.bus,
                    g.info.fp8_why);
    else
      order[k++] = t;
  }
  if (k == 0) {
    kiln_step_error(s, "GPU %s: fp8 not measured: %s", g.bus, g.info.fp8_why);
    kiln_gemm_close(g.h);
    return;
  }
  char list[64] = "";
  for (int i = 0, used = 0; i < k; i++)
    used += snprintf(list + used, sizeof list - (size_t)used, "%s%s",
                     i ? ", " : "", gemm_type_name(order[i]));
  kiln_emit_log(s, KILN_SEV_INFO,
                "GPU %s (%s, compute capability %d.%d, %d SMs): %s, version "
                "%d; %d x %d GEMMs in %s, seed %llu",
                g.bus, g.info.name, g.info.cc_major, g.info.cc_minor,
                g.info.sms, g.info.cublas, g.info.cublas_version, p->size,
                p->size, list, (unsigned long long)p->seed);
  open_watch(&g);
  gemm_watch_init(&g.w, p->clock_share, DROP_HOLD, p->hold);

  /* gpu.sdc: BF16's result, else the first type's. */
  int inject_at = -1;
  if (kiln_step_inject(s, "gpu.sdc")) {
    inject_at = 0;
    for (int i = 0; i < k; i++)
      if (order[i] == KILN_GEMM_BF16)
        inject_at = i;
  }
  int measured = 0;
  bool ok = true;
  for (int i = 0; i < k && ok; i++) {
    double now = kiln_monotonic_now(), left = kiln_step_deadline(s) - now;
    double end = now + (left > 0 ? left : 0) / (double)(k - i);
    bool prepared = false;
    ok = run_type(&g, order[i], end, i == inject_at, &prepared);
    measured += prepared;
    if (ok && !prepared && i == inject_at)
      inject_at = i + 1; /* the type was refused: the next one then */
  }
  if (ok) {
    kiln_emit_measurement(s, "errors", (double)g.errors, g.bus);
    report_watch(&g);
    if (!measured)
      kiln_step_error(s, "GPU %s: no GEMM type could be measured", g.bus);
    else
      kiln_emit_progress(s, 1.0);
  }
  free(g.rates);
  kiln_gemm_close(g.h);
  kiln_nvml_close(g.nv);
}

static void gpu_gemm_run(struct kiln_step *s) {
  struct params p;
  if (!read_params(s, &p))
    return;
  run_cuda(s, &p);
}

#else

static void gpu_gemm_run(struct kiln_step *s) {
  struct params p;
  if (!read_params(s, &p))
    return;
  /* Planned only for a GPU on the bus, which this build cannot drive. */
  kiln_step_error(s, "this kiln was built without CUDA");
}

#endif

static const struct kiln_param_spec params[] = {
    {"size", "16384",
     "matrix size n (n x n, 256..32768, a multiple of 64); per type A, B, "
     "the result and the reference stay on the GPU (8 GiB for FP64 at "
     "16384); large enough that checking every result costs under 5%",
     .kind = KILN_PARAM_INTEGER, .min = 256, .max = 32768},
    {"types", "fp64,fp32,tf32,bf16,fp8",
     "GEMM types to run, in turn, each for an equal share of the step "
     "(fp64, fp32, tf32, bf16, fp8; fp8 where the GPU has it)",
     .kind = KILN_PARAM_WORDS, .words = "fp64|fp32|tf32|bf16|fp8"},
    {"seed", "1", "seed of the input matrices", .kind = KILN_PARAM_INTEGER},
    {"check_every", "1",
     "compare every k-th result with the reference (1: every result; the "
     "first timed and the last always); auto: as often as keeps the "
     "comparisons under 2% of the GEMM time",
     .kind = KILN_PARAM_INTEGER, .words = "auto", .min = 1, .max = 1000000},
    {"clock_share", "50%",
     "SM clock under this share of the GPU's maximum SM clock for two "
     "samples in a row under load is a clock drop (FAIL)",
     .kind = KILN_PARAM_SHARE},
    {"hold", "2s",
     "HW slowdown, HW or SW thermal slowdown or HW power brake held this "
     "long under load fails (a brief one is logged)",
     .kind = KILN_PARAM_DURATION},
    {0},
};

static const struct kiln_measurement_spec measurements[] = {
    {"tflops_fp64", "TFLOP/s",
     "FP64 GEMM rate, median GEMM (2 n^3 over the GEMM's own time)"},
    {"tflops_fp32", "TFLOP/s", "FP32 GEMM rate (no TF32), median GEMM"},
    {"tflops_tf32", "TFLOP/s", "TF32 tensor core GEMM rate, median GEMM"},
    {"tflops_bf16", "TFLOP/s",
     "BF16 GEMM rate (FP32 accumulation, BF16 out), median GEMM"},
    {"tflops_fp8", "TFLOP/s",
     "FP8 E4M3 GEMM rate (cuBLASLt, BF16 out), median GEMM"},
    {"errors", "",
     "result elements that differed from the reference beyond tolerance, "
     "all types (each one also FAILs the step)"},
    {"sm_clock_min_mhz", "MHz", "lowest SM clock sampled while GEMMs ran"},
    {NULL, NULL, NULL},
};

static const char *const faults[] = {"gpu.sdc", NULL};

const struct kiln_module kiln_module_gpu_gemm = {
    .name = "gpu.gemm",
    .summary = "cuBLAS GEMMs in FP64, FP32, TF32, BF16 and FP8 on each GPU, "
               "every checked result compared with the first",
    .targets = KILN_TARGETS_GPU,
    .gpu_needs =
        KILN_GPU_NEEDS_DRIVER | KILN_GPU_NEEDS_CUDA | KILN_GPU_NEEDS_CUBLAS,
    .stress = true,
    .params = params,
    .measurements = measurements,
    .faults = faults,
    .key_measurement = "tflops_bf16",
    .available = gpu_gemm_available,
    .run = gpu_gemm_run,
};
