/* `kiln run [options]`: runs a profile's steps and writes their reports.
 * In order: the options; the inputs (profile, plan, station spec and SKUs,
 * the telemetry sampler, the inventory), any bad one a usage error (64)
 * before a report is started; the report directory and the sinks (a
 * directory or report that cannot be started: 2, no step run); the steps,
 * with telemetry, and with --upload the uploader's thread sending the
 * reports to a line server as they grow; then the verdict, the reports
 * closed, the upload's end (it waits at most --upload-wait, and never
 * changes the verdict or the exit code), and the last line, which states
 * the true exit code (0 PASS, 1 FAIL, 2 ERROR or ABORTED or a report that
 * could not be written). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/profile.h"
#include "hw/bmc.h"
#include "hw/dut.h"
#include "kiln/bus.h"
#include "kiln/context.h"
#include "kiln/inventory.h"
#include "kiln/reports.h"
#include "kiln/textutil.h"
#include "run/plan.h"
#include "run/runner.h"
#include "run/sampler.h"
#include "ui/console.h"
#include "ui/dashboard.h"
#include "upload/upload.h"

const char cmd_run_options_help[] =
    "  --profile NAME|FILE   built-in profile or an INI file\n"
    "  --only PATTERNS       comma-separated globs over module names\n"
    "  --skip PATTERNS       likewise, to leave out\n"
    "  --gpus LIST           GPU ordinals or bus ids (default: all)\n"
    "  --duration D          each stress step's duration (30s, 10m, 2h)\n"
    "  --report-dir DIR      default kiln-reports/<serial>-<UTC time>/\n"
    "  --overwrite           replace an earlier run's reports in DIR\n"
    "  --serial S            DUT serial (default: DMI, else hostname)\n"
    "  --tap                 TAP on stdout (the log goes to stderr)\n"
    "  --tap-version N       13 (default) or 14\n"
    "  --inject FAULT        prove a detector works (see kiln list)\n"
    "  --spec FILE           station spec: the expected inventory\n"
    "  --pci-dump FILE       read PCI from an `lspci -xxxx` capture\n"
    "  --bmc HOST            read the BMC's sensors over the LAN\n"
    "  --bmc-credentials FILE  user= and password= lines (mode 600);\n"
    "                        default $KILN_BMC_USER, $KILN_BMC_PASSWORD\n"
    "  --quiet               no log: errors, then the last line\n"
    "                        (verdict and exit code) only\n"
    "  --tui, --no-tui       the dashboard (default when stdin and stdout\n"
    "                        are both a terminal, without --tap or --quiet)\n"
    "  --upload URL          send the reports to a kiln serve as they grow\n"
    "  --upload-token-file F a file holding its bearer token\n"
    "  --upload-ca-file F    trust the https server by these PEM CA "
    "certificates\n"
    "  --upload-wait D       at the end, wait at most D for it (default "
    "30s)\n";

struct run_args {
  const char *profile, *only, *skip, *report_dir, *serial, *spec, *pci_dump;
  const char *bmc, *bmc_credentials, *gpus;
  const char *upload_url, *upload_token_file, *upload_ca_file;
  char *upload_token;
  double duration, upload_wait;
  bool tap, quiet, overwrite;
  int tui; /* 1 --tui, 0 --no-tui, -1 when stdout is a terminal */
  int tap_version;
  const char *inject[16];
  size_t n_inject;
  char *inject_buf[16];
};

/* Options without a letter. */
enum {
  OPT_UPLOAD = 256,
  OPT_UPLOAD_TOKEN_FILE,
  OPT_UPLOAD_CA_FILE,
  OPT_UPLOAD_WAIT
};

static const struct option run_options[] = {
    {"profile", required_argument, 0, 'p'},
    {"only", required_argument, 0, 'o'},
    {"skip", required_argument, 0, 's'},
    {"duration", required_argument, 0, 'd'},
    {"report-dir", required_argument, 0, 'r'},
    {"serial", required_argument, 0, 'S'},
    {"tap", no_argument, 0, 't'},
    {"tap-version", required_argument, 0, 'T'},
    {"inject", required_argument, 0, 'i'},
    {"quiet", no_argument, 0, 'q'},
    {"spec", required_argument, 0, 'E'},
    {"pci-dump", required_argument, 0, 'P'},
    {"bmc", required_argument, 0, 'B'},
    {"tui", no_argument, 0, 'U'},
    {"gpus", required_argument, 0, 'G'},
    {"no-tui", no_argument, 0, 'N'},
    {"bmc-credentials", required_argument, 0, 'C'},
    {"overwrite", no_argument, 0, 'W'},
    {"upload", required_argument, 0, OPT_UPLOAD},
    {"upload-token-file", required_argument, 0, OPT_UPLOAD_TOKEN_FILE},
    {"upload-ca-file", required_argument, 0, OPT_UPLOAD_CA_FILE},
    {"upload-wait", required_argument, 0, OPT_UPLOAD_WAIT},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

/* --inject's comma-separated faults, added to a's list; -1 after saying
 * there are too many. */
static int add_inject_faults(struct run_args *a, const char *value) {
  char *list = kiln_xstrdup(value), *save = NULL;
  for (char *f = strtok_r(list, ",", &save); f;
       f = strtok_r(NULL, ",", &save)) {
    if (a->n_inject == 15) {
      fprintf(stderr, "kiln: too many --inject faults\n");
      free(list);
      return -1;
    }
    a->inject_buf[a->n_inject] = kiln_xstrdup(f);
    a->inject[a->n_inject] = a->inject_buf[a->n_inject];
    a->n_inject++;
  }
  free(list);
  return 0;
}

/* One option (c, its value) into the run_args at ctx; -1 after saying
 * what is wrong with it. */
static int take_run_option(int c, const char *value, void *ctx) {
  struct run_args *a = ctx;
  switch (c) {
  case 'p': a->profile = value; break;
  case 'o': a->only = value; break;
  case 's': a->skip = value; break;
  case 'r': a->report_dir = value; break;
  case 'S': a->serial = value; break;
  case 't': a->tap = true; break;
  case 'q': a->quiet = true; break;
  case 'E': a->spec = value; break;
  case 'P': a->pci_dump = value; break;
  case 'B': a->bmc = value; break;
  case 'U': a->tui = 1; break;
  case 'G': a->gpus = value; break;
  case 'N': a->tui = 0; break;
  case 'C': a->bmc_credentials = value; break;
  case 'W': a->overwrite = true; break;
  case 'd': {
    char why[256];
    if (kiln_duration_parse_range(value, KILN_STEP_DURATION_MIN,
                                  KILN_DURATION_MAX, &a->duration, why,
                                  sizeof why) != 0) {
      fprintf(stderr, "kiln: --duration %s\n", why);
      return -1;
    }
    break;
  }
  case 'T':
    if (strcmp(value, "13") != 0 && strcmp(value, "14") != 0) {
      fprintf(stderr, "kiln: --tap-version '%s': use 13 or 14\n", value);
      return -1;
    }
    a->tap_version = atoi(value);
    break;
  case 'i': return add_inject_faults(a, value);
  case OPT_UPLOAD: {
    char why[600];
    if (kiln_upload_check_url(value, why, sizeof why) != 0) {
      fprintf(stderr, "kiln: --upload %s\n", why);
      return -1;
    }
    a->upload_url = value;
    break;
  }
  case OPT_UPLOAD_TOKEN_FILE: a->upload_token_file = value; break;
  case OPT_UPLOAD_CA_FILE: {
    char why[600];
    if (kiln_upload_check_ca_file(value, why, sizeof why) != 0) {
      fprintf(stderr, "kiln: --upload-ca-file %s\n", why);
      return -1;
    }
    a->upload_ca_file = value;
    break;
  }
  case OPT_UPLOAD_WAIT: {
    char why[256];
    if (kiln_duration_parse_range(value, 0, KILN_DURATION_MAX, &a->upload_wait,
                                  why, sizeof why) != 0) {
      fprintf(stderr, "kiln: --upload-wait %s\n", why);
      return -1;
    }
    break;
  }
  }
  return 0;
}

/* --upload's token, read now: a token file that cannot be read is found
 * before any step runs. 0, or -1 after saying why. */
static int configure_upload(struct run_args *a) {
  if (!a->upload_url && (a->upload_token_file || a->upload_ca_file)) {
    fprintf(stderr, "kiln: --%s needs --upload URL\n",
            a->upload_token_file ? "upload-token-file" : "upload-ca-file");
    return -1;
  }
  if (!a->upload_token_file)
    return 0;
  char err[600];
  a->upload_token = kiln_read_token_file(a->upload_token_file, err, sizeof err);
  if (!a->upload_token) {
    fprintf(stderr, "kiln: --upload-token-file %s\n", err);
    return -1;
  }
  return 0;
}

/* --bmc and its credentials, taken now: the password leaves the
 * environment before any step's child is started. */
static int configure_bmc(const struct run_args *a) {
  if (a->bmc_credentials && !a->bmc) {
    fprintf(stderr, "kiln: --bmc-credentials needs --bmc HOST\n");
    return -1;
  }
  if (a->bmc) {
    char err[512];
    if (!kiln_bmc_configure(a->bmc, a->bmc_credentials, err, sizeof err)) {
      fprintf(stderr, "kiln: %s\n", err);
      return -1;
    }
    /* Steps' children need not see it; the setting holds it now. */
    unsetenv("KILN_BMC_PASSWORD");
  }
  return 0;
}

/* The options into a, and --bmc set up; 0, CLI_HELP once the usage is
 * printed, or -1 after saying what is wrong. */
static int parse_run_args(int argc, char **argv, struct run_args *a) {
  a->profile = "quick";
  a->tap_version = 13;
  a->tui = -1;
  a->upload_wait = CLI_UPLOAD_WAIT_DEFAULT;
  int rc = cli_parse_options(argc, argv, ":p:o:s:d:r:S:tT:i:qE:P:B:C:UNG:Wh",
                             run_options, "osGi", take_run_option, a);
  if (rc != 0)
    return rc;
  return configure_upload(a) != 0 ? -1 : configure_bmc(a);
}

/* The command line as it was typed (argv[0] is "kiln"), for the reports. */
static char *join_args(int argc, char **argv) {
  size_t len = 1;
  for (int i = 0; i < argc; i++)
    len += strlen(argv[i]) + 1;
  char *s = kiln_xcalloc(len, 1);
  for (int i = 0; i < argc; i++) {
    if (i)
      strcat(s, " ");
    strcat(s, argv[i]);
  }
  return s;
}

/* Whether a step of the plan reads the BMC's sensors. */
static bool plan_reads_bmc(const struct kiln_plan *plan) {
  for (size_t i = 0; i < plan->n_steps; i++)
    if (kiln_module_reads_source(plan->steps[i].module, "ipmi"))
      return true;
  return false;
}

static void log_parent_usage(struct kiln_run *run, struct kiln_bus *bus) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    return;
  double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  double wall = kiln_now() - run->start;
  char msg[200];
  /* Machine-readable for `make bench`: the parent's own share of a core. */
  snprintf(msg, sizeof msg,
           "kiln parent process: %.3f s CPU over %.1f s (%.3f%% of one core)",
           cpu, wall, wall > 0 ? 100.0 * cpu / wall : 0.0);
  struct kiln_log l = {
      .severity = KILN_SEV_INFO, .message = msg, .time = kiln_now()};
  kiln_bus_log(bus, run, NULL, &l);
}

/* sysfs AER counters of every device at run start, for pcie.link to judge
 * the increase over the run. Empty from a dump or where the kernel has
 * none. */
static struct kiln_aer_baseline *
take_aer_baseline(const struct kiln_inventory *inv, size_t *n) {
  *n = 0;
  if (inv->pci.from_dump || inv->pci.n == 0)
    return NULL;
  struct kiln_aer_baseline *b = kiln_xcalloc(inv->pci.n, sizeof *b);
  for (size_t i = 0; i < inv->pci.n; i++) {
    struct kiln_aer_counters c;
    if (kiln_aer_counters_read(inv->pci.devs[i].bdf, &c) != 0)
      continue;
    snprintf(b[*n].bdf, sizeof b[*n].bdf, "%s", inv->pci.devs[i].bdf);
    b[*n].start = c;
    (*n)++;
  }
  return b;
}

/* The runner's loop drives the sampler, the dashboard and the sinks'
 * timed work. */
struct ticks {
  struct kiln_sampler *sampler;
  struct kiln_sink *dashboard;
  struct kiln_bus *bus;
  struct kiln_run *run;
  bool quit_asked;
  bool hangup_noted;
};

/* The operator's terminal is gone: the dashboard lets go of it and the
 * reports say so; the run goes on to its end. */
static void note_hangup(struct ticks *t) {
  if (t->hangup_noted || !kiln_runner_hung_up())
    return;
  t->hangup_noted = true;
  if (t->dashboard)
    kiln_dashboard_hangup(t->dashboard);
  struct kiln_log l = {
      .severity = KILN_SEV_WARNING,
      .message = "SIGHUP: the terminal hung up; the run goes on to its end "
                 "without it",
      .time = kiln_now()};
  kiln_bus_log(t->bus, t->run, NULL, &l);
}

static void run_tick(void *ctx) {
  struct ticks *t = ctx;
  note_hangup(t);
  kiln_bus_tick(t->bus, t->run);
  kiln_sampler_tick(t->sampler);
  if (t->dashboard && !t->quit_asked && kiln_dashboard_tick(t->dashboard)) {
    t->quit_asked = true;
    kiln_runner_request_stop("operator quit from the dashboard");
  }
}

/* Everything one `kiln run` holds, from its options to its reports;
 * session_close() frees what was made. */
struct session {
  struct run_args a;
  struct kiln_profile prof;
  struct kiln_plan plan;
  struct kiln_run run;
  struct kiln_bus bus;
  const char *spec_path; /* --spec, else the profile's; NULL for none */
  struct kiln_spec spec;
  struct kiln_sku_set skus;
  struct kiln_sku sku_override; /* the SKU the spec names, if it does */
  struct kiln_sampler *sampler;
  struct kiln_inventory inv;
  bool have_inventory;
  struct kiln_aer_baseline *aer;
  size_t n_aer;
  struct kiln_context ctx; /* what kiln_context() gives the steps */
  struct kiln_report_dir report_dir;
  struct kiln_sink *ocp, *files, *html; /* the report files */
  struct ticks ticks;
  struct kiln_upload *upload; /* with --upload, while it runs */
  struct kiln_upload_result upload_result;
  bool upload_ended;
  char note[1200]; /* the last line's why: no step run, reports incomplete */
};

static void session_init(struct session *s) {
  memset(s, 0, sizeof *s);
  kiln_run_init(&s->run);
  kiln_bus_init(&s->bus, stderr);
  s->report_dir.lock_fd = -1;
  s->ticks.bus = &s->bus;
  s->ticks.run = &s->run;
}

/* The profile and the plan of its steps the options leave; 0, or -1 after
 * saying why not. */
static int load_plan(struct session *s) {
  char err[1024];
  if (kiln_profile_load(s->a.profile, &s->prof, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: %s\n", err);
    return -1;
  }
  struct kiln_plan_options po = {.only = s->a.only,
                                 .skip = s->a.skip,
                                 .duration = s->a.duration,
                                 .gpus = s->a.gpus,
                                 .inject = s->a.inject};
  if (kiln_plan_build(&s->prof, &po, &s->plan, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: %s\n", err);
    return -1;
  }
  if (s->a.bmc && !plan_reads_bmc(&s->plan)) {
    /* The operator asked for the BMC: a run that would not read it is a
     * mistake to say, not to pass. */
    fprintf(stderr,
            "kiln: --bmc %s: no step of this run reads the BMC (the thermal "
            "monitor or fans): add `monitors = thermal` to the profile, or "
            "drop --bmc\n",
            s->a.bmc);
    return -1;
  }
  return 0;
}

/* The station spec and the GPU SKUs whose limits each GPU step takes; 0,
 * or -1 after saying why not. */
static int load_spec_and_skus(struct session *s) {
  char err[1024];
  s->spec_path = s->a.spec ? s->a.spec : s->prof.spec;
  if (s->spec_path &&
      kiln_spec_load(s->spec_path, &s->spec, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: %s\n", err);
    return -1;
  }
  if (kiln_sku_set_builtin(&s->skus, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: %s\n", err);
    return -1;
  }
  if (s->spec_path && !cli_load_spec_sku(&s->spec, &s->sku_override))
    return -1;
  kiln_plan_assign_skus(&s->plan, &s->skus,
                        s->sku_override.id ? &s->sku_override : NULL);
  return 0;
}

/* The machine's inventory at run start, and the context the steps read;
 * 0, or -1 after saying why not. */
static int take_inventory(struct session *s) {
  char err[1024];
  struct kiln_inventory_options io = {.pci_dump = s->a.pci_dump};
  if (kiln_inventory_collect(&s->inv, &io, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: %s\n", err);
    return -1;
  }
  s->have_inventory = true;
  s->aer = take_aer_baseline(&s->inv, &s->n_aer);
  s->ctx = (struct kiln_context){.pci_dump = s->a.pci_dump,
                                 .spec = s->spec_path ? &s->spec : NULL,
                                 .inventory = &s->inv,
                                 .aer = s->aer,
                                 .n_aer = s->n_aer,
                                 .publish_every = s->prof.publish_every};
  kiln_context_set(&s->ctx);
  return 0;
}

/* The spec and the inventory are input: a bad one is a usage error, found
 * before any report is started. 0, or -1 after saying why not. */
static int load_inputs(struct session *s) {
  char err[1024];
  if (load_plan(s) != 0 || load_spec_and_skus(s) != 0)
    return -1;
  /* Before any thread starts: the cuBLAS probe forks. */
  kiln_plan_check_gpus(&s->plan, s->prof.mig_allowed);
  bool sampler_failed = false;
  s->sampler =
      kiln_sampler_new(&s->plan, s->prof.source, s->spec_path ? &s->spec : NULL,
                       err, sizeof err, &sampler_failed);
  if (sampler_failed) {
    fprintf(stderr, "kiln: %s\n", err);
    return -1;
  }
  return take_inventory(s);
}

/* The run's record before its first step: who, what, where, and its
 * report directory's name (default kiln-reports/<serial>-<UTC time>). */
static void describe_run(struct session *s, int argc, char **argv) {
  struct kiln_run *run = &s->run;
  run->kiln_version = kiln_xstrdup(KILN_VERSION);
  run->profile = kiln_xstrdup(s->prof.name);
  run->profile_source = kiln_xstrdup(s->prof.source);
  run->command_line = join_args(argc + 1, argv - 1);
  const struct kiln_sku *sku = kiln_plan_sku(&s->plan);
  run->sku = sku ? kiln_xstrdup(sku->id) : NULL;
  run->planned_seconds = kiln_plan_seconds(&s->plan);
  kiln_dut_probe(&run->dut, s->a.serial);
  kiln_inventory_to_run(&s->inv, run);
  run->start = kiln_now();
  if (s->a.report_dir) {
    run->report_dir = kiln_xstrdup(s->a.report_dir);
  } else {
    char safe[80], stamp[32];
    kiln_dut_path_name(run->dut.serial, safe, sizeof safe);
    time_t now = (time_t)run->start;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    run->report_dir = kiln_strdup_printf("kiln-reports/%s-%s", safe, stamp);
  }
}

/* A record for each step of the plan, not yet started. */
static void add_step_records(struct session *s) {
  for (size_t i = 0; i < s->plan.n_steps; i++) {
    const struct kiln_plan_step *ps = &s->plan.steps[i];
    struct kiln_step_result *r = kiln_run_add_step(
        &s->run, ps->id, ps->module->name, ps->target, ps->phase);
    if (ps->module->key_measurement)
      r->key_measurement = kiln_xstrdup(ps->module->key_measurement);
  }
}

/* The report files' sinks (OCP stream, the files, HTML) on the bus; 0, or
 * EXIT_ENV after saying why not. */
static int open_report_sinks(struct session *s) {
  char err[1024];
  const char *dir = s->run.report_dir;
  char *ocp_path = kiln_strdup_printf("%s/ocp.jsonl", dir);
  s->ocp = kiln_ocp_sink_open(ocp_path, err, sizeof err);
  free(ocp_path);
  s->files = s->ocp
                 ? kiln_files_sink_open(dir, s->a.tap_version, err, sizeof err)
                 : NULL;
  if (!s->ocp || !s->files) {
    fprintf(stderr, "kiln: %s\n", err);
    if (s->ocp)
      s->ocp->close(s->ocp);
    return EXIT_ENV;
  }
  kiln_bus_add(&s->bus, s->ocp);
  kiln_bus_add(&s->bus, s->files);
  char *html_path = kiln_strdup_printf("%s/report.html", dir);
  s->html = kiln_html_sink_open(html_path, err, sizeof err);
  free(html_path);
  if (!s->html) {
    fprintf(stderr, "kiln: %s\n", err);
    return EXIT_ENV;
  }
  kiln_bus_add(&s->bus, s->html);
  return 0;
}

/* What people and harnesses watch: the dashboard (or the plain log when
 * it cannot open), or the log alone, and TAP on stdout. */
static void open_screen_sinks(struct session *s) {
  const struct run_args *a = &s->a;
  char err[1024];
  bool tui = a->tui == 1 || (a->tui == -1 && !a->tap && !a->quiet &&
                             isatty(STDOUT_FILENO) && isatty(STDIN_FILENO));
  if (tui) {
    s->ticks.dashboard = kiln_dashboard_open(err, sizeof err);
    if (!s->ticks.dashboard)
      fprintf(stderr, "kiln: no dashboard (%s): a plain log instead\n", err);
    else
      kiln_bus_add(&s->bus, s->ticks.dashboard);
  }
  if (!a->quiet && !s->ticks.dashboard)
    kiln_bus_add(&s->bus, kiln_console_sink_open(a->tap ? stderr : stdout));
  if (a->tap)
    kiln_bus_add(&s->bus, kiln_tap_stream_sink_open(stdout, a->tap_version));
}

/* The run's record, its report directory and its sinks; 0, or the exit
 * code after saying why not. */
static int open_reports(struct session *s, int argc, char **argv) {
  char err[1024];
  describe_run(s, argc, argv);
  /* Locked, not holding another run's reports, and with room: found now,
   * not after hours of stress. */
  int dir_rc = kiln_report_dir_open(&s->report_dir, s->run.report_dir,
                                    s->a.overwrite, err, sizeof err);
  if (dir_rc != 0) {
    if (dir_rc == KILN_REPORT_DIR_UNUSABLE)
      fprintf(stderr, "kiln: %s; no step was run (ERROR, exit %d)\n", err,
              dir_rc);
    else
      fprintf(stderr, "kiln: %s\n", err);
    return dir_rc;
  }
  add_step_records(s);
  int rc = open_report_sinks(s);
  if (rc != 0)
    return rc;
  open_screen_sinks(s);
  return 0;
}

/* The steps, with the telemetry sampler beside them. */
static void run_steps(struct session *s) {
  char err[1024];
  if (s->sampler &&
      kiln_sampler_start(s->sampler, &s->run, &s->bus, s->run.report_dir, err,
                         sizeof err) != 0) {
    /* The run goes on; its monitors stay unfinished in the reports. */
    fprintf(stderr, "kiln: %s: no telemetry this run\n", err);
    kiln_sampler_free(s->sampler);
    s->sampler = NULL;
  }
  s->ticks.sampler = s->sampler;
  struct kiln_runner_options ro = {.grace = s->prof.grace,
                                   .hang_timeout = s->prof.hang_timeout,
                                   .stagger = s->prof.stagger,
                                   .tick = run_tick,
                                   .tick_ctx = &s->ticks};
  kiln_runner_run(&s->plan, &ro, &s->run, &s->bus);
  kiln_sampler_finish(s->sampler);
  note_hangup(&s->ticks);
  log_parent_usage(&s->run, &s->bus);
}

/* With --upload: the uploader's thread, following the report directory
 * from before the run's first line. One that cannot start is said; the
 * run goes on (its reports are the record; `kiln upload` sends them). */
static void start_upload(struct session *s) {
  if (!s->a.upload_url)
    return;
  char err[512];
  s->upload =
      kiln_upload_start(s->run.report_dir, s->a.upload_url, s->a.upload_token,
                        s->a.upload_ca_file, err, sizeof err);
  if (!s->upload)
    fprintf(stderr, "kiln: %s: the reports are not sent (kiln upload %s %s)\n",
            err, s->run.report_dir, s->a.upload_url);
}

/* The reports are complete: the uploader sends what is left, for at most
 * --upload-wait. */
static void end_upload(struct session *s) {
  if (!s->upload)
    return;
  kiln_upload_close(s->upload, s->a.upload_wait);
  kiln_upload_finish(s->upload, &s->upload_result);
  s->upload = NULL;
  s->upload_ended = true;
}

/* The upload's last word on stderr, before the last line; with --quiet
 * only when something is unsent. Returns whether it said anything. */
static bool say_upload(struct session *s) {
  if (!s->upload_ended ||
      (s->a.quiet && kiln_upload_complete(&s->upload_result)))
    return false;
  fflush(stdout);
  cli_upload_say(stderr, &s->upload_result, s->run.report_dir, s->a.upload_url,
                 s->a.upload_token_file, s->a.upload_ca_file);
  return true;
}

/* A report that could not be written means the run has no whole record:
 * the last line names them, and a PASS exits 2. Returns the exit code. */
static int judge_records(struct session *s, bool ran, int rc) {
  char incomplete[512];
  size_t n_incomplete =
      kiln_bus_incomplete(&s->bus, incomplete, sizeof incomplete);
  if (kiln_sampler_csv_lost(s->sampler)) {
    size_t used = strlen(incomplete);
    snprintf(incomplete + used, sizeof incomplete - used, "%stelemetry.csv",
             n_incomplete++ ? ", " : "");
  }
  if (n_incomplete > 0) {
    if (ran)
      snprintf(s->note, sizeof s->note, "incomplete reports: %s", incomplete);
    if (rc == 0)
      rc = EXIT_ENV;
  }
  return rc;
}

/* Starts the reports, runs the steps when every report file can be
 * written, and ends the run: its verdict, the reports closed, and (without
 * the dashboard) the last line. Returns the exit code. */
static int run_and_judge(struct session *s) {
  kiln_bus_run_start(&s->bus, &s->run);
  const char *why_not = kiln_bus_failure(&s->bus, s->ocp);
  why_not = why_not ? why_not : kiln_bus_failure(&s->bus, s->files);
  why_not = why_not ? why_not : kiln_bus_failure(&s->bus, s->html);
  if (why_not) {
    /* Hours of stress without a record would be worth nothing: no step
     * runs, and the reports say why where they can. */
    snprintf(s->note, sizeof s->note,
             "no step was run: the reports cannot be written (%s)", why_not);
    s->run.abort_reason = kiln_xstrdup(s->note);
  } else {
    run_steps(s);
  }
  s->run.end = kiln_now();
  s->run.verdict = why_not ? KILN_ERROR : kiln_run_verdict(&s->run);
  s->run.finished = true;
  /* The reports close their records in the space set aside for it, even
   * on a disk that filled up. */
  kiln_report_dir_release_reserve(&s->report_dir);
  kiln_bus_run_end(&s->bus, &s->run);
  int rc = judge_records(s, !why_not, kiln_verdict_exit_code(s->run.verdict));
  end_upload(s);
  const struct run_args *a = &s->a;
  if (!a->quiet && !s->ticks.dashboard) {
    say_upload(s);
    kiln_console_print_verdict(a->tap ? stderr : stdout, &s->run, rc, s->note);
  } else if (a->quiet) {
    /* Quiet still ends on the line that states the exit code (where a
     * plain run prints it), a clean run too. */
    say_upload(s);
    if (s->note[0])
      fprintf(stderr, "kiln: %s (exit %d)\n", s->note, rc);
    else
      kiln_console_print_verdict(a->tap ? stderr : stdout, &s->run, rc, NULL);
  }
  return rc;
}

/* Closes the sinks, then, after a dashboard has given the screen back,
 * prints the summary and the last line there; frees the session. */
static void session_close(struct session *s, int rc) {
  end_upload(s);
  kiln_bus_close(&s->bus);
  if (s->ticks.dashboard && s->run.finished) {
    kiln_summary_print(stdout, &s->run);
    say_upload(s);
    kiln_console_print_verdict(stdout, &s->run, rc, s->note);
  }
  kiln_report_dir_close(&s->report_dir);
  kiln_context_set(NULL);
  kiln_sampler_free(s->sampler);
  free(s->aer);
  if (s->have_inventory)
    kiln_inventory_free(&s->inv);
  kiln_spec_free(&s->spec);
  kiln_run_free(&s->run);
  kiln_plan_free(&s->plan);
  kiln_sku_free(&s->sku_override);
  kiln_sku_set_free(&s->skus);
  kiln_profile_free(&s->prof);
  for (size_t i = 0; i < s->a.n_inject; i++)
    free(s->a.inject_buf[i]);
  free(s->a.upload_token);
}

int cmd_run(int argc, char **argv) {
  struct session s;
  /* Stop only by choice from here on: an operator's terminal that goes
   * away (ssh dropped) does not end a burn-in. */
  kiln_runner_survive_hangup();
  session_init(&s);
  int rc = EXIT_USAGE;
  int parsed = parse_run_args(argc, argv, &s.a);
  if (parsed == CLI_HELP)
    rc = 0;
  else if (parsed == 0 && load_inputs(&s) == 0) {
    rc = open_reports(&s, argc, argv);
    if (rc == 0) {
      start_upload(&s);
      rc = run_and_judge(&s);
    }
  }
  session_close(&s, rc);
  return rc;
}
