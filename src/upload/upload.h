/* The DUT side of the line (issue 14, /work/briefs/line-protocol.md): a
 * report directory's OCP stream and report files sent to a `kiln serve`
 * over HTTP(S) with libcurl. Layer: upload (src/upload/): uses core.
 *
 * The local report directory is the source of truth: the uploader only
 * reads it. A thread follows ocp.jsonl (whole lines only, see kiln_tail),
 * posts new lines about once a second in bounded batches, and on every
 * (re)connect asks the server where its copy ends (last_contiguous) and
 * resumes after it; a server that is down is retried with a capped
 * exponential backoff. Once the directory is complete (kiln_upload_close:
 * the run has ended) it sends what is left of the stream, then each report
 * file that is there (junit.xml, results.tap, summary.txt, report.html,
 * telemetry.csv) by PUT, and stops when all is sent or at the deadline.
 * Errors that retrying cannot mend stop it early and are named in the
 * result: a token the server refuses (401), a line it refuses (400: that
 * line and the rest stay unacknowledged: counted unsent), a file it refuses.
 * Sending the same directory again stores it once: the run id and the sequence
 * numbers make every request idempotent. */
#ifndef KILN_UPLOAD_H
#define KILN_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The longest run id (the server's KILN_STORE_RUN_ID_MAX). */
#define KILN_UPLOAD_RUN_ID_MAX 128

/* Whether url is a server's base URL kiln can send to: http:// or
 * https://, a host, no query or fragment (libcurl's URL parser judges
 * it). 0, or -1 with "'URL': why" in err. */
int kiln_upload_check_url(const char *url, char *err, size_t n);

/* Whether path is a readable file of CA certificates (PEM) to trust the
 * server by, as a line's own CA or a self-signed server needs: 0, or -1
 * with "PATH: why" in err. libcurl reads it at each connection. */
int kiln_upload_check_ca_file(const char *path, char *err, size_t n);

/* The run id of an OCP stream, from its first two lines (line0, line1,
 * without their newlines): "<T>-<H>", T the testRunStart line's timestamp
 * with every character outside [A-Za-z0-9] dropped, H the 16 lower-case
 * hex digits of 64-bit FNV-1a over the bytes of line 0 then line 1. 0 and
 * the id in id (n >= KILN_UPLOAD_RUN_ID_MAX + 1), or -1 with why in err
 * (line 1 is not a testRunStart with a timestamp). */
int kiln_upload_run_id(const char *line0, size_t len0, const char *line1,
                       size_t len1, char *id, size_t n, char *err, size_t errn);

/* ---- The tailer: the whole lines of a file that is still growing ---- */

/* Follows path: each poll takes what was appended since; a line counts
 * once its newline is there (a half-written last line waits). Line i
 * (from 0) stays readable by its index. */
struct kiln_tail;
struct kiln_tail *kiln_tail_new(const char *path);
void kiln_tail_free(struct kiln_tail *t);
/* Reads what the file gained. Returns the number of whole lines now (0
 * while the file does not exist yet), or -1 with why in err. */
long kiln_tail_poll(struct kiln_tail *t, char *err, size_t n);
size_t kiln_tail_lines(const struct kiln_tail *t);
/* Lines [first, first + *count) as they are in the file, newlines
 * included, at most max_bytes together but always one line at least:
 * malloc'd (NUL after *len bytes), *count cut to the lines taken; NULL
 * with why in err when the file cannot be read. first < kiln_tail_lines. */
char *kiln_tail_read(struct kiln_tail *t, size_t first, size_t *count,
                     size_t max_bytes, size_t *len, char *err, size_t n);

/* ---- The uploader ---- */

struct kiln_upload;

/* Starts uploading report directory dir to the server at url (checked by
 * kiln_upload_check_url), with token as bearer (NULL: none), trusting the
 * certificates in ca_file for https (NULL: the system's), in a thread of
 * its own. dir may still be written to. NULL with why in err when the
 * thread cannot start. */
struct kiln_upload *kiln_upload_start(const char *dir, const char *url,
                                      const char *token, const char *ca_file,
                                      char *err, size_t n);
/* dir is complete (its run has ended): the thread sends the rest and the
 * report files, and gives up at wait seconds from now. Returns at once. */
void kiln_upload_close(struct kiln_upload *u, double wait);

/* What an upload sent, once it has stopped. */
struct kiln_upload_result {
  char run_id[KILN_UPLOAD_RUN_ID_MAX + 1]; /* "" when not known */
  size_t lines, lines_sent; /* whole lines of ocp.jsonl; acknowledged */
  size_t files, files_sent; /* report files present; stored */
  /* Why something is unsent, in one line: the first error that stopped
   * it (a refused token, line or file), else the last failure seen
   * ("cannot connect to ..."); "" when all was sent. */
  char problem[640];
};
/* Waits for the thread (kiln_upload_close first), fills r, frees u. */
void kiln_upload_finish(struct kiln_upload *u, struct kiln_upload_result *r);

/* Whether r has everything sent. */
bool kiln_upload_complete(const struct kiln_upload_result *r);

#endif
