#pragma once
// Fixture: Produce, Fetch and ListOffsets driven through the RequestDispatcher with a
// real ReplicaManager on a temporary log dir; replies are decoded with the
// generated codecs (file-backed record data is read back from its splice).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "samsa/broker/broker_config.h"
#include "samsa/broker/broker_services.h"
#include "samsa/broker/fetch/fetch_waiters.h"
#include "samsa/broker/replica/replica_manager.h"
#include "samsa/broker/properties.h"
#include "samsa/broker/request_dispatcher.h"
#include "samsa/broker/scheduler.h"
#include "samsa/protocol/compression.h"
#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/fetch_request.h"
#include "samsa/protocol/gen/fetch_response.h"
#include "samsa/protocol/gen/list_offsets_request.h"
#include "samsa/protocol/gen/list_offsets_response.h"
#include "samsa/protocol/gen/produce_request.h"
#include "samsa/protocol/gen/produce_response.h"
#include "samsa/protocol/gen/request_header.h"
#include "samsa/protocol/gen/response_header.h"
#include "samsa/protocol/record_batch.h"
#include "samsa/util/env.h"
#include "single_node_env.h"

namespace samsa::broker {

using protocol::ErrorCode;
namespace fs = std::filesystem;

struct Pending {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<net::Reply> reply;
  int calls = 0;
  bool wait(std::chrono::milliseconds t) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, t, [&] { return reply.has_value(); });
  }
};

class ProduceFetchTest : public ::testing::Test {
 protected:
  ProduceFetchTest() : ProduceFetchTest("", nullptr) {}
  // `extra`: more server.properties lines; `env` (may be null): mounted on
  // the log dir before anything is written there, until the end.
  ProduceFetchTest(const std::string& extra, std::shared_ptr<util::Env> env) : env_(std::move(env)) {
    dir = test_env::fresh_dir("samsa-pf");
    if (env_) util::Env::mount(dir.string(), env_.get());
    config = test_env::single_node_config(dir.string(), extra);
    pm = std::make_unique<ReplicaManager>(config, 1);
    ReplicaManagerWiring wiring;
    wiring.on_progress = [this](const std::string& t, int32_t p) { fetch_waiters(&services).notify(t, p); };
    wiring.waiters = &fetch_waiters(&services);
    wiring.scheduler = &scheduler;
    pm->wire(std::move(wiring));
    pm->startup();
    services.node_id = 1;
    services.config = &config;
    services.replicas = pm.get();
    services.scheduler = &scheduler;
    auto image = std::make_shared<MetadataImage>();
    image->cluster_id = "HevfdPNPTNuKi0P2-qq7VQ";
    auto topic = std::make_shared<TopicImage>();
    topic->name = "t";
    topic->id.bytes[15] = 7;
    for (int32_t p = 0; p < 2; ++p) {
      PartitionImage pi;
      pi.partition_id = p;
      pi.replicas = {1};
      pi.isr = {1};
      pi.leader = 1;
      pi.leader_epoch = 3;
      topic->partitions.emplace(p, pi);
    }
    auto topics = std::make_shared<TopicsImage>();
    topics->by_name.emplace("t", topic);
    topics->by_id.emplace(topic->id, topic);
    image->topics = topics;
    topic_id = topic->id;
    services.metadata.publish(image);
    pm->apply(*image);
    conn.peer = "127.0.0.1:5555";
    conn.listener_name = "PLAINTEXT";
  }
  ~ProduceFetchTest() override {
    scheduler.stop();
    pm->shutdown();
    pm.reset();
    if (env_) util::Env::unmount(dir.string());
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  template <typename Request>
  std::shared_ptr<Pending> send(int16_t key, int16_t version, const Request& body) {
    protocol::WireWriter w;
    protocol::RequestHeader header;
    header.request_api_key = key;
    header.request_api_version = version;
    header.correlation_id = 42;
    header.client_id = "unit-test";
    header.encode(w, protocol::request_header_version(key, version));
    body.encode(w, version);
    auto pending = std::make_shared<Pending>();
    dispatcher.on_frame(conn, std::make_shared<const std::vector<uint8_t>>(w.take()), [pending](net::Reply r) {
      std::lock_guard lock(pending->mu);
      ++pending->calls;
      pending->reply = std::move(r);
      pending->cv.notify_all();
    });
    return pending;
  }

  template <typename Response>
  static Response decode(const net::Reply& reply, int16_t key, int16_t version) {
    EXPECT_EQ(reply.kind, net::Reply::Kind::kSend);
    auto owner = std::make_shared<std::vector<uint8_t>>();  // splices inserted; decoded Records borrow it
    auto& flat = *owner;
    size_t from = 0;
    for (const auto& s : reply.splices) {
      flat.insert(flat.end(), reply.bytes.begin() + from, reply.bytes.begin() + s.at);
      std::vector<uint8_t> buf(s.range.length);
      EXPECT_EQ(::pread(s.range.fd, buf.data(), buf.size(), static_cast<off_t>(s.range.position)),
                static_cast<ssize_t>(buf.size()));
      flat.insert(flat.end(), buf.begin(), buf.end());
      from = s.at;
    }
    flat.insert(flat.end(), reply.bytes.begin() + from, reply.bytes.end());
    protocol::WireReader r(flat, owner);
    EXPECT_EQ(static_cast<size_t>(r.int32()), flat.size() - 4);
    protocol::ResponseHeader header;
    header.decode(r, protocol::response_header_version(key, version));
    Response response;
    response.decode(r, version);
    EXPECT_TRUE(r.at_end());
    return response;
  }

  template <typename Response, typename Request>
  Response call(int16_t key, int16_t version, const Request& req) {
    auto p = send(key, version, req);
    EXPECT_TRUE(p->wait(std::chrono::seconds(5)));
    EXPECT_EQ(p->calls, 1);
    return decode<Response>(*p->reply, key, version);
  }

  static std::vector<uint8_t> batch(int n, int64_t ts = 1000, protocol::CompressionType c = protocol::CompressionType::kNone,
                                    const std::string& prefix = "v") {
    protocol::RecordBatchBuilder b;
    for (int i = 0; i < n; ++i) {
      std::string k = "k" + std::to_string(i), v = prefix + std::to_string(i);
      b.append(ts + i, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(k.data()), k.size()),
               std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
    }
    return protocol::build_compressed_batch(b, c);
  }

  protocol::ProduceRequest produce_req(const std::vector<uint8_t>& bytes, int32_t partition = 0, int16_t acks = -1,
                                       const std::string& topic = "t") {
    auto buf = std::make_shared<std::vector<uint8_t>>(bytes);
    protocol::ProduceRequest req;
    req.acks = acks;
    req.timeout_ms = 1000;
    auto& t = req.topic_data.emplace_back();
    t.name = topic;
    auto& p = t.partition_data.emplace_back();
    p.index = partition;
    p.records = protocol::Records::borrow(*buf, buf);
    return req;
  }

  protocol::ProduceResponse::TopicProduceResponse::PartitionProduceResponse produce(
      const std::vector<uint8_t>& bytes, int32_t partition = 0, int16_t version = 9) {
    auto resp = call<protocol::ProduceResponse>(0, version, produce_req(bytes, partition));
    return resp.responses.at(0).partition_responses.at(0);
  }

  protocol::FetchRequest fetch_req(int64_t offset, int16_t version, std::vector<int32_t> partitions = {0}) {
    protocol::FetchRequest req;
    req.max_wait_ms = 0;
    req.min_bytes = 1;
    auto& t = req.topics.emplace_back();
    t.topic = "t";
    t.topic_id = topic_id;
    for (int32_t p : partitions) {
      auto& fp = t.partitions.emplace_back();
      fp.partition = p;
      fp.fetch_offset = offset;
      fp.partition_max_bytes = 1 << 20;
    }
    return req;
  }

  static std::vector<std::string> values(const protocol::Records& records) {
    std::vector<std::string> out;
    for (const auto& b : protocol::split_batches(records.bytes(), true).batches)
      for (const auto& r : protocol::decode_batch_records(b, 1 << 24))
        out.emplace_back(r.value->begin(), r.value->end());
    return out;
  }

  std::shared_ptr<util::Env> env_;
  fs::path dir;
  BrokerConfig config;
  std::unique_ptr<ReplicaManager> pm;
  Scheduler scheduler;
  BrokerServices services;
  RequestDispatcher dispatcher{services, ListenerKind::kBroker};
  net::ConnectionInfo conn;
  protocol::Uuid topic_id;
};

}  // namespace samsa::broker
