#!/usr/bin/env bash
# Samsa benchmark: baselines and broker scenarios in ONE run, each broker
# figure printed as a ratio to its baseline (the machine is shared and
# noisy: only ratios are comparable between runs). See bench/README.md.
#
#   bench/run.sh [--quick] [--broker-only | --baselines-only] [--self-test]
#                [--json out.json] [--override key=value]...
#                [--fetch-modes pread,sendfile,...]
#
#   --quick           small record counts and short baselines (smoke run)
#   --broker-only     skip iperf3/fio (ratios then show "-")
#   --baselines-only  skip the broker
#   --self-test       run the broker scenarios against librdkafka's mock
#                     cluster (samsa-bench-mock-cluster) instead of samsa:
#                     checks the tools and this script, NOT a measurement
#   --json FILE       also write the table as JSON
#   --override K=V    pass `--override K=V` to `samsa server` (repeatable)
#   --fetch-modes L   after (d), restart samsa on the same log dir once per
#                     mode in the comma-separated list L with
#                     `--override samsa.fetch.transfer=MODE` and rerun (d)
#
# Environment: SAMSA_BIN (default build/release/src/cli/samsa),
# BENCH_BIN_DIR (default build/bench/bench), BENCH_TMPDIR (temp dirs, log
# dirs and fio files go there; default $TMPDIR or /tmp).
# All traffic stays on 127.0.0.1; every step has a time limit; processes and
# temp dirs are cleaned up on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SAMSA_BIN="${SAMSA_BIN:-$ROOT/build/release/src/cli/samsa}"
BENCH_BIN_DIR="${BENCH_BIN_DIR:-$ROOT/build/bench/bench}"
quick=0 run_baselines=1 run_broker=1 self_test=0 json_out="" fetch_modes=""
OVERRIDES=()

while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --broker-only) run_baselines=0 ;;
    --baselines-only) run_broker=0 ;;
    --self-test) self_test=1 ;;
    --json) shift; json_out="${1:?--json needs a file name}" ;;
    --json=*) json_out="${1#--json=}" ;;
    --override) shift; OVERRIDES+=(--override "${1:?--override needs key=value}") ;;
    --override=*) OVERRIDES+=(--override "${1#--override=}") ;;
    --fetch-modes) shift; fetch_modes="${1:?--fetch-modes needs a list}" ;;
    --fetch-modes=*) fetch_modes="${1#--fetch-modes=}" ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
for tool in python3 timeout; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is required" >&2; exit 2; }
done

WORK="$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/samsa-bench.XXXXXX")"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$p" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ROWS="$WORK/rows.tsv"   # figure, value, unit, baseline, baseline unit, ratio
: >"$ROWS"
NOTES=()
log() { echo "run.sh: $*" >&2; }
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$ROWS"; }
# div A B: A/B with 4 significant digits, "-" if either is missing or B is 0.
div() { awk -v a="${1:--}" -v b="${2:--}" \
  'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.4g\n", a / b }'; }
mul() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6g\n", a * b }'; }
# jget FILE EXPR: a Python expression over the JSON document `d`.
jget() {
  python3 -c 'import json,sys
try:
    d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))
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
last_error() { { grep -h '^error: ' "$1" || tail -n1 "$1"; } | tail -n1 | sed 's/^error: //'; }

if ((quick)); then
  IPERF_S=2 FIO_MB=64
  N_1K=50000 N_100B=200000 E2E_S=5
else
  IPERF_S=5 FIO_MB=512
  N_1K=1000000 N_100B=5000000 E2E_S=30
fi
((self_test)) && N_1K=20000 N_100B=100000 E2E_S=5  # the mock keeps ~5 MB per partition

# ----------------------------------------------------------------- baselines
LOOP_MBS="-"
if ((run_baselines)); then
  if command -v iperf3 >/dev/null; then
    port="$(free_port)"
    iperf3 -s -B 127.0.0.1 -p "$port" -1 >"$WORK/iperf-server.log" 2>&1 &
    PIDS+=($!)
    # (no test connection: a one-off server (-1) would take it for the client)
    for _ in $(seq 100); do grep -q 'listening' "$WORK/iperf-server.log" && break; sleep 0.1; done
    if timeout $((IPERF_S + 30)) iperf3 -c 127.0.0.1 -B 127.0.0.1 -p "$port" -t "$IPERF_S" -J \
        >"$WORK/iperf.json" 2>"$WORK/iperf.err"; then
      LOOP_MBS="$(jget "$WORK/iperf.json" "round(d['end']['sum_received']['bits_per_second'] / 8e6, 1)")"
      row "baseline: loopback TCP (iperf3, 1 stream)" "$(div "$LOOP_MBS" 1000)" "GB/s" "-" "" "-"
    else
      log "iperf3 failed: $(tail -n2 "$WORK/iperf.err" 2>/dev/null)"
    fi
  else
    log "iperf3 not installed: no loopback baseline"
  fi
  if command -v fio >/dev/null; then
    mkdir -p "$WORK/fio"
    fs="$(stat -f -c %T "$WORK/fio")"
    fio_run() {  # fio_run NAME extra-args...
      local name="$1"; shift
      timeout 180 fio --name="$name" --directory="$WORK/fio" --rw=write --bs=1M --size="${FIO_MB}M" \
        --ioengine=psync --runtime=60 --output-format=json "$@" >"$WORK/fio-$name.json" 2>"$WORK/fio-$name.err"
      rm -f "$WORK/fio/$name"*
    }
    if fio_run fsync --fsync=1; then
      f="$WORK/fio-fsync.json"
      row "baseline: seq write 1 MiB + fsync each ($fs)" \
        "$(jget "$f" "round(d['jobs'][0]['write']['bw_bytes'] / 1e6, 1)")" "MB/s" "-" "" "-"
      row "baseline: fsync latency p50" \
        "$(jget "$f" "round(d['jobs'][0]['sync']['lat_ns']['percentile']['50.000000'] / 1e6, 3)")" "ms" "-" "" "-"
      row "baseline: fsync latency p99" \
        "$(jget "$f" "round(d['jobs'][0]['sync']['lat_ns']['percentile']['99.000000'] / 1e6, 3)")" "ms" "-" "" "-"
    else
      log "fio (fsync) failed: $(tail -n2 "$WORK/fio-fsync.err")"
    fi
    if fio_run buffered --end_fsync=1; then
      row "baseline: seq write 1 MiB buffered, one fsync at end" \
        "$(jget "$WORK/fio-buffered.json" "round(d['jobs'][0]['write']['bw_bytes'] / 1e6, 1)")" "MB/s" "-" "" "-"
    else
      log "fio (buffered) failed: $(tail -n2 "$WORK/fio-buffered.err")"
    fi
  else
    log "fio not installed: no disk baseline"
  fi
fi

# -------------------------------------------------------------------- broker
UNAVAILABLE=""
start_samsa() {
  [[ -x "$SAMSA_BIN" ]] || { UNAVAILABLE="samsa binary not found at $SAMSA_BIN (tools/build.sh)"; return; }
  local port cport cluster
  port="$(free_port)"; cport="$(free_port)"
  while [[ "$cport" == "$port" ]]; do cport="$(free_port)"; done
  mkdir -p "$WORK/broker"
  cat >"$WORK/broker/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$WORK/broker/data
EOF
  cluster="$(timeout 30 "$SAMSA_BIN" storage random-uuid)" &&
    timeout 30 "$SAMSA_BIN" storage format -t "$cluster" -c "$WORK/broker/server.properties" \
      >"$WORK/broker/format.log" 2>&1 ||
    { UNAVAILABLE="samsa storage format failed: $(tail -n1 "$WORK/broker/format.log" 2>/dev/null)"; return; }
  SAMSA_PORT="$port"
  launch_samsa samsa "${OVERRIDES[@]}" || return
  BOOTSTRAP="127.0.0.1:$port"
}
# launch_samsa LOGNAME server-args...: start samsa on the formatted log dir;
# SAMSA_PID is its pid, its output goes to $WORK/broker/LOGNAME.log.
launch_samsa() {
  local name="$1"; shift
  (cd "$WORK/broker" && exec "$SAMSA_BIN" server "$WORK/broker/server.properties" "$@" \
    >"$WORK/broker/$name.log" 2>&1 </dev/null) &
  SAMSA_PID=$!
  PIDS+=($SAMSA_PID)
  if ! wait_port "$SAMSA_PORT" 20; then
    UNAVAILABLE="samsa did not listen on 127.0.0.1:$SAMSA_PORT within 20 s: $(tail -n1 "$WORK/broker/$name.log")"
    return 1
  fi
}
# stop_samsa: SIGTERM the running samsa and wait (bounded) until it is gone.
stop_samsa() {
  kill -TERM "$SAMSA_PID" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$SAMSA_PID" 2>/dev/null || return 0; sleep 0.2; done
  log "samsa (pid $SAMSA_PID) still running 30 s after SIGTERM: SIGKILL"
  kill -KILL "$SAMSA_PID" 2>/dev/null || true
  wait "$SAMSA_PID" 2>/dev/null || true
}
start_mock() {
  [[ -x "$BENCH_BIN_DIR/samsa-bench-mock-cluster" ]] ||
    { UNAVAILABLE="samsa-bench-mock-cluster not built in $BENCH_BIN_DIR"; return; }
  "$BENCH_BIN_DIR/samsa-bench-mock-cluster" --timeout-s 1800 --topic bench-probe:1 \
    --topic bench-1k:6 --topic bench-100b:6 --topic bench-e2e:6 >"$WORK/mock.out" 2>"$WORK/mock.err" &
  PIDS+=($!)
  for _ in $(seq 100); do [[ -s "$WORK/mock.out" ]] && break; sleep 0.1; done
  BOOTSTRAP="$(head -n1 "$WORK/mock.out")"
  [[ -n "$BOOTSTRAP" ]] || UNAVAILABLE="mock cluster did not start: $(tail -n1 "$WORK/mock.err")"
}
# tool NAME OUT_JSON TIMEOUT_S args...: run a bench tool, JSON to OUT_JSON,
# stderr to OUT_JSON.err; returns the tool's exit code.
# The tool's own CPU seconds (user+sys) go to OUT_JSON.cpu when /usr/bin/time exists.
tool() {
  local name="$1" out="$2" limit="$3"; shift 3
  local timer=()
  [[ -x /usr/bin/time ]] && timer=(/usr/bin/time -f '%U %S' -o "$out.cpu")
  timeout -k 5 $((limit + 30)) "${timer[@]}" "$BENCH_BIN_DIR/$name" --bootstrap "$BOOTSTRAP" \
    --timeout-s "$limit" --json "$@" >"$out" 2>"$out.err"
}
# CPU seconds (user+sys) a process has used so far, from /proc/PID/stat.
proc_cpu_s() {
  [[ -r "/proc/$1/stat" ]] || { echo "-"; return; }
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.3f\n", ($12 + $13) / hz }' "/proc/$1/stat"
}
tool_cpu_s() { [[ -s "$1.cpu" ]] && awk '/^[0-9.]+ [0-9.]+$/ { printf "%.3f\n", $1 + $2 }' "$1.cpu" || echo "-"; }
# cpu_rows LABEL BROKER_CPU_BEFORE OUT_JSON: where the CPU of a produce
# scenario went. On a machine this small the client competes with the broker
# for the same cores, so the broker's share says who the bottleneck is.
cpu_rows() {
  local label="$1" before="$2" out="$3" after broker client mb
  ((self_test)) && return 0
  after="$(proc_cpu_s "$SAMSA_PID")"; client="$(tool_cpu_s "$out")"
  [[ "$before" == "-" || "$after" == "-" ]] && return 0
  broker="$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.3f\n", a - b }')"
  mb="$(jget "$out" "d['mb_per_s'] * d['elapsed_s']" 2>/dev/null || echo "-")"
  [[ "$mb" != "-" ]] && row "$label: broker CPU per GB of payload" "$(awk -v c="$broker" -v m="$mb" \
    'BEGIN { printf "%.3g\n", (m > 0 ? c / (m / 1000) : 0) }')" "core-s/GB" "-" "" "-"
  [[ "$client" != "-" ]] && row "$label: broker share of CPU (broker+client)" "$(awk -v b="$broker" -v c="$client" \
    'BEGIN { printf "%.3g\n", (b + c > 0 ? 100 * b / (b + c) : 0) }')" "%" "-" "" "-"
  return 0
}

if ((run_broker)); then
  for t in samsa-producer-perf samsa-consumer-perf samsa-e2e-latency; do
    [[ -x "$BENCH_BIN_DIR/$t" ]] || UNAVAILABLE="$t not built in $BENCH_BIN_DIR (see bench/README.md)"
  done
  BOOTSTRAP=""
  if [[ -z "$UNAVAILABLE" ]]; then
    if ((self_test)); then start_mock; CREATE=0; else start_samsa; CREATE=1; fi
  fi
  create() { ((CREATE)) && echo "--create-partitions $1" || true; }
  # Probe: a few records with a short limit, so that a broker without
  # Produce/CreateTopics is reported at once instead of stalling a scenario.
  if [[ -z "$UNAVAILABLE" ]] &&
    ! tool samsa-producer-perf "$WORK/probe.json" 20 --topic bench-probe $(create 1) --records 10; then
    UNAVAILABLE="$(last_error "$WORK/probe.json.err")"
  fi
  if [[ -n "$UNAVAILABLE" ]]; then
    echo "broker scenarios unavailable: $UNAVAILABLE"
    NOTES+=("broker scenarios unavailable: $UNAVAILABLE")
  else
    ((self_test)) && NOTES+=("self-test: broker rows measure librdkafka's mock cluster, not samsa")
    a="$WORK/a.json"
    cpu0="$(proc_cpu_s "${SAMSA_PID:-0}")"
    if tool samsa-producer-perf "$a" 300 --topic bench-1k $(create 6) --partitions 6 \
      --records "$N_1K" --record-size 1024 --acks 1; then
      A_MBS="$(jget "$a" "d['mb_per_s']")" A_RPS="$(jget "$a" "d['records_per_s']")"
      row "(a) produce 1 KiB, acks=1, 6 partitions" "$A_MBS" "MB/s" "$LOOP_MBS" "MB/s loop" "$(div "$A_MBS" "$LOOP_MBS")"
      row "(a) produce 1 KiB: ack latency p99" "$(jget "$a" "d['latency_p99_ms']")" "ms" "-" "" "-"
      cpu_rows "(a)" "$cpu0" "$a"
    else
      A_RPS=""; NOTES+=("(a) failed: $(last_error "$a.err")")
    fi
    b="$WORK/b.json"
    cpu0="$(proc_cpu_s "${SAMSA_PID:-0}")"
    if tool samsa-producer-perf "$b" 300 --topic bench-100b $(create 6) --partitions 6 \
      --records "$N_100B" --record-size 100 --acks 1; then
      row "(b) produce 100 B, acks=1, 6 partitions" "$(jget "$b" "d['records_per_s']")" "records/s" "-" "" "-"
      B_MBS="$(jget "$b" "d['mb_per_s']")"
      row "(b) produce 100 B: payload MB/s" "$B_MBS" "MB/s" "$LOOP_MBS" "MB/s loop" "$(div "$B_MBS" "$LOOP_MBS")"
      cpu_rows "(b)" "$cpu0" "$b"
    else
      NOTES+=("(b) failed: $(last_error "$b.err")")
    fi
    if [[ -n "$A_RPS" ]]; then
      c="$WORK/c.json"
      rate="$(awk -v r="$A_RPS" 'BEGIN { printf "%.0f\n", (r / 3 < 1 ? 1 : r / 3) }')"
      n="$(awk -v r="$rate" -v s="$E2E_S" 'BEGIN { n = r * s; printf "%.0f\n", (n < 100 ? 100 : n) }')"
      warm="$(awk -v n="$n" 'BEGIN { printf "%.0f\n", n / 10 }')"
      if tool samsa-e2e-latency "$c" $((E2E_S * 3 + 30)) --topic bench-e2e $(create 6) \
        --records "$n" --throughput "$rate" --warmup "$warm" --record-size 1024 --acks 1; then
        row "(c) end-to-end latency p50 @ $rate rec/s (1/3 of (a))" "$(jget "$c" "d['e2e_p50_ms']")" "ms" "-" "" "-"
        row "(c) end-to-end latency p99 @ $rate rec/s (1/3 of (a))" "$(jget "$c" "d['e2e_p99_ms']")" "ms" "-" "" "-"
      else
        NOTES+=("(c) failed: $(last_error "$c.err")")
      fi
      d="$WORK/d.json"
      if tool samsa-consumer-perf "$d" 300 --topic bench-1k --records "$N_1K"; then
        D_MBS="$(jget "$d" "d['mb_per_s']")"
        row "(d) catch-up consumer over (a)'s backlog" "$D_MBS" "MB/s" "$LOOP_MBS" "MB/s loop" "$(div "$D_MBS" "$LOOP_MBS")"
        row "(d) catch-up consumer: time to first record" "$(jget "$d" "d['first_record_ms']")" "ms" "-" "" "-"
      else
        NOTES+=("(d) failed: $(last_error "$d.err")")
      fi
    fi
    # (d) again once per fetch transfer mode, broker restarted on the same log dir.
    if [[ -n "$fetch_modes" && -n "$A_RPS" ]] && ((!self_test)); then
      IFS=',' read -r -a modes <<<"$fetch_modes"
      for mode in "${modes[@]}"; do
        stop_samsa
        if ! launch_samsa "samsa-$mode" "${OVERRIDES[@]}" --override "samsa.fetch.transfer=$mode"; then
          NOTES+=("(d) fetch.transfer=$mode: $UNAVAILABLE"); UNAVAILABLE=""; continue
        fi
        dm="$WORK/d-$mode.json"
        if tool samsa-consumer-perf "$dm" 300 --topic bench-1k --records "$N_1K"; then
          D_MBS="$(jget "$dm" "d['mb_per_s']")"
          row "(d) catch-up consumer, fetch.transfer=$mode" "$D_MBS" "MB/s" "$LOOP_MBS" "MB/s loop" "$(div "$D_MBS" "$LOOP_MBS")"
        else
          NOTES+=("(d) fetch.transfer=$mode failed: $(last_error "$dm.err")")
        fi
        w="$(grep -h -m1 -i "fetch.transfer" "$WORK/broker/samsa-$mode.log" || true)"
        [[ -n "$w" ]] && NOTES+=("fetch.transfer=$mode: broker said: ${w:0:200}")
      done
    fi
  fi
fi

# -------------------------------------------------------------------- output
printf '%s\n' "${NOTES[@]}" >"$WORK/notes.txt"
python3 - "$ROWS" "$WORK/notes.txt" "${json_out:-}" "$quick" "$self_test" <<'EOF'
import datetime, json, socket, sys
rows_file, notes_file, json_out, quick, self_test = sys.argv[1:6]
rows = [l.rstrip("\n").split("\t") for l in open(rows_file) if l.strip()]
notes = [l.strip() for l in open(notes_file) if l.strip()]
hdr = ("figure", "value", "unit", "baseline", "ratio")
table = [hdr] + [(r[0], r[1], r[2], (r[3] + " " + r[4]).strip() if r[3] != "-" else "-", r[5]) for r in rows]
w = [max(len(t[i]) for t in table) for i in range(len(hdr))]
for i, t in enumerate(table):
    print("  ".join(c.ljust(w[j]) if j in (0, 2, 3) else c.rjust(w[j]) for j, c in enumerate(t)))
    if i == 0:
        print("  ".join("-" * x for x in w))
for n in notes:
    print("note:", n)
if json_out:
    def num(s):
        try: return float(s)
        except ValueError: return None
    doc = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
           "host": socket.gethostname(), "quick": quick == "1", "self_test": self_test == "1",
           "figures": [{"figure": r[0], "value": num(r[1]), "unit": r[2], "baseline": num(r[3]),
                        "baseline_unit": r[4], "ratio": num(r[5])} for r in rows],
           "notes": notes}
    with open(json_out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
EOF
