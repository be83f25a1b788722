# shellcheck shell=bash disable=SC2086,SC2015,SC2034  # word-split extra flags on purpose; globals set for the caller
# Helpers for bench/run.sh (sourced; not run on its own). Needs WORK (the
# run's temp dir), PIDS (pids the EXIT trap stops), FIGS (figures file, see
# lib/report.py) and NOTES_FILE set by run.sh.

log() { echo "run.sh: $*" >&2; }
note() { printf '%s\n' "$*" >>"$NOTES_FILE"; }
# fig KEY SIDE ROUND VALUE UNIT BETTER BASE_KEY TARGET LABEL: one measurement
# (the columns of lib/report.py). An empty or "-" value is not recorded.
fig() {
  [[ -n "$4" && "$4" != "-" ]] || return 0
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$FIGS"
}
# unavailable KEY SIDE LABEL WHY: a row that says why there is no figure.
unavailable() { fig "$1" "$2" 0 "unavailable: $4" "-" "-" "" "" "$3"; }

# div A B: A/B with 4 significant digits, "-" if either is missing or B is 0.
div() { awk -v a="${1:--}" -v b="${2:--}" \
  'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.4g\n", a / b }'; }
# jget FILE EXPR: a Python expression over the JSON document `d` (the whole
# file, or else its last line that is a JSON object); "-" when missing.
jget() {
  python3 -c 'import json,sys
try:
    t = open(sys.argv[1]).read()
    try:
        d = json.loads(t)
    except ValueError:
        d = json.loads([l for l in t.splitlines() if l.startswith("{")][-1])
    v = eval(sys.argv[2])
    print("-" if v is None else v)
except Exception as e:
    print("-"); print("run.sh: cannot read %s from %s: %r" % (sys.argv[2], sys.argv[1], e), file=sys.stderr)' "$1" "$2"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {  # wait_port PORT SECONDS
  python3 - "$1" "$2" <<'EOF'
import socket, sys, time
port, deadline = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close(); sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}
# last_error FILE: the last "error: ..." line a tool printed, else its last line.
last_error() { { grep -h '^error: ' "$1" || tail -n1 "$1"; } 2>/dev/null | tail -n1 | sed 's/^error: //'; }
# CPU seconds (user+sys) a process has used so far, from /proc/PID/stat.
proc_cpu_s() {
  [[ -r "/proc/$1/stat" ]] || { echo "-"; return; }
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / hz }' "/proc/$1/stat"
}
tool_cpu_s() { [[ -s "$1.cpu" ]] && awk '/^[0-9.]+ [0-9.]+$/ { printf "%.3f\n", $1 + $2 }' "$1.cpu" || echo "-"; }
# stop_pid PID [SECONDS]: SIGTERM, bounded wait, then SIGKILL.
stop_pid() {
  local pid="$1" limit="${2:-30}"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq $((limit * 5))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid still running $limit s after SIGTERM: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# ------------------------------------------------------------ clusters
# cluster_start NAME NODES [lib/cluster_up.py args...]: N samsa nodes of
# $SIDE_BIN on loopback in $WORK/NAME, topics created. Sets CL_PID (the
# cluster_up.py process: stopping it stops every node), CL_BOOT, CL_PIDS
# (the brokers' pids) and CL_DATA (their log dirs); on failure returns 1
# with the reason in CL_ERR.
cluster_start() {
  local name="$1" nodes="$2"; shift 2
  local dir="$WORK/$name"
  rm -rf "$dir"; mkdir -p "$dir"
  CL_ERR="" CL_BOOT="" CL_PIDS=() CL_DATA=()
  # run.sh --override K=V goes into every node's server.properties (last: it wins).
  local i ov=()
  for ((i = 1; i < ${#OVERRIDES[@]}; i += 2)); do ov+=(--config "${OVERRIDES[i]}"); done
  SAMSA_BIN="$SIDE_BIN" /usr/bin/python3 "$ROOT/bench/lib/cluster_up.py" --workdir "$dir/nodes" \
    --nodes "$nodes" "$@" "${ov[@]}" >"$dir/up.json" 2>"$dir/up.err" </dev/null &
  CL_PID=$!
  PIDS+=("$CL_PID")
  for _ in $(seq 600); do  # 120 s: three nodes, elections, topic creation
    [[ -s "$dir/up.json" ]] && break
    kill -0 "$CL_PID" 2>/dev/null || break
    sleep 0.2
  done
  if [[ ! -s "$dir/up.json" ]]; then
    CL_ERR="cluster of $nodes did not start: $(last_error "$dir/up.err")"
    stop_pid "$CL_PID" 60
    return 1
  fi
  CL_BOOT="$(jget "$dir/up.json" "d['bootstrap']")"
  read -r -a CL_PIDS <<<"$(jget "$dir/up.json" "' '.join(map(str, d['pids']))")"
  read -r -a CL_DATA <<<"$(jget "$dir/up.json" "' '.join(d['data_dirs'])")"
  # A few small records into every partition through librdkafka, which
  # retries: under load a partition can still answer Produce with
  # NOT_LEADER_OR_FOLLOWER (6) just after Metadata shows its leader, and
  # samsa-loadgen counts any error as a failed run.
  local a spec name parts
  for a in "$@"; do
    [[ "${spec:-}" == next ]] && { spec="$a"; name="${spec%%:*}"; parts="${spec#*:}"; parts="${parts%%:*}"
      if ! rk samsa-producer-perf "$dir/probe-$name.json" 60 --topic "$name" --partitions "$parts" \
          --records $((parts * 10)) --record-size 16 --acks 1; then
        CL_ERR="probe produce to $name failed: $(last_error "$dir/probe-$name.json.err")"
        stop_pid "$CL_PID" 60
        return 1
      fi; }
    [[ "$a" == --topic ]] && spec=next || spec=""
  done
  return 0
}
# cluster_stop NAME: stop it and free its disk space (backlogs can be GBs).
cluster_stop() {
  stop_pid "$CL_PID" 90
  rm -rf "${WORK:?}/$1"
}

# ------------------------------------------------------------ tools
have_loadgen() { [[ -x "$LOADGEN" ]]; }
# lg MODE OUT LIMIT_S args...: samsa-loadgen MODE against the running
# cluster, --broker-pid for each of its nodes, JSON to OUT, stderr to OUT.err.
# With --perf (perf_profile=1) the brokers are profiled meanwhile
# (`perf record -e cpu-clock`) and the top 5 symbols become a note.
lg() {
  local mode="$1" out="$2" limit="$3"; shift 3
  local p bp=() rc=0 perf_pid=""
  for p in "${CL_PIDS[@]}"; do bp+=(--broker-pid "$p"); done
  if ((${perf_profile:-0})); then
    perf record -e cpu-clock -F 999 -p "$(IFS=,; echo "${CL_PIDS[*]}")" -o "$out.perf.data" \
      >"$out.perf.log" 2>&1 </dev/null &
    perf_pid=$!
    PIDS+=("$perf_pid")
  fi
  timeout -k 5 $((limit + 30)) "$LOADGEN" "$mode" --bootstrap "$CL_BOOT" "${bp[@]}" \
    --timeout-s "$limit" --json "$@" >"$out" 2>"$out.err" || rc=$?
  if [[ -n "$perf_pid" ]]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$perf_pid" 2>/dev/null || break; sleep 0.2; done
    wait "$perf_pid" 2>/dev/null || true
    note "perf top 5 of the broker(s), ${L:-samsa-loadgen} $mode ($SIDE, round $ROUND): $(perf_top "$out.perf.data")"
    rm -f "$out.perf.data"
  fi
  return "$rc"
}
# perf_top DATA: the 5 hottest symbols, "12.3% symbol [dso]; ...".
perf_top() {
  timeout 120 perf report -i "$1" --stdio --no-children --sort sym,dso 2>/dev/null |
    awk '/^ *[0-9.]+%/ { pct = $1; $1 = ""; sub(/^ +/, ""); sub(/^\[.\] /, ""); printf "%s%s %s", (n++ ? "; " : ""), pct, $0
                         if (n == 5) exit }'
}
# rk NAME OUT LIMIT_S args...: a librdkafka bench tool against the running
# cluster (its --json output to OUT, stderr to OUT.err).
rk() {
  local name="$1" out="$2" limit="$3"; shift 3
  timeout -k 5 $((limit + 30)) "$BENCH_BIN_DIR/$name" --bootstrap "$CL_BOOT" \
    --timeout-s "$limit" --json "$@" >"$out" 2>"$out.err"
}
