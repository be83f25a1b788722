"""samsa-loadgen (bench/loadgen) against a real broker: what it produces is
what the broker stores and what its fetch reads back. Not a speed test:
only counts and the report's fields are checked."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import samsa_bin

REPORT_FIELDS = [
    "seconds", "bytes", "records", "requests", "mb_per_s", "records_per_s", "requests_per_s",
    "latency_p50_ms", "latency_p99_ms", "latency_p999_ms", "latency_max_ms", "errors",
    "total_bytes", "total_records", "client_cpu_s", "broker_cpu_s", "broker_cpu_s_per_gb",
]


def loadgen_bin() -> Path:
    env = os.environ.get("SAMSA_LOADGEN_BIN")
    path = Path(env) if env else samsa_bin().parents[2] / "bench" / "samsa-loadgen"
    if not path.is_file():
        pytest.fail(f"samsa-loadgen not found at {path} (tools/build.sh builds it)", pytrace=False)
    return path


def loadgen(*args: str, timeout: float = 30) -> tuple[int, dict, str]:
    p = subprocess.run([str(loadgen_bin()), *args, "--json", "--timeout-s", "25"],
                       capture_output=True, text=True, timeout=timeout)
    report = json.loads(p.stdout) if p.stdout.strip() else {}
    return p.returncode, report, p.stderr


def log_end_offsets(bootstrap: str, topic: str, partitions: int) -> list[int]:
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "loadgen-check"})
    try:
        return [c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in range(partitions)]
    finally:
        c.close()


def test_produce_then_fetch_until_end(broker):
    pid = str(broker.proc.pid)
    common = ["--bootstrap", broker.bootstrap, "--topic", "lg", "--partitions", "3",
              "--broker-pid", pid, "--warmup-s", "0"]
    rc, prod, err = loadgen("produce", *common, "--create", "--duration-s", "2",
                            "--record-size", "200", "--batch-records", "8", "--inflight", "4")
    assert rc == 0, err
    for key in REPORT_FIELDS + ["record_size", "inflight", "acks"]:
        assert key in prod, f"produce report lacks {key}: {prod}"
    assert prod["mode"] == "produce"
    assert prod["errors"] == 0
    assert prod["records"] > 0 and prod["bytes"] > prod["records"] * 200
    assert prod["total_records"] == prod["records"]  # no warm-up
    assert prod["records"] % 8 == 0
    assert prod["broker_cpu_s"] > 0
    assert prod["latency_max_ms"] >= prod["latency_p50_ms"] > 0
    assert set(prod["latency_ms"]) == {"p50", "p99", "p999", "max"}
    assert prod["latency_ms"]["p99"] == prod["latency_p99_ms"]

    leo = log_end_offsets(broker.bootstrap, "lg", 3)
    assert sum(leo) == prod["records"], (leo, prod)
    assert all(o > 0 for o in leo), leo  # requests rotate over every partition

    rc, fetch, err = loadgen("fetch", *common, "--from", "earliest", "--until-end",
                             "--duration-s", "20")
    assert rc == 0, err
    for key in REPORT_FIELDS:
        assert key in fetch, f"fetch report lacks {key}: {fetch}"
    assert fetch["mode"] == "fetch"
    assert fetch["errors"] == 0
    assert fetch["bytes"] == prod["bytes"]
    assert fetch["records"] == prod["records"]
    assert fetch["seconds"] < 20  # stopped at the end, not at the duration


def test_errors_fail_the_run(broker):
    # A topic that does not exist and is not created: the broker cannot serve
    # the run (exit 3); an unreachable broker likewise.
    rc, _, err = loadgen("produce", "--bootstrap", broker.bootstrap, "--topic", "absent",
                         "--duration-s", "1")
    assert rc == 3 and "does not exist" in err, err
    rc, _, err = loadgen("fetch", "--bootstrap", "127.0.0.1:1", "--topic", "x", "--duration-s", "1")
    assert rc == 3 and "error:" in err, err
    # Records larger than the broker accepts: every response carries an
    # error, which is counted and fails the run (exit 1).
    rc, rep, err = loadgen("produce", "--bootstrap", broker.bootstrap, "--topic", "big",
                           "--create", "--partitions", "1", "--record-size", "600000",
                           "--batch-records", "2", "--inflight", "1", "--duration-s", "0.5",
                           "--warmup-s", "0")
    assert rc == 1, (rc, rep, err)
    assert rep["errors"] > 0 and "error 10" in rep["first_error"], rep


@pytest.fixture
def three_nodes(tmp_path, request):
    import cluster as cl
    c = cl.Cluster(tmp_path / "cluster", ["broker,controller"] * 3)
    request.node.__dict__.setdefault("_samsa_brokers", []).extend(c.nodes)
    try:
        c.format()
        c.start()
        c.active_controller(15.0)
        yield c
    finally:
        try:
            c.stop()
        finally:
            c.close()


def test_cluster_routes_each_partition_to_its_leader(three_nodes):
    from confluent_kafka.admin import AdminClient
    c = three_nodes
    pids = [a for n in c.nodes for a in ("--broker-pid", str(n.proc.pid))]
    # Only the first node as bootstrap: the tool must find the other leaders.
    common = ["--bootstrap", c.nodes[0].bootstrap, "--topic", "lg3", "--partitions", "6",
              "--warmup-s", "0", *pids]
    rc, prod, err = loadgen("produce", *common, "--create", "--replication-factor", "3",
                            "--acks", "-1", "--duration-s", "2", "--record-size", "100")
    assert rc == 0, err
    assert prod["errors"] == 0 and prod["records"] > 0 and prod["broker_cpu_s"] > 0

    bootstrap = ",".join(n.bootstrap for n in c.nodes)
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics("lg3", timeout=10)
    leaders = {p.leader for p in md.topics["lg3"].partitions.values()}
    assert len(leaders) >= 2, f"all partitions led by {leaders}: routing not exercised"
    assert sum(log_end_offsets(bootstrap, "lg3", 6)) == prod["records"]

    rc, fetch, err = loadgen("fetch", *common, "--until-end", "--duration-s", "20")
    assert rc == 0, err
    assert fetch["errors"] == 0
    assert (fetch["bytes"], fetch["records"]) == (prod["bytes"], prod["records"])
