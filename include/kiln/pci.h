/* PCI devices and their PCIe links, read through libpci from the live bus
 * (sysfs) or from an `lspci -xxxx` capture (libpci's dump access method).
 * Layer: hw (src/hw/): uses core. */
#ifndef KILN_PCI_H
#define KILN_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* PCI Express device/port type (Express capability, flags bits 7:4). */
enum kiln_pcie_port {
  KILN_PCIE_NONE = -1, /* conventional PCI: no Express capability */
  KILN_PCIE_ENDPOINT = 0,
  KILN_PCIE_LEGACY_ENDPOINT = 1,
  KILN_PCIE_ROOT_PORT = 4,
  KILN_PCIE_UPSTREAM = 5,   /* switch upstream port */
  KILN_PCIE_DOWNSTREAM = 6, /* switch downstream port */
  KILN_PCIE_PCIE_TO_PCI = 7,
  KILN_PCIE_PCI_TO_PCIE = 8,
  KILN_PCIE_RC_ENDPOINT = 9, /* root complex integrated: has no link */
  KILN_PCIE_RC_EVENT = 10,
};

struct kiln_pcie_link {
  enum kiln_pcie_port port;
  bool has_link;  /* the port type has a link and LnkCap/LnkSta were read */
  double cap_gts; /* highest supported speed: LnkCap2 vector, else LnkCap */
  int cap_width;
  double sta_gts; /* trained (LnkSta); 0 when the link is down */
  int sta_width;
};

struct kiln_pci_aer {
  bool present;           /* has the AER extended capability */
  uint32_t uncorr_status; /* UESta */
  uint32_t uncorr_severity;
  uint32_t corr_status; /* CESta */
};

struct kiln_pci_device {
  char bdf[16]; /* "0000:1b:00.0" */
  int domain, bus, dev, func;
  uint16_t vendor_id, device_id;
  uint16_t subsys_vendor_id, subsys_device_id; /* 0 when none */
  uint32_t class_code;                /* class, subclass, prog-if: 0x030200 */
  uint8_t header_type;                /* 0 endpoint, 1 bridge, 2 cardbus */
  int secondary_bus, subordinate_bus; /* bridges; -1 otherwise */
  size_t config_len; /* bytes of config space available (64, 256, 4096) */
  int numa_node;     /* -1 unknown (always, from a dump) */
  char driver[64];   /* "" unknown */
  struct kiln_pcie_link link;
  struct kiln_pci_aer aer;
  /* Index in kiln_pci_bus.devs of the bridge whose secondary bus this
   * device is on (its upstream port), or -1. */
  long parent;
};

struct kiln_pci_bus {
  struct kiln_pci_device *devs; /* sorted by domain, bus, dev, func */
  size_t n;
  char *source; /* "live bus" or the dump's path */
  bool from_dump;
  void *access; /* libpci's pci_access, kept for name lookups */
};

/* Reads every device. dump: an `lspci -xxxx` capture, or NULL for the live
 * bus. Returns 0, or -1 with one line in err naming the file (missing,
 * unreadable, garbled, truncated, or no devices in it). */
int kiln_pci_scan(const char *dump, struct kiln_pci_bus *out, char *err,
                  size_t n);
void kiln_pci_free(struct kiln_pci_bus *bus);

const struct kiln_pci_device *kiln_pci_find(const struct kiln_pci_bus *bus,
                                            const char *bdf);
/* Names from pci.ids, looked up on first use (loading pci.ids costs more
 * than a whole scan). Falls back to "Device 10de:2330" style names. */
void kiln_pci_vendor_name(const struct kiln_pci_bus *bus,
                          const struct kiln_pci_device *d, char *buf, size_t n);
void kiln_pci_device_name(const struct kiln_pci_bus *bus,
                          const struct kiln_pci_device *d, char *buf, size_t n);
void kiln_pci_class_name(const struct kiln_pci_bus *bus,
                         const struct kiln_pci_device *d, char *buf, size_t n);

/* Device classes kiln cares about. */
bool kiln_pci_is_nvidia_gpu(const struct kiln_pci_device *d); /* 10de, 03xx */
bool kiln_pci_is_nic(const struct kiln_pci_device *d);        /* class 02xx */
bool kiln_pci_is_nvme(const struct kiln_pci_device *d);       /* 010802 */

/* 2.5 -> 1, 5 -> 2, 8 -> 3, 16 -> 4, 32 -> 5, 64 -> 6; 0 when unknown. */
int kiln_pcie_generation(double gts);
/* "32 GT/s x16" (or "link down"). */
void kiln_pcie_link_text(double gts, int width, char *buf, size_t n);

/* AER error counters from sysfs (aer_dev_correctable, aer_dev_fatal,
 * aer_dev_nonfatal: their TOTAL_ERR_* lines), live bus only. Returns 0, or
 * -1 when the kernel does not expose them for this device. */
struct kiln_aer_counters {
  uint64_t correctable, fatal, nonfatal;
};
int kiln_aer_counters_read(const char *bdf, struct kiln_aer_counters *out);

#endif
