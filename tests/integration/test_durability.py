"""Crash safety: acknowledged records survive SIGKILL, and a torn segment tail
is cut at the last valid batch on recovery (and nothing before it is lost)."""
import signal
import threading
import time
from pathlib import Path

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "durable"


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    futures[name].result(timeout=20)


def consume_all(bootstrap: str, topic: str, partitions: int, expected: int, timeout_s: float = 60.0):
    """Every record of every partition from the beginning: {partition: [(offset, value)]}."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                         "enable.auto.commit": False, "enable.partition.eof": True})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got = {p: [] for p in range(partitions)}
    eof = set()
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and (len(eof) < partitions or sum(map(len, got.values())) < expected):
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == confluent_kafka.KafkaError._PARTITION_EOF:
                    eof.add(msg.partition())
                    continue
                raise AssertionError(f"consume error: {msg.error()}")
            got[msg.partition()].append((msg.offset(), msg.value()))
    finally:
        consumer.close()
    return got


def test_acknowledged_records_survive_sigkill(broker_factory):
    broker = broker_factory.create()
    create_topic(broker.bootstrap, TOPIC, 3)
    acked = {}  # (partition, offset) -> value
    lock = threading.Lock()

    def on_delivery(err, msg):
        if err is None:
            with lock:
                acked[(msg.partition(), msg.offset())] = msg.value()

    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "1", "linger.ms": 5,
                         "message.timeout.ms": 5000, "retries": 0})
    deadline = time.monotonic() + 30
    sent = 0
    killed = False
    while time.monotonic() < deadline and sent < 200_000:
        value = f"record-{sent:07d}".encode() * 4
        try:
            producer.produce(TOPIC, value=value, partition=sent % 3, on_delivery=on_delivery)
            sent += 1
        except BufferError:
            producer.poll(0.05)
        producer.poll(0)
        if not killed and len(acked) >= 20_000:
            broker.proc.send_signal(signal.SIGKILL)  # mid-stream: batches are in flight
            broker.proc.wait(timeout=10)
            killed = True
            break
    assert killed, f"only {len(acked)} records were acknowledged before the deadline"
    producer.flush(10)  # the rest fail: the broker is gone
    with lock:
        acked_now = dict(acked)

    broker.start()
    got = consume_all(broker.bootstrap, TOPIC, 3, expected=len(acked_now))
    stored = {(p, off): v for p, records in got.items() for off, v in records}
    missing = [k for k in acked_now if stored.get(k) != acked_now[k]]
    assert not missing, f"{len(missing)} acknowledged records lost or changed, e.g. {missing[:5]}"
    for p, records in got.items():
        offsets = [off for off, _ in records]
        assert offsets == list(range(len(offsets))), f"partition {p} has gaps or reordering"


def test_torn_tail_is_truncated_at_the_last_valid_batch(broker_factory):
    broker = broker_factory.create()
    create_topic(broker.bootstrap, TOPIC, 1)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "1", "linger.ms": 0})
    for i in range(100):
        producer.produce(TOPIC, value=f"v{i}".encode(), partition=0)
        producer.flush(10)  # one batch per record
    rc, _ = broker.terminate()
    assert rc == 0

    segment = broker.log_dir / f"{TOPIC}-0" / "00000000000000000000.log"
    good_size = segment.stat().st_size
    with open(segment, "ab") as f:  # a torn write: a batch header that promises more than is there
        f.write(bytes.fromhex("0000000000000064000001f4") + b"\x00" * 40)
    (broker.log_dir / ".kafka_cleanshutdown").unlink(missing_ok=True)  # as after a crash

    broker.start()
    assert segment.stat().st_size == good_size, "recovery must cut exactly the torn bytes"
    assert "truncat" in broker.log_text().lower(), "recovery must log what it truncated"
    got = consume_all(broker.bootstrap, TOPIC, 1, expected=100)
    assert [v for _, v in got[0]] == [f"v{i}".encode() for i in range(100)]

    # The log keeps working after recovery: appends continue at the next offset.
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "1"})
    offsets = []
    producer.produce(TOPIC, value=b"after", partition=0, on_delivery=lambda e, m: offsets.append(m.offset()))
    producer.flush(10)
    assert offsets == [100]


def test_topics_and_configs_survive_restart(broker_factory):
    broker = broker_factory.create()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    topic = NewTopic("configured", num_partitions=2, replication_factor=1,
                     config={"retention.ms": "123456", "cleanup.policy": "delete"})
    admin.create_topics([topic])["configured"].result(timeout=20)
    broker.proc.send_signal(signal.SIGKILL)
    broker.proc.wait(timeout=10)
    broker.start()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    md = admin.list_topics(timeout=10)
    assert "configured" in md.topics and len(md.topics["configured"].partitions) == 2
    from confluent_kafka.admin import ConfigResource
    res = ConfigResource(ConfigResource.Type.TOPIC, "configured")
    configs = admin.describe_configs([res])[res].result(timeout=20)
    assert configs["retention.ms"].value == "123456"
