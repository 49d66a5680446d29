/* Telemetry: what the parent samples about once a second for the whole run.
 *
 * Sources sit behind one interface, one file per source (like pciutils'
 * access methods): src/telemetry/telemetry_sensors.c (libsensors: fans,
 * temperatures, power), src/telemetry/telemetry_edac.c (EDAC memory error
 * counters), src/telemetry/telemetry_cpu.c (cpufreq and thermal-throttle
 * counters) and src/telemetry/telemetry_ipmi.c (the BMC's fans, temperatures
 * and power through FreeIPMI's libipmimonitoring, in-band or over the LAN). A
 * source finds its sensors once, in open(), and reads them in sample().
 *
 * A sampler (struct kiln_telemetry) opens every registered source, keeps the
 * reason of those that cannot open, samples the open ones and hands each
 * reading to the caller (the watches, telemetry.csv, the OCP stream). Open,
 * sample and close from one thread: libsensors keeps global state. A blocking
 * source (a BMC over the LAN: seconds per timeout) is the exception: it is
 * opened in that thread, then sampled in a thread of its own, so the caller
 * never waits on it (kiln_telemetry_sample, kiln_telemetry_silent). /sys paths
 * other than libsensors' own take $KILN_SYSROOT (kiln_sysroot_path).
 * $KILN_SENSORS_CONFIG names a libsensors configuration to use instead of the
 * system's (tests use an empty one). Layer: telemetry (src/telemetry/): uses
 * core to inventory. */
#ifndef KILN_TELEMETRY_H
#define KILN_TELEMETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum kiln_tel_kind {
  KILN_TEL_FAN_RPM,  /* "RPM" */
  KILN_TEL_TEMP_C,   /* "C" */
  KILN_TEL_POWER_W,  /* "W" */
  KILN_TEL_COUNT,    /* "count": a cumulative counter (EDAC, throttling) */
  KILN_TEL_FREQ_MHZ, /* "MHz" */
};

const char *kiln_tel_kind_name(enum kiln_tel_kind k); /* "fan_rpm" */
const char *kiln_tel_kind_unit(enum kiln_tel_kind k); /* "RPM" */

/* The hardware's own judgement of a reading, where it gives one: a BMC
 * rates each sensor against its thresholds (IPMI sensor state). */
enum kiln_tel_state {
  KILN_TEL_STATE_NONE = 0, /* not given (libsensors, EDAC, cpufreq) */
  KILN_TEL_STATE_OK,
  KILN_TEL_STATE_WARNING,  /* past a non-critical threshold */
  KILN_TEL_STATE_CRITICAL, /* past a critical or non-recoverable one */
};

/* One reading. A source fills id, label, kind, value and the limits the
 * hardware itself reports; the sampler fills source and t. Pointers are
 * valid during the callback only. */
struct kiln_tel_reading {
  const char *source; /* "sensors", "edac", "cpu" */
  double t;           /* the time the caller gave kiln_telemetry_sample */
  const char *id;     /* stable and unique in its source, e.g.
                         "nct6798-isa-0290/fan1", "mc0/dimm3/ce_count" */
  const char *label;  /* for people: "CPU_FAN", "Package id 0" */
  enum kiln_tel_kind kind;
  double value;
  /* The hardware's own static limits (libsensors fanN_min, tempN_max,
   * tempN_crit), read once at open; NaN when it gives none. */
  double min, max, crit;
  /* The hardware's state for this reading (NONE where it gives none): a
   * fan the BMC calls CRITICAL is a failed fan whatever the limits say. */
  enum kiln_tel_state state;
};

typedef void (*kiln_tel_emit_fn)(void *ctx, const struct kiln_tel_reading *r);

/* Something the hardware reported once, rather than a reading: an NVIDIA
 * XID. Pointers are valid during the callback only. */
struct kiln_tel_event {
  const char *source; /* filled by the sampler */
  const char *hwid;   /* the part: a GPU's bus id "0000:1b:00.0" */
  const char *kind;   /* "xid" */
  unsigned long long code;
  const char *text; /* "GPU has fallen off the bus" */
};

typedef void (*kiln_tel_event_fn)(void *ctx, const struct kiln_tel_event *e);

struct kiln_tel_source {
  const char *name;    /* "sensors" */
  const char *summary; /* one line */
  /* Finds the sensors. NULL, with one line in why, when there are none
   * ("no hwmon chips found (libsensors saw none)"). Open, it may still
   * leave a warning in why (a configuration line libsensors ignored). */
  void *(*open)(char *why, size_t n);
  /* Reads every sensor once and emits each reading it could read (an
   * unreadable or malformed one is skipped). Returns the number emitted. */
  size_t (*sample)(void *state, kiln_tel_emit_fn emit, void *ctx);
  void (*close)(void *state);
  /* Optional (NULL): emits the events that came since the last call,
   * without waiting. Returns how many. */
  size_t (*events)(void *state, kiln_tel_event_fn emit, void *ctx);
  /* sample() may wait on something outside the machine (a BMC): it runs in
   * a thread of its own, never in the caller's. */
  bool blocking;
  /* Optional (NULL): after a sample() that emitted nothing, why
   * ("connection timeout (no answer within 2 s)"). */
  void (*failure)(void *state, char *why, size_t n);
  /* Optional (NULL): what it reads, for messages ("BMC 10.0.0.5"); the
   * text lives as long as state. */
  const char *(*where)(void *state);
};

extern const struct kiln_tel_source kiln_tel_sensors; /* telemetry_sensors.c */
extern const struct kiln_tel_source kiln_tel_edac;    /* telemetry_edac.c */
extern const struct kiln_tel_source kiln_tel_cpu;     /* telemetry_cpu.c */
extern const struct kiln_tel_source kiln_tel_ipmi;    /* telemetry_ipmi.c */
extern const struct kiln_tel_source kiln_tel_nvml;    /* telemetry_nvml.c */

/* The registry, in sampling order; *n gets its length. */
const struct kiln_tel_source *const *kiln_tel_sources(size_t *n);
const struct kiln_tel_source *kiln_tel_source_find(const char *name);

/* The sampler. */
#define KILN_TEL_MAX_SOURCES 8

/* The longest a blocking source's sample may take before the source counts
 * as not answering (kiln_telemetry_silent); FreeIPMI gives up on a silent
 * BMC after 2 s. */
#define KILN_TEL_TIMEOUT 3.0

struct kiln_tel_worker; /* the thread of a blocking source (telemetry.c) */

struct kiln_tel_open {
  const struct kiln_tel_source *src;
  void *state;                    /* NULL: not open, see why */
  char why[256];                  /* why not open; when open, "" or a warning */
  size_t readings;                /* emitted by the last sample */
  struct kiln_tel_worker *worker; /* blocking sources; owns state then */
  char where[160];                /* the source's where(), else its name */
};

struct kiln_telemetry {
  struct kiln_tel_open src[KILN_TEL_MAX_SOURCES];
  size_t n_src;
  double last_cost; /* seconds the last kiln_telemetry_sample took */
};

/* Opens the sources named in `only` (comma-separated, e.g. "edac,cpu"), or
 * every registered one when only is NULL or "". Returns how many opened;
 * the others keep their why (for a SKIP note or the console). */
size_t kiln_telemetry_open(struct kiln_telemetry *tel, const char *only);
/* Samples every open source: each reading goes to emit (which may be
 * NULL). t is the caller's clock (monotonic for watches).
 * A blocking source is not waited for: its readings are those of its
 * thread's last finished sample not yet handed on (given time t), and its
 * thread is asked for the next one unless it is still busy. Returns the
 * number of readings. */
size_t kiln_telemetry_sample(struct kiln_telemetry *tel, double t,
                             kiln_tel_emit_fn emit, void *ctx);
/* Waits until no blocking source has a sample under way, at most timeout
 * seconds (for a run's last sample, and tests). False when one still has. */
bool kiln_telemetry_wait(struct kiln_telemetry *tel, double timeout);
/* Whether blocking source src[i] is not answering: its last sample failed
 * or emitted nothing, or one has been under way for over KILN_TEL_TIMEOUT
 * seconds. Then why gets the cause (its failure(), or "no answer for 4 s")
 * and *since the monotonic time of its last good sample (or of its open).
 * False for a source that answers, or is not open or not blocking. */
bool kiln_telemetry_silent(const struct kiln_telemetry *tel, size_t i,
                           double *since, char *why, size_t n);
/* Polls every open source's events (kiln_tel_source.events); returns how
 * many came. */
size_t kiln_telemetry_events(struct kiln_telemetry *tel, kiln_tel_event_fn emit,
                             void *ctx);
void kiln_telemetry_close(struct kiln_telemetry *tel);

/* telemetry.csv: "timestamp,source,sensor,label,value,unit", timestamp
 * RFC 3339 UTC (epoch seconds given); sensor the reading's stable id
 * ("nct6798-isa-0a20/fan1"), label what is printed on the board ("FAN1",
 * the name every other report gives), or, for a sensor without a label,
 * the sensor's own id again; value full precision (empty when unreadable);
 * fields quoted (RFC 4180) when they need it. */
void kiln_tel_csv_header(FILE *f);
void kiln_tel_csv_row(FILE *f, double epoch, const struct kiln_tel_reading *r);

/* For source implementations. */
/* snprintf for paths: false when the result does not fit in n. */
bool kiln_tel_path(char *buf, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Reads a small text file: its first line, trailing whitespace dropped,
 * control bytes shown as '?'. Returns false when it cannot be read. */
bool kiln_tel_read_text(const char *path, char *buf, size_t n);
/* Reads an unsigned decimal integer file ("1234\n"); false when unreadable
 * or malformed (anything but digits and trailing whitespace). */
bool kiln_tel_read_u64(const char *path, uint64_t *v);
/* The numbers N of the entries "<prefix>N" in dir (N decimal, nothing
 * after it), sorted; *out is malloc'd (free it), the count returned. */
size_t kiln_tel_numbered(const char *dir, const char *prefix, int **out);
/* malloc'd label for people: valid UTF-8, controls shown as '?', trimmed. */
char *kiln_tel_clean_label(const char *s);

/* A source whose readings are integer files read each sample (cpufreq,
 * thermal-throttle and EDAC counters): its open() fills a set, and the set
 * is its state, sampled and closed by the functions below. */
struct kiln_tel_file {
  char *path, *id, *label;
  enum kiln_tel_kind kind;
  double divisor;  /* the reading is the file's number / divisor (kHz: 1000) */
  double min, max; /* the reading's limits, or NaN */
};
struct kiln_tel_files {
  struct kiln_tel_file *f;
  size_t n, cap;
};
/* Adds path (copied) as a reading of kind with id and label (malloc'd: the
 * set takes them); divisor 1, no limits. Returns the new entry, valid until
 * the next add. */
struct kiln_tel_file *kiln_tel_files_add(struct kiln_tel_files *set,
                                         const char *path,
                                         enum kiln_tel_kind kind, char *id,
                                         char *label);
/* kiln_tel_source.sample for a set: a reading of each file that reads as
 * an unsigned integer now (kiln_tel_read_u64); the others are passed. */
size_t kiln_tel_files_sample(void *set, kiln_tel_emit_fn emit, void *ctx);
/* kiln_tel_source.close for a set made with kiln_xcalloc (NULL: nothing). */
void kiln_tel_files_close(void *set);

#endif
