/* `kiln merge DIR... --report-dir OUT`: several nodes' report directories
 * merged into one junit.xml, summary.txt, report.html and results.tap in OUT
 * (kiln_merge, reports/merge.c). Usage errors and input that cannot be
 * merged (directories of different profiles) exit 64 with one line; each
 * problem found in a directory is one line on stderr; the last line states
 * the merged verdict and the true exit code, as `kiln run`'s does. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "kiln/merge.h"
#include "kiln/textutil.h"

static const struct option merge_options[] = {
    {"report-dir", required_argument, 0, 'o'},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

static int take_merge_option(int c, const char *value, void *ctx) {
  const char **out = ctx;
  if (c == 'o')
    *out = value;
  return 0;
}

/* A node is shown by its directory's name: `kiln fleet` writes DIR/<node>/,
 * so merging its node directories shows the nodes by name. */
static const char *node_name(const char *dir) {
  const char *slash = strrchr(dir, '/');
  if (!slash || slash[1])
    return slash ? slash + 1 : dir;
  return NULL; /* "DIR/": the run's host */
}

static void say_line(void *ctx, const char *line) {
  char *shown = kiln_escape_controls(line);
  fprintf(stderr, "kiln: merge: %s\n", shown);
  free(shown);
}

int cmd_merge(int argc, char **argv) {
  const char *out = NULL;
  int parsed = cli_parse_options_words(argc, argv, ":o:h", merge_options, "",
                                       take_merge_option, &out);
  if (parsed == CLI_HELP)
    return 0;
  if (parsed != 0)
    return EXIT_USAGE;
  if (!out) {
    fprintf(stderr, "kiln: merge: --report-dir OUT is required\n");
    return EXIT_USAGE;
  }
  size_t n_nodes = (size_t)(argc - optind);
  if (n_nodes == 0) {
    fprintf(stderr, "kiln: merge: no directories given (kiln merge DIR... "
                    "--report-dir OUT)\n");
    return EXIT_USAGE;
  }
  struct kiln_merge_node *nodes = kiln_xcalloc(n_nodes, sizeof *nodes);
  for (size_t i = 0; i < n_nodes; i++) {
    const char *dir = argv[optind + (int)i];
    if (!dir[0]) {
      fprintf(stderr, "kiln: merge: an empty directory name\n");
      free(nodes);
      return EXIT_USAGE;
    }
    nodes[i].dir = dir;
    nodes[i].name = node_name(dir);
  }
  char err[1024] = "";
  enum kiln_verdict merged;
  int rc =
      kiln_merge(nodes, n_nodes, out, say_line, NULL, &merged, err, sizeof err);
  free(nodes);
  char *dir = kiln_escape_controls(out);
  if (rc == EXIT_USAGE) {
    char *why = kiln_escape_controls(err);
    fprintf(stderr, "kiln: merge: %s\n", why);
    free(why);
  } else {
    const char *verdict = kiln_verdict_name(merged);
    if (err[0]) {
      char *why = kiln_escape_controls(err);
      fprintf(stderr, "kiln: merge: %s\n", why);
      free(why);
    }
    printf("verdict: %s (exit %d) of %zu node%s%s; reports in %s\n", verdict,
           rc, n_nodes, n_nodes == 1 ? "" : "s",
           err[0] ? "; reports incomplete" : "", dir);
  }
  free(dir);
  return rc;
}
