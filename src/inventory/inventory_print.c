/* The inventory for people (kiln_inventory_print: aligned tables, one
 * section per part) and for programs (kiln_inventory_to_json).
 *
 * JSON keys (stable; sizes in bytes, speeds in bits/s, MT/s or GT/s as
 * named; bus ids are strings "0000:1b:00.0"; "" where a text is unknown,
 * -1 where a NUMA node is, 0 where a count or speed is):
 *
 *   dmi:    sys_vendor, product, serial, board_serial, bios_vendor,
 *           bios_version, bios_date
 *   cpu:    model, microcode, sockets, cores, threads, numa_nodes
 *   memory: mem_total_bytes, dimm_total_bytes, dimm_note, dimms_populated,
 *           dimms: [{locator, bank_locator, populated, size_bytes, type,
 *                    speed_mts, manufacturer, part_number, serial}]
 *   gpus:   [{bdf, pci_name, pci_id "10de:2330", device_id, numa_node,
 *             name, serial, uuid, link, upstream}]
 *   nvml_note
 *   nics:   [{bdf, name, pci_id, vendor_id, device_id, ifname, ib_device,
 *             infiniband, speed_bps, link_state, mac, firmware, link,
 *             upstream}]
 *   nvme:   [{bdf, name, ctrl, model, serial, firmware, link, upstream}]
 *   pci:    source, from_dump,
 *           devices: [{bdf, pci_id, vendor_id, device_id, vendor, name,
 *                      class_code, class, subsys_vendor_id,
 *                      subsys_device_id, header_type, numa_node, driver,
 *                      parent (bus id or null), upstream, link, aer}]
 *
 *   link:     null (no PCIe link), or {port, cap_gts, cap_width, gts,
 *             width, below_capability}; port is "endpoint",
 *             "legacy_endpoint", "root_port", "upstream", "downstream",
 *             "pcie_to_pci", "pci_to_pcie", "rc_endpoint" or "rc_event"
 *   upstream: the bus ids of the bridges above the device, nearest first
 *             (a GPU's switch downstream port, the switch's upstream port,
 *             the root port)
 *   aer:      null (no AER capability), or {uncorr_status,
 *             uncorr_severity, corr_status} (register values) */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/inventory.h"
#include "kiln/textutil.h"

/* ---- shared ---- */

/* Tolerates NULL strings: an inventory built by hand (tests) may have
 * them. */
static const char *str(const char *s) { return s ? s : ""; }
static const char *or_dash(const char *s) { return s && *s ? s : "-"; }

static bool below_capability(const struct kiln_pcie_link *l) {
  return l->has_link &&
         (l->sta_gts < l->cap_gts || l->sta_width < l->cap_width);
}

/* "cap 32 GT/s x16, trained 16 GT/s x16 (below cap)", or "-". */
static void format_link(const struct kiln_pcie_link *l, char *buf, size_t n) {
  if (!l->has_link) {
    snprintf(buf, n, "-");
    return;
  }
  char cap[48], sta[48];
  kiln_pcie_link_text(l->cap_gts, l->cap_width, cap, sizeof cap);
  kiln_pcie_link_text(l->sta_gts, l->sta_width, sta, sizeof sta);
  snprintf(buf, n, "cap %s, trained %s%s", cap, sta,
           below_capability(l) ? " (below cap)" : "");
}

static const struct kiln_pci_device *device(const struct kiln_inventory *inv,
                                            const char *bdf) {
  return kiln_pci_find(&inv->pci, bdf);
}

/* The parent of d, or NULL (also for an index out of range). */
static const struct kiln_pci_device *
parent_of(const struct kiln_pci_bus *bus, const struct kiln_pci_device *d) {
  if (d->parent < 0 || (size_t)d->parent >= bus->n)
    return NULL;
  return &bus->devs[d->parent];
}

/* ---- tables for people ---- */

struct table {
  size_t cols, rows;
  char **cells; /* rows x cols */
};

static void table_row(struct table *t, ...) {
  t->cells =
      kiln_xrealloc(t->cells, (t->rows + 1) * t->cols * sizeof *t->cells);
  va_list ap;
  va_start(ap, t);
  for (size_t c = 0; c < t->cols; c++) {
    const char *s = va_arg(ap, const char *);
    t->cells[t->rows * t->cols + c] = kiln_escape_controls(s ? s : "");
  }
  va_end(ap);
  t->rows++;
}

static void table_print(struct table *t, FILE *f) {
  size_t *width = kiln_xcalloc(t->cols, sizeof *width);
  for (size_t r = 0; r < t->rows; r++)
    for (size_t c = 0; c < t->cols; c++) {
      size_t w = kiln_text_columns(t->cells[r * t->cols + c]);
      if (w > width[c])
        width[c] = w;
    }
  for (size_t r = 0; r < t->rows; r++) {
    /* The last non-empty cell ends the line: no trailing blanks. */
    size_t last = 0;
    for (size_t c = 0; c < t->cols; c++)
      if (t->cells[r * t->cols + c][0])
        last = c;
    fputs("  ", f);
    for (size_t c = 0; c <= last; c++) {
      const char *s = t->cells[r * t->cols + c];
      fputs(s, f);
      if (c < last)
        fprintf(f, "%*s", (int)(width[c] - kiln_text_columns(s) + 2), "");
    }
    fputc('\n', f);
  }
  for (size_t i = 0; i < t->rows * t->cols; i++)
    free(t->cells[i]);
  free(t->cells);
  free(width);
  t->cells = NULL;
  t->rows = 0;
}

static void print_system(const struct kiln_inventory *inv, FILE *f) {
  const struct kiln_inv_dmi *d = &inv->dmi;
  fprintf(f, "System (DMI)\n");
  char bios[512];
  const char *version = str(d->bios_version), *date = str(d->bios_date);
  snprintf(bios, sizeof bios, "%s%s%s%s%s%s", or_dash(d->bios_vendor),
           version[0] ? " " : "", version, date[0] ? " (" : "", date,
           date[0] ? ")" : "");
  struct table t = {.cols = 2};
  table_row(&t, "vendor", or_dash(d->sys_vendor));
  table_row(&t, "product", or_dash(d->product));
  table_row(&t, "serial", or_dash(d->serial));
  table_row(&t, "board serial", or_dash(d->board_serial));
  table_row(&t, "BIOS", bios);
  table_print(&t, f);
}

static void print_cpu(const struct kiln_inventory *inv, FILE *f) {
  const struct kiln_inv_cpu *c = &inv->cpu;
  char sockets[32], cores[64], numa[32];
  snprintf(sockets, sizeof sockets, "%d", c->sockets);
  snprintf(cores, sizeof cores, "%d physical, %d threads", c->cores,
           c->threads);
  if (c->numa_nodes > 0)
    snprintf(numa, sizeof numa, "%d", c->numa_nodes);
  else
    snprintf(numa, sizeof numa, "unknown");
  fprintf(f, "\nCPU\n");
  struct table t = {.cols = 2};
  table_row(&t, "model", or_dash(c->model));
  table_row(&t, "sockets", sockets);
  table_row(&t, "cores", cores);
  table_row(&t, "microcode", or_dash(c->microcode));
  table_row(&t, "NUMA nodes", numa);
  table_print(&t, f);
}

static void print_memory(const struct kiln_inventory *inv, FILE *f) {
  const struct kiln_inv_memory *m = &inv->memory;
  char total[64], dimms[128], size[64];
  kiln_size_text(m->mem_total_bytes, 1, total, sizeof total);
  size_t populated = 0;
  for (size_t i = 0; i < m->n_dimms; i++)
    populated += m->dimms[i].populated;
  kiln_size_text(m->dimm_total_bytes, 1, size, sizeof size);
  snprintf(dimms, sizeof dimms, "%zu of %zu slots populated, %s", populated,
           m->n_dimms, size);
  fprintf(f, "\nMemory\n");
  struct table t = {.cols = 2};
  table_row(&t, "MemTotal", total);
  if (m->n_dimms)
    table_row(&t, "DIMMs", dimms);
  if (m->dimm_note && m->dimm_note[0])
    table_row(&t, "note", m->dimm_note);
  table_print(&t, f);
  if (!m->n_dimms)
    return;
  fputc('\n', f);
  t = (struct table){.cols = 7};
  table_row(&t, "LOCATOR", "SIZE", "TYPE", "SPEED", "MANUFACTURER", "PART",
            "SERIAL");
  for (size_t i = 0; i < m->n_dimms; i++) {
    const struct kiln_inv_dimm *d = &m->dimms[i];
    if (!d->populated) {
      table_row(&t, or_dash(d->locator), "empty", "", "", "", "", "");
      continue;
    }
    char speed[32];
    if (d->speed_mts > 0)
      snprintf(speed, sizeof speed, "%d MT/s", d->speed_mts);
    else
      snprintf(speed, sizeof speed, "-");
    kiln_size_text(d->size_bytes, 1, size, sizeof size);
    table_row(&t, or_dash(d->locator), size, or_dash(d->type), speed,
              or_dash(d->manufacturer), or_dash(d->part_number),
              or_dash(d->serial));
  }
  table_print(&t, f);
}

static void numa_text(int node, char *buf, size_t n) {
  if (node >= 0)
    snprintf(buf, n, "%d", node);
  else
    snprintf(buf, n, "-");
}

static void print_gpus(const struct kiln_inventory *inv, FILE *f) {
  fprintf(f, "\nGPUs (%zu)\n", inv->n_gpus);
  struct table t = {.cols = 5};
  if (inv->n_gpus)
    table_row(&t, "BUS ID", "NAME", "SERIAL", "LINK", "NUMA");
  for (size_t i = 0; i < inv->n_gpus; i++) {
    const struct kiln_inv_gpu *g = &inv->gpus[i];
    const struct kiln_pci_device *d = device(inv, g->bdf);
    char link[160] = "-", numa[16];
    if (d)
      format_link(&d->link, link, sizeof link);
    numa_text(g->numa_node, numa, sizeof numa);
    table_row(&t, g->bdf, str(g->name)[0] ? g->name : str(g->pci_name),
              or_dash(g->serial), link, numa);
  }
  table_print(&t, f);
  if (inv->nvml_note && inv->nvml_note[0])
    fprintf(f, "  note: %s\n", inv->nvml_note);
}

static void print_nics(const struct kiln_inventory *inv, FILE *f) {
  fprintf(f, "\nNICs (%zu)\n", inv->n_nics);
  struct table t = {.cols = 6};
  if (inv->n_nics)
    table_row(&t, "BUS ID", "NAME", "PORT", "SPEED", "STATE", "FIRMWARE");
  for (size_t i = 0; i < inv->n_nics; i++) {
    const struct kiln_inv_nic *c = &inv->nics[i];
    char port[300], speed[32];
    const char *ifname = str(c->ifname), *ibdev = str(c->ib_device);
    snprintf(port, sizeof port, "%s%s%s", ifname,
             ifname[0] && ibdev[0] ? " " : "", ibdev);
    kiln_bitrate_text(c->speed_bps, speed, sizeof speed);
    table_row(&t, c->bdf, str(c->name), or_dash(port), speed,
              or_dash(c->link_state), or_dash(c->firmware));
  }
  table_print(&t, f);
}

static void print_nvme(const struct kiln_inventory *inv, FILE *f) {
  fprintf(f, "\nNVMe (%zu)\n", inv->n_nvmes);
  struct table t = {.cols = 5};
  if (inv->n_nvmes)
    table_row(&t, "BUS ID", "CONTROLLER", "MODEL", "SERIAL", "FIRMWARE");
  for (size_t i = 0; i < inv->n_nvmes; i++) {
    const struct kiln_inv_nvme *v = &inv->nvmes[i];
    table_row(&t, v->bdf, or_dash(v->ctrl),
              str(v->model)[0] ? v->model : str(v->name), or_dash(v->serial),
              or_dash(v->firmware));
  }
  table_print(&t, f);
}

static void print_pci(const struct kiln_inventory *inv, FILE *f) {
  const struct kiln_pci_bus *bus = &inv->pci;
  fprintf(f, "\nPCIe devices (%zu, %s)\n", bus->n,
          bus->source ? bus->source : "live bus");
  struct table t = {.cols = 7};
  if (bus->n)
    table_row(&t, "BUS ID", "ID", "NAME", "CLASS", "LINK", "NUMA", "DRIVER");
  for (size_t i = 0; i < bus->n; i++) {
    const struct kiln_pci_device *d = &bus->devs[i];
    char id[16], name[256], class[256], link[160], numa[16];
    snprintf(id, sizeof id, "%04x:%04x", d->vendor_id, d->device_id);
    kiln_pci_device_name(bus, d, name, sizeof name);
    kiln_pci_class_name(bus, d, class, sizeof class);
    format_link(&d->link, link, sizeof link);
    numa_text(d->numa_node, numa, sizeof numa);
    table_row(&t, d->bdf, id, name, class, link, numa, or_dash(d->driver));
  }
  table_print(&t, f);
}

/* "0000:1b:00.0 <- 0000:1a:00.0 <- ... <- root port", malloc'd. */
static char *upstream_text(const struct kiln_pci_bus *bus,
                           const struct kiln_pci_device *d) {
  char *s = kiln_xstrdup(d->bdf);
  size_t hops = 0;
  for (const struct kiln_pci_device *p = parent_of(bus, d); p && hops < bus->n;
       p = parent_of(bus, p), hops++) {
    char *longer = kiln_strdup_printf("%s <- %s", s, p->bdf);
    free(s);
    s = longer;
  }
  return s;
}

static void print_paths(const struct kiln_inventory *inv, FILE *f) {
  if (!inv->n_gpus && !inv->n_nics && !inv->n_nvmes)
    return;
  fprintf(f, "\nPCIe paths (each device, then the bridges above it)\n");
  struct table t = {.cols = 2};
  struct {
    const char *kind;
    size_t n;
  } kinds[] = {
      {"GPU", inv->n_gpus}, {"NIC", inv->n_nics}, {"NVMe", inv->n_nvmes}};
  for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
    for (size_t i = 0; i < kinds[k].n; i++) {
      const char *bdf = k == 0   ? inv->gpus[i].bdf
                        : k == 1 ? inv->nics[i].bdf
                                 : inv->nvmes[i].bdf;
      const struct kiln_pci_device *d = device(inv, bdf);
      char *path = d ? upstream_text(&inv->pci, d) : kiln_xstrdup(bdf);
      table_row(&t, kinds[k].kind, path);
      free(path);
    }
  table_print(&t, f);
}

void kiln_inventory_print(const struct kiln_inventory *inv, FILE *f) {
  print_system(inv, f);
  print_cpu(inv, f);
  print_memory(inv, f);
  print_gpus(inv, f);
  print_nics(inv, f);
  print_nvme(inv, f);
  print_pci(inv, f);
  print_paths(inv, f);
}

/* ---- JSON ---- */

static json_t *jstr(const char *s) {
  json_t *j = json_string(s ? s : "");
  if (!j) { /* not UTF-8 */
    char *clean = kiln_utf8_sanitize(s);
    j = json_string(clean);
    free(clean);
  }
  return j;
}

static void set_str(json_t *o, const char *key, const char *s) {
  json_object_set_new(o, key, jstr(s));
}

static void set_int(json_t *o, const char *key, json_int_t v) {
  json_object_set_new(o, key, json_integer(v));
}

static const char *port_name(enum kiln_pcie_port p) {
  switch (p) {
  case KILN_PCIE_NONE: return "none";
  case KILN_PCIE_ENDPOINT: return "endpoint";
  case KILN_PCIE_LEGACY_ENDPOINT: return "legacy_endpoint";
  case KILN_PCIE_ROOT_PORT: return "root_port";
  case KILN_PCIE_UPSTREAM: return "upstream";
  case KILN_PCIE_DOWNSTREAM: return "downstream";
  case KILN_PCIE_PCIE_TO_PCI: return "pcie_to_pci";
  case KILN_PCIE_PCI_TO_PCIE: return "pci_to_pcie";
  case KILN_PCIE_RC_ENDPOINT: return "rc_endpoint";
  case KILN_PCIE_RC_EVENT: return "rc_event";
  }
  return "unknown";
}

static json_t *link_json(const struct kiln_pci_device *d) {
  const struct kiln_pcie_link *l = d ? &d->link : NULL;
  if (!l || !l->has_link)
    return json_null();
  json_t *o = json_object();
  set_str(o, "port", port_name(l->port));
  json_object_set_new(o, "cap_gts", json_real(l->cap_gts));
  set_int(o, "cap_width", l->cap_width);
  json_object_set_new(o, "gts", json_real(l->sta_gts));
  set_int(o, "width", l->sta_width);
  json_object_set_new(o, "below_capability", json_boolean(below_capability(l)));
  return o;
}

static json_t *upstream_json(const struct kiln_pci_bus *bus,
                             const struct kiln_pci_device *d) {
  json_t *a = json_array();
  size_t hops = 0;
  for (const struct kiln_pci_device *p = d ? parent_of(bus, d) : NULL;
       p && hops < bus->n; p = parent_of(bus, p), hops++)
    json_array_append_new(a, jstr(p->bdf));
  return a;
}

/* link and upstream of the device at bdf. */
static void set_placement(json_t *o, const struct kiln_inventory *inv,
                          const char *bdf) {
  const struct kiln_pci_device *d = device(inv, bdf);
  json_object_set_new(o, "link", link_json(d));
  json_object_set_new(o, "upstream", upstream_json(&inv->pci, d));
}

static void set_pci_id(json_t *o, uint16_t vendor, uint16_t dev) {
  char id[16];
  snprintf(id, sizeof id, "%04x:%04x", vendor, dev);
  set_str(o, "pci_id", id);
}

static json_t *dmi_json(const struct kiln_inv_dmi *d) {
  json_t *o = json_object();
  set_str(o, "sys_vendor", d->sys_vendor);
  set_str(o, "product", d->product);
  set_str(o, "serial", d->serial);
  set_str(o, "board_serial", d->board_serial);
  set_str(o, "bios_vendor", d->bios_vendor);
  set_str(o, "bios_version", d->bios_version);
  set_str(o, "bios_date", d->bios_date);
  return o;
}

static json_t *cpu_json(const struct kiln_inv_cpu *c) {
  json_t *o = json_object();
  set_str(o, "model", c->model);
  set_str(o, "microcode", c->microcode);
  set_int(o, "sockets", c->sockets);
  set_int(o, "cores", c->cores);
  set_int(o, "threads", c->threads);
  set_int(o, "numa_nodes", c->numa_nodes);
  return o;
}

static json_t *memory_json(const struct kiln_inv_memory *m) {
  json_t *o = json_object();
  set_int(o, "mem_total_bytes", (json_int_t)m->mem_total_bytes);
  set_int(o, "dimm_total_bytes", (json_int_t)m->dimm_total_bytes);
  set_str(o, "dimm_note", m->dimm_note);
  json_t *a = json_array();
  json_int_t populated = 0;
  for (size_t i = 0; i < m->n_dimms; i++) {
    const struct kiln_inv_dimm *d = &m->dimms[i];
    json_t *j = json_object();
    set_str(j, "locator", d->locator);
    set_str(j, "bank_locator", d->bank_locator);
    json_object_set_new(j, "populated", json_boolean(d->populated));
    set_int(j, "size_bytes", (json_int_t)d->size_bytes);
    set_str(j, "type", d->type);
    set_int(j, "speed_mts", d->speed_mts);
    set_str(j, "manufacturer", d->manufacturer);
    set_str(j, "part_number", d->part_number);
    set_str(j, "serial", d->serial);
    json_array_append_new(a, j);
    populated += d->populated;
  }
  set_int(o, "dimms_populated", populated);
  json_object_set_new(o, "dimms", a);
  return o;
}

static json_t *gpus_json(const struct kiln_inventory *inv) {
  json_t *a = json_array();
  for (size_t i = 0; i < inv->n_gpus; i++) {
    const struct kiln_inv_gpu *g = &inv->gpus[i];
    json_t *o = json_object();
    set_str(o, "bdf", g->bdf);
    set_str(o, "pci_name", g->pci_name);
    set_pci_id(o, 0x10de, g->device_id);
    set_int(o, "device_id", g->device_id);
    set_int(o, "numa_node", g->numa_node);
    set_str(o, "name", g->name);
    set_str(o, "serial", g->serial);
    set_str(o, "uuid", g->uuid);
    set_placement(o, inv, g->bdf);
    json_array_append_new(a, o);
  }
  return a;
}

static json_t *nics_json(const struct kiln_inventory *inv) {
  json_t *a = json_array();
  for (size_t i = 0; i < inv->n_nics; i++) {
    const struct kiln_inv_nic *c = &inv->nics[i];
    json_t *o = json_object();
    set_str(o, "bdf", c->bdf);
    set_str(o, "name", c->name);
    set_pci_id(o, c->vendor_id, c->device_id);
    set_int(o, "vendor_id", c->vendor_id);
    set_int(o, "device_id", c->device_id);
    set_str(o, "ifname", c->ifname);
    set_str(o, "ib_device", c->ib_device);
    json_object_set_new(o, "infiniband", json_boolean(c->infiniband));
    json_object_set_new(o, "speed_bps", json_real(c->speed_bps));
    set_str(o, "link_state", c->link_state);
    set_str(o, "mac", c->mac);
    set_str(o, "firmware", c->firmware);
    set_placement(o, inv, c->bdf);
    json_array_append_new(a, o);
  }
  return a;
}

static json_t *nvme_json(const struct kiln_inventory *inv) {
  json_t *a = json_array();
  for (size_t i = 0; i < inv->n_nvmes; i++) {
    const struct kiln_inv_nvme *v = &inv->nvmes[i];
    json_t *o = json_object();
    set_str(o, "bdf", v->bdf);
    set_str(o, "name", v->name);
    set_str(o, "ctrl", v->ctrl);
    set_str(o, "model", v->model);
    set_str(o, "serial", v->serial);
    set_str(o, "firmware", v->firmware);
    set_placement(o, inv, v->bdf);
    json_array_append_new(a, o);
  }
  return a;
}

static json_t *pci_json(const struct kiln_pci_bus *bus) {
  json_t *o = json_object();
  set_str(o, "source", bus->source ? bus->source : "live bus");
  json_object_set_new(o, "from_dump", json_boolean(bus->from_dump));
  json_t *a = json_array();
  for (size_t i = 0; i < bus->n; i++) {
    const struct kiln_pci_device *d = &bus->devs[i];
    json_t *j = json_object();
    char name[256];
    set_str(j, "bdf", d->bdf);
    set_pci_id(j, d->vendor_id, d->device_id);
    set_int(j, "vendor_id", d->vendor_id);
    set_int(j, "device_id", d->device_id);
    kiln_pci_vendor_name(bus, d, name, sizeof name);
    set_str(j, "vendor", name);
    kiln_pci_device_name(bus, d, name, sizeof name);
    set_str(j, "name", name);
    set_int(j, "class_code", d->class_code);
    kiln_pci_class_name(bus, d, name, sizeof name);
    set_str(j, "class", name);
    set_int(j, "subsys_vendor_id", d->subsys_vendor_id);
    set_int(j, "subsys_device_id", d->subsys_device_id);
    set_int(j, "header_type", d->header_type);
    set_int(j, "numa_node", d->numa_node);
    set_str(j, "driver", d->driver);
    const struct kiln_pci_device *p = parent_of(bus, d);
    json_object_set_new(j, "parent", p ? jstr(p->bdf) : json_null());
    json_object_set_new(j, "upstream", upstream_json(bus, d));
    json_object_set_new(j, "link", link_json(d));
    if (d->aer.present) {
      json_t *aer = json_object();
      set_int(aer, "uncorr_status", d->aer.uncorr_status);
      set_int(aer, "uncorr_severity", d->aer.uncorr_severity);
      set_int(aer, "corr_status", d->aer.corr_status);
      json_object_set_new(j, "aer", aer);
    } else {
      json_object_set_new(j, "aer", json_null());
    }
    json_array_append_new(a, j);
  }
  json_object_set_new(o, "devices", a);
  return o;
}

void *kiln_inventory_to_json(const struct kiln_inventory *inv) {
  json_t *o = json_object();
  json_object_set_new(o, "dmi", dmi_json(&inv->dmi));
  json_object_set_new(o, "cpu", cpu_json(&inv->cpu));
  json_object_set_new(o, "memory", memory_json(&inv->memory));
  json_object_set_new(o, "gpus", gpus_json(inv));
  set_str(o, "nvml_note", inv->nvml_note);
  json_object_set_new(o, "nics", nics_json(inv));
  json_object_set_new(o, "nvme", nvme_json(inv));
  json_object_set_new(o, "pci", pci_json(&inv->pci));
  return o;
}
