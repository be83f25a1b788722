"""Produce, Fetch and ListOffsets against the real broker with stock clients
(kcat, confluent-kafka, kafka-python, kafkajs) and raw sockets for the
malformed-input cases.

Consumers use assign() (no groups yet). Topics are made with CreateTopics
when the broker serves it, otherwise by Metadata auto-creation; a test that
finds neither skips and says so.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest

import kafka_wire as kw

NODE_DIR = Path(__file__).resolve().parent / "node"
N = 10_000
CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def assert_stored_with(broker, topic: str, codec: str, partition: int = 0) -> None:
    """The partition's batches are stored as the client sent them: compressed
    with `codec`, except small batches that clients leave uncompressed when
    compression would not make them smaller (librdkafka and kafka-python do)."""
    codecs = {c for _, c, _ in kw.stored_batches(broker.port, topic, partition)}
    assert CODEC_IDS[codec] in codecs and codecs <= {0, CODEC_IDS[codec]}, f"stored codecs {codecs}"


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def create_topic(broker, name: str, partitions: int = 1, config: dict | None = None) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    err = None
    try:
        fs = admin.create_topics([NewTopic(name, partitions, 1, config=config or {})], request_timeout=10)
        fs[name].result(timeout=15)
    except Exception as e:  # CreateTopics not served yet: try auto-creation
        err = e
    deadline = time.monotonic() + 20
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": broker.bootstrap})
    while time.monotonic() < deadline:
        md = p.list_topics(topic=name, timeout=5)
        t = md.topics.get(name)
        if t is not None and t.error is None and len(t.partitions) >= (partitions if err is None else 1) and \
                all(pm.leader >= 0 for pm in t.partitions.values()):
            return
        time.sleep(0.2)
    pytest.skip(f"cannot create topic {name}: CreateTopics failed ({err}) and auto-creation did not happen")


def partitions_of(broker, name: str) -> int:
    from confluent_kafka import Producer
    return len(Producer({"bootstrap.servers": broker.bootstrap}).list_topics(topic=name, timeout=5)
               .topics[name].partitions)


def confluent_consume(broker, topic: str, partition: int, count: int, timeout: float = 60.0) -> list:
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused", "enable.auto.commit": False,
                  "fetch.wait.max.ms": 100})
    c.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
    out = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < count and time.monotonic() < deadline:
            for m in c.consume(num_messages=1000, timeout=1.0):
                assert m.error() is None, m.error()
                out.append(m)
    finally:
        c.close()
    assert len(out) == count, f"read {len(out)} of {count} records from {topic}-{partition}"
    return out


# ---- raw produce (v3, non-flexible) --------------------------------------

_CRC_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def varint(v: int) -> bytes:
    return kw.uvarint((v << 1) ^ (v >> 63))


def record_batch(values: list[bytes], ts: int = 1_700_000_000_000) -> bytes:
    recs = b""
    for i, v in enumerate(values):
        body = b"\x00" + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        recs += varint(len(body)) + body
    after_crc = (struct.pack(">hiqqqhii", 0, len(values) - 1, ts, ts, -1, -1, -1, len(values)) + recs)
    head = struct.pack(">qib", 0, 4 + 1 + 4 + len(after_crc), 0)
    return head[:8] + struct.pack(">i", 4 + 1 + 4 + len(after_crc)) + struct.pack(">ib", -1, 2) + \
        struct.pack(">I", crc32c(after_crc)) + after_crc


def produce_request(topic: str, partition: int, records: bytes, cid: int, acks: int = 1) -> bytes:
    body = kw.int16(-1) + kw.int16(acks) + kw.int32(5000) + kw.int32(1) + kw.string(topic) + kw.int32(1) + \
        kw.int32(partition) + kw.int32(len(records)) + records
    return kw.frame(kw.request_header(kw.API_PRODUCE, 3, cid) + body)


def raw_produce(sock, topic: str, partition: int, records: bytes, cid: int) -> tuple[int, int]:
    sock.sendall(produce_request(topic, partition, records, cid))
    got_cid, body = kw.split_response_header(kw.read_frame(sock), False)
    assert got_cid == cid
    r = kw.Reader(body)
    assert r.int32() == 1 and r.string() == topic and r.int32() == 1
    assert r.int32() == partition
    err, base = r.int16(), r.int64()
    return err, base


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------

@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_kcat_produce_and_consume(broker, codec):
    # kcat creates the topic through auto-creation (Metadata), then writes
    # keyed records with two headers to partition 0 and reads them back.
    topic = f"kcat-{codec}"
    lines = [f"key-{i}\tvalue-{i}-{'x' * (i % 50)}" for i in range(N)]
    res = subprocess.run(["kcat", "-P", "-b", broker.bootstrap, "-t", topic, "-p", "0", "-z", codec,
                          "-K", "\t", "-H", "origin=kcat", "-H", f"codec={codec}"],
                         input="\n".join(lines) + "\n", text=True, capture_output=True, timeout=60)
    assert res.returncode == 0, res.stderr
    res = subprocess.run(["kcat", "-C", "-b", broker.bootstrap, "-t", topic, "-p", "0", "-o", "beginning",
                          "-e", "-q", "-f", "%o\t%k\t%s\t%h\n"],
                         text=True, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stderr
    expected = [f"{i}\t{line}\torigin=kcat,codec={codec}" for i, line in enumerate(lines)]
    assert res.stdout.splitlines() == expected
    assert_stored_with(broker, topic, codec)


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_confluent_every_codec_roundtrip(broker, codec):
    from confluent_kafka import Producer
    topic = f"codec-{codec}"
    create_topic(broker, topic, partitions=3)
    parts = partitions_of(broker, topic)
    p = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": codec, "linger.ms": 5,
                  "enable.idempotence": False, "acks": "all"})
    sent = {i: [] for i in range(parts)}
    errors = []
    for i in range(N):
        part = i % parts
        key, value = f"key-{i}".encode(), bytes([i % 251]) * (i % 300) + f"value-{i}".encode()
        # (no None header values: confluent-kafka 1.7's headers() decrefs None
        # once per null value and crashes the interpreter after a few thousand)
        headers = [("h", f"hv-{i}".encode()), ("e", b"")]
        p.produce(topic, value=value, key=key, headers=headers, partition=part,
                  on_delivery=lambda e, m: errors.append(e) if e else None)
        sent[part].append((key, value, headers))
        if i % 1000 == 0:
            p.poll(0)
    assert p.flush(30) == 0
    assert errors == []
    for part in range(parts):
        got = confluent_consume(broker, topic, part, len(sent[part]))
        assert [(m.key(), m.value(), m.headers()) for m in got] == sent[part]
        assert [m.offset() for m in got] == list(range(len(sent[part])))


@pytest.mark.parametrize("acks", [0, 1, -1])
def test_confluent_acks(broker, acks):
    from confluent_kafka import Producer
    topic = f"acks{acks + 1}"
    create_topic(broker, topic)
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": acks, "enable.idempotence": False})
    for i in range(500):
        p.produce(topic, value=f"m{i}".encode(), partition=0)
    assert p.flush(30) == 0
    got = confluent_consume(broker, topic, 0, 500)
    assert [m.value() for m in got] == [f"m{i}".encode() for i in range(500)]


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_kafka_python_roundtrip(broker, codec):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.codec import has_lz4, has_snappy, has_zstd
    available = {"none": True, "gzip": True, "snappy": has_snappy(), "lz4": has_lz4(), "zstd": has_zstd()}
    assert available[codec], f"kafka-python cannot use {codec}: install python3-snappy/lz4/zstandard"
    topic = f"kpy-{codec}"
    create_topic(broker, topic)
    prod = KafkaProducer(bootstrap_servers=broker.bootstrap, acks=1,
                         compression_type=None if codec == "none" else codec)
    futures = [prod.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), partition=0,
                         headers=[("h", b"x")]) for i in range(N)]
    prod.flush(30)
    assert [f.get(timeout=10).offset for f in futures[:3]] == [0, 1, 2]
    prod.close()
    cons = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False,
                         auto_offset_reset="earliest", consumer_timeout_ms=5000)
    tp = TopicPartition(topic, 0)
    cons.assign([tp])
    cons.seek_to_beginning(tp)
    got = []
    deadline = time.monotonic() + 60
    while len(got) < N and time.monotonic() < deadline:
        for recs in cons.poll(timeout_ms=1000).values():
            got.extend(recs)
    cons.close()
    assert [(r.key, r.value) for r in got] == [(f"k{i}".encode(), f"v{i}".encode()) for i in range(N)]
    assert all(r.headers == [("h", b"x")] for r in got)
    assert_stored_with(broker, topic, codec)


def test_offsets_for_times(broker):
    from confluent_kafka import Consumer, Producer, TopicPartition
    create_topic(broker, "times")
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    base = 1_700_000_000_000
    for i in range(100):
        p.produce("times", value=b"x", partition=0, timestamp=base + i * 10)
        p.flush(10)  # one batch per record: per-batch time index entries
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused"})
    try:
        res = c.offsets_for_times([TopicPartition("times", 0, base + 255)], timeout=10)
        assert res[0].error is None and res[0].offset == 26
        res = c.offsets_for_times([TopicPartition("times", 0, base)], timeout=10)
        assert res[0].offset == 0
        res = c.offsets_for_times([TopicPartition("times", 0, base + 10_000)], timeout=10)
        assert res[0].offset == -1  # none: OFFSET_END
        lo, hi = c.get_watermark_offsets(TopicPartition("times", 0), timeout=10)
        assert (lo, hi) == (0, 100)
    finally:
        c.close()


@pytest.mark.skipif(shutil.which("node") is None or not (NODE_DIR / "node_modules" / "kafkajs").exists(),
                    reason="node/kafkajs not installed (run npm ci in tests/integration/node)")
def test_kafkajs_produce(broker):
    # kafkajs' consumer needs consumer groups, which do not exist yet: its
    # records are read back with confluent-kafka instead.
    create_topic(broker, "kjs")
    script = """
const { Kafka, logLevel, CompressionTypes } = require('kafkajs');
(async () => {
  const kafka = new Kafka({ brokers: [process.argv[1]], logLevel: logLevel.NOTHING });
  const p = kafka.producer();
  await p.connect();
  for (let b = 0; b < 10; b++) {
    const messages = [];
    for (let i = 0; i < 100; i++) messages.push({ key: `k${b * 100 + i}`, value: `v${b * 100 + i}`, partition: 0 });
    await p.send({ topic: 'kjs', acks: -1, compression: b % 2 ? CompressionTypes.GZIP : CompressionTypes.None, messages });
  }
  await p.disconnect();
  console.log('ok');
})().catch(e => { console.error(e); process.exit(1); });
"""
    res = subprocess.run(["node", "-e", script, broker.bootstrap], cwd=NODE_DIR, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0 and "ok" in res.stdout, res.stderr
    got = confluent_consume(broker, "kjs", 0, 1000)
    assert [m.value() for m in got] == [f"v{i}".encode() for i in range(1000)]


def test_bad_input_keeps_broker_serving(broker_factory):
    b = broker_factory.create(extra_config={"auto.create.topics.enable": "false"})
    create_topic(b, "good")
    with kw.connect(b.port) as s:
        err, _ = raw_produce(s, "missing-topic", 0, record_batch([b"a"]), 1)
        assert err == kw.ERR_UNKNOWN_TOPIC_OR_PARTITION
        err, _ = raw_produce(s, "good", 0, record_batch([b"x" * (1_100_000)]), 2)
        assert err == 10  # MESSAGE_TOO_LARGE
        bad = bytearray(record_batch([b"a", b"b"]))
        bad[-1] ^= 0xFF
        err, _ = raw_produce(s, "good", 0, bytes(bad), 3)
        assert err == 2  # CORRUPT_MESSAGE
        err, base = raw_produce(s, "good", 0, record_batch([b"ok1", b"ok2"]), 4)
        assert (err, base) == (0, 0)
    got = confluent_consume(b, "good", 0, 2)
    assert [m.value() for m in got] == [b"ok1", b"ok2"]


def test_produce_v2_closes_connection(broker):
    create_topic(broker, "old")
    with kw.connect(broker.port) as s:
        body = kw.int16(1) + kw.int32(5000) + kw.int32(0)
        s.sendall(kw.frame(kw.request_header(kw.API_PRODUCE, 2, 9) + body))
        assert kw.wait_closed(s) == b""


def test_topic_compression_level_reaches_broker_recompression(broker):
    """compression.type=zstd with compression.zstd.level 1 and 19: the broker
    recompresses the producer's uncompressed batches at the topic's level, so
    the same records take less disk at 19, and both read back the same."""
    import random
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    topics = {"zstd-l1": "1", "zstd-l19": "19"}
    futures = admin.create_topics([NewTopic(t, 1, 1, config={"compression.type": "zstd", "compression.zstd.level": lvl})
                                   for t, lvl in topics.items()])
    for f in futures.values():
        f.result(timeout=20)
    rng = random.Random(7)
    words = [("".join(rng.choice("abcdefghij") for _ in range(rng.randint(2, 9)))).encode() for _ in range(300)]
    values = [b" ".join(rng.choice(words) for _ in range(200)) for _ in range(400)]
    for t in topics:
        p = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": "none", "linger.ms": 50,
                      "batch.size": 1 << 20})
        for v in values:
            p.produce(t, value=v, partition=0)
        assert p.flush(30) == 0
    sizes = {t: sum(f.stat().st_size for f in (broker.log_dir / f"{t}-0").glob("*.log")) for t in topics}
    assert sizes["zstd-l19"] < sizes["zstd-l1"], sizes
    for t in topics:
        assert {c for _, c, _ in kw.stored_batches(broker.port, t, 0)} == {4}  # zstd
        c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused", "enable.auto.commit": False})
        c.assign([TopicPartition(t, 0, 0)])
        got = []
        deadline = time.monotonic() + 20
        while len(got) < len(values) and time.monotonic() < deadline:
            for m in c.consume(num_messages=500, timeout=0.5):
                assert m.error() is None, m.error()
                got.append(m.value())
        c.close()
        assert got == values, t
