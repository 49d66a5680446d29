/* Host-side view of gpu.memtest's and gpu.membw's CUDA code (C linkage),
 * in stress/gpu_memtest.cu and stress/gpu_membw.cu. Built only with CUDA=1
 * (except the host C at the end, stress/gpu_hbm.c).
 *
 * Every function returns 0 on success, 1 when no usable driver or device
 * is present (reason in why: a SKIP), -1 on a CUDA error (reason in why:
 * an ERROR; a sticky error leaves the device unusable, so the step ends). */
#ifndef KILN_GPU_MEM_H
#define KILN_GPU_MEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gpat_error;

struct kiln_gpu_mem_info {
  char name[256];
  uint64_t free_bytes, total_bytes; /* before the allocation */
  uint64_t bytes;                   /* allocated and tested */
  int chunks;                       /* allocations it took */
};

/* --- gpu.memtest ------------------------------------------------------ */
struct kiln_gpumt;

/* What a gpu.memtest call returns, besides 0, 1 and -1, when CUDA reports
 * an uncorrectable ECC error (cudaErrorECCUncorrectable): the memory
 * failed, not kiln (a FAIL, not an ERROR). */
#define KILN_GPUMT_ECC_UNCORRECTABLE 2

/* Opens the GPU at bus_id and allocates share (0..1] of its free memory,
 * in one piece or, when that fails, in chunks. */
int kiln_gpumt_open(const char *bus_id, double share, struct kiln_gpumt **out,
                    struct kiln_gpu_mem_info *info, char *why, size_t n);
/* Writes pattern (kind, pass) over all tested memory. */
int kiln_gpumt_write(struct kiln_gpumt *h, int kind, uint64_t pass,
                     uint64_t seed, char *why, size_t n);
/* Checks all memory against (kind, pass); when write_next, writes
 * (kind, pass ^ 1) into each word right after checking it (moving
 * inversions: R <-> ~R); down: descending order. Counts wrong words in *errors
 * and records up to max of them in errs (*recorded). */
int kiln_gpumt_check(struct kiln_gpumt *h, int kind, uint64_t pass,
                     uint64_t seed, int write_next, int down, uint64_t *errors,
                     struct gpat_error *errs, size_t max, size_t *recorded,
                     char *why, size_t n);
/* The device address of the word at index, and its byte offset in the
 * tested memory. */
uint64_t kiln_gpumt_address(const struct kiln_gpumt *h, uint64_t index);
uint64_t kiln_gpumt_words(const struct kiln_gpumt *h);
/* Reads the word at index (a second look at a wrong word). */
int kiln_gpumt_read(struct kiln_gpumt *h, uint64_t index, uint64_t *value,
                    char *why, size_t n);
/* gpu.bitflip: xors mask into the word at index (copy out, xor, copy in). */
int kiln_gpumt_flip(struct kiln_gpumt *h, uint64_t index, uint64_t mask,
                    char *why, size_t n);
void kiln_gpumt_close(struct kiln_gpumt *h);

/* --- gpu.membw -------------------------------------------------------- */
struct kiln_gpubw;

/* Opens the GPU and allocates two equal buffers totalling share of its
 * free memory, filled with a seeded random pattern. */
int kiln_gpubw_open(const char *bus_id, double share, uint64_t seed,
                    struct kiln_gpubw **out, struct kiln_gpu_mem_info *info,
                    char *why, size_t n);
/* One timed copy (16-byte loads and stores) from one buffer to the other,
 * alternating direction: *bytes read plus written, *ms on the GPU. */
int kiln_gpubw_copy(struct kiln_gpubw *h, double *bytes, double *ms, char *why,
                    size_t n);
/* After at least one copy, checks both buffers still hold the pattern: wrong
 * words in *errors, the first one's index, expected and actual in *first. */
int kiln_gpubw_verify(struct kiln_gpubw *h, uint64_t *errors,
                      struct gpat_error *first, uint64_t *first_addr, char *why,
                      size_t n);
void kiln_gpubw_close(struct kiln_gpubw *h);

/* --- references for the memory bench (tests/bench/gpu_mem_bench.c) --- */

/* One cudaMemcpyAsync device-to-device copy between gpu.membw's two
 * buffers, alternating direction like kiln_gpubw_copy and timed the same
 * way: *bytes read plus written (twice a buffer), *ms on the GPU. */
int kiln_gpubw_memcpy_ref(struct kiln_gpubw *h, double *bytes, double *ms,
                          char *why, size_t n);
/* The GPU's peak memory clock (kHz) and memory bus width (bits) as the
 * driver reports them (cudaDevAttrMemoryClockRate and
 * cudaDevAttrGlobalMemoryBusWidth); 1 with the reason when it reports
 * neither or no device is usable. */
int kiln_gpu_mem_clock(const char *bus_id, int *clock_khz, int *bus_bits,
                       char *why, size_t n);

/* --- host C, built with and without CUDA (stress/gpu_hbm.c) ---------- */

/* A GPU's theoretical device-memory bandwidth (data sheet). */
struct kiln_hbm_spec {
  unsigned device_id; /* PCI device id; 0 in the name table */
  const char *model;
  double gbps; /* 10^9 bytes a second */
};
/* By PCI device id (0: unknown), else by a substring of the model name
 * (NULL: none); NULL when neither is in the table. */
const struct kiln_hbm_spec *kiln_hbm_lookup(unsigned pci_device_id,
                                            const char *name);
/* 2 x clock x bus width / 8 (double data rate) in GB/s; 0 when either is
 * unknown (<= 0). */
double kiln_hbm_gbps_from_clock(double clock_khz, int bus_bits);
/* The PCI device id of the device at bus_id from sysfs
 * ($KILN_SYSFS_PCI or /sys/bus/pci/devices); 0 when unreadable. */
unsigned kiln_gpu_pci_device_id(const char *bus_id);

#ifdef __cplusplus
}
#endif

#endif
