#!/bin/sh
# Fails when a lower layer includes a higher one (the README's "Layout").
# A file's layer is its folder (src/<layer>/, stress/, reports/); a header
# in include/kiln/ names its layer in its opening comment ("Layer: core").
# Layers may include their own folder and any layer ranked below them;
# stress/ and reports/ share a rank but never include each other.
# Usage: scripts/check-layers.sh [ROOT]   (ROOT: the tree, default .)
root=${1:-.}
cd "$root" || exit 2

rank() {
  case $1 in
  core) echo 0 ;; hw) echo 1 ;; config) echo 2 ;; inventory) echo 3 ;;
  telemetry) echo 4 ;; run | store | upload) echo 5 ;;
  stress | reports) echo 6 ;; ui | serve | fleet) echo 7 ;; cli) echo 8 ;;
  *) echo "" ;;
  esac
}

header_layer() { # include/kiln/x.h -> its "Layer:" word
  sed -n '1,60s/.*Layer: \([a-z]*\).*/\1/p' "$1" | head -n 1
}

file_layer() {
  case $1 in
  src/*/*) f=${1#src/} && echo "${f%%/*}" ;;
  stress/*) echo stress ;;
  reports/*) echo reports ;;
  include/kiln/*) header_layer "$1" ;;
  esac
}

bad=0
for h in include/kiln/*.h; do
  l=$(header_layer "$h")
  if [ -z "$l" ] || [ -z "$(rank "$l")" ]; then
    echo "$h: its opening comment names no layer (\"Layer: core\", ...)"
    bad=1
  fi
done

for f in src/*/*.[ch] stress/*.[ch] stress/*.cu reports/*.[ch] include/kiln/*.h; do
  [ -f "$f" ] || continue
  fl=$(file_layer "$f")
  fr=$(rank "$fl")
  [ -n "$fr" ] || continue
  grep -n '^#include "' "$f" | while IFS= read -r line; do
    n=${line%%:*}
    inc=$(echo "$line" | sed 's/.*#include "\([^"]*\)".*/\1/')
    case $inc in
    kiln/*) il=$(header_layer "include/$inc") ;;
    ../../stress/* | ../stress/*) il=stress ;;
    ../../reports/* | ../reports/*) il=reports ;;
    */*) il=${inc%%/*} ;;
    *) il=$fl ;; # beside the file: its own folder
    esac
    ir=$(rank "$il")
    if [ -z "$ir" ]; then
      echo "$f:$n: includes \"$inc\", whose layer is unknown"
      echo x
    elif [ "$ir" -gt "$fr" ] || { [ "$ir" -eq "$fr" ] && [ "$il" != "$fl" ]; }; then
      echo "$f:$n: $fl includes \"$inc\" of layer $il, above it"
      echo x
    fi
  done
done | {
  n=0
  while IFS= read -r l; do
    if [ "$l" = x ]; then n=$((n + 1)); else echo "$l"; fi
  done
  [ "$n" -eq 0 ] || exit 1
} || bad=1

if [ "$bad" -ne 0 ]; then
  echo "check-layers: a lower layer includes a higher one (see README, Layout)" >&2
  exit 1
fi
echo "check-layers: every include runs downward"
