/* gpu_patterns.h on the host (the same code the device kernels run):
 * patterns have their promised shape and known values, the check finds
 * every single flipped bit at its index with expected and actual, random
 * words are reproducible from (seed, pass, index) alone; and without CUDA
 * the GPU memory modules SKIP with the reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../stress/gpu_patterns.h"
#include "core/wire.h"
#include "harness.h"
#include "kiln/result.h"

#define N 1024
#define BASE 0x7f1200000000ULL

static void fill(uint64_t *buf, int kind, uint64_t pass, uint64_t seed) {
  for (size_t i = 0; i < N; i++)
    buf[i] = gpat_value(kind, pass, i, BASE + 8 * i, seed);
}

static void known_values(void **state) {
  (void)state;
  /* splitmix64 from state 0: its first output is well known. */
  assert_true(gpat_mix(0) == 0xe220a8397b1dcdafULL);
  assert_true(gpat_value(GPAT_WALKING_ONES, 0, 0, BASE, 1) == 1);
  assert_true(gpat_value(GPAT_WALKING_ONES, 0, 5, BASE, 1) == 1ULL << 5);
  assert_true(gpat_value(GPAT_WALKING_ONES, 3, 62, BASE, 1) == 1ULL << 1);
  assert_true(gpat_value(GPAT_WALKING_ZEROS, 1, 63, BASE, 1) == ~1ULL);
  assert_true(gpat_value(GPAT_OWN_ADDRESS, 0, 7, BASE + 56, 1) == BASE + 56);
  assert_true(gpat_value(GPAT_OWN_ADDRESS, 1, 7, BASE + 56, 1) == ~(BASE + 56));
  assert_string_equal(gpat_name(GPAT_MOVING_INVERSIONS), "moving-inversions");
  assert_string_equal(gpat_name(GPAT_OWN_ADDRESS), "own-address");
  assert_string_equal(gpat_name(99), "unknown");
}

static void patterns_have_their_shape(void **state) {
  (void)state;
  for (uint64_t pass = 0; pass < 130; pass++)
    for (uint64_t i = 0; i < 200; i++) {
      uint64_t one = gpat_value(GPAT_WALKING_ONES, pass, i, 0, 9);
      assert_int_equal(__builtin_popcountll(one), 1);
      assert_true(gpat_value(GPAT_WALKING_ZEROS, pass, i, 0, 9) == ~one);
    }
  /* Over 64 passes each word has had every bit set alone. */
  for (uint64_t i = 0; i < 8; i++) {
    uint64_t seen = 0;
    for (uint64_t pass = 0; pass < 64; pass++)
      seen |= gpat_value(GPAT_WALKING_ONES, pass, i, 0, 9);
    assert_true(seen == ~0ULL);
  }
  /* Moving inversions: pass 2k+1 is the complement of 2k, word by word,
   * and the next round brings new data. */
  for (uint64_t k = 0; k < 4; k++)
    for (uint64_t i = 0; i < 100; i++) {
      uint64_t r = gpat_value(GPAT_MOVING_INVERSIONS, 2 * k, i, 0, 3);
      assert_true(gpat_value(GPAT_MOVING_INVERSIONS, 2 * k + 1, i, 0, 3) == ~r);
      assert_true(gpat_value(GPAT_MOVING_INVERSIONS, 2 * k + 2, i, 0, 3) != r);
    }
  /* Random words look random: about half the bits set, no repeats in a
   * small window. */
  uint64_t ones = 0;
  for (uint64_t i = 0; i < 4096; i++) {
    uint64_t v = gpat_value(GPAT_RANDOM, 0, i, 0, 1);
    ones += (uint64_t)__builtin_popcountll(v);
    if (i)
      assert_true(v != gpat_value(GPAT_RANDOM, 0, i - 1, 0, 1));
  }
  assert_true(ones > 4096 * 30 && ones < 4096 * 34);
}

static void random_is_reproducible(void **state) {
  (void)state;
  /* Any word is computable alone, from (seed, pass, index). */
  uint64_t a = gpat_value(GPAT_RANDOM, 4, 123456789, 0, 42);
  uint64_t b = gpat_value(GPAT_RANDOM, 4, 123456789, BASE, 42);
  assert_true(a == b); /* the address does not enter */
  assert_true(a == gpat_random(42, 4, 123456789));
  assert_true(a != gpat_value(GPAT_RANDOM, 4, 123456789, 0, 43));
  assert_true(a != gpat_value(GPAT_RANDOM, 5, 123456789, 0, 42));
  assert_true(a != gpat_value(GPAT_RANDOM, 4, 123456788, 0, 42));
  /* A filled buffer, recomputed word by word in another order, agrees. */
  static uint64_t buf[N];
  fill(buf, GPAT_RANDOM, 2, 77);
  for (size_t k = 0; k < N; k++) {
    size_t i = (k * 389) % N;
    assert_true(buf[i] == gpat_random(77, 2, i));
  }
}

static void check_sees_every_single_bit(void **state) {
  (void)state;
  static uint64_t buf[N];
  struct gpat_error errs[4];
  for (int kind = 0; kind < GPAT_NKINDS; kind++)
    for (uint64_t pass = 0; pass < 3; pass++) {
      fill(buf, kind, pass, 5);
      assert_int_equal(
          gpat_check_range(kind, pass, 5, buf, N, 0, BASE, errs, 4), 0);
      for (int bit = 0; bit < 64; bit++) {
        size_t at = (size_t)(bit * 13 + kind * 7 + pass) % N;
        uint64_t good = buf[at];
        buf[at] ^= 1ULL << bit;
        memset(errs, 0, sizeof errs);
        assert_int_equal(
            gpat_check_range(kind, pass, 5, buf, N, 0, BASE, errs, 4), 1);
        assert_int_equal(errs[0].index, at);
        assert_true(errs[0].expected == good);
        assert_true(errs[0].actual == (good ^ (1ULL << bit)));
        buf[at] = good;
      }
    }
}

static void check_counts_beyond_what_it_records(void **state) {
  (void)state;
  static uint64_t buf[N];
  struct gpat_error errs[2];
  fill(buf, GPAT_OWN_ADDRESS, 0, 1);
  buf[10] ^= 1;
  buf[20] ^= 2;
  buf[30] ^= 4;
  /* A range that starts at word 8 of the tested memory. */
  assert_int_equal(gpat_check_range(GPAT_OWN_ADDRESS, 0, 1, buf + 8, N - 8, 8,
                                    BASE + 64, errs, 2),
                   3);
  assert_int_equal(errs[0].index, 10);
  assert_true(errs[0].expected == BASE + 80);
  assert_int_equal(errs[1].index, 20);
  /* The wrong pass is all wrong. */
  assert_int_equal(
      gpat_check_range(GPAT_OWN_ADDRESS, 1, 1, buf, N, 0, BASE, errs, 2), N);
}

/* A GPU step exists only for a GPU on the bus: a build without CUDA
 * cannot test it, an ERROR. */
static void without_cuda_the_modules_error(void **state) {
  (void)state;
  static const char *const mods[] = {"gpu.memtest", "gpu.membw"};
  for (size_t i = 0; i < 2; i++) {
    struct captured c;
    harness_run_module(mods[i], 0.1, NULL, NULL, &c);
    assert_int_equal(harness_end_verdict(&c), KILN_ERROR);
    assert_non_null(strstr(c.events[c.n - 1].message, "built without CUDA"));
    harness_free(&c);
  }
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(known_values),
      cmocka_unit_test(patterns_have_their_shape),
      cmocka_unit_test(random_is_reproducible),
      cmocka_unit_test(check_sees_every_single_bit),
      cmocka_unit_test(check_counts_beyond_what_it_records),
      cmocka_unit_test(without_cuda_the_modules_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
