#include "samsa/util/fault_injection_env.h"

#include <cerrno>
#include <system_error>

namespace samsa::util {
namespace {

std::string parent_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

[[noreturn]] void inject(int err, const char* what, const std::string& path) {
  throw std::system_error(err, std::generic_category(), std::string("injected: ") + what + " " + path);
}

}  // namespace

class FaultFile final : public File {
 public:
  FaultFile(FaultInjectionEnv& env, std::unique_ptr<File> base, std::shared_ptr<FaultInjectionEnv::FileState> state)
      : env_(env), base_(std::move(base)), state_(std::move(state)) {}

  void write_at(std::span<const uint8_t> data, uint64_t position) override {
    std::lock_guard lock(env_.mu_);
    env_.begin_op_locked(FaultInjectionEnv::Op::kWrite, state_->path);
    size_t allowed = data.size();
    int err = 0;
    if (env_.short_write_now_) {
      env_.short_write_now_ = false;
      allowed = data.size() / 2;
      err = EIO;
    }
    if (env_.space_left_ && *env_.space_left_ < allowed) {
      allowed = static_cast<size_t>(*env_.space_left_);
      err = ENOSPC;
    }
    if (env_.space_left_) *env_.space_left_ -= allowed;
    if (allowed > 0) base_->write_at(data.subspan(0, allowed), position);
    state_->dirty = true;
    if (err) inject(err, err == ENOSPC ? "no space left writing" : "short write to", state_->path);
  }

  size_t read_at(std::span<uint8_t> data, uint64_t position) override {
    alive();
    return base_->read_at(data, position);
  }

  void sync() override {
    std::lock_guard lock(env_.mu_);
    env_.begin_op_locked(FaultInjectionEnv::Op::kSync, state_->path);
    if (env_.forward_syncs_) base_->sync();
    state_->synced_size = base_->size();
    state_->dirty = false;
  }

  void truncate(uint64_t size) override {
    std::lock_guard lock(env_.mu_);
    env_.begin_op_locked(FaultInjectionEnv::Op::kTruncate, state_->path);
    base_->truncate(size);
    // Bytes cut below the synced size cannot come back: count it as durable.
    state_->synced_size = std::min(state_->synced_size, size);
    state_->dirty = true;
  }

  void allocate(uint64_t offset, uint64_t len) override {
    std::lock_guard lock(env_.mu_);
    env_.begin_op_locked(FaultInjectionEnv::Op::kAllocate, state_->path);
    if (env_.space_left_ && *env_.space_left_ < len) inject(ENOSPC, "no space left allocating", state_->path);
    if (env_.space_left_) *env_.space_left_ -= len;
    base_->allocate(offset, len);
  }

  uint64_t size() override {
    alive();
    return base_->size();
  }
  int64_t mtime_ms() override {
    alive();
    return base_->mtime_ms();
  }
  int native_fd() const override { return base_->native_fd(); }

 private:
  void alive() {
    if (env_.crashed()) inject(EIO, "after crash:", state_->path);
  }
  FaultInjectionEnv& env_;
  std::unique_ptr<File> base_;
  std::shared_ptr<FaultInjectionEnv::FileState> state_;
};

uint64_t FaultInjectionEnv::op_count() const {
  std::lock_guard lock(mu_);
  return ops_;
}

void FaultInjectionEnv::crash_after(uint64_t op) {
  std::lock_guard lock(mu_);
  crash_after_ = op;
}

bool FaultInjectionEnv::crashed() const {
  std::lock_guard lock(mu_);
  return crash_after_ && ops_ >= *crash_after_;
}

void FaultInjectionEnv::fail_syncs_from(uint64_t op) {
  std::lock_guard lock(mu_);
  fail_syncs_from_ = op;
}

void FaultInjectionEnv::short_write_at(uint64_t op) {
  std::lock_guard lock(mu_);
  short_write_at_ = op;
}

void FaultInjectionEnv::set_space_limit(uint64_t bytes) {
  std::lock_guard lock(mu_);
  space_left_ = bytes;
}

void FaultInjectionEnv::set_forward_syncs(bool forward) {
  std::lock_guard lock(mu_);
  forward_syncs_ = forward;
}

void FaultInjectionEnv::reset() {
  std::lock_guard lock(mu_);
  crash_after_.reset();
  fail_syncs_from_.reset();
  short_write_at_.reset();
  space_left_.reset();
  short_write_now_ = false;
}

void FaultInjectionEnv::forget_unsynced() {
  std::lock_guard lock(mu_);
  files_.clear();
  renames_.clear();
}

void FaultInjectionEnv::drop_unsynced_data() {
  std::lock_guard lock(mu_);
  // Undo the renames no directory sync made durable, newest first.
  for (auto it = renames_.rbegin(); it != renames_.rend(); ++it) {
    if (!base_.exists(it->to)) continue;
    base_.rename(it->to, it->from);
    auto moved = files_.find(it->to);
    if (moved != files_.end()) {
      moved->second->path = it->from;
      files_[it->from] = moved->second;
      files_.erase(moved);
    }
    if (it->replaced) {
      auto old = base_.open_file(it->to, /*create=*/true);
      old->write_at(*it->replaced, 0);
      old->sync();
    }
  }
  renames_.clear();
  for (auto& [path, state] : files_) {
    if (state->path.empty() || !base_.exists(state->path)) continue;
    if (state->entry_unsynced) {
      base_.remove_file(state->path);
      continue;
    }
    if (!state->dirty) continue;
    auto file = base_.open_file(state->path, /*create=*/false);
    if (file->size() > state->synced_size) file->truncate(state->synced_size);
    state->dirty = false;
  }
  files_.clear();
}

void FaultInjectionEnv::begin_op_locked(Op op, const std::string& path) {
  if (crash_after_ && ops_ >= *crash_after_) inject(EIO, "after crash:", path);
  const uint64_t n = ++ops_;
  if (crash_after_ && n > *crash_after_) inject(EIO, "after crash:", path);
  if (op == Op::kSync || op == Op::kSyncDir) {
    if (fail_syncs_from_ && n >= *fail_syncs_from_) inject(EIO, "fsync failed for", path);
  }
  if (op == Op::kWrite && short_write_at_ && n >= *short_write_at_) {
    short_write_now_ = true;
    short_write_at_.reset();
  }
  if (op == Op::kCreate && space_left_ && *space_left_ == 0) inject(ENOSPC, "no space left creating", path);
}

std::shared_ptr<FaultInjectionEnv::FileState> FaultInjectionEnv::state_for_locked(const std::string& path) {
  auto& slot = files_[path];
  if (!slot) {
    slot = std::make_shared<FileState>();
    slot->path = path;
    // A file this Env did not create: its current content counts as durable.
    if (base_.exists(path)) slot->synced_size = base_.open_file(path, false)->size();
  }
  return slot;
}

std::unique_ptr<File> FaultInjectionEnv::open_file(const std::string& path, bool create) {
  std::lock_guard lock(mu_);
  const bool exists = base_.exists(path);
  if (!exists && create) {
    begin_op_locked(Op::kCreate, path);
    auto file = base_.open_file(path, true);
    auto state = std::make_shared<FileState>();
    state->path = path;
    state->entry_unsynced = true;
    files_[path] = state;
    return std::make_unique<FaultFile>(*this, std::move(file), state);
  }
  if (crash_after_ && ops_ >= *crash_after_) inject(EIO, "after crash:", path);
  auto file = base_.open_file(path, create);
  return std::make_unique<FaultFile>(*this, std::move(file), state_for_locked(path));
}

void FaultInjectionEnv::rename(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  begin_op_locked(Op::kRename, from);
  std::optional<std::vector<uint8_t>> replaced;
  if (base_.exists(to) && !base_.is_directory(to)) {
    auto old = base_.open_file(to, /*create=*/false);
    replaced.emplace(old->size());
    replaced->resize(old->read_at(*replaced, 0));
  }
  base_.rename(from, to);
  if (auto old = files_.find(to); old != files_.end()) {
    old->second->path.clear();
    files_.erase(old);
  }
  auto moved = files_.find(from);
  if (moved != files_.end()) {
    auto state = moved->second;
    files_.erase(moved);
    state->path = to;
    files_[to] = state;
  }
  renames_.push_back({parent_of(to), from, to, std::move(replaced)});
}

bool FaultInjectionEnv::remove_file(const std::string& path) {
  std::lock_guard lock(mu_);
  begin_op_locked(Op::kRemove, path);
  if (auto it = files_.find(path); it != files_.end()) {
    it->second->path.clear();
    files_.erase(it);
  }
  return base_.remove_file(path);
}

bool FaultInjectionEnv::remove_dir(const std::string& path) {
  std::lock_guard lock(mu_);
  begin_op_locked(Op::kRemove, path);
  return base_.remove_dir(path);
}

bool FaultInjectionEnv::exists(const std::string& path) {
  std::lock_guard lock(mu_);
  if (crash_after_ && ops_ >= *crash_after_) inject(EIO, "after crash:", path);
  return base_.exists(path);
}

bool FaultInjectionEnv::is_directory(const std::string& path) {
  std::lock_guard lock(mu_);
  if (crash_after_ && ops_ >= *crash_after_) inject(EIO, "after crash:", path);
  return base_.is_directory(path);
}

std::vector<DirEntry> FaultInjectionEnv::list_dir(const std::string& dir) {
  std::lock_guard lock(mu_);
  if (crash_after_ && ops_ >= *crash_after_) inject(EIO, "after crash:", dir);
  return base_.list_dir(dir);
}

void FaultInjectionEnv::create_dirs(const std::string& dir) {
  std::lock_guard lock(mu_);
  if (base_.is_directory(dir)) return;
  begin_op_locked(Op::kMkdir, dir);
  base_.create_dirs(dir);
}

void FaultInjectionEnv::sync_dir(const std::string& dir) {
  std::lock_guard lock(mu_);
  begin_op_locked(Op::kSyncDir, dir);
  if (forward_syncs_) base_.sync_dir(dir);
  for (auto& [path, state] : files_)
    if (parent_of(path) == dir) state->entry_unsynced = false;
  std::erase_if(renames_, [&](const PendingRename& r) { return r.dir == dir; });
}

}  // namespace samsa::util
