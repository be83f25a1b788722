#!/usr/bin/env bash
# Container health check: the node is healthy when its client listener answers
# an ApiVersions request with error code 0. Samsa accepts connections only once
# it is ready to serve (tcp_server.cc), so a refused connection means "starting".
#
# The listener is read from the server.properties the entrypoint wrote: the
# first one that is not a controller listener (a controller-only node: its
# controller listener). A wildcard or empty host is probed on 127.0.0.1.
#   samsa-healthcheck [host:port]     probe this address instead
set -euo pipefail

CONFIG="${SAMSA_CONFIG_DIR:-/etc/samsa}/server.properties"

# prop KEY: the last value of KEY in the config (later lines win).
prop() {
  sed -nE "s/^[[:blank:]]*${1//./\\.}[[:blank:]]*[=:][[:blank:]]*//p" "$CONFIG" | tail -n1
}

target="${1:-}"
if [[ -z "$target" ]]; then
  IFS=, read -ra listeners <<<"$(prop listeners | tr -d '[:blank:]')"
  IFS=, read -ra controllers <<<"$(prop controller.listener.names | tr -d '[:blank:]')"
  chosen=""
  for l in "${listeners[@]}"; do
    name="${l%%://*}"
    is_controller=0
    for c in "${controllers[@]}"; do [[ "${name^^}" == "${c^^}" ]] && is_controller=1; done
    if ((!is_controller)); then chosen="$l"; break; fi
  done
  chosen="${chosen:-${listeners[0]:-}}"
  if [[ -z "$chosen" ]]; then
    echo "no listener in $CONFIG" >&2
    exit 1
  fi
  hostport="${chosen#*://}"
  host="${hostport%:*}"
  host="${host#[}"; host="${host%]}"
  case "$host" in ""|0.0.0.0) host=127.0.0.1 ;; "::") host=::1 ;; esac
  target="$host:${hostport##*:}"
fi
host="${target%:*}"
port="${target##*:}"

# ApiVersions v0: api key 18, version 0, correlation id 0x5a5a5a5a,
# client id "health" is 6 bytes -> 2+2+4+2+6 = 16 bytes after the size.
request='\x00\x00\x00\x10\x00\x12\x00\x00\x5a\x5a\x5a\x5a\x00\x06health'
# The answer starts with size (4), correlation id (4), error code (2).
# shellcheck disable=SC2016  # expanded by the inner bash, from its arguments
reply="$(timeout 4 bash -c '
  exec 3<>"/dev/tcp/$1/$2" || exit 1
  printf "$3" >&3
  head -c 10 <&3 | od -An -tx1 | tr -d " \n"' probe "$host" "$port" "$request" 2>/dev/null || true)"

if [[ "${reply:8:12}" == "5a5a5a5a0000" ]]; then
  exit 0
fi
echo "ApiVersions on $host:$port: ${reply:-no answer}" >&2
exit 1
