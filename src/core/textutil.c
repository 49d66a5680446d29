#include "kiln/textutil.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void out_of_memory(void) {
  static const char msg[] = "kiln: out of memory\n";
  (void)!write(2, msg, sizeof msg - 1);
  abort();
}

void *kiln_xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p)
    out_of_memory();
  return p;
}

void *kiln_xrealloc(void *p, size_t size) {
  void *q = realloc(p, size ? size : 1);
  if (!q)
    out_of_memory();
  return q;
}

char *kiln_xstrdup(const char *s) {
  char *d = strdup(s ? s : "");
  if (!d)
    out_of_memory();
  return d;
}

char *kiln_strdup_printf(const char *fmt, ...) {
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  int r = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (r < 0)
    out_of_memory();
  return s;
}

size_t kiln_utf8_decode(const char *s, uint32_t *cp) {
  const unsigned char *p = (const unsigned char *)s;
  unsigned c = p[0];
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  uint32_t v;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    v = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    v = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    v = c & 0x07;
  } else {
    *cp = 0xfffd;
    return 1;
  }
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xc0) != 0x80) {
      *cp = 0xfffd;
      return 1;
    }
    v = (v << 6) | (p[i] & 0x3f);
  }
  if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10ffff)) ||
      (v >= 0xd800 && v <= 0xdfff)) {
    *cp = 0xfffd;
    return 1;
  }
  *cp = v;
  return len;
}

/* Length of the valid UTF-8 sequence at p, or 0 when it is not one. */
static size_t utf8_seq_len(const unsigned char *p) {
  uint32_t cp;
  size_t len = kiln_utf8_decode((const char *)p, &cp);
  return len == 1 && cp == 0xfffd && p[0] >= 0x80 ? 0 : len;
}

size_t kiln_text_columns(const char *s) {
  size_t cols = 0;
  while (*s) {
    uint32_t cp;
    s += kiln_utf8_decode(s, &cp);
    cols++;
  }
  return cols;
}

void kiln_elapsed_text(double seconds, unsigned style, char *buf, size_t n) {
  if (!isfinite(seconds) || seconds < 0 || seconds > 1e9) {
    snprintf(buf, n, "-");
    return;
  }
  const char *sp = style & KILN_ELAPSED_SPACED ? " " : "";
  long whole = (long)seconds;
  if (seconds < 60)
    snprintf(buf, n, "%.1f%ss", seconds, sp);
  else if (seconds < 3600)
    snprintf(buf, n, "%ldm%s%02lds", whole / 60, sp, whole % 60);
  else if (style & KILN_ELAPSED_HMS)
    snprintf(buf, n, "%ldh%s%02ldm%s%02lds", whole / 3600, sp, whole / 60 % 60,
             sp, whole % 60);
  else
    snprintf(buf, n, "%ldh%s%02ldm", whole / 3600, sp, whole / 60 % 60);
}

void kiln_size_text(uint64_t bytes, int decimals, char *buf, size_t n) {
  const uint64_t gib = 1ull << 30, mib = 1ull << 20;
  if (bytes == 0)
    snprintf(buf, n, "-");
  else if (bytes % gib == 0)
    snprintf(buf, n, "%llu GiB", (unsigned long long)(bytes / gib));
  else if (bytes % mib == 0 && bytes < gib)
    snprintf(buf, n, "%llu MiB", (unsigned long long)(bytes / mib));
  else if (bytes >= gib)
    snprintf(buf, n, "%.*f GiB", decimals, (double)bytes / (double)gib);
  else
    snprintf(buf, n, "%.0f MiB", (double)bytes / (double)mib);
}

void kiln_bitrate_text(double bps, char *buf, size_t n) {
  if (!(bps > 0))
    snprintf(buf, n, "-");
  else if (bps >= 1e9)
    snprintf(buf, n, "%g Gb/s", bps / 1e9);
  else if (bps >= 1e6)
    snprintf(buf, n, "%g Mb/s", bps / 1e6);
  else
    snprintf(buf, n, "%g b/s", bps);
}

void kiln_figure_text_digits(double v, int digits, char *buf, size_t n) {
  if (!n)
    return;
  if (digits < 1)
    digits = 1;
  if (digits > 17)
    digits = 17;
  if (isnan(v)) {
    snprintf(buf, n, "nan");
    return;
  }
  if (isinf(v)) {
    snprintf(buf, n, "%s", v < 0 ? "-inf" : "inf");
    return;
  }
  if (v == 0) {
    snprintf(buf, n, "0"); /* and never "-0" */
    return;
  }
  double a = fabs(v);
  if (a < 1e-6 || a >= 1e15) {
    snprintf(buf, n, "%.*g", digits, v);
    return;
  }
  /* The decimal exponent after rounding to `digits` (999.96 is 1.000e+03),
   * as %g finds it, then fixed notation with the decimals that leaves. */
  char sci[40];
  snprintf(sci, sizeof sci, "%.*e", digits - 1, v);
  const char *e = strchr(sci, 'e');
  int exp10 = e ? atoi(e + 1) : 0;
  int decimals = digits - 1 - exp10;
  if (decimals < 0)
    decimals = 0;
  char fixed[64];
  snprintf(fixed, sizeof fixed, "%.*f", decimals, v);
  if (strchr(fixed, '.')) {
    size_t len = strlen(fixed);
    while (fixed[len - 1] == '0')
      fixed[--len] = 0;
    if (fixed[len - 1] == '.')
      fixed[--len] = 0;
  }
  snprintf(buf, n, "%s", strcmp(fixed, "-0") == 0 ? "0" : fixed);
}

void kiln_figure_text(double v, char *buf, size_t n) {
  kiln_figure_text_digits(v, KILN_FIGURE_DIGITS, buf, n);
}

char *kiln_utf8_sanitize(const char *s) {
  if (!s)
    return kiln_xstrdup("");
  size_t n = strlen(s);
  char *out = kiln_xcalloc(n * 3 + 1, 1); /* each bad byte becomes 3 */
  const unsigned char *p = (const unsigned char *)s;
  char *o = out;
  while (*p) {
    size_t len = utf8_seq_len(p);
    if (len) {
      memcpy(o, p, len);
      o += len;
      p += len;
    } else {
      memcpy(o, "\xef\xbf\xbd", 3);
      o += 3;
      p++;
    }
  }
  *o = 0;
  return out;
}

void kiln_format_time(double t, char *buf, size_t n) {
  time_t secs = (time_t)t;
  int ms = (int)((t - (double)secs) * 1000.0);
  if (ms < 0)
    ms = 0;
  if (ms > 999)
    ms = 999;
  struct tm tm;
  gmtime_r(&secs, &tm);
  char base[32];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, n, "%s.%03dZ", base, ms);
}

double kiln_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double kiln_monotonic_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

FILE *kiln_atomic_open(struct kiln_atomic *a, const char *path, char *err,
                       size_t n) {
  memset(a, 0, sizeof *a);
  a->path = kiln_xstrdup(path);
  a->tmp = kiln_strdup_printf("%s.tmp.%ld", path, (long)getpid());
  int fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || !(a->f = fdopen(fd, "w"))) {
    snprintf(err, n, "%s: %s", a->tmp, strerror(errno));
    if (fd >= 0)
      close(fd);
    free(a->path);
    free(a->tmp);
    a->path = a->tmp = NULL;
    return NULL;
  }
  return a->f;
}

int kiln_atomic_commit(struct kiln_atomic *a, char *err, size_t n) {
  int rc = 0;
  if (fflush(a->f) != 0 || ferror(a->f) || fsync(fileno(a->f)) != 0) {
    snprintf(err, n, "%s: %s", a->path, strerror(errno ? errno : EIO));
    rc = -1;
  }
  if (fclose(a->f) != 0 && rc == 0) {
    snprintf(err, n, "%s: %s", a->path, strerror(errno));
    rc = -1;
  }
  a->f = NULL;
  if (rc == 0 && rename(a->tmp, a->path) != 0) {
    snprintf(err, n, "%s: %s", a->path, strerror(errno));
    rc = -1;
  }
  if (rc != 0)
    unlink(a->tmp);
  free(a->path);
  free(a->tmp);
  a->path = a->tmp = NULL;
  return rc;
}

void kiln_atomic_abort(struct kiln_atomic *a) {
  if (a->f)
    fclose(a->f);
  if (a->tmp)
    unlink(a->tmp);
  free(a->path);
  free(a->tmp);
  memset(a, 0, sizeof *a);
}

char *kiln_escape_controls(const char *s) {
  char *valid = kiln_utf8_sanitize(s);
  size_t len = strlen(valid);
  char *out = kiln_xcalloc(len * 4 + 1, 1); /* a byte grows to "\xNN" */
  char *o = out;
  for (const unsigned char *p = (const unsigned char *)valid; *p; p++) {
    if (*p < 0x20 || *p == 0x7f)
      o += sprintf(o, "\\x%02x", *p);
    else
      *o++ = (char)*p;
  }
  *o = 0;
  free(valid);
  return out;
}

bool kiln_names_a_file(const char *s) {
  size_t len = strlen(s);
  return strchr(s, '/') || (len > 4 && strcmp(s + len - 4, ".ini") == 0);
}

char *kiln_path_beside(const char *source, const char *path) {
  const char *slash = strrchr(source, '/');
  if (path[0] == '/' || !slash || strncmp(source, "built-in:", 9) == 0)
    return kiln_xstrdup(path);
  return kiln_strdup_printf("%.*s/%s", (int)(slash - source), source, path);
}

static const char *file_kind(mode_t mode) {
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISSOCK(mode))
    return "a socket";
  if (S_ISLNK(mode))
    return "a symbolic link";
  return "not a file";
}

int kiln_make_dirs(const char *path, const char *what, char *err, size_t n) {
  char *p = kiln_xstrdup(path);
  int rc = 0;
  for (char *s = p + 1;; s++) {
    bool last = !*s;
    if (!last && *s != '/')
      continue;
    *s = '\0';
    if (p[0] && mkdir(p, 0755) != 0 && errno != EEXIST) {
      snprintf(err, n, "cannot create %s%s%s: %s", what ? what : "",
               what ? " " : "", p, strerror(errno));
      rc = -1;
      break;
    }
    if (last)
      break;
    *s = '/';
  }
  free(p);
  return rc;
}

int kiln_open_regular(const char *path, char *err, size_t n) {
  /* stat first: a device is not even opened (opening some has effects);
   * then O_NONBLOCK, so a FIFO swapped in between cannot block the open,
   * and fstat of what was opened decides. */
  struct stat st;
  if (stat(path, &st) != 0) {
    snprintf(err, n, "%s: %s", path, strerror(errno));
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(err, n, "%s: is %s, not a regular file", path,
             file_kind(st.st_mode));
    return -1;
  }
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, n, "%s: %s", path, strerror(errno));
    return -1;
  }
  if (fstat(fd, &st) != 0) {
    snprintf(err, n, "%s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(err, n, "%s: is %s, not a regular file", path,
             file_kind(st.st_mode));
    close(fd);
    return -1;
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    snprintf(err, n, "%s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

int kiln_check_new_file_target(const char *path, char *err, size_t n) {
  struct stat st;
  if (lstat(path, &st) != 0) {
    if (errno == ENOENT)
      return 0;
    snprintf(err, n, "%s: %s", path, strerror(errno));
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(err, n, "%s: is %s, not a regular file: not replacing it", path,
             file_kind(st.st_mode));
    return -1;
  }
  return 0;
}

char *kiln_read_text_file(const char *path, size_t max, const char *what,
                          char *err, size_t n) {
  int fd = kiln_open_regular(path, err, n);
  FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
  if (!f) {
    if (fd >= 0) {
      snprintf(err, n, "%s: %s", path, strerror(errno));
      close(fd);
    }
    return NULL;
  }
  char *text = NULL;
  size_t cap = 0, got = 0;
  for (;;) {
    if (got + 4096 + 1 > cap) {
      cap = cap ? 2 * cap : 8192;
      text = kiln_xrealloc(text, cap);
    }
    size_t r = fread(text + got, 1, cap - got - 1, f);
    got += r;
    if (r == 0 || got > max)
      break;
  }
  int read_err = ferror(f);
  int saved = errno;
  fclose(f);
  text[got] = 0;
  if (read_err || got > max || memchr(text, 0, got)) {
    if (read_err)
      snprintf(err, n, "%s: %s", path, strerror(saved ? saved : EIO));
    else if (got > max)
      snprintf(err, n, "%s: larger than %zu MiB: %s", path, max >> 20, what);
    else
      snprintf(err, n, "%s: binary data: %s", path, what);
    free(text);
    return NULL;
  }
  return text;
}

char *kiln_read_token_file(const char *path, char *err, size_t n) {
  char why[512];
  char *text =
      kiln_read_text_file(path, 4096, "not a token file", why, sizeof why);
  if (!text) {
    snprintf(err, n, "%s", why);
    return NULL;
  }
  size_t len = strlen(text);
  while (len > 0 && strchr(" \t\r\n", text[len - 1]))
    text[--len] = 0;
  if (len == 0) {
    snprintf(err, n, "%s: the token file is empty", path);
    free(text);
    return NULL;
  }
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)text[i] < 0x21 || (unsigned char)text[i] > 0x7e) {
      snprintf(err, n,
               "%s: the token has a blank, a line break or a character "
               "outside printable ASCII (at byte %zu): one line, the token "
               "alone",
               path, i + 1);
      free(text);
      return NULL;
    }
  return text;
}

int kiln_append_whole(int fd, off_t *size, const char *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t w = pwrite(fd, buf + done, len - done, *size + (off_t)done);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      int error = w < 0 ? errno : EIO;
      if (done > 0 && ftruncate(fd, *size) != 0) {
        /* Cannot cut it (a device): the next record still starts whole. */
      }
      return error;
    }
    done += (size_t)w;
  }
  *size += (off_t)len;
  return 0;
}
