/* kiln's command line: one file per subcommand (run.c, list.c,
 * inventory.c, version.c), the command table and dispatch in main.c, and
 * what the subcommands share (common.c): exit codes, the usage text, option
 * checks and the SKU a station spec names. Each subcommand takes its own
 * argv (argv[0] is its name) and returns kiln's exit code; it says what is
 * wrong in one line on stderr.
 * Layer: cli (src/cli/): the program; uses every other layer. */
#ifndef KILN_CLI_H
#define KILN_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "config/sku.h"
#include "kiln/spec.h"

#define EXIT_USAGE 64
#define EXIT_ENV 2

/* The subcommands (cmd_NAME in NAME.c). */
int cmd_run(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_inventory(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* `kiln run`'s options, for the usage text (run.c). */
extern const char cmd_run_options_help[];

/* kiln's whole usage text (main.c), for --help and a missing command. */
void cli_usage(FILE *f);

/* Readies getopt_long for a subcommand's argv: from its first option, and
 * getopt itself silent (cli_complain_option says what is wrong). */
void cli_getopt_reset(void);

/* An option's value must say something: an empty or all-blank one (a
 * blank barcode scan, an unset shell variable) is a usage error naming the
 * option, and so is a list option (its letter in lists: --gpus, --only,
 * --skip, --inject) with an empty item ("," or "0,,1"), which would
 * otherwise select nothing and drop steps without a word. Returns false
 * after saying so. */
bool cli_option_value_ok(const struct option *opts, int c, const char *value,
                         const char *lists);

/* getopt's ':' (a value missing) or '?' (an unknown option) as one line. */
void cli_complain_option(int c, char **argv);

/* false, saying so, when words are left after the options. */
bool cli_no_arguments_left(int argc, char **argv);

/* The SKU file a station spec names in [gpu] sku, into *out (left empty
 * when it names none); false after saying, with the spec's file and line,
 * why it cannot be read. */
bool cli_load_spec_sku(const struct kiln_spec *spec, struct kiln_sku *out);

#endif
