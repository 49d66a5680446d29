/* gpu.gemm's host logic: parameters, rates and the clock watch (see
 * gpu_gemm_check.h). No CUDA here: the unit test runs all of it. */
#include "gpu_gemm_check.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

/* ---- parameters -------------------------------------------------------- */

bool gemm_parse_types(const char *s, unsigned *mask, char *why, size_t n) {
  *mask = 0;
  const char *p = s ? s : "";
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    if (!*p)
      break;
    const char *start = p;
    while (*p && *p != ',' && *p != ' ' && *p != '\t')
      p++;
    size_t len = (size_t)(p - start);
    int found = -1;
    for (int t = 0; t < KILN_GEMM_NTYPES; t++)
      if (strlen(gemm_type_name(t)) == len &&
          strncasecmp(start, gemm_type_name(t), len) == 0)
        found = t;
    if (found < 0) {
      snprintf(why, n,
               "unknown GEMM type '%.*s' (known: fp64, fp32, tf32, bf16, fp8)",
               (int)(len > 32 ? 32 : len), start);
      return false;
    }
    *mask |= 1u << found;
  }
  if (!*mask) {
    snprintf(why, n, "no GEMM type given (fp64, fp32, tf32, bf16, fp8)");
    return false;
  }
  return true;
}

bool gemm_check_size(long size, char *why, size_t n) {
  if (size < 256 || size > 32768 || size % 64) {
    snprintf(why, n,
             "size %ld: expected 256..32768 and a multiple of 64 (the "
             "matrices are size x size)",
             size);
    return false;
  }
  return true;
}

bool gemm_parse_every(const char *s, long *every, char *why, size_t n) {
  if (s && strcasecmp(s, "auto") == 0) {
    *every = 0;
    return true;
  }
  char *end = NULL;
  errno = 0;
  long v = s && *s ? strtol(s, &end, 10) : 0;
  if (!s || !*s || errno || *end || v < 1 || v > 1000000) {
    snprintf(why, n,
             "check_every '%s': expected auto or a count of GEMMs 1..1000000",
             s ? s : "");
    return false;
  }
  *every = v;
  return true;
}

/* ---- arithmetic -------------------------------------------------------- */

double gemm_tflops(int size, double ms) {
  if (ms <= 0)
    return 0;
  double n = size;
  return 2.0 * n * n * n / (ms * 1e-3) / 1e12;
}

long gemm_auto_every(double gemm_ms, double check_ms, double budget) {
  if (!(gemm_ms > 0) || !(check_ms > 0) || !(budget > 0))
    return 1;
  double k = ceil(check_ms / (budget * gemm_ms));
  return k < 1 ? 1 : k > 64 ? 64 : (long)k;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double gemm_median(double *v, size_t n) {
  if (!n)
    return 0;
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int gemm_batch_size(double gemm_ms, double target_s, double left_s, int max) {
  if (!(gemm_ms > 0))
    return 1;
  double want = target_s * 1e3 / gemm_ms, room = left_s * 1e3 / gemm_ms;
  if (room < want)
    want = room;
  if (want > max)
    want = max;
  return want < 1 ? 1 : (int)want;
}

static const char *hexfmt(int type) {
  switch (gemm_out_kind(type)) {
  case GEMM_OUT_F64: return "0x%016llx";
  case GEMM_OUT_F32: return "0x%08llx";
  default: return "0x%04llx";
  }
}

static int digits(int type) {
  switch (gemm_out_kind(type)) {
  case GEMM_OUT_F64: return 17;
  case GEMM_OUT_F32: return 9;
  default: return 4;
  }
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
void gemm_miscompare_message(char *out, size_t n, const char *bus,
                             const char *gpu, int type, int size,
                             const struct kiln_gemm_check *c) {
  char eb[24], ab[24];
  snprintf(eb, sizeof eb, hexfmt(type), (unsigned long long)c->expected_bits);
  snprintf(ab, sizeof ab, hexfmt(type), (unsigned long long)c->actual_bits);
  uint64_t row = size > 0 ? c->index % (uint64_t)size : 0;
  uint64_t col = size > 0 ? c->index / (uint64_t)size : 0;
  snprintf(out, n,
           "GPU %s (%s): %s GEMM %d x %d, iteration %llu: element (row %llu, "
           "col %llu) = %.*g (%s), expected %.*g (%s) as the type's first "
           "result holds; %llu mismatched element%s over %llu checked "
           "result%s",
           bus, gpu, gemm_type_name(type), size, size,
           (unsigned long long)c->iteration, (unsigned long long)row,
           (unsigned long long)col, digits(type),
           gemm_value(type, c->actual_bits), ab, digits(type),
           gemm_value(type, c->expected_bits), eb, (unsigned long long)c->count,
           c->count == 1 ? "" : "s", (unsigned long long)c->checks,
           c->checks == 1 ? "" : "s");
}
#pragma GCC diagnostic pop

/* ---- clocks during load ------------------------------------------------ */

/* Appends to out at *used, keeping it terminated when it does not fit. */
static void append(char *out, size_t n, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *out, size_t n, size_t *used, const char *fmt, ...) {
  if (!n || *used >= n)
    return;
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(out + *used, n - *used, fmt, ap);
  va_end(ap);
  if (w > 0)
    *used = *used + (size_t)w < n ? *used + (size_t)w : n - 1;
}

void gemm_watch_init(struct gemm_watch *w, double share, int hold,
                     double reason_hold) {
  memset(w, 0, sizeof *w);
  w->share = share;
  w->hold = hold < 1 ? 1 : hold;
  kiln_nvml_hold_init(&w->held, KILN_NVML_CLOCKS_PROTECTING, reason_hold);
}

unsigned long long gemm_watch_reasons(struct gemm_watch *w, double t, int phase,
                                      unsigned long long mask) {
  unsigned long long fresh = 0;
  w->reason_samples++;
  w->seen |= mask;
  for (int i = 0; i < KILN_NVML_CLOCK_REASONS; i++) {
    const struct kiln_nvml_clock_reason *r = &kiln_nvml_clock_reasons[i];
    if (!(mask & r->bit))
      continue;
    if (w->count[i]++ == 0) {
      w->first_at[i] = t;
      w->first_phase[i] = phase;
      if (r->protecting)
        fresh |= r->bit;
    }
  }
  bool was_active = w->held.active;
  bool held_now = kiln_nvml_hold_feed(&w->held, t, mask);
  if (w->held.active && !was_active)
    w->run_phase = phase;
  if (held_now && w->held.held == 1)
    w->held_phase = w->run_phase;
  return fresh;
}

bool gemm_watch_clock(struct gemm_watch *w, double t, int phase, unsigned mhz,
                      unsigned max_mhz) {
  if (!w->clock_samples || mhz < w->min_mhz)
    w->min_mhz = mhz;
  w->clock_samples++;
  if (max_mhz)
    w->max_mhz = max_mhz;
  bool low = w->max_mhz && (double)mhz < w->share * w->max_mhz;
  if (!low) {
    w->low_run = 0;
    w->in_first = false;
    return false;
  }
  if (w->low_run++ == 0) {
    w->low_since = t;
    w->low_phase = phase;
    w->low_min = mhz;
  } else if (mhz < w->low_min) {
    w->low_min = mhz;
  }
  bool held = false;
  if (w->low_run == w->hold) {
    held = true;
    if (++w->drops == 1) {
      w->in_first = true;
      w->drop_from = w->low_since;
      w->drop_phase = w->low_phase;
    }
  }
  if (w->in_first) {
    w->drop_to = t;
    w->drop_samples = w->low_run;
    w->drop_mhz = w->low_min;
  }
  return held;
}

/* Each reason in mask that was seen: "HW slowdown in 7 of 40 samples,
 * first at 12.5 s (fp64 GEMMs)", "; "-separated. */
static void append_counts(const struct gemm_watch *w, unsigned long long mask,
                          char *out, size_t n, size_t *used) {
  for (int i = 0; i < KILN_NVML_CLOCK_REASONS; i++) {
    if (!(mask & kiln_nvml_clock_reasons[i].bit) || !w->count[i])
      continue;
    append(
        out, n, used, "%s%s in %u of %zu samples, first at %.1f s (%s GEMMs)",
        *used ? "; " : "", kiln_nvml_clock_reasons[i].name, w->count[i],
        w->reason_samples, w->first_at[i], gemm_type_name(w->first_phase[i]));
  }
}

unsigned long long gemm_watch_fail_text(const struct gemm_watch *w, char *out,
                                        size_t n) {
  size_t used = 0;
  if (n)
    out[0] = '\0';
  const struct kiln_nvml_hold *h = &w->held;
  if (!h->held)
    return 0;
  char names[256];
  kiln_nvml_clock_reasons_text(h->first_bits, names, sizeof names);
  append(out, n, &used,
         "%s held for %.1f s from %.1f s (%s GEMMs, %u samples in a row; "
         "allowed: under %.1f s); %u such episode%s",
         names, h->first_for, h->first_since, gemm_type_name(w->held_phase),
         h->first_samples, h->hold, h->held, h->held == 1 ? "" : "s");
  append_counts(w, KILN_NVML_CLOCKS_PROTECTING, out, n, &used);
  return h->first_bits;
}

unsigned long long gemm_watch_brief_text(const struct gemm_watch *w, char *out,
                                         size_t n) {
  size_t used = 0;
  if (n)
    out[0] = '\0';
  if (w->held.held)
    return 0;
  unsigned long long brief = w->seen & KILN_NVML_CLOCKS_PROTECTING;
  append_counts(w, brief, out, n, &used);
  return brief;
}

bool gemm_watch_drop_text(const struct gemm_watch *w, char *out, size_t n) {
  if (n)
    out[0] = '\0';
  if (!w->drops)
    return false;
  size_t used = 0;
  append(out, n, &used,
         "SM clock down to %u MHz, under %.0f%% of its %u MHz maximum, for "
         "%d samples in a row from %.1f s to %.1f s (%s GEMMs)",
         w->drop_mhz, w->share * 100, w->max_mhz, w->drop_samples, w->drop_from,
         w->drop_to, gemm_type_name(w->drop_phase));
  if (w->drops > 1)
    append(out, n, &used, "; %d drops in all", w->drops);
  return true;
}
