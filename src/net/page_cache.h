#pragma once
// Whether a file range is in the page cache, asked without touching the disk
// or the range's bytes (cachestat(2), Linux 6.5+). The auto fetch transfer
// uses it to send cached ranges with sendfile from a network thread and to
// leave the rest to the blocking-read pool: a sendfile of uncached bytes
// would make the reactor wait for the disk. Thread-safe.
#include <cstddef>
#include <cstdint>

namespace samsa::net {

enum class CacheState {
  kCached,     // every page of the range is in the page cache, and the last one is not still being
               // read in (a page may still be evicted later)
  kNotCached,  // at least one page is not
  kUnknown,    // the kernel cannot tell (no cachestat): treat as not cached
};

CacheState page_cache_state(int fd, uint64_t offset, size_t length);

// False once cachestat failed with ENOSYS/EPERM (old kernel, seccomp): the
// auto transfer then reads everything through pread.
bool page_cache_probe_available();

}  // namespace samsa::net
