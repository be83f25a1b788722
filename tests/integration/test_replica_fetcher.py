"""Follower replication across three real processes (issue 11, the replica
fetcher): every follower of an RF 3 partition fetches from the leader's
inter-broker listener and ends up with the leader's log byte for byte;
acks=all produce completes because the followers' fetches move the high
watermark; a follower killed with -9 and restarted resumes from its own log
end and catches up again.

Each test starts its own three-node cluster (combined roles) on loopback
ports and stops it at the end.
"""

from __future__ import annotations

import time

import pytest

import cluster as cl
from test_cluster import make_cluster, started  # noqa: F401  (fixture)

TOPIC = "replicated"
CATCH_UP_S = 20.0


def leader_of(c: cl.Cluster, topic: str, partition: int = 0) -> int:
    for n in c.brokers:
        if not n.alive():
            continue
        try:
            md = c.metadata(n, [topic])
        except cl.WIRE_ERRORS:
            continue
        for t in md["Topics"]:
            for p in t["Partitions"]:
                if p["PartitionIndex"] == partition and p["ErrorCode"] == 0 and p["LeaderId"] >= 0:
                    return p["LeaderId"]
    raise cl.ClusterError(f"no leader known for {topic}-{partition}")


def segment_bytes(n: cl.Node, topic: str, partition: int = 0) -> bytes:
    """The partition's segment files on `n`'s disk, concatenated in offset order."""
    d = n.data_dir / f"{topic}-{partition}"
    if not d.is_dir():
        return b""
    return b"".join(p.read_bytes() for p in sorted(d.glob("*.log")))


def wait_replicas_identical(c: cl.Cluster, topic: str, at_least: int, nodes=None) -> bytes:
    nodes = nodes or c.brokers
    sizes = {}

    def check():
        data = {n.node_id: segment_bytes(n, topic) for n in nodes}
        sizes.clear()
        sizes.update({k: len(v) for k, v in data.items()})
        first = next(iter(data.values()))
        return len(first) >= at_least and all(v == first for v in data.values())
    cl.wait_until(check, CATCH_UP_S, f"{topic}-0 identical on nodes {[n.node_id for n in nodes]}",
                  lambda: f"segment bytes per node: {sizes}")
    return segment_bytes(nodes[0], topic)


def produce(bootstrap: str, count: int, acks: str, start: int = 0) -> None:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 5,
                  "message.timeout.ms": 20000, "enable.idempotence": acks == "all"})
    errors, delivered = [], []

    def report(err, msg):
        (errors if err else delivered).append(err or msg.offset())
    for i in range(start, start + count):
        p.produce(TOPIC, value=f"record-{i:06d}".encode() * 8, partition=0, on_delivery=report)
        p.poll(0)
    left = p.flush(30)
    assert left == 0, f"{left} records not delivered"
    assert not errors, errors[:5]
    assert len(delivered) == count


def consume_all(bootstrap: str, expected: int) -> list[bytes]:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{time.monotonic_ns()}",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(TOPIC, 0, 0)])
    out: list[bytes] = []
    deadline = time.monotonic() + 30
    try:
        while len(out) < expected and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                out.append(m.value())
    finally:
        c.close()
    return out


def test_followers_replicate_and_acks_all_completes(make_cluster):  # noqa: F811
    c = make_cluster(["broker,controller"] * 3)
    started(c)
    c.create_topic_until_ok(c.nodes[0], TOPIC, partitions=1, replication_factor=3)
    c.wait_topics_everywhere({TOPIC})
    bootstrap = ",".join(n.bootstrap for n in c.brokers)

    # acks=all returns only once every ISR member (all three replicas) has
    # fetched the records: without the fetchers it would time out.
    produce(bootstrap, 400, acks="all")
    data = wait_replicas_identical(c, TOPIC, at_least=400 * 100)
    assert data.count(b"record-000399") >= 1
    values = consume_all(bootstrap, 400)
    assert [v[:13] for v in values] == [f"record-{i:06d}".encode() for i in range(400)]


def test_restarted_follower_catches_up_from_its_log_end(make_cluster):  # noqa: F811
    c = make_cluster(["broker,controller"] * 3)
    started(c)
    c.create_topic_until_ok(c.nodes[0], TOPIC, partitions=1, replication_factor=3)
    c.wait_topics_everywhere({TOPIC})
    leader = c.node(leader_of(c, TOPIC))
    follower = next(n for n in c.brokers if n is not leader)

    produce(leader.bootstrap, 200, acks="all")
    before = len(wait_replicas_identical(c, TOPIC, at_least=200 * 100))

    follower.kill9()
    # The leader keeps taking acks=1 writes while the follower is down.
    produce(leader.bootstrap, 300, acks="1", start=200)
    c.restart(follower)
    after = wait_replicas_identical(c, TOPIC, at_least=before + 300 * 100)
    assert after.count(b"record-000499") >= 1
    # Resumed from its own log end, not started again from scratch.
    assert "starts again at offset" not in follower.log_text()
