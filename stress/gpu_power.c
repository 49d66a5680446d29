/* gpu.power: sustained load near the power limit.
 *
 * The load (gpu_power.cu): tensor-core MMA chains, FP32 FMA chains and a
 * streaming copy over device memory in every block, launched back to back
 * in launches of about 75 ms for the step's duration. Meanwhile NVML is
 * read every 250 ms: power draw, enforced limit, temperature, SM clock,
 * clock-event reasons and the energy counter. After the first `warmup`
 * seconds (the ramp-up, not judged):
 *
 *   - the mean power (from the energy counter where it is usable, else the
 *     mean of the power readings) under power_share x the enforced limit
 *     is a FAIL `gpu-power-low`: the GPU cannot draw the power it is rated
 *     for (clocks held down, a power delivery fault, a wrong limit);
 *   - a thermal slowdown (HW thermal, SW thermal, HW slowdown) held for
 *     `hold` seconds or more is a FAIL `gpu-thermal-throttle`;
 *   - a HW power brake held for `hold` is a FAIL `gpu-power-brake`.
 *
 * Shorter ones are logged: NVML says HW slowdown also fires briefly on
 * power-excursion protection and P-state changes. The SW power cap is the
 * expected state at full load and only logged.
 * The judging is host C (gpu_power_judge.c), tested without a GPU. Without
 * NVML the step cannot judge: an ERROR before it loads the GPU.
 *
 * power_share 85% by default: at full load a healthy GPU sits at its SW
 * power cap, its mean within a few percent of the limit; 85% leaves room
 * for the cap's undershoot and for a load that draws a little less on some
 * SKUs, and is well above what a GPU held at low clocks draws. SKU files
 * set their own. */
#include <stdio.h>
#include <string.h>

#include "gpu_power_judge.h"
#include "kiln/gpu_access.h"
#include "kiln/gpu_enum.h"
#include "kiln/module.h"
#include "kiln/result.h"
#include "kiln/step.h"

#if KILN_HAVE_CUDA
#include "gpu_power.h"
#endif

#define LAUNCH_MS 75.0
#define SAMPLE_INTERVAL 0.25 /* seconds */

static bool gpu_power_available(char *why, size_t n) {
  return kiln_cuda_gpus_available(why, n);
}

#if KILN_HAVE_CUDA

struct cuda_load {
  struct kiln_gpupow *h;
};

static int load_open(void *ctx, const char *bus, char *info, size_t info_n,
                     char *why, size_t n) {
  struct cuda_load *l = ctx;
  struct kiln_gpupow_info gi;
  int rc = kiln_gpupow_open(bus, LAUNCH_MS, &l->h, &gi, why, n);
  if (rc == 0)
    snprintf(info, info_n,
             "%d blocks of %d threads on %d SMs (%d MMA/FMA and %d copying "
             "warps each, copy over 2 x %llu MiB), %ld iterations a launch "
             "of %.0f ms",
             gi.blocks, gi.threads, gi.sms, gi.compute_warps, gi.memory_warps,
             (unsigned long long)(gi.stream_bytes >> 21), gi.iters,
             gi.launch_ms);
  return rc;
}

static int load_step(void *ctx, char *why, size_t n) {
  struct cuda_load *l = ctx;
  return kiln_gpupow_step(l->h, why, n);
}

static int load_finish(void *ctx, char *summary, size_t summary_n, char *why,
                       size_t n) {
  struct cuda_load *l = ctx;
  struct kiln_gpupow_stats st;
  int rc = kiln_gpupow_finish(l->h, &st, why, n);
  if (rc == 0) {
    double sec = st.gpu_ms / 1e3;
    snprintf(summary, summary_n,
             "%llu launches, %.1f s on the GPU: %.1f TFLOP/s (MMA and FMA), "
             "copy %.0f GB/s",
             (unsigned long long)st.launches, sec,
             sec > 0 ? st.flops / sec / 1e12 : 0,
             sec > 0 ? st.bytes / sec / 1e9 : 0);
  }
  return rc;
}

static void load_close(void *ctx) {
  struct cuda_load *l = ctx;
  kiln_gpupow_close(l->h);
  l->h = NULL;
}

static void gpu_power_run(struct kiln_step *s) {
  struct cuda_load l = {NULL};
  const struct kiln_power_load load = {
      .ctx = &l,
      .open = load_open,
      .step = load_step,
      .finish = load_finish,
      .close = load_close,
  };
  kiln_power_run(s, &load, SAMPLE_INTERVAL);
}

#else

static void gpu_power_run(struct kiln_step *s) {
  /* Planned only for a GPU on the bus, which this build cannot drive. */
  kiln_step_error(s, "this kiln was built without CUDA");
}

#endif

static const struct kiln_param_spec params[] = {
    {"power_share", "85%",
     "mean power under load (after the warmup) must reach this share of the "
     "enforced power limit (85%, 0.85)",
     .kind = KILN_PARAM_SHARE},
    {"warmup", "5s", "ramp-up at the start of the load left out of judging",
     .kind = KILN_PARAM_DURATION},
    {"hold", "2s",
     "a thermal slowdown (HW thermal, SW thermal, HW slowdown) or HW power "
     "brake held this long fails (a brief one is logged)",
     .kind = KILN_PARAM_DURATION},
    {0},
};

static const struct kiln_measurement_spec measurements[] = {
    {"power_w", "W",
     "mean board power under load after the warmup (energy counter, else "
     "power readings)"},
    {"power_limit_w", "W", "enforced power limit during the load"},
    {"power_share", "", "power_w / power_limit_w"},
    {"temp_max_c", "C", "highest GPU temperature under load"},
    {"sm_clock_mhz", "MHz", "mean SM clock under load"},
    {NULL, NULL, NULL},
};

const struct kiln_module kiln_module_gpu_power = {
    .name = "gpu.power",
    .summary = "sustained tensor, FMA and memory load near each GPU's power "
               "limit: mean power, thermal slowdowns, power brake",
    .targets = KILN_TARGETS_GPU,
    .gpu_needs = KILN_GPU_NEEDS_DRIVER | KILN_GPU_NEEDS_CUDA,
    .stress = true,
    .params = params,
    .measurements = measurements,
    .key_measurement = "power_w",
    .available = gpu_power_available,
    .run = gpu_power_run,
};
