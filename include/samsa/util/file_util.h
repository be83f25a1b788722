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

// Whole file; throws std::system_error naming the path.
std::vector<uint8_t> read_file(const std::string& path);

}  // namespace samsa::util
