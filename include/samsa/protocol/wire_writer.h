#pragma once
// Writer of Kafka's primitive wire types into a growable buffer that can be
// reused across messages (clear() keeps the capacity). File-backed records
// are not copied: their length prefix is written and a splice records where
// the file's bytes belong, so the message is buffer[0, at1) + file range 1 +
// buffer[at1, at2) + ... (see splices()).
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "samsa/protocol/records.h"
#include "samsa/protocol/uuid.h"

namespace samsa::protocol {

struct Splice {
  size_t at = 0;  // position in the buffer where the range's bytes belong
  util::FileRange range;
};

class WireWriter {
 public:
  WireWriter() = default;

  void clear() {
    buf_.clear();
    splices_.clear();
    spliced_bytes_ = 0;
  }
  // Bytes in the buffer only; encoded_size() adds the spliced file ranges.
  size_t size() const { return buf_.size(); }
  size_t encoded_size() const { return buf_.size() + spliced_bytes_; }
  const std::vector<Splice>& splices() const { return splices_; }
  std::vector<Splice> take_splices() {
    spliced_bytes_ = 0;
    return std::move(splices_);
  }
  const uint8_t* data() const { return buf_.data(); }
  std::span<const uint8_t> view() const { return buf_; }
  std::vector<uint8_t>& buffer() { return buf_; }
  std::vector<uint8_t> take() { return std::move(buf_); }

  void int8(int8_t v) { buf_.push_back(static_cast<uint8_t>(v)); }
  void uint8(uint8_t v) { buf_.push_back(v); }
  void boolean(bool v) { uint8(v ? 1 : 0); }
  void int16(int16_t v) { be(static_cast<uint16_t>(v)); }
  void uint16(uint16_t v) { be(v); }
  void int32(int32_t v) { be(static_cast<uint32_t>(v)); }
  void uint32(uint32_t v) { be(v); }
  void int64(int64_t v) { be(static_cast<uint64_t>(v)); }
  void float64(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof d);
    be(bits);
  }
  void uuid(const Uuid& u) { raw(u.bytes); }

  void uvarint(uint32_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    buf_.push_back(static_cast<uint8_t>(v));
  }
  void uvarlong(uint64_t v) {
    while (v >= 0x80) {
      buf_.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    buf_.push_back(static_cast<uint8_t>(v));
  }
  void varint(int32_t v) {
    uvarint((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
  }
  void varlong(int64_t v) {
    uvarlong((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }

  void string(std::string_view s, bool compact) {
    length(s.size(), compact, /*classic_int16=*/true);
    raw(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }
  void nullable_string(const std::optional<std::string>& s, bool compact) {
    if (!s) return null_length(compact, true);
    string(*s, compact);
  }
  void bytes(std::span<const uint8_t> b, bool compact) {
    length(b.size(), compact, /*classic_int16=*/false);
    raw(b);
  }
  void nullable_bytes(const std::optional<std::vector<uint8_t>>& b, bool compact) {
    if (!b) return null_length(compact, false);
    bytes(*b, compact);
  }
  void records(const Records& r, bool compact) {
    if (r.is_null()) return null_length(compact, false);
    if (r.in_file()) {
      length(r.size(), compact, false);
      if (r.size() > 0) {
        splices_.push_back(Splice{buf_.size(), r.file_range()});
        spliced_bytes_ += r.size();
      }
      return;
    }
    bytes(r.bytes(), compact);
  }
  // Array length prefix; nullopt writes null.
  void array_length(std::optional<size_t> n, bool compact) {
    if (!n) return null_length(compact, false);
    length(*n, compact, false);
  }

  void raw(std::span<const uint8_t> b) { buf_.insert(buf_.end(), b.begin(), b.end()); }
  // Overwrite a big-endian int32 written earlier (e.g. a size prefix).
  void patch_int32(size_t pos, int32_t v) {
    uint32_t u = static_cast<uint32_t>(v);
    for (int i = 3; i >= 0; --i, u >>= 8) buf_[pos + i] = static_cast<uint8_t>(u);
  }

 private:
  void length(size_t n, bool compact, bool classic_int16) {
    if (compact) return uvarint(static_cast<uint32_t>(n + 1));
    if (classic_int16) return int16(static_cast<int16_t>(n));
    int32(static_cast<int32_t>(n));
  }
  void null_length(bool compact, bool classic_int16) {
    if (compact) return uvarint(0);
    if (classic_int16) return int16(-1);
    int32(-1);
  }
  template <typename T>
  void be(T v) {
    uint8_t tmp[sizeof(T)];
    for (int i = sizeof(T) - 1; i >= 0; --i, v >>= 8) tmp[i] = static_cast<uint8_t>(v);
    buf_.insert(buf_.end(), tmp, tmp + sizeof(T));
  }

  std::vector<uint8_t> buf_;
  std::vector<Splice> splices_;
  size_t spliced_bytes_ = 0;
};

}  // namespace samsa::protocol
