"""An exactly-once copier, as Kafka Streams runs one: consume (read_committed,
a static group member) -> produce the same key and value to the same
partition of another topic -> commit the consumed offsets in the same
transaction (send_offsets_to_transaction, KIP-447 group metadata).

  python3 txn_copier.py BOOTSTRAP INPUT OUTPUT GROUP TXN_ID PARTITIONS TOTAL PER_TXN PAUSE_S PROGRESS_FILE

It is crash-only: anything that would need a new producer or a rewind of
the consumer (a fatal error, an abortable one, a commit that keeps
failing) ends the process with exit code 3 and the test starts a new one,
which fences this one (same transactional.id) and resumes at the committed
offsets. After each commit it appends {"position": sum of the group's
committed offsets} to PROGRESS_FILE. Exits 0 once the committed positions add up to
TOTAL (the input's record count).
"""

from __future__ import annotations

import json
import sys
import time


def main(argv: list[str]) -> int:
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
    bootstrap, src, dst, group, txn_id, partitions, total, per_txn, pause, progress = argv[1:11]
    partitions, total, per_txn, pause = int(partitions), int(total), int(per_txn), float(pause)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "group.instance.id": f"{group}-copier",
                         "isolation.level": "read_committed", "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
                         "fetch.wait.max.ms": 100, "topic.metadata.refresh.interval.ms": 1000,
                         "socket.timeout.ms": 5000})
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 5,
                         "transaction.timeout.ms": 10000, "message.timeout.ms": 10000,
                         "topic.metadata.refresh.interval.ms": 1000, "socket.timeout.ms": 5000})
    producer.init_transactions(60)
    consumer.subscribe([src])
    tps = [TopicPartition(src, p) for p in range(partitions)]

    def committed() -> int:
        # OffsetFetch with require_stable (read_committed): librdkafka waits
        # out UNSTABLE_OFFSET_COMMIT until the transaction's marker is written.
        return sum(max(tp.offset, 0) for tp in consumer.committed(tps, timeout=30))
    position, idle_since = 0, time.monotonic()
    while position < total:
        msgs = [m for m in consumer.consume(per_txn, 0.5) if not m.error()]
        if not msgs:
            # A copier started after the last commit of a partition gets
            # nothing more from it: the committed offsets say when it is done.
            if time.monotonic() - idle_since > 2:
                position, idle_since = committed(), time.monotonic()
            continue
        producer.begin_transaction()
        for m in msgs:
            producer.produce(dst, key=m.key(), value=m.value(), partition=m.partition())
        positions = [tp for tp in consumer.position(consumer.assignment()) if tp.offset >= 0]
        producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 30)
        for attempt in range(4):
            try:
                producer.commit_transaction(15)
                break
            except KafkaException as e:
                if not e.args[0].retriable() or attempt == 3:
                    raise
                time.sleep(0.2)
        position, idle_since = committed(), time.monotonic()
        with open(progress, "a") as fh:
            fh.write(json.dumps({"position": position}) + "\n")
        time.sleep(pause)
    consumer.close()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 11:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        sys.exit(main(sys.argv))
    except Exception as e:  # noqa: BLE001 - crash-only: the test restarts the copier
        print(f"copier: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(3)
