/* gpu.p2p: bandwidth and latency between every ordered pair of GPUs, over
 * NVLink or PCIe, and the NVLinks themselves: how many are up, and whether
 * their error counters rose while the copies ran.
 *
 * One step for the whole host, over every NVIDIA GPU on the PCI bus (--gpus
 * does not narrow it). Each GPU is mapped to its CUDA device by bus id, and
 * peer access is enabled wherever CUDA allows it. For each ordered pair
 * (source i, destination j) in turn, with the step's duration split evenly
 * between pairs: cudaMemcpyPeerAsync copies of `size` bytes from i to j on
 * a stream of i (at least `min_reps`), `p2p_gbps` their median rate; then
 * `p2p_latency_us`: with peer access, the median time per load of a
 * one-thread kernel on i chasing dependent pointers through j's memory
 * (volatile loads: a read's round trip over the link); without it, the
 * median 4-byte copy through the host. Pairs without peer access are
 * measured through the host and logged; with `require_p2p` they FAIL
 * `p2p-no-peer`. Both matrices go to the log as tables.
 *
 * Through NVML (without it: a warning, and these checks are skipped): each
 * GPU's active NVLinks (`nvlinks`, the SKU sets nvlinks.min), and its
 * NVLink CRC (flit, data), replay and recovery counters summed over links
 * before and after the copies. As DCGM judges them: any replay or recovery
 * is a FAIL `nvlink-errors` naming the GPU, the counter and both values;
 * CRC errors, which a healthy link sees now and then, are a rate,
 * `nvlink_crc_per_s` (the SKU files of NVLink GPUs set its .max to DCGM's
 * 100; a GPU without NVLink cannot measure it, so no profile sets it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_xfer.h"
#include "gpu_xfer_math.h"
#include "kiln/gpu_access.h"
#include "kiln/gpu_enum.h"
#include "kiln/module.h"
#include "kiln/nvml.h"
#include "kiln/result.h"
#include "kiln/step.h"
#include "kiln/textutil.h"

#define MAX_GPUS 64

/* --- NVLink checks through NVML (no CUDA) -------------------------------- */

const int kiln_nvlink_counter_ids[KILN_NVLINK_COUNTERS] = {
    KILN_NVML_NVLINK_ERROR_DL_CRC_FLIT,
    KILN_NVML_NVLINK_ERROR_DL_CRC_DATA,
    KILN_NVML_NVLINK_ERROR_DL_REPLAY,
    KILN_NVML_NVLINK_ERROR_DL_RECOVERY,
};
const char *const kiln_nvlink_counter_names[KILN_NVLINK_COUNTERS] = {
    "CRC flit",
    "CRC data",
    "replay",
    "recovery",
};

void kiln_nvlink_snapshot(const struct kiln_nvml *nv, const char (*bus_ids)[16],
                          size_t n, struct kiln_nvlink_gpu *out) {
  for (size_t i = 0; i < n; i++) {
    struct kiln_nvlink_gpu *g = &out[i];
    memset(g, 0, sizeof *g);
    snprintf(g->bus, sizeof g->bus, "%.15s", bus_ids[i]);
    kiln_nvml_device dev;
    g->dev_rc = kiln_nvml_device_by_bus(nv, g->bus, &dev);
    if (g->dev_rc != KILN_NVML_SUCCESS) {
      g->links_rc = g->dev_rc;
      for (int c = 0; c < KILN_NVLINK_COUNTERS; c++)
        g->err_rc[c] = g->dev_rc;
      continue;
    }
    g->links_rc = kiln_nvml_nvlink_active(nv, dev, &g->links);
    for (int c = 0; c < KILN_NVLINK_COUNTERS; c++)
      g->err_rc[c] = kiln_nvml_nvlink_errors(
          nv, dev, kiln_nvlink_counter_ids[c], &g->err[c]);
  }
}

/* Replay and recovery (indexes 2, 3 of kiln_nvlink_counter_ids), as
 * against CRC flit and data (0, 1). */
static bool is_replay(int counter) { return counter >= 2; }

size_t kiln_nvlink_compare(const struct kiln_nvlink_gpu *before,
                           const struct kiln_nvlink_gpu *after, size_t n,
                           struct kiln_nvlink_delta *out, size_t max) {
  size_t count = 0;
  for (size_t i = 0; i < n; i++)
    for (int c = 0; c < KILN_NVLINK_COUNTERS; c++) {
      if (before[i].err_rc[c] != KILN_NVML_SUCCESS ||
          after[i].err_rc[c] != KILN_NVML_SUCCESS ||
          after[i].err[c] <= before[i].err[c])
        continue;
      if (count < max)
        out[count] = (struct kiln_nvlink_delta){
            .gpu = i,
            .counter = c,
            .before = before[i].err[c],
            .after = after[i].err[c],
            .fails = is_replay(c),
        };
      count++;
    }
  return count;
}

double kiln_nvlink_increase(const struct kiln_nvlink_gpu *before,
                            const struct kiln_nvlink_gpu *after, int group) {
  double sum = -1;
  for (int c = 2 * group; c < 2 * group + 2 && c < KILN_NVLINK_COUNTERS; c++) {
    if (c < 0 || before->err_rc[c] != KILN_NVML_SUCCESS ||
        after->err_rc[c] != KILN_NVML_SUCCESS)
      continue;
    if (sum < 0)
      sum = 0;
    if (after->err[c] > before->err[c])
      sum += (double)(after->err[c] - before->err[c]);
  }
  return sum;
}

double kiln_nvlink_crc_rate(const struct kiln_nvlink_gpu *before,
                            const struct kiln_nvlink_gpu *after,
                            double seconds) {
  double rise = kiln_nvlink_increase(before, after, 0);
  return rise < 0 || !(seconds > 0) ? -1 : rise / seconds;
}

void kiln_nvlink_delta_message(const struct kiln_nvlink_gpu *gpus,
                               const struct kiln_nvlink_delta *d, char *buf,
                               size_t n) {
  snprintf(buf, n,
           "GPU %s: NVLink %s errors rose from %llu to %llu (+%llu) during "
           "the P2P copies; %s",
           gpus[d->gpu].bus, kiln_nvlink_counter_names[d->counter], d->before,
           d->after, d->after - d->before,
           d->fails ? "any rise fails" : "judged as a rate (nvlink_crc_per_s)");
}

/* --- the module ----------------------------------------------------------- */

/* Whether count GPUs make a pair; else the step's SKIP reason in why. */
static bool enough_gpus(size_t count, char *why, size_t n) {
  if (count >= 2)
    return true;
  snprintf(why, n, "needs at least 2 GPUs; this machine has %zu", count);
  return false;
}

/* The probe, kiln list's: the step's own count first, as its run decides. */
static bool gpu_p2p_available(char *why, size_t n) {
  char ids[MAX_GPUS][16];
  size_t count = kiln_gpu_enumerate(ids, MAX_GPUS);
  if (!enough_gpus(count, why, n) || !kiln_cuda_gpus_available(why, n))
    return false;
  snprintf(why, n, "%zu NVIDIA GPUs: %zu ordered pairs", count,
           count * (count - 1));
  return true;
}

#if KILN_HAVE_CUDA

/* Loads NVML and takes the before snapshot; logs what it cannot check.
 * Returns NULL without NVML. */
static struct kiln_nvml *nvlink_before(struct kiln_step *s,
                                       const char (*ids)[16], size_t n,
                                       struct kiln_nvlink_gpu *before) {
  char why[256];
  struct kiln_nvml *nv = kiln_nvml_open(why, sizeof why);
  if (!nv) {
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "NVML unavailable (%s): NVLink count and error counters "
                  "not checked",
                  why);
    return NULL;
  }
  kiln_nvlink_snapshot(nv, ids, n, before);
  for (size_t i = 0; i < n; i++) {
    const struct kiln_nvlink_gpu *g = &before[i];
    if (g->dev_rc != KILN_NVML_SUCCESS) {
      kiln_emit_log(s, KILN_SEV_WARNING,
                    "GPU %s: NVML cannot find it (%s): its NVLinks are not "
                    "checked",
                    g->bus, kiln_nvml_error(nv, g->dev_rc));
      continue;
    }
    if (g->links_rc == KILN_NVML_SUCCESS) {
      kiln_emit_measurement(s, "nvlinks", g->links, g->bus);
      kiln_emit_log(s, KILN_SEV_INFO, "GPU %s: %u active NVLink%s", g->bus,
                    g->links, g->links == 1 ? "" : "s");
    } else {
      kiln_emit_log(s, KILN_SEV_WARNING, "GPU %s: NVLink state: %s", g->bus,
                    kiln_nvml_error(nv, g->links_rc));
    }
  }
  return nv;
}

/* seconds: since the before snapshot. */
static void nvlink_after(struct kiln_step *s, struct kiln_nvml *nv,
                         const char (*ids)[16], size_t n,
                         const struct kiln_nvlink_gpu *before, double seconds) {
  static struct kiln_nvlink_gpu after[MAX_GPUS];
  kiln_nvlink_snapshot(nv, ids, n, after);
  struct kiln_nvlink_delta d[64];
  size_t nd = kiln_nvlink_compare(before, after, n, d, 64);
  for (size_t k = 0; k < nd && k < 64; k++) {
    char msg[512];
    kiln_nvlink_delta_message(after, &d[k], msg, sizeof msg);
    if (d[k].fails)
      kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "nvlink-errors",
                          after[d[k].gpu].bus, "%s", msg);
    else
      kiln_emit_log(s, KILN_SEV_WARNING, "%s", msg);
  }
  if (nd > 64)
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "%zu NVLink counters rose in all; the first 64 are shown",
                  nd);
  for (size_t i = 0; i < n; i++) {
    double crc = kiln_nvlink_increase(&before[i], &after[i], 0);
    double replay = kiln_nvlink_increase(&before[i], &after[i], 1);
    double rate = kiln_nvlink_crc_rate(&before[i], &after[i], seconds);
    if (crc >= 0)
      kiln_emit_measurement(s, "nvlink_crc_increase", crc, after[i].bus);
    if (rate >= 0)
      kiln_emit_measurement(s, "nvlink_crc_per_s", rate, after[i].bus);
    if (replay >= 0)
      kiln_emit_measurement(s, "nvlink_replay_increase", replay, after[i].bus);
  }
}

/* Emits a matrix as a header line and one log line per row. */
static void log_matrix(struct kiln_step *s, const char *title, size_t n,
                       const char (*ids)[16], const double *v,
                       const bool *staged, int decimals) {
  size_t len = kiln_p2p_matrix_format(n, ids, v, staged, decimals, NULL, 0);
  char *buf = kiln_xcalloc(len + 1, 1);
  kiln_p2p_matrix_format(n, ids, v, staged, decimals, buf, len + 1);
  kiln_emit_log(s, KILN_SEV_INFO, "%s", title);
  for (char *line = buf, *next; line; line = next) {
    next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    kiln_emit_log(s, KILN_SEV_INFO, "%s", line);
  }
  free(buf);
}

static void heartbeat(void *ctx) { kiln_emit_progress(ctx, 0); }

/* One measuring pass over every ordered pair. */
struct p2p_pass {
  struct kiln_step *s;
  struct kiln_p2p *h;
  const char (*ids)[16];
  size_t n;
  uint64_t size;
  long min_reps;
  bool require_p2p;
  double *bw, *lat; /* n x n, -1 where not measured */
  bool *staged;     /* n x n: through the host */
  double *rates;    /* one pair's copies */
  size_t cap;
  size_t pairs, done;
  double start, last, d, deadline; /* progress */
};

/* Copies from GPU i to GPU j for the pair's share of what is left of the
 * step (at least min_reps); returns how many, their rates in P->rates. */
static size_t pair_copies(struct p2p_pass *P, size_t i, size_t j,
                          const char *hwid) {
  struct kiln_step *s = P->s;
  char why[512];
  /* What is left of the step, shared by the pairs still to go. */
  double now = kiln_monotonic_now();
  double budget = (P->deadline - now) / (double)(P->pairs - P->done);
  double pair_end = now + (budget > 0 ? budget : 0);
  size_t nr = 0;
  while (nr < (size_t)P->min_reps || kiln_monotonic_now() < pair_end) {
    double bytes = 0, ms = 0;
    if (kiln_p2p_copy(P->h, i, j, &bytes, &ms, why, sizeof why) != 0) {
      kiln_step_error(s, "GPU %s -> GPU %s: %s", P->ids[i], P->ids[j], why);
      break;
    }
    if (nr == P->cap) {
      P->cap *= 2;
      P->rates = kiln_xrealloc(P->rates, P->cap * sizeof *P->rates);
    }
    P->rates[nr++] = ms > 0 ? bytes / (ms / 1e3) / 1e9 : 0;
    kiln_emit_running(s, "p2p_gbps", P->rates[nr - 1], hwid);
    now = kiln_monotonic_now();
    if (now - P->last >= 0.25) {
      double f = P->d > 0 ? (now - P->start) / P->d
                          : (double)P->done / (double)P->pairs;
      kiln_emit_progress(s, f > 1 ? 1 : f);
      P->last = now;
    }
  }
  return nr;
}

/* Bandwidth and latency of one ordered pair; false when the step ended. */
static bool measure_pair(struct p2p_pass *P, size_t i, size_t j) {
  struct kiln_step *s = P->s;
  const char(*ids)[16] = P->ids;
  size_t n = P->n;
  char why[512], hwid[40];
  snprintf(hwid, sizeof hwid, "%s->%s", ids[i], ids[j]);
  const char *note = "";
  bool direct = kiln_p2p_direct(P->h, i, j, &note) == 1;
  P->staged[i * n + j] = !direct;
  if (!direct) {
    if (P->require_p2p)
      kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "p2p-no-peer", hwid,
                          "GPU %s -> GPU %s: no direct peer access (%s); "
                          "require_p2p is set",
                          ids[i], ids[j], note);
    else
      kiln_emit_log(s, KILN_SEV_INFO,
                    "GPU %s -> GPU %s: %s: measured through the host", ids[i],
                    ids[j], note);
  }
  size_t nr = pair_copies(P, i, j, hwid);
  if (kiln_step_ended(s))
    return false;
  double us = 0;
  bool chase = false;
  if (kiln_p2p_latency(P->h, i, j, 5, 2000, &us, &chase, why, sizeof why) !=
      0) {
    kiln_step_error(s, "GPU %s -> GPU %s: latency: %s", ids[i], ids[j], why);
    return false;
  }
  double med = kiln_xfer_median(P->rates, nr);
  P->bw[i * n + j] = med;
  P->lat[i * n + j] = us;
  kiln_emit_measurement(s, "p2p_gbps", med, hwid);
  kiln_emit_measurement(s, "p2p_latency_us", us, hwid);
  kiln_emit_log(s, KILN_SEV_DEBUG,
                "GPU %s -> GPU %s (%s): %zu copies of %llu MiB, min %.1f, "
                "median %.1f, max %.1f GB/s; latency %.2f us (%s)",
                ids[i], ids[j], direct ? "peer" : "through the host", nr,
                (unsigned long long)(P->size >> 20), P->rates[0], med,
                P->rates[nr - 1], us,
                chase ? "pointer chase over peer memory"
                      : "4-byte copy through the host");
  P->done++;
  kiln_emit_progress(s, (double)P->done / (double)P->pairs);
  P->last = kiln_monotonic_now();
  return true;
}

static void gpu_p2p_measure(struct kiln_step *s, const char (*ids)[16],
                            size_t n, uint64_t size, long min_reps,
                            bool require_p2p) {
  char why[512];
  struct kiln_p2p *h = NULL;
  int rc =
      kiln_p2p_open(ids, n, (size_t)size, heartbeat, s, &h, why, sizeof why);
  if (rc != 0) {
    kiln_step_error(s, "%s", why);
    return;
  }
  for (size_t i = 0; i < n; i++)
    kiln_emit_log(s, KILN_SEV_INFO, "GPU %zu: %s (%s)", i, ids[i],
                  kiln_p2p_name(h, i));

  static struct kiln_nvlink_gpu before[MAX_GPUS];
  struct kiln_nvml *nv = nvlink_before(s, ids, n, before);
  double snapped = kiln_monotonic_now();

  struct p2p_pass P = {
      .s = s,
      .h = h,
      .ids = ids,
      .n = n,
      .size = size,
      .min_reps = min_reps,
      .require_p2p = require_p2p,
      .bw = kiln_xcalloc(n * n, sizeof *P.bw),
      .lat = kiln_xcalloc(n * n, sizeof *P.lat),
      .staged = kiln_xcalloc(n * n, sizeof *P.staged),
      .cap = 256,
      .pairs = n * (n - 1),
  };
  P.rates = kiln_xcalloc(P.cap, sizeof *P.rates);
  P.start = P.last = kiln_monotonic_now();
  P.d = kiln_step_duration(s);
  P.deadline = kiln_step_deadline(s);
  for (size_t k = 0; k < n * n; k++)
    P.bw[k] = P.lat[k] = -1;

  bool going = true;
  for (size_t i = 0; i < n && going && !kiln_step_ended(s); i++)
    for (size_t j = 0; j < n && going && !kiln_step_ended(s); j++)
      if (i != j)
        going = measure_pair(&P, i, j);

  if (!kiln_step_ended(s)) {
    log_matrix(s,
               "P2P bandwidth, GB/s (row: source GPU, column: destination; "
               "median cudaMemcpyPeerAsync; * through the host):",
               n, ids, P.bw, P.staged, 1);
    log_matrix(s,
               "P2P latency, us (row: source GPU, column: destination; "
               "pointer chase over peer memory; * 4-byte copy through the "
               "host):",
               n, ids, P.lat, P.staged, 2);
  }
  /* The counters are read after the copies even when one failed: errors
   * that rose before the failure are worth knowing. */
  if (nv) {
    nvlink_after(s, nv, ids, n, before, kiln_monotonic_now() - snapped);
    kiln_nvml_close(nv);
  }
  if (!kiln_step_ended(s))
    kiln_emit_progress(s, 1.0);
  free(P.rates);
  free(P.staged);
  free(P.lat);
  free(P.bw);
  kiln_p2p_close(h);
}

#endif

static void gpu_p2p_run(struct kiln_step *s) {
  uint64_t size;
  long min_reps;
  struct kiln_param_value require;
  if (!kiln_step_param_bytes(s, "size", 0, &size) ||
      !kiln_step_param_long(s, "min_reps", &min_reps) ||
      !kiln_step_param_value(s, "require_p2p", &require))
    return;
  if (size < 4096 || size > (16ULL << 30)) {
    kiln_step_error(s, "parameter size = %s: want 4K to 16G",
                    kiln_step_param(s, "size"));
    return;
  }
  if (min_reps < 1) {
    kiln_step_error(s, "parameter min_reps = %ld is below 1", min_reps);
    return;
  }
  static char ids[MAX_GPUS][16];
  size_t n = kiln_gpu_enumerate(ids, MAX_GPUS);
  char why[128];
  if (!enough_gpus(n, why, sizeof why)) {
    kiln_step_skip(s, "%s", why);
    return;
  }
#if KILN_HAVE_CUDA
  kiln_emit_progress(s, 0);
  gpu_p2p_measure(s, (const char(*)[16])ids, n, size, min_reps,
                  require.number != 0);
#else
  /* Planned only for a GPU on the bus, which this build cannot drive. */
  kiln_step_error(s, "this kiln was built without CUDA");
#endif
}

static const struct kiln_param_spec params[] = {
    {"size", "256M", "bytes per peer copy (2 buffers of it on every GPU)",
     .kind = KILN_PARAM_SIZE, .min = 4 << 10, .max = 16.0 * (1 << 30)},
    {"min_reps", "5",
     "timed copies per ordered pair at least; the step's duration is split "
     "evenly between the pairs",
     .kind = KILN_PARAM_INTEGER, .min = 1, .max = INFINITY},
    {"require_p2p", "no",
     "yes: a pair without direct peer access is a FAIL (p2p-no-peer), not "
     "just measured through the host",
     .kind = KILN_PARAM_BOOL},
    {0},
};

static const struct kiln_measurement_spec measurements[] = {
    {"p2p_gbps", "GB/s",
     "copy rate from one GPU to another (hwid src->dst; median "
     "cudaMemcpyPeerAsync)"},
    {"p2p_latency_us", "us",
     "one-way latency (hwid src->dst): median time per dependent load from "
     "peer memory, or per 4-byte copy through the host without peer access"},
    {"nvlinks", "", "active NVLinks of a GPU; set nvlinks.min from the SKU"},
    {"nvlink_crc_increase", "",
     "rise of a GPU's NVLink CRC flit + CRC data error counts during the "
     "copies"},
    {"nvlink_crc_per_s", "/s",
     "a GPU's NVLink CRC flit + data errors per second during the copies; "
     "set .max (DCGM: 100, in the SKU files of NVLink GPUs)"},
    {"nvlink_replay_increase", "",
     "rise of a GPU's NVLink replay + recovery counts during the copies "
     "(any rise also FAILs the step)"},
    {NULL, NULL, NULL},
};

const struct kiln_module kiln_module_gpu_p2p = {
    .name = "gpu.p2p",
    .summary = "P2P bandwidth and latency between every pair of GPUs, active "
               "NVLinks and their error counters",
    .targets = KILN_TARGETS_HOST,
    .gpu_needs = KILN_GPU_NEEDS_DRIVER | KILN_GPU_NEEDS_CUDA,
    .stress = true,
    .params = params,
    .measurements = measurements,
    .key_measurement = "p2p_gbps",
    .available = gpu_p2p_available,
    .run = gpu_p2p_run,
};
