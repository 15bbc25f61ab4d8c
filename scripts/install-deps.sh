#!/usr/bin/env bash
# Installs what building and testing dsiem needs on Debian 12 (as root, or through sudo).
# Idempotent: packages already installed are skipped, and the package lists are only
# refreshed when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config python3
  libnats-dev libsimdjson-dev libspdlog-dev libcli11-dev libboost-dev rapidjson-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  nats-server clang-format curl
)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

as_root=()
if [[ "$(id -u)" -ne 0 ]]; then
  as_root=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update
"${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
