/* Inventory source: network adapters. Every PCI function of class 02xx is
 * one; where sysfs matches the bus (kiln_inv_sysfs_matches_bus) each is
 * matched by bus id to its net device (/sys/class/net/IF/device: speed,
 * operstate, address) and its RDMA device (/sys/class/infiniband/DEV/device:
 * fw_ver, ports/N/rate, state, link_layer). */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inventory_sources.h"
#include "kiln/textutil.h"

/* The lowest-numbered port directory of an RDMA device, or -1. */
static long first_port(const char *ibdir) {
  char *ports = kiln_strdup_printf("%s/ports", ibdir);
  DIR *d = opendir(ports);
  free(ports);
  if (!d)
    return -1;
  long best = -1;
  struct dirent *e;
  while ((e = readdir(d))) {
    char *end;
    long p = strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == 0 && p >= 0 && (best < 0 || p < best))
      best = p;
  }
  closedir(d);
  return best;
}

static void from_netdev(struct kiln_inv_nic *nic, const char *ifname) {
  char dir[PATH_MAX];
  kiln_sysroot_path(dir, sizeof dir, "/sys/class/net");
  char *path = kiln_strdup_printf("%s/%s", dir, ifname);
  free(nic->ifname);
  nic->ifname = kiln_xstrdup(ifname);
  char *speed = kiln_inv_read_attr(path, "speed"); /* Mb/s; -1 unknown */
  char *end;
  double mbps = strtod(speed, &end);
  if (end != speed && mbps > 0)
    nic->speed_bps = mbps * 1e6;
  free(speed);
  free(nic->link_state);
  nic->link_state = kiln_inv_read_attr(path, "operstate");
  free(nic->mac);
  nic->mac = kiln_inv_read_attr(path, "address");
  free(path);
}

static void from_ibdev(struct kiln_inv_nic *nic, const char *ibdev) {
  char dir[PATH_MAX];
  kiln_sysroot_path(dir, sizeof dir, "/sys/class/infiniband");
  char *path = kiln_strdup_printf("%s/%s", dir, ibdev);
  free(nic->ib_device);
  nic->ib_device = kiln_xstrdup(ibdev);
  free(nic->firmware);
  nic->firmware = kiln_inv_read_attr(path, "fw_ver");
  long port = first_port(path);
  char *pdir = kiln_strdup_printf("%s/ports/%ld", path, port);
  free(path);
  if (port < 0) {
    free(pdir);
    return;
  }
  char *layer = kiln_inv_read_attr(pdir, "link_layer");
  /* RoCE ports say "Ethernet": the net device's speed and state hold. */
  nic->infiniband = layer[0] == 0 || strcasecmp(layer, "InfiniBand") == 0;
  free(layer);
  char *rate = kiln_inv_read_attr(pdir, "rate"); /* "400 Gb/sec (4X NDR)" */
  char *end;
  double gbps = strtod(rate, &end);
  if (end != rate && gbps > 0 && (nic->infiniband || nic->speed_bps == 0))
    nic->speed_bps = gbps * 1e9;
  free(rate);
  char *state = kiln_inv_read_attr(pdir, "state"); /* "4: ACTIVE" */
  const char *word = strchr(state, ':');
  word = word ? word + 1 : state;
  while (*word == ' ')
    word++;
  if (*word && (nic->infiniband || !nic->link_state[0])) {
    free(nic->link_state);
    nic->link_state = kiln_xstrdup(word);
  }
  free(state);
  free(pdir);
}

void kiln_inv_collect_nics(struct kiln_inventory *inv) {
  const struct kiln_pci_bus *bus = &inv->pci;
  struct kiln_inv_by_bdf *net = NULL, *ib = NULL;
  size_t n_net = 0, n_ib = 0;
  if (kiln_inv_sysfs_matches_bus(bus)) {
    n_net = kiln_inv_scan_class("/sys/class/net", "", &net);
    n_ib = kiln_inv_scan_class("/sys/class/infiniband", "", &ib);
  }
  for (size_t i = 0; i < bus->n; i++) {
    const struct kiln_pci_device *d = &bus->devs[i];
    if (!kiln_pci_is_nic(d))
      continue;
    inv->nics = kiln_xrealloc(inv->nics, (inv->n_nics + 1) * sizeof *inv->nics);
    struct kiln_inv_nic *nic = &inv->nics[inv->n_nics++];
    char name[256];
    kiln_pci_device_name(bus, d, name, sizeof name);
    *nic = (struct kiln_inv_nic){.bdf = kiln_xstrdup(d->bdf),
                                 .name = kiln_xstrdup(name),
                                 .vendor_id = d->vendor_id,
                                 .device_id = d->device_id,
                                 .ifname = kiln_xstrdup(""),
                                 .ib_device = kiln_xstrdup(""),
                                 .link_state = kiln_xstrdup(""),
                                 .mac = kiln_xstrdup(""),
                                 .firmware = kiln_xstrdup("")};
    const char *ifname = kiln_inv_find_by_bdf(net, n_net, d->bdf);
    if (ifname)
      from_netdev(nic, ifname);
    const char *ibdev = kiln_inv_find_by_bdf(ib, n_ib, d->bdf);
    if (ibdev)
      from_ibdev(nic, ibdev);
  }
  free(net);
  free(ib);
}
