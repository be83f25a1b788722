// Replies that splice file ranges between memory parts arrive byte-exact,
// with both transfer modes.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "samsa/net/io_context_pool.h"
#include "samsa/net/tcp_server.h"

namespace samsa::net {
namespace {

// Reply = [size]["head"][file bytes 10..10+n)["mid"][file bytes 0..5)["tail"].
class SpliceHandler : public FrameHandler {
 public:
  explicit SpliceHandler(std::shared_ptr<const util::FileHandle> f) : file(std::move(f)) {}
  void on_frame(const ConnectionInfo&, FramePtr frame, ReplyFn reply) override {
    size_t n = std::stoul(std::string(frame->begin(), frame->end()));
    std::string text = "headmidtail";
    std::vector<uint8_t> bytes(4);
    bytes.insert(bytes.end(), text.begin(), text.end());
    std::vector<FileSplice> splices = {{8, util::FileRange::of(file, 10, n)}, {11, util::FileRange::of(file, 0, 5)}};
    uint32_t size = htonl(static_cast<uint32_t>(text.size() + n + 5));
    std::memcpy(bytes.data(), &size, 4);
    reply(Reply::send(std::move(bytes), std::move(splices)));
  }
  std::shared_ptr<const util::FileHandle> file;
};

class FileTransferTest : public ::testing::TestWithParam<FileTransferMode> {
 protected:
  void SetUp() override {
    path = std::filesystem::temp_directory_path() / ("samsa-transfer-" + std::to_string(::getpid()));
    content.resize(3u << 20);
    std::mt19937 rng(7);
    for (auto& b : content) b = static_cast<uint8_t>(rng());
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    handler = std::make_unique<SpliceHandler>(std::make_shared<util::FileHandle>(fd));
    ConnectionOptions options;
    options.file_transfer = GetParam();
    options.send_buffer_bytes = 16384;  // small, so transfers hit a full socket buffer
    server = std::make_unique<TcpServer>(pool, options);
    port = server->listen(ListenerConfig{"PLAINTEXT", "127.0.0.1", 0, handler.get()});
    pool.start();
    server->start_accepting();
  }
  void TearDown() override {
    server->stop_accepting();
    server->drain(std::chrono::seconds(2));
    pool.stop();
    server.reset();
    std::filesystem::remove(path);
  }

  std::string expected(size_t n) const {
    std::string e = "head";
    e.append(reinterpret_cast<const char*>(content.data()) + 10, n);
    e += "mid";
    e.append(reinterpret_cast<const char*>(content.data()), 5);
    e += "tail";
    return e;
  }

  IoContextPool pool{1};
  std::filesystem::path path;
  std::vector<uint8_t> content;
  std::unique_ptr<SpliceHandler> handler;
  std::unique_ptr<TcpServer> server;
  uint16_t port = 0;
};

TEST_P(FileTransferTest, SplicedRangesArriveByteExactInOrder) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::vector<size_t> sizes = {0, 1, 4096, (2u << 20) + 123};  // the last spans several pread chunks
  std::string out;
  for (size_t n : sizes) {
    std::string body = std::to_string(n);
    uint32_t len = htonl(static_cast<uint32_t>(body.size()));
    out.append(reinterpret_cast<const char*>(&len), 4);
    out += body;
  }
  ASSERT_EQ(::send(fd, out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
  for (size_t n : sizes) {
    uint32_t len = 0;
    ASSERT_EQ(::recv(fd, &len, 4, MSG_WAITALL), 4);
    std::string got(ntohl(len), '\0');
    ASSERT_EQ(::recv(fd, got.data(), got.size(), MSG_WAITALL), static_cast<ssize_t>(got.size()));
    EXPECT_TRUE(got == expected(n)) << "reply for a range of " << n << " bytes differs";
  }
  ::close(fd);
}

INSTANTIATE_TEST_SUITE_P(Modes, FileTransferTest,
                         ::testing::Values(FileTransferMode::kPread, FileTransferMode::kSendfile),
                         [](const auto& info) { return info.param == FileTransferMode::kPread ? "Pread" : "Sendfile"; });

}  // namespace
}  // namespace samsa::net
