"""Partition replication, leader side, on three combined nodes (loopback).

A topic with replication factor 3: acks=all writes are acknowledged once the
followers (replica fetchers) have them, a consumer reads every one of them
from the leaders, and every replica ends with the same log bytes.
"""

from __future__ import annotations

import time

import pytest

import cluster as cl

import confluent_kafka  # noqa: E402  (Debian package, /usr/bin/python3)


@pytest.fixture
def three_nodes(tmp_path, request):
    c = cl.Cluster(tmp_path / "cluster", ["broker,controller"] * 3)
    request.node.__dict__.setdefault("_samsa_brokers", []).extend(c.nodes)
    try:
        c.format()
        c.start()
        c.active_controller(15.0)
        yield c
    finally:
        try:
            c.stop()
        finally:
            c.close()


def segment_bytes(n: cl.Node, topic: str, partition: int) -> int:
    d = n.data_dir / f"{topic}-{partition}"
    return sum(f.stat().st_size for f in d.glob("*.log")) if d.is_dir() else -1


def test_acks_all_on_replication_factor_3(three_nodes):
    c = three_nodes
    topic = "replicated"
    c.create_topic_until_ok(c.nodes[0], topic, partitions=3, replication_factor=3)
    c.wait_topics_everywhere({topic})
    bootstrap = ",".join(n.bootstrap for n in c.nodes)

    acked, failed = [], []

    def report(err, msg):
        (failed if err else acked).append(err or (msg.partition(), msg.offset()))

    p = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                                  "linger.ms": 5, "message.timeout.ms": 30000})
    for i in range(300):
        p.produce(topic, value=f"m{i}".encode(), partition=i % 3, on_delivery=report)
        p.poll(0)
    assert p.flush(40) == 0
    assert failed == []
    assert len(acked) == 300

    # Each partition's leader answers its high watermark: everything acked.
    md = c.metadata(c.nodes[0], [topic])
    leaders = {pt["PartitionIndex"]: pt["LeaderId"] for pt in md["Topics"][0]["Partitions"]}
    isrs = {pt["PartitionIndex"]: sorted(pt["IsrNodes"]) for pt in md["Topics"][0]["Partitions"]}
    assert all(isr == [1, 2, 3] for isr in isrs.values()), isrs

    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": "smoke",
                                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.assign([confluent_kafka.TopicPartition(topic, part, 0) for part in range(3)])
    seen = set()
    deadline = time.monotonic() + 30
    while len(seen) < 300 and time.monotonic() < deadline:
        m = consumer.poll(0.5)
        if m is None or m.error():
            continue
        seen.add(m.value().decode())
    consumer.close()
    assert seen == {f"m{i}" for i in range(300)}

    # Followers hold the leaders' bytes.
    sizes = {}

    def same_everywhere():
        for part in range(3):
            sizes[part] = [segment_bytes(n, topic, part) for n in c.nodes]
        return all(len(set(s)) == 1 and s[0] > 0 for s in sizes.values())
    cl.wait_until(same_everywhere, 20.0, "every replica to hold the same log bytes", lambda: f"{sizes} {leaders}")

    # DeleteRecords answers once every replica moved its log start (Kafka's
    # DelayedDeleteRecords): right after the answer a follower serving a
    # KIP-392 read (Fetch v11, replica id -1) answers OFFSET_OUT_OF_RANGE at 0.
    leader = c.node(leaders[0])
    body = c.call(leader, leader.port, "DeleteRecords", 2, {
        "Topics": [{"Name": topic, "Partitions": [{"PartitionIndex": 0, "Offset": 50}]}], "TimeoutMs": 15000},
        timeout=20)
    pr = body["Topics"][0]["Partitions"][0]
    assert (pr["ErrorCode"], pr["LowWatermark"]) == (0, 50), pr
    for n in c.nodes:
        if n is leader:
            continue
        body = c.call(n, n.port, "Fetch", 11, {
            "ReplicaId": -1, "MaxWaitMs": 0, "MinBytes": 0, "MaxBytes": 1 << 20, "IsolationLevel": 0,
            "SessionId": 0, "SessionEpoch": -1,
            "Topics": [{"Topic": topic, "Partitions": [{"Partition": 0, "CurrentLeaderEpoch": -1, "FetchOffset": 0,
                                                        "LogStartOffset": -1, "PartitionMaxBytes": 1 << 20}]}],
            "ForgottenTopicsData": [], "RackId": ""}, timeout=5)
        pd = body["Responses"][0]["Partitions"][0]
        assert pd["ErrorCode"] == 1, f"follower {n.node_id} still serves offset 0 after DeleteRecords: {pd['ErrorCode']}"


def test_acks_all_continues_after_a_follower_dies(tmp_path, request):
    """The leader drops a dead follower from the ISR after
    replica.lag.time.max.ms (AlterPartition), and the parked acks=all write
    is answered as soon as the controller committed the smaller ISR."""
    c = cl.Cluster(tmp_path / "cluster", ["broker,controller"] * 3,
                   extra={"replica.lag.time.max.ms": 2000, "replica.fetch.wait.max.ms": 500})
    request.node.__dict__.setdefault("_samsa_brokers", []).extend(c.nodes)
    try:
        c.format()
        c.start()
        c.active_controller(15.0)
        c.create_topic_until_ok(c.nodes[0], "s", partitions=1, replication_factor=3)
        c.wait_topics_everywhere({"s"})
        leader = c.metadata(c.nodes[0], ["s"])["Topics"][0]["Partitions"][0]["LeaderId"]
        follower = next(n for n in c.nodes if n.node_id != leader)
        survivors = [n for n in c.nodes if n is not follower]
        follower.kill9()
        p = confluent_kafka.Producer({"bootstrap.servers": ",".join(n.bootstrap for n in survivors), "acks": "all",
                                      "message.timeout.ms": 20000})
        results = []
        t0 = time.monotonic()
        p.produce("s", b"x", on_delivery=lambda e, m: results.append((e, time.monotonic() - t0)))
        assert p.flush(25) == 0
        assert len(results) == 1 and results[0][0] is None, results
        assert results[0][1] < 10, results  # lag time 2 s + an AlterPartition, not a timeout
        part = c.metadata(survivors[0], ["s"])["Topics"][0]["Partitions"][0]
        assert sorted(part["IsrNodes"]) == sorted(n.node_id for n in survivors)
    finally:
        try:
            c.stop()
        finally:
            c.close()
