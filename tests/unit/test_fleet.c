/* kiln fleet's Slurm side without Slurm: kiln_fleet_srun_argv (each
 * selection option to its srun flag, the node command run by the node's
 * own shell with every word of the user's intact), what srun -v said in
 * real runs on the minicluster (tests/fixtures/fleet/<case>/slurm/srun.log:
 * healthy, a task SIGKILLed, a --time limit hit, a node set down, a job
 * queued, an unknown partition) replayed by a stand-in srun through
 * kiln_fleet_start and kiln_fleet_poll, the reason a lost node hands the merge,
 * and kiln_fleet_look over a fleet directory. Slurm itself is
 * tests/e2e/62-fleet.t's. */
#include <setjmp.h>
#include <stdarg.h>
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

#include "fleet/fleet.h"
#include "fsutil.h"
#include "kiln/textutil.h"
#include "report_fixture.h"

#define FIXTURES "tests/fixtures/fleet/"

extern char **environ;

static void assert_contains(const char *text, const char *needle) {
  if (!text || !strstr(text, needle))
    fail_msg("lacks \"%s\" in:\n%s", needle, text ? text : "(null)");
}

static size_t argv_count(char **argv) {
  size_t n = 0;
  while (argv[n])
    n++;
  return n;
}

/* The index of word in argv, or -1. */
static long argv_find(char **argv, const char *word) {
  for (size_t i = 0; argv[i]; i++)
    if (strcmp(argv[i], word) == 0)
      return (long)i;
  return -1;
}

static void make_executable(const char *path, const char *text) {
  fs_write_file(path, text);
  if (chmod(path, 0755) != 0)
    fail_msg("chmod %s failed", path);
}

/* ---- kiln_fleet_srun_argv ---- */

static const struct kiln_fleet_options plain_options = {
    .srun = "/usr/bin/srun",
    .kiln = "/opt/kiln/bin/kiln",
    .dir = "/shared/fleet",
};

static void test_argv_fixed_flags(void **state) {
  char **argv = kiln_fleet_srun_argv(&plain_options);
  assert_string_equal(argv[0], "/usr/bin/srun");
  long sh = argv_find(argv, "/bin/sh");
  assert_true(sh > 0);
  /* srun's own options, all before the command (srun stops at it). */
  const char *fixed[] = {"-v", "--ntasks-per-node=1", "--exclusive",
                         "--kill-on-bad-exit=0"};
  for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
    long at = argv_find(argv, fixed[i]);
    if (at < 1 || at > sh)
      fail_msg("%s not among srun's options (at %ld)", fixed[i], at);
  }
  /* One failing node must not cancel the others: never a plain -K. */
  for (size_t i = 0; argv[i]; i++) {
    if (strcmp(argv[i], "-K") == 0 ||
        (strncmp(argv[i], "--kill-on-bad-exit", 18) == 0 &&
         strcmp(argv[i], "--kill-on-bad-exit=0") != 0))
      fail_msg("argv[%zu] is %s", i, argv[i]);
  }
  /* No selection asked: none given to srun. */
  const char *selection[] = {"--nodes",   "--nodelist", "--partition", "--time",
                             "--account", "-N",         "-w",          "-p",
                             "-t",        "-A"};
  for (size_t i = 0; argv[i] && (long)i < sh; i++)
    for (size_t k = 0; k < sizeof selection / sizeof *selection; k++)
      if (strncmp(argv[i], selection[k], strlen(selection[k])) == 0)
        fail_msg("unasked %s in argv[%zu]", argv[i], i);
  /* The node's output goes where judge_lost reads it. */
  assert_true(argv_find(argv, "--output=/shared/fleet/slurm/%N.log") > 0);
  /* Nothing of the user's: the command is kiln and DIR. */
  assert_string_equal(argv[sh + 1], "-c");
  assert_string_equal(argv[sh + 3], "/opt/kiln/bin/kiln");
  assert_string_equal(argv[sh + 4], "/shared/fleet");
  assert_int_equal(argv_count(argv), (size_t)sh + 5);
  assert_int_equal(argv_find(argv, "--upload"), -1);
  kiln_fleet_argv_free(argv);
}

static void test_argv_selection(void **state) {
  struct kiln_fleet_options o = plain_options;
  o.nodes = "4";
  o.nodelist = "n[1-2],n4";
  o.partition = "gpu batch"; /* one word to srun, whatever it holds */
  o.time_limit = "0:10";
  o.account = "ops";
  char **argv = kiln_fleet_srun_argv(&o);
  long sh = argv_find(argv, "/bin/sh");
  const char *want[] = {"--nodes=4", "--nodelist=n[1-2],n4",
                        "--partition=gpu batch", "--time=0:10",
                        "--account=ops"};
  for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
    long at = argv_find(argv, want[i]);
    if (at < 1 || at > sh)
      fail_msg("%s not among srun's options (at %ld, command at %ld)", want[i],
               at, sh);
  }
  kiln_fleet_argv_free(argv);
}

/* Runs the node command of argv (from /bin/sh on) as a node's slurmstepd
 * would, SLURMD_NODENAME=node; the exit status. */
static int run_node_command(char **argv, const char *node) {
  long sh = argv_find(argv, "/bin/sh");
  assert_true(sh > 0);
  setenv("SLURMD_NODENAME", node, 1);
  pid_t pid = fork();
  if (pid == 0) {
    execve("/bin/sh", argv + sh, environ);
    _exit(127);
  }
  unsetenv("SLURMD_NODENAME");
  int status = -1;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The words a recording kiln received, NUL-separated in file. */
static char **read_words(const char *file, size_t *n) {
  FILE *in = fopen(file, "r");
  if (!in)
    fail_msg("the node command did not run kiln (no %s)", file);
  char **words = NULL;
  *n = 0;
  char *word = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getdelim(&word, &cap, '\0', in)) > 0) {
    words = kiln_xrealloc(words, (*n + 1) * sizeof *words);
    words[(*n)++] = kiln_xstrdup(word);
  }
  free(word);
  fclose(in);
  return words;
}

/* kiln run's options reach kiln on the node verbatim and in order, and the
 * node's shell expands nothing of the user's: not in kiln's path, DIR, the
 * upload URL or any option. */
static void test_argv_words_reach_kiln_intact(void **state) {
  char *tmp = fixture_tmpdir();
  char *dir = kiln_strdup_printf("%s/fleet $HOME 'q' \"d\" `id` *", tmp);
  char *kiln = kiln_strdup_printf("%s/my kiln $0", tmp);
  char *words_file = kiln_strdup_printf("%s/words", tmp);
  char *script = kiln_strdup_printf("#!/bin/sh\n"
                                    "for a do printf '%%s\\000' \"$a\"; done "
                                    ">'%s'\n",
                                    words_file);
  make_executable(kiln, script);
  char *run_args[] = {"--profile", "my profile",
                      "--label",   "it's \"quoted\" $HOME `id` $(id) ; exit 3",
                      "-x",        "",
                      "*",         "two\nlines",
                      "--",        "$1 \\ '"};
  size_t n_run = sizeof run_args / sizeof *run_args;
  struct kiln_fleet_options o = plain_options;
  o.kiln = kiln;
  o.dir = dir;
  o.upload = "http://line:8080/a b?$x";
  o.run_args = run_args;
  o.n_run_args = n_run;
  char **argv = kiln_fleet_srun_argv(&o);
  assert_int_equal(run_node_command(argv, "n7"), 0);
  size_t n;
  char **words = read_words(words_file, &n);
  char *report_dir = kiln_strdup_printf("%s/n7", dir);
  const char *want[] = {"run", "--report-dir", report_dir, "--upload",
                        o.upload};
  size_t n_want = sizeof want / sizeof *want;
  assert_int_equal(n, n_want + n_run);
  for (size_t i = 0; i < n_want; i++)
    assert_string_equal(words[i], want[i]);
  for (size_t i = 0; i < n_run; i++)
    assert_string_equal(words[n_want + i], run_args[i]);
  for (size_t i = 0; i < n; i++)
    free(words[i]);
  free(words);
  free(report_dir);
  kiln_fleet_argv_free(argv);
  free(script);
  free(words_file);
  free(kiln);
  free(dir);
  fs_rm_rf(tmp);
  free(tmp);
}

/* ---- what srun said, replayed ---- */

/* A fleet run whose srun is a stand-in printing a real srun.log, with a
 * stand-in scontrol beside it (kiln_fleet_start looks there first)
 * printing a real `scontrol -o show job` answer. */
struct replay {
  char *tmp, *dir;
  struct kiln_fleet *f;
  char news[8192]; /* the job's own news, one line each */
  size_t n_changed_nodes;
};

static void on_changed(void *ctx, const struct kiln_fleet_node *node,
                       const char *text) {
  struct replay *r = ctx;
  if (node) {
    r->n_changed_nodes++;
    return;
  }
  size_t used = strlen(r->news);
  snprintf(r->news + used, sizeof r->news - used, "%s\n", text);
}

/* Replays FIXTURES<name>/slurm/srun.log, srun ending with srun_exit;
 * scontrol answers FIXTURES<name>.scontrol (or nothing). The fleet
 * directory starts as a copy of FIXTURES<name> (its nodes' records and
 * logs), when with_records. Polls until the end. */
static void replay(struct replay *r, const char *name, int srun_exit,
                   bool with_records) {
  memset(r, 0, sizeof *r);
  r->tmp = fixture_tmpdir();
  r->dir = kiln_strdup_printf("%s/fleet", r->tmp);
  char *fixture = kiln_strdup_printf(FIXTURES "%s", name);
  if (with_records) {
    if (fixture_command(NULL, "cp -R '%s' '%s'", fixture, r->dir) != 0)
      fail_msg("cannot copy %s", fixture);
  } else if (mkdir(r->dir, 0755) != 0) {
    fail_msg("mkdir %s failed", r->dir);
  }
  char *cwd = getcwd(NULL, 0);
  char *bin = kiln_strdup_printf("%s/bin", r->tmp);
  assert_int_equal(mkdir(bin, 0755), 0);
  char *srun = kiln_strdup_printf("%s/srun", bin);
  char *text = kiln_strdup_printf("#!/bin/sh\ncat '%s/%s/slurm/srun.log'\n"
                                  "exit %d\n",
                                  cwd, fixture, srun_exit);
  make_executable(srun, text);
  free(text);
  char *scontrol = kiln_strdup_printf("%s/scontrol", bin);
  char *answer = kiln_strdup_printf("%s/%s.scontrol", cwd, fixture);
  text = access(answer, R_OK) == 0
             ? kiln_strdup_printf("#!/bin/sh\ncat '%s'\n", answer)
             : kiln_xstrdup("#!/bin/sh\necho 'slurm_load_jobs error: Invalid "
                            "job id specified' >&2\nexit 1\n");
  make_executable(scontrol, text);
  free(text);
  free(answer);

  char *run_args[] = {"--only", "cpu.compute"};
  struct kiln_fleet_options o = {.srun = srun,
                                 .kiln = "/usr/bin/false",
                                 .dir = r->dir,
                                 .run_args = run_args,
                                 .n_run_args = 2};
  char err[512] = "";
  r->f = kiln_fleet_start(&o, err, sizeof err);
  if (!r->f)
    fail_msg("kiln_fleet_start: %s", err);
  /* Not timed: it polls until the stand-in has ended and been read. */
  while (!kiln_fleet_poll(r->f, on_changed, r)) {
    struct timespec pause = {0, 10 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
  free(scontrol);
  free(srun);
  free(bin);
  free(cwd);
  free(fixture);
}

static void replay_free(struct replay *r) {
  kiln_fleet_free(r->f);
  fs_rm_rf(r->tmp);
  free(r->tmp);
  free(r->dir);
}

static const struct kiln_fleet_node *node_named(const struct kiln_fleet *f,
                                                const char *name) {
  for (size_t i = 0; i < kiln_fleet_n_nodes(f); i++)
    if (strcmp(kiln_fleet_node(f, i)->name, name) == 0)
      return kiln_fleet_node(f, i);
  fail_msg("no node %s", name);
  return NULL;
}

/* Every task Completed, but no node left a record (as when --kiln is not
 * kiln): each is lost, with srun's word on its task. */
static void test_srun_healthy(void **state) {
  struct replay r;
  replay(&r, "healthy", 0, false);
  assert_int_equal(kiln_fleet_job_id(r.f), 1);
  assert_int_equal(kiln_fleet_srun_status(r.f), 0);
  assert_string_equal(r.news, "job 1 on n[1-4] (4 nodes)\n");
  assert_int_equal(kiln_fleet_n_nodes(r.f), 4);
  for (size_t i = 0; i < 4; i++) {
    const struct kiln_fleet_node *node = kiln_fleet_node(r.f, i);
    char name[8], end[64], dir[600], reason[256];
    snprintf(name, sizeof name, "n%zu", i + 1); /* srun's launch order */
    snprintf(end, sizeof end, "%s: task %zu: Completed", name, i);
    snprintf(dir, sizeof dir, "%s/%s", r.dir, name);
    snprintf(reason, sizeof reason, "no complete report from %s: srun: %s",
             name, end);
    assert_string_equal(node->name, name);
    assert_string_equal(node->dir, dir);
    assert_string_equal(node->task_end, end);
    assert_int_equal(node->state, KILN_FLEET_LOST);
    assert_string_equal(node->lost_reason, reason);
  }
  replay_free(&r);
}

/* n2's kiln SIGKILLed mid-run, n3's run FAILed (an injected cpu.sdc), n1
 * and n4 passed; srun's own exit is not what decides. */
static void test_srun_task_killed(void **state) {
  struct replay r;
  replay(&r, "killed", 137, true);
  assert_int_equal(kiln_fleet_job_id(r.f), 2);
  assert_int_equal(kiln_fleet_srun_status(r.f), 137);
  assert_string_equal(r.news, "job 2 on n[1-4] (4 nodes)\n");
  assert_int_equal(kiln_fleet_n_nodes(r.f), 4);
  const struct kiln_fleet_node *n2 = node_named(r.f, "n2");
  assert_string_equal(n2->task_end, "n2: task 1: Killed");
  assert_int_equal(n2->state, KILN_FLEET_LOST);
  assert_null(n2->step);
  assert_string_equal(n2->lost_reason,
                      "no complete report from n2: srun: n2: task 1: Killed; "
                      "job 2 JobState=FAILED Reason=JobLaunchFailure; its "
                      "last output: [    0.0s] start   cpu.compute (phase 3, "
                      "host)");
  const struct kiln_fleet_node *n3 = node_named(r.f, "n3");
  assert_string_equal(n3->task_end, "n3: task 2: Exited with exit code 1");
  assert_int_equal(n3->state, KILN_FLEET_DONE);
  assert_int_equal(n3->verdict, KILN_FAIL);
  assert_null(n3->lost_reason);
  const char *passed[] = {"n1", "n4"};
  for (size_t i = 0; i < 2; i++) {
    const struct kiln_fleet_node *node = node_named(r.f, passed[i]);
    assert_int_equal(node->state, KILN_FLEET_DONE);
    assert_true(node->judged);
    assert_int_equal(node->verdict, KILN_PASS);
    assert_null(node->lost_reason);
    assert_true(node->first_step_time > 1.7e9);
  }

  /* The merge: n2 an ERROR row with that reason, n3's FAIL the verdict. */
  char err[512] = "";
  assert_int_equal(kiln_fleet_merge(r.f, NULL, NULL, NULL, err, sizeof err), 1);
  char *path = fixture_path(r.dir, "summary.txt");
  char *summary = fixture_read_file(path);
  assert_contains(summary,
                  "no complete report from n2: srun: n2: task 1: Killed");
  assert_contains(summary, "JobState=FAILED");
  free(summary);
  free(path);
  path = fixture_path(r.dir, "junit.xml");
  char *junit = fixture_read_file(path);
  assert_contains(junit, "n2: task 1: Killed");
  free(junit);
  free(path);
  replay_free(&r);
}

/* --time 0:05 (Slurm's minute) ran out: the job step aborted, every task
 * ended with exit code 2; nodes without a complete record name the limit
 * through the job's state. */
static void test_srun_time_limit(void **state) {
  struct replay r;
  replay(&r, "timed", 2, false);
  assert_int_equal(kiln_fleet_job_id(r.f), 3);
  assert_contains(r.news, "job 3 on n[1-4] (4 nodes)\n");
  assert_contains(r.news, "srun: Job step aborted: Waiting up to 7 seconds "
                          "for job step to finish.\n");
  assert_int_equal(kiln_fleet_n_nodes(r.f), 4);
  const struct kiln_fleet_node *n1 = node_named(r.f, "n1");
  assert_string_equal(n1->task_end, "n1: task 0: Exited with exit code 2");
  assert_string_equal(n1->lost_reason,
                      "no complete report from n1: srun: n1: task 0: Exited "
                      "with exit code 2; job 3 JobState=TIMEOUT "
                      "Reason=TimeLimit");
  for (size_t i = 0; i < 4; i++)
    assert_contains(kiln_fleet_node(r.f, i)->lost_reason,
                    "JobState=TIMEOUT Reason=TimeLimit");
  replay_free(&r);
}

/* The same time limit where every node's kiln ended its run ABORTED on
 * Slurm's SIGTERM (records from real kiln runs stopped so): the nodes are
 * done, not lost, and the merge says beside each why Slurm stopped it. */
static void test_srun_time_limit_whole_records(void **state) {
  struct replay r;
  replay(&r, "timed", 2, true);
  for (size_t i = 0; i < 4; i++) {
    const struct kiln_fleet_node *node = kiln_fleet_node(r.f, i);
    assert_int_equal(node->state, KILN_FLEET_DONE);
    assert_int_equal(node->verdict, KILN_ABORTED);
    assert_null(node->lost_reason);
    assert_string_equal(node->aborted_by,
                        "job 3 JobState=TIMEOUT Reason=TimeLimit");
  }
  char err[512] = "";
  assert_int_equal(kiln_fleet_merge(r.f, NULL, NULL, NULL, err, sizeof err), 2);
  char *path = fixture_path(r.dir, "summary.txt");
  char *summary = fixture_read_file(path);
  assert_contains(summary, "n2: ABORTED: job 3 JobState=TIMEOUT "
                           "Reason=TimeLimit (SIGTERM received)");
  free(summary);
  free(path);
  replay_free(&r);
}

/* n3 set down mid-run (scontrol update state=down): srun says "Node
 * failure on n3" and never reports n3's task; the others exited 2. */
static void test_srun_node_down(void **state) {
  struct replay r;
  replay(&r, "down", 2, false);
  assert_int_equal(kiln_fleet_job_id(r.f), 5);
  assert_contains(r.news, "srun: error: Node failure on n3\n");
  const struct kiln_fleet_node *n3 = node_named(r.f, "n3");
  assert_int_equal(n3->state, KILN_FLEET_LOST);
  assert_string_equal(n3->lost_reason,
                      "no complete report from n3: srun: Node failure on n3; "
                      "job 5 JobState=COMPLETING Reason=NodeDown");
  assert_string_equal(node_named(r.f, "n2")->task_end,
                      "n2: task 1: Exited with exit code 2");
  replay_free(&r);
}

/* The job waited for resources first: said once, with its id. */
static void test_srun_queued(void **state) {
  struct replay r;
  replay(&r, "queued", 0, false);
  assert_int_equal(kiln_fleet_job_id(r.f), 4);
  assert_string_equal(r.news, "job 4 queued: waiting for resources\n");
  assert_int_equal(kiln_fleet_n_nodes(r.f), 2);
  assert_string_equal(kiln_fleet_node(r.f, 0)->task_end,
                      "n1: task 0: Completed");
  assert_string_equal(kiln_fleet_node(r.f, 1)->task_end,
                      "n2: task 1: Completed");
  replay_free(&r);
}

/* srun refused the job: no node, the merge is ERROR with srun's words. */
static void test_srun_no_node(void **state) {
  struct replay r;
  replay(&r, "nopart", 1, false);
  assert_int_equal(kiln_fleet_job_id(r.f), 0);
  assert_int_equal(kiln_fleet_n_nodes(r.f), 0);
  assert_string_equal(r.news,
                      "srun: error: invalid partition specified: nosuch\n"
                      "srun: error: Unable to allocate resources: Invalid "
                      "partition name specified\n");
  char err[512] = "";
  assert_int_equal(kiln_fleet_merge(r.f, NULL, NULL, NULL, err, sizeof err), 2);
  char *want = kiln_strdup_printf("srun started no node (exit 1): Unable to "
                                  "allocate resources: Invalid partition "
                                  "name specified; see %s/slurm/srun.log",
                                  r.dir);
  assert_string_equal(err, want);
  free(want);
  replay_free(&r);
}

/* ---- kiln_fleet_look ---- */

/* A fleet directory as `kiln fleet status` sees it: done, running (the
 * killed n2's record), pending (an ocp.jsonl not yet begun), and the
 * directories without an ocp.jsonl (slurm/, one with a log only) are no
 * node. Nothing is judged lost without srun. */
static void test_look(void **state) {
  char *tmp = fixture_tmpdir();
  char *dir = kiln_strdup_printf("%s/fleet", tmp);
  if (fixture_command(NULL, "cp -R '" FIXTURES "killed' '%s'", dir) != 0)
    fail_msg("cannot copy the fixture");
  char *path = kiln_strdup_printf("%s/n0", dir);
  assert_int_equal(mkdir(path, 0755), 0);
  free(path);
  path = kiln_strdup_printf("%s/n0/ocp.jsonl", dir);
  fs_write_file(path, "");
  free(path);
  path = kiln_strdup_printf("%s/n5", dir);
  assert_int_equal(mkdir(path, 0755), 0);
  free(path);
  path = kiln_strdup_printf("%s/n5/kiln.log", dir);
  fs_write_file(path, "kiln 0.1.0\n");
  free(path);
  path = kiln_strdup_printf("%s/notes.txt", dir);
  fs_write_file(path, "a file, not a node\n");
  free(path);

  char err[512] = "";
  struct kiln_fleet *f = kiln_fleet_look(dir, err, sizeof err);
  if (!f)
    fail_msg("kiln_fleet_look: %s", err);
  assert_int_equal(kiln_fleet_n_nodes(f), 5);
  assert_int_equal(kiln_fleet_job_id(f), 0);
  assert_int_equal(kiln_fleet_srun_status(f), -1);
  const char *names[] = {"n0", "n1", "n2", "n3", "n4"}; /* sorted */
  for (size_t i = 0; i < 5; i++) {
    const struct kiln_fleet_node *node = kiln_fleet_node(f, i);
    assert_string_equal(node->name, names[i]);
    assert_null(node->lost_reason);
    assert_null(node->task_end);
  }
  assert_null(kiln_fleet_node(f, 5));
  const struct kiln_fleet_node *n0 = kiln_fleet_node(f, 0);
  assert_int_equal(n0->state, KILN_FLEET_PENDING);
  assert_false(n0->judged);
  assert_null(n0->step);
  const struct kiln_fleet_node *n2 = kiln_fleet_node(f, 2);
  assert_int_equal(n2->state, KILN_FLEET_RUNNING);
  assert_string_equal(n2->step, "cpu.compute");
  assert_false(n2->judged);
  const struct kiln_fleet_node *n3 = kiln_fleet_node(f, 3);
  assert_int_equal(n3->state, KILN_FLEET_DONE);
  assert_true(n3->judged);
  assert_int_equal(n3->verdict, KILN_FAIL);
  assert_null(n3->step);
  const struct kiln_fleet_node *n4 = kiln_fleet_node(f, 4);
  assert_int_equal(n4->state, KILN_FLEET_DONE);
  assert_int_equal(n4->verdict, KILN_PASS);
  /* It never ends a node: polling again changes nothing. */
  struct replay unused = {0};
  assert_true(kiln_fleet_poll(f, on_changed, &unused));
  assert_int_equal(unused.n_changed_nodes, 0);
  assert_int_equal(kiln_fleet_node(f, 2)->state, KILN_FLEET_RUNNING);
  kiln_fleet_free(f);

  path = kiln_strdup_printf("%s/absent", tmp);
  assert_null(kiln_fleet_look(path, err, sizeof err));
  char *want = kiln_strdup_printf("%s: No such file or directory", path);
  assert_string_equal(err, want);
  free(want);
  free(path);
  free(dir);
  fs_rm_rf(tmp);
  free(tmp);
}

int main(void) {
  cmocka_set_message_output(CM_OUTPUT_TAP);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_argv_fixed_flags),
      cmocka_unit_test(test_argv_selection),
      cmocka_unit_test(test_argv_words_reach_kiln_intact),
      cmocka_unit_test(test_srun_healthy),
      cmocka_unit_test(test_srun_task_killed),
      cmocka_unit_test(test_srun_time_limit),
      cmocka_unit_test(test_srun_time_limit_whole_records),
      cmocka_unit_test(test_srun_node_down),
      cmocka_unit_test(test_srun_queued),
      cmocka_unit_test(test_srun_no_node),
      cmocka_unit_test(test_look),
  };
  return cmocka_run_group_tests_name("fleet", tests, NULL, NULL);
}
