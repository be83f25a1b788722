// The active controller's background leadership work: reassignment
// completion found on a published image, leader balancing, and nothing
// written while the node is not the active controller.
#include "samsa/broker/leadership_controller.h"

#include <gtest/gtest.h>

#include "samsa/broker/metadata/broker_lifecycle.h"
#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/metadata/leadership.h"
#include "samsa/broker/metadata/metadata_delta.h"

namespace samsa::broker {
namespace {

using metadata::RecordAndVersion;
using protocol::Uuid;
using V = std::vector<int32_t>;

constexpr int16_t kMv = 21;

std::shared_ptr<const MetadataImage> replay(const std::shared_ptr<const MetadataImage>& image,
                                            const std::vector<RecordAndVersion>& records) {
  metadata::MetadataDelta delta(image);
  int64_t offset = image->offset + 1;
  for (const auto& r : records) delta.replay(metadata::frame(r), offset++);
  return delta.apply();
}

// Applies each commit to its image and hands the new image to `published`.
class FakeController : public ControllerService {
 public:
  CommitResult commit(const Decide& decide) override {
    if (!is_active) return ControllerError::kNotController;
    auto records = decide(*image);
    if (records.empty()) return image;
    image = replay(image, records);
    ++commits;
    if (published) published(image);
    return image;
  }
  bool active() const override { return is_active; }
  const metadata::ControllerDefaults& defaults() const override { return defaults_; }
  metadata::ReplicaPlacer& placer() override { return placer_; }

  std::shared_ptr<const MetadataImage> image;
  std::function<void(const std::shared_ptr<const MetadataImage>&)> published;
  bool is_active = true;
  int commits = 0;

 private:
  metadata::ControllerDefaults defaults_;
  metadata::ReplicaPlacer placer_{1};
};

std::shared_ptr<const MetadataImage> cluster_with_topic(const std::vector<std::pair<V, int32_t>>& parts) {
  MetadataImage base;
  base.cluster_id = "c";
  auto image = replay(std::make_shared<const MetadataImage>(base), metadata::bootstrap_records(kMv));
  for (int i = 1; i <= 3; ++i) {
    metadata::BrokerRegistrationInput in;
    in.broker_id = i;
    in.cluster_id = "c";
    in.incarnation_id = Uuid::random();
    in.listeners = {{"PLAINTEXT", "localhost", static_cast<uint16_t>(9090 + i), "PLAINTEXT"}};
    in.features = {{"metadata.version", {7, kMv}}};
    in.log_dirs = {Uuid::random()};
    image = replay(image, metadata::register_broker(*image, in, image->offset + 1).records);
    image = replay(image, metadata::unfence_broker_records(*image, i));
  }
  protocol::TopicRecord t;
  t.name = "t";
  t.topic_id = Uuid::random();
  std::vector<RecordAndVersion> records = {{t, 0}};
  for (size_t i = 0; i < parts.size(); ++i) {
    protocol::PartitionRecord r;
    r.topic_id = t.topic_id;
    r.partition_id = static_cast<int32_t>(i);
    r.replicas = parts[i].first;
    r.isr = parts[i].first;
    r.leader = parts[i].second;
    records.push_back({r, metadata::partition_record_version(kMv)});
  }
  return replay(image, records);
}

TEST(LeadershipController, CompletesAReassignmentWhenTheImageShowsItReady) {
  FakeController controller;
  controller.image = cluster_with_topic({{V{1}, 1}});
  std::vector<std::function<void()>> jobs;
  LeadershipController leadership(controller, {}, [&](std::function<void()> job) { jobs.push_back(job); });
  controller.published = [&](const auto& img) { leadership.on_image(img); };
  leadership.on_image(controller.image);

  controller.commit([](const MetadataImage& image) {
    return metadata::alter_partition_reassignments(image, std::vector<metadata::ReassignmentTarget>{{"t", 0, V{2}}})
        .records;
  });
  EXPECT_TRUE(jobs.empty());  // 2 is not in the ISR yet
  // The leader's AlterPartition adds 2 to the ISR.
  controller.commit([](const MetadataImage& image) -> std::vector<RecordAndVersion> {
    protocol::PartitionChangeRecord r;
    r.topic_id = image.topic("t")->id;
    r.partition_id = 0;
    r.isr = V{1, 2};
    return {{r, metadata::partition_change_record_version(kMv)}};
  });
  ASSERT_EQ(jobs.size(), 1u);
  jobs[0]();
  const PartitionImage& p = *controller.image->topic("t")->partition(0);
  EXPECT_EQ(p.replicas, V({2}));
  EXPECT_EQ(p.leader, 2);
  EXPECT_TRUE(p.adding_replicas.empty());
  EXPECT_EQ(leadership.complete_reassignments_now(), 0u);
}

TEST(LeadershipController, BalancesOnlyWhileActive) {
  FakeController controller;
  controller.image = cluster_with_topic({{V{1, 2}, 2}, {V{2, 1}, 2}});
  LeadershipController::Options options;
  options.imbalance_percentage = 10;
  LeadershipController leadership(controller, options, nullptr);
  controller.is_active = false;
  EXPECT_EQ(leadership.balance_leaders_now(), 0u);
  controller.is_active = true;
  EXPECT_EQ(leadership.balance_leaders_now(), 1u);
  EXPECT_EQ(controller.image->topic("t")->partition(0)->leader, 1);
  EXPECT_EQ(leadership.balance_leaders_now(), 0u);
}

}  // namespace
}  // namespace samsa::broker
