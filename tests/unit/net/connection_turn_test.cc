// A connection's read turn (connection_reader.cc): work the handlers defer
// runs at the turn's end (util/turn_scope.h), and the replies completed in
// the turn are corked until then, so an answer never leaves before the work
// it depends on (produce: the staged write) is done.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>

#include "samsa/net/io_context_pool.h"
#include "samsa/net/tcp_server.h"
#include "samsa/util/turn_scope.h"

namespace samsa::net {
namespace {

std::vector<uint8_t> frame_of(const std::string& body) {
  std::vector<uint8_t> f(4 + body.size());
  uint32_t n = htonl(static_cast<uint32_t>(body.size()));
  std::memcpy(f.data(), &n, 4);
  std::memcpy(f.data() + 4, body.data(), body.size());
  return f;
}

// "early": answered at once, with deferred work that takes a while and then
// sets `work_done`. "late": answered by its deferred work.
class TurnHandler : public FrameHandler {
 public:
  void on_frame(const ConnectionInfo&, FramePtr frame, ReplyFn reply) override {
    std::string body(frame->begin(), frame->end());
    in_turn = util::TurnScope::active();
    if (!in_turn) return reply(Reply::send(frame_of("no-turn")));
    if (body == "early") {
      util::TurnScope::defer([this] {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        work_done = true;
      });
      return reply(Reply::send(frame_of("echo:" + body)));
    }
    util::TurnScope::defer([reply, body] { reply(Reply::send(frame_of("echo:" + body))); });
  }
  std::atomic<bool> in_turn{false};
  std::atomic<bool> work_done{false};
};

class ConnectionTurnTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ConnectionOptions options;
    options.max_frame_bytes = 1000;
    options.max_in_flight = 8;
    server = std::make_unique<TcpServer>(pool, options);
    port = server->listen(ListenerConfig{"PLAINTEXT", "127.0.0.1", 0, &handler});
    pool.start();
    server->start_accepting();
  }
  void TearDown() override {
    server->stop_accepting();
    server->drain(std::chrono::seconds(2));
    pool.stop();
    server.reset();
  }
  int connect_client() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }
  static std::optional<std::string> read_frame(int fd) {
    uint8_t size_buf[4];
    if (!read_exact(fd, size_buf, 4)) return std::nullopt;
    uint32_t n;
    std::memcpy(&n, size_buf, 4);
    std::string body(ntohl(n), '\0');
    if (!read_exact(fd, reinterpret_cast<uint8_t*>(body.data()), body.size())) return std::nullopt;
    return body;
  }
  static bool read_exact(int fd, uint8_t* p, size_t n) {
    while (n > 0) {
      ssize_t r = ::recv(fd, p, n, 0);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }

  IoContextPool pool{1};
  TurnHandler handler;
  std::unique_ptr<TcpServer> server;
  uint16_t port = 0;
};

TEST_F(ConnectionTurnTest, ReplyCompletedInTheTurnLeavesAfterTheDeferredWork) {
  int fd = connect_client();
  auto f = frame_of("early");
  ASSERT_EQ(::send(fd, f.data(), f.size(), MSG_NOSIGNAL), static_cast<ssize_t>(f.size()));
  EXPECT_EQ(read_frame(fd).value_or(""), "echo:early");
  EXPECT_TRUE(handler.in_turn);
  // Without the cork the answer would arrive ~100 ms before this is set.
  EXPECT_TRUE(handler.work_done);
  ::close(fd);
}

TEST_F(ConnectionTurnTest, RepliesFromDeferredWorkKeepRequestOrder) {
  int fd = connect_client();
  std::vector<uint8_t> all;
  for (const char* b : {"late-1", "late-2", "late-3"}) {
    auto f = frame_of(b);
    all.insert(all.end(), f.begin(), f.end());
  }
  ASSERT_EQ(::send(fd, all.data(), all.size(), MSG_NOSIGNAL), static_cast<ssize_t>(all.size()));
  for (const char* b : {"late-1", "late-2", "late-3"}) EXPECT_EQ(read_frame(fd).value_or(""), std::string("echo:") + b);
  ::close(fd);
}

}  // namespace
}  // namespace samsa::net
