#include "samsa/raft/bootstrap_voters.h"

#include <charconv>
#include <chrono>
#include <filesystem>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "samsa/protocol/gen/kraft_version_record.h"
#include "samsa/protocol/gen/snapshot_footer_record.h"
#include "samsa/protocol/gen/snapshot_header_record.h"
#include "samsa/protocol/gen/voters_record.h"
#include "samsa/protocol/record_batch.h"
#include "samsa/util/file_util.h"

namespace samsa::raft {

namespace {

namespace fs = std::filesystem;

// Kafka's ControlRecordType values.
constexpr int16_t kSnapshotHeaderType = 3;
constexpr int16_t kSnapshotFooterType = 4;
constexpr int16_t kKRaftVersionType = 5;
constexpr int16_t kVotersType = 6;

template <typename Int>
std::optional<Int> to_int(std::string_view text) {
  Int value{};
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || p != text.data() + text.size()) return std::nullopt;
  return value;
}

BootstrapVoter parse_one(std::string_view entry, const std::string& listener_name) {
  auto bad = [&](std::string_view why) {
    return std::invalid_argument(
        fmt::format("Invalid controller '{}' in --initial-controllers: {} (expected id@host:port:directoryId)", entry,
                    why));
  };
  auto at = entry.find('@');
  if (at == std::string_view::npos) throw bad("no '@' after the node id");
  auto id = to_int<int32_t>(entry.substr(0, at));
  if (!id || *id < 0) throw bad("the node id is not a non-negative integer");
  std::string_view rest = entry.substr(at + 1);
  std::string_view host;
  if (!rest.empty() && rest.front() == '[') {  // [ipv6]:port:dir
    auto close = rest.find(']');
    if (close == std::string_view::npos) throw bad("no ']' after the IPv6 address");
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (rest.empty() || rest.front() != ':') throw bad("no ':' after the host");
    rest.remove_prefix(1);
  } else {
    auto colon = rest.find(':');
    if (colon == std::string_view::npos) throw bad("no ':' after the host");
    host = rest.substr(0, colon);
    rest = rest.substr(colon + 1);
  }
  if (host.empty()) throw bad("the host is empty");
  auto colon = rest.find(':');
  if (colon == std::string_view::npos) throw bad("no ':' between the port and the directory id");
  auto port = to_int<uint16_t>(rest.substr(0, colon));
  if (!port || *port == 0) throw bad("the port is not a number from 1 to 65535");
  auto dir = protocol::Uuid::from_string(rest.substr(colon + 1));
  if (!dir || dir->is_zero()) throw bad("the directory id is not a Kafka Uuid (22 characters of URL-safe base64)");
  BootstrapVoter voter;
  voter.id = *id;
  voter.directory_id = *dir;
  voter.endpoints.push_back(VoterEndpoint{listener_name, std::string(host), *port});
  return voter;
}

template <typename ControlRecord>
void append_control(protocol::RecordBatchBuilder& batch, int64_t ts, int16_t type, const ControlRecord& record) {
  protocol::WireWriter key;
  key.int16(0);  // control record key version
  key.int16(type);
  protocol::WireWriter value;
  record.encode(value, 0);
  batch.append(ts, key.view(), value.view());
}

protocol::VotersRecord to_record(const BootstrapVoters& voters) {
  protocol::VotersRecord record;
  record.version = 0;
  for (const auto& v : voters.voters) {
    protocol::VotersRecord::Voter out;
    out.voter_id = v.id;
    out.voter_directory_id = v.directory_id;
    for (const auto& e : v.endpoints) out.endpoints.push_back({e.listener, e.host, e.port, {}});
    out.kraft_version_feature.min_supported_version = v.min_kraft_version;
    out.kraft_version_feature.max_supported_version = v.max_kraft_version;
    record.voters.push_back(std::move(out));
  }
  return record;
}

BootstrapVoter from_record(const protocol::VotersRecord::Voter& v) {
  BootstrapVoter out;
  out.id = v.voter_id;
  out.directory_id = v.voter_directory_id;
  for (const auto& e : v.endpoints) out.endpoints.push_back({e.name, e.host, e.port});
  out.min_kraft_version = v.kraft_version_feature.min_supported_version;
  out.max_kraft_version = v.kraft_version_feature.max_supported_version;
  return out;
}

}  // namespace

std::vector<BootstrapVoter> parse_initial_controllers(std::string_view text, const std::string& listener_name) {
  std::vector<BootstrapVoter> voters;
  std::set<NodeId> ids;
  std::set<std::string> dirs;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view entry = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    start = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
    if (entry.empty()) {
      if (text.empty()) break;
      throw std::invalid_argument(fmt::format("Invalid --initial-controllers '{}': an entry is empty", text));
    }
    auto voter = parse_one(entry, listener_name);
    if (!ids.insert(voter.id).second)
      throw std::invalid_argument(fmt::format("Node id {} was specified more than once in --initial-controllers", voter.id));
    if (!dirs.insert(voter.directory_id.to_string()).second)
      throw std::invalid_argument(fmt::format("Directory id {} was specified more than once in --initial-controllers",
                                              voter.directory_id.to_string()));
    voters.push_back(std::move(voter));
  }
  if (voters.empty()) throw std::invalid_argument("--initial-controllers lists no controllers");
  return voters;
}

std::string bootstrap_voters_path(const std::string& metadata_dir) {
  return (fs::path(metadata_dir) / kClusterMetadataPartitionDir / kBootstrapSnapshotFile).string();
}

void write_bootstrap_voters(const std::string& metadata_dir, const BootstrapVoters& voters) {
  int64_t ts = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  protocol::WireWriter out;
  protocol::RecordBatchOptions options;
  options.base_offset = 0;
  options.partition_leader_epoch = 0;
  options.control = true;
  protocol::RecordBatchBuilder head(options);
  protocol::SnapshotHeaderRecord header;
  header.version = 0;
  header.last_contained_log_timestamp = ts;
  append_control(head, ts, kSnapshotHeaderType, header);
  protocol::KRaftVersionRecord kraft;
  kraft.version = 0;
  kraft.kraft_version = voters.kraft_version;
  append_control(head, ts, kKRaftVersionType, kraft);
  append_control(head, ts, kVotersType, to_record(voters));
  head.build_into(out);

  options.base_offset = head.record_count();
  protocol::RecordBatchBuilder tail(options);
  protocol::SnapshotFooterRecord footer;
  footer.version = 0;
  append_control(tail, ts, kSnapshotFooterType, footer);
  tail.build_into(out);

  fs::create_directories(fs::path(metadata_dir) / kClusterMetadataPartitionDir);
  util::write_file_atomically(bootstrap_voters_path(metadata_dir), out.view());
}

std::optional<BootstrapVoters> read_bootstrap_voters(const std::string& metadata_dir) {
  std::string path = bootstrap_voters_path(metadata_dir);
  if (!fs::exists(path)) return std::nullopt;
  auto data = util::read_file(path);
  BootstrapVoters result;
  bool have_voters = false;
  bool have_footer = false;
  try {
    for (const auto& batch : protocol::split_batches(data, /*require_complete=*/true).batches) {
      if (!protocol::verify_crc(batch.bytes)) throw protocol::DecodeError("batch CRC mismatch");
      if (!batch.header.is_control()) continue;  // bootstrap metadata records, if a newer Kafka wrote any
      for (const auto& record : protocol::decode_records(batch)) {
        if (!record.key || record.key->size() < 4 || !record.value) continue;
        protocol::WireReader key(*record.key);
        key.int16();
        int16_t type = key.int16();
        protocol::WireReader in(*record.value);
        if (type == kKRaftVersionType) {
          protocol::KRaftVersionRecord kraft;
          kraft.decode(in, 0);
          result.kraft_version = kraft.kraft_version;
        } else if (type == kVotersType) {
          protocol::VotersRecord voters;
          voters.decode(in, 0);
          for (const auto& v : voters.voters) result.voters.push_back(from_record(v));
          have_voters = true;
        } else if (type == kSnapshotFooterType) {
          have_footer = true;
        }
      }
    }
  } catch (const protocol::DecodeError& e) {
    throw std::runtime_error(fmt::format("{} is corrupt: {}", path, e.what()));
  }
  if (!have_footer) throw std::runtime_error(fmt::format("{} is corrupt: no snapshot footer", path));
  if (!have_voters) throw std::runtime_error(fmt::format("{} holds no VotersRecord", path));
  return result;
}

}  // namespace samsa::raft
