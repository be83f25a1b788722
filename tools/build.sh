#!/usr/bin/env bash
# Configure and build samsa with CMake + Ninja.
#
#   tools/build.sh                 Release build in build/release (everything)
#   tools/build.sh --asan          also build/asan (ASan+UBSan, -O0 -g1: compiles fastest); by
#                                  default only the ASan unit-test target(s)
#   tools/build.sh --asan-only     only the ASan build
#   tools/build.sh --target samsa  build one target in build/release
#
# Environment:
#   SAMSA_JOBS          parallel jobs (default: nproc)
#   SAMSA_ASAN_TARGETS  space-separated ASan targets (default:
#                       protocol_unit_tests; "all" builds everything)
#   SAMSA_BUILD_DIR     Release build dir (default build/release)
#   SAMSA_ASAN_DIR      ASan build dir (default build/asan)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# Paths relative to the checkout, so a fresh clone reuses cached objects.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"

JOBS="${SAMSA_JOBS:-$(nproc)}"
ASAN_TARGETS="${SAMSA_ASAN_TARGETS:-protocol_unit_tests}"
BUILD_DIR="${SAMSA_BUILD_DIR:-build/release}"
ASAN_DIR="${SAMSA_ASAN_DIR:-build/asan}"
release=1
asan=0
release_targets=()

while (($#)); do
  case "$1" in
    --asan) asan=1 ;;
    --asan-only) asan=1; release=0 ;;
    --target) shift; release_targets+=("${1:?--target needs a name}") ;;
    -j) shift; JOBS="${1:?-j needs a number}" ;;
    -j*) JOBS="${1#-j}" ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '\n==> %s\n' "$*"; }

# configure <build-dir> <cmake args...>: (re)configure when needed.
configure() {
  local dir="$1"; shift
  if [[ ! -f "$dir/build.ninja" ]] || ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$dir/CMakeCache.txt" 2>/dev/null; then
    step "configure $dir"
    cmake -S "$ROOT" -B "$dir" -G Ninja "$@"
  else
    # Cheap when nothing changed; picks up new option values.
    cmake -S "$ROOT" -B "$dir" "$@" >/dev/null
  fi
}

if ((release)); then
  configure "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DSAMSA_SANITIZE=OFF -DSAMSA_BUILD_TESTS=ON
  step "build $BUILD_DIR (-j$JOBS)${release_targets:+ targets: ${release_targets[*]}}"
  if ((${#release_targets[@]})); then
    cmake --build "$BUILD_DIR" -j "$JOBS" --target "${release_targets[@]}"
  else
    cmake --build "$BUILD_DIR" -j "$JOBS"
  fi
fi

if ((asan)); then
  configure "$ASAN_DIR" -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -g1" \
    -DSAMSA_SANITIZE=ON -DSAMSA_BUILD_TESTS=ON
  if [[ "$ASAN_TARGETS" == all ]]; then
    step "build $ASAN_DIR (-j$JOBS)"
    cmake --build "$ASAN_DIR" -j "$JOBS"
  else
    step "build $ASAN_DIR targets: $ASAN_TARGETS (-j$JOBS)"
    # shellcheck disable=SC2086  # the target list is meant to be split
    cmake --build "$ASAN_DIR" -j "$JOBS" --target $ASAN_TARGETS
  fi
fi
