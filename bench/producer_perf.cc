// samsa-producer-perf: a Kafka producer throughput and latency benchmark in
// the spirit of kafka-producer-perf-test, on librdkafka's C API.
//
// Sends --records records of --record-size bytes (null keys) to --topic and
// reports records/s, MB/s (10^6 bytes) and the latency of each record from
// produce() to its delivery report. The send time (steady clock, ns) travels
// as the message opaque, so no per-record allocation is needed.
#include <cinttypes>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "latency_histogram.h"
#include "options.h"
#include "rdkafka_util.h"

namespace samsa::bench {
namespace {

struct DeliveryState {
  LatencyHistogram latency;
  uint64_t delivered = 0;
  uint64_t delivered_bytes = 0;
  uint64_t failed = 0;
  uint64_t first_send_ns = 0;
  uint64_t last_delivery_ns = 0;
  std::string first_error;
  rd_kafka_resp_err_t first_error_code = RD_KAFKA_RESP_ERR_NO_ERROR;
};

// Runs on the thread that calls rd_kafka_poll/flush (ours), so no locking.
void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* st = static_cast<DeliveryState*>(opaque);
  const uint64_t now = now_ns();
  if (m->err) {
    if (st->failed++ == 0) {
      st->first_error_code = m->err;
      st->first_error = std::string(rd_kafka_err2name(m->err)) + ": " + rd_kafka_err2str(m->err);
    }
    return;
  }
  const auto sent = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(m->_private));
  st->latency.record(now >= sent ? now - sent : 0);
  ++st->delivered;
  st->delivered_bytes += m->len;
  st->last_delivery_ns = now;
}

bool unsupported(rd_kafka_resp_err_t e) {
  return e == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE ||
         e == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION ||
         e == RD_KAFKA_RESP_ERR__TRANSPORT || e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN;
}

int run(const ProducerOptions& o) {
  const uint64_t start_ns = now_ns();
  const uint64_t deadline = start_ns + static_cast<uint64_t>(o.timeout_s * 1e9);
  // A record not acknowledged within the run's limit is failed by librdkafka
  // (message.timeout.ms), so flush() below always terminates.
  const int msg_timeout_ms = std::max(1000, static_cast<int>(o.timeout_s * 1000));
  DeliveryState st;
  rd_kafka_conf_t* conf = make_conf(
      o, {{"acks", normalize_acks(o.acks)},
          {"linger.ms", std::to_string(o.linger_ms)},
          {"batch.size", std::to_string(o.batch_size)},
          {"compression.type", o.compression},
          {"queue.buffering.max.messages", "1000000"},
          {"queue.buffering.max.kbytes", "1048576"},
          {"message.timeout.ms", std::to_string(msg_timeout_ms)}});
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &st);
  KafkaHandle rk = make_client(RD_KAFKA_PRODUCER, conf);

  const int setup_ms = std::min(ms_left(deadline, 1), 30000);
  if (o.api_check) {
    std::vector<ApiNeed> needs{kMetadata, kProduce};
    if (o.create_partitions > 0) needs.push_back(kCreateTopics);
    require_apis(o.bootstrap, needs, std::min(setup_ms, 10000));
  }
  if (o.create_partitions > 0)
    create_topic(rk.get(), o.topic, o.create_partitions, o.replication_factor, setup_ms);
  const std::vector<int32_t> parts = wait_for_partitions(rk.get(), o.topic, setup_ms);
  if (o.partitions > static_cast<int>(parts.size()))
    throw BenchError(kExitUsage, "--partitions " + std::to_string(o.partitions) + " but topic " +
                                     o.topic + " has " + std::to_string(parts.size()));

  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk.get(), o.topic.c_str(), nullptr);
  std::vector<char> payload(static_cast<size_t>(o.record_size));
  std::mt19937 rng(42);
  for (auto& c : payload) c = static_cast<char>('A' + rng() % 26);

  const double rate = o.throughput > 0 ? o.throughput : 0;
  bool timed_out = false;
  int64_t sent = 0;
  st.first_send_ns = now_ns();
  while (sent < o.records) {
    const uint64_t now = now_ns();
    if (now >= deadline) {
      timed_out = true;
      break;
    }
    if (rate > 0) {  // record i is due at first_send + i / rate
      const auto due = st.first_send_ns + static_cast<uint64_t>(static_cast<double>(sent) / rate * 1e9);
      if (now < due) {
        const int wait_ms = static_cast<int>((due - now) / 1000000);
        if (wait_ms > 0) {
          rd_kafka_poll(rk.get(), std::min(wait_ms, 10));
        } else {
          rd_kafka_poll(rk.get(), 0);
          std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
        }
        continue;
      }
    }
    if (st.failed > 0 && unsupported(st.first_error_code)) break;  // no point going on
    const int32_t partition =
        o.partitions > 0 ? parts[static_cast<size_t>(sent % o.partitions)] : RD_KAFKA_PARTITION_UA;
    void* opaque = reinterpret_cast<void*>(static_cast<uintptr_t>(now_ns()));
    if (rd_kafka_produce(rkt, partition, RD_KAFKA_MSG_F_COPY, payload.data(), payload.size(),
                         nullptr, 0, opaque) == -1) {
      const rd_kafka_resp_err_t e = rd_kafka_last_error();
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk.get(), 10);
        continue;
      }
      rd_kafka_topic_destroy(rkt);
      throw BenchError(kExitRunFailed, std::string("produce: ") + rd_kafka_err2str(e));
    }
    ++sent;
    rd_kafka_poll(rk.get(), 0);
  }
  // Deliveries still outstanding get what is left of the run's time limit.
  while (rd_kafka_outq_len(rk.get()) > 0 && ms_left(deadline) > 0)
    rd_kafka_flush(rk.get(), std::min(ms_left(deadline, 1), 200));
  if (rd_kafka_outq_len(rk.get()) > 0) {
    timed_out = true;
    rd_kafka_purge(rk.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(rk.get(), 2000);
  }
  rd_kafka_topic_destroy(rkt);

  const double secs =
      st.delivered > 0 ? static_cast<double>(st.last_delivery_ns - st.first_send_ns) / 1e9 : 0;
  const double rps = secs > 0 ? static_cast<double>(st.delivered) / secs : 0;
  const double mbps = secs > 0 ? static_cast<double>(st.delivered_bytes) / secs / 1e6 : 0;
  const auto ms = [&](double p) { return static_cast<double>(st.latency.percentile(p)) / 1e6; };
  const bool ok = !timed_out && st.failed == 0 && static_cast<int64_t>(st.delivered) == o.records;

  if (o.json) {
    JsonObject j;
    j.add("tool", "producer").add("topic", o.topic).add("ok", ok)
        .add("records", static_cast<int64_t>(st.delivered)).add("sent", sent)
        .add("failed", static_cast<int64_t>(st.failed)).add("record_size", static_cast<int64_t>(o.record_size))
        .add("acks", normalize_acks(o.acks)).add("compression", o.compression)
        .add("elapsed_s", secs).add("records_per_s", rps).add("mb_per_s", mbps)
        .add("latency_avg_ms", st.latency.mean() / 1e6).add("latency_p50_ms", ms(50))
        .add("latency_p95_ms", ms(95)).add("latency_p99_ms", ms(99))
        .add("latency_p999_ms", ms(99.9)).add("latency_max_ms", ms(100))
        .add("timed_out", timed_out);
    if (!st.first_error.empty()) j.add("error", st.first_error);
    std::printf("%s\n", j.str().c_str());
  } else {
    std::printf("%" PRIu64 " records sent, %.1f records/sec (%.2f MB/sec), %.2f ms avg latency, "
                "%.2f ms max latency\n", st.delivered, rps, mbps, st.latency.mean() / 1e6, ms(100));
    std::printf("latency percentiles: %.2f ms 50th, %.2f ms 95th, %.2f ms 99th, %.2f ms 99.9th\n",
                ms(50), ms(95), ms(99), ms(99.9));
  }
  if (st.failed > 0) {
    std::fprintf(stderr, "error: %" PRIu64 " record(s) failed, first: %s\n", st.failed,
                 st.first_error.c_str());
    if (st.delivered == 0 && unsupported(st.first_error_code)) return kExitUnavailable;
  }
  if (timed_out)
    std::fprintf(stderr, "error: stopped by --timeout-s %.1f with %" PRIu64 " of %" PRId64
                 " records acknowledged\n", o.timeout_s, st.delivered, o.records);
  return ok ? kExitOk : kExitRunFailed;
}

}  // namespace
}  // namespace samsa::bench

int main(int argc, char** argv) {
  using namespace samsa::bench;
  CLI::App app{"samsa-producer-perf: producer throughput and latency benchmark"};
  ProducerOptions o;
  add_producer_options(app, o);
  return run_tool(app, argc, argv, [&] { return run(o); });
}
