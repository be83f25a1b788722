#include "memory_return.h"

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>

#include <boost/asio/post.hpp>

#include "blocking_reads.h"
#include "samsa/net/io_context_pool.h"

namespace samsa::net {
namespace {

// Requests up to this size (produce frames, fetch chunks) come from the
// arenas; larger ones are mapped and unmapped on their own.
constexpr int kMmapThreshold = 8 << 20;
// A free top beyond this is returned by free() in normal operation.
constexpr int kTrimThreshold = 16 << 20;
// While giving memory back: any free top beyond this goes.
constexpr int kLowTrimThreshold = 256 << 10;
// Freed under the low threshold to make free() trim the arena's top. At
// least glibc's 64 KiB consolidation threshold, below any mmap threshold.
constexpr size_t kNudgeBytes = 96 << 10;

std::atomic<bool> g_releasing{false};

void nudge_this_thread() {
  void* p = std::malloc(kNudgeBytes);
  std::free(p);
}

}  // namespace

void configure_malloc_for_server() {
  static std::once_flag once;
  std::call_once(once, [] {
    ::mallopt(M_MMAP_THRESHOLD, kMmapThreshold);
    ::mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
  });
}

void give_memory_back(IoContextPool& pool) {
  configure_malloc_for_server();
  if (g_releasing.exchange(true)) return;  // one release at a time
  ::mallopt(M_TRIM_THRESHOLD, kLowTrimThreshold);
  nudge_this_thread();
  auto left = std::make_shared<std::atomic<size_t>>(pool.size());
  for (size_t i = 0; i < pool.size(); ++i) {
    boost::asio::post(pool.at(i), [left] {
      nudge_this_thread();
      if (left->fetch_sub(1) != 1) return;
      boost::asio::post(blocking_reads(), [] {
        ::malloc_trim(0);
        ::mallopt(M_TRIM_THRESHOLD, kTrimThreshold);
        g_releasing.store(false);
      });
    });
  }
}

}  // namespace samsa::net
