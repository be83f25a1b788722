#!/usr/bin/env bash
# Samsa benchmark: same-run baselines and broker scenarios, each figure
# printed as a ratio to its baseline (the machine is shared and noisy: only
# ratios are comparable between runs), optionally A/B against another
# revision built in the same run. See bench/README.md.
#
#   bench/run.sh [--quick] [--scenarios LIST] [--baseline REV | --baseline-bin PATH]
#                [--rounds N] [--perf] [--broker-only | --baselines-only] [--self-test]
#                [--json out.json] [--override key=value]... [--fetch-modes LIST]
#
#   --scenarios LIST  comma-separated, default all: rdkafka, lean-produce-1k,
#                     lean-consume, rdkafka-consume-100b, e2e-50k,
#                     cluster-acks-all, durable, catchup-cold (--list: what each is)
#   --baseline REV    build REV (a commit, branch, main~1 ...) in a temporary
#                     git worktree (tools/build.sh --target samsa) and run each
#                     scenario on both brokers interleaved: new, old, new, old
#   --baseline-bin P  the same with an already built samsa binary P
#   --rounds N        rounds per side (default 2 with a baseline, else 1;
#                     --quick: 1); figures are the median of the rounds
#   --quick           small sizes and short runs (a few minutes in all)
#   --perf            profile the brokers during every samsa-loadgen step
#                     (perf record -e cpu-clock): top 5 symbols as notes
#   --broker-only     skip the baselines (iperf3/fio: ratios then show "-")
#   --baselines-only  only the baselines
#   --self-test       scenario rdkafka against librdkafka's mock cluster
#                     (samsa-bench-mock-cluster): checks the tools and this
#                     script, NOT a measurement
#   --json FILE       also write the table as JSON
#   --override K=V    pass `--override K=V` to `samsa server` (rdkafka), K=V in
#                     every other scenario's server.properties (repeatable)
#   --fetch-modes L   rdkafka: after (d), restart samsa on the same log dir once
#                     per mode in L with --override samsa.fetch.transfer=MODE, rerun (d)
#
# Environment: SAMSA_BIN (default build/release/src/cli/samsa), BENCH_BIN_DIR
# (default build/release/bench), SAMSA_LOADGEN (default
# $BENCH_BIN_DIR/samsa-loadgen), LG_PRODUCE_ARGS / LG_FETCH_ARGS (extra
# samsa-loadgen flags), BENCH_TMPDIR (temp dirs, log dirs, fio files and the
# baseline's worktree; default $TMPDIR or /tmp), SAMSA_JOBS (baseline build).
# All traffic stays on 127.0.0.1; every step has a time limit; processes,
# the baseline worktree and temp dirs are cleaned up on exit.
set -euo pipefail
# The whole script is one compound command, read before it runs: editing or
# checking out this file during a (long) run cannot change what runs.
{

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SAMSA_BIN="${SAMSA_BIN:-$ROOT/build/release/src/cli/samsa}"
BENCH_BIN_DIR="${BENCH_BIN_DIR:-$ROOT/build/release/bench}"
LOADGEN="${SAMSA_LOADGEN:-$BENCH_BIN_DIR/samsa-loadgen}"
ALL_SCENARIOS="rdkafka,lean-produce-1k,lean-consume,rdkafka-consume-100b,e2e-50k,cluster-acks-all,durable,catchup-cold"
quick=0 perf_profile=0 run_baselines=1 run_broker=1 self_test=0 json_out="" fetch_modes="" scenarios=""
baseline_rev="" baseline_bin="" rounds=""
OVERRIDES=()

list_scenarios() {
  cat <<'EOF'
rdkafka               (a)-(d) with the librdkafka tools (stock client view): produce 1 KiB / 100 B,
                      e2e latency at 1/3 of (a), catch-up consumer; MB/s ÷ loopback
lean-produce-1k       samsa-loadgen produce 1 KiB, 6 partitions, acks=1: MB/s ÷ loopback (target >= 0.6),
                      broker CPU per GB (target <= 0.35 core-s)
lean-consume          samsa-loadgen fetch of a page-cached backlog from earliest: MB/s ÷ loopback,
                      broker CPU per GB consumed (target <= 0.15 core-s)
rdkafka-consume-100b  samsa-consumer-perf over 100-byte records: records/s (target new/old >= 1.5),
                      once as librdkafka defaults it and once with its pre-fetch queue unbounded
e2e-50k               samsa-e2e-latency 1 KiB, 1 partition, 50 000 rec/s: p99 (<= 1 ms), p99.9 (<= 3 ms)
cluster-acks-all      samsa-loadgen, 3 nodes RF 3 acks=all ÷ 1 node RF 1 acks=1 (target >= 0.6)
durable               samsa-loadgen produce with log.flush.interval.messages=1 (fsync before ack)
                      ÷ fio seq write with fsync per MiB (target >= 0.8)
catchup-cold          samsa-loadgen fetch of a backlog dropped from the page cache while a paced
                      producer runs ÷ raw cold file->socket (target >= 0.9); producer ack p99
                      during ÷ before (target <= 2)
EOF
}

while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --perf) perf_profile=1 ;;
    --broker-only) run_baselines=0 ;;
    --baselines-only) run_broker=0 ;;
    --self-test) self_test=1 ;;
    --json) shift; json_out="${1:?--json needs a file name}" ;;
    --json=*) json_out="${1#--json=}" ;;
    --override) shift; OVERRIDES+=(--override "${1:?--override needs key=value}") ;;
    --override=*) OVERRIDES+=(--override "${1#--override=}") ;;
    --fetch-modes) shift; fetch_modes="${1:?--fetch-modes needs a list}" ;;
    --fetch-modes=*) fetch_modes="${1#--fetch-modes=}" ;;
    --scenarios) shift; scenarios="${1:?--scenarios needs a list}" ;;
    --scenarios=*) scenarios="${1#--scenarios=}" ;;
    --baseline) shift; baseline_rev="${1:?--baseline needs a revision}" ;;
    --baseline=*) baseline_rev="${1#--baseline=}" ;;
    --baseline-bin) shift; baseline_bin="${1:?--baseline-bin needs a path}" ;;
    --baseline-bin=*) baseline_bin="${1#--baseline-bin=}" ;;
    --rounds) shift; rounds="${1:?--rounds needs a number}" ;;
    --rounds=*) rounds="${1#--rounds=}" ;;
    --list) list_scenarios; exit 0 ;;
    -h|--help) sed -n '2,39p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
for tool in python3 timeout git; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is required" >&2; exit 2; }
done
if [[ -n "$baseline_rev" && -n "$baseline_bin" ]]; then
  echo "run.sh: --baseline and --baseline-bin exclude each other" >&2; exit 2
fi
((self_test)) && { [[ -z "$baseline_rev$baseline_bin" ]] || { echo "run.sh: --self-test has no A/B" >&2; exit 2; }; }
if ((self_test)); then scenarios="${scenarios:-rdkafka}"; else scenarios="${scenarios:-$ALL_SCENARIOS}"; fi
IFS=',' read -r -a SCENARIOS <<<"$scenarios"
for s in "${SCENARIOS[@]}"; do
  [[ ",$ALL_SCENARIOS," == *",$s,"* ]] || { echo "run.sh: unknown scenario '$s' (--list)" >&2; exit 2; }
  ((self_test)) && [[ "$s" != rdkafka ]] && { echo "run.sh: --self-test runs only scenario rdkafka" >&2; exit 2; }
done
if [[ -z "$rounds" ]]; then
  rounds=1; [[ -n "$baseline_rev$baseline_bin" ]] && ((!quick)) && rounds=2
fi
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --rounds needs a positive number" >&2; exit 2; }

WORK="$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/samsa-bench.XXXXXX")"
PIDS=()
BASELINE_WT=""
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$p" 2>/dev/null || true
  done
  if [[ -n "$BASELINE_WT" ]]; then
    git -C "$ROOT" worktree remove --force "$BASELINE_WT" >/dev/null 2>&1 || true
    git -C "$ROOT" worktree prune >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

FIGS="$WORK/figures.tsv" NOTES_FILE="$WORK/notes.txt"
: >"$FIGS"; : >"$NOTES_FILE"
# shellcheck source=lib/common.sh
source "$ROOT/bench/lib/common.sh"
# shellcheck source=lib/baselines.sh
source "$ROOT/bench/lib/baselines.sh"
# shellcheck source=lib/stock.sh
source "$ROOT/bench/lib/stock.sh"
# shellcheck source=lib/scenarios.sh
source "$ROOT/bench/lib/scenarios.sh"

if ((quick)); then
  IPERF_S=2 FIO_MB=64
  N_1K=50000 N_100B=200000 E2E_S=5
  LG_S=5 LG_WARM=1 BACKLOG_MB=200 CATCHUP_MB=200 N_100B_C=500000 PACE_RPS=2000 PACE_S=3
else
  IPERF_S=5 FIO_MB=512
  N_1K=1000000 N_100B=5000000 E2E_S=30
  LG_S=15 LG_WARM=3 BACKLOG_MB=1000 CATCHUP_MB=1500 N_100B_C=5000000 PACE_RPS=5000 PACE_S=6
fi
((self_test)) && N_1K=20000 N_100B=100000 E2E_S=5  # the mock keeps ~5 MB per partition

# ------------------------------------------------------- the baseline broker
# build_baseline REV: samsa at REV, built in its own worktree under $WORK.
build_baseline() {
  local rev="$1" hash
  hash="$(git -C "$ROOT" rev-parse --verify --quiet "$rev^{commit}")" ||
    { echo "run.sh: --baseline $rev: no such commit" >&2; exit 2; }
  BASELINE_WT="$WORK/baseline-src"
  log "baseline: building $rev ($hash) in $BASELINE_WT"
  timeout 300 git -C "$ROOT" worktree add --detach "$BASELINE_WT" "$hash" >"$WORK/baseline-build.log" 2>&1 ||
    { echo "run.sh: git worktree add failed: $(tail -n2 "$WORK/baseline-build.log")" >&2; exit 1; }
  # ccache (CCACHE_BASEDIR is the worktree) makes this mostly cache hits.
  if ! (cd "$BASELINE_WT" && SAMSA_JOBS="${SAMSA_JOBS:-2}" timeout 5400 tools/build.sh --target samsa) \
      >>"$WORK/baseline-build.log" 2>&1; then
    echo "run.sh: building $rev failed:" >&2; tail -n20 "$WORK/baseline-build.log" >&2; exit 1
  fi
  baseline_bin="$BASELINE_WT/build/release/src/cli/samsa"
  baseline_rev="$rev ($(git -C "$ROOT" log -1 --format='%h' "$hash"))"
}
if [[ -n "$baseline_rev" ]] && ((run_broker)); then
  build_baseline "$baseline_rev"
elif [[ -n "$baseline_bin" ]]; then
  [[ -x "$baseline_bin" ]] || { echo "run.sh: --baseline-bin $baseline_bin is not an executable" >&2; exit 2; }
  baseline_rev="$baseline_bin"
fi
SIDES=(new); [[ -n "$baseline_bin" ]] && SIDES+=(old)
side_bin() { if [[ "$1" == old ]]; then echo "$baseline_bin"; else echo "$SAMSA_BIN"; fi; }

# --------------------------------------------------------------------- runs
if ((!run_broker)); then
  need_baseline loop; need_baseline fio
else
  [[ -x "$SAMSA_BIN" ]] || ((self_test)) || log "no samsa binary at $SAMSA_BIN (tools/build.sh)"
  for s in "${SCENARIOS[@]}"; do
    case "$s" in
      lean-*|cluster-acks-all|durable|catchup-cold)
        have_loadgen || note "samsa-loadgen not built ($LOADGEN): scenario $s is unavailable" ;;
    esac
    case "$s" in
      rdkafka|lean-produce-1k|lean-consume) need_baseline loop ;;
      durable) need_baseline fio ;;
    esac
  done
  for s in "${SCENARIOS[@]}"; do
    for ROUND in $(seq "$rounds"); do
      for SIDE in "${SIDES[@]}"; do
        SIDE_BIN="$(side_bin "$SIDE")"
        log "$s: $SIDE ($SIDE_BIN), round $ROUND of $rounds"
        "scn_${s//-/_}" || note "$s ($SIDE, round $ROUND) stopped: exit $?"
      done
    done
  done
fi

# -------------------------------------------------------------------- output
python3 - "$WORK/meta.json" "$quick" "$self_test" "$rounds" "${baseline_rev:-}" "$(git -C "$ROOT" rev-parse --short HEAD)" \
  "$scenarios" <<'EOF'
import json, os, sys
path, quick, self_test, rounds, rev, head, scen = sys.argv[1:8]
json.dump({"quick": quick == "1", "self_test": self_test == "1", "rounds": int(rounds),
           "baseline_rev": rev or None, "commit": head, "scenarios": scen.split(","),
           "load_average": os.getloadavg()[0]}, open(path, "w"))
EOF
python3 "$ROOT/bench/lib/report.py" "$FIGS" "$NOTES_FILE" "${json_out:-}" "$WORK/meta.json"
exit
}
