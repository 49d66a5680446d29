/* The station spec: parsing (every value form, every error with its file and
 * line), which [pcie ...] section applies, the comparison with a machine
 * (one exact message per difference), and the golden spec the writer makes
 * (read back, it finds no difference on the machine it came from). */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "kiln/inventory.h"
#include "kiln/inventory_spec.h"
#include "kiln/textutil.h"

#define GiB (1ull << 30)

/* ---- parsing ------------------------------------------------------------ */

static void parses_a_full_spec(void **state) {
  (void)state;
  struct kiln_spec s;
  char err[512] = "";
  if (kiln_spec_load("tests/fixtures/spec/good.ini", &s, err, sizeof err))
    fail_msg("%s", err);
  assert_string_equal(s.source, "tests/fixtures/spec/good.ini");
  assert_string_equal(s.system_vendor, "Supermicro");
  assert_string_equal(s.system_product, "SYS-821GE-TNHR");
  assert_string_equal(s.bios_version, "2.1a");
  assert_string_equal(s.cpu_model, "Xeon(R) Platinum 8480+");
  assert_int_equal(s.cpu_sockets, 2);
  assert_int_equal(s.cpu_cores, 112);
  assert_int_equal(s.cpu_threads, 224);
  assert_true(s.mem_total_bytes == 2048 * GiB);
  assert_true(s.dimm_size_bytes == 64 * GiB);
  assert_int_equal(s.dimm_count, 32);

  assert_int_equal(s.gpu.count, 8);
  assert_string_equal(s.gpu.model, "H100 SXM5");
  assert_true(s.gpu.pci_id_set);
  assert_int_equal(s.gpu.vendor_id, 0x10de);
  assert_int_equal(s.gpu.device_id, 0x2330);
  assert_int_equal(s.gpu.line, 20);
  const char *gpus[] = {"0000:18:00.0", "0000:19:00.0", "0000:3a:00.0",
                        "0000:3b:00.0", "0000:9a:00.0", "0000:9b:00.0",
                        "0000:ba:00.0", "0000:bb:00.0"};
  assert_int_equal(s.gpu.n_bus_ids, 8);
  for (size_t i = 0; i < 8; i++)
    assert_string_equal(s.gpu.bus_ids[i], gpus[i]);
  assert_true(s.gpu.speed_bps == 0);

  assert_int_equal(s.nic.count, 8);
  assert_string_equal(s.nic.model, "ConnectX-7");
  assert_true(s.nic.speed_bps == 400e9);
  assert_int_equal(s.nic.n_bus_ids, 0);
  assert_int_equal(s.nvme.count, 2);
  assert_int_equal(s.nvme.vendor_id, 0x144d);
  assert_int_equal(s.nvme.device_id, 0xa826);
  assert_int_equal(s.nvme.n_bus_ids, 2);
  assert_string_equal(s.nvme.bus_ids[1], "0000:9e:00.0");

  assert_int_equal(s.n_links, 4);
  assert_int_equal(s.links[0].match, KILN_SPEC_MATCH_ID);
  assert_int_equal(s.links[0].vendor_id, 0x10de);
  assert_int_equal(s.links[0].device_id, 0x2330);
  assert_true(s.links[0].gts == 32);
  assert_int_equal(s.links[0].width, 16);
  assert_int_equal(s.links[0].line, 40);
  assert_int_equal(s.links[1].match, KILN_SPEC_MATCH_SUBCLASS);
  assert_int_equal(s.links[1].class_code, 0x0302);
  assert_int_equal(s.links[2].match, KILN_SPEC_MATCH_CLASS);
  assert_int_equal(s.links[2].class_code, 0x02);
  assert_true(s.links[2].gts == 16);
  assert_int_equal(s.links[2].width, 8);
  assert_int_equal(s.links[3].match, KILN_SPEC_MATCH_DEFAULT);
  assert_true(s.links[3].gts == 2.5);
  assert_int_equal(s.links[3].width, 1);
  assert_int_equal(s.aer_correctable_max, 5);
  kiln_spec_free(&s);
  kiln_spec_free(&s); /* freed twice: harmless */
}

static void absent_keys_are_not_checked(void **state) {
  (void)state;
  struct kiln_spec s;
  char err[512] = "";
  assert_int_equal(kiln_spec_parse("; one key\n[system]\nvendor = Acme\n",
                                   "one.ini", &s, err, sizeof err),
                   0);
  assert_string_equal(s.system_vendor, "Acme");
  assert_null(s.bios_version);
  assert_null(s.cpu_model);
  assert_int_equal(s.cpu_sockets, -1);
  assert_int_equal(s.cpu_cores, -1);
  assert_int_equal(s.cpu_threads, -1);
  assert_int_equal(s.dimm_count, -1);
  assert_true(s.mem_total_bytes == 0 && s.dimm_size_bytes == 0);
  assert_int_equal(s.gpu.count, -1);
  assert_int_equal(s.nic.count, -1);
  assert_int_equal(s.nvme.count, -1);
  assert_false(s.gpu.pci_id_set);
  assert_null(s.gpu.model);
  assert_int_equal(s.n_links, 0);
  assert_int_equal(s.aer_correctable_max, -1);
  kiln_spec_free(&s);
}

static void parses_value_forms(void **state) {
  (void)state;
  static const struct {
    const char *s;
    uint64_t bytes;
  } sizes[] = {
      {"2048G", 2048 * GiB},     {"64G", 64 * GiB},    {"512M", 512ull << 20},
      {"2T", 2ull << 40},        {"1.5T", 3ull << 39}, {"0.5G", 512ull << 20},
      {"68719476736", 64 * GiB}, {"64GiB", 64 * GiB},  {"64GB", 64 * GiB},
      {"64 G", 64 * GiB},        {"16k", 16384},       {"4096B", 4096}};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    uint64_t b = 0;
    if (kiln_spec_parse_size(sizes[i].s, &b) != 0 || b != sizes[i].bytes)
      fail_msg("size '%s' gave %llu", sizes[i].s, (unsigned long long)b);
  }
  const char *bad_sizes[] = {
      "",    "G",      "2048Q",    "-1G",          "1e9",
      "0",   "0G",     "1.5",      "1.3M",         "1..5G",
      ".5G", "64Gb/s", "64 GiB x", "99999999999T", "18446744073709551616",
      NULL};
  for (size_t i = 0; i < sizeof bad_sizes / sizeof *bad_sizes; i++) {
    uint64_t b;
    if (kiln_spec_parse_size(bad_sizes[i], &b) == 0)
      fail_msg("'%s' parsed as a size", bad_sizes[i]);
  }

  static const struct {
    const char *s;
    double bps;
  } rates[] = {{"400G", 400e9},     {"200G", 200e9},    {"100G", 100e9},
               {"25G", 25e9},       {"400Gb/s", 400e9}, {"100 Gb/s", 100e9},
               {"2.5G", 2.5e9},     {"800Gbps", 800e9}, {"1T", 1e12},
               {"100Mbit/s", 100e6}};
  for (size_t i = 0; i < sizeof rates / sizeof *rates; i++) {
    double v = 0;
    if (kiln_spec_parse_bitrate(rates[i].s, &v) != 0 || v != rates[i].bps)
      fail_msg("bit rate '%s' gave %g", rates[i].s, v);
  }
  const char *bad_rates[] = {"400", "400GB/s", "fast",  "0G",
                             "G",   "400X",    "-400G", NULL};
  for (size_t i = 0; i < sizeof bad_rates / sizeof *bad_rates; i++) {
    double v;
    if (kiln_spec_parse_bitrate(bad_rates[i], &v) == 0)
      fail_msg("'%s' parsed as a bit rate", bad_rates[i]);
  }

  static const struct {
    const char *s;
    double gts;
  } speeds[] = {{"32GT/s", 32}, {"32", 32},     {"gen5", 32}, {"Gen4", 16},
                {"GEN3", 8},    {"gen 1", 2.5}, {"2.5", 2.5}, {"64 GT/s", 64},
                {"5gt/s", 5},   {"16.0", 16}};
  for (size_t i = 0; i < sizeof speeds / sizeof *speeds; i++) {
    double v = 0;
    if (kiln_spec_parse_pcie_speed(speeds[i].s, &v) != 0 || v != speeds[i].gts)
      fail_msg("PCIe speed '%s' gave %g", speeds[i].s, v);
  }
  const char *bad_speeds[] = {"33GT/s", "gen7", "gen0", "gen", "3",
                              "32GB/s", "fast", "",     NULL};
  for (size_t i = 0; i < sizeof bad_speeds / sizeof *bad_speeds; i++) {
    double v;
    if (kiln_spec_parse_pcie_speed(bad_speeds[i], &v) == 0)
      fail_msg("'%s' parsed as a PCIe speed", bad_speeds[i]);
  }

  int w = 0;
  assert_int_equal(kiln_spec_parse_pcie_width("16", &w), 0);
  assert_int_equal(w, 16);
  assert_int_equal(kiln_spec_parse_pcie_width("x8", &w), 0);
  assert_int_equal(w, 8);
  assert_int_equal(kiln_spec_parse_pcie_width("X1", &w), 0);
  assert_int_equal(w, 1);
  const char *bad_widths[] = {"x3", "0", "x", "16x", "x16.5", "64", "", NULL};
  for (size_t i = 0; i < sizeof bad_widths / sizeof *bad_widths; i++)
    if (kiln_spec_parse_pcie_width(bad_widths[i], &w) == 0)
      fail_msg("'%s' parsed as a PCIe width", bad_widths[i]);

  uint16_t v = 0, d = 0;
  assert_int_equal(kiln_spec_parse_pci_id("10de:2330", &v, &d), 0);
  assert_int_equal(v, 0x10de);
  assert_int_equal(d, 0x2330);
  assert_int_equal(kiln_spec_parse_pci_id("15B3:A2DC", &v, &d), 0);
  assert_int_equal(d, 0xa2dc);
  const char *bad_ids[] = {"10de",       "10de:",  ":2330",      "10de:23300",
                           "10dex:2330", "g0de:1", "10de:2330 ", NULL};
  for (size_t i = 0; i < sizeof bad_ids / sizeof *bad_ids; i++)
    if (kiln_spec_parse_pci_id(bad_ids[i], &v, &d) == 0)
      fail_msg("'%s' parsed as a PCI id", bad_ids[i]);

  static const struct {
    const char *s, *norm;
  } bdfs[] = {
      {"0000:1b:00.0", "0000:1b:00.0"},   {"1b:00.0", "0000:1b:00.0"},
      {"0000:1B:1F.7", "0000:1b:1f.7"},   {"0001:c1:00.1", "0001:c1:00.1"},
      {"10000:e0:00.0", "10000:e0:00.0"}, /* a VMD domain */
      {"0:1b:0.0", "0000:1b:00.0"}};
  for (size_t i = 0; i < sizeof bdfs / sizeof *bdfs; i++) {
    char out[32] = "";
    if (kiln_spec_parse_bus_id(bdfs[i].s, out, sizeof out) != 0 ||
        strcmp(out, bdfs[i].norm) != 0)
      fail_msg("bus id '%s' gave '%s'", bdfs[i].s, out);
  }
  const char *bad_bdfs[] = {
      "1b:00",   "1b:20.0",  "1b:00.8",      "1b.00.0", "0000:1b:00.0.0",
      "zz:00.0", "123:00.0", "0000:1b:00:0", "",        "1b:00.0 x",
      NULL};
  for (size_t i = 0; i < sizeof bad_bdfs / sizeof *bad_bdfs; i++) {
    char out[32];
    if (kiln_spec_parse_bus_id(bad_bdfs[i], out, sizeof out) == 0)
      fail_msg("'%s' parsed as a bus id", bad_bdfs[i]);
  }
}

static struct kiln_pci_device pci_dev(const char *bdf, uint16_t vendor,
                                      uint16_t device, uint32_t class_code) {
  struct kiln_pci_device d;
  memset(&d, 0, sizeof d);
  snprintf(d.bdf, sizeof d.bdf, "%s", bdf);
  d.vendor_id = vendor;
  d.device_id = device;
  d.class_code = class_code;
  d.secondary_bus = d.subordinate_bus = -1;
  d.numa_node = -1;
  d.parent = -1;
  return d;
}

static void picks_the_most_specific_link(void **state) {
  (void)state;
  /* Least specific first: the order in the file does not matter. */
  const char *text = "[pcie default]\nspeed = gen1\n"
                     "[pcie class 02]\nspeed = gen3\n"
                     "[pcie class 0302]\nspeed = gen4\n"
                     "[pcie 10de:2330]\nspeed = gen5\n";
  struct kiln_spec s;
  char err[512] = "";
  if (kiln_spec_parse(text, "links.ini", &s, err, sizeof err))
    fail_msg("%s", err);
  struct kiln_pci_device h100 =
                             pci_dev("0000:18:00.0", 0x10de, 0x2330, 0x030200),
                         other_gpu =
                             pci_dev("0000:19:00.0", 0x10de, 0x2331, 0x030200),
                         vga =
                             pci_dev("0000:03:00.0", 0x1a03, 0x2000, 0x030000),
                         nic =
                             pci_dev("0000:1a:00.0", 0x15b3, 0x1021, 0x020000),
                         nvme =
                             pci_dev("0000:1c:00.0", 0x144d, 0xa826, 0x010802);
  assert_true(kiln_spec_link_for(&s, &h100)->gts == 32);
  assert_true(kiln_spec_link_for(&s, &other_gpu)->gts == 16);
  assert_true(kiln_spec_link_for(&s, &vga)->gts == 2.5); /* 0300: default */
  assert_true(kiln_spec_link_for(&s, &nic)->gts == 8);
  assert_true(kiln_spec_link_for(&s, &nvme)->gts == 2.5);
  kiln_spec_free(&s);

  /* Without a default, an unmatched device has no expected link. */
  assert_int_equal(kiln_spec_parse("[pcie class 02]\nwidth = 16\n", "l.ini", &s,
                                   err, sizeof err),
                   0);
  assert_null(kiln_spec_link_for(&s, &nvme));
  assert_int_equal(kiln_spec_link_for(&s, &nic)->width, 16);
  kiln_spec_free(&s);
}

/* Each bad spec must be refused with the file, the line and the cause. */
static void expect_error(const char *text, const char *want) {
  struct kiln_spec s;
  char err[512] = "";
  if (kiln_spec_parse(text, "bad.ini", &s, err, sizeof err) != -1)
    fail_msg("accepted: %s", text);
  if (!strstr(err, want))
    fail_msg("error '%s' does not contain '%s'", err, want);
  /* A refused spec is left empty: freeing it again is harmless. */
  assert_null(s.source);
  kiln_spec_free(&s);
}

static void rejects_bad_specs(void **state) {
  (void)state;
  /* A spec that expects nothing would pass a machine with a GPU missing. */
  expect_error("", "bad.ini: declares no expectation");
  expect_error("; only comments\n# and more\n\n",
               "bad.ini: declares no expectation");
  expect_error("[gpu]\n", "bad.ini:1: [gpu] has no keys");
  expect_error("; x\n[gpu]\ncount = 8\n\n[aer]\n; nothing\n",
               "bad.ini:5: [aer] has no keys");
  expect_error("[gpu]\n[nic]\ncount = 2\n", "bad.ini:1: [gpu] has no keys");
  expect_error("[system]\nvendor = x\n\n[gpus]\ncount = 8\n",
               "bad.ini:4: unknown section [gpus] (sections: system, cpu");
  /* An empty section is still read, and blamed on its own line. */
  expect_error("[gpu]\ncount = 1\n[nics]\n[nic]\ncount = 2\n",
               "bad.ini:3: unknown section [nics]");
  expect_error("[gpu]\ncolour = green\n",
               "bad.ini:2: unknown key 'colour' in [gpu] (keys: count, model, "
               "pci_id, bus_ids, sku)");
  expect_error("[gpu]\nspeed = 400G\n", "bad.ini:2: unknown key 'speed'");
  expect_error("[system]\nserial = 1\n", "bad.ini:2: unknown key 'serial' in "
                                         "[system]");
  expect_error("[pcie default]\ncount = 1\n",
               "bad.ini:2: unknown key 'count' in [pcie default]");
  expect_error("[gpu]\ncount = eight\n",
               "bad.ini:2: [gpu] count = 'eight' is not a count");
  expect_error("[cpu]\n\ncores = -4\n",
               "bad.ini:3: [cpu] cores = '-4' is not a count");
  expect_error("[memory]\ndimms = 31.5\n",
               "bad.ini:2: [memory] dimms = '31.5' is not a count");
  expect_error("[aer]\ncorrectable_max = some\n",
               "bad.ini:2: [aer] correctable_max = 'some' is not a count");
  expect_error("[memory]\ntotal = 2048Q\n",
               "bad.ini:2: [memory] total = '2048Q' is not a size");
  expect_error("[memory]\ndimm_size = 64 GiB please\n",
               "bad.ini:2: [memory] dimm_size = '64 GiB please' is not a size");
  expect_error("[nic]\nspeed = 400\n",
               "bad.ini:2: [nic] speed = '400' is not a link speed");
  expect_error("[nic]\nspeed = 50GB/s\n",
               "bad.ini:2: [nic] speed = '50GB/s' is not a link speed");
  expect_error("[pcie default]\nspeed = 33GT/s\n",
               "bad.ini:2: [pcie default] speed = '33GT/s' is not a PCIe "
               "speed");
  expect_error("[pcie default]\nwidth = x3\n",
               "bad.ini:2: [pcie default] width = 'x3' is not a PCIe width");
  expect_error("[gpu]\npci_id = 10de\n",
               "bad.ini:2: [gpu] pci_id = '10de' is not a PCI id");
  expect_error("[nvme]\npci_id = nvidia:h100\n",
               "bad.ini:2: [nvme] pci_id = 'nvidia:h100' is not a PCI id");
  expect_error("[gpu]\nbus_ids = 0000:1b:00.0, 1b:00\n",
               "bad.ini:2: [gpu] bus_ids: '1b:00' is not a PCI bus id "
               "(DDDD:BB:DD.F or BB:DD.F)");
  expect_error("[gpu]\nbus_ids = 1b:00.0\nbus_ids.2 = 1c:00.0, 1B:00.0\n",
               "bad.ini:3: [gpu] bus_ids.2: 0000:1b:00.0 is listed twice");
  expect_error("[gpu]\nbus_ids.0 = 1b:00.0\n", "bad.ini:2: unknown key "
                                               "'bus_ids.0'");
  expect_error("[pcie gen5]\nspeed = 32\n",
               "bad.ini:1: [pcie gen5] is not a PCIe match: use [pcie "
               "VVVV:DDDD], [pcie class CCSS], [pcie class CC] or [pcie "
               "default]");
  expect_error("[gpu]\ncount = 1\n[pcie class 3]\n",
               "bad.ini:3: [pcie class 3] is not a PCIe match");
  expect_error("[pcie 10de]\n", "bad.ini:1: [pcie 10de] is not a PCIe match");
  expect_error("[pcie]\n", "bad.ini:1: [pcie] is not a PCIe match");
  expect_error("[pcie default please]\n",
               "bad.ini:1: [pcie default please] is not a PCIe match");
  expect_error("[gpu]\ncount = 8\nmodel = H100\ncount = 8\n",
               "bad.ini:4: [gpu] count is set twice (first at line 2)");
  expect_error("[gpu]\ncount = 8\n[nic]\ncount = 2\n[gpu]\nmodel = x\n",
               "bad.ini:5: [gpu] appears twice (first at line 1)");
  expect_error("[pcie 10de:2330]\nwidth = 16\n[pcie 10DE:2330]\n",
               "bad.ini:3: [pcie 10DE:2330] appears twice (first at line 1)");
  expect_error("[gpu]\nmodel =\n", "bad.ini:2: [gpu] model has no value");
  expect_error("count = 8\n", "bad.ini:1: 'count' is outside any [section]");
  expect_error("[gpu]\ncount = 8\nthis line is garbage\n",
               "bad.ini:3: syntax error");
  expect_error("[gpu\ncount = 8\n", "bad.ini:1: syntax error");
  expect_error("[gpu]\ncount = 1\nbus_ids = 1b:00.0, 1c:00.0\n",
               "bad.ini:1: [gpu] lists 2 bus_ids but count = 1");
  /* libinih would take an indented line for more of the key above it (and
   * an indented header for a value): here each is a line of its own. */
  expect_error("[gpu]\nmodel = H100\n  count = eight\n",
               "bad.ini:3: [gpu] count = 'eight' is not a count");
  expect_error("[gpu]\nmodel = H100\n   [gpus]\n",
               "bad.ini:3: unknown section [gpus]");
  char longline[400];
  memset(longline, '1', sizeof longline);
  memcpy(longline, "[gpu]\ncount = ", 14);
  longline[sizeof longline - 1] = 0;
  expect_error(longline, "bad.ini:2: line longer than");
}

/* The monitors' watch limits: durations and numbers; unset ones are NaN. */
static void parses_watch_limits(void **state) {
  (void)state;
  struct kiln_spec s;
  char err[512] = "";
  if (kiln_spec_parse("[thermal]\nhold = 10s\ntemp_max = 92.5\n"
                      "fan_min = 600\n[edac]\nce_max = 4\n",
                      "w.ini", &s, err, sizeof err))
    fail_msg("%s", err);
  assert_true(s.watch.hold == 10.0 && s.watch.temp_max == 92.5);
  assert_true(s.watch.fan_min == 600.0 && s.watch.ce_max == 4.0);
  assert_true(isnan(s.watch.throttle_max) && isnan(s.watch.ue_max));
  kiln_spec_free(&s);
  expect_error("[thermal]\nhold = soon\n",
               "bad.ini:2: [thermal] hold = 'soon' is not a duration (5s, 1m)");
  expect_error("[edac]\nce_max = -1\n",
               "bad.ini:2: [edac] ce_max = '-1' is not a non-negative number");
  expect_error("[thermal]\ntemp = 90\n",
               "bad.ini:2: unknown key 'temp' in [thermal] (keys: hold, "
               "temp_max, fan_min, throttle_max)");
}

static void reads_indented_lines_as_lines(void **state) {
  (void)state;
  struct kiln_spec s;
  char err[512] = "";
  if (kiln_spec_parse("[gpu]\n  count = 8\n\t[nic]\n  count = 2\r\n"
                      "  model = ConnectX-7 ; the 400G ones\n",
                      "indented.ini", &s, err, sizeof err))
    fail_msg("%s", err);
  assert_int_equal(s.gpu.count, 8);
  assert_int_equal(s.nic.count, 2);
  assert_int_equal(s.nic.line, 3);
  assert_string_equal(s.nic.model, "ConnectX-7");
  kiln_spec_free(&s);
}

static void load_errors_name_the_file(void **state) {
  (void)state;
  struct kiln_spec s;
  char err[512] = "";
  assert_int_equal(kiln_spec_load("tests/fixtures/spec/bad-section.ini", &s,
                                  err, sizeof err),
                   -1);
  assert_string_equal(
      err,
      "tests/fixtures/spec/bad-section.ini:5: unknown "
      "section [gpus] (sections: system, cpu, memory, "
      "gpu, nic, nvme, aer, fans, thermal, edac, pcie VVVV:DDDD, pcie class "
      "CCSS, pcie class CC, pcie default)");
  assert_int_equal(
      kiln_spec_load("tests/fixtures/spec/bad-count.ini", &s, err, sizeof err),
      -1);
  assert_string_equal(err, "tests/fixtures/spec/bad-count.ini:7: [gpu] count "
                           "= 'eight' is not a count");
  assert_int_equal(kiln_spec_load("/nonexistent/spec.ini", &s, err, sizeof err),
                   -1);
  assert_string_equal(err, "/nonexistent/spec.ini: No such file or directory");
  assert_int_equal(kiln_spec_load("tests/fixtures/spec", &s, err, sizeof err),
                   -1);
  assert_string_equal(
      err, "tests/fixtures/spec: is a directory, not a regular file");
  kiln_spec_free(&s);
  /* The other helper's fixture must at least parse. */
  if (kiln_spec_load("tests/fixtures/spec/hgx.ini", &s, err, sizeof err) == 0)
    kiln_spec_free(&s);
  else if (access("tests/fixtures/spec/hgx.ini", R_OK) == 0)
    fail_msg("%s", err);
}

/* ---- comparing ---------------------------------------------------------- */

struct diffs {
  size_t n;
  char kind[16][16], hwid[16][64], msg[16][512];
  bool has_hwid[16];
};

static void record(void *ctx, const char *kind, const char *hwid,
                   const char *message) {
  struct diffs *d = ctx;
  if (d->n >= 16)
    fail_msg("too many differences; the next: %s", message);
  snprintf(d->kind[d->n], sizeof d->kind[0], "%s", kind);
  d->has_hwid[d->n] = hwid != NULL;
  snprintf(d->hwid[d->n], sizeof d->hwid[0], "%s", hwid ? hwid : "");
  snprintf(d->msg[d->n], sizeof d->msg[0], "%s", message);
  d->n++;
}

/* An 8-GPU machine built by hand: the PCI part without libpci (so device
 * names fall back to "Device vvvv:dddd"). */
struct machine {
  struct kiln_inventory inv;
  struct kiln_inv_gpu gpus[9];
  struct kiln_inv_nic nics[24];
  struct kiln_inv_nvme nvmes[2];
  struct kiln_inv_dimm dimms[4];
  struct kiln_pci_device devs[16];
};

static const char *const gpu_bdfs[] = {
    "0000:18:00.0", "0000:19:00.0", "0000:3a:00.0", "0000:3b:00.0",
    "0000:9a:00.0", "0000:9b:00.0", "0000:ba:00.0", "0000:bb:00.0"};

static void add_dev(struct machine *m, struct kiln_pci_device d, double gts,
                    int width) {
  d.link = (struct kiln_pcie_link){.port = KILN_PCIE_ENDPOINT,
                                   .has_link = true,
                                   .cap_gts = gts,
                                   .cap_width = width,
                                   .sta_gts = gts,
                                   .sta_width = width};
  m->devs[m->inv.pci.n++] = d;
}

static struct machine *machine(void) {
  struct machine *m = kiln_xcalloc(1, sizeof *m);
  struct kiln_inventory *inv = &m->inv;
  inv->dmi = (struct kiln_inv_dmi){.sys_vendor = "Supermicro",
                                   .product = "SYS-821GE-TNHR",
                                   .serial = "S123456",
                                   .board_serial = "",
                                   .bios_vendor = "American Megatrends",
                                   .bios_version = "2.1a",
                                   .bios_date = "01/02/2024"};
  inv->cpu = (struct kiln_inv_cpu){.model = "Intel(R) Xeon(R) Platinum 8480+",
                                   .microcode = "0x2b000571",
                                   .sockets = 2,
                                   .cores = 112,
                                   .threads = 224,
                                   .numa_nodes = 2};
  static const char *const locators[] = {"P0-DIMMA1", "P0-DIMMB1", "P1-DIMMA1",
                                         "P1-DIMMB1"};
  for (size_t i = 0; i < 4; i++)
    m->dimms[i] = (struct kiln_inv_dimm){.locator = (char *)locators[i],
                                         .bank_locator = "",
                                         .populated = true,
                                         .size_bytes = 64 * GiB,
                                         .type = "DDR5",
                                         .speed_mts = 4800,
                                         .manufacturer = "Samsung",
                                         .part_number = "M321R8GA0BB0",
                                         .serial = "1"};
  inv->memory = (struct kiln_inv_memory){.mem_total_bytes = 251 * GiB,
                                         .dimm_total_bytes = 256 * GiB,
                                         .dimms = m->dimms,
                                         .n_dimms = 4,
                                         .dimm_note = ""};
  inv->pci.devs = m->devs;
  inv->pci.source = "by hand";
  add_dev(m, pci_dev("0000:17:01.0", 0x8086, 0x352a, 0x060400), 32, 16);
  for (size_t i = 0; i < 8; i++) {
    m->gpus[i] = (struct kiln_inv_gpu){.bdf = (char *)gpu_bdfs[i],
                                       .pci_name = "GH100 [H100 SXM5 80GB]",
                                       .device_id = 0x2330,
                                       .numa_node = i < 4 ? 0 : 1,
                                       .name = "NVIDIA H100 80GB HBM3",
                                       .serial = "1654",
                                       .uuid = "GPU-1"};
    add_dev(m, pci_dev(gpu_bdfs[i], 0x10de, 0x2330, 0x030200), 32, 16);
  }
  inv->gpus = m->gpus;
  inv->n_gpus = 8;
  static const char *const nic_bdfs[] = {"0000:1a:00.0", "0000:1b:00.0"};
  for (size_t i = 0; i < 2; i++) {
    m->nics[i] = (struct kiln_inv_nic){.bdf = (char *)nic_bdfs[i],
                                       .name = "MT2910 Family [ConnectX-7]",
                                       .vendor_id = 0x15b3,
                                       .device_id = 0x1021,
                                       .ifname = i ? "ib1" : "ib0",
                                       .ib_device = i ? "mlx5_1" : "mlx5_0",
                                       .infiniband = true,
                                       .speed_bps = 400e9,
                                       .link_state = "ACTIVE",
                                       .mac = "",
                                       .firmware = "28.39.1002"};
    add_dev(m, pci_dev(nic_bdfs[i], 0x15b3, 0x1021, 0x020700), 32, 16);
  }
  inv->nics = m->nics;
  inv->n_nics = 2;
  m->nvmes[0] = (struct kiln_inv_nvme){.bdf = "0000:1c:00.0",
                                       .name = "NVMe SSD Controller PM174X",
                                       .ctrl = "nvme0",
                                       .model = "SAMSUNG MZWLO3T8HCLS-00A07",
                                       .serial = "S6",
                                       .firmware = "GDC7302Q"};
  add_dev(m, pci_dev("0000:1c:00.0", 0x144d, 0xa826, 0x010802), 32, 4);
  inv->nvmes = m->nvmes;
  inv->n_nvmes = 1;
  inv->nvml_note = "";
  return m;
}

static const char matching_spec[] =
    "[system]\nvendor = supermicro\nproduct = 821GE\nbios_version = 2.1a\n"
    "[cpu]\nmodel = platinum 8480\nsockets = 2\ncores = 112\nthreads = 224\n"
    "[memory]\ntotal = 256G\ndimms = 4\ndimm_size = 64G\n"
    "[gpu]\ncount = 8\nmodel = H100 SXM5\npci_id = 10de:2330\n"
    "bus_ids = 18:00.0, 19:00.0, 3a:00.0, 3b:00.0, 9a:00.0, 9b:00.0,"
    " ba:00.0, bb:00.0\n"
    "[nic]\ncount = 2\nmodel = connectx-7\npci_id = 15b3:1021\nspeed = 400G\n"
    "bus_ids = 1a:00.0, 1b:00.0\n"
    "[nvme]\ncount = 1\nmodel = PM174\npci_id = 144d:a826\n"
    "[pcie 10de:2330]\nspeed = gen5\nwidth = 16\n"
    "[pcie class 02]\nspeed = 32GT/s\nwidth = x16\n"
    "[pcie default]\nspeed = gen4\n"
    "[aer]\ncorrectable_max = 0\n";

static void compare_text(const char *spec_text, const struct machine *m,
                         struct diffs *d) {
  struct kiln_spec s;
  char err[512] = "";
  if (kiln_spec_parse(spec_text, "station.ini", &s, err, sizeof err))
    fail_msg("%s", err);
  memset(d, 0, sizeof *d);
  size_t n = kiln_spec_compare(&s, &m->inv, record, d);
  assert_int_equal(n, d->n);
  /* Without a callback it counts the same. */
  assert_int_equal(kiln_spec_compare(&s, &m->inv, NULL, NULL), n);
  kiln_spec_free(&s);
}

static void print_diffs(const struct diffs *d) {
  for (size_t i = 0; i < d->n; i++)
    print_message("# %s [%s] %s\n", d->kind[i],
                  d->has_hwid[i] ? d->hwid[i] : "(null)", d->msg[i]);
}

/* Exactly one difference: this kind, hwid (NULL: none) and message. */
static void expect_one(const struct machine *m, const char *spec_text,
                       const char *kind, const char *hwid, const char *msg) {
  struct diffs d;
  compare_text(spec_text, m, &d);
  if (d.n != 1) {
    print_diffs(&d);
    fail_msg("%zu differences, want 1: %s", d.n, msg);
  }
  assert_string_equal(d.msg[0], msg);
  assert_string_equal(d.kind[0], kind);
  if (hwid) {
    assert_true(d.has_hwid[0]);
    assert_string_equal(d.hwid[0], hwid);
  } else {
    assert_false(d.has_hwid[0]);
  }
}

static void expect_none(const struct machine *m, const char *spec_text) {
  struct diffs d;
  compare_text(spec_text, m, &d);
  if (d.n) {
    print_diffs(&d);
    fail_msg("%zu differences, want none", d.n);
  }
}

static void matching_machine_has_no_difference(void **state) {
  (void)state;
  struct machine *m = machine();
  struct diffs d;
  compare_text(matching_spec, m, &d);
  print_diffs(&d);
  assert_int_equal(d.n, 0);
  /* An empty machine against a spec that expects none of anything. */
  struct kiln_inventory none;
  memset(&none, 0, sizeof none);
  struct kiln_spec s;
  char err[512];
  assert_int_equal(
      kiln_spec_parse("[gpu]\ncount = 0\n", "e.ini", &s, err, sizeof err), 0);
  assert_int_equal(kiln_spec_compare(&s, &none, record, &d), 0);
  kiln_spec_free(&s);
  free(m);
}

static void reports_missing_and_extra_devices(void **state) {
  (void)state;
  struct machine *m = machine();
  /* 0000:9b:00.0 fell off the bus. */
  memmove(&m->gpus[5], &m->gpus[6], 2 * sizeof m->gpus[0]);
  m->inv.n_gpus = 7;
  expect_one(m, matching_spec, "gpu", "0000:9b:00.0",
             "gpu: 7 found, spec expects 8; missing 0000:9b:00.0");
  /* Without bus_ids only the count can be told. */
  expect_one(m, "[gpu]\ncount = 8\n", "gpu", NULL,
             "gpu: 7 found, spec expects 8");
  /* bus_ids alone: each listed one must be there. */
  expect_one(m, "[gpu]\nbus_ids = 9b:00.0, 18:00.0\n", "gpu", "0000:9b:00.0",
             "gpu: 7 found, spec lists 2; missing 0000:9b:00.0");
  /* ... and the others may be there. */
  expect_none(m, "[gpu]\nbus_ids = 18:00.0, 3a:00.0\n");
  free(m);

  m = machine();
  m->gpus[8] = m->gpus[0];
  m->gpus[8].bdf = "0000:cb:00.0";
  m->inv.n_gpus = 9;
  expect_one(m, matching_spec, "gpu", "0000:cb:00.0",
             "gpu: 9 found, spec expects 8; extra 0000:cb:00.0");
  /* A partial list (count says more): the unlisted one is no extra. */
  expect_one(m, "[gpu]\ncount = 8\nbus_ids = 18:00.0\n", "gpu", NULL,
             "gpu: 9 found, spec expects 8");
  free(m);

  /* The same count, but one in the wrong place. */
  m = machine();
  m->gpus[7].bdf = "0000:cc:00.0";
  expect_one(m, matching_spec, "gpu", NULL,
             "gpu: 8 found, spec expects 8; missing 0000:bb:00.0; extra "
             "0000:cc:00.0");
  free(m);

  m = machine();
  m->inv.n_nvmes = 0;
  expect_one(m, matching_spec, "nvme", NULL, "nvme: 0 found, spec expects 1");
  m->inv.n_nics = 1;
  struct diffs d;
  compare_text(matching_spec, m, &d);
  assert_int_equal(d.n, 2);
  assert_string_equal(d.msg[0],
                      "nic: 1 found, spec expects 2; missing 0000:1b:00.0");
  assert_string_equal(d.hwid[0], "0000:1b:00.0");
  assert_string_equal(d.kind[1], "nvme");
  free(m);
}

static void reports_wrong_models_and_ids(void **state) {
  (void)state;
  struct machine *m = machine();
  /* No NVML: the PCI name is all there is. */
  m->gpus[2].name = "";
  m->gpus[2].pci_name = "GH100 [H100 PCIe]";
  expect_one(m, matching_spec, "gpu", "0000:3a:00.0",
             "gpu 0000:3a:00.0: model 'GH100 [H100 PCIe]' does not match "
             "spec 'H100 SXM5'");
  /* With NVML, either name may match; the message shows both. */
  m->gpus[2].name = "NVIDIA H100 PCIe";
  expect_one(m, matching_spec, "gpu", "0000:3a:00.0",
             "gpu 0000:3a:00.0: model 'NVIDIA H100 PCIe' (PCI name 'GH100 "
             "[H100 PCIe]') does not match spec 'H100 SXM5'");
  expect_one(m, "[gpu]\nmodel = nvidia h100 80gb\n", "gpu", "0000:3a:00.0",
             "gpu 0000:3a:00.0: model 'NVIDIA H100 PCIe' (PCI name 'GH100 "
             "[H100 PCIe]') does not match spec 'nvidia h100 80gb'");
  free(m);

  m = machine();
  m->gpus[0].device_id = 0x2331;
  expect_one(m, matching_spec, "gpu", "0000:18:00.0",
             "gpu 0000:18:00.0: pci id 10de:2331, spec expects 10de:2330");
  free(m);

  m = machine();
  m->nics[1].device_id = 0x101d;
  m->nics[1].name = "MT2892 Family [ConnectX-6 Dx]";
  struct diffs d;
  compare_text(matching_spec, m, &d);
  assert_int_equal(d.n, 2);
  assert_string_equal(d.msg[0], "nic 0000:1b:00.0: model 'MT2892 Family "
                                "[ConnectX-6 Dx]' does not match spec "
                                "'connectx-7'");
  assert_string_equal(d.msg[1], "nic 0000:1b:00.0: pci id 15b3:101d, spec "
                                "expects 15b3:1021");
  free(m);

  /* NVMe: the controller's model or the PCI name. */
  m = machine();
  expect_none(m, "[nvme]\nmodel = MZWLO3T8\n");
  expect_none(m, "[nvme]\nmodel = pm174x\n");
  expect_one(m, "[nvme]\nmodel = PM1733\n", "nvme", "0000:1c:00.0",
             "nvme 0000:1c:00.0: model 'SAMSUNG MZWLO3T8HCLS-00A07' (PCI name "
             "'NVMe SSD Controller PM174X') does not match spec 'PM1733'");
  expect_one(m, "[nvme]\npci_id = 144d:a824\n", "nvme", "0000:1c:00.0",
             "nvme 0000:1c:00.0: pci id 144d:a826, spec expects 144d:a824");
  free(m);
}

static void reports_slow_links(void **state) {
  (void)state;
  struct machine *m = machine();
  /* devs: [0] root port, [1..8] GPUs, [9..10] NICs, [11] NVMe */
  m->devs[2].link.sta_gts = 16;
  expect_one(m, matching_spec, "pcie", "0000:19:00.0",
             "0000:19:00.0 Device 10de:2330: 16 GT/s x16, spec expects 32 "
             "GT/s x16");
  m->devs[2].link.sta_gts = 32;
  m->devs[2].link.sta_width = 8;
  expect_one(m, matching_spec, "pcie", "0000:19:00.0",
             "0000:19:00.0 Device 10de:2330: 32 GT/s x8, spec expects 32 GT/s "
             "x16");
  m->devs[2].link.sta_gts = 0;
  m->devs[2].link.sta_width = 0;
  expect_one(m, matching_spec, "pcie", "0000:19:00.0",
             "0000:19:00.0 Device 10de:2330: link down, spec expects 32 GT/s "
             "x16");
  /* No link to check: not a difference. */
  m->devs[2].link.has_link = false;
  expect_none(m, matching_spec);
  free(m);

  m = machine();
  m->devs[10].link.sta_gts = 16; /* a NIC: [pcie class 02] */
  expect_one(m, matching_spec, "pcie", "0000:1b:00.0",
             "0000:1b:00.0 Device 15b3:1021: 16 GT/s x16, spec expects 32 "
             "GT/s x16");
  m->devs[10].link.sta_gts = 32;
  m->devs[0].link.sta_gts = 8; /* the root port: [pcie default], speed only */
  m->devs[0].link.sta_width = 4;
  expect_one(m, matching_spec, "pcie", "0000:17:01.0",
             "0000:17:01.0 Device 8086:352a: 8 GT/s x4, spec expects 16 GT/s");
  expect_one(m, "[pcie class 0604]\nwidth = 8\n", "pcie", "0000:17:01.0",
             "0000:17:01.0 Device 8086:352a: 8 GT/s x4, spec expects x8");
  /* A faster or wider link than the spec is no difference. */
  expect_none(m, "[pcie 10de:2330]\nspeed = gen4\nwidth = 8\n");
  free(m);
}

static void reports_system_cpu_and_memory(void **state) {
  (void)state;
  struct machine *m = machine();
  m->inv.dmi.bios_version = "2.1b";
  expect_one(m, matching_spec, "bios", NULL,
             "bios: version '2.1b', spec expects '2.1a'");
  m->inv.dmi.bios_version = " 2.1a \n"; /* blanks around it do not count */
  expect_none(m, matching_spec);
  m->inv.dmi.bios_version = "";
  expect_one(m, matching_spec, "bios", NULL,
             "bios: version unknown, spec expects '2.1a'");
  free(m);

  m = machine();
  m->inv.dmi.sys_vendor = "Dell Inc.";
  expect_one(m, matching_spec, "system", NULL,
             "system: vendor 'Dell Inc.' does not match spec 'supermicro'");
  m->inv.dmi.sys_vendor = "Supermicro";
  m->inv.dmi.product = "PowerEdge\tXE9680";
  expect_one(m, matching_spec, "system", NULL,
             "system: product 'PowerEdge\\x09XE9680' does not match spec "
             "'821GE'");
  free(m);

  m = machine();
  m->inv.cpu.model = "AMD EPYC 9654 96-Core Processor";
  m->inv.cpu.sockets = 1;
  m->inv.cpu.cores = 96;
  m->inv.cpu.threads = 0;
  struct diffs d;
  compare_text(matching_spec, m, &d);
  assert_int_equal(d.n, 4);
  assert_string_equal(d.msg[0], "cpu: model 'AMD EPYC 9654 96-Core "
                                "Processor' does not match spec 'platinum "
                                "8480'");
  assert_string_equal(d.msg[1], "cpu: sockets 1, spec expects 2");
  assert_string_equal(d.msg[2], "cpu: cores 96, spec expects 112");
  assert_string_equal(d.msg[3], "cpu: threads unknown, spec expects 224");
  for (size_t i = 0; i < 4; i++) {
    assert_string_equal(d.kind[i], "cpu");
    assert_false(d.has_hwid[i]);
  }
  free(m);

  /* A DIMM gone: the total and the count, and the empty slot named. */
  m = machine();
  m->dimms[3].populated = false;
  m->dimms[3].size_bytes = 0;
  m->inv.memory.dimm_total_bytes = 192 * GiB;
  compare_text(matching_spec, m, &d);
  assert_int_equal(d.n, 2);
  assert_string_equal(d.kind[0], "memory");
  assert_string_equal(d.msg[0], "memory: 192 GiB installed (sum of the "
                                "DIMMs), spec expects 256 GiB");
  assert_string_equal(d.kind[1], "dimm");
  assert_string_equal(d.msg[1], "dimm: 3 populated, spec expects 4; empty: "
                                "P1-DIMMB1");
  assert_string_equal(d.hwid[1], "P1-DIMMB1");
  /* More empty slots than missing DIMMs: which one is unknown. */
  expect_one(m, "[memory]\ndimms = 2\n", "dimm", NULL,
             "dimm: 3 populated, spec expects 2");
  free(m);

  /* A smaller DIMM, named by its slot. */
  m = machine();
  m->dimms[1].size_bytes = 32 * GiB;
  m->inv.memory.dimm_total_bytes = 224 * GiB;
  compare_text(matching_spec, m, &d);
  assert_int_equal(d.n, 2);
  assert_string_equal(d.msg[0], "memory: 224 GiB installed (sum of the "
                                "DIMMs), spec expects 256 GiB");
  assert_string_equal(d.msg[1], "dimm P0-DIMMB1: 32 GiB, spec expects 64 GiB");
  assert_string_equal(d.kind[1], "dimm");
  assert_string_equal(d.hwid[1], "P0-DIMMB1");
  free(m);

  /* No DIMM list (not root): MemTotal, within 5% below the spec. */
  m = machine();
  m->inv.memory.n_dimms = 0;
  m->inv.memory.dimm_total_bytes = 0;
  m->inv.memory.dimm_note = "needs root";
  expect_none(m, "[memory]\ntotal = 256G\n");
  expect_one(m, matching_spec, "dimm", NULL,
             "dimm: no DIMM list (needs root), cannot check the spec's 4 "
             "DIMMs of 64 GiB");
  m->inv.memory.mem_total_bytes = 200 * GiB;
  expect_one(m, "[memory]\ntotal = 256G\n", "memory", NULL,
             "memory: MemTotal 200 GiB, spec expects 256 GiB installed "
             "(MemTotal may be up to 5% below it; no DIMM list: needs root)");
  m->inv.memory.mem_total_bytes = 257 * GiB; /* more than installed */
  expect_one(m, "[memory]\ntotal = 256G\n", "memory", NULL,
             "memory: MemTotal 257 GiB, spec expects 256 GiB installed "
             "(MemTotal may be up to 5% below it; no DIMM list: needs root)");
  m->inv.memory.mem_total_bytes = 0;
  expect_one(m, "[memory]\ntotal = 256G\n", "memory", NULL,
             "memory: total unknown, spec expects 256 GiB");
  free(m);
}

static void reports_slow_network_links(void **state) {
  (void)state;
  struct machine *m = machine();
  m->nics[0].speed_bps = 200e9;
  expect_one(m, matching_spec, "nic", "0000:1a:00.0",
             "nic 0000:1a:00.0: link speed 200 Gb/s, spec expects 400 Gb/s");
  m->nics[0].speed_bps = 0; /* unknown (down, no driver): not checked */
  expect_none(m, matching_spec);
  m->nics[0].speed_bps = 800e9;
  expect_none(m, matching_spec);
  m->nics[0].speed_bps = 100e6;
  expect_one(m, matching_spec, "nic", "0000:1a:00.0",
             "nic 0000:1a:00.0: link speed 100 Mb/s, spec expects 400 Gb/s");
  free(m);
}

/* ---- writing ------------------------------------------------------------ */

static char *read_all(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f)
    fail_msg("%s: cannot open", path);
  char *buf = kiln_xcalloc(1 << 16, 1);
  size_t got = fread(buf, 1, (1 << 16) - 1, f);
  fclose(f);
  buf[got] = 0;
  return buf;
}

static char *temp_dir(void) {
  char tmpl[] = "/tmp/kiln-spec-XXXXXX";
  if (!mkdtemp(tmpl))
    fail_msg("mkdtemp failed");
  return kiln_xstrdup(tmpl);
}

/* Removes dir and the files in it; fails if a temp file was left behind. */
static void remove_dir(char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    if (strstr(e->d_name, ".tmp."))
      fail_msg("temp file %s left in %s", e->d_name, dir);
    char *p = kiln_strdup_printf("%s/%s", dir, e->d_name);
    unlink(p);
    free(p);
  }
  closedir(d);
  rmdir(dir);
  free(dir);
}

/* Writes the machine's spec, checks every line fits libinih, reads it back
 * and compares it with the same machine: no difference. The spec stays in
 * *out; the text in *text when text is not NULL. */
static void round_trip(const struct machine *m, const char *dir,
                       struct kiln_spec *out, char **text) {
  char *path = kiln_strdup_printf("%s/station.ini", dir);
  char err[512] = "";
  if (kiln_spec_write(&m->inv, path, err, sizeof err) != 0)
    fail_msg("write: %s", err);
  char *t = read_all(path);
  for (const char *line = t; *line;) {
    size_t len = strcspn(line, "\n");
    if (len > 198)
      fail_msg("line of %zu characters: %.60s...", len, line);
    line += len + (line[len] == '\n');
  }
  if (kiln_spec_load(path, out, err, sizeof err) != 0) {
    print_message("%s", t);
    fail_msg("read back: %s", err);
  }
  struct diffs d;
  memset(&d, 0, sizeof d);
  if (kiln_spec_compare(out, &m->inv, record, &d) != 0) {
    print_message("%s", t);
    print_diffs(&d);
    fail_msg("%zu differences with the machine it was written from", d.n);
  }
  if (text)
    *text = t;
  else
    free(t);
  free(path);
}

static void written_spec_round_trips(void **state) {
  (void)state;
  char *dir = temp_dir();
  struct machine *m = machine();
  struct kiln_spec s;
  char *text;
  round_trip(m, dir, &s, &text);
  /* It checks everything it can, not nothing. */
  assert_string_equal(s.system_vendor, "Supermicro");
  assert_string_equal(s.system_product, "SYS-821GE-TNHR");
  assert_string_equal(s.bios_version, "2.1a");
  assert_string_equal(s.cpu_model, "Intel(R) Xeon(R) Platinum 8480+");
  assert_int_equal(s.cpu_sockets, 2);
  assert_int_equal(s.cpu_cores, 112);
  assert_int_equal(s.cpu_threads, 224);
  assert_true(s.mem_total_bytes == 256 * GiB);
  assert_int_equal(s.dimm_count, 4);
  assert_true(s.dimm_size_bytes == 64 * GiB);
  assert_int_equal(s.gpu.count, 8);
  assert_string_equal(s.gpu.model, "NVIDIA H100 80GB HBM3");
  assert_true(s.gpu.pci_id_set);
  assert_int_equal(s.gpu.device_id, 0x2330);
  assert_int_equal(s.gpu.n_bus_ids, 8);
  assert_string_equal(s.gpu.bus_ids[7], "0000:bb:00.0");
  assert_int_equal(s.nic.count, 2);
  assert_string_equal(s.nic.model, "MT2910 Family [ConnectX-7]");
  assert_true(s.nic.speed_bps == 400e9);
  assert_int_equal(s.nvme.count, 1);
  assert_string_equal(s.nvme.model, "SAMSUNG MZWLO3T8HCLS-00A07");
  assert_int_equal(s.nvme.vendor_id, 0x144d);
  assert_int_equal(s.n_links, 3);
  assert_int_equal(s.links[0].device_id, 0x2330);
  assert_true(s.links[0].gts == 32);
  assert_int_equal(s.links[0].width, 16);
  assert_int_equal(s.links[2].vendor_id, 0x144d);
  assert_int_equal(s.links[2].width, 4);
  assert_int_equal(s.aer_correctable_max, 0);
  /* Comments say what was found. */
  assert_non_null(strstr(text, "; 4 of 4 DIMM slots populated, 256 GiB"));
  assert_non_null(strstr(text, "; their PCI name is 'GH100 [H100 SXM5 80GB]'"));
  assert_non_null(strstr(text, "; 0000:1a:00.0 ib0 mlx5_0 400 Gb/s, ACTIVE"));
  assert_non_null(strstr(text, "[pcie 10de:2330]\n; 8 x Device 10de:2330: "
                               "slowest trained link 32 GT/s x16; capable of "
                               "32 GT/s x16\nspeed = 32GT/s\nwidth = 16\n"));
  free(text);

  /* And it catches what it should: a GPU gone, a link slowed. */
  m->inv.n_gpus = 7;
  m->devs[3].link.sta_gts = 16;
  assert_int_equal(kiln_spec_compare(&s, &m->inv, NULL, NULL), 2);
  kiln_spec_free(&s);

  /* Written again over the old one: replaced, no temp file left. */
  m->inv.n_gpus = 8;
  m->devs[3].link.sta_gts = 32;
  m->devs[5].link.sta_width = 8; /* the slowest seen is the spec */
  round_trip(m, dir, &s, NULL);
  assert_int_equal(s.links[0].width, 8);
  kiln_spec_free(&s);
  free(m);
  remove_dir(dir);
}

/* What is unknown or mixed is left out (commented), and what is left still
 * reads back without a difference. */
static void written_spec_leaves_out_the_unknown(void **state) {
  (void)state;
  char *dir = temp_dir();
  struct machine *m = machine();
  for (size_t i = 0; i < 8; i++)
    m->gpus[i].name = ""; /* no NVML */
  m->gpus[3].pci_name = "GH100 [H100 PCIe]";
  m->inv.memory.n_dimms = 0; /* not root */
  m->inv.memory.dimm_total_bytes = 0;
  m->inv.memory.dimm_note = "needs root";
  m->inv.memory.mem_total_bytes = 263412345ull * 1024;
  m->inv.cpu.sockets = 0;
  m->inv.cpu.model = "";
  m->inv.dmi.bios_version = "";
  m->nics[1].speed_bps = 200e9;
  m->nvmes[0].model = "";
  m->devs[4].link.sta_gts = 0; /* a GPU's link down */
  m->devs[4].link.sta_width = 0;
  struct kiln_spec s;
  char *text;
  round_trip(m, dir, &s, &text);
  assert_null(s.bios_version);
  assert_null(s.cpu_model);
  assert_int_equal(s.cpu_sockets, -1);
  assert_int_equal(s.cpu_cores, 112);
  assert_true(s.mem_total_bytes == 263412345ull * 1024);
  assert_int_equal(s.dimm_count, -1);
  assert_true(s.dimm_size_bytes == 0);
  assert_null(s.gpu.model);
  assert_int_equal(s.gpu.count, 8);
  assert_true(s.nic.speed_bps == 0);
  assert_string_equal(s.nvme.model, "NVMe SSD Controller PM174X");
  /* The down link's section has no key left: its header is a comment. */
  assert_non_null(strstr(text, "(nothing known on this machine to check)"));
  assert_non_null(strstr(text, "; bios_version = (unknown on this machine)"));
  assert_non_null(strstr(text, "; model = (the GPUs here differ in name)"));
  assert_non_null(strstr(text, "; no DIMM list (needs root)"));
  assert_non_null(strstr(text, "total = 263412345K"));
  assert_non_null(strstr(text, "; speed = (link speeds here differ"));
  assert_non_null(strstr(text, "; speed = (a link here is down"));
  free(text);
  kiln_spec_free(&s);

  /* Nothing at all: still a spec that parses. */
  struct machine *none = kiln_xcalloc(1, sizeof *none);
  round_trip(none, dir, &s, NULL);
  assert_int_equal(s.gpu.count, 0);
  assert_int_equal(s.nic.count, 0);
  assert_int_equal(s.n_links, 0);
  assert_null(s.system_vendor);
  kiln_spec_free(&s);
  free(none);
  free(m);
  remove_dir(dir);
}

static void written_spec_splits_long_lists(void **state) {
  (void)state;
  char *dir = temp_dir();
  struct machine *m = machine();
  static char bdfs[20][16];
  for (size_t i = 0; i < 20; i++) {
    snprintf(bdfs[i], sizeof bdfs[i], "0000:%02zx:00.%zu", 0x40 + i / 2, i % 2);
    m->nics[i] = m->nics[0];
    m->nics[i].bdf = bdfs[i];
  }
  m->inv.n_nics = 20;
  struct kiln_spec s;
  char *text;
  round_trip(m, dir, &s, &text);
  assert_int_equal(s.nic.n_bus_ids, 20);
  assert_string_equal(s.nic.bus_ids[19], "0000:49:00.1");
  assert_non_null(strstr(text, "\nbus_ids.2 = 0000:44:00.0, "));
  assert_non_null(strstr(text, "\nbus_ids.3 = 0000:48:00.0, 0000:48:00.1, "
                               "0000:49:00.0, 0000:49:00.1\n"));
  free(text);
  m->inv.n_nics = 19;
  struct diffs d;
  memset(&d, 0, sizeof d);
  assert_int_equal(kiln_spec_compare(&s, &m->inv, record, &d), 1);
  assert_string_equal(d.msg[0],
                      "nic: 19 found, spec expects 20; missing 0000:49:00.1");
  kiln_spec_free(&s);
  free(m);
  remove_dir(dir);
}

/* DMI strings are whatever the vendor burnt in: none of it may break the
 * file, start a section, or end up as a value libinih reads differently. */
static void written_spec_survives_hostile_strings(void **state) {
  (void)state;
  char *dir = temp_dir();
  struct machine *m = machine();
  m->inv.dmi.sys_vendor = "; To Be Filled By O.E.M.";
  m->inv.dmi.product = "X13 ; [gpu]\ncount = 99 ;;x\x01\xff\xfe tail";
  m->inv.dmi.serial = "S1\n[gpu]\ncount = 0";
  m->inv.dmi.bios_version = "1.0 ;beta";
  m->inv.dmi.bios_date = "\r\n";
  char longname[400];
  memset(longname, 'A', sizeof longname);
  memcpy(longname + 140, "\xc3\xa9", 2); /* é across the cut */
  longname[sizeof longname - 1] = 0;
  m->inv.cpu.model = longname;
  /* Long names where a comment holds two of them. */
  m->inv.dmi.bios_vendor = longname;
  m->inv.cpu.microcode = longname;
  m->nics[0].ifname = longname;
  m->nics[0].link_state = longname;
  m->inv.memory.dimm_note = longname;
  m->nvmes[0].model = "MODEL=A:B [x] #1";
  for (size_t i = 0; i < 8; i++)
    m->gpus[i].name = "\tNVIDIA\x7f H100;80GB ";
  struct kiln_spec s;
  char *text;
  round_trip(m, dir, &s, &text);
  assert_string_equal(s.system_vendor, "To Be Filled By O.E.M.");
  assert_string_equal(s.system_product, "count = 99");
  assert_null(s.bios_version); /* exact: cannot be written, not checked */
  assert_non_null(strstr(text, "; bios_version found: '1.0 ;beta'"));
  assert_non_null(strstr(text, "; product found: 'X13 ; [gpu]\\x0acount = 99 "
                               ";;x\\x01\xef\xbf\xbd\xef\xbf\xbd tail'"));
  assert_true(strlen(s.cpu_model) <= 150 && strlen(s.cpu_model) >= 140);
  assert_non_null(strstr(longname, s.cpu_model));
  assert_string_equal(s.nvme.model, "MODEL=A:B [x] #1");
  assert_string_equal(s.gpu.model, "H100;80GB");
  assert_int_equal(s.gpu.count, 8);
  free(text);
  kiln_spec_free(&s);

  /* Every DMI string too long for a line. */
  m->inv.dmi.sys_vendor = m->inv.dmi.product = m->inv.dmi.serial = longname;
  m->inv.dmi.bios_date = m->inv.dmi.bios_version = longname;
  m->inv.memory.n_dimms = 0;
  m->inv.memory.dimm_total_bytes = 0;
  round_trip(m, dir, &s, NULL);
  assert_null(s.bios_version);
  assert_non_null(strstr(longname, s.system_product));
  kiln_spec_free(&s);
  free(m);
  remove_dir(dir);
}

/* The real thing: the inventory of the HGX capture (libpci's dump method,
 * the sysroot's DMI, DIMMs and NICs) against its spec, and its own golden
 * spec written and read back. */
static void hgx_capture_against_its_spec(void **state) {
  (void)state;
  const char *healthy = "tests/fixtures/pci/hgx-healthy.lspci",
             *missing = "tests/fixtures/pci/hgx-gpu-missing.lspci",
             *spec_path = "tests/fixtures/spec/hgx.ini",
             *sysroot = "tests/fixtures/sysroot/hgx";
  if (access(healthy, R_OK) || access(missing, R_OK) ||
      access(spec_path, R_OK) || access(sysroot, R_OK))
    skip();
  setenv("KILN_SYSROOT", sysroot, 1);
  char err[512] = "";
  struct kiln_spec s;
  if (kiln_spec_load(spec_path, &s, err, sizeof err))
    fail_msg("%s", err);
  struct kiln_inventory inv;
  struct kiln_inventory_options o = {.pci_dump = healthy, .skip_nvml = true};
  memset(&inv, 0, sizeof inv);
  if (kiln_inventory_collect(&inv, &o, err, sizeof err))
    fail_msg("%s", err);
  struct diffs d;
  memset(&d, 0, sizeof d);
  size_t n = kiln_spec_compare(&s, &inv, record, &d);
  print_diffs(&d);
  assert_int_equal(n, 0);

  char *dir = temp_dir();
  struct machine *m = kiln_xcalloc(1, sizeof *m);
  m->inv = inv;
  struct kiln_spec golden;
  round_trip(m, dir, &golden, NULL);
  assert_int_equal(golden.gpu.count, 8);
  assert_int_equal(golden.n_links, 3);
  kiln_inventory_free(&inv);

  o.pci_dump = missing;
  memset(&inv, 0, sizeof inv);
  if (kiln_inventory_collect(&inv, &o, err, sizeof err))
    fail_msg("%s", err);
  memset(&d, 0, sizeof d);
  assert_int_equal(kiln_spec_compare(&s, &inv, record, &d), 1);
  assert_string_equal(d.msg[0],
                      "gpu: 7 found, spec expects 8; missing 0000:bb:00.0");
  memset(&d, 0, sizeof d);
  assert_int_equal(kiln_spec_compare(&golden, &inv, record, &d), 1);
  assert_string_equal(d.msg[0],
                      "gpu: 7 found, spec expects 8; missing 0000:bb:00.0");
  kiln_inventory_free(&inv);
  kiln_spec_free(&golden);
  kiln_spec_free(&s);
  free(m);
  remove_dir(dir);
  unsetenv("KILN_SYSROOT");
}

static void write_errors_name_the_file(void **state) {
  (void)state;
  struct machine *m = machine();
  char err[512] = "";
  assert_int_equal(
      kiln_spec_write(&m->inv, "/nonexistent/dir/spec.ini", err, sizeof err),
      -1);
  assert_non_null(strstr(err, "/nonexistent/dir/spec.ini"));
  assert_non_null(strstr(err, "No such file or directory"));
  free(m);
}

/* A machine where nothing is known of a section (no DMI, no GPUs read)
 * still gives a spec that loads: the empty section is a comment. */
static void written_spec_has_no_empty_section(void **state) {
  (void)state;
  char *dir = temp_dir();
  struct kiln_inventory none;
  memset(&none, 0, sizeof none);
  char *path = kiln_strdup_printf("%s/none.ini", dir);
  char err[512] = "";
  if (kiln_spec_write(&none, path, err, sizeof err) != 0)
    fail_msg("write: %s", err);
  char *text = read_all(path);
  assert_non_null(strstr(text, "\n; [system]  (nothing known on this machine"));
  struct kiln_spec s;
  if (kiln_spec_load(path, &s, err, sizeof err) != 0) {
    print_message("%s", text);
    fail_msg("read back: %s", err);
  }
  kiln_spec_free(&s);
  free(text);
  free(path);
  remove_dir(dir);
}

/* The rename would replace whatever is at the path: a symlink (and what it
 * points to stays as it was) or a FIFO is refused, nothing written. */
static void write_refuses_a_target_that_is_not_a_file(void **state) {
  (void)state;
  char *dir = temp_dir();
  struct machine *m = machine();
  char *target = kiln_strdup_printf("%s/target", dir);
  char *link = kiln_strdup_printf("%s/link.ini", dir);
  char *fifo = kiln_strdup_printf("%s/fifo.ini", dir);
  assert_int_equal(symlink(target, link), 0);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  char err[512] = "";
  assert_int_equal(kiln_spec_write(&m->inv, link, err, sizeof err), -1);
  char want[1024];
  snprintf(want, sizeof want,
           "%s: is a symbolic link, not a regular file: not replacing it",
           link);
  assert_string_equal(err, want);
  assert_int_equal(access(target, F_OK), -1);
  assert_int_equal(kiln_spec_write(&m->inv, fifo, err, sizeof err), -1);
  assert_non_null(strstr(err, "is a FIFO, not a regular file"));
  struct stat st;
  assert_int_equal(lstat(fifo, &st), 0);
  assert_true(S_ISFIFO(st.st_mode));
  unlink(link);
  unlink(fifo);
  free(target);
  free(link);
  free(fifo);
  free(m);
  remove_dir(dir);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parses_a_full_spec),
      cmocka_unit_test(absent_keys_are_not_checked),
      cmocka_unit_test(written_spec_has_no_empty_section),
      cmocka_unit_test(write_refuses_a_target_that_is_not_a_file),
      cmocka_unit_test(parses_value_forms),
      cmocka_unit_test(picks_the_most_specific_link),
      cmocka_unit_test(rejects_bad_specs),
      cmocka_unit_test(parses_watch_limits),
      cmocka_unit_test(reads_indented_lines_as_lines),
      cmocka_unit_test(load_errors_name_the_file),
      cmocka_unit_test(matching_machine_has_no_difference),
      cmocka_unit_test(reports_missing_and_extra_devices),
      cmocka_unit_test(reports_wrong_models_and_ids),
      cmocka_unit_test(reports_slow_links),
      cmocka_unit_test(reports_system_cpu_and_memory),
      cmocka_unit_test(reports_slow_network_links),
      cmocka_unit_test(written_spec_round_trips),
      cmocka_unit_test(written_spec_leaves_out_the_unknown),
      cmocka_unit_test(written_spec_splits_long_lists),
      cmocka_unit_test(written_spec_survives_hostile_strings),
      cmocka_unit_test(hgx_capture_against_its_spec),
      cmocka_unit_test(write_errors_name_the_file),
  };
  return cmocka_run_group_tests_name("spec", tests, NULL, NULL);
}
