// The broker side of AlterPartition (replica::AlterPartitionManager) against
// a fake ControllerChannel: batching with one request in flight, broker id
// and epoch, answers per partition, retries and timeouts.
#include "samsa/broker/replica/alter_partition_manager.h"

#include <gtest/gtest.h>

#include <deque>
#include <optional>

#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/alter_partition_request.h"
#include "samsa/protocol/gen/alter_partition_response.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::broker::replica {
namespace {

using protocol::AlterPartitionRequest;
using protocol::AlterPartitionResponse;
using protocol::ErrorCode;

struct Sent {
  int16_t api_key = 0;
  int16_t version = 0;
  AlterPartitionRequest request;
  ControllerChannel::IsNotController is_not_controller;
  ControllerChannel::OnResponse on_response;
};

class FakeChannel : public ControllerChannel {
 public:
  void send(int16_t api_key, int16_t api_version, std::vector<uint8_t> body, std::chrono::milliseconds,
            IsNotController is_not_controller, OnResponse on_response) override {
    Sent s;
    s.api_key = api_key;
    s.version = api_version;
    protocol::WireReader r(body);
    s.request.decode(r, api_version);
    s.is_not_controller = std::move(is_not_controller);
    s.on_response = std::move(on_response);
    sent.push_back(std::move(s));
  }
  std::deque<Sent> sent;
};

std::vector<uint8_t> encode(const AlterPartitionResponse& r) {
  protocol::WireWriter w;
  r.encode(w, 3);
  return w.take();
}

std::shared_ptr<IsrUpdate> update(const protocol::Uuid& topic, int32_t partition, std::vector<int32_t> isr) {
  auto u = std::make_shared<IsrUpdate>();
  u->topic = "t";
  u->topic_id = topic;
  u->partition = partition;
  u->leader_epoch = 4;
  u->partition_epoch = 9;
  for (int32_t id : isr) u->new_isr.push_back({id, 100 + id});
  return u;
}

// The answer for every partition of `request`: success with the ISR asked,
// partition epoch + 1.
AlterPartitionResponse accept_all(const AlterPartitionRequest& request) {
  AlterPartitionResponse out;
  for (const auto& t : request.topics) {
    AlterPartitionResponse::TopicData td;
    td.topic_id = t.topic_id;
    for (const auto& p : t.partitions) {
      AlterPartitionResponse::TopicData::PartitionData pd;
      pd.partition_index = p.partition_index;
      pd.leader_id = 1;
      pd.leader_epoch = p.leader_epoch;
      for (const auto& s : p.new_isr_with_epochs) pd.isr.push_back(s.broker_id);
      pd.partition_epoch = p.partition_epoch + 1;
      td.partitions.push_back(pd);
    }
    out.topics.push_back(td);
  }
  return out;
}

class AlterPartitionManagerTest : public ::testing::Test {
 protected:
  AlterPartitionManagerTest() : manager(channel, options()) {}
  AlterPartitionManager::Options options() {
    AlterPartitionManager::Options o;
    o.broker_id = 1;
    o.broker_epoch = [this] { return epoch; };
    o.schedule = [this](std::chrono::milliseconds, std::function<void()> fn) { scheduled.push_back(std::move(fn)); };
    return o;
  }
  void submit(std::shared_ptr<IsrUpdate> u) {
    manager.submit(std::move(u), [this](IsrUpdateResult r) { results.push_back(std::move(r)); });
  }
  int64_t epoch = 42;
  FakeChannel channel;
  std::vector<std::function<void()>> scheduled;
  std::vector<IsrUpdateResult> results;
  AlterPartitionManager manager;
  protocol::Uuid topic = protocol::Uuid::random();
};

TEST_F(AlterPartitionManagerTest, SendsV3WithBrokerIdEpochAndIsrEpochs) {
  submit(update(topic, 0, {1, 2}));
  ASSERT_EQ(channel.sent.size(), 1u);
  const Sent& s = channel.sent.front();
  EXPECT_EQ(s.api_key, 56);
  EXPECT_EQ(s.version, 3);
  EXPECT_EQ(s.request.broker_id, 1);
  EXPECT_EQ(s.request.broker_epoch, 42);
  ASSERT_EQ(s.request.topics.size(), 1u);
  EXPECT_EQ(s.request.topics[0].topic_id, topic);
  const auto& p = s.request.topics[0].partitions.at(0);
  EXPECT_EQ(p.leader_epoch, 4);
  EXPECT_EQ(p.partition_epoch, 9);
  ASSERT_EQ(p.new_isr_with_epochs.size(), 2u);
  EXPECT_EQ(p.new_isr_with_epochs[1].broker_id, 2);
  EXPECT_EQ(p.new_isr_with_epochs[1].broker_epoch, 102);
}

TEST_F(AlterPartitionManagerTest, OneRequestInFlightBatchesWhatQueuesMeanwhile) {
  submit(update(topic, 0, {1, 2}));
  submit(update(topic, 1, {1}));
  submit(update(topic, 2, {1, 3}));
  ASSERT_EQ(channel.sent.size(), 1u);  // the others wait
  Sent first = std::move(channel.sent.front());
  channel.sent.pop_front();
  first.on_response(encode(accept_all(first.request)));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].error, ErrorCode::NONE);
  EXPECT_EQ(results[0].partition.isr, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(results[0].partition.partition_epoch, 10);
  ASSERT_EQ(channel.sent.size(), 1u);  // both queued ones in one request
  Sent second = std::move(channel.sent.front());
  channel.sent.pop_front();
  ASSERT_EQ(second.request.topics.size(), 1u);
  EXPECT_EQ(second.request.topics[0].partitions.size(), 2u);
  second.on_response(encode(accept_all(second.request)));
  EXPECT_EQ(results.size(), 3u);
  EXPECT_EQ(manager.pending(), 0u);
}

TEST_F(AlterPartitionManagerTest, ASecondUpdateForAPartitionIsRefused) {
  submit(update(topic, 0, {1, 2}));
  submit(update(topic, 0, {1}));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].error, ErrorCode::OPERATION_NOT_ATTEMPTED);
  EXPECT_EQ(manager.pending(), 1u);
}

TEST_F(AlterPartitionManagerTest, PartitionErrorsGoToTheirPartition) {
  submit(update(topic, 0, {1, 2}));
  Sent s = std::move(channel.sent.front());
  channel.sent.pop_front();
  AlterPartitionResponse r = accept_all(s.request);
  r.topics[0].partitions[0].error_code = protocol::code(ErrorCode::INELIGIBLE_REPLICA);
  s.on_response(encode(r));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].error, ErrorCode::INELIGIBLE_REPLICA);
  EXPECT_TRUE(channel.sent.empty());
}

TEST_F(AlterPartitionManagerTest, TopLevelErrorRetriesLaterWithTheNewEpoch) {
  submit(update(topic, 0, {1, 2}));
  Sent s = std::move(channel.sent.front());
  channel.sent.pop_front();
  AlterPartitionResponse stale;
  stale.error_code = protocol::code(ErrorCode::STALE_BROKER_EPOCH);
  s.on_response(encode(stale));
  EXPECT_TRUE(results.empty());
  EXPECT_TRUE(channel.sent.empty());
  ASSERT_EQ(scheduled.size(), 1u);
  epoch = 77;  // re-registered meanwhile
  scheduled.front()();
  ASSERT_EQ(channel.sent.size(), 1u);
  EXPECT_EQ(channel.sent.front().request.broker_epoch, 77);
}

TEST_F(AlterPartitionManagerTest, NotControllerIsRecognisedForTheChannelToRetry) {
  submit(update(topic, 0, {1, 2}));
  AlterPartitionResponse r;
  r.error_code = protocol::code(ErrorCode::NOT_CONTROLLER);
  EXPECT_TRUE(channel.sent.front().is_not_controller(encode(r)));
  EXPECT_FALSE(channel.sent.front().is_not_controller(encode(accept_all(channel.sent.front().request))));
}

TEST_F(AlterPartitionManagerTest, NoAnswerTimesOutTheRequestsUpdates) {
  submit(update(topic, 0, {1, 2}));
  Sent s = std::move(channel.sent.front());
  channel.sent.pop_front();
  submit(update(topic, 1, {1}));  // queued behind, not part of the timed-out request
  s.on_response(std::nullopt);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].error, ErrorCode::REQUEST_TIMED_OUT);
  ASSERT_EQ(channel.sent.size(), 1u);
  EXPECT_EQ(channel.sent.front().request.topics[0].partitions.at(0).partition_index, 1);
}

TEST_F(AlterPartitionManagerTest, APartitionMissingFromTheAnswerIsSentAgain) {
  submit(update(topic, 0, {1, 2}));
  Sent s = std::move(channel.sent.front());
  channel.sent.pop_front();
  s.on_response(encode(AlterPartitionResponse{}));
  EXPECT_TRUE(results.empty());
  ASSERT_EQ(channel.sent.size(), 1u);
  EXPECT_EQ(channel.sent.front().request.topics[0].partitions.at(0).partition_index, 0);
}

TEST_F(AlterPartitionManagerTest, ADoneCallbackMaySubmitAgain) {
  manager.submit(update(topic, 0, {1, 2}), [this](IsrUpdateResult r) {
    results.push_back(r);
    submit(update(topic, 0, {1}));
  });
  Sent s = std::move(channel.sent.front());
  channel.sent.pop_front();
  s.on_response(encode(accept_all(s.request)));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].error, ErrorCode::NONE);
  EXPECT_EQ(channel.sent.size(), 1u);
}

}  // namespace
}  // namespace samsa::broker::replica

namespace samsa::broker::replica {
namespace {

TEST(AlterPartitionManagerChannel, UpdatesWaitUntilTheChannelExists) {
  FakeChannel channel;
  ControllerChannel* current = nullptr;
  std::vector<std::function<void()>> scheduled;
  AlterPartitionManager::Options o;
  o.broker_id = 1;
  o.broker_epoch = [] { return int64_t{5}; };
  o.schedule = [&](std::chrono::milliseconds, std::function<void()> fn) { scheduled.push_back(std::move(fn)); };
  AlterPartitionManager manager([&] { return current; }, o);
  std::vector<IsrUpdateResult> results;
  auto topic = protocol::Uuid::random();
  manager.submit(update(topic, 0, {1, 2}), [&](IsrUpdateResult r) { results.push_back(r); });
  manager.submit(update(topic, 1, {1}), [&](IsrUpdateResult r) { results.push_back(r); });
  EXPECT_TRUE(channel.sent.empty());
  ASSERT_EQ(scheduled.size(), 1u);  // one wait, not one per update
  current = &channel;
  scheduled.front()();
  ASSERT_EQ(channel.sent.size(), 1u);
  EXPECT_EQ(channel.sent.front().request.topics.at(0).partitions.size(), 2u);
  EXPECT_TRUE(results.empty());
}

}  // namespace
}  // namespace samsa::broker::replica
