#!/usr/bin/env bash
# Kafka-style wrapper: kafka-storage.sh random-uuid | format -t <id> -c <server.properties> ...
# Runs `samsa storage ...`. The binary is $SAMSA_BIN, else the Release build
# next to this script (build/release/src/cli/samsa), else `samsa` on PATH.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
samsa="${SAMSA_BIN:-$here/../build/release/src/cli/samsa}"
if [[ ! -x "$samsa" ]]; then
  samsa="$(command -v samsa || true)"
  [[ -n "$samsa" ]] || { echo "kafka-storage.sh: samsa binary not found (run tools/build.sh)" >&2; exit 127; }
fi
exec "$samsa" storage "$@"
