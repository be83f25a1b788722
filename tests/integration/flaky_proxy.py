"""A loopback TCP proxy in front of a broker that loses Produce traffic at
random, so that a client cannot tell whether a batch was written and has to
retry it.

It forwards whole Kafka frames. Once armed, each Produce request and each
Produce response is subject to one of these faults (seeded, reproducible):

* drop the request and close the connection (the batch never arrived);
* drop the response and close the connection (the batch was written, the
  client never hears about it; the requests behind it on that connection
  may still be processed by the broker while the client reconnects);
* drop the response silently, keeping the connection (the client's request
  timeout fires), at most `max_silent_drops` times.

Independently of those faults, hold_produce() makes Produce requests wait in
the proxy until release_produce() (or `hold_timeout` seconds): a write that
reaches the broker late, after whatever the test did meanwhile (the KIP-890
late-marker case of test_transactions.py).

Every socket call has a timeout; stop() closes everything and joins the
threads.
"""

from __future__ import annotations

import random
import socket
import struct
import threading

API_PRODUCE = 0


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        try:
            chunk = sock.recv(n - len(buf))
        except OSError:
            return None
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _read_frame(sock: socket.socket) -> bytes | None:
    size = _recv_exact(sock, 4)
    if size is None:
        return None
    body = _recv_exact(sock, struct.unpack(">i", size)[0])
    return None if body is None else size + body


class FlakyProxy:
    def __init__(self, seed: int, p_drop_request: float = 0.01, p_drop_response: float = 0.02,
                 p_silent_drop: float = 0.005, max_silent_drops: int = 2):
        self.rng = random.Random(seed)
        self.p_drop_request = p_drop_request
        self.p_drop_response = p_drop_response
        self.p_silent_drop = p_silent_drop
        self.max_silent_drops = max_silent_drops
        self.hold_timeout = 30.0
        self.held = 0  # Produce requests that waited in hold_produce()
        self._release = threading.Event()
        self._release.set()
        self.armed = False
        self.target_port = 0
        self.dropped_requests = 0
        self.dropped_responses = 0
        self.silent_drops = 0
        self.connections = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]

    # -- lifecycle ----------------------------------------------------------
    def start(self, target_port: int) -> None:
        self.target_port = target_port
        self._spawn(self._accept_loop)

    def stop(self) -> None:
        self._stopping = True
        self._release.set()
        self._listener.close()
        with self._lock:
            socks = list(self._sockets)
        for s in socks:
            self._close(s)
        for t in list(self._threads):
            t.join(timeout=5)

    def hold_produce(self) -> None:
        """From now on Produce requests wait in the proxy until release_produce()."""
        self._release.clear()

    def release_produce(self) -> None:
        self._release.set()

    def _spawn(self, fn, *args) -> None:
        t = threading.Thread(target=fn, args=args, daemon=True)
        self._threads.append(t)
        t.start()

    @staticmethod
    def _close(s: socket.socket) -> None:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def _roll(self, p: float) -> bool:
        with self._lock:
            return self.armed and self.rng.random() < p

    # -- forwarding ---------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            for s in (client, upstream):
                s.settimeout(60)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._sockets += [client, upstream]
                self.connections += 1
            produce_ids: set[int] = set()  # correlation ids of Produce requests in flight
            self._spawn(self._requests, client, upstream, produce_ids)
            self._spawn(self._responses, client, upstream, produce_ids)

    def _requests(self, client: socket.socket, upstream: socket.socket, produce_ids: set) -> None:
        while True:
            frame = _read_frame(client)
            if frame is None:
                break
            api_key, _, correlation_id = struct.unpack(">hhi", frame[4:12])
            if api_key == API_PRODUCE:
                if not self._release.is_set():
                    with self._lock:
                        self.held += 1
                    self._release.wait(self.hold_timeout)
                if self._roll(self.p_drop_request):
                    with self._lock:
                        self.dropped_requests += 1
                    break
                with self._lock:
                    produce_ids.add(correlation_id)
            try:
                upstream.sendall(frame)
            except OSError:
                break
        self._close(client)
        self._close(upstream)

    def _responses(self, client: socket.socket, upstream: socket.socket, produce_ids: set) -> None:
        while True:
            frame = _read_frame(upstream)
            if frame is None:
                break
            correlation_id = struct.unpack(">i", frame[4:8])[0]
            with self._lock:
                is_produce = correlation_id in produce_ids
                produce_ids.discard(correlation_id)
            if is_produce:
                if self._roll(self.p_drop_response):
                    with self._lock:
                        self.dropped_responses += 1
                    break
                if self.silent_drops < self.max_silent_drops and self._roll(self.p_silent_drop):
                    with self._lock:
                        self.silent_drops += 1
                    continue
            try:
                client.sendall(frame)
            except OSError:
                break
        self._close(client)
        self._close(upstream)
