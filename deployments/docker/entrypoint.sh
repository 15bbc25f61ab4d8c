#!/usr/bin/env bash
# Entrypoint of the dsiem-cpp image.
#
# 1. Seeds the configs: when /dsiem/configs is empty, the default configs kept in
#    /dsiem/configs.default are copied into it. Not in cluster-backend mode: a backend starts
#    with an empty configs directory and pulls its files from a frontend.
#    Only regular files directly inside /dsiem/configs.default are copied, and symbolic links
#    are followed, so a Kubernetes ConfigMap mounted on /dsiem/configs.default works too.
# 2. Writes /dsiem/web/dist/assets/config/esconfig.json for the web UI when DSIEM_WEB_ESURL
#    and/or DSIEM_WEB_KBNURL are set ({"elasticsearch": <ESURL>, "kibana": <KBNURL>}).
#    These two variables are read here only; the engine does not read them.
# 3. Replaces itself with `/dsiem/dsiem serve "$@"`: the container's arguments become `serve`
#    flags, and every DSIEM_* variable reaches the engine unchanged.
#
# The mode is taken from the arguments (--mode X, --mode=X, -m X, -mX, -m=X; the last one
# wins), else from DSIEM_MODE, else standalone, which is how the engine itself resolves it.
#
# ENTRYPOINT_BASE_DIR replaces /dsiem (used by the repository's tests only).
set -euo pipefail

base="${ENTRYPOINT_BASE_DIR:-/dsiem}"
configs="$base/configs"
defaults="$base/configs.default"
webconfig_dir="$base/web/dist/assets/config"

note() {
  printf 'entrypoint: %s\n' "$*" >&2
}

# resolve_mode ARGS...: prints the deployment mode dsiem will run in.
resolve_mode() {
  local mode="${DSIEM_MODE:-}"
  mode="${mode:-standalone}"
  local args=("$@") i
  for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
      --) break ;;
      --mode=*) mode="${args[i]#--mode=}" ;;
      -m=*) mode="${args[i]#-m=}" ;;
      --mode | -m)
        if ((i + 1 < ${#args[@]})); then
          mode="${args[i + 1]}"
          i=$((i + 1))
        fi
        ;;
      -m?*) mode="${args[i]#-m}" ;;
    esac
  done
  printf '%s' "$mode"
}

# seed_configs MODE: copies the default configs into an empty configs directory.
seed_configs() {
  local mode="$1"
  if [[ "$mode" == cluster-backend ]]; then
    return 0
  fi
  if [[ ! -d "$defaults" ]]; then
    return 0
  fi
  if ! mkdir -p "$configs" 2>/dev/null; then
    note "cannot create $configs, default configs not copied"
    return 0
  fi
  if [[ -n "$(ls -A "$configs" 2>/dev/null)" ]]; then
    return 0 # not empty: the operator's files win, nothing is overwritten
  fi
  local copied=0 file
  for file in "$defaults"/*; do
    [[ -f "$file" ]] || continue # skips directories and ConfigMap bookkeeping entries
    if cp -L "$file" "$configs/"; then
      copied=$((copied + 1))
    else
      note "cannot copy $file to $configs"
    fi
  done
  note "copied $copied default config file(s) into $configs"
}

# json_string TEXT: TEXT as a JSON string literal.
json_string() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\t'/\\t}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/\\r}"
  printf '"%s"' "$s"
}

# write_web_config: esconfig.json for the web UI, from DSIEM_WEB_ESURL / DSIEM_WEB_KBNURL.
write_web_config() {
  local es="${DSIEM_WEB_ESURL:-}" kbn="${DSIEM_WEB_KBNURL:-}"
  if [[ -z "$es" && -z "$kbn" ]]; then
    return 0
  fi
  if ! mkdir -p "$webconfig_dir" 2>/dev/null; then
    note "cannot create $webconfig_dir, esconfig.json not written"
    return 0
  fi
  local lines=()
  [[ -n "$es" ]] && lines+=("  \"elasticsearch\": $(json_string "$es")")
  [[ -n "$kbn" ]] && lines+=("  \"kibana\": $(json_string "$kbn")")
  local body="{"$'\n' i
  for ((i = 0; i < ${#lines[@]}; i++)); do
    body+="${lines[i]}"
    if ((i + 1 < ${#lines[@]})); then
      body+=","
    fi
    body+=$'\n'
  done
  body+="}"$'\n'
  local target="$webconfig_dir/esconfig.json"
  if printf '%s' "$body" >"$target.tmp" 2>/dev/null && mv -f "$target.tmp" "$target"; then
    note "wrote $target"
  else
    rm -f "$target.tmp" 2>/dev/null || true
    note "cannot write $target"
  fi
}

mode="$(resolve_mode "$@")"
seed_configs "$mode"
write_web_config

exec "$base/dsiem" serve "$@"
