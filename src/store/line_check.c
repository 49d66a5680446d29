/* The quick check of an uploaded OCP line, on yajl's events (see
 * line_check.h). */
#include "store/line_check.h"

#include <stdio.h>
#include <string.h>
#include <yajl/yajl_parse.h>

/* What the quick check tracks for duplicate keys; a line beyond it is
 * left to jansson (needs_full_parse), which has no such limits. */
#define TRACKED_DEPTH 16
#define TRACKED_KEYS 128       /* keys of the objects open at once */
#define TRACKED_KEY_BYTES 2048 /* their text */

/* The step artifacts the store reads apart (store.c's
 * store_step_artifact); a run artifact is always read apart. */
static const char *const step_artifacts_taken_apart[] = {
    "testStepStart", "testStepEnd", "measurement", "diagnosis", "error",
};

/* What the last key of the top object was, for the value after it. */
enum top_key { KEY_OTHER, KEY_SEQUENCE, KEY_RUN_ARTIFACT, KEY_STEP_ARTIFACT };

struct scan {
  struct kiln_line_check *out;
  int depth; /* containers open; the top object is 1 */
  bool started;
  enum top_key pending;    /* the top object's key whose value is next */
  int step_artifact_depth; /* depth of the open testStepArtifact, or 0 */
  size_t first_key[TRACKED_DEPTH + 1]; /* each open object's first key */
  bool is_object[TRACKED_DEPTH + 1];
  size_t n_keys, text_used;
  struct {
    unsigned short off, len;
  } keys[TRACKED_KEYS];
  char text[TRACKED_KEY_BYTES];
  char *why;
  size_t whyn;
};

static bool key_is(const unsigned char *k, size_t len, const char *name) {
  return strlen(name) == len && memcmp(k, name, len) == 0;
}

/* Any value of the top object's pending key: only an integer is a
 * sequence number. */
static void top_value(struct scan *s, bool integer, long long v) {
  if (s->depth == 1 && s->pending == KEY_SEQUENCE && integer) {
    s->out->has_sequence = true;
    s->out->sequence = v;
  }
}

static int on_value(void *ctx) {
  struct scan *s = ctx;
  s->started = true;
  top_value(s, false, 0);
  return 1;
}

static int on_null(void *ctx) { return on_value(ctx); }
static int on_boolean(void *ctx, int b) { return on_value(ctx); }
static int on_double(void *ctx, double d) { return on_value(ctx); }
static int on_string(void *ctx, const unsigned char *t, size_t n) {
  return on_value(ctx);
}

static int on_integer(void *ctx, long long v) {
  struct scan *s = ctx;
  s->started = true;
  top_value(s, true, v);
  return 1;
}

static int open_container(struct scan *s, bool object) {
  if (!s->started)
    s->out->object = object;
  s->started = true;
  if (s->depth == 1 && s->pending == KEY_RUN_ARTIFACT && object)
    s->out->taken_apart = true;
  if (s->depth == 1 && s->pending == KEY_STEP_ARTIFACT && object)
    s->step_artifact_depth = 2;
  s->depth++;
  if (s->depth > TRACKED_DEPTH) {
    s->out->needs_full_parse = true;
    return 1;
  }
  s->is_object[s->depth] = object;
  s->first_key[s->depth] = s->n_keys;
  return 1;
}

static int on_start_map(void *ctx) { return open_container(ctx, true); }
static int on_start_array(void *ctx) { return open_container(ctx, false); }

static int close_container(void *ctx) {
  struct scan *s = ctx;
  if (s->depth <= TRACKED_DEPTH && s->is_object[s->depth]) {
    s->n_keys = s->first_key[s->depth];
    s->text_used =
        s->n_keys ? s->keys[s->n_keys - 1].off + s->keys[s->n_keys - 1].len : 0;
  }
  if (s->depth == s->step_artifact_depth)
    s->step_artifact_depth = 0;
  s->depth--;
  return 1;
}

/* Remembers key in the object open at this depth; 0 (stop) when it is
 * there already. */
static int remember_key(struct scan *s, const unsigned char *k, size_t len) {
  if (s->out->needs_full_parse || s->depth > TRACKED_DEPTH)
    return 1;
  for (size_t i = s->first_key[s->depth]; i < s->n_keys; i++)
    if (s->keys[i].len == len &&
        memcmp(s->text + s->keys[i].off, k, len) == 0) {
      snprintf(s->why, s->whyn, "duplicate object key \"%.*s\"",
               len > 60 ? 60 : (int)len, (const char *)k);
      return 0;
    }
  if (s->n_keys == TRACKED_KEYS || len > TRACKED_KEY_BYTES - s->text_used) {
    s->out->needs_full_parse = true; /* jansson checks the rest */
    return 1;
  }
  /* Copied: yajl's pointer may be into a buffer it reuses. */
  memcpy(s->text + s->text_used, k, len);
  s->keys[s->n_keys].off = (unsigned short)s->text_used;
  s->keys[s->n_keys].len = (unsigned short)len;
  s->n_keys++;
  s->text_used += len;
  return 1;
}

static int on_map_key(void *ctx, const unsigned char *k, size_t len) {
  struct scan *s = ctx;
  if (s->depth == 1)
    s->pending = key_is(k, len, "sequenceNumber")     ? KEY_SEQUENCE
                 : key_is(k, len, "testRunArtifact")  ? KEY_RUN_ARTIFACT
                 : key_is(k, len, "testStepArtifact") ? KEY_STEP_ARTIFACT
                                                      : KEY_OTHER;
  if (s->step_artifact_depth && s->depth == s->step_artifact_depth)
    for (size_t i = 0; i < sizeof step_artifacts_taken_apart /
                               sizeof step_artifacts_taken_apart[0];
         i++)
      if (key_is(k, len, step_artifacts_taken_apart[i]))
        s->out->taken_apart = true;
  return remember_key(s, k, len);
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    /* Given so yajl checks that numbers fit, as jansson does. */
    .yajl_integer = on_integer,
    .yajl_double = on_double,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = close_container,
    .yajl_start_array = on_start_array,
    .yajl_end_array = close_container,
};

int kiln_line_check(const char *line, size_t len, struct kiln_line_check *c,
                    char *why, size_t whyn) {
  *c = (struct kiln_line_check){0};
  struct scan *s = &(struct scan){.out = c, .why = why, .whyn = whyn};
  why[0] = '\0';
  yajl_handle h = yajl_alloc(&callbacks, NULL, s);
  if (!h) {
    snprintf(why, whyn, "out of memory");
    return -1;
  }
  yajl_status st = yajl_parse(h, (const unsigned char *)line, len);
  size_t at = yajl_get_bytes_consumed(h);
  if (st == yajl_status_ok) {
    st = yajl_complete_parse(h);
    at = len;
  }
  if (st != yajl_status_ok && !why[0]) {
    unsigned char *text = yajl_get_error(h, 0, NULL, 0);
    size_t n = text ? strlen((char *)text) : 0;
    while (n > 0 &&
           (text[n - 1] == '\n' || text[n - 1] == ' ' || text[n - 1] == '.'))
      n--;
    snprintf(why, whyn, "%.*s (byte %zu)", (int)n,
             text ? (char *)text : "parse error", at + 1);
    if (text)
      yajl_free_error(h, text);
  }
  yajl_free(h);
  return st == yajl_status_ok ? 0 : -1;
}
