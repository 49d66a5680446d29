/* Inventory source: the CPUs. Model and microcode from /proc/cpuinfo; the
 * topology (which package and core each logical CPU is on) from
 * /sys/devices/system/cpu/cpuN/topology, falling back to cpuinfo's
 * "physical id" and "core id"; NUMA nodes from /sys/devices/system/node. */
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory_sources.h"
#include "kiln/textutil.h"

struct logical_cpu {
  long id, package, core; /* -1 unknown */
};

struct cpuinfo {
  struct logical_cpu *cpus;
  size_t n;
  char *model, *microcode;
  char *arm_implementer, *arm_part; /* arm64 has no "model name" */
};

static long parse_long(const char *s) {
  char *end;
  long v = strtol(s, &end, 0);
  while (isspace((unsigned char)*end))
    end++;
  return end != s && *end == 0 ? v : -1;
}

static void take_first(char **slot, const char *value) {
  if (!*slot && *value)
    *slot = kiln_inv_clean_text(value, strlen(value));
}

static void parse_cpuinfo(FILE *f, struct cpuinfo *ci) {
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    char *colon = strchr(line, ':');
    if (!colon)
      continue;
    char *value = colon + 1;
    while (*value == ' ' || *value == '\t')
      value++;
    value[strcspn(value, "\n")] = 0;
    char *k = colon;
    while (k > line && isspace((unsigned char)k[-1]))
      k--;
    *k = 0;
    if (strcmp(line, "processor") == 0) {
      ci->cpus = kiln_xrealloc(ci->cpus, (ci->n + 1) * sizeof *ci->cpus);
      ci->cpus[ci->n++] = (struct logical_cpu){
          .id = parse_long(value), .package = -1, .core = -1};
    } else if (ci->n && strcmp(line, "physical id") == 0) {
      ci->cpus[ci->n - 1].package = parse_long(value);
    } else if (ci->n && strcmp(line, "core id") == 0) {
      ci->cpus[ci->n - 1].core = parse_long(value);
    } else if (strcmp(line, "model name") == 0 ||
               strcmp(line, "cpu model") == 0 || strcmp(line, "cpu") == 0) {
      take_first(&ci->model, value);
    } else if (strcmp(line, "microcode") == 0) {
      take_first(&ci->microcode, value);
    } else if (strcmp(line, "CPU implementer") == 0) {
      take_first(&ci->arm_implementer, value);
    } else if (strcmp(line, "CPU part") == 0) {
      take_first(&ci->arm_part, value);
    }
  }
  free(line);
}

/* sysfs topology overrides cpuinfo's, which some architectures lack. */
static void topology_from_sysfs(struct logical_cpu *c) {
  if (c->id < 0)
    return;
  char path[128];
  bool found;
  snprintf(path, sizeof path,
           "/sys/devices/system/cpu/cpu%ld/topology/physical_package_id",
           c->id);
  char *v = kiln_inv_read_line(path, &found);
  if (found && parse_long(v) >= 0)
    c->package = parse_long(v);
  free(v);
  snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%ld/topology/core_id",
           c->id);
  v = kiln_inv_read_line(path, &found);
  if (found && parse_long(v) >= 0)
    c->core = parse_long(v);
  free(v);
}

static int cmp_cpu(const void *a, const void *b) {
  const struct logical_cpu *x = a, *y = b;
  if (x->package != y->package)
    return x->package < y->package ? -1 : 1;
  if (x->core != y->core)
    return x->core < y->core ? -1 : 1;
  return 0;
}

static int count_numa_nodes(void) {
  char path[PATH_MAX];
  kiln_sysroot_path(path, sizeof path, "/sys/devices/system/node");
  DIR *d = opendir(path);
  if (!d)
    return 0;
  int nodes = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    const char *name = e->d_name;
    if (strncmp(name, "node", 4) == 0 && name[4] &&
        strspn(name + 4, "0123456789") == strlen(name + 4))
      nodes++;
  }
  closedir(d);
  return nodes;
}

void kiln_inv_collect_cpu(struct kiln_inv_cpu *cpu) {
  struct cpuinfo ci = {0};
  char path[PATH_MAX];
  kiln_sysroot_path(path, sizeof path, "/proc/cpuinfo");
  FILE *f = fopen(path, "r");
  if (f) {
    parse_cpuinfo(f, &ci);
    fclose(f);
  }
  for (size_t i = 0; i < ci.n; i++)
    topology_from_sysfs(&ci.cpus[i]);
  cpu->threads = (int)ci.n;
  /* Sockets: distinct packages; cores: distinct (package, core) pairs. An
   * unknown topology counts each logical CPU as a core of one socket. */
  if (ci.n)
    qsort(ci.cpus, ci.n, sizeof *ci.cpus, cmp_cpu);
  for (size_t i = 0; i < ci.n; i++) {
    bool new_package = i == 0 || ci.cpus[i].package != ci.cpus[i - 1].package;
    if (new_package)
      cpu->sockets++;
    if (new_package || ci.cpus[i].core < 0 ||
        ci.cpus[i].core != ci.cpus[i - 1].core)
      cpu->cores++;
  }
  if (ci.model)
    cpu->model = ci.model;
  else if (ci.arm_implementer && ci.arm_part)
    cpu->model = kiln_strdup_printf("Arm implementer %s part %s",
                                    ci.arm_implementer, ci.arm_part);
  else
    cpu->model = kiln_xstrdup("");
  cpu->microcode = ci.microcode ? ci.microcode : kiln_xstrdup("");
  cpu->numa_nodes = count_numa_nodes();
  free(ci.arm_implementer);
  free(ci.arm_part);
  free(ci.cpus);
}
