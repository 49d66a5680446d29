/* The dashboard's keys. Anywhere: resize, Ctrl-L (redraw), `q` (asks
 * first; `y` confirms and kiln_dashboard_tick() reports the quit once),
 * `?`/`h`/F1 (help); any key closes a popup. In the main view the keys
 * move the selection in the step table (the selection then stops
 * following the running step), Enter opens the step's details, `l` the
 * full log and `t` all telemetry; in those views they scroll, `n`/`p` go
 * to the next or previous step's details, and Esc or Backspace go back.
 * Keys only change the state and mark what needs drawing again. */
#include "ui/dashboard_internal.h"

static void set_view(struct dash *d, enum view v) {
  d->view = v;
  d->scroll = 0;
  d->tail = v == VIEW_LOG;
  d->dirty |= D_ALL;
}

static void move_sel(struct dash *d, long delta) {
  size_t n = d->run->n_steps;
  if (n == 0)
    return;
  d->follow = false;
  long s = (long)d->sel + delta;
  if (s < 0)
    s = 0;
  if (s >= (long)n)
    s = (long)n - 1;
  d->sel = (size_t)s;
  d->dirty |= D_TABLE;
}

static void scroll_view(struct dash *d, int delta) {
  /* Clamped to what the view held when it was last drawn; drawing
   * clamps it again to what it holds now. */
  if (d->view == VIEW_TELEMETRY) {
    long t = (long)d->tele_scroll + delta;
    d->tele_scroll = t < 0                  ? 0
                     : t > (long)d->n_items ? (int)d->n_items
                                            : (int)t;
  } else {
    long t = (long)d->scroll + delta;
    d->scroll = t < 0 ? 0 : t > (long)d->n_vl ? (int)d->n_vl : (int)t;
    /* Back at the end, the log follows new lines again. */
    d->tail = false;
    int rows = d->w_body ? getmaxy(d->w_body) - 1 : 1;
    if (d->view == VIEW_LOG && d->scroll + rows >= (int)d->n_vl && delta > 0)
      d->tail = true;
  }
  d->dirty |= D_BODY;
}

/* The keys that work in every view and over popups; returns whether ch
 * was one of them (or closed a popup). */
static bool global_key(struct dash *d, int ch) {
  if (ch == KEY_RESIZE) {
    d->dirty |= D_LAYOUT;
    return true;
  }
  if (ch == 12) { /* Ctrl-L */
    clearok(curscr, TRUE);
    d->dirty |= D_ALL;
    return true;
  }
  if (d->popup == POP_CONFIRM) {
    if (ch == 'y' || ch == 'Y')
      d->quit_confirmed = true;
    d->popup = POP_NONE;
    d->dirty |= D_ALL;
    return true;
  }
  if (d->popup == POP_HELP) {
    d->popup = POP_NONE;
    d->dirty |= D_ALL;
    return true;
  }
  if (ch == 'q' || ch == 'Q') {
    if (!d->quit_confirmed) {
      d->popup = POP_CONFIRM;
      d->dirty |= D_ALL;
    }
    return true;
  }
  if (ch == '?' || ch == 'h' || ch == KEY_F(1)) {
    d->popup = POP_HELP;
    d->dirty |= D_ALL;
    return true;
  }
  return false;
}

/* The moving keys, in the table and the views alike: how far ch moves,
 * by a line, a page, or `all` to either end; 0 for any other key. */
static long move_of(int ch, long page, long all) {
  switch (ch) {
  case KEY_UP:
  case 'k': return -1;
  case KEY_DOWN:
  case 'j': return 1;
  case KEY_PPAGE: return -page;
  case KEY_NPAGE: return page;
  case KEY_HOME:
  case 'g': return -all;
  case KEY_END:
  case 'G': return all;
  default: return 0;
  }
}

/* The step table's keys: the selection, and the views it opens. */
static void main_key(struct dash *d, int ch, int page) {
  long move = move_of(ch, page, (long)d->run->n_steps);
  if (move) {
    move_sel(d, move);
    return;
  }
  switch (ch) {
  case '\n':
  case '\r':
  case KEY_ENTER:
    if (d->run->n_steps) {
      d->detail = d->sel;
      set_view(d, VIEW_DETAIL);
    }
    break;
  case 'l': set_view(d, VIEW_LOG); break;
  case 't': set_view(d, VIEW_TELEMETRY); break;
  default: break;
  }
}

/* The full-screen views' keys: scrolling, back, the next step. */
static void view_key(struct dash *d, int ch, int page) {
  long move = move_of(ch == ' ' ? KEY_NPAGE : ch, page, 1 << 28);
  if (move) {
    scroll_view(d, (int)move);
    return;
  }
  switch (ch) {
  case KEY_ESC:
  case KEY_BACKSPACE:
  case 127:
  case 8:
  case KEY_LEFT:
    if (d->view == VIEW_DETAIL)
      d->sel = d->detail;
    set_view(d, VIEW_MAIN);
    break;
  case 'n':
  case 'p':
    if (d->view == VIEW_DETAIL) {
      if (ch == 'n' && d->detail + 1 < d->run->n_steps)
        d->detail++;
      else if (ch == 'p' && d->detail > 0)
        d->detail--;
      d->follow = false;
      set_view(d, VIEW_DETAIL);
    }
    break;
  case 'l': set_view(d, VIEW_LOG); break;
  case 't': set_view(d, VIEW_TELEMETRY); break;
  default: break;
  }
}

void dash_handle_key(struct dash *d, int ch) {
  if (global_key(d, ch))
    return;
  if (!d->run || d->too_small)
    return;
  int page = d->view == VIEW_MAIN ? d->table_h - 2
                                  : (d->w_body ? getmaxy(d->w_body) - 2 : 1);
  if (page < 1)
    page = 1;
  if (d->view == VIEW_MAIN)
    main_key(d, ch, page);
  else
    view_key(d, ch, page);
}
