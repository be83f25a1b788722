// OffsetIndex / TimeIndex: lookups, preallocation and trimming, reopen,
// sanity checks.
#include <filesystem>

#include "log_test_util.h"
#include "samsa/log/offset_index.h"
#include "samsa/log/time_index.h"

namespace samsa::log {
namespace {

using test::TempDir;

TEST(OffsetIndexTest, LookupFindsLargestEntryAtOrBelowTarget) {
  TempDir tmp;
  OffsetIndex idx(tmp / "0.index", 100, 1000);
  EXPECT_EQ(idx.max_entries(), 125u);
  EXPECT_EQ(idx.lookup(150), (OffsetPosition{100, 0}));  // empty: base, 0
  for (int i = 1; i <= 10; ++i) idx.append(100 + i * 10, static_cast<uint32_t>(i * 1000));
  EXPECT_EQ(idx.lookup(99), (OffsetPosition{100, 0}));
  EXPECT_EQ(idx.lookup(109), (OffsetPosition{100, 0}));
  EXPECT_EQ(idx.lookup(110), (OffsetPosition{110, 1000}));
  EXPECT_EQ(idx.lookup(155), (OffsetPosition{150, 5000}));
  EXPECT_EQ(idx.lookup(1000), (OffsetPosition{200, 10000}));
  EXPECT_EQ(idx.lookup_by_position(4999), (OffsetPosition{140, 4000}));
  EXPECT_EQ(idx.lookup_by_position(5000), (OffsetPosition{150, 5000}));
  EXPECT_THROW(idx.append(200, 20000), std::logic_error);
  idx.truncate_to(150);
  EXPECT_EQ(idx.entries(), 4u);
  EXPECT_EQ(idx.last_entry()->offset, 140);
}

TEST(OffsetIndexTest, PreallocatedThenTrimmedAndReopened) {
  TempDir tmp;
  const std::string path = tmp / "0.index";
  {
    OffsetIndex idx(path, 0, 1001);  // rounded down to 125 entries
    idx.resize_to_max();
    EXPECT_EQ(std::filesystem::file_size(path), 1000u);
    idx.append(5, 100);
    idx.append(9, 300);
    idx.trim();
    EXPECT_EQ(std::filesystem::file_size(path), 16u);
    // Bytes are big-endian: relative offset then position.
    std::string raw = test::read_all(path);
    EXPECT_EQ(raw, std::string("\0\0\0\x05\0\0\0\x64\0\0\0\x09\0\0\x01\x2c", 16));
  }
  OffsetIndex again(path, 0, 1000);
  EXPECT_EQ(again.entries(), 2u);
  EXPECT_EQ(again.lookup(10), (OffsetPosition{9, 300}));
  EXPECT_FALSE(again.sanity_check(1000));
  EXPECT_TRUE(again.sanity_check(200));  // entry past the log end
}

TEST(OffsetIndexTest, ZeroFilledTailFailsSanityCheck) {
  TempDir tmp;
  const std::string path = tmp / "0.index";
  {
    OffsetIndex idx(path, 0, 80);
    idx.resize_to_max();  // unclean stop: file stays preallocated
    idx.append(5, 100);
  }
  OffsetIndex again(path, 0, 80);
  EXPECT_EQ(again.entries(), 10u);
  EXPECT_TRUE(again.sanity_check(1000).has_value());
}

TEST(TimeIndexTest, OnlyIncreasingTimestampsAndLookup) {
  TempDir tmp;
  TimeIndex idx(tmp / "0.timeindex", 50, 120);  // 10 entries
  EXPECT_EQ(idx.lookup(5), (TimestampOffset{-1, 50}));
  EXPECT_FALSE(idx.maybe_append(-1, 50));
  EXPECT_TRUE(idx.maybe_append(1000, 55));
  EXPECT_FALSE(idx.maybe_append(1000, 56));  // not larger
  EXPECT_FALSE(idx.maybe_append(900, 57));
  EXPECT_TRUE(idx.maybe_append(2000, 60));
  EXPECT_EQ(idx.lookup(999), (TimestampOffset{-1, 50}));
  EXPECT_EQ(idx.lookup(1500), (TimestampOffset{1000, 55}));
  EXPECT_EQ(idx.lookup(5000), (TimestampOffset{2000, 60}));
  idx.trim();
  std::string raw = test::read_all(tmp / "0.timeindex");
  ASSERT_EQ(raw.size(), 24u);
  EXPECT_EQ(raw.substr(0, 12), std::string("\0\0\0\0\0\0\x03\xe8\0\0\0\x05", 12));
  idx.truncate_to(60);
  EXPECT_EQ(idx.entries(), 1u);
}

TEST(TimeIndexTest, LastSlotIsReservedForTheClosingEntry) {
  TempDir tmp;
  TimeIndex idx(tmp / "0.timeindex", 0, 36);  // 3 entries
  EXPECT_TRUE(idx.maybe_append(1, 1));
  EXPECT_TRUE(idx.maybe_append(2, 2));
  EXPECT_TRUE(idx.full_for_append());
  EXPECT_FALSE(idx.maybe_append(3, 3));
  EXPECT_TRUE(idx.maybe_append(3, 3, /*skip_full_check=*/true));
  EXPECT_TRUE(idx.is_full());
}

}  // namespace
}  // namespace samsa::log
