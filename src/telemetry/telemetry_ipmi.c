/* Telemetry source "ipmi": the BMC's fans, temperatures and power through
 * FreeIPMI's libipmimonitoring. Most server boards report their fans only
 * through the BMC.
 *
 * Where: over the LAN (IPMI 2.0, cipher suite 3) to the BMC set with
 * kiln_bmc_set (--bmc HOST, credentials from a file or the environment,
 * see kiln/bmc.h), else in-band through /dev/ipmi0 (the OpenIPMI driver),
 * else not at all ("no BMC: ..."). $KILN_SYSROOT applies to /dev/ipmi0.
 *
 * What: each threshold sensor read in RPM (KILN_TEL_FAN_RPM), degrees
 * (KILN_TEL_TEMP_C; Fahrenheit converted) or watts (KILN_TEL_POWER_W). Ids
 * are "bmc/" and the SDR's sensor name, characters other than letters,
 * digits and ._+- made '_' ("bmc/CPU1_Temp"; a name seen twice gets
 * "~RECORD_ID"); labels are the names as the SDR gives them. Limits come
 * from the SDR's readable thresholds: min the lower critical (else lower
 * non-critical, else non-recoverable), max the upper non-critical, crit the
 * upper critical (else non-recoverable). state is the BMC's verdict: a
 * critical or non-recoverable threshold crossed is CRITICAL (as FreeIPMI's
 * default interpretation has it), a non-critical one WARNING (which that
 * interpretation calls nominal); the system's freeipmi_interpret_sensor.conf
 * is not read.
 *
 * Cost: libipmimonitoring opens a session for each call and closes it after;
 * what it keeps across samples is the context and the SDR, read once in
 * open() into a cache file in a private temp dir (removed by close). A
 * sample asks only for the sensors kept at open (one Get Sensor Reading
 * each). Timeouts are short (a request gives up after about 2 s without an
 * answer, retransmitted in between), and after a failed sample the source
 * waits 5 s, doubling up to 60 s, before it tries again, so a dead BMC is
 * not asked once a second. The source is a blocking one: the sampler runs
 * sample() in a thread of its own, so even those timeouts never hold up
 * the run (kiln_telemetry_silent tells it the BMC stopped answering). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <freeipmi/freeipmi.h>
#include <ipmi_monitoring.h>
#include <ipmi_monitoring_bitmasks.h>

#include "hw/bmc.h"
#include "kiln/inventory.h"
#include "kiln/sysfs.h"
#include "kiln/telemetry.h"
#include "kiln/textutil.h"

/* FreeIPMI retransmits an unanswered request at 0.5, 1, 2 and 3 s and
 * checks the session timeout only then: 1.5 s gives up at 2 s, where 2 s
 * would sometimes go on to 3 s. */
#define SESSION_TIMEOUT_MS 1500
#define RETRANSMISSION_TIMEOUT_MS 500
#define BACKOFF_FIRST 5.0 /* seconds without a try after a failed sample */
#define BACKOFF_MAX 60.0

struct ipmi_sensor {
  unsigned int record_id;
  char *id, *label;
  enum kiln_tel_kind kind;
  bool fahrenheit; /* converted to degrees C */
  double min, max, crit;
};

struct ipmi_state {
  ipmi_monitoring_ctx_t ctx;
  struct ipmi_monitoring_ipmi_config cfg; /* points into bmc and device */
  struct kiln_bmc bmc;
  const char *host; /* bmc.host, or NULL: in-band */
  char device[PATH_MAX];
  char where[PATH_MAX + 32]; /* "BMC HOST", "in-band IPMI (/dev/ipmi0)" */
  char cache_dir[PATH_MAX];
  struct ipmi_sensor *s;
  size_t n, cap;
  unsigned int *record_ids; /* of s, in order */
  double retry_at;          /* monotonic; no session before it */
  double backoff;
  char failure[320]; /* why the last sample failed; "" after a good one */
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_errnum = -1; /* 0 when ipmi_monitoring_init succeeded */

static void library_init(void) {
  int errnum = 0;
  if (ipmi_monitoring_init(0, &errnum) < 0)
    init_errnum = errnum ? errnum : IPMI_MONITORING_ERR_INTERNAL_ERROR;
  else
    init_errnum = 0;
}

/* ---- the SDR cache dir ---- */

static bool make_cache_dir(struct ipmi_state *st, char *why, size_t n) {
  const char *tmp = getenv("TMPDIR");
  if (!tmp || !*tmp)
    tmp = "/tmp";
  if (!kiln_tel_path(st->cache_dir, sizeof st->cache_dir,
                     "%s/kiln-ipmi-sdr.XXXXXX", tmp) ||
      !mkdtemp(st->cache_dir)) {
    snprintf(why, n, "cannot make a temp dir for the SDR cache in %s: %s", tmp,
             strerror(errno));
    st->cache_dir[0] = '\0';
    return false;
  }
  return true;
}

/* The cache file libipmimonitoring wrote there (its only file); false
 * when there is none. */
static bool cache_file(const struct ipmi_state *st, char *buf, size_t n) {
  DIR *d = opendir(st->cache_dir);
  if (!d)
    return false;
  struct dirent *e;
  bool found = false;
  while (!found && (e = readdir(d))) {
    struct stat sb;
    if (e->d_name[0] == '.' ||
        !kiln_tel_path(buf, n, "%s/%s", st->cache_dir, e->d_name))
      continue;
    found = stat(buf, &sb) == 0 && S_ISREG(sb.st_mode);
  }
  closedir(d);
  return found;
}

static void remove_cache_dir(struct ipmi_state *st) {
  if (!st->cache_dir[0])
    return;
  DIR *d = opendir(st->cache_dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      char path[PATH_MAX];
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
          kiln_tel_path(path, sizeof path, "%s/%s", st->cache_dir, e->d_name))
        unlink(path);
    }
    closedir(d);
  }
  rmdir(st->cache_dir);
  st->cache_dir[0] = '\0';
}

/* ---- reading ---- */

/* "BMC HOST: connection timeout (no answer within 2 s)"; without where
 * ("connection timeout ...") when with_where is false. */
static void describe_error(const struct ipmi_state *st, bool with_where,
                           char *buf, size_t n) {
  int e = ipmi_monitoring_ctx_errnum(st->ctx);
  const char *msg = ipmi_monitoring_ctx_errormsg(st->ctx);
  const char *hint = "";
  switch (e) {
  case IPMI_MONITORING_ERR_CONNECTION_TIMEOUT:
  case IPMI_MONITORING_ERR_SESSION_TIMEOUT:
    hint = " (no answer within 2 s)";
    break;
  case IPMI_MONITORING_ERR_PERMISSION:
    if (!st->host)
      hint = " (in-band IPMI needs root)";
    break;
  default: break;
  }
  snprintf(buf, n, "%s%s%s%s", with_where ? st->where : "",
           with_where ? ": " : "", msg ? msg : "IPMI error", hint);
}

/* Reads the sensors with these record ids (all with NULL); returns how
 * many, or -1 (see describe_error). A BMC that will not grant a session
 * the privilege FreeIPMI asks for in the Open Session request (OpenIPMI's
 * ipmi_sim, some real ones) gets FreeIPMI's workaround from then on. */
static int read_sensors(struct ipmi_state *st, unsigned int *ids, size_t n) {
  for (int attempt = 0;; attempt++) {
    int got = ipmi_monitoring_sensor_readings_by_record_id(
        st->ctx, st->host, &st->cfg, 0, ids, (unsigned int)n, NULL, NULL);
    if (got >= 0 || attempt > 0 || !st->host ||
        ipmi_monitoring_ctx_errnum(st->ctx) !=
            IPMI_MONITORING_ERR_PRIVILEGEL_LEVEL_CANNOT_BE_OBTAINED ||
        (st->cfg.workaround_flags &
         IPMI_MONITORING_WORKAROUND_FLAGS_PROTOCOL_VERSION_2_0_OPEN_SESSION_PRIVILEGE))
      return got;
    st->cfg.workaround_flags |=
        IPMI_MONITORING_WORKAROUND_FLAGS_PROTOCOL_VERSION_2_0_OPEN_SESSION_PRIVILEGE;
  }
}

/* The current reading of the iterator as a number; false when it has none
 * (unavailable, or a discrete sensor). */
static bool reading_value(ipmi_monitoring_ctx_t ctx, double *v) {
  if (ipmi_monitoring_sensor_read_sensor_reading_type(ctx) !=
      IPMI_MONITORING_SENSOR_READING_TYPE_DOUBLE)
    return false;
  const void *p = ipmi_monitoring_sensor_read_sensor_reading(ctx);
  if (!p)
    return false;
  memcpy(v, p, sizeof *v);
  return isfinite(*v);
}

/* The BMC's verdict: libipmimonitoring's state (its default
 * interpretation: a critical or non-recoverable threshold crossed is
 * CRITICAL), raised to WARNING when a non-critical threshold is crossed,
 * which that interpretation calls nominal. */
static enum kiln_tel_state reading_state(ipmi_monitoring_ctx_t ctx) {
  enum kiln_tel_state state = KILN_TEL_STATE_NONE;
  switch (ipmi_monitoring_sensor_read_sensor_state(ctx)) {
  case IPMI_MONITORING_STATE_NOMINAL: state = KILN_TEL_STATE_OK; break;
  case IPMI_MONITORING_STATE_WARNING: state = KILN_TEL_STATE_WARNING; break;
  case IPMI_MONITORING_STATE_CRITICAL: state = KILN_TEL_STATE_CRITICAL; break;
  default: break;
  }
  if (ipmi_monitoring_sensor_read_sensor_bitmask_type(ctx) !=
      IPMI_MONITORING_SENSOR_BITMASK_TYPE_THRESHOLD)
    return state;
  int bits = ipmi_monitoring_sensor_read_sensor_bitmask(ctx);
  if (bits < 0)
    return state;
  /* FreeIPMI names the upper ones "AT_OR_BELOW_UPPER_...": at or above. */
  const int critical =
      IPMI_MONITORING_SENSOR_BITMASK_THRESHOLD_AT_OR_BELOW_LOWER_CRITICAL_THRESHOLD |
      IPMI_MONITORING_SENSOR_BITMASK_THRESHOLD_AT_OR_BELOW_LOWER_NON_RECOVERABLE_THRESHOLD |
      IPMI_MONITORING_SENSOR_BITMASK_THRESHOLD_AT_OR_BELOW_UPPER_CRITICAL_THRESHOLD |
      IPMI_MONITORING_SENSOR_BITMASK_THRESHOLD_AT_OR_BELOW_UPPER_NON_RECOVERABLE_THRESHOLD;
  const int non_critical =
      IPMI_MONITORING_SENSOR_BITMASK_THRESHOLD_AT_OR_BELOW_LOWER_NON_CRITICAL_THRESHOLD |
      IPMI_MONITORING_SENSOR_BITMASK_THRESHOLD_AT_OR_BELOW_UPPER_NON_CRITICAL_THRESHOLD;
  enum kiln_tel_state from_bits = bits & critical ? KILN_TEL_STATE_CRITICAL
                                  : bits & non_critical ? KILN_TEL_STATE_WARNING
                                                        : KILN_TEL_STATE_OK;
  return from_bits > state ? from_bits : state;
}

static double to_celsius(double f) { return (f - 32.0) * 5.0 / 9.0; }

/* ---- the sensor list ---- */

static bool id_taken(const struct ipmi_state *st, const char *id) {
  for (size_t i = 0; i < st->n; i++)
    if (strcmp(st->s[i].id, id) == 0)
      return true;
  return false;
}

static char *make_id(const struct ipmi_state *st, const char *name,
                     unsigned int record_id) {
  char *id = kiln_strdup_printf("bmc/%s", name);
  for (char *p = id + 4; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' ||
          c == '-'))
      *p = '_';
  }
  if (id_taken(st, id)) {
    char *again = kiln_strdup_printf("%s~%u", id, record_id);
    free(id);
    id = again;
  }
  return id;
}

/* Adds the iterator's current sensor when it reads RPM, degrees or watts. */
static void add_sensor(struct ipmi_state *st) {
  ipmi_monitoring_ctx_t ctx = st->ctx;
  struct ipmi_sensor s = {.min = NAN, .max = NAN, .crit = NAN};
  switch (ipmi_monitoring_sensor_read_sensor_units(ctx)) {
  case IPMI_MONITORING_SENSOR_UNITS_RPM: s.kind = KILN_TEL_FAN_RPM; break;
  case IPMI_MONITORING_SENSOR_UNITS_CELSIUS: s.kind = KILN_TEL_TEMP_C; break;
  case IPMI_MONITORING_SENSOR_UNITS_FAHRENHEIT:
    s.kind = KILN_TEL_TEMP_C;
    s.fahrenheit = true;
    break;
  case IPMI_MONITORING_SENSOR_UNITS_WATTS: s.kind = KILN_TEL_POWER_W; break;
  default: return; /* volts, amps, percent, discrete states */
  }
  if (ipmi_monitoring_sensor_read_sensor_reading_type(ctx) !=
      IPMI_MONITORING_SENSOR_READING_TYPE_DOUBLE)
    return;
  int rid = ipmi_monitoring_sensor_read_record_id(ctx);
  if (rid < 0)
    return;
  s.record_id = (unsigned int)rid;
  for (size_t i = 0; i < st->n; i++)
    if (st->s[i].record_id == s.record_id)
      return; /* a shared record, seen already */
  const char *name = ipmi_monitoring_sensor_read_sensor_name(ctx);
  char *label = kiln_tel_clean_label(name);
  if (!label[0]) {
    free(label);
    label = kiln_strdup_printf("record %u", s.record_id);
  }
  s.label = label;
  s.id = make_id(st, label, s.record_id);
  if (st->n == st->cap) {
    st->cap = st->cap ? st->cap * 2 : 32;
    st->s = kiln_xrealloc(st->s, st->cap * sizeof *st->s);
  }
  st->s[st->n++] = s;
}

/* The first of the thresholds the SDR says are readable, or NaN. */
static double pick(const uint8_t *readable, double *const *value, int n) {
  for (int i = 0; i < n; i++)
    if (readable[i] && value[i] && isfinite(*value[i]))
      return *value[i];
  return NAN;
}

static void sensor_thresholds(ipmi_sdr_ctx_t sdr, struct ipmi_sensor *s) {
  if (s->record_id > UINT16_MAX ||
      ipmi_sdr_cache_search_record_id(sdr, (uint16_t)s->record_id) < 0)
    return;
  uint8_t rec[IPMI_SDR_MAX_RECORD_LENGTH];
  int len = ipmi_sdr_cache_record_read(sdr, rec, sizeof rec);
  uint16_t id;
  uint8_t type;
  if (len <= 0 ||
      ipmi_sdr_parse_record_id_and_type(sdr, rec, (unsigned int)len, &id,
                                        &type) < 0 ||
      type != IPMI_SDR_FORMAT_FULL_SENSOR_RECORD)
    return;
  uint8_t r_lnc = 0, r_lc = 0, r_lnr = 0, r_unc = 0, r_uc = 0, r_unr = 0;
  if (ipmi_sdr_parse_threshold_readable(sdr, rec, (unsigned int)len, &r_lnc,
                                        &r_lc, &r_lnr, &r_unc, &r_uc,
                                        &r_unr) < 0)
    return;
  double *lnc = NULL, *lc = NULL, *lnr = NULL, *unc = NULL, *uc = NULL,
         *unr = NULL;
  if (ipmi_sdr_parse_thresholds(sdr, rec, (unsigned int)len, &lnc, &lc, &lnr,
                                &unc, &uc, &unr) == 0) {
    const uint8_t lower_r[] = {r_lc, r_lnc, r_lnr};
    double *const lower[] = {lc, lnc, lnr};
    const uint8_t crit_r[] = {r_uc, r_unr};
    double *const crit[] = {uc, unr};
    s->min = pick(lower_r, lower, 3);
    s->max = pick(&r_unc, &unc, 1);
    s->crit = pick(crit_r, crit, 2);
    if (s->fahrenheit) {
      s->min = to_celsius(s->min);
      s->max = to_celsius(s->max);
      s->crit = to_celsius(s->crit);
    }
  }
  free(lnc);
  free(lc);
  free(lnr);
  free(unc);
  free(uc);
  free(unr);
}

/* Limits from the SDR that libipmimonitoring cached: it reports readings
 * and states, not thresholds. Without the cache the limits stay NaN. */
static void read_thresholds(struct ipmi_state *st) {
  char path[PATH_MAX];
  if (!cache_file(st, path, sizeof path))
    return;
  ipmi_sdr_ctx_t sdr = ipmi_sdr_ctx_create();
  if (!sdr)
    return;
  if (ipmi_sdr_cache_open(sdr, NULL, path) == 0) {
    for (size_t i = 0; i < st->n; i++)
      sensor_thresholds(sdr, &st->s[i]);
    ipmi_sdr_cache_close(sdr);
  }
  ipmi_sdr_ctx_destroy(sdr);
}

/* ---- the source ---- */

static void ipmi_close(void *state);

static void *ipmi_open(char *why, size_t n) {
  if (n)
    why[0] = '\0';
  struct ipmi_state *st = kiln_xcalloc(1, sizeof *st);
  if (kiln_bmc_get(&st->bmc)) {
    st->host = st->bmc.host;
    snprintf(st->where, sizeof st->where, "BMC %s", st->host);
  } else {
    kiln_sysroot_path(st->device, sizeof st->device, "/dev/ipmi0");
    struct stat sb;
    if (stat(st->device, &sb) != 0) {
      snprintf(why, n, "no BMC: /dev/ipmi0 absent and no --bmc HOST given");
      ipmi_close(st);
      return NULL;
    }
    snprintf(st->where, sizeof st->where, "in-band IPMI (%s)", st->device);
    if (!S_ISCHR(sb.st_mode)) {
      snprintf(why, n, "%s: not a character device", st->where);
      ipmi_close(st);
      return NULL;
    }
    if (access(st->device, R_OK | W_OK) != 0) {
      snprintf(why, n, "%s: %s%s", st->where, strerror(errno),
               errno == EACCES ? " (in-band IPMI needs root)" : "");
      ipmi_close(st);
      return NULL;
    }
  }
  pthread_once(&init_once, library_init);
  if (init_errnum != 0) {
    snprintf(why, n, "libipmimonitoring: %s",
             ipmi_monitoring_ctx_strerror(init_errnum));
    ipmi_close(st);
    return NULL;
  }
  if (!make_cache_dir(st, why, n)) {
    ipmi_close(st);
    return NULL;
  }
  st->ctx = ipmi_monitoring_ctx_create();
  if (!st->ctx) {
    snprintf(why, n, "libipmimonitoring: cannot create a context");
    ipmi_close(st);
    return NULL;
  }
  if (ipmi_monitoring_ctx_sdr_cache_directory(st->ctx, st->cache_dir) < 0) {
    snprintf(why, n, "libipmimonitoring: SDR cache in %s: %s", st->cache_dir,
             ipmi_monitoring_ctx_errormsg(st->ctx));
    ipmi_close(st);
    return NULL;
  }
  struct ipmi_monitoring_ipmi_config *c = &st->cfg;
  c->driver_type = -1;
  c->privilege_level = IPMI_MONITORING_PRIVILEGE_LEVEL_USER;
  c->authentication_type = -1;
  c->cipher_suite_id = 3; /* HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128 */
  c->session_timeout_len = SESSION_TIMEOUT_MS;
  c->retransmission_timeout_len = RETRANSMISSION_TIMEOUT_MS;
  if (st->host) {
    c->protocol_version = IPMI_MONITORING_PROTOCOL_VERSION_2_0;
    c->username = st->bmc.user;
    c->password = st->bmc.password;
  } else {
    c->protocol_version = -1;
    c->driver_type = IPMI_MONITORING_DRIVER_TYPE_OPENIPMI;
    c->driver_device = st->device;
  }

  /* Every sensor once: the SDR comes into the cache, the list is made. */
  int got = read_sensors(st, NULL, 0);
  if (got < 0) {
    describe_error(st, true, why, n);
    ipmi_close(st);
    return NULL;
  }
  if (got > 0 && ipmi_monitoring_sensor_iterator_first(st->ctx) == 0) {
    do
      add_sensor(st);
    while (ipmi_monitoring_sensor_iterator_next(st->ctx) == 1);
  }
  if (st->n == 0) {
    snprintf(why, n,
             "%s: %d sensor%s, none reading RPM, degrees or watts "
             "(no fans, temperatures or power)",
             st->where, got, got == 1 ? "" : "s");
    ipmi_close(st);
    return NULL;
  }
  read_thresholds(st);
  st->record_ids = kiln_xcalloc(st->n, sizeof *st->record_ids);
  for (size_t i = 0; i < st->n; i++)
    st->record_ids[i] = st->s[i].record_id;
  return st;
}

static size_t ipmi_sample(void *state, kiln_tel_emit_fn emit, void *ctx) {
  struct ipmi_state *st = state;
  if (kiln_monotonic_now() < st->retry_at)
    return 0; /* failed lately: not yet */
  int got = read_sensors(st, st->record_ids, st->n);
  if (got < 0) {
    describe_error(st, false, st->failure, sizeof st->failure);
    st->backoff = st->backoff > 0 ? st->backoff * 2 : BACKOFF_FIRST;
    if (st->backoff > BACKOFF_MAX)
      st->backoff = BACKOFF_MAX;
    st->retry_at = kiln_monotonic_now() + st->backoff;
    return 0;
  }
  st->backoff = 0;
  st->retry_at = 0;
  st->failure[0] = '\0';
  if (got == 0 || ipmi_monitoring_sensor_iterator_first(st->ctx) < 0)
    return 0;
  size_t emitted = 0, hint = 0;
  do {
    int rid = ipmi_monitoring_sensor_read_record_id(st->ctx);
    const struct ipmi_sensor *s = NULL;
    /* In SDR order, as at open: look where the last one was first. */
    for (size_t k = 0; k < st->n && !s; k++) {
      size_t i = (hint + k) % st->n;
      if (rid >= 0 && st->s[i].record_id == (unsigned int)rid) {
        s = &st->s[i];
        hint = i + 1;
      }
    }
    double v;
    if (!s || !reading_value(st->ctx, &v))
      continue;
    struct kiln_tel_reading r = {
        .id = s->id,
        .label = s->label,
        .kind = s->kind,
        .value = s->fahrenheit ? to_celsius(v) : v,
        .min = s->min,
        .max = s->max,
        .crit = s->crit,
        .state = reading_state(st->ctx),
    };
    emit(ctx, &r);
    emitted++;
  } while (ipmi_monitoring_sensor_iterator_next(st->ctx) == 1);
  return emitted;
}

static void ipmi_failure(void *state, char *why, size_t n) {
  const struct ipmi_state *st = state;
  double wait = st->retry_at - kiln_monotonic_now();
  if (!st->failure[0])
    snprintf(why, n, "no sensor readings");
  else if (wait > 0)
    snprintf(why, n, "%s (next try in %.0f s)", st->failure, wait);
  else
    snprintf(why, n, "%s", st->failure);
}

static const char *ipmi_where(void *state) {
  return ((const struct ipmi_state *)state)->where;
}

static void ipmi_close(void *state) {
  struct ipmi_state *st = state;
  if (!st)
    return;
  if (st->ctx)
    ipmi_monitoring_ctx_destroy(st->ctx);
  remove_cache_dir(st);
  for (size_t i = 0; i < st->n; i++) {
    free(st->s[i].id);
    free(st->s[i].label);
  }
  free(st->s);
  free(st->record_ids);
  kiln_bmc_wipe(&st->bmc);
  free(st);
}

const struct kiln_tel_source kiln_tel_ipmi = {
    .name = "ipmi",
    .summary = "BMC fans, temperatures and power through FreeIPMI "
               "(in-band or --bmc HOST)",
    .open = ipmi_open,
    .sample = ipmi_sample,
    .close = ipmi_close,
    .blocking = true,
    .failure = ipmi_failure,
    .where = ipmi_where,
};
