#pragma once
// An open file descriptor shared between a segment and its readers. The fd is
// closed when the last holder lets go, so a fetch that holds a FileHandle can
// still sendfile/pread the range after the segment was deleted (unlinked
// files stay readable through open descriptors).
//
// All file I/O of the log module goes through the small functions below,
// which go through the util::Env mounted on the path (samsa/util/env.h), so
// tests inject faults under a log dir.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include "samsa/util/env.h"

namespace samsa::log {

class FileHandle {
 public:
  // Opens (creating if asked) for read/write. Throws std::system_error.
  static std::shared_ptr<FileHandle> open(const std::string& path, bool create);

  ~FileHandle();
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;

  // The descriptor underneath (sendfile, mmap).
  int fd() const { return fd_; }
  // Path at open time (a later rename is not tracked).
  const std::string& path() const { return path_; }

  // Throw std::system_error naming the path on failure.
  void pwrite_all(std::span<const uint8_t> data, uint64_t position);
  // The pieces back to back from `position`, in one gather write.
  void pwrite_gather(std::span<const std::span<const uint8_t>> pieces, uint64_t position);
  // Reads up to data.size() bytes; returns how many (short only at EOF).
  size_t pread_some(std::span<uint8_t> data, uint64_t position) const;
  void fsync();
  void truncate(uint64_t size);
  uint64_t size() const;
  int64_t mtime_ms() const;

 private:
  FileHandle(std::unique_ptr<util::File> file, std::string path);
  std::unique_ptr<util::File> file_;
  int fd_;
  std::string path_;
};

// Directory helpers over util::Env::for_path; throw std::system_error.
void fsync_dir(const std::string& dir);
void rename_file(const std::string& from, const std::string& to);
bool file_exists(const std::string& path);
void remove_file_if_exists(const std::string& path);

}  // namespace samsa::log
