/* The machine's inventory: DMI, CPUs, DIMMs, PCIe devices, NICs, NVMe
 * drives and GPUs. One collector per source (src/inventory/inventory_*.c) fills
 * one part; kiln_inventory_collect() runs them all. Paths under /sys and /proc
 * take the prefix in $KILN_SYSROOT, so tests can run on fixture trees.
 * Layer: inventory (src/inventory/): uses core, hw and config. */
#ifndef KILN_INVENTORY_H
#define KILN_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kiln/pci.h"

struct kiln_inv_dmi {
  char *sys_vendor, *product, *serial, *board_serial;
  char *bios_vendor, *bios_version, *bios_date; /* "" when unknown */
};

struct kiln_inv_cpu {
  char *model;                 /* "" unknown */
  char *microcode;             /* "0x2b000571", or "" */
  int sockets, cores, threads; /* cores: physical, all sockets */
  int numa_nodes;
};

struct kiln_inv_dimm {
  char *locator, *bank_locator;
  bool populated;
  uint64_t size_bytes; /* 0 when empty */
  char *type;          /* "DDR5" */
  int speed_mts;       /* configured speed, else rated; 0 unknown */
  char *manufacturer, *part_number, *serial;
};

struct kiln_inv_memory {
  uint64_t mem_total_bytes;    /* MemTotal: what the kernel can use */
  uint64_t dimm_total_bytes;   /* sum of populated DIMMs (SMBIOS) */
  struct kiln_inv_dimm *dimms; /* every slot, empty ones too */
  size_t n_dimms;
  char *dimm_note; /* why there is no DIMM list ("needs root"), or "" */
};

struct kiln_inv_nic {
  char *bdf;  /* PCI function */
  char *name; /* device name from pci.ids */
  uint16_t vendor_id, device_id;
  char *ifname;    /* "eth0", "ib0", or "" (no driver, or a dump) */
  char *ib_device; /* "mlx5_0", or "" */
  bool infiniband;
  double speed_bps; /* 0 unknown */
  char *link_state; /* "up", "down", "ACTIVE", ... or "" */
  char *mac;        /* or "" */
  char *firmware;   /* or "" */
};

struct kiln_inv_nvme {
  char *bdf, *name;                /* PCI function and pci.ids name */
  char *ctrl;                      /* "nvme0", or "" */
  char *model, *serial, *firmware; /* "" when unknown */
};

struct kiln_inv_gpu {
  char *bdf, *pci_name;
  uint16_t device_id;
  int numa_node;
  char *name, *serial, *uuid; /* from NVML, "" without it */
};

struct kiln_inventory {
  struct kiln_inv_dmi dmi;
  struct kiln_inv_cpu cpu;
  struct kiln_inv_memory memory;
  struct kiln_pci_bus pci;
  struct kiln_inv_nic *nics;
  size_t n_nics;
  struct kiln_inv_nvme *nvmes;
  size_t n_nvmes;
  struct kiln_inv_gpu *gpus;
  size_t n_gpus;
  char *nvml_note; /* why GPU names/serials are missing, or "" */
};

struct kiln_inventory_options {
  const char *pci_dump; /* read PCI from this capture, or NULL: live */
  bool skip_nvml;       /* do not load NVML */
};

/* Returns 0, or -1 with one line in err (only the PCI scan can fail: a bad
 * dump). A source that is not there leaves its part empty with a note. */
int kiln_inventory_collect(struct kiln_inventory *inv,
                           const struct kiln_inventory_options *o, char *err,
                           size_t n);
void kiln_inventory_free(struct kiln_inventory *inv);

/* For people: a table. For programs: JSON (a jansson json_t *, returned as
 * void * so this header does not pull in jansson). */
void kiln_inventory_print(const struct kiln_inventory *inv, FILE *f);
void *kiln_inventory_to_json(const struct kiln_inventory *inv);

/* Adds the inventory's parts to run->hardware for the reports: each CPU
 * socket, populated DIMM, GPU, NIC and NVMe drive
 * (src/inventory/inventory_hw.c). */
struct kiln_run;
void kiln_inventory_to_run(const struct kiln_inventory *inv,
                           struct kiln_run *run);

#endif
