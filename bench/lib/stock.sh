# shellcheck shell=bash disable=SC2086,SC2015,SC2034  # word-split extra flags on purpose; globals set for the caller
# Scenario "rdkafka" of bench/run.sh (sourced): the stock-client view, (a)-(d)
# with the librdkafka tools on one broker (samsa $SIDE_BIN, or librdkafka's
# mock cluster with --self-test), and (d) again per --fetch-modes.
# Sizes: N_1K, N_100B, E2E_S from run.sh.

# start_samsa: a single formatted node in $WORK/stock; sets SAMSA_PORT,
# BOOTSTRAP, SAMSA_PID; on failure UNAVAILABLE says why.
start_samsa() {
  [[ -x "$SIDE_BIN" ]] || { UNAVAILABLE="samsa binary not found at $SIDE_BIN (tools/build.sh)"; return; }
  local port cport cluster
  port="$(free_port)"; cport="$(free_port)"
  while [[ "$cport" == "$port" ]]; do cport="$(free_port)"; done
  rm -rf "$WORK/stock"; mkdir -p "$WORK/stock"
  cat >"$WORK/stock/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$WORK/stock/data
EOF
  cluster="$(timeout 30 "$SIDE_BIN" storage random-uuid)" &&
    timeout 30 "$SIDE_BIN" storage format -t "$cluster" -c "$WORK/stock/server.properties" \
      >"$WORK/stock/format.log" 2>&1 ||
    { UNAVAILABLE="samsa storage format failed: $(tail -n1 "$WORK/stock/format.log" 2>/dev/null)"; return; }
  SAMSA_PORT="$port"
  launch_samsa samsa "${OVERRIDES[@]}" || return
  BOOTSTRAP="127.0.0.1:$port"
}
# launch_samsa LOGNAME server-args...: start samsa on the formatted log dir;
# SAMSA_PID is its pid, its output goes to $WORK/stock/LOGNAME.log.
launch_samsa() {
  local name="$1"; shift
  (cd "$WORK/stock" && exec "$SIDE_BIN" server "$WORK/stock/server.properties" "$@" \
    >"$WORK/stock/$name.log" 2>&1 </dev/null) &
  SAMSA_PID=$!
  PIDS+=("$SAMSA_PID")
  if ! wait_port "$SAMSA_PORT" 20; then
    UNAVAILABLE="samsa did not listen on 127.0.0.1:$SAMSA_PORT within 20 s: $(tail -n1 "$WORK/stock/$name.log")"
    return 1
  fi
}
start_mock() {
  [[ -x "$BENCH_BIN_DIR/samsa-bench-mock-cluster" ]] ||
    { UNAVAILABLE="samsa-bench-mock-cluster not built in $BENCH_BIN_DIR"; return; }
  "$BENCH_BIN_DIR/samsa-bench-mock-cluster" --timeout-s 1800 --topic bench-probe:1 \
    --topic bench-1k:6 --topic bench-100b:6 --topic bench-e2e:6 >"$WORK/mock.out" 2>"$WORK/mock.err" &
  SAMSA_PID=$!
  PIDS+=("$SAMSA_PID")
  for _ in $(seq 100); do [[ -s "$WORK/mock.out" ]] && break; sleep 0.1; done
  BOOTSTRAP="$(head -n1 "$WORK/mock.out")"
  [[ -n "$BOOTSTRAP" ]] || UNAVAILABLE="mock cluster did not start: $(last_error "$WORK/mock.err")"
}
# tool NAME OUT_JSON TIMEOUT_S args...: run a bench tool against $BOOTSTRAP,
# JSON to OUT_JSON, stderr to OUT_JSON.err; the tool's own CPU seconds
# (user+sys) go to OUT_JSON.cpu when /usr/bin/time exists.
tool() {
  local name="$1" out="$2" limit="$3"; shift 3
  local timer=()
  [[ -x /usr/bin/time ]] && timer=(/usr/bin/time -f '%U %S' -o "$out.cpu")
  timeout -k 5 $((limit + 30)) "${timer[@]}" "$BENCH_BIN_DIR/$name" --bootstrap "$BOOTSTRAP" \
    --timeout-s "$limit" --json "$@" >"$out" 2>"$out.err"
}
# cpu_figs KEY LABEL BROKER_CPU_BEFORE OUT_JSON: where the CPU of a produce
# scenario went. On a machine this small the client competes with the broker
# for the same cores, so the broker's share says who the bottleneck is.
cpu_figs() {
  local key="$1" label="$2" before="$3" out="$4" after broker client mb
  ((self_test)) && return 0
  after="$(proc_cpu_s "$SAMSA_PID")"; client="$(tool_cpu_s "$out")"
  [[ "$before" == "-" || "$after" == "-" ]] && return 0
  broker="$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.3f\n", a - b }')"
  mb="$(jget "$out" "d['mb_per_s'] * d['elapsed_s']")"
  [[ "$mb" != "-" ]] && fig "$key.cpu" "$SIDE" "$ROUND" "$(awk -v c="$broker" -v m="$mb" \
    'BEGIN { printf "%.3g\n", (m > 0 ? c / (m / 1000) : 0) }')" "core-s/GB" lower "" "" "$label: broker CPU per GB of payload"
  [[ "$client" != "-" ]] && fig "$key.share" "$SIDE" "$ROUND" "$(awk -v b="$broker" -v c="$client" \
    'BEGIN { printf "%.3g\n", (b + c > 0 ? 100 * b / (b + c) : 0) }')" "%" "-" "" "" "$label: broker share of CPU (broker+client)"
  return 0
}

scn_rdkafka() {
  local t a b c d n rate warm cpu0 A_RPS="" CREATE=1
  UNAVAILABLE="" BOOTSTRAP="" SAMSA_PID=""
  for t in samsa-producer-perf samsa-consumer-perf samsa-e2e-latency; do
    [[ -x "$BENCH_BIN_DIR/$t" ]] || UNAVAILABLE="$t not built in $BENCH_BIN_DIR (see bench/README.md)"
  done
  if [[ -z "$UNAVAILABLE" ]]; then
    if ((self_test)); then start_mock; CREATE=0; else start_samsa; fi
  fi
  create() { ((CREATE)) && echo "--create-partitions $1" || true; }
  # Probe: a few records with a short limit, so that a broker without
  # Produce/CreateTopics is reported at once instead of stalling a scenario.
  # shellcheck disable=SC2046
  if [[ -z "$UNAVAILABLE" ]] &&
    ! tool samsa-producer-perf "$WORK/probe.json" 20 --topic bench-probe $(create 1) --records 10; then
    UNAVAILABLE="$(last_error "$WORK/probe.json.err")"
  fi
  if [[ -n "$UNAVAILABLE" ]]; then
    unavailable rdkafka.a "$SIDE" "(a) produce 1 KiB, acks=1, 6 partitions" "$UNAVAILABLE"
    [[ -n "$SAMSA_PID" ]] && stop_pid "$SAMSA_PID"
    return 0
  fi
  ((self_test)) && note "self-test: broker rows measure librdkafka's mock cluster, not samsa"
  a="$WORK/a-$SIDE-$ROUND.json"
  cpu0="$(proc_cpu_s "$SAMSA_PID")"
  # shellcheck disable=SC2046
  if tool samsa-producer-perf "$a" 300 --topic bench-1k $(create 6) --partitions 6 \
      --records "$N_1K" --record-size 1024 --acks 1; then
    A_RPS="$(jget "$a" "d['records_per_s']")"
    fig rdkafka.a "$SIDE" "$ROUND" "$(jget "$a" "d['mb_per_s']")" "MB/s" higher loop_mbs "" "(a) produce 1 KiB, acks=1, 6 partitions"
    fig rdkafka.a_p99 "$SIDE" "$ROUND" "$(jget "$a" "d['latency_p99_ms']")" "ms" lower "" "" "(a) produce 1 KiB: ack latency p99"
    cpu_figs rdkafka.a "(a)" "$cpu0" "$a"
  else
    note "(a) failed: $(last_error "$a.err")"
  fi
  b="$WORK/b-$SIDE-$ROUND.json"
  cpu0="$(proc_cpu_s "$SAMSA_PID")"
  # shellcheck disable=SC2046
  if tool samsa-producer-perf "$b" 300 --topic bench-100b $(create 6) --partitions 6 \
      --records "$N_100B" --record-size 100 --acks 1; then
    fig rdkafka.b "$SIDE" "$ROUND" "$(jget "$b" "d['records_per_s']")" "records/s" higher "" "" "(b) produce 100 B, acks=1, 6 partitions"
    fig rdkafka.b_mbs "$SIDE" "$ROUND" "$(jget "$b" "d['mb_per_s']")" "MB/s" higher loop_mbs "" "(b) produce 100 B: payload MB/s"
    cpu_figs rdkafka.b "(b)" "$cpu0" "$b"
  else
    note "(b) failed: $(last_error "$b.err")"
  fi
  if [[ -n "$A_RPS" && "$A_RPS" != "-" ]]; then
    c="$WORK/c-$SIDE-$ROUND.json"
    rate="$(awk -v r="$A_RPS" 'BEGIN { printf "%.0f\n", (r / 3 < 1 ? 1 : r / 3) }')"
    n="$(awk -v r="$rate" -v s="$E2E_S" 'BEGIN { n = r * s; printf "%.0f\n", (n < 100 ? 100 : n) }')"
    warm="$(awk -v n="$n" 'BEGIN { printf "%.0f\n", n / 10 }')"
    # shellcheck disable=SC2046
    if tool samsa-e2e-latency "$c" $((E2E_S * 3 + 30)) --topic bench-e2e $(create 6) \
        --records "$n" --throughput "$rate" --warmup "$warm" --record-size 1024 --acks 1; then
      fig rdkafka.c_p50 "$SIDE" "$ROUND" "$(jget "$c" "d['e2e_p50_ms']")" "ms" lower "" "" "(c) end-to-end latency p50 @ 1/3 of (a) rec/s"
      fig rdkafka.c_p99 "$SIDE" "$ROUND" "$(jget "$c" "d['e2e_p99_ms']")" "ms" lower "" "" "(c) end-to-end latency p99 @ 1/3 of (a) rec/s"
    else
      note "(c) failed: $(last_error "$c.err")"
    fi
    d="$WORK/d-$SIDE-$ROUND.json"
    if tool samsa-consumer-perf "$d" 300 --topic bench-1k --records "$N_1K"; then
      fig rdkafka.d "$SIDE" "$ROUND" "$(jget "$d" "d['mb_per_s']")" "MB/s" higher loop_mbs "" "(d) catch-up consumer over (a)'s backlog"
      fig rdkafka.d_first "$SIDE" "$ROUND" "$(jget "$d" "d['first_record_ms']")" "ms" lower "" "" "(d) catch-up consumer: time to first record"
    else
      note "(d) failed: $(last_error "$d.err")"
    fi
  fi
  # (d) again once per fetch transfer mode, broker restarted on the same log dir.
  if [[ -n "$fetch_modes" && -n "$A_RPS" ]] && ((!self_test)); then
    local mode modes dm w
    IFS=',' read -r -a modes <<<"$fetch_modes"
    for mode in "${modes[@]}"; do
      stop_pid "$SAMSA_PID"
      if ! launch_samsa "samsa-$mode" "${OVERRIDES[@]}" --override "samsa.fetch.transfer=$mode"; then
        note "(d) fetch.transfer=$mode: $UNAVAILABLE"; UNAVAILABLE=""; continue
      fi
      dm="$WORK/d-$mode-$SIDE-$ROUND.json"
      if tool samsa-consumer-perf "$dm" 300 --topic bench-1k --records "$N_1K"; then
        fig "rdkafka.d_$mode" "$SIDE" "$ROUND" "$(jget "$dm" "d['mb_per_s']")" "MB/s" higher loop_mbs "" \
          "(d) catch-up consumer, fetch.transfer=$mode"
      else
        note "(d) fetch.transfer=$mode failed: $(last_error "$dm.err")"
      fi
      w="$(grep -h -m1 -i "fetch.transfer" "$WORK/stock/samsa-$mode.log" || true)"
      [[ -n "$w" ]] && note "fetch.transfer=$mode: broker said: ${w:0:200}"
    done
  fi
  stop_pid "$SAMSA_PID"
  rm -rf "$WORK/stock"
}
