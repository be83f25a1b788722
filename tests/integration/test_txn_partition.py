"""The partition side of transactions on a real broker, with raw requests (the
coordinator is not involved): a transactional write opens a transaction that
holds the last stable offset back, so read_committed Fetch and ListOffsets
stop before it while read_uncommitted ones see it, DescribeProducers shows
where it started, and stock consumers of both isolation levels agree.
Partition verification (KIP-890) is off here: nothing would know the
transaction."""
from __future__ import annotations

import time

import pytest

import kafka_wire as kw

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Consumer, KafkaError, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from kafka.record.default_records import DefaultRecordBatchBuilder  # noqa: E402

TOPIC = "txn-part"
PID = 4242


def batch(values: list[bytes], *, transactional: bool, pid: int = -1, seq: int = -1) -> bytes:
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=int(transactional), producer_id=pid,
                                  producer_epoch=0 if pid >= 0 else -1, base_sequence=seq, batch_size=1 << 20)
    for i, v in enumerate(values):
        b.append(i, timestamp=int(time.time() * 1000), key=None, value=v, headers=[])
    return bytes(b.build())


def produce(conn: kw.SchemaConnection, records: bytes, txn_id: str | None) -> dict:
    resp = conn.call("Produce", 9, TransactionalId=txn_id, Acks=-1, TimeoutMs=10000,
                     TopicData=[{"Name": TOPIC, "PartitionData": [{"Index": 0, "Records": records}]}])
    return resp["Responses"][0]["PartitionResponses"][0]


def fetch(conn: kw.SchemaConnection, isolation: int) -> dict:
    resp = conn.call("Fetch", 11, ReplicaId=-1, MaxWaitMs=0, MinBytes=1, MaxBytes=1 << 20, IsolationLevel=isolation,
                     SessionId=0, SessionEpoch=-1,
                     Topics=[{"Topic": TOPIC, "Partitions": [{"Partition": 0, "CurrentLeaderEpoch": -1,
                                                              "FetchOffset": 0, "LogStartOffset": -1,
                                                              "PartitionMaxBytes": 1 << 20}]}],
                     ForgottenTopicsData=[], RackId="")
    return resp["Responses"][0]["Partitions"][0]


def latest(conn: kw.SchemaConnection, isolation: int) -> int:
    resp = conn.call("ListOffsets", 7, ReplicaId=-1, IsolationLevel=isolation,
                     Topics=[{"Name": TOPIC, "Partitions": [{"PartitionIndex": 0, "CurrentLeaderEpoch": -1,
                                                             "Timestamp": -1}]}])
    return resp["Topics"][0]["Partitions"][0]["Offset"]


def consume(bootstrap: str, isolation: str, timeout_s: float = 20.0) -> list[bytes]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False,
                         "enable.partition.eof": True, "fetch.wait.max.ms": 50, "isolation.level": isolation})
    consumer.assign([TopicPartition(TOPIC, 0, 0)])
    out = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            m = consumer.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    return out
                raise AssertionError(f"consume error: {m.error()}")
            out.append(m.value())
    finally:
        consumer.close()
    raise AssertionError(f"no end of partition after {timeout_s}s: {out}")


def test_open_transaction_holds_read_committed_back(broker_factory):
    broker = broker_factory.create(extra_config={"transaction.partition.verification.enable": "false"})
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=1)])[TOPIC].result(timeout=20)
    with kw.SchemaConnection(broker.port) as conn:
        assert produce(conn, batch([b"a", b"b"], transactional=False), None)["ErrorCode"] == 0     # 0-1
        # A transactional batch needs a transactional id in the request.
        refused = produce(conn, batch([b"x"], transactional=True, pid=PID, seq=0), None)
        assert refused["ErrorCode"] == 53  # TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        p = produce(conn, batch([b"t1", b"t2"], transactional=True, pid=PID, seq=0), "tx")       # 2-3
        assert p["ErrorCode"] == 0 and p["BaseOffset"] == 2
        assert produce(conn, batch([b"c"], transactional=False), None)["ErrorCode"] == 0          # 4

        committed = fetch(conn, 1)
        assert committed["ErrorCode"] == 0
        assert committed["HighWatermark"] == 5
        assert committed["LastStableOffset"] == 2
        assert committed["AbortedTransactions"] == []
        uncommitted = fetch(conn, 0)
        assert uncommitted["LastStableOffset"] == 2
        assert uncommitted["AbortedTransactions"] is None
        assert len(uncommitted["Records"]) > len(committed["Records"]) > 0

        assert latest(conn, 1) == 2
        assert latest(conn, 0) == 5

        described = conn.call("DescribeProducers", 0, Topics=[{"Name": TOPIC, "PartitionIndexes": [0]}])
        [state] = described["Topics"][0]["Partitions"][0]["ActiveProducers"]
        assert state["ProducerId"] == PID
        assert state["CurrentTxnStartOffset"] == 2

    assert consume(broker.bootstrap, "read_committed") == [b"a", b"b"]
    assert consume(broker.bootstrap, "read_uncommitted") == [b"a", b"b", b"t1", b"t2", b"c"]
