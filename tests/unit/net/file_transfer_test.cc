// Replies that splice file ranges between memory parts arrive byte-exact,
// with every transfer mode; the io_uring mode falls back to pread cleanly;
// the auto mode sends cached ranges with sendfile and reads cold ones on the
// blocking-read pool.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "samsa/net/io_context_pool.h"
#include "samsa/net/tcp_server.h"
// Internal to samsa_net; included to check which path a transfer took.
#include "../../../src/net/page_cache.h"
#include "../../../src/net/transfer_stats.h"
#include "../../../src/net/uring_reader.h"

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

class TransferFixture {
 public:
  ~TransferFixture() { stop(); }

 protected:
  void start(FileTransferMode mode) {
    // In the working directory (ctest's: the build tree, on disk), not the
    // temp dir, which may be a tmpfs where nothing can be made cold.
    path = std::filesystem::current_path() / ("samsa-transfer-" + std::to_string(::getpid()));
    content.resize(3u << 20);
    std::mt19937 rng(7);
    for (auto& b : content) b = static_cast<uint8_t>(rng());
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    // Drop the file from the page cache so that reads really go to the disk
    // (pread: blocking pool; io_uring: async read). Best effort.
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    handler = std::make_unique<SpliceHandler>(std::make_shared<util::FileHandle>(fd));
    ConnectionOptions options;
    options.file_transfer = mode;
    options.send_buffer_bytes = 16384;  // small, so transfers hit a full socket buffer
    server = std::make_unique<TcpServer>(pool, options);
    port = server->listen(ListenerConfig{"PLAINTEXT", "127.0.0.1", 0, handler.get()});
    pool.start();
    server->start_accepting();
  }
  void stop() {
    if (!server) return;
    server->stop_accepting();
    server->drain(std::chrono::seconds(2));
    pool.stop();
    server.reset();
    std::filesystem::remove(path);
  }

  int connect_client() const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }

  // Sends one request per size, all at once (pipelined), then checks the
  // replies in order.
  void exchange(const std::vector<size_t>& sizes) {
    int fd = connect_client();
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

  UringReader& uring() { return boost::asio::use_service<UringReader>(pool.at(0)); }

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

class FileTransferTest : public TransferFixture, public ::testing::TestWithParam<FileTransferMode> {
 protected:
  void SetUp() override { start(GetParam()); }
  void TearDown() override { stop(); }
};

TEST_P(FileTransferTest, SplicedRangesArriveByteExactInOrder) {
  exchange({0, 1, 4096, (2u << 20) + 123});  // the last spans several read chunks
}

TEST_P(FileTransferTest, ManyPipelinedRepliesOfMixedSizes) {
  std::vector<size_t> sizes;
  for (size_t i = 0; i < 16; ++i) sizes.push_back(i % 3 == 0 ? 0 : (i * 104729) % (5u << 18));  // up to 1.25 MiB
  exchange(sizes);
}

// The same with the file in the page cache: with pread, ranges up to 64 KiB
// are copied into the gather write and larger ones read in chunks; a run of
// pipelined replies mixes both within one write, and more small ranges than
// one write inlines.
TEST_P(FileTransferTest, CachedRangesArriveByteExact) {
  std::vector<uint8_t> all(content.size());
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_EQ(::pread(fd, all.data(), all.size(), 0), static_cast<ssize_t>(all.size()));
  ::close(fd);
  exchange({0, 1, 100, 65536, 65537, 300000, 7, (2u << 20) + 123, 5, 4096});
  std::vector<size_t> many(40, 60000);  // 80 ranges, 2.4 MB: beyond the 256 KiB inlined per write
  exchange(many);
}

// The client goes away while reads and writes are in flight: the server must
// not touch freed memory (ASan checks) and must keep serving others.
TEST_P(FileTransferTest, ClientClosingMidTransferIsHarmless) {
  // sendfile(2) to a reset socket raises SIGPIPE; the broker ignores it
  // (src/cli/server_command.cc), so this process does too.
  std::signal(SIGPIPE, SIG_IGN);
  for (int round = 0; round < 5; ++round) {
    int fd = connect_client();
    std::string out;
    for (int i = 0; i < 4; ++i) {
      std::string body = std::to_string((3u << 20) - 10);
      uint32_t len = htonl(static_cast<uint32_t>(body.size()));
      out.append(reinterpret_cast<const char*>(&len), 4);
      out += body;
    }
    ASSERT_EQ(::send(fd, out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
    char some[4096];
    if (round % 2 == 1) {
      ASSERT_GT(::recv(fd, some, sizeof some, 0), 0);
    }
    linger lg{1, 0};  // RST: the server's next write fails at once
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    ::close(fd);
  }
  exchange({7, (1u << 20) + 1});
}

// The server stops while the client reads nothing: replies stay unwritten,
// and the reactors are torn down with file reads possibly in flight.
TEST_P(FileTransferTest, ServerStoppingMidTransferIsHarmless) {
  int fd = connect_client();
  std::string out;
  for (int i = 0; i < 3; ++i) {
    std::string body = std::to_string((3u << 20) - 10);
    uint32_t len = htonl(static_cast<uint32_t>(body.size()));
    out.append(reinterpret_cast<const char*>(&len), 4);
    out += body;
  }
  ASSERT_EQ(::send(fd, out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
  char some[4096];
  ASSERT_GT(::recv(fd, some, sizeof some, 0), 0);  // a transfer is under way
  stop();
  ::close(fd);
}

INSTANTIATE_TEST_SUITE_P(Modes, FileTransferTest,
                         ::testing::Values(FileTransferMode::kAuto, FileTransferMode::kPread,
                                           FileTransferMode::kSendfile, FileTransferMode::kIoUring),
                         [](const auto& info) {
                           switch (info.param) {
                             case FileTransferMode::kAuto: return "Auto";
                             case FileTransferMode::kPread: return "Pread";
                             case FileTransferMode::kSendfile: return "Sendfile";
                             case FileTransferMode::kIoUring: return "IoUring";
                           }
                           return "Unknown";
                         });

struct StatsSnapshot {
  uint64_t sendfile_bytes, copied_bytes, inlined_bytes, pool_reads;
  static StatsSnapshot now() {
    auto& s = transfer_stats();
    return {s.sendfile_bytes.load(), s.copied_bytes.load(), s.inlined_bytes.load(), s.pool_reads.load()};
  }
};

// auto: a range in the page cache goes out by sendfile, with no read on the
// pool and no copy through memory.
TEST(AutoTransfer, SendsCachedRangesWithSendfile) {
  struct Run : TransferFixture {
    void go() {
      start(FileTransferMode::kAuto);
      ASSERT_TRUE(page_cache_probe_available()) << "cachestat(2) is missing: auto reads everything with pread";
      std::vector<uint8_t> all(content.size());
      int fd = ::open(path.c_str(), O_RDONLY);
      ASSERT_EQ(::pread(fd, all.data(), all.size(), 0), static_cast<ssize_t>(all.size()));
      EXPECT_EQ(page_cache_state(fd, 0, all.size()), CacheState::kCached);
      ::close(fd);
      const auto before = StatsSnapshot::now();
      exchange({(2u << 20) + 123, 300000});  // and the 5-byte ranges, copied into the gather write
      const auto after = StatsSnapshot::now();
      EXPECT_EQ(after.sendfile_bytes - before.sendfile_bytes, (2u << 20) + 123 + 300000);
      EXPECT_EQ(after.inlined_bytes - before.inlined_bytes, 10u);
      EXPECT_EQ(after.pool_reads, before.pool_reads);
      EXPECT_EQ(after.copied_bytes, before.copied_bytes);
      stop();
    }
  } run;
  run.go();
}

// auto: a range that is not in the page cache is read on the blocking-read
// pool (a sendfile of it would make the reactor wait for the disk).
TEST(AutoTransfer, ReadsColdRangesOnThePool) {
  struct Run : TransferFixture {
    void go() {
      start(FileTransferMode::kAuto);  // writes the file and drops it from the page cache
      int fd = ::open(path.c_str(), O_RDONLY);
      const CacheState state = page_cache_state(fd, 10, 1u << 20);
      ::close(fd);
      ASSERT_EQ(state, CacheState::kNotCached) << "the file stayed in the page cache after fdatasync + "
                                                  "POSIX_FADV_DONTNEED (" << path << ")";
      const auto before = StatsSnapshot::now();
      exchange({(2u << 20) + 123});
      const auto after = StatsSnapshot::now();
      EXPECT_GT(after.pool_reads, before.pool_reads);
      EXPECT_GT(after.copied_bytes, before.copied_bytes);
      // Bytes the pool's read brought into the cache may follow by sendfile;
      // every byte went one way or another.
      EXPECT_EQ((after.copied_bytes - before.copied_bytes) + (after.sendfile_bytes - before.sendfile_bytes) +
                    (after.inlined_bytes - before.inlined_bytes),
                (2u << 20) + 123 + 5);
      stop();
    }
  } run;
  run.go();
}

// Where the kernel allows io_uring, the io_uring mode really used it.
TEST(IoUringTransfer, UsesTheRingWhereAvailable) {
  struct Run : TransferFixture {
    void go() {
      start(FileTransferMode::kIoUring);
      exchange({(1u << 20) + 5});
      bool ok = uring().available();
      stop();
      if (!ok) GTEST_SKIP() << "io_uring is not usable here; the fallback test covers this host";
    }
  } run;
  run.go();
}

// SAMSA_DISABLE_IO_URING=1 stands in for a kernel or sandbox without
// io_uring: ring set-up fails, and the io_uring mode serves through pread.
TEST(IoUringTransfer, FallsBackToPreadWhenTheRingCannotBeCreated) {
  struct Run : TransferFixture {
    void go() {
      ::setenv("SAMSA_DISABLE_IO_URING", "1", 1);
      start(FileTransferMode::kIoUring);
      exchange({0, 4096, (2u << 20) + 123});
      EXPECT_FALSE(uring().available());
      stop();
      ::unsetenv("SAMSA_DISABLE_IO_URING");
    }
  } run;
  run.go();
}

}  // namespace
}  // namespace samsa::net
