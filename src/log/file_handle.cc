#include "samsa/log/file_handle.h"

namespace samsa::log {

FileHandle::FileHandle(std::unique_ptr<util::File> file, std::string path)
    : file_(std::move(file)), fd_(file_->native_fd()), path_(std::move(path)) {}

std::shared_ptr<FileHandle> FileHandle::open(const std::string& path, bool create) {
  auto file = util::Env::for_path(path).open_file(path, create);
  return std::shared_ptr<FileHandle>(new FileHandle(std::move(file), path));
}

FileHandle::~FileHandle() = default;

void FileHandle::pwrite_all(std::span<const uint8_t> data, uint64_t position) { file_->write_at(data, position); }
void FileHandle::pwrite_gather(std::span<const std::span<const uint8_t>> pieces, uint64_t position) {
  file_->write_gather_at(pieces, position);
}

size_t FileHandle::pread_some(std::span<uint8_t> data, uint64_t position) const {
  return file_->read_at(data, position);
}

void FileHandle::fsync() { file_->sync(); }

void FileHandle::truncate(uint64_t size) { file_->truncate(size); }

uint64_t FileHandle::size() const { return file_->size(); }

int64_t FileHandle::mtime_ms() const { return file_->mtime_ms(); }

void fsync_dir(const std::string& dir) { util::Env::for_path(dir).sync_dir(dir); }

void rename_file(const std::string& from, const std::string& to) { util::Env::for_path(from).rename(from, to); }

bool file_exists(const std::string& path) { return util::Env::for_path(path).exists(path); }

void remove_file_if_exists(const std::string& path) { util::Env::for_path(path).remove_file(path); }

}  // namespace samsa::log
