"""Admin work runs on the controller thread, not on network threads: with a
single network thread, a connection is answered while another connection's
CreateTopics of many partitions is still being committed, and pipelined
requests on one connection are still answered in order."""
from __future__ import annotations

import time

import kafka_wire as kw

PARTITIONS = 400


def create_request(name: str, partitions: int) -> dict:
    return {"Topics": [{"Name": name, "NumPartitions": partitions, "ReplicationFactor": 1, "Assignments": [],
                        "Configs": []}], "timeoutMs": 60000, "validateOnly": False}


def test_other_connections_are_served_during_a_large_create_topics(broker_factory):
    broker = broker_factory.create(overrides=["num.network.threads=1"])
    with kw.SchemaConnection(broker.port) as admin, kw.SchemaConnection(broker.port) as other:
        admin.send("CreateTopics", 7, **create_request("wide", PARTITIONS))
        # The one network thread that read the CreateTopics answers another
        # connection's requests before the creation is done.
        start = time.monotonic()
        for _ in range(5):
            assert other.call("ApiVersions", 3, ClientSoftwareName="t", ClientSoftwareVersion="1")["ErrorCode"] == 0
            md = other.call("Metadata", 12, Topics=[], AllowAutoTopicCreation=False)
            assert md["Brokers"]
        served_in = time.monotonic() - start
        assert not admin.ready(0), "CreateTopics already answered: too fast to show anything"
        resp = admin.recv(timeout=120)
        [t] = resp["Topics"]
        assert t["ErrorCode"] == 0, t
        assert t["NumPartitions"] == PARTITIONS
        assert served_in < 2.0, served_in


def test_pipelined_replies_stay_in_order(broker):
    with kw.SchemaConnection(broker.port) as c:
        ids = [c.send("CreateTopics", 7, **create_request("piped-a", 50)),
               c.send("ApiVersions", 3, ClientSoftwareName="t", ClientSoftwareVersion="1"),
               c.send("Metadata", 12, Topics=[{"Name": "piped-b", "TopicId": bytes(16)}],
                      AllowAutoTopicCreation=True),
               c.send("Metadata", 12, Topics=[], AllowAutoTopicCreation=False),
               c.send("CreateTopics", 7, **create_request("piped-a", 1))]
        assert ids == sorted(ids)
        # recv() checks each correlation id against the oldest request in flight.
        first = c.recv(timeout=60)
        assert first["Topics"][0]["ErrorCode"] == 0
        assert c.recv(timeout=60)["ErrorCode"] == 0
        auto = c.recv(timeout=60)
        assert auto["Topics"][0]["Name"] == "piped-b" and auto["Topics"][0]["ErrorCode"] == 0
        c.recv(timeout=60)
        again = c.recv(timeout=60)
        assert again["Topics"][0]["ErrorCode"] == 36  # TOPIC_ALREADY_EXISTS: the first one was committed
