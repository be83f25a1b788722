// The two load loops of samsa-loadgen. Each worker owns one Connection and
// runs on its own thread; they share only the RunClock (read-only times and
// two atomics). Everything a worker needs is prepared before the clock
// starts: the connection, the pre-encoded Produce requests, the offsets.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "connection.h"
#include "options.h"
#include "report.h"
#include "wire.h"

namespace samsa::bench::loadgen {

struct RunClock {
  uint64_t start_ns = 0;
  uint64_t measure_ns = 0;  // end of the warm-up: counting starts here
  uint64_t end_ns = 0;      // measure_ns + duration: no new requests after this
  uint64_t hard_ns = 0;     // --timeout-s: everything stops, as a failure
  int64_t byte_limit = 0;   // --bytes, 0 = none
  std::atomic<int64_t> measured_bytes{0};

  bool should_stop(uint64_t now) const {
    return now >= end_ns || now >= hard_ns ||
           (byte_limit > 0 && measured_bytes.load(std::memory_order_relaxed) >= byte_limit);
  }
};

class ProduceWorker {
 public:
  ProduceWorker(std::unique_ptr<Connection> conn, std::vector<EncodedProduce> ring, int inflight,
                bool acks0)
      : conn_(std::move(conn)), ring_(std::move(ring)), inflight_(inflight), acks0_(acks0) {}
  void run(RunClock& clock);  // on the worker's thread
  const WorkerStats& stats() const { return stats_; }

 private:
  void run_acks(RunClock& clock);
  void run_no_acks(RunClock& clock);
  void check_response(std::span<const uint8_t> frame, int32_t correlation_id);

  std::unique_ptr<Connection> conn_;
  std::vector<EncodedProduce> ring_;
  int inflight_;
  bool acks0_;
  WorkerStats stats_;
};

class FetchWorker {
 public:
  // Reads `topic` from start[p] for each partition p; with until_end it stops
  // once every partition reached end[p].
  FetchWorker(std::unique_ptr<Connection> conn, const Options& o,
              std::map<int32_t, int64_t> start, std::map<int32_t, int64_t> end)
      : conn_(std::move(conn)), o_(o), position_(std::move(start)), end_(std::move(end)) {}
  void run(RunClock& clock);
  const WorkerStats& stats() const { return stats_; }

 private:
  bool reached_end(int32_t partition) const { return position_.at(partition) >= end_.at(partition); }

  std::unique_ptr<Connection> conn_;
  const Options& o_;
  std::map<int32_t, int64_t> position_, end_;
  WorkerStats stats_;
};

}  // namespace samsa::bench::loadgen
