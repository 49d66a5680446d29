/* NVML, the NVIDIA driver's management library, loaded at run time with
 * dlopen("libnvidia-ml.so.1") so that kiln builds and runs without the
 * driver. Only the functions kiln uses are declared here, with NVML's own
 * signatures and opaque handle types; add more to struct kiln_nvml (and its
 * table in src/nvml.c) as modules need them.
 *
 * $KILN_NVML_LIB names another library to load (tests). */
#ifndef KILN_NVML_H
#define KILN_NVML_H

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
  KILN_NVML_ERROR_GPU_IS_LOST = 15,
  KILN_NVML_ERROR_UNKNOWN = 999,
};

/* nvmlDevice_t: a pointer to an opaque struct. */
typedef struct kiln_nvml_device_st *kiln_nvml_device;

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
};

/* Loads the library, resolves every function above and initializes NVML
 * (nvmlInit_v2, else nvmlInit). Returns the handle, or NULL with one line
 * in why: "libnvidia-ml.so.1 not found: <dlerror>", "libnvidia-ml.so.1:
 * missing symbol nvmlShutdown", "nvmlInit_v2: Driver Not Loaded". */
struct kiln_nvml *kiln_nvml_open(char *why, size_t n);
/* Shuts NVML down and unloads it; NULL is fine. */
void kiln_nvml_close(struct kiln_nvml *nv);
/* NVML's text for rc (never NULL). */
const char *kiln_nvml_error(const struct kiln_nvml *nv, kiln_nvml_return rc);

#endif
