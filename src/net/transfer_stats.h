#pragma once
// Process-wide counts of how reply file ranges reached the sockets, by path:
// which transfer the auto mode picked, for tests and for checking a
// benchmark run. Relaxed atomics, bumped once per syscall; any thread.
#include <atomic>
#include <cstdint>

namespace samsa::net {

struct TransferStats {
  std::atomic<uint64_t> sendfile_bytes{0};  // sent with sendfile(2)
  std::atomic<uint64_t> copied_bytes{0};    // read into memory (pread, the pool, io_uring), then written
  std::atomic<uint64_t> inlined_bytes{0};   // small cached ranges copied into a reply's gather write
  std::atomic<uint64_t> pool_reads{0};      // chunks read on the blocking-read pool (not in the page cache)
};

TransferStats& transfer_stats();

}  // namespace samsa::net
