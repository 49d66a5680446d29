/* BMC connection settings for IPMI over the LAN (the "ipmi" telemetry
 * source, src/telemetry/telemetry_ipmi.c).
 *
 * The host comes from the command line (`--bmc HOST`, "HOST" or
 * "HOST:PORT"); the user name and password never do: they come from a
 * credentials file (`--bmc-credentials FILE`) or the environment
 * ($KILN_BMC_USER and $KILN_BMC_PASSWORD).
 *
 * A credentials file is either key lines or two bare lines:
 *
 *   # the burn-in station's BMC account      ADMIN
 *   user=ADMIN                               s3cret
 *   password=s3cret
 *
 * Key lines: "user=" (or "username=") and "password=", each once; blank
 * lines and lines starting with '#' are ignored. The value is what follows
 * '=', blanks before it skipped, kept as is to the end of the line (a CR
 * before the newline dropped). Bare lines: the first is the user, the
 * second the password, nothing after them. The file must not be readable,
 * writable or executable by group or others (chmod 600), like ssh's keys.
 *
 * The process-wide setting (kiln_bmc_set) is what the "ipmi" source's open()
 * uses: main.c sets it from --bmc and --bmc-credentials before the sampler
 * starts. Thread-safe. */
#ifndef KILN_BMC_H
#define KILN_BMC_H

#include <stdbool.h>
#include <stddef.h>

#define KILN_BMC_HOST_MAX 255
#define KILN_BMC_USER_MAX 16     /* IPMI's limit, in bytes */
#define KILN_BMC_PASSWORD_MAX 20 /* IPMI 2.0's limit, in bytes */

struct kiln_bmc {
  char host[KILN_BMC_HOST_MAX + 1]; /* "" when none is configured */
  char user[KILN_BMC_USER_MAX + 1];
  char password[KILN_BMC_PASSWORD_MAX + 1];
};

/* Reads user and password from the credentials file at path into b (host
 * untouched). False, with one line in err ("/etc/kiln/bmc: permissions 0644
 * are too open ..."), when the file is missing, unreadable, open to group
 * or others, malformed, or a value is too long for IPMI. */
bool kiln_bmc_read_credentials(const char *path, struct kiln_bmc *b, char *err,
                               size_t n);

/* Reads user and password from $KILN_BMC_USER and $KILN_BMC_PASSWORD (both
 * must be set; either may be empty). False, with err, otherwise. */
bool kiln_bmc_credentials_from_env(struct kiln_bmc *b, char *err, size_t n);

/* What --bmc HOST [--bmc-credentials FILE] does: checks host, reads the
 * credentials from the file, or from the environment when file is NULL,
 * and makes that the process-wide setting. False, with err and the setting
 * unchanged, on any error (host NULL or empty included). */
bool kiln_bmc_configure(const char *host, const char *credentials_file,
                        char *err, size_t n);

/* The process-wide setting: set copies *b (NULL or an empty host clears
 * it); get copies it into *out and returns whether a host is configured;
 * clear forgets it, wiping the password. */
void kiln_bmc_set(const struct kiln_bmc *b);
bool kiln_bmc_get(struct kiln_bmc *out);
void kiln_bmc_clear(void);

/* Wipes b (the password with it) in a way the compiler keeps. */
void kiln_bmc_wipe(struct kiln_bmc *b);

#endif
