"""kafkajs consumer groups: a kafkajs group member reads more than 10 000
records, produced by kafkajs and by confluent-kafka with keys, headers and
every compression codec, byte-identical and in offset order
per partition; it commits, a restarted member resumes at the committed
offsets, and so does one after a broker restart. Two kafkajs members split a
topic's partitions.

kafkajs 2.2.4 decodes only uncompressed and gzip batches by itself; the node
scripts register snappy, lz4 and zstd from node/codecs.js (pure-JS packages).
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

import kafka_wire as kw
from conftest import run
from test_groups import GROUP_OVERRIDES, committed, create_topic

NODE_DIR = Path(__file__).resolve().parent / "node"
PARTITIONS = 3
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_DIR / "node_modules" / "kafkajs").is_dir(),
    reason="node or kafkajs is not installed (run npm ci in tests/integration/node)")


@pytest.fixture
def gbroker(broker_factory):
    b = broker_factory.create(overrides=GROUP_OVERRIDES)
    assert kw.max_version(b.port, "JoinGroup") is not None, "the broker must serve the group APIs"
    return b


def b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def make_record(source: str, i: int) -> tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]:
    """(key, value, headers): binary and empty values, null keys and values, several headers."""
    key = None if i % 17 == 0 else f"{source}-key-{i}".encode()
    if i % 23 == 0:
        value = None
    elif i % 11 == 0:
        value = b""
    else:
        value = bytes((i * 7 + j) % 256 for j in range(i % 200)) + f"|{source}-{i}".encode()
    headers = [("trace", f"{source}-{i}".encode()), ("bin", bytes([i % 256, 0, 255])), ("empty", b"")]
    if i % 3 == 0:
        headers = headers[:1]
    return key, value, headers


def kafkajs_produce(broker, tmp_path: Path, topic: str, count: int, batch_size: int) -> dict[int, list]:
    """kafkajs produces `count` records in batches that cycle through CODECS,
    round-robin over the partitions. Returns {partition: [record, ...]}."""
    batches, sent = [], {p: [] for p in range(PARTITIONS)}
    for b in range(0, count, batch_size):
        msgs = []
        for i in range(b, min(count, b + batch_size)):
            p = i % PARTITIONS
            key, value, headers = make_record("js", i)
            msgs.append({"p": p, "k": b64(key), "v": b64(value), "h": [[n, b64(v)] for n, v in headers]})
            sent[p].append((key, value, headers))
        batches.append({"compression": CODECS[(b // batch_size) % len(CODECS)], "messages": msgs})
    spec = tmp_path / "records.json"
    spec.write_text(json.dumps({"topic": topic, "batches": batches}))
    res = run(["node", NODE_DIR / "produce_records.js", broker.bootstrap, spec, "90000"], timeout=120, cwd=NODE_DIR)
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1]) == {"ok": True, "batches": len(batches),
                                                                "records": count}
    return sent


def confluent_produce(broker, topic: str, count: int, codec: str, source: str) -> dict[int, list]:
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": codec, "linger.ms": 5,
                  "acks": "all", "enable.idempotence": False})
    sent = {part: [] for part in range(PARTITIONS)}
    errors = []
    for i in range(count):
        part = i % PARTITIONS
        key, value, headers = make_record(source, i)
        p.produce(topic, key=key, value=value, headers=headers, partition=part,
                  on_delivery=lambda e, m: errors.append(e) if e else None)
        sent[part].append((key, value, headers))
        if i % 500 == 0:
            p.poll(0)
    assert p.flush(30) == 0 and errors == []
    return sent


def kafkajs_group_consume(broker, tmp_path: Path, group: str, topic: str, expected: int,
                          settle_ms: int = 1000) -> tuple[dict[int, list], dict]:
    """Runs node/group_consume.js; returns ({partition: [(offset, key, value,
    headers)] in arrival order}, final status line)."""
    cfg = tmp_path / f"consume-{group}.json"
    cfg.write_text(json.dumps({"brokers": [broker.bootstrap], "groupId": group, "topics": [topic],
                               "expected": expected, "settleMs": settle_ms, "timeoutMs": 60000,
                               "fromBeginning": True, "sessionTimeout": 6000, "heartbeatInterval": 500}))
    res = run(["node", NODE_DIR / "group_consume.js", cfg], timeout=120, cwd=NODE_DIR)
    lines = res.stdout.strip().splitlines()
    status = json.loads(lines[-1]) if lines else {}
    assert res.returncode == 0 and status.get("done"), f"rc={res.returncode} {status} {res.stderr[-2000:]}"
    got: dict[int, list] = {}
    for line in lines[:-1]:
        r = json.loads(line)
        dec = (lambda s: None if s is None else base64.b64decode(s))  # noqa: E731
        got.setdefault(r["p"], []).append((int(r["o"]), dec(r["k"]), dec(r["v"]),
                                           [(n, dec(v)) for n, v in r["h"]]))
    return got, status


def check_exact(got: dict[int, list], expected: dict[int, list], first_offset: dict[int, int]) -> None:
    """Per partition: exactly the expected records, in order, at consecutive
    offsets from first_offset[p], byte-identical."""
    assert sorted(p for p in got if got[p]) == sorted(p for p in expected if expected[p]), \
        (sorted(got), sorted(expected))
    for p, recs in expected.items():
        have = got.get(p, [])
        offsets = [o for o, _, _, _ in have]
        assert offsets == list(range(first_offset[p], first_offset[p] + len(recs))), \
            f"partition {p}: {len(have)} records, offsets {offsets[:3]}..{offsets[-3:]} (want {len(recs)} " \
            f"from {first_offset[p]})"
        for (o, k, v, h), (ek, ev, eh) in zip(have, recs):
            assert (k, v, h) == (ek, ev, eh), f"partition {p} offset {o}: {(k, v, h)} != {(ek, ev, eh)}"


def test_kafkajs_group_reads_kafkajs_and_confluent_records(gbroker, tmp_path):
    topic, group = "jsg", "js-group"
    create_topic(gbroker, topic, PARTITIONS)
    js = kafkajs_produce(gbroker, tmp_path, topic, 6000, batch_size=300)
    expected = {p: list(js[p]) for p in range(PARTITIONS)}
    for codec in CODECS:
        rdk = confluent_produce(gbroker, topic, 6000 // len(CODECS), codec, f"rdk-{codec}")
        for p in range(PARTITIONS):
            expected[p] += rdk[p]
    total = sum(len(v) for v in expected.values())
    assert total >= 10_000
    kw.wait_group_coordinator(gbroker.port, group)

    got, status = kafkajs_group_consume(gbroker, tmp_path, group, topic, total)
    check_exact(got, expected, {p: 0 for p in range(PARTITIONS)})
    assert status["count"] == total
    assert status["crashes"] == [], status["crashes"]
    (join,) = status["joins"]
    assert join["isLeader"] and join["memberId"] == join["leaderId"] != "", join
    assert join["assignment"] == {topic: [0, 1, 2]}, join
    ends = {p: len(expected[p]) for p in range(PARTITIONS)}
    assert committed(gbroker, group, topic, PARTITIONS) == ends

    # a restarted member starts at the committed offsets
    more = confluent_produce(gbroker, topic, 30, CODECS[-1], "more")
    got, status = kafkajs_group_consume(gbroker, tmp_path, group, topic, 30, settle_ms=1500)
    check_exact(got, more, ends)
    ends = {p: ends[p] + len(more[p]) for p in range(PARTITIONS)}
    assert committed(gbroker, group, topic, PARTITIONS) == ends

    # ... and so after a broker restart (once the member's LeaveGroup has emptied the group)
    with kw.SchemaConnection(gbroker.port) as c:
        kw.wait_group_state(c, group, "Empty", timeout=3.0)
    rc, _ = gbroker.terminate()
    assert rc == 0
    gbroker.start()
    kw.wait_group_coordinator(gbroker.port, group)
    assert committed(gbroker, group, topic, PARTITIONS) == ends
    with kw.SchemaConnection(gbroker.port) as c:
        d = kw.describe_group(c, group)
        assert (d["GroupState"], d["ProtocolType"]) == ("Empty", "consumer"), d
    more = kafkajs_produce(gbroker, tmp_path, topic, 30, batch_size=10)
    got, status = kafkajs_group_consume(gbroker, tmp_path, group, topic, 30, settle_ms=1500)
    check_exact(got, more, ends)
    ends = {p: ends[p] + len(more[p]) for p in range(PARTITIONS)}
    assert committed(gbroker, group, topic, PARTITIONS) == ends


def test_kafkajs_two_members_split_partitions(gbroker, tmp_path):
    """Two kafkajs members of one group split four partitions two and two;
    records produced once the group is stable are each read once, by the
    member that owns their partition, and committed."""
    import subprocess
    import time
    from test_groups import produce, value_of
    topic, group = "jsg2", "js-pair"
    create_topic(gbroker, topic, 4)
    kw.wait_group_coordinator(gbroker.port, group)
    stop = tmp_path / "stop"
    procs, outs = [], []
    try:
        for i in range(2):
            cfg = tmp_path / f"pair{i}.json"
            cfg.write_text(json.dumps({"brokers": [gbroker.bootstrap], "groupId": group, "topics": [topic],
                                       "expected": None, "stopFile": str(stop), "timeoutMs": 60000,
                                       "clientId": f"js{i}", "fromBeginning": True, "sessionTimeout": 6000,
                                       "heartbeatInterval": 300}))
            outs.append(tmp_path / f"pair{i}.out")
            with open(outs[-1], "w") as fh:
                procs.append(subprocess.Popen(["node", str(NODE_DIR / "group_consume.js"), str(cfg)], cwd=NODE_DIR,
                                              stdout=fh, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL))
        with kw.SchemaConnection(gbroker.port) as c:
            deadline = time.monotonic() + 30
            while True:
                d = kw.describe_group(c, group)
                asg = [kw.parse_consumer_assignment(m["MemberAssignment"]).get(topic, [])
                       for m in d["Members"] if m["MemberAssignment"]]
                if d["GroupState"] == "Stable" and len(asg) == 2 and all(len(a) == 2 for a in asg):
                    stable = {m["MemberId"]: kw.parse_consumer_assignment(m["MemberAssignment"]).get(topic, [])
                              for m in d["Members"]}
                    break
                assert time.monotonic() < deadline, f"kafkajs members did not settle: {d}"
                time.sleep(0.1)
        assert sorted(p for a in asg for p in a) == [0, 1, 2, 3], asg
        produce(gbroker, topic, 4, 200)

        def records(path):
            lines = path.read_text().splitlines()
            return [json.loads(x) for x in lines if x.startswith('{"p"')]

        deadline = time.monotonic() + 30
        while sum(len(records(o)) for o in outs) < 800 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # a duplicate would arrive now
        stop.touch()
        for proc in procs:
            proc.wait(timeout=30)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)

    seen: dict[tuple[int, int], int] = {}
    for out in outs:
        status = json.loads(out.read_text().splitlines()[-1])
        assert status.get("done") and not status["timedOut"], status
        # What the member owned while the records were produced: the stable
        # 2 + 2 split. (Its last join may be later: when the other member
        # stops first, the group rebalances and this one gets all four.)
        owned = stable[status["joins"][-1]["memberId"]]
        assert len(owned) == 2, (stable, status["joins"])
        for r in records(out):
            key = (r["p"], int(r["o"]))
            assert r["p"] in owned, f"{out.name} read partition {r['p']}, owns {owned}"
            assert base64.b64decode(r["v"]) == value_of(*key)
            seen[key] = seen.get(key, 0) + 1
    assert set(seen) == {(p, o) for p in range(4) for o in range(200)}
    assert [k for k, n in seen.items() if n > 1] == []
    assert committed(gbroker, group, topic, 4) == {p: 200 for p in range(4)}
