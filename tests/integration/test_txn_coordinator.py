"""The transaction coordinator over raw protocol (issue 12, part txncoord):
FindCoordinator with key type TRANSACTION creates __transaction_state and
names the leader of the id's partition; InitProducerId with a transactional
id hands out and bumps epochs; AddPartitionsToTxn (v3 and the v4
verify_only form), DescribeTransactions and ListTransactions show the
state; a new producer instance fences an open transaction; a transaction
past its timeout is aborted with an epoch bump; the state survives a
restart (replayed from __transaction_state).

Markers (WriteTxnMarkers) and the partition side are other parts: these
tests only look at the coordinator's own answers.
"""

from __future__ import annotations

import time

import kafka_wire as kw

ERR_NONE = 0
ERR_COORDINATOR_LOAD_IN_PROGRESS = 14
ERR_COORDINATOR_NOT_AVAILABLE = 15
ERR_NOT_COORDINATOR = 16
ERR_INVALID_PRODUCER_EPOCH = 47
ERR_INVALID_TXN_STATE = 48
ERR_INVALID_PRODUCER_ID_MAPPING = 49
ERR_INVALID_TRANSACTION_TIMEOUT = 50
ERR_CONCURRENT_TRANSACTIONS = 51
ERR_PRODUCER_FENCED = 90
ERR_TRANSACTIONAL_ID_NOT_FOUND = 105
RETRIABLE = (ERR_COORDINATOR_LOAD_IN_PROGRESS, ERR_COORDINATOR_NOT_AVAILABLE, ERR_NOT_COORDINATOR)


def wait_txn_coordinator(conn: kw.SchemaConnection, txn_id: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        resp = conn.call("FindCoordinator", 4, KeyType=1, CoordinatorKeys=[txn_id])
        last = resp["Coordinators"][0]
        if last["ErrorCode"] == ERR_NONE:
            return last
        assert last["ErrorCode"] in RETRIABLE, last
        time.sleep(0.1)
    raise AssertionError(f"no transaction coordinator for {txn_id!r} within {timeout}s: {last}")


def init_pid(conn, txn_id, timeout_ms=60000, version=4, pid=-1, epoch=-1, retry=True, deadline_s=20.0):
    """InitProducerId, retrying the coordinator's retriable answers (as clients do)."""
    deadline = time.monotonic() + deadline_s
    while True:
        values = dict(TransactionalId=txn_id, TransactionTimeoutMs=timeout_ms)
        if version >= 3:
            values.update(ProducerId=pid, ProducerEpoch=epoch)
        resp = conn.call("InitProducerId", version, **values)
        if not retry or resp["ErrorCode"] not in RETRIABLE + (ERR_CONCURRENT_TRANSACTIONS,):
            return resp
        assert time.monotonic() < deadline, resp
        time.sleep(0.1)


def add_partitions_v3(conn, txn_id, pid, epoch, topics: dict[str, list[int]], version=3):
    resp = conn.call("AddPartitionsToTxn", version, V3AndBelowTransactionalId=txn_id, V3AndBelowProducerId=pid,
                     V3AndBelowProducerEpoch=epoch,
                     V3AndBelowTopics=[{"Name": t, "Partitions": ps} for t, ps in topics.items()])
    return {(t["Name"], p["PartitionIndex"]): p["PartitionErrorCode"]
            for t in resp["ResultsByTopicV3AndBelow"] for p in t["ResultsByPartition"]}


def verify(conn, txn_id, pid, epoch, topics: dict[str, list[int]]):
    resp = conn.call("AddPartitionsToTxn", 4, Transactions=[{
        "TransactionalId": txn_id, "ProducerId": pid, "ProducerEpoch": epoch, "VerifyOnly": True,
        "Topics": [{"Name": t, "Partitions": ps} for t, ps in topics.items()]}])
    assert resp["ErrorCode"] == ERR_NONE, resp
    [result] = resp["ResultsByTransaction"]
    return {(t["Name"], p["PartitionIndex"]): p["PartitionErrorCode"]
            for t in result["TopicResults"] for p in t["ResultsByPartition"]}


def describe(conn, txn_id) -> dict:
    [state] = conn.call("DescribeTransactions", 0, TransactionalIds=[txn_id])["TransactionStates"]
    return state


def create_topic(conn, name, partitions=2):
    resp = conn.call("CreateTopics", 7, Topics=[{"Name": name, "NumPartitions": partitions,
                                                 "ReplicationFactor": 1, "Assignments": [], "Configs": []}],
                     timeoutMs=30000, validateOnly=False)
    assert resp["Topics"][0]["ErrorCode"] == ERR_NONE, resp


def test_find_init_add_describe_list_and_fencing(broker):
    with kw.SchemaConnection(broker.port) as c:
        coordinator = wait_txn_coordinator(c, "tx-a")
        assert coordinator["NodeId"] == 1 and coordinator["Port"] == broker.port
        md = c.call("Metadata", 12, Topics=[{"Name": "__transaction_state", "TopicId": None}],
                    AllowAutoTopicCreation=False, IncludeTopicAuthorizedOperations=False)
        assert len(md["Topics"][0]["Partitions"]) == 50
        create_topic(c, "orders")

        assert init_pid(c, "tx-a", timeout_ms=900001)["ErrorCode"] == ERR_INVALID_TRANSACTION_TIMEOUT
        first = init_pid(c, "tx-a")
        assert first["ErrorCode"] == ERR_NONE and first["ProducerEpoch"] == 0, first
        pid = first["ProducerId"]
        assert pid >= 0
        assert describe(c, "tx-a")["TransactionState"] == "Empty"
        assert describe(c, "never-seen")["ErrorCode"] == ERR_TRANSACTIONAL_ID_NOT_FOUND

        # Nothing is open: EndTxn has nothing to end.
        resp = c.call("EndTxn", 3, TransactionalId="tx-a", ProducerId=pid, ProducerEpoch=0, Committed=True)
        assert resp["ErrorCode"] == ERR_INVALID_TXN_STATE
        # Unknown topics are refused, the rest not attempted.
        errs = add_partitions_v3(c, "tx-a", pid, 0, {"orders": [0], "nope": [0]})
        assert errs == {("orders", 0): 55, ("nope", 0): 3}  # OPERATION_NOT_ATTEMPTED, UNKNOWN_TOPIC_OR_PARTITION
        assert add_partitions_v3(c, "tx-a", pid, 0, {"orders": [0, 1]}) == {("orders", 0): 0, ("orders", 1): 0}
        assert add_partitions_v3(c, "tx-a", pid + 1, 0, {"orders": [0]}) == {("orders", 0): ERR_INVALID_PRODUCER_ID_MAPPING}

        state = describe(c, "tx-a")
        assert state["ErrorCode"] == ERR_NONE
        assert state["TransactionState"] == "Ongoing"
        assert state["ProducerId"] == pid and state["ProducerEpoch"] == 0
        assert state["TransactionTimeoutMs"] == 60000
        assert state["TransactionStartTimeMs"] > 0
        assert {(t["Topic"], p) for t in state["Topics"] for p in t["Partitions"]} == {("orders", 0), ("orders", 1)}

        # KIP-890 verification: only partitions of the ongoing transaction pass.
        assert verify(c, "tx-a", pid, 0, {"orders": [0, 1]}) == {("orders", 0): 0, ("orders", 1): 0}
        assert verify(c, "tx-a", pid, 0, {"orders": []}) == {}
        other = init_pid(c, "tx-b")
        assert other["ErrorCode"] == ERR_NONE
        assert verify(c, "tx-b", other["ProducerId"], 0, {"orders": [0]}) == {("orders", 0): ERR_INVALID_TXN_STATE}

        # One v4 request carries several transactions, each answered on its own.
        resp = c.call("AddPartitionsToTxn", 4, Transactions=[
            {"TransactionalId": "tx-a", "ProducerId": pid, "ProducerEpoch": 0, "VerifyOnly": True,
             "Topics": [{"Name": "orders", "Partitions": [1]}]},
            {"TransactionalId": "tx-b", "ProducerId": other["ProducerId"], "ProducerEpoch": 7, "VerifyOnly": True,
             "Topics": [{"Name": "orders", "Partitions": [0]}]},
            {"TransactionalId": "tx-b", "ProducerId": other["ProducerId"], "ProducerEpoch": 0, "VerifyOnly": False,
             "Topics": [{"Name": "orders", "Partitions": [0]}]}])
        got = [(r["TransactionalId"], [p["PartitionErrorCode"] for t in r["TopicResults"] for p in t["ResultsByPartition"]])
               for r in resp["ResultsByTransaction"]]
        assert got == [("tx-a", [0]), ("tx-b", [ERR_PRODUCER_FENCED]), ("tx-b", [0])], got
        # AddOffsetsToTxn puts the group's __consumer_offsets partition in the transaction.
        resp = c.call("AddOffsetsToTxn", 3, TransactionalId="tx-b", ProducerId=other["ProducerId"], ProducerEpoch=0,
                      GroupId="some-group")
        assert resp["ErrorCode"] == ERR_NONE
        topics = {t["Topic"] for t in describe(c, "tx-b")["Topics"]}
        assert topics == {"orders", "__consumer_offsets"}
        resp = c.call("EndTxn", 3, TransactionalId="tx-b", ProducerId=other["ProducerId"], ProducerEpoch=0,
                      Committed=False)
        assert resp["ErrorCode"] == ERR_NONE
        assert describe(c, "tx-b")["TransactionState"] in ("PrepareAbort", "CompleteAbort")

        listed = c.call("ListTransactions", 1, StateFilters=["Ongoing", "Bogus"], ProducerIdFilters=[],
                        DurationFilter=-1)
        assert listed["ErrorCode"] == ERR_NONE
        assert listed["UnknownStateFilters"] == ["Bogus"]
        assert [(t["TransactionalId"], t["TransactionState"]) for t in listed["TransactionStates"]] == \
            [("tx-a", "Ongoing")]
        listed = c.call("ListTransactions", 1, StateFilters=[], ProducerIdFilters=[other["ProducerId"]],
                        DurationFilter=-1)
        assert [t["TransactionalId"] for t in listed["TransactionStates"]] == ["tx-b"]
        listed = c.call("ListTransactions", 1, StateFilters=[], ProducerIdFilters=[], DurationFilter=3_600_000)
        assert listed["TransactionStates"] == []

        # A new instance of tx-a fences the open transaction: it is aborted
        # with a bumped epoch and the new instance waits for that.
        resp = init_pid(c, "tx-a", retry=False)
        assert resp["ErrorCode"] == ERR_CONCURRENT_TRANSACTIONS, resp
        state = describe(c, "tx-a")
        assert state["TransactionState"] in ("PrepareAbort", "CompleteAbort")
        assert state["ProducerEpoch"] == 1
        # The old instance is fenced (v1 clients: INVALID_PRODUCER_EPOCH).
        assert add_partitions_v3(c, "tx-a", pid, 0, {"orders": [0]}, version=1) == \
            {("orders", 0): ERR_INVALID_PRODUCER_EPOCH}
        resp = c.call("EndTxn", 3, TransactionalId="tx-a", ProducerId=pid, ProducerEpoch=0, Committed=True)
        assert resp["ErrorCode"] == ERR_PRODUCER_FENCED


def test_state_survives_restart(broker):
    with kw.SchemaConnection(broker.port) as c:
        wait_txn_coordinator(c, "tx-r")
        create_topic(c, "t")
        p = init_pid(c, "tx-r")
        p = init_pid(c, "tx-r")  # epoch 1
        assert p["ProducerEpoch"] == 1
        assert add_partitions_v3(c, "tx-r", p["ProducerId"], 1, {"t": [1]}) == {("t", 1): 0}
    rc, _ = broker.terminate()
    assert rc == 0
    broker.start()
    with kw.SchemaConnection(broker.port) as c:
        wait_txn_coordinator(c, "tx-r")
        deadline = time.monotonic() + 20
        while (state := describe(c, "tx-r"))["ErrorCode"] in RETRIABLE:
            assert time.monotonic() < deadline, state
            time.sleep(0.1)
        assert state["ErrorCode"] == ERR_NONE
        assert state["TransactionState"] == "Ongoing"
        assert state["ProducerId"] == p["ProducerId"] and state["ProducerEpoch"] == 1
        assert [(t["Topic"], t["Partitions"]) for t in state["Topics"]] == [("t", [1])]
        # The reloaded id goes on: the next instance gets a higher epoch after the fencing abort.
        assert init_pid(c, "tx-r", retry=False)["ErrorCode"] == ERR_CONCURRENT_TRANSACTIONS


def test_timed_out_transaction_is_aborted(broker_factory):
    b = broker_factory.create(extra_config={"transaction.abort.timed.out.transaction.cleanup.interval.ms": 200})
    with kw.SchemaConnection(b.port) as c:
        wait_txn_coordinator(c, "tx-t")
        create_topic(c, "t")
        p = init_pid(c, "tx-t", timeout_ms=1000)
        pid = p["ProducerId"]
        assert add_partitions_v3(c, "tx-t", pid, 0, {"t": [0]}) == {("t", 0): 0}
        deadline = time.monotonic() + 10
        while (state := describe(c, "tx-t"))["TransactionState"] == "Ongoing":
            assert time.monotonic() < deadline, state
            time.sleep(0.1)
        assert state["TransactionState"] in ("PrepareAbort", "CompleteAbort")
        assert state["ProducerEpoch"] == 1  # bumped: the timed-out producer is fenced
        resp = c.call("EndTxn", 3, TransactionalId="tx-t", ProducerId=pid, ProducerEpoch=0, Committed=True)
        assert resp["ErrorCode"] == ERR_PRODUCER_FENCED
        assert "passed its timeout" in b.log_text()


def test_coordinator_failover_on_three_nodes(tmp_path):
    """__transaction_state is replicated (RF 3, min.insync.replicas 2): after
    kill -9 of the coordinator's node, the new leader of the id's partition
    loads the same state and goes on from it."""
    from test_replication_clients import replicated_cluster

    c = replicated_cluster(tmp_path / "txn-failover", extra={
        "transaction.state.log.replication.factor": 3,
        "transaction.state.log.min.isr": 2,
        "transaction.state.log.num.partitions": 5,
    })
    try:
        first = c.brokers[0]

        def find(through) -> dict:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with kw.SchemaConnection(through.port) as conn:
                        coord = conn.call("FindCoordinator", 4, KeyType=1, CoordinatorKeys=["tx-f"])["Coordinators"][0]
                except OSError:
                    coord = {"ErrorCode": -1}
                if coord["ErrorCode"] == ERR_NONE and c.node(coord["NodeId"]).alive():
                    return coord
                assert time.monotonic() < deadline, coord
                time.sleep(0.2)

        coord = find(first)
        node = c.node(coord["NodeId"])
        assert c.create_topic(first, "t", partitions=2, replication_factor=3) == 0
        with kw.SchemaConnection(node.port) as conn:
            p = init_pid(conn, "tx-f")
            assert p["ErrorCode"] == ERR_NONE, p
            deadline = time.monotonic() + 20
            while (errs := add_partitions_v3(conn, "tx-f", p["ProducerId"], 0, {"t": [0, 1]})) != \
                    {("t", 0): 0, ("t", 1): 0}:
                assert time.monotonic() < deadline, errs  # until every node knows the topic
                time.sleep(0.1)
            assert describe(conn, "tx-f")["TransactionState"] == "Ongoing"

        node.kill9()
        survivor = next(b for b in c.brokers if b.alive())
        coord2 = find(survivor)
        assert coord2["NodeId"] != node.node_id
        with kw.SchemaConnection(coord2["Port"]) as conn:
            deadline = time.monotonic() + 30
            while (state := describe(conn, "tx-f"))["ErrorCode"] in RETRIABLE:
                assert time.monotonic() < deadline, state
                time.sleep(0.2)
            assert state["ErrorCode"] == ERR_NONE, state
            assert state["TransactionState"] == "Ongoing"
            assert (state["ProducerId"], state["ProducerEpoch"]) == (p["ProducerId"], 0)
            assert {(t["Topic"], q) for t in state["Topics"] for q in t["Partitions"]} == {("t", 0), ("t", 1)}
            # The new coordinator fences with a durable PrepareAbort (2 of 3 replicas up).
            resp = init_pid(conn, "tx-f", retry=False)
            assert resp["ErrorCode"] == ERR_CONCURRENT_TRANSACTIONS, resp
            assert describe(conn, "tx-f")["ProducerEpoch"] == 1
    except Exception:
        print(c.logs()[-20000:])
        raise
    finally:
        try:
            c.stop()
        finally:
            c.close()


def test_confluent_kafka_transaction_reaches_the_coordinator(broker):
    """librdkafka's own transactional requests (FindCoordinator, InitProducerId,
    AddPartitionsToTxn, EndTxn at the versions it picks) against the
    coordinator: init_transactions, a transaction over two partitions,
    commit_transaction. What the markers do to the partitions is
    test_transactions.py's business."""
    from confluent_kafka import Producer

    with kw.SchemaConnection(broker.port) as c:
        create_topic(c, "cf", partitions=2)
    p = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": "cf-1", "linger.ms": 5,
                  "transaction.timeout.ms": 45000})
    p.init_transactions(30)
    p.begin_transaction()
    p.produce("cf", value=b"a", partition=0)
    p.produce("cf", value=b"b", partition=1)
    assert p.flush(30) == 0
    with kw.SchemaConnection(broker.port) as c:
        state = describe(c, "cf-1")
        assert state["TransactionState"] == "Ongoing", state
        assert state["TransactionTimeoutMs"] == 45000
        assert {(t["Topic"], q) for t in state["Topics"] for q in t["Partitions"]} == {("cf", 0), ("cf", 1)}
        pid, epoch = state["ProducerId"], state["ProducerEpoch"]
    p.commit_transaction(30)
    with kw.SchemaConnection(broker.port) as c:
        state = describe(c, "cf-1")
        assert state["TransactionState"] in ("PrepareCommit", "CompleteCommit"), state
        assert (state["ProducerId"], state["ProducerEpoch"]) == (pid, epoch)
        listed = c.call("ListTransactions", 0, StateFilters=[], ProducerIdFilters=[pid])
        assert [t["TransactionalId"] for t in listed["TransactionStates"]] == ["cf-1"]
