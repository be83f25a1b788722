#pragma once
// A bounded cache of open files (descriptors and index mappings), so a broker
// with 100,000 partitions needs neither 100,000 descriptors nor 200,000
// mappings. LevelDB's table cache is the model: an LRU of opened things keyed
// by a number, sharded to keep lock hold times short.
//
// Ownership is shared: the cache holds one reference to each open file and a
// user holds its own while it works (a fetch doing sendfile/pread, a binary
// search over an index). Evicting only drops the cache's reference, so the
// descriptor closes (or the mapping goes) when the last user lets go. The
// cache can therefore briefly exceed its capacity by what users still hold.
//
// CachedFile<T> is one file's slot: it remembers the path and reopens the
// file on demand after an eviction.
//
// Threads: every member of FileCache and CachedFile is thread-safe.
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace samsa::log {

class FileCache {
 public:
  explicit FileCache(size_t capacity);
  ~FileCache();
  FileCache(const FileCache&) = delete;
  FileCache& operator=(const FileCache&) = delete;

  // The cache every log segment uses. Its capacity starts at
  // default_capacity() for this process's limits; the broker may set another.
  static FileCache& instance();
  // From RLIMIT_NOFILE minus headroom for sockets and other files, and at
  // most half of vm.max_map_count (index files are mappings, not fds).
  static size_t default_capacity();
  // Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft one.
  static uint64_t raise_fd_limit();

  // Evicts least recently used entries if the new capacity is smaller.
  void set_capacity(size_t capacity);
  size_t capacity() const { return capacity_.load(std::memory_order_relaxed); }
  // Entries the cache holds now (not counting references held elsewhere).
  size_t size() const;
  // How many times a file had to be opened (initial opens included).
  uint64_t opens() const { return opens_.load(std::memory_order_relaxed); }

  uint64_t new_id() { return next_id_.fetch_add(1, std::memory_order_relaxed); }
  // The entry for `id`, now the most recently used; null if not cached.
  std::shared_ptr<void> lookup(uint64_t id);
  // Adds (or replaces) `id`'s entry and evicts beyond the capacity.
  void insert(uint64_t id, std::shared_ptr<void> value);
  void erase(uint64_t id);

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    std::mutex mu;
    std::list<std::pair<uint64_t, std::shared_ptr<void>>> lru;  // front = most recent
    std::unordered_map<uint64_t, decltype(lru)::iterator> index;
  };
  Shard& shard(uint64_t id) { return shards_[id % kShards]; }
  size_t shard_capacity() const;
  // Pops entries past the shard's capacity into `out` (released unlocked).
  void trim_locked(Shard& s, std::vector<std::shared_ptr<void>>& out);

  std::atomic<size_t> capacity_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<uint64_t> opens_{0};
  Shard shards_[kShards];

  template <typename T>
  friend class CachedFile;
};

// One file that is opened lazily through a FileCache. `open` is called with
// the current path whenever the file is not in the cache.
template <typename T>
class CachedFile {
 public:
  // A plain function (not std::function): there are three slots per segment.
  // `arg` is whatever number the opener needs besides the path (a length).
  using Opener = std::shared_ptr<T> (*)(const std::string& path, uint64_t arg);
  CachedFile(FileCache& cache, std::string path, Opener open, uint64_t arg = 0)
      : cache_(cache), id_(cache.new_id()), path_(std::move(path)), open_(open), arg_(arg) {}
  ~CachedFile() { cache_.erase(id_); }
  CachedFile(const CachedFile&) = delete;
  CachedFile& operator=(const CachedFile&) = delete;

  // The open file; opens it if it was evicted. Throws what the opener throws.
  std::shared_ptr<T> get() const {
    if (auto hit = cache_.lookup(id_)) return std::static_pointer_cast<T>(hit);
    std::lock_guard lock(mu_);
    if (pinned_) return pinned_;
    if (auto hit = cache_.lookup(id_)) return std::static_pointer_cast<T>(hit);
    std::shared_ptr<T> opened = open_(path_, arg_);
    cache_.opens_.fetch_add(1, std::memory_order_relaxed);
    cache_.insert(id_, opened);
    return opened;
  }
  // A file opened by the caller (just created) becomes the cached one.
  void adopt(std::shared_ptr<T> opened) {
    cache_.opens_.fetch_add(1, std::memory_order_relaxed);
    cache_.insert(id_, std::move(opened));
  }
  std::string path() const {
    std::lock_guard lock(mu_);
    return path_;
  }
  // The file was renamed: later reopens use the new name.
  void set_path(std::string path) {
    std::lock_guard lock(mu_);
    path_ = std::move(path);
  }
  // Keeps the file open outside the cache from now on: call before the file
  // is renamed away or unlinked, so holders of the owner can still read it.
  void pin() {
    auto f = get();
    std::lock_guard lock(mu_);
    pinned_ = std::move(f);
    cache_.erase(id_);
  }

 private:
  FileCache& cache_;
  const uint64_t id_;
  mutable std::mutex mu_;  // path_, pinned_, and one open at a time
  std::string path_;
  std::shared_ptr<T> pinned_;
  const Opener open_;
  const uint64_t arg_;
};

}  // namespace samsa::log
