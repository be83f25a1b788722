#pragma once
// Kafka-style one-line logs: "[2026-01-01 12:00:00,123] INFO message (logger)".
// Every module asks for a named logger; all share one sink.
#include <memory>
#include <string>

#include <spdlog/logger.h>

namespace samsa {

// Level names as Kafka spells them: trace, debug, info, warn, error, off.
// Invalid names return false and leave the level unchanged.
bool set_log_level(const std::string& level);
std::shared_ptr<spdlog::logger> logger(const std::string& name);

}  // namespace samsa
