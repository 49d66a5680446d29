/* pcie.bw: host-to-device, device-to-host and bidirectional copy bandwidth
 * of each GPU against its trained PCIe link.
 *
 * The step's thread is pinned to the CPUs of the GPU's NUMA node (sysfs
 * numa_node) before two pinned host buffers are allocated, so they lie in
 * that node's memory. Each round copies `size` bytes host-to-device,
 * device-to-host, then both at once on two streams, each copy timed with
 * CUDA events; rounds repeat until the step's deadline (at least
 * `min_reps`). A direction's figure is the median of its copies; the
 * bidirectional one is the bytes of both copies over the time from the
 * first one's start to the last one's end.
 *
 * The link the copies are judged against is the slowest one on the path
 * from the GPU to its root port (the GPU's own, and a PCIe switch's uplink
 * above it), each read from sysfs (LnkSta) while copies run: an idle GPU
 * trains its link down to save power. Its theoretical one-direction rate
 * is GT/s x lanes x line code / 8 (8b/10b to 5 GT/s, 128b/130b to 32 GT/s,
 * 242/256 flits at 64 GT/s); a direction under `link_share` of it is a
 * FAIL `pcie-bw-low`. A link trained below its capability is pcie.link's
 * business: here it is only named. At the end the data is checked: what
 * the last device-to-host copy brought back, and what the host-to-device
 * copies left on the GPU, must be the seeded pattern (FAIL
 * `pcie-bw-corrupt`).
 *
 * NVML's PCIe replay counter (link-level retransmissions: a marginal link
 * or riser) is read before and after the copies, and its rise is the
 * measurement pcie_replay_per_min, at most 8 by default: DCGM's limit (8
 * replays a minute, the most NVIDIA's driver team recommends). A step
 * shorter than a minute is judged as one (stress/gpu_counters.c). */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpuset.h"
#include "gpu_counters.h"
#include "gpu_xfer.h"
#include "gpu_xfer_math.h"
#include "kiln/gpu_access.h"
#include "kiln/gpu_enum.h"
#include "kiln/module.h"
#include "kiln/result.h"
#include "kiln/step.h"
#include "kiln/textutil.h"

static bool pcie_bw_available(char *why, size_t n) {
  return kiln_cuda_gpus_available(why, n);
}

#if KILN_HAVE_CUDA

#define MAX_PATH_LINKS 8
#define MAX_CPUS 4096

static const char *const dir_names[3] = {"host-to-device", "device-to-host",
                                         "bidirectional"};

/* Rates of one direction, GB/s. */
struct rates {
  double *v;
  size_t n, cap;
};

static void rates_add(struct rates *r, double x) {
  if (r->n == r->cap) {
    r->cap = r->cap ? 2 * r->cap : 256;
    r->v = kiln_xrealloc(r->v, r->cap * sizeof *r->v);
  }
  r->v[r->n++] = x;
}

/* Pins the calling thread to the GPU's NUMA node; logs what it did. */
static void pin_to_node(struct kiln_step *s, const char *bus, int node) {
  if (node < 0) {
    kiln_emit_log(s, KILN_SEV_INFO,
                  "GPU %s: NUMA node unknown (numa_node missing or -1): host "
                  "buffers not placed",
                  bus);
    return;
  }
  static int node_cpus[MAX_CPUS], allowed[MAX_CPUS];
  int nn = kiln_xfer_node_cpus(node, node_cpus, MAX_CPUS);
  int na = kiln_cpus_allowed(allowed, MAX_CPUS);
  if (nn <= 0) {
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "GPU %s: node %d's CPU list is unreadable or empty: host "
                  "buffers not placed",
                  bus, node);
    return;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  int used = 0;
  for (int i = 0; i < nn && i < MAX_CPUS; i++) {
    bool ok = na <= 0; /* affinity unknown: try the node's CPUs */
    for (int j = 0; j < na && j < MAX_CPUS && !ok; j++)
      ok = allowed[j] == node_cpus[i];
    if (ok && node_cpus[i] < CPU_SETSIZE) {
      CPU_SET(node_cpus[i], &set);
      used++;
    }
  }
  if (used == 0) {
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "GPU %s: none of node %d's CPUs is allowed to this process: "
                  "host buffers not placed",
                  bus, node);
    return;
  }
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "GPU %s: cannot pin to node %d's CPUs: %s", bus, node,
                  strerror(errno));
    return;
  }
  kiln_emit_log(s, KILN_SEV_INFO,
                "GPU %s: on NUMA node %d; step pinned to its %d CPU%s", bus,
                node, used, used == 1 ? "" : "s");
}

/* Reads the path's links and keeps, per link, the fastest reading: a link
 * trains up under load and down when idle. */
static void sample_links(const char *bus, struct kiln_xfer_link *best,
                         size_t *nbest) {
  struct kiln_xfer_link now[MAX_PATH_LINKS];
  size_t n = kiln_xfer_path_links(bus, now, MAX_PATH_LINKS);
  if (*nbest == 0) {
    memcpy(best, now, n * sizeof *now);
    *nbest = n;
    return;
  }
  for (size_t i = 0; i < n && i < *nbest; i++)
    if (now[i].ok && (!best[i].ok || now[i].gbps > best[i].gbps))
      best[i] = now[i];
}

/* Checks buf against the pattern; a FAIL when it differs. */
static void check_data(struct kiln_step *s, const char *bus, const void *buf,
                       size_t bytes, uint64_t seed, const char *what) {
  uint64_t idx = 0, want = 0, got = 0;
  uint64_t bad = kiln_xfer_pattern_check(buf, bytes, seed, &idx, &want, &got);
  if (bad == 0)
    return;
  kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "pcie-bw-corrupt", bus,
                      "GPU %s: %s: %llu of %zu words differ from what was "
                      "sent; first at byte offset 0x%llx: read 0x%016llx, "
                      "expected 0x%016llx (xor 0x%016llx)",
                      bus, what, (unsigned long long)bad, bytes / 8,
                      (unsigned long long)(idx * 8), (unsigned long long)got,
                      (unsigned long long)want,
                      (unsigned long long)(got ^ want));
}

static void judge(struct kiln_step *s, const char *bus, int dir,
                  double measured, const struct kiln_xfer_link *link,
                  const char *where, double share, size_t reps, size_t bytes) {
  if (!kiln_xfer_below_share(measured, link->gbps, share))
    return;
  char name[48];
  kiln_pcie_link_name(link->gts, link->lanes, name, sizeof name);
  kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "pcie-bw-low", bus,
                      "GPU %s: %s %.1f GB/s is below %.0f%% of its %s link%s "
                      "(%.1f GB/s theoretical, %.1f GB/s expected); median of "
                      "%zu copies of %zu MiB",
                      bus, dir_names[dir], measured, share * 100, name, where,
                      link->gbps, share * link->gbps, reps, bytes >> 20);
}

/* The parameters; false when the step has ended. */
static bool parse_params(struct kiln_step *s, uint64_t *size, long *min_reps,
                         long *seed, double *share) {
  if (!kiln_step_param_bytes(s, "size", 0, size) ||
      !kiln_step_param_long(s, "min_reps", min_reps) ||
      !kiln_step_param_long(s, "seed", seed) ||
      !kiln_step_param_share(s, "link_share", share))
    return false;
  *size &= ~(uint64_t)4095;
  if (*size == 0 || *size > (16ULL << 30)) {
    kiln_step_error(s, "parameter size = %s: want 4K to 16G",
                    kiln_step_param(s, "size"));
    return false;
  }
  if (*min_reps < 1) {
    kiln_step_error(s, "parameter min_reps = %ld is below 1", *min_reps);
    return false;
  }
  return true;
}

/* Opens the GPU with its pinned host buffers, fills them and logs where
 * they landed; NULL, with the step ended, when it cannot. */
static struct kiln_pciebw *open_buffers(struct kiln_step *s, const char *bus,
                                        uint64_t size, long seed, int node,
                                        struct kiln_pciebw_info *info) {
  char why[512];
  struct kiln_pciebw *h = NULL;
  int rc = kiln_pciebw_open(bus, (size_t)size, &h, info, why, sizeof why);
  if (rc != 0) {
    kiln_step_error(s, "GPU %s: %s", bus, why);
    return NULL;
  }
  kiln_xfer_pattern_fill(info->src, info->bytes, (uint64_t)seed);
  memset(info->dst, 0, info->bytes);
  int on = kiln_xfer_pages_node(info->src, info->bytes);
  if (node >= 0 && on >= 0 && on != node)
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "GPU %s: pinned host buffers landed on NUMA node %d, not "
                  "the GPU's node %d: figures include the inter-socket link",
                  bus, on, node);
  char placed[32] = "";
  if (on >= 0)
    snprintf(placed, sizeof placed, " on node %d", on);
  kiln_emit_log(s, KILN_SEV_INFO,
                "GPU %s (%s): copying 2 x %zu MiB of pinned host memory%s to "
                "and from the GPU; %d copy engine%s",
                bus, info->name, info->bytes >> 20, placed, info->copy_engines,
                info->copy_engines == 1 ? " (bidirectional copies serialise)"
                                        : "s");
  return h;
}

/* The path's links as read while copies ran, the fastest reading each. */
struct path_links {
  struct kiln_xfer_link link[MAX_PATH_LINKS];
  size_t n;
};

/* Rounds of copies each way and both at once from `start` until the
 * deadline (at least min_reps), their rates in r. */
static void copy_rounds(struct kiln_step *s, const char *bus,
                        struct kiln_pciebw *h, long min_reps, double start,
                        struct rates *r, struct path_links *links) {
  char why[512];
  double d = kiln_step_duration(s), last = start;
  double deadline = kiln_step_deadline(s);
  size_t rounds = 0;
  if (kiln_pciebw_prime(h, why, sizeof why) != 0)
    kiln_step_error(s, "GPU %s: %s", bus, why);
  while (!kiln_step_ended(s)) {
    double now = kiln_monotonic_now();
    /* min_reps rounds even past the deadline, but not without end. */
    if (rounds >= (size_t)min_reps ? !kiln_step_time_left(s)
                                   : rounds > 0 && now > deadline + 20)
      break;
    for (int dir = 0; dir < 3 && !kiln_step_ended(s); dir++) {
      double bytes = 0, ms = 0;
      if (kiln_pciebw_start(h, (enum kiln_xfer_dir)dir, why, sizeof why) != 0) {
        kiln_step_error(s, "GPU %s: %s", bus, why);
        break;
      }
      sample_links(bus, links->link, &links->n);
      if (kiln_pciebw_finish(h, &bytes, &ms, why, sizeof why) != 0) {
        kiln_step_error(s, "GPU %s: %s", bus, why);
        break;
      }
      rates_add(&r[dir], ms > 0 ? bytes / (ms / 1e3) / 1e9 : 0);
      kiln_emit_running(
          s, (const char *const[]){"h2d_gbps", "d2h_gbps", "bidir_gbps"}[dir],
          ms > 0 ? bytes / (ms / 1e3) / 1e9 : 0, bus);
    }
    rounds++;
    now = kiln_monotonic_now();
    if (now - last >= 0.25) {
      double f = d > 0 ? (now - start) / d : 1;
      kiln_emit_progress(s, f > 1 ? 1 : f);
      last = now;
    }
  }
}

/* The data came back as sent: what the last device-to-host copy brought,
 * and what the host-to-device copies left on the GPU. */
static void check_copies(struct kiln_step *s, const char *bus,
                         struct kiln_pciebw *h,
                         const struct kiln_pciebw_info *info, long seed) {
  char why[512];
  /* dst holds the last bidirectional copy's device-to-host half. */
  check_data(s, bus, info->dst, info->bytes, (uint64_t)seed,
             "device-to-host copy");
  if (kiln_pciebw_fetch(h, why, sizeof why) != 0)
    kiln_step_error(s, "GPU %s: %s", bus, why);
  else
    check_data(s, bus, info->dst, info->bytes, (uint64_t)seed,
               "host-to-device copy (read back)");
}

/* The medians (med[3]) against the slowest link of the path. */
static void judge_links(struct kiln_step *s, const char *bus, const double *med,
                        const struct path_links *links, double share,
                        const struct rates *r, size_t bytes) {
  int slow = kiln_xfer_slowest_link(links->link, links->n);
  if (slow < 0) {
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "GPU %s: PCIe link unknown (%s): bandwidth not judged "
                  "against it",
                  bus, links->n ? links->link[0].why : "not in sysfs");
    return;
  }
  const struct kiln_xfer_link *l = &links->link[slow];
  char name[48], where[64] = "";
  int num, den;
  const char *code = "";
  kiln_pcie_encoding(l->gts, &num, &den, &code);
  kiln_pcie_link_name(l->gts, l->lanes, name, sizeof name);
  if (slow > 0)
    snprintf(where, sizeof where, " (at upstream port %s)", l->bdf);
  kiln_emit_log(s, KILN_SEV_INFO,
                "GPU %s: judged against %s%s: %s, %.2f GB/s per "
                "direction; h2d %.0f%%, d2h %.0f%%, bidir %.0f%% of twice "
                "that",
                bus, name, where, code, l->gbps,
                100 * kiln_xfer_link_share(med[0], l->gbps),
                100 * kiln_xfer_link_share(med[1], l->gbps),
                100 * kiln_xfer_link_share(med[2], 2 * l->gbps));
  const struct kiln_xfer_link *own = &links->link[0];
  if (slow > 0 && own->ok) {
    char own_name[48];
    kiln_pcie_link_name(own->gts, own->lanes, own_name, sizeof own_name);
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "GPU %s: its own link is %s, but %s above it is "
                  "slower (%s)",
                  bus, own_name, l->bdf, name);
  }
  kiln_emit_measurement(s, "link_gbps", l->gbps, bus);
  kiln_emit_measurement(s, "h2d_link_share",
                        kiln_xfer_link_share(med[0], l->gbps), bus);
  kiln_emit_measurement(s, "d2h_link_share",
                        kiln_xfer_link_share(med[1], l->gbps), bus);
  judge(s, bus, 0, med[0], l, where, share, r[0].n, bytes);
  judge(s, bus, 1, med[1], l, where, share, r[1].n, bytes);
}

/* Each direction's median, then the link it is judged against. */
static void report(struct kiln_step *s, const char *bus, const struct rates *r,
                   const struct path_links *links, double share, size_t bytes) {
  double med[3];
  for (int dir = 0; dir < 3; dir++) {
    med[dir] = kiln_xfer_median(r[dir].v, r[dir].n);
    kiln_emit_log(s, KILN_SEV_INFO,
                  "GPU %s: %s: %zu copies; min %.2f, median %.2f, max "
                  "%.2f GB/s",
                  bus, dir_names[dir], r[dir].n, r[dir].v[0], med[dir],
                  r[dir].v[r[dir].n - 1]);
  }
  kiln_emit_measurement(s, "h2d_gbps", med[0], bus);
  kiln_emit_measurement(s, "d2h_gbps", med[1], bus);
  kiln_emit_measurement(s, "bidir_gbps", med[2], bus);
  judge_links(s, bus, med, links, share, r, bytes);
  kiln_emit_progress(s, 1.0);
}

static void pcie_bw_run(struct kiln_step *s) {
  const char *bus = kiln_step_target(s);
  uint64_t size;
  long min_reps, seed;
  double share;
  if (!parse_params(s, &size, &min_reps, &seed, &share))
    return;
  kiln_emit_progress(s, 0);

  cpu_set_t saved;
  bool restore = sched_getaffinity(0, sizeof saved, &saved) == 0;
  int node = kiln_xfer_numa_node(bus);
  pin_to_node(s, bus, node);

  struct kiln_pciebw_info info;
  struct kiln_pciebw *h = open_buffers(s, bus, size, seed, node, &info);
  if (!h) {
    if (restore)
      sched_setaffinity(0, sizeof saved, &saved);
    return;
  }

  kiln_nvml_device dev = NULL;
  struct kiln_gpu_counters before, after;
  struct kiln_nvml *nv =
      kiln_gpu_counters_open(s, bus, &dev, "pcie_replay_per_min not measured");
  if (nv)
    kiln_gpu_counters_read(nv, dev, &before);

  struct rates r[3] = {{0}};
  struct path_links links = {.n = 0};
  double start = kiln_monotonic_now();
  copy_rounds(s, bus, h, min_reps, start, r, &links);

  double copied_s = kiln_monotonic_now() - start;
  if (nv && !kiln_step_ended(s)) {
    kiln_gpu_counters_read(nv, dev, &after);
    kiln_gpu_replay_judge(s, bus, nv, &before, &after, copied_s);
  }
  kiln_nvml_close(nv);
  if (!kiln_step_ended(s))
    check_copies(s, bus, h, &info, seed);
  if (!kiln_step_ended(s))
    report(s, bus, r, &links, share, info.bytes);
  for (int dir = 0; dir < 3; dir++)
    free(r[dir].v);
  kiln_pciebw_close(h);
  if (restore)
    sched_setaffinity(0, sizeof saved, &saved);
}

#else

static void pcie_bw_run(struct kiln_step *s) {
  /* Planned only for a GPU on the bus, which this build cannot drive. */
  kiln_step_error(s, "this kiln was built without CUDA");
}

#endif

static const struct kiln_param_spec params[] = {
    {"size", "256M", "bytes per copy (and per buffer: 2 pinned, 2 on the GPU)",
     .kind = KILN_PARAM_SIZE, .min = 4 << 10, .max = 16.0 * (1 << 30)},
    {"min_reps", "10",
     "rounds (one copy each way and one bidirectional) at least",
     .kind = KILN_PARAM_INTEGER, .min = 1, .max = INFINITY},
    {"link_share", "80%",
     "FAIL pcie-bw-low when a direction's median is below this share of the "
     "trained link's theoretical rate",
     .kind = KILN_PARAM_SHARE},
    {"seed", "1", "seed of the data copied", .kind = KILN_PARAM_INTEGER},
    {0},
};

static const struct kiln_measurement_spec measurements[] = {
    {"h2d_gbps", "GB/s",
     "host-to-device copy rate from pinned memory on the GPU's NUMA node "
     "(median copy)"},
    {"d2h_gbps", "GB/s", "device-to-host copy rate (median copy)"},
    {"bidir_gbps", "GB/s",
     "both directions at once: bytes of both copies over their wall time "
     "(median)"},
    {"link_gbps", "GB/s",
     "theoretical one-direction rate of the slowest trained link between "
     "the GPU and its root port"},
    {"h2d_link_share", "", "h2d_gbps / link_gbps"},
    {"d2h_link_share", "", "d2h_gbps / link_gbps"},
    {"pcie_replay_per_min", "/min",
     "rise of NVML's PCIe replay counter during the copies, per minute (a "
     "step under a minute counts as one)"},
    {NULL, NULL, NULL},
};

/* DCGM's PCIe replay limit: 8 a minute (see the top of the file). */
static const struct kiln_default_limit default_limits[] = {
    {"pcie_replay_per_min", {.has_hi = true, .hi = 8}},
    {NULL, {0}},
};

const struct kiln_module kiln_module_pcie_bw = {
    .name = "pcie.bw",
    .summary = "host-to-device, device-to-host and bidirectional copy "
               "bandwidth of each GPU against its trained PCIe link",
    .targets = KILN_TARGETS_GPU,
    .gpu_needs = KILN_GPU_NEEDS_DRIVER | KILN_GPU_NEEDS_CUDA,
    .stress = true,
    /* GPUs behind one PCIe switch share its uplink: one GPU at a time. */
    .one_at_a_time = true,
    .params = params,
    .measurements = measurements,
    .default_limits = default_limits,
    .key_measurement = "h2d_gbps",
    .available = pcie_bw_available,
    .run = pcie_bw_run,
};
