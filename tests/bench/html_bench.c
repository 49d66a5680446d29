/* The HTML report on a synthetic 24-hour run: 40 telemetry series of 86,400
 * samples (one a second: 12 temperatures, 12 fans, 8 power, 8 clocks) fed
 * through the sink as the sampler would, interleaved second by second,
 * a monitor step and a dozen test steps (one every two hours), each with
 * measurements, the page rewritten at every step start and end.
 *
 *   html_bench [PATH]     (default: a temporary directory, removed after)
 *
 * Prints "html_bytes N" and "html_write_seconds X" (the final write, at
 * the run end), then the feeding cost and the slowest mid-run rewrite.
 * Targets (tests/bench/run.sh): under 5 MB, under 2 s. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kiln/reports.h"
#include "kiln/textutil.h"

#define N_SERIES 40
#define N_SAMPLES 86400
#define N_STEPS 12
#define T0 1800000000.0

struct bench_series {
  char id[96], name[128];
  struct kiln_series se;
};

static void make_series(struct bench_series *b, size_t i) {
  const char *unit;
  struct kiln_limit limit = {0};
  if (i < 12) {
    snprintf(b->id, sizeof b->id, "sensors/coretemp-isa-%04zx/temp%zu", i / 4,
             i % 4 + 1);
    unit = "C";
    limit = (struct kiln_limit){.has_hi = true, .hi = 95};
  } else if (i < 24) {
    snprintf(b->id, sizeof b->id, "ipmi/fan%zu", i - 11);
    unit = "RPM";
    limit = (struct kiln_limit){.has_lo = true, .lo = 400};
  } else if (i < 32) {
    snprintf(b->id, sizeof b->id, "nvml/gpu%zu/power", i - 24);
    unit = "W";
    limit = (struct kiln_limit){.has_hi = true, .hi = 700};
  } else {
    snprintf(b->id, sizeof b->id, "nvml/gpu%zu/sm_clock", i - 32);
    unit = "MHz";
  }
  snprintf(b->name, sizeof b->name, "sensor %zu (%s)", i, b->id);
  b->se = (struct kiln_series){
      .id = b->id, .name = b->name, .unit = unit, .hwid = "", .limit = limit};
}

/* Plausible readings with noise, so no bucket is flat. */
static double reading(size_t series, size_t t) {
  double phase = (double)t / 3600.0 + (double)series;
  double noise = (double)((t * 2654435761u + series * 40503u) % 1000) / 1000.0;
  if (series < 12)
    return 60 + 15 * sin(phase) + 3 * noise;
  if (series < 24)
    return 3000 + 800 * sin(phase) + 100 * noise;
  if (series < 32)
    return 450 + 200 * sin(phase) + 30 * noise;
  return 1755 - 300 * (noise > 0.97);
}

static void die(const char *what, const char *err) {
  fprintf(stderr, "html_bench: %s: %s\n", what, err);
  exit(2);
}

int main(int argc, char **argv) {
  char dir[] = "/tmp/kiln-html-bench-XXXXXX";
  char *path;
  if (argc > 1) {
    path = kiln_xstrdup(argv[1]);
  } else {
    if (!mkdtemp(dir))
      die("mkdtemp", "cannot make a temporary directory");
    path = kiln_strdup_printf("%s/report.html", dir);
  }

  struct kiln_run run;
  kiln_run_init(&run);
  run.kiln_version = kiln_xstrdup("bench");
  run.profile = kiln_xstrdup("burnin");
  run.profile_source = kiln_xstrdup("built-in");
  run.command_line = kiln_xstrdup("kiln run --profile burnin");
  run.report_dir = kiln_xstrdup("bench");
  run.dut.serial = kiln_xstrdup("BENCH-0001");
  run.dut.hostname = kiln_xstrdup("bench-node");
  run.start = T0;
  kiln_run_add_step(&run, "thermal", "thermal", "host", 0);
  for (size_t i = 0; i < N_STEPS; i++) {
    char id[32];
    snprintf(id, sizeof id, "gpu.membw[%zu]", i);
    kiln_run_add_step(&run, id, "gpu.membw", "0000:1b:00.0", 1);
  }

  char err[256] = "";
  struct kiln_sink *sink = kiln_html_sink_open(path, err, sizeof err);
  if (!sink)
    die("open", err);
  static struct bench_series series[N_SERIES];
  for (size_t i = 0; i < N_SERIES; i++)
    make_series(&series[i], i);

  double feed = 0, worst_rewrite = 0;
  double t = kiln_monotonic_now();
  if (sink->run_start(sink, &run) != 0)
    die("run start", sink->err);
  struct kiln_step_result *monitor = &run.steps[0];
  monitor->state = KILN_STEP_RUNNING;
  monitor->start = T0;
  for (size_t i = 0; i < N_SERIES; i++)
    sink->series_start(sink, &run, monitor, &series[i].se);
  const size_t per_step = N_SAMPLES / N_STEPS;
  const struct kiln_limit floor = {.has_lo = true, .lo = 2500};
  for (size_t k = 0; k < N_STEPS; k++) {
    struct kiln_step_result *s = &run.steps[k + 1];
    s->state = KILN_STEP_RUNNING;
    s->start = T0 + (double)(k * per_step);
    double w = kiln_monotonic_now();
    if (sink->step_start(sink, &run, s) != 0)
      die("step start", sink->err);
    worst_rewrite = fmax(worst_rewrite, kiln_monotonic_now() - w);
    double f = kiln_monotonic_now();
    for (size_t sec = k * per_step; sec < (k + 1) * per_step; sec++)
      for (size_t i = 0; i < N_SERIES; i++) {
        sink->series_element(sink, &run, monitor, &series[i].se,
                             reading(i, sec), T0 + (double)sec);
        series[i].se.count++;
      }
    feed += kiln_monotonic_now() - f;
    for (size_t g = 0; g < 8; g++) {
      char name[32];
      snprintf(name, sizeof name, "bandwidth_gpu%zu", g);
      kiln_step_add_measurement(s, name, k == 5 && g == 3 ? 1800 : 3100, "GB/s",
                                &floor, "gpu0", s->start + 60);
    }
    kiln_step_add_log(s, KILN_SEV_INFO, "bench step", s->start + 1);
    kiln_step_finish(s, KILN_PASS, NULL, T0 + (double)((k + 1) * per_step));
    w = kiln_monotonic_now();
    if (sink->step_end(sink, &run, s) != 0)
      die("step end", sink->err);
    worst_rewrite = fmax(worst_rewrite, kiln_monotonic_now() - w);
  }
  for (size_t i = 0; i < N_SERIES; i++)
    if (sink->series_end)
      sink->series_end(sink, &run, monitor, &series[i].se);
  kiln_step_finish(monitor, KILN_PASS, NULL, T0 + N_SAMPLES);
  run.end = T0 + N_SAMPLES;
  run.finished = true;
  run.verdict = kiln_run_verdict(&run);

  double w = kiln_monotonic_now();
  if (sink->run_end(sink, &run) != 0)
    die("run end", sink->err);
  double final_write = kiln_monotonic_now() - w;
  double total = kiln_monotonic_now() - t;

  struct stat st;
  if (stat(path, &st) != 0)
    die(path, "not written");
  printf("html_bytes %lld\n", (long long)st.st_size);
  printf("html_write_seconds %.3f\n", final_write);
  printf("html_series %d\nhtml_samples_per_series %d\n", N_SERIES, N_SAMPLES);
  printf("html_feed_seconds %.3f (%.1f ns a sample)\n", feed,
         feed / ((double)N_SERIES * N_SAMPLES) * 1e9);
  printf("html_worst_rewrite_seconds %.3f\n", worst_rewrite);
  printf("html_total_seconds %.3f\n", total);

  sink->close(sink);
  kiln_run_free(&run);
  if (argc <= 1) {
    unlink(path);
    rmdir(dir);
  }
  free(path);
  return 0;
}
