#include "core/wire.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/textutil.h"

static const char *const type_names[] = {
    [KILN_WIRE_MEASUREMENT] = "measurement",
    [KILN_WIRE_DIAGNOSIS] = "diagnosis",
    [KILN_WIRE_LOG] = "log",
    [KILN_WIRE_PROGRESS] = "progress",
    [KILN_WIRE_END] = "end",
    [KILN_WIRE_RUNNING] = "running",
};

static void set_str(json_t *o, const char *key, const char *value) {
  char *clean = kiln_utf8_sanitize(value);
  json_object_set_new(o, key, json_string(clean));
  free(clean);
}

char *kiln_wire_encode(const struct kiln_wire_event *ev) {
  json_t *o = json_object();
  if (!o)
    return NULL;
  json_object_set_new(o, "type", json_string(type_names[ev->type]));
  json_object_set_new(o, "time", json_real(ev->time));
  switch (ev->type) {
  case KILN_WIRE_MEASUREMENT:
  case KILN_WIRE_RUNNING:
    set_str(o, "name", ev->name);
    json_object_set_new(o, "value", json_real(ev->value));
    set_str(o, "unit", ev->unit);
    set_str(o, "hwid", ev->hwid);
    break;
  case KILN_WIRE_DIAGNOSIS:
    json_object_set_new(o, "diag", json_integer(ev->diag_type));
    set_str(o, "symptom", ev->symptom);
    set_str(o, "hwid", ev->hwid);
    set_str(o, "message", ev->message);
    break;
  case KILN_WIRE_LOG:
    json_object_set_new(o, "severity",
                        json_string(kiln_severity_name(ev->severity)));
    set_str(o, "message", ev->message);
    break;
  case KILN_WIRE_PROGRESS:
    json_object_set_new(o, "value", json_real(ev->value));
    break;
  case KILN_WIRE_END:
    json_object_set_new(o, "verdict",
                        json_string(kiln_verdict_name(ev->verdict)));
    set_str(o, "message", ev->message);
    break;
  }
  /* json_real() refuses NaN and inf, so such a value is left out and read
   * back as NaN, which fails every limit. */
  char *text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (!text)
    return NULL;
  size_t len = strlen(text);
  char *line = realloc(text, len + 2);
  if (!line) {
    free(text);
    return NULL;
  }
  line[len] = '\n';
  line[len + 1] = 0;
  return line;
}

static char *get_str(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return kiln_xstrdup(s ? s : "");
}

int kiln_wire_decode(const char *line, struct kiln_wire_event *out, char *err,
                     size_t n) {
  memset(out, 0, sizeof *out);
  json_error_t jerr;
  json_t *o = json_loads(line, JSON_DISABLE_EOF_CHECK, &jerr);
  if (!o || !json_is_object(o)) {
    snprintf(err, n, "malformed event: %s", o ? "not an object" : jerr.text);
    json_decref(o);
    return -1;
  }
  const char *type = json_string_value(json_object_get(o, "type"));
  int t = -1;
  for (unsigned i = 0; type && i < sizeof type_names / sizeof *type_names; i++)
    if (strcmp(type, type_names[i]) == 0)
      t = (int)i;
  if (t < 0) {
    snprintf(err, n, "unknown event type '%s'", type ? type : "(none)");
    json_decref(o);
    return -1;
  }
  out->type = (enum kiln_wire_type)t;
  out->time = json_number_value(json_object_get(o, "time"));
  json_t *v = json_object_get(o, "value");
  out->value = json_is_number(v) ? json_number_value(v) : (double)NAN;
  int rc = 0;
  switch (out->type) {
  case KILN_WIRE_MEASUREMENT:
  case KILN_WIRE_RUNNING:
    out->name = get_str(o, "name");
    out->unit = get_str(o, "unit");
    out->hwid = get_str(o, "hwid");
    if (!out->name[0]) {
      snprintf(err, n, "%s without a name", type_names[out->type]);
      rc = -1;
    }
    break;
  case KILN_WIRE_DIAGNOSIS:
    out->diag_type = (int)json_integer_value(json_object_get(o, "diag"));
    out->symptom = get_str(o, "symptom");
    out->hwid = get_str(o, "hwid");
    out->message = get_str(o, "message");
    break;
  case KILN_WIRE_LOG:
    if (!kiln_severity_parse(json_string_value(json_object_get(o, "severity")),
                             &out->severity))
      out->severity = KILN_SEV_INFO;
    out->message = get_str(o, "message");
    break;
  case KILN_WIRE_PROGRESS: break;
  case KILN_WIRE_END:
    if (!kiln_verdict_parse(json_string_value(json_object_get(o, "verdict")),
                            &out->verdict)) {
      snprintf(err, n, "end event without a valid verdict");
      rc = -1;
    }
    out->message = get_str(o, "message");
    break;
  }
  json_decref(o);
  if (rc)
    kiln_wire_event_clear(out);
  return rc;
}

void kiln_wire_event_clear(struct kiln_wire_event *ev) {
  free(ev->name);
  free(ev->unit);
  free(ev->hwid);
  free(ev->symptom);
  free(ev->message);
  memset(ev, 0, sizeof *ev);
}
