"""Helpers for the partition-replication fault tests (issue 11).

Kept apart from cluster.py (which other tests extend) and built on it:
- partition_state / wait_partition: a partition's leader, epoch, replicas and
  ISR as a node's Metadata shows them, with bounded waits;
- produce_acked: an idempotent acks=all confluent-kafka producer run as a
  child process (inside the clients' network namespace when the cluster lives
  in namespaces); it reports exactly which records were acknowledged;
- raw_produce: one Produce request to one node (from any namespace), the
  partition's error code or None when nothing answered;
- fetch_all: every record of a partition read from its leader with raw
  consumer Fetch requests (what a consumer sees, up to the high watermark);
- segment_values: the records in a node's own segment files (a follower's
  copy, which no consumer can read);
- lose_unflushed_tail: power loss of a killed node, played on its files.

This file doubles as the CLI that runs inside a namespace:
`python3 replication_util.py produce BOOTSTRAP TOPIC PARTITION PREFIX FIRST COUNT TIMEOUT_S`
prints {"acked": [[value, offset], ...], "failed": [[value, error], ...]}.
"""

from __future__ import annotations

import json
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cluster as cl  # noqa: E402

import pytest  # noqa: E402

# Broker settings every replication fault test uses: RF 3 by default,
# acks=all needs two in-sync replicas, and lagging replicas leave the ISR
# quickly enough for a test.
REPLICATION = {
    "default.replication.factor": 3,
    "min.insync.replicas": 2,
    "replica.lag.time.max.ms": 3000,
    "unclean.leader.election.enable": "false",
}

ERR_NONE = 0


@pytest.fixture
def make_cluster(tmp_path, request):
    """make_cluster(roles, **Cluster kwargs): a Cluster, stopped and its
    namespaces removed at teardown; its nodes' logs go into the report of a
    failing test."""
    made: list[cl.Cluster] = []

    def make(roles, **kwargs) -> cl.Cluster:
        c = cl.Cluster(tmp_path / f"cluster{len(made)}", roles, **kwargs)
        made.append(c)
        request.node.__dict__.setdefault("_samsa_brokers", []).extend(c.nodes)
        return c
    yield make
    for c in made:
        try:
            c.stop()
        finally:
            c.close()


def start_cluster(c: cl.Cluster, timeout: float = 30.0) -> int:
    """Format, start, wait for an active controller and for every broker to
    list every broker. Returns the active controller's id."""
    c.format()
    c.start()
    leader, _ = c.active_controller(timeout)
    want = sorted(b.node_id for b in c.brokers)
    seen = {}

    def check():
        for b in c.brokers:
            try:
                seen[b.node_id] = c.broker_ids(b)
            except cl.WIRE_ERRORS as e:
                seen[b.node_id] = repr(e)
        return all(v == want for v in seen.values())
    cl.wait_until(check, timeout, f"every broker to list brokers {want}", lambda: f"seen: {seen}")
    return leader


def create_assigned_topic(c: cl.Cluster, via: list[cl.Node], name: str, assignment: list[list[int]],
                          timeout: float = 20.0) -> None:
    """CreateTopics with a manual replica assignment (partition i gets
    assignment[i], its first broker being the preferred leader), retried
    through the live nodes of `via` until it answers NONE or
    TOPIC_ALREADY_EXISTS."""
    last = {}

    def attempt():
        for n in via:
            if not n.alive():
                continue
            try:
                body = c.call(n, n.port, "CreateTopics", 7, {
                    "Topics": [{"Name": name, "NumPartitions": -1, "ReplicationFactor": -1,
                                "Assignments": [{"PartitionIndex": i, "BrokerIds": ids}
                                                for i, ids in enumerate(assignment)],
                                "Configs": []}],
                    "timeoutMs": 3000}, timeout=8)
            except cl.WIRE_ERRORS as e:
                last[n.node_id] = repr(e)
                continue
            t = body["Topics"][0]
            last[n.node_id] = (t["ErrorCode"], t.get("ErrorMessage"))
            return t["ErrorCode"] in (cl.ERROR_NONE, cl.ERROR_TOPIC_ALREADY_EXISTS)
        return False
    cl.wait_until(attempt, timeout, f"CreateTopics {name} {assignment}", lambda: f"answers: {last}", 0.1)


def partition_state(c: cl.Cluster, n: cl.Node, topic: str, partition: int, inside: bool = False) -> dict | None:
    """{"leader", "epoch", "replicas", "isr", "error"} of the partition in
    node n's Metadata (asked from n's own namespace when `inside`), or None
    when n does not answer or does not know the partition."""
    try:
        body = c.call(n, n.port, "Metadata", 12, {"Topics": [{"Name": topic}], "AllowAutoTopicCreation": False,
                                                   "IncludeTopicAuthorizedOperations": False},
                      timeout=3.0, inside=n if inside else None)
    except cl.WIRE_ERRORS:
        return None
    for t in body.get("Topics", []):
        if t["Name"] != topic:
            continue
        for p in t["Partitions"]:
            if p["PartitionIndex"] == partition:
                return {"leader": p["LeaderId"], "epoch": p["LeaderEpoch"], "replicas": list(p["ReplicaNodes"]),
                        "isr": sorted(p["IsrNodes"]), "error": p["ErrorCode"]}
    return None


def wait_partition(c: cl.Cluster, nodes: list[cl.Node], topic: str, partition: int, predicate, what: str,
                   timeout: float = 20.0, inside: bool = False) -> dict:
    """Until every node of `nodes` shows the partition in a state for which
    predicate(state) holds; returns the state the first node shows."""
    seen: dict[int, dict | None] = {}

    def check():
        for n in nodes:
            seen[n.node_id] = partition_state(c, n, topic, partition, inside=inside)
        return all(s is not None and predicate(s) for s in seen.values())
    cl.wait_until(check, timeout, f"{topic}-{partition}: {what} on nodes {[n.node_id for n in nodes]}",
                  lambda: f"states: {seen}", interval=0.2)
    return seen[nodes[0].node_id]


# --------------------------------------------------------------------------
# Producing and reading
# --------------------------------------------------------------------------

def produce_acked(c: cl.Cluster, bootstrap: list[cl.Node], topic: str, partition: int, prefix: str,
                  first: int, count: int, timeout_s: float = 20.0) -> tuple[list[tuple[str, int]], list]:
    """Values f"{prefix}-{i}" for i in first..first+count-1 written by an
    idempotent acks=all producer (a child process in the clients'
    namespace). Returns (acknowledged [(value, offset)], failed [(value,
    error)]) as the producer's delivery reports say."""
    servers = ",".join(n.bootstrap for n in bootstrap)
    cmd = [*c.net.client_prefix(), cl.PYTHON, Path(__file__).resolve(), "produce", servers, topic,
           str(partition), prefix, str(first), str(count), str(timeout_s)]
    res = cl.run(cmd, timeout=timeout_s + 30)
    if res.returncode != 0:
        raise AssertionError(f"producer exited {res.returncode}: {res.stderr[-2000:]}")
    out = json.loads(res.stdout)
    return [tuple(a) for a in out["acked"]], [tuple(f) for f in out["failed"]]


def failures(failed: list) -> str:
    """A short account of failed deliveries for an assertion message."""
    return f"{len(failed)} not acknowledged, e.g. {failed[:3]}"


def _produce_main(servers: str, topic: str, partition: int, prefix: str, first: int, count: int,
                  timeout_s: float) -> dict:
    from confluent_kafka import Producer
    acked, failed = [], []

    def report(err, msg):
        value = msg.value().decode()
        if err is None:
            acked.append((value, msg.offset()))
        else:
            failed.append((value, str(err)))
    p = Producer({"bootstrap.servers": servers, "enable.idempotence": True, "acks": "all",
                  "message.timeout.ms": int(timeout_s * 1000), "linger.ms": 5,
                  "socket.timeout.ms": 3000, "retry.backoff.ms": 100, "topic.metadata.refresh.interval.ms": 1000})
    for i in range(first, first + count):
        p.produce(topic, value=f"{prefix}-{i}".encode(), partition=partition, on_delivery=report)
        p.poll(0)
    p.flush(timeout_s + 10)
    return {"acked": acked, "failed": failed, "pending": len(p)}


def record_batch(values: list[str]) -> bytes:
    """One uncompressed v2 batch (no producer id) holding `values`."""
    from kafka.record.default_records import DefaultRecordBatchBuilder
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=0, producer_id=-1,
                                        producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    now = int(time.time() * 1000)
    for i, v in enumerate(values):
        builder.append(i, timestamp=now, key=None, value=v.encode(), headers=[])
    return bytes(builder.build())


def raw_produce(c: cl.Cluster, n: cl.Node, topic: str, partition: int, values: list[str], acks: int = -1,
                timeout_ms: int = 2000, inside: bool = False) -> int | None:
    """Produce v7 of one batch to node n; the partition's error code, or
    None when n gave no answer in time (an isolated node's clients see
    that too)."""
    try:
        body = c.call(n, n.port, "Produce", 7, {
            "TransactionalId": None, "Acks": acks, "TimeoutMs": timeout_ms,
            "TopicData": [{"Name": topic, "PartitionData": [{"Index": partition, "Records": record_batch(values)}]}]},
            timeout=timeout_ms / 1000 + 3, inside=n if inside else None)
    except cl.WIRE_ERRORS:
        return None
    return body["Responses"][0]["PartitionResponses"][0]["ErrorCode"]


def batch_values(data: bytes) -> list[tuple[int, str]]:
    """(offset, value) of every record in the complete v2 batches of `data`
    (a torn or preallocated tail is ignored, as recovery would)."""
    from kafka.record import MemoryRecords
    out, pos = [], 0
    while pos + 61 <= len(data):
        _base, length = struct.unpack_from(">qi", data, pos)
        if length < 49 or pos + 12 + length > len(data) or data[pos + 16] != 2:
            break
        records = MemoryRecords(bytes(data[pos:pos + 12 + length]))
        batch = records.next_batch()
        if not batch.is_control_batch:
            for r in batch:
                out.append((r.offset, r.value.decode(errors="replace") if r.value is not None else None))
        pos += 12 + length
    return out


def fetch_all(c: cl.Cluster, n: cl.Node, topic: str, partition: int, timeout: float = 20.0) -> list[tuple[int, str]]:
    """Every (offset, value) node n, as the partition's leader, serves a
    consumer (Fetch v11, replica id -1) from offset 0 up to its high
    watermark. Fails on an error answer."""
    out, offset, high = [], 0, None
    deadline = time.monotonic() + timeout
    while high is None or offset < high:
        assert time.monotonic() < deadline, f"fetch of {topic}-{partition} from {n.node_id} stuck at {offset} " \
                                            f"(high watermark {high})"
        body = c.call(n, n.port, "Fetch", 11, {
            "ReplicaId": -1, "MaxWaitMs": 0, "MinBytes": 0, "MaxBytes": 8 << 20, "IsolationLevel": 0,
            "SessionId": 0, "SessionEpoch": -1,
            "Topics": [{"Topic": topic, "Partitions": [{"Partition": partition, "CurrentLeaderEpoch": -1,
                                                        "FetchOffset": offset, "LogStartOffset": -1,
                                                        "PartitionMaxBytes": 8 << 20}]}],
            "ForgottenTopicsData": [], "RackId": ""}, timeout=5)
        assert body["ErrorCode"] == 0, f"Fetch from {n.node_id}: error {body['ErrorCode']}"
        pd = body["Responses"][0]["Partitions"][0]
        assert pd["ErrorCode"] == 0, f"Fetch {topic}-{partition}@{offset} from {n.node_id}: error {pd['ErrorCode']}"
        high = pd["HighWatermark"]
        got = [(o, v) for o, v in batch_values(pd["Records"] or b"") if o >= offset]
        out += [(o, v) for o, v in got if o < high]
        if got:
            offset = got[-1][0] + 1
        elif offset < high:
            # Only control records or nothing readable here: fetch on from the
            # end of what came back, or stop if nothing came back at all.
            assert pd["Records"], f"Fetch {topic}-{partition}@{offset} below high watermark {high} returned nothing"
            offset = _batches_end(pd["Records"], offset)
    return out


def _batches_end(data: bytes, offset: int) -> int:
    pos, end = 0, offset
    while pos + 61 <= len(data):
        base, length = struct.unpack_from(">qi", data, pos)
        if pos + 12 + length > len(data):
            break
        last_delta = struct.unpack_from(">i", data, pos + 23)[0]
        end = max(end, base + last_delta + 1)
        pos += 12 + length
    return end


def partition_dir(n: cl.Node, topic: str, partition: int) -> Path:
    return n.data_dir / f"{topic}-{partition}"


def segment_values(n: cl.Node, topic: str, partition: int) -> list[tuple[int, str]]:
    """(offset, value) of every record in node n's own segment files of the
    partition, in offset order: the node's local replica, leader or not."""
    out = []
    d = partition_dir(n, topic, partition)
    for seg in sorted(d.glob("*.log")) if d.is_dir() else []:
        try:
            out += batch_values(seg.read_bytes())
        except FileNotFoundError:
            continue  # deleted by a truncation while we listed
    return out


def recovery_point(n: cl.Node, topic: str, partition: int) -> int:
    """The partition's offset in the node's recovery-point-offset-checkpoint
    (Kafka's format: version, count, then `topic partition offset` lines);
    0 when the file or the entry is missing (nothing known flushed)."""
    path = n.data_dir / "recovery-point-offset-checkpoint"
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return 0
    for line in lines[2:]:
        parts = line.split()
        if len(parts) == 3 and parts[0] == topic and int(parts[1]) == partition:
            return int(parts[2])
    return 0


def lose_unflushed_tail(n: cl.Node, topic: str, partition: int) -> tuple[int, int]:
    """Power loss of a node that was just kill -9'd, played on its files.

    Samsa writes segments with write() and fsyncs them only when a segment
    rolls, on log.flush.* and at shutdown; the recovery point it checkpoints
    (recovery-point-offset-checkpoint) is the offset below which every byte
    was fsync'd. On power loss the kernel's page cache goes, so anything past
    that point may vanish; losing all of it is one outcome the broker must
    survive. We cut each segment of the partition at the first batch that
    reaches the recovery point (whole segments above it become empty). The
    in-process FaultInjectionEnv plays the same loss for unit tests, but it
    lives in memory and does not outlive a kill -9, so a process test does
    it here. Returns (recovery point, number of records cut)."""
    assert not n.alive(), "lose_unflushed_tail needs a dead node"
    rp = recovery_point(n, topic, partition)
    cut = 0
    d = partition_dir(n, topic, partition)
    for seg in sorted(d.glob("*.log")):
        data = seg.read_bytes()
        pos, keep = 0, None
        while pos + 61 <= len(data):
            base, length = struct.unpack_from(">qi", data, pos)
            if length < 49 or pos + 12 + length > len(data):
                break
            if base >= rp or base + struct.unpack_from(">i", data, pos + 23)[0] >= rp:
                if keep is None:
                    keep = pos
                cut += struct.unpack_from(">i", data, pos + 57)[0]
            pos += 12 + length
        if keep is not None:
            with open(seg, "r+b") as fh:
                fh.truncate(keep)
    return rp, cut


def _main(argv: list[str]) -> int:
    if len(argv) == 9 and argv[1] == "produce":
        servers, topic, partition, prefix, first, count, timeout_s = argv[2:9]
        print(json.dumps(_produce_main(servers, topic, int(partition), prefix, int(first), int(count),
                                       float(timeout_s))))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
