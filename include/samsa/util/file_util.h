#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace samsa::util {

// Writes `path` so that readers see either the old or the whole new content:
// temp file in the same directory, fsync, rename, fsync of the directory.
// Throws std::system_error naming the path on failure.
void write_file_atomically(const std::string& path, std::string_view content);
void write_file_atomically(const std::string& path, std::span<const uint8_t> content);
// The same without either fsync, for files whose durability is made later,
// off the caller's thread, by sync_file() (Kafka writes roll-time producer
// snapshots so and flushes them from its scheduler). A crash before then may
// leave the file torn or missing: only for files whose readers check them.
void write_file_atomically_unsynced(const std::string& path, std::span<const uint8_t> content);
// fsync of `path` and of its directory. A file deleted meanwhile is not an
// error (there is nothing left to make durable). Throws std::system_error.
void sync_file(const std::string& path);

// Whole file; throws std::system_error naming the path.
std::vector<uint8_t> read_file(const std::string& path);

}  // namespace samsa::util
