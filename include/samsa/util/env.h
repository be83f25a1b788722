#pragma once
// The filesystem seen by the log, the checkpoints and the metadata log.
// LevelDB's Env is the model: every open, write, fsync, truncate, rename,
// unlink, directory listing and directory fsync of those modules goes
// through an Env, so tests can put a FaultInjectionEnv
// (fault_injection_env.h) under a broker's directories and inject fsync
// errors, short writes, ENOSPC and crashes at chosen operations.
//
// How code finds its Env: by path. Env::for_path(p) returns the Env mounted
// on the longest directory prefix of p, or the PosixEnv. A test (or a
// simulation running several nodes in one process) mounts one Env per node
// directory; the storage code needs no Env parameter threaded through every
// constructor, and production pays one atomic load per lookup.
//
// Errors: every operation throws std::system_error (errno value, text naming
// the path), as the POSIX calls underneath fail.
//
// Threads: Envs and Files are safe to use from any thread; a File's
// operations on disjoint ranges may run concurrently.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace samsa::util {

// An open file, read and written at explicit positions.
class File {
 public:
  virtual ~File() = default;
  // Writes all of `data` at `position`, or throws (a failed write may have
  // written a prefix, as a real short write followed by an error does).
  virtual void write_at(std::span<const uint8_t> data, uint64_t position) = 0;
  // Writes `pieces` back to back from `position`, as write_at of their
  // concatenation would (a gather write: no copy into one buffer). This
  // default writes them one by one; PosixFile uses pwritev.
  virtual void write_gather_at(std::span<const std::span<const uint8_t>> pieces, uint64_t position) {
    for (const auto& piece : pieces) {
      write_at(piece, position);
      position += piece.size();
    }
  }
  // Reads up to data.size() bytes; returns how many (short only at EOF).
  virtual size_t read_at(std::span<uint8_t> data, uint64_t position) = 0;
  // Makes the content written so far durable (fdatasync).
  virtual void sync() = 0;
  virtual void truncate(uint64_t size) = 0;
  // Backs [offset, offset + len) with disk blocks without changing the
  // size (fallocate); ENOSPC if the disk is full. Where the filesystem
  // cannot do it, a no-op.
  virtual void allocate(uint64_t offset, uint64_t len) = 0;
  virtual uint64_t size() = 0;
  virtual int64_t mtime_ms() = 0;
  // The descriptor underneath, for sendfile(2) and mmap(2); the bytes read
  // or mapped through it bypass the Env (fault injection does not see them).
  virtual int native_fd() const = 0;
};

struct DirEntry {
  std::string name;  // file name only
  bool is_directory = false;
};

class Env {
 public:
  virtual ~Env() = default;

  // Opens read/write; `create`: create if missing, else fail with ENOENT.
  virtual std::unique_ptr<File> open_file(const std::string& path, bool create) = 0;
  // Atomically replaces `to` (rename(2)); durable after sync_dir.
  virtual void rename(const std::string& from, const std::string& to) = 0;
  // Unlinks a file; false if it did not exist.
  virtual bool remove_file(const std::string& path) = 0;
  // Removes an empty directory; false if it did not exist.
  virtual bool remove_dir(const std::string& path) = 0;
  virtual bool exists(const std::string& path) = 0;
  virtual bool is_directory(const std::string& path) = 0;
  // Entries of `dir` (not "." and ".."), in no particular order.
  virtual std::vector<DirEntry> list_dir(const std::string& dir) = 0;
  // mkdir -p.
  virtual void create_dirs(const std::string& dir) = 0;
  // Makes `dir`'s entries (creates, renames, unlinks) durable.
  virtual void sync_dir(const std::string& dir) = 0;

  // The process's real filesystem.
  static Env& posix();
  // The Env mounted on the longest prefix of `path` (whole path
  // components), else posix().
  static Env& for_path(const std::string& path);
  // REQUIRES: `env` outlives the mount (unmount before destroying it).
  static void mount(const std::string& dir, Env* env);
  static void unmount(const std::string& dir);
};

// Mounts `env` on `dir` for its lifetime (a test, or one simulated node).
class ScopedMount {
 public:
  ScopedMount(std::string dir, Env* env) : dir_(std::move(dir)) { Env::mount(dir_, env); }
  ~ScopedMount() { Env::unmount(dir_); }
  ScopedMount(const ScopedMount&) = delete;
  ScopedMount& operator=(const ScopedMount&) = delete;

 private:
  std::string dir_;
};

// Helpers over Env::for_path(path); they throw std::system_error.

// Readers see either the old or the whole new content: a temp file in the
// same directory, fsync, rename, fsync of the directory.
void write_file_atomically(const std::string& path, std::span<const uint8_t> content);
void write_file_atomically(const std::string& path, std::string_view content);
// The same without either fsync, for files made durable later, off the
// caller's thread, by sync_file() (Kafka writes roll-time producer snapshots
// so and flushes them from its scheduler). A crash before then may leave the
// file torn or missing: only for files whose readers check them.
void write_file_atomically_unsynced(const std::string& path, std::span<const uint8_t> content);
// fsync of `path` and of its directory. A file deleted meanwhile is not an
// error (there is nothing left to make durable).
void sync_file(const std::string& path);
std::vector<uint8_t> read_file(const std::string& path);
// Unlinks every file below `dir`, then the directories, then `dir`.
void remove_tree(const std::string& dir);

}  // namespace samsa::util
