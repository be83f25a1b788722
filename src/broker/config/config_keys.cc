// The table of configuration keys Samsa understands: Kafka 4.0's names,
// types, defaults and ConfigDef validators, plus Samsa's own samsa.* keys.
// Defaults live here and nowhere else.
#include <algorithm>
#include <array>
#include <string>
#include <thread>

#include "samsa/broker/broker_config.h"

namespace samsa::broker {
namespace {

using T = ConfigType;

constexpr std::string_view kRoles[] = {"broker", "controller"};
constexpr std::string_view kSecurityProtocols[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};
constexpr std::string_view kCleanupPolicies[] = {"compact", "delete"};
constexpr std::string_view kCompressionTypes[] = {"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"};
constexpr std::string_view kTimestampTypes[] = {"CreateTime", "LogAppendTime"};
constexpr std::string_view kFetchTransfers[] = {"auto", "pread", "sendfile", "io_uring"};
constexpr std::string_view kReplicaSelectors[] = {"org.apache.kafka.common.replica.RackAwareReplicaSelector"};
constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};

constexpr const char* kLongMax = "9223372036854775807";
constexpr const char* kIntMax = "2147483647";

std::string hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return std::to_string(n == 0 ? 1 : n);
}

// Kafka 4.0 (KIP-1030) raised the log.segment.bytes minimum from 14 bytes to
// 1 MiB; metadata segments below 8 MiB are refused when the metadata log opens.
constexpr std::int64_t kMiB = 1024 * 1024;

// GCC 12 warns about members left to their default initializers even with
// designated initializers; leaving them out is the point of the table style.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
// `.unsupported = true` marks keys Samsa parses but does not act on (a
// single node has no replica fetchers, no quorum timers, no I/O thread pool,
// no transaction coordinator); see ConfigKey::unsupported.
const ConfigKey kKeys[] = {
    // KRaft identity and quorum
    {.name = "process.roles", .type = T::List, .default_value = "", .allowed = kRoles},
    {.name = "node.id", .type = T::Int, .default_value = "-1"},
    {.name = "broker.id", .type = T::Int, .default_value = "-1"},
    {.name = "controller.quorum.voters", .type = T::List, .default_value = ""},
    {.name = "controller.quorum.bootstrap.servers", .type = T::List, .default_value = ""},
    {.name = "controller.listener.names", .type = T::String},
    {.name = "controller.quorum.election.timeout.ms", .type = T::Int, .default_value = "1000"},
    {.name = "controller.quorum.fetch.timeout.ms", .type = T::Int, .default_value = "2000"},
    {.name = "controller.quorum.election.backoff.max.ms", .type = T::Int, .default_value = "1000"},
    {.name = "controller.quorum.request.timeout.ms", .type = T::Int, .default_value = "2000"},
    {.name = "controller.quorum.retry.backoff.ms", .type = T::Int, .default_value = "20"},
    {.name = "controller.quorum.append.linger.ms", .type = T::Int, .default_value = "25", .unsupported = true},
    {.name = "broker.heartbeat.interval.ms", .type = T::Int, .default_value = "2000"},
    {.name = "broker.session.timeout.ms", .type = T::Int, .default_value = "9000"},
    {.name = "initial.broker.registration.timeout.ms", .type = T::Int, .default_value = "60000", .min = 1},
    {.name = "metadata.log.dir", .type = T::String},
    {.name = "metadata.log.segment.bytes", .type = T::Int, .default_value = "1073741824", .min = 8 * kMiB},
    {.name = "metadata.log.segment.ms", .type = T::Long, .default_value = "604800000"},
    {.name = "metadata.log.max.record.bytes.between.snapshots", .type = T::Long, .default_value = "20971520", .min = 1},
    {.name = "metadata.max.retention.bytes", .type = T::Long, .default_value = "104857600", .unsupported = true},
    {.name = "metadata.max.retention.ms", .type = T::Long, .default_value = "604800000", .unsupported = true},
    {.name = "broker.rack", .type = T::String},

    // Listeners
    {.name = "listeners", .type = T::String, .default_value = "PLAINTEXT://:9092"},
    {.name = "advertised.listeners", .type = T::String},
    {.name = "listener.security.protocol.map",
     .type = T::String,
     .default_value = "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT"},
    {.name = "inter.broker.listener.name", .type = T::String},
    {.name = "security.inter.broker.protocol",
     .type = T::String,
     .default_value = "PLAINTEXT",
     .allowed = kSecurityProtocols},

    // Socket server
    {.name = "num.network.threads", .type = T::Int, .default_value = "3", .min = 1,
     .dynamic_default = hardware_threads},
    {.name = "num.io.threads", .type = T::Int, .default_value = "8", .min = 1, .unsupported = true},
    {.name = "socket.send.buffer.bytes", .type = T::Int, .default_value = "102400"},
    {.name = "socket.receive.buffer.bytes", .type = T::Int, .default_value = "102400"},
    {.name = "socket.request.max.bytes", .type = T::Int, .default_value = "104857600", .min = 1},
    {.name = "queued.max.requests", .type = T::Int, .default_value = "500", .min = 1, .unsupported = true},
    {.name = "connections.max.idle.ms", .type = T::Long, .default_value = "600000"},
    {.name = "queued.max.request.bytes", .type = T::Long, .default_value = "-1"},
    {.name = "max.connections", .type = T::Int, .default_value = kIntMax, .min = 0},
    {.name = "max.connections.per.ip", .type = T::Int, .default_value = kIntMax, .min = 0},
    {.name = "max.connections.per.ip.overrides", .type = T::String, .default_value = ""},

    // Logs
    {.name = "log.dir", .type = T::String, .default_value = "/tmp/kafka-logs"},
    {.name = "log.dirs", .type = T::String},
    {.name = "num.partitions", .type = T::Int, .default_value = "1", .min = 1},
    {.name = "default.replication.factor", .type = T::Int, .default_value = "1"},
    {.name = "auto.create.topics.enable", .type = T::Boolean, .default_value = "true"},
    {.name = "delete.topic.enable", .type = T::Boolean, .default_value = "true"},
    {.name = "log.segment.bytes", .type = T::Int, .default_value = "1073741824", .min = kMiB},
    {.name = "log.roll.ms", .type = T::Long},
    {.name = "log.roll.hours", .type = T::Int, .default_value = "168", .min = 1},
    {.name = "log.retention.ms", .type = T::Long},
    {.name = "log.retention.minutes", .type = T::Int},
    {.name = "log.retention.hours", .type = T::Int, .default_value = "168"},
    {.name = "log.retention.bytes", .type = T::Long, .default_value = "-1"},
    {.name = "log.retention.check.interval.ms", .type = T::Long, .default_value = "300000", .min = 1},
    {.name = "log.index.interval.bytes", .type = T::Int, .default_value = "4096", .min = 0},
    {.name = "log.index.size.max.bytes", .type = T::Int, .default_value = "10485760", .min = 4},
    {.name = "log.flush.interval.messages", .type = T::Long, .default_value = kLongMax, .min = 1},
    {.name = "log.flush.interval.ms", .type = T::Long},
    {.name = "log.flush.scheduler.interval.ms", .type = T::Long, .default_value = kLongMax},
    {.name = "log.cleanup.policy", .type = T::List, .default_value = "delete", .allowed = kCleanupPolicies},
    {.name = "log.preallocate", .type = T::Boolean, .default_value = "false", .unsupported = true},
    // Log compaction (cleanup.policy=compact), Kafka's LogCleaner keys.
    {.name = "log.cleaner.enable", .type = T::Boolean, .default_value = "true"},
    {.name = "log.cleaner.threads", .type = T::Int, .default_value = "1", .min = 0},
    {.name = "log.cleaner.backoff.ms", .type = T::Long, .default_value = "15000", .min = 0},
    {.name = "log.cleaner.dedupe.buffer.size", .type = T::Long, .default_value = "134217728"},
    {.name = "log.cleaner.io.buffer.size", .type = T::Int, .default_value = "524288", .min = 0, .unsupported = true},
    // A double in Kafka; read and range-checked in broker_config.cc.
    {.name = "log.cleaner.min.cleanable.ratio", .type = T::String, .default_value = "0.5"},
    {.name = "log.cleaner.delete.retention.ms", .type = T::Long, .default_value = "86400000", .min = 0},
    {.name = "log.cleaner.min.compaction.lag.ms", .type = T::Long, .default_value = "0", .min = 0},
    {.name = "log.cleaner.max.compaction.lag.ms", .type = T::Long, .default_value = kLongMax, .min = 1},
    {.name = "num.recovery.threads.per.data.dir", .type = T::Int, .default_value = "2", .min = 1},
    {.name = "message.max.bytes", .type = T::Int, .default_value = "1048588", .min = 0},
    {.name = "compression.type", .type = T::String, .default_value = "producer", .allowed = kCompressionTypes},
    {.name = "log.message.timestamp.type", .type = T::String, .default_value = "CreateTime",
     .allowed = kTimestampTypes},
    {.name = "log.message.timestamp.before.max.ms", .type = T::Long, .default_value = kLongMax, .min = 0},
    {.name = "log.message.timestamp.after.max.ms", .type = T::Long, .default_value = "3600000", .min = 0},
    {.name = "min.insync.replicas", .type = T::Int, .default_value = "1", .min = 1},
    {.name = "replica.high.watermark.checkpoint.interval.ms", .type = T::Long, .default_value = "5000", .min = 1},
    {.name = "producer.id.expiration.ms", .type = T::Int, .default_value = "86400000", .min = 1},
    // Kafka's internal key: how often producer.id.expiration.ms is applied.
    {.name = "producer.id.expiration.check.interval.ms", .type = T::Int, .default_value = "600000", .min = 1},
    {.name = "unclean.leader.election.enable", .type = T::Boolean, .default_value = "false"},

    // Replication and fetch
    {.name = "replica.fetch.max.bytes", .type = T::Int, .default_value = "1048576", .min = 0},
    {.name = "replica.fetch.wait.max.ms", .type = T::Int, .default_value = "500"},
    {.name = "replica.fetch.min.bytes", .type = T::Int, .default_value = "1"},
    {.name = "replica.socket.timeout.ms", .type = T::Int, .default_value = "30000"},
    {.name = "replica.lag.time.max.ms", .type = T::Long, .default_value = "30000"},
    {.name = "num.replica.fetchers", .type = T::Int, .default_value = "1", .min = 1},
    {.name = "replica.fetch.backoff.ms", .type = T::Int, .default_value = "1000", .min = 0},
    {.name = "replica.fetch.response.max.bytes", .type = T::Int, .default_value = "10485760", .min = 0},
    {.name = "fetch.max.bytes", .type = T::Int, .default_value = "57671680", .min = 1024, .unsupported = true},

    // Leadership (the active controller's leader balancing)
    {.name = "auto.leader.rebalance.enable", .type = T::Boolean, .default_value = "true"},
    {.name = "leader.imbalance.check.interval.seconds", .type = T::Long, .default_value = "300", .min = 1},
    {.name = "leader.imbalance.per.broker.percentage", .type = T::Int, .default_value = "10"},
    // KIP-392 fetch from the closest replica: the one selector Samsa has (null: the leader only).
    {.name = "replica.selector.class", .type = T::String, .allowed = kReplicaSelectors},

    // Group coordinator and internal topics
    {.name = "offsets.topic.num.partitions", .type = T::Int, .default_value = "50", .min = 1},
    {.name = "offsets.topic.replication.factor", .type = T::Short, .default_value = "3", .min = 1},
    {.name = "offsets.topic.segment.bytes", .type = T::Int, .default_value = "104857600", .min = 1},
    {.name = "offsets.retention.minutes", .type = T::Int, .default_value = "10080", .min = 1},
    {.name = "offsets.retention.check.interval.ms", .type = T::Long, .default_value = "600000", .min = 1},
    // Kafka has no validator here but refuses to start on a codec id it does not know.
    {.name = "offsets.topic.compression.codec", .type = T::Int, .default_value = "0", .min = 0, .max = 4},
    {.name = "offsets.load.buffer.size", .type = T::Int, .default_value = "5242880", .min = 1},
    {.name = "offsets.commit.timeout.ms", .type = T::Int, .default_value = "5000", .min = 1},
    {.name = "group.initial.rebalance.delay.ms", .type = T::Int, .default_value = "3000"},
    {.name = "group.min.session.timeout.ms", .type = T::Int, .default_value = "6000"},
    {.name = "group.max.session.timeout.ms", .type = T::Int, .default_value = "1800000"},
    {.name = "group.max.size", .type = T::Int, .default_value = kIntMax, .min = 1},
    {.name = "offset.metadata.max.bytes", .type = T::Int, .default_value = "4096"},

    // Transaction coordinator (src/broker/txn/) and __transaction_state
    {.name = "transaction.state.log.num.partitions", .type = T::Int, .default_value = "50", .min = 1},
    {.name = "transaction.state.log.replication.factor", .type = T::Short, .default_value = "3", .min = 1},
    {.name = "transaction.state.log.min.isr", .type = T::Int, .default_value = "2", .min = 1},
    {.name = "transaction.state.log.segment.bytes", .type = T::Int, .default_value = "104857600", .min = 1},
    {.name = "transaction.state.log.load.buffer.size", .type = T::Int, .default_value = "5242880", .min = 1},
    {.name = "transaction.max.timeout.ms", .type = T::Int, .default_value = "900000", .min = 1},
    {.name = "transactional.id.expiration.ms", .type = T::Int, .default_value = "604800000", .min = 1},
    {.name = "transaction.abort.timed.out.transaction.cleanup.interval.ms", .type = T::Int, .default_value = "10000", .min = 1},
    {.name = "transaction.remove.expired.transaction.cleanup.interval.ms", .type = T::Int, .default_value = "3600000", .min = 1},

    // Transactions, partition side (txnlog)
    {.name = "transaction.partition.verification.enable", .type = T::Boolean, .default_value = "true"},
    {.name = "request.timeout.ms", .type = T::Int, .default_value = "30000", .min = 0},

    // Samsa's own
    {.name = "samsa.fetch.transfer", .type = T::String, .default_value = "auto", .allowed = kFetchTransfers},
    {.name = "samsa.log.level", .type = T::String, .default_value = "info", .allowed = kLogLevels,
     .ignore_case = true},
};
#pragma GCC diagnostic pop

// Kafka broker keys Samsa does not act on (yet). Listing them lets the
// startup log say "known Kafka setting, not used" rather than "unknown".
constexpr std::string_view kKnownKafkaKeys[] = {
    "alter.config.policy.class.name", "authorizer.class.name",
    "background.threads", "compression.gzip.level", "compression.lz4.level", "compression.zstd.level",
    "connection.failed.authentication.delay.ms", "controlled.shutdown.enable",
    "controlled.shutdown.max.retries", "controlled.shutdown.retry.backoff.ms", "controller.socket.timeout.ms",
    "create.topic.policy.class.name", "early.start.listeners", "eligible.leader.replicas.enable",
    "inter.broker.protocol.version",
    "log.dir.failure.timeout.ms", "log.flush.offset.checkpoint.interval.ms",
    "log.flush.start.offset.checkpoint.interval.ms", "log.initial.task.delay.ms", "log.local.retention.bytes",
    "log.local.retention.ms", "log.message.downconversion.enable", "log.message.format.version",
    "log.roll.jitter.hours", "log.roll.jitter.ms", "log.segment.delete.delay.ms", "max.connection.creation.rate",
    "max.incremental.fetch.session.cache.slots", "max.request.partition.size.limit",
    "metadata.log.max.snapshot.interval.ms",
    "metadata.max.idle.interval.ms", "num.replica.alter.log.dirs.threads",
    "principal.builder.class",
    "replica.socket.receive.buffer.bytes", "reserved.broker.max.id",
    "socket.connection.setup.timeout.max.ms", "socket.connection.setup.timeout.ms", "socket.listen.backlog.size",
    "super.users",
    "unstable.api.versions.enable", "unstable.feature.versions.enable", "zookeeper.connect",
};

constexpr std::string_view kKnownKafkaPrefixes[] = {
    "ssl.", "sasl.", "listener.name.", "log.cleaner.", "remote.log.", "group.consumer.", "group.share.",
    "group.coordinator.", "share.", "transaction.", "producer.", "metric.", "metrics.", "kafka.metrics.",
    "quota.", "client.quota.", "delegation.token.", "config.providers", "security.providers",
    "alter.log.dirs.replication.quota.", "replication.quota.", "controller.quota.",
};

}  // namespace

std::string_view to_string(ConfigType type) {
  switch (type) {
    case ConfigType::Boolean: return "BOOLEAN";
    case ConfigType::String: return "STRING";
    case ConfigType::Int: return "INT";
    case ConfigType::Short: return "SHORT";
    case ConfigType::Long: return "LONG";
    case ConfigType::List: return "LIST";
  }
  return "UNKNOWN";
}

std::span<const ConfigKey> config_keys() { return kKeys; }

const ConfigKey* find_config_key(std::string_view name) {
  for (const ConfigKey& key : kKeys) {
    if (key.name == name) return &key;
  }
  return nullptr;
}

bool is_known_kafka_key(std::string_view name) {
  if (find_config_key(name) != nullptr) return !name.starts_with("samsa.");
  if (std::find(std::begin(kKnownKafkaKeys), std::end(kKnownKafkaKeys), name) != std::end(kKnownKafkaKeys)) {
    return true;
  }
  return std::any_of(std::begin(kKnownKafkaPrefixes), std::end(kKnownKafkaPrefixes),
                     [&](std::string_view prefix) { return name.starts_with(prefix); });
}

}  // namespace samsa::broker
