#pragma once
// The dynamic log.cleaner.threads / log.cleaner.backoff.ms /
// log.cleaner.dedupe.buffer.size configs, applied to the running log cleaner
// (Kafka's LogCleaner is a Reconfigurable for the same keys).
// log.cleaner.enable stays static, as in Kafka.
#include <memory>

#include "samsa/broker/dynamic_broker_config.h"

namespace samsa::log {
class LogManager;
}

namespace samsa::broker {

struct BrokerConfig;

// `logs` (and its cleaner) must outlive the returned object's registration.
std::shared_ptr<Reconfigurable> make_log_cleaner_reconfigurable(log::LogManager& logs, const BrokerConfig& config);

}  // namespace samsa::broker
