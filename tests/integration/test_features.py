"""Finalized features (KIP-584) on real processes: `transaction.version`.

A new cluster is formatted with transaction.version 2 (Kafka 4.0's level for
a new cluster), `storage format --feature transaction.version=0` leaves it
off, UpdateFeatures (API 57) changes it with Kafka's rules, and the level
reaches every node's ApiVersions, also after a restart and on a three-node
cluster where a broker forwards the request to the active controller."""
from __future__ import annotations

import cluster as cl
import kafka_wire as kw
from conftest import run, samsa_bin

INVALID_UPDATE_VERSION = 95
UPGRADE, SAFE_DOWNGRADE, UNSAFE_DOWNGRADE = 1, 2, 3


def api_versions(port: int, version: int = 4) -> dict:
    with kw.SchemaConnection(port) as c:
        return c.call("ApiVersions", version, ClientSoftwareName="samsa-itest", ClientSoftwareVersion="1.0")


def finalized(port: int, version: int = 4) -> dict[str, int]:
    out = {}
    for f in api_versions(port, version).get("FinalizedFeatures", []):
        assert f["MinVersionLevel"] == f["MaxVersionLevel"], f
        out[f["Name"]] = f["MaxVersionLevel"]
    return out


def update(port: int, level: int, upgrade_type: int = UPGRADE, validate_only: bool = False,
           feature: str = "transaction.version", version: int = 1) -> dict:
    key = {"Feature": feature, "MaxVersionLevel": level}
    if version == 0:
        key["AllowDowngrade"] = upgrade_type != UPGRADE
    else:
        key["UpgradeType"] = upgrade_type
    values = {"timeoutMs": 15000, "FeatureUpdates": [key]}
    if version >= 1:
        values["ValidateOnly"] = validate_only
    with kw.SchemaConnection(port, timeout=30) as c:
        resp = c.call("UpdateFeatures", version, **values)
    # v0-1: one result per feature, carrying the outcome of the whole request.
    assert [r["Feature"] for r in resp["Results"]] == [feature], resp
    assert resp["Results"][0]["ErrorCode"] == resp["ErrorCode"], resp
    return resp


def test_a_new_cluster_has_transaction_version_2(broker_factory):
    b = broker_factory.create()
    v4 = api_versions(b.port, 4)
    supported = {f["Name"]: (f["MinVersion"], f["MaxVersion"]) for f in v4["SupportedFeatures"]}
    assert supported["transaction.version"] == (0, 2), supported
    assert finalized(b.port) == {"metadata.version": 21, "transaction.version": 2}
    # ApiVersions v3: a supported range starting at 0 is left out (old
    # clients reject it, KAFKA-17492); the finalized level is still there.
    v3 = api_versions(b.port, 3)
    assert "transaction.version" not in {f["Name"] for f in v3["SupportedFeatures"]}
    assert finalized(b.port, 3)["transaction.version"] == 2
    # UpdateFeatures v0-1 on both listeners.
    for port in (b.port, b.controller_port):
        keys = {k["ApiKey"]: (k["MinVersion"], k["MaxVersion"]) for k in api_versions(port, 3)["ApiKeys"]}
        assert keys.get(57) == (0, 1), keys


def test_format_feature_off_then_update_features(broker_factory):
    b = broker_factory.create(format=False, start=False)
    b.cluster_id = kw_uuid()
    res = run([samsa_bin(), "storage", "format", "-t", b.cluster_id, "-c", b.config_path,
               "--feature", "transaction.version=0"])
    assert res.returncode == 0, res.stderr
    b.start()
    assert finalized(b.port) == {"metadata.version": 21}
    epoch = api_versions(b.port)["FinalizedFeaturesEpoch"]

    # validate_only checks and changes nothing.
    assert update(b.port, 2, validate_only=True)["ErrorCode"] == 0
    assert update(b.port, 3, validate_only=True)["ErrorCode"] == INVALID_UPDATE_VERSION
    assert "transaction.version" not in finalized(b.port)

    resp = update(b.port, 2)
    assert resp["ErrorCode"] == 0 and resp["ErrorMessage"] is None, resp
    after = api_versions(b.port)
    assert finalized(b.port)["transaction.version"] == 2
    assert after["FinalizedFeaturesEpoch"] > epoch

    # A downgrade needs a downgrade type (v1) or AllowDowngrade (v0).
    resp = update(b.port, 1, UPGRADE)
    assert resp["ErrorCode"] == INVALID_UPDATE_VERSION, resp
    assert "transaction.version" in resp["ErrorMessage"], resp
    assert update(b.port, 1, UPGRADE, version=0)["ErrorCode"] == INVALID_UPDATE_VERSION
    assert update(b.port, 3, UPGRADE)["ErrorCode"] == INVALID_UPDATE_VERSION  # beyond the supported range
    assert update(b.port, 20, SAFE_DOWNGRADE, feature="metadata.version")["ErrorCode"] == INVALID_UPDATE_VERSION
    assert finalized(b.port)["transaction.version"] == 2
    assert update(b.port, 1, SAFE_DOWNGRADE)["ErrorCode"] == 0
    assert finalized(b.port)["transaction.version"] == 1

    # Committed to the metadata log: a restart keeps it (not the checkpoint's 0).
    rc, _ = b.terminate()
    assert rc == 0
    b.start()
    assert finalized(b.port)["transaction.version"] == 1
    # Level 0 disables the feature (through the controller listener too).
    assert update(b.controller_port, 0, UNSAFE_DOWNGRADE)["ErrorCode"] == 0
    assert "transaction.version" not in finalized(b.port)


def test_format_as_an_older_release(broker_factory):
    b = broker_factory.create(format=False, start=False)
    b.cluster_id = kw_uuid()
    res = run([samsa_bin(), "storage", "format", "-t", b.cluster_id, "-c", b.config_path,
               "--release-version", "3.7"])
    assert res.returncode == 0, res.stderr
    b.start()
    assert finalized(b.port) == {"metadata.version": 19}  # 3.7-IV4, no transaction.version
    assert update(b.port, 21, feature="metadata.version")["ErrorCode"] == 0
    assert finalized(b.port) == {"metadata.version": 21}


def test_format_refuses_unknown_features_and_levels(broker_factory):
    b = broker_factory.create(format=False, start=False)
    for flag, words in [("no.such.feature=1", "no.such.feature"),
                        ("transaction.version=3", "transaction.version"),
                        ("metadata.version=99", "metadata.version"),
                        ("transaction.version", "name=level")]:
        res = run([samsa_bin(), "storage", "format", "-t", kw_uuid(), "-c", b.config_path, "--feature", flag])
        assert res.returncode != 0, (flag, res.stdout)
        assert words in res.stderr, (flag, res.stderr)
        assert not (b.log_dir / "meta.properties").exists()
    res = run([samsa_bin(), "storage", "format", "-t", kw_uuid(), "-c", b.config_path, "--release-version", "2.8"])
    assert res.returncode != 0 and "Unknown release version 2.8" in res.stderr, res.stderr


def test_update_features_reaches_every_node_of_three(tmp_path, request):
    c = cl.Cluster(tmp_path / "cluster", ["broker,controller"] * 3)
    request.node.__dict__.setdefault("_samsa_brokers", []).extend(c.nodes)
    try:
        c.format(flags={n.node_id: ["--feature", "transaction.version=0"] for n in c.nodes})
        c.start()
        leader, _ = c.active_controller(20.0)
        # Every broker registered, so the controller checks all three ranges.
        cl.wait_until(lambda: all(len(c.broker_ids(n)) == 3 for n in c.nodes), 20.0, "three brokers")
        for n in c.nodes:
            assert "transaction.version" not in finalized(n.port)
        # Through a broker that is not the active controller: forwarded.
        via = next(n for n in c.nodes if n.node_id != leader)
        resp = update(via.port, 2)
        assert resp["ErrorCode"] == 0, resp
        seen = {}

        def everywhere():
            for n in c.nodes:
                for port in (n.port, n.controller_port):
                    seen[(n.node_id, port)] = finalized(port).get("transaction.version")
            return all(v == 2 for v in seen.values())
        cl.wait_until(everywhere, 15.0, "transaction.version 2 on every node", lambda: f"seen: {seen}")
        assert update(via.port, 1, UPGRADE)["ErrorCode"] == INVALID_UPDATE_VERSION
    finally:
        try:
            c.stop()
        finally:
            c.close()


def kw_uuid() -> str:
    return run([samsa_bin(), "storage", "random-uuid"], check=True).stdout.strip()
