"""Admin APIs against the real broker with stock clients: CreateTopics,
DeleteTopics, CreatePartitions, DescribeConfigs, AlterConfigs,
IncrementalAlterConfigs, DeleteRecords, DescribeLogDirs and
DescribeTopicPartitions, through confluent-kafka (librdkafka), kafka-python,
kafkajs and kcat, plus raw requests for what no client here sends.
"""

from __future__ import annotations

import json
import shutil
import struct
import time
from pathlib import Path

import pytest

import kafka_wire as kw
from conftest import run

NODE_DIR = Path(__file__).resolve().parent / "node"

ADMIN_APIS = {19: (2, 7), 20: (1, 6), 21: (0, 2), 32: (1, 4), 33: (0, 2), 35: (1, 4), 37: (0, 3), 44: (0, 1),
              75: (0, 0)}


def admin_client(broker):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": broker.bootstrap})


def create(admin, topics, validate_only=False):
    """Creates NewTopics; returns {name: exception or None}."""
    fs = admin.create_topics(topics, request_timeout=15, validate_only=validate_only)
    out = {}
    for name, f in fs.items():
        try:
            f.result(timeout=20)
            out[name] = None
        except Exception as e:  # noqa: BLE001 - the KafkaException is the answer
            out[name] = e
    return out


# Kafka error codes (librdkafka names some differently, e.g. TOPIC_EXCEPTION).
ERRORS = {"NONE": 0, "UNKNOWN_TOPIC_OR_PARTITION": 3, "INVALID_TOPIC_EXCEPTION": 17, "TOPIC_ALREADY_EXISTS": 36,
          "INVALID_PARTITIONS": 37, "INVALID_REPLICATION_FACTOR": 38, "INVALID_CONFIG": 40}


def error_name(exc) -> str:
    code = exc.args[0].code() if exc is not None else 0
    return next((k for k, v in ERRORS.items() if v == code), str(code))


def list_topics(broker, topic=None):
    from confluent_kafka import Producer
    return Producer({"bootstrap.servers": broker.bootstrap}).list_topics(topic=topic, timeout=10)


@pytest.fixture(autouse=True)
def _needs_admin_apis(broker):
    advertised = kw.api_versions(broker.port, version=3).api_keys
    if 19 not in advertised:
        pytest.skip("this build does not serve CreateTopics yet")


def test_api_versions_advertise_kafka_4_ranges(broker):
    advertised = kw.api_versions(broker.port, version=3).api_keys
    for key, versions in ADMIN_APIS.items():
        assert advertised.get(key) == versions, f"api key {key}"


def test_confluent_create_describe_alter_partitions_delete(broker):
    from confluent_kafka.admin import ConfigResource, NewPartitions, NewTopic
    admin = admin_client(broker)
    res = create(admin, [NewTopic("orders", 3, 1, config={"retention.ms": "86400000", "cleanup.policy": "delete"})])
    assert res == {"orders": None}
    md = list_topics(broker, "orders").topics["orders"]
    assert md.error is None and len(md.partitions) == 3
    assert all(p.leader == 1 for p in md.partitions.values())

    fs = admin.describe_configs([ConfigResource("topic", "orders")], request_timeout=15)
    entries = list(fs.values())[0].result(timeout=20)
    assert entries["retention.ms"].value == "86400000"
    assert entries["retention.ms"].source == 1  # DYNAMIC_TOPIC_CONFIG
    assert entries["segment.bytes"].is_default or entries["segment.bytes"].source == 5

    # Legacy AlterConfigs replaces every override.
    fs = admin.alter_configs([ConfigResource("topic", "orders", set_config={"retention.ms": "1000"})], request_timeout=15)
    list(fs.values())[0].result(timeout=20)
    entries = list(admin.describe_configs([ConfigResource("topic", "orders")])
                   .values())[0].result(timeout=20)
    assert entries["retention.ms"].value == "1000"
    assert entries["cleanup.policy"].source == 5, "cleanup.policy override was replaced away"

    fs = admin.create_partitions([NewPartitions("orders", 5)], request_timeout=15)
    fs["orders"].result(timeout=20)
    deadline = time.monotonic() + 10
    while len(list_topics(broker, "orders").topics["orders"].partitions) != 5 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(list_topics(broker, "orders").topics["orders"].partitions) == 5

    fs = admin.create_partitions([NewPartitions("orders", 2)], request_timeout=15)
    with pytest.raises(Exception) as e:
        fs["orders"].result(timeout=20)
    assert error_name(e.value) == "INVALID_PARTITIONS"

    fs = admin.delete_topics(["orders"], request_timeout=15)
    fs["orders"].result(timeout=20)
    assert "orders" not in list_topics(broker).topics


def test_confluent_describe_broker_configs(broker):
    from confluent_kafka.admin import ConfigResource
    admin = admin_client(broker)
    entries = list(admin.describe_configs([ConfigResource("broker", "1")]).values())[0].result(timeout=20)
    assert entries["num.partitions"].value == "1"
    assert entries["log.dirs"].value == str(broker.log_dir)
    assert entries["log.dirs"].source == 4  # STATIC_BROKER_CONFIG
    assert entries["log.dirs"].is_read_only
    assert entries["log.retention.ms"].is_read_only is False
    with pytest.raises(Exception):
        list(admin.describe_configs([ConfigResource("broker", "7")]).values())[0].result(timeout=20)


def test_confluent_create_errors(broker):
    from confluent_kafka.admin import NewTopic
    admin = admin_client(broker)
    assert create(admin, [NewTopic("dup", 1, 1)]) == {"dup": None}
    res = create(admin, [NewTopic("dup", 1, 1), NewTopic("bad name", 1, 1), NewTopic("a" * 250, 1, 1),
                         NewTopic("..", 1, 1), NewTopic("rf", 1, 3),
                         NewTopic("cfg", 1, 1, config={"retention.ms": "soon"}),
                         NewTopic("unknowncfg", 1, 1, config={"no.such.config": "1"})])
    assert error_name(res["dup"]) == "TOPIC_ALREADY_EXISTS"
    assert error_name(res["bad name"]) == "INVALID_TOPIC_EXCEPTION"
    assert error_name(res["a" * 250]) == "INVALID_TOPIC_EXCEPTION"
    assert error_name(res[".."]) == "INVALID_TOPIC_EXCEPTION"
    assert error_name(res["rf"]) == "INVALID_REPLICATION_FACTOR"
    assert error_name(res["cfg"]) == "INVALID_CONFIG"
    assert error_name(res["unknowncfg"]) == "INVALID_CONFIG"

    fs = admin.delete_topics(["never-created"], request_timeout=15)
    with pytest.raises(Exception) as e:
        fs["never-created"].result(timeout=20)
    assert error_name(e.value) == "UNKNOWN_TOPIC_OR_PARTITION"


def test_confluent_validate_only_creates_nothing(broker):
    from confluent_kafka.admin import NewTopic
    admin = admin_client(broker)
    assert create(admin, [NewTopic("dry", 4, 1)], validate_only=True) == {"dry": None}
    assert "dry" not in list_topics(broker).topics
    res = create(admin, [NewTopic("dry-bad", 0, 1)], validate_only=True)
    assert error_name(res["dry-bad"]) == "INVALID_PARTITIONS"


def test_kcat_lists_created_topics_with_leaders(broker):
    from confluent_kafka.admin import NewTopic
    if shutil.which("kcat") is None:
        pytest.skip("kcat is not installed")
    assert create(admin_client(broker), [NewTopic("kcat-a", 4, 1), NewTopic("kcat-b", 1, 1)]) == \
        {"kcat-a": None, "kcat-b": None}
    res = run(["kcat", "-b", broker.bootstrap, "-L", "-J", "-m", "10"], check=True)
    md = json.loads(res.stdout)
    topics = {t["topic"]: t for t in md["topics"]}
    assert len(topics["kcat-a"]["partitions"]) == 4
    assert all(p["leader"] == 1 and p["replicas"] == [{"id": 1}] for p in topics["kcat-a"]["partitions"])
    assert len(topics["kcat-b"]["partitions"]) == 1


def test_kafka_python_admin(broker):
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=15000)
    try:
        admin.create_topics([NewTopic("kp", 2, 1, topic_configs={"retention.bytes": "1048576"})])
        with pytest.raises(TopicAlreadyExistsError):
            admin.create_topics([NewTopic("kp", 2, 1)])
        resp = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "kp")])
        resources = resp[0].resources
        assert resources[0][0] == 0, resources[0]
        configs = {c[0]: c[1] for c in resources[0][4]}
        assert configs["retention.bytes"] == "1048576"
        assert "kp" in admin.list_topics()
        admin.delete_topics(["kp"])
        with pytest.raises(UnknownTopicOrPartitionError):
            admin.delete_topics(["kp"])
    finally:
        admin.close()


def test_kafkajs_admin(broker):
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "kafkajs").is_dir():
        pytest.skip("node or kafkajs is not installed")
    res = run(["node", NODE_DIR / "admin_ops.js", broker.bootstrap, "js-topic", "60000"], timeout=90)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["create"] == {"ok": True, "value": True}, out["create"]
    # kafkajs answers TOPIC_ALREADY_EXISTS with "nothing created" (false).
    assert out["duplicate"] == {"ok": True, "value": False}, out["duplicate"]
    md = out["metadata"]["value"]["topics"][0]
    assert md["name"] == "js-topic" and len(md["partitions"]) == 2

    resources = out["describe"]["value"]["resources"]
    topic_res = next(r for r in resources if r["resourceType"] == 2)
    assert topic_res["errorCode"] == 0
    topic_cfg = {c["configName"]: c for c in topic_res["configEntries"]}
    assert set(topic_cfg) == {"retention.ms", "cleanup.policy"}
    assert topic_cfg["retention.ms"]["configValue"] == "3600000"
    broker_res = next(r for r in resources if r["resourceType"] == 4)
    assert broker_res["errorCode"] == 0
    assert any(c["configName"] == "num.partitions" for c in broker_res["configEntries"])

    assert out["alter"]["ok"], out["alter"]
    after = out["describeAfterAlter"]["value"]["resources"][0]["configEntries"]
    assert after[0]["configValue"] == "7200000"
    assert out["partitions"]["ok"], out["partitions"]
    assert len(out["metadataAfterPartitions"]["value"]["topics"][0]["partitions"]) == 3

    if 0 in kw.api_versions(broker.port, version=3).api_keys:  # Produce is served: DeleteRecords for real
        assert out["produce"]["ok"], out["produce"]
    if out["produce"]["ok"]:
        assert out["deleteRecords"]["ok"], out["deleteRecords"]
        p0 = next(o for o in out["offsets"]["value"] if o["partition"] == 0)
        assert p0["low"] == "4" and p0["high"] == "10", p0
    assert out["delete"]["ok"], out["delete"]
    assert "js-topic" not in out["list"]["value"]


# ---- raw requests: what the clients here do not send ----------------------

def _call(broker, api_key: int, version: int, body: bytes) -> bytes:
    flexible = {19: 5, 20: 4, 21: 2, 35: 2, 44: 1, 75: 0}[api_key] <= version
    with kw.connect(broker.port) as s:
        s.sendall(kw.frame(kw.request_header(api_key, version, 7, flexible=flexible) + body))
        corr, payload = kw.split_response_header(kw.read_frame(s), flexible)
    assert corr == 7
    return payload


def test_raw_describe_log_dirs_and_delete_records(broker):
    from confluent_kafka.admin import NewTopic
    assert create(admin_client(broker), [NewTopic("dirs", 2, 1)]) == {"dirs": None}
    # DescribeLogDirs v4 (flexible), all topics: topics = null.
    body = kw.uvarint(0) + kw.empty_tagged_fields()
    r = kw.Reader(_call(broker, 35, 4, body))
    r.int32()  # throttle
    assert r.int16() == 0
    n_dirs = r.uvarint() - 1
    assert n_dirs == 1
    assert r.int16() == 0
    assert r.compact_string() == str(broker.log_dir)
    names = []
    for _ in range(r.uvarint() - 1):
        names.append(r.compact_string())
        for _ in range(r.uvarint() - 1):
            r.int32(), r.int64(), r.int64(), r.int8()
            r.tagged_fields()
        r.tagged_fields()
    assert "dirs" in names
    assert r.int64() > 0 and r.int64() >= 0  # total / usable bytes

    # DeleteRecords v2 past the (empty) partition's high watermark.
    body = (kw.uvarint(2) + kw.compact_string("dirs") + kw.uvarint(2) + kw.int32(0) + struct.pack(">q", 5)
            + kw.empty_tagged_fields() + kw.empty_tagged_fields() + kw.int32(5000) + kw.empty_tagged_fields())
    r = kw.Reader(_call(broker, 21, 2, body))
    r.int32()
    assert r.uvarint() - 1 == 1
    assert r.compact_string() == "dirs"
    assert r.uvarint() - 1 == 1
    assert r.int32() == 0
    assert r.int64() == -1
    assert r.int16() == 1  # OFFSET_OUT_OF_RANGE


def test_raw_describe_topic_partitions_pages(broker):
    from confluent_kafka.admin import NewTopic
    assert create(admin_client(broker), [NewTopic("dtp", 3, 1)]) == {"dtp": None}
    body = kw.uvarint(1) + kw.int32(2) + b"\xff" + kw.empty_tagged_fields()  # all topics, limit 2, no cursor
    r = kw.Reader(_call(broker, 75, 0, body))
    r.int32()
    assert r.uvarint() - 1 == 1
    assert r.int16() == 0
    assert r.compact_string() == "dtp"
    r.uuid()
    assert r.int8() == 0
    assert r.uvarint() - 1 == 2


def test_raw_incremental_alter_configs(broker):
    from confluent_kafka.admin import ConfigResource, NewTopic
    admin = admin_client(broker)
    assert create(admin, [NewTopic("inc", 1, 1)]) == {"inc": None}

    def alter(resource_type: int, name: str, key: str, op: int, value: str | None) -> tuple[int, str | None]:
        body = (kw.uvarint(2) + kw.int8(resource_type) + kw.compact_string(name)
                + kw.uvarint(2) + kw.compact_string(key) + kw.int8(op) + kw.compact_string(value)
                + kw.empty_tagged_fields() + kw.empty_tagged_fields()
                + kw.boolean(False) + kw.empty_tagged_fields())
        r = kw.Reader(_call(broker, 44, 1, body))
        r.int32()
        assert r.uvarint() - 1 == 1
        err, msg = r.int16(), r.compact_string()
        assert r.int8() == resource_type and r.compact_string() == name
        return err, msg

    assert alter(2, "inc", "retention.ms", 0, "123456") == (0, None)
    assert alter(2, "inc", "cleanup.policy", 2, "compact") == (0, None)  # APPEND
    entries = list(admin.describe_configs([ConfigResource("topic", "inc")]).values())[0].result(timeout=20)
    assert entries["retention.ms"].value == "123456"
    assert entries["cleanup.policy"].value == "delete,compact"
    assert alter(2, "inc", "retention.ms", 0, "x")[0] == 40  # INVALID_CONFIG
    assert alter(2, "missing", "retention.ms", 0, "1")[0] == 3  # UNKNOWN_TOPIC_OR_PARTITION
    # A dynamic broker config shows up in DescribeConfigs with its source.
    assert alter(4, "1", "log.retention.bytes", 0, "1073741824") == (0, None)
    entries = list(admin.describe_configs([ConfigResource("broker", "1")]).values())[0].result(timeout=20)
    assert entries["log.retention.bytes"].value == "1073741824"
    assert entries["log.retention.bytes"].source == 2  # DYNAMIC_BROKER_CONFIG
    # ... and survives a restart, as it lives in the metadata log.
    broker.terminate()
    broker.start()
    admin = admin_client(broker)
    entries = list(admin.describe_configs([ConfigResource("broker", "1")]).values())[0].result(timeout=20)
    assert entries["log.retention.bytes"].value == "1073741824"
