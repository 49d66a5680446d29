/* The one INI reader of profiles, station specs and SKU files, over libinih:
 * the same file syntax and the same errors for all three.
 *
 *   ; comment, # comment     whole lines; " ; text" after a value
 *   [section]                its name trimmed of blanks; a section that
 *                            appears twice is an error
 *   key = value, key: value  trimmed; outside any section, without a value,
 *                            or set twice in its section: an error
 *
 * Indentation is dropped: every line is a line of its own (libinih would
 * take an indented line for more of the key above it, silently). A UTF-8
 * byte order mark opens the file harmlessly. A line over 198 characters
 * (libinih's buffer) is an error. Errors read "SOURCE:LINE: what"; the first
 * in the file is the one reported, libinih's syntax errors included, and
 * after the first the callbacks are no longer called.
 * Layer: config (src/config/): uses core. */
#ifndef KILN_CONFIG_INI_H
#define KILN_CONFIG_INI_H

#include <stddef.h>

struct kiln_ini; /* a reading in progress */

/* What a file's reader does with its parts. Each callback returns nonzero
 * to go on, or 0 after kiln_ini_fail (0 without it: "rejected"). */
struct kiln_ini_handler {
  /* A section header, when its line is read (before its keys), so a bad
   * name is blamed on its own line. same (n bytes) holds the name under
   * which the section is checked for appearing twice: as written, unless
   * the callback writes one form for names that mean the same
   * ("pcie 10DE:2330" and "pcie 10de:2330"). NULL: any name is taken. */
  int (*section)(struct kiln_ini *ini, void *ctx, const char *name, char *same,
                 size_t n);
  /* The end of a section read without error (at the next header, or the
   * end of the file), with the line of its header and its count of keys.
   * NULL: none. */
  int (*section_end)(struct kiln_ini *ini, void *ctx, const char *name,
                     int line, size_t keys);
  /* Each key of a section, in file order: value is never empty, and key
   * not yet seen in this section. */
  int (*key)(struct kiln_ini *ini, void *ctx, const char *section,
             const char *key, const char *value);
};

/* Reads text (`source` names it in errors: a path, "built-in:NAME").
 * Returns 0, or -1 with "SOURCE:LINE: what" in err. */
int kiln_ini_parse(const char *text, const char *source,
                   const struct kiln_ini_handler *h, void *ctx, char *err,
                   size_t n);

/* The line being read (of the key or header a callback is given). */
int kiln_ini_line(const struct kiln_ini *ini);
/* The file's name as given to kiln_ini_parse. */
const char *kiln_ini_source(const struct kiln_ini *ini);
/* Records an error on the current line (or on `line`); the first recorded
 * is kept. Returns 0, for `return kiln_ini_fail(...)` in a callback. */
int kiln_ini_fail(struct kiln_ini *ini, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int kiln_ini_fail_at(struct kiln_ini *ini, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
