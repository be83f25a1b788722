#pragma once
// Shared machinery of the two sparse segment indexes (.index, .timeindex):
// a file of fixed-size big-endian entries, preallocated to
// segment.index.bytes (rounded down to a whole number of entries) while its
// segment is active and trimmed to the entries actually written once the
// segment becomes inactive or is closed, as Kafka does.
//
// Why the mapping never moves: the file is mapped once with its largest
// possible length; growing/trimming only ftruncates the file. Readers on
// other threads therefore never see a mapping disappear under them; they only
// read entries below entries(), which is always inside the file.
//
// On open of an existing file every whole entry in it counts (Kafka's rule):
// an inactive segment's index was trimmed, and a preallocated, zero-filled
// tail (unclean stop) is caught by the sanity checks or rebuilt by recovery.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "samsa/util/env.h"

namespace samsa::log {

class IndexFile {
 public:
  IndexFile(std::string path, int64_t base_offset, size_t entry_size, int32_t max_index_bytes);
  virtual ~IndexFile();
  IndexFile(const IndexFile&) = delete;
  IndexFile& operator=(const IndexFile&) = delete;

  const std::string& path() const { return path_; }
  int64_t base_offset() const { return base_offset_; }
  size_t entries() const { return entries_.load(std::memory_order_acquire); }
  size_t max_entries() const { return max_entries_; }
  bool is_full() const { return entries() >= max_entries_; }
  // Whether the file held a partial trailing entry when it was opened.
  bool had_partial_entry() const { return partial_entry_; }

  // File length = entries * entry size (segment becomes inactive / close).
  void trim();
  // File length = the preallocated maximum (segment is active again).
  void resize_to_max();
  // Forgets every entry (before a rebuild).
  void reset();
  void flush();
  // Renames the file (suffix on delete); the mapping stays valid.
  void rename_to(const std::string& new_path);
  void remove_file();

 protected:
  uint8_t* slot(size_t i) const { return map_ + i * entry_size_; }
  // slot(i) for writing. The preallocated file is sparse: a store to a page
  // the filesystem cannot back (disk full) would be SIGBUS, not an error, so
  // the blocks are allocated first and a full disk throws ENOSPC instead.
  uint8_t* writable_slot(size_t i);
  void set_entries(size_t n) { entries_.store(n, std::memory_order_release); }
  // Largest i < entries() with key(i) <= target, or -1. `key` must be
  // non-decreasing over the entries.
  template <typename Key>
  long floor_index(int64_t target, Key key) const {
    long lo = 0, hi = static_cast<long>(entries()) - 1, found = -1;
    while (lo <= hi) {
      long mid = lo + (hi - lo) / 2;
      if (key(static_cast<size_t>(mid)) <= target) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  static int64_t get64(const uint8_t* p);
  static int32_t get32(const uint8_t* p);
  static void put64(uint8_t* p, int64_t v);
  static void put32(uint8_t* p, int32_t v);

  std::string path_;
  int64_t base_offset_;
  size_t entry_size_;
  size_t max_entries_ = 0;
  size_t map_len_ = 0;
  uint8_t* map_ = nullptr;
  std::unique_ptr<util::File> file_;  // through the Env; mmap uses its fd
  bool partial_entry_ = false;
  size_t allocated_bytes_ = 0;  // file bytes known to be backed by blocks
  std::atomic<size_t> entries_{0};
};

}  // namespace samsa::log
