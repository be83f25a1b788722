"""Transactions with stock clients on three combined nodes (issue 12, "Done when").

One cluster for the module (txn_util.TXN_CONFIG: RF 3, min ISR 2,
`__transaction_state` replicated three times). Every topic has RF 3.
- confluent-kafka (librdkafka) and kafkajs commit and abort transactions over
  several partitions: a read_committed consumer reads exactly the committed
  records in order, read_uncommitted everything, and kafka-python (which
  knows nothing of transactions) still reads the data (plus the markers,
  which it hands out as records);
- an open transaction holds the last stable offset (ListOffsets, Fetch) and
  shows in DescribeTransactions, ListTransactions and DescribeProducers;
- a zombie with the same transactional.id is fenced and cannot write; a
  transaction left open past its timeout is aborted and never visible;
  a timeout above transaction.max.timeout.ms is refused;
- offsets sent to a transaction reach OffsetFetch only with its commit.
The KIP-890 late write and compaction are in test_transactions_log.py, the
kill -9 copy in test_transactions_failover.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import cluster as cl
import kafka_wire as kw
import txn_util as tu
from txn_util import clients  # noqa: F401 - fixture

NODE_DIR = Path(__file__).resolve().parent / "node"
PARTITIONS = 3
PER_TXN = 30  # records per partition and transaction
ERR_INVALID_TRANSACTION_TIMEOUT = 50
ERR_UNSTABLE_OFFSET_COMMIT = 88
FENCED = {tu.ERR_PRODUCER_FENCED, tu.ERR_INVALID_PRODUCER_EPOCH}


tc, _attach_logs = tu.module_cluster_fixtures("tc")


def txn_records(t: int) -> dict[int, list[tuple[bytes, bytes]]]:
    """The records transaction number t writes: PER_TXN per partition."""
    return {p: [(f"t{t}-k{p}-{i}".encode(), f"t{t}-v{p}-{i}".encode()) for i in range(PER_TXN)]
            for p in range(PARTITIONS)}


def split_views(plan: list[bool]) -> tuple[dict, dict]:
    """(committed, everything) per partition for transactions committed
    (True) or aborted (False) in the order of `plan`."""
    committed = {p: [] for p in range(PARTITIONS)}
    everything = {p: [] for p in range(PARTITIONS)}
    for t, commit in enumerate(plan):
        for p, recs in txn_records(t).items():
            everything[p] += recs
            if commit:
                committed[p] += recs
    return committed, everything


def assert_isolated_views(c, topic: str, plan: list[bool]) -> None:
    """read_committed reads the committed transactions, read_uncommitted
    all of them, and each partition holds one marker per transaction."""
    committed, everything = split_views(plan)
    for p in range(PARTITIONS):
        end = tu.wait_stable(c, topic, p)
        assert end == len(plan) * (PER_TXN + 1), \
            f"{topic}-{p}: high watermark {end}, want {len(plan)} transactions of {PER_TXN} records + 1 marker each"
    assert tu.consume(c, topic, PARTITIONS, "read_committed") == committed
    assert tu.consume(c, topic, PARTITIONS, "read_uncommitted") == everything


def assert_kafka_python_reads(c, topic: str, plan: list[bool]) -> None:
    """kafka-python 2.0.2 reads uncommitted and hands out the control
    records as records: the data is all there, in order, and the only other
    records are one COMMIT/ABORT marker (key version 0, type 1/0) per
    transaction and partition."""
    from kafka import KafkaConsumer, TopicPartition
    _, everything = split_views(plan)
    cons = KafkaConsumer(bootstrap_servers=[b.bootstrap for b in c.brokers], group_id=None,
                         enable_auto_commit=False, auto_offset_reset="earliest", consumer_timeout_ms=5000)
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    cons.assign(tps)
    cons.seek_to_beginning(*tps)
    data = {p: [] for p in range(PARTITIONS)}
    markers = {p: [] for p in range(PARTITIONS)}
    for r in cons:  # ends after 5 s without records
        if r.key in (b"\x00\x00\x00\x00", b"\x00\x00\x00\x01") and r.value is not None and len(r.value) == 6:
            markers[r.partition].append(r.key[3])
        else:
            data[r.partition].append((r.key, r.value))
    cons.close()
    assert data == everything, "kafka-python read other data"
    assert markers == {p: [1 if t else 0 for t in plan] for p in range(PARTITIONS)}


def test_confluent_commit_and_abort(tc, clients):
    topic = "txn-confluent"
    tc.create_replicated_topic(topic, PARTITIONS, configs={"min.insync.replicas": 2})
    plan = [True, False, True, True, False, True]
    prod = clients.producer({"bootstrap.servers": tc.bootstrap_servers(), "transactional.id": "txn-confluent-1",
                     "linger.ms": 5, "transaction.timeout.ms": 30000, "message.timeout.ms": 30000})
    prod.init_transactions(30)
    for t, commit in enumerate(plan):
        prod.begin_transaction()
        for p, recs in txn_records(t).items():
            for k, v in recs:
                prod.produce(topic, key=k, value=v, partition=p)
        if commit:
            prod.commit_transaction(30)
        else:
            assert prod.flush(30) == 0  # written, then aborted: read_uncommitted must see them
            prod.abort_transaction(30)
    assert_isolated_views(tc, topic, plan)

    # What librdkafka relies on: Fetch read_committed lists the aborted
    # transactions of the range it returns (first offsets of the aborted
    # ones), and reports the last stable offset.
    part = tu.fetch_raw(tc, topic, 0, 0, tu.READ_COMMITTED)
    aborted = sorted(a["FirstOffset"] for a in part["AbortedTransactions"] or [])
    want = [t * (PER_TXN + 1) for t, commit in enumerate(plan) if not commit]
    assert aborted == want, f"aborted transactions in Fetch: {part['AbortedTransactions']}"
    assert part["LastStableOffset"] == part["HighWatermark"] == len(plan) * (PER_TXN + 1)
    assert tu.fetch_raw(tc, topic, 0, 0, tu.READ_UNCOMMITTED)["AbortedTransactions"] in (None, [])
    assert_kafka_python_reads(tc, topic, plan)


def test_kafkajs_commit_and_abort(tc, tmp_path):
    assert shutil.which("node") is not None and (NODE_DIR / "node_modules" / "kafkajs").is_dir(), \
        "node and kafkajs are needed (run npm ci --no-audit --no-fund in tests/integration/node)"
    topic = "txn-kafkajs"
    tc.create_replicated_topic(topic, PARTITIONS, configs={"min.insync.replicas": 2})
    plan = [True, False, False, True]
    spec = {"brokers": [b.bootstrap for b in tc.brokers], "transactionalId": "txn-kafkajs-1", "topic": topic,
            "timeoutMs": 60000,
            "transactions": [{"commit": commit, "messages": [{"p": p, "k": k.decode(), "v": v.decode()}
                                                             for p, recs in txn_records(t).items() for k, v in recs]}
                             for t, commit in enumerate(plan)]}
    path = tmp_path / "txn.json"
    path.write_text(json.dumps(spec))
    res = subprocess.run(["node", NODE_DIR / "txn_produce.js", path], capture_output=True, text=True, timeout=90,
                         cwd=NODE_DIR)
    assert res.returncode == 0, res.stdout + res.stderr
    assert json.loads(res.stdout.strip().splitlines()[-1]) == {"ok": True, "committed": 2, "aborted": 2}
    assert_isolated_views(tc, topic, plan)
    # kafkajs' own consumer reads committed by default.
    committed, _ = split_views(plan)
    total = sum(map(len, committed.values()))
    cfg = tmp_path / "consumer.json"
    cfg.write_text(json.dumps({"brokers": [b.bootstrap for b in tc.brokers], "groupId": "txn-kafkajs-reader",
                               "topics": [topic], "expected": total, "settleMs": 1000, "timeoutMs": 45000,
                               "fromBeginning": True}))
    res = subprocess.run(["node", NODE_DIR / "group_consume.js", cfg], capture_output=True, text=True, timeout=90,
                         cwd=NODE_DIR)
    lines = [json.loads(x) for x in res.stdout.splitlines() if x.startswith("{")]
    assert res.returncode == 0, f"kafkajs consumer: {lines[-1] if lines else ''} {res.stderr[-2000:]}"
    import base64
    got = {p: [] for p in range(PARTITIONS)}
    for r in lines[:-1]:
        got[r["p"]].append((base64.b64decode(r["k"]), base64.b64decode(r["v"])))
    assert got == committed


def test_open_transaction_holds_last_stable_offset(tc, clients):
    topic, txn_id = "txn-open", "txn-open-1"
    tc.create_replicated_topic(topic, 1, configs={"min.insync.replicas": 2})
    prod = clients.producer({"bootstrap.servers": tc.bootstrap_servers(), "transactional.id": txn_id, "linger.ms": 5})
    prod.init_transactions(30)
    prod.begin_transaction()
    prod.produce(topic, value=b"before-commit", partition=0)
    assert prod.flush(30) == 0
    assert tu.list_offset(tc, topic, 0, tu.READ_UNCOMMITTED) == 1
    assert tu.list_offset(tc, topic, 0, tu.READ_COMMITTED) == 0, "LSO must stay at the open transaction's start"
    part = tu.fetch_raw(tc, topic, 0, 0, tu.READ_COMMITTED)
    assert part["LastStableOffset"] == 0 and not part["Records"], part
    assert tu.consume(tc, topic, 1, "read_committed") == {0: []}

    coordinator = tu.find_txn_coordinator(tc, txn_id)
    body = tc.call(coordinator, coordinator.port, "DescribeTransactions", 0, {"TransactionalIds": [txn_id]})
    [state] = body["TransactionStates"]
    assert (state["ErrorCode"], state["TransactionState"]) == (0, "Ongoing"), state
    assert [(t["Topic"], t["Partitions"]) for t in state["Topics"]] == [(topic, [0])]
    listed = tc.call(coordinator, coordinator.port, "ListTransactions", 1,
                     {"StateFilters": ["Ongoing"], "ProducerIdFilters": [], "DurationFilter": -1})
    assert listed["ErrorCode"] == 0
    assert [(t["TransactionalId"], t["ProducerId"], t["TransactionState"]) for t in listed["TransactionStates"]
            if t["TransactionalId"] == txn_id] == [(txn_id, state["ProducerId"], "Ongoing")]
    leader = tc.leader_of(topic, 0)
    body = tc.call(leader, leader.port, "DescribeProducers", 0,
                   {"Topics": [{"Name": topic, "PartitionIndexes": [0]}]})
    [p] = body["Topics"][0]["Partitions"]
    assert p["ErrorCode"] == 0
    assert [(a["ProducerId"], a["CurrentTxnStartOffset"]) for a in p["ActiveProducers"]] == \
        [(state["ProducerId"], 0)]

    prod.commit_transaction(30)
    assert tu.wait_stable(tc, topic, 0) == 2  # the record and the COMMIT marker
    assert tu.consume(tc, topic, 1, "read_committed") == {0: [(None, b"before-commit")]}


def test_zombie_producer_is_fenced(tc, clients):
    from confluent_kafka import KafkaError, KafkaException
    topic, txn_id = "txn-zombie", "txn-zombie-1"
    tc.create_replicated_topic(topic, 1, configs={"min.insync.replicas": 2})
    conf = {"bootstrap.servers": tc.bootstrap_servers(), "transactional.id": txn_id, "linger.ms": 5}
    zombie = clients.producer(conf)
    zombie.init_transactions(30)
    zombie.begin_transaction()
    zombie.produce(topic, value=b"zombie-1", partition=0)
    assert zombie.flush(30) == 0
    successor = clients.producer(conf)
    successor.init_transactions(30)  # bumps the epoch, aborts the zombie's open transaction
    successor.begin_transaction()
    successor.produce(topic, value=b"successor-1", partition=0)
    successor.commit_transaction(30)

    errors = []
    zombie.produce(topic, value=b"zombie-2", partition=0, on_delivery=lambda err, msg: errors.append(err))
    with pytest.raises(KafkaException) as raised:
        zombie.commit_transaction(30)
    err = raised.value.args[0]
    assert err.fatal() and err.code() in (KafkaError._FENCED, tu.ERR_PRODUCER_FENCED,
                                          tu.ERR_INVALID_PRODUCER_EPOCH), f"zombie's commit: {err}"
    tu.wait_stable(tc, topic, 0)
    assert tu.consume(tc, topic, 1, "read_committed") == {0: [(None, b"successor-1")]}
    everything = [v for _, v in tu.consume(tc, topic, 1, "read_uncommitted")[0]]
    assert b"zombie-2" not in everything, "a fenced producer's write reached the log"

    # The same with raw requests: the old epoch is refused by the coordinator
    # and by the partition leader.
    old = tu.RawTxnProducer(tc, "txn-zombie-raw")
    new = tu.RawTxnProducer(tc, "txn-zombie-raw")
    assert (new.pid, new.epoch) == (old.pid, old.epoch + 1)
    assert old.add_partitions(topic, [0]) in FENCED
    assert new.add_partitions(topic, [0]) == 0
    assert new.produce(topic, 0, ["raw-new"]) == 0
    assert old.produce(topic, 0, ["raw-zombie"]) in FENCED
    assert old.end(True) in FENCED
    assert new.end(True) == 0


def test_timed_out_transaction_is_aborted(tc, clients):
    from confluent_kafka import KafkaException
    topic, txn_id = "txn-expire", "txn-expire-1"
    tc.create_replicated_topic(topic, 1, configs={"min.insync.replicas": 2})
    prod = clients.producer({"bootstrap.servers": tc.bootstrap_servers(), "transactional.id": txn_id, "linger.ms": 5,
                     "transaction.timeout.ms": 2000, "message.timeout.ms": 2000})
    prod.init_transactions(30)
    prod.begin_transaction()
    for i in range(10):
        prod.produce(topic, value=f"expired-{i}".encode(), partition=0)
    assert prod.flush(30) == 0
    # The coordinator aborts it after 2 s (checked every 500 ms): the ABORT
    # marker moves the last stable offset past it.
    assert tu.wait_stable(tc, topic, 0, timeout=20) == 11
    coordinator = tu.find_txn_coordinator(tc, txn_id)
    [state] = tc.call(coordinator, coordinator.port, "DescribeTransactions", 0,
                      {"TransactionalIds": [txn_id]})["TransactionStates"]
    assert state["TransactionState"] in ("PrepareAbort", "CompleteAbort"), state
    with pytest.raises(KafkaException):
        prod.commit_transaction(10)
    assert tu.consume(tc, topic, 1, "read_committed") == {0: []}
    assert len(tu.consume(tc, topic, 1, "read_uncommitted")[0]) == 10


def test_transaction_timeout_above_max_refused(tc):
    coordinator = tu.find_txn_coordinator(tc, "txn-too-long")
    body = tc.call(coordinator, coordinator.port, "InitProducerId", 4, {
        "TransactionalId": "txn-too-long", "TransactionTimeoutMs": 900001, "ProducerId": -1, "ProducerEpoch": -1})
    assert body["ErrorCode"] == ERR_INVALID_TRANSACTION_TIMEOUT, body


def test_txn_offsets_visible_only_after_commit(tc, clients):
    """Offsets sent to a transaction stay invisible to OffsetFetch until the
    COMMIT marker (require_stable: UNSTABLE_OFFSET_COMMIT meanwhile) and
    are dropped by an abort."""
    from confluent_kafka import Consumer, TopicPartition
    topic, group = "txn-offsets", "txn-offsets-group"
    tc.create_replicated_topic(topic, 1, configs={"min.insync.replicas": 2})
    prod = clients.producer({"bootstrap.servers": tc.bootstrap_servers(), "transactional.id": "txn-offsets-1",
                             "linger.ms": 5})
    prod.init_transactions(30)
    cons = Consumer({"bootstrap.servers": tc.bootstrap_servers(), "group.id": group, "enable.auto.commit": False})
    try:
        meta = cons.consumer_group_metadata()
    finally:
        cons.close()

    def fetch(stable: bool) -> tuple[int, int]:
        """(committed offset, partition error) of topic-0 for the group."""
        coordinator = tc.find_coordinator(group)
        conn = cl._Conn(coordinator.host, coordinator.port, 5)
        try:
            gerr, offsets = kw.offset_fetch(conn, group, {topic: [0]}, version=8, require_stable=stable)
        finally:
            conn.close()
        assert gerr == 0, f"OffsetFetch {group}: group error {gerr}"
        offset, _, err = offsets[(topic, 0)]
        return offset, err

    def settles_to(want: tuple[int, int]) -> None:
        seen = {}

        def check():
            seen["stable"] = fetch(True)
            return seen["stable"] == want
        cl.wait_until(check, 15, f"OffsetFetch(require_stable) of {group} to answer {want}", lambda: f"{seen}", 0.2)

    for commit, offset in ((False, 5), (True, 7)):
        prod.begin_transaction()
        prod.produce(topic, value=f"offsets-{offset}".encode(), partition=0)
        prod.send_offsets_to_transaction([TopicPartition(topic, 0, offset)], meta, 30)
        assert fetch(True)[1] == ERR_UNSTABLE_OFFSET_COMMIT, "a pending transactional offset must be unstable"
        assert fetch(False) == (-1, 0), "a pending transactional offset must not be visible"
        if commit:
            prod.commit_transaction(30)
            settles_to((offset, 0))
        else:
            prod.abort_transaction(30)
            settles_to((-1, 0))
