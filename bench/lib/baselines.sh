# shellcheck shell=bash disable=SC2086,SC2015,SC2034  # word-split extra flags on purpose; globals set for the caller
# Same-run baselines for bench/run.sh (sourced): what the machine allows,
# measured once per run, side "base" in the figures file. Keys:
#   loop_mbs       loopback TCP MB/s, iperf3, 1 stream
#   fio_fsync_mbs  sequential 1 MiB writes with an fsync after each, MB/s
# need_baseline NAME measures NAME once (later calls do nothing); with
# run_baselines=0 (--broker-only) nothing is measured and ratios show "-".

declare -A BASELINE_DONE=()
need_baseline() {
  ((run_baselines)) || return 0
  [[ -z "${BASELINE_DONE[$1]:-}" ]] || return 0
  BASELINE_DONE[$1]=1
  "baseline_$1"
}

baseline_loop() {
  command -v iperf3 >/dev/null || { note "iperf3 not installed: no loopback baseline"; return 0; }
  local port
  port="$(free_port)"
  iperf3 -s -B 127.0.0.1 -p "$port" -1 >"$WORK/iperf-server.log" 2>&1 &
  local spid=$!
  PIDS+=("$spid")
  # (no test connection: a one-off server (-1) would take it for the client)
  for _ in $(seq 100); do grep -q 'listening' "$WORK/iperf-server.log" && break; sleep 0.1; done
  if timeout $((IPERF_S + 30)) iperf3 -c 127.0.0.1 -B 127.0.0.1 -p "$port" -t "$IPERF_S" -J \
      >"$WORK/iperf.json" 2>"$WORK/iperf.err"; then
    fig loop_mbs base 0 "$(jget "$WORK/iperf.json" "round(d['end']['sum_received']['bits_per_second'] / 8e6, 1)")" \
      "MB/s" higher "" "" "baseline: loopback TCP (iperf3, 1 stream)"
  else
    note "iperf3 failed: $(tail -n2 "$WORK/iperf.err" 2>/dev/null)"
  fi
  stop_pid "$spid" 5
}

# fio_run NAME extra-args...: sequential 1 MiB writes of FIO_MB in $WORK/fio.
fio_run() {
  local name="$1"; shift
  mkdir -p "$WORK/fio"
  timeout 180 fio --name="$name" --directory="$WORK/fio" --rw=write --bs=1M --size="${FIO_MB}M" \
    --ioengine=psync --runtime=60 --output-format=json "$@" >"$WORK/fio-$name.json" 2>"$WORK/fio-$name.err"
  local rc=$?
  rm -f "$WORK/fio/$name"*
  return $rc
}

baseline_fio() {
  command -v fio >/dev/null || { note "fio not installed: no disk baseline"; return 0; }
  mkdir -p "$WORK/fio"
  local fs f="$WORK/fio-fsync.json"
  fs="$(stat -f -c %T "$WORK/fio")"
  if fio_run fsync --fsync=1; then
    fig fio_fsync_mbs base 0 "$(jget "$f" "round(d['jobs'][0]['write']['bw_bytes'] / 1e6, 1)")" "MB/s" higher "" "" \
      "baseline: seq write 1 MiB + fsync each ($fs)"
    fig fio_fsync_p50 base 0 "$(jget "$f" "round(d['jobs'][0]['sync']['lat_ns']['percentile']['50.000000'] / 1e6, 3)")" \
      "ms" lower "" "" "baseline: fsync latency p50"
    fig fio_fsync_p99 base 0 "$(jget "$f" "round(d['jobs'][0]['sync']['lat_ns']['percentile']['99.000000'] / 1e6, 3)")" \
      "ms" lower "" "" "baseline: fsync latency p99"
  else
    note "fio (fsync) failed: $(tail -n2 "$WORK/fio-fsync.err")"
  fi
  if fio_run buffered --end_fsync=1; then
    fig fio_buffered_mbs base 0 "$(jget "$WORK/fio-buffered.json" "round(d['jobs'][0]['write']['bw_bytes'] / 1e6, 1)")" \
      "MB/s" higher "" "" "baseline: seq write 1 MiB buffered, one fsync at end"
  else
    note "fio (buffered) failed: $(tail -n2 "$WORK/fio-buffered.err")"
  fi
}
