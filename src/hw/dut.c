#include "hw/dut.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "kiln/sysfs.h"
#include "kiln/textutil.h"

static char *read_dmi(const char *name) {
  char root[400], path[512];
  kiln_sysroot_path(root, sizeof root, "/sys/class/dmi/id");
  snprintf(path, sizeof path, "%s/%s", root, name);
  FILE *f = fopen(path, "r");
  char buf[256] = "";
  if (f) {
    if (!fgets(buf, sizeof buf, f))
      buf[0] = 0;
    fclose(f);
  }
  size_t len = strlen(buf);
  while (len && isspace((unsigned char)buf[len - 1]))
    buf[--len] = 0;
  return kiln_utf8_sanitize(buf);
}

/* Firmware vendors fill unset serials with these. */
static bool is_placeholder(const char *s) {
  static const char *const junk[] = {
      "",
      "0",
      "none",
      "default string",
      "to be filled by o.e.m.",
      "system serial number",
      "not specified",
      "0123456789",
      "n/a",
  };
  for (size_t i = 0; i < sizeof junk / sizeof *junk; i++)
    if (strcasecmp(s, junk[i]) == 0)
      return true;
  return false;
}

void kiln_dut_probe(struct kiln_dut *dut, const char *serial_override) {
  char host[256] = "";
  if (gethostname(host, sizeof host - 1) != 0)
    snprintf(host, sizeof host, "unknown-host");
  dut->hostname = kiln_utf8_sanitize(host);
  dut->vendor = read_dmi("sys_vendor");
  dut->product = read_dmi("product_name");
  dut->board_serial = read_dmi("board_serial");
  dut->bios_vendor = read_dmi("bios_vendor");
  dut->bios_version = read_dmi("bios_version");
  dut->bios_date = read_dmi("bios_date");
  char *dmi_serial = read_dmi("product_serial");
  if (serial_override && *serial_override)
    dut->serial = kiln_utf8_sanitize(serial_override);
  else if (!is_placeholder(dmi_serial))
    dut->serial = kiln_xstrdup(dmi_serial);
  else
    dut->serial = kiln_xstrdup(dut->hostname);
  free(dmi_serial);
}

void kiln_dut_path_name(const char *serial, char *buf, size_t n) {
  size_t o = 0;
  for (const char *p = serial; *p && o + 1 < n && o < 64; p++) {
    unsigned char ch = (unsigned char)*p;
    buf[o++] =
        (isalnum(ch) || ch == '.' || ch == '-' || ch == '_') ? (char)ch : '_';
  }
  buf[o] = 0;
  if (o == 0 || buf[0] == '.')
    snprintf(buf, n, "dut");
}
