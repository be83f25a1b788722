// QuorumController over a fake MetadataRaft: only the active controller
// writes, a write returns once committed and applied, the first write of an
// empty log brings the bootstrap records, and losing leadership or the
// commit timing out are error values (NOT_CONTROLLER, REQUEST_TIMED_OUT).
#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include "fake_metadata_raft.h"
#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/metadata/metadata_loader.h"
#include "samsa/broker/quorum_controller.h"
#include "samsa/protocol/error_code.h"

namespace samsa::broker {
namespace {

using metadata::RecordAndVersion;
using protocol::ErrorCode;
using namespace std::chrono_literals;

std::vector<RecordAndVersion> topic(const std::string& name, uint8_t id_byte) {
  protocol::Uuid id;
  id.bytes[0] = id_byte;
  return {{protocol::TopicRecord{.name = name, .topic_id = id}, 0}};
}

class QuorumControllerTest : public ::testing::Test {
 protected:
  QuorumControllerTest()
      : raft(1),
        loader(cache, std::make_shared<MetadataImage>(), {.node_id = 1}),
        controller(raft, loader, cache, metadata::ControllerDefaults{},
                   {.bootstrap_metadata_version = 21, .commit_timeout = 300ms}) {
    raft.register_listener(&loader);
  }
  void elect(raft::LeaderAndEpoch leader) {
    raft.elect(leader);
    raft.drain();
  }
  static ControllerError error_of(const CommitResult& r) {
    EXPECT_TRUE(std::holds_alternative<ControllerError>(r));
    return std::holds_alternative<ControllerError>(r) ? std::get<ControllerError>(r) : ControllerError::kTooLarge;
  }

  MetadataCache cache;
  test::FakeMetadataRaft raft;
  metadata::MetadataLoader loader;
  QuorumController controller;
};

TEST_F(QuorumControllerTest, OnlyTheActiveControllerDecidesAndWrites) {
  bool decided = false;
  auto decide = [&](const MetadataImage&) {
    decided = true;
    return topic("a", 1);
  };
  EXPECT_EQ(error_of(controller.commit(decide)), ControllerError::kNotController);
  elect({2, 1});
  EXPECT_EQ(error_of(controller.commit(decide)), ControllerError::kNotController);
  EXPECT_FALSE(decided);
  EXPECT_TRUE(raft.appended.empty());
  EXPECT_EQ(to_api_error(ControllerError::kNotController).code, ErrorCode::NOT_CONTROLLER);
  EXPECT_EQ(to_api_error(ControllerError::kTimedOut).code, ErrorCode::REQUEST_TIMED_OUT);
}

TEST_F(QuorumControllerTest, ACommitIsOneBatchAppliedBeforeItReturnsAfterTheBootstrapRecords) {
  elect({1, 5});
  auto result = controller.commit([](const MetadataImage& image) {
    EXPECT_EQ(image.metadata_version, 21) << "decided on the bootstrapped image";
    return topic("a", 1);
  });
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const MetadataImage>>(result));
  auto image = std::get<std::shared_ptr<const MetadataImage>>(result);
  EXPECT_NE(image->topic("a"), nullptr);
  EXPECT_EQ(cache.current(), image) << "returned after the loader published it";
  ASSERT_EQ(raft.appended.size(), 2u) << "bootstrap batch, then the decided batch";
  EXPECT_EQ(raft.appended[1].records.size(), 1u);
  EXPECT_EQ(raft.appended[1].epoch, 5);
  EXPECT_EQ(controller.next_offset(), raft.appended[1].last_offset + 1);

  // A second commit decides on the image with the first, and the bootstrap
  // records are not written again.
  result = controller.commit([](const MetadataImage& img) {
    return img.topic("a") ? topic("b", 2) : std::vector<RecordAndVersion>{};
  });
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const MetadataImage>>(result));
  EXPECT_NE(cache.current()->topic("b"), nullptr);
  EXPECT_EQ(raft.appended.size(), 3u);
  // Nothing to write: the current image, no append.
  result = controller.ensure_bootstrapped();
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const MetadataImage>>(result));
  EXPECT_EQ(raft.appended.size(), 3u);
}

TEST_F(QuorumControllerTest, LeadershipLostWhileWaitingIsNotControllerAndNothingIsApplied) {
  elect({1, 1});
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const MetadataImage>>(controller.ensure_bootstrapped()));
  raft.auto_commit = false;
  auto pending = std::async(std::launch::async, [&] { return controller.commit([](const MetadataImage&) {
                                                        return topic("never", 9);
                                                      }); });
  for (int i = 0; i < 200 && raft.appended.size() < 2; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(raft.appended.size(), 2u);
  elect({3, 2});  // node 3 won epoch 2; our uncommitted batch is gone
  EXPECT_EQ(error_of(pending.get()), ControllerError::kNotController);
  EXPECT_EQ(cache.current()->topic("never"), nullptr);
  EXPECT_FALSE(controller.active());
}

TEST_F(QuorumControllerTest, AWriteThatDoesNotCommitInTimeTimesOutAndAppendFailuresAreValues) {
  elect({1, 1});
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const MetadataImage>>(controller.ensure_bootstrapped()));
  raft.auto_commit = false;
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(error_of(controller.commit([](const MetadataImage&) { return topic("slow", 4); })),
            ControllerError::kTimedOut);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 300ms);
  // It commits later: the image catches up, the timed-out client may retry.
  raft.commit_pending();
  raft.drain();
  EXPECT_NE(cache.current()->topic("slow"), nullptr);

  raft.auto_commit = true;
  raft.fail_appends = true;
  auto failed = controller.commit([](const MetadataImage&) { return topic("x", 5); });
  EXPECT_EQ(error_of(failed), ControllerError::kStorageFailed);
  EXPECT_EQ(to_api_error(ControllerError::kStorageFailed).code, ErrorCode::REQUEST_TIMED_OUT);
}

}  // namespace
}  // namespace samsa::broker
