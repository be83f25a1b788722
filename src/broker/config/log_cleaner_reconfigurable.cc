#include "samsa/broker/log_cleaner_reconfigurable.h"

#include <charconv>

#include "samsa/broker/broker_config.h"
#include "samsa/log/log_manager.h"

namespace samsa::broker {
namespace {

constexpr int64_t kMiB = 1024 * 1024;

std::optional<int64_t> to_long(std::string_view v) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return n;
}

class LogCleanerReconfigurable : public Reconfigurable {
 public:
  LogCleanerReconfigurable(log::LogManager& logs, const BrokerConfig& config)
      : logs_(logs), static_enable_(config.log_cleaner_enable) {}

  std::vector<std::string> reconfigurable_configs() const override {
    return {"log.cleaner.threads", "log.cleaner.backoff.ms", "log.cleaner.dedupe.buffer.size"};
  }

  std::optional<std::string> validate_reconfiguration(std::string_view key, std::string_view value) const override {
    auto n = to_long(value);
    if (!n) return std::nullopt;  // type errors are reported by the config validation
    // Kafka refuses fewer than one thread dynamically; Samsa runs one.
    if (key == "log.cleaner.threads" && *n != 1)
      return "Samsa runs one log cleaner thread: log.cleaner.threads can only be set to 1 dynamically";
    if (key == "log.cleaner.dedupe.buffer.size" && *n < kMiB)
      return "log.cleaner.dedupe.buffer.size must be at least 1MB per cleaner thread.";
    if (key == "log.cleaner.backoff.ms" && *n < 0) return "log.cleaner.backoff.ms must be at least 0";
    return std::nullopt;
  }

  void reconfigure(const EffectiveValues& values) override {
    log::LogCleaner* cleaner = logs_.cleaner();
    if (cleaner == nullptr) return;  // before LogManager::startup
    log::CleanerConfig next = cleaner->config();
    auto get = [&](const char* key) -> std::optional<int64_t> {
      auto it = values.find(key);
      return it != values.end() && it->second ? to_long(*it->second) : std::nullopt;
    };
    if (auto threads = get("log.cleaner.threads")) next.enable = static_enable_ && *threads > 0;
    if (auto backoff = get("log.cleaner.backoff.ms")) next.backoff_ms = *backoff;
    if (auto dedupe = get("log.cleaner.dedupe.buffer.size")) next.dedupe_buffer_size = *dedupe;
    log::CleanerConfig current = cleaner->config();
    if (next.enable == current.enable && next.backoff_ms == current.backoff_ms &&
        next.dedupe_buffer_size == current.dedupe_buffer_size)
      return;  // e.g. the first image after start-up: nothing to restart
    cleaner->reconfigure(next);
  }

 private:
  log::LogManager& logs_;
  const bool static_enable_;  // log.cleaner.enable (static in Kafka)
};

}  // namespace

std::shared_ptr<Reconfigurable> make_log_cleaner_reconfigurable(log::LogManager& logs, const BrokerConfig& config) {
  return std::make_shared<LogCleanerReconfigurable>(logs, config);
}

}  // namespace samsa::broker
