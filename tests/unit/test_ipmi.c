/* The "ipmi" telemetry source and the BMC settings.
 *
 * The BMC is OpenIPMI's ipmi_sim, started on 127.0.0.1 by
 * tests/fixtures/ipmi_sim/start-sim.sh (six fans, two CPU temperatures, an
 * inlet temperature, power, a voltage: see sim.emu there) and read over
 * the LAN by the unmodified libipmimonitoring, as a real BMC would be.
 * Sensor values change through the simulator's console. The script runs
 * in a process group of its own, which the tests kill at the end; it also
 * stops by itself when this process is gone. Without ipmi_sim installed
 * the simulator tests are skipped (with the reason as a TAP comment).
 *
 * Run from the source tree (the fixture path is relative), as prove does. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsutil.h"
#include "hw/bmc.h"
#include "kiln/telemetry.h"
#include "kiln/textutil.h"
#include "kiln/watch.h"

#define SIM_SCRIPT "tests/fixtures/ipmi_sim/start-sim.sh"

/* ---- files ---- */

static char *make_dir(void) {
  char tmpl[] = "/tmp/kiln-ipmi-test-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  return kiln_xstrdup(tmpl);
}

/* Writes len bytes of text to dir/name with the given mode; returns the
 * path (malloc'd). */
static char *put_file(const char *dir, const char *name, const char *text,
                      size_t len, mode_t mode) {
  char *path = kiln_strdup_printf("%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  close(fd);
  assert_int_equal(chmod(path, mode), 0);
  return path;
}

static char *put(const char *dir, const char *name, const char *text,
                 mode_t mode) {
  return put_file(dir, name, text, strlen(text), mode);
}

/* ---- the simulator ---- */

struct sim {
  pid_t pid; /* the script: the supervisor and its process group's leader */
  int port, console;
  char dir[PATH_MAX];
  char host[64]; /* "127.0.0.1:PORT" */
  char creds[PATH_MAX + 16];
};

static struct sim shared_sim; /* for the group; pid 0 when not running */
static char sim_error[512];   /* why shared_sim is not running */

/* Starts the simulator; false (with why) when it does not come up. */
static bool sim_start(struct sim *s, char *why, size_t n) {
  memset(s, 0, sizeof *s);
  if (access(SIM_SCRIPT, X_OK) != 0) {
    snprintf(why, n, "%s not found (run from the source tree)", SIM_SCRIPT);
    return false;
  }
  int out[2];
  if (pipe(out) != 0) {
    snprintf(why, n, "pipe: %s", strerror(errno));
    return false;
  }
  char owner[32];
  snprintf(owner, sizeof owner, "%ld", (long)getpid());
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(why, n, "fork: %s", strerror(errno));
    return false;
  }
  if (pid == 0) {
    setpgid(0, 0); /* its own group: one kill stops it all */
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    execl(SIM_SCRIPT, SIM_SCRIPT, "--owner", owner, "--lifetime", "600",
          (char *)NULL);
    _exit(127);
  }
  setpgid(pid, pid); /* as the child does: whoever runs first */
  close(out[1]);
  s->pid = pid;
  char line[PATH_MAX + 64];
  size_t len = 0;
  bool got = false;
  struct pollfd p = {.fd = out[0], .events = POLLIN};
  while (len + 1 < sizeof line && poll(&p, 1, 20000) == 1) {
    ssize_t r = read(out[0], line + len, 1);
    if (r <= 0)
      break;
    if (line[len] == '\n') {
      got = true;
      break;
    }
    len++;
  }
  line[len] = '\0';
  close(out[0]);
  long pgid = 0;
  if (!got ||
      sscanf(line, "%d %d %ld %4095s", &s->port, &s->console, &pgid, s->dir) !=
          4 ||
      pgid != pid) {
    snprintf(why, n, "%s did not print its ports (got \"%.200s\")", SIM_SCRIPT,
             line);
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    s->pid = 0;
    return false;
  }
  snprintf(s->host, sizeof s->host, "127.0.0.1:%d", s->port);
  snprintf(s->creds, sizeof s->creds, "%s/credentials", s->dir);
  return true;
}

/* Kills the simulator's process group and waits for the script, which
 * removes the simulator's dir on its way out. */
static void sim_stop(struct sim *s) {
  if (s->pid <= 0)
    return;
  kill(-s->pid, SIGTERM);
  int status;
  pid_t r = 0;
  for (int i = 0; i < 100 && (r = waitpid(s->pid, &status, WNOHANG)) == 0; i++)
    usleep(50000);
  if (r == 0) {
    kill(-s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
  }
  kill(-s->pid, SIGKILL); /* anything left in the group */
  if (s->dir[0] && access(s->dir, F_OK) == 0)
    fs_rm_rf(s->dir);
  s->pid = 0;
}

/* Reads from the console until its "> " prompt; false on timeout. The
 * reply (without the prompt) goes to buf. */
static bool console_prompt(int fd, char *buf, size_t n) {
  size_t len = 0;
  buf[0] = '\0';
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 5000) != 1)
      return false;
    char c;
    if (read(fd, &c, 1) != 1)
      return false;
    if (len + 1 < n) {
      buf[len++] = c;
      buf[len] = '\0';
    }
    if (len >= 2 && buf[len - 2] == '>' && buf[len - 1] == ' ')
      return true;
  }
}

/* Runs one ipmi_sim_cmd(5) command on the simulator's console. */
static void sim_cmd(const struct sim *s, const char *cmd) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)s->console),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  char reply[1024];
  assert_true(console_prompt(fd, reply, sizeof reply));
  char line[256];
  int len = snprintf(line, sizeof line, "%s\n", cmd);
  assert_int_equal(write(fd, line, (size_t)len), len);
  assert_true(console_prompt(fd, reply, sizeof reply));
  close(fd);
  if (strstr(reply, "**"))
    fail_msg("ipmi_sim refused \"%s\": %s", cmd, reply);
}

static void sim_set(const struct sim *s, int sensor, int raw) {
  char cmd[96];
  snprintf(cmd, sizeof cmd, "sensor_set_value 0x20 0 0x%02x %d 1", sensor, raw);
  sim_cmd(s, cmd);
}

/* The shared simulator, or a skip (ipmi_sim not installed) or failure. */
static const struct sim *need_sim(void) {
  if (!fs_on_path("ipmi_sim")) {
    printf("# SKIP ipmi_sim is not installed (Debian: apt-get install "
           "openipmi)\n");
    skip();
  }
  if (shared_sim.pid <= 0)
    fail_msg("the simulator did not start: %s", sim_error);
  return &shared_sim;
}

/* A simulator of the test's own, to pause or stop, beside the group's
 * (need_sim: skipped where ipmi_sim is not installed). */
static void own_sim_start(struct sim *own) {
  need_sim();
  char why[512];
  if (!sim_start(own, why, sizeof why))
    fail_msg("second simulator: %s", why);
}

/* ---- collecting readings ---- */

struct rec {
  char source[16], id[64], label[64];
  enum kiln_tel_kind kind;
  double value, min, max, crit;
  enum kiln_tel_state state;
};

struct sample {
  struct rec r[64];
  size_t n;
};

static void collect(void *ctx, const struct kiln_tel_reading *r) {
  struct sample *s = ctx;
  assert_true(s->n < 64);
  struct rec *o = &s->r[s->n++];
  snprintf(o->source, sizeof o->source, "%s", r->source ? r->source : "");
  snprintf(o->id, sizeof o->id, "%s", r->id);
  snprintf(o->label, sizeof o->label, "%s", r->label);
  o->kind = r->kind;
  o->value = r->value;
  o->min = r->min;
  o->max = r->max;
  o->crit = r->crit;
  o->state = r->state;
}

static const struct rec *find(const struct sample *s, const char *id) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->r[i].id, id) == 0)
      return &s->r[i];
  fail_msg("no reading %s", id);
  return NULL;
}

static void sample_once(void *st, struct sample *s) {
  s->n = 0;
  size_t n = kiln_tel_ipmi.sample(st, collect, s);
  assert_int_equal(n, s->n);
}

/* Opens the source against the simulator with its credentials file. */
static void *open_sim(const struct sim *sim) {
  char err[512], why[256];
  if (!kiln_bmc_configure(sim->host, sim->creds, err, sizeof err))
    fail_msg("kiln_bmc_configure: %s", err);
  void *st = kiln_tel_ipmi.open(why, sizeof why);
  if (!st)
    fail_msg("ipmi open: %s", why);
  assert_string_equal(why, "");
  return st;
}

static void assert_near(double got, double want) {
  if (!(fabs(got - want) < 1e-6))
    fail_msg("got %.17g, want %.17g", got, want);
}

/* ---- no BMC, in-band ---- */

static void no_bmc_gives_the_reason(void **state) {
  (void)state;
  char *root = make_dir(); /* a sysroot without dev/ipmi0 */
  setenv("KILN_SYSROOT", root, 1);
  kiln_bmc_clear();
  char why[256] = "x";
  assert_null(kiln_tel_ipmi.open(why, sizeof why));
  assert_string_equal(why, "no BMC: /dev/ipmi0 absent and no --bmc HOST given");
  /* Through the sampler, by name, as `kiln run` opens it. */
  assert_ptr_equal(kiln_tel_source_find("ipmi"), &kiln_tel_ipmi);
  struct kiln_telemetry tel;
  assert_int_equal(kiln_telemetry_open(&tel, "ipmi"), 0);
  assert_int_equal(tel.n_src, 1);
  assert_string_equal(tel.src[0].why,
                      "no BMC: /dev/ipmi0 absent and no --bmc HOST given");
  kiln_telemetry_close(&tel);
  unsetenv("KILN_SYSROOT");
  fs_rm_rf(root);
  free(root);
}

/* With /dev/ipmi0 present and no --bmc, the source goes in-band, and says
 * so when that fails: here /dev/ipmi0 under $KILN_SYSROOT is a plain file,
 * then /dev/null (a character device, but no IPMI driver behind it). */
static void dev_ipmi0_means_in_band(void **state) {
  (void)state;
  char *root = make_dir();
  char dev[PATH_MAX], ipmi0[PATH_MAX + 8];
  snprintf(dev, sizeof dev, "%s/dev", root);
  snprintf(ipmi0, sizeof ipmi0, "%s/ipmi0", dev);
  assert_int_equal(mkdir(dev, 0755), 0);
  free(put(dev, "ipmi0", "", 0600));
  setenv("KILN_SYSROOT", root, 1);
  kiln_bmc_clear();
  char why[512] = "", want[PATH_MAX + 64];
  assert_null(kiln_tel_ipmi.open(why, sizeof why));
  snprintf(want, sizeof want, "in-band IPMI (%s): not a character device",
           ipmi0);
  assert_string_equal(why, want);
  assert_int_equal(unlink(ipmi0), 0);
  assert_int_equal(symlink("/dev/null", ipmi0), 0);
  double t0 = kiln_monotonic_now();
  assert_null(kiln_tel_ipmi.open(why, sizeof why));
  double took = kiln_monotonic_now() - t0;
  snprintf(want, sizeof want, "in-band IPMI (%s): ", ipmi0);
  if (strncmp(why, want, strlen(want)) != 0 || !why[strlen(want)])
    fail_msg("why: %s", why);
  printf("# in-band through /dev/null: %s (%.2f s)\n", why + strlen(want),
         took);
  assert_true(took < 5.0);
  unsetenv("KILN_SYSROOT");
  fs_rm_rf(root);
  free(root);
}

/* ---- credentials ---- */

static void credentials_key_lines(void **state) {
  (void)state;
  char *dir = make_dir();
  struct kiln_bmc b;
  char err[512];
  memset(&b, 0, sizeof b);
  char *p = put(dir, "c1",
                "# the station's BMC account\n"
                "\n"
                "  username = ADMIN\r\n"
                "password=  pa ss=#word \r\n",
                0600);
  assert_true(kiln_bmc_read_credentials(p, &b, err, sizeof err));
  assert_string_equal(b.user, "ADMIN");
  assert_string_equal(b.password, "pa ss=#word ");
  assert_string_equal(b.host, ""); /* untouched */
  free(p);
  /* The longest IPMI allows (no newline at the end either), and an empty
   * password. */
  p = put(dir, "c2", "password=12345678901234567890\nuser=seventeen_chars_x",
          0400);
  assert_false(kiln_bmc_read_credentials(p, &b, err, sizeof err));
  assert_non_null(
      strstr(err, "the user name is 17 bytes long, IPMI allows 16"));
  free(p);
  p = put(dir, "c3", "password=12345678901234567890\nuser=sixteen_chars_xx",
          0400);
  assert_true(kiln_bmc_read_credentials(p, &b, err, sizeof err));
  assert_string_equal(b.user, "sixteen_chars_xx");
  assert_string_equal(b.password, "12345678901234567890");
  free(p);
  p = put(dir, "c4", "user=operator\npassword=\n", 0600);
  assert_true(kiln_bmc_read_credentials(p, &b, err, sizeof err));
  assert_string_equal(b.user, "operator");
  assert_string_equal(b.password, "");
  free(p);
  fs_rm_rf(dir);
  free(dir);
}

static void credentials_two_lines(void **state) {
  (void)state;
  char *dir = make_dir();
  struct kiln_bmc b;
  memset(&b, 0, sizeof b);
  char err[512];
  /* The password line is taken as it is, even when it starts with '#'. */
  char *p = put(dir, "c", "# BMC\nADMIN\n#s3cret x\n\n# end\n", 0600);
  assert_true(kiln_bmc_read_credentials(p, &b, err, sizeof err));
  assert_string_equal(b.user, "ADMIN");
  assert_string_equal(b.password, "#s3cret x");
  free(p);
  p = put(dir, "crlf", "root\r\ncalvin\r\n", 0600);
  assert_true(kiln_bmc_read_credentials(p, &b, err, sizeof err));
  assert_string_equal(b.user, "root");
  assert_string_equal(b.password, "calvin");
  free(p);
  fs_rm_rf(dir);
  free(dir);
}

static void expect_refused(const char *dir, const char *name, const char *text,
                           size_t len, mode_t mode, const char *want) {
  char *p = put_file(dir, name, text, len, mode);
  struct kiln_bmc b;
  memset(&b, 0, sizeof b);
  snprintf(b.user, sizeof b.user, "keep");
  char err[512] = "";
  assert_false(kiln_bmc_read_credentials(p, &b, err, sizeof err));
  if (!strstr(err, want))
    fail_msg("%s: error \"%s\" does not say \"%s\"", name, err, want);
  if (strncmp(err, p, strlen(p)) != 0)
    fail_msg("%s: error \"%s\" does not name the file", name, err);
  assert_string_equal(b.user, "keep"); /* untouched on error */
  free(p);
}

/* text: a string literal, NUL bytes and all. */
#define REFUSE(name, text, mode, want)                                         \
  expect_refused(dir, name, text, sizeof text - 1, mode, want)

static void credentials_refused(void **state) {
  (void)state;
  char *dir = make_dir();
#define GOOD "user=ADMIN\npassword=secret\n"
  /* Open to group or others, as ssh refuses a key. */
  REFUSE("g", GOOD, 0640,
         "permissions 0640 are too open: the BMC password must not be "
         "open to group or others (chmod 600 ");
  REFUSE("o", GOOD, 0604, "permissions 0604 are too open");
  REFUSE("w", GOOD, 0620, "permissions 0620 are too open");
  REFUSE("x", GOOD, 0601, "permissions 0601 are too open");
  /* Malformed. */
  REFUSE("k", "user=ADMIN\npasswd=secret\n", 0600,
         ":2: unknown key \"passwd\" (expected user= or password=)");
  REFUSE("d", "user=a\nuser=b\npassword=c\n", 0600,
         ":2: the user is given twice");
  REFUSE("d2", "user=a\npassword=b\npassword=c\n", 0600,
         ":3: the password is given twice");
  REFUSE("np", "user=ADMIN\n", 0600, ": no password= line");
  REFUSE("nu", "password=x\n# user=ADMIN\n", 0600, ": no user= line");
  REFUSE("junk", "user=ADMIN\nsecret\n", 0600,
         ":2: expected user=NAME or password=SECRET");
  REFUSE("one", "ADMIN\n", 0600,
         ": expected the user on one line and the password on the "
         "next");
  REFUSE("empty", "", 0600, ": expected the user on one line");
  REFUSE("three", "ADMIN\nsecret\nmore\n", 0600, ":3: more than two lines");
  REFUSE("long", "user=ADMIN\npassword=123456789012345678901\n", 0600,
         ": the password is 21 bytes long, IPMI 2.0 allows 20");
  REFUSE("nul", "user=AD\0MIN\npassword=x\n", 0600, ": contains a NUL byte");
  /* Missing, a directory, too big. */
  struct kiln_bmc b;
  char err[512], path[PATH_MAX];
  snprintf(path, sizeof path, "%s/missing", dir);
  assert_false(kiln_bmc_read_credentials(path, &b, err, sizeof err));
  char want[PATH_MAX + 64];
  snprintf(want, sizeof want,
           "%s: cannot read BMC credentials: No such file or directory", path);
  assert_string_equal(err, want);
  assert_false(kiln_bmc_read_credentials(dir, &b, err, sizeof err));
  assert_non_null(strstr(err, "is a directory, not a regular file"));
  char *big = kiln_xcalloc(5000, 1);
  memset(big, '#', 4999);
  expect_refused(dir, "big", big, 4999, 0600, ": more than 4096 bytes");
  free(big);
  assert_false(kiln_bmc_read_credentials(NULL, &b, err, sizeof err));
  fs_rm_rf(dir);
  free(dir);
}

static void credentials_from_env(void **state) {
  (void)state;
  struct kiln_bmc b;
  memset(&b, 0, sizeof b);
  char err[512];
  setenv("KILN_BMC_USER", "ADMIN", 1);
  setenv("KILN_BMC_PASSWORD", "from env", 1);
  assert_true(kiln_bmc_credentials_from_env(&b, err, sizeof err));
  assert_string_equal(b.user, "ADMIN");
  assert_string_equal(b.password, "from env");
  unsetenv("KILN_BMC_PASSWORD");
  assert_false(kiln_bmc_credentials_from_env(&b, err, sizeof err));
  assert_string_equal(err, "no BMC credentials: $KILN_BMC_PASSWORD is not set "
                           "(give --bmc-credentials FILE, or set "
                           "$KILN_BMC_USER and $KILN_BMC_PASSWORD)");
  unsetenv("KILN_BMC_USER");
  setenv("KILN_BMC_PASSWORD", "x", 1);
  assert_false(kiln_bmc_credentials_from_env(&b, err, sizeof err));
  assert_non_null(strstr(err, "$KILN_BMC_USER is not set"));
  setenv("KILN_BMC_USER", "a_user_name_too_long", 1);
  assert_false(kiln_bmc_credentials_from_env(&b, err, sizeof err));
  assert_string_equal(
      err, "$KILN_BMC_USER: the user name is 20 bytes long, IPMI allows 16");
  unsetenv("KILN_BMC_USER");
  unsetenv("KILN_BMC_PASSWORD");
}

static void configure_sets_the_process_wide_bmc(void **state) {
  (void)state;
  char *dir = make_dir();
  char err[512];
  struct kiln_bmc got;
  kiln_bmc_clear();
  assert_false(kiln_bmc_get(&got));
  assert_string_equal(got.host, "");
  /* The environment, when no file is given. */
  setenv("KILN_BMC_USER", "envuser", 1);
  setenv("KILN_BMC_PASSWORD", "envpass", 1);
  assert_true(kiln_bmc_configure("10.1.2.3", NULL, err, sizeof err));
  assert_true(kiln_bmc_get(&got));
  assert_string_equal(got.host, "10.1.2.3");
  assert_string_equal(got.user, "envuser");
  assert_string_equal(got.password, "envpass");
  /* A file wins over the environment. */
  char *p = put(dir, "c", "user=fileuser\npassword=filepass\n", 0600);
  assert_true(kiln_bmc_configure("bmc-17.lab:623", p, err, sizeof err));
  assert_true(kiln_bmc_get(&got));
  assert_string_equal(got.host, "bmc-17.lab:623");
  assert_string_equal(got.user, "fileuser");
  assert_string_equal(got.password, "filepass");
  /* Errors leave the setting as it was. */
  assert_false(kiln_bmc_configure(NULL, p, err, sizeof err));
  assert_string_equal(err, "no BMC host given (--bmc HOST)");
  assert_false(kiln_bmc_configure("", p, err, sizeof err));
  assert_false(kiln_bmc_configure("bmc 17", p, err, sizeof err));
  assert_non_null(strstr(err, "space or control character"));
  assert_false(kiln_bmc_configure("--bmc-credentials", p, err, sizeof err));
  assert_non_null(strstr(err, "starts with '-'"));
  assert_int_equal(chmod(p, 0644), 0);
  assert_false(kiln_bmc_configure("other", p, err, sizeof err));
  assert_non_null(strstr(err, "too open"));
  assert_true(kiln_bmc_get(&got));
  assert_string_equal(got.host, "bmc-17.lab:623");
  assert_string_equal(got.user, "fileuser");
  kiln_bmc_clear();
  assert_false(kiln_bmc_get(&got));
  assert_string_equal(got.password, "");
  unsetenv("KILN_BMC_USER");
  unsetenv("KILN_BMC_PASSWORD");
  free(p);
  fs_rm_rf(dir);
  free(dir);
}

/* ---- a BMC that does not answer ---- */

/* A UDP port on loopback with a socket that never reads: packets go there
 * and nothing answers, like a hung BMC. */
static void silent_bmc_fails_within_seconds(void **state) {
  (void)state;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t alen = sizeof a;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
  char host[64], err[512], why[256];
  snprintf(host, sizeof host, "127.0.0.1:%d", ntohs(a.sin_port));
  setenv("KILN_BMC_USER", "ADMIN", 1);
  setenv("KILN_BMC_PASSWORD", "ADMIN", 1);
  assert_true(kiln_bmc_configure(host, NULL, err, sizeof err));
  double t0 = kiln_monotonic_now();
  assert_null(kiln_tel_ipmi.open(why, sizeof why));
  double took = kiln_monotonic_now() - t0;
  char want[128];
  snprintf(want, sizeof want,
           "BMC %s: connection timeout (no answer within 2 s)", host);
  assert_string_equal(why, want);
  printf("# silent BMC: open gave up after %.2f s\n", took);
  assert_true(took >= 1.5 && took < 5.0);
  kiln_bmc_clear();
  unsetenv("KILN_BMC_USER");
  unsetenv("KILN_BMC_PASSWORD");
  close(fd);
}

/* ---- against ipmi_sim ---- */

static void sim_reads_fans_temperatures_and_power(void **state) {
  (void)state;
  const struct sim *sim = need_sim();
  void *st = open_sim(sim);
  struct sample s;
  sample_once(st, &s);
  /* 6 fans, 3 temperatures, 1 power; not the voltage, not the BMC's
   * locator record. */
  assert_int_equal(s.n, 10);
  static const double rpm[] = {4800, 5000, 5200, 4900, 5100, 5300};
  for (int i = 0; i < 6; i++) {
    char id[32], label[32];
    snprintf(id, sizeof id, "bmc/FAN%d", i + 1);
    snprintf(label, sizeof label, "FAN%d", i + 1);
    const struct rec *r = find(&s, id);
    assert_string_equal(r->label, label);
    assert_int_equal(r->kind, KILN_TEL_FAN_RPM);
    assert_near(r->value, rpm[i]);
    /* Lower critical 500 RPM; FAN6 has only a lower non-critical. */
    assert_near(r->min, i < 5 ? 500 : 800);
    assert_true(isnan(r->max) && isnan(r->crit));
    assert_int_equal(r->state, KILN_TEL_STATE_OK);
  }
  const struct rec *r = find(&s, "bmc/CPU1_Temp");
  assert_string_equal(r->label, "CPU1 Temp");
  assert_int_equal(r->kind, KILN_TEL_TEMP_C);
  assert_near(r->value, 45);
  assert_true(isnan(r->min));
  assert_near(r->max, 85);
  assert_near(r->crit, 95);
  assert_int_equal(r->state, KILN_TEL_STATE_OK);
  r = find(&s, "bmc/CPU2_Temp");
  assert_near(r->value, 47);
  r = find(&s, "bmc/Inlet_Temp");
  assert_string_equal(r->label, "Inlet Temp");
  assert_near(r->value, 24);
  assert_near(r->max, 40);
  assert_near(r->crit, 45);
  r = find(&s, "bmc/Total_Power");
  assert_int_equal(r->kind, KILN_TEL_POWER_W);
  assert_near(r->value, 244);
  assert_near(r->max, 700);
  assert_near(r->crit, 800);
  for (size_t i = 0; i < s.n; i++)
    assert_null(strstr(s.r[i].id, "P12V"));
  /* The same again: the context is reused. */
  sample_once(st, &s);
  assert_int_equal(s.n, 10);
  kiln_tel_ipmi.close(st);
  kiln_bmc_clear();
}

static void sim_stalled_fan_reads_zero_and_fails(void **state) {
  (void)state;
  const struct sim *sim = need_sim();
  void *st = open_sim(sim);
  struct sample s;
  sim_set(sim, 0x32, 0);  /* FAN3 stalls */
  sim_set(sim, 0x34, 6);  /* FAN5 at 600 RPM: under lower non-critical 700 */
  sim_set(sim, 0x01, 97); /* CPU1 over its upper critical 95 */
  sample_once(st, &s);
  assert_int_equal(s.n, 10);
  const struct rec *fan3 = find(&s, "bmc/FAN3");
  assert_near(fan3->value, 0);
  assert_int_equal(fan3->state, KILN_TEL_STATE_CRITICAL);
  assert_near(find(&s, "bmc/FAN5")->value, 600);
  assert_int_equal(find(&s, "bmc/FAN5")->state, KILN_TEL_STATE_WARNING);
  assert_int_equal(find(&s, "bmc/FAN4")->state, KILN_TEL_STATE_OK);
  const struct rec *cpu = find(&s, "bmc/CPU1_Temp");
  assert_near(cpu->value, 97);
  assert_int_equal(cpu->state, KILN_TEL_STATE_CRITICAL);
  /* The watches the BMC's own limits call for fire on it. */
  struct kiln_tel_reading rd = {.source = "ipmi",
                                .id = fan3->id,
                                .kind = fan3->kind,
                                .value = fan3->value,
                                .min = fan3->min,
                                .max = fan3->max,
                                .crit = fan3->crit,
                                .state = fan3->state};
  struct kiln_watch w;
  struct kiln_watch_fire f;
  assert_true(kiln_watch_for_reading(&rd, 0, &w));
  assert_true(kiln_watch_feed(&w, 0, fan3->value, &f));
  assert_int_equal(f.op, KILN_WATCH_BELOW);
  assert_near(f.limit, 500);
  rd = (struct kiln_tel_reading){.kind = cpu->kind,
                                 .value = cpu->value,
                                 .min = cpu->min,
                                 .max = cpu->max,
                                 .crit = cpu->crit};
  assert_true(kiln_watch_for_reading(&rd, 0, &w));
  assert_true(kiln_watch_feed(&w, 0, cpu->value, &f));
  assert_near(f.limit, 95);
  /* Back to normal: the same session context reads the recovery. */
  sim_set(sim, 0x32, 52);
  sim_set(sim, 0x34, 51);
  sim_set(sim, 0x01, 45);
  sample_once(st, &s);
  assert_near(find(&s, "bmc/FAN3")->value, 5200);
  for (size_t i = 0; i < s.n; i++)
    assert_int_equal(s.r[i].state, KILN_TEL_STATE_OK);
  kiln_tel_ipmi.close(st);
  kiln_bmc_clear();
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Through the sampler, as `kiln run` samples it; and what a sample costs. */
/* Through the sampler the BMC is read in a thread of its own: each call
 * hands on the last finished sample and asks for the next. */
static void sim_sampler_and_cost(void **state) {
  (void)state;
  const struct sim *sim = need_sim();
  char err[512];
  assert_true(kiln_bmc_configure(sim->host, sim->creds, err, sizeof err));
  struct kiln_telemetry tel;
  double t0 = kiln_monotonic_now();
  assert_int_equal(kiln_telemetry_open(&tel, "ipmi"), 1);
  double open_cost = kiln_monotonic_now() - t0;
  assert_string_equal(tel.src[0].why, "");
  char where[80];
  snprintf(where, sizeof where, "BMC %s", sim->host);
  assert_string_equal(tel.src[0].where, where);
  enum { N = 50 };
  double cost[N], sum = 0;
  struct sample s;
  for (int i = 0; i < N; i++) {
    t0 = kiln_monotonic_now();
    assert_true(kiln_telemetry_wait(&tel, 10));
    cost[i] = kiln_monotonic_now() - t0;
    sum += cost[i];
    s.n = 0;
    assert_int_equal(kiln_telemetry_sample(&tel, i, collect, &s), 10);
    assert_string_equal(find(&s, "bmc/FAN1")->source, "ipmi");
    assert_near(find(&s, "bmc/FAN1")->min, 500);
    double since;
    char why[256];
    assert_false(kiln_telemetry_silent(&tel, 0, &since, why, sizeof why));
  }
  qsort(cost, N, sizeof cost[0], cmp_double);
  printf("# ipmi against ipmi_sim on loopback: open %.1f ms (SDR read); a "
         "sample of 10 sensors (one LAN session each) mean %.2f ms, median "
         "%.2f ms, max %.2f ms over %d\n",
         open_cost * 1e3, sum / N * 1e3, cost[N / 2] * 1e3, cost[N - 1] * 1e3,
         N);
  assert_true(sum / N < 0.5);
  kiln_telemetry_close(&tel);
  kiln_bmc_clear();
}

/* A BMC that stops answering (the simulator paused) is reported silent,
 * naming the cause, and the sampler's own calls hand on nothing. */
static void sim_paused_bmc_is_silent(void **state) {
  (void)state;
  struct sim own;
  own_sim_start(&own);
  char *pidfile = kiln_strdup_printf("%s/sim.pid", own.dir);
  FILE *f = fopen(pidfile, "r");
  assert_non_null(f);
  int simpid = 0;
  assert_int_equal(fscanf(f, "%d", &simpid), 1);
  fclose(f);
  free(pidfile);
  char err[512], why[512];
  assert_true(kiln_bmc_configure(own.host, own.creds, err, sizeof err));
  struct kiln_telemetry tel;
  assert_int_equal(kiln_telemetry_open(&tel, "ipmi"), 1);
  assert_true(kiln_telemetry_wait(&tel, 10));
  assert_int_equal(kiln_telemetry_sample(&tel, 0, NULL, NULL), 10);
  assert_int_equal(kill(simpid, SIGSTOP), 0);
  assert_true(kiln_telemetry_wait(&tel, 10)); /* the one asked for above */
  assert_int_equal(kiln_telemetry_sample(&tel, 1, NULL, NULL), 0);
  double since = 0;
  assert_true(kiln_telemetry_silent(&tel, 0, &since, why, sizeof why));
  printf("# paused BMC: %s\n", why);
  /* libipmimonitoring's words for a BMC gone quiet depend on where in
   * its session the pause fell. */
  assert_non_null(strstr(why, "connection timeout")    ? why
                  : strstr(why, "session timeout")     ? why
                  : strstr(why, "internal IPMI error") ? why
                                                       : NULL);
  assert_true(since > 0 && since <= kiln_monotonic_now());
  kill(simpid, SIGCONT);
  kiln_telemetry_close(&tel);
  kiln_bmc_clear();
  sim_stop(&own);
}

static void sim_wrong_password(void **state) {
  (void)state;
  const struct sim *sim = need_sim();
  char *dir = make_dir();
  char *p = put(dir, "c", "user=kiln\npassword=not-the-password\n", 0600);
  char err[512], why[256];
  assert_true(kiln_bmc_configure(sim->host, p, err, sizeof err));
  assert_null(kiln_tel_ipmi.open(why, sizeof why));
  char want[128];
  snprintf(want, sizeof want, "BMC %s: invalid password", sim->host);
  assert_string_equal(why, want);
  kiln_bmc_clear();
  free(p);
  fs_rm_rf(dir);
  free(dir);
}

/* A BMC that dies mid-run: the sample that finds it gone costs one session
 * timeout, the next ones nothing until the source tries again. */
static void sim_bmc_dies_mid_run(void **state) {
  (void)state;
  struct sim own;
  own_sim_start(&own);
  void *st = open_sim(&own);
  struct sample s;
  sample_once(st, &s);
  assert_int_equal(s.n, 10);
  sim_stop(&own);
  double t0 = kiln_monotonic_now();
  sample_once(st, &s);
  double first = kiln_monotonic_now() - t0;
  assert_int_equal(s.n, 0);
  t0 = kiln_monotonic_now();
  sample_once(st, &s);
  double second = kiln_monotonic_now() - t0;
  assert_int_equal(s.n, 0);
  printf("# BMC gone: the sample that found out took %.2f s, the next %.4f s\n",
         first, second);
  assert_true(first < 4.0);
  assert_true(second < 0.1);
  kiln_tel_ipmi.close(st);
  kiln_bmc_clear();
}

/* ---- the group ---- */

static int group_setup(void **state) {
  (void)state;
  if (fs_on_path("ipmi_sim") &&
      !sim_start(&shared_sim, sim_error, sizeof sim_error))
    shared_sim.pid = 0;
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  sim_stop(&shared_sim);
  return 0;
}

int main(void) {
  alarm(300); /* a hang fails the test; the simulator stops without us */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(no_bmc_gives_the_reason),
      cmocka_unit_test(dev_ipmi0_means_in_band),
      cmocka_unit_test(credentials_key_lines),
      cmocka_unit_test(credentials_two_lines),
      cmocka_unit_test(credentials_refused),
      cmocka_unit_test(credentials_from_env),
      cmocka_unit_test(configure_sets_the_process_wide_bmc),
      cmocka_unit_test(silent_bmc_fails_within_seconds),
      cmocka_unit_test(sim_reads_fans_temperatures_and_power),
      cmocka_unit_test(sim_stalled_fan_reads_zero_and_fails),
      cmocka_unit_test(sim_sampler_and_cost),
      cmocka_unit_test(sim_paused_bmc_is_silent),
      cmocka_unit_test(sim_wrong_password),
      cmocka_unit_test(sim_bmc_dies_mid_run),
  };
  cmocka_set_message_output(CM_OUTPUT_TAP);
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
