/* The libxml2 writing that junit.xml and report.html share (reports/ only,
 * not a public API): a file written atomically through an xmlTextWriter,
 * and element, attribute and text calls that remember the first error, so
 * a document is written straight through and checked once at the end.
 *
 * Every string from the run goes through xml_safe_text(): XML 1.0 cannot
 * carry C0 control bytes, not even as character references, so each shows
 * as its Unicode Control Picture, which a reader can map back; a hostile
 * serial can break neither the markup nor the XML. */
#ifndef KILN_REPORT_XML_H
#define KILN_REPORT_XML_H

#include <libxml/xmlwriter.h>
#include <stdbool.h>
#include <stddef.h>

/* Elements open at once, at most (deeper is an error). */
#define XML_MAX_DEPTH 32

/* How a document is laid out. */
struct xml_style {
  /* The writer's indentation ("  "), or NULL for none. */
  const char *indent;
  /* Without indentation: whether a newline follows the end of an element
   * (HTML's block elements), or NULL for never. */
  bool (*line_after)(const char *element);
};

struct xml_writer {
  xmlTextWriterPtr w;
  const struct xml_style *style;
  bool failed;                    /* the first error, sticky */
  bool line_after[XML_MAX_DEPTH]; /* of each open element */
  int depth;
};

/* Text any XML 1.0 document can carry: valid UTF-8 (bad bytes become
 * U+FFFD), control bytes and DEL as Unicode Control Pictures (U+2400 +
 * byte, U+2421), U+FFFE/U+FFFF as U+FFFD. malloc'd. */
char *xml_safe_text(const char *s);

/* Records a libxml2 return code (< 0: an error). */
void xml_check(struct xml_writer *x, int rc);
void xml_start(struct xml_writer *x, const char *element);
/* Ends the open element; one with no content closes as <e/> (an XML
 * element, a void HTML element such as <meta/>, an SVG shape). */
void xml_end(struct xml_writer *x);
/* Ends the open element with an explicit end tag (<td></td>, never <td/>,
 * which HTML5 reads as a start tag). */
void xml_end_full(struct xml_writer *x);
/* An attribute of plain ASCII the writer made itself (numbers, classes). */
void xml_attr_raw(struct xml_writer *x, const char *name, const char *value);
/* An attribute from the run, made safe. */
void xml_attr(struct xml_writer *x, const char *name, const char *value);
void xml_attrf(struct xml_writer *x, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void xml_text(struct xml_writer *x, const char *s);
void xml_textf(struct xml_writer *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* <el class="cls">s</el> with an explicit end tag (HTML); cls may be
 * NULL. */
void xml_element(struct xml_writer *x, const char *el, const char *cls,
                 const char *s);
/* <el id="id">s</el> with an explicit end tag (an HTML heading to link
 * to); id is plain ASCII. */
void xml_element_id(struct xml_writer *x, const char *el, const char *id,
                    const char *s);

/* Writes path atomically (temp file + rename): write_doc() writes the
 * whole document, from its XML declaration or DTD; a newline ends the
 * file. Returns 0, or -1 with "path: reason" in err; the previous file
 * then stays. */
int xml_write_file(const char *path, const struct xml_style *style,
                   void (*write_doc)(struct xml_writer *x, const void *ctx),
                   const void *ctx, char *err, size_t n);
/* The same document into memory (the line server's pages): *out malloc'd,
 * NUL-terminated, *len bytes. Returns 0, or -1 with the reason in err. */
int xml_write_memory(const struct xml_style *style,
                     void (*write_doc)(struct xml_writer *x, const void *ctx),
                     const void *ctx, char **out, size_t *len, char *err,
                     size_t n);

#endif
