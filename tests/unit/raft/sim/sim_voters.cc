#include "sim_voters.h"

#include <cstdlib>

namespace samsa::raft::sim {

namespace {
constexpr const char* kTag = " voters=";
}

std::string snapshot_with_voters(std::string content, const std::vector<NodeId>& voters) {
  std::string list;
  for (NodeId v : voters) list += (list.empty() ? "" : ",") + std::to_string(v);
  size_t nl = content.find('\n');
  content.insert(nl == std::string::npos ? content.size() : nl, kTag + list);
  return content;
}

std::optional<std::vector<Voter>> snapshot_voters(const std::string& content) {
  std::string first = content.substr(0, content.find('\n'));
  size_t at = first.find(kTag);
  if (at == std::string::npos) return std::nullopt;
  std::vector<Voter> voters;
  const char* p = first.c_str() + at + std::char_traits<char>::length(kTag);
  while (*p != '\0') {
    char* end = nullptr;
    long id = std::strtol(p, &end, 10);
    if (end == p) return std::nullopt;
    voters.push_back(voter_with_id(static_cast<NodeId>(id)));
    p = *end == ',' ? end + 1 : end;
  }
  return voters;
}

}  // namespace samsa::raft::sim
