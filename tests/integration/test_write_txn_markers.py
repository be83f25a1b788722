"""WriteTxnMarkers (API 27) on a three-node cluster, driven by hand as a
transaction coordinator or `kafka-transactions.sh abort` would: a producer's
transactional batches on two partitions led by different nodes are ended
by a COMMIT marker on one and an ABORT marker on the other. The markers are
control batches on every replica, a read_committed Fetch lists the aborted
transaction, a marker sent to a follower or for an unknown partition is
refused, and a marker of an older coordinator epoch is fenced. The ABORT
is what `kafka-transactions.sh abort` sends for a hanging transaction, with
the producer and coordinator epochs DescribeProducers shows.

Verification (KIP-890) is off here: no transaction coordinator takes part.
"""

from __future__ import annotations

import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cluster as cl  # noqa: E402
from replication_util import (create_assigned_topic, make_cluster, partition_dir, partition_state,  # noqa: E402,F401
                              start_cluster, wait_partition)

ERR_NONE = 0
ERR_UNKNOWN_TOPIC_OR_PARTITION = 3
ERR_NOT_LEADER_OR_FOLLOWER = 6
ERR_TRANSACTION_COORDINATOR_FENCED = 52

CONFIG = {
    "default.replication.factor": 3,
    "min.insync.replicas": 2,
    "transaction.partition.verification.enable": "false",
}


def txn_batch(pid: int, epoch: int, first_seq: int, values: list[str]) -> bytes:
    """One transactional v2 batch of the producer."""
    from kafka.record.default_records import DefaultRecordBatchBuilder
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=1, producer_id=pid,
                                  producer_epoch=epoch, base_sequence=first_seq, batch_size=1 << 20)
    now = int(time.time() * 1000)
    for i, v in enumerate(values):
        b.append(i, timestamp=now, key=None, value=v.encode(), headers=[])
    return bytes(b.build())


def produce_txn(c, n, topic, partition, pid, epoch, seq, values) -> dict:
    body = c.call(n, n.port, "Produce", 9, {
        "TransactionalId": "markers-itest", "Acks": -1, "TimeoutMs": 5000,
        "TopicData": [{"Name": topic, "PartitionData": [{"Index": partition,
                                                          "Records": txn_batch(pid, epoch, seq, values)}]}]},
        timeout=10)
    return body["Responses"][0]["PartitionResponses"][0]


def write_markers(c, n, pid, epoch, commit, partitions: dict[str, list[int]], coordinator_epoch=0) -> dict:
    """WriteTxnMarkers v1 to node n; {(topic, partition): error}."""
    body = c.call(n, n.port, "WriteTxnMarkers", 1, {"Markers": [{
        "ProducerId": pid, "ProducerEpoch": epoch, "TransactionResult": commit,
        "Topics": [{"Name": t, "PartitionIndexes": ps} for t, ps in partitions.items()],
        "CoordinatorEpoch": coordinator_epoch}]}, timeout=35)
    assert len(body["Markers"]) == 1 and body["Markers"][0]["ProducerId"] == pid, body
    return {(t["Name"], p["PartitionIndex"]): p["ErrorCode"]
            for t in body["Markers"][0]["Topics"] for p in t["Partitions"]}


def control_batches(n: cl.Node, topic: str, partition: int) -> list[tuple[int, int, int, int]]:
    """(offset, producer id, control type, coordinator epoch) of every control
    batch in node n's own segment files of the partition."""
    out = []
    d = partition_dir(n, topic, partition)
    for seg in sorted(d.glob("*.log")) if d.is_dir() else []:
        data = seg.read_bytes()
        pos = 0
        while pos + 61 <= len(data):
            base, length = struct.unpack_from(">qi", data, pos)
            if length < 49 or pos + 12 + length > len(data):
                break
            attributes = struct.unpack_from(">h", data, pos + 21)[0]
            pid = struct.unpack_from(">q", data, pos + 43)[0]
            if attributes & 0x20:
                from kafka.record import MemoryRecords
                batch = MemoryRecords(bytes(data[pos:pos + 12 + length])).next_batch()
                rec = next(iter(batch))
                _kv, ctype = struct.unpack(">hh", rec.key)
                _vv, cepoch = struct.unpack(">hi", rec.value)
                out.append((base, pid, ctype, cepoch))
            pos += 12 + length
    return out


def open_txns(c, n, topic, partition) -> list[tuple[int, int, int]]:
    """(producer id, current txn start offset, coordinator epoch) of the
    partition's producers, from DescribeProducers on its leader: what
    `kafka-transactions.sh find-hanging` / `abort` read."""
    body = c.call(n, n.port, "DescribeProducers", 0, {"Topics": [{"Name": topic, "PartitionIndexes": [partition]}]})
    p = body["Topics"][0]["Partitions"][0]
    assert p["ErrorCode"] == ERR_NONE, p
    return [(a["ProducerId"], a["CurrentTxnStartOffset"], a["CoordinatorEpoch"]) for a in p["ActiveProducers"]]


def fetch_committed(c, n, topic, partition) -> dict:
    body = c.call(n, n.port, "Fetch", 11, {
        "ReplicaId": -1, "MaxWaitMs": 0, "MinBytes": 0, "MaxBytes": 8 << 20, "IsolationLevel": 1,
        "SessionId": 0, "SessionEpoch": -1,
        "Topics": [{"Topic": topic, "Partitions": [{"Partition": partition, "CurrentLeaderEpoch": -1,
                                                    "FetchOffset": 0, "LogStartOffset": -1,
                                                    "PartitionMaxBytes": 8 << 20}]}],
        "ForgottenTopicsData": [], "RackId": ""}, timeout=5)
    assert body["ErrorCode"] == 0, body
    return body["Responses"][0]["Partitions"][0]


def test_markers_commit_abort_and_fencing(make_cluster):
    c = make_cluster(["broker,controller"] * 3, extra=CONFIG)
    start_cluster(c)
    n1, n2, n3 = c.node(1), c.node(2), c.node(3)
    create_assigned_topic(c, [n1, n2, n3], "m", [[1, 2, 3], [2, 3, 1]])
    for p, leader in ((0, 1), (1, 2)):
        wait_partition(c, c.nodes, "m", p, lambda s, leader=leader: s["leader"] == leader and len(s["isr"]) == 3,
                       f"m-{p} led by {leader} with a full ISR")

    ipid = c.call(n1, n1.port, "InitProducerId", 4, {"TransactionalId": None, "TransactionTimeoutMs": 60000,
                                                      "ProducerId": -1, "ProducerEpoch": -1})
    assert ipid["ErrorCode"] == ERR_NONE, ipid
    pid, epoch = ipid["ProducerId"], ipid["ProducerEpoch"]

    r0 = produce_txn(c, n1, "m", 0, pid, epoch, 0, ["c0", "c1"])
    r1 = produce_txn(c, n2, "m", 1, pid, epoch, 0, ["a0", "a1", "a2"])
    assert r0["ErrorCode"] == ERR_NONE and r1["ErrorCode"] == ERR_NONE, (r0, r1)
    assert open_txns(c, n2, "m", 1) == [(pid, 0, -1)]

    # Refused: a follower, and partitions this cluster does not have.
    assert write_markers(c, n2, pid, epoch, True, {"m": [0]}) == {("m", 0): ERR_NOT_LEADER_OR_FOLLOWER}
    assert write_markers(c, n1, pid, epoch, True, {"nope": [0], "m": [7]}) == {
        ("nope", 0): ERR_UNKNOWN_TOPIC_OR_PARTITION, ("m", 7): ERR_UNKNOWN_TOPIC_OR_PARTITION}

    # COMMIT on m-0 (leader 1), ABORT on m-1 (leader 2), coordinator epoch 5.
    assert write_markers(c, n1, pid, epoch, True, {"m": [0]}, coordinator_epoch=5) == {("m", 0): ERR_NONE}
    assert write_markers(c, n2, pid, epoch, False, {"m": [1]}, coordinator_epoch=5) == {("m", 1): ERR_NONE}

    # Answered once replicated: every replica holds the marker after the data.
    def replicated():
        return all(control_batches(n, "m", 0) == [(2, pid, 1, 5)] and
                   control_batches(n, "m", 1) == [(3, pid, 0, 5)] for n in (n1, n2, n3))
    cl.wait_until(replicated, 10.0, "the markers on every replica",
                  lambda: {n.node_id: (control_batches(n, "m", 0), control_batches(n, "m", 1)) for n in c.nodes})

    committed = fetch_committed(c, n1, "m", 0)
    assert committed["ErrorCode"] == ERR_NONE and committed["HighWatermark"] == 3, committed
    assert committed["LastStableOffset"] == 3, committed
    assert not committed["AbortedTransactions"], committed
    # The hanging-transaction view clears: nothing open, the marker's epoch kept.
    assert open_txns(c, n2, "m", 1) == [(pid, -1, 5)]
    aborted = fetch_committed(c, n2, "m", 1)
    assert aborted["LastStableOffset"] == 4, aborted
    assert [(a["ProducerId"], a["FirstOffset"]) for a in aborted["AbortedTransactions"]] == [(pid, 0)], aborted

    # A second transaction on m-0; a marker from an older coordinator
    # epoch is fenced, the current one ends it.
    assert produce_txn(c, n1, "m", 0, pid, epoch, 2, ["c2"])["ErrorCode"] == ERR_NONE
    assert write_markers(c, n1, pid, epoch, True, {"m": [0]}, coordinator_epoch=3) == {
        ("m", 0): ERR_TRANSACTION_COORDINATOR_FENCED}
    assert write_markers(c, n1, pid, epoch, True, {"m": [0]}, coordinator_epoch=5) == {("m", 0): ERR_NONE}
    cl.wait_until(lambda: all(control_batches(n, "m", 0) == [(2, pid, 1, 5), (4, pid, 1, 5)] for n in (n1, n2, n3)),
                  10.0, "the second marker on every replica",
                  lambda: {n.node_id: control_batches(n, "m", 0) for n in c.nodes})
