"""Minimal hand-rolled Kafka wire helpers for raw-socket tests.

Only what the integration tests need: request framing (header v1 and the
flexible header v2), ApiVersions, Metadata and DescribeCluster requests, and
decoders for their responses. Everything is written from the message schemas
in /work/shared/kafka-protocol/messages; no client library is involved, so
these tests can send deliberately broken bytes.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass, field

API_PRODUCE = 0
API_METADATA = 3
API_API_VERSIONS = 18
API_DESCRIBE_CLUSTER = 60

ERR_NONE = 0
ERR_UNKNOWN_TOPIC_OR_PARTITION = 3
ERR_UNSUPPORTED_VERSION = 35

DEFAULT_TIMEOUT = 10.0


# --------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------

def int8(v: int) -> bytes:
    return struct.pack(">b", v)


def int16(v: int) -> bytes:
    return struct.pack(">h", v)


def int32(v: int) -> bytes:
    return struct.pack(">i", v)


def boolean(v: bool) -> bytes:
    return b"\x01" if v else b"\x00"


def uvarint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def string(s: str | None) -> bytes:
    """Classic (non-flexible) nullable string: int16 length."""
    if s is None:
        return int16(-1)
    data = s.encode()
    return int16(len(data)) + data


def compact_string(s: str | None) -> bytes:
    """Flexible string: uvarint(length + 1), 0 means null."""
    if s is None:
        return uvarint(0)
    data = s.encode()
    return uvarint(len(data) + 1) + data


def empty_tagged_fields() -> bytes:
    return uvarint(0)


def request_header(api_key: int, api_version: int, correlation_id: int,
                   client_id: str | None = "samsa-itest",
                   flexible: bool = False) -> bytes:
    """Request header v1, or v2 (v1 + tagged fields) when flexible."""
    hdr = int16(api_key) + int16(api_version) + int32(correlation_id) + string(client_id)
    if flexible:
        hdr += empty_tagged_fields()
    return hdr


def frame(payload: bytes) -> bytes:
    return int32(len(payload)) + payload


def api_versions_request(version: int, correlation_id: int,
                         client_id: str | None = "samsa-itest") -> bytes:
    """A framed ApiVersions request. v3+ is flexible and carries the
    client software name/version."""
    flexible = version >= 3
    body = b""
    if flexible:
        body = compact_string("samsa-itest") + compact_string("0.1") + empty_tagged_fields()
    return frame(request_header(API_API_VERSIONS, version, correlation_id, client_id,
                                flexible=flexible) + body)


def metadata_request(version: int, correlation_id: int,
                     topics: list[str] | None = None) -> bytes:
    """A framed Metadata request. topics=None asks for all topics (v1+),
    an empty list asks for all topics in v0."""
    flexible = version >= 9
    body = b""
    if flexible:
        if topics is None:
            body += uvarint(0)
        else:
            body += uvarint(len(topics) + 1)
            for t in topics:
                if version >= 10:
                    body += b"\x00" * 16  # topic id: zero uuid
                body += compact_string(t) + empty_tagged_fields()
    else:
        if topics is None:
            body += int32(-1 if version >= 1 else 0)
        else:
            body += int32(len(topics))
            for t in topics:
                body += string(t)
    if version >= 4:
        body += boolean(False)  # allow_auto_topic_creation
    if 8 <= version <= 10:
        body += boolean(False)  # include_cluster_authorized_operations
    if version >= 8:
        body += boolean(False)  # include_topic_authorized_operations
    if flexible:
        body += empty_tagged_fields()
    return frame(request_header(API_METADATA, version, correlation_id, flexible=flexible) + body)


def describe_cluster_request(version: int, correlation_id: int) -> bytes:
    body = boolean(False)  # include_cluster_authorized_operations
    if version >= 1:
        body += int8(1)  # endpoint_type = brokers
    body += empty_tagged_fields()
    return frame(request_header(API_DESCRIBE_CLUSTER, version, correlation_id,
                                flexible=True) + body)


# --------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------

class DecodeError(Exception):
    pass


class Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise DecodeError(f"need {n} bytes at offset {self.pos}, have {len(self.data) - self.pos}")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def int8(self) -> int:
        return struct.unpack(">b", self._take(1))[0]

    def int16(self) -> int:
        return struct.unpack(">h", self._take(2))[0]

    def int32(self) -> int:
        return struct.unpack(">i", self._take(4))[0]

    def int64(self) -> int:
        return struct.unpack(">q", self._take(8))[0]

    def boolean(self) -> bool:
        b = self._take(1)[0]
        if b not in (0, 1):
            raise DecodeError(f"bad boolean {b}")
        return b == 1

    def uuid(self) -> bytes:
        return self._take(16)

    def uvarint(self) -> int:
        shift = 0
        value = 0
        while True:
            b = self._take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
            if shift > 28:
                raise DecodeError("uvarint too long")

    def string(self) -> str | None:
        n = self.int16()
        if n < 0:
            return None
        return self._take(n).decode()

    def compact_string(self) -> str | None:
        n = self.uvarint()
        if n == 0:
            return None
        return self._take(n - 1).decode()

    def array_len(self, flexible: bool) -> int:
        """Element count, or -1 for a null array."""
        if flexible:
            return self.uvarint() - 1
        return self.int32()

    def tagged_fields(self) -> dict[int, bytes]:
        out = {}
        for _ in range(self.uvarint()):
            tag = self.uvarint()
            size = self.uvarint()
            out[tag] = self._take(size)
        return out

    def expect_end(self, what: str) -> None:
        if self.remaining():
            raise DecodeError(f"{what}: {self.remaining()} trailing bytes")


@dataclass
class ApiVersionsResponse:
    error_code: int
    api_keys: dict[int, tuple[int, int]]
    throttle_time_ms: int | None = None
    tagged: dict[int, bytes] = field(default_factory=dict)
    duplicate_keys: list[int] = field(default_factory=list)


def parse_api_versions(body: bytes, version: int) -> ApiVersionsResponse:
    """Parse an ApiVersions response body (after the correlation id; the
    response header is always v0 for ApiVersions). Strict: trailing bytes
    are an error."""
    r = Reader(body)
    flexible = version >= 3
    error_code = r.int16()
    n = r.array_len(flexible)
    if n < 0:
        raise DecodeError("null api_keys array")
    keys: dict[int, tuple[int, int]] = {}
    dups = []
    for _ in range(n):
        k, lo, hi = r.int16(), r.int16(), r.int16()
        if flexible:
            r.tagged_fields()
        if k in keys:
            dups.append(k)
        keys[k] = (lo, hi)
    throttle = r.int32() if version >= 1 else None
    tagged = r.tagged_fields() if flexible else {}
    r.expect_end(f"ApiVersions v{version}")
    return ApiVersionsResponse(error_code, keys, throttle, tagged, dups)


@dataclass
class Broker:
    node_id: int
    host: str
    port: int
    rack: str | None = None


@dataclass
class MetadataTopic:
    error_code: int
    name: str | None
    is_internal: bool
    partitions: int


@dataclass
class MetadataResponse:
    brokers: list[Broker]
    cluster_id: str | None
    controller_id: int | None
    topics: list[MetadataTopic]
    throttle_time_ms: int | None = None


def parse_metadata(body: bytes, version: int) -> MetadataResponse:
    """Parse a Metadata response body. For v9+ the caller must already have
    stripped the response header v1 (correlation id + tagged fields)."""
    r = Reader(body)
    flex = version >= 9
    rstr = r.compact_string if flex else r.string
    throttle = r.int32() if version >= 3 else None
    brokers = []
    for _ in range(r.array_len(flex)):
        node_id, host, port = r.int32(), rstr(), r.int32()
        rack = rstr() if version >= 1 else None
        if flex:
            r.tagged_fields()
        brokers.append(Broker(node_id, host, port, rack))
    cluster_id = rstr() if version >= 2 else None
    controller_id = r.int32() if version >= 1 else None
    topics = []
    for _ in range(r.array_len(flex)):
        err = r.int16()
        name = rstr()
        if version >= 10:
            r.uuid()
        internal = r.boolean() if version >= 1 else False
        nparts = r.array_len(flex)
        for _ in range(max(nparts, 0)):
            r.int16(); r.int32(); r.int32()
            if version >= 7:
                r.int32()
            for _ in range(3 if version >= 5 else 2):
                for _ in range(max(r.array_len(flex), 0)):
                    r.int32()
            if flex:
                r.tagged_fields()
        if version >= 8:
            r.int32()
        if flex:
            r.tagged_fields()
        topics.append(MetadataTopic(err, name, internal, nparts))
    if 8 <= version <= 10:
        r.int32()
    if flex:
        r.tagged_fields()
    r.expect_end(f"Metadata v{version}")
    return MetadataResponse(brokers, cluster_id, controller_id, topics, throttle)


@dataclass
class DescribeClusterResponse:
    error_code: int
    error_message: str | None
    cluster_id: str
    controller_id: int
    brokers: list[Broker]
    endpoint_type: int | None = None


def parse_describe_cluster(body: bytes, version: int) -> DescribeClusterResponse:
    """Body after the response header v1 (correlation id + tagged fields)."""
    r = Reader(body)
    r.int32()  # throttle
    err = r.int16()
    msg = r.compact_string()
    endpoint_type = r.int8() if version >= 1 else None
    cluster_id = r.compact_string()
    controller_id = r.int32()
    brokers = []
    for _ in range(r.array_len(True)):
        b = Broker(r.int32(), r.compact_string(), r.int32(), r.compact_string())
        r.tagged_fields()
        brokers.append(b)
    r.int32()  # cluster authorized operations
    r.tagged_fields()
    r.expect_end(f"DescribeCluster v{version}")
    return DescribeClusterResponse(err, msg, cluster_id, controller_id, brokers, endpoint_type)


def split_response_header(frame_body: bytes, flexible_header: bool) -> tuple[int, bytes]:
    """Return (correlation_id, body). Response header v1 adds tagged fields."""
    r = Reader(frame_body)
    cid = r.int32()
    if flexible_header:
        r.tagged_fields()
    return cid, frame_body[r.pos:]


# --------------------------------------------------------------------------
# Sockets
# --------------------------------------------------------------------------

def connect(port: int, host: str = "127.0.0.1", timeout: float = DEFAULT_TIMEOUT) -> socket.socket:
    s = socket.create_connection((host, port), timeout=timeout)
    s.settimeout(timeout)
    return s


def recv_exact(sock: socket.socket, n: int) -> bytes:
    """Read exactly n bytes; raises EOFError if the peer closes first and
    socket.timeout if nothing arrives within the socket timeout."""
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def read_frame(sock: socket.socket) -> bytes:
    """Read one size-prefixed frame and return its payload."""
    (size,) = struct.unpack(">i", recv_exact(sock, 4))
    if size < 4 or size > 64 * 1024 * 1024:
        raise DecodeError(f"implausible response size {size}")
    return recv_exact(sock, size)


def wait_closed(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Wait until the peer closes the connection; return anything it sent
    first. Raises AssertionError if it is still open after `timeout`."""
    deadline = time.monotonic() + timeout
    received = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(
                f"connection still open after {timeout}s (received {bytes(received[:64])!r})")
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return bytes(received)
        if not chunk:
            return bytes(received)
        received += chunk


def api_versions(port: int, version: int = 0, correlation_id: int = 1) -> ApiVersionsResponse:
    """One-shot ApiVersions round-trip on a fresh connection."""
    with connect(port) as s:
        s.sendall(api_versions_request(version, correlation_id))
        cid, body = split_response_header(read_frame(s), flexible_header=False)
        if cid != correlation_id:
            raise DecodeError(f"correlation id {cid} != {correlation_id}")
        return parse_api_versions(body, version)
