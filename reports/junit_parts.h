/* The pieces of junit.xml (junit.c) that kiln merge's junit.xml is built
 * from too (reports/ only, not a public API). */
#ifndef KILN_JUNIT_PARTS_H
#define KILN_JUNIT_PARTS_H

#include "kiln/result.h"
#include "report_xml.h"

/* <property name= value=/> */
void junit_property(struct xml_writer *x, const char *name, const char *value);
/* One step's <testcase>: its outcome (<failure>, <error>, <skipped>) and
 * everything it reported in <system-out>, after preamble (or NULL). */
void junit_testcase(struct xml_writer *x, const struct kiln_step_result *s,
                    const char *classname, const char *preamble);

#endif
