#include "samsa/broker/replica/alter_partition_manager.h"

#include "samsa/protocol/error_code.h"
#include "samsa/protocol/gen/alter_partition_request.h"
#include "samsa/protocol/gen/alter_partition_response.h"
#include "samsa/protocol/wire_reader.h"
#include "samsa/protocol/wire_writer.h"
#include "samsa/util/logging.h"

namespace samsa::broker::replica {

using protocol::AlterPartitionRequest;
using protocol::AlterPartitionResponse;
using protocol::ErrorCode;

namespace {

constexpr int16_t kVersion = 3;

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.server.AlterPartitionManager");
  return l;
}

IsrUpdateResult error_result(ErrorCode error) {
  IsrUpdateResult r;
  r.error = error;
  return r;
}

std::optional<AlterPartitionResponse> decode(const std::vector<uint8_t>& body) {
  try {
    protocol::WireReader r(body);
    AlterPartitionResponse response;
    response.decode(r, kVersion);
    return response;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

AlterPartitionManager::AlterPartitionManager(ControllerChannel& channel, Options options)
    : AlterPartitionManager([&channel] { return &channel; }, std::move(options)) {}

AlterPartitionManager::AlterPartitionManager(std::function<ControllerChannel*()> channel, Options options)
    : channel_(std::move(channel)), options_(std::move(options)) {}

size_t AlterPartitionManager::pending() const {
  std::lock_guard lock(mu_);
  return items_.size();
}

void AlterPartitionManager::submit(std::shared_ptr<IsrUpdate> update, std::function<void(IsrUpdateResult)> done) {
  Key key{update->topic_id, update->partition};
  {
    std::lock_guard lock(mu_);
    if (!items_.contains(key)) {
      items_.emplace(key, Item{std::move(update), std::move(done), false});
      update = nullptr;
    }
  }
  if (update != nullptr) {
    log()->debug("Refusing a second ISR update for {}-{}: one is already queued or in flight", update->topic,
                 update->partition);
    done(error_result(ErrorCode::OPERATION_NOT_ATTEMPTED));
    return;
  }
  maybe_send();
}

AlterPartitionRequest AlterPartitionManager::take_request_locked() {
  AlterPartitionRequest request;
  request.broker_id = options_.broker_id;
  request.broker_epoch = options_.broker_epoch ? options_.broker_epoch() : -1;
  std::map<protocol::Uuid, size_t, UuidLess> topic_index;
  for (auto& [key, item] : items_) {
    item.in_flight = true;
    const IsrUpdate& u = *item.update;
    auto [it, added] = topic_index.emplace(u.topic_id, request.topics.size());
    if (added) {
      AlterPartitionRequest::TopicData t;
      t.topic_id = u.topic_id;
      t.topic_name = u.topic;
      request.topics.push_back(std::move(t));
    }
    AlterPartitionRequest::TopicData::PartitionData p;
    p.partition_index = u.partition;
    p.leader_epoch = u.leader_epoch;
    p.partition_epoch = u.partition_epoch;
    p.leader_recovery_state = u.leader_recovery_state;
    for (auto [id, epoch] : u.new_isr) {
      AlterPartitionRequest::TopicData::PartitionData::BrokerState s;
      s.broker_id = id;
      s.broker_epoch = epoch;
      p.new_isr_with_epochs.push_back(s);
    }
    request.topics[it->second].partitions.push_back(std::move(p));
  }
  request_in_flight_ = true;
  return request;
}

void AlterPartitionManager::maybe_send() {
  ControllerChannel* channel = channel_();
  AlterPartitionRequest request;
  {
    std::lock_guard lock(mu_);
    if (request_in_flight_ || items_.empty()) return;
    if (channel == nullptr) {
      // No way to the controller yet: the queued updates wait for it.
      if (retry_scheduled_ || !options_.schedule) return;
      retry_scheduled_ = true;
    } else {
      request = take_request_locked();
    }
  }
  if (channel == nullptr) {
    options_.schedule(options_.retry_backoff, [this] {
      {
        std::lock_guard lock(mu_);
        retry_scheduled_ = false;
      }
      maybe_send();
    });
    return;
  }
  protocol::WireWriter w;
  request.encode(w, kVersion);
  channel->send(
      AlterPartitionRequest::kApiKey, kVersion, w.take(), options_.request_timeout,
      [](const std::vector<uint8_t>& body) {
        auto response = decode(body);
        return response && response->error_code == protocol::code(ErrorCode::NOT_CONTROLLER);
      },
      [this](std::optional<std::vector<uint8_t>> body) { on_response(std::move(body)); });
}

void AlterPartitionManager::on_response(std::optional<std::vector<uint8_t>> body) {
  std::vector<std::pair<std::function<void(IsrUpdateResult)>, IsrUpdateResult>> answers;
  bool retry = false;
  std::optional<AlterPartitionResponse> response;
  if (body) response = decode(*body);
  {
    std::lock_guard lock(mu_);
    request_in_flight_ = false;
    if (!body) {
      // No answer before the deadline: the Partitions ask again.
      for (auto it = items_.begin(); it != items_.end();) {
        if (!it->second.in_flight) {
          ++it;
          continue;
        }
        answers.emplace_back(std::move(it->second.done), error_result(ErrorCode::REQUEST_TIMED_OUT));
        it = items_.erase(it);
      }
    } else if (!response || response->error_code != 0) {
      log()->info("AlterPartition failed with {}; retrying",
                  response ? std::to_string(response->error_code) : std::string("an undecodable answer"));
      for (auto& [key, item] : items_) item.in_flight = false;
      retry = true;
    } else {
      for (const auto& t : response->topics) {
        for (const auto& p : t.partitions) {
          auto it = items_.find(Key{t.topic_id, p.partition_index});
          if (it == items_.end() || !it->second.in_flight) continue;
          IsrUpdateResult r;
          r.error = static_cast<ErrorCode>(p.error_code);
          if (p.error_code == 0) {
            r.partition.partition_id = p.partition_index;
            r.partition.leader = p.leader_id;
            r.partition.leader_epoch = p.leader_epoch;
            r.partition.isr = p.isr;
            r.partition.leader_recovery_state = p.leader_recovery_state;
            r.partition.partition_epoch = p.partition_epoch;
          }
          answers.emplace_back(std::move(it->second.done), std::move(r));
          items_.erase(it);
        }
      }
      // Sent but not answered: sent again with the next request.
      for (auto& [key, item] : items_)
        if (item.in_flight) {
          log()->warn("Partition {}-{} was sent but not included in the AlterPartition answer", item.update->topic,
                      item.update->partition);
          item.in_flight = false;
        }
    }
  }
  for (auto& [done, result] : answers) done(std::move(result));
  if (retry)
    retry_later();
  else
    maybe_send();
}

void AlterPartitionManager::retry_later() {
  if (options_.schedule)
    options_.schedule(options_.retry_backoff, [this] { maybe_send(); });
  else
    maybe_send();
}

}  // namespace samsa::broker::replica
