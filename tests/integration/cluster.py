"""Multi-process Samsa clusters for tests and benches.

A Cluster writes a Kafka-style server.properties per node (process.roles,
node.id, listeners, controller.quorum.voters, quorum timeouts), formats the
storage with `samsa storage format`, and starts, stops, kill -9s and restarts
`samsa server` processes. It finds the active controller by asking every
controller with DescribeQuorum (what `kafka-metadata-quorum.sh describe
--status` shows), falling back to the nodes' `quorum-state` files while a
build does not serve DescribeQuorum.

Two networks:
- loopback (default): every node on 127.0.0.1 with free ports;
- netns=True: every node in its own network namespace, plus one for clients,
  joined by a bridge in a hub namespace (private 10.99.0.0/24 addresses that
  exist only inside those namespaces). isolate(node) takes a node's link off
  the bridge, heal(node) puts it back. Client calls then run inside the
  client namespace through `ip netns exec` (this file doubles as the CLI that
  runs there: `python3 cluster.py call HOST PORT API VERSION JSON`).

Every wait is bounded; nothing here blocks without a timeout. Used by
tests/integration/test_cluster*.py, test_replication_*.py, bench/controller_failover.py
and bench/replication.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kafka_wire as kw  # noqa: E402
import ports  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO_ROOT / "build" / "release" / "src" / "cli" / "samsa"
PYTHON = "/usr/bin/python3"

# Kafka's defaults, spelled out so a bench can print what it measured with.
KAFKA_DEFAULT_QUORUM = {
    "controller.quorum.election.timeout.ms": 1000,
    "controller.quorum.fetch.timeout.ms": 2000,
    "controller.quorum.election.backoff.max.ms": 1000,
    "controller.quorum.request.timeout.ms": 2000,
    "broker.heartbeat.interval.ms": 2000,
    "broker.session.timeout.ms": 9000,
}
# Short timeouts for tests: elections within a fraction of a second.
SHORT_QUORUM = {
    "controller.quorum.election.timeout.ms": 300,
    "controller.quorum.fetch.timeout.ms": 600,
    "controller.quorum.election.backoff.max.ms": 300,
    "controller.quorum.request.timeout.ms": 500,
    "broker.heartbeat.interval.ms": 200,
    "broker.session.timeout.ms": 1500,
}

ERROR_NONE = 0
ERROR_TOPIC_ALREADY_EXISTS = 36
ERROR_NOT_CONTROLLER = 41
METADATA_TOPIC = "__cluster_metadata"


class ClusterError(Exception):
    """A bounded wait ran out or a node misbehaved; the message says which."""


# What a request to a node that is down, isolated or not serving the API raises.
WIRE_ERRORS = (OSError, EOFError, kw.DecodeError, ClusterError, ValueError)


def samsa_bin() -> Path:
    path = Path(os.environ.get("SAMSA_BIN", DEFAULT_BIN)).resolve()
    if not path.is_file() or not os.access(path, os.X_OK):
        raise ClusterError(f"samsa binary not found at {path} (build it with tools/build.sh or set SAMSA_BIN)")
    return path


def free_port() -> int:
    return ports.free_port()


def run(cmd, timeout: float = 30.0, check: bool = False) -> subprocess.CompletedProcess:
    cmd = [str(c) for c in cmd]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise ClusterError(f"timed out after {timeout}s: {' '.join(cmd)}") from e
    if check and res.returncode != 0:
        raise ClusterError(f"exit {res.returncode}: {' '.join(cmd)}\n{res.stdout}\n{res.stderr}")
    return res


# --------------------------------------------------------------------------
# Wire calls (in this process, or inside a namespace through the CLI below)
# --------------------------------------------------------------------------

class _Conn(kw.SchemaConnection):
    """kafka_wire's SchemaConnection to any host (it defaults to 127.0.0.1)."""

    def __init__(self, host: str, port: int, timeout: float):
        self.sock = kw.connect(port, host=host, timeout=timeout)
        self.client_id = "samsa-cluster"
        self._next_cid = 1
        self._pending = []


def _jsonable(v):
    if isinstance(v, (bytes, bytearray)):
        return {"__bytes__": bytes(v).hex()}
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    return v


def _unjson(v):
    if isinstance(v, dict):
        if set(v) == {"__bytes__"}:
            return bytes.fromhex(v["__bytes__"])
        return {k: _unjson(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_unjson(x) for x in v]
    return v


def wire_call(host: str, port: int, api: str, version: int, values: dict, timeout: float = 5.0) -> dict:
    """One request/response on a fresh connection. Raises OSError or
    kw.DecodeError when the node is down or closes the connection (as it
    does for an API it does not serve)."""
    conn = _Conn(host, port, timeout)
    try:
        return conn.call(api, version, **values)
    finally:
        conn.close()


def api_range(host: str, port: int, api: str, call=wire_call) -> tuple[int, int] | None:
    """The (min, max) versions `api` is advertised at, or None."""
    body = call(host, port, "ApiVersions", 3, {"ClientSoftwareName": "samsa-cluster",
                                                "ClientSoftwareVersion": "1.0"})
    key = kw.schema(f"{api}Request").api_key
    for entry in body.get("ApiKeys", []):
        if entry["ApiKey"] == key:
            return entry["MinVersion"], entry["MaxVersion"]
    return None


# --------------------------------------------------------------------------
# Networks
# --------------------------------------------------------------------------

class Loopback:
    """All nodes on 127.0.0.1, each with its own free ports."""

    netns = False

    def host(self, index: int) -> str:
        return "127.0.0.1"

    def ports(self, index: int) -> tuple[int, int]:
        a = free_port()
        b = free_port()
        while b == a:
            b = free_port()
        return a, b

    def prefix(self, index: int) -> list[str]:
        return []

    def client_prefix(self) -> list[str]:
        return []

    def close(self) -> None:
        pass


class Netns:
    """One network namespace per node and one for clients, joined by a bridge
    in a hub namespace. Names carry the pid so concurrent runs never meet."""

    netns = True
    SUBNET = "10.99.0"

    def __init__(self, count: int):
        self.tag = f"sm{os.getpid() % 100000}"
        self.hub = f"{self.tag}hub"
        self.count = count
        self.created: list[str] = []
        try:
            self._ns(self.hub)
            self._ip(self.hub, "link", "add", "br0", "type", "bridge")
            self._ip(self.hub, "link", "set", "br0", "up")
            for i in range(count):
                self._attach(self.node_ns(i), self.node_link(i), self.host(i))
            self._attach(self.client_ns, f"{self.tag}hc", f"{self.SUBNET}.2")
        except Exception:
            self.close()
            raise

    @property
    def client_ns(self) -> str:
        return f"{self.tag}c"

    def node_ns(self, index: int) -> str:
        return f"{self.tag}n{index}"

    def node_link(self, index: int) -> str:
        return f"{self.tag}h{index}"

    def host(self, index: int) -> str:
        return f"{self.SUBNET}.{10 + index}"

    def ports(self, index: int) -> tuple[int, int]:
        return 9092, 9093  # every node has its own address

    def prefix(self, index: int) -> list[str]:
        return ["ip", "netns", "exec", self.node_ns(index)]

    def client_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.client_ns]

    def isolate(self, index: int) -> None:
        """Cut the node off: its link leaves the bridge (no error, no reset:
        packets simply stop arriving, as in a real partition)."""
        self._ip(self.hub, "link", "set", self.node_link(index), "nomaster")

    def heal(self, index: int) -> None:
        self._ip(self.hub, "link", "set", self.node_link(index), "master", "br0")

    def close(self) -> None:
        for ns in reversed(self.created):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)
        self.created.clear()

    # --- helpers
    def _ns(self, name: str) -> None:
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)  # a leftover
        run(["ip", "netns", "add", name], check=True)
        self.created.append(name)
        self._ip(name, "link", "set", "lo", "up")

    def _ip(self, ns: str, *args: str) -> None:
        run(["ip", "netns", "exec", ns, "ip", *args], check=True)

    def _attach(self, ns: str, hub_link: str, address: str) -> None:
        self._ns(ns)
        run(["ip", "link", "add", hub_link, "netns", self.hub, "type", "veth", "peer", "name", "eth0",
             "netns", ns], check=True)
        self._ip(self.hub, "link", "set", hub_link, "master", "br0")
        self._ip(self.hub, "link", "set", hub_link, "up")
        self._ip(ns, "addr", "add", f"{address}/24", "dev", "eth0")
        self._ip(ns, "link", "set", "eth0", "up")


# --------------------------------------------------------------------------
# Nodes
# --------------------------------------------------------------------------

@dataclass
class Node:
    index: int
    node_id: int
    roles: str  # "broker,controller", "controller" or "broker"
    host: str
    port: int  # broker listener (0 without the broker role)
    controller_port: int  # controller listener (0 without the controller role)
    workdir: Path
    prefix: list = field(default_factory=list)
    proc: subprocess.Popen | None = None
    starts: int = 0

    def __post_init__(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.config_path = self.workdir / "server.properties"
        self.log_path = self.workdir / "samsa.log"

    @property
    def is_broker(self) -> bool:
        return "broker" in self.roles

    @property
    def is_controller(self) -> bool:
        return "controller" in self.roles

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def metadata_dir(self) -> Path:
        return self.data_dir / f"{METADATA_TOPIC}-0"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log file)"

    def start(self) -> None:
        if self.alive():
            raise ClusterError(f"node {self.node_id} is already running")
        fh = open(self.log_path, "ab")
        fh.write(f"\n===== start #{self.starts + 1} of node {self.node_id} =====\n".encode())
        fh.flush()
        cmd = [*self.prefix, str(samsa_bin()), "server", str(self.config_path)]
        self.proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     cwd=self.workdir)
        fh.close()  # the child holds its own descriptor
        self.starts += 1

    def kill9(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait; SIGKILL after `timeout`. Returns the exit code
        (None when it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            return None

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


# --------------------------------------------------------------------------
# The cluster
# --------------------------------------------------------------------------

class Cluster:
    """N samsa processes forming one KRaft cluster.

    roles: one entry per node, e.g. ["broker,controller"] * 3 or
    ["controller"] * 3 + ["broker"] * 2. Node ids start at `first_id`.
    quorum: timeouts written into every server.properties (SHORT_QUORUM,
    KAFKA_DEFAULT_QUORUM, or {} for whatever the binary defaults to).
    """

    def __init__(self, workdir: Path, roles: list[str], quorum: dict | None = None, netns: bool = False,
                 extra: dict | None = None, first_id: int = 1, dynamic_quorum: bool = False,
                 node_extra: dict[int, dict] | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.net = Netns(len(roles)) if netns else Loopback()
        self.quorum = dict(SHORT_QUORUM if quorum is None else quorum)
        self.extra = dict(extra or {})
        self.node_extra = {k: dict(v) for k, v in (node_extra or {}).items()}  # by node id, over `extra`
        self.dynamic_quorum = dynamic_quorum
        self._dq_version: dict[int, int] = {}  # DescribeQuorum version each node speaks
        self.cluster_id = ""
        self.nodes: list[Node] = []
        for i, r in enumerate(roles):
            port, cport = self.net.ports(i)
            self.nodes.append(Node(index=i, node_id=first_id + i, roles=r, host=self.net.host(i),
                                   port=port if "broker" in r else 0,
                                   controller_port=cport if "controller" in r else 0,
                                   workdir=self.workdir / f"node{first_id + i}", prefix=self.net.prefix(i)))
        self.write_configs()

    # ---- configuration
    @property
    def controllers(self) -> list[Node]:
        return [n for n in self.nodes if n.is_controller]

    @property
    def brokers(self) -> list[Node]:
        return [n for n in self.nodes if n.is_broker]

    def node(self, node_id: int) -> Node:
        for n in self.nodes:
            if n.node_id == node_id:
                return n
        raise KeyError(node_id)

    def voters(self) -> str:
        return ",".join(f"{n.node_id}@{n.host}:{n.controller_port}" for n in self.controllers)

    def properties(self, n: Node) -> dict:
        listeners, advertised = [], []
        if n.is_broker:
            listeners.append(f"PLAINTEXT://{n.host}:{n.port}")
            advertised.append(f"PLAINTEXT://{n.host}:{n.port}")
        if n.is_controller:
            listeners.append(f"CONTROLLER://{n.host}:{n.controller_port}")
        props = {
            "process.roles": n.roles,
            "node.id": n.node_id,
            **({"controller.quorum.bootstrap.servers":
                ",".join(f"{c.host}:{c.controller_port}" for c in self.controllers)}
               if self.dynamic_quorum else {"controller.quorum.voters": self.voters()}),
            "listeners": ",".join(listeners),
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(n.data_dir),
            "num.partitions": 1,
            "offsets.topic.replication.factor": 1,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
        }
        if n.is_broker:
            props["advertised.listeners"] = ",".join(advertised)
            props["inter.broker.listener.name"] = "PLAINTEXT"
        props.update(self.quorum)
        props.update(self.extra)
        props.update(self.node_extra.get(n.node_id, {}))
        return props

    def write_configs(self) -> None:
        for n in self.nodes:
            lines = ["# written by tests/integration/cluster.py"]
            lines += [f"{k}={v}" for k, v in self.properties(n).items()]
            n.config_path.write_text("\n".join(lines) + "\n")

    # ---- lifecycle
    def format(self, cluster_id: str | None = None, flags: dict | None = None) -> None:
        """`samsa storage format` on every node; `flags` maps a node id to
        extra arguments (e.g. ["--standalone"])."""
        if cluster_id is None:
            cluster_id = run([samsa_bin(), "storage", "random-uuid"], check=True).stdout.strip()
        self.cluster_id = cluster_id
        for n in self.nodes:
            run([samsa_bin(), "storage", "format", "-t", cluster_id, "-c", n.config_path,
                 *(flags or {}).get(n.node_id, [])], check=True)

    def format_dynamic(self, initial_voters: list[Node], cluster_id: str | None = None) -> dict[int, str]:
        """KIP-853 format: `initial_voters` with --initial-controllers (one
        directory id each, made here), every other node with
        --no-initial-controllers. Needs the cluster built with
        dynamic_quorum=True. Returns the directory ids by node id."""
        ids = {n.node_id: run([samsa_bin(), "storage", "random-uuid"], check=True).stdout.strip()
               for n in initial_voters}
        spec = ",".join(f"{n.node_id}@{n.host}:{n.controller_port}:{ids[n.node_id]}" for n in initial_voters)
        flags = {n.node_id: (["--initial-controllers", spec] if n.node_id in ids else ["--no-initial-controllers"])
                 for n in self.nodes}
        self.format(cluster_id, flags)
        return ids

    def directory_id(self, n: Node) -> str:
        """directory.id of the node's metadata dir (its meta.properties)."""
        for line in (n.data_dir / "meta.properties").read_text().splitlines():
            if line.startswith("directory.id="):
                return line.split("=", 1)[1]
        raise ClusterError(f"node {n.node_id} has no directory.id")

    def start(self, wait: float | None = 30.0) -> None:
        for n in self.nodes:
            n.start()
        if wait:
            for n in self.nodes:
                self.wait_listening(n, wait)

    def wait_listening(self, n: Node, timeout: float = 30.0) -> None:
        """Until the node accepts connections on its first listener (broker
        listener if any), or fail with its log tail."""
        port = n.port or n.controller_port

        def check():
            if not n.alive():
                raise ClusterError(f"node {n.node_id} exited with {n.proc.returncode}:\n{n.tail()}")
            try:
                self.call(n, port, "ApiVersions", 3, {"ClientSoftwareName": "samsa-cluster",
                                                       "ClientSoftwareVersion": "1.0"}, timeout=2.0)
                return True
            except WIRE_ERRORS:
                return False
        wait_until(check, timeout, f"node {n.node_id} to listen on {n.host}:{port}", lambda: n.tail())

    def restart(self, n: Node, wait: float | None = 30.0) -> None:
        n.start()
        if wait:
            self.wait_listening(n, wait)

    def stop(self) -> dict[int, int | None]:
        """SIGTERM every live node; their exit codes by node id."""
        codes = {}
        for n in self.nodes:
            if n.proc is not None and n.proc.poll() is None:
                n.proc.send_signal(signal.SIGTERM)
        for n in self.nodes:
            if n.proc is not None:
                codes[n.node_id] = n.stop()
        return codes

    def close(self) -> None:
        for n in self.nodes:
            n.kill9()
        self.net.close()

    def isolate(self, n: Node) -> None:
        self.net.isolate(n.index)

    def heal(self, n: Node) -> None:
        self.net.heal(n.index)

    def logs(self) -> str:
        return "\n".join(f"===== node {n.node_id} ({n.roles}) =====\n{n.log_text()}" for n in self.nodes)

    # ---- requests
    def call(self, n: Node, port: int, api: str, version: int, values: dict, timeout: float = 5.0,
             inside: Node | None = None) -> dict:
        """A request to node `n` on `port`, from the client namespace when
        the cluster lives in namespaces (from node `inside`'s own namespace
        when given: how a test reaches an isolated node)."""
        prefix = self.net.prefix(inside.index) if inside is not None else self.net.client_prefix()
        if not prefix:
            return wire_call(n.host, port, api, version, values, timeout)
        res = run([*prefix, PYTHON, Path(__file__).resolve(), "call", n.host, port, api, version,
                   json.dumps(_jsonable(values)), timeout], timeout=timeout + 10)
        if res.returncode != 0:
            raise OSError(f"{api} to {n.host}:{port} failed: {res.stderr.strip().splitlines()[-1:]}")
        return _unjson(json.loads(res.stdout))

    def describe_quorum(self, n: Node, timeout: float = 3.0, inside: bool = False) -> dict | None:
        """DescribeQuorum for __cluster_metadata-0 on the node's controller
        listener (its broker listener for a broker-only node): the partition
        entry (LeaderId, LeaderEpoch, HighWatermark, CurrentVoters,
        Observers), or None when the node does not answer it."""
        port = n.controller_port or n.port
        try:
            version = self._dq_version.get(n.node_id)
            if version is None:
                rng = api_range(n.host, port, "DescribeQuorum",
                                call=lambda h, p, a, v, vals: self.call(n, p, a, v, vals, timeout=timeout,
                                                                        inside=n if inside else None))
                if rng is None:
                    return None
                version = self._dq_version[n.node_id] = min(rng[1], 2)
            body = self.call(n, port, "DescribeQuorum", version,
                             {"Topics": [{"TopicName": METADATA_TOPIC, "Partitions": [{"PartitionIndex": 0}]}]},
                             timeout=timeout, inside=n if inside else None)
        except WIRE_ERRORS:
            return None
        if body.get("ErrorCode", 0) != 0 or not body.get("Topics"):
            return None
        part = body["Topics"][0]["Partitions"][0]
        return part if part.get("ErrorCode", 0) == 0 else None

    def claims_leadership(self, n: Node, epoch: int | None = None, inside: bool = False,
                          timeout: float = 3.0) -> bool | None:
        """Whether `n` answers DescribeQuorum as the leader (of `epoch` when
        given): True, False (it answers as a non-leader: an error such as
        NOT_LEADER_OR_FOLLOWER, or another leader), None (no answer)."""
        port = n.controller_port or n.port
        try:
            body = self.call(n, port, "DescribeQuorum", 0,
                             {"Topics": [{"TopicName": METADATA_TOPIC, "Partitions": [{"PartitionIndex": 0}]}]},
                             timeout=timeout, inside=n if inside else None)
        except WIRE_ERRORS:
            return None
        if body.get("ErrorCode", 0) != 0 or not body.get("Topics"):
            return False
        part = body["Topics"][0]["Partitions"][0]
        if part.get("ErrorCode", 0) != 0:
            return False
        return part["LeaderId"] == n.node_id and (epoch is None or part["LeaderEpoch"] == epoch)

    def quorum_state(self, n: Node) -> dict | None:
        """The node's quorum-state file (Kafka's JSON), or None."""
        try:
            return json.loads((n.metadata_dir / "quorum-state").read_text())
        except (OSError, ValueError):
            return None

    def leader_views(self, among: list[Node] | None = None) -> dict[int, tuple[int, int, str]]:
        """(leader id, epoch, source) as each live controller reports it:
        source "describe-quorum" when it answered DescribeQuorum (in Kafka
        only the leader does), else "quorum-state" from its file."""
        views = {}
        for n in among if among is not None else self.controllers:
            if not n.alive():
                continue
            dq = self.describe_quorum(n)
            if dq is not None:
                views[n.node_id] = (dq["LeaderId"], dq["LeaderEpoch"], "describe-quorum")
                continue
            qs = self.quorum_state(n)
            if qs is not None:
                views[n.node_id] = (qs.get("leaderId", -1), qs.get("leaderEpoch", 0), "quorum-state")
        return views

    def active_controller(self, timeout: float = 20.0, among: list[Node] | None = None,
                          exclude: set[int] = frozenset()) -> tuple[int, int]:
        """(leader id, epoch) of the active controller, outside `exclude`:
        the live node that answers DescribeQuorum as leader in the highest
        epoch any node reports; without DescribeQuorum answers, the leader a
        majority of the voters name in their quorum-state files."""
        majority = len(self.controllers) // 2 + 1
        found = {}

        def check():
            views = self.leader_views(among)
            found["views"] = views
            top_epoch = max((e for _, e, _ in views.values()), default=0)
            claims = [(e, nid) for nid, (leader, e, src) in views.items()
                      if src == "describe-quorum" and leader == nid and nid not in exclude]
            if claims:
                epoch, nid = max(claims)
                if epoch >= top_epoch:
                    found["v"] = (nid, epoch)
                    return True
                return False
            counts: dict[tuple[int, int], int] = {}
            for leader, epoch, _ in views.values():
                counts[(leader, epoch)] = counts.get((leader, epoch), 0) + 1
            for (leader, epoch), c in counts.items():
                if leader >= 0 and leader not in exclude and c >= majority and leader in views \
                        and epoch >= top_epoch:
                    found["v"] = (leader, epoch)
                    return True
            return False
        wait_until(check, timeout, f"an active controller (not {sorted(exclude)})",
                   lambda: f"views: {found.get('views')}")
        return found["v"]

    def create_topic(self, n: Node, name: str, partitions: int = 1, replication_factor: int = 1,
                     timeout_ms: int = 5000, inside: bool = False, configs: dict | None = None) -> int:
        """CreateTopics v7 through node `n`'s broker listener: the topic's
        error code (0 = created). `configs`: topic configs (name -> value)."""
        topic = {"Name": name, "NumPartitions": partitions, "ReplicationFactor": replication_factor}
        if configs:
            topic["Configs"] = [{"Name": k, "Value": str(v)} for k, v in configs.items()]
        body = self.call(n, n.port, "CreateTopics", 7, {"Topics": [topic], "timeoutMs": timeout_ms},
                         timeout=timeout_ms / 1000 + 5, inside=n if inside else None)
        return body["Topics"][0]["ErrorCode"]

    def create_topic_until_ok(self, n: Node, name: str, timeout: float = 20.0,
                              through: list[Node] | None = None, **kw_args) -> float:
        """Retry CreateTopics through `n` (then the other brokers of `through`,
        default all brokers, that are alive) until it answers NONE or
        TOPIC_ALREADY_EXISTS (a retry of a write that did commit). Returns the
        seconds it took."""
        t0 = time.monotonic()
        last = {}
        others = [x for x in (through if through is not None else self.brokers) if x is not n]

        def attempt():
            for b in [n] + others:
                if not b.alive():
                    continue
                try:
                    code = self.create_topic(b, name, **{"timeout_ms": 3000, **kw_args})
                except WIRE_ERRORS as e:
                    last[b.node_id] = repr(e)
                    continue
                last[b.node_id] = code
                if code in (ERROR_NONE, ERROR_TOPIC_ALREADY_EXISTS):
                    return True
                return False  # an answer: retry the same way after a pause
            return False
        wait_until(attempt, timeout, f"CreateTopics {name} to succeed", lambda: f"last answers: {last}",
                   interval=0.05)
        return time.monotonic() - t0

    def metadata(self, n: Node, topics: list[str] | None = None) -> dict:
        """Metadata v12 from node `n`'s broker listener."""
        return self.call(n, n.port, "Metadata", 12, {
            "Topics": None if topics is None else [{"Name": t} for t in topics],
            "AllowAutoTopicCreation": False, "IncludeTopicAuthorizedOperations": False})

    def topics(self, n: Node) -> set[str]:
        return {t["Name"] for t in self.metadata(n)["Topics"] if t["ErrorCode"] == 0}

    def broker_ids(self, n: Node) -> list[int]:
        return sorted(b["NodeId"] for b in self.metadata(n)["Brokers"])

    def wait_topics_everywhere(self, names: set[str], timeout: float = 20.0,
                               nodes: list[Node] | None = None) -> None:
        nodes = [b for b in (nodes or self.brokers) if b.alive()]
        missing = {}

        def check():
            missing.clear()
            for b in nodes:
                try:
                    lack = names - self.topics(b)
                except WIRE_ERRORS as e:
                    missing[b.node_id] = repr(e)
                    continue
                if lack:
                    missing[b.node_id] = sorted(lack)[:10]
            return not missing
        wait_until(check, timeout, f"{len(names)} topics on brokers {[b.node_id for b in nodes]}",
                   lambda: f"missing: {missing}")

    # ---- replicated partitions (issue 11): leaders, ISRs, kills and restarts
    def live_brokers(self) -> list[Node]:
        return [b for b in self.brokers if b.alive()]

    def bootstrap_servers(self) -> str:
        """Every broker's listener, comma-separated (what a client is given)."""
        return ",".join(b.bootstrap for b in self.brokers)

    def describe(self, topic: str, via: Node | None = None) -> dict[int, dict]:
        """Metadata v12 for `topic` from `via` (default: the first live broker
        that answers): per partition {"leader", "epoch", "replicas", "isr",
        "offline", "error"}. {} when the topic is unknown there."""
        for b in [via] if via is not None else self.live_brokers():
            try:
                body = self.metadata(b, [topic])
            except WIRE_ERRORS:
                continue
            return _partitions_of(body, topic)
        raise ClusterError(f"no live broker answered Metadata for {topic}")

    def views(self, topic: str) -> dict[int, dict[int, dict]]:
        """describe(topic) as each live broker answers it, by node id (a
        broker that does not answer is left out)."""
        out = {}
        for b in self.live_brokers():
            try:
                out[b.node_id] = _partitions_of(self.metadata(b, [topic]), topic)
            except WIRE_ERRORS:
                continue
        return out

    def leader_of(self, topic: str, partition: int, timeout: float = 20.0,
                  exclude: set[int] = frozenset()) -> Node:
        """The live leader of a partition, outside `exclude`: the leader named
        in the highest leader epoch any live broker reports, once that node
        itself reports being the leader in that epoch."""
        seen = {}

        def check():
            views = self.views(topic)
            seen["views"] = {nid: v.get(partition) for nid, v in views.items()}
            entries = [v[partition] for v in views.values() if partition in v and v[partition]["error"] == 0]
            if not entries:
                return False
            top = max(entries, key=lambda e: e["epoch"])
            leader = top["leader"]
            if leader < 0 or leader in exclude or leader not in views:
                return False
            own = views[leader].get(partition)
            if own is None or own["leader"] != leader or own["epoch"] != top["epoch"]:
                return False
            seen["leader"] = leader
            return True
        wait_until(check, timeout, f"a live leader of {topic}-{partition} (not {sorted(exclude)})",
                   lambda: f"views: {seen.get('views')}")
        return self.node(seen["leader"])

    def wait_isr(self, topic: str, partitions: int, members: set[int] | None = None,
                 timeout: float = 30.0) -> None:
        """Until every live broker reports, for each of the partitions, the
        ISR `members` (default: all the partition's replicas) and a leader
        among them."""
        bad = {}

        def check():
            bad.clear()
            views = self.views(topic)
            if len(views) < len(self.live_brokers()):
                bad["unanswered"] = sorted({b.node_id for b in self.live_brokers()} - set(views))
                return False
            for nid, parts in views.items():
                for p in range(partitions):
                    e = parts.get(p)
                    want = set(members) if members is not None else set(e["replicas"] if e else [])
                    if e is None or e["error"] != 0 or set(e["isr"]) != want or e["leader"] not in want:
                        bad[(nid, p)] = e
            return not bad
        wait_until(check, timeout, f"ISR {sorted(members) if members else 'of all replicas'} on "
                   f"{topic} partitions 0..{partitions - 1} in every live broker's metadata",
                   lambda: f"differing: {bad}", interval=0.1)

    def create_replicated_topic(self, name: str, partitions: int, replication_factor: int = 3,
                                configs: dict | None = None, timeout: float = 30.0) -> None:
        """CreateTopics (retried through any live broker), then wait until
        every live broker has a leader and the full ISR for every partition."""
        self.create_topic_until_ok(self.live_brokers()[0], name, timeout=timeout, partitions=partitions,
                                   replication_factor=replication_factor, configs=configs)
        self.wait_isr(name, partitions, timeout=timeout)

    def kill_node(self, n: Node) -> float:
        """kill -9; returns the monotonic time of the kill."""
        t = time.monotonic()
        n.kill9()
        return t

    def restart_node(self, n: Node, wait: float | None = 30.0) -> None:
        self.restart(n, wait)

    def find_coordinator(self, group: str, timeout: float = 20.0) -> Node:
        """The node FindCoordinator (v3, group) names, asked of live brokers
        until one answers without error and the named node is alive."""
        last = {}

        def check():
            for b in self.live_brokers():
                try:
                    body = self.call(b, b.port, "FindCoordinator", 3, {"Key": group, "KeyType": 0})
                except WIRE_ERRORS as e:
                    last[b.node_id] = repr(e)
                    continue
                last[b.node_id] = (body["ErrorCode"], body["NodeId"])
                if body["ErrorCode"] == 0 and any(x.node_id == body["NodeId"] for x in self.live_brokers()):
                    last["found"] = body["NodeId"]
                    return True
            return False
        wait_until(check, timeout, f"a live coordinator for group {group}", lambda: f"answers: {last}")
        return self.node(last["found"])


def _partitions_of(body: dict, topic: str) -> dict[int, dict]:
    for t in body.get("Topics", []):
        if t["Name"] == topic and t["ErrorCode"] == 0:
            return {p["PartitionIndex"]: {"leader": p["LeaderId"], "epoch": p["LeaderEpoch"],
                                          "replicas": list(p["ReplicaNodes"]), "isr": list(p["IsrNodes"]),
                                          "offline": list(p.get("OfflineReplicas") or []),
                                          "error": p["ErrorCode"]}
                    for p in t["Partitions"]}
    return {}


def uuid_bytes(text: str) -> bytes:
    """A Kafka Uuid from its base64 form."""
    import base64
    return base64.urlsafe_b64decode(text + "==")


def uuid_text(raw: bytes) -> str:
    import base64
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


def metadata_batches(n: Node) -> list[tuple[int, int, int, bool, str]]:
    """(base offset, last offset, leader epoch, control, digest of the
    records' keys and values) of every complete batch in the node's
    __cluster_metadata-0 segments, in offset order. Timestamps and the CRC
    are left out: they differ when a follower re-encodes a batch."""
    return log_batches(n.metadata_dir)


def partition_batches(n: Node, topic: str, partition: int) -> list[tuple[int, int, int, bool, str]]:
    """metadata_batches for a topic partition's log on node `n` ([] when the
    node holds no such log)."""
    return log_batches(n.data_dir / f"{topic}-{partition}")


def log_batches(directory: Path) -> list[tuple[int, int, int, bool, str]]:
    """The batches of every segment in a partition directory (see metadata_batches)."""
    import hashlib
    import struct
    out = []
    for seg in sorted(Path(directory).glob("*.log")):
        data = seg.read_bytes()
        pos = 0
        while pos + 61 <= len(data):
            base, length = struct.unpack_from(">qi", data, pos)
            if length < 49 or pos + 12 + length > len(data):
                break  # a torn or preallocated tail
            epoch, magic = struct.unpack_from(">ib", data, pos + 12)
            if magic != 2:
                break
            attributes, last_delta = struct.unpack_from(">hi", data, pos + 21)
            count = struct.unpack_from(">i", data, pos + 57)[0]
            digest = hashlib.sha256()
            r = kw.Reader(data[pos + 61:pos + 12 + length])
            if attributes & 0x07 == 0:  # uncompressed: hash each record's key and value
                for _ in range(count):
                    _zigzag(r)  # length
                    r._take(1)  # attributes
                    _zigzag(r)  # timestamp delta
                    offset_delta = _zigzag(r)
                    for _part in ("key", "value"):
                        size = _zigzag(r)
                        digest.update(struct.pack(">ii", offset_delta, size))
                        if size > 0:
                            digest.update(r._take(size))
                    for _h in range(_zigzag(r)):
                        r._take(_zigzag(r))
                        size = _zigzag(r)
                        if size > 0:
                            r._take(size)
            else:
                digest.update(data[pos + 61:pos + 12 + length])
            out.append((base, base + last_delta, epoch, bool(attributes & 0x20), digest.hexdigest()[:16]))
            pos += 12 + length
    return out


def _zigzag(r: kw.Reader) -> int:
    v = r.uvarint()
    return (v >> 1) ^ -(v & 1)


def wait_until(predicate, timeout: float, what: str, details=lambda: "", interval: float = 0.1) -> None:
    """Poll `predicate` until it is true; ClusterError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() >= deadline:
            raise ClusterError(f"timed out after {timeout}s waiting for {what}; {details()}")
        time.sleep(interval)


def _main(argv: list[str]) -> int:
    """`cluster.py call HOST PORT API VERSION JSON [TIMEOUT]`: one request,
    the decoded response as JSON on stdout (run inside a namespace)."""
    if len(argv) >= 6 and argv[1] == "call":
        host, port, api, version = argv[2], int(argv[3]), argv[4], int(argv[5])
        values = _unjson(json.loads(argv[6])) if len(argv) > 6 else {}
        timeout = float(argv[7]) if len(argv) > 7 else 5.0
        print(json.dumps(_jsonable(wire_call(host, port, api, version, values, timeout))))
        return 0
    print(_main.__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
