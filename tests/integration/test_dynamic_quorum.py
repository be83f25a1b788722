"""KIP-853 AddRaftVoter (80) / RemoveRaftVoter (81) / UpdateRaftVoter (82) on a real process.

A node configured with static `controller.quorum.voters` runs kraft.version
0: its voter set cannot change, and both RPCs answer UNSUPPORTED_VERSION, on
the controller listener and (relayed to the active controller) on the broker
listener, as Kafka's controllers do. ApiVersions advertises both APIs.

(The dynamic-quorum run, three controllers formatted with --standalone and
--no-initial-controllers, needs `storage format` of the operator's work.)"""
import uuid

import kafka_wire as kw

API_ADD_RAFT_VOTER = 80
API_REMOVE_RAFT_VOTER = 81
API_UPDATE_RAFT_VOTER = 82


def add_raft_voter_v0(cluster_id, voter_id: int, port: int, correlation_id: int) -> bytes:
    body = kw.compact_string(cluster_id) + kw.int32(10000) + kw.int32(voter_id) + uuid.uuid4().bytes
    body += kw.uvarint(2)  # one listener
    body += kw.compact_string("CONTROLLER") + kw.compact_string("127.0.0.1") + kw.int16(port) + kw.uvarint(0)
    body += kw.uvarint(0)
    return kw.frame(kw.request_header(API_ADD_RAFT_VOTER, 0, correlation_id, flexible=True) + body)


def remove_raft_voter_v0(cluster_id, voter_id: int, correlation_id: int) -> bytes:
    body = kw.compact_string(cluster_id) + kw.int32(voter_id) + uuid.uuid4().bytes + kw.uvarint(0)
    return kw.frame(kw.request_header(API_REMOVE_RAFT_VOTER, 0, correlation_id, flexible=True) + body)


def error_of(port: int, request: bytes, correlation_id: int) -> tuple:
    with kw.connect(port, timeout=30) as s:
        s.sendall(request)
        cid, body = kw.split_response_header(kw.read_frame(s), flexible_header=True)
    assert cid == correlation_id
    r = kw.Reader(body)
    r.int32()  # throttle_time_ms
    return r.int16(), r.compact_string()


def test_static_voters_refuse_voter_changes_on_both_listeners(broker_factory):
    b = broker_factory.create(node_id=1)
    for port in (b.controller_port, b.port):
        keys = kw.api_versions(port, version=3).api_keys
        assert keys.get(API_ADD_RAFT_VOTER) == (0, 0) and keys.get(API_REMOVE_RAFT_VOTER) == (0, 0), keys
    for i, port in enumerate((b.controller_port, b.port)):
        code, message = error_of(port, add_raft_voter_v0(None, 2, 19093, 10 + i), 10 + i)
        assert code == kw.ERR_UNSUPPORTED_VERSION, (port, code, message)
        assert message == "UNSUPPORTED_VERSION"
        code, _ = error_of(port, remove_raft_voter_v0(None, 1, 20 + i), 20 + i)
        assert code == kw.ERR_UNSUPPORTED_VERSION, (port, code)
    # Another cluster's request is refused before anything else.
    code, _ = error_of(b.controller_port, remove_raft_voter_v0("not-this-cluster", 1, 30), 30)
    assert code == 104  # INCONSISTENT_CLUSTER_ID


def update_raft_voter_v0(cluster_id, epoch: int, voter_id: int, port: int, correlation_id: int) -> bytes:
    body = kw.compact_string(cluster_id) + kw.int32(epoch) + kw.int32(voter_id) + uuid.uuid4().bytes
    body += kw.uvarint(2)  # one listener
    body += kw.compact_string("CONTROLLER") + kw.compact_string("127.0.0.1") + kw.int16(port) + kw.uvarint(0)
    body += kw.int16(0) + kw.int16(1) + kw.uvarint(0)  # KRaftVersionFeature 0..1
    body += kw.uvarint(0)
    return kw.frame(kw.request_header(API_UPDATE_RAFT_VOTER, 0, correlation_id, flexible=True) + body)


def test_update_raft_voter_is_a_controller_rpc_refused_with_static_voters(broker_factory):
    b = broker_factory.create(node_id=1)
    assert kw.api_versions(b.controller_port, version=3).api_keys.get(API_UPDATE_RAFT_VOTER) == (0, 0)
    # Controller to controller only: brokers do not advertise it.
    assert API_UPDATE_RAFT_VOTER not in kw.api_versions(b.port, version=3).api_keys
    with kw.connect(b.controller_port, timeout=30) as s:
        s.sendall(update_raft_voter_v0(None, -1, 1, 19093, 7))
        cid, body = kw.split_response_header(kw.read_frame(s), flexible_header=True)
    assert cid == 7
    r = kw.Reader(body)
    r.int32()  # throttle_time_ms
    assert r.int16() == kw.ERR_UNSUPPORTED_VERSION
    tags = r.tagged_fields()
    assert 0 in tags, tags  # CurrentLeader: this single voter leads
    leader = kw.Reader(tags[0])
    assert leader.int32() == 1
    assert leader.int32() >= 1  # epoch
