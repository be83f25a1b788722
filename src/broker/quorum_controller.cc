#include "samsa/broker/quorum_controller.h"

#include "samsa/broker/metadata/metadata_delta.h"

namespace samsa::broker {

std::shared_ptr<const MetadataImage> QuorumController::commit(const Decide& decide) {
  std::lock_guard lock(mu_);
  auto image = cache_.current();
  auto records = decide(*image);
  if (records.empty()) return image;
  std::vector<std::vector<uint8_t>> values;
  values.reserve(records.size());
  for (const auto& r : records) values.push_back(metadata::frame(r));
  int64_t first = log_.append(values);  // durable before anyone sees the change
  metadata::MetadataDelta delta(image);
  for (size_t i = 0; i < records.size(); ++i) delta.replay(records[i], first + static_cast<int64_t>(i));
  auto next = delta.apply();
  cache_.publish(next);
  if (on_publish_) on_publish_(next);
  return next;
}

}  // namespace samsa::broker
