#include "page_cache.h"

#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace samsa::net {
namespace {

// cachestat(2): glibc has no wrapper and older headers no number for it; 451
// is the same on every architecture (asm-generic and x86_64 alike).
#ifdef SYS_cachestat
constexpr long kCachestat = SYS_cachestat;
#else
constexpr long kCachestat = 451;
#endif

struct CachestatRange {
  uint64_t off;
  uint64_t len;
};
struct Cachestat {
  uint64_t nr_cache;
  uint64_t nr_dirty;
  uint64_t nr_writeback;
  uint64_t nr_evicted;
  uint64_t nr_recently_evicted;
};

std::atomic<bool> g_available{true};

}  // namespace

bool page_cache_probe_available() { return g_available.load(std::memory_order_relaxed); }

CacheState page_cache_state(int fd, uint64_t offset, size_t length) {
  if (length == 0) return CacheState::kCached;
  if (!page_cache_probe_available()) return CacheState::kUnknown;
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  CachestatRange range{offset, length};
  Cachestat stat{};
  if (::syscall(kCachestat, fd, &range, &stat, 0) != 0) {
    if (errno == ENOSYS || errno == EPERM) g_available.store(false, std::memory_order_relaxed);
    return CacheState::kUnknown;
  }
  // cachestat counts the pages that overlap the byte range (dirty ones too:
  // their bytes are in memory as well).
  const uint64_t pages = (offset + length - 1) / page - offset / page + 1;
  if (stat.nr_cache < pages) return CacheState::kNotCached;
  // It also counts pages that readahead has added but the disk not yet
  // filled (a sendfile would wait for them). Readahead submits a range front
  // to back, so the last byte readable without waiting says the rest almost
  // surely is (if not, the sender waits for the end of that one read).
  uint8_t last = 0;
  iovec iov{&last, 1};
  if (::preadv2(fd, &iov, 1, static_cast<off_t>(offset + length - 1), RWF_NOWAIT) != 1) return CacheState::kNotCached;
  return CacheState::kCached;
}

}  // namespace samsa::net
