#!/usr/bin/env python3
"""Page-cache control and the raw file->socket baseline for bench/run.sh.

  rawsend.py drop FILE...   write back, then drop FILE's pages from the page
                            cache (fsync + posix_fadvise DONTNEED): the next
                            read comes from the disk
  rawsend.py send FILE...   drop the files, then sendfile() them all at once,
                            each over its own loopback TCP connection to a
                            reader thread that discards what it receives;
                            prints {"bytes", "seconds", "mb_per_s", "files"}

`send` is what a broker serving a cold catch-up read could at best do on this
machine: the same bytes, the same disk, the same loopback, no protocol. The
copy is in the kernel (sendfile), so Python's own cost does not bound it;
each reader uses recv_into on one reused 1 MiB buffer.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time


def drop(paths: list[str]) -> None:
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)  # dirty pages are not dropped: write them first
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def send(paths: list[str]) -> dict:
    """Every file on its own connection, all at once (as a broker serves
    several partitions at a time): the disk sees the same parallelism."""
    drop(paths)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(len(paths))
    srv.settimeout(30)
    received = [0] * len(paths)
    sent = [0] * len(paths)

    def reader(i: int) -> None:
        conn, _ = srv.accept()
        conn.settimeout(300)
        buf = bytearray(1 << 20)
        with conn:
            while True:
                n = conn.recv_into(buf)
                if n == 0:
                    return
                received[i] += n

    def writer(i: int, path: str, out: socket.socket) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            while sent[i] < size:
                n = os.sendfile(out.fileno(), fd, sent[i], min(size - sent[i], 1 << 30))
                if n == 0:
                    break
                sent[i] += n
        finally:
            os.close(fd)
            out.shutdown(socket.SHUT_WR)

    readers = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(len(paths))]
    for t in readers:
        t.start()
    outs = []
    for _ in paths:
        out = socket.create_connection(srv.getsockname(), timeout=30)
        out.settimeout(None)  # os.sendfile needs a blocking socket (run.sh bounds the run)
        outs.append(out)
    writers = [threading.Thread(target=writer, args=(i, p, outs[i]), daemon=True) for i, p in enumerate(paths)]
    start = time.monotonic()
    for t in writers:
        t.start()
    for t in writers + readers:
        t.join(300)
    seconds = time.monotonic() - start
    for out in outs:
        out.close()
    srv.close()
    if sum(received) != sum(sent):
        raise RuntimeError(f"sent {sum(sent)} bytes, the readers got {sum(received)}")
    return {"bytes": sum(sent), "seconds": round(seconds, 4), "mb_per_s": round(sum(sent) / 1e6 / seconds, 1),
            "files": len(paths)}


def main() -> int:
    if len(sys.argv) < 3 or sys.argv[1] not in ("drop", "send"):
        print(__doc__, file=sys.stderr)
        return 2
    paths = sys.argv[2:]
    if sys.argv[1] == "drop":
        drop(paths)
    else:
        print(json.dumps(send(paths)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
