"""Dynamic broker configs take effect on the running broker (issue 9, item 3).

kafka-python's KafkaAdminClient.alter_configs sets cluster-wide
(BROKER "") and per-broker (BROKER "1") log defaults; the test watches what
the logs of EXISTING topics do: segment files rolled in the log dir and the
log start offset (ListOffsets) moved by retention, without a restart, in
Kafka's order (topic override > per-broker > cluster default > static).
Legacy AlterConfigs replaces every dynamic config of a resource, so sending a
resource without a key deletes that key's dynamic value.
"""

from __future__ import annotations

import time
from pathlib import Path

MiB = 1024 * 1024
STATIC_SEGMENT = 8 * MiB
INVALID_REQUEST = 42


def kafka_admin(broker):
    from kafka.admin import KafkaAdminClient
    return KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=20000)


def alter_broker(admin, name: str, configs: dict) -> tuple[int, str | None]:
    """AlterConfigs on BROKER `name` ("" = cluster default); (error code, message)."""
    from kafka.admin import ConfigResource, ConfigResourceType
    response = admin.alter_configs([ConfigResource(ConfigResourceType.BROKER, name, configs=configs)])
    (error_code, message, _type, _name), = response.resources
    return error_code, message


def produce(broker, topic: str, mib: int) -> None:
    """`mib` MiB of 1 KiB records in 64 KiB batches, acknowledged."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": 1, "linger.ms": 5, "batch.size": 65536,
                  "compression.type": "none"})
    errors = []
    payload = b"x" * 1024
    for _ in range(mib * 1024):
        while True:
            try:
                p.produce(topic, payload, on_delivery=lambda err, _m: err and errors.append(err))
                break
            except BufferError:
                p.poll(0.05)
    assert p.flush(30) == 0
    assert not errors, errors[:3]


def segments(broker, topic: str) -> list[Path]:
    return sorted((broker.log_dir / f"{topic}-0").glob("*.log"))


def log_start_offset(broker, topic: str) -> int:
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "watermarks"})
    try:
        low, _high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        return low
    finally:
        c.close()


def create_topics(broker) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    fs = admin.create_topics([NewTopic("plain", 1, 1),
                              NewTopic("pinned", 1, 1, config={"segment.bytes": str(64 * MiB)})],
                             request_timeout=15)
    for f in fs.values():
        f.result(timeout=20)


def test_dynamic_log_defaults_reach_existing_topics(broker_factory):
    broker = broker_factory.create(extra_config={"log.segment.bytes": STATIC_SEGMENT,
                                                 "log.retention.check.interval.ms": 300})
    create_topics(broker)
    admin = kafka_admin(broker)
    produce(broker, "plain", 2)
    produce(broker, "pinned", 2)
    assert len(segments(broker, "plain")) == 1, "the static 8 MiB segments do not roll at 2 MiB"

    # Cluster-wide default: 1 MiB segments for the existing topic, at once.
    assert alter_broker(admin, "", {"log.segment.bytes": str(MiB)}) == (0, None)
    produce(broker, "plain", 4)
    produce(broker, "pinned", 4)
    rolled = len(segments(broker, "plain"))
    assert rolled >= 5, f"1 MiB segments after 6 MiB: {rolled}"
    assert len(segments(broker, "pinned")) == 1, "the topic's segment.bytes beats the cluster default"

    # Per-broker value beats the cluster default: 4 MiB segments.
    assert alter_broker(admin, "1", {"log.segment.bytes": str(4 * MiB)}) == (0, None)
    produce(broker, "plain", 9)
    files = segments(broker, "plain")
    assert len(files) - rolled <= 3, f"4 MiB segments after 9 MiB: {len(files) - rolled} new"
    assert max(f.stat().st_size for f in files[:-1]) > 3 * MiB, "a segment grew past the cluster default"
    assert len(segments(broker, "pinned")) == 1

    # Cluster-wide retention.bytes deletes old segments of the existing topic.
    assert log_start_offset(broker, "plain") == 0
    assert alter_broker(admin, "", {"log.segment.bytes": str(MiB), "log.retention.bytes": str(6 * MiB)}) == (0, None)
    deadline = time.monotonic() + 15
    while log_start_offset(broker, "plain") == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    start = log_start_offset(broker, "plain")
    assert start > 0, "retention.bytes did not reach the running log"
    kept = sum(f.stat().st_size for f in segments(broker, "plain"))
    assert kept <= 6 * MiB + 4 * MiB, kept  # at most one segment over the limit, as Kafka keeps
    assert log_start_offset(broker, "pinned") == 0, "one active segment is never deleted"

    # Deleting the dynamic values restores the static ones: 8 MiB segments,
    # unbounded retention.
    assert alter_broker(admin, "1", {}) == (0, None)
    assert alter_broker(admin, "", {}) == (0, None)
    before = len(segments(broker, "plain"))
    produce(broker, "plain", 3)
    assert len(segments(broker, "plain")) - before <= 1, "static 8 MiB segments: at most the 4 MiB one rolls"
    time.sleep(1.0)  # three retention checks
    assert log_start_offset(broker, "plain") == start, "static retention.bytes=-1 deletes nothing"

    # A dynamic value survives a restart (it lives in the metadata log).
    assert alter_broker(admin, "", {"log.segment.bytes": str(MiB)}) == (0, None)
    admin.close()
    broker.terminate()
    broker.start()
    before = len(segments(broker, "plain"))
    produce(broker, "plain", 3)
    assert len(segments(broker, "plain")) - before >= 2, "1 MiB segments again after the restart"


def test_static_and_unapplied_keys_are_refused(broker_factory):
    broker = broker_factory.create(extra_config={"num.io.threads": 4})
    assert "Configuration num.io.threads is not supported by Samsa" in broker.log_text()
    admin = kafka_admin(broker)
    # Static-only in Kafka: Kafka's INVALID_REQUEST and message.
    code, message = alter_broker(admin, "1", {"log.dirs": "/elsewhere"})
    assert code == INVALID_REQUEST
    assert message.startswith("Cannot update these configs dynamically: Set(log.dirs)"), message
    assert alter_broker(admin, "", {"broker.id": "7"})[0] == INVALID_REQUEST
    # Dynamic in Kafka, but nothing in Samsa would apply it: refused, not stored.
    code, message = alter_broker(admin, "1", {"num.io.threads": "4"})
    assert code == INVALID_REQUEST and "num.io.threads" in message, message
    # Nothing was stored: the per-broker resource describes no dynamic value.
    from kafka.admin import ConfigResource, ConfigResourceType
    described = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1")])
    entries = {e[0]: e for e in described[0].resources[0][4]}
    assert "num.io.threads" not in entries, "a parsed but unsupported key is not described as in force"
    assert entries["log.segment.bytes"][1] == "1073741824"
    assert alter_broker(admin, "1", {"log.segment.bytes": "2097152"}) == (0, None)
    # The log cleaner is a Reconfigurable: its keys apply to the running thread.
    code, message = alter_broker(admin, "", {"log.cleaner.threads": "2"})
    assert code == INVALID_REQUEST and "one log cleaner thread" in message, message
    assert alter_broker(admin, "", {"log.cleaner.backoff.ms": "123"}) == (0, None)
    deadline = time.monotonic() + 5
    while "Starting the log cleaner (backoff 123 ms" not in broker.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Starting the log cleaner (backoff 123 ms" in broker.log_text()
    admin.close()
