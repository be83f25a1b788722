// Compaction (log_cleaner.h): what a pass keeps and drops, offsets and
// indexes afterwards, codecs, control and producer batches, the crash
// states of the swap, and the cleaner checkpoint.
#include "samsa/log/log_cleaner.h"

#include <filesystem>
#include <chrono>
#include <map>
#include <thread>

#include "log_test_util.h"
#include "samsa/log/log_manager.h"
#include "samsa/protocol/compression.h"

namespace samsa::log {
namespace {

using test::LogFixture;
namespace fs = std::filesystem;
using protocol::CompressionType;

struct Rec {
  int64_t offset;
  std::optional<std::string> key;
  std::optional<std::string> value;
  bool operator==(const Rec&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Rec& r) {
  return os << r.offset << ":" << r.key.value_or("<null>") << "=" << r.value.value_or("<null>");
}

std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

struct CleanerTest : LogFixture {
  CleanerTest() {
    config.cleanup_policy = "compact";
    config.delete_retention_ms = 1000;
  }

  // One batch of (key, value) records (nullopt value: tombstone).
  std::vector<uint8_t> batch(const std::vector<std::pair<std::string, std::optional<std::string>>>& kvs,
                             CompressionType codec = CompressionType::kNone, protocol::RecordBatchOptions o = {}) {
    protocol::RecordBatchBuilder b(o);
    for (const auto& [k, v] : kvs) {
      auto kb = bytes_of(k);
      std::optional<std::vector<uint8_t>> vb;
      if (v) vb = bytes_of(*v);
      std::optional<std::span<const uint8_t>> vs;
      if (vb) vs = std::span<const uint8_t>(*vb);
      b.append(clock->now_ms(), std::span<const uint8_t>(kb), vs);
    }
    return protocol::build_compressed_batch(b, codec);
  }
  int64_t put(Log& log, const std::vector<std::pair<std::string, std::optional<std::string>>>& kvs,
              CompressionType codec = CompressionType::kNone) {
    auto b = batch(kvs, codec);
    auto r = log.append_as_leader(b, 0);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r->first_offset : -1;
  }
  // Rolls and makes everything below the new active segment cleanable.
  void seal(Log& log) {
    log.roll();
    log.set_high_watermark(log.log_end_offset());
    log.flush();
  }
  CleanStats clean(Log& log, std::optional<int64_t> checkpoint = std::nullopt) {
    Cleaner cleaner(CleanerConfig{}, clock);
    return cleaner.clean(log, checkpoint);
  }
  // Every batch header from the log start, following the segments.
  std::vector<protocol::RecordBatchHeader> batches(const Log& log) {
    std::vector<protocol::RecordBatchHeader> out;
    int64_t offset = log.log_start_offset();
    while (offset < log.log_end_offset()) {
      auto r = log.read(offset, 1 << 30, true, log.log_end_offset());
      EXPECT_TRUE(r.ok());
      if (!r.ok() || r->size == 0) break;
      for (const auto& h : test::headers_of(test::read_range(r.value()))) {
        out.push_back(h);
        offset = h.next_offset();
      }
    }
    return out;
  }
  // Every record from the log start, following the segments.
  std::vector<Rec> records(const Log& log) {
    std::vector<Rec> out;
    int64_t offset = log.log_start_offset();
    while (offset < log.log_end_offset()) {
      auto r = log.read(offset, 1 << 20, true, log.log_end_offset());
      EXPECT_TRUE(r.ok());
      if (!r.ok() || r->size == 0) break;
      auto bytes = test::read_range(r.value());
      for (const auto& b : protocol::split_batches(bytes, true).batches) {
        EXPECT_TRUE(protocol::verify_crc(b.bytes));
        for (const auto& rec : protocol::decode_batch_records(b, 1 << 26)) {
          Rec x{b.header.base_offset + rec.offset_delta, std::nullopt, std::nullopt};
          if (rec.key) x.key = std::string(rec.key->begin(), rec.key->end());
          if (rec.value) x.value = std::string(rec.value->begin(), rec.value->end());
          out.push_back(x);
        }
        offset = b.header.next_offset();
      }
    }
    return out;
  }
};

// Latest record per key (tombstones included), in offset order.
std::vector<Rec> latest_per_key(const std::vector<Rec>& all) {
  std::map<std::string, Rec> latest;
  std::vector<Rec> keyless;
  for (const auto& r : all) {
    if (r.key) latest[*r.key] = r;
    else keyless.push_back(r);
  }
  std::vector<Rec> out = keyless;
  for (const auto& [k, r] : latest) out.push_back(r);
  std::sort(out.begin(), out.end(), [](const Rec& a, const Rec& b) { return a.offset < b.offset; });
  return out;
}

TEST_F(CleanerTest, KeepsOnlyTheLatestValuePerKeyWithItsOffset) {
  auto log = open_log();
  for (int i = 0; i < 200; ++i) put(*log, {{"key-" + std::to_string(i % 5), "value-" + std::to_string(i)}});
  const auto before = records(*log);
  ASSERT_EQ(before.size(), 200u);
  seal(*log);
  const size_t segments_before = log->segment_base_offsets().size();
  ASSERT_GT(segments_before, 3u);

  auto stats = clean(*log);
  ASSERT_TRUE(stats.cleaned);
  EXPECT_EQ(stats.end_offset, 200);
  EXPECT_EQ(stats.records_removed, 195u);
  const auto after = records(*log);
  EXPECT_EQ(after, latest_per_key(before));
  ASSERT_EQ(after.size(), 5u);
  EXPECT_EQ(after.back().offset, 199);
  EXPECT_EQ(*after.back().value, "value-199");
  EXPECT_EQ(log->log_end_offset(), 200);
  EXPECT_EQ(log->log_start_offset(), 0);
  EXPECT_LE(log->segment_base_offsets().size(), segments_before);
  EXPECT_LT(log->size_in_bytes(), 1000u);

  // Offset lookups land on the batch holding each kept record, or on the
  // next kept one for a removed offset.
  for (const auto& r : after) {
    auto range = log->read(r.offset, 1, true, log->log_end_offset());
    ASSERT_TRUE(range.ok());
    auto hs = test::headers_of(test::read_range(range.value()));
    ASSERT_FALSE(hs.empty());
    EXPECT_LE(hs[0].base_offset, r.offset);
    EXPECT_GE(hs[0].last_offset(), r.offset);
  }
  auto range = log->read(3, 1, true, log->log_end_offset());
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(test::headers_of(test::read_range(range.value()))[0].base_offset, after[0].offset);

  // Files on disk agree: reopening trusts (and checks) the cleaned indexes.
  log->close();
  log = open_log();
  EXPECT_EQ(records(*log), after);
  EXPECT_EQ(log->log_end_offset(), 200);
  // A second pass has nothing dirty left.
  EXPECT_FALSE(clean(*log, 200).cleaned);
}

TEST_F(CleanerTest, TimeLookupsInCleanedSegments) {
  auto log = open_log();
  std::vector<int64_t> ts;
  for (int i = 0; i < 100; ++i) {
    clock->advance(10);
    put(*log, {{"k" + std::to_string(i % 3), std::string(40, 'x')}});
  }
  seal(*log);
  ASSERT_TRUE(clean(*log).cleaned);
  const auto after = records(*log);
  ASSERT_EQ(after.size(), 3u);
  // Timestamp of record i is start + 10 * (i + 1).
  const int64_t start = clock->now_ms() - 1000;
  for (const auto& r : after) {
    auto found = log->offset_for_timestamp(start + 10 * (r.offset + 1));
    ASSERT_TRUE(found);
    EXPECT_EQ(found->offset, r.offset);
  }
  // A removed record's time finds the next kept record.
  auto found = log->offset_for_timestamp(start + 10);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->offset, after[0].offset);
  EXPECT_FALSE(log->offset_for_timestamp(clock->now_ms() + 1));
}

TEST_F(CleanerTest, TombstonesStayUntilDeleteRetentionThenGo) {
  auto log = open_log();
  put(*log, {{"a", "1"}, {"b", "1"}});
  put(*log, {{"a", std::nullopt}});  // offset 2
  put(*log, {{"c", "1"}});
  seal(*log);
  auto s1 = clean(*log);
  ASSERT_TRUE(s1.cleaned);
  // First pass: the tombstone was dirty, it is kept (and "a"=1 is gone).
  EXPECT_EQ(records(*log), (std::vector<Rec>{{1, "b", "1"}, {2, "a", std::nullopt}, {3, "c", "1"}}));

  put(*log, {{"d", "1"}});
  seal(*log);
  clock->advance(500);  // younger than delete.retention.ms
  ASSERT_TRUE(clean(*log, s1.end_offset).cleaned);
  EXPECT_EQ(records(*log).size(), 4u);

  put(*log, {{"e", "1"}});
  clock->advance(1000);
  seal(*log);
  auto s3 = clean(*log, log->log_end_offset() - 1);
  ASSERT_TRUE(s3.cleaned);
  EXPECT_EQ(s3.tombstones_removed, 1u);
  EXPECT_EQ(records(*log), (std::vector<Rec>{{1, "b", "1"}, {3, "c", "1"}, {4, "d", "1"}, {5, "e", "1"}}));
}

TEST_F(CleanerTest, ActiveSegmentIsNeverTouched) {
  auto log = open_log();
  for (int i = 0; i < 60; ++i) put(*log, {{"k", std::to_string(i)}});
  seal(*log);
  for (int i = 60; i < 65; ++i) put(*log, {{"k", std::to_string(i)}});
  log->set_high_watermark(log->log_end_offset());
  log->flush();
  const int64_t active = log->segment_base_offsets().back();
  const uint64_t active_size = fs::file_size(segment_path(active, kLogSuffix));
  ASSERT_TRUE(clean(*log).cleaned);
  EXPECT_EQ(fs::file_size(segment_path(active, kLogSuffix)), active_size);
  auto after = records(*log);
  // The last value below the active segment is superseded by the ones in it,
  // but only the map's section (below the active segment) is known.
  ASSERT_EQ(after.size(), 6u);
  EXPECT_EQ(after[0].offset, 59);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(after[1 + i].offset, 60 + i);
}

TEST_F(CleanerTest, CompressedBatchesKeepTheirCodec) {
  auto log = open_log();
  const std::vector<CompressionType> codecs = {CompressionType::kGzip, CompressionType::kSnappy,
                                               CompressionType::kLz4, CompressionType::kZstd};
  for (int i = 0; i < 40; ++i) {
    std::vector<std::pair<std::string, std::optional<std::string>>> kvs;
    for (int j = 0; j < 4; ++j) kvs.push_back({"k" + std::to_string((i + j) % 7), std::to_string(i * 4 + j)});
    put(*log, kvs, codecs[i % 4]);
  }
  const auto before = records(*log);
  std::map<int64_t, CompressionType> codec_of;  // base offset -> codec
  for (const auto& h : batches(*log)) codec_of[h.base_offset] = h.compression();
  seal(*log);
  ASSERT_TRUE(clean(*log).cleaned);
  EXPECT_EQ(records(*log), latest_per_key(before));
  auto hs = batches(*log);
  ASSERT_FALSE(hs.empty());
  for (const auto& h : hs) {
    ASSERT_TRUE(codec_of.contains(h.base_offset));
    EXPECT_EQ(h.compression(), codec_of[h.base_offset]);
    EXPECT_EQ(h.last_offset_delta, 3);  // kept although records went
  }
}

TEST_F(CleanerTest, ControlBatchesAndKeylessRecordsAreKept) {
  auto log = open_log();
  put(*log, {{"k", "1"}});
  // A control batch (transaction marker) replicated from a leader.
  protocol::RecordBatchOptions o;
  o.base_offset = 1;
  o.control = true;
  o.producer_id = 5;
  o.producer_epoch = 0;
  o.partition_leader_epoch = 0;
  auto marker = batch({{std::string("\0\0\0\1", 4), std::string("\0\0\0\0\0\0", 6)}}, CompressionType::kNone, o);
  ASSERT_TRUE(log->append_as_follower(marker).ok());
  // Keyless records: leaders refuse them in a compacted topic, but they are
  // there when the topic was compacted after they were written (replicated
  // here from such a log).
  protocol::RecordBatchOptions k;
  k.base_offset = 2;
  k.partition_leader_epoch = 0;
  auto keyless = test::make_batch(2, clock->now_ms(), 10, k);
  ASSERT_TRUE(log->append_as_follower(keyless).ok());  // offsets 2, 3
  put(*log, {{"k", "2"}});
  seal(*log);
  ASSERT_TRUE(clean(*log).cleaned);
  auto hs = batches(*log);
  ASSERT_EQ(hs.size(), 3u);
  EXPECT_TRUE(hs[0].is_control());
  EXPECT_EQ(hs[0].base_offset, 1);
  EXPECT_EQ(hs[1].base_offset, 2);
  EXPECT_EQ(hs[1].records_count, 2);
  EXPECT_EQ(hs[2].base_offset, 4);
}

TEST_F(CleanerTest, IdempotentProducersLastBatchStillDeduplicatedAfterCleaning) {
  auto log = open_log();
  protocol::RecordBatchOptions o;
  o.producer_id = 7;
  o.producer_epoch = 0;
  o.base_sequence = 0;
  auto first = batch({{"k", "1"}, {"j", "1"}}, CompressionType::kNone, o);  // offsets 0-1
  ASSERT_TRUE(log->append_as_leader(first, 0).ok());
  o.base_sequence = 2;
  auto last = batch({{"k", "2"}, {"j", "2"}}, CompressionType::kNone, o);  // offsets 2-3
  ASSERT_TRUE(log->append_as_leader(last, 0).ok());
  put(*log, {{"k", "3"}, {"j", "3"}});  // supersedes both producer batches
  seal(*log);
  ASSERT_TRUE(clean(*log).cleaned);
  auto hs = batches(*log);
  // The producer's batches stay as empty batches with their header.
  ASSERT_EQ(hs.size(), 3u);
  EXPECT_EQ(hs[1].base_offset, 2);
  EXPECT_EQ(hs[1].records_count, 0);
  EXPECT_EQ(hs[1].last_offset_delta, 1);
  EXPECT_EQ(hs[1].producer_id, 7);
  EXPECT_EQ(hs[1].base_sequence, 2);
  EXPECT_EQ(records(*log), (std::vector<Rec>{{4, "k", "3"}, {5, "j", "3"}}));

  // Rebuilt from the log alone (no snapshot, unclean start): still a retry.
  log->close();
  for (const auto& e : fs::directory_iterator(log_dir()))
    if (e.path().extension() == ".snapshot") fs::remove(e.path());
  log = open_log(/*clean=*/false);
  protocol::set_base_offset(last, 0);  // as the client resends it
  auto dup = log->append_as_leader(last, 0);
  ASSERT_TRUE(dup.ok()) << dup.error().message;
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->first_offset, 2);
  EXPECT_EQ(dup->last_offset, 3);
  o.base_sequence = 4;
  auto next = batch({{"k", "4"}}, CompressionType::kNone, o);
  auto r = log->append_as_leader(next, 0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->duplicate);
}

TEST_F(CleanerTest, InterruptedSwapIsCompletedAndCleanedLeftoversRemoved) {
  auto log = open_log();
  for (int i = 0; i < 150; ++i) put(*log, {{"key-" + std::to_string(i % 4), "v" + std::to_string(i)}});
  seal(*log);
  log->close();
  log.reset();
  const std::string original = tmp / "original";
  fs::copy(log_dir(), original);

  log = open_log();
  log->flush();  // the recovery point the checkpoint file would give
  ASSERT_TRUE(clean(*log).cleaned);
  const auto expected = records(*log);
  const auto cleaned_bases = log->segment_base_offsets();
  log->close();
  log.reset();

  // The crash: the cleaned .log files are .swap files next to the old
  // segments, plus an unfinished .cleaned output.
  const std::string cleaned_dir = tmp / "cleaned";
  fs::rename(log_dir(), cleaned_dir);
  fs::rename(original, log_dir());
  const int64_t active = cleaned_bases.back();
  for (int64_t base : cleaned_bases) {
    if (base == active) continue;
    fs::copy_file(cleaned_dir + "/" + offset_file_stem(base) + ".log", segment_path(base, ".log.swap"));
  }
  fs::copy_file(segment_path(0, ".log"), segment_path(0, ".log.cleaned"));
  fs::copy_file(segment_path(0, ".index"), segment_path(0, ".index.cleaned"));

  log = open_log(/*clean=*/false);
  EXPECT_EQ(records(*log), expected);
  EXPECT_EQ(log->segment_base_offsets(), cleaned_bases);
  EXPECT_EQ(log->log_end_offset(), 150);
  for (const auto& e : fs::directory_iterator(log_dir())) {
    const std::string name = e.path().filename().string();
    EXPECT_EQ(name.find(".swap"), std::string::npos) << name;
    EXPECT_EQ(name.find(".cleaned"), std::string::npos) << name;
  }
  // The rebuilt indexes work.
  auto range = log->read(expected.back().offset, 1, true, log->log_end_offset());
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(test::headers_of(test::read_range(range.value()))[0].last_offset(), expected.back().offset);
}

TEST_F(CleanerTest, CheckpointIsPersistedAndUsed) {
  LogManagerConfig mc;
  mc.log_dirs = {tmp / "dir"};
  mc.default_config = config;
  mc.cleaner.enable = false;  // rounds are driven by hand
  auto manager = std::make_unique<LogManager>(mc, clock);
  manager->startup();
  auto log = manager->get_or_create("t", 0, protocol::Uuid::random(), config).value();
  for (int i = 0; i < 100; ++i) put(*log, {{"k" + std::to_string(i % 3), std::to_string(i)}});
  seal(*log);
  auto stats = manager->cleaner()->clean_dirtiest();
  ASSERT_TRUE(stats && stats->cleaned);
  EXPECT_EQ(stats->end_offset, 100);
  EXPECT_EQ(test::read_all(tmp / "dir/cleaner-offset-checkpoint"), "0\n1\nt 0 100\n");
  EXPECT_FALSE(manager->cleaner()->clean_dirtiest());  // nothing dirty
  manager->shutdown();

  manager = std::make_unique<LogManager>(mc, clock);
  manager->startup();
  EXPECT_EQ(manager->cleaner()->checkpoint_of({"t", 0}), 100);
  log = manager->get("t", 0);
  log->set_high_watermark(log->log_end_offset());
  EXPECT_FALSE(manager->cleaner()->clean_dirtiest());
  for (int i = 0; i < 100; ++i) put(*log, {{"k" + std::to_string(i % 3), "new" + std::to_string(i)}});
  seal(*log);
  stats = manager->cleaner()->clean_dirtiest();
  ASSERT_TRUE(stats && stats->cleaned);
  EXPECT_EQ(stats->first_dirty_offset, 100);
  EXPECT_EQ(stats->end_offset, 200);
  auto after = records(*log);
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[0].offset, 197);
  // Removing the partition forgets its checkpoint.
  ASSERT_TRUE(manager->remove("t", 0));
  EXPECT_EQ(test::read_all(tmp / "dir/cleaner-offset-checkpoint"), "0\n0\n");
  manager->shutdown();
}

TEST_F(CleanerTest, DeletePolicyLogsAreNotPickedAndRatioIsRespected) {
  LogManagerConfig mc;
  mc.log_dirs = {tmp / "dir"};
  mc.default_config = config;
  mc.cleaner.enable = false;
  LogManager manager(mc, clock);
  manager.startup();
  LogConfig del = config;
  del.cleanup_policy = "delete";
  auto plain = manager.get_or_create("plain", 0, protocol::Uuid::random(), del).value();
  for (int i = 0; i < 100; ++i) put(*plain, {{"k", std::to_string(i)}});
  seal(*plain);
  EXPECT_FALSE(manager.cleaner()->clean_dirtiest());
  LogConfig strict = config;
  strict.min_cleanable_dirty_ratio = 1.0;  // the active segment never counts, so < 1 after a first pass
  auto compacted = manager.get_or_create("c", 0, protocol::Uuid::random(), strict).value();
  for (int i = 0; i < 100; ++i) put(*compacted, {{"k", std::to_string(i)}});
  seal(*compacted);
  auto stats = manager.cleaner()->clean_dirtiest();  // never cleaned: everything dirty
  ASSERT_TRUE(stats && stats->cleaned);
  for (int i = 0; i < 10; ++i) put(*compacted, {{"k", std::to_string(i)}});
  seal(*compacted);
  EXPECT_FALSE(manager.cleaner()->clean_dirtiest());  // ratio < 1.0
  EXPECT_EQ(plain->segment_base_offsets().size(), 3u);  // untouched
  manager.shutdown();
}

TEST_F(CleanerTest, ReconfigureStartsTheThreadWithNewSettings) {
  LogManagerConfig mc;
  mc.log_dirs = {tmp / "dir"};
  mc.default_config = config;
  mc.cleaner.enable = false;  // log.cleaner.threads=0 in server.properties
  LogManager manager(mc, clock);
  manager.startup();
  auto log = manager.get_or_create("t", 0, protocol::Uuid::random(), config).value();
  for (int i = 0; i < 100; ++i) put(*log, {{"k" + std::to_string(i % 3), std::to_string(i)}});
  seal(*log);
  EXPECT_EQ(manager.cleaner()->checkpoint_of({"t", 0}), std::nullopt);

  CleanerConfig next{.enable = true, .backoff_ms = 10, .dedupe_buffer_size = 4 * 1024 * 1024};
  manager.cleaner()->reconfigure(next);  // a dynamic log.cleaner.threads=1
  EXPECT_EQ(manager.cleaner()->config().dedupe_buffer_size, 4 * 1024 * 1024);
  for (int i = 0; i < 500 && manager.cleaner()->checkpoint_of({"t", 0}) != 100; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(manager.cleaner()->checkpoint_of({"t", 0}), 100) << "the restarted thread cleaned the log";
  EXPECT_EQ(records(*log).size(), 3u);
  next.backoff_ms = 20;
  manager.cleaner()->reconfigure(next);  // restarts again without losing state
  EXPECT_EQ(manager.cleaner()->checkpoint_of({"t", 0}), 100);
  manager.shutdown();
  manager.cleaner()->reconfigure(next);  // after shutdown: settings only, no thread
  EXPECT_EQ(manager.cleaner()->config().backoff_ms, 20);
}

TEST_F(CleanerTest, ConcurrentAppendsAndReadsDuringCleaning) {
  auto log = open_log();
  for (int i = 0; i < 300; ++i) put(*log, {{"key-" + std::to_string(i % 10), std::to_string(i)}});
  seal(*log);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    int i = 0;
    while (!done) {
      put(*log, {{"w-" + std::to_string(i % 10), std::to_string(i)}});
      log->set_high_watermark(log->log_end_offset());
      auto r = log->read(0, 1 << 16, true, log->log_end_offset());
      EXPECT_TRUE(r.ok());
      ++i;
    }
  });
  for (int round = 0; round < 3; ++round) {
    auto stats = clean(*log, round == 0 ? std::nullopt : std::optional<int64_t>(0));
    EXPECT_FALSE(stats.aborted);
  }
  done = true;
  writer.join();
  // Every key's latest value is still there.
  auto all = records(*log);
  std::map<std::string, int64_t> last;
  for (const auto& r : all) last[*r.key] = std::stoll(*r.value);
  for (int k = 0; k < 10; ++k) EXPECT_EQ(last["key-" + std::to_string(k)], 290 + k);
}

}  // namespace
}  // namespace samsa::log
