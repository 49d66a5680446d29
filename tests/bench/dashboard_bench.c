/* The dashboard's cost: drives the dashboard sink with a synthetic run (16
 * steps all running, 40 telemetry series, each sampled once a second, a
 * progress event and a live measurement per step per second, a log line a
 * second and a warning every five) on a pseudo-terminal of 120x40, and
 * prints the CPU share of the process that draws it (getrusage), e.g.
 *
 *   dashboard_cpu_percent 0.42
 *
 * The target: under 1% of one core. The parent only reads the terminal's
 * output, as a terminal would, and reports how many bytes a second the
 * dashboard wrote (what "redraws only what changed" saves).
 *
 *   build/bench/dashboard_bench [--seconds N] [--size COLSxROWS] [--here]
 *
 * --here draws on this terminal instead (to look at it; the figure then
 * goes to stderr once the dashboard has left the screen).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kiln/bus.h"
#include "kiln/textutil.h"
#include "ui/dashboard.h"

#define N_STEPS 16
#define N_SERIES 40

static double cpu_seconds(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    return 0;
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void sleep_until(double mono) {
  double now = kiln_monotonic_now();
  if (mono <= now)
    return;
  double d = mono - now;
  struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

struct fake_series {
  char id[96], name[128];
  struct kiln_series se;
  double base;
};

/* The child: the dashboard on the pty, fed like kiln's runner feeds it. */
static int run_dashboard(double seconds, int result_fd) {
  char err[256];
  struct kiln_sink *dash = kiln_dashboard_open(err, sizeof err);
  if (!dash) {
    dprintf(result_fd, "error %s\n", err);
    return 2;
  }
  struct kiln_bus bus;
  kiln_bus_init(&bus, stderr);
  kiln_bus_add(&bus, dash);

  struct kiln_run run;
  kiln_run_init(&run);
  run.kiln_version = kiln_xstrdup("bench");
  run.profile = kiln_xstrdup("burnin");
  run.profile_source = kiln_xstrdup("built-in");
  run.command_line = kiln_xstrdup("dashboard_bench");
  run.report_dir = kiln_xstrdup("/nonexistent");
  run.dut.serial = kiln_xstrdup("SN-BENCH-0001");
  run.dut.hostname = kiln_xstrdup("bench");
  run.dut.vendor = kiln_xstrdup("Example");
  run.dut.product = kiln_xstrdup("HGX 8-GPU");
  run.dut.board_serial = kiln_xstrdup("");
  run.dut.bios_vendor = kiln_xstrdup("");
  run.dut.bios_version = kiln_xstrdup("");
  run.dut.bios_date = kiln_xstrdup("");
  static const char *const modules[] = {"gpu.membw", "gpu.compute"};
  for (int i = 0; i < N_STEPS; i++) {
    char id[64], target[32];
    const char *module = modules[i / 8];
    snprintf(target, sizeof target, "0000:%02x:00.0", 0x18 + 0x10 * (i % 8));
    snprintf(id, sizeof id, "%s[%d]", module, i % 8);
    struct kiln_step_result *s = kiln_run_add_step(&run, id, module, target, 1);
    s->key_measurement =
        kiln_xstrdup(i < 8 ? "bandwidth_gbps" : "tflops_per_s");
  }
  static struct fake_series fs[N_SERIES];
  for (int i = 0; i < N_SERIES; i++) {
    struct fake_series *f = &fs[i];
    const char *unit;
    struct kiln_limit lim = {0};
    if (i < 8) {
      unit = "C";
      snprintf(f->name, sizeof f->name, "GPU%d temperature (nvml/gpu%d/temp)",
               i, i);
      lim = (struct kiln_limit){.has_hi = true, .hi = 87};
      f->base = 60;
    } else if (i < 16) {
      unit = "W";
      snprintf(f->name, sizeof f->name, "GPU%d power (nvml/gpu%d/power)", i - 8,
               i - 8);
      f->base = 600;
    } else if (i < 24) {
      unit = "MHz";
      snprintf(f->name, sizeof f->name, "GPU%d SM clock (nvml/gpu%d/sm)",
               i - 16, i - 16);
      f->base = 1980;
    } else if (i < 28) {
      unit = "C";
      snprintf(f->name, sizeof f->name, "Package id %d (coretemp/temp%d)",
               i - 24, i - 24);
      lim = (struct kiln_limit){.has_hi = true, .hi = 100};
      f->base = 70;
    } else {
      unit = "RPM";
      snprintf(f->name, sizeof f->name, "FAN%d (ipmi/fan%d)", i - 27, i - 27);
      lim = (struct kiln_limit){
          .has_lo = true, .lo = 2000, .has_hi = true, .hi = 18000};
      f->base = 9000;
    }
    snprintf(f->id, sizeof f->id, "bench/series%d", i);
    f->se = (struct kiln_series){
        .id = f->id, .name = f->name, .unit = unit, .hwid = "", .limit = lim};
  }

  run.start = kiln_now();
  kiln_bus_run_start(&bus, &run);
  for (int i = 0; i < N_STEPS; i++) {
    run.steps[i].state = KILN_STEP_RUNNING;
    run.steps[i].start = kiln_now();
    kiln_bus_step_start(&bus, &run, &run.steps[i]);
  }
  for (int i = 0; i < N_SERIES; i++)
    kiln_bus_series_start(&bus, &run, &run.steps[0], &fs[i].se);

  double t0 = kiln_monotonic_now(), cpu0 = cpu_seconds();
  double next_second = t0;
  long second = 0;
  /* The runner's loop: a tick at least every 250 ms. */
  for (double t = t0; t < t0 + seconds; t += 0.25) {
    sleep_until(t);
    if (kiln_monotonic_now() >= next_second) {
      next_second += 1;
      second++;
      double now = kiln_now();
      for (int i = 0; i < N_SERIES; i++) {
        double v =
            fs[i].base * (1 + 0.05 * ((second * 7 + i * 3) % 11 - 5) / 5.0);
        kiln_bus_series_element(&bus, &run, &run.steps[0], &fs[i].se, v, now);
        fs[i].se.count++;
      }
      for (int i = 0; i < N_STEPS; i++) {
        struct kiln_step_result *s = &run.steps[i];
        s->progress = (double)second / seconds;
        kiln_bus_progress(&bus, &run, s);
        struct kiln_limit lim = {.has_lo = true, .lo = i < 8 ? 2500 : 400};
        struct kiln_measurement *m = kiln_step_add_measurement(
            s, s->key_measurement, (i < 8 ? 3000 : 700) + second % 13,
            i < 8 ? "GB/s" : "TFLOP/s", &lim, "", now);
        kiln_bus_measurement(&bus, &run, s, m);
      }
      struct kiln_step_result *s = &run.steps[second % N_STEPS];
      enum kiln_severity sev =
          second % 5 == 0 ? KILN_SEV_WARNING : KILN_SEV_INFO;
      char msg[128];
      snprintf(msg, sizeof msg, "pass %ld over %s: no errors", second, s->id);
      struct kiln_log *l = kiln_step_add_log(s, sev, msg, now);
      kiln_bus_log(&bus, &run, s, l);
    }
    if (kiln_dashboard_tick(dash))
      break;
  }
  double wall = kiln_monotonic_now() - t0, cpu = cpu_seconds() - cpu0;

  for (int i = 0; i < N_SERIES; i++)
    kiln_bus_series_end(&bus, &run, &run.steps[0], &fs[i].se);
  for (int i = 0; i < N_STEPS; i++) {
    kiln_step_finish(&run.steps[i], KILN_PASS, NULL, kiln_now());
    kiln_bus_step_end(&bus, &run, &run.steps[i]);
  }
  run.end = kiln_now();
  run.verdict = kiln_run_verdict(&run);
  run.finished = true;
  kiln_bus_run_end(&bus, &run);
  kiln_bus_close(&bus);
  kiln_run_free(&run);
  dprintf(result_fd,
          "dashboard_cpu_seconds %.3f\ndashboard_wall_seconds %.1f\n"
          "dashboard_cpu_percent %.3f\n",
          cpu, wall, wall > 0 ? 100 * cpu / wall : 0);
  return 0;
}

int main(int argc, char **argv) {
  double seconds = 30;
  unsigned short cols = 120, rows = 40;
  bool here = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--here") == 0) {
      here = true;
    } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
      seconds = atof(argv[++i]);
    } else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
      unsigned c, r;
      if (sscanf(argv[++i], "%ux%u", &c, &r) != 2 || c < 20 || r < 5 ||
          c > 1000 || r > 1000) {
        fprintf(stderr, "dashboard_bench: --size COLSxROWS, e.g. 80x24\n");
        return 64;
      }
      cols = (unsigned short)c;
      rows = (unsigned short)r;
    } else {
      fprintf(stderr, "usage: dashboard_bench [--seconds N] [--size COLSxROWS] "
                      "[--here]\n");
      return 64;
    }
  }
  if (seconds <= 0)
    seconds = 30;
  if (here)
    return run_dashboard(seconds, STDERR_FILENO);

  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
    perror("dashboard_bench: pty");
    return 2;
  }
  struct winsize ws = {.ws_row = rows, .ws_col = cols};
  ioctl(master, TIOCSWINSZ, &ws);
  const char *slave_name = ptsname(master);
  int res[2];
  if (!slave_name || pipe(res) != 0) {
    perror("dashboard_bench");
    return 2;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("dashboard_bench: fork");
    return 2;
  }
  if (pid == 0) {
    close(res[0]);
    setsid();
    int slave = open(slave_name, O_RDWR);
    if (slave < 0)
      _exit(2);
    ioctl(slave, TIOCSCTTY, 0);
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    if (slave > 2)
      close(slave);
    close(master);
    const char *term = getenv("TERM");
    if (!term || !term[0] || strcmp(term, "dumb") == 0)
      setenv("TERM", "xterm-256color", 1);
    _exit(run_dashboard(seconds, res[1]));
  }
  close(res[1]);

  /* Be the terminal: read everything the dashboard draws. */
  size_t bytes = 0;
  char buf[65536], result[1024];
  size_t rlen = 0;
  bool result_open = true, tty_open = true;
  while (result_open || tty_open) {
    struct pollfd p[2] = {{.fd = tty_open ? master : -1, .events = POLLIN},
                          {.fd = result_open ? res[0] : -1, .events = POLLIN}};
    if (poll(p, 2, 1000) < 0 && errno != EINTR)
      break;
    if (p[0].revents) {
      ssize_t r = read(master, buf, sizeof buf);
      if (r > 0)
        bytes += (size_t)r;
      else
        tty_open = false; /* EIO once the child has gone */
    }
    if (p[1].revents) {
      ssize_t r = read(res[0], result + rlen, sizeof result - 1 - rlen);
      if (r > 0)
        rlen += (size_t)r;
      else
        result_open = false;
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result[rlen] = 0;
  fputs(result, stdout);
  printf("dashboard_tty_bytes_per_second %.0f\n", bytes / seconds);
  printf("dashboard_terminal %ux%u, %d steps, %d series, %.0f s\n", cols, rows,
         N_STEPS, N_SERIES, seconds);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
      !strstr(result, "dashboard_cpu_percent")) {
    fprintf(stderr, "dashboard_bench: the dashboard did not run\n");
    return 2;
  }
  return 0;
}
