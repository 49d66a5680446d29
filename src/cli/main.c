/* kiln's command line: `kiln run`, `kiln list`, `kiln version`. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config/profile.h"
#include "hw/bmc.h"
#include "kiln/bus.h"
#include "kiln/context.h"
#include "kiln/dut.h"
#include "kiln/gpu_access.h"
#include "kiln/gpu_enum.h"
#include "kiln/inventory.h"
#include "kiln/inventory_spec.h"
#include "kiln/module.h"
#include "kiln/reports.h"
#include "kiln/textutil.h"
#include "run/inject.h"
#include "run/plan.h"
#include "run/runner.h"
#include "run/sampler.h"
#include "ui/console.h"
#include "ui/dashboard.h"

#define EXIT_USAGE 64
#define EXIT_ENV 2

static void usage(FILE *f) {
  fprintf(f,
          "usage: kiln run [options]   run a profile (default: quick)\n"
          "       kiln inventory [--json] [--write-spec FILE] [--pci-dump "
          "FILE]\n"
          "                            what this machine has\n"
          "       kiln list [--spec FILE]  modules, faults, profiles, and the\n"
          "                            SKU limits each GPU here would take\n"
          "       kiln version\n"
          "\n"
          "run options:\n"
          "  --profile NAME|FILE   built-in profile or an INI file\n"
          "  --only PATTERNS       comma-separated globs over module names\n"
          "  --gpus LIST           GPU ordinals or bus ids (default: all)\n"
          "  --skip PATTERNS       likewise, to leave out\n"
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
          "  --quiet               no log; errors and the exit code only\n"
          "  --tui, --no-tui       the dashboard (default when stdout is a "
          "terminal)\n"
          "\n"
          "exit: 0 all passed, 1 some FAIL, 2 some ERROR or ABORTED, "
          "64 usage\n");
}

/* An option's value must say something: an empty or all-blank one (a
 * blank barcode scan, an unset shell variable) is a usage error naming the
 * option, and so is a list option (--gpus, --only, --skip, --inject) with an
 * empty item ("," or "0,,1"), which would otherwise select nothing and
 * drop steps without a word. Returns false after saying so. */
static bool option_value_ok(const struct option *opts, int c, const char *value,
                            const char *lists) {
  const char *name = NULL;
  for (const struct option *o = opts; o->name; o++)
    if (o->val == c && o->has_arg == required_argument)
      name = o->name;
  if (!name || !value)
    return true;
  bool list = strchr(lists, c) != NULL;
  bool blank = true, item_blank = true, empty_item = false;
  for (const char *p = value;; p++) {
    if (*p == 0 || (list && *p == ',')) {
      empty_item |= item_blank;
      item_blank = true;
      if (*p == 0)
        break;
      continue;
    }
    if (!isspace((unsigned char)*p))
      blank = item_blank = false;
  }
  if (blank) {
    fprintf(stderr, "kiln: --%s needs a value, got '%s'\n", name, value);
    return false;
  }
  if (list && empty_item) {
    fprintf(stderr, "kiln: --%s '%s': an empty item in the list\n", name,
            value);
    return false;
  }
  return true;
}

/* The SKU file a station spec names in [gpu] sku, into *out (left empty
 * when it names none); false after saying, with the spec's file and line,
 * why it cannot be read. */
static bool load_spec_sku(const struct kiln_spec *spec, struct kiln_sku *out) {
  if (!spec->gpu_sku)
    return true;
  char why[768];
  if (kiln_sku_load(spec->gpu_sku, out, why, sizeof why) == 0)
    return true;
  fprintf(stderr, "kiln: %s:%d: [gpu] sku: %s\n", spec->source,
          spec->gpu_sku_line, why);
  return false;
}

/* Each GPU on the bus and the SKU whose limits its steps take, as a run
 * would choose it: a technician checking a station sees a spec that names
 * another model's SKU before a run is judged by the wrong floors. */
static int list_gpu_skus(const char *spec_path,
                         const struct kiln_sku_set *skus) {
  struct kiln_spec spec;
  struct kiln_sku named = {0};
  char err[1024];
  memset(&spec, 0, sizeof spec);
  if (spec_path && kiln_spec_load(spec_path, &spec, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: %s\n", err);
    return EXIT_USAGE;
  }
  if (!load_spec_sku(&spec, &named)) {
    kiln_spec_free(&spec);
    return EXIT_USAGE;
  }
  char bus[64][16];
  size_t n = kiln_gpu_enumerate(bus, 64);
  printf("GPUs here and their SKU limits%s%s%s:\n",
         spec_path ? " (station spec " : "", spec_path ? spec_path : "",
         spec_path ? ")" : "");
  if (n == 0)
    printf("  (no NVIDIA GPU on the PCI bus)\n");
  for (size_t i = 0; i < n && i < 64; i++) {
    char note[1024];
    bool mismatch = false;
    kiln_plan_sku_for_gpu(bus[i], skus, named.id ? &named : NULL, note,
                          sizeof note, &mismatch);
    printf("  %s%s\n", mismatch ? "WARNING: " : "", note);
  }
  kiln_sku_free(&named);
  kiln_spec_free(&spec);
  return 0;
}

/* getopt's ':' (a value missing) or '?' (an unknown option) as one line. */
static void complain_option(int c, char **argv) {
  if (c == ':')
    fprintf(stderr, "kiln: option '%s' needs a value\n", argv[optind - 1]);
  else
    fprintf(stderr, "kiln: unknown option '%s' (see kiln --help)\n",
            argv[optind - 1]);
}

/* false, saying so, when words are left after the options. */
static bool no_arguments_left(int argc, char **argv) {
  if (optind >= argc)
    return true;
  fprintf(stderr, "kiln: unexpected argument '%s' (see kiln --help)\n",
          argv[optind]);
  return false;
}

/* kiln list's word for a GPU module: what `kiln run` would make of each
 * GPU on the bus, before a run ("error" and the cause per GPU, as the
 * run's steps would say it; MIG mode judged as the built-in profiles do). */
static void list_gpu_module(const struct kiln_module *m,
                            struct kiln_gpu_access **access) {
  char ids[64][16], why[1024];
  size_t n = kiln_gpu_enumerate(ids, 64);
  if (n == 0) {
    printf("  %-16s %-5s %s (SKIP: no NVIDIA GPU found on the PCI bus)\n",
           m->name, "no", m->summary);
    return;
  }
  if (!*access)
    *access = kiln_gpu_access_open();
  char *causes = NULL; /* one line per GPU that cannot be driven */
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    if (kiln_gpu_access_check(*access, ids[i], m->gpu_needs, false, why,
                              sizeof why))
      continue;
    char *more = kiln_strdup_printf("%s  %-16s %-5s %s\n", causes ? causes : "",
                                    "", "", why);
    free(causes);
    causes = more;
    bad++;
  }
  if (bad == 0) {
    char avail[256] = "";
    if (m->available)
      m->available(avail, sizeof avail);
    printf("  %-16s %-5s %s (%s)\n", m->name, "ok", m->summary,
           avail[0] ? avail : "yes");
    return;
  }
  printf("  %-16s %-5s %s (ERROR: %zu of %zu NVIDIA GPU%s cannot be "
         "driven)\n",
         m->name, "error", m->summary, bad, n, n == 1 ? "" : "s");
  fputs(causes, stdout);
  free(causes);
}

static int cmd_list(int argc, char **argv) {
  static const struct option opts[] = {
      {"spec", required_argument, 0, 'E'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0},
  };
  const char *spec_path = NULL;
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, ":E:h", opts, NULL)) != -1) {
    if (!option_value_ok(opts, c, optarg, ""))
      return EXIT_USAGE;
    switch (c) {
    case 'E': spec_path = optarg; break;
    case 'h': usage(stdout); return 0;
    default: complain_option(c, argv); return EXIT_USAGE;
    }
  }
  if (!no_arguments_left(argc, argv))
    return EXIT_USAGE;
  printf("modules:\n");
  struct kiln_gpu_access *access = NULL;
  for (const struct kiln_module *const *m = kiln_modules; *m; m++) {
    if ((*m)->gpu_needs) {
      list_gpu_module(*m, &access);
      continue;
    }
    char why[256] = "yes";
    bool ok = (*m)->available ? (*m)->available(why, sizeof why) : true;
    printf("  %-16s %-5s %s (%s)\n", (*m)->name, ok ? "ok" : "no",
           (*m)->summary, why);
  }
  kiln_gpu_access_close(access);
  printf("faults for --inject:\n");
  for (const struct kiln_fault *f = kiln_faults; f->name; f++)
    printf("  %-16s %s\n", f->name, f->summary);
  printf("built-in profiles:\n");
  for (const char *const *p = kiln_builtin_profile_names; *p; p++) {
    struct kiln_profile prof;
    char err[512];
    if (kiln_profile_load(*p, &prof, err, sizeof err) == 0) {
      printf("  %-16s %s\n", *p, prof.description);
      kiln_profile_free(&prof);
    }
  }
  printf("GPU SKU limit files (chosen by PCI id, or [gpu] sku in a spec):\n");
  struct kiln_sku_set skus;
  char err[512];
  if (kiln_sku_set_builtin(&skus, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: %s\n", err);
    return EXIT_USAGE;
  }
  for (size_t i = 0; i < skus.n; i++) {
    const struct kiln_sku *k = &skus.skus[i];
    char ids[128] = "";
    for (size_t j = 0; j < k->n_pci_ids; j++)
      snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s%04x:%04x",
               j ? "," : "", k->pci_ids[j] >> 16, k->pci_ids[j] & 0xffff);
    printf("  %-16s %s (%s)%s\n", k->id, k->name, ids,
           k->provisional ? ", provisional floors" : "");
  }
  int rc = list_gpu_skus(spec_path, &skus);
  kiln_sku_set_free(&skus);
  return rc;
}

struct run_args {
  const char *profile, *only, *skip, *report_dir, *serial, *spec, *pci_dump;
  const char *bmc, *bmc_credentials, *gpus;
  double duration;
  bool tap, quiet, overwrite;
  int tui; /* 1 --tui, 0 --no-tui, -1 when stdout is a terminal */
  int tap_version;
  const char *inject[16];
  size_t n_inject;
  char *inject_buf[16];
};

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

static int parse_run_args(int argc, char **argv, struct run_args *a) {
  static const struct option opts[] = {
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
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0},
  };
  a->profile = "quick";
  a->tap_version = 13;
  a->tui = -1;
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, ":p:o:s:d:r:S:tT:i:qE:P:B:C:UNG:Wh", opts,
                          NULL)) != -1) {
    if (!option_value_ok(opts, c, optarg, "osGi"))
      return -1;
    switch (c) {
    case 'p': a->profile = optarg; break;
    case 'o': a->only = optarg; break;
    case 's': a->skip = optarg; break;
    case 'r': a->report_dir = optarg; break;
    case 'S': a->serial = optarg; break;
    case 't': a->tap = true; break;
    case 'q': a->quiet = true; break;
    case 'E': a->spec = optarg; break;
    case 'P': a->pci_dump = optarg; break;
    case 'B': a->bmc = optarg; break;
    case 'U': a->tui = 1; break;
    case 'G': a->gpus = optarg; break;
    case 'N': a->tui = 0; break;
    case 'C': a->bmc_credentials = optarg; break;
    case 'W': a->overwrite = true; break;
    case 'd': {
      char why[256];
      if (kiln_duration_parse_range(optarg, KILN_STEP_DURATION_MIN,
                                    KILN_DURATION_MAX, &a->duration, why,
                                    sizeof why) != 0) {
        fprintf(stderr, "kiln: --duration %s\n", why);
        return -1;
      }
      break;
    }
    case 'T':
      if (strcmp(optarg, "13") != 0 && strcmp(optarg, "14") != 0) {
        fprintf(stderr, "kiln: --tap-version '%s': use 13 or 14\n", optarg);
        return -1;
      }
      a->tap_version = atoi(optarg);
      break;
    case 'i': {
      char *list = kiln_xstrdup(optarg), *save = NULL;
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
      break;
    }
    case 'h': usage(stdout); exit(0);
    default: complain_option(c, argv); return -1;
    }
  }
  if (!no_arguments_left(argc, argv))
    return -1;
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

/* Whether a step of the plan reads the BMC's sensors. */
static bool plan_reads_bmc(const struct kiln_plan *plan) {
  for (size_t i = 0; i < plan->n_steps; i++)
    if (strcmp(plan->steps[i].module->name, "thermal") == 0 ||
        strcmp(plan->steps[i].module->name, "fans") == 0)
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

static int cmd_inventory(int argc, char **argv) {
  static const struct option opts[] = {
      {"json", no_argument, 0, 'j'},
      {"write-spec", required_argument, 0, 'w'},
      {"pci-dump", required_argument, 0, 'P'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0},
  };
  bool json = false;
  const char *write_spec = NULL, *pci_dump = NULL;
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, ":jw:P:h", opts, NULL)) != -1) {
    if (!option_value_ok(opts, c, optarg, ""))
      return EXIT_USAGE;
    switch (c) {
    case 'j': json = true; break;
    case 'w': write_spec = optarg; break;
    case 'P': pci_dump = optarg; break;
    case 'h': usage(stdout); return 0;
    default: complain_option(c, argv); return EXIT_USAGE;
    }
  }
  if (!no_arguments_left(argc, argv))
    return EXIT_USAGE;
  struct kiln_inventory inv;
  char err[1024];
  /* Refused before anything is written: a device node or a symlink at
   * the target would be replaced by the rename. */
  if (write_spec &&
      kiln_check_new_file_target(write_spec, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: --write-spec %s\n", err);
    return EXIT_USAGE;
  }
  memset(&inv, 0, sizeof inv);
  struct kiln_inventory_options io = {.pci_dump = pci_dump};
  if (kiln_inventory_collect(&inv, &io, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: %s\n", err);
    return EXIT_USAGE;
  }
  int rc = 0;
  if (json) {
    json_t *j = kiln_inventory_to_json(&inv);
    if (!j || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
      fprintf(stderr, "kiln: cannot write the inventory as JSON\n");
      rc = EXIT_ENV;
    }
    fputc('\n', stdout);
    json_decref(j);
  } else {
    kiln_inventory_print(&inv, stdout);
  }
  if (write_spec) {
    if (kiln_spec_write(&inv, write_spec, err, sizeof err) != 0) {
      fprintf(stderr, "kiln: %s\n", err);
      rc = EXIT_ENV;
    } else {
      fprintf(stderr, "kiln: wrote station spec %s\n", write_spec);
    }
  }
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "kiln: cannot write the inventory: %s\n", strerror(errno));
    rc = EXIT_ENV;
  }
  kiln_inventory_free(&inv);
  return rc;
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

static int cmd_run(int argc, char **argv) {
  struct run_args a;
  memset(&a, 0, sizeof a);
  int rc = EXIT_USAGE;
  struct kiln_profile prof;
  struct kiln_plan plan;
  struct kiln_run run;
  struct kiln_bus bus;
  struct kiln_spec spec;
  struct kiln_inventory inv;
  bool have_inventory = false;
  struct kiln_aer_baseline *aer = NULL;
  struct kiln_sku_set skus = {0};
  struct kiln_sku sku_override = {0};
  struct kiln_sampler *sampler = NULL;
  struct ticks ticks = {.bus = &bus, .run = &run};
  struct kiln_report_dir report_dir = {.lock_fd = -1};
  size_t n_aer = 0;
  char err[1024], note[1200] = "";
  /* Stop only by choice from here on: an operator's terminal that goes
   * away (ssh dropped) does not end a burn-in. */
  kiln_runner_survive_hangup();
  memset(&spec, 0, sizeof spec);
  memset(&inv, 0, sizeof inv);
  memset(&prof, 0, sizeof prof);
  memset(&plan, 0, sizeof plan);
  kiln_run_init(&run);
  kiln_bus_init(&bus, stderr);

  if (parse_run_args(argc, argv, &a) != 0)
    goto out;
  if (kiln_profile_load(a.profile, &prof, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: %s\n", err);
    goto out;
  }
  struct kiln_plan_options po = {.only = a.only,
                                 .skip = a.skip,
                                 .duration = a.duration,
                                 .gpus = a.gpus,
                                 .inject = a.inject};
  if (kiln_plan_build(&prof, &po, &plan, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: %s\n", err);
    goto out;
  }
  if (a.bmc && !plan_reads_bmc(&plan)) {
    /* The operator asked for the BMC: a run that would not read it is a
     * mistake to say, not to pass. */
    fprintf(stderr,
            "kiln: --bmc %s: no step of this run reads the BMC (the thermal "
            "monitor or fans): add `monitors = thermal` to the profile, or "
            "drop --bmc\n",
            a.bmc);
    goto out;
  }

  /* The spec and the inventory are input: a bad one is a usage error,
   * found before any report is started. */
  const char *spec_path = a.spec ? a.spec : prof.spec;
  if (spec_path && kiln_spec_load(spec_path, &spec, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: %s\n", err);
    goto out;
  }
  if (kiln_sku_set_builtin(&skus, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: %s\n", err);
    goto out;
  }
  if (spec_path && !load_spec_sku(&spec, &sku_override))
    goto out;
  kiln_plan_assign_skus(&plan, &skus, sku_override.id ? &sku_override : NULL);
  /* Before any thread starts: the cuBLAS probe forks. */
  kiln_plan_check_gpus(&plan, prof.mig_allowed);
  bool sampler_failed = false;
  sampler = kiln_sampler_new(&plan, prof.source, spec_path ? &spec : NULL, err,
                             sizeof err, &sampler_failed);
  if (sampler_failed) {
    fprintf(stderr, "kiln: %s\n", err);
    goto out;
  }
  struct kiln_inventory_options io = {.pci_dump = a.pci_dump};
  if (kiln_inventory_collect(&inv, &io, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: %s\n", err);
    goto out;
  }
  have_inventory = true;
  aer = take_aer_baseline(&inv, &n_aer);
  struct kiln_context ctx = {.pci_dump = a.pci_dump,
                             .spec = spec_path ? &spec : NULL,
                             .inventory = &inv,
                             .aer = aer,
                             .n_aer = n_aer,
                             .publish_every = prof.publish_every};
  kiln_context_set(&ctx);

  rc = EXIT_ENV;
  run.kiln_version = kiln_xstrdup(KILN_VERSION);
  run.profile = kiln_xstrdup(prof.name);
  run.profile_source = kiln_xstrdup(prof.source);
  run.command_line = join_args(argc + 1, argv - 1);
  kiln_dut_probe(&run.dut, a.serial);
  kiln_inventory_to_run(&inv, &run);
  run.start = kiln_now();
  if (a.report_dir) {
    run.report_dir = kiln_xstrdup(a.report_dir);
  } else {
    char safe[80], stamp[32];
    kiln_dut_path_name(run.dut.serial, safe, sizeof safe);
    time_t now = (time_t)run.start;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    run.report_dir = kiln_strdup_printf("kiln-reports/%s-%s", safe, stamp);
  }
  /* Locked, not holding another run's reports, and with room: found now,
   * not after hours of stress. */
  int dir_rc = kiln_report_dir_open(&report_dir, run.report_dir, a.overwrite,
                                    err, sizeof err);
  if (dir_rc != 0) {
    if (dir_rc == KILN_REPORT_DIR_UNUSABLE)
      fprintf(stderr, "kiln: %s; no step was run (ERROR, exit %d)\n", err,
              dir_rc);
    else
      fprintf(stderr, "kiln: %s\n", err);
    rc = dir_rc;
    goto out;
  }
  for (size_t i = 0; i < plan.n_steps; i++) {
    const struct kiln_plan_step *ps = &plan.steps[i];
    struct kiln_step_result *s = kiln_run_add_step(
        &run, ps->id, ps->module->name, ps->target, ps->phase);
    if (ps->module->key_measurement)
      s->key_measurement = kiln_xstrdup(ps->module->key_measurement);
  }

  char *ocp_path = kiln_strdup_printf("%s/ocp.jsonl", run.report_dir);
  struct kiln_sink *ocp = kiln_ocp_sink_open(ocp_path, err, sizeof err);
  free(ocp_path);
  struct kiln_sink *files =
      ocp ? kiln_files_sink_open(run.report_dir, a.tap_version, err, sizeof err)
          : NULL;
  if (!ocp || !files) {
    fprintf(stderr, "kiln: %s\n", err);
    if (ocp)
      ocp->close(ocp);
    goto out;
  }
  kiln_bus_add(&bus, ocp);
  kiln_bus_add(&bus, files);
  char *html_path = kiln_strdup_printf("%s/report.html", run.report_dir);
  struct kiln_sink *html = kiln_html_sink_open(html_path, err, sizeof err);
  free(html_path);
  if (!html) {
    fprintf(stderr, "kiln: %s\n", err);
    goto out;
  }
  kiln_bus_add(&bus, html);
  bool tui = a.tui == 1 || (a.tui == -1 && !a.tap && !a.quiet &&
                            isatty(STDOUT_FILENO) && isatty(STDIN_FILENO));
  if (tui) {
    ticks.dashboard = kiln_dashboard_open(err, sizeof err);
    if (!ticks.dashboard)
      fprintf(stderr, "kiln: no dashboard (%s): a plain log instead\n", err);
    else
      kiln_bus_add(&bus, ticks.dashboard);
  }
  if (!a.quiet && !ticks.dashboard)
    kiln_bus_add(&bus, kiln_console_sink_open(a.tap ? stderr : stdout));
  if (a.tap)
    kiln_bus_add(&bus, kiln_tap_stream_sink_open(stdout, a.tap_version));

  kiln_bus_run_start(&bus, &run);
  const char *why_not = kiln_bus_failure(&bus, ocp);
  why_not = why_not ? why_not : kiln_bus_failure(&bus, files);
  why_not = why_not ? why_not : kiln_bus_failure(&bus, html);
  if (why_not) {
    /* Hours of stress without a record would be worth nothing: no step
     * runs, and the reports say why where they can. */
    snprintf(note, sizeof note,
             "no step was run: the reports cannot be written (%s)", why_not);
    run.abort_reason = kiln_xstrdup(note);
  } else {
    if (sampler && kiln_sampler_start(sampler, &run, &bus, run.report_dir, err,
                                      sizeof err) != 0) {
      /* The run goes on; its monitors stay unfinished in the reports. */
      fprintf(stderr, "kiln: %s: no telemetry this run\n", err);
      kiln_sampler_free(sampler);
      sampler = NULL;
    }
    ticks.sampler = sampler;
    struct kiln_runner_options ro = {.grace = prof.grace,
                                     .hang_timeout = prof.hang_timeout,
                                     .stagger = prof.stagger,
                                     .tick = run_tick,
                                     .tick_ctx = &ticks};
    kiln_runner_run(&plan, &ro, &run, &bus);
    kiln_sampler_finish(sampler);
    note_hangup(&ticks);
    log_parent_usage(&run, &bus);
  }
  run.end = kiln_now();
  run.verdict = why_not ? KILN_ERROR : kiln_run_verdict(&run);
  run.finished = true;
  /* The reports close their records in the space set aside for it, even
   * on a disk that filled up. */
  kiln_report_dir_release_reserve(&report_dir);
  kiln_bus_run_end(&bus, &run);
  rc = kiln_verdict_exit_code(run.verdict);
  /* A report that could not be written means the run has no whole record. */
  char incomplete[512];
  size_t n_incomplete =
      kiln_bus_incomplete(&bus, incomplete, sizeof incomplete);
  if (kiln_sampler_csv_lost(sampler)) {
    size_t used = strlen(incomplete);
    snprintf(incomplete + used, sizeof incomplete - used, "%stelemetry.csv",
             n_incomplete++ ? ", " : "");
  }
  if (n_incomplete > 0) {
    if (!why_not)
      snprintf(note, sizeof note, "incomplete reports: %s", incomplete);
    if (rc == 0)
      rc = EXIT_ENV;
  }
  if (!a.quiet && !ticks.dashboard)
    kiln_console_print_verdict(a.tap ? stderr : stdout, &run, rc, note);
  else if (a.quiet && note[0])
    fprintf(stderr, "kiln: %s (exit %d)\n", note, rc);

out:
  kiln_bus_close(&bus);
  /* The dashboard has given the screen back: the summary goes there. */
  if (ticks.dashboard && run.finished) {
    kiln_summary_print(stdout, &run);
    kiln_console_print_verdict(stdout, &run, rc, note);
  }
  kiln_report_dir_close(&report_dir);
  kiln_context_set(NULL);
  kiln_sampler_free(sampler);
  free(aer);
  if (have_inventory)
    kiln_inventory_free(&inv);
  kiln_spec_free(&spec);
  kiln_run_free(&run);
  kiln_plan_free(&plan);
  kiln_sku_free(&sku_override);
  kiln_sku_set_free(&skus);
  kiln_profile_free(&prof);
  for (size_t i = 0; i < a.n_inject; i++)
    free(a.inject_buf[i]);
  return rc;
}

/* The CUDA runtime built in says which drivers the GPU steps can use. */
static int cmd_version(void) {
  printf("kiln %s\n", KILN_VERSION);
  int cuda = kiln_cuda_built_version();
  if (cuda <= 0) {
    printf("built without CUDA: GPU steps are an ERROR where NVIDIA GPUs are "
           "on the bus\n");
    return 0;
  }
  char blas[64], lt[64];
  kiln_cuda_lib_soname("libcublas", blas, sizeof blas);
  kiln_cuda_lib_soname("libcublasLt", lt, sizeof lt);
  int driver = kiln_cuda_min_driver(cuda);
  printf("built with CUDA runtime %d.%d: ", cuda / 1000, cuda % 1000 / 10);
  if (driver > 0)
    printf("needs NVIDIA driver %d or newer", driver);
  else
    printf("needs the NVIDIA driver CUDA %d.%d needs (see its release notes)",
           cuda / 1000, cuda % 1000 / 10);
  printf("; loads %s and %s at run time\n", blas, lt);
  return 0;
}

/* A closed stdin, stdout or stderr would be handed to the first file kiln
 * opens (the OCP stream), and the log written into it. */
static void open_standard_fds(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
      continue;
    int devnull = open("/dev/null", O_RDWR);
    if (devnull < 0)
      _exit(EXIT_ENV);
    if (devnull != fd) {
      dup2(devnull, fd);
      close(devnull);
    }
  }
}

int main(int argc, char **argv) {
  open_standard_fds();
  if (argc < 2) {
    usage(stderr);
    return EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "run") == 0)
    return cmd_run(argc - 1, argv + 1);
  if (strcmp(cmd, "list") == 0)
    return cmd_list(argc - 1, argv + 1);
  if (strcmp(cmd, "inventory") == 0)
    return cmd_inventory(argc - 1, argv + 1);
  if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0)
    return cmd_version();
  if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
      strcmp(cmd, "-h") == 0) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr,
          "kiln: unknown command '%s' (run, inventory, list, version)\n", cmd);
  return EXIT_USAGE;
}
