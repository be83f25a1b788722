"""Foundation integration tests: the real broker, stock clients, raw bytes.

At this stage the broker serves ApiVersions (v0-4), Metadata (v0-12, no
topics) and DescribeCluster (v0-1). These tests drive it with kcat
(librdkafka), confluent-kafka, kafka-python and kafkajs exactly as a user
would, and with hand-built frames for the malformed-input cases.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import socket
import time
from pathlib import Path

import pytest

import kafka_wire as kw
from conftest import REPO_ROOT, run

NODE_DIR = Path(__file__).resolve().parent / "node"

# What the broker must advertise at this stage (it may advertise more later).
REQUIRED_RANGES = {
    kw.API_API_VERSIONS: (0, 4),
    kw.API_METADATA: (0, 12),
    kw.API_DESCRIBE_CLUSTER: (0, 1),
}


def assert_required_ranges(resp: kw.ApiVersionsResponse) -> None:
    assert resp.duplicate_keys == [], f"api keys listed twice: {resp.duplicate_keys}"
    for key, rng in REQUIRED_RANGES.items():
        assert resp.api_keys.get(key) == rng, \
            f"api key {key}: advertised {resp.api_keys.get(key)}, expected {rng}"
    for key, (lo, hi) in resp.api_keys.items():
        assert 0 <= lo <= hi, f"api key {key} has a bad range {lo}-{hi}"


def assert_connection_works(port: int) -> None:
    """A fresh connection still gets a correct ApiVersions answer."""
    resp = kw.api_versions(port, version=3, correlation_id=4242)
    assert resp.error_code == kw.ERR_NONE
    assert_required_ranges(resp)


# ==========================================================================
# kcat (librdkafka 2.0.2)
# ==========================================================================

def kcat(*args, timeout=30):
    if shutil.which("kcat") is None:
        pytest.fail("kcat is not installed (tools/install-deps.sh installs it)", pytrace=False)
    return run(["kcat", *args], timeout=timeout)


def test_kcat_list(broker):
    res = kcat("-b", broker.bootstrap, "-m", "10", "-L")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert re.search(r"^\s*1 brokers:\s*$", out, re.M), out
    assert re.search(rf"^\s*broker 1 at 127\.0\.0\.1:{broker.port}\b", out, re.M), out
    assert re.search(r"^\s*0 topics:\s*$", out, re.M), out


def test_kcat_list_json(broker):
    res = kcat("-b", broker.bootstrap, "-m", "10", "-L", "-J")
    assert res.returncode == 0, res.stderr
    md = json.loads(res.stdout)
    assert md["brokers"] == [{"id": 1, "name": f"127.0.0.1:{broker.port}"}], md
    assert md["topics"] == [], md
    assert md["controllerid"] == 1, md


NO_AUTO_CREATE = {"auto.create.topics.enable": "false"}


def test_kcat_missing_topic(broker_factory):
    broker = broker_factory.create(extra_config=NO_AUTO_CREATE)
    res = kcat("-b", broker.bootstrap, "-m", "10", "-L", "-t", "missing")
    out = res.stdout + res.stderr
    assert re.search(r'topic "missing" with 0 partitions: Broker: Unknown topic or partition',
                     out), out

    res = kcat("-b", broker.bootstrap, "-m", "10", "-L", "-J", "-t", "missing")
    md = json.loads(res.stdout)
    assert md["topics"] == [{"topic": "missing", "error": "Broker: Unknown topic or partition",
                             "partitions": []}], md
    assert md["brokers"] == [{"id": 1, "name": f"127.0.0.1:{broker.port}"}], md


# ==========================================================================
# confluent-kafka (Python, librdkafka 2.0.2)
# ==========================================================================

def test_confluent_list_topics(broker):
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": broker.bootstrap, "socket.timeout.ms": 10000})
    md = admin.list_topics(timeout=10)
    assert md.cluster_id == broker.cluster_id
    assert md.controller_id == 1
    assert sorted(md.brokers) == [1]
    b = md.brokers[1]
    assert (b.id, b.host, b.port) == (1, "127.0.0.1", broker.port)
    assert md.topics == {}
    del admin


def test_confluent_list_unknown_topic(broker_factory):
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import AdminClient

    broker = broker_factory.create(extra_config=NO_AUTO_CREATE)

    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    md = admin.list_topics(topic="nope", timeout=10)
    assert list(md.topics) == ["nope"], md.topics
    t = md.topics["nope"]
    assert t.error is not None, "expected a topic error for an unknown topic"
    assert t.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART, t.error
    assert t.partitions == {}
    assert md.cluster_id == broker.cluster_id
    del admin


# ==========================================================================
# kafka-python 2.0.2
# ==========================================================================

# kafka-python guesses the broker version from the advertised ranges
# (/work/shared/kafka-protocol/CLIENTS.md): the first (api key, version)
# inside the broker's range wins.
KAFKA_PYTHON_PROBES = [
    ((2, 5, 0), 29, 2),   # DescribeAcls v2
    ((2, 4, 0), 0, 8),    # Produce v8
    ((2, 3, 0), 1, 11),   # Fetch v11
    ((2, 2, 0), 2, 5),    # ListOffsets v5
    ((2, 1, 0), 1, 10),   # Fetch v10
    ((2, 0, 0), 1, 8),    # Fetch v8
    ((1, 1, 0), 1, 7),    # Fetch v7
    ((1, 0, 0), 3, 5),    # Metadata v5
    ((0, 11, 0), 3, 4),   # Metadata v4
    ((0, 10, 2), 9, 2),   # OffsetFetch v2
    ((0, 10, 1), 3, 2),   # Metadata v2
]


def expected_kafka_python_version(api_keys: dict[int, tuple[int, int]]) -> tuple:
    for version, key, api_version in KAFKA_PYTHON_PROBES:
        if key in api_keys and api_keys[key][0] <= api_version <= api_keys[key][1]:
            return version
    return (0, 10, 0)


def test_kafka_python_check_version(broker):
    from kafka import KafkaClient

    advertised = kw.api_versions(broker.port, version=0).api_keys
    expected = expected_kafka_python_version(advertised)
    # Metadata 0-12 is advertised, so at least Metadata v5 -> (1, 0, 0).
    assert expected >= (1, 0, 0)

    client = KafkaClient(bootstrap_servers=broker.bootstrap, api_version_auto_timeout_ms=5000,
                         request_timeout_ms=10000)
    try:
        assert client.config["api_version"] == expected
        assert client.check_version(timeout=5) == expected
    finally:
        client.close()


def test_kafka_python_describe_cluster(broker):
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, api_version_auto_timeout_ms=5000,
                             request_timeout_ms=10000)
    try:
        desc = admin.describe_cluster()
    finally:
        admin.close()
    assert desc["cluster_id"] == broker.cluster_id, desc
    assert desc["controller_id"] == 1, desc
    assert [(b["node_id"], b["host"], b["port"]) for b in desc["brokers"]] == \
        [(1, "127.0.0.1", broker.port)], desc
    assert desc.get("throttle_time_ms", 0) == 0, desc


# ==========================================================================
# kafkajs 2.2.4 (node)
# ==========================================================================

def test_kafkajs_describe_cluster(broker):
    if not (NODE_DIR / "node_modules" / "kafkajs" / "package.json").is_file():
        pytest.fail(f"kafkajs is not installed: run `npm ci` in {NODE_DIR}", pytrace=False)
    version = json.loads((NODE_DIR / "node_modules" / "kafkajs" / "package.json").read_text())
    assert version["version"] == "2.2.4"

    res = run(["node", NODE_DIR / "describe_cluster.js", broker.bootstrap, "20000"], timeout=30)
    assert res.returncode == 0, f"stdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    cluster = json.loads(res.stdout.strip().splitlines()[-1])
    assert cluster["clusterId"] == broker.cluster_id, cluster
    assert cluster["controller"] == 1, cluster
    assert cluster["brokers"] == [{"nodeId": 1, "host": "127.0.0.1", "port": broker.port}], cluster


# ==========================================================================
# Raw protocol: well-formed requests
# ==========================================================================

@pytest.mark.parametrize("version", [0, 1, 2, 3, 4])
def test_api_versions(broker, version):
    resp = kw.api_versions(broker.port, version=version, correlation_id=1000 + version)
    assert resp.error_code == kw.ERR_NONE
    assert_required_ranges(resp)
    if version >= 1:
        assert resp.throttle_time_ms == 0


def test_api_versions_unsupported_version(broker):
    """Kafka answers an unknown ApiVersions version with UNSUPPORTED_VERSION
    in a v0 body that still lists ApiVersions, and keeps the connection open
    so the client can retry (librdkafka and kafkajs rely on this)."""
    with kw.connect(broker.port) as s:
        s.sendall(kw.frame(kw.request_header(kw.API_API_VERSIONS, 99, 77, flexible=True)
                           + kw.compact_string("samsa-itest") + kw.compact_string("0.1")
                           + kw.empty_tagged_fields()))
        cid, body = kw.split_response_header(kw.read_frame(s), flexible_header=False)
        assert cid == 77
        resp = kw.parse_api_versions(body, 0)  # strict: a v0 body, no trailing bytes
        assert resp.error_code == kw.ERR_UNSUPPORTED_VERSION
        assert resp.api_keys.get(kw.API_API_VERSIONS) == REQUIRED_RANGES[kw.API_API_VERSIONS]

        # The client retries on the same connection, as librdkafka does.
        s.sendall(kw.api_versions_request(3, 78))
        cid, body = kw.split_response_header(kw.read_frame(s), flexible_header=False)
        assert cid == 78
        retry = kw.parse_api_versions(body, 3)
        assert retry.error_code == kw.ERR_NONE
        assert_required_ranges(retry)


def test_api_versions_invalid_software_name(broker):
    """v3+ validates ClientSoftwareName/Version; Kafka answers INVALID_REQUEST
    (42) in a normal v3 response."""
    body = kw.compact_string("bad name!") + kw.compact_string("1.0") + kw.empty_tagged_fields()
    with kw.connect(broker.port) as s:
        s.sendall(kw.frame(kw.request_header(kw.API_API_VERSIONS, 3, 5, flexible=True) + body))
        cid, resp_body = kw.split_response_header(kw.read_frame(s), flexible_header=False)
    assert cid == 5
    assert kw.parse_api_versions(resp_body, 3).error_code == 42


@pytest.mark.parametrize("correlation_id", [0, -1, 2**31 - 1, -2**31])
def test_correlation_id_echoed(broker, correlation_id):
    resp = kw.api_versions(broker.port, version=0, correlation_id=correlation_id)
    assert resp.error_code == 0


def test_null_client_id(broker):
    with kw.connect(broker.port) as s:
        s.sendall(kw.api_versions_request(1, 3, client_id=None))
        cid, body = kw.split_response_header(kw.read_frame(s), flexible_header=False)
    assert cid == 3 and kw.parse_api_versions(body, 1).error_code == 0


def test_fragmented_requests(broker):
    """Requests dribbled in odd-sized pieces, split across frame boundaries."""
    reqs = [kw.api_versions_request(v, 100 + i) for i, v in enumerate([0, 3, 1, 4])]
    reqs.append(kw.metadata_request(12, 104))
    data = b"".join(reqs)
    with kw.connect(broker.port) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(data[:1])
        time.sleep(0.05)
        for i in range(1, len(data), 7):
            s.sendall(data[i:i + 7])
            time.sleep(0.002)
        for i, v in enumerate([0, 3, 1, 4]):
            cid, body = kw.split_response_header(kw.read_frame(s), flexible_header=False)
            assert cid == 100 + i
            assert kw.parse_api_versions(body, v).error_code == 0
        cid, body = kw.split_response_header(kw.read_frame(s), flexible_header=True)
        assert cid == 104
        assert kw.parse_metadata(body, 12).cluster_id == broker.cluster_id


def test_many_concurrent_connections(broker):
    conns = [kw.connect(broker.port) for _ in range(64)]
    try:
        for i, c in enumerate(conns):
            c.sendall(kw.api_versions_request(i % 5, i))
        for i, c in enumerate(conns):
            cid, body = kw.split_response_header(kw.read_frame(c), flexible_header=False)
            assert cid == i
            assert kw.parse_api_versions(body, i % 5).error_code == 0
    finally:
        for c in conns:
            c.close()
    assert_connection_works(broker.port)


def test_pipelined_requests_answered_in_order(broker):
    versions = [0, 3, 1, 4, 2, 0, 3, 3, 1, 4]
    cids = [7000 + 13 * i for i in range(len(versions))]
    with kw.connect(broker.port) as s:
        s.sendall(b"".join(kw.api_versions_request(v, c) for v, c in zip(versions, cids)))
        for v, c in zip(versions, cids):
            cid, body = kw.split_response_header(kw.read_frame(s), flexible_header=False)
            assert cid == c, f"expected correlation id {c}, got {cid}"
            resp = kw.parse_api_versions(body, v)
            assert resp.error_code == kw.ERR_NONE
            assert_required_ranges(resp)


def test_pipelined_mixed_apis(broker):
    """ApiVersions, Metadata and DescribeCluster back to back on one socket,
    the way kafka-python's check_version pipelines ApiVersions + Metadata."""
    reqs = [
        (kw.api_versions_request(0, 1), "av0"),
        (kw.metadata_request(0, 2, topics=[]), "md0"),
        (kw.describe_cluster_request(0, 3), "dc0"),
        (kw.metadata_request(12, 4), "md12"),
        (kw.api_versions_request(3, 5), "av3"),
    ]
    with kw.connect(broker.port) as s:
        s.sendall(b"".join(r for r, _ in reqs))
        for i, (_, kind) in enumerate(reqs, start=1):
            flexible_header = kind in ("dc0", "md12")
            cid, body = kw.split_response_header(kw.read_frame(s), flexible_header)
            assert cid == i, f"{kind}: expected correlation id {i}, got {cid}"
            if kind == "av0":
                assert kw.parse_api_versions(body, 0).error_code == 0
            elif kind == "av3":
                assert kw.parse_api_versions(body, 3).error_code == 0
            elif kind == "md0":
                assert kw.parse_metadata(body, 0).topics == []
            elif kind == "md12":
                assert kw.parse_metadata(body, 12).cluster_id == broker.cluster_id
            else:
                assert kw.parse_describe_cluster(body, 0).cluster_id == broker.cluster_id


def metadata_roundtrip(port: int, version: int, topics=None, cid: int = 11):
    with kw.connect(port) as s:
        s.sendall(kw.metadata_request(version, cid, topics=topics))
        got, body = kw.split_response_header(kw.read_frame(s), flexible_header=version >= 9)
        assert got == cid
        return kw.parse_metadata(body, version)


@pytest.mark.parametrize("version", list(range(13)))
def test_metadata_all_versions(broker, version):
    md = metadata_roundtrip(broker.port, version, topics=[] if version == 0 else None)
    assert [(b.node_id, b.host, b.port) for b in md.brokers] == [(1, "127.0.0.1", broker.port)]
    if version >= 1:
        assert md.brokers[0].rack is None
        assert md.controller_id == 1
    if version >= 2:
        assert md.cluster_id == broker.cluster_id
    if version >= 3:
        assert md.throttle_time_ms == 0
    assert md.topics == []


@pytest.mark.parametrize("version", [0, 1, 4, 5, 9, 10, 12])
def test_metadata_unknown_topic(broker_factory, version):
    broker = broker_factory.create(extra_config=NO_AUTO_CREATE)
    md = metadata_roundtrip(broker.port, version, topics=["nope"])
    assert len(md.topics) == 1, md.topics
    t = md.topics[0]
    assert (t.name, t.error_code, t.partitions) == ("nope", kw.ERR_UNKNOWN_TOPIC_OR_PARTITION, 0)
    assert len(md.brokers) == 1


@pytest.mark.parametrize("version", [0, 1])
def test_describe_cluster(broker, version):
    with kw.connect(broker.port) as s:
        s.sendall(kw.describe_cluster_request(version, 31))
        cid, body = kw.split_response_header(kw.read_frame(s), flexible_header=True)
    assert cid == 31
    dc = kw.parse_describe_cluster(body, version)
    assert dc.error_code == kw.ERR_NONE
    assert dc.error_message is None
    assert dc.cluster_id == broker.cluster_id
    assert dc.controller_id == 1
    assert [(b.node_id, b.host, b.port, b.rack) for b in dc.brokers] == \
        [(1, "127.0.0.1", broker.port, None)]
    if version >= 1:
        assert dc.endpoint_type == 1


def test_configured_node_id_and_advertised_host(broker_factory):
    """Nothing may be hard-coded: node id 5, advertised host 'localhost'."""
    b = broker_factory.create(node_id=5, advertised_host="localhost")
    for version in (1, 5, 12):
        md = metadata_roundtrip(b.port, version)
        assert [(x.node_id, x.host, x.port) for x in md.brokers] == [(5, "localhost", b.port)]
        assert md.controller_id == 5
    with kw.connect(b.port) as s:
        s.sendall(kw.describe_cluster_request(0, 1))
        _, body = kw.split_response_header(kw.read_frame(s), flexible_header=True)
    dc = kw.parse_describe_cluster(body, 0)
    assert (dc.controller_id, [(x.node_id, x.host, x.port) for x in dc.brokers]) == \
        (5, [(5, "localhost", b.port)])
    res = kcat("-b", b.bootstrap, "-m", "10", "-L", "-J")
    assert json.loads(res.stdout)["brokers"] == [{"id": 5, "name": f"localhost:{b.port}"}]


# ==========================================================================
# Raw protocol: bad input closes that connection only
# ==========================================================================

def send_and_expect_close(port: int, data: bytes) -> None:
    other = kw.connect(port)  # opened before the bad bytes are sent
    try:
        with kw.connect(port) as s:
            s.sendall(data)
            received = kw.wait_closed(s, timeout=5)
        assert received == b"", f"broker answered before closing: {received[:64]!r}"
        # The connection opened earlier still works ...
        other.sendall(kw.api_versions_request(0, 5))
        cid, body = kw.split_response_header(kw.read_frame(other), flexible_header=False)
        assert cid == 5 and kw.parse_api_versions(body, 0).error_code == 0
    finally:
        other.close()
    # ... and so does a new one.
    assert_connection_works(port)


def test_oversized_frame_closes_connection(broker_factory):
    b = broker_factory.create(overrides=["socket.request.max.bytes=1000"])
    # Just under the limit is fine: ApiVersions v0 with a long client id.
    with kw.connect(b.port) as s:
        req = kw.api_versions_request(0, 9, client_id="c" * 900)
        assert len(req) - 4 <= 1000
        s.sendall(req)
        cid, body = kw.split_response_header(kw.read_frame(s), flexible_header=False)
        assert cid == 9 and kw.parse_api_versions(body, 0).error_code == 0
    # A size prefix above the limit closes the connection without reading the body.
    send_and_expect_close(b.port, kw.int32(2000) + b"\x00" * 100)


def test_oversized_frame_default_limit(broker):
    """Default socket.request.max.bytes is 104857600 (100 MiB)."""
    send_and_expect_close(broker.port, kw.int32(104857600 + 1) + b"\x00" * 16)


def test_negative_frame_size_closes_connection(broker):
    send_and_expect_close(broker.port, kw.int32(-1) + b"\x00" * 16)


def test_truncated_header_closes_connection(broker):
    # A 3-byte frame cannot hold api key + version + correlation id.
    send_and_expect_close(broker.port, kw.frame(b"\x00\x12\x00"))


def test_client_id_overruns_frame_closes_connection(broker):
    hdr = kw.int16(kw.API_API_VERSIONS) + kw.int16(0) + kw.int32(1) + kw.int16(500) + b"abc"
    send_and_expect_close(broker.port, kw.frame(hdr))


def test_garbage_frame_closes_connection(broker):
    send_and_expect_close(broker.port, kw.frame(bytes(range(256)) * 2))


def test_unknown_api_key_closes_connection(broker):
    send_and_expect_close(broker.port, kw.frame(kw.request_header(9999, 0, 1)))


def test_malformed_flexible_body_closes_connection(broker):
    # Metadata v12 whose topic array claims 1000 entries but holds none.
    bad = kw.request_header(kw.API_METADATA, 12, 1, flexible=True) + kw.uvarint(1001)
    send_and_expect_close(broker.port, kw.frame(bad))


def test_partial_frame_then_disconnect_is_harmless(broker):
    with kw.connect(broker.port) as s:
        s.sendall(kw.int32(100) + b"\x00\x12")  # promise 100 bytes, send 2, hang up
    assert_connection_works(broker.port)


# ==========================================================================
# Storage CLI and start-up errors
# ==========================================================================

def test_random_uuid(samsa):
    ids = [run([samsa, "storage", "random-uuid"], check=True).stdout.strip() for _ in range(5)]
    assert len(set(ids)) == 5, ids
    for cid in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cid), cid
        assert not cid.startswith("-"), cid  # would look like a CLI flag
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16


def test_format_writes_meta_properties(broker_factory):
    b = broker_factory.create(node_id=3, start=False)
    props = dict(line.split("=", 1) for line in
                 (b.log_dir / "meta.properties").read_text().splitlines()
                 if line and not line.startswith("#"))
    assert props.get("cluster.id") == b.cluster_id, props
    assert props.get("node.id") == "3", props
    assert props.get("version") == "1", props


def test_format_twice_fails(broker_factory, samsa):
    b = broker_factory.create(start=False)
    meta = (b.log_dir / "meta.properties").read_text()
    res = run([samsa, "storage", "format", "-t", b.cluster_id, "-c", b.config_path])
    assert res.returncode != 0
    msg = (res.stdout + res.stderr).strip()
    assert msg and len(msg.splitlines()) == 1, f"expected a one-line error, got:\n{msg}"
    assert (b.log_dir / "meta.properties").read_text() == meta

    res = run([samsa, "storage", "format", "-t", b.cluster_id, "-c", b.config_path,
               "--ignore-formatted"])
    assert res.returncode == 0, res.stdout + res.stderr
    assert (b.log_dir / "meta.properties").read_text() == meta


def test_server_refuses_unformatted_dir(broker_factory, samsa):
    b = broker_factory.create(format=False, start=False)
    res = run([samsa, "server", b.config_path], timeout=20)
    assert res.returncode != 0
    assert "format" in (res.stdout + res.stderr), res.stdout + res.stderr


def test_server_rejects_bad_config_value(broker_factory, samsa):
    b = broker_factory.create(start=False)
    lines = b.config_path.read_text().splitlines()
    lines.append("num.partitions=abc")
    b.config_path.write_text("\n".join(lines) + "\n")
    lineno = len(lines)
    res = run([samsa, "server", b.config_path], timeout=20)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "num.partitions" in out, out
    assert re.search(rf"\b{lineno}\b", out), f"line {lineno} not named in:\n{out}"


def test_server_rejects_bad_override(broker_factory, samsa):
    b = broker_factory.create(start=False)
    res = run([samsa, "server", b.config_path, "--override", "num.partitions=abc"], timeout=20)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "num.partitions" in out, out


def test_bin_scripts(broker_factory):
    storage = REPO_ROOT / "bin" / "kafka-storage.sh"
    res = run([storage, "random-uuid"], check=True)
    cid = res.stdout.strip()
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cid), res.stdout

    b = broker_factory.create(format=False, start=False)
    b.overrides = ["num.network.threads=2"]
    run([storage, "format", "-t", cid, "-c", b.config_path], check=True)
    b.cluster_id = cid
    b.start(launcher=[REPO_ROOT / "bin" / "kafka-server-start.sh"])
    md = metadata_roundtrip(b.port, 2)
    assert md.cluster_id == cid
    rc, _ = b.terminate()  # SIGTERM reaches samsa through the exec in the script
    assert rc == 0


# ==========================================================================
# Shutdown
# ==========================================================================

def test_sigterm_graceful_shutdown(broker):
    idle = kw.connect(broker.port)          # an idle client
    busy = kw.connect(broker.port)          # a client with a request half sent
    try:
        busy.sendall(kw.int32(50) + b"\x00\x12")
        assert_connection_works(broker.port)
        rc, secs = broker.terminate(timeout=15)
        assert rc == 0, f"exit code {rc} after SIGTERM"
        assert secs < 5, f"shutdown took {secs:.1f}s"
        assert not kw_port_accepts(broker.port)
    finally:
        idle.close()
        busy.close()


def kw_port_accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
