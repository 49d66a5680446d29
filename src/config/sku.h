/* GPU SKU limit files: what a healthy GPU of one model reaches, so each GPU
 * step is judged against its own model's floors. One INI file per SKU
 * under profiles/sku/ (built in), or a file the station spec names:
 *
 *   [sku]      name (NVIDIA H100 SXM5 80GB), pci_ids (10de:2330, ...: the
 *              PCI ids that select it), status (measured or provisional:
 *              floors not yet measured on a real GPU of the SKU, and every
 *              step judged by them says so), basis (one line, repeatable as
 *              basis.2, basis.3, ...: where each figure comes from: date,
 *              GPU, command), hbm_gbps (the datasheet's memory bandwidth)
 *   [MODULE]   parameters and `<measurement>.min` / `.max`, as in a profile
 *              (the same syntax: config/ini.h)
 *
 * A GPU step takes the SKU of its GPU's PCI id; a host step (gpu.p2p)
 * takes the SKU of the first GPU. `[gpu] sku =` in the station spec names
 * the SKU for every GPU instead. The profile's own values win over the
 * SKU's: a profile is the site's choice, the SKU the model's default. */
#ifndef KILN_SKU_H
#define KILN_SKU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/profile.h"

struct kiln_sku {
  char *id;     /* the file's stem: "h100-sxm5-80gb" */
  char *name;   /* "NVIDIA H100 SXM5 80GB" */
  char *source; /* "built-in:sku/h100-sxm5-80gb" or the file's path */
  bool provisional;
  char **basis;
  size_t n_basis;
  uint32_t *pci_ids; /* vendor << 16 | device */
  size_t n_pci_ids;
  double hbm_gbps;             /* 0: not given */
  struct kiln_profile modules; /* params and limits per module */
};

/* Parses one SKU file; id names it (the file's stem). Returns 0, or -1
 * with "SOURCE:LINE: what" in err. */
int kiln_sku_parse(const char *text, const char *source, const char *id,
                   struct kiln_sku *out, char *err, size_t n);
/* A built-in id ("h100-sxm5-80gb") or a path to a file (has a '/' or ends
 * in .ini). */
int kiln_sku_load(const char *id_or_path, struct kiln_sku *out, char *err,
                  size_t n);
void kiln_sku_free(struct kiln_sku *sku);

/* Every built-in SKU, parsed (they are checked by the tests, so a parse
 * error here is a build defect: it is reported, not hidden). */
struct kiln_sku_set {
  struct kiln_sku *skus;
  size_t n;
};
int kiln_sku_set_builtin(struct kiln_sku_set *out, char *err, size_t n);
void kiln_sku_set_free(struct kiln_sku_set *set);
/* The SKU whose pci_ids hold vendor:device, or NULL. */
const struct kiln_sku *kiln_sku_for_pci_id(const struct kiln_sku_set *set,
                                           uint16_t vendor, uint16_t device);
/* "h100-sxm5-80gb, h100-pcie, ..." into buf. */
void kiln_sku_set_names(const struct kiln_sku_set *set, char *buf, size_t n);

/* The SKU's section for module, or NULL. */
const struct kiln_profile_module *kiln_sku_module(const struct kiln_sku *sku,
                                                  const char *module);

/* Built-in SKU files compiled from profiles/sku/ (NULL-terminated). */
extern const char *const kiln_builtin_sku_names[];
const char *kiln_builtin_sku(const char *name);

#endif
