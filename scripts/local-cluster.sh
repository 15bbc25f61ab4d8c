#!/usr/bin/env bash
# Runs a dsiem cluster on this machine, on 127.0.0.1, without Docker: one NATS server, one
# frontend and two backends (the topology of deployments/docker/docker-compose-cluster.yml).
#
#   scripts/local-cluster.sh start     build/dsiem must exist (bash scripts/build.sh)
#   scripts/local-cluster.sh status
#   scripts/local-cluster.sh stop
#   scripts/local-cluster.sh restart
#
# Layout under ${CLUSTER_DIR:-out/cluster} (a relative path is taken from the repository root).
# dsiem's base directory is the directory of its executable, so every node gets its own copy
# of build/dsiem:
#
#   nats/             nats-server.pid, nats-server.log
#   dsiem/            the frontend: dsiem, configs/, dsiem.pid, dsiem.log
#   dsiem-backend-0/  a backend: dsiem, configs/ (pulled at start), logs/siem_alarm*.json, dsiem.pid, dsiem.log
#   dsiem-backend-1/  the same
#
# The frontend's configs/ gets the repository's configs/ at every start (files of the same
# name are replaced, other files are kept). When no backend has a directive file of its own
# there yet, example files directives_dsiem-backend-<N>_testing.json are written, which split
# configs/directives_testing.json between the backends. Edit or add files in
# <CLUSTER_DIR>/dsiem/configs/, then restart. A backend's configs/ is emptied before each
# start, because the backend pulls its files from the frontend.
#
# Settings (environment):
#   CLUSTER_DIR        out/cluster
#   NATS_PORT          4222
#   FRONTEND_PORT      8080
#   BACKEND_BASE_PORT  8081 (backend N listens on BACKEND_BASE_PORT + N)
#   BACKEND_COUNT      2
#   BIN                <repo>/build/dsiem
#   START_TIMEOUT      30 (seconds to wait for each node to become ready)
#   STOP_TIMEOUT       10 (seconds to wait for a node to stop after SIGTERM, then SIGKILL)
# DSIEM_* variables set in the environment reach every node (flags given here win).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CLUSTER_DIR="${CLUSTER_DIR:-out/cluster}"
if [[ "$CLUSTER_DIR" != /* ]]; then
  CLUSTER_DIR="$REPO_ROOT/$CLUSTER_DIR"
fi
NATS_PORT="${NATS_PORT:-4222}"
FRONTEND_PORT="${FRONTEND_PORT:-8080}"
BACKEND_BASE_PORT="${BACKEND_BASE_PORT:-8081}"
BACKEND_COUNT="${BACKEND_COUNT:-2}"
BIN="${BIN:-$REPO_ROOT/build/dsiem}"
START_TIMEOUT="${START_TIMEOUT:-30}"
STOP_TIMEOUT="${STOP_TIMEOUT:-10}"

HOST=127.0.0.1
FRONTEND=dsiem
MSQ="nats://$HOST:$NATS_PORT"
FRONTEND_URL="http://$HOST:$FRONTEND_PORT"

BACKENDS=()
for ((n = 0; n < BACKEND_COUNT; n++)); do
  BACKENDS+=("dsiem-backend-$n")
done

die() {
  printf 'local-cluster: %s\n' "$*" >&2
  exit 1
}

say() {
  printf 'local-cluster: %s\n' "$*"
}

# ---------------------------------------------------------------------------------------
# Components: nats, dsiem (frontend), dsiem-backend-N.

node_dir() { printf '%s/%s' "$CLUSTER_DIR" "$1"; }

pid_file() {
  if [[ "$1" == nats ]]; then
    printf '%s/nats-server.pid' "$(node_dir nats)"
  else
    printf '%s/dsiem.pid' "$(node_dir "$1")"
  fi
}

log_file() {
  if [[ "$1" == nats ]]; then
    printf '%s/nats-server.log' "$(node_dir nats)"
  else
    printf '%s/dsiem.log' "$(node_dir "$1")"
  fi
}

node_port() {
  local name="$1"
  case "$name" in
    nats) printf '%s' "$NATS_PORT" ;;
    "$FRONTEND") printf '%s' "$FRONTEND_PORT" ;;
    dsiem-backend-*) printf '%s' $((BACKEND_BASE_PORT + ${name#dsiem-backend-})) ;;
  esac
}

# running_pid NAME: prints the pid of NAME and succeeds when it is running. The pid file
# must point to a live process whose command line is the one this script started (a pid
# reused by another program is not ours).
running_pid() {
  local name="$1" file pid
  file="$(pid_file "$name")"
  [[ -f "$file" ]] || return 1
  pid="$(<"$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  local argv=()
  mapfile -d '' -t argv <"/proc/$pid/cmdline" 2>/dev/null || return 1
  ((${#argv[@]} > 0)) || return 1
  if [[ "$name" == nats ]]; then
    [[ "$(basename -- "${argv[0]}")" == nats-server ]] || return 1
  else
    # argv[1] too: the binary may be a script run through its interpreter
    [[ "${argv[0]}" == "$(node_dir "$name")/dsiem" || "${argv[1]:-}" == "$(node_dir "$name")/dsiem" ]] || return 1
  fi
  printf '%s' "$pid"
}

# http_status PORT PATH: the HTTP status code of GET http://127.0.0.1:PORT/PATH, or 000.
http_status() {
  local line
  # shellcheck disable=SC2016 # expanded by the inner bash
  line="$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "GET %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n\r\n" "$2" "$0" "$1" >&3
    IFS= read -r status <&3
    printf "%s" "$status"' "$HOST" "$1" "$2" 2>/dev/null)" || true
  if [[ "$line" =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]]; then
    printf '%s' "${BASH_REMATCH[1]}"
  else
    printf '000'
  fi
}

# port_open PORT: succeeds when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$1" 2>/dev/null
}

# ready_state NAME: "ready", "not ready" or "down".
ready_state() {
  local name="$1" port code
  port="$(node_port "$name")"
  if [[ "$name" == nats ]]; then
    if port_open "$port"; then printf 'ready'; else printf 'down'; fi
    return 0
  fi
  code="$(http_status "$port" /health/ready)"
  if [[ "$code" == 404 ]]; then
    # a binary without health routes: a served config listing counts as ready
    code="$(http_status "$port" /config/)"
  fi
  case "$code" in
    200) printf 'ready' ;;
    000) printf 'down' ;;
    *) printf 'not ready' ;;
  esac
}

# wait_ready NAME TIMEOUT: waits until NAME is ready; fails when it exits or time runs out.
wait_ready() {
  local name="$1" timeout="$2" deadline
  deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    # kill -0 rather than running_pid: right after launch the child may not have exec'd yet
    if ! kill -0 "$(<"$(pid_file "$name")")" 2>/dev/null; then
      say "$name exited during start-up; last lines of $(log_file "$name"):"
      tail -n 20 "$(log_file "$name")" 2>/dev/null | sed 's/^/  | /' || true
      return 1
    fi
    if [[ "$(ready_state "$name")" == ready ]]; then
      return 0
    fi
    sleep 0.25
  done
  say "$name not ready after ${timeout}s; last lines of $(log_file "$name"):"
  tail -n 20 "$(log_file "$name")" 2>/dev/null | sed 's/^/  | /' || true
  return 1
}

# stop_nodes NAME...: SIGTERM to each, wait up to STOP_TIMEOUT seconds for all of them,
# then SIGKILL the ones still running.
stop_nodes() {
  local name pid deadline names=() pids=()
  for name in "$@"; do
    if pid="$(running_pid "$name")"; then
      kill -TERM "$pid" 2>/dev/null || true
      names+=("$name")
      pids+=("$pid")
    else
      rm -f "$(pid_file "$name")"
    fi
  done
  local i alive
  deadline=$((SECONDS + STOP_TIMEOUT))
  while ((SECONDS < deadline)); do
    alive=0
    for pid in "${pids[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then
        alive=1
      fi
    done
    ((alive)) || break
    sleep 0.1
  done
  for ((i = 0; i < ${#pids[@]}; i++)); do
    name="${names[i]}"
    pid="${pids[i]}"
    if kill -0 "$pid" 2>/dev/null; then
      say "$name (pid $pid) still running after ${STOP_TIMEOUT}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$(pid_file "$name")"
    say "stopped $name (pid $pid)"
  done
}

all_nodes() {
  printf '%s\n' nats "$FRONTEND" "${BACKENDS[@]}"
}

# ---------------------------------------------------------------------------------------
# Preparing the folders.

install_binary() {
  local dir="$1"
  mkdir -p "$dir"
  cp -f "$BIN" "$dir/dsiem.new"
  mv -f "$dir/dsiem.new" "$dir/dsiem"
}

# write_example_directives CONFIGS: splits configs/directives_testing.json between the
# backends when none of them has a directive file yet.
write_example_directives() {
  local configs="$1" node have=()
  for node in "${BACKENDS[@]}"; do
    if compgen -G "$configs/directives_${node}_*.json" >/dev/null; then
      have+=("$node")
    fi
  done
  if ((${#have[@]} > 0)); then
    for node in "${BACKENDS[@]}"; do
      if ! compgen -G "$configs/directives_${node}_*.json" >/dev/null; then
        say "warning: no directives_${node}_*.json in $configs, $node will not start"
      fi
    done
    return 0
  fi
  local source="$REPO_ROOT/configs/directives_testing.json"
  [[ -f "$source" ]] || die "cannot write example directives: $source is missing"
  command -v python3 >/dev/null 2>&1 || die "python3 is needed to split $source"
  local targets=()
  for node in "${BACKENDS[@]}"; do
    targets+=("$configs/directives_${node}_testing.json")
  done
  python3 - "$source" "${targets[@]}" <<'PY'
import json
import sys

source, targets = sys.argv[1], sys.argv[2:]
with open(source, encoding="utf-8") as f:
    directives = json.load(f).get("directives") or []
share = -(-len(directives) // len(targets))  # ceiling: the first backends get one more
for i, target in enumerate(targets):
    part = directives[i * share:(i + 1) * share]
    with open(target, "w", encoding="utf-8") as f:
        json.dump({"directives": part}, f, indent=2, ensure_ascii=False)
        f.write("\n")
    ids = ", ".join(str(d.get("id")) for d in part) or "none"
    print(f"local-cluster: wrote {target} (directive ids: {ids})")
PY
}

prepare() {
  mkdir -p "$(node_dir nats)"

  local frontend_dir configs
  frontend_dir="$(node_dir "$FRONTEND")"
  install_binary "$frontend_dir"
  configs="$frontend_dir/configs"
  mkdir -p "$configs"
  cp -f "$REPO_ROOT"/configs/*.json "$configs/"
  write_example_directives "$configs"

  local node dir
  for node in "${BACKENDS[@]}"; do
    dir="$(node_dir "$node")"
    install_binary "$dir"
    rm -rf "$dir/configs"
    mkdir -p "$dir/configs" "$dir/logs"
  done
}

# ---------------------------------------------------------------------------------------
# Subcommands.

launch() {
  # launch NAME COMMAND...: starts COMMAND in its own session (so a Ctrl-C in this terminal
  # does not reach it), output to the node's log, pid to the node's pid file.
  local name="$1"
  shift
  local log
  log="$(log_file "$name")"
  printf -- '---- %s start %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$name" >>"$log"
  (cd "$(node_dir "$name")" && exec setsid "$@" >>"$log" 2>&1 </dev/null) &
  printf '%s\n' "$!" >"$(pid_file "$name")"
}

# pulled_files NAME: the config files a backend holds, besides its own dsiem_config.json.
pulled_files() {
  local file names=()
  for file in "$(node_dir "$1")"/configs/*; do
    [[ -f "$file" && "${file##*/}" != dsiem_config.json ]] && names+=("${file##*/}")
  done
  printf '%s' "${names[*]:-none}"
}

# abort_start: stops whatever was started, then exits 1.
abort_start() {
  say "start failed, stopping the nodes that were started"
  cmd_stop
  exit 1
}

cmd_start() {
  [[ -x "$BIN" ]] || die "$BIN not found: build it first (bash scripts/build.sh)"
  command -v nats-server >/dev/null 2>&1 ||
    die "nats-server not found: apt-get install nats-server (or bash scripts/install-deps.sh)"

  local node running=()
  while IFS= read -r node; do
    if running_pid "$node" >/dev/null; then
      running+=("$node")
    fi
  done < <(all_nodes)
  if ((${#running[@]} > 0)); then
    die "already running: ${running[*]} (run '$0 stop' first)"
  fi
  while IFS= read -r node; do
    if port_open "$(node_port "$node")"; then
      die "port $HOST:$(node_port "$node") (for $node) is already in use"
    fi
  done < <(all_nodes)

  prepare

  launch nats nats-server -a "$HOST" -p "$NATS_PORT"
  wait_ready nats 10 || abort_start
  say "nats-server on $MSQ"

  launch "$FRONTEND" "$(node_dir "$FRONTEND")/dsiem" serve \
    --mode cluster-frontend --node "$FRONTEND" --msq "$MSQ" -a "$HOST" -p "$FRONTEND_PORT"
  wait_ready "$FRONTEND" "$START_TIMEOUT" || abort_start
  say "frontend $FRONTEND on $FRONTEND_URL"

  for node in "${BACKENDS[@]}"; do
    launch "$node" "$(node_dir "$node")/dsiem" serve \
      --mode cluster-backend --node "$node" --frontend "$FRONTEND_URL" --msq "$MSQ" \
      -a "$HOST" -p "$(node_port "$node")"
  done
  for node in "${BACKENDS[@]}"; do
    wait_ready "$node" "$START_TIMEOUT" || abort_start
    say "backend $node on http://$HOST:$(node_port "$node"), pulled: $(pulled_files "$node")"
  done

  cat <<INFO

Cluster running under $CLUSTER_DIR
  frontend configs: $(node_dir "$FRONTEND")/configs
  alarms:           $(node_dir "${BACKENDS[0]}")/logs/siem_alarms.json (one file per backend)
  logs:             <node folder>/dsiem.log, $(log_file nats)

Post a sample event to the frontend (ICMP ping matching the "Ping Flood" directives; repeat it
to walk the stages):

curl -sS -w '%{http_code}\n' -X POST $FRONTEND_URL/events -H 'Content-Type: application/json' -d '{"timestamp":"'"\$(date -u +%Y-%m-%dT%H:%M:%SZ)"'","event_id":"'"\$(cat /proc/sys/kernel/random/uuid)"'","title":"ICMP Ping","sensor":"sensor-1","plugin_id":1001,"plugin_sid":2100384,"src_ip":"192.168.0.10","src_port":0,"dst_ip":"8.8.8.8","dst_port":0,"protocol":"ICMP"}'

Stop with: $0 stop

INFO
}

cmd_stop() {
  # the backends together, then the frontend, then NATS
  stop_nodes "${BACKENDS[@]}"
  stop_nodes "$FRONTEND"
  stop_nodes nats
}

cmd_status() {
  local node pid all=0
  while IFS= read -r node; do
    if pid="$(running_pid "$node")"; then
      printf '%-18s running  pid %-8s port %-6s %s\n' "$node" "$pid" "$(node_port "$node")" "$(ready_state "$node")"
    else
      printf '%-18s stopped\n' "$node"
      all=3
    fi
  done < <(all_nodes)
  return "$all"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  restart)
    cmd_stop
    cmd_start
    ;;
  *)
    printf 'usage: %s start|stop|status|restart\n' "$0" >&2
    exit 2
    ;;
esac
