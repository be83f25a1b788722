#include "samsa/broker/meta_properties.h"

#include <charconv>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

#include "samsa/broker/properties.h"
#include "samsa/util/file_util.h"

namespace samsa::broker {

namespace fs = std::filesystem;

std::optional<MetaProperties> MetaProperties::read(const std::string& dir) {
  fs::path path = fs::path(dir) / kFileName;
  if (!fs::exists(path)) return std::nullopt;
  Properties props = Properties::load_file(path.string());
  auto required = [&](const char* key) {
    auto v = props.get(key);
    if (!v || v->empty()) throw ConfigError(fmt::format("{} has no {}", path.string(), key));
    return std::string(*v);
  };
  auto to_int = [&](const char* key, const std::string& text) {
    int32_t value = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || p != text.data() + text.size())
      throw ConfigError(fmt::format("{} has an invalid {}: '{}'", path.string(), key, text));
    return value;
  };
  MetaProperties meta;
  meta.version = to_int("version", required("version"));
  if (meta.version != 1)
    throw ConfigError(fmt::format("{} has version {}, but KRaft mode needs version 1", path.string(), meta.version));
  meta.cluster_id = required("cluster.id");
  meta.node_id = to_int("node.id", required("node.id"));
  if (auto d = props.get("directory.id")) {
    meta.directory_id = protocol::Uuid::from_string(*d);
    if (!meta.directory_id)
      throw ConfigError(fmt::format("{} has an invalid directory.id: '{}'", path.string(), *d));
  }
  return meta;
}

void MetaProperties::write(const std::string& dir) const {
  std::time_t now = std::time(nullptr);
  char date[64];
  std::strftime(date, sizeof date, "%a %b %d %H:%M:%S %Z %Y", std::gmtime(&now));
  std::string text = fmt::format("#\n#{}\ncluster.id={}\n", date, cluster_id);
  if (directory_id) text += fmt::format("directory.id={}\n", directory_id->to_string());
  text += fmt::format("node.id={}\nversion={}\n", node_id, version);
  util::write_file_atomically((fs::path(dir) / kFileName).string(), text);
}

}  // namespace samsa::broker
