#include "samsa/util/logging.h"

#include <mutex>
#include <unordered_map>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace samsa {
namespace {

// spdlog prints "info"; Kafka prints "INFO", "WARN", ... (5 chars at most).
class UpperLevelFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr const char* kNames[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF"};
    std::string_view name = kNames[static_cast<int>(msg.level)];
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<UpperLevelFlag>(); }
};

struct Registry {
  std::mutex mu;
  spdlog::sink_ptr sink;
  spdlog::level::level_enum level = spdlog::level::info;
  std::unordered_map<std::string, std::shared_ptr<spdlog::logger>> loggers;

  Registry() {
    sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<UpperLevelFlag>('*').set_pattern("[%Y-%m-%d %H:%M:%S,%e] %* %v (%n)");
    sink->set_formatter(std::move(formatter));
  }
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

bool set_log_level(const std::string& name) {
  static const std::unordered_map<std::string, spdlog::level::level_enum> kLevels = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug}, {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},   {"error", spdlog::level::err},   {"off", spdlog::level::off}};
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = kLevels.find(lower);
  if (it == kLevels.end()) return false;
  auto& r = registry();
  std::lock_guard lock(r.mu);
  r.level = it->second;
  for (auto& [_, l] : r.loggers) l->set_level(r.level);
  return true;
}

std::shared_ptr<spdlog::logger> logger(const std::string& name) {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  auto& slot = r.loggers[name];
  if (!slot) {
    slot = std::make_shared<spdlog::logger>(name, r.sink);
    slot->set_level(r.level);
    slot->flush_on(spdlog::level::info);
  }
  return slot;
}

}  // namespace samsa
