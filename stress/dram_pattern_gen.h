/* dram.patterns' data patterns, and fast block fill and check.
 *
 * Every pattern is defined on 4 KiB-aligned blocks of 512 64-bit words:
 *   expected(word at address w) = tbl[(w >> 3) & 511] ^ salt(w & ~4095)
 *                                 ^ invert
 * so a block is filled by streaming a table that sits in L1 and checked by
 * an XOR/OR reduction that vectorises; only a block whose reduction is
 * non-zero is walked word by word with pat_expected(). */
#ifndef KILN_STRESS_DRAM_PATTERN_GEN_H
#define KILN_STRESS_DRAM_PATTERN_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAT_BLOCK_WORDS 512
#define PAT_BLOCK_BYTES 4096

enum pat_kind {
  PAT_OWN_ADDRESS,   /* each word holds its own address (variant odd: ~) */
  PAT_WALKING_ONES,  /* one bit set, moving by one per word and per variant */
  PAT_WALKING_ZEROS, /* one bit clear, likewise */
  PAT_CHECKERBOARD,  /* 0x55.. / 0xaa.. alternating (variant odd: swapped) */
  PAT_RANDOM,        /* seeded pseudo-random words, new per variant */
  PAT_MOVING_INVERSIONS, /* random data, then ~ ascending, back descending */
  PAT_NKINDS
};

enum pat_isa { PAT_ISA_PORTABLE, PAT_ISA_AVX2, PAT_ISA_AVX512, PAT_NISAS };

enum pat_salt { PAT_SALT_NONE, PAT_SALT_ADDRESS, PAT_SALT_HASH };

/* Allocate with 64-byte alignment: the SIMD kernels load tbl aligned. */
struct pat_gen {
  _Alignas(64) uint64_t tbl[PAT_BLOCK_WORDS];
  enum pat_kind kind;
  enum pat_salt salt;
  uint64_t seed;
  uint64_t invert; /* 0 or ~0: moving inversions flip it between passes */
};

const char *pat_name(enum pat_kind k); /* "walking-ones" */
const char *pat_isa_name(enum pat_isa i);
bool pat_isa_supported(enum pat_isa i);
enum pat_isa pat_isa_best(void);

/* Sets up kind's pattern for one pass; variant (the round number) shifts
 * walking bits, swaps checkerboard/own-address polarity and reseeds the
 * random ones; seed is the run's seed. */
void pat_gen_init(struct pat_gen *g, enum pat_kind kind, uint64_t variant,
                  uint64_t seed);
/* The value the word at addr must hold: the definition every fill and
 * check agrees with. */
uint64_t pat_expected(const struct pat_gen *g, const void *addr);

/* Fill nblocks 4 KiB-aligned blocks; nt: non-temporal stores, so the check
 * reads DRAM rather than cache. Call pat_fence() before the data is read
 * again: streaming stores are weakly ordered, and a fence per block would
 * halve the write rate. */
void pat_fill(enum pat_isa isa, const struct pat_gen *g, uint64_t *blocks,
              size_t nblocks, bool nt);
void pat_fence(void);
/* OR of (word ^ expected) over one block: 0 when every word is right. */
uint64_t pat_check_block(enum pat_isa isa, const struct pat_gen *g,
                         const uint64_t *block);

#endif
