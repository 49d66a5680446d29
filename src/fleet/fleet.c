/* `kiln fleet`: srun launched and followed, nodes judged by their own
 * records, then merged (see fleet.h). */
#include "fleet/fleet.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kiln/merge.h"
#include "kiln/module.h"
#include "kiln/result.h"
#include "kiln/textutil.h"

extern char **environ;

/* The node's shell only adds its own name to the report directory; the
 * words after it are kiln's path, DIR, then kiln run's options. */
static const char node_script[] =
    "dir=$1; shift; exec \"$0\" run --report-dir \"$dir/$SLURMD_NODENAME\" "
    "\"$@\"";

struct kiln_fleet {
  char *dir, *slurm_dir, *srun_log;
  char *scancel, *scontrol; /* beside srun, or on PATH; NULL: absent */
  pid_t srun_pid;
  int srun_status; /* -1 while it runs */
  long job_id;
  char *step_id;    /* "12.0" */
  char *last_error; /* srun's last "error:" line not about one node */
  off_t log_offset;
  struct kiln_fleet_node *nodes;
  size_t n_nodes;
  bool finished;
};

const char *kiln_fleet_state_name(enum kiln_fleet_state s) {
  switch (s) {
  case KILN_FLEET_PENDING: return "pending";
  case KILN_FLEET_RUNNING: return "running";
  case KILN_FLEET_DONE: return "done";
  case KILN_FLEET_LOST: return "lost";
  }
  return "?";
}

/* ---- the command line ---- */

struct argv_builder {
  char **v;
  size_t n;
};

static void add(struct argv_builder *b, char *s) {
  b->v = kiln_xrealloc(b->v, (b->n + 2) * sizeof *b->v);
  b->v[b->n++] = s;
  b->v[b->n] = NULL;
}

static void add_opt(struct argv_builder *b, const char *name,
                    const char *value) {
  if (value)
    add(b, kiln_strdup_printf("%s=%s", name, value));
}

char **kiln_fleet_srun_argv(const struct kiln_fleet_options *o) {
  struct argv_builder b = {0};
  add(&b, kiln_xstrdup(o->srun));
  add(&b, kiln_xstrdup("-v")); /* the job id, the nodes, each task's end */
  add(&b, kiln_xstrdup("--ntasks-per-node=1"));
  add(&b, kiln_xstrdup("--exclusive"));
  add(&b, kiln_xstrdup("--kill-on-bad-exit=0"));
  add(&b, kiln_xstrdup("--input=none"));
  add(&b, kiln_xstrdup("--job-name=kiln-fleet"));
  add(&b, kiln_strdup_printf("--comment=kiln-fleet:%s", o->dir));
  add(&b, kiln_strdup_printf("--output=%s/slurm/%%N.log", o->dir));
  add_opt(&b, "--nodes", o->nodes);
  add_opt(&b, "--nodelist", o->nodelist);
  add_opt(&b, "--partition", o->partition);
  add_opt(&b, "--time", o->time_limit);
  add_opt(&b, "--account", o->account);
  add(&b, kiln_xstrdup("/bin/sh"));
  add(&b, kiln_xstrdup("-c"));
  add(&b, kiln_xstrdup(node_script));
  add(&b, kiln_xstrdup(o->kiln));
  add(&b, kiln_xstrdup(o->dir));
  if (o->upload) {
    add(&b, kiln_xstrdup("--upload"));
    add(&b, kiln_xstrdup(o->upload));
  }
  for (size_t i = 0; i < o->n_run_args; i++)
    add(&b, kiln_xstrdup(o->run_args[i]));
  return b.v;
}

void kiln_fleet_argv_free(char **argv) {
  if (!argv)
    return;
  for (char **p = argv; *p; p++)
    free(*p);
  free(argv);
}

char *kiln_fleet_which(const char *name) {
  if (strchr(name, '/'))
    return access(name, X_OK) == 0 ? kiln_xstrdup(name) : NULL;
  const char *path = getenv("PATH");
  if (!path || !*path)
    path = "/usr/bin:/bin";
  while (*path) {
    size_t len = strcspn(path, ":");
    char *cand = kiln_strdup_printf("%.*s/%s", (int)(len ? len : 1),
                                    len ? path : ".", name);
    struct stat st;
    if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
      return cand;
    free(cand);
    path += len;
    if (*path == ':')
      path++;
  }
  return NULL;
}

/* ---- spawning ---- */

/* Spawns argv with stdin from /dev/null and stdout and stderr appended to
 * log, in a process group of its own: the pid, or -1 with errno. */
static pid_t spawn_logged(char *const argv[], const char *log, bool truncate) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(
      &fa, 1, log, O_WRONLY | O_CREAT | O_APPEND | (truncate ? O_TRUNC : 0),
      0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  sigset_t none, dflt;
  sigemptyset(&none);
  sigemptyset(&dflt);
  sigaddset(&dflt, SIGINT);
  sigaddset(&dflt, SIGTERM);
  sigaddset(&dflt, SIGHUP);
  sigaddset(&dflt, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &dflt);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
                                      POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    errno = rc;
    return -1;
  }
  return pid;
}

/* A tool of Slurm's: beside srun, else on PATH. */
static char *slurm_tool(const char *srun, const char *name) {
  const char *slash = strrchr(srun, '/');
  if (slash) {
    char *p = kiln_strdup_printf("%.*s/%s", (int)(slash - srun), srun, name);
    if (access(p, X_OK) == 0)
      return p;
    free(p);
  }
  return kiln_fleet_which(name);
}

struct kiln_fleet *kiln_fleet_start(const struct kiln_fleet_options *o,
                                    char *err, size_t n) {
  struct kiln_fleet *f = kiln_xcalloc(1, sizeof *f);
  f->dir = kiln_xstrdup(o->dir);
  f->slurm_dir = kiln_strdup_printf("%s/slurm", o->dir);
  f->srun_log = kiln_strdup_printf("%s/srun.log", f->slurm_dir);
  f->srun_status = -1;
  f->scancel = slurm_tool(o->srun, "scancel");
  f->scontrol = slurm_tool(o->srun, "scontrol");
  if (mkdir(f->slurm_dir, 0755) != 0 && errno != EEXIST) {
    snprintf(err, n, "%s: %s", f->slurm_dir, strerror(errno));
    kiln_fleet_free(f);
    return NULL;
  }
  char **argv = kiln_fleet_srun_argv(o);
  f->srun_pid = spawn_logged(argv, f->srun_log, true);
  int e = errno;
  kiln_fleet_argv_free(argv);
  if (f->srun_pid < 0) {
    snprintf(err, n, "%s: %s", o->srun, strerror(e));
    kiln_fleet_free(f);
    return NULL;
  }
  return f;
}

/* ---- what srun says ---- */

static struct kiln_fleet_node *find_node(struct kiln_fleet *f,
                                         const char *name) {
  for (size_t i = 0; i < f->n_nodes; i++)
    if (strcmp(f->nodes[i].name, name) == 0)
      return &f->nodes[i];
  return NULL;
}

static struct kiln_fleet_node *add_node(struct kiln_fleet *f,
                                        const char *name) {
  struct kiln_fleet_node *node = find_node(f, name);
  if (node)
    return node;
  f->nodes = kiln_xrealloc(f->nodes, (f->n_nodes + 1) * sizeof *f->nodes);
  node = &f->nodes[f->n_nodes++];
  memset(node, 0, sizeof *node);
  node->name = kiln_xstrdup(name);
  node->dir = kiln_strdup_printf("%s/%s", f->dir, name);
  node->seen_size = -1;
  return node;
}

/* "n2: task 1: Killed" at s: the node's task end. */
static bool task_end_line(struct kiln_fleet *f, const char *s) {
  char name[256];
  int task, used = 0;
  if (sscanf(s, "%255[^: ]: task %d: %n", name, &task, &used) < 2 || !used)
    return false;
  struct kiln_fleet_node *node = find_node(f, name);
  if (!node)
    return false;
  free(node->task_end);
  node->task_end = kiln_strdup_printf("%s: task %d: %s", name, task, s + used);
  return true;
}

static void srun_line(struct kiln_fleet *f, const char *line,
                      kiln_fleet_changed_fn changed, void *ctx) {
  static const char verbose_end[] = "launch/slurm: _task_finish: ";
  if (strncmp(line, "srun: ", 6) != 0)
    return;
  const char *s = line + 6;
  long job;
  char word[64], host[256];
  if (sscanf(s, "jobid %ld:", &job) == 1 ||
      sscanf(s, "job %ld queued", &job) == 1) {
    if (!f->job_id) {
      f->job_id = job;
      int count = 0;
      char list[1024] = "?";
      sscanf(s, "jobid %*d: nodes(%d):`%1023[^']", &count, list);
      char *text = strstr(s, "queued")
                       ? kiln_strdup_printf("job %ld queued: waiting for "
                                            "resources",
                                            job)
                       : kiln_strdup_printf("job %ld on %s (%d nodes)", job,
                                            list, count);
      changed(ctx, NULL, text);
      free(text);
    }
  } else if (sscanf(s, "launching StepId=%63s on host %255[^,],", word, host) ==
             2) {
    if (!f->step_id)
      f->step_id = kiln_xstrdup(word);
    struct kiln_fleet_node *node = add_node(f, host);
    changed(ctx, node, NULL);
  } else if (strncmp(s, verbose_end, sizeof verbose_end - 1) == 0) {
    task_end_line(f, s + sizeof verbose_end - 1);
  } else if (strncmp(s, "error: ", 7) == 0) {
    struct kiln_fleet_node *down;
    /* A node gone down never has its task's end reported: this is it. */
    if (sscanf(s + 7, "Node failure on %255s", host) == 1 &&
        (down = find_node(f, host)) && !down->task_end)
      down->task_end = kiln_xstrdup(s + 7);
    if (!task_end_line(f, s + 7)) {
      free(f->last_error);
      f->last_error = kiln_xstrdup(s + 7);
      changed(ctx, NULL, line);
    }
  } else if (strstr(s, "aborted") || strstr(s, "CANCELLED") ||
             strstr(s, "TIME LIMIT")) {
    changed(ctx, NULL, line);
  }
}

/* Reads what srun wrote since the last look, whole lines only. */
static void read_srun_log(struct kiln_fleet *f, kiln_fleet_changed_fn changed,
                          void *ctx) {
  FILE *log = fopen(f->srun_log, "r");
  if (!log)
    return;
  if (fseeko(log, f->log_offset, SEEK_SET) != 0) {
    fclose(log);
    return;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, log)) > 0) {
    if (line[len - 1] != '\n')
      break; /* srun is still writing it */
    f->log_offset += len;
    line[len - 1] = '\0';
    srun_line(f, line, changed, ctx);
  }
  free(line);
  fclose(log);
}

/* ---- what each node's record says ---- */

/* The step a node's line shows: the running step that started last
 * (ties: the later in the plan). A monitor (thermal, edac: one step from
 * the run's start to its end) only when nothing else runs, or it would
 * hide every step that runs beside it. */
static const char *current_step(const struct kiln_run *run) {
  const struct kiln_step_result *shown = NULL;
  bool shown_monitor = false;
  for (size_t i = 0; i < run->n_steps; i++) {
    const struct kiln_step_result *s = &run->steps[i];
    if (s->state != KILN_STEP_RUNNING)
      continue;
    const struct kiln_module *m = kiln_module_find(s->module);
    bool monitor = m && m->targets == KILN_TARGETS_MONITOR;
    if (shown && monitor && !shown_monitor)
      continue;
    if (shown && monitor == shown_monitor && s->start < shown->start)
      continue;
    shown = s;
    shown_monitor = monitor;
  }
  return shown ? shown->id : NULL;
}

/* Reads what was appended to node's ocp.jsonl when it changed (one stat
 * when it did not); true when what the progress line shows moved. */
static bool read_node(struct kiln_fleet_node *node) {
  char *path = kiln_strdup_printf("%s/ocp.jsonl", node->dir);
  struct stat st;
  bool there = stat(path, &st) == 0;
  long long mtime_ns =
      there ? (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec
            : 0;
  if (!there ||
      (st.st_size == node->seen_size && mtime_ns == node->seen_mtime_ns)) {
    free(path);
    return false;
  }
  if (!node->follow)
    node->follow = kiln_ocp_follow_open(path);
  free(path);
  char err[512];
  if (kiln_ocp_follow_update(node->follow, err, sizeof err) != 0)
    return false; /* unreadable now, or broken: asked again next time */
  node->seen_size = st.st_size;
  node->seen_mtime_ns = mtime_ns;
  if (!kiln_ocp_follow_started(node->follow))
    return false;
  const struct kiln_run *run = kiln_ocp_follow_run(node->follow);
  const char *step = current_step(run);
  bool judged = false;
  enum kiln_verdict verdict = KILN_PASS;
  for (size_t i = 0; i < run->n_steps; i++) {
    const struct kiln_step_result *s = &run->steps[i];
    if (s->start > 0 && !node->first_step_time)
      node->first_step_time = s->start;
    if (s->state == KILN_STEP_DONE) {
      verdict = judged ? kiln_verdict_worse(verdict, s->verdict) : s->verdict;
      judged = true;
    }
  }
  enum kiln_fleet_state state =
      run->finished ? KILN_FLEET_DONE : KILN_FLEET_RUNNING;
  if (run->finished) {
    verdict = run->verdict;
    judged = true;
    step = NULL;
  }
  bool same_step = (!step && !node->step) ||
                   (step && node->step && strcmp(step, node->step) == 0);
  bool moved = state != node->state || !same_step || judged != node->judged ||
               (judged && verdict != node->verdict);
  node->state = state;
  node->judged = judged;
  node->verdict = verdict;
  if (!same_step) {
    free(node->step);
    node->step = step ? kiln_xstrdup(step) : NULL;
  }
  if (state == KILN_FLEET_DONE) {
    /* Never read again: the merge reads the record whole. */
    kiln_ocp_follow_close(node->follow);
    node->follow = NULL;
  }
  return moved;
}

/* ---- the end ---- */

/* The last non-empty line of path (a node's output), malloc'd, or NULL. */
static char *last_line(const char *path) {
  FILE *in = fopen(path, "r");
  if (!in)
    return NULL;
  char *line = NULL, *last = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, in)) > 0) {
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
                       line[len - 1] == ' '))
      line[--len] = '\0';
    if (len > 0) {
      free(last);
      last = kiln_escape_controls(line);
    }
  }
  free(line);
  fclose(in);
  return last;
}

/* "JobState=TIMEOUT Reason=TimeLimit" from scontrol, or NULL. */
static char *job_state(struct kiln_fleet *f) {
  if (!f->scontrol || !f->job_id)
    return NULL;
  char *out = kiln_strdup_printf("%s/scontrol.out", f->slurm_dir);
  char id[32];
  snprintf(id, sizeof id, "%ld", f->job_id);
  char *argv[] = {f->scontrol, "-o", "show", "job", id, NULL};
  char *result = NULL;
  pid_t pid = spawn_logged(argv, out, true);
  int status;
  if (pid > 0 && waitpid(pid, &status, 0) == pid) {
    char text_err[256];
    char *text = kiln_read_text_file(out, 1 << 16, "scontrol's answer",
                                     text_err, sizeof text_err);
    const char *st = text ? strstr(text, "JobState=") : NULL;
    const char *why = text ? strstr(text, " Reason=") : NULL;
    if (st)
      result = kiln_strdup_printf("job %ld %.*s%s%.*s", f->job_id,
                                  (int)strcspn(st, " \n"), st, why ? " " : "",
                                  why ? (int)strcspn(why + 1, " \n") : 0,
                                  why ? why + 1 : "");
    free(text);
  }
  unlink(out);
  free(out);
  return result;
}

/* Whether the job's state tells why it stopped (TIMEOUT, NODE_FAIL,
 * CANCELLED, a reason), not only that it is ending. */
static bool job_state_says_why(const char *state) {
  static const char *const bare[] = {"JobState=RUNNING", "JobState=COMPLETING",
                                     "JobState=COMPLETED"};
  if (!strstr(state, "Reason=None"))
    return true;
  for (size_t i = 0; i < sizeof bare / sizeof bare[0]; i++)
    if (strstr(state, bare[i]))
      return false;
  return true;
}

static void judge_lost(struct kiln_fleet *f, kiln_fleet_changed_fn changed,
                       void *ctx) {
  char *state = NULL;
  bool asked = false;
  for (size_t i = 0; i < f->n_nodes; i++) {
    struct kiln_fleet_node *node = &f->nodes[i];
    bool aborted = node->state == KILN_FLEET_DONE && node->judged &&
                   node->verdict == KILN_ABORTED;
    if (node->state == KILN_FLEET_DONE && !aborted)
      continue;
    if (!asked) {
      state = job_state(f);
      asked = true;
    }
    if (aborted) {
      /* A whole record: why Slurm stopped it (the time limit, scancel)
       * goes beside it. */
      if (state && job_state_says_why(state))
        node->aborted_by = kiln_xstrdup(state);
      continue;
    }
    char *log = kiln_strdup_printf("%s/%s.log", f->slurm_dir, node->name);
    char *said = last_line(log);
    node->state = KILN_FLEET_LOST;
    node->lost_reason = kiln_strdup_printf(
        "no complete report from %s: %s%s%s%s%s%s", node->name,
        node->task_end ? "srun: " : "its task ended (srun said nothing)",
        node->task_end ? node->task_end : "", state ? "; " : "",
        state ? state : "", said ? "; its last output: " : "",
        said ? said : "");
    free(said);
    free(log);
    free(node->step);
    node->step = NULL;
    changed(ctx, node, NULL);
  }
  free(state);
}

bool kiln_fleet_poll(struct kiln_fleet *f, kiln_fleet_changed_fn changed,
                     void *ctx) {
  if (f->finished)
    return true;
  bool ended = false;
  if (f->srun_status < 0) {
    int status;
    pid_t r = waitpid(f->srun_pid, &status, WNOHANG);
    if (r == f->srun_pid) {
      f->srun_status = WIFEXITED(status)     ? WEXITSTATUS(status)
                       : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                             : 2;
      ended = true;
    } else if (r < 0 && errno != EINTR) {
      f->srun_status = 2;
      ended = true;
    }
  }
  read_srun_log(f, changed, ctx);
  for (size_t i = 0; i < f->n_nodes; i++)
    if (f->nodes[i].state != KILN_FLEET_DONE && read_node(&f->nodes[i]))
      changed(ctx, &f->nodes[i], NULL);
  if (ended) {
    judge_lost(f, changed, ctx);
    f->finished = true;
  }
  return f->finished;
}

void kiln_fleet_cancel(struct kiln_fleet *f, bool hard) {
  if (f->srun_status >= 0)
    return;
  char id[64];
  if (f->step_id)
    snprintf(id, sizeof id, "%s", f->step_id);
  else if (f->job_id)
    snprintf(id, sizeof id, "%ld", f->job_id);
  if ((f->step_id || f->job_id) && f->scancel) {
    /* SIGTERM alone, as `scancel JOB` begins: scancel of a step would
     * SIGKILL its tasks before kiln run could write its end. */
    char *soft[] = {f->scancel, "--signal=TERM", id, NULL};
    char *whole[] = {f->scancel, id, NULL};
    char *out = kiln_strdup_printf("%s/scancel.log", f->slurm_dir);
    pid_t pid = spawn_logged(hard ? whole : soft, out, false);
    free(out);
    int status;
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
        WEXITSTATUS(status) == 0)
      return;
  }
  /* No job yet, or scancel failed: srun cancels what it asked for. */
  kill(f->srun_pid, SIGTERM);
}

static int by_name(const void *a, const void *b) {
  const struct kiln_fleet_node *x = a, *y = b;
  return strcmp(x->name, y->name);
}

struct kiln_fleet *kiln_fleet_look(const char *dir, char *err, size_t n) {
  DIR *d = opendir(dir);
  if (!d) {
    snprintf(err, n, "%s: %s", dir, strerror(errno));
    return NULL;
  }
  struct kiln_fleet *f = kiln_xcalloc(1, sizeof *f);
  f->dir = kiln_xstrdup(dir);
  f->slurm_dir = kiln_strdup_printf("%s/slurm", dir);
  f->srun_log = kiln_strdup_printf("%s/srun.log", f->slurm_dir);
  f->srun_status = -1;
  f->finished = true;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char *ocp = kiln_strdup_printf("%s/%s/ocp.jsonl", dir, e->d_name);
    struct stat st;
    if (stat(ocp, &st) == 0 && S_ISREG(st.st_mode))
      add_node(f, e->d_name);
    free(ocp);
  }
  closedir(d);
  if (f->n_nodes)
    qsort(f->nodes, f->n_nodes, sizeof *f->nodes, by_name);
  for (size_t i = 0; i < f->n_nodes; i++)
    read_node(&f->nodes[i]);
  return f;
}

size_t kiln_fleet_n_nodes(const struct kiln_fleet *f) { return f->n_nodes; }

const struct kiln_fleet_node *kiln_fleet_node(const struct kiln_fleet *f,
                                              size_t i) {
  return i < f->n_nodes ? &f->nodes[i] : NULL;
}

long kiln_fleet_job_id(const struct kiln_fleet *f) { return f->job_id; }

int kiln_fleet_srun_status(const struct kiln_fleet *f) {
  return f->srun_status;
}

int kiln_fleet_merge(struct kiln_fleet *f, kiln_fleet_say_fn say, void *ctx,
                     enum kiln_verdict *verdict, char *err, size_t n) {
  if (verdict)
    *verdict = KILN_ERROR;
  if (f->n_nodes == 0) {
    snprintf(err, n, "srun started no node (exit %d)%s%s; see %s",
             f->srun_status, f->last_error ? ": " : "",
             f->last_error ? f->last_error : "", f->srun_log);
    return 2;
  }
  struct kiln_merge_node *nodes = kiln_xcalloc(f->n_nodes, sizeof *nodes);
  for (size_t i = 0; i < f->n_nodes; i++) {
    nodes[i].dir = f->nodes[i].dir;
    nodes[i].name = f->nodes[i].name;
    nodes[i].lost_reason = f->nodes[i].lost_reason ? f->nodes[i].lost_reason
                                                   : f->nodes[i].aborted_by;
  }
  int rc = kiln_merge(nodes, f->n_nodes, f->dir, say, ctx, verdict, err, n);
  free(nodes);
  return rc;
}

void kiln_fleet_free(struct kiln_fleet *f) {
  if (!f)
    return;
  for (size_t i = 0; i < f->n_nodes; i++) {
    free(f->nodes[i].name);
    free(f->nodes[i].dir);
    free(f->nodes[i].step);
    free(f->nodes[i].task_end);
    free(f->nodes[i].lost_reason);
    free(f->nodes[i].aborted_by);
    kiln_ocp_follow_close(f->nodes[i].follow);
  }
  free(f->nodes);
  free(f->dir);
  free(f->slurm_dir);
  free(f->srun_log);
  free(f->scancel);
  free(f->scontrol);
  free(f->step_id);
  free(f->last_error);
  free(f);
}
