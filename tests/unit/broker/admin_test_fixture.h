#pragma once
// A broker without the network or the metadata log, for the admin handler
// tests: a fake ControllerService applies the decided records to the image
// with MetadataDelta, publishes it and brings a real ReplicaManager (logs
// in a temporary dir) in line, as the broker's controller does.
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <random>
#include <stdexcept>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/controller_service.h"
#include "samsa/broker/features.h"
#include "samsa/broker/metadata/metadata_delta.h"
#include "samsa/broker/replica/replica_manager.h"
#include "samsa/broker/request_dispatcher.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/request_header.h"
#include "samsa/protocol/gen/response_header.h"
#include "samsa/protocol/wire_reader.h"

namespace samsa::broker::test {

class FakeController : public ControllerService {
 public:
  explicit FakeController(BrokerServices& services) : services_(services), placer_(1) {}

  const metadata::ControllerDefaults& defaults() const override { return defaults_; }
  metadata::ReplicaPlacer& placer() override { return placer_; }
  void set_defaults(metadata::ControllerDefaults d) { defaults_ = std::move(d); }

  bool active() const override { return is_active; }
  CommitResult commit(const Decide& decide) override {
    std::lock_guard lock(mu_);
    if (!is_active) return ControllerError::kNotController;
    if (lose_leadership) {  // another node won an election while this one was deciding
      is_active = false;
      return ControllerError::kNotController;
    }
    auto base = services_.metadata.current();
    auto records = decide(*base);
    if (fail) return ControllerError::kStorageFailed;
    if (records.empty()) return base;
    metadata::MetadataDelta delta(base);
    int64_t offset = base->offset + 1;
    for (const auto& r : records) delta.replay(metadata::frame(r), offset++);  // through the wire format
    auto image = delta.apply();
    services_.metadata.publish(image);
    if (services_.replicas) services_.replicas->apply(*image);
    ++commits;
    return image;
  }

  bool fail = false;
  bool is_active = true;
  bool lose_leadership = false;
  int commits = 0;

 private:
  BrokerServices& services_;
  metadata::ReplicaPlacer placer_;
  metadata::ControllerDefaults defaults_;
  std::mutex mu_;
};

class AdminTest : public ::testing::Test {
 protected:
  static constexpr int32_t kNode = 1;

  AdminTest() {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() / ("samsa-admin-test-" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    std::string props =
        "process.roles=broker,controller\n"
        "node.id=1\n"
        "controller.quorum.voters=1@localhost:9093\n"
        "listeners=PLAINTEXT://:9092,CONTROLLER://:9093\n"
        "controller.listener.names=CONTROLLER\n"
        "num.partitions=2\n"
        "log.retention.hours=72\n"
        "log.dirs=" +
        (dir_ / "data").string() + "\n";
    config_ = BrokerConfig::from_properties(Properties::parse(props, "server.properties"),
                                            [](const char*) -> std::optional<std::string> { return std::nullopt; });
    services.node_id = kNode;
    services.config = &config_;
    services.controller = &controller;
    controller.set_defaults(metadata::controller_defaults(config_));

    MetadataImage image;
    image.cluster_id = "HevfdPNPTNuKi0P2-qq7VQ";
    image.metadata_version = kLatestMetadataVersion;
    for (int32_t id : {1, 2, 3}) {
      BrokerRegistration b;
      b.id = id;
      b.epoch = 10 + id;
      b.endpoints.push_back({"PLAINTEXT", "127.0.0.1", static_cast<uint16_t>(9091 + id), "PLAINTEXT"});
      b.fenced = id != kNode;  // only this node is up unless a test unfences more
      image.brokers.emplace(id, b);
    }
    image.controllers.emplace(1, BrokerEndpoint{"CONTROLLER", "127.0.0.1", 9093, "PLAINTEXT"});
    image.quorum_leader_id = 1;
    services.metadata.publish(std::make_shared<const MetadataImage>(image));

    partitions_ = std::make_unique<ReplicaManager>(config_, kNode);
    partitions_->startup();
    services.replicas = partitions_.get();
    conn.id = 7;
    conn.peer = "127.0.0.1:5555";
    conn.listener_name = "PLAINTEXT";
  }

  ~AdminTest() override {
    partitions_->shutdown();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void unfence_all() {
    MetadataImage image = *services.metadata.current();
    for (auto& [id, b] : image.brokers) b.fenced = false;
    services.metadata.publish(std::make_shared<const MetadataImage>(image));
  }

  template <typename Response, typename Request>
  Response call(int16_t key, int16_t version, const Request& body, ListenerKind kind = ListenerKind::kBroker) {
    protocol::WireWriter w;
    protocol::RequestHeader header;
    header.request_api_key = key;
    header.request_api_version = version;
    header.correlation_id = 42;
    header.client_id = "admin-test";
    header.encode(w, protocol::request_header_version(key, version));
    body.encode(w, version);

    RequestDispatcher dispatcher(services, kind);
    net::Reply reply;
    int calls = 0;
    dispatcher.on_frame(conn, std::make_shared<const std::vector<uint8_t>>(w.take()), [&](net::Reply r) {
      reply = std::move(r);
      ++calls;
    });
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(reply.kind, net::Reply::Kind::kSend) << "key " << key << " v" << version;
    Response response;
    if (reply.kind != net::Reply::Kind::kSend) return response;
    protocol::WireReader r(reply.bytes);
    EXPECT_EQ(static_cast<size_t>(r.int32()), reply.bytes.size() - 4);
    protocol::ResponseHeader rh;
    rh.decode(r, protocol::response_header_version(key, version));
    EXPECT_EQ(rh.correlation_id, 42);
    response.decode(r, version);
    EXPECT_TRUE(r.at_end());
    return response;
  }

  std::shared_ptr<const MetadataImage> image() const { return services.metadata.current(); }
  std::string data_dir() const { return (dir_ / "data").string(); }

  BrokerServices services;
  FakeController controller{services};
  net::ConnectionInfo conn;

 private:
  std::filesystem::path dir_;
  BrokerConfig config_;
  std::unique_ptr<ReplicaManager> partitions_;
};

}  // namespace samsa::broker::test
