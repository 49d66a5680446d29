/* The events panel: what an operator must see without looking for it, the
 * newest last: diagnoses that are not a pass, warnings and errors from
 * the log, measurements out of limits, steps ending ERROR or ABORTED, and
 * stderr. The full log (`l`, dashboard_views.c) has every line. */
#include <stdio.h>

#include "ui/dashboard_internal.h"

/* "[  12.3s] LABEL who: text" in attr, wrapped to one row. */
static void draw_entry(struct dash *d, WINDOW *w, int y,
                       const struct entry *e) {
  attr_t a = dash_entry_attr(d, e);
  int x = dash_put_at(d, w, y, 0, A_DIM, d->cols, "[%7.1fs] ",
                      dash_since_start(d, e->time));
  x += dash_put_at(d, w, y, x, a, d->cols - x, "%-7s ", dash_entry_label(e));
  if (e->who[0])
    x += dash_put_at(d, w, y, x, A_BOLD, d->cols - x, "%s: ", e->who);
  dash_put_at(d, w, y, x, e->kind == E_LOG || e->kind == E_START ? A_NORMAL : a,
              d->cols - x, "%s", e->text);
}

void dash_draw_events(struct dash *d) {
  WINDOW *w = d->w_events;
  werase(w);
  char right[64] = "";
  if (d->events.n)
    snprintf(right, sizeof right, "l: full log (%zu lines)",
             d->log.n + d->log.dropped);
  dash_section_title(d, w, 0, "Events: diagnoses, warnings, failures", right);
  int rows = d->events_h - 1;
  size_t n = d->events.n < (size_t)rows ? d->events.n : (size_t)rows;
  if (n == 0)
    dash_put_at(d, w, 1, 2, A_DIM, d->cols - 2, "nothing to report yet");
  for (size_t k = 0; k < n; k++)
    draw_entry(d, w, 1 + (int)k, dash_ring_at(&d->events, d->events.n - n + k));
  wnoutrefresh(w);
}
