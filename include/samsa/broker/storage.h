#pragma once
// Formatting log directories (`samsa storage format`) and checking them at
// start-up, with Kafka's rules: every directory formatted, one cluster id,
// the configured node id.
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "samsa/broker/broker_config.h"
#include "samsa/raft/bootstrap_checkpoint.h"

namespace samsa::broker {

class StorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// log.dirs plus metadata.log.dir, without duplicates, in that order.
std::vector<std::string> storage_directories(const BrokerConfig& config);

// How `storage format` sets up the controller quorum, as Kafka 4.x's
// kafka-storage.sh (KIP-853). The three flags exclude each other.
enum class QuorumBootstrap {
  kStatic,                // no flag: controller.quorum.voters must be set on a controller
  kStandalone,            // --standalone: this controller is the only initial voter
  kInitialControllers,    // --initial-controllers id@host:port:dir,...
  kNoInitialControllers,  // --no-initial-controllers: joins an existing dynamic quorum
};

struct FormatRequest {
  std::string cluster_id;
  bool ignore_formatted = false;
  QuorumBootstrap quorum = QuorumBootstrap::kStatic;
  std::string initial_controllers;  // the --initial-controllers argument
  // --feature name=level, repeatable (kafka-storage.sh format --feature):
  // overrides the default level of a supported feature for the new cluster.
  std::vector<std::string> features;
  // --release-version (kafka-storage.sh's): the metadata.version of that
  // Kafka release, and the other features at the levels that release gives a
  // new cluster (transaction.version 0 before 4.0). Empty: this build's latest.
  std::string release_version;
};

// The feature levels a new cluster starts from: every supported feature at
// its default level (features.h) or at the level of `release_version` when
// given, then the --feature flags applied. Throws StorageError naming the
// flag for a malformed flag, an unknown feature, a feature given twice, a
// level outside the range this build supports, an unknown release, or a
// release together with --feature metadata.version.
raft::BootstrapMetadata bootstrap_metadata_for(const std::vector<std::string>& feature_flags,
                                               const std::string& release_version = {});

struct FormatReport {
  std::vector<std::string> formatted;  // directories written now
  std::vector<std::string> skipped;    // already formatted (--ignore-formatted)
  // Kafka's words for each formatted directory ("data directory", "metadata
  // directory", "dynamic metadata voter directory", ...), same order.
  std::vector<std::string> kinds;
  int16_t metadata_version = 0;
  std::map<std::string, int16_t> features;  // finalized features other than metadata.version (level > 0)
  int16_t kraft_version = 0;  // 1 for a dynamic quorum
};

// Throws StorageError (one line, Kafka's wording where Kafka has one) if the
// cluster id is not a Kafka Uuid, a directory is already formatted and
// !ignore_formatted, or the quorum flags do not fit the configuration:
// --standalone on a node without the controller role, --standalone or
// --initial-controllers together with controller.quorum.voters, or a
// controller without controller.quorum.voters and without any of the flags.
// With --standalone / --initial-controllers the metadata log dir receives the
// bootstrap voter snapshot (raft/bootstrap_voters.h) and, on a listed voter,
// the directory.id given for it.
FormatReport format_storage(const BrokerConfig& config, const FormatRequest& request);
// The static-quorum form, kept for existing callers.
FormatReport format_storage(const BrokerConfig& config, const std::string& cluster_id, bool ignore_formatted);

struct StorageState {
  std::string cluster_id;
  int16_t metadata_version = 0;  // from bootstrap.checkpoint
  std::map<std::string, int16_t> features;  // the other features in bootstrap.checkpoint (level > 0)
};

// Throws StorageError naming the directory and the command to run.
StorageState verify_storage(const BrokerConfig& config);

}  // namespace samsa::broker
