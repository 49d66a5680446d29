/* pcie.bw and gpu.p2p without a GPU: the PCIe link rate from sysfs's LnkSta
 * strings (every line code, "Unknown", a missing file), the link path from a
 * GPU up through a PCIe switch to its root port and its slowest link, the
 * GPU's NUMA node and that node's CPUs (a fixture tree under $KILN_SYSROOT),
 * medians, shares and the floor, the copies' data pattern, the P2P matrix
 * table; the NVLink count and error-counter deltas against the fake NVML;
 * and both modules' SKIPs in this CUDA=0 build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../stress/gpu_xfer.h"
#include "../../stress/gpu_xfer_math.h"
#include "fake_nvml.h"
#include "fsutil.h"
#include "harness.h"
#include "kiln/gpu_enum.h"
#include "kiln/module.h"
#include "kiln/nvml.h"
#include "kiln/result.h"

static struct fake_nvml fake_driver;

/* ---- fixture helpers ---- */

static void mkdirs(const char *path) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(buf, 0755);
      *p = '/';
    }
  mkdir(buf, 0755);
}

/* A device directory under root with its link files (NULL: left out). */
static void make_dev(const char *root, const char *rel, const char *speed,
                     const char *width, const char *numa) {
  char dir[1024], path[1100];
  snprintf(dir, sizeof dir, "%s/%s", root, rel);
  mkdirs(dir);
  if (speed) {
    snprintf(path, sizeof path, "%s/current_link_speed", dir);
    fs_write_file(path, speed);
  }
  if (width) {
    snprintf(path, sizeof path, "%s/current_link_width", dir);
    fs_write_file(path, width);
  }
  if (numa) {
    snprintf(path, sizeof path, "%s/numa_node", dir);
    fs_write_file(path, numa);
  }
}

static void link_bus(const char *root, const char *bdf, const char *target) {
  char dir[1024], path[1100], to[1024];
  snprintf(dir, sizeof dir, "%s/sys/bus/pci/devices", root);
  mkdirs(dir);
  snprintf(path, sizeof path, "%s/%s", dir, bdf);
  snprintf(to, sizeof to, "../../../devices/%s", target);
  assert_int_equal(symlink(to, path), 0);
}

#define GPU_PATH                                                               \
  "pci0000:17/0000:17:01.0/0000:18:00.0/0000:19:00.0/0000:1b:00.0"

/* A sysroot: GPU 0000:1b:00.0 (Gen5 x16, node 1) behind a switch whose
 * uplink trained at Gen4 x16; 0000:3a:00.0 reporting "Unknown"; 0000:5e:00.0
 * without link files; node 1's CPUs. */
static char sysroot[300];

static int make_sysroot(void **state) {
  snprintf(sysroot, sizeof sysroot, "%s/root", fake_driver.dir);
  char devs[512];
  snprintf(devs, sizeof devs, "%s/sys/devices", sysroot);
  make_dev(devs, "pci0000:17/0000:17:01.0", "16.0 GT/s PCIe\n", "16\n", "1\n");
  make_dev(devs, "pci0000:17/0000:17:01.0/0000:18:00.0", "16.0 GT/s PCIe\n",
           "16\n", "1\n");
  make_dev(devs, "pci0000:17/0000:17:01.0/0000:18:00.0/0000:19:00.0",
           "32.0 GT/s PCIe\n", "16\n", "1\n");
  make_dev(devs, GPU_PATH, "32.0 GT/s PCIe\n", "16\n", "1\n");
  make_dev(devs, "pci0000:38/0000:38:01.0/0000:3a:00.0", "Unknown\n", "0\n",
           "-1\n");
  make_dev(devs, "pci0000:5d/0000:5e:00.0", NULL, NULL, NULL);
  link_bus(sysroot, "0000:1b:00.0", GPU_PATH);
  link_bus(sysroot, "0000:3a:00.0", "pci0000:38/0000:38:01.0/0000:3a:00.0");
  link_bus(sysroot, "0000:5e:00.0", "pci0000:5d/0000:5e:00.0");
  char node[512], path[600];
  snprintf(node, sizeof node, "%s/sys/devices/system/node/node1", sysroot);
  mkdirs(node);
  snprintf(path, sizeof path, "%s/cpulist", node);
  fs_write_file(path, "8-15,24-31\n");
  setenv("KILN_SYSROOT", sysroot, 1);
  return 0;
}

static int drop_sysroot(void **state) {
  unsetenv("KILN_SYSROOT");
  fs_rm_rf(sysroot);
  return 0;
}

static int setup_all(void **state) {
  return fake_nvml_setup(&fake_driver, "xfer", true);
}

static int teardown_all(void **state) {
  return fake_nvml_teardown(&fake_driver);
}

/* ---- link rate ---- */

static void test_parse_speed(void **state) {
  double g = 0;
  assert_true(kiln_pcie_parse_speed("2.5 GT/s PCIe", &g));
  assert_true(g == 2.5);
  assert_true(kiln_pcie_parse_speed("5.0 GT/s PCIe\n", &g));
  assert_true(g == 5.0);
  assert_true(kiln_pcie_parse_speed("8.0 GT/s PCIe", &g));
  assert_true(g == 8.0);
  assert_true(kiln_pcie_parse_speed("16.0 GT/s PCIe", &g));
  assert_true(g == 16.0);
  assert_true(kiln_pcie_parse_speed("32.0 GT/s PCIe", &g));
  assert_true(g == 32.0);
  assert_true(kiln_pcie_parse_speed("64.0 GT/s PCIe", &g));
  assert_true(g == 64.0);
  /* Kernels before 4.19 wrote no " PCIe". */
  assert_true(kiln_pcie_parse_speed("8 GT/s", &g));
  assert_true(g == 8.0);
  g = -1;
  assert_false(kiln_pcie_parse_speed("Unknown", &g));
  assert_false(kiln_pcie_parse_speed("Unknown speed", &g));
  assert_false(kiln_pcie_parse_speed("", &g));
  assert_false(kiln_pcie_parse_speed(NULL, &g));
  assert_false(kiln_pcie_parse_speed("GT/s", &g));
  assert_false(kiln_pcie_parse_speed("0 GT/s PCIe", &g));
  assert_false(kiln_pcie_parse_speed("32.0 MT/s", &g));
  assert_false(kiln_pcie_parse_speed("32.0", &g));
  assert_true(g == -1); /* untouched on failure */
}

static void test_parse_width(void **state) {
  int w = 0;
  assert_true(kiln_pcie_parse_width("16", &w));
  assert_int_equal(w, 16);
  assert_true(kiln_pcie_parse_width("1\n", &w));
  assert_int_equal(w, 1);
  assert_true(kiln_pcie_parse_width("x8", &w));
  assert_int_equal(w, 8);
  w = -1;
  assert_false(kiln_pcie_parse_width("0", &w));
  assert_false(kiln_pcie_parse_width("", &w));
  assert_false(kiln_pcie_parse_width("Unknown", &w));
  assert_false(kiln_pcie_parse_width("16x", &w));
  assert_false(kiln_pcie_parse_width("64", &w));
  assert_false(kiln_pcie_parse_width("-4", &w));
  assert_int_equal(w, -1);
}

static void test_link_rate(void **state) {
  int num = 0, den = 0;
  const char *name = NULL;
  assert_true(kiln_pcie_encoding(2.5, &num, &den, &name));
  assert_int_equal(num, 8);
  assert_int_equal(den, 10);
  assert_string_equal(name, "8b/10b");
  assert_true(kiln_pcie_encoding(5.0, &num, &den, &name));
  assert_string_equal(name, "8b/10b");
  assert_true(kiln_pcie_encoding(8.0, &num, &den, &name));
  assert_string_equal(name, "128b/130b");
  assert_true(kiln_pcie_encoding(32.0, &num, &den, &name));
  assert_int_equal(num, 128);
  assert_int_equal(den, 130);
  assert_true(kiln_pcie_encoding(64.0, &num, &den, &name));
  assert_int_equal(num, 242);
  assert_int_equal(den, 256);
  assert_string_equal(name, "FLIT 242/256");
  assert_false(kiln_pcie_encoding(0, &num, &den, &name));

  /* GB/s per direction: GT/s x lanes x code / 8. */
  assert_float_equal(kiln_pcie_link_gbps(2.5, 1), 0.25, 1e-12);
  assert_float_equal(kiln_pcie_link_gbps(2.5, 16), 4.0, 1e-12);
  assert_float_equal(kiln_pcie_link_gbps(5.0, 16), 8.0, 1e-12);
  assert_float_equal(kiln_pcie_link_gbps(8.0, 16), 16.0 * 128 / 130, 1e-12);
  assert_float_equal(kiln_pcie_link_gbps(16.0, 16), 31.50769, 1e-4);
  assert_float_equal(kiln_pcie_link_gbps(32.0, 16), 63.01538, 1e-4);
  assert_float_equal(kiln_pcie_link_gbps(32.0, 8), 31.50769, 1e-4);
  assert_float_equal(kiln_pcie_link_gbps(64.0, 16), 121.0, 1e-12);
  assert_float_equal(kiln_pcie_link_gbps(32.0, 0), 0, 0);
  assert_float_equal(kiln_pcie_link_gbps(0, 16), 0, 0);

  char buf[32];
  kiln_pcie_link_name(32.0, 16, buf, sizeof buf);
  assert_string_equal(buf, "32 GT/s x16");
  kiln_pcie_link_name(2.5, 1, buf, sizeof buf);
  assert_string_equal(buf, "2.5 GT/s x1");
}

/* ---- sysfs ---- */

static void test_read_link(void **state) {
  struct kiln_xfer_link l;
  assert_true(kiln_xfer_read_link("0000:1b:00.0", &l));
  assert_true(l.ok);
  assert_string_equal(l.bdf, "0000:1b:00.0");
  assert_true(l.gts == 32.0);
  assert_int_equal(l.lanes, 16);
  assert_float_equal(l.gbps, 63.01538, 1e-4);

  assert_false(kiln_xfer_read_link("0000:3a:00.0", &l));
  assert_false(l.ok);
  assert_float_equal(l.gbps, 0, 0);
  assert_string_equal(l.why, "current_link_speed: Unknown");

  assert_false(kiln_xfer_read_link("0000:5e:00.0", &l));
  assert_string_equal(l.why, "current_link_speed: No such file or directory");

  assert_false(kiln_xfer_read_link("0000:99:00.0", &l));
  assert_non_null(strstr(l.why, "No such file"));
}

static void test_path_links(void **state) {
  struct kiln_xfer_link l[8];
  size_t n = kiln_xfer_path_links("0000:1b:00.0", l, 8);
  /* The GPU, the switch's downstream and upstream ports, the root port. */
  assert_int_equal(n, 4);
  assert_string_equal(l[0].bdf, "0000:1b:00.0");
  assert_string_equal(l[1].bdf, "0000:19:00.0");
  assert_string_equal(l[2].bdf, "0000:18:00.0");
  assert_string_equal(l[3].bdf, "0000:17:01.0");
  for (size_t i = 0; i < n; i++)
    assert_true(l[i].ok);
  assert_true(l[1].gts == 32.0);
  assert_true(l[2].gts == 16.0);
  /* The Gen4 uplink limits the GPU: the first of the two Gen4 links. */
  assert_int_equal(kiln_xfer_slowest_link(l, n), 2);
  /* Room for two: the nearest two. */
  assert_int_equal(kiln_xfer_path_links("0000:1b:00.0", l, 2), 2);
  assert_int_equal(kiln_xfer_slowest_link(l, 2), 0);

  /* A link that reads "Unknown" stays in the path, not ok; the root port
   * above it has no link files and is left out. */
  n = kiln_xfer_path_links("0000:3a:00.0", l, 8);
  assert_int_equal(n, 1);
  assert_false(l[0].ok);
  assert_int_equal(kiln_xfer_slowest_link(l, n), -1);

  assert_int_equal(kiln_xfer_path_links("0000:99:00.0", l, 8), 0);
  assert_int_equal(kiln_xfer_slowest_link(l, 0), -1);
}

static void test_numa(void **state) {
  assert_int_equal(kiln_xfer_numa_node("0000:1b:00.0"), 1);
  assert_int_equal(kiln_xfer_numa_node("0000:3a:00.0"), -1); /* "-1" */
  assert_int_equal(kiln_xfer_numa_node("0000:5e:00.0"), -1); /* missing */
  int cpus[64];
  int n = kiln_xfer_node_cpus(1, cpus, 64);
  assert_int_equal(n, 16);
  assert_int_equal(cpus[0], 8);
  assert_int_equal(cpus[7], 15);
  assert_int_equal(cpus[8], 24);
  assert_int_equal(cpus[15], 31);
  assert_int_equal(kiln_xfer_node_cpus(0, cpus, 64), -1); /* no node0 here */
  assert_int_equal(kiln_xfer_node_cpus(-1, cpus, 64), -1);
}

static void test_cpulist(void **state) {
  int c[8];
  assert_int_equal(kiln_cpulist_parse("0-3,8,10-11\n", c, 8), 7);
  int want[] = {0, 1, 2, 3, 8, 10, 11};
  for (int i = 0; i < 7; i++)
    assert_int_equal(c[i], want[i]);
  assert_int_equal(kiln_cpulist_parse("5", c, 8), 1);
  assert_int_equal(c[0], 5);
  assert_int_equal(kiln_cpulist_parse("", c, 8), 0);
  assert_int_equal(kiln_cpulist_parse("\n", c, 8), 0);
  /* More than max: all are counted, max are written. */
  assert_int_equal(kiln_cpulist_parse("0-99", c, 8), 100);
  assert_int_equal(c[7], 7);
  assert_int_equal(kiln_cpulist_parse("1-", c, 8), -1);
  assert_int_equal(kiln_cpulist_parse("3-1", c, 8), -1);
  assert_int_equal(kiln_cpulist_parse("0,,1", c, 8), -1);
  assert_int_equal(kiln_cpulist_parse("0,", c, 8), -1);
  assert_int_equal(kiln_cpulist_parse("a", c, 8), -1);
  assert_int_equal(kiln_cpulist_parse("0-3:2", c, 8), -1);
  assert_int_equal(kiln_cpulist_parse(NULL, c, 8), -1);
}

static void test_pages_node(void **state) {
  size_t bytes = 1 << 20;
  char *p = malloc(bytes);
  assert_non_null(p);
  memset(p, 1, bytes);
  int node = kiln_xfer_pages_node(p, bytes);
  /* -1 where the kernel will not say (no NUMA, a seccomp filter);
   * otherwise a node this machine has. */
  if (node >= 0) {
    char path[128];
    snprintf(path, sizeof path, "/sys/devices/system/node/node%d", node);
    assert_int_equal(access(path, F_OK), 0);
  } else {
    assert_int_equal(node, -1);
  }
  assert_int_equal(kiln_xfer_pages_node(NULL, bytes), -1);
  assert_int_equal(kiln_xfer_pages_node(p, 0), -1);
  free(p);
}

/* ---- statistics ---- */

static void test_median_share(void **state) {
  double odd[] = {5, 1, 3};
  assert_float_equal(kiln_xfer_median(odd, 3), 3, 0);
  assert_float_equal(odd[0], 1, 0); /* sorted */
  assert_float_equal(odd[2], 5, 0);
  double even[] = {4, 1, 3, 2};
  assert_float_equal(kiln_xfer_median(even, 4), 2.5, 0);
  double one[] = {7};
  assert_float_equal(kiln_xfer_median(one, 1), 7, 0);
  assert_float_equal(kiln_xfer_median(NULL, 0), 0, 0);

  double link = kiln_pcie_link_gbps(32.0, 16);
  assert_float_equal(kiln_xfer_link_share(50.0, link), 50.0 / link, 1e-12);
  assert_float_equal(kiln_xfer_link_share(50.0, 0), 0, 0);
  /* 80% of 63.02 GB/s is 50.41. */
  assert_true(kiln_xfer_below_share(50.0, link, 0.8));
  assert_false(kiln_xfer_below_share(50.5, link, 0.8));
  assert_false(kiln_xfer_below_share(0.8 * link, link, 0.8));
  /* An unknown link judges nothing. */
  assert_false(kiln_xfer_below_share(0.1, 0, 0.8));
}

static void test_parse_bool(void **state) {
  bool b = false;
  assert_true(kiln_xfer_parse_bool("yes", &b));
  assert_true(b);
  assert_true(kiln_xfer_parse_bool("No", &b));
  assert_false(b);
  assert_true(kiln_xfer_parse_bool("1", &b));
  assert_true(b);
  assert_true(kiln_xfer_parse_bool("off", &b));
  assert_false(b);
  assert_false(kiln_xfer_parse_bool("maybe", &b));
  assert_false(kiln_xfer_parse_bool("", &b));
  assert_false(kiln_xfer_parse_bool(NULL, &b));
}

/* ---- data pattern ---- */

static void test_pattern(void **state) {
  size_t bytes = 1 << 16;
  uint64_t *w = malloc(bytes);
  assert_non_null(w);
  kiln_xfer_pattern_fill(w, bytes, 7);
  assert_true(w[0] == kiln_xfer_pattern_word(7, 0));
  assert_true(w[100] == kiln_xfer_pattern_word(7, 100));
  assert_true(w[0] != w[1]);
  assert_true(kiln_xfer_pattern_word(7, 5) != kiln_xfer_pattern_word(8, 5));
  uint64_t idx = 0, want = 0, got = 0;
  assert_int_equal(kiln_xfer_pattern_check(w, bytes, 7, &idx, &want, &got), 0);
  /* One flipped bit. */
  w[1000] ^= 1ULL << 17;
  assert_int_equal(kiln_xfer_pattern_check(w, bytes, 7, &idx, &want, &got), 1);
  assert_int_equal(idx, 1000);
  assert_true((want ^ got) == 1ULL << 17);
  assert_true(want == kiln_xfer_pattern_word(7, 1000));
  /* A stale buffer: every word wrong, the first reported. */
  memset(w, 0, bytes);
  assert_int_equal(kiln_xfer_pattern_check(w, bytes, 7, &idx, &want, &got),
                   bytes / 8);
  assert_int_equal(idx, 0);
  assert_true(got == 0);
  /* Another seed is other data. */
  kiln_xfer_pattern_fill(w, bytes, 8);
  assert_true(kiln_xfer_pattern_check(w, bytes, 7, NULL, NULL, NULL) >
              bytes / 8 - 4);
  free(w);
}

/* ---- P2P matrix ---- */

static void test_matrix(void **state) {
  const char ids[3][16] = {"0000:1b:00.0", "0000:3a:00.0", "0000:5e:00.0"};
  double v[9] = {-1, 350.25, 20.0, 349.9, -1, -1, 19.5, 21.04, -1};
  bool staged[9] = {false, false, true, false, false, false, true, true, false};
  char buf[1024];
  size_t len = kiln_p2p_matrix_format(3, ids, v, staged, 1, buf, sizeof buf);
  const char *want = "src \\ dst                0         1         2\n"
                     "0  0000:1b:00.0          -     350.2      20.0*\n"
                     "1  0000:3a:00.0      349.9         -         ?\n"
                     "2  0000:5e:00.0       19.5*     21.0*        -";
  assert_string_equal(buf, want);
  assert_int_equal(len, strlen(want));
  /* Too small: truncated, but the length needed is returned. */
  char small[20];
  assert_int_equal(
      kiln_p2p_matrix_format(3, ids, v, staged, 1, small, sizeof small), len);
  assert_int_equal(strlen(small), sizeof small - 1);
  assert_int_equal(kiln_p2p_matrix_format(3, ids, v, staged, 1, NULL, 0), len);
  /* No staged array: no marks. */
  kiln_p2p_matrix_format(3, ids, v, NULL, 2, buf, sizeof buf);
  assert_null(strchr(buf, '*'));
  assert_non_null(strstr(buf, "350.25"));
}

/* ---- NVLink through the fake NVML ---- */

static char crc_file[300];

static int nvml_env(void **state) {
  setenv("KILN_NVML_LIB", fake_driver.lib, 1);
  unsetenv("FAKE_NVLINKS");
  unsetenv("FAKE_INIT_RC");
  unsetenv("FAKE_NVLINK_REPLAY_FILE");
  unsetenv("FAKE_NVLINK_RECOVERY_FILE");
  snprintf(crc_file, sizeof crc_file, "%s/crc", fake_driver.dir);
  fs_write_file(crc_file, "5\n");
  setenv("FAKE_NVLINK_CRC_FILE", crc_file, 1);
  return 0;
}

static void test_nvlink_snapshot(void **state) {
  setenv("FAKE_NVLINKS", "12", 1);
  char why[256];
  struct kiln_nvml *nv = kiln_nvml_open(why, sizeof why);
  assert_non_null(nv);
  /* The fake knows only 0000:1b:00.0. */
  const char ids[2][16] = {"0000:1b:00.0", "0000:3a:00.0"};
  struct kiln_nvlink_gpu s[2];
  kiln_nvlink_snapshot(nv, ids, 2, s);
  assert_string_equal(s[0].bus, "0000:1b:00.0");
  assert_int_equal(s[0].dev_rc, KILN_NVML_SUCCESS);
  assert_int_equal(s[0].links_rc, KILN_NVML_SUCCESS);
  assert_int_equal(s[0].links, 12);
  for (int c = 0; c < KILN_NVLINK_COUNTERS; c++)
    assert_int_equal(s[0].err_rc[c], KILN_NVML_SUCCESS);
  assert_string_equal(kiln_nvlink_counter_names[0], "CRC flit");
  assert_int_equal(kiln_nvlink_counter_ids[0],
                   KILN_NVML_NVLINK_ERROR_DL_CRC_FLIT);
  assert_true(s[0].err[0] == 5);
  assert_true(s[0].err[1] == 0 && s[0].err[2] == 0 && s[0].err[3] == 0);
  assert_int_equal(s[1].dev_rc, KILN_NVML_ERROR_NOT_FOUND);
  assert_int_equal(s[1].links_rc, KILN_NVML_ERROR_NOT_FOUND);
  assert_int_equal(s[1].err_rc[0], KILN_NVML_ERROR_NOT_FOUND);

  /* The default fake: all 18 up. */
  unsetenv("FAKE_NVLINKS");
  kiln_nvlink_snapshot(nv, ids, 1, s);
  assert_int_equal(s[0].links, 18);
  kiln_nvml_close(nv);
}

/* DCGM's rules: any replay or recovery fails; CRC errors, which a healthy
 * link sees now and then, are a rate (nvlink_crc_per_s, limited by the
 * SKU files). */
static void test_nvlink_errors_rise(void **state) {
  char why[256];
  struct kiln_nvml *nv = kiln_nvml_open(why, sizeof why);
  assert_non_null(nv);
  const char ids[2][16] = {"0000:1b:00.0", "0000:3a:00.0"};
  struct kiln_nvlink_gpu before[2], after[2];
  kiln_nvlink_snapshot(nv, ids, 2, before);
  fs_write_file(crc_file, "9\n"); /* 4 CRC flit errors during the copies */
  kiln_nvlink_snapshot(nv, ids, 2, after);

  /* A CRC rise alone fails nothing: it is reported, and a rate. */
  struct kiln_nvlink_delta d[4];
  assert_int_equal(kiln_nvlink_compare(before, after, 2, d, 4), 1);
  assert_int_equal(d[0].gpu, 0);
  assert_int_equal(d[0].counter, 0);
  assert_true(d[0].before == 5 && d[0].after == 9);
  assert_false(d[0].fails);
  char msg[512];
  kiln_nvlink_delta_message(after, &d[0], msg, sizeof msg);
  assert_string_equal(msg, "GPU 0000:1b:00.0: NVLink CRC flit errors rose "
                           "from 5 to 9 (+4) during the P2P copies; judged "
                           "as a rate (nvlink_crc_per_s)");
  assert_float_equal(kiln_nvlink_crc_rate(&before[0], &after[0], 2.0), 2.0,
                     1e-12);
  assert_float_equal(kiln_nvlink_crc_rate(&before[0], &after[0], 0), -1, 0);
  assert_float_equal(kiln_nvlink_crc_rate(&before[1], &after[1], 2.0), -1, 0);
  /* Counted even with no room to record. */
  assert_int_equal(kiln_nvlink_compare(before, after, 2, d, 0), 1);

  assert_float_equal(kiln_nvlink_increase(&before[0], &after[0], 0), 4, 0);
  assert_float_equal(kiln_nvlink_increase(&before[0], &after[0], 1), 0, 0);
  /* A GPU NVML does not know: nothing read, nothing to say. */
  assert_float_equal(kiln_nvlink_increase(&before[1], &after[1], 0), -1, 0);

  /* One replay: fails. */
  char replay[400], recovery[400];
  snprintf(replay, sizeof replay, "%s/replay", fake_driver.dir);
  snprintf(recovery, sizeof recovery, "%s/recovery", fake_driver.dir);
  fs_write_file(replay, "7\n");
  fs_write_file(recovery, "0\n");
  setenv("FAKE_NVLINK_REPLAY_FILE", replay, 1);
  setenv("FAKE_NVLINK_RECOVERY_FILE", recovery, 1);
  kiln_nvlink_snapshot(nv, ids, 2, before);
  fs_write_file(crc_file, "9\n");
  fs_write_file(replay, "8\n");
  kiln_nvlink_snapshot(nv, ids, 2, after);
  assert_int_equal(kiln_nvlink_compare(before, after, 2, d, 4), 1);
  assert_int_equal(d[0].counter, 2);
  assert_true(d[0].fails);
  kiln_nvlink_delta_message(after, &d[0], msg, sizeof msg);
  assert_string_equal(msg, "GPU 0000:1b:00.0: NVLink replay errors rose "
                           "from 7 to 8 (+1) during the P2P copies; any rise "
                           "fails");
  assert_float_equal(kiln_nvlink_increase(&before[0], &after[0], 1), 1, 0);
  assert_float_equal(kiln_nvlink_crc_rate(&before[0], &after[0], 1.0), 0, 0);
  /* One recovery: fails too. */
  kiln_nvlink_snapshot(nv, ids, 2, before);
  fs_write_file(recovery, "1\n");
  kiln_nvlink_snapshot(nv, ids, 2, after);
  assert_int_equal(kiln_nvlink_compare(before, after, 2, d, 4), 1);
  assert_int_equal(d[0].counter, 3);
  assert_true(d[0].fails);
  unsetenv("FAKE_NVLINK_REPLAY_FILE");
  unsetenv("FAKE_NVLINK_RECOVERY_FILE");

  /* A counter that went down (a driver reload) is no rise. */
  kiln_nvlink_snapshot(nv, ids, 2, before);
  fs_write_file(crc_file, "2\n");
  kiln_nvlink_snapshot(nv, ids, 2, after);
  assert_int_equal(kiln_nvlink_compare(before, after, 2, d, 4), 0);
  assert_float_equal(kiln_nvlink_increase(&before[0], &after[0], 0), 0, 0);
  /* Unchanged: nothing. */
  kiln_nvlink_snapshot(nv, ids, 2, before);
  kiln_nvlink_snapshot(nv, ids, 2, after);
  assert_int_equal(kiln_nvlink_compare(before, after, 2, d, 4), 0);
  kiln_nvml_close(nv);
}

static void test_nvlink_old_driver(void **state) {
  setenv("KILN_NVML_LIB", fake_driver.lib_old, 1);
  char why[256];
  struct kiln_nvml *nv = kiln_nvml_open(why, sizeof why);
  assert_non_null(nv);
  const char ids[1][16] = {"0000:1b:00.0"};
  struct kiln_nvlink_gpu before[1], after[1];
  kiln_nvlink_snapshot(nv, ids, 1, before);
  assert_int_equal(before[0].dev_rc, KILN_NVML_SUCCESS);
  assert_int_equal(before[0].links_rc, KILN_NVML_ERROR_NOT_SUPPORTED);
  assert_int_equal(before[0].links, 0);
  assert_int_equal(before[0].err_rc[0], KILN_NVML_ERROR_NOT_SUPPORTED);
  fs_write_file(crc_file, "50\n");
  kiln_nvlink_snapshot(nv, ids, 1, after);
  struct kiln_nvlink_delta d[4];
  assert_int_equal(kiln_nvlink_compare(before, after, 1, d, 4), 0);
  assert_float_equal(kiln_nvlink_increase(&before[0], &after[0], 0), -1, 0);
  kiln_nvml_close(nv);
}

/* ---- the modules in this CUDA=0 build ---- */

static const char *end_reason(const struct captured *c) {
  for (size_t i = c->n; i-- > 0;)
    if (c->events[i].type == KILN_WIRE_END)
      return c->events[i].message ? c->events[i].message : "";
  return "";
}

/* A PCI tree for kiln_gpu_enumerate with n NVIDIA 3D controllers. */
static void fake_gpus(const char *dir, int n) {
  fs_rm_rf(dir);
  mkdirs(dir);
  for (int i = 0; i < n; i++) {
    char bus[16];
    snprintf(bus, sizeof bus, "0000:%02x:00.0", 0x1b + i * 0x1f);
    fs_fake_gpu(dir, bus, NULL);
  }
  setenv("KILN_SYSFS_PCI", dir, 1);
}

/* Planned only for a GPU on the bus: without CUDA, an ERROR. */
static void test_pcie_bw_errors_without_cuda(void **state) {
  struct captured c;
  harness_run_module("pcie.bw", 0, NULL, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  assert_string_equal(end_reason(&c), "this kiln was built without CUDA");
  harness_free(&c);

  const struct kiln_module *m = kiln_module_find("pcie.bw");
  assert_non_null(m);
  assert_int_equal(m->targets, KILN_TARGETS_GPU);
  const char *names[] = {"h2d_gbps",  "d2h_gbps",       "bidir_gbps",
                         "link_gbps", "h2d_link_share", "d2h_link_share"};
  for (size_t i = 0; i < 6; i++)
    assert_non_null(kiln_module_measurement(m, names[i]));
  assert_string_equal(kiln_module_param(m, "link_share")->def, "80%");
  char why[128];
  assert_false(m->available(why, sizeof why));
  assert_string_equal(why, "built without CUDA");
}

static void test_gpu_p2p_skips(void **state) {
  char dir[400];
  snprintf(dir, sizeof dir, "%s/pci", fake_driver.dir);
  struct captured c;

  fake_gpus(dir, 0);
  harness_run_module("gpu.p2p", 0, NULL, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_SKIP);
  assert_string_equal(end_reason(&c),
                      "needs at least 2 GPUs; this machine has 0");
  harness_free(&c);

  fake_gpus(dir, 1);
  harness_run_module("gpu.p2p", 0, NULL, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_SKIP);
  assert_string_equal(end_reason(&c),
                      "needs at least 2 GPUs; this machine has 1");
  harness_free(&c);

  /* Two GPUs there, but no CUDA to drive them: an ERROR. */
  fake_gpus(dir, 2);
  harness_run_module("gpu.p2p", 0, NULL, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  assert_string_equal(end_reason(&c), "this kiln was built without CUDA");
  harness_free(&c);

  /* A bad parameter is an ERROR before anything else. */
  const char *bad[] = {"require_p2p", "maybe", NULL};
  harness_run_module("gpu.p2p", 0, bad, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  assert_non_null(strstr(end_reason(&c), "require_p2p"));
  harness_free(&c);

  const struct kiln_module *m = kiln_module_find("gpu.p2p");
  assert_non_null(m);
  assert_int_equal(m->targets, KILN_TARGETS_HOST);
  const char *names[] = {"p2p_gbps",         "p2p_latency_us",
                         "nvlinks",          "nvlink_crc_increase",
                         "nvlink_crc_per_s", "nvlink_replay_increase"};
  for (size_t i = 0; i < 6; i++)
    assert_non_null(kiln_module_measurement(m, names[i]));
  /* Replays fail on any rise; no allowance to set. */
  assert_null(kiln_module_param(m, "nvlink_errors_max"));
  unsetenv("KILN_SYSFS_PCI");
  fs_rm_rf(dir);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_speed),
      cmocka_unit_test(test_parse_width),
      cmocka_unit_test(test_link_rate),
      cmocka_unit_test_setup_teardown(test_read_link, make_sysroot,
                                      drop_sysroot),
      cmocka_unit_test_setup_teardown(test_path_links, make_sysroot,
                                      drop_sysroot),
      cmocka_unit_test_setup_teardown(test_numa, make_sysroot, drop_sysroot),
      cmocka_unit_test(test_cpulist),
      cmocka_unit_test(test_pages_node),
      cmocka_unit_test(test_median_share),
      cmocka_unit_test(test_parse_bool),
      cmocka_unit_test(test_pattern),
      cmocka_unit_test(test_matrix),
      cmocka_unit_test_setup(test_nvlink_snapshot, nvml_env),
      cmocka_unit_test_setup(test_nvlink_errors_rise, nvml_env),
      cmocka_unit_test_setup(test_nvlink_old_driver, nvml_env),
      cmocka_unit_test(test_pcie_bw_errors_without_cuda),
      cmocka_unit_test(test_gpu_p2p_skips),
  };
  return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
