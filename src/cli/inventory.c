/* `kiln inventory [--json] [--write-spec FILE] [--pci-dump FILE]`: what
 * this machine has, as text or JSON on stdout, and optionally written as a
 * station spec. Exit 0, 64 for bad input (a spec target that must not be
 * replaced is refused before anything is collected), 2 when the output
 * cannot be written. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "kiln/inventory.h"
#include "kiln/inventory_spec.h"
#include "kiln/textutil.h"

struct inventory_args {
  bool json;
  const char *write_spec, *pci_dump;
};

static int take_inventory_option(int c, const char *value, void *ctx) {
  struct inventory_args *a = ctx;
  switch (c) {
  case 'j': a->json = true; break;
  case 'w': a->write_spec = value; break;
  case 'P': a->pci_dump = value; break;
  }
  return 0;
}

int cmd_inventory(int argc, char **argv) {
  static const struct option opts[] = {
      {"json", no_argument, 0, 'j'},
      {"write-spec", required_argument, 0, 'w'},
      {"pci-dump", required_argument, 0, 'P'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0},
  };
  struct inventory_args a = {0};
  int parsed = cli_parse_options(argc, argv, ":jw:P:h", opts, "",
                                 take_inventory_option, &a);
  if (parsed != 0)
    return parsed == CLI_HELP ? 0 : EXIT_USAGE;
  struct kiln_inventory inv;
  char err[1024];
  /* Refused before anything is written: a device node or a symlink at
   * the target would be replaced by the rename. */
  if (a.write_spec &&
      kiln_check_new_file_target(a.write_spec, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: --write-spec %s\n", err);
    return EXIT_USAGE;
  }
  memset(&inv, 0, sizeof inv);
  struct kiln_inventory_options io = {.pci_dump = a.pci_dump};
  if (kiln_inventory_collect(&inv, &io, err, sizeof err) != 0) {
    fprintf(stderr, "kiln: %s\n", err);
    return EXIT_USAGE;
  }
  int rc = 0;
  if (a.json) {
    json_t *j = kiln_inventory_to_json(&inv);
    if (!j || json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
      fprintf(stderr, "kiln: cannot write the inventory as JSON\n");
      rc = EXIT_ENV;
    }
    fputc('\n', stdout);
    json_decref(j);
  } else {
    kiln_inventory_print(&inv, stdout);
  }
  if (a.write_spec) {
    if (kiln_spec_write(&inv, a.write_spec, err, sizeof err) != 0) {
      fprintf(stderr, "kiln: %s\n", err);
      rc = EXIT_ENV;
    } else {
      fprintf(stderr, "kiln: wrote station spec %s\n", a.write_spec);
    }
  }
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "kiln: cannot write the inventory: %s\n", strerror(errno));
    rc = EXIT_ENV;
  }
  kiln_inventory_free(&inv);
  return rc;
}
