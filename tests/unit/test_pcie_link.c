/* pcie.link over real captures (../shared/fixtures/pci/) and the HGX
 * fixtures (tests/fixtures/pci/hgx-*.lspci, see their README): healthy
 * buses pass, each degraded link or AER error fails naming exactly that
 * device, the station spec overrides the capabilities, and the kernel's
 * AER counters are judged against the run-start baseline. */
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

#include "harness.h"
#include "kiln/context.h"
#include "kiln/pci.h"
#include "kiln/result.h"
#include "kiln/spec.h"
#include "shared_fixture.h"

/* ---- helpers ---- */

static char *capture(const char *name) {
  static char path[4][1024];
  static int next;
  char *p = path[next++ % 4];
  snprintf(p, sizeof path[0], "%s/fixtures/pci/%s", fixture_shared_dir(), name);
  return p;
}

#define HGX(name) "tests/fixtures/pci/hgx-" name ".lspci"

static void run_with(const struct kiln_context *ctx, struct captured *c) {
  kiln_context_set(ctx);
  harness_run_module("pcie.link", 0, NULL, NULL, c);
  kiln_context_set(NULL);
}

static void run_dump(const char *path, const struct kiln_spec *spec,
                     struct captured *c) {
  struct kiln_context ctx = {.pci_dump = path, .spec = spec};
  run_with(&ctx, c);
}

/* FAIL diagnoses with this symptom; the first one's message into msg. */
static size_t fails(const struct captured *c, const char *symptom, char *msg,
                    size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < c->n; i++) {
    const struct kiln_wire_event *e = &c->events[i];
    if (e->type != KILN_WIRE_DIAGNOSIS || e->diag_type != KILN_DIAG_FAIL ||
        strcmp(e->symptom, symptom) != 0)
      continue;
    if (count == 0 && msg)
      snprintf(msg, n, "%s", e->message);
    print_message("# %s [%s]: %s\n", e->symptom, e->hwid, e->message);
    count++;
  }
  return count;
}

static const char *end_reason(const struct captured *c) {
  for (size_t i = c->n; i-- > 0;)
    if (c->events[i].type == KILN_WIRE_END)
      return c->events[i].message ? c->events[i].message : "";
  return NULL;
}

static bool logged(const struct captured *c, const char *text) {
  for (size_t i = 0; i < c->n; i++)
    if (c->events[i].type == KILN_WIRE_LOG &&
        strstr(c->events[i].message, text))
      return true;
  return false;
}

static double measured(const struct captured *c, const char *name,
                       const char *hwid) {
  const struct kiln_wire_event *m = harness_measurement(c, name, hwid);
  if (!m)
    print_message("# no measurement %s on %s\n", name, hwid ? hwid : "host");
  assert_non_null(m);
  return m->value;
}

/* A passing run: no FAIL at all, and these link counts. */
static void assert_passes(const char *path, const struct kiln_spec *spec,
                          double checked) {
  struct captured c;
  run_dump(path, spec, &c);
  char msg[1024] = "";
  if (harness_fail_diagnoses(&c, msg, sizeof msg))
    print_message("# %s: %s\n", path, msg);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
  assert_true(measured(&c, "links_checked", NULL) == checked);
  assert_true(measured(&c, "links_degraded", NULL) == 0);
  harness_free(&c);
}

/* A spec with nothing checked but these links. */
static void spec_init(struct kiln_spec *spec, struct kiln_spec_link *links,
                      size_t n) {
  memset(spec, 0, sizeof *spec);
  spec->source = "test.ini";
  spec->cpu_sockets = spec->cpu_cores = spec->cpu_threads = -1;
  spec->dimm_count = -1;
  spec->gpu.count = spec->nic.count = spec->nvme.count = -1;
  spec->aer_correctable_max = -1;
  spec->links = links;
  spec->n_links = n;
}

static struct kiln_spec_link id_link(uint16_t vendor, uint16_t device,
                                     double gts, int width) {
  struct kiln_spec_link l = {.match = KILN_SPEC_MATCH_ID,
                             .vendor_id = vendor,
                             .device_id = device,
                             .gts = gts,
                             .width = width};
  return l;
}

static char *make_tmpdir(void) {
  char *dir = strdup("/tmp/kiln-test-pcie-XXXXXX");
  assert_non_null(dir);
  assert_non_null(mkdtemp(dir));
  return dir;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void rm_tree(char *dir) {
  nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  free(dir);
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
}

static void mkdir_p(const char *path) {
  char buf[2048];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(buf, 0755);
      *p = '/';
    }
  mkdir(buf, 0755);
}

/* The device `bdf` ("03:00.0") of a capture as the kernel's sysfs shows
 * it under root: the first config_len bytes of its config space (64 is
 * what non-root users get), vendor, device and class. */
static void sysfs_device(const char *root, const char *capture_name,
                         const char *bdf, size_t config_len) {
  unsigned char config[4096];
  size_t len = 0;
  bool in = false;
  char line[512];
  FILE *f = fopen(capture(capture_name), "r");
  assert_non_null(f);
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, bdf, strlen(bdf)) == 0 && line[strlen(bdf)] == ' ') {
      in = true;
      continue;
    }
    char *p = strchr(line, ':');
    if (!in || line[0] == '\t' || line[0] == ' ' || !p || p[1] != ' ') {
      if (in && len > 0)
        break;
      continue;
    }
    for (p += 1; len < sizeof config && p[0] == ' ' && p[1] && p[2]; p += 3) {
      unsigned v;
      if (sscanf(p, " %2x", &v) != 1)
        break;
      config[len++] = (unsigned char)v;
    }
  }
  fclose(f);
  assert_true(len >= config_len);
  char dir[1024], path[2048], text[32];
  snprintf(dir, sizeof dir, "%s/sys/bus/pci/devices/0000:%s", root, bdf);
  mkdir_p(dir);
  snprintf(path, sizeof path, "%s/config", dir);
  f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(config, 1, config_len, f), config_len);
  fclose(f);
  snprintf(path, sizeof path, "%s/vendor", dir);
  snprintf(text, sizeof text, "0x%02x%02x\n", config[1], config[0]);
  write_file(path, text);
  snprintf(path, sizeof path, "%s/device", dir);
  snprintf(text, sizeof text, "0x%02x%02x\n", config[3], config[2]);
  write_file(path, text);
  snprintf(path, sizeof path, "%s/class", dir);
  snprintf(text, sizeof text, "0x%02x%02x%02x\n", config[11], config[10],
           config[9]);
  write_file(path, text);
}

/* ---- real captures ---- */

/* cap-phy32: a Gen5 x2 drive trained at 16GT/s. */
static void downgraded_nvme_fails(void **state) {
  fixture_need_shared("fixtures/pci"); /* real lspci captures */
  (void)state;
  struct captured c;
  char msg[1024];
  run_dump(capture("cap-phy32"), NULL, &c);
  assert_int_equal(fails(&c, "pcie-link-degraded", msg, sizeof msg), 1);
  assert_string_equal(msg, "0000:2e:00.0 Samsung Electronics Co Ltd NVMe SSD "
                           "Controller PM174X: 16 GT/s x2, expected 32 GT/s "
                           "x2 (capability of the device)");
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 1);
  assert_true(measured(&c, "links_checked", NULL) == 1);
  assert_true(measured(&c, "links_degraded", NULL) == 1);
  /* CESta AdvNonFatalErr+: counted, not failed without a spec limit. */
  assert_true(measured(&c, "aer_correctable", "0000:2e:00.0") == 1);
  assert_true(logged(&c, "only the AER status bits"));
  harness_free(&c);
}

static void healthy_captures_pass(void **state) {
  fixture_need_shared("fixtures/pci"); /* real lspci captures */
  (void)state;
  assert_passes(capture("cap-exp-lnkcap2"), NULL, 2); /* GPU, NHI */
  assert_passes(capture("cap-aer-root"), NULL, 1);
  assert_passes(capture("cap-flitmode"), NULL, 1);
  assert_passes(capture("cap-pcie-2"), NULL, 1);
  /* Switch upstream port, SAS HBA, GPU (2 functions, 1 link), 2 NICs;
   * the downstream port trained x8 of x16 has an x8 HBA behind it. */
  assert_passes(capture("tree-asus-p6t6"), NULL, 5);
}

/* Root and downstream ports with nothing behind them in the capture, one
 * trained below its capability, one a 256-byte capture: nothing to judge. */
static void ports_alone_pass(void **state) {
  fixture_need_shared("fixtures/pci"); /* real lspci captures */
  (void)state;
  assert_passes(capture("cap-pcie-1"), NULL, 0);
  assert_passes(capture("cap-aer-log"), NULL, 0);
  assert_passes(capture("cap-dpc"), NULL, 0);
}

/* cap-ide: the 32 GT/s x16 device with AER status set (CESta
 * AdvNonFatalErr+): counted, and a FAIL past the spec's limit. */
static void correctable_aer_status(void **state) {
  fixture_need_shared("fixtures/pci"); /* real lspci captures */
  (void)state;
  struct captured c;
  run_dump(capture("cap-ide"), NULL, &c);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
  assert_true(measured(&c, "aer_correctable", "0000:e1:00.0") == 1);
  assert_true(measured(&c, "aer_correctable", NULL) == 1);
  assert_true(logged(&c, "AdvNonFatalErr"));
  harness_free(&c);

  struct kiln_spec spec;
  spec_init(&spec, NULL, 0);
  spec.aer_correctable_max = 0;
  char msg[1024];
  run_dump(capture("cap-ide"), &spec, &c);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 1);
  assert_int_equal(fails(&c, "pcie-aer-correctable", msg, sizeof msg), 1);
  assert_int_equal(strncmp(msg, "0000:e1:00.0 Device aaaa:bbbb: ", 31), 0);
  assert_non_null(strstr(msg, "AdvNonFatalErr"));
  assert_non_null(strstr(msg, "station spec allows 0"));
  harness_free(&c);

  spec.aer_correctable_max = 1;
  assert_passes(capture("cap-ide"), &spec, 1);
}

/* cap-ide with DLP (fatal per its UESvrt) and UnsupReq (non-fatal) set in
 * UESta, as a device that logged them would show. */
static void uncorrectable_aer_status_fails(void **state) {
  fixture_need_shared("fixtures/pci"); /* real lspci captures */
  (void)state;
  char *dir = make_tmpdir();
  char path[1024];
  snprintf(path, sizeof path, "%s/ide-ue.lspci", dir);
  FILE *in = fopen(capture("cap-ide"), "r");
  assert_non_null(in);
  FILE *out = fopen(path, "w");
  assert_non_null(out);
  char line[512];
  int patched = 0;
  while (fgets(line, sizeof line, in)) {
    /* "100: 01 00 02 15 00 00 00 00 ...": UESta is bytes 4..7. */
    if (strncmp(line, "100: ", 5) == 0 && strlen(line) > 5 + 3 * 7) {
      memcpy(line + 5 + 3 * 4, "10", 2); /* bit 4: DLP */
      memcpy(line + 5 + 3 * 6, "10", 2); /* bit 20: UnsupReq */
      patched++;
    }
    fputs(line, out);
  }
  fclose(in);
  fclose(out);
  assert_int_equal(patched, 1);

  struct captured c;
  char msg[1024];
  run_dump(path, NULL, &c);
  assert_int_equal(fails(&c, "pcie-aer-uncorrectable", msg, sizeof msg), 1);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 1);
  assert_int_equal(strncmp(msg, "0000:e1:00.0 Device aaaa:bbbb: ", 31), 0);
  assert_non_null(strstr(msg, "DLP (data link protocol error, fatal)"));
  assert_non_null(strstr(msg, "UnsupReq (unsupported request, non-fatal)"));
  assert_non_null(strstr(msg, "[UESta 0x00100010]"));
  harness_free(&c);
  rm_tree(dir);
}

static void bad_capture_is_an_error(void **state) {
  (void)state;
  struct captured c;
  run_dump("/nonexistent/hgx.lspci", NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
  assert_string_equal(end_reason(&c),
                      "/nonexistent/hgx.lspci: No such file or directory");
  assert_null(harness_measurement(&c, "links_checked", NULL));
  harness_free(&c);
}

/* The live bus of a machine with no PCI Express (a fixture sysroot with
 * no PCI devices at all). */
static void no_links_skips(void **state) {
  (void)state;
  char *root = make_tmpdir();
  assert_int_equal(setenv("KILN_SYSROOT", root, 1), 0);
  struct captured c;
  run_dump(NULL, NULL, &c);
  unsetenv("KILN_SYSROOT");
  assert_int_equal(harness_end_verdict(&c), KILN_SKIP);
  assert_string_equal(end_reason(&c), "no PCI Express links on this bus (no "
                                      "PCI devices visible at all)");
  harness_free(&c);
  rm_tree(root);
}

/* ---- the HGX fixtures ---- */

static struct kiln_spec_link hgx_links[4];

static void hgx_spec(struct kiln_spec *spec) {
  hgx_links[0] = id_link(0x10de, 0x2330, 32, 16);
  hgx_links[1] = id_link(0x15b3, 0x1021, 32, 16);
  hgx_links[2] = id_link(0x144d, 0xa826, 32, 4);
  hgx_links[3] = id_link(0x1a03, 0x2000, 5, 1);
  spec_init(spec, hgx_links, 4);
  spec->aer_correctable_max = 0;
}

/* BMC VGA, 4 switch upstream ports, 8 GPUs, 8 NICs, 2 drives. */
static void hgx_healthy_passes(void **state) {
  (void)state;
  assert_passes(HGX("healthy"), NULL, 23);
  struct kiln_spec spec;
  hgx_spec(&spec);
  assert_passes(HGX("healthy"), &spec, 23);
  /* GPU7 gone: its downstream port is an empty slot, not a failure (the
   * inventory check reports the missing GPU). */
  assert_passes(HGX("gpu-missing"), &spec, 22);
}

static void hgx_gen4_gpu_fails(void **state) {
  (void)state;
  struct captured c;
  char msg[1024];
  run_dump(HGX("gpu-gen4"), NULL, &c);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 1);
  assert_int_equal(fails(&c, "pcie-link-degraded", msg, sizeof msg), 1);
  assert_string_equal(msg, "0000:3a:00.0 NVIDIA Corporation GH100[H100 SXM5 "
                           "80GB]: 16 GT/s x16, expected 32 GT/s x16 "
                           "(capability of both ends)");
  assert_true(measured(&c, "links_checked", NULL) == 23);
  assert_true(measured(&c, "links_degraded", NULL) == 1);
  harness_free(&c);

  struct kiln_spec spec;
  hgx_spec(&spec);
  run_dump(HGX("gpu-gen4"), &spec, &c);
  assert_int_equal(fails(&c, "pcie-link-degraded", msg, sizeof msg), 1);
  assert_non_null(strstr(msg, "0000:3a:00.0 "));
  assert_non_null(
      strstr(msg, ": 16 GT/s x16, expected 32 GT/s x16 (station spec)"));
  harness_free(&c);
}

static void hgx_x8_gpu_fails(void **state) {
  (void)state;
  struct captured c;
  char msg[1024];
  run_dump(HGX("gpu-x8"), NULL, &c);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 1);
  assert_int_equal(fails(&c, "pcie-link-degraded", msg, sizeof msg), 1);
  assert_int_equal(strncmp(msg, "0000:9b:00.0 NVIDIA Corporation GH100", 37),
                   0);
  assert_non_null(strstr(
      msg, ": 32 GT/s x8, expected 32 GT/s x16 (capability of both ends)"));
  assert_true(measured(&c, "links_degraded", NULL) == 1);
  harness_free(&c);
}

static void hgx_nic_aer_fails(void **state) {
  (void)state;
  struct captured c;
  char msg[1024];
  run_dump(HGX("nic-aer"), NULL, &c);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 1);
  assert_int_equal(fails(&c, "pcie-aer-uncorrectable", msg, sizeof msg), 1);
  assert_int_equal(
      strncmp(msg, "0000:9c:00.0 Mellanox Technologies MT2910 Family", 48), 0);
  assert_non_null(strstr(msg, "TLP (poisoned TLP received, non-fatal)"));
  assert_non_null(strstr(msg, "CmpltTO (completion timeout, non-fatal)"));
  assert_true(measured(&c, "links_degraded", NULL) == 0);
  harness_free(&c);
}

/* ---- the station spec ---- */

static void spec_overrides_capabilities(void **state) {
  fixture_need_shared("fixtures/pci"); /* real lspci captures */
  (void)state;
  struct kiln_spec spec;
  struct kiln_spec_link links[2];
  struct captured c;
  char msg[1024];

  /* Stricter than both ends can do: below spec is a FAIL. */
  links[0] = id_link(0x10de, 0x1d10, 16, 0);
  spec_init(&spec, links, 1);
  run_dump(capture("cap-exp-lnkcap2"), &spec, &c);
  assert_int_equal(fails(&c, "pcie-link-degraded", msg, sizeof msg), 1);
  assert_string_equal(msg, "0000:02:00.0 NVIDIA Corporation GP108M [GeForce "
                           "MX150]: 8 GT/s x4, expected 16 GT/s x4 (station "
                           "spec)");
  harness_free(&c);

  /* More lenient: the drive at 16GT/s is what this station expects. */
  links[0] = (struct kiln_spec_link){
      .match = KILN_SPEC_MATCH_SUBCLASS, .class_code = 0x0108, .gts = 16};
  assert_passes(capture("cap-phy32"), &spec, 1);

  /* Speed from the capability, width from the spec: both named. */
  links[0] =
      (struct kiln_spec_link){.match = KILN_SPEC_MATCH_DEFAULT, .width = 4};
  run_dump(capture("cap-phy32"), &spec, &c);
  assert_int_equal(fails(&c, "pcie-link-degraded", msg, sizeof msg), 1);
  assert_non_null(strstr(msg, ": 16 GT/s x2, expected 32 GT/s x4 (speed: "
                              "capability of the device; width: station "
                              "spec)"));
  harness_free(&c);
}

/* ---- the inventory's bus and the kernel's AER counters ---- */

static void inventory_bus_is_used(void **state) {
  (void)state;
  struct kiln_inventory inv;
  memset(&inv, 0, sizeof inv);
  char err[512];
  assert_int_equal(kiln_pci_scan(HGX("gpu-x8"), &inv.pci, err, sizeof err), 0);
  struct kiln_context ctx = {.pci_dump = "/nonexistent", .inventory = &inv};
  struct captured c;
  run_with(&ctx, &c);
  char msg[1024];
  assert_int_equal(fails(&c, "pcie-link-degraded", msg, sizeof msg), 1);
  assert_int_equal(strncmp(msg, "0000:9b:00.0 ", 13), 0);
  harness_free(&c);
  kiln_pci_free(&inv.pci);
}

static void put_counters(const char *root, const char *bdf, unsigned corr,
                         unsigned fatal, unsigned nonfatal) {
  static const char *const files[][2] = {
      {"aer_dev_correctable", "RxErr"},
      {"aer_dev_fatal", "DLP"},
      {"aer_dev_nonfatal", "CmpltTO"},
  };
  static const char *const totals[] = {"TOTAL_ERR_COR", "TOTAL_ERR_FATAL",
                                       "TOTAL_ERR_NONFATAL"};
  const unsigned values[] = {corr, fatal, nonfatal};
  char dir[1024], path[2048], text[128];
  snprintf(dir, sizeof dir, "%s/sys/bus/pci/devices/%s", root, bdf);
  mkdir_p(dir);
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i][0]);
    snprintf(text, sizeof text, "%s %u\n%s %u\n", files[i][1], values[i],
             totals[i], values[i]);
    write_file(path, text);
  }
}

/* What a user without root sees: 64 bytes of config space, no links. */
static void live_bus_without_root_skips(void **state) {
  fixture_need_shared("fixtures/pci"); /* real lspci captures */
  (void)state;
  char *root = make_tmpdir();
  sysfs_device(root, "cap-aer-root", "00:02.0", 64);
  sysfs_device(root, "cap-aer-root", "03:00.0", 64);
  assert_int_equal(setenv("KILN_SYSROOT", root, 1), 0);
  struct captured c;
  run_dump(NULL, NULL, &c);
  unsetenv("KILN_SYSROOT");
  assert_int_equal(harness_end_verdict(&c), KILN_SKIP);
  assert_non_null(strstr(end_reason(&c), "needs root"));
  harness_free(&c);
  rm_tree(root);
}

/* The live bus (libpci's sysfs method under $KILN_SYSROOT) with the
 * kernel's AER counters against the parent's run-start baseline. */
static void aer_counters_against_baseline(void **state) {
  fixture_need_shared("fixtures/pci"); /* real lspci captures */
  (void)state;
  char *root = make_tmpdir();
  sysfs_device(root, "cap-aer-root", "00:02.0", 4096);
  sysfs_device(root, "cap-aer-root", "03:00.0", 4096);
  put_counters(root, "0000:03:00.0", 8, 0, 1); /* +3 correctable, +1 NF */
  put_counters(root, "0000:00:02.0", 2, 0, 0); /* unchanged */
  const struct kiln_aer_baseline base[] = {
      {"0000:03:00.0", {5, 0, 0}},
      {"0000:00:02.0", {2, 0, 0}},
      {"0000:04:00.0", {0, 0, 0}}, /* gone since */
  };
  assert_int_equal(setenv("KILN_SYSROOT", root, 1), 0);

  struct kiln_context ctx = {.aer = base, .n_aer = 3};
  struct captured c;
  char msg[1024];
  run_with(&ctx, &c);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 1);
  assert_int_equal(fails(&c, "pcie-aer-counter", msg, sizeof msg), 1);
  assert_string_equal(msg, "0000:03:00.0 Mellanox Technologies MT27520 "
                           "Family [ConnectX-3 Pro]: 0 fatal and 1 non-fatal "
                           "uncorrectable AER errors during the run");
  assert_true(measured(&c, "links_checked", NULL) == 1);
  assert_true(measured(&c, "aer_correctable_increase", "0000:03:00.0") == 3);
  assert_null(
      harness_measurement(&c, "aer_correctable_increase", "0000:00:02.0"));
  assert_true(logged(&c, "0000:04:00.0: AER counters no longer readable"));
  harness_free(&c);

  /* Past the spec's correctable limit: a second FAIL. */
  struct kiln_spec spec;
  spec_init(&spec, NULL, 0);
  spec.aer_correctable_max = 2;
  ctx.spec = &spec;
  run_with(&ctx, &c);
  assert_int_equal(fails(&c, "pcie-aer-counter", msg, sizeof msg), 2);
  harness_free(&c);

  /* No baseline: status bits only, and it says so. */
  ctx.aer = NULL;
  ctx.n_aer = 0;
  ctx.spec = NULL;
  run_with(&ctx, &c);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
  assert_true(logged(&c, "no AER counter baseline"));
  harness_free(&c);

  unsetenv("KILN_SYSROOT");
  rm_tree(root);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(downgraded_nvme_fails),
      cmocka_unit_test(healthy_captures_pass),
      cmocka_unit_test(ports_alone_pass),
      cmocka_unit_test(correctable_aer_status),
      cmocka_unit_test(uncorrectable_aer_status_fails),
      cmocka_unit_test(bad_capture_is_an_error),
      cmocka_unit_test(no_links_skips),
      cmocka_unit_test(hgx_healthy_passes),
      cmocka_unit_test(hgx_gen4_gpu_fails),
      cmocka_unit_test(hgx_x8_gpu_fails),
      cmocka_unit_test(hgx_nic_aer_fails),
      cmocka_unit_test(spec_overrides_capabilities),
      cmocka_unit_test(inventory_bus_is_used),
      cmocka_unit_test(live_bus_without_root_skips),
      cmocka_unit_test(aer_counters_against_baseline),
  };
  return cmocka_run_group_tests_name("pcie.link", tests, NULL, NULL);
}
