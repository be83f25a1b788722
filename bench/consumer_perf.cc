// samsa-consumer-perf: a catch-up consumer benchmark in the spirit of
// kafka-consumer-perf-test, on librdkafka's C API.
//
// Reads --records records of --topic from the beginning of every partition
// (rd_kafka_assign on the partitions listed by Metadata: no group
// membership, no commits) and reports records/s, MB/s (10^6 bytes of
// payload) and the time from assignment to the first record.
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include <unistd.h>

#include "options.h"
#include "rdkafka_util.h"

namespace samsa::bench {
namespace {

int run(const ConsumerOptions& o) {
  const uint64_t start_ns = now_ns();
  const uint64_t deadline = start_ns + static_cast<uint64_t>(o.timeout_s * 1e9);
  // librdkafka needs a group.id for rd_kafka_assign, but nothing here joins
  // the group or commits: partitions are assigned by hand.
  rd_kafka_conf_t* conf = make_conf(o, {{"group.id", "samsa-consumer-perf-" + std::to_string(getpid())},
                                        {"enable.auto.commit", "false"},
                                        {"enable.auto.offset.store", "false"},
                                        {"auto.offset.reset", "earliest"},
                                        {"enable.partition.eof", "false"},
                                        {"fetch.wait.max.ms", "100"}});
  KafkaHandle rk = make_client(RD_KAFKA_CONSUMER, conf);
  if (o.api_check)
    require_apis(o.bootstrap, {kMetadata, kListOffsets, kFetch},
                 std::min(ms_left(deadline, 1), 10000));
  const std::vector<int32_t> parts =
      wait_for_partitions(rk.get(), o.topic, std::min(ms_left(deadline, 1), 30000));

  rd_kafka_topic_partition_list_t* tpl =
      rd_kafka_topic_partition_list_new(static_cast<int>(parts.size()));
  for (int32_t p : parts)
    rd_kafka_topic_partition_list_add(tpl, o.topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  const uint64_t assign_ns = now_ns();
  const rd_kafka_resp_err_t ae = rd_kafka_assign(rk.get(), tpl);
  rd_kafka_topic_partition_list_destroy(tpl);
  if (ae) throw BenchError(kExitUnavailable, std::string("assign: ") + rd_kafka_err2str(ae));

  uint64_t count = 0, bytes = 0, errors = 0, first_ns = 0, last_ns = 0;
  std::string first_error;
  rd_kafka_resp_err_t first_code = RD_KAFKA_RESP_ERR_NO_ERROR;
  bool timed_out = false;
  while (count < static_cast<uint64_t>(o.records)) {
    if (now_ns() >= deadline) {
      timed_out = true;
      break;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), std::min(ms_left(deadline), 100));
    if (!m) continue;
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && errors++ == 0) {
        first_code = m->err;
        first_error = std::string(rd_kafka_err2name(m->err)) + ": " + rd_kafka_message_errstr(m);
      }
    } else {
      last_ns = now_ns();
      if (count == 0) first_ns = last_ns;
      ++count;
      bytes += m->len;
    }
    rd_kafka_message_destroy(m);
    if (first_code == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE ||
        first_code == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION)
      break;
  }
  rd_kafka_assign(rk.get(), nullptr);
  rd_kafka_consumer_close(rk.get());

  const double secs = count ? static_cast<double>(last_ns - assign_ns) / 1e9 : 0;
  const double fetch_secs = count > 1 ? static_cast<double>(last_ns - first_ns) / 1e9 : 0;
  const double rps = secs > 0 ? static_cast<double>(count) / secs : 0;
  const double mbps = secs > 0 ? static_cast<double>(bytes) / secs / 1e6 : 0;
  const double fetch_mbps = fetch_secs > 0 ? static_cast<double>(bytes) / fetch_secs / 1e6 : 0;
  const double first_ms = count ? static_cast<double>(first_ns - assign_ns) / 1e6 : -1;
  const bool ok = count >= static_cast<uint64_t>(o.records);

  if (o.json) {
    JsonObject j;
    j.add("tool", "consumer").add("topic", o.topic).add("ok", ok)
        .add("records", static_cast<int64_t>(count)).add("bytes", static_cast<int64_t>(bytes))
        .add("partitions", static_cast<int64_t>(parts.size())).add("elapsed_s", secs)
        .add("records_per_s", rps).add("mb_per_s", mbps).add("fetch_mb_per_s", fetch_mbps)
        .add("first_record_ms", first_ms).add("errors", static_cast<int64_t>(errors))
        .add("timed_out", timed_out);
    if (!first_error.empty()) j.add("error", first_error);
    std::printf("%s\n", j.str().c_str());
  } else {
    std::printf("%" PRIu64 " records (%.2f MB) from %zu partition(s) in %.3f s: "
                "%.1f records/sec, %.2f MB/sec\n",
                count, static_cast<double>(bytes) / 1e6, parts.size(), secs, rps, mbps);
    std::printf("time to first record %.1f ms; %.2f MB/sec after the first record\n", first_ms,
                fetch_mbps);
  }
  if (errors)
    std::fprintf(stderr, "error: %" PRIu64 " consumer error(s), first: %s\n", errors,
                 first_error.c_str());
  if (timed_out)
    std::fprintf(stderr, "error: stopped by --timeout-s %.1f with %" PRIu64 " of %" PRId64
                 " records\n", o.timeout_s, count, o.records);
  if (!ok && count == 0 &&
      (first_code == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE ||
       first_code == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION))
    return kExitUnavailable;
  return ok ? kExitOk : kExitRunFailed;
}

}  // namespace
}  // namespace samsa::bench

int main(int argc, char** argv) {
  using namespace samsa::bench;
  CLI::App app{"samsa-consumer-perf: catch-up consumer throughput benchmark"};
  ConsumerOptions o;
  add_consumer_options(app, o);
  return run_tool(app, argc, argv, [&] { return run(o); });
}
