#include "kiln/bus.h"

#include <string.h>

void kiln_bus_init(struct kiln_bus *bus, FILE *errors) {
  memset(bus, 0, sizeof *bus);
  bus->errors = errors;
}

void kiln_bus_add(struct kiln_bus *bus, struct kiln_sink *sink) {
  if (sink && bus->n_sinks < KILN_BUS_MAX_SINKS)
    bus->sinks[bus->n_sinks++] = sink;
}

/* A failing sink is reported once and switched off; the others go on, so
 * a full disk loses one report's tail, not the run. */
static void check(struct kiln_bus *bus, size_t i, int rc) {
  if (rc == 0 || bus->broken[i])
    return;
  bus->broken[i] = true;
  bus->failures++;
  struct kiln_sink *s = bus->sinks[i];
  if (bus->errors)
    fprintf(bus->errors,
            "kiln: report %s: %s (no more writes to it until the run end; the "
            "others go on)\n",
            s->name, s->err[0] ? s->err : "write failed");
}

#define PUBLISH(bus, cb, ...)                                                  \
  do {                                                                         \
    for (size_t i_ = 0; i_ < (bus)->n_sinks; i_++) {                           \
      struct kiln_sink *s_ = (bus)->sinks[i_];                                 \
      if (!(bus)->broken[i_] && s_->cb)                                        \
        check((bus), i_, s_->cb(s_, __VA_ARGS__));                             \
    }                                                                          \
  } while (0)

void kiln_bus_series_start(struct kiln_bus *bus, const struct kiln_run *run,
                           const struct kiln_step_result *s,
                           const struct kiln_series *se) {
  PUBLISH(bus, series_start, run, s, se);
}

void kiln_bus_series_element(struct kiln_bus *bus, const struct kiln_run *run,
                             const struct kiln_step_result *s,
                             const struct kiln_series *se, double value,
                             double time) {
  PUBLISH(bus, series_element, run, s, se, value, time);
}

void kiln_bus_series_end(struct kiln_bus *bus, const struct kiln_run *run,
                         const struct kiln_step_result *s,
                         const struct kiln_series *se) {
  PUBLISH(bus, series_end, run, s, se);
}

void kiln_bus_run_start(struct kiln_bus *bus, const struct kiln_run *run) {
  PUBLISH(bus, run_start, run);
}
void kiln_bus_step_start(struct kiln_bus *bus, const struct kiln_run *run,
                         const struct kiln_step_result *s) {
  PUBLISH(bus, step_start, run, s);
}
void kiln_bus_measurement(struct kiln_bus *bus, const struct kiln_run *run,
                          const struct kiln_step_result *s,
                          const struct kiln_measurement *m) {
  PUBLISH(bus, measurement, run, s, m);
}
void kiln_bus_diagnosis(struct kiln_bus *bus, const struct kiln_run *run,
                        const struct kiln_step_result *s,
                        const struct kiln_diagnosis *d) {
  PUBLISH(bus, diagnosis, run, s, d);
}
void kiln_bus_log(struct kiln_bus *bus, const struct kiln_run *run,
                  const struct kiln_step_result *s, const struct kiln_log *l) {
  PUBLISH(bus, log, run, s, l);
}
void kiln_bus_progress(struct kiln_bus *bus, const struct kiln_run *run,
                       const struct kiln_step_result *s) {
  PUBLISH(bus, progress, run, s);
}
void kiln_bus_step_end(struct kiln_bus *bus, const struct kiln_run *run,
                       const struct kiln_step_result *s) {
  PUBLISH(bus, step_end, run, s);
}
/* Every sink gets the run's end, a failed one too: it may close its record
 * now (kiln has freed its reserve of disk space), or say what it lost. */
void kiln_bus_run_end(struct kiln_bus *bus, const struct kiln_run *run) {
  for (size_t i = 0; i < bus->n_sinks; i++) {
    struct kiln_sink *s = bus->sinks[i];
    if (!s->run_end)
      continue;
    bool was_broken = bus->broken[i];
    s->err[0] = 0;
    int rc = s->run_end(s, run);
    if (rc == 0) {
      bus->broken[i] = false; /* rewritten whole: complete after all */
    } else if (!was_broken) {
      check(bus, i, rc);
    } else if (bus->errors && s->err[0]) {
      fprintf(bus->errors, "kiln: report %s: %s\n", s->name, s->err);
    }
  }
}

void kiln_bus_tick(struct kiln_bus *bus, const struct kiln_run *run) {
  PUBLISH(bus, tick, run);
}

const char *kiln_bus_failure(const struct kiln_bus *bus,
                             const struct kiln_sink *sink) {
  for (size_t i = 0; i < bus->n_sinks; i++)
    if (bus->sinks[i] == sink && bus->broken[i])
      return sink->err[0] ? sink->err : "write failed";
  return NULL;
}

size_t kiln_bus_incomplete(const struct kiln_bus *bus, char *buf, size_t n) {
  size_t count = 0, used = 0;
  if (n)
    buf[0] = 0;
  for (size_t i = 0; i < bus->n_sinks; i++) {
    if (!bus->broken[i])
      continue;
    const struct kiln_sink *s = bus->sinks[i];
    if (used < n)
      used += (size_t)snprintf(buf + used, n - used, "%s%s", count ? ", " : "",
                               s->name);
    count++;
  }
  return count;
}

void kiln_bus_close(struct kiln_bus *bus) {
  for (size_t i = 0; i < bus->n_sinks; i++)
    if (bus->sinks[i]->close)
      bus->sinks[i]->close(bus->sinks[i]);
  bus->n_sinks = 0;
}
