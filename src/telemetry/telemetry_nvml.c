/* Telemetry source "nvml": every GPU the NVIDIA driver knows, through NVML
 * (loaded at run time, see kiln/nvml.h). Per GPU, ids named by its PCI bus
 * id: "gpu0000:1b:00.0/temp" (C, the slowdown threshold as max),
 * ".../power" (W), ".../sm_clock" and ".../mem_clock" (MHz),
 * ".../ecc_corrected" and ".../ecc_uncorrected" (volatile counts),
 * ".../pcie_replay" (count), ".../slowdown_reasons" (how many of the
 * reasons of the GPU protecting itself, KILN_NVML_CLOCKS_PROTECTING: HW
 * slowdown, HW thermal, SW thermal and power brake, are active),
 * ".../clock_event_reasons" (the reason bits themselves),
 * ".../nvlink_crc" (CRC flit and data errors over all links) and
 * ".../nvlink_replay" (replays and recoveries). A reading the driver does
 * not give is left out. Critical XIDs arrive as events (an NVML event set
 * registered at open, polled without waiting). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "kiln/nvml.h"
#include "kiln/telemetry.h"
#include "kiln/textutil.h"

enum metric {
  M_TEMP,
  M_POWER,
  M_SM_CLOCK,
  M_MEM_CLOCK,
  M_ECC_CE,
  M_ECC_UE,
  M_PCIE_REPLAY,
  M_SLOWDOWNS,
  M_REASONS,
  M_NVLINK_CRC,
  M_NVLINK_REPLAY,
  M_COUNT,
};

static const struct {
  const char *suffix, *label;
  enum kiln_tel_kind kind;
} metrics[M_COUNT] = {
    [M_TEMP] = {"temp", "temp", KILN_TEL_TEMP_C},
    [M_POWER] = {"power", "power", KILN_TEL_POWER_W},
    [M_SM_CLOCK] = {"sm_clock", "SM clock", KILN_TEL_FREQ_MHZ},
    [M_MEM_CLOCK] = {"mem_clock", "memory clock", KILN_TEL_FREQ_MHZ},
    [M_ECC_CE] = {"ecc_corrected", "ECC corrected", KILN_TEL_COUNT},
    [M_ECC_UE] = {"ecc_uncorrected", "ECC uncorrected", KILN_TEL_COUNT},
    [M_PCIE_REPLAY] = {"pcie_replay", "PCIe replays", KILN_TEL_COUNT},
    [M_SLOWDOWNS] = {"slowdown_reasons", "slowdown reasons", KILN_TEL_COUNT},
    [M_REASONS] = {"clock_event_reasons", "clock-event reasons",
                   KILN_TEL_COUNT},
    [M_NVLINK_CRC] = {"nvlink_crc", "NVLink CRC errors", KILN_TEL_COUNT},
    [M_NVLINK_REPLAY] = {"nvlink_replay", "NVLink replays and recoveries",
                         KILN_TEL_COUNT},
};

struct gpu {
  kiln_nvml_device dev;
  char bus[32];
  char *id[M_COUNT], *label[M_COUNT];
  double temp_max; /* slowdown threshold, NaN when not given */
};

struct nvml_state {
  struct kiln_nvml *nv;
  kiln_nvml_event_set events; /* critical XIDs, or NULL */
  struct gpu *gpu;
  size_t n;
};

static void nvml_close(void *state) {
  struct nvml_state *st = state;
  if (!st)
    return;
  for (size_t i = 0; i < st->n; i++)
    for (int m = 0; m < M_COUNT; m++) {
      free(st->gpu[i].id[m]);
      free(st->gpu[i].label[m]);
    }
  free(st->gpu);
  if (st->events && st->nv->event_set_free)
    st->nv->event_set_free(st->events);
  kiln_nvml_close(st->nv);
  free(st);
}

/* Registers every GPU that can report them for critical XIDs. A driver
 * without events leaves a warning in why (the source still samples). */
static void watch_xids(struct nvml_state *st, char *why, size_t n) {
  struct kiln_nvml *nv = st->nv;
  if (!nv->event_set_create || !nv->device_register_events ||
      !nv->event_set_wait || !nv->event_set_free) {
    snprintf(why, n,
             "NVML: XID events not supported by this driver: XIDs "
             "are not watched");
    return;
  }
  kiln_nvml_return rc = nv->event_set_create(&st->events);
  if (rc != KILN_NVML_SUCCESS) {
    snprintf(why, n, "NVML: cannot watch XIDs: nvmlEventSetCreate: %s",
             kiln_nvml_error(nv, rc));
    st->events = NULL;
    return;
  }
  size_t watched = 0;
  for (size_t i = 0; i < st->n; i++) {
    unsigned long long types = KILN_NVML_EVENT_XID_CRITICAL_ERROR;
    if (nv->device_get_supported_event_types &&
        nv->device_get_supported_event_types(st->gpu[i].dev, &types) ==
            KILN_NVML_SUCCESS &&
        !(types & KILN_NVML_EVENT_XID_CRITICAL_ERROR))
      continue;
    watched += nv->device_register_events(st->gpu[i].dev,
                                          KILN_NVML_EVENT_XID_CRITICAL_ERROR,
                                          st->events) == KILN_NVML_SUCCESS;
  }
  if (watched < st->n)
    snprintf(why, n, "NVML: XIDs watched on %zu of %zu GPUs", watched, st->n);
}

static void *nvml_open(char *why, size_t n) {
  if (n)
    why[0] = '\0';
  struct kiln_nvml *nv = kiln_nvml_open(why, n);
  if (!nv)
    return NULL;
  if (!nv->device_get_count || !nv->device_get_handle_by_index ||
      !nv->device_get_pci_info) {
    snprintf(why, n,
             "NVML: listing GPUs (nvmlDeviceGetCount, "
             "nvmlDeviceGetHandleByIndex, nvmlDeviceGetPciInfo_v3) not "
             "supported by this driver");
    kiln_nvml_close(nv);
    return NULL;
  }
  unsigned int count = 0;
  kiln_nvml_return rc = nv->device_get_count(&count);
  if (rc != KILN_NVML_SUCCESS || count == 0) {
    snprintf(why, n, "NVML: %s",
             rc != KILN_NVML_SUCCESS ? kiln_nvml_error(nv, rc)
                                     : "the driver sees no GPU");
    kiln_nvml_close(nv);
    return NULL;
  }
  if (count > 4096) {
    /* No machine has that many: a broken driver library, not an
     * allocation to attempt. */
    snprintf(why, n, "NVML: the driver claims %u GPUs; not believed", count);
    kiln_nvml_close(nv);
    return NULL;
  }
  struct nvml_state *st = kiln_xcalloc(1, sizeof *st);
  st->nv = nv;
  st->gpu = kiln_xcalloc(count, sizeof *st->gpu);
  for (unsigned int i = 0; i < count; i++) {
    kiln_nvml_device dev = NULL;
    struct kiln_nvml_pci_info pci = {0};
    if (nv->device_get_handle_by_index(i, &dev) != KILN_NVML_SUCCESS ||
        nv->device_get_pci_info(dev, &pci) != KILN_NVML_SUCCESS)
      continue;
    char bus[32];
    kiln_nvml_bus_id(&pci, bus, sizeof bus);
    struct gpu *g = &st->gpu[st->n++];
    g->dev = dev;
    snprintf(g->bus, sizeof g->bus, "%s", bus);
    g->temp_max = NAN;
    unsigned int t;
    if (nv->device_get_temperature_threshold &&
        nv->device_get_temperature_threshold(
            dev, KILN_NVML_TEMP_THRESHOLD_SLOWDOWN, &t) == KILN_NVML_SUCCESS)
      g->temp_max = t;
    for (int m = 0; m < M_COUNT; m++) {
      g->id[m] = kiln_strdup_printf("gpu%s/%s", bus, metrics[m].suffix);
      g->label[m] = kiln_strdup_printf("GPU %s %s", bus, metrics[m].label);
    }
  }
  if (st->n == 0) {
    snprintf(why, n, "NVML: %u GPU%s, none answering", count,
             count == 1 ? "" : "s");
    nvml_close(st);
    return NULL;
  }
  watch_xids(st, why, n);
  return st;
}

/* One metric of one GPU; false when the driver does not give it. */
static bool read_metric(const struct kiln_nvml *nv, kiln_nvml_device dev,
                        enum metric m, double *v) {
  unsigned int u = 0;
  unsigned long long ull = 0;
  kiln_nvml_return rc = KILN_NVML_ERROR_NOT_SUPPORTED;
  switch (m) {
  case M_TEMP:
    if (nv->device_get_temperature)
      rc = nv->device_get_temperature(dev, KILN_NVML_TEMPERATURE_GPU, &u);
    *v = u;
    break;
  case M_POWER:
    if (nv->device_get_power_usage)
      rc = nv->device_get_power_usage(dev, &u);
    *v = u / 1000.0;
    break;
  case M_SM_CLOCK:
  case M_MEM_CLOCK:
    if (nv->device_get_clock_info)
      rc = nv->device_get_clock_info(
          dev, m == M_SM_CLOCK ? KILN_NVML_CLOCK_SM : KILN_NVML_CLOCK_MEM, &u);
    *v = u;
    break;
  case M_ECC_CE:
  case M_ECC_UE:
    if (nv->device_get_total_ecc_errors)
      rc = nv->device_get_total_ecc_errors(dev,
                                           m == M_ECC_CE
                                               ? KILN_NVML_ERROR_CORRECTED
                                               : KILN_NVML_ERROR_UNCORRECTED,
                                           KILN_NVML_VOLATILE_ECC, &ull);
    *v = (double)ull;
    break;
  case M_PCIE_REPLAY:
    if (nv->device_get_pcie_replay_counter)
      rc = nv->device_get_pcie_replay_counter(dev, &u);
    *v = u;
    break;
  case M_SLOWDOWNS:
    if (nv->device_get_clocks_event_reasons)
      rc = nv->device_get_clocks_event_reasons(dev, &ull);
    *v = 0;
    for (size_t i = 0; i < KILN_NVML_CLOCK_REASONS; i++)
      *v += kiln_nvml_clock_reasons[i].protecting &&
            (ull & kiln_nvml_clock_reasons[i].bit);
    break;
  case M_REASONS:
    if (nv->device_get_clocks_event_reasons)
      rc = nv->device_get_clocks_event_reasons(dev, &ull);
    *v = (double)ull;
    break;
  case M_NVLINK_CRC:
  case M_NVLINK_REPLAY: {
    int a = m == M_NVLINK_CRC ? KILN_NVML_NVLINK_ERROR_DL_CRC_FLIT
                              : KILN_NVML_NVLINK_ERROR_DL_REPLAY;
    int b = m == M_NVLINK_CRC ? KILN_NVML_NVLINK_ERROR_DL_CRC_DATA
                              : KILN_NVML_NVLINK_ERROR_DL_RECOVERY;
    unsigned long long x = 0, y = 0;
    rc = kiln_nvml_nvlink_errors(nv, dev, a, &x);
    if (rc == KILN_NVML_SUCCESS)
      rc = kiln_nvml_nvlink_errors(nv, dev, b, &y);
    *v = (double)(x + y);
    break;
  }
  case M_COUNT: break;
  }
  return rc == KILN_NVML_SUCCESS;
}

static size_t nvml_sample(void *state, kiln_tel_emit_fn emit, void *ctx) {
  struct nvml_state *st = state;
  size_t n = 0;
  for (size_t i = 0; i < st->n; i++) {
    struct gpu *g = &st->gpu[i];
    for (int m = 0; m < M_COUNT; m++) {
      double v;
      if (!read_metric(st->nv, g->dev, (enum metric)m, &v))
        continue;
      struct kiln_tel_reading r = {
          .id = g->id[m],
          .label = g->label[m],
          .kind = metrics[m].kind,
          .value = v,
          .min = NAN,
          .max = m == M_TEMP ? g->temp_max : NAN,
          .crit = NAN,
      };
      emit(ctx, &r);
      n++;
    }
  }
  return n;
}

/* Every XID that came since the last poll; never waits. */
static size_t nvml_events(void *state, kiln_tel_event_fn emit, void *ctx) {
  struct nvml_state *st = state;
  if (!st->events)
    return 0;
  size_t n = 0;
  /* Bounded: a GPU spewing XIDs must not hold up the sampler. */
  while (n < 64) {
    struct kiln_nvml_event_data data = {0};
    if (st->nv->event_set_wait(st->events, &data, 0) != KILN_NVML_SUCCESS)
      break;
    if (!(data.event_type & KILN_NVML_EVENT_XID_CRITICAL_ERROR))
      continue;
    const char *bus = "unknown GPU";
    for (size_t i = 0; i < st->n; i++)
      if (st->gpu[i].dev == data.device)
        bus = st->gpu[i].bus;
    struct kiln_tel_event e = {.hwid = bus,
                               .kind = "xid",
                               .code = data.event_data,
                               .text = kiln_nvml_xid_text(data.event_data)};
    emit(ctx, &e);
    n++;
  }
  return n;
}

const struct kiln_tel_source kiln_tel_nvml = {
    .name = "nvml",
    .summary = "NVIDIA GPUs through NVML: temperature, power, clocks, ECC, "
               "PCIe replays, slowdowns",
    .open = nvml_open,
    .sample = nvml_sample,
    .close = nvml_close,
    .events = nvml_events,
};
