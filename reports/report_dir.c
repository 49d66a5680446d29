/* A run's report directory: made, locked for the run (.kiln.lock names the
 * holder's pid), refused when it holds an earlier run's reports (unless
 * overwrite), and probed: a reserve of disk space is set aside in it now,
 * so that a directory that cannot take the reports stops the run before
 * any step, and a disk that fills mid-run still has room at the end for
 * the reports to close their records. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kiln/reports.h"
#include "kiln/textutil.h"

#define LOCK_NAME ".kiln.lock"
#define RESERVE_NAME ".kiln-reserve"
/* Enough for the closing lines of the OCP stream and a rewrite of the
 * whole-file reports of a long run. */
#define RESERVE_BYTES (1024 * 1024)

/* Every file a run writes in its directory. */
static const char *const report_names[] = {
    "ocp.jsonl",   "junit.xml",     "results.tap", "summary.txt",
    "report.html", "telemetry.csv", NULL,
};

/* The pid in the lock file of a run that holds it; 0 when not known. */
static long holder_pid(int fd) {
  for (int tries = 0; tries < 20; tries++) {
    char buf[32] = "";
    ssize_t got = pread(fd, buf, sizeof buf - 1, 0);
    if (got > 0) {
      buf[got] = 0;
      long pid = strtol(buf, NULL, 10);
      if (pid > 0)
        return pid;
    }
    /* The holder may be writing it this moment. */
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return 0;
}

static int take_lock(struct kiln_report_dir *d, char *err, size_t n) {
  char *lock_path = kiln_strdup_printf("%s/" LOCK_NAME, d->path);
  d->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  int rc = 0;
  if (d->lock_fd < 0) {
    snprintf(err, n, "cannot write in report dir %s: %s: %s", d->path,
             LOCK_NAME, strerror(errno));
    rc = -1;
  } else if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    long pid = error == EWOULDBLOCK ? holder_pid(d->lock_fd) : 0;
    if (error != EWOULDBLOCK)
      snprintf(err, n, "cannot lock report dir %s: %s", d->path,
               strerror(error));
    else if (pid > 0)
      snprintf(err, n,
               "report dir %s is in use by another kiln run (pid %ld); give "
               "another --report-dir",
               d->path, pid);
    else
      snprintf(err, n,
               "report dir %s is in use by another kiln run; give another "
               "--report-dir",
               d->path);
    rc = -1;
  } else {
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(d->lock_fd, 0) != 0 ||
        pwrite(d->lock_fd, pid, (size_t)len, 0) != len ||
        fsync(d->lock_fd) != 0) {
      snprintf(err, n, "cannot write in report dir %s: %s: %s", d->path,
               LOCK_NAME, strerror(errno ? errno : EIO));
      rc = -1;
    }
  }
  free(lock_path);
  return rc;
}

/* An earlier run's reports stay, unless the operator said to replace them:
 * then they all go now, so no old file mixes with the new run's. */
static int check_earlier_reports(struct kiln_report_dir *d, bool overwrite,
                                 char *err, size_t n) {
  for (const char *const *name = report_names; *name; name++) {
    char *path = kiln_strdup_printf("%s/%s", d->path, *name);
    struct stat info;
    bool exists = lstat(path, &info) == 0;
    int rc = 0;
    if (exists && !overwrite) {
      snprintf(err, n,
               "report dir %s already holds the reports of another run (%s); "
               "give a new --report-dir, or --overwrite to replace them",
               d->path, *name);
      rc = -1;
    } else if (exists && unlink(path) != 0) {
      snprintf(err, n, "cannot replace %s: %s", path, strerror(errno));
      rc = -1;
    }
    free(path);
    if (rc != 0)
      return rc;
  }
  return 0;
}

static int set_reserve(struct kiln_report_dir *d, char *err, size_t n) {
  d->reserve = kiln_strdup_printf("%s/" RESERVE_NAME, d->path);
  int fd = open(d->reserve, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int error = fd < 0 ? errno : posix_fallocate(fd, 0, RESERVE_BYTES);
  if (error == 0 && fsync(fd) != 0)
    error = errno;
  if (fd >= 0)
    close(fd);
  if (error == 0)
    return 0;
  snprintf(err, n, "cannot write in report dir %s: %s", d->path,
           strerror(error));
  unlink(d->reserve);
  free(d->reserve);
  d->reserve = NULL;
  return -1;
}

int kiln_report_dir_open(struct kiln_report_dir *d, const char *path,
                         bool overwrite, char *err, size_t n) {
  memset(d, 0, sizeof *d);
  d->lock_fd = -1;
  d->path = kiln_xstrdup(path);
  if (kiln_make_dirs(path, "report dir", err, n) != 0 ||
      take_lock(d, err, n) != 0)
    return KILN_REPORT_DIR_UNUSABLE;
  if (check_earlier_reports(d, overwrite, err, n) != 0)
    return KILN_REPORT_DIR_TAKEN;
  if (set_reserve(d, err, n) != 0)
    return KILN_REPORT_DIR_UNUSABLE;
  return 0;
}

void kiln_report_dir_release_reserve(struct kiln_report_dir *d) {
  if (!d->reserve)
    return;
  unlink(d->reserve);
  free(d->reserve);
  d->reserve = NULL;
}

void kiln_report_dir_close(struct kiln_report_dir *d) {
  kiln_report_dir_release_reserve(d);
  if (d->lock_fd >= 0)
    close(d->lock_fd); /* the lock goes with it */
  free(d->path);
  memset(d, 0, sizeof *d);
  d->lock_fd = -1;
}
