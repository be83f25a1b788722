"""Log compaction with a stock client: a compacted topic keeps only the
latest value per key below the cleaner checkpoint, in offset order, and stays
so across a restart."""
import os
import time
from pathlib import Path

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "compacted"
KEYS = 10
MESSAGES = 5000
VALUE_PAD = 2000  # hex digits: ~1 KB each after lz4, ~5 MB in all, several 1 MiB segments


def partition_dir(broker) -> Path:
    return broker.log_dir / f"{TOPIC}-0"


def dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.glob("*.log"))


def cleaner_checkpoint(broker) -> int | None:
    path = broker.log_dir / "cleaner-offset-checkpoint"
    if not path.exists():
        return None
    lines = path.read_text().splitlines()
    for line in lines[2:]:
        topic, partition, offset = line.split(" ")
        if topic == TOPIC and partition == "0":
            return int(offset)
    return None


def consume_all(bootstrap: str, timeout_s: float = 60.0):
    """[(offset, key, value)] of partition 0 from the beginning to the end."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    consumer.assign([TopicPartition(TOPIC, 0, confluent_kafka.OFFSET_BEGINNING)])
    out = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == confluent_kafka.KafkaError._PARTITION_EOF:
                    return out
                raise AssertionError(f"consume error: {msg.error()}")
            out.append((msg.offset(), msg.key().decode(), msg.value().decode()))
    finally:
        consumer.close()
    raise AssertionError(f"no end of partition after {timeout_s}s ({len(out)} records)")


def check_compacted(records, latest: dict, checkpoint: int):
    offsets = [o for o, _, _ in records]
    assert offsets == sorted(set(offsets)), "offsets must strictly increase"
    # The latest value of every key is there, at its original offset.
    last_seen = {}
    for offset, key, value in records:
        last_seen[key] = (offset, value.split("|")[0])
    assert last_seen == latest
    # Below the cleaner checkpoint every key is there at most once.
    clean_keys = [k for o, k, _ in records if o < checkpoint]
    assert len(clean_keys) == len(set(clean_keys)), f"duplicate keys below {checkpoint}"


def test_compacted_topic_keeps_latest_value_per_key(broker_factory):
    broker = broker_factory.create(overrides=["log.cleaner.backoff.ms=200"])
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    topic = NewTopic(TOPIC, num_partitions=1, replication_factor=1,
                     config={"cleanup.policy": "compact", "segment.bytes": str(1024 * 1024),
                             "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "3600000"})
    admin.create_topics([topic])[TOPIC].result(timeout=20)

    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5,
                         "compression.type": "lz4"})
    latest = {}  # key -> (offset, value) of its last record, from the delivery reports

    def delivered(err, msg):
        assert err is None, err
        value = msg.value().decode().split("|")[0]
        key = msg.key().decode()
        if key not in latest or latest[key][0] < msg.offset():
            latest[key] = (msg.offset(), value)

    for i in range(MESSAGES):
        producer.produce(TOPIC, key=f"key-{i % KEYS}", value=f"value-{i}|" + os.urandom(VALUE_PAD // 2).hex(),
                         on_delivery=delivered)
        if i % 500 == 0:
            producer.flush(30)
    assert producer.flush(30) == 0
    assert len(latest) == KEYS and max(o for o, _ in latest.values()) == MESSAGES - 1
    assert all(v == f"value-{o}" for o, v in latest.values())
    produced = dir_bytes(partition_dir(broker))
    assert produced > 3 * 1024 * 1024

    # The cleaner shrinks everything below the active segment.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if dir_bytes(partition_dir(broker)) < produced / 2 and cleaner_checkpoint(broker):
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"log not compacted: {dir_bytes(partition_dir(broker))} of {produced} bytes left\n"
                    + broker.log_text()[-3000:])
    checkpoint = cleaner_checkpoint(broker)
    assert checkpoint > 0

    records = consume_all(broker.bootstrap)
    check_compacted(records, latest, checkpoint)
    assert len(records) < MESSAGES / 2
    assert records[-1][0] == MESSAGES - 1

    broker.terminate()
    broker.start()
    after = consume_all(broker.bootstrap)
    check_compacted(after, latest, cleaner_checkpoint(broker))
    # Nothing new appeared; the restart may only have let the cleaner go on.
    assert set(after) <= set(records)
