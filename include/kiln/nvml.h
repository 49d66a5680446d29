/* NVML, the NVIDIA driver's management library, loaded at run time with
 * dlopen("libnvidia-ml.so.1") so that kiln builds and runs without the
 * driver. Only the functions kiln uses are declared here, with NVML's own
 * signatures and opaque handle types; add more to struct kiln_nvml (and its
 * table in src/hw/nvml.c) as modules need them.
 *
 * $KILN_NVML_LIB names another library to load (tests).
 * Layer: hw (src/hw/): uses core. */
#ifndef KILN_NVML_H
#define KILN_NVML_H

#include <stdbool.h>
#include <stddef.h>

/* nvmlReturn_t: an enum in NVML, an int in its ABI. */
typedef int kiln_nvml_return;
enum {
  KILN_NVML_SUCCESS = 0,
  KILN_NVML_ERROR_UNINITIALIZED = 1,
  KILN_NVML_ERROR_INVALID_ARGUMENT = 2,
  KILN_NVML_ERROR_NOT_SUPPORTED = 3,
  KILN_NVML_ERROR_NO_PERMISSION = 4,
  KILN_NVML_ERROR_NOT_FOUND = 6,
  KILN_NVML_ERROR_INSUFFICIENT_SIZE = 7,
  KILN_NVML_ERROR_DRIVER_NOT_LOADED = 9,
  KILN_NVML_ERROR_LIBRARY_NOT_FOUND = 12,
  KILN_NVML_ERROR_FUNCTION_NOT_FOUND = 13,
  KILN_NVML_ERROR_TIMEOUT = 10,
  KILN_NVML_ERROR_CORRUPTED_INFOROM = 14,
  KILN_NVML_ERROR_GPU_IS_LOST = 15,
  KILN_NVML_ERROR_UNKNOWN = 999,
};

/* nvmlDevice_t and nvmlEventSet_t: pointers to opaque structs. */
typedef struct kiln_nvml_device_st *kiln_nvml_device;
typedef struct kiln_nvml_event_set_st *kiln_nvml_event_set;

/* NVML_NVLINK_MAX_LINKS (Hopper and Blackwell headers). */
#define KILN_NVML_NVLINK_MAX_LINKS 18
/* nvmlNvLinkErrorCounter_t */
enum {
  KILN_NVML_NVLINK_ERROR_DL_REPLAY = 0,
  KILN_NVML_NVLINK_ERROR_DL_RECOVERY = 1,
  KILN_NVML_NVLINK_ERROR_DL_CRC_FLIT = 2,
  KILN_NVML_NVLINK_ERROR_DL_CRC_DATA = 3,
  KILN_NVML_NVLINK_ERROR_COUNT = 5,
};
/* nvmlEventType* bits. */
#define KILN_NVML_EVENT_XID_CRITICAL_ERROR 0x8ULL

/* nvmlEventData_t as nvmlEventSetWait_v2 fills it (the unversioned wait
 * fills the first three fields only). */
struct kiln_nvml_event_data {
  kiln_nvml_device device;
  unsigned long long event_type;
  unsigned long long event_data; /* the XID for XID events */
  unsigned int gpu_instance_id, compute_instance_id;
};

/* nvmlEnableState_t */
enum { KILN_NVML_FEATURE_DISABLED = 0, KILN_NVML_FEATURE_ENABLED = 1 };
/* nvmlPageRetirementCause_t */
enum {
  KILN_NVML_RETIRE_MULTIPLE_SBE = 0, /* multiple single-bit ECC errors */
  KILN_NVML_RETIRE_DBE = 1,          /* a double-bit ECC error */
};
/* nvmlTemperatureSensors_t and nvmlTemperatureThresholds_t */
enum { KILN_NVML_TEMPERATURE_GPU = 0 };
enum {
  KILN_NVML_TEMP_THRESHOLD_SHUTDOWN = 0,
  KILN_NVML_TEMP_THRESHOLD_SLOWDOWN = 1,
};
/* nvmlClockType_t */
enum {
  KILN_NVML_CLOCK_GRAPHICS = 0,
  KILN_NVML_CLOCK_SM = 1,
  KILN_NVML_CLOCK_MEM = 2,
};
/* nvmlMemoryErrorType_t and nvmlEccCounterType_t */
enum { KILN_NVML_ERROR_CORRECTED = 0, KILN_NVML_ERROR_UNCORRECTED = 1 };
enum { KILN_NVML_VOLATILE_ECC = 0, KILN_NVML_AGGREGATE_ECC = 1 };

/* nvmlClocksEventReason* (formerly nvmlClocksThrottleReason*) bits. */
#define KILN_NVML_CLOCKS_GPU_IDLE 0x1ULL
#define KILN_NVML_CLOCKS_APPLICATIONS_SETTING 0x2ULL
#define KILN_NVML_CLOCKS_SW_POWER_CAP 0x4ULL
#define KILN_NVML_CLOCKS_HW_SLOWDOWN 0x8ULL
#define KILN_NVML_CLOCKS_SYNC_BOOST 0x10ULL
#define KILN_NVML_CLOCKS_SW_THERMAL 0x20ULL
#define KILN_NVML_CLOCKS_HW_THERMAL 0x40ULL
#define KILN_NVML_CLOCKS_HW_POWER_BRAKE 0x80ULL
#define KILN_NVML_CLOCKS_DISPLAY_SETTING 0x100ULL

/* The reasons that mean the GPU is protecting itself: clocks slowed for
 * heat (HW or SW thermal), for a power excursion or an external signal
 * (HW slowdown), or by the system's power brake. NVML says HW slowdown
 * also fires for a moment on power-excursion protection and P-state
 * changes, so these are judged held (struct kiln_nvml_hold), never on one
 * sample. The others (idle, power cap, application clocks...) are the GPU
 * running as set. */
#define KILN_NVML_CLOCKS_PROTECTING                                            \
  (KILN_NVML_CLOCKS_HW_SLOWDOWN | KILN_NVML_CLOCKS_SW_THERMAL |                \
   KILN_NVML_CLOCKS_HW_THERMAL | KILN_NVML_CLOCKS_HW_POWER_BRAKE)

/* Every clock-event reason kiln knows, in bit order: one table for every
 * module and the telemetry. */
struct kiln_nvml_clock_reason {
  unsigned long long bit; /* KILN_NVML_CLOCKS_* */
  const char *name;       /* "HW slowdown" */
  bool protecting;        /* in KILN_NVML_CLOCKS_PROTECTING */
};
#define KILN_NVML_CLOCK_REASONS 9
extern const struct kiln_nvml_clock_reason
    kiln_nvml_clock_reasons[KILN_NVML_CLOCK_REASONS];

/* The names of the reasons in mask, in bit order, ", "-separated, bits
 * the table lacks as "other (0x...)"; "none" for 0. Truncated, always
 * terminated, when out is short. */
void kiln_nvml_clock_reasons_text(unsigned long long mask, char *out, size_t n);

/* Whether reasons were held, over samples fed in time order. A run is the
 * consecutive samples that each show at least one watched reason (a sample
 * without any ends it; an unread sample is not fed, and neither extends
 * nor ends it). A run has held once its last sample is `hold` seconds or
 * more after its first: with hold 0, one sample. */
struct kiln_nvml_hold {
  unsigned long long watch; /* the reasons watched */
  double hold;              /* seconds */
  /* the current run */
  bool active, counted;
  bool in_first; /* it is the first run that held */
  double since;
  unsigned long long bits; /* watched reasons seen in it */
  unsigned samples;
  /* runs that held: how many, and the first (kept up while it lasts) */
  unsigned held;
  double first_since, first_for;
  unsigned long long first_bits;
  unsigned first_samples;
};
void kiln_nvml_hold_init(struct kiln_nvml_hold *h, unsigned long long watch,
                         double hold);
/* One sample at t seconds. True when the current run has just held. */
bool kiln_nvml_hold_feed(struct kiln_nvml_hold *h, double t,
                         unsigned long long reasons);

/* NVSwitch fabric registration (HGX): nvmlGpuFabricState_t, an unsigned
 * char in NVML's structs. */
enum {
  KILN_NVML_GPU_FABRIC_STATE_NOT_SUPPORTED = 0,
  KILN_NVML_GPU_FABRIC_STATE_NOT_STARTED = 1,
  KILN_NVML_GPU_FABRIC_STATE_IN_PROGRESS = 2,
  KILN_NVML_GPU_FABRIC_STATE_COMPLETED = 3,
};
#define KILN_NVML_GPU_FABRIC_UUID_LEN 16
/* nvmlGpuFabricInfo_t, as the unversioned nvmlDeviceGetGpuFabricInfo
 * fills it. status is to be read only once state is COMPLETED. */
struct kiln_nvml_gpu_fabric_info {
  unsigned char cluster_uuid[KILN_NVML_GPU_FABRIC_UUID_LEN];
  kiln_nvml_return status;
  unsigned int clique_id;
  unsigned char state;
};
/* nvmlGpuFabricInfo_v2_t, for nvmlDeviceGetGpuFabricInfoV with version
 * set to KILN_NVML_GPU_FABRIC_INFO_V2 (NVML_STRUCT_VERSION: the size,
 * and the version in the top byte). */
struct kiln_nvml_gpu_fabric_info_v2 {
  unsigned int version;
  unsigned char cluster_uuid[KILN_NVML_GPU_FABRIC_UUID_LEN];
  kiln_nvml_return status;
  unsigned int clique_id;
  unsigned char state;
  unsigned int health_mask;
};
#define KILN_NVML_GPU_FABRIC_INFO_V2                                           \
  ((unsigned int)(sizeof(struct kiln_nvml_gpu_fabric_info_v2) | 2u << 24))

/* nvmlProcessInfo_t as the _v2 and _v3 process queries fill it. */
struct kiln_nvml_process_info {
  unsigned int pid;
  unsigned long long used_gpu_memory;
  unsigned int gpu_instance_id;
  unsigned int compute_instance_id;
};

/* nvmlPciInfo_t as nvmlDeviceGetPciInfo_v3 fills it. */
struct kiln_nvml_pci_info {
  char bus_id_legacy[16];
  unsigned int domain, bus, device, pci_device_id, pci_subsystem_id;
  char bus_id[32]; /* "00000000:1B:00.0" */
};

/* Large enough for every string below (NVML's *_V2_BUFFER_SIZE is 96). */
#define KILN_NVML_STRING_SIZE 96

struct kiln_nvml {
  void *lib; /* the dlopen handle */
  kiln_nvml_return (*shutdown)(void);
  /* nvmlDeviceGetHandleByPciBusId_v2, else the unversioned symbol. Takes
   * "0000:1b:00.0". */
  kiln_nvml_return (*device_get_handle_by_pci_bus_id)(const char *bus_id,
                                                      kiln_nvml_device *dev);
  kiln_nvml_return (*device_get_name)(kiln_nvml_device dev, char *name,
                                      unsigned int length);
  kiln_nvml_return (*device_get_serial)(kiln_nvml_device dev, char *serial,
                                        unsigned int length);
  kiln_nvml_return (*device_get_uuid)(kiln_nvml_device dev, char *uuid,
                                      unsigned int length);
  const char *(*error_string)(kiln_nvml_return rc);

  /* Optional: NULL when this driver's library lacks them (callers then
   * say "not supported by this driver"). Where NVML has versioned names,
   * the newest one present is used (the *_used strings name it). */
  kiln_nvml_return (*system_get_driver_version)(char *version,
                                                unsigned int length);
  kiln_nvml_return (*system_get_nvml_version)(char *version,
                                              unsigned int length);
  /* nvmlSystemGetCudaDriverVersion_v2, else unversioned: 12040 = 12.4. */
  kiln_nvml_return (*system_get_cuda_driver_version)(int *version);
  /* nvmlDeviceGetCount_v2, else nvmlDeviceGetCount. */
  kiln_nvml_return (*device_get_count)(unsigned int *count);
  /* nvmlDeviceGetHandleByIndex_v2, else unversioned. */
  kiln_nvml_return (*device_get_handle_by_index)(unsigned int index,
                                                 kiln_nvml_device *dev);
  /* nvmlDeviceGetPciInfo_v3 only (older layouts differ). */
  kiln_nvml_return (*device_get_pci_info)(kiln_nvml_device dev,
                                          struct kiln_nvml_pci_info *pci);
  kiln_nvml_return (*device_get_persistence_mode)(kiln_nvml_device dev,
                                                  int *mode);
  kiln_nvml_return (*device_get_ecc_mode)(kiln_nvml_device dev, int *current,
                                          int *pending);
  /* nvmlDeviceGetRetiredPages_v2 (with timestamps), else the unversioned
   * one, adapted: timestamps is left alone then. cause is
   * KILN_NVML_RETIRE_*; *count in: capacity (0 to ask), out: pages. */
  kiln_nvml_return (*device_get_retired_pages_v2)(
      kiln_nvml_device dev, int cause, unsigned int *count,
      unsigned long long *addresses, unsigned long long *timestamps);
  kiln_nvml_return (*device_get_retired_pages)(kiln_nvml_device dev, int cause,
                                               unsigned int *count,
                                               unsigned long long *addresses);
  kiln_nvml_return (*device_get_retired_pages_pending_status)(
      kiln_nvml_device dev, int *pending);
  kiln_nvml_return (*device_get_remapped_rows)(kiln_nvml_device dev,
                                               unsigned int *corr_rows,
                                               unsigned int *unc_rows,
                                               unsigned int *is_pending,
                                               unsigned int *failure_occurred);
  kiln_nvml_return (*device_validate_inforom)(kiln_nvml_device dev);
  kiln_nvml_return (*device_get_mig_mode)(kiln_nvml_device dev,
                                          unsigned int *current,
                                          unsigned int *pending);
  /* nvmlDeviceGetComputeRunningProcesses_v3, else _v2 (same struct). */
  kiln_nvml_return (*device_get_compute_running_processes)(
      kiln_nvml_device dev, unsigned int *count,
      struct kiln_nvml_process_info *infos);
  const char *compute_running_processes_used;
  /* nvmlDeviceGetCurrentClocksEventReasons, else ...ThrottleReasons. */
  kiln_nvml_return (*device_get_clocks_event_reasons)(kiln_nvml_device dev,
                                                      unsigned long long *r);
  const char *clocks_event_reasons_used;
  kiln_nvml_return (*device_get_curr_pcie_link_generation)(kiln_nvml_device dev,
                                                           unsigned int *gen);
  kiln_nvml_return (*device_get_curr_pcie_link_width)(kiln_nvml_device dev,
                                                      unsigned int *width);
  /* The most the GPU and the system together allow. */
  kiln_nvml_return (*device_get_max_pcie_link_generation)(kiln_nvml_device dev,
                                                          unsigned int *gen);
  kiln_nvml_return (*device_get_max_pcie_link_width)(kiln_nvml_device dev,
                                                     unsigned int *width);
  kiln_nvml_return (*device_get_temperature)(kiln_nvml_device dev, int sensor,
                                             unsigned int *celsius);
  kiln_nvml_return (*device_get_temperature_threshold)(kiln_nvml_device dev,
                                                       int threshold,
                                                       unsigned int *celsius);
  kiln_nvml_return (*device_get_power_usage)(kiln_nvml_device dev,
                                             unsigned int *milliwatts);
  kiln_nvml_return (*device_get_enforced_power_limit)(kiln_nvml_device dev,
                                                      unsigned int *milliwatts);
  kiln_nvml_return (*device_get_clock_info)(kiln_nvml_device dev, int type,
                                            unsigned int *mhz);
  kiln_nvml_return (*device_get_total_ecc_errors)(kiln_nvml_device dev,
                                                  int error_type,
                                                  int counter_type,
                                                  unsigned long long *count);
  kiln_nvml_return (*device_get_pcie_replay_counter)(kiln_nvml_device dev,
                                                     unsigned int *value);
  /* Highest clock of type (KILN_NVML_CLOCK_*) the GPU may run at. */
  kiln_nvml_return (*device_get_max_clock_info)(kiln_nvml_device dev, int type,
                                                unsigned int *mhz);
  /* Energy since the driver loaded, in mJ (Volta and newer). */
  kiln_nvml_return (*device_get_total_energy_consumption)(
      kiln_nvml_device dev, unsigned long long *millijoules);
  kiln_nvml_return (*device_get_cuda_compute_capability)(kiln_nvml_device dev,
                                                         int *major,
                                                         int *minor);

  /* NVLink, per link 0..KILN_NVML_NVLINK_MAX_LINKS-1; a link the GPU does
   * not have answers NOT_SUPPORTED or INVALID_ARGUMENT. */
  kiln_nvml_return (*device_get_nvlink_state)(kiln_nvml_device dev,
                                              unsigned int link, int *active);
  kiln_nvml_return (*device_get_nvlink_error_counter)(
      kiln_nvml_device dev, unsigned int link, int counter,
      unsigned long long *value);
  /* nvmlDeviceGetNvLinkRemotePciInfo_v2: what the link's far end is. */
  kiln_nvml_return (*device_get_nvlink_remote_pci_info)(
      kiln_nvml_device dev, unsigned int link, struct kiln_nvml_pci_info *pci);

  /* NVSwitch fabric state: nvmlDeviceGetGpuFabricInfoV (v2 struct) and
   * the unversioned one; use kiln_nvml_gpu_fabric(). */
  kiln_nvml_return (*device_get_gpu_fabric_info_v)(
      kiln_nvml_device dev, struct kiln_nvml_gpu_fabric_info_v2 *info);
  kiln_nvml_return (*device_get_gpu_fabric_info)(
      kiln_nvml_device dev, struct kiln_nvml_gpu_fabric_info *info);

  /* Events (XIDs). */
  kiln_nvml_return (*event_set_create)(kiln_nvml_event_set *set);
  kiln_nvml_return (*device_get_supported_event_types)(
      kiln_nvml_device dev, unsigned long long *types);
  kiln_nvml_return (*device_register_events)(kiln_nvml_device dev,
                                             unsigned long long types,
                                             kiln_nvml_event_set set);
  /* nvmlEventSetWait_v2, else nvmlEventSetWait (then the instance ids are
   * left as they were). TIMEOUT when nothing came within timeout_ms. */
  kiln_nvml_return (*event_set_wait)(kiln_nvml_event_set set,
                                     struct kiln_nvml_event_data *data,
                                     unsigned int timeout_ms);
  kiln_nvml_return (*event_set_free)(kiln_nvml_event_set set);
};

/* Loads the library, resolves every function above and initializes NVML
 * (nvmlInit_v2, else nvmlInit). Returns the handle, or NULL with one line
 * in why: "libnvidia-ml.so.1 not found: <dlerror>", "libnvidia-ml.so.1:
 * missing symbol nvmlShutdown", "nvmlInit_v2: Driver Not Loaded". */
struct kiln_nvml *kiln_nvml_open(char *why, size_t n);
/* kiln_nvml_open that also says why it failed in *rc: LIBRARY_NOT_FOUND
 * (dlopen failed: the driver is not installed), FUNCTION_NOT_FOUND (a
 * required symbol is missing), else nvmlInit's own code (DRIVER_NOT_LOADED:
 * installed but not loaded). */
struct kiln_nvml *kiln_nvml_open_rc(kiln_nvml_return *rc, char *why, size_t n);
/* Shuts NVML down and unloads it; NULL is fine. */
void kiln_nvml_close(struct kiln_nvml *nv);
/* Number of retired pages for cause (KILN_NVML_RETIRE_*) through
 * whichever retired-pages function the driver has; returns NVML's rc
 * (KILN_NVML_ERROR_NOT_SUPPORTED when the driver has neither). */
kiln_nvml_return kiln_nvml_retired_page_count(const struct kiln_nvml *nv,
                                              kiln_nvml_device dev, int cause,
                                              unsigned int *count);
/* The GPU at bus_id ("0000:1b:00.0"): NVML's rc, and *dev. */
kiln_nvml_return kiln_nvml_device_by_bus(const struct kiln_nvml *nv,
                                         const char *bus_id,
                                         kiln_nvml_device *dev);
/* Active NVLinks of dev (0 when the GPU has none or the driver cannot
 * tell: NVML's rc then). */
kiln_nvml_return kiln_nvml_nvlink_active(const struct kiln_nvml *nv,
                                         kiln_nvml_device dev,
                                         unsigned int *active);
/* The sum over dev's links of NVLink error counter (KILN_NVML_NVLINK_ERROR_*);
 * links without the counter are left out. */
kiln_nvml_return kiln_nvml_nvlink_errors(const struct kiln_nvml *nv,
                                         kiln_nvml_device dev, int counter,
                                         unsigned long long *sum);
/* dev's NVSwitch fabric registration through the newest fabric-info call
 * the driver has: *state (KILN_NVML_GPU_FABRIC_STATE_*) and *status (its
 * NVML code, meaningful once COMPLETED). NVML's rc: NOT_SUPPORTED when the
 * driver has neither call, or the GPU has no fabric (no NVSwitch). */
kiln_nvml_return kiln_nvml_gpu_fabric(const struct kiln_nvml *nv,
                                      kiln_nvml_device dev, unsigned *state,
                                      kiln_nvml_return *status);
/* "completed", "in progress", "not started", "not supported", else
 * "unknown". */
const char *kiln_nvml_fabric_state_name(unsigned state);
/* NVML's "00000000:1B:00.0" as kiln's "0000:1b:00.0". */
void kiln_nvml_bus_id(const struct kiln_nvml_pci_info *pci, char *out,
                      size_t n);
/* What an XID means, in NVIDIA's words, for the common critical ones
 * ("GPU has fallen off the bus"); others: "see NVIDIA's XID catalog". */
const char *kiln_nvml_xid_text(unsigned long long xid);
/* NVML's text for rc (never NULL). */
const char *kiln_nvml_error(const struct kiln_nvml *nv, kiln_nvml_return rc);

#endif
