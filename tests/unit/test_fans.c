/* fans: the module over the umockdev fixtures, and the station spec's
 * [fans] section.
 *
 * libsensors is the real, unmodified library. Each fixture case runs this
 * same binary again as a probe ("test_fans --probe ...") under
 * `umockdev-run -d tests/fixtures/umockdev/NAME.umockdev`, which fakes
 * /sys/class/hwmon; the probe runs the module in-process through the
 * harness and writes every event it emitted, one wire line each, to a file
 * the test reads back. All probes start at once (the group setup), so the
 * whole file takes about as long as its longest case.
 *
 * To prove fan_response and the hold-time watches, a probe can change the
 * fans once the module's load starts: a thread in the probe watches the
 * process's thread count and, when the spinning threads appear, rewrites
 * fanN_input files under $UMOCKDEV_DIR (every fan faster, or one fan slow
 * for a while).
 *
 * Fixtures: healthy (nct6798: CPU_FAN 1450, CPU_OPT 1420, SYS_FAN1-4 980,
 * 1010, 995, 1005 RPM; fan1-2 min 300, fan3-6 min 400), fan-stalled
 * (SYS_FAN2 at 0), fan-below-min (SYS_FAN3 at 250), fan-missing (healthy
 * without SYS_FAN4). */
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/wire.h"
#include "fsutil.h"
#include "harness.h"
#include "kiln/context.h"
#include "kiln/result.h"
#include "kiln/spec.h"
#include "kiln/telemetry.h"
#include "kiln/textutil.h"

#define CHIP "nct6798-isa-0290"
#define HWMON "devices/platform/nct6775.656/hwmon/hwmon2"

/* ---- reading captured events ---- */

/* FAIL diagnoses with this symptom (NULL: any); the first one's message
 * and hwid into msg, hwid. */
static size_t fails(const struct captured *c, const char *symptom, char *msg,
                    size_t n, char *hwid, size_t nh) {
  size_t count = 0;
  for (size_t i = 0; i < c->n; i++) {
    const struct kiln_wire_event *e = &c->events[i];
    if (e->type != KILN_WIRE_DIAGNOSIS || e->diag_type != KILN_DIAG_FAIL ||
        (symptom && strcmp(e->symptom, symptom) != 0))
      continue;
    if (count == 0 && msg)
      snprintf(msg, n, "%s", e->message);
    if (count == 0 && hwid)
      snprintf(hwid, nh, "%s", e->hwid ? e->hwid : "");
    count++;
  }
  return count;
}

/* The FAIL diagnosis on hwid, or NULL. */
static const struct kiln_wire_event *
fail_on(const struct captured *c, const char *symptom, const char *hwid) {
  for (size_t i = 0; i < c->n; i++) {
    const struct kiln_wire_event *e = &c->events[i];
    if (e->type == KILN_WIRE_DIAGNOSIS && e->diag_type == KILN_DIAG_FAIL &&
        strcmp(e->symptom, symptom) == 0 && e->hwid &&
        strcmp(e->hwid, hwid) == 0)
      return e;
  }
  return NULL;
}

static const struct kiln_wire_event *end_event(const struct captured *c) {
  for (size_t i = c->n; i-- > 0;)
    if (c->events[i].type == KILN_WIRE_END)
      return &c->events[i];
  return NULL;
}

static double measured(const struct captured *c, const char *name,
                       const char *hwid) {
  const struct kiln_wire_event *e = harness_measurement(c, name, hwid);
  if (!e)
    fail_msg("no measurement %s on %s", name, hwid ? hwid : "(none)");
  return e->value;
}

/* Prints the events, to see why a case went wrong. */
static void dump(const struct captured *c) {
  for (size_t i = 0; i < c->n; i++) {
    char *line = kiln_wire_encode(&c->events[i]);
    if (line)
      fprintf(stderr, "#   %s", line);
    free(line);
  }
}

/* ---- the probe: this binary under umockdev-run ---- */

static long thread_count(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long n = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "Threads: %ld", &n) == 1)
      break;
  if (f)
    fclose(f);
  return n;
}

/* What the probe does to the fake fans once the module's load starts:
 * "x1.5" multiplies every fan's speed; "dip:fan3:300:1.5:3.5" sets fan3 to
 * 300 RPM from 1.5 s into the load to 3.5 s, then puts it back. */
struct raiser {
  pthread_t thread;
  double factor;
  char fan[16];
  double dip_rpm, dip_from, dip_to;
  atomic_bool stop;
  char dir[PATH_MAX]; /* the fake hwmon chip's directory */
};

static bool parse_action(const char *a, struct raiser *r) {
  char *end;
  if (a[0] == 'x') {
    r->factor = strtod(a + 1, &end);
    return end != a + 1 && !*end && r->factor > 0;
  }
  int used = 0;
  return sscanf(a, "dip:%15[a-z0-9]:%lf:%lf:%lf%n", r->fan, &r->dip_rpm,
                &r->dip_from, &r->dip_to, &used) == 4 &&
         !a[used];
}

/* Multiplies every fanN_input in dir by factor. */
static void raise_fans(const char *dir, double factor) {
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (strncmp(e->d_name, "fan", 3) != 0 || len < 7 ||
        strcmp(e->d_name + len - 6, "_input") != 0)
      continue;
    char path[PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    FILE *f = fopen(path, "r+");
    double v = 0;
    if (!f)
      continue;
    if (fscanf(f, "%lf", &v) == 1) {
      rewind(f);
      fprintf(f, "%.0f\n", v * factor);
    }
    fclose(f);
  }
  if (d)
    closedir(d);
}

/* Reads, then writes, one fan's speed; returns what it read. */
static double set_fan(const struct raiser *r, double rpm) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/%s_input", r->dir, r->fan);
  FILE *f = fopen(path, "r+");
  double was = 0;
  if (!f)
    return 0;
  if (fscanf(f, "%lf", &was) == 1) {
    rewind(f);
    fprintf(f, "%.0f\n", rpm);
  }
  fclose(f);
  return was;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps until t (monotonic), or until told to stop; false when stopped. */
static bool wait_until(const struct raiser *r, double t) {
  while (!atomic_load(&r->stop) && now_s() < t) {
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return !atomic_load(&r->stop);
}

/* Waits for the module's load threads, then changes the fans. */
static void *raiser_main(void *arg) {
  struct raiser *r = arg;
  long base = thread_count();
  while (!atomic_load(&r->stop) && thread_count() <= base) {
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  if (atomic_load(&r->stop))
    return NULL;
  double start = now_s();
  if (r->factor > 0) {
    raise_fans(r->dir, r->factor);
  } else if (wait_until(r, start + r->dip_from)) {
    double was = set_fan(r, r->dip_rpm);
    wait_until(r, start + r->dip_to);
    set_fan(r, was);
  }
  return NULL;
}

/* argv: --probe SPEC|- ACTION DURATION [KEY VALUE]...; prints the events.
 * ACTION: "-", one for the raiser, or "hold-sensors": hold libsensors open
 * in this process first, as a sampler would. */
static int probe_main(int argc, char **argv) {
  if (argc < 5)
    return 64;
  struct kiln_spec spec;
  bool have_spec = strcmp(argv[2], "-") != 0;
  if (have_spec) {
    char err[512];
    if (kiln_spec_load(argv[2], &spec, err, sizeof err) != 0) {
      fprintf(stderr, "probe: %s\n", err);
      return 65;
    }
    struct kiln_context ctx = {.spec = &spec};
    kiln_context_set(&ctx);
  }
  struct raiser r;
  memset(&r, 0, sizeof r);
  atomic_init(&r.stop, false);
  const char *action = argv[3];
  bool hold = strcmp(action, "hold-sensors") == 0;
  bool raising = !hold && strcmp(action, "-") != 0;
  if (raising && !parse_action(action, &r)) {
    fprintf(stderr, "probe: bad action %s\n", action);
    return 64;
  }
  const char *mock = getenv("UMOCKDEV_DIR");
  snprintf(r.dir, sizeof r.dir, "%s/sys/" HWMON, mock ? mock : "");
  /* Started before the module, so its own thread is in the baseline. */
  if (raising && pthread_create(&r.thread, NULL, raiser_main, &r) != 0)
    return 66;
  struct timespec settle = {0, 20 * 1000 * 1000};
  nanosleep(&settle, NULL);
  struct kiln_telemetry held;
  if (hold)
    kiln_telemetry_open(&held, "sensors");
  struct captured c;
  harness_run_module("fans", strtod(argv[4], NULL),
                     (const char *const *)argv + 5, NULL, &c);
  if (hold)
    kiln_telemetry_close(&held);
  if (raising) {
    atomic_store(&r.stop, true);
    pthread_join(r.thread, NULL);
  }
  for (size_t i = 0; i < c.n; i++) {
    char *line = kiln_wire_encode(&c.events[i]);
    if (line)
      fputs(line, stdout);
    free(line);
  }
  harness_free(&c);
  kiln_context_set(NULL);
  if (have_spec)
    kiln_spec_free(&spec);
  return 0;
}

/* ---- the cases ---- */

#define MAX_ARGS 16

struct fixture_case {
  const char *name, *fixture;
  const char *spec;   /* the spec file's text, or NULL */
  const char *action; /* for the probe's raiser (see struct raiser) */
  double duration;
  const char *args[MAX_ARGS]; /* module parameters, key value ... */
  /* state */
  bool started;
  pid_t pid;
  char out[PATH_MAX], spec_path[PATH_MAX];
};

static const char all_six[] =
    "[fans]\ncount = 6\n"
    "labels = CPU_FAN, CPU_OPT, SYS_FAN1\n"
    "labels.2 = SYS_FAN2, sys_fan3, " CHIP "/SYS_FAN4\n";

static struct fixture_case cases[] = {
    {.name = "healthy",
     .fixture = "healthy",
     .duration = 2,
     .args = {"idle", "1s", "load", "1s"}},
    {.name = "healthy-spec",
     .fixture = "healthy",
     .spec = all_six,
     .duration = 2,
     .args = {"idle", "1s", "load", "1s"}},
    {.name = "stalled",
     .fixture = "fan-stalled",
     .duration = 2,
     .args = {"idle", "1s", "load", "1s"}},
    {.name = "below-min",
     .fixture = "fan-below-min",
     .duration = 2,
     .args = {"idle", "1s", "load", "1s"}},
    {.name = "missing",
     .fixture = "fan-missing",
     .spec = all_six,
     .duration = 2,
     .args = {"idle", "1s", "load", "1s"}},
    {.name = "missing-extra-label",
     .fixture = "healthy",
     .spec = "[fans]\nlabels = CPU_FAN, PUMP_FAN\n",
     .duration = 2,
     .args = {"idle", "1s", "load", "1s"}},
    /* The spec lists five fans: SYS_FAN2, at 0 RPM, is an empty header. */
    {.name = "empty-header",
     .fixture = "fan-stalled",
     .spec = "[fans]\nlabels = CPU_FAN, CPU_OPT, SYS_FAN1, SYS_FAN3, "
             "SYS_FAN4\n",
     .duration = 2,
     .args = {"idle", "1s", "load", "1s"}},
    /* The spec's range wins over the profile's. */
    {.name = "spec-range",
     .fixture = "healthy",
     .spec = "[fans]\nmin_rpm = 1000\nmax_rpm = 1440 RPM\n",
     .duration = 2,
     .args = {"idle", "1s", "load", "1s", "min_rpm", "100", "max_rpm", "5000"}},
    {.name = "profile-range",
     .fixture = "healthy",
     .duration = 2,
     .args = {"idle", "1s", "load", "1s", "max_rpm", "1430"}},
    {.name = "response",
     .fixture = "healthy",
     .action = "x1.5",
     .duration = 3,
     .args = {"idle", "1s", "load", "2s", "fan_response", "yes",
              "response_share", "20%"}},
    {.name = "no-response",
     .fixture = "healthy",
     .duration = 3,
     .args = {"idle", "1s", "load", "2s", "fan_response", "yes"}},
    /* SYS_FAN1 (fan3, min 400) at 300 RPM for 2 s of a 4 s load: not
     * most of the load's samples (2 of 4), but as long as the hold. */
    {.name = "dip",
     .fixture = "healthy",
     .action = "dip:fan3:300:1.5:3.5",
     .duration = 5,
     .args = {"idle", "1s", "load", "4s", "hold", "1s"}},
    /* The same dip with the default hold (5 s): it passes. */
    {.name = "dip-short",
     .fixture = "healthy",
     .action = "dip:fan3:300:1.5:3.5",
     .duration = 5,
     .args = {"idle", "1s", "load", "4s"}},
    /* libsensors already taken in the step's process. */
    {.name = "sensors-busy",
     .fixture = "healthy",
     .action = "hold-sensors",
     .duration = 2,
     .args = {"idle", "1s", "load", "1s"}},
    /* The spec's share wins: 60% is more than 1.5x gives. */
    {.name = "spec-response",
     .fixture = "healthy",
     .spec = "[fans]\nresponse = 60%\n",
     .action = "x1.5",
     .duration = 3,
     .args = {"idle", "1s", "load", "2s", "fan_response", "yes",
              "response_share", "0.1"}},
};

#define N_CASES (sizeof cases / sizeof *cases)

static char tmp_dir[] = "/tmp/kiln-fans-XXXXXX";

static void start_case(struct fixture_case *fc, const char *self) {
  char fx[PATH_MAX];
  const char *dir = getenv("KILN_FIXTURES");
  snprintf(fx, sizeof fx, "%s/%s.umockdev",
           dir && *dir ? dir : "tests/fixtures/umockdev", fc->fixture);
  if (access(fx, R_OK) != 0)
    return; /* the case fails, naming the fixture */
  snprintf(fc->out, sizeof fc->out, "%s/%s.events", tmp_dir, fc->name);
  snprintf(fc->spec_path, sizeof fc->spec_path, "-");
  if (fc->spec) {
    snprintf(fc->spec_path, sizeof fc->spec_path, "%s/%s.ini", tmp_dir,
             fc->name);
    FILE *f = fopen(fc->spec_path, "w");
    if (!f)
      return;
    fputs(fc->spec, f);
    fclose(f);
  }
  char duration[32];
  const char *action = fc->action ? fc->action : "-";
  snprintf(duration, sizeof duration, "%g", fc->duration);
  const char *argv[8 + MAX_ARGS] = {
      "umockdev-run", "-d", fx, "--", self, "--probe", fc->spec_path, action};
  size_t n = 8;
  argv[n++] = duration;
  for (size_t i = 0; i < MAX_ARGS && fc->args[i]; i++)
    argv[n++] = fc->args[i];
  argv[n] = NULL;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0)
    return;
  if (pid == 0) {
    FILE *out = fopen(fc->out, "w");
    if (!out)
      _exit(126);
    dup2(fileno(out), 1);
    /* umockdev's preload library comes before ASan's runtime. */
    const char *asan = getenv("ASAN_OPTIONS");
    char *opts = kiln_strdup_printf("%s%sverify_asan_link_order=0",
                                    asan ? asan : "", asan && *asan ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
    free(opts);
    setenv("KILN_SENSORS_CONFIG", "/dev/null", 1);
    execvp("umockdev-run", (char *const *)argv);
    _exit(127);
  }
  fc->pid = pid;
  fc->started = true;
}

static int start_all(void **state) {
  (void)state;
  if (!fs_on_path("umockdev-run"))
    return 0; /* the fixture cases skip */
  if (!mkdtemp(tmp_dir))
    return -1;
  char self[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len <= 0)
    return -1;
  self[len] = '\0';
  for (size_t i = 0; i < N_CASES; i++)
    start_case(&cases[i], self);
  return 0;
}

static int remove_all(void **state) {
  (void)state;
  for (size_t i = 0; i < N_CASES; i++) {
    if (cases[i].started) {
      waitpid(cases[i].pid, NULL, 0);
      cases[i].started = false;
    }
    if (cases[i].out[0])
      unlink(cases[i].out);
    if (cases[i].spec && cases[i].spec_path[0])
      unlink(cases[i].spec_path);
  }
  rmdir(tmp_dir);
  return 0;
}

static struct fixture_case *find_case(const char *name) {
  for (size_t i = 0; i < N_CASES; i++)
    if (strcmp(cases[i].name, name) == 0)
      return &cases[i];
  fail_msg("no case %s", name);
  return NULL;
}

/* Waits for the named case's probe and reads its events; skips the test
 * without umockdev. */
static void finish(const char *name, struct captured *c) {
  struct fixture_case *fc = find_case(name);
  if (!fs_on_path("umockdev-run"))
    skip();
  if (!fc->started)
    fail_msg("case %s did not start (fixture %s missing?)", name, fc->fixture);
  int status = 0;
  assert_int_equal(waitpid(fc->pid, &status, 0), fc->pid);
  fc->started = false;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail_msg("probe %s: status %d (a sanitizer report?)", name, status);
  memset(c, 0, sizeof *c);
  FILE *f = fopen(fc->out, "r");
  assert_non_null(f);
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    struct kiln_wire_event ev;
    char err[256];
    if (kiln_wire_decode(line, &ev, err, sizeof err) != 0)
      fail_msg("probe %s: bad event line %s (%s)", name, line, err);
    c->events = kiln_xrealloc(c->events, (c->n + 1) * sizeof ev);
    c->events[c->n++] = ev;
  }
  free(line);
  fclose(f);
  const struct kiln_wire_event *end = end_event(c);
  if (!end)
    fail_msg("probe %s: no END event", name);
}

static void healthy_board_passes(void **state) {
  (void)state;
  struct captured c;
  finish("healthy", &c);
  if (fails(&c, NULL, NULL, 0, NULL, 0) != 0 ||
      harness_end_verdict(&c) != KILN_PASS)
    dump(&c);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_int_equal(fails(&c, NULL, NULL, 0, NULL, 0), 0);
  assert_true(measured(&c, "fans", NULL) == 6);
  assert_true(measured(&c, "rpm_idle", CHIP "/CPU_FAN") == 1450);
  assert_true(measured(&c, "rpm_load", CHIP "/SYS_FAN4") == 1005);
  const struct kiln_wire_event *e = harness_measurement(&c, "rpm_min", NULL);
  assert_non_null(e);
  assert_true(e->value == 980);
  assert_string_equal(e->hwid, CHIP "/SYS_FAN1");
  assert_string_equal(e->unit, "RPM");
  /* No response asked for: no rise judged. */
  assert_null(harness_measurement(&c, "rpm_rise", NULL));
  harness_free(&c);
  /* Every fan the spec names (any case, or chip/label) is there. */
  finish("healthy-spec", &c);
  if (fails(&c, NULL, NULL, 0, NULL, 0) != 0)
    dump(&c);
  assert_int_equal(fails(&c, NULL, NULL, 0, NULL, 0), 0);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  harness_free(&c);
}

static void stalled_fan_fails_naming_it(void **state) {
  (void)state;
  struct captured c;
  finish("stalled", &c);
  char msg[512], hwid[128];
  if (fails(&c, NULL, NULL, 0, NULL, 0) != 1)
    dump(&c);
  assert_int_equal(fails(&c, NULL, NULL, 0, NULL, 0), 1);
  assert_int_equal(fails(&c, "fan-stalled", msg, sizeof msg, hwid, sizeof hwid),
                   1);
  assert_string_equal(hwid, CHIP "/SYS_FAN2");
  assert_string_equal(msg, CHIP " SYS_FAN2: 0 RPM, stalled (at idle in 1 of 1 "
                                "samples, under load in 1 of 1 samples)");
  const struct kiln_wire_event *e = harness_measurement(&c, "rpm_min", NULL);
  assert_non_null(e);
  assert_true(e->value == 0);
  assert_string_equal(e->hwid, CHIP "/SYS_FAN2");
  harness_free(&c);
}

static void fan_below_min_fails_naming_it(void **state) {
  (void)state;
  struct captured c;
  finish("below-min", &c);
  char msg[512], hwid[128];
  if (fails(&c, NULL, NULL, 0, NULL, 0) != 1)
    dump(&c);
  assert_int_equal(fails(&c, NULL, NULL, 0, NULL, 0), 1);
  assert_int_equal(
      fails(&c, "fan-out-of-range", msg, sizeof msg, hwid, sizeof hwid), 1);
  assert_string_equal(hwid, CHIP "/SYS_FAN3");
  assert_string_equal(msg, CHIP " SYS_FAN3: 250 RPM at idle (1 of 1 samples), "
                                "250 RPM under load (1 of 1 samples), below "
                                "its minimum of 400 RPM (the hardware's own)");
  assert_true(measured(&c, "rpm_idle", CHIP "/SYS_FAN3") == 250);
  harness_free(&c);
}

static void missing_fan_fails_naming_it(void **state) {
  (void)state;
  struct captured c;
  finish("missing", &c);
  char msg[512], hwid[128];
  if (fails(&c, NULL, NULL, 0, NULL, 0) != 2)
    dump(&c);
  assert_int_equal(fails(&c, NULL, NULL, 0, NULL, 0), 2);
  const struct kiln_wire_event *e =
      fail_on(&c, "fan-missing", CHIP "/SYS_FAN4");
  assert_non_null(e);
  char want[PATH_MAX + 512];
  const char *spec_path = find_case("missing")->spec_path;
  snprintf(want, sizeof want,
           CHIP "/SYS_FAN4: expected by the station spec %s, not found among "
                "the 5 fans read (CPU_FAN, CPU_OPT, SYS_FAN1, SYS_FAN2, "
                "SYS_FAN3)",
           spec_path);
  assert_string_equal(e->message, want);
  /* ... and the count. */
  e = NULL;
  for (size_t i = 0; i < c.n; i++)
    if (c.events[i].type == KILN_WIRE_DIAGNOSIS &&
        (!c.events[i].hwid || !c.events[i].hwid[0]))
      e = &c.events[i];
  assert_non_null(e);
  snprintf(want, sizeof want,
           "5 fans found, the station spec %s expects at least 6 (CPU_FAN, "
           "CPU_OPT, SYS_FAN1, SYS_FAN2, SYS_FAN3)",
           spec_path);
  assert_string_equal(e->message, want);
  assert_true(measured(&c, "fans", NULL) == 5);
  harness_free(&c);

  /* A label the board does not have at all. */
  finish("missing-extra-label", &c);
  assert_int_equal(fails(&c, NULL, msg, sizeof msg, hwid, sizeof hwid), 1);
  assert_string_equal(hwid, "PUMP_FAN");
  assert_non_null(strstr(msg, "PUMP_FAN: expected by the station spec"));
  harness_free(&c);
}

static void empty_header_not_in_spec_is_not_judged(void **state) {
  (void)state;
  struct captured c;
  finish("empty-header", &c);
  if (fails(&c, NULL, NULL, 0, NULL, 0) != 0)
    dump(&c);
  assert_int_equal(fails(&c, NULL, NULL, 0, NULL, 0), 0);
  assert_true(measured(&c, "fans", NULL) == 6);
  assert_null(harness_measurement(&c, "rpm_idle", CHIP "/SYS_FAN2"));
  assert_true(measured(&c, "rpm_min", CHIP "/SYS_FAN1") == 980);
  harness_free(&c);
}

static void spec_range_beats_profile_and_hardware(void **state) {
  (void)state;
  struct captured c;
  finish("spec-range", &c);
  if (fails(&c, NULL, NULL, 0, NULL, 0) != 3)
    dump(&c);
  assert_int_equal(fails(&c, "fan-out-of-range", NULL, 0, NULL, 0), 3);
  const struct kiln_wire_event *e =
      fail_on(&c, "fan-out-of-range", CHIP "/CPU_FAN");
  assert_non_null(e);
  assert_string_equal(e->message, CHIP " CPU_FAN: 1450 RPM at idle (1 of 1 "
                                       "samples), 1450 RPM under load (1 of 1 "
                                       "samples), above its maximum of 1440 "
                                       "RPM (station spec)");
  e = fail_on(&c, "fan-out-of-range", CHIP "/SYS_FAN1");
  assert_non_null(e);
  assert_non_null(strstr(e->message, "980 RPM at idle"));
  assert_non_null(strstr(e->message, "below its minimum of 1000 RPM (station "
                                     "spec)"));
  assert_non_null(fail_on(&c, "fan-out-of-range", CHIP "/SYS_FAN3"));
  harness_free(&c);

  /* Without a spec, the profile's maximum applies. */
  finish("profile-range", &c);
  if (fails(&c, NULL, NULL, 0, NULL, 0) != 1)
    dump(&c);
  assert_int_equal(fails(&c, NULL, NULL, 0, NULL, 0), 1);
  e = fail_on(&c, "fan-out-of-range", CHIP "/CPU_FAN");
  assert_non_null(e);
  assert_non_null(strstr(e->message, "above its maximum of 1430 RPM "
                                     "(profile)"));
  harness_free(&c);
}

static void fans_that_speed_up_under_load_pass(void **state) {
  (void)state;
  struct captured c;
  finish("response", &c);
  if (fails(&c, NULL, NULL, 0, NULL, 0) != 0)
    dump(&c);
  assert_int_equal(fails(&c, NULL, NULL, 0, NULL, 0), 0);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_true(measured(&c, "rpm_idle", CHIP "/CPU_FAN") == 1450);
  /* The settled half of the load: after the fans sped up. */
  assert_true(measured(&c, "rpm_load", CHIP "/CPU_FAN") == 2175);
  assert_true(fabs(measured(&c, "rpm_rise", CHIP "/SYS_FAN2") - 50) < 1e-9);
  harness_free(&c);
}

static void fans_that_do_not_respond_fail(void **state) {
  (void)state;
  struct captured c;
  finish("no-response", &c);
  char msg[512];
  if (fails(&c, NULL, NULL, 0, NULL, 0) != 6)
    dump(&c);
  assert_int_equal(fails(&c, NULL, NULL, 0, NULL, 0), 6);
  assert_int_equal(fails(&c, "fan-no-response", msg, sizeof msg, NULL, 0), 6);
  assert_string_equal(msg, CHIP " CPU_FAN: 1450 RPM under load, 1450 RPM at "
                                "idle: rose +0.0%, expected at least +10.0%");
  assert_non_null(fail_on(&c, "fan-no-response", CHIP "/SYS_FAN4"));
  harness_free(&c);
  /* The spec's share wins over the profile's: 50% is short of 60%. */
  finish("spec-response", &c);
  if (fails(&c, NULL, NULL, 0, NULL, 0) != 6)
    dump(&c);
  assert_int_equal(fails(&c, "fan-no-response", msg, sizeof msg, NULL, 0), 6);
  assert_string_equal(msg, CHIP " CPU_FAN: 2175 RPM under load, 1450 RPM at "
                                "idle: rose +50.0%, expected at least +60.0%");
  harness_free(&c);
}

static void a_dip_held_past_the_hold_fails(void **state) {
  (void)state;
  struct captured c;
  finish("dip", &c);
  if (fails(&c, NULL, NULL, 0, NULL, 0) != 1)
    dump(&c);
  assert_int_equal(fails(&c, NULL, NULL, 0, NULL, 0), 1);
  const struct kiln_wire_event *e =
      fail_on(&c, "fan-out-of-range", CHIP "/SYS_FAN1");
  assert_non_null(e);
  /* "... SYS_FAN1: 300 RPM under load, held 1.0 s from t=3.0 s (worst 300
   * RPM), below its minimum of 400 RPM (the hardware's own)" */
  const char *head = CHIP " SYS_FAN1: 300 RPM under load, held 1.0 s from t=";
  if (strncmp(e->message, head, strlen(head)) != 0 ||
      !strstr(e->message, " s (worst 300 RPM), below its minimum of 400 RPM "
                          "(the hardware's own)"))
    fail_msg("message: %s", e->message);
  /* The mean over the load's second half saw the dip. */
  assert_true(measured(&c, "rpm_load", CHIP "/SYS_FAN1") < 980);
  harness_free(&c);
  finish("dip-short", &c);
  if (fails(&c, NULL, NULL, 0, NULL, 0) != 0)
    dump(&c);
  assert_int_equal(fails(&c, NULL, NULL, 0, NULL, 0), 0);
  assert_true(measured(&c, "rpm_min", CHIP "/SYS_FAN1") == 300);
  harness_free(&c);
}

/* A sampler holding libsensors is kiln's failure: ERROR, never a SKIP
 * that would pass a machine with a stalled fan. */
static void libsensors_taken_is_an_error(void **state) {
  (void)state;
  struct captured c;
  finish("sensors-busy", &c);
  const struct kiln_wire_event *end = end_event(&c);
  assert_int_equal(end->verdict, KILN_ERROR);
  const char *want = "cannot read the fans: sensors: libsensors is already "
                     "in use by another sampler; ";
  if (strncmp(end->message, want, strlen(want)) != 0)
    fail_msg("END: %s", end->message);
  harness_free(&c);
}

/* ---- without umockdev ---- */

static bool machine_has_hwmon(void) {
  int *chips = NULL;
  size_t n = kiln_tel_numbered("/sys/class/hwmon", "hwmon", &chips);
  free(chips);
  return n > 0 || getenv("UMOCKDEV_DIR");
}

/* Why the BMC gave no fans here: the ipmi source's own reason, or, in a
 * build without one, the hint. False when this machine has a BMC. */
static bool bmc_why(char *buf, size_t n) {
  const struct kiln_tel_source *ipmi = kiln_tel_source_find("ipmi");
  if (!ipmi) {
    snprintf(buf, n, "BMC fans need --bmc");
    return true;
  }
  char why[256] = "";
  void *st = ipmi->open(why, sizeof why);
  if (st) {
    ipmi->close(st);
    return false;
  }
  snprintf(buf, n, "ipmi: %s", why);
  return true;
}

static void no_fans_skips_with_the_reason(void **state) {
  (void)state;
  char bmc[300], want[600];
  if (machine_has_hwmon() || !bmc_why(bmc, sizeof bmc))
    skip(); /* this machine has fans to read: nothing to prove here */
  setenv("KILN_SENSORS_CONFIG", "/dev/null", 1);
  const char *params[] = {"idle", "1s", "load", "1s", NULL};
  struct captured c;
  harness_run_module("fans", 2, params, NULL, &c);
  const struct kiln_wire_event *end = end_event(&c);
  assert_non_null(end);
  assert_int_equal(end->verdict, KILN_SKIP);
  snprintf(want, sizeof want,
           "no fans found (sensors: no hwmon chips found (libsensors saw "
           "none); %s)",
           bmc);
  assert_string_equal(end->message, want);
  harness_free(&c);

  /* A spec that expects fans turns the same into a FAIL per fan. */
  struct kiln_spec spec;
  char err[256];
  assert_int_equal(kiln_spec_parse("[fans]\ncount = 2\nlabels = CPU_FAN\n",
                                   "s.ini", &spec, err, sizeof err),
                   0);
  struct kiln_context ctx = {.spec = &spec};
  kiln_context_set(&ctx);
  harness_run_module("fans", 2, params, NULL, &c);
  kiln_context_set(NULL);
  char msg[512], hwid[64];
  assert_int_equal(fails(&c, "fan-missing", msg, sizeof msg, hwid, sizeof hwid),
                   2);
  assert_string_equal(hwid, "CPU_FAN");
  snprintf(want, sizeof want,
           "CPU_FAN: expected by the station spec s.ini, not found among the "
           "0 fans read (sensors: no hwmon chips found (libsensors saw none); "
           "%s)",
           bmc);
  assert_string_equal(msg, want);
  assert_int_equal(harness_end_verdict(&c), KILN_PASS);
  assert_true(measured(&c, "fans", NULL) == 0);
  harness_free(&c);
  kiln_spec_free(&spec);
}

static void bad_parameters_are_errors(void **state) {
  (void)state;
  static const char *const bad[][2] = {
      {"fan_response", "maybe"}, {"response_share", "0"},
      {"response_share", "x%"},  {"idle", "-1s"},
      {"min_rpm", "fast"},       {"load", "soon"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    const char *params[] = {bad[i][0], bad[i][1], NULL};
    struct captured c;
    harness_run_module("fans", 1, params, NULL, &c);
    const struct kiln_wire_event *end = end_event(&c);
    assert_non_null(end);
    assert_int_equal(end->verdict, KILN_ERROR);
    assert_non_null(strstr(end->message, bad[i][0]));
    assert_non_null(strstr(end->message, bad[i][1]));
    harness_free(&c);
  }
}

/* ---- the spec's [fans] section ---- */

static void spec_fans_section_parses(void **state) {
  (void)state;
  struct kiln_spec s;
  char err[256] = "";
  int rc = kiln_spec_parse("[gpu]\ncount = 8\n\n[fans]\n"
                           "count = 8\n"
                           "labels = CPU_FAN, SYS_FAN1,, Fan 1A/1B \n"
                           "labels.2 = " CHIP "/SYS_FAN2\n"
                           "min_rpm = 400\n"
                           "max_rpm = 18000 rpm\n"
                           "response = 12.5%\n",
                           "f.ini", &s, err, sizeof err);
  if (rc != 0)
    fail_msg("%s", err);
  assert_int_equal(s.fans.count, 8);
  assert_int_equal(s.fans.line, 4);
  assert_int_equal(s.fans.n_labels, 4);
  assert_string_equal(s.fans.labels[0], "CPU_FAN");
  assert_string_equal(s.fans.labels[1], "SYS_FAN1");
  assert_string_equal(s.fans.labels[2], "Fan 1A/1B");
  assert_string_equal(s.fans.labels[3], CHIP "/SYS_FAN2");
  assert_true(s.fans.min_rpm == 400);
  assert_true(s.fans.max_rpm == 18000);
  assert_true(s.fans.response == 0.125);
  kiln_spec_free(&s);

  /* Absent: nothing checked. */
  assert_int_equal(
      kiln_spec_parse("[gpu]\ncount = 1\n", "g.ini", &s, err, sizeof err), 0);
  assert_int_equal(s.fans.count, -1);
  assert_int_equal(s.fans.n_labels, 0);
  assert_true(s.fans.min_rpm == -1 && s.fans.max_rpm == -1 &&
              s.fans.response == -1);
  kiln_spec_free(&s);
  assert_int_equal(kiln_spec_parse("[fans]\nresponse = 0.10\n", "g.ini", &s,
                                   err, sizeof err),
                   0);
  assert_true(s.fans.response == 0.1);
  kiln_spec_free(&s);
}

static void spec_fans_errors_name_the_line(void **state) {
  (void)state;
  static const struct {
    const char *text, *err;
  } bad[] = {
      {"[fans]\ncount = 6\nspeed = 3\n",
       "b.ini:3: unknown key 'speed' in [fans] (keys: count, labels, "
       "min_rpm, max_rpm, response)"},
      {"[fans]\nmin_rpm = fast\n",
       "b.ini:2: [fans] min_rpm = 'fast' is not a fan speed (e.g. 400 RPM)"},
      {"[fans]\nmax_rpm = -5\n",
       "b.ini:2: [fans] max_rpm = '-5' is not a fan speed (e.g. 400 RPM)"},
      {"[fans]\nmax_rpm = 400 RPMs\n",
       "b.ini:2: [fans] max_rpm = '400 RPMs' is not a fan speed (e.g. 400 "
       "RPM)"},
      {"[fans]\nresponse = 0%\n",
       "b.ini:2: [fans] response = '0%' is not a share above 0 (e.g. 10% or "
       "0.10)"},
      {"[fans]\nresponse = ten\n",
       "b.ini:2: [fans] response = 'ten' is not a share above 0 (e.g. 10% or "
       "0.10)"},
      {"[fans]\ncount = six\n", "b.ini:2: [fans] count = 'six' is not a count"},
      {"[fans]\nlabels = A, B\nlabels.2 = C, b\n",
       "b.ini:3: [fans] labels.2: b is listed twice"},
      {"[fans]\nlabels = A\nlabels = B\n",
       "b.ini:3: [fans] labels is set twice (first at line 2)"},
      {"[cpu]\nsockets = 2\n\n[fans]\ncount = 1\nlabels = A, B\n",
       "b.ini:4: [fans] lists 2 labels but count = 1"},
      {"[fans]\nmin_rpm = 900\nmax_rpm = 800\n",
       "b.ini:1: [fans] min_rpm = 900 is above max_rpm = 800"},
      {"[fans]\ncount = 1\n[fans]\n",
       "b.ini:3: [fans] appears twice (first at line 1)"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    struct kiln_spec s;
    char err[256] = "";
    assert_int_equal(kiln_spec_parse(bad[i].text, "b.ini", &s, err, sizeof err),
                     -1);
    assert_string_equal(err, bad[i].err);
  }
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "--probe") == 0)
    return probe_main(argc, argv);
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(spec_fans_section_parses),
      cmocka_unit_test(spec_fans_errors_name_the_line),
      cmocka_unit_test(bad_parameters_are_errors),
      cmocka_unit_test(no_fans_skips_with_the_reason),
      cmocka_unit_test(healthy_board_passes),
      cmocka_unit_test(stalled_fan_fails_naming_it),
      cmocka_unit_test(fan_below_min_fails_naming_it),
      cmocka_unit_test(missing_fan_fails_naming_it),
      cmocka_unit_test(empty_header_not_in_spec_is_not_judged),
      cmocka_unit_test(spec_range_beats_profile_and_hardware),
      cmocka_unit_test(fans_that_speed_up_under_load_pass),
      cmocka_unit_test(fans_that_do_not_respond_fail),
      cmocka_unit_test(a_dip_held_past_the_hold_fails),
      cmocka_unit_test(libsensors_taken_is_an_error),
  };
  return cmocka_run_group_tests_name("fans", tests, start_all, remove_all);
}
