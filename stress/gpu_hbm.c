/* Theoretical device-memory bandwidth of NVIDIA data-center GPUs, for the
 * GPU memory bench (tests/bench/gpu_mem_bench.c) and for SKU limits: by PCI
 * device id, else by the model name, else from the memory clock and bus
 * width the driver reports. Host C, built with and without CUDA. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "gpu_mem.h"
#include "kiln/gpu_enum.h"

/* NVIDIA's data-sheet figures, GB/s (10^9 bytes a second). */
static const struct kiln_hbm_spec by_id[] = {
    {0x2330, "H100 SXM5 80GB", 3350}, {0x2331, "H100 PCIe 80GB", 2000},
    {0x2321, "H100 NVL 94GB", 3900},  {0x2335, "H200 SXM 141GB", 4800},
    {0x20b2, "A100 SXM4 80GB", 2039}, {0x20b0, "A100 SXM4 40GB", 1555},
    {0x20b5, "A100 PCIe 80GB", 1935},
};

/* Substrings of the driver's model names (nvmlDeviceGetName, cudaDeviceProp
 * name), most specific first. */
static const struct {
  const char *needle;
  struct kiln_hbm_spec spec;
} by_name[] = {
    {"H200", {0, "H200", 4800}},
    {"H100 NVL", {0, "H100 NVL 94GB", 3900}},
    {"H100 PCIe", {0, "H100 PCIe 80GB", 2000}},
    {"H100 80GB HBM3", {0, "H100 SXM5 80GB", 3350}},
    {"A100-SXM4-80GB", {0, "A100 SXM4 80GB", 2039}},
    {"A100-SXM4-40GB", {0, "A100 SXM4 40GB", 1555}},
    {"A100 80GB PCIe", {0, "A100 PCIe 80GB", 1935}},
};

static bool contains(const char *hay, const char *needle) {
  size_t n = 0;
  while (needle[n])
    n++;
  for (; *hay; hay++)
    if (strncasecmp(hay, needle, n) == 0)
      return true;
  return false;
}

const struct kiln_hbm_spec *kiln_hbm_lookup(unsigned pci_device_id,
                                            const char *name) {
  for (size_t i = 0; i < sizeof by_id / sizeof *by_id; i++)
    if (pci_device_id && by_id[i].device_id == pci_device_id)
      return &by_id[i];
  for (size_t i = 0; name && i < sizeof by_name / sizeof *by_name; i++)
    if (contains(name, by_name[i].needle))
      return &by_name[i].spec;
  return NULL;
}

double kiln_hbm_gbps_from_clock(double clock_khz, int bus_bits) {
  if (!(clock_khz > 0) || bus_bits <= 0)
    return 0;
  /* Double data rate: two transfers a clock of bus_bits / 8 bytes. */
  return 2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;
}

unsigned kiln_gpu_pci_device_id(const char *bus_id) {
  uint16_t vendor, device;
  return kiln_gpu_pci_id(bus_id, &vendor, &device) ? device : 0;
}
