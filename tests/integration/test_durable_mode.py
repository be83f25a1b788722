"""Durable mode (flush.messages=1): the broker fsyncs a record's data before
it acknowledges the Produce, acks=1 and acks=all alike, and every acknowledged
record survives a kill -9.

A kill -9 keeps the page cache, so surviving it proves little about the
fsync. The order is checked instead, from outside the process: strace is
attached to the broker and delays every fsync/fdatasync by DELAY_S at its
entry, printing when each started and on which file. Records are produced one
at a time; each acknowledgement must come after an fsync of the partition's
segment file that started after the record was sent and had DELAY_S to run
before the acknowledgement. A broker that answered before its fsync (or
without one) answers within milliseconds and fails the check."""
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from test_durability import consume_all  # noqa: E402

TOPIC = "fsynced"
DELAY_S = 0.15
RECORDS = 6
SYNC_LINE = re.compile(r"^\d+\s+(\d+\.\d+) (?:fsync|fdatasync)\(\d+<([^>]*)>")


def attach_strace(pid: int, out: Path) -> subprocess.Popen:
    """strace on every thread of `pid`: fsync/fdatasync only, each delayed
    DELAY_S at entry; returns once every thread is traced."""
    proc = subprocess.Popen(
        ["strace", "-f", "-qq", "-ttt", "-y", "-e", "signal=none", "-e", "trace=fsync,fdatasync",
         "-e", f"inject=fsync,fdatasync:delay_enter={int(DELAY_S * 1e6)}", "-o", str(out), "-p", str(pid)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        tracers = []
        for status in Path(f"/proc/{pid}/task").glob("*/status"):
            try:
                tracers += [line for line in status.read_text().splitlines() if line.startswith("TracerPid:")]
            except FileNotFoundError:
                continue
        if tracers and all(t.split()[1] != "0" for t in tracers):
            return proc
        assert proc.poll() is None, f"strace failed: {proc.stderr.read().decode(errors='replace')}"
        time.sleep(0.05)
    proc.kill()
    pytest.fail("strace did not attach to every broker thread within 10 s")


def detach(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def segment_syncs(trace: Path, partition_dir: str) -> list[float]:
    """Entry times of the fsyncs of the partition's segment (.log) files."""
    out = []
    for line in trace.read_text(errors="replace").splitlines():
        m = SYNC_LINE.match(line)
        if m and f"/{partition_dir}/" in m.group(2) and m.group(2).endswith(".log"):
            out.append(float(m.group(1)))
    return out


def test_acks_wait_for_the_fsync_and_survive_kill9(broker_factory, tmp_path):
    broker = broker_factory.create()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(TOPIC, num_partitions=1, replication_factor=1,
                                  config={"flush.messages": "1"})])[TOPIC].result(timeout=20)
    # One record first, so metadata, connections and the segment exist.
    warm = Producer({"bootstrap.servers": broker.bootstrap, "acks": "1", "linger.ms": 0})
    warm.produce(TOPIC, value=b"warm-up", partition=0)
    assert warm.flush(20) == 0

    trace = tmp_path / "fsyncs.trace"
    strace = attach_strace(broker.proc.pid, trace)
    acked = {}  # offset -> value
    timings = []  # (acks, offset, sent, acknowledged)
    try:
        for acks in ("1", "all"):
            producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": acks, "linger.ms": 0,
                                 "message.timeout.ms": 20000})
            for i in range(RECORDS):
                value = f"acks-{acks}-{i}".encode()
                result = {}

                def on_delivery(err, msg, result=result):
                    result["at"] = time.time()
                    result["err"] = err
                    result["offset"] = msg.offset()

                sent = time.time()
                producer.produce(TOPIC, value=value, partition=0, on_delivery=on_delivery)
                assert producer.flush(30) == 0, f"acks={acks}: record {i} not delivered"
                assert result.get("err") is None, f"acks={acks}: record {i} failed: {result.get('err')}"
                acked[result["offset"]] = value
                timings.append((acks, result["offset"], sent, result["at"]))
    finally:
        detach(strace)

    syncs = segment_syncs(trace, f"{TOPIC}-0")
    assert syncs, f"no fsync of {TOPIC}-0's segment was traced:\n{trace.read_text()[-2000:]}"
    early = [(acks, off, round(at - sent, 3)) for acks, off, sent, at in timings
             if not any(sent < s <= at - DELAY_S for s in syncs)]
    assert not early, (f"acknowledged before an fsync covering the record had finished "
                       f"(acks, offset, seconds to the ack): {early}")

    # The broker dies; everything acknowledged is there after the restart.
    broker.proc.send_signal(signal.SIGKILL)
    broker.proc.wait(timeout=10)
    broker.start()
    got = consume_all(broker.bootstrap, TOPIC, 1, expected=len(acked) + 1)
    stored = dict(got[0])
    missing = {off: v for off, v in acked.items() if stored.get(off) != v}
    assert not missing, f"acknowledged records lost after kill -9: {missing}"
