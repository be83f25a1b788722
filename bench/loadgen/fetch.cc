// Fetch loop: one Fetch in flight per connection, for all of its partitions
// at their next offsets. Bytes and records are counted from the batch
// headers; no record is decoded.
#include "../options.h"  // now_ns
#include "samsa/protocol/gen/fetch_request.h"
#include "samsa/protocol/gen/fetch_response.h"
#include "samsa/protocol/record_batch.h"
#include "workers.h"

namespace samsa::bench::loadgen {

void FetchWorker::run(RunClock& clock) {
  try {
    int32_t corr = 0;
    for (;;) {
      const uint64_t now = now_ns();
      if (clock.should_stop(now)) return;
      protocol::FetchRequest req;
      req.max_wait_ms = o_.max_wait_ms;
      req.min_bytes = 1;
      req.max_bytes = o_.fetch_max_bytes;
      auto& topic = req.topics.emplace_back();
      topic.topic = o_.topic;
      for (const auto& [partition, offset] : position_) {
        if (o_.until_end && reached_end(partition)) continue;
        auto& fp = topic.partitions.emplace_back();
        fp.partition = partition;
        fp.fetch_offset = offset;
        fp.partition_max_bytes = o_.partition_max_bytes;
      }
      if (topic.partitions.empty()) return;  // --until-end: all caught up
      conn_->write_all(encode_request(req, kFetchVersion, corr), clock.hard_ns);
      const auto frame = conn_->read_frame(clock.hard_ns);
      const uint64_t t = now_ns();
      const auto resp = decode_response<protocol::FetchResponse>(frame, kFetchVersion, corr++);
      if (resp.error_code != 0) stats_.error("Fetch: error " + std::to_string(resp.error_code));
      int64_t bytes = 0, records = 0;
      for (const auto& rt : resp.responses) {
        for (const auto& p : rt.partitions) {
          auto pos = position_.find(p.partition_index);
          if (pos == position_.end()) continue;
          if (p.error_code != 0) {
            stats_.error("Fetch " + rt.topic + "-" + std::to_string(p.partition_index) +
                         ": error " + std::to_string(p.error_code));
            continue;
          }
          // A partial batch at the end of a response is normal: skip it.
          protocol::BatchIterator it(p.records.bytes());
          while (auto batch = it.next()) {
            if (batch->header.next_offset() <= pos->second) continue;  // before our position
            bytes += static_cast<int64_t>(batch->bytes.size());
            records += batch->header.records_count;
            pos->second = batch->header.next_offset();
          }
          if (it.stop() == protocol::BatchIterator::Stop::kCorrupt)
            stats_.error("Fetch " + rt.topic + "-" + std::to_string(p.partition_index) + ": " +
                         it.error());
        }
      }
      stats_.total_bytes += bytes;
      stats_.total_records += records;
      if (t >= clock.measure_ns) {
        stats_.bytes += bytes;
        stats_.records += records;
        ++stats_.requests;
        stats_.latency.record(t - now);
        clock.measured_bytes.fetch_add(bytes, std::memory_order_relaxed);
      }
    }
  } catch (const std::exception& e) {
    stats_.error(e.what());
  }
}

}  // namespace samsa::bench::loadgen
