/* NVML loader: dlopen, a table of symbols (each with the older names to
 * fall back on), then nvmlInit. */
#include "kiln/nvml.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

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

struct kiln_nvml *kiln_nvml_open(char *why, size_t n) {
  const char *name = getenv("KILN_NVML_LIB");
  if (!name || !*name)
    name = DEFAULT_LIB;
  dlerror();
  void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *e = dlerror();
    snprintf(why, n, "%s not found: %s", name, e ? e : "dlopen failed");
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
  kiln_nvml_return rc = init();
  if (rc != KILN_NVML_SUCCESS) {
    snprintf(why, n, "%s: %s", init_name, kiln_nvml_error(nv, rc));
    dlclose(lib);
    free(nv);
    return NULL;
  }
  return nv;
fail:
  snprintf(why, n, "%s: missing symbol %s", name, missing);
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

const char *kiln_nvml_error(const struct kiln_nvml *nv, kiln_nvml_return rc) {
  const char *s = nv && nv->error_string ? nv->error_string(rc) : NULL;
  return s ? s : "unknown NVML error";
}
