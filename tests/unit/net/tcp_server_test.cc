// The network layer against a real loopback socket: framing, reply order,
// limits, and graceful drain.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "samsa/net/io_context_pool.h"
#include "samsa/net/tcp_server.h"

namespace samsa::net {
namespace {

std::vector<uint8_t> frame_of(const std::string& body) {
  std::vector<uint8_t> f(4 + body.size());
  uint32_t n = htonl(static_cast<uint32_t>(body.size()));
  std::memcpy(f.data(), &n, 4);
  std::memcpy(f.data() + 4, body.data(), body.size());
  return f;
}

// Replies "echo:<body>"; bodies starting with "slow" are answered from
// another thread after a delay, so later requests finish first; "close"
// asks the connection to close; "none" sends nothing back.
class TestHandler : public FrameHandler {
 public:
  void on_frame(const ConnectionInfo&, FramePtr frame, ReplyFn reply) override {
    std::string body(frame->begin(), frame->end());
    if (body == "close") return reply(Reply::close());
    if (body == "none") return reply(Reply::none());
    if (body.rfind("hold", 0) == 0) {  // kept, frame and all, until release_held()
      std::lock_guard lock(mu);
      held.emplace_back(frame, std::move(reply));
      return;
    }
    auto answer = Reply::send(frame_of("echo:" + body));
    if (body.rfind("slow", 0) == 0) {
      std::lock_guard lock(mu);
      workers.emplace_back([reply, answer]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        reply(std::move(answer));
      });
      return;
    }
    reply(std::move(answer));
  }
  ~TestHandler() override {
    for (auto& t : workers) t.join();
  }
  void release_held() {
    std::vector<std::pair<FramePtr, ReplyFn>> h;
    {
      std::lock_guard lock(mu);
      h.swap(held);
    }
    for (auto& [frame, reply] : h) reply(Reply::send(frame_of("echo:" + std::string(frame->begin(), frame->end()))));
  }
  std::vector<std::pair<FramePtr, ReplyFn>> held;
  std::mutex mu;
  std::vector<std::thread> workers;
};

class TcpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ConnectionOptions options;
    options.max_frame_bytes = 1000;
    options.max_in_flight = 4;
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
  static void send_all(int fd, const std::vector<uint8_t>& data) {
    ASSERT_EQ(::send(fd, data.data(), data.size(), MSG_NOSIGNAL), static_cast<ssize_t>(data.size()));
  }
  // Reads one frame; nullopt on EOF/error/timeout.
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

  // True when `fd` has something to read (or EOF) within `ms`.
  static bool readable_within(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) == 1;
  }

  IoContextPool pool{2};
  TestHandler handler;
  std::unique_ptr<TcpServer> server;
  uint16_t port = 0;
};

TEST_F(TcpServerTest, RepliesComeBackInRequestOrderEvenWhenHandlersFinishOutOfOrder) {
  int fd = connect_client();
  std::vector<uint8_t> batch;
  std::vector<std::string> bodies = {"slow-1", "fast-2", "slow-3", "none", "fast-4", "fast-5", "fast-6", "slow-7"};
  for (const auto& b : bodies) {
    auto f = frame_of(b);
    batch.insert(batch.end(), f.begin(), f.end());
  }
  send_all(fd, batch);  // pipelined: more than max_in_flight at once
  for (const auto& b : bodies) {
    if (b == "none") continue;
    auto got = read_frame(fd);
    ASSERT_TRUE(got.has_value()) << "missing reply for " << b;
    EXPECT_EQ(*got, "echo:" + b);
  }
  ::close(fd);
}

TEST_F(TcpServerTest, FramesSplitAcrossReadsAreReassembled) {
  int fd = connect_client();
  auto f = frame_of(std::string(900, 'x'));
  for (size_t i = 0; i < f.size(); i += 7) {
    std::vector<uint8_t> piece(f.begin() + i, f.begin() + std::min(f.size(), i + 7));
    send_all(fd, piece);
  }
  auto got = read_frame(fd);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->size(), 905u);
  ::close(fd);
}

TEST_F(TcpServerTest, OversizedFrameClosesOnlyThatConnection) {
  int good = connect_client();
  int bad = connect_client();
  send_all(bad, {0x00, 0x00, 0x10, 0x00});  // 4096 > max_frame_bytes (1000)
  EXPECT_FALSE(read_frame(bad).has_value());
  send_all(good, frame_of("still-here"));
  EXPECT_EQ(read_frame(good).value_or(""), "echo:still-here");
  ::close(good);
  ::close(bad);
}

TEST_F(TcpServerTest, NegativeFrameSizeClosesTheConnection) {
  int fd = connect_client();
  send_all(fd, {0xff, 0xff, 0xff, 0xfe});
  EXPECT_FALSE(read_frame(fd).has_value());
  ::close(fd);
}

TEST_F(TcpServerTest, CloseReplyClosesAfterEarlierRepliesAreWritten) {
  int fd = connect_client();
  auto a = frame_of("slow-a");
  auto c = frame_of("close");
  auto b = frame_of("after");
  std::vector<uint8_t> all(a);
  all.insert(all.end(), c.begin(), c.end());
  all.insert(all.end(), b.begin(), b.end());
  send_all(fd, all);
  EXPECT_EQ(read_frame(fd).value_or(""), "echo:slow-a");
  EXPECT_FALSE(read_frame(fd).has_value());  // closed: "after" is never answered
  ::close(fd);
}

TEST_F(TcpServerTest, DrainFinishesInFlightRequestsThenCloses) {
  int fd = connect_client();
  send_all(fd, frame_of("slow-drain"));
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  server->stop_accepting();
  EXPECT_EQ(server->drain(std::chrono::seconds(3)), 0u);
  EXPECT_EQ(read_frame(fd).value_or(""), "echo:slow-drain");
  EXPECT_FALSE(read_frame(fd).has_value());
  ::close(fd);
}

TEST_F(TcpServerTest, MaxConnectionsHoldsNewClientsInTheBacklogUntilOneCloses) {
  server->limits().set_max_connections(1);
  int first = connect_client();
  send_all(first, frame_of("one"));
  EXPECT_EQ(read_frame(first).value_or(""), "echo:one");
  int second = connect_client();  // completes in the kernel's backlog
  send_all(second, frame_of("two"));
  EXPECT_FALSE(readable_within(second, 300)) << "served beyond max.connections";
  ::close(first);
  EXPECT_EQ(read_frame(second).value_or(""), "echo:two");
  ::close(second);
}

TEST_F(TcpServerTest, RaisingMaxConnectionsLetsTheWaitingClientIn) {
  server->limits().set_max_connections(1);
  int first = connect_client();
  send_all(first, frame_of("one"));
  EXPECT_EQ(read_frame(first).value_or(""), "echo:one");
  int second = connect_client();
  send_all(second, frame_of("two"));
  EXPECT_FALSE(readable_within(second, 200));
  server->limits().set_max_connections(2);
  EXPECT_EQ(read_frame(second).value_or(""), "echo:two");
  ::close(first);
  ::close(second);
}

TEST_F(TcpServerTest, PerIpLimitClosesExcessConnectionsRightAfterAccept) {
  server->limits().set_max_connections_per_ip(2);
  int a = connect_client();
  int b = connect_client();
  send_all(a, frame_of("a"));
  send_all(b, frame_of("b"));
  EXPECT_EQ(read_frame(a).value_or(""), "echo:a");
  EXPECT_EQ(read_frame(b).value_or(""), "echo:b");
  int c = connect_client();
  EXPECT_FALSE(read_frame(c).has_value()) << "third connection from one address was kept";
  ::close(c);
  ::close(a);
  // A closed connection frees its slot.
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    int d = connect_client();
    ::send(d, frame_of("d").data(), 5, MSG_NOSIGNAL);
    served = read_frame(d).has_value();
    ::close(d);
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(served);
  ::close(b);
}

TEST_F(TcpServerTest, PerIpOverrideWinsOverTheDefault) {
  server->limits().set_max_connections_per_ip(0);
  ASSERT_TRUE(server->limits().set_max_connections_per_ip_overrides("127.0.0.1:1"));
  int a = connect_client();
  send_all(a, frame_of("a"));
  EXPECT_EQ(read_frame(a).value_or(""), "echo:a");
  int b = connect_client();
  EXPECT_FALSE(read_frame(b).has_value());
  ::close(a);
  ::close(b);
}

TEST_F(TcpServerTest, IdleConnectionsAreClosedAfterTheIdleTimeout) {
  // Pings every 50 ms against a 500 ms limit: a loaded machine (CI runs
  // tests in parallel) may stretch a sleep several times over.
  server->limits().set_connections_max_idle_ms(500);
  int idle = connect_client();
  int busy = connect_client();
  for (int i = 0; i < 30; ++i) {  // ~1.5 s of traffic keeps `busy` open
    send_all(busy, frame_of("ping"));
    EXPECT_EQ(read_frame(busy).value_or(""), "echo:ping");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(read_frame(idle).has_value()) << "idle connection still open";
  send_all(busy, frame_of("ping"));
  EXPECT_EQ(read_frame(busy).value_or(""), "echo:ping");
  ::close(idle);
  ::close(busy);
}

TEST_F(TcpServerTest, SpentRequestBudgetStopsReadingUntilItFrees) {
  server->request_budget().set_limit(1);
  int holder = connect_client();
  send_all(holder, frame_of("hold-it"));
  for (int i = 0; i < 100 && server->request_budget().used() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(server->request_budget().used(), 7);
  int other = connect_client();
  send_all(other, frame_of("waiting"));
  EXPECT_FALSE(readable_within(other, 300)) << "read a request with the budget spent";
  handler.release_held();
  EXPECT_EQ(read_frame(holder).value_or(""), "echo:hold-it");
  EXPECT_EQ(read_frame(other).value_or(""), "echo:waiting");
  ::close(holder);
  ::close(other);
}

TEST(TcpServerLargeFrames, FramesLargerThanOneReadArriveWhole) {
  IoContextPool pool(2);
  TestHandler handler;
  ConnectionOptions options;
  options.max_frame_bytes = 4u << 20;
  TcpServer server(pool, options);
  uint16_t port = server.listen(ListenerConfig{"PLAINTEXT", "127.0.0.1", 0, &handler});
  pool.start();
  server.start_accepting();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string body(3u << 20, 'b');
  for (size_t i = 0; i < body.size(); i += 7919) body[i] = static_cast<char>('a' + i % 26);
  std::vector<uint8_t> stream = frame_of(body);
  auto second = frame_of("small-after");
  stream.insert(stream.end(), second.begin(), second.end());
  std::thread writer([&] {  // in uneven pieces with pauses, so the body is read as it arrives
    for (size_t at = 0; at < stream.size();) {
      size_t n = std::min(stream.size() - at, size_t{100000} + at % 4096);
      ASSERT_EQ(::send(fd, stream.data() + at, n, MSG_NOSIGNAL), static_cast<ssize_t>(n));
      at += n;
      if (at % 7 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  auto read_frame = [fd]() -> std::string {
    auto exact = [fd](uint8_t* p, size_t n) {
      for (ssize_t r = 0; n > 0; p += r, n -= static_cast<size_t>(r))
        if ((r = ::recv(fd, p, n, 0)) <= 0) return false;
      return true;
    };
    uint32_t n = 0;
    if (!exact(reinterpret_cast<uint8_t*>(&n), 4)) return "(closed)";
    std::string b(ntohl(n), '\0');
    if (!exact(reinterpret_cast<uint8_t*>(b.data()), b.size())) return "(closed)";
    return b;
  };
  std::string got = read_frame();
  writer.join();
  EXPECT_TRUE(got == "echo:" + body) << "got " << got.size() << " bytes";
  EXPECT_EQ(read_frame(), "echo:small-after");
  ::close(fd);
  server.stop_accepting();
  server.drain(std::chrono::seconds(2));
  pool.stop();
}

TEST(TcpServerListen, BusyPortFailsWithTheListenerName) {
  IoContextPool pool(1);
  TestHandler handler;
  TcpServer first(pool, {});
  uint16_t port = first.listen(ListenerConfig{"PLAINTEXT", "127.0.0.1", 0, &handler});
  first.start_accepting();  // another process's port is in use once it listens
  TcpServer second(pool, {});
  try {
    second.listen(ListenerConfig{"OTHER", "127.0.0.1", port, &handler});
    FAIL() << "expected the second bind to fail";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("OTHER"), std::string::npos);
  }
}

}  // namespace
}  // namespace samsa::net
