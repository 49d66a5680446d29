/* What the CPU and DRAM stress modules (cpu.compute, dram.patterns,
 * dram.bandwidth) share around their worker threads: the CPUs a step may
 * use, the "kernel" parameter, starting a thread per CPU and the main
 * thread's wait between heartbeats. Each ends the step with the same
 * message in every module when something cannot be done. */
#ifndef KILN_STRESS_CPU_WORKER_H
#define KILN_STRESS_CPU_WORKER_H

#include <pthread.h>
#include <stdbool.h>

#include "kiln/step.h"

/* The logical CPUs this process may use (kiln_cpus_allowed), in a
 * kiln_xcalloc'ed array the caller frees, their count in *ncpu. NULL when
 * affinity cannot be read: the step has ended as ERROR. */
int *kiln_cpu_worker_cpus(struct kiln_step *s, int *ncpu);

/* The vector kernels each of these modules has, in this order (their own
 * enums follow it): "portable", "avx2", "avx512". */
#define KILN_CPU_KERNELS 3

/* The "kernel" parameter as an index into that order: "auto" (or unset) is
 * the widest one supported[] allows. A kernel the CPU lacks SKIPs the
 * step, an unknown name is an ERROR; both return -1. */
int kiln_cpu_worker_kernel(struct kiln_step *s,
                           const bool supported[KILN_CPU_KERNELS]);

/* pthread_create(tid, fn, arg) for the worker of one CPU; false, with the
 * step ended as ERROR naming the CPU, when the thread cannot start. */
bool kiln_cpu_worker_start(struct kiln_step *s, int cpu, pthread_t *tid,
                           void *(*fn)(void *), void *arg);

/* Sleeps a quarter of a second, or less to the step's deadline: the main
 * thread's pace between heartbeats while its workers run. */
void kiln_cpu_worker_nap(const struct kiln_step *s);

#endif
