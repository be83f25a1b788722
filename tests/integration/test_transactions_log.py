"""Transactions on the partition side, on three combined nodes (issue 12).

- KIP-890 late write (the Jepsen finding on Bufstream and Kafka): a Produce
  of a transaction, held in a proxy until after that transaction's EndTxn
  and its marker, must be rejected; accepted, it would reopen a transaction
  no coordinator knows of and hold the last stable offset (and every
  read_committed consumer) forever;
- `kafka-transactions.sh abort` of a hanging transaction (WriteTxnMarkers from
  an admin client) moves the last stable offset past it;
- compaction of a transactional topic keeps the committed data (latest
  committed value per key) and drops the aborted data, on every replica.
"""

from __future__ import annotations

import time

import cluster as cl
import txn_util as tu
from flaky_proxy import FlakyProxy
from txn_util import clients  # noqa: F401 - fixture
from replication_util import segment_values


lc, _attach_logs = tu.module_cluster_fixtures("lc")


# Kafka answers a write that fails verification with INVALID_TXN_STATE (or,
# to clients that know it, TRANSACTION_ABORTABLE); a fenced epoch is also a
# refusal of the late write.
LATE_WRITE_REFUSALS = {tu.ERR_INVALID_TXN_STATE, tu.ERR_TRANSACTION_ABORTABLE, tu.ERR_INVALID_PRODUCER_EPOCH,
                       tu.ERR_PRODUCER_FENCED}


def test_late_write_after_end_txn_is_rejected(lc):
    topic = "txn-late"
    lc.create_replicated_topic(topic, 1, configs={"min.insync.replicas": 2})
    leader = lc.leader_of(topic, 0)
    proxy = FlakyProxy(seed=890)  # no random faults: it only holds Produce requests when told
    proxy.start(leader.port)
    conn = None
    try:
        prod = tu.RawTxnProducer(lc, "txn-late-1")
        assert prod.add_partitions(topic, [0]) == 0
        assert prod.produce(topic, 0, ["t1-first"]) == 0  # offset 0: the transaction is open on the partition
        conn = cl._Conn("127.0.0.1", proxy.port, 30)
        proxy.hold_produce()
        conn.send("Produce", 9, **tu.produce_request(prod.txn_id, topic, 0, prod.batch(topic, 0, ["t1-late"])))
        cl.wait_until(lambda: proxy.held == 1, 10, "the proxy to hold the late Produce")
        assert prod.end(False) == tu.ERR_NONE  # abort: the ABORT marker lands at offset 1
        assert tu.wait_stable(lc, topic, 0) == 2
        proxy.release_produce()
        err = tu.produce_error(conn.recv(timeout=25))
        assert err in LATE_WRITE_REFUSALS, f"the late write of an ended transaction was answered {err}"
    finally:
        if conn is not None:
            conn.close()
        proxy.stop()
    # Nothing was appended and no transaction hangs on the partition.
    time.sleep(0.5)
    assert tu.list_offset(lc, topic, 0, tu.READ_UNCOMMITTED) == 2
    assert tu.list_offset(lc, topic, 0, tu.READ_COMMITTED) == 2
    assert tu.consume(lc, topic, 1, "read_uncommitted") == {0: [(None, b"t1-first")]}
    body = lc.call(leader, leader.port, "DescribeProducers", 0,
                   {"Topics": [{"Name": topic, "PartitionIndexes": [0]}]})
    [p] = body["Topics"][0]["Partitions"]
    assert [(a["ProducerId"], a["CurrentTxnStartOffset"]) for a in p["ActiveProducers"]] == [(prod.pid, -1)]

    # The producer goes on with its next transaction on the same partition
    # (the refused batch's sequence number was never used).
    prod.seq[(topic, 0)] -= 1
    assert prod.add_partitions(topic, [0]) == 0
    assert prod.produce(topic, 0, ["t2"]) == 0
    assert prod.end(True) == 0
    assert tu.wait_stable(lc, topic, 0) == 4
    assert tu.consume(lc, topic, 1, "read_committed") == {0: [(None, b"t2")]}


# ---------------------------------------------------------------------------
# Compaction
# ---------------------------------------------------------------------------

KEYS = 20
ROUNDS = 40  # each: a committed and an aborted transaction over every key
PAD = "x" * 1000


def cleaner_checkpoint(n: cl.Node, topic: str, partition: int) -> int:
    try:
        lines = (n.data_dir / "cleaner-offset-checkpoint").read_text().splitlines()
    except FileNotFoundError:
        return 0
    for line in lines[2:]:
        parts = line.split()
        if len(parts) == 3 and parts[0] == topic and int(parts[1]) == partition:
            return int(parts[2])
    return 0


def test_compaction_keeps_committed_drops_aborted(lc, clients):
    topic = "txn-compacted"
    lc.create_replicated_topic(topic, 1, configs={"min.insync.replicas": 2, "cleanup.policy": "compact",
                                                 "segment.bytes": 1 << 20, "min.cleanable.dirty.ratio": "0.01"})
    prod = clients.producer({"bootstrap.servers": lc.bootstrap_servers(), "transactional.id": "txn-compacted-1",
                     "linger.ms": 5, "transaction.timeout.ms": 60000})
    prod.init_transactions(30)
    for r in range(ROUNDS):
        prod.begin_transaction()
        for k in range(KEYS):
            prod.produce(topic, key=f"k{k}", value=f"c{r}-k{k}|{PAD}", partition=0)
        prod.commit_transaction(30)
        prod.begin_transaction()  # newer than the committed values: must not win
        for k in range(KEYS):
            prod.produce(topic, key=f"k{k}", value=f"a{r}-k{k}|{PAD}", partition=0)
        assert prod.flush(30) == 0
        prod.abort_transaction(30)
    # Committed filler with keys of its own: the data above leaves the active
    # segment, so the cleaner may take it.
    for f in range(0, 1200, 100):
        prod.begin_transaction()
        for i in range(f, f + 100):
            prod.produce(topic, key=f"f{i}", value=f"c-f{i}|{PAD}", partition=0)
        prod.commit_transaction(30)
    last_keyed = ROUNDS * 2 * (KEYS + 1)  # offsets of the keyed rounds, markers included
    end = tu.wait_stable(lc, topic, 0)
    assert end == last_keyed + 12 * 101

    replicas = [lc.node(nid) for nid in lc.describe(topic)[0]["replicas"]]
    seen = {}

    def cleaned():
        for n in replicas:
            values = [v for _, v in segment_values(n, topic, 0)]
            seen[n.node_id] = {"checkpoint": cleaner_checkpoint(n, topic, 0),
                               "aborted": sum(1 for v in values if v and v.startswith("a")),
                               "records": len(values)}
        return all(s["checkpoint"] > last_keyed and s["aborted"] == 0 for s in seen.values())
    cl.wait_until(cleaned, 60, "every replica to clean the keyed rounds (checkpoint past them, no aborted data)",
                  lambda: f"by node: {seen}", 0.5)

    want = {f"k{k}": f"c{ROUNDS - 1}-k{k}" for k in range(KEYS)}
    want.update({f"f{i}": f"c-f{i}" for i in range(1200)})
    for isolation in ("read_committed", "read_uncommitted"):
        records = tu.consume(lc, topic, 1, isolation, timeout=60)[0]
        latest = {}
        for k, v in records:
            latest[k.decode()] = v.decode().split("|")[0]
        assert latest == want, f"{isolation}: latest value per key differs"
        assert not any(v.startswith(b"a") for _, v in records), f"{isolation} reads aborted data after cleaning"
        keyed = [k for k, _ in records if k.startswith(b"k")]
        assert len(keyed) == len(set(keyed)), f"{isolation}: duplicate keys in the cleaned range"


# ---------------------------------------------------------------------------
# kafka-transactions.sh abort
# ---------------------------------------------------------------------------

def test_admin_abort_of_hanging_transaction(tmp_path, request):
    """Without KIP-890 verification a transactional write the coordinator
    never heard of opens a transaction nobody will end (a hanging
    transaction: the LSO stays behind it). `kafka-transactions.sh abort`
    finds the producer with DescribeProducers and sends the leader an ABORT
    marker itself (WriteTxnMarkers from an admin client); the LSO moves on
    and the data is never visible."""
    c = tu.txn_cluster(tmp_path / "cluster", {"transaction.partition.verification.enable": "false"})
    request.node.__dict__.setdefault("_samsa_brokers", []).extend(c.nodes)
    try:
        topic = "txn-hanging"
        c.create_replicated_topic(topic, 1, configs={"min.insync.replicas": 2})
        prod = tu.RawTxnProducer(c, "txn-hanging-1")
        assert prod.produce(topic, 0, ["hanging"]) == 0  # no AddPartitionsToTxn: the coordinator knows nothing
        assert tu.list_offset(c, topic, 0, tu.READ_UNCOMMITTED) == 1
        assert tu.list_offset(c, topic, 0, tu.READ_COMMITTED) == 0
        leader = c.leader_of(topic, 0)
        body = c.call(leader, leader.port, "DescribeProducers", 0,
                      {"Topics": [{"Name": topic, "PartitionIndexes": [0]}]})
        [state] = body["Topics"][0]["Partitions"][0]["ActiveProducers"]
        assert (state["ProducerId"], state["CurrentTxnStartOffset"]) == (prod.pid, 0), state
        body = c.call(leader, leader.port, "WriteTxnMarkers", 1, {"Markers": [{
            "ProducerId": state["ProducerId"], "ProducerEpoch": state["ProducerEpoch"], "TransactionResult": False,
            "Topics": [{"Name": topic, "PartitionIndexes": [0]}],
            "CoordinatorEpoch": max(state["CoordinatorEpoch"], 0)}]}, timeout=15)
        [result] = body["Markers"][0]["Topics"][0]["Partitions"]
        assert result["ErrorCode"] == 0, f"WriteTxnMarkers (admin abort): {result}"
        assert tu.wait_stable(c, topic, 0) == 2
        assert tu.consume(c, topic, 1, "read_committed") == {0: []}
        assert tu.consume(c, topic, 1, "read_uncommitted") == {0: [(None, b"hanging")]}
    finally:
        try:
            c.stop()
        finally:
            c.close()
