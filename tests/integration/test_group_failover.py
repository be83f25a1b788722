"""Consumer groups on a replicated __consumer_offsets (issue 11, coordinators).

Three combined nodes on loopback with offsets.topic.replication.factor=3: a
confluent-kafka consumer group commits, the node coordinating the group
(FindCoordinator names it) is killed with -9, and the group resumes on a
surviving node from its committed offsets: the coordinator there loaded the
partition from its replica when it became leader. Nothing before the last
commit is consumed again and nothing after it is skipped. A second test
keeps the consumer in the group through the kill: it finds the new
coordinator and its later commits land there.

Needs the replica fetchers wired into the broker (followers of
__consumer_offsets must fetch, or acks=-1 commits time out).
"""

from __future__ import annotations

import time

import cluster as cl
from test_cluster import make_cluster, wait_brokers_registered  # noqa: F401  (fixture)

TOPIC = "failover-events"
GROUP = "failover-group"
PARTITIONS = 2
RECORDS = 200
ERROR_NONE = 0


def find_coordinator(c: cl.Cluster, nodes: list[cl.Node], group: str, timeout: float = 30.0,
                     exclude: int | None = None) -> int:
    """The node id FindCoordinator v4 names for `group`, asked through any
    live node of `nodes` until one answers NONE with a node other than
    `exclude` (a killed node stays named until the controller fences it)."""
    seen = {}
    found = {}

    def check():
        for n in nodes:
            if not n.alive():
                continue
            try:
                body = c.call(n, n.port, "FindCoordinator", 4, {"KeyType": 0, "CoordinatorKeys": [group]})
            except cl.WIRE_ERRORS as e:
                seen[n.node_id] = repr(e)
                continue
            answer = body["Coordinators"][0]
            seen[n.node_id] = answer["ErrorCode"]
            if answer["ErrorCode"] == ERROR_NONE and answer["NodeId"] != exclude:
                found["id"] = answer["NodeId"]
                return True
        return False
    cl.wait_until(check, timeout, f"FindCoordinator({group}) to answer", lambda: f"answers: {seen}", interval=0.2)
    return found["id"]


def consumer(bootstrap: str):
    from confluent_kafka import Consumer
    return Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP, "enable.auto.commit": False,
                     "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
                     "heartbeat.interval.ms": 500, "topic.metadata.refresh.interval.ms": 1000,
                     "socket.timeout.ms": 5000})


def consume(c, want: int, timeout: float) -> list[tuple[int, int, bytes]]:
    """Up to `want` records as (partition, offset, value), within `timeout`."""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < want and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        out.append((m.partition(), m.offset(), m.value()))
    return out


def test_committed_offsets_survive_the_coordinators_node(make_cluster):  # noqa: F811
    from confluent_kafka import KafkaException, Producer, TopicPartition

    c = make_cluster(["broker,controller"] * 3, extra={
        "offsets.topic.replication.factor": 3,
        "offsets.topic.num.partitions": 3,
        "group.initial.rebalance.delay.ms": 0,
        "min.insync.replicas": 2,
    })
    c.format()
    c.start()
    c.active_controller(15.0)
    wait_brokers_registered(c)
    first = c.brokers[0]
    c.create_topic_until_ok(first, TOPIC, partitions=PARTITIONS, replication_factor=3)
    c.wait_topics_everywhere({TOPIC})
    bootstrap = ",".join(n.bootstrap for n in c.brokers)

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    failed = []
    for i in range(RECORDS):
        p.produce(TOPIC, value=b"r%04d" % i, partition=i % PARTITIONS,
                  on_delivery=lambda err, _m: err and failed.append(err))
    assert p.flush(30) == 0 and not failed, f"acks=all produce failed: {failed[:3]}"

    # First consumer: half of the records, committed synchronously.
    c1 = consumer(bootstrap)
    c1.subscribe([TOPIC])
    seen_before = consume(c1, RECORDS // 2, 60.0)
    assert len(seen_before) == RECORDS // 2, f"consumed {len(seen_before)} of {RECORDS // 2}"
    committed = c1.commit(asynchronous=False)
    assert all(tp.error is None for tp in committed), committed
    # The commit is each partition's position: the next offset to consume
    # (a partition the consumer has not read yet has none).
    by_partition = {part: len([o for pp, o, _ in seen_before if pp == part]) for part in range(PARTITIONS)}
    assert {tp.partition: tp.offset for tp in committed if tp.offset >= 0} == \
        {part: n for part, n in by_partition.items() if n > 0}
    c1.close()  # leaves the group; the committed offsets stay
    coordinator = find_coordinator(c, c.brokers, GROUP)
    victim = c.node(coordinator)

    victim.kill9()
    survivors = [n for n in c.brokers if n is not victim]
    # The group's partition gets a new leader among the survivors, whose
    # coordinator loads it from its replica.
    t0 = time.monotonic()
    new_coordinator = find_coordinator(c, survivors, GROUP, timeout=30.0, exclude=coordinator)

    c2 = consumer(",".join(n.bootstrap for n in survivors))
    try:
        deadline = time.monotonic() + 30.0
        fetched = None
        while time.monotonic() < deadline:
            try:
                fetched = c2.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=5.0)
                break
            except KafkaException:
                time.sleep(0.2)
        assert fetched is not None, "OffsetFetch never answered on the new coordinator"
        assert {tp.partition: tp.offset for tp in fetched if tp.offset >= 0} == \
            {part: n for part, n in by_partition.items() if n > 0}, "committed offsets lost in failover"
        failover_s = time.monotonic() - t0

        c2.subscribe([TOPIC])
        seen_after = consume(c2, RECORDS - RECORDS // 2, 60.0)
        seen_after += consume(c2, 1, 2.0)  # anything beyond: consumed twice
    finally:
        c2.close()
    # Resumed exactly at the commit: nothing consumed twice, nothing skipped.
    for part in range(PARTITIONS):
        before = [o for pp, o, _ in seen_before if pp == part]
        after = [o for pp, o, _ in seen_after if pp == part]
        if after:
            assert after[0] == by_partition[part], (part, by_partition, after[:3])
        assert before + after == list(range(RECORDS // PARTITIONS)), f"partition {part} has gaps or repeats"
    values = sorted(v for _, _, v in seen_before + seen_after)
    assert values == sorted(b"r%04d" % i for i in range(RECORDS))
    print(f"group failed over from node {coordinator} to node {new_coordinator} in {failover_s:.1f} s")


def test_a_live_consumer_keeps_committing_through_the_failover(make_cluster):  # noqa: F811
    """The consumer stays in the group while its coordinator's node dies: it
    finds the new coordinator (NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE
    until then), rejoins, and its later commits land there."""
    from confluent_kafka import KafkaException, Producer, TopicPartition

    c = make_cluster(["broker,controller"] * 3, extra={
        "offsets.topic.replication.factor": 3,
        "offsets.topic.num.partitions": 3,
        "group.initial.rebalance.delay.ms": 0,
        "min.insync.replicas": 2,
    })
    c.format()
    c.start()
    c.active_controller(15.0)
    wait_brokers_registered(c)
    c.create_topic_until_ok(c.brokers[0], TOPIC, partitions=1, replication_factor=3)
    c.wait_topics_everywhere({TOPIC})
    bootstrap = ",".join(n.bootstrap for n in c.brokers)
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "linger.ms": 5})
    for i in range(RECORDS):
        p.produce(TOPIC, value=b"r%04d" % i, partition=0)
    assert p.flush(30) == 0

    c1 = consumer(bootstrap)
    try:
        c1.subscribe([TOPIC])
        first = consume(c1, 50, 60.0)
        assert len(first) == 50
        c1.commit(asynchronous=False)
        coordinator = find_coordinator(c, c.brokers, GROUP)
        c.node(coordinator).kill9()
        survivors = [n for n in c.brokers if n.node_id != coordinator]
        find_coordinator(c, survivors, GROUP, timeout=30.0, exclude=coordinator)

        second = consume(c1, 50, 60.0)
        assert len(second) == 50
        # Commits are retried by the client until the new coordinator takes them.
        deadline = time.monotonic() + 30.0
        while True:
            try:
                c1.commit(asynchronous=False)
                break
            except KafkaException:
                assert time.monotonic() < deadline, "no commit accepted after the failover"
                time.sleep(0.2)
        fetched = c1.committed([TopicPartition(TOPIC, 0)], timeout=10.0)
    finally:
        c1.close()
    offsets = [o for _, o, _ in first + second]
    # Each record once, in order: the position (or, after a rejoin, the commit at 50) carries over.
    assert offsets[:50] == list(range(50)) and offsets[50] == 50 and offsets == list(range(100)), offsets[45:60]
    assert fetched[0].offset == offsets[-1] + 1
