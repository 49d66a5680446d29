#!/bin/sh
# A hostile serial (markup, quotes, a control byte, invalid UTF-8) must
# round-trip through every report format.
. tests/e2e/lib.sh
plan 9

serial=$(printf 'A<&>"\047B\001#x\377')
d="$TEST_TMP/esc"
run_kiln "$TEST_TMP/esc.out" run --profile "$FIXTURES/profiles/fast.ini" \
  --only cpu.compute --serial "$serial" --report-dir "$d"
is "run with a hostile serial passes" "$rc" 0
check_reports "$d" pass
# The invalid byte becomes U+FFFD everywhere; the rest must be exact.
check "OCP carries the serial exactly" "$PYTHON" -c '
import json, sys
want = "A<&>\"\x27B\x01#x\ufffd"
first = [json.loads(l) for l in open(sys.argv[1])]
start = [o for o in first if "testRunStart" in o.get("testRunArtifact", {})][0]
dut = start["testRunArtifact"]["testRunStart"]["dutInfo"]
assert want in json.dumps(dut, ensure_ascii=False) or dut["dutInfoId"] == want, dut
assert dut["dutInfoId"] == want, (dut["dutInfoId"], want)
' "$d/ocp.jsonl"
check "JUnit carries the serial (control byte as a Control Picture)" "$PYTHON" -c '
import sys, xml.etree.ElementTree as ET
want = "A<&>\"\x27B\x01#x\ufffd"
root = ET.parse(sys.argv[1]).getroot()
vals = [p.get("value") for p in root.iter("property") if p.get("name") == "serial"]
assert vals, "no serial property"
back = "".join(chr(ord(c) - 0x2400) if 0x2400 <= ord(c) < 0x2420 else c for c in vals[0])
assert back == want, (back, want)
' "$d/junit.xml"
like "summary shows the control byte escaped" "$d/summary.txt" 'A<&>"'"'"'B\\x01#x'
done_testing
