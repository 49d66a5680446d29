/* kiln_inventory_collect(): runs one collector per source (inventory_*.c)
 * and the small readers they share. */
#include "kiln/inventory.h"

#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "inventory_sources.h"
#include "kiln/sysfs.h"
#include "kiln/textutil.h"

char *kiln_inv_clean_text(const char *s, size_t len) {
  size_t end = 0;
  while (end < len && s[end])
    end++;
  size_t start = 0;
  while (start < end && isspace((unsigned char)s[start]))
    start++;
  while (end > start && isspace((unsigned char)s[end - 1]))
    end--;
  char *raw = kiln_xcalloc(end - start + 1, 1);
  for (size_t i = start; i < end; i++) {
    unsigned char c = (unsigned char)s[i];
    raw[i - start] = (char)(c < 0x20 || c == 0x7f ? '?' : c);
  }
  char *clean = kiln_utf8_sanitize(raw);
  free(raw);
  return clean;
}

/* The first line of the file at path (taken as is), or "". */
static char *read_first_line(const char *path, bool *found) {
  if (found)
    *found = false;
  FILE *f = fopen(path, "r");
  if (!f)
    return kiln_xstrdup("");
  char buf[4096];
  size_t got = fread(buf, 1, sizeof buf - 1, f);
  bool ok = !ferror(f);
  fclose(f);
  if (!ok)
    return kiln_xstrdup("");
  buf[got] = 0;
  char *nl = memchr(buf, '\n', got);
  if (nl)
    got = (size_t)(nl - buf);
  if (found)
    *found = true;
  return kiln_inv_clean_text(buf, got);
}

char *kiln_inv_read_line(const char *path, bool *found) {
  char full[PATH_MAX];
  kiln_sysroot_path(full, sizeof full, path);
  return read_first_line(full, found);
}

char *kiln_inv_read_attr(const char *dir, const char *name) {
  char *full = kiln_strdup_printf("%s/%s", dir, name);
  char *line = read_first_line(full, NULL);
  free(full);
  return line;
}

static size_t hex_run(const char *s, size_t len) {
  size_t i = 0;
  while (i < len && isxdigit((unsigned char)s[i]))
    i++;
  return i;
}

bool kiln_inv_is_bdf(const char *s, size_t len) {
  size_t dom = hex_run(s, len);
  if (dom < 4 || dom > 8 || len != dom + 1 + 2 + 1 + 2 + 2)
    return false;
  const char *p = s + dom;
  return p[0] == ':' && hex_run(p + 1, 2) == 2 && p[3] == ':' &&
         hex_run(p + 4, 2) == 2 && p[6] == '.' && p[7] >= '0' && p[7] <= '7';
}

/* The last component of path that is a bus id. */
static bool last_bdf(const char *path, char *bdf, size_t n) {
  bool found = false;
  const char *p = path;
  while (*p) {
    const char *slash = strchr(p, '/');
    size_t len = slash ? (size_t)(slash - p) : strlen(p);
    if (kiln_inv_is_bdf(p, len)) {
      snprintf(bdf, n, "%.*s", (int)len, p);
      found = true;
    }
    p += len;
    if (*p == '/')
      p++;
  }
  for (char *c = bdf; found && *c; c++)
    *c = (char)tolower((unsigned char)*c);
  return found;
}

bool kiln_inv_link_bdf(const char *link, char *bdf, size_t n) {
  char target[PATH_MAX];
  ssize_t len = readlink(link, target, sizeof target - 1);
  if (len >= 0) {
    target[len] = 0;
    if (last_bdf(target, bdf, n))
      return true;
  }
  /* A virtio or auxiliary device between the function and the class
   * device: the bus id is further up the resolved path. */
  char *real = realpath(link, NULL);
  if (!real)
    return false;
  bool ok = last_bdf(real, bdf, n);
  free(real);
  return ok;
}

size_t kiln_inv_scan_class(const char *class_dir, const char *prefix,
                           struct kiln_inv_by_bdf **out) {
  char dir[PATH_MAX];
  kiln_sysroot_path(dir, sizeof dir, class_dir);
  *out = NULL;
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix)) != 0)
      continue;
    char *link = kiln_strdup_printf("%s/%s/device", dir, e->d_name);
    char bdf[32];
    bool ok = kiln_inv_link_bdf(link, bdf, sizeof bdf);
    free(link);
    if (!ok)
      continue; /* not a PCI function's (an NVMe fabrics controller) */
    *out = kiln_xrealloc(*out, (n + 1) * sizeof **out);
    snprintf((*out)[n].bdf, sizeof(*out)[n].bdf, "%s", bdf);
    snprintf((*out)[n].name, sizeof(*out)[n].name, "%s", e->d_name);
    n++;
  }
  closedir(d);
  return n;
}

const char *kiln_inv_find_by_bdf(const struct kiln_inv_by_bdf *t, size_t n,
                                 const char *bdf) {
  const char *best = NULL;
  for (size_t i = 0; i < n; i++)
    if (strcasecmp(t[i].bdf, bdf) == 0 &&
        (!best || strcmp(t[i].name, best) < 0))
      best = t[i].name;
  return best;
}

bool kiln_inv_sysfs_matches_bus(const struct kiln_pci_bus *bus) {
  return !bus->from_dump || kiln_sysroot_set();
}

int kiln_inventory_collect(struct kiln_inventory *inv,
                           const struct kiln_inventory_options *o, char *err,
                           size_t n) {
  static const struct kiln_inventory_options defaults = {0};
  if (!o)
    o = &defaults;
  memset(inv, 0, sizeof *inv);
  if (kiln_pci_scan(o->pci_dump, &inv->pci, err, n) != 0) {
    memset(&inv->pci, 0, sizeof inv->pci);
    return -1;
  }
  kiln_inv_collect_dmi(&inv->dmi);
  kiln_inv_collect_cpu(&inv->cpu);
  kiln_inv_collect_memory(&inv->memory);
  kiln_inv_collect_nics(inv);
  kiln_inv_collect_nvme(inv);
  kiln_inv_collect_gpus(inv, !o->skip_nvml);
  return 0;
}

void kiln_inv_dimm_free(struct kiln_inv_dimm *d) {
  free(d->locator);
  free(d->bank_locator);
  free(d->type);
  free(d->manufacturer);
  free(d->part_number);
  free(d->serial);
}

void kiln_inventory_free(struct kiln_inventory *inv) {
  if (!inv)
    return;
  struct kiln_inv_dmi *d = &inv->dmi;
  free(d->sys_vendor);
  free(d->product);
  free(d->serial);
  free(d->board_serial);
  free(d->bios_vendor);
  free(d->bios_version);
  free(d->bios_date);
  free(inv->cpu.model);
  free(inv->cpu.microcode);
  for (size_t i = 0; i < inv->memory.n_dimms; i++)
    kiln_inv_dimm_free(&inv->memory.dimms[i]);
  free(inv->memory.dimms);
  free(inv->memory.dimm_note);
  for (size_t i = 0; i < inv->n_nics; i++) {
    struct kiln_inv_nic *c = &inv->nics[i];
    free(c->bdf);
    free(c->name);
    free(c->ifname);
    free(c->ib_device);
    free(c->link_state);
    free(c->mac);
    free(c->firmware);
  }
  free(inv->nics);
  for (size_t i = 0; i < inv->n_nvmes; i++) {
    struct kiln_inv_nvme *v = &inv->nvmes[i];
    free(v->bdf);
    free(v->name);
    free(v->ctrl);
    free(v->model);
    free(v->serial);
    free(v->firmware);
  }
  free(inv->nvmes);
  for (size_t i = 0; i < inv->n_gpus; i++) {
    struct kiln_inv_gpu *g = &inv->gpus[i];
    free(g->bdf);
    free(g->pci_name);
    free(g->name);
    free(g->serial);
    free(g->uuid);
  }
  free(inv->gpus);
  free(inv->nvml_note);
  if (inv->pci.devs || inv->pci.source || inv->pci.access)
    kiln_pci_free(&inv->pci);
  memset(inv, 0, sizeof *inv);
}
