// The default Env: plain POSIX calls.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <filesystem>
#include <system_error>
#include <vector>

#include "samsa/util/env.h"

namespace samsa::util {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path, int err = errno) {
  throw std::system_error(err, std::generic_category(), what + " " + path);
}

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override { ::close(fd_); }

  void write_at(std::span<const uint8_t> data, uint64_t position) override {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(position + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("pwrite", path_);
      }
      done += static_cast<size_t>(n);
    }
  }

  void write_gather_at(std::span<const std::span<const uint8_t>> pieces, uint64_t position) override {
    // pwritev takes at most IOV_MAX pieces and may write short: resume
    // from the first piece not fully written.
    std::vector<iovec> iov;
    size_t next = 0, skip = 0;  // first piece not yet written, bytes of it already written
    while (next < pieces.size()) {
      iov.clear();
      for (size_t i = next; i < pieces.size() && iov.size() < IOV_MAX; ++i) {
        const size_t from = i == next ? skip : 0;
        iov.push_back(iovec{const_cast<uint8_t*>(pieces[i].data()) + from, pieces[i].size() - from});
      }
      ssize_t n = ::pwritev(fd_, iov.data(), static_cast<int>(iov.size()), static_cast<off_t>(position));
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("pwritev", path_);
      }
      position += static_cast<uint64_t>(n);
      size_t left = static_cast<size_t>(n);
      while (next < pieces.size() && left >= pieces[next].size() - skip) {
        left -= pieces[next].size() - skip;
        ++next;
        skip = 0;
      }
      skip += left;
    }
  }

  size_t read_at(std::span<uint8_t> data, uint64_t position) override {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::pread(fd_, data.data() + done, data.size() - done, static_cast<off_t>(position + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("pread", path_);
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return done;
  }

  void sync() override {
    if (::fdatasync(fd_) != 0) fail("fsync", path_);
  }
  void truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) fail("ftruncate", path_);
  }
  void allocate(uint64_t offset, uint64_t len) override {
    if (len == 0) return;
    int rc;
    do {
      rc = ::fallocate(fd_, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset), static_cast<off_t>(len));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0 && errno != EOPNOTSUPP && errno != ENOSYS) fail("fallocate", path_);
  }
  uint64_t size() override { return static_cast<uint64_t>(stat().st_size); }
  int64_t mtime_ms() override {
    auto st = stat();
    return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
  }
  int native_fd() const override { return fd_; }

 private:
  struct stat stat() const {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail("fstat", path_);
    return st;
  }
  int fd_;
  std::string path_;
};

class PosixEnv final : public Env {
 public:
  std::unique_ptr<File> open_file(const std::string& path, bool create) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (fd < 0) fail("open", path);
    return std::make_unique<PosixFile>(fd, path);
  }
  void rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) fail("rename", from + " -> " + to);
  }
  bool remove_file(const std::string& path) override {
    if (::unlink(path.c_str()) == 0) return true;
    if (errno == ENOENT) return false;
    fail("unlink", path);
  }
  bool remove_dir(const std::string& path) override {
    if (::rmdir(path.c_str()) == 0) return true;
    if (errno == ENOENT) return false;
    fail("rmdir", path);
  }
  bool exists(const std::string& path) override {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
  }
  bool is_directory(const std::string& path) override {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }
  std::vector<DirEntry> list_dir(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());
    if (!d) fail("opendir", dir);
    std::vector<DirEntry> out;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      bool is_dir = e->d_type == DT_DIR;
      if (e->d_type == DT_UNKNOWN) is_dir = is_directory(dir + "/" + name);
      out.push_back({std::move(name), is_dir});
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) fail("readdir", dir, err);
    return out;
  }
  void create_dirs(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw std::system_error(ec, "mkdir " + dir);
  }
  void sync_dir(const std::string& dir) override {
    int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail("open dir", dir);
    int rc = ::fsync(fd);
    int saved = errno;
    ::close(fd);
    if (rc != 0) fail("fsync dir", dir, saved);
  }
};

}  // namespace

Env& Env::posix() {
  static PosixEnv env;
  return env;
}

}  // namespace samsa::util
