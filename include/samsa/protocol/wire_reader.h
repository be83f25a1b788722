#pragma once
// Bounds-checked reader of Kafka's primitive wire types (big-endian).
// Every length read from the input is checked against the bytes that remain
// before anything is allocated, so a malformed length costs nothing.
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "samsa/protocol/decode_error.h"
#include "samsa/protocol/records.h"
#include "samsa/protocol/uuid.h"

namespace samsa::protocol {

class WireReader {
 public:
  // `owner`, if given, keeps `data` alive for Records borrowed from it.
  explicit WireReader(std::span<const uint8_t> data, std::shared_ptr<const void> owner = {})
      : data_(data), owner_(std::move(owner)) {}

  size_t position() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  bool at_end() const { return pos_ == data_.size(); }
  std::span<const uint8_t> rest() const { return data_.subspan(pos_); }

  int8_t int8() { return static_cast<int8_t>(take(1)[0]); }
  uint8_t uint8() { return take(1)[0]; }
  bool boolean() { return int8() != 0; }
  int16_t int16() { return static_cast<int16_t>(be<uint16_t>()); }
  uint16_t uint16() { return be<uint16_t>(); }
  int32_t int32() { return static_cast<int32_t>(be<uint32_t>()); }
  uint32_t uint32() { return be<uint32_t>(); }
  int64_t int64() { return static_cast<int64_t>(be<uint64_t>()); }
  double float64() {
    uint64_t bits = be<uint64_t>();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  Uuid uuid() {
    Uuid u;
    auto b = take(16);
    std::memcpy(u.bytes.data(), b.data(), 16);
    return u;
  }

  uint32_t uvarint() {
    uint32_t value = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      uint8_t b = uint8();
      value |= static_cast<uint32_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return value;
    }
    throw DecodeError("varint is too long");
  }
  uint64_t uvarlong() {
    uint64_t value = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      uint8_t b = uint8();
      value |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return value;
    }
    throw DecodeError("varlong is too long");
  }
  int32_t varint() {  // zig-zag
    uint32_t u = uvarint();
    return static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  int64_t varlong() {
    uint64_t u = uvarlong();
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }

  // Strings: classic (int16 length, -1 = null) or compact (uvarint length+1, 0 = null).
  std::string string(bool compact) {
    auto s = nullable_string(compact);
    if (!s) throw DecodeError("null string in a non-nullable field");
    return std::move(*s);
  }
  std::optional<std::string> nullable_string(bool compact) {
    int64_t len = compact ? static_cast<int64_t>(uvarint()) - 1 : int16();
    if (len < 0) {
      if (!compact && len != -1) throw DecodeError("negative string length");
      return std::nullopt;
    }
    auto b = take(static_cast<size_t>(len));
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }

  // Bytes: classic (int32 length, -1 = null) or compact (uvarint length+1).
  std::vector<uint8_t> bytes(bool compact) {
    auto b = nullable_bytes(compact);
    if (!b) throw DecodeError("null bytes in a non-nullable field");
    return std::move(*b);
  }
  std::optional<std::vector<uint8_t>> nullable_bytes(bool compact) {
    auto view = nullable_bytes_view(compact);
    if (!view) return std::nullopt;
    return std::vector<uint8_t>(view->begin(), view->end());
  }
  std::optional<std::span<const uint8_t>> nullable_bytes_view(bool compact) {
    int64_t len = compact ? static_cast<int64_t>(uvarint()) - 1 : int32();
    if (len < 0) {
      if (!compact && len != -1) throw DecodeError("negative bytes length");
      return std::nullopt;
    }
    return take(static_cast<size_t>(len));
  }
  // Records borrow the input bytes (no copy).
  Records records(bool compact) {
    auto view = nullable_bytes_view(compact);
    if (!view) return Records::null();
    return Records::borrow(*view, owner_);
  }

  // Array length; -1 (classic) or 0 (compact) means null -> nullopt.
  // Each element takes at least one byte, so a count larger than what
  // remains is malformed and rejected before the caller reserves memory.
  std::optional<size_t> array_length(bool compact) {
    int64_t n = compact ? static_cast<int64_t>(uvarint()) - 1 : int32();
    if (n < 0) {
      if (!compact && n != -1) throw DecodeError("negative array length");
      return std::nullopt;
    }
    if (static_cast<size_t>(n) > remaining()) throw DecodeError("array length exceeds the frame");
    return static_cast<size_t>(n);
  }

  std::span<const uint8_t> take(size_t n) {
    if (n > remaining()) throw DecodeError("read past the end of the frame");
    auto s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  void skip(size_t n) { take(n); }

 private:
  template <typename T>
  T be() {
    auto b = take(sizeof(T));
    T v = 0;
    for (uint8_t byte : b) v = static_cast<T>((v << 8) | byte);
    return v;
  }

  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  std::shared_ptr<const void> owner_;
};

}  // namespace samsa::protocol
