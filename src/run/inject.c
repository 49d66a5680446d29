/* Faults a station can inject to prove kiln's detectors work. */
#include <string.h>

#include "run/inject.h"

const struct kiln_fault kiln_faults[] = {
    {"cpu.sdc", "cpu.compute",
     "one core's result corrupted once: cpu.compute must FAIL naming it"},
    {"dram.bitflip", "dram.patterns",
     "one bit flipped in the tested buffer: dram.patterns must FAIL with its "
     "address"},
    {"dram.bad_triad", "dram.bandwidth",
     "one triad result corrupted once: dram.bandwidth must FAIL with its "
     "address"},
    {"gpu.bitflip", "gpu.memtest",
     "one bit flipped in device memory between a write and its check: "
     "gpu.memtest must FAIL with its address"},
    {"gpu.sdc", "gpu.gemm",
     "one GEMM result element corrupted once: gpu.gemm must FAIL naming the "
     "GPU, the type and the element"},
    {"step.crash", NULL, "a step's process crashes: ERROR, the rest completes"},
    {"step.hang", NULL,
     "a step stops making progress: the watchdog ends it as ERROR"},
    {NULL, NULL, NULL},
};

const struct kiln_fault *kiln_fault_find(const char *name) {
  for (const struct kiln_fault *f = kiln_faults; f->name; f++)
    if (strcmp(f->name, name) == 0)
      return f;
  return NULL;
}
