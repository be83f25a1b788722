// The .txnindex file of a segment (format in txn_index.h).
#include "samsa/log/txn_index.h"

#include <algorithm>

#include "samsa/log/file_handle.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"
#include "samsa/util/logging.h"

namespace samsa::log {
namespace {

auto index_logger() { return samsa::logger("samsa.log.TransactionIndex"); }

}  // namespace

std::vector<uint8_t> TxnIndex::encode(const AbortedTxn& txn) {
  protocol::WireWriter w;
  w.int16(kVersion);
  w.int64(txn.producer_id);
  w.int64(txn.first_offset);
  w.int64(txn.last_offset);
  w.int64(txn.last_stable_offset);
  return w.take();
}

std::optional<AbortedTxn> TxnIndex::decode(const uint8_t* bytes) {
  protocol::WireReader r(std::span<const uint8_t>(bytes, kEntrySize));
  if (r.int16() != kVersion) return std::nullopt;
  AbortedTxn t;
  t.producer_id = r.int64();
  t.first_offset = r.int64();
  t.last_offset = r.int64();
  t.last_stable_offset = r.int64();
  return t;
}

std::string TxnIndex::path() const {
  std::lock_guard lock(mu_);
  return path_;
}

void TxnIndex::load_locked() const {
  if (loaded_) return;
  loaded_ = true;
  entries_.clear();
  if (!file_exists(path_)) return;
  auto file = FileHandle::open(path_, /*create=*/false);
  std::vector<uint8_t> bytes(file->size());
  bytes.resize(file->pread_some(bytes, 0));
  for (size_t pos = 0; pos + kEntrySize <= bytes.size(); pos += kEntrySize) {
    auto t = decode(bytes.data() + pos);
    if (!t) {
      index_logger()->warn("Ignoring {} from byte {}: unknown entry version", path_, pos);
      break;
    }
    entries_.push_back(*t);
  }
}

void TxnIndex::append(const AbortedTxn& txn) {
  std::lock_guard lock(mu_);
  load_locked();
  if (!entries_.empty() && entries_.back().last_offset >= txn.last_offset) return;
  auto file = FileHandle::open(path_, /*create=*/true);
  file->pwrite_all(encode(txn), entries_.size() * kEntrySize);
  entries_.push_back(txn);
  dirty_ = true;
}

std::vector<AbortedTxn> TxnIndex::collect(int64_t fetch_offset, int64_t upper_bound, bool& complete) const {
  std::lock_guard lock(mu_);
  load_locked();
  std::vector<AbortedTxn> out;
  complete = false;
  for (const auto& t : entries_) {
    if (t.last_offset >= fetch_offset && t.first_offset < upper_bound) out.push_back(t);
    if (t.last_stable_offset >= upper_bound) {
      complete = true;
      break;
    }
  }
  return out;
}

std::vector<AbortedTxn> TxnIndex::entries() const {
  std::lock_guard lock(mu_);
  load_locked();
  return entries_;
}

void TxnIndex::rewrite_locked() {
  if (entries_.empty()) {
    remove_file_if_exists(path_);
    dirty_ = false;
    return;
  }
  auto file = FileHandle::open(path_, /*create=*/true);
  file->truncate(entries_.size() * kEntrySize);
  dirty_ = true;
}

void TxnIndex::truncate_to(int64_t offset) {
  std::lock_guard lock(mu_);
  load_locked();
  const size_t before = entries_.size();
  std::erase_if(entries_, [offset](const AbortedTxn& t) { return t.last_offset >= offset; });
  if (entries_.size() != before) rewrite_locked();
}

void TxnIndex::reset() {
  std::lock_guard lock(mu_);
  entries_.clear();
  loaded_ = true;
  remove_file_if_exists(path_);
  dirty_ = false;
}

void TxnIndex::flush() {
  std::lock_guard lock(mu_);
  if (!dirty_) return;
  if (file_exists(path_)) FileHandle::open(path_, /*create=*/false)->fsync();
  dirty_ = false;
}

void TxnIndex::rename_to(const std::string& path) {
  std::lock_guard lock(mu_);
  load_locked();  // readers that still hold the segment keep the entries
  if (file_exists(path_)) rename_file(path_, path);
  path_ = path;
}

void TxnIndex::remove_file() {
  std::lock_guard lock(mu_);
  remove_file_if_exists(path_);
}

}  // namespace samsa::log
