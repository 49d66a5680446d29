#include "report_fixture.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kiln/textutil.h"

/* ---- models ---- */

void fixture_run_header(struct kiln_run *run) {
  kiln_run_init(run);
  run->kiln_version = kiln_xstrdup("0.1.0");
  run->profile = kiln_xstrdup("quick");
  run->profile_source = kiln_xstrdup("built-in");
  run->command_line = kiln_xstrdup("kiln run --profile quick");
  run->report_dir = kiln_xstrdup("kiln-reports/test");
  run->sku = kiln_xstrdup("h100-sxm5-80gb");
  run->planned_seconds = 125;
  run->dut.serial = kiln_xstrdup(FIXTURE_SERIAL);
  run->dut.hostname = kiln_xstrdup("node17");
  run->dut.vendor = kiln_xstrdup("Supermicro");
  run->dut.product = kiln_xstrdup("SYS-821GE-TNHR");
  run->dut.board_serial = kiln_xstrdup("BRD-0042");
  run->dut.bios_vendor = kiln_xstrdup("American Megatrends");
  run->dut.bios_version = kiln_xstrdup("2.1a");
  run->dut.bios_date = kiln_xstrdup("05/14/2025");
  const struct kiln_hw_info gpu = {.id = "gpu:0000:1b:00.0",
                                   .kind = "GPU",
                                   .name = "NVIDIA H100 80GB HBM3",
                                   .location = "0000:1b:00.0",
                                   .serial = FIXTURE_SERIAL,
                                   .manufacturer = "NVIDIA"};
  const struct kiln_hw_info dimm = {.id = "dimm:0:CPU0_DIMM_A1",
                                    .kind = "DIMM",
                                    .name = "64 GiB DDR5 4800 MT/s",
                                    .location = "CPU0_DIMM_A1",
                                    .serial = "80CE01234567",
                                    .part_number = "M321R8GA0BB0-CQKZJ",
                                    .manufacturer = "Samsung"};
  kiln_run_add_hardware(run, &gpu);
  kiln_run_add_hardware(run, &dimm);
  run->start = FIXTURE_T0;
}

/* A step that started at T0 + 10 * its index and ran for 5 s. */
static struct kiln_step_result *started_step(struct kiln_run *run,
                                             const char *id, const char *module,
                                             const char *target) {
  struct kiln_step_result *s = kiln_run_add_step(run, id, module, target, 1);
  s->state = KILN_STEP_RUNNING;
  s->start = FIXTURE_T0 + 10.0 * (double)s->index;
  return s;
}

static double end_of(const struct kiln_step_result *s) { return s->start + 5; }

static const struct kiln_limit at_least_100 = {.has_lo = true, .lo = 100};

static void add_passing_compute(struct kiln_run *run) {
  struct kiln_step_result *s =
      started_step(run, "cpu.compute", "cpu.compute", "host");
  kiln_step_add_measurement(s, "gflops", 123.5, "GFLOP/s", &at_least_100, "cpu",
                            s->start + 1);
  const struct kiln_limit range = {
      .has_lo = true, .lo = 0, .has_hi = true, .hi = 2};
  kiln_step_add_measurement(s, FIXTURE_LABEL, 1.0, "", &range, FIXTURE_SERIAL,
                            s->start + 2);
  kiln_step_add_diagnosis(s, KILN_DIAG_PASS, "cpu-ok", "all cores agree", "",
                          s->start + 3);
  kiln_step_add_log(s, KILN_SEV_INFO, "32 cores tested", s->start + 3);
  kiln_step_finish(s, KILN_PASS, NULL, end_of(s));
}

static void add_skipped_query(struct kiln_run *run) {
  struct kiln_step_result *s =
      started_step(run, "gpu.query[0]", "gpu.query", "0000:01:00.0");
  kiln_step_finish(s, KILN_SKIP, "no NVIDIA driver", end_of(s));
}

void fixture_mixed_run(struct kiln_run *run) {
  fixture_run_header(run);
  add_passing_compute(run);

  struct kiln_step_result *s =
      started_step(run, "dram.pattern", "dram.pattern", "host");
  kiln_step_add_diagnosis(s, KILN_DIAG_FAIL, "dram-bitflip",
                          "bit 3 flipped at 0x7f001234 on DIMM A1", "DIMM_A1",
                          s->start + 2);
  kiln_step_add_log(s, KILN_SEV_ERROR, "pattern mismatch", s->start + 2);
  kiln_step_finish(s, KILN_PASS, NULL, end_of(s));

  s = started_step(run, "gpu.membw[0]", "gpu.membw", "0000:01:00.0");
  const struct kiln_limit floor = {.has_lo = true, .lo = 2500};
  kiln_step_add_measurement(s, "bandwidth", 1200, "GB/s", &floor, "gpu0",
                            s->start + 2);
  kiln_step_add_measurement(s, "latency", NAN, "ns", NULL, "gpu0",
                            s->start + 3);
  kiln_step_finish(s, KILN_PASS, NULL, end_of(s));

  add_skipped_query(run);

  s = started_step(run, "fans", "fans", "host");
  kiln_step_add_log(s, KILN_SEV_WARNING, "sensor read slow", s->start + 1);
  kiln_step_finish(s, KILN_ERROR, "child crashed: SIGSEGV", end_of(s));

  s = started_step(run, "dram.bandwidth", "dram.bandwidth", "host");
  kiln_step_finish(s, KILN_ABORTED, "SIGTERM received", end_of(s));

  kiln_run_add_step(run, "pcie.link", "pcie.link", "host", 2);

  run->end = FIXTURE_T0 + 100;
  run->finished = true;
  run->abort_reason = kiln_xstrdup("SIGTERM received");
  run->verdict = kiln_run_verdict(run);
}

void fixture_passing_run(struct kiln_run *run) {
  fixture_run_header(run);
  add_passing_compute(run);
  add_skipped_query(run);
  struct kiln_step_result *s =
      started_step(run, "cpu.compute[1]", "cpu.compute", "host");
  kiln_step_add_measurement(s, "gflops", 130, "GFLOP/s", &at_least_100, "cpu",
                            s->start + 1);
  kiln_step_finish(s, KILN_PASS, NULL, end_of(s));
  run->end = FIXTURE_T0 + 100;
  run->finished = true;
  run->verdict = kiln_run_verdict(run);
}

/* ---- replay ---- */

static int replay_step(struct kiln_sink *sink, const struct kiln_run *run,
                       const struct kiln_step_result *s) {
  int rc = 0;
  if (s->state == KILN_STEP_PENDING)
    return 0;
  if (sink->step_start)
    rc |= sink->step_start(sink, run, s);
  for (size_t i = 0; i < s->n_measurements && sink->measurement; i++)
    rc |= sink->measurement(sink, run, s, &s->measurements[i]);
  for (size_t i = 0; i < s->n_diagnoses && sink->diagnosis; i++)
    rc |= sink->diagnosis(sink, run, s, &s->diagnoses[i]);
  for (size_t i = 0; i < s->n_logs && sink->log; i++)
    rc |= sink->log(sink, run, s, &s->logs[i]);
  if (s->state == KILN_STEP_DONE && sink->step_end)
    rc |= sink->step_end(sink, run, s);
  return rc ? -1 : 0;
}

int fixture_replay(struct kiln_sink *sink, const struct kiln_run *run) {
  int rc = 0;
  if (sink->run_start)
    rc |= sink->run_start(sink, run);
  for (size_t i = 0; i < run->n_steps; i++)
    rc |= replay_step(sink, run, &run->steps[i]);
  struct kiln_log note = {KILN_SEV_WARNING, "run-level note: " FIXTURE_SERIAL,
                          FIXTURE_T0 + 99};
  if (sink->log)
    rc |= sink->log(sink, run, NULL, &note);
  if (sink->run_end)
    rc |= sink->run_end(sink, run);
  return rc ? -1 : 0;
}

/* ---- files and commands ---- */

char *fixture_tmpdir(void) {
  char *dir = kiln_xstrdup("/tmp/kiln-report-test-XXXXXX");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    abort();
  }
  return dir;
}

void fixture_rmdir(char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    char *path = fixture_path(dir, e->d_name);
    unlink(path);
    free(path);
  }
  if (d)
    closedir(d);
  rmdir(dir);
  free(dir);
}

char *fixture_path(const char *dir, const char *name) {
  return kiln_strdup_printf("%s/%s", dir, name);
}

char *fixture_read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = NULL;
  size_t len = 0, cap = 0, got;
  do {
    if (cap - len < 4096)
      buf = kiln_xrealloc(buf, cap = cap * 2 + 4096);
    got = fread(buf + len, 1, cap - len - 1, f);
    len += got;
  } while (got > 0);
  fclose(f);
  buf[len] = 0;
  return buf;
}

int fixture_command(char **output, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *cmd = NULL;
  if (vasprintf(&cmd, fmt, ap) < 0)
    abort();
  va_end(ap);
  char *full = kiln_strdup_printf("(%s) 2>&1", cmd);
  free(cmd);
  FILE *p = popen(full, "r");
  if (!p) {
    free(full);
    return 127;
  }
  char *text = NULL;
  size_t len = 0;
  FILE *capture = open_memstream(&text, &len);
  char chunk[4096];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, p)) > 0) {
    fwrite(chunk, 1, got, capture);
  }
  fclose(capture);
  int status = pclose(p);
  /* Shown only when it did not succeed; callers judge whether it should. */
  if (status != 0)
    fprintf(stderr, "# %s exited %d:\n%s", full, status, text ? text : "");
  free(full);
  if (output)
    *output = text;
  else
    free(text);
  if (status == -1)
    return 127;
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

int fixture_python(const char *dir, const char *script, const char *file) {
  char *path = fixture_path(dir, "check.py");
  FILE *f = fopen(path, "w");
  if (!f)
    abort();
  fprintf(f, "%s%s", FIXTURE_PY_EXPECTED, script);
  fclose(f);
  const char *python = getenv("KILN_PYTHON");
  int rc = fixture_command(NULL, "%s %s %s",
                           python && python[0] ? python : "/usr/bin/python3",
                           path, file);
  free(path);
  return rc;
}
