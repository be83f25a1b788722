#include "samsa/log/offset_index.h"

#include <stdexcept>

namespace samsa::log {
namespace {

OffsetPosition decode(const uint8_t* p, int64_t base, int32_t (*get32)(const uint8_t*)) {
  return {base + get32(p), static_cast<uint32_t>(get32(p + 4))};
}

}  // namespace

OffsetPosition OffsetIndex::entry_in(const Mapping& m, size_t i) const {
  return decode(slot(m, i), base_offset_, &IndexFile::get32);
}

OffsetPosition OffsetIndex::entry(size_t i) const { return entry_in(*map(), i); }

OffsetPosition OffsetIndex::lookup(int64_t target_offset) const {
  if (entries() == 0) return {base_offset_, 0};
  auto m = map();
  long i = floor_index(target_offset, [&](size_t k) { return entry_in(*m, k).offset; });
  return i < 0 ? OffsetPosition{base_offset_, 0} : entry_in(*m, static_cast<size_t>(i));
}

OffsetPosition OffsetIndex::lookup_by_position(uint64_t position) const {
  if (entries() == 0) return {base_offset_, 0};
  auto m = map();
  long i = floor_index(static_cast<int64_t>(position),
                       [&](size_t k) { return static_cast<int64_t>(entry_in(*m, k).position); });
  return i < 0 ? OffsetPosition{base_offset_, 0} : entry_in(*m, static_cast<size_t>(i));
}

std::optional<OffsetPosition> OffsetIndex::last_entry() const {
  size_t n = entries();
  if (n == 0) return std::nullopt;
  return entry(n - 1);
}

void OffsetIndex::append(int64_t offset, uint32_t position) {
  size_t n = entries();
  if (n >= max_entries_) throw std::logic_error("append to a full offset index " + path());
  prepare_write(n);  // creates the file at the first entry
  auto m = map();
  if (n > 0) {
    OffsetPosition last = entry_in(*m, n - 1);
    if (offset <= last.offset || position <= last.position)
      throw std::logic_error("non-increasing offset index entry in " + path());
  }
  uint8_t* p = slot(*m, n);
  put32(p, static_cast<int32_t>(offset - base_offset_));
  put32(p + 4, static_cast<int32_t>(position));
  mark_dirty();
  set_entries(n + 1);  // publish after the bytes are in place
}

void OffsetIndex::truncate_to(int64_t offset) {
  if (entries() == 0) return;
  auto m = map();
  long i = floor_index(offset - 1, [&](size_t k) { return entry_in(*m, k).offset; });
  set_entries(static_cast<size_t>(i + 1));
}

std::optional<std::string> OffsetIndex::sanity_check(uint64_t log_size) const {
  if (partial_entry_) return "file length is not a multiple of " + std::to_string(kEntrySize);
  size_t n = entries();
  if (n == 0) return std::nullopt;
  auto m = map();
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = slot(*m, i);
    int32_t rel = get32(p);
    auto pos = static_cast<uint32_t>(get32(p + 4));
    if (rel < 0) return "negative relative offset at entry " + std::to_string(i);
    if (pos >= log_size && !(i == 0 && pos == 0))
      return "entry " + std::to_string(i) + " points past the log end";
    if (i > 0) {
      OffsetPosition prev = entry_in(*m, i - 1);
      if (base_offset_ + rel <= prev.offset || pos <= prev.position)
        return "entries not increasing at entry " + std::to_string(i);
    }
  }
  return std::nullopt;
}

}  // namespace samsa::log
