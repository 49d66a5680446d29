/* Module parameters: one parser per kind (module.h), used when a profile or
 * SKU file is loaded and by the step's getters (step.c), so a value the
 * loader accepts is one the step can use. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/duration.h"
#include "kiln/module.h"

/* ---- one parser per kind ---- */

static bool parse_integer(const char *v, long *out) {
  char *end;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (errno || end == v || *end || isspace((unsigned char)*v))
    return false;
  *out = x;
  return true;
}

/* A plain decimal: strtod's hex, "inf" and "nan" are not numbers here. */
static bool parse_number(const char *v, double *out) {
  if (strpbrk(v, "xXnN") || isspace((unsigned char)*v))
    return false;
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (errno || end == v || *end || !isfinite(x))
    return false;
  *out = x;
  return true;
}

/* "95%" or 0.95. */
static bool parse_share(const char *v, double *out) {
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (errno || end == v || strpbrk(v, "xXnN") || isspace((unsigned char)*v))
    return false;
  if (*end == '%') {
    x /= 100;
    end++;
  }
  if (*end || !isfinite(x))
    return false;
  *out = x;
  return true;
}

/* "10%" (of_whole, as a share), or a size in bytes with an optional binary
 * unit: "512M", "2G", "64KiB", "1024". */
static bool parse_size(const char *v, double *out, bool *of_whole) {
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (errno || end == v || !(x >= 0) || !isfinite(x) || strpbrk(v, "xXnN") ||
      isspace((unsigned char)*v))
    return false;
  double mult = 1;
  *of_whole = false;
  switch (*end) {
  case '%':
    *of_whole = true;
    mult = 0.01;
    end++;
    break;
  case 'k':
  case 'K': mult = 1024.0; break;
  case 'm':
  case 'M': mult = 1024.0 * 1024; break;
  case 'g':
  case 'G': mult = 1024.0 * 1024 * 1024; break;
  case 't':
  case 'T': mult = 1024.0 * 1024 * 1024 * 1024; break;
  }
  if (mult > 1)
    end++;
  if (!*of_whole) {
    if (*end == 'i' && mult > 1)
      end++;
    if (*end == 'B' || *end == 'b')
      end++;
  }
  if (*end || x * mult >= 1.8e19)
    return false;
  *out = x * mult;
  return true;
}

static bool parse_bool(const char *v, bool *out) {
  static const char *const yes[] = {"yes", "true", "on", "1"};
  static const char *const no[] = {"no", "false", "off", "0"};
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(v, yes[i]) == 0) {
      *out = true;
      return true;
    }
    if (strcasecmp(v, no[i]) == 0) {
      *out = false;
      return true;
    }
  }
  return false;
}

/* "400" or "400rpm" (any case, a blank allowed before the unit). */
static bool parse_rpm(const char *v, double *out) {
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (errno || end == v || strpbrk(v, "xXnN") || isspace((unsigned char)*v))
    return false;
  while (*end == ' ')
    end++;
  if (strcasecmp(end, "rpm") == 0)
    end += 3;
  if (*end || !isfinite(x) || x < 0)
    return false;
  *out = x;
  return true;
}

/* The word of list (a "|"-separated list) that the len bytes at s spell,
 * any case, into word; false when none does. */
static bool find_word(const char *list, const char *s, size_t len, char *word,
                      size_t n) {
  for (const char *w = list; list && *w;) {
    size_t wlen = strcspn(w, "|");
    if (wlen == len && strncasecmp(w, s, len) == 0) {
      snprintf(word, n, "%.*s", (int)wlen, w);
      return true;
    }
    w += wlen + (w[wlen] == '|');
  }
  return false;
}

/* "auto, on or off" from "auto|on|off". */
static void list_words(const char *list, char *buf, size_t n) {
  buf[0] = 0;
  size_t count = 1;
  for (const char *p = list; *p; p++)
    count += *p == '|';
  size_t i = 0;
  for (const char *w = list; *w; i++) {
    size_t wlen = strcspn(w, "|");
    snprintf(buf + strlen(buf), n - strlen(buf), "%s%.*s",
             i == 0           ? ""
             : i + 1 == count ? " or "
                              : ", ",
             (int)wlen, w);
    w += wlen + (w[wlen] == '|');
  }
}

static bool parse_words(const char *list, const char *v, char *bad, size_t n) {
  size_t found = 0;
  for (const char *p = v;;) {
    p += strspn(p, ", \t");
    if (!*p)
      break;
    size_t len = strcspn(p, ", \t");
    char word[32];
    if (!find_word(list, p, len, word, sizeof word)) {
      snprintf(bad, n, "%.*s", (int)(len > 32 ? 32 : len), p);
      return false;
    }
    found++;
    p += len;
  }
  if (!found)
    snprintf(bad, n, "%s", "");
  return found > 0;
}

/* ---- the checks ---- */

static const char *const kind_forms[] = {
    [KILN_PARAM_UNDECLARED] = "a value (its module declares no kind)",
    [KILN_PARAM_INTEGER] = "an integer",
    [KILN_PARAM_NUMBER] = "a number",
    [KILN_PARAM_SHARE] = "a share (95%, 0.95)",
    [KILN_PARAM_SIZE] = "a size (10%, 512M, 2G)",
    [KILN_PARAM_DURATION] = "a duration (5s, 1m, 2h)",
    [KILN_PARAM_BOOL] = "yes or no",
    [KILN_PARAM_WORD] = "one of",
    [KILN_PARAM_WORDS] = "a list of",
    [KILN_PARAM_RPM] = "a fan speed (400, 400rpm)",
};

/* How a bound reads in a message, in the value's own unit. */
static void bound_text(enum kiln_param_kind kind, double x, char *buf,
                       size_t n) {
  if (isinf(x))
    snprintf(buf, n, "%s", x > 0 ? "no top" : "no bottom");
  else if (kind == KILN_PARAM_DURATION)
    kiln_duration_text(x, buf, n);
  else if (kind == KILN_PARAM_SIZE && x >= 1024 && fmod(x, 1024) == 0) {
    static const char units[] = "KMGT";
    int u = -1;
    while (u < 3 && fmod(x, 1024) == 0 && x >= 1024) {
      x /= 1024;
      u++;
    }
    snprintf(buf, n, "%g%c", x, units[u]);
  } else {
    snprintf(buf, n, "%.15g", x);
  }
}

static int out_of_range(const struct kiln_param_spec *p, double x, char *why,
                        size_t n) {
  char lo[32], hi[32];
  bound_text(p->kind, p->min, lo, sizeof lo);
  bound_text(p->kind, p->max, hi, sizeof hi);
  if (isinf(p->max))
    snprintf(why, n, "is under the minimum of %s", lo);
  else
    snprintf(why, n, "is out of range (%s..%s)", lo, hi);
  (void)x;
  return -1;
}

int kiln_param_parse(const struct kiln_param_spec *p, const char *text,
                     struct kiln_param_value *out, char *why, size_t n) {
  memset(out, 0, sizeof *out);
  const char *v = text ? text : "";
  char words[256] = "";
  if (p->words)
    list_words(p->words, words, sizeof words);
  if (p->kind != KILN_PARAM_WORD && p->kind != KILN_PARAM_WORDS &&
      find_word(p->words, v, strlen(v), out->word, sizeof out->word)) {
    out->is_word = true;
    return 0;
  }
  bool ok = false, bounded = p->min < p->max;
  bool flag = false;
  char bad[40];
  switch (p->kind) {
  case KILN_PARAM_UNDECLARED: break;
  case KILN_PARAM_INTEGER:
    ok = parse_integer(v, &out->integer);
    out->number = (double)out->integer;
    break;
  case KILN_PARAM_NUMBER: ok = parse_number(v, &out->number); break;
  case KILN_PARAM_SHARE:
    ok = parse_share(v, &out->number);
    if (ok) {
      double top = bounded ? p->max : 1;
      if (!(out->number > 0 && out->number <= top)) {
        snprintf(why, n, "is not a share in (0, %g] (%g%%, %g)", top, 95 * top,
                 0.95 * top);
        return -1;
      }
      return 0;
    }
    break;
  case KILN_PARAM_SIZE:
    ok = parse_size(v, &out->number, &out->of_whole);
    if (ok && out->of_whole) {
      if (!(out->number > 0 && out->number <= 1)) {
        snprintf(why, n, "is not a share in (0%%, 100%%]");
        return -1;
      }
      return 0;
    }
    if (ok && out->number <= 0) {
      snprintf(why, n, "is not a size above 0");
      return -1;
    }
    break;
  case KILN_PARAM_DURATION:
    ok = kiln_duration_parse(v, &out->number) == 0;
    break;
  case KILN_PARAM_BOOL:
    ok = parse_bool(v, &flag);
    out->number = flag;
    return ok ? 0 : (snprintf(why, n, "is not yes or no"), -1);
  case KILN_PARAM_WORD:
    if (find_word(p->words, v, strlen(v), out->word, sizeof out->word)) {
      out->is_word = true;
      return 0;
    }
    snprintf(why, n, "is not one of %s", words);
    return -1;
  case KILN_PARAM_WORDS:
    if (parse_words(p->words, v, bad, sizeof bad))
      return 0;
    if (bad[0])
      snprintf(why, n, "has '%s', not one of %s", bad, words);
    else
      snprintf(why, n, "names none of %s", words);
    return -1;
  case KILN_PARAM_RPM: ok = parse_rpm(v, &out->number); break;
  }
  if (!ok) {
    unsigned k = (unsigned)p->kind;
    const char *form = k < sizeof kind_forms / sizeof *kind_forms
                           ? kind_forms[k]
                           : kind_forms[0];
    if (words[0])
      snprintf(why, n, "is not %s, nor %s", form, words);
    else
      snprintf(why, n, "is not %s", form);
    return -1;
  }
  if (bounded && (out->number < p->min || out->number > p->max))
    return out_of_range(p, out->number, why, n);
  return 0;
}
