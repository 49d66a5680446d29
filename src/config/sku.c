/* GPU SKU limit files (format in kiln/sku.h): a [sku] header read here, the
 * module sections by the profile parser, so a SKU's limits and parameters
 * are checked against the module registry exactly as a profile's are. */
#include "config/sku.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/spec.h"
#include "kiln/textutil.h"

static int header_key(void *ctx, const char *key, const char *value, char *err,
                      size_t n) {
  struct kiln_sku *sku = ctx;
  if (strcmp(key, "name") == 0) {
    free(sku->name);
    sku->name = kiln_xstrdup(value);
  } else if (strcmp(key, "status") == 0) {
    if (strcmp(value, "measured") == 0)
      sku->provisional = false;
    else if (strcmp(value, "provisional") == 0)
      sku->provisional = true;
    else {
      snprintf(err, n, "status '%s' is not measured or provisional", value);
      return -1;
    }
  } else if (strcmp(key, "basis") == 0 || strncmp(key, "basis.", 6) == 0) {
    sku->basis =
        kiln_xrealloc(sku->basis, (sku->n_basis + 1) * sizeof *sku->basis);
    sku->basis[sku->n_basis++] = kiln_xstrdup(value);
  } else if (strcmp(key, "hbm_gbps") == 0) {
    char *end;
    errno = 0;
    double x = strtod(value, &end);
    if (errno || end == value || *end || !isfinite(x) || x <= 0) {
      snprintf(err, n, "hbm_gbps '%s' is not a positive number (GB/s)", value);
      return -1;
    }
    sku->hbm_gbps = x;
  } else if (strcmp(key, "pci_ids") == 0) {
    char *list = kiln_xstrdup(value), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(list, ", \t", &save); tok && rc == 0;
         tok = strtok_r(NULL, ", \t", &save)) {
      uint16_t v, d;
      if (kiln_spec_parse_pci_id(tok, &v, &d) != 0) {
        snprintf(err, n, "pci_ids: '%s' is not a PCI id (e.g. 10de:2330)", tok);
        rc = -1;
        break;
      }
      sku->pci_ids = kiln_xrealloc(sku->pci_ids,
                                   (sku->n_pci_ids + 1) * sizeof *sku->pci_ids);
      sku->pci_ids[sku->n_pci_ids++] = (uint32_t)v << 16 | d;
    }
    free(list);
    return rc;
  } else {
    snprintf(err, n,
             "unknown key '%s' in [sku] (keys: name, pci_ids, status, "
             "basis, hbm_gbps)",
             key);
    return -1;
  }
  return 0;
}

int kiln_sku_parse(const char *text, const char *source, const char *id,
                   struct kiln_sku *out, char *err, size_t n) {
  memset(out, 0, sizeof *out);
  out->provisional = true; /* until the file says its floors were measured */
  if (kiln_profile_parse_modules(text, source, "sku", header_key, out,
                                 &out->modules, err, n) != 0) {
    kiln_sku_free(out);
    return -1;
  }
  const char *missing = !out->name        ? "name"
                        : !out->n_pci_ids ? "pci_ids"
                        : !out->n_basis   ? "basis"
                                          : NULL;
  if (missing) {
    snprintf(err, n, "%s: [sku] has no %s", source, missing);
    kiln_sku_free(out);
    return -1;
  }
  out->id = kiln_xstrdup(id);
  out->source = kiln_xstrdup(source);
  return 0;
}

/* "profiles/x/h100.ini" -> "h100". */
static char *stem(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t len = strlen(base);
  if (len > 4 && strcmp(base + len - 4, ".ini") == 0)
    len -= 4;
  return kiln_strdup_printf("%.*s", (int)len, base);
}

int kiln_sku_load(const char *id_or_path, struct kiln_sku *out, char *err,
                  size_t n) {
  if (!kiln_names_a_file(id_or_path)) {
    const char *text = kiln_builtin_sku(id_or_path);
    if (!text) {
      char names[512] = "";
      for (const char *const *b = kiln_builtin_sku_names; *b; b++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                 names[0] ? ", " : "", *b);
      snprintf(err, n, "no GPU SKU named '%s' (built-in: %s; or give a file)",
               id_or_path, names);
      return -1;
    }
    char source[128];
    snprintf(source, sizeof source, "built-in:sku/%s", id_or_path);
    return kiln_sku_parse(text, source, id_or_path, out, err, n);
  }
  char *text =
      kiln_read_text_file(id_or_path, 1 << 20, "not a SKU file", err, n);
  if (!text)
    return -1;
  char *id = stem(id_or_path);
  int rc = kiln_sku_parse(text, id_or_path, id, out, err, n);
  free(id);
  free(text);
  return rc;
}

void kiln_sku_free(struct kiln_sku *sku) {
  free(sku->id);
  free(sku->name);
  free(sku->source);
  for (size_t i = 0; i < sku->n_basis; i++)
    free(sku->basis[i]);
  free(sku->basis);
  free(sku->pci_ids);
  kiln_profile_free(&sku->modules);
  memset(sku, 0, sizeof *sku);
}

int kiln_sku_set_builtin(struct kiln_sku_set *out, char *err, size_t n) {
  memset(out, 0, sizeof *out);
  size_t count = 0;
  while (kiln_builtin_sku_names[count])
    count++;
  out->skus = kiln_xcalloc(count ? count : 1, sizeof *out->skus);
  for (size_t i = 0; i < count; i++) {
    if (kiln_sku_load(kiln_builtin_sku_names[i], &out->skus[i], err, n) != 0) {
      kiln_sku_set_free(out);
      return -1;
    }
    out->n++;
  }
  return 0;
}

void kiln_sku_set_free(struct kiln_sku_set *set) {
  for (size_t i = 0; i < set->n; i++)
    kiln_sku_free(&set->skus[i]);
  free(set->skus);
  memset(set, 0, sizeof *set);
}

const struct kiln_sku *kiln_sku_for_pci_id(const struct kiln_sku_set *set,
                                           uint16_t vendor, uint16_t device) {
  uint32_t want = (uint32_t)vendor << 16 | device;
  for (size_t i = 0; set && i < set->n; i++)
    for (size_t j = 0; j < set->skus[i].n_pci_ids; j++)
      if (set->skus[i].pci_ids[j] == want)
        return &set->skus[i];
  return NULL;
}

void kiln_sku_set_names(const struct kiln_sku_set *set, char *buf, size_t n) {
  if (n)
    buf[0] = '\0';
  for (size_t i = 0; set && i < set->n; i++) {
    size_t used = strlen(buf);
    snprintf(buf + used, n - used, "%s%s", i ? ", " : "", set->skus[i].id);
  }
}

const struct kiln_profile_module *kiln_sku_module(const struct kiln_sku *sku,
                                                  const char *module) {
  for (size_t i = 0; sku && i < sku->modules.n_modules; i++)
    if (strcmp(sku->modules.modules[i].name, module) == 0)
      return &sku->modules.modules[i];
  return NULL;
}
