/* The dashboard's drawing primitives, used by every panel and view: text
 * in a cell of so many display columns (UTF-8 decoded by
 * kiln_utf8_decode, widths from wcwidth(), controls escaped, invalid bytes
 * as U+FFFD, '?' outside a UTF-8 locale), line wrapping for the
 * scrollable views, section rules, the short number form the panels
 * share, and the colour or monochrome attribute of each verdict and event
 * line. Nothing here knows a panel's layout. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "kiln/textutil.h"
#include "ui/dashboard_internal.h"

/* ---- text: display columns, escaping ---- */

static bool is_control(uint32_t cp) {
  return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0);
}

/* Display columns of one code point: 4 for an escaped control ("\xNN"),
 * 0 for one not drawn (zero width: combining marks, bidi controls). */
static int cp_cols(const struct dash *d, uint32_t cp) {
  if (is_control(cp))
    return 4;
  if (cp < 0x80 || !d->utf8)
    return 1; /* non-ASCII is drawn as '?' outside a UTF-8 locale */
  int w = wcwidth((wchar_t)cp);
  return w < 0 ? 1 : w;
}

/* The next character of s, at byte i of len, when it fits in room
 * columns: its bytes, code point and columns; 0 at the end of s or of
 * len (a sequence cut there too), or when it does not fit. */
static size_t next_fit(const struct dash *d, const char *s, size_t i,
                       size_t len, int room, uint32_t *cp, int *cols) {
  if (i >= len || !s[i])
    return 0;
  size_t n = kiln_utf8_decode(s + i, cp);
  if (i + n > len)
    return 0;
  *cols = cp_cols(d, *cp);
  return *cols > room ? 0 : n;
}

/* Bytes of s (at most len) that fit in cols columns. */
static size_t fit_bytes(const struct dash *d, const char *s, size_t len,
                        int cols, int *used) {
  size_t i = 0, n;
  int u = 0, w;
  uint32_t cp;
  while ((n = next_fit(d, s, i, len, cols - u, &cp, &w)) > 0) {
    u += w;
    i += n;
  }
  if (used)
    *used = u;
  return i;
}

int dash_text_cols(const struct dash *d, const char *s) {
  int u;
  fit_bytes(d, s, strlen(s), 1 << 30, &u);
  return u;
}

/* Draws len bytes of s at the cursor in at most cols columns; returns the
 * columns used. Controls are drawn as \xNN, invalid UTF-8 as U+FFFD, and
 * outside a UTF-8 locale anything not ASCII as '?'. */
int dash_put_textn(const struct dash *d, WINDOW *w, const char *s, size_t len,
                   int cols) {
  size_t i = 0, n;
  int u = 0, cw;
  uint32_t cp;
  while (u < cols && (n = next_fit(d, s, i, len, cols - u, &cp, &cw)) > 0) {
    if (is_control(cp)) {
      char esc[8];
      snprintf(esc, sizeof esc, "\\x%02x", (unsigned)cp);
      waddstr(w, esc);
    } else if (cp < 0x80) {
      waddch(w, (chtype)cp);
    } else if (!d->utf8) {
      waddch(w, '?');
    } else if (wcwidth((wchar_t)cp) < 0) {
      waddch(w, '?');
    } else if (cw > 0) {
      wchar_t wc[2] = {(wchar_t)cp, 0};
      waddnwstr(w, wc, 1);
    }
    u += cw;
    i += n;
  }
  return u;
}

static int put_text(const struct dash *d, WINDOW *w, const char *s, int cols) {
  return cols > 0 ? dash_put_textn(d, w, s, strlen(s), cols) : 0;
}

/* Draws at (y, x) in attr, at most cols columns; returns them. */
int dash_put_at(const struct dash *d, WINDOW *w, int y, int x, attr_t attr,
                int cols, const char *fmt, ...) {
  if (cols <= 0)
    return 0;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  wmove(w, y, x);
  wattrset(w, attr);
  int u = put_text(d, w, buf, cols);
  wattrset(w, A_NORMAL);
  return u;
}

/* Fills row y from x on with spaces in attr (a row's background). */
void dash_fill_row(WINDOW *w, int y, int x, int cols, attr_t attr) {
  if (cols > 0)
    mvwhline(w, y, x, ' ' | attr, cols);
}

/* The byte length of the next wrapped line of s in cols columns,
 * breaking after a space where one is near the end; *skip gets the bytes
 * of spaces to drop after it. */
size_t dash_wrap_next(const struct dash *d, const char *s, int cols,
                      size_t *skip) {
  size_t len = strlen(s);
  *skip = 0;
  size_t fit = fit_bytes(d, s, len, cols, NULL);
  if (fit == 0 && len > 0) { /* a character wider than the line */
    uint32_t cp;
    fit = kiln_utf8_decode(s, &cp);
  }
  if (fit >= len)
    return len;
  size_t brk = fit;
  while (brk > fit / 2 && s[brk] != ' ')
    brk--;
  if (s[brk] == ' ' && brk > fit / 2) {
    size_t end = brk;
    while (s[brk] == ' ')
      brk++;
    *skip = brk - end;
    return end;
  }
  return fit;
}

/* A rule across row y with a title at the left and a note at the right
 * (the note only where both fit). */
void dash_section_title(struct dash *d, WINDOW *w, int y, const char *title,
                        const char *right) {
  wmove(w, y, 0);
  whline(w, ACS_HLINE, d->cols);
  int rw = right && right[0] ? dash_text_cols(d, right) + 2 : 0;
  int tw = dash_text_cols(d, title) + 2;
  if (rw && tw + rw + 4 > d->cols)
    rw = 0;
  dash_put_at(d, w, y, 1, A_BOLD, d->cols - 2 - (rw ? rw + 1 : 0), " %s ",
              title);
  if (rw)
    dash_put_at(d, w, y, d->cols - rw - 1, A_DIM, rw, " %s ", right);
}

/* ---- attributes ---- */

attr_t dash_pair(const struct dash *d, short p, attr_t mono) {
  return d->color ? (attr_t)COLOR_PAIR(p) : mono;
}

attr_t dash_verdict_attr(const struct dash *d, enum kiln_verdict v) {
  switch (v) {
  case KILN_PASS: return dash_pair(d, CP_PASS, A_NORMAL) | A_BOLD;
  case KILN_FAIL: return dash_pair(d, CP_FAIL, A_REVERSE) | A_BOLD;
  case KILN_ERROR: return dash_pair(d, CP_ERROR, A_UNDERLINE) | A_BOLD;
  case KILN_ABORTED: return dash_pair(d, CP_ABORT, A_UNDERLINE) | A_BOLD;
  case KILN_SKIP: return A_DIM;
  }
  return A_NORMAL;
}

attr_t dash_entry_attr(const struct dash *d, const struct entry *e) {
  switch (e->kind) {
  case E_DIAG:
    return e->level == KILN_DIAG_FAIL   ? dash_verdict_attr(d, KILN_FAIL)
           : e->level == KILN_DIAG_PASS ? dash_pair(d, CP_PASS, A_NORMAL)
                                        : dash_pair(d, CP_WARN, A_BOLD);
  case E_END: return dash_verdict_attr(d, (enum kiln_verdict)e->level);
  case E_MEAS: return dash_verdict_attr(d, KILN_FAIL);
  case E_STDERR: return dash_pair(d, CP_WARN, A_BOLD);
  case E_START: return A_NORMAL;
  case E_LOG:
    if (e->level >= KILN_SEV_ERROR)
      return dash_pair(d, CP_ERROR, A_BOLD) | A_BOLD;
    if (e->level == KILN_SEV_WARNING)
      return dash_pair(d, CP_WARN, A_BOLD);
    if (e->level == KILN_SEV_DEBUG)
      return A_DIM;
    return A_NORMAL;
  }
  return A_NORMAL;
}

const char *dash_entry_label(const struct entry *e) {
  switch (e->kind) {
  case E_LOG: return kiln_severity_name((enum kiln_severity)e->level);
  case E_DIAG:
    return e->level == KILN_DIAG_FAIL   ? "FAIL"
           : e->level == KILN_DIAG_PASS ? "pass"
                                        : "UNKNOWN";
  case E_START: return "start";
  case E_END: return kiln_verdict_name((enum kiln_verdict)e->level);
  case E_MEAS: return "FAIL";
  case E_STDERR: return "stderr";
  }
  return "";
}
