/* pcie.bw's and gpu.p2p's host-side logic: see gpu_xfer_math.h. */
#include "gpu_xfer_math.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cpuset.h"
#include "kiln/inventory.h"
#include "kiln/module.h"
#include "kiln/sysfs.h"

/* --- PCIe link rate ---------------------------------------------------- */

bool kiln_pcie_parse_speed(const char *text, double *gts) {
  if (!text)
    return false;
  while (isspace((unsigned char)*text))
    text++;
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || errno || !isfinite(v) || v <= 0)
    return false;
  while (*end == ' ')
    end++;
  /* The kernel writes "<rate> GT/s" and, since 4.19, " PCIe" after it. */
  if (strncmp(end, "GT/s", 4) != 0)
    return false;
  *gts = v;
  return true;
}

bool kiln_pcie_parse_width(const char *text, int *lanes) {
  if (!text)
    return false;
  while (isspace((unsigned char)*text))
    text++;
  if (*text == 'x' || *text == 'X')
    text++;
  if (!isdigit((unsigned char)*text))
    return false;
  char *end;
  errno = 0;
  long v = strtol(text, &end, 10);
  while (isspace((unsigned char)*end))
    end++;
  if (errno || *end || v <= 0 || v > 32)
    return false;
  *lanes = (int)v;
  return true;
}

bool kiln_pcie_encoding(double gts, int *num, int *den, const char **name) {
  if (!(gts > 0))
    return false;
  if (gts <= 5.0 + 1e-9) {
    *num = 8;
    *den = 10;
    *name = "8b/10b";
  } else if (gts < 64.0 - 1e-9) {
    *num = 128;
    *den = 130;
    *name = "128b/130b";
  } else {
    *num = 242;
    *den = 256;
    *name = "FLIT 242/256";
  }
  return true;
}

double kiln_pcie_link_gbps(double gts, int lanes) {
  int num, den;
  const char *name;
  if (lanes <= 0 || !kiln_pcie_encoding(gts, &num, &den, &name))
    return 0;
  return gts * lanes * num / den / 8.0;
}

void kiln_pcie_link_name(double gts, int lanes, char *buf, size_t n) {
  snprintf(buf, n, "%g GT/s x%d", gts, lanes);
}

/* The first line of dir/name without its newline, or false with why. */
static bool read_line(const char *dir, const char *name, char *buf, size_t n,
                      char *why, size_t wn) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(why, wn, "%s: %s", name, strerror(errno));
    return false;
  }
  bool ok = fgets(buf, (int)n, f) != NULL;
  fclose(f);
  if (!ok) {
    snprintf(why, wn, "%s: empty", name);
    return false;
  }
  buf[strcspn(buf, "\n")] = '\0';
  return true;
}

static bool read_link_dir(const char *dir, const char *bdf,
                          struct kiln_xfer_link *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->bdf, sizeof out->bdf, "%.15s", bdf);
  char speed[64], width[64];
  if (!read_line(dir, "current_link_speed", speed, sizeof speed, out->why,
                 sizeof out->why) ||
      !read_line(dir, "current_link_width", width, sizeof width, out->why,
                 sizeof out->why))
    return false;
  if (!kiln_pcie_parse_speed(speed, &out->gts)) {
    snprintf(out->why, sizeof out->why, "current_link_speed: %.60s", speed);
    return false;
  }
  if (!kiln_pcie_parse_width(width, &out->lanes)) {
    snprintf(out->why, sizeof out->why, "current_link_width: %.60s", width);
    return false;
  }
  out->gbps = kiln_pcie_link_gbps(out->gts, out->lanes);
  out->ok = out->gbps > 0;
  return out->ok;
}

static void device_dir(const char *bdf, char *buf, size_t n) {
  char rel[128];
  snprintf(rel, sizeof rel, "/sys/bus/pci/devices/%.32s", bdf);
  kiln_sysroot_path(buf, n, rel);
}

bool kiln_xfer_read_link(const char *bdf, struct kiln_xfer_link *out) {
  char dir[PATH_MAX];
  device_dir(bdf, dir, sizeof dir);
  return read_link_dir(dir, bdf, out);
}

/* "0000:1b:00.0": a PCI function's name in sysfs. */
static bool is_bdf(const char *s) {
  unsigned dom, bus, dev, fn;
  int len = 0;
  return strlen(s) == 12 &&
         sscanf(s, "%4x:%2x:%2x.%1x%n", &dom, &bus, &dev, &fn, &len) == 4 &&
         len == 12;
}

size_t kiln_xfer_path_links(const char *bdf, struct kiln_xfer_link *out,
                            size_t max) {
  char dir[PATH_MAX], real[PATH_MAX];
  device_dir(bdf, dir, sizeof dir);
  if (max == 0 || !realpath(dir, real))
    return 0;
  size_t n = 0;
  read_link_dir(real, bdf, &out[n++]);
  /* Up the device tree: /sys/devices/pci0000:17/0000:17:01.0/.../<bdf>. */
  char *slash;
  while (n < max && (slash = strrchr(real, '/')) && slash != real) {
    *slash = '\0';
    const char *name = strrchr(real, '/');
    name = name ? name + 1 : real;
    if (!is_bdf(name))
      break;
    char probe[PATH_MAX + 32];
    snprintf(probe, sizeof probe, "%s/current_link_speed", real);
    if (access(probe, R_OK) != 0)
      continue; /* a bridge without a PCIe link of its own */
    read_link_dir(real, name, &out[n++]);
  }
  return n;
}

int kiln_xfer_slowest_link(const struct kiln_xfer_link *links, size_t n) {
  int best = -1;
  for (size_t i = 0; i < n; i++)
    if (links[i].ok && (best < 0 || links[i].gbps < links[best].gbps))
      best = (int)i;
  return best;
}

/* --- NUMA -------------------------------------------------------------- */

int kiln_xfer_numa_node(const char *bdf) {
  char dir[PATH_MAX], line[64], why[128];
  device_dir(bdf, dir, sizeof dir);
  if (!read_line(dir, "numa_node", line, sizeof line, why, sizeof why))
    return -1;
  char *end;
  errno = 0;
  long v = strtol(line, &end, 10);
  while (isspace((unsigned char)*end))
    end++;
  if (errno || end == line || *end || v < 0 || v > 4095)
    return -1;
  return (int)v;
}

int kiln_cpulist_parse(const char *text, int *cpus, int max) {
  if (!text)
    return -1;
  int count = 0;
  const char *p = text;
  while (isspace((unsigned char)*p))
    p++;
  while (*p) {
    char *end;
    if (!isdigit((unsigned char)*p))
      return -1;
    errno = 0;
    long lo = strtol(p, &end, 10), hi = lo;
    p = end;
    if (*p == '-') {
      p++;
      if (!isdigit((unsigned char)*p))
        return -1;
      hi = strtol(p, &end, 10);
      p = end;
    }
    if (errno || lo < 0 || hi < lo || hi > 1 << 20)
      return -1;
    for (long c = lo; c <= hi; c++) {
      if (count < max)
        cpus[count] = (int)c;
      count++;
    }
    while (isspace((unsigned char)*p))
      p++;
    if (*p == ',') {
      p++;
      if (!isdigit((unsigned char)*p))
        return -1;
    } else if (*p) {
      return -1;
    }
  }
  return count;
}

int kiln_xfer_node_cpus(int node, int *cpus, int max) {
  if (node < 0)
    return -1;
  char rel[96], dir[PATH_MAX], line[4096], why[128];
  snprintf(rel, sizeof rel, "/sys/devices/system/node/node%d", node);
  kiln_sysroot_path(dir, sizeof dir, rel);
  if (!read_line(dir, "cpulist", line, sizeof line, why, sizeof why))
    return -1;
  return kiln_cpulist_parse(line, cpus, max);
}

int kiln_xfer_pages_node(const void *p, size_t bytes) {
#ifdef SYS_move_pages
  long page = sysconf(_SC_PAGESIZE);
  if (!p || bytes == 0 || page <= 0)
    return -1;
  size_t pages = (bytes + (size_t)page - 1) / (size_t)page;
  size_t k = pages < 64 ? pages : 64;
  void *addr[64];
  int status[64];
  uintptr_t base = (uintptr_t)p & ~((uintptr_t)page - 1);
  for (size_t i = 0; i < k; i++)
    addr[i] = (void *)(base + (pages * i / k) * (size_t)page);
  /* With no target nodes, move_pages only reports where each page is. */
  if (syscall(SYS_move_pages, 0, (unsigned long)k, addr, NULL, status, 0) != 0)
    return -1;
  int votes[64] = {0}, best = -1;
  for (size_t i = 0; i < k; i++)
    if (status[i] >= 0 && status[i] < 64)
      votes[status[i]]++;
  for (int i = 0; i < 64; i++)
    if (votes[i] > 0 && (best < 0 || votes[i] > votes[best]))
      best = i;
  return best;
#else
  (void)p;
  (void)bytes;
  return -1;
#endif
}

/* --- statistics -------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double kiln_xfer_median(double *v, size_t n) {
  if (n == 0)
    return 0;
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double kiln_xfer_link_share(double measured, double link) {
  return link > 0 ? measured / link : 0;
}

bool kiln_xfer_below_share(double measured, double link, double share) {
  return link > 0 && measured < share * link;
}

bool kiln_xfer_parse_bool(const char *text, bool *out) {
  /* core/param.c's parser: one spelling of yes and no for every value. */
  static const struct kiln_param_spec spec = {"bool", "", "",
                                              .kind = KILN_PARAM_BOOL};
  struct kiln_param_value v;
  char why[64];
  if (!text || kiln_param_parse(&spec, text, &v, why, sizeof why) != 0)
    return false;
  *out = v.number != 0;
  return true;
}

/* --- data pattern ------------------------------------------------------ */

uint64_t kiln_xfer_pattern_word(uint64_t seed, uint64_t i) {
  return kiln_mix64(i ^ kiln_mix64(seed));
}

void kiln_xfer_pattern_fill(void *buf, size_t bytes, uint64_t seed) {
  uint64_t *w = buf, key = kiln_mix64(seed);
  for (size_t i = 0; i < bytes / 8; i++)
    w[i] = kiln_mix64(i ^ key);
}

uint64_t kiln_xfer_pattern_check(const void *buf, size_t bytes, uint64_t seed,
                                 uint64_t *first_index, uint64_t *expected,
                                 uint64_t *actual) {
  const uint64_t *w = buf;
  uint64_t key = kiln_mix64(seed), bad = 0;
  for (size_t i = 0; i < bytes / 8; i++) {
    uint64_t want = kiln_mix64(i ^ key);
    if (w[i] == want)
      continue;
    if (bad++ == 0) {
      if (first_index)
        *first_index = i;
      if (expected)
        *expected = want;
      if (actual)
        *actual = w[i];
    }
  }
  return bad;
}

/* --- P2P matrix -------------------------------------------------------- */

struct out {
  char *buf;
  size_t size, len;
};

static void put(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *at = o->len < o->size ? o->buf + o->len : NULL;
  int w = vsnprintf(at, at ? o->size - o->len : 0, fmt, ap);
  va_end(ap);
  if (w > 0)
    o->len += (size_t)w;
}

size_t kiln_p2p_matrix_format(size_t n, const char (*bus_ids)[16],
                              const double *v, const bool *staged, int decimals,
                              char *buf, size_t size) {
  struct out o = {buf, size, 0};
  if (size)
    buf[0] = '\0';
  if (decimals < 0)
    decimals = 0;
  if (decimals > 6)
    decimals = 6;
  /* Rows: "3  0000:1b:00.0 " (16 wide), then cells of 10: a blank (or the
   * previous cell's "*") and the value right-aligned in 9. */
  put(&o, "%-16s", "src \\ dst");
  for (size_t j = 0; j < n; j++)
    put(&o, " %9zu", j);
  for (size_t i = 0; i < n; i++) {
    put(&o, "\n%-3zu%-13.12s", i, bus_ids[i]);
    bool mark = false;
    for (size_t j = 0; j < n; j++) {
      double x = v[i * n + j];
      char lead = mark ? '*' : ' ';
      mark = false;
      if (i == j) {
        put(&o, "%c%9s", lead, "-");
      } else if (x < 0 || !isfinite(x)) {
        put(&o, "%c%9s", lead, "?");
      } else {
        put(&o, "%c%9.*f", lead, decimals, x);
        mark = staged && staged[i * n + j];
      }
    }
    if (mark)
      put(&o, "*");
  }
  return o.len;
}
