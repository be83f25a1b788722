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
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) fail("stat", path);
    st.st_size = 0;
  }
  const size_t existing = static_cast<size_t>(st.st_size);
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
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) fail("open", path);
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  if (p == MAP_FAILED) fail("mmap", path);
  m->data = static_cast<uint8_t*>(p);
  m->len = len;
  return m;
}

void IndexFile::truncate_file(uint64_t size) {
  const std::string p = path();
  if (::truncate(p.c_str(), static_cast<off_t>(size)) != 0) {
    if (errno != ENOENT) fail("truncate", p);
    int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) fail("open", p);
    const int rc = ::ftruncate(fd, static_cast<off_t>(size));
    const int saved = errno;
    ::close(fd);
    errno = saved;
    if (rc != 0) fail("ftruncate", p);
  }
  file_bytes_.store(size, std::memory_order_release);
}

void IndexFile::create_if_missing() {
  const std::string p = path();
  int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) fail("open", p);
  ::close(fd);
}

void IndexFile::pin() {
  // Nothing mapped or to map: an empty index may have no file at all.
  if (file_bytes_.load(std::memory_order_acquire) == 0) return;
  mapping_.pin();
}

void IndexFile::trim() {
  const uint64_t want = entries() * entry_size_;
  if (file_bytes_.load(std::memory_order_acquire) != want) truncate_file(want);
}

void IndexFile::resize_to_max() {
  if (file_bytes_.load(std::memory_order_acquire) != map_len_) truncate_file(map_len_);
}

void IndexFile::make_room_for(size_t n) {
  // Writing a mapped page past the end of the file would be SIGBUS.
  if (file_bytes_.load(std::memory_order_acquire) < (n + 1) * entry_size_) resize_to_max();
}

void IndexFile::reset() {
  set_entries(0);
  // Drop the old content so a later unclean stop cannot resurrect it.
  if (file_bytes_.load(std::memory_order_acquire) != 0 || partial_entry_) {
    truncate_file(0);
    mark_dirty();
  }
  partial_entry_ = false;
}

void IndexFile::flush() {
  if (!dirty_.exchange(false, std::memory_order_relaxed)) return;
  const std::string p = path();
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    mark_dirty();
    fail("open", p);
  }
  const int rc = ::fdatasync(fd);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  if (rc != 0) {
    mark_dirty();
    fail("fsync", p);
  }
}

void IndexFile::rename_to(const std::string& new_path) {
  const std::string old = path();
  if (::rename(old.c_str(), new_path.c_str()) != 0 && errno != ENOENT) fail("rename", old);
  mapping_.set_path(new_path);
}

void IndexFile::remove_file() {
  pin();
  const std::string p = path();
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) fail("unlink", p);
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
