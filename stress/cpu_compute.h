/* cpu.compute's kernels, exposed for its unit tests. */
#ifndef KILN_STRESS_CPU_COMPUTE_H
#define KILN_STRESS_CPU_COMPUTE_H

#include <stdbool.h>

/* Lanes of state every kernel advances: 16 chains of 8 doubles, so the
 * AVX-512 kernel holds 16 independent zmm accumulators. */
#define CPU_FMA_LANES 128

enum cpu_fma_kernel {
  CPU_FMA_PORTABLE,
  CPU_FMA_AVX2,
  CPU_FMA_AVX512,
  CPU_FMA_NKERNELS
};

const char *cpu_fma_kernel_name(enum cpu_fma_kernel k);
bool cpu_fma_kernel_supported(enum cpu_fma_kernel k);
/* Initial state (same every time: the reference is computed once). */
void cpu_fma_init(double *state /* [CPU_FMA_LANES], 64-byte aligned */);
/* Advances every lane by `pairs` pairs of dependent FMAs; every kernel gives
 * bitwise the same result as the portable one. */
void cpu_fma_run(enum cpu_fma_kernel k, double *state, long pairs);

#endif
