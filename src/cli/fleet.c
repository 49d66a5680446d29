/* `kiln fleet run|submit|status`: kiln on every node of a Slurm
 * allocation (src/fleet/), followed one line per node, merged at the end.
 *
 *   run [selection] [--fleet-dir DIR] [--kiln PATH] [--upload URL] -- ARGS
 *       srun now; the nodes' lines as they move; the merge's exit code
 *   submit (the same options): an sbatch script in DIR that runs `kiln
 *       fleet run` in the job; prints the job id
 *   status JOBID|DIR: each node's line now, and the merge once it ended
 *
 * Bad input (an unknown option, no srun or sbatch on PATH, --kiln not
 * executable, DIR not writable or holding an earlier fleet run) is one line
 * and exit 64 before anything is submitted. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "fleet/fleet.h"
#include "kiln/merge.h"
#include "kiln/textutil.h"
#include "upload/upload.h"

struct fleet_args {
  struct kiln_fleet_options o;
  const char *dir_arg, *kiln_arg;
};

static const struct option fleet_options[] = {
    {"nodes", required_argument, 0, 'N'},
    {"nodelist", required_argument, 0, 'w'},
    {"partition", required_argument, 0, 'p'},
    {"time", required_argument, 0, 't'},
    {"account", required_argument, 0, 'A'},
    {"fleet-dir", required_argument, 0, 'd'},
    {"kiln", required_argument, 0, 'k'},
    {"upload", required_argument, 0, 'u'},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

static int take_fleet_option(int c, const char *value, void *ctx) {
  struct fleet_args *a = ctx;
  char err[600];
  switch (c) {
  case 'N': {
    char *end;
    errno = 0;
    long count = strtol(value, &end, 10);
    if (*end || errno || count < 1 || count > 1000000) {
      fprintf(stderr, "kiln: fleet: -N '%s': not a node count (1 or more)\n",
              value);
      return -1;
    }
    a->o.nodes = value;
    break;
  }
  case 'w': a->o.nodelist = value; break;
  case 'p': a->o.partition = value; break;
  case 't': a->o.time_limit = value; break;
  case 'A': a->o.account = value; break;
  case 'd': a->dir_arg = value; break;
  case 'k': a->kiln_arg = value; break;
  case 'u':
    if (kiln_upload_check_url(value, err, sizeof err) != 0) {
      fprintf(stderr, "kiln: fleet: --upload %s\n", err);
      return -1;
    }
    a->o.upload = value;
    break;
  }
  return 0;
}

/* The fleet directory: --fleet-dir or kiln-fleet/<UTC time>, made, absolute,
 * writable and not holding an earlier fleet run. malloc'd, or NULL after
 * saying why. */
static char *fleet_dir(const char *arg) {
  char *dir;
  if (arg) {
    dir = kiln_xstrdup(arg);
  } else {
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    dir = kiln_strdup_printf("kiln-fleet/%s", stamp);
  }
  if (strchr(dir, '%')) { /* srun's --output pattern would take it */
    fprintf(stderr, "kiln: fleet: --fleet-dir '%s': a '%%' cannot be in it\n",
            dir);
    free(dir);
    return NULL;
  }
  char real[PATH_MAX], why[512];
  if (kiln_make_dirs(dir, NULL, why, sizeof why) != 0) {
    fprintf(stderr, "kiln: fleet: --fleet-dir %s: %s\n", dir, why);
    free(dir);
    return NULL;
  }
  if (!realpath(dir, real) || access(real, W_OK) != 0) {
    fprintf(stderr, "kiln: fleet: %s: %s\n", dir, strerror(errno));
    free(dir);
    return NULL;
  }
  char *earlier = kiln_strdup_printf("%s/slurm/srun.log", real);
  bool used = access(earlier, F_OK) == 0;
  free(earlier);
  if (used) {
    fprintf(stderr,
            "kiln: fleet: %s holds an earlier fleet run (slurm/srun.log): "
            "give another --fleet-dir\n",
            dir);
    free(dir);
    return NULL;
  }
  free(dir);
  return kiln_xstrdup(real);
}

/* This program's own path (the default --kiln), or --kiln checked. */
static char *kiln_path(const char *arg) {
  char real[PATH_MAX];
  if (!arg) {
    ssize_t len = readlink("/proc/self/exe", real, sizeof real - 1);
    if (len <= 0) {
      fprintf(stderr, "kiln: fleet: cannot find this kiln's path: give "
                      "--kiln PATH\n");
      return NULL;
    }
    real[len] = '\0';
    return kiln_xstrdup(real);
  }
  struct stat st;
  if (stat(arg, &st) != 0 || !S_ISREG(st.st_mode) || access(arg, X_OK) != 0 ||
      !realpath(arg, real)) {
    fprintf(stderr, "kiln: fleet: --kiln %s: not an executable file\n", arg);
    return NULL;
  }
  return kiln_xstrdup(real);
}

/* Options, then "--" and kiln run's options; false after saying why. */
static bool parse_fleet(int argc, char **argv, struct fleet_args *a, int *rc) {
  int parsed = cli_parse_options_words(argc, argv, "+:N:w:p:t:A:d:k:u:h",
                                       fleet_options, "", take_fleet_option, a);
  *rc = parsed == CLI_HELP ? 0 : EXIT_USAGE;
  if (parsed != 0)
    return false;
  if (optind < argc && (optind < 2 || strcmp(argv[optind - 1], "--") != 0)) {
    fprintf(stderr,
            "kiln: fleet %s: unexpected word '%s' (kiln run's options go "
            "after --)\n",
            argv[0], argv[optind]);
    return false;
  }
  a->o.run_args = argv + optind;
  a->o.n_run_args = (size_t)(argc - optind);
  return true;
}

/* ---- what the terminal shows ---- */

struct view {
  bool tty;
  double start; /* monotonic */
  size_t drawn; /* lines of the table on the terminal */
  struct kiln_fleet *f;
  bool all_started;
};

static void node_text(const struct kiln_fleet_node *node, char *buf, size_t n) {
  const char *state = kiln_fleet_state_name(node->state);
  if (node->state == KILN_FLEET_LOST) {
    snprintf(buf, n, "%-8s %-8s %s", node->name, state, node->lost_reason);
    return;
  }
  snprintf(buf, n, "%-8s %-8s %-24s %s%s", node->name, state,
           node->step ? node->step : "-",
           node->state == KILN_FLEET_DONE ? "verdict " : "so far ",
           node->judged ? kiln_verdict_name(node->verdict) : "-");
}

static void erase_table(struct view *v) {
  if (v->tty && v->drawn) {
    printf("\033[%zuA\033[J", v->drawn);
    v->drawn = 0;
  }
}

static void draw_table(struct view *v) {
  if (!v->tty || !v->f)
    return;
  erase_table(v);
  char line[1024];
  for (size_t i = 0; i < kiln_fleet_n_nodes(v->f); i++) {
    node_text(kiln_fleet_node(v->f, i), line, sizeof line);
    char *shown = kiln_escape_controls(line);
    printf("%s\033[K\n", shown);
    free(shown);
    v->drawn++;
  }
  fflush(stdout);
}

static void say_line(struct view *v, const char *text) {
  erase_table(v);
  char *shown = kiln_escape_controls(text);
  printf("[%6.1fs] %s\n", kiln_monotonic_now() - v->start, shown);
  free(shown);
  draw_table(v);
  fflush(stdout);
}

static void on_change(void *ctx, const struct kiln_fleet_node *node,
                      const char *text) {
  struct view *v = ctx;
  if (!node) {
    say_line(v, text);
    return;
  }
  if (!v->tty) {
    char line[1024];
    node_text(node, line, sizeof line);
    say_line(v, line);
  }
}

static void on_merge_say(void *ctx, const char *line) {
  char *text = kiln_strdup_printf("merge: %s", line);
  say_line(ctx, text);
  free(text);
}

/* Says once when every node's first step has started, and how long after
 * the command (the fleet's start-up cost). */
static void check_started(struct view *v, double command_time) {
  size_t n = kiln_fleet_n_nodes(v->f);
  if (v->all_started || n == 0)
    return;
  double last = 0;
  for (size_t i = 0; i < n; i++) {
    double t = kiln_fleet_node(v->f, i)->first_step_time;
    if (t <= 0)
      return;
    if (t > last)
      last = t;
  }
  v->all_started = true;
  char text[128];
  snprintf(text, sizeof text,
           "every node's first step started %.2fs after the command",
           last - command_time);
  say_line(v, text);
}

static volatile sig_atomic_t stop_signal;
static void on_stop_signal(int sig) { stop_signal = sig; }

static int fleet_run(struct fleet_args *a) {
  double command_time = kiln_now();
  struct sigaction sa = {.sa_handler = on_stop_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  /* The operator's session going away does not stop the nodes. */
  signal(SIGHUP, SIG_IGN);
  char err[1024] = ""; /* kiln_merge sets it only on a failure */
  struct view v = {.tty = isatty(STDOUT_FILENO) == 1,
                   .start = kiln_monotonic_now()};
  char *text = kiln_strdup_printf("kiln fleet: reports in %s", a->o.dir);
  say_line(&v, text);
  free(text);
  struct kiln_fleet *f = kiln_fleet_start(&a->o, err, sizeof err);
  if (!f) {
    fprintf(stderr, "kiln: fleet: %s\n", err);
    return EXIT_ENV;
  }
  v.f = f;
  int cancelled = 0;
  double drawn_at = 0;
  while (!kiln_fleet_poll(f, on_change, &v)) {
    if (stop_signal) {
      bool again = cancelled != 0;
      cancelled = stop_signal;
      stop_signal = 0;
      text = kiln_strdup_printf(
          again ? "%s received again: cancelling the job (Slurm kills what is "
                  "left after its KillWait)"
                : "%s received: every node's run is told to end (ABORTED, "
                  "its reports written)",
          strsignal(cancelled));
      say_line(&v, text);
      free(text);
      kiln_fleet_cancel(f, again);
    }
    check_started(&v, command_time);
    double now = kiln_monotonic_now();
    if (v.tty && now - drawn_at >= 1.0) {
      draw_table(&v);
      drawn_at = now;
    }
    struct timespec pause = {0, 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  check_started(&v, command_time);
  draw_table(&v);
  v.tty = false; /* the table stays; what follows goes under it */
  v.drawn = 0;
  enum kiln_verdict merged = KILN_ERROR;
  int rc = kiln_fleet_merge(f, on_merge_say, &v, &merged, err, sizeof err);
  if (rc == EXIT_USAGE || (rc != 0 && *err)) {
    fprintf(stderr, "kiln: fleet: %s\n", err);
    if (rc == EXIT_USAGE)
      rc = EXIT_ENV;
  }
  if (cancelled && rc == 0)
    rc = EXIT_ENV;
  char *verdict_file = kiln_strdup_printf("%s/slurm/exit", a->o.dir);
  FILE *vf = fopen(verdict_file, "w");
  if (vf) {
    fprintf(vf, "%d\n", rc);
    fclose(vf);
  }
  free(verdict_file);
  if (cancelled && (merged == KILN_PASS || merged == KILN_SKIP))
    merged = KILN_ABORTED;
  if (kiln_fleet_n_nodes(f) == 0)
    printf("verdict: %s (exit %d); no node ran, nothing merged (%s)\n",
           kiln_verdict_name(merged), rc, a->o.dir);
  else
    printf("verdict: %s (exit %d); merged reports in %s\n",
           kiln_verdict_name(merged), rc, a->o.dir);
  kiln_fleet_free(f);
  return rc;
}

/* ---- submit ---- */

/* s as one shell word, single-quoted. */
static void quoted(FILE *f, const char *s) {
  fputc('\'', f);
  for (const char *p = s; *p; p++)
    fputs(*p == '\'' ? "'\\''" : (char[]){*p, 0}, f);
  fputc('\'', f);
}

static void sbatch_opt(FILE *f, const char *name, const char *value) {
  if (value)
    fprintf(f, "#SBATCH --%s=%s\n", name, value);
}

/* Runs argv (argv[0] a path) with its standard output read into out (at
 * most cap - 1 bytes kept, NUL-terminated; the rest read and dropped, so
 * the command never blocks on a full pipe). Its exit status, or -1 when it
 * could not run or was killed. */
static int command_output(char *const argv[], char *out, size_t cap) {
  out[0] = '\0';
  int fd[2];
  if (pipe(fd) != 0)
    return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd[1], STDOUT_FILENO);
    close(fd[0]);
    close(fd[1]);
    execv(argv[0], argv);
    _exit(127);
  }
  close(fd[1]);
  size_t got = 0;
  char drop[4096];
  ssize_t r;
  while (pid > 0) {
    bool room = got < cap - 1;
    r = room ? read(fd[0], out + got, cap - 1 - got)
             : read(fd[0], drop, sizeof drop);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    if (room)
      got += (size_t)r;
  }
  out[got] = '\0';
  close(fd[0]);
  int status;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
    return -1;
  return WEXITSTATUS(status);
}

static int fleet_submit(struct fleet_args *a) {
  char *sbatch = kiln_fleet_which("sbatch");
  if (!sbatch) {
    fprintf(stderr, "kiln: fleet submit: no sbatch on PATH (Debian: "
                    "slurm-client)\n");
    return EXIT_USAGE;
  }
  char *self = kiln_path(NULL);
  char *script = kiln_strdup_printf("%s/fleet.sbatch", a->o.dir);
  char *slurm_dir = kiln_strdup_printf("%s/slurm", a->o.dir);
  char why[512] = "";
  FILE *f = self && kiln_make_dirs(slurm_dir, NULL, why, sizeof why) == 0
                ? fopen(script, "w")
                : NULL;
  if (!f) {
    if (why[0])
      fprintf(stderr, "kiln: fleet submit: %s\n", why);
    else
      fprintf(stderr, "kiln: fleet submit: %s: %s\n", script, strerror(errno));
    free(sbatch), free(self), free(script), free(slurm_dir);
    return EXIT_ENV;
  }
  fprintf(f, "#!/bin/sh\n# kiln fleet: written by `kiln fleet submit`\n");
  fprintf(f, "#SBATCH --job-name=kiln-fleet\n");
  fprintf(f, "#SBATCH --comment=kiln-fleet:%s\n", a->o.dir);
  fprintf(f, "#SBATCH --output=%s/slurm/fleet.log\n", a->o.dir);
  fprintf(f, "#SBATCH --ntasks-per-node=1\n#SBATCH --exclusive\n");
  sbatch_opt(f, "nodes", a->o.nodes);
  sbatch_opt(f, "nodelist", a->o.nodelist);
  sbatch_opt(f, "partition", a->o.partition);
  sbatch_opt(f, "time", a->o.time_limit);
  sbatch_opt(f, "account", a->o.account);
  fputs("exec ", f);
  quoted(f, self);
  fputs(" fleet run --fleet-dir ", f);
  quoted(f, a->o.dir);
  fputs(" --kiln ", f);
  quoted(f, a->o.kiln);
  if (a->o.upload) {
    fputs(" --upload ", f);
    quoted(f, a->o.upload);
  }
  fputs(" --", f);
  for (size_t i = 0; i < a->o.n_run_args; i++) {
    fputc(' ', f);
    quoted(f, a->o.run_args[i]);
  }
  fputc('\n', f);
  bool written = fclose(f) == 0;
  free(self);
  free(slurm_dir);
  if (!written) {
    fprintf(stderr, "kiln: fleet submit: %s: %s\n", script, strerror(errno));
    free(sbatch), free(script);
    return EXIT_ENV;
  }
  char *cmd[] = {sbatch, "--parsable", script, NULL};
  char answer[256];
  bool ok = command_output(cmd, answer, sizeof answer) == 0;
  answer[strcspn(answer, ";\n")] = '\0';
  int rc = 0;
  if (!ok || !*answer) {
    fprintf(stderr, "kiln: fleet submit: sbatch %s failed (its error above)\n",
            script);
    rc = EXIT_ENV;
  } else {
    printf("%s\n", answer);
    fflush(stdout);
    fprintf(stderr,
            "kiln fleet: submitted job %s (%s); reports in %s; follow it "
            "with: kiln fleet status %s\n",
            answer, script, a->o.dir, answer);
  }
  free(sbatch);
  free(script);
  return rc;
}

/* ---- status ---- */

/* The fleet directory of job id (its comment, "kiln-fleet:DIR") and
 * whether it has ended, from scontrol; NULL after saying why. */
static char *job_dir(const char *id, bool *ended) {
  char *scontrol = kiln_fleet_which("scontrol");
  if (!scontrol) {
    fprintf(stderr, "kiln: fleet status: no scontrol on PATH (Debian: "
                    "slurm-client)\n");
    return NULL;
  }
  char *cmd[] = {scontrol, "-o", "show", "job", (char *)id, NULL};
  char text[16384];
  command_output(cmd, text, sizeof text);
  free(scontrol);
  const char *c = strstr(text, "Comment=kiln-fleet:");
  if (!c) {
    fprintf(stderr,
            "kiln: fleet status: job %s is not a kiln fleet job Slurm still "
            "knows: give its fleet directory (kiln fleet status DIR)\n",
            id);
    return NULL;
  }
  c += strlen("Comment=kiln-fleet:");
  const char *state = strstr(text, "JobState=");
  *ended = !state || !(strncmp(state + 9, "RUNNING", 7) == 0 ||
                       strncmp(state + 9, "PENDING", 7) == 0 ||
                       strncmp(state + 9, "CONFIGURING", 11) == 0 ||
                       strncmp(state + 9, "COMPLETING", 10) == 0 ||
                       strncmp(state + 9, "SUSPENDED", 9) == 0);
  return kiln_strdup_printf("%.*s", (int)strcspn(c, " \n"), c);
}

static int fleet_status(int argc, char **argv) {
  if (argc == 2 &&
      (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    cli_usage(stdout);
    return 0;
  }
  if (argc != 2 || !*argv[1]) {
    fprintf(stderr, "kiln: fleet status needs one JOBID or fleet DIR\n");
    return EXIT_USAGE;
  }
  const char *word = argv[1];
  bool ended = true;
  char *dir = strspn(word, "0123456789") == strlen(word) ? job_dir(word, &ended)
                                                         : kiln_xstrdup(word);
  if (!dir)
    return EXIT_USAGE;
  char err[1024];
  struct kiln_fleet *f = kiln_fleet_look(dir, err, sizeof err);
  if (!f) {
    fprintf(stderr, "kiln: fleet status: %s\n", err);
    free(dir);
    return EXIT_USAGE;
  }
  char line[1024];
  for (size_t i = 0; i < kiln_fleet_n_nodes(f); i++) {
    node_text(kiln_fleet_node(f, i), line, sizeof line);
    char *shown = kiln_escape_controls(line);
    printf("%s\n", shown);
    free(shown);
  }
  kiln_fleet_free(f);
  int rc = 0;
  if (!ended) {
    printf("job %s is still running; reports in %s\n", word, dir);
  } else {
    char *path = kiln_strdup_printf("%s/slurm/exit", dir);
    char *code = kiln_read_text_file(path, 64, "an exit code", err, sizeof err);
    free(path);
    path = kiln_strdup_printf("%s/summary.txt", dir);
    char *summary =
        code ? kiln_read_text_file(path, 1 << 24, "a summary", err, sizeof err)
             : NULL;
    free(path);
    if (summary) {
      fputs(summary, stdout);
      rc = atoi(code);
      printf("merged: exit %d; reports in %s\n", rc, dir);
    } else {
      printf("the fleet run left no merge: merge it with kiln merge %s/*/ "
             "--report-dir %s\n",
             dir, dir);
      rc = EXIT_ENV;
    }
    free(code);
    free(summary);
  }
  free(dir);
  return rc;
}

int cmd_fleet(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "kiln: fleet needs run, submit or status (see kiln "
                    "--help)\n");
    return EXIT_USAGE;
  }
  const char *what = argv[1];
  if (strcmp(what, "--help") == 0 || strcmp(what, "-h") == 0) {
    cli_usage(stdout);
    return 0;
  }
  if (strcmp(what, "status") == 0)
    return fleet_status(argc - 1, argv + 1);
  if (strcmp(what, "run") != 0 && strcmp(what, "submit") != 0) {
    fprintf(stderr, "kiln: fleet: unknown command '%s' (run, submit, status)\n",
            what);
    return EXIT_USAGE;
  }
  struct fleet_args a = {0};
  int rc;
  if (!parse_fleet(argc - 1, argv + 1, &a, &rc))
    return rc;
  char *srun = kiln_fleet_which("srun");
  if (!srun) {
    fprintf(stderr, "kiln: fleet: no srun on PATH (Debian: slurm-client)\n");
    return EXIT_USAGE;
  }
  char *kiln = kiln_path(a.kiln_arg);
  char *dir = kiln ? fleet_dir(a.dir_arg) : NULL;
  if (!dir) {
    free(srun);
    free(kiln);
    return EXIT_USAGE;
  }
  a.o.srun = srun;
  a.o.kiln = kiln;
  a.o.dir = dir;
  rc = strcmp(what, "run") == 0 ? fleet_run(&a) : fleet_submit(&a);
  free(srun);
  free(kiln);
  free(dir);
  return rc;
}
