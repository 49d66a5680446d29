/* The first look at an uploaded OCP line: is it one JSON object (RFC 8259
 * grammar, valid UTF-8, no key twice in an object, no number that
 * overflows), what is its sequenceNumber, and does the store take it apart
 * (a run artifact, a step's start, end, measurement, diagnosis or error)?
 *
 * Why not jansson for all of it: building and freeing a jansson tree
 * costs about as much as storing the line, and the bulk of a stream
 * (measurement series elements, logs) is stored whole and never read
 * back apart. yajl's event parser checks the same grammar without a
 * tree; a line the store takes apart, or one too odd for the quick check
 * (an object with many keys, deep nesting), is parsed by jansson as well,
 * which then has the last word.
 * Layer: store (src/store/): uses yajl, no other layer. */
#ifndef KILN_STORE_LINE_CHECK_H
#define KILN_STORE_LINE_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kiln_line_check {
  bool object;           /* the line is a JSON object */
  bool has_sequence;     /* its sequenceNumber is an integer ... */
  int64_t sequence;      /* ... this one */
  bool taken_apart;      /* the store reads it apart (parse it in full) */
  bool needs_full_parse; /* the quick check could not judge all of it */
};

/* Checks line (len bytes). Returns 0 and fills c, or -1 with why the line
 * is not JSON ("lexical error: invalid char in json text (byte 12)",
 * "duplicate object key \"name\"") in why. */
int kiln_line_check(const char *line, size_t len, struct kiln_line_check *c,
                    char *why, size_t whyn);

#endif
