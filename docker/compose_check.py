#!/usr/bin/python3
"""The check tools/test-compose.sh runs against the three containers.

Creates a topic with three replicas and min.insync.replicas=2, produces
unique records with acks=all (idempotent producer), kills (SIGKILL) the node
that leads partition 0 half-way through, keeps producing, then consumes every
partition from the start through the surviving nodes. Passes when every
acknowledged record is read back exactly once, at the offset its ack gave, in
the order it was produced, and writes resumed after the kill.

Needs Debian's python3-confluent-kafka (run it with /usr/bin/python3).
"""
import argparse
import shlex
import subprocess
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

PARTITIONS = 3


def log(msg):
    print(f"[compose-check {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def wait_for_leaders(admin, topic, deadline):
    """Metadata with a leader for every partition; prints leaders and ISRs."""
    while True:
        try:
            md = admin.list_topics(topic=topic, timeout=5).topics.get(topic)
            if md and md.error is None and len(md.partitions) == PARTITIONS and all(
                    p.leader >= 0 and p.error is None for p in md.partitions.values()):
                return {p.id: p for p in md.partitions.values()}
        except KafkaException:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"FAIL: no leader for every partition of {topic}")
        time.sleep(0.5)


def create_topic(admin, topic, deadline):
    new = NewTopic(topic, num_partitions=PARTITIONS, replication_factor=3,
                   config={"min.insync.replicas": "2"})
    while True:
        try:
            admin.create_topics([new], request_timeout=15)[topic].result(timeout=30)
            return
        except KafkaException as e:
            if e.args[0].name() == "TOPIC_ALREADY_EXISTS":
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"FAIL: CreateTopics {topic}: {e}")
            log(f"CreateTopics: {e}; retrying")
            time.sleep(1)


class AckLog:
    """What the producer was told: (partition, offset) per acknowledged value."""

    def __init__(self):
        self.acked = {}        # value -> (partition, offset)
        self.ack_times = {}    # value -> monotonic time of the ack
        self.failed = {}       # value -> error

    def callback(self, err, msg):
        value = msg.value().decode()
        if err is not None:
            self.failed[value] = err
        else:
            self.acked[value] = (msg.partition(), msg.offset())
            self.ack_times[value] = time.monotonic()


def produce(producer, topic, acks, first, count, flush_s):
    for i in range(first, first + count):
        value = f"record-{i:07d}"
        while True:
            try:
                producer.produce(topic, value=value, key=str(i), partition=i % PARTITIONS,
                                 on_delivery=acks.callback)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
        time.sleep(0.002)  # spread over time, so the kill lands mid-stream
    remaining = producer.flush(flush_s)
    if remaining:
        raise SystemExit(f"FAIL: {remaining} records neither acknowledged nor failed after {flush_s} s")


def at_high_watermarks(consumer, topic):
    try:
        for tp in consumer.position([TopicPartition(topic, p) for p in range(PARTITIONS)]):
            _, high = consumer.get_watermark_offsets(tp, timeout=5)
            if tp.offset < high:
                return False
        return True
    except KafkaException:
        return False


def consume_all(bootstrap, topic, acks, timeout_s):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "compose-check",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest",
                         "enable.partition.eof": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    seen = {}  # value -> list of (partition, offset)
    order = {p: [] for p in range(PARTITIONS)}
    wanted = set(acks.acked)
    deadline = time.monotonic() + timeout_s
    last_msg = time.monotonic()
    try:
        while not wanted.issubset(seen) and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                # Idle: stop early once every partition is read up to its high
                # watermark (what is missing then will not come).
                if time.monotonic() - last_msg > 10 and at_high_watermarks(consumer, topic):
                    break
                continue
            last_msg = time.monotonic()
            if msg.error():
                log(f"consumer: {msg.error()}")
                continue
            value = msg.value().decode()
            seen.setdefault(value, []).append((msg.partition(), msg.offset()))
            order[msg.partition()].append(value)
        # A little longer: duplicates after the last wanted record count too.
        end = time.monotonic() + 2
        while time.monotonic() < end:
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                value = msg.value().decode()
                seen.setdefault(value, []).append((msg.partition(), msg.offset()))
                order[msg.partition()].append(value)
    finally:
        consumer.close()
    return seen, order


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bootstrap", required=True, help="host:port,... of all three nodes")
    ap.add_argument("--kill-cmd", required=True,
                    help="command that kills node {node} (SIGKILL), e.g. 'docker kill samsa-{node}'")
    ap.add_argument("--records", type=int, default=3000)
    ap.add_argument("--topic", default="compose-check")
    ap.add_argument("--timeout", type=float, default=240, help="seconds for the whole check")
    args = ap.parse_args()
    deadline = time.monotonic() + args.timeout

    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    create_topic(admin, args.topic, deadline)
    leaders = wait_for_leaders(admin, args.topic, deadline)
    for p in sorted(leaders):
        log(f"partition {p}: leader {leaders[p].leader} replicas {leaders[p].replicas} isr {leaders[p].isrs}")
    bad = [p for p in leaders.values() if sorted(p.replicas) != [1, 2, 3] or sorted(p.isrs) != [1, 2, 3]]
    if bad:
        raise SystemExit(f"FAIL: partitions without three in-sync replicas: {[p.id for p in bad]}")

    acks = AckLog()
    producer = Producer({"bootstrap.servers": args.bootstrap, "acks": "all", "enable.idempotence": True,
                         "linger.ms": 5, "message.timeout.ms": 90000, "retry.backoff.ms": 100})
    half = args.records // 2
    produce(producer, args.topic, acks, 0, half, 60)
    if acks.failed:
        raise SystemExit(f"FAIL: {len(acks.failed)} acks=all writes failed with all nodes up, "
                         f"e.g. {next(iter(acks.failed.items()))}")
    log(f"{len(acks.acked)} records acknowledged with three nodes up")

    victim = leaders[0].leader
    cmd = shlex.split(args.kill_cmd.format(node=victim))
    log(f"killing node {victim} (leader of partition 0): {' '.join(cmd)}")
    killed_at = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=60)
    produce(producer, args.topic, acks, half, args.records - half, 120)
    after = [t for t in acks.ack_times.values() if t > killed_at]
    log(f"{len(acks.acked)} acknowledged, {len(acks.failed)} failed; first ack after the kill "
        f"{(min(after) - killed_at):.2f} s after it" if after else "no ack after the kill")
    if not after:
        raise SystemExit("FAIL: no write was acknowledged after the kill")

    survivors = ",".join(b for b in args.bootstrap.split(","))
    seen, order = consume_all(survivors, args.topic, acks, max(10.0, deadline - time.monotonic()))
    missing = sorted(v for v in acks.acked if v not in seen)
    dupes = sorted(v for v, where in seen.items() if len(where) > 1)
    moved = sorted(v for v, (p, o) in acks.acked.items() if v in seen and seen[v][0] != (p, o))
    unordered = [p for p, values in order.items() if values != sorted(values)]
    log(f"consumed {sum(len(w) for w in seen.values())} records: {len(missing)} acknowledged missing, "
        f"{len(dupes)} duplicated, {len(moved)} not at their acknowledged offset, "
        f"partitions out of order: {unordered}")
    if missing or dupes or moved or unordered:
        for name, items in (("missing", missing), ("duplicated", dupes), ("moved", moved)):
            if items:
                log(f"  {name}: {items[:10]}")
        raise SystemExit("FAIL")
    log("PASS: every acknowledged record read back exactly once, in order")


if __name__ == "__main__":
    main()
