#!/usr/bin/env bash
# THE start command: build samsa if needed, format its log dirs on first
# run, then run the broker in the foreground.
#
#   tools/run-broker.sh [--override key=value]...
#
# Uses config/server.properties (or $SAMSA_CONFIG). Log dirs without a
# meta.properties are formatted, reusing the cluster id of an already
# formatted dir if there is one, else a new `samsa storage random-uuid`.
# Extra arguments go to `samsa server` unchanged.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CONFIG="${SAMSA_CONFIG:-config/server.properties}"
SAMSA="${SAMSA_BIN:-$ROOT/build/release/src/cli/samsa}"

if [[ ! -f "$CONFIG" ]]; then
  echo "run-broker: config file $CONFIG not found" >&2
  exit 1
fi

if [[ -z "${SAMSA_BIN:-}" ]]; then
  tools/install-deps.sh --build-only >&2
  tools/build.sh --target samsa >&2
fi
[[ -x "$SAMSA" ]] || { echo "run-broker: $SAMSA was not built" >&2; exit 1; }

# The effective config as `samsa server` will see it: the file, then each
# --override (later lines win, as in Java properties files).
effective="$(mktemp "${TMPDIR:-/tmp}/samsa-run-broker.XXXXXX.properties")"
trap 'rm -f "$effective"' EXIT
cat "$CONFIG" >"$effective"
printf '\n' >>"$effective"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --override) printf '%s\n' "${args[i + 1]:-}" >>"$effective"; i=$((i + 1)) ;;
    --override=*) printf '%s\n' "${args[i]#--override=}" >>"$effective" ;;
  esac
done

# prop <key>: last value of key in the effective config, trimmed.
prop() {
  sed -n -E "s/^[[:space:]]*$1[[:space:]]*[=:][[:space:]]*(.*[^[:space:]])[[:space:]]*\$/\\1/p" \
    "$effective" | tail -n1
}

dirs="$(prop 'log\.dirs')"
[[ -n "$dirs" ]] || dirs="$(prop 'log\.dir')"
[[ -n "$dirs" ]] || dirs=/tmp/kraft-combined-logs

unformatted=0
cluster_id=""
IFS=',' read -r -a dir_list <<<"$dirs"
for d in "${dir_list[@]}"; do
  d="${d#"${d%%[![:space:]]*}"}"; d="${d%"${d##*[![:space:]]}"}"
  [[ -n "$d" ]] || continue
  if [[ -f "$d/meta.properties" ]]; then
    id="$(sed -n 's/^cluster\.id=//p' "$d/meta.properties" | tail -n1)"
    [[ -n "$id" ]] && cluster_id="$id"
  else
    unformatted=1
  fi
done

if ((unformatted)); then
  if [[ -z "$cluster_id" ]]; then
    cluster_id="$("$SAMSA" storage random-uuid)"
  fi
  echo "run-broker: formatting log dirs ($dirs) with cluster id $cluster_id" >&2
  "$SAMSA" storage format -t "$cluster_id" -c "$effective" --ignore-formatted >&2
fi

rm -f "$effective"
trap - EXIT
exec "$SAMSA" server "$CONFIG" "$@"
