#!/usr/bin/env python3
"""The floor under "broker CPU per GB consumed" on this machine: the CPU a
bare loop spends per GB sending a page-cached file over loopback TCP.

  sendfloor.py FILE [REPEATS]

Reads FILE once (so it is cached), then sends it REPEATS times (default 4)
over one loopback connection to a reader in another process that discards
what it gets, four ways: sendfile(2) in 16 MiB calls or preadv + sendall
through a 1 MiB buffer, each with SO_SNDBUF 102400 (the broker's
socket.send.buffer.bytes default) and autotuned. Prints MB/s and the sending
thread's user+system seconds per GB (RUSAGE_THREAD). Not used by run.sh.
"""
from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time

READER = """
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
b = bytearray(1 << 20)
while s.recv_into(b):
    pass
"""


def main() -> int:
    path = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    size = os.path.getsize(path)
    fd = os.open(path, os.O_RDONLY)
    off = 0
    while off < size:  # into the page cache
        off += len(os.pread(fd, 1 << 22, off))
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(30)
    port = srv.getsockname()[1]
    buf = memoryview(bytearray(1 << 20))
    for sndbuf in (102400, 0):
        for mode in ("sendfile", "pread"):
            reader = subprocess.Popen([sys.executable, "-c", READER, str(port)])
            conn, _ = srv.accept()
            if sndbuf:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
            r0, t0 = resource.getrusage(resource.RUSAGE_THREAD), time.monotonic()
            for _ in range(reps):
                off = 0
                while off < size:
                    if mode == "sendfile":
                        off += os.sendfile(conn.fileno(), fd, off, min(16 << 20, size - off))
                    else:
                        n = os.preadv(fd, [buf], off)
                        conn.sendall(buf[:n])
                        off += n
            conn.close()
            reader.wait(timeout=60)
            r1, t1 = resource.getrusage(resource.RUSAGE_THREAD), time.monotonic()
            gb = reps * size / 1e9
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            label = sndbuf or "auto"
            print(f"{mode:8s} SO_SNDBUF={label:>6}  {gb / (t1 - t0) * 1000:6.0f} MB/s  {cpu / gb:.3f} core-s/GB")
    os.close(fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
