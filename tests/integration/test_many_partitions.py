"""100,000 partitions on one node under a 4,096-descriptor limit (issue 9).

The broker runs under `prlimit --nofile=4096:4096`. The test creates the
partitions through CreateTopics in batches, produces one record to a sample
of them, then restarts the broker cleanly and after SIGKILL and reads every
sampled record back each time. It prints the creation rate, the clean
shutdown time and both start-up times (bench/many_partitions.sh reports them;
SAMSA_MANY_PARTITIONS changes the count).
"""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

TOTAL = int(os.environ.get("SAMSA_MANY_PARTITIONS", "100000"))
PER_TOPIC = min(1000, TOTAL)
TOPICS = TOTAL // PER_TOPIC
TOPICS_PER_REQUEST = 10
SAMPLE = 200
FD_LIMIT = 4096

# The whole test is bounded (creation + three starts); the default per-test
# timeout is too short for 100,000 partitions on a slow CI machine.
pytestmark = pytest.mark.timeout(600)


def topic_name(i: int) -> str:
    return f"many-{i:03d}"


def limited_launcher(samsa) -> list:
    return ["prlimit", f"--nofile={FD_LIMIT}:{FD_LIMIT}", samsa, "server"]


def wait_ready_timed(broker, timeout: float) -> float:
    t0 = time.monotonic()
    broker.wait_ready(timeout=timeout)
    return time.monotonic() - t0


def create_all(broker) -> float:
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    t0 = time.monotonic()
    for first in range(0, TOPICS, TOPICS_PER_REQUEST):
        names = [topic_name(i) for i in range(first, min(TOPICS, first + TOPICS_PER_REQUEST))]
        futures = admin.create_topics([NewTopic(n, PER_TOPIC, 1) for n in names],
                                      operation_timeout=120, request_timeout=120)
        for name, f in futures.items():
            assert f.result(timeout=180) is None, name
    return time.monotonic() - t0


def produce_sample(broker, sample) -> None:
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5, "acks": "all"})
    errors = []
    for topic, part in sample:
        p.produce(topic, value=f"{topic}/{part}".encode(), partition=part,
                  on_delivery=lambda err, msg: err and errors.append(err))
    assert p.flush(60) == 0
    assert not errors, errors[:5]


def read_sample(broker, sample) -> None:
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "many-reader",
                  "enable.auto.commit": False, "enable.partition.eof": False})
    try:
        c.assign([TopicPartition(t, p, 0) for t, p in sample])
        want = {f"{t}/{p}" for t, p in sample}
        got = set()
        deadline = time.monotonic() + 60
        while got != want and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            assert m.error() is None, m.error()
            assert m.offset() == 0
            assert m.value().decode() == f"{m.topic()}/{m.partition()}"
            got.add(m.value().decode())
        assert got == want, f"{len(want - got)} sampled records not read back"
    finally:
        c.close()


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_100k_partitions_under_4096_descriptors(broker_factory, samsa):
    b = broker_factory.create(start=False)
    b.start(launcher=limited_launcher(samsa))

    created_s = create_all(b)
    rate = TOTAL / created_s
    part_dirs = sum(1 for d in os.scandir(b.log_dir) if d.is_dir() and d.name.startswith("many-"))
    assert part_dirs == TOTAL
    assert open_fds(b.proc.pid) < FD_LIMIT

    rng = random.Random(9)
    sample = sorted({(topic_name(rng.randrange(TOPICS)), rng.randrange(PER_TOPIC)) for _ in range(SAMPLE)})
    produce_sample(b, sample)
    read_sample(b, sample)

    rc, shutdown_s = b.terminate(timeout=60)
    assert rc == 0, "clean shutdown failed"

    b.start(launcher=limited_launcher(samsa), wait=False)
    clean_start_s = wait_ready_timed(b, timeout=120)
    log = b.log_text()
    assert "Cannot start" not in log and "Too many open files" not in log
    read_sample(b, sample)
    assert open_fds(b.proc.pid) < FD_LIMIT

    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait(timeout=30)
    b.start(launcher=limited_launcher(samsa), wait=False)
    unclean_start_s = wait_ready_timed(b, timeout=180)
    read_sample(b, sample)
    assert "Too many open files" not in b.log_text()

    print(f"\nmany partitions: {TOTAL} partitions ({TOPICS} topics x {PER_TOPIC}) under nofile={FD_LIMIT}: "
          f"created in {created_s:.1f} s ({rate:.0f} partitions/s), clean shutdown {shutdown_s:.2f} s, "
          f"start after clean shutdown {clean_start_s:.1f} s, start after SIGKILL {unclean_start_s:.1f} s")
