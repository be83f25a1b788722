#pragma once
// The value of a `records` field: a run of record batches carried as an
// opaque bytes field. Decoding borrows the frame's bytes (no copy); `owner`
// keeps them alive. Null is distinct from empty.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace samsa::protocol {

class Records {
 public:
  Records() = default;  // empty, not null
  static Records null() {
    Records r;
    r.null_ = true;
    return r;
  }
  // Borrow `bytes`; `owner` must keep them alive.
  static Records borrow(std::span<const uint8_t> bytes, std::shared_ptr<const void> owner) {
    Records r;
    r.bytes_ = bytes;
    r.owner_ = std::move(owner);
    return r;
  }
  static Records copy_of(std::span<const uint8_t> bytes) {
    auto buf = std::make_shared<std::vector<uint8_t>>(bytes.begin(), bytes.end());
    return borrow(std::span<const uint8_t>(buf->data(), buf->size()), buf);
  }

  bool is_null() const { return null_; }
  std::span<const uint8_t> bytes() const { return bytes_; }
  size_t size() const { return bytes_.size(); }

  bool operator==(const Records& o) const {
    return null_ == o.null_ &&
           std::equal(bytes_.begin(), bytes_.end(), o.bytes_.begin(), o.bytes_.end());
  }

 private:
  bool null_ = false;
  std::span<const uint8_t> bytes_;
  std::shared_ptr<const void> owner_;
};

}  // namespace samsa::protocol
