#!/bin/sh
# The BMC's sensors out-of-band: OpenIPMI's ipmi_sim on loopback (six fans,
# temperatures, power), read by `kiln run --bmc` through FreeIPMI during a
# run; a fan the simulator stalls must fail the thermal monitor by name.
. tests/e2e/lib.sh
need_ipmi_sim
plan 10
P=$TEST_TMP/bmc.ini
cat >"$P" <<'INI'
[profile]
name = bmc-test
duration = 4s
monitors = thermal
phase.1 = cpu.compute
[thermal]
hold = 2s
INI

start_ipmi_sim
ok "$([ -n "$port" ] && echo 0 || echo 1)" "ipmi_sim is up on 127.0.0.1:$port"

# sim_cmd CMD: one ipmi_sim_cmd(5) command on the simulator's console.
sim_cmd() {
  "$PYTHON" - "$console" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
def prompt():
    data = b""
    while not data.endswith(b"> "):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data
prompt()
s.sendall(sys.argv[2].encode() + b"\n")
reply = prompt()
sys.exit(1 if b"**" in reply else 0)
PY
}

d=$TEST_TMP/healthy
run_kiln "$TEST_TMP/healthy.out" run --profile "$P" \
  --bmc "127.0.0.1:$port" --bmc-credentials "$sim_dir/credentials" \
  --report-dir "$d"
is "healthy BMC: exit 0" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/#  | /' "$TEST_TMP/healthy.out" | tail -20
like "thermal PASSes on the BMC's sensors" "$d/results.tap" \
  "^ok [0-9]+ - thermal$"
like "telemetry.csv has the BMC's fans" "$d/telemetry.csv" \
  ",ipmi,bmc/FAN3,FAN3,[0-9.]+,RPM$"
like "... and its temperatures, labelled as the BMC names them" "$d/telemetry.csv" \
  ",ipmi,bmc/CPU1_Temp,CPU1 Temp,[0-9.]+,C$"

check "the simulator stalls FAN3" sim_cmd "sensor_set_value 0x20 0 0x32 0 1"
d=$TEST_TMP/stalled
run_kiln "$TEST_TMP/stalled.out" run --profile "$P" \
  --bmc "127.0.0.1:$port" --bmc-credentials "$sim_dir/credentials" \
  --report-dir "$d"
is "a stalled BMC fan: exit 1" "$rc" 1
like "thermal FAILs naming the fan, its value and limit" \
  "$TEST_TMP/stalled.out" \
  "FAIL +thermal: FAN3 \(ipmi/bmc/FAN3\) under 500 RPM: 0 RPM"

like "... and that the BMC calls it critical" "$TEST_TMP/stalled.out" \
  "! +thermal: FAN3 \(ipmi/bmc/FAN3\): the hardware reports it critical at 0 RPM"

chmod 644 "$sim_dir/credentials"
run_kiln "$TEST_TMP/perm.out" run --profile "$P" --bmc "127.0.0.1:$port" \
  --bmc-credentials "$sim_dir/credentials" --report-dir "$TEST_TMP/perm"
is "a credentials file others can read is refused: exit 64" "$rc" 64
done_testing
