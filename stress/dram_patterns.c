/* dram.patterns: memtester-style patterns over a share of free memory,
 * one pinned thread per allowed CPU on its own locked slice, looping until
 * the deadline.
 *
 * The work is a series of sweeps over the slice; each sweep checks every
 * 4 KiB block against the pattern the previous sweep wrote and then writes
 * the next pattern into it with streaming stores. Checking and writing in
 * the same sweep keeps DRAM busy in both directions (as STREAM's triad
 * does), 1.3-1.5x the rate of separate write and check passes, and every
 * pattern sits in DRAM for a whole sweep before it is read. Streaming
 * stores also mean every check reads DRAM, not cache. A check is a
 * vectorised XOR/OR reduction per block; only a block that reduces to
 * non-zero is walked word by word to name each bad word: pattern, virtual
 * and physical address, expected and actual value.
 *
 * One round writes: own address, walking ones, walking zeros, checkerboard
 * and its inverse, random, then moving inversions on a second random
 * pattern R (write R; check R and write ~R ascending; check ~R and write R
 * descending). The next round's first sweep checks that last R. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu_worker.h"
#include "cpuset.h"
#include "dram_pattern_gen.h"
#include "kiln/module.h"
#include "kiln/result.h"
#include "kiln/step.h"
#include "kiln/textutil.h"

/* Blocks between looks at the stop flag: 1 MiB, a few hundred µs. */
#define SLICE_BLOCKS 256

struct shared {
  struct kiln_step *step;
  enum pat_isa isa;
  uint64_t seed;
  long max_diags;
  atomic_int stop;
  atomic_int diags;
  atomic_bool mlock_warned;
  atomic_ullong errors;
};

struct worker {
  struct shared *sh;
  pthread_t tid;
  int cpu;
  int err;            /* errno of a failed pin or mmap */
  const char *failed; /* what failed */
  size_t bytes;
  uint64_t *buf;
  bool inject;
  uint64_t verified; /* bytes checked */
  uint64_t rounds, sweeps;
  double t0, t1;
  /* The pattern memory holds and the one the sweep writes; 64-byte aligned
   * for the kernels. */
  struct pat_gen *cur, *next;
  bool have_cur; /* false until the first sweep has written memory */
};

static bool stopping(const struct worker *w) {
  /* However short the step, one pattern is written and checked. */
  return w->sweeps >= 2 &&
         atomic_load_explicit(&w->sh->stop, memory_order_relaxed) != 0;
}

/* A block whose reduction was non-zero: find, count and report each bad
 * word. A second read tells a wrong stored value from an unstable read. */
static void report_block(struct worker *w, const uint64_t *blk) {
  struct shared *sh = w->sh;
  const struct pat_gen *g = w->cur;
  unsigned long long bad = 0;
  for (unsigned i = 0; i < PAT_BLOCK_WORDS; i++) {
    const volatile uint64_t *p = blk + i;
    uint64_t want = pat_expected(g, blk + i), got = *p;
    if (got == want)
      continue;
    bad++;
    if (atomic_load(&sh->diags) >= sh->max_diags ||
        atomic_fetch_add(&sh->diags, 1) >= sh->max_diags)
      continue;
    uint64_t again = *p, phys;
    char where[64] = "", hwid[40] = "";
    if (kiln_virt_to_phys(blk + i, &phys)) {
      snprintf(where, sizeof where, ", physical 0x%llx",
               (unsigned long long)phys);
      snprintf(hwid, sizeof hwid, "phys:0x%llx", (unsigned long long)phys);
    }
    kiln_emit_diagnosis(
        sh->step, KILN_DIAG_FAIL, "dram-bitflip", hwid[0] ? hwid : NULL,
        "%s%s: word at virtual %p%s (tested by cpu%d) read 0x%016llx, "
        "expected 0x%016llx (xor 0x%016llx, %d bit%s); re-read 0x%016llx "
        "(%s)",
        pat_name(g->kind), g->invert ? " (inverted)" : "",
        (const void *)(blk + i), where, w->cpu, (unsigned long long)got,
        (unsigned long long)want, (unsigned long long)(got ^ want),
        __builtin_popcountll(got ^ want),
        __builtin_popcountll(got ^ want) == 1 ? "" : "s",
        (unsigned long long)again,
        again == got ? "the stored value is wrong" : "unstable reads");
  }
  /* The reduction saw a difference the word-by-word walk could not find
   * again: the fault is transient; still an error. */
  if (!bad)
    bad = 1;
  atomic_fetch_add(&sh->errors, bad);
}

static void inject_bitflip(struct worker *w) {
  /* dram.bitflip: between a sweep's write and the next sweep's check, as a
   * weak cell would lose it. */
  volatile uint64_t *p = w->buf + (w->bytes / 8) / 2 + 5;
  *p ^= 1ULL << 13;
  uint64_t phys;
  char where[64] = "";
  if (kiln_virt_to_phys((const void *)p, &phys))
    snprintf(where, sizeof where, " (physical 0x%llx)",
             (unsigned long long)phys);
  kiln_emit_log(w->sh->step, KILN_SEV_WARNING,
                "dram.bitflip injected: flipped bit 13 of the word at "
                "virtual %p%s on cpu%d",
                (const void *)p, where, w->cpu);
  w->inject = false;
}

/* One sweep: check each block against w->cur (unless nothing was written
 * yet), then write w->next into it; blocks in descending order when
 * `down`. Afterwards w->next is what memory holds. False when stopped part
 * way. */
static bool sweep(struct worker *w, bool down) {
  size_t nblocks = w->bytes / PAT_BLOCK_BYTES;
  enum pat_isa isa = w->sh->isa;
  for (size_t k = 0; k < nblocks; k++) {
    if (k % SLICE_BLOCKS == 0) {
      pat_fence();
      if (stopping(w))
        return false;
    }
    uint64_t *blk = w->buf + (down ? nblocks - 1 - k : k) * PAT_BLOCK_WORDS;
    if (w->have_cur) {
      if (pat_check_block(isa, w->cur, blk))
        report_block(w, blk);
      w->verified += PAT_BLOCK_BYTES;
    }
    pat_fill(isa, w->next, blk, 1, true);
  }
  pat_fence();
  struct pat_gen *t = w->cur;
  w->cur = w->next;
  w->next = t;
  w->have_cur = true;
  w->sweeps++;
  if (w->inject)
    inject_bitflip(w);
  return true;
}

/* One round: every pattern once; false when stopped part way. */
static bool run_round(struct worker *w) {
  uint64_t r = w->rounds, seed = w->sh->seed;
  static const enum pat_kind simple[] = {PAT_OWN_ADDRESS,   PAT_WALKING_ONES,
                                         PAT_WALKING_ZEROS, PAT_CHECKERBOARD,
                                         PAT_CHECKERBOARD,  PAT_RANDOM};
  for (size_t i = 0; i < sizeof simple / sizeof *simple; i++) {
    /* The second checkerboard is the first one inverted. */
    uint64_t variant = simple[i] == PAT_CHECKERBOARD ? (i == 4) : r;
    pat_gen_init(w->next, simple[i], variant, seed);
    if (!sweep(w, false))
      return false;
  }
  /* Moving inversions: R, then ~R ascending, then R descending. */
  pat_gen_init(w->next, PAT_MOVING_INVERSIONS, r, seed);
  if (!sweep(w, false))
    return false;
  for (int pass = 0; pass < 2; pass++) {
    *w->next = *w->cur;
    w->next->invert = ~w->cur->invert;
    if (!sweep(w, pass == 1))
      return false;
  }
  return true;
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  struct shared *sh = w->sh;
  int rc = kiln_pin_self(w->cpu);
  if (rc) {
    w->err = rc;
    w->failed = "pin the thread";
    return NULL;
  }
  /* Mapped, touched and locked by the thread that tests it, so the pages
   * come from this CPU's NUMA node. */
  void *p = mmap(NULL, w->bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    w->err = errno;
    w->failed = "map memory";
    return NULL;
  }
  w->buf = p;
  madvise(p, w->bytes, MADV_HUGEPAGE);
  if (mlock(p, w->bytes) != 0 && !atomic_exchange(&sh->mlock_warned, true))
    kiln_emit_log(sh->step, KILN_SEV_WARNING,
                  "cannot mlock the tested memory (%s): pages may be "
                  "swapped out or moved while tested; run as root or raise "
                  "RLIMIT_MEMLOCK",
                  strerror(errno));
  w->t0 = kiln_monotonic_now();
  while (run_round(w))
    w->rounds++;
  w->t1 = kiln_monotonic_now();
  munmap(p, w->bytes);
  w->buf = NULL;
  return NULL;
}

_Static_assert(PAT_NISAS == KILN_CPU_KERNELS, "cpu_worker.h's order");

static bool parse_isa(struct kiln_step *s, enum pat_isa *out) {
  bool supported[KILN_CPU_KERNELS];
  for (int i = 0; i < KILN_CPU_KERNELS; i++)
    supported[i] = pat_isa_supported((enum pat_isa)i);
  int i = kiln_cpu_worker_kernel(s, supported);
  if (i >= 0)
    *out = (enum pat_isa)i;
  return i >= 0;
}

/* The parameters; the bytes to test in *total. False when the step has
 * ended. */
static bool parse_params(struct kiln_step *s, enum pat_isa *isa,
                         uint64_t *total, long *seed, long *max_diags) {
  uint64_t avail = kiln_mem_available();
  if (!parse_isa(s, isa) || !kiln_step_param_bytes(s, "mem", avail, total) ||
      !kiln_step_param_long(s, "seed", seed) ||
      !kiln_step_param_long(s, "max_diagnoses", max_diags))
    return false;
  if (*max_diags < 1) {
    /* At least one: the first FAIL diagnosis is what fails the step. */
    kiln_step_error(s, "parameter max_diagnoses = %ld is below 1", *max_diags);
    return false;
  }
  if (avail && *total > avail - avail / 10) {
    kiln_step_error(s,
                    "mem = %llu MiB is more than 90%% of MemAvailable "
                    "(%llu MiB)",
                    (unsigned long long)(*total >> 20),
                    (unsigned long long)(avail >> 20));
    return false;
  }
  return true;
}

/* Starts a worker on each CPU over `per` bytes, the last one injecting
 * dram.bitflip when asked; returns how many started. */
static int workers_start(struct kiln_step *s, struct shared *sh,
                         struct worker *ws, const int *cpus, int ncpu,
                         size_t per) {
  bool inject = kiln_step_inject(s, "dram.bitflip");
  int started = 0;
  for (int i = 0; i < ncpu; i++) {
    struct worker *w = &ws[i];
    w->sh = sh;
    w->cpu = cpus[i];
    w->bytes = per;
    w->inject = inject && i == ncpu - 1;
    w->cur = aligned_alloc(64, sizeof *w->cur);
    w->next = aligned_alloc(64, sizeof *w->next);
    if (!w->cur || !w->next)
      abort();
    if (!kiln_cpu_worker_start(s, cpus[i], &w->tid, worker_main, w))
      break;
    started++;
  }
  return started;
}

/* The figures of a finished run. */
static void report(struct kiln_step *s, struct shared *sh,
                   const struct worker *ws, int ncpu) {
  double gbps = 0;
  uint64_t rounds = 0;
  for (int i = 0; i < ncpu; i++) {
    double sec = ws[i].t1 - ws[i].t0;
    if (sec > 0)
      gbps += (double)ws[i].verified / sec / 1e9;
    rounds += ws[i].rounds;
  }
  unsigned long long errors = atomic_load(&sh->errors);
  kiln_emit_measurement(s, "errors", (double)errors, NULL);
  kiln_emit_measurement(s, "tested_gbps", gbps, NULL);
  if ((long)errors > sh->max_diags)
    kiln_emit_log(s, KILN_SEV_ERROR, "%llu wrong words, the first %ld reported",
                  errors, sh->max_diags);
  kiln_emit_log(s, errors ? KILN_SEV_ERROR : KILN_SEV_INFO,
                "%llu complete rounds of %d patterns (9 sweeps each) over "
                "all CPUs, %llu wrong words",
                (unsigned long long)rounds, PAT_NKINDS, errors);
}

static void dram_patterns_run(struct kiln_step *s) {
  uint64_t total;
  long seed, max_diags;
  enum pat_isa isa;
  if (!parse_params(s, &isa, &total, &seed, &max_diags))
    return;
  int ncpu;
  int *cpus = kiln_cpu_worker_cpus(s, &ncpu);
  if (!cpus)
    return;
  size_t per =
      (size_t)(total / (uint64_t)ncpu) / PAT_BLOCK_BYTES * PAT_BLOCK_BYTES;
  if (per == 0) {
    kiln_step_error(s,
                    "mem = %llu bytes is too little for %d CPUs (4 KiB each "
                    "at least)",
                    (unsigned long long)total, ncpu);
    free(cpus);
    return;
  }

  struct shared sh = {
      .step = s, .isa = isa, .seed = (uint64_t)seed, .max_diags = max_diags};
  atomic_init(&sh.stop, 0);
  atomic_init(&sh.diags, 0);
  atomic_init(&sh.mlock_warned, false);
  atomic_init(&sh.errors, 0);
  struct worker *ws = kiln_xcalloc((size_t)ncpu, sizeof *ws);
  kiln_emit_log(s, KILN_SEV_INFO,
                "testing %llu MiB (%zu KiB on each of %d CPUs), %s kernel, "
                "seed %ld",
                (unsigned long long)(per * (size_t)ncpu >> 20), per >> 10, ncpu,
                pat_isa_name(isa), seed);
  int started = workers_start(s, &sh, ws, cpus, ncpu, per);
  double start = kiln_monotonic_now(), d = kiln_step_duration(s);
  while (started == ncpu && kiln_step_time_left(s)) {
    kiln_cpu_worker_nap(s);
    kiln_emit_progress(s, d > 0 ? (kiln_monotonic_now() - start) / d : 1);
    kiln_emit_running(s, "errors", (double)atomic_load(&sh.errors), NULL);
  }
  atomic_store(&sh.stop, 1);
  for (int i = 0; i < started; i++)
    pthread_join(ws[i].tid, NULL);

  for (int i = 0; i < started; i++)
    if (ws[i].failed)
      kiln_step_error(s, "cpu%d: cannot %s (%zu KiB): %s", ws[i].cpu,
                      ws[i].failed, ws[i].bytes >> 10, strerror(ws[i].err));
  if (!kiln_step_ended(s))
    report(s, &sh, ws, ncpu);
  for (int i = 0; i < ncpu; i++) {
    free(ws[i].cur);
    free(ws[i].next);
  }
  free(ws);
  free(cpus);
}

static bool dram_patterns_available(char *why, size_t n) {
  snprintf(why, n, "%s kernel, %d CPUs, %llu MiB available",
           pat_isa_name(pat_isa_best()), kiln_cpus_allowed(NULL, 0),
           (unsigned long long)(kiln_mem_available() >> 20));
  return true;
}

static const struct kiln_param_spec params[] = {
    {"mem", "10%",
     "memory to test: a share of MemAvailable (10%) or a size "
     "(512M, 2G)",
     .kind = KILN_PARAM_SIZE},
    {"seed", "1", "seed of the random patterns", .kind = KILN_PARAM_INTEGER},
    {"max_diagnoses", "16",
     "FAIL diagnoses to emit at most; every wrong "
     "word is counted in `errors`",
     .kind = KILN_PARAM_INTEGER, .min = 1, .max = INFINITY},
    {"kernel", "auto", "auto, avx512, avx2 or portable",
     .kind = KILN_PARAM_WORD, .words = "auto|avx512|avx2|portable"},
    {0},
};

static const struct kiln_measurement_spec measurements[] = {
    {"errors", "", "wrong words found (set errors.max = 0)"},
    {"tested_gbps", "GB/s", "bytes verified per second, all CPUs"},
    {NULL, NULL, NULL},
};

static const char *const faults[] = {"dram.bitflip", NULL};

const struct kiln_module kiln_module_dram_patterns = {
    .name = "dram.patterns",
    .summary = "memtester-style patterns over free memory, every bad word "
               "named by address",
    .targets = KILN_TARGETS_HOST,
    .stress = true,
    .params = params,
    .measurements = measurements,
    .faults = faults,
    .key_measurement = "tested_gbps",
    .available = dram_patterns_available,
    .run = dram_patterns_run,
};
