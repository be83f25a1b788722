"""Two combined nodes (voters 1 and 2) form one metadata quorum: CreateTopics
sent to either node's broker listener is committed by the active controller
(forwarded by the node that is not active, answered without NOT_CONTROLLER),
and the topic appears in both nodes' metadata, replicated through the Raft
log. DeleteTopics and Metadata auto-creation through the other node are
forwarded the same way."""
import time

import kafka_wire as kw
from conftest import server_properties

API_CREATE_TOPICS = 19
API_DELETE_TOPICS = 20
NOT_CONTROLLER = 41


def create_topics_v4(name: str, correlation_id: int) -> bytes:
    body = kw.int32(1) + kw.string(name) + kw.int32(1) + kw.int16(1) + kw.int32(0) + kw.int32(0)
    body += kw.int32(15000) + kw.boolean(False)  # timeout_ms, validate_only
    return kw.frame(kw.request_header(API_CREATE_TOPICS, 4, correlation_id) + body)


def delete_topics_v3(name: str, correlation_id: int) -> bytes:
    body = kw.int32(1) + kw.string(name) + kw.int32(15000)
    return kw.frame(kw.request_header(API_DELETE_TOPICS, 3, correlation_id) + body)


def topic_errors(port: int, request: bytes, with_message: bool) -> dict:
    with kw.connect(port, timeout=30) as s:
        s.sendall(request)
        _, body = kw.split_response_header(kw.read_frame(s), flexible_header=False)
    r = kw.Reader(body)
    r.int32()  # throttle_time_ms
    out = {}
    for _ in range(r.int32()):
        name = r.string()
        out[name] = r.int16()
        if with_message:
            r.string()
    return out


def metadata(port: int) -> kw.MetadataResponse:
    with kw.connect(port) as s:
        s.sendall(kw.metadata_request(1, 7, None))
        _, body = kw.split_response_header(kw.read_frame(s), flexible_header=False)
    return kw.parse_metadata(body, 1)


def metadata_for(port: int, topic: str) -> kw.MetadataResponse:
    """Metadata v1 for one topic: auto-creation allowed (before v4 always)."""
    with kw.connect(port) as s:
        s.sendall(kw.metadata_request(1, 8, [topic]))
        _, body = kw.split_response_header(kw.read_frame(s), flexible_header=False)
    return kw.parse_metadata(body, 1)


def topic_names(port: int) -> set:
    return {t.name for t in metadata(port).topics}


def wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_admin_requests_through_either_node_reach_the_active_controller(broker_factory):
    nodes = [broker_factory.create(node_id=i, format=False, start=False) for i in (1, 2)]
    voters = ",".join(f"{b.node_id}@127.0.0.1:{b.controller_port}" for b in nodes)
    for b in nodes:
        text = server_properties(b.node_id, b.port, b.controller_port, b.log_dir)
        text = "\n".join(f"controller.quorum.voters={voters}" if line.startswith("controller.quorum.voters=")
                         else line for line in text.splitlines()) + "\n"
        b.config_path.write_text(text)
    nodes[0].format()
    nodes[1].format(nodes[0].cluster_id)
    for b in nodes:
        b.start(wait=False)
    for b in nodes:
        b.wait_ready(timeout=60)
    # The active controller's node registers its broker role once it leads;
    # until then there is no broker to place a partition on.
    for b in nodes:
        assert wait_for(lambda b=b: len(metadata(b.port).brokers) == 1), f"node {b.node_id}: no broker registered"

    for i, b in enumerate(nodes):
        errors = topic_errors(b.port, create_topics_v4(f"via-{b.node_id}", 10 + i), with_message=True)
        assert errors == {f"via-{b.node_id}": 0}, f"CreateTopics through node {b.node_id}: {errors}"
    # Both nodes apply the committed log: each sees both topics.
    for b in nodes:
        assert wait_for(lambda b=b: {"via-1", "via-2"} <= topic_names(b.port)), \
            f"node {b.node_id} sees {topic_names(b.port)}"

    # Deleting through the node that created the other topic: forwarded too.
    errors = topic_errors(nodes[1].port, delete_topics_v3("via-1", 30), with_message=False)
    assert errors == {"via-1": 0}
    for b in nodes:
        assert wait_for(lambda b=b: "via-1" not in topic_names(b.port))
    # Exactly one node was the active controller: the other forwarded.
    active = [b for b in nodes if "(this node: active controller)" in b.log_text()]
    assert len(active) == 1, [b.node_id for b in active]

    # Metadata auto-creation on the other node asks the active controller.
    other = next(b for b in nodes if b not in active)
    first = next(t for t in metadata_for(other.port, "auto-created").topics if t.name == "auto-created")
    assert first.error_code in (0, 5), first  # LEADER_NOT_AVAILABLE while it is created
    for b in nodes:
        assert wait_for(lambda b=b: "auto-created" in topic_names(b.port)), f"node {b.node_id}"
