/* NVML's error counters read before and after a GPU step, and what the
 * step makes of their rise (stress/gpu_counters.c, host C built with and
 * without CUDA, unit-tested over the fake NVML):
 *
 *   gpu.memtest  ECC mode, the volatile corrected and uncorrected ECC
 *                counts and the remapped rows (pending, failed): with ECC
 *                on, the hardware corrects single-bit flips before the
 *                patterns can see them, so they are counted here instead
 *   pcie.bw      the PCIe replay counter, judged as a rate
 *
 * Counters that went down (a driver reload resets volatile counts) count
 * what they read after: everything since the reset happened in the step. */
#ifndef KILN_STRESS_GPU_COUNTERS_H
#define KILN_STRESS_GPU_COUNTERS_H

#include <stdbool.h>

#include "kiln/nvml.h"

struct kiln_step;

/* One reading; each *_rc is NVML's return code (NOT_SUPPORTED when the
 * driver lacks the function). */
struct kiln_gpu_counters {
  kiln_nvml_return ecc_mode_rc;
  bool ecc_on; /* current ECC mode enabled */
  kiln_nvml_return corrected_rc, uncorrected_rc;
  unsigned long long corrected, uncorrected; /* volatile, device total */
  kiln_nvml_return rows_rc;
  unsigned int rows_corr, rows_unc, rows_pending, rows_failed;
  kiln_nvml_return replay_rc;
  unsigned int replay;
};

void kiln_gpu_counters_read(const struct kiln_nvml *nv, kiln_nvml_device dev,
                            struct kiln_gpu_counters *out);

/* Loads NVML and finds the GPU at bus; NULL after a WARNING log "GPU BUS:
 * NVML unavailable (why): <unchecked>" when it cannot. */
struct kiln_nvml *kiln_gpu_counters_open(struct kiln_step *s, const char *bus,
                                         kiln_nvml_device *dev,
                                         const char *unchecked);

/* gpu.memtest, before the patterns: what ECC means for them, in the log. */
void kiln_gpu_ecc_note(struct kiln_step *s, const char *bus,
                       const struct kiln_nvml *nv,
                       const struct kiln_gpu_counters *before);

/* gpu.memtest, after: an uncorrectable ECC error, a new pending row
 * remapping or a failed one are FAIL diagnoses naming the GPU (name: its
 * model); the corrected errors are the measurement ecc_corrected (0 with
 * ECC off: nothing was corrected, the patterns saw every flip); what NVML
 * could not read is logged, naming ecc_corrected where it is missing. */
void kiln_gpu_ecc_judge(struct kiln_step *s, const char *bus, const char *name,
                        const struct kiln_nvml *nv,
                        const struct kiln_gpu_counters *before,
                        const struct kiln_gpu_counters *after);

/* Replays per minute for a rise over seconds; a step shorter than a
 * minute is judged as one minute, so one replay in a 3 s step is 1 a
 * minute, not 20. */
double kiln_pcie_replay_rate(unsigned long long rise, double seconds);

/* pcie.bw, after: the measurement pcie_replay_per_min, or a log saying why
 * it was not measured. */
void kiln_gpu_replay_judge(struct kiln_step *s, const char *bus,
                           const struct kiln_nvml *nv,
                           const struct kiln_gpu_counters *before,
                           const struct kiln_gpu_counters *after,
                           double seconds);

#endif
