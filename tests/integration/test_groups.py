"""Consumer groups with stock clients: librdkafka (confluent-kafka and kcat),
kafka-python, and the broker restarting under a group (the admin side is in
test_group_admin.py).

Consumers here commit synchronously after every batch they process. The
checks are the same everywhere: no partition is owned by two members at once,
no record is skipped, a record is delivered twice only if the commit after its
first delivery failed, and restarted consumers start exactly at the
committed offsets.
"""

from __future__ import annotations

import json
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

import pytest

import kafka_wire as kw
from conftest import run

GROUP_OVERRIDES = ["group.initial.rebalance.delay.ms=0", "group.min.session.timeout.ms=1000"]
SESSION_MS = 6000


@pytest.fixture
def gbroker(broker_factory):
    b = broker_factory.create(overrides=GROUP_OVERRIDES)
    assert kw.max_version(b.port, "JoinGroup") is not None, "the broker must serve the group APIs"
    return b


def create_topic(broker, name: str, partitions: int) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)], request_timeout=15)[name].result(timeout=20)
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": broker.bootstrap})
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        t = p.list_topics(topic=name, timeout=5).topics.get(name)
        if t is not None and t.error is None and len(t.partitions) == partitions and \
                all(pm.leader >= 0 for pm in t.partitions.values()):
            return
        time.sleep(0.1)
    raise AssertionError(f"topic {name} has no leaders after creation")


def value_of(p: int, o: int) -> bytes:
    return f"p{p}-o{o}".encode()


def produce(broker, topic: str, partitions: int, per_partition: int, start: int = 0) -> None:
    """per_partition records into each partition; record `o` of partition
    `p` has value value_of(p, o) (the topics are fresh, so o is its offset)."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5, "acks": "all",
                  "enable.idempotence": False})
    errors = []
    for o in range(start, start + per_partition):
        for part in range(partitions):
            p.produce(topic, key=f"k{o}".encode(), value=value_of(part, o), partition=part,
                      on_delivery=lambda e, m: errors.append(e) if e else None)
        p.poll(0)
    assert p.flush(30) == 0 and errors == []


def committed(broker, group: str, topic: str, partitions: int) -> dict[int, int]:
    with kw.SchemaConnection(broker.port) as c:
        err, got = kw.offset_fetch(c, group, {topic: list(range(partitions))})
    assert err == 0, err
    return {p: got[(topic, p)][0] for p in range(partitions)}


# --------------------------------------------------------------------------
# librdkafka consumers driven from one thread
# --------------------------------------------------------------------------

@dataclass
class Delivery:
    member: str
    partition: int
    offset: int
    value: bytes
    committed: bool | None = None  # did the synchronous commit after this batch succeed?


@dataclass
class Member:
    name: str
    consumer: object
    owned: set = field(default_factory=set)
    assigns: int = 0
    revokes: int = 0
    closed: bool = False
    ever_emptied: bool = False  # lost every partition after its first assignment


class LibrdkafkaGroup:
    """Consumers of one group in one process. Each poll consumes a batch and
    commits exactly the offsets after it, synchronously. Rebalance callbacks
    record ownership; an assignment of a partition another member still
    owns is a conflict."""

    def __init__(self, broker, group: str, topic: str, strategy: str = "range", conf: dict | None = None):
        self.broker, self.group, self.topic, self.strategy = broker, group, topic, strategy
        self.cooperative = strategy == "cooperative-sticky"
        self.conf = conf or {}
        self.members: list[Member] = []
        self.deliveries: list[Delivery] = []
        self.conflicts: list[str] = []
        self.commit_failures: list[str] = []

    def add(self, name: str, extra: dict | None = None) -> Member:
        from confluent_kafka import Consumer
        conf = {"bootstrap.servers": self.broker.bootstrap, "group.id": self.group, "client.id": name,
                "enable.auto.commit": False, "auto.offset.reset": "earliest",
                "session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": 300,
                "partition.assignment.strategy": self.strategy, "fetch.wait.max.ms": 50,
                "topic.metadata.refresh.interval.ms": 2000, **self.conf, **(extra or {})}
        m = Member(name, Consumer(conf))
        m.consumer.subscribe([self.topic], on_assign=lambda c, ps: self._on_assign(m, ps),
                             on_revoke=lambda c, ps: self._on_revoke(m, ps),
                             on_lost=lambda c, ps: self._on_revoke(m, ps))
        self.members.append(m)
        return m

    @property
    def active(self) -> list[Member]:
        return [m for m in self.members if not m.closed]

    def _on_assign(self, m: Member, partitions) -> None:
        new = {tp.partition for tp in partitions}
        for other in self.active:
            if other is not m and other.owned & new:
                self.conflicts.append(f"{m.name} was assigned {sorted(other.owned & new)} still owned by "
                                      f"{other.name}")
        m.owned = (m.owned | new) if self.cooperative else new
        m.assigns += 1

    def _on_revoke(self, m: Member, partitions) -> None:
        m.owned -= {tp.partition for tp in partitions}
        if not m.owned and m.assigns:
            m.ever_emptied = True
        m.revokes += 1

    def poll(self, m: Member, timeout: float = 0.05, max_messages: int = 500) -> int:
        from confluent_kafka import KafkaException, TopicPartition
        msgs = m.consumer.consume(num_messages=max_messages, timeout=timeout)
        batch, next_offsets = [], {}
        for msg in msgs:
            assert msg.error() is None, msg.error()
            d = Delivery(m.name, msg.partition(), msg.offset(), msg.value())
            batch.append(d)
            next_offsets[msg.partition()] = msg.offset() + 1
        if not batch:
            return 0
        ok = True
        try:
            res = m.consumer.commit(offsets=[TopicPartition(self.topic, p, o) for p, o in next_offsets.items()],
                                    asynchronous=False)
            bad = [tp for tp in res or [] if tp.error is not None]
            if bad:
                ok = False
                self.commit_failures.append(f"{m.name}: {bad}")
        except KafkaException as e:
            ok = False
            self.commit_failures.append(f"{m.name}: {e}")
        for d in batch:
            d.committed = ok
        self.deliveries.extend(batch)
        return len(batch)

    def poll_all(self, timeout: float = 0.05) -> int:
        return sum(self.poll(m, timeout) for m in self.active)

    def poll_until(self, cond, timeout: float, what: str, members: list | None = None,
                   max_messages: int = 500) -> float:
        """Poll (all active members, or `members`) until cond() holds; returns
        the seconds it took."""
        t0 = time.monotonic()
        while not cond():
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"not within {timeout}s: {what}; owned="
                                     f"{ {m.name: sorted(m.owned) for m in self.active} }, "
                                     f"{len(self.deliveries)} deliveries, conflicts={self.conflicts}")
            for m in members or self.active:
                self.poll(m, max_messages=max_messages)
        return time.monotonic() - t0

    def owned_by_each(self) -> list[int]:
        return sorted(len(m.owned) for m in self.active)

    def covers(self, partitions: int) -> bool:
        owned = [p for m in self.active for p in m.owned]
        return sorted(owned) == list(range(partitions))

    def close(self, m: Member) -> None:
        m.consumer.close()
        m.closed = True
        m.owned = set()

    def close_all(self) -> None:
        for m in self.active:
            self.close(m)

    def check(self, expected: set[tuple[int, int]]) -> None:
        """Every expected (partition, offset) delivered, nothing else, right
        values, and a second delivery only after a failed commit."""
        assert self.conflicts == [], self.conflicts
        got: dict[tuple[int, int], list[Delivery]] = {}
        for d in self.deliveries:
            assert d.value == value_of(d.partition, d.offset), d
            got.setdefault((d.partition, d.offset), []).append(d)
        missing = expected - set(got)
        extra = set(got) - expected
        assert not missing, f"{len(missing)} records never delivered, e.g. {sorted(missing)[:5]}"
        assert not extra, f"{len(extra)} unexpected records delivered, e.g. {sorted(extra)[:5]}"
        dups = {k: v for k, v in got.items() if len(v) > 1}
        wrong = {k: [(d.member, d.committed) for d in v] for k, v in dups.items()
                 if any(d.committed for d in v[:-1])}
        assert not wrong, (f"{len(wrong)} records delivered again although their commit succeeded, e.g. "
                           f"{list(wrong.items())[:5]}")


def expected_records(partitions: int, start: int, end: int) -> set[tuple[int, int]]:
    return {(p, o) for p in range(partitions) for o in range(start, end)}


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------

def test_three_librdkafka_consumers_share_six_partitions_and_take_over(gbroker):
    create_topic(gbroker, "six", 6)
    kw.wait_group_coordinator(gbroker.port, "g3")
    g = LibrdkafkaGroup(gbroker, "g3", "six", strategy="range")
    members = [g.add(f"c{i}") for i in range(3)]
    try:
        g.poll_until(lambda: g.owned_by_each() == [2, 2, 2] and g.covers(6), 30, "2 partitions each")
        # still so a moment later: the group has settled
        t_end = time.monotonic() + 1.0
        while time.monotonic() < t_end:
            g.poll_all()
        assert g.owned_by_each() == [2, 2, 2] and g.covers(6)
        owned = {m.name: set(m.owned) for m in members}

        produce(gbroker, "six", 6, 100)
        g.poll_until(lambda: len(g.deliveries) >= 600, 30, "first 600 records")
        for m in members:
            mine = {d.partition for d in g.deliveries if d.member == m.name}
            assert mine == owned[m.name], f"{m.name} read {mine}, owns {owned[m.name]}"

        # c2 reads part of its next records, commits them, and leaves
        produce(gbroker, "six", 6, 200, start=100)
        leaver = members[2]
        g.poll_until(lambda: sum(1 for d in g.deliveries if d.member == leaver.name) >= 200 + 50, 30,
                     "c2 reads some more", members=[leaver], max_messages=10)
        assert sum(1 for d in g.deliveries if d.member == leaver.name) < 200 + 100, "c2 read too far"
        left = set(leaver.owned)
        t0 = time.monotonic()
        g.close(leaver)
        took = g.poll_until(lambda: g.owned_by_each() == [3, 3] and g.covers(6), SESSION_MS / 1000,
                            "c0 and c1 take over c2's partitions within the session timeout")
        assert time.monotonic() - t0 < SESSION_MS / 1000, took
        assert left <= set().union(*(m.owned for m in g.active))
        c2_next = {p: 1 + max(d.offset for d in g.deliveries
                              if d.member == leaver.name and d.partition == p and d.committed)
                   for p in left}

        g.poll_until(lambda: len({(d.partition, d.offset) for d in g.deliveries}) >= 1800, 30, "all 1800 records")
        t_end = time.monotonic() + 1.0
        while time.monotonic() < t_end:
            g.poll_all()
        g.check(expected_records(6, 0, 300))
        for p in left:  # the new owner started exactly where c2 committed
            first = min(d.offset for d in g.deliveries if d.member != leaver.name and d.partition == p
                        and d.offset >= 100)
            assert first == c2_next[p], (p, first, c2_next[p])
        assert committed(gbroker, "g3", "six", 6) == {p: 300 for p in range(6)}
    finally:
        g.close_all()


def test_cooperative_sticky_consume_restart_and_broker_restart(gbroker):
    create_topic(gbroker, "coop", 6)
    produce(gbroker, "coop", 6, 300)
    kw.wait_group_coordinator(gbroker.port, "gc")

    g = LibrdkafkaGroup(gbroker, "gc", "coop", strategy="cooperative-sticky")
    first = g.add("c0")
    try:
        g.poll_until(lambda: len(g.deliveries) >= 300, 30, "c0 starts alone")
        assert first.owned == set(range(6))
        g.add("c1")
        g.add("c2")
        g.poll_until(lambda: g.owned_by_each() == [2, 2, 2] and g.covers(6)
                     and len({(d.partition, d.offset) for d in g.deliveries}) >= 1800, 60,
                     "three members, 2 partitions each, everything read")
        assert not first.ever_emptied, "cooperative rebalancing revoked all of c0's partitions"
        assert len(first.owned) == 2 and first.owned <= set(range(6))
        g.check(expected_records(6, 0, 300))
    finally:
        g.close_all()
    assert committed(gbroker, "gc", "coop", 6) == {p: 300 for p in range(6)}

    def resume(start: int, end: int) -> None:
        produce(gbroker, "coop", 6, end - start, start=start)
        r = LibrdkafkaGroup(gbroker, "gc", "coop", strategy="cooperative-sticky")
        r.add("r0")
        r.add("r1")
        try:
            # settled (both own 3) before closing: librdkafka 2.0.2 closes a cooperative member that owns
            # nothing without a LeaveGroup, which would leave it in the group for a session timeout
            r.poll_until(lambda: len(r.deliveries) >= 6 * (end - start) and r.owned_by_each() == [3, 3], 30,
                         f"records {start}..{end}, 3 partitions each")
            t_end = time.monotonic() + 1.0
            while time.monotonic() < t_end:
                r.poll_all()
            r.check(expected_records(6, start, end))
        finally:
            r.close_all()
        assert committed(gbroker, "gc", "coop", 6) == {p: end for p in range(6)}

    resume(300, 320)  # restarted consumers start at the committed offsets

    with kw.SchemaConnection(gbroker.port) as c:
        kw.wait_group_state(c, "gc", "Empty", timeout=SESSION_MS / 1000 + 3)
    rc, _ = gbroker.terminate()
    assert rc == 0
    gbroker.start()
    kw.wait_group_coordinator(gbroker.port, "gc")
    assert committed(gbroker, "gc", "coop", 6) == {p: 320 for p in range(6)}
    with kw.SchemaConnection(gbroker.port) as c:
        d = kw.describe_group(c, "gc")
        assert (d["ErrorCode"], d["GroupState"], d["ProtocolType"], d["Members"]) == (0, "Empty", "consumer", []), d
        _, groups = kw.list_groups(c)
        assert groups["gc"]["ProtocolType"] == "consumer"
    resume(320, 340)


def test_group_metadata_survives_broker_restart_raw(gbroker):
    """A Stable group's members, generation and assignment are persisted:
    after a restart the same member heartbeats in the same generation and
    SyncGroup hands back its assignment."""
    create_topic(gbroker, "meta", 2)
    kw.wait_group_coordinator(gbroker.port, "gm")
    m = kw.GroupMember(gbroker.port, "gm", topics=["meta"], instance_id="inst-1", client_id="restart-client")
    assert m.join()["ErrorCode"] == 0
    asg = kw.consumer_assignment({"meta": [0, 1]}, user_data=b"\x00\x01user")
    assert m.sync({m.member_id: asg})["ErrorCode"] == 0
    assert m.commit({("meta", 0): 17, ("meta", 1): 42}, metadata="meta-data") == {("meta", 0): 0, ("meta", 1): 0}
    with kw.SchemaConnection(gbroker.port) as c:
        before = kw.describe_group(c, "gm")
    m.close()

    rc, _ = gbroker.terminate()
    assert rc == 0
    gbroker.start()
    kw.wait_group_coordinator(gbroker.port, "gm")

    m2 = kw.GroupMember(gbroker.port, "gm", topics=["meta"], instance_id="inst-1", client_id="restart-client")
    m2.member_id, m2.generation, m2.protocol_name = m.member_id, m.generation, m.protocol_name
    with kw.SchemaConnection(gbroker.port) as c:
        after = kw.describe_group(c, "gm")
        assert after == before, (before, after)
        assert after["GroupState"] == "Stable" and after["Members"][0]["MemberAssignment"] == asg
        assert m2.heartbeat() == kw.ERR_NONE
        s = m2.sync()
        assert s["ErrorCode"] == 0 and s["Assignment"] == asg, s
        err, got = kw.offset_fetch(c, "gm", {"meta": [0, 1]})
        assert got == {("meta", 0): (17, "meta-data", 0), ("meta", 1): (42, "meta-data", 0)}
        # the generation is the old one: a new dynamic member makes it the next
        assert m2.heartbeat(GenerationId=m.generation + 1) == kw.ERR_ILLEGAL_GENERATION
    m2.close()


def test_session_and_rebalance_timeouts_raw(gbroker):
    """A member that stops heartbeating is removed after its session timeout
    and the others rebalance without it; a member that does not rejoin
    within the rebalance timeout is left out of the next generation."""
    from test_group_errors import form_group, sync_all
    create_topic(gbroker, "t", 2)  # form_group's members subscribe to `t`
    m1, m2 = form_group(gbroker.port, "gt", 2, session_timeout_ms=1500, rebalance_timeout_ms=1500)
    gen = m1.generation

    # m2 goes silent
    t0 = time.monotonic()
    while (err := m1.heartbeat()) == kw.ERR_NONE:
        assert time.monotonic() - t0 < 6, "m2's session never expired"
        time.sleep(0.1)
    took = time.monotonic() - t0
    assert err == kw.ERR_REBALANCE_IN_PROGRESS and 1.0 <= took <= 4.5, (err, took)
    r = m1.join()
    assert r["ErrorCode"] == 0 and r["GenerationId"] == gen + 1, r
    assert [m["MemberId"] for m in r["Members"]] == [m1.member_id]
    sync_all([m1])
    assert m2.heartbeat() == kw.ERR_UNKNOWN_MEMBER_ID

    # m3 joins; m1 keeps heartbeating but never rejoins
    m3 = kw.GroupMember(gbroker.port, "gt", session_timeout_ms=1500, rebalance_timeout_ms=1500)
    m3.send_join()
    assert m3.recv_join()["ErrorCode"] == kw.ERR_MEMBER_ID_REQUIRED
    t0 = time.monotonic()
    m3.send_join()
    r = None
    while r is None:
        assert m1.heartbeat() in (kw.ERR_NONE, kw.ERR_REBALANCE_IN_PROGRESS, kw.ERR_UNKNOWN_MEMBER_ID)
        if m3.conn.ready(0.2):
            r = m3.recv_join()
        assert time.monotonic() - t0 < 8, "the rebalance never completed"
    took = time.monotonic() - t0
    assert r["ErrorCode"] == 0 and r["GenerationId"] == gen + 2, r
    assert r["Leader"] == m3.member_id and [m["MemberId"] for m in r["Members"]] == [m3.member_id], r
    assert 1.0 <= took <= 5, took
    assert m1.heartbeat() == kw.ERR_UNKNOWN_MEMBER_ID
    for m in (m1, m2, m3):
        m.close()


def test_deleting_a_topic_deletes_its_committed_offsets(gbroker):
    """As in Kafka, DeleteTopics removes the topic's committed offsets from
    every group (and they stay gone across a restart and a re-creation)."""
    from confluent_kafka.admin import AdminClient
    create_topic(gbroker, "doomed", 2)
    create_topic(gbroker, "kept", 1)
    kw.wait_group_coordinator(gbroker.port, "gd")
    m = kw.GroupMember(gbroker.port, "gd")
    m.member_id, m.generation = "", -1  # a standalone commit
    assert m.commit({("doomed", 0): 5, ("doomed", 1): 6, ("kept", 0): 7}) == \
        {("doomed", 0): 0, ("doomed", 1): 0, ("kept", 0): 0}
    m.close()
    admin = AdminClient({"bootstrap.servers": gbroker.bootstrap})
    admin.delete_topics(["doomed"], request_timeout=15)["doomed"].result(timeout=20)
    with kw.SchemaConnection(gbroker.port) as c:
        deadline = time.monotonic() + 5
        while kw.offset_fetch(c, "gd", None)[1] != {("kept", 0): (7, "", 0)}:
            assert time.monotonic() < deadline, kw.offset_fetch(c, "gd", None)
            time.sleep(0.1)
    gbroker.terminate()
    gbroker.start()
    kw.wait_group_coordinator(gbroker.port, "gd")
    create_topic(gbroker, "doomed", 2)
    with kw.SchemaConnection(gbroker.port) as c:
        err, got = kw.offset_fetch(c, "gd", None)
        assert got == {("kept", 0): (7, "", 0)}, got


def test_kafka_python_group_consume_restart_and_broker_restart(gbroker):
    from kafka import KafkaConsumer
    from kafka.errors import CommitFailedError, KafkaError

    create_topic(gbroker, "kpg", 4)
    produce(gbroker, "kpg", 4, 250)
    kw.wait_group_coordinator(gbroker.port, "kpgroup")

    def run_group(n_consumers: int, expected: set, settle: float = 1.0) -> None:
        deliveries: list[tuple[int, int, bytes, bool]] = []
        lock = threading.Lock()
        stop = threading.Event()
        errors: list[str] = []

        def worker(i: int) -> None:
            c = KafkaConsumer("kpg", bootstrap_servers=gbroker.bootstrap, group_id="kpgroup",
                              client_id=f"kp{i}", enable_auto_commit=False, auto_offset_reset="earliest",
                              session_timeout_ms=SESSION_MS, heartbeat_interval_ms=500,
                              request_timeout_ms=SESSION_MS + 5000, fetch_max_wait_ms=100,
                              api_version_auto_timeout_ms=5000)
            try:
                while not stop.is_set():
                    batch = [r for recs in c.poll(timeout_ms=200).values() for r in recs]
                    if not batch:
                        continue
                    ok = True
                    try:
                        c.commit()
                    except (CommitFailedError, KafkaError) as e:
                        ok = False
                        errors.append(f"kp{i}: {e!r}")
                    with lock:
                        deliveries.extend((r.partition, r.offset, r.value, ok) for r in batch)
            except Exception as e:  # noqa: BLE001 - reported by the main thread
                errors.append(f"kp{i} crashed: {e!r}")
            finally:
                c.close()

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n_consumers)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with lock:
                if {(p, o) for p, o, _, _ in deliveries} >= expected:
                    break
            if any("crashed" in e for e in errors):
                break
            time.sleep(0.1)
        time.sleep(settle)  # anything delivered late would be a duplicate
        stop.set()
        for t in threads:
            t.join(timeout=20)
        assert not any(t.is_alive() for t in threads), "kafka-python consumer did not stop"
        assert not any("crashed" in e for e in errors), errors
        got: dict[tuple[int, int], list[bool]] = {}
        for p, o, v, ok in deliveries:
            assert v == value_of(p, o)
            got.setdefault((p, o), []).append(ok)
        assert set(got) == expected, (f"missing {sorted(expected - set(got))[:5]}, "
                                      f"unexpected {sorted(set(got) - expected)[:5]}")
        again = {k: oks for k, oks in got.items() if len(oks) > 1 and any(oks[:-1])}
        assert not again, f"delivered again after a successful commit: {list(again)[:5]}"

    run_group(2, expected_records(4, 0, 250))
    assert committed(gbroker, "kpgroup", "kpg", 4) == {p: 250 for p in range(4)}

    produce(gbroker, "kpg", 4, 10, start=250)
    run_group(1, expected_records(4, 250, 260))
    assert committed(gbroker, "kpgroup", "kpg", 4) == {p: 260 for p in range(4)}

    rc, _ = gbroker.terminate()
    assert rc == 0
    gbroker.start()
    kw.wait_group_coordinator(gbroker.port, "kpgroup")
    assert committed(gbroker, "kpgroup", "kpg", 4) == {p: 260 for p in range(4)}
    produce(gbroker, "kpg", 4, 10, start=260)
    run_group(1, expected_records(4, 260, 270))
    assert committed(gbroker, "kpgroup", "kpg", 4) == {p: 270 for p in range(4)}


def test_kcat_balanced_consumer(gbroker):
    if shutil.which("kcat") is None:
        pytest.skip("kcat is not installed")
    create_topic(gbroker, "kc", 3)
    produce(gbroker, "kc", 3, 100)
    kw.wait_group_coordinator(gbroker.port, "kcgroup")

    def kcat_group() -> list[tuple[int, int, str]]:
        res = run(["kcat", "-b", gbroker.bootstrap, "-G", "kcgroup", "-X", "auto.offset.reset=earliest",
                   "-X", f"session.timeout.ms={SESSION_MS}", "-X", "heartbeat.interval.ms=500",
                   "-e", "-q", "-f", "%p %o %s\\n", "kc"], timeout=60)
        assert res.returncode == 0, res.stderr
        out = []
        for line in res.stdout.splitlines():
            p, o, v = line.split(" ", 2)
            out.append((int(p), int(o), v))
        return sorted(out)

    got = kcat_group()
    assert got == [(p, o, value_of(p, o).decode()) for p in range(3) for o in range(100)]
    assert committed(gbroker, "kcgroup", "kc", 3) == {0: 100, 1: 100, 2: 100}

    assert kcat_group() == [], "a second kcat -G run must start at the committed offsets"
    produce(gbroker, "kc", 3, 5, start=100)
    assert kcat_group() == [(p, o, value_of(p, o).decode()) for p in range(3) for o in range(100, 105)]
    assert committed(gbroker, "kcgroup", "kc", 3) == {0: 105, 1: 105, 2: 105}


# A static member in a child process: prints each assignment and revocation
# as a JSON line; argv: bootstrap group topic instance-id session-ms.
STATIC_MEMBER = """
import json, sys, time
from confluent_kafka import Consumer
bootstrap, group, topic, instance, session_ms = sys.argv[1:6]
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "group.instance.id": instance,
              "client.id": instance, "enable.auto.commit": False, "auto.offset.reset": "earliest",
              "session.timeout.ms": int(session_ms), "heartbeat.interval.ms": 300,
              "fetch.wait.max.ms": 50, "topic.metadata.refresh.interval.ms": 2000})
def assigned(consumer, parts):
    print(json.dumps({"assigned": sorted(p.partition for p in parts)}), flush=True)
def revoked(consumer, parts):
    print(json.dumps({"revoked": sorted(p.partition for p in parts)}), flush=True)
c.subscribe([topic], on_assign=assigned, on_revoke=revoked)
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    c.poll(0.1)
"""


class StaticMemberProcess:
    """A librdkafka static member in its own process, so that it can die
    without a LeaveGroup (SIGKILL) and come back."""

    def __init__(self, broker, group: str, topic: str, instance: str):
        self.proc = subprocess.Popen([sys.executable, "-c", STATIC_MEMBER, broker.bootstrap, group, topic,
                                      instance, str(SESSION_MS)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.events: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.events.put(json.loads(line))

    def wait_assigned(self, timeout: float) -> list[int]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                ev = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"static member not assigned within {timeout}s") from None
            if "assigned" in ev and ev["assigned"]:
                return ev["assigned"]
            if time.monotonic() > deadline:
                raise AssertionError(f"static member not assigned within {timeout}s")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


def test_static_member_restart_does_not_rebalance(gbroker):
    create_topic(gbroker, "st", 4)
    kw.wait_group_coordinator(gbroker.port, "gs")
    g = LibrdkafkaGroup(gbroker, "gs", "st")
    b = g.add("static-b", {"group.instance.id": "static-b"})
    a = StaticMemberProcess(gbroker, "gs", "st", "static-a")
    procs = [a]
    try:
        g.poll_until(lambda: len(b.owned) == 2, 30, "b and a share the partitions")
        a_parts = a.wait_assigned(10)
        while len(a_parts) != 2 or set(a_parts) & b.owned:  # a may have owned all 4 before b joined
            a_parts = a.wait_assigned(10)
        assert sorted(set(a_parts) | b.owned) == [0, 1, 2, 3]
        b_assigns, b_revokes, b_owned = b.assigns, b.revokes, set(b.owned)

        # a dies without leaving and comes back with the same group.instance.id
        a.kill()
        t0 = time.monotonic()
        a2 = StaticMemberProcess(gbroker, "gs", "st", "static-a")
        procs.append(a2)
        got = None
        while got is None:
            g.poll(b)
            try:
                ev = a2.events.get_nowait()
                if ev.get("assigned"):
                    got = ev["assigned"]
            except queue.Empty:
                pass
            assert time.monotonic() - t0 < SESSION_MS / 1000, "restarted static member got no assignment"
        assert got == a_parts, f"restarted static member got {got}, had {a_parts}"
        t_end = time.monotonic() + 2.0
        while time.monotonic() < t_end:
            g.poll(b)
        assert (b.assigns, b.revokes, b.owned) == (b_assigns, b_revokes, b_owned), \
            "the other member saw a rebalance when the static member came back"

        # when it stays away longer than the session timeout, b takes its partitions
        a2.kill()
        t0 = time.monotonic()
        g.poll_until(lambda: b.owned == {0, 1, 2, 3}, SESSION_MS / 1000 + 8, "b takes over after session expiry")
        took = time.monotonic() - t0
        assert took >= SESSION_MS / 1000 * 0.7, f"static member removed after {took:.1f}s, before its session expired"
        assert g.conflicts == []
    finally:
        for p in procs:
            p.kill()
        g.close_all()
