/* File-system helpers the unit tests share. */
#ifndef KILN_TEST_FSUTIL_H
#define KILN_TEST_FSUTIL_H

#include <stdbool.h>

/* Removes path and everything below it (symlinks are not followed). */
void fs_rm_rf(const char *path);
/* Whether prog is an executable in a $PATH directory. */
bool fs_on_path(const char *prog);

#endif
