/* stderr while the dashboard has the screen: kiln's own and the steps'
 * (they inherit fd 2) is read through a pipe into the full log and the
 * event pane, so it cannot scribble over the panels, and kept (up to
 * REPLAY_CAP bytes) to be written to the real stderr when the dashboard
 * leaves the screen. A stderr that is not a terminal is left alone. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kiln/textutil.h"
#include "ui/dashboard_internal.h"

static void stderr_line(struct dash *d, const char *line) {
  size_t n = strlen(line);
  if (d->replay_len + n + 1 <= REPLAY_CAP) {
    d->replay = kiln_xrealloc(d->replay, d->replay_len + n + 2);
    memcpy(d->replay + d->replay_len, line, n);
    d->replay[d->replay_len + n] = '\n';
    d->replay_len += n + 1;
  } else {
    d->replay_truncated = true;
  }
  struct entry e = {
      .time = kiln_now(), .kind = E_STDERR, .who = "", .text = (char *)line};
  dash_ring_push(&d->log, &e);
  dash_ring_push(&d->events, &e);
  d->dirty |= D_EVENTS | (d->view == VIEW_LOG ? D_BODY : 0);
}

void dash_drain_stderr(struct dash *d) {
  if (d->err_fd < 0)
    return;
  char buf[4096];
  for (;;) {
    ssize_t r = read(d->err_fd, buf, sizeof buf);
    if (r <= 0)
      break;
    for (ssize_t i = 0; i < r; i++) {
      char c = buf[i];
      if (c == '\n' || d->errlen == sizeof d->errline - 1) {
        d->errline[d->errlen] = 0;
        stderr_line(d, d->errline);
        d->errlen = 0;
        if (c == '\n')
          continue;
      }
      d->errline[d->errlen++] = c;
    }
  }
}

void dash_capture_stderr(struct dash *d) {
  d->saved_stderr = d->err_fd = -1;
  if (!isatty(STDERR_FILENO))
    return; /* it goes to a file or a pipe: the screen is safe */
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
    return;
  (void)fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
  int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 10);
  if (saved < 0 || dup2(p[1], STDERR_FILENO) < 0) {
    if (saved >= 0)
      close(saved);
    close(p[0]);
    close(p[1]);
    return;
  }
  /* dup2 leaves fd 2 without O_CLOEXEC: the steps write there too. The
   * write end stays non-blocking: a flood of stderr is dropped rather than
   * stopping kiln. */
  close(p[1]);
  d->saved_stderr = saved;
  d->err_fd = p[0];
}

void dash_release_stderr(struct dash *d) {
  if (d->err_fd < 0)
    return;
  dash_drain_stderr(d);
  if (d->errlen) {
    d->errline[d->errlen] = 0;
    stderr_line(d, d->errline);
    d->errlen = 0;
  }
  fflush(stderr);
  dup2(d->saved_stderr, STDERR_FILENO);
  close(d->saved_stderr);
  close(d->err_fd);
  d->saved_stderr = d->err_fd = -1;
  if (d->replay_len)
    (void)!write(STDERR_FILENO, d->replay, d->replay_len);
  if (d->replay_truncated) {
    static const char more[] =
        "kiln: (more stderr was written during the dashboard than is kept)\n";
    (void)!write(STDERR_FILENO, more, sizeof more - 1);
  }
  free(d->replay);
  d->replay = NULL;
  d->replay_len = 0;
}
