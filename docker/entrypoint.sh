#!/usr/bin/env bash
# Container entrypoint: writes /etc/samsa/server.properties, formats the log
# directories on first start, then runs the node in the foreground (PID 1's
# child is replaced by samsa, so SIGTERM from `docker stop` reaches it).
#
# The configuration comes, as in the official apache/kafka image, from:
#   1. /mnt/shared/config/server.properties if it is mounted (file input);
#   2. environment variables KAFKA_<KEY>, which win over the file: the prefix is
#      removed, the rest lower-cased, then "___" -> "-", "__" -> "_", "_" -> "."
#      (KAFKA_NODE_ID -> node.id, KAFKA_LOG_DIRS -> log.dirs);
#   3. with neither, the image's one-node default (/usr/share/samsa/server.properties).
# When KAFKA_LISTENERS is missing it is derived from KAFKA_ADVERTISED_LISTENERS
# with every host replaced by 0.0.0.0, and log.dirs defaults to the data volume.
#
# CLUSTER_ID (default below: set your own) is the id `samsa storage format`
# writes into every log directory that is not formatted yet;
# SAMSA_FORMAT_OPTS adds format flags (e.g. --standalone for a dynamic quorum).
#
# With arguments, they are run instead (`docker run samsa samsa storage random-uuid`).
# SAMSA_CONFIG_DIR, SAMSA_FILE_INPUT_DIR, SAMSA_DEFAULT_CONFIG and SAMSA_DATA_DIR
# move the paths below (tests run this script outside a container).
set -euo pipefail

CONFIG_DIR="${SAMSA_CONFIG_DIR:-/etc/samsa}"
CONFIG="$CONFIG_DIR/server.properties"
FILE_INPUT="${SAMSA_FILE_INPUT_DIR:-/mnt/shared/config}/server.properties"
DEFAULTS="${SAMSA_DEFAULT_CONFIG:-/usr/share/samsa/server.properties}"
DATA_DIR="${SAMSA_DATA_DIR:-/var/lib/samsa/data}"
# Not configuration keys: the JVM/log4j settings of Kafka's scripts. Accepted
# and ignored, so a compose file written for apache/kafka does not fail here.
NOT_CONFIG_RE='^KAFKA_(VERSION|HEAP_OPTS|OPTS|JMX_OPTS|JMX_PORT|JMX_HOSTNAME|JVM_PERFORMANCE_OPTS|GC_LOG_OPTS|LOG4J_OPTS|LOG4J_ROOT_LOGLEVEL|LOG4J_LOGGERS|TOOLS_LOG4J_LOGLEVEL)$'

if (($#)); then
  exec "$@"
fi

# env_to_key KAFKA_FOO__BAR___BAZ_QUX -> foo_bar-baz.qux
env_to_key() {
  local k="${1#KAFKA_}"
  k="${k,,}"
  # Placeholders keep the three rules from running into each other.
  k="${k//___/$'\x01'}"
  k="${k//__/$'\x02'}"
  k="${k//_/.}"
  k="${k//$'\x01'/-}"
  k="${k//$'\x02'/_}"
  printf '%s' "$k"
}

# A value as java.util.Properties reads it back: backslashes doubled, a leading
# blank escaped (it would be skipped), line breaks as \n.
escape_value() {
  local v="${1//\\/\\\\}"
  v="${v//$'\n'/\\n}"
  [[ "$v" == [[:blank:]]* ]] && v="\\$v"
  printf '%s' "$v"
}

env_names=()
while IFS= read -r name; do
  [[ "$name" =~ ^KAFKA_[A-Z0-9_]+$ && ! "$name" =~ $NOT_CONFIG_RE ]] && env_names+=("$name")
done < <(compgen -e | sort)

declare -A from_env=()
for name in "${env_names[@]}"; do
  from_env["$(env_to_key "$name")"]="${!name}"
done

if [[ -z "${KAFKA_LISTENERS:-}" && -n "${KAFKA_ADVERTISED_LISTENERS:-}" ]]; then
  # NAME://host:port -> NAME://0.0.0.0:port, for every entry.
  from_env[listeners]="$(sed -E 's#://[^,]*:([0-9]+)#://0.0.0.0:\1#g' <<<"$KAFKA_ADVERTISED_LISTENERS")"
fi

mkdir -p "$CONFIG_DIR"
{
  printf '# Written by samsa-docker-entrypoint at %s; edits are lost at restart.\n' "$(date -u +%FT%TZ)"
  if [[ -f "$FILE_INPUT" ]]; then
    printf '\n# From %s\n' "$FILE_INPUT"
    cat "$FILE_INPUT"
    printf '\n'
  elif ((${#env_names[@]} == 0)); then
    printf '\n# From %s (no KAFKA_* variables, no file input)\n' "$DEFAULTS"
    cat "$DEFAULTS"
    printf '\n'
  fi
  # The data volume, unless the file input or the environment chose (the
  # image's defaults already name it).
  if [[ -f "$FILE_INPUT" ]] || ((${#env_names[@]})); then
    if [[ -z "${from_env[log.dirs]:-}" && -z "${from_env[log.dir]:-}" ]] &&
       ! { [[ -f "$FILE_INPUT" ]] && grep -Eq '^[[:blank:]]*log\.dirs?[[:blank:]]*[=:]' "$FILE_INPUT"; }; then
      printf '\n# The data volume\nlog.dirs=%s\n' "$DATA_DIR"
    fi
  fi
  if ((${#from_env[@]})); then
    printf '\n# From the environment (later lines win)\n'
    while IFS= read -r key; do
      printf '%s=%s\n' "$key" "$(escape_value "${from_env[$key]}")"
    done < <(printf '%s\n' "${!from_env[@]}" | sort)
  fi
} >"$CONFIG.tmp"
mv "$CONFIG.tmp" "$CONFIG"

CLUSTER_ID="${CLUSTER_ID:-81HsdRrsQpGC6qFQ641yEw}"
# --ignore-formatted: a restarted container keeps its data; only directories
# that have no meta.properties yet (first start, a new log dir) are formatted.
# shellcheck disable=SC2086  # SAMSA_FORMAT_OPTS is a list of flags
samsa storage format --cluster-id "$CLUSTER_ID" --config "$CONFIG" --ignore-formatted ${SAMSA_FORMAT_OPTS:-}

exec samsa server "$CONFIG"
