/* NVML loader: dlopen, a table of symbols (each with the older names to
 * fall back on), then nvmlInit. */
#include "kiln/nvml.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/textutil.h"

#define DEFAULT_LIB "libnvidia-ml.so.1"

typedef kiln_nvml_return (*fn_void)(void);
typedef kiln_nvml_return (*fn_handle_by_bus_id)(const char *,
                                                kiln_nvml_device *);
typedef kiln_nvml_return (*fn_device_string)(kiln_nvml_device, char *,
                                             unsigned int);
typedef const char *(*fn_error_string)(kiln_nvml_return);

/* The first of names (newest first, NULL-terminated) the library has. On
 * POSIX the void * from dlsym converts to a function pointer. */
static void *lookup(void *lib, const char *const *names, const char **used) {
  for (size_t i = 0; names[i]; i++) {
    void *p = dlsym(lib, names[i]);
    if (p) {
      if (used)
        *used = names[i];
      return p;
    }
  }
  return NULL;
}

#define RESOLVE(field, type, ...)                                              \
  do {                                                                         \
    static const char *const names_[] = {__VA_ARGS__, NULL};                   \
    void *p_ = lookup(lib, names_, NULL);                                      \
    if (!p_) {                                                                 \
      missing = names_[0];                                                     \
      goto fail;                                                               \
    }                                                                          \
    nv->field = (type)p_;                                                      \
  } while (0)

/* Optional: the first of names present, else NULL. Stored through
 * memcpy: on POSIX a function pointer has the size and representation of
 * the void * dlsym returns, so this needs no cast per field type. */
_Static_assert(sizeof(void *) == sizeof(fn_void),
               "function pointers must fit dlsym's void *");
#define OPTIONAL(field, ...)                                                   \
  do {                                                                         \
    static const char *const names_[] = {__VA_ARGS__, NULL};                   \
    void *p_ = lookup(lib, names_, NULL);                                      \
    if (p_)                                                                    \
      memcpy(&nv->field, &p_, sizeof nv->field);                               \
  } while (0)

#define OPTIONAL_USED(field, used, ...)                                        \
  do {                                                                         \
    static const char *const names_[] = {__VA_ARGS__, NULL};                   \
    void *p_ = lookup(lib, names_, &nv->used);                                 \
    if (p_)                                                                    \
      memcpy(&nv->field, &p_, sizeof nv->field);                               \
    else                                                                       \
      nv->used = NULL;                                                         \
  } while (0)

static void resolve_optional(void *lib, struct kiln_nvml *nv) {
  OPTIONAL(system_get_driver_version, "nvmlSystemGetDriverVersion");
  OPTIONAL(system_get_nvml_version, "nvmlSystemGetNVMLVersion");
  OPTIONAL(system_get_cuda_driver_version, "nvmlSystemGetCudaDriverVersion_v2",
           "nvmlSystemGetCudaDriverVersion");
  OPTIONAL(device_get_count, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount");
  OPTIONAL(device_get_handle_by_index, "nvmlDeviceGetHandleByIndex_v2",
           "nvmlDeviceGetHandleByIndex");
  OPTIONAL(device_get_pci_info, "nvmlDeviceGetPciInfo_v3");
  OPTIONAL(device_get_persistence_mode, "nvmlDeviceGetPersistenceMode");
  OPTIONAL(device_get_ecc_mode, "nvmlDeviceGetEccMode");
  OPTIONAL(device_get_retired_pages_v2, "nvmlDeviceGetRetiredPages_v2");
  OPTIONAL(device_get_retired_pages, "nvmlDeviceGetRetiredPages");
  OPTIONAL(device_get_retired_pages_pending_status,
           "nvmlDeviceGetRetiredPagesPendingStatus");
  OPTIONAL(device_get_remapped_rows, "nvmlDeviceGetRemappedRows");
  OPTIONAL(device_validate_inforom, "nvmlDeviceValidateInforom");
  OPTIONAL(device_get_mig_mode, "nvmlDeviceGetMigMode");
  OPTIONAL_USED(device_get_compute_running_processes,
                compute_running_processes_used,
                "nvmlDeviceGetComputeRunningProcesses_v3",
                "nvmlDeviceGetComputeRunningProcesses_v2");
  OPTIONAL_USED(device_get_clocks_event_reasons, clocks_event_reasons_used,
                "nvmlDeviceGetCurrentClocksEventReasons",
                "nvmlDeviceGetCurrentClocksThrottleReasons");
  OPTIONAL(device_get_curr_pcie_link_generation,
           "nvmlDeviceGetCurrPcieLinkGeneration");
  OPTIONAL(device_get_curr_pcie_link_width, "nvmlDeviceGetCurrPcieLinkWidth");
  OPTIONAL(device_get_max_pcie_link_generation,
           "nvmlDeviceGetMaxPcieLinkGeneration");
  OPTIONAL(device_get_max_pcie_link_width, "nvmlDeviceGetMaxPcieLinkWidth");
  OPTIONAL(device_get_temperature, "nvmlDeviceGetTemperature");
  OPTIONAL(device_get_temperature_threshold,
           "nvmlDeviceGetTemperatureThreshold");
  OPTIONAL(device_get_power_usage, "nvmlDeviceGetPowerUsage");
  OPTIONAL(device_get_enforced_power_limit, "nvmlDeviceGetEnforcedPowerLimit");
  OPTIONAL(device_get_clock_info, "nvmlDeviceGetClockInfo");
  OPTIONAL(device_get_total_ecc_errors, "nvmlDeviceGetTotalEccErrors");
  OPTIONAL(device_get_pcie_replay_counter, "nvmlDeviceGetPcieReplayCounter");
  OPTIONAL(device_get_max_clock_info, "nvmlDeviceGetMaxClockInfo");
  OPTIONAL(device_get_total_energy_consumption,
           "nvmlDeviceGetTotalEnergyConsumption");
  OPTIONAL(device_get_cuda_compute_capability,
           "nvmlDeviceGetCudaComputeCapability");
  OPTIONAL(device_get_nvlink_state, "nvmlDeviceGetNvLinkState");
  OPTIONAL(device_get_nvlink_error_counter, "nvmlDeviceGetNvLinkErrorCounter");
  OPTIONAL(device_get_nvlink_remote_pci_info,
           "nvmlDeviceGetNvLinkRemotePciInfo_v2");
  OPTIONAL(device_get_gpu_fabric_info_v, "nvmlDeviceGetGpuFabricInfoV");
  OPTIONAL(device_get_gpu_fabric_info, "nvmlDeviceGetGpuFabricInfo");
  OPTIONAL(event_set_create, "nvmlEventSetCreate");
  OPTIONAL(device_get_supported_event_types,
           "nvmlDeviceGetSupportedEventTypes");
  OPTIONAL(device_register_events, "nvmlDeviceRegisterEvents");
  OPTIONAL(event_set_wait, "nvmlEventSetWait_v2", "nvmlEventSetWait");
  OPTIONAL(event_set_free, "nvmlEventSetFree");
}

kiln_nvml_return kiln_nvml_device_by_bus(const struct kiln_nvml *nv,
                                         const char *bus_id,
                                         kiln_nvml_device *dev) {
  *dev = NULL;
  return nv->device_get_handle_by_pci_bus_id(bus_id, dev);
}

kiln_nvml_return kiln_nvml_nvlink_active(const struct kiln_nvml *nv,
                                         kiln_nvml_device dev,
                                         unsigned int *active) {
  *active = 0;
  if (!nv->device_get_nvlink_state)
    return KILN_NVML_ERROR_NOT_SUPPORTED;
  kiln_nvml_return first = KILN_NVML_SUCCESS;
  bool any = false;
  for (unsigned int l = 0; l < KILN_NVML_NVLINK_MAX_LINKS; l++) {
    int on = 0;
    kiln_nvml_return rc = nv->device_get_nvlink_state(dev, l, &on);
    if (rc == KILN_NVML_SUCCESS) {
      any = true;
      *active += on == KILN_NVML_FEATURE_ENABLED;
    } else if (rc != KILN_NVML_ERROR_NOT_SUPPORTED &&
               rc != KILN_NVML_ERROR_INVALID_ARGUMENT &&
               first == KILN_NVML_SUCCESS) {
      first = rc;
    }
  }
  /* A GPU without NVLink answers NOT_SUPPORTED for every link: 0 links. */
  return any ? KILN_NVML_SUCCESS : first;
}

kiln_nvml_return kiln_nvml_nvlink_errors(const struct kiln_nvml *nv,
                                         kiln_nvml_device dev, int counter,
                                         unsigned long long *sum) {
  *sum = 0;
  if (!nv->device_get_nvlink_error_counter)
    return KILN_NVML_ERROR_NOT_SUPPORTED;
  bool any = false;
  for (unsigned int l = 0; l < KILN_NVML_NVLINK_MAX_LINKS; l++) {
    unsigned long long v = 0;
    if (nv->device_get_nvlink_error_counter(dev, l, counter, &v) ==
        KILN_NVML_SUCCESS) {
      any = true;
      *sum += v;
    }
  }
  return any ? KILN_NVML_SUCCESS : KILN_NVML_ERROR_NOT_SUPPORTED;
}

_Static_assert(sizeof(struct kiln_nvml_gpu_fabric_info_v2) == 36,
               "nvmlGpuFabricInfo_v2_t is 36 bytes (version 0x02000024)");

kiln_nvml_return kiln_nvml_gpu_fabric(const struct kiln_nvml *nv,
                                      kiln_nvml_device dev, unsigned *state,
                                      kiln_nvml_return *status) {
  *state = KILN_NVML_GPU_FABRIC_STATE_NOT_SUPPORTED;
  *status = KILN_NVML_SUCCESS;
  kiln_nvml_return rc = KILN_NVML_ERROR_NOT_SUPPORTED;
  if (nv->device_get_gpu_fabric_info_v) {
    struct kiln_nvml_gpu_fabric_info_v2 info = {
        .version = KILN_NVML_GPU_FABRIC_INFO_V2};
    rc = nv->device_get_gpu_fabric_info_v(dev, &info);
    *state = info.state;
    *status = info.status;
  } else if (nv->device_get_gpu_fabric_info) {
    struct kiln_nvml_gpu_fabric_info info;
    memset(&info, 0, sizeof info);
    rc = nv->device_get_gpu_fabric_info(dev, &info);
    *state = info.state;
    *status = info.status;
  }
  return rc;
}

const char *kiln_nvml_fabric_state_name(unsigned state) {
  switch (state) {
  case KILN_NVML_GPU_FABRIC_STATE_NOT_SUPPORTED: return "not supported";
  case KILN_NVML_GPU_FABRIC_STATE_NOT_STARTED: return "not started";
  case KILN_NVML_GPU_FABRIC_STATE_IN_PROGRESS: return "in progress";
  case KILN_NVML_GPU_FABRIC_STATE_COMPLETED: return "completed";
  default: return "unknown";
  }
}

/* ---- clock-event reasons ---- */

const struct kiln_nvml_clock_reason
    kiln_nvml_clock_reasons[KILN_NVML_CLOCK_REASONS] = {
        {KILN_NVML_CLOCKS_GPU_IDLE, "GPU idle", false},
        {KILN_NVML_CLOCKS_APPLICATIONS_SETTING, "applications clocks setting",
         false},
        {KILN_NVML_CLOCKS_SW_POWER_CAP, "SW power cap", false},
        {KILN_NVML_CLOCKS_HW_SLOWDOWN, "HW slowdown", true},
        {KILN_NVML_CLOCKS_SYNC_BOOST, "sync boost", false},
        {KILN_NVML_CLOCKS_SW_THERMAL, "SW thermal slowdown", true},
        {KILN_NVML_CLOCKS_HW_THERMAL, "HW thermal slowdown", true},
        {KILN_NVML_CLOCKS_HW_POWER_BRAKE, "HW power brake slowdown", true},
        {KILN_NVML_CLOCKS_DISPLAY_SETTING, "display clock setting", false},
};

void kiln_nvml_clock_reasons_text(unsigned long long mask, char *out,
                                  size_t n) {
  if (!n)
    return;
  out[0] = '\0';
  if (!mask) {
    snprintf(out, n, "none");
    return;
  }
  size_t used = 0;
  unsigned long long known = 0;
  for (size_t i = 0; i < KILN_NVML_CLOCK_REASONS; i++) {
    known |= kiln_nvml_clock_reasons[i].bit;
    if (!(mask & kiln_nvml_clock_reasons[i].bit))
      continue;
    int w = snprintf(out + used, n - used, "%s%s", used ? ", " : "",
                     kiln_nvml_clock_reasons[i].name);
    if (w < 0 || (size_t)w >= n - used)
      return; /* truncated; snprintf terminated it */
    used += (size_t)w;
  }
  if (mask & ~known)
    snprintf(out + used, n - used, "%sother (0x%llx)", used ? ", " : "",
             mask & ~known);
}

void kiln_nvml_hold_init(struct kiln_nvml_hold *h, unsigned long long watch,
                         double hold) {
  memset(h, 0, sizeof *h);
  h->watch = watch;
  h->hold = hold;
}

bool kiln_nvml_hold_feed(struct kiln_nvml_hold *h, double t,
                         unsigned long long reasons) {
  unsigned long long bits = reasons & h->watch;
  if (!bits) {
    h->active = h->counted = h->in_first = false;
    return false;
  }
  if (!h->active) {
    h->active = true;
    h->counted = h->in_first = false;
    h->since = t;
    h->bits = 0;
    h->samples = 0;
  }
  h->bits |= bits;
  h->samples++;
  double held = t - h->since;
  if (!(held >= h->hold))
    return false;
  bool now = !h->counted;
  if (now) {
    h->counted = true;
    h->in_first = h->held++ == 0;
  }
  if (h->in_first) {
    h->first_since = h->since;
    h->first_for = held;
    h->first_bits = h->bits;
    h->first_samples = h->samples;
  }
  return now;
}

void kiln_nvml_bus_id(const struct kiln_nvml_pci_info *pci, char *out,
                      size_t n) {
  unsigned int dom, bus, dev, fn;
  char tmp[sizeof pci->bus_id + 1];
  snprintf(tmp, sizeof tmp, "%.*s", (int)sizeof pci->bus_id, pci->bus_id);
  if (sscanf(tmp, "%x:%x:%x.%x", &dom, &bus, &dev, &fn) == 4)
    snprintf(out, n, "%04x:%02x:%02x.%x", dom & 0xffffu, bus & 0xffu,
             dev & 0xffu, fn & 0xfu);
  else
    snprintf(out, n, "%04x:%02x:%02x.0", pci->domain & 0xffffu,
             pci->bus & 0xffu, pci->device & 0xffu);
}

kiln_nvml_return kiln_nvml_retired_page_count(const struct kiln_nvml *nv,
                                              kiln_nvml_device dev, int cause,
                                              unsigned int *count) {
  *count = 0;
  if (!nv->device_get_retired_pages_v2 && !nv->device_get_retired_pages)
    return KILN_NVML_ERROR_NOT_SUPPORTED;
  /* Asked with a zero capacity: NVML answers the count, with SUCCESS or
   * INSUFFICIENT_SIZE when there are pages it had no room for. */
  unsigned int n = 0;
  kiln_nvml_return rc =
      nv->device_get_retired_pages_v2
          ? nv->device_get_retired_pages_v2(dev, cause, &n, NULL, NULL)
          : nv->device_get_retired_pages(dev, cause, &n, NULL);
  if (rc == KILN_NVML_SUCCESS || rc == KILN_NVML_ERROR_INSUFFICIENT_SIZE) {
    *count = n;
    return KILN_NVML_SUCCESS;
  }
  return rc;
}

struct kiln_nvml *kiln_nvml_open(char *why, size_t n) {
  kiln_nvml_return rc;
  return kiln_nvml_open_rc(&rc, why, n);
}

struct kiln_nvml *kiln_nvml_open_rc(kiln_nvml_return *rc_out, char *why,
                                    size_t n) {
  const char *name = getenv("KILN_NVML_LIB");
  if (!name || !*name)
    name = DEFAULT_LIB;
  dlerror();
  void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *e = dlerror();
    /* "No such file" is the common case and says nothing more. */
    if (!e || strstr(e, "No such file"))
      snprintf(why, n, "%s not found", name);
    else
      snprintf(why, n, "%s cannot be loaded: %s", name, e);
    *rc_out = KILN_NVML_ERROR_LIBRARY_NOT_FOUND;
    return NULL;
  }
  struct kiln_nvml *nv = kiln_xcalloc(1, sizeof *nv);
  nv->lib = lib;
  const char *missing = NULL;
  static const char *const init_names[] = {"nvmlInit_v2", "nvmlInit", NULL};
  const char *init_name = init_names[0];
  fn_void init = (fn_void)lookup(lib, init_names, &init_name);
  if (!init) {
    missing = init_names[0];
    goto fail;
  }
  RESOLVE(shutdown, fn_void, "nvmlShutdown");
  RESOLVE(device_get_handle_by_pci_bus_id, fn_handle_by_bus_id,
          "nvmlDeviceGetHandleByPciBusId_v2", "nvmlDeviceGetHandleByPciBusId");
  RESOLVE(device_get_name, fn_device_string, "nvmlDeviceGetName");
  RESOLVE(device_get_serial, fn_device_string, "nvmlDeviceGetSerial");
  RESOLVE(device_get_uuid, fn_device_string, "nvmlDeviceGetUUID");
  RESOLVE(error_string, fn_error_string, "nvmlErrorString");
  resolve_optional(lib, nv);
  kiln_nvml_return rc = init();
  if (rc != KILN_NVML_SUCCESS) {
    snprintf(why, n, "%s: %s", init_name, kiln_nvml_error(nv, rc));
    *rc_out = rc;
    dlclose(lib);
    free(nv);
    return NULL;
  }
  *rc_out = KILN_NVML_SUCCESS;
  return nv;
fail:
  snprintf(why, n, "%s: missing symbol %s", name, missing);
  *rc_out = KILN_NVML_ERROR_FUNCTION_NOT_FOUND;
  dlclose(lib);
  free(nv);
  return NULL;
}

void kiln_nvml_close(struct kiln_nvml *nv) {
  if (!nv)
    return;
  nv->shutdown();
  dlclose(nv->lib);
  free(nv);
}

const char *kiln_nvml_xid_text(unsigned long long xid) {
  static const struct {
    unsigned long long xid;
    const char *text;
  } known[] = {
      {13, "Graphics Engine Exception"},
      {31, "GPU memory page fault"},
      {32, "invalid or corrupted push buffer stream"},
      {43, "GPU stopped processing"},
      {45, "preemptive cleanup, due to previous errors"},
      {48, "double-bit ECC error"},
      {61, "internal micro-controller breakpoint/warning"},
      {62, "internal micro-controller halt"},
      {63, "ECC page retirement or row remapping recording event"},
      {64, "ECC page retirement or row remapper recording failure"},
      {69, "Graphics Engine class error"},
      {74, "NVLink error"},
      {79, "GPU has fallen off the bus"},
      {92, "high single-bit ECC error rate"},
      {94, "contained ECC error"},
      {95, "uncontained ECC error"},
      {119, "GSP RPC timeout"},
      {120, "GSP error"},
      {140, "unrecovered ECC error"},
  };
  for (size_t i = 0; i < sizeof known / sizeof *known; i++)
    if (known[i].xid == xid)
      return known[i].text;
  return "see NVIDIA's XID catalog";
}

const char *kiln_nvml_error(const struct kiln_nvml *nv, kiln_nvml_return rc) {
  const char *s = nv && nv->error_string ? nv->error_string(rc) : NULL;
  return s ? s : "unknown NVML error";
}
