#include "samsa/broker/leadership_controller.h"

#include "samsa/broker/broker_config.h"
#include "samsa/broker/metadata/leadership.h"
#include "samsa/broker/scheduler.h"
#include "samsa/util/logging.h"

namespace samsa::broker {

namespace {
auto& log() {
  static auto l = samsa::logger("samsa.controller.QuorumController");
  return l;
}

bool reassigning(const TopicImage& topic) {
  for (const auto& [index, p] : topic.partitions)
    if (!p.adding_replicas.empty() || !p.removing_replicas.empty()) return true;
  return false;
}
}  // namespace

LeadershipController::Options LeadershipController::options_from(const BrokerConfig& config) {
  Options o;
  o.auto_leader_rebalance = config.auto_leader_rebalance_enable;
  o.imbalance_check_interval = std::chrono::seconds(config.leader_imbalance_check_interval_seconds);
  o.imbalance_percentage = config.leader_imbalance_per_broker_percentage;
  return o;
}

LeadershipController::LeadershipController(ControllerService& controller, Options options, Post post)
    : controller_(controller), options_(options), post_(std::move(post)) {}

void LeadershipController::on_image(const std::shared_ptr<const MetadataImage>& image) {
  bool ready = false;
  {
    std::lock_guard lock(mu_);
    const bool topics_changed = !last_image_ || last_image_->topics != image->topics;
    if (topics_changed) {
      // Topics share their TopicImage with the previous image unless they
      // changed: only changed ones are scanned.
      std::erase_if(reassigning_, [&](const protocol::Uuid& id) { return image->topic(id) == nullptr; });
      for (const auto& [id, topic] : image->topics->by_id) {
        if (last_image_) {
          auto it = last_image_->topics->by_id.find(id);
          if (it != last_image_->topics->by_id.end() && it->second == topic) continue;
        }
        if (reassigning(*topic))
          reassigning_.insert(id);
        else
          reassigning_.erase(id);
      }
    }
    last_image_ = image;
    if (topics_changed && !reassigning_.empty() && controller_.active())
      for (const auto& id : reassigning_) {
        const TopicImage* topic = image->topic(id);
        for (const auto& [index, p] : topic->partitions) {
          if (p.adding_replicas.empty() && p.removing_replicas.empty()) continue;
          PartitionImage copy = p;
          copy.partition_id = index;
          ready = ready || metadata::reassignment_completion(*image, *topic, copy).has_value();
        }
      }
  }
  if (ready) queue_completion();
}

void LeadershipController::queue_completion() {
  if (!post_) {
    complete_reassignments_now();
    return;
  }
  if (completion_queued_.exchange(true)) return;
  post_([this] {
    completion_queued_.store(false);
    complete_reassignments_now();
  });
}

void LeadershipController::schedule(Scheduler& scheduler) {
  scheduler.schedule_periodic(options_.reassignment_check_interval, [this] {
    bool pending;
    {
      std::lock_guard lock(mu_);
      pending = !reassigning_.empty();
    }
    if (pending && controller_.active()) queue_completion();
  });
  if (!options_.auto_leader_rebalance) return;
  scheduler.schedule_periodic(options_.imbalance_check_interval, [this] {
    if (!controller_.active()) return;
    if (!post_) {
      balance_leaders_now();
      return;
    }
    if (balance_queued_.exchange(true)) return;
    post_([this] {
      balance_queued_.store(false);
      balance_leaders_now();
    });
  });
}

size_t LeadershipController::balance_leaders_now() {
  if (!controller_.active()) return 0;
  size_t changed = 0;
  auto result = controller_.commit([&](const MetadataImage& image) {
    auto records = metadata::balance_leaders(image, options_.imbalance_percentage);
    changed = records.size();
    return records;
  });
  if (std::holds_alternative<ControllerError>(result)) return 0;
  if (changed > 0) log()->info("Moved the leadership of {} partition(s) back to their preferred replica", changed);
  return changed;
}

size_t LeadershipController::complete_reassignments_now() {
  if (!controller_.active()) return 0;
  size_t changed = 0;
  auto result = controller_.commit([&](const MetadataImage& image) {
    auto records = metadata::complete_reassignments(image);
    changed = records.size();
    return records;
  });
  if (std::holds_alternative<ControllerError>(result)) return 0;
  if (changed > 0) log()->info("Completed the reassignment of {} partition(s)", changed);
  return changed;
}

}  // namespace samsa::broker
