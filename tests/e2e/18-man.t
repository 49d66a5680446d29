#!/bin/sh
# The man pages (docs/man/*.scd): they build with `make man`, groff finds
# nothing to warn about, and they document what kiln takes. The lists they
# are checked against come from kiln and its sources, never from this test:
# every option `kiln --help` (and each command's --help) prints and every
# command kiln's own "unknown command" line names are in kiln(1); every key
# the profile and SKU parsers compare against (src/config/profile.c,
# sku.c), every parameter and measurement of every module's descriptor
# (stress/*.c, whose modules must be the ones `kiln list` shows) in
# kiln-profile(5); every section and key kiln's spec reader names in its
# "unknown section"/"unknown key" errors in kiln-spec(5). Each check is
# also run on a page with one entry removed, and must catch it.
. tests/e2e/lib.sh

if ! command -v scdoc >/dev/null 2>&1; then
  echo "1..0 # SKIP scdoc is not installed (Debian: scdoc)"
  exit 0
fi
if ! command -v groff >/dev/null 2>&1; then
  echo "1..0 # SKIP groff is not installed (Debian: groff-base)"
  exit 0
fi
plan 17

man_dir="$TEST_TMP/build/man"
check "make man builds every page" make -s man BUILD="$TEST_TMP/build"
missing=""
for src in docs/man/*.scd; do
  page=$(basename "$src" .scd)
  [ -s "$man_dir/$page" ] || missing="$missing $page"
done
is "a page for every source in docs/man/" "$missing" ""

for page in kiln.1 kiln-profile.5 kiln-spec.5; do
  groff -ww -z -man "$man_dir/$page" >"$TEST_TMP/groff" 2>&1
  is "groff -ww -z -man $page: no warning" \
    "$(cat "$TEST_TMP/groff")" ""
done

# The pages' roff without scdoc's zero-width escapes ("phase.\&").
for page in kiln.1 kiln-profile.5 kiln-spec.5; do
  sed 's/\\&//g' "$man_dir/$page" >"$TEST_TMP/$page"
done

# section FILE HEADING: the lines of FILE's .SH/.SS section whose heading
# starts with HEADING, up to the next heading of that level or above.
section() {
  awk -v want="$2" '
    /^\.SH / { in_sh = (substr($0, 5, length(want)) == want); in_ss = 0; next }
    /^\.SS / { in_ss = (substr($0, 5, length(want)) == want); next }
    in_sh || in_ss' "$1"
}

# terms FILE: the words FILE defines, one a line: every bold word of each
# term of a list (the line before an indented block, ".RS": "\fBname\fR =
# \fIvalue\fR", "\fBmin_rpm\fR = ..., \fBmax_rpm\fR = ...").
terms() {
  awk '/^\.RS/ { print prev } { prev = $0 }' "$1" |
    grep -oE '\\fB[^\\]+\\fR' | sed 's/^\\fB//; s/\\fR$//'
}

# absent WORDS FILE: the words of WORDS that FILE does not define.
absent() {
  terms "$2" | sort -u >"$TEST_TMP/defined"
  for w in $1; do
    grep -qxF -- "$w" "$TEST_TMP/defined" || printf '%s ' "$w"
  done
}

# ---- kiln(1): options and commands ----

# Every option any help text prints: --long, and -X where it stands alone.
{
  "$KILN" --help
  "$KILN" fleet --help
  for c in run inventory list serve upload merge; do "$KILN" "$c" --help; done
} >"$TEST_TMP/help" 2>&1
options=$(grep -oE -- '(^|[][ ,|])--?[A-Za-z][a-z-]*' "$TEST_TMP/help" |
  sed 's/^[][ ,|]//' | grep -E -- '^(--[a-z][a-z-]*|-[A-Za-z])$' | sort -u)
ok "$([ "$(echo "$options" | wc -l)" -ge 30 ] && echo 0 || echo 1)" \
  "kiln's help prints its options ($(echo "$options" | wc -l) found)"
is "kiln(1) defines every option kiln's help prints" \
  "$(absent "$options" "$TEST_TMP/kiln.1")" ""

# The commands as kiln's own table names them.
"$KILN" no-such-command >/dev/null 2>"$TEST_TMP/cmds"
commands=$(sed -n 's/.*unknown command .* (\(.*\))$/\1/p' "$TEST_TMP/cmds" |
  tr -d ',')
"$KILN" fleet no-such-command >/dev/null 2>"$TEST_TMP/fleet-cmds"
fleet_commands=$(sed -n 's/.*unknown command .* (\(.*\))$/\1/p' \
  "$TEST_TMP/fleet-cmds" | tr -d ',')
missing=""
for c in $commands; do
  grep -qF "\\fBkiln $c" "$TEST_TMP/kiln.1" || missing="$missing kiln-$c"
done
for c in $fleet_commands; do
  grep -qF "\\fBfleet $c" "$TEST_TMP/kiln.1" || missing="$missing fleet-$c"
done
ok "$([ -n "$commands" ] && [ -n "$fleet_commands" ] && [ -z "$missing" ] &&
  echo 0 || echo 1)" \
  "kiln(1) shows every command ($(echo $commands) | fleet $(echo $fleet_commands))${missing:+; missing:$missing}"

# The check catches an option the page leaves out.
first_option=$(echo "$options" | grep -- '^--' | head -1)
grep -vF -- "\\fB$first_option\\fR" "$TEST_TMP/kiln.1" >"$TEST_TMP/kiln.1.cut"
is "an option removed from kiln(1) ($first_option) is caught" \
  "$(absent "$options" "$TEST_TMP/kiln.1.cut")" "$first_option "

# ---- kiln-profile(5): [profile], module sections, modules, SKU files ----

# The keys a parser function compares against: strcmp(key, "x"),
# strncmp(key, "x.", N) ("x." stands for "x.N"), strcmp(dot, ".min").
keys_of() { # FILE FUNCTION
  awk -v f="$2" '$0 ~ "^static int " f "\\(" { on = 1 } on; on && /^}/ { exit }' \
    "$1" | grep -oE 'str(n)?cmp\((key|dot), "[^"]*"' | sed 's/.*"\(.*\)"/\1/'
}
profile_keys=$(keys_of src/config/profile.c profile_key | sort -u)
module_keys=$( (keys_of src/config/profile.c module_key
  keys_of src/config/profile.c add_limit) | sort -u)
sku_keys=$(keys_of src/config/sku.c header_key | sort -u)
section "$TEST_TMP/kiln-profile.5" "THE [profile] SECTION" >"$TEST_TMP/p-profile"
section "$TEST_TMP/kiln-profile.5" "MODULE SECTIONS" >"$TEST_TMP/p-modsec"
section "$TEST_TMP/kiln-profile.5" "GPU SKU LIMIT FILES" >"$TEST_TMP/p-sku"
got=$(printf '[profile]: %s; [MODULE]: %s; [sku]: %s' \
  "$(absent "$profile_keys" "$TEST_TMP/p-profile")" \
  "$(absent "$module_keys" "$TEST_TMP/p-modsec")" \
  "$(absent "$sku_keys" "$TEST_TMP/p-sku")")
ok "$([ "$(echo "$profile_keys" | wc -l)" -ge 8 ] &&
  [ "$(echo "$sku_keys" | wc -l)" -ge 4 ] && echo 0 || echo 1)" \
  "the parsers' keys are found: [profile] $(echo $profile_keys); [MODULE] $(echo $module_keys); [sku] $(echo $sku_keys)"
is "kiln-profile(5) defines every key the profile and SKU parsers take" \
  "$got" "[profile]: ; [MODULE]: ; [sku]: "

# Each module's parameters and measurements, from its descriptor's tables.
table() { # FILE KIND: the names in FILE's kiln_KIND_spec tables
  awk -v k="$2" '$0 ~ "kiln_" k "_spec [A-Za-z0-9_]*\\[\\] = \\{" { on = 1; next }
    on && /^};/ { on = 0 } on' "$1" |
    sed -n 's/^ *{"\([A-Za-z0-9_]*\)".*/\1/p'
}
: >"$TEST_TMP/described"
module_gaps=""
for f in stress/*.c; do
  name=$(sed -n 's/^ *\.name = "\([^"]*\)".*/\1/p' "$f")
  [ -n "$name" ] || continue
  echo "$name" >>"$TEST_TMP/described"
  section "$TEST_TMP/kiln-profile.5" "$name" >"$TEST_TMP/p-mod"
  if ! grep -qxF ".SS $name" "$TEST_TMP/kiln-profile.5"; then
    module_gaps="$module_gaps [$name] has no section;"
    continue
  fi
  gap=$(absent "$(table "$f" param) $(table "$f" measurement)" "$TEST_TMP/p-mod")
  [ -z "$gap" ] || module_gaps="$module_gaps [$name] $gap;"
done
"$KILN" list 2>&1 | awk '/^modules:/ { on = 1; next } /^[^ ]/ { on = 0 }
  on && /^  [a-z]/ { print $1 }' | sort >"$TEST_TMP/listed"
sort "$TEST_TMP/described" >"$TEST_TMP/described.sorted"
is "the descriptors found in stress/ are the modules kiln list shows" \
  "$(diff "$TEST_TMP/described.sorted" "$TEST_TMP/listed" | grep '^[<>]')" ""
is "kiln-profile(5) defines every module's parameters and measurements" \
  "$module_gaps" ""

# The check catches a parameter the page leaves out.
cut_param=$(table stress/cpu_compute.c param | head -1)
section "$TEST_TMP/kiln-profile.5" cpu.compute |
  grep -vF "\\fB$cut_param\\fR" >"$TEST_TMP/p-mod-cut"
is "a parameter removed from kiln-profile(5) (cpu.compute $cut_param) is caught" \
  "$(absent "$(table stress/cpu_compute.c param)" "$TEST_TMP/p-mod-cut")" \
  "$cut_param "

# ---- kiln-spec(5): every section and key the spec reader names ----

spec_sections=$(printf '[no-such-section]\nx = 1\n' >"$TEST_TMP/s.ini" &&
  "$KILN" list --spec "$TEST_TMP/s.ini" 2>&1 >/dev/null |
  sed -n 's/.*(sections: \(.*\))$/\1/p')
# spec_keys_missing FILE: for each section kiln names, the keys its
# "unknown key" error lists that FILE's section for it does not define.
spec_keys_missing() {
  echo "$spec_sections" | tr ',' '\n' | sed 's/^ *//' | while read -r sec; do
    concrete=$(echo "$sec" | sed 's/VVVV:DDDD/10de:2330/; s/CCSS/0302/; s/ CC$/ 02/')
    printf '[%s]\nno_such_key = 1\n' "$concrete" >"$TEST_TMP/k.ini"
    keys=$("$KILN" list --spec "$TEST_TMP/k.ini" 2>&1 >/dev/null |
      sed -n 's/.*(keys: \(.*\))$/\1/p' | tr -d ',')
    awk -v want="[$sec]" '/^\.S[HS] / { on = index($0, want) > 0; next } on' \
      "$1" >"$TEST_TMP/s-sec"
    if [ -z "$keys" ]; then
      printf '[%s]: no key list from kiln; ' "$sec"
    elif [ ! -s "$TEST_TMP/s-sec" ]; then
      printf '[%s]: no section; ' "$sec"
    else
      gap=$(absent "$keys" "$TEST_TMP/s-sec")
      [ -z "$gap" ] || printf '[%s]: %s; ' "$sec" "$gap"
    fi
  done
}
ok "$([ "$(echo "$spec_sections" | tr ',' '\n' | wc -l)" -ge 10 ] && echo 0 ||
  echo 1)" "kiln names its spec sections: $spec_sections"
is "kiln-spec(5) has every section and key of the spec reader" \
  "$(spec_keys_missing "$TEST_TMP/kiln-spec.5")" ""

# The check catches a key the page leaves out.
grep -vF '\fBdimm_size\fR' "$TEST_TMP/kiln-spec.5" >"$TEST_TMP/kiln-spec.5.cut"
is "a key removed from kiln-spec(5) ([memory] dimm_size) is caught" \
  "$(spec_keys_missing "$TEST_TMP/kiln-spec.5.cut")" "[memory]: dimm_size ; "

done_testing
