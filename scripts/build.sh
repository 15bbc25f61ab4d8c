#!/usr/bin/env bash
# Release build into build/.  Extra arguments go to the CMake configure step
# (e.g. -DDSIEM_BUILD_BENCH=ON).  JOBS sets the parallelism (default 2).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

configure_build "$REPO_ROOT/build" -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$REPO_ROOT/build" -j "$JOBS"
echo "build: $REPO_ROOT/build/dsiem"
