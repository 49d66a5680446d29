/* PCI devices and their PCIe links through libpci: the live bus (sysfs), or
 * an `lspci -xxxx` capture through libpci's dump access method.
 *
 * libpci reports fatal problems through pci_access.error, which must not
 * return. kiln installs its own that records the message and siglongjmp()s
 * back to the guarded call (the scan, a name lookup), so a garbled capture
 * becomes an error message instead of exit(1). */
#include "kiln/pci.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pci/pci.h>

#include "kiln/sysfs.h"
#include "kiln/textutil.h"

/* ---- libpci's error and warning callbacks ---- */

static _Thread_local sigjmp_buf *guard_jmp;
static _Thread_local char guard_msg[256];

static void copy_one_line(char *dst, size_t n, const char *src) {
  snprintf(dst, n, "%s", src);
  for (char *p = dst; *p; p++)
    if (*p == '\n' || *p == '\r' || *p == '\t')
      *p = ' ';
}

__attribute__((noreturn, format(printf, 1, 2))) static void
on_pci_error(char *fmt, ...) {
  char msg[sizeof guard_msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  copy_one_line(guard_msg, sizeof guard_msg, msg);
  if (guard_jmp)
    siglongjmp(*guard_jmp, 1);
  /* An error outside a guarded call: nowhere to go back to. */
  fprintf(stderr, "kiln: libpci: %s\n", guard_msg);
  abort();
}

__attribute__((format(printf, 1, 2))) static void on_pci_warning(char *fmt,
                                                                 ...) {
  (void)fmt; /* kiln reports what it could not read in its own words */
}

/* ---- small helpers ---- */

static double speed_gts(unsigned code) {
  static const double gts[] = {0, 2.5, 5, 8, 16, 32, 64, 128};
  return code < sizeof gts / sizeof *gts ? gts[code] : 0;
}

static bool port_has_link(int type) {
  switch (type) {
  case KILN_PCIE_ENDPOINT:
  case KILN_PCIE_LEGACY_ENDPOINT:
  case KILN_PCIE_ROOT_PORT:
  case KILN_PCIE_UPSTREAM:
  case KILN_PCIE_DOWNSTREAM:
  case KILN_PCIE_PCIE_TO_PCI:
  case KILN_PCIE_PCI_TO_PCIE: return true;
  default: return false;
  }
}

/* Bytes of config space this device answers: the largest n with byte n-1
 * readable. libpci's dump reader answers exactly the captured length;
 * sysfs answers what the kernel lets this user read. */
static size_t config_length(struct pci_dev *p) {
  unsigned char b;
  size_t lo = 0, hi = 4096; /* readable(lo) holds; find the largest */
  if (pci_read_block(p, 4095, &b, 1))
    return 4096;
  while (lo + 1 < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (pci_read_block(p, (int)mid - 1, &b, 1))
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

static void read_express(struct pci_dev *p, struct kiln_pci_device *d) {
  struct kiln_pcie_link *l = &d->link;
  l->port = KILN_PCIE_NONE;
  if (d->config_len < 64)
    return;
  struct pci_cap *cap = pci_find_cap(p, PCI_CAP_ID_EXP, PCI_CAP_NORMAL);
  if (!cap || cap->addr + 4 > d->config_len)
    return;
  unsigned flags = pci_read_word(p, (int)cap->addr + PCI_EXP_FLAGS);
  unsigned version = flags & PCI_EXP_FLAGS_VERS;
  l->port = (enum kiln_pcie_port)((flags & PCI_EXP_FLAGS_TYPE) >> 4);
  if (!port_has_link(l->port) || cap->addr + PCI_EXP_LNKSTA + 2 > d->config_len)
    return;
  uint32_t lnkcap = pci_read_long(p, (int)cap->addr + PCI_EXP_LNKCAP);
  /* All zero: reserved link registers (an SR-IOV virtual function shares
   * its physical function's link), nothing to judge. */
  if (lnkcap == 0 || lnkcap == 0xffffffffu)
    return;
  unsigned lnksta = pci_read_word(p, (int)cap->addr + PCI_EXP_LNKSTA);
  uint32_t lnkcap2 = 0;
  if (version >= 2 && cap->addr + PCI_EXP_LNKCAP2 + 4 <= d->config_len)
    lnkcap2 = pci_read_long(p, (int)cap->addr + PCI_EXP_LNKCAP2);
  unsigned vector = (lnkcap2 >> 1) & 0x7f; /* bit i-1: speed code i */
  if (lnkcap2 != 0xffffffffu && vector) {
    unsigned top = 0;
    for (unsigned i = 0; i < 7; i++)
      if (vector & (1u << i))
        top = i + 1;
    l->cap_gts = speed_gts(top);
  } else {
    l->cap_gts = speed_gts(lnkcap & 0xf);
  }
  l->cap_width = (int)((lnkcap >> 4) & 0x3f);
  if (lnksta != 0xffff) {
    l->sta_width = (int)((lnksta >> 4) & 0x3f);
    l->sta_gts = l->sta_width ? speed_gts(lnksta & 0xf) : 0;
  }
  l->has_link = true;
}

static void read_aer(struct pci_dev *p, struct kiln_pci_device *d) {
  /* Extended capabilities live above 0x100: only in full captures, and
   * on the live bus only for root. */
  if (d->link.port == KILN_PCIE_NONE || d->config_len < 4096)
    return;
  struct pci_cap *cap = pci_find_cap(p, PCI_EXT_CAP_ID_AER, PCI_CAP_EXTENDED);
  if (!cap || cap->addr + PCI_ERR_COR_STATUS + 4 > d->config_len)
    return;
  d->aer.present = true;
  d->aer.uncorr_status =
      pci_read_long(p, (int)cap->addr + PCI_ERR_UNCOR_STATUS);
  d->aer.uncorr_severity =
      pci_read_long(p, (int)cap->addr + PCI_ERR_UNCOR_SEVER);
  d->aer.corr_status = pci_read_long(p, (int)cap->addr + PCI_ERR_COR_STATUS);
}

static void fill_device(struct pci_dev *p, struct kiln_pci_device *d,
                        bool live) {
  memset(d, 0, sizeof *d);
  d->domain = p->domain;
  d->bus = p->bus;
  d->dev = p->dev;
  d->func = p->func;
  snprintf(d->bdf, sizeof d->bdf, "%04x:%02x:%02x.%d", (unsigned)d->domain,
           (unsigned)d->bus & 0xff, (unsigned)d->dev & 0x1f, d->func & 7);
  d->secondary_bus = d->subordinate_bus = -1;
  d->numa_node = -1;
  d->parent = -1;
  d->link.port = KILN_PCIE_NONE;
  d->config_len = config_length(p);
  if (d->config_len < 64 && !live)
    return; /* the caller reports the truncated capture */

  /* Identity through libpci: on the live bus it comes from sysfs, which
   * is right even where config space reads back 0xffff (virtual
   * functions). */
  pci_fill_info(p, PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_CLASS_EXT |
                       PCI_FILL_SUBSYS);
  d->vendor_id = p->vendor_id;
  d->device_id = p->device_id;
  d->class_code = ((uint32_t)p->device_class << 8) | p->prog_if;
  if (d->config_len >= 64) {
    d->header_type = pci_read_byte(p, PCI_HEADER_TYPE) & 0x7f;
    if (d->header_type == PCI_HEADER_TYPE_NORMAL) {
      d->subsys_vendor_id = p->subsys_vendor_id;
      d->subsys_device_id = p->subsys_id;
    } else if (d->header_type == PCI_HEADER_TYPE_BRIDGE) {
      d->secondary_bus = pci_read_byte(p, PCI_SECONDARY_BUS);
      d->subordinate_bus = pci_read_byte(p, PCI_SUBORDINATE_BUS);
    }
    read_express(p, d);
    read_aer(p, d);
  }
  if (live) {
    int known = pci_fill_info(p, PCI_FILL_NUMA_NODE | PCI_FILL_DRIVER);
    if (known & PCI_FILL_NUMA_NODE)
      d->numa_node = p->numa_node;
    const char *drv = pci_get_string_property(p, PCI_FILL_DRIVER);
    if (drv)
      snprintf(d->driver, sizeof d->driver, "%s", drv);
  }
}

static int cmp_device(const void *a, const void *b) {
  const struct kiln_pci_device *x = a, *y = b;
  if (x->domain != y->domain)
    return x->domain < y->domain ? -1 : 1;
  if (x->bus != y->bus)
    return x->bus < y->bus ? -1 : 1;
  if (x->dev != y->dev)
    return x->dev < y->dev ? -1 : 1;
  return (x->func > y->func) - (x->func < y->func);
}

/* What libpci accepted but kiln does not: no devices, a device whose
 * config space was cut (captures hold 64, 256 or 4096 bytes: lspci -x,
 * -xxx, -xxxx), a device listed twice. devs are sorted. */
static bool check_capture(const char *dump, const struct kiln_pci_bus *bus,
                          char *err, size_t n) {
  if (bus->n == 0) {
    snprintf(err, n, "%s: not an lspci -xxxx capture: no PCI devices found",
             dump);
    return false;
  }
  for (size_t i = 0; i < bus->n; i++) {
    const struct kiln_pci_device *d = &bus->devs[i];
    size_t len = d->config_len;
    if (len == 0) {
      snprintf(err, n,
               "%s: device %s has no hex dump of its config space (capture "
               "with lspci -xxxx)",
               dump, d->bdf);
      return false;
    }
    if (len != 64 && len != 256 && len != 4096) {
      snprintf(err, n, "%s: device %s: config space truncated at 0x%zx bytes",
               dump, d->bdf, len);
      return false;
    }
    if (i > 0 && cmp_device(&bus->devs[i - 1], d) == 0) {
      snprintf(err, n, "%s: device %s appears twice", dump, d->bdf);
      return false;
    }
  }
  return true;
}

static void link_parents(struct kiln_pci_bus *bus) {
  for (size_t i = 0; i < bus->n; i++) {
    struct kiln_pci_device *d = &bus->devs[i];
    for (size_t j = 0; j < bus->n; j++) {
      const struct kiln_pci_device *b = &bus->devs[j];
      /* A bridge forwards to higher bus numbers only; an unconfigured
       * one (secondary 0) is nobody's parent. */
      if (b->header_type == PCI_HEADER_TYPE_BRIDGE && b->domain == d->domain &&
          b->secondary_bus == d->bus && b->secondary_bus > b->bus) {
        d->parent = (long)j;
        break;
      }
    }
  }
}

/* Whether s starts with fmt, where '#' is any hex digit. */
static bool matches(const char *s, const char *fmt) {
  for (; *fmt; fmt++, s++)
    if (*fmt == '#' ? !isxdigit((unsigned char)*s) : *fmt != *s)
      return false;
  return true;
}

/* A hex dump line ("30: 00 01 ...") whose bytes do not read as libpci's
 * dump reader reads them: two hex digits, then a blank or the end. */
static bool bad_hex_line(const char *line) {
  static const char *const offsets[] = {
      "##: ",     "###: ",     "####: ",    "#####: ",
      "######: ", "#######: ", "########: "};
  bool offset = false;
  for (size_t i = 0; i < sizeof offsets / sizeof *offsets && !offset; i++)
    offset = matches(line, offsets[i]);
  if (!offset)
    return false;
  const char *z = strchr(line, ' ') + 1;
  while (isxdigit((unsigned char)z[0]) && isxdigit((unsigned char)z[1]) &&
         (!z[2] || z[2] == ' ')) {
    z += 2;
    if (*z)
      z++;
  }
  return *z != 0;
}

/* libpci names no line; the capture is read again to find the one it
 * refused (its dump format: a device header "bb:dd.f ..." or
 * "dddd:bb:dd.f ...", hex lines under it, a blank line between devices).
 * too_long: the first line too long for libpci's 254-byte buffer, or an
 * unterminated last line; else the first malformed hex line. 0 when none
 * is found. */
static long find_refused_line(const char *path, bool too_long) {
  char why[256];
  int fd = kiln_open_regular(path, why, sizeof why);
  FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
  if (!f) {
    if (fd >= 0)
      close(fd);
    return 0;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  long number = 0, found = 0;
  bool in_device = false;
  while (!found && (len = getline(&line, &cap, f)) > 0) {
    number++;
    bool terminated = line[len - 1] == '\n';
    if (too_long) {
      if (!terminated || len > 254)
        found = number;
      continue;
    }
    line[strcspn(line, "\r\n")] = 0;
    if (matches(line, "##:##.# ") || matches(line, "####:##:##.# ") ||
        matches(line, "#####:##:##.# "))
      in_device = true;
    else if (!line[0])
      in_device = false;
    else if (in_device && bad_hex_line(line))
      found = number;
  }
  free(line);
  fclose(f);
  return found;
}

/* What libpci said, in words about the file: "FILE:LINE: ..." where the
 * line can be found. */
static void explain_libpci(const char *label, const char *msg, char *err,
                           size_t n) {
  if (strncmp(msg, "dump: ", 6) == 0)
    msg += 6;
  bool malformed = strstr(msg, "Malformed line") != NULL;
  bool too_long = strstr(msg, "line too long or unterminated") != NULL;
  char where[4200];
  long line = malformed || too_long ? find_refused_line(label, too_long) : 0;
  if (line > 0)
    snprintf(where, sizeof where, "%s:%ld", label, line);
  else
    snprintf(where, sizeof where, "%s", label);
  if (malformed)
    snprintf(err, n,
             "%s: malformed line in a hex dump: not an lspci -xxxx capture "
             "(libpci: %s)",
             where, msg);
  else if (too_long)
    snprintf(err, n,
             "%s: not an lspci -xxxx capture: a line is too long or the "
             "file does not end in a newline (libpci: %s)",
             where, msg);
  else
    snprintf(err, n, "%s: libpci: %s", label, msg);
}

/* A capture libpci can be pointed at: a regular file (never blocks on a
 * FIFO), not empty. */
static int check_dump_file(const char *path, char *err, size_t n) {
  int fd = kiln_open_regular(path, err, n);
  if (fd < 0)
    return -1;
  struct stat st;
  int rc = fstat(fd, &st);
  int saved = errno;
  close(fd);
  if (rc != 0) {
    snprintf(err, n, "%s: cannot read: %s", path, strerror(saved));
    return -1;
  }
  if (st.st_size == 0) {
    snprintf(err, n, "%s: empty file, not an lspci -xxxx capture", path);
    return -1;
  }
  return 0;
}

int kiln_pci_scan(const char *dump, struct kiln_pci_bus *out, char *err,
                  size_t n) {
  memset(out, 0, sizeof *out);
  const char *label = dump ? dump : "live bus";
  if (dump && check_dump_file(dump, err, n) != 0)
    return -1;

  char sysfs[4096] = "";
  if (!dump) {
    /* No PCI tree at all (a container, or a fixture sysroot without one)
     * is an empty bus, not an error. Under $KILN_SYSROOT libpci's sysfs
     * method reads the fixture tree. */
    char devices[4096];
    struct stat st;
    kiln_sysroot_path(sysfs, sizeof sysfs, "/sys/bus/pci");
    kiln_sysroot_path(devices, sizeof devices, "/sys/bus/pci/devices");
    if (stat(devices, &st) != 0) {
      out->source = strdup(label);
      if (!out->source)
        snprintf(err, n, "%s: out of memory", label);
      return out->source ? 0 : -1;
    }
  }

  struct pci_access *pacc = pci_alloc();
  if (!pacc) {
    snprintf(err, n, "%s: libpci: out of memory", label);
    return -1;
  }
  pacc->error = on_pci_error;
  pacc->warning = on_pci_warning;
  if (dump) {
    pacc->method = PCI_ACCESS_DUMP;
    pci_set_param(pacc, "dump.name", (char *)dump);
  } else if (kiln_sysroot_set()) {
    pacc->method = PCI_ACCESS_SYS_BUS_PCI;
    pci_set_param(pacc, "sysfs.path", sysfs);
  }

  sigjmp_buf jb;
  sigjmp_buf *saved = guard_jmp;
  if (sigsetjmp(jb, 0)) {
    guard_jmp = saved;
    explain_libpci(label, guard_msg, err, n);
    pci_cleanup(pacc);
    free(out->devs);
    memset(out, 0, sizeof *out);
    return -1;
  }
  guard_jmp = &jb;
  pci_init(pacc);
  pci_scan_bus(pacc);

  size_t count = 0;
  for (struct pci_dev *p = pacc->devices; p; p = p->next)
    count++;
  out->devs = count ? calloc(count, sizeof *out->devs) : NULL;
  if (count && !out->devs)
    on_pci_error("out of memory");
  for (struct pci_dev *p = pacc->devices; p; p = p->next)
    fill_device(p, &out->devs[out->n++], !dump);
  guard_jmp = saved;

  if (out->n > 1)
    qsort(out->devs, out->n, sizeof *out->devs, cmp_device);
  bool bad = dump && !check_capture(dump, out, err, n);
  out->source = strdup(label);
  if (!bad && !out->source) {
    snprintf(err, n, "%s: out of memory", label);
    bad = true;
  }
  if (bad) {
    pci_cleanup(pacc);
    free(out->source);
    free(out->devs);
    memset(out, 0, sizeof *out);
    return -1;
  }
  link_parents(out);
  out->from_dump = dump != NULL;
  out->access = pacc;
  return 0;
}

void kiln_pci_free(struct kiln_pci_bus *bus) {
  if (!bus)
    return;
  if (bus->access)
    pci_cleanup(bus->access);
  free(bus->devs);
  free(bus->source);
  memset(bus, 0, sizeof *bus);
}

/* "1b:00.0" or "0000:1b:00.0", any case. */
const struct kiln_pci_device *kiln_pci_find(const struct kiln_pci_bus *bus,
                                            const char *bdf) {
  if (!bus || !bdf)
    return NULL;
  char full[32];
  if (strlen(bdf) == 7)
    snprintf(full, sizeof full, "0000:%s", bdf);
  else
    snprintf(full, sizeof full, "%s", bdf);
  for (size_t i = 0; i < bus->n; i++)
    if (strcasecmp(bus->devs[i].bdf, full) == 0)
      return &bus->devs[i];
  return NULL;
}

/* ---- names ---- */

enum name_kind { NAME_VENDOR, NAME_DEVICE, NAME_CLASS };

/* pci_lookup_name() under the error guard: loading pci.ids can fail in
 * ways libpci reports as fatal. NULL when unknown. */
static const char *guarded_lookup(struct pci_access *pacc, char *name, int size,
                                  int flags, int a, int b) {
  sigjmp_buf jb;
  sigjmp_buf *saved = guard_jmp;
  if (sigsetjmp(jb, 0)) {
    guard_jmp = saved;
    return NULL;
  }
  guard_jmp = &jb;
  const char *got = pci_lookup_name(pacc, name, size, flags, a, b);
  guard_jmp = saved;
  return got;
}

static bool lookup_name(const struct kiln_pci_bus *bus,
                        const struct kiln_pci_device *d, enum name_kind kind,
                        char *buf, size_t n) {
  struct pci_access *pacc = bus ? bus->access : NULL;
  if (!pacc || n == 0)
    return false;
  char name[256];
  const char *got = NULL;
  /* pci.ids only: the same names on every machine, and libpci 3.9 leaks
   * a udev handle per pci_access when it falls back to a missing hwdb. */
  int flags = PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB;
  switch (kind) {
  case NAME_VENDOR:
    got = guarded_lookup(pacc, name, sizeof name, flags | PCI_LOOKUP_VENDOR,
                         d->vendor_id, 0);
    break;
  case NAME_DEVICE:
    got = guarded_lookup(pacc, name, sizeof name, flags | PCI_LOOKUP_DEVICE,
                         d->vendor_id, d->device_id);
    break;
  case NAME_CLASS:
    got = guarded_lookup(pacc, name, sizeof name, flags | PCI_LOOKUP_CLASS,
                         (int)(d->class_code >> 8), 0);
    break;
  }
  if (!got || !*got)
    return false;
  copy_one_line(buf, n, got);
  return true;
}

void kiln_pci_vendor_name(const struct kiln_pci_bus *bus,
                          const struct kiln_pci_device *d, char *buf,
                          size_t n) {
  if (!lookup_name(bus, d, NAME_VENDOR, buf, n))
    snprintf(buf, n, "Vendor %04x", d->vendor_id);
}

void kiln_pci_device_name(const struct kiln_pci_bus *bus,
                          const struct kiln_pci_device *d, char *buf,
                          size_t n) {
  if (!lookup_name(bus, d, NAME_DEVICE, buf, n))
    snprintf(buf, n, "Device %04x:%04x", d->vendor_id, d->device_id);
}

void kiln_pci_class_name(const struct kiln_pci_bus *bus,
                         const struct kiln_pci_device *d, char *buf, size_t n) {
  if (!lookup_name(bus, d, NAME_CLASS, buf, n))
    snprintf(buf, n, "Class %04x", (unsigned)(d->class_code >> 8));
}

/* ---- classes ---- */

bool kiln_pci_is_nvidia_gpu(const struct kiln_pci_device *d) {
  return d->vendor_id == 0x10de && (d->class_code >> 16) == 0x03;
}

bool kiln_pci_is_nic(const struct kiln_pci_device *d) {
  return (d->class_code >> 16) == 0x02;
}

bool kiln_pci_is_nvme(const struct kiln_pci_device *d) {
  return d->class_code == 0x010802;
}

/* ---- links ---- */

int kiln_pcie_generation(double gts) {
  static const double speeds[] = {2.5, 5, 8, 16, 32, 64, 128};
  for (int i = 0; i < (int)(sizeof speeds / sizeof *speeds); i++)
    if (gts > speeds[i] - 0.01 && gts < speeds[i] + 0.01)
      return i + 1;
  return 0;
}

void kiln_pcie_link_text(double gts, int width, char *buf, size_t n) {
  if (gts <= 0 || width <= 0)
    snprintf(buf, n, "link down");
  else
    snprintf(buf, n, "%g GT/s x%d", gts, width);
}

/* ---- sysfs AER counters ---- */

/* The value of the line "key N" in a sysfs aer_dev_* file. */
static int read_total(const char *bdf, const char *file, const char *key,
                      uint64_t *out) {
  char rel[256], path[4096];
  snprintf(rel, sizeof rel, "/sys/bus/pci/devices/%s/%s", bdf, file);
  kiln_sysroot_path(path, sizeof path, rel);
  FILE *f = fopen(path, "re");
  if (!f)
    return -1;
  char line[256];
  int rc = -1;
  size_t klen = strlen(key);
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, key, klen) != 0 || !isspace((unsigned char)line[klen]))
      continue;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(line + klen, &end, 10);
    if (errno == 0 && end != line + klen) {
      *out = v;
      rc = 0;
    }
    break;
  }
  fclose(f);
  return rc;
}

int kiln_aer_counters_read(const char *bdf, struct kiln_aer_counters *out) {
  struct kiln_aer_counters c = {0, 0, 0};
  if (!bdf || strchr(bdf, '/') ||
      read_total(bdf, "aer_dev_correctable", "TOTAL_ERR_COR", &c.correctable) ||
      read_total(bdf, "aer_dev_fatal", "TOTAL_ERR_FATAL", &c.fatal) ||
      read_total(bdf, "aer_dev_nonfatal", "TOTAL_ERR_NONFATAL", &c.nonfatal))
    return -1;
  *out = c;
  return 0;
}
