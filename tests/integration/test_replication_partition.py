"""A partition leader cut off by a network partition (issue 11, "Partition test").

Three combined nodes, each in its own network namespace (cluster.py's Netns),
a topic with replication factor 3 and min.insync.replicas=2, one partition
led by each node (manual assignment). The test isolates the leader of a
partition that is not the active controller, so the majority side keeps the
quorum and can fence it:
- acks=all writes sent to the isolated leader (from inside its namespace)
  are never acknowledged: its followers no longer fetch, so its high
  watermark cannot pass them;
- the majority elects a new leader from the ISR with a higher leader epoch
  and acknowledges acks=all writes from a real idempotent producer;
- after the heal the old leader follows the new one: it truncates the tail
  nobody acknowledged, catches up and rejoins the ISR; its own segment files
  then hold exactly what the new leader serves;
- a consumer of the leader reads every acknowledged record exactly once, in
  the order acknowledged, and none of the unacknowledged ones.
"""

from __future__ import annotations

import time

import pytest

import cluster as cl
import replication_util as ru
from replication_util import make_cluster  # noqa: F401  (fixture)

TOPIC = "partitioned"


@pytest.mark.timeout(240)
def test_isolated_leader_cannot_ack_and_truncates_after_heal(make_cluster):  # noqa: F811
    c = make_cluster(["broker,controller"] * 3, netns=True, extra=dict(ru.REPLICATION))
    controller = ru.start_cluster(c)
    ids = [n.node_id for n in c.nodes]
    # Partition i is led by ids[i] when all is well (the preferred replica).
    assignment = [ids[i:] + ids[:i] for i in range(3)]
    ru.create_assigned_topic(c, c.nodes, TOPIC, assignment)
    for p in range(3):
        ru.wait_partition(c, c.nodes, TOPIC, p, lambda s: s["isr"] == sorted(ids) and s["leader"] in ids,
                          "a leader and the full ISR", timeout=30)

    # The partition whose leader is not the active controller.
    part = next(p for p in range(3) if assignment[p][0] != controller)
    before = ru.partition_state(c, c.nodes[0], TOPIC, part)
    old = c.node(before["leader"])
    assert old.node_id != controller, (before, controller)
    majority = [n for n in c.nodes if n is not old]

    acked, failed = ru.produce_acked(c, c.nodes, TOPIC, part, "before", 0, 40)
    assert not failed and len(acked) == 40, f"acks=all writes with every node up failed: {ru.failures(failed)}"

    c.isolate(old)
    try:
        # Writes reaching the isolated leader are not acknowledged.
        unacked = []
        for i in range(3):
            values = [f"unacked-{i}-{k}" for k in range(5)]
            code = ru.raw_produce(c, old, TOPIC, part, values, acks=-1, timeout_ms=1500, inside=True)
            assert code != ru.ERR_NONE, \
                f"the isolated leader {old.node_id} acknowledged an acks=all write (min.insync.replicas=2, " \
                f"its followers cut off)"
            unacked += values

        # The majority elects another leader from the ISR, in a higher epoch.
        t0 = time.monotonic()
        after = ru.wait_partition(
            c, majority, TOPIC, part,
            lambda s: s["leader"] in [n.node_id for n in majority] and s["epoch"] > before["epoch"],
            f"a leader other than {old.node_id} in an epoch above {before['epoch']}", timeout=30)
        print(f"new leader {after['leader']} (epoch {after['epoch']}) after {time.monotonic() - t0:.1f}s")

        more, failed = ru.produce_acked(c, majority, TOPIC, part, "during", 0, 40)
        assert not failed and len(more) == 40, f"acks=all writes on the majority side failed: {ru.failures(failed)}"
        acked += more

        # Still isolated, the old leader still cannot acknowledge anything.
        values = [f"unacked-late-{k}" for k in range(5)]
        code = ru.raw_produce(c, old, TOPIC, part, values, acks=-1, timeout_ms=1500, inside=True)
        assert code != ru.ERR_NONE, f"the isolated old leader {old.node_id} acknowledged an acks=all write"
        unacked += values
    finally:
        c.heal(old)

    # The old leader follows, catches up and is back in the ISR everywhere.
    # (Any leader will do: a preferred-leader election may already have
    # moved leadership back to the old leader once it caught up.)
    final = ru.wait_partition(
        c, c.nodes, TOPIC, part,
        lambda s: s["leader"] in ids and s["epoch"] >= after["epoch"] and s["isr"] == sorted(ids),
        f"a leader with node {old.node_id} back in the ISR", timeout=40)
    more, failed = ru.produce_acked(c, c.nodes, TOPIC, part, "after", 0, 20)
    assert not failed and len(more) == 20, f"acks=all writes after the heal failed: {ru.failures(failed)}"
    acked += more

    # What a consumer of the leader reads: every acknowledged record once,
    # in acknowledgement order, nothing else.
    leader = c.node(final["leader"])
    served = ru.fetch_all(c, leader, TOPIC, part)
    values = [v for _, v in served]
    ghosts = sorted(set(values) & set(unacked))
    assert not ghosts, f"records never acknowledged are in the log: {ghosts[:10]}"
    acked_in_order = [v for v, _ in sorted(acked, key=lambda a: a[1])]
    missing = sorted(set(acked_in_order) - set(values))
    assert not missing, f"{len(missing)} acknowledged records lost, e.g. {missing[:10]}"
    assert len(values) == len(set(values)), "a record appears twice in the log"
    assert values == acked_in_order, "the log is not the acknowledged records in acknowledgement order"
    assert [o for _, o in sorted(acked, key=lambda a: a[1])] == [o for o, _ in served], \
        "records are not at the offsets their acknowledgements named"

    # The old leader's own files: its unacknowledged tail is gone and it holds
    # what the leader serves (a prefix while it catches up on the last writes).
    local = []

    def replica_matches():
        local[:] = ru.segment_values(old, TOPIC, part)
        return local == served
    def mismatch() -> str:
        first = next((i for i, (x, y) in enumerate(zip(local, served)) if x != y), None)
        ghosts = sorted(set(v for _, v in local) & set(unacked))[:5]
        return f"old leader holds {len(local)} records (leader {len(served)}), unacknowledged ones {ghosts}, " \
               f"first difference at index {first}"
    cl.wait_until(replica_matches, 20, f"node {old.node_id}'s segments of {TOPIC}-{part} to equal the leader's",
                  mismatch)
