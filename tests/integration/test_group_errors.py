"""Consumer-group bad input over raw sockets: JoinGroup, SyncGroup,
Heartbeat, LeaveGroup and OffsetCommit requests that Kafka refuses, each
with Kafka's exact error code, and proof that nothing else changed (the
legitimate members still heartbeat without a rebalance, DescribeGroups shows
the same members, OffsetFetch still returns the old offsets).

Requests are encoded from the schema files by kafka_wire.SchemaConnection;
members are driven by hand with kafka_wire.GroupMember. Expected codes are
Apache Kafka 4.0's classic-group coordinator behaviour.
"""

from __future__ import annotations

import time

import pytest

import kafka_wire as kw

GROUP_OVERRIDES = [
    "group.initial.rebalance.delay.ms=0",
    "group.min.session.timeout.ms=1000",
    "group.max.session.timeout.ms=60000",
]
TOPIC = "t"


def create_topic_raw(port: int, name: str, partitions: int) -> None:
    with kw.SchemaConnection(port) as c:
        resp = c.call("CreateTopics", 7, Topics=[{"Name": name, "NumPartitions": partitions,
                                                  "ReplicationFactor": 1}], timeoutMs=10000)
    assert resp["Topics"][0]["ErrorCode"] == 0, resp


def group_broker(broker_factory, overrides=()):
    """A broker with fast rebalances, session timeouts 1-60 s, 3
    __consumer_offsets partitions and a 2-partition topic `t`."""
    b = broker_factory.create(overrides=GROUP_OVERRIDES + list(overrides),
                              extra_config={"offsets.topic.num.partitions": "3"})
    assert kw.max_version(b.port, "JoinGroup") is not None, "the broker must serve the group APIs"
    create_topic_raw(b.port, TOPIC, 2)
    return b


@pytest.fixture
def gb(broker_factory):
    return group_broker(broker_factory)


def assignment_for(members: list[str], index: int) -> bytes:
    """Range-style: partition p of `t` goes to sorted(members)[p % n]."""
    ids = sorted(members)
    return kw.consumer_assignment({TOPIC: [p for p in range(2) if ids[p % len(ids)] == ids[index]]})


def sync_all(members: list[kw.GroupMember]) -> None:
    """SyncGroup for one generation: followers first (they park), then the leader."""
    leader = next(m for m in members if m.is_leader)
    ids = [m["MemberId"] for m in leader.members]
    assert sorted(ids) == sorted(m.member_id for m in members), (ids, [m.member_id for m in members])
    assignments = {mid: assignment_for(ids, sorted(ids).index(mid)) for mid in ids}
    followers = [m for m in members if m is not leader]
    for f in followers:
        f.send_sync()
    resp = leader.sync(assignments)
    assert resp["ErrorCode"] == 0, resp
    for f in followers:
        r = f.recv_sync()
        assert r["ErrorCode"] == 0, r
    for m in members:
        assert m.assignment == assignments[m.member_id]


def await_rebalance(member: kw.GroupMember, timeout: float = 5.0) -> None:
    """Heartbeat until the coordinator answers REBALANCE_IN_PROGRESS (the
    JoinGroup that starts the rebalance is in flight on another connection,
    so the first heartbeats may still see the Stable group)."""
    deadline = time.monotonic() + timeout
    while True:
        err = member.heartbeat()
        if err == kw.ERR_REBALANCE_IN_PROGRESS:
            return
        assert err == kw.ERR_NONE, err
        assert time.monotonic() < deadline, "no rebalance started"
        time.sleep(0.02)


def form_group(port: int, group: str, n: int, instance_ids: list | None = None, **kwargs) -> list[kw.GroupMember]:
    """n members in one Stable generation, joined one after the other the way
    clients do it: the newcomer's JoinGroup parks, the others learn about the
    rebalance from their heartbeat and rejoin."""
    kw.wait_group_coordinator(port, group)
    members = []
    for i in range(n):
        m = kw.GroupMember(port, group, instance_id=(instance_ids or [None] * n)[i], **kwargs)
        if members:
            m.send_join()
            first = m.recv_join()
            if first["ErrorCode"] == kw.ERR_MEMBER_ID_REQUIRED:
                m.send_join()
            else:
                # a static member (or JoinGroup < v4) joins with its first request
                raise AssertionError(f"newcomer's first JoinGroup answered at once: {first}")
            for old in members:
                await_rebalance(old)
                old.send_join()
            resps = [x.recv_join() for x in members + [m]]
            assert all(r["ErrorCode"] == 0 for r in resps), resps
            assert len({r["GenerationId"] for r in resps}) == 1, resps
        else:
            r = m.join()
            assert r["ErrorCode"] == 0, r
        members.append(m)
        sync_all(members)
    return members


def assert_unchanged(conn: kw.SchemaConnection, group: str, members: list[kw.GroupMember],
                     offsets: dict | None = None, state: str = "Stable") -> None:
    """Every member still heartbeats fine (no rebalance was started), the
    group shows the same members, and the committed offsets are the old ones."""
    for m in members:
        assert m.heartbeat() == kw.ERR_NONE, f"member {m.member_id} lost its place"
    d = kw.describe_group(conn, group)
    assert d["ErrorCode"] == 0 and d["GroupState"] == state, d
    assert sorted(x["MemberId"] for x in d["Members"]) == sorted(m.member_id for m in members), d
    if offsets is not None:
        err, got = kw.offset_fetch(conn, group, {TOPIC: [0, 1]})
        assert err == 0
        assert {k: v[0] for k, v in got.items()} == offsets


# --------------------------------------------------------------------------
# JoinGroup
# --------------------------------------------------------------------------

def test_join_member_id_required_then_join(gb):
    kw.wait_group_coordinator(gb.port, "g")
    m = kw.GroupMember(gb.port, "g")
    m.send_join()
    first = m.recv_join()
    assert first["ErrorCode"] == kw.ERR_MEMBER_ID_REQUIRED, first
    assert first["MemberId"] != "" and first["GenerationId"] == -1, first

    # a made-up member id is not the one the coordinator handed out
    with kw.SchemaConnection(gb.port) as c:
        other = kw.GroupMember(gb.port, "g")
        r = other.join(MemberId="made-up-id")
        assert r["ErrorCode"] == kw.ERR_UNKNOWN_MEMBER_ID, r
        other.close()

        m.send_join()
        r = m.recv_join()
        assert r["ErrorCode"] == 0, r
        assert r["MemberId"] == first["MemberId"]
        assert r["GenerationId"] == 1 and r["Leader"] == r["MemberId"]
        assert r["ProtocolType"] == "consumer" and r["ProtocolName"] == "range"
        assert r["Members"] == [{"MemberId": r["MemberId"], "GroupInstanceId": None, "Metadata": m.subscription}]

        asg = kw.consumer_assignment({TOPIC: [0, 1]})
        s = m.sync({m.member_id: asg})
        assert s["ErrorCode"] == 0 and s["Assignment"] == asg, s
        assert s["ProtocolType"] == "consumer" and s["ProtocolName"] == "range", s
        assert m.heartbeat() == 0
        d = kw.describe_group(c, "g")
        assert d["GroupState"] == "Stable" and d["ProtocolType"] == "consumer" and d["ProtocolData"] == "range"
        assert len(d["Members"]) == 1
        dm = d["Members"][0]
        assert (dm["MemberId"], dm["ClientId"], dm["MemberMetadata"], dm["MemberAssignment"]) == \
            (m.member_id, "samsa-itest", m.subscription, asg)
        assert dm["ClientHost"].lstrip("/") == "127.0.0.1", dm
    m.close()


def test_join_before_v4_needs_no_member_id(gb):
    kw.wait_group_coordinator(gb.port, "old")
    m = kw.GroupMember(gb.port, "old", versions={"JoinGroup": 3, "SyncGroup": 2, "Heartbeat": 2})
    r = m.join()
    assert r["ErrorCode"] == 0 and r["MemberId"] != "" and r["GenerationId"] == 1, r
    assert m.sync({m.member_id: kw.consumer_assignment({TOPIC: [0]})})["ErrorCode"] == 0
    assert m.heartbeat() == 0
    m.close()


def test_join_invalid_session_timeout(gb):
    (m1,) = form_group(gb.port, "g", 1)
    with kw.SchemaConnection(gb.port) as c:
        for timeout_ms in (999, 60001):
            for group in ("g", "never-created"):
                bad = kw.GroupMember(gb.port, group, session_timeout_ms=timeout_ms)
                r = bad.join()
                assert r["ErrorCode"] == kw.ERR_INVALID_SESSION_TIMEOUT, (timeout_ms, group, r)
                bad.close()
        assert_unchanged(c, "g", [m1])
        err, groups = kw.list_groups(c)
        assert err == 0 and "never-created" not in groups, groups
    m1.close()


def test_join_inconsistent_group_protocol(gb):
    (m1,) = form_group(gb.port, "g", 1)
    with kw.SchemaConnection(gb.port) as c:
        before = kw.describe_group(c, "g")
        cases = [
            {"ProtocolType": "connect"},
            {"Protocols": [{"Name": "roundrobin", "Metadata": m1.subscription}]},
        ]
        for over in cases:
            bad = kw.GroupMember(gb.port, "g")
            r = bad.join(**over)
            assert r["ErrorCode"] == kw.ERR_INCONSISTENT_GROUP_PROTOCOL, (over, r)
            bad.close()
        # the existing member changing its protocols to something the group cannot pick is not refused:
        # it is the only member, so that would be a rebalance, not an error. A protocol *type* change is.
        r = m1.join(ProtocolType="connect")
        assert r["ErrorCode"] == kw.ERR_INCONSISTENT_GROUP_PROTOCOL, r

        # a brand-new group cannot be founded without a protocol type or protocols
        for over in ({"Protocols": []}, {"ProtocolType": ""}):
            bad = kw.GroupMember(gb.port, "g-new")
            r = bad.join(**over)
            assert r["ErrorCode"] == kw.ERR_INCONSISTENT_GROUP_PROTOCOL, (over, r)
            bad.close()

        # SyncGroup v5 names the protocol type/name: a mismatch is refused too
        for over in ({"ProtocolType": "connect"}, {"ProtocolName": "roundrobin"}):
            r = m1.sync(**over)
            assert r["ErrorCode"] == kw.ERR_INCONSISTENT_GROUP_PROTOCOL, (over, r)

        assert_unchanged(c, "g", [m1])
        after = kw.describe_group(c, "g")
        assert after == before
        s = m1.sync()
        assert s["ErrorCode"] == 0 and s["Assignment"] == m1.assignment
    m1.close()


def test_join_group_max_size(broker_factory):
    b = group_broker(broker_factory, ["group.max.size=2"])
    m1, m2 = form_group(b.port, "g", 2)
    with kw.SchemaConnection(b.port) as c:
        assert m1.commit({(TOPIC, 0): 3, (TOPIC, 1): 4}) == {(TOPIC, 0): 0, (TOPIC, 1): 0}
        for instance in (None, "static-3"):
            m3 = kw.GroupMember(b.port, "g", instance_id=instance)
            r = m3.join()
            assert r["ErrorCode"] == kw.ERR_GROUP_MAX_SIZE_REACHED, (instance, r)
            assert r["MemberId"] == "", r
            m3.close()
        assert_unchanged(c, "g", [m1, m2], offsets={(TOPIC, 0): 3, (TOPIC, 1): 4})
    m1.close()
    m2.close()


# --------------------------------------------------------------------------
# Heartbeat, SyncGroup, LeaveGroup
# --------------------------------------------------------------------------

def test_heartbeat_sync_leave_unknown_member_and_generation(gb):
    (m1,) = form_group(gb.port, "g", 1)
    gen = m1.generation
    with kw.SchemaConnection(gb.port) as c:
        assert m1.heartbeat(MemberId="bogus") == kw.ERR_UNKNOWN_MEMBER_ID
        assert m1.heartbeat(GenerationId=gen + 1) == kw.ERR_ILLEGAL_GENERATION
        assert m1.heartbeat(GenerationId=gen - 1) == kw.ERR_ILLEGAL_GENERATION
        assert m1.heartbeat(GroupId="no-such-group") == kw.ERR_UNKNOWN_MEMBER_ID

        assert m1.sync(MemberId="bogus")["ErrorCode"] == kw.ERR_UNKNOWN_MEMBER_ID
        assert m1.sync(GenerationId=gen + 1)["ErrorCode"] == kw.ERR_ILLEGAL_GENERATION
        assert m1.sync(GroupId="no-such-group")["ErrorCode"] == kw.ERR_UNKNOWN_MEMBER_ID

        r = m1.join(MemberId="bogus")
        assert r["ErrorCode"] == kw.ERR_UNKNOWN_MEMBER_ID, r
        r = m1.join(MemberId="bogus", GroupId="no-such-group")
        assert r["ErrorCode"] == kw.ERR_UNKNOWN_MEMBER_ID, r

        r = m1.leave(MemberId="bogus")
        assert r["ErrorCode"] == 0, r
        assert [(x["MemberId"], x["ErrorCode"]) for x in r["Members"]] == [("bogus", kw.ERR_UNKNOWN_MEMBER_ID)]
        old = kw.GroupMember(gb.port, "g", versions={"LeaveGroup": 1})
        old.member_id = "bogus"
        assert old.leave()["ErrorCode"] == kw.ERR_UNKNOWN_MEMBER_ID
        old.close()

        assert_unchanged(c, "g", [m1])
        err, groups = kw.list_groups(c)
        assert "no-such-group" not in groups
        # the real member's SyncGroup in a Stable group hands back its assignment
        s = m1.sync()
        assert s["ErrorCode"] == 0 and s["Assignment"] == m1.assignment
    m1.close()


def test_rebalance_in_progress(gb):
    (m1,) = form_group(gb.port, "g", 1)
    assert m1.commit({(TOPIC, 0): 5}) == {(TOPIC, 0): 0}
    with kw.SchemaConnection(gb.port) as c:
        m2 = kw.GroupMember(gb.port, "g")
        m2.send_join()
        assert m2.recv_join()["ErrorCode"] == kw.ERR_MEMBER_ID_REQUIRED
        m2.send_join()  # parks: the group is now PreparingRebalance

        await_rebalance(m1)
        assert m1.heartbeat() == kw.ERR_REBALANCE_IN_PROGRESS
        assert kw.describe_group(c, "g")["GroupState"] == "PreparingRebalance"
        # the old generation may still commit while the group prepares (eager clients commit on revoke)
        assert m1.commit({(TOPIC, 0): 6}) == {(TOPIC, 0): 0}
        assert m1.sync()["ErrorCode"] == kw.ERR_REBALANCE_IN_PROGRESS

        old_gen = m1.generation
        m1.send_join()
        r1, r2 = m1.recv_join(), m2.recv_join()
        assert r1["ErrorCode"] == 0 and r2["ErrorCode"] == 0, (r1, r2)
        assert r1["GenerationId"] == r2["GenerationId"] == old_gen + 1
        assert r1["Leader"] == r2["Leader"] == m1.member_id, "the rejoining old leader stays leader"
        assert len(r1["Members"]) == 2 and r2["Members"] == []
        assert kw.describe_group(c, "g")["GroupState"] == "CompletingRebalance"

        # CompletingRebalance: no commits until the assignment is out, old generation fenced
        assert m2.commit({(TOPIC, 0): 100}) == {(TOPIC, 0): kw.ERR_REBALANCE_IN_PROGRESS}
        assert m1.commit({(TOPIC, 0): 100}, GenerationIdOrMemberEpoch=old_gen) == \
            {(TOPIC, 0): kw.ERR_ILLEGAL_GENERATION}
        assert m2.heartbeat() == kw.ERR_NONE
        err, got = kw.offset_fetch(c, "g", {TOPIC: [0]})
        assert got[(TOPIC, 0)][0] == 6

        sync_all([m1, m2])
        assert m2.commit({(TOPIC, 0): 7}) == {(TOPIC, 0): 0}
        assert_unchanged(c, "g", [m1, m2], offsets={(TOPIC, 0): 7, (TOPIC, 1): -1})
    m1.close()
    m2.close()


# --------------------------------------------------------------------------
# OffsetCommit
# --------------------------------------------------------------------------

def test_offset_commit_unknown_member_and_illegal_generation(gb):
    (m1,) = form_group(gb.port, "g", 1)
    gen = m1.generation
    good = {(TOPIC, 0): 5, (TOPIC, 1): 7}
    assert m1.commit(good, metadata="m1") == {(TOPIC, 0): 0, (TOPIC, 1): 0}
    bad = {(TOPIC, 0): 99, (TOPIC, 1): 99}
    with kw.SchemaConnection(gb.port) as c:
        for version in (2, 5, 8, kw.max_version(gb.port, "OffsetCommit")):
            tag = f"v{version}"
            both = lambda e: {(TOPIC, 0): e, (TOPIC, 1): e}  # noqa: E731
            assert m1.commit(bad, MemberId="bogus", version=version) == both(kw.ERR_UNKNOWN_MEMBER_ID), tag
            assert m1.commit(bad, GenerationIdOrMemberEpoch=gen + 1, version=version) == \
                both(kw.ERR_ILLEGAL_GENERATION), tag
            assert m1.commit(bad, GenerationIdOrMemberEpoch=gen - 1, version=version) == \
                both(kw.ERR_ILLEGAL_GENERATION), tag
            # a commit without member and generation (admin / standalone consumer) into an active group
            assert m1.commit(bad, GenerationIdOrMemberEpoch=-1, MemberId="", version=version) == \
                both(kw.ERR_UNKNOWN_MEMBER_ID), tag
        assert_unchanged(c, "g", [m1], offsets=good)
        err, got = kw.offset_fetch(c, "g", {TOPIC: [0, 1]})
        assert got[(TOPIC, 0)] == (5, "m1", 0)
        # every OffsetFetch layout reads the same
        for version in (1, 5, 7, 8):
            err, got = kw.offset_fetch(c, "g", {TOPIC: [0, 1]}, version=version)
            assert err == 0 and {k: v[0] for k, v in got.items()} == good, version
        err, got = kw.offset_fetch(c, "g", None)
        assert {k: v[0] for k, v in got.items()} == good
    m1.close()


def test_offset_commit_unknown_group(gb):
    kw.wait_group_coordinator(gb.port, "nobody")
    m = kw.GroupMember(gb.port, "nobody")
    m.member_id, m.generation = "ghost", 1
    with kw.SchemaConnection(gb.port) as c:
        # Kafka: ILLEGAL_GENERATION before OffsetCommit v9 (GROUP_ID_NOT_FOUND from v9: next test)
        assert m.commit({(TOPIC, 0): 3}, version=8) == {(TOPIC, 0): kw.ERR_ILLEGAL_GENERATION}
        err, got = kw.offset_fetch(c, "nobody", {TOPIC: [0]})
        assert err == 0 and got[(TOPIC, 0)][0] == -1
        _, groups = kw.list_groups(c)
        assert "nobody" not in groups

        # without generation and member (a standalone consumer / admin), the commit creates a simple group
        assert m.commit({(TOPIC, 0): 3}, GenerationIdOrMemberEpoch=-1, MemberId="") == {(TOPIC, 0): 0}
        err, got = kw.offset_fetch(c, "nobody", {TOPIC: [0]})
        assert got[(TOPIC, 0)][0] == 3
        d = kw.describe_group(c, "nobody")
        assert d["GroupState"] == "Empty" and d["Members"] == [], d
    m.close()


def test_offset_commit_unknown_group_v9(gb):
    if (kw.max_version(gb.port, "OffsetCommit") or 0) < 9:
        pytest.fail("OffsetCommit v9 is not served")
    kw.wait_group_coordinator(gb.port, "nobody")
    m = kw.GroupMember(gb.port, "nobody")
    m.member_id, m.generation = "ghost", 1
    with kw.SchemaConnection(gb.port) as c:
        # Kafka 4.0: from OffsetCommit v9 a generation for a group that does not exist is GROUP_ID_NOT_FOUND
        assert m.commit({(TOPIC, 0): 3}, version=9) == {(TOPIC, 0): kw.ERR_GROUP_ID_NOT_FOUND}
        _, groups = kw.list_groups(c)
        assert "nobody" not in groups
    m.close()


def test_offset_commit_unknown_topic(gb):
    """Kafka answers UNKNOWN_TOPIC_OR_PARTITION for a topic or partition that
    does not exist before the coordinator looks at member or generation."""
    (m1,) = form_group(gb.port, "g", 1)
    with kw.SchemaConnection(gb.port) as c:
        r = m1.commit({("no-such-topic", 0): 1, (TOPIC, 5): 1, (TOPIC, 0): 4})
        assert r == {("no-such-topic", 0): kw.ERR_UNKNOWN_TOPIC_OR_PARTITION,
                     (TOPIC, 5): kw.ERR_UNKNOWN_TOPIC_OR_PARTITION, (TOPIC, 0): 0}, r
        r = m1.commit({("no-such-topic", 0): 1, (TOPIC, 0): 99}, MemberId="bogus")
        assert r == {("no-such-topic", 0): kw.ERR_UNKNOWN_TOPIC_OR_PARTITION,
                     (TOPIC, 0): kw.ERR_UNKNOWN_MEMBER_ID}, r
        assert_unchanged(c, "g", [m1], offsets={(TOPIC, 0): 4, (TOPIC, 1): -1})
        err, got = kw.offset_fetch(c, "g", None)
        assert set(got) == {(TOPIC, 0)}
    m1.close()


def test_empty_group_id(gb):
    """Group management needs a group id: JoinGroup, SyncGroup, Heartbeat and
    LeaveGroup answer INVALID_GROUP_ID. Offset commits and fetches for the
    empty group id are accepted, as Kafka has always done for old simple
    consumers."""
    (m1,) = form_group(gb.port, "g", 1)
    with kw.SchemaConnection(gb.port) as c:
        assert m1.join(GroupId="")["ErrorCode"] == kw.ERR_INVALID_GROUP_ID
        assert kw.GroupMember(gb.port, "").join()["ErrorCode"] == kw.ERR_INVALID_GROUP_ID
        assert m1.heartbeat(GroupId="") == kw.ERR_INVALID_GROUP_ID
        assert m1.sync(GroupId="")["ErrorCode"] == kw.ERR_INVALID_GROUP_ID
        assert m1.leave(GroupId="")["ErrorCode"] == kw.ERR_INVALID_GROUP_ID
        assert_unchanged(c, "g", [m1])

        assert m1.commit({(TOPIC, 1): 9}, GroupId="", GenerationIdOrMemberEpoch=-1, MemberId="") == {(TOPIC, 1): 0}
        err, got = kw.offset_fetch(c, "", {TOPIC: [1]})
        assert err == 0 and got[(TOPIC, 1)][0] == 9
    m1.close()


def test_unknown_instance_id_is_an_unknown_member(gb):
    """A request naming a group.instance.id the group does not know is from
    an unknown member, even with a member id that exists (Kafka's
    validateMember)."""
    s1, d2 = form_group(gb.port, "g", 2, instance_ids=["i1", None])
    with kw.SchemaConnection(gb.port) as c:
        assert s1.heartbeat(GroupInstanceId="i9") == kw.ERR_UNKNOWN_MEMBER_ID
        assert d2.heartbeat(GroupInstanceId="i9") == kw.ERR_UNKNOWN_MEMBER_ID
        assert s1.sync(GroupInstanceId="i9")["ErrorCode"] == kw.ERR_UNKNOWN_MEMBER_ID
        assert d2.commit({(TOPIC, 0): 5}, GroupInstanceId="i9") == {(TOPIC, 0): kw.ERR_UNKNOWN_MEMBER_ID}
        assert_unchanged(c, "g", [s1, d2], offsets={(TOPIC, 0): -1, (TOPIC, 1): -1})
    s1.close()
    d2.close()


# --------------------------------------------------------------------------
# Static membership: FENCED_INSTANCE_ID
# --------------------------------------------------------------------------

def test_fenced_instance_id_and_static_rejoin(gb):
    s1, d2 = form_group(gb.port, "g", 2, instance_ids=["i1", None])
    gen = s1.generation
    assert s1.commit({(TOPIC, 0): 11, (TOPIC, 1): 12}) == {(TOPIC, 0): 0, (TOPIC, 1): 0}
    offsets = {(TOPIC, 0): 11, (TOPIC, 1): 12}
    with kw.SchemaConnection(gb.port) as c:
        assert s1.heartbeat(MemberId="bogus") == kw.ERR_FENCED_INSTANCE_ID
        assert s1.commit({(TOPIC, 0): 99}, MemberId="bogus") == {(TOPIC, 0): kw.ERR_FENCED_INSTANCE_ID}
        assert s1.sync(MemberId="bogus")["ErrorCode"] == kw.ERR_FENCED_INSTANCE_ID
        assert s1.join(MemberId="bogus")["ErrorCode"] == kw.ERR_FENCED_INSTANCE_ID
        r = s1.leave(MemberId="bogus")
        assert [(x["MemberId"], x["GroupInstanceId"], x["ErrorCode"]) for x in r["Members"]] == \
            [("bogus", "i1", kw.ERR_FENCED_INSTANCE_ID)], r
        assert_unchanged(c, "g", [s1, d2], offsets=offsets)

        # The static member restarts: same instance id, no member id. It gets a new member id,
        # the generation does not move and the other member sees no rebalance.
        s1b = kw.GroupMember(gb.port, "g", instance_id="i1")
        r = s1b.join()
        assert r["ErrorCode"] == 0, r
        assert r["MemberId"] not in ("", s1.member_id)
        assert r["GenerationId"] == gen
        assert d2.heartbeat() == kw.ERR_NONE
        s = s1b.sync()
        assert s["ErrorCode"] == 0 and s["Assignment"] == s1.assignment, s
        # the old incarnation is fenced
        assert s1.heartbeat() == kw.ERR_FENCED_INSTANCE_ID
        assert s1.commit({(TOPIC, 0): 99}) == {(TOPIC, 0): kw.ERR_FENCED_INSTANCE_ID}
        assert s1.heartbeat(GroupInstanceId=None) == kw.ERR_UNKNOWN_MEMBER_ID
        assert_unchanged(c, "g", [s1b, d2], offsets=offsets)
        d = kw.describe_group(c, "g")
        assert {m["MemberId"]: m["GroupInstanceId"] for m in d["Members"]} == \
            {s1b.member_id: "i1", d2.member_id: None}
        s1b.close()
    s1.close()
    d2.close()


# --------------------------------------------------------------------------
# DeleteGroups
# --------------------------------------------------------------------------

def test_delete_groups_errors(gb):
    (m1,) = form_group(gb.port, "g", 1)
    m1.commit({(TOPIC, 0): 8})
    with kw.SchemaConnection(gb.port) as c:
        resp = c.call("DeleteGroups", 2, GroupsNames=["g", "no-such-group"])
        errs = {r["GroupId"]: r["ErrorCode"] for r in resp["Results"]}
        assert errs == {"g": kw.ERR_NON_EMPTY_GROUP, "no-such-group": kw.ERR_GROUP_ID_NOT_FOUND}, resp
        assert_unchanged(c, "g", [m1], offsets={(TOPIC, 0): 8, (TOPIC, 1): -1})

        r = m1.leave()
        assert r["ErrorCode"] == 0 and r["Members"][0]["ErrorCode"] == 0, r
        # the last member gone, the group completes its (empty) rebalance: Kafka 4.0 does it on a 0 ms timer
        kw.wait_group_state(c, "g", "Empty", timeout=3.0)
        resp = c.call("DeleteGroups", 2, GroupsNames=["g"])
        assert resp["Results"] == [{"GroupId": "g", "ErrorCode": 0}], resp
        err, got = kw.offset_fetch(c, "g", {TOPIC: [0]})
        assert got[(TOPIC, 0)][0] == -1, "DeleteGroups leaves the committed offsets behind"
        _, groups = kw.list_groups(c)
        assert "g" not in groups
        d = kw.describe_group(c, "g")
        assert d["GroupState"] == "Dead" and d["ErrorCode"] == 0, d
    m1.close()


def test_clients_cannot_produce_to_the_offsets_topic(gb):
    """__consumer_offsets belongs to the coordinator: a client's Produce is
    refused with INVALID_TOPIC_EXCEPTION and the group's offsets survive."""
    from confluent_kafka import KafkaError, Producer
    (m1,) = form_group(gb.port, "guarded", 1)
    assert m1.commit({(TOPIC, 0): 42}) == {(TOPIC, 0): 0}
    errors = []
    p = Producer({"bootstrap.servers": gb.bootstrap, "message.timeout.ms": 10000, "retries": 0})
    for partition in range(3):
        p.produce("__consumer_offsets", key=b"\x00\x01junk", value=b"junk", partition=partition,
                  on_delivery=lambda err, msg: errors.append(err))
    assert p.flush(20) == 0
    assert [e.code() if e else None for e in errors] == [KafkaError.TOPIC_EXCEPTION] * 3
    with kw.SchemaConnection(gb.port) as c:
        err, got = kw.offset_fetch(c, "guarded", {TOPIC: [0]})
        assert err == 0 and got[(TOPIC, 0)][0] == 42
    m1.close()
