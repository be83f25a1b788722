#!/usr/bin/env python3
"""Page-cache control and the raw file->socket baseline for bench/run.sh.

  rawsend.py drop FILE...   write back, then drop FILE's pages from the page
                            cache (fsync + posix_fadvise DONTNEED): the next
                            read comes from the disk
  rawsend.py send FILE...   drop the files, then sendfile() them one after the
                            other over one loopback TCP connection to a reader
                            thread that discards what it receives; prints
                            {"bytes", "seconds", "mb_per_s"} as one JSON line

`send` is what a broker serving a cold catch-up read could at best do on this
machine: the same bytes, the same disk, the same loopback, no protocol. The
copy is in the kernel (sendfile), so Python's own cost does not bound it;
the reader uses recv_into on one reused 1 MiB buffer.
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
    drop(paths)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(30)
    received = [0]

    def reader() -> None:
        conn, _ = srv.accept()
        conn.settimeout(300)
        buf = bytearray(1 << 20)
        with conn:
            while True:
                n = conn.recv_into(buf)
                if n == 0:
                    return
                received[0] += n

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    out = socket.create_connection(srv.getsockname(), timeout=30)
    out.settimeout(None)  # os.sendfile needs a blocking socket (run.sh bounds the run)
    start = time.monotonic()
    total = 0
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            off = 0
            while off < size:
                n = os.sendfile(out.fileno(), fd, off, min(size - off, 1 << 30))
                if n == 0:
                    break
                off += n
            total += off
        finally:
            os.close(fd)
    out.shutdown(socket.SHUT_WR)
    t.join(300)
    seconds = time.monotonic() - start
    out.close()
    srv.close()
    if received[0] != total:
        raise RuntimeError(f"sent {total} bytes, the reader got {received[0]}")
    return {"bytes": total, "seconds": round(seconds, 4), "mb_per_s": round(total / 1e6 / seconds, 1)}


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
