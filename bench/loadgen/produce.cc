// Produce loop: keeps `inflight` pre-encoded requests on the wire, patching
// only the correlation id; each response is checked and timed.
#include <vector>

#include "../options.h"  // now_ns
#include "samsa/protocol/gen/produce_response.h"
#include "workers.h"

namespace samsa::bench::loadgen {

void ProduceWorker::run(RunClock& clock) {
  try {
    if (acks0_)
      run_no_acks(clock);
    else
      run_acks(clock);
  } catch (const std::exception& e) {
    stats_.error(e.what());
  }
}

void ProduceWorker::check_response(std::span<const uint8_t> frame, int32_t correlation_id) {
  const auto resp =
      decode_response<protocol::ProduceResponse>(frame, kProduceVersion, correlation_id);
  for (const auto& t : resp.responses)
    for (const auto& p : t.partition_responses)
      if (p.error_code != 0)
        stats_.error("Produce " + t.name + "-" + std::to_string(p.index) + ": error " +
                     std::to_string(p.error_code) +
                     (p.error_message ? " (" + *p.error_message + ")" : std::string()));
}

void ProduceWorker::run_acks(RunClock& clock) {
  struct Pending {
    uint64_t sent_ns;
    size_t ring_index;
    int32_t correlation_id;
  };
  const auto n = static_cast<size_t>(inflight_);
  std::vector<Pending> pending(n);  // circular: [head, head + count)
  size_t head = 0, count = 0, next = 0;
  int32_t corr = 0;
  std::vector<iovec> iov;
  iov.reserve(n);
  for (;;) {
    const uint64_t now = now_ns();
    if (!clock.should_stop(now)) {  // top the pipeline up with one writev
      iov.clear();
      for (; count < n; ++count) {
        const size_t idx = next++ % ring_.size();
        auto& frame = ring_[idx].frame;
        set_correlation_id(frame, corr);
        iov.push_back({frame.data(), frame.size()});
        pending[(head + count) % n] = {now, idx, corr++};
      }
      if (!iov.empty()) conn_->write_all(iov, clock.hard_ns);
    }
    if (count == 0) return;
    // At least one response, then whatever else has already arrived.
    do {
      const auto frame = conn_->read_frame(clock.hard_ns);
      const uint64_t t = now_ns();
      const Pending p = pending[head];
      head = (head + 1) % n;
      --count;
      check_response(frame, p.correlation_id);
      const EncodedProduce& req = ring_[p.ring_index];
      stats_.total_bytes += req.batch_bytes;
      stats_.total_records += req.records;
      if (t >= clock.measure_ns) {
        stats_.bytes += req.batch_bytes;
        stats_.records += req.records;
        ++stats_.requests;
        stats_.latency.record(t - p.sent_ns);
        clock.measured_bytes.fetch_add(req.batch_bytes, std::memory_order_relaxed);
      }
    } while (count > 0 && conn_->frame_buffered());
  }
}

// acks=0: the broker sends no response, so a request counts once written.
void ProduceWorker::run_no_acks(RunClock& clock) {
  const auto n = static_cast<size_t>(inflight_);
  std::vector<iovec> iov;
  iov.reserve(n);
  size_t next = 0;
  int32_t corr = 0;
  while (!clock.should_stop(now_ns())) {
    iov.clear();
    int64_t bytes = 0, records = 0;
    for (size_t i = 0; i < n; ++i) {
      auto& req = ring_[next++ % ring_.size()];
      set_correlation_id(req.frame, corr++);
      iov.push_back({req.frame.data(), req.frame.size()});
      bytes += req.batch_bytes;
      records += req.records;
    }
    conn_->write_all(iov, clock.hard_ns);
    stats_.total_bytes += bytes;
    stats_.total_records += records;
    if (now_ns() >= clock.measure_ns) {
      stats_.bytes += bytes;
      stats_.records += records;
      stats_.requests += static_cast<int64_t>(n);
      clock.measured_bytes.fetch_add(bytes, std::memory_order_relaxed);
    }
  }
}

}  // namespace samsa::bench::loadgen
