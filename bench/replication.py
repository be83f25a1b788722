#!/usr/bin/env python3
"""Replicated produce throughput, ack latency and leader failover (issue 11, "Bench").

throughput: `samsa-producer-perf` (bench/producer_perf.cc), 1 KiB records
round-robin over 6 partitions, in the same run against
  (a) one combined node, replication factor 1, acks=1 (the reference), and
  (b) three combined nodes on this machine, replication factor 3,
      min.insync.replicas=2, acks=all;
(b) is reported as a ratio of (a)'s records/s (aim: >= 0.6), with both ack
p50/p99. `--rf3-acks1` adds (c) three nodes, RF 3, acks=1.

failover: on the three-node cluster, an idempotent acks=all producer
(confluent-kafka) writes to partition 0 of an RF 3 topic; each trial kill -9s
that partition's leader and times, from the kill, the first acknowledged
write on partition 0; then the node is restarted and must be back in the ISR
before the next trial (broker.session.timeout.ms=2000, heartbeats 500 ms).

  /usr/bin/python3 bench/replication.py [--records 200000] [--trials 10] [--json out.json]
      [--samsa build/release/src/cli/samsa] [--bench-bin-dir build/release/bench] [--rf3-acks1]

Every process listens on 127.0.0.1 and is stopped at the end; every wait is
bounded (cluster.py, subprocess timeouts).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import cluster as cl  # noqa: E402

PARTITIONS = 6
RECORD_SIZE = 1024
FAILOVER_CONFIG = {"broker.session.timeout.ms": 2000, "broker.heartbeat.interval.ms": 500}
CLUSTER_CONFIG = {**FAILOVER_CONFIG, "offsets.topic.replication.factor": 1, "min.insync.replicas": 1}


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def format_start_registered(c: cl.Cluster) -> None:
    """Formats and starts `c`, then waits until every broker sees them all registered."""
    c.format()
    c.start()
    c.active_controller(30)
    want = [n.node_id for n in c.nodes]

    def registered() -> bool:
        try:
            return all(c.broker_ids(b) == want for b in c.brokers)
        except cl.WIRE_ERRORS:
            return False
    cl.wait_until(registered, 30, f"brokers {want} registered")


def start_cluster(work: Path, nodes: int) -> cl.Cluster:
    c = cl.Cluster(work, ["broker,controller"] * nodes, extra=CLUSTER_CONFIG)
    format_start_registered(c)
    return c


def producer_perf(bin_dir: Path, c: cl.Cluster, topic: str, records: int, acks: str) -> dict:
    cmd = [bin_dir / "samsa-producer-perf", "--bootstrap", c.bootstrap_servers(), "--topic", topic,
           "--records", records, "--record-size", RECORD_SIZE, "--partitions", PARTITIONS, "--acks", acks,
           "--timeout-s", 600, "--json"]
    res = cl.run(cmd, timeout=660)
    line = res.stdout.strip().splitlines()[-1] if res.stdout.strip() else "{}"
    try:
        out = json.loads(line)
    except ValueError:
        out = {}
    if res.returncode != 0 or not out.get("ok"):
        raise cl.ClusterError(f"producer-perf exit {res.returncode}: {res.stdout[-500:]} {res.stderr[-500:]}")
    return out


class PartitionZeroProducer:
    """Idempotent acks=all writes to partition 0 on a thread; the monotonic
    time of every acknowledgement."""

    def __init__(self, bootstrap: str, topic: str):
        from confluent_kafka import Producer
        self.acks: list[float] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.topic = topic
        self.p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                           "linger.ms": 1, "message.timeout.ms": 60000, "retry.backoff.ms": 20,
                           "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 200,
                           "topic.metadata.refresh.fast.interval.ms": 50})
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _ack(self, err, _msg) -> None:
        if err is None:
            with self.lock:
                self.acks.append(time.monotonic())

    def _run(self) -> None:
        i = 0
        while not self.stop.is_set():
            if len(self.p) < 50:
                self.p.produce(self.topic, value=str(i).encode(), partition=0, on_delivery=self._ack)
                i += 1
            self.p.poll(0.001)

    def first_after(self, t: float) -> float | None:
        with self.lock:
            later = [a for a in self.acks[-5000:] if a > t]
        return min(later) if later else None

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        self.p.purge()


def failover(c: cl.Cluster, trials: int) -> dict:
    topic = "bench-failover"
    c.create_replicated_topic(topic, 1, configs={"min.insync.replicas": 2})
    prod = PartitionZeroProducer(c.bootstrap_servers(), topic)
    times = []
    try:
        cl.wait_until(lambda: prod.first_after(0) is not None, 30, "a first acknowledged write")
        for i in range(trials):
            victim = c.leader_of(topic, 0)
            t_kill = c.kill_node(victim)
            cl.wait_until(lambda: prod.first_after(t_kill) is not None, 60,
                          f"an acknowledged write after kill -9 of leader {victim.node_id}")
            times.append(prod.first_after(t_kill) - t_kill)
            print(f"  trial {i + 1}/{trials}: leader {victim.node_id} killed, first ack after "
                  f"{times[-1] * 1000:.0f} ms", flush=True)
            c.restart_node(victim)
            c.wait_isr(topic, 1, timeout=60)
    finally:
        prod.close()
    return {"trials": len(times), "seconds": times, "p50": percentile(times, 50), "p99": percentile(times, 99),
            "max": max(times) if times else float("nan"),
            "mean": statistics.fmean(times) if times else float("nan")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samsa", help="samsa binary (default: build/release/src/cli/samsa or $SAMSA_BIN)")
    ap.add_argument("--bench-bin-dir", default=str(ROOT / "build" / "release" / "bench"),
                    help="where samsa-producer-perf is")
    ap.add_argument("--records", type=int, default=200000)
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--rf3-acks1", action="store_true", help="also measure three nodes, RF 3, acks=1")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if args.samsa:
        os.environ["SAMSA_BIN"] = str(Path(args.samsa).resolve())
    bin_dir = Path(args.bench_bin_dir)
    if not (bin_dir / "samsa-producer-perf").is_file():
        print(f"error: no samsa-producer-perf in {bin_dir} (tools/build.sh builds it)", file=sys.stderr)
        return 3
    results: dict = {"records": args.records, "record_size": RECORD_SIZE, "partitions": PARTITIONS}
    with tempfile.TemporaryDirectory(prefix="samsa-replication-bench-") as tmp:
        work = Path(tmp)
        print("(a) one node, RF 1, acks=1", flush=True)
        c = start_cluster(work / "single", 1)
        try:
            c.create_replicated_topic("bench-rf1", PARTITIONS, replication_factor=1)
            results["single_acks1"] = producer_perf(bin_dir, c, "bench-rf1", args.records, "1")
        finally:
            c.stop()
            c.close()
        print("(b) three nodes, RF 3, min.insync.replicas=2, acks=all", flush=True)
        c = start_cluster(work / "three", 3)
        try:
            c.create_replicated_topic("bench-rf3", PARTITIONS, configs={"min.insync.replicas": 2})
            results["rf3_acks_all"] = producer_perf(bin_dir, c, "bench-rf3", args.records, "all")
            if args.rf3_acks1:
                c.create_replicated_topic("bench-rf3-acks1", PARTITIONS, configs={"min.insync.replicas": 2})
                results["rf3_acks1"] = producer_perf(bin_dir, c, "bench-rf3-acks1", args.records, "1")
            if args.trials > 0:
                print(f"failover: {args.trials} kill -9s of partition 0's leader", flush=True)
                try:
                    results["failover"] = failover(c, args.trials)
                except cl.ClusterError as e:  # reported; the throughput figures still stand
                    results["failover"] = {"error": str(e)[:400]}
        finally:
            c.stop()
            c.close()
    a, b = results["single_acks1"], results["rf3_acks_all"]
    results["ratio_rf3_acks_all_to_single_acks1"] = b["records_per_s"] / a["records_per_s"]
    print()
    print("| setup | records/s | MB/s | ack p50 ms | ack p99 ms |")
    print("|---|---|---|---|---|")
    for label, key in [("(a) 1 node, RF 1, acks=1", "single_acks1"), ("(b) 3 nodes, RF 3, acks=all", "rf3_acks_all"),
                       ("(c) 3 nodes, RF 3, acks=1", "rf3_acks1")]:
        if key in results:
            r = results[key]
            print(f"| {label} | {r['records_per_s']:.0f} | {r['mb_per_s']:.1f} | {r['latency_p50_ms']:.2f} | "
                  f"{r['latency_p99_ms']:.2f} |")
    print(f"\nratio (b)/(a) records/s: {results['ratio_rf3_acks_all_to_single_acks1']:.2f} (aim >= 0.6)")
    if "failover" in results and "error" in results["failover"]:
        print(f"failover: {results['failover']['error']}")
    elif "failover" in results:
        f = results["failover"]
        print(f"leader kill -9 -> first acknowledged write (n={f['trials']}): p50 {f['p50'] * 1000:.0f} ms, "
              f"p99 {f['p99'] * 1000:.0f} ms, max {f['max'] * 1000:.0f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (cl.ClusterError, subprocess.SubprocessError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
