#include "kiln/context.h"

#include <string.h>

static struct kiln_context current;

const struct kiln_context *kiln_context(void) { return &current; }

void kiln_context_set(const struct kiln_context *c) {
  if (c)
    current = *c;
  else
    memset(&current, 0, sizeof current);
}
