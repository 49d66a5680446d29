/* The one table of modules, in the order `kiln list` shows them. */
#include "kiln/module.h"

extern const struct kiln_module kiln_module_cpu_compute;
extern const struct kiln_module kiln_module_dram_patterns;
extern const struct kiln_module kiln_module_dram_bandwidth;
extern const struct kiln_module kiln_module_gpu_query;
extern const struct kiln_module kiln_module_gpu_memtest, kiln_module_gpu_membw;
extern const struct kiln_module kiln_module_gpu_health;
extern const struct kiln_module kiln_module_gpu_gemm;
extern const struct kiln_module kiln_module_gpu_power;
extern const struct kiln_module kiln_module_pcie_link;
extern const struct kiln_module kiln_module_pcie_bw, kiln_module_gpu_p2p;
extern const struct kiln_module kiln_module_fans;
extern const struct kiln_module kiln_module_inventory_check;
extern const struct kiln_module kiln_module_thermal;
extern const struct kiln_module kiln_module_edac;

const struct kiln_module *const kiln_modules[] = {
    &kiln_module_inventory_check,
    &kiln_module_cpu_compute,
    &kiln_module_dram_bandwidth,
    &kiln_module_dram_patterns,
    &kiln_module_gpu_query,
    &kiln_module_gpu_memtest,
    &kiln_module_gpu_membw,
    &kiln_module_gpu_gemm,
    &kiln_module_gpu_power,
    &kiln_module_gpu_health,
    &kiln_module_pcie_link,
    &kiln_module_pcie_bw,
    &kiln_module_gpu_p2p,
    &kiln_module_fans,
    &kiln_module_thermal,
    &kiln_module_edac,
    NULL,
};
