/* Faults a station can inject (--inject) to prove kiln's detectors catch
 * them: each names the module that must catch it. */
#ifndef KILN_INJECT_H
#define KILN_INJECT_H

struct kiln_fault {
  const char *name;   /* "cpu.sdc" */
  const char *module; /* the module that must catch it, or NULL: any step */
  const char *summary;
};
extern const struct kiln_fault kiln_faults[]; /* {NULL}-terminated */
const struct kiln_fault *kiln_fault_find(const char *name);

#endif
