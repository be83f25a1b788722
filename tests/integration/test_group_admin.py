"""Consumer-group administration with stock clients, against groups that a
confluent-kafka Consumer really joined and committed in.

- librdkafka 2.0.2's admin API, which confluent-kafka 2.x's AdminClient wraps
  (list/describe/delete_consumer_groups, list/alter_consumer_group_offsets,
  delete_consumer_group_offsets): Debian's binding (1.7.0) predates those
  methods, so tests/tools/samsa-rdkafka-group-admin makes the C calls and
  prints JSON.
- kafka-python 2.0.2's KafkaAdminClient: list_consumer_groups,
  describe_consumer_groups, list_consumer_group_offsets,
  delete_consumer_groups.

The expected answers are Apache Kafka's: an admin offset commit (no member,
generation -1) is refused with UNKNOWN_MEMBER_ID while the group has members,
a group with members is not deleted (NON_EMPTY_GROUP), an unknown group is
GROUP_ID_NOT_FOUND for DeleteGroups and Dead for DescribeGroups.
"""

from __future__ import annotations

import json
import time

import pytest

from conftest import run

GROUP_OVERRIDES = ["group.initial.rebalance.delay.ms=0", "group.min.session.timeout.ms=1000"]
TOPIC = "ga-orders"
PARTITIONS = 2
RECORDS = 5  # per partition; the topic is fresh, so the committed offsets end up at RECORDS
TOOL_TIMEOUT_S = 30  # the tool bounds each admin call at 10 s itself


@pytest.fixture
def gbroker(broker_factory):
    b = broker_factory.create(overrides=GROUP_OVERRIDES)
    create_topic(b)
    produce(b)
    return b


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def create_topic(broker) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)], request_timeout=15)[TOPIC].result(timeout=20)
    p = Producer({"bootstrap.servers": broker.bootstrap})
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        t = p.list_topics(topic=TOPIC, timeout=5).topics.get(TOPIC)
        if t is not None and t.error is None and len(t.partitions) == PARTITIONS and \
                all(pm.leader >= 0 for pm in t.partitions.values()):
            return
        time.sleep(0.1)
    raise AssertionError(f"topic {TOPIC} has no leaders after creation")


def produce(broker) -> None:
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5, "enable.idempotence": False})
    errors = []
    for o in range(RECORDS):
        for part in range(PARTITIONS):
            p.produce(TOPIC, value=f"p{part}-o{o}".encode(), partition=part,
                      on_delivery=lambda e, m: errors.append(e) if e else None)
    assert p.flush(20) == 0 and errors == []


def new_consumer(broker, group: str, client_id: str = "ga-consumer"):
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "client.id": client_id,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
    c.subscribe([TOPIC])
    return c


def consume(c, count: int, timeout: float = 20.0) -> list[tuple[int, int]]:
    """Polls until `count` records arrived; returns their (partition, offset)."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        assert m.error() is None, m.error()
        got.append((m.partition(), m.offset()))
    assert len(got) == count, f"consumed {len(got)} of {count} records in {timeout}s: {got}"
    return got


def join_and_commit(broker, group: str):
    """A consumer of `group` that consumed everything and committed it
    synchronously; still a member when returned."""
    c = new_consumer(broker, group)
    consume(c, PARTITIONS * RECORDS)
    c.commit(asynchronous=False)
    return c


def tool(group_admin, broker, *args) -> dict:
    res = run([group_admin, args[0], "--bootstrap", broker.bootstrap, *args[1:]],
              timeout=TOOL_TIMEOUT_S)
    assert res.returncode == 0, f"{args}: exit {res.returncode}\n{res.stderr}"
    return json.loads(res.stdout)


def err(e) -> str | None:
    return None if e is None else e["name"]


def listed(group_admin, broker, *states) -> dict[str, dict]:
    """{group: listing} from ListConsumerGroups (optionally by state)."""
    out = tool(group_admin, broker, "list", *[a for s in states for a in ("--state", s)])
    assert out["error"] is None and out["errors"] == [], out
    return {g["group"]: g for g in out["groups"]}


def wait_listed_state(group_admin, broker, group: str, state: str | None, timeout: float = 15.0) -> dict | None:
    """Waits until ListConsumerGroups shows `group` in `state` (None: not
    listed at all); returns the listing."""
    deadline = time.monotonic() + timeout
    while True:
        g = listed(group_admin, broker).get(group)
        if (g is None and state is None) or (g is not None and g["state"] == state):
            return g
        if time.monotonic() > deadline:
            raise AssertionError(f"group {group} is {g} after {timeout}s, expected state {state}")
        time.sleep(0.2)


def describe(group_admin, broker, *groups) -> dict[str, dict]:
    out = tool(group_admin, broker, "describe", *groups)
    assert out["error"] is None, out
    assert sorted(g["group"] for g in out["groups"]) == sorted(groups), out
    return {g["group"]: g for g in out["groups"]}


def offsets(group_admin, broker, group: str, *partitions: int) -> dict[tuple[str, int], int]:
    """Committed offsets from ListConsumerGroupOffsets (every partition with
    one, or just `partitions`); each must come without error and metadata."""
    args = [a for p in partitions for a in ("--partition", f"{TOPIC}:{p}")]
    out = tool(group_admin, broker, "list-offsets", group, *args)
    assert out["error"] is None, out
    [g] = out["groups"]
    assert g["group"] == group and g["error"] is None, g
    for p in g["partitions"]:
        assert p["error"] is None and p["metadata"] == "", p
    return {(p["topic"], p["partition"]): p["offset"] for p in g["partitions"]}


def partition_errors(out: dict, group: str) -> dict[tuple[str, int], str | None]:
    assert out["error"] is None, out
    [g] = out["groups"]
    assert g["group"] == group and g["error"] is None, g
    return {(p["topic"], p["partition"]): err(p["error"]) for p in g["partitions"]}


def group_errors(out: dict) -> dict[str, str | None]:
    assert out["error"] is None, out
    return {g["group"]: err(g["error"]) for g in out["groups"]}


ALL = [(TOPIC, p) for p in range(PARTITIONS)]


# --------------------------------------------------------------------------
# librdkafka's admin API (tests/tools/samsa-rdkafka-group-admin)
# --------------------------------------------------------------------------

def test_active_group_is_listed_described_and_protected(gbroker, group_admin):
    group = "ga-live"
    c = join_and_commit(gbroker, group)
    try:
        g = wait_listed_state(group_admin, gbroker, group, "Stable")
        assert g["is_simple_consumer_group"] is False
        assert group in listed(group_admin, gbroker, "Stable")
        assert group not in listed(group_admin, gbroker, "Empty")

        d = describe(group_admin, gbroker, group)[group]
        assert d["error"] is None and d["state"] == "Stable", d
        assert d["is_simple_consumer_group"] is False
        assert d["partition_assignor"] == "range"  # librdkafka's default range,roundrobin picks range
        assert d["coordinator"] == 1
        [m] = d["members"]
        assert m["client_id"] == "ga-consumer" and m["member_id"].startswith("ga-consumer-"), m
        assert m["host"].lstrip("/") == "127.0.0.1", m
        assert m["group_instance_id"] is None
        assert sorted((p["topic"], p["partition"]) for p in m["assignment"]) == ALL

        assert offsets(group_admin, gbroker, group) == {tp: RECORDS for tp in ALL}
        assert offsets(group_admin, gbroker, group, 1) == {(TOPIC, 1): RECORDS}

        # Kafka refuses an admin commit (no member id, generation -1) while
        # the group has members, and keeps the offsets.
        out = tool(group_admin, gbroker, "alter-offsets", group, f"{TOPIC}:0=1", f"{TOPIC}:1=2")
        assert partition_errors(out, group) == {tp: "UNKNOWN_MEMBER_ID" for tp in ALL}
        assert offsets(group_admin, gbroker, group) == {tp: RECORDS for tp in ALL}

        # Nor does it delete the offsets of a topic the group consumes, or the group.
        out = tool(group_admin, gbroker, "delete-offsets", group, f"{TOPIC}:0")
        assert partition_errors(out, group) == {(TOPIC, 0): "GROUP_SUBSCRIBED_TO_TOPIC"}
        assert group_errors(tool(group_admin, gbroker, "delete", group)) == {group: "NON_EMPTY_GROUP"}
        assert offsets(group_admin, gbroker, group) == {tp: RECORDS for tp in ALL}
    finally:
        c.close()

    g = wait_listed_state(group_admin, gbroker, group, "Empty")
    assert g["is_simple_consumer_group"] is False
    assert group in listed(group_admin, gbroker, "Empty")
    assert group not in listed(group_admin, gbroker, "Stable")
    d = describe(group_admin, gbroker, group)[group]
    assert d["error"] is None and d["state"] == "Empty" and d["members"] == [], d
    assert offsets(group_admin, gbroker, group) == {tp: RECORDS for tp in ALL}


def test_empty_group_offsets_are_altered_deleted_and_the_group_deleted(gbroker, group_admin):
    group = "ga-idle"
    join_and_commit(gbroker, group).close()
    wait_listed_state(group_admin, gbroker, group, "Empty")

    out = tool(group_admin, gbroker, "alter-offsets", group, f"{TOPIC}:0=2", f"{TOPIC}:1=4")
    assert partition_errors(out, group) == {tp: None for tp in ALL}
    assert offsets(group_admin, gbroker, group) == {(TOPIC, 0): 2, (TOPIC, 1): 4}

    # A new member starts exactly at the altered offsets (and commits nothing).
    c = new_consumer(gbroker, group, client_id="ga-second")
    try:
        got = consume(c, (RECORDS - 2) + (RECORDS - 4))
    finally:
        c.close()
    assert sorted(got) == [(0, 2), (0, 3), (0, 4), (1, 4)]
    wait_listed_state(group_admin, gbroker, group, "Empty")

    out = tool(group_admin, gbroker, "delete-offsets", group, f"{TOPIC}:1")
    assert partition_errors(out, group) == {(TOPIC, 1): None}
    assert offsets(group_admin, gbroker, group) == {(TOPIC, 0): 2}
    out = tool(group_admin, gbroker, "list-offsets", group, "--partition", f"{TOPIC}:1")
    [p1] = out["groups"][0]["partitions"]
    assert p1["offset"] < 0 and p1["error"] is None, p1  # no committed offset

    assert group_errors(tool(group_admin, gbroker, "delete", group)) == {group: None}
    wait_listed_state(group_admin, gbroker, group, None, timeout=5)
    # Kafka describes an unknown group as Dead (DescribeGroups < v6 has no
    # GROUP_ID_NOT_FOUND for it); either way it has no members.
    d = describe(group_admin, gbroker, group)[group]
    assert d["state"] == "Dead" and err(d["error"]) in (None, "GROUP_ID_NOT_FOUND"), d
    assert d["members"] == []
    assert offsets(group_admin, gbroker, group) == {}

    out = tool(group_admin, gbroker, "delete", group, "ga-never-existed")
    assert group_errors(out) == {group: "GROUP_ID_NOT_FOUND", "ga-never-existed": "GROUP_ID_NOT_FOUND"}


# --------------------------------------------------------------------------
# kafka-python 2.0.2 KafkaAdminClient
# --------------------------------------------------------------------------

def test_kafka_python_admin_client(gbroker, group_admin):
    from kafka import KafkaAdminClient
    from kafka.errors import GroupIdNotFoundError, NoError, NonEmptyGroupError
    from kafka.structs import OffsetAndMetadata, TopicPartition

    group = "ga-kpy"
    admin = KafkaAdminClient(bootstrap_servers=gbroker.bootstrap, request_timeout_ms=15000,
                             api_version_auto_timeout_ms=10000)
    try:
        c = join_and_commit(gbroker, group)
        try:
            wait_listed_state(group_admin, gbroker, group, "Stable")
            assert (group, "consumer") in admin.list_consumer_groups()

            [d] = admin.describe_consumer_groups([group])
            assert (d.error_code, d.group, d.state, d.protocol_type, d.protocol) == \
                (0, group, "Stable", "consumer", "range"), d
            [m] = d.members
            assert m.client_id == "ga-consumer" and m.member_id.startswith("ga-consumer-"), m
            assert m.member_metadata.subscription == [TOPIC], m
            assert [(t, sorted(ps)) for t, ps in m.member_assignment.assignment] == \
                [(TOPIC, list(range(PARTITIONS)))], m

            assert admin.list_consumer_group_offsets(group) == \
                {TopicPartition(TOPIC, p): OffsetAndMetadata(RECORDS, "") for p in range(PARTITIONS)}
            assert admin.list_consumer_group_offsets(group, partitions=[TopicPartition(TOPIC, 0)]) == \
                {TopicPartition(TOPIC, 0): OffsetAndMetadata(RECORDS, "")}

            assert admin.delete_consumer_groups([group]) == [(group, NonEmptyGroupError)]
        finally:
            c.close()

        wait_listed_state(group_admin, gbroker, group, "Empty")
        [d] = admin.describe_consumer_groups([group])
        assert (d.error_code, d.state, d.members) == (0, "Empty", []), d
        assert admin.delete_consumer_groups([group, "ga-kpy-unknown"]) == \
            [(group, NoError), ("ga-kpy-unknown", GroupIdNotFoundError)]
        assert group not in [g for g, _ in admin.list_consumer_groups()]
        [d] = admin.describe_consumer_groups([group])
        assert (d.error_code, d.state, d.members) == (0, "Dead", []), d
        assert admin.list_consumer_group_offsets(group) == {}
    finally:
        admin.close()
