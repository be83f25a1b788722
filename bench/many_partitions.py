#!/usr/bin/python3
"""Many partitions on one node: creation rate, clean shutdown, start-up times.

    /usr/bin/python3 bench/many_partitions.py [--partitions 100000] [--nofile 4096] [--keep DIR]

Starts build/release/src/cli/samsa (or $SAMSA_BIN) on free loopback ports under
`prlimit --nofile=N:N`, creates the partitions through CreateTopics (topics of
1,000 partitions, 10 topics per request, confluent_kafka's AdminClient), then
measures a clean shutdown (SIGTERM to exit), the start after it and the start
after a SIGKILL (start = process start until the broker port accepts), and the
broker's RSS and open descriptors with every partition created. With --keep the
data dir survives in DIR (for profiling a start by hand); otherwise it is removed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMSA = Path(os.environ.get("SAMSA_BIN", ROOT / "build/release/src/cli/samsa"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Node:
    def __init__(self, work: Path, nofile: int):
        self.work, self.nofile = work, nofile
        self.port, self.cport = free_port(), free_port()
        self.data = work / "data"
        self.config = work / "server.properties"
        self.config.write_text("\n".join([
            "process.roles=broker,controller", "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{self.cport}",
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.cport}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "inter.broker.listener.name=PLAINTEXT", f"log.dirs={self.data}",
            "offsets.topic.replication.factor=1", "transaction.state.log.replication.factor=1", ""]))
        cid = subprocess.run([SAMSA, "storage", "random-uuid"], capture_output=True, text=True,
                             check=True).stdout.strip()
        subprocess.run([SAMSA, "storage", "format", "-t", cid, "-c", self.config], check=True,
                       capture_output=True, timeout=60)
        self.proc = None

    def start(self, timeout: float = 300) -> float:
        log = open(self.work / "samsa.log", "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(["prlimit", f"--nofile={self.nofile}:{self.nofile}", SAMSA, "server",
                                      self.config], stdout=log, stderr=subprocess.STDOUT, cwd=self.work)
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                sys.exit(f"broker exited with {self.proc.returncode}; see {self.work}/samsa.log")
            if port_open(self.port):
                return time.monotonic() - t0
            time.sleep(0.05)
        sys.exit("broker did not start in time")

    def stop(self) -> float:
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=300)
        if rc != 0:
            sys.exit(f"broker exited with {rc} on SIGTERM")
        return time.monotonic() - t0

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=60)

    def rss_kib(self) -> int:
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))


def create(node: Node, partitions: int) -> float:
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{node.port}"})
    per_topic = min(1000, partitions)
    topics = partitions // per_topic
    t0 = time.monotonic()
    for first in range(0, topics, 10):
        fs = admin.create_topics([NewTopic(f"many-{i:03d}", per_topic, 1)
                                  for i in range(first, min(topics, first + 10))],
                                 operation_timeout=300, request_timeout=300)
        for f in fs.values():
            f.result(timeout=300)
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--partitions", type=int, default=100_000)
    ap.add_argument("--nofile", type=int, default=4096)
    ap.add_argument("--keep", type=Path)
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="samsa-many-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        node = Node(work, args.nofile)
        node.start()
        rss0 = node.rss_kib()
        secs = create(node, args.partitions)
        time.sleep(1)
        rss1, fds = node.rss_kib(), node.fds()
        stop = node.stop()
        clean = node.start()
        stop2 = node.stop()
        node.start()
        node.kill()
        unclean = node.start()
        node.stop()
        print(f"{args.partitions} partitions, nofile={args.nofile}: created in {secs:.1f} s "
              f"({args.partitions / secs:.0f}/s); RSS {rss1 // 1024} MiB "
              f"({(rss1 - rss0) * 1024 / args.partitions:.0f} B per partition), {fds} fds open; "
              f"clean shutdown {stop:.2f} s (again after a restart: {stop2:.2f} s); "
              f"start after clean shutdown {clean:.1f} s; start after SIGKILL {unclean:.1f} s")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
