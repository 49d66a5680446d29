/* The station spec (the expected inventory) on the INI reader
 * (config/ini.h): loading, the value forms, and which [pcie ...] section
 * applies to a device. The layout is documented in include/kiln/spec.h. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/ini.h"
#include "config/profile.h"
#include "kiln/spec.h"
#include "kiln/textutil.h"

/* ---- value forms ------------------------------------------------------ */

/* Digits with an optional fraction ("2048", "1.5"), read without strtod so
 * that a locale's decimal comma cannot change what a spec means. The value
 * is ip + frac / 10^frac_digits (trailing zeros of the fraction dropped). */
struct decimal {
  uint64_t ip, frac;
  int frac_digits;
};

static const char *parse_decimal(const char *s, struct decimal *d) {
  memset(d, 0, sizeof *d);
  const char *p = s;
  if (!isdigit((unsigned char)*p))
    return NULL;
  for (; isdigit((unsigned char)*p); p++) {
    unsigned digit = (unsigned)(*p - '0');
    if (d->ip > (UINT64_MAX - digit) / 10)
      return NULL;
    d->ip = d->ip * 10 + digit;
  }
  if (*p != '.')
    return p;
  p++;
  if (!isdigit((unsigned char)*p))
    return NULL;
  for (; isdigit((unsigned char)*p); p++) {
    if (d->frac_digits == 9)
      return NULL; /* more precision than any spec needs */
    d->frac = d->frac * 10 + (uint64_t)(*p - '0');
    d->frac_digits++;
  }
  while (d->frac_digits > 0 && d->frac % 10 == 0) {
    d->frac /= 10;
    d->frac_digits--;
  }
  return p;
}

static double decimal_value(const struct decimal *d) {
  double scale = 1;
  for (int i = 0; i < d->frac_digits; i++)
    scale *= 10;
  return (double)d->ip + (double)d->frac / scale;
}

static const char *skip_blanks(const char *p) {
  while (*p == ' ' || *p == '\t')
    p++;
  return p;
}

int kiln_spec_parse_size(const char *s, uint64_t *bytes) {
  struct decimal d;
  const char *p = s ? parse_decimal(s, &d) : NULL;
  if (!p)
    return -1;
  p = skip_blanks(p);
  static const char units[] = "KMGTP";
  int shift = 0;
  if (*p) {
    const char *u = strchr(units, toupper((unsigned char)*p));
    if (u && *u) {
      shift = 10 * (int)(u - units + 1);
      p++;
      if (strcmp(p, "iB") == 0 || strcmp(p, "B") == 0)
        p += strlen(p);
    } else if (strcmp(p, "B") == 0) {
      p++;
    }
  }
  if (*p)
    return -1;
  /* ip * 2^shift + frac * 2^shift / 10^k, exactly, or refused. */
  if (shift < 64 && d.ip > (UINT64_MAX >> shift))
    return -1;
  uint64_t total = d.ip << shift;
  if (d.frac_digits > 0) {
    if (d.frac_digits > shift)
      return -1; /* a fraction of a byte */
    int up = shift - d.frac_digits;
    if (d.frac > (UINT64_MAX >> up))
      return -1;
    uint64_t num = d.frac << up, pow5 = 1;
    for (int i = 0; i < d.frac_digits; i++)
      pow5 *= 5;
    if (num % pow5 != 0)
      return -1; /* not a whole number of bytes */
    if (total > UINT64_MAX - num / pow5)
      return -1;
    total += num / pow5;
  }
  if (total == 0)
    return -1;
  *bytes = total;
  return 0;
}

int kiln_spec_parse_bitrate(const char *s, double *bps) {
  struct decimal d;
  const char *p = s ? parse_decimal(s, &d) : NULL;
  if (!p)
    return -1;
  p = skip_blanks(p);
  double mult;
  switch (toupper((unsigned char)*p)) {
  case 'K': mult = 1e3; break;
  case 'M': mult = 1e6; break;
  case 'G': mult = 1e9; break;
  case 'T': mult = 1e12; break;
  default: return -1; /* "400" alone is ambiguous: give the unit */
  }
  p++;
  if (*p && strcmp(p, "b/s") != 0 && strcmp(p, "bps") != 0 &&
      strcmp(p, "bit/s") != 0)
    return -1; /* "GB/s" would be bytes: refuse rather than guess */
  double v = decimal_value(&d) * mult;
  if (!(v > 0))
    return -1;
  *bps = v;
  return 0;
}

static const double pcie_speeds[] = {2.5, 5, 8, 16, 32, 64};

int kiln_spec_parse_pcie_speed(const char *s, double *gts) {
  if (!s)
    return -1;
  if (strncasecmp(s, "gen", 3) == 0) {
    const char *p = skip_blanks(s + 3);
    if (p[0] < '1' || p[0] > '6' || p[1])
      return -1;
    *gts = pcie_speeds[p[0] - '1'];
    return 0;
  }
  struct decimal d;
  const char *p = parse_decimal(s, &d);
  if (!p)
    return -1;
  p = skip_blanks(p);
  if (*p && strcasecmp(p, "GT/s") != 0)
    return -1;
  double v = decimal_value(&d);
  for (size_t i = 0; i < sizeof pcie_speeds / sizeof *pcie_speeds; i++)
    if (v == pcie_speeds[i]) {
      *gts = v;
      return 0;
    }
  return -1;
}

int kiln_spec_parse_pcie_width(const char *s, int *width) {
  if (!s)
    return -1;
  const char *p = s;
  if (*p == 'x' || *p == 'X')
    p++;
  struct decimal d;
  const char *end = parse_decimal(p, &d);
  if (!end || *end || d.frac_digits)
    return -1;
  static const int widths[] = {1, 2, 4, 8, 12, 16, 32};
  for (size_t i = 0; i < sizeof widths / sizeof *widths; i++)
    if (d.ip == (uint64_t)widths[i]) {
      *width = widths[i];
      return 0;
    }
  return -1;
}

/* 1 to max_digits hex digits, and no more. */
static const char *parse_hex(const char *p, int max_digits,
                             unsigned long *out) {
  unsigned long v = 0;
  int n = 0;
  for (; isxdigit((unsigned char)*p); p++, n++) {
    if (n == max_digits)
      return NULL;
    int c = tolower((unsigned char)*p);
    v = v * 16 + (unsigned long)(isdigit(c) ? c - '0' : c - 'a' + 10);
  }
  if (n == 0)
    return NULL;
  *out = v;
  return p;
}

int kiln_spec_parse_pci_id(const char *s, uint16_t *vendor, uint16_t *device) {
  unsigned long v, d;
  const char *p = s ? parse_hex(s, 4, &v) : NULL;
  if (!p || *p != ':' || !(p = parse_hex(p + 1, 4, &d)) || *p)
    return -1;
  *vendor = (uint16_t)v;
  *device = (uint16_t)d;
  return 0;
}

int kiln_spec_parse_bus_id(const char *s, char *out, size_t n) {
  if (!s)
    return -1;
  unsigned long part[4] = {0}; /* domain, bus, device, function */
  int colons = 0;
  for (const char *c = s; *c; c++)
    colons += *c == ':';
  if (colons != 1 && colons != 2)
    return -1;
  const char *p = s;
  if (colons == 2) { /* VMD domains run past ffff: 10000:e0:00.0 */
    if (!(p = parse_hex(p, 8, &part[0])) || *p++ != ':')
      return -1;
  }
  if (!(p = parse_hex(p, 2, &part[1])) || *p++ != ':' ||
      !(p = parse_hex(p, 2, &part[2])) || *p++ != '.' ||
      !(p = parse_hex(p, 1, &part[3])) || *p)
    return -1;
  if (part[2] > 0x1f || part[3] > 7)
    return -1;
  int w = snprintf(out, n, "%04lx:%02lx:%02lx.%lx", part[0], part[1], part[2],
                   part[3]);
  return w > 0 && (size_t)w < n ? 0 : -1;
}

/* ---- the INI file ------------------------------------------------------ */

enum section {
  SEC_NONE, /* before the first header */
  SEC_BAD,  /* a header not read */
  SEC_SYSTEM,
  SEC_CPU,
  SEC_MEMORY,
  SEC_GPU,
  SEC_NIC,
  SEC_NVME,
  SEC_PCIE,
  SEC_AER,
  SEC_FANS,
  SEC_THERMAL,
  SEC_EDAC,
};

struct parse_state {
  struct kiln_spec *spec;
  struct kiln_ini *ini; /* the reading, for errors and lines */
  enum section cur;     /* the section the reader last saw a header for */
  struct kiln_spec_devices *cur_dev;
  size_t cur_link; /* index in spec->links, for SEC_PCIE */
  size_t total_keys;
};

/* At the end of a section: an empty section checks nothing, and so would
 * pass a machine it was meant for. */
static int section_end(struct kiln_ini *ini, void *ctx, const char *name,
                       int line, size_t keys) {
  (void)ctx;
  if (keys == 0)
    return kiln_ini_fail_at(ini, line,
                            "[%s] has no keys: an empty section checks nothing "
                            "(give its expected values, or remove it)",
                            name);
  return 1;
}

static const char known_sections[] =
    "system, cpu, memory, gpu, nic, nvme, aer, fans, thermal, edac, "
    "pcie VVVV:DDDD, "
    "pcie class CCSS, pcie class CC, pcie default";

/* What a section header names (the reader trims it), and the form under
 * which it must not appear twice. */
static int section_start(struct kiln_ini *ini, void *ctx, const char *name,
                         char *norm, size_t norm_n) {
  struct parse_state *st = ctx;
  st->ini = ini;
  st->cur = SEC_BAD;
  st->cur_dev = NULL;
  static const struct {
    const char *name;
    enum section sec;
  } plain[] = {{"system", SEC_SYSTEM},   {"cpu", SEC_CPU},
               {"memory", SEC_MEMORY},   {"gpu", SEC_GPU},
               {"nic", SEC_NIC},         {"nvme", SEC_NVME},
               {"aer", SEC_AER},         {"fans", SEC_FANS},
               {"thermal", SEC_THERMAL}, {"edac", SEC_EDAC}};
  struct kiln_spec *spec = st->spec;
  struct kiln_spec_link link = {.line = kiln_ini_line(ini)};
  enum section sec = SEC_BAD;
  for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
    if (strcmp(name, plain[i].name) == 0) {
      sec = plain[i].sec;
      snprintf(norm, norm_n, "%s", name);
    }
  if (sec == SEC_BAD && strncmp(name, "pcie", 4) == 0 &&
      (name[4] == 0 || isspace((unsigned char)name[4]))) {
    char words[3][64] = {"", "", ""};
    int n = sscanf(name + 4, "%63s %63s %63s", words[0], words[1], words[2]);
    unsigned long cls;
    const char *end;
    if (n == 1 && strcmp(words[0], "default") == 0) {
      link.match = KILN_SPEC_MATCH_DEFAULT;
      sec = SEC_PCIE;
      snprintf(norm, norm_n, "pcie default");
    } else if (n == 1 && kiln_spec_parse_pci_id(words[0], &link.vendor_id,
                                                &link.device_id) == 0) {
      link.match = KILN_SPEC_MATCH_ID;
      sec = SEC_PCIE;
      snprintf(norm, norm_n, "pcie %04x:%04x", link.vendor_id, link.device_id);
    } else if (n == 2 && strcmp(words[0], "class") == 0 &&
               (end = parse_hex(words[1], 4, &cls)) && !*end &&
               (strlen(words[1]) == 2 || strlen(words[1]) == 4)) {
      bool sub = strlen(words[1]) == 4;
      link.match = sub ? KILN_SPEC_MATCH_SUBCLASS : KILN_SPEC_MATCH_CLASS;
      link.class_code = (uint16_t)cls;
      sec = SEC_PCIE;
      snprintf(norm, norm_n, sub ? "pcie class %04lx" : "pcie class %02lx",
               cls);
    } else {
      return kiln_ini_fail(ini,
                           "[%s] is not a PCIe match: use [pcie VVVV:DDDD], "
                           "[pcie class CCSS], [pcie class CC] or [pcie "
                           "default]",
                           name);
    }
  }
  if (sec == SEC_BAD)
    return kiln_ini_fail(ini, "unknown section [%s] (sections: %s)", name,
                         known_sections);
  st->cur = sec;
  st->cur_dev = sec == SEC_GPU    ? &spec->gpu
                : sec == SEC_NIC  ? &spec->nic
                : sec == SEC_NVME ? &spec->nvme
                                  : NULL;
  if (st->cur_dev)
    st->cur_dev->line = kiln_ini_line(st->ini);
  if (sec == SEC_FANS)
    spec->fans.line = kiln_ini_line(st->ini);
  if (sec == SEC_PCIE) {
    spec->links =
        kiln_xrealloc(spec->links, (spec->n_links + 1) * sizeof *spec->links);
    spec->links[spec->n_links] = link;
    st->cur_link = spec->n_links++;
  }
  return 1;
}

static int bad_value(struct parse_state *st, const char *section,
                     const char *key, const char *value, const char *what) {
  return kiln_ini_fail(st->ini, "[%s] %s = '%s' is not %s", section, key, value,
                       what);
}

static int set_count(struct parse_state *st, const char *section,
                     const char *key, const char *value, long max, long *out) {
  struct decimal d;
  const char *end = parse_decimal(value, &d);
  if (!end || *end || d.frac_digits || d.ip > (uint64_t)max)
    return bad_value(st, section, key, value, "a count");
  *out = (long)d.ip;
  return 1;
}

static int set_int_count(struct parse_state *st, const char *section,
                         const char *key, const char *value, int *out) {
  long v = 0;
  if (!set_count(st, section, key, value, 1000000000L, &v))
    return 0;
  *out = (int)v;
  return 1;
}

static int set_size(struct parse_state *st, const char *section,
                    const char *key, const char *value, uint64_t *out) {
  if (kiln_spec_parse_size(value, out) != 0)
    return bad_value(st, section, key, value,
                     "a size (e.g. 2048G, 1.5T, 512M, or bytes)");
  return 1;
}

static void set_string(char **field, const char *value) {
  free(*field);
  *field = kiln_xstrdup(value);
}

/* The next item of a comma-separated list (list, then NULL, as strtok_r),
 * trimmed; empty items (stray commas) are skipped. NULL at the end. */
static char *next_item(char *list, char **save) {
  for (char *tok = strtok_r(list, ",", save); tok;
       tok = strtok_r(NULL, ",", save)) {
    tok = (char *)skip_blanks(tok);
    for (size_t len = strlen(tok); len && isspace((unsigned char)tok[len - 1]);)
      tok[--len] = 0;
    if (*tok)
      return tok;
  }
  return NULL;
}

static int add_bus_ids(struct parse_state *st, const char *section,
                       const char *key, const char *value,
                       struct kiln_spec_devices *dev) {
  char *list = kiln_xstrdup(value), *save = NULL;
  int ok = 1;
  for (char *tok = next_item(list, &save); tok && ok;
       tok = next_item(NULL, &save)) {
    char bdf[32];
    if (kiln_spec_parse_bus_id(tok, bdf, sizeof bdf) != 0) {
      ok = kiln_ini_fail(st->ini,
                         "[%s] %s: '%s' is not a PCI bus id (DDDD:BB:DD.F or "
                         "BB:DD.F)",
                         section, key, tok);
      break;
    }
    for (size_t i = 0; i < dev->n_bus_ids; i++)
      if (strcmp(dev->bus_ids[i], bdf) == 0)
        ok = kiln_ini_fail(st->ini, "[%s] %s: %s is listed twice", section, key,
                           bdf);
    if (!ok)
      break;
    dev->bus_ids = kiln_xrealloc(dev->bus_ids,
                                 (dev->n_bus_ids + 1) * sizeof *dev->bus_ids);
    dev->bus_ids[dev->n_bus_ids++] = kiln_xstrdup(bdf);
  }
  free(list);
  return ok;
}

/* base, or base.N (N = 1..99) for a list too long for one line. */
static bool is_list_key(const char *key, const char *base) {
  size_t len = strlen(base);
  if (strncmp(key, base, len) != 0)
    return false;
  if (!key[len])
    return true;
  struct decimal d;
  const char *end = key[len] == '.' ? parse_decimal(key + len + 1, &d) : NULL;
  return end && !*end && !d.frac_digits && d.ip >= 1 && d.ip <= 99 &&
         key[len + 1] != '0';
}

static bool is_bus_ids_key(const char *key) {
  return is_list_key(key, "bus_ids");
}

/* Fan labels: any text but a comma; each expected once (any case). */
static int add_fan_labels(struct parse_state *st, const char *section,
                          const char *key, const char *value,
                          struct kiln_spec_fans *fans) {
  char *list = kiln_xstrdup(value), *save = NULL;
  int ok = 1;
  for (char *tok = next_item(list, &save); tok && ok;
       tok = next_item(NULL, &save)) {
    for (size_t i = 0; i < fans->n_labels && ok; i++)
      if (strcasecmp(fans->labels[i], tok) == 0)
        ok = kiln_ini_fail(st->ini, "[%s] %s: %s is listed twice", section, key,
                           tok);
    if (!ok)
      break;
    fans->labels = kiln_xrealloc(fans->labels,
                                 (fans->n_labels + 1) * sizeof *fans->labels);
    fans->labels[fans->n_labels++] = kiln_xstrdup(tok);
  }
  free(list);
  return ok;
}

/* A fan speed: "400", "400 RPM", "1e3" is not one. */
static int set_rpm(struct parse_state *st, const char *section, const char *key,
                   const char *value, double *out) {
  struct decimal d;
  const char *end = parse_decimal(value, &d);
  if (end) {
    end = skip_blanks(end);
    if (strcasecmp(end, "rpm") == 0)
      end += 3;
  }
  if (!end || *end || decimal_value(&d) > 1e6)
    return bad_value(st, section, key, value, "a fan speed (e.g. 400 RPM)");
  *out = decimal_value(&d);
  return 1;
}

/* A share: "10%" or "0.10", above 0 and at most 10 (1000%). */
static int set_share(struct parse_state *st, const char *section,
                     const char *key, const char *value, double *out) {
  struct decimal d;
  const char *end = parse_decimal(value, &d);
  double v = end ? decimal_value(&d) : 0;
  if (end) {
    end = skip_blanks(end);
    if (*end == '%') {
      end++;
      v /= 100;
    }
  }
  if (!end || *end || !(v > 0) || v > 10)
    return bad_value(st, section, key, value,
                     "a share above 0 (e.g. 10% or 0.10)");
  *out = v;
  return 1;
}

/* A watch limit: a duration ("5s") or a non-negative number. */
static int set_watch_value(struct parse_state *st, const char *section,
                           const char *key, const char *value, bool duration,
                           double *out) {
  double x = 0;
  char *end = NULL;
  errno = 0;
  bool ok = duration ? kiln_duration_parse(value, &x) == 0
                     : ((x = strtod(value, &end)),
                        !errno && end != value && !*end && isfinite(x));
  if (!ok || x < 0)
    return bad_value(st, section, key, value,
                     duration ? "a duration (5s, 1m)"
                              : "a non-negative number");
  *out = x;
  return 1;
}

static int unknown_key(struct parse_state *st, const char *section,
                       const char *key, const char *keys) {
  return kiln_ini_fail(st->ini, "unknown key '%s' in [%s] (keys: %s)", key,
                       section, keys);
}

static int devices_key(struct parse_state *st, const char *section,
                       const char *key, const char *value) {
  struct kiln_spec_devices *dev = st->cur_dev;
  bool nic = st->cur == SEC_NIC;
  if (strcmp(key, "count") == 0)
    return set_int_count(st, section, key, value, &dev->count);
  if (strcmp(key, "model") == 0) {
    set_string(&dev->model, value);
    return 1;
  }
  if (strcmp(key, "pci_id") == 0) {
    if (kiln_spec_parse_pci_id(value, &dev->vendor_id, &dev->device_id) != 0)
      return bad_value(st, section, key, value,
                       "a PCI id (vendor:device in hex, e.g. 10de:2330)");
    dev->pci_id_set = true;
    return 1;
  }
  if (is_bus_ids_key(key))
    return add_bus_ids(st, section, key, value, dev);
  if (st->cur == SEC_GPU && strcmp(key, "sku") == 0) {
    struct kiln_spec *s = st->spec;
    free(s->gpu_sku);
    s->gpu_sku = kiln_names_a_file(value) ? kiln_path_beside(s->source, value)
                                          : kiln_xstrdup(value);
    s->gpu_sku_line = kiln_ini_line(st->ini);
    return 1;
  }
  if (nic && strcmp(key, "speed") == 0) {
    if (kiln_spec_parse_bitrate(value, &dev->speed_bps) != 0)
      return bad_value(st, section, key, value,
                       "a link speed (e.g. 400G, 100Gb/s)");
    return 1;
  }
  return unknown_key(st, section, key,
                     nic ? "count, model, pci_id, bus_ids, speed"
                     : st->cur == SEC_GPU ? "count, model, pci_id, bus_ids, sku"
                                          : "count, model, pci_id, bus_ids");
}

static int section_key(struct parse_state *st, const char *section,
                       const char *key, const char *value) {
  struct kiln_spec *s = st->spec;
  switch (st->cur) {
  case SEC_SYSTEM:
    if (strcmp(key, "vendor") == 0)
      set_string(&s->system_vendor, value);
    else if (strcmp(key, "product") == 0)
      set_string(&s->system_product, value);
    else if (strcmp(key, "bios_version") == 0)
      set_string(&s->bios_version, value);
    else
      return unknown_key(st, section, key, "vendor, product, bios_version");
    return 1;
  case SEC_CPU:
    if (strcmp(key, "model") == 0) {
      set_string(&s->cpu_model, value);
      return 1;
    }
    if (strcmp(key, "sockets") == 0)
      return set_int_count(st, section, key, value, &s->cpu_sockets);
    if (strcmp(key, "cores") == 0)
      return set_int_count(st, section, key, value, &s->cpu_cores);
    if (strcmp(key, "threads") == 0)
      return set_int_count(st, section, key, value, &s->cpu_threads);
    return unknown_key(st, section, key, "model, sockets, cores, threads");
  case SEC_MEMORY:
    if (strcmp(key, "total") == 0)
      return set_size(st, section, key, value, &s->mem_total_bytes);
    if (strcmp(key, "dimm_size") == 0)
      return set_size(st, section, key, value, &s->dimm_size_bytes);
    if (strcmp(key, "dimms") == 0)
      return set_int_count(st, section, key, value, &s->dimm_count);
    return unknown_key(st, section, key, "total, dimms, dimm_size");
  case SEC_GPU:
  case SEC_NIC:
  case SEC_NVME: return devices_key(st, section, key, value);
  case SEC_PCIE: {
    struct kiln_spec_link *l = &s->links[st->cur_link];
    if (strcmp(key, "speed") == 0) {
      if (kiln_spec_parse_pcie_speed(value, &l->gts) != 0)
        return bad_value(st, section, key, value,
                         "a PCIe speed (2.5, 5, 8, 16, 32 or 64 GT/s, or "
                         "gen1 .. gen6)");
      return 1;
    }
    if (strcmp(key, "width") == 0) {
      if (kiln_spec_parse_pcie_width(value, &l->width) != 0)
        return bad_value(st, section, key, value,
                         "a PCIe width (x1, x2, x4, x8, x12, x16 or x32)");
      return 1;
    }
    return unknown_key(st, section, key, "speed, width");
  }
  case SEC_AER:
    if (strcmp(key, "correctable_max") == 0)
      return set_count(st, section, key, value, 1000000000L,
                       &s->aer_correctable_max);
    return unknown_key(st, section, key, "correctable_max");
  case SEC_FANS:
    if (strcmp(key, "count") == 0)
      return set_int_count(st, section, key, value, &s->fans.count);
    if (is_list_key(key, "labels"))
      return add_fan_labels(st, section, key, value, &s->fans);
    if (strcmp(key, "min_rpm") == 0)
      return set_rpm(st, section, key, value, &s->fans.min_rpm);
    if (strcmp(key, "max_rpm") == 0)
      return set_rpm(st, section, key, value, &s->fans.max_rpm);
    if (strcmp(key, "response") == 0)
      return set_share(st, section, key, value, &s->fans.response);
    return unknown_key(st, section, key,
                       "count, labels, min_rpm, max_rpm, response");
  case SEC_THERMAL:
    if (strcmp(key, "hold") == 0)
      return set_watch_value(st, section, key, value, true, &s->watch.hold);
    if (strcmp(key, "temp_max") == 0)
      return set_watch_value(st, section, key, value, false,
                             &s->watch.temp_max);
    if (strcmp(key, "fan_min") == 0)
      return set_watch_value(st, section, key, value, false, &s->watch.fan_min);
    if (strcmp(key, "throttle_max") == 0)
      return set_watch_value(st, section, key, value, false,
                             &s->watch.throttle_max);
    return unknown_key(st, section, key,
                       "hold, temp_max, fan_min, throttle_max");
  case SEC_EDAC:
    if (strcmp(key, "ce_max") == 0)
      return set_watch_value(st, section, key, value, false, &s->watch.ce_max);
    if (strcmp(key, "ue_max") == 0)
      return set_watch_value(st, section, key, value, false, &s->watch.ue_max);
    return unknown_key(st, section, key, "ce_max, ue_max");
  case SEC_NONE:
  case SEC_BAD: break;
  }
  /* A header libinih refused: it reports that line, which comes first. */
  return kiln_ini_fail(st->ini, "'%s' follows a malformed section header", key);
}

static int key_handler(struct kiln_ini *ini, void *ctx, const char *section,
                       const char *key, const char *value) {
  struct parse_state *st = ctx;
  st->ini = ini;
  st->total_keys++;
  return section_key(st, section, key, value);
}

static const struct kiln_ini_handler spec_ini = {
    .section = section_start, .section_end = section_end, .key = key_handler};

static void spec_init(struct kiln_spec *s, const char *source) {
  memset(s, 0, sizeof *s);
  s->source = kiln_xstrdup(source);
  s->cpu_sockets = s->cpu_cores = s->cpu_threads = -1;
  s->dimm_count = -1;
  s->gpu.count = s->nic.count = s->nvme.count = -1;
  s->aer_correctable_max = -1;
  s->fans.count = -1;
  s->fans.min_rpm = s->fans.max_rpm = s->fans.response = -1;
  s->watch.hold = s->watch.temp_max = s->watch.fan_min = NAN;
  s->watch.throttle_max = s->watch.ce_max = s->watch.ue_max = NAN;
}

/* Checks that need the whole file. Returns 0, or -1 with the message. */
static int check_whole(const struct kiln_spec *s, char *err, size_t n) {
  const struct {
    const char *name;
    const struct kiln_spec_devices *dev;
  } kinds[] = {{"gpu", &s->gpu}, {"nic", &s->nic}, {"nvme", &s->nvme}};
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
    const struct kiln_spec_devices *d = kinds[i].dev;
    if (d->count >= 0 && d->n_bus_ids > (size_t)d->count) {
      snprintf(err, n, "%s:%d: [%s] lists %zu bus_ids but count = %d",
               s->source, d->line, kinds[i].name, d->n_bus_ids, d->count);
      return -1;
    }
  }
  const struct kiln_spec_fans *f = &s->fans;
  if (f->count >= 0 && f->n_labels > (size_t)f->count) {
    snprintf(err, n, "%s:%d: [fans] lists %zu labels but count = %d", s->source,
             f->line, f->n_labels, f->count);
    return -1;
  }
  if (f->min_rpm >= 0 && f->max_rpm >= 0 && f->min_rpm > f->max_rpm) {
    snprintf(err, n, "%s:%d: [fans] min_rpm = %g is above max_rpm = %g",
             s->source, f->line, f->min_rpm, f->max_rpm);
    return -1;
  }
  return 0;
}

int kiln_spec_parse(const char *text, const char *source, struct kiln_spec *out,
                    char *err, size_t n) {
  spec_init(out, source);
  struct parse_state st = {.spec = out, .cur = SEC_NONE};
  if (kiln_ini_parse(text, source, &spec_ini, &st, err, n) != 0) {
    kiln_spec_free(out);
    return -1;
  }
  /* A spec that expects nothing would pass any machine, a GPU missing
   * included: an empty file is a mistake (a wrong path, a lost edit). */
  if (st.total_keys == 0) {
    snprintf(err, n,
             "%s: declares no expectation (no key in any section): a station "
             "spec that checks nothing would pass any machine",
             source);
    kiln_spec_free(out);
    return -1;
  }
  if (check_whole(out, err, n) != 0) {
    kiln_spec_free(out);
    return -1;
  }
  return 0;
}

int kiln_spec_load(const char *path, struct kiln_spec *out, char *err,
                   size_t n) {
  memset(out, 0, sizeof *out);
  /* Specs are small; 1 MiB bounds a wrong file. */
  char *text = kiln_read_text_file(path, 1 << 20, "not a station spec", err, n);
  if (!text)
    return -1;
  int rc = kiln_spec_parse(text, path, out, err, n);
  free(text);
  return rc;
}

static void free_devices(struct kiln_spec_devices *d) {
  free(d->model);
  for (size_t i = 0; i < d->n_bus_ids; i++)
    free(d->bus_ids[i]);
  free(d->bus_ids);
}

void kiln_spec_free(struct kiln_spec *spec) {
  free(spec->source);
  free(spec->gpu_sku);
  free(spec->system_vendor);
  free(spec->system_product);
  free(spec->bios_version);
  free(spec->cpu_model);
  free_devices(&spec->gpu);
  free_devices(&spec->nic);
  free_devices(&spec->nvme);
  free(spec->links);
  for (size_t i = 0; i < spec->fans.n_labels; i++)
    free(spec->fans.labels[i]);
  free(spec->fans.labels);
  memset(spec, 0, sizeof *spec);
}

const struct kiln_spec_link *
kiln_spec_link_for(const struct kiln_spec *spec,
                   const struct kiln_pci_device *d) {
  const struct kiln_spec_link *best = NULL;
  for (size_t i = 0; i < spec->n_links; i++) {
    const struct kiln_spec_link *l = &spec->links[i];
    bool match = false;
    switch (l->match) {
    case KILN_SPEC_MATCH_ID:
      match = l->vendor_id == d->vendor_id && l->device_id == d->device_id;
      break;
    case KILN_SPEC_MATCH_SUBCLASS:
      match = l->class_code == (d->class_code >> 8 & 0xffff);
      break;
    case KILN_SPEC_MATCH_CLASS:
      match = l->class_code == (d->class_code >> 16 & 0xff);
      break;
    case KILN_SPEC_MATCH_DEFAULT: match = true; break;
    }
    /* The enum runs from the most specific match to the least. */
    if (match && (!best || l->match < best->match))
      best = l;
  }
  return best;
}
