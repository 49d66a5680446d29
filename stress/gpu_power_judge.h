/* gpu.power's host side (stress/gpu_power_judge.c), apart from the CUDA load:
 * the judge that turns NVML samples into a verdict, the NVML read of one
 * sample, the parameters' checks, and the step's loop, which drives a load
 * through callbacks so that tests can run it with a fake load and the fake
 * NVML. Plain C, built with and without CUDA. */
#ifndef KILN_GPU_POWER_JUDGE_H
#define KILN_GPU_POWER_JUDGE_H

#include <stdbool.h>
#include <stddef.h>

#include "kiln/nvml.h"

struct kiln_step;

/* One NVML sample. NaN marks a value that could not be read; NaN or
 * infinite values are left out of every figure. */
struct kiln_power_sample {
  double t;       /* seconds since the load started */
  double power_w; /* board power draw */
  double limit_w; /* enforced power limit */
  double temp_c;  /* GPU temperature */
  double sm_mhz;  /* SM clock */
  bool have_reasons;
  unsigned long long reasons; /* clock-event reasons (KILN_NVML_CLOCKS_*) */
  bool have_energy;
  unsigned long long energy_mj; /* total energy since the driver loaded */
};

struct kiln_power_config {
  double warmup; /* seconds from the load's start left out of judging */
  double hold;   /* protecting reasons held this long (or longer) fail */
  double share;  /* mean power at least share x limit, in (0, 1] */
};

enum kiln_power_mean_source {
  KILN_POWER_MEAN_NONE,    /* no power reading after the warmup */
  KILN_POWER_MEAN_ENERGY,  /* energy counter: (E_last - E_first) / time */
  KILN_POWER_MEAN_SAMPLES, /* mean of the power readings */
};

/* A run of consecutive samples with a condition (unread samples neither
 * extend nor end it) that lasted at least the hold: the first such run. */
struct kiln_power_episode {
  bool fired;
  unsigned count;             /* runs that lasted the hold */
  double since;               /* the first run's first sample, load time */
  double held;                /* its length, first to last sample */
  unsigned long long reasons; /* the reasons seen during it */
  double temp_max_c;          /* its highest temperature (NaN: none read) */
};

struct kiln_power_verdict {
  size_t n_samples; /* all */
  size_t n_judged;  /* at or after the warmup */
  size_t n_power;   /* judged, with a power reading */
  enum kiln_power_mean_source mean_from;
  double mean_w;         /* the judged mean (NaN with MEAN_NONE) */
  double sample_mean_w;  /* mean of the power readings (NaN: none) */
  double energy_mean_w;  /* from the energy counter (NaN: not usable) */
  char energy_note[160]; /* why the energy counter was not used */
  double min_w, max_w;   /* power readings */
  double limit_w;        /* mean of the enforced limit readings (NaN) */
  double share;          /* mean_w / limit_w (NaN when either is) */
  double temp_max_c;     /* NaN when none read */
  double sm_mhz_mean;    /* NaN when none read */
  size_t n_reasons;      /* judged samples with reasons read */
  size_t n_power_cap;    /* ... with the SW power cap among them */
  unsigned long long reasons_seen;   /* OR of the judged samples' reasons */
  unsigned long long warmup_reasons; /* OR during the warmup */
  bool power_low;                    /* mean_w < share x limit_w */
  /* KILN_NVML_CLOCKS_PROTECTING, held for the hold: the thermal ones and
   * HW slowdown, and the HW power brake apart */
  struct kiln_power_episode thermal;
  struct kiln_power_episode brake;
};

/* Judges samples (in time order) under cfg. */
void kiln_power_judge(const struct kiln_power_sample *samples, size_t n,
                      const struct kiln_power_config *cfg,
                      struct kiln_power_verdict *v);

/* Checks the parameters against the step's duration: false with the
 * reason in why. The load must outlast the warmup by a second at least. */
bool kiln_power_check_config(const struct kiln_power_config *cfg,
                             double duration, char *why, size_t n);

/* Reads one sample of dev at load time t; what NVML cannot read is NaN
 * (have_* false). */
void kiln_power_sample_read(const struct kiln_nvml *nv, kiln_nvml_device dev,
                            double t, struct kiln_power_sample *out);

/* The load gpu.power puts on the GPU, as callbacks on ctx. Each returns 0,
 * 1 with a SKIP reason in why, or -1 with an ERROR reason in why. */
struct kiln_power_load {
  void *ctx;
  /* Prepares the load on the GPU at bus_id; a line for the log in info. */
  int (*open)(void *ctx, const char *bus_id, char *info, size_t info_n,
              char *why, size_t n);
  /* Keeps the GPU busy for about one short launch (tens of ms) and
   * returns. */
  int (*step)(void *ctx, char *why, size_t n);
  /* Waits for the GPU to finish; what it did in summary (for the log). */
  int (*finish)(void *ctx, char *summary, size_t summary_n, char *why,
                size_t n);
  void (*close)(void *ctx);
};

/* gpu.power's run: parameters, NVML, the load for the step's duration with
 * a sample every `interval` seconds, then the verdict as measurements and
 * diagnoses. */
void kiln_power_run(struct kiln_step *s, const struct kiln_power_load *load,
                    double interval);

#endif
