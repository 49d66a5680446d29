/* Host facts shared by the CPU and DRAM modules (see kiln/cpuset.h). */
#include "cpuset.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Parses a sysfs CPU list ("0-3,8,10-11") into a membership bitmap of
 * `bits` entries. Returns false when it is malformed. */
static bool parse_cpu_list(const char *s, unsigned char *map, int bits) {
  while (*s && *s != '\n') {
    char *end;
    long lo = strtol(s, &end, 10), hi = lo;
    if (end == s || lo < 0)
      return false;
    s = end;
    if (*s == '-') {
      hi = strtol(s + 1, &end, 10);
      if (end == s + 1 || hi < lo)
        return false;
      s = end;
    }
    for (long c = lo; c <= hi && c < bits; c++)
      map[c] = 1;
    if (*s == ',')
      s++;
  }
  return true;
}

static bool read_line(const char *path, char *buf, size_t n) {
  FILE *f = fopen(path, "re");
  if (!f)
    return false;
  bool ok = fgets(buf, (int)n, f) != NULL;
  fclose(f);
  return ok;
}

int kiln_cpus_allowed(int *cpus, int max) {
  /* The mask grows until it holds every CPU the kernel knows. */
  for (int ncpu = 1024; ncpu <= (1 << 20); ncpu *= 2) {
    cpu_set_t *set = CPU_ALLOC((size_t)ncpu);
    if (!set)
      return 0;
    size_t size = CPU_ALLOC_SIZE((size_t)ncpu);
    CPU_ZERO_S(size, set);
    if (sched_getaffinity(0, size, set) != 0) {
      CPU_FREE(set);
      if (errno == EINVAL)
        continue;
      return 0;
    }
    /* Affinity normally lists online CPUs only; a CPU hot-removed since
     * the mask was set would still be in it, so check the online list. */
    unsigned char *online = calloc((size_t)ncpu, 1);
    char line[4096];
    bool have_online =
        online &&
        read_line("/sys/devices/system/cpu/online", line, sizeof line) &&
        parse_cpu_list(line, online, ncpu);
    int n = 0;
    for (int c = 0; c < ncpu; c++) {
      if (!CPU_ISSET_S((size_t)c, size, set) || (have_online && !online[c]))
        continue;
      if (n < max)
        cpus[n] = c;
      n++;
    }
    free(online);
    CPU_FREE(set);
    return n;
  }
  return 0;
}

int kiln_pin_self(int cpu) {
  size_t ncpu = (size_t)cpu + 1;
  cpu_set_t *set = CPU_ALLOC(ncpu);
  if (!set)
    return ENOMEM;
  size_t size = CPU_ALLOC_SIZE(ncpu);
  CPU_ZERO_S(size, set);
  CPU_SET_S((size_t)cpu, size, set);
  int rc = pthread_setaffinity_np(pthread_self(), size, set);
  CPU_FREE(set);
  return rc;
}

uint64_t kiln_mem_available(void) {
  FILE *f = fopen("/proc/meminfo", "re");
  if (!f)
    return 0;
  char line[256];
  unsigned long long kb = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
      break;
  fclose(f);
  return (uint64_t)kb * 1024;
}

/* Size of a sysfs cache "size" value such as "32768K". */
static uint64_t parse_cache_size(const char *s) {
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  switch (*end) {
  case 'K': return v << 10;
  case 'M': return v << 20;
  case 'G': return v << 30;
  default: return v;
  }
}

uint64_t kiln_llc_bytes(void) {
  return kiln_llc_bytes_at("/sys/devices/system/cpu");
}

void kiln_llc_text(uint64_t llc, char *buf, size_t n) {
  if (llc == 0)
    snprintf(buf, n, "last-level cache unknown");
  else
    snprintf(buf, n, "last-level cache %llu MiB",
             (unsigned long long)(llc >> 20));
}

uint64_t kiln_llc_bytes_at(const char *cpu_root) {
  int cpus[4096];
  int n = kiln_cpus_allowed(cpus, 4096);
  if (n > 4096)
    n = 4096;
  /* Each distinct shared_cpu_list of a CPU's highest-level data cache is
   * one LLC instance (one per socket, or per CCX on AMD). */
  char(*seen)[256] = calloc((size_t)n + 1, sizeof *seen);
  if (!seen)
    return 0;
  int nseen = 0;
  uint64_t total = 0;
  for (int i = 0; i < n; i++) {
    int best_level = -1;
    uint64_t best_size = 0;
    char best_shared[256] = "";
    for (int idx = 0; idx < 16; idx++) {
      char path[4200], level[32], type[32], size[32], shared[256];
      snprintf(path, sizeof path, "%s/cpu%d/cache/index%d", cpu_root, cpus[i],
               idx);
      char p[4300];
      snprintf(p, sizeof p, "%s/level", path);
      if (!read_line(p, level, sizeof level))
        break;
      snprintf(p, sizeof p, "%s/type", path);
      if (!read_line(p, type, sizeof type) ||
          strncmp(type, "Instruction", 11) == 0)
        continue;
      snprintf(p, sizeof p, "%s/size", path);
      if (!read_line(p, size, sizeof size))
        continue;
      snprintf(p, sizeof p, "%s/shared_cpu_list", path);
      if (!read_line(p, shared, sizeof shared))
        snprintf(shared, sizeof shared, "cpu%d", cpus[i]);
      int lv = atoi(level);
      if (lv > best_level) {
        best_level = lv;
        best_size = parse_cache_size(size);
        snprintf(best_shared, sizeof best_shared, "%s", shared);
      }
    }
    if (best_level < 0)
      continue;
    bool dup = false;
    for (int k = 0; k < nseen && !dup; k++)
      dup = strcmp(seen[k], best_shared) == 0;
    if (!dup) {
      snprintf(seen[nseen++], sizeof seen[0], "%s", best_shared);
      total += best_size;
    }
  }
  free(seen);
  return total;
}

bool kiln_virt_to_phys(const void *addr, uint64_t *phys) {
  long page = sysconf(_SC_PAGESIZE);
  if (page <= 0)
    return false;
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  uintptr_t va = (uintptr_t)addr;
  uint64_t entry = 0;
  off_t off = (off_t)(va / (uintptr_t)page) * (off_t)sizeof entry;
  ssize_t r = pread(fd, &entry, sizeof entry, off);
  close(fd);
  /* Bit 63: present; bits 0-54: page frame number. */
  if (r != (ssize_t)sizeof entry || !(entry >> 63))
    return false;
  uint64_t pfn = entry & ((1ULL << 55) - 1);
  if (pfn == 0)
    return false;
  *phys = pfn * (uint64_t)page + (va % (uintptr_t)page);
  return true;
}
