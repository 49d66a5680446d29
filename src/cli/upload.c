/* `kiln upload [--token-file F] [--ca-file F] [--wait DUR] DIR... URL`: sends
 * report directories to a line server, or completes what `kiln run --upload`
 * left unsent (src/upload/). Every DIR and the URL are checked before anything
 * is sent (a bad one: 64); the directories then go at once, each in its
 * own thread, for at most --wait together. Exit 0 when all is sent, 2
 * otherwise, each directory's unsent part named. And what both commands
 * say at the end of an upload (cli_upload_say). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/duration.h"
#include "kiln/textutil.h"
#include "upload/upload.h"

struct upload_args {
  const char *token_file, *ca_file;
  double wait;
};

static const struct option upload_options[] = {
    {"token-file", required_argument, 0, 'k'},
    {"ca-file", required_argument, 0, 'c'},
    {"wait", required_argument, 0, 'w'},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

static int take_upload_option(int c, const char *value, void *ctx) {
  struct upload_args *a = ctx;
  if (c == 'k')
    a->token_file = value;
  if (c == 'c') {
    char why[600];
    if (kiln_upload_check_ca_file(value, why, sizeof why) != 0) {
      fprintf(stderr, "kiln: --ca-file %s\n", why);
      return -1;
    }
    a->ca_file = value;
  }
  if (c == 'w') {
    char why[256];
    if (kiln_duration_parse_range(value, 0, KILN_DURATION_MAX, &a->wait, why,
                                  sizeof why) != 0) {
      fprintf(stderr, "kiln: --wait %s\n", why);
      return -1;
    }
  }
  return 0;
}

/* s as one shell word: as it is when that is safe, else single-quoted. */
static void shell_word(FILE *f, const char *s) {
  if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789_./:@%+=,-") == strlen(s)) {
    fputs(s, f);
    return;
  }
  fputc('\'', f);
  for (const char *p = s; *p; p++) {
    if (*p == '\'')
      fputs("'\\''", f);
    else
      fputc(*p, f);
  }
  fputc('\'', f);
}

void cli_upload_say(FILE *f, const struct kiln_upload_result *r,
                    const char *dir, const char *url, const char *token_file,
                    const char *ca_file) {
  char *url_text = kiln_escape_controls(url);
  if (kiln_upload_complete(r)) {
    fprintf(f, "kiln: upload: %zu lines and %zu files sent to %s (run %s)\n",
            r->lines, r->files, url_text, r->run_id);
  } else {
    char *why = kiln_escape_controls(r->problem);
    fprintf(f,
            "kiln: upload: %zu lines and %zu files unsent to %s (%s); send "
            "them with: kiln upload ",
            r->lines - r->lines_sent, r->files - r->files_sent, url_text, why);
    if (token_file) {
      fputs("--token-file ", f);
      shell_word(f, token_file);
      fputc(' ', f);
    }
    if (ca_file) {
      fputs("--ca-file ", f);
      shell_word(f, ca_file);
      fputc(' ', f);
    }
    shell_word(f, dir);
    fputc(' ', f);
    shell_word(f, url);
    fputc('\n', f);
    free(why);
  }
  fflush(f);
  free(url_text);
}

/* Whether dir is a report directory (it has ocp.jsonl); says why not. */
static bool report_dir_ok(const char *dir) {
  char *ocp = kiln_strdup_printf("%s/ocp.jsonl", dir);
  struct stat sb;
  bool ok = stat(ocp, &sb) == 0 && S_ISREG(sb.st_mode);
  if (!ok)
    fprintf(stderr, "kiln: upload: %s: not a report directory (no ocp.jsonl)\n",
            dir);
  free(ocp);
  return ok;
}

/* The words after the options: at least one DIR, then the URL, each
 * checked; false after saying what is wrong. */
static bool upload_words_ok(int n, char **words) {
  if (n < 2) {
    fprintf(stderr, "kiln: upload needs DIR... URL (see kiln --help)\n");
    return false;
  }
  char err[600];
  if (kiln_upload_check_url(words[n - 1], err, sizeof err) != 0) {
    fprintf(stderr, "kiln: upload: %s\n", err);
    return false;
  }
  for (int i = 0; i < n - 1; i++)
    if (!report_dir_ok(words[i]))
      return false;
  return true;
}

int cmd_upload(int argc, char **argv) {
  struct upload_args a = {.wait = CLI_UPLOAD_WAIT_DEFAULT};
  int parsed = cli_parse_options_words(argc, argv, ":k:c:w:h", upload_options,
                                       "", take_upload_option, &a);
  if (parsed == CLI_HELP)
    return 0;
  if (parsed != 0)
    return EXIT_USAGE;
  int n = argc - optind;
  char **words = argv + optind;
  if (!upload_words_ok(n, words))
    return EXIT_USAGE;
  char *token = NULL;
  char err[600];
  if (a.token_file) {
    token = kiln_read_token_file(a.token_file, err, sizeof err);
    if (!token) {
      fprintf(stderr, "kiln: --token-file %s\n", err);
      return EXIT_USAGE;
    }
  }
  const char *url = words[n - 1];
  size_t n_dirs = (size_t)n - 1;
  struct kiln_upload **ups = kiln_xcalloc(n_dirs, sizeof *ups);
  int rc = 0;
  for (size_t i = 0; i < n_dirs; i++) {
    ups[i] =
        kiln_upload_start(words[i], url, token, a.ca_file, err, sizeof err);
    if (!ups[i]) {
      fprintf(stderr, "kiln: upload: %s: %s\n", words[i], err);
      rc = EXIT_ENV;
    }
  }
  /* The directories are complete: one deadline for them all. */
  for (size_t i = 0; i < n_dirs; i++)
    if (ups[i])
      kiln_upload_close(ups[i], a.wait);
  for (size_t i = 0; i < n_dirs; i++) {
    if (!ups[i])
      continue;
    struct kiln_upload_result r;
    kiln_upload_finish(ups[i], &r);
    cli_upload_say(stderr, &r, words[i], url, a.token_file, a.ca_file);
    if (!kiln_upload_complete(&r))
      rc = EXIT_ENV;
  }
  free(ups);
  free(token);
  return rc;
}
