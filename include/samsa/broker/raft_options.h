#pragma once
// The settings of this node's RaftManager, from server.properties: the
// controller.quorum.* keys, metadata.log.*, node.id. A node whose id is not
// among controller.quorum.voters (broker only) is an observer: it fetches
// the log from the voters and never votes.
#include <string>

#include "samsa/broker/broker_config.h"
#include "samsa/raft/server/raft_manager.h"

namespace samsa::broker {

// `cluster_id` from meta.properties. RaftManagerOptions::on_io_error is left
// for the caller to set.
raft::RaftManagerOptions raft_manager_options(const BrokerConfig& config, const std::string& cluster_id);

}  // namespace samsa::broker
