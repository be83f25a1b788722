#include "samsa/raft/server/disk_replicated_log.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "samsa/protocol/record_batch.h"
#include "samsa/raft/consensus/raft_wire.h"
#include "samsa/util/env.h"
#include "samsa/util/logging.h"

namespace samsa::raft {

namespace {

constexpr size_t kReadChunk = 1u << 20;
constexpr const char* kSnapshotSuffix = ".checkpoint";
constexpr const char* kEpochCheckpoint = "leader-epoch-checkpoint";

const std::shared_ptr<spdlog::logger>& logger() {
  static auto l = samsa::logger("samsa.raft.KafkaMetadataLog");
  return l;
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "<offset:020>-<epoch:010>.checkpoint"
std::optional<OffsetAndEpoch> parse_snapshot_name(const std::string& name) {
  if (name.size() != 42 || name[20] != '-' || name.substr(31) != kSnapshotSuffix) return std::nullopt;
  for (size_t i = 0; i < 31; ++i)
    if (i != 20 && (name[i] < '0' || name[i] > '9')) return std::nullopt;
  return OffsetAndEpoch{std::stoll(name.substr(0, 20)), std::stoi(name.substr(21, 10))};
}

// Files of log::Log that a reset removes: segments and their indexes,
// producer snapshots, leftovers of deletions and compaction.
bool is_log_file(const std::string& name) {
  for (const char* suffix : {".log", ".index", ".timeindex", ".txnindex", ".snapshot", ".deleted", ".swap", ".cleaned"}) {
    std::string_view s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) return true;
  }
  return false;
}

void append_batch(protocol::WireWriter& out, const Entry& e, Offset base, Epoch epoch, int64_t ts) {
  if (e.records.empty()) throw std::logic_error("an entry holds at least one record");
  protocol::RecordBatchOptions opts;
  opts.base_offset = base;
  opts.partition_leader_epoch = epoch;
  opts.control = e.control;
  protocol::RecordBatchBuilder builder(opts);
  protocol::WireWriter key;
  if (e.control) {
    key.int16(0);  // control record key version
    key.int16(e.control_type);
  }
  for (const auto& r : e.records) {
    std::span<const uint8_t> value(reinterpret_cast<const uint8_t*>(r.data()), r.size());
    if (e.control) {
      builder.append(ts, key.view(), value);
    } else {
      builder.append(ts, std::nullopt, value);
    }
  }
  builder.build_into(out);
}

Entry entry_of(const protocol::BatchView& batch) {
  Entry e;
  e.epoch = batch.header.partition_leader_epoch;
  e.control = batch.header.is_control();
  e.timestamp_ms = batch.header.max_timestamp;
  for (auto& r : protocol::decode_records(batch)) {
    if (e.control && e.records.empty() && r.key && r.key->size() >= 4)
      e.control_type = static_cast<int16_t>(((*r.key)[2] << 8) | (*r.key)[3]);
    e.records.emplace_back(r.value ? std::string(r.value->begin(), r.value->end()) : std::string());
  }
  return e;
}

}  // namespace

DiskReplicatedLog::DiskReplicatedLog(DiskLogOptions options)
    : options_(std::move(options)),
      dir_((std::filesystem::path(options_.metadata_dir) / kDirName).string()) {
  auto& env = util::Env::for_path(dir_);
  env.create_dirs(dir_);
  for (const auto& entry : env.list_dir(dir_)) {
    if (entry.is_directory) continue;
    if (auto id = parse_snapshot_name(entry.name)) {
      snapshots_.insert(*id);
    } else if (entry.name.size() > 15 && entry.name.ends_with(".checkpoint.tmp")) {
      env.remove_file(dir_ + "/" + entry.name);  // a snapshot whose write was cut short
    }
  }
  const auto latest = latest_snapshot();
  // Entries below the latest snapshot are as good as trimmed (a trim that a
  // restart interrupted, or one not done yet).
  open_log(latest ? latest->offset : 0);
  if (latest) {
    if (log_->log_end_offset() < latest->offset) {
      // Behind the snapshot (a reset that a crash interrupted, or a copy of
      // the snapshot alone): the snapshot is the start.
      reset_to_snapshot(*latest);
    } else if (log_->log_start_offset() == latest->offset) {
      base_epoch_ = latest->epoch;
    }
  }
  logger()->info("Opened {} at offsets [{}, {}), latest snapshot {}", dir_, start_offset(), end_offset(),
                 latest_snapshot() ? snapshot_path(*latest_snapshot()) : std::string("none"));
}

DiskReplicatedLog::~DiskReplicatedLog() {
  try {
    close();
  } catch (const std::exception& e) {
    logger()->error("Closing {} failed: {}", dir_, e.what());
  }
}

void DiskReplicatedLog::open_log(int64_t start_offset) {
  log::LogOpenOptions open;
  open.dir = dir_;
  open.tp = log::TopicPartition{wire::kMetadataTopic, wire::kMetadataPartition};
  open.topic_id = wire::metadata_topic_id();
  open.config = options_.config;
  open.config.fsync_per_append = false;  // flush() decides, as the Raft client asks
  open.clean_shutdown = false;           // a small log: always verify it
  open.log_start_offset = start_offset;
  open.recovery_point = 0;
  open.on_io_error = options_.on_io_error;
  auto opened = log::Log::open(open);
  if (!opened) throw std::runtime_error("cannot open the metadata log " + dir_ + ": " + opened.error().message);
  // What recovery kept may still sit in the page cache only.
  (*opened)->flush();
  std::lock_guard lock(mu_);
  log_ = std::move(*opened);
}

std::shared_ptr<log::Log> DiskReplicatedLog::log() const {
  std::lock_guard lock(mu_);
  if (!log_) throw std::runtime_error("the metadata log " + dir_ + " is closed");
  return log_;
}

Offset DiskReplicatedLog::end_offset() const { return log()->log_end_offset(); }

Offset DiskReplicatedLog::start_offset() const { return log()->log_start_offset(); }

Epoch DiskReplicatedLog::last_fetched_epoch() const {
  auto l = log();
  if (l->log_end_offset() > l->log_start_offset()) {
    if (auto e = l->leader_epoch_cache().latest_epoch()) return *e;
  }
  return base_epoch_;
}

Offset DiskReplicatedLog::flushed_offset() const { return log()->recovery_point(); }

void DiskReplicatedLog::flush() {
  auto l = log();
  try {
    l->flush();
  } catch (const std::exception& e) {
    l->mark_offline();
    if (options_.on_io_error) options_.on_io_error(std::string("flush failed: ") + e.what());
    throw std::runtime_error(std::string("metadata log flush failed: ") + e.what());
  }
}

void DiskReplicatedLog::append_entries(std::vector<Entry>& entries, const Epoch* leader_epoch) {
  if (entries.empty()) return;
  auto l = log();
  const int64_t ts = wall_ms();
  protocol::WireWriter out;
  Offset next = l->log_end_offset();
  for (auto& e : entries) {
    if (leader_epoch) e.epoch = *leader_epoch;
    // The leader stamps a batch once; a follower keeps the leader's stamp,
    // so its bytes (and CRC) are the leader's.
    if (e.timestamp_ms < 0) e.timestamp_ms = ts;
    append_batch(out, e, next, e.epoch, e.timestamp_ms);
    next += static_cast<Offset>(e.records.size());
  }
  auto result = l->append_as_follower(out.view());
  if (!result) throw std::runtime_error("metadata log append failed: " + result.error().message);
}

Offset DiskReplicatedLog::append_as_leader(std::vector<Entry> entries, Epoch epoch) {
  if (epoch < last_fetched_epoch()) throw std::logic_error("append_as_leader with an older epoch");
  Offset base = end_offset();
  append_entries(entries, &epoch);
  return base;
}

void DiskReplicatedLog::append_as_follower(std::vector<Entry> entries) { append_entries(entries, nullptr); }

void DiskReplicatedLog::truncate_to(Offset offset) {
  auto l = log();
  if (offset < l->log_start_offset() || offset > l->log_end_offset())
    throw std::logic_error(fmt::format("truncate_to({}) outside [{}, {}]", offset, l->log_start_offset(),
                                       l->log_end_offset()));
  if (offset == l->log_end_offset()) return;
  auto result = l->truncate_to(offset);
  if (!result) throw std::runtime_error("metadata log truncation failed: " + result.error().message);
  if (*result != offset) throw std::logic_error(fmt::format("truncate_to({}) inside a batch", offset));
}

template <typename F>
void DiskReplicatedLog::for_each_batch(Offset from, Offset end, size_t max_bytes, F&& on_batch) const {
  std::shared_lock reading(swap_mu_);
  auto l = log();
  end = std::min(end, l->log_end_offset());
  if (from < l->log_start_offset()) {
    throw std::out_of_range(fmt::format("offset {} is below the log start offset {}", from, l->log_start_offset()));
  }
  std::vector<uint8_t> buffer;
  Offset offset = from;
  size_t total = 0;
  bool first = true;
  while (offset < end && total < max_bytes) {
    auto range = l->read(offset, std::min(kReadChunk, max_bytes - total), true, end);
    if (!range) throw std::runtime_error("metadata log read failed: " + range.error().message);
    if (range->size == 0) break;
    buffer.resize(range->size);
    size_t got = range->file->pread_some(buffer, range->position);
    if (got != range->size) throw std::runtime_error("metadata log read came up short");
    auto split = protocol::split_batches(buffer, /*require_complete=*/true);
    for (const auto& batch : split.batches) {
      if (first && batch.header.base_offset != from)
        throw std::logic_error(fmt::format("read at {}: not a batch boundary", from));
      first = false;
      if (batch.header.last_offset() >= end) return;
      if (!on_batch(batch)) return;
      offset = batch.header.next_offset();
    }
    total += range->size;
  }
}

std::vector<Entry> DiskReplicatedLog::read(Offset from, size_t max_entries) const {
  std::vector<Entry> out;
  if (max_entries == 0 || from >= end_offset()) return out;
  for_each_batch(from, end_offset(), SIZE_MAX, [&](const protocol::BatchView& batch) {
    out.push_back(entry_of(batch));
    return out.size() < max_entries;
  });
  return out;
}

std::vector<CommittedBatch> DiskReplicatedLog::read_batches(Offset from, Offset end, size_t max_bytes) const {
  std::vector<CommittedBatch> out;
  if (from >= end) return out;
  size_t bytes = 0;
  for_each_batch(from, end, SIZE_MAX, [&](const protocol::BatchView& batch) {
    CommittedBatch c;
    c.base_offset = batch.header.base_offset;
    c.last_offset = batch.header.last_offset();
    c.epoch = batch.header.partition_leader_epoch;
    c.append_time_ms = batch.header.max_timestamp;
    c.control = batch.header.is_control();
    if (!c.control) {
      for (auto& r : protocol::decode_records(batch))
        c.records.emplace_back(r.value ? std::string(r.value->begin(), r.value->end()) : std::string());
    }
    out.push_back(std::move(c));
    bytes += batch.bytes.size();
    return bytes < max_bytes;
  });
  return out;
}

OffsetAndEpoch DiskReplicatedLog::end_offset_for_epoch(Epoch epoch) const {
  auto l = log();
  const Offset leo = l->log_end_offset();
  auto entries = l->leader_epoch_cache().entries();
  // Entries at or past the end describe nothing (the log is empty there).
  while (!entries.empty() && entries.back().start_offset >= leo) entries.pop_back();
  // Epochs only grow along the log: those <= `epoch` form a prefix.
  auto it = std::upper_bound(entries.begin(), entries.end(), epoch,
                             [](Epoch e, const log::EpochEntry& x) { return e < x.epoch; });
  if (it != entries.begin()) {
    const auto& found = *std::prev(it);
    return {it == entries.end() ? leo : it->start_offset, found.epoch};
  }
  // No remaining entry answers: the snapshot the log starts after does ({0,
  // 0} when the log starts at 0), as MemoryLog.
  if (l->log_start_offset() > 0) return {l->log_start_offset(), base_epoch_};
  return {0, 0};
}

std::optional<OffsetAndEpoch> DiskReplicatedLog::latest_snapshot() const {
  std::lock_guard lock(mu_);
  if (snapshots_.empty()) return std::nullopt;
  return *snapshots_.rbegin();
}

std::string DiskReplicatedLog::snapshot_path(OffsetAndEpoch id) const {
  return fmt::format("{}/{:020}-{:010}{}", dir_, id.offset, id.epoch, kSnapshotSuffix);
}

std::optional<std::string> DiskReplicatedLog::read_snapshot(OffsetAndEpoch id) const {
  {
    std::lock_guard lock(mu_);
    if (!snapshots_.count(id)) return std::nullopt;
  }
  try {
    auto bytes = util::read_file(snapshot_path(id));
    return std::string(bytes.begin(), bytes.end());
  } catch (const std::system_error&) {
    return std::nullopt;  // trimmed away meanwhile
  }
}

void DiskReplicatedLog::store_snapshot(OffsetAndEpoch id, std::string content) {
  util::write_file_atomically(snapshot_path(id), std::string_view(content));
  std::lock_guard lock(mu_);
  snapshots_.insert(id);
}

void DiskReplicatedLog::trim_to_snapshot() {
  auto latest = latest_snapshot();
  if (!latest) return;
  auto l = log();
  if (latest->offset > l->log_end_offset()) return reset_to_snapshot(*latest);
  if (latest->offset > l->log_start_offset()) {
    l->set_high_watermark(l->log_end_offset());  // delete_records_before stays below it
    auto result = l->delete_records_before(latest->offset);
    if (!result) throw std::runtime_error("metadata log trim failed: " + result.error().message);
  }
  if (l->log_start_offset() == latest->offset) base_epoch_ = latest->epoch;
  // Snapshots below the log start can no longer be combined with the log.
  std::vector<OffsetAndEpoch> older;
  {
    std::lock_guard lock(mu_);
    for (const auto& s : snapshots_)
      if (s.offset < latest->offset) older.push_back(s);
    for (const auto& s : older) snapshots_.erase(s);
  }
  auto& env = util::Env::for_path(dir_);
  for (const auto& s : older) env.remove_file(snapshot_path(s));
}

void DiskReplicatedLog::remove_log_files() {
  auto& env = util::Env::for_path(dir_);
  std::vector<std::string> names;
  for (const auto& entry : env.list_dir(dir_))
    if (!entry.is_directory && is_log_file(entry.name)) names.push_back(entry.name);
  // Newest first: a crash midway leaves a prefix of the log, never a gap.
  std::sort(names.rbegin(), names.rend());
  for (const auto& name : names) env.remove_file(dir_ + "/" + name);
  env.remove_file(dir_ + "/" + kEpochCheckpoint);
  env.sync_dir(dir_);
}

void DiskReplicatedLog::reset_to_snapshot(OffsetAndEpoch id) {
  {
    std::lock_guard lock(mu_);
    if (!snapshots_.count(id)) throw std::logic_error("reset_to_snapshot: unknown snapshot");
  }
  std::unique_lock swapping(swap_mu_);
  close();
  remove_log_files();
  open_log(id.offset);
  swapping.unlock();
  base_epoch_ = id.epoch;
  trim_to_snapshot();  // older snapshots go
  logger()->info("Reset {} to snapshot {}", dir_, snapshot_path(id));
}

void DiskReplicatedLog::close() {
  std::shared_ptr<log::Log> l;
  {
    std::lock_guard lock(mu_);
    l = std::move(log_);
  }
  if (l) l->close();
}

}  // namespace samsa::raft
