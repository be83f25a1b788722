"""Fetch responses reach real clients byte-exact with every file transfer
(samsa.fetch.transfer): auto (sendfile for cached ranges, pread for the
others), pread, sendfile and io_uring (which falls back to
pread by itself where the kernel or sandbox forbids io_uring).
"""

from __future__ import annotations

import os
import time

import pytest

RECORDS = 20_000
VALUE_BYTES = 1024


def drop_from_page_cache(log_dir, topic: str) -> int:
    """Writes back, then evicts the partition's segment files from the page
    cache, so the broker's next read of them comes from the disk."""
    paths = list((log_dir / f"{topic}-0").glob("*.log"))
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return len(paths)


@pytest.mark.parametrize("mode", ["auto", "pread", "sendfile", "io_uring"])
def test_fetch_transfer_roundtrip(broker_factory, mode):
    roundtrip(broker_factory, mode, cold=False)


# auto with the backlog evicted from the page cache: the cold chunks are read
# on the blocking-read pool (what the pool's reads bring in goes by sendfile).
def test_fetch_transfer_auto_cold_backlog(broker_factory):
    roundtrip(broker_factory, "auto", cold=True)


def roundtrip(broker_factory, mode: str, cold: bool) -> None:
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    broker = broker_factory.create(overrides=[f"samsa.fetch.transfer={mode}"])
    topic = f"transfer-{mode}{'-cold' if cold else ''}"

    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)], request_timeout=10)[topic].result(timeout=15)

    # Random bytes: no codec can shrink them, so the fetched file ranges are
    # as large as the records (several 1 MiB read chunks per response).
    values = [os.urandom(VALUE_BYTES) for _ in range(RECORDS)]
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5, "acks": "all"})
    delivery_errors = []

    def on_delivery(err, _msg):
        if err is not None:
            delivery_errors.append(err)

    for v in values:
        while True:
            try:
                p.produce(topic, value=v, partition=0, on_delivery=on_delivery)
                break
            except BufferError:  # local queue full: let deliveries drain
                p.poll(0.1)
        p.poll(0)
    assert p.flush(60) == 0, "records left undelivered"
    assert not delivery_errors, delivery_errors[:3]
    if cold:
        assert drop_from_page_cache(broker.log_dir, topic) > 0, "no segment file found"

    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused", "enable.auto.commit": False,
                  "fetch.wait.max.ms": 100, "max.partition.fetch.bytes": 4 << 20, "fetch.max.bytes": 8 << 20})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    deadline = time.monotonic() + 60
    try:
        while len(got) < RECORDS and time.monotonic() < deadline:
            for m in c.consume(num_messages=1000, timeout=1.0):
                assert m.error() is None, m.error()
                assert m.offset() == len(got), f"expected offset {len(got)}, got {m.offset()}"
                got.append(m.value())
    finally:
        c.close()
    assert len(got) == RECORDS, f"read {len(got)} of {RECORDS} records"
    for i, (want, have) in enumerate(zip(values, got)):
        assert have == want, f"record {i} differs"

    if mode == "io_uring" and "io_uring is not usable" in broker.log_text():
        print("note: io_uring unavailable on this host; the broker served through pread")
