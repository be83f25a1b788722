"""A full disk, for real: the only log dir is a small tmpfs the test mounts.
Produce until it is full: the failed write is never acknowledged, the log
dir goes offline and, as it is the broker's only one, the broker stops
(Kafka halts when all log dirs have failed: exit code 1). After a restart
with space (the tmpfs remounted bigger) every acknowledged record is there.

Also: a partition directory the metadata does not know is renamed
"<topic>-<partition>.<uuid>-stray", never deleted (Kafka 3.7+)."""
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import KafkaError, Producer  # noqa: E402

from test_durability import consume_all, create_topic  # noqa: E402

TOPIC = "fills-the-disk"


@pytest.fixture
def mounts():
    """tmpfs mounts made by the test; unmounted after the brokers stopped
    (request this fixture before broker_factory)."""
    made: list[Path] = []

    def mount(path: Path, size: str) -> None:
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       check=True, timeout=30)
        made.append(path)

    yield mount
    for path in reversed(made):
        if subprocess.run(["umount", str(path)], timeout=30).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], timeout=30)


def remount(path: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True, timeout=30)


def wait_exit(broker, timeout_s: float) -> int | None:
    try:
        return broker.proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None


def test_full_disk_fails_the_write_stops_the_broker_and_loses_nothing_acknowledged(mounts, broker_factory):
    broker = broker_factory.create(start=False, format=False,
                                   extra_config={"log.segment.bytes": 1 << 20})
    mounts(broker.log_dir, "12m")
    broker.format()
    broker.start()
    create_topic(broker.bootstrap, TOPIC, 2)

    acked = {}   # (partition, offset) -> value
    failed = []  # error codes of records that were not acknowledged
    lock = threading.Lock()

    def on_delivery(err, msg):
        with lock:
            if err is None:
                acked[(msg.partition(), msg.offset())] = msg.value()
            else:
                failed.append(err.code())

    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 2,
                         "compression.type": "none", "retries": 0, "message.timeout.ms": 10000,
                         "enable.idempotence": False, "max.in.flight": 1})
    deadline = time.monotonic() + 60
    sent = 0
    while time.monotonic() < deadline and not failed and broker.proc.poll() is None:
        producer.produce(TOPIC, os.urandom(4000), partition=sent % 2, on_delivery=on_delivery)
        sent += 1
        producer.poll(0)
        if sent % 50 == 0:
            producer.flush(10)
    producer.flush(15)

    assert failed, f"the 12 MiB disk never filled ({sent} records sent, {len(acked)} acknowledged)"
    assert len(acked) > 1000  # ~4 MiB: well past the metadata log and indexes
    # The write that hit ENOSPC is answered KAFKA_STORAGE_ERROR (the stop
    # drains in-flight responses); later ones find the broker gone.
    assert KafkaError.KAFKA_STORAGE_ERROR in failed, failed
    assert set(failed) <= {KafkaError.KAFKA_STORAGE_ERROR, KafkaError._TRANSPORT,
                           KafkaError._MSG_TIMED_OUT, KafkaError._ALL_BROKERS_DOWN}, failed

    # One log dir, and it failed: the broker stops by itself, exit code 1.
    rc = wait_exit(broker, 20)
    assert rc == 1, f"broker still running or exited with {rc} after its only log dir failed"
    log = broker.log_text()
    assert re.search(r"Shutdown broker because all log dirs in .* have failed", log), log[-3000:]
    assert "No space left on device" in log
    # No clean-shutdown marker: the next start recovers the logs.
    assert not (broker.log_dir / ".kafka_cleanshutdown").exists()
    broker.returncode = None

    remount(broker.log_dir, "64m")
    broker.start()
    got = consume_all(broker.bootstrap, TOPIC, 2, expected=len(acked))
    served = {(p, off): v for p, recs in got.items() for off, v in recs}
    lost = [k for k in acked if served.get(k) != acked[k]]
    assert not lost, f"{len(lost)} acknowledged records lost or changed, e.g. {lost[:5]}"
    # Nothing unacknowledged beyond whole records: offsets are dense from 0.
    for p, recs in got.items():
        assert [off for off, _ in recs] == list(range(len(recs))), f"partition {p} has holes"

    # And the broker takes writes again.
    ok = []
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    producer.produce(TOPIC, b"after", partition=0, on_delivery=lambda err, msg: ok.append(err))
    producer.flush(15)
    assert ok == [None]


def test_stray_partition_dir_is_renamed_not_deleted(broker_factory):
    broker = broker_factory.create()
    create_topic(broker.bootstrap, "known", 1)
    rc, _ = broker.terminate()
    assert rc == 0
    # A partition dir of a topic the metadata never had (a lost or stale
    # metadata log would look the same), with a real segment in it.
    known = broker.log_dir / "known-0"
    stray = broker.log_dir / "ghost-0"
    stray.mkdir()
    segment = b"precious bytes" * 100
    for f in known.iterdir():
        if f.suffix in (".index", ".timeindex"):
            (stray / f.name).write_bytes(b"")
    (stray / "00000000000000000000.log").write_bytes(segment)
    broker.returncode = None
    broker.start()

    deadline = time.monotonic() + 15
    renamed = []
    while time.monotonic() < deadline and not renamed:
        renamed = [d for d in broker.log_dir.iterdir() if re.fullmatch(r"ghost-0\.[0-9a-f]{32}-stray", d.name)]
        time.sleep(0.1)
    assert renamed, f"no ghost-0.<uuid>-stray in {sorted(d.name for d in broker.log_dir.iterdir())}"
    assert not stray.exists()
    assert known.exists()
    # The data is kept as it was (recovery may have cut the unparseable tail
    # of the .log, but the directory and its files are not deleted).
    assert (renamed[0] / "00000000000000000000.log").exists()
    assert "Renamed the stray log" in broker.log_text()


def describe_log_dirs_errors(port: int) -> dict:
    """DescribeLogDirs v1 (all topics): {log dir: error code}."""
    import kafka_wire as w
    with w.connect(port) as s:
        s.sendall(w.frame(w.request_header(35, 1, 7) + w.int32(-1)))
        cid, body = w.split_response_header(w.read_frame(s), flexible_header=False)
    assert cid == 7
    r = w.Reader(body)
    r.int32()  # throttle
    out = {}
    for _ in range(r.int32()):
        err = r.int16()
        out[r.string()] = err
        for _ in range(r.int32()):
            r.string()
            for _ in range(r.int32()):
                r.int32(), r.int64(), r.int64(), r.boolean()
    return out


def test_failed_dir_goes_offline_and_the_other_dir_keeps_serving(mounts, broker_factory):
    broker = broker_factory.create(start=False, format=False)
    big, small = broker.workdir / "big", broker.workdir / "small"
    broker.config_path.write_text(broker.config_path.read_text().replace(
        f"log.dirs={broker.log_dir}", f"log.dirs={big},{small}"))
    broker.log_dir = big  # where conftest looks for meta.properties
    mounts(small, "4m")
    broker.format()
    broker.start()
    create_topic(broker.bootstrap, TOPIC, 2)
    # New logs go to the dir with the fewest: partition 0 to big, 1 to small.
    assert (big / f"{TOPIC}-0").is_dir() and (small / f"{TOPIC}-1").is_dir()

    acked, errors = [], []

    def on_delivery(err, msg):
        (errors.append(err.code()) if err else acked.append((msg.offset(), msg.value())))

    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 2,
                         "retries": 0, "message.timeout.ms": 10000, "enable.idempotence": False,
                         "max.in.flight": 1})
    deadline = time.monotonic() + 60
    sent = 0
    while time.monotonic() < deadline and not errors:
        producer.produce(TOPIC, os.urandom(4000), partition=1, on_delivery=on_delivery)
        sent += 1
        producer.poll(0)
        if sent % 50 == 0:
            producer.flush(10)
    producer.flush(15)
    assert errors and set(errors) == {KafkaError.KAFKA_STORAGE_ERROR}, errors
    assert len(acked) > 200

    # The broker keeps running and serving the other dir.
    assert broker.proc.poll() is None
    ok = []
    producer.produce(TOPIC, b"still here", partition=0, on_delivery=lambda err, msg: ok.append(err))
    producer.flush(15)
    assert ok == [None]
    # The failed partition keeps refusing writes, even the small ones that would fit.
    again = []
    producer.produce(TOPIC, b"x", partition=1, on_delivery=lambda err, msg: again.append(err and err.code()))
    producer.flush(15)
    assert again == [KafkaError.KAFKA_STORAGE_ERROR]
    dirs = describe_log_dirs_errors(broker.port)
    assert dirs[str(small)] == 56 and dirs[str(big)] == 0, dirs

    # A clean stop: the healthy dir gets its marker, the failed one must be recovered.
    rc, _ = broker.terminate()
    assert rc == 0
    assert (big / ".kafka_cleanshutdown").exists()
    assert not (small / ".kafka_cleanshutdown").exists()
    broker.returncode = None

    remount(small, "32m")
    broker.start()
    got = consume_all(broker.bootstrap, TOPIC, 2, expected=len(acked) + 1)
    assert got[0] == [(0, b"still here")]
    served = dict(got[1])
    lost = [off for off, v in acked if served.get(off) != v]
    assert not lost, f"{len(lost)} acknowledged records lost, e.g. offsets {lost[:5]}"
    assert [off for off, _ in got[1]] == list(range(len(got[1])))


def test_metadata_log_dir_failing_stops_the_broker(mounts, broker_factory):
    """Kafka halts when the metadata log's dir fails, even with other dirs online."""
    broker = broker_factory.create(start=False, format=False)
    small, big = broker.workdir / "small", broker.workdir / "big"
    broker.config_path.write_text(broker.config_path.read_text().replace(
        f"log.dirs={broker.log_dir}", f"log.dirs={small},{big}"))  # metadata.log.dir: the first
    broker.log_dir = small
    mounts(small, "4m")
    broker.format()
    broker.start()
    create_topic(broker.bootstrap, TOPIC, 2)
    assert (small / f"{TOPIC}-0").is_dir() and (big / f"{TOPIC}-1").is_dir()

    errors = []
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all", "linger.ms": 2,
                         "retries": 0, "message.timeout.ms": 10000, "enable.idempotence": False})
    deadline = time.monotonic() + 60
    sent = 0
    while time.monotonic() < deadline and not errors and broker.proc.poll() is None:
        producer.produce(TOPIC, os.urandom(4000), partition=0,
                         on_delivery=lambda err, msg: err and errors.append(err.code()))
        sent += 1
        producer.poll(0)
        if sent % 50 == 0:
            producer.flush(10)
    producer.flush(15)
    assert errors
    rc = wait_exit(broker, 20)
    assert rc == 1, f"broker exited with {rc} after its metadata log dir failed"
    assert re.search(r"Shutdown broker because the metadata log dir .*small has failed", broker.log_text())
    broker.returncode = None
    # Restarted with space, it serves both partitions again.
    remount(small, "32m")
    broker.start()
    ok = []
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    for p in (0, 1):
        producer.produce(TOPIC, b"back", partition=p, on_delivery=lambda err, msg: ok.append(err))
    producer.flush(15)
    assert ok == [None, None]


def test_log_of_an_older_topic_with_the_same_name_is_renamed_stray(broker_factory):
    broker = broker_factory.create()
    create_topic(broker.bootstrap, "reborn", 1)
    ok = []
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    producer.produce("reborn", b"old data", partition=0, on_delivery=lambda err, msg: ok.append(err))
    producer.flush(15)
    assert ok == [None]
    rc, _ = broker.terminate()
    assert rc == 0
    # Another topic id in the log's partition.metadata: as if the topic had
    # been deleted and created again while this broker was down.
    meta = broker.log_dir / "reborn-0" / "partition.metadata"
    text = meta.read_text()
    old_id = re.search(r"topic_id: (\S+)", text).group(1)
    other = ("A" if old_id[0] != "A" else "B") + old_id[1:]
    meta.write_text(text.replace(old_id, other))
    broker.returncode = None
    broker.start()

    deadline = time.monotonic() + 15
    renamed = []
    while time.monotonic() < deadline and not renamed:
        renamed = [d for d in broker.log_dir.iterdir() if re.fullmatch(r"reborn-0\.[0-9a-f]{32}-stray", d.name)]
        time.sleep(0.1)
    assert renamed, sorted(d.name for d in broker.log_dir.iterdir())
    assert other in (renamed[0] / "partition.metadata").read_text()
    # The partition itself is served from a fresh log.
    ok = []
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    producer.produce("reborn", b"new data", partition=0, on_delivery=lambda err, msg: ok.append((err, msg.offset())))
    producer.flush(15)
    assert ok == [(None, 0)]
