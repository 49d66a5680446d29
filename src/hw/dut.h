/* The device under test's identity, from DMI and the hostname. */
#ifndef KILN_DUT_H
#define KILN_DUT_H

#include "kiln/result.h"

/* Fills dut; serial_override (--serial) wins, else the DMI product serial
 * when it is a real one, else the hostname. */
void kiln_dut_probe(struct kiln_dut *dut, const char *serial_override);
/* A serial made safe for a directory name ([A-Za-z0-9._-], else '_'). */
void kiln_dut_path_name(const char *serial, char *buf, size_t n);

#endif
