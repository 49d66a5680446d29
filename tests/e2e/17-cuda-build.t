#!/bin/sh
# The build's CUDA, said plainly: make says once which toolkit it found (or
# none) and what that means, refuses one older than 12.0, builds for the
# archs that nvcc lists; `kiln version` names the CUDA runtime built in and
# the driver it needs. Fake nvcc scripts stand for other toolkits; make
# only plans (-n) into a scratch BUILD, so the real tree is not rebuilt.
. tests/e2e/lib.sh
plan 26

# make as a person runs it: nothing inherited from a make running this test.
mk() {
  env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS -u CUDA -u CUDA_HOME -u NVCC \
    -u NVCC_ARCH -u BUILD make --no-print-directory -n \
    BUILD="$TEST_TMP/build" "$@"
}

# fake_cuda DIR RELEASE ARCH...: DIR/bin/nvcc reports RELEASE and ARCHs.
fake_cuda() {
  nvcc=$1/bin/nvcc release=$2
  shift 2
  mkdir -p "$(dirname "$nvcc")"
  cat >"$nvcc" <<EOF
#!/bin/sh
case \$1 in
--version) echo 'nvcc: NVIDIA (R) Cuda compiler driver'
  echo 'Cuda compilation tools, release $release, V$release.99' ;;
--list-gpu-arch) for a in $*; do echo "\$a"; done ;;
*) exit 1 ;;
esac
EOF
  chmod +x "$nvcc"
}

# plan_make OUT ARGS...: mk ARGS into OUT, sets $rc; $said: its kiln lines.
plan_make() {
  out=$1
  shift
  rc=0
  mk "$@" >"$out" 2>&1 || rc=$?
  said=$(grep -c 'kiln: ' "$out")
}

old=$TEST_TMP/cuda-11.8
fake_cuda "$old" 11.8 compute_50 compute_80 compute_90
plan_make "$TEST_TMP/old.out" CUDA_HOME="$old"
ok "$([ "$rc" -ne 0 ] && echo 0 || echo 1)" "CUDA 11.8 is refused"
like "in one line saying why" "$TEST_TMP/old.out" \
  "kiln: CUDA 11\.8 at $old is too old: kiln needs CUDA Toolkit 12\.0 or newer"
is "nothing else is said or planned" "$(wc -l <"$TEST_TMP/old.out")" 1

c124=$TEST_TMP/cuda-12.4
fake_cuda "$c124" 12.4 compute_50 compute_75 compute_80 compute_86 compute_89 compute_90
plan_make "$TEST_TMP/124.out" CUDA_HOME="$c124"
is "CUDA 12.4 is accepted" "$rc" 0
is "make says it once" "$said" 1
like "which toolkit, which archs, which driver" "$TEST_TMP/124.out" \
  "^kiln: CUDA 12\.4 at $c124: GPU modules built for sm_80 sm_90 \+ PTX; needs NVIDIA driver 525 or newer$"
like "nvcc builds sm_80, sm_90 and PTX of compute_90" "$TEST_TMP/124.out" \
  "^$c124/bin/nvcc .*-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 "
is "no arch that nvcc does not list" "$(grep -c 'sm_100\|sm_120' "$TEST_TMP/124.out")" 0
like "the C side is told the release" "$TEST_TMP/124.out" \
  "-DKILN_CUDA_VERSION=12040 .*src/cli/main\.c"
like "objects go to a directory of that release" "$TEST_TMP/124.out" \
  "-o $TEST_TMP/build/obj-cuda12040/src/cli/main\.o"

c128=$TEST_TMP/cuda-12.8
fake_cuda "$c128" 12.8 compute_80 compute_90 compute_100 compute_101 compute_120
plan_make "$TEST_TMP/128.out" CUDA_HOME="$c128"
like "CUDA 12.8 listing sm_100 and sm_120: both, PTX of the newest" "$TEST_TMP/128.out" \
  "^kiln: CUDA 12\.8 at $c128: GPU modules built for sm_80 sm_90 sm_100 sm_120 \+ PTX; needs NVIDIA driver 525 or newer$"
like "nvcc is asked for them" "$TEST_TMP/128.out" \
  "-gencode arch=compute_100,code=sm_100 -gencode arch=compute_120,code=sm_120 -gencode arch=compute_120,code=compute_120 "

c130=$TEST_TMP/cuda-13.0
fake_cuda "$c130" 13.0 compute_80 compute_90 compute_100
plan_make "$TEST_TMP/130.out" CUDA_HOME="$c130"
like "CUDA 13.0: driver 580; the archs come from nvcc, not the version" \
  "$TEST_TMP/130.out" \
  "^kiln: CUDA 13\.0 at $c130: GPU modules built for sm_80 sm_90 sm_100 \+ PTX; needs NVIDIA driver 580 or newer$"
like "PTX of compute_100" "$TEST_TMP/130.out" "-gencode arch=compute_100,code=compute_100 "

odd=$TEST_TMP/cuda-odd
fake_cuda "$odd" unknown compute_80
plan_make "$TEST_TMP/odd.out" CUDA_HOME="$odd"
ok "$([ "$rc" -ne 0 ] && echo 0 || echo 1)" "an nvcc whose release cannot be read is refused"
like "saying so" "$TEST_TMP/odd.out" "kiln: cannot read the CUDA release from \`$odd/bin/nvcc --version\`"

plan_make "$TEST_TMP/none.out" CUDA_HOME="$TEST_TMP/nowhere"
is "no toolkit: the CUDA=0 build is planned" "$rc" 0
like "make says there is none, what that means and what to do" "$TEST_TMP/none.out" \
  "^kiln: no CUDA Toolkit \(nvcc not at $TEST_TMP/nowhere/bin/nvcc; set CUDA_HOME\): GPU steps will be an ERROR on machines with NVIDIA GPUs; make CUDA_HOME="
is "nothing is built with CUDA" "$(grep -c 'KILN_HAVE_CUDA=1' "$TEST_TMP/none.out")" 0
plan_make "$TEST_TMP/none1.out" CUDA=1 CUDA_HOME="$TEST_TMP/nowhere"
like "CUDA=1 without nvcc is refused" "$TEST_TMP/none1.out" \
  "kiln: CUDA=1 but nvcc is not at $TEST_TMP/nowhere/bin/nvcc"

rc=0
env MAKELEVEL=1 make --no-print-directory -n BUILD="$TEST_TMP/build" \
  CUDA_HOME="$c124" >"$TEST_TMP/sub.out" 2>&1 || rc=$?
is "a sub-make does not say it again" "$(grep -c '^kiln: ' "$TEST_TMP/sub.out")" 0
plan_make "$TEST_TMP/clean.out" CUDA_HOME="$old" clean
is "make clean needs no toolkit and says nothing of it" "$rc.$said" 0.0

# ---- kiln version: what this build has ----
run_kiln "$TEST_TMP/version.out" version
is "kiln version: exit 0" "$rc" 0
like "its first line" "$TEST_TMP/version.out" "^kiln [0-9]+\.[0-9]+\.[0-9]+$"
cfg=$(dirname "$KILN")/config
built=$(sed -n 's/.*KILN_CUDA_VERSION=\([0-9]*\).*/\1/p' "$cfg")
case $(sed -n 's/^CUDA=\([01]\).*/\1/p' "$cfg") in
1)
  major=$((built / 1000)) minor=$((built % 1000 / 10))
  case $major in 12) driver=525 ;; 13) driver=580 ;; *) driver=unknown ;; esac
  like "it names the CUDA runtime built in ($major.$minor) and the driver it needs" \
    "$TEST_TMP/version.out" \
    "^built with CUDA runtime $major\.$minor: needs NVIDIA driver $driver or newer; loads libcublas\.so\.$major and libcublasLt\.so\.$major at run time$"
  home=$(sed -n 's/.*CUDA_HOME=//p' "$cfg")
  plan_make "$TEST_TMP/real.out" CUDA_HOME="$home"
  like "make said the same driver for this toolkit" "$TEST_TMP/real.out" \
    "^kiln: CUDA $major\.$minor at $home: .*; needs NVIDIA driver $driver or newer$"
  ;;
*)
  like "it says it was built without CUDA" "$TEST_TMP/version.out" \
    "^built without CUDA: GPU steps are an ERROR where NVIDIA GPUs are on the bus$"
  ok 0 "# SKIP built without CUDA: no toolkit to compare with"
  ;;
esac
done_testing
