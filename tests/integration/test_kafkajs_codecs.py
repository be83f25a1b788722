"""kafkajs with every compression codec: none, gzip, snappy, lz4, zstd.

kafkajs 2.2.4 has only gzip built in; node/codecs.js registers snappy
(snappyjs), lz4 (lz4js blocks in our own frame reader) and zstd
(@bokuweb/zstd-wasm), all pure JS or wasm. For each codec:

- kafkajs produces 10 000 records with keys and headers into a 3-partition
  topic, a kafkajs group member (fromBeginning) reads them back, and so does
  librdkafka (which proves our compressed batches are standard);
- confluent-kafka (librdkafka) produces 10 000 records with that codec and a
  kafkajs group member reads them back, which proves kafkajs decompresses
  batches written by another client and stored by the broker;
- on a topic with compression.type=<codec> the broker recompresses
  uncompressed kafkajs batches itself (snappy in the Java client's xerial
  framing), and a kafkajs group member reads those.

The records must come back byte-identical (null, empty and binary keys and
values; none, one or several headers, a repeated name, empty header values)
at offsets 0, 1, 2, ... per partition, and a raw Fetch must show that every
stored batch carries the codec in its attributes. A last test checks the
codec glue against the lz4 and zstd command-line tools and hand-built
xerial-framed snappy: frame variants the client round trips do not produce.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest

import kafka_wire as kw
from conftest import run

NODE_DIR = Path(__file__).resolve().parent / "node"
SCRIPT = NODE_DIR / "codec_roundtrip.js"
PARTITIONS = 3
N = 10_000
CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
OVERRIDES = ["group.initial.rebalance.delay.ms=0", "group.min.session.timeout.ms=1000"]
# kafkajs send() sizes, cycled: single-record batches up to ~700-record ones per partition.
SEND_SIZES = (1, 40, 700, 2000)

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_DIR / "node_modules" / "kafkajs").is_dir(),
    reason="node or kafkajs is not installed (run npm ci in tests/integration/node)")


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

@pytest.fixture
def gbroker(broker_factory):
    b = broker_factory.create(overrides=OVERRIDES)
    assert kw.max_version(b.port, "JoinGroup") is not None, "the broker must serve the group APIs"
    return b


def b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def unb64(s: str | None) -> bytes | None:
    return None if s is None else base64.b64decode(s)


def make_record(source: str, i: int) -> tuple:
    """(key, value, headers) of record i: null, empty, binary and compressible
    keys and values; no, one or several headers, with a repeated name
    (adjacent: kafkajs groups a name's values) and an empty value. (No null
    header values: kafkajs' producer cannot write them and confluent-kafka
    1.7's headers() crashes on them.)"""
    if i % 17 == 0:
        key = None
    elif i % 19 == 0:
        key = b""
    else:
        key = f"{source}-key-{i % 1000}-{i}".encode()
    if i % 23 == 0:
        value = None
    elif i % 11 == 0:
        value = b""
    else:
        value = bytes((i * 7 + j * 13) % 256 for j in range(i % 97)) + \
            f"|{source} record {i} ".encode() * (1 + i % 9)
    if i % 7 == 0:
        headers = []
    elif i % 5 == 0:
        headers = [("trace", f"{source}-{i}".encode()), ("dup", b"first"), ("dup", bytes([i % 256, 0, 255])),
                   ("empty", b"")]
    else:
        headers = [("trace", f"{source}-{i}".encode())]
    return key, value, headers


def records(source: str, count: int) -> list[tuple[int, tuple]]:
    """[(partition, (key, value, headers))], round-robin over the partitions."""
    return [(i % PARTITIONS, make_record(source, i)) for i in range(count)]


def by_partition(recs: list[tuple[int, tuple]]) -> dict[int, list]:
    out = {p: [] for p in range(PARTITIONS)}
    for p, rec in recs:
        out[p].append(rec)
    return out


def create_topic(broker, name: str, partitions: int = PARTITIONS, config: dict | None = None) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1, config=config or {})],
                        request_timeout=15)[name].result(timeout=20)
    p = Producer({"bootstrap.servers": broker.bootstrap})
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        t = p.list_topics(topic=name, timeout=5).topics.get(name)
        if t is not None and t.error is None and len(t.partitions) == partitions and \
                all(pm.leader >= 0 for pm in t.partitions.values()):
            return
        time.sleep(0.1)
    raise AssertionError(f"topic {name} has no leaders after creation")


def node(tmp_path: Path, mode: str, cfg: dict, name: str, timeout: float) -> tuple[list[dict], dict]:
    """Runs codec_roundtrip.js; returns (record lines, final status line)."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(cfg))
    res = run(["node", SCRIPT, mode, path], timeout=timeout, cwd=NODE_DIR)
    lines = res.stdout.strip().splitlines()
    try:
        status = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        status = {"unparsed": lines[-1][:500]}
    assert res.returncode == 0, f"{mode}: exit {res.returncode}, {status}\n--- stderr ---\n{res.stderr[-3000:]}"
    return [json.loads(line) for line in lines[:-1]], status


def kafkajs_produce(broker, tmp_path: Path, topic: str, codec: str, recs: list) -> None:
    sends, i, n = [], 0, 0
    while i < len(recs):
        size = SEND_SIZES[n % len(SEND_SIZES)]
        sends.append([{"p": p, "k": b64(k), "v": b64(v), "h": [[hn, b64(hv)] for hn, hv in h]}
                      for p, (k, v, h) in recs[i:i + size]])
        i, n = i + size, n + 1
    _, status = node(tmp_path, "produce", {"brokers": [broker.bootstrap], "topic": topic, "codec": codec,
                                           "sends": sends, "timeoutMs": 45000}, f"produce-{topic}", timeout=75)
    assert status == {"ok": True, "sends": len(sends), "records": len(recs)}, status


def confluent_produce(broker, topic: str, codec: str, recs: list) -> None:
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": codec, "linger.ms": 5,
                  "acks": "all", "enable.idempotence": False})
    errors = []
    for n, (part, (key, value, headers)) in enumerate(recs):
        p.produce(topic, key=key, value=value, headers=headers, partition=part,
                  on_delivery=lambda e, m: errors.append(e) if e else None)
        if n % 500 == 0:
            p.poll(0)
    assert p.flush(30) == 0
    assert errors == []


def kafkajs_consume(broker, tmp_path: Path, topic: str, expected: int) -> dict[int, list]:
    """A kafkajs group member reads `expected` records (and 300 ms more);
    returns {partition: [(offset, key, value, headers)]} in arrival order."""
    got_lines, status = node(tmp_path, "consume", {"brokers": [broker.bootstrap], "groupId": f"g-{topic}",
                                                   "topics": [topic], "expected": expected, "settleMs": 300,
                                                   "timeoutMs": 30000}, f"consume-{topic}", timeout=60)
    assert status.get("done") and not status.get("timedOut"), status
    got: dict[int, list] = {}
    for r in got_lines:
        assert r["t"] == topic
        got.setdefault(r["p"], []).append((int(r["o"]), unb64(r["k"]), unb64(r["v"]),
                                           [(n, unb64(v)) for n, v in r["h"]]))
    assert status["count"] == expected, f"kafkajs read {status['count']} records, want {expected}"
    return got


def confluent_consume(broker, topic: str, sent: dict[int, list], timeout: float = 30.0) -> None:
    """librdkafka reads every partition (assign, from the beginning) and must
    see the sent records, byte-identical, in order: proves that what kafkajs'
    codec glue compressed is standard."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused", "enable.auto.commit": False,
                  "fetch.wait.max.ms": 100})
    total = sum(len(v) for v in sent.values())
    got: dict[int, list] = {p: [] for p in sent}
    n, deadline = 0, time.monotonic() + timeout
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in sent])
        while n < total and time.monotonic() < deadline:
            for m in c.consume(num_messages=1000, timeout=0.5):
                assert m.error() is None, m.error()
                got[m.partition()].append((m.offset(), m.key(), m.value(), m.headers() or []))
                n += 1
    finally:
        c.close()
    assert n == total, f"confluent-kafka read {n} of {total} records from {topic}"
    for p, want in sent.items():
        assert [o for o, *_ in got[p]] == list(range(len(want))), f"{topic}-{p}: offsets out of order"
        for (o, k, v, h), (ek, ev, eh) in zip(got[p], want):
            assert (k, v, h) == (ek, ev, eh), f"{topic}-{p}@{o}: librdkafka read {(k, v, h)}, want {(ek, ev, eh)}"


def check_exact(got: dict[int, list], sent: dict[int, list]) -> None:
    """Per partition: exactly the sent records, byte-identical, at offsets 0, 1, 2, ... in order."""
    assert sorted(got) == sorted(p for p in sent if sent[p]), (sorted(got), sorted(sent))
    for p, want in sent.items():
        have = got.get(p, [])
        offsets = [o for o, *_ in have]
        assert offsets == list(range(len(want))), \
            f"partition {p}: {len(have)} records at offsets {offsets[:3]}..{offsets[-3:]}, want 0..{len(want) - 1}"
        for (o, k, v, h), (ek, ev, eh) in zip(have, want):
            assert (k, v, h) == (ek, ev, eh), f"partition {p} offset {o}: got {(k, v, h)}, want {(ek, ev, eh)}"


def check_stored_codec(broker, topic: str, codec: str, sent: dict[int, list],
                       tiny_uncompressed_ok: bool = False) -> None:
    """`tiny_uncompressed_ok`: librdkafka sends a batch uncompressed when the
    codec would make it larger, which happens to a batch of one or two small
    records (a loaded machine lets linger.ms expire that early)."""
    for p, want in sent.items():
        batches = kw.stored_batches(broker.port, topic, p)
        codecs = {c for _, c, n in batches if not (tiny_uncompressed_ok and c == 0 and n <= 2)}
        assert codecs == {CODECS[codec]}, \
            f"{topic}-{p}: stored batch codecs {sorted({c for _, c, _ in batches})}, want {CODECS[codec]} ({codec})"
        assert sum(n for _, _, n in batches) == len(want), (topic, p, len(batches), len(want))


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------

@pytest.mark.parametrize("codec", list(CODECS))
def test_kafkajs_produce_and_group_consume(gbroker, tmp_path, codec):
    topic = f"js-{codec}"
    create_topic(gbroker, topic)
    recs = records("js", N)
    kafkajs_produce(gbroker, tmp_path, topic, codec, recs)
    sent = by_partition(recs)
    check_stored_codec(gbroker, topic, codec, sent)
    check_exact(kafkajs_consume(gbroker, tmp_path, topic, N), sent)
    confluent_consume(gbroker, topic, sent)


@pytest.mark.parametrize("codec", list(CODECS))
def test_confluent_produce_kafkajs_group_consume(gbroker, tmp_path, codec):
    topic = f"rd-{codec}"
    create_topic(gbroker, topic)
    recs = records("rd", N)
    confluent_produce(gbroker, topic, codec, recs)
    sent = by_partition(recs)
    check_stored_codec(gbroker, topic, codec, sent, tiny_uncompressed_ok=True)
    check_exact(kafkajs_consume(gbroker, tmp_path, topic, N), sent)


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_broker_recompressed_batches_kafkajs_group_consume(gbroker, tmp_path, codec):
    """A topic with compression.type=<codec>: the broker recompresses the
    uncompressed kafkajs batches with its own compressors (snappy in
    snappy-java's xerial framing, as Kafka does), and kafkajs reads those."""
    topic = f"topic-{codec}"
    create_topic(gbroker, topic, config={"compression.type": codec})
    recs = records("tc", 3000)
    kafkajs_produce(gbroker, tmp_path, topic, "none", recs)
    sent = by_partition(recs)
    check_stored_codec(gbroker, topic, codec, sent)
    check_exact(kafkajs_consume(gbroker, tmp_path, topic, len(recs)), sent)


# ---- the codec glue against reference implementations ----------------------

def snappy_literal(data: bytes) -> bytes:
    """Raw snappy that stores `data` as literals (valid, if not compressed)."""
    out = kw.uvarint(len(data))
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        n = len(chunk) - 1
        out += bytes([n << 2]) if n < 60 else (bytes([61 << 2]) + struct.pack("<H", n))
        out += chunk
    return out


def xerial(data: bytes, chunk: int) -> bytes:
    """snappy-java's framing (the Java client's snappy) around literal-only blocks."""
    out = b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1)
    for i in range(0, max(len(data), 1), chunk):
        block = snappy_literal(data[i:i + chunk])
        out += struct.pack(">i", len(block)) + block
    return out


def test_codec_glue_matches_reference_tools(tmp_path):
    """Decompresses what the lz4 and zstd tools write (block sizes, linked and
    independent blocks, checksums, frames with and without a content size)
    and xerial snappy; our compressed output must satisfy `lz4 -d` / `zstd -d`.
    (Our snappy output is read by librdkafka in test_kafkajs_produce_and_group_consume.)"""
    tools = {t: shutil.which(t) for t in ("lz4", "zstd")}
    inputs = {"empty": b"", "one": b"x", "text": b"".join(b"line %d of some compressible text\n" % i
                                                           for i in range(100_000)),
              "random": os.urandom(300_000)}
    cases, checks = [], []  # (name, output path, expected bytes | (codec, input) for `<codec> -d`)

    def add(codec, op, src: bytes, name: str, expect):
        p_in, p_out = tmp_path / f"{name}.in", tmp_path / f"{name}.out"
        p_in.write_bytes(src)
        cases.append({"codec": codec, "op": op, "in": str(p_in), "out": str(p_out)})
        checks.append((name, p_out, expect))

    for iname, data in inputs.items():
        # Java client snappy: xerial framing, 32 KiB blocks (snappy-java's default); also one block.
        add("snappy", "decompress", xerial(data, 32 * 1024), f"snappy-xerial-{iname}", data)
        add("snappy", "decompress", xerial(data, 1 << 20), f"snappy-xerial1-{iname}", data)
        add("snappy", "decompress", snappy_literal(data), f"snappy-raw-{iname}", data)
        # snappy-java's reader also takes concatenated streams.
        add("snappy", "decompress", xerial(data, 32 * 1024) + xerial(b"tail", 32 * 1024), f"snappy-xerial2-{iname}",
            data + b"tail")
        if tools["lz4"]:
            for flags in (["-B4", "-BD"], ["-B4", "-BI", "-BX"], ["-B7", "--content-size"], ["-B5", "--no-frame-crc"]):
                comp = subprocess.run([tools["lz4"], "-q", "-c", *flags], input=data, capture_output=True,
                                      timeout=30, check=True).stdout
                add("lz4", "decompress", comp, f"lz4{''.join(flags)}-{iname}", data)
            add("lz4", "compress", data, f"lz4-c-{iname}", ("lz4", data))
        if tools["zstd"]:
            for flags, stdin in ((["-3"], True), (["-9", "--no-check"], True), (["-1"], False)):
                if stdin:  # streamed: the frame has no content size
                    comp = subprocess.run([tools["zstd"], "-q", "-c", *flags], input=data, capture_output=True,
                                          timeout=60, check=True).stdout
                else:
                    src = tmp_path / f"zsrc-{iname}"
                    src.write_bytes(data)
                    comp = subprocess.run([tools["zstd"], "-q", "-c", *flags, str(src)], capture_output=True,
                                          timeout=60, check=True).stdout
                add("zstd", "decompress", comp, f"zstd{''.join(flags)}{'-stream' if stdin else ''}-{iname}", data)
            add("zstd", "compress", data, f"zstd-c-{iname}", ("zstd", data))

    _, status = node(tmp_path, "codec", {"cases": cases}, "codec-cases", timeout=90)
    assert status == {"ok": True, "cases": len(cases)}, status
    for name, out, expect in checks:
        got = out.read_bytes()
        if isinstance(expect, bytes):
            assert got == expect, f"{name}: decompressed {len(got)} bytes differ from the {len(expect)} expected"
            continue
        codec, data = expect
        res = subprocess.run([tools[codec], "-q", "-d", "-c"], input=got, capture_output=True, timeout=60)
        assert res.returncode == 0, f"{name}: {codec} -d refused our frame: {res.stderr.decode(errors='replace')}"
        assert res.stdout == data, f"{name}: {codec} -d gave {len(res.stdout)} bytes, want {len(data)}"
    if not (tools["lz4"] and tools["zstd"]):
        pytest.skip(f"checked snappy only: no {' or '.join(t for t, p in tools.items() if not p)} command")
