/* Patterns for dram.patterns; see dram_pattern_gen.h for their form. */
#include "dram_pattern_gen.h"

#include <immintrin.h>

#include "cpuset.h"

static const char *const names[PAT_NKINDS] = {
    "own-address",  "walking-ones", "walking-zeros",
    "checkerboard", "random",       "moving-inversions",
};

const char *pat_name(enum pat_kind k) {
  return (unsigned)k < PAT_NKINDS ? names[k] : "?";
}

const char *pat_isa_name(enum pat_isa i) {
  switch (i) {
  case PAT_ISA_PORTABLE: return "portable";
  case PAT_ISA_AVX2: return "avx2";
  case PAT_ISA_AVX512: return "avx512";
  default: return "?";
  }
}

bool pat_isa_supported(enum pat_isa i) {
  switch (i) {
  case PAT_ISA_PORTABLE: return true;
#if defined(__x86_64__)
  case PAT_ISA_AVX2: return __builtin_cpu_supports("avx2");
  case PAT_ISA_AVX512: return __builtin_cpu_supports("avx512f");
#endif
  default: return false;
  }
}

enum pat_isa pat_isa_best(void) {
  for (int i = PAT_NISAS - 1; i > 0; i--)
    if (pat_isa_supported((enum pat_isa)i))
      return (enum pat_isa)i;
  return PAT_ISA_PORTABLE;
}

void pat_gen_init(struct pat_gen *g, enum pat_kind kind, uint64_t variant,
                  uint64_t seed) {
  g->kind = kind;
  g->salt = PAT_SALT_NONE;
  g->invert = 0;
  /* Random patterns get a fresh seed per variant and per kind. */
  g->seed = kiln_mix64(seed ^ kiln_mix64(variant * 16 + (uint64_t)kind));
  for (unsigned i = 0; i < PAT_BLOCK_WORDS; i++) {
    uint64_t v;
    switch (kind) {
    case PAT_OWN_ADDRESS:
      /* The block's address comes from the salt; the table adds the
       * offset, so the word equals its address (both are disjoint bits). */
      v = (uint64_t)i * 8;
      break;
    case PAT_WALKING_ONES: v = 1ULL << ((i + variant) & 63); break;
    case PAT_WALKING_ZEROS: v = ~(1ULL << ((i + variant) & 63)); break;
    case PAT_CHECKERBOARD:
      v = (i & 1) ? 0xaaaaaaaaaaaaaaaaULL : 0x5555555555555555ULL;
      break;
    default: v = kiln_mix64(g->seed + i); break;
    }
    g->tbl[i] = v;
  }
  if (kind == PAT_OWN_ADDRESS) {
    g->salt = PAT_SALT_ADDRESS;
    g->invert = (variant & 1) ? ~0ULL : 0;
  } else if (kind == PAT_CHECKERBOARD) {
    g->invert = (variant & 1) ? ~0ULL : 0;
  } else if (kind == PAT_RANDOM || kind == PAT_MOVING_INVERSIONS) {
    /* Without a per-block salt the data would repeat every 4 KiB. */
    g->salt = PAT_SALT_HASH;
  }
}

/* Salt and inversion of the block holding addr, folded into one word. */
static inline uint64_t block_mask(const struct pat_gen *g, uintptr_t addr) {
  uint64_t base = (uint64_t)(addr & ~(uintptr_t)(PAT_BLOCK_BYTES - 1));
  switch (g->salt) {
  case PAT_SALT_ADDRESS: return base ^ g->invert;
  case PAT_SALT_HASH: return kiln_mix64(g->seed ^ base) ^ g->invert;
  default: return g->invert;
  }
}

uint64_t pat_expected(const struct pat_gen *g, const void *addr) {
  uintptr_t a = (uintptr_t)addr;
  return g->tbl[(a >> 3) & (PAT_BLOCK_WORDS - 1)] ^ block_mask(g, a);
}

static void fill_portable(const struct pat_gen *g, uint64_t *blk, uint64_t m) {
  for (unsigned i = 0; i < PAT_BLOCK_WORDS; i++)
    blk[i] = g->tbl[i] ^ m;
}

static uint64_t check_portable(const struct pat_gen *g, const uint64_t *blk,
                               uint64_t m) {
  uint64_t acc = 0;
  for (unsigned i = 0; i < PAT_BLOCK_WORDS; i++)
    acc |= blk[i] ^ g->tbl[i] ^ m;
  return acc;
}

#if defined(__x86_64__)
#define KILN_X86 1
__attribute__((target("avx512f"))) static void
fill_avx512(const struct pat_gen *g, uint64_t *blk, uint64_t m, bool nt) {
  __m512i vm = _mm512_set1_epi64((long long)m);
  if (nt)
    for (unsigned i = 0; i < PAT_BLOCK_WORDS; i += 8)
      _mm512_stream_si512((void *)(blk + i),
                          _mm512_xor_si512(_mm512_load_si512(g->tbl + i), vm));
  else
    for (unsigned i = 0; i < PAT_BLOCK_WORDS; i += 8)
      _mm512_store_si512(blk + i,
                         _mm512_xor_si512(_mm512_load_si512(g->tbl + i), vm));
}

/* Four accumulators so the reduction is not one long dependency chain. */
__attribute__((target("avx512f"))) static uint64_t
check_avx512(const struct pat_gen *g, const uint64_t *blk, uint64_t m) {
  __m512i vm = _mm512_set1_epi64((long long)m);
  __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(),
                    _mm512_setzero_si512(), _mm512_setzero_si512()};
  for (unsigned i = 0; i < PAT_BLOCK_WORDS; i += 32)
    for (unsigned k = 0; k < 4; k++) {
      __m512i x = _mm512_load_si512(blk + i + 8 * k);
      __m512i t = _mm512_load_si512(g->tbl + i + 8 * k);
      /* 0x96: three-way XOR; then OR into the accumulator. */
      acc[k] =
          _mm512_or_si512(acc[k], _mm512_ternarylogic_epi64(x, t, vm, 0x96));
    }
  __m512i a = _mm512_or_si512(_mm512_or_si512(acc[0], acc[1]),
                              _mm512_or_si512(acc[2], acc[3]));
  return (uint64_t)_mm512_reduce_or_epi64(a);
}

__attribute__((target("avx2"))) static void
fill_avx2(const struct pat_gen *g, uint64_t *blk, uint64_t m, bool nt) {
  __m256i vm = _mm256_set1_epi64x((long long)m);
  if (nt)
    for (unsigned i = 0; i < PAT_BLOCK_WORDS; i += 4)
      _mm256_stream_si256(
          (__m256i *)(blk + i),
          _mm256_xor_si256(_mm256_load_si256((const __m256i *)(g->tbl + i)),
                           vm));
  else
    for (unsigned i = 0; i < PAT_BLOCK_WORDS; i += 4)
      _mm256_store_si256(
          (__m256i *)(blk + i),
          _mm256_xor_si256(_mm256_load_si256((const __m256i *)(g->tbl + i)),
                           vm));
}

__attribute__((target("avx2"))) static uint64_t
check_avx2(const struct pat_gen *g, const uint64_t *blk, uint64_t m) {
  __m256i vm = _mm256_set1_epi64x((long long)m);
  __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(),
                    _mm256_setzero_si256(), _mm256_setzero_si256()};
  for (unsigned i = 0; i < PAT_BLOCK_WORDS; i += 16)
    for (unsigned k = 0; k < 4; k++) {
      __m256i x = _mm256_load_si256((const __m256i *)(blk + i + 4 * k));
      __m256i t = _mm256_load_si256((const __m256i *)(g->tbl + i + 4 * k));
      acc[k] =
          _mm256_or_si256(acc[k], _mm256_xor_si256(_mm256_xor_si256(x, t), vm));
    }
  __m256i a = _mm256_or_si256(_mm256_or_si256(acc[0], acc[1]),
                              _mm256_or_si256(acc[2], acc[3]));
  uint64_t out[4];
  _mm256_storeu_si256((__m256i *)out, a);
  return out[0] | out[1] | out[2] | out[3];
}
#endif

void pat_fill(enum pat_isa isa, const struct pat_gen *g, uint64_t *blocks,
              size_t nblocks, bool nt) {
  for (size_t b = 0; b < nblocks; b++) {
    uint64_t *blk = blocks + b * PAT_BLOCK_WORDS;
    uint64_t m = block_mask(g, (uintptr_t)blk);
    switch (isa) {
#ifdef KILN_X86
    case PAT_ISA_AVX512: fill_avx512(g, blk, m, nt); break;
    case PAT_ISA_AVX2: fill_avx2(g, blk, m, nt); break;
#endif
    default: fill_portable(g, blk, m); break;
    }
  }
}

void pat_fence(void) {
#ifdef KILN_X86
  _mm_sfence();
#endif
}

uint64_t pat_check_block(enum pat_isa isa, const struct pat_gen *g,
                         const uint64_t *block) {
  uint64_t m = block_mask(g, (uintptr_t)block);
  switch (isa) {
#ifdef KILN_X86
  case PAT_ISA_AVX512: return check_avx512(g, block, m);
  case PAT_ISA_AVX2: return check_avx2(g, block, m);
#endif
  default: return check_portable(g, block, m);
  }
}
