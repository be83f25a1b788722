// Compaction of transactional data (cleaner_txns.h): aborted records are
// dropped and never shadow older values, committed ones are compacted like
// any others, markers stay while data of their transaction is left (an
// ABORT marker with its .txnindex entry) and go after delete.retention.ms,
// and nothing at or past the last stable offset is cleaned.
#include <filesystem>

#include "log_test_util.h"
#include "samsa/log/log_cleaner.h"
#include "samsa/protocol/compression.h"
#include "samsa/protocol/control_records.h"

namespace samsa::log {
namespace {

using test::LogFixture;
namespace fs = std::filesystem;

struct KV {
  int64_t offset;
  std::string key, value;
  bool operator==(const KV&) const = default;
};
std::ostream& operator<<(std::ostream& os, const KV& r) { return os << r.offset << ":" << r.key << "=" << r.value; }

struct CleanerTxnTest : LogFixture {
  CleanerTxnTest() {
    config.cleanup_policy = "compact";
    config.delete_retention_ms = 1000;
    config.producer_id_expiration_ms = 10000;
  }
  std::vector<uint8_t> kv_batch(const std::vector<std::pair<std::string, std::string>>& kvs,
                                protocol::RecordBatchOptions o = {}) {
    protocol::RecordBatchBuilder b(o);
    for (const auto& [k, v] : kvs)
      b.append(clock->now_ms(), std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(k.data()), k.size()),
               std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
    return b.build();
  }
  void put(Log& log, const std::vector<std::pair<std::string, std::string>>& kvs) {
    auto b = kv_batch(kvs);
    ASSERT_TRUE(log.append_as_leader(b, 0).ok());
  }
  void txn_put(Log& log, int64_t pid, int32_t seq, const std::vector<std::pair<std::string, std::string>>& kvs) {
    protocol::RecordBatchOptions o;
    o.producer_id = pid;
    o.producer_epoch = 0;
    o.base_sequence = seq;
    o.transactional = true;
    auto b = kv_batch(kvs, o);
    auto r = log.append_as_leader(b, 0);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  void end_txn(Log& log, int64_t pid, bool commit) {
    auto b = protocol::build_end_txn_marker(pid, 0, {commit, 0}, clock->now_ms());
    ASSERT_TRUE(log.append_as_leader(b, 0, AppendOrigin::kCoordinator).ok());
  }
  void seal(Log& log) {
    log.roll();
    log.set_high_watermark(log.log_end_offset());
    log.flush();
  }
  CleanStats clean(Log& log) { return Cleaner(CleanerConfig{}, clock).clean(log, std::nullopt); }
  // Data records and the offsets of markers, from the log start.
  std::vector<KV> data(const Log& log, std::vector<int64_t>* markers = nullptr) {
    std::vector<KV> out;
    int64_t offset = log.log_start_offset();
    while (offset < log.log_end_offset()) {
      auto rr = log.read(offset, 1 << 20, true, log.log_end_offset());
      if (!rr.ok() || rr->size == 0) break;
      auto bytes = test::read_range(rr.value());
      for (const auto& b : protocol::split_batches(bytes, true).batches) {
        offset = b.header.next_offset();
        if (b.header.is_control()) {
          if (markers) markers->push_back(b.header.base_offset);
          continue;
        }
        for (const auto& rec : protocol::decode_batch_records(b, 1 << 26))
          out.push_back({b.header.base_offset + rec.offset_delta, std::string(rec.key->begin(), rec.key->end()),
                         std::string(rec.value->begin(), rec.value->end())});
      }
    }
    return out;
  }
};

TEST_F(CleanerTxnTest, AbortedDataGoesCommittedDataIsCompactedMarkersGoLast) {
  auto log = open_log();
  put(*log, {{"k1", "a"}});                          // 0
  txn_put(*log, 7, 0, {{"k1", "x"}, {"k2", "y"}});   // 1-2, aborted
  end_txn(*log, 7, false);                           // 3
  txn_put(*log, 8, 0, {{"k2", "z"}, {"k3", "old"}}); // 4-5, committed
  end_txn(*log, 8, true);                            // 6
  put(*log, {{"k3", "c"}});                          // 7
  seal(*log);
  ASSERT_EQ(log->collect_aborted_transactions(0, 8).size(), 1u);

  ASSERT_TRUE(clean(*log).cleaned);
  std::vector<int64_t> markers;
  // k1=x (aborted) neither survives nor shadows k1=a; k3=old is compacted away.
  EXPECT_EQ(data(*log, &markers), (std::vector<KV>{{0, "k1", "a"}, {4, "k2", "z"}, {7, "k3", "c"}}));
  EXPECT_EQ(markers, (std::vector<int64_t>{3, 6}));  // their transactions' data was still there
  auto aborted = log->collect_aborted_transactions(0, 8);
  ASSERT_EQ(aborted.size(), 1u);
  EXPECT_EQ(aborted[0].producer_id, 7);
  EXPECT_EQ(aborted[0].last_offset, 3);

  // Once the producers expired (their last batches need not stay): the
  // aborted batch is gone; the clean after that finds its marker without
  // data and writes the delete horizon into it (KIP-534): consumers get
  // delete.retention.ms (1 s here) from then on to read it.
  clock->advance(20000);
  log->remove_expired_producers();
  ASSERT_TRUE(clean(*log).cleaned);
  ASSERT_TRUE(clean(*log).cleaned);
  markers.clear();
  data(*log, &markers);
  EXPECT_EQ(markers, (std::vector<int64_t>{3, 6}));
  {
    auto rr = log->read(3, 1 << 20, true, log->log_end_offset());
    ASSERT_TRUE(rr.ok());
    auto bytes = test::read_range(rr.value());
    auto batches = protocol::split_batches(bytes, true).batches;
    ASSERT_FALSE(batches.empty());
    const auto& h = batches[0].header;
    ASSERT_TRUE(h.is_control());
    EXPECT_TRUE(h.has_delete_horizon());
    EXPECT_EQ(h.base_timestamp, clock->now_ms() + 1000);
    EXPECT_TRUE(protocol::verify_crc(batches[0].bytes));
    // The marker record keeps its own timestamp.
    auto recs = protocol::decode_batch_records(batches[0], 1 << 20);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(h.base_timestamp + recs[0].timestamp_delta, clock->now_ms() - 20000);
  }
  clock->advance(999);
  ASSERT_TRUE(clean(*log).cleaned);
  markers.clear();
  data(*log, &markers);
  EXPECT_EQ(markers, (std::vector<int64_t>{3, 6}));  // not yet
  clock->advance(1);
  ASSERT_TRUE(clean(*log).cleaned);
  markers.clear();
  EXPECT_EQ(data(*log, &markers), (std::vector<KV>{{0, "k1", "a"}, {4, "k2", "z"}, {7, "k3", "c"}}));
  // The COMMIT marker stays while k2=z of its transaction is there.
  EXPECT_EQ(markers, (std::vector<int64_t>{6}));
  EXPECT_TRUE(log->collect_aborted_transactions(0, 8).empty());
}

TEST_F(CleanerTxnTest, OpenTransactionBoundsTheCleanableRange) {
  auto log = open_log();
  put(*log, {{"k", "1"}});
  txn_put(*log, 7, 0, {{"k", "2"}});  // 1, still open
  log->roll();
  put(*log, {{"k", "3"}});            // 2
  seal(*log);
  EXPECT_EQ(log->last_stable_offset(), 1);
  auto view = log->cleanable_segments();
  EXPECT_LE(view.first_uncleanable_offset, 1);
  clean(*log);
  EXPECT_EQ(data(*log).size(), 3u);  // nothing compacted past the open transaction
}

}  // namespace
}  // namespace samsa::log
