"""`samsa storage format` with the KIP-853 quorum flags, as `kafka-storage.sh
format` of Kafka 4.x: --standalone, --initial-controllers and
--no-initial-controllers, which combinations are refused, and what is
written (meta.properties with the voter's directory.id, the bootstrap
snapshot __cluster_metadata-0/00000000000000000000-0000000000.checkpoint
with KRaftVersionRecord and VotersRecord)."""

from __future__ import annotations

import base64
import struct
from pathlib import Path

import pytest

import kafka_wire as kw
from conftest import random_uuid, run

BOOTSTRAP_SNAPSHOT = Path("__cluster_metadata-0") / "00000000000000000000-0000000000.checkpoint"
THREE = ("1@127.0.0.1:19093:JEXY6aqzQY-32P5TStzaFg,2@127.0.0.1:29093:MvDxzVmcRsaTz33bUuRU6A,"
         "3@[::1]:39093:07R5amHmR32VDA6jHkGbTA")


def write_config(tmp_path: Path, roles: str = "broker,controller", node_id: int = 1,
                 quorum: str = "controller.quorum.bootstrap.servers=127.0.0.1:19093") -> Path:
    listeners = {"broker": "PLAINTEXT://127.0.0.1:19092",
                 "controller": "CONTROLLER://127.0.0.1:19093",
                 "broker,controller": "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"}[roles]
    path = tmp_path / f"node{node_id}.properties"
    path.write_text("\n".join([
        f"process.roles={roles}", f"node.id={node_id}", quorum, f"listeners={listeners}",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        f"log.dirs={tmp_path / f'data{node_id}'}", ""]))
    return path


def fmt(samsa, config: Path, *flags: str, cluster_id: str | None = None):
    return run([samsa, "storage", "format", "-t", cluster_id or random_uuid(), "-c", config, *flags])


def meta_properties(data_dir: Path) -> dict:
    return dict(line.split("=", 1) for line in (data_dir / "meta.properties").read_text().splitlines()
                if line and not line.startswith("#"))


def snapshot_records(path: Path) -> list[tuple[int, bytes]]:
    """(control type, value) of every control record in a snapshot file."""
    data = path.read_bytes()
    out = []
    pos = 0
    while pos < len(data):
        base_offset, length = struct.unpack_from(">qi", data, pos)
        batch = data[pos:pos + 12 + length]
        pos += 12 + length
        attributes = struct.unpack_from(">h", batch, 21)[0]
        assert attributes & 0x20, "every batch of the bootstrap snapshot is a control batch"
        count = struct.unpack_from(">i", batch, 57)[0]
        r = kw.Reader(batch[61:])
        for _ in range(count):
            zigzag(r)  # record length
            r._take(1)  # attributes
            zigzag(r)  # timestamp delta
            zigzag(r)  # offset delta
            key = r._take(zigzag(r))
            value = r._take(zigzag(r))
            assert zigzag(r) == 0  # headers
            out.append((struct.unpack(">hh", key)[1], value))
    return out


def zigzag(r: kw.Reader) -> int:
    v = r.uvarint()
    return (v >> 1) ^ -(v & 1)


def base64_uuid(raw: bytes) -> str:
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


def voters_in(path: Path) -> list[tuple[int, str, list]]:
    """(id, directory id, [(listener, host, port)]) from the VotersRecord."""
    for ctype, value in snapshot_records(path):
        if ctype == 6:
            rec = kw.decode_message("VotersRecord", 0, value)
            return [(v["VoterId"], base64_uuid(v["VoterDirectoryId"]), [(e["Name"], e["Host"], e["Port"]) for e in v["Endpoints"]]) for v in rec["Voters"]]
    raise AssertionError("no VotersRecord in the bootstrap snapshot")


def test_standalone_writes_this_controller_as_the_only_voter(tmp_path, samsa):
    config = write_config(tmp_path, node_id=5)
    res = fmt(samsa, config, "--standalone")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "dynamic metadata voter directory" in res.stdout, res.stdout
    data = tmp_path / "data5"
    snap = data / BOOTSTRAP_SNAPSHOT
    types = [t for t, _ in snapshot_records(snap)]
    assert types == [3, 5, 6, 4], types  # header, kraft.version, voters, footer
    kraft = kw.decode_message("KRaftVersionRecord", 0, snapshot_records(snap)[1][1])
    assert kraft["KRaftVersion"] == 1
    voters = voters_in(snap)
    assert len(voters) == 1 and voters[0][0] == 5, voters
    assert voters[0][2] == [("CONTROLLER", "127.0.0.1", 19093)], voters
    # The voter's directory id is the metadata dir's directory.id.
    assert voters[0][1] == meta_properties(data)["directory.id"]


def test_initial_controllers_same_voters_on_every_node(tmp_path, samsa):
    cluster_id = random_uuid()
    seen = []
    for node_id in (1, 2, 3):
        config = write_config(tmp_path, roles="controller", node_id=node_id)
        res = fmt(samsa, config, "--initial-controllers", THREE, cluster_id=cluster_id)
        assert res.returncode == 0, res.stdout + res.stderr
        data = tmp_path / f"data{node_id}"
        voters = voters_in(data / BOOTSTRAP_SNAPSHOT)
        assert voters == [
            (1, "JEXY6aqzQY-32P5TStzaFg", [("CONTROLLER", "127.0.0.1", 19093)]),
            (2, "MvDxzVmcRsaTz33bUuRU6A", [("CONTROLLER", "127.0.0.1", 29093)]),
            (3, "07R5amHmR32VDA6jHkGbTA", [("CONTROLLER", "::1", 39093)])]
        seen.append(meta_properties(data)["directory.id"])
    assert seen == ["JEXY6aqzQY-32P5TStzaFg", "MvDxzVmcRsaTz33bUuRU6A", "07R5amHmR32VDA6jHkGbTA"]


def test_no_initial_controllers_and_broker_only_nodes_write_no_voters(tmp_path, samsa):
    config = write_config(tmp_path, roles="controller", node_id=4)
    res = fmt(samsa, config, "--no-initial-controllers")
    assert res.returncode == 0, res.stdout + res.stderr
    assert (tmp_path / "data4" / "meta.properties").is_file()
    assert not (tmp_path / "data4" / BOOTSTRAP_SNAPSHOT).exists()
    config = write_config(tmp_path, roles="broker", node_id=6)
    res = fmt(samsa, config)  # a broker needs none of the flags
    assert res.returncode == 0, res.stdout + res.stderr
    assert not (tmp_path / "data6" / BOOTSTRAP_SNAPSHOT).exists()


def test_static_voters_still_work_without_flags(tmp_path, samsa):
    config = write_config(tmp_path, quorum="controller.quorum.voters=1@127.0.0.1:19093")
    res = fmt(samsa, config)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "kraft.version 0" in res.stdout, res.stdout
    assert not (tmp_path / "data1" / BOOTSTRAP_SNAPSHOT).exists()


@pytest.mark.parametrize("roles,quorum,flags,message", [
    ("controller", "controller.quorum.bootstrap.servers=127.0.0.1:19093", [],
     "Because controller.quorum.voters is not set on this controller, you must specify one of the following: "
     "--standalone, --initial-controllers, or --no-initial-controllers."),
    ("broker", "controller.quorum.bootstrap.servers=127.0.0.1:19093", ["--standalone"],
     "You can only use --standalone on a controller."),
    ("broker,controller", "controller.quorum.voters=1@127.0.0.1:19093", ["--standalone"],
     "You cannot specify controller.quorum.voters and format the node with --initial-controllers or "
     "--standalone."),
    ("broker,controller", "controller.quorum.voters=1@127.0.0.1:19093", ["--initial-controllers", THREE],
     "You cannot specify controller.quorum.voters"),
    ("controller", "controller.quorum.bootstrap.servers=127.0.0.1:19093",
     ["--initial-controllers", "1@127.0.0.1:19093"], "expected id@host:port:directoryId"),
    ("controller", "controller.quorum.bootstrap.servers=127.0.0.1:19093", ["--initial-controllers", ""],
     "lists no controllers"),
    ("controller", "controller.quorum.bootstrap.servers=127.0.0.1:19093", ["--standalone", "--no-initial-controllers"],
     "excludes"),
    ("controller", "controller.quorum.bootstrap.servers=127.0.0.1:19093",
     ["--standalone", "--initial-controllers", THREE], "excludes"),
])
def test_refused_combinations(tmp_path, samsa, roles, quorum, flags, message):
    config = write_config(tmp_path, roles=roles, quorum=quorum)
    res = fmt(samsa, config, *flags)
    assert res.returncode != 0
    assert message in res.stdout + res.stderr, res.stdout + res.stderr
    assert not (tmp_path / "data1" / "meta.properties").exists()
