/* `kiln serve`: the line server (src/serve/) until SIGTERM or SIGINT.
 * Prints one line once it listens, naming the real port (--listen
 * ADDR:0 picks a free one); exit 0 after a signal, 64 for a bad option,
 * 2 when it cannot start (a file unreadable, the address in use, the
 * store), always before it listens. */
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "serve/serve.h"

const char cmd_serve_options_help[] =
    "  --listen ADDR:PORT    default " KILN_SERVE_LISTEN_DEFAULT
    " (port 0: a free one)\n"
    "  --db URL              sqlite:PATH (default " KILN_SERVE_DB_DEFAULT ")\n"
    "                        or postgresql://...\n"
    "  --token-file F        uploads must carry this bearer token\n"
    "  --tls-cert F --tls-key F   HTTPS with this PEM certificate and key\n"
    "  --max-body N          largest OCP batch (default 8M; K, M, G)\n"
    "  --max-file N          largest report file (default 64M)\n"
    "  --outlier-k K         a figure whose robust z against its siblings,\n"
    "                        0.6745 (x - median) / MAD, passes K is an\n"
    "                        outlier (default 3.5)\n";

/* "8388608", "512K", "8M", "1G" (binary units); 0 and too big refused. */
static int parse_size(const char *name, const char *v, size_t *out) {
  char *end;
  unsigned long long n = strtoull(v, &end, 10);
  unsigned shift = 0;
  if (end != v && v[0] != '-' && v[0] != '+' && v[0] != ' ') {
    if (*end == 'K' || *end == 'k')
      shift = 10, end++;
    else if (*end == 'M')
      shift = 20, end++;
    else if (*end == 'G')
      shift = 30, end++;
    if (shift && strcmp(end, "iB") == 0)
      end += 2;
    if (*end == '\0' && n > 0 && n <= (SIZE_MAX >> 1) >> shift) {
      *out = (size_t)n << shift;
      return 0;
    }
  }
  fprintf(stderr,
          "kiln: --%s '%s': give a size in bytes (8388608, 512K, 8M, "
          "1G)\n",
          name, v);
  return -1;
}

static int take_serve_option(int c, const char *v, void *ctx) {
  struct kiln_serve_options *o = ctx;
  switch (c) {
  case 'l': o->listen = v; break;
  case 'd': o->db = v; break;
  case 't': o->token_file = v; break;
  case 'c': o->tls_cert = v; break;
  case 'k': o->tls_key = v; break;
  case 'b': return parse_size("max-body", v, &o->max_body);
  case 'f': return parse_size("max-file", v, &o->max_file);
  case 'K': {
    char *end;
    double k = strtod(v, &end);
    if (*end || !(k > 0 && k <= 1000)) {
      fprintf(stderr, "kiln: --outlier-k '%s': give a number over 0 (3.5)\n",
              v);
      return -1;
    }
    o->outlier_k = k;
    break;
  }
  }
  return 0;
}

int cmd_serve(int argc, char **argv) {
  static const struct option opts[] = {
      {"listen", required_argument, 0, 'l'},
      {"db", required_argument, 0, 'd'},
      {"token-file", required_argument, 0, 't'},
      {"tls-cert", required_argument, 0, 'c'},
      {"tls-key", required_argument, 0, 'k'},
      {"max-body", required_argument, 0, 'b'},
      {"max-file", required_argument, 0, 'f'},
      {"outlier-k", required_argument, 0, 'K'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0},
  };
  struct kiln_serve_options o = {
      .listen = KILN_SERVE_LISTEN_DEFAULT,
      .db = KILN_SERVE_DB_DEFAULT,
      .max_body = KILN_SERVE_MAX_BODY_DEFAULT,
      .max_file = KILN_SERVE_MAX_FILE_DEFAULT,
      .outlier_k = KILN_SERVE_OUTLIER_K_DEFAULT,
  };
  int parsed = cli_parse_options(argc, argv, ":l:d:t:c:k:b:f:K:h", opts, "",
                                 take_serve_option, &o);
  if (parsed != 0)
    return parsed == CLI_HELP ? 0 : EXIT_USAGE;

  /* The signals are taken by sigwait below: blocked before the server's
   * thread starts, so it inherits the mask and never takes them. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  /* A client gone mid-reply is that reply's error, not the server's end. */
  signal(SIGPIPE, SIG_IGN);

  /* Each request allocates and frees a batch's worth: with glibc's
   * default trim threshold the server thread's heap went back to the
   * kernel (madvise) and was faulted in again request after request, half
   * the server's CPU under 200 DUTs (tests/bench/line_bench.c). */
  mallopt(M_TRIM_THRESHOLD, 64 << 20);

  struct kiln_server *srv;
  char err[1024];
  int rc = kiln_serve_start(&o, &srv, err, sizeof err);
  if (rc != 0) {
    fprintf(stderr, "kiln serve: %s\n", err);
    return rc > 0 ? EXIT_USAGE : EXIT_ENV;
  }
  printf("kiln serve: listening on %s (store %s, schema %d)\n",
         kiln_serve_url(srv), kiln_serve_store_name(srv),
         kiln_serve_schema_version(srv));
  fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  kiln_serve_stop(srv);
  printf("kiln serve: stopped on %s, exit 0\n",
         sig == SIGINT ? "SIGINT" : "SIGTERM");
  return 0;
}
