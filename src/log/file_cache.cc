#include "samsa/log/file_cache.h"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>

namespace samsa::log {
namespace {

// Descriptors left for sockets, the metadata log, checkpoints being written
// and the like: a quarter of the limit, at least 256.
constexpr uint64_t kMinHeadroom = 256;
constexpr size_t kMinCapacity = 64;

uint64_t fd_soft_limit() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1 << 20;
  return rl.rlim_cur;
}

uint64_t max_map_count() {
  std::ifstream in("/proc/sys/vm/max_map_count");
  uint64_t n = 0;
  if (in >> n && n > 0) return n;
  return 65530;  // the kernel's default
}

}  // namespace

FileCache::FileCache(size_t capacity) : capacity_(std::max(capacity, kMinCapacity)) {}

FileCache::~FileCache() = default;

FileCache& FileCache::instance() {
  static FileCache cache(default_capacity());
  return cache;
}

size_t FileCache::default_capacity() {
  const uint64_t fds = fd_soft_limit();
  const uint64_t headroom = std::max(kMinHeadroom, fds / 4);
  const uint64_t by_fds = fds > headroom ? fds - headroom : kMinCapacity;
  // Threads, heap arenas and shared libraries take mappings too.
  const uint64_t by_maps = max_map_count() / 2;
  return static_cast<size_t>(std::max<uint64_t>(kMinCapacity, std::min(by_fds, by_maps)));
}

uint64_t FileCache::raise_fd_limit() {
  struct rlimit rl {};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return fd_soft_limit();
  if (rl.rlim_cur != rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  return fd_soft_limit();
}

size_t FileCache::shard_capacity() const {
  return std::max<size_t>(1, (capacity() + kShards - 1) / kShards);
}

void FileCache::set_capacity(size_t capacity) {
  capacity_.store(std::max(capacity, kMinCapacity), std::memory_order_relaxed);
  for (auto& s : shards_) {
    std::vector<std::shared_ptr<void>> evicted;
    std::lock_guard lock(s.mu);
    trim_locked(s, evicted);
  }
}

size_t FileCache::size() const {
  size_t n = 0;
  for (auto& s : shards_) {
    std::lock_guard lock(const_cast<std::mutex&>(s.mu));
    n += s.index.size();
  }
  return n;
}

std::shared_ptr<void> FileCache::lookup(uint64_t id) {
  Shard& s = shard(id);
  std::lock_guard lock(s.mu);
  auto it = s.index.find(id);
  if (it == s.index.end()) return nullptr;
  s.lru.splice(s.lru.begin(), s.lru, it->second);
  return it->second->second;
}

void FileCache::insert(uint64_t id, std::shared_ptr<void> value) {
  Shard& s = shard(id);
  // Closing files (close, munmap) happens after the lock is released.
  std::vector<std::shared_ptr<void>> evicted;
  std::lock_guard lock(s.mu);
  if (auto it = s.index.find(id); it != s.index.end()) {
    evicted.push_back(std::move(it->second->second));
    it->second->second = std::move(value);
    s.lru.splice(s.lru.begin(), s.lru, it->second);
  } else {
    s.lru.emplace_front(id, std::move(value));
    s.index.emplace(id, s.lru.begin());
  }
  trim_locked(s, evicted);
}

void FileCache::erase(uint64_t id) {
  Shard& s = shard(id);
  std::shared_ptr<void> doomed;
  std::lock_guard lock(s.mu);
  auto it = s.index.find(id);
  if (it == s.index.end()) return;
  doomed = std::move(it->second->second);
  s.lru.erase(it->second);
  s.index.erase(it);
}

void FileCache::trim_locked(Shard& s, std::vector<std::shared_ptr<void>>& out) {
  const size_t cap = shard_capacity();
  while (s.index.size() > cap) {
    auto& victim = s.lru.back();
    out.push_back(std::move(victim.second));
    s.index.erase(victim.first);
    s.lru.pop_back();
  }
}

}  // namespace samsa::log
