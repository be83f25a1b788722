// OffsetsLog on a real ReplicaManager: appends land in
// __consumer_offsets as Kafka-format batches (compressed when configured)
// and load() replays them in order, skipping what the coordinator does not own.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/fetch/fetch_waiters.h"
#include "samsa/broker/group/offsets_log.h"
#include "samsa/broker/replica/replica_manager.h"
#include "samsa/broker/properties.h"
#include "single_node_env.h"
#include "samsa/protocol/compression.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/record_batch.h"

namespace samsa::broker::group {
namespace {

using protocol::CompressionType;
using protocol::ErrorCode;
namespace fs = std::filesystem;

constexpr int64_t kNow = 1700000000000;

BrokerConfig parse_config(const std::string& log_dir, const std::string& extra = "") {
  return test_env::single_node_config(log_dir, extra);
}

TEST(OffsetsLogConfig, CompressionCodecLoadBufferAndCommitTimeoutKeys) {
  auto defaults = parse_config("/tmp/unused");
  EXPECT_EQ(defaults.offsets_topic_compression_codec, 0);
  EXPECT_EQ(defaults.offsets_load_buffer_size, 5242880);
  EXPECT_EQ(defaults.offsets_commit_timeout_ms, 5000);
  EXPECT_EQ(defaults.offsets_topic_replication_factor, 3);
  auto set = parse_config("/tmp/unused",
                          "offsets.topic.compression.codec=4\noffsets.load.buffer.size=1024\n"
                          "offsets.commit.timeout.ms=1500\n");
  EXPECT_EQ(set.offsets_topic_compression_codec, 4);
  EXPECT_EQ(set.offsets_load_buffer_size, 1024);
  EXPECT_EQ(set.offsets_commit_timeout_ms, 1500);
  EXPECT_THROW(parse_config("/tmp/unused", "offsets.commit.timeout.ms=0\n"), ConfigError);
  EXPECT_THROW(parse_config("/tmp/unused", "offsets.topic.compression.codec=5\n"), ConfigError);
  EXPECT_THROW(parse_config("/tmp/unused", "offsets.load.buffer.size=0\n"), ConfigError);
}

class OffsetsLogTest : public ::testing::Test {
 protected:
  OffsetsLogTest() {
    dir = test_env::fresh_dir("samsa-offsets");
    config = parse_config(dir.string());
    pm = std::make_unique<ReplicaManager>(config, 1);
    ReplicaManagerWiring wiring;  // as broker.cc: a moved high watermark wakes parked fetches
    wiring.on_progress = [this](const std::string& t, int32_t p) { fetch_waiters(&services).notify(t, p); };
    pm->wire(std::move(wiring));
    pm->startup();
    services.node_id = 1;
    services.config = &config;
    services.replicas = pm.get();

    auto image = std::make_shared<MetadataImage>();
    image->cluster_id = "HevfdPNPTNuKi0P2-qq7VQ";
    auto topic = std::make_shared<TopicImage>();
    topic->name = kOffsetsTopic;
    topic->id.bytes[15] = 9;
    // 0, 1: led here; 2: hosted as a follower of node 2; 3: not hosted here.
    for (int32_t p = 0; p < 4; ++p) {
      PartitionImage pi;
      pi.partition_id = p;
      pi.replicas = p < 2 ? std::vector<int32_t>{1} : p == 2 ? std::vector<int32_t>{2, 1} : std::vector<int32_t>{2};
      pi.isr = pi.replicas;
      pi.leader = p < 2 ? 1 : 2;
      pi.leader_epoch = 4;
      topic->partitions.emplace(p, pi);
    }
    auto topics = std::make_shared<TopicsImage>();
    topics->by_name.emplace(topic->name, topic);
    topics->by_id.emplace(topic->id, topic);
    image->topics = topics;
    services.metadata.publish(image);
    pm->apply(*image);
  }
  ~OffsetsLogTest() override {
    pm->shutdown();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  // Appends and waits (bounded) for the write to be acknowledged.
  ErrorCode append(int32_t partition, std::span<const CoordinatorRecord> records, int64_t ts) {
    auto outcome = std::make_shared<std::promise<AppendOutcome>>();
    auto future = outcome->get_future();
    offsets.append(partition, records, ts, [outcome](AppendOutcome o) { outcome->set_value(o); });
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      ADD_FAILURE() << "append did not complete";
      return ErrorCode::UNKNOWN_SERVER_ERROR;
    }
    auto o = future.get();
    if (o.error == ErrorCode::NONE && !records.empty()) {
      EXPECT_EQ(o.last_offset, partition_log(partition)->log_end_offset() - 1);
    }
    return o.error;
  }

  std::vector<CoordinatorRecord> load(int32_t partition) {
    std::vector<CoordinatorRecord> out;
    size_t n = offsets.load(partition, [&](CoordinatorRecord&& r) { out.push_back(std::move(r)); });
    EXPECT_EQ(n, out.size());
    return out;
  }

  std::shared_ptr<log::Log> partition_log(int32_t p) { return pm->get(kOffsetsTopic, p)->log(); }

  // The first batch header in the partition's log.
  protocol::RecordBatchHeader first_batch(int32_t p) {
    auto l = partition_log(p);
    auto range = l->read(l->log_start_offset(), 1 << 20, true, l->log_end_offset());
    EXPECT_TRUE(range.ok());
    std::vector<uint8_t> buf(protocol::RecordBatchHeader::kSize);
    EXPECT_EQ(range->file->pread_some(buf, range->position), buf.size());
    return protocol::RecordBatchHeader::parse(buf);
  }

  // Appends a raw batch the way another writer (a newer Kafka, a transaction
  // marker) would have put it in the log.
  void append_raw(int32_t p, protocol::RecordBatchBuilder& builder) {
    auto bytes = builder.build();
    auto l = partition_log(p);
    ASSERT_TRUE(l->append_as_leader(std::span<uint8_t>(bytes), 4, log::AppendOrigin::kCoordinator).ok());
    l->set_high_watermark(l->log_end_offset());
  }

  static CoordinatorRecord commit(const std::string& group, const std::string& topic, int32_t partition,
                                  int64_t offset) {
    return CoordinatorRecord::offset_commit(
        group, topic, partition,
        OffsetAndMetadata{.offset = offset, .leader_epoch = 2, .metadata = "m", .commit_timestamp_ms = kNow,
                          .expire_timestamp_ms = std::nullopt});
  }

  static GroupRecord group_value(int32_t generation) {
    GroupRecord g;
    g.protocol_type = "consumer";
    g.generation = generation;
    g.protocol = "range";
    g.leader = "m1";
    g.current_state_timestamp_ms = kNow;
    g.members.push_back(MemberRecord{.member_id = "m1", .group_instance_id = std::nullopt, .client_id = "c",
                                     .client_host = "/10.0.0.1", .rebalance_timeout_ms = 1000,
                                     .session_timeout_ms = 2000, .subscription = {1, 2}, .assignment = {3}});
    return g;
  }

  fs::path dir;
  BrokerConfig config;
  std::unique_ptr<ReplicaManager> pm;
  BrokerServices services;
  OffsetsLog offsets{services};
};

TEST_F(OffsetsLogTest, AppendThenLoadInOrderWithTombstones) {
  std::vector<CoordinatorRecord> first = {
      CoordinatorRecord::group_metadata("g1", group_value(1)),
      commit("g1", "t", 0, 10),
      commit("g1", "t", 1, 20),
  };
  std::vector<CoordinatorRecord> second = {
      commit("g1", "t", 0, 11),
      CoordinatorRecord::offset_commit("g1", "t", 1, std::nullopt),
      CoordinatorRecord::group_metadata("g1", std::nullopt),
  };
  ASSERT_EQ(append(0, first, kNow), ErrorCode::NONE);
  ASSERT_EQ(append(0, second, kNow + 1), ErrorCode::NONE);

  auto l = partition_log(0);
  EXPECT_EQ(l->log_end_offset(), 6);
  EXPECT_EQ(l->high_watermark(), 6);
  auto header = first_batch(0);
  EXPECT_EQ(header.records_count, 3);
  EXPECT_EQ(header.compression(), CompressionType::kNone);  // offsets.topic.compression.codec defaults to 0
  EXPECT_EQ(header.partition_leader_epoch, 4);
  EXPECT_EQ(header.base_timestamp, kNow);

  std::vector<CoordinatorRecord> want = first;
  want.insert(want.end(), second.begin(), second.end());
  EXPECT_EQ(load(0), want);
  EXPECT_TRUE(load(1).empty());
}

// A coordinator taking over a partition reads to the log end: the records
// past its high watermark were acknowledged by the old leader (the new
// leader's high watermark catches up only with the followers' next fetch).
TEST_F(OffsetsLogTest, LoadReadsPastTheHighWatermarkToTheLogEnd) {
  std::vector<CoordinatorRecord> records = {commit("g", "t", 0, 1), commit("g", "t", 0, 2)};
  ASSERT_EQ(append(0, std::span(records).first(1), kNow), ErrorCode::NONE);
  ASSERT_EQ(append(0, std::span(records).last(1), kNow), ErrorCode::NONE);
  partition_log(0)->set_high_watermark(1);
  EXPECT_EQ(load(0), records);
}

TEST_F(OffsetsLogTest, CompressedBatchesWithConfiguredCodec) {
  std::vector<CoordinatorRecord> want;
  const int32_t codecs[] = {1, 2, 3, 4, 0};
  for (int32_t codec : codecs) {
    config.offsets_topic_compression_codec = codec;
    std::vector<CoordinatorRecord> batch;
    for (int i = 0; i < 20; ++i) batch.push_back(commit("group-" + std::to_string(codec), "t", i, 100 + i));
    batch.push_back(CoordinatorRecord::offset_commit("group-x", "t", 0, std::nullopt));
    ASSERT_EQ(append(1, batch, kNow), ErrorCode::NONE) << "codec " << codec;
    want.insert(want.end(), batch.begin(), batch.end());
  }
  EXPECT_EQ(first_batch(1).compression(), CompressionType::kGzip);
  EXPECT_EQ(load(1), want);
}

TEST_F(OffsetsLogTest, LoadReadsInSmallChunks) {
  // A buffer smaller than one batch still makes progress (min one message).
  config.offsets_load_buffer_size = 64;
  std::vector<CoordinatorRecord> want;
  for (int b = 0; b < 30; ++b) {
    std::vector<CoordinatorRecord> batch = {commit("g", "t", b % 3, b), commit("g", "u", 0, b)};
    ASSERT_EQ(append(0, batch, kNow), ErrorCode::NONE);
    want.insert(want.end(), batch.begin(), batch.end());
  }
  EXPECT_EQ(load(0), want);
  config.offsets_load_buffer_size = 5242880;
  EXPECT_EQ(load(0), want);
}

TEST_F(OffsetsLogTest, LoadSkipsControlBatchesForeignAndBadRecords) {
  ASSERT_EQ(append(0, std::vector{commit("g", "t", 0, 1)}, kNow), ErrorCode::NONE);

  // A transaction marker: control batch, key = version 0 + type 1 (commit),
  // of a producer (a transactional batch without producer id is invalid).
  protocol::RecordBatchOptions control;
  control.control = true;
  control.transactional = true;
  control.producer_id = 1000;
  control.producer_epoch = 0;
  protocol::RecordBatchBuilder marker(control);
  const std::vector<uint8_t> marker_key = {0, 0, 0, 1}, marker_value = {0, 0, 0, 0, 0, 0};
  marker.append(kNow, std::span<const uint8_t>(marker_key), std::span<const uint8_t>(marker_value));
  append_raw(0, marker);

  // A KIP-848 ConsumerGroupMetadata record (key version 3), a record without
  // key, and an offset commit whose value is cut short.
  protocol::RecordBatchBuilder other;
  const std::vector<uint8_t> kip848_key = {0, 3, 0, 1, 'g'}, kip848_value = {0, 0, 0, 0, 0, 1, 0, 0};
  other.append(kNow, std::span<const uint8_t>(kip848_key), std::span<const uint8_t>(kip848_value));
  other.append(kNow, std::nullopt, std::span<const uint8_t>(kip848_value));
  auto bad_key = encode_key(commit("g", "t", 0, 1));
  const std::vector<uint8_t> bad_value = {0, 3, 0, 0};
  other.append(kNow, std::span<const uint8_t>(bad_key), std::span<const uint8_t>(bad_value));
  append_raw(0, other);

  ASSERT_EQ(append(0, std::vector{commit("g", "t", 0, 2)}, kNow), ErrorCode::NONE);
  EXPECT_EQ(partition_log(0)->log_end_offset(), 6);
  EXPECT_EQ(load(0), (std::vector{commit("g", "t", 0, 1), commit("g", "t", 0, 2)}));
}

TEST_F(OffsetsLogTest, AppendWakesParkedFetches) {
  std::atomic<int> woken = 0;
  auto id = fetch_waiters(&services).add({{kOffsetsTopic, 0}},
                                         std::make_shared<const std::function<void()>>([&] { ++woken; }));
  ASSERT_EQ(append(0, std::vector{commit("g", "t", 0, 1)}, kNow), ErrorCode::NONE);
  fetch_waiters(&services).remove(id);
  EXPECT_EQ(woken.load(), 1);
}

TEST_F(OffsetsLogTest, NotCoordinatorUnlessLeader) {
  const std::vector records = {commit("g", "t", 0, 1)};
  EXPECT_EQ(append(2, records, kNow), ErrorCode::NOT_COORDINATOR);  // follower here
  EXPECT_EQ(append(3, records, kNow), ErrorCode::NOT_COORDINATOR);  // not hosted
  EXPECT_EQ(append(9, records, kNow), ErrorCode::NOT_COORDINATOR);  // no such partition
  EXPECT_EQ(partition_log(2)->log_end_offset(), 0);

  EXPECT_THROW(load(3), std::runtime_error);
  EXPECT_THROW(load(9), std::runtime_error);
}

TEST_F(OffsetsLogTest, NotCoordinatorWithoutTheTopic) {
  services.metadata.publish(std::make_shared<MetadataImage>());
  EXPECT_EQ(append(0, std::vector{commit("g", "t", 0, 1)}, kNow), ErrorCode::NOT_COORDINATOR);
}

TEST_F(OffsetsLogTest, OversizedBatchIsInvalidCommitOffsetSize) {
  auto l = partition_log(0);
  auto cfg = l->config();
  cfg.max_message_bytes = 200;
  l->update_config(cfg);
  std::vector<CoordinatorRecord> records;
  for (int i = 0; i < 20; ++i) records.push_back(commit("g", "t", i, i));
  EXPECT_EQ(append(0, records, kNow), ErrorCode::INVALID_COMMIT_OFFSET_SIZE);
}

}  // namespace
}  // namespace samsa::broker::group
