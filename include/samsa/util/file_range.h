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

struct FileRange {
  std::shared_ptr<const FileHandle> file;
  uint64_t position = 0;
  size_t length = 0;

  bool operator==(const FileRange& o) const {
    return file == o.file && position == o.position && length == o.length;
  }
};

}  // namespace samsa::util
