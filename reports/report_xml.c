/* The libxml2 writer that junit.xml and report.html share: see
 * report_xml.h. */
#include "report_xml.h"

#include <errno.h>
#include <libxml/parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kiln/textutil.h"

char *xml_safe_text(const char *s) {
  char *valid = kiln_utf8_sanitize(s);
  size_t len = strlen(valid);
  unsigned char *out = kiln_xcalloc(len * 3 + 1, 1);
  unsigned char *o = out;
  for (const unsigned char *p = (const unsigned char *)valid; *p; p++) {
    unsigned char c = *p;
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
      *o++ = 0xe2;
      *o++ = 0x90;
      *o++ = c == 0x7f ? 0xa1 : (unsigned char)(0x80 + c);
    } else if (c == 0xef && p[1] == 0xbf && (p[2] == 0xbe || p[2] == 0xbf)) {
      memcpy(o, "\xef\xbf\xbd", 3);
      o += 3;
      p += 2;
    } else {
      *o++ = c;
    }
  }
  *o = 0;
  free(valid);
  return (char *)out;
}

/* ---- elements, attributes, text ---- */

void xml_check(struct xml_writer *x, int rc) {
  if (rc < 0)
    x->failed = true;
}

void xml_start(struct xml_writer *x, const char *element) {
  if (x->depth == XML_MAX_DEPTH)
    x->failed = true;
  if (x->failed)
    return;
  x->line_after[x->depth++] =
      x->style->line_after && x->style->line_after(element);
  xml_check(x, xmlTextWriterStartElement(x->w, BAD_CAST element));
}

static void ended(struct xml_writer *x, int rc) {
  xml_check(x, rc);
  if (!x->failed && x->line_after[--x->depth])
    xml_check(x, xmlTextWriterWriteRaw(x->w, BAD_CAST "\n"));
}

void xml_end(struct xml_writer *x) {
  if (!x->failed)
    ended(x, xmlTextWriterEndElement(x->w));
}

void xml_end_full(struct xml_writer *x) {
  if (!x->failed)
    ended(x, xmlTextWriterFullEndElement(x->w));
}

void xml_attr_raw(struct xml_writer *x, const char *name, const char *value) {
  if (!x->failed)
    xml_check(x,
              xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST value));
}

void xml_attr(struct xml_writer *x, const char *name, const char *value) {
  char *safe = xml_safe_text(value);
  xml_attr_raw(x, name, safe);
  free(safe);
}

/* vasprintf, or NULL with the writer failed. */
static char *vformat(struct xml_writer *x, const char *fmt, va_list ap) {
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0) {
    x->failed = true;
    return NULL;
  }
  return s;
}

void xml_attrf(struct xml_writer *x, const char *name, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *value = vformat(x, fmt, ap);
  va_end(ap);
  if (value)
    xml_attr(x, name, value);
  free(value);
}

void xml_text(struct xml_writer *x, const char *s) {
  char *safe = xml_safe_text(s);
  if (!x->failed)
    xml_check(x, xmlTextWriterWriteString(x->w, BAD_CAST safe));
  free(safe);
}

void xml_textf(struct xml_writer *x, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = vformat(x, fmt, ap);
  va_end(ap);
  if (s)
    xml_text(x, s);
  free(s);
}

void xml_element(struct xml_writer *x, const char *el, const char *cls,
                 const char *s) {
  xml_start(x, el);
  if (cls)
    xml_attr_raw(x, "class", cls);
  xml_text(x, s);
  xml_end_full(x);
}

void xml_element_id(struct xml_writer *x, const char *el, const char *id,
                    const char *s) {
  xml_start(x, el);
  xml_attr_raw(x, "id", id);
  xml_text(x, s);
  xml_end_full(x);
}

/* ---- the file ---- */

/* Output through a FILE; a write error is remembered (with errno) and the
 * rest is dropped, so libxml2 sees no error and prints nothing. */
struct io {
  FILE *f;
  int err;
};

static int io_write(void *ctx, const char *buf, int len) {
  struct io *io = ctx;
  if (!io->err && len > 0 && fwrite(buf, 1, (size_t)len, io->f) != (size_t)len)
    io->err = errno ? errno : EIO;
  return len;
}

static xmlTextWriterPtr new_writer(struct io *io,
                                   const struct xml_style *style) {
  xmlOutputBufferPtr out = xmlOutputBufferCreateIO(io_write, NULL, io, NULL);
  xmlTextWriterPtr w = out ? xmlNewTextWriter(out) : NULL;
  if (!w) {
    if (out)
      xmlOutputBufferClose(out);
    return NULL;
  }
  if (style->indent) {
    xmlTextWriterSetIndent(w, 1);
    xmlTextWriterSetIndentString(w, BAD_CAST style->indent);
  }
  return w;
}

int xml_write_file(const char *path, const struct xml_style *style,
                   void (*write_doc)(struct xml_writer *x, const void *ctx),
                   const void *ctx, char *err, size_t n) {
  xmlInitParser(); /* idempotent; libxml2 wants it before use by threads */
  struct kiln_atomic atomic;
  FILE *f = kiln_atomic_open(&atomic, path, err, n);
  if (!f)
    return -1;
  struct io io = {.f = f};
  struct xml_writer x = {.w = new_writer(&io, style), .style = style};
  if (!x.w) {
    snprintf(err, n, "%s: cannot start the XML writer", path);
    kiln_atomic_abort(&atomic);
    return -1;
  }
  write_doc(&x, ctx);
  xmlFreeTextWriter(x.w); /* flushes into io, closes the output */
  if (!io.err && !x.failed && fputc('\n', f) == EOF) /* the writer ends */
    io.err = errno ? errno : EIO;                    /* without one */
  if (io.err || x.failed) {
    if (io.err)
      snprintf(err, n, "%s: %s", path, strerror(io.err));
    else
      snprintf(err, n, "%s: could not build the report", path);
    kiln_atomic_abort(&atomic);
    return -1;
  }
  return kiln_atomic_commit(&atomic, err, n);
}

int xml_write_memory(const struct xml_style *style,
                     void (*write_doc)(struct xml_writer *x, const void *ctx),
                     const void *ctx, char **out, size_t *len, char *err,
                     size_t n) {
  xmlInitParser();
  *out = NULL;
  *len = 0;
  char *buf = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&buf, &size);
  if (!f) {
    snprintf(err, n, "cannot build the page: %s", strerror(errno));
    return -1;
  }
  struct io io = {.f = f};
  struct xml_writer x = {.w = new_writer(&io, style), .style = style};
  if (x.w) {
    write_doc(&x, ctx);
    xmlFreeTextWriter(x.w);
  }
  bool bad = !x.w || io.err || x.failed;
  bad = (!bad && fputc('\n', f) == EOF) || bad;
  bad = fclose(f) != 0 || bad; /* buf is whole (or NULL) only after this */
  if (bad) {
    free(buf);
    snprintf(err, n, "cannot build the page%s%s", io.err ? ": " : "",
             io.err ? strerror(io.err) : "");
    return -1;
  }
  *out = buf;
  *len = size;
  return 0;
}
