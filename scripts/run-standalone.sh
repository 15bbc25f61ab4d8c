#!/usr/bin/env bash
# Installs the dependencies, builds dsiem and runs `dsiem serve` in standalone mode on the
# repository's configs/.
#
# dsiem reads configs/ and writes logs/ next to its own executable, so the binary is copied
# to out/dsiem and configs/ to out/configs/ (refreshed on every run: edit configs/, not
# out/configs/).  Alarms go to out/logs/siem_alarms.json and out/logs/siem_alarm_events.json.
# Listens on 127.0.0.1:8080 unless DSIEM_ADDRESS / DSIEM_PORT say otherwise; extra arguments
# are passed to `dsiem serve`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

bash "$REPO_ROOT/scripts/install-deps.sh"
configure_build "$REPO_ROOT/build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$REPO_ROOT/build" -j "$JOBS" --target dsiem

out="$REPO_ROOT/out"
mkdir -p "$out"
cp -f "$REPO_ROOT/build/dsiem" "$out/dsiem.new"
mv -f "$out/dsiem.new" "$out/dsiem"   # rename: replacing a running binary in place fails
rm -rf "$out/configs"
cp -r "$REPO_ROOT/configs" "$out/configs"

address="${DSIEM_ADDRESS:-127.0.0.1}"
port="${DSIEM_PORT:-8080}"
host="$address"
if [[ "$host" == "0.0.0.0" ]]; then
  host=127.0.0.1   # where to reach a wildcard listener from this machine
fi

cat <<INFO

dsiem (standalone) listening on http://$address:$port
  configs: $out/configs
  alarms:  $out/logs/siem_alarms.json
  links:   $out/logs/siem_alarm_events.json

Post a sample event (ICMP ping matching the "Ping Flood" directive; repeat it to walk the stages):

curl -sS -w '%{http_code}\n' -X POST http://$host:$port/events -H 'Content-Type: application/json' -d '{"timestamp":"'"\$(date -u +%Y-%m-%dT%H:%M:%SZ)"'","event_id":"'"\$(cat /proc/sys/kernel/random/uuid)"'","title":"ICMP Ping","sensor":"sensor-1","plugin_id":1001,"plugin_sid":2100384,"src_ip":"192.168.0.10","src_port":0,"dst_ip":"8.8.8.8","dst_port":0,"protocol":"ICMP"}'

Stop with Ctrl-C.

INFO

exec "$out/dsiem" serve -a "$address" -p "$port" "$@"
