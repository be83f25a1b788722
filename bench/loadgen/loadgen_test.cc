// Unit tests of samsa-loadgen: the pre-encoded Produce requests decode with
// the project's codecs and their batches verify; option parsing.
#include <gtest/gtest.h>

#include <set>

#include "../options.h"
#include "options.h"
#include "report.h"
#include "samsa/protocol/gen/produce_request.h"
#include "samsa/protocol/record_batch.h"
#include "wire.h"

namespace samsa::bench::loadgen {
namespace {

protocol::ProduceRequest decode_produce(const std::vector<uint8_t>& frame, int32_t* corr) {
  protocol::WireReader r(std::span<const uint8_t>(frame).subspan(4));
  protocol::RequestHeader h;
  h.decode(r, 2);
  EXPECT_EQ(h.request_api_key, 0);
  EXPECT_EQ(h.request_api_version, kProduceVersion);
  EXPECT_EQ(h.client_id, std::string(kClientId));
  *corr = h.correlation_id;
  protocol::ProduceRequest req;
  req.decode(r, kProduceVersion);
  EXPECT_TRUE(r.at_end());
  return req;
}

TEST(LoadgenWire, RingDecodesAndBatchesVerify) {
  ProduceLayout layout{"t", {0, 2, 4}, 2, 100, 5, -1, 1234};
  const auto ring = build_produce_ring(layout, 4, 7, 1'700'000'000'000);
  ASSERT_EQ(ring.size(), 4u);
  std::set<std::vector<uint8_t>> values;
  std::vector<int32_t> partitions_seen;
  for (size_t i = 0; i < ring.size(); ++i) {
    const auto& e = ring[i];
    // The size prefix covers the rest of the frame.
    const uint32_t size = (uint32_t{e.frame[0]} << 24) | (uint32_t{e.frame[1]} << 16) |
                          (uint32_t{e.frame[2]} << 8) | e.frame[3];
    EXPECT_EQ(size, e.frame.size() - 4);
    int32_t corr = -1;
    const auto req = decode_produce(e.frame, &corr);
    EXPECT_EQ(req.acks, -1);
    EXPECT_EQ(req.timeout_ms, 1234);
    ASSERT_EQ(req.topic_data.size(), 1u);
    ASSERT_EQ(req.topic_data[0].partition_data.size(), 2u);
    EXPECT_EQ(e.records, 10);
    int64_t bytes = 0;
    for (const auto& pd : req.topic_data[0].partition_data) {
      partitions_seen.push_back(pd.index);
      const auto split = protocol::split_batches(pd.records.bytes(), /*require_complete=*/true);
      ASSERT_EQ(split.batches.size(), 1u);
      const auto& b = split.batches[0];
      EXPECT_TRUE(protocol::verify_crc(b.bytes));
      EXPECT_EQ(b.header.base_offset, 0);
      EXPECT_EQ(b.header.producer_id, -1);
      EXPECT_EQ(b.header.records_count, 5);
      EXPECT_EQ(b.header.base_timestamp, 1'700'000'000'000 + static_cast<int64_t>(i));
      bytes += static_cast<int64_t>(b.bytes.size());
      const auto records = protocol::decode_records(b);
      ASSERT_EQ(records.size(), 5u);
      for (const auto& r : records) {
        EXPECT_FALSE(r.key.has_value());
        ASSERT_TRUE(r.value.has_value());
        EXPECT_EQ(r.value->size(), 100u);
        values.insert(*r.value);
      }
    }
    EXPECT_EQ(bytes, e.batch_bytes);
  }
  EXPECT_EQ(values.size(), 40u);  // every value differs
  // Requests rotate over the partitions two at a time.
  EXPECT_EQ(partitions_seen, (std::vector<int32_t>{0, 2, 4, 0, 2, 4, 0, 2}));
}

TEST(LoadgenWire, CorrelationIdPatchKeepsTheRequestValid) {
  ProduceLayout layout{"topic", {1}, 0, 10, 1, 1, 30000};
  auto ring = build_produce_ring(layout, 1, 1, 0);
  set_correlation_id(ring[0].frame, 0x01020304);
  int32_t corr = 0;
  const auto req = decode_produce(ring[0].frame, &corr);
  EXPECT_EQ(corr, 0x01020304);
  EXPECT_EQ(req.topic_data[0].partition_data[0].index, 1);
}

ParseResult parse(std::vector<const char*> args) {
  args.insert(args.begin(), "samsa-loadgen");
  return parse_options(static_cast<int>(args.size()), args.data());
}

TEST(LoadgenOptions, Defaults) {
  const auto r = parse({"produce"});
  ASSERT_EQ(r.exit_code, -1) << r.message;
  EXPECT_EQ(r.options.mode, Mode::kProduce);
  EXPECT_EQ(r.options.bootstrap, "127.0.0.1:9092");
  EXPECT_EQ(r.options.record_size, 1024);
  EXPECT_EQ(r.options.batch_records, 16);
  EXPECT_EQ(r.options.inflight, 8);
  EXPECT_EQ(r.options.connections, 2);
  EXPECT_EQ(r.options.acks, 1);
  EXPECT_DOUBLE_EQ(r.options.duration_s, 10);
  EXPECT_DOUBLE_EQ(r.options.warmup_s, 1);
  EXPECT_DOUBLE_EQ(r.options.timeout_s, 120);
}

TEST(LoadgenOptions, ProduceAndFetchOptions) {
  auto r = parse({"produce", "--bootstrap", "localhost:19092", "--topic", "x", "--partitions", "6",
                  "--create", "--replication-factor", "3", "--acks", "all", "--broker-pid", "10",
                  "--broker-pid", "11", "--bytes", "1000", "--json", "--inflight", "3"});
  ASSERT_EQ(r.exit_code, -1) << r.message;
  EXPECT_EQ(r.options.partitions, 6);
  EXPECT_TRUE(r.options.create);
  EXPECT_EQ(r.options.replication_factor, 3);
  EXPECT_EQ(r.options.acks, -1);
  EXPECT_EQ(r.options.broker_pids, (std::vector<int>{10, 11}));
  EXPECT_EQ(r.options.bytes, 1000);
  EXPECT_TRUE(r.options.json);
  EXPECT_EQ(r.options.inflight, 3);

  r = parse({"fetch", "--from", "latest", "--until-end", "--duration-s", "2.5"});
  ASSERT_EQ(r.exit_code, -1) << r.message;
  EXPECT_EQ(r.options.mode, Mode::kFetch);
  EXPECT_FALSE(r.options.from_earliest);
  EXPECT_TRUE(r.options.until_end);
  EXPECT_DOUBLE_EQ(r.options.duration_s, 2.5);
  EXPECT_TRUE(parse({"fetch"}).options.from_earliest);
}

TEST(LoadgenOptions, BootstrapList) {
  const auto r = parse({"fetch", "--bootstrap", "127.0.0.1:1,localhost:2"});
  ASSERT_EQ(r.exit_code, -1) << r.message;
  const auto list = split_bootstrap(r.options.bootstrap);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0], (std::pair<std::string, int>{"127.0.0.1", 1}));
  EXPECT_EQ(list[1], (std::pair<std::string, int>{"localhost", 2}));
  EXPECT_EQ(parse({"fetch", "--bootstrap", "a:1,"}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"fetch", "--bootstrap", "a:1,b:0"}).exit_code, kExitUsage);
}

TEST(LoadgenOptions, BadCommandLinesAreUsageErrors) {
  EXPECT_EQ(parse({}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"consume"}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"produce", "--acks", "2"}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"produce", "--bootstrap", "nohost"}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"produce", "--partitions", "0"}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"fetch", "--record-size", "10"}).exit_code, kExitUsage);  // produce only
  EXPECT_EQ(parse({"fetch", "--from", "middle"}).exit_code, kExitUsage);
  EXPECT_EQ(parse({"produce", "--help"}).exit_code, kExitOk);
}

TEST(LoadgenReport, ProcessCpuOfSelfIsReadable) {
  const auto cpu = process_cpu_seconds(static_cast<int>(getpid()));
  ASSERT_TRUE(cpu.has_value());
  EXPECT_GE(*cpu, 0.0);
  EXPECT_FALSE(process_cpu_seconds(-5).has_value());
}

}  // namespace
}  // namespace samsa::bench::loadgen
