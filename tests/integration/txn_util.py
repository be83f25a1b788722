"""Helpers for the transaction tests (issue 12) and bench/transactions.py.

Built on cluster.py and the replication helpers:
- TXN_CONFIG / txn_cluster: three combined nodes with RF 3 everywhere,
  `__transaction_state` with replication factor 3 and min ISR 2, and short
  transaction timers so that timeouts and cleanups show within a test;
- find_txn_coordinator: the node FindCoordinator(TRANSACTION) names;
- consume: what a confluent-kafka consumer at an isolation level reads from
  the beginning to the end of each partition (the LSO for read_committed);
- list_offset / fetch_raw: ListOffsets and Fetch at an isolation level,
  asked of the partition's leader with raw requests;
- RawTxnProducer: a transactional producer driven request by request
  (InitProducerId, AddPartitionsToTxn, Produce, EndTxn) for the cases no
  stock client can play, such as a write that arrives after EndTxn.

Every wait is bounded.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import cluster as cl
from test_replication_clients import REPLICATION_CONFIG, replicated_cluster

ERR_NONE = 0
ERR_COORDINATOR_LOAD_IN_PROGRESS = 14
ERR_COORDINATOR_NOT_AVAILABLE = 15
ERR_NOT_COORDINATOR = 16
ERR_INVALID_PRODUCER_EPOCH = 47
ERR_INVALID_TXN_STATE = 48
ERR_CONCURRENT_TRANSACTIONS = 51
ERR_PRODUCER_FENCED = 90
ERR_TRANSACTION_ABORTABLE = 120
# What the coordinator answers while it moves or loads: retry.
RETRIABLE_COORDINATOR = {ERR_COORDINATOR_LOAD_IN_PROGRESS, ERR_COORDINATOR_NOT_AVAILABLE, ERR_NOT_COORDINATOR,
                         ERR_CONCURRENT_TRANSACTIONS}

READ_UNCOMMITTED = 0
READ_COMMITTED = 1
LATEST = -1

TXN_CONFIG = {
    **REPLICATION_CONFIG,
    "transaction.state.log.replication.factor": 3,
    "transaction.state.log.min.isr": 2,
    # Fewer than Kafka's 50 partitions: creating 50 RF-3 partitions on a
    # loaded 2-core machine takes seconds of every test's budget.
    "transaction.state.log.num.partitions": 6,
    # Timeouts show within a test (Kafka: 10 s and 60 s).
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": 500,
    "log.cleaner.backoff.ms": 200,
}


class _Client:
    """A confluent-kafka client handed to a test through `clients`: the test
    holds this wrapper, not the client, so the client is destroyed at the
    test's teardown (while the cluster still runs) even when a failing test's
    traceback keeps the test's locals alive until the session ends (a
    transactional producer destroyed then, with the brokers gone, held the
    interpreter's exit for ~90 s)."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        if self._client is None:
            raise RuntimeError("client already closed")
        return getattr(self._client, name)

    def _close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if hasattr(client, "purge"):
                client.purge()
                client.flush(0)
            else:
                client.close()
        except Exception:  # noqa: BLE001 - teardown of a client in any state
            pass


@pytest.fixture
def clients():
    """clients.producer(conf) / clients.consumer(conf): confluent-kafka
    clients destroyed when the test ends."""
    made: list[_Client] = []

    class Factory:
        @staticmethod
        def producer(conf: dict) -> _Client:
            from confluent_kafka import Producer
            made.append(_Client(Producer(conf)))
            return made[-1]

    yield Factory
    for c in made:
        c._close()


def txn_cluster(workdir: Path, extra: dict | None = None) -> cl.Cluster:
    return replicated_cluster(workdir, {**TXN_CONFIG, **(extra or {})})


def module_cluster_fixtures(name: str, extra: dict | None = None):
    """A module-scoped fixture `name` running a txn_cluster (stopped after
    the module), and an autouse fixture that attaches its nodes' logs to
    the report of every test using it. In a test module:
    `c2, _attach_logs = tu.module_cluster_fixtures("c2")`."""

    @pytest.fixture(scope="module", name=name)
    def _cluster(tmp_path_factory):
        c = txn_cluster(tmp_path_factory.mktemp(name), extra)
        yield c
        try:
            c.stop()
        finally:
            c.close()

    @pytest.fixture(autouse=True)
    def _attach_logs(request):
        if name in request.fixturenames:
            request.node.__dict__.setdefault("_samsa_brokers", []).extend(request.getfixturevalue(name).nodes)

    return _cluster, _attach_logs


def find_txn_coordinator(c: cl.Cluster, txn_id: str, timeout: float = 30.0) -> cl.Node:
    """The live node FindCoordinator v3 (key type TRANSACTION) names for
    `txn_id`, asked of live brokers until one answers without error (the
    first request creates `__transaction_state`)."""
    last = {}

    def check():
        for b in c.live_brokers():
            try:
                body = c.call(b, b.port, "FindCoordinator", 3, {"Key": txn_id, "KeyType": 1}, timeout=5)
            except cl.WIRE_ERRORS as e:
                last[b.node_id] = repr(e)
                continue
            last[b.node_id] = (body["ErrorCode"], body["NodeId"])
            if body["ErrorCode"] == 0 and any(x.node_id == body["NodeId"] for x in c.live_brokers()):
                last["found"] = body["NodeId"]
                return True
        return False
    cl.wait_until(check, timeout, f"a live transaction coordinator for {txn_id}", lambda: f"answers: {last}", 0.2)
    return c.node(last["found"])


def consumer_conf(c: cl.Cluster, isolation: str, **extra) -> dict:
    return {"bootstrap.servers": c.bootstrap_servers(), "group.id": "txn-test-reader", "enable.auto.commit": False,
            "isolation.level": isolation, "enable.partition.eof": True, "fetch.wait.max.ms": 100,
            "topic.metadata.refresh.interval.ms": 1000, **extra}


def consume(c: cl.Cluster, topic: str, partitions: int, isolation: str, timeout: float = 30.0,
            settle: float = 0.0) -> dict[int, list[tuple[bytes | None, bytes]]]:
    """{partition: [(key, value)]} a confluent-kafka consumer at `isolation`
    ("read_committed" / "read_uncommitted") reads from the beginning until
    every partition reported its end (then `settle` seconds more)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
    cons = Consumer(consumer_conf(c, isolation))
    cons.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    got: dict[int, list] = {p: [] for p in range(partitions)}
    at_end: set[int] = set()
    deadline = time.monotonic() + timeout
    settle_until = None
    try:
        while time.monotonic() < deadline:
            if len(at_end) == partitions and settle_until is None:
                settle_until = time.monotonic() + settle
            if settle_until is not None and time.monotonic() >= settle_until:
                return got
            m = cons.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add(m.partition())
                    continue
                raise AssertionError(f"{isolation} consumer of {topic}: {m.error()}")
            at_end.discard(m.partition())
            got[m.partition()].append((m.key(), m.value()))
    finally:
        cons.close()
    raise AssertionError(f"{isolation} consumer of {topic} did not reach the end of partitions "
                         f"{sorted(set(range(partitions)) - at_end)} in {timeout}s "
                         f"(read {sum(map(len, got.values()))} records)")


def list_offset(c: cl.Cluster, topic: str, partition: int, isolation: int, timestamp: int = LATEST) -> int:
    """ListOffsets v5 of one partition at `isolation`, asked of its leader."""
    leader = c.leader_of(topic, partition)
    body = c.call(leader, leader.port, "ListOffsets", 5, {
        "ReplicaId": -1, "IsolationLevel": isolation,
        "Topics": [{"Name": topic, "Partitions": [{"PartitionIndex": partition, "CurrentLeaderEpoch": -1,
                                                   "Timestamp": timestamp}]}]})
    p = body["Topics"][0]["Partitions"][0]
    assert p["ErrorCode"] == 0, f"ListOffsets {topic}-{partition} isolation {isolation}: error {p['ErrorCode']}"
    return p["Offset"]


def fetch_raw(c: cl.Cluster, topic: str, partition: int, offset: int, isolation: int) -> dict:
    """One Fetch v11 (replica id -1) from the partition's leader: the
    partition's entry (HighWatermark, LastStableOffset, AbortedTransactions,
    Records)."""
    leader = c.leader_of(topic, partition)
    body = c.call(leader, leader.port, "Fetch", 11, {
        "ReplicaId": -1, "MaxWaitMs": 0, "MinBytes": 0, "MaxBytes": 8 << 20, "IsolationLevel": isolation,
        "SessionId": 0, "SessionEpoch": -1,
        "Topics": [{"Topic": topic, "Partitions": [{"Partition": partition, "CurrentLeaderEpoch": -1,
                                                    "FetchOffset": offset, "LogStartOffset": -1,
                                                    "PartitionMaxBytes": 8 << 20}]}],
        "ForgottenTopicsData": [], "RackId": ""}, timeout=5)
    assert body["ErrorCode"] == 0, f"Fetch: error {body['ErrorCode']}"
    return body["Responses"][0]["Partitions"][0]


def wait_stable(c: cl.Cluster, topic: str, partition: int, timeout: float = 20.0) -> int:
    """Until the partition's last stable offset equals its high watermark
    (no transaction open there); returns that offset."""
    seen = {}

    def check():
        seen["lso"] = list_offset(c, topic, partition, READ_COMMITTED)
        seen["hwm"] = list_offset(c, topic, partition, READ_UNCOMMITTED)
        return seen["lso"] == seen["hwm"]
    cl.wait_until(check, timeout, f"{topic}-{partition}: last stable offset == high watermark",
                  lambda: f"{seen}", 0.2)
    return seen["hwm"]


def txn_batch(pid: int, epoch: int, seq: int, values: list[str]) -> bytes:
    """One uncompressed v2 transactional batch of producer (pid, epoch)
    starting at sequence `seq`."""
    from kafka.record.default_records import DefaultRecordBatchBuilder
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=1, producer_id=pid,
                                        producer_epoch=epoch, base_sequence=seq, batch_size=1 << 20)
    now = int(time.time() * 1000)
    for i, v in enumerate(values):
        builder.append(i, timestamp=now, key=None, value=v.encode(), headers=[])
    return bytes(builder.build())


def produce_request(txn_id: str, topic: str, partition: int, records: bytes) -> dict:
    """The fields of a Produce v9 request with one batch, acks=all."""
    return {"TransactionalId": txn_id, "Acks": -1, "TimeoutMs": 10000,
            "TopicData": [{"Name": topic, "PartitionData": [{"Index": partition, "Records": records}]}]}


def produce_error(body: dict) -> int:
    return body["Responses"][0]["PartitionResponses"][0]["ErrorCode"]


class RawTxnProducer:
    """A transactional producer played request by request against the
    coordinator (transactions v1 request versions: InitProducerId v4,
    AddPartitionsToTxn v3, EndTxn v4, Produce v9). Coordinator answers that
    say "retry" (loading, moving, concurrent transactions) are retried
    within `timeout`."""

    def __init__(self, c: cl.Cluster, txn_id: str, txn_timeout_ms: int = 60000, timeout: float = 30.0):
        self.c, self.txn_id, self.timeout = c, txn_id, timeout
        self.coordinator = find_txn_coordinator(c, txn_id, timeout)
        body = self._coordinator_call("InitProducerId", 4, {"TransactionalId": txn_id,
                                                             "TransactionTimeoutMs": txn_timeout_ms,
                                                             "ProducerId": -1, "ProducerEpoch": -1},
                                      lambda b: b["ErrorCode"])
        assert body["ErrorCode"] == ERR_NONE, f"InitProducerId {txn_id}: error {body['ErrorCode']}"
        self.pid, self.epoch = body["ProducerId"], body["ProducerEpoch"]
        self.seq: dict[tuple[str, int], int] = {}

    def _coordinator_call(self, api: str, version: int, values: dict, error_of) -> dict:
        last = {}
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                body = self.c.call(self.coordinator, self.coordinator.port, api, version, values, timeout=10)
                last["error"] = error_of(body)
                if last["error"] not in RETRIABLE_COORDINATOR:
                    return body
            except cl.WIRE_ERRORS as e:
                last["error"] = repr(e)
            assert time.monotonic() < deadline, f"{api} for {self.txn_id}: still {last} after {self.timeout}s"
            time.sleep(0.2)
            if last["error"] in (ERR_NOT_COORDINATOR, ERR_COORDINATOR_NOT_AVAILABLE) or isinstance(last["error"], str):
                self.coordinator = find_txn_coordinator(self.c, self.txn_id, self.timeout)

    def add_partitions(self, topic: str, partitions: list[int]) -> int:
        body = self._coordinator_call("AddPartitionsToTxn", 3, {
            "V3AndBelowTransactionalId": self.txn_id, "V3AndBelowProducerId": self.pid,
            "V3AndBelowProducerEpoch": self.epoch,
            "V3AndBelowTopics": [{"Name": topic, "Partitions": partitions}]},
            lambda b: max((r["PartitionErrorCode"] for t in b["ResultsByTopicV3AndBelow"]
                           for r in t["ResultsByPartition"]), default=0))
        return max((r["PartitionErrorCode"] for t in body["ResultsByTopicV3AndBelow"]
                    for r in t["ResultsByPartition"]), default=0)

    def batch(self, topic: str, partition: int, values: list[str]) -> bytes:
        """The next transactional batch for the partition (advances its sequence)."""
        seq = self.seq.get((topic, partition), 0)
        self.seq[(topic, partition)] = seq + len(values)
        return txn_batch(self.pid, self.epoch, seq, values)

    def produce(self, topic: str, partition: int, values: list[str]) -> int:
        """One batch to the partition's leader; its error code."""
        leader = self.c.leader_of(topic, partition)
        body = self.c.call(leader, leader.port, "Produce", 9,
                           produce_request(self.txn_id, topic, partition, self.batch(topic, partition, values)),
                           timeout=15)
        return produce_error(body)

    def end(self, commit: bool) -> int:
        body = self._coordinator_call("EndTxn", 4, {"TransactionalId": self.txn_id, "ProducerId": self.pid,
                                                     "ProducerEpoch": self.epoch, "Committed": commit},
                                      lambda b: b["ErrorCode"])
        return body["ErrorCode"]
