"""Idempotent producers (InitProducerId, per-partition producer state,
DescribeProducers): retried batches are written once and in order, with
Kafka's error codes for gaps and fenced epochs, across a crash too.

Raw-protocol tests build record batches with kafka-python's batch builder
and speak Produce v7 / InitProducerId / DescribeProducers by hand, so they
can resend a batch byte for byte.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import struct
import time
from pathlib import Path

import pytest

import kafka_wire as kw
from conftest import run
from flaky_proxy import FlakyProxy

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from kafka.record.default_records import DefaultRecordBatchBuilder  # noqa: E402

NODE_DIR = Path(__file__).resolve().parent / "node"

API_INIT_PRODUCER_ID = 22
API_DESCRIBE_PRODUCERS = 61

ERR_NONE = 0
ERR_UNKNOWN_TOPIC_OR_PARTITION = 3
ERR_COORDINATOR_NOT_AVAILABLE = 15
ERR_NOT_COORDINATOR = 16
ERR_INVALID_REQUEST = 42
ERR_OUT_OF_ORDER_SEQUENCE_NUMBER = 45
ERR_INVALID_PRODUCER_EPOCH = 47


# --------------------------------------------------------------------------
# Raw protocol helpers
# --------------------------------------------------------------------------

class Conn:
    """One connection; requests are answered in order."""

    def __init__(self, port: int):
        self.sock = kw.connect(port)
        self.correlation_id = 0

    def close(self) -> None:
        self.sock.close()

    def send(self, api_key: int, version: int, body: bytes, flexible: bool) -> int:
        self.correlation_id += 1
        header = kw.request_header(api_key, version, self.correlation_id, flexible=flexible)
        self.sock.sendall(kw.frame(header + body))
        return self.correlation_id

    def receive(self, correlation_id: int, flexible: bool) -> kw.Reader:
        cid, rest = kw.split_response_header(kw.read_frame(self.sock), flexible)
        assert cid == correlation_id
        return kw.Reader(rest)

    def call(self, api_key: int, version: int, body: bytes, flexible: bool) -> kw.Reader:
        return self.receive(self.send(api_key, version, body, flexible), flexible)

    def init_producer_id(self, version: int = 0, transactional_id: str | None = None,
                         producer_id: int = -1, epoch: int = -1) -> tuple[int, int, int]:
        flexible = version >= 2
        body = (kw.compact_string(transactional_id) if flexible else kw.string(transactional_id))
        body += kw.int32(60000)
        if version >= 3:
            body += struct.pack(">qh", producer_id, epoch)
        if flexible:
            body += kw.empty_tagged_fields()
        r = self.call(API_INIT_PRODUCER_ID, version, body, flexible)
        r.int32()  # throttle
        error, pid, epoch = r.int16(), r.int64(), r.int16()
        if flexible:
            r.tagged_fields()
        r.expect_end("InitProducerId response")
        return error, pid, epoch

    def send_produce(self, topic: str, batch: bytes, partition: int = 0) -> int:
        """Produce v7, acks=all; returns the correlation id."""
        body = kw.string(None) + kw.int16(-1) + kw.int32(10000)
        body += kw.int32(1) + kw.string(topic) + kw.int32(1) + kw.int32(partition)
        body += kw.int32(len(batch)) + batch
        return self.send(kw.API_PRODUCE, 7, body, flexible=False)

    def produce(self, topic: str, batch: bytes, partition: int = 0) -> tuple[int, int]:
        return self.receive_produce(self.send_produce(topic, batch, partition), topic, partition)

    def receive_produce(self, correlation_id: int, topic: str, partition: int = 0) -> tuple[int, int]:
        """(error code, base offset)"""
        r = self.receive(correlation_id, flexible=False)
        assert r.int32() == 1 and r.string() == topic and r.int32() == 1
        assert r.int32() == partition
        error, base_offset = r.int16(), r.int64()
        r.int64()  # log append time
        r.int64()  # log start offset
        r.int32()  # throttle
        r.expect_end("Produce response")
        return error, base_offset

    def describe_producers(self, topic: str, partitions: list[int]) -> list[dict]:
        body = kw.uvarint(2) + kw.compact_string(topic) + kw.uvarint(len(partitions) + 1)
        body += b"".join(kw.int32(p) for p in partitions) + kw.empty_tagged_fields()
        body += kw.empty_tagged_fields()
        r = self.call(API_DESCRIBE_PRODUCERS, 0, body, flexible=True)
        r.int32()  # throttle
        assert r.array_len(True) == 1 and r.compact_string() == topic
        out = []
        for _ in range(r.array_len(True)):
            p = {"partition": r.int32(), "error": r.int16(), "message": r.compact_string(), "producers": []}
            for _ in range(r.array_len(True)):
                p["producers"].append({"producer_id": r.int64(), "epoch": r.int32(), "last_sequence": r.int32(),
                                       "last_timestamp": r.int64(), "coordinator_epoch": r.int32(),
                                       "txn_start_offset": r.int64()})
                r.tagged_fields()
            r.tagged_fields()
            out.append(p)
        r.tagged_fields()
        r.tagged_fields()
        r.expect_end("DescribeProducers response")
        return out


def make_batch(pid: int, epoch: int, seq: int, values: list[bytes]) -> bytes:
    b = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=0, producer_id=pid,
                                  producer_epoch=epoch, base_sequence=seq, batch_size=1 << 20)
    now = int(time.time() * 1000)
    for i, v in enumerate(values):
        b.append(i, timestamp=now, key=None, value=v, headers=[])
    return bytes(b.build())


def create_topic(bootstrap: str, name: str, partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[name].result(timeout=20)


def read_partition(bootstrap: str, topic: str, expected: int, timeout_s: float = 30.0) -> list[tuple[int, bytes]]:
    """Every record of partition 0 from the start until EOF: [(offset, value)]."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused", "enable.auto.commit": False,
                         "enable.partition.eof": True, "fetch.wait.max.ms": 50})
    consumer.assign([TopicPartition(topic, 0, 0)])
    got: list[tuple[int, bytes]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            msgs = consumer.consume(10000, 0.5)
            eof = False
            for m in msgs:
                if m.error():
                    assert m.error().code() == confluent_kafka.KafkaError._PARTITION_EOF, m.error()
                    eof = True
                else:
                    got.append((m.offset(), m.value()))
            if eof and len(got) >= expected:
                break
    finally:
        consumer.close()
    return got


# --------------------------------------------------------------------------
# Raw protocol: duplicates, gaps, epochs
# --------------------------------------------------------------------------

def test_advertised_apis(broker):
    keys = kw.api_versions(broker.port, version=0).api_keys
    assert keys.get(API_INIT_PRODUCER_ID) == (0, 5)
    assert keys.get(API_DESCRIBE_PRODUCERS) == (0, 0)


def test_duplicate_gap_and_old_epoch(broker):
    topic = "idem-raw"
    create_topic(broker.bootstrap, topic)
    c = Conn(broker.port)
    try:
        error, pid, epoch = c.init_producer_id(version=0)
        assert (error, epoch) == (ERR_NONE, 0) and pid >= 0
        # KIP-360 bump (v3+): same id, next epoch.
        assert c.init_producer_id(version=4, producer_id=pid, epoch=0) == (ERR_NONE, pid, 1)
        # Another producer gets another id.
        assert c.init_producer_id(version=2)[1] != pid

        first = make_batch(pid, 1, 0, [b"a0", b"a1", b"a2", b"a3", b"a4"])
        assert c.produce(topic, first) == (ERR_NONE, 0)
        # The same batch again: answered with its original offset, not written.
        assert c.produce(topic, first) == (ERR_NONE, 0)
        # A gap, an old epoch, a new epoch not starting at 0: refused.
        assert c.produce(topic, make_batch(pid, 1, 10, [b"gap"]))[0] == ERR_OUT_OF_ORDER_SEQUENCE_NUMBER
        assert c.produce(topic, make_batch(pid, 0, 5, [b"old"]))[0] == ERR_INVALID_PRODUCER_EPOCH
        assert c.produce(topic, make_batch(pid, 2, 3, [b"new"]))[0] == ERR_OUT_OF_ORDER_SEQUENCE_NUMBER
        second = make_batch(pid, 1, 5, [b"b5", b"b6"])
        assert c.produce(topic, second) == (ERR_NONE, 5)
        assert c.produce(topic, first) == (ERR_NONE, 0)  # still among the last five

        [state] = c.describe_producers(topic, [0])
        assert state["error"] == ERR_NONE and state["partition"] == 0
        assert len(state["producers"]) == 1
        p = state["producers"][0]
        assert (p["producer_id"], p["epoch"], p["last_sequence"]) == (pid, 1, 6)
        assert p["coordinator_epoch"] == -1 and p["txn_start_offset"] == -1
        assert abs(p["last_timestamp"] - time.time() * 1000) < 60_000
        assert c.describe_producers("no-such-topic", [0])[0]["error"] == ERR_UNKNOWN_TOPIC_OR_PARTITION

        # Malformed InitProducerId requests; a transactional id goes to its
        # transaction coordinator, which this broker is not before
        # FindCoordinator created __transaction_state.
        assert c.init_producer_id(version=3, producer_id=pid, epoch=-1)[0] == ERR_INVALID_REQUEST
        assert c.init_producer_id(version=1, transactional_id="tx")[0] == ERR_NOT_COORDINATOR
    finally:
        c.close()
    records = read_partition(broker.bootstrap, topic, 7)
    assert records == [(i, v) for i, v in enumerate([b"a0", b"a1", b"a2", b"a3", b"a4", b"b5", b"b6"])]


def test_five_in_flight_keep_their_order_and_retry_as_duplicates(broker):
    topic = "idem-pipeline"
    create_topic(broker.bootstrap, topic)
    c = Conn(broker.port)
    _, pid, epoch = c.init_producer_id(version=4)
    batches = [make_batch(pid, epoch, 2 * i, [b"p%d" % (2 * i), b"p%d" % (2 * i + 1)]) for i in range(5)]
    # Five requests on the wire before any response is read.
    ids = [c.send_produce(topic, b) for b in batches]
    assert [c.receive_produce(i, topic) for i in ids] == [(ERR_NONE, 2 * i) for i in range(5)]
    c.close()
    # The client lost the connection and retries all five: each is a duplicate.
    c = Conn(broker.port)
    try:
        ids = [c.send_produce(topic, b) for b in batches]
        assert [c.receive_produce(i, topic) for i in ids] == [(ERR_NONE, 2 * i) for i in range(5)]
        # Five in flight where the first has a gap: every one of them is refused.
        later = [make_batch(pid, epoch, 12 + i, [b"late"]) for i in range(5)]
        ids = [c.send_produce(topic, b) for b in later]
        assert [c.receive_produce(i, topic)[0] for i in ids] == [ERR_OUT_OF_ORDER_SEQUENCE_NUMBER] * 5
    finally:
        c.close()
    values = [v for _, v in read_partition(broker.bootstrap, topic, 10)]
    assert values == [b"p%d" % i for i in range(10)]


# --------------------------------------------------------------------------
# Producer state across SIGKILL and a clean restart
# --------------------------------------------------------------------------

def test_duplicate_recognised_after_sigkill_and_restart(broker_factory):
    broker = broker_factory.create()
    topic = "idem-crash"
    create_topic(broker.bootstrap, topic)
    c = Conn(broker.port)
    _, pid, epoch = c.init_producer_id(version=4)
    batches = [make_batch(pid, epoch, 0, [b"x0", b"x1", b"x2"]),
               make_batch(pid, epoch, 3, [b"x3", b"x4", b"x5"]),
               make_batch(pid, epoch, 6, [b"x6", b"x7"])]
    assert [c.produce(topic, b) for b in batches] == [(ERR_NONE, 0), (ERR_NONE, 3), (ERR_NONE, 6)]
    c.close()

    broker.proc.send_signal(signal.SIGKILL)
    broker.proc.wait(timeout=10)
    broker._close_log()
    broker.start()
    c = Conn(broker.port)
    try:
        # The last acknowledged batch (and the ones before it) are duplicates.
        assert c.produce(topic, batches[2]) == (ERR_NONE, 6)
        assert c.produce(topic, batches[1]) == (ERR_NONE, 3)
        assert c.produce(topic, make_batch(pid, epoch, 9, [b"gap"]))[0] == ERR_OUT_OF_ORDER_SEQUENCE_NUMBER
        fourth = make_batch(pid, epoch, 8, [b"x8"])
        assert c.produce(topic, fourth) == (ERR_NONE, 8)
    finally:
        c.close()

    # A clean stop leaves a snapshot at the log end; the restart loads it.
    rc, _ = broker.terminate()
    assert rc == 0
    part_dir = broker.log_dir / f"{topic}-0"
    assert (part_dir / "00000000000000000009.snapshot").is_file()
    broker.start()
    c = Conn(broker.port)
    try:
        assert c.produce(topic, fourth) == (ERR_NONE, 8)
        [state] = c.describe_producers(topic, [0])
        assert [(p["producer_id"], p["last_sequence"]) for p in state["producers"]] == [(pid, 8)]
    finally:
        c.close()
    values = [v for _, v in read_partition(broker.bootstrap, topic, 9)]
    assert values == [b"x%d" % i for i in range(9)]


# --------------------------------------------------------------------------
# confluent-kafka through a proxy that loses requests and responses
# --------------------------------------------------------------------------

def test_confluent_idempotent_exactly_once_through_flaky_proxy(broker_factory):
    seed = int(os.environ.get("SAMSA_PROXY_SEED", random.randrange(1 << 30)))
    proxy = FlakyProxy(seed)
    # Clients learn the broker's address from Metadata: it must be the proxy's.
    broker = broker_factory.create(extra_config={"advertised.listeners": f"PLAINTEXT://127.0.0.1:{proxy.port}"})
    proxy.start(broker.port)
    topic = "idem-flaky"
    total = 100_000
    try:
        create_topic(broker.bootstrap, topic)
        errors: list[str] = []
        delivered = 0

        def on_delivery(err, msg):
            nonlocal delivered
            if err is not None:
                errors.append(str(err))
            else:
                delivered += 1

        producer = Producer({
            "bootstrap.servers": f"127.0.0.1:{proxy.port}",
            "enable.idempotence": True,
            "acks": "all",
            "max.in.flight.requests.per.connection": 5,
            "linger.ms": 2,
            "batch.num.messages": 200,
            "retry.backoff.ms": 20,
            "reconnect.backoff.ms": 10,
            "reconnect.backoff.max.ms": 200,
            "socket.timeout.ms": 3000,  # a silently lost response times out here
            "message.timeout.ms": 120000,
            **({"debug": os.environ["RDKAFKA_DEBUG"]} if os.environ.get("RDKAFKA_DEBUG") else {}),
        })
        proxy.armed = True
        for i in range(total):
            while True:
                try:
                    producer.produce(topic, value=b"%06d" % i, partition=0, on_delivery=on_delivery)
                    break
                except BufferError:
                    producer.poll(0.05)
            if i % 1000 == 0:
                producer.poll(0)
        remaining = producer.flush(60)
        proxy.armed = False
        assert remaining == 0, f"{remaining} records undelivered (proxy seed {seed})"
        assert errors == [], f"delivery errors (proxy seed {seed}): {errors[:5]}"
        assert delivered == total
        faults = proxy.dropped_requests + proxy.dropped_responses + proxy.silent_drops
        assert faults >= 3, f"the proxy injected only {faults} faults (seed {seed})"

        records = read_partition(broker.bootstrap, topic, total, timeout_s=40)
        values = [v for _, v in records]
        assert len(values) == total, f"{len(values)} records in the log, expected {total} (seed {seed})"
        assert values == [b"%06d" % i for i in range(total)], f"duplicates or reordering (seed {seed})"
        assert [o for o, _ in records] == list(range(total))
    finally:
        proxy.stop()
    print(f"proxy seed {seed}: {proxy.connections} connections, {proxy.dropped_requests} requests and "
          f"{proxy.dropped_responses} responses dropped with a close, {proxy.silent_drops} silently")


# --------------------------------------------------------------------------
# kafkajs idempotent producer
# --------------------------------------------------------------------------

def test_kafkajs_idempotent_producer_exactly_once(broker):
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "kafkajs").is_dir():
        pytest.skip("node or kafkajs is not installed (npm ci in tests/integration/node)")
    topic = "idem-kafkajs"
    create_topic(broker.bootstrap, topic)
    total = 2000
    res = run(["node", NODE_DIR / "idempotent_produce.js", broker.bootstrap, topic, str(total), "60000"],
              timeout=90)
    assert res.returncode == 0, f"kafkajs failed:\n{res.stdout}\n{res.stderr}"
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["sent"] == total
    assert [off for _, off in out["responses"]] == list(range(0, total, 100))

    values = [v for _, v in read_partition(broker.bootstrap, topic, total)]
    assert values == [b"kjs-%06d" % i for i in range(total)]
    c = Conn(broker.port)
    try:
        [state] = c.describe_producers(topic, [0])
    finally:
        c.close()
    assert [p["last_sequence"] for p in state["producers"]] == [total - 1]
