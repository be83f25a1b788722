#pragma once
// A controller image for ISR / leader-election tests: brokers registered and
// unfenced through the real controller functions, topics added by records,
// everything replayed through the wire format as the metadata log does.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "samsa/broker/metadata/broker_lifecycle.h"
#include "samsa/broker/metadata/controller.h"
#include "samsa/broker/metadata/metadata_delta.h"
#include "samsa/broker/metadata/partition_change.h"

namespace samsa::broker::metadata::rctest {

inline constexpr int16_t kMv = 21;       // latest without ELR fields
inline constexpr int16_t kMvElr = 23;    // 4.0-IV1: PartitionChangeRecord v2

inline std::shared_ptr<const MetadataImage> replay_all(const MetadataImage& image,
                                                       const std::vector<RecordAndVersion>& records) {
  MetadataDelta delta(std::make_shared<const MetadataImage>(image));
  int64_t offset = image.offset + 1;
  for (const auto& r : records) delta.replay(frame(r), offset++);
  return delta.apply();
}

inline BrokerRegistrationInput registration(int32_t id, int16_t mv, protocol::Uuid incarnation = protocol::Uuid::random()) {
  BrokerRegistrationInput in;
  in.broker_id = id;
  in.cluster_id = "c";
  in.incarnation_id = incarnation;
  in.listeners = {{"PLAINTEXT", "localhost", static_cast<uint16_t>(9090 + id), "PLAINTEXT"}};
  in.features = {{"metadata.version", {7, mv}}, {std::string(kEligibleLeaderReplicasFeature), {0, 1}}};
  in.log_dirs = {protocol::Uuid::random()};
  return in;
}

// `brokers` registered and unfenced; with `elr` the eligible leader replicas
// feature is finalized at level 1 (and metadata.version supports it).
inline MetadataImage cluster(int brokers, bool elr = false) {
  const int16_t mv = elr ? kMvElr : kMv;
  MetadataImage image;
  image.cluster_id = "c";
  std::vector<RecordAndVersion> boot = bootstrap_records(mv);
  if (elr) {
    protocol::FeatureLevelRecord f;
    f.name = std::string(kEligibleLeaderReplicasFeature);
    f.feature_level = 1;
    boot.push_back({f, 0});
  }
  image = *replay_all(image, boot);
  for (int i = 1; i <= brokers; ++i) {
    auto reg = register_broker(image, registration(i, mv), image.offset + 1);
    EXPECT_TRUE(reg.error.ok()) << reg.error.message;
    image = *replay_all(image, reg.records);
    image = *replay_all(image, unfence_broker_records(image, i));
  }
  return image;
}

inline protocol::Uuid add_topic(MetadataImage& image, const std::string& name, std::vector<int32_t> replicas,
                                std::vector<int32_t> isr, int32_t leader = -2) {
  protocol::TopicRecord t;
  t.name = name;
  t.topic_id = protocol::Uuid::random();
  std::vector<RecordAndVersion> records = {{t, 0}};
  protocol::PartitionRecord r;
  r.topic_id = t.topic_id;
  r.partition_id = 0;
  r.replicas = std::move(replicas);
  r.leader = leader == -2 ? isr.front() : leader;
  r.isr = std::move(isr);
  r.leader_epoch = 0;
  r.partition_epoch = 0;
  records.push_back({r, partition_record_version(image.metadata_version)});
  image = *replay_all(image, records);
  return t.topic_id;
}

inline void set_topic_config(MetadataImage& image, const std::string& topic, const std::string& key,
                             const std::string& value) {
  protocol::ConfigRecord c;
  c.resource_type = static_cast<int8_t>(ConfigResourceType::kTopic);
  c.resource_name = topic;
  c.name = key;
  c.value = value;
  image = *replay_all(image, {{c, 0}});
}

inline const PartitionImage& part(const MetadataImage& image, const std::string& topic) {
  return *image.topic(topic)->partition(0);
}

// Applies `records` to `image` in place.
inline void commit(MetadataImage& image, const std::vector<RecordAndVersion>& records) {
  image = *replay_all(image, records);
}

}  // namespace samsa::broker::metadata::rctest
