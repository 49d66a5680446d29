/* Telemetry source "sensors": every hwmon chip's fans, temperatures and
 * power through libsensors (lm-sensors), labels and compute statements from
 * its configuration included. Ids are "<chip>/<feature>", the chip as
 * sensors_snprintf_chip_name prints it: "nct6798-isa-0290/fan1".
 *
 * libsensors keeps global state, so one "sensors" source can be open at a
 * time. Its configuration is the system's (/etc/sensors3.conf and
 * /etc/sensors.d), or the file in $KILN_SENSORS_CONFIG. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sensors/error.h>
#include <sensors/sensors.h>

#include "kiln/telemetry.h"
#include "kiln/textutil.h"

struct sensor {
  const sensors_chip_name *chip; /* libsensors', valid until cleanup */
  int input;                     /* subfeature number of the reading */
  enum kiln_tel_kind kind;
  char *id, *label;
  double min, max, crit;
};

struct sensors_state {
  struct sensor *s;
  size_t n, cap;
};

static bool in_use;
/* The process that opened libsensors: a step's child inherits the parent
 * sampler's open library through fork(), a copy it may drop and reopen. */
static pid_t owner;
static const char *conf_name; /* for parse errors without a file name */
static char parse_error[200];
static int parse_errors;

/* libsensors reports a configuration line it cannot parse, ignores it and
 * goes on: keep the first for a warning instead of printing to stderr. */
static void on_parse_error(const char *err, const char *file, int line) {
  if (parse_errors++ == 0)
    snprintf(parse_error, sizeof parse_error, "%s:%d: %s",
             file ? file : conf_name, line, err ? err : "parse error");
}

static double limit(const sensors_chip_name *chip, const sensors_feature *f,
                    sensors_subfeature_type type) {
  const sensors_subfeature *sf = sensors_get_subfeature(chip, f, type);
  double v;
  if (!sf || !(sf->flags & SENSORS_MODE_R) ||
      sensors_get_value(chip, sf->number, &v) != 0 || !isfinite(v))
    return NAN;
  return v;
}

static const sensors_subfeature *readable(const sensors_chip_name *chip,
                                          const sensors_feature *f,
                                          sensors_subfeature_type type) {
  const sensors_subfeature *sf = sensors_get_subfeature(chip, f, type);
  return sf && (sf->flags & SENSORS_MODE_R) ? sf : NULL;
}

static bool id_taken(const struct sensors_state *st, const char *id) {
  for (size_t i = 0; i < st->n; i++)
    if (strcmp(st->s[i].id, id) == 0)
      return true;
  return false;
}

static void add_feature(struct sensors_state *st, const sensors_chip_name *chip,
                        const char *chip_name, const sensors_feature *f) {
  const sensors_subfeature *in = NULL;
  struct sensor s = {.chip = chip, .min = NAN, .max = NAN, .crit = NAN};
  switch (f->type) {
  case SENSORS_FEATURE_FAN:
    in = readable(chip, f, SENSORS_SUBFEATURE_FAN_INPUT);
    s.kind = KILN_TEL_FAN_RPM;
    s.min = limit(chip, f, SENSORS_SUBFEATURE_FAN_MIN);
    s.max = limit(chip, f, SENSORS_SUBFEATURE_FAN_MAX);
    break;
  case SENSORS_FEATURE_TEMP:
    in = readable(chip, f, SENSORS_SUBFEATURE_TEMP_INPUT);
    s.kind = KILN_TEL_TEMP_C;
    s.min = limit(chip, f, SENSORS_SUBFEATURE_TEMP_MIN);
    s.max = limit(chip, f, SENSORS_SUBFEATURE_TEMP_MAX);
    s.crit = limit(chip, f, SENSORS_SUBFEATURE_TEMP_CRIT);
    break;
  case SENSORS_FEATURE_POWER:
    in = readable(chip, f, SENSORS_SUBFEATURE_POWER_INPUT);
    if (!in)
      in = readable(chip, f, SENSORS_SUBFEATURE_POWER_AVERAGE);
    s.kind = KILN_TEL_POWER_W;
    s.max = limit(chip, f, SENSORS_SUBFEATURE_POWER_MAX);
    s.crit = limit(chip, f, SENSORS_SUBFEATURE_POWER_CRIT);
    break;
  default: return; /* voltages, currents, ...: not watched */
  }
  if (!in)
    return;
  s.input = in->number;
  char *id = kiln_strdup_printf("%s/%s", chip_name, f->name);
  /* Two chips printed alike (it happens with some virtual devices): keep
   * both, the later one with a suffix, so every id stays unique. */
  for (int k = 2; id_taken(st, id); k++) {
    free(id);
    id = kiln_strdup_printf("%s/%s~%d", chip_name, f->name, k);
  }
  s.id = id;
  char *label = sensors_get_label(chip, f);
  s.label = kiln_tel_clean_label(label ? label : f->name);
  free(label);
  if (!s.label[0]) {
    free(s.label);
    s.label = kiln_xstrdup(f->name);
  }
  if (st->n == st->cap) {
    st->cap = st->cap ? st->cap * 2 : 32;
    st->s = kiln_xrealloc(st->s, st->cap * sizeof *st->s);
  }
  st->s[st->n++] = s;
}

static void sensors_close(void *state);

static void *sensors_open(char *why, size_t n) {
  if (n)
    why[0] = '\0';
  if (in_use && owner == getpid()) {
    snprintf(why, n, "libsensors is already in use by another sampler");
    return NULL;
  }
  if (in_use) {
    sensors_cleanup();
    in_use = false;
  }
  parse_error[0] = '\0';
  parse_errors = 0;
  sensors_parse_error_wfn = on_parse_error;
  const char *conf_path = getenv("KILN_SENSORS_CONFIG");
  conf_name = conf_path && *conf_path ? conf_path : "sensors3.conf";
  FILE *conf = NULL;
  if (conf_path && *conf_path) {
    conf = fopen(conf_path, "re");
    if (!conf) {
      snprintf(why, n, "cannot read $KILN_SENSORS_CONFIG %s", conf_path);
      return NULL;
    }
  }
  int err = sensors_init(conf);
  if (conf)
    fclose(conf);
  if (err) {
    snprintf(why, n, "libsensors: %s%s%s", sensors_strerror(err),
             parse_error[0] ? " at " : "", parse_error);
    sensors_cleanup();
    return NULL;
  }
  in_use = true;
  owner = getpid();
  struct sensors_state *st = kiln_xcalloc(1, sizeof *st);
  const sensors_chip_name *chip;
  int chip_nr = 0, chips = 0;
  while ((chip = sensors_get_detected_chips(NULL, &chip_nr))) {
    char name[128];
    if (sensors_snprintf_chip_name(name, sizeof name, chip) < 0)
      continue;
    chips++;
    const sensors_feature *f;
    int feat_nr = 0;
    while ((f = sensors_get_features(chip, &feat_nr)))
      add_feature(st, chip, name, f);
  }
  if (st->n == 0) {
    if (chips == 0)
      snprintf(why, n, "no hwmon chips found (libsensors saw none)");
    else
      snprintf(why, n,
               "%d hwmon chip%s found, none with a fan, temperature or "
               "power sensor",
               chips, chips == 1 ? "" : "s");
    size_t len = n ? strlen(why) : 0;
    if (parse_errors && len + 1 < n)
      snprintf(why + len, n - len, "; %s", parse_error);
    sensors_close(st);
    return NULL;
  }
  if (parse_errors)
    snprintf(why, n, "libsensors ignored %d configuration line%s: %s",
             parse_errors, parse_errors == 1 ? "" : "s", parse_error);
  return st;
}

static size_t sensors_sample(void *state, kiln_tel_emit_fn emit, void *ctx) {
  struct sensors_state *st = state;
  size_t n = 0;
  for (size_t i = 0; i < st->n; i++) {
    const struct sensor *s = &st->s[i];
    double v;
    if (sensors_get_value(s->chip, s->input, &v) != 0 || !isfinite(v))
      continue; /* gone, unreadable or malformed this time */
    struct kiln_tel_reading r = {
        .id = s->id,
        .label = s->label,
        .kind = s->kind,
        .value = v,
        .min = s->min,
        .max = s->max,
        .crit = s->crit,
    };
    emit(ctx, &r);
    n++;
  }
  return n;
}

static void sensors_close(void *state) {
  struct sensors_state *st = state;
  if (!st)
    return;
  for (size_t i = 0; i < st->n; i++) {
    free(st->s[i].id);
    free(st->s[i].label);
  }
  free(st->s);
  free(st);
  sensors_cleanup();
  in_use = false;
}

const struct kiln_tel_source kiln_tel_sensors = {
    .name = "sensors",
    .summary = "hwmon fans, temperatures and power through libsensors",
    .open = sensors_open,
    .sample = sensors_sample,
    .close = sensors_close,
};
