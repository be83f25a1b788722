#!/usr/bin/env bash
# Kafka-style wrapper: kafka-server-start.sh [-daemon] server.properties [--override key=value]...
# Runs `samsa server ...` in the foreground, or with -daemon in the
# background (output to ${LOG_DIR:-<repo>/logs}/server.out, pid printed).
# The binary is $SAMSA_BIN, else the Release build next to this script
# (build/release/src/cli/samsa), else `samsa` on PATH.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
samsa="${SAMSA_BIN:-$here/../build/release/src/cli/samsa}"
if [[ ! -x "$samsa" ]]; then
  samsa="$(command -v samsa || true)"
  [[ -n "$samsa" ]] || { echo "kafka-server-start.sh: samsa binary not found (run tools/build.sh)" >&2; exit 127; }
fi

if (($# == 0)); then
  echo "USAGE: $0 [-daemon] server.properties [--override property=value]*" >&2
  exit 1
fi

if [[ "$1" == "-daemon" ]]; then
  shift
  log_dir="${LOG_DIR:-$here/../logs}"
  mkdir -p "$log_dir"
  nohup "$samsa" server "$@" >>"$log_dir/server.out" 2>&1 </dev/null &
  echo "$!"
  exit 0
fi
exec "$samsa" server "$@"
