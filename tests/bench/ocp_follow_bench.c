/* `kiln fleet`'s view of one node: a long burn-in's ocp.jsonl followed as
 * it grows, kiln_ocp_follow against re-reading it whole with
 * kiln_ocp_read. The stream is a real run's (default
 * tests/fixtures/merge/standard.ocp.jsonl) with its first telemetry
 * series lines repeated, renumbered, until it holds about TARGET_MB, then
 * the run's own end. It is appended 1 line per simulated millisecond:
 * 1000 lines between two looks (fleet looks about once a second), each
 * look cutting the line being written in two. After each look: the CPU
 * time of the follower's update, and every 20th look (and at the end) the
 * CPU time of kiln_ocp_read of the whole file as it is then.
 *
 *   ocp_follow_bench [STREAM [TARGET_MB]]     (defaults: the fixture, 40)
 *
 * Prints "follow_update_us_mean N", "follow_update_us_max N",
 * "read_whole_ms_at_end N", and lines of "read_whole_ms MB ms". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kiln/merge.h"
#include "kiln/textutil.h"

#define LINES_PER_LOOK 1000

static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct lines {
  char **v;
  size_t n;
};

static void add_line(struct lines *l, char *s) {
  l->v = kiln_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
  l->v[l->n++] = s;
}

/* line with its sequenceNumber made seq (malloc'd, newline kept). */
static char *renumber(const char *line, long seq) {
  static const char key[] = "\"sequenceNumber\":";
  const char *at = strstr(line, key);
  if (!at)
    return kiln_xstrdup(line);
  at += sizeof key - 1;
  const char *rest = at + strspn(at, "0123456789");
  return kiln_strdup_printf("%.*s%ld%s", (int)(at - line), line, seq, rest);
}

int main(int argc, char **argv) {
  const char *src =
      argc > 1 ? argv[1] : "tests/fixtures/merge/standard.ocp.jsonl";
  double target_mb = argc > 2 ? atof(argv[2]) : 40;
  FILE *in = fopen(src, "r");
  if (!in) {
    perror(src);
    return 2;
  }
  struct lines orig = {0}, series = {0};
  char *line = NULL;
  size_t cap = 0;
  size_t first_series = 0;
  while (getline(&line, &cap, in) > 0) {
    if (strstr(line, "\"measurementSeriesElement\"")) {
      if (!series.n)
        first_series = orig.n;
      add_line(&series, kiln_xstrdup(line));
    }
    add_line(&orig, kiln_xstrdup(line));
  }
  free(line);
  fclose(in);
  if (!series.n) {
    fprintf(stderr, "%s: no series lines to repeat\n", src);
    return 2;
  }

  /* The stream: the run up to its first series line, the series lines
   * over and over, the rest of the run. */
  struct lines stream = {0};
  size_t bytes = 0;
  long seq = 0;
  for (size_t i = 0; i <= first_series; i++) {
    char *s = renumber(orig.v[i], seq++);
    bytes += strlen(s);
    add_line(&stream, s);
  }
  for (size_t k = 0; bytes < target_mb * 1e6; k++) {
    char *s = renumber(series.v[k % series.n], seq++);
    bytes += strlen(s);
    add_line(&stream, s);
  }
  for (size_t i = first_series + 1; i < orig.n; i++) {
    char *s = renumber(orig.v[i], seq++);
    bytes += strlen(s);
    add_line(&stream, s);
  }

  char dir[] = "/tmp/kiln-follow-bench-XXXXXX";
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 2;
  }
  char *path = kiln_strdup_printf("%s/ocp.jsonl", dir);
  FILE *out = fopen(path, "w");
  if (!out) {
    perror(path);
    return 2;
  }
  struct kiln_ocp_follow *f = kiln_ocp_follow_open(path);
  char err[512];
  double follow_total = 0, follow_max = 0, read_ms = 0;
  size_t looks = 0, at = 0, held = 0; /* held: bytes of stream.v[at] written */
  int rc = 0;
  printf("stream %zu lines, %.1f MB, %d lines per look\n", stream.n,
         bytes / 1e6, LINES_PER_LOOK);
  while (at < stream.n) {
    /* One simulated second: the rest of the cut line, whole lines, half of
     * the next. */
    for (size_t k = 0; k < LINES_PER_LOOK && at < stream.n; k++, at++) {
      fputs(stream.v[at] + held, out);
      held = 0;
    }
    if (at < stream.n) {
      held = strlen(stream.v[at]) / 2;
      fwrite(stream.v[at], 1, held, out);
    }
    fflush(out);
    double t0 = cpu_seconds();
    if (kiln_ocp_follow_update(f, err, sizeof err) != 0) {
      fprintf(stderr, "follow: %s\n", err);
      rc = 2;
      break;
    }
    double spent = cpu_seconds() - t0;
    follow_total += spent;
    if (spent > follow_max)
      follow_max = spent;
    looks++;
    if (looks % 20 == 0 || at == stream.n) {
      struct kiln_run run;
      kiln_run_init(&run);
      t0 = cpu_seconds();
      if (kiln_ocp_read(path, &run, err, sizeof err) != 0) {
        fprintf(stderr, "read: %s\n", err);
        rc = 2;
      }
      read_ms = (cpu_seconds() - t0) * 1e3;
      printf("read_whole_ms %.1f MB %.2f\n", (double)ftell(out) / 1e6, read_ms);
      if (at == stream.n) {
        const struct kiln_run *fr = kiln_ocp_follow_run(f);
        if (!run.finished || !fr->finished || run.verdict != fr->verdict ||
            run.n_steps != fr->n_steps) {
          fprintf(stderr, "the follower's model is not kiln_ocp_read's\n");
          rc = 2;
        }
      }
      kiln_run_free(&run);
    }
  }
  fclose(out);
  printf("looks %zu\n", looks);
  printf("follow_update_us_mean %.1f\n", follow_total / (double)looks * 1e6);
  printf("follow_update_us_max %.1f\n", follow_max * 1e6);
  printf("read_whole_ms_at_end %.2f\n", read_ms);
  kiln_ocp_follow_close(f);
  unlink(path);
  rmdir(dir);
  free(path);
  for (size_t i = 0; i < stream.n; i++)
    free(stream.v[i]);
  for (size_t i = 0; i < orig.n; i++)
    free(orig.v[i]);
  for (size_t i = 0; i < series.n; i++)
    free(series.v[i]);
  free(stream.v);
  free(orig.v);
  free(series.v);
  return rc;
}
