/* The NVIDIA GPUs on the PCI bus, found from sysfs without touching CUDA
 * (kiln_sysfs_pci_devices()), and the answer CUDA modules give to
 * available(): whether there is any GPU to test.
 * Layer: hw (src/hw/): uses core. */
#ifndef KILN_GPU_ENUM_H
#define KILN_GPU_ENUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* GPUs on the PCI bus (NVIDIA display/3D controllers). Fills up to max bus ids;
 * returns the count. */
size_t kiln_gpu_enumerate(char (*bus_ids)[16], size_t max);
/* The GPU's vendor and device ids from sysfs ($KILN_SYSFS_PCI, else
 * /sys/bus/pci/devices); false when unreadable. */
bool kiln_gpu_pci_id(const char *bus_id, uint16_t *vendor, uint16_t *device);
/* For CUDA modules' available(): false with "built without CUDA" or "no
 * NVIDIA GPU found on the PCI bus", else true with "N NVIDIA GPUs". */
bool kiln_cuda_gpus_available(char *why, size_t n);

#endif
