#!/usr/bin/env bash
# shellcheck disable=SC2317  # run_* functions are called through step()
# THE test command: install dependencies, build, and run every test suite.
#
#   tools/run-tests.sh [--no-deps] [--no-build] [--no-asan] [-- <pytest args>]
#
# Steps (all of them run; a step whose prerequisite failed is reported as
# SKIPPED and counts as a failure):
#   deps         tools/install-deps.sh
#   build        Release build in build/release (tools/build.sh)
#   build-asan   ASan+UBSan build of protocol_unit_tests in build/asan
#   unit         ctest --test-dir "$SAMSA_BUILD_DIR" (all unit tests)
#   asan         protocol_unit_tests under ASan/UBSan (includes the fuzz test)
#   npm          npm ci in tests/integration/node (kafkajs 2.2.4)
#   integration  /usr/bin/python3 -m pytest -v tests/integration
# Exit status is 0 only if every step passed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

do_deps=1 do_build=1 do_asan=1
pytest_args=()
while (($#)); do
  case "$1" in
    --no-deps) do_deps=0 ;;
    --no-build) do_build=0 ;;
    --no-asan) do_asan=0 ;;
    --) shift; pytest_args=("$@"); break ;;
    -h|--help) sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-tests.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

# Debian's Kafka client packages only import under the system interpreter,
# not under a pyenv/venv python3 that may come first on PATH.
PYTHON=/usr/bin/python3
# Build dirs (tools/build.sh reads the same variables).
export SAMSA_BUILD_DIR="${SAMSA_BUILD_DIR:-build/release}"
export SAMSA_ASAN_DIR="${SAMSA_ASAN_DIR:-build/asan}"
SAMSA_BIN_DEFAULT="$ROOT/$SAMSA_BUILD_DIR/src/cli/samsa"
export SAMSA_BIN="${SAMSA_BIN:-$SAMSA_BIN_DEFAULT}"

declare -A result=() took=()
order=()

banner() {
  printf '\n'
  printf '=%.0s' {1..78}
  printf '\n=== %s\n' "$*"
  printf '=%.0s' {1..78}
  printf '\n'
}

# step <name> <command...>: run it, record PASS/FAIL with its duration.
step() {
  local name="$1"; shift
  order+=("$name")
  banner "$name: $*"
  local t0=$SECONDS rc
  "$@"
  rc=$?
  took[$name]=$((SECONDS - t0))
  if ((rc == 0)); then
    result[$name]=PASS
  else
    result[$name]="FAIL (exit $rc)"
    printf '\n*** step %s FAILED (exit %d) ***\n' "$name" "$rc"
  fi
  return "$rc"
}

skip() {
  local name="$1" why="$2"
  order+=("$name")
  result[$name]="SKIPPED ($why)"
  took[$name]=0
  banner "$name: SKIPPED ($why)"
}

# ---------------------------------------------------------------- steps

run_ctest() {
  timeout -k 30 1200 ctest --test-dir "$SAMSA_BUILD_DIR" --output-on-failure -j2 --no-tests=error
}

run_asan_protocol() {
  local bin
  bin="$(find "$SAMSA_ASAN_DIR" -type f -name protocol_unit_tests -perm -u+x 2>/dev/null | head -n1)"
  if [[ -z "$bin" ]]; then
    echo "protocol_unit_tests not found under $SAMSA_ASAN_DIR" >&2
    return 1
  fi
  ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
    timeout -k 30 900 "$bin" --gtest_brief=1
}

run_npm_ci() {
  (cd tests/integration/node && timeout -k 10 600 npm ci --no-audit --no-fund --loglevel=error)
}

run_pytest() {
  local rc
  timeout -k 30 1800 "$PYTHON" -m pytest -v tests/integration "${pytest_args[@]}"
  rc=$?
  if ((rc == 5)); then
    echo "*** pytest collected no tests: treating as a failure ***" >&2
  fi
  return "$rc"
}

# ---------------------------------------------------------------- run

if ((do_deps)); then
  step deps tools/install-deps.sh
else
  skip deps "--no-deps"
fi

# With --no-build the existing build trees are used as they are.
release_ok=1 asan_ok=1
if ((do_build)); then
  step build tools/build.sh || release_ok=0
  if ((do_asan)); then
    step build-asan tools/build.sh --asan-only || asan_ok=0
  fi
else
  skip build "--no-build"
fi

if ((release_ok)); then
  step unit run_ctest
else
  skip unit "build failed"
fi

if ((!do_asan)); then
  skip asan "--no-asan"
elif ((asan_ok)); then
  step asan run_asan_protocol
else
  skip asan "build-asan failed"
fi

step npm run_npm_ci

if ((release_ok)); then
  step integration run_pytest
else
  skip integration "build failed"
fi

# ---------------------------------------------------------------- summary

banner "summary"
failed=0
for name in "${order[@]}"; do
  r="${result[$name]}"
  printf '  %-12s %-28s %4ss\n' "$name" "$r" "${took[$name]}"
  case "$r" in
    PASS) ;;
    "SKIPPED (--no-"*) ;;   # skipped on request is not a failure
    *) failed=1 ;;
  esac
done
if ((failed)); then
  printf '\nRESULT: FAILED\n'
  exit 1
fi
printf '\nRESULT: ALL PASSED\n'
exit 0
