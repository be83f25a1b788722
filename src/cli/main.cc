// samsa: one binary for the broker and its storage tool.
//   samsa server <server.properties> [--override key=value]...
//   samsa storage random-uuid
//   samsa storage format -t <cluster-id> -c <server.properties> [--ignore-formatted]
//         [--standalone | --initial-controllers id@host:port:dir,... | --no-initial-controllers]
//         [--feature name=level]... [--release-version 3.9]
#include <CLI/CLI.hpp>

#include "commands.h"
#include "samsa/version.h"

int main(int argc, char** argv) {
  CLI::App app{"Samsa: a Kafka-compatible broker", "samsa"};
  app.set_version_flag("--version", std::string("samsa ") + SAMSA_VERSION);
  app.require_subcommand(1);

  samsa::cli::ServerOptions server;
  auto* server_cmd = app.add_subcommand("server", "Run a broker/controller node in the foreground");
  server_cmd->add_option("config", server.config_file, "server.properties file")->required()->check(CLI::ExistingFile);
  server_cmd->add_option("--override", server.overrides, "Override a property: key=value (repeatable)");

  auto* storage_cmd = app.add_subcommand("storage", "Prepare log directories (like kafka-storage.sh)");
  storage_cmd->require_subcommand(1);
  auto* uuid_cmd = storage_cmd->add_subcommand("random-uuid", "Print a new random cluster id");

  samsa::cli::FormatOptions format;
  auto* format_cmd = storage_cmd->add_subcommand("format", "Format the log directories of a node");
  format_cmd->add_option("-t,--cluster-id", format.cluster_id, "Cluster id (see random-uuid)")->required();
  format_cmd->add_option("-c,--config", format.config_file, "server.properties file")
      ->required()
      ->check(CLI::ExistingFile);
  format_cmd->add_option("--override", format.overrides, "Override a property: key=value (repeatable)");
  format_cmd->add_flag("-g,--ignore-formatted", format.ignore_formatted,
                       "Skip directories that are already formatted instead of failing");
  auto* standalone = format_cmd->add_flag("-s,--standalone", format.standalone,
                                          "Initialize this controller as a single-node dynamic quorum");
  auto* initial = format_cmd->add_option(
      "-I,--initial-controllers", format.initial_controllers,
      "Initialize a dynamic quorum with these voters: id@host:port:directoryId,... (the same on every node)");
  auto* none = format_cmd->add_flag("-N,--no-initial-controllers", format.no_initial_controllers,
                                    "Initialize a node without a dynamic quorum topology (it joins an existing one)");
  format_cmd->add_option("-f,--feature", format.features,
                         "Finalize a feature at this level in the new cluster, e.g. transaction.version=0 "
                         "(repeatable; default: every feature at this release's latest level)");
  format_cmd->add_option("-r,--release-version", format.release_version,
                         "Format as this Kafka release would (3.3 .. 3.9, or a metadata version such as 3.7-IV4)");
  standalone->excludes(initial)->excludes(none);
  initial->excludes(none);

  CLI11_PARSE(app, argc, argv);

  if (*server_cmd) return samsa::cli::run_server(server);
  if (*uuid_cmd) return samsa::cli::run_random_uuid();
  if (*format_cmd) {
    format.has_initial_controllers = initial->count() > 0;
    return samsa::cli::run_storage_format(format);
  }
  return 1;
}
