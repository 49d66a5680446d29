/* The footer panel: the keys of the view on screen, or, once the operator
 * has confirmed a quit, that the run is being aborted with every report
 * still written. */
#include "ui/dashboard_internal.h"

void dash_draw_footer(struct dash *d) {
  WINDOW *w = d->w_footer;
  werase(w);
  attr_t a = dash_pair(d, CP_TITLE, A_REVERSE);
  dash_fill_row(w, 0, 0, d->cols, a);
  const char *keys;
  switch (d->view) {
  case VIEW_MAIN:
    keys = d->utf8 ? " \u2191\u2193 select  Enter details  l log  t "
                     "telemetry  ? help  q quit"
                   : " Up/Down select  Enter details  l log  t telemetry  ? "
                     "help  q quit";
    break;
  case VIEW_DETAIL:
    keys = " Up/Down PgUp/PgDn scroll  n/p next/prev step  Esc back  l log  q "
           "quit";
    break;
  default:
    keys = " Up/Down PgUp/PgDn Home/End scroll  Esc back  ? help  q quit";
    break;
  }
  if (d->quit_confirmed) {
    dash_put_at(d, w, 0, 0, dash_verdict_attr(d, KILN_ABORTED), d->cols,
                " Aborting: the steps are being stopped; every report will be "
                "written ");
  } else {
    dash_put_at(d, w, 0, 0, a, d->cols, "%s", keys);
  }
  wnoutrefresh(w);
}
