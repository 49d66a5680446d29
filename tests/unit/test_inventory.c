/* Inventory: the collectors on the HGX fixture (a sysroot tree and its
 * lspci capture), the SMBIOS parser on good and malformed tables, the NVML
 * loader's failures, the table and JSON output, and the live machine. */
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
#include <jansson.h>

#include "inventory/inventory_sources.h"
#include "kiln/inventory.h"
#include "kiln/nvml.h"
#include "kiln/textutil.h"

#define SYSROOT "tests/fixtures/sysroot/hgx"
#define HGX_DUMP "tests/fixtures/pci/hgx-healthy.lspci"
#define SMBIOS_DIR "tests/fixtures/smbios/"
#define HGX_SMBIOS SYSROOT "/sys/firmware/dmi/tables/DMI"
#define GIB (1ull << 30)

static const char *const hgx_gpus[] = {
    "0000:18:00.0", "0000:19:00.0", "0000:3a:00.0", "0000:3b:00.0",
    "0000:9a:00.0", "0000:9b:00.0", "0000:ba:00.0", "0000:bb:00.0"};

/* ---- helpers ---- */

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    fail_msg("cannot open %s", path);
  uint8_t *buf = kiln_xcalloc(1 << 16, 1);
  *len = fread(buf, 1, 1 << 16, f);
  fclose(f);
  return buf;
}

/* The text with every run of blanks squeezed to one space, so that tests
 * need not know column widths. */
static char *squeeze(const char *s) {
  char *out = kiln_xcalloc(strlen(s) + 1, 1), *o = out;
  for (; *s; s++) {
    if (*s == ' ' && o > out && o[-1] == ' ')
      continue;
    *o++ = *s;
  }
  return out;
}

static void assert_has_line(const char *text, const char *line) {
  char *want = kiln_strdup_printf("\n %s\n", line);
  if (!strstr(text, want)) {
    fprintf(stderr, "# printed:\n%s", text);
    fail_msg("no line '%s'", line);
  }
  free(want);
}

static char *printed(const struct kiln_inventory *inv) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  kiln_inventory_print(inv, f);
  fclose(f);
  char *s = squeeze(buf);
  free(buf);
  return s;
}

static int collect_hgx(void **state) {
  setenv("KILN_SYSROOT", SYSROOT, 1);
  struct kiln_inventory *inv = kiln_xcalloc(1, sizeof *inv);
  struct kiln_inventory_options o = {.pci_dump = HGX_DUMP};
  char err[512] = "";
  int rc = kiln_inventory_collect(inv, &o, err, sizeof err);
  unsetenv("KILN_SYSROOT");
  if (rc != 0) {
    fprintf(stderr, "collect: %s\n", err);
    free(inv);
    return -1;
  }
  *state = inv;
  return 0;
}

static int free_hgx(void **state) {
  kiln_inventory_free(*state);
  free(*state);
  return 0;
}

/* ---- the HGX fixture ---- */

static void hgx_dmi_and_cpu(void **state) {
  const struct kiln_inventory *inv = *state;
  assert_string_equal(inv->dmi.sys_vendor, "Supermicro");
  assert_string_equal(inv->dmi.product, "SYS-821GE-TNHR");
  assert_string_equal(inv->dmi.serial, "S123456X4A12345");
  assert_string_equal(inv->dmi.board_serial, "OM23AS012345");
  assert_string_equal(inv->dmi.bios_vendor,
                      "American Megatrends International, LLC.");
  assert_string_equal(inv->dmi.bios_version, "2.1");
  assert_string_equal(inv->dmi.bios_date, "02/07/2024");
  assert_string_equal(inv->cpu.model, "Intel(R) Xeon(R) Platinum 8480+");
  assert_string_equal(inv->cpu.microcode, "0x2b000571");
  assert_int_equal(inv->cpu.sockets, 2);
  assert_int_equal(inv->cpu.cores, 4);
  assert_int_equal(inv->cpu.threads, 8);
  assert_int_equal(inv->cpu.numa_nodes, 2);
}

static void hgx_memory(void **state) {
  const struct kiln_inv_memory *m = &((struct kiln_inventory *)*state)->memory;
  assert_true(m->mem_total_bytes == 1584872456ull * 1024);
  assert_string_equal(m->dimm_note, "");
  assert_int_equal(m->n_dimms, 32);
  size_t populated = 0;
  for (size_t i = 0; i < m->n_dimms; i++)
    populated += m->dimms[i].populated;
  assert_int_equal(populated, 24);
  assert_true(m->dimm_total_bytes == 24 * 64 * GIB);
  const struct kiln_inv_dimm *d = &m->dimms[0];
  assert_string_equal(d->locator, "P1-DIMMA1");
  assert_string_equal(d->bank_locator, "P0_Node0_Channel0_Dimm0");
  assert_true(d->populated);
  assert_true(d->size_bytes == 64 * GIB); /* from the extended size */
  assert_string_equal(d->type, "DDR5");
  assert_int_equal(d->speed_mts, 4800);
  assert_string_equal(d->manufacturer, "Samsung");
  assert_string_equal(d->part_number, "M321R8GA0BB0-CQKZJ"); /* trimmed */
  assert_string_equal(d->serial, "80CE1101");
  /* Channel E, slot 2 of socket 1: the 10th slot. */
  const struct kiln_inv_dimm *e = &m->dimms[9];
  assert_string_equal(e->locator, "P1-DIMME2");
  assert_false(e->populated);
  assert_true(e->size_bytes == 0);
  assert_int_equal(e->speed_mts, 0);
  assert_string_equal(m->dimms[31].locator, "P2-DIMMH2");
}

static void hgx_devices(void **state) {
  const struct kiln_inventory *inv = *state;
  assert_true(inv->pci.from_dump);
  assert_int_equal(inv->n_gpus, 8);
  for (size_t i = 0; i < 8; i++) {
    assert_string_equal(inv->gpus[i].bdf, hgx_gpus[i]);
    assert_int_equal(inv->gpus[i].device_id, 0x2330);
    assert_string_equal(inv->gpus[i].name, ""); /* no NVML from a dump */
    assert_string_equal(inv->gpus[i].serial, "");
  }
  assert_true(strstr(inv->nvml_note, "capture") != NULL);

  assert_int_equal(inv->n_nics, 8);
  const struct kiln_inv_nic *n = &inv->nics[0];
  assert_string_equal(n->bdf, "0000:1a:00.0");
  assert_int_equal(n->vendor_id, 0x15b3);
  assert_int_equal(n->device_id, 0x1021);
  assert_true(strstr(n->name, "ConnectX-7") != NULL);
  assert_string_equal(n->ifname, "ib0");
  assert_string_equal(n->ib_device, "mlx5_0");
  assert_true(n->infiniband);
  assert_true(n->speed_bps == 400e9);
  assert_string_equal(n->link_state, "ACTIVE");
  assert_string_equal(n->firmware, "28.39.1002");
  assert_string_equal(
      n->mac, "00:00:10:49:fe:80:00:00:00:00:00:00:a0:88:c2:03:00:1e:40:10");
  assert_string_equal(inv->nics[7].bdf, "0000:bd:00.0");
  assert_string_equal(inv->nics[7].ib_device, "mlx5_7");

  assert_int_equal(inv->n_nvmes, 2);
  const struct kiln_inv_nvme *v = &inv->nvmes[1];
  assert_string_equal(v->bdf, "0000:9e:00.0");
  assert_string_equal(v->ctrl, "nvme1");
  assert_string_equal(v->model, "SAMSUNG MZWLO3T8HCLS-00A07");
  assert_string_equal(v->serial, "S7HWNA0W600124");
  assert_string_equal(v->firmware, "MPPA5B5Q");
}

static void hgx_table(void **state) {
  char *t = printed(*state);
  assert_has_line(t, "vendor Supermicro");
  assert_has_line(t, "BIOS American Megatrends International, LLC. 2.1 "
                     "(02/07/2024)");
  assert_has_line(t, "cores 4 physical, 8 threads");
  assert_has_line(t, "MemTotal 1511.5 GiB");
  assert_has_line(t, "DIMMs 24 of 32 slots populated, 1536 GiB");
  assert_has_line(t, "P1-DIMMA1 64 GiB DDR5 4800 MT/s Samsung "
                     "M321R8GA0BB0-CQKZJ 80CE1101");
  assert_has_line(t, "P1-DIMME2 empty");
  assert_true(strstr(t, "\nGPUs (8)\n") != NULL);
  assert_has_line(t, "0000:18:00.0 GH100[H100 SXM5 80GB] - cap 32 GT/s x16, "
                     "trained 32 GT/s x16 -");
  assert_has_line(t, "0000:1a:00.0 MT2910 Family [ConnectX-7] ib0 mlx5_0 "
                     "400 Gb/s ACTIVE 28.39.1002");
  assert_has_line(t, "0000:1c:00.0 nvme0 SAMSUNG MZWLO3T8HCLS-00A07 "
                     "S7HWNA0W600123 MPPA5B5Q");
  assert_true(strstr(t, "\nPCIe devices (") != NULL);
  assert_true(strstr(t, "\n 0000:18:00.0 10de:2330 GH100[H100 SXM5 80GB] ") !=
              NULL);
  assert_has_line(t, "GPU 0000:18:00.0 <- 0000:17:00.0 <- 0000:16:00.0 <- "
                     "0000:15:01.0");
  assert_has_line(t, "NIC 0000:bd:00.0 <- 0000:b9:03.0 <- 0000:b8:00.0 <- "
                     "0000:b7:01.0");
  assert_has_line(t, "NVMe 0000:9e:00.0 <- 0000:99:04.0 <- 0000:98:00.0 <- "
                     "0000:97:01.0");
  assert_null(strstr(t, "below cap"));
  free(t);
}

static void hgx_json(void **state) {
  json_t *j = kiln_inventory_to_json(*state);
  assert_non_null(j);
  json_t *dmi = json_object_get(j, "dmi");
  assert_string_equal(json_string_value(json_object_get(dmi, "product")),
                      "SYS-821GE-TNHR");
  json_t *cpu = json_object_get(j, "cpu");
  assert_int_equal(json_integer_value(json_object_get(cpu, "sockets")), 2);
  assert_int_equal(json_integer_value(json_object_get(cpu, "threads")), 8);
  json_t *mem = json_object_get(j, "memory");
  assert_true(json_integer_value(json_object_get(mem, "dimm_total_bytes")) ==
              (json_int_t)(1536 * GIB));
  assert_int_equal(json_integer_value(json_object_get(mem, "dimms_populated")),
                   24);
  json_t *dimms = json_object_get(mem, "dimms");
  assert_int_equal(json_array_size(dimms), 32);
  json_t *d0 = json_array_get(dimms, 0);
  assert_string_equal(json_string_value(json_object_get(d0, "part_number")),
                      "M321R8GA0BB0-CQKZJ");
  assert_int_equal(json_integer_value(json_object_get(d0, "speed_mts")), 4800);
  assert_true(
      json_is_false(json_object_get(json_array_get(dimms, 9), "populated")));

  json_t *gpus = json_object_get(j, "gpus");
  assert_int_equal(json_array_size(gpus), 8);
  json_t *g = json_array_get(gpus, 0);
  assert_string_equal(json_string_value(json_object_get(g, "bdf")),
                      "0000:18:00.0");
  assert_string_equal(json_string_value(json_object_get(g, "pci_id")),
                      "10de:2330");
  json_t *link = json_object_get(g, "link");
  assert_true(json_real_value(json_object_get(link, "cap_gts")) == 32.0);
  assert_int_equal(json_integer_value(json_object_get(link, "width")), 16);
  assert_true(json_is_false(json_object_get(link, "below_capability")));
  json_t *up = json_object_get(g, "upstream");
  assert_int_equal(json_array_size(up), 3);
  assert_string_equal(json_string_value(json_array_get(up, 0)), "0000:17:00.0");
  assert_string_equal(json_string_value(json_array_get(up, 2)), "0000:15:01.0");
  assert_true(strlen(json_string_value(json_object_get(j, "nvml_note"))) > 0);

  json_t *nic = json_array_get(json_object_get(j, "nics"), 0);
  assert_true(json_real_value(json_object_get(nic, "speed_bps")) == 400e9);
  assert_string_equal(json_string_value(json_object_get(nic, "ib_device")),
                      "mlx5_0");
  json_t *nvme = json_array_get(json_object_get(j, "nvme"), 0);
  assert_string_equal(json_string_value(json_object_get(nvme, "serial")),
                      "S7HWNA0W600123");

  json_t *pci = json_object_get(j, "pci");
  assert_true(json_is_true(json_object_get(pci, "from_dump")));
  json_t *devs = json_object_get(pci, "devices");
  assert_true(json_array_size(devs) > 50);
  json_t *first = json_array_get(devs, 0);
  assert_string_equal(json_string_value(json_object_get(first, "bdf")),
                      "0000:00:00.0");
  assert_true(json_is_null(json_object_get(first, "parent")));
  assert_int_equal(json_array_size(json_object_get(first, "upstream")), 0);
  /* Round trip: the whole object serializes. */
  char *text = json_dumps(j, JSON_COMPACT);
  assert_non_null(text);
  free(text);
  json_decref(j);
}

/* A capture with no sysroot: PCI devices only, no sysfs details (they
 * would be the analysing machine's, not the captured one's). */
static void dump_without_sysroot(void **state) {
  (void)state;
  unsetenv("KILN_SYSROOT");
  struct kiln_inventory inv;
  struct kiln_inventory_options o = {.pci_dump = HGX_DUMP};
  char err[512] = "";
  assert_int_equal(kiln_inventory_collect(&inv, &o, err, sizeof err), 0);
  assert_int_equal(inv.n_nics, 8);
  assert_string_equal(inv.nics[0].ifname, "");
  assert_string_equal(inv.nics[0].ib_device, "");
  assert_true(inv.nics[0].speed_bps == 0);
  assert_int_equal(inv.n_nvmes, 2);
  assert_string_equal(inv.nvmes[0].model, "");
  assert_int_equal(inv.n_gpus, 8);
  kiln_inventory_free(&inv);
}

/* A link trained below what both ends can do is marked, in the table and
 * in the JSON. */
static void degraded_link_marked(void **state) {
  (void)state;
  struct kiln_inventory inv;
  struct kiln_inventory_options o = {
      .pci_dump = "tests/fixtures/pci/hgx-gpu-gen4.lspci"};
  char err[512] = "";
  assert_int_equal(kiln_inventory_collect(&inv, &o, err, sizeof err), 0);
  char *t = printed(&inv);
  assert_has_line(t, "0000:3a:00.0 GH100[H100 SXM5 80GB] - cap 32 GT/s x16, "
                     "trained 16 GT/s x16 (below cap) -");
  assert_true(strstr(t, "\n 0000:39:00.0 1000:c030 PEX890xx PCIe Gen 5 Switch "
                        "PCI bridge cap 32 GT/s x16, trained 16 GT/s x16 "
                        "(below cap) ") != NULL);
  free(t);
  json_t *j = kiln_inventory_to_json(&inv);
  json_t *g = json_array_get(json_object_get(j, "gpus"), 2);
  assert_string_equal(json_string_value(json_object_get(g, "bdf")),
                      "0000:3a:00.0");
  json_t *link = json_object_get(g, "link");
  assert_true(json_is_true(json_object_get(link, "below_capability")));
  assert_true(json_real_value(json_object_get(link, "gts")) == 16.0);
  json_decref(j);
  kiln_inventory_free(&inv);
}

static void bad_dump_fails(void **state) {
  (void)state;
  struct kiln_inventory inv;
  struct kiln_inventory_options o = {.pci_dump = "tests/fixtures/nope.lspci"};
  char err[512] = "";
  assert_int_equal(kiln_inventory_collect(&inv, &o, err, sizeof err), -1);
  assert_true(strstr(err, "nope.lspci") != NULL);
  assert_null(strchr(err, '\n'));
  kiln_inventory_free(&inv); /* safe after a failure */
}

/* ---- a sparse sysroot built here ---- */

static void write_file(const char *root, const char *rel, const void *data,
                       size_t len) {
  char *path = kiln_strdup_printf("%s/%s", root, rel);
  for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
    *p = 0;
    mkdir(path, 0755);
    *p = '/';
  }
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  fclose(f);
  free(path);
}

static void put(const char *root, const char *rel, const char *text) {
  write_file(root, rel, text, strlen(text));
}

static void link_at(const char *root, const char *rel, const char *target) {
  char *path = kiln_strdup_printf("%s/%s", root, rel);
  assert_int_equal(symlink(target, path), 0);
  free(path);
}

static void rm_tree(const char *root) {
  char *cmd = kiln_strdup_printf("rm -rf '%s'", root);
  assert_int_equal(system(cmd), 0);
  free(cmd);
}

/* No /proc, no DMI table; a RoCE port whose net device hangs off a
 * virtio-style child of the PCI function (the bus id is only in the
 * resolved path, as on this VM). */
static void sparse_sysroot(void **state) {
  (void)state;
  char root[] = "/tmp/kiln-inv-XXXXXX";
  assert_non_null(mkdtemp(root));
  const char *fn = "sys/devices/pci0000:15/0000:15:01.0/0000:1a:00.0";
  char *child = kiln_strdup_printf("%s/aux0/net/eth5/operstate", fn);
  put(root, child, "up\n");
  free(child);
  char *dir = kiln_strdup_printf("%s/aux0/net/eth5/", fn);
  char *f = kiln_strdup_printf("%sspeed", dir);
  put(root, f, "100000\n");
  free(f);
  f = kiln_strdup_printf("%saddress", dir);
  put(root, f, "a0:88:c2:1e:40:10\n");
  free(f);
  free(dir);
  put(root, "sys/class/net/.keep", "");
  link_at(root, "sys/class/net/eth5",
          "../../devices/pci0000:15/0000:15:01.0/0000:1a:00.0/aux0/net/eth5");
  link_at(root, "sys/class/net/eth5/device", "../../../aux0");
  put(root, "sys/class/infiniband/mlx5_0/fw_ver", "28.40.1000\n");
  put(root, "sys/class/infiniband/mlx5_0/ports/1/rate",
      "200 Gb/sec (4X HDR)\n");
  put(root, "sys/class/infiniband/mlx5_0/ports/1/state", "1: DOWN\n");
  put(root, "sys/class/infiniband/mlx5_0/ports/1/link_layer", "Ethernet\n");
  link_at(root, "sys/class/infiniband/mlx5_0/device",
          "../../../devices/pci0000:15/0000:15:01.0/0000:1a:00.0");

  setenv("KILN_SYSROOT", root, 1);
  struct kiln_inventory inv;
  struct kiln_inventory_options o = {.pci_dump = HGX_DUMP};
  char err[512] = "";
  int rc = kiln_inventory_collect(&inv, &o, err, sizeof err);
  unsetenv("KILN_SYSROOT");
  assert_int_equal(rc, 0);
  assert_string_equal(inv.cpu.model, "");
  assert_int_equal(inv.cpu.threads, 0);
  assert_int_equal(inv.cpu.numa_nodes, 0);
  assert_true(inv.memory.mem_total_bytes == 0);
  assert_string_equal(inv.memory.dimm_note,
                      "no SMBIOS table at /sys/firmware/dmi/tables/DMI");
  assert_string_equal(inv.dmi.sys_vendor, "");
  const struct kiln_inv_nic *n = &inv.nics[0];
  assert_string_equal(n->ifname, "eth5");
  assert_string_equal(n->ib_device, "mlx5_0");
  assert_false(n->infiniband);        /* RoCE */
  assert_true(n->speed_bps == 100e9); /* the net device's, not the port's */
  assert_string_equal(n->link_state, "up");
  assert_string_equal(n->mac, "a0:88:c2:1e:40:10");
  assert_string_equal(n->firmware, "28.40.1000");
  assert_string_equal(inv.nics[1].ifname, "");
  char *t = printed(&inv);
  assert_has_line(t, "note no SMBIOS table at /sys/firmware/dmi/tables/DMI");
  assert_has_line(t, "NUMA nodes unknown");
  free(t);
  kiln_inventory_free(&inv);

  /* A malformed table in place: a note, the slots read before it kept. */
  size_t len;
  uint8_t *bad = slurp(SMBIOS_DIR "truncated.bin", &len);
  write_file(root, "sys/firmware/dmi/tables/DMI", bad, len);
  free(bad);
  setenv("KILN_SYSROOT", root, 1);
  rc = kiln_inventory_collect(&inv, &o, err, sizeof err);
  unsetenv("KILN_SYSROOT");
  assert_int_equal(rc, 0);
  assert_int_equal(inv.memory.n_dimms, 4);
  assert_true(strstr(inv.memory.dimm_note, "truncated") != NULL);
  assert_true(strstr(inv.memory.dimm_note, "incomplete") != NULL);
  kiln_inventory_free(&inv);

  /* Unreadable, as for a user other than root (root reads it anyway). */
  if (geteuid() != 0) {
    char *dmi = kiln_strdup_printf("%s/sys/firmware/dmi/tables/DMI", root);
    assert_int_equal(chmod(dmi, 0), 0);
    free(dmi);
    setenv("KILN_SYSROOT", root, 1);
    rc = kiln_inventory_collect(&inv, &o, err, sizeof err);
    unsetenv("KILN_SYSROOT");
    assert_int_equal(rc, 0);
    assert_int_equal(inv.memory.n_dimms, 0);
    assert_true(strncmp(inv.memory.dimm_note, "needs root", 10) == 0);
    kiln_inventory_free(&inv);
  } else {
    printf("# running as root: the \"needs root\" note is not exercised\n");
  }
  rm_tree(root);
}

/* ---- SMBIOS ---- */

static int parse(const uint8_t *t, size_t len, struct kiln_inv_memory *m,
                 char *why, size_t n) {
  memset(m, 0, sizeof *m);
  why[0] = 0;
  return kiln_inv_smbios_dimms(t, len, m, why, n);
}

static void free_mem(struct kiln_inv_memory *m) {
  for (size_t i = 0; i < m->n_dimms; i++)
    kiln_inv_dimm_free(&m->dimms[i]);
  free(m->dimms);
  memset(m, 0, sizeof *m);
}

static void smbios_fixture_files(void **state) {
  (void)state;
  static const struct {
    const char *file;
    int rc;
    size_t dimms;
    const char *why;
  } cases[] = {
      {"../sysroot/hgx/sys/firmware/dmi/tables/DMI", 0, 32, ""},
      {"truncated.bin", -1, 4, "SMBIOS table truncated: structure at offset"},
      {"bad-length.bin", -1, 1, "has length 2"},
      {"past-end.bin", -1, 1, "runs past the end"},
      {"unterminated.bin", -1, 1, "are not terminated"},
      {"bad-strings.bin", 0, 1, ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    size_t len;
    char *path = kiln_strdup_printf(SMBIOS_DIR "%s", cases[i].file);
    uint8_t *t = slurp(path, &len);
    free(path);
    struct kiln_inv_memory m;
    char why[256];
    int rc = parse(t, len, &m, why, sizeof why);
    if (rc != cases[i].rc || m.n_dimms != cases[i].dimms ||
        !strstr(why, cases[i].why))
      fail_msg("%s: rc %d, %zu DIMMs, '%s'", cases[i].file, rc, m.n_dimms, why);
    if (strcmp(cases[i].file, "bad-strings.bin") == 0) {
      /* String numbers past the set read as "". */
      assert_string_equal(m.dimms[0].manufacturer, "");
      assert_string_equal(m.dimms[0].part_number, "");
      assert_string_equal(m.dimms[0].locator, "only");
    }
    free_mem(&m);
    free(t);
  }
}

/* Every prefix of a real table and many garbled copies: no read outside
 * the buffer (ASan would stop the test), always a result. */
static void smbios_never_crashes(void **state) {
  (void)state;
  size_t len;
  uint8_t *good = slurp(HGX_SMBIOS, &len);
  char why[256];
  struct kiln_inv_memory m;
  for (size_t cut = 0; cut <= len; cut++) {
    uint8_t *t = kiln_xcalloc(cut ? cut : 1, 1); /* exactly cut bytes */
    memcpy(t, good, cut);
    parse(t, cut, &m, why, sizeof why);
    assert_true(m.n_dimms <= 32);
    free_mem(&m);
    free(t);
  }
  uint32_t x = 12345;
  for (int round = 0; round < 3000; round++) {
    uint8_t *t = kiln_xcalloc(len, 1);
    memcpy(t, good, len);
    for (int k = 0; k < 1 + round % 8; k++) {
      x = x * 1103515245u + 12345u;
      t[(x >> 8) % len] = (uint8_t)(x >> 24);
    }
    parse(t, len, &m, why, sizeof why);
    free_mem(&m);
    free(t);
  }
  free(good);
}

/* A type 17 structure of length slen with the given bytes set, strings
 * "DIMM0\0Acme\0\0". */
static size_t dimm(uint8_t *buf, unsigned slen, const uint8_t *patch,
                   size_t npatch) {
  memset(buf, 0, slen);
  buf[0] = 17;
  buf[1] = (uint8_t)slen;
  for (size_t i = 0; i + 1 < npatch; i += 2)
    if (patch[i] < slen)
      buf[patch[i]] = patch[i + 1];
  static const char strings[] = "DIMM0\0Acme\0";
  memcpy(buf + slen, strings, sizeof strings);
  return slen + sizeof strings;
}

static void smbios_fields(void **state) {
  (void)state;
  uint8_t t[512];
  char why[256];
  struct kiln_inv_memory m;
  /* SMBIOS 2.1 (length 0x15): no speed; size in KiB (bit 15). */
  const uint8_t kib[] = {0x0C, 0x00, 0x0D, 0x82, 0x10, 1, 0x12, 0x0F};
  size_t len = dimm(t, 0x15, kib, sizeof kib);
  assert_int_equal(parse(t, len, &m, why, sizeof why), 0);
  assert_int_equal(m.n_dimms, 1);
  assert_true(m.dimms[0].populated);
  assert_true(m.dimms[0].size_bytes == 512 * 1024);
  assert_string_equal(m.dimms[0].type, "SDRAM");
  assert_string_equal(m.dimms[0].locator, "DIMM0");
  assert_int_equal(m.dimms[0].speed_mts, 0);
  assert_string_equal(m.dimms[0].manufacturer, ""); /* beyond the length */
  free_mem(&m);
  /* Size unknown (0xFFFF), rated 3200 and no configured speed (2.6). */
  const uint8_t unknown[] = {0x0C, 0xFF, 0x0D, 0xFF, 0x12, 0x1A,
                             0x15, 0x80, 0x16, 0x0C, 0x17, 2};
  len = dimm(t, 0x1C, unknown, sizeof unknown);
  assert_int_equal(parse(t, len, &m, why, sizeof why), 0);
  assert_true(m.dimms[0].populated);
  assert_true(m.dimms[0].size_bytes == 0);
  assert_string_equal(m.dimms[0].type, "DDR4");
  assert_int_equal(m.dimms[0].speed_mts, 3200);
  assert_string_equal(m.dimms[0].manufacturer, "Acme");
  free_mem(&m);
  /* SMBIOS 3.3: speeds 0xFFFF, the extended ones hold 8800 / 8400;
   * extended size 0x7FFF -> 256 GiB; an unlisted type. */
  const uint8_t ext[] = {0x0C, 0xFF, 0x0D, 0x7F, 0x1C, 0x00, 0x1D,
                         0x00, 0x1E, 0x04, 0x12, 0x99, 0x15, 0xFF,
                         0x16, 0xFF, 0x20, 0xFF, 0x21, 0xFF, 0x54,
                         0x60, 0x55, 0x22, 0x58, 0xD0, 0x59, 0x20};
  len = dimm(t, 0x5C, ext, sizeof ext);
  assert_int_equal(parse(t, len, &m, why, sizeof why), 0);
  assert_true(m.dimms[0].size_bytes == 256 * GIB);
  assert_true(m.dimm_total_bytes == 256 * GIB);
  assert_string_equal(m.dimms[0].type, "type 0x99");
  assert_int_equal(m.dimms[0].speed_mts, 8400); /* configured, extended */
  free_mem(&m);
  /* Configured speed unknown (0): the rated one, extended. */
  uint8_t ext2[sizeof ext + 4];
  memcpy(ext2, ext, sizeof ext);
  memcpy(ext2 + sizeof ext, (const uint8_t[]){0x20, 0, 0x21, 0}, 4);
  len = dimm(t, 0x5C, ext2, sizeof ext2);
  assert_int_equal(parse(t, len, &m, why, sizeof why), 0);
  assert_int_equal(m.dimms[0].speed_mts, 8800);
  free_mem(&m);
  /* 0x7FFF without room for the extended size: populated, size unknown. */
  const uint8_t short_ext[] = {0x0C, 0xFF, 0x0D, 0x7F};
  len = dimm(t, 0x1B, short_ext, sizeof short_ext);
  assert_int_equal(parse(t, len, &m, why, sizeof why), 0);
  assert_true(m.dimms[0].populated);
  assert_true(m.dimms[0].size_bytes == 0);
  free_mem(&m);
  /* An empty slot, then the end of table; anything after it is ignored. */
  len = dimm(t, 0x5C, NULL, 0);
  memcpy(t + len, (const uint8_t[]){127, 4, 0xFF, 0xFF, 0, 0, 17, 1}, 8);
  assert_int_equal(parse(t, len + 8, &m, why, sizeof why), 0);
  assert_int_equal(m.n_dimms, 1);
  assert_false(m.dimms[0].populated);
  assert_int_equal(m.dimms[0].speed_mts, 0);
  assert_true(m.dimm_total_bytes == 0);
  free_mem(&m);
  /* Empty input: nothing, no error. */
  assert_int_equal(parse(t, 0, &m, why, sizeof why), 0);
  assert_int_equal(m.n_dimms, 0);
  char buf[32];
  assert_string_equal(kiln_inv_smbios_memory_type(0x22, buf, sizeof buf),
                      "DDR5");
  assert_string_equal(kiln_inv_smbios_memory_type(0x18, buf, sizeof buf),
                      "DDR3");
  assert_string_equal(kiln_inv_smbios_memory_type(0x16, buf, sizeof buf),
                      "type 0x16");
  assert_string_equal(kiln_inv_smbios_memory_type(0xFF, buf, sizeof buf),
                      "type 0xFF");
}

/* ---- small readers ---- */

static void bus_ids_and_paths(void **state) {
  (void)state;
  assert_true(kiln_inv_is_bdf("0000:1b:00.0", 12));
  assert_true(kiln_inv_is_bdf("10000:e1:1f.7", 13)); /* VMD domain */
  assert_false(kiln_inv_is_bdf("0000:1b:00.8", 12));
  assert_false(kiln_inv_is_bdf("pci0000:15", 10));
  assert_false(kiln_inv_is_bdf("0000:1b:00", 10));
  assert_false(kiln_inv_is_bdf("virtio2", 7));
  char bdf[32];
  assert_true(kiln_inv_link_bdf(SYSROOT "/sys/class/nvme/nvme0/device", bdf,
                                sizeof bdf));
  assert_string_equal(bdf, "0000:1c:00.0");
  assert_false(
      kiln_inv_link_bdf(SYSROOT "/sys/class/net/lo/device", bdf, sizeof bdf));
  char path[256];
  unsetenv("KILN_SYSROOT");
  kiln_sysroot_path(path, sizeof path, "/sys/class/net");
  assert_string_equal(path, "/sys/class/net");
  setenv("KILN_SYSROOT", "/tmp/root", 1);
  kiln_sysroot_path(path, sizeof path, "/sys/class/net");
  assert_string_equal(path, "/tmp/root/sys/class/net");
  unsetenv("KILN_SYSROOT");
  char *s = kiln_inv_clean_text("  M321R8GA0BB0\x01-CQKZJ   \0junk", 30);
  assert_string_equal(s, "M321R8GA0BB0?-CQKZJ");
  free(s);
  s = kiln_inv_clean_text("\xff\xfe"
                          "ab",
                          4);
  assert_string_equal(s, "\xef\xbf\xbd\xef\xbf\xbd"
                         "ab");
  free(s);
}

/* A hand-built inventory with NULL strings and no devices prints. */
static void prints_an_empty_inventory(void **state) {
  (void)state;
  struct kiln_inventory inv;
  memset(&inv, 0, sizeof inv);
  char *t = printed(&inv);
  assert_true(strstr(t, "GPUs (0)") != NULL);
  free(t);
  json_t *j = kiln_inventory_to_json(&inv);
  assert_non_null(j);
  assert_int_equal(json_array_size(json_object_get(j, "gpus")), 0);
  json_decref(j);
  kiln_inventory_free(&inv);
}

/* ---- NVML loader ---- */

static void nvml_loader_failures(void **state) {
  (void)state;
  char why[512] = "";
  setenv("KILN_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
  assert_null(kiln_nvml_open(why, sizeof why));
  assert_string_equal(why, "/nonexistent/libnvidia-ml.so.1 not found");
  /* A real library without NVML's symbols. */
  setenv("KILN_NVML_LIB", "libm.so.6", 1);
  assert_null(kiln_nvml_open(why, sizeof why));
  assert_string_equal(why, "libm.so.6: missing symbol nvmlInit_v2");
  unsetenv("KILN_NVML_LIB");
  kiln_nvml_close(NULL);
  assert_string_equal(kiln_nvml_error(NULL, 3), "unknown NVML error");
  /* The real name: absent on machines without the driver. */
  struct kiln_nvml *nv = kiln_nvml_open(why, sizeof why);
  if (nv) {
    printf("# NVML loaded from libnvidia-ml.so.1\n");
    kiln_nvml_close(nv);
  } else {
    printf("# NVML: %s\n", why);
    assert_true(strlen(why) > 0);
  }
}

/* The GPU part's use of NVML, through a table of stand-in functions (the
 * real library needs the driver): every GPU NVML knows gets its name,
 * serial and UUID; the one it does not is named in the note. */
static int fake_handles;
static kiln_nvml_return fake_handle(const char *bus_id, kiln_nvml_device *dev) {
  if (strcmp(bus_id, "0000:bb:00.0") == 0)
    return KILN_NVML_ERROR_NOT_FOUND;
  fake_handles++;
  *dev = (kiln_nvml_device)(uintptr_t)0x1000;
  return KILN_NVML_SUCCESS;
}
static kiln_nvml_return fake_name(kiln_nvml_device d, char *buf,
                                  unsigned int n) {
  assert_true(d == (kiln_nvml_device)(uintptr_t)0x1000);
  snprintf(buf, n, "NVIDIA H100 80GB HBM3");
  return KILN_NVML_SUCCESS;
}
static kiln_nvml_return fake_serial(kiln_nvml_device d, char *buf,
                                    unsigned int n) {
  (void)d;
  snprintf(buf, n, "1654123456789");
  return KILN_NVML_SUCCESS;
}
static kiln_nvml_return fake_uuid(kiln_nvml_device d, char *buf,
                                  unsigned int n) {
  (void)d;
  (void)buf;
  (void)n;
  return KILN_NVML_ERROR_NOT_SUPPORTED;
}
static const char *fake_error(kiln_nvml_return rc) {
  return rc == KILN_NVML_ERROR_NOT_FOUND ? "Not Found" : "Unknown Error";
}

static void gpus_from_nvml(void **state) {
  (void)state;
  struct kiln_inventory inv;
  struct kiln_inventory_options o = {.pci_dump = HGX_DUMP};
  char err[512] = "";
  assert_int_equal(kiln_inventory_collect(&inv, &o, err, sizeof err), 0);
  struct kiln_nvml nv = {.device_get_handle_by_pci_bus_id = fake_handle,
                         .device_get_name = fake_name,
                         .device_get_serial = fake_serial,
                         .device_get_uuid = fake_uuid,
                         .error_string = fake_error};
  char *note = kiln_inv_gpus_from_nvml(&inv, &nv);
  assert_int_equal(fake_handles, 7);
  assert_string_equal(
      note, "NVML does not know 1 of 8 GPUs (0000:bb:00.0: Not Found)");
  free(note);
  assert_string_equal(inv.gpus[0].name, "NVIDIA H100 80GB HBM3");
  assert_string_equal(inv.gpus[0].serial, "1654123456789");
  assert_string_equal(inv.gpus[0].uuid, "");
  assert_string_equal(inv.gpus[7].name, "");
  char *t = printed(&inv);
  assert_has_line(t, "0000:18:00.0 NVIDIA H100 80GB HBM3 1654123456789 cap 32 "
                     "GT/s x16, trained 32 GT/s x16 -");
  assert_has_line(t, "0000:bb:00.0 GH100[H100 SXM5 80GB] - cap 32 GT/s x16, "
                     "trained 32 GT/s x16 -");
  free(t);
  kiln_inventory_free(&inv);
}

/* ---- the live machine ---- */

static double ms_since(double t0) { return (kiln_monotonic_now() - t0) * 1e3; }

static void live_machine(void **state) {
  (void)state;
  unsetenv("KILN_SYSROOT");
  struct kiln_inventory inv;
  char err[512] = "";
  struct kiln_inventory_options o = {0};
  assert_int_equal(kiln_inventory_collect(&inv, &o, err, sizeof err), 0);
  assert_true(strlen(inv.cpu.model) > 0);
  assert_true(inv.cpu.threads > 0);
  assert_true(inv.cpu.sockets > 0);
  assert_true(inv.memory.mem_total_bytes > 0);
  assert_non_null(inv.memory.dimm_note);
  assert_false(inv.pci.from_dump);
  char *t = printed(&inv);
  assert_true(strstr(t, "\nCPU\n") != NULL);
  free(t);
  json_t *j = kiln_inventory_to_json(&inv);
  assert_non_null(j);
  json_decref(j);
  kiln_inventory_free(&inv);

  /* Collect + print, as `kiln inventory` does (a TAP comment, not an
   * assertion: this binary is built with sanitizers). */
  FILE *null = fopen("/dev/null", "w");
  assert_non_null(null);
  const int rounds = 20;
  double worst = 0, total = 0;
  for (int i = 0; i < rounds; i++) {
    double t0 = kiln_monotonic_now();
    assert_int_equal(kiln_inventory_collect(&inv, &o, err, sizeof err), 0);
    kiln_inventory_print(&inv, null);
    kiln_inventory_free(&inv);
    double ms = ms_since(t0);
    total += ms;
    if (ms > worst)
      worst = ms;
  }
  fclose(null);
  printf("# live collect + print (ASan build): mean %.2f ms, worst %.2f ms "
         "over %d rounds\n",
         total / rounds, worst, rounds);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  /* The HGX fixture is collected once for the group; the other tests make
   * their own. */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(hgx_dmi_and_cpu),
      cmocka_unit_test(hgx_memory),
      cmocka_unit_test(hgx_devices),
      cmocka_unit_test(hgx_table),
      cmocka_unit_test(hgx_json),
      cmocka_unit_test(dump_without_sysroot),
      cmocka_unit_test(degraded_link_marked),
      cmocka_unit_test(bad_dump_fails),
      cmocka_unit_test(sparse_sysroot),
      cmocka_unit_test(smbios_fixture_files),
      cmocka_unit_test(smbios_never_crashes),
      cmocka_unit_test(smbios_fields),
      cmocka_unit_test(bus_ids_and_paths),
      cmocka_unit_test(prints_an_empty_inventory),
      cmocka_unit_test(nvml_loader_failures),
      cmocka_unit_test(gpus_from_nvml),
      cmocka_unit_test(live_machine),
  };
  return cmocka_run_group_tests_name("inventory", tests, collect_hgx, free_hgx);
}
