/* A station spec from a known-good machine: every value kiln_spec_compare
 * checks, as found here, with comments saying what was found and how to
 * edit it. Whatever it writes, kiln_spec_parse reads back to a spec that
 * this machine meets with no difference. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/inventory_spec.h"
#include "kiln/textutil.h"

/* libinih reads lines of at most 198 characters; keys are short. */
#define VALUE_MAX 150
#define COMMENT_MAX 100
#define BUS_IDS_PER_LINE 8
#define LINE_MAX_TEXT 190 /* of a comment, after "; " */

static const char *str(const char *s) { return s ? s : ""; }

/* Cuts s to at most max bytes, not inside a UTF-8 sequence. */
static void cut_utf8(char *s, size_t max) {
  size_t at = 0;
  while (s[at]) {
    uint32_t cp;
    size_t len = kiln_utf8_decode(s + at, &cp);
    if (at + len > max)
      break;
    at += len;
  }
  s[at] = 0;
}

static char *trimmed(const char *s) {
  s = str(s);
  while (isspace((unsigned char)*s))
    s++;
  char *t = kiln_xstrdup(s);
  for (size_t len = strlen(t); len && isspace((unsigned char)t[len - 1]);)
    t[--len] = 0;
  return t;
}

/* The longest part of s that libinih hands back unchanged as a value: no
 * control characters or invalid UTF-8 (which would end the line or garble
 * it), no ';' at its start or after a blank (an inline comment to libinih),
 * no blanks around it (libinih strips them), at most VALUE_MAX bytes. It is
 * a substring of s, so a case-insensitive substring match still holds.
 * malloc'd; "" when nothing is left. */
static char *longest_value_part(const char *s) {
  /* Invalid bytes become U+FFFD, which ends a part like a control does. */
  char *v = kiln_utf8_sanitize(str(s));
  const char *best = v, *start = v;
  size_t best_len = 0;
  for (const char *p = v;; p++) {
    const unsigned char *u = (const unsigned char *)p;
    bool brk = !*p || *u < 0x20 || *u == 0x7f ||
               (u[0] == 0xef && u[1] == 0xbf && u[2] == 0xbd) ||
               (*p == ';' && (p == start || isspace(u[-1])));
    if (!brk)
      continue;
    const char *a = start, *b = p;
    while (a < b && isspace((unsigned char)*a))
      a++;
    while (b > a && isspace((unsigned char)b[-1]))
      b--;
    if ((size_t)(b - a) > best_len) {
      best = a;
      best_len = (size_t)(b - a);
    }
    if (!*p)
      break;
    if (u[0] == 0xef && u[1] == 0xbf && u[2] == 0xbd)
      p += 2;
    start = p + 1;
  }
  char *out = kiln_strdup_printf("%.*s", (int)best_len, best);
  free(v);
  cut_utf8(out, VALUE_MAX);
  char *t = trimmed(out); /* the cut may leave a blank at the end */
  free(out);
  return t;
}

/* s for a comment: one line, controls shown as \xNN, not too long. */
static char *for_comment(const char *s) {
  char *e = kiln_escape_controls(str(s));
  if (strlen(e) > COMMENT_MAX) {
    cut_utf8(e, COMMENT_MAX);
    char *longer = kiln_strdup_printf("%s...", e);
    free(e);
    return longer;
  }
  return e;
}

/* One comment line: "; " and the text, cut to fit libinih's line. */
static void note(FILE *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(FILE *f, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  line[strcspn(line, "\r\n")] = 0;
  cut_utf8(line, LINE_MAX_TEXT);
  fprintf(f, "; %s\n", line);
}

/* key = s. A value an INI line cannot hold as it is (kiln_spec_parse would
 * read it back otherwise) is shown in a comment and, for a key the spec
 * compares as a substring (not `exact`), its longest part given instead. */
static void put_value(FILE *f, const char *key, const char *s, bool exact) {
  char *whole = trimmed(s), *part = longest_value_part(s);
  if (!*whole) {
    fprintf(f, "; %s = (unknown on this machine)\n", key);
  } else if (strcmp(whole, part) != 0) {
    char *c = for_comment(s);
    note(f, "%s found: '%s'", key, c);
    if (exact)
      note(f, "(an INI value cannot hold it as it is, so it is not checked)");
    else if (*part)
      fprintf(f,
              "; (cut to the longest part an INI value can hold)\n"
              "%s = %s\n",
              key, part);
    else
      fprintf(f, "; %s = (nothing of it can be an INI value)\n", key);
    free(c);
  } else {
    fprintf(f, "%s = %s\n", key, part);
  }
  free(whole);
  free(part);
}

static void put_name(FILE *f, const char *key, const char *s) {
  put_value(f, key, s, false);
}

static void put_exact(FILE *f, const char *key, const char *s) {
  put_value(f, key, s, true);
}

static void put_count(FILE *f, const char *key, int n) {
  if (n > 0)
    fprintf(f, "%s = %d\n", key, n);
  else
    fprintf(f, "; %s = (unknown on this machine)\n", key);
}

/* The exact size in the largest binary unit that holds it: "2048G". */
static void size_value(uint64_t b, char *buf, size_t n) {
  static const struct {
    int shift;
    char unit;
  } units[] = {{30, 'G'}, {20, 'M'}, {10, 'K'}};
  for (size_t i = 0; i < sizeof units / sizeof *units; i++)
    if (b % (1ull << units[i].shift) == 0) {
      snprintf(buf, n, "%llu%c", (unsigned long long)(b >> units[i].shift),
               units[i].unit);
      return;
    }
  snprintf(buf, n, "%llu", (unsigned long long)b);
}

static void header(FILE *f, const struct kiln_inventory *inv) {
  char when[64];
  kiln_format_time(kiln_now(), when, sizeof when);
  char *vendor = for_comment(inv->dmi.sys_vendor);
  char *product = for_comment(inv->dmi.product);
  char *serial = for_comment(inv->dmi.serial);
  fprintf(f, "; kiln station spec: what a known-good machine of this model "
             "looks like.\n");
  note(f, "Written by kiln on %s from a machine found to be", when);
  note(f, "  vendor: %s", *vendor ? vendor : "(unknown)");
  note(f, "  product: %s", *product ? product : "(unknown)");
  if (*serial)
    note(f, "  serial: %s (not checked: it is per unit)", serial);
  fprintf(f,
          ";\n"
          "; Use it with `kiln run --spec FILE`, or `spec = FILE` in a "
          "profile's\n"
          "; [profile] section. Every key is optional: delete a line, or put "
          "';' in\n"
          "; front of it, and it is not checked. vendor, product and model "
          "match\n"
          "; when they are a part of the name found (any case); counts, "
          "bus_ids,\n"
          "; pci_id and bios_version must match exactly; memory total is the "
          "sum\n"
          "; of the DIMMs; [pcie ...] speed and width are the slowest trained "
          "link\n"
          "; allowed; [nic] speed the slowest network link.\n");
  free(vendor);
  free(product);
  free(serial);
}

static void write_system(FILE *f, const struct kiln_inventory *inv) {
  const struct kiln_inv_dmi *d = &inv->dmi;
  char *bv = for_comment(d->bios_vendor), *bd = for_comment(d->bios_date);
  fprintf(f, "\n[system]\n");
  if (*bv || *bd)
    note(f, "BIOS by %s, dated %s", *bv ? bv : "(unknown)",
         *bd ? bd : "(unknown)");
  put_name(f, "vendor", d->sys_vendor);
  put_name(f, "product", d->product);
  put_exact(f, "bios_version", d->bios_version);
  free(bv);
  free(bd);
}

static void write_cpu(FILE *f, const struct kiln_inventory *inv) {
  const struct kiln_inv_cpu *c = &inv->cpu;
  fprintf(f, "\n[cpu]\n");
  if (c->microcode && *c->microcode) {
    char *m = for_comment(c->microcode);
    note(f, "microcode %s (not checked)", m);
    free(m);
  }
  put_name(f, "model", c->model);
  put_count(f, "sockets", c->sockets);
  put_count(f, "cores", c->cores);
  put_count(f, "threads", c->threads);
}

static void write_memory(FILE *f, const struct kiln_inventory *inv) {
  const struct kiln_inv_memory *m = &inv->memory;
  char buf[64], text[64];
  fprintf(f, "\n[memory]\n");
  size_t populated = 0;
  uint64_t same = 0;
  bool alike = true;
  for (size_t i = 0; i < m->n_dimms; i++) {
    const struct kiln_inv_dimm *d = &m->dimms[i];
    if (!d->populated)
      continue;
    if (populated++ == 0)
      same = d->size_bytes;
    else if (d->size_bytes != same)
      alike = false;
  }
  if (m->mem_total_bytes) {
    kiln_size_text(m->mem_total_bytes, 1, text, sizeof text);
    fprintf(f, "; MemTotal (what the kernel can use): %s\n", text);
  }
  if (m->n_dimms > 0 && m->dimm_total_bytes > 0) {
    kiln_size_text(m->dimm_total_bytes, 1, text, sizeof text);
    fprintf(f, "; %zu of %zu DIMM slots populated, %s in all\n", populated,
            m->n_dimms, text);
    size_value(m->dimm_total_bytes, buf, sizeof buf);
    fprintf(f, "total = %s\n", buf);
    fprintf(f, "dimms = %zu\n", populated);
    if (alike && same > 0) {
      size_value(same, buf, sizeof buf);
      fprintf(f, "dimm_size = %s\n", buf);
    } else {
      fprintf(f, "; dimm_size = (the DIMMs here differ in size)\n");
    }
    return;
  }
  char *why = for_comment(m->dimm_note);
  note(f, "no DIMM list%s%s%s", *why ? " (" : "", why, *why ? ")" : "");
  free(why);
  if (m->mem_total_bytes) {
    size_value(m->mem_total_bytes, buf, sizeof buf);
    fprintf(f,
            "; total is MemTotal, a little less than the memory installed: "
            "set it to\n"
            "; the installed size (e.g. 2048G), or write the spec as root\n"
            "total = %s\n",
            buf);
  } else {
    fprintf(f, "; total = (unknown on this machine)\n");
  }
  fprintf(f, "; dimms = (unknown on this machine)\n"
             "; dimm_size = (unknown on this machine)\n");
}

/* What the writer needs of one GPU, NIC or NVMe drive. */
struct dev {
  const char *bdf;
  const char *name, *pci_name; /* name: NVML's or the controller's, or "" */
  bool has_id;
  uint16_t vendor_id, device_id;
  double speed_bps;   /* NICs */
  const char *detail; /* a comment line for this device, or NULL */
};

/* The name every device shares, or NULL. */
static const char *common(const struct dev *d, size_t n, bool pci) {
  const char *first = NULL;
  for (size_t i = 0; i < n; i++) {
    const char *s = str(pci ? d[i].pci_name : d[i].name);
    if (!*s)
      return NULL;
    if (!first)
      first = s;
    else if (strcmp(first, s) != 0)
      return NULL;
  }
  return first;
}

static void put_bus_ids(FILE *f, const struct dev *d, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char bdf[32];
    if (kiln_spec_parse_bus_id(d[i].bdf, bdf, sizeof bdf) != 0) {
      char *c = for_comment(d[i].bdf);
      note(f, "bus_ids = (not written: '%s' is not a bus id)", c);
      free(c);
      return;
    }
  }
  for (size_t i = 0; i < n; i++) {
    char bdf[32];
    kiln_spec_parse_bus_id(d[i].bdf, bdf, sizeof bdf);
    size_t line = i / BUS_IDS_PER_LINE;
    if (i % BUS_IDS_PER_LINE == 0) {
      if (i)
        fputc('\n', f);
      if (line == 0)
        fprintf(f, "bus_ids = %s", bdf);
      else
        fprintf(f, "bus_ids.%zu = %s", line + 1, bdf);
    } else {
      fprintf(f, ", %s", bdf);
    }
  }
  if (n)
    fputc('\n', f);
}

static void bitrate_value(double bps, char *buf, size_t n) {
  static const struct {
    double mult;
    char unit;
  } units[] = {{1e12, 'T'}, {1e9, 'G'}, {1e6, 'M'}, {1e3, 'K'}};
  for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
    double v = bps / units[i].mult;
    if (v >= 1 && v == (double)(long long)v) {
      snprintf(buf, n, "%lld%c", (long long)v, units[i].unit);
      return;
    }
  }
  snprintf(buf, n, "%.6gG", bps / 1e9);
}

static void write_devices(FILE *f, const char *section, const char *what,
                          const struct dev *d, size_t n, bool nic) {
  fprintf(f, "\n[%s]\n", section);
  for (size_t i = 0; i < n; i++)
    if (d[i].detail)
      note(f, "%s", d[i].detail);
  fprintf(f, "count = %zu\n", n);
  if (n == 0)
    return;
  const char *name = common(d, n, false), *pci_name = common(d, n, true);
  if (name) {
    if (pci_name && strcmp(pci_name, name) != 0) {
      char *c = for_comment(pci_name);
      note(f, "their PCI name is '%s'; model may be a part of either", c);
      free(c);
    }
    put_name(f, "model", name);
  } else if (pci_name) {
    put_name(f, "model", pci_name);
  } else {
    fprintf(f, "; model = (the %s here differ in name)\n", what);
  }
  bool alike = true;
  for (size_t i = 0; i < n; i++)
    alike = alike && d[i].has_id && d[i].vendor_id == d[0].vendor_id &&
            d[i].device_id == d[0].device_id;
  if (alike)
    fprintf(f, "pci_id = %04x:%04x\n", d[0].vendor_id, d[0].device_id);
  else
    fprintf(f, "; pci_id = (the %s here differ in PCI id)\n", what);
  put_bus_ids(f, d, n);
  if (!nic)
    return;
  double speed = 0;
  bool one_speed = true;
  for (size_t i = 0; i < n; i++) {
    if (d[i].speed_bps <= 0)
      one_speed = false;
    else if (speed == 0)
      speed = d[i].speed_bps;
    else if (d[i].speed_bps != speed)
      one_speed = false;
  }
  char buf[32];
  bitrate_value(speed, buf, sizeof buf);
  double back = 0;
  if (one_speed && kiln_spec_parse_bitrate(buf, &back) == 0 && back <= speed)
    fprintf(f, "speed = %s\n", buf);
  else if (one_speed)
    fprintf(f, "; speed = (%g b/s cannot be written exactly)\n", speed);
  else
    fprintf(f, "; speed = (link speeds here differ or are unknown: no "
               "driver, link down, or a PCI capture)\n");
}

/* One [pcie VVVV:DDDD] per distinct GPU, NIC and NVMe id on the bus, with
 * the slowest link that id trained to here. */
static void write_links(FILE *f, const struct kiln_inventory *inv,
                        const struct dev *const *kinds, const size_t *counts,
                        size_t n_kinds) {
  uint32_t *ids = NULL;
  size_t n_ids = 0;
  for (size_t k = 0; k < n_kinds; k++)
    for (size_t i = 0; i < counts[k]; i++) {
      const struct dev *d = &kinds[k][i];
      if (!d->has_id)
        continue;
      uint32_t id = (uint32_t)d->vendor_id << 16 | d->device_id;
      bool seen = false;
      for (size_t j = 0; j < n_ids && !seen; j++)
        seen = ids[j] == id;
      if (!seen) {
        ids = kiln_xrealloc(ids, (n_ids + 1) * sizeof *ids);
        ids[n_ids++] = id;
      }
    }
  for (size_t j = 0; j < n_ids; j++) {
    uint16_t vendor = (uint16_t)(ids[j] >> 16), device = (uint16_t)ids[j];
    const struct kiln_pci_device *first = NULL;
    double gts = 0, cap_gts = 0;
    int width = 0, cap_width = 0;
    size_t n = 0;
    for (size_t i = 0; i < inv->pci.n; i++) {
      const struct kiln_pci_device *p = &inv->pci.devs[i];
      if (p->vendor_id != vendor || p->device_id != device || !p->link.has_link)
        continue;
      if (n++ == 0) {
        first = p;
        gts = p->link.sta_gts;
        width = p->link.sta_width;
        cap_gts = p->link.cap_gts;
        cap_width = p->link.cap_width;
      }
      if (p->link.sta_gts < gts)
        gts = p->link.sta_gts;
      if (p->link.sta_width < width)
        width = p->link.sta_width;
    }
    if (!first)
      continue; /* not on the bus, or no link to check */
    char name[256], got[64], cap[64], buf[32];
    kiln_pci_device_name(&inv->pci, first, name, sizeof name);
    char *c = for_comment(name);
    kiln_pcie_link_text(gts, width, got, sizeof got);
    kiln_pcie_link_text(cap_gts, cap_width, cap, sizeof cap);
    fprintf(f, "\n[pcie %04x:%04x]\n", vendor, device);
    note(f, "%zu x %s: slowest trained link %s; capable of %s", n, c, got, cap);
    free(c);
    double g;
    int w;
    snprintf(buf, sizeof buf, "%gGT/s", gts);
    if (gts > 0 && kiln_spec_parse_pcie_speed(buf, &g) == 0 && g == gts)
      fprintf(f, "speed = %s\n", buf);
    else
      fprintf(f, "; speed = (a link here is down, or at an odd speed)\n");
    snprintf(buf, sizeof buf, "%d", width);
    if (kiln_spec_parse_pcie_width(buf, &w) == 0)
      fprintf(f, "width = %d\n", width);
    else
      fprintf(f, "; width = (a link here is down, or at an odd width)\n");
  }
  free(ids);
}

static const struct kiln_pci_device *on_bus(const struct kiln_inventory *inv,
                                            const char *bdf) {
  return bdf && *bdf ? kiln_pci_find(&inv->pci, bdf) : NULL;
}

static void write_spec(FILE *f, const struct kiln_inventory *inv) {
  header(f, inv);
  write_system(f, inv);
  write_cpu(f, inv);
  write_memory(f, inv);

  struct dev *gpus = kiln_xcalloc(inv->n_gpus + 1, sizeof *gpus);
  for (size_t i = 0; i < inv->n_gpus; i++) {
    const struct kiln_inv_gpu *g = &inv->gpus[i];
    const struct kiln_pci_device *p = on_bus(inv, g->bdf);
    gpus[i] = (struct dev){.bdf = g->bdf,
                           .name = g->name,
                           .pci_name = g->pci_name,
                           .has_id = true, /* NVIDIA's, by definition */
                           .vendor_id = p ? p->vendor_id : 0x10de,
                           .device_id = g->device_id};
  }
  struct dev *nics = kiln_xcalloc(inv->n_nics + 1, sizeof *nics);
  char **details = kiln_xcalloc(inv->n_nics + 1, sizeof *details);
  for (size_t i = 0; i < inv->n_nics; i++) {
    const struct kiln_inv_nic *n = &inv->nics[i];
    char speed[32] = "speed unknown";
    if (n->speed_bps > 0)
      kiln_bitrate_text(n->speed_bps, speed, sizeof speed);
    char *ifn = for_comment(n->ifname), *ib = for_comment(n->ib_device);
    char *state = for_comment(n->link_state), *bdf = for_comment(n->bdf);
    details[i] = kiln_strdup_printf(
        "%s %s%s%s %s%s%s", bdf, *ifn ? ifn : "(no interface)", *ib ? " " : "",
        ib, speed, *state ? ", " : "", state);
    free(ifn);
    free(ib);
    free(state);
    free(bdf);
    nics[i] = (struct dev){.bdf = n->bdf,
                           .name = "",
                           .pci_name = n->name,
                           .has_id = true,
                           .vendor_id = n->vendor_id,
                           .device_id = n->device_id,
                           .speed_bps = n->speed_bps,
                           .detail = details[i]};
  }
  struct dev *nvmes = kiln_xcalloc(inv->n_nvmes + 1, sizeof *nvmes);
  for (size_t i = 0; i < inv->n_nvmes; i++) {
    const struct kiln_inv_nvme *v = &inv->nvmes[i];
    const struct kiln_pci_device *p = on_bus(inv, v->bdf);
    nvmes[i] = (struct dev){.bdf = v->bdf,
                            .name = v->model,
                            .pci_name = v->name,
                            .has_id = p != NULL,
                            .vendor_id = p ? p->vendor_id : 0,
                            .device_id = p ? p->device_id : 0};
  }
  write_devices(f, "gpu", "GPUs", gpus, inv->n_gpus, false);
  write_devices(f, "nic", "NICs", nics, inv->n_nics, true);
  write_devices(f, "nvme", "NVMe drives", nvmes, inv->n_nvmes, false);
  const struct dev *kinds[] = {gpus, nics, nvmes};
  const size_t counts[] = {inv->n_gpus, inv->n_nics, inv->n_nvmes};
  write_links(f, inv, kinds, counts, 3);
  fprintf(f, "\n[aer]\n"
             "; correctable PCIe errors allowed per device during a run\n"
             "correctable_max = 0\n");
  for (size_t i = 0; i < inv->n_nics; i++)
    free(details[i]);
  free(details);
  free(gpus);
  free(nics);
  free(nvmes);
}

/* Whether the section whose header ends at p has a key line before the
 * next header. */
static bool section_has_keys(const char *p) {
  while (*p) {
    const char *eol = strchrnul(p, '\n');
    const char *b = p + strspn(p, " \t");
    if (*b == '[')
      return false;
    if (b < eol && *b != ';' && *b != '#' && *b != '\r')
      return true;
    p = *eol ? eol + 1 : eol;
  }
  return false;
}

/* text to f, with the header of every section that has no key (all its
 * values unknown on this machine) made a comment: an empty section is
 * refused when the spec is read, and checks nothing anyway. */
static void put_without_empty_sections(FILE *f, const char *text) {
  for (const char *p = text; *p;) {
    const char *eol = strchrnul(p, '\n');
    int len = (int)(eol - p);
    if (*p == '[' && !section_has_keys(*eol ? eol + 1 : eol))
      fprintf(f, "; %.*s  (nothing known on this machine to check)\n", len, p);
    else
      fprintf(f, "%.*s\n", len, p);
    p = *eol ? eol + 1 : eol;
  }
}

int kiln_spec_write(const struct kiln_inventory *inv, const char *path,
                    char *err, size_t n) {
  /* The rename would replace a device node or a symlink's target with a
   * regular file: only a regular file (or nothing) is replaced. */
  if (kiln_check_new_file_target(path, err, n) != 0)
    return -1;
  struct kiln_atomic a;
  FILE *f = kiln_atomic_open(&a, path, err, n);
  if (!f)
    return -1;
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  if (!mem) {
    snprintf(err, n, "%s: %s", path, strerror(errno));
    kiln_atomic_abort(&a);
    return -1;
  }
  write_spec(mem, inv);
  if (fclose(mem) != 0 || !text) {
    snprintf(err, n, "%s: %s", path, strerror(errno ? errno : ENOMEM));
    free(text);
    kiln_atomic_abort(&a);
    return -1;
  }
  put_without_empty_sections(f, text);
  free(text);
  return kiln_atomic_commit(&a, err, n);
}
