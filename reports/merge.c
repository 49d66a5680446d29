/* kiln_merge(): each node's record read back (kiln_ocp_read), judged, and
 * handed to the four writers (merge_junit.c, merge_text.c, merge_html.c).
 *
 * A node is judged by its run's verdict, and is an ERROR row (never a gap)
 * when its record is missing, unreadable or unfinished, or when another
 * directory holds the same serial; what its steps found still counts (a
 * FAIL found stays FAIL: FAIL beats ERROR, as in one run). Every problem
 * goes to say() and into the reports. Directories of different profiles
 * cannot be compared cell by cell: they are refused (64) before anything
 * is written. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kiln/merge.h"
#include "kiln/textutil.h"
#include "merge_model.h"
#include "report_util.h"

/* ---- cells ---- */

/* How bad a step's state is for its cell: the worst step shows. */
static int cell_rank(const struct kiln_step_result *s) {
  if (s->state == KILN_STEP_PENDING)
    return 2;
  if (s->state == KILN_STEP_RUNNING)
    return 3;
  switch (s->verdict) {
  case KILN_SKIP: return 0;
  case KILN_PASS: return 1;
  case KILN_ABORTED: return 4;
  case KILN_ERROR: return 5;
  case KILN_FAIL: return 6;
  }
  return 5;
}

const struct kiln_step_result *merge_cell(const struct merge_record *node,
                                          const char *module) {
  if (!node->have_run)
    return NULL;
  const struct kiln_step_result *worst = NULL;
  for (size_t i = 0; i < node->run.n_steps; i++) {
    const struct kiln_step_result *s = &node->run.steps[i];
    if (strcmp(s->module, module) == 0 &&
        (!worst || cell_rank(s) > cell_rank(worst)))
      worst = s;
  }
  return worst;
}

const char *merge_cell_label(const struct kiln_step_result *s) {
  return s ? report_step_label(s) : "-";
}

/* ---- reading the nodes ---- */

static void add_problem(struct merge_model *m, kiln_merge_say_fn say, void *ctx,
                        char *line) {
  m->problems =
      kiln_xrealloc(m->problems, (m->n_problems + 1) * sizeof *m->problems);
  m->problems[m->n_problems++] = line;
  if (say)
    say(ctx, line);
}

/* The step the run was in when it stopped: the last started of those
 * still running, else the last started; NULL when none started. */
static const struct kiln_step_result *last_started(const struct kiln_run *run) {
  const struct kiln_step_result *last = NULL, *running = NULL;
  for (size_t i = 0; i < run->n_steps; i++) {
    const struct kiln_step_result *s = &run->steps[i];
    if (s->start <= 0)
      continue;
    if (!last || s->start >= last->start)
      last = s;
    if (s->state == KILN_STEP_RUNNING &&
        (!running || s->start >= running->start))
      running = s;
  }
  return running ? running : last;
}

/* Why an unfinished run is not judged: "run never ended: last step
 * cpu.compute started at T". */
static char *unfinished_text(const struct kiln_run *run) {
  const struct kiln_step_result *s = last_started(run);
  if (!s)
    return kiln_xstrdup("run never ended: no step started");
  char stamp[40];
  kiln_format_time(s->start, stamp, sizeof stamp);
  return kiln_strdup_printf("run never ended: last step %s started at %s%s",
                            s->id, stamp,
                            s->state == KILN_STEP_DONE ? " and ended" : "");
}

/* The reason, after the launcher's when it gave one. */
static char *with_lost_reason(const struct kiln_merge_node *in, char *what) {
  if (!in->lost_reason || !in->lost_reason[0])
    return what;
  char *text = kiln_strdup_printf("%s (%s)", in->lost_reason, what);
  free(what);
  return text;
}

static const char *base_name(const char *dir) {
  size_t len = strlen(dir);
  while (len > 1 && dir[len - 1] == '/')
    len--;
  const char *p = dir + len;
  while (p > dir && p[-1] != '/')
    p--;
  return p;
}

static void read_node(struct merge_record *r,
                      const struct kiln_merge_node *in) {
  r->dir = in->dir;
  kiln_run_init(&r->run);
  struct stat st;
  char *path = kiln_strdup_printf("%s/ocp.jsonl", in->dir);
  char err[1024];
  if (stat(in->dir, &st) != 0) {
    r->problem =
        kiln_strdup_printf("no directory %s: %s", in->dir, strerror(errno));
  } else if (!S_ISDIR(st.st_mode)) {
    r->problem = kiln_strdup_printf("%s is not a directory", in->dir);
  } else if (stat(path, &st) != 0 && errno == ENOENT) {
    r->problem = kiln_strdup_printf("no ocp.jsonl in %s", in->dir);
  } else if (kiln_ocp_read(path, &r->run, err, sizeof err) != 0) {
    r->problem = kiln_xstrdup(err);
    kiln_run_free(&r->run);
  } else {
    r->have_run = true;
    if (!r->run.finished)
      r->problem = unfinished_text(&r->run);
  }
  free(path);
  if (r->problem)
    r->problem = with_lost_reason(in, r->problem);
  const char *name = in->name;
  if (!name || !name[0])
    name = r->have_run && r->run.dut.hostname[0] ? r->run.dut.hostname
                                                 : base_name(in->dir);
  r->name = kiln_xstrdup(name);
}

/* Both directories of one serial are ERROR: which is the node is unknown. */
static void judge_duplicates(struct merge_model *m, kiln_merge_say_fn say,
                             void *ctx) {
  for (size_t i = 0; i < m->n_nodes; i++) {
    struct merge_record *a = &m->nodes[i];
    if (!a->have_run)
      continue;
    for (size_t k = i + 1; k < m->n_nodes; k++) {
      struct merge_record *b = &m->nodes[k];
      if (!b->have_run || strcmp(a->run.dut.serial, b->run.dut.serial) != 0)
        continue;
      char *shown = kiln_escape_controls(a->run.dut.serial);
      add_problem(m, say, ctx,
                  kiln_strdup_printf("serial %s is in both %s and %s: both "
                                     "are ERROR",
                                     shown, a->dir, b->dir));
      struct merge_record *pair[2] = {a, b};
      for (int j = 0; j < 2; j++) {
        if (pair[j]->problem)
          continue;
        pair[j]->problem = kiln_strdup_printf("serial %s is also in %s", shown,
                                              pair[1 - j]->dir);
      }
      free(shown);
    }
  }
}

/* Two nodes shown alike (one host name, one directory name) are told
 * apart by their directories. */
static void distinguish_names(struct merge_model *m) {
  bool *clash = kiln_xcalloc(m->n_nodes, sizeof *clash);
  for (size_t i = 0; i < m->n_nodes; i++)
    for (size_t k = i + 1; k < m->n_nodes; k++)
      if (strcmp(m->nodes[i].name, m->nodes[k].name) == 0)
        clash[i] = clash[k] = true;
  for (size_t i = 0; i < m->n_nodes; i++) {
    if (!clash[i])
      continue;
    char *name =
        kiln_strdup_printf("%s (%s)", m->nodes[i].name, m->nodes[i].dir);
    free(m->nodes[i].name);
    m->nodes[i].name = name;
  }
  free(clash);
}

/* 64 with err naming both when two readable records ran other profiles. */
static int check_profiles(struct merge_model *m, char *err, size_t n) {
  const struct merge_record *first = NULL;
  for (size_t i = 0; i < m->n_nodes; i++) {
    const struct merge_record *r = &m->nodes[i];
    if (!r->have_run)
      continue;
    if (!first) {
      first = r;
      m->profile = r->run.profile;
    } else if (strcmp(r->run.profile, first->run.profile) != 0) {
      snprintf(err, n,
               "directories of different profiles: %s (%s) and %s (%s): merge "
               "the runs of one profile",
               first->dir, first->run.profile, r->dir, r->run.profile);
      return 64;
    }
  }
  return 0;
}

static void add_modules(struct merge_model *m, const struct kiln_run *run) {
  for (size_t i = 0; i < run->n_steps; i++) {
    const char *module = run->steps[i].module;
    bool seen = false;
    for (size_t k = 0; k < m->n_modules && !seen; k++)
      seen = strcmp(m->modules[k], module) == 0;
    if (seen)
      continue;
    m->modules =
        kiln_xrealloc(m->modules, (m->n_modules + 1) * sizeof *m->modules);
    m->modules[m->n_modules++] = kiln_xstrdup(module);
  }
}

/* target relative to base (both absolute, normalized), or NULL. */
static char *relative_path(const char *base, const char *target) {
  if (strcmp(base, "/") == 0)
    return kiln_strdup_printf("%s/", target + 1);
  size_t common = 0;
  for (size_t i = 0;; i++) {
    char a = base[i], b = target[i];
    if ((a == '/' || a == 0) && (b == '/' || b == 0))
      common = i;
    if (a != b || a == 0)
      break;
  }
  char *text = kiln_xstrdup("");
  for (const char *p = base + common; *p; p++)
    if (*p == '/') {
      char *more = kiln_strdup_printf("%s../", text);
      free(text);
      text = more;
    }
  const char *rest = target + common;
  while (*rest == '/')
    rest++;
  char *path = kiln_strdup_printf("%s%s%s", text, rest, rest[0] ? "/" : "");
  free(text);
  return path;
}

/* The node's report.html as the merged page links to it. */
static char *report_href(const char *out_real, const char *dir) {
  char *page = kiln_strdup_printf("%s/report.html", dir);
  struct stat st;
  bool there = stat(page, &st) == 0 && S_ISREG(st.st_mode);
  free(page);
  if (!there)
    return NULL;
  char dir_real[PATH_MAX];
  if (!out_real || !realpath(dir, dir_real))
    return NULL;
  char *rel = relative_path(out_real, dir_real);
  char *href = kiln_strdup_printf("%sreport.html", rel);
  free(rel);
  return href;
}

static void set_problem_step(struct merge_record *r) {
  struct kiln_step_result *s = &r->problem_step;
  memset(s, 0, sizeof *s);
  s->id = "record";
  s->module = "record";
  s->target = (char *)r->dir;
  s->state = KILN_STEP_DONE;
  s->verdict = KILN_ERROR;
  s->reason = r->problem;
}

static void model_free(struct merge_model *m) {
  for (size_t i = 0; i < m->n_nodes; i++) {
    struct merge_record *r = &m->nodes[i];
    kiln_run_free(&r->run);
    free(r->name);
    free(r->problem);
    free(r->report_href);
  }
  free(m->nodes);
  for (size_t i = 0; i < m->n_modules; i++)
    free(m->modules[i]);
  free(m->modules);
  for (size_t i = 0; i < m->n_problems; i++)
    free(m->problems[i]);
  free(m->problems);
}

/* Writes the four reports; 0, or 2 with the first failure in err. */
static int write_reports(const struct merge_model *m, const char *out_dir,
                         char *err, size_t n) {
  static const struct {
    const char *name;
    int (*write)(const struct merge_model *, const char *, char *, size_t);
  } files[] = {{"junit.xml", merge_write_junit},
               {"summary.txt", merge_write_summary},
               {"report.html", merge_write_html},
               {"results.tap", merge_write_tap}};
  int rc = 0;
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    char *path = kiln_strdup_printf("%s/%s", out_dir, files[i].name);
    char why[1024];
    if (files[i].write(m, path, why, sizeof why) != 0 && rc == 0) {
      snprintf(err, n, "%s", why);
      rc = 2;
    }
    free(path);
  }
  return rc;
}

int kiln_merge(const struct kiln_merge_node *nodes, size_t n_nodes,
               const char *out_dir, kiln_merge_say_fn say, void *say_ctx,
               enum kiln_verdict *verdict, char *err, size_t n) {
  enum kiln_verdict unused;
  if (!verdict)
    verdict = &unused;
  *verdict = KILN_ERROR;
  if (n_nodes == 0) {
    snprintf(err, n, "no node directories to merge");
    return 64;
  }
  struct merge_model m = {0};
  m.nodes = kiln_xcalloc(n_nodes, sizeof *m.nodes);
  m.n_nodes = n_nodes;
  for (size_t i = 0; i < n_nodes; i++)
    read_node(&m.nodes[i], &nodes[i]);
  distinguish_names(&m);
  int rc = check_profiles(&m, err, n);
  if (rc != 0) {
    model_free(&m);
    return rc;
  }
  for (size_t i = 0; i < n_nodes; i++) {
    struct merge_record *r = &m.nodes[i];
    if (r->problem)
      add_problem(&m, say, say_ctx,
                  kiln_strdup_printf("%s: ERROR: %s", r->name, r->problem));
    else if (r->have_run && r->run.verdict == KILN_ABORTED &&
             nodes[i].lost_reason && nodes[i].lost_reason[0])
      /* A whole record of a run stopped from outside (Slurm's time limit,
       * a cancelled job): ABORTED it stays, with the launcher's why. */
      add_problem(&m, say, say_ctx,
                  kiln_strdup_printf("%s: ABORTED: %s (%s)", r->name,
                                     nodes[i].lost_reason,
                                     r->run.abort_reason ? r->run.abort_reason
                                                         : "its run aborted"));
  }
  judge_duplicates(&m, say, say_ctx);
  if (kiln_make_dirs(out_dir, "report dir", err, n) != 0) {
    model_free(&m);
    return 2;
  }
  char out_real[PATH_MAX];
  bool have_out = realpath(out_dir, out_real) != NULL;
  m.verdict = KILN_PASS;
  for (size_t i = 0; i < n_nodes; i++) {
    struct merge_record *r = &m.nodes[i];
    if (r->have_run) {
      add_modules(&m, &r->run);
      r->verdict = report_run_verdict(&r->run);
    }
    if (r->problem) {
      r->verdict =
          r->have_run ? kiln_verdict_worse(r->verdict, KILN_ERROR) : KILN_ERROR;
      set_problem_step(r);
    }
    r->report_href = report_href(have_out ? out_real : NULL, r->dir);
    m.verdict = kiln_verdict_worse(
        m.verdict, r->verdict == KILN_SKIP ? KILN_PASS : r->verdict);
  }
  rc = kiln_verdict_exit_code(m.verdict);
  if (write_reports(&m, out_dir, err, n) != 0)
    rc = 2;
  else
    *verdict = m.verdict;
  model_free(&m);
  return rc;
}
