#!/bin/sh
# scripts/gpu-proof.sh OUTDIR: one call that proves kiln on a machine with
# NVIDIA GPUs in under 8 minutes, and says so on one page, OUTDIR/proof.txt.
#
# Parts, in order, each bounded in time (timeout(1), else a watchdog of
# this script's own) and all of them by one budget, so that one hang cannot
# eat the rest: nvidia-smi -q (where present), kiln version, kiln list,
# kiln inventory --json, a kiln run of every GPU module (gpu.health first,
# alone, then each module in its own phase, gpu.power last), a run of
# gpu.memtest with --inject gpu.bitflip and of gpu.gemm with --inject
# gpu.sdc (each must FAIL naming the fault's symptom), and the GPU
# benchmarks (build/bench/{gpu_mem,gpu_gemm,pcie_bw}_bench, built here by
# `make bench-build`). Every output and report goes under OUTDIR.
#
# It never builds: kiln is ./build/kiln (built with nvcc elsewhere and
# carried over with build/). On a machine without GPUs every GPU step SKIPs
# (or is an ERROR where a GPU is on the bus that kiln cannot drive), and
# proof.txt says so.
#
# Exit 0 when every part was run (whatever the verdicts: proof.txt has
# them), 2 when the proof could not be run or written, 64 on bad usage.
#
# Environment: KILN (build/kiln), KILN_PROOF_BENCH_DIR (build/bench),
# KILN_PROOF_DURATION (20s: each stress step of the module run),
# KILN_PROOF_INJECT_DURATION (10s: each fault-injection run),
# KILN_PROOF_BUDGET (450: seconds for all parts together),
# KILN_PROOF_BENCH_LIMIT (120: seconds for each benchmark),
# KILN_PROOF_LIMITS (an INI file appended to the generated profile, e.g. a
# golden GPU's floors: `[gpu.membw]` `bandwidth_gbps.min = 4300`),
# KILN_PROOF_FAULTS (the faults to inject, one "FAULT MODULE SYMPTOM" a
# line; default gpu.bitflip gpu.memtest gpu-memory-bitflip and gpu.sdc
# gpu.gemm gpu-gemm-miscompare),
# KILN_PROOF_NO_TIMEOUT=1 (use the script's own watchdog, not timeout(1)).
set -u

me=gpu-proof
die() {
  echo "$me: $*" >&2
  exit 2
}
if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: scripts/gpu-proof.sh OUTDIR" >&2
  exit 64
fi

root=$(cd "$(dirname "$0")/.." && pwd) || die "cannot find the repository"
KILN=${KILN:-$root/build/kiln}
BENCH_DIR=${KILN_PROOF_BENCH_DIR:-$root/build/bench}
DURATION=${KILN_PROOF_DURATION:-20s}
INJECT_DURATION=${KILN_PROOF_INJECT_DURATION:-10s}
BUDGET=${KILN_PROOF_BUDGET:-450}
BENCH_LIMIT=${KILN_PROOF_BENCH_LIMIT:-120}
LIMITS=${KILN_PROOF_LIMITS:-}
# Each fault to inject: fault, module, the symptom its FAIL must carry.
FAULTS=${KILN_PROOF_FAULTS:-"gpu.bitflip gpu.memtest gpu-memory-bitflip
gpu.sdc gpu.gemm gpu-gemm-miscompare"}

# seconds D: a duration of the form N, Ns, Nm or Nh (not 0), in seconds.
seconds() {
  echo "$1" | awk '
    /^[0-9]+[smh]?$/ {
      n = $0 + 0; u = substr($0, length($0))
      print (u == "m") ? n * 60 : (u == "h") ? n * 3600 : n; ok = n > 0 }
    END { exit !ok }'
}
dur_s=$(seconds "$DURATION") ||
  die "KILN_PROOF_DURATION '$DURATION' is not a duration such as 20s or 1m"
inj_s=$(seconds "$INJECT_DURATION") ||
  die "KILN_PROOF_INJECT_DURATION '$INJECT_DURATION' is not a duration such as 10s"
for v in "KILN_PROOF_BUDGET=$BUDGET" "KILN_PROOF_BENCH_LIMIT=$BENCH_LIMIT"; do
  case ${v#*=} in
  '' | *[!0-9]*) die "${v%%=*} '${v#*=}' is not a number of seconds" ;;
  esac
done
echo "$FAULTS" | awk 'NF != 3 || seen[$1]++ { exit 1 }' ||
  die "KILN_PROOF_FAULTS: each line is FAULT MODULE SYMPTOM, each fault once"
[ -z "$LIMITS" ] || [ -r "$LIMITS" ] ||
  die "KILN_PROOF_LIMITS '$LIMITS' cannot be read"
[ -x "$KILN" ] || die "$KILN is not built (build it where nvcc is, with \`make\`, and carry build/ here)"

# OUTDIR: new or empty, so that every file in it is this proof's.
mkdir -p "$1" || die "cannot create $1"
[ -z "$(ls -A "$1")" ] || die "$1 is not empty: give a new directory"
OUT=$(cd "$1" && pwd) || die "cannot enter $1"
: >"$OUT/parts.txt" || die "cannot write in $OUT"

# The clock, in whole seconds: awk's srand() returns the time of day.
now() { awk 'BEGIN { srand(); print srand() }'; }
start=$(now)
deadline=$((start + BUDGET))
# Seconds kept back at the end for writing proof.txt.
RESERVE=3

have_timeout=0
if [ "${KILN_PROOF_NO_TIMEOUT:-0}" != 1 ] && command -v timeout >/dev/null 2>&1; then
  have_timeout=1
fi

# bounded LIMIT CMD...: CMD, sent SIGTERM after LIMIT seconds and SIGKILL
# 10 s later; returns 124 when it was stopped, else CMD's exit code.
bounded() {
  b_limit=$1
  shift
  if [ "$have_timeout" -eq 1 ]; then
    timeout -k 10 "$b_limit" "$@"
    return
  fi
  b_flag=$OUT/.stopped.$$
  rm -f "$b_flag"
  "$@" &
  b_pid=$!
  (
    # Ended early by its parent: the sleep must not outlive it.
    trap 'kill "$b_sleep" 2>/dev/null; exit 0' TERM
    sleep "$b_limit" &
    b_sleep=$!
    wait "$b_sleep"
    # The flag goes first: once CMD is signalled, its parent may end this
    # watcher (at CMD's end) before a later line could run.
    : >"$b_flag"
    kill -TERM "$b_pid" 2>/dev/null || {
      rm -f "$b_flag"
      exit 0
    }
    sleep 10 &
    b_sleep=$!
    wait "$b_sleep"
    kill -KILL "$b_pid" 2>/dev/null
  ) </dev/null >/dev/null 2>&1 &
  b_watch=$!
  b_rc=0
  wait "$b_pid" || b_rc=$?
  kill "$b_watch" 2>/dev/null
  wait "$b_watch" 2>/dev/null
  if [ -f "$b_flag" ]; then
    rm -f "$b_flag"
    return 124
  fi
  return "$b_rc"
}

# part NAME LIMIT OUTFILE CMD...: runs CMD bounded by LIMIT and by what is
# left of the budget, its output in OUTDIR/OUTFILE; one line in parts.txt:
# NAME|rc|seconds|what happened|OUTFILE. Sets part_rc (124: timed out,
# 125: not run).
part() {
  p_name=$1 p_limit=$2 p_file=$3
  shift 3
  p_start=$(now)
  p_left=$((deadline - p_start - RESERVE))
  [ "$p_limit" -le "$p_left" ] || p_limit=$p_left
  if [ "$p_limit" -lt 2 ]; then
    part_rc=125
    echo "$p_name|125|0|not run: out of time (budget ${BUDGET} s)|" >>"$OUT/parts.txt"
    return
  fi
  part_rc=0
  bounded "$p_limit" "$@" >"$OUT/$p_file" 2>&1 </dev/null || part_rc=$?
  p_took=$(($(now) - p_start))
  case $part_rc in
  124 | 137) part_rc=124 p_what="timed out after $p_limit s" ;;
  *) p_what="exit $part_rc" ;;
  esac
  echo "$p_name|$part_rc|$p_took|$p_what|$p_file" >>"$OUT/parts.txt"
}

# skipped NAME WHY: a part that could not be tried here.
skipped() {
  echo "$1|125|0|not run: $2|" >>"$OUT/parts.txt"
}

# ---- the machine and the build ----
if command -v nvidia-smi >/dev/null 2>&1; then
  part "nvidia-smi -q" 30 nvidia-smi-q.txt nvidia-smi -q
else
  skipped "nvidia-smi -q" "nvidia-smi not found (no NVIDIA driver installed?)"
fi
part "kiln version" 10 version.txt "$KILN" version
part "kiln list" 30 list.txt "$KILN" list
part "kiln inventory --json" 60 inventory.json "$KILN" inventory --json

# ---- every GPU module, one phase each ----
# From `kiln list` (gpu.* and pcie.bw), else the modules known today.
modules=$(awk '/^modules:/ { on = 1; next } /^[^ ]/ { on = 0 }
  on && ($1 ~ /^gpu\./ || $1 == "pcie.bw") { print $1 }' "$OUT/list.txt")
[ -n "$modules" ] || modules="gpu.health gpu.query gpu.memtest gpu.membw
gpu.gemm pcie.bw gpu.p2p gpu.power"
# gpu.health first and alone (before any CUDA context), gpu.power last
# (its heat would colour the others).
modules=$(echo "$modules" | tr '\n' ' ')
ordered=
for m in gpu.health $modules; do
  case " $modules " in *" $m "*) ;; *) continue ;; esac
  case " $ordered gpu.power " in *" $m "*) continue ;; esac
  ordered="$ordered $m"
done
case " $modules " in *" gpu.power "*) ordered="$ordered gpu.power" ;; esac
# A fault's module that is not a GPU module (KILN_PROOF_FAULTS) runs too.
for m in $(echo "$FAULTS" | awk '{ print $2 }'); do
  case " $ordered " in *" $m "*) ;; *) ordered="$ordered $m" ;; esac
done
ordered=${ordered# }

{
  echo "; written by scripts/gpu-proof.sh: every GPU module, one phase each"
  echo "[profile]"
  echo "name = gpu-proof"
  echo "description = every GPU module for a short time, gpu.health first"
  echo "duration = $DURATION"
  echo "grace = 30s"
  echo "hang_timeout = 60s"
  echo "monitors = thermal"
  n=0
  for m in $ordered; do
    n=$((n + 1))
    echo "phase.$n = $m"
  done
  if [ -n "$LIMITS" ]; then
    echo
    cat "$LIMITS"
  fi
} >"$OUT/proof.ini" || die "cannot write $OUT/proof.ini"

n_mod=$(echo "$ordered" | wc -w)
part "kiln run (GPU modules)" $((n_mod * (dur_s + 30) + 60)) run.out \
  "$KILN" run --profile "$OUT/proof.ini" --report-dir "$OUT/run" --no-tui

# ---- injected faults ----
echo "$FAULTS" | while read -r fault module symptom; do
  if ! awk -v f="$fault" '/^faults for --inject:/ { on = 1; next }
       /^[^ ]/ { on = 0 } on && $1 == f { found = 1 } END { exit !found }' \
    "$OUT/list.txt"; then
    skipped "inject $fault" "kiln list does not name the fault $fault"
    continue
  fi
  part "inject $fault" $((inj_s + 90)) "inject-$fault.out" \
    "$KILN" run --profile "$OUT/proof.ini" --only "$module" \
    --inject "$fault" --duration "$INJECT_DURATION" \
    --report-dir "$OUT/inject-$fault" --no-tui
done

# ---- the GPU benchmarks, each against its reference ----
mkdir -p "$OUT/bench" || die "cannot create $OUT/bench"
for b in "gpu_mem_bench --copies 10 --memtest-seconds 5" \
  "gpu_gemm_bench 8192 10" "pcie_bw_bench 5"; do
  # shellcheck disable=SC2086 # the benchmark and its arguments
  set -- $b
  if [ -x "$BENCH_DIR/$1" ]; then
    bin=$BENCH_DIR/$1
    shift
    part "bench $(basename "$bin")" "$BENCH_LIMIT" "bench/$(basename "$bin").out" "$bin" "$@"
  else
    skipped "bench $1" "bench not built (no $BENCH_DIR/$1: \`make bench-build\` where nvcc is)"
  fi
done

# ---- proof.txt ----

# tap_records DIR: one line per step of DIR/results.tap,
#   S|step|verdict|reason or message|symptoms (space-separated)
# and one per measurement,
#   M|step|name|value|unit|lo|hi|pass
tap_records() {
  [ -f "$1/results.tap" ] || return 0
  awk '
    function unq(s) {
      sub(/^[^:]*: /, "", s)
      if (s ~ /^".*"$/) s = substr(s, 2, length(s) - 2)
      gsub(/\\"/, "\"", s); gsub(/\\\\/, "\\", s); gsub(/\|/, "/", s)
      return s
    }
    function flush_m() {
      if (mname != "")
        print "M|" step "|" mname "|" mval "|" munit "|" mlo "|" mhi "|" mpass
      mname = ""; mval = munit = mlo = mhi = mpass = ""
    }
    function flush() {
      flush_m()
      if (step != "") print "S|" step "|" verdict "|" why "|" symptoms
      step = ""; verdict = why = symptoms = ""
    }
    /^(not )?ok [0-9]+ - / {
      flush()
      step = $0; sub(/^(not )?ok [0-9]+ - /, "", step); sub(/ # .*/, "", step)
      verdict = ($1 == "ok") ? "PASS" : "FAIL"
      next
    }
    /^  verdict: / { verdict = unq($0) }
    /^  reason: / { why = unq($0) }
    /^  message: / { if (why == "") why = unq($0) }
    /^    - name: / { flush_m(); mname = unq($0) }
    /^      value: / { mval = unq($0) }
    /^      unit: / { munit = unq($0) }
    /^      lo: / { mlo = unq($0) }
    /^      hi: / { mhi = unq($0) }
    /^      pass: / { mpass = unq($0) }
    /^    - symptom: / { flush_m(); symptoms = symptoms (symptoms == "" ? "" : " ") unq($0) }
    END { flush() }
  ' "$1/results.tap"
}

# part_field NAME N: field N of NAME's line in parts.txt.
part_field() {
  awk -F'|' -v n="$1" -v f="$2" '$1 == n { print $f; exit }' "$OUT/parts.txt"
}

# first_line FILE: FILE's first line that is not empty, shortened.
first_line() {
  [ -f "$1" ] && awk 'NF { print substr($0, 1, 150); exit }' "$1"
}

# cut_to N: each line of stdin shortened to N characters.
cut_to() { awk -v n="$1" '{ print (length($0) > n) ? substr($0, 1, n - 3) "..." : $0 }'; }

# fault_verdicts: one line per injected fault, caught or not and why
# (needs .run.records for why a module did not run).
fault_verdicts() {
  echo "$FAULTS" | while read -r fault module symptom; do
    dir=$OUT/inject-$fault
    rc=$(part_field "inject $fault" 2)
    what=$(part_field "inject $fault" 4)
    tap_records "$dir" | grep "^S|$module\(\[[0-9]*\]\)\{0,1\}|" >"$OUT/.inject.records"
    caught=$(awk -F'|' -v s="$symptom" '{ n = split($5, a, " ")
      for (i = 1; i <= n; i++) if (a[i] == s) { print $2 ": " $4; exit } }' \
      "$OUT/.inject.records")
    if [ "$rc" = 1 ] && [ -n "$caught" ]; then
      verdict="caught: exit 1, FAIL $symptom on $caught"
    elif [ "$rc" = 125 ]; then
      verdict="not run: ${what#not run: }"
    elif [ "$rc" = 124 ]; then
      verdict="not caught: the run $what"
    elif [ ! -s "$OUT/.inject.records" ]; then
      # kiln refuses a fault whose module does not run (exit 64): why it
      # does not is in the module run.
      why=$(awk -F'|' -v m="$module" '$2 ~ "^" m "(\\[[0-9]+\\])?$" && $3 != "PASS" {
        print $2 " " $3 ": " $4; exit }' "$OUT/.run.records")
      verdict="not run: ${why:+$why; }$what: $(first_line "$OUT/inject-$fault.out")"
    elif awk -F'|' '$3 == "SKIP" || $3 == "ERROR" || $3 == "ABORTED" { bad = 1 }
        END { exit !bad }' "$OUT/.inject.records" &&
      ! awk -F'|' '$3 == "FAIL" { f = 1 } END { exit !f }' "$OUT/.inject.records"; then
      verdict="not run: $(awk -F'|' '$3 != "PASS" { print $2 " " $3 ": " $4; exit }' "$OUT/.inject.records")"
    elif [ "$rc" = 0 ]; then
      verdict="not caught: $module PASSED with the fault injected"
    else
      verdict="not caught: $what, but no FAIL carries $symptom: $(awk -F'|' '$3 != "PASS" { print $2 " " $3 ": " $4; exit }' "$OUT/.inject.records")"
    fi
    echo "  $fault -> $module: $verdict"
  done
}

# conclusion: the GPU steps' verdicts counted, and whether this is a proof
# on a GPU at all (needs .run.records and the faults' lines in .faults).
conclusion() {
  counts=$(awk -F'|' '$1 == "S" && ($2 ~ /^gpu\./ || $2 ~ /^pcie\.bw/) { n[$3]++ }
    END { for (v in n) printf "%s%d %s", (s++ ? ", " : ""), n[v], v }' \
    "$OUT/.run.records")
  caught=$(grep -c ': caught:' "$OUT/.faults" 2>/dev/null)
  faults=$(wc -l <"$OUT/.faults" 2>/dev/null)
  echo "  GPU steps: ${counts:-none ran}; injected faults caught: ${caught:-0} of ${faults:-0}"
  if ! awk -F'|' '$1 == "S" && ($2 ~ /^gpu\./ || $2 ~ /^pcie\.bw/) &&
      ($3 == "PASS" || $3 == "FAIL") { ran = 1 } END { exit !ran }' "$OUT/.run.records"; then
    echo "  NO GPU WAS TESTED: no GPU step passed or failed (each SKIP or ERROR below says why)"
  fi
}

proof() {
  echo "kiln GPU proof: $(date -u +%Y-%m-%dT%H:%M:%SZ 2>/dev/null) on $(uname -n 2>/dev/null), in $OUT"
  if [ -s "$OUT/version.txt" ]; then
    sed 's/^/  /' "$OUT/version.txt" | head -n 3
  else
    echo "  kiln version: $(part_field "kiln version" 4)"
  fi
  if [ -s "$OUT/nvidia-smi-q.txt" ]; then
    awk -F' : ' '
      /^ *Driver Version/ { d = $2 } /^ *CUDA Version/ { c = $2 }
      /^ *Product Name/ { n++; names[$2]++ }
      END {
        printf "  driver %s (CUDA %s) per nvidia-smi; %d GPU%s:", d, c, n, n == 1 ? "" : "s"
        for (k in names) printf " %dx %s", names[k], k
        print ""
      }' "$OUT/nvidia-smi-q.txt"
  else
    echo "  nvidia-smi -q: $(part_field "nvidia-smi -q" 4)"
  fi
  sku=$(sed -n 's/.*"\(limits from GPU SKU [^"]*\)".*/\1/p; s/.*"\(GPU [^"]*: no SKU file for this PCI id[^"]*\)".*/\1/p' \
    "$OUT/run/ocp.jsonl" 2>/dev/null | sort -u | head -n 2)
  [ -z "$sku" ] || echo "$sku" | sed 's/^/  /' | cut_to 160

  tap_records "$OUT/run" >"$OUT/.run.records"
  fault_verdicts >"$OUT/.faults"
  conclusion
  echo
  echo "Modules: kiln run, $DURATION per stress step ($(part_field "kiln run (GPU modules)" 4)); reports in run/"
  for m in $ordered; do
    if grep -q "^S|$m\(\[[0-9]*\]\)\{0,1\}|" "$OUT/.run.records"; then
      grep "^S|$m\(\[[0-9]*\]\)\{0,1\}|" "$OUT/.run.records" |
        awk -F'|' '{ printf "  %-16s %-7s %s\n", $2, $3, $4 }'
    else
      printf "  %-16s %-7s %s\n" "$m" "-" "no result: the run ended before it ($(part_field "kiln run (GPU modules)" 4))"
    fi
  done | cut_to 160
  awk -F'|' -v mods=" $ordered " '{ m = $2; sub(/\[[0-9]+\]$/, "", m) }
    $1 == "S" && index(mods, " " m " ") == 0' "$OUT/.run.records" |
    awk -F'|' '{ printf "  %-16s %-7s (monitor) %s\n", $2, $3, $4 }' | cut_to 160

  echo
  echo "Figures against their limits (SKU floors; KILN_PROOF_LIMITS if given):"
  if grep '^M|' "$OUT/.run.records" | awk -F'|' '$6 != "" || $7 != ""' |
    grep -q .; then
    grep '^M|' "$OUT/.run.records" | awk -F'|' '
      $6 != "" || $7 != "" {
        lim = ($6 != "" && $7 != "") ? $6 ".." $7 : ($6 != "") ? ">= " $6 : "<= " $7
        ratio = ""
        if ($6 != "" && $6 + 0 > 0) ratio = sprintf(", %.2fx the floor", $4 / $6)
        else if ($7 != "" && $7 + 0 > 0) ratio = sprintf(", %.2fx the ceiling", $4 / $7)
        printf "  %-16s %s = %s %s, limit %s: %s%s\n", $2, $3, $4, $5, lim,
          ($8 == "true") ? "met" : "NOT MET", ratio
      }' | cut_to 160
  else
    echo "  none: no step measured a figure that has a limit"
  fi

  echo
  echo "Injected faults (caught = the run exits 1 and a FAIL carries the fault's symptom):"
  cut_to 160 <"$OUT/.faults"

  echo
  echo "Benchmarks (each figure against its reference, measured in the same run):"
  grep '^bench ' "$OUT/parts.txt" | while IFS='|' read -r name rc took what file; do
    echo "  ${name#bench } ($what, $took s):"
    if [ -n "$file" ] && [ -s "$OUT/$file" ]; then
      head -n 14 "$OUT/$file" | sed 's/^/    /'
    fi
  done | cut_to 160

  echo
  echo "Parts (each time-bounded$([ "$have_timeout" -eq 1 ] || echo ' by the script'); budget $BUDGET s):"
  while IFS='|' read -r name rc took what file; do
    printf "  %-24s %-36s %4s s  %s\n" "$name" "$what" "$took" "$file"
  done <"$OUT/parts.txt" | cut_to 160
  total=$(($(now) - start))
  ran=$(awk -F'|' '$2 != 125' "$OUT/parts.txt" | wc -l)
  all=$(wc -l <"$OUT/parts.txt")
  echo
  echo "total time: $total s (budget $BUDGET s); $((ran)) of $((all)) parts run"
}

if ! proof >"$OUT/proof.txt.tmp" || ! mv "$OUT/proof.txt.tmp" "$OUT/proof.txt"; then
  die "cannot write $OUT/proof.txt"
fi
rm -f "$OUT/.run.records" "$OUT/.inject.records" "$OUT/.faults"
cat "$OUT/proof.txt"
exit 0
