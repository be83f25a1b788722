"""Several samsa processes as one KRaft cluster (issue 10, "Real processes").

Each test starts its own cluster with tests/integration/cluster.py on fresh
loopback ports (or, for the partition test, in network namespaces it
creates), with short quorum timeouts, and stops it at the end:
- three combined nodes: stock clients see three brokers, a topic created
  through any node appears on every node;
- kill -9 of the active controller ten times in a row: a new one is elected
  and CreateTopics through a survivor succeeds; nothing created is lost;
- the active controller isolated (minority): it stops acting as leader, the
  majority elects another and accepts writes, after the heal the old leader
  follows and its __cluster_metadata matches up to the high watermark;
- three dedicated controllers + two broker-only nodes;
- a dynamic quorum (KIP-853): formatted with --initial-controllers, a voter
  added with AddRaftVoter and removed with RemoveRaftVoter.
"""

from __future__ import annotations

import json
import shutil
import time

import pytest

import cluster as cl
from conftest import run

ELECTION_S = 15.0  # bound on an election with SHORT_QUORUM (a few timeouts)
WRITE_S = 15.0  # bound on a metadata write succeeding once a leader exists


@pytest.fixture
def make_cluster(tmp_path, request):
    """make_cluster(roles, **Cluster kwargs): a Cluster, stopped at teardown.
    Its nodes' logs are attached to the report of a failing test."""
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


def started(c: cl.Cluster, registered: bool = True) -> tuple[int, int]:
    """Format, start, and wait for a leader and (when `registered`) for every
    broker to see every broker: (leader id, epoch). The quorum tests (kill -9,
    partition) need only the quorum, not the brokers' registrations."""
    c.format()
    c.start()
    leader = c.active_controller(ELECTION_S)
    if registered:
        wait_brokers_registered(c)
    return leader


def wait_brokers_registered(c: cl.Cluster, timeout: float = 20.0) -> None:
    want = sorted(b.node_id for b in c.brokers)
    seen = {}

    def check():
        for b in c.brokers:
            try:
                seen[b.node_id] = c.broker_ids(b)
            except cl.WIRE_ERRORS as e:
                seen[b.node_id] = repr(e)
        return all(v == want for v in seen.values())
    cl.wait_until(check, timeout, f"every broker to list brokers {want}", lambda: f"seen: {seen}")


def kcat_metadata(bootstrap: str) -> dict:
    if shutil.which("kcat") is None:
        pytest.fail("kcat is not installed (tools/install-deps.sh installs it)", pytrace=False)
    res = run(["kcat", "-b", bootstrap, "-m", "10", "-L", "-J"], timeout=30)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


# --------------------------------------------------------------------------

def test_three_combined_nodes_seen_by_stock_clients(make_cluster):
    c = make_cluster(["broker,controller"] * 3)
    leader, _ = started(c)
    ids = [1, 2, 3]
    assert leader in ids

    md = kcat_metadata(",".join(n.bootstrap for n in c.nodes))
    assert sorted(b["id"] for b in md["brokers"]) == ids, md
    assert {b["id"]: b["name"] for b in md["brokers"]} == {n.node_id: n.bootstrap for n in c.nodes}

    from confluent_kafka.admin import AdminClient
    for n in c.nodes:  # each node alone tells the client about all three
        admin = AdminClient({"bootstrap.servers": n.bootstrap, "socket.timeout.ms": 10000})
        cmd = admin.list_topics(timeout=10)
        assert sorted(cmd.brokers) == ids
        assert cmd.cluster_id == c.cluster_id
        assert cmd.controller_id in ids
        del admin

    from kafka.admin import KafkaAdminClient
    kadmin = KafkaAdminClient(bootstrap_servers=c.nodes[1].bootstrap, request_timeout_ms=10000,
                              api_version_auto_timeout_ms=5000)
    try:
        desc = kadmin.describe_cluster()
    finally:
        kadmin.close()
    assert sorted(b["node_id"] for b in desc["brokers"]) == ids, desc
    assert desc["cluster_id"] == c.cluster_id

    # A topic created through each node appears in every node's Metadata.
    names = set()
    for n in c.nodes:
        name = f"via-node-{n.node_id}"
        c.create_topic_until_ok(n, name, timeout=WRITE_S, through=[n], partitions=3)
        names.add(name)
    c.wait_topics_everywhere(names, timeout=15)
    for n in c.nodes:
        parts = {t["Name"]: len(t["Partitions"]) for t in c.metadata(n, sorted(names))["Topics"]}
        assert parts == {name: 3 for name in names}, (n.node_id, parts)
    # And stock clients see them through any node.
    md = kcat_metadata(c.nodes[2].bootstrap)
    assert names <= {t["topic"] for t in md["topics"]}, md


@pytest.mark.timeout(170)
def test_kill9_of_the_active_controller_ten_times(make_cluster):
    c = make_cluster(["broker,controller"] * 3)
    leader, epoch = started(c, registered=False)
    created = []
    failovers = []
    for i in range(10):
        old = c.node(leader)
        old.kill9()
        t0 = time.monotonic()
        leader, new_epoch = c.active_controller(ELECTION_S, exclude={old.node_id})
        assert new_epoch > epoch, f"round {i}: epoch went from {epoch} to {new_epoch}"
        epoch = new_epoch
        # Through a survivor that is not the new leader: exercises forwarding.
        survivors = [n for n in c.nodes if n.alive()]
        via = next((n for n in survivors if n.node_id != leader), survivors[0])
        name = f"after-kill-{i}"
        c.create_topic_until_ok(via, name, timeout=WRITE_S, through=survivors)
        failovers.append(round(time.monotonic() - t0, 2))
        created.append(name)
        c.restart(old)
        # The restarted node catches up (from its own log and the leader).
        c.wait_topics_everywhere({name}, timeout=20, nodes=[old])
    # No metadata lost: every topic on every node, the restarted ones included.
    c.wait_topics_everywhere(set(created), timeout=30)
    print("kill -9 -> CreateTopics ok, seconds:", failovers)


def test_isolated_leader_steps_down_and_rejoins(make_cluster):
    c = make_cluster(["broker,controller"] * 3, netns=True)
    leader, epoch = started(c, registered=False)
    old = c.node(leader)
    majority = [n for n in c.nodes if n is not old]
    c.create_topic_until_ok(majority[0], "before-partition", timeout=WRITE_S, through=c.nodes)

    c.isolate(old)
    new, new_epoch = c.active_controller(ELECTION_S, among=majority, exclude={old.node_id})
    assert new_epoch > epoch

    # The old leader stops acting as leader (check-quorum): asked from inside
    # its own namespace, it no longer answers DescribeQuorum as the leader of
    # its epoch, and it commits no metadata write.
    cl.wait_until(lambda: c.claims_leadership(old, epoch, inside=True) is False, ELECTION_S,
                  f"isolated node {old.node_id} to stop leading epoch {epoch}",
                  lambda: f"claims: {c.claims_leadership(old, epoch, inside=True)}, "
                          f"quorum-state: {c.quorum_state(old)}")
    try:
        code = c.create_topic(old, "on-the-minority", timeout_ms=2000, inside=True)
    except cl.WIRE_ERRORS:
        code = None  # no answer is fine too
    assert code != cl.ERROR_NONE, "the isolated minority committed a metadata write"

    # The majority accepts writes.
    c.create_topic_until_ok(majority[0], "during-partition", timeout=WRITE_S, through=majority)

    c.heal(old)
    # The old leader follows the new one and catches up.
    c.wait_topics_everywhere({"before-partition", "during-partition"}, timeout=30)
    leader_now, _ = c.active_controller(ELECTION_S)
    qs = c.quorum_state(old)
    assert qs is not None and qs.get("leaderEpoch", 0) >= new_epoch, qs
    assert "on-the-minority" not in c.topics(majority[0])

    # Same records up to the high watermark on the old leader and the others.
    lead = c.node(leader_now)
    dq = c.describe_quorum(lead)
    hw = dq["HighWatermark"] if dq else min(b[1] for b in [cl.metadata_batches(n)[-1] for n in c.nodes]) + 1

    def logs_match():
        ref = {b[0]: b for b in cl.metadata_batches(lead) if b[1] < hw}
        mine = {b[0]: b for b in cl.metadata_batches(old) if b[1] < hw}
        common = set(ref) & set(mine)
        if not mine or max(b[1] for b in mine.values()) < max(b[1] for b in ref.values()):
            return False  # not caught up yet
        return all(ref[o] == mine[o] for o in common)
    cl.wait_until(logs_match, 15, f"node {old.node_id}'s __cluster_metadata to match node {lead.node_id}'s "
                  f"below {hw}",
                  lambda: f"leader {cl.metadata_batches(lead)[-5:]} old {cl.metadata_batches(old)[-5:]}")


def test_dedicated_controllers_and_broker_only_nodes(make_cluster):
    c = make_cluster(["controller"] * 3 + ["broker"] * 2)
    leader, _ = started(c)
    assert leader in (1, 2, 3)
    brokers = c.brokers
    assert [b.node_id for b in brokers] == [4, 5]

    from confluent_kafka.admin import AdminClient
    admin = AdminClient({"bootstrap.servers": brokers[0].bootstrap, "socket.timeout.ms": 10000})
    md = admin.list_topics(timeout=10)
    assert sorted(md.brokers) == [4, 5]  # controllers are never shown to clients
    del admin

    c.create_topic_until_ok(brokers[0], "dedicated", timeout=WRITE_S, through=[brokers[0]], partitions=2)
    c.wait_topics_everywhere({"dedicated"}, timeout=15)

    # Records go to the partition leaders (on the brokers) and come back.
    from confluent_kafka import Consumer, Producer
    bootstrap = ",".join(b.bootstrap for b in brokers)
    p = Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 15000})
    for i in range(20):
        p.produce("dedicated", value=f"m{i}".encode(), partition=i % 2)
    assert p.flush(20) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "dedicated-g",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    try:
        consumer.subscribe(["dedicated"])
        got = set()
        deadline = time.monotonic() + 20
        while len(got) < 20 and time.monotonic() < deadline:
            m = consumer.poll(0.5)
            if m is not None and m.error() is None:
                got.add(m.value().decode())
    finally:
        consumer.close()
    assert got == {f"m{i}" for i in range(20)}


def test_dynamic_quorum_add_then_remove_a_voter(make_cluster):
    c = make_cluster(["broker,controller"] * 4, dynamic_quorum=True)
    initial = c.nodes[:3]
    extra = c.nodes[3]
    dir_ids = c.format_dynamic(initial)
    c.start()
    leader, _ = c.active_controller(ELECTION_S, among=initial)
    lead = c.node(leader)

    def voters() -> list[int]:
        dq = c.describe_quorum(c.node(c.active_controller(ELECTION_S, among=c.controllers)[0]))
        assert dq is not None, "DescribeQuorum is not answered"
        return sorted(v["ReplicaId"] for v in dq["CurrentVoters"])
    assert voters() == [1, 2, 3]
    assert dir_ids[1] == c.directory_id(c.nodes[0])

    # The new controller fetches as an observer first, then joins.
    body = c.call(lead, lead.controller_port, "AddRaftVoter", 0, {
        "ClusterId": c.cluster_id, "TimeoutMs": 10000, "VoterId": extra.node_id,
        "VoterDirectoryId": cl.uuid_bytes(c.directory_id(extra)),
        "Listeners": [{"Name": "CONTROLLER", "Host": extra.host, "Port": extra.controller_port}]}, timeout=15)
    assert body["ErrorCode"] == 0, body
    cl.wait_until(lambda: voters() == [1, 2, 3, 4], 15, "node 4 to be a voter", lambda: str(voters()))
    c.create_topic_until_ok(c.nodes[0], "with-four-voters", timeout=WRITE_S)

    leader, _ = c.active_controller(ELECTION_S)
    lead = c.node(leader)
    body = c.call(lead, lead.controller_port, "RemoveRaftVoter", 0, {
        "ClusterId": c.cluster_id, "VoterId": extra.node_id,
        "VoterDirectoryId": cl.uuid_bytes(c.directory_id(extra))}, timeout=15)
    assert body["ErrorCode"] == 0, body
    cl.wait_until(lambda: voters() == [1, 2, 3], 15, "node 4 to leave the voters", lambda: str(voters()))
    c.create_topic_until_ok(c.nodes[1], "with-three-voters", timeout=WRITE_S)
    c.wait_topics_everywhere({"with-four-voters", "with-three-voters"}, timeout=15)


def test_standalone_formatted_controller_leads_alone(make_cluster):
    """No controller.quorum.voters: the voter set comes from the bootstrap
    snapshot `storage format --standalone` wrote."""
    c = make_cluster(["broker,controller"], dynamic_quorum=True)
    c.format(flags={1: ["--standalone"]})
    c.start()
    leader, epoch = c.active_controller(ELECTION_S)
    assert leader == 1 and epoch >= 1
    dq = c.describe_quorum(c.nodes[0])
    assert dq is not None, "DescribeQuorum is not answered"
    assert [v["ReplicaId"] for v in dq["CurrentVoters"]] == [1], dq
    c.create_topic_until_ok(c.nodes[0], "standalone", timeout=WRITE_S)
    assert "standalone" in c.topics(c.nodes[0])


def test_voter_restarted_on_another_port_updates_its_endpoint(make_cluster):
    """KIP-853 UpdateRaftVoter: a voter of a dynamic quorum restarted on a
    new controller port asks the leader to record it; DescribeQuorum v2
    then shows the new port and the quorum still commits."""
    c = make_cluster(["broker,controller"] * 3, dynamic_quorum=True)
    c.format_dynamic(c.nodes)
    c.start()
    leader, _ = c.active_controller(ELECTION_S)
    moved = next(n for n in c.nodes if n.node_id != leader)
    old_port = moved.controller_port
    moved.stop()
    moved.controller_port = cl.free_port()
    assert moved.controller_port != old_port
    c.write_configs()
    c.restart(moved)

    def endpoint_ports() -> dict:
        lead = c.node(c.active_controller(ELECTION_S)[0])
        body = c.call(lead, lead.controller_port, "DescribeQuorum", 2,
                      {"Topics": [{"TopicName": "__cluster_metadata", "Partitions": [{"PartitionIndex": 0}]}]},
                      timeout=5)
        return {n["NodeId"]: [l["Port"] for l in n["Listeners"]] for n in body.get("Nodes", [])}
    cl.wait_until(lambda: endpoint_ports().get(moved.node_id) == [moved.controller_port], 20,
                  f"node {moved.node_id}'s new controller port in the voter set", lambda: str(endpoint_ports()))
    c.create_topic_until_ok(c.nodes[0], "after-move", timeout=WRITE_S)
    c.wait_topics_everywhere({"after-move"}, timeout=15)
