"""Process roles and the KIP-631 broker lifecycle across real processes.

Three combined nodes: every node's broker role registers with the active
controller (BrokerRegistration) and all three are listed as brokers; a
kill -9'd broker stops heartbeating, is fenced after broker.session.timeout.ms
(Metadata no longer lists it, its partitions answer LEADER_NOT_AVAILABLE) and
is listed again once restarted; stopped with SIGTERM, it is fenced by its
controlled shutdown at once. Three controller-only nodes and two
broker-only nodes: clients see exactly the two brokers and produce and
consume through both."""
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

import kafka_wire as kw
from conftest import port_open

SESSION_TIMEOUT_MS = 3000
HEARTBEAT_MS = 500
LEADER_NOT_AVAILABLE = 5


def node_properties(b, roles: str, voters: str) -> str:
    lines = [
        f"process.roles={roles}",
        f"node.id={b.node_id}",
        f"controller.quorum.voters={voters}",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        f"log.dirs={b.log_dir}",
        f"broker.session.timeout.ms={SESSION_TIMEOUT_MS}",
        f"broker.heartbeat.interval.ms={HEARTBEAT_MS}",
        "offsets.topic.replication.factor=1",
    ]
    listeners = []
    if "broker" in roles:
        listeners.append(f"PLAINTEXT://127.0.0.1:{b.port}")
        lines += ["inter.broker.listener.name=PLAINTEXT", f"advertised.listeners=PLAINTEXT://127.0.0.1:{b.port}"]
    if "controller" in roles:
        listeners.append(f"CONTROLLER://127.0.0.1:{b.controller_port}")
    lines.append("listeners=" + ",".join(listeners))
    return "\n".join(lines) + "\n"


def describe_quorum(port: int):
    """DescribeQuorum v0 of __cluster_metadata-0 on a controller listener:
    (leader, voter ids, observer ids), or None from a controller that is
    not the leader (NOT_LEADER_OR_FOLLOWER, as Kafka answers)."""
    body = kw.uvarint(2) + kw.compact_string("__cluster_metadata")
    body += kw.uvarint(2) + kw.int32(0) + kw.empty_tagged_fields()  # partition 0
    body += kw.empty_tagged_fields() + kw.empty_tagged_fields()
    with kw.connect(port) as sock:
        sock.sendall(kw.frame(kw.request_header(55, 0, 7, flexible=True) + body))
        _, resp = kw.split_response_header(kw.read_frame(sock), flexible_header=True)
    r = kw.Reader(resp)
    assert r.int16() == 0
    assert r.array_len(True) == 1 and r.compact_string() == "__cluster_metadata"
    assert r.array_len(True) == 1
    assert r.int32() == 0  # partition
    error = r.int16()
    if error == 6:
        return None
    assert error == 0, error
    leader = r.int32()
    r.int32(); r.int64()  # leader epoch, high watermark

    def replicas():
        ids = []
        for _ in range(r.array_len(True)):
            ids.append(r.int32())
            r.int64()
            r.tagged_fields()
        return set(ids)

    voters, observers = replicas(), replicas()
    return leader, voters, observers


def make_cluster(broker_factory, layout):
    """layout: [(node_id, roles)]. Formats every node with one cluster id
    and starts them all; returns the nodes (not yet waited for)."""
    nodes = [broker_factory.create(node_id=i, format=False, start=False) for i, _ in layout]
    voters = ",".join(f"{b.node_id}@127.0.0.1:{b.controller_port}"
                      for b, (_, roles) in zip(nodes, layout) if "controller" in roles)
    cluster_id = None
    for b, (_, roles) in zip(nodes, layout):
        b.roles = roles
        b.config_path.write_text(node_properties(b, roles, voters))
        b.format(cluster_id)
        cluster_id = b.cluster_id
    for b in nodes:
        b.start(wait=False)
    for b in nodes:
        wait_ready(b)
    return nodes


def wait_ready(b, timeout: float = 60.0):
    """A broker is ready when its broker listener accepts (after it was
    unfenced); a controller-only node when its controller listener does."""
    port = b.port if "broker" in b.roles else b.controller_port
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert b.proc.poll() is None, f"node {b.node_id} exited during start-up:\n{b.log_text()}"
        if port_open(port):
            return
        time.sleep(0.1)
    pytest.fail(f"node {b.node_id} not ready within {timeout}s:\n{b.log_text()}", pytrace=False)


def wait_for(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def admin(node) -> AdminClient:
    return AdminClient({"bootstrap.servers": node.bootstrap, "socket.timeout.ms": 5000})


def broker_ids(node) -> set:
    try:
        return set(admin(node).list_topics(timeout=5).brokers)
    except Exception:  # a node that is not up yet
        return set()


def partition_leaders(node, topic: str) -> dict:
    """partition -> (leader, error code or 0) as the node's Metadata answers."""
    md = admin(node).list_topics(topic=topic, timeout=5).topics[topic]
    return {p.id: (p.leader, p.error.code() if p.error else 0) for p in md.partitions.values()}


def create_topic(node, name: str, partitions: int):
    client = admin(node)  # kept alive until the answer is in
    futures = client.create_topics([NewTopic(name, partitions, 1)], operation_timeout=15)
    futures[name].result(timeout=30)


def test_three_combined_nodes_are_brokers_and_a_dead_one_is_fenced(broker_factory):
    nodes = make_cluster(broker_factory, [(i, "broker,controller") for i in (1, 2, 3)])
    for b in nodes:
        assert wait_for(lambda b=b: broker_ids(b) == {1, 2, 3}, 20), f"node {b.node_id} lists {broker_ids(b)}"

    # Placement spreads over the three registered brokers.
    create_topic(nodes[2], "spread", 6)
    for b in nodes:
        assert wait_for(lambda b=b: len(partition_leaders(b, "spread")) == 6, 15)
    leaders = partition_leaders(nodes[0], "spread")
    assert {leader for leader, _ in leaders.values()} == {1, 2, 3}, leaders

    # kill -9 of a broker that is not the active controller: its heartbeats
    # stop and the controller fences it after the session timeout.
    active = [b for b in nodes if "(this node: active controller)" in b.log_text()]
    assert active, "no node reported being the active controller"
    victim = next(b for b in reversed(nodes) if b is not active[-1])
    survivors = [b for b in nodes if b is not victim]
    victim.kill()
    killed_at = time.monotonic()
    for b in survivors:
        assert wait_for(lambda b=b: broker_ids(b) == {1, 2, 3} - {victim.node_id}, 15), \
            f"node {b.node_id} still lists {broker_ids(b)}"
    fenced_after = time.monotonic() - killed_at
    assert fenced_after < SESSION_TIMEOUT_MS / 1000 + 5, fenced_after
    # Its partitions have no other replica: no leader, LEADER_NOT_AVAILABLE
    # (Kafka's answer), while the others keep theirs.
    victims = {p for p, (leader, _) in leaders.items() if leader == victim.node_id}
    now = partition_leaders(survivors[0], "spread")
    for p, (leader, error) in now.items():
        if p in victims:
            assert (leader, error) == (-1, LEADER_NOT_AVAILABLE), (p, now)
        else:
            assert (leader, error) == (leaders[p][0], 0), (p, now)

    # Restarted, it registers a new incarnation, is unfenced and leads its
    # partitions again (it is their only ISR member).
    victim.start(wait=False)
    wait_ready(victim)
    for b in nodes:
        assert wait_for(lambda b=b: broker_ids(b) == {1, 2, 3}, 20), f"node {b.node_id} lists {broker_ids(b)}"
    assert wait_for(lambda: partition_leaders(nodes[0], "spread") == leaders, 15), \
        partition_leaders(nodes[0], "spread")

    # SIGTERM: a controlled shutdown through the heartbeat. The controller
    # moves its leaderships and fences it before the process exits, not a
    # session timeout later.
    rc, _ = victim.terminate()
    assert rc == 0, victim.log_text()
    assert "The controller granted the controlled shutdown" in victim.log_text()
    assert wait_for(lambda: broker_ids(survivors[0]) == {1, 2, 3} - {victim.node_id}, 1.5), \
        broker_ids(survivors[0])


def test_dedicated_controllers_and_broker_only_nodes(broker_factory):
    layout = [(1, "controller"), (2, "controller"), (3, "controller"), (4, "broker"), (5, "broker")]
    nodes = make_cluster(broker_factory, layout)
    controllers, brokers = nodes[:3], nodes[3:]
    # A controller-only node has no broker listener and never registers.
    for c in controllers:
        assert not port_open(c.port)
    # A broker-only node has no controller listener; it is an observer of
    # the quorum the controllers describe.
    for b in brokers:
        assert not port_open(b.controller_port)
    def from_leader():
        for c in controllers:
            q = describe_quorum(c.controller_port)
            if q and q[2] >= {4, 5}:
                return q
        return None

    quorum = wait_for(from_leader, 15)
    assert quorum, "no controller described the quorum with both observers"
    leader, voters, observers = quorum
    assert leader in {1, 2, 3} and voters == {1, 2, 3} and observers >= {4, 5}, quorum
    for b in brokers:
        assert wait_for(lambda b=b: broker_ids(b) == {4, 5}, 20), f"node {b.node_id} lists {broker_ids(b)}"

    # CreateTopics through a broker is forwarded to the active controller.
    topic = "roles-" + uuid.uuid4().hex[:8]
    create_topic(brokers[0], topic, 4)
    for b in brokers:
        assert wait_for(lambda b=b: len(partition_leaders(b, topic)) == 4, 15)
    leaders = partition_leaders(brokers[1], topic)
    assert {leader for leader, _ in leaders.values()} == {4, 5}, leaders
    assert all(error == 0 for _, error in leaders.values()), leaders

    # Produce through one broker and consume through the other: each client
    # bootstraps from one node and reaches both leaders.
    producer = Producer({"bootstrap.servers": brokers[0].bootstrap, "acks": "all"})
    for i in range(40):
        producer.produce(topic, key=str(i).encode(), value=f"v{i}".encode())
    assert producer.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": brokers[1].bootstrap, "group.id": "roles",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    got = set()
    deadline = time.monotonic() + 30
    try:
        while len(got) < 40 and time.monotonic() < deadline:
            m = consumer.poll(0.5)
            if m is not None and not m.error():
                got.add(m.value().decode())
    finally:
        consumer.close()
    assert got == {f"v{i}" for i in range(40)}
