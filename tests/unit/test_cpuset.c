/* Host helpers: allowed CPUs, pinning, free memory, LLC size, physical
 * addresses and the mixing function the patterns rely on. */
#include <pthread.h>
#include <sched.h>
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

#include "../../stress/cpuset.h"
#include "fsutil.h"

static void lists_the_allowed_cpus(void **state) {
  (void)state;
  cpu_set_t set;
  CPU_ZERO(&set);
  assert_int_equal(sched_getaffinity(0, sizeof set, &set), 0);
  int cpus[4096];
  int n = kiln_cpus_allowed(cpus, 4096);
  assert_int_equal(n, CPU_COUNT(&set));
  for (int i = 0; i < n; i++) {
    assert_true(CPU_ISSET(cpus[i], &set));
    if (i)
      assert_true(cpus[i] > cpus[i - 1]);
  }
  /* A short array gets the count, and only what fits. */
  int one[1] = {-1};
  assert_int_equal(kiln_cpus_allowed(one, 1), n);
  assert_int_equal(one[0], cpus[0]);
  assert_int_equal(kiln_cpus_allowed(NULL, 0), n);
}

static void *pin_and_report(void *arg) {
  int *cpu = arg;
  if (kiln_pin_self(*cpu) != 0)
    *cpu = -2;
  else
    *cpu = sched_getcpu();
  return NULL;
}

static void pins_a_thread(void **state) {
  (void)state;
  int cpus[4096];
  int n = kiln_cpus_allowed(cpus, 4096);
  for (int i = 0; i < n && i < 64; i++) {
    int cpu = cpus[i];
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, pin_and_report, &cpu), 0);
    pthread_join(t, NULL);
    assert_int_equal(cpu, cpus[i]);
  }
}

static void reads_memory_and_cache_sizes(void **state) {
  (void)state;
  uint64_t avail = kiln_mem_available();
  uint64_t total =
      (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
  assert_true(avail > 0 && avail <= total);
  uint64_t llc = kiln_llc_bytes();
  if (llc == 0) /* containers may hide /sys/devices/system/cpu/.../cache */
    print_message("# no cache topology in sysfs\n");
  else
    assert_true(llc >= 64 * 1024 && llc < (1ULL << 40));
}

/* mkdir -p under root of rel. */
static void make_dirs(const char *root, const char *rel) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  for (char *p = path + strlen(root) + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = 0;
    mkdir(path, 0755);
    *p = '/';
  }
  assert_true(mkdir(path, 0755) == 0 || access(path, F_OK) == 0);
}

/* A fixture cpu root with a directory per allowed CPU: with cache (an L1d
 * and one L3 of 32 MiB shared by all), or without (a container's sysfs). */
static void fake_cpu_root(const char *root, bool with_cache) {
  int cpus[512];
  int n = kiln_cpus_allowed(cpus, 512);
  assert_true(n > 0 && n <= 512);
  for (int i = 0; i < n; i++) {
    char rel[256], file[1024];
    if (!with_cache) {
      snprintf(rel, sizeof rel, "cpu%d", cpus[i]);
      make_dirs(root, rel);
      continue;
    }
    static const char *const idx[][3] = {{"1", "Data", "32K"},
                                         {"3", "Unified", "32768K"}};
    for (int k = 0; k < 2; k++) {
      snprintf(rel, sizeof rel, "cpu%d/cache/index%d", cpus[i], k);
      make_dirs(root, rel);
      const char *const names[] = {"level", "type", "size"};
      for (int f = 0; f < 3; f++) {
        snprintf(file, sizeof file, "%s/%s/%s", root, rel, names[f]);
        fs_write_file(file, idx[k][f]);
      }
      snprintf(file, sizeof file, "%s/%s/shared_cpu_list", root, rel);
      fs_write_file(file, k == 0 ? "0" : "0-4095");
    }
  }
}

/* Where sysfs has no cache information the LLC is unknown, not 0 MiB. */
static void says_unknown_without_cache_info(void **state) {
  (void)state;
  char root[] = "/tmp/kiln-cpuroot-XXXXXX", text[64];
  assert_non_null(mkdtemp(root));
  fake_cpu_root(root, false);
  assert_int_equal(kiln_llc_bytes_at(root), 0);
  kiln_llc_text(kiln_llc_bytes_at(root), text, sizeof text);
  assert_string_equal(text, "last-level cache unknown");
  fs_rm_rf(root);

  assert_non_null(mkdtemp(strcpy(root, "/tmp/kiln-cpuroot-XXXXXX")));
  fake_cpu_root(root, true);
  assert_int_equal(kiln_llc_bytes_at(root), 32ULL << 20);
  kiln_llc_text(kiln_llc_bytes_at(root), text, sizeof text);
  assert_string_equal(text, "last-level cache 32 MiB");
  fs_rm_rf(root);
}

static void translates_addresses_when_allowed(void **state) {
  (void)state;
  long page = sysconf(_SC_PAGESIZE);
  char *p = aligned_alloc((size_t)page, 2 * (size_t)page);
  assert_non_null(p);
  p[0] = 1; /* present */
  p[page] = 1;
  uint64_t a, b, c;
  bool ok = kiln_virt_to_phys(p + 8, &a);
  if (geteuid() != 0) {
    /* The kernel zeroes PFNs for unprivileged readers. */
    assert_false(ok);
  } else {
    assert_true(ok);
    assert_true(kiln_virt_to_phys(p + 100, &b));
    assert_true(b - a == 92); /* same page, same frame */
    assert_true(a % (uint64_t)page == 8);
    assert_true(kiln_virt_to_phys(p + page, &c));
    assert_true(c % (uint64_t)page == 0);
  }
  free(p);
}

static void mixes_deterministically(void **state) {
  (void)state;
  assert_true(kiln_mix64(1) == kiln_mix64(1));
  int same = 0;
  for (uint64_t i = 0; i < 1000; i++)
    same += kiln_mix64(i) == kiln_mix64(i + 1);
  assert_int_equal(same, 0);
  /* Flipping one input bit changes about half the output bits. */
  long flips = 0;
  for (uint64_t i = 0; i < 1000; i++)
    flips += __builtin_popcountll(kiln_mix64(i) ^ kiln_mix64(i ^ 1));
  assert_true(flips > 28 * 1000 && flips < 36 * 1000);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(lists_the_allowed_cpus),
      cmocka_unit_test(pins_a_thread),
      cmocka_unit_test(reads_memory_and_cache_sizes),
      cmocka_unit_test(says_unknown_without_cache_info),
      cmocka_unit_test(translates_addresses_when_allowed),
      cmocka_unit_test(mixes_deterministically),
  };
  return cmocka_run_group_tests_name("cpuset", tests, NULL, NULL);
}
