// MetadataLoader over a fake MetadataRaft: snapshots and committed batches
// become images, publishers see every image in order, the loader snapshots
// after enough bytes and its snapshot rebuilds the same image, and waiters
// learn when leadership moved on.
#include <gtest/gtest.h>

#include <chrono>

#include "fake_metadata_raft.h"
#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/metadata/image_records.h"
#include "samsa/broker/metadata/metadata_loader.h"

namespace samsa::broker {
namespace {

using metadata::MetadataLoader;
using metadata::RecordAndVersion;
using namespace std::chrono_literals;

std::string framed(const RecordAndVersion& r) {
  auto bytes = metadata::frame(r);
  return {bytes.begin(), bytes.end()};
}

std::vector<std::string> topic_records(const std::string& name, uint8_t id_byte) {
  protocol::Uuid id;
  id.bytes[0] = id_byte;
  protocol::PartitionRecord p;
  p.partition_id = 0;
  p.topic_id = id;
  p.replicas = {1};
  p.isr = {1};
  p.leader = 1;
  return {framed({protocol::TopicRecord{.name = name, .topic_id = id}, 0}), framed({p, 0})};
}

std::shared_ptr<const MetadataImage> base_image() {
  auto image = std::make_shared<MetadataImage>();
  image->cluster_id = "test-cluster";
  return image;
}

class MetadataLoaderTest : public ::testing::Test {
 protected:
  MetadataLoaderTest() : raft(1), loader(cache, base_image(), {.node_id = 1, .max_bytes_between_snapshots = 1 << 20}) {
    raft.register_listener(&loader);
    loader.set_snapshot_target(&raft);
  }
  // Appends as leader and waits until the loader applied it.
  raft::Offset write(raft::Epoch epoch, std::vector<std::string> records) {
    auto appended = raft.append(epoch, std::move(records));
    EXPECT_TRUE(std::holds_alternative<raft::Offset>(appended));
    raft.drain();
    return std::get<raft::Offset>(appended);
  }

  MetadataCache cache;
  test::FakeMetadataRaft raft;
  MetadataLoader loader;
};

TEST_F(MetadataLoaderTest, CommittedBatchesBuildTheImageAndReachPublishersInOrder) {
  std::vector<int64_t> published;
  loader.install_publisher([&](const std::shared_ptr<const MetadataImage>& img) { published.push_back(img->offset); });
  ASSERT_EQ(published.size(), 1u) << "a publisher sees the current image at once";
  EXPECT_EQ(loader.applied_offset(), -1);
  EXPECT_FALSE(loader.active_epoch());

  raft.elect({1, 3});
  raft.drain();
  EXPECT_EQ(loader.active_epoch(), 3);
  EXPECT_EQ(loader.applied_offset(), 0) << "the LeaderChange control batch counts";
  EXPECT_EQ(cache.current()->quorum_leader_id, 1);

  raft::Offset last = write(3, topic_records("orders", 7));
  EXPECT_EQ(last, 2);
  EXPECT_EQ(loader.applied_offset(), 2);
  auto image = cache.current();
  ASSERT_NE(image->topic("orders"), nullptr);
  EXPECT_EQ(image->offset, 2);
  EXPECT_EQ(image->cluster_id, "test-cluster");
  write(3, topic_records("payments", 8));
  EXPECT_NE(cache.current()->topic("payments"), nullptr);
  EXPECT_NE(cache.current()->topic("orders"), nullptr);
  // Initial, leader change, two batches: each image once, in offset order.
  ASSERT_GE(published.size(), 3u);
  EXPECT_TRUE(std::is_sorted(published.begin(), published.end()));
  EXPECT_EQ(published.back(), 4);
}

TEST_F(MetadataLoaderTest, LeaderElsewhereMeansNotActiveAndWaitersLearnLeadershipWasLost) {
  raft.elect({1, 1});
  raft.drain();
  raft.auto_commit = false;
  auto appended = raft.append(1, topic_records("lost", 1));
  raft::Offset last = std::get<raft::Offset>(appended);
  auto soon = MetadataLoader::Clock::now() + 50ms;
  EXPECT_EQ(loader.wait_until_applied(last, 1, soon), MetadataLoader::WaitResult::kTimedOut);

  raft.elect({2, 2});  // another node leads a later epoch: the write may be gone
  raft.drain();
  EXPECT_FALSE(loader.active_epoch());
  EXPECT_EQ(loader.leader(), (raft::LeaderAndEpoch{2, 2}));
  EXPECT_EQ(cache.current()->quorum_leader_id, 2);
  auto later = MetadataLoader::Clock::now() + 5s;
  EXPECT_EQ(loader.wait_until_applied(last, 1, later), MetadataLoader::WaitResult::kLeadershipLost);
  EXPECT_EQ(cache.current()->topic("lost"), nullptr) << "nothing uncommitted is applied";
}

TEST_F(MetadataLoaderTest, SnapshotsAfterEnoughBytesAndTheSnapshotRebuildsTheSameImage) {
  MetadataCache small_cache;
  test::FakeMetadataRaft small_raft(1);
  MetadataLoader small(small_cache, base_image(), {.node_id = 1, .max_bytes_between_snapshots = 200});
  small_raft.register_listener(&small);
  small.set_snapshot_target(&small_raft);
  small_raft.elect({1, 4});
  small_raft.drain();
  std::vector<std::string> bootstrap;
  for (const auto& r : metadata::bootstrap_records(21)) bootstrap.push_back(framed(r));
  small_raft.append(4, bootstrap);
  for (uint8_t i = 1; i <= 10; ++i) small_raft.append(4, topic_records("t" + std::to_string(i), i));
  small_raft.drain();
  ASSERT_FALSE(small_raft.snapshots.empty()) << "200 bytes between snapshots";
  // Each snapshot stands at the end of a batch, in the epoch of its last record.
  for (const auto& [id, records] : small_raft.snapshots) EXPECT_EQ(id.epoch, 4);

  // The newest snapshot, loaded by a fresh node, gives the image at its offset.
  small.snapshot_now();
  const auto& [id, records] = small_raft.snapshots.back();
  EXPECT_EQ(id.offset, small.applied_offset() + 1);
  MetadataCache fresh_cache;
  test::FakeMetadataRaft fresh_raft(2);
  MetadataLoader fresh(fresh_cache, base_image(), {.node_id = 2});
  fresh_raft.register_listener(&fresh);
  fresh_raft.load_snapshot(id, records);
  fresh_raft.drain();
  auto a = small_cache.current();
  auto b = fresh_cache.current();
  EXPECT_EQ(b->offset, id.offset - 1);
  EXPECT_EQ(fresh.applied_offset(), id.offset - 1);
  EXPECT_EQ(b->metadata_version, a->metadata_version);
  ASSERT_EQ(b->topics->by_name.size(), 10u);
  for (const auto& [name, topic] : a->topics->by_name) {
    const TopicImage* other = b->topic(name);
    ASSERT_NE(other, nullptr) << name;
    EXPECT_EQ(other->id, topic->id);
    EXPECT_EQ(other->partitions.size(), topic->partitions.size());
  }
  // Nothing new since: no second snapshot at the same offset.
  size_t count = small_raft.snapshots.size();
  small.snapshot_now();
  EXPECT_EQ(small_raft.snapshots.size(), count);
}

TEST_F(MetadataLoaderTest, AMalformedBatchIsSkippedAndLaterBatchesApply) {
  raft.elect({1, 1});
  raft.drain();
  write(1, {std::string("\x01\x02", 2)});
  write(1, topic_records("after", 3));
  EXPECT_NE(cache.current()->topic("after"), nullptr);
  EXPECT_EQ(loader.applied_offset(), 3);
}

}  // namespace
}  // namespace samsa::broker
