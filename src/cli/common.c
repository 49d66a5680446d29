/* What kiln's subcommands share: option checks and their one-line
 * complaints, and the SKU file a station spec names (run and list). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* An option's value must say something (see cli_parse_options); false
 * after saying so. */
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

/* cli_parse_options and cli_parse_options_words: the words after the
 * options refused, or left from optind on. */
static int parse_options(int argc, char **argv, const char *shortopts,
                         const struct option *opts, const char *lists,
                         int (*take)(int c, const char *value, void *ctx),
                         void *ctx, bool words) {
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
    if (!option_value_ok(opts, c, optarg, lists))
      return -1;
    if (c == 'h') {
      cli_usage(stdout);
      return CLI_HELP;
    }
    if (c == ':' || c == '?') {
      complain_option(c, argv);
      return -1;
    }
    if (take(c, optarg, ctx) != 0)
      return -1;
  }
  return words || no_arguments_left(argc, argv) ? 0 : -1;
}

int cli_parse_options(int argc, char **argv, const char *shortopts,
                      const struct option *opts, const char *lists,
                      int (*take)(int c, const char *value, void *ctx),
                      void *ctx) {
  return parse_options(argc, argv, shortopts, opts, lists, take, ctx, false);
}

int cli_parse_options_words(int argc, char **argv, const char *shortopts,
                            const struct option *opts, const char *lists,
                            int (*take)(int c, const char *value, void *ctx),
                            void *ctx) {
  return parse_options(argc, argv, shortopts, opts, lists, take, ctx, true);
}

bool cli_load_spec_sku(const struct kiln_spec *spec, struct kiln_sku *out) {
  if (!spec->gpu_sku)
    return true;
  char why[768];
  if (kiln_sku_load(spec->gpu_sku, out, why, sizeof why) == 0)
    return true;
  fprintf(stderr, "kiln: %s:%d: [gpu] sku: %s\n", spec->source,
          spec->gpu_sku_line, why);
  return false;
}
