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

The last-replica case (KIP-966's eligible leader replicas; with or without
them the answer is the same): C dies and leaves the ISR, more writes are
acknowledged by {A, B}, B dies with its tail lost, so A is the last in-sync
replica and acks=all writes fail with NOT_ENOUGH_REPLICAS; then A dies too.
B (lost acknowledged records; an unclean shutdown takes it out of the ELR)
and C (never had the later records) restart: with unclean leader election
off neither may lead, the partition stays offline, until A returns and
leads with every acknowledged record.
"""

from __future__ import annotations

import time

import pytest

import cluster as cl
import replication_util as ru
from replication_util import make_cluster  # noqa: F401  (fixture)

TOPIC = "tail"
ERR_NOT_ENOUGH_REPLICAS = 19

# A broker session long enough that a restarted broker is back before the
# controller fences its previous incarnation: the case a controller must get
# right from the registration itself, not from the fencing.
EXTRA = dict(ru.REPLICATION, **{"broker.session.timeout.ms": 3000, "broker.heartbeat.interval.ms": 300})


def three_replicas(make_cluster):  # noqa: F811
    """One controller and brokers A, B, C; the topic's one partition with
    replicas [A, B, C], led by A with the full ISR. Returns (cluster, A, B,
    C, partition state)."""
    c = make_cluster(["controller", "broker", "broker", "broker"], extra=EXTRA)
    ru.start_cluster(c)
    a, b, cc = c.brokers
    ids = [a.node_id, b.node_id, cc.node_id]
    ru.create_assigned_topic(c, c.brokers, TOPIC, [ids])
    start = ru.wait_partition(c, c.brokers, TOPIC, 0, lambda s: s["leader"] == a.node_id and s["isr"] == sorted(ids),
                              f"leader {a.node_id} and the full ISR", timeout=30)
    return c, a, b, cc, start


def produce_all(c, via, prefix: str, count: int) -> list[tuple[str, int]]:
    acked, failed = ru.produce_acked(c, via, TOPIC, 0, prefix, 0, count)
    assert not failed and len(acked) == count, f"acks=all writes ({prefix}) failed: {ru.failures(failed)}"
    return acked


def wait_holds(c, nodes, values: list[str], timeout: float = 15) -> None:
    """Until each node's segments start with `values` (replicated there)."""
    held = {}

    def check():
        for n in nodes:
            held[n.node_id] = [v for _, v in ru.segment_values(n, TOPIC, 0)]
        return all(v[:len(values)] == values for v in held.values())
    cl.wait_until(check, timeout, f"nodes {[n.node_id for n in nodes]} to hold {len(values)} acknowledged records",
                  lambda: {k: len(v) for k, v in held.items()})


def lose_tail(b) -> None:
    """kill -9 and power loss; fails when nothing acknowledged was cut."""
    before = len(ru.segment_values(b, TOPIC, 0))
    b.kill9()
    rp, cut = ru.lose_unflushed_tail(b, TOPIC, 0)
    assert cut > 0 and len(ru.segment_values(b, TOPIC, 0)) < before, \
        f"the power loss cut nothing from node {b.node_id} (recovery point {rp}): the scenario needs " \
        f"acknowledged records that were not yet fsync'd on the follower"


@pytest.mark.timeout(180)
def test_follower_that_lost_its_tail_is_not_elected(make_cluster):  # noqa: F811
    c, a, b, cc, start = three_replicas(make_cluster)
    acked = produce_all(c, c.brokers, "acked", 60)
    acked_in_order = [v for v, _ in sorted(acked, key=lambda x: x[1])]
    # acks=all with the full ISR: both followers hold every record.
    wait_holds(c, [b, cc], acked_in_order)

    # B loses its unflushed tail; the leader A dies right after; B restarts.
    lose_tail(b)
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
    more = produce_all(c, [cc, b], "later", 20)
    want = served + sorted((o, v) for v, o in more)
    local = []

    def b_matches():
        local[:] = ru.segment_values(b, TOPIC, 0)
        return local == want
    cl.wait_until(b_matches, 20, f"node {b.node_id}'s segments to equal node {cc.node_id}'s log",
                  lambda: f"B holds {len(local)} records, C {len(want)}")


@pytest.mark.timeout(180)
def test_last_in_sync_replica_down_no_stale_or_tailless_replica_leads(make_cluster):  # noqa: F811
    c, a, b, cc, start = three_replicas(make_cluster)
    acked = produce_all(c, c.brokers, "first", 30)

    # C dies and leaves the ISR; {A, B} still meet min.insync.replicas.
    cc.kill9()
    ru.wait_partition(c, [a, b], TOPIC, 0,
                      lambda s: s["leader"] == a.node_id and s["isr"] == sorted([a.node_id, b.node_id]),
                      f"node {cc.node_id} out of the ISR", timeout=20)
    acked += produce_all(c, [a, b], "second", 30)
    acked_in_order = [v for v, _ in sorted(acked, key=lambda x: x[1])]
    wait_holds(c, [b], acked_in_order)

    # B dies with its tail lost: A is the last in-sync replica, below
    # min.insync.replicas, so acks=all writes are refused before the append.
    lose_tail(b)
    ru.wait_partition(c, [a], TOPIC, 0, lambda s: s["leader"] == a.node_id and s["isr"] == [a.node_id],
                      f"node {b.node_id} out of the ISR", timeout=20)
    code = ru.raw_produce(c, a, TOPIC, 0, ["refused-0", "refused-1"], acks=-1, timeout_ms=2000)
    assert code == ERR_NOT_ENOUGH_REPLICAS, f"acks=all with ISR [{a.node_id}] answered {code}, not NOT_ENOUGH_REPLICAS"

    # A dies; B and C come back, neither has every acknowledged record.
    a.kill9()
    t_kill = time.monotonic()
    c.restart(b)
    c.restart(cc)
    seen, bad = [], []
    while time.monotonic() - t_kill < 10:  # past both sessions and an election
        for n in (b, cc):
            s = ru.partition_state(c, n, TOPIC, 0)
            if s is None:
                continue
            seen.append((round(time.monotonic() - t_kill, 2), n.node_id, s["leader"], s["epoch"], s["isr"]))
            if s["leader"] in (b.node_id, cc.node_id):
                bad.append(seen[-1])
        time.sleep(0.2)
    assert not bad, f"a replica without every acknowledged record was elected (unclean leader election is off): " \
                    f"{bad[:5]}"
    assert any(s[2] == -1 for s in seen), f"the partition never showed as offline (leader -1): {seen[-6:]}"

    # A returns, leads, and nothing acknowledged is lost; the others catch up.
    c.restart(a)
    ru.wait_partition(c, c.brokers, TOPIC, 0, lambda s: s["leader"] == a.node_id,
                      f"node {a.node_id}, the last in-sync replica, to lead again", timeout=30)
    served = ru.fetch_all(c, a, TOPIC, 0)
    values = [v for _, v in served]
    missing = sorted(set(acked_in_order) - set(values))
    assert not missing, f"{len(missing)} acknowledged records lost, e.g. {missing[:10]}"
    assert [v for v in values if not v.startswith("refused-")] == acked_in_order, \
        "the log is not the acknowledged records, once each, in order"
    assert not any(v.startswith("refused-") for v in values), "a write refused with NOT_ENOUGH_REPLICAS was appended"
    ru.wait_partition(c, c.brokers, TOPIC, 0,
                      lambda s: s["leader"] == a.node_id and s["isr"] == sorted(n.node_id for n in c.brokers),
                      "every replica back in the ISR", timeout=30)
