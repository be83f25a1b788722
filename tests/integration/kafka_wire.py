"""Minimal hand-rolled Kafka wire helpers for raw-socket tests.

Only what the integration tests need: request framing (header v1 and the
flexible header v2), ApiVersions, Metadata and DescribeCluster requests, and
decoders for their responses. Everything is written from the message schemas
in /work/shared/kafka-protocol/messages; no client library is involved, so
these tests can send deliberately broken bytes.

For the group APIs there is a schema-driven codec (SchemaConnection: any API,
any version, from the repository's schema files) and GroupMember, a
hand-driven consumer-group member; see "Schema-driven requests" below.
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


# --------------------------------------------------------------------------
# Schema-driven requests and responses
#
# For APIs with many fields (the group APIs), hand-writing every version's
# layout is error-prone. These helpers read the message layouts from the
# repository's compact schema files (src/protocol/schema/messages, imported
# from Apache Kafka's JSON definitions; format in that directory's README)
# and encode/decode plain dicts keyed by the schema's field names:
#
#     with SchemaConnection(port) as c:
#         resp = c.call("JoinGroup", 5, GroupId="g", SessionTimeoutMs=10000, ...)
#         resp["ErrorCode"], resp["Members"][0]["MemberId"]
#
# Missing request fields take their schema default; tagged fields are sent
# only when given a non-default value; decoding is strict (trailing bytes
# are an error) and returns every field present in that version.
# --------------------------------------------------------------------------

import json as _json
import re as _re
from pathlib import Path as _Path

SCHEMA_DIR = _Path(__file__).resolve().parents[2] / "src" / "protocol" / "schema" / "messages"

_PRIMITIVES = {"bool", "int8", "int16", "uint16", "int32", "uint32", "int64", "float64", "string", "bytes",
               "uuid", "records"}
_FIXED = {"bool": ">?", "int8": ">b", "int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I",
          "int64": ">q", "float64": ">d"}


class Versions:
    """A schema version range: N, N+, N-M or none."""

    def __init__(self, text: str):
        self.text = text
        if text == "none":
            self.lo, self.hi = 1, 0
        elif text.endswith("+"):
            self.lo, self.hi = int(text[:-1]), 1 << 15
        elif "-" in text:
            lo, hi = text.split("-")
            self.lo, self.hi = int(lo), int(hi)
        else:
            self.lo = self.hi = int(text)

    def __contains__(self, v: int) -> bool:
        return self.lo <= v <= self.hi

    def __repr__(self) -> str:
        return self.text


@dataclass
class SchemaField:
    name: str
    type: str
    versions: Versions
    nullable: Versions = field(default_factory=lambda: Versions("none"))
    tagged: Versions | None = None
    tag: int | None = None
    flexible: Versions | None = None  # per-field override of the message's flexible versions
    default: object = None
    has_default: bool = False
    fields: list = field(default_factory=list)  # inline struct fields


@dataclass
class SchemaMessage:
    kind: str
    name: str
    api_key: int | None
    versions: Versions
    flexible: Versions
    fields: list
    structs: dict


_TOKEN = _re.compile(r'(\w+=)?("(?:[^"\\]|\\.)*"|\S+)')
_schema_cache: dict[str, SchemaMessage] = {}


def _parse_default(raw: str, type_: str):
    if raw == "null":
        return None
    if type_ == "bool":
        return raw == "true"
    if raw.startswith('"'):
        return _json.loads(raw)
    if type_ == "float64":
        return float(raw)
    return int(raw, 0)


def _parse_field(tokens: list[tuple[str, str]]) -> SchemaField:
    (_, name), (_, type_), (_, versions) = tokens[:3]
    f = SchemaField(name=name, type=type_, versions=Versions(versions))
    for key, val in tokens[3:]:
        if key == "nullable=":
            f.nullable = Versions(val)
        elif key == "tagged=":
            f.tagged = Versions(val)
        elif key == "tag=":
            f.tag = int(val)
        elif key == "flexible=":
            f.flexible = Versions(val)
        elif key == "default=":
            f.default, f.has_default = _parse_default(val, type_), True
    return f


def schema(name: str) -> SchemaMessage:
    """Load (and cache) one compact schema file, e.g. "JoinGroupRequest"."""
    if name in _schema_cache:
        return _schema_cache[name]
    lines = [ln.rstrip("\n") for ln in (SCHEMA_DIR / f"{name}.schema").read_text().splitlines()]
    lines = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    head = dict((k[:-1], v) for k, v in ((m.group(1) or "", m.group(2)) for m in _TOKEN.finditer(lines[0])) if k)
    kind, msg_name = lines[0].split()[:2]
    msg = SchemaMessage(kind=kind, name=msg_name, api_key=int(head["apiKey"]) if "apiKey" in head else None,
                        versions=Versions(head["versions"]), flexible=Versions(head.get("flexible", "none")),
                        fields=[], structs={})
    # stack[i] is the field list that lines at indentation i+1 append to
    stack: list[list] = [msg.fields]
    for ln in lines[1:]:
        indent = (len(ln) - len(ln.lstrip(" "))) // 2
        tokens = [(m.group(1) or "", m.group(2)) for m in _TOKEN.finditer(ln.strip())]
        if indent == 0:
            assert tokens[0][1] == "struct", ln
            msg.structs[tokens[1][1]] = []
            stack = [msg.structs[tokens[1][1]]]
            continue
        del stack[indent:]
        f = _parse_field(tokens)
        stack[indent - 1].append(f)
        stack.append(f.fields)
    _schema_cache[name] = msg
    return msg


class _Codec:
    def __init__(self, msg: SchemaMessage, version: int):
        if version not in msg.versions:
            raise ValueError(f"{msg.name} has no version {version} (valid {msg.versions})")
        self.msg, self.version = msg, version
        self.flexible = version in msg.flexible

    def _struct_fields(self, f: SchemaField) -> list:
        if f.fields:
            return f.fields
        base = f.type[2:] if f.type.startswith("[]") else f.type
        return self.msg.structs[base]

    def _flex(self, f: SchemaField) -> bool:
        if f.flexible is not None:
            return self.version in f.flexible
        return self.flexible

    @staticmethod
    def _default(f: SchemaField):
        if f.has_default:
            return f.default
        if f.type.startswith("[]"):
            return []
        if f.type in ("string",):
            return ""
        if f.type in ("bytes", "records"):
            return b""
        if f.type == "uuid":
            return b"\x00" * 16
        if f.type == "bool":
            return False
        if f.type in _FIXED:
            return 0
        return None  # struct: filled in by encode/decode

    # ---- encoding
    def encode_fields(self, fields: list, values: dict) -> bytes:
        unknown = set(values) - {f.name for f in fields}
        if unknown:
            raise KeyError(f"{self.msg.name} v{self.version}: unknown fields {sorted(unknown)}")
        out = bytearray()
        tagged = []
        for f in fields:
            if self.version not in f.versions:
                continue
            val = values.get(f.name, self._default(f))
            if f.tagged is not None and self.version in f.tagged:
                if self.flexible and f.name in values and val != self._default(f):
                    tagged.append((f.tag, self.encode_value(f, f.type, val)))
                continue
            out += self.encode_value(f, f.type, val)
        if self.flexible:
            out += uvarint(len(tagged))
            for tag, data in sorted(tagged):
                out += uvarint(tag) + uvarint(len(data)) + data
        return bytes(out)

    def encode_value(self, f: SchemaField, type_: str, val) -> bytes:
        flex = self._flex(f)
        if val is None and type_ not in ("uuid",) and not type_.startswith("[]") and type_ in _PRIMITIVES \
                and self.version not in f.nullable:
            raise ValueError(f"{self.msg.name}.{f.name} is not nullable in v{self.version}")
        if type_.startswith("[]"):
            if val is None:
                return uvarint(0) if flex else int32(-1)
            out = uvarint(len(val) + 1) if flex else int32(len(val))
            elem = type_[2:]
            for item in val:
                if elem in _PRIMITIVES:
                    out += self.encode_value(f, elem, item)
                else:
                    out += self.encode_fields(self._struct_fields(f), item)
            return out
        if type_ in _FIXED:
            return struct.pack(_FIXED[type_], val)
        if type_ == "string":
            if flex:
                return compact_string(val)
            return string(val)
        if type_ in ("bytes", "records"):
            if val is None:
                return uvarint(0) if flex else int32(-1)
            return (uvarint(len(val) + 1) if flex else int32(len(val))) + bytes(val)
        if type_ == "uuid":
            return bytes(val or b"\x00" * 16)
        # a single (non-array) struct
        return self.encode_fields(self._struct_fields(f), val or {})

    # ---- decoding
    def decode_fields(self, r: Reader, fields: list) -> dict:
        out = {}
        by_tag = {}
        for f in fields:
            if self.version not in f.versions:
                continue
            if f.tagged is not None and self.version in f.tagged:
                by_tag[f.tag] = f
                out[f.name] = self._default(f)
                continue
            out[f.name] = self.decode_value(r, f, f.type)
        if self.flexible:
            for _ in range(r.uvarint()):
                tag, size = r.uvarint(), r.uvarint()
                data = r._take(size)
                if tag in by_tag:
                    sub = Reader(data)
                    out[by_tag[tag].name] = self.decode_value(sub, by_tag[tag], by_tag[tag].type)
                    sub.expect_end(f"{self.msg.name}.{by_tag[tag].name}")
                else:
                    out.setdefault("_unknown_tags", {})[tag] = data
        return out

    def decode_value(self, r: Reader, f: SchemaField, type_: str):
        flex = self._flex(f)
        if type_.startswith("[]"):
            n = r.array_len(flex)
            if n < 0:
                return None
            elem = type_[2:]
            if elem in _PRIMITIVES:
                return [self.decode_value(r, f, elem) for _ in range(n)]
            return [self.decode_fields(r, self._struct_fields(f)) for _ in range(n)]
        if type_ in _FIXED:
            size = struct.calcsize(_FIXED[type_])
            return struct.unpack(_FIXED[type_], r._take(size))[0]
        if type_ == "string":
            return r.compact_string() if flex else r.string()
        if type_ in ("bytes", "records"):
            n = r.uvarint() - 1 if flex else r.int32()
            return None if n < 0 else r._take(n)
        if type_ == "uuid":
            return r.uuid()
        return self.decode_fields(r, self._struct_fields(f))


def encode_message(name: str, version: int, values: dict) -> bytes:
    """Encode a message body (no header) from a dict of schema field names."""
    c = _Codec(schema(name), version)
    return c.encode_fields(c.msg.fields, values)


def decode_message(name: str, version: int, data: bytes) -> dict:
    """Decode a whole message body; trailing bytes are an error."""
    c = _Codec(schema(name), version)
    r = Reader(data)
    out = c.decode_fields(r, c.msg.fields)
    r.expect_end(f"{name} v{version}")
    return out


def schema_request(api: str, version: int, correlation_id: int, values: dict,
                   client_id: str | None = "samsa-itest") -> bytes:
    """A framed request for API `api` ("JoinGroup", ...) at `version`."""
    msg = schema(f"{api}Request")
    flexible = version in msg.flexible
    return frame(request_header(msg.api_key, version, correlation_id, client_id, flexible=flexible)
                 + encode_message(f"{api}Request", version, values))


def schema_response(api: str, version: int, payload: bytes) -> tuple[int, dict]:
    """(correlation id, decoded body) of one response frame payload."""
    flexible = version in schema(f"{api}Response").flexible and api != "ApiVersions"
    cid, body = split_response_header(payload, flexible)
    return cid, decode_message(f"{api}Response", version, body)


class SchemaConnection:
    """One client connection speaking schema-encoded requests. send()/recv()
    allow several requests in flight (responses come back in order), so a
    test can park a JoinGroup on one connection while another member acts."""

    def __init__(self, port: int, client_id: str | None = "samsa-itest", timeout: float = DEFAULT_TIMEOUT):
        self.sock = connect(port, timeout=timeout)
        self.client_id = client_id
        self._next_cid = 1
        self._pending: list[tuple[int, str, int]] = []

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, api: str, version: int, **values) -> int:
        cid = self._next_cid
        self._next_cid += 1
        self.sock.sendall(schema_request(api, version, cid, values, self.client_id))
        self._pending.append((cid, api, version))
        return cid

    def ready(self, timeout: float) -> bool:
        """Whether a response has started to arrive within `timeout` seconds."""
        import select
        return bool(select.select([self.sock], [], [], timeout)[0])

    def recv(self, timeout: float | None = None) -> dict:
        """The response to the oldest request in flight."""
        cid, api, version = self._pending.pop(0)
        if timeout is not None:
            self.sock.settimeout(timeout)
        try:
            got_cid, body = schema_response(api, version, read_frame(self.sock))
        finally:
            if timeout is not None:
                self.sock.settimeout(DEFAULT_TIMEOUT)
        if got_cid != cid:
            raise DecodeError(f"{api}: correlation id {got_cid} != {cid}")
        return body

    def call(self, api: str, version: int, **values) -> dict:
        self.send(api, version, **values)
        return self.recv()


def max_version(port: int, api: str, cap: int | None = None) -> int | None:
    """The highest version the broker advertises for `api` (capped), or
    None when it does not advertise the API."""
    key = schema(f"{api}Request").api_key
    rng = api_versions(port, version=3).api_keys.get(key)
    if rng is None:
        return None
    hi = rng[1] if cap is None else min(rng[1], cap)
    return hi if hi >= rng[0] else None


def consumer_subscription(topics: list[str], user_data: bytes | None = None, version: int = 0) -> bytes:
    """ConsumerProtocolSubscription bytes: int16 version + body."""
    return int16(version) + encode_message("ConsumerProtocolSubscription", version,
                                           {"Topics": topics, "UserData": user_data})


def consumer_assignment(partitions: dict[str, list[int]], user_data: bytes | None = None,
                        version: int = 0) -> bytes:
    """ConsumerProtocolAssignment bytes: int16 version + body."""
    return int16(version) + encode_message(
        "ConsumerProtocolAssignment", version,
        {"AssignedPartitions": [{"Topic": t, "Partitions": ps} for t, ps in partitions.items()],
         "UserData": user_data})


def parse_consumer_assignment(data: bytes) -> dict[str, list[int]]:
    r = Reader(data)
    version = r.int16()
    body = decode_message("ConsumerProtocolAssignment", min(version, 3), data[2:])
    return {tp["Topic"]: tp["Partitions"] for tp in body["AssignedPartitions"]}


# Kafka error codes the group tests use.
ERR_COORDINATOR_NOT_AVAILABLE = 15
ERR_NOT_COORDINATOR = 16
ERR_ILLEGAL_GENERATION = 22
ERR_INCONSISTENT_GROUP_PROTOCOL = 23
ERR_INVALID_GROUP_ID = 24
ERR_UNKNOWN_MEMBER_ID = 25
ERR_INVALID_SESSION_TIMEOUT = 26
ERR_REBALANCE_IN_PROGRESS = 27
ERR_NON_EMPTY_GROUP = 68
ERR_GROUP_ID_NOT_FOUND = 69
ERR_MEMBER_ID_REQUIRED = 79
ERR_GROUP_MAX_SIZE_REACHED = 81
ERR_FENCED_INSTANCE_ID = 82

ERR_COORDINATOR_LOAD_IN_PROGRESS = 14
_COORDINATOR_RETRIABLE = (ERR_COORDINATOR_LOAD_IN_PROGRESS, ERR_COORDINATOR_NOT_AVAILABLE, ERR_NOT_COORDINATOR)


def find_coordinator(conn: SchemaConnection, group: str, version: int = 3) -> dict:
    """FindCoordinator for one group; returns {ErrorCode, NodeId, Host, Port}
    whatever the version's layout."""
    if version >= 4:
        resp = conn.call("FindCoordinator", version, KeyType=0, CoordinatorKeys=[group])
        c = resp["Coordinators"][0]
        return {"ErrorCode": c["ErrorCode"], "NodeId": c["NodeId"], "Host": c["Host"], "Port": c["Port"]}
    return conn.call("FindCoordinator", version, Key=group)


def wait_group_coordinator(port: int, group: str, timeout: float = 20.0) -> dict:
    """Retry FindCoordinator (the first one creates __consumer_offsets) and
    then OffsetFetch until the coordinator has loaded the group's partition.
    Returns the FindCoordinator answer."""
    deadline = time.monotonic() + timeout
    last = None
    with SchemaConnection(port) as c:
        while time.monotonic() < deadline:
            last = find_coordinator(c, group)
            if last["ErrorCode"] == ERR_NONE:
                err, _ = offset_fetch(c, group, None)
                if err not in _COORDINATOR_RETRIABLE:
                    return last
                last = {"ErrorCode": err}
            time.sleep(0.1)
    raise AssertionError(f"no usable group coordinator for {group!r} within {timeout}s: {last}")


def offset_fetch(conn: SchemaConnection, group: str, topics: dict[str, list[int]] | None,
                 version: int = 8, require_stable: bool = False) -> tuple[int, dict]:
    """(group error, {(topic, partition): (offset, metadata, error)}).
    topics=None asks for every committed partition (v2+)."""
    tlist = None if topics is None else [{"Name": t, "PartitionIndexes": ps} for t, ps in topics.items()]
    if version >= 8:
        resp = conn.call("OffsetFetch", version, RequireStable=require_stable,
                         Groups=[{"GroupId": group, "Topics": tlist}])
        g = resp["Groups"][0]
        assert g["GroupId"] == group
        gerr, rtopics = g["ErrorCode"], g["Topics"]
    else:
        values = {"GroupId": group, "Topics": tlist}
        if version >= 7:
            values["RequireStable"] = require_stable
        resp = conn.call("OffsetFetch", version, **values)
        gerr, rtopics = resp.get("ErrorCode", 0), resp["Topics"]
    out = {}
    for t in rtopics:
        for p in t["Partitions"]:
            out[(t["Name"], p["PartitionIndex"])] = (p["CommittedOffset"], p["Metadata"], p["ErrorCode"])
    return gerr, out


def describe_group(conn: SchemaConnection, group: str, version: int = 5) -> dict:
    resp = conn.call("DescribeGroups", version, Groups=[group])
    assert len(resp["Groups"]) == 1, resp
    return resp["Groups"][0]


def list_groups(conn: SchemaConnection, version: int = 4, states: list[str] | None = None) -> tuple[int, dict]:
    """(error, {group id: group dict})."""
    values = {"StatesFilter": states or []} if version >= 4 else {}
    resp = conn.call("ListGroups", version, **values)
    return resp["ErrorCode"], {g["GroupId"]: g for g in resp["Groups"]}


class GroupMember:
    """One classic-protocol group member on its own connection, driven by
    hand: join()/sync()/heartbeat()/commit()/leave() send exactly one request
    each (join() answers MEMBER_ID_REQUIRED once, as clients do), and
    send_join()/recv_join() split a JoinGroup that the coordinator parks
    until the rebalance completes. Keyword overrides replace request fields
    (schema names), e.g. member.heartbeat(MemberId="bogus")."""

    VERSIONS = {"JoinGroup": 9, "SyncGroup": 5, "Heartbeat": 4, "LeaveGroup": 5, "OffsetCommit": 9}

    def __init__(self, port: int, group: str, topics=("t",), instance_id: str | None = None,
                 session_timeout_ms: int = 30000, rebalance_timeout_ms: int = 30000,
                 protocol_type: str = "consumer", protocols: list | None = None,
                 client_id: str = "samsa-itest", versions: dict | None = None):
        self.conn = SchemaConnection(port, client_id)
        self.group = group
        self.instance_id = instance_id
        self.session_timeout_ms = session_timeout_ms
        self.rebalance_timeout_ms = rebalance_timeout_ms
        self.protocol_type = protocol_type
        self.subscription = consumer_subscription(list(topics))
        self.protocols = protocols if protocols is not None else [{"Name": "range", "Metadata": self.subscription}]
        self.v = dict(self.VERSIONS, **(versions or {}))
        self.member_id = ""
        self.generation = -1
        self.leader = None
        self.protocol_name = None
        self.members: list = []
        self.assignment: bytes | None = None

    def close(self) -> None:
        self.conn.close()

    @property
    def is_leader(self) -> bool:
        return self.member_id != "" and self.leader == self.member_id

    # ---- JoinGroup
    def send_join(self, **over) -> None:
        values = {"GroupId": self.group, "SessionTimeoutMs": self.session_timeout_ms,
                  "RebalanceTimeoutMs": self.rebalance_timeout_ms, "MemberId": self.member_id,
                  "GroupInstanceId": self.instance_id, "ProtocolType": self.protocol_type,
                  "Protocols": self.protocols}
        values.update(over)
        v = self.v["JoinGroup"]
        if v < 5:
            values.pop("GroupInstanceId")
        if v < 1:
            values.pop("RebalanceTimeoutMs")
        self.conn.send("JoinGroup", v, **values)

    def recv_join(self, timeout: float | None = None, update: bool = True) -> dict:
        resp = self.conn.recv(timeout)
        if update and resp["ErrorCode"] == ERR_MEMBER_ID_REQUIRED:
            self.member_id = resp["MemberId"]
        elif update and resp["ErrorCode"] == ERR_NONE:
            self.member_id = resp["MemberId"]
            self.generation = resp["GenerationId"]
            self.leader = resp["Leader"]
            self.protocol_name = resp["ProtocolName"]
            self.members = resp["Members"]
        return resp

    def join(self, timeout: float | None = None, **over) -> dict:
        """JoinGroup; on MEMBER_ID_REQUIRED rejoin once with the given id
        (unless the caller overrode MemberId)."""
        self.send_join(**over)
        resp = self.recv_join(timeout, update="MemberId" not in over)
        if resp["ErrorCode"] == ERR_MEMBER_ID_REQUIRED and "MemberId" not in over:
            self.send_join(**over)
            resp = self.recv_join(timeout)
        return resp

    # ---- SyncGroup
    def send_sync(self, assignments: dict[str, bytes] | None = None, **over) -> None:
        values = {"GroupId": self.group, "GenerationId": self.generation, "MemberId": self.member_id,
                  "GroupInstanceId": self.instance_id, "ProtocolType": self.protocol_type,
                  "ProtocolName": self.protocol_name,
                  "Assignments": [{"MemberId": m, "Assignment": a} for m, a in (assignments or {}).items()]}
        values.update(over)
        v = self.v["SyncGroup"]
        if v < 3:
            values.pop("GroupInstanceId")
        if v < 5:
            values.pop("ProtocolType")
            values.pop("ProtocolName")
        self.conn.send("SyncGroup", v, **values)

    def recv_sync(self, timeout: float | None = None) -> dict:
        resp = self.conn.recv(timeout)
        if resp["ErrorCode"] == ERR_NONE:
            self.assignment = resp["Assignment"]
        return resp

    def sync(self, assignments: dict[str, bytes] | None = None, timeout: float | None = None, **over) -> dict:
        self.send_sync(assignments, **over)
        return self.recv_sync(timeout)

    # ---- the rest
    def heartbeat(self, **over) -> int:
        values = {"GroupId": self.group, "GenerationId": self.generation, "MemberId": self.member_id,
                  "GroupInstanceId": self.instance_id}
        values.update(over)
        if self.v["Heartbeat"] < 3:
            values.pop("GroupInstanceId")
        return self.conn.call("Heartbeat", self.v["Heartbeat"], **values)["ErrorCode"]

    def commit(self, offsets: dict[tuple[str, int], int], metadata: str | None = "", **over) -> dict:
        """OffsetCommit; returns {(topic, partition): error code}."""
        topics: dict[str, list] = {}
        for (t, p), off in offsets.items():
            topics.setdefault(t, []).append({"PartitionIndex": p, "CommittedOffset": off,
                                             "CommittedMetadata": metadata})
        v = over.pop("version", self.v["OffsetCommit"])
        values = {"GroupId": self.group, "GenerationIdOrMemberEpoch": self.generation, "MemberId": self.member_id,
                  "GroupInstanceId": self.instance_id,
                  "Topics": [{"Name": t, "Partitions": ps} for t, ps in topics.items()]}
        values.update(over)
        if v < 7:
            values.pop("GroupInstanceId")
        resp = self.conn.call("OffsetCommit", v, **values)
        return {(t["Name"], p["PartitionIndex"]): p["ErrorCode"] for t in resp["Topics"] for p in t["Partitions"]}

    def leave(self, **over) -> dict:
        v = self.v["LeaveGroup"]
        if v >= 3:
            values = {"GroupId": self.group,
                      "Members": [{"MemberId": over.pop("MemberId", self.member_id),
                                   "GroupInstanceId": over.pop("GroupInstanceId", self.instance_id)}]}
        else:
            values = {"GroupId": self.group, "MemberId": self.member_id}
        values.update(over)
        return self.conn.call("LeaveGroup", v, **values)


def wait_group_state(conn: SchemaConnection, group: str, state: str, timeout: float = 5.0) -> dict:
    """DescribeGroups until the group is in `state`; returns the description."""
    deadline = time.monotonic() + timeout
    while True:
        d = describe_group(conn, group)
        if d["GroupState"] == state:
            return d
        if time.monotonic() > deadline:
            raise AssertionError(f"group {group} is {d['GroupState']}, not {state}, after {timeout}s: {d}")
        time.sleep(0.05)


def stored_batches(port: int, topic: str, partition: int) -> list[tuple[int, int, int]]:
    """(base offset, codec from attributes & 7, record count) of every batch
    in the partition, read with raw Fetch v11 requests (v10+ may carry zstd)."""
    version = max_version(port, "Fetch", cap=11)
    assert version is not None and version >= 10, f"broker serves Fetch up to v{version}, need v10+"
    out, offset, high = [], 0, None
    deadline = time.monotonic() + 20
    with SchemaConnection(port) as conn:
        while high is None or offset < high:
            assert time.monotonic() < deadline, f"raw fetch of {topic}-{partition} stuck at {offset} (hw {high})"
            resp = conn.call("Fetch", version, ReplicaId=-1, MaxWaitMs=0, MinBytes=0, MaxBytes=8 << 20,
                             IsolationLevel=0, SessionId=0, SessionEpoch=-1,
                             Topics=[{"Topic": topic, "Partitions": [{"Partition": partition, "FetchOffset": offset,
                                                                      "PartitionMaxBytes": 8 << 20}]}],
                             ForgottenTopicsData=[], RackId="")
            assert resp["ErrorCode"] == 0, resp["ErrorCode"]
            pd = resp["Responses"][0]["Partitions"][0]
            assert pd["ErrorCode"] == 0, f"fetch {topic}-{partition}@{offset}: error {pd['ErrorCode']}"
            high = pd["HighWatermark"]
            data = pd["Records"] or b""
            pos, before = 0, offset
            while pos + 61 <= len(data):
                base, length = struct.unpack_from(">qi", data, pos)
                if pos + 12 + length > len(data):
                    break  # a partial batch at the end of the response
                magic = data[pos + 16]
                assert magic == 2, f"{topic}-{partition}@{base}: magic {magic}"
                attributes, last_delta = struct.unpack_from(">hi", data, pos + 21)
                (count,) = struct.unpack_from(">i", data, pos + 57)
                out.append((base, attributes & 7, count))
                offset = base + last_delta + 1
                pos += 12 + length
            assert offset > before or offset >= high, f"raw fetch of {topic}-{partition}@{offset} made no progress"
    return out
