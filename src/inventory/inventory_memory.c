/* Inventory source: memory. MemTotal from /proc/meminfo; every DIMM slot
 * from the SMBIOS structure table the kernel exports raw at
 * /sys/firmware/dmi/tables/DMI (readable by root only), memory device
 * structures (type 17). The table is firmware data: every read below is
 * bounds-checked against the table and against the structure's own length,
 * and a field past a structure's length is taken as absent (older SMBIOS
 * versions have shorter structures). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory_sources.h"
#include "kiln/textutil.h"

#define DMI_TABLE "/sys/firmware/dmi/tables/DMI"
#define DMI_TABLE_MAX (16u << 20) /* far beyond any real table */

/* Structure header: type, length of the formatted area, handle. */
#define SMB_HEADER 4
#define SMB_TYPE_MEMORY_DEVICE 17
#define SMB_TYPE_END 127

/* Memory device (type 17) field offsets, SMBIOS 3.x numbering. */
#define MD_SIZE 0x0C           /* WORD */
#define MD_LOCATOR 0x10        /* string */
#define MD_BANK_LOCATOR 0x11   /* string */
#define MD_TYPE 0x12           /* BYTE */
#define MD_SPEED 0x15          /* WORD, MT/s; 0xFFFF: see MD_EXT_SPEED */
#define MD_MANUFACTURER 0x17   /* string */
#define MD_SERIAL 0x18         /* string */
#define MD_PART 0x1A           /* string */
#define MD_EXT_SIZE 0x1C       /* DWORD, MiB, when MD_SIZE is 0x7FFF */
#define MD_CONF_SPEED 0x20     /* WORD, MT/s */
#define MD_EXT_SPEED 0x54      /* DWORD (3.3) */
#define MD_EXT_CONF_SPEED 0x58 /* DWORD (3.3) */

/* One structure: its formatted area and its string set. */
struct smb_struct {
  const uint8_t *p;
  size_t len;          /* of the formatted area */
  const uint8_t *strs; /* the string set, */
  size_t strs_len;     /* up to and including its final NUL */
};

static bool has(const struct smb_struct *s, size_t off, size_t size) {
  return off + size <= s->len;
}

static unsigned byte_at(const struct smb_struct *s, size_t off) {
  return s->p[off];
}

static unsigned word_at(const struct smb_struct *s, size_t off) {
  return (unsigned)s->p[off] | (unsigned)s->p[off + 1] << 8;
}

static uint32_t dword_at(const struct smb_struct *s, size_t off) {
  return (uint32_t)s->p[off] | (uint32_t)s->p[off + 1] << 8 |
         (uint32_t)s->p[off + 2] << 16 | (uint32_t)s->p[off + 3] << 24;
}

/* String number `off` names (1-based; 0: none), or "" when the field is
 * absent or the number is past the string set. */
static char *string_at(const struct smb_struct *s, size_t off) {
  if (!has(s, off, 1) || s->p[off] == 0)
    return kiln_xstrdup("");
  unsigned want = s->p[off];
  size_t pos = 0;
  for (unsigned i = 1; pos < s->strs_len; i++) {
    const uint8_t *nul = memchr(s->strs + pos, 0, s->strs_len - pos);
    if (!nul || nul == s->strs + pos) /* the string set's end */
      break;
    size_t len = (size_t)(nul - (s->strs + pos));
    if (i == want)
      return kiln_inv_clean_text((const char *)s->strs + pos, len);
    pos += len + 1;
  }
  return kiln_xstrdup("");
}

const char *kiln_inv_smbios_memory_type(unsigned type, char *buf, size_t n) {
  /* SMBIOS 3.x, 7.18.2: memory device type. */
  static const char *const names[] = {
      [0x01] = "Other",  [0x02] = "Unknown",
      [0x03] = "DRAM",   [0x04] = "EDRAM",
      [0x05] = "VRAM",   [0x06] = "SRAM",
      [0x07] = "RAM",    [0x08] = "ROM",
      [0x09] = "Flash",  [0x0A] = "EEPROM",
      [0x0B] = "FEPROM", [0x0C] = "EPROM",
      [0x0D] = "CDRAM",  [0x0E] = "3DRAM",
      [0x0F] = "SDRAM",  [0x10] = "SGRAM",
      [0x11] = "RDRAM",  [0x12] = "DDR",
      [0x13] = "DDR2",   [0x14] = "DDR2 FB-DIMM",
      [0x18] = "DDR3",   [0x19] = "FBD2",
      [0x1A] = "DDR4",   [0x1B] = "LPDDR",
      [0x1C] = "LPDDR2", [0x1D] = "LPDDR3",
      [0x1E] = "LPDDR4", [0x1F] = "Logical non-volatile device",
      [0x20] = "HBM",    [0x21] = "HBM2",
      [0x22] = "DDR5",   [0x23] = "LPDDR5",
      [0x24] = "HBM3",
  };
  if (type == 0)
    snprintf(buf, n, "%s", "");
  else if (type < sizeof names / sizeof *names && names[type])
    snprintf(buf, n, "%s", names[type]);
  else
    snprintf(buf, n, "type 0x%02X", type);
  return buf;
}

/* A speed WORD, with its 3.3 DWORD extension when the WORD is 0xFFFF. */
static int speed_at(const struct smb_struct *s, size_t off, size_t ext_off) {
  if (!has(s, off, 2))
    return 0;
  unsigned v = word_at(s, off);
  if (v != 0xFFFF)
    return (int)v;
  if (!has(s, ext_off, 4))
    return 0;
  uint32_t e = dword_at(s, ext_off) & 0x7FFFFFFFu; /* bit 31 reserved */
  return e > INT_MAX ? 0 : (int)e;
}

static void add_dimm(const struct smb_struct *s, struct kiln_inv_memory *mem) {
  struct kiln_inv_dimm d = {0};
  d.locator = string_at(s, MD_LOCATOR);
  d.bank_locator = string_at(s, MD_BANK_LOCATOR);
  d.manufacturer = string_at(s, MD_MANUFACTURER);
  d.serial = string_at(s, MD_SERIAL);
  d.part_number = string_at(s, MD_PART);
  char type[40];
  kiln_inv_smbios_memory_type(has(s, MD_TYPE, 1) ? byte_at(s, MD_TYPE) : 0,
                              type, sizeof type);
  d.type = kiln_xstrdup(type);
  unsigned size = has(s, MD_SIZE, 2) ? word_at(s, MD_SIZE) : 0xFFFF;
  d.populated = size != 0;
  if (size == 0x7FFF && has(s, MD_EXT_SIZE, 4))
    d.size_bytes = (uint64_t)(dword_at(s, MD_EXT_SIZE) & 0x7FFFFFFFu) << 20;
  else if (size == 0xFFFF || size == 0x7FFF)
    d.size_bytes = 0; /* unknown */
  else if (size & 0x8000)
    d.size_bytes = (uint64_t)(size & 0x7FFF) << 10;
  else
    d.size_bytes = (uint64_t)size << 20;
  if (d.populated) {
    d.speed_mts = speed_at(s, MD_CONF_SPEED, MD_EXT_CONF_SPEED);
    if (d.speed_mts == 0)
      d.speed_mts = speed_at(s, MD_SPEED, MD_EXT_SPEED);
    mem->dimm_total_bytes += d.size_bytes;
  }
  mem->dimms =
      kiln_xrealloc(mem->dimms, (mem->n_dimms + 1) * sizeof *mem->dimms);
  mem->dimms[mem->n_dimms++] = d;
}

int kiln_inv_smbios_dimms(const uint8_t *table, size_t len,
                          struct kiln_inv_memory *mem, char *why, size_t n) {
  size_t off = 0;
  while (off < len) {
    if (len - off < SMB_HEADER) {
      snprintf(why, n, "SMBIOS table truncated: %zu stray bytes at offset %zu",
               len - off, off);
      return -1;
    }
    unsigned type = table[off], slen = table[off + 1];
    if (slen < SMB_HEADER) {
      snprintf(why, n,
               "SMBIOS table malformed: structure at offset %zu (type %u) "
               "has length %u",
               off, type, slen);
      return -1;
    }
    if (slen > len - off) {
      snprintf(why, n,
               "SMBIOS table truncated: structure at offset %zu (type %u) "
               "runs past the end",
               off, type);
      return -1;
    }
    /* The string set: NUL-terminated strings, ended by one more NUL (two
     * NULs straight after the formatted area when there are none). */
    size_t s = off + slen, end = s;
    while (end + 1 < len && !(table[end] == 0 && table[end + 1] == 0))
      end++;
    if (end + 1 >= len) {
      snprintf(why, n,
               "SMBIOS table truncated: strings of the structure at offset "
               "%zu (type %u) are not terminated",
               off, type);
      return -1;
    }
    struct smb_struct st = {.p = table + off,
                            .len = slen,
                            .strs = table + s,
                            .strs_len = end + 2 - s};
    if (type == SMB_TYPE_MEMORY_DEVICE)
      add_dimm(&st, mem);
    else if (type == SMB_TYPE_END)
      return 0;
    off = end + 2;
  }
  return 0;
}

/* The whole file, up to DMI_TABLE_MAX bytes. Returns NULL with errno. */
static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, got = 0;
  uint8_t *buf = kiln_xcalloc(cap, 1);
  for (;;) {
    if (got == cap) {
      if (cap >= DMI_TABLE_MAX)
        break;
      cap *= 2;
      buf = kiln_xrealloc(buf, cap);
    }
    size_t r = fread(buf + got, 1, cap - got, f);
    got += r;
    if (r == 0)
      break;
  }
  int saved = ferror(f) ? (errno ? errno : EIO) : 0;
  fclose(f);
  if (saved) {
    free(buf);
    errno = saved;
    return NULL;
  }
  *len = got;
  return buf;
}

static char *dimms_from_smbios(struct kiln_inv_memory *mem) {
  char path[PATH_MAX];
  kiln_sysroot_path(path, sizeof path, DMI_TABLE);
  size_t len = 0;
  uint8_t *table = read_file(path, &len);
  if (!table) {
    if (errno == ENOENT)
      return kiln_xstrdup("no SMBIOS table at " DMI_TABLE);
    if (errno == EACCES || errno == EPERM)
      return kiln_xstrdup("needs root: " DMI_TABLE " is readable by root only");
    return kiln_strdup_printf("cannot read " DMI_TABLE ": %s", strerror(errno));
  }
  char why[256] = "";
  int rc = kiln_inv_smbios_dimms(table, len, mem, why, sizeof why);
  free(table);
  if (rc != 0)
    return mem->n_dimms ? kiln_strdup_printf("%s: the DIMM list may be "
                                             "incomplete",
                                             why)
                        : kiln_xstrdup(why);
  if (mem->n_dimms == 0)
    return kiln_xstrdup("the SMBIOS table lists no memory devices (type 17)");
  return kiln_xstrdup("");
}

static uint64_t mem_total(void) {
  char path[PATH_MAX];
  kiln_sysroot_path(path, sizeof path, "/proc/meminfo");
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  char line[256];
  uint64_t total = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long long kib;
    if (sscanf(line, "MemTotal: %llu kB", &kib) == 1) {
      total = kib <= UINT64_MAX / 1024 ? (uint64_t)kib * 1024 : 0;
      break;
    }
  }
  fclose(f);
  return total;
}

void kiln_inv_collect_memory(struct kiln_inv_memory *mem) {
  mem->mem_total_bytes = mem_total();
  mem->dimm_note = dimms_from_smbios(mem);
}
