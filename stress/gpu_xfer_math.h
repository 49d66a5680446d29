/* Host-side logic of pcie.bw and gpu.p2p that needs no GPU: the PCIe link
 * rate from sysfs's LnkSta strings, the link path from a GPU up to its root
 * port, the GPU's NUMA node and that node's CPUs, medians and shares, the
 * data pattern the copies carry and the P2P matrix as text. Plain C, unit
 * tested in tests/unit/test_gpu_xfer.c. Paths under /sys take the prefix in
 * $KILN_SYSROOT (kiln_sysroot_path). */
#ifndef KILN_GPU_XFER_MATH_H
#define KILN_GPU_XFER_MATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- PCIe link rate ---------------------------------------------------- */

/* sysfs current_link_speed ("32.0 GT/s PCIe", "2.5 GT/s", "8 GT/s") into
 * GT/s. False for "Unknown", an empty or malformed string, or a rate that
 * is not positive. */
bool kiln_pcie_parse_speed(const char *text, double *gts);
/* sysfs current_link_width ("16", also "x16") into lanes. False for 0,
 * malformed text, or more than 32 lanes. */
bool kiln_pcie_parse_width(const char *text, int *lanes);

/* The line code of a rate: 8b/10b up to 5 GT/s (Gen1, Gen2), 128b/130b for
 * 8, 16 and 32 GT/s (Gen3 to Gen5), and for 64 GT/s and above (Gen6 PAM4,
 * FLIT mode) 242/256: each 256-byte flit carries 236 bytes of TLP and 6 of
 * DLP, the rest is CRC and FEC. Fills the ratio and its name ("128b/130b");
 * false when the rate is not positive. */
bool kiln_pcie_encoding(double gts, int *num, int *den, const char **name);
/* Theoretical rate of one direction in GB/s (10^9 bytes/s): GT/s x lanes x
 * encoding / 8. 0 when the rate or width is not usable. */
double kiln_pcie_link_gbps(double gts, int lanes);
/* "32 GT/s x16", "2.5 GT/s x1". */
void kiln_pcie_link_name(double gts, int lanes, char *buf, size_t n);

/* The trained link of one PCI device, as its LnkSta reads in sysfs. */
struct kiln_xfer_link {
  char bdf[16];  /* "0000:1b:00.0" */
  bool ok;       /* speed and width both read and understood */
  double gts;    /* 32.0 */
  int lanes;     /* 16 */
  double gbps;   /* kiln_pcie_link_gbps, 0 when not ok */
  char why[128]; /* when not ok: "current_link_speed: Unknown", or
                    "current_link_speed: No such file or directory" */
};

/* Reads /sys/bus/pci/devices/<bdf>/current_link_{speed,width}. Returns
 * out->ok. */
bool kiln_xfer_read_link(const char *bdf, struct kiln_xfer_link *out);
/* Every link from the device at bdf up to its root port: the device's own
 * first, then each bridge above it that reports a link (a switch's
 * downstream and upstream ports, the root port), up to max. Returns how
 * many were written; 0 when the device is not in sysfs. */
size_t kiln_xfer_path_links(const char *bdf, struct kiln_xfer_link *out,
                            size_t max);
/* Index in links[0..n) of the link with the lowest theoretical rate among
 * those that are ok, or -1 when none is. */
int kiln_xfer_slowest_link(const struct kiln_xfer_link *links, size_t n);

/* --- NUMA -------------------------------------------------------------- */

/* /sys/bus/pci/devices/<bdf>/numa_node: the node, or -1 when unknown
 * (missing file, or the firmware gave none). */
int kiln_xfer_numa_node(const char *bdf);
/* A kernel CPU list ("0-15,32-47", "3", "" for none) into cpus (up to max,
 * ascending as written). Returns how many CPUs it names (may exceed max),
 * or -1 when malformed. */
int kiln_cpulist_parse(const char *text, int *cpus, int max);
/* /sys/devices/system/node/node<node>/cpulist parsed: the count, or -1
 * when unreadable or malformed. */
int kiln_xfer_node_cpus(int node, int *cpus, int max);
/* The node the pages of [p, p + bytes) lie on, sampled at up to 64 pages
 * (move_pages without moving): the node most of them are on. -1 when the
 * kernel cannot tell. */
int kiln_xfer_pages_node(const void *p, size_t bytes);

/* --- statistics -------------------------------------------------------- */

/* Sorts v[0..n) ascending and returns its median: the middle value, or the
 * mean of the two middle ones for even n. 0 for n == 0. */
double kiln_xfer_median(double *v, size_t n);
/* measured / link, or 0 when the link rate is unknown (not positive). */
double kiln_xfer_link_share(double measured, double link);
/* True when a link rate is known and measured falls below share of it. */
bool kiln_xfer_below_share(double measured, double link, double share);

/* "yes", "true", "on", "1" / "no", "false", "off", "0" (any case); false
 * when it is neither. */
bool kiln_xfer_parse_bool(const char *text, bool *out);

/* --- data pattern ------------------------------------------------------ */

/* The 64-bit word at index i of the pattern with seed. */
uint64_t kiln_xfer_pattern_word(uint64_t seed, uint64_t i);
/* Fills buf with the pattern (bytes rounded down to whole words). */
void kiln_xfer_pattern_fill(void *buf, size_t bytes, uint64_t seed);
/* Counts the words of buf that differ from the pattern; the first one's
 * index, expected and actual value into the pointers (when not NULL). */
uint64_t kiln_xfer_pattern_check(const void *buf, size_t bytes, uint64_t seed,
                                 uint64_t *first_index, uint64_t *expected,
                                 uint64_t *actual);

/* --- P2P matrix -------------------------------------------------------- */

/* The n x n matrix v (row: source, column: destination; v[i * n + j]) as
 * lines of text separated by '\n': a header of GPU indices, then one row
 * per source GPU labelled with its index and bus id. The diagonal shows
 * "-", a negative value "?" (not measured), and a pair with staged[i * n +
 * j] set has a "*" after its value (through the host). decimals: digits
 * after the point. Returns the length written (like snprintf, the length
 * it needed when buf is too small). */
size_t kiln_p2p_matrix_format(size_t n, const char (*bus_ids)[16],
                              const double *v, const bool *staged, int decimals,
                              char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
