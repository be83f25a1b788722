#include "samsa/log/index_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <system_error>

namespace samsa::log {
namespace {

[[noreturn]] void fail(const char* what, const std::string& path) {
  throw std::system_error(errno, std::generic_category(), std::string(what) + " " + path);
}

}  // namespace

IndexFile::Mapping::~Mapping() {
  if (data) ::munmap(data, len);
}

IndexFile::Layout IndexFile::probe(const std::string& path, size_t entry_size,
                                   int32_t max_index_bytes) {
  // A missing file is an empty index: it is created at its first entry (a
  // partition that is never written costs no index inodes).
  util::Env& env = util::Env::for_path(path);
  const size_t existing = env.exists(path) ? static_cast<size_t>(env.open_file(path, /*create=*/false)->size()) : 0;
  const size_t max_bytes = max_index_bytes > 0 ? static_cast<size_t>(max_index_bytes) : 0;
  return {existing, std::max(max_bytes / entry_size, existing / entry_size)};
}

IndexFile::IndexFile(std::string path, int64_t base_offset, size_t entry_size,
                     int32_t max_index_bytes)
    : IndexFile(path, base_offset, entry_size, probe(path, entry_size, max_index_bytes)) {}

IndexFile::IndexFile(std::string path, int64_t base_offset, size_t entry_size, Layout layout)
    : base_offset_(base_offset),
      entry_size_(entry_size),
      max_entries_(layout.max_entries),
      map_len_(layout.max_entries * entry_size),
      partial_entry_(layout.existing_bytes % entry_size != 0),
      mapping_(FileCache::instance(), std::move(path), &IndexFile::open_mapping, map_len_) {
  set_entries(layout.existing_bytes / entry_size_);
  file_bytes_.store(layout.existing_bytes, std::memory_order_relaxed);
}

IndexFile::~IndexFile() = default;

std::shared_ptr<IndexFile::Mapping> IndexFile::open_mapping(const std::string& path, uint64_t len) {
  auto m = std::make_shared<Mapping>();
  if (len == 0) return m;
  // The descriptor is only needed to create the mapping.
  auto file = util::Env::for_path(path).open_file(path, /*create=*/false);
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, file->native_fd(), 0);
  if (p == MAP_FAILED) fail("mmap", path);
  m->data = static_cast<uint8_t*>(p);
  m->len = len;
  return m;
}

void IndexFile::truncate_file(uint64_t size) {
  const std::string p = path();
  util::Env::for_path(p).open_file(p, /*create=*/true)->truncate(size);
  file_bytes_.store(size, std::memory_order_release);
}

void IndexFile::create_if_missing() {
  const std::string p = path();
  util::Env::for_path(p).open_file(p, /*create=*/true);
}

void IndexFile::pin() {
  // Nothing mapped or to map: an empty index may have no file at all.
  if (file_bytes_.load(std::memory_order_acquire) == 0) return;
  mapping_.pin();
}

void IndexFile::trim() {
  const uint64_t want = entries() * entry_size_;
  if (file_bytes_.load(std::memory_order_acquire) != want) truncate_file(want);
  allocated_bytes_ = std::min<size_t>(allocated_bytes_, want);
}

void IndexFile::resize_to_max() {
  if (file_bytes_.load(std::memory_order_acquire) != map_len_) truncate_file(map_len_);
}

void IndexFile::prepare_write(size_t i) {
  const size_t end = (i + 1) * entry_size_;
  if (end <= allocated_bytes_ && file_bytes_.load(std::memory_order_acquire) >= end) return;
  resize_to_max();  // creates the file at the first entry
  // A page at a time: one call per 340-512 entries, and an idle partition's
  // index reserves no more than it uses.
  constexpr size_t kStep = 4096;
  const size_t upto = std::min(map_len_, (end + kStep - 1) / kStep * kStep);
  if (upto > allocated_bytes_) {
    const std::string p = path();
    util::Env::for_path(p).open_file(p, /*create=*/false)->allocate(allocated_bytes_, upto - allocated_bytes_);
    allocated_bytes_ = upto;
  }
}

void IndexFile::reset() {
  set_entries(0);
  // Drop the old content so a later unclean stop cannot resurrect it.
  if (file_bytes_.load(std::memory_order_acquire) != 0 || partial_entry_) {
    truncate_file(0);
    mark_dirty();
  }
  allocated_bytes_ = 0;
  partial_entry_ = false;
}

void IndexFile::flush() {
  if (!dirty_.exchange(false, std::memory_order_relaxed)) return;
  const std::string p = path();
  try {
    // fsync of the file writes the pages dirtied through any mapping of it;
    // through the Env, so an injected fsync failure reaches here too.
    util::Env::for_path(p).open_file(p, /*create=*/false)->sync();
  } catch (...) {
    mark_dirty();
    throw;
  }
}

void IndexFile::rename_to(const std::string& new_path) {
  const std::string old = path();
  util::Env& env = util::Env::for_path(old);
  if (env.exists(old)) env.rename(old, new_path);
  mapping_.set_path(new_path);
}

void IndexFile::remove_file() {
  pin();
  const std::string p = path();
  util::Env::for_path(p).remove_file(p);
}

int64_t IndexFile::get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return static_cast<int64_t>(v);
}

int32_t IndexFile::get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | p[i];
  return static_cast<int32_t>(v);
}

void IndexFile::put64(uint8_t* p, int64_t v) {
  auto u = static_cast<uint64_t>(v);
  for (int i = 7; i >= 0; --i, u >>= 8) p[i] = static_cast<uint8_t>(u);
}

void IndexFile::put32(uint8_t* p, int32_t v) {
  auto u = static_cast<uint32_t>(v);
  for (int i = 3; i >= 0; --i, u >>= 8) p[i] = static_cast<uint8_t>(u);
}

}  // namespace samsa::log
