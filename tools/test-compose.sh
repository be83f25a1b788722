#!/usr/bin/env bash
# shellcheck disable=SC2317  # cleanup() runs from the EXIT trap
# End-to-end check of the Docker deployment: build the image, start the three
# nodes of docker/docker-compose.yml with docker/docker-compose.test.yml (host
# network, 127.0.0.1 ports picked here), wait until all are healthy, run
# docker/compose_check.py (acks=all produce, kill -9 of a partition leader's
# container, every acknowledged record consumed), restart the killed container
# and wait until it is healthy again, and tear everything down, also on
# failure or Ctrl-C. Logs: build/test-compose/.
#
#   tools/test-compose.sh [--no-build] [--keep]
#     --no-build   use the existing $SAMSA_IMAGE instead of building it
#     --keep       leave the containers running (for a look; `docker-compose -p <project> down -v` after)
#
# Needs root or a docker group member, docker.io and docker-compose (installed
# when missing, as root), and python3-confluent-kafka. If no Docker daemon
# answers, this script starts one as the issue prescribes
# (`dockerd --bridge=none --iptables=false`) and stops it at the end. The base
# image comes from tools/docker-base-image.sh (built locally without a registry).
# Not part of .ci/run: building the image compiles all of Samsa (README, "Docker").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

IMAGE="${SAMSA_IMAGE:-samsa:test}"
PROJECT="samsa-compose-test-$$"
OUT="$ROOT/build/test-compose"
BUILD_TIMEOUT_S="${SAMSA_IMAGE_BUILD_TIMEOUT:-5400}"
HEALTHY_TIMEOUT_S=180
CHECK_TIMEOUT_S=300
build=1 keep=0
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test-compose: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

t0=$SECONDS
say() { printf '[test-compose %4ss] %s\n' "$((SECONDS - t0))" "$*"; }
mkdir -p "$OUT"

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
/usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null || need+=(python3-confluent-kafka)
if ((${#need[@]})); then
  if ((EUID != 0)); then
    echo "test-compose: missing ${need[*]} (apt-get install them as root)" >&2
    exit 1
  fi
  say "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=300 install -y --no-install-recommends \
    "${need[@]}" >"$OUT/apt.log" 2>&1 || { cat "$OUT/apt.log" >&2; exit 1; }
fi

dockerd_pid=""
compose=(docker-compose -p "$PROJECT" -f docker/docker-compose.yml -f docker/docker-compose.test.yml)
started_compose=0
status=1

cleanup() {
  local rc=$?
  ((status == 0)) || rc=1
  if ((started_compose)); then
    "${compose[@]}" logs --no-color >"$OUT/containers.log" 2>&1 || true
    if ((rc != 0)); then
      echo "---- last container log lines (all in $OUT/containers.log) ----" >&2
      tail -n 60 "$OUT/containers.log" >&2 || true
    fi
    if ((keep)); then
      say "left running: docker-compose -p $PROJECT -f docker/docker-compose.yml -f docker/docker-compose.test.yml down -v"
    else
      timeout 120 "${compose[@]}" down -v --remove-orphans --timeout 10 >"$OUT/down.log" 2>&1 ||
        echo "test-compose: docker-compose down failed (see $OUT/down.log)" >&2
    fi
  fi
  if [[ -n "$dockerd_pid" ]] && ((!keep)); then
    kill "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
  fi
  say "$( ((rc == 0)) && echo PASSED || echo FAILED ) in $((SECONDS - t0)) s"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! timeout 20 docker info >/dev/null 2>&1; then
  if ((EUID != 0)); then
    echo "test-compose: no Docker daemon answers, and starting one needs root" >&2
    exit 1
  fi
  say "starting dockerd --bridge=none --iptables=false (log: $OUT/dockerd.log)"
  dockerd --bridge=none --iptables=false >"$OUT/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 60); do
    timeout 5 docker info >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || { tail -n 20 "$OUT/dockerd.log" >&2; exit 1; }
    sleep 0.5
  done
  timeout 5 docker info >/dev/null 2>&1 || { echo "test-compose: dockerd did not come up" >&2; exit 1; }
fi

if ((build)); then
  tools/docker-base-image.sh
  say "building $IMAGE (log: $OUT/image-build.log)"
  # Host network for the build: apt-get in the build stages reaches the
  # Debian archive the way this machine does, with no bridge needed.
  if ! timeout "$BUILD_TIMEOUT_S" docker build --network host --build-arg "SAMSA_JOBS=${SAMSA_JOBS:-2}" \
      -t "$IMAGE" . >"$OUT/image-build.log" 2>&1; then
    tail -n 40 "$OUT/image-build.log" >&2
    echo "test-compose: image build failed" >&2
    exit 1
  fi
  say "image built"
fi
docker image inspect "$IMAGE" >/dev/null

# Six free loopback ports: client and controller port of each node.
read -r -a ports < <(/usr/bin/python3 - <<'PY'
import socket
socks = []
for _ in range(6):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)
export SAMSA_IMAGE="$IMAGE" CLUSTER_ID="${CLUSTER_ID:-$(docker run --rm --network none "$IMAGE" samsa storage random-uuid)}"
export SAMSA_TEST_PORT_1="${ports[0]}" SAMSA_TEST_PORT_2="${ports[1]}" SAMSA_TEST_PORT_3="${ports[2]}"
export SAMSA_TEST_CONTROLLER_PORT_1="${ports[3]}" SAMSA_TEST_CONTROLLER_PORT_2="${ports[4]}" \
       SAMSA_TEST_CONTROLLER_PORT_3="${ports[5]}"
bootstrap="127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]}"

say "starting project $PROJECT (clients on $bootstrap)"
started_compose=1
timeout 120 "${compose[@]}" up -d --no-build >"$OUT/up.log" 2>&1 || { cat "$OUT/up.log" >&2; exit 1; }

# wait_healthy: until the three containers run and report healthy (bounded).
wait_healthy() {
  local deadline=$((SECONDS + HEALTHY_TIMEOUT_S)) n id states
  while :; do
    states=()
    for n in 1 2 3; do
      id="$("${compose[@]}" ps -q "samsa-$n")"
      states+=("$(docker inspect -f '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id")")
    done
    [[ "${states[*]}" == "running/healthy running/healthy running/healthy" ]] && return 0
    if [[ "${states[*]}" == *exited* || "${states[*]}" == *dead* ]]; then
      echo "test-compose: a container stopped: ${states[*]}" >&2
      return 1
    fi
    if ((SECONDS > deadline)); then
      echo "test-compose: not all healthy after ${HEALTHY_TIMEOUT_S} s: ${states[*]}" >&2
      return 1
    fi
    sleep 2
  done
}

wait_healthy || exit 1
say "three nodes healthy"

kill_cmd="docker-compose -p $PROJECT -f docker/docker-compose.yml -f docker/docker-compose.test.yml kill -s SIGKILL samsa-{node}"
timeout $((CHECK_TIMEOUT_S + 30)) /usr/bin/python3 docker/compose_check.py --bootstrap "$bootstrap" \
  --kill-cmd "$kill_cmd" --timeout "$CHECK_TIMEOUT_S" 2>&1 | tee "$OUT/check.log" || exit 1

# The killed node comes back from its volume and rejoins.
say "restarting the killed container"
timeout 120 "${compose[@]}" up -d --no-build >>"$OUT/up.log" 2>&1 || { tail -n 20 "$OUT/up.log" >&2; exit 1; }
wait_healthy || exit 1
say "three nodes healthy again"
status=0
exit 0
