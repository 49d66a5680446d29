/* dram.patterns and its pattern generators: patterns have the promised
 * shape, every fill/check kernel agrees with the scalar definition and sees
 * any single flipped bit, a healthy run passes, an injected flip FAILs with
 * its address, the step stops promptly and keeps the watchdog fed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../stress/dram_pattern_gen.h"
#include "harness.h"
#include "kiln/result.h"
#include "kiln/textutil.h"

#define NBLK 4

struct bufs {
  struct pat_gen *g;
  uint64_t *mem; /* NBLK blocks, 4 KiB aligned */
};

static int setup(void **state) {
  static struct bufs b;
  b.g = aligned_alloc(64, sizeof *b.g);
  b.mem = aligned_alloc(PAT_BLOCK_BYTES, NBLK * PAT_BLOCK_BYTES);
  if (!b.g || !b.mem)
    return -1;
  *state = &b;
  return 0;
}

static int teardown(void **state) {
  struct bufs *b = *state;
  free(b->g);
  free(b->mem);
  return 0;
}

static void patterns_have_their_shape(void **state) {
  struct bufs *b = *state;
  struct pat_gen *g = b->g;
  uint64_t *m = b->mem;
  const size_t n = NBLK * PAT_BLOCK_WORDS;

  for (uint64_t v = 0; v < 2; v++) {
    pat_gen_init(g, PAT_OWN_ADDRESS, v, 1);
    pat_fill(PAT_ISA_PORTABLE, g, m, NBLK, false);
    for (size_t i = 0; i < n; i++)
      assert_true(m[i] == ((uint64_t)(uintptr_t)&m[i] ^ (v ? ~0ULL : 0)));
  }

  for (uint64_t v = 0; v < 70; v += 23) {
    pat_gen_init(g, PAT_WALKING_ONES, v, 1);
    pat_fill(PAT_ISA_PORTABLE, g, m, NBLK, false);
    uint64_t seen = 0;
    for (size_t i = 0; i < n; i++) {
      assert_int_equal(__builtin_popcountll(m[i]), 1);
      /* The bit moves by one per word. */
      assert_true(m[(i + 1) % n] == (m[i] << 1 | m[i] >> 63));
      seen |= m[i];
    }
    assert_true(seen == ~0ULL);
    pat_gen_init(g, PAT_WALKING_ZEROS, v, 1);
    pat_fill(PAT_ISA_PORTABLE, g, m, NBLK, false);
    for (size_t i = 0; i < n; i++)
      assert_int_equal(__builtin_popcountll(m[i]), 63);
  }

  pat_gen_init(g, PAT_CHECKERBOARD, 0, 1);
  pat_fill(PAT_ISA_PORTABLE, g, m, NBLK, false);
  for (size_t i = 0; i < n; i++)
    assert_true(m[i] ==
                ((i & 1) ? 0xaaaaaaaaaaaaaaaaULL : 0x5555555555555555ULL));
  pat_gen_init(g, PAT_CHECKERBOARD, 1, 1);
  pat_fill(PAT_ISA_PORTABLE, g, m, NBLK, false);
  for (size_t i = 0; i < n; i++)
    assert_true(m[i] ==
                ((i & 1) ? 0x5555555555555555ULL : 0xaaaaaaaaaaaaaaaaULL));

  /* Random: about half the bits set, no repeat from block to block, and a
   * new stream for each seed and each round. */
  pat_gen_init(g, PAT_RANDOM, 0, 1);
  pat_fill(PAT_ISA_PORTABLE, g, m, NBLK, false);
  long ones = 0;
  for (size_t i = 0; i < n; i++)
    ones += __builtin_popcountll(m[i]);
  assert_true(ones > 0.45 * 64 * n && ones < 0.55 * 64 * n);
  assert_memory_not_equal(m, m + PAT_BLOCK_WORDS, PAT_BLOCK_BYTES);
  uint64_t first = m[0];
  pat_gen_init(g, PAT_RANDOM, 0, 2);
  assert_true(pat_expected(g, m) != first);
  pat_gen_init(g, PAT_RANDOM, 1, 1);
  assert_true(pat_expected(g, m) != first);
  pat_gen_init(g, PAT_RANDOM, 0, 1);
  assert_true(pat_expected(g, m) == first); /* and reproducible */
}

/* Every ISA's fill writes exactly pat_expected(), with either store kind,
 * and its check reduces a correct block to zero. */
static void kernels_agree_with_the_definition(void **state) {
  struct bufs *b = *state;
  for (int isa = 0; isa < PAT_NISAS; isa++) {
    if (!pat_isa_supported((enum pat_isa)isa)) {
      print_message("# kernel %s: not supported here\n",
                    pat_isa_name((enum pat_isa)isa));
      continue;
    }
    for (int k = 0; k < PAT_NKINDS; k++)
      for (int nt = 0; nt < 2; nt++) {
        pat_gen_init(b->g, (enum pat_kind)k, 5, 9);
        b->g->invert = nt ? ~0ULL : 0; /* moving inversions' other half */
        memset(b->mem, 0, NBLK * PAT_BLOCK_BYTES);
        pat_fill((enum pat_isa)isa, b->g, b->mem, NBLK, nt);
        pat_fence();
        for (size_t i = 0; i < NBLK * PAT_BLOCK_WORDS; i++)
          if (b->mem[i] != pat_expected(b->g, &b->mem[i]))
            fail_msg("%s %s word %zu", pat_isa_name((enum pat_isa)isa),
                     pat_name((enum pat_kind)k), i);
        for (int blk = 0; blk < NBLK; blk++)
          assert_true(pat_check_block((enum pat_isa)isa, b->g,
                                      b->mem + blk * PAT_BLOCK_WORDS) == 0);
      }
  }
}

/* Any one flipped bit in any word shows up in the block's reduction as
 * exactly that bit. */
static void check_sees_every_single_bit(void **state) {
  struct bufs *b = *state;
  for (int isa = 0; isa < PAT_NISAS; isa++) {
    if (!pat_isa_supported((enum pat_isa)isa))
      continue;
    pat_gen_init(b->g, PAT_RANDOM, 3, 4);
    pat_fill((enum pat_isa)isa, b->g, b->mem, 1, false);
    for (unsigned i = 0; i < PAT_BLOCK_WORDS; i++) {
      uint64_t bit = 1ULL << ((i * 7) & 63);
      b->mem[i] ^= bit;
      assert_true(pat_check_block((enum pat_isa)isa, b->g, b->mem) == bit);
      b->mem[i] ^= bit;
    }
    assert_true(pat_check_block((enum pat_isa)isa, b->g, b->mem) == 0);
  }
}

static void healthy_run_passes(void **state) {
  (void)state;
  static const char *const params[] = {"mem", "2M", NULL};
  struct captured c;
  harness_run_module("dram.patterns", 0.4, params, NULL, &c);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_int_equal(harness_fail_diagnoses(&c, NULL, 0), 0);
  const struct kiln_wire_event *e = harness_measurement(&c, "errors", NULL);
  assert_non_null(e);
  assert_true(e->value == 0);
  /* The errors so far, published while it runs. */
  const struct kiln_wire_event *r = harness_running(&c, "errors", NULL);
  assert_non_null(r);
  assert_true(r->value == 0);
  const struct kiln_wire_event *g =
      harness_measurement(&c, "tested_gbps", NULL);
  assert_non_null(g);
  assert_string_equal(g->unit, "GB/s");
  assert_true(g->value > 0.01 && g->value < 10000);
  harness_free(&c);
}

static void injected_bitflip_fails_with_its_address(void **state) {
  (void)state;
  static const char *const params[] = {"mem", "1M", NULL};
  static const char *const inject[] = {"dram.bitflip", NULL};
  struct captured c;
  char msg[1024];
  harness_run_module("dram.patterns", 0.3, params, inject, &c);
  assert_int_equal(harness_fail_diagnoses(&c, msg, sizeof msg), 1);
  const char *addr = NULL;
  for (size_t i = 0; i < c.n && !addr; i++)
    if (c.events[i].type == KILN_WIRE_LOG)
      addr = strstr(c.events[i].message, "dram.bitflip injected");
  assert_non_null(addr);
  addr = strstr(addr, "virtual 0x");
  assert_non_null(addr);
  char want[64];
  snprintf(want, sizeof want, "%.*s", (int)strcspn(addr, " ("), addr);
  assert_non_null(strstr(msg, want));
  assert_non_null(strstr(msg, "xor 0x0000000000002000, 1 bit)"));
  assert_true(harness_measurement(&c, "errors", NULL)->value == 1);
  harness_free(&c);
}

/* Stops within a slice of the deadline even mid-pattern, and no gap
 * between events is long enough to trip the watchdog. */
static void stops_promptly_and_reports_progress(void **state) {
  (void)state;
  static const char *const params[] = {"mem", "64M", NULL};
  struct captured c;
  double t0 = kiln_monotonic_now();
  harness_run_module("dram.patterns", 1.2, params, NULL, &c);
  double took = kiln_monotonic_now() - t0;
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  /* Mapping and locking 64 MiB plus one sanitized slice, well under. */
  assert_true(took < 1.2 + 1.0);
  size_t progress = 0;
  for (size_t i = 0; i < c.n; i++) {
    if (c.events[i].type == KILN_WIRE_PROGRESS)
      progress++;
    if (i > 0)
      assert_true(c.events[i].time - c.events[i - 1].time < 1.0);
  }
  assert_true(progress >= 3);
  harness_free(&c);
}

static void malformed_params_are_errors(void **state) {
  (void)state;
  static const char *const bad[][3] = {
      {"mem", "lots", NULL},
      {"mem", "1K", NULL},      /* less than a block per CPU */
      {"mem", "100000G", NULL}, /* more than the machine has */
      {"seed", "x1", NULL},
      {"max_diagnoses", "0", NULL},
      {"kernel", "sse", NULL},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    struct captured c;
    harness_run_module("dram.patterns", 0.1, bad[i], NULL, &c);
    assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
    assert_null(harness_measurement(&c, "errors", NULL));
    harness_free(&c);
  }
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(patterns_have_their_shape),
      cmocka_unit_test(kernels_agree_with_the_definition),
      cmocka_unit_test(check_sees_every_single_bit),
      cmocka_unit_test(healthy_run_passes),
      cmocka_unit_test(injected_bitflip_fails_with_its_address),
      cmocka_unit_test(stops_promptly_and_reports_progress),
      cmocka_unit_test(malformed_params_are_errors),
  };
  return cmocka_run_group_tests_name("dram.patterns", tests, setup, teardown);
}
