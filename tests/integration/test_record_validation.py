"""Kafka's per-record validation (LogValidator) seen by clients: a keyless
record in a compacted topic is refused with INVALID_RECORD, named by its index
in `record_errors` (Produce v8+), and a stock client reports that record's
delivery as failed while the records around it are stored."""
from __future__ import annotations

import time

import pytest

import kafka_wire as kw

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from kafka.record.default_records import DefaultRecordBatchBuilder  # noqa: E402

INVALID_RECORD = 87
INVALID_TIMESTAMP = 32


def create_topic(bootstrap: str, name: str, config: dict) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1, config=config)])[name].result(
        timeout=20)


def batch(records: list[tuple[bytes | None, bytes, int]], codec: int = 0) -> bytes:
    """One v2 batch of (key, value, timestamp) records, compressed with `codec`
    (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)."""
    b = DefaultRecordBatchBuilder(magic=2, compression_type=codec, is_transactional=0, producer_id=-1,
                                  producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    for i, (key, value, ts) in enumerate(records):
        b.append(i, timestamp=ts, key=key, value=value, headers=[])
    return bytes(b.build())


def produce(conn: kw.SchemaConnection, version: int, topic: str, records: bytes) -> dict:
    resp = conn.call("Produce", version, TransactionalId=None, Acks=1, TimeoutMs=10000,
                     TopicData=[{"Name": topic, "PartitionData": [{"Index": 0, "Records": records}]}])
    [t] = resp["Responses"]
    [p] = t["PartitionResponses"]
    return p


def read_all(bootstrap: str, topic: str, timeout_s: float = 30.0) -> list[tuple[int, bytes | None, bytes]]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False,
                         "enable.partition.eof": True, "fetch.wait.max.ms": 50})
    consumer.assign([TopicPartition(topic, 0, 0)])
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
            out.append((m.offset(), m.key(), m.value()))
    finally:
        consumer.close()
    raise AssertionError(f"no end of partition after {timeout_s}s: {out}")


def test_confluent_reports_keyless_record_in_compacted_topic(broker):
    topic = "compacted-keys"
    create_topic(broker.bootstrap, topic, {"cleanup.policy": "compact"})
    p = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": False, "linger.ms": 0,
                  "acks": 1, "retries": 0})
    reports: list[tuple[bytes | None, bytes, KafkaError | None]] = []

    def on_delivery(err, msg):
        reports.append((msg.key(), msg.value(), err))

    # One record per request (flush in between) so each has its own batch:
    # Kafka refuses a whole batch when any of its records is invalid.
    for key, value in [(b"k1", b"first"), (None, b"keyless"), (b"k2", b"second")]:
        p.produce(topic, key=key, value=value, partition=0, on_delivery=on_delivery)
        assert p.flush(20) == 0
    assert [(k, v) for k, v, _ in reports] == [(b"k1", b"first"), (None, b"keyless"), (b"k2", b"second")]
    errors = [e for _, _, e in reports]
    assert errors[0] is None and errors[2] is None, errors
    assert errors[1] is not None and errors[1].code() == KafkaError.INVALID_RECORD, errors[1]
    assert read_all(broker.bootstrap, topic) == [(0, b"k1", b"first"), (1, b"k2", b"second")]


@pytest.mark.parametrize("version,codec", [(8, 0), (9, 1), (11, 4)])
def test_record_errors_name_the_keyless_records(broker, version, codec):
    topic = f"compacted-wire-{version}"
    create_topic(broker.bootstrap, topic, {"cleanup.policy": "compact"})
    now = int(time.time() * 1000)
    with kw.SchemaConnection(broker.port) as c:
        bad = batch([(b"a", b"1", now), (None, b"2", now), (b"c", b"3", now), (None, b"4", now)], codec)
        p = produce(c, version, topic, bad)
        assert p["ErrorCode"] == INVALID_RECORD
        assert p["BaseOffset"] == -1
        assert [e["BatchIndex"] for e in p["RecordErrors"]] == [1, 3]
        expected = f"Compacted topic cannot accept message without key in topic partition {topic}-0."
        assert [e["BatchIndexErrorMessage"] for e in p["RecordErrors"]] == [expected, expected]
        assert p["ErrorMessage"].startswith("One or more records have been rejected due to 2 record errors")
        assert f"RecordError(batchIndex=3, message='{expected}')" in p["ErrorMessage"]

        # Nothing of the refused batch was stored; a keyed batch goes in at 0.
        good = batch([(b"a", b"1", now), (b"b", b"2", now)], codec)
        p = produce(c, version, topic, good)
        assert p["ErrorCode"] == 0 and p["BaseOffset"] == 0
        assert p["RecordErrors"] == [] and p["ErrorMessage"] is None


def test_record_timestamp_out_of_window_is_named(broker):
    topic = "ts-window"
    create_topic(broker.bootstrap, topic, {"message.timestamp.before.max.ms": "3600000",
                                           "message.timestamp.after.max.ms": "3600000"})
    now = int(time.time() * 1000)
    with kw.SchemaConnection(broker.port) as c:
        # First and last records are in the window; the middle one is a day old.
        p = produce(c, 8, topic, batch([(None, b"1", now), (None, b"2", now - 86_400_000), (None, b"3", now)], 3))
        assert p["ErrorCode"] == INVALID_TIMESTAMP
        assert [e["BatchIndex"] for e in p["RecordErrors"]] == [1]
        assert p["RecordErrors"][0]["BatchIndexErrorMessage"].startswith(f"Timestamp {now - 86_400_000} of message")
        assert p["ErrorMessage"] == "One or more records have been rejected due to invalid timestamp"


def test_batch_level_errors_carry_no_record_errors(broker):
    """A batch whose header contradicts its records is refused as a whole,
    without record errors or message (Kafka's InvalidRecordException path)."""
    topic = "count-mismatch"
    create_topic(broker.bootstrap, topic, {})
    now = int(time.time() * 1000)
    good = bytearray(batch([(b"a", b"1", now), (b"b", b"2", now)], 1))
    # Claim three records (lastOffsetDelta 2, count 3) over two, reseal the CRC.
    good[23:27] = (2).to_bytes(4, "big")
    good[57:61] = (3).to_bytes(4, "big")
    from kafka.record.util import calc_crc32c
    good[17:21] = calc_crc32c(bytes(good[21:])).to_bytes(4, "big")
    with kw.SchemaConnection(broker.port) as c:
        p = produce(c, 8, topic, bytes(good))
        assert p["ErrorCode"] == INVALID_RECORD
        assert p["RecordErrors"] == [] and p["ErrorMessage"] is None
