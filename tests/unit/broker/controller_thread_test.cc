// Blocking admin work leaves the network thread: the dispatcher hands
// controller commits (CreateTopics, Metadata auto-creation, ...) to the
// controller thread and returns at once; the reply comes from there when the
// commit is done, and requests that do not block are answered meanwhile.
#include <condition_variable>
#include <future>
#include <thread>

#include "admin_test_fixture.h"
#include "samsa/broker/controller_thread.h"
#include "samsa/protocol/gen/create_topics_request.h"
#include "samsa/protocol/gen/create_topics_response.h"
#include "samsa/protocol/gen/metadata_request.h"
#include "samsa/protocol/gen/metadata_response.h"
#include "samsa/util/serial_executor.h"

namespace samsa::broker::test {
namespace {

namespace p = protocol;
using namespace std::chrono_literals;

// Delegates to the fake controller once the test opens the gate, and notes
// the thread each commit ran on.
class GatedController : public ControllerService {
 public:
  explicit GatedController(ControllerService& inner) : inner_(inner) {}
  CommitResult commit(const Decide& decide) override {
    {
      std::unique_lock lock(mu_);
      threads.push_back(std::this_thread::get_id());
      cv_.wait(lock, [this] { return open_; });
    }
    auto result = inner_.commit(decide);
    std::lock_guard lock(mu_);
    if (auto* image = std::get_if<std::shared_ptr<const MetadataImage>>(&result)) images.push_back(*image);
    return result;
  }
  const metadata::ControllerDefaults& defaults() const override { return inner_.defaults(); }
  metadata::ReplicaPlacer& placer() override { return inner_.placer(); }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  std::vector<std::thread::id> threads;
  std::vector<std::shared_ptr<const MetadataImage>> images;  // after each commit

 private:
  ControllerService& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Replies collected from whichever thread sends them.
struct Replies {
  std::mutex mu;
  std::condition_variable cv;
  std::map<int32_t, net::Reply> by_correlation;

  net::ReplyFn fn(int32_t correlation_id) {
    return [this, correlation_id](net::Reply r) {
      std::lock_guard lock(mu);
      by_correlation[correlation_id] = std::move(r);
      cv.notify_all();
    };
  }
  bool has(int32_t id) {
    std::lock_guard lock(mu);
    return by_correlation.count(id) > 0;
  }
  net::Reply wait(int32_t id) {
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, 10s, [&] { return by_correlation.count(id) > 0; })) << "no reply " << id;
    return by_correlation[id];
  }
};

class ControllerThreadTest : public AdminTest {
 protected:
  ControllerThreadTest() {
    services.controller = &gated;
    services.controller_thread = &executor;
  }
  ~ControllerThreadTest() override {
    gated.open();
    executor.drain();
    services.controller_thread = nullptr;
  }

  template <typename Request>
  void send(int16_t key, int16_t version, int32_t correlation_id, const Request& body, Replies& replies) {
    p::WireWriter w;
    p::RequestHeader header;
    header.request_api_key = key;
    header.request_api_version = version;
    header.correlation_id = correlation_id;
    header.client_id = "controller-thread-test";
    header.encode(w, p::request_header_version(key, version));
    body.encode(w, version);
    RequestDispatcher dispatcher(services, ListenerKind::kBroker);
    dispatcher.on_frame(conn, std::make_shared<const std::vector<uint8_t>>(w.take()), replies.fn(correlation_id));
  }

  template <typename Response>
  static Response decode(const net::Reply& reply, int16_t key, int16_t version) {
    EXPECT_EQ(reply.kind, net::Reply::Kind::kSend);
    p::WireReader r(reply.bytes);
    r.int32();
    p::ResponseHeader rh;
    rh.decode(r, p::response_header_version(key, version));
    Response resp;
    resp.decode(r, version);
    return resp;
  }

  static p::MetadataRequest metadata_for(std::string topic) {
    p::MetadataRequest req;
    req.topics.emplace();
    req.topics->emplace_back().name = std::move(topic);
    req.allow_auto_topic_creation = true;
    return req;
  }

  GatedController gated{controller};
  util::SerialExecutor executor{"test-ctrl"};
};

TEST_F(ControllerThreadTest, CreateTopicsRepliesFromTheControllerThreadOthersAreNotHeldUp) {
  Replies replies;
  p::CreateTopicsRequest create;
  auto& t = create.topics.emplace_back();
  t.name = "made-off-thread";
  t.num_partitions = 3;
  t.replication_factor = 1;
  send(19, 7, 1, create, replies);
  // The network thread is back at once, the commit still waits at the gate.
  EXPECT_FALSE(replies.has(1));

  // A request that does not block is answered meanwhile, on this thread.
  auto plain = metadata_for("made-off-thread");
  plain.allow_auto_topic_creation = false;
  send(3, 12, 2, plain, replies);
  ASSERT_TRUE(replies.has(2));
  auto before = decode<p::MetadataResponse>(replies.wait(2), 3, 12);
  ASSERT_EQ(before.topics.size(), 1u);
  EXPECT_EQ(before.topics[0].error_code, p::code(p::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION));
  EXPECT_FALSE(replies.has(1));

  gated.open();
  auto created = decode<p::CreateTopicsResponse>(replies.wait(1), 19, 7);
  ASSERT_EQ(created.topics.size(), 1u);
  EXPECT_EQ(created.topics[0].error_code, 0) << created.topics[0].error_message.value_or("");
  ASSERT_TRUE(image()->topic("made-off-thread"));
  EXPECT_EQ(image()->topic("made-off-thread")->partitions.size(), 3u);
  // The partitions' logs were created too (by the commit, off the network thread).
  EXPECT_TRUE(services.replicas->logs().get("made-off-thread", 2));
  ASSERT_EQ(gated.threads.size(), 1u);
  EXPECT_NE(gated.threads[0], std::this_thread::get_id());
}

TEST_F(ControllerThreadTest, MetadataAutoCreationIsHandedOverPlainMetadataIsNot) {
  Replies replies;
  send(3, 12, 1, metadata_for("auto-made"), replies);
  EXPECT_FALSE(replies.has(1));  // waiting for the commit
  gated.open();
  auto resp = decode<p::MetadataResponse>(replies.wait(1), 3, 12);
  ASSERT_EQ(resp.topics.size(), 1u);
  EXPECT_EQ(resp.topics[0].error_code, 0);
  EXPECT_EQ(resp.topics[0].name, "auto-made");
  EXPECT_FALSE(resp.topics[0].partitions.empty());
  ASSERT_EQ(gated.threads.size(), 1u);
  EXPECT_NE(gated.threads[0], std::this_thread::get_id());

  // The topic exists now: a second Metadata is a plain read, answered inline.
  send(3, 12, 2, metadata_for("auto-made"), replies);
  EXPECT_TRUE(replies.has(2));
  EXPECT_EQ(gated.threads.size(), 1u);
}

TEST_F(ControllerThreadTest, HandedOverJobsRunInOrderAndOutliveTheConnectionInfo) {
  Replies replies;
  {
    net::ConnectionInfo gone = conn;
    std::swap(conn, gone);
    for (int i = 0; i < 5; ++i) {
      p::CreateTopicsRequest create;
      auto& t = create.topics.emplace_back();
      t.name = "ordered-" + std::to_string(i);
      t.num_partitions = 1;
      t.replication_factor = 1;
      send(19, 7, 10 + i, create, replies);
    }
    conn.peer = "reused-by-another-connection";  // the jobs hold their own copy
  }
  gated.open();
  for (int i = 0; i < 5; ++i) {
    auto created = decode<p::CreateTopicsResponse>(replies.wait(10 + i), 19, 7);
    EXPECT_EQ(created.topics[0].error_code, 0);
  }
  // One commit per request, in the order they came in, all on one thread.
  ASSERT_EQ(gated.images.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_TRUE(gated.images[i]->topic("ordered-" + std::to_string(i))) << i;
    EXPECT_FALSE(gated.images[i]->topic("ordered-" + std::to_string(i + 1))) << i;
    EXPECT_EQ(gated.threads[i], gated.threads[0]);
  }
  EXPECT_EQ(controller.commits, 5);
}

TEST_F(ControllerThreadTest, WithoutAControllerThreadHandlersRunInline) {
  services.controller_thread = nullptr;
  gated.open();
  Replies replies;
  p::CreateTopicsRequest create;
  auto& t = create.topics.emplace_back();
  t.name = "inline";
  t.num_partitions = 1;
  t.replication_factor = 1;
  send(19, 7, 1, create, replies);
  EXPECT_TRUE(replies.has(1));
  EXPECT_EQ(gated.threads.at(0), std::this_thread::get_id());
}

}  // namespace
}  // namespace samsa::broker::test

namespace samsa::util {
namespace {

TEST(SerialExecutor, RunsJobsInOrderOnItsOwnThreadAndFinishesThemWhenDestroyed) {
  std::vector<int> order;
  std::thread::id ran_on;
  std::atomic<bool> here{false};
  {
    SerialExecutor ex("test-serial", 10);
    EXPECT_FALSE(ex.running_here());
    for (int i = 0; i < 100; ++i)
      ex.post([&order, i] {
        order.push_back(i);
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      });
    ex.post([&] {
      ran_on = std::this_thread::get_id();
      here = ex.running_here();
    });
    for (int i = 100; i < 200; ++i) ex.post([&order, i] { order.push_back(i); });
    // Destroyed with jobs still queued: they all run before it returns.
  }
  ASSERT_EQ(order.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(order[static_cast<size_t>(i)], i);
  EXPECT_NE(ran_on, std::this_thread::get_id());
  EXPECT_TRUE(here);
}

TEST(SerialExecutor, DrainWaitsForEverythingPostedAndAJobThatThrowsDoesNotStopIt) {
  SerialExecutor ex("test-drain");
  std::atomic<int> done{0};
  ex.post([] { throw std::runtime_error("boom"); });
  for (int i = 0; i < 10; ++i) ex.post([&] { done.fetch_add(1); });
  ex.drain();
  EXPECT_EQ(done.load(), 10);
  EXPECT_EQ(ex.pending(), 0u);
}

}  // namespace
}  // namespace samsa::util
