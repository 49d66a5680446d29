/* BMC connection settings: the credentials file, the environment and the
 * process-wide setting the "ipmi" telemetry source reads. See kiln/bmc.h. */
#include "hw/bmc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kiln/textutil.h"

#define CRED_FILE_MAX 4096 /* a credentials file is two short lines */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct kiln_bmc current;

void kiln_bmc_wipe(struct kiln_bmc *b) {
  if (b)
    explicit_bzero(b, sizeof *b);
}

static bool set_value(char *dst, size_t cap, const char *src, size_t len,
                      const char *what, const char *limit, const char *path,
                      char *err, size_t n) {
  if (len >= cap) {
    snprintf(err, n, "%s: the %s is %zu bytes long, %s allows %zu", path, what,
             len, limit, cap - 1);
    return false;
  }
  memcpy(dst, src, len);
  dst[len] = '\0';
  return true;
}

static bool blank_or_comment(const char *s, size_t len) {
  size_t i = 0;
  while (i < len && (s[i] == ' ' || s[i] == '\t'))
    i++;
  return i == len || s[i] == '#';
}

/* "key=" at the start of the line (blanks around the key allowed): the key
 * into *key, *klen, and where the value starts (blanks skipped) into *val.
 * False when the line does not look like one. */
static bool key_line(const char *s, size_t len, const char **key, size_t *klen,
                     size_t *val) {
  size_t i = 0;
  while (i < len && (s[i] == ' ' || s[i] == '\t'))
    i++;
  size_t k = i;
  while (i < len && ((s[i] >= 'a' && s[i] <= 'z') ||
                     (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_'))
    i++;
  if (i == k)
    return false;
  *key = s + k;
  *klen = i - k;
  while (i < len && (s[i] == ' ' || s[i] == '\t'))
    i++;
  if (i == len || s[i] != '=')
    return false;
  i++;
  while (i < len && (s[i] == ' ' || s[i] == '\t'))
    i++;
  *val = i;
  return true;
}

static bool key_is(const char *key, size_t klen, const char *name) {
  return strlen(name) == klen && strncmp(key, name, klen) == 0;
}

struct line {
  const char *s;
  size_t len; /* without the newline and a CR before it */
  size_t no;  /* 1-based */
};

struct lines {
  const char *buf;
  size_t len, pos, no;
};

/* The next line of it into *l; false at the end. */
static bool next_line(struct lines *it, struct line *l) {
  if (it->pos >= it->len)
    return false;
  const char *start = it->buf + it->pos;
  const char *nl = memchr(start, '\n', it->len - it->pos);
  size_t len = nl ? (size_t)(nl - start) : it->len - it->pos;
  it->pos += len + 1;
  l->s = start;
  l->len = len > 0 && start[len - 1] == '\r' ? len - 1 : len;
  l->no = ++it->no;
  return true;
}

static bool parse_keys(struct lines it, struct kiln_bmc *b, const char *path,
                       char *err, size_t n) {
  bool have_user = false, have_password = false;
  struct line l;
  while (next_line(&it, &l)) {
    if (blank_or_comment(l.s, l.len))
      continue;
    const char *key;
    size_t klen, val;
    if (!key_line(l.s, l.len, &key, &klen, &val)) {
      snprintf(err, n, "%s:%zu: expected user=NAME or password=SECRET", path,
               l.no);
      return false;
    }
    const char *v = l.s + val;
    size_t vlen = l.len - val;
    if (key_is(key, klen, "user") || key_is(key, klen, "username")) {
      if (have_user) {
        snprintf(err, n, "%s:%zu: the user is given twice", path, l.no);
        return false;
      }
      if (!set_value(b->user, sizeof b->user, v, vlen, "user name", "IPMI",
                     path, err, n))
        return false;
      have_user = true;
    } else if (key_is(key, klen, "password")) {
      if (have_password) {
        snprintf(err, n, "%s:%zu: the password is given twice", path, l.no);
        return false;
      }
      if (!set_value(b->password, sizeof b->password, v, vlen, "password",
                     "IPMI 2.0", path, err, n))
        return false;
      have_password = true;
    } else {
      snprintf(err, n,
               "%s:%zu: unknown key \"%.*s\" (expected user= or password=)",
               path, l.no, (int)(klen > 32 ? 32 : klen), key);
      return false;
    }
  }
  if (!have_user || !have_password) {
    snprintf(err, n, "%s: no %s= line", path, have_user ? "password" : "user");
    return false;
  }
  return true;
}

/* Two bare lines: user, then password (verbatim, '#' and all). Blank and
 * comment lines may come before the user and after the password. */
static bool parse_bare(struct lines it, struct kiln_bmc *b, const char *path,
                       char *err, size_t n) {
  struct line user, password, l;
  bool have_user;
  while ((have_user = next_line(&it, &user)) &&
         blank_or_comment(user.s, user.len))
    ;
  if (!have_user || !next_line(&it, &password)) {
    snprintf(err, n,
             "%s: expected the user on one line and the password on the "
             "next (or user= and password= lines)",
             path);
    return false;
  }
  if (!set_value(b->user, sizeof b->user, user.s, user.len, "user name", "IPMI",
                 path, err, n) ||
      !set_value(b->password, sizeof b->password, password.s, password.len,
                 "password", "IPMI 2.0", path, err, n))
    return false;
  while (next_line(&it, &l))
    if (!blank_or_comment(l.s, l.len)) {
      snprintf(err, n,
               "%s:%zu: more than two lines (user, then password); use "
               "user= and password= lines for comments in between",
               path, l.no);
      return false;
    }
  return true;
}

static bool parse(const char *buf, size_t len, struct kiln_bmc *b,
                  const char *path, char *err, size_t n) {
  if (memchr(buf, '\0', len)) {
    snprintf(err, n, "%s: contains a NUL byte (not a text file)", path);
    return false;
  }
  struct lines it = {buf, len, 0, 0}, scan = it;
  struct line l;
  /* Key lines when the first line that says something is "key=...". */
  while (next_line(&scan, &l)) {
    if (blank_or_comment(l.s, l.len))
      continue;
    const char *key;
    size_t klen, val;
    if (key_line(l.s, l.len, &key, &klen, &val))
      return parse_keys(it, b, path, err, n);
    break;
  }
  return parse_bare(it, b, path, err, n);
}

bool kiln_bmc_read_credentials(const char *path, struct kiln_bmc *b, char *err,
                               size_t n) {
  if (n)
    err[0] = '\0';
  if (!path || !*path) {
    snprintf(err, n, "no BMC credentials file given");
    return false;
  }
  char why[512];
  int fd = kiln_open_regular(path, why, sizeof why);
  if (fd < 0) {
    /* why is "PATH: reason" */
    snprintf(err, n, "%s: cannot read BMC credentials: %s", path,
             why + strnlen(why, strlen(path) + 2));
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    snprintf(err, n, "%s: cannot read BMC credentials: %s", path,
             strerror(errno));
    close(fd);
    return false;
  }
  if (st.st_mode & 077) {
    snprintf(err, n,
             "%s: permissions %04o are too open: the BMC password must not "
             "be open to group or others (chmod 600 %s)",
             path, (unsigned)(st.st_mode & 07777), path);
    close(fd);
    return false;
  }
  char buf[CRED_FILE_MAX + 1];
  size_t len = 0;
  for (;;) {
    ssize_t r = read(fd, buf + len, sizeof buf - len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      snprintf(err, n, "%s: cannot read BMC credentials: %s", path,
               strerror(errno));
      close(fd);
      explicit_bzero(buf, sizeof buf);
      return false;
    }
    if (r == 0)
      break;
    len += (size_t)r;
    if (len == sizeof buf)
      break;
  }
  close(fd);
  bool ok;
  if (len > CRED_FILE_MAX) {
    snprintf(err, n, "%s: more than %d bytes: not a BMC credentials file", path,
             CRED_FILE_MAX);
    ok = false;
  } else {
    struct kiln_bmc tmp;
    memset(&tmp, 0, sizeof tmp);
    ok = parse(buf, len, &tmp, path, err, n);
    if (ok) {
      memcpy(b->user, tmp.user, sizeof b->user);
      memcpy(b->password, tmp.password, sizeof b->password);
    }
    kiln_bmc_wipe(&tmp);
  }
  explicit_bzero(buf, sizeof buf);
  return ok;
}

bool kiln_bmc_credentials_from_env(struct kiln_bmc *b, char *err, size_t n) {
  if (n)
    err[0] = '\0';
  const char *user = getenv("KILN_BMC_USER");
  const char *password = getenv("KILN_BMC_PASSWORD");
  if (!user || !password) {
    snprintf(err, n,
             "no BMC credentials: $%s is not set (give --bmc-credentials "
             "FILE, or set $KILN_BMC_USER and $KILN_BMC_PASSWORD)",
             !user ? "KILN_BMC_USER" : "KILN_BMC_PASSWORD");
    return false;
  }
  struct kiln_bmc tmp;
  memset(&tmp, 0, sizeof tmp);
  bool ok =
      set_value(tmp.user, sizeof tmp.user, user, strlen(user), "user name",
                "IPMI", "$KILN_BMC_USER", err, n) &&
      set_value(tmp.password, sizeof tmp.password, password, strlen(password),
                "password", "IPMI 2.0", "$KILN_BMC_PASSWORD", err, n);
  if (ok) {
    memcpy(b->user, tmp.user, sizeof b->user);
    memcpy(b->password, tmp.password, sizeof b->password);
  }
  kiln_bmc_wipe(&tmp);
  return ok;
}

static bool check_host(const char *host, char *err, size_t n) {
  if (!host || !*host) {
    snprintf(err, n, "no BMC host given (--bmc HOST)");
    return false;
  }
  size_t len = strlen(host);
  if (len > KILN_BMC_HOST_MAX) {
    snprintf(err, n, "BMC host name is %zu bytes long, at most %d", len,
             KILN_BMC_HOST_MAX);
    return false;
  }
  if (host[0] == '-') {
    snprintf(err, n, "BMC host \"%s\" starts with '-'", host);
    return false;
  }
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)host[i];
    if (c <= ' ' || c == 0x7f) {
      snprintf(err, n, "BMC host contains a space or control character");
      return false;
    }
  }
  return true;
}

bool kiln_bmc_configure(const char *host, const char *credentials_file,
                        char *err, size_t n) {
  if (n)
    err[0] = '\0';
  if (!check_host(host, err, n))
    return false;
  struct kiln_bmc b;
  memset(&b, 0, sizeof b);
  snprintf(b.host, sizeof b.host, "%s", host);
  bool ok = credentials_file
                ? kiln_bmc_read_credentials(credentials_file, &b, err, n)
                : kiln_bmc_credentials_from_env(&b, err, n);
  if (ok)
    kiln_bmc_set(&b);
  kiln_bmc_wipe(&b);
  return ok;
}

void kiln_bmc_set(const struct kiln_bmc *b) {
  pthread_mutex_lock(&lock);
  kiln_bmc_wipe(&current);
  if (b && b->host[0]) {
    current = *b;
    /* Whatever the caller left in them, the strings end in the struct. */
    current.host[sizeof current.host - 1] = '\0';
    current.user[sizeof current.user - 1] = '\0';
    current.password[sizeof current.password - 1] = '\0';
  }
  pthread_mutex_unlock(&lock);
}

bool kiln_bmc_get(struct kiln_bmc *out) {
  pthread_mutex_lock(&lock);
  *out = current;
  bool have = current.host[0] != '\0';
  pthread_mutex_unlock(&lock);
  return have;
}

void kiln_bmc_clear(void) { kiln_bmc_set(NULL); }
