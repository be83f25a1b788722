// FetchConnection (src/broker/replica/fetch_connection.h): the replica
// fetcher's blocking socket to its leader. A raw loopback server plays the
// leader: answers framed with the right correlation id, a closed connection
// (the next call connects again), a wrong correlation id, and an answer that
// never comes (interrupt() ends the wait).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "../../../src/broker/replica/fetch_connection.h"
#include "samsa/protocol/gen/api_keys.h"
#include "samsa/protocol/gen/request_header.h"
#include "samsa/protocol/gen/response_header.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"

namespace samsa::broker::replica {
namespace {

constexpr int16_t kFetchKey = 1;
constexpr int16_t kFetchVersion = 17;

bool read_n(int fd, uint8_t* p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::recv(fd, p + got, n - got, 0);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

// One request as the server saw it.
struct Seen {
  protocol::RequestHeader header;
  std::vector<uint8_t> body;
};

// A loopback server that handles each connection with `on_conn` (on its own
// thread, one connection at a time).
class RawServer {
 public:
  explicit RawServer(std::function<void(int fd)> on_conn) : on_conn_(std::move(on_conn)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listen_fd_, 8), 0);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        const int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) return;
        ++accepted_;
        on_conn_(fd);
        ::close(fd);
      }
    });
  }
  ~RawServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    thread_.join();
  }
  net::Endpoint endpoint() const { return {"127.0.0.1", port_}; }
  int accepted() const { return accepted_; }

  static bool read_request(int fd, Seen& out) {
    uint8_t size_bytes[4];
    if (!read_n(fd, size_bytes, 4)) return false;
    const uint32_t size = (uint32_t{size_bytes[0]} << 24) | (uint32_t{size_bytes[1]} << 16) |
                          (uint32_t{size_bytes[2]} << 8) | size_bytes[3];
    std::vector<uint8_t> frame(size);
    if (!read_n(fd, frame.data(), size)) return false;
    protocol::WireReader r(frame);
    out.header.decode(r, protocol::request_header_version(kFetchKey, kFetchVersion));
    auto rest = r.rest();
    out.body.assign(rest.begin(), rest.end());
    return true;
  }
  static void answer(int fd, int32_t correlation_id, const std::vector<uint8_t>& body) {
    protocol::WireWriter w;
    protocol::ResponseHeader h;
    h.correlation_id = correlation_id;
    h.encode(w, protocol::response_header_version(kFetchKey, kFetchVersion));
    const auto size = static_cast<uint32_t>(w.size() + body.size());
    std::vector<uint8_t> frame = {static_cast<uint8_t>(size >> 24), static_cast<uint8_t>(size >> 16),
                                  static_cast<uint8_t>(size >> 8), static_cast<uint8_t>(size)};
    frame.insert(frame.end(), w.data(), w.data() + w.size());
    frame.insert(frame.end(), body.begin(), body.end());
    ASSERT_EQ(::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL), static_cast<ssize_t>(frame.size()));
  }

 private:
  std::function<void(int)> on_conn_;
  int listen_fd_ = -1;
  int32_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

FetchConnection::Options options(int64_t request_timeout_ms = 30'000) {
  return {.client_id = "test-fetcher", .connect_timeout_ms = 5'000, .request_timeout_ms = request_timeout_ms};
}

std::vector<uint8_t> bytes_of(std::span<const uint8_t> s) { return {s.begin(), s.end()}; }

TEST(FetchConnection, SendsFramedRequestsAndReturnsTheAnswersBody) {
  std::vector<Seen> seen;
  RawServer server([&](int fd) {
    Seen s;
    while (RawServer::read_request(fd, s)) {
      seen.push_back(s);
      std::vector<uint8_t> body = s.body;  // echo, reversed
      std::reverse(body.begin(), body.end());
      RawServer::answer(fd, s.header.correlation_id, body);
    }
  });
  FetchConnection conn(options());
  const std::vector<uint8_t> a = {1, 2, 3, 4, 5}, b(200'000, 7);
  auto first = conn.call(server.endpoint(), kFetchKey, kFetchVersion, a);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(bytes_of(first->body()), (std::vector<uint8_t>{5, 4, 3, 2, 1}));
  auto second = conn.call(server.endpoint(), kFetchKey, kFetchVersion, b);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(bytes_of(second->body()), b);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].header.request_api_key, kFetchKey);
  EXPECT_EQ(seen[0].header.request_api_version, kFetchVersion);
  EXPECT_EQ(seen[0].header.client_id, "test-fetcher");
  EXPECT_EQ(seen[0].body, a);
  EXPECT_NE(seen[0].header.correlation_id, seen[1].header.correlation_id);
  EXPECT_EQ(server.accepted(), 1);  // one connection for both
}

TEST(FetchConnection, AClosedConnectionFailsTheCallAndTheNextOneConnectsAgain) {
  RawServer server([&](int fd) {
    Seen s;
    if (RawServer::read_request(fd, s)) RawServer::answer(fd, s.header.correlation_id, {9});
    // then close: the leader went away
  });
  FetchConnection conn(options());
  ASSERT_TRUE(conn.call(server.endpoint(), kFetchKey, kFetchVersion, std::vector<uint8_t>{1}).has_value());
  // The server closed after one answer: this call fails, the next reconnects.
  std::optional<FetchConnection::Answer> again;
  for (int i = 0; i < 3 && !again; ++i)
    again = conn.call(server.endpoint(), kFetchKey, kFetchVersion, std::vector<uint8_t>{2});
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(bytes_of(again->body()), std::vector<uint8_t>{9});
  EXPECT_EQ(server.accepted(), 2);
}

TEST(FetchConnection, AnAnswerToAnotherRequestFailsTheCall) {
  RawServer server([&](int fd) {
    Seen s;
    if (RawServer::read_request(fd, s)) RawServer::answer(fd, s.header.correlation_id + 1, {1});
  });
  FetchConnection conn(options());
  EXPECT_FALSE(conn.call(server.endpoint(), kFetchKey, kFetchVersion, std::vector<uint8_t>{1}).has_value());
}

TEST(FetchConnection, InterruptEndsAWaitForAnAnswerThatNeverComes) {
  std::atomic<bool> release{false};
  RawServer server([&](int fd) {
    Seen s;
    RawServer::read_request(fd, s);
    for (int i = 0; i < 200 && !release; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  });
  FetchConnection conn(options(/*request_timeout_ms=*/60'000));
  std::atomic<bool> returned{false};
  std::optional<FetchConnection::Answer> result;
  std::thread caller([&] {
    result = conn.call(server.endpoint(), kFetchKey, kFetchVersion, std::vector<uint8_t>{1});
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(returned);  // still waiting for the answer
  conn.interrupt();
  caller.join();  // long before the 60 s request limit: interrupt() woke it
  EXPECT_FALSE(result.has_value());
  release = true;
  // Interrupted for good: later calls fail at once.
  EXPECT_FALSE(conn.call(server.endpoint(), kFetchKey, kFetchVersion, std::vector<uint8_t>{1}).has_value());
}

TEST(FetchConnection, ANoAnswerWithinTheRequestTimeLimitFailsTheCall) {
  std::atomic<bool> release{false};
  RawServer server([&](int fd) {
    Seen s;
    RawServer::read_request(fd, s);
    for (int i = 0; i < 200 && !release; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  });
  FetchConnection conn(options(/*request_timeout_ms=*/300));
  EXPECT_FALSE(conn.call(server.endpoint(), kFetchKey, kFetchVersion, std::vector<uint8_t>{1}).has_value());
  release = true;
}

}  // namespace
}  // namespace samsa::broker::replica
