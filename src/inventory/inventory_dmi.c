/* Inventory source: the system's identity from /sys/class/dmi/id (the
 * kernel's copy of SMBIOS types 0, 1 and 2). product_serial and
 * board_serial are readable by root only: "" otherwise. */
#include <stdlib.h>

#include "inventory_sources.h"

void kiln_inv_collect_dmi(struct kiln_inv_dmi *dmi) {
  dmi->sys_vendor = kiln_inv_read_line("/sys/class/dmi/id/sys_vendor", NULL);
  dmi->product = kiln_inv_read_line("/sys/class/dmi/id/product_name", NULL);
  dmi->serial = kiln_inv_read_line("/sys/class/dmi/id/product_serial", NULL);
  dmi->board_serial =
      kiln_inv_read_line("/sys/class/dmi/id/board_serial", NULL);
  dmi->bios_vendor = kiln_inv_read_line("/sys/class/dmi/id/bios_vendor", NULL);
  dmi->bios_version =
      kiln_inv_read_line("/sys/class/dmi/id/bios_version", NULL);
  dmi->bios_date = kiln_inv_read_line("/sys/class/dmi/id/bios_date", NULL);
}
