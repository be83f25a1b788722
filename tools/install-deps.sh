#!/usr/bin/env bash
# Install the Debian 12 packages samsa needs to build and to be tested.
#
#   tools/install-deps.sh               build + test dependencies
#   tools/install-deps.sh --build-only  only what the build needs
#   tools/install-deps.sh --check       report what is missing, install nothing
#
# Idempotent: packages are checked with dpkg first, and apt-get (update +
# install) runs only for what is missing. When everything is present it
# prints one line and touches nothing. Needs root (or sudo) to install.
set -euo pipefail

BUILD_PKGS=(
  cmake ninja-build g++ pkg-config python3
  libboost-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  liburing-dev libzstd-dev liblz4-dev libsnappy-dev zlib1g-dev libssl-dev
  libcli11-dev nlohmann-json3-dev ccache
)
TEST_PKGS=(
  kcat librdkafka-dev
  python3-confluent-kafka python3-kafka python3-pytest python3-pytest-timeout
  python3-snappy python3-lz4 python3-zstandard
  iperf3 fio time lz4 zstd
  # `docker-compose config` checks docker/*.yml (no Docker daemon needed)
  docker-compose python3-yaml
)

mode=all
for arg in "$@"; do
  case "$arg" in
    --build-only) mode=build ;;
    --check) mode="check-$mode" ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-deps: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

wanted=("${BUILD_PKGS[@]}")
if [[ "$mode" != *build ]]; then
  wanted+=("${TEST_PKGS[@]}")
  # Node may come from elsewhere (nodesource, nvm); only fall back to
  # Debian's nodejs/npm when the commands are missing.
  command -v node >/dev/null 2>&1 || wanted+=(nodejs)
  command -v npm >/dev/null 2>&1 || wanted+=(npm)
fi

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" == "install ok installed" ]]
}

missing=()
for pkg in "${wanted[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#wanted[@]} packages present"
  exit 0
fi

if [[ "$mode" == check-* ]]; then
  echo "install-deps: missing: ${missing[*]}"
  exit 1
fi

SUDO=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-deps: missing ${missing[*]} and not root (no sudo either)" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-q -y -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300 --no-install-recommends)
apt_log="$(mktemp)"
trap 'rm -f "$apt_log"' EXIT
# apt's output is shown only when something goes wrong.
if ! { "${SUDO[@]}" apt-get -q -o DPkg::Lock::Timeout=300 update &&
       "${SUDO[@]}" apt-get "${apt_opts[@]}" install "${missing[@]}"; } >"$apt_log" 2>&1; then
  cat "$apt_log" >&2
  echo "install-deps: apt-get failed" >&2
  exit 1
fi

still=()
for pkg in "${missing[@]}"; do
  is_installed "$pkg" || still+=("$pkg")
done
if ((${#still[@]})); then
  echo "install-deps: failed to install: ${still[*]}" >&2
  exit 1
fi
echo "install-deps: done"
