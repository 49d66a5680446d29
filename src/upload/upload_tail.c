/* The uploader's view of a report directory: the whole lines of an OCP
 * stream still being written (the tailer), the run id they name, and the
 * checks of what the operator gives (the URL, the token file). */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln/textutil.h"
#include "upload/upload.h"

int kiln_upload_check_url(const char *url, char *err, size_t n) {
  for (const char *p = url; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f) {
      snprintf(err, n, "'%s': a URL has no blanks or control characters", url);
      return -1;
    }
  if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
    snprintf(err, n, "'%s': the server's URL starts with http:// or https://",
             url);
    return -1;
  }
  CURLU *h = curl_url();
  if (!h) {
    snprintf(err, n, "'%s': out of memory", url);
    return -1;
  }
  int rc = -1;
  char *host = NULL, *query = NULL, *fragment = NULL;
  CURLUcode uc = curl_url_set(h, CURLUPART_URL, url, 0);
  if (uc != CURLUE_OK)
    snprintf(err, n, "'%s': %s", url, curl_url_strerror(uc));
  else if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
    snprintf(err, n, "'%s': no host", url);
  else if (curl_url_get(h, CURLUPART_QUERY, &query, 0) == CURLUE_OK ||
           curl_url_get(h, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK)
    snprintf(err, n, "'%s': give the server's base URL, without ? or #", url);
  else
    rc = 0;
  curl_free(host);
  curl_free(query);
  curl_free(fragment);
  curl_url_cleanup(h);
  return rc;
}

int kiln_upload_check_ca_file(const char *path, char *err, size_t n) {
  char why[512];
  char *text = kiln_read_text_file(path, 16 << 20,
                                   "not a PEM file of CA "
                                   "certificates",
                                   why, sizeof why);
  if (!text) {
    snprintf(err, n, "%s", why);
    return -1;
  }
  bool pem = strstr(text, "-----BEGIN CERTIFICATE-----") != NULL;
  free(text);
  if (!pem) {
    snprintf(err, n,
             "%s: no PEM certificate in it (-----BEGIN "
             "CERTIFICATE-----)",
             path);
    return -1;
  }
  return 0;
}

/* 64-bit FNV-1a, continued from h. */
static uint64_t fnv1a(uint64_t h, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)s[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

int kiln_upload_run_id(const char *line0, size_t len0, const char *line1,
                       size_t len1, char *id, size_t n, char *err,
                       size_t errn) {
  json_error_t jerr;
  json_t *root = json_loadb(line1, len1, 0, &jerr);
  json_t *start =
      json_object_get(json_object_get(root, "testRunArtifact"), "testRunStart");
  const char *stamp = json_string_value(json_object_get(root, "timestamp"));
  if (!root || !json_is_object(start) || !stamp) {
    snprintf(err, errn,
             "ocp.jsonl: line 2 is not a testRunStart with a timestamp");
    json_decref(root);
    return -1;
  }
  char t[64];
  size_t k = 0;
  for (const char *p = stamp; *p && k + 1 < sizeof t; p++)
    if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
        (*p >= 'A' && *p <= 'Z'))
      t[k++] = *p;
  t[k] = 0;
  json_decref(root);
  uint64_t h = fnv1a(fnv1a(0xcbf29ce484222325ULL, line0, len0), line1, len1);
  snprintf(id, n, "%s-%016" PRIx64, t, h);
  return 0;
}

/* ---- The tailer ---- */

struct kiln_tail {
  char *path;
  int fd;        /* -1 until the file exists */
  off_t scanned; /* bytes looked at for newlines */
  off_t *ends;   /* ends[i]: the offset just after line i's newline */
  size_t n, cap;
};

struct kiln_tail *kiln_tail_new(const char *path) {
  struct kiln_tail *t = kiln_xcalloc(1, sizeof *t);
  t->path = kiln_xstrdup(path);
  t->fd = -1;
  return t;
}

void kiln_tail_free(struct kiln_tail *t) {
  if (!t)
    return;
  if (t->fd >= 0)
    close(t->fd);
  free(t->ends);
  free(t->path);
  free(t);
}

size_t kiln_tail_lines(const struct kiln_tail *t) { return t->n; }

static void add_line_end(struct kiln_tail *t, off_t end) {
  if (t->n == t->cap) {
    t->cap = t->cap ? 2 * t->cap : 256;
    t->ends = kiln_xrealloc(t->ends, t->cap * sizeof *t->ends);
  }
  t->ends[t->n++] = end;
}

long kiln_tail_poll(struct kiln_tail *t, char *err, size_t n) {
  if (t->fd < 0) {
    t->fd = open(t->path, O_RDONLY | O_CLOEXEC);
    if (t->fd < 0) {
      if (errno == ENOENT)
        return 0;
      snprintf(err, n, "%s: %s", t->path, strerror(errno));
      return -1;
    }
  }
  char buf[65536];
  for (;;) {
    ssize_t got = pread(t->fd, buf, sizeof buf, t->scanned);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      snprintf(err, n, "%s: %s", t->path, strerror(errno));
      return -1;
    }
    if (got == 0)
      break;
    for (ssize_t i = 0; i < got; i++)
      if (buf[i] == '\n')
        add_line_end(t, t->scanned + i + 1);
    t->scanned += got;
  }
  return (long)t->n;
}

char *kiln_tail_read(struct kiln_tail *t, size_t first, size_t *count,
                     size_t max_bytes, size_t *len, char *err, size_t n) {
  off_t from = first == 0 ? 0 : t->ends[first - 1];
  size_t last = first; /* one past the last line taken */
  while (last < t->n && last - first < *count &&
         (last == first || (size_t)(t->ends[last] - from) <= max_bytes))
    last++;
  size_t bytes = (size_t)(t->ends[last - 1] - from);
  char *buf = kiln_xcalloc(bytes + 1, 1);
  size_t done = 0;
  while (done < bytes) {
    ssize_t got = pread(t->fd, buf + done, bytes - done, from + (off_t)done);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0) {
      snprintf(err, n, "%s: %s", t->path,
               got < 0 ? strerror(errno) : "the file shrank");
      free(buf);
      return NULL;
    }
    done += (size_t)got;
  }
  *count = last - first;
  *len = bytes;
  return buf;
}
