/* The machine against the station spec: every difference, one report each,
 * naming what was found and what the spec expects. */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kiln/inventory_spec.h"
#include "kiln/textutil.h"

struct cmp {
  kiln_spec_report_fn report;
  void *ctx;
  size_t n;
};

static void differ(struct cmp *c, const char *kind, const char *hwid,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void differ(struct cmp *c, const char *kind, const char *hwid,
                   const char *fmt, ...) {
  c->n++;
  if (!c->report)
    return;
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int len = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *msg = kiln_xcalloc(len > 0 ? (size_t)len + 1 : 1, 1);
  if (len > 0)
    vsnprintf(msg, (size_t)len + 1, fmt, ap2);
  va_end(ap2);
  c->report(c->ctx, kind, hwid, msg);
  free(msg);
}

static const char *str(const char *s) { return s ? s : ""; }

/* ASCII case-insensitive substring: names are compared the same in every
 * locale. */
static bool contains_nocase(const char *hay, const char *needle) {
  hay = str(hay);
  size_t n = strlen(needle);
  for (; *hay; hay++)
    if (strncasecmp(hay, needle, n) == 0)
      return true;
  return n == 0;
}

/* s without the blanks around it, as libinih hands back a value. */
static bool equal_trimmed(const char *a, const char *b) {
  a = str(a);
  b = str(b);
  while (isspace((unsigned char)*a))
    a++;
  while (isspace((unsigned char)*b))
    b++;
  size_t la = strlen(a), lb = strlen(b);
  while (la && isspace((unsigned char)a[la - 1]))
    la--;
  while (lb && isspace((unsigned char)b[lb - 1]))
    lb--;
  return la == lb && memcmp(a, b, la) == 0;
}

/* A name from the machine, quoted for a message ("'X'", or "unknown"),
 * with control characters shown, not sent to a terminal. */
static char *quoted(const char *s) {
  if (!s || !*s)
    return kiln_xstrdup("unknown");
  char *e = kiln_escape_controls(s);
  char *q = kiln_strdup_printf("'%s'", e);
  free(e);
  return q;
}

/* A case-insensitive substring check of one name (or either of two). */
static void check_name(struct cmp *c, const char *kind, const char *hwid,
                       const char *prefix, const char *what, const char *name,
                       const char *alt, const char *want) {
  if (!want || contains_nocase(name, want) ||
      (alt && *alt && contains_nocase(alt, want)))
    return;
  char *q = quoted(name), *w = kiln_escape_controls(want);
  char *qa = alt && *alt && strcmp(alt, str(name)) != 0 ? quoted(alt) : NULL;
  differ(c, kind, hwid, "%s: %s %s%s%s%s does not match spec '%s'", prefix,
         what, q, qa ? " (PCI name " : "", qa ? qa : "", qa ? ")" : "", w);
  free(q);
  free(qa);
  free(w);
}

static void check_count(struct cmp *c, const char *kind, const char *what,
                        int found, int want) {
  if (want < 0 || found == want)
    return;
  if (found <= 0)
    differ(c, kind, NULL, "%s: %s unknown, spec expects %d", kind, what, want);
  else
    differ(c, kind, NULL, "%s: %s %d, spec expects %d", kind, what, found,
           want);
}

static void check_system(struct cmp *c, const struct kiln_spec *spec,
                         const struct kiln_inventory *inv) {
  check_name(c, "system", NULL, "system", "vendor", inv->dmi.sys_vendor, NULL,
             spec->system_vendor);
  check_name(c, "system", NULL, "system", "product", inv->dmi.product, NULL,
             spec->system_product);
  if (spec->bios_version &&
      !equal_trimmed(inv->dmi.bios_version, spec->bios_version)) {
    char *q = quoted(inv->dmi.bios_version);
    char *w = kiln_escape_controls(spec->bios_version);
    differ(c, "bios", NULL, "bios: version %s, spec expects '%s'", q, w);
    free(q);
    free(w);
  }
}

static void check_cpu(struct cmp *c, const struct kiln_spec *spec,
                      const struct kiln_inventory *inv) {
  check_name(c, "cpu", NULL, "cpu", "model", inv->cpu.model, NULL,
             spec->cpu_model);
  check_count(c, "cpu", "sockets", inv->cpu.sockets, spec->cpu_sockets);
  check_count(c, "cpu", "cores", inv->cpu.cores, spec->cpu_cores);
  check_count(c, "cpu", "threads", inv->cpu.threads, spec->cpu_threads);
}

static const char *dimm_name(const struct kiln_inv_dimm *d) {
  if (d->locator && *d->locator)
    return d->locator;
  return str(d->bank_locator);
}

static void check_memory(struct cmp *c, const struct kiln_spec *spec,
                         const struct kiln_inventory *inv) {
  const struct kiln_inv_memory *m = &inv->memory;
  const char *note =
      m->dimm_note && *m->dimm_note ? m->dimm_note : "SMBIOS gave none";
  char want[64], got[64];
  if (spec->mem_total_bytes) {
    kiln_size_text(spec->mem_total_bytes, 2, want, sizeof want);
    if (m->dimm_total_bytes > 0) {
      kiln_size_text(m->dimm_total_bytes, 2, got, sizeof got);
      if (m->dimm_total_bytes != spec->mem_total_bytes)
        differ(c, "memory", NULL,
               "memory: %s installed (sum of the DIMMs), spec expects %s", got,
               want);
    } else if (m->mem_total_bytes > 0) {
      /* The kernel keeps some for itself: MemTotal is a little below. */
      kiln_size_text(m->mem_total_bytes, 2, got, sizeof got);
      if (m->mem_total_bytes > spec->mem_total_bytes ||
          (double)m->mem_total_bytes < 0.95 * (double)spec->mem_total_bytes)
        differ(c, "memory", NULL,
               "memory: MemTotal %s, spec expects %s installed (MemTotal may "
               "be up to 5%% below it; no DIMM list: %s)",
               got, want, note);
    } else {
      differ(c, "memory", NULL, "memory: total unknown, spec expects %s", want);
    }
  }
  if (spec->dimm_count < 0 && !spec->dimm_size_bytes)
    return;
  if (m->n_dimms == 0) {
    char each[64] = "";
    if (spec->dimm_size_bytes)
      kiln_size_text(spec->dimm_size_bytes, 2, each, sizeof each);
    char count[32] = "";
    if (spec->dimm_count >= 0)
      snprintf(count, sizeof count, "%d ", spec->dimm_count);
    differ(c, "dimm", NULL,
           "dimm: no DIMM list (%s), cannot check the spec's %sDIMMs%s%s", note,
           count, each[0] ? " of " : "", each);
    return;
  }
  size_t populated = 0, empty = 0;
  for (size_t i = 0; i < m->n_dimms; i++) {
    if (m->dimms[i].populated)
      populated++;
    else
      empty++;
  }
  if (spec->dimm_count >= 0 && populated != (size_t)spec->dimm_count) {
    /* When every empty slot should hold a DIMM, name them. */
    bool name_empty = populated < (size_t)spec->dimm_count &&
                      empty <= (size_t)spec->dimm_count - populated;
    size_t len = 1;
    for (size_t i = 0; name_empty && i < m->n_dimms; i++)
      if (!m->dimms[i].populated)
        len += strlen(dimm_name(&m->dimms[i])) + 2;
    char *list = kiln_xcalloc(len, 1);
    const char *only = NULL;
    for (size_t i = 0; name_empty && i < m->n_dimms; i++)
      if (!m->dimms[i].populated) {
        if (*list)
          strcat(list, ", ");
        strcat(list, dimm_name(&m->dimms[i]));
        only = dimm_name(&m->dimms[i]);
      }
    char *q = kiln_escape_controls(list);
    differ(c, "dimm", empty == 1 && name_empty && *only ? only : NULL,
           "dimm: %zu populated, spec expects %d%s%s", populated,
           spec->dimm_count, *q ? "; empty: " : "", q);
    free(q);
    free(list);
  }
  if (spec->dimm_size_bytes) {
    kiln_size_text(spec->dimm_size_bytes, 2, want, sizeof want);
    for (size_t i = 0; i < m->n_dimms; i++) {
      const struct kiln_inv_dimm *d = &m->dimms[i];
      if (!d->populated || d->size_bytes == spec->dimm_size_bytes)
        continue;
      char *q = kiln_escape_controls(dimm_name(d));
      if (d->size_bytes)
        kiln_size_text(d->size_bytes, 2, got, sizeof got);
      else
        snprintf(got, sizeof got, "size unknown");
      differ(c, "dimm", dimm_name(d), "dimm %s: %s, spec expects %s", q, got,
             want);
      free(q);
    }
  }
}

/* One found device of a kind, whatever the kind's struct. */
struct found {
  const char *bdf;
  char norm[32];          /* "0000:1b:00.0", or the raw bdf if it is not one */
  const char *name, *alt; /* alt: the PCI name when name is another */
  bool has_id;
  uint16_t vendor_id, device_id;
  double speed_bps;
};

static void normalise(struct found *f) {
  if (kiln_spec_parse_bus_id(f->bdf, f->norm, sizeof f->norm) != 0)
    snprintf(f->norm, sizeof f->norm, "%s", str(f->bdf));
}

static const struct kiln_pci_device *on_bus(const struct kiln_inventory *inv,
                                            const char *bdf) {
  return bdf && *bdf ? kiln_pci_find(&inv->pci, bdf) : NULL;
}

/* Appends ", a, b" style items to a growing string. */
static void append(char **s, const char *item) {
  char *n = kiln_strdup_printf("%s%s%s", *s ? *s : "", *s ? ", " : "", item);
  free(*s);
  *s = n;
}

static void check_devices(struct cmp *c, const char *kind,
                          const struct kiln_spec_devices *want,
                          const struct found *f, size_t nf) {
  if (want->count >= 0 || want->n_bus_ids > 0) {
    char *missing = NULL, *extra = NULL;
    const char *named = NULL;
    size_t n_named = 0;
    for (size_t i = 0; i < want->n_bus_ids; i++) {
      bool there = false;
      for (size_t j = 0; j < nf && !there; j++)
        there = strcmp(f[j].norm, want->bus_ids[i]) == 0;
      if (!there) {
        append(&missing, want->bus_ids[i]);
        named = want->bus_ids[i];
        n_named++;
      }
    }
    /* bus_ids alone: each must be there, others may be. With a count as
     * long as the list, the list is all of them: name the others too. */
    bool complete = want->n_bus_ids > 0 && want->count >= 0 &&
                    (size_t)want->count == want->n_bus_ids;
    for (size_t j = 0; complete && j < nf; j++) {
      bool listed = false;
      for (size_t i = 0; i < want->n_bus_ids && !listed; i++)
        listed = strcmp(f[j].norm, want->bus_ids[i]) == 0;
      if (!listed) {
        append(&extra, f[j].norm);
        named = f[j].norm;
        n_named++;
      }
    }
    bool counted = want->count >= 0;
    if (missing || (counted && nf != (size_t)want->count))
      differ(c, kind, n_named == 1 ? named : NULL,
             "%s: %zu found, spec %s %d%s%s%s%s", kind, nf,
             counted ? "expects" : "lists",
             counted ? want->count : (int)want->n_bus_ids,
             missing ? "; missing " : "", missing ? missing : "",
             extra ? "; extra " : "", extra ? extra : "");
    free(missing);
    free(extra);
  }
  for (size_t j = 0; j < nf; j++) {
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s %s", kind, f[j].norm);
    check_name(c, kind, f[j].norm, prefix, "model", f[j].name, f[j].alt,
               want->model);
    if (want->pci_id_set && !f[j].has_id)
      differ(c, kind, f[j].norm,
             "%s: pci id unknown (not on the PCI bus), spec expects %04x:%04x",
             prefix, want->vendor_id, want->device_id);
    else if (want->pci_id_set && (f[j].vendor_id != want->vendor_id ||
                                  f[j].device_id != want->device_id))
      differ(c, kind, f[j].norm, "%s: pci id %04x:%04x, spec expects %04x:%04x",
             prefix, f[j].vendor_id, f[j].device_id, want->vendor_id,
             want->device_id);
    /* An unknown speed (no driver, a capture, no link) is not checked. */
    if (want->speed_bps > 0 && f[j].speed_bps > 0 &&
        f[j].speed_bps < want->speed_bps * (1 - 1e-9)) {
      char got[32], exp[32];
      kiln_bitrate_text(f[j].speed_bps, got, sizeof got);
      kiln_bitrate_text(want->speed_bps, exp, sizeof exp);
      differ(c, kind, f[j].norm, "%s: link speed %s, spec expects %s", prefix,
             got, exp);
    }
  }
}

static void check_gpus(struct cmp *c, const struct kiln_spec *spec,
                       const struct kiln_inventory *inv) {
  struct found *f = kiln_xcalloc(inv->n_gpus + 1, sizeof *f);
  for (size_t i = 0; i < inv->n_gpus; i++) {
    const struct kiln_inv_gpu *g = &inv->gpus[i];
    f[i].bdf = g->bdf;
    normalise(&f[i]);
    bool nvml = g->name && *g->name;
    f[i].name = nvml ? g->name : g->pci_name;
    f[i].alt = nvml ? g->pci_name : NULL;
    const struct kiln_pci_device *d = on_bus(inv, g->bdf);
    f[i].has_id = true; /* the inventory lists NVIDIA's GPUs */
    f[i].vendor_id = d ? d->vendor_id : 0x10de;
    f[i].device_id = g->device_id;
  }
  check_devices(c, "gpu", &spec->gpu, f, inv->n_gpus);
  free(f);
}

static void check_nics(struct cmp *c, const struct kiln_spec *spec,
                       const struct kiln_inventory *inv) {
  struct found *f = kiln_xcalloc(inv->n_nics + 1, sizeof *f);
  for (size_t i = 0; i < inv->n_nics; i++) {
    const struct kiln_inv_nic *n = &inv->nics[i];
    f[i].bdf = n->bdf;
    normalise(&f[i]);
    f[i].name = n->name;
    f[i].has_id = true;
    f[i].vendor_id = n->vendor_id;
    f[i].device_id = n->device_id;
    f[i].speed_bps = n->speed_bps;
  }
  check_devices(c, "nic", &spec->nic, f, inv->n_nics);
  free(f);
}

static void check_nvmes(struct cmp *c, const struct kiln_spec *spec,
                        const struct kiln_inventory *inv) {
  struct found *f = kiln_xcalloc(inv->n_nvmes + 1, sizeof *f);
  for (size_t i = 0; i < inv->n_nvmes; i++) {
    const struct kiln_inv_nvme *v = &inv->nvmes[i];
    f[i].bdf = v->bdf;
    normalise(&f[i]);
    bool model = v->model && *v->model;
    f[i].name = model ? v->model : v->name;
    f[i].alt = model ? v->name : NULL;
    const struct kiln_pci_device *d = on_bus(inv, v->bdf);
    f[i].has_id = d != NULL;
    f[i].vendor_id = d ? d->vendor_id : 0;
    f[i].device_id = d ? d->device_id : 0;
  }
  check_devices(c, "nvme", &spec->nvme, f, inv->n_nvmes);
  free(f);
}

static void check_links(struct cmp *c, const struct kiln_spec *spec,
                        const struct kiln_inventory *inv) {
  for (size_t i = 0; i < inv->pci.n; i++) {
    const struct kiln_pci_device *d = &inv->pci.devs[i];
    if (!d->link.has_link)
      continue;
    const struct kiln_spec_link *l = kiln_spec_link_for(spec, d);
    if (!l)
      continue;
    bool slow = l->gts > 0 && d->link.sta_gts < l->gts - 1e-9;
    bool narrow = l->width > 0 && d->link.sta_width < l->width;
    if (!slow && !narrow)
      continue;
    char name[256], got[64], want[64];
    kiln_pci_device_name(&inv->pci, d, name, sizeof name);
    kiln_pcie_link_text(d->link.sta_gts, d->link.sta_width, got, sizeof got);
    if (l->gts > 0 && l->width > 0)
      snprintf(want, sizeof want, "%g GT/s x%d", l->gts, l->width);
    else if (l->gts > 0)
      snprintf(want, sizeof want, "%g GT/s", l->gts);
    else
      snprintf(want, sizeof want, "x%d", l->width);
    char *q = kiln_escape_controls(name);
    differ(c, "pcie", d->bdf, "%s %s: %s, spec expects %s", d->bdf, q, got,
           want);
    free(q);
  }
}

size_t kiln_spec_compare(const struct kiln_spec *spec,
                         const struct kiln_inventory *inv,
                         kiln_spec_report_fn report, void *ctx) {
  struct cmp c = {.report = report, .ctx = ctx};
  check_system(&c, spec, inv);
  check_cpu(&c, spec, inv);
  check_memory(&c, spec, inv);
  check_gpus(&c, spec, inv);
  check_nics(&c, spec, inv);
  check_nvmes(&c, spec, inv);
  check_links(&c, spec, inv);
  return c.n;
}
