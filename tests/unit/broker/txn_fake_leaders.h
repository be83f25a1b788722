#pragma once
// Loopback "brokers" for the transaction network tests (marker channel,
// verification manager): each decodes one request type, records it, and
// answers what the test's script says, optionally holding answers until
// release(). The image they are found through is a MetadataImage the test
// edits.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "samsa/broker/metadata_image.h"
#include "samsa/net/frame_handler.h"
#include "samsa/net/io_context_pool.h"
#include "samsa/net/tcp_server.h"
#include "samsa/protocol/gen/api_keys.h"
#include "samsa/protocol/gen/request_header.h"
#include "samsa/protocol/gen/response_header.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::broker::txn_test {

// Answers requests of type Request with the Response `answer` builds.
template <typename Request, typename Response>
class FakeLeader : public net::FrameHandler {
 public:
  using Answer = std::function<Response(const Request&, int call)>;
  explicit FakeLeader(Answer a) : answer_(std::move(a)) {}

  void on_frame(const net::ConnectionInfo&, net::FramePtr frame, net::ReplyFn reply) override {
    protocol::WireReader r(*frame);
    protocol::WireReader peek(*frame);
    const int16_t key = peek.int16();
    const int16_t version = peek.int16();
    protocol::RequestHeader header;
    header.decode(r, protocol::request_header_version(key, version));
    Request request;
    request.decode(r, version);
    std::unique_lock lock(mu_);
    const int call = static_cast<int>(requests_.size());
    requests_.push_back(request);
    versions_.push_back(version);
    Response response = answer_(request, call);
    protocol::WireWriter w;
    w.int32(0);
    protocol::ResponseHeader rh;
    rh.correlation_id = header.correlation_id;
    rh.encode(w, protocol::response_header_version(key, version));
    response.encode(w, version);
    w.patch_int32(0, static_cast<int32_t>(w.size() - 4));
    if (hold_) {
      held_.emplace_back(std::move(reply), w.take());
      return;
    }
    lock.unlock();
    reply(net::Reply::send(w.take()));
  }

  void hold(bool on) {
    std::lock_guard lock(mu_);
    hold_ = on;
  }
  // Sends the held answers (or closes their connections).
  void release(bool close = false) {
    std::vector<std::pair<net::ReplyFn, std::vector<uint8_t>>> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    for (auto& [reply, bytes] : held) reply(close ? net::Reply::close() : net::Reply::send(std::move(bytes)));
  }
  std::vector<Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::vector<int16_t> versions() const {
    std::lock_guard lock(mu_);
    return versions_;
  }
  size_t count() const {
    std::lock_guard lock(mu_);
    return requests_.size();
  }
  // Waits (bounded) until at least `n` requests came in.
  bool wait_for_requests(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (count() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return count() >= n;
  }

 private:
  Answer answer_;
  mutable std::mutex mu_;
  bool hold_ = false;
  std::vector<Request> requests_;
  std::vector<int16_t> versions_;
  std::vector<std::pair<net::ReplyFn, std::vector<uint8_t>>> held_;
};

// A mutable image: brokers on loopback ports, topics with partition leaders.
class TestImage {
 public:
  TestImage() {
    auto img = std::make_shared<MetadataImage>();
    img->offset = 1;
    image_ = img;
  }
  std::shared_ptr<const MetadataImage> current() const {
    std::lock_guard lock(mu_);
    return image_;
  }
  void set_broker(int32_t id, uint16_t port, bool fenced = false) {
    edit([&](MetadataImage& img) {
      BrokerRegistration b;
      b.id = id;
      b.fenced = fenced;
      b.endpoints.push_back({"INTERNAL", "127.0.0.1", port, "PLAINTEXT"});
      img.brokers[id] = b;
    });
  }
  // Every partition of `topic` 0..n-1 led by leaders[p].
  void set_topic(const std::string& topic, std::vector<int32_t> leaders) {
    edit([&](MetadataImage& img) {
      auto t = std::make_shared<TopicImage>();
      t->name = topic;
      t->id.bytes[0] = static_cast<uint8_t>(topic.size());
      t->id.bytes[1] = static_cast<uint8_t>(topic[0]);
      for (int32_t p = 0; p < static_cast<int32_t>(leaders.size()); ++p) {
        PartitionImage pi;
        pi.partition_id = p;
        pi.leader = leaders[p];
        pi.replicas = {leaders[p]};
        pi.isr = {leaders[p]};
        t->partitions.emplace(p, pi);
      }
      auto topics = std::make_shared<TopicsImage>(*img.topics);
      if (auto old = topics->by_name.find(topic); old != topics->by_name.end()) {
        topics->by_id.erase(old->second->id);
        topics->by_name.erase(old);
      }
      topics->by_name.emplace(topic, t);
      topics->by_id.emplace(t->id, t);
      img.topics = topics;
    });
  }
  void remove_topic(const std::string& topic) {
    edit([&](MetadataImage& img) {
      auto topics = std::make_shared<TopicsImage>(*img.topics);
      if (auto old = topics->by_name.find(topic); old != topics->by_name.end()) {
        topics->by_id.erase(old->second->id);
        topics->by_name.erase(old);
      }
      img.topics = topics;
    });
  }

 private:
  void edit(const std::function<void(MetadataImage&)>& f) {
    std::lock_guard lock(mu_);
    auto next = std::make_shared<MetadataImage>(*image_);
    f(*next);
    ++next->offset;
    image_ = next;
  }
  mutable std::mutex mu_;
  std::shared_ptr<const MetadataImage> image_ = std::make_shared<MetadataImage>();
};

// One TcpServer with a listener per fake broker.
class LoopbackServer {
 public:
  LoopbackServer() : server_(std::make_unique<net::TcpServer>(pool_, net::ConnectionOptions{})) {}
  uint16_t listen(const std::string& name, net::FrameHandler* handler) {
    return server_->listen(net::ListenerConfig{name, "127.0.0.1", 0, handler});
  }
  void start() {
    pool_.start();
    server_->start_accepting();
  }
  void stop() {
    server_->stop_accepting();
    server_->drain(std::chrono::seconds(1));
    pool_.stop();
  }

 private:
  net::IoContextPool pool_{1};
  std::unique_ptr<net::TcpServer> server_;
};

}  // namespace samsa::broker::txn_test
