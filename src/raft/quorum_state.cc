#include "samsa/raft/quorum_state.h"

#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "samsa/util/file_util.h"

namespace samsa::raft {

std::optional<QuorumState> QuorumState::read(const std::string& dir) {
  std::string path = (std::filesystem::path(dir) / kFileName).string();
  if (!std::filesystem::exists(path)) return std::nullopt;
  auto bytes = util::read_file(path);
  try {
    auto json = nlohmann::json::parse(bytes.begin(), bytes.end());
    QuorumState s;
    s.leader_id = json.value("leaderId", -1);
    s.leader_epoch = json.value("leaderEpoch", 0);
    s.voted_id = json.value("votedId", -1);
    if (json.contains("currentVoters") && json["currentVoters"].is_array())
      for (const auto& v : json["currentVoters"]) s.voters.push_back(v.value("voterId", -1));
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(fmt::format("{} is not valid quorum state: {}", path, e.what()));
  }
}

void QuorumState::write(const std::string& dir) const {
  nlohmann::json voters_json = nlohmann::json::array();
  for (int32_t v : voters) voters_json.push_back({{"voterId", v}});
  nlohmann::json json = {{"clusterId", ""},      {"leaderId", leader_id},       {"leaderEpoch", leader_epoch},
                         {"votedId", voted_id},  {"appliedOffset", 0},          {"currentVoters", voters_json},
                         {"data_version", 0}};
  util::write_file_atomically((std::filesystem::path(dir) / kFileName).string(), json.dump());
}

}  // namespace samsa::raft
