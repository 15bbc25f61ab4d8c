# Shared helpers for the scripts in this folder (sourced, not run).

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOBS="${JOBS:-2}"
TEST_JOBS="${TEST_JOBS:-4}"

# configure_build DIR CMAKE_ARGS...: configure DIR, with Ninja when available.
# An already configured DIR keeps its generator (CMake refuses to switch).
configure_build() {
  local dir="$1"
  shift
  local generator=()
  if [[ ! -f "$dir/CMakeCache.txt" ]] && command -v ninja >/dev/null 2>&1; then
    generator=(-G Ninja)
  fi
  cmake -S "$REPO_ROOT" -B "$dir" "${generator[@]}" "$@"
}
