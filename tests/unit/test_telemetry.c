/* Telemetry sources, the sampler and telemetry.csv.
 *
 * libsensors is the real, unmodified library: the sensors tests run this
 * same binary again as a probe ("test_telemetry --probe SOURCES") under
 * `umockdev-run -d tests/fixtures/umockdev/NAME.umockdev`, which fakes
 * /sys/class/hwmon for it. The probe samples on command over a pipe and
 * prints every reading; the test (this process, not under umockdev) reads
 * them back, feeds the watches at t = 0, 1, 2, ... and, to make a
 * temperature rise and fall while the probe runs, rewrites attribute files
 * under the probe's $UMOCKDEV_DIR between samples.
 *
 * Fixtures (tests/fixtures/umockdev, no comments allowed in the format):
 *   healthy         nct6798 with 6 fans (CPU_FAN, CPU_OPT, SYS_FAN1-4) and
 *                   SYSTIN/CPUTIN/AUXTIN0, coretemp (package, 2 cores),
 *                   an ACPI power meter (245 W)
 *   fan-stalled     healthy, SYS_FAN2 at 0 RPM
 *   fan-below-min   healthy, SYS_FAN3 at 250 RPM (min 400)
 *   temp-over-crit  healthy, Package id 0 at 103 C (crit 100)
 *   malformed       healthy with non-numeric, empty, infinite values, a
 *                   label with control and invalid UTF-8 bytes, and a
 *                   virtual chip (no parent device)
 * EDAC and CPU trees are made here in a temp dir and given as
 * $KILN_SYSROOT. $KILN_FIXTURES overrides the fixture directory. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"
#include "kiln/telemetry.h"
#include "kiln/textutil.h"
#include "kiln/watch.h"

/* ---- fixture trees ---- */

static void mkdirs(const char *path) {
  char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p == '/') {
      *p = '\0';
      mkdir(buf, 0755);
      *p = '/';
    }
  }
  mkdir(buf, 0755);
}

static void put(const char *root, const char *rel, const char *text) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  char *slash = strrchr(path, '/');
  *slash = '\0';
  mkdirs(path);
  *slash = '/';
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static char *make_root(void) {
  char tmpl[] = "/tmp/kiln-tel-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  return kiln_xstrdup(tmpl);
}

#define EDAC "sys/devices/system/edac/mc/"
#define CPU "sys/devices/system/cpu/"

/* Two controllers with DIMMs (one without a label), one without, numbered
 * so that a plain string sort would put mc10 before mc2. */
static void edac_tree(const char *root) {
  put(root, EDAC "mc0/mc_name", "Skylake Socket#0 IMC#0\n");
  put(root, EDAC "mc0/ce_count", "3\n");
  put(root, EDAC "mc0/ue_count", "0\n");
  put(root, EDAC "mc0/dimm0/dimm_label", "CPU_SrcID#0_MC#0_Chan#0_DIMM#0\n");
  put(root, EDAC "mc0/dimm0/dimm_ce_count", "2\n");
  put(root, EDAC "mc0/dimm0/dimm_ue_count", "0\n");
  put(root, EDAC "mc0/dimm1/dimm_label", "\n");
  put(root, EDAC "mc0/dimm1/dimm_ce_count", "1\n");
  put(root, EDAC "mc0/dimm1/dimm_ue_count", "0\n");
  put(root, EDAC "mc2/ce_count", "0\n");
  put(root, EDAC "mc2/ue_count", "1\n");
  put(root, EDAC "mc10/ce_count", "18446744073709551615\n");
  put(root, EDAC "mc10/ue_count", "0\n");
  put(root, EDAC "mcfoo/ce_count", "7\n"); /* not a controller */
}

/* One package, two cores with two threads each (cpu0/cpu2 on core 0,
 * cpu1/cpu3 on core 1), and cpu4 without topology. */
static void cpu_tree(const char *root) {
  static const int core_of[] = {0, 1, 0, 1};
  char rel[128], text[64];
  for (int c = 0; c < 5; c++) {
    snprintf(rel, sizeof rel, CPU "cpu%d/cpufreq/scaling_cur_freq", c);
    snprintf(text, sizeof text, "%d\n", 2400000 + c * 100000);
    put(root, rel, text);
    snprintf(rel, sizeof rel, CPU "cpu%d/cpufreq/cpuinfo_min_freq", c);
    put(root, rel, "800000\n");
    snprintf(rel, sizeof rel, CPU "cpu%d/cpufreq/cpuinfo_max_freq", c);
    put(root, rel, "3500000\n");
    snprintf(rel, sizeof rel, CPU "cpu%d/thermal_throttle/core_throttle_count",
             c);
    snprintf(text, sizeof text, "%d\n", c == 4 ? 9 : core_of[c] * 5);
    put(root, rel, text);
    snprintf(rel, sizeof rel,
             CPU "cpu%d/thermal_throttle/package_throttle_count", c);
    put(root, rel, "12\n");
    if (c < 4) {
      snprintf(rel, sizeof rel, CPU "cpu%d/topology/physical_package_id", c);
      put(root, rel, "0\n");
      snprintf(rel, sizeof rel, CPU "cpu%d/topology/core_id", c);
      snprintf(text, sizeof text, "%d\n", core_of[c]);
      put(root, rel, text);
    }
  }
  put(root, CPU "cpufreq/boost", "1\n"); /* not CPUs */
  put(root, CPU "cpuidle/current_driver", "intel_idle\n");
}

/* ---- collecting readings ---- */

struct rec {
  char source[16], id[128], label[128], kind[16];
  double value, min, max, crit;
};

struct sample {
  struct rec r[128];
  size_t n;
};

static void collect(void *ctx, const struct kiln_tel_reading *r) {
  struct sample *s = ctx;
  assert_true(s->n < 128);
  struct rec *o = &s->r[s->n++];
  snprintf(o->source, sizeof o->source, "%s", r->source ? r->source : "");
  snprintf(o->id, sizeof o->id, "%s", r->id);
  snprintf(o->label, sizeof o->label, "%s", r->label);
  snprintf(o->kind, sizeof o->kind, "%s", kiln_tel_kind_name(r->kind));
  o->value = r->value;
  o->min = r->min;
  o->max = r->max;
  o->crit = r->crit;
}

static const struct rec *find(const struct sample *s, const char *id) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->r[i].id, id) == 0)
      return &s->r[i];
  return NULL;
}

static size_t count_kind(const struct sample *s, const char *kind) {
  size_t n = 0;
  for (size_t i = 0; i < s->n; i++)
    n += strcmp(s->r[i].kind, kind) == 0;
  return n;
}

/* ---- the probe: this binary under umockdev-run ---- */

static void probe_emit(void *ctx, const struct kiln_tel_reading *r) {
  (void)ctx;
  printf("r\t%s\t%s\t%s\t%s\t%.17g\t%.17g\t%.17g\t%.17g\n", r->source, r->id,
         r->label, kiln_tel_kind_name(r->kind), r->value, r->min, r->max,
         r->crit);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int probe_main(const char *only) {
  struct kiln_telemetry tel;
  kiln_telemetry_open(&tel, only);
  const char *dir = getenv("UMOCKDEV_DIR");
  printf("dir\t%s\n", dir ? dir : "");
  for (size_t i = 0; i < tel.n_src; i++)
    if (tel.src[i].why[0]) /* why not open, or a warning */
      printf("why\t%s\t%s\n", tel.src[i].src->name, tel.src[i].why);
  printf("ready\n");
  fflush(stdout);
  char line[256];
  while (fgets(line, sizeof line, stdin)) {
    double t;
    int n;
    if (sscanf(line, "sample %lf", &t) == 1) {
      size_t got = kiln_telemetry_sample(&tel, t, probe_emit, NULL);
      printf("end\t%zu\n", got);
    } else if (sscanf(line, "bench %d", &n) == 1 && n > 0 && n <= 10000) {
      double *cost = kiln_xcalloc((size_t)n, sizeof *cost), sum = 0;
      size_t got = 0;
      for (int i = 0; i < n; i++) {
        got = kiln_telemetry_sample(&tel, i, NULL, NULL);
        cost[i] = tel.last_cost;
        sum += cost[i];
      }
      qsort(cost, (size_t)n, sizeof *cost, cmp_double);
      printf("bench\t%zu\t%.9f\t%.9f\t%.9f\n", got, sum / n, cost[n / 2],
             cost[n - 1]);
      free(cost);
    } else {
      break;
    }
    fflush(stdout);
  }
  kiln_telemetry_close(&tel);
  return 0;
}

struct probe {
  pid_t pid;
  FILE *to, *from;
  char dir[PATH_MAX]; /* the probe's $UMOCKDEV_DIR */
  char why[4][300];   /* "source\twhy" of the sources that did not open */
  size_t n_why;
};

static void fixture_path(const char *name, char *buf, size_t n) {
  const char *dir = getenv("KILN_FIXTURES");
  snprintf(buf, n, "%s/%s.umockdev",
           dir && *dir ? dir : "tests/fixtures/umockdev", name);
  if (access(buf, R_OK) != 0)
    fail_msg("fixture %s not found (run from the source tree, or set "
             "$KILN_FIXTURES)",
             buf);
}

/* Skips the test without umockdev-run, fails it without the fixture. */
static void need_umockdev(const char *fixture) {
  char fx[PATH_MAX];
  if (!fs_on_path("umockdev-run"))
    skip();
  fixture_path(fixture, fx, sizeof fx);
}

/* Starts the probe under umockdev-run with the fixture; sysroot (or NULL)
 * becomes its $KILN_SYSROOT. Skips the test when umockdev is missing. */
static void probe_start_with(struct probe *p, const char *fixture,
                             const char *sources, const char *sysroot,
                             const char *sensors_conf) {
  if (!fs_on_path("umockdev-run"))
    skip();
  memset(p, 0, sizeof *p);
  char fx[PATH_MAX], self[PATH_MAX];
  fixture_path(fixture, fx, sizeof fx);
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  assert_true(len > 0);
  self[len] = '\0';
  int in[2], out[2];
  assert_int_equal(pipe(in), 0);
  assert_int_equal(pipe(out), 0);
  fflush(stdout);
  p->pid = fork();
  assert_true(p->pid >= 0);
  if (p->pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    /* umockdev's preload library comes before ASan's runtime. */
    const char *asan = getenv("ASAN_OPTIONS");
    char *opts = kiln_strdup_printf("%s%sverify_asan_link_order=0",
                                    asan ? asan : "", asan && *asan ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
    free(opts);
    /* No labels from the system's configuration. */
    setenv("KILN_SENSORS_CONFIG", sensors_conf ? sensors_conf : "/dev/null", 1);
    if (sysroot)
      setenv("KILN_SYSROOT", sysroot, 1);
    else
      unsetenv("KILN_SYSROOT");
    execlp("umockdev-run", "umockdev-run", "-d", fx, "--", self, "--probe",
           sources, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  p->to = fdopen(in[1], "w");
  p->from = fdopen(out[0], "r");
  assert_non_null(p->to);
  assert_non_null(p->from);
  char line[1024];
  while (fgets(line, sizeof line, p->from)) {
    line[strcspn(line, "\n")] = '\0';
    if (strncmp(line, "dir\t", 4) == 0)
      snprintf(p->dir, sizeof p->dir, "%s", line + 4);
    else if (strncmp(line, "why\t", 4) == 0 && p->n_why < 4)
      snprintf(p->why[p->n_why++], sizeof p->why[0], "%.299s", line + 4);
    else if (strcmp(line, "ready") == 0)
      return;
  }
  fail_msg("the probe under umockdev-run ended before it was ready");
}

static void probe_start(struct probe *p, const char *fixture,
                        const char *sources, const char *sysroot) {
  probe_start_with(p, fixture, sources, sysroot, NULL);
}

static void parse_rec(char *line, struct rec *o) {
  char *f[9];
  size_t n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(line, "\t", &save); tok && n < 9;
       tok = strtok_r(NULL, "\t", &save))
    f[n++] = tok;
  assert_int_equal(n, 9);
  snprintf(o->source, sizeof o->source, "%s", f[1]);
  snprintf(o->id, sizeof o->id, "%s", f[2]);
  snprintf(o->label, sizeof o->label, "%s", f[3]);
  snprintf(o->kind, sizeof o->kind, "%s", f[4]);
  o->value = strtod(f[5], NULL);
  o->min = strtod(f[6], NULL);
  o->max = strtod(f[7], NULL);
  o->crit = strtod(f[8], NULL);
}

static void probe_sample(struct probe *p, double t, struct sample *s) {
  fprintf(p->to, "sample %g\n", t);
  fflush(p->to);
  s->n = 0;
  char line[1024];
  while (fgets(line, sizeof line, p->from)) {
    line[strcspn(line, "\n")] = '\0';
    if (strncmp(line, "end\t", 4) == 0) {
      assert_int_equal(strtoul(line + 4, NULL, 10), s->n);
      return;
    }
    assert_true(strncmp(line, "r\t", 2) == 0);
    assert_true(s->n < 128);
    parse_rec(line, &s->r[s->n++]);
  }
  fail_msg("the probe ended mid-sample");
}

/* Ends the probe; it must exit 0 (a sanitizer report would not). */
static void probe_stop(struct probe *p) {
  fputs("quit\n", p->to);
  fclose(p->to);
  char line[256];
  while (fgets(line, sizeof line, p->from))
    ;
  fclose(p->from);
  int status = 0;
  assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* Writes an attribute of the probe's fake /sys. */
static void probe_write(const struct probe *p, const char *sys_rel,
                        const char *text) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/sys/%s", p->dir, sys_rel) >=
      (int)sizeof path)
    fail_msg("path too long");
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* Feeds every reading of s to the default watches (made from the first
 * sample's hardware limits) and returns how many fired; the last firing's
 * sensor id and details into *id, *fire. */
struct watches {
  char id[128][128];
  char label[128][128];
  struct kiln_watch w[128];
  bool has[128];
  size_t n;
};

static int feed_watches(struct watches *ws, const struct sample *s, double t,
                        double hold, char *fired_id, size_t n_id,
                        struct kiln_watch_fire *fire) {
  int fired = 0;
  for (size_t i = 0; i < s->n; i++) {
    const struct rec *r = &s->r[i];
    size_t k = 0;
    while (k < ws->n && strcmp(ws->id[k], r->id) != 0)
      k++;
    if (k == ws->n) {
      assert_true(ws->n < 128);
      snprintf(ws->id[k], sizeof ws->id[k], "%s", r->id);
      snprintf(ws->label[k], sizeof ws->label[k], "%s", r->label);
      enum kiln_tel_kind kind = KILN_TEL_COUNT;
      if (!strcmp(r->kind, "fan_rpm"))
        kind = KILN_TEL_FAN_RPM;
      else if (!strcmp(r->kind, "temp_c"))
        kind = KILN_TEL_TEMP_C;
      else if (!strcmp(r->kind, "power_w"))
        kind = KILN_TEL_POWER_W;
      else if (!strcmp(r->kind, "freq_mhz"))
        kind = KILN_TEL_FREQ_MHZ;
      struct kiln_tel_reading rd = {.source = r->source,
                                    .id = r->id,
                                    .label = r->label,
                                    .kind = kind,
                                    .value = r->value,
                                    .min = r->min,
                                    .max = r->max,
                                    .crit = r->crit};
      ws->has[k] = kiln_watch_for_reading(&rd, hold, &ws->w[k]);
      ws->n++;
    }
    struct kiln_watch_fire f;
    if (ws->has[k] && kiln_watch_feed(&ws->w[k], t, r->value, &f)) {
      fired++;
      if (fired_id)
        snprintf(fired_id, n_id, "%s", r->id);
      if (fire)
        *fire = f;
    }
  }
  return fired;
}

/* ---- sensors (libsensors under umockdev) ---- */

static const char *const fan_labels[] = {"CPU_FAN",  "CPU_OPT",  "SYS_FAN1",
                                         "SYS_FAN2", "SYS_FAN3", "SYS_FAN4"};
static const double fan_rpm[] = {1450, 1420, 980, 1010, 995, 1005};

static void sensors_open_fails_clearly_without_hwmon(void **state) {
  (void)state;
  int *chips;
  size_t n = kiln_tel_numbered("/sys/class/hwmon", "hwmon", &chips);
  free(chips);
  if (n > 0 || getenv("UMOCKDEV_DIR"))
    skip(); /* this machine has hwmon chips: nothing to prove here */
  setenv("KILN_SENSORS_CONFIG", "/dev/null", 1);
  char why[256] = "";
  void *st = kiln_tel_sensors.open(why, sizeof why);
  assert_null(st);
  assert_string_equal(why, "no hwmon chips found (libsensors saw none)");
  /* The sampler keeps the reason and goes on. */
  struct kiln_telemetry tel;
  assert_int_equal(kiln_telemetry_open(&tel, "sensors"), 0);
  assert_int_equal(tel.n_src, 1);
  assert_null(tel.src[0].state);
  assert_string_equal(tel.src[0].why,
                      "no hwmon chips found (libsensors saw none)");
  assert_int_equal(kiln_telemetry_sample(&tel, 0, NULL, NULL), 0);
  kiln_telemetry_close(&tel);
  /* libsensors ignores a configuration line it cannot parse; the first
   * one goes with the reason, not to stderr. */
  char *root = make_root();
  put(root, "bad.conf",
      "chip \"nct6798-*\"\n  label fan1 \"CPU\"\n"
      "  }}} nonsense\n");
  char conf[PATH_MAX];
  snprintf(conf, sizeof conf, "%s/bad.conf", root);
  setenv("KILN_SENSORS_CONFIG", conf, 1);
  assert_null(kiln_tel_sensors.open(why, sizeof why));
  char want[PATH_MAX + 100];
  snprintf(want, sizeof want,
           "no hwmon chips found (libsensors saw none); %s:3: Invalid keyword",
           conf);
  assert_string_equal(why, want);
  fs_rm_rf(root);
  free(root);
  /* A configuration that is not there is a reason too. */
  setenv("KILN_SENSORS_CONFIG", "/nonexistent/sensors3.conf", 1);
  assert_null(kiln_tel_sensors.open(why, sizeof why));
  assert_non_null(strstr(why, "/nonexistent/sensors3.conf"));
  unsetenv("KILN_SENSORS_CONFIG");
}

static void healthy_board(void **state) {
  (void)state;
  need_umockdev("healthy"); /* before making the tree */
  char *root = make_root();
  edac_tree(root);
  cpu_tree(root);
  struct probe p;
  probe_start(&p, "healthy", "sensors,edac,cpu", root);
  assert_int_equal(p.n_why, 0);
  struct sample s;
  probe_sample(&p, 0, &s);

  assert_int_equal(count_kind(&s, "fan_rpm"), 6);
  for (int i = 0; i < 6; i++) {
    char id[64];
    snprintf(id, sizeof id, "nct6798-isa-0290/fan%d", i + 1);
    const struct rec *r = find(&s, id);
    assert_non_null(r);
    assert_string_equal(r->source, "sensors");
    assert_string_equal(r->label, fan_labels[i]);
    assert_true(r->value == fan_rpm[i]);
    assert_true(r->min == (i < 2 ? 300.0 : 400.0));
    assert_true(isnan(r->crit));
  }
  const struct rec *r = find(&s, "coretemp-isa-0000/temp1");
  assert_non_null(r);
  assert_string_equal(r->label, "Package id 0");
  assert_string_equal(r->kind, "temp_c");
  assert_true(r->value == 52.0 && r->max == 84.0 && r->crit == 100.0);
  r = find(&s, "coretemp-isa-0000/temp3");
  assert_non_null(r);
  assert_string_equal(r->label, "Core 1");
  r = find(&s, "nct6798-isa-0290/temp1");
  assert_non_null(r);
  assert_string_equal(r->label, "SYSTIN");
  assert_true(r->value == 34.0 && r->max == 75.0 && r->crit == 90.0);
  r = find(&s, "nct6798-isa-0290/temp2");
  assert_non_null(r);
  assert_true(r->value == 45.5);
  r = find(&s, "nct6798-isa-0290/temp3"); /* no limits given */
  assert_non_null(r);
  assert_true(isnan(r->max) && isnan(r->crit));
  assert_int_equal(count_kind(&s, "temp_c"), 6);
  r = find(&s, "power_meter-acpi-0/power1");
  assert_non_null(r);
  assert_string_equal(r->kind, "power_w");
  assert_true(r->value == 245.0);
  /* The other sources, from the fixture tree, in the same sample. */
  assert_non_null(find(&s, "mc0/dimm0/ce_count"));
  assert_non_null(find(&s, "package0/package_throttle_count"));

  /* Nothing fires on a healthy board, however long it runs. */
  struct watches ws = {0};
  int fired = feed_watches(&ws, &s, 0, 5, NULL, 0, NULL);
  for (int t = 1; t <= 10; t++) {
    probe_sample(&p, t, &s);
    fired += feed_watches(&ws, &s, t, 5, NULL, 0, NULL);
  }
  assert_int_equal(fired, 0);

  /* What one sample of every source costs (libsensors through umockdev's
   * preload, sanitizers on): a figure, not a pass/fail. */
  fprintf(p.to, "bench 200\n");
  fflush(p.to);
  char line[256];
  assert_non_null(fgets(line, sizeof line, p.from));
  size_t got;
  double mean, median, worst;
  assert_int_equal(
      sscanf(line, "bench\t%zu\t%lf\t%lf\t%lf", &got, &mean, &median, &worst),
      4);
  printf("# sampling all sources on the healthy fixture (%zu readings): "
         "mean %.3f ms, median %.3f ms, max %.3f ms over 200 samples\n",
         got, mean * 1e3, median * 1e3, worst * 1e3);
  probe_stop(&p);
  fs_rm_rf(root);
  free(root);
}

/* Samples the fixture for 10 s with hold 5 and returns the firings. */
static int run_fixture(const char *fixture, char *id, size_t n_id,
                       struct kiln_watch_fire *fire, struct sample *first) {
  struct probe p;
  probe_start(&p, fixture, "sensors", NULL);
  struct watches ws = {0};
  struct sample s;
  int fired = 0;
  for (int t = 0; t <= 10; t++) {
    probe_sample(&p, t, &s);
    if (t == 0 && first)
      *first = s;
    fired += feed_watches(&ws, &s, t, 5, id, n_id, fire);
  }
  probe_stop(&p);
  return fired;
}

static void stalled_fan_reads_zero_and_fires(void **state) {
  (void)state;
  char id[128] = "";
  struct kiln_watch_fire f;
  struct sample s;
  assert_int_equal(run_fixture("fan-stalled", id, sizeof id, &f, &s), 1);
  const struct rec *r = find(&s, "nct6798-isa-0290/fan4");
  assert_non_null(r);
  assert_string_equal(r->label, "SYS_FAN2");
  assert_true(r->value == 0.0);
  assert_int_equal(count_kind(&s, "fan_rpm"), 6); /* still there, at 0 */
  assert_string_equal(id, "nct6798-isa-0290/fan4");
  assert_true(f.op == KILN_WATCH_BELOW && f.limit == 400.0);
  assert_true(f.since == 0.0 && f.t == 5.0 && f.value == 0.0);
}

static void fan_below_min_fires(void **state) {
  (void)state;
  char id[128] = "";
  struct kiln_watch_fire f;
  struct sample s;
  assert_int_equal(run_fixture("fan-below-min", id, sizeof id, &f, &s), 1);
  assert_string_equal(id, "nct6798-isa-0290/fan5");
  assert_true(f.value == 250.0 && f.limit == 400.0 && f.t == 5.0);
}

static void temp_over_crit_fires(void **state) {
  (void)state;
  char id[128] = "";
  struct kiln_watch_fire f;
  assert_int_equal(run_fixture("temp-over-crit", id, sizeof id, &f, NULL), 1);
  assert_string_equal(id, "coretemp-isa-0000/temp1");
  assert_true(f.op == KILN_WATCH_ABOVE && f.limit == 100.0);
  assert_true(f.value == 103.0 && f.since == 0.0 && f.held == 5.0);
}

#define CORE0_INPUT "devices/platform/coretemp.0/hwmon/hwmon1/temp2_input"

static void spike_vs_held_over_crit_while_running(void **state) {
  (void)state;
  struct probe p;
  probe_start(&p, "healthy", "sensors", NULL);
  assert_true(p.dir[0] != '\0');
  struct watches ws = {0};
  struct sample s;
  char id[128] = "";
  struct kiln_watch_fire f;
  int fired = 0;
  for (int t = 0; t <= 25; t++) {
    /* Core 0: a spike over crit (100 C) at t=3..6 (held 3 s < 5 s), then
     * over crit from t=12 on, for good. */
    if (t == 3)
      probe_write(&p, CORE0_INPUT, "102000\n");
    if (t == 7)
      probe_write(&p, CORE0_INPUT, "60000\n");
    if (t == 12)
      probe_write(&p, CORE0_INPUT, "104500\n");
    probe_sample(&p, t, &s);
    const struct rec *r = find(&s, "coretemp-isa-0000/temp2");
    assert_non_null(r);
    assert_true(r->value == (t >= 12  ? 104.5
                             : t >= 7 ? 60.0
                             : t >= 3 ? 102.0
                                      : 50.0));
    int k = feed_watches(&ws, &s, t, 5, id, sizeof id, &f);
    if (k)
      assert_int_equal(t, 17); /* only when held 5 s */
    fired += k;
  }
  assert_int_equal(fired, 1);
  assert_string_equal(id, "coretemp-isa-0000/temp2");
  assert_true(f.since == 12.0 && f.t == 17.0 && f.value == 104.5);
  char msg[256];
  kiln_watch_describe(&f, "Core 0", "C", msg, sizeof msg);
  assert_string_equal(msg, "Core 0 over 100 C: 104.5 C at t=17.0 s, held 5.0 "
                           "s since t=12.0 s (worst 104.5 C)");
  /* A fan that stops while the probe runs reads 0 from the next sample. */
  probe_write(&p, "devices/platform/nct6775.656/hwmon/hwmon2/fan1_input",
              "0\n");
  probe_sample(&p, 26, &s);
  assert_true(find(&s, "nct6798-isa-0290/fan1")->value == 0.0);
  probe_stop(&p);
}

static void config_labels_and_ignored_lines(void **state) {
  (void)state;
  need_umockdev("healthy"); /* before making the tree */
  /* The configuration's label wins over the driver's; a line libsensors
   * cannot parse leaves a warning, and the source still opens. */
  char *root = make_root();
  put(root, "s.conf",
      "chip \"nct6798-*\"\n  label fan1 \"Front fan\"\n"
      "  label temp1 \"Board\"\n  }}} nonsense\n");
  char conf[PATH_MAX];
  snprintf(conf, sizeof conf, "%s/s.conf", root);
  struct probe p;
  probe_start_with(&p, "healthy", "sensors", NULL, conf);
  assert_int_equal(p.n_why, 1);
  char want[PATH_MAX + 100];
  snprintf(want, sizeof want,
           "sensors\tlibsensors ignored 1 configuration line: %s:4: Invalid "
           "keyword",
           conf);
  assert_string_equal(p.why[0], want);
  struct sample s;
  probe_sample(&p, 0, &s);
  assert_string_equal(find(&s, "nct6798-isa-0290/fan1")->label, "Front fan");
  assert_string_equal(find(&s, "nct6798-isa-0290/temp1")->label, "Board");
  assert_string_equal(find(&s, "nct6798-isa-0290/fan2")->label, "CPU_OPT");
  probe_stop(&p);
  fs_rm_rf(root);
  free(root);
}

static void malformed_attributes_never_crash(void **state) {
  (void)state;
  struct probe p;
  probe_start(&p, "malformed", "sensors", NULL);
  struct sample s;
  for (int t = 0; t < 3; t++) {
    probe_sample(&p, t, &s);
    /* "garbage", "4.5e999" (inf) and "-": skipped, not zero. */
    assert_null(find(&s, "nct6798-isa-0290/fan2"));
    assert_null(find(&s, "nct6798-isa-0290/temp2"));
    assert_null(find(&s, "nct6798-isa-0290/temp3"));
  }
  const struct rec *r = find(&s, "nct6798-isa-0290/fan3"); /* min "abc" */
  assert_non_null(r);
  assert_true(r->value == 980.0 && isnan(r->min));
  r = find(&s, "nct6798-isa-0290/temp1"); /* max "" */
  assert_non_null(r);
  assert_true(isnan(r->max) && r->crit == 90.0);
  r = find(&s, "nct6798-isa-0290/fan6"); /* label "SYS\x1bFAN\xff" */
  assert_non_null(r);
  assert_string_equal(r->label, "SYS?FAN\xef\xbf\xbd");
  r = find(&s, "acpitz-virtual-0/temp1"); /* no parent device */
  assert_non_null(r);
  assert_true(r->value == 27.8 && isnan(r->crit));
  /* An attribute that turns bad, and good again, while running. */
  probe_write(&p, "devices/platform/nct6775.656/hwmon/hwmon2/fan1_input",
              "\x01\x02\n");
  probe_sample(&p, 3, &s);
  assert_null(find(&s, "nct6798-isa-0290/fan1"));
  probe_write(&p, "devices/platform/nct6775.656/hwmon/hwmon2/fan1_input",
              "1500\n");
  probe_sample(&p, 4, &s);
  assert_true(find(&s, "nct6798-isa-0290/fan1")->value == 1500.0);
  probe_stop(&p);
}

/* ---- EDAC and CPU from fixture trees ---- */

static void sample_source(const struct kiln_tel_source *src, struct sample *s,
                          char *why, size_t n) {
  s->n = 0;
  void *st = src->open(why, n);
  assert_non_null(st);
  size_t got = src->sample(st, collect, s);
  assert_int_equal(got, s->n);
  src->close(st);
}

static void edac_counters_per_controller_and_dimm(void **state) {
  (void)state;
  char *root = make_root();
  edac_tree(root);
  setenv("KILN_SYSROOT", root, 1);
  struct sample s;
  char why[256];
  sample_source(&kiln_tel_edac, &s, why, sizeof why);
  static const char *const order[] = {
      "mc0/ce_count",       "mc0/ue_count",       "mc0/dimm0/ce_count",
      "mc0/dimm0/ue_count", "mc0/dimm1/ce_count", "mc0/dimm1/ue_count",
      "mc2/ce_count",       "mc2/ue_count",       "mc10/ce_count",
      "mc10/ue_count",
  };
  assert_int_equal(s.n, 10);
  for (size_t i = 0; i < 10; i++) {
    assert_string_equal(s.r[i].id, order[i]);
    assert_string_equal(s.r[i].kind, "count");
  }
  assert_true(find(&s, "mc0/ce_count")->value == 3.0);
  assert_string_equal(find(&s, "mc0/ce_count")->label, "mc0 CE");
  const struct rec *r = find(&s, "mc0/dimm0/ce_count");
  assert_true(r->value == 2.0);
  assert_string_equal(r->label, "CPU_SrcID#0_MC#0_Chan#0_DIMM#0 CE");
  assert_string_equal(find(&s, "mc0/dimm0/ue_count")->label,
                      "CPU_SrcID#0_MC#0_Chan#0_DIMM#0 UE");
  r = find(&s, "mc0/dimm1/ce_count"); /* empty dimm_label */
  assert_true(r->value == 1.0);
  assert_string_equal(r->label, "mc0/dimm1 CE");
  assert_true(find(&s, "mc2/ue_count")->value == 1.0);
  assert_true(find(&s, "mc10/ce_count")->value == 18446744073709551615.0);

  /* Through the sampler: a UE that was there before the run is the
   * baseline; a new one fires at once, a CE rise does not. */
  struct kiln_telemetry tel;
  assert_int_equal(kiln_telemetry_open(&tel, "edac"), 1);
  struct watches ws = {0};
  s.n = 0;
  kiln_telemetry_sample(&tel, 0, collect, &s);
  assert_string_equal(find(&s, "mc0/dimm0/ce_count")->source, "edac");
  assert_true(find(&s, "mc0/dimm0/ce_count")->value == 2.0);
  assert_int_equal(feed_watches(&ws, &s, 0, 5, NULL, 0, NULL), 0);
  put(root, EDAC "mc0/dimm0/dimm_ce_count", "40\n");
  s.n = 0;
  kiln_telemetry_sample(&tel, 1, collect, &s);
  assert_true(find(&s, "mc0/dimm0/ce_count")->value == 40.0);
  assert_int_equal(feed_watches(&ws, &s, 1, 5, NULL, 0, NULL), 0);
  put(root, EDAC "mc0/dimm1/dimm_ue_count", "1\n");
  s.n = 0;
  kiln_telemetry_sample(&tel, 2, collect, &s);
  assert_true(find(&s, "mc0/dimm0/ce_count")->value == 40.0);
  char id[128] = "";
  struct kiln_watch_fire f;
  assert_int_equal(feed_watches(&ws, &s, 2, 5, id, sizeof id, &f), 1);
  assert_string_equal(id, "mc0/dimm1/ue_count");
  assert_true(f.t == 2.0 && f.value == 1.0);
  kiln_telemetry_close(&tel);
  unsetenv("KILN_SYSROOT");
  fs_rm_rf(root);
  free(root);
}

static void edac_malformed_and_missing(void **state) {
  (void)state;
  char *root = make_root();
  setenv("KILN_SYSROOT", root, 1);
  char why[256] = "";
  assert_null(kiln_tel_edac.open(why, sizeof why));
  assert_string_equal(why,
                      "no EDAC memory controllers under "
                      "/sys/devices/system/edac/mc (no EDAC driver for this "
                      "platform loaded)");
  put(root, EDAC "mc0/mc_name", "no counters here\n");
  assert_null(kiln_tel_edac.open(why, sizeof why));
  assert_string_equal(
      why, "1 EDAC memory controller, none with a readable error counter");
  put(root, EDAC "mc0/ce_count", "lots\n");
  put(root, EDAC "mc0/ue_count", "");
  put(root, EDAC "mc0/dimm0/dimm_label", "DIMM\x07\xc3 A1   \n");
  put(root, EDAC "mc0/dimm0/dimm_ce_count", "-1\n");
  put(root, EDAC "mc0/dimm0/dimm_ue_count", "99999999999999999999999\n");
  put(root, EDAC "mc0/dimm1/dimm_ce_count", "12 34\n");
  put(root, EDAC "mc0/dimm1/dimm_ue_count", "0x10\n");
  put(root, EDAC "mc0/dimm2/dimm_ce_count", "5\n");
  struct sample s;
  sample_source(&kiln_tel_edac, &s, why, sizeof why);
  assert_int_equal(s.n, 1); /* the only well-formed counter */
  assert_string_equal(s.r[0].id, "mc0/dimm2/ce_count");
  assert_true(s.r[0].value == 5.0);
  /* A label with control and invalid bytes, for people. */
  void *st = kiln_tel_edac.open(why, sizeof why);
  put(root, EDAC "mc0/dimm0/dimm_ce_count", "7\n");
  s.n = 0;
  kiln_tel_edac.sample(st, collect, &s);
  const struct rec *r = find(&s, "mc0/dimm0/ce_count");
  assert_non_null(r);
  assert_string_equal(r->label, "DIMM?\xef\xbf\xbd A1 CE");
  kiln_tel_edac.close(st);
  unsetenv("KILN_SYSROOT");
  fs_rm_rf(root);
  free(root);
}

static void cpu_frequency_and_throttle_counters(void **state) {
  (void)state;
  char *root = make_root();
  cpu_tree(root);
  setenv("KILN_SYSROOT", root, 1);
  struct sample s;
  char why[256];
  sample_source(&kiln_tel_cpu, &s, why, sizeof why);
  for (int c = 0; c < 5; c++) {
    char id[32], label[16];
    snprintf(id, sizeof id, "cpu%d/freq", c);
    snprintf(label, sizeof label, "cpu%d", c);
    const struct rec *r = find(&s, id);
    assert_non_null(r);
    assert_string_equal(r->kind, "freq_mhz");
    assert_string_equal(r->label, label);
    assert_true(r->value == 2400.0 + c * 100);
    assert_true(r->min == 800.0 && r->max == 3500.0);
  }
  /* One counter per core and per package, not per thread. */
  const struct rec *r = find(&s, "cpu0/core_throttle_count");
  assert_non_null(r);
  assert_string_equal(r->label, "package 0 core 0 throttling");
  assert_true(r->value == 0.0);
  r = find(&s, "cpu1/core_throttle_count");
  assert_non_null(r);
  assert_string_equal(r->label, "package 0 core 1 throttling");
  assert_true(r->value == 5.0);
  assert_null(find(&s, "cpu2/core_throttle_count"));
  assert_null(find(&s, "cpu3/core_throttle_count"));
  r = find(&s, "package0/package_throttle_count");
  assert_non_null(r);
  assert_string_equal(r->label, "package 0 throttling");
  assert_true(r->value == 12.0);
  /* Without topology, per CPU. */
  r = find(&s, "cpu4/core_throttle_count");
  assert_non_null(r);
  assert_true(r->value == 9.0);
  assert_non_null(find(&s, "cpu4/package_throttle_count"));
  assert_int_equal(s.n, 5 + 3 + 2);
  assert_int_equal(count_kind(&s, "count"), 5);

  /* Throttling during load: the counter rises, the watch fires. */
  struct kiln_watch w;
  kiln_watch_init(&w, KILN_WATCH_INCREASE, 0, 0);
  void *st = kiln_tel_cpu.open(why, sizeof why);
  assert_non_null(st);
  struct kiln_watch_fire f;
  for (int t = 0; t < 4; t++) {
    if (t == 2)
      put(root, CPU "cpu1/thermal_throttle/core_throttle_count", "8\n");
    s.n = 0;
    kiln_tel_cpu.sample(st, collect, &s);
    bool fired =
        kiln_watch_feed(&w, t, find(&s, "cpu1/core_throttle_count")->value, &f);
    assert_true(fired == (t == 2));
  }
  assert_true(f.value == 3.0);
  /* Malformed files: skipped, the others still read. */
  put(root, CPU "cpu0/cpufreq/scaling_cur_freq", "<unknown>\n");
  put(root, CPU "cpu1/cpufreq/scaling_cur_freq", "");
  s.n = 0;
  kiln_tel_cpu.sample(st, collect, &s);
  assert_null(find(&s, "cpu0/freq"));
  assert_null(find(&s, "cpu1/freq"));
  assert_true(find(&s, "cpu2/freq")->value == 2600.0);
  kiln_tel_cpu.close(st);
  unsetenv("KILN_SYSROOT");
  fs_rm_rf(root);
  free(root);
}

static void sampler_keeps_why_of_each_source(void **state) {
  (void)state;
  char *root = make_root();
  put(root, CPU "cpu0/topology/core_id", "0\n");
  setenv("KILN_SYSROOT", root, 1);
  struct kiln_telemetry tel;
  assert_int_equal(kiln_telemetry_open(&tel, "edac, cpu"), 0);
  assert_int_equal(tel.n_src, 2);
  assert_string_equal(tel.src[0].src->name, "edac");
  assert_non_null(strstr(tel.src[0].why, "no EDAC memory controllers"));
  assert_string_equal(tel.src[1].src->name, "cpu");
  assert_string_equal(tel.src[1].why,
                      "no cpufreq or thermal_throttle files for 1 CPU (no "
                      "cpufreq driver, or a VM)");
  kiln_telemetry_close(&tel);
  unsetenv("KILN_SYSROOT");
  fs_rm_rf(root);
  free(root);
}

static void registry_lists_the_sources(void **state) {
  (void)state;
  size_t n;
  const struct kiln_tel_source *const *all = kiln_tel_sources(&n);
  assert_int_equal(n, 5);
  assert_string_equal(all[0]->name, "sensors");
  assert_string_equal(all[1]->name, "edac");
  assert_string_equal(all[2]->name, "cpu");
  assert_ptr_equal(kiln_tel_source_find("edac"), &kiln_tel_edac);
  assert_string_equal(all[3]->name, "ipmi");
  assert_ptr_equal(kiln_tel_source_find("ipmi"), &kiln_tel_ipmi);
  assert_null(kiln_tel_source_find(NULL));
  assert_string_equal(kiln_tel_kind_unit(KILN_TEL_FAN_RPM), "RPM");
  assert_string_equal(kiln_tel_kind_unit(KILN_TEL_TEMP_C), "C");
  assert_string_equal(kiln_tel_kind_unit(KILN_TEL_POWER_W), "W");
  assert_string_equal(kiln_tel_kind_unit(KILN_TEL_COUNT), "count");
  assert_string_equal(kiln_tel_kind_unit(KILN_TEL_FREQ_MHZ), "MHz");
}

/* ---- telemetry.csv ---- */

static void csv_rows(void **state) {
  (void)state;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  kiln_tel_csv_header(f);
  struct kiln_tel_reading r = {.source = "sensors",
                               .id = "nct6798-isa-0290/fan1",
                               .label = "CPU_FAN",
                               .kind = KILN_TEL_FAN_RPM,
                               .value = 1450};
  kiln_tel_csv_row(f, 1795000000.25, &r);
  r.source = "edac";
  r.id = "odd,\"id\"";
  r.label = NULL; /* no label: the id again */
  r.kind = KILN_TEL_COUNT;
  r.value = 3;
  kiln_tel_csv_row(f, 1795000001.0, &r);
  r.source = "sensors";
  r.id = "x/temp1";
  r.label = "Package id 0";
  r.kind = KILN_TEL_TEMP_C;
  r.value = 45.5;
  kiln_tel_csv_row(f, 1795000002.0, &r);
  fclose(f);
  assert_string_equal(
      buf,
      "timestamp,source,sensor,label,value,unit\n"
      "2026-11-18T11:06:40.250Z,sensors,nct6798-isa-0290/"
      "fan1,CPU_FAN,1450,RPM\n"
      "2026-11-18T11:06:41.000Z,edac,\"odd,\"\"id\"\"\",\"odd,\"\"id\"\"\","
      "3,count\n"
      "2026-11-18T11:06:42.000Z,sensors,x/temp1,Package id 0,45.5,C\n");
  free(buf);
}

static void read_helpers_are_strict(void **state) {
  (void)state;
  char *root = make_root();
  char path[PATH_MAX];
  uint64_t v = 77;
  static const char *const bad[] = {"",
                                    "\n",
                                    "x",
                                    "-3",
                                    "+3",
                                    " 3",
                                    "3x",
                                    "1e3",
                                    "0x10",
                                    "3 4",
                                    "99999999999999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    put(root, "f", bad[i]);
    snprintf(path, sizeof path, "%s/f", root);
    assert_false(kiln_tel_read_u64(path, &v));
    assert_true(v == 77);
  }
  put(root, "f", "42\n");
  assert_true(kiln_tel_read_u64(path, &v));
  assert_true(v == 42);
  put(root, "f", "18446744073709551615");
  assert_true(kiln_tel_read_u64(path, &v));
  assert_true(v == UINT64_MAX);
  assert_false(kiln_tel_read_u64("/nonexistent/kiln", &v));
  char text[8];
  put(root, "f", "a\tlong line of text\n");
  assert_true(kiln_tel_read_text(path, text, sizeof text));
  assert_string_equal(text, "a?long");
  char *l = kiln_tel_clean_label("  \x1b[31mred\xff  ");
  assert_string_equal(l, "?[31mred\xef\xbf\xbd");
  free(l);
  int *nums;
  put(root, "d/mc3/x", "");
  put(root, "d/mc10/x", "");
  put(root, "d/mc2x/x", "");
  put(root, "d/mc/x", "");
  put(root, "d/mc-1/x", "");
  snprintf(path, sizeof path, "%s/d", root);
  assert_int_equal(kiln_tel_numbered(path, "mc", &nums), 2);
  assert_int_equal(nums[0], 3);
  assert_int_equal(nums[1], 10);
  free(nums);
  assert_int_equal(kiln_tel_numbered("/nonexistent", "mc", &nums), 0);
  assert_null(nums);
  fs_rm_rf(root);
  free(root);
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "--probe") == 0)
    return probe_main(argc >= 3 ? argv[2] : NULL);
  alarm(300); /* a probe that hangs fails the test instead */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(registry_lists_the_sources),
      cmocka_unit_test(sensors_open_fails_clearly_without_hwmon),
      cmocka_unit_test(healthy_board),
      cmocka_unit_test(stalled_fan_reads_zero_and_fires),
      cmocka_unit_test(fan_below_min_fires),
      cmocka_unit_test(temp_over_crit_fires),
      cmocka_unit_test(spike_vs_held_over_crit_while_running),
      cmocka_unit_test(config_labels_and_ignored_lines),
      cmocka_unit_test(malformed_attributes_never_crash),
      cmocka_unit_test(edac_counters_per_controller_and_dimm),
      cmocka_unit_test(edac_malformed_and_missing),
      cmocka_unit_test(cpu_frequency_and_throttle_counters),
      cmocka_unit_test(sampler_keeps_why_of_each_source),
      cmocka_unit_test(csv_rows),
      cmocka_unit_test(read_helpers_are_strict),
  };
  cmocka_set_message_output(CM_OUTPUT_TAP);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
