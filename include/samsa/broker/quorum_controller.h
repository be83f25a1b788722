#pragma once
// ControllerService over the single-voter metadata log: decisions are made,
// written, applied and published one at a time under one mutex. Admin
// requests are rare; the hot paths (produce, fetch) never come here.
#include <functional>
#include <memory>
#include <mutex>

#include "samsa/broker/controller_service.h"
#include "samsa/raft/metadata_log.h"

namespace samsa::broker {

class QuorumController : public ControllerService {
 public:
  using OnPublish = std::function<void(const std::shared_ptr<const MetadataImage>&)>;

  QuorumController(raft::MetadataLog& log, MetadataCache& cache, metadata::ControllerDefaults defaults,
                   OnPublish on_publish)
      : log_(log), cache_(cache), defaults_(std::move(defaults)), on_publish_(std::move(on_publish)) {}

  std::shared_ptr<const MetadataImage> commit(const Decide& decide) override;
  const metadata::ControllerDefaults& defaults() const override { return defaults_; }
  metadata::ReplicaPlacer& placer() override { return placer_; }
  // The next offset the metadata log will assign (for broker epochs).
  int64_t next_offset() const { return log_.end_offset(); }

 private:
  raft::MetadataLog& log_;
  MetadataCache& cache_;
  metadata::ControllerDefaults defaults_;
  metadata::ReplicaPlacer placer_;
  OnPublish on_publish_;
  std::mutex mu_;
};

}  // namespace samsa::broker
