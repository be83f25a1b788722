"""Free loopback ports for the servers tests start.

A port the kernel hands out for bind(0) lies in the ephemeral range, which
is also where every outgoing connection (clients, the brokers' own links)
takes its local port: between the check and the server's bind another
connection may take it ("Address already in use"). Ports are therefore
picked below the ephemeral range, where nothing is assigned implicitly,
and never handed out twice by one test process."""
import random
import socket

_given: set[int] = set()


def _range() -> tuple[int, int]:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    top = max(low, 11000)
    return max(10000, top - 12000), top


def free_port() -> int:
    lo, hi = _range()
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(lo, hi)
        if port in _given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    # Nothing free below the ephemeral range: let the kernel choose.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
