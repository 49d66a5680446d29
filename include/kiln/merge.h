/* Several nodes' report directories read back and merged into one set of
 * reports (`kiln merge`, and `kiln fleet run` at its end).
 *
 * A node's record is its ocp.jsonl, the stream kiln writes whole line by
 * line: kiln_ocp_read() rebuilds the run model from it (a run that never
 * wrote its testRunEnd is returned unfinished, never judged PASS).
 * kiln_merge() writes junit.xml, summary.txt, report.html and results.tap
 * into one directory. Nothing is merged silently: a missing, unreadable or
 * half-written directory is an ERROR row naming the cause, two directories
 * with one serial are both ERROR, and directories of different profiles
 * are refused. Its exit code is the worst verdict's (0, 1, 2).
 * Layer: reports (reports/): uses core. */
#ifndef KILN_MERGE_H
#define KILN_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "kiln/result.h"

/* Reads path (an ocp.jsonl) into run (kiln_run_init'ed by the caller; free
 * it with kiln_run_free either way). A last line cut short (the writer was
 * killed mid-write) is ignored; a malformed line elsewhere fails. Steps the
 * stream started but never ended stay RUNNING. Returns 0, or -1 with one
 * line naming the file (and line) in err. */
int kiln_ocp_read(const char *path, struct kiln_run *run, char *err, size_t n);

/* A growing ocp.jsonl followed as it is written (`kiln fleet`'s live view
 * of a node): each update reads only the bytes appended since the last
 * one, and whole lines only (a line still being written waits for the
 * next update), into a model the follower owns. The follower keeps the
 * model and an unfinished line's bytes, nothing more. A file that shrank
 * or was replaced (another inode) is read again from its start into a
 * fresh model. Reading is kiln_ocp_read()'s, line for line: after an
 * update the model is the one kiln_ocp_read() builds from the same whole
 * lines (its verdict so far while the run has not ended). */
struct kiln_ocp_follow;

/* A follower of path (copied); nothing is read until the first update. */
struct kiln_ocp_follow *kiln_ocp_follow_open(const char *path);
/* Reads what was appended since the last update. Returns 0, or -1 with
 * one line in err naming the file (and line): the file cannot be read
 * now (the model stays as it was), or a line is malformed or lost (every
 * later update says so again, until the file is replaced or shrinks). */
int kiln_ocp_follow_update(struct kiln_ocp_follow *f, char *err, size_t n);
/* The model as the lines read so far make it; empty before testRunStart.
 * Valid until the next update or close. */
const struct kiln_run *kiln_ocp_follow_run(const struct kiln_ocp_follow *f);
/* Whether testRunStart has been read (the model holds the DUT and plan). */
bool kiln_ocp_follow_started(const struct kiln_ocp_follow *f);
void kiln_ocp_follow_close(struct kiln_ocp_follow *f);

/* One node to merge. */
struct kiln_merge_node {
  const char *dir;  /* the node's report directory */
  const char *name; /* the node as shown ("n2"); NULL: the run's host */
  /* Why the launcher saw the node end ("task killed by SIGKILL", "job 5
   * JobState=TIMEOUT Reason=TimeLimit"), or NULL. Used as the node's ERROR
   * reason when its record is missing or unfinished; said beside a whole
   * record of a run that ended ABORTED (stopped from outside). */
  const char *lost_reason;
};

/* Called once per problem found (a half-written directory, a duplicate
 * serial), with one line for people. */
typedef void (*kiln_merge_say_fn)(void *ctx, const char *line);

/* Merges nodes into out_dir (made when missing; the four files replaced
 * atomically). Returns 0, 1 or 2 (the worst node verdict's exit code; 2
 * also when a report could not be written, err naming it), or 64 with err
 * set for input that cannot be merged (no nodes, mixed profiles). The
 * merged verdict goes to *verdict (unless NULL): ERROR when no report was
 * written. */
int kiln_merge(const struct kiln_merge_node *nodes, size_t n_nodes,
               const char *out_dir, kiln_merge_say_fn say, void *say_ctx,
               enum kiln_verdict *verdict, char *err, size_t n);

#endif
