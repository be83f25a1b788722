// InitProducerId and DescribeProducers through the dispatcher: producer ids
// come from ProducerIdsRecord blocks committed through the controller, the
// KIP-360 epoch bump, Kafka's error codes; DescribeProducers reports the
// partition's producer state.
#include "admin_test_fixture.h"
#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/producer_id_manager.h"
#include "samsa/protocol/gen/create_topics_request.h"
#include "samsa/protocol/gen/create_topics_response.h"
#include "samsa/protocol/gen/describe_producers_request.h"
#include "samsa/protocol/gen/describe_producers_response.h"
#include "samsa/protocol/gen/init_producer_id_request.h"
#include "samsa/protocol/gen/init_producer_id_response.h"
#include "samsa/protocol/gen/produce_request.h"
#include "samsa/protocol/gen/produce_response.h"
#include "samsa/protocol/record_batch.h"

namespace samsa::broker::test {
namespace {

using protocol::ApiKey;
using protocol::ErrorCode;
using protocol::InitProducerIdRequest;
using protocol::InitProducerIdResponse;

constexpr int16_t kInitKey = static_cast<int16_t>(ApiKey::InitProducerId);

struct InitProducerIdTest : AdminTest {
  ProducerIdManager ids{controller, kNode};
  InitProducerIdTest() { services.producer_ids = &ids; }

  InitProducerIdResponse init(int16_t version, std::optional<std::string> txn_id = std::nullopt,
                              int64_t pid = -1, int16_t epoch = -1) {
    InitProducerIdRequest r;
    r.transactional_id = std::move(txn_id);
    r.transaction_timeout_ms = 60000;
    r.producer_id = pid;
    r.producer_epoch = epoch;
    return call<InitProducerIdResponse>(kInitKey, version, r);
  }
  ErrorCode error_of(const InitProducerIdResponse& r) { return static_cast<ErrorCode>(r.error_code); }
};

TEST_F(InitProducerIdTest, IdsComeFromCommittedBlocks) {
  auto first = init(0);
  EXPECT_EQ(error_of(first), ErrorCode::NONE);
  EXPECT_EQ(first.producer_id, 0);
  EXPECT_EQ(first.producer_epoch, 0);
  EXPECT_EQ(image()->next_producer_id, metadata::kProducerIdBlockSize);
  EXPECT_EQ(controller.commits, 1);
  for (int i = 1; i < metadata::kProducerIdBlockSize; ++i) ASSERT_EQ(ids.generate().producer_id, i);
  EXPECT_EQ(controller.commits, 1);
  // The block is used up: the next id opens a new one.
  auto next = init(4);
  EXPECT_EQ(next.producer_id, metadata::kProducerIdBlockSize);
  EXPECT_EQ(controller.commits, 2);
  EXPECT_EQ(image()->next_producer_id, 2 * metadata::kProducerIdBlockSize);
}

TEST_F(InitProducerIdTest, AnotherManagerNeverReusesIds) {
  EXPECT_EQ(init(1).producer_id, 0);
  ProducerIdManager after_restart(controller, kNode);
  EXPECT_EQ(after_restart.generate().producer_id, metadata::kProducerIdBlockSize);
}

TEST_F(InitProducerIdTest, EpochBumpKeepsTheIdFromV3) {
  auto first = init(3);
  auto bumped = init(3, std::nullopt, first.producer_id, 0);
  EXPECT_EQ(error_of(bumped), ErrorCode::NONE);
  EXPECT_EQ(bumped.producer_id, first.producer_id);
  EXPECT_EQ(bumped.producer_epoch, 1);
  EXPECT_EQ(init(5, std::nullopt, first.producer_id, 7).producer_epoch, 8);
  // An exhausted epoch, or an id never handed out: a fresh id.
  auto exhausted = init(5, std::nullopt, first.producer_id, 32766);
  EXPECT_NE(exhausted.producer_id, first.producer_id);
  EXPECT_EQ(exhausted.producer_epoch, 0);
  auto unknown = init(5, std::nullopt, 123456, 3);
  EXPECT_NE(unknown.producer_id, 123456);
  EXPECT_EQ(unknown.producer_epoch, 0);
}

TEST_F(InitProducerIdTest, KafkaErrors) {
  EXPECT_EQ(error_of(init(4, std::nullopt, 5, -1)), ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(error_of(init(4, std::nullopt, -1, 2)), ErrorCode::INVALID_REQUEST);
  EXPECT_EQ(error_of(init(2, std::string())), ErrorCode::INVALID_REQUEST);
  auto txn = init(2, std::string("tx-1"));
  EXPECT_EQ(error_of(txn), ErrorCode::COORDINATOR_NOT_AVAILABLE);
  EXPECT_EQ(txn.producer_id, -1);
  EXPECT_EQ(txn.producer_epoch, -1);
  // The metadata log cannot be written: retriable.
  controller.fail = true;
  EXPECT_EQ(error_of(init(0)), ErrorCode::COORDINATOR_LOAD_IN_PROGRESS);
  controller.fail = false;
  EXPECT_EQ(error_of(init(0)), ErrorCode::NONE);
}

TEST_F(InitProducerIdTest, DescribeProducersReportsPartitionState) {
  protocol::CreateTopicsRequest create;
  auto& t = create.topics.emplace_back();
  t.name = "idem";
  t.num_partitions = 1;
  t.replication_factor = 1;
  create.timeout_ms = 1000;
  auto created = call<protocol::CreateTopicsResponse>(static_cast<int16_t>(ApiKey::CreateTopics), 7, create);
  ASSERT_EQ(created.topics.at(0).error_code, 0);

  auto pid = init(4);
  protocol::RecordBatchOptions o;
  o.producer_id = pid.producer_id;
  o.producer_epoch = pid.producer_epoch;
  o.base_sequence = 0;
  protocol::RecordBatchBuilder builder(o);
  const std::vector<uint8_t> value{'v'};
  for (int i = 0; i < 3; ++i) builder.append(1'700'000'000'000 + i, std::nullopt, value);
  const auto batch = builder.build();
  protocol::ProduceRequest produce;
  produce.acks = -1;
  produce.timeout_ms = 1000;
  auto& pt = produce.topic_data.emplace_back();
  pt.name = "idem";
  auto& pp = pt.partition_data.emplace_back();
  pp.index = 0;
  pp.records = protocol::Records::copy_of(batch);
  for (int attempt = 0; attempt < 2; ++attempt) {  // the retry is a duplicate
    auto r = call<protocol::ProduceResponse>(static_cast<int16_t>(ApiKey::Produce), 9, produce);
    ASSERT_EQ(r.responses.at(0).partition_responses.at(0).error_code, 0);
    EXPECT_EQ(r.responses.at(0).partition_responses.at(0).base_offset, 0);
  }

  protocol::DescribeProducersRequest describe;
  auto& dt = describe.topics.emplace_back();
  dt.name = "idem";
  dt.partition_indexes = {0, 5};
  auto& missing = describe.topics.emplace_back();
  missing.name = "nope";
  missing.partition_indexes = {0};
  auto d = call<protocol::DescribeProducersResponse>(static_cast<int16_t>(ApiKey::DescribeProducers), 0, describe);
  ASSERT_EQ(d.topics.size(), 2u);
  ASSERT_EQ(d.topics[0].partitions.size(), 2u);
  const auto& p0 = d.topics[0].partitions[0];
  EXPECT_EQ(p0.error_code, 0);
  ASSERT_EQ(p0.active_producers.size(), 1u);
  EXPECT_EQ(p0.active_producers[0].producer_id, pid.producer_id);
  EXPECT_EQ(p0.active_producers[0].producer_epoch, 0);
  EXPECT_EQ(p0.active_producers[0].last_sequence, 2);
  EXPECT_EQ(p0.active_producers[0].last_timestamp, 1'700'000'000'002);
  EXPECT_EQ(p0.active_producers[0].coordinator_epoch, -1);
  EXPECT_EQ(p0.active_producers[0].current_txn_start_offset, -1);
  EXPECT_EQ(d.topics[0].partitions[1].error_code, static_cast<int16_t>(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
  EXPECT_EQ(d.topics[1].partitions.at(0).error_code, static_cast<int16_t>(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
}

}  // namespace
}  // namespace samsa::broker::test
