/* pcie.link: every PCIe link trained at what both ends can do (or what the
 * station spec says), and no AER errors logged.
 *
 * A link is judged at its downstream end (endpoint, switch upstream port,
 * PCIe-to-PCI bridge) against its own LnkCap, its port's LnkCap and the
 * spec's [pcie ...] section; all functions behind one port share the link,
 * so it is judged once, at the first of them. Root and downstream ports
 * with nothing behind them are empty slots, not failures (a missing device
 * is the inventory check's business). AER status bits are read from config
 * space; on the live bus the kernel's AER counters are compared with the
 * baseline the parent took at run start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/context.h"
#include "kiln/module.h"
#include "kiln/pci.h"
#include "kiln/result.h"
#include "kiln/spec.h"
#include "kiln/step.h"

/* AER Uncorrectable / Correctable Error Status bits (PCIe base spec
 * 7.8.4.2 and 7.8.4.5), with lspci's short names. */
struct aer_bit {
  int bit;
  const char *name, *what;
};

static const struct aer_bit uncorr_bits[] = {
    {0, "Undefined", "link training error"},
    {4, "DLP", "data link protocol error"},
    {5, "SDES", "surprise down"},
    {12, "TLP", "poisoned TLP received"},
    {13, "FCP", "flow control protocol error"},
    {14, "CmpltTO", "completion timeout"},
    {15, "CmpltAbrt", "completer abort"},
    {16, "UnxCmplt", "unexpected completion"},
    {17, "RxOF", "receiver overflow"},
    {18, "MalfTLP", "malformed TLP"},
    {19, "ECRC", "ECRC error"},
    {20, "UnsupReq", "unsupported request"},
    {21, "ACSViol", "ACS violation"},
    {22, "UncorrIntErr", "uncorrectable internal error"},
    {23, "BlockedTLP", "MC blocked TLP"},
    {24, "AtomicOpBlocked", "AtomicOp egress blocked"},
    {25, "TLPBlockedErr", "TLP prefix blocked"},
    {26, "PoisonTLPBlocked", "poisoned TLP egress blocked"},
    {27, "DMWrReqBlocked", "DMWr request egress blocked"},
    {28, "IDECheck", "IDE check failed"},
    {29, "MisIDETLP", "misrouted IDE TLP"},
    {30, "PCRC_CHECK", "PCRC check failed"},
    {31, "TLPXlatBlocked", "TLP translation egress blocked"},
    {-1, NULL, NULL},
};

static const struct aer_bit corr_bits[] = {
    {0, "RxErr", "receiver error"},
    {6, "BadTLP", "bad TLP"},
    {7, "BadDLLP", "bad DLLP"},
    {8, "Rollover", "REPLAY_NUM rollover"},
    {12, "Timeout", "replay timer timeout"},
    {13, "AdvNonFatalErr", "advisory non-fatal error"},
    {14, "CorrIntErr", "corrected internal error"},
    {15, "HeaderOF", "header log overflow"},
    {-1, NULL, NULL},
};

static const struct aer_bit *find_bit(const struct aer_bit *t, int bit) {
  for (; t->name; t++)
    if (t->bit == bit)
      return t;
  return NULL;
}

static int popcount32(uint32_t v) {
  int n = 0;
  for (; v; v &= v - 1)
    n++;
  return n;
}

/* "CmpltTO (completion timeout, non-fatal), ..." for the set bits. */
static void describe_bits(const struct aer_bit *table, uint32_t status,
                          const uint32_t *severity, char *buf, size_t n) {
  size_t len = 0;
  buf[0] = '\0';
  for (int bit = 0; bit < 32; bit++) {
    if (!(status & (1u << bit)) || len >= n)
      continue;
    const struct aer_bit *b = find_bit(table, bit);
    char one[96];
    const char *sev = "";
    if (severity)
      sev = (*severity & (1u << bit)) ? ", fatal" : ", non-fatal";
    if (b)
      snprintf(one, sizeof one, "%s (%s%s)", b->name, b->what, sev);
    else if (severity)
      snprintf(one, sizeof one, "bit %d (%s)", bit, sev + 2);
    else
      snprintf(one, sizeof one, "bit %d", bit);
    int w = snprintf(buf + len, n - len, "%s%s", len ? ", " : "", one);
    if (w > 0)
      len += (size_t)w;
  }
}

/* "NVIDIA Corporation GH100 [H100 SXM5 80GB]", or "Device aaaa:bbbb" when
 * pci.ids does not know it. */
static void full_name(const struct kiln_pci_bus *bus,
                      const struct kiln_pci_device *d, char *buf, size_t n) {
  char vendor[128], device[160], unknown[32];
  kiln_pci_vendor_name(bus, d, vendor, sizeof vendor);
  kiln_pci_device_name(bus, d, device, sizeof device);
  snprintf(unknown, sizeof unknown, "Device %04x:%04x", d->vendor_id,
           d->device_id);
  if (strcmp(device, unknown) == 0)
    snprintf(buf, n, "%s", device);
  else
    snprintf(buf, n, "%s %s", vendor, device);
}

static bool downstream_end(enum kiln_pcie_port p) {
  return p == KILN_PCIE_ENDPOINT || p == KILN_PCIE_LEGACY_ENDPOINT ||
         p == KILN_PCIE_UPSTREAM || p == KILN_PCIE_PCIE_TO_PCI;
}

enum source { SRC_NONE, SRC_DEVICE, SRC_PORT, SRC_BOTH, SRC_SPEC };

static void source_text(enum source src, const struct kiln_pci_device *port,
                        char *buf, size_t n) {
  switch (src) {
  case SRC_SPEC: snprintf(buf, n, "station spec"); break;
  case SRC_BOTH: snprintf(buf, n, "capability of both ends"); break;
  case SRC_PORT:
    snprintf(buf, n, "capability of port %s", port ? port->bdf : "?");
    break;
  default: snprintf(buf, n, "capability of the device"); break;
  }
}

struct tally {
  size_t checked, degraded;
};

/* Judges the link whose downstream end is d. */
static void judge_link(struct kiln_step *s, const struct kiln_pci_bus *bus,
                       const struct kiln_spec *spec,
                       const struct kiln_pci_device *d, struct tally *t) {
  const struct kiln_pcie_link *l = &d->link;
  const struct kiln_pci_device *port = NULL;
  if (d->parent >= 0 && (size_t)d->parent < bus->n &&
      bus->devs[d->parent].link.has_link)
    port = &bus->devs[d->parent];

  /* What both ends can do. */
  double gts = l->cap_gts;
  int width = l->cap_width;
  enum source sgts = SRC_DEVICE, swidth = SRC_DEVICE;
  if (port) {
    const struct kiln_pcie_link *pl = &port->link;
    if (pl->cap_gts > 0 && (gts <= 0 || pl->cap_gts < gts - 0.01))
      gts = pl->cap_gts, sgts = SRC_PORT;
    else if (pl->cap_gts > 0 && pl->cap_gts < gts + 0.01)
      sgts = SRC_BOTH;
    if (pl->cap_width > 0 && (width <= 0 || pl->cap_width < width))
      width = pl->cap_width, swidth = SRC_PORT;
    else if (pl->cap_width > 0 && pl->cap_width == width)
      swidth = SRC_BOTH;
  }
  /* What the station spec says overrides the capabilities. */
  const struct kiln_spec_link *sl = spec ? kiln_spec_link_for(spec, d) : NULL;
  if (sl && sl->gts > 0)
    gts = sl->gts, sgts = SRC_SPEC;
  if (sl && sl->width > 0)
    width = sl->width, swidth = SRC_SPEC;

  bool down = l->sta_width <= 0 || l->sta_gts <= 0;
  bool slow = gts > 0 && l->sta_gts < gts - 0.01;
  bool narrow = width > 0 && l->sta_width < width;
  char have[32], want[32];
  kiln_pcie_link_text(l->sta_gts, l->sta_width, have, sizeof have);
  kiln_pcie_link_text(gts > 0 ? gts : l->sta_gts,
                      width > 0 ? width : l->sta_width, want, sizeof want);
  t->checked++;
  if (!down && !slow && !narrow) {
    kiln_emit_log(s, KILN_SEV_DEBUG, "%s: %s, expected %s", d->bdf, have, want);
    return;
  }
  t->degraded++;
  char why[200], a[80], b[80];
  if (down) {
    slow = gts > 0;
    narrow = width > 0;
  }
  if (slow && narrow && sgts != swidth) {
    source_text(sgts, port, a, sizeof a);
    source_text(swidth, port, b, sizeof b);
    snprintf(why, sizeof why, "speed: %s; width: %s", a, b);
  } else {
    source_text(slow ? sgts : swidth, port, why, sizeof why);
  }
  char name[300];
  full_name(bus, d, name, sizeof name);
  kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "pcie-link-degraded", d->bdf,
                      "%s %s: %s, expected %s (%s)", d->bdf, name, have, want,
                      why);
}

/* AER status bits in config space. Returns the number of correctable
 * error types set. */
static int judge_aer_status(struct kiln_step *s, const struct kiln_pci_bus *bus,
                            const struct kiln_spec *spec,
                            const struct kiln_pci_device *d) {
  const struct kiln_pci_aer *aer = &d->aer;
  char name[300], bits[1024];
  if (aer->uncorr_status) {
    full_name(bus, d, name, sizeof name);
    describe_bits(uncorr_bits, aer->uncorr_status, &aer->uncorr_severity, bits,
                  sizeof bits);
    kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "pcie-aer-uncorrectable", d->bdf,
                        "%s %s: uncorrectable AER errors logged: %s "
                        "[UESta 0x%08x]",
                        d->bdf, name, bits, (unsigned)aer->uncorr_status);
  }
  int corr = popcount32(aer->corr_status);
  if (corr == 0)
    return 0;
  full_name(bus, d, name, sizeof name);
  describe_bits(corr_bits, aer->corr_status, NULL, bits, sizeof bits);
  kiln_emit_measurement(s, "aer_correctable", corr, d->bdf);
  if (spec && spec->aer_correctable_max >= 0 &&
      corr > spec->aer_correctable_max)
    kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "pcie-aer-correctable", d->bdf,
                        "%s %s: %d correctable AER error type%s logged: %s "
                        "[CESta 0x%08x]; station spec allows %ld",
                        d->bdf, name, corr, corr == 1 ? "" : "s", bits,
                        (unsigned)aer->corr_status, spec->aer_correctable_max);
  else
    kiln_emit_log(s, KILN_SEV_WARNING,
                  "%s %s: correctable AER errors logged: %s [CESta 0x%08x]",
                  d->bdf, name, bits, (unsigned)aer->corr_status);
  return corr;
}

/* The kernel's AER counters now against the parent's baseline. */
static void judge_aer_counters(struct kiln_step *s,
                               const struct kiln_pci_bus *bus,
                               const struct kiln_context *ctx) {
  if (!ctx->aer || ctx->n_aer == 0) {
    kiln_emit_log(s, KILN_SEV_INFO,
                  "no AER counter baseline from run start: only the AER "
                  "status bits in config space were judged");
    return;
  }
  const struct kiln_spec *spec = ctx->spec;
  for (size_t i = 0; i < ctx->n_aer; i++) {
    const struct kiln_aer_baseline *b = &ctx->aer[i];
    struct kiln_aer_counters now;
    if (kiln_aer_counters_read(b->bdf, &now) != 0) {
      kiln_emit_log(s, KILN_SEV_WARNING,
                    "%s: AER counters no longer readable (device gone?)",
                    b->bdf);
      continue;
    }
    if (now.correctable < b->start.correctable || now.fatal < b->start.fatal ||
        now.nonfatal < b->start.nonfatal) {
      kiln_emit_log(s, KILN_SEV_WARNING,
                    "%s: AER counters went down since run start (device "
                    "reset?); not judged",
                    b->bdf);
      continue;
    }
    uint64_t fatal = now.fatal - b->start.fatal;
    uint64_t nonfatal = now.nonfatal - b->start.nonfatal;
    uint64_t corr = now.correctable - b->start.correctable;
    if (!fatal && !nonfatal && !corr)
      continue;
    char name[300];
    const struct kiln_pci_device *d = kiln_pci_find(bus, b->bdf);
    if (d)
      full_name(bus, d, name, sizeof name);
    else
      snprintf(name, sizeof name, "(not on the bus now)");
    if (fatal || nonfatal)
      kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "pcie-aer-counter", b->bdf,
                          "%s %s: %llu fatal and %llu non-fatal uncorrectable "
                          "AER errors during the run",
                          b->bdf, name, (unsigned long long)fatal,
                          (unsigned long long)nonfatal);
    if (!corr)
      continue;
    kiln_emit_measurement(s, "aer_correctable_increase", (double)corr, b->bdf);
    if (spec && spec->aer_correctable_max >= 0 &&
        corr > (uint64_t)spec->aer_correctable_max)
      kiln_emit_diagnosis(s, KILN_DIAG_FAIL, "pcie-aer-counter", b->bdf,
                          "%s %s: %llu correctable AER errors during the run, "
                          "station spec allows %ld",
                          b->bdf, name, (unsigned long long)corr,
                          spec->aer_correctable_max);
    else
      kiln_emit_log(s, KILN_SEV_WARNING,
                    "%s %s: %llu correctable AER errors during the run", b->bdf,
                    name, (unsigned long long)corr);
  }
}

/* The links bus has to judge; none: 0, with the SKIP's reason in why. */
static size_t count_links(const struct kiln_pci_bus *bus, char *why, size_t n) {
  size_t links = 0, readable = 0;
  for (size_t i = 0; i < bus->n; i++) {
    links += bus->devs[i].link.has_link;
    readable += bus->devs[i].config_len > 64;
  }
  if (links > 0)
    snprintf(why, n, "%zu PCI devices, %zu with a link", bus->n, links);
  else if (!bus->from_dump && bus->n > 0 && readable == 0)
    snprintf(why, n,
             "reading PCIe link status needs root (the kernel "
             "shows others only 64 bytes of config space)");
  else if (bus->n == 0)
    snprintf(why, n,
             "no PCI Express links on this bus (no PCI devices "
             "visible at all)");
  else
    snprintf(why, n, "no PCI Express links on this bus");
  return links;
}

/* The bus the step reads: the run's inventory, else a scan of its own
 * (the run's --pci-dump, else the live bus) into own, which the caller
 * frees when *scanned. NULL, with err, when that scan fails. */
static const struct kiln_pci_bus *step_bus(struct kiln_pci_bus *own,
                                           bool *scanned, char *err, size_t n) {
  const struct kiln_context *ctx = kiln_context();
  *scanned = false;
  if (ctx->inventory)
    return &ctx->inventory->pci;
  if (kiln_pci_scan(ctx->pci_dump, own, err, n) != 0)
    return NULL;
  *scanned = true;
  return own;
}

/* The probe, kiln list's: the bus the step would read, judged by the
 * step's own count_links. */
static bool pcie_link_available(char *why, size_t n) {
  struct kiln_pci_bus own;
  bool scanned;
  char err[512];
  const struct kiln_pci_bus *bus = step_bus(&own, &scanned, err, sizeof err);
  if (!bus) {
    snprintf(why, n, "ERROR: %s", err);
    return false;
  }
  bool ok = count_links(bus, why, n) > 0;
  if (scanned)
    kiln_pci_free(&own);
  return ok;
}

static void pcie_link_run(struct kiln_step *s) {
  const struct kiln_context *ctx = kiln_context();
  struct kiln_pci_bus own;
  bool scanned;
  char err[512];
  kiln_emit_progress(s, 0);
  const struct kiln_pci_bus *bus = step_bus(&own, &scanned, err, sizeof err);
  if (!bus) {
    kiln_step_error(s, "%s", err);
    return;
  }

  char why[256];
  size_t links = count_links(bus, why, sizeof why);
  if (links == 0) {
    kiln_step_skip(s, "%s", why);
    if (scanned)
      kiln_pci_free(&own);
    return;
  }
  kiln_emit_log(s, KILN_SEV_INFO, "%zu PCI devices from %s, %zu with a link",
                bus->n, bus->source ? bus->source : "the inventory", links);

  const struct kiln_spec *spec = ctx->spec;
  bool *has_child = calloc(bus->n, sizeof *has_child);
  struct tally t = {0, 0};
  int corr_total = 0;
  bool any_aer = false;
  /* All functions on one port's bus share its link: judge it once. */
  int last_domain = -1, last_bus = -1, last_dev = -1;
  for (size_t i = 0; i < bus->n; i++) {
    const struct kiln_pci_device *d = &bus->devs[i];
    if (has_child && d->parent >= 0 && (size_t)d->parent < bus->n)
      has_child[d->parent] = true;
    if (d->aer.present) {
      any_aer = true;
      corr_total += judge_aer_status(s, bus, spec, d);
    }
    if (d->link.has_link && downstream_end(d->link.port)) {
      int dev = d->parent >= 0 ? -1 : d->dev;
      if (d->domain != last_domain || d->bus != last_bus || dev != last_dev)
        judge_link(s, bus, spec, d, &t);
      last_domain = d->domain, last_bus = d->bus, last_dev = dev;
    }
    if ((i + 1) % 64 == 0)
      kiln_emit_progress(s, 0.9 * (double)(i + 1) / (double)bus->n);
  }
  for (size_t i = 0; has_child && i < bus->n; i++) {
    const struct kiln_pci_device *d = &bus->devs[i];
    if (!has_child[i] && d->link.has_link && !downstream_end(d->link.port) &&
        d->link.sta_width > 0 && d->link.sta_gts > 0) {
      char have[32];
      kiln_pcie_link_text(d->link.sta_gts, d->link.sta_width, have,
                          sizeof have);
      kiln_emit_log(s, KILN_SEV_INFO,
                    "%s: port link up at %s with no device behind it in %s",
                    d->bdf, have, bus->from_dump ? "the capture" : "the bus");
    }
  }
  free(has_child);

  if (any_aer)
    kiln_emit_measurement(s, "aer_correctable", corr_total, NULL);
  if (bus->from_dump)
    kiln_emit_log(s, KILN_SEV_INFO,
                  "a capture has no AER counters: only the AER status bits "
                  "in config space were judged");
  else
    judge_aer_counters(s, bus, ctx);

  if (t.checked == 0)
    kiln_emit_log(s, KILN_SEV_INFO,
                  "no device links to judge: only ports with nothing behind "
                  "them");
  kiln_emit_measurement(s, "links_checked", (double)t.checked, NULL);
  kiln_emit_measurement(s, "links_degraded", (double)t.degraded, NULL);
  kiln_emit_progress(s, 1.0);
  if (scanned)
    kiln_pci_free(&own);
}

static const struct kiln_measurement_spec pcie_link_measurements[] = {
    {"links_checked", "", "PCIe links judged (at their downstream end)"},
    {"links_degraded", "",
     "links trained below both ends' capability or the station spec"},
    {"aer_correctable", "",
     "correctable AER error types set in config space (per device, and the "
     "host's total)"},
    {"aer_correctable_increase", "",
     "correctable AER errors the kernel counted during the run, per device"},
    {NULL, NULL, NULL},
};

static const struct kiln_param_spec pcie_link_params[] = {{0}};

const struct kiln_module kiln_module_pcie_link = {
    .name = "pcie.link",
    .summary = "PCIe links trained at full speed and width, no AER errors",
    .targets = KILN_TARGETS_HOST,
    .stress = false,
    .params = pcie_link_params,
    .measurements = pcie_link_measurements,
    .key_measurement = "links_degraded",
    .available = pcie_link_available,
    .run = pcie_link_run,
};
