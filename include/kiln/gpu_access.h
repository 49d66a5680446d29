/* Whether kiln can drive the NVIDIA GPUs on the PCI bus, decided in the
 * parent before any step runs, without CUDA (a CUDA context does not
 * survive fork()): the driver through NVML, the CUDA runtime kiln was
 * built with against what that driver supports, cuBLAS for the modules
 * that use it, and MIG mode against the profile.
 *
 * The rule it serves: SKIP means only "no NVIDIA GPU on the bus". A GPU
 * that is on the bus but that kiln cannot drive makes each of its steps an
 * ERROR naming the GPU's bus id and one cause a technician can act on.
 * Layer: hw (src/hw/): uses core. */
#ifndef KILN_GPU_ACCESS_H
#define KILN_GPU_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a GPU module needs (struct kiln_module's gpu_needs). */
enum {
  KILN_GPU_NEEDS_DRIVER = 1, /* the NVIDIA driver, seen through NVML */
  KILN_GPU_NEEDS_CUDA = 2,   /* the CUDA runtime kiln was built with */
  KILN_GPU_NEEDS_CUBLAS = 4, /* cuBLAS and cuBLASLt of the same CUDA major */
};

/* The CUDA runtime this kiln was built with, in CUDART_VERSION form
 * (13000 = 13.0); 0 when built without CUDA. */
int kiln_cuda_built_version(void);
/* The oldest driver branch a CUDA runtime needs (13.x: 580, 12.x: 525),
 * or 0 when kiln does not know that major version. */
int kiln_cuda_min_driver(int cuda_version);
/* The soname this build loads for base ("libcublas" -> "libcublas.so.13"
 * in a CUDA 13 build; "libcublas.so" without CUDA). */
void kiln_cuda_lib_soname(const char *base, char *out, size_t n);

/* Whether a CUDA runtime `built` (0: kiln built without CUDA) runs on a
 * driver supporting CUDA `driver_cuda` (NVML's 12040 form; 0: unknown,
 * taken as fine: CUDA itself then says). false with the driver's version
 * `driver`, both CUDA versions and the driver needed in why. */
bool kiln_cuda_driver_ok(int built, int driver_cuda, const char *driver,
                         const char *bus_id, char *why, size_t n);

/* The parent's view of the driver, loaded once for a whole plan. */
struct kiln_gpu_access;

/* Loads NVML ($KILN_NVML_LIB, else libnvidia-ml.so.1) and reads what the
 * driver supports; never fails: what went wrong is kept for the checks. */
struct kiln_gpu_access *kiln_gpu_access_open(void);
void kiln_gpu_access_close(struct kiln_gpu_access *a);

/* Whether the GPU at bus_id ("0000:1b:00.0") can be driven for a module
 * needing `needs` (KILN_GPU_NEEDS_*). true, or false with one line in why:
 * "GPU 0000:1b:00.0: NVIDIA driver not installed (libnvidia-ml.so.1 not
 * found)", "... driver 535.104.05 supports CUDA 12.2, older than the CUDA
 * 13.0 runtime kiln was built with (needs driver 580 or newer)", "... is
 * in MIG mode, which this profile does not allow (mig_allowed = no)". */
bool kiln_gpu_access_check(struct kiln_gpu_access *a, const char *bus_id,
                           unsigned needs, bool mig_allowed, char *why,
                           size_t n);

/* Whether one of names (NULL-terminated, tried in order) can be loaded
 * with dlopen, tried in a child process so that nothing it loads stays in
 * this one. false with "NAME not found: dlerror" (the first name) in why. */
bool kiln_lib_loadable(const char *const *names, char *why, size_t n);

#ifdef __cplusplus
}
#endif

#endif
