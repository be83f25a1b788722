// net::KafkaClient against a real samsa TcpServer (and, for responses that
// arrive out of order, a bare socket server) on loopback ports.
#include "samsa/net/kafka_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "samsa/net/io_context_pool.h"
#include "samsa/net/tcp_server.h"
#include "samsa/protocol/gen/api_keys.h"
#include "samsa/protocol/gen/api_versions_request.h"
#include "samsa/protocol/gen/api_versions_response.h"
#include "samsa/protocol/gen/request_header.h"
#include "samsa/protocol/gen/response_header.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::net {
namespace {

using namespace std::chrono_literals;
using Body = std::optional<std::vector<uint8_t>>;

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }
std::string string_of(const Body& b) { return b ? std::string(b->begin(), b->end()) : "<nullopt>"; }

// Decodes the request header as the broker does and answers "echo:<body>"
// after a response header of the right version. Bodies: "close" drops the
// connection, "hold..." is kept until release(), "slow..." is answered from
// another thread later (so later requests finish first).
class EchoHandler : public FrameHandler {
 public:
  void on_frame(const ConnectionInfo&, FramePtr frame, ReplyFn reply) override {
    protocol::WireReader r(*frame);
    protocol::WireReader peek(*frame);
    int16_t key = peek.int16();
    int16_t version = peek.int16();
    protocol::RequestHeader header;
    header.decode(r, protocol::request_header_version(key, version));
    auto rest = r.rest();
    std::string body(rest.begin(), rest.end());
    {
      std::lock_guard lock(mu);
      client_ids.push_back(header.client_id.value_or(""));
    }
    protocol::WireWriter w;
    w.int32(0);
    protocol::ResponseHeader rh;
    rh.correlation_id = header.correlation_id;
    rh.encode(w, protocol::response_header_version(key, version));
    if (key == protocol::ApiVersionsRequest::kApiKey) {
      protocol::ApiVersionsRequest req;
      req.decode(r, version);
      protocol::ApiVersionsResponse resp;
      resp.throttle_time_ms = 7;
      protocol::ApiVersionsResponse::ApiVersion v;
      v.api_key = 18;
      v.max_version = 4;
      resp.api_keys.push_back(v);
      resp.encode(w, version);
    } else {
      if (body == "close") return reply(Reply::close());
      auto echo = bytes_of("echo:" + body);
      w.raw(echo);
    }
    w.patch_int32(0, static_cast<int32_t>(w.size() - 4));
    auto answer = Reply::send(w.take());
    std::lock_guard lock(mu);
    if (body.rfind("hold", 0) == 0) {
      held.emplace_back(std::move(reply), std::move(answer));
    } else if (body.rfind("slow", 0) == 0) {
      workers.emplace_back([reply, answer]() mutable {
        std::this_thread::sleep_for(50ms);
        reply(std::move(answer));
      });
    } else {
      reply(std::move(answer));
    }
  }
  void release() {
    std::vector<std::pair<ReplyFn, Reply>> h;
    {
      std::lock_guard lock(mu);
      h.swap(held);
    }
    for (auto& [reply, answer] : h) reply(std::move(answer));
  }
  ~EchoHandler() override {
    release();
    for (auto& t : workers) t.join();
  }
  std::mutex mu;
  std::vector<std::string> client_ids;
  std::vector<std::pair<ReplyFn, Reply>> held;
  std::vector<std::thread> workers;
};

// Collects callbacks; wait_for() bounds every wait.
struct Results {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<int, Body>> got;  // (tag, body) in callback order
  std::thread::id thread;

  KafkaClient::OnResponse make(int tag) {
    return [this, tag](Body b) {
      std::lock_guard lock(mu);
      got.emplace_back(tag, std::move(b));
      thread = std::this_thread::get_id();
      cv.notify_all();
    };
  }
  bool wait_for(size_t n, std::chrono::milliseconds limit = 5s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [&] { return got.size() >= n; });
  }
  Body of(int tag) {
    std::lock_guard lock(mu);
    for (auto& [t, b] : got)
      if (t == tag) return b;
    ADD_FAILURE() << "no result for " << tag;
    return std::nullopt;
  }
};

class KafkaClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server = std::make_unique<TcpServer>(pool, ConnectionOptions{});
    port = server->listen(ListenerConfig{"CONTROLLER", "127.0.0.1", 0, &handler});
    pool.start();
    server->start_accepting();
  }
  void TearDown() override { stop_server(); }
  void stop_server() {
    if (!server) return;
    handler.release();
    server->stop_accepting();
    server->drain(2s);
    pool.stop();
    server.reset();
  }
  KafkaClientOptions options() {
    KafkaClientOptions o;
    o.client_id = "test-client";
    o.request_timeout_ms = 5000;
    o.connect_timeout_ms = 2000;
    o.reconnect_backoff_ms = 20;
    o.reconnect_backoff_max_ms = 100;
    return o;
  }
  Endpoint here() const { return Endpoint{"127.0.0.1", port}; }

  IoContextPool pool{1};
  EchoHandler handler;
  std::unique_ptr<TcpServer> server;
  uint16_t port = 0;
};

TEST_F(KafkaClientTest, PipelinedRequestsGetTheirOwnResponsesWithBothHeaderVersions) {
  KafkaClient client(options());
  Results results;
  // Vote v0 is not flexible (header v1 / v0); Vote v2 is (header v2 / v1).
  for (int i = 0; i < 20; ++i) {
    client.send(here(), 52, static_cast<int16_t>(i % 2 == 0 ? 0 : 2), bytes_of("req-" + std::to_string(i)),
                results.make(i));
  }
  ASSERT_TRUE(results.wait_for(20));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(string_of(results.of(i)), "echo:req-" + std::to_string(i));
  EXPECT_NE(results.thread, std::this_thread::get_id());
  std::lock_guard lock(handler.mu);
  ASSERT_EQ(handler.client_ids.size(), 20u);
  EXPECT_EQ(handler.client_ids[0], "test-client");
  EXPECT_EQ(handler.client_ids[1], "test-client");
}

TEST_F(KafkaClientTest, SlowHandlersDoNotMixUpResponses) {
  KafkaClient client(options());
  Results results;
  client.send(here(), 52, 1, bytes_of("slow-a"), results.make(0));
  client.send(here(), 52, 1, bytes_of("fast-b"), results.make(1));
  client.send(here(), 52, 1, bytes_of("slow-c"), results.make(2));
  ASSERT_TRUE(results.wait_for(3));
  EXPECT_EQ(string_of(results.of(0)), "echo:slow-a");
  EXPECT_EQ(string_of(results.of(1)), "echo:fast-b");
  EXPECT_EQ(string_of(results.of(2)), "echo:slow-c");
}

TEST_F(KafkaClientTest, TypedCallUsesHeaderV0ForApiVersionsResponses) {
  KafkaClient client(options());
  std::promise<std::optional<protocol::ApiVersionsResponse>> done;
  protocol::ApiVersionsRequest req;
  req.client_software_name = "samsa";
  req.client_software_version = "1";
  client.call<protocol::ApiVersionsResponse>(here(), 3, req, [&](std::optional<protocol::ApiVersionsResponse> r) {
    done.set_value(std::move(r));
  });
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  auto r = f.get();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->throttle_time_ms, 7);
  ASSERT_EQ(r->api_keys.size(), 1u);
  EXPECT_EQ(r->api_keys[0].max_version, 4);
}

TEST_F(KafkaClientTest, ServerClosingMidRequestFailsEverythingInFlightThenReconnects) {
  KafkaClient client(options());
  Results results;
  // The server writes earlier replies first, then closes with the rest unanswered.
  client.send(here(), 52, 1, bytes_of("slow-1"), results.make(0));
  client.send(here(), 52, 1, bytes_of("close"), results.make(1));
  client.send(here(), 52, 1, bytes_of("after"), results.make(2));
  ASSERT_TRUE(results.wait_for(3));
  EXPECT_EQ(string_of(results.of(0)), "echo:slow-1");
  EXPECT_FALSE(results.of(1).has_value());
  EXPECT_FALSE(results.of(2).has_value());
  // The next request opens a new connection after the backoff.
  client.send(here(), 52, 1, bytes_of("again"), results.make(3));
  ASSERT_TRUE(results.wait_for(4));
  EXPECT_EQ(string_of(results.of(3)), "echo:again");
}

TEST_F(KafkaClientTest, UnansweredRequestTimesOutAndTheConnectionIsReplaced) {
  auto o = options();
  o.request_timeout_ms = 200;
  KafkaClient client(o);
  Results results;
  auto start = std::chrono::steady_clock::now();
  client.send(here(), 52, 1, bytes_of("hold-forever"), results.make(0));
  ASSERT_TRUE(results.wait_for(1, 3s));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(results.of(0).has_value());
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 2s);
  client.send(here(), 52, 1, bytes_of("next"), results.make(1));
  ASSERT_TRUE(results.wait_for(2));
  EXPECT_EQ(string_of(results.of(1)), "echo:next");
}

TEST_F(KafkaClientTest, NoListenerFailsFastAndServerComingBackIsReached) {
  // A port that was free a moment ago: nothing listens there.
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(probe);
  Endpoint nowhere{"127.0.0.1", ntohs(addr.sin_port)};

  KafkaClient client(options());
  Results results;
  auto start = std::chrono::steady_clock::now();
  client.send(nowhere, 52, 1, bytes_of("x"), results.make(0));
  client.send(nowhere, 52, 1, bytes_of("y"), results.make(1));
  ASSERT_TRUE(results.wait_for(2, 3s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_FALSE(results.of(0).has_value());
  EXPECT_FALSE(results.of(1).has_value());
  // Other destinations are unaffected.
  client.send(here(), 52, 1, bytes_of("fine"), results.make(2));
  ASSERT_TRUE(results.wait_for(3));
  EXPECT_EQ(string_of(results.of(2)), "echo:fine");
}

TEST_F(KafkaClientTest, CloseFailsRequestsInFlightAndLaterSendsFailAtOnce) {
  KafkaClient client(options());
  Results results;
  client.send(here(), 52, 1, bytes_of("hold-a"), results.make(0));
  client.send(here(), 52, 1, bytes_of("hold-b"), results.make(1));
  for (int i = 0; i < 100; ++i) {  // both reached the server
    {
      std::lock_guard lock(handler.mu);
      if (handler.held.size() == 2) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  client.close();
  ASSERT_TRUE(results.wait_for(2, 1s));
  EXPECT_FALSE(results.of(0).has_value());
  EXPECT_FALSE(results.of(1).has_value());
  client.send(here(), 52, 1, bytes_of("late"), results.make(2));
  ASSERT_TRUE(results.wait_for(3, 0ms));
  EXPECT_FALSE(results.of(2).has_value());
  client.close();  // idempotent
}

TEST_F(KafkaClientTest, CallbackMaySendAgain) {
  KafkaClient client(options());
  Results results;
  client.send(here(), 52, 1, bytes_of("first"), [&](Body b) {
    results.make(0)(std::move(b));
    client.send(here(), 52, 1, bytes_of("second"), results.make(1));
  });
  ASSERT_TRUE(results.wait_for(2));
  EXPECT_EQ(string_of(results.of(1)), "echo:second");
}

// A bare server that reads three Metadata v0 requests (header v1, response
// header v0) and answers them in reverse order:
// the client must match responses by correlation id, not by position.
TEST(KafkaClientRawTest, ResponsesOutOfOrderAreMatchedByCorrelationId) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::thread server([listener] {
    int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) return;
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::vector<std::pair<int32_t, std::string>> reqs;
    auto read_exact = [fd](uint8_t* p, size_t n) {
      while (n > 0) {
        ssize_t r = ::recv(fd, p, n, 0);
        if (r <= 0) return false;
        p += r;
        n -= static_cast<size_t>(r);
      }
      return true;
    };
    for (int i = 0; i < 3; ++i) {
      uint8_t sz[4];
      if (!read_exact(sz, 4)) break;
      std::vector<uint8_t> frame(ntohl(*reinterpret_cast<uint32_t*>(sz)));
      if (!read_exact(frame.data(), frame.size())) break;
      protocol::WireReader r(frame);
      protocol::RequestHeader h;
      h.decode(r, 1);
      auto rest = r.rest();
      reqs.emplace_back(h.correlation_id, std::string(rest.begin(), rest.end()));
    }
    for (auto it = reqs.rbegin(); it != reqs.rend(); ++it) {
      protocol::WireWriter w;
      w.int32(0);
      w.int32(it->first);
      w.raw(bytes_of("re:" + it->second));
      w.patch_int32(0, static_cast<int32_t>(w.size() - 4));
      ::send(fd, w.data(), w.size(), MSG_NOSIGNAL);
    }
    ::close(fd);
  });
  {
    KafkaClientOptions o;
    o.client_id = "raw";
    KafkaClient client(o);
    Results results;
    Endpoint ep{"127.0.0.1", ntohs(addr.sin_port)};
    for (int i = 0; i < 3; ++i) client.send(ep, 3, 0, bytes_of("r" + std::to_string(i)), results.make(i));
    ASSERT_TRUE(results.wait_for(3));
    std::lock_guard lock(results.mu);
    EXPECT_EQ(results.got[0].first, 2);
    for (auto& [tag, body] : results.got) EXPECT_EQ(string_of(body), "re:r" + std::to_string(tag));
  }
  server.join();
  ::close(listener);
}

}  // namespace
}  // namespace samsa::net
