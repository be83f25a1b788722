"""Exactly-once consume-transform-produce across kill -9 (issue 12, "Done when").

Three combined nodes (txn_util.TXN_CONFIG). txn_copier.py copies TOTAL
records from `eos-in` to `eos-out` (same partition, same key and value),
committing the consumed offsets in each transaction. While it runs, the test
kill -9's, one at a time and each restarted before the next kill:
the transaction coordinator's node, the copying client, a leader of an
output partition, the client again, and the coordinator's node again.
At the end a read_committed reader of `eos-out` must see exactly the input,
in order per partition: nothing lost, nothing twice.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

import cluster as cl
import txn_util as tu

HERE = Path(__file__).resolve().parent
PARTITIONS = 3
TOTAL = 1800
PER_TXN = 10
PAUSE_S = 0.05
SRC, DST, GROUP, TXN_ID = "eos-in", "eos-out", "eos-copier", "eos-copier-txn"
# Kill when the committed copy passes these fractions of TOTAL.
KILLS = [(0.10, "coordinator"), (0.25, "client"), (0.40, "leader"), (0.55, "client"), (0.70, "coordinator")]


@pytest.fixture
def fc(tmp_path, request):
    c = tu.txn_cluster(tmp_path / "cluster")
    request.node.__dict__.setdefault("_samsa_brokers", []).extend(c.nodes)
    yield c
    try:
        c.stop()
    finally:
        c.close()


class Copier:
    def __init__(self, c: cl.Cluster, workdir: Path):
        self.c, self.progress = c, workdir / "progress.jsonl"
        self.stderr = workdir / "copier.stderr"
        self.proc: subprocess.Popen | None = None
        self.starts, self.exits = 0, []

    def start(self) -> None:
        err = open(self.stderr, "a")
        err.write(f"===== copier start #{self.starts + 1}\n")
        err.flush()
        self.proc = subprocess.Popen(
            [cl.PYTHON, HERE / "txn_copier.py", self.c.bootstrap_servers(), SRC, DST, GROUP, TXN_ID,
             str(PARTITIONS), str(TOTAL), str(PER_TXN), str(PAUSE_S), self.progress],
            stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
        err.close()
        self.starts += 1

    def position(self) -> int:
        try:
            lines = self.progress.read_text().splitlines()
        except FileNotFoundError:
            return 0
        return max((json.loads(x)["position"] for x in lines if x.strip()), default=0)

    def poll(self) -> int | None:
        """Exit code once it exited; restarts it when it crashed (exit 3)."""
        code = self.proc.poll()
        if code is None:
            return None
        self.exits.append(code)
        assert code in (0, 3), f"copier exited {code}: {self.stderr.read_text()[-3000:]}"
        if code == 3:
            assert self.starts < 40, f"copier crashed {self.starts} times: {self.stderr.read_text()[-3000:]}"
            self.start()
            return None
        return 0

    def kill9(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
            self.exits.append(-9)
            self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def produce_input(c: cl.Cluster) -> dict[int, list[tuple[bytes, bytes]]]:
    from confluent_kafka import Producer
    want = {p: [] for p in range(PARTITIONS)}
    prod = Producer({"bootstrap.servers": c.bootstrap_servers(), "acks": "all", "enable.idempotence": True,
                     "linger.ms": 5})
    for i in range(TOTAL):
        p = i % PARTITIONS
        k, v = f"k{p}-{i}".encode(), f"record-{i}".encode()
        want[p].append((k, v))
        prod.produce(SRC, key=k, value=v, partition=p)
    assert prod.flush(30) == 0
    return want


def wait_full_isr(c: cl.Cluster) -> None:
    """Every partition the copy uses has its three replicas in sync again."""
    c.wait_isr(SRC, PARTITIONS, timeout=40)
    c.wait_isr(DST, PARTITIONS, timeout=40)
    for internal in ("__transaction_state", "__consumer_offsets"):
        c.wait_isr(internal, len(c.describe(internal)), timeout=40)


@pytest.mark.timeout(300)
def test_copy_exactly_once_through_kills(fc, tmp_path):
    fc.create_replicated_topic(SRC, PARTITIONS, configs={"min.insync.replicas": 2})
    fc.create_replicated_topic(DST, PARTITIONS, configs={"min.insync.replicas": 2})
    want = produce_input(fc)
    copier = Copier(fc, tmp_path)
    copier.start()
    done_kills = []
    started = time.monotonic()
    deadline = started + 240
    try:
        pending = list(KILLS)
        while True:
            assert time.monotonic() < deadline, \
                f"copy not finished: position {copier.position()}/{TOTAL}, kills {done_kills}, " \
                f"copier exits {copier.exits}: {copier.stderr.read_text()[-3000:]}"
            if copier.poll() == 0:
                break
            assert copier.position() > 0 or time.monotonic() < started + 90, \
                f"no transaction committed in 90 s; copier exits {copier.exits}: " \
                f"{copier.stderr.read_text()[-3000:]}"
            if pending and copier.position() >= pending[0][0] * TOTAL:
                _, what = pending.pop(0)
                if what == "client":
                    copier.kill9()
                    done_kills.append(("client", None))
                else:
                    victim = tu.find_txn_coordinator(fc, TXN_ID) if what == "coordinator" \
                        else fc.leader_of(DST, 0)
                    fc.kill_node(victim)
                    done_kills.append((what, victim.node_id))
                    time.sleep(2.0)  # the cluster works on two nodes meanwhile
                    fc.restart_node(victim)
                    wait_full_isr(fc)
            time.sleep(0.1)
    finally:
        copier.stop()
    assert [w for w, _ in done_kills] == [w for _, w in KILLS], \
        f"the copy finished before every kill happened: {done_kills}"
    for p in range(PARTITIONS):
        tu.wait_stable(fc, DST, p)
    got = tu.consume(fc, DST, PARTITIONS, "read_committed", timeout=60)
    for p in range(PARTITIONS):
        dupes = len(got[p]) - len(set(got[p]))
        missing = len(set(want[p]) - set(got[p]))
        assert got[p] == want[p], f"{DST}-{p}: {len(got[p])} records read_committed for {len(want[p])} " \
                                  f"({dupes} duplicates, {missing} missing); kills {done_kills}"
