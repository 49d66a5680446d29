/* dram.bandwidth: STREAM-style copy, scale, add and triad on every allowed
 * CPU, best-of-N timing, bytes counted as STREAM counts them, and every
 * element verified.
 *
 * Values stay exact and checkable: element j starts as 2^k(j) times a
 * common value, with k(j) in [-32, 31] scrambled over j. Multiplying by a
 * power of two commutes with every rounded multiply and add, so after any
 * number of rounds element j must hold exactly 2^k(j) times the scalar a
 * single thread computes with the same operations: the check adds k(j) to
 * the exponent bits and compares. The scrambled k also catches writes that
 * land on the wrong element. The scale factor q ~ sqrt(2)-1 makes a round
 * (copy, scale, add, triad) multiply values by (1+q)^2-1 ~ 1, so they
 * neither overflow nor vanish however long the step runs. */
#include <errno.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "cpu_worker.h"
#include "cpuset.h"
#include "kiln/module.h"
#include "kiln/result.h"
#include "kiln/step.h"
#include "kiln/textutil.h"

static const double Q = 0x1.a827999fcef32p-2; /* ~ sqrt(2) - 1 */

enum op { OP_INIT, OP_COPY, OP_SCALE, OP_ADD, OP_TRIAD, OP_VERIFY, OP_QUIT };
/* Bytes STREAM counts per element: reads + writes, no write-allocate. */
static const double op_bytes[] = {0, 16, 16, 24, 24, 0, 0};

enum isa { ISA_PORTABLE, ISA_AVX2, ISA_AVX512 };
static const char *const isa_names[] = {"portable", "avx2", "avx512"};

#define MAX_DIAGS 16

struct team;

struct worker {
  struct team *t;
  pthread_t tid;
  int cpu, pin_err;
  size_t lo, hi; /* element range, multiples of 8 (one cache line) */
};

struct team {
  struct kiln_step *step;
  double *a, *b, *c;
  size_t n;
  size_t map_bytes;
  enum isa isa;
  bool nt;
  /* The scalar values every element must equal (scaled by 2^k(j)). */
  double A, B, C;
  atomic_ullong errors;
  atomic_int diags;

  pthread_mutex_t mu;
  pthread_cond_t work, done;
  unsigned gen;
  enum op op;
  int remaining;
  struct worker *ws;
  int nw;
};

/* ---- kernels: each thread's [lo, hi) ---- */

static void copy_portable(double *restrict c, const double *restrict a,
                          size_t lo, size_t hi) {
  for (size_t j = lo; j < hi; j++)
    c[j] = a[j];
}
static void scale_portable(double *restrict b, const double *restrict c,
                           size_t lo, size_t hi) {
  for (size_t j = lo; j < hi; j++)
    b[j] = Q * c[j];
}
static void add_portable(double *restrict c, const double *restrict a,
                         const double *restrict b, size_t lo, size_t hi) {
  for (size_t j = lo; j < hi; j++)
    c[j] = a[j] + b[j];
}
static void triad_portable(double *restrict a, const double *restrict b,
                           const double *restrict c, size_t lo, size_t hi) {
  for (size_t j = lo; j < hi; j++) {
    /* Two statements: no compiler may fuse them into an FMA, which would
     * round differently from the scalar reference. */
    double t = Q * c[j];
    a[j] = b[j] + t;
  }
}

#if defined(__x86_64__)
#define KILN_X86 1
/* One macro body per ISA: V is the vector type, W its width in doubles,
 * LD/ST/NT load, store and stream, MUL/ADD, SET1 broadcast. */
#define DEFINE_KERNELS(SFX, TGT, V, W, LD, ST, NT, MUL, ADD, SET1)             \
  __attribute__((target(TGT))) static void copy_##SFX(                         \
      double *restrict c, const double *restrict a, size_t lo, size_t hi,      \
      bool nt) {                                                               \
    if (nt)                                                                    \
      for (size_t j = lo; j < hi; j += W)                                      \
        NT(c + j, LD(a + j));                                                  \
    else                                                                       \
      for (size_t j = lo; j < hi; j += W)                                      \
        ST(c + j, LD(a + j));                                                  \
    _mm_sfence();                                                              \
  }                                                                            \
  __attribute__((target(TGT))) static void scale_##SFX(                        \
      double *restrict b, const double *restrict c, size_t lo, size_t hi,      \
      bool nt) {                                                               \
    V q = SET1(Q);                                                             \
    if (nt)                                                                    \
      for (size_t j = lo; j < hi; j += W)                                      \
        NT(b + j, MUL(q, LD(c + j)));                                          \
    else                                                                       \
      for (size_t j = lo; j < hi; j += W)                                      \
        ST(b + j, MUL(q, LD(c + j)));                                          \
    _mm_sfence();                                                              \
  }                                                                            \
  __attribute__((target(TGT))) static void add_##SFX(                          \
      double *restrict c, const double *restrict a, const double *restrict b,  \
      size_t lo, size_t hi, bool nt) {                                         \
    if (nt)                                                                    \
      for (size_t j = lo; j < hi; j += W)                                      \
        NT(c + j, ADD(LD(a + j), LD(b + j)));                                  \
    else                                                                       \
      for (size_t j = lo; j < hi; j += W)                                      \
        ST(c + j, ADD(LD(a + j), LD(b + j)));                                  \
    _mm_sfence();                                                              \
  }                                                                            \
  __attribute__((target(TGT))) static void triad_##SFX(                        \
      double *restrict a, const double *restrict b, const double *restrict c,  \
      size_t lo, size_t hi, bool nt) {                                         \
    V q = SET1(Q);                                                             \
    if (nt)                                                                    \
      for (size_t j = lo; j < hi; j += W)                                      \
        NT(a + j, ADD(LD(b + j), MUL(q, LD(c + j))));                          \
    else                                                                       \
      for (size_t j = lo; j < hi; j += W)                                      \
        ST(a + j, ADD(LD(b + j), MUL(q, LD(c + j))));                          \
    _mm_sfence();                                                              \
  }

DEFINE_KERNELS(avx512, "avx512f", __m512d, 8, _mm512_load_pd, _mm512_store_pd,
               _mm512_stream_pd, _mm512_mul_pd, _mm512_add_pd, _mm512_set1_pd)
DEFINE_KERNELS(avx2, "avx2", __m256d, 4, _mm256_load_pd, _mm256_store_pd,
               _mm256_stream_pd, _mm256_mul_pd, _mm256_add_pd, _mm256_set1_pd)
#endif

static void run_kernel(const struct team *t, enum op op, size_t lo, size_t hi) {
  double *a = t->a, *b = t->b, *c = t->c;
  switch (t->isa) {
#ifdef KILN_X86
  case ISA_AVX512:
    switch (op) {
    case OP_COPY: copy_avx512(c, a, lo, hi, t->nt); return;
    case OP_SCALE: scale_avx512(b, c, lo, hi, t->nt); return;
    case OP_ADD: add_avx512(c, a, b, lo, hi, t->nt); return;
    case OP_TRIAD: triad_avx512(a, b, c, lo, hi, t->nt); return;
    default: return;
    }
  case ISA_AVX2:
    switch (op) {
    case OP_COPY: copy_avx2(c, a, lo, hi, t->nt); return;
    case OP_SCALE: scale_avx2(b, c, lo, hi, t->nt); return;
    case OP_ADD: add_avx2(c, a, b, lo, hi, t->nt); return;
    case OP_TRIAD: triad_avx2(a, b, c, lo, hi, t->nt); return;
    default: return;
    }
#endif
  default:
    switch (op) {
    case OP_COPY: copy_portable(c, a, lo, hi); return;
    case OP_SCALE: scale_portable(b, c, lo, hi); return;
    case OP_ADD: add_portable(c, a, b, lo, hi); return;
    case OP_TRIAD: triad_portable(a, b, c, lo, hi); return;
    default: return;
    }
  }
}

/* ---- exact expected values ---- */

/* 2^k(j) as an addition to the exponent field, k(j) in [-32, 31]. */
static inline uint64_t exp_offset(size_t j) {
  uint64_t k = ((j ^ (j >> 6) ^ (j >> 12)) & 63) - 32;
  return k << 52; /* unsigned: a negative k wraps into a subtraction */
}

static inline uint64_t dbits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

static inline double from_bits(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

static void init_range(struct team *t, size_t lo, size_t hi) {
  uint64_t A = dbits(t->A), B = dbits(t->B), C = dbits(t->C);
  for (size_t j = lo; j < hi; j++) {
    uint64_t e = exp_offset(j);
    t->a[j] = from_bits(A + e);
    t->b[j] = from_bits(B + e);
    t->c[j] = from_bits(C + e);
  }
}

/* Element j is wrong in one or more arrays: one diagnosis naming each
 * wrong value, then the expected values are written back so later rounds
 * neither spread the error to the other arrays nor report it again. */
static void report_and_repair(struct team *t, size_t j, const uint64_t want[3],
                              unsigned long long *bad) {
  double *arr[3] = {t->a, t->b, t->c};
  static const char name[3] = {'a', 'b', 'c'};
  char msg[700] = "", hwid[40] = "";
  size_t len = 0;
  for (int k = 0; k < 3; k++) {
    uint64_t got = dbits(arr[k][j]);
    if (got == want[k])
      continue;
    (*bad)++;
    uint64_t phys;
    char where[48] = "";
    if (kiln_virt_to_phys(&arr[k][j], &phys)) {
      snprintf(where, sizeof where, ", physical 0x%llx",
               (unsigned long long)phys);
      if (!hwid[0])
        snprintf(hwid, sizeof hwid, "phys:0x%llx", (unsigned long long)phys);
    }
    if (len < sizeof msg)
      len += (size_t)snprintf(
          msg + len, sizeof msg - len,
          "%s%c[%zu] at virtual %p%s holds 0x%016llx (%.17g), expected "
          "0x%016llx (%.17g), xor 0x%016llx",
          len ? "; " : "", name[k], j, (void *)&arr[k][j], where,
          (unsigned long long)got, from_bits(got), (unsigned long long)want[k],
          from_bits(want[k]), (unsigned long long)(got ^ want[k]));
    arr[k][j] = from_bits(want[k]);
  }
  if (atomic_fetch_add(&t->diags, 1) < MAX_DIAGS)
    kiln_emit_diagnosis(t->step, KILN_DIAG_FAIL, "dram-miscompare",
                        hwid[0] ? hwid : NULL, "%s", msg);
}

static void verify_range(struct team *t, struct worker *w) {
  uint64_t A = dbits(t->A), B = dbits(t->B), C = dbits(t->C);
  const uint64_t *a = (const uint64_t *)t->a, *b = (const uint64_t *)t->b,
                 *c = (const uint64_t *)t->c;
  unsigned long long bad = 0;
  for (size_t j = w->lo; j < w->hi; j++) {
    uint64_t e = exp_offset(j);
    /* One branch per element, taken only on a miscompare. */
    if (__builtin_expect(
            ((a[j] ^ (A + e)) | (b[j] ^ (B + e)) | (c[j] ^ (C + e))) != 0, 0)) {
      const uint64_t want[3] = {A + e, B + e, C + e};
      report_and_repair(t, j, want, &bad);
    }
  }
  if (bad)
    atomic_fetch_add(&t->errors, bad);
}

/* ---- the team: a coordinator hands ops to pinned workers ---- */

static void *worker_main(void *arg) {
  struct worker *w = arg;
  struct team *t = w->t;
  w->pin_err = kiln_pin_self(w->cpu);
  unsigned seen = 0;
  for (;;) {
    pthread_mutex_lock(&t->mu);
    while (t->gen == seen)
      pthread_cond_wait(&t->work, &t->mu);
    seen = t->gen;
    enum op op = t->op;
    pthread_mutex_unlock(&t->mu);
    if (op == OP_QUIT || w->pin_err)
      ; /* nothing to do; a pin error ends the step after init */
    else if (op == OP_INIT)
      init_range(t, w->lo, w->hi); /* first touch: pages on this CPU's node */
    else if (op == OP_VERIFY)
      verify_range(t, w);
    else
      run_kernel(t, op, w->lo, w->hi);
    pthread_mutex_lock(&t->mu);
    if (--t->remaining == 0)
      pthread_cond_signal(&t->done);
    pthread_mutex_unlock(&t->mu);
    if (op == OP_QUIT)
      return NULL;
  }
}

/* Progress, at most every 0.25 s: the watchdog's heartbeat. */
static void beat(struct team *t, double now, double *last_beat) {
  if (now - *last_beat < 0.25)
    return;
  double d = kiln_step_duration(t->step);
  double left = kiln_step_deadline(t->step) - now;
  kiln_emit_progress(t->step, d > 0 ? 1 - left / d : 1);
  *last_beat = now;
}

/* Runs one op on every worker; returns its wall time. Keeps the watchdog
 * fed while an op is long (huge arrays, slow or busy memory): the beat goes
 * out while the workers run, not only when they are done. */
static double team_run(struct team *t, enum op op, double *last_beat) {
  pthread_mutex_lock(&t->mu);
  double t0 = kiln_monotonic_now();
  t->op = op;
  t->remaining = t->nw;
  t->gen++;
  pthread_cond_broadcast(&t->work);
  while (t->remaining > 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 250 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&t->done, &t->mu, &ts);
    if (op != OP_QUIT && t->remaining > 0)
      beat(t, kiln_monotonic_now(), last_beat);
  }
  double t1 = kiln_monotonic_now();
  pthread_mutex_unlock(&t->mu);
  if (op != OP_QUIT)
    beat(t, t1, last_beat);
  return t1 - t0;
}

static bool isa_supported(enum isa i) {
  switch (i) {
#ifdef KILN_X86
  case ISA_AVX512: return __builtin_cpu_supports("avx512f");
  case ISA_AVX2: return __builtin_cpu_supports("avx2");
#endif
  case ISA_PORTABLE: return true;
  default: return false;
  }
}

_Static_assert(ISA_AVX512 + 1 == KILN_CPU_KERNELS, "cpu_worker.h's order");

static bool parse_isa(struct kiln_step *s, enum isa *out) {
  bool supported[KILN_CPU_KERNELS];
  for (int i = 0; i < KILN_CPU_KERNELS; i++)
    supported[i] = isa_supported((enum isa)i);
  int i = kiln_cpu_worker_kernel(s, supported);
  if (i >= 0)
    *out = (enum isa)i;
  return i >= 0;
}

/* Bytes per array: "auto" is 4x the last-level cache, at least 256 MiB;
 * otherwise a size or a share of MemAvailable. Three arrays must fit in
 * half of what is available. */
static bool array_bytes(struct kiln_step *s, uint64_t avail, uint64_t *out) {
  const char *v = kiln_step_param(s, "array_size");
  uint64_t bytes;
  if (v && strcmp(v, "auto") == 0) {
    bytes = 4 * kiln_llc_bytes();
    if (bytes < (256ULL << 20))
      bytes = 256ULL << 20;
    if (avail && 3 * bytes > avail / 2)
      bytes = avail / 6;
  } else if (!kiln_step_param_bytes(s, "array_size", avail, &bytes)) {
    return false;
  } else if (avail && 3 * bytes > avail / 2) {
    kiln_step_error(s,
                    "array_size %llu MiB: three arrays need more than half "
                    "of MemAvailable (%llu MiB)",
                    (unsigned long long)(bytes >> 20),
                    (unsigned long long)(avail >> 20));
    return false;
  }
  if (bytes < 64 * 1024) {
    kiln_step_error(s, "array_size %llu bytes is too small (64K at least)",
                    (unsigned long long)bytes);
    return false;
  }
  *out = bytes;
  return true;
}

static bool parse_nt(struct kiln_step *s, uint64_t bytes, bool *out) {
  const char *v = kiln_step_param(s, "nt");
  if (!v || strcmp(v, "auto") == 0) {
    /* Streaming stores skip the read-for-ownership of lines that will not
     * be read again soon; for cache-resident arrays they only hurt. */
    uint64_t llc = kiln_llc_bytes();
    *out = llc == 0 || 3 * bytes > 2 * llc;
  } else if (strcmp(v, "on") == 0) {
    *out = true;
  } else if (strcmp(v, "off") == 0) {
    *out = false;
  } else {
    kiln_step_error(s, "parameter nt = '%s' is not one of auto, on, off", v);
    return false;
  }
  return true;
}

static void *map_array(size_t bytes) {
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  /* Huge pages spare the TLB; the kernel may decline, which is fine. */
  madvise(p, bytes, MADV_HUGEPAGE);
  return p;
}

/* The team's arrays, mapped but not touched (the workers touch them);
 * NULL, with the step ended, when they cannot be mapped. */
static struct team *team_new(struct kiln_step *s, enum isa isa, bool nt,
                             uint64_t bytes) {
  struct team *t = kiln_xcalloc(1, sizeof *t);
  t->step = s;
  t->isa = isa;
  t->nt = nt;
  t->n = (size_t)(bytes / sizeof(double)) / 8 * 8;
  t->map_bytes = t->n * sizeof(double);
  t->A = 1.0 + 0x1.5p-7;
  t->B = 2.0;
  t->C = 0.5;
  t->a = map_array(t->map_bytes);
  t->b = map_array(t->map_bytes);
  t->c = map_array(t->map_bytes);
  if (t->a && t->b && t->c)
    return t;
  kiln_step_error(s, "cannot map 3 arrays of %zu MiB: %s", t->map_bytes >> 20,
                  strerror(errno));
  if (t->a)
    munmap(t->a, t->map_bytes);
  if (t->b)
    munmap(t->b, t->map_bytes);
  if (t->c)
    munmap(t->c, t->map_bytes);
  free(t);
  return NULL;
}

/* A worker on each CPU, each on a contiguous slice in cache lines, the
 * remainder spread one line each; t->nw counts those that started. */
static void team_start(struct team *t, const int *cpus, int ncpu) {
  pthread_mutex_init(&t->mu, NULL);
  pthread_cond_init(&t->work, NULL);
  pthread_cond_init(&t->done, NULL);
  atomic_init(&t->errors, 0);
  atomic_init(&t->diags, 0);
  t->ws = kiln_xcalloc((size_t)ncpu, sizeof *t->ws);
  size_t lines = t->n / 8, per = lines / (size_t)ncpu,
         extra = lines % (size_t)ncpu, at = 0;
  for (int i = 0; i < ncpu; i++) {
    struct worker *w = &t->ws[i];
    w->t = t;
    w->cpu = cpus[i];
    w->lo = at;
    at += 8 * (per + ((size_t)i < extra));
    w->hi = at;
    if (!kiln_cpu_worker_start(t->step, cpus[i], &w->tid, worker_main, w))
      break;
    t->nw++;
  }
}

/* Stops the workers and frees the team. */
static void team_free(struct team *t, double *beat) {
  if (t->nw > 0) {
    team_run(t, OP_QUIT, beat);
    for (int i = 0; i < t->nw; i++)
      pthread_join(t->ws[i].tid, NULL);
  }
  free(t->ws);
  pthread_cond_destroy(&t->done);
  pthread_cond_destroy(&t->work);
  pthread_mutex_destroy(&t->mu);
  munmap(t->a, t->map_bytes);
  munmap(t->b, t->map_bytes);
  munmap(t->c, t->map_bytes);
  free(t);
}

/* dram.bad_triad: as if one triad store had landed wrong. */
static void inject_bad_triad(struct team *t) {
  size_t j = t->n / 2 + 3;
  uint64_t u = dbits(t->a[j]) ^ (1ULL << 20);
  t->a[j] = from_bits(u);
  kiln_emit_log(t->step, KILN_SEV_WARNING,
                "dram.bad_triad injected: flipped bit 20 of a[%zu] at "
                "%p",
                j, (void *)&t->a[j]);
}

/* Timed rounds of copy, scale, add and triad until the deadline, the
 * arrays verified on the way; then the best rate of each op. */
static void timed_rounds(struct team *t, bool inject, double *beat) {
  struct kiln_step *s = t->step;
  double best[OP_TRIAD + 1];
  for (int o = 0; o <= OP_TRIAD; o++)
    best[o] = 1e300;
  long rounds = 0, verifies = 0;
  double start = kiln_monotonic_now(), last_verify = start;
  bool injected = false;
  /* At least one timed round; then until the deadline. */
  do {
    for (int o = OP_COPY; o <= OP_TRIAD; o++) {
      double dt = team_run(t, (enum op)o, beat);
      if (dt < best[o])
        best[o] = dt;
    }
    /* The same round, one element: what every element must now hold. */
    t->C = t->A;
    t->B = Q * t->C;
    t->C = t->A + t->B;
    double tq = Q * t->C;
    t->A = t->B + tq;
    rounds++;
    kiln_emit_running(s, "copy_gbps",
                      op_bytes[OP_COPY] * (double)t->n / best[OP_COPY] / 1e9,
                      NULL);
    kiln_emit_running(s, "triad_gbps",
                      op_bytes[OP_TRIAD] * (double)t->n / best[OP_TRIAD] / 1e9,
                      NULL);
    bool injected_now = false;
    bool more = kiln_step_time_left(s);
    /* Halfway through the time left after set-up, or in the last round
     * at the latest, so a short step still gets its fault. */
    if (inject && !injected &&
        (!more ||
         kiln_monotonic_now() - start >= (kiln_step_deadline(s) - start) / 2)) {
      inject_bad_triad(t);
      injected = injected_now = true;
    }
    /* Verify about once a second, always at the end, and right after an
     * injection, before later rounds carry the value elsewhere. */
    if (!more || injected_now || kiln_monotonic_now() - last_verify >= 1.0) {
      team_run(t, OP_VERIFY, beat);
      verifies++;
      last_verify = kiln_monotonic_now();
    }
    if (!more)
      break;
  } while (true);

  const char *names[] = {NULL, "copy_gbps", "scale_gbps", "add_gbps",
                         "triad_gbps"};
  for (int o = OP_COPY; o <= OP_TRIAD; o++)
    kiln_emit_measurement(s, names[o],
                          op_bytes[o] * (double)t->n / best[o] / 1e9, NULL);
  unsigned long long errs = atomic_load(&t->errors);
  kiln_emit_log(s, errs ? KILN_SEV_ERROR : KILN_SEV_INFO,
                "%ld rounds, %ld full verifications, %llu wrong elements; "
                "best times copy %.3f ms, triad %.3f ms",
                rounds, verifies, errs, best[OP_COPY] * 1e3,
                best[OP_TRIAD] * 1e3);
}

static void dram_bandwidth_run(struct kiln_step *s) {
  enum isa isa;
  uint64_t bytes;
  bool nt;
  uint64_t avail = kiln_mem_available();
  if (!parse_isa(s, &isa) || !array_bytes(s, avail, &bytes) ||
      !parse_nt(s, bytes, &nt))
    return;
  bool inject = kiln_step_inject(s, "dram.bad_triad");
  int ncpu;
  int *cpus = kiln_cpu_worker_cpus(s, &ncpu);
  if (!cpus)
    return;

  struct team *t = team_new(s, isa, nt, bytes);
  if (!t) {
    free(cpus);
    return;
  }
  team_start(t, cpus, ncpu);
  double beat = kiln_monotonic_now();
  if (t->nw == ncpu) {
    kiln_emit_log(s, KILN_SEV_INFO,
                  "%d threads, 3 arrays of %zu MiB (%zu doubles), %s kernel, "
                  "%s stores",
                  ncpu, t->map_bytes >> 20, t->n, isa_names[isa],
                  nt ? "non-temporal" : "regular");
    team_run(t, OP_INIT, &beat);
    for (int i = 0; i < ncpu; i++)
      if (t->ws[i].pin_err)
        kiln_step_error(s, "cannot pin a thread to cpu%d: %s", t->ws[i].cpu,
                        strerror(t->ws[i].pin_err));
  }
  if (t->nw == ncpu && !kiln_step_ended(s))
    timed_rounds(t, inject, &beat);
  team_free(t, &beat);
  free(cpus);
}

static bool dram_bandwidth_available(char *why, size_t n) {
  char llc[64];
  kiln_llc_text(kiln_llc_bytes(), llc, sizeof llc);
  snprintf(why, n, "%d CPUs, %s, %llu MiB available",
           kiln_cpus_allowed(NULL, 0), llc,
           (unsigned long long)(kiln_mem_available() >> 20));
  return true;
}

static const struct kiln_param_spec params[] = {
    {"array_size", "auto",
     "bytes per array (512M, 2G, 5% of MemAvailable); auto: 4x the "
     "last-level cache, at least 256M",
     .kind = KILN_PARAM_SIZE, .words = "auto", .min = 64 << 10,
     .max = INFINITY},
    {"kernel", "auto", "auto, avx512, avx2 or portable",
     .kind = KILN_PARAM_WORD, .words = "auto|avx512|avx2|portable"},
    {"nt", "auto",
     "non-temporal stores: auto (when arrays exceed the cache), "
     "on, off",
     .kind = KILN_PARAM_WORD, .words = "auto|on|off"},
    {0},
};

static const struct kiln_measurement_spec measurements[] = {
    {"copy_gbps", "GB/s", "best copy bandwidth, 16 bytes per element"},
    {"scale_gbps", "GB/s", "best scale bandwidth, 16 bytes per element"},
    {"add_gbps", "GB/s", "best add bandwidth, 24 bytes per element"},
    {"triad_gbps", "GB/s", "best triad bandwidth, 24 bytes per element"},
    {NULL, NULL, NULL},
};

static const char *const faults[] = {"dram.bad_triad", NULL};

const struct kiln_module kiln_module_dram_bandwidth = {
    .name = "dram.bandwidth",
    .summary = "STREAM copy/scale/add/triad on every CPU, every element "
               "verified",
    .targets = KILN_TARGETS_HOST,
    .stress = true,
    .params = params,
    .measurements = measurements,
    .faults = faults,
    .key_measurement = "triad_gbps",
    .available = dram_bandwidth_available,
    .run = dram_bandwidth_run,
};
