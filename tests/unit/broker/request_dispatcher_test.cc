// The dispatcher and the first handlers, driven with encoded frames and
// checked by decoding the replies with the generated codecs.
#include <gtest/gtest.h>

#include "samsa/broker/broker_services.h"
#include "samsa/broker/features.h"
#include "samsa/broker/handlers.h"
#include "samsa/broker/request_dispatcher.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/api_versions_request.h"
#include "samsa/protocol/gen/api_versions_response.h"
#include "samsa/protocol/gen/describe_cluster_request.h"
#include "samsa/protocol/gen/describe_cluster_response.h"
#include "samsa/protocol/gen/metadata_request.h"
#include "samsa/protocol/gen/metadata_response.h"
#include "samsa/protocol/gen/request_header.h"
#include "samsa/protocol/gen/response_header.h"
#include "samsa/protocol/wire_reader.h"

namespace samsa::broker {
namespace {

using protocol::ApiKey;
using protocol::ErrorCode;

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() {
    services.node_id = 1;
    MetadataImage image;
    image.cluster_id = "HevfdPNPTNuKi0P2-qq7VQ";
    image.metadata_version = kLatestMetadataVersion;
    BrokerRegistration self;
    self.id = 1;
    self.endpoints.push_back({"PLAINTEXT", "127.0.0.1", 9092, "PLAINTEXT"});
    self.endpoints.push_back({"INTERNAL", "10.0.0.1", 9094, "PLAINTEXT"});
    image.brokers.emplace(1, self);
    image.controllers.emplace(1, BrokerEndpoint{"CONTROLLER", "127.0.0.1", 9093, "PLAINTEXT"});
    image.quorum_leader_id = 1;
    services.metadata.publish(std::make_shared<const MetadataImage>(image));
    conn.id = 7;
    conn.peer = "127.0.0.1:5555";
    conn.listener_name = "PLAINTEXT";
  }

  template <typename Request>
  std::vector<uint8_t> frame(int16_t key, int16_t version, const Request& body, int32_t correlation_id = 42) {
    protocol::WireWriter w;
    protocol::RequestHeader header;
    header.request_api_key = key;
    header.request_api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = "unit-test";
    header.encode(w, protocol::request_header_version(key, version));
    body.encode(w, version);
    return w.take();
  }

  net::Reply dispatch(std::vector<uint8_t> bytes, ListenerKind kind = ListenerKind::kBroker) {
    RequestDispatcher dispatcher(services, kind);
    net::Reply out;
    int calls = 0;
    dispatcher.on_frame(conn, std::make_shared<const std::vector<uint8_t>>(std::move(bytes)), [&](net::Reply r) {
      out = std::move(r);
      ++calls;
    });
    EXPECT_EQ(calls, 1) << "the dispatcher must answer exactly once";
    return out;
  }

  // Strips the size prefix and response header; returns the body reader.
  template <typename Response>
  Response decode(const net::Reply& reply, int16_t key, int16_t version, int32_t expected_correlation = 42) {
    EXPECT_EQ(reply.kind, net::Reply::Kind::kSend);
    protocol::WireReader r(reply.bytes);
    EXPECT_EQ(static_cast<size_t>(r.int32()), reply.bytes.size() - 4);
    protocol::ResponseHeader header;
    header.decode(r, protocol::response_header_version(key, version));
    EXPECT_EQ(header.correlation_id, expected_correlation);
    Response response;
    response.decode(r, version);
    EXPECT_TRUE(r.at_end());
    return response;
  }

  BrokerServices services;
  net::ConnectionInfo conn;
};

TEST_F(DispatcherTest, ApiVersionsListsExactlyTheServedApisAtEveryVersion) {
  for (int16_t v = 0; v <= 4; ++v) {
    protocol::ApiVersionsRequest req;
    req.client_software_name = "librdkafka";
    req.client_software_version = "2.0.2";
    auto resp = decode<protocol::ApiVersionsResponse>(dispatch(frame(18, v, req)), 18, v);
    EXPECT_EQ(resp.error_code, 0) << "v" << v;
    std::map<int16_t, std::pair<int16_t, int16_t>> apis;
    for (const auto& a : resp.api_keys) apis[a.api_key] = {a.min_version, a.max_version};
    std::map<int16_t, std::pair<int16_t, int16_t>> table;
    for (const auto& h : api_handlers())
      if (h.broker_listener) table[static_cast<int16_t>(h.key)] = {h.min_version, h.max_version};
    EXPECT_EQ(apis, table) << "ApiVersions must list exactly the handler table";
    EXPECT_EQ(apis[18], std::make_pair(int16_t{0}, int16_t{4}));
    EXPECT_EQ(apis[3], std::make_pair(int16_t{0}, int16_t{12}));
    EXPECT_EQ(apis[60], std::make_pair(int16_t{0}, int16_t{1}));
    if (v >= 3) {
      ASSERT_EQ(resp.finalized_features.size(), 1u);
      EXPECT_EQ(resp.finalized_features[0].name, "metadata.version");
      EXPECT_EQ(resp.finalized_features[0].max_version_level, kLatestMetadataVersion);
      ASSERT_FALSE(resp.supported_features.empty());
    }
  }
}

TEST_F(DispatcherTest, ApiVersionsOfAnUnknownVersionGetsUnsupportedVersionInV0Layout) {
  protocol::ApiVersionsRequest req;  // body is ignored for unknown versions
  protocol::WireWriter w;
  protocol::RequestHeader header;
  header.request_api_key = 18;
  header.request_api_version = 99;
  header.correlation_id = 5;
  header.client_id = "x";
  header.encode(w, 2);
  auto resp = decode<protocol::ApiVersionsResponse>(dispatch(w.take()), 18, 0, 5);
  EXPECT_EQ(resp.error_code, protocol::code(ErrorCode::UNSUPPORTED_VERSION));
  ASSERT_EQ(resp.api_keys.size(), 1u);
  EXPECT_EQ(resp.api_keys[0].api_key, 18);
  EXPECT_EQ(resp.api_keys[0].max_version, 4);
}

TEST_F(DispatcherTest, ApiVersionsV3WithAnInvalidSoftwareNameIsAnInvalidRequest) {
  protocol::ApiVersionsRequest req;
  req.client_software_name = "bad name!";
  req.client_software_version = "1.0";
  auto resp = decode<protocol::ApiVersionsResponse>(dispatch(frame(18, 3, req)), 18, 3);
  EXPECT_EQ(resp.error_code, protocol::code(ErrorCode::INVALID_REQUEST));
}

TEST_F(DispatcherTest, MetadataListsBrokersThroughTheRequestListenerAtEveryVersion) {
  for (int16_t v = 0; v <= 12; ++v) {
    protocol::MetadataRequest req;
    if (v >= 1) req.topics = std::nullopt;  // all topics
    auto resp = decode<protocol::MetadataResponse>(dispatch(frame(3, v, req)), 3, v);
    ASSERT_EQ(resp.brokers.size(), 1u) << "v" << v;
    EXPECT_EQ(resp.brokers[0].node_id, 1);
    EXPECT_EQ(resp.brokers[0].host, "127.0.0.1");
    EXPECT_EQ(resp.brokers[0].port, 9092);
    if (v >= 1) EXPECT_EQ(resp.controller_id, 1);
    if (v >= 2) EXPECT_EQ(resp.cluster_id, std::optional<std::string>("HevfdPNPTNuKi0P2-qq7VQ"));
    EXPECT_TRUE(resp.topics.empty());
  }
}

TEST_F(DispatcherTest, MetadataForAMissingTopicReportsUnknownTopic) {
  protocol::MetadataRequest req;
  req.topics.emplace();
  protocol::MetadataRequest::MetadataRequestTopic t;
  t.name = "missing";
  req.topics->push_back(t);
  auto resp = decode<protocol::MetadataResponse>(dispatch(frame(3, 9, req)), 3, 9);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].name, std::optional<std::string>("missing"));
  EXPECT_EQ(resp.topics[0].error_code, protocol::code(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
}

TEST_F(DispatcherTest, MetadataAuthorizedOperationsOnlyWhenAsked) {
  protocol::MetadataRequest req;
  req.topics = std::nullopt;
  auto plain = decode<protocol::MetadataResponse>(dispatch(frame(3, 8, req)), 3, 8);
  EXPECT_EQ(plain.cluster_authorized_operations, INT32_MIN);
  req.include_cluster_authorized_operations = true;
  auto asked = decode<protocol::MetadataResponse>(dispatch(frame(3, 8, req)), 3, 8);
  EXPECT_NE(asked.cluster_authorized_operations, INT32_MIN);
  EXPECT_TRUE(asked.cluster_authorized_operations & (1 << 8)) << "DESCRIBE must be allowed";
}

TEST_F(DispatcherTest, DescribeClusterOnABrokerListener) {
  for (int16_t v = 0; v <= 1; ++v) {
    protocol::DescribeClusterRequest req;
    auto resp = decode<protocol::DescribeClusterResponse>(dispatch(frame(60, v, req)), 60, v);
    EXPECT_EQ(resp.error_code, 0);
    EXPECT_EQ(resp.cluster_id, "HevfdPNPTNuKi0P2-qq7VQ");
    EXPECT_EQ(resp.controller_id, 1);
    ASSERT_EQ(resp.brokers.size(), 1u);
    EXPECT_EQ(resp.brokers[0].port, 9092);
  }
  protocol::DescribeClusterRequest controllers;
  controllers.endpoint_type = 2;
  auto resp = decode<protocol::DescribeClusterResponse>(dispatch(frame(60, 1, controllers)), 60, 1);
  EXPECT_EQ(resp.error_code, protocol::code(ErrorCode::MISMATCHED_ENDPOINT_TYPE));
}

TEST_F(DispatcherTest, DescribeClusterOnAControllerListenerListsControllers) {
  conn.listener_name = "CONTROLLER";
  protocol::DescribeClusterRequest req;
  req.endpoint_type = 2;
  auto resp = decode<protocol::DescribeClusterResponse>(dispatch(frame(60, 1, req), ListenerKind::kController), 60, 1);
  EXPECT_EQ(resp.error_code, 0);
  ASSERT_EQ(resp.brokers.size(), 1u);
  EXPECT_EQ(resp.brokers[0].port, 9093);
  auto v0 = decode<protocol::DescribeClusterResponse>(
      dispatch(frame(60, 0, protocol::DescribeClusterRequest{}), ListenerKind::kController), 60, 0);
  EXPECT_EQ(v0.error_code, protocol::code(ErrorCode::UNSUPPORTED_ENDPOINT_TYPE));
}

TEST_F(DispatcherTest, ControllerListenerDoesNotServeMetadata) {
  protocol::MetadataRequest req;
  EXPECT_EQ(dispatch(frame(3, 9, req), ListenerKind::kController).kind, net::Reply::Kind::kClose);
}

TEST_F(DispatcherTest, UnknownApiKeyClosesTheConnection) {
  protocol::WireWriter w;
  w.int16(9999);
  w.int16(0);
  w.int32(1);
  w.int16(-1);
  EXPECT_EQ(dispatch(w.take()).kind, net::Reply::Kind::kClose);
}

TEST_F(DispatcherTest, KnownButUnservedApiClosesTheConnection) {
  protocol::WireWriter w;
  protocol::RequestHeader header;
  header.request_api_key = 4;  // LeaderAndIsr: ZooKeeper-mode only, never served
  header.request_api_version = 7;
  header.encode(w, 1);
  EXPECT_EQ(dispatch(w.take()).kind, net::Reply::Kind::kClose);
}

TEST_F(DispatcherTest, UnsupportedVersionOfAServedApiClosesTheConnection) {
  protocol::MetadataRequest req;
  auto bytes = frame(3, 12, req);
  bytes[3] = 13;  // request_api_version = 13
  EXPECT_EQ(dispatch(bytes).kind, net::Reply::Kind::kClose);
}

TEST_F(DispatcherTest, TruncatedFramesCloseTheConnectionWithoutCrashing) {
  protocol::MetadataRequest req;
  protocol::MetadataRequest::MetadataRequestTopic t;
  t.name = "some-topic";
  req.topics.emplace().push_back(t);
  auto full = frame(3, 9, req);
  for (size_t len = 0; len < full.size(); ++len) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<long>(len));
    EXPECT_EQ(dispatch(cut).kind, net::Reply::Kind::kClose) << "prefix of " << len << " bytes";
  }
}

}  // namespace
}  // namespace samsa::broker
