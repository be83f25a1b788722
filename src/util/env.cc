// The mount table behind Env::for_path, and the helpers over it.
#include "samsa/util/env.h"

#include <atomic>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <system_error>

namespace samsa::util {
namespace {

struct Mounts {
  std::shared_mutex mu;
  std::map<std::string, Env*> by_dir;  // no trailing '/'
  std::atomic<bool> any{false};        // the fast path: nothing mounted
};

Mounts& mounts() {
  static Mounts m;
  return m;
}

std::string normalise(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

std::string parent_dir(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

Env& Env::for_path(const std::string& path) {
  Mounts& m = mounts();
  if (!m.any.load(std::memory_order_acquire)) return posix();
  std::shared_lock lock(m.mu);
  Env* best = nullptr;
  size_t best_len = 0;
  for (const auto& [dir, env] : m.by_dir) {
    const bool under = path.size() >= dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                       (path.size() == dir.size() || path[dir.size()] == '/');
    if (under && dir.size() >= best_len) {
      best = env;
      best_len = dir.size();
    }
  }
  return best ? *best : posix();
}

void Env::mount(const std::string& dir, Env* env) {
  Mounts& m = mounts();
  std::unique_lock lock(m.mu);
  m.by_dir[normalise(dir)] = env;
  m.any.store(true, std::memory_order_release);
}

void Env::unmount(const std::string& dir) {
  Mounts& m = mounts();
  std::unique_lock lock(m.mu);
  m.by_dir.erase(normalise(dir));
  m.any.store(!m.by_dir.empty(), std::memory_order_release);
}

void write_file_atomically(const std::string& path, std::span<const uint8_t> content) {
  Env& env = Env::for_path(path);
  const std::string tmp = path + ".tmp";
  {
    auto file = env.open_file(tmp, /*create=*/true);
    file->truncate(0);
    file->write_at(content, 0);
    file->sync();
  }
  env.rename(tmp, path);
  env.sync_dir(parent_dir(path));
}

void write_file_atomically(const std::string& path, std::string_view content) {
  write_file_atomically(path,
                        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(content.data()), content.size()));
}

void write_file_atomically_unsynced(const std::string& path, std::span<const uint8_t> content) {
  Env& env = Env::for_path(path);
  const std::string tmp = path + ".tmp";
  {
    auto file = env.open_file(tmp, /*create=*/true);
    file->truncate(0);
    file->write_at(content, 0);
  }
  env.rename(tmp, path);
}

void sync_file(const std::string& path) {
  Env& env = Env::for_path(path);
  std::unique_ptr<File> file;
  try {
    file = env.open_file(path, /*create=*/false);
  } catch (const std::system_error& e) {
    if (e.code() == std::errc::no_such_file_or_directory) return;  // deleted meanwhile: nothing to make durable
    throw;
  }
  file->sync();
  const std::string dir = parent_dir(path);
  if (env.is_directory(dir)) env.sync_dir(dir);  // the directory may have gone with the file
}

std::vector<uint8_t> read_file(const std::string& path) {
  auto file = Env::for_path(path).open_file(path, /*create=*/false);
  std::vector<uint8_t> data(file->size());
  data.resize(file->read_at(data, 0));
  return data;
}

void remove_tree(const std::string& dir) {
  Env& env = Env::for_path(dir);
  if (!env.is_directory(dir)) {
    env.remove_file(dir);
    return;
  }
  for (const auto& e : env.list_dir(dir)) {
    const std::string child = dir + "/" + e.name;
    if (e.is_directory) remove_tree(child);
    else env.remove_file(child);
  }
  env.remove_dir(dir);
}

}  // namespace samsa::util
