#pragma once
// Shared machinery of the two sparse segment indexes (.index, .timeindex):
// a file of fixed-size big-endian entries, preallocated to
// segment.index.bytes (rounded down to a whole number of entries) while its
// segment is active (from its first entry on) and trimmed to the entries actually written once the
// segment becomes inactive or is closed, as Kafka does.
//
// Why a mapping never moves under a reader: the file is always mapped with its
// largest possible length; growing/trimming only truncates the file, and
// readers only read entries below entries(), which is always inside the file.
//
// Mappings are opened lazily through FileCache::instance() (file_cache.h) and
// hold no descriptor: with 100,000 partitions the cache bounds how many
// indexes are mapped (vm.max_map_count). Every operation holds its mapping
// for its duration, so an eviction meanwhile only unmaps it afterwards. The
// entry count lives here, not in the file, so it survives an eviction.
//
// On open of an existing file every whole entry in it counts (Kafka's rule):
// an inactive segment's index was trimmed, and a preallocated, zero-filled
// tail (unclean stop) is caught by the sanity checks or rebuilt by recovery.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "samsa/log/file_cache.h"
#include "samsa/util/env.h"

namespace samsa::log {

class IndexFile {
 public:
  IndexFile(std::string path, int64_t base_offset, size_t entry_size, int32_t max_index_bytes);
  virtual ~IndexFile();
  IndexFile(const IndexFile&) = delete;
  IndexFile& operator=(const IndexFile&) = delete;

  std::string path() const { return mapping_.path(); }
  int64_t base_offset() const { return base_offset_; }
  size_t entries() const { return entries_.load(std::memory_order_acquire); }
  size_t max_entries() const { return max_entries_; }
  bool is_full() const { return entries() >= max_entries_; }
  // Whether the file held a partial trailing entry when it was opened.
  bool had_partial_entry() const { return partial_entry_; }

  // File length = entries * entry size (segment becomes inactive / close).
  void trim();
  // File length = the preallocated maximum. An active segment's index gets
  // it at its first append (make_room_for), so a partition that is never
  // written costs no preallocation and no truncate at start or close.
  void resize_to_max();
  // Forgets every entry (before a rebuild).
  void reset();
  // fdatasync of the file (which also writes pages dirtied through a
  // mapping); skipped when nothing changed since the last flush.
  void flush();
  // Renames the file (suffix on delete); the mapping stays valid.
  void rename_to(const std::string& new_path);
  // Unlinks the file; pins the mapping first so readers keep working.
  void remove_file();
  // Keeps the mapping outside the cache (the file is about to be renamed away).
  void pin();
  // An index without entries may have no file yet (see probe): creates an
  // empty one for a caller that renames the files by name.
  void create_if_missing();

 protected:
  struct Mapping {
    uint8_t* data = nullptr;
    size_t len = 0;
    ~Mapping();
  };
  // The mapping, opened if it was evicted; hold it while using slot().
  std::shared_ptr<Mapping> map() const { return mapping_.get(); }
  uint8_t* slot(const Mapping& m, size_t i) const { return m.data + i * entry_size_; }
  void mark_dirty() { dirty_.store(true, std::memory_order_relaxed); }
  // Before writing entry i: the file is created and preallocated if it is
  // shorter, and its blocks are allocated a page at a time (a store to a
  // page the filesystem cannot back would be SIGBUS; a full disk throws
  // ENOSPC here instead). Call before map() for the write.
  void prepare_write(size_t i);
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

  int64_t base_offset_;
  size_t entry_size_;
  size_t max_entries_ = 0;
  size_t map_len_ = 0;
  bool partial_entry_ = false;
  size_t allocated_bytes_ = 0;  // file bytes known to be backed by blocks
  std::atomic<size_t> entries_{0};
  std::atomic<bool> dirty_{false};
  std::atomic<uint64_t> file_bytes_{0};  // the file's length as we last set it

 private:
  struct Layout {
    size_t existing_bytes;
    size_t max_entries;
  };
  // Creates the file if missing and measures it.
  static Layout probe(const std::string& path, size_t entry_size, int32_t max_index_bytes);
  IndexFile(std::string path, int64_t base_offset, size_t entry_size, Layout layout);
  static std::shared_ptr<Mapping> open_mapping(const std::string& path, uint64_t len);
  void truncate_file(uint64_t size);
  CachedFile<Mapping> mapping_;
};

}  // namespace samsa::log
