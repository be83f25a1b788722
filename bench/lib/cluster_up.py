#!/usr/bin/env python3
"""Start a samsa cluster on loopback for bench/run.sh, create its topics, print
where it is, and keep it up until SIGTERM.

  cluster_up.py --workdir DIR --nodes N [--config key=value]... [--topic NAME:PARTITIONS:RF]...
                [--topic-config NAME:key=value]...

The binary is $SAMSA_BIN (run.sh sets it per side of an A/B run). Start-up
is bench/replication.py's (N combined broker,controller nodes, every broker
registered), with Kafka's default quorum and session timeouts.
Once every topic has a leader and its full ISR on every broker, one JSON
line goes to stdout: {"bootstrap", "pids", "data_dirs"}. On SIGTERM (or
SIGINT, or when the start-up fails) every node is stopped (SIGTERM, bounded
wait, then SIGKILL) before this process exits, so run.sh stops the whole
cluster by stopping this one pid. Every wait is bounded (cluster.py).
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import replication  # noqa: E402  (adds tests/integration to the path)

cl = replication.cl


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--nodes", type=int, default=1)
    ap.add_argument("--config", action="append", default=[], help="key=value for every server.properties")
    ap.add_argument("--topic", action="append", default=[], help="NAME:PARTITIONS:RF")
    ap.add_argument("--topic-config", action="append", default=[], help="NAME:key=value")
    args = ap.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    # Kafka's default quorum and broker session timeouts, not the short ones
    # of the failover tests: on this busy 2-core machine a 2 s broker session
    # expires under load, the node is fenced and Produce gets
    # NOT_LEADER_OR_FOLLOWER in the middle of a measurement.
    extra = {k: v for k, v in replication.CLUSTER_CONFIG.items() if k not in replication.FAILOVER_CONFIG}
    for kv in args.config:
        k, _, v = kv.partition("=")
        extra[k] = v
    topic_configs: dict[str, dict] = {}
    for spec in args.topic_config:
        name, _, kv = spec.partition(":")
        k, _, v = kv.partition("=")
        topic_configs.setdefault(name, {})[k] = v

    # As replication.start_cluster, with the extra server configs of this run.
    c = cl.Cluster(Path(args.workdir), ["broker,controller"] * args.nodes, quorum=cl.KAFKA_DEFAULT_QUORUM,
                   extra=extra)
    try:
        replication.format_start_registered(c)
        for spec in args.topic:
            name, parts, rf = spec.split(":")
            c.create_replicated_topic(name, int(parts), replication_factor=int(rf),
                                      configs=topic_configs.get(name), timeout=60)
        print(json.dumps({"bootstrap": c.bootstrap_servers(), "pids": [n.proc.pid for n in c.nodes],
                          "data_dirs": [str(n.data_dir) for n in c.nodes]}), flush=True)
        # Bounded: run.sh's scenarios are far shorter; this only guards against
        # an orphan if run.sh itself is killed with SIGKILL.
        stop.wait(4 * 3600)
        return 0
    except (cl.ClusterError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        for n in c.nodes:
            print(f"--- node {n.node_id}:\n{n.tail(10)}", file=sys.stderr)
        return 1
    finally:
        c.stop()
        c.close()


if __name__ == "__main__":
    sys.exit(main())
