/* Host-side view of pcie.bw's and gpu.p2p's CUDA code (C linkage), in
 * stress/pcie_bw.cu and stress/gpu_p2p.cu, built only with CUDA=1; and
 * gpu.p2p's NVLink checks through NVML (stress/gpu_p2p.c), built always.
 *
 * The CUDA functions return 0 on success, 1 when no usable driver or device
 * is present (reason in why: a SKIP), -1 on a CUDA error (reason in why: an
 * ERROR). */
#ifndef KILN_GPU_XFER_H
#define KILN_GPU_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- pcie.bw ----------------------------------------------------------- */

enum kiln_xfer_dir {
  KILN_XFER_H2D,   /* pinned host -> device */
  KILN_XFER_D2H,   /* device -> pinned host */
  KILN_XFER_BIDIR, /* both at once, on two streams */
};

struct kiln_pciebw;

struct kiln_pciebw_info {
  char name[256];   /* "NVIDIA H100 80GB HBM3" */
  size_t bytes;     /* per buffer */
  void *src;        /* pinned host buffer the H2D copies read */
  void *dst;        /* pinned host buffer the D2H copies write */
  int copy_engines; /* asyncEngineCount: 1 serialises BIDIR's two copies */
};

/* Opens the GPU at bus_id, allocates two pinned host buffers (in the
 * calling thread: pin it to the GPU's NUMA node first) and two device
 * buffers of bytes each, and creates one stream per direction. The caller
 * fills info->src, then calls kiln_pciebw_prime(). */
int kiln_pciebw_open(const char *bus_id, size_t bytes, struct kiln_pciebw **out,
                     struct kiln_pciebw_info *info, char *why, size_t n);
/* Copies src into both device buffers (untimed), so the D2H copies carry
 * the pattern too. */
int kiln_pciebw_prime(struct kiln_pciebw *h, char *why, size_t n);
/* Starts one timed copy of the whole buffer in direction dir: H2D src ->
 * device buffer A, D2H device buffer B -> dst, BIDIR both at once. Returns
 * at once; the host may look at the link while it runs. */
int kiln_pciebw_start(struct kiln_pciebw *h, enum kiln_xfer_dir dir, char *why,
                      size_t n);
/* Waits for the copy started last: *bytes moved (both directions for
 * BIDIR) in *ms, from the first copy's start to the last one's end on the
 * GPU (CUDA events). */
int kiln_pciebw_finish(struct kiln_pciebw *h, double *bytes, double *ms,
                       char *why, size_t n);
/* Copies device buffer A (where the H2D copies landed) into dst and waits:
 * dst then holds what the last H2D copy delivered. */
int kiln_pciebw_fetch(struct kiln_pciebw *h, char *why, size_t n);
void kiln_pciebw_close(struct kiln_pciebw *h);

/* --- gpu.p2p ----------------------------------------------------------- */

struct kiln_p2p;

/* Opens the GPUs at bus_ids[0..n) (each mapped to its CUDA device by bus
 * id), allocates a source and a destination buffer of bytes on each, and
 * enables peer access for every ordered pair (i, j) where CUDA says i can
 * access j. Calls tick(ctx) after each GPU (a heartbeat: a context takes a
 * while), when not NULL. */
int kiln_p2p_open(const char (*bus_ids)[16], size_t n, size_t bytes,
                  void (*tick)(void *ctx), void *ctx, struct kiln_p2p **out,
                  char *why, size_t wn);
/* The CUDA device name of GPU i. */
const char *kiln_p2p_name(const struct kiln_p2p *h, size_t i);
/* 1 when GPU i reaches GPU j's memory directly (peer access enabled), 0
 * when copies go through the host; *note says why not ("no peer access",
 * or the enabling call's error), "" when direct. */
int kiln_p2p_direct(const struct kiln_p2p *h, size_t i, size_t j,
                    const char **note);
/* One timed cudaMemcpyPeerAsync of the whole buffer from GPU i to GPU j, on
 * a stream of GPU i: *bytes and *ms (CUDA events for a direct copy; on the
 * host, to the stream's completion, for one staged through the host). */
int kiln_p2p_copy(struct kiln_p2p *h, size_t i, size_t j, double *bytes,
                  double *ms, char *why, size_t wn);
/* One-way latency from GPU i to GPU j in microseconds, median of reps runs:
 * with peer access, a one-thread kernel on GPU i chasing `loads` dependent
 * pointers through GPU j's memory (volatile loads, so each one crosses the
 * link: the time per load is a read's round trip); without it, 10 x reps
 * 4-byte cudaMemcpyPeerAsync copies through the host, each timed on the
 * host to its completion. *chase says which was used. */
int kiln_p2p_latency(struct kiln_p2p *h, size_t i, size_t j, int reps,
                     int loads, double *us, bool *chase, char *why, size_t wn);
void kiln_p2p_close(struct kiln_p2p *h);

/* --- gpu.p2p's NVLink checks (NVML; no CUDA) ----------------------------- */

struct kiln_nvml;

/* The NVLink error counters compared before and after: CRC flit, CRC data,
 * replay, recovery (KILN_NVML_NVLINK_ERROR_*). */
#define KILN_NVLINK_COUNTERS 4
extern const int kiln_nvlink_counter_ids[KILN_NVLINK_COUNTERS];
extern const char *const kiln_nvlink_counter_names[KILN_NVLINK_COUNTERS];

/* One GPU as NVML saw it at one moment. rc fields are NVML return codes. */
struct kiln_nvlink_gpu {
  char bus[16];
  int dev_rc;                       /* finding the GPU by bus id */
  int links_rc;                     /* kiln_nvml_nvlink_active */
  unsigned int links;               /* active NVLinks (when links_rc is 0) */
  int err_rc[KILN_NVLINK_COUNTERS]; /* per counter: 0 when read */
  unsigned long long err[KILN_NVLINK_COUNTERS]; /* summed over links */
};

/* Reads every GPU's active links and error counters. */
void kiln_nvlink_snapshot(const struct kiln_nvml *nv, const char (*bus_ids)[16],
                          size_t n, struct kiln_nvlink_gpu *out);

/* A counter that rose, on one GPU. */
struct kiln_nvlink_delta {
  size_t gpu;  /* index into the snapshots */
  int counter; /* index into kiln_nvlink_counter_* */
  unsigned long long before, after;
  bool fails; /* a replay or recovery counter: any rise fails */
};

/* Every counter read both times that rose from before to after (a counter
 * that went down, as after a driver reload, counts as no rise), up to max
 * into out. As DCGM does, a replay or recovery rise fails at once (fails
 * set); CRC errors are judged as a rate (kiln_nvlink_crc_rate). Returns
 * how many rose (may exceed max). */
size_t kiln_nvlink_compare(const struct kiln_nvlink_gpu *before,
                           const struct kiln_nvlink_gpu *after, size_t n,
                           struct kiln_nvlink_delta *out, size_t max);
/* The rise of the counters in group over GPU gpu: group 0 is CRC (flit +
 * data), 1 replay + recovery. -1 when neither snapshot read any of them. */
double kiln_nvlink_increase(const struct kiln_nvlink_gpu *before,
                            const struct kiln_nvlink_gpu *after, int group);
/* CRC errors (flit + data) per second over seconds between the two
 * snapshots; -1 when neither counter was read both times or seconds is
 * not positive. gpu.p2p emits it as nvlink_crc_per_s, whose limit (DCGM:
 * 100 a second) the SKU files of NVLink GPUs set. */
double kiln_nvlink_crc_rate(const struct kiln_nvlink_gpu *before,
                            const struct kiln_nvlink_gpu *after,
                            double seconds);
/* "GPU 0000:1b:00.0: NVLink replay errors rose from 5 to 9 (+4) during
 * the P2P copies; any rise fails", or for CRC "...; judged as a rate
 * (nvlink_crc_per_s)". */
void kiln_nvlink_delta_message(const struct kiln_nvlink_gpu *gpus,
                               const struct kiln_nvlink_delta *d, char *buf,
                               size_t n);

#ifdef __cplusplus
}
#endif

#endif
