#pragma once
// Applies metadata records to an image, Kafka's MetadataDelta: the delta
// starts from a base image, replays records, and apply() returns the new
// image. Only what the records touched is copied; every untouched topic,
// config resource and table is shared with the base image.
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "samsa/broker/metadata/records.h"
#include "samsa/broker/metadata_image.h"
#include "samsa/protocol/record_batch.h"

namespace samsa::broker::metadata {

class MetadataDelta {
 public:
  explicit MetadataDelta(std::shared_ptr<const MetadataImage> base);

  // Decodes a framed record (a metadata log record's value) and applies it as
  // the record at `offset`. Record types this build does not know or does
  // not keep in the image are logged and skipped (returns false). Throws
  // protocol::DecodeError when the frame or record is malformed.
  bool replay(std::span<const uint8_t> framed, int64_t offset);
  // Applies an already decoded record.
  void replay(const RecordAndVersion& record, int64_t offset);

  // The image with every record replayed so far. The delta stays usable:
  // later records start from the returned image.
  std::shared_ptr<const MetadataImage> apply();

 private:
  void on(const protocol::RegisterBrokerRecord& r);
  void on(const protocol::UnregisterBrokerRecord& r);
  void on(const protocol::TopicRecord& r);
  void on(const protocol::PartitionRecord& r);
  void on(const protocol::ConfigRecord& r);
  void on(const protocol::PartitionChangeRecord& r);
  void on(const protocol::FenceBrokerRecord& r);
  void on(const protocol::UnfenceBrokerRecord& r);
  void on(const protocol::RemoveTopicRecord& r);
  void on(const protocol::FeatureLevelRecord& r);
  void on(const protocol::ProducerIdsRecord& r);
  void on(const protocol::BrokerRegistrationChangeRecord& r);
  void on(const protocol::NoOpRecord&) {}

  TopicsImage& topics_mut();
  TopicImage* topic_mut(const protocol::Uuid& id);  // nullptr if unknown
  ConfigsImage& configs_mut();
  BrokerRegistration* broker_for_change(int32_t id, int64_t epoch, const char* what);

  MetadataImage image_;
  int64_t offset_ = -1;  // offset of the record being replayed
  // Copies this delta owns and may still change; reset by apply().
  std::shared_ptr<TopicsImage> topics_;
  std::map<protocol::Uuid, std::shared_ptr<TopicImage>, UuidLess> changed_topics_;
  std::shared_ptr<ConfigsImage> configs_;
};

// One record applied to `base`.
std::shared_ptr<const MetadataImage> apply_record(const std::shared_ptr<const MetadataImage>& base,
                                                  std::span<const uint8_t> framed, int64_t offset);

// All records of one uncompressed batch applied to `base`; a control batch
// leaves the image as it is. Throws protocol::DecodeError on a malformed
// batch or record (including a null record value).
std::shared_ptr<const MetadataImage> apply_batch(const std::shared_ptr<const MetadataImage>& base,
                                                 const protocol::BatchView& batch);

// Every complete batch in `buffer`, in order: one new image per batch that is
// not a control batch (the last one is the newest).
std::vector<std::shared_ptr<const MetadataImage>> apply_batches(const std::shared_ptr<const MetadataImage>& base,
                                                                std::span<const uint8_t> buffer);

}  // namespace samsa::broker::metadata
