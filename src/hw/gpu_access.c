/* See gpu_access.h. The parent decides, through NVML and a probe process,
 * what the GPU steps' children would otherwise find out one by one. */
#include "kiln/gpu_access.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kiln/nvml.h"
#include "kiln/textutil.h"

#ifndef KILN_CUDA_VERSION
#define KILN_CUDA_VERSION 0
#endif

int kiln_cuda_built_version(void) {
  return KILN_HAVE_CUDA ? KILN_CUDA_VERSION : 0;
}

int kiln_cuda_min_driver(int cuda_version) {
  /* NVIDIA's CUDA Toolkit release notes, "minimum required driver" for
   * minor-version compatibility within a major release. */
  switch (cuda_version / 1000) {
  case 11: return 450;
  case 12: return 525;
  case 13: return 580;
  default: return 0;
  }
}

void kiln_cuda_lib_soname(const char *base, char *out, size_t n) {
  int v = kiln_cuda_built_version();
  if (v > 0)
    snprintf(out, n, "%s.so.%d", base, v / 1000);
  else
    snprintf(out, n, "%s.so", base);
}

bool kiln_lib_loadable(const char *const *names, char *why, size_t n) {
  int fds[2];
  if (pipe(fds) != 0) {
    snprintf(why, n, "%s: cannot probe: pipe: %s", names[0], strerror(errno));
    return false;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    snprintf(why, n, "%s: cannot probe: fork: %s", names[0], strerror(errno));
    return false;
  }
  if (pid == 0) {
    /* The child only loads and tells: what the library's constructors
     * start dies with it. */
    close(fds[0]);
    const char *first = NULL;
    for (size_t i = 0; names[i]; i++) {
      dlerror();
      if (dlopen(names[i], RTLD_LAZY | RTLD_LOCAL))
        _exit(0);
      const char *e = dlerror();
      if (!first)
        first = e ? e : "dlopen failed";
    }
    ssize_t w = write(fds[1], first, strlen(first));
    (void)w;
    _exit(1);
  }
  close(fds[1]);
  char msg[512];
  size_t got = 0;
  for (;;) {
    ssize_t r = read(fds[0], msg + got, sizeof msg - 1 - got);
    if (r > 0 && (got += (size_t)r) < sizeof msg - 1)
      continue;
    if (r < 0 && errno == EINTR)
      continue;
    break;
  }
  msg[got] = '\0';
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return true;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
    snprintf(why, n, "%s not found: %s", names[0], msg[0] ? msg : "?");
  else
    snprintf(why, n, "%s: loading it killed the probe process (signal %d)",
             names[0], WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return false;
}

struct kiln_gpu_access {
  struct kiln_nvml *nv;
  kiln_nvml_return open_rc; /* why nv is NULL */
  char nvml_why[512];
  char driver[KILN_NVML_STRING_SIZE]; /* "580.65.06", or "" */
  int driver_cuda;                    /* 12040 = 12.4; 0: unknown */
  int cublas;                         /* -1 not probed, 0 missing, 1 there */
  char cublas_why[768];
};

struct kiln_gpu_access *kiln_gpu_access_open(void) {
  struct kiln_gpu_access *a = kiln_xcalloc(1, sizeof *a);
  a->cublas = -1;
  a->nv = kiln_nvml_open_rc(&a->open_rc, a->nvml_why, sizeof a->nvml_why);
  if (!a->nv)
    return a;
  if (a->nv->system_get_driver_version &&
      a->nv->system_get_driver_version(a->driver, sizeof a->driver) !=
          KILN_NVML_SUCCESS)
    a->driver[0] = '\0';
  a->driver[sizeof a->driver - 1] = '\0';
  int v = 0;
  if (a->nv->system_get_cuda_driver_version &&
      a->nv->system_get_cuda_driver_version(&v) == KILN_NVML_SUCCESS && v > 0)
    a->driver_cuda = v;
  return a;
}

void kiln_gpu_access_close(struct kiln_gpu_access *a) {
  if (!a)
    return;
  kiln_nvml_close(a->nv);
  free(a);
}

/* The driver as a whole: installed, loaded, answering. */
static bool driver_ok(const struct kiln_gpu_access *a, const char *bus,
                      char *why, size_t n) {
  if (a->nv)
    return true;
  if (a->open_rc == KILN_NVML_ERROR_LIBRARY_NOT_FOUND)
    snprintf(why, n, "GPU %s: NVIDIA driver not installed (%s)", bus,
             a->nvml_why);
  else if (a->open_rc == KILN_NVML_ERROR_DRIVER_NOT_LOADED)
    snprintf(why, n,
             "GPU %s: NVIDIA driver installed but not loaded (%s): load it "
             "(modprobe nvidia) and see dmesg",
             bus, a->nvml_why);
  else
    snprintf(why, n, "GPU %s: the NVIDIA driver does not answer (%s)", bus,
             a->nvml_why);
  return false;
}

bool kiln_cuda_driver_ok(int built, int driver_cuda, const char *driver,
                         const char *bus_id, char *why, size_t n) {
  if (built == 0) {
    snprintf(why, n,
             "GPU %s: this kiln was built without CUDA: rebuild it with the "
             "CUDA Toolkit 12.0 or newer (make CUDA_HOME=/usr/local/cuda)",
             bus_id);
    return false;
  }
  /* Within a major release a newer runtime runs on an older driver of
   * that major (minor-version compatibility); across majors it does not. */
  if (driver_cuda <= 0 || driver_cuda / 1000 >= built / 1000)
    return true;
  int min = kiln_cuda_min_driver(built);
  char need[48] = "";
  if (min > 0)
    snprintf(need, sizeof need, ", which needs driver %d or newer", min);
  snprintf(why, n,
           "GPU %s: NVIDIA driver %s supports CUDA %d.%d, older than the CUDA "
           "%d.%d runtime this kiln was built with%s: update the driver, or "
           "use a kiln built with CUDA %d",
           bus_id, driver && driver[0] ? driver : "(version unknown)",
           driver_cuda / 1000, driver_cuda % 1000 / 10, built / 1000,
           built % 1000 / 10, need, driver_cuda / 1000);
  return false;
}

static bool cublas_ok(struct kiln_gpu_access *a, const char *bus, char *why,
                      size_t n) {
  if (a->cublas < 0) {
    /* What stress/gpu_gemm.cu loads: the build's major first, then the
     * unversioned name. */
    char blas[64], lt[64];
    kiln_cuda_lib_soname("libcublas", blas, sizeof blas);
    kiln_cuda_lib_soname("libcublasLt", lt, sizeof lt);
    const char *blas_names[] = {blas, "libcublas.so", NULL};
    const char *lt_names[] = {lt, "libcublasLt.so", NULL};
    a->cublas =
        kiln_lib_loadable(blas_names, a->cublas_why, sizeof a->cublas_why) &&
        kiln_lib_loadable(lt_names, a->cublas_why, sizeof a->cublas_why);
  }
  if (a->cublas)
    return true;
  snprintf(why, n,
           "GPU %s: %s: install the CUDA Toolkit's cuBLAS of this major "
           "release, or put its lib64 in LD_LIBRARY_PATH",
           bus, a->cublas_why);
  return false;
}

bool kiln_gpu_access_check(struct kiln_gpu_access *a, const char *bus_id,
                           unsigned needs, bool mig_allowed, char *why,
                           size_t n) {
  if (!driver_ok(a, bus_id, why, n))
    return false;
  kiln_nvml_device dev;
  kiln_nvml_return rc = kiln_nvml_device_by_bus(a->nv, bus_id, &dev);
  if (rc == KILN_NVML_ERROR_NOT_FOUND) {
    snprintf(why, n,
             "GPU %s: on the PCI bus but the NVIDIA driver does not see it "
             "(NVML: %s): is it bound to the nvidia driver (lspci -k -s %s)?",
             bus_id, kiln_nvml_error(a->nv, rc), bus_id);
    return false;
  }
  if (rc != KILN_NVML_SUCCESS) {
    snprintf(why, n, "GPU %s: the NVIDIA driver cannot open it (NVML: %s)",
             bus_id, kiln_nvml_error(a->nv, rc));
    return false;
  }
  unsigned int mig = 0, pending = 0;
  if (!mig_allowed && a->nv->device_get_mig_mode &&
      a->nv->device_get_mig_mode(dev, &mig, &pending) == KILN_NVML_SUCCESS &&
      mig == KILN_NVML_FEATURE_ENABLED) {
    snprintf(why, n,
             "GPU %s: in MIG mode, which this profile does not allow "
             "(mig_allowed = no): nvidia-smi -i %s -mig 0, or mig_allowed = "
             "yes in the profile",
             bus_id, bus_id);
    return false;
  }
  if ((needs & (KILN_GPU_NEEDS_CUDA | KILN_GPU_NEEDS_CUBLAS)) &&
      !kiln_cuda_driver_ok(kiln_cuda_built_version(), a->driver_cuda, a->driver,
                           bus_id, why, n))
    return false;
  if ((needs & KILN_GPU_NEEDS_CUBLAS) && !cublas_ok(a, bus_id, why, n))
    return false;
  return true;
}
