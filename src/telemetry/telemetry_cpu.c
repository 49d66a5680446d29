/* Telemetry source "cpu": each CPU's current frequency
 * (cpuN/cpufreq/scaling_cur_freq, kHz, reported in MHz: id "cpu3/freq")
 * with its hardware range (cpuinfo_min_freq, cpuinfo_max_freq) as the
 * reading's min and max, and the thermal-throttle counters
 * (cpuN/thermal_throttle/, x86 with thermal monitoring). The kernel repeats a
 * core's counter in each of its threads and a package's in each of its CPUs;
 * with topology at hand each is read once: "cpu2/core_throttle_count" (the
 * core's first CPU) and "package0/package_throttle_count". */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln/inventory.h"
#include "kiln/sysfs.h"
#include "kiln/telemetry.h"
#include "kiln/textutil.h"

struct cpu_sensor {
  char *path, *id, *label;
  enum kiln_tel_kind kind;
  double min, max; /* cpuinfo_min_freq, cpuinfo_max_freq (MHz) or NaN */
};

struct cpu_state {
  struct cpu_sensor *s;
  size_t n, cap;
};

static void add(struct cpu_state *st, const char *path, enum kiln_tel_kind kind,
                char *id, char *label) {
  if (st->n == st->cap) {
    st->cap = st->cap ? st->cap * 2 : 64;
    st->s = kiln_xrealloc(st->s, st->cap * sizeof *st->s);
  }
  st->s[st->n++] =
      (struct cpu_sensor){kiln_xstrdup(path), id, label, kind, NAN, NAN};
}

/* cpufreq/<name> of cpudir in MHz, or NaN. */
static double freq_limit(const char *cpudir, const char *name) {
  char path[PATH_MAX];
  uint64_t v;
  return kiln_tel_path(path, sizeof path, "%s/cpufreq/%s", cpudir, name) &&
                 kiln_tel_read_u64(path, &v)
             ? (double)v / 1000.0
             : NAN;
}

/* topology/<name> of cpudir as a number, or -1. */
static long topo(const char *cpudir, const char *name) {
  char path[PATH_MAX];
  uint64_t v;
  if (!kiln_tel_path(path, sizeof path, "%s/topology/%s", cpudir, name) ||
      !kiln_tel_read_u64(path, &v) || v > INT_MAX)
    return -1;
  return (long)v;
}

struct seen {
  long pkg, core;
};

static bool seen_before(const struct seen *seen, size_t n, long pkg,
                        long core) {
  for (size_t i = 0; i < n; i++)
    if (seen[i].pkg == pkg && seen[i].core == core)
      return true;
  return false;
}

static void cpu_close(void *state);

static void *cpu_open(char *why, size_t n) {
  if (n)
    why[0] = '\0';
  char root[PATH_MAX];
  kiln_sysroot_path(root, sizeof root, "/sys/devices/system/cpu");
  int *cpus;
  size_t n_cpu = kiln_tel_numbered(root, "cpu", &cpus);
  struct cpu_state *st = kiln_xcalloc(1, sizeof *st);
  /* Cores and packages already given a counter (core -1: a package). */
  struct seen *seen = kiln_xcalloc(n_cpu * 2 + 1, sizeof *seen);
  size_t n_seen = 0;
  for (size_t i = 0; i < n_cpu; i++) {
    int cpu = cpus[i];
    char dir[PATH_MAX], path[PATH_MAX];
    if (!kiln_tel_path(dir, sizeof dir, "%s/cpu%d", root, cpu))
      continue;
    if (kiln_tel_path(path, sizeof path, "%s/cpufreq/scaling_cur_freq", dir) &&
        access(path, R_OK) == 0) {
      add(st, path, KILN_TEL_FREQ_MHZ, kiln_strdup_printf("cpu%d/freq", cpu),
          kiln_strdup_printf("cpu%d", cpu));
      st->s[st->n - 1].min = freq_limit(dir, "cpuinfo_min_freq");
      st->s[st->n - 1].max = freq_limit(dir, "cpuinfo_max_freq");
    }
    long pkg = topo(dir, "physical_package_id");
    long core = topo(dir, "core_id");
    if (kiln_tel_path(path, sizeof path,
                      "%s/thermal_throttle/core_throttle_count", dir) &&
        access(path, R_OK) == 0) {
      if (pkg < 0 || core < 0)
        add(st, path, KILN_TEL_COUNT,
            kiln_strdup_printf("cpu%d/core_throttle_count", cpu),
            kiln_strdup_printf("cpu%d core throttling", cpu));
      else if (!seen_before(seen, n_seen, pkg, core)) {
        seen[n_seen++] = (struct seen){pkg, core};
        add(st, path, KILN_TEL_COUNT,
            kiln_strdup_printf("cpu%d/core_throttle_count", cpu),
            kiln_strdup_printf("package %ld core %ld throttling", pkg, core));
      }
    }
    if (kiln_tel_path(path, sizeof path,
                      "%s/thermal_throttle/package_throttle_count", dir) &&
        access(path, R_OK) == 0) {
      if (pkg < 0)
        add(st, path, KILN_TEL_COUNT,
            kiln_strdup_printf("cpu%d/package_throttle_count", cpu),
            kiln_strdup_printf("cpu%d package throttling", cpu));
      else if (!seen_before(seen, n_seen, pkg, -1)) {
        seen[n_seen++] = (struct seen){pkg, -1};
        add(st, path, KILN_TEL_COUNT,
            kiln_strdup_printf("package%ld/package_throttle_count", pkg),
            kiln_strdup_printf("package %ld throttling", pkg));
      }
    }
  }
  free(seen);
  free(cpus);
  if (st->n == 0) {
    if (n_cpu == 0)
      snprintf(why, n, "no CPUs under /sys/devices/system/cpu");
    else
      snprintf(why, n,
               "no cpufreq or thermal_throttle files for %zu CPU%s "
               "(no cpufreq driver, or a VM)",
               n_cpu, n_cpu == 1 ? "" : "s");
    cpu_close(st);
    return NULL;
  }
  return st;
}

static size_t cpu_sample(void *state, kiln_tel_emit_fn emit, void *ctx) {
  struct cpu_state *st = state;
  size_t n = 0;
  for (size_t i = 0; i < st->n; i++) {
    const struct cpu_sensor *s = &st->s[i];
    uint64_t v;
    if (!kiln_tel_read_u64(s->path, &v))
      continue;
    struct kiln_tel_reading r = {
        .id = s->id,
        .label = s->label,
        .kind = s->kind,
        .value = s->kind == KILN_TEL_FREQ_MHZ ? (double)v / 1000.0 : (double)v,
        .min = s->min,
        .max = s->max,
        .crit = NAN,
    };
    emit(ctx, &r);
    n++;
  }
  return n;
}

static void cpu_close(void *state) {
  struct cpu_state *st = state;
  if (!st)
    return;
  for (size_t i = 0; i < st->n; i++) {
    free(st->s[i].path);
    free(st->s[i].id);
    free(st->s[i].label);
  }
  free(st->s);
  free(st);
}

const struct kiln_tel_source kiln_tel_cpu = {
    .name = "cpu",
    .summary = "CPU frequency (cpufreq) and thermal-throttle counters",
    .open = cpu_open,
    .sample = cpu_sample,
    .close = cpu_close,
};
