/* kiln's entry point: the command table (each subcommand, the function in
 * src/cli/NAME.c that runs it, and its lines in the usage text), dispatch
 * to it, and the usage text itself. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static const struct command {
  const char *name;
  const char *alias; /* another word for it, or NULL */
  int (*run)(int argc, char **argv);
  const char *help;    /* its lines in the usage, after "kiln NAME" */
  const char *options; /* its options' lines in the usage, or NULL */
} commands[] = {
    {"run", NULL, cmd_run, " [options]   run a profile (default: quick)\n",
     cmd_run_options_help},
    {"inventory", NULL, cmd_inventory,
     " [--json] [--write-spec FILE] [--pci-dump FILE]\n"
     "                            what this machine has\n",
     NULL},
    {"list", NULL, cmd_list,
     " [--spec FILE] [--pci-dump FILE] [--json]\n"
     "                            modules (each with the verdict and reason\n"
     "                            a run would give), faults, profiles, and\n"
     "                            the SKU limits each GPU here would take\n",
     NULL},
    {"serve", NULL, cmd_serve,
     " [options] the line server: DUTs upload, the line reads\n",
     cmd_serve_options_help},
    {"upload", NULL, cmd_upload,
     " [--token-file F] [--ca-file F] [--wait DUR] DIR... URL\n"
     "                            send report directories to a kiln serve\n",
     NULL},
    {"merge", NULL, cmd_merge,
     " DIR... --report-dir OUT   merge nodes' report directories\n"
     "                            into one junit.xml, summary, HTML, TAP\n",
     NULL},
    {"fleet", NULL, cmd_fleet,
     " run|submit [-N COUNT] [--nodelist LIST] [--partition P]\n"
     "                            [--time LIMIT] [--account A] [--fleet-dir "
     "DIR]\n"
     "                            [--kiln PATH] [--upload URL] -- [run "
     "options]\n"
     "                            kiln run on every node of a Slurm job, "
     "merged\n"
     "       kiln fleet status JOBID|DIR  its nodes now, the merge at the "
     "end\n",
     NULL},
    {"version", "--version", cmd_version, "\n", NULL},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

void cli_usage(FILE *f) {
  for (size_t i = 0; i < N_COMMANDS; i++)
    fprintf(f, "%skiln %s%s", i ? "       " : "usage: ", commands[i].name,
            commands[i].help);
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (commands[i].options)
      fprintf(f, "\n%s options:\n%s", commands[i].name, commands[i].options);
  fprintf(f, "\n"
             "exit: 0 all passed, 1 some FAIL, 2 some ERROR or ABORTED, "
             "64 usage\n");
}

static const struct command *find_command(const char *word) {
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (strcmp(word, commands[i].name) == 0 ||
        (commands[i].alias && strcmp(word, commands[i].alias) == 0))
      return &commands[i];
  return NULL;
}

/* "kiln: unknown command 'rn' (run, inventory, list, version)" */
static void complain_command(const char *word) {
  char names[256] = "";
  for (size_t i = 0; i < N_COMMANDS; i++)
    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
             i ? ", " : "", commands[i].name);
  fprintf(stderr, "kiln: unknown command '%s' (%s)\n", word, names);
}

/* A closed stdin, stdout or stderr would be handed to the first file kiln
 * opens (the OCP stream), and the log written into it. */
static void open_standard_fds(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
      continue;
    int devnull = open("/dev/null", O_RDWR);
    if (devnull < 0)
      _exit(EXIT_ENV);
    if (devnull != fd) {
      dup2(devnull, fd);
      close(devnull);
    }
  }
}

int main(int argc, char **argv) {
  open_standard_fds();
  if (argc < 2) {
    cli_usage(stderr);
    return EXIT_USAGE;
  }
  const char *word = argv[1];
  const struct command *cmd = find_command(word);
  if (cmd)
    return cmd->run(argc - 1, argv + 1);
  if (strcmp(word, "help") == 0 || strcmp(word, "--help") == 0 ||
      strcmp(word, "-h") == 0) {
    cli_usage(stdout);
    return 0;
  }
  complain_command(word);
  return EXIT_USAGE;
}
