#include "samsa/log/file_handle.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace samsa::log {
namespace {

[[noreturn]] void fail(const char* what, const std::string& path) {
  throw std::system_error(errno, std::generic_category(), std::string(what) + " " + path);
}

}  // namespace

std::shared_ptr<FileHandle> FileHandle::open(const std::string& path, bool create) {
  int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) fail("open", path);
  return std::shared_ptr<FileHandle>(new FileHandle(fd, path));
}

FileHandle::~FileHandle() { ::close(fd_); }

void FileHandle::pwrite_all(std::span<const uint8_t> data, uint64_t position) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done,
                         static_cast<off_t>(position + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("pwrite", path_);
    }
    done += static_cast<size_t>(n);
  }
}

size_t FileHandle::pread_some(std::span<uint8_t> data, uint64_t position) const {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pread(fd_, data.data() + done, data.size() - done,
                        static_cast<off_t>(position + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("pread", path_);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

void FileHandle::fsync() {
  if (::fdatasync(fd_) != 0) fail("fsync", path_);
}

void FileHandle::truncate(uint64_t size) {
  if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) fail("ftruncate", path_);
}

uint64_t FileHandle::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail("fstat", path_);
  return static_cast<uint64_t>(st.st_size);
}

int64_t FileHandle::mtime_ms() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail("fstat", path_);
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("open dir", dir);
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  errno = saved;
  if (rc != 0) fail("fsync dir", dir);
}

void rename_file(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) fail("rename", from + " -> " + to);
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

void remove_file_if_exists(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) fail("unlink", path);
}

}  // namespace samsa::log
