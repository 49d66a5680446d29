/* File-system helpers the unit tests share. Those that write a fixture
 * fail the running cmocka test when they cannot. */
#ifndef KILN_TEST_FSUTIL_H
#define KILN_TEST_FSUTIL_H

#include <stdbool.h>

/* Removes path and everything below it (symlinks are not followed). */
void fs_rm_rf(const char *path);
/* Whether prog is an executable in a $PATH directory. */
bool fs_on_path(const char *prog);
/* Writes text to path, replacing what was there. */
void fs_write_file(const char *path, const char *text);
/* A GPU on a fixture sysfs PCI bus (as $KILN_SYSFS_PCI reads it): the
 * directory pci_dir/bus, new, with an NVIDIA vendor id, a 3D-controller
 * class and PCI device id device (e.g. "0x2330"; NULL: no device file). */
void fs_fake_gpu(const char *pci_dir, const char *bus, const char *device);

#endif
