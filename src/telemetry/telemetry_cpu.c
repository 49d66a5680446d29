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

static void *cpu_open(char *why, size_t n) {
  if (n)
    why[0] = '\0';
  char root[PATH_MAX];
  kiln_sysroot_path(root, sizeof root, "/sys/devices/system/cpu");
  int *cpus;
  size_t n_cpu = kiln_tel_numbered(root, "cpu", &cpus);
  struct kiln_tel_files *st = kiln_xcalloc(1, sizeof *st);
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
      struct kiln_tel_file *f = kiln_tel_files_add(
          st, path, KILN_TEL_FREQ_MHZ, kiln_strdup_printf("cpu%d/freq", cpu),
          kiln_strdup_printf("cpu%d", cpu));
      f->divisor = 1000; /* kHz */
      f->min = freq_limit(dir, "cpuinfo_min_freq");
      f->max = freq_limit(dir, "cpuinfo_max_freq");
    }
    long pkg = topo(dir, "physical_package_id");
    long core = topo(dir, "core_id");
    if (kiln_tel_path(path, sizeof path,
                      "%s/thermal_throttle/core_throttle_count", dir) &&
        access(path, R_OK) == 0) {
      if (pkg < 0 || core < 0)
        kiln_tel_files_add(st, path, KILN_TEL_COUNT,
                           kiln_strdup_printf("cpu%d/core_throttle_count", cpu),
                           kiln_strdup_printf("cpu%d core throttling", cpu));
      else if (!seen_before(seen, n_seen, pkg, core)) {
        seen[n_seen++] = (struct seen){pkg, core};
        kiln_tel_files_add(
            st, path, KILN_TEL_COUNT,
            kiln_strdup_printf("cpu%d/core_throttle_count", cpu),
            kiln_strdup_printf("package %ld core %ld throttling", pkg, core));
      }
    }
    if (kiln_tel_path(path, sizeof path,
                      "%s/thermal_throttle/package_throttle_count", dir) &&
        access(path, R_OK) == 0) {
      if (pkg < 0)
        kiln_tel_files_add(
            st, path, KILN_TEL_COUNT,
            kiln_strdup_printf("cpu%d/package_throttle_count", cpu),
            kiln_strdup_printf("cpu%d package throttling", cpu));
      else if (!seen_before(seen, n_seen, pkg, -1)) {
        seen[n_seen++] = (struct seen){pkg, -1};
        kiln_tel_files_add(
            st, path, KILN_TEL_COUNT,
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
    kiln_tel_files_close(st);
    return NULL;
  }
  return st;
}

const struct kiln_tel_source kiln_tel_cpu = {
    .name = "cpu",
    .summary = "CPU frequency (cpufreq) and thermal-throttle counters",
    .open = cpu_open,
    .sample = kiln_tel_files_sample,
    .close = kiln_tel_files_close,
};
