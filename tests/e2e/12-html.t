#!/bin/sh
# report.html end to end: the real binary on the healthy umockdev board
# (libsensors' fans and temperatures sampled once a second by the thermal
# monitor) with silent data corruption injected into cpu.compute, so the
# page has a FAIL with its diagnosis and telemetry to plot. The page parses
# as HTML and as XML, carries the hostile serial, has one SVG plot per
# series of telemetry.csv with the limit lines the OCP stream gives that
# series, and renders in headless Chromium to a screenshot that is not
# blank and shows the red FAIL banner. On this machine, with no sensors
# at all, the page still draws the run's timeline: one bar per step,
# coloured by its verdict as the page's badges are, the monitors in a
# "whole run" row.
. tests/e2e/lib.sh
plan 17
UMD=$FIXTURES/umockdev
P=$TEST_TMP/html.ini
cat >"$P" <<'INI'
[profile]
name = html-test
duration = 3s
monitors = thermal
phase.1 = cpu.compute
[cpu.compute]
gflops_per_core.min = 0.1
[thermal]
hold = 2s
INI

d=$TEST_TMP/run
# Through the environment: umockdev-run takes only valid UTF-8 arguments.
SERIAL=$(printf 'SN<&>"\047x\001\377')
export KILN P d SERIAL
rc=0
umockdev-run -d "$UMD/healthy.umockdev" -- sh -c '"$KILN" run --profile "$P" \
  --inject cpu.sdc --serial "$SERIAL" --report-dir "$d"' \
  >"$TEST_TMP/run.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || sed 's/^/# /' "$TEST_TMP/run.out" | tail -20
is "cpu.sdc under umockdev: exit 1 (FAIL)" "$rc" 1
check "report.html written, no temp file left" sh -c '
  test -s "$1/report.html" && ! ls "$1" | grep -q "report.html.tmp"' - "$d"
check "xmllint --html parses it" xmllint --html --noout "$d/report.html"
# libxml2 2.9's HTML 4 parser knows no SVG: it may name those elements,
# and nothing else.
xmllint --html --noout "$d/report.html" >"$TEST_TMP/lint" 2>&1
grep 'HTML parser error' "$TEST_TMP/lint" |
  grep -Ev ': Tag (svg|rect|line|path|text) invalid$' >"$TEST_TMP/lint.other"
check "xmllint --html complains of nothing but SVG element names" \
  test ! -s "$TEST_TMP/lint.other"
check "well-formed XML (xmllint --noout)" xmllint --noout "$d/report.html"

check "verdict banner FAIL, exit code 1, serial carried" "$PYTHON" -c '
import sys, xml.etree.ElementTree as ET
NS = "{http://www.w3.org/1999/xhtml}"
root = ET.parse(sys.argv[1]).getroot()
def text(e): return "".join(e.itertext())
def unpicture(s):
    return "".join(chr(ord(c) - 0x2400) if 0x2400 <= ord(c) <= 0x241f
                   else c for c in s)
banner = next(e for e in root.iter() if e.get("id") == "verdict")
assert banner.get("data-verdict") == "FAIL", banner.attrib
assert "FAIL \u2014 exit code 1" in text(banner), text(banner)
serial = [e for e in root.iter() if e.get("data-field") == "serial"][0]
want = "SN<&>\"\x27x\x01\ufffd"
assert unpicture(text(serial)) == want, (text(serial), want)
' "$d/report.html"

check "the FAIL and its diagnosis come before the step table" "$PYTHON" -c '
import sys, xml.etree.ElementTree as ET
NS = "{http://www.w3.org/1999/xhtml}"
root = ET.parse(sys.argv[1]).getroot()
def text(e): return "".join(e.itertext())
order = [e.get("id") for e in root.iter(NS + "h2")]
assert order.index("failures") < order.index("steps"), order
fails = [text(e) for e in root.iter(NS + "div") if e.get("class") == "failure"]
assert fails and any(f.startswith("cpu.compute:") for f in fails), fails
assert any("cpu" in f for f in fails), fails
rows = {r.get("data-step"): text(r.findall(NS + "td")[3])
        for r in root.iter(NS + "tr") if r.get("data-step")}
assert rows.get("cpu.compute") == "FAIL", rows
assert rows.get("thermal") == "PASS", rows
' "$d/report.html"

check "one SVG plot per telemetry.csv series (and running figure), with the OCP stream's limits" \
  "$PYTHON" -c '
import csv, json, sys, xml.etree.ElementTree as ET
page, tel, ocp = sys.argv[1:4]
SVG = "{http://www.w3.org/2000/svg}"
series = {r["source"] + "/" + r["sensor"] for r in csv.DictReader(open(tel))}
assert len(series) >= 8, series  # the healthy board: 6 fans, temperatures
limits = {}
for line in open(ocp):
    s = json.loads(line).get("testStepArtifact", {}).get(
        "measurementSeriesStart")
    if s:
        if s["name"].endswith(", running)"):  # a running figure of a step
            series.add(s["measurementSeriesId"])
        limits[s["measurementSeriesId"]] = sorted(
            ("lo" if v["type"] == "GREATER_THAN_OR_EQUAL" else "hi",
             float(v["value"])) for v in s.get("validators", []))
assert set(limits) == series, (set(limits) ^ series)
root = ET.parse(page).getroot()
svgs = {}
for s in root.iter(SVG + "svg"):
    if s.get("id") == "timeline-svg":
        continue
    assert s.get("data-series") not in svgs, s.get("data-series")
    svgs[s.get("data-series")] = s
assert set(svgs) == series, (set(svgs) ^ series)
fans = 0
for sid, s in svgs.items():
    drawn = sorted((l.get("data-limit"), float(l.get("data-value")))
                   for l in s.iter(SVG + "line") if l.get("class") == "limit")
    assert drawn == limits[sid], (sid, drawn, limits[sid])
    assert [p for p in s.iter(SVG + "path") if p.get("class") == "mean"], sid
    if "/fan" in sid:
        fans += 1
        assert drawn and drawn[0][0] == "lo", (sid, drawn)
assert fans == 6, fans
' "$d/report.html" "$d/telemetry.csv" "$d/ocp.jsonl"

check "self-contained: no script, nothing to fetch" "$PYTHON" -c '
import re, sys
raw = open(sys.argv[1], encoding="utf-8").read()
assert "<script" not in raw.lower()
assert not re.findall(r"(?:src|href)=\"[^\"#]", raw)
assert set(re.findall(r"https?://[^\"]*", raw)) == {
    "http://www.w3.org/1999/xhtml", "http://www.w3.org/2000/svg"}
' "$d/report.html"

# ---- the timeline, on a machine with no sensors ----
n=$TEST_TMP/nosensors
run_kiln "$TEST_TMP/nosensors.out" run --profile "$P" --inject cpu.sdc \
  --only thermal,cpu.compute --report-dir "$n"
is "no sensors, cpu.sdc: exit 1 (FAIL)" "$rc" 1
like "no sensors: thermal SKIPs (so no telemetry plot)" "$n/results.tap" \
  "^ok [0-9]+ - thermal # SKIP no temperature or fan sensors"
check "xmllint --html parses the page with no sensors" \
  xmllint --html --noout "$n/report.html"
xmllint --html --noout "$n/report.html" >"$TEST_TMP/lint2" 2>&1
grep 'HTML parser error' "$TEST_TMP/lint2" |
  grep -Ev ': Tag (svg|rect|line|path|text) invalid$' >"$TEST_TMP/lint2.other"
check "... and complains of nothing but SVG element names" \
  test ! -s "$TEST_TMP/lint2.other"
check "an SVG timeline: one bar per step, coloured as the page's verdict badges, the FAIL red" \
  "$PYTHON" -c '
import re, sys, xml.etree.ElementTree as ET
NS, SVG = "{http://www.w3.org/1999/xhtml}", "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
assert not [s for s in root.iter(SVG + "svg")
            if (s.get("data-series") or "").startswith("sensors/")], \
    "a sensor plot on a machine with no sensors"
css = "".join(e.text or "" for e in root.iter(NS + "style"))
badge = dict(re.findall(r"\.v-([A-Z]+)\{background:(#[0-9a-f]{6})\}", css))
tl = [s for s in root.iter(SVG + "svg") if s.get("id") == "timeline-svg"]
assert len(tl) == 1, len(tl)
bars = [r for r in tl[0].iter(SVG + "rect") if r.get("class") == "step"]
verdicts = {}
for line in open(sys.argv[2]):
    m = re.match(r"(?:not )?ok \d+ - (\S+)(?: # SKIP .*)?$", line.rstrip())
    if m:
        verdicts[m.group(1)] = "SKIP" if "# SKIP" in line else None
assert sorted(b.get("data-step") for b in bars) == sorted(verdicts), \
    ([b.get("data-step") for b in bars], verdicts)
for b in bars:
    v = b.get("data-verdict")
    assert b.get("fill") == badge[v], (b.get("data-step"), v, b.get("fill"))
    assert float(b.get("width")) > 0, b.attrib
    names = [t for t in tl[0].iter(SVG + "text")
             if "".join(t.itertext()) == b.get("data-step")]
    assert names, "bar without its name: " + b.get("data-step")
byid = {b.get("data-step"): b for b in bars}
assert byid["cpu.compute"].get("data-verdict") == "FAIL"
assert byid["cpu.compute"].get("fill") == badge["FAIL"] == "#cf222e"
assert byid["thermal"].get("data-verdict") == "SKIP"
' "$n/report.html" "$n/results.tap"
check "the monitor reads \"whole run\" (timeline row, step details), never \"phase 1000\"" \
  "$PYTHON" -c '
import sys, xml.etree.ElementTree as ET
SVG = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
text = "".join(root.itertext())
assert "phase 1000" not in text, "phase 1000 on the page"
tl = [s for s in root.iter(SVG + "svg") if s.get("id") == "timeline-svg"][0]
rows = ["".join(t.itertext()) for t in tl.iter(SVG + "text")
        if t.get("text-anchor") == "end"]
assert rows == ["whole run", "phase 1"], rows
details = [e for e in root.iter() if e.get("id") == "step-1"]
assert "whole run" in "".join(details[0].itertext()) or \
    "whole run" in text, "step details"
' "$n/report.html"

# ---- headless Chromium ----
png=$TEST_TMP/report.png
if command -v chromium >/dev/null 2>&1; then
  # No network needed: every host resolves to nothing.
  timeout 120 chromium --headless --no-sandbox --disable-gpu \
    --hide-scrollbars --user-data-dir="$TEST_TMP/chromium" \
    --host-resolver-rules='MAP * ~NOTFOUND' --window-size=1280,2400 \
    --screenshot="$png" "file://$(cd "$d" && pwd)/report.html" \
    >"$TEST_TMP/chromium.out" 2>&1
  check "headless Chromium renders a screenshot" test -s "$png"
  # Decodes the PNG (8-bit RGB or RGBA, as Chromium writes it).
  check "the screenshot is not blank and shows the red FAIL banner" \
    "$PYTHON" -c '
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
assert depth == 8 and ctype in (2, 6), (depth, ctype)
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
rows, prev = [], bytearray(stride)
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:
                                                    (y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
            line[i] = (line[i] + pr) & 255
    rows.append(line)
    prev = line
def px(x, y): return tuple(rows[y][x * bpp:x * bpp + 3])
colours = {px(x, y) for y in range(0, h, 3) for x in range(0, w, 3)}
assert len(colours) > 50, len(colours)
white = sum(px(x, y) == (255, 255, 255) for y in range(0, h, 4)
            for x in range(0, w, 4))
assert white < 0.97 * (h // 4 + 1) * (w // 4 + 1), "almost all white"
r, g, b = px(w - 10, 10)  # the banner: #cf222e
assert r > 180 and g < 80 and b < 80, (r, g, b)
print("%dx%d, %d colours" % (w, h, len(colours)), file=sys.stderr)
' "$png"
else
  t_count=$((t_count + 1))
  echo "ok $t_count # SKIP chromium is not installed"
  t_count=$((t_count + 1))
  echo "ok $t_count # SKIP chromium is not installed"
fi
done_testing
