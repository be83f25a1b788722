"""The Docker deployment files, without Docker: the entrypoint's mapping of
KAFKA_* variables onto server.properties (the official apache/kafka image's
rules), the health check against a real node started by the entrypoint, and
`docker-compose config` on the shipped compose file and the test override.

tools/test-compose.sh runs the same files in real containers (not in CI: it
builds the image, see the README's Docker section).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT, free_port, random_uuid, run, samsa_bin

ENTRYPOINT = REPO_ROOT / "docker" / "entrypoint.sh"
HEALTHCHECK = REPO_ROOT / "docker" / "healthcheck.sh"
IMAGE_DEFAULTS = REPO_ROOT / "docker" / "server.properties"
COMPOSE = REPO_ROOT / "docker" / "docker-compose.yml"
COMPOSE_PORTS = REPO_ROOT / "docker" / "docker-compose.override.yml"
COMPOSE_TEST = REPO_ROOT / "docker" / "docker-compose.test.yml"


def read_properties(path: Path) -> dict[str, str]:
    """Last value per key, as java.util.Properties (enough for what the entrypoint writes)."""
    props = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        key, _, value = line.partition("=")
        props[key.strip()] = value
    return props


def entrypoint_env(tmp_path: Path, path_dir: Path, **extra: str) -> dict[str, str]:
    # Only what the test sets: no KAFKA_* leaking in from the caller.
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_") and k != "CLUSTER_ID"}
    env.update({
        "PATH": f"{path_dir}:{env.get('PATH', '/usr/bin:/bin')}",
        "SAMSA_CONFIG_DIR": str(tmp_path / "etc"),
        "SAMSA_FILE_INPUT_DIR": str(tmp_path / "mnt"),
        "SAMSA_DEFAULT_CONFIG": str(IMAGE_DEFAULTS),
        "SAMSA_DATA_DIR": str(tmp_path / "volume"),
    })
    env.update(extra)
    return env


@pytest.fixture
def fake_samsa(tmp_path) -> Path:
    """A `samsa` on PATH that records its arguments, one call per line."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "samsa"
    stub.write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/calls\n')
    stub.chmod(0o755)
    return bin_dir


def test_kafka_variables_become_keys(tmp_path, fake_samsa):
    env = entrypoint_env(
        tmp_path, fake_samsa, CLUSTER_ID="WDSIBwTDSV2yjzpgvXFGpg",
        KAFKA_NODE_ID="7",
        KAFKA_PROCESS_ROLES="broker,controller",
        KAFKA_ADVERTISED_LISTENERS="PLAINTEXT://samsa-7:9092,EXTERNAL://localhost:29092",
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR="3",
        # "__" is "_" and "___" is "-" (Kafka's own KAFKA_<key> rules).
        KAFKA_SOME__KEY___NAME_X="a\\b",
        # JVM settings of Kafka's scripts are not configuration keys.
        KAFKA_HEAP_OPTS="-Xmx1G", KAFKA_LOG4J_ROOT_LOGLEVEL="INFO")
    res = run(["bash", ENTRYPOINT], env=env, check=True)
    config = tmp_path / "etc" / "server.properties"
    props = read_properties(config)
    assert props["node.id"] == "7"
    assert props["process.roles"] == "broker,controller"
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["some_key-name.x"] == "a\\\\b", "a backslash is escaped for the properties reader"
    # listeners derived from the advertised ones, bound on every interface.
    assert props["listeners"] == "PLAINTEXT://0.0.0.0:9092,EXTERNAL://0.0.0.0:29092"
    assert props["log.dirs"] == str(tmp_path / "volume"), "log.dirs defaults to the data volume"
    assert not any("heap" in k or "log4j" in k for k in props), props
    # Nothing of the one-node defaults when the environment configures the node.
    assert "controller.quorum.voters" not in props
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls == [
        f"storage format --cluster-id WDSIBwTDSV2yjzpgvXFGpg --config {config} --ignore-formatted",
        f"server {config}",
    ], res.stdout


def test_no_configuration_runs_the_image_defaults(tmp_path, fake_samsa):
    run(["bash", ENTRYPOINT], env=entrypoint_env(tmp_path, fake_samsa), check=True)
    props = read_properties(tmp_path / "etc" / "server.properties")
    assert props == read_properties(IMAGE_DEFAULTS)
    assert props["log.dirs"] == "/var/lib/samsa/data"
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0].startswith("storage format --cluster-id "), calls


def test_arguments_run_instead(tmp_path, fake_samsa):
    run(["bash", ENTRYPOINT, "samsa", "storage", "random-uuid"],
        env=entrypoint_env(tmp_path, fake_samsa, KAFKA_NODE_ID="1"), check=True)
    assert (tmp_path / "calls").read_text().splitlines() == ["storage random-uuid"]
    assert not (tmp_path / "etc" / "server.properties").exists()


def wait_health(env: dict[str, str], want_ok: bool, timeout_s: float) -> subprocess.CompletedProcess:
    deadline = time.monotonic() + timeout_s
    while True:
        res = run(["bash", HEALTHCHECK], env=env, timeout=10)
        if (res.returncode == 0) == want_ok or time.monotonic() > deadline:
            return res
        time.sleep(0.3)


def test_entrypoint_starts_a_healthy_node_and_keeps_its_data(tmp_path):
    """The real binary: file input overridden by the environment, storage
    formatted once, the health check's ApiVersions probe, SIGTERM stops it."""
    port, cport = free_port(), free_port()
    cluster_id = random_uuid()
    (tmp_path / "mnt").mkdir()
    # File input says node 1 on the wrong ports; the environment wins.
    (tmp_path / "mnt" / "server.properties").write_text(
        "process.roles=broker,controller\nnode.id=1\ncontroller.listener.names=CONTROLLER\n"
        "listeners=PLAINTEXT://127.0.0.1:1,CONTROLLER://127.0.0.1:2\n"
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n")
    # The entrypoint runs `samsa` from PATH, whatever SAMSA_BIN is called.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "samsa").symlink_to(samsa_bin())
    env = entrypoint_env(
        tmp_path, bin_dir, CLUSTER_ID=cluster_id,
        KAFKA_NODE_ID="5",
        KAFKA_CONTROLLER_QUORUM_VOTERS=f"5@127.0.0.1:{cport}",
        KAFKA_LISTENERS=f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}",
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR="1")
    assert wait_health(env | {"SAMSA_CONFIG_DIR": str(tmp_path / "none")}, False, 0).returncode != 0

    for start in range(2):
        log = open(tmp_path / f"node-{start}.log", "w")
        proc = subprocess.Popen(["bash", str(ENTRYPOINT)], env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        try:
            res = wait_health(env, True, 30)
            assert res.returncode == 0, (res.stderr, (tmp_path / f"node-{start}.log").read_text())
            meta = read_properties(tmp_path / "volume" / "meta.properties")
            assert meta["cluster.id"] == cluster_id and meta["node.id"] == "5"
            if start == 0:
                (tmp_path / "volume" / "marker").write_text("kept")
            else:
                assert (tmp_path / "volume" / "marker").read_text() == "kept", "restart reformatted the volume"
            proc.send_signal(signal.SIGTERM)  # reaches samsa itself: the entrypoint exec'd it
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
            log.close()
        res = run(["bash", HEALTHCHECK], env=env, timeout=10)
        assert res.returncode == 1 and f"127.0.0.1:{port}" in res.stderr


def compose_config(*files: Path) -> dict:
    args = ["docker-compose"]
    for f in files:
        args += ["-f", f]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMSA_TEST_") and k != "CLUSTER_ID"}
    res = run(args + ["config"], env=env, check=True)
    return yaml.safe_load(res.stdout)


def test_shipped_compose_file_is_valid_and_replicated():
    config = compose_config(COMPOSE)
    services = config["services"]
    assert sorted(services) == ["samsa-1", "samsa-2", "samsa-3"]
    envs = [services[f"samsa-{n}"]["environment"] for n in (1, 2, 3)]
    assert [e["KAFKA_NODE_ID"] for e in envs] == ["1", "2", "3"]
    for e in envs:
        assert e["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert e["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@samsa-1:9093,2@samsa-2:9093,3@samsa-3:9093"
        assert e["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert e["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert e["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert e["CLUSTER_ID"] == envs[0]["CLUSTER_ID"]
    for name, svc in services.items():
        assert svc["healthcheck"]["test"] == ["CMD", "samsa-healthcheck"]
        assert any(v.endswith(":/var/lib/samsa:rw") for v in svc["volumes"]), svc["volumes"]
        assert "ports" not in svc, "published ports live in docker-compose.override.yml"


def test_override_publishes_each_advertised_host_listener_on_loopback():
    services = compose_config(COMPOSE, COMPOSE_PORTS)["services"]
    for n in (1, 2, 3):
        svc = services[f"samsa-{n}"]
        advertised = svc["environment"]["KAFKA_ADVERTISED_LISTENERS"]
        port = f"{n}9092"
        assert f"PLAINTEXT_HOST://localhost:{port}" in advertised
        assert svc["ports"] == [f"127.0.0.1:{port}:{port}/tcp"]


def test_test_override_uses_only_the_host_loopback():
    config = compose_config(COMPOSE, COMPOSE_TEST)
    for name, svc in config["services"].items():
        assert svc["network_mode"] == "host"
        env = svc["environment"]
        for key in ("KAFKA_LISTENERS", "KAFKA_ADVERTISED_LISTENERS"):
            for listener in env[key].split(","):
                assert listener.split("://")[1].startswith("127.0.0.1:"), (name, key, listener)
        for voter in env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(","):
            assert "@127.0.0.1:" in voter
