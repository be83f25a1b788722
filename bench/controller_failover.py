#!/usr/bin/env python3
"""Controller failover time and metadata commit latency (issue 10, "Bench").

failover: three combined nodes (tests/integration/cluster.py, loopback
ports). Each trial kill -9s the active controller and times, from the kill,
the first CreateTopics that succeeds through a surviving node (retried every
50 ms, each attempt bounded), then restarts the killed node and waits until it
has caught up before the next trial. Run once with Kafka's default quorum
timeouts and once with short ones; p50/p99/max over --trials trials each.

commit: CreateTopics round trips (one topic each, sequential) on a 3-voter
cluster and on a 1-voter cluster in the same run, sent to the active
controller's own broker listener (no forwarding) and, with 3 voters, to
another node (forwarded): p50/p99.

  bench/controller_failover.py [--samsa build/release/src/cli/samsa] [--trials 20]
                               [--profiles default,short] [--commits 200] [--voters 3,1]
                               [--json out.json]

Everything listens on 127.0.0.1; every process is stopped at the end.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import cluster as cl  # noqa: E402

PROFILES = {"default": cl.KAFKA_DEFAULT_QUORUM, "short": cl.SHORT_QUORUM}


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50": percentile(values, 50), "p99": percentile(values, 99),
            "max": max(values) if values else float("nan"),
            "mean": statistics.fmean(values) if values else float("nan")}


def first_create_ok(c: cl.Cluster, name: str, deadline_s: float) -> float:
    """Seconds until CreateTopics `name` succeeds through some live node
    that is not known to be dead; raises ClusterError after deadline_s."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline_s:
        for n in c.brokers:
            if not n.alive():
                continue
            try:
                code = c.create_topic(n, name, timeout_ms=2000)
            except cl.WIRE_ERRORS:
                continue
            if code in (cl.ERROR_NONE, cl.ERROR_TOPIC_ALREADY_EXISTS):
                return time.monotonic() - t0
        time.sleep(0.05)
    raise cl.ClusterError(f"CreateTopics {name} did not succeed within {deadline_s}s")


def failover(work: Path, profile: str, trials: int) -> dict:
    c = cl.Cluster(work / f"failover-{profile}", ["broker,controller"] * 3, quorum=PROFILES[profile])
    times, epochs = [], []
    try:
        c.format()
        c.start()
        leader, epoch = c.active_controller(30)
        c.create_topic_until_ok(c.node(leader), "warm-up", timeout=30)
        for i in range(trials):
            old = c.node(leader)
            old.kill9()
            times.append(first_create_ok(c, f"failover-{profile}-{i}", 60))
            leader, epoch = c.active_controller(30, exclude={old.node_id})
            epochs.append(epoch)
            c.restart(old)
            # Caught up (it has the topic just created) before the next kill.
            c.wait_topics_everywhere({f"failover-{profile}-{i}"}, timeout=60, nodes=[old])
            print(f"  {profile} trial {i + 1}/{trials}: {times[-1] * 1000:.0f} ms (new leader {leader}, "
                  f"epoch {epoch})", flush=True)
    finally:
        c.stop()
        c.close()
    return {"profile": profile, "timeouts": PROFILES[profile], "seconds": times, "epochs": epochs,
            **{k: v for k, v in summary(times).items()}}


def commit_latency(work: Path, voters: int, count: int) -> dict:
    c = cl.Cluster(work / f"commit-{voters}", ["broker,controller"] * voters, quorum=cl.SHORT_QUORUM)
    out = {"voters": voters}
    try:
        c.format()
        c.start()
        leader, _ = c.active_controller(30)
        targets = [("leader", c.node(leader))]
        if voters > 1:
            targets.append(("forwarded", next(n for n in c.nodes if n.node_id != leader)))
        for label, n in targets:
            try:
                c.create_topic_until_ok(n, f"warm-{label}", timeout=30, through=[n])
                lat = []
                for i in range(count):
                    t0 = time.monotonic()
                    code = c.create_topic(n, f"commit-{voters}-{label}-{i}")
                    if code != cl.ERROR_NONE:
                        raise cl.ClusterError(f"CreateTopics through node {n.node_id} answered {code}")
                    lat.append(time.monotonic() - t0)
                out[label] = summary(lat)
            except cl.ClusterError as e:  # reported, and the other figures still measured
                out[label] = {"error": str(e)[:300]}
    finally:
        c.stop()
        c.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samsa", help="samsa binary (default: build/release/src/cli/samsa or $SAMSA_BIN)")
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--profiles", default="default,short")
    ap.add_argument("--commits", type=int, default=200)
    ap.add_argument("--voters", default="3,1", help="commit-latency clusters to run (comma-separated sizes)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if args.samsa:
        import os
        os.environ["SAMSA_BIN"] = str(Path(args.samsa).resolve())
    results = {"failover": [], "commit": []}
    with tempfile.TemporaryDirectory(prefix="samsa-failover-") as tmp:
        work = Path(tmp)
        for profile in [p for p in args.profiles.split(",") if p]:
            print(f"failover with {profile} timeouts {PROFILES[profile]}", flush=True)
            results["failover"].append(failover(work, profile, args.trials))
        for voters in [int(v) for v in args.voters.split(",") if v]:
            print(f"commit latency with {voters} voter(s)", flush=True)
            results["commit"].append(commit_latency(work, voters, args.commits))

    print("\nkill -9 of the active controller -> first successful CreateTopics")
    print(f"{'timeouts':<10}{'trials':>8}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for r in results["failover"]:
        print(f"{r['profile']:<10}{r['n']:>8}{r['p50'] * 1000:>10.0f}{r['p99'] * 1000:>10.0f}"
              f"{r['max'] * 1000:>10.0f}")
    print("\nCreateTopics round trip (metadata commit)")
    print(f"{'voters':<8}{'through':<11}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}")
    for r in results["commit"]:
        for label in ("leader", "forwarded"):
            if label in r and "error" in r[label]:
                print(f"{r['voters']:<8}{label:<11} failed: {r[label]['error']}")
            elif label in r:
                s = r[label]
                print(f"{r['voters']:<8}{label:<11}{s['n']:>6}{s['p50'] * 1000:>10.2f}{s['p99'] * 1000:>10.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
