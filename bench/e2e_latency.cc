// samsa-e2e-latency: end-to-end latency at a fixed produce rate.
//
// One process produces --records records at --throughput records/s and
// consumes them on a second librdkafka client (its own thread), assigned
// to every partition at the high watermark read just before producing. Each
// payload starts with [run id][send time, steady clock ns][sequence], so the
// latency is (receive - send) on the same clock; records of other runs in a
// reused topic are ignored. Reports p50/p95/p99/p99.9/max of that latency and
// of the producer's acknowledgement latency.
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "latency_histogram.h"
#include "options.h"
#include "rdkafka_util.h"

namespace samsa::bench {
namespace {

struct Header {
  uint64_t run_id, send_ns, seq;
};

struct Acks {
  LatencyHistogram latency;
  uint64_t ok = 0, failed = 0;
  std::string first_error;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* a = static_cast<Acks*>(opaque);
  if (m->err) {
    if (a->failed++ == 0)
      a->first_error = std::string(rd_kafka_err2name(m->err)) + ": " + rd_kafka_err2str(m->err);
    return;
  }
  Header h;
  std::memcpy(&h, m->payload, sizeof h);
  const uint64_t now = now_ns();
  a->latency.record(now >= h.send_ns ? now - h.send_ns : 0);
  ++a->ok;
}

struct Received {
  LatencyHistogram latency;
  uint64_t count = 0, errors = 0;
  std::string first_error;
};

void consume(rd_kafka_t* rk, const E2eOptions& o, uint64_t run_id, uint64_t deadline,
             const std::atomic<uint64_t>& stop_at, Received& r) {
  const auto records = static_cast<uint64_t>(o.records), warmup = static_cast<uint64_t>(o.warmup);
  const uint64_t want = records > warmup ? records - warmup : 0;
  uint64_t seen = 0;
  while (r.count < want) {
    const uint64_t now = now_ns();
    if (now >= deadline || now >= stop_at.load(std::memory_order_relaxed)) break;
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 50);
    if (!m) continue;
    const uint64_t recv = now_ns();
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && r.errors++ == 0)
        r.first_error = std::string(rd_kafka_err2name(m->err)) + ": " + rd_kafka_message_errstr(m);
    } else if (m->len >= sizeof(Header)) {
      Header h;
      std::memcpy(&h, m->payload, sizeof h);
      if (h.run_id == run_id) {
        if (seen++ >= warmup) {
          r.latency.record(recv >= h.send_ns ? recv - h.send_ns : 0);
          ++r.count;
        }
      }
    }
    rd_kafka_message_destroy(m);
  }
}

int run(const E2eOptions& o) {
  const uint64_t deadline = now_ns() + static_cast<uint64_t>(o.timeout_s * 1e9);
  const std::string acks = normalize_acks(o.acks);
  Acks a;
  rd_kafka_conf_t* pconf = make_conf(
      o, {{"acks", acks}, {"linger.ms", std::to_string(o.linger_ms)},
          {"message.timeout.ms", std::to_string(std::max(1000, static_cast<int>(o.timeout_s * 1000)))}});
  rd_kafka_conf_set_dr_msg_cb(pconf, on_delivery);
  rd_kafka_conf_set_opaque(pconf, &a);
  KafkaHandle producer = make_client(RD_KAFKA_PRODUCER, pconf);

  const int setup_ms = std::min(ms_left(deadline, 1), 30000);
  if (o.api_check) {
    std::vector<ApiNeed> needs{kMetadata, kProduce, kListOffsets, kFetch};
    if (o.create_partitions > 0) needs.push_back(kCreateTopics);
    require_apis(o.bootstrap, needs, std::min(setup_ms, 10000));
  }
  if (o.create_partitions > 0)
    create_topic(producer.get(), o.topic, o.create_partitions, o.replication_factor, setup_ms);
  const std::vector<int32_t> parts = wait_for_partitions(producer.get(), o.topic, setup_ms);

  rd_kafka_conf_t* cconf = make_conf(
      o, {{"group.id", "samsa-e2e-latency-" + std::to_string(getpid())},
          {"enable.auto.commit", "false"}, {"enable.auto.offset.store", "false"},
          {"enable.partition.eof", "false"}, {"fetch.wait.max.ms", "100"},
          {"fetch.min.bytes", "1"}});
  KafkaHandle consumer = make_client(RD_KAFKA_CONSUMER, cconf);
  rd_kafka_topic_partition_list_t* tpl =
      rd_kafka_topic_partition_list_new(static_cast<int>(parts.size()));
  for (int32_t p : parts) {
    int64_t low = 0, high = RD_KAFKA_OFFSET_END;
    if (rd_kafka_query_watermark_offsets(consumer.get(), o.topic.c_str(), p, &low, &high,
                                         std::min(ms_left(deadline, 1), 10000)))
      high = RD_KAFKA_OFFSET_END;  // then records sent before the fetch starts may be missed
    rd_kafka_topic_partition_list_add(tpl, o.topic.c_str(), p)->offset = high;
  }
  const rd_kafka_resp_err_t ae = rd_kafka_assign(consumer.get(), tpl);
  rd_kafka_topic_partition_list_destroy(tpl);
  if (ae) throw BenchError(kExitUnavailable, std::string("assign: ") + rd_kafka_err2str(ae));

  std::random_device rd;
  const uint64_t run_id = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ now_ns();
  Received r;
  std::atomic<uint64_t> stop_at{UINT64_MAX};
  std::thread reader(consume, consumer.get(), std::cref(o), run_id, deadline, std::cref(stop_at),
                     std::ref(r));

  rd_kafka_topic_t* rkt = rd_kafka_topic_new(producer.get(), o.topic.c_str(), nullptr);
  std::vector<char> payload(static_cast<size_t>(o.record_size), 'x');
  const uint64_t first_ns = now_ns();
  int64_t sent = 0;
  std::string produce_error;
  while (sent < o.records && now_ns() < deadline && a.failed == 0) {
    const uint64_t due = first_ns + static_cast<uint64_t>(static_cast<double>(sent) / o.throughput * 1e9);
    const uint64_t now = now_ns();
    if (now < due) {
      const uint64_t wait = due - now;
      if (wait > 2000000) rd_kafka_poll(producer.get(), static_cast<int>(wait / 1000000) - 1);
      else std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
      continue;
    }
    const Header h{run_id, now_ns(), static_cast<uint64_t>(sent)};
    std::memcpy(payload.data(), &h, sizeof h);
    const int32_t partition = parts[static_cast<size_t>(sent) % parts.size()];
    if (rd_kafka_produce(rkt, partition, RD_KAFKA_MSG_F_COPY, payload.data(), payload.size(),
                         nullptr, 0, nullptr) == -1) {
      if (rd_kafka_last_error() == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(producer.get(), 10);
        continue;
      }
      produce_error = rd_kafka_err2str(rd_kafka_last_error());
      break;
    }
    ++sent;
    rd_kafka_poll(producer.get(), 0);
  }
  const double send_secs = static_cast<double>(now_ns() - first_ns) / 1e9;
  while (rd_kafka_outq_len(producer.get()) > 0 && ms_left(deadline) > 0)
    rd_kafka_flush(producer.get(), std::min(ms_left(deadline, 1), 200));
  rd_kafka_purge(producer.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_flush(producer.get(), 1000);
  rd_kafka_topic_destroy(rkt);
  // Records still in flight get 10 s (within the run's limit) to arrive.
  stop_at.store(std::min(deadline, now_ns() + uint64_t{10'000'000'000}));
  reader.join();
  rd_kafka_assign(consumer.get(), nullptr);
  rd_kafka_consumer_close(consumer.get());

  const uint64_t expected = sent > o.warmup ? static_cast<uint64_t>(sent - o.warmup) : 0;
  const bool ok = produce_error.empty() && a.failed == 0 && sent == o.records && r.count == expected;
  const auto e2e = [&](double p) { return static_cast<double>(r.latency.percentile(p)) / 1e6; };
  const auto ack = [&](double p) { return static_cast<double>(a.latency.percentile(p)) / 1e6; };
  const double rate = send_secs > 0 ? static_cast<double>(sent) / send_secs : 0;
  if (o.json) {
    JsonObject j;
    j.add("tool", "e2e-latency").add("topic", o.topic).add("ok", ok).add("sent", sent)
        .add("received", static_cast<int64_t>(r.count)).add("target_rate", o.throughput)
        .add("achieved_rate", rate).add("record_size", static_cast<int64_t>(o.record_size))
        .add("acks", acks).add("e2e_avg_ms", r.latency.mean() / 1e6)
        .add("e2e_p50_ms", e2e(50)).add("e2e_p95_ms", e2e(95)).add("e2e_p99_ms", e2e(99))
        .add("e2e_p999_ms", e2e(99.9)).add("e2e_max_ms", e2e(100))
        .add("ack_p50_ms", ack(50)).add("ack_p99_ms", ack(99));
    const std::string err = !produce_error.empty() ? produce_error
                            : !a.first_error.empty() ? a.first_error : r.first_error;
    if (!err.empty()) j.add("error", err);
    std::printf("%s\n", j.str().c_str());
  } else {
    std::printf("%" PRId64 " sent at %.1f records/s (target %.1f), %" PRIu64 " received\n", sent,
                rate, o.throughput, r.count);
    std::printf("end-to-end latency: %.3f ms 50th, %.3f ms 95th, %.3f ms 99th, %.3f ms 99.9th, "
                "%.3f ms max\n", e2e(50), e2e(95), e2e(99), e2e(99.9), e2e(100));
    std::printf("ack latency: %.3f ms 50th, %.3f ms 99th\n", ack(50), ack(99));
  }
  if (!produce_error.empty()) std::fprintf(stderr, "error: produce: %s\n", produce_error.c_str());
  if (a.failed)
    std::fprintf(stderr, "error: %" PRIu64 " record(s) not acknowledged, first: %s\n", a.failed,
                 a.first_error.c_str());
  if (r.errors) std::fprintf(stderr, "error: consumer: %s\n", r.first_error.c_str());
  if (!ok && r.count < expected)
    std::fprintf(stderr, "error: received %" PRIu64 " of %" PRIu64 " records\n", r.count, expected);
  if (!ok && a.ok == 0 && a.failed > 0) return kExitUnavailable;
  return ok ? kExitOk : kExitRunFailed;
}

}  // namespace
}  // namespace samsa::bench

int main(int argc, char** argv) {
  using namespace samsa::bench;
  CLI::App app{"samsa-e2e-latency: end-to-end latency at a fixed produce rate"};
  E2eOptions o;
  add_e2e_options(app, o);
  return run_tool(app, argc, argv, [&] { return run(o); });
}
