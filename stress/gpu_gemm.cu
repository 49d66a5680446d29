// gpu.gemm's device side: cuBLAS (loaded with dlopen, never linked) runs
// n x n GEMMs in FP64, FP32, TF32, BF16 and, through cuBLASLt, FP8; each
// result the caller asks to check is compared on the device with the
// type's first result, and only a small tally comes back to the host.
//
// Inputs are seeded values uniform in [-1, 1], generated on the device.
// Every GEMM has beta = 0 and overwrites the same result buffer, so the
// same inputs through the same algorithm must give the same bits; the
// comparison (gpu_gemm_check.h) reads result and reference once, 16 bytes at a
// time, and takes the per-element path only where bits differ.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu_device.h"
#include "gpu_patterns.h"

#include "gpu_gemm.h"
#include "gpu_gemm_check.h"
extern "C" {
#include "kiln/gpu_access.h"
}

// The parent probes the cuBLAS soname kiln_cuda_lib_soname() names from
// the toolkit's release (the Makefile's KILN_CUDA_VERSION); this file loads
// the same name, so that release must be the runtime this file is built with.
#if !defined(KILN_CUDA_VERSION) ||                                             \
    KILN_CUDA_VERSION / 1000 != CUDART_VERSION / 1000
#error "KILN_CUDA_VERSION (from nvcc --version) disagrees with CUDART_VERSION"
#endif

// cublasGemmEx is overloaded in C++ (an inline wrapper takes the legacy
// cudaDataType compute type); the cast picks the library's own, and fails
// to compile should the header's signature ever change.
using gemm_ex_fn = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t,
                                      cublasOperation_t, int, int, int,
                                      const void *, const void *, cudaDataType,
                                      int, const void *, cudaDataType, int,
                                      const void *, void *, cudaDataType, int,
                                      cublasComputeType_t, cublasGemmAlgo_t);

struct blas_fns {
  decltype(&cublasCreate_v2) create;
  decltype(&cublasDestroy_v2) destroy;
  decltype(&cublasSetStream_v2) set_stream;
  decltype(&cublasSetMathMode) set_math_mode;
  decltype(&cublasGetVersion_v2) get_version;
  decltype(&cublasGetStatusString) status_string; // optional
  decltype(static_cast<gemm_ex_fn>(&cublasGemmEx)) gemm_ex;
};

struct lt_fns {
  decltype(&cublasLtCreate) create;
  decltype(&cublasLtDestroy) destroy;
  decltype(&cublasLtMatmulDescCreate) desc_create;
  decltype(&cublasLtMatmulDescDestroy) desc_destroy;
  decltype(&cublasLtMatmulDescSetAttribute) desc_set;
  decltype(&cublasLtMatrixLayoutCreate) layout_create;
  decltype(&cublasLtMatrixLayoutDestroy) layout_destroy;
  decltype(&cublasLtMatmulPreferenceCreate) pref_create;
  decltype(&cublasLtMatmulPreferenceDestroy) pref_destroy;
  decltype(&cublasLtMatmulPreferenceSetAttribute) pref_set;
  decltype(&cublasLtMatmulAlgoGetHeuristic) heuristic;
  decltype(&cublasLtMatmul) matmul;
};

// The comparison's tally on the device (struct kiln_gemm_check's fields).
struct dev_check {
  unsigned long long count, inexact, index, iteration, expected, actual;
};

#define FP8_WORKSPACE (32ULL << 20)

struct kiln_gemm {
  int dev, sms;
  int cc_major, cc_minor;
  cudaStream_t stream;
  bool have_stream;
  blas_fns b;
  cublasHandle_t blas;
  lt_fns l;
  cublasLtHandle_t lt;
  bool fp8; // cuBLASLt usable and the GPU has FP8
  struct dev_check *chk;
  float *scale; // 1.0f: FP8's A and B scale factors
  // Events: each GEMM's start and end, and the batch's.
  cudaEvent_t g0[KILN_GEMM_MAX_BATCH], g1[KILN_GEMM_MAX_BATCH];
  cudaEvent_t t_start, t_end;
  int events; // created so far, of g0 and g1 each
  bool batch_events;
  float each_ms[KILN_GEMM_MAX_BATCH];
  // The prepared type.
  bool prepared;
  int type, n;
  void *a, *bm, *c, *ref, *ws;
  cublasLtMatmulDesc_t op;
  cublasLtMatrixLayout_t la, lb, lc;
  cublasLtMatmulAlgo_t algo;
  uint64_t iteration; // of the last GEMM queued; 0 is the reference
  uint64_t checks;
  bool last_checked;
  bool inject;
  uint64_t inject_index;
  // The queued batch.
  bool pending, batch_each;
  int batch_gemms, batch_checks;
};

static const char *status_text(const kiln_gemm *h, cublasStatus_t s) {
  const char *t = h->b.status_string ? h->b.status_string(s) : NULL;
  return t ? t : "cuBLAS error";
}

static int fail_blas(const kiln_gemm *h, cublasStatus_t s, const char *what,
                     int rc, char *why, size_t n) {
  snprintf(why, n, "%s: %s (cuBLAS status %d)", what, status_text(h, s),
           (int)s);
  return rc;
}

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

// ---- loading cuBLAS ------------------------------------------------------

// libNAME.so.<CUDA major> (the runtime this was built with, named as the
// parent's probe names it), else libNAME.so; the first failure's dlerror()
// as the reason.
static void *open_lib(const char *base, char *used, size_t un, char *why,
                      size_t n) {
  char name[64];
  kiln_cuda_lib_soname(base, name, sizeof name);
  void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *err = dlerror();
    snprintf(why, n, "%s", err ? err : name);
    snprintf(name, sizeof name, "%s.so", base);
    lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  }
  if (lib && used)
    snprintf(used, un, "%s", name);
  return lib;
}

template <typename F>
static bool sym(void *lib, const char *lib_name, const char *name, F *out,
                char *why, size_t n) {
  void *p = dlsym(lib, name);
  if (!p) {
    snprintf(why, n, "%s: missing symbol %s", lib_name, name);
    return false;
  }
  *out = reinterpret_cast<F>(p);
  return true;
}

static bool load_blas(blas_fns *f, char *used, size_t un, char *why, size_t n) {
  char err[256];
  void *lib = open_lib("libcublas", used, un, err, sizeof err);
  if (!lib) {
    snprintf(why, n, "cuBLAS not available: %s", err);
    return false;
  }
  // Left loaded: cuBLAS keeps state until the process exits.
  if (!sym(lib, used, "cublasCreate_v2", &f->create, why, n) ||
      !sym(lib, used, "cublasDestroy_v2", &f->destroy, why, n) ||
      !sym(lib, used, "cublasSetStream_v2", &f->set_stream, why, n) ||
      !sym(lib, used, "cublasSetMathMode", &f->set_math_mode, why, n) ||
      !sym(lib, used, "cublasGetVersion_v2", &f->get_version, why, n) ||
      !sym(lib, used, "cublasGemmEx", &f->gemm_ex, why, n))
    return false;
  void *ss = dlsym(lib, "cublasGetStatusString");
  f->status_string = reinterpret_cast<decltype(f->status_string)>(ss);
  return true;
}

static bool load_lt(lt_fns *f, char *why, size_t n) {
  char used[64], err[200];
  void *lib = open_lib("libcublasLt", used, sizeof used, err, sizeof err);
  if (!lib) {
    snprintf(why, n, "cuBLASLt not available: %s", err);
    return false;
  }
  return sym(lib, used, "cublasLtCreate", &f->create, why, n) &&
         sym(lib, used, "cublasLtDestroy", &f->destroy, why, n) &&
         sym(lib, used, "cublasLtMatmulDescCreate", &f->desc_create, why, n) &&
         sym(lib, used, "cublasLtMatmulDescDestroy", &f->desc_destroy, why,
             n) &&
         sym(lib, used, "cublasLtMatmulDescSetAttribute", &f->desc_set, why,
             n) &&
         sym(lib, used, "cublasLtMatrixLayoutCreate", &f->layout_create, why,
             n) &&
         sym(lib, used, "cublasLtMatrixLayoutDestroy", &f->layout_destroy, why,
             n) &&
         sym(lib, used, "cublasLtMatmulPreferenceCreate", &f->pref_create, why,
             n) &&
         sym(lib, used, "cublasLtMatmulPreferenceDestroy", &f->pref_destroy,
             why, n) &&
         sym(lib, used, "cublasLtMatmulPreferenceSetAttribute", &f->pref_set,
             why, n) &&
         sym(lib, used, "cublasLtMatmulAlgoGetHeuristic", &f->heuristic, why,
             n) &&
         sym(lib, used, "cublasLtMatmul", &f->matmul, why, n);
}

// ---- kernels -------------------------------------------------------------

// Seeded values uniform in [-1, 1): stream `which` of the seed.
__global__ void gemm_fill(void *p, uint64_t count, int type, uint64_t seed,
                          uint64_t which) {
  uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
  for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    uint64_t r = gpat_random(seed, which, i);
    double u = (double)(r >> 11) * 0x1p-52 - 1.0;
    switch (type) {
    case KILN_GEMM_FP64: ((double *)p)[i] = u; break;
    case KILN_GEMM_FP32:
    case KILN_GEMM_TF32: ((float *)p)[i] = (float)u; break;
    case KILN_GEMM_BF16:
      ((__nv_bfloat16 *)p)[i] = __float2bfloat16((float)u);
      break;
    default:
      ((__nv_fp8_storage_t *)p)[i] =
          __nv_cvt_float_to_fp8((float)u, __NV_SATFINITE, __NV_E4M3);
      break;
    }
  }
}

// out against ref, 16 bytes at a time; U is the element's bits.
template <typename U>
__global__ void gemm_compare(const uint4 *__restrict__ ref,
                             const uint4 *__restrict__ out, uint64_t vecs,
                             int type, unsigned long long iteration,
                             struct dev_check *chk) {
  const int per = 16 / sizeof(U);
  uint64_t stride = (uint64_t)gridDim.x * blockDim.x;
  for (uint64_t i = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x; i < vecs;
       i += stride) {
    uint4 r = __ldcs(ref + i), o = __ldcs(out + i);
    if (((r.x ^ o.x) | (r.y ^ o.y) | (r.z ^ o.z) | (r.w ^ o.w)) == 0)
      continue;
    U re[per], oe[per];
    memcpy(re, &r, sizeof r);
    memcpy(oe, &o, sizeof o);
    for (int k = 0; k < per; k++) {
      if (re[k] == oe[k])
        continue;
      if (gemm_bits_ok(type, re[k], oe[k])) {
        atomicAdd(&chk->inexact, 1ULL);
        continue;
      }
      if (atomicAdd(&chk->count, 1ULL) == 0) {
        chk->index = i * per + k;
        chk->iteration = iteration;
        chk->expected = re[k];
        chk->actual = oe[k];
      }
    }
  }
}

// gpu.sdc: one element's bit flipped in device memory.
__global__ void gemm_corrupt(void *c, int bytes, uint64_t index, int bit) {
  if (bytes == 8)
    ((unsigned long long *)c)[index] ^= 1ULL << bit;
  else if (bytes == 4)
    ((unsigned int *)c)[index] ^= 1u << bit;
  else
    ((unsigned short *)c)[index] ^= (unsigned short)(1u << bit);
}

// ---- the prepared type ---------------------------------------------------

static void release_type(kiln_gemm *h) {
  if (h->have_stream)
    cudaStreamSynchronize(h->stream);
  void **bufs[] = {&h->a, &h->bm, &h->c, &h->ref, &h->ws};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
    if (*bufs[i]) {
      cudaFree(*bufs[i]);
      *bufs[i] = NULL;
    }
  if (h->op)
    h->l.desc_destroy(h->op);
  if (h->la)
    h->l.layout_destroy(h->la);
  if (h->lb)
    h->l.layout_destroy(h->lb);
  if (h->lc)
    h->l.layout_destroy(h->lc);
  h->op = NULL;
  h->la = h->lb = h->lc = NULL;
  h->prepared = h->pending = h->inject = false;
  h->iteration = h->checks = 0;
}

static cublasStatus_t run_gemm(kiln_gemm *h, void *out) {
  int n = h->n;
  const cublasOperation_t N = CUBLAS_OP_N;
  switch (h->type) {
  case KILN_GEMM_FP64: {
    const double one = 1, zero = 0;
    return h->b.gemm_ex(h->blas, N, N, n, n, n, &one, h->a, CUDA_R_64F, n,
                        h->bm, CUDA_R_64F, n, &zero, out, CUDA_R_64F, n,
                        CUBLAS_COMPUTE_64F, CUBLAS_GEMM_DEFAULT);
  }
  case KILN_GEMM_FP32:
  case KILN_GEMM_TF32: {
    const float one = 1, zero = 0;
    return h->b.gemm_ex(h->blas, N, N, n, n, n, &one, h->a, CUDA_R_32F, n,
                        h->bm, CUDA_R_32F, n, &zero, out, CUDA_R_32F, n,
                        h->type == KILN_GEMM_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                  : CUBLAS_COMPUTE_32F,
                        CUBLAS_GEMM_DEFAULT);
  }
  case KILN_GEMM_BF16: {
    const float one = 1, zero = 0;
    return h->b.gemm_ex(h->blas, N, N, n, n, n, &one, h->a, CUDA_R_16BF, n,
                        h->bm, CUDA_R_16BF, n, &zero, out, CUDA_R_16BF, n,
                        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  }
  default: {
    const float one = 1, zero = 0;
    return h->l.matmul(h->lt, h->op, &one, h->a, h->la, h->bm, h->lb, &zero,
                       out, h->lc, out, h->lc, &h->algo, h->ws, FP8_WORKSPACE,
                       h->stream);
  }
  }
}

static int compare_blocks(const kiln_gemm *h) { return h->sms * 8; }

static void launch_compare(kiln_gemm *h, uint64_t iteration) {
  uint64_t vecs = (uint64_t)h->n * h->n * gemm_out_bytes(h->type) / 16;
  const uint4 *r = (const uint4 *)h->ref, *o = (const uint4 *)h->c;
  int blocks = compare_blocks(h), threads = 256;
  if (h->inject) {
    gemm_corrupt<<<1, 1, 0, h->stream>>>(
        h->c, gemm_out_bytes(h->type), h->inject_index, gemm_sdc_bit(h->type));
    h->inject = false;
  }
  switch (gemm_out_bytes(h->type)) {
  case 8:
    gemm_compare<unsigned long long><<<blocks, threads, 0, h->stream>>>(
        r, o, vecs, h->type, iteration, h->chk);
    break;
  case 4:
    gemm_compare<unsigned int><<<blocks, threads, 0, h->stream>>>(
        r, o, vecs, h->type, iteration, h->chk);
    break;
  default:
    gemm_compare<unsigned short><<<blocks, threads, 0, h->stream>>>(
        r, o, vecs, h->type, iteration, h->chk);
    break;
  }
  h->checks++;
}

// cuBLASLt for FP8: D (bfloat16) = A^T B with A and B E4M3 ("TN", the
// layout FP8 requires), FP32 compute and scale, A and B scaled by 1, fast
// accumulation. Returns 1 (FP8 not measured) when cuBLASLt refuses, -1
// when it will not take fast accumulation.
static int setup_fp8(kiln_gemm *h, char *why, size_t n) {
  cublasStatus_t s;
  uint64_t d = (uint64_t)h->n;
  const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  const float *sp = h->scale;
  if ((s = h->l.desc_create(&h->op, CUBLAS_COMPUTE_32F, CUDA_R_32F)))
    return fail_blas(h, s, "cublasLtMatmulDescCreate", 1, why, n);
  if ((s = h->l.desc_set(h->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta)) ||
      (s = h->l.desc_set(h->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb)) ||
      (s = h->l.desc_set(h->op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &sp,
                         sizeof sp)) ||
      (s = h->l.desc_set(h->op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &sp,
                         sizeof sp)))
    return fail_blas(h, s, "cublasLtMatmulDescSetAttribute", 1, why, n);
  // Fast accumulation, as FP8 inference and training stacks run it (the
  // tensor cores' own accumulator, not a promotion to FP32 every few
  // steps): the rate they get. Its enum comes from cublasLt.h itself.
  const int8_t fast = 1;
  if ((s = h->l.desc_set(h->op, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &fast,
                         sizeof fast)))
    return fail_blas(h, s,
                     "cublasLtMatmulDescSetAttribute("
                     "CUBLASLT_MATMUL_DESC_FAST_ACCUM = 1)",
                     -1, why, n);
  // A is stored k x m (transposed), B k x n, D m x n; all n here.
  if ((s = h->l.layout_create(&h->la, CUDA_R_8F_E4M3, d, d, (int64_t)d)) ||
      (s = h->l.layout_create(&h->lb, CUDA_R_8F_E4M3, d, d, (int64_t)d)) ||
      (s = h->l.layout_create(&h->lc, CUDA_R_16BF, d, d, (int64_t)d)))
    return fail_blas(h, s, "cublasLtMatrixLayoutCreate", 1, why, n);
  cublasLtMatmulPreference_t pref = NULL;
  if ((s = h->l.pref_create(&pref)))
    return fail_blas(h, s, "cublasLtMatmulPreferenceCreate", 1, why, n);
  uint64_t ws = FP8_WORKSPACE;
  cublasLtMatmulHeuristicResult_t res;
  memset(&res, 0, sizeof res);
  int got = 0;
  if (!(s = h->l.pref_set(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                          sizeof ws)))
    s = h->l.heuristic(h->lt, h->op, h->la, h->lb, h->lc, h->lc, pref, 1, &res,
                       &got);
  h->l.pref_destroy(pref);
  if (s)
    return fail_blas(h, s, "cublasLtMatmulAlgoGetHeuristic", 1, why, n);
  if (got < 1) {
    snprintf(why, n, "cuBLASLt has no FP8 (E4M3) algorithm for %d x %d", h->n,
             h->n);
    return 1;
  }
  h->algo = res.algo;
  return 0;
}

// ---- the API -------------------------------------------------------------

static void destroy(kiln_gemm *h) {
  release_type(h);
  for (int i = 0; i < h->events; i++) {
    cudaEventDestroy(h->g0[i]);
    cudaEventDestroy(h->g1[i]);
  }
  if (h->batch_events) {
    cudaEventDestroy(h->t_start);
    cudaEventDestroy(h->t_end);
  }
  if (h->chk)
    cudaFree(h->chk);
  if (h->scale)
    cudaFree(h->scale);
  if (h->lt)
    h->l.destroy(h->lt);
  if (h->blas)
    h->b.destroy(h->blas);
  if (h->have_stream)
    cudaStreamDestroy(h->stream);
  free(h);
}

extern "C" int kiln_gemm_open(const char *bus_id, struct kiln_gemm **out,
                              struct kiln_gemm_info *info, char *why,
                              size_t n) {
  *out = NULL;
  memset(info, 0, sizeof *info);
  int dev = 0;
  cudaDeviceProp p;
  kiln_gemm *h = (kiln_gemm *)kiln_cuda_open_handle(
      bus_id, sizeof *h, &dev, &p, info->name, sizeof info->name, why, n);
  if (!h)
    return -1;
  if (cudaDeviceGetPCIBusId(info->bus, sizeof info->bus, dev) != cudaSuccess)
    snprintf(info->bus, sizeof info->bus, "%s", bus_id ? bus_id : "?");
  info->cc_major = p.major;
  info->cc_minor = p.minor;
  info->sms = p.multiProcessorCount;

  h->dev = dev;
  h->sms = p.multiProcessorCount > 0 ? p.multiProcessorCount : 1;
  h->cc_major = p.major;
  h->cc_minor = p.minor;
  if (!load_blas(&h->b, info->cublas, sizeof info->cublas, why, n)) {
    free(h);
    return -1; // the GPU is there: no cuBLAS is an ERROR, never a SKIP
  }
  cudaError_t e;
  if ((e = cudaStreamCreateWithFlags(&h->stream, cudaStreamNonBlocking)) !=
      cudaSuccess) {
    free(h);
    return kiln_cuda_fail(e, "cudaStreamCreate", why, n);
  }
  h->have_stream = true;
  int rc = 0;
  if ((e = cudaEventCreate(&h->t_start)) != cudaSuccess ||
      (e = cudaEventCreate(&h->t_end)) != cudaSuccess) {
    rc = kiln_cuda_fail(e, "cudaEventCreate", why, n);
  } else {
    h->batch_events = true;
    for (; h->events < KILN_GEMM_MAX_BATCH; h->events++) {
      if ((e = cudaEventCreate(&h->g0[h->events])) != cudaSuccess) {
        rc = kiln_cuda_fail(e, "cudaEventCreate", why, n);
        break;
      }
      if ((e = cudaEventCreate(&h->g1[h->events])) != cudaSuccess) {
        cudaEventDestroy(h->g0[h->events]);
        rc = kiln_cuda_fail(e, "cudaEventCreate", why, n);
        break;
      }
    }
  }
  const float one = 1.0f;
  if (!rc && ((e = cudaMalloc(&h->chk, sizeof *h->chk)) != cudaSuccess ||
              (e = cudaMalloc(&h->scale, sizeof *h->scale)) != cudaSuccess ||
              (e = cudaMemcpy(h->scale, &one, sizeof one,
                              cudaMemcpyHostToDevice)) != cudaSuccess))
    rc = kiln_cuda_fail(e, "cudaMalloc", why, n);
  cublasStatus_t s;
  if (!rc && (s = h->b.create(&h->blas)) != CUBLAS_STATUS_SUCCESS) {
    h->blas = NULL;
    rc = fail_blas(h, s, "cublasCreate", -1, why, n);
  }
  if (!rc && ((s = h->b.set_stream(h->blas, h->stream)) ||
              (s = h->b.set_math_mode(h->blas, CUBLAS_DEFAULT_MATH))))
    rc = fail_blas(h, s, "cublasSetStream/cublasSetMathMode", -1, why, n);
  if (rc) {
    destroy(h);
    return rc;
  }
  if (h->b.get_version(h->blas, &info->cublas_version))
    info->cublas_version = 0;
  // FP8: the GPU (Ada, Hopper and newer) and cuBLASLt.
  if (p.major * 10 + p.minor < 89) {
    snprintf(info->fp8_why, sizeof info->fp8_why,
             "the GPU (compute capability %d.%d) has no FP8 tensor cores "
             "(8.9 or newer)",
             p.major, p.minor);
  } else if (load_lt(&h->l, info->fp8_why, sizeof info->fp8_why)) {
    if ((s = h->l.create(&h->lt)) != CUBLAS_STATUS_SUCCESS) {
      h->lt = NULL;
      fail_blas(h, s, "cublasLtCreate", 1, info->fp8_why, sizeof info->fp8_why);
    } else {
      h->fp8 = true;
    }
  }
  info->fp8 = h->fp8;
  *out = h;
  return 0;
}

// Device memory for one type's matrices (and FP8's workspace), when that
// much is free; the bytes in *need. 0, or -1 with the type released.
static int alloc_type(struct kiln_gemm *h, int type, int size, uint64_t *need,
                      char *why, size_t n) {
  uint64_t elems = (uint64_t)size * size;
  uint64_t in = elems * gemm_in_bytes(type), out = elems * gemm_out_bytes(type);
  *need = 2 * in + 2 * out + (type == KILN_GEMM_FP8 ? FP8_WORKSPACE : 0);
  size_t free_b = 0, total_b = 0;
  cudaError_t e;
  if ((e = cudaMemGetInfo(&free_b, &total_b)) != cudaSuccess)
    return kiln_cuda_fail(e, "cudaMemGetInfo", why, n);
  if (*need > free_b) {
    snprintf(why, n,
             "%s GEMMs of %d x %d need %llu MiB of device memory, %llu MiB "
             "free",
             gemm_type_name(type), size, size,
             (unsigned long long)(*need >> 20),
             (unsigned long long)(free_b >> 20));
    return -1;
  }
  if ((e = cudaMalloc(&h->a, in)) != cudaSuccess ||
      (e = cudaMalloc(&h->bm, in)) != cudaSuccess ||
      (e = cudaMalloc(&h->c, out)) != cudaSuccess ||
      (e = cudaMalloc(&h->ref, out)) != cudaSuccess ||
      (type == KILN_GEMM_FP8 &&
       (e = cudaMalloc(&h->ws, FP8_WORKSPACE)) != cudaSuccess)) {
    release_type(h);
    return kiln_cuda_fail(e, "cudaMalloc", why, n);
  }
  return 0;
}

// The inputs from the seed, then FP8's descriptors. 0, or an error with the
// type released.
static int fill_type(struct kiln_gemm *h, int type, uint64_t seed, char *why,
                     size_t n) {
  uint64_t elems = (uint64_t)h->n * h->n;
  int blocks = h->sms * 4, threads = 256;
  gemm_fill<<<blocks, threads, 0, h->stream>>>(h->a, elems, type, seed,
                                               2 * (uint64_t)type);
  gemm_fill<<<blocks, threads, 0, h->stream>>>(h->bm, elems, type, seed,
                                               2 * (uint64_t)type + 1);
  cudaError_t e;
  if ((e = cudaGetLastError()) != cudaSuccess ||
      (e = cudaMemsetAsync(h->chk, 0, sizeof *h->chk, h->stream)) !=
          cudaSuccess ||
      (e = cudaStreamSynchronize(h->stream)) != cudaSuccess) {
    release_type(h);
    return kiln_cuda_fail(e, "fill kernel", why, n);
  }
  if (type == KILN_GEMM_FP8) {
    int rc = setup_fp8(h, why, n);
    if (rc) {
      release_type(h);
      return rc;
    }
  }
  return 0;
}

// Iteration 0, the reference; then iteration 1 and its comparison, timed,
// into prep. 0, or an error with the type released.
static int first_gemms(struct kiln_gemm *h, int type,
                       struct kiln_gemm_prep *prep, char *why, size_t n) {
  // A cuBLAS refusal of FP8 is a note (1); of any other type, and any CUDA
  // error, an ERROR.
  cublasStatus_t s = run_gemm(h, h->ref);
  if (s != CUBLAS_STATUS_SUCCESS) {
    int rc = fail_blas(
        h, s, type == KILN_GEMM_FP8 ? "cublasLtMatmul" : "cublasGemmEx",
        type == KILN_GEMM_FP8 ? 1 : -1, why, n);
    release_type(h);
    return rc;
  }
  cudaError_t e;
  if ((e = cudaGetLastError()) != cudaSuccess ||
      (e = cudaStreamSynchronize(h->stream)) != cudaSuccess) {
    release_type(h);
    return kiln_cuda_fail(e, "reference GEMM", why, n);
  }
  h->iteration = 1;
  if ((e = cudaEventRecord(h->g0[0], h->stream)) != cudaSuccess) {
    release_type(h);
    return kiln_cuda_fail(e, "cudaEventRecord", why, n);
  }
  if ((s = run_gemm(h, h->c)) != CUBLAS_STATUS_SUCCESS) {
    int rc = fail_blas(h, s, "GEMM", -1, why, n);
    release_type(h);
    return rc;
  }
  float gemm_ms = 0, check_ms = 0;
  if ((e = cudaEventRecord(h->g1[0], h->stream)) == cudaSuccess &&
      (e = cudaEventRecord(h->g0[1], h->stream)) == cudaSuccess) {
    launch_compare(h, 1);
    if ((e = cudaGetLastError()) == cudaSuccess &&
        (e = cudaEventRecord(h->g1[1], h->stream)) == cudaSuccess &&
        (e = cudaEventSynchronize(h->g1[1])) == cudaSuccess &&
        (e = cudaEventElapsedTime(&gemm_ms, h->g0[0], h->g1[0])) == cudaSuccess)
      e = cudaEventElapsedTime(&check_ms, h->g0[1], h->g1[1]);
  }
  if (e != cudaSuccess) {
    release_type(h);
    return kiln_cuda_fail(e, "first timed GEMM", why, n);
  }
  prep->gemm_ms = gemm_ms;
  prep->check_ms = check_ms;
  return 0;
}

extern "C" int kiln_gemm_prepare(struct kiln_gemm *h, int type, int size,
                                 uint64_t seed, struct kiln_gemm_prep *prep,
                                 char *why, size_t n) {
  release_type(h);
  memset(prep, 0, sizeof *prep);
  if (type < 0 || type >= KILN_GEMM_NTYPES || size < 64 || size % 64) {
    snprintf(why, n, "bad GEMM type %d or size %d", type, size);
    return -1;
  }
  if (type == KILN_GEMM_FP8 && !h->fp8) {
    snprintf(why, n, "FP8 needs cuBLASLt and compute capability 8.9 or newer");
    return 1;
  }
  h->type = type;
  h->n = size;
  uint64_t need = 0;
  int rc = alloc_type(h, type, size, &need, why, n);
  if (rc)
    return rc;
  prep->bytes = need;
  if ((rc = fill_type(h, type, seed, why, n)) != 0 ||
      (rc = first_gemms(h, type, prep, why, n)) != 0)
    return rc;
  h->last_checked = true;
  h->prepared = true;
  return 0;
}

extern "C" int kiln_gemm_launch(struct kiln_gemm *h, int iters, int every,
                                char *why, size_t n) {
  if (!h->prepared || h->pending || iters < 1 || iters > KILN_GEMM_MAX_BATCH ||
      every < 0) {
    snprintf(why, n, "GEMM batch of %d: %s", iters,
             !h->prepared ? "no type prepared"
             : h->pending ? "a batch is still queued"
                          : "bad size or check interval");
    return -1;
  }
  bool each = every > 0;
  cudaError_t e = cudaEventRecord(h->t_start, h->stream);
  int checks = 0;
  for (int i = 0; i < iters && e == cudaSuccess; i++) {
    uint64_t it = ++h->iteration;
    if (each && (e = cudaEventRecord(h->g0[i], h->stream)) != cudaSuccess)
      break;
    cublasStatus_t s = run_gemm(h, h->c);
    if (s != CUBLAS_STATUS_SUCCESS) {
      cudaStreamSynchronize(h->stream);
      return fail_blas(h, s, "GEMM", -1, why, n);
    }
    if (each && (e = cudaEventRecord(h->g1[i], h->stream)) != cudaSuccess)
      break;
    h->last_checked = each && it % (uint64_t)every == 0;
    if (h->last_checked) {
      launch_compare(h, it);
      checks++;
    }
  }
  if (e == cudaSuccess)
    e = cudaEventRecord(h->t_end, h->stream);
  if (e == cudaSuccess)
    e = cudaGetLastError();
  if (e != cudaSuccess)
    return kiln_cuda_fail(e, "queueing GEMMs", why, n);
  h->pending = true;
  h->batch_each = each;
  h->batch_gemms = iters;
  h->batch_checks = checks;
  return 0;
}

extern "C" int kiln_gemm_wait(struct kiln_gemm *h, double timeout,
                              struct kiln_gemm_batch *out, char *why,
                              size_t n) {
  memset(out, 0, sizeof *out);
  if (!h->pending) {
    snprintf(why, n, "no GEMM batch queued");
    return -1;
  }
  double end = mono_now() + timeout;
  cudaError_t e;
  for (;;) {
    e = cudaEventQuery(h->t_end);
    if (e == cudaSuccess)
      break;
    if (e != cudaErrorNotReady)
      return kiln_cuda_fail(e, "GEMM batch", why, n);
    if (mono_now() >= end)
      return 2;
    struct timespec ts = {0, 100000};
    nanosleep(&ts, NULL);
  }
  h->pending = false;
  float total = 0;
  if ((e = cudaEventElapsedTime(&total, h->t_start, h->t_end)) != cudaSuccess)
    return kiln_cuda_fail(e, "cudaEventElapsedTime", why, n);
  double sum = 0;
  for (int i = 0; i < h->batch_gemms; i++) {
    float ms = total / (float)h->batch_gemms;
    if (h->batch_each &&
        (e = cudaEventElapsedTime(&ms, h->g0[i], h->g1[i])) != cudaSuccess)
      return kiln_cuda_fail(e, "cudaEventElapsedTime", why, n);
    h->each_ms[i] = ms;
    sum += ms;
  }
  out->gemms = h->batch_gemms;
  out->checks = h->batch_checks;
  out->gemm_ms = sum;
  out->total_ms = total;
  out->each_ms = h->each_ms;
  return 0;
}

extern "C" int kiln_gemm_check_last(struct kiln_gemm *h, char *why, size_t n) {
  if (!h->prepared) {
    snprintf(why, n, "no GEMM type prepared");
    return -1;
  }
  cudaError_t e;
  if (!h->last_checked) {
    launch_compare(h, h->iteration);
    h->last_checked = true;
    if ((e = cudaGetLastError()) != cudaSuccess)
      return kiln_cuda_fail(e, "compare kernel", why, n);
  }
  if ((e = cudaStreamSynchronize(h->stream)) != cudaSuccess)
    return kiln_cuda_fail(e, "compare kernel", why, n);
  h->pending = false;
  return 0;
}

extern "C" int kiln_gemm_read_check(struct kiln_gemm *h,
                                    struct kiln_gemm_check *out, char *why,
                                    size_t n) {
  memset(out, 0, sizeof *out);
  struct dev_check d;
  memset(&d, 0, sizeof d);
  cudaError_t e;
  if ((e = cudaMemcpyAsync(&d, h->chk, sizeof d, cudaMemcpyDeviceToHost,
                           h->stream)) != cudaSuccess ||
      (e = cudaStreamSynchronize(h->stream)) != cudaSuccess)
    return kiln_cuda_fail(e, "reading the comparison", why, n);
  out->checks = h->checks;
  out->count = d.count;
  out->inexact = d.inexact;
  out->index = d.index;
  out->iteration = d.iteration;
  out->expected_bits = d.expected;
  out->actual_bits = d.actual;
  return 0;
}

extern "C" void kiln_gemm_inject(struct kiln_gemm *h, uint64_t *row,
                                 uint64_t *col) {
  uint64_t r = (uint64_t)h->n / 3 + 1, c = (uint64_t)h->n / 2 + 3;
  h->inject = h->prepared;
  h->inject_index = c * (uint64_t)h->n + r;
  *row = r;
  *col = c;
}

extern "C" void kiln_gemm_close(struct kiln_gemm *h) {
  if (h)
    destroy(h);
}
