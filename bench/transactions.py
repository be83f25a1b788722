#!/usr/bin/env python3
"""Transactional produce throughput as a ratio of idempotent acks=all (issue 12, "Bench").

Three combined nodes on this machine (tests/integration/cluster.py), one
topic of 6 partitions with replication factor 3 and min.insync.replicas=2,
`__transaction_state` with replication factor 3. In the same run, alternating
trials of one confluent-kafka (librdkafka) producer each:
  (a) idempotent, acks=all: --records records of 1 KiB round-robin over the
      partitions, flushed at the end (the reference);
  (b) transactional: the same records, --per-txn (100) per transaction over
      the same partitions, begin / produce / commit_transaction;
both report records/s from the first produce() to the last acknowledgement;
(b)'s median is printed as a ratio of (a)'s. Transactions cost per
transaction (AddPartitionsToTxn, EndTxn, one marker per partition written
with acks=all), so the ratio grows with --per-txn.

  /usr/bin/python3 bench/transactions.py [--records 20000] [--per-txn 100] [--trials 3]
      [--json out.json] [--samsa build/release/src/cli/samsa]

Every process listens on 127.0.0.1 and is stopped at the end; every wait is
bounded (cluster.py, producer timeouts).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
import cluster as cl  # noqa: E402

PARTITIONS = 6
RECORD_SIZE = 1024
TOPIC = "bench-txn"
CLUSTER_CONFIG = {
    "broker.session.timeout.ms": 2000, "broker.heartbeat.interval.ms": 500,
    "default.replication.factor": 3, "min.insync.replicas": 2,
    "offsets.topic.replication.factor": 3,
    "transaction.state.log.replication.factor": 3, "transaction.state.log.min.isr": 2,
}


def start_cluster(work: Path) -> cl.Cluster:
    c = cl.Cluster(work, ["broker,controller"] * 3, extra=CLUSTER_CONFIG)
    c.format()
    c.start()
    c.active_controller(30)
    want = [n.node_id for n in c.nodes]
    cl.wait_until(lambda: all(c.broker_ids(n) == want for n in c.nodes), 30, "every broker registered")
    c.create_replicated_topic(TOPIC, PARTITIONS, configs={"min.insync.replicas": 2})
    return c


def idempotent_run(bootstrap: str, records: int, payload: bytes) -> float:
    from confluent_kafka import Producer
    errors = []
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5,
                  "batch.size": 1000000, "message.timeout.ms": 60000})
    t0 = time.monotonic()
    for i in range(records):
        while True:
            try:
                p.produce(TOPIC, value=payload, partition=i % PARTITIONS,
                          on_delivery=lambda err, _m: err is not None and errors.append(err))
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(120)
    elapsed = time.monotonic() - t0
    if left or errors:
        raise RuntimeError(f"idempotent run: {left} undelivered, errors {errors[:3]}")
    return records / elapsed


def transactional_run(bootstrap: str, records: int, per_txn: int, payload: bytes,
                      txn_id: str) -> tuple[float, float, float]:
    """(records/s, p50 ms of one whole transaction, p50 ms spent in
    commit_transaction: the flush of its records plus EndTxn)."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 5,
                  "batch.size": 1000000, "message.timeout.ms": 60000})
    p.init_transactions(60)
    whole, commits = [], []
    t0 = time.monotonic()
    i = 0
    while i < records:
        t_begin = time.monotonic()
        p.begin_transaction()
        for _ in range(min(per_txn, records - i)):
            p.produce(TOPIC, value=payload, partition=i % PARTITIONS)
            i += 1
        t_commit = time.monotonic()
        p.commit_transaction(60)  # flushes, then EndTxn(commit)
        now = time.monotonic()
        whole.append((now - t_begin) * 1000)
        commits.append((now - t_commit) * 1000)
    elapsed = time.monotonic() - t0
    return records / elapsed, statistics.median(whole), statistics.median(commits)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--per-txn", type=int, default=100)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--samsa", type=Path)
    args = ap.parse_args()
    if args.samsa:
        os.environ["SAMSA_BIN"] = str(args.samsa.resolve())
    payload = os.urandom(RECORD_SIZE // 2).hex().encode()
    idem, txn, txn_ms, commit_ms = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="samsa-bench-txn-") as work:
        c = start_cluster(Path(work))
        try:
            bootstrap = c.bootstrap_servers()
            for t in range(args.trials):
                idem.append(idempotent_run(bootstrap, args.records, payload))
                rate, whole, commit = transactional_run(bootstrap, args.records, args.per_txn, payload,
                                                        f"bench-txn-{t}")
                txn.append(rate)
                txn_ms.append(whole)
                commit_ms.append(commit)
                print(f"trial {t + 1}: idempotent acks=all {idem[-1]:.0f} rec/s, "
                      f"transactional ({args.per_txn}/txn) {rate:.0f} rec/s "
                      f"(transaction p50 {whole:.1f} ms, of which commit_transaction {commit:.1f} ms)", flush=True)
        finally:
            c.stop()
            c.close()
    result = {"records": args.records, "record_size": RECORD_SIZE, "per_txn": args.per_txn,
              "partitions": PARTITIONS, "replication_factor": 3, "trials": args.trials,
              "idempotent_rec_s": statistics.median(idem), "transactional_rec_s": statistics.median(txn),
              "transaction_p50_ms": statistics.median(txn_ms), "commit_p50_ms": statistics.median(commit_ms)}
    result["ratio"] = result["transactional_rec_s"] / result["idempotent_rec_s"]
    print(f"transactional / idempotent acks=all (medians): {result['transactional_rec_s']:.0f} / "
          f"{result['idempotent_rec_s']:.0f} rec/s = {result['ratio']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
