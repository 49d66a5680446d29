/* cpu.compute: every allowed CPU runs dependent FMA chains at full rate and
 * checks each block of work bitwise against a reference, so a core that
 * computes wrong (silent data corruption) is named, not averaged away.
 *
 * The recurrence alternates x <- fma(x, m1, a1) and x <- fma(x, m2, a2)
 * with x in [1,2), m1 slightly above 2 (result in [2,4)) and m2 slightly
 * above 1/2 (back into [1,2)). Neighbouring doubles in [1,2) are u apart;
 * their images under the first step are m1*u > 2u apart, the spacing of
 * [2,4), and the second step maps spacing 2u to m2*2u > u. Distinct
 * inputs therefore never round to the same output: a flipped bit, even the
 * lowest, cannot heal before the check. m1*m2 = 1 + 2^-31..2^-27 and the
 * offsets cancel, so values stay in range over a block; every block
 * restarts from the same state, so one reference (scalar fma(), correctly
 * rounded like the vector units) serves every block, kernel and CPU. */
#include "cpu_compute.h"

#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpu_worker.h"
#include "cpuset.h"
#include "kiln/module.h"
#include "kiln/result.h"
#include "kiln/step.h"
#include "kiln/textutil.h"

/* Constants per lane, periodic in 4 lanes so that ymm (4 lanes) and zmm
 * (8 lanes) kernels load the same values. */
struct fma_consts {
  double m1[4], a1[4], m2[4], a2[4];
};

static struct fma_consts g_consts;
static pthread_once_t g_consts_once = PTHREAD_ONCE_INIT;

static void consts_init(void) {
  /* Multipliers carry ~20 scattered low mantissa bits so the multiplier
   * array sees more than a power of two. */
  static const double m1[4] = {0x1.000000019e377p+1, 0x1.00000007f4a7dp+1,
                               0x1.0000000bf5847p+1, 0x1.000000094d04bp+1};
  static const double m2[4] = {0x1.00000002468adp-1, 0x1.0000000da942fp-1,
                               0x1.00000005bd1e9p-1, 0x1.00000001c6ef3p-1};
  static const double a1[4] = {-0x1.0123456789abdp-2, -0x1.fedcba9876543p-3,
                               -0x1.13579bdf02467p-2, -0x1.eca8642fdb975p-3};
  for (int k = 0; k < 4; k++) {
    g_consts.m1[k] = m1[k];
    g_consts.m2[k] = m2[k];
    g_consts.a1[k] = a1[k];
    /* A pair maps x to (1+eta)x + m2*a1 + a2; zero drift at x = 1.5. */
    double eta = m1[k] * m2[k] - 1.0;
    g_consts.a2[k] = -m2[k] * a1[k] - eta * 1.5;
  }
}

static const struct fma_consts *consts(void) {
  pthread_once(&g_consts_once, consts_init);
  return &g_consts;
}

void cpu_fma_init(double *state) {
  /* Full 52-bit mantissas spread over [1.25, 1.75): the range where both
   * steps stay inside their binades. */
  for (int i = 0; i < CPU_FMA_LANES; i++) {
    uint64_t r = kiln_mix64(0x6b696c6eULL + (uint64_t)i);
    state[i] = 1.25 + 0.5 * (double)(r >> 11) * 0x1p-53;
  }
}

static void kernel_portable(double *st, const struct fma_consts *c,
                            long pairs) {
  /* Lanes in the inner loop: independent chains give the CPU some
   * parallelism even through libm's fma(). */
  for (long i = 0; i < pairs; i++) {
    for (int l = 0; l < CPU_FMA_LANES; l++)
      st[l] = fma(st[l], c->m1[l & 3], c->a1[l & 3]);
    for (int l = 0; l < CPU_FMA_LANES; l++)
      st[l] = fma(st[l], c->m2[l & 3], c->a2[l & 3]);
  }
}

#if defined(__x86_64__) || defined(__i386__)
#define KILN_X86 1

#define X8(F) F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7)
#define X16(F) X8(F) F(8) F(9) F(10) F(11) F(12) F(13) F(14) F(15)

/* 16 zmm chains: 2 FMA units x 4-cycle latency need 8 in flight; 16 leaves
 * room for 5-6-cycle latencies, and with 4 constants uses 20 of 32. */
__attribute__((target("avx512f"))) static void
kernel_avx512(double *st, const struct fma_consts *c, long pairs) {
  __m512d m1 = _mm512_broadcast_f64x4(_mm256_loadu_pd(c->m1));
  __m512d a1 = _mm512_broadcast_f64x4(_mm256_loadu_pd(c->a1));
  __m512d m2 = _mm512_broadcast_f64x4(_mm256_loadu_pd(c->m2));
  __m512d a2 = _mm512_broadcast_f64x4(_mm256_loadu_pd(c->a2));
#define LOAD(i) __m512d x##i = _mm512_load_pd(st + 8 * (i));
#define STEP1(i) x##i = _mm512_fmadd_pd(x##i, m1, a1);
#define STEP2(i) x##i = _mm512_fmadd_pd(x##i, m2, a2);
#define STORE(i) _mm512_store_pd(st + 8 * (i), x##i);
  X16(LOAD)
  for (long i = 0; i < pairs; i++) {
    X16(STEP1)
    X16(STEP2)
  }
  X16(STORE)
#undef LOAD
#undef STEP1
#undef STEP2
#undef STORE
}

/* 16 ymm registers only: 8 chains + 4 constants per pass, four passes over
 * the 32 ymm of state. */
__attribute__((target("avx2,fma"))) static void
kernel_avx2(double *st, const struct fma_consts *c, long pairs) {
  __m256d m1 = _mm256_loadu_pd(c->m1), a1 = _mm256_loadu_pd(c->a1);
  __m256d m2 = _mm256_loadu_pd(c->m2), a2 = _mm256_loadu_pd(c->a2);
  for (int g = 0; g < CPU_FMA_LANES / 32; g++) {
    double *p = st + 32 * g;
#define LOAD(i) __m256d x##i = _mm256_load_pd(p + 4 * (i));
#define STEP1(i) x##i = _mm256_fmadd_pd(x##i, m1, a1);
#define STEP2(i) x##i = _mm256_fmadd_pd(x##i, m2, a2);
#define STORE(i) _mm256_store_pd(p + 4 * (i), x##i);
    X8(LOAD)
    for (long i = 0; i < pairs; i++) {
      X8(STEP1)
      X8(STEP2)
    }
    X8(STORE)
#undef LOAD
#undef STEP1
#undef STEP2
#undef STORE
  }
}
#endif

const char *cpu_fma_kernel_name(enum cpu_fma_kernel k) {
  switch (k) {
  case CPU_FMA_PORTABLE: return "portable";
  case CPU_FMA_AVX2: return "avx2";
  case CPU_FMA_AVX512: return "avx512";
  default: return "?";
  }
}

bool cpu_fma_kernel_supported(enum cpu_fma_kernel k) {
  switch (k) {
  case CPU_FMA_PORTABLE: return true;
#ifdef KILN_X86
  case CPU_FMA_AVX2:
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  case CPU_FMA_AVX512: return __builtin_cpu_supports("avx512f");
#endif
  default: return false;
  }
}

void cpu_fma_run(enum cpu_fma_kernel k, double *state, long pairs) {
  const struct fma_consts *c = consts();
  switch (k) {
#ifdef KILN_X86
  case CPU_FMA_AVX512: kernel_avx512(state, c, pairs); return;
  case CPU_FMA_AVX2: kernel_avx2(state, c, pairs); return;
#endif
  default: kernel_portable(state, c, pairs); return;
  }
}

static enum cpu_fma_kernel best_kernel(void) {
  for (int k = CPU_FMA_NKERNELS - 1; k > 0; k--)
    if (cpu_fma_kernel_supported((enum cpu_fma_kernel)k))
      return (enum cpu_fma_kernel)k;
  return CPU_FMA_PORTABLE;
}

/* ---- the module ---- */

#define MAX_DIAG_PER_CPU 4

struct shared {
  struct kiln_step *step;
  enum cpu_fma_kernel kernel;
  long pairs;
  _Alignas(64) double init[CPU_FMA_LANES];
  _Alignas(64) double ref[CPU_FMA_LANES];
  atomic_int stop;
  atomic_uint_least64_t blocks; /* every CPU's, for the running figure */
  double start, duration;
  bool inject_sdc;
};

struct worker {
  _Alignas(64) double state[CPU_FMA_LANES];
  struct shared *sh;
  pthread_t tid;
  int cpu;
  bool inject; /* this worker flips a bit once, mid-run */
  int pin_err;
  uint64_t blocks, bad_blocks;
  double t0, t1;     /* wall clock */
  double cpu0, cpu1; /* this thread's CPU time */
};

static double thread_cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t bits_of(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

static void report_mismatch(struct worker *w) {
  struct shared *sh = w->sh;
  int first = -1, nbad = 0;
  for (int l = 0; l < CPU_FMA_LANES; l++)
    if (bits_of(w->state[l]) != bits_of(sh->ref[l])) {
      if (first < 0)
        first = l;
      nbad++;
    }
  uint64_t exp = bits_of(sh->ref[first]), got = bits_of(w->state[first]);
  char hwid[32];
  snprintf(hwid, sizeof hwid, "cpu%d", w->cpu);
  kiln_emit_diagnosis(
      sh->step, KILN_DIAG_FAIL, "cpu-sdc", hwid,
      "cpu%d computed a wrong FMA result (%s kernel, block %llu, lane %d, "
      "%d of %d lanes wrong): expected 0x%016llx (%.17g), got 0x%016llx "
      "(%.17g), xor 0x%016llx",
      w->cpu, cpu_fma_kernel_name(sh->kernel), (unsigned long long)w->blocks,
      first, nbad, CPU_FMA_LANES, (unsigned long long)exp, sh->ref[first],
      (unsigned long long)got, w->state[first],
      (unsigned long long)(exp ^ got));
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  struct shared *sh = w->sh;
  w->pin_err = kiln_pin_self(w->cpu);
  if (w->pin_err)
    return NULL;
  w->t0 = kiln_monotonic_now();
  w->cpu0 = thread_cpu_now();
  /* At least one checked block, however short the step. */
  do {
    memcpy(w->state, sh->init, sizeof w->state);
    if (w->inject && kiln_monotonic_now() - sh->start >= sh->duration / 2) {
      /* cpu.sdc: corrupt the lowest mantissa bit of one lane halfway
       * through a block, the hardest flip to keep alive to the check. */
      long half = sh->pairs / 2;
      cpu_fma_run(sh->kernel, w->state, half);
      uint64_t u = bits_of(w->state[CPU_FMA_LANES - 3]) ^ 1;
      memcpy(&w->state[CPU_FMA_LANES - 3], &u, sizeof u);
      cpu_fma_run(sh->kernel, w->state, sh->pairs - half);
      w->inject = false;
      kiln_emit_log(sh->step, KILN_SEV_WARNING,
                    "cpu.sdc injected: flipped bit 0 of lane %d on cpu%d",
                    CPU_FMA_LANES - 3, w->cpu);
    } else {
      cpu_fma_run(sh->kernel, w->state, sh->pairs);
    }
    w->blocks++;
    atomic_fetch_add_explicit(&sh->blocks, 1, memory_order_relaxed);
    if (memcmp(w->state, sh->ref, sizeof w->state) != 0) {
      if (w->bad_blocks < MAX_DIAG_PER_CPU)
        report_mismatch(w);
      w->bad_blocks++;
    }
    /* An injection still due (a short step) gets its block anyway. */
  } while (!atomic_load_explicit(&sh->stop, memory_order_relaxed) || w->inject);
  w->t1 = kiln_monotonic_now();
  w->cpu1 = thread_cpu_now();
  return NULL;
}

_Static_assert(CPU_FMA_NKERNELS == KILN_CPU_KERNELS, "cpu_worker.h's order");

static bool parse_kernel(struct kiln_step *s, enum cpu_fma_kernel *out) {
  bool supported[KILN_CPU_KERNELS];
  for (int k = 0; k < KILN_CPU_KERNELS; k++)
    supported[k] = cpu_fma_kernel_supported((enum cpu_fma_kernel)k);
  int k = kiln_cpu_worker_kernel(s, supported);
  if (k >= 0)
    *out = (enum cpu_fma_kernel)k;
  return k >= 0;
}

/* What every worker reads: the kernel, the block's start state and the
 * reference it must end in. */
static struct shared *shared_new(struct kiln_step *s,
                                 enum cpu_fma_kernel kernel, long pairs) {
  struct shared *sh = aligned_alloc(64, sizeof *sh);
  if (!sh)
    abort();
  memset(sh, 0, sizeof *sh);
  sh->step = s;
  sh->kernel = kernel;
  sh->pairs = pairs;
  sh->duration = kiln_step_duration(s);
  sh->inject_sdc = kiln_step_inject(s, "cpu.sdc");
  atomic_init(&sh->stop, 0);
  atomic_init(&sh->blocks, 0);
  cpu_fma_init(sh->init);
  memcpy(sh->ref, sh->init, sizeof sh->ref);
  cpu_fma_run(CPU_FMA_PORTABLE, sh->ref, pairs);
  return sh;
}

/* Starts a worker on each CPU, the last one injecting cpu.sdc when asked;
 * returns how many started. */
static int workers_start(struct kiln_step *s, struct shared *sh,
                         struct worker *ws, const int *cpus, int ncpu) {
  sh->start = kiln_monotonic_now();
  int started = 0;
  for (int i = 0; i < ncpu; i++) {
    ws[i].sh = sh;
    ws[i].cpu = cpus[i];
    ws[i].inject = sh->inject_sdc && i == ncpu - 1;
    if (!kiln_cpu_worker_start(s, cpus[i], &ws[i].tid, worker_main, &ws[i]))
      break;
    started++;
  }
  return started;
}

/* Heartbeat while the workers run; they check `stop` every block. */
static void workers_watch(struct kiln_step *s, struct shared *sh,
                          double flops_per_block) {
  while (kiln_step_time_left(s)) {
    kiln_cpu_worker_nap(s);
    double ran = kiln_monotonic_now() - sh->start;
    kiln_emit_progress(s, sh->duration > 0 ? ran / sh->duration : 1);
    /* So far, per wall second (the final figure counts CPU seconds). */
    uint64_t blocks = atomic_load_explicit(&sh->blocks, memory_order_relaxed);
    if (ran > 0)
      kiln_emit_running(s, "gflops",
                        (double)blocks * flops_per_block / ran / 1e9, NULL);
  }
}

/* The figures of a finished run: the total, each CPU's, and each CPU's
 * wrong blocks. */
static void report(struct kiln_step *s, const struct worker *ws, int ncpu,
                   double flops_per_block) {
  double total = 0;
  uint64_t bad = 0;
  double *g = kiln_xcalloc((size_t)ncpu, sizeof *g);
  for (int i = 0; i < ncpu; i++) {
    /* Per CPU-second the thread ran: what the core can do, not how much
     * of it other processes (or a hypervisor) left to this step. */
    double sec = ws[i].cpu1 - ws[i].cpu0, wall = ws[i].t1 - ws[i].t0;
    g[i] = sec > 0 ? (double)ws[i].blocks * flops_per_block / sec / 1e9 : 0;
    total += g[i];
    if (wall > 0.5 && sec < 0.9 * wall)
      kiln_emit_log(s, KILN_SEV_WARNING,
                    "cpu%d ran the kernel only %.0f%% of the time: other "
                    "load on this CPU; gflops_per_core counts the time it "
                    "ran",
                    ws[i].cpu, 100 * sec / wall);
  }
  /* The total first: reports show a step's first measurement. */
  kiln_emit_measurement(s, "gflops", total, NULL);
  for (int i = 0; i < ncpu; i++) {
    const struct worker *w = &ws[i];
    char hwid[32];
    snprintf(hwid, sizeof hwid, "cpu%d", w->cpu);
    kiln_emit_measurement(s, "gflops_per_core", g[i], hwid);
    bad += w->bad_blocks;
    if (w->bad_blocks)
      kiln_emit_log(s, KILN_SEV_ERROR,
                    "cpu%d: %llu of %llu blocks computed wrong", w->cpu,
                    (unsigned long long)w->bad_blocks,
                    (unsigned long long)w->blocks);
  }
  free(g);
  if (!bad)
    kiln_emit_log(s, KILN_SEV_INFO, "every block on every CPU matched");
}

static void cpu_compute_run(struct kiln_step *s) {
  enum cpu_fma_kernel kernel;
  long pairs;
  if (!parse_kernel(s, &kernel) || !kiln_step_param_long(s, "pairs", &pairs))
    return;
  if (pairs < 2 || pairs > (1L << 24)) {
    kiln_step_error(s, "parameter pairs = %ld is out of range (2..16777216)",
                    pairs);
    return;
  }
  int ncpu;
  int *cpus = kiln_cpu_worker_cpus(s, &ncpu);
  if (!cpus)
    return;

  struct shared *sh = shared_new(s, kernel, pairs);
  struct worker *ws = aligned_alloc(64, sizeof *ws * (size_t)ncpu);
  if (!ws)
    abort();
  memset(ws, 0, sizeof *ws * (size_t)ncpu);
  kiln_emit_log(s, KILN_SEV_INFO,
                "%s kernel on %d CPUs: %d FMA chains per CPU, checked "
                "bitwise against scalar fma() every %ld FMA pairs",
                cpu_fma_kernel_name(kernel), ncpu, CPU_FMA_LANES, pairs);

  int started = workers_start(s, sh, ws, cpus, ncpu);
  /* 2 flops per FMA, 2 FMAs per pair. */
  const double flops_per_block = 4.0 * CPU_FMA_LANES * (double)pairs;
  if (started == ncpu)
    workers_watch(s, sh, flops_per_block);
  atomic_store(&sh->stop, 1);
  for (int i = 0; i < started; i++)
    pthread_join(ws[i].tid, NULL);

  for (int i = 0; i < started; i++)
    if (ws[i].pin_err)
      kiln_step_error(s, "cannot pin a thread to cpu%d: %s", ws[i].cpu,
                      strerror(ws[i].pin_err));
  if (!kiln_step_ended(s))
    report(s, ws, ncpu, flops_per_block);
  free(ws);
  free(sh);
  free(cpus);
}

static bool cpu_compute_available(char *why, size_t n) {
  int ncpu = kiln_cpus_allowed(NULL, 0);
  snprintf(why, n, "%s kernel on %d CPUs", cpu_fma_kernel_name(best_kernel()),
           ncpu);
  return ncpu > 0;
}

static const struct kiln_param_spec params[] = {
    {"kernel", "auto", "auto (widest the CPU has), avx512, avx2 or portable",
     .kind = KILN_PARAM_WORD, .words = "auto|avx512|avx2|portable"},
    {"pairs", "16384",
     "FMA pairs per chain between checks; each block restarts from the "
     "same state",
     .kind = KILN_PARAM_INTEGER, .min = 2, .max = 1 << 24},
    {0},
};

static const struct kiln_measurement_spec measurements[] = {
    {"gflops", "GFLOP/s", "double-precision FMA throughput of all CPUs"},
    {"gflops_per_core", "GFLOP/s", "FMA throughput of one logical CPU"},
    {NULL, NULL, NULL},
};

static const char *const faults[] = {"cpu.sdc", NULL};

const struct kiln_module kiln_module_cpu_compute = {
    .name = "cpu.compute",
    .summary = "FMA chains on every CPU, checked bitwise for silent data "
               "corruption",
    .targets = KILN_TARGETS_HOST,
    .stress = true,
    .params = params,
    .measurements = measurements,
    .faults = faults,
    .available = cpu_compute_available,
    .run = cpu_compute_run,
};
