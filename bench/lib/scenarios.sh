# shellcheck shell=bash disable=SC2086,SC2015,SC2034  # word-split extra flags on purpose; globals set for the caller
# The target rows of issue 13 for bench/run.sh (sourced). Each scn_* runs one
# scenario once against $SIDE_BIN (side $SIDE, round $ROUND) on a fresh
# cluster of its own, records figures with fig() and stops what it started.
# Sizes come from run.sh (LG_S, LG_WARM, BACKLOG_MB, CATCHUP_MB, N_100B_C,
# E2E_S, PACE_RPS, PACE_S). Baseline keys used: loop_mbs (iperf3),
# fio_fsync_mbs (fio, fsync per MiB); see lib/baselines.sh.

NO_LOADGEN="samsa-loadgen not built"
# lg_produce_args TOPIC PARTITIONS ACKS: the lean generator's produce flags
# (LG_PRODUCE_ARGS from the environment is appended, e.g. "--inflight 8").
lg_produce_args() {
  echo --topic "$1" --partitions "$2" --record-size 1024 --acks "$3" --duration-s "$LG_S" --warmup-s "$LG_WARM" \
    ${LG_PRODUCE_ARGS:-}
}
# lg_errors OUT WHAT: a note when the generator counted errors.
lg_errors() {
  local e; e="$(jget "$1" "d.get('errors')" 2>/dev/null)"
  [[ "$e" == "-" || "$e" == "0" ]] || note "$2 ($SIDE, round $ROUND): samsa-loadgen counted $e errors"
}

# lean-produce-1k: MB/s ÷ loopback TCP (target >= 0.6); broker CPU per GB (<= 0.35).
scn_lean_produce_1k() {
  local L=lean-produce-1k out="$WORK/lean-produce-1k-$SIDE-$ROUND.json"
  have_loadgen || { unavailable "$L.mbs" "$SIDE" "$L: produce MB/s" "$NO_LOADGEN"; return 0; }
  cluster_start "$L" 1 --topic lean-1k:6:1 || { unavailable "$L.mbs" "$SIDE" "$L: produce MB/s" "$CL_ERR"; return 0; }
  # shellcheck disable=SC2046
  if lg produce "$out" $((LG_S + LG_WARM + 60)) $(lg_produce_args lean-1k 6 1); then
    fig "$L.mbs" "$SIDE" "$ROUND" "$(jget "$out" "d['mb_per_s']")" "MB/s" higher loop_mbs ">=0.6" \
      "$L: produce 1 KiB, 6 partitions, acks=1"
    fig "$L.cpu" "$SIDE" "$ROUND" "$(jget "$out" "d['broker_cpu_s_per_gb']")" "core-s/GB" lower "" "<=0.35" \
      "$L: broker CPU per GB produced"
    fig "$L.p99" "$SIDE" "$ROUND" "$(jget "$out" "d['latency_ms']['p99']")" "ms" lower "" "" \
      "$L: produce request latency p99"
    fig "$L.client" "$SIDE" "$ROUND" "$(jget "$out" \
      "round(100 * d['client_cpu_s'] / (d['client_cpu_s'] + d['broker_cpu_s']), 1)")" "%" lower "" "" \
      "$L: generator's share of CPU (generator+broker)"
    lg_errors "$out" "$L"
  else
    unavailable "$L.mbs" "$SIDE" "$L: produce MB/s" "samsa-loadgen failed: $(last_error "$out.err")"
  fi
  cluster_stop "$L"
}

# lean-consume: fetch a page-cached backlog from earliest; MB/s ÷ loopback, broker CPU per GB (<= 0.15).
scn_lean_consume() {
  local L=lean-consume fill="$WORK/lean-consume-fill-$SIDE-$ROUND.json" out="$WORK/lean-consume-$SIDE-$ROUND.json"
  have_loadgen || { unavailable "$L.mbs" "$SIDE" "$L: fetch MB/s" "$NO_LOADGEN"; return 0; }
  cluster_start "$L" 1 --topic lean-c:6:1 || { unavailable "$L.mbs" "$SIDE" "$L: fetch MB/s" "$CL_ERR"; return 0; }
  # shellcheck disable=SC2046
  if ! lg produce "$fill" 660 --topic lean-c --partitions 6 --record-size 1024 --acks 1 \
      --bytes $((BACKLOG_MB * 1000000)) --duration-s 600 --warmup-s 0 ${LG_PRODUCE_ARGS:-}; then
    unavailable "$L.mbs" "$SIDE" "$L: fetch MB/s" "backlog produce failed: $(last_error "$fill.err")"
  elif lg fetch "$out" 600 --topic lean-c --partitions 6 --from earliest --until-end --duration-s 600 \
      --warmup-s 0 ${LG_FETCH_ARGS:-}; then
    fig "$L.mbs" "$SIDE" "$ROUND" "$(jget "$out" "d['mb_per_s']")" "MB/s" higher loop_mbs "" \
      "$L: fetch $BACKLOG_MB MB from earliest (page cache)"
    fig "$L.cpu" "$SIDE" "$ROUND" "$(jget "$out" "d['broker_cpu_s_per_gb']")" "core-s/GB" lower "" "<=0.15" \
      "$L: broker CPU per GB consumed"
    lg_errors "$out" "$L"
  else
    unavailable "$L.mbs" "$SIDE" "$L: fetch MB/s" "samsa-loadgen fetch failed: $(last_error "$out.err")"
  fi
  cluster_stop "$L"
}

# rdkafka-consume-100b: samsa-consumer-perf over 100-byte records; an A/B figure (target new/old >= 1.5).
scn_rdkafka_consume_100b() {
  local L=rdkafka-consume-100b fill="$WORK/c100-fill-$SIDE-$ROUND.json" out="$WORK/c100-$SIDE-$ROUND.json"
  local label="$L: librdkafka consume 100 B records"
  cluster_start "$L" 1 --topic c100:6:1 || { unavailable "$L.rps" "$SIDE" "$label" "$CL_ERR"; return 0; }
  if ! rk samsa-producer-perf "$fill" 600 --topic c100 --partitions 6 --records "$N_100B_C" \
      --record-size 100 --acks 1; then
    unavailable "$L.rps" "$SIDE" "$label" "filling the topic failed: $(last_error "$fill.err")"
  else
    local cpu0 cpu1
    cpu0="$(proc_cpu_s "${CL_PIDS[0]}")"
    if rk samsa-consumer-perf "$out" 600 --topic c100 --records "$N_100B_C"; then
      cpu1="$(proc_cpu_s "${CL_PIDS[0]}")"
      fig "$L.rps" "$SIDE" "$ROUND" "$(jget "$out" "d['records_per_s']")" "records/s" higher "" "ab>=1.5" "$label"
      fig "$L.mbs" "$SIDE" "$ROUND" "$(jget "$out" "d['mb_per_s']")" "MB/s" higher "" "" "$L: payload MB/s"
      fig "$L.cpu" "$SIDE" "$ROUND" "$(awk -v a="$cpu0" -v b="$cpu1" -v m="$(jget "$out" "d['bytes'] / 1e9")" \
        'BEGIN { if (a == "-" || b == "-" || m + 0 <= 0) print "-"; else printf "%.4g\n", (b - a) / m }')" \
        "core-s/GB" lower "" "" "$L: broker CPU per GB of payload consumed"
    else
      unavailable "$L.rps" "$SIDE" "$label" "samsa-consumer-perf failed: $(last_error "$out.err")"
    fi
    # librdkafka 2.0.2 stops fetching for 1 s whenever its pre-fetch queue
    # holds queued.min.messages (100 000) records: at full size that backoff,
    # not the broker, sets the figure above (a faster broker fills the queue
    # sooner and backs off more). The same read with the queue unbounded:
    local deep="$WORK/c100-deep-$SIDE-$ROUND.json"
    cpu0="$(proc_cpu_s "${CL_PIDS[0]}")"
    if rk samsa-consumer-perf "$deep" 600 --topic c100 --records "$N_100B_C" \
        -X queued.min.messages=10000000 -X queued.max.messages.kbytes=2097151; then
      cpu1="$(proc_cpu_s "${CL_PIDS[0]}")"
      fig "$L.rps_deep" "$SIDE" "$ROUND" "$(jget "$deep" "d['records_per_s']")" "records/s" higher "" "ab>=1.5" \
        "$L: the same, pre-fetch queue unbounded (no 1 s client backoff)"
      fig "$L.cpu_deep" "$SIDE" "$ROUND" "$(awk -v a="$cpu0" -v b="$cpu1" -v m="$(jget "$deep" "d['bytes'] / 1e9")" \
        'BEGIN { if (a == "-" || b == "-" || m + 0 <= 0) print "-"; else printf "%.4g\n", (b - a) / m }')" \
        "core-s/GB" lower "" "" "$L: broker CPU per GB of payload consumed (queue unbounded)"
    else
      unavailable "$L.rps_deep" "$SIDE" "$L: unbounded queue" "samsa-consumer-perf failed: $(last_error "$deep.err")"
    fi
  fi
  cluster_stop "$L"
}

# e2e-50k: samsa-e2e-latency, 1 KiB, 1 partition, 50 000 records/s (targets p99 <= 1 ms, p99.9 <= 3 ms).
scn_e2e_50k() {
  local L=e2e-50k out="$WORK/e2e-$SIDE-$ROUND.json"
  cluster_start "$L" 1 --topic e2e:1:1 || { unavailable "$L.p99" "$SIDE" "$L: e2e p99" "$CL_ERR"; return 0; }
  if rk samsa-e2e-latency "$out" $((E2E_S * 3 + 30)) --topic e2e --records $((50000 * E2E_S)) \
      --throughput 50000 --warmup 50000 --record-size 1024 --acks 1; then
    fig "$L.p50" "$SIDE" "$ROUND" "$(jget "$out" "d['e2e_p50_ms']")" "ms" lower "" "" "$L: end-to-end p50, 1 KiB, 1 partition, 50k rec/s"
    fig "$L.p99" "$SIDE" "$ROUND" "$(jget "$out" "d['e2e_p99_ms']")" "ms" lower "" "<=1" "$L: end-to-end p99"
    fig "$L.p999" "$SIDE" "$ROUND" "$(jget "$out" "d['e2e_p999_ms']")" "ms" lower "" "<=3" "$L: end-to-end p99.9"
    fig "$L.max" "$SIDE" "$ROUND" "$(jget "$out" "d['e2e_max_ms']")" "ms" lower "" "" "$L: end-to-end max"
  else
    unavailable "$L.p99" "$SIDE" "$L: e2e p99" "samsa-e2e-latency failed: $(last_error "$out.err")"
  fi
  cluster_stop "$L"
}

# cluster-acks-all: 3 nodes RF 3 acks=all ÷ 1 node acks=1, both with the lean generator (target >= 0.6).
scn_cluster_acks_all() {
  local L=cluster-acks-all one="$WORK/cl1-$SIDE-$ROUND.json" three="$WORK/cl3-$SIDE-$ROUND.json"
  local label="$L: 3 nodes RF 3 acks=all, 1 KiB, 6 partitions"
  have_loadgen || { unavailable "$L.mbs" "$SIDE" "$label" "$NO_LOADGEN"; return 0; }
  if cluster_start "$L-1" 1 --topic rf1:6:1; then
    # shellcheck disable=SC2046
    lg produce "$one" $((LG_S + LG_WARM + 60)) $(lg_produce_args rf1 6 1) &&
      fig "$L.single" "$SIDE" "$ROUND" "$(jget "$one" "d['mb_per_s']")" "MB/s" higher "" "" \
        "$L: 1 node RF 1 acks=1 (its baseline)" ||
      note "$L ($SIDE, round $ROUND): 1 node run failed: $(last_error "$one.err")"
    cluster_stop "$L-1"
  else
    note "$L ($SIDE, round $ROUND): $CL_ERR"
  fi
  if cluster_start "$L-3" 3 --topic rf3:6:3 --topic-config rf3:min.insync.replicas=2; then
    # shellcheck disable=SC2046
    if lg produce "$three" $((LG_S + LG_WARM + 90)) $(lg_produce_args rf3 6 -1); then
      fig "$L.mbs" "$SIDE" "$ROUND" "$(jget "$three" "d['mb_per_s']")" "MB/s" higher "$L.single" ">=0.6" "$label"
      fig "$L.p99" "$SIDE" "$ROUND" "$(jget "$three" "d['latency_ms']['p99']")" "ms" lower "" "" \
        "$L: acks=all request latency p99"
      fig "$L.cpu" "$SIDE" "$ROUND" "$(jget "$three" "d['broker_cpu_s_per_gb']")" "core-s/GB" lower "" "" \
        "$L: CPU of all 3 brokers per GB produced"
      lg_errors "$three" "$L"
    else
      unavailable "$L.mbs" "$SIDE" "$label" "samsa-loadgen failed: $(last_error "$three.err")"
    fi
    cluster_stop "$L-3"
  else
    unavailable "$L.mbs" "$SIDE" "$label" "$CL_ERR"
  fi
}

# durable: fsync before the ack (log.flush.interval.messages=1: every append
# is flushed before Produce answers) ÷ fio sequential write with fsync per MiB (target >= 0.8).
scn_durable() {
  local L=durable out="$WORK/durable-$SIDE-$ROUND.json" label="durable: produce 1 KiB, fsync before ack, 6 partitions"
  have_loadgen || { unavailable "$L.mbs" "$SIDE" "$label" "$NO_LOADGEN"; return 0; }
  cluster_start "$L" 1 --config log.flush.interval.messages=1 --topic dur:6:1 ||
    { unavailable "$L.mbs" "$SIDE" "$label" "$CL_ERR"; return 0; }
  # shellcheck disable=SC2046
  if lg produce "$out" $((LG_S + LG_WARM + 60)) $(lg_produce_args dur 6 1); then
    fig "$L.mbs" "$SIDE" "$ROUND" "$(jget "$out" "d['mb_per_s']")" "MB/s" higher fio_fsync_mbs ">=0.8" "$label"
    fig "$L.p99" "$SIDE" "$ROUND" "$(jget "$out" "d['latency_ms']['p99']")" "ms" lower "" "" \
      "$L: produce request latency p99"
    lg_errors "$out" "$L"
  else
    unavailable "$L.mbs" "$SIDE" "$label" "samsa-loadgen failed: $(last_error "$out.err")"
  fi
  cluster_stop "$L"
}

# catchup-cold: a backlog dropped from the page cache, read with the lean
# fetcher while a paced librdkafka stream (samsa-e2e-latency) writes and tails
# another topic. Fetch MB/s ÷ raw cold file->socket of the same segment files
# (target >= 0.9); the stream's p99 during ÷ before (target <= 2): e2e p99,
# which excludes a 1 s warm-up and includes the ack path, because the tool's
# ack p99 also counts the records queued while the client starts.
scn_catchup_cold() {
  local L=catchup-cold w="$WORK/catchup-$SIDE-$ROUND" label="catchup-cold: fetch a cold backlog while producing"
  have_loadgen || { unavailable "$L.mbs" "$SIDE" "$label" "$NO_LOADGEN"; return 0; }
  cluster_start "$L" 1 --topic cold:6:1 --topic live:6:1 ||
    { unavailable "$L.mbs" "$SIDE" "$label" "$CL_ERR"; return 0; }
  local files=() ppid ok=1
  # pace OUT: the paced stream on topic live: samsa-e2e-latency (producer and
  # a tailing consumer); its e2e percentiles leave the first second out, its
  # ack percentiles do not (they include the client's start-up).
  pace() {
    rk samsa-e2e-latency "$1" $((PACE_S * 3 + 30)) --topic live --records $((PACE_RPS * PACE_S)) \
      --throughput "$PACE_RPS" --warmup "$PACE_RPS" --record-size 1024 --acks 1
  }
  # shellcheck disable=SC2046
  if ! lg produce "$w-fill.json" 660 --topic cold --partitions 6 --record-size 1024 --acks 1 \
      --bytes $((CATCHUP_MB * 1000000)) --duration-s 600 --warmup-s 0 ${LG_PRODUCE_ARGS:-}; then
    unavailable "$L.mbs" "$SIDE" "$label" "backlog produce failed: $(last_error "$w-fill.json.err")"
    cluster_stop "$L"; return 0
  fi
  files=("${CL_DATA[0]}"/cold-*/*.log)
  if timeout 600 python3 "$ROOT/bench/lib/rawsend.py" send "${files[@]}" >"$w-raw.json" 2>"$w-raw.err"; then
    fig "$L.raw" "$SIDE" "$ROUND" "$(jget "$w-raw.json" "d['mb_per_s']")" "MB/s" higher "" "" \
      "$L: raw cold file->socket (sendfile, a connection per segment file) of the same $(jget "$w-raw.json" "round(d['bytes'] / 1e6)") MB"
  else
    note "$L ($SIDE, round $ROUND): raw file->socket failed: $(tail -n1 "$w-raw.err")"
  fi
  if pace "$w-before.json"; then
    fig "$L.p99_before" "$SIDE" "$ROUND" "$(jget "$w-before.json" "d['e2e_p99_ms']")" "ms" lower "" "" \
      "$L: paced stream ($PACE_RPS rec/s) e2e p99, no reader"
    fig "$L.ack_before" "$SIDE" "$ROUND" "$(jget "$w-before.json" "d['ack_p99_ms']")" "ms" lower "" "" \
      "$L: paced stream ack p99 (with start-up), no reader"
  else
    note "$L ($SIDE, round $ROUND): paced producer (before) failed: $(last_error "$w-before.json.err")"
  fi
  timeout 120 python3 "$ROOT/bench/lib/rawsend.py" drop "${files[@]}" 2>"$w-drop.err" ||
    { note "$L: dropping the page cache failed: $(tail -n1 "$w-drop.err")"; ok=0; }
  pace "$w-during.json" &
  ppid=$!
  PIDS+=("$ppid")
  sleep 1  # the producer is connected and steady before the reader starts
  if ((ok)) && lg fetch "$w-fetch.json" 600 --topic cold --partitions 6 --from earliest --until-end \
      --duration-s 600 --warmup-s 0 ${LG_FETCH_ARGS:-}; then
    fig "$L.mbs" "$SIDE" "$ROUND" "$(jget "$w-fetch.json" "d['mb_per_s']")" "MB/s" higher "$L.raw" ">=0.9" \
      "$label (÷ raw)"
    fig "$L.cpu" "$SIDE" "$ROUND" "$(jget "$w-fetch.json" "d['broker_cpu_s_per_gb']")" "core-s/GB" lower "" "" \
      "$L: broker CPU per GB (fetch + paced produce)"
    lg_errors "$w-fetch.json" "$L"
  else
    unavailable "$L.mbs" "$SIDE" "$label" "samsa-loadgen fetch failed: $(last_error "$w-fetch.json.err")"
  fi
  if wait "$ppid"; then
    fig "$L.p99_during" "$SIDE" "$ROUND" "$(jget "$w-during.json" "d['e2e_p99_ms']")" "ms" lower \
      "$L.p99_before" "<=2" "$L: paced stream e2e p99 while the reader catches up (÷ before)"
    fig "$L.ack_during" "$SIDE" "$ROUND" "$(jget "$w-during.json" "d['ack_p99_ms']")" "ms" lower \
      "$L.ack_before" "" "$L: paced stream ack p99 (with start-up) during (÷ before)"
  else
    note "$L ($SIDE, round $ROUND): paced producer (during) failed: $(last_error "$w-during.json.err")"
  fi
  cluster_stop "$L"
}
