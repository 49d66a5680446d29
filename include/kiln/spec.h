/* The station spec: what a known-good machine of this model looks like.
 * An INI file (--spec FILE, or `spec =` in a profile's [profile] section):
 *
 *   [system]   vendor, product (parts of the DMI names), bios_version (exact)
 *   [cpu]      model, sockets, cores (physical, all sockets), threads
 *   [memory]   total (e.g. 2048G: the sum of the DIMMs), dimms, dimm_size
 *   [gpu]      count (exactly), model (a part of its NVML or PCI name, any
 *              case), pci_id (10de:2330), bus_ids (comma-separated, each must
 *              be present; a long list goes on in bus_ids.2, bus_ids.3, ...),
 *              sku (the GPU SKU limit file for every GPU: a built-in id such
 *              as h100-sxm5-80gb, or a file, relative to the spec's own
 *              directory; without it each GPU's PCI id chooses, kiln/sku.h)
 *   [nic]      the same, and speed (e.g. 400G, bits per second: the slowest
 *              network link allowed; a NIC whose speed is unknown passes)
 *   [nvme]     the same; model may be a part of the controller's model
 *   [pcie VVVV:DDDD] / [pcie class CCSS] / [pcie class CC] / [pcie default]
 *              speed (32GT/s, or gen5), width (16): the slowest trained link
 *              allowed; the most specific section applies
 *   [aer]      correctable_max: correctable errors allowed per device
 *   [fans]     count (fan inputs expected, at least), labels (comma-separated,
 *              each must be present: a label "SYS_FAN1", any case, or
 *              "<chip>/<label>"; a long list goes on in labels.2, ...),
 *              min_rpm, max_rpm (every fan's range at idle and under load,
 *              e.g. 400 or 400 RPM), response (the share by which every
 *              fan's RPM must rise under load when the profile asks for
 *              fan_response: 10% or 0.10)
 *   [thermal]  hold (5s: how long a limit must be broken), temp_max (°C),
 *              fan_min (RPM), throttle_max (events): the thermal monitor's
 *              watches; they win over the profile's [thermal]
 *   [edac]     ce_max, ue_max: errors allowed per counter over the run
 *
 * Every key is optional; an absent one is not checked. Unknown sections or
 * keys, a key or section given twice, an empty section and malformed
 * values are errors (the syntax is the one INI reader's: config/ini.h).
 * Layer: config (src/config/): uses core and hw. */
#ifndef KILN_SPEC_H
#define KILN_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kiln/pci.h"

enum kiln_spec_match {
  KILN_SPEC_MATCH_ID,       /* vendor:device */
  KILN_SPEC_MATCH_SUBCLASS, /* class and subclass: 0302 */
  KILN_SPEC_MATCH_CLASS,    /* class: 02 */
  KILN_SPEC_MATCH_DEFAULT,
};

struct kiln_spec_link {
  enum kiln_spec_match match;
  uint16_t vendor_id, device_id; /* MATCH_ID */
  uint16_t class_code;           /* MATCH_SUBCLASS: 0x0302; CLASS: 0x02 */
  double gts;                    /* 0: not checked */
  int width;                     /* 0: not checked */
  int line;
};

/* Expected devices of one kind (GPUs, NICs, NVMe drives). */
struct kiln_spec_devices {
  int count;   /* -1: not checked */
  char *model; /* a substring of the PCI (or NVML) name, or NULL */
  bool pci_id_set;
  uint16_t vendor_id, device_id;
  char **bus_ids; /* "0000:1b:00.0", each expected present; may be empty */
  size_t n_bus_ids;
  double speed_bps; /* NICs: link speed, 0 not checked */
  int line;         /* of the section, for messages */
};

/* The fans the machine must have ([fans]). */
struct kiln_spec_fans {
  int count;     /* fan inputs expected, at least; -1: not checked */
  char **labels; /* each expected present: "SYS_FAN1" or "<chip>/<label>" */
  size_t n_labels;
  double min_rpm; /* every fan's range; -1: not set */
  double max_rpm;
  double response; /* share the RPM must rise under load; -1: not set */
  int line;        /* of the section, for messages */
};

/* Limits for the thermal and edac monitors' watches; NaN: not set (the
 * profile's, else the hardware's own apply). */
struct kiln_spec_watches {
  double hold;                            /* seconds a limit must be broken */
  double temp_max, fan_min, throttle_max; /* [thermal] */
  double ce_max, ue_max;                  /* [edac] */
};

struct kiln_spec {
  char *source; /* the file's path */
  /* A count of -1, a size of 0 or a NULL string: not checked. */
  char *system_vendor, *system_product, *bios_version;
  char *cpu_model;
  int cpu_sockets, cpu_cores, cpu_threads;
  uint64_t mem_total_bytes, dimm_size_bytes;
  int dimm_count;
  struct kiln_spec_devices gpu, nic, nvme;
  char *gpu_sku; /* [gpu] sku: an id, or a path resolved beside the spec */
  int gpu_sku_line;
  struct kiln_spec_link *links;
  size_t n_links;
  long aer_correctable_max; /* -1: not checked */
  struct kiln_spec_watches watch;
  struct kiln_spec_fans fans;
};

/* Returns 0, or -1 with "FILE:LINE: what" in err (unreadable file,
 * unknown section or key, malformed value). */
int kiln_spec_load(const char *path, struct kiln_spec *out, char *err,
                   size_t n);
int kiln_spec_parse(const char *text, const char *source, struct kiln_spec *out,
                    char *err, size_t n);
void kiln_spec_free(struct kiln_spec *spec);

/* The trained link the spec expects for d: the most specific [pcie ...]
 * section that matches (id, then class and subclass, then class, then
 * default), or NULL. */
const struct kiln_spec_link *
kiln_spec_link_for(const struct kiln_spec *spec,
                   const struct kiln_pci_device *d);

/* The value forms, for the writer and for tests. Each returns 0, or -1 when
 * s is not one. Sizes: "2048G", "1.5T", "512M", "64GiB" or bytes (binary
 * units). Bit rates: "400G", "100Gb/s" (decimal). PCIe speeds: "32GT/s",
 * "32", "gen5"; widths "16", "x16". PCI ids "10de:2330". Bus ids
 * "0000:1b:00.0" or "1b:00.0", written to out as "0000:1b:00.0". */
int kiln_spec_parse_size(const char *s, uint64_t *bytes);
int kiln_spec_parse_bitrate(const char *s, double *bps);
int kiln_spec_parse_pcie_speed(const char *s, double *gts);
int kiln_spec_parse_pcie_width(const char *s, int *width);
int kiln_spec_parse_pci_id(const char *s, uint16_t *vendor, uint16_t *device);
int kiln_spec_parse_bus_id(const char *s, char *out, size_t n);

#endif
