#pragma once
// The value of a `records` field: a run of record batches carried as an
// opaque bytes field. Decoding borrows the frame's bytes (no copy); `owner`
// keeps them alive. Null is distinct from empty. On the fetch path the bytes
// may instead be a range of a segment file, which the writer leaves in place
// as a splice for the socket layer to send from the file.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "samsa/util/file_range.h"

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
  // Bytes still in a file (a fetch read): encoded without being read.
  static Records from_file(util::FileRange range) {
    Records r;
    r.file_ = std::move(range);
    return r;
  }
  static Records copy_of(std::span<const uint8_t> bytes) {
    auto buf = std::make_shared<std::vector<uint8_t>>(bytes.begin(), bytes.end());
    return borrow(std::span<const uint8_t>(buf->data(), buf->size()), buf);
  }

  bool is_null() const { return null_; }
  bool in_file() const { return file_.fd >= 0; }
  const util::FileRange& file_range() const { return file_; }
  // In-memory bytes; empty for file-backed records (see in_file()).
  std::span<const uint8_t> bytes() const { return bytes_; }
  size_t size() const { return in_file() ? file_.length : bytes_.size(); }
  // What keeps bytes() alive (null for owned copies made elsewhere).
  const std::shared_ptr<const void>& owner() const { return owner_; }

  bool operator==(const Records& o) const {
    return null_ == o.null_ && file_ == o.file_ &&
           std::equal(bytes_.begin(), bytes_.end(), o.bytes_.begin(), o.bytes_.end());
  }

 private:
  bool null_ = false;
  std::span<const uint8_t> bytes_;
  std::shared_ptr<const void> owner_;
  util::FileRange file_;
};

}  // namespace samsa::protocol
