#pragma once
// The aborted-transaction index of one segment, Kafka's TransactionIndex:
// "<20-digit base offset>.txnindex" beside the segment's .log, written when
// an ABORT marker lands in that segment, so a read_committed fetch can tell
// its consumer which producers' records in the range it reads to drop.
//
//   entries back to back, 34 bytes each, big-endian, no header:
//     int16 version              = 0
//     int64 producer_id
//     int64 first_offset         the aborted transaction's first offset
//     int64 last_offset          its ABORT marker's offset
//     int64 last_stable_offset   the log's last stable offset once the
//                                marker was written (no older transaction
//                                open below it): a fetch up to here needs
//                                no later segment's index
//
// Entries are in marker order (last_offset increasing). The file appears at
// the first entry; most segments never have one. It is truncated with the
// log, deleted with its segment, and rebuilt by recovery.
//
// Threads: appends, truncation and deletion come from the Log's append lock
// (one writer); lookups from any reader. A small mutex guards the entries,
// which are read from the file on first use and then kept in memory.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace samsa::log {

inline constexpr const char* kTxnIndexSuffix = ".txnindex";

struct AbortedTxn {
  int64_t producer_id = -1;
  int64_t first_offset = -1;
  int64_t last_offset = -1;
  int64_t last_stable_offset = -1;
  bool operator==(const AbortedTxn&) const = default;
};

class TxnIndex {
 public:
  static constexpr size_t kEntrySize = 34;
  static constexpr int16_t kVersion = 0;

  explicit TxnIndex(std::string path) : path_(std::move(path)) {}

  std::string path() const;
  // Appends unless an entry with this or a later last offset is already
  // there (a replay after recovery meets markers indexed before). Throws
  // std::system_error on I/O errors.
  void append(const AbortedTxn& txn);
  // The entries whose transaction overlaps [fetch_offset, upper_bound):
  // last_offset >= fetch_offset and first_offset < upper_bound. `complete`
  // is set when an entry's last stable offset reaches upper_bound: no later
  // segment can hold another one for this range.
  std::vector<AbortedTxn> collect(int64_t fetch_offset, int64_t upper_bound, bool& complete) const;
  std::vector<AbortedTxn> entries() const;
  // Drops the entries whose marker is at or after `offset`.
  void truncate_to(int64_t offset);
  // Drops every entry and the file (recovery rebuilds it).
  void reset();
  void flush();
  // Segment deletion: renamed beside (readers keep the entries in memory),
  // then removed.
  void rename_to(const std::string& path);
  void remove_file();

  static std::vector<uint8_t> encode(const AbortedTxn& txn);
  // nullopt for an unknown version.
  static std::optional<AbortedTxn> decode(const uint8_t* bytes);

 private:
  void load_locked() const;
  void rewrite_locked();

  mutable std::mutex mu_;
  std::string path_;
  mutable bool loaded_ = false;
  mutable std::vector<AbortedTxn> entries_;
  bool dirty_ = false;  // appended since the last flush
};

}  // namespace samsa::log
