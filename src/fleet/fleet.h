/* `kiln fleet`: one kiln run on every node of a Slurm allocation, followed
 * node by node and merged into one set of reports (issue 15).
 *
 * kiln_fleet_start() spawns srun (posix_spawn, never a shell of ours: the
 * node's own /bin/sh only puts $SLURMD_NODENAME into the report dir): one
 * task per node, each node exclusive, --kill-on-bad-exit=0 (one failing
 * node must not cancel the others, whatever the site's KillOnBadExit), in
 * a process group of its own so a terminal's Ctrl-C reaches kiln alone.
 * Each node runs `KILN run --report-dir DIR/<node> [--upload URL] ARGS`,
 * its output in DIR/slurm/<node>.log, srun's own (-v) in DIR/slurm/srun.log.
 *
 * kiln_fleet_poll() reads what srun said (the job id, the nodes, each
 * task's end) and each node's DIR/<node>/ocp.jsonl (a kiln_ocp_follow
 * each, which reads only what was appended, and only when the file
 * changed), and tells `changed` of every node whose
 * state, step or verdict so far moved, and of the job's own news. It
 * prints nothing. srun's exit code is not trusted: once srun has ended, a
 * node whose record is missing or unfinished is LOST, with the reason
 * Slurm gave for it (srun's "n2: task 1: Killed", the job's state from
 * scontrol, the node log's last line), and kiln_fleet_merge() hands that
 * reason to kiln_merge() as the node's ERROR.
 *
 * kiln_fleet_cancel() (Ctrl-C, SIGTERM) has Slurm send every task
 * SIGTERM: kiln run ends ABORTED with its reports written, and the merge
 * takes what exists. `scancel JOB` from elsewhere does the same.
 * Layer: fleet (src/fleet/): uses core to reports, upload. */
#ifndef KILN_FLEET_H
#define KILN_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "kiln/verdict.h"

struct kiln_ocp_follow; /* kiln/merge.h */

/* What one fleet run is asked to do. Strings are the caller's. */
struct kiln_fleet_options {
  const char *srun;       /* srun's path */
  const char *kiln;       /* kiln's path on the nodes */
  const char *dir;        /* the fleet directory, absolute */
  const char *nodes;      /* -N COUNT, or NULL */
  const char *nodelist;   /* --nodelist, or NULL */
  const char *partition;  /* or NULL */
  const char *time_limit; /* --time, or NULL */
  const char *account;    /* or NULL */
  const char *upload;     /* --upload URL for every node's run, or NULL */
  char *const *run_args;  /* kiln run's options (after "--") */
  size_t n_run_args;
};

/* The srun command line for o: malloc'd, NULL-terminated, each string
 * malloc'd (kiln_fleet_argv_free). */
char **kiln_fleet_srun_argv(const struct kiln_fleet_options *o);
void kiln_fleet_argv_free(char **argv);

/* Where on PATH an executable named name is ("srun"): malloc'd, or NULL. */
char *kiln_fleet_which(const char *name);

enum kiln_fleet_state {
  KILN_FLEET_PENDING, /* allocated or asked for, its run not begun */
  KILN_FLEET_RUNNING, /* its ocp.jsonl has begun */
  KILN_FLEET_DONE,    /* its run wrote its end */
  KILN_FLEET_LOST,    /* its task ended without a complete record */
};
const char *kiln_fleet_state_name(enum kiln_fleet_state s); /* "running" */

struct kiln_fleet_node {
  char *name; /* "n2" */
  char *dir;  /* DIR/n2 */
  enum kiln_fleet_state state;
  char *step;  /* the step running now ("cpu.compute"), or NULL */
  bool judged; /* a step has ended: verdict holds the worst so far */
  enum kiln_verdict verdict;
  char *task_end;    /* srun's word on the task's end ("Killed"), or NULL */
  char *lost_reason; /* set when LOST */
  /* When its run ended ABORTED (stopped from outside): Slurm's word on the
   * job ("job 3 JobState=TIMEOUT Reason=TimeLimit"), or NULL. */
  char *aborted_by;
  double first_step_time; /* wall clock its first step started; 0: not yet */
  /* What kiln_fleet_poll last read, and its reader of the node's stream
   * (NULL before the stream is there and once the run has ended). */
  long long seen_size;
  long long seen_mtime_ns;
  struct kiln_ocp_follow *follow;
};

struct kiln_fleet;

/* Spawns srun for o (copied). NULL with one line in err when it cannot
 * (DIR/slurm not writable, the spawn failed). */
struct kiln_fleet *kiln_fleet_start(const struct kiln_fleet_options *o,
                                    char *err, size_t n);

/* node: the node that changed, or NULL for the job's own news (text: one
 * line, "job 12 queued: waiting for resources"). */
typedef void (*kiln_fleet_changed_fn)(void *ctx,
                                      const struct kiln_fleet_node *node,
                                      const char *text);

/* One look at srun and every node; returns true once srun has ended and
 * every node's last state is known (then LOST ones carry their reason). */
bool kiln_fleet_poll(struct kiln_fleet *f, kiln_fleet_changed_fn changed,
                     void *ctx);

/* Ends the job's step: every task is sent SIGTERM (scancel --signal=TERM
 * STEP), so each kiln run ends ABORTED with its reports; hard (a second
 * Ctrl-C): scancel STEP, Slurm's SIGKILL after KillWait. Before srun has a
 * job, srun is sent SIGTERM. Returns once scancel has; poll on to the end. */
void kiln_fleet_cancel(struct kiln_fleet *f, bool hard);

/* A fleet directory as it is now, without srun (`kiln fleet status`): its
 * nodes are the subdirectories that hold an ocp.jsonl, each read once
 * (pending, running or done; never judged lost). NULL with err set when
 * dir cannot be read. */
struct kiln_fleet *kiln_fleet_look(const char *dir, char *err, size_t n);

size_t kiln_fleet_n_nodes(const struct kiln_fleet *f);
const struct kiln_fleet_node *kiln_fleet_node(const struct kiln_fleet *f,
                                              size_t i);
long kiln_fleet_job_id(const struct kiln_fleet *f); /* 0: not known yet */
/* srun's exit code (as a shell shows it: 128+signal when killed), or -1. */
int kiln_fleet_srun_status(const struct kiln_fleet *f);

/* Merges every node's directory into the fleet directory (kiln_merge),
 * each lost node's reason given, and Slurm's word on the job beside each
 * run it stopped. say, verdict: as kiln_merge's. Returns kiln_merge's code
 * (0, 1, 2, or 64 with err set), 2 with err set (and nothing written) when
 * srun gave no node at all. */
typedef void (*kiln_fleet_say_fn)(void *ctx, const char *line);
int kiln_fleet_merge(struct kiln_fleet *f, kiln_fleet_say_fn say, void *ctx,
                     enum kiln_verdict *verdict, char *err, size_t n);

void kiln_fleet_free(struct kiln_fleet *f);

#endif
