// Controller APIs on a broker listener of a node that is not the active
// controller go to the active controller through the ControllerChannel:
// the client's request arrives there re-encoded at its version, the answer
// is relayed, NOT_CONTROLLER is retried by the channel, and a request that
// gets no answer fails per item with REQUEST_TIMED_OUT. On the controller
// listener the same APIs answer NOT_CONTROLLER.
#include "admin_test_fixture.h"
#include "samsa/broker/controller_channel.h"
#include "samsa/broker/producer_id_manager.h"
#include "samsa/protocol/gen/allocate_producer_ids_request.h"
#include "samsa/protocol/gen/allocate_producer_ids_response.h"
#include "samsa/protocol/gen/create_topics_request.h"
#include "samsa/protocol/gen/create_topics_response.h"
#include "samsa/protocol/gen/delete_topics_request.h"
#include "samsa/protocol/gen/delete_topics_response.h"
#include "samsa/protocol/gen/incremental_alter_configs_request.h"
#include "samsa/protocol/gen/incremental_alter_configs_response.h"
#include "samsa/protocol/gen/metadata_request.h"
#include "samsa/protocol/gen/metadata_response.h"

namespace samsa::broker::test {
namespace {

using protocol::ErrorCode;
namespace p = protocol;

// Answers at once: with `answer` (encoded at the request's version), or
// with nothing (the deadline passed).
class FakeChannel : public ControllerChannel {
 public:
  struct Sent {
    int16_t api_key;
    int16_t api_version;
    std::vector<uint8_t> body;
    std::chrono::milliseconds timeout;
  };
  void send(int16_t api_key, int16_t api_version, std::vector<uint8_t> body, std::chrono::milliseconds timeout,
            IsNotController is_not_controller, OnResponse on_response) override {
    sent.push_back({api_key, api_version, body, timeout});
    if (answer) not_controller_seen.push_back(is_not_controller(*answer));
    on_response(answer);
  }
  std::vector<Sent> sent;
  std::optional<std::vector<uint8_t>> answer;
  std::vector<bool> not_controller_seen;
};

template <typename Message>
std::vector<uint8_t> encode(const Message& m, int16_t version) {
  p::WireWriter w;
  m.encode(w, version);
  return w.take();
}

template <typename Message>
Message decode(const std::vector<uint8_t>& bytes, int16_t version) {
  p::WireReader r(bytes);
  Message m;
  m.decode(r, version);
  return m;
}

class ControllerForwardingTest : public AdminTest {
 protected:
  ControllerForwardingTest() { services.controller_channel = &channel; }

  p::CreateTopicsRequest create_request(const std::string& name) {
    p::CreateTopicsRequest req;
    auto& t = req.topics.emplace_back();
    t.name = name;
    t.num_partitions = 3;
    t.replication_factor = 1;
    req.timeout_ms = 1234;
    return req;
  }

  FakeChannel channel;
};

TEST_F(ControllerForwardingTest, ActiveControllerCommitsHereWithoutTheChannel) {
  auto resp = call<p::CreateTopicsResponse>(19, 7, create_request("here"));
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, 0);
  EXPECT_NE(image()->topic("here"), nullptr);
  EXPECT_TRUE(channel.sent.empty());
}

TEST_F(ControllerForwardingTest, ABrokerForwardsTheRequestAndRelaysTheControllersAnswer) {
  controller.is_active = false;
  p::CreateTopicsResponse remote;
  auto& r = remote.topics.emplace_back();
  r.name = "elsewhere";
  r.error_code = 0;
  r.num_partitions = 3;
  r.replication_factor = 1;
  channel.answer = encode(remote, 5);

  auto resp = call<p::CreateTopicsResponse>(19, 5, create_request("elsewhere"));
  ASSERT_EQ(channel.sent.size(), 1u);
  EXPECT_EQ(channel.sent[0].api_key, 19);
  EXPECT_EQ(channel.sent[0].api_version, 5);
  EXPECT_EQ(channel.sent[0].timeout, std::chrono::milliseconds(1234)) << "the request's own timeout";
  auto forwarded = decode<p::CreateTopicsRequest>(channel.sent[0].body, 5);
  ASSERT_EQ(forwarded.topics.size(), 1u);
  EXPECT_EQ(forwarded.topics[0].name, "elsewhere");
  EXPECT_EQ(forwarded.topics[0].num_partitions, 3);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].name, "elsewhere");
  EXPECT_EQ(resp.topics[0].error_code, 0);
  EXPECT_EQ(resp.topics[0].num_partitions, 3);
  EXPECT_EQ(controller.commits, 0);
  EXPECT_EQ(image()->topic("elsewhere"), nullptr) << "the image changes when the log says so, not here";
  ASSERT_EQ(channel.not_controller_seen.size(), 1u);
  EXPECT_FALSE(channel.not_controller_seen[0]);
}

TEST_F(ControllerForwardingTest, TheChannelRecognisesNotControllerAndAMissingAnswerTimesOutPerItem) {
  controller.is_active = false;
  p::DeleteTopicsResponse refused;
  auto& r = refused.responses.emplace_back();
  r.name = "a";
  r.error_code = p::code(ErrorCode::NOT_CONTROLLER);
  channel.answer = encode(refused, 4);
  p::DeleteTopicsRequest req;
  req.topic_names = {"a", "b"};
  req.timeout_ms = 500;
  call<p::DeleteTopicsResponse>(20, 4, req);
  ASSERT_EQ(channel.not_controller_seen.size(), 1u);
  EXPECT_TRUE(channel.not_controller_seen[0]) << "so the channel retries elsewhere";

  channel.answer.reset();  // the deadline passed without an answer
  auto resp = call<p::DeleteTopicsResponse>(20, 4, req);
  ASSERT_EQ(resp.responses.size(), 2u);
  for (const auto& t : resp.responses) EXPECT_EQ(t.error_code, p::code(ErrorCode::REQUEST_TIMED_OUT)) << t.name.value_or("");
}

TEST_F(ControllerForwardingTest, LeadershipLostWhileCommittingIsForwardedNotReported) {
  controller.lose_leadership = true;
  p::CreateTopicsResponse remote;
  auto& r = remote.topics.emplace_back();
  r.name = "moved";
  r.error_code = 0;
  channel.answer = encode(remote, 7);
  auto resp = call<p::CreateTopicsResponse>(19, 7, create_request("moved"));
  ASSERT_EQ(channel.sent.size(), 1u);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, 0);
}

TEST_F(ControllerForwardingTest, TheControllerListenerAnswersNotControllerWhenInactive) {
  controller.is_active = false;
  conn.listener_name = "CONTROLLER";
  auto resp = call<p::CreateTopicsResponse>(19, 7, create_request("x"), ListenerKind::kController);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, p::code(ErrorCode::NOT_CONTROLLER));
  EXPECT_TRUE(channel.sent.empty());

  p::AllocateProducerIdsRequest alloc;
  alloc.broker_id = 1;
  alloc.broker_epoch = 11;
  auto ids = call<p::AllocateProducerIdsResponse>(67, 0, alloc, ListenerKind::kController);
  EXPECT_EQ(ids.error_code, p::code(ErrorCode::NOT_CONTROLLER));
}

TEST_F(ControllerForwardingTest, AllocateProducerIdsReservesABlockOnTheActiveController) {
  conn.listener_name = "CONTROLLER";
  p::AllocateProducerIdsRequest alloc;
  alloc.broker_id = 1;
  alloc.broker_epoch = 11;
  auto first = call<p::AllocateProducerIdsResponse>(67, 0, alloc, ListenerKind::kController);
  EXPECT_EQ(first.error_code, 0);
  EXPECT_EQ(first.producer_id_len, metadata::kProducerIdBlockSize);
  auto second = call<p::AllocateProducerIdsResponse>(67, 0, alloc, ListenerKind::kController);
  EXPECT_EQ(second.error_code, 0);
  EXPECT_EQ(second.producer_id_start, first.producer_id_start + first.producer_id_len) << "never the same ids twice";
  EXPECT_EQ(image()->next_producer_id, second.producer_id_start + second.producer_id_len);
}

TEST_F(ControllerForwardingTest, ProducerIdBlocksComeFromTheRemoteControllerWhenThisNodeIsNotActive) {
  controller.is_active = false;
  p::AllocateProducerIdsResponse block;
  block.producer_id_start = 5000;
  block.producer_id_len = 2;
  channel.answer = encode(block, 0);
  ProducerIdManager ids(controller, kNode);
  ids.set_controller_channel(&channel, &services.metadata);
  EXPECT_EQ(ids.generate().producer_id, 5000);
  EXPECT_EQ(ids.generate().producer_id, 5001);
  ASSERT_EQ(channel.sent.size(), 1u);
  EXPECT_EQ(channel.sent[0].api_key, 67);
  auto sent = decode<p::AllocateProducerIdsRequest>(channel.sent[0].body, 0);
  EXPECT_EQ(sent.broker_id, kNode);
  EXPECT_EQ(sent.broker_epoch, 11) << "this broker's registered epoch";
  channel.answer.reset();
  auto failed = ids.generate();
  EXPECT_EQ(failed.producer_id, -1);
  EXPECT_EQ(failed.error.code, ErrorCode::COORDINATOR_LOAD_IN_PROGRESS) << "retriable for the client";
}

TEST_F(ControllerForwardingTest, BrokerLoggerChangesStayOnThisNode) {
  controller.is_active = false;
  p::IncrementalAlterConfigsRequest req;
  auto& res = req.resources.emplace_back();
  res.resource_type = 8;  // BROKER_LOGGER
  res.resource_name = "1";
  auto& c = res.configs.emplace_back();
  c.name = "root";
  c.config_operation = 0;
  c.value = "INFO";
  req.validate_only = true;
  auto resp = call<p::IncrementalAlterConfigsResponse>(44, 1, req);
  ASSERT_EQ(resp.responses.size(), 1u);
  EXPECT_EQ(resp.responses[0].error_code, 0);
  EXPECT_TRUE(channel.sent.empty());
}

TEST_F(ControllerForwardingTest, MetadataAutoCreationAsksTheActiveControllerAndAnswersLeaderNotAvailable) {
  controller.is_active = false;
  channel.answer = encode(p::CreateTopicsResponse{}, 7);
  p::MetadataRequest req;
  req.topics.emplace();
  auto& t = req.topics->emplace_back();
  t.name = "auto";
  req.allow_auto_topic_creation = true;
  auto resp = call<p::MetadataResponse>(3, 9, req);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, p::code(ErrorCode::LEADER_NOT_AVAILABLE));
  ASSERT_EQ(channel.sent.size(), 1u);
  EXPECT_EQ(channel.sent[0].api_key, 19);
  auto sent = decode<p::CreateTopicsRequest>(channel.sent[0].body, channel.sent[0].api_version);
  ASSERT_EQ(sent.topics.size(), 1u);
  EXPECT_EQ(sent.topics[0].name, "auto");
  EXPECT_EQ(sent.topics[0].num_partitions, -1) << "the controller's defaults";
  EXPECT_EQ(controller.commits, 0);
}

TEST_F(ControllerForwardingTest, TheControllerAcceptsAnotherBrokersConfigsForwardedToIt) {
  auto alter = [&](ListenerKind kind) {
    p::IncrementalAlterConfigsRequest req;
    auto& res = req.resources.emplace_back();
    res.resource_type = 4;  // BROKER
    res.resource_name = "2";
    auto& c = res.configs.emplace_back();
    c.name = "min.insync.replicas";
    c.config_operation = 0;
    c.value = "2";
    conn.listener_name = kind == ListenerKind::kBroker ? "PLAINTEXT" : "CONTROLLER";
    auto resp = call<p::IncrementalAlterConfigsResponse>(44, 1, req, kind);
    return resp.responses.empty() ? int16_t{-1} : resp.responses[0].error_code;
  };
  // Broker 1 is asked about broker 2: Kafka's broker refuses that itself.
  EXPECT_EQ(alter(ListenerKind::kBroker), p::code(ErrorCode::INVALID_REQUEST));
  // The active controller gets broker 2's request from broker 2.
  EXPECT_EQ(alter(ListenerKind::kController), 0);
  const ConfigMap* stored = image()->config(ConfigResourceType::kBroker, "2");
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(stored->at("min.insync.replicas"), "2");
}

}  // namespace
}  // namespace samsa::broker::test
