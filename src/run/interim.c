/* A step's running figures as measurement series (see interim.h). */
#include "run/interim.h"

#include <stdlib.h>
#include <string.h>

#include "kiln/textutil.h"

struct kiln_interim_figure {
  char *name, *hwid; /* as the child sent them: the figure's key */
  char *id, *label, *unit;
  struct kiln_series se;
  double last; /* wall time of the last element kept */
  bool ended;
};

static struct kiln_interim_figure *find(struct kiln_interim *im,
                                        const char *name, const char *hwid) {
  for (size_t i = 0; i < im->n; i++)
    if (strcmp(im->f[i].name, name) == 0 && strcmp(im->f[i].hwid, hwid) == 0)
      return &im->f[i];
  return NULL;
}

void kiln_interim_add(struct kiln_interim *im, struct kiln_bus *bus,
                      const struct kiln_run *run,
                      const struct kiln_step_result *s, const char *name,
                      const char *unit, const char *hwid, double value,
                      double time, double publish_every) {
  hwid = hwid ? hwid : "";
  unit = unit ? unit : "";
  struct kiln_interim_figure *f = find(im, name, hwid);
  if (!f) {
    if (im->n == KILN_INTERIM_MAX_FIGURES || !name[0])
      return;
    if (im->n == 0)
      im->f = kiln_xcalloc(KILN_INTERIM_MAX_FIGURES, sizeof *im->f);
    f = &im->f[im->n++];
    f->name = kiln_xstrdup(name);
    f->hwid = kiln_xstrdup(hwid);
    f->id = hwid[0] ? kiln_strdup_printf("%s/%s/%s", s->id, name, hwid)
                    : kiln_strdup_printf("%s/%s", s->id, name);
    f->label = kiln_strdup_printf("%s (%s, running)", name, s->id);
    f->unit = kiln_xstrdup(unit);
    f->se = (struct kiln_series){
        .id = f->id, .name = f->label, .unit = f->unit, .hwid = f->hwid};
    kiln_bus_series_start(bus, run, s, &f->se);
  } else if (f->ended || time - f->last < publish_every / 4) {
    return; /* a child that floods gets a quarter of the cadence */
  }
  f->last = time;
  kiln_bus_series_element(bus, run, s, &f->se, value, time);
  f->se.count++;
}

void kiln_interim_end(struct kiln_interim *im, struct kiln_bus *bus,
                      const struct kiln_run *run,
                      const struct kiln_step_result *s) {
  for (size_t i = 0; i < im->n; i++) {
    if (im->f[i].ended)
      continue;
    im->f[i].ended = true;
    kiln_bus_series_end(bus, run, s, &im->f[i].se);
  }
}

void kiln_interim_free(struct kiln_interim *im) {
  for (size_t i = 0; i < im->n; i++) {
    struct kiln_interim_figure *f = &im->f[i];
    free(f->name);
    free(f->hwid);
    free(f->id);
    free(f->label);
    free(f->unit);
  }
  free(im->f);
  memset(im, 0, sizeof *im);
}
