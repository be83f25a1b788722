"""Transactional offset commits in the group coordinator on one broker.
Over raw sockets: TxnOffsetCommit is verified with the transaction
coordinator (KIP-890), its offsets stay invisible to OffsetFetch
(UNSTABLE_OFFSET_COMMIT with require_stable) while the producer's
transaction is open, and Kafka's request checks apply. With confluent-kafka:
send_offsets_to_transaction then commit, abort, and an open transaction
across a broker restart (its offsets are replayed from __consumer_offsets).

The three-node flows (and kill -9 of coordinators) are in test_transactions*.py.
"""

from __future__ import annotations

import time

import kafka_wire as kw
import test_txn_coordinator as tc
from test_group_errors import create_topic_raw

TOPIC = "t"
GROUP = "txn-g"
TXN_ID = "txn-offsets"
ERR_UNKNOWN_TOPIC_OR_PARTITION = 3
ERR_UNSTABLE_OFFSET_COMMIT = 88


def txn_offset_commit(conn: kw.SchemaConnection, pid: int, epoch: int, partitions: dict[str, list[tuple[int, int]]],
                      group: str = GROUP, version: int = 3, **member) -> dict:
    """{(topic, partition): error} of one TxnOffsetCommit."""
    values = {"TransactionalId": TXN_ID, "GroupId": group, "ProducerId": pid, "ProducerEpoch": epoch,
              "Topics": [{"Name": t, "Partitions": [{"PartitionIndex": p, "CommittedOffset": o,
                                                      "CommittedLeaderEpoch": -1, "CommittedMetadata": "m"}
                                                     for p, o in ps]}
                         for t, ps in partitions.items()]}
    values.update(member)
    resp = conn.call("TxnOffsetCommit", version, **values)
    return {(t["Name"], p["PartitionIndex"]): p["ErrorCode"] for t in resp["Topics"] for p in t["Partitions"]}


def test_txn_offsets_pending_until_the_transaction_ends(broker_factory):
    b = broker_factory.create(overrides=["group.initial.rebalance.delay.ms=0"],
                              extra_config={"offsets.topic.num.partitions": "1",
                                            "transaction.state.log.num.partitions": "1",
                                            "transaction.state.log.min.isr": "1"})
    assert kw.max_version(b.port, "TxnOffsetCommit") == 5
    create_topic_raw(b.port, TOPIC, 2)
    kw.wait_group_coordinator(b.port, GROUP)
    with kw.SchemaConnection(b.port) as c:
        tc.wait_txn_coordinator(c, TXN_ID)
        init = tc.init_pid(c, TXN_ID)
        assert init["ErrorCode"] == 0, init
        pid, epoch = init["ProducerId"], init["ProducerEpoch"]

        # A committed offset first, then a transaction's offset on top.
        resp = c.call("OffsetCommit", 8, GroupId=GROUP, GenerationIdOrMemberEpoch=-1, MemberId="",
                      GroupInstanceId=None,
                      Topics=[{"Name": TOPIC, "Partitions": [{"PartitionIndex": 1, "CommittedOffset": 3,
                                                              "CommittedLeaderEpoch": -1,
                                                              "CommittedMetadata": ""}]}])
        assert resp["Topics"][0]["Partitions"][0]["ErrorCode"] == 0, resp

        # Before AddOffsetsToTxn the group's partition is not in the
        # transaction: KIP-890 verification refuses the commit.
        errors = txn_offset_commit(c, pid, epoch, {TOPIC: [(0, 4)]})
        assert errors[(TOPIC, 0)] != 0, errors
        _, offsets = kw.offset_fetch(c, GROUP, {TOPIC: [0]}, version=8, require_stable=True)
        assert offsets[(TOPIC, 0)] == (-1, "", 0), "a refused commit left something pending"

        resp = c.call("AddOffsetsToTxn", 3, TransactionalId=TXN_ID, ProducerId=pid, ProducerEpoch=epoch,
                      GroupId=GROUP)
        assert resp["ErrorCode"] == 0, resp
        errors = txn_offset_commit(c, pid, epoch, {TOPIC: [(0, 5), (1, 6)], "missing": [(0, 1)]})
        assert errors == {(TOPIC, 0): 0, (TOPIC, 1): 0, ("missing", 0): ERR_UNKNOWN_TOPIC_OR_PARTITION}, errors

        # read_committed consumers ask with require_stable and wait.
        gerr, offsets = kw.offset_fetch(c, GROUP, {TOPIC: [0, 1]}, version=8, require_stable=True)
        assert gerr == 0
        assert offsets[(TOPIC, 0)] == (-1, "", ERR_UNSTABLE_OFFSET_COMMIT), offsets
        assert offsets[(TOPIC, 1)] == (-1, "", ERR_UNSTABLE_OFFSET_COMMIT), offsets
        # Others see the offsets committed before the transaction.
        for version in (6, 8):
            gerr, offsets = kw.offset_fetch(c, GROUP, {TOPIC: [0, 1]}, version=version)
            assert gerr == 0
            assert offsets[(TOPIC, 0)] == (-1, "", 0), (version, offsets)
            assert offsets[(TOPIC, 1)] == (3, "", 0), (version, offsets)

        # Kafka's checks: a member's group must exist; the group id must not be empty.
        errors = txn_offset_commit(c, pid, epoch, {TOPIC: [(0, 7)]}, group="no-such-group", GenerationId=4,
                                   MemberId="m", GroupInstanceId=None)
        assert errors == {(TOPIC, 0): kw.ERR_ILLEGAL_GENERATION}, errors
        errors = txn_offset_commit(c, pid, epoch, {TOPIC: [(0, 7)]}, group="")
        assert errors == {(TOPIC, 0): kw.ERR_INVALID_GROUP_ID}, errors


def test_send_offsets_to_transaction_survives_a_restart(broker_factory):
    """confluent-kafka's send_offsets_to_transaction on one broker: the offsets
    appear with the commit, never with an abort, and an open transaction's
    offsets are still pending after the broker restarted (the coordinator
    replays them from __consumer_offsets) until the producer commits."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    b = broker_factory.create(overrides=["group.initial.rebalance.delay.ms=0"],
                              extra_config={"offsets.topic.num.partitions": "1",
                                            "transaction.state.log.num.partitions": "1",
                                            "transaction.state.log.min.isr": "1"})
    create_topic_raw(b.port, TOPIC, 2)
    group = "txn-send-offsets"
    prod = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": "txn-send-offsets",
                     "transaction.timeout.ms": 60000})
    prod.init_transactions(30)
    cons = Consumer({"bootstrap.servers": b.bootstrap, "group.id": group, "enable.auto.commit": False})
    meta = cons.consumer_group_metadata()
    cons.close()

    def fetch(stable: bool) -> tuple[int, int]:
        """(offset, error) of t-0 for the group, after the coordinator is usable."""
        kw.wait_group_coordinator(b.port, group, timeout=30)
        with kw.SchemaConnection(b.port) as c:
            gerr, offsets = kw.offset_fetch(c, group, {TOPIC: [0]}, version=8, require_stable=stable)
        assert gerr == 0, gerr
        offset, _, err = offsets[(TOPIC, 0)]
        return offset, err

    def settles_to(want: tuple[int, int], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        got = None
        while time.monotonic() < deadline:
            got = fetch(True)
            if got == want:
                return
            time.sleep(0.1)
        raise AssertionError(f"OffsetFetch(require_stable) answered {got}, want {want}")

    def send(offset: int) -> None:
        prod.begin_transaction()
        prod.produce(TOPIC, value=b"v%d" % offset, partition=0)
        prod.send_offsets_to_transaction([TopicPartition(TOPIC, 0, offset)], meta, 30)
        assert fetch(True) == (-1, ERR_UNSTABLE_OFFSET_COMMIT)

    send(5)
    assert fetch(False)[0] == -1, "pending offsets are invisible"
    prod.commit_transaction(30)
    settles_to((5, 0))

    send(9)
    prod.abort_transaction(30)
    settles_to((5, 0))

    send(12)
    b.terminate()
    b.start()
    assert fetch(True) == (-1, ERR_UNSTABLE_OFFSET_COMMIT), "the reloaded transaction's offsets stay pending"
    assert fetch(False) == (5, 0)
    prod.commit_transaction(60)
    settles_to((12, 0))
    prod.flush(10)
