#!/usr/bin/env python3
"""Does admin work stall producers? (issue 9, item 6)

Starts a single-node samsa with one network thread (num.network.threads=1)
and segments rolling every second (log.roll.ms=1000), then runs a 1 KiB,
acks=1 producer (samsa-producer-perf at a fixed rate) twice:

  quiet  - nothing else happens;
  admin  - meanwhile another client creates --partitions partitions through
           CreateTopics (topics of --per-topic partitions, one request each),
           deletes them, and starts over until the producer ends.

It prints the producer's ack latency percentiles for both runs and the ratio
of p99.9 (admin / quiet); the goal is <= 2. Everything listens on 127.0.0.1,
every process runs under a time limit and is stopped by pid.

  bench/admin_stall.py [--samsa build/release/src/cli/samsa]
                       [--perf build/release/bench/samsa-producer-perf]
                       [--records 60000] [--rate 2000] [--partitions 1000] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(samsa: str, work: Path) -> tuple[subprocess.Popen, int]:
    port, cport = free_port(), free_port()
    logs = work / "data"
    props = work / "server.properties"
    props.write_text("\n".join([
        "process.roles=broker,controller", "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{cport}",
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "inter.broker.listener.name=PLAINTEXT", f"log.dirs={logs}",
        "offsets.topic.replication.factor=1", "transaction.state.log.replication.factor=1",
        "num.network.threads=1", "log.roll.ms=1000", ""]))
    cluster = subprocess.run([samsa, "storage", "random-uuid"], capture_output=True, text=True,
                             timeout=30, check=True).stdout.strip()
    subprocess.run([samsa, "storage", "format", "-t", cluster, "-c", str(props)], capture_output=True,
                   timeout=30, check=True)
    log = open(work / "samsa.log", "ab")
    proc = subprocess.Popen([samsa, "server", str(props)], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("samsa did not start listening within 30 s")


def produce(perf: str, port: int, topic: str, records: int, rate: int) -> dict:
    cmd = [perf, "--bootstrap", f"127.0.0.1:{port}", "--topic", topic, "--create-partitions", "1",
           "--partitions", "1", "--records", str(records), "--record-size", "1024", "--acks", "1",
           "--linger-ms", "0", "--throughput", str(rate), "--timeout-s", str(records // rate + 120), "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=records // rate + 180)
    if out.returncode != 0:
        raise SystemExit(f"producer failed ({out.returncode}): {out.stderr.strip()} {out.stdout.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def create_partitions(port: int, total: int, per_topic: int, stop: threading.Event, stats: dict) -> None:
    """Creates `total` partitions (topics of `per_topic`, one CreateTopics
    each), deletes them, and starts over until `stop`: steady admin load that
    does not grow the broker without bound."""
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}"})
    made, n, rounds = 0, 0, []
    while not stop.is_set():
        start, names = time.monotonic(), []
        while len(names) * per_topic < total and not stop.is_set():
            name = f"stall-{n}"
            n += 1
            admin.create_topics([NewTopic(name, per_topic, 1)], request_timeout=120)[name].result(timeout=180)
            names.append(name)
            made += per_topic
        if len(names) * per_topic >= total:
            rounds.append(time.monotonic() - start)
        if names:
            for f in admin.delete_topics(names, request_timeout=120).values():
                f.result(timeout=180)
    stats["partitions"] = made
    stats["rounds_s"] = rounds
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samsa", default=os.environ.get("SAMSA_BIN", str(ROOT / "build/release/src/cli/samsa")))
    ap.add_argument("--perf", default=str(ROOT / "build/release/bench/samsa-producer-perf"))
    ap.add_argument("--records", type=int, default=60000)
    ap.add_argument("--rate", type=int, default=2000, help="records/s")
    ap.add_argument("--partitions", type=int, default=1000)
    ap.add_argument("--per-topic", type=int, default=100)
    ap.add_argument("--json")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="samsa-admin-stall-"))
    proc = None
    try:
        proc, port = start_broker(args.samsa, work)
        produce(args.perf, port, "warmup", 2000, args.rate)  # connections, topic creation paths, page cache
        quiet = produce(args.perf, port, "quiet", args.records, args.rate)

        stop, stats = threading.Event(), {}
        creator = threading.Thread(target=create_partitions,
                                   args=(port, args.partitions, args.per_topic, stop, stats), daemon=True)
        creator.start()
        time.sleep(0.2)
        busy = produce(args.perf, port, "busy", args.records, args.rate)
        stop.set()
        creator.join(timeout=300)

        keys = ["latency_p50_ms", "latency_p99_ms", "latency_p999_ms", "latency_max_ms"]
        print(f"{'run':<8}" + "".join(f"{k[8:-3]:>10}" for k in keys) + "   (ms)")
        for name, r in (("quiet", quiet), ("admin", busy)):
            print(f"{name:<8}" + "".join(f"{r[k]:>10.2f}" for k in keys))
        ratio = busy["latency_p999_ms"] / max(quiet["latency_p999_ms"], 1e-9)
        rounds = stats.get("rounds_s", [])
        print(f"partitions created (and deleted again) during the admin run: {stats.get('partitions', 0)}; "
              f"rounds of {args.partitions}: " + ", ".join(f"{r:.1f} s" for r in rounds))
        print(f"p99.9 admin / quiet = {ratio:.2f} (goal <= 2)")
        if args.json:
            Path(args.json).write_text(json.dumps({"quiet": quiet, "admin": busy, "creator": stats,
                                                   "p999_ratio": ratio}, indent=2))
        return 0
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
