/* kiln merge's model of the nodes (merge.c builds it) that its writers
 * draw: merge_junit.c, merge_text.c (summary.txt, results.tap) and
 * merge_html.c (reports/ only, not a public API). */
#ifndef KILN_MERGE_MODEL_H
#define KILN_MERGE_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "kiln/merge.h"
#include "kiln/result.h"

struct merge_record {
  const char *dir;
  char *name;          /* as shown: the given name, the run's host, or dir */
  struct kiln_run run; /* its record read back, when have_run */
  bool have_run;
  char *problem; /* why the node is an ERROR row, or NULL */
  enum kiln_verdict verdict;
  char *report_href; /* its report.html seen from the merged page, or NULL */
  /* The node's record as a step, for a problem: "record" ERROR, the reason
   * its reason, so every writer shows it as it shows a step. */
  struct kiln_step_result problem_step;
};

struct merge_model {
  struct merge_record *nodes;
  size_t n_nodes;
  char **modules; /* every module of any node, in order of first appearance */
  size_t n_modules;
  char **problems; /* every problem said, one line each */
  size_t n_problems;
  const char *profile; /* the profile of every readable record, or NULL */
  enum kiln_verdict verdict;
};

/* The step of module in node that shows the cell (its worst, the first of
 * those), or NULL when the node has none. */
const struct kiln_step_result *merge_cell(const struct merge_record *node,
                                          const char *module);
/* The cell's label: a verdict, "RUNNING"/"PENDING", or "-" for none. */
const char *merge_cell_label(const struct kiln_step_result *s);

int merge_write_junit(const struct merge_model *m, const char *path, char *err,
                      size_t n);
int merge_write_summary(const struct merge_model *m, const char *path,
                        char *err, size_t n);
int merge_write_tap(const struct merge_model *m, const char *path, char *err,
                    size_t n);
int merge_write_html(const struct merge_model *m, const char *path, char *err,
                     size_t n);

#endif
