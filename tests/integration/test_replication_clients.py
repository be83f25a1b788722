"""Stock clients against three combined nodes with replicated partitions
(issue 11, "Clients against a 3-node cluster").

One cluster for the module (tests/integration/cluster.py, loopback ports,
short quorum timeouts, `min.insync.replicas=2`, `__consumer_offsets` with
replication factor 3). Every topic has replication factor 3:
- kcat, confluent-kafka, kafka-python and kafkajs produce with acks=all and
  read back exactly what they wrote, in order per partition;
- after each produce, every replica's log of each partition holds the same
  batches (offsets, leader epochs, keys and values): the followers copied the
  leader, which single-replica partitions never do;
- describe (Metadata v12 and kcat -L) shows the leaders
  spread over the three brokers and three-member ISRs after producing;
- a consumer group's committed offsets survive kill -9 of its coordinator's
  node: another node becomes coordinator and returns the same offsets, and a
  new member resumes there (this test runs last: it kills a node, then
  restarts it and waits for the full ISRs again).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import cluster as cl

NODE_DIR = Path(__file__).resolve().parent / "node"
PARTITIONS = 3
PER_PARTITION = 200

# Fast fencing (as the kill test): a dead node leaves the ISR within ~2 s.
REPLICATION_CONFIG = {
    "broker.session.timeout.ms": 2000,
    "broker.heartbeat.interval.ms": 500,
    "min.insync.replicas": 2,
    "default.replication.factor": 3,
    "offsets.topic.replication.factor": 3,
    "offsets.topic.num.partitions": 3,
    "group.initial.rebalance.delay.ms": 0,
    "group.min.session.timeout.ms": 1000,
}


def replicated_cluster(workdir: Path, extra: dict | None = None, roles: list[str] | None = None) -> cl.Cluster:
    """Format and start a cluster (three combined nodes by default) with
    REPLICATION_CONFIG; wait for the controller and for every broker to
    list every broker."""
    c = cl.Cluster(workdir, roles or ["broker,controller"] * 3, extra={**REPLICATION_CONFIG, **(extra or {})})
    c.format()
    c.start()
    c.active_controller(20.0)
    want = sorted(b.node_id for b in c.brokers)
    seen = {}

    def registered():
        for b in c.brokers:
            try:
                seen[b.node_id] = c.broker_ids(b)
            except cl.WIRE_ERRORS as e:
                seen[b.node_id] = repr(e)
        return all(v == want for v in seen.values())
    cl.wait_until(registered, 30.0, f"every broker to list brokers {want}", lambda: f"seen: {seen}")
    return c


@pytest.fixture(scope="module")
def rc(tmp_path_factory):
    c = replicated_cluster(tmp_path_factory.mktemp("replication-clients"))
    yield c
    try:
        c.stop()
    finally:
        c.close()


@pytest.fixture(autouse=True)
def _attach_logs(request):
    """Attach the module cluster's node logs to a failing test's report."""
    if "rc" in request.fixturenames:
        request.node.__dict__.setdefault("_samsa_brokers", []).extend(request.getfixturevalue("rc").nodes)


def assert_replicated(c: cl.Cluster, topic: str, counts: dict[int, int | None], timeout: float = 20.0) -> None:
    """Within `timeout`, every replica's log of each partition holds the same
    data batches (offsets, leader epoch, keys and values) and counts[p]
    records (any number when counts[p] is None): what the leader acknowledged
    with acks=all is on every replica."""
    differing = {}
    desc = c.describe(topic)
    assert set(desc) == set(counts), f"{topic} partitions: {sorted(desc)}"

    def check():
        differing.clear()
        for p, want in counts.items():
            logs = {nid: [b for b in cl.partition_batches(c.node(nid), topic, p) if not b[3]]
                    for nid in desc[p]["replicas"]}
            records = {nid: sum(last - base + 1 for base, last, *_ in bs) for nid, bs in logs.items()}
            if len({tuple(bs) for bs in logs.values()}) != 1 or \
                    (want is not None and any(r != want for r in records.values())):
                differing[p] = records
        return not differing
    cl.wait_until(check, timeout, f"every replica of {topic} to hold the acknowledged records "
                  f"(records per replica differ or are short of {counts})",
                  lambda: f"records on each replica by partition: {differing}")


def consume_confluent(c: cl.Cluster, topic: str, counts: dict[int, int], timeout: float = 30.0) -> dict[int, list]:
    """Every partition from the beginning (assign, no group): {p: [(key, value)]}."""
    from confluent_kafka import Consumer, TopicPartition
    cons = Consumer({"bootstrap.servers": c.bootstrap_servers(), "group.id": "unused", "enable.auto.commit": False,
                     "fetch.wait.max.ms": 100})
    cons.assign([TopicPartition(topic, p, 0) for p in counts])
    got = {p: [] for p in counts}
    deadline = time.monotonic() + timeout
    try:
        while any(len(got[p]) < n for p, n in counts.items()) and time.monotonic() < deadline:
            m = cons.poll(0.5)
            if m is None or m.error():
                continue
            got[m.partition()].append((m.key(), m.value()))
    finally:
        cons.close()
    return got


def expected(prefix: str) -> dict[int, list]:
    return {p: [(f"{prefix}-k{p}-{i}".encode(), f"{prefix}-v{p}-{i}".encode()) for i in range(PER_PARTITION)]
            for p in range(PARTITIONS)}


def counts_of(records: dict[int, list]) -> dict[int, int]:
    return {p: len(v) for p, v in records.items()}


# --------------------------------------------------------------------------
# One client each: acks=all to RF 3, read back, every replica holds it
# --------------------------------------------------------------------------

def test_kcat_acks_all(rc):
    topic = "rf3-kcat"
    rc.create_replicated_topic(topic, PARTITIONS, configs={"min.insync.replicas": 2})
    want = expected("kcat")
    for p, recs in want.items():
        data = "".join(f"{k.decode()}\t{v.decode()}\n" for k, v in recs)
        res = subprocess.run(["kcat", "-P", "-b", rc.bootstrap_servers(), "-t", topic, "-p", str(p), "-K", "\t",
                              "-X", "acks=all", "-X", "message.timeout.ms=20000"],
                             input=data, capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, f"kcat -P to partition {p}: {res.stderr[-1500:]}"
    for p, recs in want.items():
        res = subprocess.run(["kcat", "-C", "-b", rc.bootstrap_servers(), "-t", topic, "-p", str(p),
                              "-o", "beginning", "-e", "-f", "%k\t%s\n"],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stderr
        assert res.stdout.splitlines() == [f"{k.decode()}\t{v.decode()}" for k, v in recs], \
            f"kcat read back partition {p} differently"
    assert_replicated(rc, topic, counts_of(want))


def test_confluent_kafka_acks_all(rc):
    from confluent_kafka import Producer
    topic = "rf3-confluent"
    rc.create_replicated_topic(topic, PARTITIONS, configs={"min.insync.replicas": 2})
    want = expected("ck")
    errors, offsets = [], {p: [] for p in want}

    def report(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            offsets[msg.partition()].append(msg.offset())
    prod = Producer({"bootstrap.servers": rc.bootstrap_servers(), "acks": "all", "enable.idempotence": True,
                     "linger.ms": 5, "message.timeout.ms": 20000})
    for i in range(PER_PARTITION):
        for p, recs in want.items():
            prod.produce(topic, key=recs[i][0], value=recs[i][1], partition=p, on_delivery=report)
        prod.poll(0)
    assert prod.flush(30) == 0, "records still undelivered after 30 s"
    assert errors == [], f"acks=all delivery errors: {errors[:5]}"
    assert offsets == {p: list(range(PER_PARTITION)) for p in want}, "acknowledged offsets are not 0..n-1 in order"
    assert consume_confluent(rc, topic, counts_of(want)) == want
    assert_replicated(rc, topic, counts_of(want))


def test_kafka_python_acks_all(rc):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    topic = "rf3-kafka-python"
    rc.create_replicated_topic(topic, PARTITIONS, configs={"min.insync.replicas": 2})
    want = expected("kpy")
    prod = KafkaProducer(bootstrap_servers=[b.bootstrap for b in rc.brokers], acks="all", linger_ms=5,
                         request_timeout_ms=20000)
    futures = [(p, prod.send(topic, key=k, value=v, partition=p)) for p, recs in want.items() for k, v in recs]
    prod.flush(30)
    acked = {p: [] for p in want}
    for p, f in futures:
        acked[p].append(f.get(timeout=10).offset)
    prod.close(10)
    assert acked == {p: list(range(PER_PARTITION)) for p in want}
    cons = KafkaConsumer(bootstrap_servers=[b.bootstrap for b in rc.brokers], group_id=None,
                         enable_auto_commit=False, auto_offset_reset="earliest")
    tps = [TopicPartition(topic, p) for p in want]
    cons.assign(tps)
    cons.seek_to_beginning(*tps)
    got = {p: [] for p in want}
    deadline = time.monotonic() + 30
    while sum(map(len, got.values())) < PARTITIONS * PER_PARTITION and time.monotonic() < deadline:
        for tp, recs in cons.poll(timeout_ms=500).items():
            got[tp.partition].extend((r.key, r.value) for r in recs)
    cons.close()
    assert got == want
    assert_replicated(rc, topic, counts_of(want))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_kafkajs_acks_all_and_group(rc, tmp_path):
    assert shutil.which("node") is not None and (NODE_DIR / "node_modules" / "kafkajs").is_dir(), \
        "node and kafkajs are needed (run npm ci --no-audit --no-fund in tests/integration/node)"
    topic = "rf3-kafkajs"
    rc.create_replicated_topic(topic, PARTITIONS, configs={"min.insync.replicas": 2})
    want = expected("js")
    batches = []
    for start in range(0, PER_PARTITION, 50):
        msgs = [{"p": p, "k": b64(k), "v": b64(v), "h": []}
                for p, recs in want.items() for k, v in recs[start:start + 50]]
        batches.append({"compression": "gzip" if start % 100 else "none", "messages": msgs})
    spec = tmp_path / "records.json"
    spec.write_text(json.dumps({"topic": topic, "batches": batches}))
    # produce_records.js takes one bootstrap server; kafkajs learns the others from Metadata.
    res = subprocess.run(["node", NODE_DIR / "produce_records.js", rc.brokers[0].bootstrap, spec, "60000"],
                         capture_output=True, text=True, timeout=90, cwd=NODE_DIR)
    assert res.returncode == 0, res.stdout + res.stderr
    total = PARTITIONS * PER_PARTITION
    assert json.loads(res.stdout.strip().splitlines()[-1]) == {"ok": True, "batches": len(batches),
                                                                "records": total}
    assert_replicated(rc, topic, counts_of(want))
    cfg = tmp_path / "consumer.json"
    cfg.write_text(json.dumps({"brokers": [b.bootstrap for b in rc.brokers], "groupId": "rf3-kafkajs-group",
                               "topics": [topic], "expected": total, "settleMs": 500, "timeoutMs": 45000,
                               "fromBeginning": True}))
    res = subprocess.run(["node", NODE_DIR / "group_consume.js", cfg], capture_output=True, text=True,
                         timeout=90, cwd=NODE_DIR)
    lines = [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]
    assert res.returncode == 0, f"kafkajs group member: {lines[-1] if lines else ''} {res.stderr[-2000:]}"
    got = {p: [] for p in want}
    for r in lines[:-1]:
        got[r["p"]].append((base64.b64decode(r["k"]), base64.b64decode(r["v"])))
    assert got == want


# --------------------------------------------------------------------------
# Describe
# --------------------------------------------------------------------------

def test_describe_leaders_spread_full_isr(rc):
    from confluent_kafka import Producer
    topic = "rf3-describe"
    parts = 6
    rc.create_replicated_topic(topic, parts, configs={"min.insync.replicas": 2})
    prod = Producer({"bootstrap.servers": rc.bootstrap_servers(), "acks": "all", "linger.ms": 5})
    for i in range(600):
        prod.produce(topic, value=f"d{i}".encode(), partition=i % parts)
    assert prod.flush(30) == 0, "acks=all records to RF 3 not acknowledged within 30 s"
    assert_replicated(rc, topic, {p: 100 for p in range(parts)})
    rc.wait_isr(topic, parts, members={1, 2, 3}, timeout=20)
    desc = rc.describe(topic)
    assert {d["leader"] for d in desc.values()} == {1, 2, 3}, f"leaders not spread: {desc}"
    assert all(sorted(d["replicas"]) == [1, 2, 3] and sorted(d["isr"]) == [1, 2, 3] for d in desc.values()), desc
    # The same as kcat -L shows it.
    res = subprocess.run(["kcat", "-L", "-J", "-b", rc.bootstrap_servers(), "-t", topic],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    meta = json.loads(res.stdout)
    [t] = [t for t in meta["topics"] if t["topic"] == topic]
    assert {pm["leader"] for pm in t["partitions"]} == {1, 2, 3}
    assert all(sorted(r["id"] for r in pm["isrs"]) == [1, 2, 3] for pm in t["partitions"]), t["partitions"]


# --------------------------------------------------------------------------
# Group offsets survive the coordinator's node (runs last: kills a node)
# --------------------------------------------------------------------------

def test_group_offsets_survive_coordinator_kill(rc):
    from confluent_kafka import Consumer, Producer, TopicPartition
    topic, group = "rf3-group", "rf3-failover-group"
    rc.create_replicated_topic(topic, PARTITIONS, configs={"min.insync.replicas": 2})
    prod = Producer({"bootstrap.servers": rc.bootstrap_servers(), "acks": "all", "linger.ms": 5})
    for i in range(PARTITIONS * PER_PARTITION):
        prod.produce(topic, value=f"g{i}".encode(), partition=i % PARTITIONS)
    assert prod.flush(30) == 0, "acks=all records to RF 3 not acknowledged within 30 s"
    conf = {"bootstrap.servers": rc.bootstrap_servers(), "group.id": group, "auto.offset.reset": "earliest",
            "enable.auto.commit": False, "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
            "fetch.wait.max.ms": 100}
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    first = Consumer(conf)
    first.subscribe([topic])
    read = 0
    deadline = time.monotonic() + 40
    while read < 250 and time.monotonic() < deadline:
        m = first.poll(0.5)
        if m is not None and not m.error():
            read += 1
    assert read >= 250, f"the first member read only {read} records"
    first.commit(asynchronous=False)
    before = {tp.partition: tp.offset for tp in first.committed(tps, timeout=10)}
    first.close()
    starts = {p: max(o, 0) for p, o in before.items()}  # OFFSET_INVALID (-1001): nothing committed there
    assert sum(starts.values()) >= 250, f"committed offsets {before}"

    coordinator = rc.find_coordinator(group)
    rc.kill_node(coordinator)
    survivor = rc.find_coordinator(group, timeout=30)
    assert survivor.node_id != coordinator.node_id

    second = Consumer({**conf, "bootstrap.servers": ",".join(b.bootstrap for b in rc.live_brokers())})
    after, last_err = None, None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # COORDINATOR_LOAD_IN_PROGRESS / NOT_COORDINATOR while it moves
        try:
            got = second.committed(tps, timeout=5)
        except Exception as e:  # noqa: BLE001 - librdkafka raises KafkaException while the group moves
            last_err = e
            time.sleep(0.2)
            continue
        after = {tp.partition: tp.offset for tp in got}
        if all(tp.error is None for tp in got):
            break
    assert after == before, f"committed offsets after kill -9 of coordinator node {coordinator.node_id}: " \
                            f"{after} (before: {before}; last error: {last_err})"
    # A new member resumes at the committed offsets: it reads exactly the rest.
    second.subscribe([topic])
    rest = {p: [] for p in range(PARTITIONS)}
    want = {p: PER_PARTITION - starts[p] for p in range(PARTITIONS)}
    deadline = time.monotonic() + 40
    while any(len(rest[p]) < want[p] for p in rest) and time.monotonic() < deadline:
        m = second.poll(0.5)
        if m is not None and not m.error():
            rest[m.partition()].append(m.offset())
    second.close()
    assert rest == {p: list(range(starts[p], PER_PARTITION)) for p in range(PARTITIONS)}, \
        "the new member did not resume at the committed offsets"

    rc.restart_node(coordinator)
    rc.wait_isr(topic, PARTITIONS, members={1, 2, 3}, timeout=30)
