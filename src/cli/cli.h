/* kiln's command line: one file per subcommand (run.c, list.c,
 * inventory.c, version.c, upload.c, merge.c), the command table and dispatch in
 * main.c, and what the subcommands share (common.c): exit codes, the usage
 * text, option checks and the SKU a station spec names. Each subcommand takes
 * its own argv (argv[0] is its name) and returns kiln's exit code; it says what
 * is wrong in one line on stderr. Layer: cli (src/cli/): the program; uses
 * every other layer. */
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
int cmd_serve(int argc, char **argv);
int cmd_upload(int argc, char **argv);
int cmd_fleet(int argc, char **argv);
int cmd_merge(int argc, char **argv);

/* `kiln run`'s options, for the usage text (run.c). */
extern const char cmd_run_options_help[];
/* `kiln serve`'s options (serve.c). */
extern const char cmd_serve_options_help[];

/* kiln's whole usage text (main.c), for --help and a missing command. */
void cli_usage(FILE *f);

/* What cli_parse_options returns after printing the usage for --help. */
#define CLI_HELP 1

/* getopt_long over a subcommand's argv (opts and shortopts: its options,
 * --help among them as 'h'): each option in turn to take(c, value, ctx),
 * which returns 0, or -1 after saying what is wrong with it. An option's
 * value must say something: an empty or all-blank one (a blank barcode
 * scan, an unset shell variable) is a usage error naming the option, and so
 * is an empty item ("," or "0,,1") in a list option (its letter in lists:
 * --gpus, --only, --skip, --inject), which would otherwise select nothing
 * and drop steps without a word; so are an unknown option, a missing value
 * and words left after the options. Returns 0, CLI_HELP once --help has
 * printed the usage (the options after it not read), or -1 after saying,
 * in one line, what is wrong. */
int cli_parse_options(int argc, char **argv, const char *shortopts,
                      const struct option *opts, const char *lists,
                      int (*take)(int c, const char *value, void *ctx),
                      void *ctx);

/* The same for a subcommand that takes words after its options (`kiln
 * upload DIR... URL`): they are left in argv from optind on. */
int cli_parse_options_words(int argc, char **argv, const char *shortopts,
                            const struct option *opts, const char *lists,
                            int (*take)(int c, const char *value, void *ctx),
                            void *ctx);

/* An upload's last word on stderr (upload.c): "kiln: upload: N lines and
 * M files sent to URL (run ID)", or what is unsent, why, and the `kiln
 * upload` command that sends it (with --token-file and --ca-file when
 * they are set). */
struct kiln_upload_result;
/* How long `kiln upload` and `kiln run --upload` wait at the end. */
#define CLI_UPLOAD_WAIT_DEFAULT 30.0
void cli_upload_say(FILE *f, const struct kiln_upload_result *r,
                    const char *dir, const char *url, const char *token_file,
                    const char *ca_file);

/* The SKU file a station spec names in [gpu] sku, into *out (left empty
 * when it names none); false after saying, with the spec's file and line,
 * why it cannot be read. */
bool cli_load_spec_sku(const struct kiln_spec *spec, struct kiln_sku *out);

#endif
