"""A follower that lost its unflushed tail is not elected over one that has it
(issue 11, "Unflushed tail"; KIP-966's unclean-shutdown case).

One dedicated controller and three brokers A, B, C (so two brokers can die
while the metadata quorum lives), a topic with replication factor 3,
min.insync.replicas=2, replicas assigned [A, B, C]: A leads and B comes
before C in the election order. Acknowledged writes reach all three. Then:
- B is kill -9'd and its power loss is played on its files (see
  replication_util.lose_unflushed_tail: the segments are cut back to the
  recovery point, what was fsync'd); the test checks the cut removed
  acknowledged records, so the scenario is real;
- A, the leader, is kill -9'd right after, and B restarts at once: B comes
  back with a new incarnation and without the data, possibly before the
  controller noticed either death, so it may still be listed in the ISR;
- the controller must elect C, which has every acknowledged record, and
  never B while C is alive (electing B would make C truncate to B's short
  log and lose acknowledged records);
- a consumer of C reads every acknowledged record exactly once, in order;
  B then catches up from C and acks=all writes go on with A still down.
"""

from __future__ import annotations

import time

import pytest

import cluster as cl
import replication_util as ru
from replication_util import make_cluster  # noqa: F401  (fixture)

TOPIC = "tail"


@pytest.mark.timeout(180)
def test_follower_that_lost_its_tail_is_not_elected(make_cluster):  # noqa: F811
    # A broker session long enough that B is back before the controller
    # fences its previous incarnation: the case a controller must get right
    # from the registration itself, not from the fencing.
    extra = dict(ru.REPLICATION, **{"broker.session.timeout.ms": 3000, "broker.heartbeat.interval.ms": 300})
    c = make_cluster(["controller", "broker", "broker", "broker"], extra=extra)
    ru.start_cluster(c)
    a, b, cc = c.brokers
    ids = [a.node_id, b.node_id, cc.node_id]
    ru.create_assigned_topic(c, c.brokers, TOPIC, [ids])
    start = ru.wait_partition(c, c.brokers, TOPIC, 0, lambda s: s["leader"] == a.node_id and s["isr"] == sorted(ids),
                              f"leader {a.node_id} and the full ISR", timeout=30)

    acked, failed = ru.produce_acked(c, c.brokers, TOPIC, 0, "acked", 0, 60)
    assert not failed and len(acked) == 60, f"acks=all writes with every broker up failed: {failed}"
    acked_in_order = [v for v, _ in sorted(acked, key=lambda x: x[1])]

    # acks=all with the full ISR: both followers hold every record.
    held = {}

    def replicated():
        for n in (b, cc):
            held[n.node_id] = [v for _, v in ru.segment_values(n, TOPIC, 0)]
        return all(v[:len(acked_in_order)] == acked_in_order for v in held.values())
    cl.wait_until(replicated, 15, "both followers' segments to hold every acknowledged record",
                  lambda: {k: len(v) for k, v in held.items()})

    # B loses its unflushed tail; the leader A dies right after; B restarts.
    b.kill9()
    rp, cut = ru.lose_unflushed_tail(b, TOPIC, 0)
    left = ru.segment_values(b, TOPIC, 0)
    assert cut > 0 and len(left) < len(acked_in_order), \
        f"the power loss cut nothing from node {b.node_id} (recovery point {rp}): the scenario needs acknowledged " \
        f"records that were not yet fsync'd on the follower"
    a.kill9()
    t_kill = time.monotonic()
    c.restart(b)

    # Watch the partition as B and C report it until C leads, and a while
    # after: B must never be the leader while C lives.
    seen = []
    b_led = []
    deadline = t_kill + 30
    settled_at = None
    while time.monotonic() < deadline:
        for n in (cc, b):
            s = ru.partition_state(c, n, TOPIC, 0)
            if s is None:
                continue
            seen.append((round(time.monotonic() - t_kill, 2), n.node_id, s["leader"], s["epoch"], s["isr"]))
            if s["leader"] == b.node_id and s["epoch"] > start["epoch"]:
                b_led.append(seen[-1])
            if n is cc and s["leader"] == cc.node_id and settled_at is None:
                settled_at = time.monotonic()
        if settled_at is not None and time.monotonic() - settled_at > 3:
            break
        time.sleep(0.1)
    assert not b_led, f"node {b.node_id}, which lost acknowledged records, was elected while node {cc.node_id} " \
                      f"had them: {b_led[:5]}"
    assert settled_at is not None, f"node {cc.node_id} (every acknowledged record) was not elected within 30 s " \
                                   f"of the leader's death; seen (s, asked, leader, epoch, isr): {seen[-10:]}"
    print(f"node {cc.node_id} leads {settled_at - t_kill:.1f}s after the kill")

    served = ru.fetch_all(c, cc, TOPIC, 0)
    values = [v for _, v in served]
    missing = sorted(set(acked_in_order) - set(values))
    assert not missing, f"{len(missing)} acknowledged records lost, e.g. {missing[:10]}"
    assert values == acked_in_order, "the log is not the acknowledged records, once each, in order"

    # B truncates to C's log, catches up and rejoins the ISR; then acks=all
    # writes succeed with A still down (ISR {B, C} meets min.insync.replicas).
    ru.wait_partition(c, [cc, b], TOPIC, 0,
                      lambda s: s["leader"] == cc.node_id and s["isr"] == sorted([b.node_id, cc.node_id]),
                      f"node {b.node_id} back in the ISR under leader {cc.node_id}", timeout=30)
    more, failed = ru.produce_acked(c, [cc, b], TOPIC, 0, "later", 0, 20)
    assert not failed and len(more) == 20, f"acks=all writes with ISR {{B, C}} failed: {failed}"
    want = served + sorted(((o, v) for v, o in more))
    local = []

    def b_matches():
        local[:] = ru.segment_values(b, TOPIC, 0)
        return local == want
    cl.wait_until(b_matches, 20, f"node {b.node_id}'s segments to equal node {cc.node_id}'s log",
                  lambda: f"B holds {len(local)} records, C {len(want)}")
