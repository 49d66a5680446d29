/* The dashboard's model: the state its panels draw and do not own. The
 * sink's callbacks (dashboard.c) fill it: the full log and the event pane
 * as bounded rings of escaped lines, the telemetry series with their last
 * SPARK_CAP samples, grouped by unit for the telemetry panel. The run
 * itself (struct kiln_run) is the runner's; this file only reads it. */
#include <stdlib.h>
#include <string.h>

#include "kiln/textutil.h"
#include "ui/dashboard_internal.h"

/* ---- rings ---- */

void dash_ring_init(struct ring *r, size_t cap) {
  r->v = kiln_xcalloc(cap, sizeof *r->v);
  r->cap = cap;
}

static void entry_free(struct entry *e) {
  free(e->who);
  free(e->text);
  e->who = e->text = NULL;
}

struct entry *dash_ring_at(const struct ring *r, size_t i) {
  return &r->v[(r->start + i) % r->cap];
}

void dash_ring_push(struct ring *r, const struct entry *e) {
  if (r->n == r->cap) {
    entry_free(dash_ring_at(r, 0));
    r->start = (r->start + 1) % r->cap;
    r->n--;
    r->dropped++;
  }
  struct entry *slot = dash_ring_at(r, r->n);
  *slot = *e;
  slot->who = kiln_escape_controls(e->who);
  slot->text = kiln_escape_controls(e->text);
  r->n++;
}

void dash_ring_free(struct ring *r) {
  for (size_t i = 0; i < r->n; i++)
    entry_free(dash_ring_at(r, i));
  free(r->v);
  memset(r, 0, sizeof *r);
}

/* ---- the run model, read ---- */

bool dash_is_monitor(const struct kiln_step_result *s) {
  return s->phase == KILN_MONITOR_PHASE;
}

const char *dash_state_word(const struct kiln_step_result *s) {
  if (s->state == KILN_STEP_PENDING)
    return "pending";
  if (s->state == KILN_STEP_RUNNING)
    return "running";
  return kiln_verdict_name(s->verdict);
}

double dash_since_start(const struct dash *d, double t) {
  return d->run && t > d->run->start ? t - d->run->start : 0;
}

/* ---- telemetry series ---- */

static enum group group_of(const char *unit) {
  if (strcmp(unit, "C") == 0)
    return G_TEMP;
  if (strcmp(unit, "W") == 0)
    return G_POWER;
  if (strcmp(unit, "MHz") == 0)
    return G_CLOCK;
  if (strcmp(unit, "RPM") == 0)
    return G_FAN;
  if (strcmp(unit, "count") == 0)
    return G_COUNT;
  return G_OTHER;
}

struct series *dash_find_series(struct dash *d, const char *id) {
  for (size_t i = 0; i < d->n_series; i++)
    if (strcmp(d->series[i].id, id) == 0)
      return &d->series[i];
  return NULL;
}

/* The telemetry panel's lines: each group present, then its series. */
static void rebuild_items(struct dash *d) {
  free(d->items);
  d->items = kiln_xcalloc(d->n_series + G_N, sizeof *d->items);
  d->n_items = 0;
  for (int g = 0; g < G_N; g++) {
    bool titled = false;
    for (size_t i = 0; i < d->n_series; i++) {
      if (d->series[i].group != (enum group)g)
        continue;
      if (!titled) {
        d->items[d->n_items++] = (struct tele_item){true, g};
        titled = true;
      }
      d->items[d->n_items++] = (struct tele_item){false, (int)i};
    }
  }
}

struct series *dash_add_series(struct dash *d, const struct kiln_series *se) {
  if (d->n_series == d->cap_series) {
    d->cap_series = d->cap_series ? d->cap_series * 2 : 16;
    d->series = kiln_xrealloc(d->series, d->cap_series * sizeof *d->series);
  }
  struct series *s = &d->series[d->n_series++];
  memset(s, 0, sizeof *s);
  s->id = kiln_escape_controls(se->id);
  s->name = kiln_escape_controls(se->name && se->name[0] ? se->name : se->id);
  s->unit = kiln_escape_controls(se->unit);
  s->label = kiln_xstrdup(s->name);
  char *paren = strstr(s->label, " (");
  size_t ll = strlen(s->label);
  if (paren && paren != s->label && ll && s->label[ll - 1] == ')')
    *paren = 0;
  int nw = dash_text_cols(d, s->name), lw = dash_text_cols(d, s->label);
  d->name_w = nw > d->name_w ? nw : d->name_w;
  d->label_w = lw > d->label_w ? lw : d->label_w;
  s->group = group_of(s->unit);
  rebuild_items(d);
  return s;
}

void dash_series_append(struct series *s, double value) {
  s->v[s->head] = value;
  s->head = (s->head + 1) % SPARK_CAP;
  if (s->n < SPARK_CAP)
    s->n++;
  s->last = value;
  if (s->total == 0 || value < s->lo_seen)
    s->lo_seen = value;
  if (s->total == 0 || value > s->hi_seen)
    s->hi_seen = value;
  s->total++;
}

void dash_free_series(struct dash *d) {
  for (size_t i = 0; i < d->n_series; i++) {
    free(d->series[i].id);
    free(d->series[i].name);
    free(d->series[i].unit);
    free(d->series[i].label);
  }
  free(d->series);
  free(d->items);
  d->series = NULL;
  d->items = NULL;
  d->n_series = d->cap_series = d->n_items = 0;
}
