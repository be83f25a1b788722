#!/usr/bin/env python3
"""Import Apache Kafka's JSON message schemas into Samsa's compact schema files.

Run by hand when the reference schemas change:

    tools/kafka_schema_import.py --src /work/shared/kafka-protocol \
        --out src/protocol/schema            # (re)write the compact files
    tools/kafka_schema_import.py --check ... # exit 1 if they are out of date

Only wire-relevant facts are kept (names, types, version ranges, nullability,
tags, defaults, ignorable, mapKey, listeners); documentation strings and
comments are dropped. The format is described in src/protocol/schema/README.md.
"""
import argparse
import json
import os
import sys

SUBDIRS = ("messages", "metadata", "coordinator")
# Versions Apache Kafka added after the reference snapshot
# (/work/shared/kafka-protocol/README.md): name -> (new maximum version,
# fields added in it as (path of struct field names, field), note).
# Fields open-ended at the old maximum ("N+") extend to the new one.
# - Produce v12, TxnOffsetCommit v5 (Kafka 4.0) change no field: a client
#   sends them to say it runs transactions v2 (KIP-890 part 2), so that the
#   broker adds the partition (Produce) or the offsets partition
#   (TxnOffsetCommit) to the transaction itself.
# - Vote v2 (KIP-996, Kafka 4.0) adds PreVote; Kafka also renamed
#   Candidate* to Replica* there, we keep the v0-1 names (same wire).
_TV2 = "Kafka 4.0, same fields"
_PREVOTE = {"name": "PreVote", "type": "bool", "versions": "2+", "default": "false"}
VERSION_EXTENSIONS = {
    "ProduceRequest": (12, [], _TV2), "ProduceResponse": (12, [], _TV2),
    "TxnOffsetCommitRequest": (5, [], _TV2), "TxnOffsetCommitResponse": (5, [], _TV2),
    "VoteRequest": (2, [(("Topics", "Partitions"), _PREVOTE)], "KIP-996 PreVote"),
    "VoteResponse": (2, [], "KIP-996"),
}

PRIMITIVES = {"bool", "int8", "int16", "uint16", "int32", "uint32", "int64",
              "float64", "string", "bytes", "uuid", "records"}


def strip_line_comments(text):
    """Remove // comments that are outside JSON string literals."""
    out = []
    for line in text.split("\n"):
        in_str = False
        escaped = False
        cut = len(line)
        for i, c in enumerate(line):
            if in_str:
                if escaped:
                    escaped = False
                elif c == "\\":
                    escaped = True
                elif c == '"':
                    in_str = False
            elif c == '"':
                in_str = True
            elif c == "/" and line.startswith("//", i):
                cut = i
                break
        out.append(line[:cut])
    return "\n".join(out)


def check_versions(text, what):
    if text == "none":
        return text
    t = text[:-1] if text.endswith("+") else text
    parts = t.split("-")
    if len(parts) > 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"{what}: bad version range {text!r}")
    return text


def norm_default(field):
    """Normalise a schema default to a single token."""
    d = field["default"]
    base = field["type"]
    if d is None or (isinstance(d, str) and d.lower() in ("null", "none")):
        return "null"
    if isinstance(d, bool):
        return "true" if d else "false"
    if isinstance(d, (int, float)):
        return str(d)
    if base == "bool":
        if d.lower() not in ("true", "false"):
            raise ValueError(f"bad bool default {d!r}")
        return d.lower()
    if base == "string":
        tok = json.dumps(d)
        if any(ch.isspace() for ch in tok):
            raise ValueError(f"string default with whitespace: {d!r}")
        return tok
    if base in PRIMITIVES:
        int(d, 0)  # numbers: decimal, negative or 0x-hex
        return d
    raise ValueError(f"unsupported default {d!r} for type {base}")


def field_line(f, indent):
    name, typ = f["name"], f["type"]
    tagged = f.get("taggedVersions")
    # A tagged-only field may omit "versions"; it then exists exactly in its
    # taggedVersions.
    versions = f.get("versions", tagged)
    if versions is None:
        raise ValueError(f"field {name} has no versions")
    parts = [name, typ, check_versions(versions, name)]
    if "nullableVersions" in f:
        parts.append("nullable=" + check_versions(f["nullableVersions"], name))
    if tagged is not None:
        parts.append("tagged=" + check_versions(tagged, name))
        parts.append("tag=" + str(int(f["tag"])))
    if "flexibleVersions" in f:
        parts.append("flexible=" + check_versions(f["flexibleVersions"], name))
    if "default" in f:
        parts.append("default=" + norm_default(f))
    if f.get("ignorable"):
        parts.append("ignorable")
    if f.get("mapKey"):
        parts.append("mapKey")
    lines = ["  " * indent + " ".join(parts)]
    for sub in f.get("fields", []):
        lines.extend(field_line(sub, indent + 1))
    return lines


def extend_versions(doc):
    """Apply VERSION_EXTENSIONS[name], if listed; returns a note for the header comment."""
    ext = VERSION_EXTENSIONS.get(doc["name"])
    if ext is None:
        return ""
    new_max, added, note = ext
    low, _, high = doc["validVersions"].partition("-")
    if int(high or low) >= new_max:
        raise ValueError(f"{doc['name']}: the reference already has version {new_max}: drop the extension")
    doc["validVersions"] = f"{low}-{new_max}"
    for path, field in added:
        fields = doc["fields"]
        for name in path:
            fields = next(f for f in fields if f["name"] == name)["fields"]
        fields.append(dict(field))
    return f"; v{new_max} added ({note})"


def convert(doc, source_name):
    extended = extend_versions(doc)
    header = [doc["type"], doc["name"]]
    if "apiKey" in doc:
        header.append(f"apiKey={int(doc['apiKey'])}")
    header.append("versions=" + check_versions(doc["validVersions"], doc["name"]))
    header.append("flexible=" + check_versions(doc["flexibleVersions"], doc["name"]))
    if "deprecatedVersions" in doc:
        header.append("deprecated=" + check_versions(doc["deprecatedVersions"], doc["name"]))
    if doc.get("latestVersionUnstable"):
        header.append("unstable")
    if "listeners" in doc:
        header.append("listeners=" + ",".join(doc["listeners"]))
    lines = [f"# {doc['name']}: imported from Kafka's {source_name} by tools/kafka_schema_import.py{extended}",
             " ".join(header)]
    for f in doc.get("fields", []):
        lines.extend(field_line(f, 1))
    for cs in doc.get("commonStructs", []):
        lines.append(f"struct {cs['name']} {check_versions(cs['versions'], cs['name'])}")
        for f in cs["fields"]:
            lines.extend(field_line(f, 1))
    return "\n".join(lines) + "\n"


def build(src):
    """Return {relative output path: text}."""
    out = {}
    for sub in SUBDIRS:
        d = os.path.join(src, sub)
        for fn in sorted(os.listdir(d)):
            if not fn.endswith(".json"):
                continue
            with open(os.path.join(d, fn), encoding="utf-8") as fh:
                doc = json.loads(strip_line_comments(fh.read()))
            rel = os.path.join(sub, fn[:-5] + ".schema")
            out[rel] = convert(doc, f"{sub}/{fn}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default="/work/shared/kafka-protocol")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "src", "protocol", "schema"))
    ap.add_argument("--check", action="store_true", help="only verify that the output is up to date")
    args = ap.parse_args()

    files = build(args.src)
    stale = []
    for rel, text in files.items():
        path = os.path.join(args.out, rel)
        try:
            with open(path, encoding="utf-8") as fh:
                current = fh.read()
        except FileNotFoundError:
            current = None
        if current != text:
            stale.append(rel)
            if not args.check:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(text)
    extra = []
    for sub in SUBDIRS:
        d = os.path.join(args.out, sub)
        if os.path.isdir(d):
            for fn in os.listdir(d):
                rel = os.path.join(sub, fn)
                if fn.endswith(".schema") and rel not in files:
                    extra.append(rel)
                    if not args.check:
                        os.remove(os.path.join(args.out, rel))
    if args.check:
        for rel in stale:
            print(f"out of date: {rel}", file=sys.stderr)
        for rel in extra:
            print(f"no longer in the source: {rel}", file=sys.stderr)
        return 1 if stale or extra else 0
    print(f"{len(files)} schema files, {len(stale)} written, {len(extra)} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
