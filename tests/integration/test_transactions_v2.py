"""Transactions v2 (KIP-890 part 2) on three combined nodes, over raw requests.

No client on this machine speaks transactions v2 (Apache Kafka's Java
client 4.0 does; librdkafka and kafkajs do not), so a producer is played
request by request with the versions a v2 client sends: Produce v12 and
TxnOffsetCommit v5 without any AddPartitionsToTxn / AddOffsetsToTxn (the
partition leader and the group coordinator add the partitions to the
transaction themselves), and EndTxn v5, whose answer carries the bumped
epoch the producer goes on with.
- every transaction ends with an epoch bump; the next one starts at the new
  epoch and sequence 0; a write of the ended transaction arriving late is
  fenced by its epoch (the attack KIP-890 part 2 closes);
- read_committed reads the committed transactions only; the markers are at
  the bumped epoch;
- offsets committed with TxnOffsetCommit v5 appear with the commit;
- a retried EndTxn (the epoch before the bump) gets the same answer.
"""

from __future__ import annotations

import time

import kafka_wire as kw
import txn_util as tu

TOPIC = "txn-v2"
GROUP = "txn-v2-group"
FENCED = {tu.ERR_PRODUCER_FENCED, tu.ERR_INVALID_PRODUCER_EPOCH}
ERR_NOT_ENOUGH_REPLICAS = 19


c2, _attach_logs = tu.module_cluster_fixtures("c2", {"offsets.topic.num.partitions": 3})


class V2Producer(tu.RawTxnProducer):
    """RawTxnProducer with the request versions of a transactions v2 client."""

    def produce(self, topic: str, partition: int, values: list[str]) -> int:
        """One batch; NOT_ENOUGH_REPLICAS (the coordinator still writes the
        previous transaction's markers, so it cannot add the partition yet)
        is retried with the same batch, as clients do."""
        batch = self.batch(topic, partition, values)
        deadline = time.monotonic() + self.timeout
        while True:
            leader = self.c.leader_of(topic, partition)
            body = self.c.call(leader, leader.port, "Produce", 12,
                               tu.produce_request(self.txn_id, topic, partition, batch), timeout=15)
            error = tu.produce_error(body)
            if error != ERR_NOT_ENOUGH_REPLICAS or time.monotonic() > deadline:
                return error
            time.sleep(0.05)

    def end_v5(self, commit: bool, epoch: int | None = None) -> dict:
        """EndTxn v5 at `epoch` (default: the current one); on success the
        producer goes on with the answer's id and epoch, from sequence 0."""
        body = self._coordinator_call("EndTxn", 5, {"TransactionalId": self.txn_id, "ProducerId": self.pid,
                                                    "ProducerEpoch": self.epoch if epoch is None else epoch,
                                                    "Committed": commit},
                                      lambda b: b["ErrorCode"])
        if body["ErrorCode"] == 0 and epoch is None:
            self.pid, self.epoch = body["ProducerId"], body["ProducerEpoch"]
            self.seq.clear()
        return body

    def txn_offset_commit(self, group: str, topic: str, partition: int, offset: int) -> int:
        """One TxnOffsetCommit v5; the retriable coordinator answers (such as
        the previous transaction's markers still going out) are retried."""
        deadline = time.monotonic() + self.timeout
        while True:
            coordinator = kw_group_coordinator(self.c, group)
            body = self.c.call(coordinator, coordinator.port, "TxnOffsetCommit", 5, {
                "TransactionalId": self.txn_id, "GroupId": group, "ProducerId": self.pid,
                "ProducerEpoch": self.epoch, "GenerationId": -1, "MemberId": "", "GroupInstanceId": None,
                "Topics": [{"Name": topic, "Partitions": [{"PartitionIndex": partition, "CommittedOffset": offset,
                                                            "CommittedLeaderEpoch": -1, "CommittedMetadata": ""}]}]},
                timeout=15)
            error = body["Topics"][0]["Partitions"][0]["ErrorCode"]
            if error not in tu.RETRIABLE_COORDINATOR or time.monotonic() > deadline:
                return error
            time.sleep(0.05)


def kw_group_coordinator(c, group: str):
    """The node FindCoordinator(GROUP) names, asked until it answers."""
    found = {}

    def check():
        for b in c.live_brokers():
            try:
                body = c.call(b, b.port, "FindCoordinator", 3, {"Key": group, "KeyType": 0}, timeout=5)
            except Exception:  # noqa: BLE001 - a node still starting
                continue
            if body["ErrorCode"] == 0:
                found["node"] = body["NodeId"]
                return True
        return False
    tu.cl.wait_until(check, 30, f"a group coordinator for {group}", interval=0.2)
    return c.node(found["node"])


def committed_offset(c, group: str, topic: str, partition: int, stable: bool) -> tuple[int, int]:
    coordinator = kw_group_coordinator(c, group)
    body = c.call(coordinator, coordinator.port, "OffsetFetch", 8, {
        "Groups": [{"GroupId": group, "Topics": [{"Name": topic, "PartitionIndexes": [partition]}]}],
        "RequireStable": stable}, timeout=10)
    p = body["Groups"][0]["Topics"][0]["Partitions"][0]
    return p["CommittedOffset"], p["ErrorCode"]


def test_versions_advertised(c2):
    for b in c2.brokers:
        assert kw.max_version(b.port, "Produce") == 12
        assert kw.max_version(b.port, "EndTxn") == 5
        assert kw.max_version(b.port, "TxnOffsetCommit") == 5


def test_epoch_bump_per_transaction_fences_late_writes(c2):
    c2.create_replicated_topic(TOPIC, 2, configs={"min.insync.replicas": 2})
    prod = V2Producer(c2, "txn-v2-1")
    pid, e0 = prod.pid, prod.epoch

    # Transaction 1: no AddPartitionsToTxn, the leaders add the partitions.
    assert prod.produce(TOPIC, 0, ["a0", "a1"]) == 0
    assert prod.produce(TOPIC, 1, ["a2"]) == 0
    assert prod.produce(TOPIC, 0, ["a3"]) == 0
    coordinator = tu.find_txn_coordinator(c2, prod.txn_id)
    [state] = c2.call(coordinator, coordinator.port, "DescribeTransactions", 0,
                      {"TransactionalIds": [prod.txn_id]})["TransactionStates"]
    assert state["TransactionState"] == "Ongoing", state
    assert [(t["Topic"], sorted(t["Partitions"])) for t in state["Topics"]] == [(TOPIC, [0, 1])]
    late = prod.batch(TOPIC, 0, ["late"])  # written now, delivered after the end
    body = prod.end_v5(True)
    assert body["ErrorCode"] == 0, body
    assert (body["ProducerId"], body["ProducerEpoch"]) == (pid, e0 + 1)
    tu.wait_stable(c2, TOPIC, 0)

    # The late write of transaction 1 (epoch e0) is fenced: by the leader's
    # producer state once the marker is in, by the coordinator before that.
    leader = c2.leader_of(TOPIC, 0)
    body = c2.call(leader, leader.port, "Produce", 12, tu.produce_request(prod.txn_id, TOPIC, 0, late), timeout=15)
    assert tu.produce_error(body) in FENCED, body

    # A retry of the EndTxn that succeeded (epoch before the bump) gets the same answer.
    retry = prod.end_v5(True, epoch=e0)
    assert (retry["ErrorCode"], retry["ProducerId"], retry["ProducerEpoch"]) == (0, pid, e0 + 1), retry
    assert prod.end_v5(False, epoch=e0)["ErrorCode"] == tu.ERR_INVALID_TXN_STATE

    # Transaction 2 at the new epoch, from sequence 0, aborted.
    assert prod.produce(TOPIC, 0, ["b0"]) == 0
    assert prod.produce(TOPIC, 1, ["b1"]) == 0
    body = prod.end_v5(False)
    assert (body["ErrorCode"], body["ProducerEpoch"]) == (0, e0 + 2), body

    # Transaction 3 commits; the markers carry each end's bumped epoch.
    assert prod.produce(TOPIC, 1, ["c1"]) == 0
    assert prod.end_v5(True)["ProducerEpoch"] == e0 + 3
    for p in (0, 1):
        tu.wait_stable(c2, TOPIC, p)
    got = tu.consume(c2, TOPIC, 2, "read_committed")
    assert {p: [v for _, v in recs] for p, recs in got.items()} == {0: [b"a0", b"a1", b"a3"], 1: [b"a2", b"c1"]}
    got = tu.consume(c2, TOPIC, 2, "read_uncommitted")
    assert {p: [v for _, v in recs] for p, recs in got.items()} == \
        {0: [b"a0", b"a1", b"a3", b"b0"], 1: [b"a2", b"b1", b"c1"]}
    leader = c2.leader_of(TOPIC, 1)
    body = c2.call(leader, leader.port, "DescribeProducers", 0, {"Topics": [{"Name": TOPIC, "PartitionIndexes": [1]}]})
    [active] = body["Topics"][0]["Partitions"][0]["ActiveProducers"]
    assert (active["ProducerId"], active["ProducerEpoch"], active["CurrentTxnStartOffset"]) == (pid, e0 + 3, -1)


def test_txn_offset_commit_v5_adds_the_offsets_partition(c2):
    topic = "txn-v2-offsets"
    c2.create_replicated_topic(topic, 1, configs={"min.insync.replicas": 2})
    prod = V2Producer(c2, "txn-v2-offsets-1")
    assert prod.produce(topic, 0, ["x"]) == 0
    assert prod.txn_offset_commit(GROUP, topic, 0, 42) == 0  # no AddOffsetsToTxn before it
    assert committed_offset(c2, GROUP, topic, 0, stable=True) == (-1, 88)  # UNSTABLE_OFFSET_COMMIT
    assert prod.end_v5(True)["ErrorCode"] == 0
    tu.cl.wait_until(lambda: committed_offset(c2, GROUP, topic, 0, stable=True) == (42, 0), 20,
                     "the transaction's offset after its commit")
    # Aborted: the offset never shows.
    assert prod.txn_offset_commit(GROUP, topic, 0, 50) == 0
    assert prod.end_v5(False)["ErrorCode"] == 0
    tu.cl.wait_until(lambda: committed_offset(c2, GROUP, topic, 0, stable=True) == (42, 0), 20,
                     "the committed offset after the abort")
