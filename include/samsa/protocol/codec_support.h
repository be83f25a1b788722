#pragma once
// Helpers shared by the generated message codecs (tools/gen_codecs.py).
// Included only by generated .cc files, never by the generated headers, so
// that users of a message struct do not pay for it.
//
// Conventions: `c` = compact (flexible) encoding, `n` = null allowed in this
// version, `v` = message version (passed down to nested structs).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "samsa/protocol/decode_error.h"
#include "samsa/protocol/records.h"
#include "samsa/protocol/tagged_field.h"
#include "samsa/protocol/uuid.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::protocol::codec {

[[noreturn]] inline void null_in_non_nullable(const char* what) {
  throw std::invalid_argument(std::string("null ") + what + " in a field that is not nullable in this version");
}

inline void check_encode_version(int16_t v, int16_t lo, int16_t hi, const char* name) {
  if (v < lo || v > hi)
    throw std::invalid_argument(std::string(name) + ": cannot encode version " + std::to_string(v));
}
inline void check_decode_version(int16_t v, int16_t lo, int16_t hi, const char* name) {
  if (v < lo || v > hi) throw DecodeError(std::string(name) + ": unsupported version " + std::to_string(v));
}

// Upper bound for reserve(): a count read from the wire is only trusted up
// to this many elements; beyond it the vector grows as elements decode.
inline constexpr size_t kMaxReserve = 64;

// ---- fixed-size types ----
inline void put(WireWriter& w, bool x) { w.boolean(x); }
inline void put(WireWriter& w, int8_t x) { w.int8(x); }
inline void put(WireWriter& w, int16_t x) { w.int16(x); }
inline void put(WireWriter& w, uint16_t x) { w.uint16(x); }
inline void put(WireWriter& w, int32_t x) { w.int32(x); }
inline void put(WireWriter& w, uint32_t x) { w.uint32(x); }
inline void put(WireWriter& w, int64_t x) { w.int64(x); }
inline void put(WireWriter& w, double x) { w.float64(x); }
inline void put(WireWriter& w, const Uuid& x) { w.uuid(x); }

inline void get(WireReader& r, bool& x) { x = r.boolean(); }
inline void get(WireReader& r, int8_t& x) { x = r.int8(); }
inline void get(WireReader& r, int16_t& x) { x = r.int16(); }
inline void get(WireReader& r, uint16_t& x) { x = r.uint16(); }
inline void get(WireReader& r, int32_t& x) { x = r.int32(); }
inline void get(WireReader& r, uint32_t& x) { x = r.uint32(); }
inline void get(WireReader& r, int64_t& x) { x = r.int64(); }
inline void get(WireReader& r, double& x) { x = r.float64(); }
inline void get(WireReader& r, Uuid& x) { x = r.uuid(); }

// ---- strings ----
inline void put(WireWriter& w, const std::string& x, bool c) {
  if (!c && x.size() > 32767) throw std::invalid_argument("string longer than 32767 bytes");
  w.string(x, c);
}
inline void put(WireWriter& w, const std::optional<std::string>& x, bool c, bool n) {
  if (!x) {
    if (!n) null_in_non_nullable("string");
    return w.nullable_string(x, c);
  }
  put(w, *x, c);
}
inline void get(WireReader& r, std::string& x, bool c) { x = r.string(c); }
inline void get(WireReader& r, std::optional<std::string>& x, bool c, bool n) {
  if (n) x = r.nullable_string(c);
  else x = r.string(c);
}

// ---- bytes ----
inline void put(WireWriter& w, const std::vector<uint8_t>& x, bool c) { w.bytes(x, c); }
inline void put(WireWriter& w, const std::optional<std::vector<uint8_t>>& x, bool c, bool n) {
  if (!x && !n) null_in_non_nullable("bytes");
  w.nullable_bytes(x, c);
}
inline void get(WireReader& r, std::vector<uint8_t>& x, bool c) { x = r.bytes(c); }
inline void get(WireReader& r, std::optional<std::vector<uint8_t>>& x, bool c, bool n) {
  if (n) x = r.nullable_bytes(c);
  else x = r.bytes(c);
}

// ---- records ----
inline void put(WireWriter& w, const Records& x, bool c, bool n) {
  if (x.is_null() && !n) null_in_non_nullable("records");
  w.records(x, c);
}
inline void get(WireReader& r, Records& x, bool c, bool n) {
  x = r.records(c);
  if (x.is_null() && !n) throw DecodeError("null records in a non-nullable field");
}

// ---- structs (nested message types have encode/decode members) ----
template <class T>
concept Struct = requires(const T& t, WireWriter& w) { t.encode(w, int16_t{}); };

template <Struct T>
void put(WireWriter& w, const T& x, int16_t v) {
  x.encode(w, v);
}
template <Struct T>
void get(WireReader& r, T& x, int16_t v) {
  x.decode(r, v);
}
// A nullable struct carries a one-byte presence marker (-1 = null, 1 = present)
// in the versions where it is nullable.
template <Struct T>
void put(WireWriter& w, const std::optional<T>& x, bool n, int16_t v) {
  if (n) {
    w.int8(x ? 1 : -1);
  } else if (!x) {
    null_in_non_nullable("struct");
  }
  if (x) x->encode(w, v);
}
template <Struct T>
void get(WireReader& r, std::optional<T>& x, bool n, int16_t v) {
  if (n && r.int8() < 0) {
    x.reset();
    return;
  }
  x.emplace();
  x->decode(r, v);
}

// ---- arrays ----
template <class T>
void put_elem(WireWriter& w, const T& e, bool c, int16_t v) {
  if constexpr (std::is_same_v<T, std::string>) put(w, e, c);
  else if constexpr (Struct<T>) e.encode(w, v);
  else put(w, e);
}
template <class T>
void get_elem(WireReader& r, T& e, bool c, int16_t v) {
  if constexpr (std::is_same_v<T, std::string>) get(r, e, c);
  else if constexpr (Struct<T>) e.decode(r, v);
  else get(r, e);
}
template <class T>
void put(WireWriter& w, const std::vector<T>& x, bool c, int16_t v) {
  w.array_length(x.size(), c);
  for (const auto& e : x) put_elem(w, e, c, v);
}
template <class T>
void put(WireWriter& w, const std::optional<std::vector<T>>& x, bool c, bool n, int16_t v) {
  if (!x) {
    if (!n) null_in_non_nullable("array");
    return w.array_length(std::nullopt, c);
  }
  put(w, *x, c, v);
}
template <class T>
void get_elems(WireReader& r, std::vector<T>& x, size_t count, bool c, int16_t v) {
  x.clear();
  x.reserve(std::min(count, kMaxReserve));
  for (size_t i = 0; i < count; ++i) get_elem(r, x.emplace_back(), c, v);
}
template <class T>
void get(WireReader& r, std::vector<T>& x, bool c, int16_t v) {
  auto count = r.array_length(c);
  if (!count) throw DecodeError("null array in a non-nullable field");
  get_elems(r, x, *count, c, v);
}
template <class T>
void get(WireReader& r, std::optional<std::vector<T>>& x, bool c, bool n, int16_t v) {
  auto count = r.array_length(c);
  if (!count) {
    if (!n) throw DecodeError("null array in a non-nullable field");
    x.reset();
    return;
  }
  get_elems(r, x.emplace(), *count, c, v);
}

// ---- tagged fields ----
// Known tagged fields that differ from their default, encoded one by one.
class TagList {
 public:
  WireWriter& add(uint32_t tag) { return items_.emplace_back(tag, WireWriter{}).second; }
  std::vector<std::pair<uint32_t, WireWriter>>& items() { return items_; }

 private:
  std::vector<std::pair<uint32_t, WireWriter>> items_;
};

inline void put_tag(WireWriter& w, uint32_t tag, std::span<const uint8_t> data) {
  w.uvarint(tag);
  w.uvarint(static_cast<uint32_t>(data.size()));
  w.raw(data);
}

// Only unknown tagged fields (the struct has no known tagged field).
inline void put_tags(WireWriter& w, const std::vector<TaggedField>& unknown) {
  w.uvarint(static_cast<uint32_t>(unknown.size()));
  if (unknown.empty()) return;
  if (std::is_sorted(unknown.begin(), unknown.end(),
                     [](const TaggedField& a, const TaggedField& b) { return a.tag < b.tag; })) {
    for (const auto& t : unknown) put_tag(w, t.tag, t.data);
    return;
  }
  std::vector<const TaggedField*> sorted;
  for (const auto& t : unknown) sorted.push_back(&t);
  std::stable_sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->tag < b->tag; });
  for (const auto* t : sorted) put_tag(w, t->tag, t->data);
}

// Known and unknown tagged fields, merged in ascending tag order.
inline void put_tags(WireWriter& w, const std::vector<TaggedField>& unknown, TagList& known) {
  auto& items = known.items();
  if (items.empty()) return put_tags(w, unknown);
  struct Entry {
    uint32_t tag;
    std::span<const uint8_t> data;
  };
  std::vector<Entry> all;
  all.reserve(items.size() + unknown.size());
  for (auto& [tag, tw] : items) all.push_back({tag, tw.view()});
  for (const auto& t : unknown) all.push_back({t.tag, t.data});
  std::stable_sort(all.begin(), all.end(), [](const Entry& a, const Entry& b) { return a.tag < b.tag; });
  w.uvarint(static_cast<uint32_t>(all.size()));
  for (const auto& e : all) put_tag(w, e.tag, e.data);
}

// Reads a tagged-field section. `known(tag, sub)` decodes a known tag from
// `sub` (which holds exactly that field's bytes) and returns true, or returns
// false for a tag this version does not know; those are kept verbatim.
template <class Known>
void get_tags(WireReader& r, std::vector<TaggedField>& unknown, Known&& known) {
  uint32_t count = r.uvarint();
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t tag = r.uvarint();
    uint32_t size = r.uvarint();
    auto data = r.take(size);
    WireReader sub(data);
    if (known(tag, sub)) {
      if (!sub.at_end()) throw DecodeError("tagged field " + std::to_string(tag) + " is shorter than its size");
    } else {
      unknown.push_back(TaggedField{tag, std::vector<uint8_t>(data.begin(), data.end())});
    }
  }
}
inline void get_tags(WireReader& r, std::vector<TaggedField>& unknown) {
  get_tags(r, unknown, [](uint32_t, WireReader&) { return false; });
}

}  // namespace samsa::protocol::codec
