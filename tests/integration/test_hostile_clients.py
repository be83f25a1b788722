"""Bounded memory and connection limits whatever clients send (issue 9, item 1).

The broker's RSS is read from /proc/<pid>/status while hostile or idle
connections are open; real clients (confluent_kafka) must keep producing and
consuming meanwhile, and memory must come back after the connections close.
"""

from __future__ import annotations

import os
import socket
import struct
import time

import pytest

import kafka_wire as kw


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS")


def wait_for(cond, timeout: float, what: str, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def round_trip(broker, topic: str, n: int = 20) -> None:
    """Produce n records with confluent_kafka and read them back."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0, "message.timeout.ms": 15000})
    for i in range(n):
        p.produce(topic, value=f"v{i}".encode(), partition=0)
    assert p.flush(20) == 0, "records not acknowledged"
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused", "enable.auto.commit": False})
    try:
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        c.assign([TopicPartition(topic, 0, hi - n)])
        got = []
        deadline = time.monotonic() + 20
        while len(got) < n and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and m.error() is None:
                got.append(m.value())
        assert got == [f"v{i}".encode() for i in range(n)]
    finally:
        c.close()


def create_topic(broker, name: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(name, 1, 1)])[name].result(timeout=20)


def api_versions_ok(sock: socket.socket, correlation_id: int = 7) -> bool:
    """Sends ApiVersions v0 and says whether a reply came back."""
    try:
        sock.sendall(kw.api_versions_request(0, correlation_id))
        body = kw.read_frame(sock)
        return struct.unpack(">i", body[:4])[0] == correlation_id
    except (OSError, EOFError):
        return False


def connect_from(port: int, source: str = "127.0.0.1", timeout: float = 5.0) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def closed_soon(sock: socket.socket, timeout: float = 3.0) -> bool:
    try:
        kw.wait_closed(sock, timeout)
        return True
    except AssertionError:
        return False


def test_announced_frames_do_not_allocate_memory(broker):
    create_topic(broker, "bigframes")
    pid = broker.proc.pid
    base = rss_mb(pid)
    socks = []
    try:
        for _ in range(50):
            s = kw.connect(broker.port)
            s.sendall(struct.pack(">i", 100 * 1024 * 1024) + b"\x00" * 1024)
            socks.append(s)
        time.sleep(1.0)
        round_trip(broker, "bigframes")  # other clients are still served
        peak = rss_mb(pid)
        assert peak < 300, f"RSS {peak:.0f} MB with 50 connections announcing 100 MB frames"
        assert peak - base < 50, f"RSS grew from {base:.0f} to {peak:.0f} MB"
    finally:
        for s in socks:
            s.close()
    round_trip(broker, "bigframes")
    wait_for(lambda: broker_sockets(pid) < 20, 10, "the connections to close")
    assert rss_mb(pid) <= peak + 5


def test_ten_thousand_idle_connections(broker):
    create_topic(broker, "idle")
    pid = broker.proc.pid
    round_trip(broker, "idle")
    base = rss_mb(pid)
    socks = []
    try:
        for _ in range(10_000):
            socks.append(kw.connect(broker.port, timeout=10))
        wait_for(lambda: broker_sockets(pid) >= 10_000, 30, "the broker to accept 10,000 connections")
        time.sleep(0.5)
        peak = rss_mb(pid)
        round_trip(broker, "idle")
        per_conn_kb = (peak - base) * 1024 / 10_000
        print(f"RSS base {base:.1f} MB, with 10,000 idle connections {peak:.1f} MB "
              f"({per_conn_kb:.2f} KiB each)")
        assert peak < 100, f"RSS {peak:.0f} MB with 10,000 idle connections"
        assert per_conn_kb <= 8, f"{per_conn_kb:.1f} KiB per idle connection"
    finally:
        for s in socks:
            s.close()
    wait_for(lambda: broker_sockets(pid) < 100, 30, "the connections to close")
    # The sweeper gives freed memory back within a second or two.
    wait_for(lambda: rss_mb(pid) < base + (peak - base) / 2 + 2, 10,
             f"RSS to fall back (base {base:.1f} MB, peak {peak:.1f} MB, now {rss_mb(pid):.1f} MB)")
    round_trip(broker, "idle")


def test_max_connections_waits_for_a_close(broker_factory):
    b = broker_factory.create(extra_config={"max.connections": 3})
    settle(b)
    socks = [kw.connect(b.port) for _ in range(3)]
    assert all(api_versions_ok(s) for s in socks)
    extra = kw.connect(b.port)  # completes in the listen backlog
    extra.sendall(kw.api_versions_request(0, 9))
    extra.settimeout(0.7)
    with pytest.raises(socket.timeout):
        extra.recv(1)
    socks.pop().close()
    extra.settimeout(5)
    body = kw.read_frame(extra)
    assert struct.unpack(">i", body[:4])[0] == 9
    for s in socks + [extra]:
        s.close()


def broker_sockets(pid: int) -> int:
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except FileNotFoundError:
            pass
    return n


def connections_on_port(port: int) -> int:
    """Open TCP connections whose local end is `port`:
    the broker's side of its clients' connections on that listener, and
    nothing else the broker holds (its own client connections to the
    controller listener for registration and heartbeats)."""
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local_port = int(fields[1].rsplit(":", 1)[1], 16)
                    # ESTABLISHED, SYN_RECV, CLOSE_WAIT: a connection the broker holds
                    if local_port == port and fields[3] in ("01", "03", "08"):
                        n += 1
        except FileNotFoundError:
            pass
    return n


def settle(b) -> None:
    """Waits until the readiness probes' connections to the broker listener
    are accepted and closed: no client connection remains on it."""
    deadline = time.monotonic() + 10
    quiet_since = None
    while time.monotonic() < deadline:
        if connections_on_port(b.port) == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 0.5:
                return
        else:
            quiet_since = None
        time.sleep(0.05)
    raise AssertionError("the broker still holds connections from its readiness probes")


def test_per_ip_limit_and_overrides(broker_factory):
    b = broker_factory.create(extra_config={"max.connections.per.ip": 2,
                                            "max.connections.per.ip.overrides": "127.0.0.2:4"})
    settle(b)
    local = [connect_from(b.port, "127.0.0.1") for _ in range(2)]
    assert all(api_versions_ok(s) for s in local)
    third = connect_from(b.port, "127.0.0.1")
    assert closed_soon(third), "third connection from 127.0.0.1 was kept"
    other = [connect_from(b.port, "127.0.0.2") for _ in range(4)]
    assert all(api_versions_ok(s) for s in other)
    fifth = connect_from(b.port, "127.0.0.2")
    assert closed_soon(fifth), "fifth connection from 127.0.0.2 was kept"
    local.pop().close()
    wait_for(lambda: api_versions_ok(connect_from(b.port, "127.0.0.1")), 5, "a freed slot")
    for s in local + other + [third, fifth]:
        s.close()
    assert "Rejected connection from 127.0.0.1" in b.log_text()


def test_bad_connection_limits_are_refused(broker_factory, samsa):
    from conftest import run
    for extra, key in [({"max.connections.per.ip.overrides": "127.0.0.1"}, "max.connections.per.ip.overrides"),
                       ({"max.connections.per.ip": 0}, "max.connections.per.ip")]:
        b = broker_factory.create(extra_config=extra, format=False, start=False)
        res = run([samsa, "storage", "format", "-t", "PgUvi0e-RIOH2TBtgQHAxQ", "-c", b.config_path])
        assert res.returncode != 0
        assert key in res.stderr + res.stdout


def test_idle_connections_are_closed(broker_factory):
    b = broker_factory.create(extra_config={"connections.max.idle.ms": 1000})
    idle = kw.connect(b.port)
    busy = kw.connect(b.port)
    start = time.monotonic()
    while time.monotonic() - start < 2.5:
        assert api_versions_ok(busy), "an active connection was closed"
        time.sleep(0.25)
    assert closed_soon(idle, 2.0), "idle connection still open after connections.max.idle.ms"
    assert api_versions_ok(busy)
    busy.close()
    idle.close()


def test_garbage_flood_is_summarised_in_the_log(broker):
    create_topic(broker, "afterflood")
    start = time.monotonic()
    garbage = [
        struct.pack(">i", -7),                                    # negative size
        struct.pack(">i", 200 * 1024 * 1024),                     # above socket.request.max.bytes
        kw.frame(struct.pack(">hhi", 999, 0, 1) + b"\xff" * 20),  # unknown API key
        kw.frame(b"\x00\x03"),                                    # truncated header
    ]
    for i in range(2000):
        s = kw.connect(broker.port)
        s.sendall(garbage[i % len(garbage)])
        closed_soon(s, 5)
        s.close()
    round_trip(broker, "afterflood")  # the broker kept serving
    # Lines are summarised per address over 10 s windows.
    wait_for(lambda: "suppressed" in broker.log_text(), max(1.0, 14 - (time.monotonic() - start)),
             "the flood summary")
    log = broker.log_text()
    warns = [l for l in log.splitlines() if " WARN " in l and "127.0.0.1" in l]
    assert 1 <= len(warns) <= 10, f"{len(warns)} WARN lines for 2,000 bad connections"
    assert any("more lines like the last one about 127.0.0.1 suppressed" in l for l in warns)


def test_connection_limits_change_dynamically(broker_factory):
    """max.connections.per.ip(.overrides) set with AlterConfigs reach the running acceptor."""
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
    b = broker_factory.create()
    admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, request_timeout_ms=20000)

    def alter(configs: dict) -> int:
        response = admin.alter_configs([ConfigResource(ConfigResourceType.BROKER, "", configs=configs)])
        return response.resources[0][0]

    assert alter({"max.connections.per.ip.overrides": "127.0.0.1"}) == 42  # INVALID_REQUEST: no count
    # 127.0.0.2 gets a limit of 2; 127.0.0.1 (the admin client's address) stays unlimited.
    assert alter({"max.connections.per.ip.overrides": "127.0.0.2:2"}) == 0
    admin.close()
    deadline = time.monotonic() + 10
    while True:  # the change reaches the acceptor once the metadata image is applied
        socks = [connect_from(b.port, "127.0.0.2") for _ in range(3)]
        if closed_soon(socks[2], 1.0):
            break
        for s in socks:
            s.close()
        assert time.monotonic() < deadline, "the dynamic per-ip override never took effect"
    assert all(api_versions_ok(s) for s in socks[:2])
    for s in socks:
        s.close()
    # AlterConfigs replaces the resource's dynamic set: an empty one removes the
    # override and the static default (unlimited) applies again.
    admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, request_timeout_ms=20000)
    response = admin.alter_configs([ConfigResource(ConfigResourceType.BROKER, "", configs={})])
    assert response.resources[0][0] == 0
    admin.close()
    deadline = time.monotonic() + 10
    while True:
        socks = [connect_from(b.port, "127.0.0.2") for _ in range(3)]
        if all(api_versions_ok(s) for s in socks):
            break
        for s in socks:
            s.close()
        assert time.monotonic() < deadline, "removing the override did not lift the limit"
    for s in socks:
        s.close()


def test_queued_max_request_bytes_stops_reading_while_spent(broker_factory):
    b = broker_factory.create(extra_config={"queued.max.request.bytes": 1024 * 1024})
    settle(b)
    hog = kw.connect(b.port)
    hog.sendall(struct.pack(">i", 2 * 1024 * 1024) + b"\x00" * 1024)  # reserves 2 MiB: the budget is spent
    time.sleep(0.3)
    waiting = kw.connect(b.port)
    waiting.sendall(kw.api_versions_request(0, 11))
    waiting.settimeout(0.7)
    with pytest.raises(socket.timeout):
        waiting.recv(1)
    hog.close()  # gives the reservation back
    waiting.settimeout(5)
    body = kw.read_frame(waiting)
    assert struct.unpack(">i", body[:4])[0] == 11
    waiting.close()
