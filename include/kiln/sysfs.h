/* Where kiln reads the machine's /sys and /proc: the live tree, or a
 * fixture tree under $KILN_SYSROOT (tests, `kiln inventory` of a captured
 * machine). NVIDIA GPUs are found under $KILN_SYSFS_PCI when set (a
 * fixture bus beside a live machine), else /sys/bus/pci/devices.
 * Layer: hw (src/hw/): uses core. */
#ifndef KILN_SYSFS_H
#define KILN_SYSFS_H

#include <stdbool.h>
#include <stddef.h>

/* $KILN_SYSROOT + path ("/sys/class/net"): the fixture tree, or path. */
void kiln_sysroot_path(char *buf, size_t n, const char *path);
/* Whether $KILN_SYSROOT names a fixture tree. */
bool kiln_sysroot_set(void);
/* The PCI devices directory GPUs are enumerated from. */
const char *kiln_sysfs_pci_devices(void);

#endif
