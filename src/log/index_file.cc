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

IndexFile::IndexFile(std::string path, int64_t base_offset, size_t entry_size,
                     int32_t max_index_bytes)
    : path_(std::move(path)), base_offset_(base_offset), entry_size_(entry_size) {
  file_ = util::Env::for_path(path_).open_file(path_, /*create=*/true);
  const size_t existing = static_cast<size_t>(file_->size());
  partial_entry_ = existing % entry_size_ != 0;
  const size_t existing_entries = existing / entry_size_;
  const size_t max_bytes = max_index_bytes > 0 ? static_cast<size_t>(max_index_bytes) : 0;
  max_entries_ = std::max(max_bytes / entry_size_, existing_entries);
  map_len_ = max_entries_ * entry_size_;
  if (map_len_ > 0) {
    void* p = ::mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_SHARED, file_->native_fd(), 0);
    if (p == MAP_FAILED) fail("mmap", path_);
    map_ = static_cast<uint8_t*>(p);
  }
  set_entries(existing_entries);
  // A new (or empty) file is preallocated right away, as in Kafka; the
  // segment trims it if it turns out to be inactive.
  if (existing == 0) resize_to_max();
}

IndexFile::~IndexFile() {
  if (map_) ::munmap(map_, map_len_);
}

uint8_t* IndexFile::writable_slot(size_t i) {
  const size_t end = (i + 1) * entry_size_;
  if (end > allocated_bytes_) {
    // A page at a time: one call per 340-512 entries, and an idle
    // partition's index reserves no more than it uses.
    constexpr size_t kStep = 4096;
    const size_t upto = std::min(map_len_, (end + kStep - 1) / kStep * kStep);
    file_->allocate(allocated_bytes_, upto - allocated_bytes_);
    allocated_bytes_ = upto;
  }
  return slot(i);
}

void IndexFile::trim() {
  file_->truncate(entries() * entry_size_);
  allocated_bytes_ = std::min(allocated_bytes_, entries() * entry_size_);
}

void IndexFile::resize_to_max() {
  file_->truncate(map_len_);
}

void IndexFile::reset() {
  set_entries(0);
  partial_entry_ = false;
  // Drop the old content so a later unclean stop cannot resurrect it.
  file_->truncate(0);
  allocated_bytes_ = 0;
  resize_to_max();
}

void IndexFile::flush() {
  if (map_ && ::msync(map_, map_len_, MS_SYNC) != 0) fail("msync", path_);
  file_->sync();  // through the Env, so an injected fsync failure reaches here too
}

void IndexFile::rename_to(const std::string& new_path) {
  util::Env& env = util::Env::for_path(path_);
  if (env.exists(path_)) env.rename(path_, new_path);
  path_ = new_path;
}

void IndexFile::remove_file() {
  util::Env::for_path(path_).remove_file(path_);
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
