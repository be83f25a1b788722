"""AlterPartition (issue 11) against a real three-node cluster.

The active controller serves AlterPartition v0-3 on its controller listener
(never on the broker listener), checks the sender's broker epoch, commits
the ISR change and answers with the partition's new state; stale partition
epochs, followers asking and ineligible members are refused with Kafka's
codes. The broker epochs come from each node's log line
"Registered with the active controller as broker epoch N".
"""

from __future__ import annotations

import re

import pytest

import cluster as cl
from test_cluster import WRITE_S, make_cluster, started  # noqa: F401 (fixture)

STALE_BROKER_EPOCH = 77
INVALID_REQUEST = 42
INVALID_UPDATE_VERSION = 95
INELIGIBLE_REPLICA = 107


def broker_epoch(n: cl.Node) -> int:
    found = re.findall(r"Registered with the active controller as broker epoch (\d+)", n.log_text())
    assert found, f"node {n.node_id} logged no registration"
    return int(found[-1])


def alter_partition(c: cl.Cluster, sender: int, epoch: int, topic_id, leader_epoch: int, partition_epoch: int,
                    isr: list[tuple[int, int]], timeout: float = 15.0) -> dict:
    """AlterPartition v3 to the active controller, retried while the answer
    is NOT_CONTROLLER (a controller moving)."""
    body = {
        "BrokerId": sender, "BrokerEpoch": epoch,
        "Topics": [{"TopicId": topic_id, "Partitions": [{
            "PartitionIndex": 0, "LeaderEpoch": leader_epoch, "PartitionEpoch": partition_epoch,
            "LeaderRecoveryState": 0,
            "NewIsrWithEpochs": [{"BrokerId": b, "BrokerEpoch": e} for b, e in isr]}]}],
    }
    answer = {}

    def attempt():
        ctl = c.node(c.active_controller(timeout)[0])
        try:
            answer["r"] = c.call(ctl, ctl.controller_port, "AlterPartition", 3, body)
        except cl.WIRE_ERRORS as e:
            answer["r"] = repr(e)
            return False
        return answer["r"]["ErrorCode"] != cl.ERROR_NOT_CONTROLLER
    cl.wait_until(attempt, timeout, "AlterPartition to reach the active controller", lambda: str(answer))
    return answer["r"]


@pytest.mark.timeout(120)
def test_alter_partition_on_the_active_controller(make_cluster):
    c = make_cluster(["broker,controller"] * 3)
    started(c)
    n0 = c.nodes[0]
    assert cl.api_range(n0.host, n0.controller_port, "AlterPartition") == (0, 3)
    assert cl.api_range(n0.host, n0.port, "AlterPartition") is None

    c.create_topic_until_ok(n0, "isr", timeout=WRITE_S, partitions=1, replication_factor=3)
    c.wait_topics_everywhere({"isr"})
    topic = c.metadata(n0, ["isr"])["Topics"][0]
    part = topic["Partitions"][0]
    leader, leader_epoch = part["LeaderId"], part["LeaderEpoch"]
    assert sorted(part["IsrNodes"]) == [1, 2, 3], part
    epochs = {n.node_id: broker_epoch(n) for n in c.nodes}
    follower = next(i for i in epochs if i != leader)

    # The sender's broker epoch must be its registered one.
    r = alter_partition(c, leader, epochs[leader] + 1000, topic["TopicId"], leader_epoch, 0, [(leader, -1)])
    assert r["ErrorCode"] == STALE_BROKER_EPOCH, r
    # Only the leader may change the ISR.
    r = alter_partition(c, follower, epochs[follower], topic["TopicId"], leader_epoch, 0, [(follower, -1)])
    assert r["Topics"][0]["Partitions"][0]["ErrorCode"] == INVALID_REQUEST, r
    # A member registered with another epoch is not eligible (KIP-903).
    r = alter_partition(c, leader, epochs[leader], topic["TopicId"], leader_epoch, 0,
                        [(leader, epochs[leader]), (follower, epochs[follower] + 1000)])
    assert r["Topics"][0]["Partitions"][0]["ErrorCode"] == INELIGIBLE_REPLICA, r

    # A shrink to the leader alone commits: new partition epoch, same leader epoch.
    r = alter_partition(c, leader, epochs[leader], topic["TopicId"], leader_epoch, 0, [(leader, epochs[leader])])
    assert r["ErrorCode"] == 0, r
    p = r["Topics"][0]["Partitions"][0]
    assert p["ErrorCode"] == 0, r
    assert (p["LeaderId"], p["LeaderEpoch"], p["Isr"], p["PartitionEpoch"]) == (leader, leader_epoch, [leader], 1), r
    # The same request again is now based on a stale partition epoch.
    r = alter_partition(c, leader, epochs[leader], topic["TopicId"], leader_epoch, 0, [(leader, epochs[leader])])
    assert r["Topics"][0]["Partitions"][0]["ErrorCode"] == INVALID_UPDATE_VERSION, r
