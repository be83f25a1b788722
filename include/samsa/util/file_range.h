#pragma once
// Bytes that live in a file: the fetch path hands these to the socket layer
// instead of copying record data through user space. The handle keeps the
// descriptor open for as long as any range refers to it, even after the
// segment file is deleted.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace samsa::util {

class FileHandle {
 public:
  explicit FileHandle(int fd) : fd_(fd) {}
  ~FileHandle() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// `owner` keeps `fd` open (a FileHandle, a log segment's handle, ...).
struct FileRange {
  int fd = -1;
  std::shared_ptr<const void> owner;
  uint64_t position = 0;
  size_t length = 0;

  static FileRange of(std::shared_ptr<const FileHandle> file, uint64_t position, size_t length) {
    int fd = file->fd();
    return FileRange{fd, std::move(file), position, length};
  }
  bool operator==(const FileRange& o) const {
    return fd == o.fd && owner == o.owner && position == o.position && length == o.length;
  }
};

}  // namespace samsa::util
