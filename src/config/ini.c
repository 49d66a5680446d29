/* The INI reader (contract in config/ini.h). libinih reads the file
 * through string_reader, which hands it one line at a time, indentation
 * dropped, and reads each section header on its own so that the header is
 * judged on its line (libinih names a section only with its first key). */
#include "config/ini.h"

#include <ctype.h>
#include <ini.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/textutil.h"

/* A name seen in the file, and where. */
struct seen {
  char *name;
  int line;
};

enum ini_where {
  INI_NO_SECTION,  /* before the first header */
  INI_BAD_SECTION, /* a header libinih refused: it reports that line */
  INI_IN_SECTION,
};

struct kiln_ini {
  const char *source;
  const struct kiln_ini_handler *h;
  void *ctx;
  const char *text; /* remaining input */
  /* libinih calls the handler right after reading a line, so the reader's
   * count is the line the handler is looking at. */
  int line;
  char err[512];
  int err_line;
  enum ini_where where;
  char section[INI_MAX_LINE];
  int section_line;
  struct seen *sections, *keys; /* keys: of the current section only */
  size_t n_sections, n_keys;
};

static int fail_va(struct kiln_ini *ini, int line, const char *fmt,
                   va_list ap) {
  if (!ini->err_line) {
    vsnprintf(ini->err, sizeof ini->err, fmt, ap);
    ini->err_line = line;
  }
  return 0;
}

int kiln_ini_fail(struct kiln_ini *ini, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fail_va(ini, ini->line, fmt, ap);
  va_end(ap);
  return 0;
}

int kiln_ini_fail_at(struct kiln_ini *ini, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fail_va(ini, line, fmt, ap);
  va_end(ap);
  return 0;
}

int kiln_ini_line(const struct kiln_ini *ini) { return ini->line; }

const char *kiln_ini_source(const struct kiln_ini *ini) { return ini->source; }

/* A callback's verdict: one that refused without saying why still stops
 * the reading, on its line. */
static int judged(struct kiln_ini *ini, int ok) {
  if (!ok)
    kiln_ini_fail(ini, "rejected");
  return ok && !ini->err_line;
}

static void forget(struct seen **list, size_t *n) {
  for (size_t i = 0; i < *n; i++)
    free((*list)[i].name);
  free(*list);
  *list = NULL;
  *n = 0;
}

/* The earlier entry named name, or NULL after adding it. */
static const struct seen *remember(struct seen **list, size_t *n,
                                   const char *name, int line) {
  for (size_t i = 0; i < *n; i++)
    if (strcmp((*list)[i].name, name) == 0)
      return &(*list)[i];
  *list = kiln_xrealloc(*list, (*n + 1) * sizeof **list);
  (*list)[*n].name = kiln_xstrdup(name);
  (*list)[*n].line = line;
  (*n)++;
  return NULL;
}

/* At the end of a section (the next header, or the end of the file). */
static void end_section(struct kiln_ini *ini) {
  if (ini->where == INI_IN_SECTION && !ini->err_line && ini->h->section_end)
    judged(ini, ini->h->section_end(ini, ini->ctx, ini->section,
                                    ini->section_line, ini->n_keys));
  forget(&ini->keys, &ini->n_keys);
}

static int probe_handler(void *user, const char *section, const char *key,
                         const char *value) {
  (void)key;
  (void)value;
  snprintf(user, INI_MAX_LINE, "%s", section);
  return 1;
}

/* A header line: libinih reads it alone (with a key, to be told the name). */
static void section_header(struct kiln_ini *ini, const char *line) {
  end_section(ini);
  ini->where = INI_BAD_SECTION;
  if (ini->err_line)
    return;
  char probe[INI_MAX_LINE + 16], raw[INI_MAX_LINE] = "";
  snprintf(probe, sizeof probe, "%.*s\nk = v\n", (int)strcspn(line, "\r\n"),
           line);
  if (ini_parse_string(probe, probe_handler, raw) != 0)
    return; /* malformed: libinih reports this line */
  const char *name = raw;
  while (isspace((unsigned char)*name))
    name++;
  size_t len = strlen(name);
  while (len && isspace((unsigned char)name[len - 1]))
    len--;
  snprintf(ini->section, sizeof ini->section, "%.*s", (int)len, name);
  ini->section_line = ini->line;
  char same[INI_MAX_LINE];
  snprintf(same, sizeof same, "%s", ini->section);
  if (ini->h->section &&
      !judged(ini,
              ini->h->section(ini, ini->ctx, ini->section, same, sizeof same)))
    return;
  const struct seen *dup =
      remember(&ini->sections, &ini->n_sections, same, ini->line);
  if (dup) {
    kiln_ini_fail(ini, "[%s] appears twice (first at line %d)", ini->section,
                  dup->line);
    return;
  }
  ini->where = INI_IN_SECTION;
}

static char *string_reader(char *buf, int size, void *stream) {
  struct kiln_ini *ini = stream;
  if (!*ini->text)
    return NULL;
  const char *nl = strchr(ini->text, '\n');
  size_t len = nl ? (size_t)(nl - ini->text) + 1 : strlen(ini->text);
  const char *start = ini->text;
  ini->text += len;
  ini->line++;
  if (ini->line == 1 && len >= 3 && memcmp(start, "\xEF\xBB\xBF", 3) == 0) {
    start += 3; /* the byte order mark, before the indentation goes */
    len -= 3;
  }
  if (len >= (size_t)size) { /* libinih would split it into two lines */
    kiln_ini_fail(ini, "line longer than %d characters", size - 2);
    len = (size_t)size - 1;
  }
  size_t skip = 0;
  while (skip < len && start[skip] != '\n' &&
         isspace((unsigned char)start[skip]))
    skip++;
  memcpy(buf, start + skip, len - skip);
  buf[len - skip] = 0;
  if (buf[0] == '[')
    section_header(ini, buf);
  return buf;
}

static int key_handler(void *user, const char *section, const char *key,
                       const char *value) {
  (void)section; /* the reader's own, trimmed, is the one given */
  struct kiln_ini *ini = user;
  if (ini->err_line)
    return 0;
  if (ini->where == INI_NO_SECTION)
    return kiln_ini_fail(ini, "'%s' is outside any [section]", key);
  if (ini->where == INI_BAD_SECTION)
    return 1; /* libinih has blamed the header's line, which comes first */
  const struct seen *dup = remember(&ini->keys, &ini->n_keys, key, ini->line);
  if (dup)
    return kiln_ini_fail(ini, "[%s] %s is set twice (first at line %d)",
                         ini->section, key, dup->line);
  if (!*value)
    return kiln_ini_fail(ini, "[%s] %s has no value", ini->section, key);
  return judged(ini, ini->h->key(ini, ini->ctx, ini->section, key, value));
}

int kiln_ini_parse(const char *text, const char *source,
                   const struct kiln_ini_handler *h, void *ctx, char *err,
                   size_t n) {
  struct kiln_ini ini = {.source = source, .h = h, .ctx = ctx, .text = text};
  int rc = ini_parse_stream(string_reader, &ini, key_handler, &ini);
  end_section(&ini);
  forget(&ini.sections, &ini.n_sections);
  /* libinih reports its own syntax errors by line; ours carry a message.
   * Whichever comes first in the file is the one to fix first. */
  bool syntax_first = rc > 0 && (!ini.err_line || rc < ini.err_line);
  int line = syntax_first ? rc : ini.err_line;
  if (line > 0) {
    snprintf(err, n, "%s:%d: %s", source, line,
             syntax_first ? "syntax error (expected [section] or key = value)"
                          : ini.err);
    return -1;
  }
  if (rc < 0) {
    snprintf(err, n, "%s: cannot parse (out of memory)", source);
    return -1;
  }
  return 0;
}
