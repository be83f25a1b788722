#include "samsa/broker/quorum_controller.h"

#include "samsa/broker/metadata/controller.h"
#include "samsa/protocol/error_code.h"
#include "samsa/util/logging.h"

namespace samsa::broker {

namespace {

const std::shared_ptr<spdlog::logger>& log() {
  static auto l = samsa::logger("samsa.controller.QuorumController");
  return l;
}

}  // namespace

metadata::ApiError to_api_error(ControllerError error) {
  using protocol::ErrorCode;
  switch (error) {
    case ControllerError::kNotController:
      return {ErrorCode::NOT_CONTROLLER, "This node is not the active controller."};
    case ControllerError::kTimedOut:
      return {ErrorCode::REQUEST_TIMED_OUT, "The metadata change did not commit in time."};
    case ControllerError::kStorageFailed:
      // Retriable for the client, as Kafka's controller failover would be.
      return {ErrorCode::REQUEST_TIMED_OUT, "The metadata change could not be committed: the metadata log failed."};
    case ControllerError::kTooLarge:
      return {ErrorCode::UNKNOWN_SERVER_ERROR, "The metadata change is too large for one metadata batch."};
  }
  return {ErrorCode::UNKNOWN_SERVER_ERROR, "Unknown controller error."};
}

QuorumController::QuorumController(raft::MetadataRaft& raft, metadata::MetadataLoader& loader, MetadataCache& cache,
                                   metadata::ControllerDefaults defaults, QuorumControllerOptions options)
    : raft_(raft), loader_(loader), cache_(cache), defaults_(std::move(defaults)), options_(options) {}

CommitResult QuorumController::write(raft::Epoch epoch, const std::vector<metadata::RecordAndVersion>& records) {
  std::vector<std::string> framed;
  framed.reserve(records.size());
  for (const auto& r : records) {
    auto bytes = metadata::frame(r);
    framed.emplace_back(bytes.begin(), bytes.end());
  }
  auto appended = raft_.append(epoch, std::move(framed));
  if (auto* error = std::get_if<raft::AppendError>(&appended)) {
    switch (*error) {
      case raft::AppendError::kNotLeader: return ControllerError::kNotController;
      case raft::AppendError::kTooLarge: return ControllerError::kTooLarge;
      case raft::AppendError::kIoError: return ControllerError::kStorageFailed;
    }
  }
  const raft::Offset last = std::get<raft::Offset>(appended);
  auto deadline = metadata::MetadataLoader::Clock::now() + options_.commit_timeout;
  switch (loader_.wait_until_applied(last, epoch, deadline)) {
    case metadata::MetadataLoader::WaitResult::kApplied:
      return cache_.current();
    case metadata::MetadataLoader::WaitResult::kLeadershipLost:
      log()->info("Leadership of epoch {} was lost before offset {} committed", epoch, last);
      return ControllerError::kNotController;
    case metadata::MetadataLoader::WaitResult::kTimedOut:
      break;
  }
  log()->warn("The metadata write ending at offset {} did not commit within {} ms", last,
              options_.commit_timeout.count());
  return ControllerError::kTimedOut;
}

CommitResult QuorumController::commit(const Decide& decide) {
  std::lock_guard lock(mu_);
  auto epoch = loader_.active_epoch();
  if (!epoch) return ControllerError::kNotController;
  auto image = cache_.current();
  if (image->metadata_version == 0) {
    // An empty log: the first active controller writes the bootstrap
    // records before anything else, as Kafka's does.
    auto bootstrapped = write(
        *epoch, metadata::bootstrap_records(options_.bootstrap_metadata_version, options_.bootstrap_features));
    if (auto* error = std::get_if<ControllerError>(&bootstrapped)) return *error;
    image = std::get<std::shared_ptr<const MetadataImage>>(bootstrapped);
    log()->info("Wrote the bootstrap metadata (metadata.version {}, {} other finalized features)",
                options_.bootstrap_metadata_version, options_.bootstrap_features.size());
  }
  auto records = decide(*image);
  if (records.empty()) return image;
  return write(*epoch, records);
}

CommitResult QuorumController::ensure_bootstrapped() {
  return commit([](const MetadataImage&) { return std::vector<metadata::RecordAndVersion>{}; });
}

}  // namespace samsa::broker
