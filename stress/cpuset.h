/* Host facts the CPU and DRAM modules share: which CPUs this process may
 * use, pinning, free memory, cache size and physical addresses. */
#ifndef KILN_CPUSET_H
#define KILN_CPUSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Logical CPUs this process may run on (sched_getaffinity, online ones
 * only), ascending, into cpus (up to max). Returns how many there are
 * (may exceed max), or 0 when affinity cannot be read. */
int kiln_cpus_allowed(int *cpus, int max);
/* Pins the calling thread to one logical CPU. 0, or an errno value. */
int kiln_pin_self(int cpu);

/* MemAvailable from /proc/meminfo in bytes; 0 when unreadable. */
uint64_t kiln_mem_available(void);
/* Sum of the distinct last-level caches the allowed CPUs share, in bytes
 * (sysfs cache topology); 0 when unknown. */
uint64_t kiln_llc_bytes(void);
/* The same, read under cpu_root (what /sys/devices/system/cpu is; tests
 * point it at a fixture). */
uint64_t kiln_llc_bytes_at(const char *cpu_root);
/* "last-level cache 32 MiB", or "last-level cache unknown" for 0 (no
 * cache information in sysfs), for what a module says it would use. */
void kiln_llc_text(uint64_t llc, char *buf, size_t n);

/* Physical address of a virtual one, via /proc/self/pagemap. False when
 * unreadable: the page is not present, or the PFN is hidden from
 * processes without CAP_SYS_ADMIN (it then reads as 0). */
bool kiln_virt_to_phys(const void *addr, uint64_t *phys);

/* Fast, deterministic 64-bit mixing (SplitMix64's finaliser): the same
 * input always gives the same output, and nearby inputs unrelated ones. */
static inline uint64_t kiln_mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

#endif
