#!/usr/bin/python3
"""The line page driven in headless Chromium (selenium), against a running
`kiln serve` at URL, printing TAP (the plan at the end).

  linepage.py URL FIXTURE_OCP SQLITE_DB [SCREENSHOT.png]

It uploads, as DUTs would: ten passing runs of one SKU and an eleventh 5%
under them (an outlier although it passes), then three DUTs at once (the
fixture stream with its timestamps moved to now, one serial hostile), in
batches over time. The same page object must show the three live, then
their verdicts, without a reload; the hostile serial and host must render
as text; /runs/<id> and /serials/<serial> must show the right runs; the
outlier must be marked on the page and in the API; a DUT whose last line
came 3 minutes ago (its last_seen set back in the server's SQLite store:
no test waits 2 minutes) must show as silent. Then three real `kiln run
--upload` at once ($KILN, a short CPU profile, in $TEST_TMP) must show
live on one page object and then with their verdicts."""

import datetime
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

BASE, FIXTURE, DB = sys.argv[1], sys.argv[2], sys.argv[3]
SHOT = sys.argv[4] if len(sys.argv) > 4 else None
HOSTILE = "A<&>\"'B\x01Z"
HOSTILE_HOST = '<img src=x onerror="window.__xss=1">'
SKU = "h100-sxm5-80gb"
count = 0
failed = 0


def ok(cond, desc, diag=None):
    global count, failed
    count += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", count, desc), flush=True)
    if not cond:
        failed += 1
        if diag is not None:
            for line in str(diag).splitlines()[:20]:
                print("#   " + line, flush=True)


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def http(method, path, body=None):
    req = urllib.request.Request(BASE + path, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def post(run, first, lines):
    body = "".join(line + "\n" for line in lines).encode()
    status, reply = http("POST", "/api/v1/runs/%s/ocp?first=%d" % (run, first), body)
    if status != 200:
        raise SystemExit("# POST %s first %d: %d %s" % (run, first, status, reply))


def record(seq, t, obj):
    obj["sequenceNumber"] = seq
    obj["timestamp"] = stamp(t)
    return json.dumps(obj, separators=(",", ":"))


def sibling_run(serial, value, t):
    """A passing run of one step with one measurement, as kiln writes it."""
    recs = [
        {"schemaVersion": {"major": 2, "minor": 0}},
        {"testRunArtifact": {"testRunStart": {
            "name": "kiln", "version": "0.1.0", "commandLine": "kiln run",
            "parameters": {"profile": "line-e2e", "sku": SKU,
                           "plannedSteps": ["gpu.membw[0]"],
                           "plannedSeconds": 60.0},
            "dutInfo": {"dutInfoId": serial, "name": "rack1",
                        "metadata": {"serial": serial}}}}},
        {"testStepArtifact": {"testStepId": "0",
                              "testStepStart": {"name": "gpu.membw[0]"}}},
        {"testStepArtifact": {"testStepId": "0", "measurement": {
            "name": "bandwidth_gbps", "value": value, "unit": "GB/s",
            "validators": [{"name": "lo", "type": "GREATER_THAN_OR_EQUAL",
                            "value": 3000.0}],
            "subcomponent": {"name": "gpu0"}}}},
        {"testStepArtifact": {"testStepId": "0",
                              "testStepEnd": {"status": "COMPLETE"}}},
        {"testRunArtifact": {"testRunEnd": {"status": "COMPLETE",
                                            "result": "PASS"}}},
    ]
    return [record(i, t + datetime.timedelta(seconds=i), r)
            for i, r in enumerate(recs)]


TS = re.compile(r'"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z"')


def dut_stream(serial, host, start):
    """The fixture's stream as one more DUT's: its serial and host, its
    times moved to start, its planned duration."""
    lines = open(FIXTURE, encoding="utf-8").read().splitlines()
    t0 = datetime.datetime.strptime(TS.search(lines[0]).group(1),
                                    "%Y-%m-%dT%H:%M:%S.%f")
    shift = start - t0

    def moved(m):
        t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f")
        return '"%s"' % stamp(t + shift)

    lines = [TS.sub(moved, line) for line in lines]
    head = json.loads(lines[1])
    dut = head["testRunArtifact"]["testRunStart"]["dutInfo"]
    dut["dutInfoId"] = serial
    dut["name"] = host
    dut["metadata"]["serial"] = serial
    # as kiln writes it now (the fixture's kiln did not yet)
    head["testRunArtifact"]["testRunStart"]["parameters"]["plannedSeconds"] = 62.0
    lines[1] = json.dumps(head, separators=(",", ":"))
    return lines


def wait_for(fn, timeout=15.0):
    end = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() > end:
            return v
        time.sleep(0.25)


def api(path):
    status, body = http("GET", path)
    return status, json.loads(body)


# ---- the line's own judgement: ten siblings and one 5% under them ----

now = datetime.datetime.utcnow()
values = [4000, 4040, 3960, 4020, 3980, 4010, 3990, 4030, 3970, 4000]
for i, v in enumerate(values):
    post("sib-%d" % i, 0,
         sibling_run("SN-SIB-%02d" % i, float(v),
                     now - datetime.timedelta(minutes=50 - i)))
post("low", 0, sibling_run("SN-LOW", 3800.0, now - datetime.timedelta(minutes=30)))
status, low = api("/api/v1/runs/low")
outliers = low.get("outliers", [])
ok(status == 200 and len(outliers) == 1
   and outliers[0]["measurement"] == "bandwidth_gbps"
   and outliers[0]["value"] == 3800 and outliers[0]["median"] == 4000
   and outliers[0]["siblings"] == 10,
   "API: the run 5% under its 10 siblings has one outlier, bandwidth_gbps",
   low)
status, sib = api("/api/v1/runs/sib-3")
ok(status == 200 and sib.get("outliers") == [],
   "API: a sibling within the line has none", sib)

# ---- three DUTs at once ----

opts = Options()
for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
          "--disable-dev-shm-usage", "--window-size=1500,900"):
    opts.add_argument(a)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                          options=opts)
try:
    driver.get(BASE + "/")
    driver.execute_script("window.__samePage = 'kiln-line';")
    duts = {
        "dut-a": dut_stream("SN-A-0001", "rack1-u01", now - datetime.timedelta(seconds=40)),
        "dut-b": dut_stream("SN-B-0002", "rack1-u02", now - datetime.timedelta(seconds=35)),
        "dut-h": dut_stream(HOSTILE, HOSTILE_HOST, now - datetime.timedelta(seconds=30)),
    }
    n = len(duts["dut-a"])
    sent = 0
    for stop in (150, 300, 450):
        for run, lines in duts.items():
            post(run, sent, lines[sent:stop])
        sent = stop
        time.sleep(0.4)

    def polls():
        return int(driver.execute_script(
            "return document.body.getAttribute('data-polls')") or 0)

    def rows(table):
        """The table's rows as the page has them now, read in one go (the
        page re-renders every 2 s: no element is held across calls)."""
        return {r["run"]: r for r in driver.execute_script("""
            return Array.from(document.querySelectorAll(
                '#' + arguments[0] + ' tbody tr')).map(tr => ({
              run: tr.getAttribute('data-run'), cls: tr.className,
              cells: Array.from(tr.cells).map(c => c.textContent),
              serial: tr.querySelector('a') && tr.querySelector('a').textContent,
              serialChildren: tr.querySelector('a') && tr.querySelector('a').children.length,
              outliers: Array.from(tr.querySelectorAll('.outlier')).map(o => o.textContent),
              badge: tr.querySelector('.badge') && tr.querySelector('.badge').textContent}));
            """, table)}

    # Two renders after the last batch: the page has seen all of it.
    p0 = polls()
    got = wait_for(lambda: polls() >= p0 + 2 and set(duts) <= set(rows("live"))
                   and rows("live"))
    ok(got and set(duts) <= set(got),
       "the page shows the three DUTs in progress", got and list(got))
    ok(driver.execute_script("return window.__samePage") == "kiln-line" and polls() >= 3,
       "... on the same page object, updated by polling (no reload)", polls())
    cells = got["dut-a"]["cells"]
    ok(cells[1] == "rack1-u01" and cells[3] == "line-fixture"
       and "cpu.compute" in cells[6] and "0/2 steps" in cells[7]
       and cells[8] == "FAIL" and cells[5].endswith("s"),
       "a live row: host, profile, remaining, running steps, progress, verdict so far",
       cells)
    h = got["dut-h"]
    ok(h["serial"] == HOSTILE and h["serialChildren"] == 0,
       "the hostile serial renders as text, no element in it", h)
    ok(h["cells"][1] == HOSTILE_HOST
       and driver.execute_script("return document.querySelectorAll('img').length") == 0
       and driver.execute_script("return window.__xss") is None,
       "a hostile host name renders as text: no element injected, no script run")

    # dut-b's last line 3 minutes ago: silent (a DUT that hung)
    db = sqlite3.connect(DB, timeout=10)
    db.execute("UPDATE runs SET last_seen = ? WHERE id = 'dut-b'",
               (stamp(datetime.datetime.utcnow() - datetime.timedelta(minutes=3)),))
    db.commit()
    db.close()
    p0 = polls()
    live = wait_for(lambda: polls() >= p0 + 2 and rows("live"))
    ok("silent" in live["dut-b"]["cls"] and "silent 3m" in live["dut-b"]["cells"][9]
       and "silent" not in live["dut-a"]["cls"],
       "a DUT without a line for 3 minutes shows as silent, the others not",
       live["dut-b"])

    done = rows("finished")
    low = done.get("low", {})
    ok("has-outlier" in low.get("cls", "") and len(low.get("outliers", [])) == 1
       and "bandwidth_gbps" in low["outliers"][0],
       "the outlier is marked on the line page", low)
    ok(not any(done[r]["outliers"] for r in done if r.startswith("sib-")),
       "... and its siblings are not", done)

    if SHOT:
        driver.set_window_size(1680, 800)
        time.sleep(0.3)
        driver.save_screenshot(SHOT)
        size = os.path.getsize(SHOT)
        ok(0 < size < 200 * 1024, "screenshot of the line page (%d bytes)" % size)

    # the rest of the streams, over time: each ends (FAIL: cpu.sdc)
    for stop in (600, 750, n):
        for run, lines in duts.items():
            post(run, sent, lines[sent:stop])
        sent = stop
        time.sleep(0.4)

    def ended():
        live, done = rows("live"), rows("finished")
        if set(duts) & set(live) or not set(duts) <= set(done):
            return None
        return {r: done[r]["badge"] for r in duts}

    p0 = polls()
    done = wait_for(lambda: polls() >= p0 + 2 and ended())
    ok(done == {k: "FAIL" for k in duts},
       "then the three leave the live table with their verdicts", done)
    ok(driver.execute_script("return window.__samePage") == "kiln-line",
       "... still on the same page object")
    ytext = driver.find_element(By.ID, "yield").get_attribute("textContent")
    ok("cpu.compute" in ytext and "gpu.membw" in ytext,
       "first-pass yield by module", ytext)

    # ---- a run's page and a serial's ----
    status, _ = http("PUT", "/api/v1/runs/dut-h/files/report.html",
                     b"<!DOCTYPE html><title>report</title>")
    if status != 200:
        raise SystemExit("# PUT report.html: %d" % status)
    driver.get(BASE + "/runs/dut-h")
    body = driver.execute_script("return document.body.textContent")
    shown = HOSTILE.replace("\x01", "\u2401")  # XML cannot carry \x01
    ok(shown in body and HOSTILE_HOST in body
       and driver.execute_script("return document.querySelectorAll('img').length") == 0
       and driver.execute_script("return window.__xss") is None,
       "/runs/<id>: the hostile serial and host as text", body[:300])
    href = driver.find_element(By.CSS_SELECTOR, 'a[href^="/serials/"]').get_attribute("href")
    ok(urllib.parse.unquote(href.split("/serials/", 1)[1]) == HOSTILE,
       "/runs/<id>: links to its serial's runs, percent-encoded", href)
    tables = driver.execute_script(
        "return Array.from(document.querySelectorAll('table')).map(t => t.textContent)")
    links = [a.get_attribute("href") for a in driver.find_elements(By.TAG_NAME, "a")]
    ok(any("cpu.compute" in t and "thermal" in t for t in tables)
       and any("cpu-sdc" in t for t in tables)
       and BASE + "/api/v1/runs/dut-h/files/report.html" in links
       and BASE + "/api/v1/runs/dut-h/ocp.jsonl" in links,
       "/runs/<id>: its steps, diagnoses and files (report.html, ocp.jsonl)",
       links)
    driver.get(BASE + "/runs/low")
    marked = driver.find_elements(By.CSS_SELECTOR, "tr.outlier")
    ok(len(marked) == 1 and "bandwidth_gbps" in marked[0].text,
       "/runs/<id>: the outlier's measurement is marked")

    driver.get(BASE + "/serials/" + urllib.parse.quote(HOSTILE, safe=""))
    runs = [tr.get_attribute("data-run") for tr in
            driver.find_elements(By.CSS_SELECTOR, "tr[data-run]")]
    ok(runs == ["dut-h"], "/serials/<hostile serial>: its one run", runs)
    # a retest of SN-A, still going: two runs, newest first
    post("dut-a-retest", 0, dut_stream("SN-A-0001", "rack1-u01", now)[:50])
    driver.get(BASE + "/serials/SN-A-0001")
    runs = [tr.get_attribute("data-run") for tr in
            driver.find_elements(By.CSS_SELECTOR, "tr[data-run]")]
    ok(runs == ["dut-a-retest", "dut-a"],
       "/serials/<serial>: every run of the DUT, newest first", runs)
    # ---- three real `kiln run --upload` at once ----
    tmp = os.environ["TEST_TMP"]
    profile = os.path.join(tmp, "line-cpu.ini")
    with open(profile, "w") as f:
        f.write("[profile]\nname = line-cpu\nduration = 10s\n"
                "phase.1 = cpu.compute\n[cpu.compute]\n"
                "gflops_per_core.min = 0.01\n")
    driver.get(BASE + "/")
    driver.execute_script("window.__samePage = 'kiln-runs';")
    serials = ["SN-RUN-%d" % i for i in range(3)]
    procs = [subprocess.Popen(
        [os.environ.get("KILN", "build/kiln"), "run", "--profile", profile,
         "--serial", sn, "--report-dir", os.path.join(tmp, sn), "--quiet",
         "--upload", BASE], stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(tmp, sn + ".err"), "w")) for sn in serials]

    def by_serial(table):
        return {r["serial"]: r for r in rows(table).values()}

    live = wait_for(lambda: set(serials) <= set(by_serial("live"))
                    and by_serial("live"), timeout=20)
    ok(live and set(serials) <= set(live)
       and all(live[sn]["cells"][3] == "line-cpu" for sn in serials),
       "three kiln run --upload at once: all three live on the page",
       live and list(live))
    codes = [p.wait(timeout=90) for p in procs]
    p0 = polls()
    done = wait_for(lambda: polls() >= p0 + 2
                    and set(serials) <= set(by_serial("finished"))
                    and not set(serials) & set(by_serial("live"))
                    and by_serial("finished"))
    ok(codes == [0, 0, 0] and done
       and [done[sn]["badge"] for sn in serials] == ["PASS"] * 3
       and driver.execute_script("return window.__samePage") == "kiln-runs",
       "... then their verdicts (PASS, exit 0), on the same page object",
       (codes, done and {sn: done[sn]["badge"] for sn in serials if sn in done}))
finally:
    driver.quit()

print("1..%d" % count)
sys.exit(1 if failed else 0)
