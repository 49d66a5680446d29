/* The PCI layer over real `lspci -vvv -xxxx` captures (../shared/fixtures/
 * pci/): every figure asserted here is the one lspci's verbose text in the
 * same file shows. Bad captures give one-line errors naming the file; the
 * sysfs AER counters are read from a fixture tree under $KILN_SYSROOT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kiln/pci.h"
#include "shared_fixture.h"

/* ---- helpers ---- */

static void capture_path(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/fixtures/pci/%s", fixture_shared_dir(), name);
}

static char *read_all(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len + 4096 + 1 > cap) {
      cap = (cap + 4096) * 2;
      buf = realloc(buf, cap);
      assert_non_null(buf);
    }
    size_t got = fread(buf + len, 1, 4096, f);
    len += got;
    if (got == 0)
      break;
  }
  fclose(f);
  buf[len] = '\0';
  return buf;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void rm_tree(const char *dir) {
  nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static bool is_hex_line(const char *line) {
  size_t i = 0;
  while (line[i] && strchr("0123456789abcdef", line[i]))
    i++;
  return i >= 2 && line[i] == ':' && line[i + 1] == ' ';
}

/* A copy of a capture keeping only the first `keep` hex lines of each
 * device (keep < 0: all), with every hex line starting with `prefix`
 * replaced by `replacement` when both are given. */
static void write_variant(const char *src, const char *dst, int keep,
                          const char *prefix, const char *replacement) {
  char *text = read_all(src);
  FILE *f = fopen(dst, "wb");
  assert_non_null(f);
  int hex = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    if (is_hex_line(line)) {
      if (keep >= 0 && hex++ >= keep)
        continue;
      if (prefix && strncmp(line, prefix, strlen(prefix)) == 0) {
        fprintf(f, "%s\n", replacement);
        continue;
      }
    } else {
      hex = 0;
    }
    fprintf(f, "%s\n", line);
  }
  fclose(f);
  free(text);
}

static char *make_tmpdir(void) {
  char *dir = strdup("/tmp/kiln-test-pci-XXXXXX");
  assert_non_null(dir);
  assert_non_null(mkdtemp(dir));
  return dir;
}

static void scan_ok(const char *name, struct kiln_pci_bus *bus) {
  char path[1024], err[512] = "";
  capture_path(path, sizeof path, name);
  int rc = kiln_pci_scan(path, bus, err, sizeof err);
  if (rc != 0)
    print_message("# %s\n", err);
  assert_int_equal(rc, 0);
  assert_true(bus->from_dump);
  assert_string_equal(bus->source, path);
  assert_non_null(bus->access);
}

static const struct kiln_pci_device *find(const struct kiln_pci_bus *bus,
                                          const char *bdf) {
  const struct kiln_pci_device *d = kiln_pci_find(bus, bdf);
  if (!d)
    print_message("# %s not found\n", bdf);
  assert_non_null(d);
  return d;
}

static long index_of(const struct kiln_pci_bus *bus, const char *bdf) {
  return (long)(find(bus, bdf) - bus->devs);
}

static void assert_link(const struct kiln_pci_device *d, double cap_gts,
                        int cap_width, double sta_gts, int sta_width) {
  assert_true(d->link.has_link);
  if (d->link.cap_gts != cap_gts || d->link.sta_gts != sta_gts)
    print_message("# %s: cap %g sta %g\n", d->bdf, d->link.cap_gts,
                  d->link.sta_gts);
  assert_true(d->link.cap_gts == cap_gts);
  assert_int_equal(d->link.cap_width, cap_width);
  assert_true(d->link.sta_gts == sta_gts);
  assert_int_equal(d->link.sta_width, sta_width);
}

/* ---- real captures ---- */

/* cap-phy32: a Gen5 x2 NVMe drive trained at 16GT/s ("downgraded"),
 * AdvNonFatalErr+ in CESta, nothing in UESta. */
static void phy32_nvme_link_and_aer(void **state) {
  fixture_need_shared("fixtures/pci"); /* real lspci captures */
  (void)state;
  struct kiln_pci_bus bus;
  scan_ok("cap-phy32", &bus);
  assert_int_equal(bus.n, 1);
  const struct kiln_pci_device *d = &bus.devs[0];
  assert_string_equal(d->bdf, "0000:2e:00.0");
  assert_int_equal(d->domain, 0);
  assert_int_equal(d->bus, 0x2e);
  assert_int_equal(d->vendor_id, 0x144d);
  assert_int_equal(d->device_id, 0xa826);
  assert_int_equal(d->subsys_vendor_id, 0x144d);
  assert_int_equal(d->subsys_device_id, 0xaa0a);
  assert_int_equal(d->class_code, 0x010802);
  assert_int_equal(d->header_type, 0);
  assert_int_equal(d->secondary_bus, -1);
  assert_int_equal(d->config_len, 4096);
  assert_int_equal(d->numa_node, -1); /* a capture has no NUMA node */
  assert_string_equal(d->driver, "");
  assert_int_equal(d->parent, -1);
  assert_true(kiln_pci_is_nvme(d));
  assert_false(kiln_pci_is_nic(d));
  assert_false(kiln_pci_is_nvidia_gpu(d));
  assert_int_equal(d->link.port, KILN_PCIE_ENDPOINT);
  assert_link(d, 32, 2, 16, 2);
  assert_true(d->aer.present);
  assert_int_equal(d->aer.uncorr_status, 0);
  assert_int_equal(d->aer.corr_status, 0x2000); /* AdvNonFatalErr, bit 13 */
  /* UESvrt: DLP+ SDES+ FCP+ RxOF+ MalfTLP+ UncorrIntErr+ ... */
  assert_int_equal(d->aer.uncorr_severity & 0x00462030, 0x00462030);
  kiln_pci_free(&bus);
  assert_null(bus.devs);
}

/* cap-ide: the 32 GT/s x16 device with AER status set (CESta
 * AdvNonFatalErr+), unknown to pci.ids. */
static void ide_gen5_x16_with_aer_status(void **state) {
  fixture_need_shared("fixtures/pci"); /* real lspci captures */
  (void)state;
  struct kiln_pci_bus bus;
  scan_ok("cap-ide", &bus);
  assert_int_equal(bus.n, 1);
  const struct kiln_pci_device *d = &bus.devs[0];
  assert_string_equal(d->bdf, "0000:e1:00.0");
  assert_int_equal(d->vendor_id, 0xaaaa);
  assert_int_equal(d->device_id, 0xbbbb);
  assert_int_equal(d->class_code, 0x080000);
  assert_int_equal(d->link.port, KILN_PCIE_ENDPOINT);
  assert_link(d, 32, 16, 32, 16);
  assert_true(d->aer.present);
  assert_int_equal(d->aer.uncorr_status, 0);
  assert_int_equal(d->aer.corr_status, 0x00002000);
  assert_int_equal(d->aer.uncorr_severity, 0x10476030);
  char buf[128];
  kiln_pci_device_name(&bus, d, buf, sizeof buf);
  assert_string_equal(buf, "Device aaaa:bbbb");
  kiln_pci_free(&bus);
}

/* cap-exp-lnkcap2: a root port, a Gen3 GPU behind it, and a Thunderbolt
 * downstream port whose LnkCap says 2.5GT/s but LnkCap2 2.5-8GT/s. */
static void lnkcap2_and_bridges(void **state) {
  fixture_need_shared("fixtures/pci"); /* real lspci captures */
  (void)state;
  struct kiln_pci_bus bus;
  scan_ok("cap-exp-lnkcap2", &bus);
  assert_int_equal(bus.n, 4);
  static const char *const order[] = {"0000:00:1c.0", "0000:02:00.0",
                                      "0000:08:00.0", "0000:09:00.0"};
  for (size_t i = 0; i < 4; i++)
    assert_string_equal(bus.devs[i].bdf, order[i]);

  const struct kiln_pci_device *rp = find(&bus, "0000:00:1c.0");
  assert_int_equal(rp->header_type, 1);
  assert_int_equal(rp->class_code, 0x060400);
  assert_int_equal(rp->secondary_bus, 2);
  assert_int_equal(rp->subordinate_bus, 2);
  assert_int_equal(rp->subsys_vendor_id, 0); /* type 0 only */
  assert_int_equal(rp->link.port, KILN_PCIE_ROOT_PORT);
  assert_link(rp, 8, 4, 8, 4);
  assert_int_equal(rp->parent, -1);

  const struct kiln_pci_device *gpu = find(&bus, "02:00.0");
  assert_int_equal(gpu->vendor_id, 0x10de);
  assert_int_equal(gpu->device_id, 0x1d10);
  assert_int_equal(gpu->subsys_vendor_id, 0x17aa);
  assert_int_equal(gpu->subsys_device_id, 0x225b);
  assert_int_equal(gpu->class_code, 0x030200);
  assert_true(kiln_pci_is_nvidia_gpu(gpu));
  assert_link(gpu, 8, 4, 8, 4);
  assert_int_equal(gpu->parent, index_of(&bus, "0000:00:1c.0"));

  const struct kiln_pci_device *dp = find(&bus, "0000:08:00.0");
  assert_int_equal(dp->link.port, KILN_PCIE_DOWNSTREAM);
  assert_link(dp, 8, 4, 2.5, 4); /* from LnkCap2, not LnkCap's 2.5GT/s */
  assert_int_equal(dp->secondary_bus, 9);

  const struct kiln_pci_device *nhi = find(&bus, "0000:09:00.0");
  assert_link(nhi, 2.5, 4, 2.5, 4); /* LnkCap2 vector empty: LnkCap */
  assert_int_equal(nhi->parent, index_of(&bus, "0000:08:00.0"));
  assert_int_equal(nhi->class_code, 0x088000);
  kiln_pci_free(&bus);
}

/* cap-aer-root: root port and a ConnectX-3 behind it, both 8GT/s x8. */
static void aer_root_port_and_nic(void **state) {
  fixture_need_shared("fixtures/pci"); /* real lspci captures */
  (void)state;
  struct kiln_pci_bus bus;
  scan_ok("cap-aer-root", &bus);
  assert_int_equal(bus.n, 2);
  const struct kiln_pci_device *rp = find(&bus, "0000:00:02.0");
  assert_int_equal(rp->link.port, KILN_PCIE_ROOT_PORT);
  assert_link(rp, 8, 8, 8, 8);
  assert_true(rp->aer.present);
  assert_int_equal(rp->aer.uncorr_status, 0);
  assert_int_equal(rp->aer.corr_status, 0);
  const struct kiln_pci_device *nic = find(&bus, "0000:03:00.0");
  assert_true(kiln_pci_is_nic(nic));
  assert_int_equal(nic->class_code, 0x020000);
  assert_link(nic, 8, 8, 8, 8);
  assert_int_equal(nic->parent, 0);
  assert_true(nic->aer.present);
  assert_int_equal(nic->aer.corr_status, 0);
  kiln_pci_free(&bus);
}

/* Root ports trained below their capability, with nothing behind them in
 * the capture, and a 256-byte capture (lspci -xxx): no AER there, and that
 * is not an error. */
static void root_ports_and_short_captures(void **state) {
  fixture_need_shared("fixtures/pci"); /* real lspci captures */
  (void)state;
  struct kiln_pci_bus bus;
  scan_ok("cap-pcie-1", &bus);
  assert_int_equal(bus.n, 1);
  assert_link(&bus.devs[0], 5, 4, 2.5, 4);
  assert_int_equal(bus.devs[0].link.port, KILN_PCIE_ROOT_PORT);
  kiln_pci_free(&bus);

  scan_ok("cap-aer-log", &bus);
  assert_link(&bus.devs[0], 8, 1, 5, 1);
  kiln_pci_free(&bus);

  scan_ok("cap-pcie-2", &bus);
  assert_link(&bus.devs[0], 2.5, 4, 2.5, 4);
  assert_int_equal(bus.devs[0].aer.corr_status, 0x2000);
  kiln_pci_free(&bus);

  scan_ok("cap-dpc", &bus);
  assert_int_equal(bus.n, 1);
  const struct kiln_pci_device *d = &bus.devs[0];
  assert_string_equal(d->bdf, "0000:05:01.0");
  assert_int_equal(d->config_len, 256);
  assert_int_equal(d->link.port, KILN_PCIE_DOWNSTREAM);
  assert_link(d, 8, 4, 8, 4);
  assert_false(d->aer.present); /* lspci -vvv saw it; the hex has no 0x100 */
  assert_int_equal(d->secondary_bus, 6);
  kiln_pci_free(&bus);

  scan_ok("cap-flitmode", &bus);
  assert_link(&bus.devs[0], 8, 4, 8, 4);
  kiln_pci_free(&bus);
}

/* tree-asus-p6t6: 53 functions, an NF200 switch behind root port 00:03.0,
 * RC-integrated endpoints, a PCI bridge and a second root bus ff. */
static void asus_tree_parents_and_ports(void **state) {
  fixture_need_shared("fixtures/pci"); /* real lspci captures */
  (void)state;
  struct kiln_pci_bus bus;
  scan_ok("tree-asus-p6t6", &bus);
  assert_int_equal(bus.n, 53);
  for (size_t i = 1; i < bus.n; i++)
    assert_true(strcmp(bus.devs[i - 1].bdf, bus.devs[i].bdf) < 0);

  static const char *const parent_of[][2] = {
      {"0000:02:00.0", "0000:00:03.0"}, {"0000:03:00.0", "0000:02:00.0"},
      {"0000:03:02.0", "0000:02:00.0"}, {"0000:04:00.0", "0000:03:00.0"},
      {"0000:06:00.0", "0000:00:07.0"}, {"0000:06:00.1", "0000:00:07.0"},
      {"0000:07:00.0", "0000:00:1c.2"}, {"0000:08:00.0", "0000:00:1c.1"},
  };
  for (size_t i = 0; i < sizeof parent_of / sizeof *parent_of; i++)
    assert_int_equal(find(&bus, parent_of[i][0])->parent,
                     index_of(&bus, parent_of[i][1]));
  assert_int_equal(find(&bus, "0000:00:00.0")->parent, -1);
  assert_int_equal(find(&bus, "0000:00:1f.3")->parent, -1);
  assert_int_equal(find(&bus, "0000:ff:06.3")->parent, -1);

  const struct kiln_pci_device *up = find(&bus, "0000:02:00.0");
  assert_int_equal(up->link.port, KILN_PCIE_UPSTREAM);
  assert_int_equal(up->secondary_bus, 3);
  assert_int_equal(up->subordinate_bus, 5);
  assert_link(up, 5, 16, 5, 16);
  const struct kiln_pci_device *down = find(&bus, "0000:03:00.0");
  assert_int_equal(down->link.port, KILN_PCIE_DOWNSTREAM);
  assert_link(down, 5, 16, 5, 8);
  assert_link(find(&bus, "0000:03:02.0"), 5, 16, 2.5, 16);
  assert_link(find(&bus, "0000:04:00.0"), 5, 8, 5, 8);
  assert_link(find(&bus, "0000:06:00.0"), 2.5, 16, 2.5, 16);
  assert_link(find(&bus, "0000:06:00.1"), 2.5, 16, 2.5, 16);
  assert_link(find(&bus, "0000:07:00.0"), 2.5, 1, 2.5, 1);
  assert_link(find(&bus, "0000:00:1c.0"), 2.5, 1, 0, 0); /* empty slot */
  assert_link(find(&bus, "0000:00:01.0"), 5, 4, 0, 0);
  assert_int_equal(find(&bus, "0000:00:00.0")->link.port, KILN_PCIE_ROOT_PORT);

  const struct kiln_pci_device *rc = find(&bus, "0000:00:14.0");
  assert_int_equal(rc->link.port, KILN_PCIE_RC_ENDPOINT);
  assert_false(rc->link.has_link);
  assert_int_equal(find(&bus, "0000:00:1b.0")->link.port,
                   KILN_PCIE_RC_ENDPOINT);

  const struct kiln_pci_device *pci = find(&bus, "0000:00:1e.0");
  assert_int_equal(pci->link.port, KILN_PCIE_NONE);
  assert_false(pci->link.has_link);
  assert_int_equal(pci->header_type, 1);
  assert_int_equal(pci->secondary_bus, 0x0a);
  assert_int_equal(pci->config_len, 256);

  const struct kiln_pci_device *usb = find(&bus, "0000:00:1a.0");
  assert_int_equal(usb->config_len, 256);
  assert_int_equal(usb->class_code, 0x0c0300);
  assert_false(usb->aer.present);

  const struct kiln_pci_device *vga = find(&bus, "0000:06:00.0");
  assert_true(kiln_pci_is_nvidia_gpu(vga));
  assert_int_equal(vga->class_code, 0x030000);
  assert_false(kiln_pci_is_nvidia_gpu(find(&bus, "0000:06:00.1")));
  assert_true(kiln_pci_is_nic(find(&bus, "0000:08:00.0")));
  kiln_pci_free(&bus);
}

static void names_from_pci_ids(void **state) {
  fixture_need_shared("fixtures/pci"); /* real lspci captures */
  (void)state;
  struct kiln_pci_bus bus;
  scan_ok("cap-aer-root", &bus);
  const struct kiln_pci_device *nic = find(&bus, "0000:03:00.0");
  char buf[256];
  kiln_pci_vendor_name(&bus, nic, buf, sizeof buf);
  assert_string_equal(buf, "Mellanox Technologies");
  kiln_pci_device_name(&bus, nic, buf, sizeof buf);
  assert_string_equal(buf, "MT27520 Family [ConnectX-3 Pro]");
  kiln_pci_class_name(&bus, nic, buf, sizeof buf);
  assert_string_equal(buf, "Ethernet controller");
  /* A tiny buffer truncates, never overflows. */
  char tiny[6];
  kiln_pci_vendor_name(&bus, nic, tiny, sizeof tiny);
  assert_string_equal(tiny, "Mella");
  kiln_pci_free(&bus);

  /* Without libpci's handle (a bus built by hand): numeric names. */
  struct kiln_pci_device d;
  memset(&d, 0, sizeof d);
  d.vendor_id = 0x10de;
  d.device_id = 0x2330;
  d.class_code = 0x030200;
  struct kiln_pci_bus none;
  memset(&none, 0, sizeof none);
  kiln_pci_device_name(&none, &d, buf, sizeof buf);
  assert_string_equal(buf, "Device 10de:2330");
  kiln_pci_vendor_name(&none, &d, buf, sizeof buf);
  assert_string_equal(buf, "Vendor 10de");
  kiln_pci_class_name(&none, &d, buf, sizeof buf);
  assert_string_equal(buf, "Class 0302");
}

static void find_by_bus_id(void **state) {
  fixture_need_shared("fixtures/pci"); /* real lspci captures */
  (void)state;
  struct kiln_pci_bus bus;
  scan_ok("cap-exp-lnkcap2", &bus);
  assert_ptr_equal(kiln_pci_find(&bus, "0000:09:00.0"), &bus.devs[3]);
  assert_ptr_equal(kiln_pci_find(&bus, "09:00.0"), &bus.devs[3]);
  assert_ptr_equal(kiln_pci_find(&bus, "0000:00:1C.0"), &bus.devs[0]);
  assert_null(kiln_pci_find(&bus, "0000:09:00.1"));
  assert_null(kiln_pci_find(&bus, "0001:09:00.0"));
  assert_null(kiln_pci_find(&bus, ""));
  assert_null(kiln_pci_find(&bus, NULL));
  kiln_pci_free(&bus);
}

/* ---- bad captures ---- */

struct bad_case {
  const char *file;
  const char *says;    /* in the message, after "PATH: " or "PATH:LINE: " */
  const char *line_of; /* the line named: the first holding this, or NULL */
};

/* The number of the first line of path that holds needle, or 0. */
static long line_holding(const char *path, const char *needle) {
  char *text = read_all(path);
  long number = 1, found = 0;
  for (const char *p = text; *p && !found; number++) {
    size_t len = strcspn(p, "\n");
    char *line = strndup(p, len);
    assert_non_null(line);
    if (strstr(line, needle))
      found = number;
    free(line);
    p += len + (p[len] == '\n');
  }
  free(text);
  return found;
}

static void bad_captures_name_the_file(void **state) {
  fixture_need_shared("fixtures/pci"); /* real lspci captures */
  (void)state;
  char *dir = make_tmpdir();
  char src[1024], path[1024];
  capture_path(src, sizeof src, "cap-phy32");

  snprintf(path, sizeof path, "%s/empty.lspci", dir);
  write_file(path, "");
  snprintf(path, sizeof path, "%s/garbage.lspci", dir);
  write_file(path, "hello\nthis is not a capture\n\n");
  snprintf(path, sizeof path, "%s/truncated.lspci", dir);
  write_variant(src, path, 9, NULL, NULL); /* 0x00..0x8f */
  snprintf(path, sizeof path, "%s/malformed.lspci", dir);
  write_variant(src, path, -1,
                "20: ", "20: 00 00 00 00 zz 00 00 00 00 00 00 00 4d 14 0a aa");
  snprintf(path, sizeof path, "%s/nohex.lspci", dir);
  write_variant(src, path, 0, NULL, NULL);
  snprintf(path, sizeof path, "%s/unterminated.lspci", dir);
  write_file(path, "2e:00.0 NVMe\n00: 4d 14 26 a8");
  snprintf(path, sizeof path, "%s/twice.lspci", dir);
  {
    char *one = read_all(src);
    size_t len = strlen(one);
    char *two = malloc(2 * len + 2);
    assert_non_null(two);
    snprintf(two, 2 * len + 2, "%s\n%s", one, one);
    write_file(path, two);
    free(one);
    free(two);
  }
  snprintf(path, sizeof path, "%s/adir", dir);
  assert_int_equal(mkdir(path, 0700), 0);

  static const struct bad_case cases[] = {
      {"missing.lspci", "No such file or directory", NULL},
      {"adir", "is a directory, not a regular file", NULL},
      {"empty.lspci", "empty file, not an lspci -xxxx capture", NULL},
      {"garbage.lspci", "not an lspci -xxxx capture: no PCI devices found",
       NULL},
      {"truncated.lspci",
       "device 0000:2e:00.0: config space truncated at 0x90 bytes", NULL},
      {"malformed.lspci", "malformed line in a hex dump", "zz"},
      {"nohex.lspci", "device 0000:2e:00.0 has no hex dump", NULL},
      {"unterminated.lspci", "does not end in a newline", "00: 4d"},
      {"twice.lspci", "device 0000:2e:00.0 appears twice", NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, cases[i].file);
    struct kiln_pci_bus bus;
    memset(&bus, 0x5a, sizeof bus);
    char err[512] = "";
    assert_int_equal(kiln_pci_scan(path, &bus, err, sizeof err), -1);
    print_message("# %s\n", err);
    /* One line, starting with the file's path, and the line libpci
     * refused where there is one (libpci names none). */
    assert_null(strchr(err, '\n'));
    char where[1100];
    if (cases[i].line_of) {
      long line = line_holding(path, cases[i].line_of);
      assert_true(line > 0);
      snprintf(where, sizeof where, "%s:%ld: ", path, line);
    } else {
      snprintf(where, sizeof where, "%s: ", path);
    }
    if (strncmp(err, where, strlen(where)) != 0)
      fail_msg("'%s' does not start with '%s'", err, where);
    assert_non_null(strstr(err, cases[i].says));
    assert_null(bus.devs);
    assert_int_equal(bus.n, 0);
    assert_null(bus.access);
    kiln_pci_free(&bus); /* harmless on a failed scan */
  }

  /* lspci -x and -xxx captures (64 and 256 bytes) are whole, not cut. */
  snprintf(path, sizeof path, "%s/x.lspci", dir);
  write_variant(src, path, 4, NULL, NULL);
  struct kiln_pci_bus bus;
  char err[512] = "";
  assert_int_equal(kiln_pci_scan(path, &bus, err, sizeof err), 0);
  assert_int_equal(bus.devs[0].config_len, 64);
  assert_int_equal(bus.devs[0].vendor_id, 0x144d);
  assert_int_equal(bus.devs[0].link.port, KILN_PCIE_NONE); /* cap at 0x70 */
  assert_false(bus.devs[0].link.has_link);
  kiln_pci_free(&bus);
  snprintf(path, sizeof path, "%s/xxx.lspci", dir);
  write_variant(src, path, 16, NULL, NULL);
  assert_int_equal(kiln_pci_scan(path, &bus, err, sizeof err), 0);
  assert_int_equal(bus.devs[0].config_len, 256);
  assert_link(&bus.devs[0], 32, 2, 16, 2);
  assert_false(bus.devs[0].aer.present);
  kiln_pci_free(&bus);

  rm_tree(dir);
  free(dir);
}

/* A function whose link registers read zero (an SR-IOV virtual function
 * shares its physical function's link) has no link to judge. */
static void zero_link_capability_is_no_link(void **state) {
  fixture_need_shared("fixtures/pci"); /* real lspci captures */
  (void)state;
  char *dir = make_tmpdir();
  char src[1024], path[1024];
  capture_path(src, sizeof src, "cap-phy32");
  snprintf(path, sizeof path, "%s/vf.lspci", dir);
  /* LnkCap (0x7c) zeroed. */
  write_variant(src, path, -1,
                "70: ", "70: 10 b0 02 00 e2 8f a0 10 30 19 00 00 00 00 00 00");
  struct kiln_pci_bus bus;
  char err[512] = "";
  assert_int_equal(kiln_pci_scan(path, &bus, err, sizeof err), 0);
  assert_int_equal(bus.devs[0].link.port, KILN_PCIE_ENDPOINT);
  assert_false(bus.devs[0].link.has_link);
  assert_true(bus.devs[0].aer.present);
  kiln_pci_free(&bus);
  rm_tree(dir);
  free(dir);
}

/* ---- links ---- */

static void generations_and_link_text(void **state) {
  (void)state;
  assert_int_equal(kiln_pcie_generation(2.5), 1);
  assert_int_equal(kiln_pcie_generation(5), 2);
  assert_int_equal(kiln_pcie_generation(8), 3);
  assert_int_equal(kiln_pcie_generation(16), 4);
  assert_int_equal(kiln_pcie_generation(32), 5);
  assert_int_equal(kiln_pcie_generation(64), 6);
  assert_int_equal(kiln_pcie_generation(0), 0);
  assert_int_equal(kiln_pcie_generation(10), 0);
  char buf[32];
  kiln_pcie_link_text(32, 16, buf, sizeof buf);
  assert_string_equal(buf, "32 GT/s x16");
  kiln_pcie_link_text(2.5, 1, buf, sizeof buf);
  assert_string_equal(buf, "2.5 GT/s x1");
  kiln_pcie_link_text(0, 0, buf, sizeof buf);
  assert_string_equal(buf, "link down");
  kiln_pcie_link_text(2.5, 0, buf, sizeof buf);
  assert_string_equal(buf, "link down");
}

/* ---- sysfs: AER counters and the live bus under $KILN_SYSROOT ---- */

static void mkdirs(const char *root, const char *rel) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  for (char *p = path + strlen(root) + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(path, 0755);
      *p = '/';
    }
  mkdir(path, 0755);
}

static void put(const char *root, const char *rel, const char *text) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  write_file(path, text);
}

#define DEV "sys/bus/pci/devices/0000:1b:00.0"

static void aer_counters_from_sysfs(void **state) {
  (void)state;
  char *root = make_tmpdir();
  mkdirs(root, DEV);
  mkdirs(root, "sys/bus/pci/devices/0000:1c:00.0");
  mkdirs(root, "sys/bus/pci/devices/0000:1d:00.0");
  /* As the kernel writes them (drivers/pci/pcie/aer.c). */
  put(root, DEV "/aer_dev_correctable",
      "RxErr 3\nBadTLP 1\nBadDLLP 0\nRollover 0\nTimeout 0\n"
      "NonFatalErr 0\nCorrIntErr 0\nHeaderOF 0\nTOTAL_ERR_COR 4\n");
  put(root, DEV "/aer_dev_fatal",
      "Undefined 0\nDLP 1\nSDES 0\nTLP 0\nFCP 0\nCmpltTO 0\nCmpltAbrt 0\n"
      "UnxCmplt 0\nRxOF 0\nMalfTLP 0\nECRC 0\nUnsupReq 0\nACSViol 0\n"
      "UncorrIntErr 0\nBlockedTLP 0\nAtomicOpBlocked 0\nTLPBlockedErr 0\n"
      "PoisonTLPBlocked 0\nTOTAL_ERR_FATAL 1\n");
  put(root, DEV "/aer_dev_nonfatal",
      "Undefined 0\nDLP 0\nCmpltTO 12345678901\n"
      "TOTAL_ERR_NONFATAL 12345678901\n");
  /* 1c: no AER files (no AER capability, or an old kernel). 1d: a file
   * without its TOTAL line. */
  put(root, "sys/bus/pci/devices/0000:1d:00.0/aer_dev_correctable",
      "RxErr 0\n");
  put(root, "sys/bus/pci/devices/0000:1d:00.0/aer_dev_fatal",
      "TOTAL_ERR_FATAL 0\n");
  put(root, "sys/bus/pci/devices/0000:1d:00.0/aer_dev_nonfatal",
      "TOTAL_ERR_NONFATAL 0\n");

  assert_int_equal(setenv("KILN_SYSROOT", root, 1), 0);
  struct kiln_aer_counters c = {99, 99, 99};
  assert_int_equal(kiln_aer_counters_read("0000:1b:00.0", &c), 0);
  assert_int_equal(c.correctable, 4);
  assert_int_equal(c.fatal, 1);
  assert_true(c.nonfatal == 12345678901ull);
  c.correctable = 99;
  assert_int_equal(kiln_aer_counters_read("0000:1c:00.0", &c), -1);
  assert_int_equal(kiln_aer_counters_read("0000:1d:00.0", &c), -1);
  assert_int_equal(kiln_aer_counters_read("0000:1e:00.0", &c), -1);
  assert_int_equal(kiln_aer_counters_read("../../../etc", &c), -1);
  assert_int_equal(c.correctable, 99); /* untouched on failure */
  unsetenv("KILN_SYSROOT");
  /* Without the sysroot the fixture's device is not there. */
  if (access("/sys/bus/pci/devices/0000:1b:00.0", F_OK) != 0)
    assert_int_equal(kiln_aer_counters_read("0000:1b:00.0", &c), -1);
  rm_tree(root);
  free(root);
}

/* A sysfs device directory as the kernel shows it, from the first device
 * of a capture: config (its first config_len bytes: 64 is what non-root
 * users get), vendor, device, class, numa_node and a driver link. */
static void sysfs_device(const char *root, const char *capture, const char *bdf,
                         size_t config_len, int numa, const char *driver) {
  char path[2048], dir[256], text[64];
  unsigned char config[4096];
  size_t len = 0;
  capture_path(path, sizeof path, capture);
  char *all = read_all(path);
  bool first = true;
  for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n")) {
    if (!is_hex_line(line)) {
      if (len > 0)
        first = false;
      continue;
    }
    for (char *p = strchr(line, ' '); first && p && p[0] && p[1];) {
      unsigned v;
      if (sscanf(p, " %2x", &v) != 1 || len >= sizeof config)
        break;
      config[len++] = (unsigned char)v;
      p += 3;
    }
  }
  free(all);
  assert_true(len >= config_len);
  snprintf(dir, sizeof dir, "sys/bus/pci/devices/%s", bdf);
  mkdirs(root, dir);
  snprintf(path, sizeof path, "%s/%s/config", root, dir);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(config, 1, config_len, f), config_len);
  fclose(f);
  snprintf(text, sizeof text, "0x%02x%02x\n", config[1], config[0]);
  snprintf(path, sizeof path, "%s/vendor", dir);
  put(root, path, text);
  snprintf(text, sizeof text, "0x%02x%02x\n", config[3], config[2]);
  snprintf(path, sizeof path, "%s/device", dir);
  put(root, path, text);
  snprintf(text, sizeof text, "0x%02x%02x%02x\n", config[11], config[10],
           config[9]);
  snprintf(path, sizeof path, "%s/class", dir);
  put(root, path, text);
  snprintf(text, sizeof text, "%d\n", numa);
  snprintf(path, sizeof path, "%s/numa_node", dir);
  put(root, path, text);
  if (driver) {
    char target[256], link[2048];
    snprintf(target, sizeof target, "sys/bus/pci/drivers/%s", driver);
    mkdirs(root, target);
    snprintf(target, sizeof target, "../../drivers/%s", driver);
    snprintf(link, sizeof link, "%s/%s/driver", root, dir);
    assert_int_equal(symlink(target, link), 0);
  }
}

/* libpci's sysfs method under $KILN_SYSROOT: NUMA node and driver, which
 * a capture never has, and what a non-root user sees (64 bytes). */
static void live_bus_from_sysroot(void **state) {
  fixture_need_shared("fixtures/pci"); /* real lspci captures */
  (void)state;
  char *root = make_tmpdir();
  sysfs_device(root, "cap-phy32", "0000:2e:00.0", 4096, 1, "nvme");
  sysfs_device(root, "cap-aer-root", "0000:00:02.0", 64, 0, NULL);
  assert_int_equal(setenv("KILN_SYSROOT", root, 1), 0);
  struct kiln_pci_bus bus;
  char err[512] = "";
  int rc = kiln_pci_scan(NULL, &bus, err, sizeof err);
  unsetenv("KILN_SYSROOT");
  if (rc != 0)
    print_message("# %s\n", err);
  assert_int_equal(rc, 0);
  assert_false(bus.from_dump);
  assert_int_equal(bus.n, 2);
  const struct kiln_pci_device *nvme = &bus.devs[1];
  assert_string_equal(nvme->bdf, "0000:2e:00.0");
  assert_int_equal(nvme->config_len, 4096);
  assert_int_equal(nvme->numa_node, 1);
  assert_string_equal(nvme->driver, "nvme");
  assert_int_equal(nvme->vendor_id, 0x144d);
  assert_int_equal(nvme->class_code, 0x010802);
  assert_link(nvme, 32, 2, 16, 2);
  assert_int_equal(nvme->aer.corr_status, 0x2000);
  const struct kiln_pci_device *rp = &bus.devs[0];
  assert_string_equal(rp->bdf, "0000:00:02.0");
  assert_int_equal(rp->config_len, 64);
  assert_int_equal(rp->numa_node, 0);
  assert_string_equal(rp->driver, "");
  assert_int_equal(rp->header_type, 1);
  assert_int_equal(rp->secondary_bus, 3);
  assert_int_equal(rp->link.port, KILN_PCIE_NONE); /* cap at 0x90 */
  assert_false(rp->link.has_link);
  kiln_pci_free(&bus);
  rm_tree(root);
  free(root);
}

/* A sysroot without a PCI tree is an empty bus, not an error; the real
 * live bus (where there is one) scans without error and sorted. */
static void live_bus(void **state) {
  (void)state;
  char *root = make_tmpdir();
  assert_int_equal(setenv("KILN_SYSROOT", root, 1), 0);
  struct kiln_pci_bus bus;
  char err[512] = "";
  assert_int_equal(kiln_pci_scan(NULL, &bus, err, sizeof err), 0);
  assert_int_equal(bus.n, 0);
  assert_false(bus.from_dump);
  assert_string_equal(bus.source, "live bus");
  kiln_pci_free(&bus);
  unsetenv("KILN_SYSROOT");
  rm_tree(root);
  free(root);

  if (kiln_pci_scan(NULL, &bus, err, sizeof err) != 0) {
    print_message("# no live bus here: %s\n", err);
    assert_int_equal(strncmp(err, "live bus: ", 10), 0);
    return;
  }
  print_message("# live bus: %zu devices\n", bus.n);
  assert_false(bus.from_dump);
  for (size_t i = 0; i < bus.n; i++) {
    const struct kiln_pci_device *d = &bus.devs[i];
    assert_int_equal(strlen(d->bdf), 12);
    if (i)
      assert_true(strcmp(bus.devs[i - 1].bdf, d->bdf) < 0);
    assert_true(d->config_len >= 64);
    assert_true(d->parent < (long)bus.n);
    assert_ptr_equal(kiln_pci_find(&bus, d->bdf), d);
  }
  kiln_pci_free(&bus);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(phy32_nvme_link_and_aer),
      cmocka_unit_test(ide_gen5_x16_with_aer_status),
      cmocka_unit_test(lnkcap2_and_bridges),
      cmocka_unit_test(aer_root_port_and_nic),
      cmocka_unit_test(root_ports_and_short_captures),
      cmocka_unit_test(asus_tree_parents_and_ports),
      cmocka_unit_test(names_from_pci_ids),
      cmocka_unit_test(find_by_bus_id),
      cmocka_unit_test(bad_captures_name_the_file),
      cmocka_unit_test(zero_link_capability_is_no_link),
      cmocka_unit_test(generations_and_link_text),
      cmocka_unit_test(aer_counters_from_sysfs),
      cmocka_unit_test(live_bus_from_sysroot),
      cmocka_unit_test(live_bus),
  };
  return cmocka_run_group_tests_name("pci", tests, NULL, NULL);
}
