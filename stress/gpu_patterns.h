/* gpu.memtest's data patterns: one definition shared by the device kernels
 * (stress/gpu_memtest.cu, stress/gpu_membw.cu) and the host unit test.
 *
 * Every function is pure: the value of a word depends only on (pattern,
 * pass, word index, word address, seed), so any thread can compute any
 * word, a check needs no state from the write, and the host can recompute
 * what a reported word should have held.
 *
 *   walking ones    1 << ((index + pass) % 64): over 64 passes every word
 *                   has had every bit set alone
 *   walking zeros   the complement of walking ones
 *   own address     the word's device address; odd passes its complement
 *   moving inv.     a seeded random R on even passes, ~R on odd ones; R
 *                   is the same for passes 2k and 2k+1, so a sweep that
 *                   checks pass 2k and writes 2k+1 flips every bit
 *   random          splitmix64 of (seed, pass, index): new every pass */
#ifndef KILN_STRESS_GPU_PATTERNS_H
#define KILN_STRESS_GPU_PATTERNS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __CUDACC__
#define KILN_HD __host__ __device__
#else
#define KILN_HD
#endif

enum gpat_kind {
  GPAT_WALKING_ONES,
  GPAT_WALKING_ZEROS,
  GPAT_OWN_ADDRESS,
  GPAT_MOVING_INVERSIONS,
  GPAT_RANDOM,
  GPAT_NKINDS
};

/* A wrong word as a check reports it: index within the tested range. */
struct gpat_error {
  uint64_t index;
  uint64_t expected;
  uint64_t actual;
};

KILN_HD static inline const char *gpat_name(int kind) {
  switch (kind) {
  case GPAT_WALKING_ONES: return "walking-ones";
  case GPAT_WALKING_ZEROS: return "walking-zeros";
  case GPAT_OWN_ADDRESS: return "own-address";
  case GPAT_MOVING_INVERSIONS: return "moving-inversions";
  case GPAT_RANDOM: return "random";
  default: return "unknown";
  }
}

/* splitmix64's output function: a bijection with full avalanche. */
KILN_HD static inline uint64_t gpat_mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* The random word at index for a stream key (seed and pass mixed first,
 * so neighbouring seeds or passes give unrelated streams). */
KILN_HD static inline uint64_t gpat_random(uint64_t seed, uint64_t pass,
                                           uint64_t index) {
  uint64_t key = gpat_mix(seed ^ gpat_mix(pass ^ 0x6a09e667f3bcc909ULL));
  return gpat_mix(key ^ index);
}

/* The value the word at index (device address addr) holds after pass
 * `pass` of pattern kind wrote it. */
KILN_HD static inline uint64_t gpat_value(int kind, uint64_t pass,
                                          uint64_t index, uint64_t addr,
                                          uint64_t seed) {
  switch (kind) {
  case GPAT_WALKING_ONES: return 1ULL << ((index + pass) & 63);
  case GPAT_WALKING_ZEROS: return ~(1ULL << ((index + pass) & 63));
  case GPAT_OWN_ADDRESS: return (pass & 1) ? ~addr : addr;
  case GPAT_MOVING_INVERSIONS: {
    uint64_t r = gpat_random(seed, (pass >> 1) | (1ULL << 63), index);
    return (pass & 1) ? ~r : r;
  }
  case GPAT_RANDOM:
  default: return gpat_random(seed, pass, index);
  }
}

/* Checks one word: 0 when right, else the bits that differ (expected in
 * *want either way). */
KILN_HD static inline uint64_t gpat_check_word(int kind, uint64_t pass,
                                               uint64_t index, uint64_t addr,
                                               uint64_t seed, uint64_t actual,
                                               uint64_t *want) {
  *want = gpat_value(kind, pass, index, addr, seed);
  return actual ^ *want;
}

/* Host reference of the device check over words [0, n) of buf, whose first
 * word has index first and device address base: counts every wrong word
 * and records up to max of them in errs. */
static inline uint64_t gpat_check_range(int kind, uint64_t pass, uint64_t seed,
                                        const uint64_t *buf, size_t n,
                                        uint64_t first, uint64_t base,
                                        struct gpat_error *errs, size_t max) {
  uint64_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t want;
    if (gpat_check_word(kind, pass, first + i, base + 8 * (uint64_t)i, seed,
                        buf[i], &want) == 0)
      continue;
    if (bad < max) {
      errs[bad].index = first + i;
      errs[bad].expected = want;
      errs[bad].actual = buf[i];
    }
    bad++;
  }
  return bad;
}

#endif
