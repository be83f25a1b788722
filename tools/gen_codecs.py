#!/usr/bin/env python3
"""Generate Samsa's C++ message codecs from the compact schema files.

    gen_codecs.py --schema-dir src/protocol/schema --out <build>/generated
    gen_codecs.py --schema-dir ... --out ... --list      # print the output files

Outputs (all under <out>/samsa/protocol/):
  gen/<snake_name>.h       one struct per message (nested types inside it)
  gen/common.h             shared constants / forward declarations
  gen/api_keys.h, .cc      ApiKey enum and the API table
  gen/codecs_NN.cc         encode/decode bodies, bundled to keep builds short
  gen_test/...             random instances + a type-erased registry (tests only)

Files are rewritten only when their content changes, so a regeneration that
changes nothing does not trigger recompilation.
"""
import argparse
import json
import os
import re
import sys

CODEC_BUNDLES = 12
TEST_BUNDLES = 6
NO_FLEX = 32767
VMAX = 32767

FIXED = {"bool": "bool", "int8": "int8_t", "int16": "int16_t", "uint16": "uint16_t",
         "int32": "int32_t", "uint32": "uint32_t", "int64": "int64_t", "float64": "double",
         "uuid": "Uuid"}
PRIMITIVES = set(FIXED) | {"string", "bytes", "records"}

CPP_KEYWORDS = set("""alignas alignof and and_eq asm auto bitand bitor bool break case catch char
char8_t char16_t char32_t class compl concept const consteval constexpr constinit const_cast continue
co_await co_return co_yield decltype default delete do double dynamic_cast else enum explicit export
extern false float for friend goto if inline int long mutable namespace new noexcept not not_eq
nullptr operator or or_eq private protected public register reinterpret_cast requires return short
signed sizeof static static_assert static_cast struct switch template this thread_local throw true
try typedef typeid typename union unsigned using virtual void volatile wchar_t while xor xor_eq
encode decode""".split())


# --------------------------------------------------------------------------
# Schema model
# --------------------------------------------------------------------------

def parse_range(text):
    """'none' -> None, '3' -> (3,3), '3+' -> (3, VMAX), '1-4' -> (1,4)."""
    if text == "none":
        return None
    if text.endswith("+"):
        return (int(text[:-1]), VMAX)
    if "-" in text:
        lo, hi = text.split("-")
        return (int(lo), int(hi))
    return (int(text), int(text))


class Field:
    def __init__(self, name, typ, versions, attrs):
        self.name = name
        self.type = typ
        self.versions = parse_range(versions)
        self.nullable = parse_range(attrs["nullable"]) if "nullable" in attrs else None
        self.tagged = parse_range(attrs["tagged"]) if "tagged" in attrs else None
        self.tag = int(attrs["tag"]) if "tag" in attrs else None
        self.flexible = parse_range(attrs["flexible"]) if "flexible" in attrs else "inherit"
        self.default = attrs.get("default")
        self.ignorable = "ignorable" in attrs
        self.map_key = "mapKey" in attrs
        self.fields = []          # inline struct fields
        self.struct = None        # Struct this field's type refers to (if any)

    @property
    def is_array(self):
        return self.type.startswith("[]")

    @property
    def base(self):
        return self.type[2:] if self.is_array else self.type

    @property
    def is_struct(self):
        return self.base not in PRIMITIVES


class Struct:
    def __init__(self, name, fields, parent):
        self.name = name
        self.fields = fields
        self.parent = parent      # enclosing Struct, None for the message itself
        self.nested = []          # structs declared inside this one (in order)

    def qualified(self):
        parts = []
        s = self
        while s is not None:
            parts.append(s.name)
            s = s.parent
        return "::".join(reversed(parts))


class Message:
    def __init__(self, kind, name, attrs, path):
        self.kind = kind
        self.name = name
        self.path = path
        self.api_key = int(attrs["apiKey"]) if "apiKey" in attrs else None
        self.versions = parse_range(attrs["versions"])
        self.flexible = parse_range(attrs["flexible"])
        self.unstable = "unstable" in attrs
        self.listeners = attrs["listeners"].split(",") if "listeners" in attrs else []
        self.fields = []
        self.common = []          # (name, fields)

    @property
    def lo(self):
        return self.versions[0]

    @property
    def hi(self):
        return self.versions[1]

    @property
    def first_flexible(self):
        return self.flexible[0] if self.flexible else NO_FLEX


def parse_attrs(tokens):
    attrs = {}
    for t in tokens:
        if "=" in t:
            k, v = t.split("=", 1)
            attrs[k] = v
        else:
            attrs[t] = True
    return attrs


def parse_schema(path):
    msg = None
    stack = []  # (indent level, Field or None, list to append to)
    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            indent = len(line) - len(line.lstrip(" "))
            if indent % 2:
                raise SystemExit(f"{path}:{lineno}: odd indentation")
            level = indent // 2
            tokens = line.split()
            if level == 0:
                if tokens[0] == "struct":
                    fields = []
                    msg.common.append((tokens[1], fields))
                    stack = [(0, None, fields)]
                else:
                    if msg is not None:
                        raise SystemExit(f"{path}:{lineno}: second message header")
                    msg = Message(tokens[0], tokens[1], parse_attrs(tokens[2:]), path)
                    stack = [(0, None, msg.fields)]
                continue
            while stack and stack[-1][0] >= level:
                stack.pop()
            if not stack:
                raise SystemExit(f"{path}:{lineno}: bad indentation")
            parent_level, parent_field, target = stack[-1]
            if parent_level != level - 1:
                raise SystemExit(f"{path}:{lineno}: indentation jumps")
            f = Field(tokens[0], tokens[1], tokens[2], parse_attrs(tokens[3:]))
            target.append(f)
            stack.append((level, f, f.fields))
    if msg is None:
        raise SystemExit(f"{path}: no message header")
    return msg


def snake(name):
    name = name.replace("KRaft", "Kraft")
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()
    return s


def member_name(field):
    n = snake(field.name)
    return n + "_" if n in CPP_KEYWORDS else n


# --------------------------------------------------------------------------
# Struct resolution
# --------------------------------------------------------------------------

def build_structs(msg):
    """Attach Struct objects to fields; return (top Struct, ordered common structs)."""
    top = Struct(msg.name, msg.fields, None)
    commons = {name: Struct(name, fields, top) for name, fields in msg.common}

    def visit(struct):
        seen = set()
        for f in struct.fields:
            if f.is_struct:
                if f.fields:
                    if f.base in seen or f.base == struct.name:
                        raise SystemExit(f"{msg.path}: duplicate struct name {f.base}")
                    seen.add(f.base)
                    s = Struct(f.base, f.fields, struct)
                    struct.nested.append(s)
                    f.struct = s
                    visit(s)
                elif f.base in commons:
                    f.struct = commons[f.base]
                else:
                    raise SystemExit(f"{msg.path}: unknown type {f.type} for field {f.name}")

    for s in commons.values():
        visit(s)
    visit(top)

    # Common structs go first at message scope, dependencies before users.
    def deps(s):
        out = set()
        for f in s.fields:
            if f.struct is not None:
                if f.struct.name in commons and f.struct is commons[f.struct.name]:
                    out.add(f.struct.name)
                else:
                    out |= deps(f.struct)
        return out

    ordered, done = [], set()

    def place(name, trail=()):
        if name in done:
            return
        if name in trail:
            raise SystemExit(f"{msg.path}: recursive common struct {name}")
        for d in sorted(deps(commons[name])):
            place(d, trail + (name,))
        done.add(name)
        ordered.append(commons[name])

    for name, _ in msg.common:
        place(name)
    return top, ordered


# --------------------------------------------------------------------------
# C++ helpers
# --------------------------------------------------------------------------

def range_cond(rng, lo, hi, var="v"):
    """C++ condition for `var` in rng, knowing lo <= var <= hi. None = always."""
    if rng is None:
        return "false"
    a, b = rng
    if a > hi or b < lo:
        return "false"
    conds = []
    if a > lo:
        conds.append(f"{var} >= {a}")
    if b < hi:
        conds.append(f"{var} <= {b}")
    if not conds:
        return None
    return " && ".join(conds)


def cond_expr(c):
    return "true" if c is None else c


def int_literal(ctype, token):
    value = int(token, 0)
    if ctype == "double":
        return repr(float(token))
    if -2**31 < value < 2**31 and not token.lower().startswith(("0x", "-0x")):
        return str(value)
    suffix = "LL" if value < 0 else "ULL"
    return f"static_cast<{ctype}>({token}{suffix})"


def elem_type(field):
    if field.is_struct:
        return field.base
    if field.base == "string":
        return "std::string"
    if field.base == "bytes":
        return "std::vector<uint8_t>"
    if field.base == "records":
        return "Records"
    return FIXED[field.base]


def cpp_type(field):
    nullable = field.nullable is not None
    if field.is_array:
        t = f"std::vector<{elem_type(field)}>"
        return f"std::optional<{t}>" if nullable else t
    if field.base == "records":
        return "Records"
    t = elem_type(field)
    if nullable and (field.is_struct or field.base in ("string", "bytes")):
        return f"std::optional<{t}>"
    return t


def default_init(field):
    """Member initializer (text after '=') or None for value-initialisation."""
    d = field.default
    t = cpp_type(field)
    nullable = field.nullable is not None
    if field.is_array or field.base in ("bytes", "string") or field.is_struct:
        if d == "null":
            return None if (field.is_struct and not field.is_array) else "std::nullopt"
        if field.is_struct and not field.is_array:
            return None
        if field.base == "string" and not field.is_array and d not in (None, '""'):
            return json.dumps(json.loads(d))
        if nullable:
            inner = t[len("std::optional<"):-1]
            return f"{inner}{{}}"
        return None
    if field.base == "records":
        return "Records::null()" if d == "null" else None
    if field.base == "uuid":
        return None
    if field.base == "bool":
        return d if d is not None else "false"
    ctype = FIXED[field.base]
    return int_literal(ctype, d) if d is not None else "0"


def default_expr(field):
    """Expression equal to the field's default value (for tagged-field checks)."""
    init = default_init(field)
    t = cpp_type(field)
    if init is None:
        return f"{t}{{}}"
    if init == "std::nullopt":
        return "std::nullopt"
    if field.base in FIXED and not field.is_array:
        return f"static_cast<{t}>({init})"
    return f"{t}({init})"


# --------------------------------------------------------------------------
# Header generation
# --------------------------------------------------------------------------

def header_includes(msg, top, commons):
    need_records = False

    def walk(fields):
        nonlocal need_records
        for f in fields:
            if f.base == "records":
                need_records = True
            walk(f.fields)
    walk(msg.fields)
    for _, fs in msg.common:
        walk(fs)
    inc = ["<cstdint>", "<optional>", "<string>", "<vector>"]
    ours = ['"samsa/protocol/gen/common.h"', '"samsa/protocol/tagged_field.h"', '"samsa/protocol/uuid.h"']
    if need_records:
        ours.append('"samsa/protocol/records.h"')
    return inc, ours


def emit_struct_body(out, struct, indent, msg, top, commons):
    pad = "  " * indent
    if struct is top:
        out.append(f"{pad}static constexpr const char* kName = \"{msg.name}\";")
        out.append(f"{pad}static constexpr int16_t kApiKey = {msg.api_key if msg.api_key is not None and msg.kind in ('request', 'response', 'metadata') else -1};")
        out.append(f"{pad}static constexpr int16_t kMinVersion = {msg.lo};")
        out.append(f"{pad}static constexpr int16_t kMaxVersion = {msg.hi};")
        ff = "kNoFlexibleVersion" if msg.flexible is None else str(msg.first_flexible)
        out.append(f"{pad}static constexpr int16_t kFirstFlexibleVersion = {ff};")
        out.append(f"{pad}static constexpr bool kLatestVersionUnstable = {'true' if msg.unstable else 'false'};")
        out.append("")
        for cs in commons:
            emit_struct(out, cs, indent, msg, top, commons)
    for ns in struct.nested:
        emit_struct(out, ns, indent, msg, top, commons)
    for f in struct.fields:
        init = default_init(f)
        out.append(f"{pad}{cpp_type(f)} {member_name(f)}" + (f" = {init};" if init is not None else ";"))
    out.append(f"{pad}std::vector<TaggedField> unknown_tagged_fields;")
    out.append("")
    out.append(f"{pad}void encode(WireWriter& w, int16_t version) const;")
    out.append(f"{pad}void decode(WireReader& r, int16_t version);")
    out.append(f"{pad}bool operator==(const {struct.name}&) const = default;")


def emit_struct(out, struct, indent, msg, top, commons):
    pad = "  " * indent
    out.append(f"{pad}struct {struct.name} {{")
    emit_struct_body(out, struct, indent + 1, msg, top, commons)
    out.append(f"{pad}}};")
    out.append("")


def gen_header(msg, top, commons):
    inc, ours = header_includes(msg, top, commons)
    out = ["// Generated by tools/gen_codecs.py from src/protocol/schema. Do not edit.", "#pragma once"]
    out += [f"#include {i}" for i in inc]
    out.append("")
    out += [f"#include {i}" for i in ours]
    out += ["", "namespace samsa::protocol {", ""]
    emit_struct(out, top, 0, msg, top, commons)
    out += ["}  // namespace samsa::protocol", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------
# Codec (.cc) generation
# --------------------------------------------------------------------------

def all_structs(top, commons):
    """Every struct of a message, nested ones before their users."""
    out = []

    def walk(s):
        for n in s.nested:
            walk(n)
        out.append(s)
    for c in commons:
        walk(c)
    walk(top)
    return out


def compact_expr(field, msg):
    """C++ expression for 'compact encoding' of this field."""
    if field.flexible != "inherit":
        return cond_expr(range_cond(field.flexible, msg.lo, msg.hi)) if field.flexible else "false"
    return "f"


def put_call(field, msg, w, c=None):
    m = member_name(field)
    c = c or compact_expr(field, msg)
    n = cond_expr(range_cond(field.nullable, msg.lo, msg.hi)) if field.nullable else "false"
    t = cpp_type(field)
    if field.is_array:
        if t.startswith("std::optional"):
            return f"codec::put({w}, {m}, {c}, {n}, v);"
        return f"codec::put({w}, {m}, {c}, v);"
    if field.is_struct:
        if t.startswith("std::optional"):
            return f"codec::put({w}, {m}, {n}, v);"
        return f"{m}.encode({w}, v);"
    if field.base == "records":
        return f"codec::put({w}, {m}, {c}, {n});"
    if field.base in ("string", "bytes"):
        if t.startswith("std::optional"):
            return f"codec::put({w}, {m}, {c}, {n});"
        return f"codec::put({w}, {m}, {c});"
    return f"codec::put({w}, {m});"


def get_call(field, msg, r, c=None):
    return put_call(field, msg, r, c).replace("codec::put(", "codec::get(").replace(".encode(", ".decode(")


def gen_struct_codec(out, struct, msg, is_top):
    q = struct.qualified()
    lo, hi = msg.lo, msg.hi
    flex = range_cond(msg.flexible, lo, hi) if msg.flexible else "false"
    flex = cond_expr(flex)
    regular = [f for f in struct.fields if f.tagged is None]
    tagged = sorted([f for f in struct.fields if f.tagged is not None], key=lambda f: f.tag)
    for f in struct.fields:
        if f.tagged is not None and f.tagged != f.versions:
            raise SystemExit(f"{msg.path}: field {f.name}: taggedVersions differ from versions")

    # encode
    out.append(f"void {q}::encode(WireWriter& w, int16_t v) const {{")
    if is_top:
        out.append(f"  codec::check_encode_version(v, kMinVersion, kMaxVersion, kName);")
    out.append(f"  [[maybe_unused]] const bool f = {flex};")
    for fld in regular:
        cond = range_cond(fld.versions, lo, hi)
        if cond == "false":
            continue
        call = put_call(fld, msg, "w")
        out.append(f"  {call}" if cond is None else f"  if ({cond}) {call}")
    if flex != "false":
        live_tags = [t for t in tagged if range_cond(t.versions, lo, hi) != "false"]
        if not live_tags:
            out.append("  if (f) codec::put_tags(w, unknown_tagged_fields);")
        else:
            out.append("  if (f) {")
            out.append("    codec::TagList tags;")
            for t in live_tags:
                cond = range_cond(t.versions, lo, hi)
                m = member_name(t)
                test = f"!({m} == {default_expr(t)})"
                if cond is not None:
                    test = f"{cond} && {test}"
                out.append(f"    if ({test}) {put_call(t, msg, f'tags.add({t.tag})', c='true')}")
            out.append("    codec::put_tags(w, unknown_tagged_fields, tags);")
            out.append("  }")
    out.append("}")
    out.append("")

    # decode
    out.append(f"void {q}::decode(WireReader& r, int16_t v) {{")
    if is_top:
        out.append(f"  codec::check_decode_version(v, kMinVersion, kMaxVersion, kName);")
        out.append(f"  *this = {struct.name}{{}};")
    out.append(f"  [[maybe_unused]] const bool f = {flex};")
    for fld in regular:
        cond = range_cond(fld.versions, lo, hi)
        if cond == "false":
            continue
        call = get_call(fld, msg, "r")
        out.append(f"  {call}" if cond is None else f"  if ({cond}) {call}")
    if flex != "false":
        live_tags = [t for t in tagged if range_cond(t.versions, lo, hi) != "false"]
        if not live_tags:
            out.append("  if (f) codec::get_tags(r, unknown_tagged_fields);")
        else:
            out.append("  if (f) {")
            out.append("    codec::get_tags(r, unknown_tagged_fields, [&](uint32_t tag, WireReader& s) {")
            out.append("      switch (tag) {")
            for t in live_tags:
                cond = range_cond(t.versions, lo, hi)
                call = get_call(t, msg, "s", c="true")
                out.append(f"        case {t.tag}:")
                if cond is None:
                    out.append(f"          {call}")
                    out.append("          return true;")
                else:
                    out.append(f"          if (!({cond})) return false;")
                    out.append(f"          {call}")
                    out.append("          return true;")
            out.append("        default:")
            out.append("          return false;")
            out.append("      }")
            out.append("    });")
            out.append("  }")
    out.append("}")
    out.append("")


def gen_codec_bundle(msgs):
    out = ["// Generated by tools/gen_codecs.py from src/protocol/schema. Do not edit."]
    for m, _, _ in msgs:
        out.append(f'#include "samsa/protocol/gen/{snake(m.name)}.h"')
    out += ['#include "samsa/protocol/codec_support.h"', "", "namespace samsa::protocol {", ""]
    for m, top, commons in msgs:
        out.append(f"// ---- {m.name} ----")
        for s in all_structs(top, commons):
            gen_struct_codec(out, s, m, s is top)
    out += ["}  // namespace samsa::protocol", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------
# API table
# --------------------------------------------------------------------------

def gen_api_keys(msgs):
    reqs = sorted([m for m, _, _ in msgs if m.kind == "request"], key=lambda m: m.api_key)
    h = ["// Generated by tools/gen_codecs.py from src/protocol/schema. Do not edit.",
         "#pragma once", "#include <cstdint>", "#include <span>", "",
         '#include "samsa/protocol/gen/common.h"', "",
         "namespace samsa::protocol {", "",
         "enum class ApiKey : int16_t {"]
    for m in reqs:
        h.append(f"  {m.name[:-len('Request')]} = {m.api_key},")
    h += ["};", "",
          f"inline constexpr int kApiKeyCount = {len(reqs)};", "",
          "struct ApiInfo {",
          "  int16_t key;",
          "  const char* name;",
          "  int16_t min_version;",
          "  int16_t max_version;",
          "  int16_t first_flexible_version;  // kNoFlexibleVersion if never flexible",
          "  bool latest_version_unstable;",
          "  bool listener_broker;",
          "  bool listener_controller;",
          "  bool listener_zk_broker;",
          "};", "",
          "// nullptr if the key is unknown.",
          "const ApiInfo* find_api(int16_t key);",
          "// Every API, ordered by key.",
          "std::span<const ApiInfo> all_apis();",
          "// Request header version for a request: 2 if flexible, else 1 (0 for",
          "// ControlledShutdown v0). Unknown keys get 1.",
          "int16_t request_header_version(int16_t key, int16_t version);",
          "// Response header version: 1 if flexible, else 0; ApiVersions always 0.",
          "// Unknown keys get 0.",
          "int16_t response_header_version(int16_t key, int16_t version);", "",
          "}  // namespace samsa::protocol", ""]
    c = ["// Generated by tools/gen_codecs.py from src/protocol/schema. Do not edit.",
         '#include "samsa/protocol/gen/api_keys.h"', "", "namespace samsa::protocol {", "",
         "namespace {", "constexpr ApiInfo kApis[] = {"]
    dense = all(m.api_key == i for i, m in enumerate(reqs))
    for m in reqs:
        ff = "kNoFlexibleVersion" if m.flexible is None else str(m.first_flexible)
        ls = m.listeners
        c.append(f'    {{{m.api_key}, "{m.name[:-len("Request")]}", {m.lo}, {m.hi}, {ff}, '
                 f'{str(m.unstable).lower()}, {str("broker" in ls).lower()}, '
                 f'{str("controller" in ls).lower()}, {str("zkBroker" in ls).lower()}}},')
    c += ["};", "}  // namespace", ""]
    if dense:
        c += ["const ApiInfo* find_api(int16_t key) {",
              "  if (key < 0 || key >= static_cast<int16_t>(std::size(kApis))) return nullptr;",
              "  return &kApis[key];", "}", ""]
    else:
        c += ["const ApiInfo* find_api(int16_t key) {",
              "  for (const auto& a : kApis)", "    if (a.key == key) return &a;",
              "  return nullptr;", "}", ""]
    c += ["std::span<const ApiInfo> all_apis() { return kApis; }", "",
          "int16_t request_header_version(int16_t key, int16_t version) {",
          "  if (key == static_cast<int16_t>(ApiKey::ControlledShutdown) && version == 0) return 0;",
          "  const ApiInfo* a = find_api(key);",
          "  return a && version >= a->first_flexible_version ? 2 : 1;", "}", "",
          "int16_t response_header_version(int16_t key, int16_t version) {",
          "  if (key == static_cast<int16_t>(ApiKey::ApiVersions)) return 0;",
          "  const ApiInfo* a = find_api(key);",
          "  return a && version >= a->first_flexible_version ? 1 : 0;", "}", "",
          "}  // namespace samsa::protocol", ""]
    return "\n".join(h), "\n".join(c)


COMMON_H = """// Generated by tools/gen_codecs.py. Do not edit.
#pragma once
#include <cstdint>

namespace samsa::protocol {

class WireReader;
class WireWriter;

// kFirstFlexibleVersion of a message that is never flexible.
inline constexpr int16_t kNoFlexibleVersion = 32767;

}  // namespace samsa::protocol
"""


# --------------------------------------------------------------------------
# Test support: random instances and a type-erased registry
# --------------------------------------------------------------------------

TEST_SUPPORT_H = r"""// Generated by tools/gen_codecs.py. Do not edit. Test support only.
#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "samsa/protocol/decode_error.h"
#include "samsa/protocol/records.h"
#include "samsa/protocol/tagged_field.h"
#include "samsa/protocol/uuid.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::protocol::gen_test {

// splitmix64: small, fast, deterministic.
struct Rng {
  uint64_t state;
  explicit Rng(uint64_t seed) : state(seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL) {}
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  uint32_t below(uint32_t n) { return static_cast<uint32_t>(next() % n); }
  bool chance(uint32_t percent) { return below(100) < percent; }
};

// Interesting integers more often than uniform ones.
template <class T>
T rnd_int(Rng& g) {
  switch (g.below(6)) {
    case 0: return T(0);
    case 1: return T(-1);
    case 2: return static_cast<T>(g.below(16));
    default: return static_cast<T>(g.next());
  }
}
inline void rnd_val(Rng& g, bool& x) { x = g.chance(50); }
inline void rnd_val(Rng& g, int8_t& x) { x = rnd_int<int8_t>(g); }
inline void rnd_val(Rng& g, int16_t& x) { x = rnd_int<int16_t>(g); }
inline void rnd_val(Rng& g, uint16_t& x) { x = rnd_int<uint16_t>(g); }
inline void rnd_val(Rng& g, int32_t& x) { x = rnd_int<int32_t>(g); }
inline void rnd_val(Rng& g, uint32_t& x) { x = rnd_int<uint32_t>(g); }
inline void rnd_val(Rng& g, int64_t& x) { x = rnd_int<int64_t>(g); }
inline void rnd_val(Rng& g, double& x) { x = static_cast<double>(rnd_int<int32_t>(g)) / 8.0; }
inline void rnd_val(Rng& g, Uuid& x) {
  for (auto& b : x.bytes) b = static_cast<uint8_t>(g.next());
}
inline void rnd_val(Rng& g, std::string& x) {
  x.assign(g.below(9), 'a');
  for (auto& ch : x) ch = static_cast<char>('a' + g.below(26));
}
inline void rnd_val(Rng& g, std::vector<uint8_t>& x) {
  x.resize(g.below(9));
  for (auto& b : x) b = static_cast<uint8_t>(g.next());
}
inline void rnd_records(Rng& g, Records& x, bool nullable) {
  if (nullable && g.chance(20)) {
    x = Records::null();
    return;
  }
  std::vector<uint8_t> b;
  rnd_val(g, b);
  x = Records::copy_of(b);
}
template <class T, class F>
void rnd_vec(Rng& g, std::vector<T>& x, F&& fill) {
  x.clear();
  size_t n = g.below(4);
  for (size_t i = 0; i < n; ++i) fill(x.emplace_back());
}
// Unknown tagged fields with tags above every known tag, ascending.
inline void rnd_unknown_tags(Rng& g, std::vector<TaggedField>& x, uint32_t first_free) {
  x.clear();
  if (!g.chance(25)) return;
  uint32_t tag = first_free + g.below(3);
  for (uint32_t i = 0, n = 1 + g.below(2); i < n; ++i) {
    TaggedField t;
    t.tag = tag;
    rnd_val(g, t.data);
    x.push_back(std::move(t));
    tag += 1 + g.below(100);
  }
}

struct RoundtripResult {
  std::vector<uint8_t> first;   // encode(random)
  std::vector<uint8_t> second;  // encode(decode(first))
  bool equal = false;           // decode(first) == random
  bool consumed_all = false;    // decode read exactly `first`
};

struct MessageCodec {
  const char* name;
  const char* kind;  // request, response, header, data, metadata
  int16_t api_key;
  int16_t min_version;
  int16_t max_version;
  int16_t first_flexible_version;
  // Encoding of a pseudo-random instance for `version`, from `seed`.
  std::vector<uint8_t> (*random_encoded)(int16_t version, uint64_t seed);
  // decode(bytes) then encode; throws DecodeError on bad input (or trailing bytes).
  std::vector<uint8_t> (*decode_then_encode)(std::span<const uint8_t> bytes, int16_t version);
  RoundtripResult (*roundtrip)(int16_t version, uint64_t seed);
};

// Every generated message type.
std::span<const MessageCodec> all_message_codecs();

template <class T, void (*Fill)(T&, int16_t, Rng&)>
std::vector<uint8_t> random_encoded_impl(int16_t version, uint64_t seed) {
  T x;
  Rng g(seed);
  Fill(x, version, g);
  WireWriter w;
  x.encode(w, version);
  return w.take();
}

template <class T>
std::vector<uint8_t> decode_then_encode_impl(std::span<const uint8_t> bytes, int16_t version) {
  WireReader r(bytes);
  T x;
  x.decode(r, version);
  if (!r.at_end()) throw DecodeError("trailing bytes after the message");
  WireWriter w;
  x.encode(w, version);
  return w.take();
}

template <class T, void (*Fill)(T&, int16_t, Rng&)>
RoundtripResult roundtrip_impl(int16_t version, uint64_t seed) {
  RoundtripResult res;
  T x;
  Rng g(seed);
  Fill(x, version, g);
  WireWriter w;
  x.encode(w, version);
  res.first = w.take();
  WireReader r(res.first);
  T y;
  y.decode(r, version);
  res.consumed_all = r.at_end();
  res.equal = (x == y);
  WireWriter w2;
  y.encode(w2, version);
  res.second = w2.take();
  return res;
}

}  // namespace samsa::protocol::gen_test
"""


def rnd_field(out, f, msg, pad):
    m = "x." + member_name(f)
    n = cond_expr(range_cond(f.nullable, msg.lo, msg.hi)) if f.nullable else "false"
    t = cpp_type(f)
    optional = t.startswith("std::optional")

    def value(target):
        if f.is_array:
            if f.is_struct:
                fill = "[&](auto& e) { rnd(e, v, g); }"
            else:
                fill = "[&](auto& e) { rnd_val(g, e); }"
            return f"rnd_vec(g, {target}, {fill});"
        if f.is_struct:
            return f"rnd({target}, v, g);"
        return f"rnd_val(g, {target});"

    if f.base == "records" and not f.is_array:
        return [f"{pad}rnd_records(g, {m}, {n});"]
    if optional:
        return [f"{pad}if ({n} && g.chance(20)) {m}.reset();",
                f"{pad}else {value(m + '.emplace()')}"]
    return [f"{pad}{value(m)}"]


def gen_rnd_struct(out, struct, msg):
    q = struct.qualified()
    lo, hi = msg.lo, msg.hi
    flex = cond_expr(range_cond(msg.flexible, lo, hi)) if msg.flexible else "false"
    tags = [f.tag for f in struct.fields if f.tag is not None]
    first_free = max(tags) + 1 if tags else 0
    out.append(f"void rnd({q}& x, int16_t v, Rng& g) {{")
    for f in struct.fields:
        cond = range_cond(f.versions, lo, hi)
        if cond == "false":
            continue
        body = rnd_field(out, f, msg, "    ")
        if f.tagged is not None:
            # Tagged fields: half the time keep the default (not written).
            cond = (cond + " && " if cond else "") + "g.chance(50)"
        if cond is None:
            out.extend(line[2:] for line in body)
        else:
            out.append(f"  if ({cond}) {{")
            out.extend(body)
            out.append("  }")
    if flex != "false":
        out.append(f"  if ({flex}) rnd_unknown_tags(g, x.unknown_tagged_fields, {first_free});")
    out.append("}")
    out.append("")


def gen_test_bundle(index, msgs):
    out = ["// Generated by tools/gen_codecs.py. Do not edit. Test support only."]
    for m, _, _ in msgs:
        out.append(f'#include "samsa/protocol/gen/{snake(m.name)}.h"')
    out += ['#include "samsa/protocol/gen_test/test_support.h"', "",
            "namespace samsa::protocol::gen_test {", "", "namespace {", ""]
    for m, top, commons in msgs:
        for s in all_structs(top, commons):
            out.append(f"void rnd({s.qualified()}& x, int16_t v, Rng& g);")
    out.append("")
    for m, top, commons in msgs:
        for s in all_structs(top, commons):
            gen_rnd_struct(out, s, m)
    out += ["}  // namespace", "", f"std::span<const MessageCodec> codecs_bundle_{index:02d}() {{",
            "  static const MessageCodec kCodecs[] = {"]
    for m, _, _ in msgs:
        ak = m.api_key if m.api_key is not None else -1
        ff = m.first_flexible
        out.append(f'      {{"{m.name}", "{m.kind}", {ak}, {m.lo}, {m.hi}, {ff}, '
                   f"&random_encoded_impl<{m.name}, &rnd>, &decode_then_encode_impl<{m.name}>, "
                   f"&roundtrip_impl<{m.name}, &rnd>}},")
    out += ["  };", "  return kCodecs;", "}", "", "}  // namespace samsa::protocol::gen_test", ""]
    return "\n".join(out)


def gen_test_registry(n):
    out = ["// Generated by tools/gen_codecs.py. Do not edit. Test support only.",
           '#include "samsa/protocol/gen_test/test_support.h"', "",
           "namespace samsa::protocol::gen_test {", ""]
    for i in range(n):
        out.append(f"std::span<const MessageCodec> codecs_bundle_{i:02d}();")
    out += ["", "std::span<const MessageCodec> all_message_codecs() {",
            "  static const std::vector<MessageCodec> all = [] {",
            "    std::vector<MessageCodec> v;",
            "    for (auto bundle : {" + ", ".join(f"&codecs_bundle_{i:02d}" for i in range(n)) + "}) {",
            "      auto s = bundle();",
            "      v.insert(v.end(), s.begin(), s.end());",
            "    }",
            "    return v;",
            "  }();",
            "  return all;",
            "}", "", "}  // namespace samsa::protocol::gen_test", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

def load(schema_dir):
    msgs = []
    for root, _, files in os.walk(schema_dir):
        for fn in files:
            if fn.endswith(".schema"):
                msgs.append(parse_schema(os.path.join(root, fn)))
    msgs.sort(key=lambda m: m.name)
    names = [m.name for m in msgs]
    if len(set(names)) != len(names):
        raise SystemExit("duplicate message names")
    return msgs


def weight(m):
    n = 0

    def walk(fields):
        nonlocal n
        for f in fields:
            n += 1
            walk(f.fields)
    walk(m.fields)
    for _, fs in m.common:
        walk(fs)
    return n + 4


def bundles(items, count):
    """Greedy balance by schema size; deterministic."""
    bins = [[] for _ in range(count)]
    loads = [0] * count
    for it in sorted(items, key=lambda x: (-weight(x[0]), x[0].name)):
        i = min(range(count), key=lambda k: (loads[k], k))
        bins[i].append(it)
        loads[i] += weight(it[0])
    return [sorted(b, key=lambda x: x[0].name) for b in bins]


def outputs(msgs):
    files = ["gen/common.h", "gen/api_keys.h", "gen/api_keys.cc"]
    files += [f"gen/{snake(m.name)}.h" for m in msgs]
    files += [f"gen/codecs_{i:02d}.cc" for i in range(CODEC_BUNDLES)]
    files += ["gen_test/test_support.h", "gen_test/registry.cc"]
    files += [f"gen_test/random_{i:02d}.cc" for i in range(TEST_BUNDLES)]
    return files


def write_if_changed(path, text):
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return False
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--schema-dir", required=True)
    ap.add_argument("--out", required=True, help="generated include root")
    ap.add_argument("--list", action="store_true", help="print output paths (;-separated) and exit")
    args = ap.parse_args()

    msgs = load(args.schema_dir)
    base = os.path.join(args.out, "samsa", "protocol")
    if args.list:
        print(";".join(os.path.join(base, f) for f in outputs(msgs)), end="")
        return 0

    items = [(m,) + build_structs(m) for m in msgs]
    files = {"gen/common.h": COMMON_H, "gen_test/test_support.h": TEST_SUPPORT_H}
    for m, top, commons in items:
        files[f"gen/{snake(m.name)}.h"] = gen_header(m, top, commons)
    for i, b in enumerate(bundles(items, CODEC_BUNDLES)):
        files[f"gen/codecs_{i:02d}.cc"] = gen_codec_bundle(b)
    for i, b in enumerate(bundles(items, TEST_BUNDLES)):
        files[f"gen_test/random_{i:02d}.cc"] = gen_test_bundle(i, b)
    files["gen_test/registry.cc"] = gen_test_registry(TEST_BUNDLES)
    files["gen/api_keys.h"], files["gen/api_keys.cc"] = gen_api_keys(items)
    assert sorted(files) == sorted(outputs(msgs))
    changed = sum(write_if_changed(os.path.join(base, rel), text) for rel, text in files.items())
    print(f"gen_codecs: {len(msgs)} messages, {len(files)} files, {changed} changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
