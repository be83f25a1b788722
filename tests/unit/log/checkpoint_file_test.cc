// Kafka's text files, byte for byte.
#include "log_test_util.h"
#include "samsa/log/checkpoint_file.h"

namespace samsa::log {
namespace {

TEST(CheckpointFileTest, OffsetCheckpointFormat) {
  OffsetCheckpoint offsets{{{"orders", 0}, 1234}, {{"orders", 1}, 88}, {{"a-b.c", 12}, 0}};
  const std::string expected =
      "0\n"
      "3\n"
      "a-b.c 12 0\n"
      "orders 0 1234\n"
      "orders 1 88\n";
  EXPECT_EQ(format_offset_checkpoint(offsets), expected);
  EXPECT_EQ(parse_offset_checkpoint(expected), offsets);
  EXPECT_EQ(format_offset_checkpoint({}), "0\n0\n");

  test::TempDir tmp;
  write_offset_checkpoint(tmp / "recovery-point-offset-checkpoint", offsets);
  EXPECT_EQ(test::read_all(tmp / "recovery-point-offset-checkpoint"), expected);
  EXPECT_EQ(read_offset_checkpoint(tmp / "recovery-point-offset-checkpoint"), offsets);
  EXPECT_EQ(read_offset_checkpoint(tmp / "missing"), OffsetCheckpoint{});
}

TEST(CheckpointFileTest, MalformedOffsetCheckpointsRejected) {
  EXPECT_FALSE(parse_offset_checkpoint("1\n0\n"));           // unknown version
  EXPECT_FALSE(parse_offset_checkpoint("0\n2\nt 0 5\n"));    // count mismatch
  EXPECT_FALSE(parse_offset_checkpoint("0\n1\nt x 5\n"));    // bad partition
  EXPECT_FALSE(parse_offset_checkpoint("0\n1\nt 0 5"));      // torn last line
  EXPECT_FALSE(parse_offset_checkpoint("0\n1\nt 0 5 6\n"));  // extra field
  EXPECT_FALSE(parse_offset_checkpoint(""));
}

TEST(CheckpointFileTest, LeaderEpochCheckpointFormat) {
  std::vector<EpochEntry> entries{{0, 0}, {3, 1500}, {4, 1501}};
  const std::string expected = "0\n3\n0 0\n3 1500\n4 1501\n";
  EXPECT_EQ(format_leader_epoch_checkpoint(entries), expected);
  EXPECT_EQ(parse_leader_epoch_checkpoint(expected), entries);
  EXPECT_FALSE(parse_leader_epoch_checkpoint("0\n1\n3\n"));
}

TEST(CheckpointFileTest, PartitionMetadataFormat) {
  auto id = protocol::Uuid::from_string("MkU3OEp9SG-nWAsvNOoSAA");
  ASSERT_TRUE(id);
  const std::string expected = "version: 0\ntopic_id: MkU3OEp9SG-nWAsvNOoSAA\n";
  EXPECT_EQ(format_partition_metadata(*id), expected);
  EXPECT_EQ(parse_partition_metadata(expected), id);
  EXPECT_FALSE(parse_partition_metadata("version: 1\ntopic_id: MkU3OEp9SG-nWAsvNOoSAA\n"));
  EXPECT_FALSE(parse_partition_metadata("version: 0\n"));
}

TEST(CheckpointFileTest, TopicPartitionDirNames) {
  EXPECT_EQ((TopicPartition{"my-topic", 7}).dir_name(), "my-topic-7");
  EXPECT_EQ(TopicPartition::from_dir_name("my-topic-7"), (TopicPartition{"my-topic", 7}));
  EXPECT_FALSE(TopicPartition::from_dir_name("my-topic-x"));
  EXPECT_FALSE(TopicPartition::from_dir_name("noseparator"));
}

struct PartitionFilesTest : test::LogFixture {};

TEST_F(PartitionFilesTest, PartitionMetadataWrittenAndChecked) {
  auto id = protocol::Uuid::random();
  LogOpenOptions o;
  o.dir = log_dir();
  o.tp = {"topic", 0};
  o.topic_id = id;
  o.config = config;
  o.clock = clock;
  {
    auto log = Log::open(o);
    ASSERT_TRUE(log.ok());
    (*log)->close();
  }
  EXPECT_EQ(test::read_all(log_dir() + "/partition.metadata"),
            "version: 0\ntopic_id: " + id.to_string() + "\n");
  o.topic_id = protocol::Uuid::zero();  // unknown: taken from the file
  auto again = Log::open(o);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->topic_id(), id);
  (*again)->close();
  o.topic_id = protocol::Uuid::random();
  auto wrong = Log::open(o);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, LogErrc::kInconsistentTopicId);
}

}  // namespace
}  // namespace samsa::log
