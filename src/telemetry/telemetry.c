/* Telemetry core: the source registry, the sampler and telemetry.csv rows.
 * The sources live one per file (telemetry_*.c). */
#include "kiln/telemetry.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kiln/textutil.h"

static const struct kiln_tel_source *const registry[] = {
    &kiln_tel_sensors, &kiln_tel_edac, &kiln_tel_cpu,
    &kiln_tel_ipmi,    &kiln_tel_nvml,
};

const struct kiln_tel_source *const *kiln_tel_sources(size_t *n) {
  *n = sizeof registry / sizeof registry[0];
  return registry;
}

const struct kiln_tel_source *kiln_tel_source_find(const char *name) {
  for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
    if (name && strcmp(registry[i]->name, name) == 0)
      return registry[i];
  return NULL;
}

const char *kiln_tel_kind_name(enum kiln_tel_kind k) {
  switch (k) {
  case KILN_TEL_FAN_RPM: return "fan_rpm";
  case KILN_TEL_TEMP_C: return "temp_c";
  case KILN_TEL_POWER_W: return "power_w";
  case KILN_TEL_COUNT: return "count";
  case KILN_TEL_FREQ_MHZ: return "freq_mhz";
  }
  return "unknown";
}

const char *kiln_tel_kind_unit(enum kiln_tel_kind k) {
  switch (k) {
  case KILN_TEL_FAN_RPM: return "RPM";
  case KILN_TEL_TEMP_C: return "C";
  case KILN_TEL_POWER_W: return "W";
  case KILN_TEL_COUNT: return "count";
  case KILN_TEL_FREQ_MHZ: return "MHz";
  }
  return "";
}

/* ---- blocking sources: one thread each ---- */

/* Readings copied out of a source's callback, to hand over between threads. */
struct batch {
  struct kiln_tel_reading *r;
  size_t n, cap;
};

static void batch_add(void *ctx, const struct kiln_tel_reading *r) {
  struct batch *b = ctx;
  if (b->n == b->cap) {
    b->cap = b->cap ? 2 * b->cap : 16;
    b->r = kiln_xrealloc(b->r, b->cap * sizeof *b->r);
  }
  struct kiln_tel_reading *c = &b->r[b->n++];
  *c = *r;
  c->id = kiln_xstrdup(r->id);
  c->label = kiln_xstrdup(r->label ? r->label : "");
}

static void batch_free(struct batch *b) {
  for (size_t i = 0; i < b->n; i++) {
    free((char *)b->r[i].id);
    free((char *)b->r[i].label);
  }
  free(b->r);
  memset(b, 0, sizeof *b);
}

/* The caller asks (requested), the thread samples (busy) and leaves its
 * readings in ready. A thread still in a sample when the caller closes is
 * left to finish it and close the source itself (orphaned): a BMC that
 * stopped answering must not hold up the end of a run. */
struct kiln_tel_worker {
  const struct kiln_tel_source *src;
  void *state;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake, idle;
  bool requested, busy, stop, orphaned;
  double busy_since, ok_at; /* monotonic */
  bool failed;              /* the last finished sample */
  char why[256];
  struct batch ready;
};

static void worker_destroy(struct kiln_tel_worker *w) {
  w->src->close(w->state);
  batch_free(&w->ready);
  pthread_cond_destroy(&w->wake);
  pthread_cond_destroy(&w->idle);
  pthread_mutex_destroy(&w->lock);
  free(w);
}

static void *worker_main(void *arg) {
  struct kiln_tel_worker *w = arg;
  pthread_mutex_lock(&w->lock);
  for (;;) {
    while (!w->requested && !w->stop)
      pthread_cond_wait(&w->wake, &w->lock);
    if (w->stop)
      break;
    w->requested = false;
    w->busy = true;
    w->busy_since = kiln_monotonic_now();
    pthread_mutex_unlock(&w->lock);

    struct batch b = {0};
    char why[sizeof w->why] = "";
    size_t got = w->src->sample(w->state, batch_add, &b);
    if (got == 0 && w->src->failure)
      w->src->failure(w->state, why, sizeof why);

    pthread_mutex_lock(&w->lock);
    w->busy = false;
    batch_free(&w->ready);
    w->ready = b;
    w->failed = got == 0;
    if (got > 0)
      w->ok_at = kiln_monotonic_now();
    snprintf(w->why, sizeof w->why, "%s", why[0] || got ? why : "no readings");
    pthread_cond_broadcast(&w->idle);
  }
  bool orphaned = w->orphaned;
  pthread_mutex_unlock(&w->lock);
  if (orphaned)
    worker_destroy(w);
  return NULL;
}

static void worker_start(struct kiln_tel_open *o) {
  struct kiln_tel_worker *w = kiln_xcalloc(1, sizeof *w);
  w->src = o->src;
  w->state = o->state;
  w->ok_at = kiln_monotonic_now();
  pthread_mutex_init(&w->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&w->wake, &ca);
  pthread_cond_init(&w->idle, &ca);
  pthread_condattr_destroy(&ca);
  w->requested = true; /* the first sample starts at once */
  if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
    /* No thread: sampled inline, as before there were threads. */
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->idle);
    pthread_mutex_destroy(&w->lock);
    free(w);
    return;
  }
  o->worker = w;
}

/* Waits on w->idle until no sample is asked for or under way, or until
 * deadline (monotonic); lock held. */
static void wait_idle(struct kiln_tel_worker *w, double deadline) {
  while (w->busy || w->requested) {
    double left = deadline - kiln_monotonic_now();
    if (left <= 0)
      break;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double at = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + left;
    ts.tv_sec = (time_t)at;
    ts.tv_nsec = (long)((at - (double)ts.tv_sec) * 1e9);
    pthread_cond_timedwait(&w->idle, &w->lock, &ts);
  }
}

/* A sample under way gets KILN_TEL_TIMEOUT to finish; past that the thread
 * is left to end it and close the source. */
static void worker_close(struct kiln_tel_worker *w) {
  pthread_mutex_lock(&w->lock);
  w->requested = false;
  wait_idle(w, kiln_monotonic_now() + KILN_TEL_TIMEOUT);
  w->stop = true;
  w->orphaned = w->busy;
  bool orphaned = w->orphaned;
  pthread_cond_broadcast(&w->wake);
  pthread_mutex_unlock(&w->lock);
  if (orphaned) {
    pthread_detach(w->thread);
    return;
  }
  pthread_join(w->thread, NULL);
  worker_destroy(w);
}

bool kiln_telemetry_wait(struct kiln_telemetry *tel, double timeout) {
  double deadline = kiln_monotonic_now() + timeout;
  bool done = true;
  for (size_t i = 0; i < tel->n_src; i++) {
    struct kiln_tel_worker *w = tel->src[i].worker;
    if (!w)
      continue;
    pthread_mutex_lock(&w->lock);
    wait_idle(w, deadline);
    done &= !w->busy && !w->requested;
    pthread_mutex_unlock(&w->lock);
  }
  return done;
}

bool kiln_telemetry_silent(const struct kiln_telemetry *tel, size_t i,
                           double *since, char *why, size_t n) {
  if (i >= tel->n_src || !tel->src[i].worker)
    return false;
  struct kiln_tel_worker *w = tel->src[i].worker;
  pthread_mutex_lock(&w->lock);
  double late = w->busy ? kiln_monotonic_now() - w->busy_since : 0;
  bool silent = w->failed || late > KILN_TEL_TIMEOUT;
  if (silent) {
    *since = w->ok_at;
    if (late > KILN_TEL_TIMEOUT)
      snprintf(why, n, "no answer for %.0f s%s%s", late,
               w->failed ? "; before that: " : "", w->failed ? w->why : "");
    else
      snprintf(why, n, "%s", w->why);
  }
  pthread_mutex_unlock(&w->lock);
  return silent;
}

/* ---- the sampler ---- */

static bool named_in(const char *only, const char *name) {
  if (!only || !*only)
    return true;
  size_t len = strlen(name);
  const char *p = only;
  while (*p) {
    while (*p == ',' || *p == ' ')
      p++;
    const char *end = p;
    while (*end && *end != ',' && *end != ' ')
      end++;
    if ((size_t)(end - p) == len && strncmp(p, name, len) == 0)
      return true;
    p = end;
  }
  return false;
}

size_t kiln_telemetry_open(struct kiln_telemetry *tel, const char *only) {
  memset(tel, 0, sizeof *tel);
  size_t n, opened = 0;
  const struct kiln_tel_source *const *all = kiln_tel_sources(&n);
  for (size_t i = 0; i < n && tel->n_src < KILN_TEL_MAX_SOURCES; i++) {
    if (!named_in(only, all[i]->name))
      continue;
    struct kiln_tel_open *o = &tel->src[tel->n_src++];
    o->src = all[i];
    o->state = all[i]->open(o->why, sizeof o->why);
    snprintf(o->where, sizeof o->where, "%s",
             o->state && all[i]->where ? all[i]->where(o->state)
                                       : all[i]->name);
    if (o->state && all[i]->blocking)
      worker_start(o);
    if (o->state)
      opened++;
    else if (!o->why[0])
      snprintf(o->why, sizeof o->why, "%s: not available", all[i]->name);
  }
  return opened;
}

struct sample_ctx {
  const char *source;
  double t;
  kiln_tel_emit_fn emit;
  void *ctx;
  size_t n;
};

static void collect(void *ctx, const struct kiln_tel_reading *r) {
  struct sample_ctx *c = ctx;
  struct kiln_tel_reading copy = *r;
  copy.source = c->source;
  copy.t = c->t;
  if (c->emit)
    c->emit(c->ctx, &copy);
  c->n++;
}

size_t kiln_telemetry_sample(struct kiln_telemetry *tel, double t,
                             kiln_tel_emit_fn emit, void *ctx) {
  double start = kiln_monotonic_now();
  size_t total = 0;
  for (size_t i = 0; i < tel->n_src; i++) {
    struct kiln_tel_open *o = &tel->src[i];
    if (!o->state)
      continue;
    struct sample_ctx c = {o->src->name, t, emit, ctx, 0};
    if (o->worker) {
      struct kiln_tel_worker *w = o->worker;
      pthread_mutex_lock(&w->lock);
      struct batch b = w->ready;
      memset(&w->ready, 0, sizeof w->ready);
      if (!w->busy && !w->requested) {
        w->requested = true;
        pthread_cond_signal(&w->wake);
      }
      pthread_mutex_unlock(&w->lock);
      for (size_t k = 0; k < b.n; k++)
        collect(&c, &b.r[k]);
      batch_free(&b);
    } else {
      o->src->sample(o->state, collect, &c);
    }
    o->readings = c.n;
    total += c.n;
  }
  tel->last_cost = kiln_monotonic_now() - start;
  return total;
}

struct event_ctx {
  const char *source;
  kiln_tel_event_fn emit;
  void *ctx;
  size_t n;
};

static void collect_event(void *ctx, const struct kiln_tel_event *e) {
  struct event_ctx *c = ctx;
  struct kiln_tel_event copy = *e;
  copy.source = c->source;
  c->n++;
  if (c->emit)
    c->emit(c->ctx, &copy);
}

size_t kiln_telemetry_events(struct kiln_telemetry *tel, kiln_tel_event_fn emit,
                             void *ctx) {
  size_t total = 0;
  for (size_t i = 0; i < tel->n_src; i++) {
    struct kiln_tel_open *o = &tel->src[i];
    if (!o->state || !o->src->events || o->worker)
      continue; /* a blocking source has no events: its state is its thread's */
    struct event_ctx c = {o->src->name, emit, ctx, 0};
    o->src->events(o->state, collect_event, &c);
    total += c.n;
  }
  return total;
}

void kiln_telemetry_close(struct kiln_telemetry *tel) {
  for (size_t i = 0; i < tel->n_src; i++) {
    struct kiln_tel_open *o = &tel->src[i];
    if (o->worker)
      worker_close(o->worker);
    else if (o->state)
      o->src->close(o->state);
    o->state = NULL;
    o->worker = NULL;
  }
  tel->n_src = 0;
}

/* ---- telemetry.csv ---- */

static void csv_field(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"')
      fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

void kiln_tel_csv_header(FILE *f) {
  fputs("timestamp,source,sensor,label,value,unit\n", f);
}

void kiln_tel_csv_row(FILE *f, double epoch, const struct kiln_tel_reading *r) {
  char ts[40];
  kiln_format_time(epoch, ts, sizeof ts);
  fputs(ts, f);
  fputc(',', f);
  csv_field(f, r->source ? r->source : "");
  fputc(',', f);
  csv_field(f, r->id);
  fputc(',', f);
  csv_field(f, r->label && r->label[0] ? r->label : r->id);
  if (isfinite(r->value))
    fprintf(f, ",%.17g,", r->value);
  else
    fputs(",,", f);
  fputs(kiln_tel_kind_unit(r->kind), f);
  fputc('\n', f);
}

/* ---- helpers for sources ---- */

bool kiln_tel_path(char *buf, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r = vsnprintf(buf, n, fmt, ap);
  va_end(ap);
  return r >= 0 && (size_t)r < n;
}

bool kiln_tel_read_text(const char *path, char *buf, size_t n) {
  if (n == 0)
    return false;
  buf[0] = '\0';
  FILE *f = fopen(path, "re");
  if (!f)
    return false;
  bool ok = fgets(buf, (int)(n > 4096 ? 4096 : n), f) != NULL;
  fclose(f);
  if (!ok) {
    buf[0] = '\0';
    return false;
  }
  size_t len = strlen(buf);
  while (len > 0 && isspace((unsigned char)buf[len - 1]))
    buf[--len] = '\0';
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
      buf[i] = '?';
  return true;
}

bool kiln_tel_read_u64(const char *path, uint64_t *v) {
  char buf[64];
  if (!kiln_tel_read_text(path, buf, sizeof buf))
    return false;
  if (!isdigit((unsigned char)buf[0]))
    return false;
  errno = 0;
  char *end;
  unsigned long long x = strtoull(buf, &end, 10);
  if (errno || *end)
    return false;
  *v = (uint64_t)x;
  return true;
}

struct kiln_tel_file *kiln_tel_files_add(struct kiln_tel_files *set,
                                         const char *path,
                                         enum kiln_tel_kind kind, char *id,
                                         char *label) {
  if (set->n == set->cap) {
    set->cap = set->cap ? set->cap * 2 : 16;
    set->f = kiln_xrealloc(set->f, set->cap * sizeof *set->f);
  }
  struct kiln_tel_file *f = &set->f[set->n++];
  *f = (struct kiln_tel_file){kiln_xstrdup(path), id, label, kind, 1, NAN, NAN};
  return f;
}

size_t kiln_tel_files_sample(void *state, kiln_tel_emit_fn emit, void *ctx) {
  const struct kiln_tel_files *set = state;
  size_t n = 0;
  for (size_t i = 0; i < set->n; i++) {
    const struct kiln_tel_file *f = &set->f[i];
    uint64_t v;
    if (!kiln_tel_read_u64(f->path, &v))
      continue;
    struct kiln_tel_reading r = {
        .id = f->id,
        .label = f->label,
        .kind = f->kind,
        .value = (double)v / f->divisor,
        .min = f->min,
        .max = f->max,
        .crit = NAN,
    };
    emit(ctx, &r);
    n++;
  }
  return n;
}

void kiln_tel_files_close(void *state) {
  struct kiln_tel_files *set = state;
  if (!set)
    return;
  for (size_t i = 0; i < set->n; i++) {
    free(set->f[i].path);
    free(set->f[i].id);
    free(set->f[i].label);
  }
  free(set->f);
  free(set);
}

char *kiln_tel_clean_label(const char *s) {
  if (!s)
    s = "";
  while (isspace((unsigned char)*s))
    s++;
  size_t len = strlen(s);
  while (len > 0 && isspace((unsigned char)s[len - 1]))
    len--;
  char *raw = kiln_xcalloc(len + 1, 1);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    raw[i] = (char)(c < 0x20 || c == 0x7f ? '?' : c);
  }
  char *clean = kiln_utf8_sanitize(raw);
  free(raw);
  return clean;
}

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

size_t kiln_tel_numbered(const char *dir, const char *prefix, int **out) {
  *out = NULL;
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  size_t n = 0, cap = 0, plen = strlen(prefix);
  struct dirent *e;
  while ((e = readdir(d))) {
    const char *p = e->d_name;
    if (strncmp(p, prefix, plen) != 0 || !isdigit((unsigned char)p[plen]))
      continue;
    errno = 0;
    char *end;
    long v = strtol(p + plen, &end, 10);
    if (*end || errno || v < 0 || v > INT_MAX)
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      *out = kiln_xrealloc(*out, cap * sizeof **out);
    }
    (*out)[n++] = (int)v;
  }
  closedir(d);
  if (n)
    qsort(*out, n, sizeof **out, cmp_int);
  return n;
}
