#pragma once
// An Env for tests that forwards to a real Env (files stay real, so the code
// under test reads back what it wrote) and injects faults deterministically,
// LevelDB's fault_injection_test being the model:
//
//   - every mutating operation (file create, write, allocate, sync, truncate, rename,
//     unlink, rmdir, mkdir, directory sync) gets the next number, 1, 2, ...;
//     a scenario run once with no faults tells how many it performs, and a
//     test can then fail or crash at each of them in turn;
//   - fail_syncs_from(k): that sync and every later one fails (EIO);
//   - short_write_at(k): the first write numbered k or later stores the first
//     half of its bytes, then fails (EIO), like a short write whose retry
//     fails;
//   - set_space_limit(n): writes beyond n more bytes store what fits and fail
//     with ENOSPC; file creation fails with ENOSPC once the space is spent;
//   - crash_after(k): operations after the k-th fail (EIO) and touch nothing
//     (the process is "dead"); then drop_unsynced_data() plays the power loss:
//     every file goes back to its size at its last sync, files whose directory
//     entry was never synced disappear, renames whose directory was not synced
//     since are undone (a replaced target gets its old content back: it is
//     kept in memory until the directory sync). reset() makes
//     the Env usable again, for the restart.
//
// Not modelled: bytes written through native_fd() (mmap'd index entries,
// sendfile reads) and overwrites inside the synced part of a file (the log
// only appends); unlinks are durable at once.
//
// Threads: all methods are safe from any thread (one mutex).
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "samsa/util/env.h"

namespace samsa::util {

class FaultInjectionEnv final : public Env {
 public:
  explicit FaultInjectionEnv(Env& base = Env::posix()) : base_(base) {}

  // Number of mutating operations performed (or refused) so far.
  uint64_t op_count() const;
  void crash_after(uint64_t op);
  bool crashed() const;
  void fail_syncs_from(uint64_t op);
  void short_write_at(uint64_t op);
  void set_space_limit(uint64_t bytes);
  // false: syncs are counted and tracked but not passed to the real disk
  // (the crash is simulated anyway; keeps enumerating tests fast).
  void set_forward_syncs(bool forward);
  void drop_unsynced_data();
  // Clears every injected fault and the crashed state; op numbers go on.
  void reset();
  // Stop tracking: from now on the current content counts as synced.
  void forget_unsynced();

  std::unique_ptr<File> open_file(const std::string& path, bool create) override;
  void rename(const std::string& from, const std::string& to) override;
  bool remove_file(const std::string& path) override;
  bool remove_dir(const std::string& path) override;
  bool exists(const std::string& path) override;
  bool is_directory(const std::string& path) override;
  std::vector<DirEntry> list_dir(const std::string& dir) override;
  void create_dirs(const std::string& dir) override;
  void sync_dir(const std::string& dir) override;

 private:
  friend class FaultFile;
  struct FileState {
    std::string path;            // current name; empty once unlinked
    uint64_t synced_size = 0;
    bool dirty = false;          // written/truncated since the last sync
    bool entry_unsynced = false; // created, its directory not synced since
  };
  struct PendingRename {
    std::string dir, from, to;
    std::optional<std::vector<uint8_t>> replaced;  // the old target's bytes
  };
  enum class Op { kCreate, kWrite, kAllocate, kSync, kTruncate, kRename, kRemove, kMkdir, kSyncDir };

  // Counts the operation and throws if it must fail. REQUIRES: mu_ held.
  void begin_op_locked(Op op, const std::string& path);
  std::shared_ptr<FileState> state_for_locked(const std::string& path);

  Env& base_;
  mutable std::mutex mu_;
  uint64_t ops_ = 0;
  std::optional<uint64_t> crash_after_;
  std::optional<uint64_t> fail_syncs_from_;
  std::optional<uint64_t> short_write_at_;
  std::optional<uint64_t> space_left_;
  bool short_write_now_ = false;
  bool forward_syncs_ = true;
  std::map<std::string, std::shared_ptr<FileState>> files_;
  std::vector<PendingRename> renames_;
};

}  // namespace samsa::util
