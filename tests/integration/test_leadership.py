"""Leadership and reassignment on a three-node cluster (issue 11).

Each test starts its own cluster (tests/integration/cluster.py, three
combined nodes on loopback ports) and stops it at the end:
- a replication factor 1 partition with data is reassigned to another
  broker (AlterPartitionReassignments): ListPartitionReassignments shows it
  while it runs, then the new broker leads, every record can be read from
  it, and the old broker deletes its copy;
- preferred leader election: the replicas of an RF 3 partition are
  reordered by a reassignment (same set: it completes at once and the
  leader stays), ElectLeaders moves the leadership to the new preferred
  replica with a new leader epoch; a second election is not needed;
- auto.leader.rebalance.enable with a 1 s check interval does the same on
  its own.
"""

from __future__ import annotations

import time

import pytest

import cluster as cl

ELECTION_S = 15.0


@pytest.fixture
def make_cluster(tmp_path, request):
    made: list[cl.Cluster] = []

    def make(roles, **kwargs) -> cl.Cluster:
        c = cl.Cluster(tmp_path / f"cluster{len(made)}", roles, **kwargs)
        made.append(c)
        request.node.__dict__.setdefault("_samsa_brokers", []).extend(c.nodes)
        return c
    yield make
    for c in made:
        try:
            c.stop()
        finally:
            c.close()


def start_three(make_cluster, extra: dict) -> cl.Cluster:
    c = make_cluster(["broker,controller"] * 3, extra=extra)
    c.format()
    c.start()
    c.active_controller(ELECTION_S)
    want = [1, 2, 3]
    cl.wait_until(lambda: all(c.broker_ids(b) == want for b in c.brokers), 20.0, "every broker registered")
    return c


def create_assigned(c: cl.Cluster, name: str, replicas: list[int]) -> None:
    body = c.call(c.nodes[0], c.nodes[0].port, "CreateTopics", 7, {
        "Topics": [{"Name": name, "NumPartitions": -1, "ReplicationFactor": -1,
                    "Assignments": [{"PartitionIndex": 0, "BrokerIds": replicas}]}],
        "timeoutMs": 10000}, timeout=15)
    assert body["Topics"][0]["ErrorCode"] == 0, body
    c.wait_topics_everywhere({name})


def partition_state(c: cl.Cluster, n: cl.Node, topic: str) -> dict:
    md = c.metadata(n, [topic])
    t = md["Topics"][0]
    assert t["ErrorCode"] == 0, t
    return t["Partitions"][0]


def wait_partition(c: cl.Cluster, topic: str, pred, what: str, timeout: float = 30.0) -> dict:
    seen = {}

    def check():
        for b in c.brokers:
            try:
                seen[b.node_id] = partition_state(c, b, topic)
            except cl.WIRE_ERRORS as e:
                seen[b.node_id] = repr(e)
                return False
        return all(isinstance(p, dict) and pred(p) for p in seen.values())
    cl.wait_until(check, timeout, what, lambda: f"seen: {seen}")
    return seen[c.brokers[0].node_id]


def reassign(c: cl.Cluster, topic: str, replicas: list[int] | None, via: cl.Node) -> int:
    body = c.call(via, via.port, "AlterPartitionReassignments", 0, {
        "TimeoutMs": 10000,
        "Topics": [{"Name": topic, "Partitions": [{"PartitionIndex": 0, "Replicas": replicas}]}]}, timeout=15)
    assert body["ErrorCode"] == 0, body
    return body["Responses"][0]["Partitions"][0]["ErrorCode"]


def list_reassignments(c: cl.Cluster, via: cl.Node) -> list:
    body = c.call(via, via.port, "ListPartitionReassignments", 0, {"TimeoutMs": 10000, "Topics": None}, timeout=15)
    assert body["ErrorCode"] == 0, body
    return [(t["Name"], p["PartitionIndex"], p["Replicas"], p["AddingReplicas"], p["RemovingReplicas"])
            for t in body["Topics"] for p in t["Partitions"]]


def elect_preferred(c: cl.Cluster, topic: str, via: cl.Node) -> int:
    body = c.call(via, via.port, "ElectLeaders", 2, {
        "ElectionType": 0, "TopicPartitions": [{"Topic": topic, "Partitions": [0]}], "TimeoutMs": 10000},
        timeout=15)
    assert body["ErrorCode"] == 0, body
    return body["ReplicaElectionResults"][0]["PartitionResult"][0]["ErrorCode"]


def test_reassign_a_partition_with_data_to_another_broker(make_cluster):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    c = start_three(make_cluster, {"auto.leader.rebalance.enable": "false"})
    create_assigned(c, "moving", [1])
    bootstrap = ",".join(b.bootstrap for b in c.brokers)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=5, batch_size=16384)
    values = [f"record-{i}".encode() for i in range(2000)]
    for v in values:
        producer.send("moving", v, partition=0)
    producer.flush(30)
    producer.close(10)

    # Through a broker that is not the active controller: forwarded.
    active, _ = c.active_controller(ELECTION_S)
    via = next(b for b in c.brokers if b.node_id != active)
    assert reassign(c, "moving", [2], via) == 0
    final = wait_partition(c, "moving", lambda p: p["ReplicaNodes"] == [2] and p["LeaderId"] == 2,
                           "the reassignment to broker 2 to complete")
    assert final["IsrNodes"] == [2]
    assert list_reassignments(c, via) == []
    # Cancelling a finished reassignment: nothing in progress.
    assert reassign(c, "moving", None, via) == 85  # NO_REASSIGNMENT_IN_PROGRESS

    consumer = KafkaConsumer(bootstrap_servers=c.node(2).bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=10000, auto_offset_reset="earliest")
    tp = TopicPartition("moving", 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    got = []
    deadline = time.monotonic() + 30
    while len(got) < len(values) and time.monotonic() < deadline:
        for recs in consumer.poll(timeout_ms=1000).values():
            got.extend(r.value for r in recs)
    consumer.close()
    assert got == values

    # The old replica's log goes (Kafka deletes a removed replica).
    old_dir = c.node(1).data_dir / "moving-0"
    cl.wait_until(lambda: not old_dir.exists(), 20.0, "broker 1 to delete moving-0")


def test_reassignment_in_progress_is_listed_and_can_be_cancelled(make_cluster):
    c = start_three(make_cluster, {"auto.leader.rebalance.enable": "false"})
    create_assigned(c, "stay", [1])
    c.node(3).stop()  # broker 3 cannot catch up: the move stays in progress
    via = c.node(2)
    assert reassign(c, "stay", [3], via) == 0
    cl.wait_until(lambda: list_reassignments(c, via) == [("stay", 0, [3, 1], [3], [1])], 15.0,
                  "the reassignment to be listed")
    assert reassign(c, "stay", None, via) == 0
    assert list_reassignments(c, via) == []
    live = [b for b in c.brokers if b.alive()]
    cl.wait_until(lambda: all(partition_state(c, b, "stay")["ReplicaNodes"] == [1] for b in live), 15.0,
                  "the replicas to revert to [1]")
    assert reassign(c, "stay", [9], via) == 39  # INVALID_REPLICA_ASSIGNMENT: no broker 9


def test_preferred_leader_election_after_the_leader_moved(make_cluster):
    c = start_three(make_cluster, {"auto.leader.rebalance.enable": "false"})
    create_assigned(c, "pref", [1, 2, 3])
    before = wait_partition(c, "pref", lambda p: p["LeaderId"] == 1, "broker 1 to lead pref-0")
    via = c.node(3)
    # Same replicas in another order: completes at once, the leader stays.
    assert reassign(c, "pref", [2, 3, 1], via) == 0
    wait_partition(c, "pref", lambda p: p["ReplicaNodes"] == [2, 3, 1] and p["LeaderId"] == 1,
                   "the replicas to be reordered")
    assert elect_preferred(c, "pref", via) == 0
    after = wait_partition(c, "pref", lambda p: p["LeaderId"] == 2, "broker 2 to lead pref-0")
    assert after["LeaderEpoch"] > before["LeaderEpoch"]
    assert elect_preferred(c, "pref", via) == 84  # ELECTION_NOT_NEEDED


def test_auto_leader_rebalance_moves_leadership_to_the_preferred_replica(make_cluster):
    c = start_three(make_cluster, {"auto.leader.rebalance.enable": "true",
                                   "leader.imbalance.check.interval.seconds": "1"})
    create_assigned(c, "auto", [1, 2, 3])
    wait_partition(c, "auto", lambda p: p["LeaderId"] == 1, "broker 1 to lead auto-0")
    assert reassign(c, "auto", [3, 1, 2], c.node(2)) == 0
    wait_partition(c, "auto", lambda p: p["ReplicaNodes"] == [3, 1, 2] and p["LeaderId"] == 3,
                   "the balancer to move the leadership to broker 3", timeout=20.0)


def test_consumer_fetch_goes_to_a_follower_in_its_rack(make_cluster):
    """KIP-392: replica.selector.class=RackAwareReplicaSelector, one rack per
    broker. The leader answers a Fetch v11 from a consumer in a follower's
    rack with that follower as preferred read replica and no records; the
    follower serves the consumer's fetch up to its high watermark."""
    c = make_cluster(["broker,controller"] * 3, extra={
        "auto.leader.rebalance.enable": "false",
        "replica.selector.class": "org.apache.kafka.common.replica.RackAwareReplicaSelector"})
    for n in c.nodes:
        with open(n.config_path, "a") as f:
            f.write(f"broker.rack=rack{n.node_id}\n")
    c.format()
    c.start()
    c.active_controller(ELECTION_S)
    cl.wait_until(lambda: all(c.broker_ids(b) == [1, 2, 3] for b in c.brokers), 20.0, "every broker registered")
    create_assigned(c, "near", [1, 2, 3])

    from kafka import KafkaProducer
    producer = KafkaProducer(bootstrap_servers=c.node(1).bootstrap, acks="all", linger_ms=5)
    for i in range(100):
        producer.send("near", f"near-{i}".encode(), partition=0)
    producer.flush(30)
    producer.close(10)
    wait_partition(c, "near", lambda p: p["LeaderId"] == 1 and sorted(p["IsrNodes"]) == [1, 2, 3],
                   "a full ISR")

    def fetch(n: cl.Node, rack: str) -> dict:
        body = c.call(n, n.port, "Fetch", 11, {
            "ReplicaId": -1, "MaxWaitMs": 0, "MinBytes": 1, "MaxBytes": 1 << 20, "IsolationLevel": 0,
            "SessionId": 0, "SessionEpoch": -1,
            "Topics": [{"Topic": "near", "Partitions": [{
                "Partition": 0, "CurrentLeaderEpoch": -1, "FetchOffset": 0, "LogStartOffset": -1,
                "PartitionMaxBytes": 1 << 20}]}],
            "ForgottenTopicsData": [], "RackId": rack})
        return body["Responses"][0]["Partitions"][0]

    part = {}

    def redirected():
        part["leader"] = fetch(c.node(1), "rack2")
        return part["leader"]["ErrorCode"] == 0 and part["leader"]["PreferredReadReplica"] == 2
    cl.wait_until(redirected, 20.0, "the leader to name broker 2 for a consumer in rack2", lambda: f"{part}")
    assert not part["leader"]["Records"]
    own = fetch(c.node(1), "rack1")  # the leader's own rack: served by the leader
    assert own["PreferredReadReplica"] == -1 and own["Records"]
    follower = {}

    def served():
        follower["p"] = fetch(c.node(2), "rack2")
        return follower["p"]["ErrorCode"] == 0 and bool(follower["p"]["Records"])
    cl.wait_until(served, 20.0, "broker 2 to serve the consumer", lambda: f"{follower}")
    assert follower["p"]["HighWatermark"] == 100
