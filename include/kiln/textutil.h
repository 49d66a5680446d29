/* Text: UTF-8, files, time, and the one form of each figure kiln prints
 * (durations, sizes) shared by the reports, the console and the dashboard.
 * Layer: core (src/core/): uses no other layer. */
#ifndef KILN_TEXTUTIL_H
#define KILN_TEXTUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* The code point of the UTF-8 sequence at s in *cp and its length in
 * bytes; an invalid or overlong sequence decodes as U+FFFD, one byte. s
 * must not be at its terminating NUL. */
size_t kiln_utf8_decode(const char *s, uint32_t *cp);
/* Characters of s as a text file shows them in a fixed-width column:
 * code points, each invalid byte one (padding of summary.txt, kiln
 * inventory's tables). The dashboard measures with wcwidth() instead. */
size_t kiln_text_columns(const char *s);

/* Elapsed time for people, in the largest units that matter: "42.0s",
 * "3m05s", "2h07m"; KILN_ELAPSED_SPACED puts a space between the parts
 * ("3m 05s", "42.0 s"), KILN_ELAPSED_HMS keeps the seconds past an hour
 * ("2h 07m 12s"). Not finite, negative or over 1e9 s: "-". */
#define KILN_ELAPSED_SPACED 1u
#define KILN_ELAPSED_HMS 2u
void kiln_elapsed_text(double seconds, unsigned style, char *buf, size_t n);
/* A byte count for people, binary units: "80 GiB" (whole), "512 MiB"
 * (whole), else "1.5 GiB" (decimals: digits after the point) or, under a
 * GiB, "300 MiB"; 0: "-". */
void kiln_size_text(uint64_t bytes, int decimals, char *buf, size_t n);
/* A link's bit rate for people, decimal units: "400 Gb/s", "100 Mb/s",
 * "9600 b/s"; 0 or less (unknown): "-". */
void kiln_bitrate_text(double bps, char *buf, size_t n);

/* A measured figure (or a limit) for people: the one rule the log,
 * summary.txt, report.html, junit.xml, results.tap, kiln merge's reports,
 * the dashboard and kiln serve's pages share. Four significant digits,
 * rounded, trailing zeros dropped: 88.9884 -> "88.99", 214.998 -> "215",
 * 999.96 -> "1000", 0.012345 -> "0.01235". Never fewer digits than the
 * integer part and never exponent form for an ordinary figure: 12345.6 ->
 * "12346", 1e12 -> "1000000000000", so integers stay integers. Only a
 * magnitude under 1e-6 or from 1e15 on takes exponent form ("1.5e-07").
 * 0 and -0: "0"; NaN: "nan"; infinities: "inf", "-inf". The machine
 * formats (ocp.jsonl, the server's JSON, telemetry.csv) keep full
 * precision and never pass through here. */
#define KILN_FIGURE_DIGITS 4
void kiln_figure_text(double v, char *buf, size_t n);
/* The same rule with `digits` significant digits (1..17): the digits a
 * figure beside a limit takes so that the two do not read the same. */
void kiln_figure_text_digits(double v, int digits, char *buf, size_t n);

/* malloc'd copy with every invalid UTF-8 byte replaced by U+FFFD. */
char *kiln_utf8_sanitize(const char *s);
/* malloc'd copy, valid UTF-8, with C0 controls and DEL shown as "\xNN":
 * for text meant for people (terminal, summary.txt). */
char *kiln_escape_controls(const char *s);
/* malloc'd printf; abort()s on out-of-memory. */
char *kiln_strdup_printf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
char *kiln_xstrdup(const char *s); /* NULL -> "" */
/* Whether a NAME|FILE argument names a file: it has a '/' or ends in
 * ".ini" (else it names something built in). */
bool kiln_names_a_file(const char *s);
/* path as seen from the file `source` was read from: a relative path is
 * taken from that file's directory (so a profile and its spec, a spec and
 * its SKU file travel together); absolute paths, and paths from a built-in
 * source ("built-in:..."), as they are. malloc'd. */
char *kiln_path_beside(const char *source, const char *path);
/* Opens path for reading when it is a regular file, without blocking on
 * anything else (a FIFO, a device): the fd (O_CLOEXEC, blocking reads),
 * or -1 with "PATH: is a FIFO, not a regular file" (or why it cannot be
 * opened) in err. Every reader of a file a user names opens it here. */
int kiln_open_regular(const char *path, char *err, size_t n);
/* mkdir -p path (mode 0755): 0, or -1 with "cannot create WHAT DIR: why"
 * (what: "report dir", or NULL for none; DIR the first directory that
 * could not be made) in err. */
int kiln_make_dirs(const char *path, const char *what, char *err, size_t n);
/* Whether path may be replaced by a new regular file (renamed over):
 * 0 when nothing is there or a regular file is, else -1 with "PATH: is a
 * symbolic link, not a regular file: ..." in err (lstat: a link is not
 * followed). */
int kiln_check_new_file_target(const char *path, char *err, size_t n);
/* A small text file read whole (profiles, specs): malloc'd, or NULL with
 * "PATH: why" in err (unreadable, over max bytes, or binary: `what` names
 * what the file should have been, "not a profile"). */
char *kiln_read_text_file(const char *path, size_t max, const char *what,
                          char *err, size_t n);
/* The bearer token in a token file, as kiln serve and the uploader both
 * read it: all of the file less trailing blanks and newlines. malloc'd, or
 * NULL with "PATH: why" in err (unreadable, empty, or holding a blank, a
 * second line or a character an HTTP header cannot carry). */
char *kiln_read_token_file(const char *path, char *err, size_t n);
void *kiln_xcalloc(size_t n, size_t size);
void *kiln_xrealloc(void *p, size_t size);
/* RFC 3339 UTC with milliseconds: "2026-11-21T05:31:00.123Z". */
void kiln_format_time(double epoch_seconds, char *buf, size_t n);
double kiln_now(void);           /* wall clock, seconds since the epoch */
double kiln_monotonic_now(void); /* CLOCK_MONOTONIC seconds */

/* Atomic file replacement: write to "<path>.tmp.<pid>", then rename. */
struct kiln_atomic {
  FILE *f;
  char *path, *tmp;
};
FILE *kiln_atomic_open(struct kiln_atomic *a, const char *path, char *err,
                       size_t n);
/* Flushes, fsyncs and renames; on any failure removes the temp file and
 * leaves the previous file in place. */
int kiln_atomic_commit(struct kiln_atomic *a, char *err, size_t n);
void kiln_atomic_abort(struct kiln_atomic *a);

/* Appends a record (one or more whole lines) to a file of records, at
 * *size, the bytes of whole records written so far: all of buf, or
 * nothing. A write that fails part way (a full disk) is cut back to *size,
 * so the file never ends in half a record. Returns 0 (*size grown by len)
 * or the errno; the caller then stops writing there, or tries again. */
int kiln_append_whole(int fd, off_t *size, const char *buf, size_t len);

#endif
