// The Raft RPC handlers on the controller listener, over a real single-voter
// RaftManager: Fetch of __cluster_metadata and Vote reach the quorum, the
// broker listener's Fetch stays the partition fetch, a node without a
// quorum answers NOT_CONTROLLER.
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "samsa/broker/broker_services.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/request_dispatcher.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/api_versions_request.h"
#include "samsa/protocol/gen/api_versions_response.h"
#include "samsa/protocol/gen/describe_quorum_request.h"
#include "samsa/protocol/gen/describe_quorum_response.h"
#include "samsa/protocol/gen/request_header.h"
#include "samsa/protocol/gen/response_header.h"
#include "samsa/raft/consensus/raft_wire.h"
#include "samsa/raft/server/raft_manager.h"

namespace samsa::broker {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class RaftHandlersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("samsa-raft-handlers-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    services.node_id = 1;
    MetadataImage image;
    image.cluster_id = "c1";
    services.metadata.publish(std::make_shared<const MetadataImage>(image));
    conn.peer = "127.0.0.1:5555";
    conn.listener_name = "CONTROLLER";
  }
  void TearDown() override {
    if (raft) raft->stop();
    raft.reset();
    fs::remove_all(dir);
  }
  void start_quorum() {
    raft::RaftManagerOptions o;
    o.raft.node_id = 1;
    o.raft.voters = {1};
    o.raft.election_timeout_ms = 100;
    o.cluster_id = "c1";
    o.metadata_dir = dir.string();
    raft = std::make_unique<raft::RaftManager>(o);
    raft->start();
    services.raft = raft.get();
    for (int i = 0; i < 500 && raft->high_watermark() == 0; ++i) std::this_thread::sleep_for(10ms);
    ASSERT_GT(raft->high_watermark(), 0) << "the single voter did not commit its LeaderChange";
  }

  template <typename Request>
  std::vector<uint8_t> frame(int16_t key, int16_t version, const Request& body) {
    protocol::WireWriter w;
    protocol::RequestHeader header;
    header.request_api_key = key;
    header.request_api_version = version;
    header.correlation_id = 42;
    header.client_id = "raft-client-5";
    header.encode(w, protocol::request_header_version(key, version));
    body.encode(w, version);
    return w.take();
  }
  // The reply may come from the Raft thread: wait for it (bounded).
  net::Reply dispatch(std::vector<uint8_t> bytes, ListenerKind kind) {
    RequestDispatcher dispatcher(services, kind);
    std::mutex mu;
    std::condition_variable cv;
    std::optional<net::Reply> out;
    int calls = 0;
    dispatcher.on_frame(conn, std::make_shared<const std::vector<uint8_t>>(std::move(bytes)), [&](net::Reply r) {
      std::lock_guard lock(mu);
      out = std::move(r);
      ++calls;
      cv.notify_all();
    });
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, 5s, [&] { return out.has_value(); }));
    EXPECT_EQ(calls, 1);
    return out.value_or(net::Reply::close());
  }
  template <typename Response>
  Response decode(const net::Reply& reply, int16_t key, int16_t version) {
    EXPECT_EQ(reply.kind, net::Reply::Kind::kSend);
    protocol::WireReader r(reply.bytes);
    r.int32();
    protocol::ResponseHeader header;
    header.decode(r, protocol::response_header_version(key, version));
    EXPECT_EQ(header.correlation_id, 42);
    Response response;
    response.decode(r, version);
    EXPECT_TRUE(r.at_end());
    return response;
  }

  fs::path dir;
  BrokerServices services;
  net::ConnectionInfo conn;
  std::unique_ptr<raft::RaftManager> raft;
};

TEST_F(RaftHandlersTest, EachListenerHasItsOwnFetch) {
  const ApiHandler* broker = find_handler(1, ListenerKind::kBroker);
  const ApiHandler* controller = find_handler(1, ListenerKind::kController);
  ASSERT_NE(broker, nullptr);
  ASSERT_NE(controller, nullptr);
  EXPECT_EQ(broker->handle, &handle_fetch);
  EXPECT_EQ(controller->handle, &handle_raft_fetch);
  EXPECT_EQ(find_handler(52, ListenerKind::kBroker), nullptr);  // Vote: controllers only
  ASSERT_NE(find_handler(52, ListenerKind::kController), nullptr);

  protocol::ApiVersionsRequest req;
  req.client_software_name = "samsa";
  req.client_software_version = "1";
  auto resp = decode<protocol::ApiVersionsResponse>(dispatch(frame(18, 3, req), ListenerKind::kController), 18, 3);
  std::map<int16_t, std::pair<int16_t, int16_t>> apis;
  for (const auto& a : resp.api_keys) apis[a.api_key] = {a.min_version, a.max_version};
  EXPECT_EQ(apis[1], std::make_pair(raft::wire::kFetchMinVersion, raft::wire::kFetchMaxVersion));
  EXPECT_EQ(apis[52], std::make_pair(raft::wire::kVoteMinVersion, raft::wire::kVoteMaxVersion));
  EXPECT_EQ(apis[53], std::make_pair(raft::wire::kQuorumEpochMinVersion, raft::wire::kQuorumEpochMaxVersion));
  EXPECT_EQ(apis[54], std::make_pair(raft::wire::kQuorumEpochMinVersion, raft::wire::kQuorumEpochMaxVersion));
  EXPECT_EQ(apis[59], std::make_pair(raft::wire::kFetchSnapshotMinVersion, raft::wire::kFetchSnapshotMaxVersion));
}

TEST_F(RaftHandlersTest, ControllerFetchReplicatesTheMetadataLog) {
  start_quorum();
  const auto epoch = raft->leader().epoch;
  for (int16_t v : {raft::wire::kFetchMinVersion, raft::wire::kFetchMaxVersion}) {
    raft::FetchRequest fetch;
    fetch.current_leader_epoch = epoch;
    fetch.replica_id = 5;  // an observer
    fetch.fetch_offset = 0;
    auto wire = raft::wire::to_wire(fetch, 5, raft::wire::RequestContext{std::string("c1"), 1});
    auto resp = decode<protocol::FetchResponse>(dispatch(frame(1, v, wire), ListenerKind::kController), 1, v);
    ASSERT_EQ(resp.error_code, 0) << "v" << v;
    auto back = raft::wire::from_wire(resp, 0);
    ASSERT_TRUE(back.has_value()) << "v" << v;
    EXPECT_EQ(back->leader_id, 1);
    EXPECT_EQ(back->leader_epoch, epoch);
    EXPECT_GE(back->high_watermark, 1);
    ASSERT_FALSE(back->records.empty());
    EXPECT_TRUE(back->records[0].control);  // the LeaderChange
    EXPECT_EQ(back->records[0].control_type, raft::kLeaderChangeControlType);
  }
}

TEST_F(RaftHandlersTest, VoteReachesTheQuorumAndAnotherClusterIsRefused) {
  start_quorum();
  const auto epoch = raft->leader().epoch;
  // A stale candidate: refused, told who leads.
  raft::VoteRequest vote{epoch, 5, 0, 0, false};
  auto wire = raft::wire::to_wire(vote, raft::wire::RequestContext{std::string("c1"), 1});
  ASSERT_TRUE(wire.has_value());
  auto resp = decode<protocol::VoteResponse>(dispatch(frame(52, 2, *wire), ListenerKind::kController), 52, 2);
  auto back = raft::wire::from_wire(resp);
  ASSERT_TRUE(back.has_value());
  EXPECT_FALSE(back->vote_granted);
  EXPECT_EQ(back->leader_id, 1);

  auto other = raft::wire::to_wire(vote, raft::wire::RequestContext{std::string("another-cluster"), 1});
  resp = decode<protocol::VoteResponse>(dispatch(frame(52, 2, *other), ListenerKind::kController), 52, 2);
  EXPECT_EQ(resp.error_code, protocol::code(protocol::ErrorCode::INCONSISTENT_CLUSTER_ID));
}

TEST_F(RaftHandlersTest, DescribeQuorumReportsTheLeadersView) {
  start_quorum();
  const auto epoch = raft->leader().epoch;
  const int64_t wall_now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  protocol::DescribeQuorumRequest req;
  protocol::DescribeQuorumRequest::TopicData t;
  t.topic_name = "__cluster_metadata";
  t.partitions.emplace_back();
  req.topics.push_back(t);
  for (int16_t v = 0; v <= 2; ++v) {
    for (auto kind : {ListenerKind::kController, ListenerKind::kBroker}) {
      auto resp = decode<protocol::DescribeQuorumResponse>(dispatch(frame(55, v, req), kind), 55, v);
      ASSERT_EQ(resp.error_code, 0);
      ASSERT_EQ(resp.topics.size(), 1u);
      ASSERT_EQ(resp.topics[0].partitions.size(), 1u);
      const auto& p = resp.topics[0].partitions[0];
      EXPECT_EQ(p.error_code, 0);
      EXPECT_EQ(p.leader_id, 1);
      EXPECT_EQ(p.leader_epoch, epoch);
      EXPECT_GT(p.high_watermark, 0);
      ASSERT_EQ(p.current_voters.size(), 1u);
      EXPECT_EQ(p.current_voters[0].replica_id, 1);
      EXPECT_GE(p.current_voters[0].log_end_offset, p.high_watermark);
      if (v >= 1) {  // wall-clock timestamps, as the tool prints "ms ago"
        EXPECT_GT(p.current_voters[0].last_fetch_timestamp, wall_now - 60'000);
        EXPECT_LT(p.current_voters[0].last_fetch_timestamp, wall_now + 60'000);
      }
      if (v >= 2) {
        ASSERT_EQ(resp.nodes.size(), 0u);  // no endpoints configured in this test
      }
    }
  }
  // Another partition: refused as a whole.
  req.topics[0].topic_name = "other";
  auto resp = decode<protocol::DescribeQuorumResponse>(dispatch(frame(55, 2, req), ListenerKind::kController), 55, 2);
  EXPECT_EQ(resp.error_code, protocol::code(protocol::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
}

TEST_F(RaftHandlersTest, NodeWithoutAQuorumAnswersNotController) {
  raft::BeginQuorumEpochRequest begin{3, 2};
  auto wire = raft::wire::to_wire(begin, raft::wire::RequestContext{std::string("c1"), 1});
  auto resp = decode<protocol::BeginQuorumEpochResponse>(dispatch(frame(53, 1, wire), ListenerKind::kController),
                                                         53, 1);
  EXPECT_EQ(resp.error_code, protocol::code(protocol::ErrorCode::NOT_CONTROLLER));
}

}  // namespace
}  // namespace samsa::broker
