/* Internal to the inventory: one collector per source (inventory_*.c) and
 * the small readers they share. Not a public header. */
#ifndef KILN_INVENTORY_SOURCES_H
#define KILN_INVENTORY_SOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kiln/inventory.h"
#include "kiln/sysfs.h"

/* Reads the first line of $KILN_SYSROOT + path: trailing white space
 * trimmed, invalid UTF-8 and control bytes replaced. malloc'd; "" when the
 * file is missing or unreadable (then *found, when given, is false). */
char *kiln_inv_read_line(const char *path, bool *found);
/* The same for dir + "/" + name (dir already under the sysroot or not:
 * this one does not add the prefix). */
char *kiln_inv_read_attr(const char *dir, const char *name);
/* malloc'd copy of len bytes of firmware text: trailing spaces trimmed,
 * invalid UTF-8 and control bytes replaced. */
char *kiln_inv_clean_text(const char *s, size_t len);
/* The PCI function a sysfs `device` link leads to: the last path component
 * of the link (or, failing that, of its resolved target) that reads as a
 * bus id ("0000:1b:00.0"). Written lower-case into bdf; false when none. */
bool kiln_inv_link_bdf(const char *link, char *bdf, size_t n);
/* Whether a string is a PCI bus id: domain (4 to 8 hex digits), bus,
 * device, function. */
bool kiln_inv_is_bdf(const char *s, size_t len);

/* A sysfs class directory's devices by the PCI function of their `device`
 * link: "eth0" of /sys/class/net at 0000:1b:00.0. */
struct kiln_inv_by_bdf {
  char bdf[32];
  char name[256];
};
/* The entries of $KILN_SYSROOT + class_dir whose names start with prefix
 * ("" for any) and lead to a PCI function, into *out (malloc'd; NULL and 0
 * when there are none, or no such directory). */
size_t kiln_inv_scan_class(const char *class_dir, const char *prefix,
                           struct kiln_inv_by_bdf **out);
/* The first entry of bdf by name ("eth0" before "eth1"), or NULL. */
const char *kiln_inv_find_by_bdf(const struct kiln_inv_by_bdf *t, size_t n,
                                 const char *bdf);

/* Whether the sysfs details of PCI devices (net, RDMA and NVMe class
 * devices) may be read for this bus: on the live bus, or when $KILN_SYSROOT
 * is set (a fixture tree of the same machine as the capture). Never for a
 * capture analysed on another machine. */
bool kiln_inv_sysfs_matches_bus(const struct kiln_pci_bus *bus);

/* The collectors. Each fills its part, never fails: what it cannot read
 * stays "" (or 0) and, where the part has one, a note says why. */
void kiln_inv_collect_dmi(struct kiln_inv_dmi *dmi);
void kiln_inv_collect_cpu(struct kiln_inv_cpu *cpu);
void kiln_inv_collect_memory(struct kiln_inv_memory *mem);
void kiln_inv_collect_nics(struct kiln_inventory *inv);
void kiln_inv_collect_nvme(struct kiln_inventory *inv);
void kiln_inv_collect_gpus(struct kiln_inventory *inv, bool use_nvml);
/* Names, serials and UUIDs of inv->gpus from an open NVML; returns the
 * note (malloc'd, "" when NVML knew every GPU). */
struct kiln_nvml;
char *kiln_inv_gpus_from_nvml(struct kiln_inventory *inv,
                              const struct kiln_nvml *nv);

/* The memory devices (SMBIOS type 17) of a raw SMBIOS structure table, as
 * /sys/firmware/dmi/tables/DMI holds it. Appends every slot to mem->dimms
 * and adds the populated sizes to mem->dimm_total_bytes. Bounds-checked
 * throughout: returns 0, or -1 with a one-line reason in why when the
 * table is malformed (the slots read before the fault are kept). */
int kiln_inv_smbios_dimms(const uint8_t *table, size_t len,
                          struct kiln_inv_memory *mem, char *why, size_t n);
/* "DDR5" for SMBIOS memory type 0x22, ...; "" for 0. */
const char *kiln_inv_smbios_memory_type(unsigned type, char *buf, size_t n);

void kiln_inv_dimm_free(struct kiln_inv_dimm *d);

#endif
